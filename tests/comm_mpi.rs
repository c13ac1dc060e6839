//! `MpiComm`'s collectives on real MPI jobs of 1 to 4 ranks.
//!
//! Each `mpi_collectives_on_N_ranks` test launches this very test binary
//! under `mpirun -n N` (through the harness, with a timeout), running only
//! the ignored test `rank_worker`: every rank checks each collective against
//! values computed here from the rank count alone, and prints one line when
//! all its checks pass.

mod util;

use chunkwise::comm::{Comm, MpiComm, ThreadLevel};

/// Set for the ranks launched by the tests below.
const WORKER_ENV: &str = "CHUNKWISE_COMM_WORKER_RANKS";

fn launch(ranks: usize) {
    let exe = std::env::current_exe().expect("path of this test binary");
    let expected = ranks.to_string();
    let out = util::mpirun_program(
        ranks,
        &exe,
        &[
            "rank_worker",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ],
        &[(WORKER_ENV, expected.as_str())],
    );
    out.assert_success();
    for r in 0..ranks {
        let line = format!("comm checks passed on rank {r} of {ranks}");
        assert!(
            out.stdout.contains(&line),
            "missing {line:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            out.stdout,
            out.stderr
        );
    }
}

#[test]
fn mpi_collectives_on_1_rank() {
    launch(1);
}

#[test]
fn mpi_collectives_on_2_ranks() {
    launch(2);
}

#[test]
fn mpi_collectives_on_3_ranks() {
    launch(3);
}

#[test]
fn mpi_collectives_on_4_ranks() {
    launch(4);
}

/// What one rank of the job contributes to the all-gather: rank `r` sends
/// `3r` bytes of value `r` (rank 0 sends nothing).
fn contribution(r: usize) -> Vec<u8> {
    vec![r as u8; 3 * r]
}

#[test]
#[ignore = "one rank of a job: launched under mpirun by the mpi_collectives_* tests"]
fn rank_worker() {
    let Ok(expected) = std::env::var(WORKER_ENV) else {
        panic!("run through the mpi_collectives_* tests, which set {WORKER_ENV}");
    };
    let n: usize = expected.parse().expect("rank count");
    let comm = MpiComm::init().expect("MPI starts");
    assert!(comm.thread_level() >= ThreadLevel::Funneled);
    let r = comm.rank();
    assert_eq!(comm.size(), n);
    assert!(r < n);

    // One machine: one node holding every rank, in world order.
    let node = comm.node();
    assert_eq!((node.node_index, node.node_count), (0, 1));
    assert_eq!((node.local_rank, node.local_size), (r, n));

    let n64 = n as u64;
    assert_eq!(
        comm.all_reduce_sum_u64(r as u64 + 1).unwrap(),
        n64 * (n64 + 1) / 2
    );
    assert_eq!(comm.all_reduce_max_u64(r as u64).unwrap(), n64 - 1);
    assert!(comm.any(r == n - 1).unwrap());
    assert!(!comm.any(false).unwrap());

    // Broadcast from the last rank; the others start with other lengths.
    let root = n - 1;
    let payload: Vec<u8> = (0..1000 + root).map(|i| (i * 7 % 251) as u8).collect();
    let mut buf = if r == root {
        payload.clone()
    } else {
        vec![0xAB; r * 5]
    };
    comm.broadcast_bytes(root, &mut buf).unwrap();
    assert_eq!(buf, payload);
    // An empty broadcast empties every buffer.
    let mut empty = if r == 0 { Vec::new() } else { vec![1, 2, 3] };
    comm.broadcast_bytes(0, &mut empty).unwrap();
    assert!(empty.is_empty());

    let gathered = comm.all_gather_bytes(&contribution(r)).unwrap();
    let want: Vec<Vec<u8>> = (0..n).map(contribution).collect();
    assert_eq!(gathered, want);

    // A root outside the job is an error on every rank, and the job goes on.
    let err = comm.broadcast_bytes(n, &mut buf).unwrap_err();
    assert!(matches!(err, chunkwise::Error::Comm(_)), "{err}");
    comm.barrier().unwrap();
    assert_eq!(comm.all_reduce_sum_u64(1).unwrap(), n64);

    // Its own line, even if another rank's test output is mid-line.
    println!("\ncomm checks passed on rank {r} of {n}");
}
