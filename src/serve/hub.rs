//! The [`Hub`]: what rank 0's HTTP threads and its main thread (the one that
//! evaluates scripts and talks MPI) share in `chunkwise serve`.
//!
//! HTTP threads [`submit`](Hub::submit) code, read [`job`](Hub::job)s and the
//! [`status`](Hub::status), [`wait`](Hub::wait) for a job to end, and
//! [`cancel`](Hub::cancel). The main thread takes jobs with
//! [`next`](Hub::next), runs them one at a time in submission order (a
//! session is one interpreter, as a Jupyter kernel is), publishes progress with
//! [`update`](Hub::update) and ends each with [`finish`](Hub::finish). Nothing
//! here calls MPI: the hub is plain shared memory (a mutex and a condition
//! variable), so HTTP threads never touch the communicator.
//!
//! The JSON the API returns is these types serialised with serde; their field
//! names are the API (documented in [`super`]).

use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Jobs kept after they end (the oldest finished ones are forgotten first).
const KEPT: usize = 1000;

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    Queued,
    Running,
    Done,
    Failed,
    Cancelled,
}

impl JobState {
    /// Done, failed or cancelled: it will not change again.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            JobState::Done | JobState::Failed | JobState::Cancelled
        )
    }
}

/// One submitted piece of code and what came of it.
#[derive(Debug, Clone, Serialize)]
pub struct JobRecord {
    pub id: u64,
    pub code: String,
    pub state: JobState,
    /// What the code printed (`print`), line by line.
    pub output: String,
    /// The value of the code's last expression, as the shell shows it (an
    /// xarray-like summary), if it has one.
    pub value: Option<String>,
    /// The error, with the line and what was expected, if it failed or was
    /// cancelled.
    pub error: Option<String>,
    /// The value of the code's last expression as JSON, when it is a number,
    /// a string, a boolean or computed values (`x.compute()`, `x.values()`):
    /// `{"dtype", "shape", "dims"?, "values"}` with the values flat in C
    /// order (NaN as `null`).
    pub result: Option<serde_json::Value>,
    /// Seconds from start to end (or until now, while it runs).
    pub elapsed_s: Option<f64>,
    #[serde(skip)]
    started: Option<Instant>,
}

/// One layer's progress by shard (rank): the dashboard's bars.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LayerProgress {
    pub name: String,
    /// Needed tasks of the layer.
    pub total: u64,
    /// Per rank: tasks done of its shard.
    pub done: Vec<u64>,
    /// Per rank: tasks in its shard.
    pub shard: Vec<u64>,
}

/// The progress of the computation that is running now.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Progress {
    pub layers: Vec<LayerProgress>,
    pub tasks_done: u64,
    pub tasks_total: u64,
    /// Tasks done per second since the computation started.
    pub tasks_per_s: f64,
    pub elapsed_s: f64,
    /// Per rank: bytes sent to other ranks.
    pub bytes_sent: Vec<u64>,
}

/// What is running now.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Running {
    pub id: u64,
    pub code: String,
    pub elapsed_s: f64,
    /// The plan of the computation in progress (`explain`'s text), when one is.
    pub plan: Option<String>,
    pub progress: Option<Progress>,
}

/// One rank's memory and work.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RankInfo {
    pub rank: usize,
    pub host: String,
    /// Resident memory when last reported (after the last job, or at start).
    pub rss_bytes: u64,
    /// Tasks this rank has run in the session.
    pub tasks_run: u64,
}

/// Counts of jobs by state.
#[derive(Debug, Clone, Default, Serialize)]
pub struct JobCounts {
    pub queued: usize,
    pub done: usize,
    pub failed: usize,
    pub cancelled: usize,
}

/// `GET /api/status`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SessionStatus {
    pub version: String,
    pub ranks: usize,
    pub threads_per_rank: usize,
    pub memory_limit: u64,
    pub rank_info: Vec<RankInfo>,
    /// Tasks done per second over the last finished computation.
    pub last_tasks_per_s: Option<f64>,
    pub running: Option<Running>,
    pub jobs: JobCounts,
    pub uptime_s: f64,
}

/// What [`Hub::next`] gives the main thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Run this code (the job is now `running`).
    Job { id: u64, code: String },
    /// Nothing arrived within the timeout.
    Idle,
    /// The session is shutting down.
    Shutdown,
}

struct State {
    next_id: u64,
    queue: VecDeque<u64>,
    jobs: BTreeMap<u64, JobRecord>,
    status: SessionStatus,
    running: Option<u64>,
    shutdown: bool,
}

/// See the [module docs](self).
pub struct Hub {
    state: Mutex<State>,
    changed: Condvar,
    cancel: Arc<AtomicBool>,
    started: Instant,
}

impl Hub {
    /// An empty hub; `status` is the session's description (ranks, threads,
    /// memory) that [`status`](Hub::status) starts from.
    pub fn new(status: SessionStatus) -> Arc<Hub> {
        Arc::new(Hub {
            state: Mutex::new(State {
                next_id: 1,
                queue: VecDeque::new(),
                jobs: BTreeMap::new(),
                status,
                running: None,
                shutdown: false,
            }),
            changed: Condvar::new(),
            cancel: Arc::new(AtomicBool::new(false)),
            started: Instant::now(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A thread that panicked while holding the lock left consistent data
        // (every update is a few assignments): go on with it.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queue `code`; its job id. `Err` once the session is shutting down.
    pub fn submit(&self, code: String) -> Result<u64, String> {
        let mut s = self.lock();
        if s.shutdown {
            return Err("the session is shutting down".into());
        }
        let id = s.next_id;
        s.next_id += 1;
        s.jobs.insert(
            id,
            JobRecord {
                id,
                code,
                state: JobState::Queued,
                output: String::new(),
                value: None,
                error: None,
                result: None,
                elapsed_s: None,
                started: None,
            },
        );
        s.queue.push_back(id);
        forget_old(&mut s);
        drop(s);
        self.changed.notify_all();
        Ok(id)
    }

    /// The job `id` as it is now (`None`: no such job, or forgotten).
    pub fn job(&self, id: u64) -> Option<JobRecord> {
        let s = self.lock();
        s.jobs.get(&id).map(with_elapsed)
    }

    /// The job `id` once it has ended, or as it is after `timeout`.
    pub fn wait(&self, id: u64, timeout: Duration) -> Option<JobRecord> {
        let deadline = Instant::now() + timeout;
        let mut s = self.lock();
        loop {
            let job = s.jobs.get(&id)?;
            let now = Instant::now();
            if job.state.is_final() || now >= deadline {
                return Some(with_elapsed(job));
            }
            s = self
                .changed
                .wait_timeout(s, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// Stop the running job (on every rank, at the computation's next wave)
    /// and drop the queued ones, as Jupyter's "interrupt" does. The ids of
    /// the jobs this affected.
    pub fn cancel(&self) -> Vec<u64> {
        let mut s = self.lock();
        let mut hit: Vec<u64> = s.running.into_iter().collect();
        if s.running.is_some() {
            self.cancel.store(true, Ordering::SeqCst);
        }
        let queued: Vec<u64> = s.queue.drain(..).collect();
        for id in queued {
            if let Some(j) = s.jobs.get_mut(&id) {
                j.state = JobState::Cancelled;
                j.error = Some("cancelled before it started".into());
            }
            hit.push(id);
        }
        drop(s);
        self.changed.notify_all();
        hit
    }

    /// Refuse new jobs, and tell the main thread to end the session once the
    /// running job (if any) ends. Queued jobs are cancelled.
    pub fn shutdown(&self) {
        self.cancel();
        self.lock().shutdown = true;
        self.changed.notify_all();
    }

    /// Whether [`shutdown`](Hub::shutdown) was called.
    pub fn is_shut_down(&self) -> bool {
        self.lock().shutdown
    }

    /// The session's status now.
    pub fn status(&self) -> SessionStatus {
        let s = self.lock();
        let mut st = s.status.clone();
        st.uptime_s = self.started.elapsed().as_secs_f64();
        st.jobs = JobCounts::default();
        for j in s.jobs.values() {
            match j.state {
                JobState::Queued => st.jobs.queued += 1,
                JobState::Done => st.jobs.done += 1,
                JobState::Failed => st.jobs.failed += 1,
                JobState::Cancelled => st.jobs.cancelled += 1,
                JobState::Running => {}
            }
        }
        if let (Some(r), Some(id)) = (st.running.as_mut(), s.running) {
            if let Some(t) = s.jobs.get(&id).and_then(|j| j.started) {
                r.elapsed_s = t.elapsed().as_secs_f64();
            }
        }
        st
    }

    // ---- the main thread's side ----

    /// The flag the executor polls: set by [`cancel`](Hub::cancel), cleared
    /// when the next job starts.
    pub fn cancel_flag(&self) -> Arc<AtomicBool> {
        self.cancel.clone()
    }

    /// The next job to run, waiting at most `timeout` for one.
    pub fn next(&self, timeout: Duration) -> Next {
        let deadline = Instant::now() + timeout;
        let mut s = self.lock();
        loop {
            if s.shutdown && s.running.is_none() {
                return Next::Shutdown;
            }
            if let Some(id) = s.queue.pop_front() {
                self.cancel.store(false, Ordering::SeqCst);
                s.running = Some(id);
                let code = match s.jobs.get_mut(&id) {
                    Some(j) => {
                        j.state = JobState::Running;
                        j.started = Some(Instant::now());
                        j.code.clone()
                    }
                    None => continue,
                };
                s.status.running = Some(Running {
                    id,
                    code: code.clone(),
                    ..Running::default()
                });
                drop(s);
                self.changed.notify_all();
                return Next::Job { id, code };
            }
            let now = Instant::now();
            if now >= deadline {
                return Next::Idle;
            }
            s = self
                .changed
                .wait_timeout(s, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// Change the status (the running job's plan and progress, the ranks'
    /// memory).
    pub fn update(&self, f: impl FnOnce(&mut SessionStatus)) {
        f(&mut self.lock().status);
    }

    /// Record the end of job `id`: its output, value and error. A job whose
    /// error came from a cancel is `cancelled`, else `failed`.
    pub fn finish(&self, id: u64, output: String, value: Option<String>, error: Option<String>) {
        let mut s = self.lock();
        let cancelled = self.cancel.swap(false, Ordering::SeqCst);
        if let Some(j) = s.jobs.get_mut(&id) {
            j.state = match (&error, cancelled) {
                (None, _) => JobState::Done,
                (Some(_), true) => JobState::Cancelled,
                (Some(_), false) => JobState::Failed,
            };
            j.output = output;
            j.value = value;
            j.error = error;
            j.elapsed_s = j.started.map(|t| t.elapsed().as_secs_f64());
        }
        if s.running == Some(id) {
            s.running = None;
            s.status.running = None;
        }
        drop(s);
        self.changed.notify_all();
    }

    /// Set job `id`'s JSON result (before [`finish`](Hub::finish)).
    pub fn set_result(&self, id: u64, result: serde_json::Value) {
        if let Some(j) = self.lock().jobs.get_mut(&id) {
            j.result = Some(result);
        }
    }

    /// Add `text` to the running job's output (what it prints, as it prints
    /// it, so a poll shows it before the job ends).
    pub fn append_output(&self, id: u64, text: &str) {
        if let Some(j) = self.lock().jobs.get_mut(&id) {
            j.output.push_str(text);
        }
    }
}

fn with_elapsed(j: &JobRecord) -> JobRecord {
    let mut j = j.clone();
    if j.state == JobState::Running {
        j.elapsed_s = j.started.map(|t| t.elapsed().as_secs_f64());
    }
    j
}

/// Forget the oldest finished jobs beyond [`KEPT`].
fn forget_old(s: &mut State) {
    while s.jobs.len() > KEPT {
        let old = s
            .jobs
            .iter()
            .find(|(_, j)| j.state.is_final())
            .map(|(&id, _)| id);
        match old {
            Some(id) => {
                s.jobs.remove(&id);
            }
            None => break,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_run_in_order_and_end_with_their_output() {
        let hub = Hub::new(SessionStatus::default());
        let a = hub.submit("1 + 1".into()).unwrap();
        let b = hub.submit("print(2)".into()).unwrap();
        assert_eq!(hub.job(a).unwrap().state, JobState::Queued);
        assert_eq!(
            hub.next(Duration::ZERO),
            Next::Job {
                id: a,
                code: "1 + 1".into()
            }
        );
        assert_eq!(hub.status().running.unwrap().id, a);
        hub.finish(a, String::new(), Some("2".into()), None);
        let j = hub.wait(a, Duration::ZERO).unwrap();
        assert_eq!((j.state, j.value.as_deref()), (JobState::Done, Some("2")));
        assert!(matches!(hub.next(Duration::ZERO), Next::Job { id, .. } if id == b));
        hub.finish(b, "2\n".into(), None, Some("boom".into()));
        assert_eq!(hub.job(b).unwrap().state, JobState::Failed);
        assert_eq!(hub.next(Duration::from_millis(1)), Next::Idle);
        let st = hub.status();
        assert_eq!((st.jobs.done, st.jobs.failed), (1, 1));
        assert!(st.running.is_none());
    }

    #[test]
    fn cancel_flags_the_running_job_and_drops_the_queued() {
        let hub = Hub::new(SessionStatus::default());
        let a = hub.submit("a".into()).unwrap();
        let b = hub.submit("b".into()).unwrap();
        assert!(matches!(hub.next(Duration::ZERO), Next::Job { .. }));
        assert_eq!(hub.cancel(), vec![a, b]);
        assert!(hub.cancel_flag().load(Ordering::SeqCst));
        assert_eq!(hub.job(b).unwrap().state, JobState::Cancelled);
        hub.finish(a, String::new(), None, Some("cancelled".into()));
        assert_eq!(hub.job(a).unwrap().state, JobState::Cancelled);
        assert!(!hub.cancel_flag().load(Ordering::SeqCst));
    }

    #[test]
    fn wait_returns_when_another_thread_finishes_the_job() {
        let hub = Hub::new(SessionStatus::default());
        let a = hub.submit("a".into()).unwrap();
        let h = hub.clone();
        let t = std::thread::spawn(move || {
            if let Next::Job { id, .. } = h.next(Duration::from_secs(5)) {
                h.finish(id, "out\n".into(), None, None);
            }
        });
        let j = hub.wait(a, Duration::from_secs(10)).unwrap();
        t.join().unwrap();
        assert_eq!((j.state, j.output.as_str()), (JobState::Done, "out\n"));
    }

    #[test]
    fn shutdown_refuses_new_jobs_and_ends_the_main_loop() {
        let hub = Hub::new(SessionStatus::default());
        hub.shutdown();
        assert!(hub.submit("x".into()).is_err());
        assert_eq!(hub.next(Duration::ZERO), Next::Shutdown);
    }
}
