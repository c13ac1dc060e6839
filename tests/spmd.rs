//! The same results on any number of ranks: every array operation computed by a
//! session over MPI (`mpirun -n 1..4`, oversubscribed) must give bitwise the same
//! chunks as the in-process engine, and match an eager `ndarray` reference; and an
//! error on one rank must reach every rank as the same error.
//!
//! Each `*_on_N_ranks` test launches this test binary under `mpirun -n N` (through
//! the harness, with a timeout) running only the ignored test `spmd_worker`. Every
//! rank checks every case and prints one line when all its checks pass.

mod common;
mod util;

use chunkwise::comm::{Comm, MpiComm};
use chunkwise::kernel::wire;
use chunkwise::prelude::*;
use chunkwise::session::{Config, Session};
use common::*;
use ndarray::{ArrayD, Axis, IxDyn};
use std::rc::Rc;

/// Set for the ranks launched by the tests below.
const WORKER_ENV: &str = "CHUNKWISE_SPMD_WORKER_RANKS";

fn launch(ranks: usize) {
    let n = ranks.to_string();
    let out = util::mpirun_worker(ranks, "spmd_worker", &[(WORKER_ENV, n.as_str())]);
    out.assert_success();
    for r in 0..ranks {
        let line = format!("spmd checks passed on rank {r} of {ranks}");
        assert!(
            out.stdout.contains(&line),
            "missing {line:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            out.stdout,
            out.stderr
        );
    }
    // The injected failure: every rank printed the same error, naming the chunk
    // and the rank it happened on.
    let errors = util::lines_starting_with(&out.stdout, "injected error: ");
    assert_eq!(
        errors.len(),
        ranks,
        "one error line per rank:\n{}",
        out.stdout
    );
    assert!(errors.iter().all(|e| *e == errors[0]), "{errors:#?}");
    let victim = ranks - 1;
    assert!(
        errors[0].contains("chunk [5]") && errors[0].contains("failing on purpose"),
        "{}",
        errors[0]
    );
    if ranks > 1 {
        assert!(
            errors[0].contains(&format!("on rank {victim} of {ranks}")),
            "{}",
            errors[0]
        );
    }
}

#[test]
fn same_results_on_1_rank() {
    launch(1);
}

#[test]
fn same_results_on_2_ranks() {
    launch(2);
}

#[test]
fn same_results_on_3_ranks() {
    launch(3);
}

#[test]
fn same_results_on_4_ranks() {
    launch(4);
}

/// A named lazy array and its eager reference (as f64, `None` to skip it).
type Case = (String, Array, Option<ArrayD<f64>>);

fn as_f64(c: &Chunk) -> ArrayD<f64> {
    c.to_f64()
}

/// The operations of the foundation, on data spread over several chunks.
fn cases() -> Vec<Case> {
    let mut v: Vec<Case> = Vec::new();
    let shape = [7usize, 6];
    let data = data_f64(&shape, 1, -2.0, 2.0);
    let irregular = ChunkSpec::PerDim(vec![
        DimChunks::Explicit(vec![2, 3, 2]),
        DimChunks::Explicit(vec![1, 4, 1]),
    ]);
    let x = from_ndarray(&data, irregular).unwrap();
    let y = from_ndarray(&data.mapv(|a| a * 0.5 + 3.0), 2).unwrap();
    let xs = data.clone();
    let ys = data.mapv(|a| a * 0.5 + 3.0);

    // Creation.
    v.push((
        "zeros".into(),
        zeros(&[5, 4], 2).unwrap(),
        Some(ArrayD::zeros(IxDyn(&[5, 4]))),
    ));
    v.push((
        "full".into(),
        full(&[3, 5], 2.5, 2).unwrap(),
        Some(ArrayD::from_elem(IxDyn(&[3, 5]), 2.5)),
    ));
    v.push((
        "arange".into(),
        arange(0, 17, 3, 2).unwrap(),
        Some(ArrayD::from_shape_fn(IxDyn(&[6]), |i| (3 * i[0]) as f64)),
    ));
    v.push(("linspace".into(), linspace(0.0, 1.0, 11, 3).unwrap(), None));
    v.push((
        "random".into(),
        random::random(&[9, 8], [4, 3], 7).unwrap(),
        None,
    ));
    v.push((
        "normal".into(),
        random::normal(1.0, 2.0, &[9, 8], [4, 3], 8).unwrap(),
        None,
    ));
    v.push(("from_ndarray".into(), x.clone(), Some(xs.clone())));

    // Elementwise, with broadcasting, scalars and unified chunks.
    v.push(("add".into(), &x + &y, Some(&xs + &ys)));
    v.push(("sub".into(), &x - 1.5, Some(xs.mapv(|a| a - 1.5))));
    v.push(("mul".into(), &x * &y, Some(&xs * &ys)));
    v.push(("div".into(), &y / &x, Some(&ys / &xs)));
    v.push((
        "pow".into(),
        y.pow(1.5).unwrap(),
        Some(ys.mapv(|a| a.powf(1.5))),
    ));
    v.push((
        "neg abs sqrt".into(),
        (-&x).abs().sqrt(),
        Some(xs.mapv(|a| a.abs().sqrt())),
    ));
    v.push((
        "exp log".into(),
        y.exp().log(),
        Some(ys.mapv(|a| a.exp().ln())),
    ));
    v.push((
        "sin cos".into(),
        x.sin() + x.cos(),
        Some(xs.mapv(|a| a.sin() + a.cos())),
    ));
    v.push((
        "where greater".into(),
        where_(&x.greater(0.0).unwrap(), &x, 0.0),
        Some(xs.mapv(|a| if a > 0.0 { a } else { 0.0 })),
    ));
    let with_nan = where_(&x.greater(1.0).unwrap(), f64::NAN, &x);
    v.push((
        "isnan fillna clip".into(),
        with_nan.fillna(-9.0).clip(-1.0, 1.0) + with_nan.isnan().astype(DType::F64),
        None,
    ));
    let row = from_ndarray(&ArrayD::from_shape_fn(IxDyn(&[6]), |i| i[0] as f64), 4).unwrap();
    v.push(("broadcast row".into(), &x * &row, None));

    // Reductions.
    for axes in [None, Some(vec![0]), Some(vec![1]), Some(vec![0, 1])] {
        let ax = || match &axes {
            None => Axes::All,
            Some(a) => Axes::Some(a.iter().map(|&k| k as isize).collect()),
        };
        let tag = format!("{axes:?}");
        v.push((format!("sum {tag}"), x.sum(ax(), false).unwrap(), None));
        v.push((
            format!("mean keepdims {tag}"),
            x.mean(ax(), true).unwrap(),
            None,
        ));
        v.push((format!("var {tag}"), x.var(ax(), 1, false).unwrap(), None));
        v.push((format!("std {tag}"), x.std(ax(), 0, false).unwrap(), None));
        v.push((format!("min {tag}"), x.min(ax(), false).unwrap(), None));
        v.push((format!("max {tag}"), x.max(ax(), false).unwrap(), None));
        v.push((format!("prod {tag}"), y.prod(ax(), false).unwrap(), None));
        v.push((
            format!("count {tag}"),
            with_nan.count(ax(), false).unwrap(),
            None,
        ));
        v.push((
            format!("any {tag}"),
            x.greater(1.5).unwrap().any(ax(), false).unwrap(),
            None,
        ));
        v.push((
            format!("all {tag}"),
            x.greater(-1.9).unwrap().all(ax(), false).unwrap(),
            None,
        ));
        v.push((
            format!("nansum {tag}"),
            with_nan.nansum(ax(), false).unwrap(),
            None,
        ));
        v.push((
            format!("nanmean {tag}"),
            with_nan.nanmean(ax(), false).unwrap(),
            None,
        ));
        v.push((
            format!("nanstd {tag}"),
            with_nan.nanstd(ax(), 1, false).unwrap(),
            None,
        ));
        v.push((
            format!("nanmin {tag}"),
            with_nan.nanmin(ax(), false).unwrap(),
            None,
        ));
        v.push((
            format!("nanmax {tag}"),
            with_nan.nanmax(ax(), false).unwrap(),
            None,
        ));
    }
    for axis in [None, Some(0), Some(1)] {
        v.push((format!("argmin {axis:?}"), x.argmin(axis).unwrap(), None));
        v.push((format!("argmax {axis:?}"), x.argmax(axis).unwrap(), None));
        v.push((
            format!("nanargmax {axis:?}"),
            with_nan.nanargmax(axis).unwrap(),
            None,
        ));
    }
    let sum_all = x.sum(Axes::All, false).unwrap();
    v.push(("sum reference".into(), sum_all, None));

    // Structure.
    v.push(("transpose".into(), x.t(), Some(xs.t().to_owned())));
    v.push((
        "slice".into(),
        x.slice(&[
            Idx::slice(Some(6), None, -2),
            Idx::slice(Some(1), Some(5), 1),
        ])
        .unwrap(),
        None,
    ));
    v.push(("int index".into(), x.slice(&[Idx::Int(3)]).unwrap(), None));
    v.push((
        "concatenate".into(),
        concatenate(&[&x, &y], 0).unwrap(),
        Some(ndarray::concatenate(Axis(0), &[xs.view(), ys.view()]).unwrap()),
    ));
    v.push(("stack".into(), stack(&[&x, &y], 1).unwrap(), None));
    v.push(("reshape".into(), x.reshape(&[6, 7]).unwrap(), None));
    v.push(("rechunk".into(), x.rechunk(3).unwrap(), Some(xs.clone())));
    v.push(("matmul".into(), x.matmul(&y.t()).unwrap(), None));
    v.push((
        "map_blocks".into(),
        x.map_blocks(
            |c, _| Ok(Chunk::F64(c.to_f64().mapv(|a| a * 3.0))),
            DType::F64,
        ),
        Some(xs.mapv(|a| a * 3.0)),
    ));
    // The seed expression (paired blocks, a tree of partials over ranks).
    let r = random::random(&[40, 40], 7, 3).unwrap();
    v.push((
        "seed expression".into(),
        (&r + &r.t() - r.mean(Some(0), false).unwrap())
            .std(None, 0, false)
            .unwrap(),
        None,
    ));
    v
}

fn bytes_of(c: &Chunk) -> Vec<u8> {
    let mut b = Vec::new();
    wire::encode_chunk(c, &mut b);
    b
}

#[test]
#[ignore = "one rank of a job: launched under mpirun by the same_results_* tests"]
fn spmd_worker() {
    let Ok(expected) = std::env::var(WORKER_ENV) else {
        panic!("run through the same_results_* tests, which set {WORKER_ENV}");
    };
    let n: usize = expected.parse().expect("rank count");
    let comm = Rc::new(MpiComm::init().expect("MPI starts"));
    let r = comm.rank();
    assert_eq!(comm.size(), n);
    let config = Config {
        threads: 1,
        memory_limit: 4 << 30,
        shuffle_seed: None,
    };
    let mpi = Session::with_comm(config, comm.clone()).expect("session over MPI");
    let local = session(2, None);
    for (name, a, want) in cases() {
        let got = a
            .compute_with(&mpi)
            .unwrap_or_else(|e| panic!("{name} on rank {r} of {n}: {e}"));
        let one = a.compute_with(&local).unwrap();
        assert!(
            bytes_of(&got) == bytes_of(&one),
            "{name}: rank {r} of {n} differs from the in-process engine:\n{got:?}\nvs\n{one:?}"
        );
        if let Some(w) = want {
            assert_close(&as_f64(&got), &w, RTOL_F64, &format!("{name} on {n} ranks"));
        }
    }

    // The work is shared: each rank runs a part of the tasks, together all of them,
    // and values travel between ranks.
    let big = random::random(&[64, 64], 8, 1).unwrap();
    let e = (&big + &big.t() - big.mean(Some(0), false).unwrap())
        .std(None, 0, false)
        .unwrap();
    let planned = mpi.plan(e.expr().unwrap()).unwrap();
    let total = planned.lowered.graph.num_needed_tasks() as u64;
    let (_, stats) = mpi.compute_chunks(e.expr().unwrap()).unwrap();
    assert_eq!(
        comm.all_reduce_sum_u64(stats.tasks_run as u64).unwrap(),
        total
    );
    if n > 1 {
        assert!((stats.tasks_run as u64) < total, "rank {r} ran every task");
        assert!(comm.all_reduce_sum_u64(stats.messages_sent as u64).unwrap() > 0);
    }

    // A map_blocks closure that fails on chunk 5 of 6: owned by the last rank.
    let a = arange(0, 60, 1, 10).unwrap();
    let failing = a.map_blocks(
        |c, idx| {
            if idx == [5] {
                Err(chunkwise::Error::plan("failing on purpose"))
            } else {
                Ok(c.clone())
            }
        },
        DType::I64,
    );
    let err = failing
        .sum(None, false)
        .unwrap()
        .compute_with(&mpi)
        .expect_err("the injected failure must be an error on every rank");
    println!("\ninjected error: {err}");
    // The job goes on afterwards: the next computation works on every rank.
    let after = a.sum(None, false).unwrap().compute_with(&mpi).unwrap();
    assert_eq!(after.to_f64()[[]], (0..60).sum::<i64>() as f64);
    // Library mode: an installed session is what `compute()` uses.
    let installed = Session::with_comm(Config::default(), comm.clone())
        .unwrap()
        .install();
    assert_eq!(installed.comm().size(), n);
    let e = (&big * 2.0).sum(None, false).unwrap();
    let via_global = e.compute().unwrap();
    assert_eq!(
        bytes_of(&via_global),
        bytes_of(&e.compute_with(&local).unwrap())
    );
    println!("\nspmd checks passed on rank {r} of {n}");
}
