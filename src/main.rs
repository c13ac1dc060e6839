//! The `chunkwise` command line. Run it directly (a world of one rank) or
//! under `mpirun -n N` (every rank runs the same command; rank 0 prints).

use std::io::Write;

use anyhow::Context;
use clap::{Parser, Subcommand};

use chunkwise::comm::{Comm, MpiComm};
use chunkwise::session::topology;

mod demo;

/// Chunked N-d arrays on MPI: dask.array's blocked algorithms as one SPMD
/// program. Run directly for one rank, or under `mpirun -n N`.
#[derive(Debug, Parser)]
#[command(name = "chunkwise", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print where the job runs: ranks, hosts, cores, CPU binding, MPI and
    /// HDF5 library versions (printed by rank 0).
    Info,
    /// Run the demo: the seed expression (x + x.T - x.mean(axis=0)).std() on a random
    /// array, and anomalies of a climate-shaped field, with timings and expected values.
    Demo(demo::DemoArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    // MPI is started here and finalised only after the error is printed:
    // finalising is collective, so every rank has printed its line before
    // any rank exits (a launcher kills the others once one exits non-zero).
    let result = MpiComm::init()
        .context("could not start MPI")
        .map(|comm| {
            let comm = std::rc::Rc::new(comm);
            let result = run(cli, comm.clone());
            if let Err(e) = &result {
                report(e);
            }
            drop(comm);
            result.map_err(|_| None)
        })
        .unwrap_or_else(|e| Err(Some(e)));
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(unreported) => {
            if let Some(e) = unreported {
                report(&e);
            }
            std::process::ExitCode::FAILURE
        }
    }
}

/// One clear line (with its causes), never a backtrace. Written with one
/// `write` so that the lines of several ranks, merged by the launcher, do not
/// interleave.
fn report(e: &anyhow::Error) {
    let line = format!("chunkwise: error: {e:#}\n");
    // Nothing better to do if stderr is gone: the exit code still says it.
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

fn run(cli: Cli, comm: std::rc::Rc<MpiComm>) -> anyhow::Result<()> {
    match cli.command {
        Command::Info => info(&comm),
        Command::Demo(args) => demo::run(comm, &args),
    }
}

/// `chunkwise info`: collective over every rank of the job.
fn info(comm: &MpiComm) -> anyhow::Result<()> {
    let report = topology::info_report(comm).context("could not gather the job's topology")?;
    if comm.rank() == 0 {
        let mut out = std::io::stdout().lock();
        out.write_all(report.as_bytes())
            .and_then(|()| out.flush())
            .context("could not write the report to stdout")?;
    }
    Ok(())
}
