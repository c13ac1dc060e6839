//! Unit tests: every op and dtype against an eager reference, whole, in pieces,
//! combined in several orders and pushed row by row in random pieces.

mod reference;

use ndarray::{ArrayD, Axis, IxDyn, Slice};

use self::reference::{applies, assert_matches, exact, reference};
use super::*;
use crate::error::{Error, Result};
use crate::kernel::{Chunk, Element};
use crate::meta::DType;
use crate::with_chunk;

// -----------------------------------------------------------------------------
// Data.

/// splitmix64: deterministic test data without a dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Values with many ties (multiples of 1/2, sometimes perturbed), NaN in about a
/// sixth of the places if `nan`.
fn make(dtype: DType, shape: &[usize], seed: u64, nan: bool) -> Chunk {
    let mut r = Rng(seed);
    let n: usize = shape.iter().product();
    let sh = IxDyn(shape);
    let floats = || -> Vec<f64> {
        let mut r = Rng(seed);
        (0..n)
            .map(|_| {
                if nan && r.below(6) == 0 {
                    f64::NAN
                } else {
                    let q = (r.below(17) as f64 - 8.0) * 0.5;
                    if r.below(2) == 0 {
                        q + r.unit() * 0.1
                    } else {
                        q
                    }
                }
            })
            .collect()
    };
    match dtype {
        DType::Bool => Chunk::Bool(ArrayD::from_shape_fn(sh, |_| r.below(4) != 0)),
        DType::I32 => Chunk::I32(ArrayD::from_shape_fn(sh, |_| r.below(9) as i32 - 4)),
        DType::I64 => Chunk::I64(ArrayD::from_shape_fn(sh, |_| r.below(9) as i64 - 4)),
        DType::F32 => Chunk::F32(
            ArrayD::from_shape_vec(sh, floats())
                .unwrap()
                .mapv(|v| v as f32),
        ),
        DType::F64 => Chunk::F64(ArrayD::from_shape_vec(sh, floats()).unwrap()),
    }
}

fn all_ops() -> Vec<ReduceOp> {
    use ReduceOp::*;
    vec![
        Sum,
        Prod,
        Mean,
        Var { ddof: 0 },
        Var { ddof: 1 },
        Var { ddof: 5 },
        Std { ddof: 0 },
        Std { ddof: 1 },
        Min,
        Max,
        ArgMin,
        ArgMax,
        Count,
        CountNonzero,
        Any,
        All,
        NanSum,
        NanProd,
        NanMean,
        NanVar { ddof: 0 },
        NanVar { ddof: 1 },
        NanStd { ddof: 1 },
        NanMin,
        NanMax,
        NanArgMin,
        NanArgMax,
    ]
}

const DTYPES: [DType; 5] = [DType::Bool, DType::I32, DType::I64, DType::F32, DType::F64];

fn cases() -> Vec<(Vec<usize>, Vec<Vec<usize>>)> {
    vec![
        (vec![13], vec![vec![0], vec![]]),
        (vec![7, 9], vec![vec![0], vec![1], vec![0, 1], vec![]]),
        (
            vec![5, 4, 6],
            vec![vec![0], vec![2], vec![0, 2], vec![1], vec![0, 1, 2]],
        ),
    ]
}

// -----------------------------------------------------------------------------
// Splitting into chunks.

fn slice(c: &Chunk, ranges: &[(usize, usize, usize)]) -> Chunk {
    with_chunk!(c, a, T => T::wrap(
        a.slice_each_axis(|ax| {
            match ranges.iter().find(|r| r.0 == ax.axis.index()) {
                Some(&(_, s, e)) => Slice::from(s..e),
                None => Slice::from(..),
            }
        })
        .to_owned()
    ))
}

/// Four pieces of `0..len`, one of them empty.
fn cuts(len: usize) -> Vec<(usize, usize)> {
    let (a, b) = (len / 3, 2 * len / 3);
    vec![(0, a), (a, a), (a, b), (b, len)]
}

/// Pieces of `c` cut along the first and the last reduced axis (4 or 16 pieces),
/// in C order over the piece grid, each with its `ArgInfo`.
fn pieces(c: &Chunk, axes: &[usize]) -> Vec<(Chunk, ArgInfo)> {
    let shape = c.shape().to_vec();
    let mut split: Vec<usize> = axes
        .first()
        .into_iter()
        .chain(axes.last())
        .copied()
        .collect();
    split.dedup();
    let mut out = vec![(Vec::new(), vec![0; shape.len()])];
    for &ax in &split {
        let mut next = Vec::new();
        for (ranges, offset) in &out {
            for (s, e) in cuts(shape[ax]) {
                let mut r: Vec<(usize, usize, usize)> = ranges.clone();
                r.push((ax, s, e));
                let mut o: Vec<usize> = offset.clone();
                o[ax] = s;
                next.push((r, o));
            }
        }
        out = next;
    }
    out.into_iter()
        .map(|(r, offset)| {
            (
                slice(c, &r),
                ArgInfo {
                    offset,
                    shape: shape.clone(),
                },
            )
        })
        .collect()
}

/// Push every row of `c` through `ReduceAcc::new` (the chunk's own shape, no axis
/// merging) in pieces of random length.
fn push_in_pieces(
    op: ReduceOp,
    c: &Chunk,
    axes: &[usize],
    arg: Option<ArgInfo>,
    seed: u64,
) -> Result<Partial> {
    let mut acc = ReduceAcc::new(op, c.dtype(), c.shape(), axes, arg)?;
    let mut r = Rng(seed);
    with_chunk!(c, a, T => {
        if a.ndim() == 0 {
            acc.push::<T>(&[], 0, &[a[IxDyn(&[])]]);
        } else {
            let last = a.ndim() - 1;
            let lead_shape = &a.shape()[..last];
            for (n, lane) in a.lanes(Axis(last)).into_iter().enumerate() {
                // Lanes come in C order over the lead axes.
                let mut lead = vec![0; last];
                let mut rem = n;
                for d in (0..last).rev() {
                    lead[d] = rem % lead_shape[d];
                    rem /= lead_shape[d];
                }
                let row: Vec<T> = lane.to_vec();
                let mut col = 0;
                while col < row.len() {
                    let len = (1 + r.below(5) as usize).min(row.len() - col);
                    acc.push(&lead, col, &row[col..col + len]);
                    col += len;
                }
            }
        }
    });
    Ok(acc.finish())
}

fn bits(c: &Result<Chunk>) -> Vec<u64> {
    match c {
        Ok(c) => c.to_f64().iter().map(|v| v.to_bits()).collect(),
        Err(_) => Vec::new(),
    }
}

/// Whole chunk, pieces combined left to right, pieces combined as a tree, and rows
/// pushed in random pieces: all equal the reference.
fn check(op: ReduceOp, c: &Chunk, axes: &[usize]) {
    let input = c.dtype();
    let ctx = format!("{} of {} {:?} over {axes:?}", op.name(), input, c.shape());
    let want = reference(op, c, axes);
    let ex = exact(op);

    let whole = partial(op, c, axes, None).and_then(|p| finalize(op, p, input));
    assert_matches(&whole, &want, ex, &format!("{ctx}, whole"));

    let pushed = push_in_pieces(op, c, axes, None, 7).and_then(|p| finalize(op, p, input));
    assert_matches(&pushed, &want, ex, &format!("{ctx}, pushed in pieces"));

    let parts: Vec<Partial> = pieces(c, axes)
        .into_iter()
        .map(|(p, info)| partial(op, &p, axes, Some(info)).unwrap())
        .collect();
    let chained = combine(op, &parts).and_then(|p| finalize(op, p, input));
    assert_matches(
        &chained,
        &want,
        ex,
        &format!("{ctx}, {} pieces", parts.len()),
    );

    let pairs: Vec<Partial> = parts.chunks(2).map(|p| combine(op, p).unwrap()).collect();
    let tree = combine(op, &pairs).and_then(|p| finalize(op, p, input));
    assert_matches(&tree, &want, ex, &format!("{ctx}, tree of pieces"));

    let again = combine(op, &parts).and_then(|p| finalize(op, p, input));
    assert_eq!(
        bits(&chained),
        bits(&again),
        "{ctx}: same order, different bits"
    );
}

// -----------------------------------------------------------------------------
// Tests.

#[test]
fn every_op_and_dtype_matches_the_reference_whole_and_in_pieces() {
    let mut seed = 1;
    for (shape, axes_list) in cases() {
        for dtype in DTYPES {
            for nan in [false, true] {
                if nan && !dtype.is_float() {
                    continue;
                }
                seed += 1;
                let c = make(dtype, &shape, seed, nan);
                for axes in &axes_list {
                    for op in all_ops() {
                        if applies(op, shape.len(), axes) {
                            check(op, &c, axes);
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn non_standard_layout_matches_the_reference() {
    for dtype in DTYPES {
        let c = make(dtype, &[6, 4, 5], 99, dtype.is_float());
        let t = with_chunk!(&c, a, T => T::wrap(a.clone().reversed_axes()));
        for axes in [vec![0], vec![2], vec![0, 2], vec![0, 1, 2]] {
            for op in all_ops() {
                if applies(op, 3, &axes) {
                    let want = reference(op, &t, &axes);
                    let got = partial(op, &t, &axes, None).and_then(|p| finalize(op, p, dtype));
                    assert_matches(
                        &got,
                        &want,
                        exact(op),
                        &format!("{} of transposed {dtype}", op.name()),
                    );
                }
            }
        }
    }
}

#[test]
fn zero_d_chunk_reduces_to_itself() {
    let c = Chunk::F64(ArrayD::from_elem(IxDyn(&[]), 3.5));
    for op in all_ops() {
        check(op, &c, &[]);
    }
    let p = partial(ReduceOp::ArgMax, &c, &[], None).unwrap();
    let i = finalize(ReduceOp::ArgMax, p, DType::F64).unwrap();
    assert_eq!(i, Chunk::I64(ArrayD::from_elem(IxDyn(&[]), 0)));
}

#[test]
fn agrees_with_ndarray_axis_reductions() {
    let c = make(DType::F64, &[5, 4, 6], 3, false);
    let a = c.typed::<f64>().unwrap();
    let run = |op: ReduceOp, axes: &[usize]| -> ArrayD<f64> {
        finalize(op, partial(op, &c, axes, None).unwrap(), DType::F64)
            .unwrap()
            .to_f64()
    };
    let close = |g: ArrayD<f64>, w: ArrayD<f64>| {
        assert_eq!(g.shape(), w.shape());
        for (x, y) in g.iter().zip(&w) {
            assert!((x - y).abs() <= 1e-12 * x.abs().max(1.0), "{x} vs {y}");
        }
    };
    for ax in 0..3 {
        let keep = |r: ArrayD<f64>| r.insert_axis(Axis(ax));
        close(run(ReduceOp::Sum, &[ax]), keep(a.sum_axis(Axis(ax))));
        close(
            run(ReduceOp::Mean, &[ax]),
            keep(a.mean_axis(Axis(ax)).unwrap()),
        );
        close(
            run(ReduceOp::Var { ddof: 0 }, &[ax]),
            keep(a.var_axis(Axis(ax), 0.0)),
        );
        close(
            run(ReduceOp::Var { ddof: 1 }, &[ax]),
            keep(a.var_axis(Axis(ax), 1.0)),
        );
        close(
            run(ReduceOp::Std { ddof: 1 }, &[ax]),
            keep(a.std_axis(Axis(ax), 1.0)),
        );
    }
    let s02 = a
        .sum_axis(Axis(2))
        .sum_axis(Axis(0))
        .insert_axis(Axis(0))
        .insert_axis(Axis(2));
    close(run(ReduceOp::Sum, &[0, 2]), s02);
}

#[test]
fn min_max_arg_of_zero_elements_is_a_plan_error() {
    let empty = Chunk::F64(ArrayD::zeros(IxDyn(&[0, 3])));
    let msg = |op: ReduceOp| match partial(op, &empty, &[0], None)
        .and_then(|p| finalize(op, p, DType::F64))
    {
        Err(Error::Plan(m)) => m,
        other => panic!("{}: {other:?}", op.name()),
    };
    assert_eq!(
        msg(ReduceOp::Min),
        "zero-size array to reduction operation minimum which has no identity"
    );
    assert_eq!(
        msg(ReduceOp::NanMax),
        "zero-size array to reduction operation maximum which has no identity"
    );
    assert_eq!(
        msg(ReduceOp::ArgMin),
        "zero-size array to reduction operation minimum which has no identity"
    );
    assert_eq!(
        msg(ReduceOp::NanArgMax),
        "zero-size array to reduction operation maximum which has no identity"
    );
    let fin = |op: ReduceOp| {
        finalize(op, partial(op, &empty, &[0], None).unwrap(), DType::F64)
            .unwrap()
            .to_f64()
    };
    assert_eq!(fin(ReduceOp::Sum), ArrayD::<f64>::zeros(IxDyn(&[1, 3])));
    assert_eq!(fin(ReduceOp::Prod), ArrayD::<f64>::ones(IxDyn(&[1, 3])));
    assert_eq!(fin(ReduceOp::Count), ArrayD::<f64>::zeros(IxDyn(&[1, 3])));
    assert!(fin(ReduceOp::Mean).iter().all(|v| v.is_nan()));
    assert!(fin(ReduceOp::Var { ddof: 0 }).iter().all(|v| v.is_nan()));
    assert_eq!(fin(ReduceOp::All), ArrayD::<f64>::ones(IxDyn(&[1, 3])));
    // An empty chunk next to a non-empty one contributes nothing.
    let full = Chunk::F64(ndarray::array![[2.0, -1.0, 4.0]].into_dyn());
    for op in [ReduceOp::Min, ReduceOp::NanArgMax] {
        let parts = [
            partial(op, &empty, &[0], None).unwrap(),
            partial(op, &full, &[0], None).unwrap(),
        ];
        assert!(finalize(op, combine(op, &parts).unwrap(), DType::F64).is_ok());
    }
}

#[test]
fn nan_handling_follows_numpy() {
    let nan = f64::NAN;
    let c = Chunk::F64(ndarray::array![3.0, nan, 1.0, nan, 1.0].into_dyn());
    let run = |op: ReduceOp| {
        finalize(op, partial(op, &c, &[0], None).unwrap(), DType::F64)
            .unwrap()
            .to_f64()[[0]]
    };
    assert!(run(ReduceOp::Min).is_nan());
    assert!(run(ReduceOp::Max).is_nan());
    assert!(run(ReduceOp::Sum).is_nan());
    assert!(run(ReduceOp::Var { ddof: 0 }).is_nan());
    assert_eq!(run(ReduceOp::NanMin), 1.0);
    assert_eq!(run(ReduceOp::NanMax), 3.0);
    assert_eq!(run(ReduceOp::NanSum), 5.0);
    assert_eq!(run(ReduceOp::NanProd), 3.0);
    assert_eq!(run(ReduceOp::NanMean), 5.0 / 3.0);
    assert!((run(ReduceOp::NanVar { ddof: 1 }) - 4.0 / 3.0).abs() < 1e-15);
    assert_eq!(run(ReduceOp::ArgMin), 1.0); // the first NaN
    assert_eq!(run(ReduceOp::ArgMax), 1.0);
    assert_eq!(run(ReduceOp::NanArgMin), 2.0); // the first of the tied minima
    assert_eq!(run(ReduceOp::NanArgMax), 0.0);
    assert_eq!(run(ReduceOp::Count), 3.0);
    assert_eq!(run(ReduceOp::CountNonzero), 5.0);
    assert_eq!(run(ReduceOp::All), 1.0);

    let all_nan = Chunk::F32(ndarray::array![[f32::NAN, f32::NAN], [1.0, f32::NAN]].into_dyn());
    let p = partial(ReduceOp::NanMin, &all_nan, &[0], None).unwrap();
    let m = finalize(ReduceOp::NanMin, p, DType::F32).unwrap().to_f64();
    assert!(m[[0, 1]].is_nan() && m[[0, 0]] == 1.0);
    let p = partial(ReduceOp::NanArgMin, &all_nan, &[0], None).unwrap();
    match finalize(ReduceOp::NanArgMin, p, DType::F32) {
        Err(Error::Compute(m)) => assert!(
            m.starts_with("All-NaN slice encountered in nanargmin"),
            "{m}"
        ),
        other => panic!("{other:?}"),
    }
    // All-NaN in one chunk, an empty chunk elsewhere: still all-NaN, not zero-size.
    let empty = Chunk::F32(ArrayD::zeros(IxDyn(&[0, 2])));
    let parts = [
        partial(ReduceOp::NanArgMax, &empty, &[0], None).unwrap(),
        partial(ReduceOp::NanArgMax, &all_nan.cast(DType::F32), &[0], None).unwrap(),
    ];
    let p = combine(ReduceOp::NanArgMax, &parts).unwrap();
    assert!(matches!(
        finalize(ReduceOp::NanArgMax, p, DType::F32),
        Err(Error::Compute(_))
    ));
}

#[test]
fn arg_ties_go_to_the_lowest_global_index_in_any_combine_order() {
    let a = Chunk::I32(ndarray::array![1, 0, 5].into_dyn());
    let b = Chunk::I32(ndarray::array![0, 0].into_dyn());
    let info = |o| {
        Some(ArgInfo {
            offset: vec![o],
            shape: vec![5],
        })
    };
    for op in [ReduceOp::ArgMin, ReduceOp::NanArgMin] {
        let pa = partial(op, &a, &[0], info(0)).unwrap();
        let pb = partial(op, &b, &[0], info(3)).unwrap();
        for parts in [[pa.clone(), pb.clone()], [pb, pa]] {
            let i = finalize(op, combine(op, &parts).unwrap(), DType::I32).unwrap();
            assert_eq!(i, Chunk::I64(ndarray::array![1].into_dyn()));
        }
    }
    // Flat index over all axes of the global array.
    let c = Chunk::F64(ndarray::array![[2.0, 9.0], [9.0, 0.0]].into_dyn());
    let info = ArgInfo {
        offset: vec![1, 2],
        shape: vec![4, 5],
    };
    let i = finalize(
        ReduceOp::ArgMax,
        partial(ReduceOp::ArgMax, &c, &[0, 1], Some(info)).unwrap(),
        DType::F64,
    );
    assert_eq!(i.unwrap(), Chunk::I64(ndarray::array![[5 + 3]].into_dyn()));
}

#[test]
fn arg_over_two_of_three_axes_is_a_plan_error() {
    let r = ReduceAcc::new(ReduceOp::ArgMin, DType::F64, &[2, 3, 4], &[0, 2], None);
    assert!(matches!(r, Err(Error::Plan(_))));
}

#[test]
fn sums_of_f32_accumulate_in_f64() {
    let mut v = vec![1.0f32; 17];
    v[0] = 1e8;
    let c = Chunk::F32(ArrayD::from_shape_vec(IxDyn(&[17]), v).unwrap());
    let s = finalize(
        ReduceOp::Sum,
        partial(ReduceOp::Sum, &c, &[0], None).unwrap(),
        DType::F32,
    )
    .unwrap();
    assert_eq!(s, Chunk::F32(ndarray::array![100_000_016.0f32].into_dyn()));
}

#[test]
fn int64_sums_and_products_wrap() {
    let mut r = Rng(5);
    let big = ArrayD::from_shape_fn(IxDyn(&[6, 40]), |_| (r.next() >> 2) as i64 - (1 << 61));
    let c = Chunk::I64(big);
    for op in [ReduceOp::Sum, ReduceOp::Prod] {
        check(op, &c, &[1]);
        check(op, &c, &[0]);
    }
}

#[test]
fn long_rows_stay_accurate_and_deterministic() {
    // Longer than PIECE and BLOCK, with a large offset that naive variance loses.
    let mut r = Rng(11);
    let a = ArrayD::from_shape_fn(IxDyn(&[3, 10_000]), |_| 1e6 + r.unit());
    let c = Chunk::F64(a);
    for op in [
        ReduceOp::Sum,
        ReduceOp::Mean,
        ReduceOp::Var { ddof: 1 },
        ReduceOp::ArgMin,
    ] {
        check(op, &c, &[1]);
        check(op, &c, &[0, 1]);
    }
    let v = finalize(
        ReduceOp::Var { ddof: 0 },
        partial(ReduceOp::Var { ddof: 0 }, &c, &[1], None).unwrap(),
        DType::F64,
    );
    assert!(v
        .unwrap()
        .to_f64()
        .iter()
        .all(|&v| (v - 1.0 / 12.0).abs() < 0.01));
}

#[test]
fn malformed_partials_are_internal_errors() {
    let p = partial(
        ReduceOp::Sum,
        &make(DType::F64, &[4, 3], 1, false),
        &[0],
        None,
    )
    .unwrap();
    let q = partial(
        ReduceOp::Sum,
        &make(DType::F64, &[4, 2], 1, false),
        &[0],
        None,
    )
    .unwrap();
    assert!(matches!(
        combine(ReduceOp::Sum, &[p.clone(), q]),
        Err(Error::Internal(_))
    ));
    assert!(matches!(
        combine::<Partial>(ReduceOp::Sum, &[]),
        Err(Error::Internal(_))
    ));
    assert!(matches!(
        finalize(ReduceOp::Mean, p.clone(), DType::F64),
        Err(Error::Internal(_))
    ));
    assert!(matches!(
        finalize(ReduceOp::Sum, p, DType::I32),
        Err(Error::Internal(_))
    ));
    assert!(matches!(
        ReduceAcc::new(ReduceOp::Sum, DType::F64, &[2, 3], &[1, 0], None),
        Err(Error::Internal(_))
    ));
}

#[test]
fn partial_metadata() {
    use ReduceOp::*;
    let p = partial(
        Var { ddof: 1 },
        &make(DType::F32, &[4, 3], 1, false),
        &[0],
        None,
    )
    .unwrap();
    assert_eq!(p.fields.len(), 3);
    assert_eq!(p.fields[0].shape(), &[1, 3]);
    assert_eq!(p.nbytes(), 3 * 3 * 8);
    assert_eq!(Sum.output_dtype(DType::Bool), DType::I64);
    assert_eq!(Prod.output_dtype(DType::I32), DType::I64);
    assert_eq!(NanSum.output_dtype(DType::F32), DType::F32);
    assert_eq!(Std { ddof: 0 }.output_dtype(DType::Bool), DType::F64);
    assert_eq!(NanMean.output_dtype(DType::F32), DType::F32);
    assert_eq!(Min.output_dtype(DType::I32), DType::I32);
    assert_eq!(NanArgMax.output_dtype(DType::F32), DType::I64);
    assert_eq!(Count.output_dtype(DType::Bool), DType::I64);
    assert_eq!(All.output_dtype(DType::F64), DType::Bool);
    assert_eq!(CountNonzero.name(), "count_nonzero");
    assert_eq!(NanArgMin.name(), "nanargmin");
    assert!(NanArgMin.is_arg() && !NanMin.is_arg());
    assert!(NanMax.needs_nonempty() && ArgMin.needs_nonempty() && !Sum.needs_nonempty());
}

/// Two-pass variance of the groups along `axis` of a 2-d array: the reference.
fn two_pass_var(a: &ArrayD<f64>, axis: usize) -> ArrayD<f64> {
    let m = a.mean_axis(Axis(axis)).unwrap().insert_axis(Axis(axis));
    let d2 = (a - &m).mapv(|d| d * d);
    d2.mean_axis(Axis(axis)).unwrap().insert_axis(Axis(axis))
}

#[test]
fn variance_of_data_far_from_zero_is_accurate() {
    // Values 1e6 + U(0, 1): the running mean of a plain Welford update is rounded
    // at 1e6 and loses ~1e-10 (ndarray's var_axis does); ours stays near 1e-15.
    let mut r = Rng(17);
    let mut a = ArrayD::from_shape_fn(IxDyn(&[3000, 40]), |_| 1e6 + r.unit());
    for outlier_first in [false, true] {
        if outlier_first {
            a[[0, 0]] = -1e6;
            a[[0, 1]] = 3e6;
        }
        let c = Chunk::F64(a.clone());
        let op = ReduceOp::Var { ddof: 0 };
        for axis in [0, 1] {
            let want = two_pass_var(&a, axis);
            let whole = finalize(op, partial(op, &c, &[axis], None).unwrap(), DType::F64);
            let tiny = finalize(
                op,
                push_in_pieces(op, &c, &[axis], None, 3).unwrap(),
                DType::F64,
            );
            for got in [whole, tiny] {
                let got = got.unwrap().to_f64();
                for (g, w) in got.iter().zip(&want) {
                    assert!((g - w).abs() <= 1e-12 * w, "axis {axis}: {g} vs {w}");
                }
            }
        }
    }
}
