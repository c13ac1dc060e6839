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
    match run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // One clear line (with its causes), never a backtrace.
            eprintln!("chunkwise: error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Info => info(),
        Command::Demo(args) => {
            let comm = MpiComm::init().context("could not start MPI")?;
            demo::run(std::rc::Rc::new(comm), &args)
        }
    }
}

/// `chunkwise info`: collective over every rank of the job.
fn info() -> anyhow::Result<()> {
    let comm = MpiComm::init().context("could not start MPI")?;
    let report = topology::info_report(&comm).context("could not gather the job's topology")?;
    if comm.rank() == 0 {
        let mut out = std::io::stdout().lock();
        out.write_all(report.as_bytes())
            .and_then(|()| out.flush())
            .context("could not write the report to stdout")?;
    }
    Ok(())
}
