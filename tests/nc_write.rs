//! Writing NetCDF-4 files (`Dataset::to_netcdf`): values, coordinates (times in
//! two calendars, text), attributes and NaN come back through `open_dataset`;
//! `ncdump` (netCDF-C, from Debian's netcdf-bin) reads the files; a failed
//! write leaves nothing behind and an existing file unchanged; and under
//! `mpirun -n 1..4` every rank writes its own chunks into the same file as one
//! process writes.

mod util;

use chunkwise::comm::{Comm, MpiComm};
use chunkwise::dataset::time::{Calendar, DateTime};
use chunkwise::dataset::{
    open_dataset, AttrValue, Attrs, Coord, CoordValues, Coords, DataArray, Dataset, OpenOptions,
    WriteOptions,
};
use chunkwise::prelude::*;
use chunkwise::session::{Config, Session};
use ndarray::{ArrayD, IxDyn};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::rc::Rc;

/// A fresh directory for one test.
fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("chunkwise-nc-write-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Values with a NaN, a pattern no chunking can fake.
fn values(shape: &[usize], nan_at: Option<usize>) -> ArrayD<f64> {
    let n: usize = shape.iter().product();
    let mut v: Vec<f64> = (0..n)
        .map(|i| (i as f64 * 0.37).sin() * 10.0 + i as f64)
        .collect();
    if let Some(i) = nan_at {
        v[i] = f64::NAN;
    }
    ArrayD::from_shape_vec(IxDyn(shape), v).unwrap()
}

fn days(cal: Calendar, dates: &[(i32, u32, u32)]) -> CoordValues {
    CoordValues::Time(
        dates
            .iter()
            .map(|&(y, m, d)| DateTime::from_ymd(cal, y, m, d).unwrap())
            .collect(),
        cal,
    )
}

/// The dataset written by the tests: float32 (with NaN), float64 and int32
/// data variables over a standard-calendar time, float and integer
/// coordinates, a text coordinate `season`, attributes of text and numbers.
fn sample() -> Dataset {
    let (nt, ny, nx) = (6, 4, 5);
    let time = days(
        Calendar::Standard,
        &[
            (2000, 1, 1),
            (2000, 1, 2),
            (2000, 2, 28),
            (2000, 2, 29),
            (2000, 3, 1),
            (2001, 12, 31),
        ],
    );
    let mut coords = Coords::default();
    coords.insert("time", Coord::new("time", time));
    let mut lat = Coord::new("lat", CoordValues::Float(vec![75.0, 72.5, 70.0, 67.5]));
    lat.attrs
        .insert("units", AttrValue::Text("degrees_north".into()));
    coords.insert("lat", lat);
    coords.insert(
        "lon",
        Coord::new("lon", CoordValues::Int(vec![200, 202, 204, 206, 208])),
    );
    let air = from_ndarray(
        &values(&[nt, ny, nx], Some(7)).mapv(|x| x as f32),
        vec![4, 3, 2].as_slice(),
    )
    .unwrap();
    let air = DataArray::new(
        air,
        &["time", "lat", "lon"],
        coords.restricted_to(&["time".into(), "lat".into(), "lon".into()]),
    )
    .unwrap()
    .with_attrs({
        let mut a = Attrs::new();
        a.insert("units", AttrValue::Text("degK".into()));
        a.insert("long_name", AttrValue::Text("air temperature, °K".into()));
        a.insert("valid_range", AttrValue::Float(vec![150.0, 350.5]));
        a.insert("level", AttrValue::Int(vec![1000]));
        a
    });
    let prec = from_ndarray(&values(&[ny, nx], None), 2).unwrap();
    let prec = DataArray::new(prec, &["lat", "lon"], Coords::default()).unwrap();
    let count = from_ndarray(&values(&[nt], None).mapv(|x| x as i32), 4).unwrap();
    let count = DataArray::new(count, &["time"], Coords::default()).unwrap();

    let seasons: Vec<String> = ["DJF", "MAM", "JJA", "SON"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let clim = from_ndarray(&values(&[4, ny], Some(5)), vec![1, 4].as_slice()).unwrap();
    let mut sc = Coords::default();
    sc.insert("season", Coord::new("season", CoordValues::Text(seasons)));
    let clim = DataArray::new(clim, &["season", "lat"], sc).unwrap();

    let mut attrs = Attrs::new();
    attrs.insert("title", AttrValue::Text("chunkwise round trip".into()));
    attrs.insert("version", AttrValue::Int(vec![3]));
    Dataset::new(
        vec![
            ("air".into(), air),
            ("prec".into(), prec),
            ("count".into(), count),
            ("clim".into(), clim),
        ],
        Coords::default(),
        attrs,
    )
    .unwrap()
}

/// A dataset with a noleap time axis (no Feb 29; Feb 28 is followed by Mar 1).
fn noleap() -> Dataset {
    let time = days(
        Calendar::NoLeap,
        &[
            (2001, 2, 27),
            (2001, 2, 28),
            (2001, 3, 1),
            (2004, 2, 28),
            (2004, 3, 1),
        ],
    );
    let mut coords = Coords::default();
    coords.insert("time", Coord::new("time", time));
    let v = from_ndarray(&values(&[5], Some(2)), 2).unwrap();
    let da = DataArray::new(v, &["time"], coords)
        .unwrap()
        .with_name("tas");
    Dataset::new(vec![("tas".into(), da)], Coords::default(), Attrs::new()).unwrap()
}

fn local() -> Session {
    Session::new(Config {
        threads: 2,
        memory_limit: 1 << 30,
        shuffle_seed: None,
    })
    .unwrap()
}

fn computed(a: &Array, s: &Session) -> ArrayD<f64> {
    a.compute_with(s).unwrap().to_f64()
}

fn same(a: &ArrayD<f64>, b: &ArrayD<f64>) -> bool {
    a.shape() == b.shape()
        && a.iter()
            .zip(b.iter())
            .all(|(x, y)| x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()))
}

/// `got` has the variables, dims, dtypes, values and coordinates of `want`.
fn assert_round_trip(want: &Dataset, got: &Dataset, s: &Session) {
    for name in want.data_vars() {
        let w = want.get(name).unwrap();
        let g = got
            .get(name)
            .unwrap_or_else(|e| panic!("`{name}` not read back: {e}"));
        assert_eq!(g.dims(), w.dims(), "{name}");
        assert_eq!(g.data().dtype(), w.data().dtype(), "{name}");
        let (wv, gv) = (computed(w.data(), s), computed(g.data(), s));
        assert!(same(&wv, &gv), "{name}: wrote\n{wv}\nread\n{gv}");
        for (k, a) in w.attrs().iter().map(|a| (&a.name, &a.value)) {
            assert_eq!(g.attrs().get(k), Some(a), "{name}: attribute {k}");
        }
    }
    for (name, c) in want.coords().iter() {
        let g = got
            .coords()
            .get(name)
            .unwrap_or_else(|| panic!("no coordinate `{name}`"));
        assert_eq!(g.dims, c.dims, "{name}");
        assert_eq!(g.values, c.values, "coordinate `{name}`");
    }
    for a in want.attrs() {
        assert_eq!(
            got.attrs().get(&a.name),
            Some(&a.value),
            "global attribute {}",
            a.name
        );
    }
}

fn ncdump_h(path: &Path) -> String {
    let out = Command::new("ncdump")
        .arg("-h")
        .arg(path)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run `ncdump` ({e}): these tests need netCDF-C's ncdump on PATH; \
                 install it with scripts/install-deps.sh (Debian package netcdf-bin)"
            )
        });
    assert!(
        out.status.success(),
        "ncdump -h {} failed:\n{}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Files in `dir` (names), sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn round_trip_through_open_dataset() {
    let s = local();
    let dir = scratch("round-trip");
    for (i, ds) in [sample(), noleap()].iter().enumerate() {
        for compression in [None, Some(4)] {
            let p = dir.join(format!("out-{i}-{compression:?}.nc"));
            let opts = WriteOptions {
                compression,
                chunks: None,
            };
            ds.to_netcdf_with(&s, &p, &opts).unwrap();
            let back = open_dataset(&p, &OpenOptions::default()).unwrap();
            assert_round_trip(ds, &back, &s);
        }
    }
    assert_eq!(
        listing(&dir).len(),
        4,
        "only the written files: {:?}",
        listing(&dir)
    );
}

#[test]
fn file_chunks_and_compression_are_as_asked() {
    let s = local();
    let dir = scratch("chunks");
    let p = dir.join("c.nc");
    let opts = WriteOptions {
        compression: Some(5),
        chunks: Some(vec![("time".into(), 5)]),
    };
    sample().to_netcdf_with(&s, &p, &opts).unwrap();
    let f = chunkwise::io::NcFile::open(&p).unwrap();
    assert_eq!(f.var("air").unwrap().chunks, Some(vec![5, 3, 2]));
    let header = Command::new("ncdump")
        .args(["-h", "-s"])
        .arg(&p)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&header.stdout);
    assert!(text.contains("air:_DeflateLevel = 5"), "{text}");
    assert!(text.contains("air:_Shuffle = \"true\""), "{text}");
    assert!(text.contains("air:_ChunkSizes = 5, 3, 2"), "{text}");
    let back = open_dataset(&p, &OpenOptions::default()).unwrap();
    assert_round_trip(&sample(), &back, &s);
}

#[test]
fn ncdump_reads_the_written_file() {
    let s = local();
    let dir = scratch("ncdump");
    let p = dir.join("sample.nc");
    sample()
        .to_netcdf_with(&s, &p, &WriteOptions::default())
        .unwrap();
    let h = ncdump_h(&p);
    for want in [
        "time = 6 ;",
        "lat = 4 ;",
        "lon = 5 ;",
        "season = 4 ;",
        "float air(time, lat, lon) ;",
        "air:_FillValue = NaNf ;",
        "air:units = \"degK\" ;",
        "air:valid_range = 150., 350.5 ;",
        "air:level = 1000 ;",
        "double prec(lat, lon) ;",
        "int count(time) ;",
        "double clim(season, lat) ;",
        "string season(season) ;",
        "int64 time(time) ;",
        "time:units = \"days since 2000-01-01 00:00:00\" ;",
        "time:calendar = \"standard\" ;",
        "lat:units = \"degrees_north\" ;",
        ":title = \"chunkwise round trip\" ;",
        ":version = 3 ;",
    ] {
        assert!(h.contains(want), "ncdump -h lacks {want:?}:\n{h}");
    }
    // The values too: netCDF-C reads the coordinates and the data.
    let out = Command::new("ncdump")
        .args(["-v", "season,time,count"])
        .arg(&p)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("season = \"DJF\", \"MAM\", \"JJA\", \"SON\" ;"),
        "{text}"
    );
    assert!(text.contains("time = 0, 1, 58, 59, 60, 730 ;"), "{text}");
    let count: Vec<String> = values(&[6], None)
        .iter()
        .map(|&x| (x as i32).to_string())
        .collect();
    let count = format!("count = {} ;", count.join(", "));
    assert!(text.contains(&count), "{count:?} not in\n{text}");

    let q = dir.join("noleap.nc");
    noleap()
        .to_netcdf_with(&s, &q, &WriteOptions::default())
        .unwrap();
    let h = ncdump_h(&q);
    assert!(h.contains("time:calendar = \"noleap\" ;"), "{h}");
    let out = Command::new("ncdump")
        .args(["-v", "time"])
        .arg(&q)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    // 2001-02-27 + 1, + 2 (no Feb 29 anywhere), 2004-02-28 = 3 * 365 + 1 days on.
    assert!(text.contains("time = 0, 1, 2, 1096, 1097 ;"), "{text}");
}

#[test]
fn data_array_writes_as_a_one_variable_dataset() {
    let s = local();
    let dir = scratch("dataarray");
    let ds = sample();
    let air = ds.get("air").unwrap().with_name("air");
    let p = dir.join("air.nc");
    air.to_netcdf_with(&s, &p, &WriteOptions::default())
        .unwrap();
    let back = open_dataset(&p, &OpenOptions::default()).unwrap();
    assert_eq!(back.data_vars(), ["air"]);
    assert!(same(
        &computed(ds.get("air").unwrap().data(), &s),
        &computed(back.get("air").unwrap().data(), &s)
    ));
}

#[test]
fn scalar_and_auxiliary_coordinates_come_back_as_coordinates() {
    // What `clim.sel(season="JJA")` leaves: a scalar text coordinate; and a
    // coordinate along a dimension that is not its own.
    let s = local();
    let dir = scratch("aux");
    let mut coords = Coords::default();
    coords.insert(
        "x",
        Coord::new("x", CoordValues::Float(vec![0.5, 1.5, 2.5])),
    );
    coords.insert(
        "season",
        Coord {
            dims: vec![],
            values: CoordValues::Text(vec!["JJA".into()]),
            attrs: Attrs::new(),
        },
    );
    coords.insert(
        "height",
        Coord {
            dims: vec![],
            values: CoordValues::Float(vec![2.0]),
            attrs: Attrs::new(),
        },
    );
    coords.insert(
        "label",
        Coord {
            dims: vec!["x".into()],
            values: CoordValues::Int(vec![7, 8, 9]),
            attrs: Attrs::new(),
        },
    );
    let v = from_ndarray(&values(&[3], None), 2).unwrap();
    let da = DataArray::new(v, &["x"], coords).unwrap().with_name("t");
    let p = dir.join("aux.nc");
    da.to_netcdf_with(&s, &p, &WriteOptions::default()).unwrap();
    let h = ncdump_h(&p);
    assert!(h.contains("string season ;"), "{h}");
    assert!(
        h.contains("t:coordinates = \"season height label\" ;"),
        "{h}"
    );
    let back = open_dataset(&p, &OpenOptions::default()).unwrap();
    assert_eq!(back.data_vars(), ["t"]);
    let want = Dataset::new(vec![("t".into(), da)], Coords::default(), Attrs::new()).unwrap();
    assert_round_trip(&want, &back, &s);
    assert!(back.get("t").unwrap().attrs().get("coordinates").is_none());
}

/// `sample()` with `air` failing on one chunk when computed.
fn failing_sample(bad_chunk: Vec<usize>) -> Dataset {
    let ds = sample();
    let air = ds.get("air").unwrap();
    let bad = air.data().map_blocks(
        move |c, idx| {
            if idx == bad_chunk.as_slice() {
                Err(chunkwise::Error::plan("failing on purpose"))
            } else {
                Ok(c.clone())
            }
        },
        DType::F32,
    );
    let mut out = ds.clone();
    let da = DataArray::new(bad, &["time", "lat", "lon"], air.coords().clone())
        .unwrap()
        .with_attrs(air.attrs().clone());
    out.insert("air", &da).unwrap();
    out
}

#[test]
fn a_failed_write_leaves_no_file_and_an_existing_file_unchanged() {
    let s = local();
    let dir = scratch("atomic");
    let p = dir.join("out.nc");
    let err = failing_sample(vec![1, 0, 1])
        .to_netcdf_with(&s, &p, &WriteOptions::default())
        .expect_err("the failing chunk must fail the write");
    let msg = err.to_string();
    assert!(msg.contains("failing on purpose"), "{msg}");
    assert!(msg.contains("out.nc") && msg.contains("`air`"), "{msg}");
    assert!(listing(&dir).is_empty(), "left behind: {:?}", listing(&dir));

    // An existing file under the name stays as it was.
    std::fs::write(&p, b"the previous contents").unwrap();
    failing_sample(vec![0, 1, 2])
        .to_netcdf_with(&s, &p, &WriteOptions::default())
        .expect_err("the failing chunk must fail the write");
    assert_eq!(std::fs::read(&p).unwrap(), b"the previous contents");
    assert_eq!(listing(&dir), ["out.nc"]);

    // A successful write replaces it.
    sample()
        .to_netcdf_with(&s, &p, &WriteOptions::default())
        .unwrap();
    let back = open_dataset(&p, &OpenOptions::default()).unwrap();
    assert_round_trip(&sample(), &back, &s);
    assert_eq!(listing(&dir), ["out.nc"]);
}

#[test]
fn a_write_into_a_missing_directory_names_the_file() {
    let s = local();
    let p = scratch("missing-dir").join("no/such/dir/out.nc");
    let err = sample()
        .to_netcdf_with(&s, &p, &WriteOptions::default())
        .expect_err("no directory to write in");
    assert!(err.to_string().contains("out.nc"), "{err}");
}

// --- under MPI ---------------------------------------------------------------

const WORKER_ENV: &str = "CHUNKWISE_NC_WRITE_WORKER";

/// Run the worker on `ranks` ranks writing into a fresh directory; check it
/// wrote what one process writes, and that its failed write left nothing.
fn launch(ranks: usize) {
    let dir = scratch(&format!("mpi-{ranks}"));
    let spec = format!("{ranks}:{}", dir.display());
    let out = util::mpirun_worker(ranks, "nc_write_worker", &[(WORKER_ENV, spec.as_str())]);
    out.assert_success();
    for r in 0..ranks {
        let line = format!("nc_write worker done on rank {r} of {ranks}");
        assert!(
            out.stdout.contains(&line),
            "missing {line:?}\n{}\n{}",
            out.stdout,
            out.stderr
        );
    }
    let errors = util::lines_starting_with(&out.stdout, "write error: ");
    assert_eq!(
        errors.len(),
        ranks,
        "one error line per rank:\n{}",
        out.stdout
    );
    assert!(errors.iter().all(|e| *e == errors[0]), "{errors:#?}");
    assert!(
        errors[0].contains("failing on purpose") && errors[0].contains("fail.nc"),
        "{}",
        errors[0]
    );
    assert_eq!(listing(&dir), ["noleap.nc", "sample.nc"], "files left");

    // The same file as one process writes: values, coordinates, attributes.
    let s = local();
    let one = scratch(&format!("mpi-{ranks}-reference")).join("sample.nc");
    sample()
        .to_netcdf_with(&s, &one, &WriteOptions::default())
        .unwrap();
    let reference = open_dataset(&one, &OpenOptions::default()).unwrap();
    let got = open_dataset(dir.join("sample.nc"), &OpenOptions::default()).unwrap();
    assert_round_trip(&reference, &got, &s);
    assert_round_trip(&sample(), &got, &s);
    let got = open_dataset(dir.join("noleap.nc"), &OpenOptions::default()).unwrap();
    assert_round_trip(&noleap(), &got, &s);
    ncdump_h(&dir.join("sample.nc"));
}

#[test]
fn same_file_on_1_rank() {
    launch(1);
}

#[test]
fn same_file_on_2_ranks() {
    launch(2);
}

#[test]
fn same_file_on_3_ranks() {
    launch(3);
}

#[test]
fn same_file_on_4_ranks() {
    launch(4);
}

#[test]
#[ignore = "one rank of a job: launched under mpirun by the same_file_* tests"]
fn nc_write_worker() {
    let Ok(spec) = std::env::var(WORKER_ENV) else {
        panic!("run through the same_file_* tests, which set {WORKER_ENV}");
    };
    let (n, dir) = spec.split_once(':').expect("ranks:dir");
    let n: usize = n.parse().expect("rank count");
    let dir = PathBuf::from(dir);
    let comm = Rc::new(MpiComm::init().expect("MPI starts"));
    let r = comm.rank();
    assert_eq!(comm.size(), n);
    let config = Config {
        threads: 1,
        memory_limit: 1 << 30,
        shuffle_seed: None,
    };
    // Library mode: the installed session is what to_netcdf uses.
    Session::with_comm(config, comm.clone()).unwrap().install();
    sample()
        .to_netcdf(
            dir.join("sample.nc"),
            &WriteOptions {
                compression: Some(3),
                chunks: None,
            },
        )
        .unwrap_or_else(|e| panic!("rank {r} of {n}: {e}"));
    noleap()
        .to_netcdf(dir.join("noleap.nc"), &WriteOptions::default())
        .unwrap_or_else(|e| panic!("rank {r} of {n}: {e}"));
    // The last chunk of `air` (owned by the last rank) fails.
    let err = failing_sample(vec![1, 1, 2])
        .to_netcdf(dir.join("fail.nc"), &WriteOptions::default())
        .expect_err("the injected failure must fail the write on every rank");
    println!("\nwrite error: {err}");
    comm.barrier().unwrap();
    println!("\nnc_write worker done on rank {r} of {n}");
}

#[test]
fn float32_coordinates_stay_float32() {
    // xarray keeps a float32 `lat` float32 through open, compute and write.
    let s = local();
    let dir = scratch("float32-coord");
    let mut ds = sample();
    let air = ds.get("air").unwrap();
    let lat = air.coord("lat").unwrap().values.floats().unwrap();
    let lat32 = CoordValues::Float32(lat.iter().map(|&x| x as f32).collect());
    let mut coords = air.coords().clone();
    coords.insert("lat", Coord::new("lat", lat32.clone()));
    let dims: Vec<&str> = air.dims().iter().map(String::as_str).collect();
    let air = DataArray::new(air.data().clone(), &dims, coords)
        .unwrap()
        .with_name("air");
    ds = Dataset::new(vec![("air".into(), air)], Coords::default(), Attrs::new()).unwrap();
    let p = dir.join("f32.nc");
    ds.to_netcdf_with(&s, &p, &WriteOptions::default()).unwrap();
    assert!(ncdump_h(&p).contains("float lat(lat)"), "{}", ncdump_h(&p));
    let back = open_dataset(&p, &OpenOptions::default()).unwrap();
    assert_eq!(back.coords().get("lat").unwrap().values, lat32);
    // Through a reduction and a selection too.
    let m = back.get("air").unwrap().mean(&["time"]).unwrap();
    assert_eq!(m.coord("lat").unwrap().values, lat32);
}
