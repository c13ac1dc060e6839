//! `chunkwise shell`: a prompt for a session, with line editing and history.
//!
//! Under Open MPI's `mpirun`, rank 0's standard input is not a terminal, so
//! line editing cannot live inside rank 0. The shell is therefore a client on
//! the user's terminal that talks to rank 0 of a `chunkwise serve` job over
//! its HTTP API ([`crate::serve`]):
//!
//! * `chunkwise shell -n N` starts the job itself, inside the current
//!   allocation (`mpirun`, `srun` or `mpiexec`; see [`launch`]), attaches,
//!   and ends the job when the shell ends;
//! * `chunkwise shell --connect ADDR` attaches to a running `serve` (and
//!   leaves it running).
//!
//! Each command is submitted as a job and waited for; what it prints shows
//! as it arrives, then its value; errors go to standard error. Ctrl-C while a
//! command runs cancels it on every rank (`POST /api/cancel`) and returns to
//! the prompt; Ctrl-C at the prompt drops the line. Commands come from
//! [`Reader`]: on a terminal with rustyline, from a pipe grouped into whole
//! commands the same way, so `chunkwise shell -n 4 < script.rhai` works and
//! stops at the first failing command with exit code 1, as `python < file`
//! does. `exit` or `quit` (or Ctrl-D) leaves; `:status` shows the session.

pub mod client;
pub mod complete;
pub mod input;
pub mod launch;
pub mod local;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

pub use client::{Client, JobState, JobView, StatusView};
pub use complete::is_complete;
pub use input::{Input, Reader};
pub use launch::{Job, LaunchSpec, Launcher};

use crate::{Error, Result};

/// Examples for `chunkwise shell --help`.
pub const AFTER_HELP: &str = "\
Examples:
  chunkwise shell -n 4                         # start 4 ranks here (mpirun, or srun in SLURM) and attach
  chunkwise shell -n 8 --launcher srun
  chunkwise shell -n 4 --launcher-args '--oversubscribe'
  chunkwise shell --connect localhost:8787     # attach to `mpirun -n N chunkwise serve`
  chunkwise shell -n 4 < analysis.rhai         # piped: stops at the first error, exit code 1
  chunkwise shell -n 2 -c 'zeros([4, 4]).sum().compute()'
  chunkwise shell                              # one rank, in this process

At the prompt (cw>): Enter on an unfinished command (an open bracket or
string, a trailing operator) continues it on the next line; Ctrl-C cancels
the running command on every rank, or drops the line being typed; :status
shows ranks, memory and what runs; exit, quit or Ctrl-D leaves (and ends a
job that -n started). History is kept in ~/.chunkwise/history.

The token for --connect: --token-file PATH, else $CHUNKWISE_TOKEN (the token
itself), else $CHUNKWISE_TOKEN_FILE, else ~/.chunkwise/token (where serve
writes it).";

/// `chunkwise shell`'s options.
#[derive(Debug, Clone, Default, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct ShellArgs {
    /// Start an MPI job of N ranks in the current allocation and attach to it
    /// (the job ends with the shell).
    #[arg(short = 'n', long = "ranks", value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..), conflicts_with = "connect")]
    pub ranks: Option<u32>,
    /// The program that starts the job with -n [env: CHUNKWISE_LAUNCHER;
    /// default: srun inside a SLURM allocation, else mpirun].
    #[arg(long, value_name = "mpirun|srun|mpiexec|PATH", value_parser = Launcher::parse)]
    pub launcher: Option<Launcher>,
    /// Extra arguments for the launcher, before `-n N`, e.g.
    /// '--oversubscribe' [env: CHUNKWISE_LAUNCHER_ARGS].
    #[arg(long, value_name = "ARGS", allow_hyphen_values = true)]
    pub launcher_args: Option<String>,
    /// Where the job that -n starts listens; rank 0 may run on another node
    /// than the shell (srun from a login node): then give 0.0.0.0:0.
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:0")]
    pub serve_bind: String,
    /// Attach to a running `chunkwise serve` at http://HOST:PORT or
    /// HOST:PORT (it keeps running when the shell ends).
    #[arg(long, value_name = "ADDR")]
    pub connect: Option<String>,
    /// The file with the token of the serve to attach to [env:
    /// CHUNKWISE_TOKEN_FILE; default: ~/.chunkwise/token; $CHUNKWISE_TOKEN
    /// gives the token itself].
    #[arg(long, value_name = "PATH")]
    pub token_file: Option<PathBuf>,
    /// Run CODE, print what it prints and its value, and exit (non-zero if
    /// it fails), like python -c.
    #[arg(short = 'c', long = "command", value_name = "CODE")]
    pub command: Option<String>,
    /// The history file [default: ~/.chunkwise/history].
    #[arg(long, value_name = "PATH")]
    pub history: Option<PathBuf>,
    /// Keep no history.
    #[arg(long, conflicts_with = "history")]
    pub no_history: bool,
    /// Global flags for the job that -n starts (`--threads 8`,
    /// `--memory-limit 16GiB`, `--config PATH`): set by the binary from its
    /// own flags, not parsed here.
    #[arg(skip)]
    pub serve_flags: Vec<String>,
}

impl ShellArgs {
    /// Whether the shell is a client of a job ([`run_client`]: -n or
    /// --connect), rather than a session in this process.
    pub fn is_client(&self) -> bool {
        self.ranks.is_some() || self.connect.is_some()
    }

    /// The history file to use (`None`: none).
    pub fn history_path(&self) -> Option<PathBuf> {
        if self.no_history {
            None
        } else {
            self.history.clone().or_else(input::default_history)
        }
    }
}

/// The exit code after a command that was cancelled in piped input or with
/// `-c` (as a shell reports SIGINT).
pub const EXIT_INTERRUPTED: i32 = 130;

static INTERRUPT: AtomicBool = AtomicBool::new(false);
static HANDLER: OnceLock<bool> = OnceLock::new();

/// Catch Ctrl-C (once per process): it then sets the returned flag instead of
/// ending the process. `None` if it cannot be caught (another handler was
/// installed first).
///
/// Call it after [`Reader::new`]: rustyline's editor takes over SIGINT when
/// it is created (it needs none itself: at the prompt, Ctrl-C is a key).
pub fn catch_interrupts() -> Option<&'static AtomicBool> {
    let ok = *HANDLER
        .get_or_init(|| ctrlc::set_handler(|| INTERRUPT.store(true, Ordering::SeqCst)).is_ok());
    ok.then_some(&INTERRUPT)
}

/// `chunkwise shell -n N` or `chunkwise shell --connect ADDR`: the prompt, or
/// `-c`'s one command, as a client of a serve job. The exit code: 0, 1 if a
/// command failed where that ends the shell (piped input, `-c`),
/// [`EXIT_INTERRUPTED`] if one was cancelled there. `Err` when the session
/// cannot be reached or started, or is lost.
///
/// Call it before MPI is initialised: this process is not part of the job.
pub fn run_client(args: &ShellArgs) -> Result<i32> {
    // The reader before Ctrl-C is caught (see catch_interrupts).
    let mut reader = match &args.command {
        Some(_) => None,
        None => Some(Reader::new(args.history_path())?),
    };
    let interrupt = catch_interrupts();
    if let Some(addr) = &args.connect {
        let client = Client::connect(addr, token(args)?)?;
        return session(&client, args, reader.as_mut(), interrupt);
    }
    let Some(ranks) = args.ranks else {
        return Err(Error::Plan(
            "the shell needs -n N (start a job) or --connect ADDR (attach to one)".into(),
        ));
    };
    let launcher_args = match args
        .launcher_args
        .clone()
        .or_else(|| std::env::var("CHUNKWISE_LAUNCHER_ARGS").ok())
    {
        Some(s) => {
            launch::split_args(&s).map_err(|e| Error::Plan(format!("--launcher-args {e}")))?
        }
        None => Vec::new(),
    };
    let launcher = match (&args.launcher, std::env::var("CHUNKWISE_LAUNCHER")) {
        (Some(l), _) => l.clone(),
        (None, Ok(s)) => {
            Launcher::parse(&s).map_err(|e| Error::Plan(format!("CHUNKWISE_LAUNCHER: {e}")))?
        }
        (None, Err(_)) => Launcher::from_env(),
    };
    let exe = std::env::current_exe()
        .map_err(|e| Error::Io(format!("cannot find the chunkwise binary to launch: {e}")))?;
    let spec = LaunchSpec {
        launcher,
        launcher_args,
        ranks: ranks as usize,
        exe,
        serve_flags: args.serve_flags.clone(),
        bind: args.serve_bind.clone(),
        start_timeout: launch::START_TIMEOUT,
    };
    if std::io::stderr().is_terminal() {
        eprintln!(
            "chunkwise shell: starting {ranks} rank{} with {}…",
            if ranks == 1 { "" } else { "s" },
            spec.launcher.program().to_string_lossy()
        );
    }
    let never = AtomicBool::new(false);
    let job = Job::start(&spec, interrupt.unwrap_or(&never))?;
    let client = match Client::connect(job.address(), job.token().to_string()) {
        Ok(c) => c,
        Err(e) => {
            let stopped = job.stop(None);
            let mut msg = format!(
                "the MPI job started but cannot be reached: {} (if rank 0 runs on another \
                 node than the shell, give --serve-bind 0.0.0.0:0)",
                e.message()
            );
            if let Err(s) = stopped {
                msg = format!("{msg}\n{}", s.message());
            }
            return Err(Error::Io(msg));
        }
    };
    let result = session(&client, args, reader.as_mut(), interrupt);
    let stopped = job.stop(Some(&client));
    match (result, stopped) {
        (Ok(code), Ok(())) => Ok(code),
        (Ok(0), Err(e)) => Err(e),
        (Ok(code), Err(e)) => {
            eprintln!("chunkwise shell: {}", e.message());
            Ok(code)
        }
        (Err(e), Ok(())) => Err(e),
        (Err(e), Err(s)) => Err(Error::Io(format!("{}\n{}", e.message(), s.message()))),
    }
}

/// The token for `--connect`: --token-file, else $CHUNKWISE_TOKEN, else
/// $CHUNKWISE_TOKEN_FILE, else ~/.chunkwise/token.
fn token(args: &ShellArgs) -> Result<String> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    let path = match (&args.token_file, env("CHUNKWISE_TOKEN")) {
        (Some(p), _) => p.clone(),
        (None, Some(t)) => return Ok(t.trim().to_string()),
        (None, None) => match env("CHUNKWISE_TOKEN_FILE") {
            Some(p) => PathBuf::from(p),
            None => match std::env::var_os("HOME").filter(|h| !h.is_empty()) {
                Some(h) => PathBuf::from(h).join(".chunkwise").join("token"),
                None => {
                    return Err(Error::Plan(
                        "no token: give --token-file PATH or CHUNKWISE_TOKEN".into(),
                    ))
                }
            },
        },
    };
    let t = std::fs::read_to_string(&path).map_err(|e| {
        Error::Io(format!(
            "cannot read the token from {}: {e} (serve writes it there on its node and prints \
             it; give --token-file PATH or CHUNKWISE_TOKEN)",
            path.display()
        ))
    })?;
    let t = t.trim().to_string();
    if t.is_empty() {
        return Err(Error::Io(format!("{} holds no token", path.display())));
    }
    Ok(t)
}

/// `-c CODE` (no `reader`), or the prompt.
fn session(
    client: &Client,
    args: &ShellArgs,
    reader: Option<&mut Reader>,
    interrupt: Option<&AtomicBool>,
) -> Result<i32> {
    let mut out = std::io::stdout();
    let mut err = std::io::stderr();
    let (Some(reader), None) = (reader, &args.command) else {
        let code = args.command.as_deref().unwrap_or("");
        return Ok(
            match run_command(client, code, &mut out, &mut err, interrupt)? {
                Outcome::Done => 0,
                Outcome::Failed => 1,
                Outcome::Cancelled => EXIT_INTERRUPTED,
            },
        );
    };
    if reader.interactive() {
        let ranks = client
            .status()
            .map(|s| s.ranks.to_string())
            .unwrap_or_else(|_| "?".into());
        let leave = if args.ranks.is_some() {
            "exit or Ctrl-D ends the job"
        } else {
            "exit or Ctrl-D leaves (serve keeps running)"
        };
        let _ = writeln!(
            err,
            "chunkwise shell: {ranks} rank(s) at {}. Ctrl-C cancels a computation, :status \
             shows the session, {leave}.",
            client.address()
        );
    }
    repl_with(client, reader, &mut out, &mut err, interrupt)
}

/// How one command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Done,
    Failed,
    Cancelled,
}

/// The shell's own commands (not sent to the session).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Meta {
    Exit,
    Status,
    Shutdown,
    Help,
}

fn meta(code: &str) -> Option<Meta> {
    let c = code.trim().trim_end_matches(';').trim_end();
    let c = c.strip_suffix("()").unwrap_or(c);
    match c {
        "exit" | "quit" => Some(Meta::Exit),
        ":status" | "%status" => Some(Meta::Status),
        ":shutdown" | "%shutdown" => Some(Meta::Shutdown),
        ":help" | "%help" => Some(Meta::Help),
        _ => None,
    }
}

const META_HELP: &str = "\
  :status     ranks, memory, what runs, job counts
  :shutdown   end the session (every rank exits) and leave
  exit, quit  leave (a job that -n started ends too)
  help()      the script functions";

/// Run the commands `reader` gives on the session behind `client`, writing
/// what they print to `out` and errors to `err`, until the input ends or
/// `exit`. Interactive: a failing command does not end the shell. Piped: the
/// first failing command ends it with 1 ([`EXIT_INTERRUPTED`] if cancelled).
/// `Err` if the session is lost.
///
/// Ctrl-C is caught for the whole process ([`catch_interrupts`]).
pub fn repl(
    client: &Client,
    reader: &mut Reader,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<i32> {
    let interrupt = catch_interrupts();
    repl_with(client, reader, out, err, interrupt)
}

fn repl_with(
    client: &Client,
    reader: &mut Reader,
    out: &mut dyn Write,
    err: &mut dyn Write,
    interrupt: Option<&AtomicBool>,
) -> Result<i32> {
    let interactive = reader.interactive();
    while let Some(input) = reader.next() {
        let code = match input? {
            Input::Interrupted => continue,
            Input::Command(c) => c,
        };
        match meta(&code) {
            Some(Meta::Exit) => break,
            Some(Meta::Help) => {
                let _ = writeln!(out, "{META_HELP}");
                continue;
            }
            Some(Meta::Status) => {
                let s = client.status()?;
                let _ = write!(out, "{}", format_status(&s, client.address()));
                let _ = out.flush();
                continue;
            }
            Some(Meta::Shutdown) => {
                client.shutdown()?;
                let _ = writeln!(err, "the session is shutting down");
                break;
            }
            None => {}
        }
        match run_command(client, &code, out, err, interrupt)? {
            Outcome::Done => {}
            Outcome::Failed if !interactive => return Ok(1),
            Outcome::Cancelled if !interactive => return Ok(EXIT_INTERRUPTED),
            Outcome::Failed | Outcome::Cancelled => {}
        }
    }
    Ok(0)
}

/// Submit `code`, show its output as it arrives, then its value or error.
/// With `interrupt`, Ctrl-C cancels it (a second one stops waiting).
pub fn run_command(
    client: &Client,
    code: &str,
    out: &mut dyn Write,
    err: &mut dyn Write,
    interrupt: Option<&AtomicBool>,
) -> Result<Outcome> {
    if let Some(f) = interrupt {
        f.store(false, Ordering::SeqCst);
    }
    let id = client.submit(code)?;
    // Short polls when Ctrl-C can be seen between them; long ones otherwise.
    let poll = if interrupt.is_some() {
        Duration::from_millis(200)
    } else {
        Duration::from_secs(10)
    };
    let mut shown = 0usize;
    let mut cancelling = false;
    loop {
        let job = client.poll(id, poll)?;
        if job.output.len() > shown && job.output.is_char_boundary(shown) {
            let _ = out.write_all(&job.output.as_bytes()[shown..]);
            let _ = out.flush();
            shown = job.output.len();
        }
        if job.state.is_final() {
            return Ok(show_end(&job, out, err));
        }
        if interrupt.is_some_and(|f| f.swap(false, Ordering::SeqCst)) {
            if cancelling {
                let _ = writeln!(
                    err,
                    "job {id} is still stopping; the next command runs once it has"
                );
                return Ok(Outcome::Cancelled);
            }
            client.cancel()?;
            cancelling = true;
            let _ = writeln!(err, "cancelling… (Ctrl-C again to stop waiting)");
        }
    }
}

/// Print an ended job's value (to `out`) or error (to `err`).
fn show_end(job: &JobView, out: &mut dyn Write, err: &mut dyn Write) -> Outcome {
    let open_line = !job.output.is_empty() && !job.output.ends_with('\n');
    let outcome = match job.state {
        JobState::Done => {
            if let Some(v) = job.value.as_deref().filter(|v| !v.is_empty()) {
                if open_line {
                    let _ = writeln!(out);
                }
                let _ = writeln!(out, "{}", v.trim_end_matches('\n'));
            } else if open_line {
                let _ = writeln!(out);
            }
            Outcome::Done
        }
        JobState::Cancelled => {
            if open_line {
                let _ = writeln!(out);
            }
            let _ = writeln!(err, "cancelled");
            Outcome::Cancelled
        }
        _ => {
            if open_line {
                let _ = writeln!(out);
            }
            let msg = job.error.as_deref().unwrap_or("failed (no message)");
            let _ = writeln!(err, "{}", msg.trim_end_matches('\n'));
            Outcome::Failed
        }
    };
    let _ = out.flush();
    let _ = err.flush();
    outcome
}

/// `:status`'s text.
pub fn format_status(s: &StatusView, address: &str) -> String {
    use crate::exec::human_bytes;
    let mut t = format!(
        "session at {address}: {} rank(s) × {} thread(s), memory limit {} per rank, up {}\n",
        s.ranks,
        s.threads_per_rank,
        human_bytes(s.memory_limit),
        duration(s.uptime_s)
    );
    for r in &s.rank_info {
        t += &format!(
            "  rank {} on {}: {} resident, {} tasks run\n",
            r.rank,
            if r.host.is_empty() { "?" } else { &r.host },
            human_bytes(r.rss_bytes),
            r.tasks_run
        );
    }
    match &s.running {
        Some(r) => {
            let first = r.code.lines().next().unwrap_or("");
            let more = if r.code.lines().nth(1).is_some() {
                " …"
            } else {
                ""
            };
            t += &format!(
                "running: job {} for {}: {first}{more}",
                r.id,
                duration(r.elapsed_s)
            );
            if let Some(p) = &r.progress {
                t += &format!(" ({}/{} tasks)", p.tasks_done, p.tasks_total);
            }
            t.push('\n');
        }
        None => t += "running: nothing\n",
    }
    t += &format!(
        "jobs: {} done, {} failed, {} cancelled, {} queued\n",
        s.jobs.done, s.jobs.failed, s.jobs.cancelled, s.jobs.queued
    );
    t
}

fn duration(secs: f64) -> String {
    let s = secs.max(0.0);
    if s < 60.0 {
        format!("{s:.1} s")
    } else if s < 3600.0 {
        format!("{}m {:02}s", (s / 60.0) as u64, (s % 60.0) as u64)
    } else {
        format!(
            "{}h {:02}m",
            (s / 3600.0) as u64,
            ((s % 3600.0) / 60.0) as u64
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        shell: ShellArgs,
    }

    fn parse(args: &[&str]) -> std::result::Result<ShellArgs, clap::Error> {
        Cli::try_parse_from(std::iter::once("shell").chain(args.iter().copied())).map(|c| c.shell)
    }

    #[test]
    fn options_parse() {
        let a = parse(&[
            "-n",
            "4",
            "--launcher",
            "srun",
            "--launcher-args",
            "--oversubscribe",
        ])
        .unwrap();
        assert_eq!(a.ranks, Some(4));
        assert_eq!(a.launcher, Some(Launcher::Srun));
        assert_eq!(a.launcher_args.as_deref(), Some("--oversubscribe"));
        assert!(a.is_client());
        let a = parse(&["--connect", "localhost:8787", "-c", "1 + 1"]).unwrap();
        assert_eq!(a.command.as_deref(), Some("1 + 1"));
        assert!(a.is_client());
        let a = parse(&["--no-history"]).unwrap();
        assert!(!a.is_client());
        assert_eq!(a.history_path(), None);
        assert!(parse(&["-n", "0"]).is_err());
        assert!(parse(&["-n", "2", "--connect", "h:1"]).is_err());
    }

    #[test]
    fn the_shell_knows_its_own_commands() {
        assert_eq!(meta("exit"), Some(Meta::Exit));
        assert_eq!(meta(" quit(); "), Some(Meta::Exit));
        assert_eq!(meta(":status"), Some(Meta::Status));
        assert_eq!(meta("%status"), Some(Meta::Status));
        assert_eq!(meta("exit_code"), None);
        assert_eq!(meta("let exit = 1;"), None);
    }

    #[test]
    fn status_text() {
        let s = StatusView {
            ranks: 2,
            threads_per_rank: 4,
            memory_limit: 2 << 30,
            rank_info: vec![client::RankView {
                rank: 0,
                host: "node1".into(),
                rss_bytes: 3 << 20,
                tasks_run: 12,
            }],
            running: Some(client::RunningView {
                id: 7,
                code: "x.mean()\n.compute()".into(),
                elapsed_s: 75.0,
                progress: Some(client::ProgressView {
                    tasks_done: 3,
                    tasks_total: 10,
                    tasks_per_s: 1.0,
                }),
            }),
            uptime_s: 3700.0,
            ..StatusView::default()
        };
        let t = format_status(&s, "http://h:1");
        assert!(t.contains("2 rank(s) × 4 thread(s), memory limit 2.0 GiB per rank, up 1h 01m"));
        assert!(t.contains("rank 0 on node1: 3.0 MiB resident, 12 tasks run"));
        assert!(t.contains("running: job 7 for 1m 15s: x.mean() … (3/10 tasks)"));
    }
}
