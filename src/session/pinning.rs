//! Which cores this rank's worker threads run on, and pinning them there.
//!
//! The ranks of one node split its cores ([`split_cores`]: contiguous
//! blocks, as even as possible; round-robin when there are more ranks than
//! cores). [`plan_for`] applies that split to the machine hwloc sees and
//! respects a binding the launcher already set; [`pinned_pool_builder`]
//! builds a rayon pool whose workers pin themselves to the plan as they
//! start.
//!
//! # How a plan is decided
//!
//! 1. **The node's cores** are hwloc's `Core` objects with at least one
//!    processing unit (PU) this process may use (a batch system's cgroup
//!    shrinks the set), in hwloc's logical order: the cores of one package
//!    are adjacent, so a contiguous block keeps a rank's threads together.
//!    Core numbers in descriptions are these logical indices (`L#` in
//!    `lstopo`).
//! 2. **Unbound process** (its CPU binding covers every allowed PU): nobody
//!    placed this rank, so the node's cores are split among the node's ranks
//!    by node-local rank with [`split_cores`]. With enough cores the ranks'
//!    sets are disjoint and each worker thread is pinned to one core
//!    (thread `i` to core `i mod n`).
//! 3. **Bound by the launcher** (the binding is narrower than the node, as
//!    with Open MPI's default bind-to-core for up to 2 ranks and
//!    bind-to-package above, SLURM's `task/affinity`, or `taskset`): the
//!    launcher placed this rank, and the plan is exactly that binding, never
//!    widened and not split again. The launcher does not say whether other
//!    ranks got the same set. If the node's ranks cannot all hold disjoint
//!    sets of this size (`local_size` × cores in the binding > the node's
//!    cores), the plan assumes the set is shared evenly: it implies
//!    proportionally fewer threads and binds every worker to the whole set,
//!    leaving placement inside it to the OS. Otherwise each worker gets one
//!    core of the set. To let chunkwise split the node itself, start the job
//!    with `mpirun --bind-to none`.
//! 4. **No pinning** when hwloc cannot load the topology, cannot bind
//!    threads on this system, or cannot read the binding: the plan says why
//!    and the run goes on unpinned. Planning never fails.
//!
//! ```
//! use chunkwise::comm::{Comm, LocalComm};
//! use chunkwise::session::pinning::{pinned_pool_builder, plan_for};
//!
//! let plan = plan_for(&LocalComm::new().node());
//! let pool = pinned_pool_builder(&plan, plan.threads()).build().unwrap();
//! assert!(plan.threads() >= 1);
//! assert_eq!(pool.current_num_threads(), plan.threads());
//! println!("{}", plan.summary()); // for example "2 threads on cores 0-1"
//! ```

use std::fmt;
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use hwlocality::bitmap::Bitmap;
use hwlocality::cpu::binding::CpuBindingFlags;
use hwlocality::cpu::cpuset::CpuSet;
use hwlocality::object::types::ObjectType;
use hwlocality::Topology;

use crate::comm::NodeInfo;
use crate::error::{Error, Result};

/// One rank's share of its node's cores, as positions in the node's
/// ordered core list.
///
/// Invariants: `cores` is non-empty; `oversubscribed` is true exactly when
/// the node has more ranks than cores, and then `cores` holds one core.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoreShare {
    /// Positions in the node's core list (not hwloc indices).
    pub cores: Range<usize>,
    /// How many other ranks of the node use the same cores (0: exclusive).
    pub shared_with: usize,
    /// The node has more ranks than cores.
    pub oversubscribed: bool,
}

/// Split `core_count` cores among the `local_size` ranks of a node and
/// return the share of node-local rank `local_rank`.
///
/// With at least as many cores as ranks, each rank gets a contiguous block
/// and the blocks are disjoint, cover every core and differ in size by at
/// most one, the larger ones first (5 cores over 2 ranks: 3 + 2). With more
/// ranks than cores, each rank gets one core, round-robin (rank `r` gets
/// core `r mod core_count`), and the share says how many other ranks use it.
///
/// # Errors
/// [`Error::Internal`] if `local_rank >= local_size` or there are no cores
/// (the callers guarantee neither happens).
///
/// ```
/// use chunkwise::session::pinning::split_cores;
/// assert_eq!(split_cores(5, 0, 2)?.cores, 0..3);
/// assert_eq!(split_cores(5, 1, 2)?.cores, 3..5);
/// let third = split_cores(2, 2, 3)?; // 3 ranks on 2 cores
/// assert_eq!((third.cores, third.shared_with, third.oversubscribed), (0..1, 1, true));
/// # Ok::<(), chunkwise::Error>(())
/// ```
pub fn split_cores(core_count: usize, local_rank: usize, local_size: usize) -> Result<CoreShare> {
    if local_rank >= local_size {
        return Err(Error::internal(format!(
            "cannot split cores for node-local rank {local_rank} of {local_size}"
        )));
    }
    if core_count == 0 {
        return Err(Error::internal(format!(
            "cannot split zero cores among {local_size} rank(s)"
        )));
    }
    if core_count >= local_size {
        let base = core_count / local_size;
        let extra = core_count % local_size;
        let start = local_rank * base + local_rank.min(extra);
        let len = base + usize::from(local_rank < extra);
        Ok(CoreShare {
            cores: start..start + len,
            shared_with: 0,
            oversubscribed: false,
        })
    } else {
        let core = local_rank % core_count;
        let users = local_size / core_count + usize::from(core < local_size % core_count);
        Ok(CoreShare {
            cores: core..core + 1,
            shared_with: users - 1,
            oversubscribed: true,
        })
    }
}

/// Who decided where this rank's workers run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Placement {
    /// chunkwise split the node's cores among its ranks ([`split_cores`]).
    Split,
    /// The launcher had bound the process; the plan keeps that binding.
    Launcher,
    /// The workers are not pinned (see [`PinPlan::not_pinned_reason`]).
    NotPinned,
}

/// One core of a plan: hwloc's logical index and the PUs of it the plan uses.
#[derive(Debug, Clone)]
struct PlanCore {
    index: usize,
    set: CpuSet,
}

/// Pinning failures recorded by worker threads as they start.
#[derive(Debug, Default)]
struct PinFailures {
    count: AtomicUsize,
    first: OnceLock<String>,
}

impl PinFailures {
    fn record(&self, message: String) {
        self.count.fetch_add(1, Ordering::Relaxed);
        let _ = self.first.set(message);
    }
}

/// Where this rank's worker threads run: its cores, the thread count they
/// imply, and a description for people.
///
/// Built by [`plan_for`]; used by [`pinned_pool_builder`] and
/// [`pin_current_thread`]. Clones share one record of pinning failures
/// ([`PinPlan::pin_failures`]).
///
/// Invariants: `cores` is empty exactly when `placement` is
/// [`Placement::NotPinned`], and then `topology` and `cpuset` may be
/// `None`; otherwise `cpuset` is the union of the cores' sets and
/// `topology` is the machine they belong to. `threads >= 1`.
#[derive(Clone)]
pub struct PinPlan {
    cores: Vec<PlanCore>,
    cpuset: Option<CpuSet>,
    threads: usize,
    one_core_per_thread: bool,
    shared_with: usize,
    oversubscribed: bool,
    placement: Placement,
    description: String,
    not_pinned_reason: Option<String>,
    topology: Option<Arc<Topology>>,
    failures: Arc<PinFailures>,
}

impl fmt::Debug for PinPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PinPlan")
            .field("description", &self.description)
            .field("threads", &self.threads)
            .field("placement", &self.placement)
            .field("one_core_per_thread", &self.one_core_per_thread)
            .field("cpuset", &self.cpuset)
            .finish_non_exhaustive()
    }
}

impl PinPlan {
    /// A plan that pins nothing and runs `threads` workers, because of `reason`.
    ///
    /// ```
    /// use chunkwise::session::pinning::PinPlan;
    /// let plan = PinPlan::not_pinned("CHUNKWISE_PIN=off", 4);
    /// assert!(!plan.is_pinned());
    /// assert_eq!(plan.summary(), "4 threads, not pinned (CHUNKWISE_PIN=off)");
    /// ```
    pub fn not_pinned(reason: impl Into<String>, threads: usize) -> PinPlan {
        let reason = reason.into();
        PinPlan {
            cores: Vec::new(),
            cpuset: None,
            threads: threads.max(1),
            one_core_per_thread: false,
            shared_with: 0,
            oversubscribed: false,
            placement: Placement::NotPinned,
            description: format!("not pinned ({reason})"),
            not_pinned_reason: Some(reason),
            topology: None,
            failures: Arc::default(),
        }
    }

    /// Whether the workers will be pinned.
    pub fn is_pinned(&self) -> bool {
        self.placement != Placement::NotPinned
    }

    /// Who decided the cores.
    pub fn placement(&self) -> Placement {
        self.placement
    }

    /// hwloc logical indices of this rank's cores, ascending; empty if not
    /// pinned.
    pub fn core_indices(&self) -> Vec<usize> {
        self.cores.iter().map(|c| c.index).collect()
    }

    /// The PUs of this rank's cores; `None` if not pinned.
    pub fn cpuset(&self) -> Option<&CpuSet> {
        self.cpuset.as_ref()
    }

    /// The number of worker threads the plan implies (at least 1): the PUs
    /// of its cores, divided among the ranks presumed to share them.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// How many other ranks of the node are expected to use these cores.
    pub fn shared_with(&self) -> usize {
        self.shared_with
    }

    /// The node has more ranks than cores.
    pub fn oversubscribed(&self) -> bool {
        self.oversubscribed
    }

    /// Why the workers are not pinned, if they are not.
    pub fn not_pinned_reason(&self) -> Option<&str> {
        self.not_pinned_reason.as_deref()
    }

    /// The cores for people: `cores 0-1`, `core 2 (shared with 1 other
    /// rank; oversubscribed: 3 ranks share 2 cores)`, `core 0 (bound by the
    /// launcher)`, `not pinned (why)`.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Threads and cores in one phrase: `2 threads on cores 0-1`, or
    /// `4 threads, not pinned (why)`.
    pub fn summary(&self) -> String {
        let threads = format!("{} thread{}", self.threads, plural(self.threads));
        if self.is_pinned() {
            format!("{threads} on {}", self.description)
        } else {
            format!("{threads}, {}", self.description)
        }
    }

    /// What went wrong while worker threads pinned themselves, if anything
    /// did: how many failed and the first message.
    pub fn pin_failures(&self) -> Option<String> {
        let count = self.failures.count.load(Ordering::Relaxed);
        (count > 0).then(|| {
            let first = self.failures.first.get().map_or("", String::as_str);
            format!(
                "{count} worker thread{} could not be pinned; first: {first}",
                plural(count)
            )
        })
    }

    /// The PUs worker thread `thread_index` is pinned to; `None` if not
    /// pinned.
    pub fn target(&self, thread_index: usize) -> Option<&CpuSet> {
        if self.one_core_per_thread && !self.cores.is_empty() {
            self.cores
                .get(thread_index % self.cores.len())
                .map(|c| &c.set)
        } else {
            self.cpuset.as_ref()
        }
    }

    /// The cores of [`PinPlan::target`] for messages: `core 1`, `cores 0-3`.
    fn target_cores(&self, thread_index: usize) -> String {
        match self.target(thread_index) {
            Some(set) => {
                let idx: Vec<usize> = self
                    .cores
                    .iter()
                    .filter(|c| c.set.intersects(set))
                    .map(|c| c.index)
                    .collect();
                format!("{} (PUs {})", describe_cores(&idx), pu_list(set))
            }
            None => "no cores".to_string(),
        }
    }

    /// Check that every worker of `pool` (built with [`pinned_pool_builder`]
    /// from this plan) is bound to its target. A plan that does not pin
    /// passes.
    ///
    /// # Errors
    /// [`Error::ResourcesExhausted`] naming the workers that could not be
    /// pinned or are bound elsewhere.
    pub fn check_pool(&self, pool: &rayon::ThreadPool) -> Result<()> {
        let Some(topology) = self.topology.as_deref() else {
            return Ok(());
        };
        // A broadcast reaches every worker, so every start handler has run
        // (and recorded any failure) before the failures are read.
        let seen = pool.broadcast(|ctx| {
            (
                ctx.index(),
                topology
                    .cpu_binding(CpuBindingFlags::THREAD)
                    .map_err(|e| e.to_string()),
            )
        });
        let wrong: Vec<String> = seen
            .into_iter()
            .filter_map(|(i, bound)| match (bound, self.target(i)) {
                (Ok(set), Some(target)) if set == *target => None,
                (Ok(set), _) => Some(format!(
                    "worker {i} runs on PUs {} instead of {}",
                    pu_list(&set),
                    self.target_cores(i)
                )),
                (Err(e), _) => Some(format!("worker {i}: cannot read its binding: {e}")),
            })
            .collect();
        if let Some(failures) = self.pin_failures() {
            return Err(Error::ResourcesExhausted(failures));
        }
        if wrong.is_empty() {
            Ok(())
        } else {
            Err(Error::ResourcesExhausted(wrong.join("; ")))
        }
    }
}

/// This rank's pin plan, from hwloc's view of the machine, the process's
/// current CPU binding and `node` (see the module documentation for the
/// rules). Not collective.
///
/// Never fails: if hwloc cannot help, the plan does not pin and says why.
///
/// ```
/// use chunkwise::comm::{Comm, LocalComm};
/// use chunkwise::session::pinning::plan_for;
/// let plan = plan_for(&LocalComm::new().node());
/// assert!(plan.threads() >= 1);
/// assert!(plan.is_pinned() || plan.not_pinned_reason().is_some());
/// ```
pub fn plan_for(node: &NodeInfo) -> PinPlan {
    let topology = match Topology::new() {
        Ok(t) => t,
        Err(e) => return PinPlan::not_pinned(format!("hwloc: {e}"), fallback_threads(node)),
    };
    let can_bind = topology
        .feature_support()
        .cpu_binding()
        .is_some_and(|s| s.set_current_thread());
    if !can_bind {
        return PinPlan::not_pinned(
            "hwloc cannot bind threads on this system",
            fallback_threads(node),
        );
    }
    let binding = match topology.cpu_binding(CpuBindingFlags::PROCESS) {
        Ok(set) => set,
        Err(e) => {
            return PinPlan::not_pinned(
                format!("cannot read the process's CPU binding: {e}"),
                fallback_threads(node),
            )
        }
    };
    plan_with(Arc::new(topology), &binding, node)
}

/// The decision of [`plan_for`], given the topology and the process's binding.
fn plan_with(topology: Arc<Topology>, binding: &CpuSet, node: &NodeInfo) -> PinPlan {
    let allowed = topology.cpuset().clone_target() & topology.allowed_cpuset().clone_target();
    let mut node_cores = cores_within(&topology, ObjectType::Core, &allowed);
    if node_cores.is_empty() {
        // A topology without a core level: its PUs stand in for cores.
        node_cores = cores_within(&topology, ObjectType::PU, &allowed);
    }
    if node_cores.is_empty() {
        return PinPlan::not_pinned(
            "hwloc found no cores this process may use",
            fallback_threads(node),
        );
    }
    let bound = allowed.clone() & binding;
    if bound.is_empty() {
        return PinPlan::not_pinned(
            format!(
                "the process is bound to PUs {} outside its allowed PUs {}",
                pu_list(binding),
                pu_list(&allowed)
            ),
            fallback_threads(node),
        );
    }
    if bound.includes(&allowed) {
        split_plan(topology, node_cores, node)
    } else {
        launcher_plan(topology, &node_cores, &bound, node)
    }
}

/// Rule 2: the process is unbound; split the node's cores.
fn split_plan(topology: Arc<Topology>, node_cores: Vec<PlanCore>, node: &NodeInfo) -> PinPlan {
    let total = node_cores.len();
    let share = match split_cores(total, node.local_rank, node.local_size) {
        Ok(s) => s,
        Err(e) => return PinPlan::not_pinned(e.to_string(), fallback_threads(node)),
    };
    let cores: Vec<PlanCore> = node_cores
        .into_iter()
        .skip(share.cores.start)
        .take(share.cores.len())
        .collect();
    let mut notes = Vec::new();
    if share.shared_with > 0 {
        notes.push(format!(
            "shared with {} other rank{}",
            share.shared_with,
            plural(share.shared_with)
        ));
    }
    if share.oversubscribed {
        notes.push(format!(
            "oversubscribed: {} ranks share {total} core{}",
            node.local_size,
            plural(total)
        ));
    }
    let pus = pu_count(&cores);
    PinPlan::pinned(PinnedParts {
        topology,
        cores,
        threads: pus,
        one_core_per_thread: share.shared_with == 0,
        shared_with: share.shared_with,
        oversubscribed: share.oversubscribed,
        placement: Placement::Split,
        notes,
    })
}

/// Rule 3: the launcher bound the process to `bound`, narrower than the
/// node; keep it.
fn launcher_plan(
    topology: Arc<Topology>,
    node_cores: &[PlanCore],
    bound: &CpuSet,
    node: &NodeInfo,
) -> PinPlan {
    let cores: Vec<PlanCore> = node_cores
        .iter()
        .filter_map(|c| {
            let set = c.set.clone() & bound;
            (!set.is_empty()).then_some(PlanCore {
                index: c.index,
                set,
            })
        })
        .collect();
    // Ranks presumed to share this set: how many sets of this size the node
    // would need to hold for all its ranks, per set it has room for.
    let users = (node.local_size * cores.len())
        .div_ceil(node_cores.len())
        .clamp(1, node.local_size.max(1));
    let oversubscribed = node.local_size > node_cores.len();
    let mut notes = vec!["bound by the launcher".to_string()];
    if users > 1 {
        notes.push(format!(
            "likely shared with {} other rank{}",
            users - 1,
            plural(users - 1)
        ));
    }
    if oversubscribed {
        notes.push(format!(
            "oversubscribed: {} ranks share {} core{}",
            node.local_size,
            node_cores.len(),
            plural(node_cores.len())
        ));
    }
    let threads = (pu_count(&cores) / users).max(1);
    PinPlan::pinned(PinnedParts {
        topology,
        cores,
        threads,
        one_core_per_thread: users == 1,
        shared_with: users - 1,
        oversubscribed,
        placement: Placement::Launcher,
        notes,
    })
}

/// What a pinned plan is made of.
struct PinnedParts {
    topology: Arc<Topology>,
    cores: Vec<PlanCore>,
    threads: usize,
    one_core_per_thread: bool,
    shared_with: usize,
    oversubscribed: bool,
    placement: Placement,
    notes: Vec<String>,
}

impl PinPlan {
    fn pinned(p: PinnedParts) -> PinPlan {
        let indices: Vec<usize> = p.cores.iter().map(|c| c.index).collect();
        let mut description = describe_cores(&indices);
        if !p.notes.is_empty() {
            description.push_str(&format!(" ({})", p.notes.join("; ")));
        }
        let mut cpuset = CpuSet::new();
        for c in &p.cores {
            cpuset |= &c.set;
        }
        PinPlan {
            cores: p.cores,
            cpuset: Some(cpuset),
            threads: p.threads.max(1),
            one_core_per_thread: p.one_core_per_thread,
            shared_with: p.shared_with,
            oversubscribed: p.oversubscribed,
            placement: p.placement,
            description,
            not_pinned_reason: None,
            topology: Some(p.topology),
            failures: Arc::default(),
        }
    }
}

/// Objects of type `kind` with PUs in `allowed`, in logical order, each with
/// its allowed PUs.
fn cores_within(topology: &Topology, kind: ObjectType, allowed: &CpuSet) -> Vec<PlanCore> {
    let mut cores: Vec<PlanCore> = topology
        .objects_with_type(kind)
        .filter_map(|obj| {
            let set = obj.cpuset()?.clone_target() & allowed;
            (!set.is_empty()).then(|| PlanCore {
                index: obj.logical_index(),
                set,
            })
        })
        .collect();
    cores.sort_by_key(|c| c.index);
    cores
}

fn pu_count(cores: &[PlanCore]) -> usize {
    cores
        .iter()
        .map(|c| c.set.weight().unwrap_or(1).max(1))
        .sum()
}

/// Threads for a plan that does not pin: the CPUs this process may use,
/// divided among the node's ranks.
fn fallback_threads(node: &NodeInfo) -> usize {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    (cpus / node.local_size.max(1)).max(1)
}

/// Bind the calling thread to its core of `plan`: worker `thread_index`
/// goes to core `thread_index mod n` when the plan gives each thread one
/// core, else to all the plan's cores. Does nothing for a plan that does
/// not pin. Made for rayon's `start_handler` (see [`pinned_pool_builder`]).
///
/// # Errors
/// [`Error::ResourcesExhausted`] if the OS refuses the binding (the thread
/// keeps running where it was).
pub fn pin_current_thread(plan: &PinPlan, thread_index: usize) -> Result<()> {
    let (Some(topology), Some(target)) = (plan.topology.as_deref(), plan.target(thread_index))
    else {
        return Ok(());
    };
    topology
        .bind_cpu(target, CpuBindingFlags::THREAD)
        .map_err(|e| {
            Error::ResourcesExhausted(format!(
                "cannot pin worker thread {thread_index} to {}: {e}",
                plan.target_cores(thread_index)
            ))
        })
}

/// A rayon pool builder for this rank's workers: `threads` threads (at
/// least 1) named `chunkwise-worker-{i}`, each pinning itself with
/// [`pin_current_thread`] as it starts. A thread that cannot be pinned
/// runs unpinned; the failure is recorded in `plan`
/// ([`PinPlan::pin_failures`], [`PinPlan::check_pool`]).
///
/// ```
/// use chunkwise::comm::{Comm, LocalComm};
/// use chunkwise::session::pinning::{pinned_pool_builder, plan_for};
/// let plan = plan_for(&LocalComm::new().node());
/// let pool = pinned_pool_builder(&plan, 2).build().unwrap();
/// pool.install(|| assert!(rayon::current_thread_index().is_some()));
/// assert!(plan.check_pool(&pool).is_ok(), "{:?}", plan.pin_failures());
/// ```
pub fn pinned_pool_builder(plan: &PinPlan, threads: usize) -> rayon::ThreadPoolBuilder {
    let builder = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .thread_name(|i| format!("chunkwise-worker-{i}"));
    if !plan.is_pinned() {
        return builder;
    }
    let plan = plan.clone();
    builder.start_handler(move |i| match pin_current_thread(&plan, i) {
        Ok(()) => {}
        Err(Error::ResourcesExhausted(message)) => plan.failures.record(message),
        Err(other) => plan.failures.record(other.to_string()),
    })
}

/// `core 3`, `cores 0-3`, `cores 0,2,5-7`, `no cores`.
fn describe_cores(indices: &[usize]) -> String {
    match indices.len() {
        0 => "no cores".to_string(),
        1 => format!("core {}", index_list(indices)),
        _ => format!("cores {}", index_list(indices)),
    }
}

/// Ascending indices as ranges: `0-3`, `0,2,5-7`.
fn index_list(indices: &[usize]) -> String {
    let mut sorted = indices.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut parts = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let start = sorted[i];
        let mut end = start;
        while i + 1 < sorted.len() && sorted[i + 1] == end + 1 {
            i += 1;
            end = sorted[i];
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        i += 1;
    }
    parts.join(",")
}

/// A cpuset as hwloc's list (`0-3`), without the `CpuSet(…)` wrapper.
fn pu_list(set: &CpuSet) -> String {
    let bitmap: &Bitmap = set.as_ref();
    bitmap.to_string()
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

#[cfg(test)]
mod tests;
