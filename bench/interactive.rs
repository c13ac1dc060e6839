//! Responsiveness of interactive sessions: the latency of a small query,
//! `x.mean().item()`, on a persisted array of 10^4 chunks (1000 x 1000 in
//! 10 x 10 chunks), at `mpirun -n RANKS`:
//!
//! - `serve`: `POST /api/jobs` then `GET /api/jobs/ID?wait=...` until done,
//!   from this process (what a notebook or the dashboard does);
//! - `shell`: `chunkwise shell --connect` to the same session, one command
//!   written to its standard input and its answer read back;
//! - `shell-in-job`: `mpirun -n RANKS chunkwise shell` reading commands on
//!   rank 0's standard input (no HTTP at all).
//!
//! ```text
//! cargo bench --bench interactive -- [--runs 50] [--ranks 2]
//! ```
//!
//! Each figure is over `--runs` queries after 5 warm-up queries: median,
//! 10th and 90th percentiles, in milliseconds.

use anyhow::{bail, Context, Result};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SETUP: &str =
    "let x = random([1000, 1000], #{chunks: [10, 10], seed: 1}).persist(); x.numblocks";
const QUERY: &str = "x.mean().item()";
/// The same for a shell reading a pipe: a final `;` says the command is
/// whole (without it the shell reads the next line first, since a line
/// starting with `.method()` continues a command).
const SHELL_QUERY: &str = "x.mean().item();";
const WARMUP: usize = 5;

fn main() -> Result<()> {
    let mut runs = 50;
    let mut ranks = 2;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--runs" => runs = it.next().context("--runs N")?.parse()?,
            "--ranks" => ranks = it.next().context("--ranks N")?.parse()?,
            "--bench" => {}
            other => bail!("unknown argument {other:?}; expected --runs N, --ranks N"),
        }
    }
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_chunkwise"));
    let dir = std::env::temp_dir().join(format!("cw-bench-interactive-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    println!("x.mean().item() on a persisted 10^4-chunk array, mpirun -n {ranks}, {runs} queries");
    let result = served(&bin, &dir, ranks, runs).and_then(|()| in_job(&bin, ranks, runs));
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn mpirun(ranks: usize, bin: &Path) -> Command {
    let mut cmd = Command::new("mpirun");
    cmd.args(["-n", &ranks.to_string(), "--oversubscribe"])
        .arg(bin)
        .args(["--threads", "1"])
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .env("OMPI_MCA_btl_vader_single_copy_mechanism", "none");
    cmd
}

/// Kills the child when dropped.
struct Job(Child);

impl Drop for Job {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn served(bin: &Path, dir: &Path, ranks: usize, runs: usize) -> Result<()> {
    let (tok, addr) = (dir.join("token"), dir.join("address"));
    let mut cmd = mpirun(ranks, bin);
    cmd.args(["serve", "--bind", "127.0.0.1:0", "--token-file"])
        .arg(&tok)
        .arg("--address-file")
        .arg(&addr)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    let _job = Job(cmd.spawn().context("start mpirun ... serve")?);
    let start = Instant::now();
    while !addr.exists() {
        if start.elapsed() > Duration::from_secs(60) {
            bail!("serve did not start within 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let base = std::fs::read_to_string(&addr)?.trim().to_string();
    let token = std::fs::read_to_string(&tok)?.trim().to_string();
    let agent: ureq::Agent = ureq::Agent::config_builder().proxy(None).build().into();
    let run = |code: &str| -> Result<serde_json::Value> {
        let body = serde_json::json!({ "code": code }).to_string();
        let id: serde_json::Value = agent
            .post(format!("{base}/api/jobs"))
            .header("Authorization", format!("Bearer {token}"))
            .header("Content-Type", "application/json")
            .send(&body)?
            .body_mut()
            .read_json()?;
        let id = id["id"].as_u64().context("no job id")?;
        loop {
            let j: serde_json::Value = agent
                .get(format!("{base}/api/jobs/{id}?wait=30"))
                .header("Authorization", format!("Bearer {token}"))
                .call()?
                .body_mut()
                .read_json()?;
            match j["state"].as_str() {
                Some("done") => return Ok(j),
                Some("queued" | "running") => continue,
                _ => bail!("job failed: {j}"),
            }
        }
    };
    let setup = run(SETUP)?;
    println!("  setup: numblocks {}", setup["value"]);
    let mut times = Vec::new();
    for i in 0..WARMUP + runs {
        let t = Instant::now();
        run(QUERY)?;
        if i >= WARMUP {
            times.push(t.elapsed());
        }
    }
    report("serve (HTTP submit + wait)", &mut times);

    let mut shell = Command::new(bin)
        .args(["shell", "--no-history", "--connect", &base, "--token-file"])
        .arg(&tok)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("start chunkwise shell --connect")?;
    let times = converse(&mut shell, runs)?;
    drop(shell.stdin.take());
    let _ = shell.wait();
    report("shell --connect (client)", &mut times.clone());
    let _ = agent
        .post(format!("{base}/api/shutdown"))
        .header("Authorization", format!("Bearer {token}"))
        .send_empty();
    Ok(())
}

/// Write the query to a shell's stdin, read its answer line; the times.
fn converse(shell: &mut Child, runs: usize) -> Result<Vec<Duration>> {
    let mut stdin = shell.stdin.take().context("stdin")?;
    let mut stdout = BufReader::new(shell.stdout.take().context("stdout")?);
    let mut line = String::new();
    let mut times = Vec::new();
    for i in 0..WARMUP + runs {
        let t = Instant::now();
        writeln!(stdin, "{SHELL_QUERY}")?;
        stdin.flush()?;
        line.clear();
        if stdout.read_line(&mut line)? == 0 {
            bail!("the shell ended early");
        }
        if line.trim().parse::<f64>().is_err() {
            bail!("unexpected answer from the shell: {line:?}");
        }
        if i >= WARMUP {
            times.push(t.elapsed());
        }
    }
    shell.stdin = Some(stdin);
    Ok(times)
}

fn in_job(bin: &Path, ranks: usize, runs: usize) -> Result<()> {
    let mut cmd = mpirun(ranks, bin);
    cmd.args(["shell", "--no-history"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut job = Job(cmd.spawn().context("start mpirun ... shell")?);
    {
        let stdin = job.0.stdin.as_mut().context("stdin")?;
        writeln!(stdin, "{SETUP};")?;
        stdin.flush()?;
    }
    let mut out = BufReader::new(job.0.stdout.take().context("stdout")?);
    let mut line = String::new();
    out.read_line(&mut line)?;
    job.0.stdout = None;
    let mut times = Vec::new();
    let stdin = job.0.stdin.as_mut().context("stdin")?;
    for i in 0..WARMUP + runs {
        let t = Instant::now();
        writeln!(stdin, "{SHELL_QUERY}")?;
        stdin.flush()?;
        line.clear();
        if out.read_line(&mut line)? == 0 {
            bail!("the shell ended early");
        }
        if i >= WARMUP {
            times.push(t.elapsed());
        }
    }
    drop(job.0.stdin.take());
    let _ = job.0.wait();
    report("shell in the job (mpirun ... shell, stdin)", &mut times);
    Ok(())
}

fn report(what: &str, times: &mut [Duration]) {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    println!(
        "  {what:<44} median {:7.2} ms   p10 {:7.2} ms   p90 {:7.2} ms",
        ms(at(0.5)),
        ms(at(0.1)),
        ms(at(0.9))
    );
}
