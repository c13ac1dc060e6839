//! `chunkwise shell` as a client: its HTTP client, its command loop and its
//! launcher, against a fake `serve` (a thread answering canned JSON on a
//! local port) and a fake launcher (`sh -c` writing the token and address
//! files as `serve` does). Nothing here needs MPI.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chunkwise::shell::launch::{split_args, Job, LaunchSpec, Launcher};
use chunkwise::shell::{repl, run_client, Client, Reader, ShellArgs};

/// One request the fake server received.
#[derive(Debug, Clone)]
struct Request {
    method: String,
    /// The path with its query.
    path: String,
    auth: Option<String>,
    body: String,
}

type Handler = dyn Fn(&Request, &mut HashMap<u64, usize>) -> (u16, String) + Send + Sync;

/// A fake `chunkwise serve`: answers every request with `handler`, and keeps
/// the requests in order. `polls` counts the polls of each job.
struct FakeServe {
    address: String,
    requests: Arc<Mutex<Vec<Request>>>,
}

impl FakeServe {
    fn start(handler: Box<Handler>) -> FakeServe {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::from(handler);
        let polls = Arc::new(Mutex::new(HashMap::new()));
        let reqs = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (handler, reqs, polls) = (handler.clone(), reqs.clone(), polls.clone());
                std::thread::spawn(move || serve_one(stream, &*handler, &reqs, &polls));
            }
        });
        FakeServe { address, requests }
    }

    fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    /// The codes submitted, in order.
    fn submitted(&self) -> Vec<String> {
        self.requests()
            .iter()
            .filter(|r| r.method == "POST" && r.path == "/api/jobs")
            .map(|r| {
                let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
                v["code"].as_str().unwrap().to_string()
            })
            .collect()
    }
}

fn serve_one(
    stream: TcpStream,
    handler: &Handler,
    reqs: &Mutex<Vec<Request>>,
    polls: &Mutex<HashMap<u64, usize>>,
) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut first = String::new();
    if reader.read_line(&mut first).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = first.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let path = parts.next().unwrap_or("").to_string();
    let mut auth = None;
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            match k.trim().to_ascii_lowercase().as_str() {
                "authorization" => auth = Some(v.trim().to_string()),
                "content-length" => length = v.trim().parse().unwrap_or(0),
                _ => {}
            }
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).unwrap();
    let req = Request {
        method,
        path,
        auth,
        body: String::from_utf8(body).unwrap(),
    };
    reqs.lock().unwrap().push(req.clone());
    let (status, text) = handler(&req, &mut polls.lock().unwrap());
    let mut stream = stream;
    let _ = write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{text}",
        text.len()
    );
}

fn job_json(
    id: u64,
    state: &str,
    output: &str,
    value: Option<&str>,
    error: Option<&str>,
) -> String {
    serde_json::json!({
        "id": id, "code": "", "state": state, "output": output,
        "value": value, "error": error, "elapsed_s": 0.1
    })
    .to_string()
}

fn status_json() -> String {
    serde_json::json!({
        "version": "0.1.0", "ranks": 3, "threads_per_rank": 2, "memory_limit": 1024,
        "rank_info": [], "last_tasks_per_s": null, "running": null,
        "jobs": {"queued": 0, "done": 0, "failed": 0, "cancelled": 0}, "uptime_s": 1.0
    })
    .to_string()
}

/// The job id in `/api/jobs/ID?wait=…`.
fn job_id(path: &str) -> Option<u64> {
    path.strip_prefix("/api/jobs/")?
        .split('?')
        .next()?
        .parse()
        .ok()
}

/// A session whose jobs are numbered from 1 and whose job `n` (its code
/// decides) prints, then ends: `fail…` fails, anything else is done with the
/// value `=CODE`. Each job is `running` with half its output on its first
/// poll.
fn scripted_session(token: &'static str) -> FakeServe {
    let codes: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(Vec::new()));
    FakeServe::start(Box::new(move |req, polls| {
        if req.auth.as_deref() != Some(&format!("Bearer {token}")) {
            return (401, String::new());
        }
        match (req.method.as_str(), req.path.as_str()) {
            ("GET", "/api/status") => (200, status_json()),
            ("POST", "/api/jobs") => {
                let v: serde_json::Value = serde_json::from_str(&req.body).unwrap();
                let mut codes = codes.lock().unwrap();
                codes.push(v["code"].as_str().unwrap().to_string());
                (202, format!("{{\"id\": {}}}", codes.len()))
            }
            ("POST", "/api/cancel") => (200, "{\"cancelled\": [3, 4]}".into()),
            ("POST", "/api/shutdown") => (200, "{}".into()),
            ("GET", p) if job_id(p).is_some() => {
                let id = job_id(p).unwrap();
                let Some(code) = codes.lock().unwrap().get(id as usize - 1).cloned() else {
                    return (404, "{\"error\": \"no such job\"}".into());
                };
                let n = polls.entry(id).or_insert(0);
                *n += 1;
                let out_half = format!("{code} starts\n");
                let out_all = format!("{code} starts\n{code} ends\n");
                if *n == 1 {
                    (200, job_json(id, "running", &out_half, None, None))
                } else if code.starts_with("fail") {
                    let err = format!("line 1: {code} failed");
                    (200, job_json(id, "failed", &out_all, None, Some(&err)))
                } else {
                    let value = format!("={code}");
                    (200, job_json(id, "done", &out_all, Some(&value), None))
                }
            }
            _ => (404, String::new()),
        }
    }))
}

fn run_repl(client: &Client, input: &str) -> (i32, String, String) {
    let mut reader = Reader::from_bufread(std::io::Cursor::new(input.to_string()));
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = repl(client, &mut reader, &mut out, &mut err).unwrap();
    (
        code,
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

#[test]
fn connect_where_nothing_listens_says_how_to_start_a_session() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let e = Client::connect(&format!("127.0.0.1:{port}"), "t".into())
        .expect_err("nothing listens there");
    let msg = e.to_string();
    assert!(
        msg.contains(&format!("nothing listens at http://127.0.0.1:{port}")),
        "{msg}"
    );
    assert!(msg.contains("mpirun -n N chunkwise serve"), "{msg}");
    assert!(msg.contains("chunkwise shell -n N"), "{msg}");
}

#[test]
fn a_wrong_token_is_refused_with_advice() {
    let fake = scripted_session("right");
    let e = Client::connect(&fake.address, "wrong".into()).expect_err("the token is wrong");
    let msg = e.to_string();
    assert!(
        msg.contains(&format!("the token was refused by {}", fake.address)),
        "{msg}"
    );
    assert!(msg.contains("CHUNKWISE_TOKEN"), "{msg}");
    // The token went as a bearer token.
    assert_eq!(fake.requests()[0].auth.as_deref(), Some("Bearer wrong"));
}

#[test]
fn submit_wait_and_cancel_speak_the_api() {
    let fake = scripted_session("tok");
    // A token file's trailing newline is not part of the token.
    let client = Client::connect(&fake.address, "tok\n".into()).unwrap();
    assert_eq!(client.status().unwrap().ranks, 3);
    let id = client.submit("let x = \"a\nb\";").unwrap();
    assert_eq!(id, 1);
    let job = client.wait(id).unwrap();
    assert_eq!(job.value.as_deref(), Some("=let x = \"a\nb\";"));
    assert!(job.state.is_final());
    assert_eq!(client.cancel().unwrap(), [3, 4]);
    client.shutdown().unwrap();
    let reqs = fake.requests();
    let paths: Vec<String> = reqs
        .iter()
        .map(|r| format!("{} {}", r.method, r.path.split('?').next().unwrap()))
        .collect();
    assert_eq!(
        paths,
        [
            "GET /api/status",
            "GET /api/status",
            "POST /api/jobs",
            "GET /api/jobs/1",
            "GET /api/jobs/1",
            "POST /api/cancel",
            "POST /api/shutdown"
        ]
    );
    // wait long-polls (the server holds the request).
    assert!(reqs[3].path.contains("?wait="), "{:?}", reqs[3].path);
    assert!(reqs.iter().all(|r| r.auth.as_deref() == Some("Bearer tok")));
    assert_eq!(fake.submitted(), ["let x = \"a\nb\";"]);
}

#[test]
fn an_unknown_job_is_an_error_not_a_hang() {
    let fake = scripted_session("tok");
    let client = Client::connect(&fake.address, "tok".into()).unwrap();
    let e = client.wait(99).expect_err("job 99 does not exist");
    assert!(e.to_string().contains("does not know the job"), "{e}");
}

#[test]
fn piped_commands_print_output_then_value_in_order() {
    let fake = scripted_session("tok");
    let client = Client::connect(&fake.address, "tok".into()).unwrap();
    let (code, out, err) = run_repl(&client, "let a = [1,\n  2];\n\n// note\na\n");
    assert_eq!(code, 0, "stderr: {err}");
    assert_eq!(
        out,
        "let a = [1,\n  2]; starts\nlet a = [1,\n  2]; ends\n=let a = [1,\n  2];\n\
         a starts\na ends\n=a\n"
    );
    assert_eq!(fake.submitted(), ["let a = [1,\n  2];", "a"]);
}

#[test]
fn piped_input_stops_at_the_first_failing_command() {
    let fake = scripted_session("tok");
    let client = Client::connect(&fake.address, "tok".into()).unwrap();
    let (code, out, err) = run_repl(&client, "ok\nfail here\nnever\n");
    assert_eq!(code, 1);
    assert_eq!(fake.submitted(), ["ok", "fail here"]);
    assert!(out.contains("fail here ends\n"), "{out}");
    assert_eq!(err, "line 1: fail here failed\n");
}

#[test]
fn exit_ends_the_loop_and_status_is_not_sent_as_code() {
    let fake = scripted_session("tok");
    let client = Client::connect(&fake.address, "tok".into()).unwrap();
    let (code, out, _) = run_repl(&client, "one\n:status\nexit\ntwo\n");
    assert_eq!(code, 0);
    assert_eq!(fake.submitted(), ["one"]);
    assert!(out.contains("3 rank(s) × 2 thread(s)"), "{out}");
}

/// A launcher that does what `LAUNCHER -n N chunkwise serve --token-file T
/// --address-file A` does, as far as the shell sees: writes the token, then
/// the address of `fake`, and exits once `stop` exists.
fn fake_launcher(fake: &FakeServe, token: &str, stop: &std::path::Path) -> Vec<String> {
    let script = format!(
        "t=; a=; prev=; for arg in \"$0\" \"$@\"; do \
           case \"$prev\" in --token-file) t=$arg;; --address-file) a=$arg;; esac; prev=$arg; \
         done; \
         printf '%s\\n' {token} > \"$t\"; printf '%s\\n' {addr} > \"$a\"; \
         echo fake serve listening; \
         while [ ! -e '{stop}' ]; do sleep 0.05; done",
        addr = fake.address,
        stop = stop.display()
    );
    vec!["-c".into(), script]
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("cw-shell-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A fake serve whose shutdown creates `stop` (so the fake launcher exits).
fn stoppable_session(stop: PathBuf) -> FakeServe {
    let inner = scripted_session("s3cret");
    let target = inner.address.clone();
    // Forward everything to `inner`, and create `stop` on shutdown.
    let fake = FakeServe::start(Box::new(move |req, _| {
        if req.path == "/api/shutdown" {
            std::fs::write(&stop, "").unwrap();
        }
        forward(&target, req)
    }));
    std::mem::forget(inner);
    fake
}

/// Send `req` to `base` and give back its answer.
fn forward(base: &str, req: &Request) -> (u16, String) {
    let host = base.strip_prefix("http://").unwrap();
    let mut s = TcpStream::connect(host).unwrap();
    let mut head = format!(
        "{} {} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {}\r\nConnection: close\r\n",
        req.method,
        req.path,
        req.body.len()
    );
    if let Some(a) = &req.auth {
        head += &format!("Authorization: {a}\r\n");
    }
    write!(s, "{head}\r\n{}", req.body).unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    let status = answer[9..12].parse().unwrap();
    let body = answer.split_once("\r\n\r\n").unwrap().1.to_string();
    (status, body)
}

#[test]
fn a_launched_job_is_found_by_its_files_used_and_shut_down() {
    let dir = scratch("launch");
    let stop = dir.join("stop");
    let fake = stoppable_session(stop.clone());
    let args = ShellArgs {
        ranks: Some(2),
        launcher: Some(Launcher::Path("sh".into())),
        launcher_args: Some(
            fake_launcher(&fake, "s3cret", &stop)
                .iter()
                .map(|a| format!("'{}'", a.replace('\'', "'\\''")))
                .collect::<Vec<_>>()
                .join(" "),
        ),
        serve_bind: "127.0.0.1:0".into(),
        command: Some("print(1)".into()),
        no_history: true,
        ..ShellArgs::default()
    };
    let code = run_client(&args).unwrap();
    assert_eq!(code, 0);
    assert_eq!(fake.submitted(), ["print(1)"]);
    // The shell asked the job to end, and the job ended (it waits for that).
    assert!(stop.exists());
    let reqs = fake.requests();
    assert_eq!(reqs.last().unwrap().path, "/api/shutdown");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_job_that_dies_before_listening_shows_what_it_printed() {
    let spec = LaunchSpec {
        launcher: Launcher::Path("sh".into()),
        launcher_args: split_args("-c 'echo no slots available >&2; exit 3'").unwrap(),
        ranks: 64,
        exe: PathBuf::from("chunkwise"),
        serve_flags: vec!["--threads".into(), "1".into()],
        bind: "127.0.0.1:0".into(),
        start_timeout: Duration::from_secs(600),
    };
    let e = Job::start(&spec, &AtomicBool::new(false)).expect_err("the launcher fails");
    let msg = e.to_string();
    assert!(msg.contains("before it listened"), "{msg}");
    assert!(msg.contains("no slots available"), "{msg}");
    assert!(msg.contains("-n 64 chunkwise --threads 1 serve"), "{msg}");
}

#[test]
fn a_missing_launcher_says_so() {
    let spec = LaunchSpec {
        launcher: Launcher::Path("/nonexistent/mpirun".into()),
        launcher_args: vec![],
        ranks: 2,
        exe: PathBuf::from("chunkwise"),
        serve_flags: vec![],
        bind: "127.0.0.1:0".into(),
        start_timeout: Duration::from_secs(600),
    };
    let e = Job::start(&spec, &AtomicBool::new(false)).expect_err("no such launcher");
    let msg = e.to_string();
    assert!(
        msg.contains("could not start `/nonexistent/mpirun`"),
        "{msg}"
    );
    assert!(msg.contains("--launcher"), "{msg}");
}
