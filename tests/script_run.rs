//! `chunkwise run` and `chunkwise explain` on scripts: results against
//! xarray's (tests/fixtures) and against values computed here independently,
//! the same output on 1 to 3 ranks, `--set`, settings from flags, environment
//! and config file, plans, and errors that name the script line. Every
//! process runs through the harness in `util`, with a timeout.

mod util;

use serde_json::Value;
use std::path::{Path, PathBuf};

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/data")
}

/// A fresh directory for one test's scripts and outputs.
fn scratch(test: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("chunkwise-script-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn write_script(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

/// Settings that could come from the machine running the tests.
const SETTINGS_VARS: [&str; 4] = [
    "CHUNKWISE_THREADS",
    "CHUNKWISE_MEMORY_LIMIT",
    "CHUNKWISE_PROGRESS",
    "CHUNKWISE_CONFIG",
];

/// `chunkwise ARGS` with no settings from the environment or a user's
/// config file.
fn run(args: &[&str]) -> util::Output {
    let home = std::env::temp_dir().join("chunkwise-script-no-config");
    let home = home.to_str().unwrap();
    util::run_env(args, &[("XDG_CONFIG_HOME", home)], &SETTINGS_VARS)
}

fn mpirun(ranks: usize, args: &[&str]) -> util::Output {
    let home = std::env::temp_dir().join("chunkwise-script-no-config");
    util::mpirun_program(
        ranks,
        &util::chunkwise_bin(),
        args,
        &[("XDG_CONFIG_HOME", home.to_str().unwrap())],
    )
}

/// The numbers of the `k`-th `array(...)` that a script printed.
fn printed_array(out: &str, k: usize) -> Vec<f64> {
    let start = out
        .match_indices("array(")
        .nth(k)
        .unwrap_or_else(|| panic!("no array #{k} in:\n{out}"))
        .0
        + "array(".len();
    let rest = &out[start..];
    let end = rest.find(')').unwrap();
    let body = rest[..end].split(", dtype=").next().unwrap();
    body.split(|c: char| c == '[' || c == ']' || c == ',' || c.is_whitespace())
        .filter(|t| !t.is_empty())
        .map(|t| match t {
            "nan" => f64::NAN,
            "inf" => f64::INFINITY,
            "-inf" => f64::NEG_INFINITY,
            t => t
                .parse()
                .unwrap_or_else(|_| panic!("not a number: {t:?} in\n{out}")),
        })
        .collect()
}

fn expected(entry: &str, key: &str) -> Vec<f64> {
    let p = data_dir().join("expected/mf.json");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
    doc["entries"][entry][key]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| match v {
            Value::Number(n) => n.as_f64().unwrap(),
            other => panic!("not a number: {other}"),
        })
        .collect()
}

fn assert_close(got: &[f64], want: &[f64], rtol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: {got:?} vs {want:?}");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= rtol * w.abs(),
            "{what}: value {i}: got {g}, expected {w}"
        );
    }
}

/// The seed workflow of the labelled-data issue as a script, with its result
/// written to NetCDF-4 and Zarr and read back.
fn seed_script(dir: &Path) -> String {
    let pattern = data_dir().join("nc/mf/*.nc");
    write_script(
        dir,
        "seed.rhai",
        &format!(
            r#"// the seed workflow
let ds = open_mfdataset("{}");
let clim = ds.air.groupby("time.season").mean("time");
let d = abs(clim.sel(#{{season: "JJA"}}) - clim.sel(#{{season: "DJF"}}));
print(d);
let clim64 = ds["air"].astype("float64").groupby("time.season").mean("time");
print((clim64.sel(#{{season: "JJA"}}) - clim64.sel(#{{season: "DJF"}})).abs().values());
d.to_netcdf(out + "/d.nc");
d.to_zarr(out + "/d.zarr");
print(open_dataset(out + "/d.nc").air.values());
print(open_zarr(out + "/d.zarr")["air"].values());
print(d.dims);
"#,
            pattern.display()
        ),
    )
}

#[test]
fn the_seed_workflow_matches_xarray_and_is_the_same_on_1_to_3_ranks() {
    let dir = scratch("seed");
    let script = seed_script(&dir);
    let out0 = dir.join("single");
    std::fs::create_dir_all(&out0).unwrap();
    let single = run(&["run", &script, "--set", &format!("out={}", out0.display())]);
    single.assert_success();
    let text = &single.stdout;
    // float32 as xarray computes it; float64 against xarray's float64.
    assert_close(&printed_array(text, 0), &expected("d", "values"), 1e-5, "d");
    assert_close(
        &printed_array(text, 1),
        &expected("d.values64", "values"),
        1e-12,
        "d in float64",
    );
    // What was written reads back the same.
    assert_eq!(printed_array(text, 2), printed_array(text, 0), "{text}");
    assert_eq!(printed_array(text, 3), printed_array(text, 0), "{text}");
    assert!(
        text.contains("<chunkwise.DataArray 'air' (lat: 4, lon: 5)>"),
        "{text}"
    );
    assert!(text.trim_end().ends_with(r#"["lat", "lon"]"#), "{text}");
    for ranks in 1..=3 {
        let out = dir.join(format!("ranks{ranks}"));
        std::fs::create_dir_all(&out).unwrap();
        let r = mpirun(
            ranks,
            &["run", &script, "--set", &format!("out={}", out.display())],
        );
        r.assert_success();
        assert_eq!(r.stdout, single.stdout, "{ranks} ranks");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `x[i][j]` of the array the expressions below start from.
fn x_value(i: usize, j: usize) -> f64 {
    ((i * 7 + j * 3) % 11) as f64 + 0.5 * j as f64
}

#[test]
fn array_expressions_match_values_computed_independently() {
    let (n, m) = (4, 6);
    let rows: Vec<String> = (0..n)
        .map(|i| {
            let r: Vec<String> = (0..m).map(|j| format!("{:?}", x_value(i, j))).collect();
            format!("[{}]", r.join(", "))
        })
        .collect();
    let dir = scratch("arrays");
    let script = write_script(
        &dir,
        "arrays.rhai",
        &format!(
            "let x = array([{}], [3, 4]);\n\
             print((x * 2.0 - 3.0).sum(0));\n\
             print(x.mean(1));\n\
             print(sqrt(abs(x - 5)));\n\
             print((x > 5.5).sum(1));\n\
             print(x.t()[1]);\n\
             print((x + x.t().t()).max(0, true));\n\
             print(x.std());\n\
             let p = x.rechunk(2).persist();\n\
             print(p.sum() - x.sum());\n\
             let r = random([300, 200], [70, 50], 3);\n\
             print(r.mean().item());\n",
            rows.join(", ")
        ),
    );
    let single = run(&["run", &script]);
    single.assert_success();
    let out = &single.stdout;
    let x = |i, j| x_value(i, j);
    let sum0: Vec<f64> = (0..m)
        .map(|j| (0..n).map(|i| x(i, j) * 2.0 - 3.0).sum())
        .collect();
    let mean1: Vec<f64> = (0..n)
        .map(|i| (0..m).map(|j| x(i, j)).sum::<f64>() / m as f64)
        .collect();
    let root: Vec<f64> = (0..n)
        .flat_map(|i| (0..m).map(move |j| (x(i, j) - 5.0).abs().sqrt()))
        .collect();
    let above: Vec<f64> = (0..n)
        .map(|i| (0..m).filter(|&j| x(i, j) > 5.5).count() as f64)
        .collect();
    let col1: Vec<f64> = (0..n).map(|i| x(i, 1)).collect();
    let max0: Vec<f64> = (0..m)
        .map(|j| (0..n).map(|i| 2.0 * x(i, j)).fold(f64::MIN, f64::max))
        .collect();
    let all: Vec<f64> = (0..n).flat_map(|i| (0..m).map(move |j| x(i, j))).collect();
    let mu = all.iter().sum::<f64>() / all.len() as f64;
    let std = (all.iter().map(|v| (v - mu) * (v - mu)).sum::<f64>() / all.len() as f64).sqrt();
    assert_close(&printed_array(out, 0), &sum0, 1e-12, "(x * 2 - 3).sum(0)");
    assert_close(&printed_array(out, 1), &mean1, 1e-12, "x.mean(1)");
    assert_close(&printed_array(out, 2), &root, 1e-12, "sqrt(abs(x - 5))");
    assert_eq!(printed_array(out, 3), above, "(x > 5.5).sum(1)");
    assert_eq!(printed_array(out, 4), col1, "x.T[1]");
    assert_eq!(printed_array(out, 5), max0, "(x + x).max(0, keepdims)");
    assert!(
        out.contains("shape=[1, 6]"),
        "keepdims keeps the axis:\n{out}"
    );
    assert_close(&printed_array(out, 6), &[std], 1e-12, "x.std()");
    assert_eq!(printed_array(out, 7), [0.0], "persisted sum");
    // The random array as the library computes it in this process.
    let r = chunkwise::array::random::random(&[300, 200], [70, 50], 3).unwrap();
    let mean = r.mean(None, false).unwrap().compute().unwrap().to_f64()[[]];
    assert_eq!(
        out.lines().last(),
        Some(format!("{mean:?}").as_str()),
        "{out}"
    );
    for ranks in [2, 3] {
        let r = mpirun(ranks, &["run", &script]);
        r.assert_success();
        assert_eq!(r.stdout, single.stdout, "{ranks} ranks");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn set_defines_script_variables_of_each_type() {
    let dir = scratch("set");
    let script = write_script(
        &dir,
        "set.rhai",
        "print(n + 1);\nprint(x * 2.0);\nprint(flag);\nprint(name + \"!\");\n\
         print(type_of(quoted));\nprint(is_def_var(\"unset\"));\n",
    );
    let out = run(&[
        "run",
        &script,
        "--set",
        "n=41",
        "--set",
        "x=1.25",
        "--set",
        "flag=true",
        "--set",
        "name=air",
        "--set",
        "quoted=\"12\"",
    ]);
    out.assert_success();
    assert_eq!(out.stdout, "42\n2.5\ntrue\nair!\nstring\nfalse\n");
    let bad = run(&["run", &script, "--set", "n"]);
    bad.assert_failure();
    assert!(bad.stderr.contains("NAME=VALUE"), "{}", bad.stderr);
    let bad = run(&["run", &script, "--set", "2x=1"]);
    bad.assert_failure();
    assert!(bad.stderr.contains("not a variable name"), "{}", bad.stderr);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn explain_prints_each_plan_and_computes_nothing() {
    let dir = scratch("explain");
    let written = dir.join("never.nc");
    let script = write_script(
        &dir,
        "explain.rhai",
        &format!(
            "let x = random([2000, 2000], 500, 0);\n\
             print(\"not shown\");\n\
             let y = (x + x.t()).persist();\n\
             print(y.mean());\n\
             DataArray(y.std(0), [\"x\"]).rename(\"s\").to_netcdf(\"{}\");\n",
            written.display()
        ),
    );
    let out = run(&["explain", &script]);
    out.assert_success();
    let text = &out.stdout;
    for want in [
        "[1] line 3: persist chunkwise.Array<shape=[2000, 2000]",
        "[2] line 4: print chunkwise.Array<shape=[]",
        "[3] line 5: to_netcdf(",
        "writes `",
        "variable `s`:",
        "tasks       16",
        "projected peak memory per rank",
    ] {
        assert!(text.contains(want), "`{want}` missing from:\n{text}");
    }
    assert_eq!(text.matches("plan: ").count(), 3, "{text}");
    assert!(
        !text.contains("not shown") && !text.contains("array("),
        "{text}"
    );
    assert!(!written.exists(), "explain wrote {}", written.display());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_script_error_names_its_line_once_on_every_rank_count() {
    let dir = scratch("error");
    let path = data_dir().join("nc/air_small.nc");
    let script = write_script(
        &dir,
        "bad.rhai",
        &format!(
            "let air = open_dataset(\"{}\").air;\n\
             print(\"before\");\n\
             let m = air.mean(\"time\") + air.groupby(\"time.season\").mean(\"tim\");\n\
             print(\"after\");\n",
            path.display()
        ),
    );
    let want = format!("{script}:3:");
    for ranks in [0, 1, 3] {
        let out = if ranks == 0 {
            run(&["run", &script])
        } else {
            mpirun(ranks, &["run", &script])
        };
        out.assert_failure();
        assert_eq!(out.stdout, "before\n", "{ranks} ranks");
        assert_eq!(
            out.stderr.matches("chunkwise: error:").count(),
            1,
            "one report ({ranks} ranks):\n{}",
            out.stderr
        );
        let line = out
            .stderr
            .lines()
            .find(|l| l.starts_with("chunkwise: error:"))
            .unwrap();
        assert!(line.contains(&want), "{line}");
        assert!(
            line.contains("plan error:") && line.contains("`time`"),
            "{line}"
        );
        assert!(
            out.stderr.contains("3 | let m = air.mean"),
            "the line is shown:\n{}",
            out.stderr
        );
    }
    // A call that matches nothing says what was expected.
    let script = write_script(&dir, "call.rhai", "let x = zeros([2, 2]);\nx.rechunk();\n");
    let out = run(&["run", &script]);
    out.assert_failure();
    assert!(out.stderr.contains("call.rhai:2:3:"), "{}", out.stderr);
    assert!(out.stderr.contains("x.rechunk(chunks)"), "{}", out.stderr);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Rank 0 alone evaluates the script; the other ranks run the work it
/// sends. Here the ranks are given different `--set` values (Open MPI's
/// MPMD form): only rank 0's count. A failure of rank 0's script ends every
/// rank with one report.
#[test]
fn only_rank_0_evaluates_the_script() {
    let dir = scratch("alone");
    let script = write_script(
        &dir,
        "alone.rhai",
        "let x = random([400, 400], 100, 1);\n\
         if fail { throw \"rank 0 failed\"; }\n\
         print(x.mean().item());\n\
         print(\"after\");\n",
    );
    let bin = util::chunkwise_bin();
    let bin = bin.to_str().unwrap();
    let ok = ["run", &script, "--set", "fail=false"];
    let bad = ["run", &script, "--set", "fail=true"];
    let mpmd = |first: &[&str], rest: &[&str]| {
        let mut args = vec!["-n", "1", bin];
        args.extend(first);
        args.extend([":", "-n", "2", bin]);
        args.extend(rest);
        util::mpirun_args(&args)
    };
    let out = mpmd(&ok, &bad);
    out.assert_success();
    assert!(out.stdout.ends_with("after\n"), "{}", out.stdout);
    let mean: f64 = out.stdout.lines().next().unwrap().parse().unwrap();
    assert!((mean - 0.5).abs() < 0.01, "{mean}");
    let out = mpmd(&bad, &ok);
    out.assert_failure();
    assert!(!out.stdout.contains("after"), "{}", out.stdout);
    assert_eq!(
        out.stderr.matches("chunkwise: error:").count(),
        1,
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("alone.rhai:2:") && out.stderr.contains("rank 0 failed"),
        "{}",
        out.stderr
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_missing_script_is_one_clear_error() {
    for ranks in [0, 2] {
        let out = if ranks == 0 {
            run(&["run", "no-such-script.rhai"])
        } else {
            mpirun(ranks, &["run", "no-such-script.rhai"])
        };
        out.assert_failure();
        assert_eq!(
            out.stderr
                .matches("cannot read script `no-such-script.rhai`")
                .count(),
            1,
            "{}",
            out.stderr
        );
    }
}

#[test]
fn settings_come_from_flags_then_environment_then_config_file() {
    let dir = scratch("settings");
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        "threads = 1\nmemory_limit = \"1GiB\"\nprogress = true\n",
    )
    .unwrap();
    let script = write_script(
        &dir,
        "s.rhai",
        "let s = settings();\nprint(`${s.threads} ${s.memory_limit} ${s.progress}`);\n",
    );
    let cfg = config.to_str().unwrap();
    let run_with = |args: &[&str], envs: &[(&str, &str)]| {
        let out = util::run_env(args, envs, &SETTINGS_VARS);
        out.assert_success();
        out.stdout.trim().to_string()
    };
    let gib = |n: u64| (n << 30).to_string();
    // The config file alone.
    assert_eq!(
        run_with(&["--config", cfg, "run", &script], &[]),
        format!("1 {} true", gib(1))
    );
    // The environment over the file (the file named by CHUNKWISE_CONFIG).
    assert_eq!(
        run_with(
            &["run", &script],
            &[
                ("CHUNKWISE_CONFIG", cfg),
                ("CHUNKWISE_MEMORY_LIMIT", "2GiB"),
                ("CHUNKWISE_PROGRESS", "0")
            ]
        ),
        format!("1 {} false", gib(2))
    );
    // Flags over both.
    assert_eq!(
        run_with(
            &[
                "--memory-limit",
                "3GiB",
                "run",
                &script,
                "--threads",
                "2",
                "--progress",
                "on"
            ],
            &[
                ("CHUNKWISE_CONFIG", cfg),
                ("CHUNKWISE_MEMORY_LIMIT", "2GiB"),
                ("CHUNKWISE_PROGRESS", "0")
            ]
        ),
        format!("2 {} true", gib(3))
    );
    // The default file under the user's config directory, when there is one.
    let xdg = dir.join("xdg");
    std::fs::create_dir_all(xdg.join("chunkwise")).unwrap();
    std::fs::write(
        xdg.join("chunkwise/config.toml"),
        "memory_limit = 5000000\n",
    )
    .unwrap();
    let shown = run_with(
        &["run", &script],
        &[("XDG_CONFIG_HOME", xdg.to_str().unwrap())],
    );
    assert!(shown.contains(" 5000000 "), "{shown}");
    // A named file must exist and hold known keys.
    let out = util::run_env(
        &["--config", "/no/such/config.toml", "run", &script],
        &[],
        &SETTINGS_VARS,
    );
    out.assert_failure();
    assert!(
        out.stderr.contains("/no/such/config.toml"),
        "{}",
        out.stderr
    );
    std::fs::write(&config, "thread = 1\n").unwrap();
    let out = util::run_env(&["--config", cfg, "run", &script], &[], &SETTINGS_VARS);
    out.assert_failure();
    assert!(out.stderr.contains("thread"), "{}", out.stderr);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn help_lists_run_and_explain_with_examples() {
    let out = run(&["--help"]);
    out.assert_success();
    for want in [
        "run",
        "explain",
        "Examples:",
        "chunkwise run analysis.rhai",
        "--set",
        "config.toml",
    ] {
        assert!(
            out.stdout.contains(want),
            "`{want}` missing:\n{}",
            out.stdout
        );
    }
    let out = run(&["run", "--help"]);
    out.assert_success();
    assert!(out.stdout.contains("NAME=VALUE"), "{}", out.stdout);
}

#[test]
fn the_example_script_runs() {
    let example = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/seasonal.rhai");
    let out = run(&["run", example.to_str().unwrap()]);
    out.assert_success();
    assert!(
        out.stdout.contains("largest difference: "),
        "{}",
        out.stdout
    );
    let got = printed_array(&out.stdout, 0);
    assert_close(
        &got,
        &expected("d", "values"),
        1e-5,
        "examples/seasonal.rhai",
    );
}

#[test]
fn plot_writes_one_png_on_any_number_of_ranks() {
    let dir = scratch("plot");
    let air = data_dir().join("nc/air_small.nc");
    let script = write_script(
        &dir,
        "plot.rhai",
        &format!(
            "let air = open_dataset({:?}).air;\n\
             plot(air.isel(#{{time: 0}}), OUT + \"/map.png\");\n\
             air.mean([\"lat\", \"lon\"]).plot(OUT + \"/series.png\", #{{title: \"mean\"}});\n\
             plot(air, OUT + \"/cube.png\");\n",
            air.to_str().unwrap()
        ),
    );
    for ranks in [0, 2] {
        let out_dir = dir.join(format!("out{ranks}"));
        std::fs::create_dir_all(&out_dir).unwrap();
        let set = format!("OUT={}", out_dir.to_str().unwrap());
        let args = ["run", script.as_str(), "--set", set.as_str()];
        let out = if ranks == 0 {
            run(&args)
        } else {
            mpirun(ranks, &args)
        };
        // The 3-D plot is refused (after the two others were written), with
        // its line, on every rank.
        out.assert_failure();
        assert!(
            out.stderr.contains("plot.rhai:4") && out.stderr.contains("3-D"),
            "{}",
            out.stderr
        );
        let mut names: Vec<String> = std::fs::read_dir(&out_dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["map.png", "series.png"], "ranks {ranks}");
        for n in &names {
            let bytes = std::fs::read(out_dir.join(n)).unwrap();
            assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{n}");
        }
    }
}
