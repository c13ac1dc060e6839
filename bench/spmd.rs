//! SPMD scenario benchmarks: the runtime over MPI, meant to run under `mpirun`
//! (started without it, the binary is a job of one rank). Every rank runs the same
//! scenario; only rank 0 prints. Results in `bench/RESULTS.md`.
//!
//! - `overhead`: per-task cost of `exec::execute` over the job's ranks, with tasks
//!   that do nothing, on the graph of `bench/scenarios.rs`'s `overhead` (100,000
//!   source tasks and a reduction tree of fan-in 16). On one rank it also runs the
//!   in-process engine (`LocalComm`) for comparison.
//! - `seed`: `(x + x.T - x.mean(axis=0)).std()` on an `n`x`n` uniform random array in
//!   1000x1000 chunks, on a session over the job's ranks (`--threads` each). Prints
//!   the result and its bits; `--local` uses the in-process engine instead (one rank
//!   only), to compare the bits.
//! - `pb-plan`: a plan shaped like a petabyte computation: an array of `--chunks`
//!   chunks (a 2-D grid of `--chunk`-sided chunks), 100 elementwise operations and a
//!   sum; times `Session::plan`, then dry-runs the lowered graph with tasks that do
//!   nothing, and reports tasks per second, messages and rank 0's memory. Run one
//!   chunk count per job: the peak resident set is the process's.
//!
//! ```text
//! mpirun -n 2 <binary> [overhead|seed|pb-plan|all] [--runs 5] [--threads 1]
//!     [--tasks 100000] [--n 20000] [--local] [--chunks 1000000] [--chunk 1000]
//! ```
//!
//! `all` runs `overhead` and `seed`. Each time is the median of `--runs` runs after
//! one warm-up run, and is the slowest rank's (ranks start each run together, after
//! a barrier). `bench/mpi.sh` builds the binary and runs it under `mpirun`.

use anyhow::{bail, Context, Result};
use chunkwise::comm::{Comm, LocalComm, MpiComm};
use chunkwise::exec::{execute, ExecOptions, ExecStats, TaskRunner};
use chunkwise::graph::{DimMap, Edge, Graph, Layer, LayerId};
use chunkwise::prelude::*;
use chunkwise::session::{Config, Session};
use std::rc::Rc;
use std::time::{Duration, Instant};

struct Args {
    what: String,
    runs: usize,
    threads: usize,
    tasks: usize,
    n: usize,
    local: bool,
    chunks: usize,
    chunk: usize,
    /// `ExecOptions::max_wave` for the dry runs (0: the executor's choice).
    wave: usize,
}

fn parse_args() -> Result<Args> {
    let mut a = Args {
        what: "all".to_string(),
        runs: 5,
        threads: 1,
        tasks: 100_000,
        n: 20_000,
        local: false,
        chunks: 1_000_000,
        chunk: 1000,
        wave: 0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(s) = it.next() {
        let mut num = |name: &str| -> Result<usize> {
            it.next()
                .with_context(|| format!("{name} needs a value"))?
                .parse()
                .with_context(|| format!("{name} needs a whole number"))
        };
        match s.as_str() {
            "--runs" => a.runs = num("--runs")?.max(1),
            "--threads" => a.threads = num("--threads")?.max(1),
            "--tasks" => a.tasks = num("--tasks")?.max(1),
            "--n" => a.n = num("--n")?,
            "--chunks" => a.chunks = num("--chunks")?.max(1),
            "--chunk" => a.chunk = num("--chunk")?.max(1),
            "--wave" => a.wave = num("--wave")?,
            "--local" => a.local = true,
            // cargo bench passes this to every bench target.
            "--bench" => {}
            "overhead" | "seed" | "pb-plan" | "all" => a.what = s,
            other => bail!(
                "unknown argument {other:?}; expected overhead, seed, pb-plan, all, --runs R, \
                 --threads T, --tasks T, --n N, --local, --chunks C, --chunk S, --wave W"
            ),
        }
    }
    Ok(a)
}

/// Wall time of one collective run: the slowest rank's.
///
/// # Collective
/// Call on every rank, in the same order.
fn slowest(comm: &dyn Comm, t: Duration) -> Result<Duration> {
    let ns = comm.all_reduce_max_u64(t.as_nanos() as u64)?;
    Ok(Duration::from_nanos(ns))
}

/// The median of `times` (sorted copy).
fn median(times: &[Duration]) -> Duration {
    let mut s = times.to_vec();
    s.sort();
    s[s.len() / 2]
}

fn fmt_times(ts: &[Duration]) -> String {
    let v: Vec<String> = ts
        .iter()
        .map(|t| format!("{:.4}", t.as_secs_f64()))
        .collect();
    v.join(" ")
}

fn load1() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_default()
}

/// A line of `/proc/self/status` in KiB (`VmRSS`, `VmHWM`), 0 if unavailable.
fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field) && l[field.len()..].starts_with(':'))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|k| k.parse().ok())
        })
        .unwrap_or(0)
}

/// CPU time this process has used (user + system), from `/proc/self/stat`.
fn cpu_time() -> Duration {
    let ticks = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            // Fields after the command name (which may hold spaces), from field 3 on.
            let rest = s.get(s.rfind(')')? + 2..)?.to_string();
            let f: Vec<u64> = rest
                .split_whitespace()
                .skip(11)
                .take(2)
                .filter_map(|x| x.parse().ok())
                .collect();
            Some(f.iter().sum::<u64>())
        })
        .unwrap_or(0);
    // The kernel reports clock ticks of 1/100 s (USER_HZ) on every common platform.
    Duration::from_millis(ticks * 10)
}

/// Reset the process's peak resident set (`VmHWM`) to its current size (Linux's
/// `clear_refs` 5); false if the kernel refused.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn machine_info(comm: &dyn Comm) {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".to_string());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "machine: CPU {cpu}; rank 0 may use {cores} cores; {} ranks ({} per node); {}",
        comm.size(),
        comm.node().local_size,
        comm.library_version()
    );
    println!(
        "load average (1/5/15 min) at start: {}",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
}

/// A runner whose tasks do nothing and whose values are empty.
struct Noop;

impl TaskRunner for Noop {
    type Value = ();
    fn run(&self, _: LayerId, _: usize, _: &[Vec<&()>]) -> chunkwise::Result<()> {
        Ok(())
    }
    fn nbytes(&self, _: &()) -> usize {
        0
    }
    fn encode(&self, _: &(), _: &mut Vec<u8>) {}
    fn decode(&self, _: &[u8]) -> chunkwise::Result<()> {
        Ok(())
    }
}

/// A 1-D source layer of `n` tasks and a tree of fan-in 16 above it, down to one
/// task (the graph of `bench/scenarios.rs`'s `overhead`).
fn tree_graph(n: usize) -> Result<Graph> {
    const FACTOR: usize = 16;
    let mut layers = vec![Layer {
        name: "source".to_string(),
        numblocks: vec![n],
        inputs: Vec::new(),
        chunk_bytes: 0,
        total_bytes: 0,
        pinned: false,
    }];
    let mut width = n;
    while width > 1 {
        let next = width.div_ceil(FACTOR);
        layers.push(Layer {
            name: format!("combine-{}", layers.len()),
            numblocks: vec![next],
            inputs: vec![Edge {
                layer: LayerId(layers.len() as u32 - 1),
                dims: vec![DimMap::Block {
                    out: 0,
                    factor: FACTOR,
                    n: width,
                }],
            }],
            chunk_bytes: 0,
            total_bytes: 0,
            pinned: false,
        });
        width = next;
    }
    let out = LayerId(layers.len() as u32 - 1);
    Ok(Graph::new(layers, vec![out])?)
}

/// What one dry run did, over all ranks.
struct DryRun {
    /// The slowest rank's time.
    elapsed: Duration,
    /// Tasks run, messages and bytes sent: sums over the ranks.
    tasks_run: u64,
    messages: u64,
    bytes: u64,
    /// Rank 0's own figures.
    rank0: ExecStats,
}

/// Execute `graph` with no-op tasks on every rank of `comm`, starting together.
///
/// # Collective
/// Call on every rank, in the same order.
fn dry_run(
    graph: &Graph,
    pool: &rayon::ThreadPool,
    comm: &dyn Comm,
    wave: usize,
) -> Result<DryRun> {
    let opts = ExecOptions {
        max_wave: wave,
        ..ExecOptions::default()
    };
    comm.barrier()?;
    let (_, stats) = execute(graph, &Noop, pool, comm, &opts)?;
    Ok(DryRun {
        elapsed: slowest(comm, stats.elapsed)?,
        tasks_run: comm.all_reduce_sum_u64(stats.tasks_run as u64)?,
        messages: comm.all_reduce_sum_u64(stats.messages_sent as u64)?,
        bytes: comm.all_reduce_sum_u64(stats.bytes_sent)?,
        rank0: stats,
    })
}

/// `--runs` dry runs after a warm-up one; the median time and the last run.
///
/// # Collective
/// Call on every rank, in the same order.
fn dry_runs(
    graph: &Graph,
    pool: &rayon::ThreadPool,
    comm: &dyn Comm,
    a: &Args,
) -> Result<(Duration, Vec<Duration>, DryRun)> {
    let mut last = dry_run(graph, pool, comm, a.wave)?;
    let mut times = Vec::with_capacity(a.runs);
    for _ in 0..a.runs {
        last = dry_run(graph, pool, comm, a.wave)?;
        times.push(last.elapsed);
    }
    Ok((median(&times), times, last))
}

fn pool(threads: usize) -> Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("building the thread pool")
}

/// Per-task overhead of the executor over the job's ranks.
///
/// # Collective
/// Call on every rank, in the same order.
fn overhead(a: &Args, comm: &dyn Comm) -> Result<()> {
    let graph = tree_graph(a.tasks)?;
    let ntasks = graph.num_needed_tasks();
    let pool = pool(a.threads)?;
    let ranks = comm.size();
    let mut engines: Vec<(&str, &dyn Comm)> = vec![("MpiComm", comm)];
    let local = LocalComm::new();
    if ranks == 1 {
        engines.push(("LocalComm (in-process)", &local));
    }
    for (name, c) in engines {
        let load = load1();
        let (med, times, last) = dry_runs(&graph, &pool, c, a)?;
        if last.tasks_run != ntasks as u64 {
            bail!("ran {} of {ntasks} tasks", last.tasks_run);
        }
        if comm.rank() == 0 {
            println!(
                "overhead  {name}, {ranks} rank(s) x {} thread(s), {ntasks} tasks ({} layers; \
                 rank 0 ran {} in {} waves): median {:.4} s = {:.3} us per task per rank \
                 ({:.3} us per task) (runs: {}); {} messages, {} bytes; load {load}",
                a.threads,
                graph.layers().len(),
                last.rank0.tasks_run,
                last.rank0.waves,
                med.as_secs_f64(),
                med.as_secs_f64() * 1e6 * ranks as f64 / ntasks as f64,
                med.as_secs_f64() * 1e6 / ntasks as f64,
                fmt_times(&times),
                last.messages,
                last.bytes
            );
        }
    }
    Ok(())
}

/// The seed expression on a session over the job's ranks (or in-process, `--local`).
///
/// # Collective
/// Call on every rank, in the same order.
fn seed(a: &Args, comm: &Rc<dyn Comm>) -> Result<()> {
    if a.local && comm.size() > 1 {
        bail!("--local runs the in-process engine: start it without mpirun (one rank)");
    }
    let config = Config {
        threads: a.threads,
        ..Config::default()
    };
    let session = if a.local {
        Session::new(config)?
    } else {
        Session::with_comm(config, comm.clone())?
    };
    let x = random::random(&[a.n, a.n], [1000, 1000], 0)?;
    let y = (&x + &x.t() - x.mean(Some(0), false)?).std(None, 0, false)?;
    let expr = y.expr()?;
    let load = load1();
    let mut times = Vec::with_capacity(a.runs);
    let mut cpu = Duration::ZERO;
    let mut last = None;
    for run in 0..=a.runs {
        comm.barrier()?;
        let cpu0 = cpu_time();
        let t = Instant::now();
        // What `y.compute_with(&session)` runs, keeping the executor's figures.
        let (chunks, stats) = session.compute_chunks(expr)?;
        let el = slowest(&**comm, t.elapsed())?;
        if run > 0 {
            cpu += cpu_time().saturating_sub(cpu0);
        }
        let messages = comm.all_reduce_sum_u64(stats.messages_sent as u64)?;
        let bytes = comm.all_reduce_sum_u64(stats.bytes_sent)?;
        if run > 0 {
            times.push(el);
        }
        last = Some((chunks, stats, messages, bytes));
    }
    let Some((chunks, stats, messages, bytes)) = last else {
        bail!("no run");
    };
    // Each rank's CPU time per run (user + system, all its threads).
    let per_run = cpu.as_micros() as u64 / a.runs as u64;
    let cpus = comm.all_gather_bytes(&per_run.to_le_bytes())?;
    let cpus: Vec<String> = cpus
        .iter()
        .map(|b| {
            let us = b.as_slice().try_into().map(u64::from_le_bytes).unwrap_or(0);
            format!("{:.2}", us as f64 / 1e6)
        })
        .collect();
    let v = match chunks.as_slice() {
        [c] if c.len() == 1 => c.to_f64().iter().copied().next().unwrap_or(f64::NAN),
        _ => bail!(
            "the seed expression gave {} chunks, not one scalar",
            chunks.len()
        ),
    };
    if comm.rank() == 0 {
        let engine = if a.local {
            "in-process"
        } else {
            "MpiComm session"
        };
        println!(
            "seed      {engine}, {} rank(s) x {} thread(s), n={}: median {:.3} s (runs: {}) \
             std = {v:.6} (bits {:#018x}); rank 0 ran {} tasks; {messages} messages, {:.1} MiB \
             sent; CPU s per run by rank: {}; load {load}",
            comm.size(),
            session.config().threads,
            a.n,
            median(&times).as_secs_f64(),
            fmt_times(&times),
            v.to_bits(),
            stats.tasks_run,
            bytes as f64 / (1024.0 * 1024.0),
            cpus.join(" "),
        );
    }
    Ok(())
}

/// A grid of `chunks` chunks, as square as an exact factorisation allows.
fn grid_of(chunks: usize) -> (usize, usize) {
    let mut rows = (chunks as f64).sqrt() as usize;
    while rows > 1 && chunks % rows != 0 {
        rows -= 1;
    }
    let rows = rows.max(1);
    (rows, chunks / rows)
}

/// Plan and dry-run a petabyte-shaped computation; rank 0's memory along the way.
///
/// # Collective
/// Call on every rank, in the same order.
fn pb_plan(a: &Args, comm: &Rc<dyn Comm>) -> Result<()> {
    let (rows, cols) = grid_of(a.chunks);
    let shape = [rows * a.chunk, cols * a.chunk];
    let session = Session::with_comm(
        Config {
            threads: a.threads,
            ..Config::default()
        },
        comm.clone(),
    )?;
    let pool = pool(a.threads)?;
    let load = load1();

    let rss0 = status_kib("VmRSS");
    let reset = reset_peak_rss();
    let mut plan_times = Vec::with_capacity(a.runs);
    let mut planned = None;
    for run in 0..=a.runs {
        let t = Instant::now();
        let x = random::random(&shape, [a.chunk, a.chunk], 0)?;
        let mut y = x;
        for _ in 0..50 {
            y = &y * 1.0001 + 0.5;
        }
        let s = y.sum(None, false)?;
        let p = session.plan(s.expr()?)?;
        let el = t.elapsed();
        if run > 0 {
            plan_times.push(el);
        }
        planned = Some(p);
    }
    let Some(planned) = planned else {
        bail!("no plan");
    };
    let plan_med = slowest(&**comm, median(&plan_times))?;
    let hwm_plan = status_kib("VmHWM");

    let graph = &planned.lowered.graph;
    let ntasks = graph.num_needed_tasks();
    let (med, times, last) = dry_runs(graph, &pool, &**comm, a)?;
    if last.tasks_run != ntasks as u64 {
        bail!("ran {} of {ntasks} tasks", last.tasks_run);
    }
    let hwm_exec = status_kib("VmHWM");
    let rss_end = status_kib("VmRSS");
    // Every rank's memory, for rank 0 to print.
    let mut mine = Vec::new();
    for v in [rss0, hwm_plan, hwm_exec] {
        mine.extend_from_slice(&v.to_le_bytes());
    }
    let all = comm.all_gather_bytes(&mine)?;

    if comm.rank() == 0 {
        let bytes: f64 = shape.iter().map(|&d| d as f64).product::<f64>() * 8.0;
        println!(
            "pb-plan   {} chunks ({rows}x{cols} of {}x{}; array {}x{} f64 = {}), \
             {} rank(s) x {} thread(s); load {load}",
            a.chunks,
            a.chunk,
            a.chunk,
            shape[0],
            shape[1],
            if bytes >= 1e15 {
                format!("{:.2} PB", bytes / 1e15)
            } else {
                format!("{:.2} TB", bytes / 1e12)
            },
            comm.size(),
            a.threads
        );
        for (i, l) in graph.layers().iter().enumerate() {
            println!(
                "          layer {i}: {:<50} tasks {:>9} grid {:?}",
                l.name.chars().take(50).collect::<String>(),
                l.num_tasks(),
                l.numblocks
            );
        }
        println!(
            "          plan (Session::plan, with building the expression): median {:.2} ms \
             (the slowest rank's; rank 0's runs: {})",
            plan_med.as_secs_f64() * 1e3,
            plan_times
                .iter()
                .map(|t| format!("{:.2}", t.as_secs_f64() * 1e3))
                .collect::<Vec<_>>()
                .join(" ")
        );
        println!(
            "          dry run: {ntasks} tasks, median {:.4} s = {:.3} M tasks/s (runs: {}); \
             rank 0 ran {} tasks in {} waves; {} messages, {} bytes",
            med.as_secs_f64(),
            ntasks as f64 / med.as_secs_f64() / 1e6,
            fmt_times(&times),
            last.rank0.tasks_run,
            last.rank0.waves,
            last.messages,
            last.bytes
        );
        let peak = if reset {
            "peak since the reset"
        } else {
            "peak of the process (clear_refs refused)"
        };
        for (r, b) in all.iter().enumerate() {
            let kib = |i: usize| {
                b.get(8 * i..8 * i + 8)
                    .and_then(|w| w.try_into().ok())
                    .map(u64::from_le_bytes)
                    .unwrap_or(0)
            };
            let (r0, hp, he) = (kib(0), kib(1), kib(2));
            println!(
                "          rank {r} memory: VmRSS before planning {r0} KiB; VmHWM ({peak}) \
                 after planning {hp} KiB (+{} KiB), after the dry runs {he} KiB (+{} KiB){}",
                hp.saturating_sub(r0),
                he.saturating_sub(r0),
                if r == 0 {
                    format!("; VmRSS at the end {rss_end} KiB")
                } else {
                    String::new()
                }
            );
        }
    }
    Ok(())
}

fn main() -> Result<()> {
    let a = parse_args()?;
    let comm: Rc<dyn Comm> = Rc::new(MpiComm::init().context("could not start MPI")?);
    if comm.rank() == 0 {
        machine_info(&*comm);
    }
    let all = a.what == "all";
    if all || a.what == "overhead" {
        overhead(&a, &*comm)?;
    }
    if all || a.what == "seed" {
        seed(&a, &comm)?;
    }
    if a.what == "pb-plan" {
        pb_plan(&a, &comm)?;
    }
    Ok(())
}
