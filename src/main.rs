//! The `chunkwise` command line. Run it directly (a world of one rank) or
//! under `mpirun -n N` (every rank runs the same command; rank 0 prints).

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use chunkwise::comm::{Comm, MpiComm};
use chunkwise::script::{self, Mode, ScriptError, SetValue};
use chunkwise::session::settings::{self, Settings};
use chunkwise::session::{self as cw_session, topology, Session};

mod demo;

const AFTER_HELP: &str = "\
Examples:
  chunkwise run analysis.rhai
  chunkwise run seasonal.rhai --set pattern='data/*.nc' --set out=diff.nc
  mpirun -n 4 chunkwise run analysis.rhai        # every rank works, rank 0 prints
  chunkwise explain analysis.rhai                # plans, tasks, memory per rank; computes nothing
  chunkwise shell -n 4                           # a prompt on 4 ranks (mpirun, or srun in SLURM)
  mpirun -n 4 chunkwise serve                    # rank 0 serves a JSON API and a dashboard
  chunkwise --threads 8 --memory-limit 16GiB run analysis.rhai
  chunkwise info
  mpirun -n 2 chunkwise demo --n 4000

A script (Rhai, with Dask's and xarray's names):
  let ds = open_mfdataset(\"data/*.nc\");
  let clim = ds.air.groupby(\"time.season\").mean(\"time\");
  print(abs(clim.sel(#{season: \"JJA\"}) - clim.sel(#{season: \"DJF\"})));
help() inside a script lists the functions.

Settings come from the flags, else the environment (CHUNKWISE_THREADS,
CHUNKWISE_MEMORY_LIMIT, CHUNKWISE_PROGRESS), else a TOML config file:
--config PATH, else $CHUNKWISE_CONFIG, else ~/.config/chunkwise/config.toml
if it exists. For example:
  threads = 8
  memory_limit = \"16GiB\"
  progress = false";

const SERVE_HELP: &str = "\
Examples:
  mpirun -n 4 chunkwise serve                  # on 127.0.0.1:8787; prints the token and an ssh -L command
  mpirun -n 4 chunkwise serve --bind 127.0.0.1:0 --token-file ~/.chunkwise/job.token
  chunkwise shell --connect 127.0.0.1:8787     # a prompt on it
  curl -H \"Authorization: Bearer $(cat ~/.chunkwise/token)\" localhost:8787/api/status

API: GET /api/status; POST /api/jobs {\"code\": \"...\"}; GET /api/jobs/ID?wait=SECONDS;
POST /api/cancel; POST /api/shutdown; GET / is the dashboard (open the URL it prints).";

/// Chunked N-d arrays and labelled datasets on MPI: Dask's blocked algorithms
/// and xarray's names as one SPMD program. Run directly for one rank, or under
/// `mpirun -n N`.
#[derive(Debug, Parser)]
#[command(name = "chunkwise", version, about, after_help = AFTER_HELP)]
struct Cli {
    /// Worker threads per rank; 0: one per core the rank is given
    /// [env: CHUNKWISE_THREADS].
    #[arg(long, global = true, value_name = "N")]
    threads: Option<usize>,
    /// Refuse plans projected to need more memory per rank, e.g. 16GiB
    /// [env: CHUNKWISE_MEMORY_LIMIT; default: 75% of RAM].
    #[arg(long, global = true, value_name = "SIZE", value_parser = size_arg)]
    memory_limit: Option<u64>,
    /// Rank 0's progress bar, on or off [env: CHUNKWISE_PROGRESS; default: on
    /// when standard error is a terminal].
    #[arg(long, global = true, value_name = "on|off", value_parser = switch_arg)]
    progress: Option<bool>,
    /// A TOML config file [env: CHUNKWISE_CONFIG; default:
    /// ~/.config/chunkwise/config.toml if it exists].
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a script: compute, print and write what it asks for.
    Run(ScriptArgs),
    /// Evaluate a script without computing anything, and print the plan of
    /// each value it would compute, print, persist or write: layers, task
    /// counts, projected memory per rank.
    Explain(ScriptArgs),
    /// Print where the job runs: ranks, hosts, cores, CPU binding, MPI and
    /// HDF5 library versions (printed by rank 0).
    Info,
    /// An interactive session: a prompt with line editing, history and
    /// Ctrl-C. `-n N` starts an MPI job of N ranks and attaches to it;
    /// `--connect` attaches to a running `serve`; without either, one rank
    /// in this process (or, under `mpirun ... < commands`, rank 0 reads the
    /// commands from its standard input).
    #[command(after_help = chunkwise::shell::AFTER_HELP)]
    Shell(chunkwise::shell::ShellArgs),
    /// Serve the session over HTTP from rank 0 (run it under mpirun or
    /// srun): a JSON API to submit scripts and fetch results, and a
    /// dashboard; requests need the token it prints.
    #[command(after_help = SERVE_HELP)]
    Serve(chunkwise::serve::ServeArgs),
    /// Run the demo: the seed expression (x + x.T - x.mean(axis=0)).std() on a random
    /// array, and anomalies of a climate-shaped field, with timings and expected values.
    Demo(demo::DemoArgs),
}

#[derive(Debug, Args)]
struct ScriptArgs {
    /// The script (Rhai).
    script: PathBuf,
    /// Define a script variable: an integer, a float, true/false, or else a
    /// string ("..." forces a string). Repeatable.
    #[arg(long = "set", value_name = "NAME=VALUE", value_parser = set_arg)]
    set: Vec<(String, SetValue)>,
}

fn size_arg(s: &str) -> Result<u64, String> {
    settings::parse_size(s)
        .ok_or_else(|| format!("{s:?} is not a size (examples: 800000000, 512MiB, 4GiB)"))
}

fn switch_arg(s: &str) -> Result<bool, String> {
    settings::parse_switch(s).ok_or_else(|| format!("{s:?} is not on or off"))
}

fn set_arg(s: &str) -> Result<(String, SetValue), String> {
    script::parse_set(s).map_err(|e| e.message().to_string())
}

fn main() -> std::process::ExitCode {
    let mut cli = Cli::parse();
    // A bug that panics is one line, not a trace (a script run catches it and
    // still fails on every rank).
    std::panic::set_hook(Box::new(|info| {
        let line =
            format!("chunkwise: internal error (a bug in chunkwise, please report it): {info}\n");
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }));
    // The shell's client is not part of the job it talks to: no MPI here.
    let flags = global_flags(&cli_flags(&cli));
    if let Command::Shell(args) = &mut cli.command {
        if args.is_client() {
            args.serve_flags = flags;
            return match chunkwise::shell::run_client(args) {
                Ok(code) => std::process::ExitCode::from(code.clamp(0, 255) as u8),
                Err(e) => {
                    report(&anyhow::Error::new(e));
                    std::process::ExitCode::FAILURE
                }
            };
        }
    }
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

/// One clear message (with its causes), never a backtrace. Written with one
/// `write` so that the lines of several ranks, merged by the launcher, do not
/// interleave. A script error that another rank prints is not repeated.
fn report(e: &anyhow::Error) {
    if e.downcast_ref::<ScriptError>()
        .is_some_and(ScriptError::is_quiet)
    {
        return;
    }
    let line = format!("chunkwise: error: {e:#}\n");
    // Nothing better to do if stderr is gone: the exit code still says it.
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// The global flags as given.
fn cli_flags(cli: &Cli) -> (Settings, Option<PathBuf>) {
    (
        Settings {
            threads: cli.threads,
            memory_limit: cli.memory_limit,
            progress: cli.progress,
        },
        cli.config.clone(),
    )
}

/// The global flags again as arguments, for the job `shell -n` starts.
fn global_flags((flags, config): &(Settings, Option<PathBuf>)) -> Vec<String> {
    let mut v = Vec::new();
    if let Some(t) = flags.threads {
        v.extend(["--threads".to_string(), t.to_string()]);
    }
    if let Some(m) = flags.memory_limit {
        v.extend(["--memory-limit".to_string(), m.to_string()]);
    }
    if let Some(p) = flags.progress {
        v.extend([
            "--progress".to_string(),
            if p { "on" } else { "off" }.to_string(),
        ]);
    }
    if let Some(c) = config {
        v.extend(["--config".to_string(), c.display().to_string()]);
    }
    v
}

fn run(cli: Cli, comm: std::rc::Rc<MpiComm>) -> anyhow::Result<()> {
    let flags = Settings {
        threads: cli.threads,
        memory_limit: cli.memory_limit,
        progress: cli.progress,
    };
    match cli.command {
        Command::Shell(args) => interactive(comm, flags, cli.config, |s| {
            chunkwise::shell::local::run(s, &args)
        }),
        Command::Serve(args) => interactive(comm, flags, cli.config, |s| {
            chunkwise::serve::run::run(s, &args)
        }),
        Command::Info => info(&comm),
        Command::Demo(args) => {
            demo::run(comm, &Settings::load(flags, cli.config.as_deref())?, &args)
        }
        Command::Run(args) => script(comm, flags, cli.config, args, Mode::Run),
        Command::Explain(args) => script(comm, flags, cli.config, args, Mode::Explain),
    }
}

/// `chunkwise run` and `chunkwise explain`: collective over every rank.
fn script(
    comm: std::rc::Rc<MpiComm>,
    flags: Settings,
    config: Option<PathBuf>,
    args: ScriptArgs,
    mode: Mode,
) -> anyhow::Result<()> {
    let settings = Settings::load(flags, config.as_deref())?;
    let mut session = Session::with_comm(settings.config(), comm)?;
    if let Some(p) = settings.progress {
        session = session.with_progress(p);
    }
    // Installed, so that library calls made for the script (merge comparing
    // variables, say) share the ranks too; dropped before MPI is finalised.
    let session = session.install();
    let result = script::run_file(
        &args.script,
        &args.set,
        mode,
        session,
        Box::new(std::io::stdout()),
    );
    cw_session::uninstall();
    result.map_err(anyhow::Error::new)
}

/// `chunkwise shell` (in the job) and `chunkwise serve`: collective over
/// every rank.
fn interactive(
    comm: std::rc::Rc<MpiComm>,
    flags: Settings,
    config: Option<PathBuf>,
    f: impl FnOnce(std::rc::Rc<Session>) -> Result<(), ScriptError>,
) -> anyhow::Result<()> {
    let settings = Settings::load(flags, config.as_deref())?;
    let mut session = Session::with_comm(settings.config(), comm)?;
    // No progress bar: the prompt and the dashboard show progress.
    session = session.with_progress(settings.progress.unwrap_or(false));
    let session = session.install();
    let result = f(session);
    cw_session::uninstall();
    result.map_err(anyhow::Error::new)
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
