//! Creation, structure and indexing against eager `ndarray`: constants, ranges,
//! transpose, NumPy indexing (negative steps, integers, new axes, ellipsis),
//! expand_dims/squeeze, concatenate/stack, reshape, rechunk, matmul/dot and
//! map_blocks, on several chunkings per case.

mod common;

use chunkwise::prelude::*;
use common::*;
use ndarray::{Array2, ArrayD, Axis, Ix2, IxDyn};

#[test]
fn constants_and_ranges_match_numpy() {
    let shape = [7, 4];
    for (c_name, c) in chunkings(&shape) {
        let what = |s: &str| format!("{s} {c_name}");
        assert_exact(
            &eval::<f64>(&zeros(&shape, c.clone()).unwrap()),
            &ArrayD::zeros(IxDyn(&shape)),
            &what("zeros"),
        );
        assert_exact(
            &eval::<f64>(&ones(&shape, c.clone()).unwrap()),
            &ArrayD::ones(IxDyn(&shape)),
            &what("ones"),
        );
        assert_exact(
            &eval::<i64>(&full(&shape, 7, c.clone()).unwrap()),
            &ArrayD::from_elem(IxDyn(&shape), 7),
            &what("full int"),
        );
        assert_exact(
            &eval::<f64>(&full(&shape, -2.5, c.clone()).unwrap()),
            &ArrayD::from_elem(IxDyn(&shape), -2.5),
            &what("full float"),
        );
        assert_exact(
            &eval::<bool>(&full(&shape, true, c.clone()).unwrap()),
            &ArrayD::from_elem(IxDyn(&shape), true),
            &what("full bool"),
        );
        let got = eval::<i32>(&ones(&shape, c).unwrap().astype(DType::I32));
        assert_exact(&got, &ArrayD::ones(IxDyn(&shape)), &what("ones as i32"));
    }
    // arange: int64 for integer arguments, float64 otherwise; negative steps.
    let cases: Vec<(Scalar, Scalar, Scalar)> = vec![
        (0.into(), 10.into(), 1.into()),
        (3.into(), (-8).into(), (-3).into()),
        (0.5.into(), 4.0.into(), 0.25.into()),
        (1.0.into(), (-2.0).into(), (-0.3).into()),
        (5.into(), 5.into(), 1.into()),
    ];
    for (start, stop, step) in cases {
        let (s0, s1, st) = (start.as_f64(), stop.as_f64(), step.as_f64());
        let mut want = Vec::new();
        let mut i = 0;
        while (st > 0.0 && s0 + i as f64 * st < s1) || (st < 0.0 && s0 + i as f64 * st > s1) {
            want.push(s0 + i as f64 * st);
            i += 1;
        }
        let want = ArrayD::from_shape_vec(IxDyn(&[want.len()]), want).unwrap();
        for chunks in [1usize, 3, 100] {
            let a = arange(start, stop, step, chunks).unwrap();
            let what = format!("arange({start:?}, {stop:?}, {step:?}) chunks {chunks}");
            if [start, stop, step]
                .iter()
                .all(|s| matches!(s, Scalar::Int(_)))
            {
                assert_exact(&eval::<i64>(&a).mapv(|v| v as f64), &want, &what);
            } else {
                assert_close(&eval::<f64>(&a), &want, RTOL_F64, &what);
            }
        }
    }
    // linspace includes both ends.
    for (num, chunks) in [(11, 3), (1, 1), (50, 7), (2, 1)] {
        let got = eval::<f64>(&linspace(-1.0, 2.0, num, chunks).unwrap());
        let step = if num > 1 { 3.0 / (num - 1) as f64 } else { 0.0 };
        let want = ArrayD::from_shape_fn(IxDyn(&[num]), |i| {
            if i[0] == num - 1 && num > 1 {
                2.0
            } else {
                -1.0 + i[0] as f64 * step
            }
        });
        assert_close(&got, &want, RTOL_F64, &format!("linspace num={num}"));
        assert_eq!(
            got[[num - 1]],
            if num > 1 { 2.0 } else { -1.0 },
            "linspace end point"
        );
    }
}

#[test]
fn transpose_matches_permuted_axes() {
    let shape = [5, 4, 3];
    let a = data_f64(&shape, 60, -1.0, 1.0);
    for (c_name, c) in chunkings(&shape) {
        let x = arr(&a, c);
        assert_exact(
            &eval::<f64>(&x.t()),
            &a.t().to_owned(),
            &format!("t {c_name}"),
        );
        for perm in [[0, 2, 1], [2, 0, 1], [1, 2, 0], [0, 1, 2]] {
            let got = eval::<f64>(&x.transpose(&perm).unwrap());
            let want = a.view().permuted_axes(IxDyn(&perm)).to_owned();
            assert_exact(&got, &want, &format!("transpose {perm:?} {c_name}"));
        }
        // A transposed operand in an elementwise op with chunks that differ.
        let y = arr(&a.t().to_owned(), other_chunking(&[3, 4, 5]));
        let got = eval::<f64>(&(&x.t() - &y));
        assert_exact(
            &got,
            &ArrayD::zeros(IxDyn(&[3, 4, 5])),
            &format!("x.T - x.T {c_name}"),
        );
    }
}

fn index_cases() -> Vec<Vec<Idx>> {
    let s = Idx::slice;
    vec![
        vec![Idx::from(1..5)],
        vec![s(None, None, -1)],
        vec![s(Some(-2), None, -2), Idx::Int(3)],
        vec![Idx::Ellipsis, Idx::Int(-1)],
        vec![
            Idx::NewAxis,
            s(Some(1), None, 3),
            Idx::Ellipsis,
            Idx::NewAxis,
        ],
        vec![Idx::Int(0), Idx::Int(-1), Idx::Int(2)],
        vec![s(Some(10), Some(-10), -1)],
        vec![s(Some(5), Some(2), 1)],
        vec![
            Idx::ALL,
            s(Some(-100), Some(100), 2),
            s(Some(4), Some(0), -3),
        ],
        vec![Idx::Ellipsis],
        vec![Idx::Int(-7), Idx::NewAxis, s(None, Some(-1), 4)],
        vec![s(Some(6), None, -5), Idx::Ellipsis, s(Some(1), Some(2), 1)],
        vec![Idx::from(..3isize), Idx::from(2isize..), Idx::from(..)],
    ]
}

#[test]
fn indexing_follows_numpy() {
    let shape = [7, 6, 5];
    let a = data_i64(&shape, 61, -100, 100);
    for (c_name, c) in chunkings(&shape) {
        let x = arr(&a, c);
        for idx in index_cases() {
            let what = format!("x{idx:?} {c_name}");
            let got = eval::<i64>(&x.slice(&idx).unwrap_or_else(|e| panic!("{what}: {e}")));
            assert_exact(&got, &np_index(&a, &idx), &what);
        }
        // A slice of a slice, then arithmetic with a differently chunked operand.
        let i1 = [Idx::slice(Some(1), None, 2), Idx::slice(None, None, -1)];
        let i2 = [
            Idx::slice(None, None, -1),
            Idx::Int(2),
            Idx::slice(Some(1), Some(4), 1),
        ];
        let got = eval::<i64>(&x.slice(&i1).unwrap().slice(&i2).unwrap());
        let want = np_index(&np_index(&a, &i1), &i2);
        assert_exact(&got, &want, &format!("slice of slice {c_name}"));
        let other = arr(&want, other_chunking(want.shape()));
        let got = eval::<i64>(&(&x.slice(&i1).unwrap().slice(&i2).unwrap() + &other));
        assert_exact(
            &got,
            &want.mapv(|v| 2 * v),
            &format!("slice + other {c_name}"),
        );
    }
}

#[test]
fn expand_dims_and_squeeze() {
    let a = data_f64(&[4, 1, 3], 62, -1.0, 1.0);
    for (c_name, c) in chunkings(&[4, 1, 3]) {
        let x = arr(&a, c);
        for (axis, ax) in [(0isize, 0usize), (1, 1), (-1, 3), (3, 3), (-4, 0)] {
            let got = eval::<f64>(&x.expand_dims(axis).unwrap());
            assert_exact(
                &got,
                &a.clone().insert_axis(Axis(ax)),
                &format!("expand_dims {axis} {c_name}"),
            );
        }
        let got = eval::<f64>(&x.squeeze(None).unwrap());
        assert_exact(
            &got,
            &a.index_axis(Axis(1), 0).to_owned(),
            &format!("squeeze {c_name}"),
        );
        let got = eval::<f64>(&x.squeeze(Some(&[-2])).unwrap());
        assert_exact(
            &got,
            &a.index_axis(Axis(1), 0).to_owned(),
            &format!("squeeze -2 {c_name}"),
        );
    }
}

#[test]
fn concatenate_and_stack_match_ndarray() {
    let a = data_f64(&[5, 4], 63, -1.0, 1.0);
    let b = data_f64(&[3, 4], 64, -1.0, 1.0);
    let c = data_f64(&[5, 2], 65, -1.0, 1.0);
    let ai = data_i32(&[5, 4], 66, -9, 9);
    for (c_name, ch) in chunkings(&[5, 4]) {
        let what = |s: &str| format!("{s} {c_name}");
        let x = arr(&a, ch.clone());
        let y = arr(&b, other_chunking(&[3, 4]));
        let z = arr(&c, vec![vec![2, 3], vec![1, 1]].into());
        let xi = arr(&ai, other_chunking(&[5, 4]));
        let got = eval::<f64>(&concatenate(&[&x, &y, &x], 0).unwrap());
        let want = ndarray::concatenate(Axis(0), &[a.view(), b.view(), a.view()]).unwrap();
        assert_exact(&got, &want, &what("concat axis 0"));
        let got = eval::<f64>(&concatenate(&[&z, &x], -1).unwrap());
        let want = ndarray::concatenate(Axis(1), &[c.view(), a.view()]).unwrap();
        assert_exact(&got, &want, &what("concat axis -1"));
        // Mixed dtypes promote: i32 with f64 -> f64.
        let got = eval::<f64>(&concatenate(&[&xi, &x], 1).unwrap());
        let want =
            ndarray::concatenate(Axis(1), &[ai.mapv(|v| v as f64).view(), a.view()]).unwrap();
        assert_exact(&got, &want, &what("concat i32+f64"));
        // Along axis 0 the inputs keep their chunks (dask); a single array is itself.
        let cat = concatenate(&[&x, &y], 0).unwrap();
        let mut along = x.chunks()[0].clone();
        along.extend(y.chunks()[0].iter());
        assert_eq!(cat.chunks()[0], along, "{}", what("concat chunks"));
        assert_exact(
            &eval::<f64>(&concatenate(&[&x], 1).unwrap()),
            &a,
            &what("concat one"),
        );
        for axis in [0isize, 1, 2, -1, -3] {
            let got = eval::<f64>(
                &stack(&[&x, &x.neg(), &arr(&a, other_chunking(&[5, 4]))], axis).unwrap(),
            );
            let ax = if axis < 0 {
                (axis + 3) as usize
            } else {
                axis as usize
            };
            let neg = a.mapv(|v| -v);
            let want = ndarray::stack(Axis(ax), &[a.view(), neg.view(), a.view()]).unwrap();
            assert_exact(&got, &want, &what(&format!("stack axis {axis}")));
        }
    }
    // i32 with i64 -> i64; bool with i32 -> i32.
    let l = data_i64(&[2, 4], 67, -9, 9);
    let got = eval::<i64>(&concatenate(&[&arr(&ai, 2.into()), &arr(&l, 3.into())], 0).unwrap());
    let want = ndarray::concatenate(Axis(0), &[ai.mapv(|v| v as i64).view(), l.view()]).unwrap();
    assert_exact(&got, &want, "concat i32+i64");
    let bo = data_bool(&[5, 1], 68);
    let got = eval::<i32>(&concatenate(&[&arr(&bo, 2.into()), &arr(&ai, 3.into())], 1).unwrap());
    let want = ndarray::concatenate(Axis(1), &[bo.mapv(|v| v as i32).view(), ai.view()]).unwrap();
    assert_exact(&got, &want, "concat bool+i32");
}

#[test]
fn slices_of_concatenations_follow_numpy() {
    // Slices move into the concatenated inputs (PushSliceIntoSource); the
    // values must be those of slicing the whole, for every selection kind.
    let (a, b, c) = (
        data_i64(&[3, 6, 5], 71, -100, 100),
        data_i64(&[4, 6, 5], 72, -100, 100),
        data_i64(&[2, 6, 5], 73, -100, 100),
    );
    let whole = ndarray::concatenate(Axis(0), &[a.view(), b.view(), c.view(), a.view()]).unwrap();
    let s = Idx::slice;
    let cases = [
        vec![Idx::from(1..5)],
        vec![Idx::from(3..7)],
        vec![Idx::from(4..6)],
        vec![s(Some(1), None, 2)],
        vec![s(Some(2), Some(11), 3), Idx::Int(1)],
        vec![s(None, None, -1)],
        vec![s(Some(-2), None, -3), Idx::ALL, Idx::Int(-1)],
        vec![Idx::Int(8)],
        vec![Idx::from(5..5)],
        vec![Idx::ALL, Idx::from(2..4)],
        vec![Idx::NewAxis, s(Some(11), None, 1)],
    ];
    for (c_name, ch) in chunkings(&[3, 6, 5]) {
        let x = arr(&a, ch);
        let y = arr(&b, other_chunking(&[4, 6, 5]));
        let z = arr(&c, vec![vec![1, 1], vec![6], vec![2, 3]].into());
        let cat = concatenate(&[&x, &y, &z, &x], 0).unwrap();
        for idx in &cases {
            let what = format!("concat{idx:?} {c_name}");
            let got = eval::<i64>(&cat.slice(idx).unwrap_or_else(|e| panic!("{what}: {e}")));
            assert_exact(&got, &np_index(&whole, idx), &what);
        }
        // The slice reached the inputs: no getitem layer copies the values.
        let plan = cat.slice(&[Idx::from(3..7)]).unwrap().explain().unwrap();
        assert!(
            plan.contains("PushSliceIntoSource x1") && !plan.contains("getitem"),
            "{c_name}: {plan}"
        );
        // Mixed dtypes: the slice of one input still promotes as the whole did.
        let xf = arr(&a.mapv(|v| v as f64 / 2.0), other_chunking(&[3, 6, 5]));
        let mixed = concatenate(&[&y, &xf], 0).unwrap();
        let got = eval::<f64>(&mixed.slice(&[Idx::from(0..3)]).unwrap());
        let want = np_index(&b, &[Idx::from(0..3)]).mapv(|v| v as f64);
        assert_exact(&got, &want, &format!("mixed concat {c_name}"));
    }
}

#[test]
fn reshape_is_c_order() {
    let cases: Vec<(Vec<usize>, Vec<isize>)> = vec![
        (vec![6, 4], vec![24]),
        (vec![6, 4], vec![4, 6]),
        (vec![6, 4], vec![2, 3, 4]),
        (vec![6, 4], vec![-1, 2]),
        (vec![6, 4], vec![3, 8]),
        (vec![2, 3, 4], vec![6, 4]),
        (vec![2, 3, 4], vec![4, -1]),
        (vec![2, 3, 4], vec![24, 1]),
        (vec![24], vec![2, 12]),
        (vec![24], vec![4, 3, 2]),
        (vec![5, 1, 6], vec![30]),
        (vec![5, 6], vec![1, 5, 1, 6]),
    ];
    for (from, to) in cases {
        let a = data_f64(&from, 69, -1.0, 1.0);
        let known: usize = to.iter().filter(|&&s| s > 0).map(|&s| s as usize).product();
        let out: Vec<usize> = to
            .iter()
            .map(|&s| if s < 0 { a.len() / known } else { s as usize })
            .collect();
        let want = a.to_shape(IxDyn(&out)).unwrap().to_owned();
        for (c_name, c) in chunkings(&from) {
            let x = arr(&a, c);
            let got = eval::<f64>(&x.reshape(&to).unwrap());
            assert_exact(&got, &want, &format!("{from:?} -> {to:?} {c_name}"));
        }
        // Reshaping a transposed array reads it in its (logical) C order.
        if from.len() == 2 {
            let t = a.t().to_owned();
            let n = t.len() as isize;
            let x = arr(&a, other_chunking(&from));
            let got = eval::<f64>(&x.t().reshape(&[n]).unwrap());
            let want =
                ArrayD::from_shape_vec(IxDyn(&[t.len()]), t.iter().copied().collect()).unwrap();
            assert_exact(&got, &want, &format!("{from:?}.T -> flat"));
        }
    }
}

#[test]
fn rechunk_keeps_values_and_sets_chunks() {
    let shape = [9, 7];
    let a = data_i32(&shape, 70, -50, 50);
    for (c_name, c) in chunkings(&shape) {
        let x = arr(&a, c);
        let targets: Vec<ChunkSpec> = vec![
            [2, 3].into(),
            vec![vec![4, 4, 1], vec![7]].into(),
            ChunkSpec::PerDim(vec![DimChunks::Full, DimChunks::Size(1)]),
            other_chunking(&shape),
            ChunkSpec::Auto { target_bytes: 64 },
        ];
        for t in targets {
            let r = x.rechunk(t.clone()).unwrap();
            let sums: Vec<usize> = r.chunks().iter().map(|c| c.iter().sum()).collect();
            assert_eq!(sums, shape.to_vec(), "rechunk {t:?} covers the shape");
            if let ChunkSpec::PerDim(dims) = &t {
                for (d, dc) in dims.iter().enumerate() {
                    if let DimChunks::Explicit(v) = dc {
                        assert_eq!(&r.chunks()[d], v, "rechunk {t:?} dim {d}");
                    }
                }
            }
            assert_exact(&eval::<i32>(&r), &a, &format!("rechunk {c_name} -> {t:?}"));
            let back = r.rechunk([4, 4]).unwrap();
            assert_eq!(back.chunks(), vec![vec![4, 4, 1], vec![4, 3]]);
            assert_exact(&eval::<i32>(&back), &a, &format!("rechunk twice {c_name}"));
        }
    }
}

fn to2<T: Clone>(a: &ArrayD<T>) -> Array2<T> {
    a.clone().into_dimensionality::<Ix2>().unwrap()
}

#[test]
fn matmul_matches_dot() {
    let a = data_f64(&[5, 7], 71, -1.0, 1.0);
    let b = data_f64(&[7, 4], 72, -1.0, 1.0);
    let want = to2(&a).dot(&to2(&b)).into_dyn();
    let ai = data_i32(&[5, 7], 73, -5, 5);
    let bi = data_i32(&[7, 4], 74, -5, 5);
    let bf = data_f32(&[7, 4], 75, -1.0, 1.0);
    for (ca_name, ca) in chunkings(&[5, 7]) {
        for (cb_name, cb) in chunkings(&[7, 4])
            .into_iter()
            .chain([("other", other_chunking(&[7, 4]))])
        {
            let what = |s: &str| format!("{s} {ca_name} @ {cb_name}");
            let (x, y) = (arr(&a, ca.clone()), arr(&b, cb.clone()));
            assert_close(
                &eval::<f64>(&x.matmul(&y).unwrap()),
                &want,
                RTOL_F64,
                &what("f64"),
            );
            assert_close(
                &eval::<f64>(&x.dot(&y).unwrap()),
                &want,
                RTOL_F64,
                &what("dot"),
            );
            // Integers stay exact; i32 with f32 promotes to f64.
            let (xi, yi) = (arr(&ai, ca.clone()), arr(&bi, cb.clone()));
            let got = eval::<i32>(&xi.matmul(&yi).unwrap());
            assert_exact(&got, &to2(&ai).dot(&to2(&bi)).into_dyn(), &what("i32"));
            let got = eval::<f64>(&xi.matmul(&arr(&bf, cb.clone())).unwrap());
            let want = to2(&ai.mapv(|v| v as f64))
                .dot(&to2(&bf.mapv(|v| v as f64)))
                .into_dyn();
            assert_close(&got, &want, RTOL_F64, &what("i32 @ f32"));
        }
    }
    // x @ x.T is symmetric and matches the eager product.
    let x = arr(&a, vec![vec![2, 3], vec![1, 6]].into());
    let got = eval::<f64>(&x.matmul(&x.t()).unwrap());
    assert_close(
        &got,
        &to2(&a).dot(&to2(&a).t()).into_dyn(),
        RTOL_F64,
        "x @ x.T",
    );
}

#[test]
fn map_blocks_sees_each_chunk_and_its_index() {
    let a = data_f64(&[7, 5], 76, -1.0, 1.0);
    let rows = vec![2, 3, 2];
    let cols = vec![1, 4];
    let block_of = |bounds: &[usize], i: usize| {
        let mut s = 0;
        bounds
            .iter()
            .position(|&c| {
                s += c;
                i < s
            })
            .unwrap()
    };
    let x = arr(&a, vec![rows.clone(), cols.clone()].into());
    let y = x.map_blocks(
        |c, idx| {
            let tag = (idx[0] * 100 + idx[1]) as f64;
            Ok(Chunk::from(c.to_f64().mapv(|v| v * 10.0 + tag)))
        },
        DType::F64,
    );
    let want = ArrayD::from_shape_fn(IxDyn(&[7, 5]), |i| {
        a[[i[0], i[1]]] * 10.0 + (block_of(&rows, i[0]) * 100 + block_of(&cols, i[1])) as f64
    });
    assert_exact(&eval::<f64>(&y), &want, "map_blocks with index");
    // A closure that changes the dtype, inside a longer expression.
    let z = (&x * 2.0).map_blocks(
        |c, _| Ok(Chunk::from(c.to_f64().mapv(|v| (v * 100.0).round() as i64))),
        DType::I64,
    );
    let got = eval::<i64>(&z.sum(Some(1), false).unwrap());
    let want = a
        .mapv(|v| (v * 2.0 * 100.0).round() as i64)
        .sum_axis(Axis(1));
    assert_exact(&got, &want, "map_blocks to i64 then sum");
}

/// Regression: concatenating arrays that are all empty along the axis failed with
/// an internal error ("concatenate chunk [0] has no input").
#[test]
fn concatenate_of_arrays_all_empty_along_the_axis() {
    let e = data_f64(&[0, 5], 77, 0.0, 1.0);
    let ei = data_i32(&[0, 5], 78, 0, 9);
    let x = arr(&e, [2, 2].into());
    let y = arr(&ei, other_chunking(&[0, 5]));
    let got = eval::<f64>(&concatenate(&[&x, &y], 0).unwrap());
    assert_eq!(got.shape(), &[0, 5]);
    let got = eval::<f64>(&concatenate(&[&x], 0).unwrap());
    assert_eq!(got.shape(), &[0, 5]);
    let got = eval::<f64>(&concatenate(&[&x, &x], 1).unwrap());
    assert_eq!(got.shape(), &[0, 10]);
    let got = eval::<f64>(&stack(&[&x, &x], 0).unwrap());
    assert_eq!(got.shape(), &[2, 0, 5]);
    let v = arr(&data_i64(&[0], 79, 0, 9), 1usize.into());
    let got = eval::<i64>(&concatenate(&[&v, &v, &v], -1).unwrap());
    assert_eq!(got.shape(), &[0]);
}

#[test]
fn auto_chunks_and_to_ndarray() {
    // Auto chunks stay within the byte target and cover the shape.
    let shape = [37, 23];
    let d = data_f64(&shape, 80, -1.0, 1.0);
    for target in [64usize, 800, 1 << 20] {
        let x = arr(
            &d,
            ChunkSpec::Auto {
                target_bytes: target,
            },
        );
        let c = x.chunks();
        let sums: Vec<usize> = c.iter().map(|v| v.iter().sum()).collect();
        assert_eq!(sums, shape.to_vec(), "auto chunks cover the shape");
        let biggest: usize = c.iter().map(|v| v.iter().copied().max().unwrap()).product();
        assert!(biggest * 8 <= target.max(8), "auto {target}: chunks {c:?}");
        assert_exact(&eval::<f64>(&x), &d, &format!("auto {target}"));
        let z = zeros(
            &shape,
            ChunkSpec::Auto {
                target_bytes: target,
            },
        )
        .unwrap();
        assert_exact(
            &eval::<f64>(&z),
            &ArrayD::zeros(IxDyn(&shape)),
            "zeros auto",
        );
    }
    // to_ndarray casts to the requested element type like astype.
    let i = data_i32(&[4, 3], 81, -5, 5);
    let x = arr(&i, 2usize.into());
    assert_exact(&x.to_ndarray::<i32>().unwrap(), &i, "to_ndarray same type");
    assert_exact(
        &x.to_ndarray::<f64>().unwrap(),
        &i.mapv(|v| v as f64),
        "to_ndarray i32 -> f64",
    );
    assert_exact(
        &x.to_ndarray::<bool>().unwrap(),
        &i.mapv(|v| v != 0),
        "to_ndarray i32 -> bool",
    );
    let f = arr(&d, 10usize.into());
    assert_exact(
        &f.to_ndarray::<i64>().unwrap(),
        &d.mapv(|v| v.trunc() as i64),
        "to_ndarray f64 -> i64",
    );
    // An invalid array reports its plan error instead.
    let bad = &x + &arr(&d, 10usize.into());
    assert!(matches!(bad.to_ndarray::<f64>(), Err(Error::Plan(_))));
}
