//! A blocking client of `chunkwise serve`'s HTTP API (see
//! [`crate::serve`] for the API itself).
//!
//! The JSON types here mirror [`crate::serve::hub`]'s (field for field, the
//! ones the shell reads), so that the client needs nothing from the server
//! but its answers.

use std::time::Duration;

use serde::Deserialize;

use crate::{Error, Result};

/// The longest the server is asked to hold a long poll.
const LONG_POLL: Duration = Duration::from_secs(10);

/// Answers larger than this are refused (a job's output is kept whole).
const MAX_BODY: u64 = 1 << 30;

/// Where a job is (the API's `state`): the hub's own type.
pub use crate::serve::hub::JobState;

/// A job as `GET /api/jobs/ID` shows it.
#[derive(Debug, Clone, Deserialize)]
pub struct JobView {
    pub id: u64,
    #[serde(default)]
    pub code: String,
    pub state: JobState,
    /// What the code printed so far.
    #[serde(default)]
    pub output: String,
    /// The value of the code's last expression, as the shell shows it.
    #[serde(default)]
    pub value: Option<String>,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub elapsed_s: Option<f64>,
}

/// One rank in `GET /api/status`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RankView {
    pub rank: usize,
    pub host: String,
    pub rss_bytes: u64,
    pub tasks_run: u64,
}

/// The running computation's progress in `GET /api/status`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ProgressView {
    pub tasks_done: u64,
    pub tasks_total: u64,
    pub tasks_per_s: f64,
}

/// What runs now, in `GET /api/status`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RunningView {
    pub id: u64,
    pub code: String,
    pub elapsed_s: f64,
    pub progress: Option<ProgressView>,
}

/// Job counts in `GET /api/status`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct JobCountsView {
    pub queued: usize,
    pub done: usize,
    pub failed: usize,
    pub cancelled: usize,
}

/// `GET /api/status`: the session (the parts the shell shows).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct StatusView {
    pub version: String,
    pub ranks: usize,
    pub threads_per_rank: usize,
    pub memory_limit: u64,
    pub rank_info: Vec<RankView>,
    pub running: Option<RunningView>,
    pub jobs: JobCountsView,
    pub uptime_s: f64,
}

#[derive(Deserialize)]
struct Submitted {
    id: u64,
}

#[derive(Deserialize)]
struct Cancelled {
    #[serde(default)]
    cancelled: Vec<u64>,
}

/// A connection to one `chunkwise serve` session.
///
/// ```no_run
/// use chunkwise::shell::Client;
/// let client = Client::connect("127.0.0.1:8787", "TOKEN".into())?;
/// let id = client.submit("1 + 1")?;
/// let job = client.wait(id)?;
/// println!("{:?}", job.value);
/// # Ok::<(), chunkwise::Error>(())
/// ```
pub struct Client {
    agent: ureq::Agent,
    /// `http://host:port`, no trailing slash.
    base: String,
    token: String,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not the token.
        f.debug_struct("Client")
            .field("address", &self.base)
            .finish()
    }
}

impl Client {
    /// Connect to the session at `addr` (`http://host:port` or `host:port`)
    /// with its token, and check both with `GET /api/status`.
    pub fn connect(addr: &str, token: String) -> Result<Client> {
        let base = base_url(addr)?;
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(10)))
            .timeout_global(Some(LONG_POLL + Duration::from_secs(50)))
            .build()
            .into();
        let client = Client {
            agent,
            base,
            token: token.trim().to_string(),
        };
        client.status().map_err(|e| match e {
            Error::Io(m) if m.starts_with(GONE) => Error::Io(format!(
                "nothing listens at {}: start `mpirun -n N chunkwise serve` first, or use \
                 `chunkwise shell -n N`",
                client.base
            )),
            e => e,
        })?;
        Ok(client)
    }

    /// The session's address, `http://host:port`.
    pub fn address(&self) -> &str {
        &self.base
    }

    /// Queue `code` in the session; its job id.
    pub fn submit(&self, code: &str) -> Result<u64> {
        let body = serde_json::json!({ "code": code });
        let s: Submitted = self.call("POST", "/api/jobs", Some(body))?;
        Ok(s.id)
    }

    /// The job `id` once it has ended, or as it is after at most `wait`
    /// (the server holds the request that long).
    pub fn poll(&self, id: u64, wait: Duration) -> Result<JobView> {
        let secs = wait.min(LONG_POLL).as_secs_f64();
        self.call("GET", &format!("/api/jobs/{id}?wait={secs}"), None)
    }

    /// The job `id` once it has ended (long polls until then).
    pub fn wait(&self, id: u64) -> Result<JobView> {
        loop {
            let job = self.poll(id, LONG_POLL)?;
            if job.state.is_final() {
                return Ok(job);
            }
        }
    }

    /// Stop the running job on every rank and drop the queued ones; the ids
    /// of the jobs this affected.
    pub fn cancel(&self) -> Result<Vec<u64>> {
        let c: Cancelled = self.call("POST", "/api/cancel", None)?;
        Ok(c.cancelled)
    }

    /// End the session (every rank exits once the running job, if any, ends).
    pub fn shutdown(&self) -> Result<()> {
        self.call::<serde_json::Value>("POST", "/api/shutdown", None)
            .map(drop)
    }

    /// The session's status.
    pub fn status(&self) -> Result<StatusView> {
        self.call("GET", "/api/status", None)
    }

    fn call<T: serde::de::DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<T> {
        let url = format!("{}{path}", self.base);
        let auth = format!("Bearer {}", self.token);
        let response = match method {
            "GET" => self.agent.get(&url).header("Authorization", &auth).call(),
            _ => {
                let req = self.agent.post(&url).header("Authorization", &auth);
                match body {
                    Some(b) => req.send_json(b),
                    None => req.send_empty(),
                }
            }
        }
        .map_err(|e| self.transport_error(e))?;
        let status = response.status().as_u16();
        let text = response
            .into_body()
            .with_config()
            .limit(MAX_BODY)
            .read_to_string()
            .map_err(|e| self.transport_error(e))?;
        match status {
            200..=299 => {
                // An empty body (a bare 200 to shutdown, say) reads as null.
                let text = if text.trim().is_empty() {
                    "null"
                } else {
                    &text
                };
                serde_json::from_str(text).map_err(|e| {
                    Error::Io(format!(
                        "{} answered {method} {path} with something that is not the API's \
                         JSON ({e}): {}",
                        self.base,
                        excerpt(text)
                    ))
                })
            }
            401 => Err(Error::Io(format!(
                "the token was refused by {}: give the one serve printed (--token-file or \
                 CHUNKWISE_TOKEN)",
                self.base
            ))),
            404 if path.starts_with("/api/jobs/") => Err(Error::Io(format!(
                "{} does not know the job (it keeps the last 1000): {}",
                self.base,
                excerpt(&text)
            ))),
            _ => Err(Error::Io(format!(
                "{} answered {method} {path} with HTTP {status}: {}",
                self.base,
                excerpt(&text)
            ))),
        }
    }

    fn transport_error(&self, e: ureq::Error) -> Error {
        let refused = matches!(&e, ureq::Error::Io(io) if matches!(
            io.kind(),
            std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::ConnectionReset
        )) || matches!(e, ureq::Error::ConnectionFailed);
        if refused {
            Error::Io(format!(
                "{GONE} {}: the session ended, or it is not there ({e})",
                self.base
            ))
        } else {
            Error::Io(format!("could not talk to {}: {e}", self.base))
        }
    }
}

/// The start of the message of an error where nothing answers (connect
/// replaces it with advice).
const GONE: &str = "nothing answers at";

/// `http://host:port` from `http://host:port[/]` or `host:port`.
pub fn base_url(addr: &str) -> Result<String> {
    let a = addr.trim().trim_end_matches('/');
    if a.starts_with("https://") {
        return Err(Error::Plan(format!(
            "{addr}: serve speaks plain HTTP; reach a remote one through `ssh -N -L \
             PORT:localhost:PORT NODE` and connect to localhost:PORT"
        )));
    }
    let rest = a.strip_prefix("http://").unwrap_or(a);
    let ok = !rest.is_empty()
        && !rest.contains('/')
        && rest
            .rsplit_once(':')
            .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
    if !ok {
        return Err(Error::Plan(format!(
            "{addr:?} is not an address: give http://HOST:PORT or HOST:PORT (serve prints it)"
        )));
    }
    Ok(format!("http://{rest}"))
}

/// The first few hundred characters of an answer, for a message.
fn excerpt(text: &str) -> String {
    let t = text.trim();
    match t.char_indices().nth(300) {
        Some((i, _)) => format!("{}…", &t[..i]),
        None => t.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_with_or_without_scheme() {
        assert_eq!(base_url("localhost:8787").unwrap(), "http://localhost:8787");
        assert_eq!(
            base_url("http://127.0.0.1:9/").unwrap(),
            "http://127.0.0.1:9"
        );
        assert_eq!(base_url(" [::1]:80 ").unwrap(), "http://[::1]:80");
        for bad in [
            "",
            "localhost",
            ":80",
            "host:port",
            "http://h:1/x",
            "h:99999",
        ] {
            assert!(base_url(bad).is_err(), "{bad:?}");
        }
        let e = base_url("https://h:1").unwrap_err();
        assert!(e.message().contains("ssh -N -L"), "{e}");
    }

    #[test]
    fn job_json_as_the_hub_writes_it() {
        use crate::serve::hub::{Hub, SessionStatus};
        let hub = Hub::new(SessionStatus::default());
        let id = hub.submit("print(1); 2".into()).unwrap();
        let json = serde_json::to_string(&hub.job(id).unwrap()).unwrap();
        let j: JobView = serde_json::from_str(&json).unwrap();
        assert_eq!(
            (j.id, j.state, j.code.as_str()),
            (id, JobState::Queued, "print(1); 2")
        );
        let status = serde_json::to_string(&hub.status()).unwrap();
        let s: StatusView = serde_json::from_str(&status).unwrap();
        assert_eq!(s.jobs.queued, 1);
    }
}
