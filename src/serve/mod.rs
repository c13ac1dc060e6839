//! `chunkwise serve`: rank 0 serves the session over HTTP, with a token, a
//! JSON API and a dashboard; the other ranks execute the plans rank 0 sends.
//!
//! # The API
//!
//! Every request needs the session's token, as `Authorization: Bearer TOKEN`
//! (or, for the dashboard in a browser, `?token=TOKEN` once, which sets a
//! cookie). Without it, or with a wrong one, the answer is `401` and nothing
//! else: `{"error": "missing or wrong token"}`, or for `GET /` a fixed page
//! saying so. The token is printed once at start and saved, readable by you
//! only, in `--token-file` ([`token`]).
//!
//! JSON answers have `Content-Type: application/json`; a refused request gets
//! `{"error": "..."}` saying what was wrong: `400` (a body that is not
//! `{"code": "..."}` JSON, a bad `wait`), `404` (unknown path or job), `405`
//! (wrong method), `413` (a body over 1 MiB), `503` (shutting down).
//!
//! * `GET /api/status`: [`hub::SessionStatus`] (ranks, memory per rank, what
//!   is running with its plan and progress by shard, job counts).
//! * `POST /api/jobs` with `{"code": "..."}`: queue a script; `202` with
//!   `{"id": N}`.
//! * `GET /api/jobs/N[?wait=SECONDS]`: [`hub::JobRecord`] (state, output,
//!   value as the shell shows it, error, and the result as JSON: a number,
//!   or computed values as `{"dtype", "shape", "values"}`), after waiting up
//!   to `wait` seconds (at most 60) for the job to end.
//! * `POST /api/cancel`: stop the running job on every rank and drop the
//!   queued ones; `{"cancelled": [ids]}`.
//! * `POST /api/shutdown`: end the session (every rank exits); `{"shutdown":
//!   true}`.
//! * `GET /`: the dashboard ([`http`]): one page polling `/api/status`.

pub mod http;
pub mod hub;
pub mod run;
pub mod token;

use std::net::SocketAddr;
use std::path::PathBuf;

/// `chunkwise serve`'s options.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Where rank 0 listens. The default is reachable from this node only;
    /// `ssh -N -L` reaches it from a laptop (printed at start). Port 0 picks a
    /// free port.
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:8787")]
    pub bind: SocketAddr,
    /// Where the token is saved (readable by you only) [default:
    /// ~/.chunkwise/token].
    #[arg(long, value_name = "PATH", env = "CHUNKWISE_TOKEN_FILE")]
    pub token_file: Option<PathBuf>,
    /// Also write the address the server listens on (`http://HOST:PORT`) to
    /// this file, once it listens (for launchers such as `chunkwise shell -n`).
    #[arg(long, value_name = "PATH")]
    pub address_file: Option<PathBuf>,
}
