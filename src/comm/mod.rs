//! Communication between ranks: the [`Comm`] trait and its two implementations.
//!
//! This is the only module of chunkwise that imports `mpi` (a test in
//! `tests/layering.rs` checks it). Everything above it (the executor, the
//! session) talks to other ranks through [`Comm`], so the same code runs
//! in-process in unit tests ([`LocalComm`]) and over MPI under `mpirun`
//! ([`MpiComm`]).
//!
//! * [`LocalComm`]: one rank, in-process, no MPI at all. For unit tests and
//!   for embedding where no MPI runtime is wanted.
//! * [`MpiComm`]: the world communicator of an MPI job (rsmpi). A binary
//!   started without `mpirun` is an MPI singleton: a world of one.
//!
//! # Collectives
//!
//! Methods documented with a `# Collective` section must be called on every
//! rank, in the same order, with consistent arguments (the same `root`, for
//! example). A collective called on some ranks only hangs the job. In
//! particular never call one inside `if comm.rank() == 0 { … }`.
//!
//! Errors are collective too: when a rank fails on its own, it must still
//! take part in the next collective, and the ranks agree on the failure with
//! [`Comm::any`] (or by gathering the messages with
//! [`Comm::all_gather_bytes`]) so that every rank returns the same error and
//! none is left waiting. The byte collectives below check their sizes after
//! an exchange every rank takes part in, so their errors are the same on
//! every rank.
//!
//! # Threads
//!
//! MPI is called from one thread only (the thread that created the
//! [`MpiComm`]; MPI's `MPI_THREAD_FUNNELED`). [`MpiComm`] is therefore
//! neither `Send` nor `Sync`: the compiler keeps it on its thread. Worker
//! threads (the rayon pool) compute chunks and hand them back to that thread.
//!
//! # Point-to-point transfers
//!
//! The executor moves chunks with non-blocking point-to-point messages:
//! [`Comm::post_send`] hands a buffer *by value* to the communicator, which owns
//! it until the transfer completes (so no request can outlive its buffer, and
//! none is dropped unfinished); [`Comm::try_recv`] returns a whole message that
//! has arrived, without blocking; [`Comm::recv`] blocks for one from a given
//! rank; [`Comm::progress`] completes finished sends and [`Comm::wait_sends`]
//! waits for all of them. A message is a `Vec<u8>` of any length: longer than
//! one MPI call can move (2^31 - 1 elements), it travels in pieces and arrives
//! whole. Messages between two ranks with the same [`Tag`] arrive in the order
//! they were posted (MPI's non-overtaking rule).

mod local;
mod mpi_comm;

pub use local::LocalComm;
pub use mpi_comm::MpiComm;

use crate::error::Result;

/// Where a rank sits within its node (the ranks that share memory with it).
///
/// Derived from `MPI_Comm_split_type(MPI_COMM_TYPE_SHARED)` for [`MpiComm`].
/// Invariants: `local_rank < local_size`, `node_index < node_count`.
///
/// ```
/// use chunkwise::comm::{Comm, LocalComm};
/// let node = LocalComm::new().node();
/// assert_eq!((node.local_rank, node.local_size, node.node_count), (0, 1, 1));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NodeInfo {
    /// This rank's index among the ranks of its node, from 0.
    pub local_rank: usize,
    /// How many ranks run on this node.
    pub local_size: usize,
    /// Which node this is, from 0, numbered in the order of each node's
    /// lowest world rank.
    pub node_index: usize,
    /// How many nodes the job spans.
    pub node_count: usize,
}

/// The thread-support levels of MPI, weakest first.
///
/// chunkwise needs [`ThreadLevel::Funneled`]: worker threads exist, but only
/// the thread that initialised MPI calls it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ThreadLevel {
    /// `MPI_THREAD_SINGLE`: the process has one thread.
    Single,
    /// `MPI_THREAD_FUNNELED`: only the initialising thread calls MPI.
    Funneled,
    /// `MPI_THREAD_SERIALIZED`: any thread calls MPI, one at a time.
    Serialized,
    /// `MPI_THREAD_MULTIPLE`: any thread calls MPI at any time.
    Multiple,
}

/// What a point-to-point message carries; messages of different tags never match
/// each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tag {
    /// A chunk or partial result for a task on the receiving rank.
    Data,
    /// "Stop: a rank failed" (the executor's collective errors).
    Abort,
    /// Batched progress counters, for rank 0.
    Progress,
    /// The driver's requests and replies (interactive sessions).
    Control,
}

impl Tag {
    /// The MPI tag number (small, positive: every MPI allows at least 32767).
    pub fn code(self) -> i32 {
        match self {
            Tag::Data => 11,
            Tag::Abort => 12,
            Tag::Progress => 13,
            Tag::Control => 14,
        }
    }
}

/// The runtime's view of the other ranks of the job.
///
/// Object-safe: code takes `&dyn Comm` (or is generic over `C: Comm +
/// ?Sized`), so the same executor runs over [`LocalComm`] in unit tests and
/// over [`MpiComm`] under `mpirun`. See the [module docs](self) for the rules
/// of collectives and of collective errors.
///
/// ```
/// use chunkwise::comm::{Comm, LocalComm};
/// let comm = LocalComm::new();
/// // Every rank contributes its rank; every rank gets the sum.
/// let sum = comm.all_reduce_sum_u64(comm.rank() as u64)?;
/// assert_eq!(sum, 0);
/// # Ok::<(), chunkwise::Error>(())
/// ```
pub trait Comm {
    /// This rank's index in the job, `0..size()`.
    fn rank(&self) -> usize;

    /// The number of ranks in the job (at least 1).
    fn size(&self) -> usize;

    /// Where this rank sits within its node. Computed once, when the
    /// communicator was created; calling it communicates nothing.
    fn node(&self) -> NodeInfo;

    /// A one-line description of the communication library, e.g. the MPI
    /// library's version string (first line). Local; communicates nothing.
    fn library_version(&self) -> String;

    /// Wait until every rank has called `barrier`.
    ///
    /// # Collective
    /// Call on every rank, in the same order as the other collectives.
    fn barrier(&self) -> Result<()>;

    /// Make `buf` on every rank equal to `buf` on rank `root`. On the other
    /// ranks `buf` is resized to the root's length; its previous contents are
    /// discarded.
    ///
    /// # Collective
    /// Call on every rank, in the same order, with the same `root`.
    ///
    /// # Errors
    /// [`Error::Comm`](crate::Error::Comm) on every rank if `root` is not a
    /// rank of the job.
    fn broadcast_bytes(&self, root: usize, buf: &mut Vec<u8>) -> Result<()>;

    /// Every rank contributes `data` (any length, lengths may differ); every
    /// rank gets all contributions, indexed by rank.
    ///
    /// # Collective
    /// Call on every rank, in the same order.
    ///
    /// # Errors
    /// [`Error::Comm`](crate::Error::Comm) on every rank if the total size
    /// exceeds what one MPI call can move (2^31 − 1 bytes).
    fn all_gather_bytes(&self, data: &[u8]) -> Result<Vec<Vec<u8>>>;

    /// The sum of `value` over all ranks, on every rank (wrapping on
    /// overflow, like MPI's `MPI_SUM` on unsigned integers).
    ///
    /// # Collective
    /// Call on every rank, in the same order.
    fn all_reduce_sum_u64(&self, value: u64) -> Result<u64>;

    /// The maximum of `value` over all ranks, on every rank.
    ///
    /// # Collective
    /// Call on every rank, in the same order.
    fn all_reduce_max_u64(&self, value: u64) -> Result<u64>;

    /// Whether `flag` is true on at least one rank, on every rank. The tool
    /// for collective errors: each rank passes "I failed", and all ranks take
    /// the same branch afterwards.
    ///
    /// # Collective
    /// Call on every rank, in the same order.
    fn any(&self, flag: bool) -> Result<bool> {
        Ok(self.all_reduce_max_u64(u64::from(flag))? != 0)
    }

    /// Start sending `data` to rank `dest` and return at once; the communicator
    /// owns the buffer until the transfer completes (see [`progress`](Self::progress)).
    /// Sending to oneself is allowed (the message is delivered locally).
    ///
    /// # Errors
    /// [`Error::Comm`](crate::Error::Comm) if `dest` is not a rank of the job.
    fn post_send(&self, dest: usize, tag: Tag, data: Vec<u8>) -> Result<()>;

    /// A whole message with `tag` that has arrived from any rank, as
    /// `(source rank, bytes)`, or `None` if there is none yet. Does not block
    /// (except to take the rest of a message whose first piece has arrived).
    fn try_recv(&self, tag: Tag) -> Result<Option<(usize, Vec<u8>)>>;

    /// The next message with `tag` from rank `src`, waiting for it.
    ///
    /// # Errors
    /// [`Error::Comm`](crate::Error::Comm) if `src` is not a rank of the job, or
    /// (on a one-rank job) if no such message was sent: it would wait forever.
    fn recv(&self, src: usize, tag: Tag) -> Result<Vec<u8>>;

    /// Complete the sends that have finished (freeing their buffers) and return
    /// how many are still in flight. Does not block.
    fn progress(&self) -> Result<usize>;

    /// Wait until every posted send has completed.
    fn wait_sends(&self) -> Result<()>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_levels_are_ordered_weakest_first() {
        assert!(ThreadLevel::Single < ThreadLevel::Funneled);
        assert!(ThreadLevel::Funneled < ThreadLevel::Serialized);
        assert!(ThreadLevel::Serialized < ThreadLevel::Multiple);
    }

    #[test]
    fn comm_is_object_safe() {
        let local = LocalComm::new();
        let comm: &dyn Comm = &local;
        assert_eq!(comm.size(), 1);
    }
}
