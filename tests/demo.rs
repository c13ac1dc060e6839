//! `chunkwise demo` (the README's first command) single-process and under
//! `mpirun -n 1..4`: it runs, its values are close to what the maths says, every
//! rank computes the same bits, and bad arguments fail with a clear message.

mod util;

const SMALL: &[&str] = &["demo", "--n", "1200", "--chunk", "300", "--days", "73"];

/// The number after `label` on the line that contains it.
fn value_after(text: &str, label: &str) -> f64 {
    let line = text
        .lines()
        .find(|l| l.contains(label))
        .unwrap_or_else(|| panic!("no {label:?} in:\n{text}"));
    let rest = &line[line.find('=').expect("a value") + 1..];
    rest.split_whitespace()
        .next()
        .expect("a number")
        .parse()
        .expect("a float")
}

fn check_values(stdout: &str) {
    // x + x.T of uniform numbers has std sqrt(1/6); a 1200^2 sample is within 2e-3.
    let seed_line = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("= "))
        .expect("seed result line");
    let seed: f64 = seed_line.trim_start()[2..]
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (seed - (1.0f64 / 6.0).sqrt()).abs() < 2e-3,
        "seed expression gave {seed}"
    );
    let astd = value_after(stdout, "std of anomalies");
    // Over 73 days the seasonal cycle is not a whole period; the anomaly std stays
    // between the noise alone (2) and the full-year value (7.35).
    assert!(astd > 2.0 && astd < 7.5, "anomaly std {astd}");
    assert!(value_after(stdout, "global mean").is_finite());
}

#[test]
fn demo_runs_single_process_with_expected_values() {
    let out = util::run(SMALL);
    out.assert_success();
    check_values(&out.stdout);
    assert!(
        out.stdout
            .contains("ranks: 1; results bitwise identical on every rank: yes"),
        "{}",
        out.stdout
    );
}

#[test]
fn demo_gives_identical_bits_on_1_to_4_ranks() {
    let mut firsts = Vec::new();
    for ranks in 1..=4 {
        let out = util::mpirun(ranks, SMALL);
        out.assert_success();
        check_values(&out.stdout);
        assert!(
            out.stdout.contains(&format!(
                "ranks: {ranks}; results bitwise identical on every rank: yes"
            )),
            "{}",
            out.stdout
        );
        // The printed values do not depend on the number of ranks either.
        let vals: Vec<String> = out
            .stdout
            .lines()
            .filter(|l| l.contains('=') && !l.contains(" in "))
            .map(String::from)
            .collect();
        firsts.push(vals);
    }
    assert!(firsts.windows(2).all(|w| w[0] == w[1]), "{firsts:?}");
}

#[test]
fn demo_rejects_bad_arguments_clearly() {
    let out = util::run(&["demo", "--days", "5"]);
    out.assert_failure();
    assert!(
        out.stderr
            .contains("--days must be a positive multiple of 73"),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("panicked") && !out.stderr.contains("backtrace"),
        "{}",
        out.stderr
    );
}

#[test]
fn rank_0_draws_the_progress_bar_from_shard_counters() {
    // The default demo's climate field takes long enough for the bar to appear.
    let out = util::mpirun_program(
        2,
        &util::chunkwise_bin(),
        &["demo", "--n", "2000"],
        &[("CHUNKWISE_PROGRESS", "1")],
    );
    out.assert_success();
    // Final lines: "[####...] N/N tasks  X moved  T s", every task counted, printed
    // once (by rank 0) per computation that ran long enough.
    let finals: Vec<&str> = out
        .stderr
        .split(['\r', '\n'])
        .filter(|l| l.starts_with('[') && l.contains(" tasks "))
        .collect();
    assert!(
        !finals.is_empty(),
        "no progress bar on stderr:\n{}",
        out.stderr
    );
    let complete = finals.iter().any(|l| {
        let counts = l.split("] ").nth(1).and_then(|r| r.split(' ').next());
        matches!(counts.and_then(|c| c.split_once('/')), Some((a, b)) if a == b && a != "0")
    });
    assert!(complete, "no completed bar:\n{}", out.stderr);
    assert!(out.stderr.contains(" moved "), "{}", out.stderr);
}

#[test]
fn a_plan_over_the_memory_limit_fails_on_every_rank_alike() {
    let out = util::mpirun_program(
        3,
        &util::chunkwise_bin(),
        SMALL,
        &[("CHUNKWISE_MEMORY_LIMIT", "200KiB")],
    );
    out.assert_failure();
    let errors = util::lines_starting_with(&out.stderr, "chunkwise: error: ");
    assert_eq!(errors.len(), 3, "one error per rank:\n{}", out.stderr);
    assert!(errors.iter().all(|e| *e == errors[0]), "{errors:#?}");
    assert!(
        errors[0].contains("memory limit is 200.0 KiB")
            && errors[0].contains("CHUNKWISE_MEMORY_LIMIT"),
        "{}",
        errors[0]
    );
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
}
