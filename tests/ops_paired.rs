//! Reductions over both axes of `f(x, x.T)` with `x` random: the plan pairs blocks
//! `(i, j)` and `(j, i)` into one task (`PairTransposedReads`). Every case checks
//! that the pairing happened (or, for the cases it must not touch, that it did not)
//! and compares the result with an eager `ndarray` reference computed from `x`'s
//! values.

mod common;

use chunkwise::prelude::*;
use common::*;
use ndarray::{ArrayD, Axis, Ix2, IxDyn};

fn explicit(dims: &[&[usize]]) -> ChunkSpec {
    ChunkSpec::PerDim(
        dims.iter()
            .map(|d| DimChunks::Explicit(d.to_vec()))
            .collect(),
    )
}

fn is_paired(a: &Array) -> bool {
    a.explain().unwrap().contains("blocks paired")
}

/// Square chunkings: regular, a short last block, irregular, and size-1 blocks.
fn square_chunkings() -> Vec<(usize, ChunkSpec)> {
    vec![
        (9, ChunkSpec::Uniform(3)),
        (12, ChunkSpec::Uniform(5)),
        (7, explicit(&[&[3, 1, 3], &[3, 1, 3]])),
        (4, ChunkSpec::Uniform(1)),
    ]
}

type Reduction = fn(&Array) -> Result<Array>;
/// A named reduction over all axes and its reference on the values.
type Case = (&'static str, Reduction, fn(&[f64]) -> f64);

fn reductions() -> Vec<Case> {
    vec![
        ("sum", |y| y.sum(Axes::All, false), |v| v.iter().sum()),
        ("mean", |y| y.mean(Axes::All, false), mean),
        ("var0", |y| y.var(Axes::All, 0, false), |v| var(v, 0)),
        ("std1", |y| y.std(Axes::All, 1, false), |v| var(v, 1).sqrt()),
        (
            "min",
            |y| y.min(Axes::All, false),
            |v| v.iter().copied().fold(f64::INFINITY, f64::min),
        ),
        (
            "max",
            |y| y.max(Axes::All, false),
            |v| v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        ),
        ("prod", |y| y.prod(Axes::All, false), |v| v.iter().product()),
    ]
}

fn nan_reductions() -> Vec<Case> {
    vec![
        (
            "nansum",
            |y| y.nansum(Axes::All, false),
            |v| finite(v).iter().sum(),
        ),
        (
            "nanmean",
            |y| y.nanmean(Axes::All, false),
            |v| mean(&finite(v)),
        ),
        (
            "nanvar1",
            |y| y.nanvar(Axes::All, 1, false),
            |v| var(&finite(v), 1),
        ),
        (
            "nanmax",
            |y| y.nanmax(Axes::All, false),
            |v| finite(v).iter().copied().fold(f64::NEG_INFINITY, f64::max),
        ),
    ]
}

fn scalar(a: &Array) -> f64 {
    let v = eval::<f64>(a);
    v.iter().next().copied().unwrap()
}

#[test]
fn seed_expression_pairs_blocks_and_matches_reference() {
    for (n, chunks) in square_chunkings() {
        for dist in ["uniform", "normal"] {
            let x = match dist {
                "uniform" => random::random(&[n, n], chunks.clone(), 5).unwrap(),
                _ => random::normal(1.0, 2.0, &[n, n], chunks.clone(), 6).unwrap(),
            };
            let xv = eval::<f64>(&x).into_dimensionality::<Ix2>().unwrap();
            let mean0 = xv.mean_axis(Axis(0)).unwrap();
            let want = (&xv + &xv.t()) - &mean0;
            let y = &x + &x.t() - x.mean(Axes::Some(vec![0]), false).unwrap();
            let vals: Vec<f64> = want.iter().copied().collect();
            for (name, op, f) in reductions() {
                let r = op(&y).unwrap();
                let what = format!("{name} of x + x.T - x.mean(0), {dist} {n}x{n} {chunks:?}");
                assert!(
                    is_paired(&r),
                    "{what}: not paired:\n{}",
                    r.explain().unwrap()
                );
                let (g, w) = (scalar(&r), f(&vals));
                assert!(close(g, w, RTOL_F64), "{what}: got {g}, want {w}");
            }
        }
    }
}

#[test]
fn nan_reductions_of_paired_blocks_match_reference() {
    for (n, chunks) in square_chunkings() {
        let x = random::random(&[n, n], chunks.clone(), 11).unwrap();
        let xv = eval::<f64>(&x).into_dimensionality::<Ix2>().unwrap();
        // NaN where x > 0.7: the mirrored read sees NaN at other places.
        let masked = xv.mapv(|v| if v > 0.7 { f64::NAN } else { v });
        let want = &masked * 2.0 - xv.t();
        let y = where_(&x.greater(0.7).unwrap(), f64::NAN, &x) * 2.0 - &x.t();
        let vals: Vec<f64> = want.iter().copied().collect();
        for (name, op, f) in nan_reductions() {
            let r = op(&y).unwrap();
            let what = format!("{name}, {n}x{n} {chunks:?}");
            assert!(is_paired(&r), "{what}: not paired");
            let (g, w) = (scalar(&r), f(&vals));
            assert!(close(g, w, RTOL_F64), "{what}: got {g}, want {w}");
        }
        let c = y.count(Axes::All, false).unwrap();
        assert!(is_paired(&c));
        let got = eval::<i64>(&c).iter().next().copied().unwrap();
        assert_eq!(got, finite(&vals).len() as i64, "count, {n}x{n}");
    }
}

#[test]
fn three_d_pairs_keep_the_other_axis() {
    // Axes 0 and 2 have the same chunks; axis 1 is kept (two blocks).
    let chunks = explicit(&[&[2, 4], &[1, 2], &[2, 4]]);
    let x = random::random(&[6, 3, 6], chunks, 3).unwrap();
    let xv = eval::<f64>(&x);
    let xt = xv.clone().permuted_axes(IxDyn(&[2, 1, 0]));
    let want_y: ArrayD<f64> = &xv - &xt * 0.5;
    let y = &x - x.transpose(&[2, 1, 0]).unwrap() * 0.5;
    for keep in [false, true] {
        for (name, op, f) in [
            (
                "sum",
                Array::sum as fn(&Array, Axes, bool) -> Result<Array>,
                { |v: &[f64]| v.iter().sum::<f64>() } as fn(&[f64]) -> f64,
            ),
            ("mean", Array::mean, mean),
        ] {
            let r = op(&y, Axes::Some(vec![0, 2]), keep).unwrap();
            assert!(is_paired(&r), "{name} keepdims={keep}: not paired");
            let got = eval::<f64>(&r);
            let want = reduce_ref(&want_y, Some(&[0, 2]), keep, f);
            assert_close(
                &got,
                &want,
                RTOL_F64,
                &format!("3-D {name} keepdims={keep}"),
            );
        }
        let r = y.var(Axes::Some(vec![2, 0]), 1, keep).unwrap();
        assert!(is_paired(&r));
        let want = reduce_ref(&want_y, Some(&[0, 2]), keep, |v| var(v, 1));
        assert_close(&eval::<f64>(&r), &want, RTOL_F64, "3-D var1");
    }
}

#[test]
fn pairing_leaves_other_plans_alone() {
    let x = random::random(&[8, 8], 3, 1).unwrap();
    let y = &x + &x.t();
    // Positions matter for arg reductions; one reduced axis cannot merge partials;
    // no transposed read; constants cost nothing to regenerate.
    let cases: Vec<(&str, Array)> = vec![
        ("argmax", y.argmax(None).unwrap()),
        (
            "sum over axis 0",
            y.sum(Axes::Some(vec![0]), false).unwrap(),
        ),
        ("x * 2", (&x * 2.0).sum(Axes::All, false).unwrap()),
        ("single block", {
            let z = random::random(&[8, 8], 8, 1).unwrap();
            (&z + &z.t()).sum(Axes::All, false).unwrap()
        }),
        ("ones", {
            let o = ones(&[8, 8], 3).unwrap();
            (&o + &o.t()).sum(Axes::All, false).unwrap()
        }),
    ];
    for (what, a) in cases {
        assert!(
            !is_paired(&a),
            "{what} was paired:\n{}",
            a.explain().unwrap()
        );
    }
    // And the unpaired axis-0 sum is still right.
    let yv = eval::<f64>(&y);
    let got = eval::<f64>(&y.sum(Axes::Some(vec![0]), false).unwrap());
    let want = reduce_ref(&yv, Some(&[0]), false, |v| v.iter().sum());
    assert_close(&got, &want, RTOL_F64, "sum over axis 0");
}

#[test]
fn paired_results_are_bitwise_identical_across_threads_and_task_orders() {
    let x = random::random(&[60, 60], 7, 9).unwrap();
    let y = (&x + &x.t() - x.mean(Axes::Some(vec![0]), false).unwrap())
        .std(Axes::All, 0, false)
        .unwrap();
    assert!(is_paired(&y));
    let base = eval_with::<f64>(&y, &session(1, None));
    for (threads, shuffle) in [(2, None), (3, Some(1)), (2, Some(7))] {
        let got = eval_with::<f64>(&y, &session(threads, shuffle));
        assert_bits_equal(
            &got,
            &base,
            &format!("threads={threads} shuffle={shuffle:?}"),
        );
    }
}
