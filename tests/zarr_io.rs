//! Zarr through `zarrs`: the stores in tests/fixtures/data/zarr (written by
//! zarr-python and xarray) read against the values zarr/xarray computed
//! (expected/zarr.json); `to_zarr` round trips through `open_zarr`, is
//! atomic, and writes the same store under `mpirun -n 1..4` as in one
//! process.

mod util;

use chunkwise::comm::{Comm, MpiComm};
use chunkwise::dataset::time::{Calendar, DateTime};
use chunkwise::dataset::{
    open_zarr, AttrValue, Attrs, Coord, CoordValues, Coords, DataArray, Dataset, OpenOptions,
    ZarrWriteOptions,
};
use chunkwise::io::{StoredType, ZarrStore, ZarrVariable};
use chunkwise::kernel::{Chunk, ChunkSource};
use chunkwise::prelude::*;
use chunkwise::session::{Config, Session};
use ndarray::{ArrayD, IxDyn};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::rc::Rc;

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/data")
}

fn expected() -> Value {
    let text = std::fs::read_to_string(data_dir().join("expected/zarr.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn entry<'a>(all: &'a Value, key: &str) -> &'a Value {
    all["entries"]
        .get(key)
        .unwrap_or_else(|| panic!("no entry {key} in zarr.json"))
}

/// JSON numbers, with "nan"/"inf"/"-inf" as the fixtures write them.
fn numbers(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| match x {
            Value::Number(n) => n.as_f64().unwrap(),
            Value::String(s) if s == "nan" => f64::NAN,
            Value::String(s) if s == "inf" => f64::INFINITY,
            Value::String(s) if s == "-inf" => f64::NEG_INFINITY,
            other => panic!("not a number: {other}"),
        })
        .collect()
}

fn chunk_f64(c: &Chunk) -> Vec<f64> {
    match c {
        Chunk::Bool(a) => a.iter().map(|&x| f64::from(u8::from(x))).collect(),
        Chunk::I32(a) => a.iter().map(|&x| f64::from(x)).collect(),
        Chunk::I64(a) => a.iter().map(|&x| x as f64).collect(),
        Chunk::F32(a) => a.iter().map(|&x| f64::from(x)).collect(),
        Chunk::F64(a) => a.iter().copied().collect(),
    }
}

fn same_bits(got: &[f64], want: &[f64]) -> bool {
    got.len() == want.len()
        && got
            .iter()
            .zip(want)
            .all(|(a, b)| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()))
}

/// One plain array of a fixture store: shape, stored type, values read whole
/// and by an unaligned region, against zarr-python's.
fn check_plain(store: &str, name: &str, stored: StoredType) {
    let all = expected();
    let key = format!("{}/{name}", if store.contains("v3") { "g3" } else { "g2" });
    let e = entry(&all, &key);
    let path = data_dir().join("zarr").join(store);
    let v = ZarrVariable::open(&path, name).unwrap();
    assert_eq!(v.stored_type(), stored, "{key}");
    let shape: Vec<usize> = e["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect();
    assert_eq!(v.shape(), shape.as_slice(), "{key}");
    assert_eq!(v.dtype(), stored.dtype(), "{key}");
    let want = numbers(&e["values"]);
    let got = chunk_f64(&v.read_all(false).unwrap());
    assert!(
        same_bits(&got, &want),
        "{key}: read\n{got:?}\nwant\n{want:?}"
    );
    // A region across chunk boundaries.
    let part = chunk_f64(&v.read(&[3, 4], &[5, 7]).unwrap());
    let want_part: Vec<f64> = (3..8)
        .flat_map(|i| (4..11).map(move |j| (i, j)))
        .map(|(i, j)| want[i * shape[1] + j])
        .collect();
    assert!(same_bits(&part, &want_part), "{key}: region");
    // Attributes as zarr-python shows them.
    let attrs = entry(&all, &format!("{key}.attrs"))["value"]
        .as_object()
        .unwrap();
    assert_eq!(v.attrs().len(), attrs.len(), "{key}: {:?}", v.attrs());
    for (k, val) in attrs {
        assert_eq!(
            v.attrs().get(k).map(|a| a.to_string()),
            val.as_str().map(str::to_string),
            "{key}: attribute {k}"
        );
    }
}

#[test]
fn v3_gzip_float64_with_nan_fill_and_dimension_names() {
    check_plain("arrays_v3.zarr", "gzip_f8", StoredType::F64);
    let v = ZarrVariable::open(data_dir().join("zarr/arrays_v3.zarr"), "gzip_f8").unwrap();
    assert_eq!(v.dims(), ["y", "x"]);
    assert_eq!(v.file_chunks(), Some(vec![4, 5]));
    assert!(v.fill_value().unwrap().is_nan());
}

#[test]
fn v3_zstd_big_endian_int16() {
    check_plain("arrays_v3.zarr", "zstd_i2_be", StoredType::I16);
    let v = ZarrVariable::open(data_dir().join("zarr/arrays_v3.zarr"), "zstd_i2_be").unwrap();
    assert_eq!(v.dims(), ["dim_0", "dim_1"]);
    assert_eq!(v.fill_value(), Some(-1.0));
}

#[test]
fn v3_blosc_sparse_float32_reads_the_fill_value_where_no_chunk_was_written() {
    check_plain("arrays_v3.zarr", "blosc_sparse_f4", StoredType::F32);
}

#[test]
fn v3_sharded_uint8() {
    check_plain("arrays_v3.zarr", "sharded_u1", StoredType::U8);
    let v = ZarrVariable::open(data_dir().join("zarr/arrays_v3.zarr"), "sharded_u1").unwrap();
    // The shard is the unit a writer owns.
    assert_eq!(v.file_chunks(), Some(vec![8, 10]));
}

#[test]
fn v2_blosc_zlib_big_endian_raw_and_fortran_order() {
    check_plain("arrays_v2.zarr", "blosc_f8", StoredType::F64);
    check_plain("arrays_v2.zarr", "zlib_i4_be", StoredType::I32);
    check_plain("arrays_v2.zarr", "raw_u2", StoredType::U16);
    check_plain("arrays_v2.zarr", "forder_f4", StoredType::F32);
}

#[test]
fn group_attributes_and_listing() {
    let all = expected();
    for (store, key, format) in [("arrays_v3.zarr", "g3", 3), ("arrays_v2.zarr", "g2", 2)] {
        let z = ZarrStore::open(data_dir().join("zarr").join(store)).unwrap();
        assert_eq!(z.zarr_format(), format);
        let want = entry(&all, &format!("{key}.attrs"))["value"]["about"]
            .as_str()
            .unwrap();
        assert_eq!(
            z.attrs().get("about").and_then(AttrValue::as_text),
            Some(want)
        );
        let names = z.array_names().unwrap();
        assert_eq!(names.len(), 4, "{names:?}");
    }
}

#[test]
fn missing_store_and_array_name_the_path() {
    let err = ZarrStore::open(data_dir().join("zarr/none.zarr")).unwrap_err();
    assert!(matches!(err, chunkwise::Error::Io(_)), "{err:?}");
    assert!(err.to_string().contains("none.zarr"), "{err}");
    let err = ZarrVariable::open(data_dir().join("zarr/arrays_v3.zarr"), "nope").unwrap_err();
    assert!(matches!(err, chunkwise::Error::Io(_)), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("arrays_v3.zarr") && msg.contains("`nope`"),
        "{msg}"
    );
}

/// The xarray-written stores, decoded as `xr.open_dataset(engine='zarr')`.
fn check_xarray_store(store: &str, key: &str) {
    let all = expected();
    let e = |k: &str| entry(&all, &format!("{key}.{k}"));
    let ds = open_zarr(data_dir().join("zarr").join(store), &OpenOptions::default()).unwrap();
    let sizes: Vec<(String, usize)> = e("sizes")["value"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap() as usize))
        .collect();
    let mut got_sizes = ds.sizes();
    got_sizes.sort();
    let mut want_sizes = sizes;
    want_sizes.sort();
    assert_eq!(got_sizes, want_sizes, "{key}");
    for (k, v) in e("attrs")["value"].as_object().unwrap() {
        assert_eq!(
            ds.attrs().get(k).and_then(AttrValue::as_text),
            v.as_str(),
            "{key}: global attribute {k}"
        );
    }
    let air = ds.get("air").unwrap();
    assert_eq!(air.dims(), ["time", "lat", "lon"]);
    assert_eq!(e("air.dtype")["value"], "float64");
    assert_eq!(air.data().dtype(), DType::F64, "{key}");
    let want_attrs = e("air.attrs")["value"].as_object().unwrap();
    assert_eq!(
        air.attrs().len(),
        want_attrs.len(),
        "{key}: {:?}",
        air.attrs()
    );
    for (k, v) in want_attrs {
        assert_eq!(air.attrs().get(k).and_then(AttrValue::as_text), v.as_str());
    }
    // Chunks are the store's.
    assert_eq!(air.data().chunks()[0], vec![31, 29], "{key}");
    // Times decoded.
    let times: Vec<String> = e("time")["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    match &ds.coords().get("time").unwrap().values {
        CoordValues::Time(t, cal) => {
            assert_eq!(*cal, Calendar::Standard);
            let got: Vec<String> = t.iter().map(|d| d.to_string()).collect();
            assert_eq!(got, times, "{key}");
        }
        other => panic!("{key}: time not decoded: {other:?}"),
    }
    let lat = numbers(&e("lat")["values"]);
    let got = &ds.coords().get("lat").unwrap().values;
    assert_eq!(got.floats().as_ref(), Some(&lat), "{key}: lat {got:?}");
    // Values: day 0, day 59, NaN count, sum, mean over time.
    let values = air.values().unwrap();
    let flat: Vec<f64> = values.iter().copied().collect();
    let day0 = numbers(&e("air.isel(time=0)")["values"]);
    let day59 = numbers(&e("air.isel(time=59)")["values"]);
    assert!(same_bits(&flat[..120], &day0), "{key}: day 0");
    assert!(same_bits(&flat[59 * 120..], &day59), "{key}: day 59");
    let nans = flat.iter().filter(|x| x.is_nan()).count();
    assert_eq!(nans as u64, e("air.nan_count")["value"].as_u64().unwrap());
    let sum: f64 = flat.iter().filter(|x| !x.is_nan()).sum();
    let want = e("air.sum64")["value"].as_f64().unwrap();
    assert!(
        (sum - want).abs() <= 1e-9 * want.abs(),
        "{key}: {sum} vs {want}"
    );
    let mean = air.mean(&["time"]).unwrap().values().unwrap();
    let want = numbers(&e("air.mean(time)")["values"]);
    for (g, w) in mean.iter().zip(&want) {
        assert!((g - w).abs() <= 1e-12 * w.abs(), "{key}: mean {g} vs {w}");
    }
}

#[test]
fn xarray_v3_store_decodes_like_xarray() {
    check_xarray_store("v3.zarr", "z3");
    // The raw stored int16 values, undecoded.
    let all = expected();
    let raw = ZarrVariable::open(data_dir().join("zarr/v3.zarr"), "air").unwrap();
    let got = chunk_f64(&raw.read(&[0, 0, 0], &[1, 10, 12]).unwrap());
    assert!(same_bits(
        &got,
        &numbers(&entry(&all, "z3.air.raw")["values"])
    ));
}

#[test]
fn xarray_v2_store_decodes_like_xarray() {
    check_xarray_store("v2.zarr", "z2");
}

// --- writing -----------------------------------------------------------------

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("chunkwise-zarr-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

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

/// float32 with NaN (irregular chunks), float64, int32 and bool variables
/// over a noleap time, float and integer coordinates, attributes.
fn sample() -> Dataset {
    let (nt, ny, nx) = (6, 4, 5);
    let cal = Calendar::NoLeap;
    let time = CoordValues::Time(
        [
            (2001, 2, 27),
            (2001, 2, 28),
            (2001, 3, 1),
            (2004, 2, 28),
            (2004, 3, 1),
            (2004, 12, 31),
        ]
        .iter()
        .map(|&(y, m, d)| DateTime::from_ymd(cal, y, m, d).unwrap())
        .collect(),
        cal,
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
    // Irregular chunks along time: to_zarr must make them regular.
    let air = air
        .rechunk(ChunkSpec::PerDim(vec![
            DimChunks::Explicit(vec![1, 4, 1]),
            DimChunks::Size(3),
            DimChunks::Size(2),
        ]))
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
        a.insert("valid_range", AttrValue::Float(vec![150.0, 350.5]));
        a.insert("level", AttrValue::Int(vec![1000]));
        a
    });
    let prec = from_ndarray(&values(&[ny, nx], None), 2).unwrap();
    let prec = DataArray::new(prec, &["lat", "lon"], Coords::default()).unwrap();
    let count = from_ndarray(&values(&[nt], None).mapv(|x| x as i32), 4).unwrap();
    let count = DataArray::new(count, &["time"], Coords::default()).unwrap();
    let wet = from_ndarray(&values(&[ny, nx], None).mapv(|x| x > 8.0), 3).unwrap();
    let wet = DataArray::new(wet, &["lat", "lon"], Coords::default()).unwrap();
    let mut attrs = Attrs::new();
    attrs.insert("title", AttrValue::Text("chunkwise zarr round trip".into()));
    attrs.insert("version", AttrValue::Int(vec![3]));
    Dataset::new(
        vec![
            ("air".into(), air),
            ("count".into(), count),
            ("prec".into(), prec),
            ("wet".into(), wet),
        ],
        Coords::default(),
        attrs,
    )
    .unwrap()
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

fn assert_round_trip(want: &Dataset, got: &Dataset, s: &Session) {
    let mut names: Vec<&str> = got.data_vars();
    names.sort();
    let mut want_names = want.data_vars();
    want_names.sort();
    assert_eq!(names, want_names);
    for name in want.data_vars() {
        let w = want.get(name).unwrap();
        let g = got.get(name).unwrap();
        assert_eq!(g.dims(), w.dims(), "{name}");
        assert_eq!(g.data().dtype(), w.data().dtype(), "{name}");
        let (wv, gv) = (computed(w.data(), s), computed(g.data(), s));
        let (wv, gv): (Vec<f64>, Vec<f64>) =
            (wv.iter().copied().collect(), gv.iter().copied().collect());
        assert!(same_bits(&gv, &wv), "{name}: wrote\n{wv:?}\nread\n{gv:?}");
        assert_eq!(g.attrs(), w.attrs(), "{name}: attributes");
    }
    for (name, c) in want.coords().iter() {
        let g = got
            .coords()
            .get(name)
            .unwrap_or_else(|| panic!("no `{name}`"));
        assert_eq!(g.dims, c.dims, "{name}");
        assert_eq!(g.values, c.values, "coordinate `{name}`");
        assert_eq!(g.attrs, c.attrs, "coordinate `{name}` attributes");
    }
    assert_eq!(got.attrs(), want.attrs());
}

fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn round_trip_through_open_zarr() {
    let s = local();
    let dir = scratch("round-trip");
    for level in [None, Some(3)] {
        let p = dir.join(format!("out-{level:?}.zarr"));
        let opts = ZarrWriteOptions {
            zstd_level: level,
            chunks: None,
        };
        sample().to_zarr_with(&s, &p, &opts).unwrap();
        let back = open_zarr(&p, &OpenOptions::default()).unwrap();
        assert_round_trip(&sample(), &back, &s);
        // Regular chunks: the irregular time chunks became 4s.
        assert_eq!(back.get("air").unwrap().data().chunks()[0], vec![4, 2]);
        let meta: Value =
            serde_json::from_str(&std::fs::read_to_string(p.join("air/zarr.json")).unwrap())
                .unwrap();
        assert_eq!(
            meta["dimension_names"],
            serde_json::json!(["time", "lat", "lon"])
        );
        assert_eq!(meta["fill_value"], "NaN");
        assert_eq!(meta["attributes"]["_FillValue"], "AAAAAAAA+H8=");
        let time: Value =
            serde_json::from_str(&std::fs::read_to_string(p.join("time/zarr.json")).unwrap())
                .unwrap();
        assert_eq!(
            time["attributes"]["units"],
            "days since 2001-02-27 00:00:00"
        );
        assert_eq!(time["attributes"]["calendar"], "noleap");
        let root: Value =
            serde_json::from_str(&std::fs::read_to_string(p.join("zarr.json")).unwrap()).unwrap();
        assert_eq!(
            root["consolidated_metadata"]["metadata"]
                .as_object()
                .unwrap()
                .len(),
            7
        );
    }
    // Chunks as asked.
    let p = dir.join("rechunked.zarr");
    let opts = ZarrWriteOptions {
        zstd_level: Some(1),
        chunks: Some(vec![("time".into(), 6), ("lon".into(), 5)]),
    };
    sample().to_zarr_with(&s, &p, &opts).unwrap();
    let back = open_zarr(&p, &OpenOptions::default()).unwrap();
    assert_eq!(
        back.get("air").unwrap().data().chunks(),
        vec![vec![6], vec![3, 1], vec![5]]
    );
    assert_round_trip(&sample(), &back, &s);
}

#[test]
fn data_array_writes_as_a_one_variable_store() {
    let s = local();
    let p = scratch("data-array").join("one.zarr");
    let air = sample().get("air").unwrap();
    air.to_zarr_with(&s, &p, &ZarrWriteOptions::default())
        .unwrap();
    let back = open_zarr(&p, &OpenOptions::default()).unwrap();
    // A named array keeps its name, as in xarray.
    assert_eq!(back.data_vars(), ["air"]);
    // An unnamed one is refused, and nothing is written: xarray's placeholder
    // name starts with `__`, which Zarr v3 reserves.
    let dims: Vec<&str> = air.dims().iter().map(String::as_str).collect();
    let unnamed = DataArray::new(air.data().clone(), &dims, air.coords().clone()).unwrap();
    assert_eq!(unnamed.name(), None);
    let q = scratch("data-array").join("unnamed.zarr");
    let err = unnamed
        .to_zarr_with(&s, &q, &ZarrWriteOptions::default())
        .unwrap_err();
    assert!(matches!(err, chunkwise::Error::Plan(_)), "{err:?}");
    assert!(err.message().contains("with_name"), "{err}");
    assert!(!q.exists());
}

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
fn a_failed_write_leaves_nothing_and_an_existing_store_unchanged() {
    let s = local();
    let dir = scratch("atomic");
    let p = dir.join("out.zarr");
    let err = failing_sample(vec![1, 0, 1])
        .to_zarr_with(&s, &p, &ZarrWriteOptions::default())
        .expect_err("the failing chunk must fail the write");
    let msg = err.to_string();
    assert!(msg.contains("failing on purpose"), "{msg}");
    assert!(msg.contains("out.zarr") && msg.contains("`air`"), "{msg}");
    assert!(listing(&dir).is_empty(), "left behind: {:?}", listing(&dir));

    // A store already there stays as it was on failure, is replaced on success.
    sample()
        .to_zarr_with(&s, &p, &ZarrWriteOptions::default())
        .unwrap();
    let before = std::fs::read(p.join("zarr.json")).unwrap();
    failing_sample(vec![0, 1, 2])
        .to_zarr_with(&s, &p, &ZarrWriteOptions::default())
        .expect_err("the failing chunk must fail the write");
    assert_eq!(std::fs::read(p.join("zarr.json")).unwrap(), before);
    assert_eq!(listing(&dir), ["out.zarr"]);
    let mut other = sample();
    other
        .insert("air2", &sample().get("prec").unwrap())
        .unwrap();
    other
        .to_zarr_with(&s, &p, &ZarrWriteOptions::default())
        .unwrap();
    assert_eq!(listing(&dir), ["out.zarr"]);
    let back = open_zarr(&p, &OpenOptions::default()).unwrap();
    assert_round_trip(&other, &back, &s);
}

/// Regression: zarrs added a `_zarrs` attribute (an object naming itself) to
/// each array's own `zarr.json` but not to the consolidated copy in the root
/// `zarr.json`, so `xr.open_zarr(store, consolidated=False)` showed it on every
/// variable and coordinate (and `open_zarr` here skips object attributes, so
/// the round trip did not see it).
#[test]
fn arrays_metadata_is_the_consolidated_metadata_with_no_zarrs_attribute() {
    let s = local();
    let p = scratch("consolidated").join("out.zarr");
    sample()
        .to_zarr_with(&s, &p, &ZarrWriteOptions::default())
        .unwrap();
    let read = |f: PathBuf| -> Value {
        serde_json::from_str(&std::fs::read_to_string(&f).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", f.display()))
    };
    let root = read(p.join("zarr.json"));
    let consolidated = root["consolidated_metadata"]["metadata"]
        .as_object()
        .unwrap();
    let mut names: Vec<&str> = consolidated.keys().map(String::as_str).collect();
    names.sort();
    assert_eq!(
        names,
        ["air", "count", "lat", "lon", "prec", "time", "wet"],
        "every array is consolidated"
    );
    // What xarray shows as the attributes of each array: those written, plus
    // `_FillValue` for floats and the time encoding.
    let want_attrs: &[(&str, &[&str])] = &[
        ("air", &["_FillValue", "level", "units", "valid_range"]),
        ("count", &[]),
        ("lat", &["_FillValue", "units"]),
        ("lon", &[]),
        ("prec", &["_FillValue"]),
        ("time", &["calendar", "units"]),
        ("wet", &[]),
    ];
    for &(name, want) in want_attrs {
        let own = read(p.join(name).join("zarr.json"));
        assert_eq!(&own, &consolidated[name], "`{name}`: own vs consolidated");
        let mut keys: Vec<&str> = own["attributes"]
            .as_object()
            .map(|a| a.keys().map(String::as_str).collect())
            .unwrap_or_default();
        keys.sort();
        assert_eq!(keys, want, "`{name}`: attributes");
    }
}

#[test]
fn text_coordinates_are_refused_with_a_plan_error() {
    let s = local();
    let dir = scratch("text");
    let v = from_ndarray(&values(&[2], None), 2).unwrap();
    let mut c = Coords::default();
    c.insert(
        "name",
        Coord::new("name", CoordValues::Text(vec!["a".into(), "b".into()])),
    );
    let da = DataArray::new(v, &["name"], c).unwrap().with_name("v");
    let err = da
        .to_zarr_with(&s, dir.join("t.zarr"), &ZarrWriteOptions::default())
        .unwrap_err();
    assert!(matches!(err, chunkwise::Error::Plan(_)), "{err:?}");
    assert!(err.to_string().contains("`name`"), "{err}");
    assert!(listing(&dir).is_empty());
}

// --- under MPI ---------------------------------------------------------------

const WORKER_ENV: &str = "CHUNKWISE_ZARR_WORKER";

fn launch(ranks: usize) {
    let dir = scratch(&format!("mpi-{ranks}"));
    let spec = format!("{ranks}:{}", dir.display());
    let out = util::mpirun_worker(ranks, "zarr_worker", &[(WORKER_ENV, spec.as_str())]);
    out.assert_success();
    for r in 0..ranks {
        let line = format!("zarr worker done on rank {r} of {ranks}");
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
    assert!(errors[0].contains("failing on purpose") && errors[0].contains("fail.zarr"));
    assert_eq!(listing(&dir), ["sample.zarr"], "left behind");
    let s = local();
    let got = open_zarr(dir.join("sample.zarr"), &OpenOptions::default()).unwrap();
    assert_round_trip(&sample(), &got, &s);
}

#[test]
fn same_store_on_1_rank() {
    launch(1);
}

#[test]
fn same_store_on_2_ranks() {
    launch(2);
}

#[test]
fn same_store_on_3_ranks() {
    launch(3);
}

#[test]
fn same_store_on_4_ranks() {
    launch(4);
}

#[test]
#[ignore = "one rank of a job: launched under mpirun by the same_store_* tests"]
fn zarr_worker() {
    let Ok(spec) = std::env::var(WORKER_ENV) else {
        panic!("run through the same_store_* tests, which set {WORKER_ENV}");
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
    Session::with_comm(config, comm.clone()).unwrap().install();
    sample()
        .to_zarr(dir.join("sample.zarr"), &ZarrWriteOptions::default())
        .unwrap_or_else(|e| panic!("rank {r} of {n}: {e}"));
    // The last chunk of `air` (owned by the last rank) fails.
    let err = failing_sample(vec![1, 1, 2])
        .to_zarr(dir.join("fail.zarr"), &ZarrWriteOptions::default())
        .expect_err("the injected failure must fail the write on every rank");
    println!("\nwrite error: {err}");
    comm.barrier().unwrap();
    println!("\nzarr worker done on rank {r} of {n}");
}

#[test]
fn float32_coordinates_stay_float32() {
    let s = local();
    let air = sample().get("air").unwrap();
    let lat = air.coord("lat").unwrap().values.floats().unwrap();
    let lat32 = CoordValues::Float32(lat.iter().map(|&x| x as f32).collect());
    let mut coords = air.coords().clone();
    coords.insert("lat", Coord::new("lat", lat32.clone()));
    let dims: Vec<&str> = air.dims().iter().map(String::as_str).collect();
    let air = DataArray::new(air.data().clone(), &dims, coords)
        .unwrap()
        .with_name("air");
    let p = scratch("float32-coord").join("f32.zarr");
    air.to_zarr_with(&s, &p, &ZarrWriteOptions::default())
        .unwrap();
    let meta: Value =
        serde_json::from_str(&std::fs::read_to_string(p.join("lat/zarr.json")).unwrap()).unwrap();
    assert_eq!(meta["data_type"], "float32", "{meta}");
    let back = open_zarr(&p, &OpenOptions::default()).unwrap();
    assert_eq!(back.coords().get("lat").unwrap().values, lat32);
}
