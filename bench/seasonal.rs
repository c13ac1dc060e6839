//! The issue-4 benchmark: the seasonal climatology of 48 monthly NetCDF-4 files.
//!
//! ```python
//! ds = xr.open_mfdataset("bench/data/air/air_*.nc", chunks={"time": 31})
//! ds.air.groupby("time.season").mean("time").compute()
//! ```
//!
//! on the files of `bench/make_air_files.py` (1461 days of 180x360 `float32`), the
//! chunkwise way: `open_mfdataset`, `groupby("time.season").mean(&["time"])`, values
//! computed. A run is all of it, opening included (as `bench/xarray_seasonal.py`
//! times it); each figure is the median of `--runs` runs after one warm-up run (which
//! also warms the page cache), and is the slowest rank's. The phases are timed apart:
//! open (metadata and coordinates of every file), build (the groupby expression),
//! plan (`Session::plan`: optimise and lower) and execute (read, reduce, gather; the
//! plan is made again inside, a few ms). `--phases` adds two runs that isolate the
//! reading: the sum of all of `air` (one read of every chunk, the cheapest
//! reduction), and the same per group (the concatenations of the groupby without
//! the mean's NaN handling).
//!
//! ```text
//! cargo bench --bench seasonal -- --local --threads 2     # in-process, 2 threads
//! mpirun -n 2 <binary>                                   # 2 ranks, 1 thread each
//! <binary> [--dir bench/data/air] [--runs 5] [--threads T] [--local]
//!          [--chunks file|N] [--check bench/out/seasonal_xarray.f32] [--phases]
//! ```
//!
//! `--chunks`: `31` (the default) asks for blocks of 31 time steps, as the xarray
//! script does; every file has at most 31 days, so that is one chunk per file, the
//! same as `file` (each file's own chunks: the files are contiguous, one chunk each).
//! `--check` compares the result with xarray's (raw `float32`, seasons DJF, JJA,
//! MAM, SON) and prints the largest absolute difference.

use anyhow::{bail, Context, Result};
use chunkwise::comm::{Comm, LocalComm, MpiComm};
use chunkwise::dataset::{open_mfdataset, DataArray, OpenOptions};
use chunkwise::prelude::*;
use chunkwise::session::{Config, Session};
use std::rc::Rc;
use std::time::{Duration, Instant};

struct Args {
    dir: String,
    runs: usize,
    threads: usize,
    local: bool,
    /// Blocks of this many time steps; `None`: each file's own chunks.
    chunks: Option<usize>,
    check: Option<String>,
    phases: bool,
}

fn parse_args() -> Result<Args> {
    let mut a = Args {
        dir: "bench/data/air".to_string(),
        runs: 5,
        threads: 1,
        local: false,
        chunks: Some(31),
        check: None,
        phases: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(s) = it.next() {
        let mut val = |name: &str| it.next().with_context(|| format!("{name} needs a value"));
        match s.as_str() {
            "--dir" => a.dir = val("--dir")?,
            "--runs" => a.runs = val("--runs")?.parse::<usize>()?.max(1),
            "--threads" => a.threads = val("--threads")?.parse::<usize>()?.max(1),
            "--chunks" => {
                let v = val("--chunks")?;
                a.chunks = if v == "file" {
                    None
                } else {
                    Some(v.parse().context("--chunks needs `file` or a number")?)
                };
            }
            "--check" => a.check = Some(val("--check")?),
            "--local" => a.local = true,
            "--phases" => a.phases = true,
            // cargo bench passes this to every bench target.
            "--bench" => {}
            other => bail!(
                "unknown argument {other:?}; expected --dir D, --runs R, --threads T, --local, \
                 --chunks file|N, --check PATH, --phases"
            ),
        }
    }
    Ok(a)
}

/// Wall time of one collective step: the slowest rank's.
///
/// # Collective
/// Call on every rank, in the same order.
fn slowest(comm: &dyn Comm, t: Duration) -> Result<Duration> {
    Ok(Duration::from_nanos(
        comm.all_reduce_max_u64(t.as_nanos() as u64)?,
    ))
}

fn median(times: &[Duration]) -> Duration {
    let mut s = times.to_vec();
    s.sort();
    s[s.len() / 2]
}

fn fmt_times(ts: &[Duration]) -> String {
    let v: Vec<String> = ts
        .iter()
        .map(|t| format!("{:.3}", t.as_secs_f64()))
        .collect();
    v.join(" ")
}

fn load1() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_default()
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
    println!(
        "machine: CPU {cpu}; rank 0 may use {cores} cores; {} ranks; {}",
        comm.size(),
        comm.library_version()
    );
}

/// One run's phases, each the slowest rank's.
#[derive(Clone, Copy, Default)]
struct Phases {
    open: Duration,
    build: Duration,
    plan: Duration,
    execute: Duration,
    total: Duration,
}

fn open_opts(a: &Args) -> OpenOptions {
    OpenOptions {
        chunks: a
            .chunks
            .map(|c| ChunkSpec::PerDim(vec![DimChunks::Size(c), DimChunks::Full, DimChunks::Full])),
        ..OpenOptions::default()
    }
}

/// One timed run of the climatology, and its values (float32 as computed).
///
/// # Collective
/// Call on every rank, in the same order.
fn run_once(a: &Args, session: &Session, pattern: &str) -> Result<(Phases, Chunk)> {
    let comm = session.comm();
    comm.barrier()?;
    let t0 = Instant::now();
    let ds = open_mfdataset(pattern, "time", &open_opts(a))?;
    let t1 = Instant::now();
    let clim = ds.get("air")?.groupby("time.season")?.mean(&["time"])?;
    let clim = clim.transpose(&["season", "lat", "lon"])?;
    let t2 = Instant::now();
    let expr = clim.data().expr()?;
    session.plan(expr)?;
    let t3 = Instant::now();
    let values = session.compute(expr)?;
    let t4 = Instant::now();
    let p = Phases {
        open: slowest(comm, t1 - t0)?,
        build: slowest(comm, t2 - t1)?,
        plan: slowest(comm, t3 - t2)?,
        execute: slowest(comm, t4 - t3)?,
        total: slowest(comm, t4 - t0)?,
    };
    Ok((p, values))
}

/// The same hash of the float32 bits as `bench/xarray_seasonal.py`'s.
fn checksum(v: &[f32]) -> u64 {
    v.iter()
        .fold(0u64, |h, x| h.rotate_left(5) ^ u64::from(x.to_bits()))
}

/// Time `f` (a computation on every rank) `runs` times after a warm-up.
///
/// # Collective
/// Call on every rank, in the same order.
fn timed(comm: &dyn Comm, runs: usize, f: impl Fn() -> Result<()>) -> Result<Vec<Duration>> {
    f()?;
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        comm.barrier()?;
        let t = Instant::now();
        f()?;
        times.push(slowest(comm, t.elapsed())?);
    }
    Ok(times)
}

/// Runs that isolate reading from the groupby (see the module's doc).
///
/// # Collective
/// Call on every rank, in the same order.
fn phases(a: &Args, session: &Session, pattern: &str) -> Result<()> {
    let comm = session.comm();
    let ds = open_mfdataset(pattern, "time", &open_opts(a))?;
    let air = ds.get("air")?;
    let sum_all = air.data().sum(None, false)?;
    let e = sum_all.expr()?;
    let t_read = timed(comm, a.runs, || {
        session.compute(e).map(drop).map_err(Into::into)
    })?;
    let g = air.groupby("time.season")?;
    let gsum = g.reduce(&["time"], |m: &DataArray, d| m.sum(d))?;
    let e = gsum.data().expr()?;
    let t_gsum = timed(comm, a.runs, || {
        session.compute(e).map(drop).map_err(Into::into)
    })?;
    let t_open = timed(comm, a.runs, || {
        open_mfdataset(pattern, "time", &open_opts(a)).map(drop)?;
        Ok(())
    })?;
    if comm.rank() == 0 {
        println!(
            "phases    open_mfdataset alone: median {:.3} s (runs: {})",
            median(&t_open).as_secs_f64(),
            fmt_times(&t_open)
        );
        println!(
            "          air.sum() (every chunk read once, summed): median {:.3} s (runs: {})",
            median(&t_read).as_secs_f64(),
            fmt_times(&t_read)
        );
        println!(
            "          groupby(\"time.season\").sum(\"time\"): median {:.3} s (runs: {})",
            median(&t_gsum).as_secs_f64(),
            fmt_times(&t_gsum)
        );
        println!("{}", session.explain(clim_expr(a, pattern)?.expr()?)?);
    }
    Ok(())
}

fn clim_expr(a: &Args, pattern: &str) -> Result<Array> {
    let ds = open_mfdataset(pattern, "time", &open_opts(a))?;
    let clim = ds.get("air")?.groupby("time.season")?.mean(&["time"])?;
    Ok(clim.transpose(&["season", "lat", "lon"])?.data().clone())
}

fn bench(a: &Args, session: &Session) -> Result<()> {
    let comm = session.comm();
    let pattern = format!("{}/air_*.nc", a.dir.trim_end_matches('/'));
    let load = load1();
    let (_, mut values) = run_once(a, session, &pattern)?;
    let mut all = Vec::with_capacity(a.runs);
    for _ in 0..a.runs {
        let (p, v) = run_once(a, session, &pattern)?;
        all.push(p);
        values = v;
    }
    let med = |f: fn(&Phases) -> Duration| median(&all.iter().map(f).collect::<Vec<_>>());
    let totals: Vec<Duration> = all.iter().map(|p| p.total).collect();
    let shape = values.shape().to_vec();
    let v: Vec<f32> = values
        .cast(DType::F32)
        .into_typed::<f32>()?
        .iter()
        .copied()
        .collect();
    if comm.rank() == 0 {
        let engine = if a.local {
            "in-process"
        } else {
            "MpiComm session"
        };
        let chunks = a
            .chunks
            .map_or("the files' own".to_string(), |c| format!("{c} days"));
        println!(
            "seasonal  {engine}, {} rank(s) x {} thread(s), chunks {chunks}: median {:.3} s \
             (runs: {}); open {:.3} s, build {:.4} s, plan {:.4} s, execute {:.3} s; \
             load {load} -> {}",
            comm.size(),
            session.config().threads,
            med(|p| p.total).as_secs_f64(),
            fmt_times(&totals),
            med(|p| p.open).as_secs_f64(),
            med(|p| p.build).as_secs_f64(),
            med(|p| p.plan).as_secs_f64(),
            med(|p| p.execute).as_secs_f64(),
            load1()
        );
        let sum: f64 = v.iter().map(|&x| f64::from(x)).sum();
        println!(
            "result    {:?} {:?}: sum {sum:.6}, bits {:#018x}",
            shape,
            values.dtype(),
            checksum(&v)
        );
        if let Some(path) = &a.check {
            let bytes = std::fs::read(path).with_context(|| format!("reading {path}"))?;
            let reference: Vec<f32> = bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            if reference.len() != v.len() {
                bail!(
                    "{path} holds {} values, the result {}",
                    reference.len(),
                    v.len()
                );
            }
            let (mut max, mut rel) = (0f64, 0f64);
            for (x, r) in v.iter().zip(&reference) {
                let d = (f64::from(*x) - f64::from(*r)).abs();
                max = max.max(d);
                rel = rel.max(d / f64::from(*r).abs().max(f64::MIN_POSITIVE));
            }
            println!("check     against {path}: max abs diff {max:.3e}, max rel diff {rel:.3e}");
        }
    }
    if a.phases {
        phases(a, session, &pattern)?;
    }
    Ok(())
}

fn main() -> Result<()> {
    let a = parse_args()?;
    let config = Config {
        threads: a.threads,
        ..Config::default()
    };
    if a.local {
        // No MPI at all: a singleton MPI job may bind the process to one core.
        let comm = LocalComm::new();
        machine_info(&comm);
        bench(&a, &Session::new(config)?)
    } else {
        let comm: Rc<dyn Comm> = Rc::new(MpiComm::init().context("could not start MPI")?);
        if comm.rank() == 0 {
            machine_info(&*comm);
        }
        let session = Session::with_comm(config, comm)?;
        let r = bench(&a, &session);
        drop(session);
        r
    }
}
