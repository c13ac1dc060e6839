//! Rank 0's HTTP server in `chunkwise serve`: the JSON API and the dashboard
//! (documented in [`super`]), behind the session's token ([`super::token`]).
//!
//! [`start`] binds, starts the accepting thread and returns a [`Server`].
//! Each connection gets a thread of its own and one request (the answer
//! says `Connection: close`), up to 64 at once; these threads only talk to
//! the [`Hub`] (never MPI), so a long poll (`GET /api/jobs/N?wait=S`) holds
//! one thread and the others go on answering, and a browser's idle
//! keep-alive connection holds none. [`banner`] is the text `chunkwise
//! serve` prints once at start: the dashboard's URL and the `ssh` tunnel
//! that reaches it from a laptop.
//!
//! (Not tiny_http: its connection pool keeps a thread per open connection
//! and can leave a new connection queued behind idle keep-alive ones until
//! one closes, which `tests/serve_http.rs` hit as a 60 s hang.)
//!
//! Every request is checked for the token before anything else, so a request
//! without it learns nothing (not even which paths exist): the answer is
//! `401` with a one-line JSON error, or for `GET /` a static page saying the
//! token is missing. The token is accepted as `Authorization: Bearer TOKEN`,
//! or as the cookie `GET /?token=TOKEN` sets (`HttpOnly`, `SameSite=Strict`,
//! named after the port so sessions on one host do not clobber each other).
//!
//! ```no_run
//! use chunkwise::serve::{http, hub::{Hub, SessionStatus}, token};
//! let hub = Hub::new(SessionStatus::default());
//! let t = token::generate()?;
//! let server = http::start(hub.clone(), "127.0.0.1:0".parse().unwrap(), t.clone())?;
//! let path = token::default_path()?;
//! print!("{}", http::banner(server.addr(), &t, &path));
//! // ... rank 0's main loop takes jobs from `hub` until it shuts down ...
//! server.stop();
//! # Ok::<(), chunkwise::error::Error>(())
//! ```

mod wire;

use super::hub::{Hub, JobRecord};
use super::token;
use crate::error::{Error, Result};
use serde_json::json;
use std::io::{self, BufReader, Read};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Connections answered at once (a thread each); more get `503`. A long
/// poll holds one.
const MAX_CONNECTIONS: usize = 64;
/// The largest request body accepted (`POST /api/jobs`).
pub const MAX_BODY: usize = 1 << 20;
/// The longest a `GET /api/jobs/N?wait=S` waits, whatever `S` says.
pub const MAX_WAIT: Duration = Duration::from_secs(60);
/// A long poll looks at the stop flag this often.
const WAIT_SLICE: Duration = Duration::from_millis(250);
/// The accepting thread looks at the stop flag this often when idle.
const ACCEPT_POLL: Duration = Duration::from_millis(10);
/// After answering, what a client still sends is read and dropped (so that
/// it reads the answer rather than a reset), up to this much.
const DRAIN: u64 = 8 << 20;

/// The dashboard: one page, its script and style inline (the compute
/// node's network is usually closed, so nothing comes from elsewhere).
const DASHBOARD: &str = include_str!("dashboard.html");

/// What `GET /` answers without the token: a fixed page, no session data.
const UNAUTHORISED_PAGE: &str = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>chunkwise: not authorised</title><link rel=\"icon\" href=\"data:,\"></head>\
<body data-state=\"error\" data-error=\"unauthorised\" style=\"font-family:sans-serif;margin:2em\">\
<h1>chunkwise</h1><p id=\"message\">Not authorised: the token is missing or wrong. Open the \
dashboard with the URL <code>chunkwise serve</code> printed when it started \
(<code>http://HOST:PORT/?token=...</code>); the token is also saved in the token file \
(<code>~/.chunkwise/token</code> unless <code>--token-file</code> said otherwise).</p></body></html>\n";

/// The page's security policy: nothing from other origins, no framing.
const CSP: &str = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The running HTTP server; [`stop`](Server::stop) (or dropping it) closes
/// the socket and joins its threads.
pub struct Server {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

impl Server {
    /// The address the server listens on (with the port the system picked,
    /// if it was bound to port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stop answering: close the socket and every open connection (a long
    /// poll ends within a quarter of a second) and join the threads.
    pub fn stop(self) {
        drop(self);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(a) = self.acceptor.take() {
            let _ = a.join();
        }
    }
}

/// Listen on `bind` and answer the API and the dashboard from `hub`,
/// requiring `token`. Returns once the socket is bound; the requests are
/// answered on threads of its own (one per connection, one request per
/// connection).
///
/// A bind failure is an [`Error::Io`] naming the address and what to do.
pub fn start(hub: Arc<Hub>, bind: SocketAddr, token: String) -> Result<Server> {
    let listener = TcpListener::bind(bind).map_err(|e| bind_error(bind, &e))?;
    let addr = listener.local_addr().map_err(|e| bind_error(bind, &e))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| Error::Io(format!("cannot serve HTTP on {addr}: {e}")))?;
    let stop = Arc::new(AtomicBool::new(false));
    let ctx = Arc::new(Ctx {
        hub,
        cookie: format!("chunkwise_token_{}", addr.port()),
        token,
        stop: stop.clone(),
    });
    let acceptor = std::thread::Builder::new()
        .name("serve-http".into())
        .spawn(move || accept(&listener, &ctx))
        .map_err(|e| {
            Error::Io(format!(
                "cannot start the HTTP thread of `chunkwise serve`: {e}"
            ))
        })?;
    Ok(Server {
        addr,
        stop,
        acceptor: Some(acceptor),
    })
}

fn bind_error(bind: SocketAddr, e: &io::Error) -> Error {
    let what = match e.kind() {
        io::ErrorKind::AddrInUse => "address in use".to_string(),
        io::ErrorKind::AddrNotAvailable => "this host has no such address".to_string(),
        io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => e.to_string(),
    };
    Error::Io(format!(
        "cannot listen on {bind}: {what}; pick another with --bind {}:PORT",
        match bind.ip() {
            IpAddr::V4(ip) => ip.to_string(),
            IpAddr::V6(ip) => format!("[{ip}]"),
        }
    ))
}

/// What every connection's thread shares.
struct Ctx {
    hub: Arc<Hub>,
    token: String,
    /// The cookie's name.
    cookie: String,
    stop: Arc<AtomicBool>,
}

/// The accepting thread: a thread per connection, until told to stop; then
/// close every connection still open and join their threads.
fn accept(listener: &TcpListener, ctx: &Arc<Ctx>) {
    let mut open: Vec<(JoinHandle<()>, TcpStream)> = Vec::new();
    while !ctx.stop.load(Ordering::SeqCst) {
        let stream = match listener.accept() {
            Ok((stream, _)) => stream,
            // Nothing yet (the listener does not block), or a failed accept
            // (out of descriptors, a client that gave up): look again soon.
            Err(_) => {
                std::thread::sleep(ACCEPT_POLL);
                continue;
            }
        };
        open.retain(|(t, _)| !t.is_finished());
        let _ = stream.set_nonblocking(false);
        if open.len() >= MAX_CONNECTIONS {
            let _ = stream.set_write_timeout(Some(wire::READ_TIMEOUT));
            let busy = Reply::error(503, "too many connections; try again");
            let _ = wire::write_response(&mut &stream, busy.status, &busy.headers(), &busy.body);
            continue;
        }
        let Ok(handle) = stream.try_clone() else {
            continue;
        };
        let ctx = ctx.clone();
        if let Ok(t) = std::thread::Builder::new()
            .name("serve-http-conn".into())
            .spawn(move || connection(&stream, &ctx))
        {
            open.push((t, handle));
        }
    }
    for (_, s) in &open {
        let _ = s.shutdown(Shutdown::Both);
    }
    for (t, _) in open {
        let _ = t.join();
    }
}

/// Answer the one request of a connection, then close it.
fn connection(stream: &TcpStream, ctx: &Ctx) {
    let _ = stream.set_read_timeout(Some(wire::READ_TIMEOUT));
    let _ = stream.set_write_timeout(Some(wire::READ_TIMEOUT));
    let mut reader = BufReader::new(stream);
    let reply = match wire::read_head(&mut reader) {
        Err(wire::HeadError::Closed) => return,
        Err(wire::HeadError::Refuse(status, msg)) => Reply::error(status, msg),
        Ok(head) => {
            let mut writer = stream;
            answer(ctx, &head, &mut || {
                wire::read_body(&mut reader, &mut writer, &head)
            })
        }
    };
    // The client may have gone; nothing to tell it then.
    let _ = wire::write_response(&mut &*stream, reply.status, &reply.headers(), &reply.body);
    // A lingering close: read what the client still sends (a body we did
    // not want) until it closes, so that it sees the answer, not a reset.
    let _ = stream.shutdown(Shutdown::Write);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = io::copy(&mut reader.take(DRAIN), &mut io::sink());
}

/// One response.
#[derive(Debug)]
struct Reply {
    status: u16,
    content_type: &'static str,
    body: Vec<u8>,
    headers: Vec<(&'static str, String)>,
}

impl Reply {
    fn json(status: u16, value: &impl serde::Serialize) -> Reply {
        match serde_json::to_vec(value) {
            Ok(body) => Reply {
                status,
                content_type: "application/json",
                body,
                headers: Vec::new(),
            },
            Err(e) => Reply::error(500, &format!("cannot write the answer as JSON: {e}")),
        }
    }

    /// `{"error": msg}`.
    fn error(status: u16, msg: &str) -> Reply {
        Reply {
            status,
            content_type: "application/json",
            body: json!({ "error": msg }).to_string().into_bytes(),
            headers: Vec::new(),
        }
    }

    fn html(status: u16, page: &str) -> Reply {
        Reply {
            status,
            content_type: "text/html; charset=utf-8",
            body: page.as_bytes().to_vec(),
            headers: vec![
                ("Content-Security-Policy", CSP.to_string()),
                ("X-Frame-Options", "DENY".to_string()),
                ("Referrer-Policy", "no-referrer".to_string()),
            ],
        }
    }

    fn method_not_allowed(allow: &'static str) -> Reply {
        let mut r = Reply::error(405, &format!("method not allowed; use {allow}"));
        r.headers.push(("Allow", allow.to_string()));
        r
    }

    /// Every header of the response but its length.
    fn headers(&self) -> Vec<(&'static str, String)> {
        let mut h = vec![
            ("Content-Type", self.content_type.to_string()),
            ("Cache-Control", "no-store".to_string()),
            ("X-Content-Type-Options", "nosniff".to_string()),
        ];
        h.extend(self.headers.iter().cloned());
        h
    }
}

/// The path and the query of a request's target.
fn split_target(url: &str) -> (&str, &str) {
    url.split_once('?').unwrap_or((url, ""))
}

/// The value of `name` in a query string (`a=1&b=2`), undecoded (tokens are
/// hex, waits are numbers).
fn query_param<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('=').or(Some((kv, ""))))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Whether the request carries the token as `Authorization: Bearer` or as
/// our cookie.
fn carries_token(ctx: &Ctx, head: &wire::Head) -> bool {
    let expected = ctx.token.as_bytes();
    let bearer = head.header("Authorization").any(|v| {
        v.split_once(' ').is_some_and(|(scheme, t)| {
            scheme.eq_ignore_ascii_case("bearer") && token::matches(t.trim().as_bytes(), expected)
        })
    });
    let cookie = || {
        head.header("Cookie")
            .flat_map(|v| v.split(';'))
            .filter_map(|c| c.trim().split_once('='))
            .any(|(k, v)| k == ctx.cookie && token::matches(v.as_bytes(), expected))
    };
    bearer || cookie()
}

/// The answer to one request; `body` reads its body (called at most once,
/// after the token and the body's length are checked).
fn answer(ctx: &Ctx, head: &wire::Head, body: &mut dyn FnMut() -> io::Result<Vec<u8>>) -> Reply {
    let (path, query) = split_target(&head.target);
    let login = path == "/"
        && query_param(query, "token")
            .is_some_and(|t| token::matches(t.as_bytes(), ctx.token.as_bytes()));
    if !login && !carries_token(ctx, head) {
        return if path == "/" {
            Reply::html(401, UNAUTHORISED_PAGE)
        } else {
            Reply::error(401, "missing or wrong token")
        };
    }
    let (get, post) = (head.method == "GET", head.method == "POST");
    match path {
        "/" if get => {
            let mut r = Reply::html(200, DASHBOARD);
            if login {
                r.headers.push((
                    "Set-Cookie",
                    format!(
                        "{}={}; Path=/; HttpOnly; SameSite=Strict",
                        ctx.cookie, ctx.token
                    ),
                ));
            }
            r
        }
        "/api/status" if get => Reply::json(200, &ctx.hub.status()),
        "/api/jobs" if post => submit(ctx, head, body),
        "/api/cancel" if post => Reply::json(200, &json!({ "cancelled": ctx.hub.cancel() })),
        "/api/shutdown" if post => {
            ctx.hub.shutdown();
            Reply::json(200, &json!({ "shutdown": true }))
        }
        "/" | "/api/status" => Reply::method_not_allowed("GET"),
        "/api/jobs" | "/api/cancel" | "/api/shutdown" => Reply::method_not_allowed("POST"),
        _ => match path.strip_prefix("/api/jobs/") {
            Some(id) if get => job(ctx, id, query),
            Some(_) => Reply::method_not_allowed("GET"),
            None => Reply::error(404, &format!("no such path: {path}")),
        },
    }
}

/// `POST /api/jobs` with `{"code": "..."}`.
fn submit(ctx: &Ctx, head: &wire::Head, body: &mut dyn FnMut() -> io::Result<Vec<u8>>) -> Reply {
    let json_body = head.header("Content-Type").any(|v| {
        v.split(';')
            .next()
            .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
    });
    if !json_body {
        return Reply::error(
            400,
            "the body must be JSON {\"code\": \"...\"} with Content-Type: application/json",
        );
    }
    if head.content_length > MAX_BODY {
        return Reply::error(
            413,
            &format!("the body is larger than {} MiB", MAX_BODY >> 20),
        );
    }
    let body = match body() {
        Ok(b) => b,
        Err(e) => return Reply::error(400, &format!("cannot read the body: {e}")),
    };
    let code = match parse_submit(&body) {
        Ok(code) => code,
        Err(msg) => return Reply::error(400, &msg),
    };
    match ctx.hub.submit(code) {
        Ok(id) => Reply::json(202, &json!({ "id": id })),
        Err(msg) => Reply::error(503, &msg),
    }
}

/// The code of a `POST /api/jobs` body, or what is wrong with it.
fn parse_submit(body: &[u8]) -> std::result::Result<String, String> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| format!("the body is not valid JSON ({e}); send {{\"code\": \"...\"}}"))?;
    let Some(obj) = value.as_object() else {
        return Err("the body must be a JSON object {\"code\": \"...\"}".into());
    };
    match obj.get("code") {
        Some(serde_json::Value::String(code)) => Ok(code.clone()),
        Some(_) => Err("\"code\" must be a string".into()),
        None => Err("missing \"code\": send {\"code\": \"...\"}".into()),
    }
}

/// `GET /api/jobs/N[?wait=S]`.
fn job(ctx: &Ctx, id: &str, query: &str) -> Reply {
    let Ok(id) = id.parse::<u64>() else {
        return Reply::error(404, &format!("no job {id:?}: job ids are numbers"));
    };
    let wait = match query_param(query, "wait") {
        None => Duration::ZERO,
        Some(s) => match s.parse::<f64>() {
            Ok(w) if w.is_finite() && w >= 0.0 => {
                Duration::from_secs_f64(w.min(MAX_WAIT.as_secs_f64()))
            }
            _ => {
                return Reply::error(
                    400,
                    &format!("wait must be a number of seconds (at most 60), not {s:?}"),
                )
            }
        },
    };
    match wait_job(ctx, id, wait) {
        Some(j) => Reply::json(200, &j),
        None => Reply::error(404, &format!("no job {id} (never submitted, or forgotten)")),
    }
}

/// [`Hub::wait`] in slices, so that [`Server::stop`] ends a long poll soon.
fn wait_job(ctx: &Ctx, id: u64, wait: Duration) -> Option<JobRecord> {
    let deadline = Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let j = ctx.hub.wait(id, left.min(WAIT_SLICE))?;
        if j.state.is_final() || left <= WAIT_SLICE || ctx.stop.load(Ordering::SeqCst) {
            return Some(j);
        }
    }
}

// ---- the banner ----

/// Where this process runs, for the `ssh` command of the [`banner`].
#[derive(Debug, Clone)]
struct Place {
    user: String,
    /// This host's name.
    node: String,
    /// The login node the job was submitted from, when the scheduler says.
    login: Option<String>,
}

impl Place {
    fn here() -> Place {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        let node = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .or_else(|| env("HOSTNAME"))
            .unwrap_or_else(|| "NODE".into());
        Place {
            user: env("USER")
                .or_else(|| env("LOGNAME"))
                .unwrap_or_else(|| "USER".into()),
            node,
            login: env("SLURM_SUBMIT_HOST").or_else(|| env("PBS_O_HOST")),
        }
    }
}

/// What `chunkwise serve` prints once at start: the dashboard's URL with
/// the token, where the token is saved, and the one `ssh -N -L` command that
/// reaches the server from a laptop through the login node (the login node
/// from `SLURM_SUBMIT_HOST` or `PBS_O_HOST`, else the placeholder
/// `LOGIN_NODE`).
pub fn banner(addr: SocketAddr, token: &str, token_file: &Path) -> String {
    banner_at(addr, token, token_file, &Place::here())
}

fn banner_at(addr: SocketAddr, token: &str, token_file: &Path, place: &Place) -> String {
    let port = addr.port();
    let ip = addr.ip();
    let ip_text = match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    };
    // The host the tunnel's far end connects to, and the URL on this node.
    let (target, here) = if ip.is_loopback() {
        (ip_text.clone(), ip_text)
    } else if ip.is_unspecified() {
        (place.node.clone(), place.node.clone())
    } else {
        (ip_text.clone(), ip_text)
    };
    let login = place.login.as_deref().unwrap_or("LOGIN_NODE");
    let user = &place.user;
    let ssh = if ip.is_loopback() {
        // Only this node can reach a loopback address: the tunnel ends here,
        // jumping through the login node.
        if place.login.as_deref() == Some(place.node.as_str()) {
            format!("ssh -N -L {port}:{target}:{port} {user}@{}", place.node)
        } else {
            format!(
                "ssh -N -L {port}:{target}:{port} -J {user}@{login} {user}@{}",
                place.node
            )
        }
    } else {
        format!("ssh -N -L {port}:{target}:{port} {user}@{login}")
    };
    let mut s = format!(
        "chunkwise serve: listening on http://{here}:{port}\n\
         \x20 dashboard:  http://{here}:{port}/?token={token}\n\
         \x20 token:      saved in {} (readable by you only); API clients send \
         `Authorization: Bearer <token>`\n\
         \x20 from a laptop, run\n\
         \x20     {ssh}\n\
         \x20 then open http://localhost:{port}/?token={token}\n",
        token_file.display()
    );
    if place.login.is_none() {
        s.push_str("  (replace LOGIN_NODE with your cluster's login host)\n");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn place(login: Option<&str>) -> Place {
        Place {
            user: "ada".into(),
            node: "nid001234".into(),
            login: login.map(String::from),
        }
    }

    fn ssh_line(banner: &str) -> &str {
        let lines: Vec<&str> = banner.lines().filter(|l| l.contains("ssh ")).collect();
        assert_eq!(lines.len(), 1, "one ssh command in:\n{banner}");
        lines[0].trim()
    }

    #[test]
    fn a_loopback_bind_tunnels_to_the_node_itself_through_the_login_node() {
        let b = banner_at(
            "127.0.0.1:8787".parse().unwrap(),
            "tok",
            &PathBuf::from("/home/ada/.chunkwise/token"),
            &place(Some("login01")),
        );
        assert_eq!(
            ssh_line(&b),
            "ssh -N -L 8787:127.0.0.1:8787 -J ada@login01 ada@nid001234"
        );
        assert!(b.contains("http://127.0.0.1:8787/?token=tok"), "{b}");
        assert!(b.contains("http://localhost:8787/?token=tok"), "{b}");
        assert!(b.contains("/home/ada/.chunkwise/token"), "{b}");
        assert!(!b.contains("LOGIN_NODE"), "{b}");
    }

    #[test]
    fn an_unknown_login_node_is_a_placeholder_the_banner_explains() {
        let b = banner_at(
            "127.0.0.1:9000".parse().unwrap(),
            "tok",
            Path::new("t"),
            &place(None),
        );
        assert_eq!(
            ssh_line(&b),
            "ssh -N -L 9000:127.0.0.1:9000 -J ada@LOGIN_NODE ada@nid001234"
        );
        assert!(b.contains("replace LOGIN_NODE"), "{b}");
    }

    #[test]
    fn serving_on_the_login_node_itself_needs_no_jump() {
        let b = banner_at(
            "127.0.0.1:8787".parse().unwrap(),
            "tok",
            Path::new("t"),
            &place(Some("nid001234")),
        );
        assert_eq!(ssh_line(&b), "ssh -N -L 8787:127.0.0.1:8787 ada@nid001234");
    }

    #[test]
    fn a_wildcard_bind_tunnels_through_the_login_node_to_the_node_name() {
        let b = banner_at(
            "0.0.0.0:8787".parse().unwrap(),
            "tok",
            Path::new("t"),
            &place(Some("login01")),
        );
        assert_eq!(ssh_line(&b), "ssh -N -L 8787:nid001234:8787 ada@login01");
        assert!(b.contains("http://nid001234:8787/?token=tok"), "{b}");
    }

    #[test]
    fn a_specific_address_is_the_tunnel_target() {
        let b = banner_at(
            "10.1.2.3:8000".parse().unwrap(),
            "tok",
            Path::new("t"),
            &place(Some("login01")),
        );
        assert_eq!(ssh_line(&b), "ssh -N -L 8000:10.1.2.3:8000 ada@login01");
        let b6 = banner_at(
            "[::1]:8000".parse().unwrap(),
            "tok",
            Path::new("t"),
            &place(Some("login01")),
        );
        assert_eq!(
            ssh_line(&b6),
            "ssh -N -L 8000:[::1]:8000 -J ada@login01 ada@nid001234"
        );
    }

    #[test]
    fn query_params_are_found_by_name() {
        assert_eq!(query_param("token=abc&wait=5", "wait"), Some("5"));
        assert_eq!(query_param("token=abc&wait=5", "token"), Some("abc"));
        assert_eq!(query_param("tokenx=abc", "token"), None);
        assert_eq!(query_param("", "token"), None);
        assert_eq!(
            split_target("/api/jobs/3?wait=1"),
            ("/api/jobs/3", "wait=1")
        );
        assert_eq!(split_target("/"), ("/", ""));
    }

    #[test]
    fn a_submit_body_needs_an_object_with_a_string_code() {
        assert_eq!(parse_submit(br#"{"code": "1 + 1"}"#), Ok("1 + 1".into()));
        assert!(parse_submit(b"{code")
            .unwrap_err()
            .contains("not valid JSON"));
        assert!(parse_submit(b"[1]").unwrap_err().contains("object"));
        assert!(parse_submit(br#"{"cod": "x"}"#)
            .unwrap_err()
            .contains("missing \"code\""));
        assert!(parse_submit(br#"{"code": 1}"#)
            .unwrap_err()
            .contains("string"));
    }

    #[test]
    fn a_port_in_use_is_an_io_error_naming_the_address() {
        let taken = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = taken.local_addr().unwrap();
        let hub = Hub::new(Default::default());
        let e = match start(hub, addr, "t".into()) {
            Err(e) => e,
            Ok(_) => panic!("bound {addr} twice"),
        };
        assert!(matches!(e, Error::Io(_)), "{e}");
        assert_eq!(
            e.message(),
            format!(
                "cannot listen on {addr}: address in use; pick another with --bind 127.0.0.1:PORT"
            )
        );
    }
}
