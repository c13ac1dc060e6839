//! Scenario benchmarks, compared with Dask in `bench/RESULTS.md`:
//!
//! - `seed`: `(x + x.T - x.mean(axis=0)).std()` on an `n`x`n` uniform random array in
//!   1000x1000 chunks (default `n` = 20000), through the public API, on the default
//!   session (`CHUNKWISE_THREADS` threads, default: all cores).
//! - `overhead`: per-task cost of the executor alone, on a graph of 100,000 no-op
//!   source tasks and a reduction tree of fan-in 16 above them, with 1 and 2 threads.
//! - `api-overhead`: per-task cost of the whole stack (plan, lower, execute, kernels):
//!   `zeros(100_000, chunks=1).sum()`.
//!
//! ```text
//! cargo bench --bench scenarios -- [seed|overhead|api-overhead|all] [--n 20000]
//!     [--runs 5] [--tasks 100000]
//! ```
//!
//! Each measurement is the median of `--runs` runs after one warm-up run.

use anyhow::{bail, Context, Result};
use chunkwise::comm::LocalComm;
use chunkwise::exec::{execute, ExecOptions, TaskRunner};
use chunkwise::graph::{DimMap, Edge, Graph, Layer, LayerId};
use chunkwise::prelude::*;
use std::time::{Duration, Instant};

struct Args {
    what: String,
    n: usize,
    runs: usize,
    tasks: usize,
}

fn parse_args() -> Result<Args> {
    let mut a = Args {
        what: "all".to_string(),
        n: 20_000,
        runs: 5,
        tasks: 100_000,
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
            "--n" => a.n = num("--n")?,
            "--runs" => a.runs = num("--runs")?.max(1),
            "--tasks" => a.tasks = num("--tasks")?.max(1),
            // cargo bench passes this to every bench target.
            "--bench" => {}
            "seed" | "overhead" | "api-overhead" | "all" => a.what = s,
            other => bail!(
                "unknown argument {other:?}; expected seed, overhead, api-overhead, all, \
                 --n N, --runs R, --tasks T"
            ),
        }
    }
    Ok(a)
}

/// Median of `runs` timings of `f`, after one warm-up call; also the last result.
fn median_of<T>(
    runs: usize,
    mut f: impl FnMut() -> Result<T>,
) -> Result<(Duration, Vec<Duration>, T)> {
    let mut last = f()?;
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        last = f()?;
        times.push(t.elapsed());
    }
    let mut sorted = times.clone();
    sorted.sort();
    Ok((sorted[sorted.len() / 2], times, last))
}

fn fmt_times(ts: &[Duration]) -> String {
    let v: Vec<String> = ts
        .iter()
        .map(|t| format!("{:.3}", t.as_secs_f64()))
        .collect();
    v.join(" ")
}

fn machine_info() {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".to_string());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|k| k.parse::<u64>().ok())
        })
        .map(|kb| format!("{:.1} GiB", kb as f64 / (1024.0 * 1024.0)))
        .unwrap_or_else(|| "unknown".to_string());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("machine: {cores} cores (nproc), CPU {cpu}, RAM {mem}");
    println!(
        "load average (1/5/15 min) at start: {}",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
}

fn load1() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_default()
}

/// (a) The seed expression on the default session.
fn seed(a: &Args) -> Result<()> {
    let threads = chunkwise::session::global()?.config().threads;
    let x = random::random(&[a.n, a.n], [1000, 1000], 0)?;
    let y = (&x + &x.t() - x.mean(Some(0), false)?).std(None, 0, false)?;
    let (med, times, v) = median_of(a.runs, || Ok(y.compute()?.to_f64()))?;
    println!(
        "seed      n={} threads={threads}: median {:.3} s (runs: {}) std = {:.6} \
         (expected ~sqrt(1/6) = {:.6}); load {}",
        a.n,
        med.as_secs_f64(),
        fmt_times(&times),
        v[[]],
        (1.0f64 / 6.0).sqrt(),
        load1()
    );
    Ok(())
}

/// A runner whose tasks do nothing.
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

/// A 1-D source layer of `n` tasks and a tree of fan-in 16 above it, down to one task.
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

/// (b) Executor overhead per task, on 1 and 2 threads.
fn overhead(a: &Args) -> Result<()> {
    let graph = tree_graph(a.tasks)?;
    let ntasks = graph.num_tasks();
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .context("building the thread pool")?;
        let (med, times, stats) = median_of(a.runs, || {
            let (_, stats) = execute(
                &graph,
                &Noop,
                &pool,
                &LocalComm::new(),
                &ExecOptions::default(),
            )?;
            Ok(stats)
        })?;
        if stats.tasks_run != ntasks {
            bail!("ran {} of {ntasks} tasks", stats.tasks_run);
        }
        println!(
            "overhead  executor, {ntasks} tasks ({} layers, {} waves), threads={threads}: \
             median {:.4} s = {:.3} us/task (runs: {}); load {}",
            graph.layers().len(),
            stats.waves,
            med.as_secs_f64(),
            med.as_secs_f64() * 1e6 / ntasks as f64,
            fmt_times(&times),
            load1()
        );
    }
    Ok(())
}

/// (c) Full-stack per-task cost: `zeros(tasks, chunks=1).sum()`.
fn api_overhead(a: &Args) -> Result<()> {
    let threads = chunkwise::session::global()?.config().threads;
    let y = zeros(&[a.tasks], 1)?.sum(None, false)?;
    let s = chunkwise::session::global()?;
    let ntasks = s.plan(y.expr()?)?.lowered.graph.num_needed_tasks();
    let (med, times, v) = median_of(a.runs, || Ok(y.compute()?.to_f64()))?;
    if v[[]] != 0.0 {
        bail!("sum of zeros is {}", v[[]]);
    }
    println!(
        "overhead  API zeros({}, chunks=1).sum(), {ntasks} tasks, threads={threads}: \
         median {:.4} s = {:.3} us/task (runs: {}); load {}",
        a.tasks,
        med.as_secs_f64(),
        med.as_secs_f64() * 1e6 / ntasks as f64,
        fmt_times(&times),
        load1()
    );
    Ok(())
}

fn main() -> Result<()> {
    let a = parse_args()?;
    machine_info();
    let all = a.what == "all";
    if all || a.what == "seed" {
        seed(&a)?;
    }
    if all || a.what == "overhead" {
        overhead(&a)?;
    }
    if all || a.what == "api-overhead" {
        api_overhead(&a)?;
    }
    Ok(())
}
