//! [`MpiComm`]: the ranks of an MPI job, over rsmpi.

mod p2p;

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::marker::PhantomData;

use mpi::collective::SystemOperation;
use mpi::datatype::PartitionMut;
use mpi::environment::{Threading, Universe};
use mpi::topology::SimpleCommunicator;
use mpi::traits::*;
use mpi::Count;

use super::{Comm, NodeInfo, Tag, ThreadLevel};
use crate::error::{Error, Result};

/// Largest piece moved by one `MPI_Bcast` (rsmpi counts elements in `i32`).
const BROADCAST_PIECE: usize = 1 << 30;

/// Largest piece of a point-to-point message moved by one `MPI_Isend`
/// (plus the 8-byte length trailer of its first piece); see `p2p`.
const SEND_PIECE: usize = 1 << 30;

/// The world of an MPI job: every rank started by `mpirun` (or a world of one
/// when the binary was started without it: an MPI singleton).
///
/// Creating it initialises MPI; dropping it finalises MPI. There is at most
/// one per process, and it stays on the thread that created it (it is neither
/// `Send` nor `Sync`), which is what MPI's `MPI_THREAD_FUNNELED` asks.
///
/// It communicates on its own duplicate of `MPI_COMM_WORLD`, so chunkwise's
/// messages never mix with other MPI traffic of the process.
///
/// # Point-to-point messages
///
/// [`Comm::post_send`] takes the buffer and starts `MPI_Isend`s from it at
/// once (one per piece: a message longer than 1 GiB travels in pieces of
/// 1 GiB and arrives whole); the buffer is freed when
/// [`Comm::progress`] or [`Comm::wait_sends`] finds its sends complete.
/// Messages are sent from the caller's buffer without copying; the
/// communicator appends an 8-byte length to it, so a buffer with 8 bytes of
/// spare capacity is not reallocated. A message a rank sends to itself never
/// goes through MPI: it waits in a queue until [`Comm::try_recv`] or
/// [`Comm::recv`] takes it, so it is never "in flight", and [`Comm::recv`]
/// from the rank itself with no such message queued is an error (it would
/// wait forever).
///
/// A send completes when MPI is done with the buffer: at once for small
/// messages (MPI copies them), only once the destination has started
/// receiving for large ones. So [`Comm::wait_sends`] waits for the
/// destinations to call [`Comm::try_recv`] or [`Comm::recv`], and the
/// receiving side progresses when the sending rank calls into MPI (any
/// method of this type): call [`Comm::progress`] regularly while sends are
/// in flight.
///
/// Dropping an `MpiComm` is collective, like the `MPI_Finalize` it calls:
/// every rank first completes its in-flight sends while receiving and
/// discarding any message still addressed to it, so no rank waits for a
/// receive that will never be posted (after an error, say); then all agree
/// they are done (a non-blocking barrier) before MPI is finalised.
///
/// ```no_run
/// use chunkwise::comm::{Comm, MpiComm};
/// let comm = MpiComm::init()?; // collective over the whole job
/// let total = comm.all_reduce_sum_u64(1)?;
/// assert_eq!(total as usize, comm.size());
/// # Ok::<(), chunkwise::Error>(())
/// ```
pub struct MpiComm {
    // Field order matters: fields drop in declaration order; the sends must
    // complete before their communicator is freed, and the communicators
    // must be freed before `universe` finalises MPI.
    /// Messages posted to other ranks whose sends have not all completed,
    /// oldest first. Each owns its buffer.
    sends: RefCell<Vec<p2p::OwnedSend>>,
    world: SimpleCommunicator,
    rank: usize,
    size: usize,
    node: NodeInfo,
    library_version: String,
    thread_level: ThreadLevel,
    /// Messages this rank sent to itself and has not received, oldest first.
    to_self: RefCell<HashMap<Tag, VecDeque<Vec<u8>>>>,
    /// The largest piece of a message sent, in bytes: `1..=p2p::MAX_PIECE`.
    piece_size: Cell<usize>,
    universe: Universe,
    /// MPI is called from the creating thread only: not `Send`, not `Sync`.
    _one_thread: PhantomData<*const ()>,
}

impl fmt::Debug for MpiComm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MpiComm")
            .field("rank", &self.rank)
            .field("size", &self.size)
            .field("node", &self.node)
            .field("thread_level", &self.thread_level)
            .field("library_version", &self.library_version)
            .finish_non_exhaustive()
    }
}

impl MpiComm {
    /// Initialise MPI with the thread level chunkwise needs
    /// ([`ThreadLevel::Funneled`]) and return the job's world.
    ///
    /// # Collective
    /// Call once per process, on every rank, before any other MPI use.
    ///
    /// # Errors
    /// [`Error::Comm`] if MPI was already initialised in this process, or if
    /// the MPI library provides a thread level below `Funneled`.
    pub fn init() -> Result<MpiComm> {
        MpiComm::init_with(ThreadLevel::Funneled)
    }

    /// Initialise MPI asking for thread level `required`, and fail unless the
    /// library provides at least that level.
    ///
    /// # Collective
    /// Call once per process, on every rank, before any other MPI use.
    ///
    /// # Errors
    /// [`Error::Comm`] if MPI was already initialised in this process, or if
    /// the MPI library provides a thread level below `required`.
    pub fn init_with(required: ThreadLevel) -> Result<MpiComm> {
        let (universe, provided) =
            mpi::initialize_with_threading(to_mpi(required)).ok_or_else(|| {
                Error::Comm(
                    "MPI is already initialised in this process; chunkwise initialises MPI \
                     itself: create one MpiComm per process, before any other MPI call"
                        .to_string(),
                )
            })?;
        let provided = from_mpi(provided);
        if provided < required {
            // Dropping `universe` finalises MPI again on every rank.
            return Err(Error::Comm(format!(
                "the MPI library provides thread level {provided:?} but chunkwise needs at \
                 least {required:?} (its worker threads run beside the MPI thread); use an MPI \
                 built with thread support (Open MPI and MPICH provide it by default)"
            )));
        }
        let library_version = library_version_line();
        let world = universe.world().duplicate();
        let rank = to_usize(world.rank(), "rank")?;
        let size = to_usize(world.size(), "size")?;
        let node = node_info(&world, rank, size)?;
        Ok(MpiComm {
            sends: RefCell::new(Vec::new()),
            world,
            rank,
            size,
            node,
            library_version,
            thread_level: provided,
            to_self: RefCell::new(HashMap::new()),
            piece_size: Cell::new(SEND_PIECE),
            universe,
            _one_thread: PhantomData,
        })
    }

    /// The thread level the MPI library provided (at least the one required).
    pub fn thread_level(&self) -> ThreadLevel {
        self.thread_level
    }

    /// The MPI library's own description of the universe size (slots
    /// available), when the launcher set one.
    pub fn universe_size(&self) -> Option<usize> {
        self.universe.size()
    }

    /// Cut the messages this rank sends from now on into pieces of at most
    /// `bytes` bytes (1 GiB by default), so tests can send multi-piece
    /// messages without allocating gigabytes. Receivers need no matching
    /// setting: a message says how long it is.
    ///
    /// # Errors
    /// [`Error::Comm`] unless `1 <= bytes <= 2^31 - 9`.
    #[doc(hidden)]
    pub fn set_piece_size_for_tests(&self, bytes: usize) -> Result<()> {
        if bytes == 0 || bytes > p2p::MAX_PIECE {
            return Err(Error::Comm(format!(
                "piece size {bytes} on rank {}: it must be between 1 and {} bytes",
                self.rank,
                p2p::MAX_PIECE
            )));
        }
        self.piece_size.set(bytes);
        Ok(())
    }

    /// An [`Error::Comm`] unless `peer` is a rank of the job; `what` says
    /// what was attempted ("send a Data message to").
    fn check_rank(&self, peer: usize, what: fmt::Arguments<'_>) -> Result<()> {
        if peer < self.size {
            return Ok(());
        }
        Err(Error::Comm(format!(
            "rank {} tried to {what} rank {peer}, but the job has {} ranks (0..{})",
            self.rank, self.size, self.size
        )))
    }

    fn take_from_self(&self, tag: Tag) -> Option<Vec<u8>> {
        self.to_self.borrow_mut().get_mut(&tag)?.pop_front()
    }
}

impl Drop for MpiComm {
    /// Complete every in-flight send before MPI is finalised, receiving and
    /// discarding messages still addressed to this rank meanwhile (their
    /// senders may be waiting for that), then agree with the other ranks
    /// that all are done: the NBX pattern (non-blocking barrier entered once
    /// this rank's sends are complete). Collective, like `MPI_Finalize`.
    fn drop(&mut self) {
        let sends = self.sends.get_mut();
        let mut barrier = None;
        loop {
            sends.retain_mut(|send| !send.test());
            if sends.is_empty() && barrier.is_none() {
                barrier = Some(self.world.immediate_barrier());
            }
            let discarded = p2p::discard_one(&self.world);
            if let Some(request) = barrier.take() {
                match request.test() {
                    Ok(_) => break,
                    Err(request) => barrier = Some(request),
                }
            }
            if !discarded {
                // Other ranks may share this core.
                std::thread::yield_now();
            }
        }
    }
}

impl Comm for MpiComm {
    fn rank(&self) -> usize {
        self.rank
    }

    fn size(&self) -> usize {
        self.size
    }

    fn node(&self) -> NodeInfo {
        self.node
    }

    fn library_version(&self) -> String {
        self.library_version.clone()
    }

    fn barrier(&self) -> Result<()> {
        self.world.barrier();
        Ok(())
    }

    fn broadcast_bytes(&self, root: usize, buf: &mut Vec<u8>) -> Result<()> {
        if root >= self.size {
            return Err(Error::Comm(format!(
                "broadcast from root rank {root}, but the job has {} ranks (0..{})",
                self.size, self.size
            )));
        }
        let root_rank = to_count(root, "root rank")?;
        let root_proc = self.world.process_at_rank(root_rank);
        let mut len = buf.len() as u64;
        root_proc.broadcast_into(&mut len);
        if self.rank != root {
            let len = usize::try_from(len).map_err(|_| {
                Error::Comm(format!(
                    "broadcast of {len} bytes from rank {root} does not fit in memory on rank {}",
                    self.rank
                ))
            })?;
            buf.clear();
            buf.resize(len, 0);
        }
        // Every rank now holds the same length, so every rank walks the same
        // pieces: MPI counts elements in i32.
        for piece in buf.chunks_mut(BROADCAST_PIECE) {
            root_proc.broadcast_into(piece);
        }
        Ok(())
    }

    fn all_gather_bytes(&self, data: &[u8]) -> Result<Vec<Vec<u8>>> {
        let mut lens = vec![0u64; self.size];
        self.world
            .all_gather_into(&(data.len() as u64), &mut lens[..]);
        // Every rank checks the same lengths, so every rank returns the same
        // error and none is left inside the second collective.
        let total: u64 = lens.iter().sum();
        if total > Count::MAX as u64 {
            return Err(Error::Comm(format!(
                "all-gather of {total} bytes in total (largest contribution {} bytes) exceeds \
                 the {} bytes one MPI call can move; gather smaller pieces",
                lens.iter().max().copied().unwrap_or(0),
                Count::MAX
            )));
        }
        if total == 0 {
            // Every rank knows the total, so every rank skips the call. (Open
            // MPI rejects an all-gather whose empty send and receive buffers
            // share Rust's dangling pointer: MPI_ERR_ARG.)
            return Ok(vec![Vec::new(); self.size]);
        }
        // `total` fits in an i32, so every length and offset does too.
        let counts: Vec<Count> = lens.iter().map(|&l| l as Count).collect();
        let displs: Vec<Count> = counts
            .iter()
            .scan(0, |acc: &mut Count, &c| {
                let start = *acc;
                *acc += c;
                Some(start)
            })
            .collect();
        let mut all = vec![0u8; total as usize];
        {
            let mut partition = PartitionMut::new(&mut all[..], &counts[..], &displs[..]);
            self.world.all_gather_varcount_into(data, &mut partition);
        }
        Ok(counts
            .iter()
            .zip(&displs)
            .map(|(&c, &d)| all[d as usize..(d + c) as usize].to_vec())
            .collect())
    }

    fn all_reduce_sum_u64(&self, value: u64) -> Result<u64> {
        let mut out = 0u64;
        self.world
            .all_reduce_into(&value, &mut out, SystemOperation::sum());
        Ok(out)
    }

    fn all_reduce_max_u64(&self, value: u64) -> Result<u64> {
        let mut out = 0u64;
        self.world
            .all_reduce_into(&value, &mut out, SystemOperation::max());
        Ok(out)
    }

    fn post_send(&self, dest: usize, tag: Tag, data: Vec<u8>) -> Result<()> {
        self.check_rank(dest, format_args!("send a {tag:?} message to"))?;
        if dest == self.rank {
            // Through MPI, a large message to oneself would not complete
            // before it is received, and `wait_sends` would wait forever.
            self.to_self
                .borrow_mut()
                .entry(tag)
                .or_default()
                .push_back(data);
            return Ok(());
        }
        let to = self
            .world
            .process_at_rank(to_count(dest, "destination rank")?);
        let send = p2p::OwnedSend::post(&to, tag, data, self.piece_size.get());
        self.sends.borrow_mut().push(send);
        Ok(())
    }

    fn try_recv(&self, tag: Tag) -> Result<Option<(usize, Vec<u8>)>> {
        // Other ranks first: taking their messages lets their sends complete.
        if let Some(first) = self
            .world
            .any_process()
            .immediate_matched_probe_with_tag(tag.code())
        {
            return p2p::receive_message(&self.world, self.rank, tag, first).map(Some);
        }
        Ok(self.take_from_self(tag).map(|m| (self.rank, m)))
    }

    fn recv(&self, src: usize, tag: Tag) -> Result<Vec<u8>> {
        self.check_rank(src, format_args!("receive a {tag:?} message from"))?;
        if src == self.rank {
            return self.take_from_self(tag).ok_or_else(|| {
                Error::Comm(format!(
                    "rank {src} waits for a {tag:?} message from itself, but has none queued: \
                     it would wait forever"
                ))
            });
        }
        let first = self
            .world
            .process_at_rank(to_count(src, "source rank")?)
            .matched_probe_with_tag(tag.code());
        let (_, message) = p2p::receive_message(&self.world, self.rank, tag, first)?;
        Ok(message)
    }

    fn progress(&self) -> Result<usize> {
        let mut sends = self.sends.borrow_mut();
        // A send leaving the list frees its buffer (all its pieces are done).
        sends.retain_mut(|send| !send.test());
        Ok(sends.len())
    }

    fn wait_sends(&self) -> Result<()> {
        for mut send in self.sends.borrow_mut().drain(..) {
            send.wait();
        }
        Ok(())
    }
}

/// Node-local rank and size from `MPI_Comm_split_type(SHARED)`, and the node
/// count and index from which ranks lead (are local rank 0 of) a node.
///
/// Collective over `world`.
fn node_info(world: &SimpleCommunicator, rank: usize, size: usize) -> Result<NodeInfo> {
    let node_comm = world.split_shared(world.rank());
    let local_rank = to_usize(node_comm.rank(), "node-local rank")?;
    let local_size = to_usize(node_comm.size(), "node-local size")?;
    // The world rank of this node's leader, known to every rank of the node.
    let mut leader = rank as u64;
    node_comm.process_at_rank(0).broadcast_into(&mut leader);
    let is_leader = u8::from(local_rank == 0);
    let mut leaders = vec![0u8; size];
    world.all_gather_into(&is_leader, &mut leaders[..]);
    let node_count = leaders.iter().filter(|&&l| l != 0).count();
    let node_index = leaders
        .iter()
        .take(usize::try_from(leader).unwrap_or(size))
        .filter(|&&l| l != 0)
        .count();
    if local_rank >= local_size || node_index >= node_count {
        return Err(Error::internal(format!(
            "inconsistent node layout on rank {rank}: local rank {local_rank} of {local_size}, \
             node {node_index} of {node_count}"
        )));
    }
    Ok(NodeInfo {
        local_rank,
        local_size,
        node_index,
        node_count,
    })
}

/// The first line of `MPI_Get_library_version`, trimmed (Open MPI counts
/// the C string's terminating NUL in the length).
fn library_version_line() -> String {
    match mpi::environment::library_version() {
        Ok(v) => v
            .lines()
            .map(|l| l.trim_matches(|c: char| c.is_whitespace() || c == '\0'))
            .find(|l| !l.is_empty())
            .unwrap_or("unknown MPI library")
            .to_string(),
        Err(_) => "unknown MPI library (version string is not UTF-8)".to_string(),
    }
}

fn to_usize(value: i32, what: &str) -> Result<usize> {
    usize::try_from(value)
        .map_err(|_| Error::internal(format!("MPI returned a negative {what}: {value}")))
}

fn to_count(value: usize, what: &str) -> Result<Count> {
    Count::try_from(value)
        .map_err(|_| Error::Comm(format!("{what} {value} does not fit in an MPI count")))
}

fn to_mpi(level: ThreadLevel) -> Threading {
    match level {
        ThreadLevel::Single => Threading::Single,
        ThreadLevel::Funneled => Threading::Funneled,
        ThreadLevel::Serialized => Threading::Serialized,
        ThreadLevel::Multiple => Threading::Multiple,
    }
}

fn from_mpi(level: Threading) -> ThreadLevel {
    match level {
        Threading::Single => ThreadLevel::Single,
        Threading::Funneled => ThreadLevel::Funneled,
        Threading::Serialized => ThreadLevel::Serialized,
        Threading::Multiple => ThreadLevel::Multiple,
    }
}
