//! `chunkwise serve`: rank 0 serves the session over HTTP, with a token, a
//! JSON API and a dashboard; the other ranks execute the plans rank 0 sends.
//!
//! # The API
//!
//! Every request needs the session's token, as `Authorization: Bearer TOKEN`
//! (or, for the dashboard in a browser, `?token=TOKEN` once, which sets a
//! cookie). Without it, or with a wrong one, the answer is `401` and nothing
//! else.
//!
//! * `GET /api/status`: [`hub::SessionStatus`] (ranks, memory per rank, what
//!   is running with its plan and progress by shard, job counts).
//! * `POST /api/jobs` with `{"code": "..."}`: queue a script; `202` with
//!   `{"id": N}`.
//! * `GET /api/jobs/N[?wait=SECONDS]`: [`hub::JobRecord`] (state, output,
//!   value, error), after waiting up to `wait` seconds for the job to end.
//! * `POST /api/cancel`: stop the running job on every rank and drop the
//!   queued ones; `{"cancelled": [ids]}`.
//! * `POST /api/shutdown`: end the session (every rank exits).
//! * `GET /`: the dashboard.

pub mod hub;
