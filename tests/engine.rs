//! The in-process engine: chunks are freed after their last consumer, culled tasks
//! never run, and a plan over the memory limit is refused before it starts.

use chunkwise::prelude::*;
use chunkwise::session::{Config, Session};
use ndarray::ArrayD;

fn session(threads: usize, limit: u64) -> Session {
    Session::new(Config {
        threads,
        memory_limit: limit,
        shuffle_seed: None,
    })
    .unwrap()
}

#[test]
fn chunks_are_freed_after_their_last_consumer() {
    // 64 chunks of 500x500 f64 (2 MB each, 128 MB in all) read from memory, each
    // consumed by one fused partial sum. With a 32 MiB limit the engine sizes its
    // waves to a quarter of it, so it only gets through by freeing each source chunk
    // as soon as its partial sum ran.
    let data = ArrayD::from_shape_fn(vec![4000, 4000], |ix| (ix[0] * 4000 + ix[1]) as f64);
    let x = from_ndarray(&data, [500, 500]).unwrap();
    let y = (&x + 1.0).sum(None, false).unwrap();
    let s = session(2, 32 << 20);
    let (chunks, stats) = s.compute_chunks(y.expr().unwrap()).unwrap();
    let n = 4000.0 * 4000.0;
    let expected = (n - 1.0) * n / 2.0 + n;
    assert_eq!(chunks[0].to_f64()[[]], expected);
    let chunk_bytes = 500 * 500 * 8;
    let all = 64 * chunk_bytes as u64;
    assert!(
        stats.peak_bytes > 0,
        "the source chunks were held at some point"
    );
    assert!(
        stats.peak_bytes <= 16 << 20,
        "peak {} bytes (all sources: {all}): chunks were not freed",
        stats.peak_bytes
    );
}

#[test]
fn culled_tasks_do_not_run() {
    let x = random::random(&[8000, 8000], [1000, 1000], 3).unwrap();
    let y = x
        .sum(Some(1), false)
        .unwrap()
        .slice(&[Idx::from(2500..2600)])
        .unwrap();
    let s = session(2, 16 << 30);
    let (_, stats) = s.compute_chunks(y.expr().unwrap()).unwrap();
    // One row block of 8 partials, its combine, the slice and the squeeze.
    assert_eq!(stats.tasks_run, 11);
}

#[test]
fn a_plan_over_the_limit_is_refused_with_both_numbers() {
    let s = session(2, 64 << 20);
    let big = ones(&[10_000, 10_000], 1000).unwrap(); // 800 MB result
    let err = big.compute_with(&s).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::ResourcesExhausted(_)), "{err}");
    assert!(
        msg.contains("762.9 MiB") && msg.contains("64.0 MiB"),
        "{msg}"
    );
    assert!(
        msg.contains("rechunk") && msg.contains("CHUNKWISE_MEMORY_LIMIT"),
        "{msg}"
    );
    // The same data reduced fits easily.
    let total = big.sum(None, false).unwrap().compute_with(&s).unwrap();
    assert_eq!(total.to_f64()[[]], 1e8);
}

#[test]
fn results_do_not_depend_on_threads_or_task_order() {
    let x = random::normal(
        0.0,
        1.0,
        &[3000, 2000],
        vec![vec![700, 800, 1500], vec![333, 667, 1000]],
        9,
    )
    .unwrap();
    let y = (&x * &x.sin()).var(Some(0), 1, false).unwrap();
    let reference = y.compute_with(&session(1, 16 << 30)).unwrap().to_f64();
    for (threads, seed) in [(2, Some(1)), (3, Some(7)), (4, None)] {
        let s = Session::new(Config {
            threads,
            memory_limit: 16 << 30,
            shuffle_seed: seed,
        })
        .unwrap();
        let got = y.compute_with(&s).unwrap().to_f64();
        let same = got
            .iter()
            .zip(reference.iter())
            .all(|(a, b)| a.to_bits() == b.to_bits());
        assert!(same, "threads {threads}, shuffle {seed:?} changed the bits");
    }
}
