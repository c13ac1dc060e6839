//! `persist` under `mpirun -n 1..3`: each rank keeps the chunks it owns, and
//! later plans (reductions, slices, concatenations, arithmetic) read them
//! where they are, with the same bits as without persisting.

mod common;
#[path = "util/mod.rs"]
mod util;

use chunkwise::comm::MpiComm;
use chunkwise::prelude::*;
use chunkwise::session::{Config, Session};
use std::rc::Rc;

const WORKER_ENV: &str = "CHUNKWISE_PERSIST_WORKER";

/// Computations over `x`, as (name, array).
fn uses(x: &Array) -> Vec<(&'static str, Array)> {
    vec![
        ("sum", x.sum(None, false).unwrap()),
        ("mean over axis 0", (x + 1.0).mean(Some(0), false).unwrap()),
        (
            "slice",
            x.slice(&[Idx::from(3..29), Idx::slice(None, None, 2)])
                .unwrap(),
        ),
        (
            "concatenate with itself",
            concatenate(&[x, &x.neg()], 0)
                .unwrap()
                .std(Some(1), 0, false)
                .unwrap(),
        ),
        ("x + x.T", (x + &x.t()).max(None, false).unwrap()),
    ]
}

fn base() -> Array {
    random::random(&[30, 30], [7, 6], 11).unwrap()
}

fn hash(c: &chunkwise::kernel::Chunk) -> u64 {
    c.to_f64().iter().fold(0xcbf29ce484222325u64, |h, v| {
        (h ^ v.to_bits()).wrapping_mul(0x100000001b3)
    })
}

#[test]
#[ignore = "one rank of a job: launched under mpirun by the persist_on_* tests"]
fn persist_worker() {
    assert!(
        std::env::var(WORKER_ENV).is_ok(),
        "run through persist_on_*"
    );
    let comm = Rc::new(MpiComm::init().expect("MPI starts"));
    let s = Session::with_comm(
        Config {
            threads: 1,
            ..Config::default()
        },
        comm.clone(),
    )
    .unwrap();
    let x = base().persist_with(&s).unwrap();
    println!();
    for (name, a) in uses(&x) {
        let c = a.compute_with(&s).unwrap();
        println!("PERSIST {name}: {:016x}", hash(&c));
    }
}

fn launch(ranks: usize) {
    let out = util::mpirun_worker(ranks, "persist_worker", &[(WORKER_ENV, "1")]);
    out.assert_success();
    // The same computations without persisting, in one process.
    let s = common::session(2, None);
    for (name, a) in uses(&base()) {
        let line = format!(
            "PERSIST {name}: {:016x}",
            hash(&a.compute_with(&s).unwrap())
        );
        assert_eq!(
            out.stdout.matches(&line).count(),
            ranks,
            "every rank must print {line:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            out.stdout,
            out.stderr
        );
    }
}

#[test]
fn persist_on_1_rank() {
    launch(1);
}

#[test]
fn persist_on_2_ranks() {
    launch(2);
}

#[test]
fn persist_on_3_ranks() {
    launch(3);
}

#[test]
fn persisted_in_one_session_and_used_in_it() {
    let s = common::session(2, None);
    let x = base().persist_with(&s).unwrap();
    for ((name, a), (_, b)) in uses(&x).into_iter().zip(uses(&base())) {
        assert_eq!(
            hash(&a.compute_with(&s).unwrap()),
            hash(&b.compute_with(&s).unwrap()),
            "{name}"
        );
    }
}
