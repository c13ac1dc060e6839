//! `chunkwise shell` as users run it, against the real job: `shell -n N`
//! (the client starts `mpirun -n N chunkwise serve` itself, N = 1 to 3) and
//! `shell --connect` (to a `serve` started here), with piped commands and in
//! a pseudo-terminal (util-linux `script`), where Ctrl-C cancels a running
//! computation and the prompt comes back. Printed values are checked
//! against closed forms computed here; after each shell, no process of the
//! job it started is left. Every wait has a deadline, and every process
//! started here is killed if a test fails.

mod util;

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant};

/// One MPI job at a time from this file (the harness's own lock is private
/// to its functions; these tests start jobs through the shell).
static ONE_JOB: Mutex<()> = Mutex::new(());

fn one_job() -> std::sync::MutexGuard<'static, ()> {
    ONE_JOB.lock().unwrap_or_else(|e| e.into_inner())
}

/// Sum of 0..n, n(n-1)/2, as the shell prints an f64.
fn sum_below(n: u64) -> String {
    format!("{:?}", (n * (n - 1) / 2) as f64)
}

/// Commands over several lines (an open bracket continues one), a persisted
/// array used by later commands, printed output and values, then the
/// shell's `:status`.
const COMMANDS: &str = "\
let x = arange(0, 100000, 1, 1000)
    .astype(\"float64\")
    .persist();
print(x.max().item());
x.sum().item()
let m = #{
    a: 1,
};
(x * 2.0).mean().item()
:status
";

/// What `COMMANDS` prints before `:status`: max, sum, mean of 2x.
fn expected_values() -> String {
    let n = 100_000u64;
    format!(
        "{:?}\n{}\n{:?}\n",
        (n - 1) as f64,
        sum_below(n),
        (n - 1) as f64
    )
}

/// A scratch directory (the shell's home: its job directories go to
/// `HOME/.chunkwise`), removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(test: &str) -> Scratch {
        let d = std::env::temp_dir().join(format!("cw-shell-mpi-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Scratch(d)
    }

    fn path(&self) -> &Path {
        &self.0
    }

    /// The job directories a launched job left under `HOME/.chunkwise`.
    fn job_dirs(&self) -> Vec<String> {
        std::fs::read_dir(self.0.join(".chunkwise"))
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n.starts_with("shell-"))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Processes whose command line names this directory (a launched job's
    /// `mpirun` and ranks name their token file in it).
    fn processes(&self) -> String {
        let out = Command::new("pgrep")
            .arg("-af")
            .arg(self.0.to_str().unwrap())
            .stdin(Stdio::null())
            .output()
            .expect("pgrep (procps) runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Panic unless the job a shell started has ended and its directory is
    /// gone.
    fn assert_job_ended(&self, what: &str) {
        let left = self.processes();
        assert!(left.trim().is_empty(), "{what}: still running:\n{left}");
        assert!(
            self.job_dirs().is_empty(),
            "{what}: job directory left: {:?}",
            self.job_dirs()
        );
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `chunkwise ARGS…` with `HOME` in `home` and the environment Open MPI
/// needs (the launched `mpirun` inherits it).
fn chunkwise(home: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(util::chunkwise_bin());
    cmd.args(args)
        .env("HOME", home)
        .env_remove("CHUNKWISE_TOKEN");
    util::mpi_env(&mut cmd);
    cmd
}

fn shell_n(home: &Path, ranks: usize, input: &str) -> util::Output {
    let n = ranks.to_string();
    let cmd = chunkwise(
        home,
        &[
            "--threads",
            "1",
            "shell",
            "-n",
            &n,
            "--launcher-args=--oversubscribe",
            "--no-history",
        ],
    );
    util::run_with_input(cmd, Some(input), util::timeout())
}

#[test]
fn piped_commands_through_a_launched_job_on_every_rank_count() {
    let _job = one_job();
    for ranks in 1..=3 {
        let home = Scratch::new(&format!("piped-{ranks}"));
        let out = shell_n(home.path(), ranks, COMMANDS);
        out.assert_success();
        let values = expected_values();
        assert!(
            out.stdout.starts_with(&values),
            "{ranks} ranks: expected {values:?} first\n--- stdout ---\n{}\n--- stderr ---\n{}",
            out.stdout,
            out.stderr
        );
        // `:status` shows the job the shell started: N ranks, a line each.
        let status = &out.stdout[values.len()..];
        assert!(
            status.starts_with("session at http://127.0.0.1:"),
            "{status}"
        );
        assert!(
            status.contains(&format!(": {ranks} rank(s) × 1 thread(s)")),
            "{status}"
        );
        for r in 0..ranks {
            assert!(status.contains(&format!("  rank {r} on ")), "{status}");
        }
        assert!(!status.contains(&format!("  rank {ranks} on ")), "{status}");
        assert!(status.contains("running: nothing"), "{status}");
        assert!(status.contains("jobs: 5 done, 0 failed"), "{status}");
        home.assert_job_ended(&format!("{ranks} ranks"));
    }
}

#[test]
fn a_failing_piped_command_ends_the_shell_and_its_job_with_exit_code_1() {
    let _job = one_job();
    let home = Scratch::new("fails");
    let input = "print(1);\nlet y = undefined_name + 1;\nprint(2);\n";
    let out = shell_n(home.path(), 2, input);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        util::describe(&out.status),
        out.stdout,
        out.stderr
    );
    assert_eq!(out.stdout, "1\n", "{}", out.stderr);
    assert_eq!(
        out.stderr.matches("is not defined").count(),
        1,
        "the error once: {}",
        out.stderr
    );
    // Where: the second command (job 2), line 1, column 9 (the name).
    assert!(
        out.stderr.contains("job 2:1:9: variable `undefined_name`"),
        "{}",
        out.stderr
    );
    home.assert_job_ended("after the failing command");
}

#[test]
fn the_shell_attaches_to_a_running_serve_which_outlives_it() {
    let _job = one_job();
    let home = Scratch::new("connect");
    let (job, address, _) = util::serve_job(2, home.path());
    let token_file = home.path().join("token");
    let token_file = token_file.to_str().unwrap();
    let connect = |input: &str, extra: &[&str], envs: &[(&str, &str)]| {
        let mut args = vec!["shell", "--connect", &address, "--no-history"];
        args.extend_from_slice(extra);
        let mut cmd = chunkwise(home.path(), &args);
        cmd.envs(envs.iter().copied());
        util::run_with_input(cmd, Some(input), util::timeout())
    };

    let out = connect(COMMANDS, &["--token-file", token_file], &[]);
    out.assert_success();
    assert!(
        out.stdout.starts_with(&expected_values()),
        "{}\n{}",
        out.stdout,
        out.stderr
    );
    assert!(out.stdout.contains(": 2 rank(s)"), "{}", out.stdout);

    // The session outlived that shell: `x` is still there, for a shell
    // that finds the token in CHUNKWISE_TOKEN.
    let token = std::fs::read_to_string(token_file).unwrap();
    let out = connect(
        "x.sum().item()\n",
        &[],
        &[("CHUNKWISE_TOKEN", token.trim())],
    );
    out.assert_success();
    assert_eq!(
        out.stdout,
        format!("{}\n", sum_below(100_000)),
        "{}",
        out.stderr
    );

    // A wrong token, or none at all, is refused with what to do.
    let out = connect("1 + 1\n", &[], &[("CHUNKWISE_TOKEN", "wrong")]);
    out.assert_failure();
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    assert!(
        out.stderr.contains("chunkwise: error:") && out.stderr.contains("token was refused"),
        "{}",
        out.stderr
    );
    let out = connect("1 + 1\n", &[], &[]);
    out.assert_failure();
    assert!(
        out.stderr.contains("cannot read the token"),
        "{}",
        out.stderr
    );

    // `:shutdown` ends the session: every rank exits.
    let out = connect(":shutdown\n", &["--token-file", token_file], &[]);
    out.assert_success();
    assert!(out.stderr.contains("shutting down"), "{}", out.stderr);
    job.wait(Duration::from_secs(60)).assert_success();
}

/// A command running in a pseudo-terminal (`script -qfec CMD /dev/null`),
/// driven by what is typed into it; killed (its process group) if dropped
/// before it ended.
struct Pty {
    child: Option<Child>,
    stdin: Option<ChildStdin>,
    output: mpsc::Receiver<Vec<u8>>,
    /// Everything the terminal showed so far.
    seen: Vec<u8>,
    /// Where the next `expect` starts looking.
    pos: usize,
}

/// Whether this machine can give a pseudo-terminal (`script` opens one).
/// Where it cannot (a chroot without `/dev/pts` mounted, as
/// `../shared/tools/fresh-check` builds), the terminal tests fail saying so,
/// unless `CHUNKWISE_SKIP_PTY=1` asks to skip them.
fn pty_available() -> bool {
    let probe = Command::new("script")
        .args(["-qec", "true", "/dev/null"])
        .stdin(std::process::Stdio::null())
        .output();
    match probe {
        Ok(out) if out.status.success() => true,
        Ok(out) if std::env::var("CHUNKWISE_SKIP_PTY").as_deref() == Ok("1") => {
            eprintln!(
                "skipped (CHUNKWISE_SKIP_PTY=1): no pseudo-terminal here: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
            false
        }
        Ok(out) => panic!(
            "no pseudo-terminal can be opened here ({}): mount devpts on /dev/pts, or set \
             CHUNKWISE_SKIP_PTY=1 to skip the terminal tests",
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Err(e) => {
            panic!("cannot run `script` ({e}): run scripts/install-deps.sh (package bsdutils)")
        }
    }
}

impl Pty {
    fn start(home: &Path, args: &[&str]) -> Pty {
        let quote = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
        let mut line = format!("exec {}", quote(util::chunkwise_bin().to_str().unwrap()));
        for a in args {
            line += &format!(" {}", quote(a));
        }
        let mut cmd = Command::new("script");
        cmd.args(["-qfec", &line, "/dev/null"])
            .env("HOME", home)
            .env("SHELL", "/bin/sh")
            .env("TERM", "xterm")
            .env_remove("CHUNKWISE_TOKEN")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        util::mpi_env(&mut cmd);
        let mut child = cmd.spawn().unwrap_or_else(|e| {
            panic!("could not start `script` (util-linux; run scripts/install-deps.sh): {e}")
        });
        let stdin = child.stdin.take();
        let mut stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        Pty {
            child: Some(child),
            stdin,
            output: rx,
            seen: Vec::new(),
            pos: 0,
        }
    }

    fn type_in(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("the terminal is open");
        stdin
            .write_all(bytes)
            .and_then(|()| stdin.flush())
            .unwrap_or_else(|e| panic!("typing {bytes:?}: {e}\n{}", self.transcript()));
    }

    /// Wait until the terminal shows `needle` after what was expected last.
    fn expect(&mut self, needle: &str) {
        let limit = util::timeout();
        let start = Instant::now();
        loop {
            if let Some(at) = find(&self.seen[self.pos..], needle.as_bytes()) {
                self.pos += at + needle.len();
                return;
            }
            let left = limit.saturating_sub(start.elapsed());
            match self.output.recv_timeout(left) {
                Ok(bytes) => self.seen.extend_from_slice(&bytes),
                Err(e) => panic!(
                    "the terminal did not show {needle:?} ({e:?} after {:?})\n{}",
                    start.elapsed(),
                    self.transcript()
                ),
            }
        }
    }

    /// Everything shown so far (escape sequences made visible).
    fn transcript(&self) -> String {
        format!(
            "--- terminal ---\n{}\n--- (expected up to byte {}) ---",
            String::from_utf8_lossy(&self.seen).escape_debug(),
            self.pos
        )
    }

    /// Wait for the command to exit (the terminal's input closed); its
    /// status and everything it showed.
    fn finish(mut self) -> (ExitStatus, String) {
        drop(self.stdin.take());
        let mut child = self.child.take().unwrap();
        let start = Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(s)) => break s,
                Ok(None) if start.elapsed() < util::timeout() => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                _ => {
                    self.child = Some(child);
                    panic!("the shell did not exit\n{}", self.transcript());
                }
            }
        };
        while let Ok(bytes) = self.output.recv_timeout(Duration::from_secs(5)) {
            self.seen.extend_from_slice(&bytes);
        }
        (status, String::from_utf8_lossy(&self.seen).into_owned())
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // `script` ends its command when killed; the pseudo-terminal's
            // hang-up ends the rest (and the shell's watchdog its job).
            let _ = Command::new("kill")
                .args(["-TERM", "--", &format!("-{}", child.id())])
                .stderr(Stdio::null())
                .status();
            std::thread::sleep(Duration::from_secs(1));
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A computation long enough to be caught running: it prints `running`
/// (the typed line does not contain that word) and then works on many
/// chunks.
const LONG: &str = "print(\"run\" + \"ning\"); \
                    random([200000, 200000], #{chunks: [2000, 2000], seed: 1}).std().item()\r";

/// Type a command, Ctrl-C a long one while it runs, type another, leave
/// with Ctrl-D; the shell's exit status and transcript.
fn drive_a_terminal_session(pty: &mut Pty) {
    pty.expect("cw> ");
    pty.type_in(b"arange(0, 1000, 1, 100).sum().item()\r");
    // An integer sum prints as one.
    pty.expect(&(1000 * 999 / 2).to_string());
    pty.expect("cw> ");
    // A command over two lines: Enter on an open bracket continues it.
    pty.type_in(b"let y = arange(\r");
    pty.type_in(b"0, 2000, 1, 100).astype(\"float64\").persist();\r");
    pty.expect("cw> ");
    pty.type_in(LONG.as_bytes());
    pty.expect("running");
    pty.type_in(b"\x03");
    pty.expect("cancelled");
    pty.expect("cw> ");
    // The session goes on, its variables intact.
    pty.type_in(b"y.sum().item()\r");
    pty.expect(&sum_below(2000));
    pty.expect("cw> ");
    pty.type_in(b"\x04");
}

#[test]
fn in_a_terminal_ctrl_c_cancels_a_running_command_of_a_launched_job() {
    if !pty_available() {
        return;
    }
    let _job = one_job();
    let home = Scratch::new("pty-client");
    let mut pty = Pty::start(
        home.path(),
        &[
            "--threads",
            "1",
            "shell",
            "-n",
            "2",
            "--launcher-args=--oversubscribe",
            "--no-history",
        ],
    );
    pty.expect("2 rank(s) at http://127.0.0.1:");
    drive_a_terminal_session(&mut pty);
    let (status, transcript) = pty.finish();
    assert!(
        status.success(),
        "{}\n{}",
        util::describe(&status),
        transcript.escape_debug()
    );
    home.assert_job_ended("after Ctrl-D");
}

#[test]
fn in_a_terminal_ctrl_c_cancels_a_running_command_of_the_in_process_shell() {
    if !pty_available() {
        return;
    }
    let _job = one_job();
    let home = Scratch::new("pty-local");
    let mut pty = Pty::start(home.path(), &["--threads", "1", "shell", "--no-history"]);
    drive_a_terminal_session(&mut pty);
    let (status, transcript) = pty.finish();
    assert!(
        status.success(),
        "{}\n{}",
        util::describe(&status),
        transcript.escape_debug()
    );
}
