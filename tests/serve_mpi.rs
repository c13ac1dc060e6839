//! `chunkwise serve` as users run it: `mpirun -n N chunkwise serve` on 1 to
//! 3 ranks, driven over HTTP with its token. Results are checked against
//! values computed here independently (closed forms), persisted arrays
//! live across jobs, a cancel stops a computation on every rank, and
//! shutdown ends every rank. Every wait has a deadline.

mod util;

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use util::Background;

/// A served session under test; the job is killed when it is dropped.
struct Served {
    job: Option<Background>,
    base: String,
    token: String,
    agent: ureq::Agent,
    dir: PathBuf,
}

/// The status and body of a reply.
#[derive(Debug)]
struct Reply {
    status: u16,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

fn scratch(test: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("cw-serve-mpi-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn reply(r: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Reply {
    let mut r = r.expect("the request reached the server and got an answer");
    Reply {
        status: r.status().as_u16(),
        body: r.body_mut().read_to_string().unwrap(),
    }
}

impl Served {
    /// `mpirun -n ranks chunkwise serve` on a free port; waits until it
    /// listens.
    fn start(ranks: usize, test: &str) -> Served {
        let dir = scratch(&format!("{test}-{ranks}"));
        let (job, base, token) = util::serve_job(ranks, &dir);
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .proxy(None)
            .build()
            .into();
        Served {
            job: Some(job),
            base,
            token,
            agent,
            dir,
        }
    }

    fn get(&self, path: &str, auth: Option<&str>) -> Reply {
        let mut rq = self.agent.get(format!("{}{path}", self.base));
        if let Some(a) = auth {
            rq = rq.header("Authorization", a);
        }
        reply(rq.call())
    }

    fn post(&self, path: &str, body: &str, auth: Option<&str>) -> Reply {
        let mut rq = self
            .agent
            .post(format!("{}{path}", self.base))
            .header("Content-Type", "application/json");
        if let Some(a) = auth {
            rq = rq.header("Authorization", a);
        }
        reply(rq.send(body))
    }

    fn bearer(&self) -> String {
        format!("Bearer {}", self.token)
    }

    /// Submit `code`; its id.
    fn submit(&self, code: &str) -> u64 {
        let r = self.post(
            "/api/jobs",
            &json!({ "code": code }).to_string(),
            Some(&self.bearer()),
        );
        assert_eq!(r.status, 202, "{r:?}");
        r.json()["id"].as_u64().unwrap()
    }

    /// Job `id` once it has ended.
    fn finished(&self, id: u64) -> Value {
        let start = Instant::now();
        loop {
            let j = self
                .get(&format!("/api/jobs/{id}?wait=20"), Some(&self.bearer()))
                .json();
            let state = j["state"].as_str().unwrap().to_string();
            if !matches!(state.as_str(), "queued" | "running") {
                return j;
            }
            assert!(start.elapsed() < Duration::from_secs(120), "job {id}: {j}");
        }
    }

    /// Run `code` to its end; the job.
    fn run(&self, code: &str) -> Value {
        self.finished(self.submit(code))
    }

    /// Shut down and wait for every rank to exit; what the job printed.
    fn shutdown(mut self) -> util::Output {
        let r = self.post("/api/shutdown", "", Some(&self.bearer()));
        assert_eq!(r.status, 200, "{r:?}");
        let out = self.job.take().unwrap().wait(Duration::from_secs(60));
        let _ = std::fs::remove_dir_all(&self.dir);
        out
    }
}

fn value_f64(job: &Value) -> f64 {
    assert_eq!(job["state"], "done", "{job}");
    job["value"]
        .as_str()
        .unwrap_or_else(|| panic!("no value: {job}"))
        .trim()
        .parse()
        .unwrap_or_else(|e| panic!("{e}: {job}"))
}

#[test]
fn serve_answers_with_the_token_only_and_computes_on_every_rank_count() {
    for ranks in 1..=3 {
        let s = Served::start(ranks, "answers");
        // The token, and nothing else, opens the API.
        let status = s.get("/api/status", Some(&s.bearer()));
        assert_eq!(status.status, 200, "{status:?}");
        let st = status.json();
        assert_eq!(st["ranks"], ranks);
        assert_eq!(st["rank_info"].as_array().unwrap().len(), ranks, "{st}");
        for auth in [None, Some("Bearer wrong"), Some("Basic abc")] {
            let r = s.get("/api/status", auth);
            assert_eq!(r.status, 401, "{auth:?}: {r:?}");
            assert!(!r.body.contains("rank_info"), "{r:?}");
            let r = s.post("/api/jobs", r#"{"code": "1"}"#, auth);
            assert_eq!(r.status, 401, "{auth:?}: {r:?}");
        }
        // Malformed requests are refused with what was wrong.
        let r = s.post("/api/jobs", "{not json", Some(&s.bearer()));
        assert_eq!(r.status, 400, "{r:?}");
        assert!(r.json()["error"].is_string(), "{r:?}");
        let r = s.post("/api/jobs", r#"{"script": "1"}"#, Some(&s.bearer()));
        assert_eq!(r.status, 400, "{r:?}");

        // sum(0..n) = n(n-1)/2; persisted, used by later jobs.
        let n = 1_000_000u64;
        let j = s.run(&format!(
            "let x = arange(0, {n}, 1, 1000).astype(\"float64\").persist(); x.sum().item()"
        ));
        assert_eq!(value_f64(&j), (n * (n - 1) / 2) as f64, "{ranks} ranks");
        let j = s.run("print(x.max().item()); (x * 2.0).mean().item()");
        assert_eq!(j["output"], format!("{:?}\n", (n - 1) as f64), "{j}");
        assert_eq!(value_f64(&j), (n - 1) as f64, "{j}");
        // A script error: the job fails with its line; the session goes on.
        let j = s.run("let y = x +;");
        assert_eq!(j["state"], "failed", "{j}");
        assert!(j["error"].as_str().unwrap().contains("job"), "{j}");
        let j = s.run("x.mean(\"time\")");
        assert_eq!(j["state"], "failed", "{j}");
        let j = s.run("x.min().item()");
        assert_eq!(value_f64(&j), 0.0);
        assert_eq!(j["result"], json!(0.0), "{j}");
        // Results as JSON: computed values, flat in C order, with dtype and
        // shape (here rows of 0..12 summed along axis 1).
        let j = s.run("arange(0, 12, 1, 5).reshape([3, 4]).sum(1).compute()");
        assert_eq!(j["state"], "done", "{j}");
        assert_eq!(
            j["result"],
            json!({"dtype": "int64", "shape": [3], "values": [6.0, 22.0, 38.0]}),
            "{j}"
        );
        // Each rank ran some of the tasks.
        let st = s.get("/api/status", Some(&s.bearer())).json();
        for r in st["rank_info"].as_array().unwrap() {
            assert!(r["tasks_run"].as_u64().unwrap() > 0, "{st}");
            assert!(r["rss_bytes"].as_u64().unwrap() > 0, "{st}");
        }
        let out = s.shutdown();
        out.assert_success();
    }
}

#[test]
fn cancel_stops_a_computation_on_every_rank_and_the_session_goes_on() {
    for ranks in [1, 3] {
        let s = Served::start(ranks, "cancel");
        // Many small tasks: long enough to be caught running.
        let id = s.submit(
            "let big = random([40000, 40000], #{chunks: [500, 500], seed: 3}); \
             (big + big.t()).std().item()",
        );
        let start = Instant::now();
        loop {
            let st = s.get("/api/status", Some(&s.bearer())).json();
            if st["running"]["progress"]["tasks_done"]
                .as_u64()
                .unwrap_or(0)
                > 0
            {
                break;
            }
            assert!(start.elapsed() < Duration::from_secs(60), "never ran: {st}");
            std::thread::sleep(Duration::from_millis(20));
        }
        let r = s.post("/api/cancel", "", Some(&s.bearer()));
        assert_eq!(r.status, 200, "{r:?}");
        let j = s.finished(id);
        assert_eq!(j["state"], "cancelled", "{j}");
        assert!(j["error"].as_str().unwrap().contains("cancel"), "{j}");
        // Every rank is back and the next job runs.
        let j = s.run("arange(10).sum().item()");
        assert_eq!(value_f64(&j), 45.0, "{j}");
        s.shutdown().assert_success();
    }
}

#[test]
fn writes_and_plots_from_a_served_session_are_complete_files() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/data/nc/air_small.nc");
    let s = Served::start(2, "writes");
    let (nc, png) = (s.dir.join("mean.nc"), s.dir.join("mean.png"));
    let j = s.run(&format!(
        "let ds = open_dataset(\"{}\"); let m = ds.air.mean(\"time\"); \
         m.to_netcdf(\"{}\"); plot(m, \"{}\"); m.mean().item()",
        data.display(),
        nc.display(),
        png.display()
    ));
    let served_mean = value_f64(&j);
    // Read back in a separate one-rank run.
    let check = s.dir.join("check.rhai");
    std::fs::write(
        &check,
        format!(
            "print(open_dataset(\"{}\").air.mean().item());",
            nc.display()
        ),
    )
    .unwrap();
    let out = util::run(&["run", check.to_str().unwrap()]);
    out.assert_success();
    let read_back: f64 = out.stdout.trim().parse().unwrap();
    assert!(
        (read_back - served_mean).abs() <= 1e-9 * served_mean.abs(),
        "{read_back} vs {served_mean}"
    );
    let head = std::fs::read(&png).unwrap();
    assert_eq!(&head[..8], b"\x89PNG\r\n\x1a\n");
    s.shutdown().assert_success();
}
