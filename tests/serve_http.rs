//! `chunkwise serve`'s HTTP layer against a real client (ureq) over a real
//! socket: the token, the API's answers and refusals, long polls, cancel and
//! shutdown. Rank 0's main loop is played by a thread with canned behaviour
//! (echo the code, fail on `fail`, run until cancelled on `sleep`), so the
//! tests check the HTTP side alone; MPI is not involved.

use chunkwise::serve::http;
use chunkwise::serve::hub::{Hub, Next, RankInfo, SessionStatus};
use chunkwise::serve::token;
use serde_json::{json, Value};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// No request or thread of these tests may take longer than this.
const LIMIT: Duration = Duration::from_secs(60);

/// A served session: the hub, its HTTP server, the fake main loop, a client.
struct Session {
    hub: Arc<Hub>,
    server: Option<http::Server>,
    main: Option<JoinHandle<()>>,
    token: String,
    base: String,
    agent: ureq::Agent,
}

impl Session {
    fn start() -> Session {
        let hub = Hub::new(SessionStatus {
            version: "test".into(),
            ranks: 2,
            threads_per_rank: 3,
            memory_limit: 1 << 30,
            rank_info: (0..2)
                .map(|r| RankInfo {
                    rank: r,
                    host: format!("node{r}"),
                    rss_bytes: 1000 + r as u64,
                    tasks_run: 7 * r as u64,
                })
                .collect(),
            ..SessionStatus::default()
        });
        let token = token::generate().unwrap();
        let server = http::start(hub.clone(), "127.0.0.1:0".parse().unwrap(), token.clone())
            .expect("start the HTTP server");
        let base = format!("http://{}", server.addr());
        let main = fake_rank0(hub.clone());
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(LIMIT))
            .proxy(None)
            .max_redirects(0)
            .build()
            .into();
        Session {
            hub,
            server: Some(server),
            main: Some(main),
            token,
            base,
            agent,
        }
    }

    fn bearer(&self) -> String {
        format!("Bearer {}", self.token)
    }

    fn get(&self, path: &str) -> Reply {
        reply(
            self.agent
                .get(format!("{}{path}", self.base))
                .header("Authorization", self.bearer())
                .call(),
        )
    }

    fn post_json(&self, path: &str, body: &str) -> Reply {
        reply(
            self.agent
                .post(format!("{}{path}", self.base))
                .header("Authorization", self.bearer())
                .header("Content-Type", "application/json")
                .send(body),
        )
    }

    fn post_empty(&self, path: &str) -> Reply {
        reply(
            self.agent
                .post(format!("{}{path}", self.base))
                .header("Authorization", self.bearer())
                .send_empty(),
        )
    }

    /// Submit `code`; its job id.
    fn submit(&self, code: &str) -> u64 {
        let r = self.post_json("/api/jobs", &json!({ "code": code }).to_string());
        assert_eq!(r.status, 202, "{r:?}");
        r.json()["id"].as_u64().expect("an id")
    }

    /// The job once it has ended (long polls of up to 30 s each).
    fn finished(&self, id: u64) -> Value {
        let start = Instant::now();
        loop {
            let r = self.get(&format!("/api/jobs/{id}?wait=30"));
            assert_eq!(r.status, 200, "{r:?}");
            let j = r.json();
            if j["state"] != "queued" && j["state"] != "running" {
                return j;
            }
            assert!(start.elapsed() < LIMIT, "job {id} did not end: {j}");
        }
    }

    /// Wait until job `id` is running.
    fn until_running(&self, id: u64) {
        let start = Instant::now();
        while self.get(&format!("/api/jobs/{id}")).json()["state"] != "running" {
            assert!(start.elapsed() < LIMIT, "job {id} never started");
            thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.hub.shutdown();
        if let Some(main) = self.main.take() {
            join_within(main, "the fake main loop");
        }
        if let Some(server) = self.server.take() {
            server.stop();
        }
    }
}

/// Join `t`, failing the test if it does not end within [`LIMIT`].
fn join_within(t: JoinHandle<()>, what: &str) {
    let start = Instant::now();
    while !t.is_finished() {
        assert!(start.elapsed() < LIMIT, "{what} did not end");
        thread::sleep(Duration::from_millis(5));
    }
    if t.join().is_err() && !thread::panicking() {
        panic!("{what} panicked");
    }
}

/// Rank 0's main loop, canned: `fail` fails, `sleep` runs until cancelled,
/// anything else prints itself and has its length as value.
fn fake_rank0(hub: Arc<Hub>) -> JoinHandle<()> {
    thread::spawn(move || loop {
        match hub.next(Duration::from_millis(50)) {
            Next::Job { id, code } => match code.as_str() {
                "fail" => hub.finish(
                    id,
                    "about to fail\n".into(),
                    None,
                    Some("line 1: boom".into()),
                ),
                "sleep" => {
                    let flag = hub.cancel_flag();
                    let start = Instant::now();
                    while !flag.load(Ordering::SeqCst) && start.elapsed() < LIMIT {
                        thread::sleep(Duration::from_millis(2));
                    }
                    hub.finish(id, String::new(), None, Some("cancelled".into()));
                }
                _ => hub.finish(
                    id,
                    format!("{code}\n"),
                    Some(format!("len {}", code.len())),
                    None,
                ),
            },
            Next::Idle => {}
            Next::Shutdown => return,
        }
    })
}

/// An answer, read whole.
#[derive(Debug)]
struct Reply {
    status: u16,
    content_type: Option<String>,
    set_cookie: Vec<String>,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }

    /// A JSON error: its message.
    fn error(&self) -> String {
        assert_eq!(
            self.content_type.as_deref(),
            Some("application/json"),
            "{self:?}"
        );
        let v = self.json();
        assert_eq!(v.as_object().map(|o| o.len()), Some(1), "{self:?}");
        v["error"].as_str().expect("an error message").to_string()
    }
}

fn reply(r: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Reply {
    let mut r = r.expect("the request reached the server and got an answer");
    let header = |name: &str| -> Vec<String> {
        r.headers()
            .get_all(name)
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect()
    };
    let content_type = header("content-type").into_iter().next();
    let set_cookie = header("set-cookie");
    Reply {
        status: r.status().as_u16(),
        content_type,
        set_cookie,
        body: r.body_mut().read_to_string().unwrap(),
    }
}

/// A 401 that tells nothing: empty, or one JSON error line, no session data.
fn assert_refused(r: &Reply) {
    assert_eq!(r.status, 401, "{r:?}");
    assert!(
        r.body.is_empty() || (!r.body.trim().contains('\n') && !r.error().is_empty()),
        "{r:?}"
    );
    for secret in ["node0", "rank_info", "state", "\"id\""] {
        assert!(!r.body.contains(secret), "{secret} in {r:?}");
    }
}

#[test]
fn a_job_submitted_with_the_token_runs_and_its_output_comes_back() {
    let s = Session::start();
    let id = s.submit("1 + 1");
    let j = s.finished(id);
    assert_eq!(j["id"], id);
    assert_eq!(j["state"], "done");
    assert_eq!(j["code"], "1 + 1");
    assert_eq!(j["output"], "1 + 1\n");
    assert_eq!(j["value"], "len 5");
    assert_eq!(j["error"], Value::Null);
    // A second job gets a new id and runs after the first.
    let id2 = s.submit("print(2)");
    assert!(id2 > id);
    assert_eq!(s.finished(id2)["output"], "print(2)\n");

    let st = s.get("/api/status");
    assert_eq!(st.status, 200, "{st:?}");
    assert_eq!(st.content_type.as_deref(), Some("application/json"));
    let st = st.json();
    assert_eq!(
        (st["ranks"].as_u64(), st["threads_per_rank"].as_u64()),
        (Some(2), Some(3))
    );
    assert_eq!(st["rank_info"][1]["host"], "node1");
    assert_eq!(st["jobs"]["done"], 2);
    assert_eq!(st["running"], Value::Null);
}

#[test]
fn a_script_error_fails_the_job_with_the_error() {
    let s = Session::start();
    let id = s.submit("fail");
    let j = s.finished(id);
    assert_eq!(j["state"], "failed");
    assert_eq!(j["error"], "line 1: boom");
    assert_eq!(j["output"], "about to fail\n");
    assert_eq!(s.get("/api/status").json()["jobs"]["failed"], 1);
}

#[test]
fn requests_without_the_right_token_get_401_and_nothing_else() {
    let s = Session::start();
    let url = |p: &str| format!("{}{p}", s.base);
    let wrong = {
        let mut t = s.token.clone().into_bytes();
        let last = t.len() - 1;
        t[last] = if t[last] == b'0' { b'1' } else { b'0' };
        String::from_utf8(t).unwrap()
    };
    let prefix = s.token[..s.token.len() - 1].to_string();
    let auths: Vec<Option<String>> = vec![
        None,
        Some(format!("Bearer {wrong}")),
        Some(format!("Bearer {prefix}")),
        Some(format!("Bearer {}x", s.token)),
        Some("Bearer ".into()),
        Some(format!("Basic {}", s.token)),
        Some(s.token.clone()),
    ];
    for auth in &auths {
        let with = |mut rq: ureq::RequestBuilder<_>| {
            if let Some(a) = auth {
                rq = rq.header("Authorization", a);
            }
            rq
        };
        let with_body = |mut rq: ureq::RequestBuilder<ureq::typestate::WithBody>| {
            if let Some(a) = auth {
                rq = rq.header("Authorization", a);
            }
            rq.header("Content-Type", "application/json")
        };
        for path in [
            "/api/status",
            "/api/jobs/1",
            "/api/jobs/1?wait=1",
            "/nowhere",
            "/api/jobs",
        ] {
            assert_refused(&reply(with(s.agent.get(url(path))).call()));
        }
        for path in ["/api/jobs", "/api/cancel", "/api/shutdown", "/api/status"] {
            assert_refused(&reply(
                with_body(s.agent.post(url(path))).send(r#"{"code": "1"}"#),
            ));
        }
        // The dashboard's page without the token is a fixed page, no data.
        let page = reply(with(s.agent.get(url("/"))).call());
        assert_eq!(page.status, 401, "{page:?}");
        assert!(page.body.contains("Not authorised"), "{page:?}");
        assert!(!page.body.contains("node0") && !page.body.contains("fetch("));
        assert!(page.set_cookie.is_empty());
    }
    // A token in the query authorises the dashboard's page only.
    assert_refused(&reply(
        s.agent
            .get(url(&format!("/api/status?token={}", s.token)))
            .call(),
    ));
    let page = reply(s.agent.get(url(&format!("/?token={wrong}"))).call());
    assert_eq!(page.status, 401);
    assert!(page.set_cookie.is_empty());
    // Nothing was queued, cancelled or shut down by the refused requests.
    let st = s.get("/api/status").json();
    assert_eq!(
        st["jobs"],
        json!({"queued": 0, "done": 0, "failed": 0, "cancelled": 0})
    );
    assert!(!s.hub.is_shut_down());
}

#[test]
fn malformed_requests_are_refused_saying_what_was_wrong() {
    let s = Session::start();
    let bad_json = s.post_json("/api/jobs", "{\"code\": ");
    assert_eq!(bad_json.status, 400, "{bad_json:?}");
    assert!(bad_json.error().contains("not valid JSON"), "{bad_json:?}");

    let no_code = s.post_json("/api/jobs", r#"{"script": "1 + 1"}"#);
    assert_eq!(no_code.status, 400);
    assert!(no_code.error().contains("missing \"code\""), "{no_code:?}");

    let not_string = s.post_json("/api/jobs", r#"{"code": 12}"#);
    assert_eq!(not_string.status, 400);
    assert!(not_string.error().contains("string"), "{not_string:?}");

    let not_object = s.post_json("/api/jobs", r#""1 + 1""#);
    assert_eq!(not_object.status, 400);
    assert!(not_object.error().contains("object"), "{not_object:?}");

    let text = reply(
        s.agent
            .post(format!("{}/api/jobs", s.base))
            .header("Authorization", s.bearer())
            .header("Content-Type", "text/plain")
            .send(r#"{"code": "1"}"#),
    );
    assert_eq!(text.status, 400);
    assert!(text.error().contains("Content-Type"), "{text:?}");

    let huge = format!(r#"{{"code": "{}"}}"#, "x".repeat(http::MAX_BODY));
    let too_large = s.post_json("/api/jobs", &huge);
    assert_eq!(too_large.status, 413, "{:?}", too_large.status);
    assert!(too_large.error().contains("larger than 1 MiB"));

    let nowhere = s.get("/api/nowhere");
    assert_eq!(nowhere.status, 404);
    assert!(nowhere.error().contains("/api/nowhere"));
    assert_eq!(s.get("/api/jobs/999").status, 404);
    assert_eq!(s.get("/api/jobs/abc").status, 404);

    let bad_wait = s.get("/api/jobs/1?wait=soon");
    assert_eq!(bad_wait.status, 400);
    assert!(bad_wait.error().contains("wait"), "{bad_wait:?}");
    assert_eq!(s.get("/api/jobs/1?wait=-1").status, 400);

    for path in ["/api/jobs", "/api/cancel", "/api/shutdown"] {
        let r = s.get(path);
        assert_eq!(r.status, 405, "GET {path}: {r:?}");
        assert!(r.error().contains("POST"));
    }
    for path in ["/api/status", "/api/jobs/1", "/"] {
        let r = s.post_json(path, "{}");
        assert_eq!(r.status, 405, "POST {path}: {r:?}");
    }
    // None of it queued anything, and the server still answers.
    let st = s.get("/api/status");
    assert_eq!(st.status, 200);
    assert_eq!(st.json()["jobs"]["queued"], 0);
    assert!(!s.hub.is_shut_down());
}

#[test]
fn cancel_stops_the_running_job_and_drops_the_queued_while_long_polls_wait() {
    let s = Session::start();
    let running = s.submit("sleep");
    s.until_running(running);
    let queued = s.submit("1 + 1");
    // Several clients long-poll the running job; the server still answers
    // others meanwhile (the job cannot end before the cancel below).
    let polls: Vec<JoinHandle<Value>> = (0..4)
        .map(|_| {
            let (agent, base, bearer) = (s.agent.clone(), s.base.clone(), s.bearer());
            thread::spawn(move || {
                reply(
                    agent
                        .get(format!("{base}/api/jobs/{running}?wait=60"))
                        .header("Authorization", bearer)
                        .call(),
                )
                .json()
            })
        })
        .collect();
    let st = s.get("/api/status").json();
    assert_eq!(st["running"]["id"], running, "{st}");
    assert_eq!(st["running"]["code"], "sleep");
    assert_eq!(st["jobs"]["queued"], 1);

    let c = s.post_empty("/api/cancel");
    assert_eq!(c.status, 200, "{c:?}");
    assert_eq!(c.json(), json!({ "cancelled": [running, queued] }));
    for p in polls {
        let start = Instant::now();
        while !p.is_finished() {
            assert!(start.elapsed() < LIMIT, "a long poll did not end");
            thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(p.join().unwrap()["state"], "cancelled");
    }
    let j = s.finished(running);
    assert_eq!(
        (j["state"].as_str(), j["error"].as_str()),
        (Some("cancelled"), Some("cancelled"))
    );
    let q = s.finished(queued);
    assert_eq!(q["state"], "cancelled");
    // The session goes on after a cancel.
    let next = s.submit("after");
    assert_eq!(s.finished(next)["state"], "done");
}

#[test]
fn shutdown_ends_the_main_loop_and_refuses_new_jobs() {
    let mut s = Session::start();
    let r = s.post_empty("/api/shutdown");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json(), json!({ "shutdown": true }));
    assert!(s.hub.is_shut_down());
    join_within(s.main.take().unwrap(), "the fake main loop after shutdown");
    let refused = s.post_json("/api/jobs", r#"{"code": "1"}"#);
    assert_eq!(refused.status, 503, "{refused:?}");
    assert!(refused.error().contains("shutting down"));
    // Stopping the server joins its threads and closes its socket.
    s.server.take().unwrap().stop();
    assert!(std::net::TcpStream::connect(s.base.trim_start_matches("http://")).is_err());
}

#[test]
fn the_token_query_sets_a_cookie_that_authorises_the_api() {
    let s = Session::start();
    let page = reply(s.agent.get(format!("{}/?token={}", s.base, s.token)).call());
    assert_eq!(page.status, 200, "{page:?}");
    assert!(page
        .content_type
        .as_deref()
        .unwrap_or("")
        .starts_with("text/html"));
    assert!(page.body.contains("id=\"ranks\""));
    assert_eq!(page.set_cookie.len(), 1, "{page:?}");
    let cookie = &page.set_cookie[0];
    let attrs: Vec<&str> = cookie.split(';').map(str::trim).collect();
    assert!(attrs.contains(&"HttpOnly"), "{cookie}");
    assert!(attrs.contains(&"SameSite=Strict"), "{cookie}");
    let pair = attrs[0];
    assert!(pair.ends_with(&format!("={}", s.token)), "{cookie}");

    let status = |cookie: &str| {
        reply(
            s.agent
                .get(format!("{}/api/status", s.base))
                .header("Cookie", cookie)
                .call(),
        )
    };
    let ok = status(&format!("theme=dark; {pair}"));
    assert_eq!(ok.status, 200, "{ok:?}");
    assert_eq!(ok.json()["rank_info"][0]["host"], "node0");
    // The cookie also reaches the page itself, without the query.
    let again = reply(
        s.agent
            .get(format!("{}/", s.base))
            .header("Cookie", pair)
            .call(),
    );
    assert_eq!(again.status, 200);
    let (name, _) = pair.split_once('=').unwrap();
    assert_refused(&status(&format!("{name}=0123")));
    assert_refused(&status(&format!("other={}", s.token)));
}

#[test]
fn the_token_file_is_private_and_holds_the_token_the_server_wants() {
    let dir = std::env::temp_dir().join(format!(
        "chunkwise-serve-http-{}-{}",
        std::process::id(),
        &token::generate().unwrap()[..8]
    ));
    let path: PathBuf = dir.join("fresh").join("token");
    let s = Session::start();
    token::save(&path, &s.token).unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(path.parent().unwrap()), 0o700);
    let read = token::read(&path).unwrap();
    let r = reply(
        s.agent
            .get(format!("{}/api/status", s.base))
            .header("Authorization", format!("Bearer {read}"))
            .call(),
    );
    assert_eq!(r.status, 200, "{r:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}
