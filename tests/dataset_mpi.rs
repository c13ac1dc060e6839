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
    let exe = std::env::current_exe().expect("path of this test binary");
    let n = ranks.to_string();
    let out = util::mpirun_program(
        ranks,
        &exe,
        &[
            "dataset_worker",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ],
        &[(WORKER_ENV, n.as_str())],
    );
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
