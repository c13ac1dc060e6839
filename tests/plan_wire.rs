//! Plans sent between ranks (`expr::wire`, `session::broadcast_plan`): a plan
//! encoded, decoded (its files opened again) and computed gives the same bits
//! as the original, in one process and when rank 0 alone builds it and the
//! other ranks of `mpirun -n 1..3` receive it.

mod common;
#[path = "util/mod.rs"]
mod util;

use chunkwise::comm::{Comm, MpiComm};
use chunkwise::dataset::{open_dataset, open_mfdataset, open_zarr, OpenOptions, Sel};
use chunkwise::expr::{wire, Expr};
use chunkwise::io::open_spec;
use chunkwise::prelude::*;
use chunkwise::session::{broadcast_plan, Config, Session};
use common::*;
use std::path::PathBuf;
use std::rc::Rc;

const WORKER_ENV: &str = "CHUNKWISE_PLAN_WIRE_WORKER";

fn data(p: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/data")
        .join(p)
        .display()
        .to_string()
}

/// Plans over every kind of node that can be sent, with what they are.
fn plans() -> Vec<(&'static str, Array)> {
    let x = random::random(&[30, 20], [7, 6], 3).unwrap();
    let a = data_f64(&[30, 20], 5, -1.0, 1.0);
    let m = arr(&a, vec![vec![10, 20], vec![5, 15]].into());
    let i = arange(0.0, 600.0, 1.0, 64)
        .unwrap()
        .reshape(&[30, 20])
        .unwrap();
    let sq = random::random(&[24, 24], [7, 6], 4).unwrap();
    let seed = (&sq + &sq.t().rechunk([6, 7]).unwrap() - sq.mean(Some(0), true).unwrap())
        .std(None, 0, false)
        .unwrap();
    let mixed = where_(
        &m.greater(&x).unwrap(),
        (&m * 2.0).sqrt(),
        i.astype(DType::F64),
    )
    .slice(&[Idx::slice(Some(2), None, 3), Idx::from(1..19)])
    .unwrap();
    let cat = concatenate(&[&m, &x, &i.astype(DType::F64)], 0)
        .unwrap()
        .nanmax(Some(1), false)
        .unwrap();
    let mm = m.dot(&x.t()).unwrap().sum(Some(0), false).unwrap();
    // A shared node (x) read by several consumers, a linspace and a full.
    let gens = (&linspace(0.0, 1.0, 20, 4).unwrap() + &full(&[30, 20], 0.5, 10).unwrap()) * &x;
    vec![
        ("seed expression", seed),
        ("where/sqrt/astype/slice", mixed),
        ("concatenate + nanmax", cat),
        ("dot + sum", mm),
        ("generators", gens),
    ]
}

/// Plans over files: NetCDF-4 (joined, CF-decoded, seed workflow) and Zarr.
fn file_plans() -> Vec<(&'static str, Array)> {
    let opts = OpenOptions::default();
    let ds = open_mfdataset(&data("nc/mf/*.nc"), "time", &opts).unwrap();
    let clim = ds
        .get("air")
        .unwrap()
        .groupby("time.season")
        .unwrap()
        .mean(&["time"])
        .unwrap();
    let jja = clim.sel(&[("season", Sel::Label("JJA".into()))]).unwrap();
    let djf = clim.sel(&[("season", Sel::Label("DJF".into()))]).unwrap();
    let seed = (&jja - &djf).unwrap().map(|a| a.abs());
    let small = open_dataset(data("nc/air_small.nc"), &opts).unwrap();
    let monthly = small
        .get("air")
        .unwrap()
        .resample("time", "MS")
        .unwrap()
        .mean(&[])
        .unwrap();
    let z = open_zarr(data("zarr/v3.zarr"), &opts).unwrap();
    let zv = z.get(z.data_vars()[0]).unwrap().mean(&[]).unwrap();
    vec![
        ("seed workflow over 24 files", seed.data().clone()),
        ("monthly resample", monthly.data().clone()),
        ("zarr mean", zv.data().clone()),
    ]
}

fn bits(c: &chunkwise::kernel::Chunk) -> Vec<u64> {
    c.to_f64().iter().map(|v| v.to_bits()).collect()
}

fn round_trip(e: &Expr) -> Expr {
    let msg = wire::encode(e).unwrap();
    wire::decode(&msg, &mut |s| open_spec(s)).unwrap()
}

#[test]
fn plans_come_back_the_same() {
    let s = session(2, None);
    for (what, a) in plans().into_iter().chain(file_plans()) {
        let e = a.expr().unwrap();
        let back = round_trip(e);
        assert_eq!(back.meta(), e.meta(), "{what}");
        assert_eq!(
            bits(&s.compute(&back).unwrap()),
            bits(&s.compute(e).unwrap()),
            "{what}"
        );
        // And the same plan (layers, tasks, fusions) once optimised.
        assert_eq!(s.explain(&back).unwrap(), s.explain(e).unwrap(), "{what}");
    }
}

#[test]
fn a_shared_node_is_sent_once_and_stays_shared() {
    let x = random::random(&[10, 10], [5, 5], 1).unwrap();
    let y = &x + &x.t();
    let back = round_trip(y.expr().unwrap());
    // add(x, transpose(x)): both read the same decoded x.
    let (a, b) = (&back.inputs()[0], &back.inputs()[1].inputs()[0]);
    assert!(a.ptr_eq(b), "x was decoded twice");
}

#[test]
fn what_cannot_be_sent_is_refused_clearly() {
    let x = ones(&[4, 4], 2).unwrap();
    let f = x.map_blocks(|c, _| Ok(c.clone()), DType::F64);
    let err = wire::encode(f.expr().unwrap()).unwrap_err();
    assert!(matches!(err, chunkwise::Error::Plan(_)), "{err:?}");
    assert!(err.to_string().contains("map_blocks"), "{err}");
    for bad in [&b""[..], &b"\x05\0\0\0\0\0\0\0{}"[..], &[0xFF; 40][..]] {
        let err = wire::decode(bad, &mut |s| open_spec(s)).unwrap_err();
        assert!(matches!(err, chunkwise::Error::Comm(_)), "{err:?}");
    }
}

#[test]
fn a_missing_file_on_the_receiving_side_names_it() {
    // Encode a plan over a copy of a file, remove the copy, then decode.
    let dir = std::env::temp_dir().join(format!("chunkwise-wire-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let copy = dir.join("air_small.nc");
    std::fs::copy(data("nc/air_small.nc"), &copy).unwrap();
    let ds = open_dataset(&copy, &OpenOptions::default()).unwrap();
    let msg = wire::encode(ds.get("air").unwrap().data().expr().unwrap()).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let err = wire::decode(&msg, &mut |s| open_spec(s)).unwrap_err();
    assert!(err.to_string().contains("air_small.nc"), "{err}");
}

/// One line per plan: its name and the bits of its result.
fn fingerprint(results: &[chunkwise::kernel::Chunk]) -> String {
    results
        .iter()
        .enumerate()
        .map(|(k, c)| {
            let h = bits(c).iter().fold(0xcbf29ce484222325u64, |h, x| {
                (h ^ x).wrapping_mul(0x100000001b3)
            });
            format!("PLAN {k}: {h:016x}\n")
        })
        .collect()
}

#[test]
#[ignore = "one rank of a job: launched under mpirun by the broadcast_on_* tests"]
fn plan_wire_worker() {
    assert!(
        std::env::var(WORKER_ENV).is_ok(),
        "run through broadcast_on_*"
    );
    let comm = Rc::new(MpiComm::init().expect("MPI starts"));
    let s = Session::with_comm(
        Config {
            threads: 1,
            ..Config::default()
        },
        comm.clone(),
    )
    .unwrap();
    // Only rank 0 builds the plans (and opens the files); every rank computes.
    let mine: Vec<(&str, Array)> = if comm.rank() == 0 {
        plans().into_iter().chain(file_plans()).collect()
    } else {
        Vec::new()
    };
    let n = plans().len() + 3;
    let mut results = Vec::new();
    for k in 0..n {
        let e = mine.get(k).map(|(_, a)| a.expr().unwrap());
        let plan = broadcast_plan(comm.as_ref(), 0, e, &mut |s| open_spec(s)).unwrap();
        results.push(s.compute(&plan).unwrap());
    }
    println!();
    print!("{}", fingerprint(&results));
}

fn launch(ranks: usize) {
    let out = util::mpirun_worker(ranks, "plan_wire_worker", &[(WORKER_ENV, "1")]);
    out.assert_success();
    // What one process computes from the plans themselves, on every rank.
    let s = session(2, None);
    let want: Vec<chunkwise::kernel::Chunk> = plans()
        .into_iter()
        .chain(file_plans())
        .map(|(_, a)| s.compute(a.expr().unwrap()).unwrap())
        .collect();
    for line in fingerprint(&want).lines() {
        assert_eq!(
            out.stdout.matches(line).count(),
            ranks,
            "every rank must print {line:?}\n--- stdout ---\n{}",
            out.stdout
        );
    }
}

#[test]
fn broadcast_on_1_rank() {
    launch(1);
}

#[test]
fn broadcast_on_3_ranks() {
    launch(3);
}
