//! `chunkwise demo`: real computations on generated data, printed with their
//! plans, timings and the values they should come close to.
//!
//! Under `mpirun` every rank runs the same program, the ranks share the work (each
//! computes the chunks it owns and sends them where they are read), every rank gets
//! the results, and rank 0 checks that every rank got the same bits.

use anyhow::{Context, Result};
use chunkwise::comm::Comm;
use chunkwise::prelude::*;
use chunkwise::session::settings::Settings;
use chunkwise::session::{Config, Session};
use std::fmt::Write as _;
use std::rc::Rc;
use std::time::Instant;

/// Demo settings.
#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// Side of the square random array of the first computation.
    #[arg(long, default_value_t = 10_000)]
    pub n: usize,
    /// Chunk side.
    #[arg(long, default_value_t = 1000)]
    pub chunk: usize,
    /// Random seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Days of the climate-shaped field (a multiple of 73).
    #[arg(long, default_value_t = 730)]
    pub days: usize,
    /// Print the optimised plans.
    #[arg(long)]
    pub explain: bool,
}

/// Run the demo with `settings` (flags over environment over config file).
pub fn run(comm: Rc<dyn Comm>, settings: &Settings, args: &DemoArgs) -> Result<()> {
    // Ranks on one node share its cores (the session splits them).
    let config: Config = settings.config();
    let mut session = Session::with_comm(config, comm.clone())?;
    if let Some(p) = settings.progress {
        session = session.with_progress(p);
    }
    let comm = session.comm();
    let mut out = String::new();
    let mut bits: Vec<u8> = Vec::new();
    let root = comm.rank() == 0;

    // 1. The seed expression of the project.
    let (n, c) = (args.n, args.chunk);
    let x = random::random(&[n, n], [c, c], args.seed)?;
    let y = (&x + &x.t() - x.mean(Some(0), false)?).std(None, 0, false)?;
    writeln!(
        out,
        "1) x = random(({n}, {n}), chunks={c}); (x + x.T - x.mean(axis=0)).std()"
    )?;
    if args.explain {
        writeln!(out, "{}", y.explain_with(&session)?)?;
    }
    let t = Instant::now();
    let v = y
        .compute_with(&session)
        .context("computing the seed expression")?
        .to_f64()[[]];
    writeln!(
        out,
        "   = {v:.6} in {:.3} s  (x + x.T of uniform [0,1) numbers has std sqrt(1/6) = {:.6})",
        t.elapsed().as_secs_f64(),
        (1.0f64 / 6.0).sqrt()
    )?;
    bits.extend_from_slice(&v.to_bits().to_le_bytes());

    // 2. A climate-shaped field: T(time, lat, lon) = zonal profile + seasonal cycle + weather.
    let (nt, ny, nx) = (args.days, 180usize, 360usize);
    if nt == 0 || nt % 73 != 0 {
        anyhow::bail!("--days must be a positive multiple of 73 (the time chunk), got {nt}");
    }
    let lat = linspace(-89.5, 89.5, ny, 90)?.expand_dims(1)?;
    let day = arange(0, nt as i64, 1, 73)?.reshape(&[nt as isize, 1, 1])?;
    let zonal = 15.0 - &(lat.mul(std::f64::consts::PI / 180.0)?.sin().pow(2.0)? * 30.0);
    let seasonal = (day.mul(2.0 * std::f64::consts::PI / 365.0)?.cos()) * 10.0;
    let weather = random::normal(0.0, 2.0, &[nt, ny, nx], [73, 90, 90], args.seed + 1)?;
    let temp = (&zonal + &seasonal) + &weather;
    writeln!(
        out,
        "2) T(time={nt}, lat={ny}, lon={nx}) = 15 - 30 sin^2(lat) + 10 cos(2 pi day/365) + normal(0, 2)"
    )?;
    let t = Instant::now();
    // Generate the field once and keep it in memory (dask's persist), then analyse it.
    let temp = temp
        .persist_with(&session)
        .context("generating the field")?;
    let clim = temp.mean(Some(0), false)?.persist_with(&session)?;
    let anom = &temp - &clim;
    let hot = anom.greater(12.0)?.mean(None, false)?;
    if args.explain {
        writeln!(out, "{}", anom.std(None, 0, false)?.explain_with(&session)?)?;
    }
    let gmean = temp.mean(None, false)?.compute_with(&session)?.to_f64()[[]];
    let astd = anom.std(None, 0, false)?.compute_with(&session)?.to_f64()[[]];
    let frac = hot.compute_with(&session)?.to_f64()[[]];
    let zon = clim.mean(Some(1), false)?.compute_with(&session)?.to_f64();
    writeln!(out, "   global mean               = {gmean:8.4}   (expected ~0: sin^2 averages 1/2, cos averages 0)")?;
    writeln!(
        out,
        "   std of anomalies          = {astd:8.4}   (expected sqrt(10^2/2 + 2^2) = {:.4})",
        (54.0f64).sqrt()
    )?;
    writeln!(out, "   fraction of days > +12    = {frac:8.5}")?;
    writeln!(
        out,
        "   climatology at 89.5S, 0.5N, 89.5N = {:.3}, {:.3}, {:.3}   (expected ~-15, ~15, ~-15)",
        zon[[0]],
        zon[[ny / 2]],
        zon[[ny - 1]]
    )?;
    writeln!(out, "   computed in {:.3} s", t.elapsed().as_secs_f64())?;
    for v in [gmean, astd, frac] {
        bits.extend_from_slice(&v.to_bits().to_le_bytes());
    }

    // Every rank must have computed the same bits.
    let all = comm.all_gather_bytes(&bits)?;
    if root {
        let same = all.iter().all(|b| *b == bits);
        writeln!(
            out,
            "ranks: {}; results bitwise identical on every rank: {}",
            comm.size(),
            if same { "yes" } else { "NO" }
        )?;
        print!("{out}");
        if !same {
            anyhow::bail!("ranks computed different results");
        }
    }
    Ok(())
}
