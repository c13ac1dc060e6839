//! Results do not depend on how the engine runs: the same expression computed with
//! 1, 2 or 4 threads and with shuffled task orders is bitwise identical, and random
//! arrays (counter-based, keyed by chunk) have the same values whether computed
//! whole, sliced, rechunked, transposed or persisted. Their statistics are checked
//! against the distributions they claim.

mod common;

use chunkwise::prelude::*;
use common::*;
use ndarray::ArrayD;

/// The sessions every determinism check runs on: thread counts and task orders.
fn sessions() -> Vec<(String, chunkwise::session::Session)> {
    [
        (1, None),
        (2, None),
        (4, None),
        (1, Some(1)),
        (2, Some(7)),
        (4, Some(12345)),
        (4, Some(u64::MAX)),
    ]
    .into_iter()
    .map(|(t, s)| (format!("threads={t} shuffle={s:?}"), session(t, s)))
    .collect()
}

/// Expressions with tree reductions, matmul, rechunks and slices over random data.
fn expressions() -> Vec<(&'static str, Array)> {
    let x = random::normal(0.0, 1.0, &[300, 200], [70, 45], 7).unwrap();
    let y = random::uniform(-1.0, 2.0, &[300, 200], [50, 60], 8).unwrap();
    let anom = &x - &x.mean(Some(0), false).unwrap();
    vec![
        ("x*y", &x * &y),
        (
            "std(anomaly*y, axis=1)",
            (&anom * &y).std(Some(1), 1, false).unwrap(),
        ),
        ("x @ y.T", x.matmul(&y.t()).unwrap()),
        (
            "sum(x[::-3, 5:])",
            x.slice(&[Idx::slice(None, None, -3), Idx::from(5isize..)])
                .unwrap()
                .sum(None, false)
                .unwrap(),
        ),
        (
            "nanvar(rechunk(x))",
            x.rechunk([13, 17])
                .unwrap()
                .nanvar(Some(0), 0, true)
                .unwrap(),
        ),
        ("mean(x + x)", (&x + &y).mean(None, false).unwrap()),
        (
            "argmax(x, 0)",
            x.argmax(Some(0)).unwrap().astype(DType::F64),
        ),
        (
            "prod(1 + x/100)",
            (&(&x / 100.0) + 1.0).prod(Some(-1), false).unwrap(),
        ),
    ]
}

#[test]
fn results_are_bitwise_identical_across_threads_and_task_orders() {
    let sessions = sessions();
    for (name, e) in expressions() {
        let first = eval_with::<f64>(&e, &sessions[0].1);
        for (s_name, s) in &sessions[1..] {
            for _ in 0..2 {
                let again = eval_with::<f64>(&e, s);
                assert_bits_equal(&again, &first, &format!("{name} with {s_name}"));
            }
        }
    }
}

#[test]
fn random_arrays_do_not_depend_on_execution_order() {
    let sessions = sessions();
    let x = random::random(&[123, 77], [10, 20], 99).unwrap();
    let n = random::normal(5.0, 3.0, &[50, 40, 3], [7, 9, 2], 3).unwrap();
    let want_x = eval_with::<f64>(&x, &sessions[0].1);
    let want_n = eval_with::<f64>(&n, &sessions[0].1);
    for (s_name, s) in &sessions[1..] {
        assert_bits_equal(
            &eval_with::<f64>(&x, s),
            &want_x,
            &format!("random {s_name}"),
        );
        assert_bits_equal(
            &eval_with::<f64>(&n, s),
            &want_n,
            &format!("normal {s_name}"),
        );
    }
    // Same seed and chunks: same values; another seed: different values.
    let same = random::random(&[123, 77], [10, 20], 99).unwrap();
    assert_bits_equal(&eval::<f64>(&same), &want_x, "same seed");
    let other = eval::<f64>(&random::random(&[123, 77], [10, 20], 100).unwrap());
    assert!(
        other.iter().zip(&want_x).filter(|(a, b)| a == b).count() < 5,
        "another seed"
    );
    // Chunks are not copies of each other.
    let c00 = want_x.slice(ndarray::s![0..10, 0..20]).to_owned();
    let c01 = want_x.slice(ndarray::s![0..10, 20..40]).to_owned();
    let c10 = want_x.slice(ndarray::s![10..20, 0..20]).to_owned();
    assert!(c00 != c01 && c00 != c10, "two chunks hold the same numbers");
}

#[test]
fn random_values_lie_in_range_with_the_right_moments() {
    let shape = [1000, 1000];
    let x = eval::<f64>(&random::random(&shape, [300, 250], 11).unwrap());
    assert!(
        x.iter().all(|&v| (0.0..1.0).contains(&v)),
        "random outside [0, 1)"
    );
    // Mean 1/2 and variance 1/12; the standard error with 1e6 samples is ~3e-4.
    let m = x.mean().unwrap();
    assert!((m - 0.5).abs() < 3e-3, "mean of random = {m}");
    let v = x.var(0.0);
    assert!((v - 1.0 / 12.0).abs() < 2e-3, "variance of random = {v}");
    // The lazy mean agrees with the eager one.
    let lazy = eval::<f64>(
        &random::random(&shape, [300, 250], 11)
            .unwrap()
            .mean(None, false)
            .unwrap(),
    );
    assert!(
        close(lazy[[]], m, RTOL_F64),
        "lazy mean {} vs {m}",
        lazy[[]]
    );
    // Deciles hold about a tenth each.
    for k in 0..10 {
        let lo = k as f64 / 10.0;
        let frac = x.iter().filter(|&&v| v >= lo && v < lo + 0.1).count() as f64 / x.len() as f64;
        assert!((frac - 0.1).abs() < 3e-3, "decile {k} holds {frac}");
    }
    let u = eval::<f64>(&random::uniform(-3.0, 5.0, &shape, 400, 12).unwrap());
    assert!(
        u.iter().all(|&v| (-3.0..5.0).contains(&v)),
        "uniform outside [-3, 5)"
    );
    let m = u.mean().unwrap();
    assert!((m - 1.0).abs() < 0.03, "mean of uniform(-3, 5) = {m}");
    let n = eval::<f64>(&random::normal(3.0, 2.0, &shape, [500, 1000], 13).unwrap());
    let (m, s) = (n.mean().unwrap(), n.std(0.0));
    assert!((m - 3.0).abs() < 0.02, "mean of normal(3, 2) = {m}");
    assert!((s - 2.0).abs() < 0.02, "std of normal(3, 2) = {s}");
    // About 68.3% within one standard deviation.
    let within = n.iter().filter(|&&v| (v - 3.0).abs() < 2.0).count() as f64 / n.len() as f64;
    assert!((within - 0.6827).abs() < 3e-3, "P(|z| < 1) = {within}");
}

#[test]
fn a_slice_of_a_random_array_is_the_slice_of_its_values() {
    let shape = [45, 38];
    for (c_name, c) in chunkings(&shape) {
        for x in [
            random::random(&shape, c.clone(), 21).unwrap(),
            random::normal(-1.0, 0.5, &shape, c.clone(), 22).unwrap(),
        ] {
            let whole = eval::<f64>(&x);
            let cases = vec![
                vec![Idx::from(3isize..17), Idx::from(30isize..)],
                vec![Idx::slice(None, None, -1), Idx::slice(Some(5), None, 7)],
                vec![Idx::Int(44), Idx::NewAxis],
                vec![Idx::Ellipsis, Idx::Int(-3)],
                vec![
                    Idx::slice(Some(-2), Some(2), -5),
                    Idx::slice(Some(1), Some(2), 1),
                ],
            ];
            for idx in cases {
                let got = eval::<f64>(&x.slice(&idx).unwrap());
                assert_bits_equal(&got, &np_index(&whole, &idx), &format!("{c_name} {idx:?}"));
            }
            // Rechunked, transposed, persisted: the same numbers.
            let r = eval::<f64>(&x.rechunk([4, 11]).unwrap());
            assert_bits_equal(&r, &whole, &format!("rechunk {c_name}"));
            let t = eval::<f64>(&x.t().rechunk([6, 5]).unwrap());
            assert_bits_equal(
                &t,
                &whole.t().to_owned(),
                &format!("x.T rechunked {c_name}"),
            );
            let p = eval::<f64>(&x.persist().unwrap().slice(&[Idx::Int(2)]).unwrap());
            assert_bits_equal(
                &p,
                &np_index(&whole, &[Idx::Int(2)]),
                &format!("persist {c_name}"),
            );
            // A slice, then arithmetic with the whole array.
            let s = x.slice(&[Idx::from(0isize..1)]).unwrap();
            let got = eval::<f64>(&(&x - &s));
            let row0 = np_index(&whole, &[Idx::from(0isize..1)]);
            let want: ArrayD<f64> = zip_bc(&whole, &row0, |a, b| a - b);
            assert_bits_equal(&got, &want, &format!("x - x[0:1] {c_name}"));
        }
    }
}
