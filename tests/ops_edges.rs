//! Edge cases against eager references: empty and 0-d arrays, degenerate matmul,
//! ddof at or past the sample size, reductions over no axes, and compositions of
//! structure operations (transpose/slice/reshape/rechunk chains, diamonds).

mod common;

use chunkwise::prelude::*;
use common::*;
use ndarray::{Array2, ArrayD, Axis, Ix2, IxDyn};

fn to2(a: &ArrayD<f64>) -> Array2<f64> {
    a.clone().into_dimensionality::<Ix2>().unwrap()
}

#[test]
fn matmul_with_empty_dimensions() {
    for (m, k, n) in [(3, 0, 4), (0, 3, 4), (3, 4, 0), (0, 0, 0)] {
        let a = data_f64(&[m, k], 90, -1.0, 1.0);
        let b = data_f64(&[k, n], 91, -1.0, 1.0);
        let want = to2(&a).dot(&to2(&b)).into_dyn();
        for c in [1usize, 2] {
            let got = eval::<f64>(&arr(&a, c.into()).matmul(&arr(&b, c.into())).unwrap());
            assert_exact(&got, &want, &format!("({m},{k}) @ ({k},{n}) chunks {c}"));
        }
    }
}

#[test]
fn empty_arrays_through_elementwise_and_structure() {
    let e = data_f64(&[0, 3], 92, 0.0, 1.0);
    let r = data_f64(&[3], 93, 0.0, 1.0);
    for c in chunkings(&[0, 3]) {
        let x = arr(&e, c.1);
        let y = arr(&r, 2usize.into());
        assert_eq!(eval::<f64>(&(&x + &y)).shape(), &[0, 3]);
        assert_eq!(eval::<f64>(&x.t()).shape(), &[3, 0]);
        assert_eq!(
            eval::<f64>(&x.slice(&[Idx::slice(None, None, -1), Idx::Int(1)]).unwrap()).shape(),
            &[0]
        );
        assert_eq!(eval::<f64>(&x.expand_dims(1).unwrap()).shape(), &[0, 1, 3]);
        assert_eq!(eval::<i64>(&x.argmax(Some(1)).unwrap()).shape(), &[0]);
        assert_eq!(eval::<f64>(&x.rechunk([5, 1]).unwrap()).shape(), &[0, 3]);
        let s = eval::<f64>(&x.sum(Some(0), true).unwrap());
        assert_exact(&s, &ArrayD::zeros(IxDyn(&[1, 3])), "sum keepdims of empty");
        assert_eq!(
            eval::<f64>(&linspace(0.0, 1.0, 0, 3).unwrap()).shape(),
            &[0]
        );
        assert_eq!(eval::<i64>(&arange(3, 3, 1, 2).unwrap()).shape(), &[0]);
    }
}

#[test]
fn zero_d_arrays() {
    let z = ArrayD::from_elem(IxDyn(&[]), 4.0);
    let x = arr(&z, ChunkSpec::PerDim(vec![]));
    assert_exact(&eval::<f64>(&x.sum(None, false).unwrap()), &z, "sum of 0-d");
    assert_exact(
        &eval::<f64>(&x.mean(None, true).unwrap()),
        &z,
        "mean of 0-d",
    );
    assert_exact(
        &eval::<i64>(&x.argmax(None).unwrap()),
        &ArrayD::zeros(IxDyn(&[])),
        "argmax 0-d",
    );
    assert_exact(
        &eval::<f64>(&x.var(None, 0, false).unwrap()),
        &ArrayD::zeros(IxDyn(&[])),
        "var 0-d",
    );
    assert_exact(
        &eval::<f64>(&x.slice(&[Idx::Ellipsis]).unwrap()),
        &z,
        "x[...]",
    );
    let got = eval::<f64>(&x.slice(&[Idx::NewAxis, Idx::NewAxis]).unwrap());
    assert_exact(
        &got,
        &ArrayD::from_elem(IxDyn(&[1, 1]), 4.0),
        "x[None, None]",
    );
    assert_exact(&eval::<f64>(&x.t()), &z, "0-d .T");
    let got = eval::<f64>(&stack(&[&x, &(&x * 2.0), &x], 0).unwrap());
    assert_exact(
        &got,
        &ArrayD::from_shape_vec(IxDyn(&[3]), vec![4.0, 8.0, 4.0]).unwrap(),
        "stack 0-d",
    );
    assert_exact(
        &eval::<f64>(&x.reshape(&[1, 1, 1]).unwrap()),
        &ArrayD::from_elem(IxDyn(&[1, 1, 1]), 4.0),
        "0-d reshape",
    );
    let got = eval::<f64>(&x.map_blocks(
        |c, _| Ok(Chunk::from(c.to_f64().mapv(|v| v + 1.0))),
        DType::F64,
    ));
    assert_exact(&got, &ArrayD::from_elem(IxDyn(&[]), 5.0), "map_blocks 0-d");
    let c = arr(
        &ArrayD::from_elem(IxDyn(&[]), true),
        ChunkSpec::PerDim(vec![]),
    );
    assert_exact(
        &eval::<i64>(&where_(&c, 1, 2)),
        &ArrayD::from_elem(IxDyn(&[]), 1),
        "where 0-d",
    );
}

#[test]
fn reducing_no_axes_keeps_values_with_the_result_dtype() {
    let a = data_i32(&[4, 3], 94, -9, 9);
    for (c_name, c) in chunkings(&[4, 3]) {
        let x = arr(&a, c);
        let got = eval::<i64>(&x.sum(Vec::<isize>::new(), false).unwrap());
        assert_exact(
            &got,
            &a.mapv(|v| v as i64),
            &format!("sum(axis=()) {c_name}"),
        );
        let got = eval::<f64>(&x.mean(Vec::<isize>::new(), true).unwrap());
        assert_exact(
            &got,
            &a.mapv(|v| v as f64),
            &format!("mean(axis=()) {c_name}"),
        );
        let got = eval::<i32>(&x.max(Vec::<isize>::new(), false).unwrap());
        assert_exact(&got, &a, &format!("max(axis=()) {c_name}"));
    }
}

#[test]
fn var_with_ddof_at_or_past_the_sample_size_is_inf_like_numpy() {
    // Regression: var/std gave NaN. NumPy's var divides by max(n - ddof, 0): inf for
    // a positive sum of squares, NaN for 0; nanvar gives NaN.
    let a = ArrayD::from_shape_vec(IxDyn(&[3, 2]), vec![1.0, 2.0, 5.0, 5.0, -1.0, 3.0]).unwrap();
    for (c_name, c) in chunkings(&[3, 2]) {
        let x = arr(&a, c);
        for ddof in [2u32, 3] {
            let got = eval::<f64>(&x.var(Some(1), ddof, false).unwrap());
            let want = reduce_ref(&a, Some(&[1][..]), false, |v| var(v, ddof));
            assert_exact(&got, &want, &format!("var ddof={ddof} {c_name}"));
            let got = eval::<f64>(&x.std(Some(1), ddof, false).unwrap());
            assert_exact(
                &got,
                &want.mapv(f64::sqrt),
                &format!("std ddof={ddof} {c_name}"),
            );
            // nanvar/nanstd give NaN whenever ddof reaches the count.
            let got = eval::<f64>(&x.nanstd(Some(1), ddof, false).unwrap());
            assert!(
                got.iter().all(|v| v.is_nan()),
                "nanstd ddof={ddof} {c_name}: {got}"
            );
            let got = eval::<f64>(&x.nanvar(None, 6, false).unwrap());
            assert!(got[[]].is_nan(), "nanvar ddof=n {c_name}: {got}");
        }
    }
}

#[test]
fn other_dtype_reductions() {
    let b = data_bool(&[5, 4], 95);
    let bf = b.mapv(|v| v as u8 as f64);
    let ai = data_i32(&[5, 4], 96, -3, 3);
    for (c_name, c) in chunkings(&[5, 4]) {
        let x = arr(&b, c.clone());
        let what = |s: &str| format!("{s} {c_name}");
        let got = eval::<bool>(&x.max(Some(0), false).unwrap());
        assert_exact(
            &got,
            &b.map_axis(Axis(0), |v| v.iter().any(|&t| t)),
            &what("bool max"),
        );
        let got = eval::<bool>(&x.min(None, false).unwrap());
        assert_exact(
            &got,
            &ArrayD::from_elem(IxDyn(&[]), b.iter().all(|&t| t)),
            &what("bool min"),
        );
        let got = eval::<i64>(&x.argmax(Some(1)).unwrap());
        let want = reduce_ref(&bf, Some(&[1][..]), false, |v| {
            v.iter().position(|&t| t == 1.0).unwrap_or(0) as i64
        });
        assert_exact(&got, &want, &what("bool argmax"));
        let got = eval::<i64>(&x.count_nonzero(None, false).unwrap());
        assert_eq!(
            got[[]],
            b.iter().filter(|&&t| t).count() as i64,
            "{}",
            what("bool count_nonzero")
        );
        let xi = arr(&ai, c);
        let got = eval::<f64>(&xi.nanmean(Some(0), false).unwrap());
        let want = reduce_ref(&ai.mapv(|v| v as f64), Some(&[0][..]), false, mean);
        assert_close(&got, &want, RTOL_F64, &what("i32 nanmean"));
        let got = eval::<i64>(&xi.nansum(Some(-1), true).unwrap());
        let want = reduce_ref(&ai, Some(&[-1][..]), true, |v| {
            v.iter().map(|&x| x as i64).sum()
        });
        assert_exact(&got, &want, &what("i32 nansum"));
    }
}

#[test]
fn chains_of_structure_operations() {
    let a = data_f64(&[6, 8, 4], 97, -1.0, 1.0);
    for (c_name, c) in chunkings(&[6, 8, 4]) {
        let what = |s: &str| format!("{s} {c_name}");
        let x = arr(&a, c);
        // transpose -> slice -> reshape -> rechunk -> elementwise with the original.
        let t = x.transpose(&[2, 0, 1]).unwrap();
        let s = t
            .slice(&[
                Idx::slice(None, None, -1),
                Idx::from(1isize..5),
                Idx::slice(Some(7), None, -2),
            ])
            .unwrap();
        let r = s.reshape(&[4, 16]).unwrap().rechunk([3, 5]).unwrap();
        let ta = a.view().permuted_axes(IxDyn(&[2, 0, 1])).to_owned();
        let sa = np_index(
            &ta,
            &[
                Idx::slice(None, None, -1),
                Idx::from(1isize..5),
                Idx::slice(Some(7), None, -2),
            ],
        );
        let ra = sa.to_shape(IxDyn(&[4, 16])).unwrap().to_owned();
        assert_exact(&eval::<f64>(&r), &ra, &what("t/slice/reshape/rechunk"));
        // A diamond: one input read by several branches, joined again.
        let m = x.mean(Some(1), true).unwrap();
        let d = &(&(&x - &m) * &(&x + &m)) / &x.std(Some(1), 0, true).unwrap();
        let ma = reduce_ref(&a, Some(&[1][..]), true, mean);
        let sd = reduce_ref(&a, Some(&[1][..]), true, |v| var(v, 0).sqrt());
        let num = zip_bc(
            &zip_bc(&a, &ma, |p, q| p - q),
            &zip_bc(&a, &ma, |p, q| p + q),
            |p, q| p * q,
        );
        assert_close(
            &eval::<f64>(&d),
            &zip_bc(&num, &sd, |p, q| p / q),
            RTOL_F64,
            &what("diamond"),
        );
        // keepdims result squeezed, transposed, broadcast against a slice.
        let k = x.max(vec![0, 2], true).unwrap().squeeze(None).unwrap();
        let sl = x
            .slice(&[Idx::Int(2), Idx::ALL, Idx::NewAxis, Idx::Int(-1)])
            .unwrap();
        let ka = reduce_ref(&a, Some(&[0, 2][..]), false, |v| {
            v.iter().copied().fold(f64::MIN, f64::max)
        });
        let sla = np_index(&a, &[Idx::Int(2), Idx::ALL, Idx::NewAxis, Idx::Int(-1)]);
        let got = eval::<f64>(&(&sl - &k));
        assert_exact(
            &got,
            &zip_bc(&sla, &ka, |p, q| p - q),
            &what("keepdims/squeeze/slice"),
        );
        // Concatenate a transposed slice with a rechunked array.
        let p = x.slice(&[Idx::from(0isize..4), Idx::Int(0)]).unwrap().t();
        let q = x
            .slice(&[Idx::from(2isize..6), Idx::Int(1)])
            .unwrap()
            .t()
            .rechunk([1, 4])
            .unwrap();
        let got = eval::<f64>(&concatenate(&[&p, &q], 0).unwrap());
        let pa = np_index(&a, &[Idx::from(0isize..4), Idx::Int(0)])
            .t()
            .to_owned();
        let qa = np_index(&a, &[Idx::from(2isize..6), Idx::Int(1)])
            .t()
            .to_owned();
        let want = ndarray::concatenate(Axis(0), &[pa.view(), qa.view()]).unwrap();
        assert_exact(&got, &want, &what("concat of transposed slices"));
        // A matmul of slices, reduced.
        let mm = x
            .slice(&[Idx::ALL, Idx::ALL, Idx::Int(0)])
            .unwrap()
            .matmul(&x.slice(&[Idx::Int(1)]).unwrap())
            .unwrap();
        let mma = to2(&np_index(&a, &[Idx::ALL, Idx::ALL, Idx::Int(0)]))
            .dot(&to2(&np_index(&a, &[Idx::Int(1)])))
            .into_dyn();
        let got = eval::<f64>(&mm.sum(Some(0), false).unwrap());
        assert_close(
            &got,
            &mma.sum_axis(Axis(0)),
            RTOL_F64,
            &what("matmul of slices"),
        );
    }
}

#[test]
fn persisted_arrays_are_inputs_like_any_other() {
    let a = data_f64(&[9, 7], 98, -1.0, 1.0);
    for (c_name, c) in chunkings(&[9, 7]) {
        let x = arr(&a, c).persist().unwrap();
        let y = (&x * 2.0).persist().unwrap();
        let got = eval::<f64>(&(&y - &x).t().slice(&[Idx::slice(None, None, -2)]).unwrap());
        let want = np_index(&a.t().to_owned(), &[Idx::slice(None, None, -2)]);
        assert_exact(&got, &want, &format!("persisted chain {c_name}"));
        let got = eval::<f64>(&y.rechunk([4, 4]).unwrap().sum(Some(0), false).unwrap());
        assert_close(
            &got,
            &a.mapv(|v| 2.0 * v).sum_axis(Axis(0)),
            RTOL_F64,
            &format!("persisted sum {c_name}"),
        );
    }
}

/// Regression: reshaping an empty array was refused ("reshape of an empty array is
/// not supported"); NumPy reshapes it to any shape of size 0.
#[test]
fn reshape_of_an_empty_array() {
    let e = data_i32(&[0, 3], 99, 0, 9);
    for (c_name, c) in chunkings(&[0, 3]) {
        let x = arr(&e, c);
        for (to, want) in [
            (vec![3, 0], vec![3, 0]),
            (vec![0], vec![0]),
            (vec![2, -1, 5], vec![2, 0, 5]),
            (vec![0, 1, 3], vec![0, 1, 3]),
        ] {
            let r = x.reshape(&to).unwrap();
            let got = eval::<i32>(&r);
            assert_eq!(got.shape(), want.as_slice(), "{c_name} reshape to {to:?}");
            // It goes on like any empty array.
            let s = eval::<i64>(&(&r * 2).sum(None, false).unwrap());
            assert_eq!(s[[]], 0, "{c_name}");
        }
    }
}

/// Regression: a slice or rechunk of a reduction finalized in its partial layer
/// (one chunk along the reduced axes) read that layer's grid, which keeps the
/// reduced dims' input extents: over an empty axis the slice table looped
/// allocating without end and the rechunk failed ("range 1..2 beyond 1 blocks").
#[test]
fn slice_and_rechunk_of_a_keepdims_reduction_over_an_empty_axis() {
    let e = data_i64(&[0, 5], 100, 0, 9);
    let a = data_i64(&[4, 5], 101, -9, 9);
    for (data, label) in [(&e, "empty"), (&a, "4x5")] {
        let want_s = reduce_ref(data, Some(&[0][..]), true, |v| v.iter().sum::<i64>());
        for (c_name, c) in chunkings(data.shape()) {
            let what = |s: &str| format!("{label} {s} {c_name}");
            let s = arr(data, c).sum(Some(0), true).unwrap();
            let idx = [Idx::ALL, Idx::slice(Some(1), None, 2)];
            let got = eval::<i64>(&s.slice(&idx).unwrap());
            assert_exact(&got, &np_index(&want_s, &idx), &what("slice"));
            let got = eval::<i64>(&s.rechunk([1, 1]).unwrap());
            assert_exact(&got, &want_s, &what("rechunk"));
            let got = eval::<i64>(&s.reshape(&[5, 1]).unwrap());
            assert_exact(
                &got,
                &want_s.to_shape(IxDyn(&[5, 1])).unwrap().to_owned(),
                &what("reshape"),
            );
            let got = eval::<i64>(&concatenate(&[&s, &s], 0).unwrap());
            let want = ndarray::concatenate(Axis(0), &[want_s.view(), want_s.view()]).unwrap();
            assert_exact(&got, &want, &what("concatenate"));
            let got = eval::<i64>(&s.t().matmul(&s).unwrap());
            let w2 = want_s.clone().into_dimensionality::<Ix2>().unwrap();
            assert_exact(&got, &w2.t().dot(&w2).into_dyn(), &what("matmul"));
            let got = eval::<i64>(&s.map_blocks(|c, _| Ok(c.clone()), DType::I64));
            assert_exact(&got, &want_s, &what("map_blocks"));
        }
    }
}
