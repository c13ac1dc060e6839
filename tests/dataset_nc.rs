//! Labelled datasets from NetCDF-4 files written by netCDF4-python, compared
//! with what xarray computes from the same files (tests/fixtures: regenerate
//! with `bash scripts/make-fixtures.sh`).

use chunkwise::dataset::{
    open_dataset, open_mfdataset, AttrValue, Attrs, CoordValues, DataArray, Dataset, Label,
    OpenOptions, Pos, Sel,
};
use serde_json::Value;
use std::path::PathBuf;

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/data")
}

fn expected(file: &str) -> Value {
    let p = data_dir().join("expected").join(file);
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).unwrap()
}

fn entry<'a>(doc: &'a Value, key: &str) -> &'a Value {
    doc["entries"]
        .get(key)
        .unwrap_or_else(|| panic!("no expected entry `{key}`"))
}

fn num(v: &Value) -> f64 {
    match v {
        Value::Number(n) => n.as_f64().unwrap(),
        Value::String(s) if s == "nan" => f64::NAN,
        Value::String(s) if s == "inf" => f64::INFINITY,
        Value::String(s) if s == "-inf" => f64::NEG_INFINITY,
        other => panic!("not a number: {other}"),
    }
}

fn close(a: f64, b: f64, rtol: f64) -> bool {
    close_abs(a, b, rtol, 0.0)
}

fn close_abs(a: f64, b: f64, rtol: f64, atol: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= rtol * b.abs() + atol
}

fn air_small() -> Dataset {
    open_dataset(data_dir().join("nc/air_small.nc"), &OpenOptions::default()).unwrap()
}

/// `da` against an xarray entry: dims, shape, values (relative tolerance
/// `rtol`; NaN where xarray has NaN) and the coordinates the entry lists.
fn check(da: &DataArray, e: &Value, rtol: f64, what: &str) {
    check_abs(da, e, rtol, 0.0, what)
}

/// [`check`] with an absolute tolerance too: for differences of float32 means
/// (anomalies), where xarray's float32 accumulation and ours (in float64)
/// differ by a few float32 ulps of the means, not of the small result.
fn check_abs(da: &DataArray, e: &Value, rtol: f64, atol: f64, what: &str) {
    let dims: Vec<String> = e["dims"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap().to_string())
        .collect();
    assert_eq!(da.dims(), dims.as_slice(), "{what}: dims");
    let shape: Vec<usize> = e["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_u64().unwrap() as usize)
        .collect();
    assert_eq!(da.shape(), shape, "{what}: shape");
    let got = da.values().unwrap();
    let want: Vec<f64> = e["values"].as_array().unwrap().iter().map(num).collect();
    assert_eq!(got.len(), want.len(), "{what}: size");
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert!(
            close_abs(*g, *w, rtol, atol),
            "{what}: value {i}: got {g}, xarray {w}"
        );
    }
    if let Some(coords) = e.get("coords").and_then(Value::as_object) {
        for (name, c) in coords {
            let mine = da
                .coords()
                .get(name)
                .unwrap_or_else(|| panic!("{what}: no coordinate `{name}`"));
            // Long coordinates are given by size, first and last label.
            if let Some(n) = c.get("size").and_then(Value::as_u64) {
                assert_eq!(mine.values.len() as u64, n, "{what}: `{name}` size");
                assert_eq!(
                    mine.values.label(0),
                    c["first"].as_str().unwrap(),
                    "{what}: `{name}`"
                );
                let last = mine.values.len() - 1;
                assert_eq!(
                    mine.values.label(last),
                    c["last"].as_str().unwrap(),
                    "{what}: `{name}`"
                );
                continue;
            }
            let want = c["values"].as_array().unwrap();
            assert_eq!(
                mine.values.len(),
                want.len(),
                "{what}: coordinate `{name}` length"
            );
            // Float coordinates keep xarray's dtype (float32 stays float32).
            match (&mine.values, c.get("dtype").and_then(Value::as_str)) {
                (CoordValues::Float32(_), Some(dt)) => {
                    assert_eq!(dt, "float32", "{what}: `{name}`")
                }
                (CoordValues::Float(_), Some(dt)) => assert_eq!(dt, "float64", "{what}: `{name}`"),
                _ => {}
            }
            let floats = mine.values.floats();
            for (i, w) in want.iter().enumerate() {
                match (&mine.values, w) {
                    (_, w) if floats.is_some() => {
                        let v = floats.as_deref().unwrap_or_default();
                        assert!(
                            close(v[i], num(w), 1e-12),
                            "{what}: `{name}`[{i}]: {} vs {w}",
                            v[i]
                        )
                    }
                    (CoordValues::Int(v), w) => assert_eq!(v[i] as f64, num(w), "{what}: `{name}`"),
                    (v, Value::String(s)) => assert_eq!(&v.label(i), s, "{what}: `{name}`[{i}]"),
                    (v, w) => panic!("{what}: `{name}`: {v:?} vs {w}"),
                }
            }
        }
    }
}

fn scalar(da: &DataArray) -> f64 {
    let v = da.values().unwrap();
    assert_eq!(v.ndim(), 0, "a scalar");
    v[[]]
}

#[test]
fn open_dataset_reads_dims_coords_attrs_and_decodes_cf() {
    let doc = expected("air_small.json");
    let ds = air_small();
    let sizes: Vec<(String, usize)> = ds.sizes();
    assert_eq!(
        sizes,
        vec![("time".into(), 731), ("lat".into(), 10), ("lon".into(), 12)]
    );
    assert_eq!(ds.data_vars(), ["air", "rh"]);
    let air = ds.get("air").unwrap();
    assert_eq!(
        air.dtype().name(),
        "float32",
        "packed int16 decodes to float32"
    );
    let units = air.attrs().get("units").and_then(|v| v.as_text());
    assert_eq!(units, Some("degK"));
    assert!(
        air.attrs().get("scale_factor").is_none(),
        "encoding is not an attribute"
    );
    let t = air.coord("time").unwrap();
    assert_eq!(
        t.values.label(0),
        entry(&doc, "time.first")["value"].as_str().unwrap()
    );
    assert_eq!(
        t.values.label(730),
        entry(&doc, "time.last")["value"].as_str().unwrap()
    );
    check(
        &air.isel(&[("time", Pos::At(0))]).unwrap(),
        entry(&doc, "air.isel(time=0)"),
        0.0,
        "isel 0",
    );
    check(
        &air.isel(&[("time", Pos::At(-1))]).unwrap(),
        entry(&doc, "air.isel(time=-1)"),
        0.0,
        "isel -1",
    );
    check(
        &air.isel(&[
            ("time", Pos::range(99, 102)),
            ("lat", Pos::range(0, 2)),
            ("lon", Pos::range(0, 3)),
        ])
        .unwrap(),
        entry(
            &doc,
            "air.isel(time=slice(99,102),lat=slice(0,2),lon=slice(0,3))",
        ),
        0.0,
        "isel slices",
    );
    let n_nan = (air.size_of_all() - scalar(&air.count(&[]).unwrap())) as i64;
    assert_eq!(
        n_nan,
        entry(&doc, "air.nan_count")["value"].as_i64().unwrap()
    );
    let air64 = air.map(|a| a.astype(chunkwise::DType::F64));
    assert!(close(
        scalar(&air64.sum(&[]).unwrap()),
        num(&entry(&doc, "air.sum64")["value"]),
        1e-12
    ));
    assert!(close(
        scalar(&air64.mean(&[]).unwrap()),
        num(&entry(&doc, "air.mean64")["value"]),
        1e-12
    ));
    assert_eq!(
        scalar(&air.min(&[]).unwrap()),
        num(&entry(&doc, "air.min")["value"])
    );
    assert_eq!(
        scalar(&air.max(&[]).unwrap()),
        num(&entry(&doc, "air.max")["value"])
    );
    let rh = ds.get("rh").unwrap();
    check(
        &rh.isel(&[("time", Pos::At(0))]).unwrap(),
        entry(&doc, "rh.isel(time=0)"),
        0.0,
        "rh",
    );
    let rh_nan = (rh.size_of_all() - scalar(&rh.count(&[]).unwrap())) as i64;
    assert_eq!(
        rh_nan,
        entry(&doc, "rh.nan_count")["value"].as_i64().unwrap()
    );
}

trait SizeOfAll {
    fn size_of_all(&self) -> f64;
}
impl SizeOfAll for DataArray {
    fn size_of_all(&self) -> f64 {
        self.shape().iter().product::<usize>() as f64
    }
}

#[test]
fn sel_by_label_nearest_tolerance_and_slices() {
    let doc = expected("air_small.json");
    let air = air_small().get("air").unwrap();
    let near = |lat: f64, tol: Option<f64>| {
        air.sel(&[
            (
                "lat",
                Sel::Nearest {
                    label: Label::Num(lat),
                    tolerance: tol,
                },
            ),
            (
                "lon",
                Sel::Nearest {
                    label: Label::Num(211.3),
                    tolerance: tol,
                },
            ),
        ])
    };
    check(
        &near(52.5, None).unwrap(),
        entry(&doc, "air.sel(nearest)"),
        0.0,
        "nearest",
    );
    let err = near(51.0, Some(0.5)).unwrap_err();
    assert!(
        err.to_string().contains("tolerance 0.5") && err.to_string().contains("`lat`"),
        "{err}"
    );
    check(
        &near(51.0, Some(2.0))
            .unwrap()
            .isel(&[("time", Pos::range(0, 5))])
            .unwrap(),
        entry(&doc, "air.sel(nearest, tolerance) ok"),
        0.0,
        "tolerance ok",
    );
    let lat_of = |lo: f64, hi: f64| {
        air.sel(&[(
            "lat",
            Sel::Slice(Some(Label::Num(lo)), Some(Label::Num(hi))),
        )])
        .unwrap()
        .coord("lat")
        .unwrap()
        .values
        .clone()
    };
    assert_eq!(
        lat_of(55.0, 45.0),
        CoordValues::Float32(vec![55.0, 52.5, 50.0, 47.5, 45.0])
    );
    assert_eq!(
        lat_of(45.0, 55.0).len(),
        0,
        "ascending slice of a descending index"
    );
    let mam = air
        .sel(&[(
            "time",
            Sel::Slice(Some("2000-03-01".into()), Some("2000-05-31".into())),
        )])
        .unwrap()
        .mean(&["time"])
        .unwrap();
    check(
        &mam,
        entry(&doc, "air.sel(MAM 2000).mean(time)"),
        2e-6,
        "MAM mean",
    );
    let feb = air
        .sel(&[(
            "time",
            Sel::Slice(Some("2001-02".into()), Some("2001-02".into())),
        )])
        .unwrap();
    assert_eq!(feb.shape(), vec![28, 10, 12], "a month as a period");
    let err = air
        .sel(&[("lat", Sel::Label(Label::Num(51.0)))])
        .unwrap_err();
    assert!(err.to_string().contains("nearest"), "{err}");
}

#[test]
fn groupby_seasons_months_and_anomalies() {
    let doc = expected("air_small.json");
    let air = air_small().get("air").unwrap();
    let seasons = air.groupby("time.season").unwrap().mean(&["time"]).unwrap();
    check(
        &seasons,
        entry(&doc, "groupby(season).mean(time)"),
        2e-6,
        "season mean",
    );
    let months = air.groupby("time.month").unwrap().mean(&[]).unwrap();
    check(
        &months,
        entry(&doc, "groupby(month).mean()"),
        2e-6,
        "month mean",
    );
    let clim = air.groupby("time.month").unwrap().mean(&["time"]).unwrap();
    let anom = air.groupby("time.month").unwrap().sub(&clim).unwrap();
    assert_eq!(anom.dims(), ["time", "lat", "lon"]);
    let picked: Vec<DataArray> = [0, 45, 400]
        .iter()
        .map(|&t| anom.isel(&[("time", Pos::range(t, t + 1))]).unwrap())
        .collect();
    let refs: Vec<&DataArray> = picked.iter().collect();
    let three = chunkwise::dataset::concat(&refs, "time").unwrap();
    check_abs(
        &three,
        entry(&doc, "anom.isel(time=[0,45,400])"),
        0.0,
        1e-4,
        "anomalies",
    );
    let nan = anom.size_of_all() - scalar(&anom.count(&[]).unwrap());
    assert_eq!(
        nan as i64,
        entry(&doc, "anom.nan_count")["value"].as_i64().unwrap()
    );
}

#[test]
fn resample_months_seasons_and_years() {
    let doc = expected("air_small.json");
    let air = air_small().get("air").unwrap();
    for (freq, key) in [
        ("MS", "resample(MS).mean()"),
        ("QS-DEC", "resample(QS-DEC).mean()"),
        ("YS", "resample(YS).mean()"),
    ] {
        let r = air.resample("time", freq).unwrap().mean(&[]).unwrap();
        check(&r, entry(&doc, key), 2e-6, key);
    }
}

#[test]
fn rolling_coarsen_and_weighted() {
    let doc = expected("air_small.json");
    let ds = air_small();
    let air = ds.get("air").unwrap();
    let roll_t = air.rolling("time", 3, true).unwrap().mean().unwrap();
    check(
        &roll_t.isel(&[("time", Pos::range(0, 3))]).unwrap(),
        entry(&doc, "rolling(time=3,center).isel(time=slice(0,3))"),
        2e-6,
        "rolling time head",
    );
    check(
        &roll_t
            .isel(&[
                ("lat", Pos::At(0)),
                ("lon", Pos::At(0)),
                ("time", Pos::range(97, 104)),
            ])
            .unwrap(),
        entry(
            &doc,
            "rolling(time=3,center).isel(lat=0,lon=0,time=slice(97,104))",
        ),
        2e-6,
        "rolling time around the missing day",
    );
    let nan = roll_t.size_of_all() - scalar(&roll_t.count(&[]).unwrap());
    assert_eq!(
        nan as i64,
        entry(&doc, "rolling(time=3,center).nan_count")["value"]
            .as_i64()
            .unwrap()
    );
    let roll_lat = air.rolling("lat", 3, false).unwrap().mean().unwrap();
    check(
        &roll_lat.isel(&[("time", Pos::At(0))]).unwrap(),
        entry(&doc, "rolling(lat=3).isel(time=0)"),
        2e-6,
        "rolling lat",
    );
    let nan = roll_lat.size_of_all() - scalar(&roll_lat.count(&[]).unwrap());
    assert_eq!(
        nan as i64,
        entry(&doc, "rolling(lat=3).nan_count")["value"]
            .as_i64()
            .unwrap()
    );

    let coarse = air
        .coarsen(&[("lat", 2), ("lon", 3)])
        .unwrap()
        .mean()
        .unwrap();
    assert_eq!(coarse.shape(), vec![731, 5, 4]);
    check(
        &coarse.isel(&[("time", Pos::At(0))]).unwrap(),
        entry(&doc, "coarsen(lat=2,lon=3).isel(time=0)"),
        2e-6,
        "coarsen",
    );
    let nan = coarse.size_of_all() - scalar(&coarse.count(&[]).unwrap());
    assert_eq!(
        nan as i64,
        entry(&doc, "coarsen(lat=2,lon=3).nan_count")["value"]
            .as_i64()
            .unwrap()
    );
    assert!(
        air.coarsen(&[("lat", 3)]).is_err(),
        "10 is not a multiple of 3"
    );

    let lat = air.coord("lat").unwrap().clone();
    let Some(l) = lat.values.floats() else {
        panic!("float lat")
    };
    let w: Vec<f64> = l.iter().map(|x| x.to_radians().cos()).collect();
    let w = chunkwise::prelude::from_ndarray(&ndarray::Array1::from(w), 10usize).unwrap();
    let mut coords = chunkwise::dataset::Coords::default();
    coords.insert("lat", lat);
    let weights = DataArray::new(w, &["lat"], coords).unwrap();
    let wm = air.weighted(&weights).mean(&["lat", "lon"]).unwrap();
    check(
        &wm,
        entry(&doc, "weighted(cos lat).mean(lat,lon)"),
        2e-6,
        "weighted mean",
    );
}

#[test]
fn open_mfdataset_joins_files_in_time_order_and_runs_the_seed_workflow() {
    let doc = expected("mf.json");
    let pattern = data_dir().join("nc/mf/*.nc");
    let ds = open_mfdataset(pattern.to_str().unwrap(), "time", &OpenOptions::default()).unwrap();
    assert_eq!(
        ds.sizes(),
        vec![("time".into(), 731), ("lat".into(), 4), ("lon".into(), 5)]
    );
    let air = ds.get("air").unwrap();
    let t = &air.coord("time").unwrap().values;
    assert_eq!(t.label(0), "2000-01-01T00:00:00");
    assert_eq!(t.label(730), "2001-12-31T00:00:00");
    assert_eq!(t.monotonic(), 1);
    let clim = ds
        .get("air")
        .unwrap()
        .groupby("time.season")
        .unwrap()
        .mean(&["time"])
        .unwrap();
    check(&clim, entry(&doc, "clim.air"), 2e-6, "climatology");
    let jja = clim.sel(&[("season", Sel::Label("JJA".into()))]).unwrap();
    let djf = clim.sel(&[("season", Sel::Label("DJF".into()))]).unwrap();
    let d = (&jja - &djf).unwrap().map(|a| a.abs());
    check(&d, entry(&doc, "d"), 1e-5, "seed workflow");
}

#[test]
fn bad_files_give_clear_errors_naming_file_and_variable() {
    let dir = data_dir();
    let open = |p: &str| open_dataset(dir.join(p), &OpenOptions::default());
    for (file, says) in [
        ("nc/truncated.nc", "truncated.nc"),
        ("nc/not_netcdf.nc", "not_netcdf.nc"),
        ("nc/does_not_exist.nc", "does_not_exist.nc"),
    ] {
        let err = open(file).err().unwrap_or_else(|| panic!("{file} opened"));
        assert!(matches!(err, chunkwise::Error::Io(_)), "{file}: {err:?}");
        assert!(err.to_string().contains(says), "{file}: {err}");
    }
    let err = open("nc/missing_var.nc").unwrap().get("air").unwrap_err();
    assert!(
        err.to_string().contains("no variable `air`")
            && err.to_string().contains("temp")
            && err.to_string().contains("missing_var.nc"),
        "{err}"
    );
    let bad = dir.join("nc/mf_bad/*.nc");
    let err = open_mfdataset(bad.to_str().unwrap(), "time", &OpenOptions::default()).unwrap_err();
    assert!(
        err.to_string().contains("coordinate `lat` differs") && err.to_string().contains("mf_bad"),
        "{err}"
    );
    let err = open_mfdataset(
        dir.join("nc/nothing_*.nc").to_str().unwrap(),
        "time",
        &OpenOptions::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("no files match"), "{err}");
}

#[test]
fn calendars_decode_group_and_resample_like_cftime() {
    let doc = expected("calendars.json");
    for name in ["cal_noleap", "cal_365_day", "cal_360_day", "cal_hours"] {
        let ds = open_dataset(
            data_dir().join(format!("nc/{name}.nc")),
            &OpenOptions::default(),
        )
        .unwrap();
        let air = ds.get("air").unwrap();
        let time = &air.coord("time").unwrap().values;
        let want = entry(&doc, &format!("{name}.time"))["values"]
            .as_array()
            .unwrap();
        assert_eq!(time.len(), want.len(), "{name}");
        for (i, w) in want.iter().enumerate() {
            assert_eq!(time.label(i), w.as_str().unwrap(), "{name}: time[{i}]");
        }
        let mut parts = vec!["year", "month", "day", "dayofyear", "season"];
        if name == "cal_hours" {
            parts.push("hour");
        }
        for part in parts {
            let got = time.dt(part).unwrap();
            let want = entry(&doc, &format!("{name}.time.{part}"))["values"]
                .as_array()
                .unwrap();
            for (i, w) in want.iter().enumerate() {
                let w = match w {
                    Value::String(s) => s.clone(),
                    n => n.to_string(),
                };
                assert_eq!(got.label(i), w, "{name}: time.dt.{part}[{i}]");
            }
        }
        let months = air.groupby("time.month").unwrap().mean(&["time"]).unwrap();
        check(
            &months,
            entry(&doc, &format!("{name}.groupby(month).mean(time)")),
            2e-6,
            name,
        );
        let r = air.resample("time", "MS").unwrap().mean(&[]).unwrap();
        let want = entry(&doc, &format!("{name}.resample(MS).mean().time"))["values"]
            .as_array()
            .unwrap();
        let labels = &r.coord("time").unwrap().values;
        assert_eq!(labels.len(), want.len(), "{name}: resample bins");
        for (i, w) in want.iter().enumerate() {
            assert_eq!(
                labels.label(i),
                w.as_str().unwrap(),
                "{name}: resample[{i}]"
            );
        }
    }
}

#[test]
fn attributes_stay_through_reductions_and_arithmetic_as_in_xarray() {
    // xarray 2026.9 (the fixtures' version) keeps attributes by default:
    // reductions, groupby, selection and abs keep them; arithmetic keeps
    // both operands' and leaves out those that differ
    // (`(a + b).attrs` for a: {units: K, a: 1}, b: {units: m, b: 2} is
    // {a: 1, b: 2}).
    let pattern = data_dir().join("nc/mf/*.nc");
    let ds = open_mfdataset(pattern.to_str().unwrap(), "time", &OpenOptions::default()).unwrap();
    let air = ds.get("air").unwrap();
    let want = air.attrs().clone();
    assert_eq!(
        want.names().collect::<Vec<_>>(),
        ["long_name", "units"],
        "the fixture's attributes"
    );
    let clim = air.groupby("time.season").unwrap().mean(&["time"]).unwrap();
    let jja = clim.sel(&[("season", Sel::Label("JJA".into()))]).unwrap();
    let djf = clim.sel(&[("season", Sel::Label("DJF".into()))]).unwrap();
    let d = (&jja - &djf).unwrap().map(|a| a.abs());
    for (what, got) in [
        ("mean", air.mean(&["time"]).unwrap()),
        ("std", air.std(&["time"], 0).unwrap()),
        ("groupby mean", clim.clone()),
        ("seed workflow", d),
    ] {
        assert_eq!(got.attrs(), &want, "{what}");
    }
    let mut a = Attrs::new();
    a.insert("units", AttrValue::Text("K".into()));
    a.insert("a", AttrValue::Int(vec![1]));
    let mut b = Attrs::new();
    b.insert("units", AttrValue::Text("m".into()));
    b.insert("b", AttrValue::Int(vec![2]));
    let x = jja.clone().with_attrs(a);
    let y = djf.clone().with_attrs(b);
    let sum = (&x + &y).unwrap();
    assert_eq!(sum.attrs().names().collect::<Vec<_>>(), ["a", "b"]);
    let sum = (&y + &x).unwrap();
    assert_eq!(sum.attrs().names().collect::<Vec<_>>(), ["b", "a"]);
}
