//! `chunkwise shell -n N`: start `chunkwise serve` as an MPI job of `N` ranks
//! inside the current allocation, and end it when the shell ends.
//!
//! The job runs as
//! `LAUNCHER [LAUNCHER ARGS] -n N chunkwise [FLAGS] serve --bind ADDR
//! --token-file DIR/token --address-file DIR/address`, with `DIR` a fresh
//! directory readable by you only (under `~/.chunkwise`, which compute nodes
//! usually share with the login node, so that rank 0 can write there wherever
//! it runs). The job's output goes to `DIR/serve.log`; its end shows in the
//! shell only if the job fails. The launcher runs in its own process group
//! with no standard input: Ctrl-C at the shell cancels a computation instead
//! of killing the job, and the job does not read the terminal.

use std::ffi::OsString;
use std::fs::{DirBuilder, File};
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::DirBuilderExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::client::Client;
use crate::{Error, Result};

/// How long the job may take to listen.
pub const START_TIMEOUT: Duration = Duration::from_secs(120);

/// How long the job may take to exit after `POST /api/shutdown`.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// Lines of the job's log shown when it fails.
const LOG_TAIL_LINES: usize = 30;

/// The program that starts MPI jobs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Launcher {
    Mpirun,
    Srun,
    Mpiexec,
    /// Another program (or one of the above at a given path), called the
    /// same way: `PROGRAM [ARGS] -n N …`.
    Path(PathBuf),
}

impl Launcher {
    /// `srun` inside a SLURM allocation (`SLURM_JOB_ID` set), else `mpirun`.
    pub fn default_for(slurm_job_id: Option<&str>) -> Launcher {
        match slurm_job_id {
            Some(id) if !id.is_empty() => Launcher::Srun,
            _ => Launcher::Mpirun,
        }
    }

    /// The launcher for this process's environment ([`default_for`] of
    /// `SLURM_JOB_ID`).
    ///
    /// [`default_for`]: Launcher::default_for
    pub fn from_env() -> Launcher {
        Launcher::default_for(std::env::var("SLURM_JOB_ID").ok().as_deref())
    }

    /// `mpirun`, `srun`, `mpiexec`, or a path to a program.
    pub fn parse(s: &str) -> std::result::Result<Launcher, String> {
        Ok(match s.trim() {
            "" => return Err("the launcher is empty (mpirun, srun, mpiexec or a path)".into()),
            "mpirun" => Launcher::Mpirun,
            "srun" => Launcher::Srun,
            "mpiexec" => Launcher::Mpiexec,
            p => Launcher::Path(PathBuf::from(p)),
        })
    }

    /// The program to run.
    pub fn program(&self) -> OsString {
        match self {
            Launcher::Mpirun => "mpirun".into(),
            Launcher::Srun => "srun".into(),
            Launcher::Mpiexec => "mpiexec".into(),
            Launcher::Path(p) => p.clone().into_os_string(),
        }
    }
}

/// What to start: everything but the directory.
#[derive(Debug, Clone)]
pub struct LaunchSpec {
    pub launcher: Launcher,
    /// Given before `-n N`, e.g. `--oversubscribe`.
    pub launcher_args: Vec<String>,
    pub ranks: usize,
    /// The `chunkwise` binary the ranks run (this one).
    pub exe: PathBuf,
    /// Global flags before `serve` (`--threads 8`, `--memory-limit 16GiB`).
    pub serve_flags: Vec<String>,
    /// `serve --bind`.
    pub bind: String,
    pub start_timeout: Duration,
}

impl LaunchSpec {
    /// The command line (program first) that starts the job, with its token
    /// and address files in `dir`.
    pub fn command_line(&self, dir: &Path) -> Vec<OsString> {
        let mut v: Vec<OsString> = vec![self.launcher.program()];
        v.extend(self.launcher_args.iter().map(OsString::from));
        v.push("-n".into());
        v.push(self.ranks.to_string().into());
        v.push(self.exe.clone().into_os_string());
        v.extend(self.serve_flags.iter().map(OsString::from));
        v.push("serve".into());
        v.push("--bind".into());
        v.push(self.bind.clone().into());
        v.push("--token-file".into());
        v.push(dir.join("token").into_os_string());
        v.push("--address-file".into());
        v.push(dir.join("address").into_os_string());
        v
    }
}

/// Split launcher arguments as a shell would (`'…'`, `"…"`, `\`), without
/// expanding anything.
pub fn split_args(s: &str) -> std::result::Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => cur.push(c),
                        None => return Err(format!("{s:?}: a ' is not closed")),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => cur.push(c),
                            Some(c) => {
                                cur.push('\\');
                                cur.push(c);
                            }
                            None => return Err(format!("{s:?}: a \" is not closed")),
                        },
                        Some(c) => cur.push(c),
                        None => return Err(format!("{s:?}: a \" is not closed")),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some(c) => cur.push(c),
                    None => return Err(format!("{s:?}: ends with a lone \\")),
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        out.push(cur);
    }
    Ok(out)
}

/// A running `chunkwise serve` job that this shell started. Dropping it
/// stops the job (without asking it first) and removes its directory; call
/// [`stop`](Job::stop) to end it cleanly.
pub struct Job {
    child: Option<Child>,
    /// Ends the job if this process dies without stopping it (a closed
    /// terminal's SIGHUP, a kill): see [`watchdog`].
    watchdog: Option<Child>,
    dir: PathBuf,
    address: String,
    token: String,
    description: String,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not the token.
        f.debug_struct("Job")
            .field("command", &self.description)
            .field("address", &self.address)
            .field("dir", &self.dir)
            .finish()
    }
}

impl Job {
    /// Start the job and wait until it listens (or fails, or `interrupt` is
    /// set, or [`LaunchSpec::start_timeout`] passes).
    pub fn start(spec: &LaunchSpec, interrupt: &AtomicBool) -> Result<Job> {
        let dir = private_dir()?;
        let line = spec.command_line(&dir);
        let description = line
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ");
        let log = File::create(dir.join("serve.log")).map_err(|e| {
            let _ = std::fs::remove_dir_all(&dir);
            Error::Io(format!(
                "could not create {}: {e}",
                dir.join("serve.log").display()
            ))
        })?;
        let spawned = log.try_clone().and_then(|log2| {
            Command::new(&line[0])
                .args(&line[1..])
                .stdin(Stdio::null())
                .stdout(log)
                .stderr(log2)
                .process_group(0)
                .spawn()
        });
        let child = match spawned {
            Ok(c) => c,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                let hint = if e.kind() == std::io::ErrorKind::NotFound {
                    " (is MPI installed and on PATH? --launcher or CHUNKWISE_LAUNCHER names \
                     another launcher)"
                } else {
                    ""
                };
                return Err(Error::Io(format!(
                    "could not start `{}`: {e}{hint}",
                    spec.launcher.program().to_string_lossy()
                )));
            }
        };
        let watchdog = watchdog(child.id(), &dir);
        let mut job = Job {
            child: Some(child),
            watchdog,
            dir,
            address: String::new(),
            token: String::new(),
            description,
        };
        job.address = job.wait_listening(spec.start_timeout, interrupt)?;
        job.token = std::fs::read_to_string(job.dir.join("token"))
            .map(|t| t.trim().to_string())
            .map_err(|e| {
                Error::Io(format!(
                    "the job listens at {} but its token file cannot be read: {e}",
                    job.address
                ))
            })?;
        Ok(job)
    }

    /// Where the job listens (`http://host:port`).
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The job's token.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The launcher command line, for messages.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The last lines the job printed.
    pub fn log_tail(&self) -> String {
        tail(&self.dir.join("serve.log"), LOG_TAIL_LINES)
    }

    /// The job's exit status, if it has ended.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    fn wait_listening(&mut self, timeout: Duration, interrupt: &AtomicBool) -> Result<String> {
        let start = Instant::now();
        let path = self.dir.join("address");
        let mut last: Option<String> = None;
        loop {
            // Serve writes the file once it listens. A read in the middle of
            // that write could give a shorter port: take the address when it
            // ends with a newline, or reads the same twice.
            if let Ok(text) = std::fs::read_to_string(&path) {
                if let Ok(base) = super::client::base_url(&text) {
                    if text.ends_with('\n') || last.as_deref() == Some(text.as_str()) {
                        return Ok(base);
                    }
                }
                last = Some(text);
            }
            if let Some(status) = self.exited() {
                return Err(Error::Io(format!(
                    "the MPI job ended ({status}) before it listened; `{}` printed:\n{}",
                    self.description,
                    self.log_tail()
                )));
            }
            if interrupt.load(Ordering::SeqCst) {
                return Err(Error::Io("interrupted while the MPI job started".into()));
            }
            if start.elapsed() > timeout {
                return Err(Error::Io(format!(
                    "the MPI job did not listen within {} s (waiting for a free allocation? \
                     too many ranks for the nodes?); `{}` printed so far:\n{}",
                    timeout.as_secs(),
                    self.description,
                    self.log_tail()
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// End the job: ask it (`POST /api/shutdown` through `client`), wait for
    /// the launcher to exit, else terminate it; then remove its directory.
    /// `Err` (with the end of its log) if the job failed.
    pub fn stop(mut self, client: Option<&Client>) -> Result<()> {
        if let Some(c) = client {
            // A job that is gone already needs no asking.
            let _ = c.shutdown();
        }
        let status = self.wait_or_kill(STOP_TIMEOUT);
        let failed = match status {
            Some(s) if s.success() => None,
            Some(s) => Some(format!("the MPI job ended with {s}")),
            None => Some("the MPI job did not end and was killed".to_string()),
        };
        let result = match failed {
            None => Ok(()),
            Some(what) => Err(Error::Io(format!(
                "{what}; `{}` printed:\n{}",
                self.description,
                self.log_tail()
            ))),
        };
        let _ = std::fs::remove_dir_all(&self.dir);
        result
    }

    /// Wait up to `timeout` for the launcher; then SIGTERM its process group
    /// (mpirun passes it to the ranks), then SIGKILL. The status if it
    /// exited by itself.
    fn wait_or_kill(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let mut child = self.child.take()?;
        let start = Instant::now();
        while start.elapsed() < timeout {
            if let Ok(Some(s)) = child.try_wait() {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = Command::new("kill")
            .args(["-TERM", "--"])
            .arg(format!("-{}", child.id()))
            .stderr(Stdio::null())
            .status();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(5) {
            if let Ok(Some(_)) = child.try_wait() {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        None
    }
}

impl Drop for Job {
    fn drop(&mut self) {
        if self.child.is_some() {
            self.wait_or_kill(Duration::ZERO);
        }
        if let Some(mut w) = self.watchdog.take() {
            let _ = w.kill();
            let _ = w.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A process that ends the job's process group (`pgid`) once this process
/// is gone (and removes `dir`), in case it dies without stopping the job (SIGHUP when its
/// terminal closes, SIGKILL): the job must not hold the allocation's nodes
/// with nobody attached. It checks once a second and exits with the job;
/// [`Job`] ends it otherwise. `None` if it cannot be started (the job then
/// only ends with this process's cleanup).
fn watchdog(pgid: u32, dir: &Path) -> Option<Child> {
    // dash's kill takes no `--`; "-PGID" after the signal is a group.
    let script = "while kill -0 \"$0\" 2>/dev/null && kill -0 \"-$1\" 2>/dev/null; do \
                  sleep 1; done; \
                  kill -TERM \"-$1\" 2>/dev/null && sleep 5 && kill -KILL \"-$1\" 2>/dev/null; \
                  if ! kill -0 \"$0\" 2>/dev/null; then rm -rf \"$2\"; fi";
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(std::process::id().to_string())
        .arg(pgid.to_string())
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .ok()
}

/// A fresh directory readable by you only: `~/.chunkwise/shell-PID-N`, or
/// under the temporary directory without a home.
fn private_dir() -> Result<PathBuf> {
    let base = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|h| PathBuf::from(h).join(".chunkwise"))
        .unwrap_or_else(std::env::temp_dir);
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&base)
        .map_err(|e| Error::Io(format!("could not create {}: {e}", base.display())))?;
    let salt = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    for n in 0..100u32 {
        let dir = base.join(format!(
            "shell-{}-{}",
            std::process::id(),
            salt.wrapping_add(n)
        ));
        match DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(Error::Io(format!(
                    "could not create {}: {e}",
                    dir.display()
                )))
            }
        }
    }
    Err(Error::Io(format!(
        "could not create a fresh directory in {}",
        base.display()
    )))
}

/// The last `lines` lines of a file (at most its last 64 KiB).
fn tail(path: &Path, lines: usize) -> String {
    let Ok(mut f) = File::open(path) else {
        return "(no output)".into();
    };
    let len = f.metadata().map_or(0, |m| m.len());
    let _ = f.seek(SeekFrom::Start(len.saturating_sub(64 * 1024)));
    let mut buf = Vec::new();
    let _ = f.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf);
    let all: Vec<&str> = text.trim_end().lines().collect();
    let shown = all[all.len().saturating_sub(lines)..].join("\n");
    if shown.trim().is_empty() {
        "(no output)".into()
    } else {
        shown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(launcher: Launcher, args: &[&str], flags: &[&str]) -> LaunchSpec {
        LaunchSpec {
            launcher,
            launcher_args: args.iter().map(|s| s.to_string()).collect(),
            ranks: 4,
            exe: PathBuf::from("/opt/cw/chunkwise"),
            serve_flags: flags.iter().map(|s| s.to_string()).collect(),
            bind: "127.0.0.1:0".into(),
            start_timeout: START_TIMEOUT,
        }
    }

    fn line(s: &LaunchSpec) -> String {
        s.command_line(Path::new("/d"))
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn mpirun_command_line() {
        assert_eq!(
            line(&spec(
                Launcher::Mpirun,
                &["--oversubscribe"],
                &["--threads", "2"]
            )),
            "mpirun --oversubscribe -n 4 /opt/cw/chunkwise --threads 2 serve --bind 127.0.0.1:0 \
             --token-file /d/token --address-file /d/address"
        );
    }

    #[test]
    fn srun_and_a_path_take_n_too() {
        assert_eq!(
            line(&spec(Launcher::Srun, &[], &[])),
            "srun -n 4 /opt/cw/chunkwise serve --bind 127.0.0.1:0 --token-file /d/token \
             --address-file /d/address"
        );
        let p = Launcher::parse("/usr/local/bin/mpiexec.hydra").unwrap();
        assert!(line(&spec(p, &["-ppn", "2"], &[]))
            .starts_with("/usr/local/bin/mpiexec.hydra -ppn 2 -n 4 /opt/cw/chunkwise serve"));
    }

    #[test]
    fn the_default_launcher_follows_slurm() {
        assert_eq!(Launcher::default_for(Some("12345")), Launcher::Srun);
        assert_eq!(Launcher::default_for(Some("")), Launcher::Mpirun);
        assert_eq!(Launcher::default_for(None), Launcher::Mpirun);
        assert_eq!(Launcher::parse("mpiexec").unwrap(), Launcher::Mpiexec);
        assert!(Launcher::parse(" ").is_err());
    }

    #[test]
    fn launcher_args_split_like_a_shell() {
        assert_eq!(
            split_args("--oversubscribe  --mca btl 'self,tcp' -x \"A=b c\" d\\ e").unwrap(),
            [
                "--oversubscribe",
                "--mca",
                "btl",
                "self,tcp",
                "-x",
                "A=b c",
                "d e"
            ]
        );
        assert_eq!(split_args("  ").unwrap(), Vec::<String>::new());
        assert_eq!(split_args("''").unwrap(), [""]);
        assert!(split_args("'open").is_err());
        assert!(split_args("\"open").is_err());
    }

    #[test]
    fn tail_keeps_the_last_lines() {
        let dir = std::env::temp_dir().join(format!("cw-tail-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("log");
        let text: String = (1..=50).map(|i| format!("line {i}\n")).collect();
        std::fs::write(&p, text).unwrap();
        let t = tail(&p, 3);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(t, "line 48\nline 49\nline 50");
        assert_eq!(tail(Path::new("/nonexistent/log"), 3), "(no output)");
    }
}
