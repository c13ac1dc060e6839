//! The dashboard of `chunkwise serve` in a real browser: headless Chromium
//! loads the page from a live server (a hub in the middle of a running job,
//! its progress set as rank 0's main loop would), runs the page's script for
//! a few seconds of virtual time and dumps the DOM, which the tests read.
//! One test loads it from a real `mpirun -n 2 chunkwise serve` in the
//! middle of a long computation, and checks the page against the plan and
//! progress rank 0's main loop published.
//!
//! Chromium is required (`scripts/install-deps.sh` installs it); without it
//! these tests fail, unless `CHUNKWISE_SKIP_BROWSER=1` says to skip them.

mod util;

use chunkwise::serve::http;
use chunkwise::serve::hub::{Hub, LayerProgress, Next, Progress, RankInfo, SessionStatus};
use chunkwise::serve::token;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

/// Chromium may take this long to load the page and dump it.
const BROWSER_LIMIT: Duration = Duration::from_secs(60);

const CODE: &str = "let t = ds.temperature.mean(\"time\"); t.compute()";
const PLAN: &str = "Reduce mean over time (4 chunks)\n  Read temperature from era5.nc (12 chunks)";

/// The Chromium binary, or `None` when the tests are told to skip.
fn chromium() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("CHUNKWISE_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        for name in ["chromium", "chromium-browser", "google-chrome"] {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    if std::env::var("CHUNKWISE_SKIP_BROWSER").as_deref() == Ok("1") {
        eprintln!("skipped: no Chromium and CHUNKWISE_SKIP_BROWSER=1");
        return None;
    }
    panic!(
        "the dashboard tests need headless Chromium (the Debian package `chromium`), \
         which is not on PATH: run scripts/install-deps.sh (or set CHUNKWISE_SKIP_BROWSER=1 \
         to skip these tests, or CHUNKWISE_CHROMIUM=PATH to use another binary)"
    );
}

/// The DOM of `url` after the page's script ran for 3 s of virtual time.
fn dump_dom(browser: &std::path::Path, url: &str) -> String {
    let profile = std::env::temp_dir().join(format!(
        "chunkwise-dashboard-{}-{}",
        std::process::id(),
        &token::generate().unwrap()[..8]
    ));
    std::fs::create_dir_all(&profile).unwrap();
    let mut cmd = Command::new(browser);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--no-proxy-server",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--disable-dev-shm-usage",
    ])
    .arg(format!("--user-data-dir={}", profile.display()))
    .args(["--virtual-time-budget=3000", "--dump-dom", url]);
    let out = util::run_with_timeout(cmd, BROWSER_LIMIT);
    let _ = std::fs::remove_dir_all(&profile);
    assert!(
        out.stdout.contains("</html>"),
        "Chromium printed no page\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.stdout,
        out.stderr
    );
    out.stdout
}

/// The text of the element with `id` (its inner HTML up to its closing
/// tag, as Chromium serialises it; the elements read here hold no element
/// of the same tag).
fn element<'a>(dom: &'a str, id: &str) -> &'a str {
    let open = format!("id=\"{id}\"");
    let at = dom
        .find(&open)
        .unwrap_or_else(|| panic!("no element {id} in\n{dom}"));
    let tag_start = dom[..at].rfind('<').unwrap();
    let tag: String = dom[tag_start + 1..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    let body_start = at + dom[at..].find('>').unwrap() + 1;
    let close = format!("</{tag}>");
    let end = body_start + dom[body_start..].find(&close).unwrap();
    &dom[body_start..end]
}

/// A session of three ranks in the middle of a job, served on a free port.
fn running_session() -> (Arc<Hub>, http::Server, String) {
    let gib = 1u64 << 30;
    let hub = Hub::new(SessionStatus {
        version: "0.1.0".into(),
        ranks: 3,
        threads_per_rank: 4,
        memory_limit: 8 * gib,
        rank_info: (0..3)
            .map(|r| RankInfo {
                rank: r,
                host: format!("nid00{r}"),
                rss_bytes: gib + gib / 2 * r as u64,
                tasks_run: 100 + r as u64,
            })
            .collect(),
        ..SessionStatus::default()
    });
    let id = hub.submit(CODE.into()).unwrap();
    assert_eq!(
        hub.next(Duration::ZERO),
        Next::Job {
            id,
            code: CODE.into()
        }
    );
    hub.update(|st| {
        let run = st.running.as_mut().expect("the job runs");
        run.plan = Some(PLAN.into());
        run.progress = Some(Progress {
            layers: vec![
                LayerProgress {
                    name: "read-temperature".into(),
                    total: 12,
                    done: vec![4, 3, 1],
                    shard: vec![4, 4, 4],
                },
                LayerProgress {
                    name: "mean-time".into(),
                    total: 6,
                    done: vec![2, 0, 1],
                    shard: vec![2, 2, 2],
                },
            ],
            tasks_done: 11,
            tasks_total: 18,
            tasks_per_s: 1234.5,
            elapsed_s: 2.0,
            bytes_sent: vec![0, 2048, 0],
        });
    });
    let t = token::generate().unwrap();
    let server = http::start(hub.clone(), "127.0.0.1:0".parse().unwrap(), t.clone()).unwrap();
    (hub, server, t)
}

#[test]
fn the_dashboard_shows_the_ranks_the_running_job_and_its_progress_by_shard() {
    let Some(browser) = chromium() else { return };
    let (hub, server, t) = running_session();
    let dom = dump_dom(&browser, &format!("http://{}/?token={t}", server.addr()));
    hub.shutdown();
    server.stop();

    assert!(dom.contains("data-state=\"running\""), "{dom}");
    // One row per rank: host, resident memory (1.5 GiB steps), tasks run.
    let ranks = element(&dom, "ranks");
    assert_eq!(ranks.matches("<tr").count(), 3, "{ranks}");
    for (r, (host, rss)) in [
        ("nid000", "1.0 GiB"),
        ("nid001", "1.5 GiB"),
        ("nid002", "2.0 GiB"),
    ]
    .iter()
    .enumerate()
    {
        let row_at = ranks
            .find(&format!("data-rank=\"{r}\""))
            .unwrap_or_else(|| panic!("no row for rank {r}: {ranks}"));
        let row = &ranks[row_at..ranks[row_at..].find("</tr>").unwrap() + row_at];
        assert!(row.contains(host) && row.contains(rss), "rank {r}: {row}");
        assert!(
            row.contains(&format!("<td>{}</td>", 100 + r)),
            "rank {r}: {row}"
        );
    }
    assert!(ranks.contains("2.0 KiB"), "bytes sent by rank 1: {ranks}");
    // The session.
    assert_eq!(element(&dom, "n-ranks"), "3");
    assert_eq!(element(&dom, "threads"), "4");
    assert_eq!(element(&dom, "memory-limit"), "8.0 GiB per rank");
    assert_eq!(element(&dom, "tasks-per-s"), "1234.5");
    assert!(element(&dom, "jobs").contains("0 queued"), "{dom}");
    // The running job: its code and plan as text, its progress by shard.
    assert_eq!(element(&dom, "running-code"), CODE);
    assert_eq!(element(&dom, "plan"), PLAN);
    assert_eq!(element(&dom, "tasks"), "11/18 tasks");
    let progress = &dom[dom.find("id=\"progress\"").unwrap()..];
    let progress = &progress[..progress.find("<h3>").unwrap_or(progress.len())];
    let read = progress.find("read-temperature").expect("layer read");
    let mean = progress.find("mean-time").expect("layer mean");
    let counts = |s: &str| -> Vec<String> {
        s.split("class=\"count\">")
            .skip(1)
            .map(|c| c[..c.find('<').unwrap()].to_string())
            .collect()
    };
    assert_eq!(counts(&progress[read..mean]), ["4/4", "3/4", "1/4"]);
    assert_eq!(counts(&progress[mean..]), ["2/2", "0/2", "1/2"]);
    // No error shows.
    assert!(!dom.contains("data-error"), "{dom}");
}

#[test]
fn a_wrong_token_shows_the_unauthorised_message_and_no_data() {
    let Some(browser) = chromium() else { return };
    let (hub, server, t) = running_session();
    let wrong: String = t.chars().rev().collect();
    assert_ne!(wrong, t);
    let dom = dump_dom(
        &browser,
        &format!("http://{}/?token={wrong}", server.addr()),
    );
    let none = dump_dom(&browser, &format!("http://{}/", server.addr()));
    hub.shutdown();
    server.stop();

    for dom in [&dom, &none] {
        assert!(dom.contains("data-state=\"error\""), "{dom}");
        assert!(dom.contains("data-error=\"unauthorised\""), "{dom}");
        assert!(element(dom, "message").contains("Not authorised"), "{dom}");
        for secret in ["nid00", "temperature", "1234.5", "GiB"] {
            assert!(
                !dom.contains(secret),
                "{secret} shown without the token: {dom}"
            );
        }
    }
}

/// A computation of many small tasks (10,000 chunks of 4 million numbers): long enough
/// to be caught running, and cancelled once the page has been read.
const LONG_CODE: &str = "let big = random([200000, 200000], #{chunks: [2000, 2000], seed: 3}); \
                         big.std().item()";

/// `METHOD base+path` with the token; the answer's JSON.
fn api(base: &str, token: &str, method: &str, path: &str, body: &str) -> serde_json::Value {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .proxy(None)
        .build()
        .into();
    let url = format!("{base}{path}");
    let auth = format!("Bearer {token}");
    let reply = if method == "GET" {
        agent.get(&url).header("Authorization", &auth).call()
    } else {
        agent
            .post(&url)
            .header("Authorization", &auth)
            .header("Content-Type", "application/json")
            .send(body)
    };
    let mut reply = reply.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    let status = reply.status().as_u16();
    let text = reply.body_mut().read_to_string().unwrap();
    assert!(
        (200..300).contains(&status),
        "{method} {path}: {status} {text}"
    );
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{method} {path}: {e}: {text}"))
}

#[test]
fn the_dashboard_of_a_real_two_rank_serve_shows_its_running_computation() {
    let Some(browser) = chromium() else { return };
    let dir = std::env::temp_dir().join(format!("cw-dashboard-mpi-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (job, base, t) = util::serve_job(2, &dir);

    let submitted = api(
        &base,
        &t,
        "POST",
        "/api/jobs",
        &serde_json::json!({ "code": LONG_CODE }).to_string(),
    );
    let id = submitted["id"].as_u64().unwrap();
    // Running, with tasks done, before the page is loaded.
    let start = std::time::Instant::now();
    let status = loop {
        let st = api(&base, &t, "GET", "/api/status", "");
        if st["running"]["progress"]["tasks_done"]
            .as_u64()
            .unwrap_or(0)
            > 0
        {
            break st;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "never ran: {st}");
        std::thread::sleep(Duration::from_millis(20));
    };
    let dom = dump_dom(&browser, &format!("{base}/?token={t}"));
    let still = api(&base, &t, "GET", "/api/status", "");

    // Cancel, then end every rank, before reading the page.
    api(&base, &t, "POST", "/api/cancel", "");
    let start = std::time::Instant::now();
    let ended = loop {
        let j = api(&base, &t, "GET", &format!("/api/jobs/{id}?wait=20"), "");
        if !matches!(j["state"].as_str(), Some("queued" | "running")) {
            break j;
        }
        assert!(start.elapsed() < Duration::from_secs(120), "job {id}: {j}");
    };
    api(&base, &t, "POST", "/api/shutdown", "");
    job.wait(Duration::from_secs(60)).assert_success();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(ended["state"], "cancelled", "{ended}");
    assert_eq!(
        still["running"]["id"].as_u64(),
        Some(id),
        "the computation ended before the page was read: {still}"
    );

    assert!(dom.contains("data-state=\"running\""), "{dom}");
    assert!(!dom.contains("data-error"), "{dom}");
    assert_eq!(element(&dom, "n-ranks"), "2");
    assert_eq!(element(&dom, "threads"), "1");
    // A row per rank, with the host the job reported.
    let ranks = element(&dom, "ranks");
    assert_eq!(ranks.matches("<tr").count(), 2, "{ranks}");
    for r in 0..2 {
        let host = status["rank_info"][r]["host"].as_str().unwrap();
        assert!(!host.is_empty(), "{status}");
        let row_at = ranks
            .find(&format!("data-rank=\"{r}\""))
            .unwrap_or_else(|| panic!("no row for rank {r}: {ranks}"));
        let row = &ranks[row_at..ranks[row_at..].find("</tr>").unwrap() + row_at];
        assert!(row.contains(&format!("<td>{host}</td>")), "rank {r}: {row}");
        assert!(row.contains("iB</td>"), "rank {r}'s memory: {row}");
    }
    // The running job: its code, its plan (a layer a line), its progress.
    assert_eq!(element(&dom, "running-id"), format!("job {id}"));
    assert_eq!(element(&dom, "running-code"), LONG_CODE);
    // The plan: a layer a line, `NAME  N tasks`.
    let plan = element(&dom, "plan");
    let layers: Vec<(&str, u64)> = plan
        .lines()
        .map(|l| {
            let (name, n) = l
                .trim_end()
                .strip_suffix(" tasks")
                .and_then(|l| l.trim_end().rsplit_once(' '))
                .unwrap_or_else(|| panic!("plan line {l:?} in {plan}"));
            (name.trim_end(), n.parse().unwrap())
        })
        .collect();
    assert!(!layers.is_empty(), "{plan}");
    let tasks = element(&dom, "tasks");
    let (done, total) = tasks
        .strip_suffix(" tasks")
        .and_then(|s| s.split_once('/'))
        .unwrap_or_else(|| panic!("tasks: {tasks}"));
    let (done, total): (u64, u64) = (done.parse().unwrap(), total.parse().unwrap());
    assert_eq!(total, layers.iter().map(|l| l.1).sum::<u64>(), "{tasks}");
    assert!(done > 0 && done < total, "{tasks}");
    // The progress: each layer of the plan, in order, with a bar per rank
    // (`done/shard`); the ranks' shards make up the layer, and the counts
    // add up to the tasks done.
    let progress = &dom[dom.find("id=\"progress\"").unwrap()..];
    let progress = &progress[..progress.find("<h3>").unwrap_or(progress.len())];
    let shown: Vec<&str> = progress.split("class=\"layer-name\">").skip(1).collect();
    assert_eq!(shown.len(), layers.len(), "{progress}");
    let mut done_shown = 0;
    for (layer, &(name, n)) in shown.iter().zip(&layers) {
        let heading = &layer[..layer.find('<').unwrap()];
        assert_eq!(heading, format!("{name}  ({n} tasks)"), "{progress}");
        for r in 0..2 {
            assert_eq!(
                layer
                    .matches(&format!("class=\"bar\" data-rank=\"{r}\""))
                    .count(),
                1,
                "rank {r}'s bar of {name}: {layer}"
            );
        }
        let counts: Vec<(u64, u64)> = layer
            .split("class=\"count\">")
            .skip(1)
            .map(|c| {
                let c = &c[..c.find('<').unwrap()];
                let (d, s) = c.split_once('/').unwrap_or_else(|| panic!("count {c}"));
                (d.parse().unwrap(), s.parse().unwrap())
            })
            .collect();
        assert_eq!(counts.len(), 2, "{layer}");
        assert!(counts.iter().all(|&(d, s)| d <= s), "{counts:?}");
        assert_eq!(counts.iter().map(|c| c.1).sum::<u64>(), n, "{layer}");
        done_shown += counts.iter().map(|c| c.0).sum::<u64>();
    }
    assert_eq!(done_shown, done, "{progress}");
    // The rate of the tasks done so far.
    let rate: f64 = element(&dom, "tasks-per-s")
        .parse()
        .unwrap_or_else(|e| panic!("tasks/s: {e}: {dom}"));
    assert!(
        rate.is_finite() && rate > 0.0,
        "{rate} tasks/s with {tasks}"
    );
}
