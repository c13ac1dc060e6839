//! `chunkwise shell` inside the job: commands piped to `chunkwise shell`
//! (one rank, in-process) and to `mpirun -n N chunkwise shell` (rank 0 reads
//! them; the other ranks follow), checked against values computed here.

mod util;

/// Commands over several lines (an open bracket continues a command), a
/// persisted array used by later commands, printed output and values.
const COMMANDS: &str = "\
let x = arange(0, 100000, 1, 1000)
    .astype(\"float64\")
    .persist();
print(x.max().item());
x.sum().item()
let m = #{
    a: 1,
};
(x * 2.0).mean().item()
";

fn expected() -> String {
    let n = 100_000f64;
    format!("{:?}\n{:?}\n{:?}\n", n - 1.0, n * (n - 1.0) / 2.0, n - 1.0)
}

#[test]
fn piped_commands_run_in_one_session_on_every_rank_count() {
    for ranks in 0..=3 {
        let out = if ranks == 0 {
            util::run_input(&["shell", "--no-history"], COMMANDS)
        } else {
            util::mpirun_input(ranks, &["shell", "--no-history"], COMMANDS)
        };
        out.assert_success();
        assert_eq!(out.stdout, expected(), "{ranks} ranks\n{}", out.stderr);
    }
}

#[test]
fn a_failing_piped_command_ends_the_shell_with_its_error_once() {
    let input = "print(1);\nlet y = undefined_name + 1;\nprint(2);\n";
    for ranks in [0, 2] {
        let out = if ranks == 0 {
            util::run_input(&["shell", "--no-history"], input)
        } else {
            util::mpirun_input(ranks, &["shell", "--no-history"], input)
        };
        out.assert_failure();
        assert_eq!(out.stdout, "1\n", "{ranks} ranks: {}", out.stderr);
        assert_eq!(
            out.stderr.matches("chunkwise: error:").count(),
            1,
            "{}",
            out.stderr
        );
        assert!(out.stderr.contains("undefined_name"), "{}", out.stderr);
    }
}

#[test]
fn one_command_with_c() {
    for ranks in [0, 2] {
        let args = ["shell", "-c", "arange(0, 10, 1, 3).sum().item()"];
        let out = if ranks == 0 {
            util::run(&args)
        } else {
            util::mpirun(ranks, &args)
        };
        out.assert_success();
        assert_eq!(out.stdout, "45\n", "{ranks} ranks: {}", out.stderr);
    }
}
