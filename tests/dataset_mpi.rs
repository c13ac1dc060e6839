//! Labelled datasets under `mpirun -n 1..4`: every rank opens the files,
//! reads only the chunks it owns, and the results are bitwise the same as in
//! one process and close to xarray's (tests/fixtures).

#[path = "util/mod.rs"]
mod util;

use chunkwise::comm::{Comm, LocalComm, MpiComm};
use chunkwise::dataset::{open_dataset, open_mfdataset, DataArray, OpenOptions, Sel};
use chunkwise::session::{Config, Session};
use std::path::PathBuf;
use std::rc::Rc;

const WORKER_ENV: &str = "CHUNKWISE_DATASET_WORKER_RANKS";

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/data")
}

/// The computations checked, each as (name, result).
fn workflows() -> Vec<(&'static str, DataArray)> {
    let opts = OpenOptions::default();
    let pattern = data_dir().join("nc/mf/*.nc");
    let ds = open_mfdataset(pattern.to_str().unwrap(), "time", &opts).unwrap();
    let clim = ds.get("air").unwrap().groupby("time.season").unwrap();
    let clim = clim.mean(&["time"]).unwrap();
    let jja = clim.sel(&[("season", Sel::Label("JJA".into()))]).unwrap();
    let djf = clim.sel(&[("season", Sel::Label("DJF".into()))]).unwrap();
    let d = (&jja - &djf).unwrap().map(|a| a.abs());
    let small = open_dataset(data_dir().join("nc/air_small.nc"), &opts).unwrap();
    let air = small.get("air").unwrap();
    let monthly = air.resample("time", "MS").unwrap().mean(&[]).unwrap();
    let anom = air
        .groupby("time.month")
        .unwrap()
        .sub(&air.groupby("time.month").unwrap().mean(&["time"]).unwrap())
        .unwrap()
        .std(&["time"], 0)
        .unwrap();
    let rolled = air
        .rolling("time", 5, true)
        .unwrap()
        .mean()
        .unwrap()
        .max(&[])
        .unwrap();
    vec![
        ("seed workflow", d),
        ("monthly means", monthly),
        ("anomaly std", anom),
        ("rolling max", rolled),
    ]
}

/// One line per result: its name and a hash of the bits of its values.
fn fingerprint(results: &[(&str, DataArray)]) -> String {
    results
        .iter()
        .map(|(name, da)| {
            let v = da.values().unwrap();
            // FNV-1a over the values' bits: one short line per result, so the
            // lines of several ranks cannot interleave.
            let hash = v.iter().fold(0xcbf29ce484222325u64, |h, x| {
                (h ^ x.to_bits()).wrapping_mul(0x100000001b3)
            });
            format!("RESULT {name}: {} values, bits hash {hash:016x}\n", v.len())
        })
        .collect()
}

fn launch(ranks: usize) {
    let n = ranks.to_string();
    let out = util::mpirun_worker(ranks, "dataset_worker", &[(WORKER_ENV, n.as_str())]);
    out.assert_success();
    // The same bits as one process computes.
    Session::with_comm(Config::default(), Rc::new(LocalComm::new()))
        .unwrap()
        .install();
    let want = fingerprint(&workflows());
    for line in want.lines() {
        assert_eq!(
            out.stdout.matches(line).count(),
            ranks,
            "every rank must print {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            &line[..line.len().min(60)],
            out.stdout,
            out.stderr
        );
    }
}

#[test]
fn datasets_on_1_rank() {
    launch(1);
}

#[test]
fn datasets_on_2_ranks() {
    launch(2);
}

#[test]
fn datasets_on_3_ranks() {
    launch(3);
}

#[test]
fn datasets_on_4_ranks() {
    launch(4);
}

#[test]
#[ignore = "one rank of a job: launched under mpirun by the datasets_on_* tests"]
fn dataset_worker() {
    let Ok(expected) = std::env::var(WORKER_ENV) else {
        panic!("run through the datasets_on_* tests, which set {WORKER_ENV}");
    };
    let comm = Rc::new(MpiComm::init().expect("MPI starts"));
    assert_eq!(comm.size().to_string(), expected);
    let config = Config {
        threads: 1,
        ..Config::default()
    };
    Session::with_comm(config, comm.clone()).unwrap().install();
    let results = workflows();
    print!("{}", fingerprint(&results));
    chunkwise::session::uninstall();
}

// ---------------------------------------------------------------------------
// Bad inputs under mpirun: every rank returns the same clear error.

const ERRORS_ENV: &str = "CHUNKWISE_DATASET_ERRORS_DIR";

/// A scratch directory with two broken copies of `nc/mf`: `truncated/` (one
/// file cut in half, so opening it fails on every rank) and `corrupt/` (one
/// file's compressed `air` chunk overwritten, so only the rank reading that
/// chunk meets the error, during the computation).
fn broken_copies(ranks: usize) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "chunkwise-dataset-errors-{}-{ranks}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    for sub in ["truncated", "corrupt"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
        for e in std::fs::read_dir(data_dir().join("nc/mf")).unwrap() {
            let p = e.unwrap().path();
            std::fs::copy(&p, dir.join(sub).join(p.file_name().unwrap())).unwrap();
        }
    }
    let victim = "air_2000_07.nc";
    let t = dir.join("truncated").join(victim);
    let bytes = std::fs::read(&t).unwrap();
    std::fs::write(&t, &bytes[..bytes.len() / 2]).unwrap();
    let c = dir.join("corrupt").join(victim);
    let info = {
        let f = hdf5::File::open(&c).unwrap();
        let air = f.dataset("air").unwrap();
        air.chunk_info(0)
            .expect("`air` is stored in (deflated) chunks")
    };
    let mut bytes = std::fs::read(&c).unwrap();
    let (at, size) = (info.addr as usize, info.size as usize);
    // Past the zlib header, 0xFF bytes are a deflate block of reserved type.
    bytes[at + 2..at + size].fill(0xFF);
    std::fs::write(&c, &bytes).unwrap();
    dir
}

/// Each case: (name, words its error must contain).
fn error_cases() -> Vec<(&'static str, Vec<&'static str>)> {
    vec![
        ("truncated", vec!["air_2000_07.nc"]),
        ("corrupt", vec!["air_2000_07.nc", "`air`"]),
        (
            "missing variable",
            vec!["no variable `air`", "temp", "missing_var.nc"],
        ),
        (
            "mismatched coordinates",
            vec!["coordinate `lat` differs", "mf_bad"],
        ),
        (
            "unsupported type",
            vec!["types.h5", "`compound`", "compound"],
        ),
    ]
}

/// Run one case; its error as one line.
fn error_case(name: &str, broken: &std::path::Path) -> String {
    let opts = OpenOptions::default();
    let seed = |dir: PathBuf| -> chunkwise::Result<()> {
        let ds = open_mfdataset(dir.join("*.nc").to_str().unwrap(), "time", &opts)?;
        let clim = ds.get("air")?.groupby("time.season")?.mean(&["time"])?;
        let jja = clim.sel(&[("season", Sel::Label("JJA".into()))])?;
        let djf = clim.sel(&[("season", Sel::Label("DJF".into()))])?;
        (&jja - &djf)?.values()?;
        Ok(())
    };
    let result = match name {
        "truncated" => seed(broken.join("truncated")),
        "corrupt" => seed(broken.join("corrupt")),
        "missing variable" => open_dataset(data_dir().join("nc/missing_var.nc"), &opts)
            .and_then(|d| d.get("air").map(|_| ())),
        "mismatched coordinates" => seed(data_dir().join("nc/mf_bad")),
        "unsupported type" => open_dataset(data_dir().join("h5/types.h5"), &opts)
            .and_then(|d| d.get("compound").map(|_| ())),
        other => panic!("no case {other}"),
    };
    match result {
        Ok(()) => "no error".to_string(),
        Err(e) => e.to_string().replace('\n', " | "),
    }
}

#[test]
#[ignore = "one rank of a job: launched under mpirun by the bad_inputs_* tests"]
fn dataset_errors_worker() {
    let Ok(dir) = std::env::var(ERRORS_ENV) else {
        panic!("run through the bad_inputs_* tests, which set {ERRORS_ENV}");
    };
    let comm = Rc::new(MpiComm::init().expect("MPI starts"));
    let config = Config {
        threads: 1,
        ..Config::default()
    };
    Session::with_comm(config, comm.clone()).unwrap().install();
    // After the test harness's "test ... " (no newline yet).
    println!();
    for (name, _) in error_cases() {
        println!(
            "ERROR {name}: {}",
            error_case(name, std::path::Path::new(&dir))
        );
    }
    chunkwise::session::uninstall();
}

fn launch_errors(ranks: usize) {
    let dir = broken_copies(ranks);
    let out = util::mpirun_worker(
        ranks,
        "dataset_errors_worker",
        &[(ERRORS_ENV, dir.to_str().unwrap())],
    );
    out.assert_success();
    for (name, words) in error_cases() {
        let lines = util::lines_starting_with(&out.stdout, &format!("ERROR {name}: "));
        assert_eq!(
            lines.len(),
            ranks,
            "{name}: one line per rank\n--- stdout ---\n{}\n--- stderr ---\n{}",
            out.stdout,
            out.stderr
        );
        assert!(lines.iter().all(|l| *l == lines[0]), "{name}: {lines:#?}");
        for w in &words {
            assert!(lines[0].contains(w), "{name}: {:?} lacks {w:?}", lines[0]);
        }
    }
    assert!(
        !out.stderr.contains("panicked"),
        "no rank may panic:\n{}",
        out.stderr
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_inputs_give_the_same_error_on_1_rank() {
    launch_errors(1);
}

#[test]
fn bad_inputs_give_the_same_error_on_3_ranks() {
    launch_errors(3);
}
