//! Reductions against eager references computed row by row (`common::reduce_ref`):
//! every reduction, over no/one/several/negative axes, with and without
//! `keepdims`, on several chunkings, with NaN data for the `nan*` family, `ddof`
//! for var/std, and NumPy's result dtypes (sum of i32 -> i64, mean of ints -> f64).

mod common;

use chunkwise::prelude::*;
use common::*;
use ndarray::{ArrayD, IxDyn};

const SHAPE: [usize; 3] = [6, 5, 4];

/// The axis sets every reduction runs over.
fn axis_sets() -> Vec<Option<Vec<isize>>> {
    vec![
        None,
        Some(vec![0]),
        Some(vec![1]),
        Some(vec![-1]),
        Some(vec![0, 2]),
        Some(vec![-2, 0]),
        Some(vec![0, 1, 2]),
    ]
}

fn axes_of(a: &Option<Vec<isize>>) -> Axes {
    match a {
        None => Axes::All,
        Some(v) => Axes::Some(v.clone()),
    }
}

type Reduction = fn(&Array, Axes, bool) -> Result<Array>;
/// A named reduction and its reference on the reduced values.
type Case<R> = (&'static str, Reduction, fn(&[f64]) -> R);

fn nan_min(v: &[f64]) -> f64 {
    if v.iter().any(|x| x.is_nan()) {
        f64::NAN
    } else {
        v.iter().copied().fold(f64::INFINITY, f64::min)
    }
}
fn nan_max(v: &[f64]) -> f64 {
    if v.iter().any(|x| x.is_nan()) {
        f64::NAN
    } else {
        v.iter().copied().fold(f64::NEG_INFINITY, f64::max)
    }
}
/// Min/max of the non-NaN values; NaN when there are none.
fn skip_nan(v: &[f64], f: fn(&[f64]) -> f64) -> f64 {
    let fv = finite(v);
    if fv.is_empty() {
        f64::NAN
    } else {
        f(&fv)
    }
}

fn float_reductions() -> Vec<Case<f64>> {
    vec![
        ("sum", |x, a, k| x.sum(a, k), |v| v.iter().sum()),
        ("prod", |x, a, k| x.prod(a, k), |v| v.iter().product()),
        ("mean", |x, a, k| x.mean(a, k), mean),
        ("min", |x, a, k| x.min(a, k), nan_min),
        ("max", |x, a, k| x.max(a, k), nan_max),
        ("var0", |x, a, k| x.var(a, 0, k), |v| var(v, 0)),
        ("var1", |x, a, k| x.var(a, 1, k), |v| var(v, 1)),
        ("std0", |x, a, k| x.std(a, 0, k), |v| var(v, 0).sqrt()),
        ("std1", |x, a, k| x.std(a, 1, k), |v| var(v, 1).sqrt()),
        (
            "nansum",
            |x, a, k| x.nansum(a, k),
            |v| finite(v).iter().sum(),
        ),
        (
            "nanprod",
            |x, a, k| x.nanprod(a, k),
            |v| finite(v).iter().product(),
        ),
        ("nanmean", |x, a, k| x.nanmean(a, k), |v| mean(&finite(v))),
        ("nanmin", |x, a, k| x.nanmin(a, k), |v| skip_nan(v, nan_min)),
        ("nanmax", |x, a, k| x.nanmax(a, k), |v| skip_nan(v, nan_max)),
        (
            "nanvar0",
            |x, a, k| x.nanvar(a, 0, k),
            |v| var(&finite(v), 0),
        ),
        (
            "nanvar1",
            |x, a, k| x.nanvar(a, 1, k),
            |v| var(&finite(v), 1),
        ),
        (
            "nanstd0",
            |x, a, k| x.nanstd(a, 0, k),
            |v| var(&finite(v), 0).sqrt(),
        ),
        (
            "nanstd1",
            |x, a, k| x.nanstd(a, 1, k),
            |v| var(&finite(v), 1).sqrt(),
        ),
    ]
}

fn count_reductions() -> Vec<Case<i64>> {
    vec![
        ("count", |x, a, k| x.count(a, k), |v| finite(v).len() as i64),
        (
            "count_nonzero",
            |x, a, k| x.count_nonzero(a, k),
            |v| v.iter().filter(|&&x| x != 0.0).count() as i64,
        ),
    ]
}

fn truth_reductions() -> Vec<Case<bool>> {
    vec![
        (
            "any",
            |x, a, k| x.any(a, k),
            |v| v.iter().any(|&x| x != 0.0),
        ),
        (
            "all",
            |x, a, k| x.all(a, k),
            |v| v.iter().all(|&x| x != 0.0),
        ),
    ]
}

/// Every reduction of `data` on every chunking, axis set and `keepdims`.
fn check_all_reductions(data: &ArrayD<f64>, label: &str) {
    for (c_name, c) in chunkings(data.shape()) {
        let x = arr(data, c);
        for axes in axis_sets() {
            for keep in [false, true] {
                let what =
                    |op: &str| format!("{label} {op} axes={axes:?} keepdims={keep} {c_name}");
                for (name, op, f) in float_reductions() {
                    let got = eval::<f64>(&op(&x, axes_of(&axes), keep).unwrap());
                    let want = reduce_ref(data, axes.as_deref(), keep, f);
                    assert_close(&got, &want, RTOL_F64, &what(name));
                }
                for (name, op, f) in count_reductions() {
                    let got = eval::<i64>(&op(&x, axes_of(&axes), keep).unwrap());
                    assert_exact(
                        &got,
                        &reduce_ref(data, axes.as_deref(), keep, f),
                        &what(name),
                    );
                }
                for (name, op, f) in truth_reductions() {
                    let got = eval::<bool>(&op(&x, axes_of(&axes), keep).unwrap());
                    assert_exact(
                        &got,
                        &reduce_ref(data, axes.as_deref(), keep, f),
                        &what(name),
                    );
                }
            }
        }
    }
}

#[test]
fn f64_reductions_match_reference() {
    // Values around 1 keep products tame; some exact zeros for count_nonzero/all.
    let a = data_f64(&SHAPE, 40, 0.5, 1.5).mapv(|v| if v < 0.6 { 0.0 } else { v });
    check_all_reductions(&a, "plain");
}

#[test]
fn nan_reductions_match_reference() {
    // NaN scattered, plus a slab a[2] that is all NaN (all-NaN slices for every axis
    // set that does not include axis 0).
    let mut a = with_nans(&data_f64(&SHAPE, 41, -2.0, 2.0), 42, 0.3);
    a.index_axis_mut(ndarray::Axis(0), 2).fill(f64::NAN);
    check_all_reductions(&a, "nan");
}

#[test]
fn integer_reductions_have_numpy_dtypes() {
    let a = data_i32(&SHAPE, 43, -1, 2);
    let af = a.mapv(|v| v as f64);
    for (c_name, c) in chunkings(&SHAPE) {
        let x = arr(&a, c);
        for axes in axis_sets() {
            for keep in [false, true] {
                let what = |op: &str| format!("i32 {op} axes={axes:?} keepdims={keep} {c_name}");
                let ax = || axes_of(&axes);
                let r = |f: fn(&[i32]) -> i64| reduce_ref(&a, axes.as_deref(), keep, f);
                // sum and prod of i32 accumulate in int64.
                let got = eval::<i64>(&x.sum(ax(), keep).unwrap());
                assert_exact(
                    &got,
                    &r(|v| v.iter().map(|&x| x as i64).sum()),
                    &what("sum"),
                );
                let got = eval::<i64>(&x.prod(ax(), keep).unwrap());
                assert_exact(
                    &got,
                    &r(|v| v.iter().map(|&x| x as i64).product()),
                    &what("prod"),
                );
                // min/max keep i32.
                let got = eval::<i32>(&x.min(ax(), keep).unwrap());
                let want = reduce_ref(&a, axes.as_deref(), keep, |v| *v.iter().min().unwrap());
                assert_exact(&got, &want, &what("min"));
                let got = eval::<i32>(&x.nanmax(ax(), keep).unwrap());
                let want = reduce_ref(&a, axes.as_deref(), keep, |v| *v.iter().max().unwrap());
                assert_exact(&got, &want, &what("nanmax"));
                // mean/var/std of ints are float64.
                let got = eval::<f64>(&x.mean(ax(), keep).unwrap());
                assert_close(
                    &got,
                    &reduce_ref(&af, axes.as_deref(), keep, mean),
                    RTOL_F64,
                    &what("mean"),
                );
                let got = eval::<f64>(&x.var(ax(), 1, keep).unwrap());
                let want = reduce_ref(&af, axes.as_deref(), keep, |v| var(v, 1));
                assert_close(&got, &want, RTOL_F64, &what("var"));
                let got = eval::<f64>(&x.nanstd(ax(), 0, keep).unwrap());
                let want = reduce_ref(&af, axes.as_deref(), keep, |v| var(v, 0).sqrt());
                assert_close(&got, &want, RTOL_F64, &what("nanstd"));
                // count is every element; count_nonzero the non-zero ones.
                let got = eval::<i64>(&x.count(ax(), keep).unwrap());
                assert_exact(&got, &r(|v| v.len() as i64), &what("count"));
                let got = eval::<i64>(&x.count_nonzero(ax(), keep).unwrap());
                assert_exact(
                    &got,
                    &r(|v| v.iter().filter(|&&x| x != 0).count() as i64),
                    &what("count_nonzero"),
                );
                let got = eval::<bool>(&x.all(ax(), keep).unwrap());
                let want = reduce_ref(&a, axes.as_deref(), keep, |v| v.iter().all(|&x| x != 0));
                assert_exact(&got, &want, &what("all"));
            }
        }
    }
}

#[test]
fn bool_and_f32_reductions() {
    let b = data_bool(&SHAPE, 44);
    let f = data_f32(&SHAPE, 45, -1.0, 1.0);
    let f64v = f.mapv(|v| v as f64);
    for (c_name, c) in chunkings(&SHAPE) {
        let x = arr(&b, c.clone());
        let y = arr(&f, c);
        for axes in axis_sets() {
            let what = |op: &str| format!("{op} axes={axes:?} {c_name}");
            let ax = || axes_of(&axes);
            // The sum of bools counts the trues, in int64; their mean is float64.
            let got = eval::<i64>(&x.sum(ax(), false).unwrap());
            let want = reduce_ref(&b, axes.as_deref(), false, |v| {
                v.iter().filter(|&&t| t).count() as i64
            });
            assert_exact(&got, &want, &what("bool sum"));
            let got = eval::<f64>(&x.mean(ax(), false).unwrap());
            let want = reduce_ref(&b, axes.as_deref(), false, |v| {
                v.iter().filter(|&&t| t).count() as f64 / v.len() as f64
            });
            assert_close(&got, &want, RTOL_F64, &what("bool mean"));
            let got = eval::<bool>(&x.any(ax(), true).unwrap());
            assert_exact(
                &got,
                &reduce_ref(&b, axes.as_deref(), true, |v| v.iter().any(|&t| t)),
                &what("bool any"),
            );
            // f32 reductions stay f32.
            let got = eval::<f32>(&y.sum(ax(), false).unwrap());
            let want = reduce_ref(&f64v, axes.as_deref(), false, |v| {
                v.iter().sum::<f64>() as f32
            });
            assert_close_f32(&got, &want, &what("f32 sum"));
            let got = eval::<f32>(&y.mean(ax(), false).unwrap());
            let want = reduce_ref(&f64v, axes.as_deref(), false, |v| mean(v) as f32);
            assert_close_f32(&got, &want, &what("f32 mean"));
            let got = eval::<f32>(&y.std(ax(), 1, false).unwrap());
            let want = reduce_ref(&f64v, axes.as_deref(), false, |v| var(v, 1).sqrt() as f32);
            assert_close_f32(&got, &want, &what("f32 std"));
            let got = eval::<f32>(&y.max(ax(), false).unwrap());
            let want = reduce_ref(&f, axes.as_deref(), false, |v| {
                v.iter().copied().fold(f32::MIN, f32::max)
            });
            assert_exact(&got, &want, &what("f32 max"));
        }
    }
}

/// NumPy's `argmin`: the first NaN if there is one, else the first minimum.
fn first_arg(v: &[f64], max: bool, skip_nan: bool) -> i64 {
    if !skip_nan {
        if let Some(i) = v.iter().position(|x| x.is_nan()) {
            return i as i64;
        }
    }
    let mut best: Option<(usize, f64)> = None;
    for (i, &x) in v.iter().enumerate() {
        if x.is_nan() {
            continue;
        }
        let better = match best {
            None => true,
            Some((_, b)) => (max && x > b) || (!max && x < b),
        };
        if better {
            best = Some((i, x));
        }
    }
    best.expect("a non-NaN value").0 as i64
}

#[test]
fn arg_reductions_break_ties_like_numpy() {
    // Few distinct values: many ties, first occurrence wins; NaN data for argmin
    // (the first NaN wins) and nanargmin (NaN skipped, no all-NaN slice).
    let ints = data_i32(&SHAPE, 46, 0, 3);
    let intsf = ints.mapv(|v| v as f64);
    let nans = with_nans(&data_i32(&SHAPE, 47, 0, 4).mapv(|v| v as f64), 48, 0.15);
    for (c_name, c) in chunkings(&SHAPE) {
        let xi = arr(&ints, c.clone());
        let xn = arr(&nans, c);
        for axis in [None, Some(0), Some(1), Some(2), Some(-1), Some(-3)] {
            let axes: Option<Vec<isize>> = axis.map(|a| vec![a]);
            let what = |op: &str| format!("{op} axis={axis:?} {c_name}");
            let r = |d: &ArrayD<f64>, max: bool, skip: bool| {
                reduce_ref(d, axes.as_deref(), false, |v| first_arg(v, max, skip))
            };
            assert_exact(
                &eval::<i64>(&xi.argmin(axis).unwrap()),
                &r(&intsf, false, false),
                &what("argmin i32"),
            );
            assert_exact(
                &eval::<i64>(&xi.argmax(axis).unwrap()),
                &r(&intsf, true, false),
                &what("argmax i32"),
            );
            assert_exact(
                &eval::<i64>(&xn.argmin(axis).unwrap()),
                &r(&nans, false, false),
                &what("argmin nan"),
            );
            assert_exact(
                &eval::<i64>(&xn.argmax(axis).unwrap()),
                &r(&nans, true, false),
                &what("argmax nan"),
            );
            let skip_ok = reduce_ref(&nans, axes.as_deref(), false, |v| finite(v).is_empty());
            if skip_ok.iter().any(|&empty| empty) {
                continue; // an all-NaN slice: checked in nanarg_of_all_nan_slice_is_an_error
            }
            assert_exact(
                &eval::<i64>(&xn.nanargmin(axis).unwrap()),
                &r(&nans, false, true),
                &what("nanargmin"),
            );
            assert_exact(
                &eval::<i64>(&xn.nanargmax(axis).unwrap()),
                &r(&nans, true, true),
                &what("nanargmax"),
            );
        }
    }
}

#[test]
fn nanarg_of_all_nan_slice_is_an_error() {
    let mut a = data_f64(&[4, 3], 49, 0.0, 1.0);
    a[[2, 0]] = f64::NAN;
    a[[2, 1]] = f64::NAN;
    a[[2, 2]] = f64::NAN;
    for (c_name, c) in chunkings(&[4, 3]) {
        let x = arr(&a, c);
        let err = x.nanargmin(Some(1)).unwrap().compute().unwrap_err();
        assert!(
            matches!(&err, Error::Compute(m) if m.contains("All-NaN slice")),
            "{c_name}: {err}"
        );
        // Along the other axis there is a non-NaN value everywhere.
        let got = eval::<i64>(&x.nanargmax(Some(0)).unwrap());
        let want = reduce_ref(&a, Some(&[0][..]), false, |v| first_arg(v, true, true));
        assert_exact(&got, &want, c_name);
    }
}

#[test]
fn many_chunks_use_multi_level_trees() {
    // 40 x 17 chunks: more than the tree's fan-in (16) along both axes.
    let shape = [40, 34];
    let a = with_nans(&data_f64(&shape, 50, -1.0, 1.0), 51, 0.05);
    let x = arr(&a, [1, 2].into());
    for axes in [None, Some(vec![0]), Some(vec![1])] {
        let ax = || axes_of(&axes);
        let what = |op: &str| format!("{op} axes={axes:?}");
        let got = eval::<f64>(&x.nansum(ax(), false).unwrap());
        let want = reduce_ref(&a, axes.as_deref(), false, |v| finite(v).iter().sum());
        assert_close(&got, &want, RTOL_F64, &what("nansum"));
        let got = eval::<f64>(&x.nanvar(ax(), 1, true).unwrap());
        let want = reduce_ref(&a, axes.as_deref(), true, |v| var(&finite(v), 1));
        assert_close(&got, &want, RTOL_F64, &what("nanvar"));
        let got = eval::<f64>(&x.nanmin(ax(), false).unwrap());
        let want = reduce_ref(&a, axes.as_deref(), false, |v| skip_nan(v, nan_min));
        assert_exact(&got, &want, &what("nanmin"));
        let got = eval::<i64>(&x.count(ax(), false).unwrap());
        let want = reduce_ref(&a, axes.as_deref(), false, |v| finite(v).len() as i64);
        assert_exact(&got, &want, &what("count"));
    }
    let got = eval::<i64>(&x.nanargmax(None).unwrap());
    assert_eq!(
        got[[]],
        first_arg(a.as_slice().unwrap(), true, true),
        "nanargmax flat"
    );
}

#[test]
fn reductions_of_fused_and_broadcast_expressions() {
    let a = data_f64(&[6, 5], 52, -1.0, 1.0);
    let b = data_f64(&[5], 53, -1.0, 1.0);
    for (c_name, c) in chunkings(&[6, 5]) {
        let x = arr(&a, c);
        let y = arr(&b, vec![vec![2, 3]].into());
        let e = (&(&x * &y) + 1.0).mean(Some(-1), true).unwrap();
        let prod = zip_bc(&a, &b, |p, q| p * q + 1.0);
        let want = reduce_ref(&prod, Some(&[-1][..]), true, mean);
        assert_close(
            &eval::<f64>(&e),
            &want,
            RTOL_F64,
            &format!("mean(x*y+1) {c_name}"),
        );
        // Anomaly: x - x.mean(axis=0), then its std (dask's classic).
        let anom = &x - &x.mean(Some(0), false).unwrap();
        let got = eval::<f64>(&anom.std(None, 0, false).unwrap());
        let m0 = reduce_ref(&a, Some(&[0][..]), false, mean);
        let an = zip_bc(&a, &m0, |p, q| p - q);
        let want = reduce_ref(&an, None, false, |v| var(v, 0).sqrt());
        assert_close(&got, &want, RTOL_F64, &format!("std(anomaly) {c_name}"));
    }
}

#[test]
fn empty_reductions_have_identities() {
    let x = zeros(&[0, 3], 2).unwrap();
    assert_exact(
        &eval::<f64>(&x.sum(Some(0), false).unwrap()),
        &ArrayD::zeros(IxDyn(&[3])),
        "sum of empty",
    );
    assert_exact(
        &eval::<f64>(&x.prod(None, false).unwrap()),
        &ArrayD::from_elem(IxDyn(&[]), 1.0),
        "prod of empty",
    );
    assert_exact(
        &eval::<i64>(&x.count(Some(0), false).unwrap()),
        &ArrayD::zeros(IxDyn(&[3])),
        "count of empty",
    );
    assert_exact(
        &eval::<bool>(&x.all(None, false).unwrap()),
        &ArrayD::from_elem(IxDyn(&[]), true),
        "all of empty",
    );
    assert_exact(
        &eval::<bool>(&x.any(None, false).unwrap()),
        &ArrayD::from_elem(IxDyn(&[]), false),
        "any of empty",
    );
    let m = eval::<f64>(&x.mean(Some(0), false).unwrap());
    assert!(
        m.iter().all(|v| v.is_nan()) && m.len() == 3,
        "mean of empty is NaN: {m:?}"
    );
    // Reducing the non-empty axis keeps the empty one.
    assert_eq!(eval::<f64>(&x.max(Some(1), false).unwrap()).shape(), &[0]);
}
