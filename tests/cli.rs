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
/// per rank, each on node 0 with node-local rank equal to its rank.
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
        for key in [" host=", " cores=", " pus=", " bound_to=", " threads="] {
            assert!(line.contains(key), "missing {key:?} in {line}");
        }
    }
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

#[test]
fn info_under_mpirun_2() {
    check_info_report(&util::mpirun(2, &["info"]), 2);
}

#[test]
fn info_under_mpirun_3() {
    check_info_report(&util::mpirun(3, &["info"]), 3);
}

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
