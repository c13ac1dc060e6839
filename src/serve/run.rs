//! [`run`]: the session of `chunkwise serve` on every rank. Rank 0 evaluates
//! the submitted code in one [`Interpreter`] (its variables live on from
//! job to job, as in a notebook), serves HTTP from other threads through
//! the [`Hub`], and publishes progress; the other ranks follow.

use super::hub::{Hub, LayerProgress, Next, Progress, RankInfo, SessionStatus};
use super::{http, token, ServeArgs};
use crate::error::{Error, Result};
use crate::exec::progress::ShardDirectory;
use crate::script::{self, Interpreter, Mode, ScriptError};
use crate::session::Session;
use std::io::Write;
use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

/// Serve the session until `POST /api/shutdown` (or a signal ends the job).
///
/// # Collective
/// Call on every rank.
///
/// # Errors
/// Rank 0: the server cannot start (address in use, token file not
/// writable), named; every rank then fails.
pub fn run(session: Rc<Session>, args: &ServeArgs) -> std::result::Result<(), ScriptError> {
    if session.comm().rank() != 0 {
        return script::follow(&session);
    }
    let it = Interpreter::new(session.clone(), Mode::Run, Box::new(std::io::sink()));
    let result = lead(it, &session, args);
    match result {
        (it, Ok(())) => it.finish(Ok(())),
        (it, Err(e)) => it.finish(Err(ScriptError::new("", e.to_string()))),
    }
}

/// Rank 0's part; the interpreter is given back so that the other ranks are
/// ended whatever happened.
fn lead(mut it: Interpreter, session: &Session, args: &ServeArgs) -> (Interpreter, Result<()>) {
    let hub = new_hub(session);
    // The ranks are in the status before anyone can ask for it.
    let started = publish_ranks(&it, &hub).and_then(|()| listen(&hub, args));
    let server = match started {
        Ok(x) => x,
        Err(e) => return (it, Err(e)),
    };
    it.set_cancel(hub.cancel_flag());
    let observed = hub.clone();
    session.set_observer(Some(Arc::new(move |d: &ShardDirectory| {
        let p = progress(d);
        observed.update(|st| {
            if let Some(r) = st.running.as_mut() {
                r.plan = Some(plan_text(d));
                r.progress = Some(p);
            }
        });
    })));
    let result = serve_jobs(&mut it, &hub);
    session.set_observer(None);
    server.stop();
    (it, result)
}

/// The hub, with the session's description.
fn new_hub(session: &Session) -> Arc<Hub> {
    let cfg = session.config();
    Hub::new(SessionStatus {
        version: env!("CARGO_PKG_VERSION").to_string(),
        ranks: session.comm().size(),
        threads_per_rank: cfg.threads,
        memory_limit: cfg.memory_limit,
        ..SessionStatus::default()
    })
}

/// Start the HTTP server: token, address file, banner.
fn listen(hub: &Arc<Hub>, args: &ServeArgs) -> Result<http::Server> {
    let tok = token::generate()?;
    let token_file = match &args.token_file {
        Some(p) => p.clone(),
        None => token::default_path()?,
    };
    token::save(&token_file, &tok)?;
    let server = http::start(hub.clone(), args.bind, tok.clone())?;
    let addr = server.addr();
    if let Some(path) = &args.address_file {
        // Bound to every interface (`--bind 0.0.0.0:0`, for a client on
        // another node): the address others reach is this host's name.
        let shown = if addr.ip().is_unspecified() {
            format!("{}:{}", crate::session::topology::hostname(), addr.port())
        } else {
            addr.to_string()
        };
        if let Err(e) = write_atomically(path, &format!("http://{shown}\n")) {
            server.stop();
            return Err(e);
        }
    }
    let mut out = std::io::stdout().lock();
    let _ = out
        .write_all(http::banner(addr, &tok, &token_file).as_bytes())
        .and_then(|()| out.flush());
    Ok(server)
}

/// Run the hub's jobs until shutdown.
fn serve_jobs(it: &mut Interpreter, hub: &Arc<Hub>) -> Result<()> {
    loop {
        let (id, code) = match hub.next(Duration::from_millis(500)) {
            Next::Job { id, code } => (id, code),
            Next::Idle => continue,
            Next::Shutdown => return Ok(()),
        };
        let tasks_before = it.session().tasks_run();
        let clock = std::time::Instant::now();
        it.set_output(Box::new(JobOutput {
            hub: hub.clone(),
            id,
        }));
        let shown = it.eval(&format!("job {id}"), &code).and_then(|v| {
            if let Some(r) = Interpreter::result_json(&v) {
                hub.set_result(id, r);
            }
            it.show(v)
        });
        let (value, error) = match shown {
            Ok(shown) => (shown, None),
            Err(e) => (None, Some(e.to_string())),
        };
        it.set_output(Box::new(std::io::sink()));
        let output = hub.job(id).map(|j| j.output).unwrap_or_default();
        publish_ranks(it, hub)?;
        let tasks = it.session().tasks_run() - tasks_before;
        let secs = clock.elapsed().as_secs_f64();
        if tasks > 0 && secs > 0.0 {
            hub.update(|st| st.last_tasks_per_s = Some(tasks as f64 / secs));
        }
        hub.finish(id, output, value, error);
    }
}

/// Gather every rank's memory and work into the status.
fn publish_ranks(it: &Interpreter, hub: &Hub) -> Result<()> {
    let reports = it.report()?;
    hub.update(|st| {
        st.rank_info = reports
            .into_iter()
            .enumerate()
            .map(|(rank, r)| RankInfo {
                rank,
                host: r.host,
                rss_bytes: r.rss_bytes,
                tasks_run: r.tasks_run,
            })
            .collect();
    });
    Ok(())
}

/// The dashboard's view of a running computation.
fn progress(d: &ShardDirectory) -> Progress {
    let elapsed = d.started.elapsed().as_secs_f64();
    let done = d.tasks_done();
    let total: u64 = d.layers.iter().map(|l| l.total).sum();
    Progress {
        layers: d
            .layers
            .iter()
            .map(|l| LayerProgress {
                name: l.name.clone(),
                total: l.total,
                done: l.done.clone(),
                shard: l.shard.clone(),
            })
            .collect(),
        tasks_done: done,
        tasks_total: total,
        tasks_per_s: if elapsed > 0.0 {
            done as f64 / elapsed
        } else {
            0.0
        },
        elapsed_s: elapsed,
        bytes_sent: d.bytes_sent.clone(),
    }
}

/// The task graph being run, one layer a line.
fn plan_text(d: &ShardDirectory) -> String {
    d.layers
        .iter()
        .map(|l| format!("{:<32} {:>10} tasks", l.name, l.total))
        .collect::<Vec<_>>()
        .join("\n")
}

/// What a job prints, added to its record as it is printed.
struct JobOutput {
    hub: Arc<Hub>,
    id: u64,
}

impl Write for JobOutput {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.hub
            .append_output(self.id, &String::from_utf8_lossy(buf));
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Write `text` to `path` through a temporary file and a rename.
fn write_atomically(path: &Path, text: &str) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| {
            Error::Io(format!(
                "cannot write the address file `{}`: {e}",
                path.display()
            ))
        })
}
