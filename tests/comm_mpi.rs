//! `MpiComm` on real MPI jobs of 1 to 4 ranks: its collectives and its
//! point-to-point messages.
//!
//! Each `mpi_collectives_on_N_ranks` test launches this very test binary
//! under `mpirun -n N` (through the harness, with a timeout), running only
//! the ignored test `rank_worker`: every rank checks each collective against
//! values computed here from the rank count alone, and prints one line when
//! all its checks pass. The `mpi_point_to_point_on_N_ranks` tests do the
//! same with the ignored test `p2p_worker`.

mod util;

use std::collections::VecDeque;

use chunkwise::comm::{Comm, MpiComm, Tag, ThreadLevel};
use chunkwise::Error;

/// Set for the ranks launched by the tests below.
const WORKER_ENV: &str = "CHUNKWISE_COMM_WORKER_RANKS";

/// Run the ignored test `worker` as the `ranks` ranks of an MPI job and
/// check that every rank printed `"{done} on rank R of N"`.
fn launch_worker(worker: &str, done: &str, ranks: usize) {
    let exe = std::env::current_exe().expect("path of this test binary");
    let expected = ranks.to_string();
    let out = util::mpirun_program(
        ranks,
        &exe,
        &[
            worker,
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ],
        &[(WORKER_ENV, expected.as_str())],
    );
    out.assert_success();
    for r in 0..ranks {
        let line = format!("{done} on rank {r} of {ranks}");
        assert!(
            out.stdout.contains(&line),
            "missing {line:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            out.stdout,
            out.stderr
        );
    }
}

fn launch(ranks: usize) {
    launch_worker("rank_worker", "comm checks passed", ranks);
}

fn launch_p2p(ranks: usize) {
    launch_worker("p2p_worker", "point-to-point checks passed", ranks);
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

#[test]
fn mpi_point_to_point_on_1_rank() {
    launch_p2p(1);
}

#[test]
fn mpi_point_to_point_on_2_ranks() {
    launch_p2p(2);
}

#[test]
fn mpi_point_to_point_on_3_ranks() {
    launch_p2p(3);
}

#[test]
fn mpi_point_to_point_on_4_ranks() {
    launch_p2p(4);
}

/// What one rank of the job contributes to the all-gather: rank `r` sends
/// `3r` bytes of value `r` (rank 0 sends nothing).
fn contribution(r: usize) -> Vec<u8> {
    vec![r as u8; 3 * r]
}

#[test]
#[ignore = "one rank of a job: launched under mpirun by the mpi_collectives_* tests"]
fn rank_worker() {
    let n = worker_rank_count();
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

/// The job size the launching test expects (panics outside a launch).
fn worker_rank_count() -> usize {
    let Ok(expected) = std::env::var(WORKER_ENV) else {
        panic!("run through the mpi_* tests, which set {WORKER_ENV}");
    };
    expected.parse().expect("rank count")
}

/// Piece size the point-to-point worker sets: small, so short messages
/// travel in many pieces.
const TEST_PIECE: usize = 16;

/// Lengths of the `Data` messages every rank sends to every rank, in
/// posting order: empty, shorter than a piece, exactly one piece, one piece
/// and a partial one, many pieces (62 full ones and 8 bytes), many full
/// pieces and nothing else.
const DATA_LENS: [usize; 7] = [0, 3, 16, 23, 1000, 5, 1024];

/// Lengths of the `Control` messages, posted interleaved with the `Data`
/// ones.
const CONTROL_LENS: [usize; 4] = [17, 0, 160, 2];

/// Byte `i` of message number `index` with `tag` from rank `src` to rank
/// `dest`: a formula of those numbers alone, so every message differs.
fn payload_byte(src: usize, dest: usize, tag_seed: usize, index: usize, i: usize) -> u8 {
    ((src * 131 + dest * 37 + tag_seed * 101 + index * 17 + i * 7 + i / 256) % 256) as u8
}

fn payload(src: usize, dest: usize, tag_seed: usize, index: usize, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| payload_byte(src, dest, tag_seed, index, i))
        .collect()
}

const DATA_SEED: usize = 1;
const CONTROL_SEED: usize = 2;
const LARGE_SEED: usize = 3;

/// Length of the large messages of the second round: far above MPI's eager
/// limit (so the send completes only once the receiver takes it), in pieces
/// of 1 MiB and a partial one.
const LARGE_LEN: usize = 3 * (1 << 20) + 5;

#[test]
#[ignore = "one rank of a job: launched under mpirun by the mpi_point_to_point_* tests"]
fn p2p_worker() {
    let n = worker_rank_count();
    let comm = MpiComm::init().expect("MPI starts");
    let r = comm.rank();
    assert_eq!(comm.size(), n);

    // Ranks outside the job and impossible piece sizes are errors naming
    // the rank, and nothing is sent.
    let err = comm.post_send(n, Tag::Data, vec![1]).unwrap_err();
    assert!(
        matches!(err, Error::Comm(ref m) if m.contains(&format!("rank {n}"))),
        "{err}"
    );
    let err = comm.recv(n + 3, Tag::Data).unwrap_err();
    assert!(
        matches!(err, Error::Comm(ref m) if m.contains(&format!("rank {}", n + 3))),
        "{err}"
    );
    // Nothing from itself is queued: waiting would never end.
    let err = comm.recv(r, Tag::Abort).unwrap_err();
    assert!(
        matches!(err, Error::Comm(ref m)
            if m.contains(&format!("rank {r} waits")) && m.contains("queued: it would wait forever")),
        "{err}"
    );
    assert!(comm.set_piece_size_for_tests(0).is_err());
    assert!(comm.set_piece_size_for_tests(1 << 31).is_err());
    assert_eq!(comm.progress().unwrap(), 0);

    // Round 1: every rank sends to every rank, itself included, Data and
    // Control messages interleaved, in pieces of TEST_PIECE bytes.
    comm.set_piece_size_for_tests(TEST_PIECE).unwrap();
    for dest in 0..n {
        for (index, &len) in DATA_LENS.iter().enumerate() {
            let data = payload(r, dest, DATA_SEED, index, len);
            comm.post_send(dest, Tag::Data, data).unwrap();
            if let Some(&len) = CONTROL_LENS.get(index) {
                let control = payload(r, dest, CONTROL_SEED, index, len);
                comm.post_send(dest, Tag::Control, control).unwrap();
            }
        }
    }
    let posted_remote = (n - 1) * (DATA_LENS.len() + CONTROL_LENS.len());
    assert!(comm.progress().unwrap() <= posted_remote);

    // Data through try_recv, from whichever rank is ready: per source, the
    // messages come in posting order.
    let mut expected: Vec<VecDeque<Vec<u8>>> = (0..n)
        .map(|src| {
            DATA_LENS
                .iter()
                .enumerate()
                .map(|(index, &len)| payload(src, r, DATA_SEED, index, len))
                .collect()
        })
        .collect();
    let mut left = n * DATA_LENS.len();
    while left > 0 {
        comm.progress().unwrap();
        match comm.try_recv(Tag::Data).unwrap() {
            Some((src, bytes)) => {
                assert!(src < n, "message from rank {src}");
                let want = expected[src]
                    .pop_front()
                    .unwrap_or_else(|| panic!("an extra Data message from rank {src}"));
                assert_eq!(bytes.len(), want.len(), "from rank {src}");
                assert!(bytes == want, "Data from rank {src} to rank {r} differs");
                left -= 1;
            }
            None => std::thread::yield_now(),
        }
    }
    // Control through recv, source by source (itself included).
    for src in 0..n {
        for (index, &len) in CONTROL_LENS.iter().enumerate() {
            let bytes = comm.recv(src, Tag::Control).unwrap();
            assert_eq!(
                bytes,
                payload(src, r, CONTROL_SEED, index, len),
                "Control {index} from rank {src} to rank {r}"
            );
        }
    }
    // Every message was taken; no other tag got any.
    assert_eq!(comm.try_recv(Tag::Data).unwrap(), None);
    assert_eq!(comm.try_recv(Tag::Control).unwrap(), None);
    assert_eq!(comm.try_recv(Tag::Abort).unwrap(), None);
    assert_eq!(comm.try_recv(Tag::Progress).unwrap(), None);
    comm.wait_sends().unwrap();
    assert_eq!(comm.progress().unwrap(), 0);
    comm.barrier().unwrap();

    // Round 2: large messages (1 MiB pieces) to every rank, received by recv
    // in rank order while the sends are in flight.
    comm.set_piece_size_for_tests(1 << 20).unwrap();
    for dest in 0..n {
        let data = payload(r, dest, LARGE_SEED, 0, LARGE_LEN);
        comm.post_send(dest, Tag::Data, data).unwrap();
    }
    for src in 0..n {
        let bytes = comm.recv(src, Tag::Data).unwrap();
        assert_eq!(bytes.len(), LARGE_LEN, "from rank {src}");
        assert!(
            bytes == payload(src, r, LARGE_SEED, 0, LARGE_LEN),
            "large message from rank {src} to rank {r} differs"
        );
    }
    comm.wait_sends().unwrap();
    assert_eq!(comm.progress().unwrap(), 0);
    comm.barrier().unwrap();

    // Round 3: a large message nobody receives. Dropping the communicator
    // at the end must still finish (its send completes because the
    // destination discards it), not wait forever.
    let dest = (r + 1) % n;
    comm.post_send(
        dest,
        Tag::Progress,
        payload(r, dest, LARGE_SEED, 1, LARGE_LEN),
    )
    .unwrap();

    // Its own line, even if another rank's test output is mid-line.
    println!("\npoint-to-point checks passed on rank {r} of {n}");
}
