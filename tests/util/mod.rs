//! The shared harness of chunkwise's integration tests (like ripgrep's
//! `tests/util.rs`): run the built `chunkwise` binary directly or under
//! `mpirun -n N`, always with a timeout, and hand back status and output.
//!
//! Use it from a test file with `mod util;`.
//!
//! * Every run has a deadline ([`DEFAULT_TIMEOUT`], or
//!   `CHUNKWISE_TEST_TIMEOUT` seconds from the environment). A run that
//!   misses it is killed, whole process group (mpirun and its ranks), and the
//!   test fails naming the command and what it printed so far.
//! * `mpirun` runs one at a time (a process-wide lock), so tests that launch
//!   jobs do not fight over the few cores of a CI machine.
//! * Open MPI is told it may run as root (CI and containers run as root), may
//!   oversubscribe (more ranks than cores), and not to use the single-copy
//!   mechanism containers lack.

#![allow(dead_code)] // each test file uses a different part of the harness

use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

/// How long one run may take unless `CHUNKWISE_TEST_TIMEOUT` says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// Only one `mpirun` at a time in this test process.
static MPIRUN_LOCK: Mutex<()> = Mutex::new(());

/// The `chunkwise` binary cargo built for these tests.
pub fn chunkwise_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_chunkwise"))
}

/// The timeout for one run.
pub fn timeout() -> Duration {
    match std::env::var("CHUNKWISE_TEST_TIMEOUT") {
        Ok(s) => match s.trim().parse::<u64>() {
            Ok(secs) if secs > 0 => Duration::from_secs(secs),
            _ => panic!("CHUNKWISE_TEST_TIMEOUT={s:?} is not a positive number of seconds"),
        },
        Err(_) => DEFAULT_TIMEOUT,
    }
}

/// What a finished run left behind.
#[derive(Debug)]
pub struct Output {
    /// The command line, for messages.
    pub command: String,
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// Panic with the whole output unless the run exited with status 0.
    pub fn assert_success(&self) -> &Self {
        assert!(
            self.status.success(),
            "`{}` failed with {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.command,
            self.status,
            self.stdout,
            self.stderr
        );
        self
    }

    /// Panic with the whole output unless the run failed.
    pub fn assert_failure(&self) -> &Self {
        assert!(
            !self.status.success(),
            "`{}` succeeded but should have failed\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.command,
            self.stdout,
            self.stderr
        );
        self
    }
}

/// Run `chunkwise ARGS…` as one process (an MPI singleton: a world of one).
pub fn run(args: &[&str]) -> Output {
    let mut cmd = Command::new(chunkwise_bin());
    cmd.args(args);
    mpi_env(&mut cmd);
    run_with_timeout(cmd, timeout())
}

/// Run `chunkwise ARGS…` as one process without the environment variables
/// named in `unset` and with `envs` set (after the removal).
pub fn run_env(args: &[&str], envs: &[(&str, &str)], unset: &[&str]) -> Output {
    let mut cmd = Command::new(chunkwise_bin());
    cmd.args(args);
    for v in unset {
        cmd.env_remove(v);
    }
    cmd.envs(envs.iter().copied());
    mpi_env(&mut cmd);
    run_with_timeout(cmd, timeout())
}

/// Run `mpirun -n RANKS --oversubscribe chunkwise ARGS…`.
pub fn mpirun(ranks: usize, args: &[&str]) -> Output {
    mpirun_program(ranks, &chunkwise_bin(), args, &[])
}

/// Run `mpirun -n RANKS --oversubscribe PROGRAM ARGS…` with extra
/// environment variables `envs` (for example a test binary acting as the
/// ranks of a job).
pub fn mpirun_program(
    ranks: usize,
    program: &std::path::Path,
    args: &[&str],
    envs: &[(&str, &str)],
) -> Output {
    let mut cmd = Command::new("mpirun");
    cmd.arg("-n")
        .arg(ranks.to_string())
        .arg("--oversubscribe")
        .arg(program)
        .args(args)
        .envs(envs.iter().copied());
    mpi_env(&mut cmd);
    // A test that panicked while holding the lock poisons it; the next
    // launch is still fine.
    let _one_at_a_time = MPIRUN_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    run_with_timeout(cmd, timeout())
}

/// Run `mpirun --oversubscribe ARGS…` with `ARGS` as given: for jobs whose
/// ranks run different commands (`-n 1 A : -n 2 B`, Open MPI's MPMD form).
pub fn mpirun_args(args: &[&str]) -> Output {
    let mut cmd = Command::new("mpirun");
    cmd.arg("--oversubscribe").args(args);
    mpi_env(&mut cmd);
    let _one_at_a_time = MPIRUN_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    run_with_timeout(cmd, timeout())
}

/// Run the ignored test `worker` of this test binary as the ranks of
/// `mpirun -n RANKS`, with `envs` set (how a test file checks what its
/// worker prints on every rank).
pub fn mpirun_worker(ranks: usize, worker: &str, envs: &[(&str, &str)]) -> Output {
    let exe = std::env::current_exe().expect("path of this test binary");
    mpirun_program(
        ranks,
        &exe,
        &[
            worker,
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ],
        envs,
    )
}

/// The environment Open MPI needs in CI and containers.
pub fn mpi_env(cmd: &mut Command) {
    if running_as_root() {
        cmd.env("OMPI_ALLOW_RUN_AS_ROOT", "1")
            .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1");
    }
    cmd.env("OMPI_MCA_btl_vader_single_copy_mechanism", "none")
        .env("OMPI_MCA_rmaps_base_oversubscribe", "1");
}

fn running_as_root() -> bool {
    // The effective uid is the second number of the `Uid:` line.
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|uid| uid == "0"))
        })
        .unwrap_or(false)
}

/// Run `cmd` in its own process group; after `limit`, kill the whole group
/// and panic.
pub fn run_with_timeout(cmd: Command, limit: Duration) -> Output {
    run_with_input(cmd, None, limit)
}

/// `mpirun -n RANKS --oversubscribe chunkwise ARGS…` with `input` on its
/// standard input (mpirun forwards it to rank 0).
pub fn mpirun_input(ranks: usize, args: &[&str], input: &str) -> Output {
    let cmd = mpirun_command(ranks, args);
    let _one_at_a_time = MPIRUN_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    run_with_input(cmd, Some(input), timeout())
}

/// `chunkwise ARGS…` with `input` on its standard input.
pub fn run_input(args: &[&str], input: &str) -> Output {
    let mut cmd = Command::new(chunkwise_bin());
    cmd.args(args);
    run_with_input(cmd, Some(input), timeout())
}

/// The command `mpirun -n RANKS --oversubscribe chunkwise ARGS…`, with the
/// environment Open MPI needs here.
pub fn mpirun_command(ranks: usize, args: &[&str]) -> Command {
    let mut cmd = Command::new("mpirun");
    cmd.arg("-n")
        .arg(ranks.to_string())
        .arg("--oversubscribe")
        .arg(chunkwise_bin())
        .args(args);
    mpi_env(&mut cmd);
    cmd
}

/// `mpirun -n RANKS chunkwise --threads 1 serve` on a free port of
/// 127.0.0.1, writing its token and address to `dir`: the job, its address
/// (`http://127.0.0.1:PORT`) and its token, once it listens (at most 60 s).
pub fn serve_job(ranks: usize, dir: &std::path::Path) -> (Background, String, String) {
    let (tok, addr) = (dir.join("token"), dir.join("address"));
    let args = [
        "--threads",
        "1",
        "serve",
        "--bind",
        "127.0.0.1:0",
        "--token-file",
        tok.to_str().expect("a UTF-8 path"),
        "--address-file",
        addr.to_str().expect("a UTF-8 path"),
    ];
    let mut job = Background::start(mpirun_command(ranks, &args));
    let start = Instant::now();
    while !addr.exists() {
        assert!(!job.exited(), "serve exited before listening");
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "serve did not listen within 60 s"
        );
        thread::sleep(Duration::from_millis(50));
    }
    let read = |p: &std::path::Path| {
        std::fs::read_to_string(p)
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
            .trim()
            .to_string()
    };
    (job, read(&addr), read(&tok))
}

/// A process (group) running in the background, killed when dropped: a
/// server under test.
pub struct Background {
    pub command: String,
    child: Option<Child>,
    stdout: Option<mpsc::Receiver<String>>,
    stderr: Option<mpsc::Receiver<String>>,
}

impl Background {
    /// Start `cmd` in its own process group, its output collected.
    pub fn start(mut cmd: Command) -> Background {
        let command = format!("{cmd:?}");
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("could not start `{command}`: {e}"));
        let stdout = drain(child.stdout.take());
        let stderr = drain(child.stderr.take());
        Background {
            command,
            child: Some(child),
            stdout: Some(stdout),
            stderr: Some(stderr),
        }
    }

    /// Whether it has exited.
    pub fn exited(&mut self) -> bool {
        matches!(self.child.as_mut().map(|c| c.try_wait()), Some(Ok(Some(_))))
    }

    /// Wait for it to exit within `limit` (else kill it and panic); what it
    /// printed.
    pub fn wait(mut self, limit: Duration) -> Output {
        let mut child = self.child.take().expect("a background child");
        let start = Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if start.elapsed() >= limit => break None,
                Ok(None) => thread::sleep(Duration::from_millis(20)),
                Err(_) => break None,
            }
        };
        let Some(status) = status else {
            kill_group(&mut child);
            let out = collect(self.stdout.take().unwrap());
            let err = collect(self.stderr.take().unwrap());
            panic!(
                "`{}` did not exit within {limit:?} and was killed\n--- stdout ---\n{out}\n\
                 --- stderr ---\n{err}",
                self.command
            );
        };
        Output {
            command: self.command.clone(),
            status,
            stdout: collect(self.stdout.take().unwrap()),
            stderr: collect(self.stderr.take().unwrap()),
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            kill_group(&mut child);
        }
    }
}

/// Run `cmd` in its own process group with `input` on its standard input
/// (none: `/dev/null`); after `limit`, kill the whole group and panic.
pub fn run_with_input(mut cmd: Command, input: Option<&str>, limit: Duration) -> Output {
    let command = format!("{cmd:?}");
    cmd.stdin(if input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .process_group(0);
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("could not start `{command}`: {e}"));
    if let (Some(text), Some(mut pipe)) = (input, child.stdin.take()) {
        let text = text.to_string();
        thread::spawn(move || {
            use std::io::Write;
            let _ = pipe.write_all(text.as_bytes());
        });
    }
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if start.elapsed() >= limit => break None,
            Ok(None) => thread::sleep(Duration::from_millis(20)),
            Err(e) => {
                kill_group(&mut child);
                panic!("waiting for `{command}` failed: {e}");
            }
        }
    };
    let Some(status) = status else {
        kill_group(&mut child);
        let out = collect(stdout);
        let err = collect(stderr);
        panic!(
            "`{command}` timed out after {limit:?} and was killed (set \
             CHUNKWISE_TEST_TIMEOUT to change the limit)\n--- stdout ---\n{out}\n--- stderr ---\n{err}"
        );
    };
    Output {
        command,
        status,
        stdout: collect(stdout),
        stderr: collect(stderr),
    }
}

/// Read a pipe to its end on a thread; the result arrives on the channel.
fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    if let Some(mut pipe) = pipe {
        thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            let _ = tx.send(String::from_utf8_lossy(&bytes).into_owned());
        });
    }
    rx
}

/// The drained text, waiting a little: a stray grandchild that still holds
/// the pipe open must not hang the test.
fn collect(rx: mpsc::Receiver<String>) -> String {
    rx.recv_timeout(Duration::from_secs(10))
        .unwrap_or_else(|_| "<output not available: the pipe stayed open>".to_string())
}

/// SIGTERM the child's process group (mpirun then stops its ranks), give it
/// a moment, then SIGKILL the group and reap the child.
fn kill_group(child: &mut Child) {
    let group = format!("-{}", child.id());
    signal_group("TERM", &group);
    let grace = Instant::now();
    while grace.elapsed() < Duration::from_secs(3) {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        thread::sleep(Duration::from_millis(50));
    }
    signal_group("KILL", &group);
    let _ = child.kill();
    let _ = child.wait();
}

/// `kill -s SIG -- -PGID` through bash's builtin (no extra binary needed).
fn signal_group(signal: &str, group: &str) {
    let _ = Command::new("bash")
        .args(["-c", "kill -s \"$0\" -- \"$1\" 2>/dev/null", signal, group])
        .stdin(Stdio::null())
        .status();
}

/// Lines of `text` that start with `prefix`.
pub fn lines_starting_with<'a>(text: &'a str, prefix: &str) -> Vec<&'a str> {
    text.lines().filter(|l| l.starts_with(prefix)).collect()
}

/// A human-readable status, including a signal if one ended the run.
pub fn describe(status: &ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(sig)) => format!("signal {sig}"),
        _ => format!("{status}"),
    }
}
