//! The `chunkwise` command line: `--version`, and `info` run directly and
//! under `mpirun -n 1..4`. Every run goes through the harness in `util`,
//! with a timeout.

mod util;

use std::process::Command;
use std::time::Duration;

const VERSION: &str = env!("CARGO_PKG_VERSION");

#[test]
fn version_prints_the_crate_version() {
    let out = util::run(&["--version"]);
    out.assert_success();
    assert_eq!(out.stdout.trim(), format!("chunkwise {VERSION}"));
}

#[test]
fn help_lists_the_info_subcommand() {
    let out = util::run(&["--help"]);
    out.assert_success();
    assert!(
        out.stdout
            .lines()
            .any(|l| l.trim_start().starts_with("info")),
        "{}",
        out.stdout
    );
}

#[test]
fn an_unknown_subcommand_fails_with_a_message() {
    let out = util::run(&["no-such-command"]);
    out.assert_failure();
    assert!(out.stderr.contains("no-such-command"), "{}", out.stderr);
}

/// Check an `info` report of a job of `ranks` ranks launched on this one
/// machine: a header with the counts, both libraries, and exactly one line
/// per rank, each on node 0 with node-local rank equal to its rank, and a
/// worker pool pinned to at least one core (see [`check_pools`]).
fn check_info_report(out: &util::Output, ranks: usize) {
    out.assert_success();
    let text = &out.stdout;
    let plural = if ranks == 1 { "" } else { "s" };
    let header = format!("chunkwise {VERSION}: {ranks} rank{plural} on 1 node");
    assert_eq!(text.lines().next(), Some(header.as_str()), "{text}");
    assert!(
        text.lines().any(|l| l.starts_with("MPI library: ")),
        "{text}"
    );
    assert!(
        text.lines().any(|l| l.starts_with("HDF5 library: 1.")),
        "{text}"
    );
    let rank_lines = util::lines_starting_with(text, "rank ");
    assert_eq!(
        rank_lines.len(),
        ranks,
        "one line per rank expected:\n{text}"
    );
    for r in 0..ranks {
        let line = rank_lines
            .iter()
            .find(|l| l.starts_with(&format!("rank {r}/{ranks}: ")))
            .unwrap_or_else(|| panic!("no line for rank {r}:\n{text}"));
        assert!(line.contains(" node=0 "), "{line}");
        assert!(
            line.contains(&format!(" local_rank={r}/{ranks} ")),
            "{line}"
        );
        for key in [
            " host=",
            " cores=",
            " pus=",
            " bound_to=",
            " threads=",
            " pool=",
        ] {
            assert!(line.contains(key), "missing {key:?} in {line}");
        }
    }
    check_pools(text, ranks);
}

/// The `pool=` field of a rank line: the rest of the line.
fn pool_of(line: &str) -> &str {
    line.split_once(" pool=")
        .unwrap_or_else(|| panic!("no pool in {line}"))
        .1
}

/// The value of ` key=` in a rank line, up to the next space.
fn field<'a>(line: &'a str, key: &str) -> &'a str {
    let at = format!(" {key}=");
    let rest = line
        .split_once(at.as_str())
        .unwrap_or_else(|| panic!("no {key} in {line}"))
        .1;
    rest.split(' ').next().unwrap_or("")
}

/// The cores of a pool summary such as `2 threads on cores 0-1,4 (...)` or
/// `1 thread on core 3`, expanded; `None` if the pool is not pinned.
fn pool_cores(pool: &str) -> Option<Vec<usize>> {
    let (_, after) = pool.split_once(" on core")?;
    let list = after.strip_prefix('s').unwrap_or(after).trim_start();
    let list = list.split(' ').next().unwrap_or("");
    let mut cores = Vec::new();
    for part in list.split(',') {
        let (lo, hi) = part.split_once('-').unwrap_or((part, part));
        let lo: usize = lo
            .parse()
            .unwrap_or_else(|_| panic!("bad core list in {pool:?}"));
        let hi: usize = hi
            .parse()
            .unwrap_or_else(|_| panic!("bad core list in {pool:?}"));
        cores.extend(lo..=hi);
    }
    Some(cores)
}

/// Every rank's pool is pinned to at least one core and its pinning was
/// checked; ranks whose pool does not say `shared with` have cores no
/// other rank has; with more ranks than the machine has cores, every pool
/// says cores are shared and some rank shares its cores, and with no more,
/// none says oversubscribed. Returns each rank's cores.
fn check_pools(text: &str, ranks: usize) -> Vec<Vec<usize>> {
    let lines: Vec<&str> = (0..ranks)
        .map(|r| {
            text.lines()
                .find(|l| l.starts_with(&format!("rank {r}/{ranks}: ")))
                .unwrap_or_else(|| panic!("no line for rank {r}:\n{text}"))
        })
        .collect();
    let machine_cores: usize = field(lines[0], "cores")
        .parse()
        .unwrap_or_else(|_| panic!("cores is not a number in {}", lines[0]));
    let pools: Vec<&str> = lines.iter().map(|l| pool_of(l)).collect();
    let cores: Vec<Vec<usize>> = pools
        .iter()
        .map(|p| pool_cores(p).unwrap_or_else(|| panic!("pool not pinned: {p}\n{text}")))
        .collect();
    for (r, pool) in pools.iter().enumerate() {
        assert!(!cores[r].is_empty(), "rank {r} has no core: {pool}");
        assert!(!pool.contains("pinning failed"), "rank {r}: {pool}");
        if ranks > machine_cores {
            assert!(pool.contains("share"), "{ranks} ranks on {machine_cores} cores but rank {r}'s pool does not say shared: {pool}");
        } else {
            assert!(!pool.contains("oversubscribed"), "rank {r}: {pool}");
        }
        if !pool.contains("shared with") {
            for (other, theirs) in cores.iter().enumerate() {
                if other != r {
                    assert!(
                        cores[r].iter().all(|c| !theirs.contains(c)),
                        "rank {r} says its cores are its own but rank {other} uses one:\n{text}"
                    );
                }
            }
        }
    }
    if ranks > machine_cores {
        assert!(
            pools.iter().any(|p| p.contains("shared with")),
            "{ranks} ranks on {machine_cores} cores yet no rank shares a core:\n{text}"
        );
    }
    cores
}

#[test]
fn pool_core_lists_parse() {
    assert_eq!(pool_cores("1 thread on core 3"), Some(vec![3]));
    assert_eq!(
        pool_cores("4 threads on cores 0-1,4 (bound by the launcher)"),
        Some(vec![0, 1, 4])
    );
    assert_eq!(pool_cores("2 threads, not pinned (hwloc: none)"), None);
}

#[test]
fn info_runs_as_a_single_process() {
    let out = util::run(&["info"]);
    check_info_report(&out, 1);
}

#[test]
fn info_under_mpirun_1() {
    check_info_report(&util::mpirun(1, &["info"]), 1);
}

/// Two ranks on a machine of at least two cores (this one has two): each
/// pool has its own cores, whether Open MPI bound each rank to a core or
/// chunkwise split the node.
#[test]
fn info_under_mpirun_2() {
    let out = util::mpirun(2, &["info"]);
    check_info_report(&out, 2);
    let cores = check_pools(&out.stdout, 2);
    let machine_cores: usize = field(
        util::lines_starting_with(&out.stdout, "rank 0/2: ")[0],
        "cores",
    )
    .parse()
    .unwrap_or(0);
    if machine_cores >= 2 {
        assert!(
            cores[0].iter().all(|c| !cores[1].contains(c)),
            "the two ranks' pools share a core:\n{}",
            out.stdout
        );
    }
}

/// Three ranks: on this two-core machine every rank still has a core and
/// the report says cores are shared.
#[test]
fn info_under_mpirun_3() {
    check_info_report(&util::mpirun(3, &["info"]), 3);
}

/// Four ranks: as with three, two per core on this machine.
#[test]
fn info_under_mpirun_4() {
    check_info_report(&util::mpirun(4, &["info"]), 4);
}

/// The harness itself: a run that outlives its timeout is killed with its
/// whole process group (including a grandchild holding the pipes) and the
/// test fails, quickly.
#[test]
fn harness_kills_a_run_that_times_out() {
    let result = std::panic::catch_unwind(|| {
        let mut cmd = Command::new("bash");
        cmd.args(["-c", "sleep 300 & wait"]);
        util::run_with_timeout(cmd, Duration::from_secs(1))
    });
    let err = result.expect_err("a run past its timeout must fail the test");
    let msg = err.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.contains("timed out"), "{msg}");
    // The grandchild `sleep` held the output pipes: they closed only if the
    // whole group was killed.
    assert!(!msg.contains("output not available"), "{msg}");
}
