//! Unit tests of the structural kernels against hand loops, ndarray and proptest.

use super::*;
use ndarray::{s, Array2, Ix2, IxDyn};
use proptest::prelude::*;

/// A deterministic array of `shape` whose values differ from their neighbours.
fn sample<T: Element>(shape: &[usize]) -> ArrayD<T> {
    let mut i = 0i64;
    ArrayD::from_shape_simple_fn(IxDyn(shape), || {
        i += 1;
        T::from_i64((i * 7919) % 13 - 6)
    })
}

fn chunk<T: Element>(a: &ArrayD<T>) -> Chunk {
    T::wrap(a.clone())
}

/// The output is standard layout with the strides a fresh `from_shape_vec` gets.
fn assert_standard(c: &Chunk) {
    with_chunk!(c, a, T => {
        let fresh = ArrayD::from_shape_vec(IxDyn(a.shape()), a.iter().copied().collect::<Vec<T>>())
            .expect("shape of an existing array");
        assert!(a.is_standard_layout(), "not standard layout: shape {:?} strides {:?}", a.shape(), a.strides());
        assert_eq!(a.strides(), fresh.strides(), "shape {:?}", a.shape());
    })
}

fn internal_msg<T: std::fmt::Debug>(r: Result<T>) -> String {
    match r {
        Err(Error::Internal(m)) => m,
        other => panic!("expected an internal error, got {other:?}"),
    }
}

/// The same values as `a` in four layouts: C order, Fortran order (reversed axes
/// of a reversed copy), negative strides, and not contiguous at all.
fn layouts<T: Element>(a: &ArrayD<T>) -> Vec<ArrayD<T>> {
    let f = {
        let rev: Vec<usize> = (0..a.ndim()).rev().collect();
        let c_of_t = a
            .view()
            .permuted_axes(rev.clone())
            .as_standard_layout()
            .into_owned();
        c_of_t.permuted_axes(rev)
    };
    let neg = {
        let mut m = a.clone();
        for k in 0..m.ndim() {
            m.invert_axis(Axis(k));
        }
        let mut n = m.as_standard_layout().into_owned();
        for k in 0..n.ndim() {
            n.invert_axis(Axis(k));
        }
        n
    };
    let gappy = {
        // Every other element of a twice-as-long last axis.
        let mut shape = a.shape().to_vec();
        if let Some(l) = shape.last_mut() {
            *l *= 2;
        }
        let mut big = ArrayD::from_elem(IxDyn(&shape), T::default());
        if a.ndim() > 0 {
            big.slice_axis_mut(Axis(a.ndim() - 1), Slice::new(0, None, 2))
                .assign(a);
            big.slice_axis_inplace(Axis(a.ndim() - 1), Slice::new(0, None, 2));
        } else {
            big.assign(a);
        }
        big
    };
    for x in [&f, &neg, &gappy] {
        assert_eq!(x, a);
    }
    if a.ndim() >= 2 && a.shape().iter().all(|&n| n > 1) {
        assert!(!f.is_standard_layout());
        assert!(gappy.as_slice_memory_order().is_none());
    }
    vec![a.clone(), f, neg, gappy]
}

/// Hand-loop reference for `slice`.
fn slice_ref<T: Element>(a: &ArrayD<T>, sel: &[DimSlice]) -> ArrayD<T> {
    let shape: Vec<usize> = sel.iter().map(|d| d.len).collect();
    ArrayD::from_shape_fn(IxDyn(&shape), |idx| {
        let src: Vec<usize> = sel
            .iter()
            .enumerate()
            .map(|(k, d)| (d.start as isize + idx[k] as isize * d.step) as usize)
            .collect();
        a[IxDyn(&src)]
    })
}

fn ds(start: usize, len: usize, step: isize) -> DimSlice {
    DimSlice { start, len, step }
}

fn check_slices<T: Element>() {
    let cases: Vec<(Vec<usize>, Vec<DimSlice>)> = vec![
        (vec![], vec![]),
        (vec![7], vec![ds(0, 7, 1)]),
        (vec![7], vec![ds(6, 7, -1)]),
        (vec![7], vec![ds(5, 3, -2)]),
        (vec![7], vec![ds(0, 3, 3)]),
        (vec![7], vec![ds(3, 0, 1)]),
        (vec![7], vec![ds(4, 1, -100)]),
        (vec![0], vec![ds(0, 0, 1)]),
        (vec![5, 6], vec![ds(1, 2, 2), ds(5, 6, -1)]),
        (vec![5, 6], vec![ds(4, 3, -2), ds(0, 2, 3)]),
        (vec![5, 6], vec![ds(0, 0, 1), ds(0, 6, 1)]),
        (vec![0, 6], vec![ds(0, 0, 1), ds(1, 4, 1)]),
        (vec![4, 5, 6], vec![ds(3, 2, -3), ds(1, 3, 1), ds(5, 3, -2)]),
        (vec![4, 5, 6], vec![ds(0, 4, 1), ds(0, 5, 1), ds(2, 1, 1)]),
        (vec![40, 50], vec![ds(39, 40, -1), ds(1, 16, 3)]),
    ];
    for (shape, sel) in cases {
        let a = sample::<T>(&shape);
        let want = slice_ref(&a, &sel);
        for src in layouts(&a) {
            let got = slice(&chunk(&src), &sel).expect("valid selection");
            assert_standard(&got);
            assert_eq!(
                got,
                chunk(&want),
                "shape {shape:?} sel {sel:?} strides {:?}",
                src.strides()
            );
        }
    }
}

#[test]
fn slice_matches_hand_loops_for_every_dtype() {
    check_slices::<bool>();
    check_slices::<i32>();
    check_slices::<i64>();
    check_slices::<f32>();
    check_slices::<f64>();
}

#[test]
fn slice_matches_ndarray_s_macro() {
    let a = sample::<f64>(&[6, 7]);
    let got = slice(&chunk(&a), &[ds(1, 2, 2), ds(6, 7, -1)]).expect("valid");
    assert_eq!(
        got,
        Chunk::from(a.slice(s![1..5;2, ..;-1]).to_owned().into_dyn())
    );
    // ndarray's negative step walks back from the end of the range.
    let got = slice(&chunk(&a), &[ds(4, 3, -2), ds(2, 3, 1)]).expect("valid");
    assert_eq!(
        got,
        Chunk::from(a.slice(s![0..5;-2, 2..5]).to_owned().into_dyn())
    );
}

#[test]
fn slice_rejects_bad_selections() {
    let c = chunk(&sample::<i32>(&[4, 5]));
    let m = internal_msg(slice(&c, &[ds(0, 4, 1)]));
    assert!(m.contains("1 dimensions") && m.contains("[4, 5]"), "{m}");
    let m = internal_msg(slice(&c, &[ds(0, 4, 1), ds(0, 1, 0)]));
    assert!(m.contains("axis 1") && m.contains("step 0"), "{m}");
    let m = internal_msg(slice(&c, &[ds(0, 4, 1), ds(1, 3, 2)]));
    assert!(
        m.contains("axis 1") && m.contains("to 5") && m.contains("extent 5"),
        "{m}"
    );
    let m = internal_msg(slice(&c, &[ds(2, 4, -1), ds(0, 5, 1)]));
    assert!(m.contains("axis 0") && m.contains("to -1"), "{m}");
    let m = internal_msg(slice(&c, &[ds(4, 1, 1), ds(0, 5, 1)]));
    assert!(m.contains("axis 0"), "{m}");
    let m = internal_msg(slice(&c, &[ds(0, 2, isize::MAX), ds(0, 5, 1)]));
    assert!(m.contains("axis 0"), "{m}");
}

/// An `s![a..b;step]` range over an axis of length `n` and the `DimSlice` it means.
fn range_and_dim(n: usize) -> impl Strategy<Value = (usize, usize, isize)> {
    (0..=n, 0..=n, prop_oneof![-4isize..=-1, 1isize..=4])
        .prop_map(|(x, y, step)| (x.min(y), x.max(y), step))
}

fn to_dim((a, b, step): (usize, usize, isize)) -> DimSlice {
    let len = (b - a).div_ceil(step.unsigned_abs());
    let start = if len == 0 {
        0
    } else if step > 0 {
        a
    } else {
        b - 1
    };
    DimSlice { start, len, step }
}

proptest! {
    #[test]
    fn slice_agrees_with_s_macro_3d(
        (n0, n1, n2) in (0usize..6, 0usize..6, 0usize..6),
        seeds in any::<[u64; 3]>(),
    ) {
        let pick = |n: usize, seed: u64| {
            let a = (seed % (n as u64 + 1)) as usize;
            let b = ((seed >> 8) % (n as u64 + 1)) as usize;
            let step = [-3isize, -2, -1, 1, 2, 3][((seed >> 16) % 6) as usize];
            (a.min(b), a.max(b), step)
        };
        let (r0, r1, r2) = (pick(n0, seeds[0]), pick(n1, seeds[1]), pick(n2, seeds[2]));
        let a = sample::<i64>(&[n0, n1, n2]);
        let want = a.slice(s![r0.0..r0.1;r0.2, r1.0..r1.1;r1.2, r2.0..r2.1;r2.2]).to_owned();
        let got = slice(&chunk(&a), &[to_dim(r0), to_dim(r1), to_dim(r2)]).expect("valid");
        prop_assert_eq!(got, Chunk::from(want.into_dyn()));
    }

    #[test]
    fn slice_agrees_with_s_macro_1d(n in 0usize..40, r in (0usize..40).prop_flat_map(range_and_dim)) {
        let (a, b, step) = (r.0.min(n), r.1.min(n), r.2);
        let x = sample::<f64>(&[n]);
        let want = x.slice(s![a..b;step]).to_owned();
        let got = slice(&chunk(&x), &[to_dim((a, b, step))]).expect("valid");
        prop_assert_eq!(got, Chunk::from(want.into_dyn()));
    }
}

fn check_transposes<T: Element>() {
    for (r, c) in [(0, 3), (1, 1), (3, 5), (33, 65), (100, 70)] {
        let a = sample::<T>(&[r, c]);
        let a2 = a.clone().into_dimensionality::<Ix2>().expect("2-D");
        for src in layouts(&a) {
            let got = transpose(&chunk(&src), &[1, 0]).expect("valid");
            assert_standard(&got);
            assert_eq!(got, Chunk::from(a2.t().to_owned().into_dyn()), "{r}x{c}");
        }
    }
    let perms3 = [
        [0, 1, 2],
        [0, 2, 1],
        [1, 0, 2],
        [1, 2, 0],
        [2, 0, 1],
        [2, 1, 0],
    ];
    for shape in [[4, 5, 6], [2, 40, 35], [3, 0, 2], [1, 7, 1]] {
        let a = sample::<T>(&shape);
        for perm in perms3 {
            let want = a.view().permuted_axes(perm.to_vec()).to_owned();
            for src in layouts(&a) {
                let got = transpose(&chunk(&src), &perm).expect("valid");
                assert_standard(&got);
                assert_eq!(got, Chunk::from(want.clone()), "{shape:?} {perm:?}");
            }
        }
    }
    let a = sample::<T>(&[3, 4, 5, 6]);
    for perm in [[3, 2, 1, 0], [0, 1, 3, 2], [2, 0, 3, 1]] {
        let want = a.view().permuted_axes(perm.to_vec()).to_owned();
        assert_eq!(
            transpose(&chunk(&a), &perm).expect("valid"),
            Chunk::from(want)
        );
    }
    let zero_d = sample::<T>(&[]);
    assert_eq!(
        transpose(&chunk(&zero_d), &[]).expect("valid"),
        chunk(&zero_d)
    );
    let one_d = sample::<T>(&[9]);
    assert_eq!(
        transpose(&chunk(&one_d), &[0]).expect("valid"),
        chunk(&one_d)
    );
}

#[test]
fn transpose_matches_ndarray_for_every_dtype() {
    check_transposes::<bool>();
    check_transposes::<i32>();
    check_transposes::<i64>();
    check_transposes::<f32>();
    check_transposes::<f64>();
}

#[test]
fn transpose_of_1000_square_matches_hand_loop() {
    let a = sample::<f64>(&[1000, 1000]);
    let got = transpose(&chunk(&a), &[1, 0]).expect("valid");
    let got = got.typed::<f64>().expect("f64");
    for i in (0..1000).step_by(37) {
        for j in 0..1000 {
            assert_eq!(got[[i, j]], a[[j, i]]);
        }
    }
}

#[test]
fn transpose_rejects_non_permutations() {
    let c = chunk(&sample::<f32>(&[2, 3, 4]));
    for perm in [&[0, 1][..], &[0, 1, 1], &[0, 1, 3], &[0, 1, 2, 3]] {
        let m = internal_msg(transpose(&c, perm));
        assert!(
            m.contains(&format!("{perm:?}")) && m.contains("[2, 3, 4]"),
            "{m}"
        );
    }
}

/// Cut `a` into old chunks along `old` boundaries, then assemble the region
/// `lo..hi` from the pieces that intersect it, as rechunk does.
fn rechunk_region<T: Element>(
    a: &ArrayD<T>,
    old: &[Vec<usize>],
    lo: &[usize],
    hi: &[usize],
) -> Chunk {
    let ndim = a.ndim();
    // Every combination of old-chunk indices.
    let mut blocks: Vec<Vec<usize>> = vec![vec![]];
    for cuts in old {
        blocks = blocks
            .into_iter()
            .flat_map(|b| (0..cuts.len() - 1).map(move |i| [b.clone(), vec![i]].concat()))
            .collect();
    }
    let mut chunks = Vec::new();
    for b in &blocks {
        let (start, end): (Vec<usize>, Vec<usize>) =
            (0..ndim).map(|k| (old[k][b[k]], old[k][b[k] + 1])).unzip();
        let data = a
            .slice_each_axis(|ad| Slice::from(start[ad.axis.index()]..end[ad.axis.index()]))
            .to_owned();
        chunks.push((start, end, chunk(&data)));
    }
    let mut pieces = Vec::new();
    for (start, end, c) in &chunks {
        let from: Vec<usize> = (0..ndim).map(|k| start[k].max(lo[k])).collect();
        let to: Vec<usize> = (0..ndim).map(|k| end[k].min(hi[k])).collect();
        if (0..ndim).all(|k| from[k] < to[k]) {
            pieces.push(Piece {
                src: c,
                src_start: (0..ndim).map(|k| from[k] - start[k]).collect(),
                dst_start: (0..ndim).map(|k| from[k] - lo[k]).collect(),
                extent: (0..ndim).map(|k| to[k] - from[k]).collect(),
            });
        }
    }
    pieces.reverse(); // order must not matter
    let shape: Vec<usize> = (0..ndim).map(|k| hi[k] - lo[k]).collect();
    let out = assemble(T::DTYPE, &shape, &pieces).expect("pieces tile the region");
    assert_standard(&out);
    out
}

fn check_assemble<T: Element>() {
    let a = sample::<T>(&[5, 7, 4]);
    let old = [vec![0, 2, 5], vec![0, 3, 4, 7], vec![0, 1, 4]];
    let got = rechunk_region(&a, &old, &[1, 2, 0], &[5, 6, 4]);
    assert_eq!(
        got,
        Chunk::from(a.slice(s![1..5, 2..6, ..]).to_owned().into_dyn())
    );
    let whole = rechunk_region(&a, &old, &[0, 0, 0], &[5, 7, 4]);
    assert_eq!(whole, chunk(&a));
    let b = sample::<T>(&[10]);
    let got = rechunk_region(&b, &[vec![0, 1, 4, 9, 10]], &[2], &[10]);
    assert_eq!(got, Chunk::from(b.slice(s![2..]).to_owned().into_dyn()));
    let m = sample::<T>(&[6, 9]);
    let got = rechunk_region(&m, &[vec![0, 4, 6], vec![0, 2, 3, 8, 9]], &[0, 0], &[6, 9]);
    assert_eq!(got, chunk(&m));
    // Irregular pieces that are not a grid: an L shape and its complement.
    let c = chunk(&m);
    let piece = |s: [usize; 2], d: [usize; 2], e: [usize; 2]| Piece {
        src: &c,
        src_start: s.to_vec(),
        dst_start: d.to_vec(),
        extent: e.to_vec(),
    };
    let pieces = [
        piece([0, 0], [0, 0], [6, 2]),
        piece([0, 2], [0, 2], [1, 7]),
        piece([1, 2], [1, 2], [5, 7]),
    ];
    assert_eq!(assemble(T::DTYPE, &[6, 9], &pieces).expect("tiles"), c);
    // 0-d and empty outputs.
    let z = chunk(&sample::<T>(&[]));
    let p = Piece {
        src: &z,
        src_start: vec![],
        dst_start: vec![],
        extent: vec![],
    };
    assert_eq!(assemble(T::DTYPE, &[], &[p]).expect("one element"), z);
    let empty = assemble(T::DTYPE, &[3, 0], &[]).expect("nothing to cover");
    assert_eq!(empty.shape(), &[3, 0]);
    assert_standard(&empty);
}

#[test]
fn assemble_from_irregular_pieces_equals_original() {
    check_assemble::<bool>();
    check_assemble::<i32>();
    check_assemble::<i64>();
    check_assemble::<f32>();
    check_assemble::<f64>();
}

#[test]
fn assemble_reports_the_bad_piece() {
    let c = chunk(&sample::<f64>(&[4, 4]));
    let other = chunk(&sample::<i32>(&[4, 4]));
    let p = |src: &'static str, s: [usize; 2], d: [usize; 2], e: [usize; 2]| (src, s, d, e);
    let cases = [
        (
            vec![
                p("c", [0, 0], [0, 0], [4, 2]),
                p("o", [0, 2], [0, 2], [4, 2]),
            ],
            vec!["piece 1", "int32", "float64"],
        ),
        (
            vec![
                p("c", [0, 0], [0, 0], [4, 3]),
                p("c", [0, 2], [0, 2], [4, 2]),
            ],
            vec!["pieces 0", "and 1", "overlap"],
        ),
        (
            vec![
                p("c", [0, 0], [0, 0], [4, 2]),
                p("c", [0, 2], [0, 2], [3, 2]),
            ],
            vec!["14 of the 16", "gap"],
        ),
        (
            vec![p("c", [1, 0], [0, 0], [4, 4])],
            vec!["piece 0", "reads 1..5 on axis 0", "[4, 4]"],
        ),
        (
            vec![p("c", [0, 0], [0, 1], [4, 4])],
            vec!["piece 0", "writes 1..5 on axis 1"],
        ),
    ];
    for (specs, words) in cases {
        let pieces: Vec<Piece<'_>> = specs
            .iter()
            .map(|&(src, s, d, e)| Piece {
                src: if src == "c" { &c } else { &other },
                src_start: s.to_vec(),
                dst_start: d.to_vec(),
                extent: e.to_vec(),
            })
            .collect();
        let m = internal_msg(assemble(DType::F64, &[4, 4], &pieces));
        for w in words {
            assert!(m.contains(w), "{w:?} not in {m:?}");
        }
    }
    let bad_rank = Piece {
        src: &c,
        src_start: vec![0],
        dst_start: vec![0, 0],
        extent: vec![4, 4],
    };
    let m = internal_msg(assemble(DType::F64, &[4, 4], &[bad_rank]));
    assert!(m.contains("piece 0") && m.contains("2 dimensions"), "{m}");
}

#[test]
fn reshape_and_insert_axis_keep_c_order() {
    for src in layouts(&sample::<i64>(&[3, 4, 2])) {
        let c = chunk(&src);
        let flat: Vec<i64> = src.iter().copied().collect(); // logical C order
        for shape in [&[24][..], &[4, 6], &[2, 3, 2, 2], &[1, 24, 1]] {
            let got = reshape(&c, shape).expect("same count");
            assert_standard(&got);
            let want = ArrayD::from_shape_vec(IxDyn(shape), flat.clone()).expect("count");
            assert_eq!(got, Chunk::from(want));
        }
        for axis in 0..=3 {
            let got = insert_axis(&c, axis).expect("in range");
            assert_standard(&got);
            assert_eq!(
                got,
                Chunk::from(src.view().insert_axis(Axis(axis)).to_owned())
            );
        }
    }
    let zero_d = chunk(&sample::<bool>(&[]));
    let one = reshape(&zero_d, &[1, 1]).expect("one element");
    assert_eq!(reshape(&one, &[]).expect("one element"), zero_d);
    assert_eq!(insert_axis(&zero_d, 0).expect("in range").shape(), &[1]);
    let empty = chunk(&sample::<f32>(&[0, 3]));
    assert_eq!(
        reshape(&empty, &[3, 0, 5]).expect("zero elements").shape(),
        &[3, 0, 5]
    );
    let m = internal_msg(reshape(&empty, &[1]));
    assert!(m.contains("[0, 3]") && m.contains("[1]"), "{m}");
    let m = internal_msg(reshape(&chunk(&sample::<f64>(&[2, 3])), &[usize::MAX, 2]));
    assert!(m.contains("too many elements"), "{m}");
    let m = internal_msg(insert_axis(&empty, 3));
    assert!(m.contains("axis 3") && m.contains("[0, 3]"), "{m}");
}

/// Split the inner dimension of `a @ b` at `cuts` into block pairs.
fn split_inner<T: Element>(a: &ArrayD<T>, b: &ArrayD<T>, cuts: &[usize]) -> Vec<(Chunk, Chunk)> {
    cuts.windows(2)
        .map(|w| {
            (
                Chunk::from(a.slice(s![.., w[0]..w[1]]).to_owned().into_dyn()),
                Chunk::from(b.slice(s![w[0]..w[1], ..]).to_owned().into_dyn()),
            )
        })
        .collect()
}

fn run_blocks(blocks: &[(Chunk, Chunk)], out: DType) -> Result<Chunk> {
    let pairs: Vec<(&Chunk, &Chunk)> = blocks.iter().map(|(a, b)| (a, b)).collect();
    matmul_blocks(&pairs, out)
}

fn two_d<T: Element>(shape: [usize; 2], f: impl Fn(usize, usize) -> T) -> ArrayD<T> {
    Array2::from_shape_fn(shape, |(i, j)| f(i, j)).into_dyn()
}

#[test]
fn matmul_blocks_over_split_inner_equals_whole_product() {
    let cuts = [0, 3, 7, 7, 12];
    // f64 and f32 against ndarray's whole-matrix dot.
    let a = two_d([5, 12], |i, j| ((i * 12 + j) as f64 * 0.37).sin());
    let b = two_d([12, 4], |i, j| ((i * 4 + j) as f64 * 0.91).cos());
    let want = a
        .view()
        .into_dimensionality::<Ix2>()
        .expect("2-D")
        .dot(&b.view().into_dimensionality::<Ix2>().expect("2-D"));
    let got = run_blocks(&split_inner(&a, &b, &cuts), DType::F64).expect("aligned");
    assert_standard(&got);
    let got = got.typed::<f64>().expect("f64");
    assert_eq!(got.shape(), &[5, 4]);
    for (x, y) in got.iter().zip(want.iter()) {
        assert!((x - y).abs() <= 1e-12, "{x} vs {y}");
    }
    let (a32, b32) = (a.mapv(|v| v as f32), b.mapv(|v| v as f32));
    let got = run_blocks(&split_inner(&a32, &b32, &cuts), DType::F32).expect("aligned");
    for (x, y) in got.typed::<f32>().expect("f32").iter().zip(want.iter()) {
        assert!((*x as f64 - y).abs() <= 1e-5, "{x} vs {y}");
    }
    // Integers exactly, against ndarray's generic dot.
    let ai = two_d([5, 12], |i, j| (i * 5 + j * 3) as i64 % 11 - 5);
    let bi = two_d([12, 4], |i, j| (i * 2 + j * 7) as i64 % 9 - 4);
    let want = ai
        .view()
        .into_dimensionality::<Ix2>()
        .expect("2-D")
        .dot(&bi.view().into_dimensionality::<Ix2>().expect("2-D"));
    let got = run_blocks(&split_inner(&ai, &bi, &cuts), DType::I64).expect("aligned");
    assert_eq!(got, Chunk::from(want.clone().into_dyn()));
    let (a_i32, b_i32) = (ai.mapv(|v| v as i32), bi.mapv(|v| v as i32));
    let got = run_blocks(&split_inner(&a_i32, &b_i32, &cuts), DType::I32).expect("aligned");
    assert_eq!(got, Chunk::from(want.mapv(|v| v as i32).into_dyn()));
    // Bool: OR of ANDs, by hand.
    let ab = two_d([5, 12], |i, j| (i + 2 * j) % 5 == 0);
    let bb = two_d([12, 4], |i, j| (3 * i + j) % 7 == 0);
    let want = two_d([5, 4], |i, j| (0..12).any(|k| ab[[i, k]] && bb[[k, j]]));
    assert!(want.iter().any(|&v| v) && want.iter().any(|&v| !v));
    let got = run_blocks(&split_inner(&ab, &bb, &cuts), DType::Bool).expect("aligned");
    assert_eq!(got, chunk(&want));
}

#[test]
fn matmul_blocks_sums_in_the_given_order() {
    // With these values, the rounding of a + b + c depends on the grouping.
    let blocks: Vec<(Chunk, Chunk)> = [1e16, 1.0, -1e16]
        .iter()
        .map(|&v| {
            (
                Chunk::from(two_d([1, 1], |_, _| v)),
                Chunk::from(two_d([1, 1], |_, _| 1.0f64)),
            )
        })
        .collect();
    let got = run_blocks(&blocks, DType::F64).expect("aligned");
    assert_eq!(got, Chunk::from(two_d([1, 1], |_, _| (1e16 + 1.0) - 1e16)));
    let reversed: Vec<_> = blocks.iter().rev().cloned().collect();
    let got = run_blocks(&reversed, DType::F64).expect("aligned");
    assert_eq!(got, Chunk::from(two_d([1, 1], |_, _| (-1e16 + 1.0) + 1e16)));
}

#[test]
fn matmul_blocks_edge_cases() {
    // Integers wrap instead of panicking.
    let big = Chunk::from(two_d([1, 2], |_, _| i32::MAX));
    let two = Chunk::from(two_d([2, 1], |_, _| 2i32));
    let got = matmul_blocks(&[(&big, &two)], DType::I32).expect("aligned");
    assert_eq!(
        got,
        Chunk::from(two_d([1, 1], |_, _| i32::MAX.wrapping_mul(4)))
    );
    // Empty inner and outer extents.
    let a = Chunk::from(two_d::<f64>([3, 0], |_, _| 1.0));
    let b = Chunk::from(two_d::<f64>([0, 2], |_, _| 1.0));
    assert_eq!(
        matmul_blocks(&[(&a, &b)], DType::F64).expect("aligned"),
        Chunk::from(two_d([3, 2], |_, _| 0.0f64))
    );
    let a = Chunk::from(two_d::<i64>([0, 3], |_, _| 1));
    let b = Chunk::from(two_d::<i64>([3, 2], |_, _| 1));
    assert_eq!(
        matmul_blocks(&[(&a, &b)], DType::I64)
            .expect("aligned")
            .shape(),
        &[0, 2]
    );
    // A transposed (Fortran-order) block.
    let at = sample::<f64>(&[4, 3]).reversed_axes();
    let b = sample::<f64>(&[4, 2]);
    let want = at
        .view()
        .into_dimensionality::<Ix2>()
        .expect("2-D")
        .dot(&b.view().into_dimensionality::<Ix2>().expect("2-D"));
    let got = matmul_blocks(&[(&chunk(&at), &chunk(&b))], DType::F64).expect("aligned");
    assert_eq!(got, Chunk::from(want.into_dyn()));
    assert_standard(&got);
}

#[test]
fn matmul_blocks_reports_mismatches() {
    let a23 = Chunk::from(sample::<f64>(&[2, 3]));
    let a24 = Chunk::from(sample::<f64>(&[2, 4]));
    let b32 = Chunk::from(sample::<f64>(&[3, 2]));
    let b35 = Chunk::from(sample::<f64>(&[3, 5]));
    let i32b = Chunk::from(sample::<i32>(&[3, 2]));
    let v3 = Chunk::from(sample::<f64>(&[3]));
    let m = internal_msg(matmul_blocks(&[(&a23, &b32), (&a24, &b32)], DType::F64));
    assert!(m.contains("pair 1") && m.contains("[2, 4] @ [3, 2]"), "{m}");
    let m = internal_msg(matmul_blocks(&[(&a23, &b32), (&a23, &b35)], DType::F64));
    assert!(
        m.contains("pair 1") && m.contains("2x5") && m.contains("2x2"),
        "{m}"
    );
    let m = internal_msg(matmul_blocks(&[(&a23, &i32b)], DType::F64));
    assert!(m.contains("pair 0") && m.contains("float64 @ int32"), "{m}");
    let m = internal_msg(matmul_blocks(&[(&a23, &v3)], DType::F64));
    assert!(m.contains("[2, 3] @ [3]"), "{m}");
    let m = internal_msg(matmul_blocks(&[], DType::F64));
    assert!(m.contains("no block pairs"), "{m}");
}

fn check_concatenate<T: Element>() {
    for axis in 0..3 {
        let mut shapes = [[2, 3, 4]; 4];
        for (i, s) in shapes.iter_mut().enumerate() {
            s[axis] = [1, 0, 3, 2][i];
        }
        let arrays: Vec<ArrayD<T>> = shapes.iter().map(|s| sample::<T>(s)).collect();
        let views: Vec<_> = arrays.iter().map(|a| a.view()).collect();
        let want = ndarray::concatenate(Axis(axis), &views).expect("compatible");
        let chunks: Vec<Chunk> = arrays.iter().map(chunk).collect();
        let refs: Vec<&Chunk> = chunks.iter().collect();
        let got = concatenate(&refs, axis).expect("compatible");
        assert_standard(&got);
        assert_eq!(got, Chunk::from(want), "axis {axis}");
    }
    let lone = sample::<T>(&[2, 3, 4]);
    let one = concatenate(&[&chunk(&lone)], 2).expect("one part");
    assert_eq!(one, chunk(&lone));
    let x = sample::<T>(&[4]);
    let y = sample::<T>(&[0]);
    let got = concatenate(&[&chunk(&y), &chunk(&x), &chunk(&x)], 0).expect("compatible");
    assert_eq!(
        got,
        Chunk::from(ndarray::concatenate(Axis(0), &[x.view(), x.view()]).expect("1-D"))
    );
}

#[test]
fn concatenate_matches_ndarray_for_every_dtype() {
    check_concatenate::<bool>();
    check_concatenate::<i32>();
    check_concatenate::<i64>();
    check_concatenate::<f32>();
    check_concatenate::<f64>();
}

#[test]
fn concatenate_reports_mismatches() {
    let a = chunk(&sample::<f64>(&[2, 3]));
    let b = chunk(&sample::<f64>(&[4, 2]));
    let i = chunk(&sample::<i64>(&[2, 3]));
    let z = chunk(&sample::<f64>(&[]));
    let m = internal_msg(concatenate(&[&a, &i], 0));
    assert!(
        m.contains("part 1") && m.contains("int64") && m.contains("float64"),
        "{m}"
    );
    let m = internal_msg(concatenate(&[&a, &a, &b], 0));
    assert!(
        m.contains("part 2")
            && m.contains("[4, 2]")
            && m.contains("[2, 3]")
            && m.contains("axis 0"),
        "{m}"
    );
    let m = internal_msg(concatenate(&[&a, &a], 2));
    assert!(m.contains("axis 2") && m.contains("[2, 3]"), "{m}");
    let m = internal_msg(concatenate(&[&z], 0));
    assert!(m.contains("axis 0") && m.contains("[]"), "{m}");
    let m = internal_msg(concatenate(&[], 0));
    assert!(m.contains("no parts"), "{m}");
}
