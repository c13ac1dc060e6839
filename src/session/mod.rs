//! Start-up, configuration, and the one place that wires the pipeline:
//! expression → optimize → lower to a task graph → execute.

pub mod pinning;
pub mod settings;
pub mod topology;

use crate::comm::{Comm, LocalComm};
use crate::error::{Error, Result};
use crate::exec::{self, ExecOptions, ExecStats};
use crate::expr::wire::{self, StoredChunks};
use crate::expr::Expr;
use crate::kernel::source::SourceSpec;
use crate::kernel::structure::{self, Piece};
use crate::kernel::Chunk;
use crate::kernel::ChunkSource;
use crate::lower::{self, Lowered, Value};
use crate::optimize::{self, Optimized};
use std::cell::RefCell;
use std::fmt::Write;
use std::rc::Rc;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Weak};

/// Collective: whether any rank failed. `Ok` on every rank, or the same
/// error on every rank (the lowest failing rank's, naming it when there are several ranks).
pub fn agree(comm: &dyn Comm, local: Result<()>) -> Result<()> {
    if !comm.any(local.is_err())? {
        return Ok(());
    }
    let mine = match local {
        Err(e) if comm.size() > 1 => e
            .with_message(format!(
                "{} (on rank {} of {})",
                e.message(),
                comm.rank(),
                comm.size()
            ))
            .to_bytes(),
        Err(e) => e.to_bytes(),
        Ok(()) => Vec::new(),
    };
    let all = comm.all_gather_bytes(&mine)?;
    Err(all
        .iter()
        .find_map(|b| Error::from_bytes(b))
        .unwrap_or_else(|| Error::internal("a rank failed without a message")))
}

/// Rank `root`'s plan on every rank: `root` passes `Some(plan)`, the others
/// `None`, and all get the same plan back, its sources opened on each rank
/// through `open` (the interactive modes' driver on rank 0, DESIGN: "rank 0
/// evaluates the script, and broadcasts each plan"). See [`crate::expr::wire`].
///
/// # Collective
/// Call on every rank, in the same order.
///
/// # Errors
/// The same error on every rank: the root's if the plan cannot be sent
/// (`map_blocks`, say), else the first failing rank's if a rank cannot open a
/// source the plan reads.
pub fn broadcast_plan(
    comm: &dyn Comm,
    root: usize,
    plan: Option<&Expr>,
    open: &mut dyn FnMut(&SourceSpec) -> Result<std::sync::Arc<dyn ChunkSource>>,
) -> Result<Expr> {
    let mut buf = Vec::new();
    let mut encoded = Ok(());
    if comm.rank() == root {
        match plan.map(wire::encode) {
            Some(Ok(b)) => buf = b,
            Some(Err(e)) => encoded = Err(e),
            None => encoded = Err(Error::internal("broadcast_plan: the root has no plan")),
        }
    }
    agree(comm, encoded)?;
    comm.broadcast_bytes(root, &mut buf)?;
    let decoded = if comm.rank() == root {
        plan.cloned()
            .ok_or_else(|| Error::internal("broadcast_plan: the root has no plan"))
    } else {
        wire::decode(&buf, open)
    };
    let (ok, plan) = match decoded {
        Ok(p) => (Ok(()), Some(p)),
        Err(e) => (Err(e), None),
    };
    agree(comm, ok)?;
    plan.ok_or_else(|| Error::internal("broadcast_plan: no plan after agreement"))
}

/// Settings of a session. Built from the environment by [`Config::from_env`]
/// (`CHUNKWISE_THREADS`, `CHUNKWISE_MEMORY_LIMIT`).
#[derive(Debug, Clone)]
pub struct Config {
    /// Worker threads; 0 (the default): one per hardware thread of the cores this
    /// rank is given (ranks of a node split its cores, see [`pinning`]).
    pub threads: usize,
    /// Refuse plans projected to need more bytes per rank (default: 75% of RAM).
    pub memory_limit: u64,
    /// Shuffle task order (tests only: results must not depend on it).
    pub shuffle_seed: Option<u64>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            threads: 0,
            memory_limit: physical_memory().map(|m| m / 4 * 3).unwrap_or(4 << 30),
            shuffle_seed: None,
        }
    }
}

impl Config {
    /// Defaults overridden by `CHUNKWISE_THREADS` and `CHUNKWISE_MEMORY_LIMIT`
    /// (bytes, or with a unit: `512MiB`, `4GiB`, `2GB`).
    pub fn from_env() -> Result<Config> {
        let mut c = Config::default();
        if let Ok(t) = std::env::var("CHUNKWISE_THREADS") {
            c.threads = t.parse().map_err(|_| {
                Error::plan(format!(
                    "CHUNKWISE_THREADS={t:?} is not a number of threads"
                ))
            })?;
        }
        if let Ok(m) = std::env::var("CHUNKWISE_MEMORY_LIMIT") {
            c.memory_limit = parse_bytes(&m).ok_or_else(|| {
                Error::plan(format!("CHUNKWISE_MEMORY_LIMIT={m:?} is not a size (examples: 800000000, 512MiB, 4GiB)"))
            })?;
        }
        Ok(c)
    }
}

/// Parse `123`, `512MiB`, `4GiB`, `2GB`, `1.5TiB`.
pub fn parse_bytes(s: &str) -> Option<u64> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let v: f64 = num.parse().ok()?;
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "m" | "mb" => 1e6,
        "g" | "gb" => 1e9,
        "t" | "tb" => 1e12,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        "tib" => 1024.0f64.powi(4),
        _ => return None,
    };
    Some((v * mult) as u64)
}

/// This process's resident memory (`VmRSS` of `/proc/self/status`), if the
/// system reports it.
pub fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn physical_memory() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// A running session: configuration, this rank's thread pool, and the job's ranks.
///
/// A session lives on the thread that talks to the other ranks (MPI is called from
/// one thread), so it is neither `Send` nor `Sync`.
pub struct Session {
    config: Config,
    pool: rayon::ThreadPool,
    comm: Rc<dyn Comm>,
    /// Rank 0 draws a progress bar: `CHUNKWISE_PROGRESS=1` or `0`, else when
    /// standard error is a terminal.
    progress: bool,
    /// Rank 0 stops computations when this is set (see [`ExecOptions::cancel`]).
    cancel: RefCell<Option<Arc<AtomicBool>>>,
    /// Rank 0 reports progress here (see [`exec::Observer`]).
    observer: RefCell<Option<exec::Observer>>,
    /// See [`Session::set_lead`].
    lead: RefCell<Option<LeadHook>>,
    /// Persisted arrays by id, in the order they were persisted (the same on
    /// every rank, since persisting is collective).
    persisted: RefCell<Vec<(u64, Weak<StoredChunks>)>>,
    next_persisted: std::cell::Cell<u64>,
    /// Tasks this rank has run in this session.
    tasks_run: std::cell::Cell<u64>,
}

/// What rank 0 calls before each collective computation when it alone
/// evaluates a script: it sends the other ranks the plan (the expression,
/// and whether every rank gets the whole result) so they run it too. See
/// [`Session::set_lead`].
pub type LeadHook = Rc<dyn Fn(&Session, &Expr, bool) -> Result<()>>;

/// A plan ready to run, and how it was made.
pub struct Planned {
    pub optimized: Optimized,
    pub lowered: Lowered,
}

impl Session {
    /// A one-rank session in this process (no MPI).
    pub fn new(config: Config) -> Result<Session> {
        Session::with_comm(config, Rc::new(LocalComm::new()))
    }

    /// A session over the ranks of `comm`: every rank of the job creates one, and
    /// computations are shared among them.
    pub fn with_comm(config: Config, comm: Rc<dyn Comm>) -> Result<Session> {
        // Each worker pins itself to a core of this rank's share of the node.
        let plan = pinning::plan_for(&comm.node());
        let mut config = config;
        if config.threads == 0 {
            config.threads = plan.threads().max(1);
        }
        let pool = pinning::pinned_pool_builder(&plan, config.threads)
            .build()
            .map_err(|e| Error::internal(format!("cannot start the thread pool: {e}")))?;
        let progress = match std::env::var("CHUNKWISE_PROGRESS").as_deref() {
            Ok("1") => true,
            Ok("0") => false,
            _ => std::io::IsTerminal::is_terminal(&std::io::stderr()),
        };
        Ok(Session {
            config,
            pool,
            comm,
            progress,
            cancel: RefCell::new(None),
            observer: RefCell::new(None),
            lead: RefCell::new(None),
            persisted: RefCell::new(Vec::new()),
            next_persisted: std::cell::Cell::new(1),
            tasks_run: std::cell::Cell::new(0),
        })
    }

    /// The settings, with the thread count the pool actually has.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// With rank 0's progress bar on or off, whatever `CHUNKWISE_PROGRESS`
    /// and the terminal say (a setting from a flag or a config file, see
    /// [`settings`]).
    pub fn with_progress(mut self, on: bool) -> Session {
        self.progress = on;
        self
    }

    /// Whether rank 0 draws a progress bar.
    pub fn progress(&self) -> bool {
        self.progress
    }

    /// The job's ranks.
    pub fn comm(&self) -> &dyn Comm {
        &*self.comm
    }

    /// The flag with which rank 0 stops running computations on every rank
    /// (they fail with [`Error::Cancelled`]); `None` for none.
    pub fn set_cancel(&self, flag: Option<Arc<AtomicBool>>) {
        *self.cancel.borrow_mut() = flag;
    }

    /// Where rank 0 reports the progress of computations; `None` for nowhere.
    pub fn set_observer(&self, observer: Option<exec::Observer>) {
        *self.observer.borrow_mut() = observer;
    }

    /// Rank 0 alone evaluates a script and the other ranks wait for work
    /// (`chunkwise run`, `shell`, `serve`): `hook` is called before every
    /// collective computation of this session (see [`LeadHook`]) to send the
    /// plan, so that library calls that compute (a merge's conflict check,
    /// say) bring the other ranks along. `None` to stop.
    pub fn set_lead(&self, hook: Option<LeadHook>) {
        *self.lead.borrow_mut() = hook;
    }

    /// Run `f` with the lead hook off: for work that every rank does alike
    /// (a write that rank 0 has sent as a whole).
    pub fn without_lead<T>(&self, f: impl FnOnce() -> T) -> T {
        let hook = self.lead.borrow_mut().take();
        let out = f();
        *self.lead.borrow_mut() = hook;
        out
    }

    fn lead(&self, e: &Expr, gather: bool) -> Result<()> {
        let hook = self.lead.borrow().clone();
        match hook {
            Some(h) => h(self, e, gather),
            None => Ok(()),
        }
    }

    /// Tasks this rank has run in this session.
    pub fn tasks_run(&self) -> u64 {
        self.tasks_run.get()
    }

    /// Record persisted chunks; their id, the same on every rank.
    pub fn register_persisted(&self, chunks: &Arc<StoredChunks>) -> u64 {
        let id = self.next_persisted.get();
        self.next_persisted.set(id + 1);
        self.persisted
            .borrow_mut()
            .push((id, Arc::downgrade(chunks)));
        id
    }

    /// The id of persisted chunks, if this session persisted them.
    pub fn persisted_id(&self, chunks: &Arc<StoredChunks>) -> Option<u64> {
        let p = Arc::as_ptr(chunks);
        self.persisted
            .borrow()
            .iter()
            .find(|(_, w)| std::ptr::eq(w.as_ptr(), p))
            .map(|(id, _)| *id)
    }

    /// This rank's chunks of the persisted array `id`, if they are still held.
    pub fn persisted(&self, id: u64) -> Option<Arc<StoredChunks>> {
        self.persisted
            .borrow()
            .iter()
            .find(|(i, _)| *i == id)
            .and_then(|(_, w)| w.upgrade())
    }

    /// The ids of persisted arrays no longer held on this rank, forgotten.
    pub fn take_released(&self) -> Vec<u64> {
        let mut gone = Vec::new();
        self.persisted.borrow_mut().retain(|(id, w)| {
            let live = w.strong_count() > 0;
            if !live {
                gone.push(*id);
            }
            live
        });
        gone
    }

    /// Make this the session that [`global`] returns on this thread (what
    /// `Array::compute` uses). The binary installs one over MPI at start-up.
    pub fn install(self) -> Rc<Session> {
        let s = Rc::new(self);
        GLOBAL.with(|g| *g.borrow_mut() = Some(s.clone()));
        s
    }

    /// Optimise and lower `e`.
    pub fn plan(&self, e: &Expr) -> Result<Planned> {
        let optimized = optimize::optimize(e, &optimize::default_rules())?;
        let lowered = lower::lower(&optimized.expr)?;
        Ok(Planned { optimized, lowered })
    }

    /// Run the plan and return its output chunks in C order.
    pub fn compute_chunks(&self, e: &Expr) -> Result<(Vec<Chunk>, ExecStats)> {
        self.lead(e, true)?;
        let planned = self.plan(e)?;
        let (chunks, stats) = self.run_planned(&planned, true)?;
        let n = planned
            .lowered
            .graph
            .layer(planned.lowered.output)
            .num_tasks();
        if chunks.len() != n {
            return Err(Error::internal(format!(
                "{} of {n} output chunks computed",
                chunks.len()
            )));
        }
        Ok((chunks.into_iter().map(|(_, c)| c).collect(), stats))
    }

    /// Run the plan and return only the output chunks this rank computed, by
    /// chunk number (C order over `e.grid()`, see [`crate::meta::ChunkGrid::unravel`]
    /// and `chunk_offset` to place them), in increasing order. No chunk is sent
    /// to another rank at the end: writers use this so that every rank writes
    /// its own chunks and none holds the whole result.
    ///
    /// # Collective
    /// Call on every rank with the same expression; errors are collective (every
    /// rank returns the same one).
    pub fn compute_owned(&self, e: &Expr) -> Result<Vec<(usize, Chunk)>> {
        self.lead(e, false)?;
        let planned = self.plan(e)?;
        Ok(self.run_planned(&planned, false)?.0)
    }

    /// Execute a plan; the output layer's chunks (all of them, or this rank's
    /// when `gather` is false), sorted by chunk number.
    fn run_planned(
        &self,
        planned: &Planned,
        gather: bool,
    ) -> Result<(Vec<(usize, Chunk)>, ExecStats)> {
        let opts = ExecOptions {
            memory_limit: self.config.memory_limit,
            max_wave: 0,
            shuffle_seed: self.config.shuffle_seed,
            progress: self.progress,
            gather_outputs: gather,
            cancel: self.cancel.borrow().clone(),
            observer: self.observer.borrow().clone(),
        };
        let (mut outputs, stats) = exec::execute(
            &planned.lowered.graph,
            &planned.lowered,
            &self.pool,
            &*self.comm,
            &opts,
        )?;
        self.tasks_run
            .set(self.tasks_run.get() + stats.tasks_run as u64);
        let mut chunks = outputs.remove(&planned.lowered.output).unwrap_or_default();
        chunks.sort_unstable_by_key(|(c, _)| *c);
        let chunks = chunks
            .into_iter()
            .map(|(i, v)| match v {
                Value::Chunk(c) => Ok((
                    i,
                    std::sync::Arc::try_unwrap(c).unwrap_or_else(|c| (*c).clone()),
                )),
                Value::Partial(_) => Err(Error::internal("the output is a partial reduction")),
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((chunks, stats))
    }

    /// Run the plan and assemble the whole result in memory.
    pub fn compute(&self, e: &Expr) -> Result<Chunk> {
        let (chunks, _) = self.compute_chunks(e)?;
        let grid = e.grid();
        if chunks.len() == 1 {
            return chunks
                .into_iter()
                .next()
                .ok_or_else(|| Error::internal("no output chunk"));
        }
        let pieces: Vec<Piece<'_>> = chunks
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let idx = grid.unravel(i);
                Piece {
                    src: c,
                    src_start: vec![0; idx.len()],
                    dst_start: grid.chunk_offset(&idx),
                    extent: grid.chunk_shape(&idx),
                }
            })
            .collect();
        structure::assemble(e.dtype(), &grid.shape(), &pieces)
    }

    /// The plan as text: rules applied, layers with their task counts and what was
    /// fused, and the projected peak memory per rank.
    pub fn explain(&self, e: &Expr) -> Result<String> {
        let p = self.plan(e)?;
        let g = &p.lowered.graph;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "plan: {} layers, {} tasks ({} after culling), result {} {:?} chunks {:?}",
            g.layers().len(),
            g.num_tasks(),
            g.num_needed_tasks(),
            e.dtype(),
            e.shape(),
            e.grid().numblocks()
        );
        let rules: Vec<String> = p
            .optimized
            .applied
            .iter()
            .map(|(r, n)| format!("{r} x{n}"))
            .collect();
        let _ = writeln!(s, "rules: {}", rules.join(", "));
        for (i, l) in g.layers().iter().enumerate() {
            let ins: Vec<String> = l.inputs.iter().map(|e| e.layer.0.to_string()).collect();
            let _ = writeln!(
                s,
                "  layer {i:>2}: {:<60} tasks {:>8}  grid {:?}  chunk {}{}",
                l.name,
                l.num_tasks(),
                l.numblocks,
                exec::human_bytes(l.chunk_bytes),
                if ins.is_empty() {
                    String::new()
                } else {
                    format!("  <- {}", ins.join(", "))
                }
            );
        }
        let proj = exec::projected_peak(g, self.config.threads);
        let _ = writeln!(
            s,
            "projected peak memory per rank: {} ({}); limit {}",
            exec::human_bytes(proj.peak),
            proj.explain(),
            exec::human_bytes(self.config.memory_limit)
        );
        Ok(s)
    }
}

thread_local! {
    static GLOBAL: RefCell<Option<Rc<Session>>> = const { RefCell::new(None) };
}

/// Drop this thread's installed session (and with it its communicator, once
/// nothing else holds it): a program that installed an MPI session calls this
/// before it ends, so that MPI is finalised while the program still runs.
pub fn uninstall() {
    GLOBAL.with(|g| g.borrow_mut().take());
}

/// This thread's default session: the one [`Session::install`]ed, or else a
/// one-rank session configured from the environment, made on first use.
pub fn global() -> Result<Rc<Session>> {
    GLOBAL.with(|g| {
        if let Some(s) = g.borrow().as_ref() {
            return Ok(s.clone());
        }
        let s = Rc::new(Session::new(Config::from_env()?)?);
        *g.borrow_mut() = Some(s.clone());
        Ok(s)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn sizes_parse_with_units() {
        assert_eq!(parse_bytes("512MiB"), Some(512 << 20));
        assert_eq!(parse_bytes("2GB"), Some(2_000_000_000));
        assert_eq!(parse_bytes("100"), Some(100));
        assert_eq!(parse_bytes("lots"), None);
    }
}
