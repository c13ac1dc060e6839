//! [`MpiComm`]: the ranks of an MPI job, over rsmpi.

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
/// ```no_run
/// use chunkwise::comm::{Comm, MpiComm};
/// let comm = MpiComm::init()?; // collective over the whole job
/// let total = comm.all_reduce_sum_u64(1)?;
/// assert_eq!(total as usize, comm.size());
/// # Ok::<(), chunkwise::Error>(())
/// ```
pub struct MpiComm {
    // Field order matters: fields drop in declaration order, and the
    // communicators must be freed before `universe` finalises MPI.
    world: SimpleCommunicator,
    rank: usize,
    size: usize,
    node: NodeInfo,
    library_version: String,
    thread_level: ThreadLevel,
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
            world,
            rank,
            size,
            node,
            library_version,
            thread_level: provided,
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

    // Point-to-point: being implemented (issue 3).
    fn post_send(&self, _dest: usize, _tag: Tag, _data: Vec<u8>) -> Result<()> {
        Err(Error::internal("MpiComm::post_send is not implemented yet"))
    }

    fn try_recv(&self, _tag: Tag) -> Result<Option<(usize, Vec<u8>)>> {
        Err(Error::internal("MpiComm::try_recv is not implemented yet"))
    }

    fn recv(&self, _src: usize, _tag: Tag) -> Result<Vec<u8>> {
        Err(Error::internal("MpiComm::recv is not implemented yet"))
    }

    fn progress(&self) -> Result<usize> {
        Ok(0)
    }

    fn wait_sends(&self) -> Result<()> {
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
