//! Reading HDF5 and NetCDF-4 files written by other tools (h5py, netCDF4-python),
//! checked against the values h5py and xarray read from the same files
//! (`tests/fixtures/data/expected/*.json`, see `tests/fixtures/README.md`).

use std::path::PathBuf;

use chunkwise::io::{AttrValue, EntryKind, Hdf5File, Hdf5Variable, NcFile, StoredType};
use chunkwise::kernel::ChunkSource;
use chunkwise::{Chunk, DType, Error};
use ndarray::{ArrayD, IxDyn, SliceInfoElem};
use serde_json::Value;

fn data(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/data")
        .join(rel)
}

fn expected(name: &str) -> Value {
    let p = data(&format!("expected/{name}"));
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).unwrap()
}

fn entry<'a>(j: &'a Value, key: &str) -> &'a Value {
    let e = &j["entries"][key];
    assert!(!e.is_null(), "no expected entry `{key}`");
    e
}

/// A JSON number, or "nan"/"inf"/"-inf".
fn num(v: &Value) -> f64 {
    match v {
        Value::String(s) if s == "nan" => f64::NAN,
        Value::String(s) if s == "inf" => f64::INFINITY,
        Value::String(s) if s == "-inf" => f64::NEG_INFINITY,
        Value::Number(n) => n.as_f64().unwrap(),
        other => panic!("not a number: {other}"),
    }
}

fn nums(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(num).collect()
}

fn shape_of(e: &Value) -> Vec<usize> {
    e["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect()
}

/// Values of a chunk as f64 (exact for everything these fixtures hold below 2^53).
fn as_f64(c: &Chunk) -> Vec<f64> {
    c.to_f64().iter().copied().collect()
}

/// Equal as floats, NaN equal to NaN, and the sign of zero kept.
fn same(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || (a == b && a.is_sign_negative() == b.is_sign_negative())
}

fn assert_values(what: &str, got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!(same(g, w), "{what}[{i}]: got {g:?}, want {w:?}");
    }
}

fn io_message(e: Error) -> String {
    match e {
        Error::Io(m) => m,
        other => panic!("expected an I/O error, got {other:?}"),
    }
}

/// The chunkwise dtype a numpy dtype name reads as.
fn expected_dtype(numpy: &str) -> (StoredType, DType) {
    match numpy {
        "int8" => (StoredType::I8, DType::I32),
        "uint8" => (StoredType::U8, DType::I32),
        "int16" => (StoredType::I16, DType::I32),
        "uint16" => (StoredType::U16, DType::I32),
        "int32" => (StoredType::I32, DType::I32),
        "uint32" => (StoredType::U32, DType::I64),
        "int64" => (StoredType::I64, DType::I64),
        "uint64" => (StoredType::U64, DType::I64),
        "float32" => (StoredType::F32, DType::F32),
        "float64" => (StoredType::F64, DType::F64),
        other => panic!("unexpected dtype {other}"),
    }
}

const TYPES: [&str; 10] = ["i1", "u1", "i2", "u2", "i4", "u4", "i8", "u8", "f4", "f8"];

#[test]
fn h5_every_numeric_type_and_byte_order_reads_as_h5py() {
    let j = expected("h5_types.json");
    let f = Hdf5File::open(data("h5/types.h5")).unwrap();
    for t in TYPES {
        for order in ["le", "be"] {
            let name = format!("{t}_{order}");
            let e = entry(&j, &name);
            let v = f.variable(&name).unwrap();
            let (stored, dtype) = expected_dtype(e["dtype"].as_str().unwrap());
            assert_eq!(v.stored_type(), stored, "{name}");
            assert_eq!(v.dtype(), dtype, "{name}");
            assert_eq!(v.shape(), shape_of(e).as_slice(), "{name}");
            let c = v.read_all().unwrap();
            assert_eq!(c.dtype(), dtype, "{name}");
            assert_values(&name, &as_f64(&c), &nums(&e["values"]));
        }
    }
}

#[test]
fn h5_extremes_of_each_type() {
    let j = expected("h5_types.json");
    let f = Hdf5File::open(data("h5/types.h5")).unwrap();
    for t in TYPES {
        for order in ["le", "be"] {
            let name = format!("extremes/{t}_{order}");
            let e = entry(&j, &name);
            let v = f.variable(&name).unwrap();
            if t == "u8" {
                // 2^64 - 1 does not fit the int64 chunkwise computes with.
                let m = io_message(v.read_all().unwrap_err());
                assert!(m.contains(&name) && m.contains("types.h5"), "{m}");
                assert!(m.contains("18446744073709551615"), "{m}");
                // Values that fit read fine.
                let ok = v.read(&[0], &[2]).unwrap();
                assert_eq!(
                    ok,
                    Chunk::I64(ArrayD::from_shape_vec(IxDyn(&[2]), vec![0, 0]).unwrap())
                );
                continue;
            }
            let c = v.read_all().unwrap();
            match &c {
                Chunk::I64(a) => {
                    let want: Vec<i64> = e["values"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|x| x.as_i64().unwrap())
                        .collect();
                    assert_eq!(a.iter().copied().collect::<Vec<_>>(), want, "{name}");
                }
                _ => assert_values(&name, &as_f64(&c), &nums(&e["values"])),
            }
        }
    }
    let e = entry(&j, "extremes/f8_special");
    let c = f
        .variable("extremes/f8_special")
        .unwrap()
        .read_all()
        .unwrap();
    assert_values("f8_special", &as_f64(&c), &nums(&e["values"]));
}

/// `a[start..start+count]` per dim.
fn window(a: &ArrayD<f64>, start: &[usize], count: &[usize]) -> Vec<f64> {
    let info: Vec<SliceInfoElem> = start
        .iter()
        .zip(count)
        .map(|(&s, &c)| SliceInfoElem::Slice {
            start: s as isize,
            end: Some((s + c) as isize),
            step: 1,
        })
        .collect();
    a.slice(info.as_slice()).iter().copied().collect()
}

/// Every window over a set of starts and counts (crossing chunk boundaries)
/// reads the same values as the whole array sliced.
fn check_windows(
    name: &str,
    v: &dyn ChunkSource,
    full: &ArrayD<f64>,
    starts: &[usize],
    counts: &[usize],
) {
    let nd = full.ndim();
    let mut idx = vec![0usize; 2 * nd];
    loop {
        let start: Vec<usize> = (0..nd).map(|d| starts[idx[d]]).collect();
        let count: Vec<usize> = (0..nd).map(|d| counts[idx[nd + d]]).collect();
        if (0..nd).all(|d| start[d] + count[d] <= full.shape()[d]) {
            let c = v.read(&start, &count).unwrap();
            assert_eq!(c.shape(), count.as_slice(), "{name} {start:?} {count:?}");
            assert_values(
                &format!("{name} at {start:?} count {count:?}"),
                &as_f64(&c),
                &window(full, &start, &count),
            );
        }
        // Next combination.
        let mut d = 0;
        loop {
            if d == 2 * nd {
                return;
            }
            idx[d] += 1;
            let lim = if d < nd { starts.len() } else { counts.len() };
            if idx[d] < lim {
                break;
            }
            idx[d] = 0;
            d += 1;
        }
    }
}

#[test]
fn h5_layouts_chunked_contiguous_compressed_and_hyperslabs_across_chunks() {
    let j = expected("h5_types.json");
    let f = Hdf5File::open(data("h5/types.h5")).unwrap();
    for name in [
        "contiguous_f8",
        "chunked_f8",
        "chunked_i2_be",
        "deflate_shuffle_i4",
        "deflate_shuffle_f8_be",
        "deflate_u2",
        "cube_f4",
        "sparse_f4",
        "growable_i4",
        "empty_f8",
        "grp/sub/x",
    ] {
        let e = entry(&j, name);
        let v = f.variable(name).unwrap();
        let shape = shape_of(e);
        assert_eq!(v.shape(), shape.as_slice(), "{name}");
        let want_chunks = e["chunks"].as_array().map(|c| {
            c.iter()
                .map(|x| x.as_u64().unwrap() as usize)
                .collect::<Vec<_>>()
        });
        assert_eq!(v.file_chunks(), want_chunks, "{name}");
        assert_eq!(
            e["layout"] == "chunked",
            v.file_chunks().is_some(),
            "{name}"
        );
        let want = nums(&e["values"]);
        let c = v.read_all().unwrap();
        assert_values(name, &as_f64(&c), &want);
        let full = ArrayD::from_shape_vec(IxDyn(&shape), want).unwrap();
        if full.is_empty() {
            continue;
        }
        if shape.len() == 2 {
            check_windows(
                name,
                &v,
                &full,
                &[0, 1, 3, 4, 5, 8, 9, 12],
                &[0, 1, 2, 4, 5, 6, 9],
            );
        } else {
            check_windows(name, &v, &full, &[0, 3, 4, 5], &[1, 2, 5]);
        }
    }
}

#[test]
fn h5_zero_dimensional_datasets() {
    let j = expected("h5_types.json");
    let f = Hdf5File::open(data("h5/types.h5")).unwrap();
    for (name, dtype) in [("scalar_f8", DType::F64), ("scalar_i2_be", DType::I32)] {
        let v = f.variable(name).unwrap();
        assert_eq!(v.shape(), &[] as &[usize]);
        assert_eq!(v.dtype(), dtype);
        assert_eq!(v.file_chunks(), None);
        let c = v.read(&[], &[]).unwrap();
        assert_eq!(c.shape(), &[] as &[usize]);
        assert_values(name, &as_f64(&c), &[num(&entry(&j, name)["value"])]);
    }
}

#[test]
fn h5_listing_has_groups_and_datasets() {
    let j = expected("h5_types.json");
    let f = Hdf5File::open(data("h5/types.h5")).unwrap();
    let list = f.list().unwrap();
    let mut top_groups: Vec<&str> = list
        .iter()
        .filter(|e| e.kind == EntryKind::Group && !e.path.contains('/'))
        .map(|e| e.path.as_str())
        .collect();
    top_groups.sort();
    let want: Vec<&str> = entry(&j, "groups")["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(top_groups, want);
    assert!(list
        .iter()
        .any(|e| e.path == "grp/sub" && e.kind == EntryKind::Group));
    // Every dataset h5py read is listed, with its shape and whether it is numeric.
    for (key, e) in j["entries"].as_object().unwrap() {
        if key.contains(':') || key == "groups" {
            continue;
        }
        let found = list
            .iter()
            .find(|x| &x.path == key)
            .unwrap_or_else(|| panic!("{key} not listed"));
        match &found.kind {
            EntryKind::Dataset { shape, dtype } => {
                assert_eq!(shape, &shape_of(e), "{key}");
                assert_eq!(
                    dtype.is_ok(),
                    e["supported_numeric"] == true,
                    "{key}: {dtype:?}"
                );
            }
            EntryKind::Group => panic!("{key} listed as a group"),
        }
    }
}

/// The stored type of an attribute from numpy's dtype string (`<i2`).
fn attr_type(s: &str) -> Option<StoredType> {
    Some(match &s[1..] {
        "i1" => StoredType::I8,
        "u1" => StoredType::U8,
        "i2" => StoredType::I16,
        "u2" => StoredType::U16,
        "i4" => StoredType::I32,
        "u4" => StoredType::U32,
        "i8" => StoredType::I64,
        "u8" => StoredType::U64,
        "f4" => StoredType::F32,
        "f8" => StoredType::F64,
        _ => return None,
    })
}

#[test]
fn h5_attributes_of_root_dataset_and_group() {
    let j = expected("h5_types.json");
    let f = Hdf5File::open(data("h5/types.h5")).unwrap();
    for (key, attrs) in [
        ("attrs:/", f.attrs().unwrap()),
        ("attrs:f8_le", f.var_attrs("f8_le").unwrap()),
        ("attrs:grp", f.var_attrs("grp").unwrap()),
        ("attrs:f8_le", f.variable("f8_le").unwrap().attrs().unwrap()),
    ] {
        let e = entry(&j, key);
        let types = e["attr_dtypes"].as_object().unwrap();
        for (name, want) in e["value"].as_object().unwrap() {
            if name == "flags" {
                // An array of strings: not an AttrValue, skipped (documented).
                assert!(attrs.get(name).is_none(), "{key}/{name}");
                continue;
            }
            let got = attrs
                .get(name)
                .unwrap_or_else(|| panic!("{key}: no attribute {name}"));
            match want {
                Value::String(s) => assert_eq!(got, &AttrValue::Text(s.clone()), "{key}/{name}"),
                _ => {
                    let want: Vec<f64> = match want {
                        Value::Array(_) => nums(want),
                        _ => vec![num(want)],
                    };
                    assert_eq!(got.to_f64s().unwrap(), want, "{key}/{name}");
                    let t = attr_type(types[name].as_str().unwrap()).unwrap();
                    assert_eq!(attrs.stored_type(name), Some(t), "{key}/{name}");
                    assert_eq!(
                        matches!(got, AttrValue::Float(_)),
                        t.is_float(),
                        "{key}/{name}"
                    );
                }
            }
        }
        let n_expected = e["value"]
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| *k != "flags")
            .count();
        assert_eq!(attrs.len(), n_expected, "{key}: {attrs:?}");
    }
}

#[test]
fn h5_unsupported_types_name_file_variable_and_type() {
    let f = Hdf5File::open(data("h5/types.h5")).unwrap();
    for (name, words) in [
        ("compound", "compound"),
        ("strings_vlen", "variable-length string"),
        ("strings_fixed", "fixed-length string of 4 bytes"),
    ] {
        let m = io_message(f.variable(name).unwrap_err());
        assert!(m.contains(&format!("`{name}`")), "{m}");
        assert!(m.contains("types.h5"), "{m}");
        assert!(m.contains(words), "{m}");
        let m = io_message(Hdf5Variable::open(data("h5/types.h5"), name).unwrap_err());
        assert!(m.contains(words), "{m}");
    }
}

#[test]
fn missing_variable_names_file_and_variable() {
    let f = Hdf5File::open(data("h5/types.h5")).unwrap();
    for var in ["nope", "grp/nope", "nope/x", "grp/sub/x/y"] {
        let m = io_message(f.variable(var).unwrap_err());
        assert!(
            m.contains(&format!("`{var}`")) && m.contains("types.h5"),
            "{m}"
        );
    }
    let m = io_message(f.variable("grp").unwrap_err());
    assert!(m.contains("group"), "{m}");

    let nc = NcFile::open(data("nc/missing_var.nc")).unwrap();
    let m = io_message(nc.var("air").unwrap_err());
    assert!(m.contains("`air`") && m.contains("missing_var.nc"), "{m}");
    assert!(
        m.contains("temp"),
        "the message lists what the file has: {m}"
    );
    // xarray's data variables: every variable that is not a dimension coordinate.
    let data_vars: Vec<&str> = nc
        .vars
        .iter()
        .filter(|v| !v.is_dim_coord())
        .map(|v| v.name.as_str())
        .collect();
    let want = &expected("errors.json")["entries"]["missing_var.data_vars"]["value"];
    assert_eq!(serde_json::to_value(&data_vars).unwrap(), *want);
}

#[test]
fn broken_files_give_one_clear_io_error_naming_the_file() {
    for (rel, words) in [
        ("nc/truncated.nc", "truncated"),
        ("nc/not_netcdf.nc", "not an HDF5 or NetCDF-4 file"),
        ("nc/does_not_exist.nc", "no such file"),
        ("nc", "directory"),
    ] {
        let m = io_message(NcFile::open(data(rel)).unwrap_err());
        assert!(m.contains(rel), "{m}");
        assert!(m.contains(words), "{m}");
        assert!(!m.contains('\n'), "one line: {m}");
        let m = io_message(Hdf5Variable::open(data(rel), "air").unwrap_err());
        assert!(m.contains(rel), "{m}");
    }
}

/// Run by `hdf5_errors_print_nothing_to_stderr` in a child process.
#[test]
#[ignore = "run as a child process by hdf5_errors_print_nothing_to_stderr"]
fn provoke_every_error() {
    let _ = NcFile::open(data("nc/truncated.nc"));
    let _ = NcFile::open(data("nc/not_netcdf.nc"));
    let _ = Hdf5Variable::open(data("h5/types.h5"), "nope/x");
    let _ = Hdf5Variable::open(data("h5/types.h5"), "compound");
    let f = Hdf5File::open(data("h5/types.h5")).unwrap();
    let _ = f.variable("grp");
    let _ = f.var_attrs("nope");
    let _ = f.variable("extremes/u8_le").unwrap().read_all();
    let _ = NcFile::open(data("h5/types.h5"));
    let nc = NcFile::open(data("nc/air_small.nc")).unwrap();
    let _ = nc.var("nope");
    println!("provoked");
}

#[test]
fn hdf5_errors_print_nothing_to_stderr() {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "provoke_every_error",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("provoked"), "{stdout}");
    for text in [&stdout, &stderr] {
        assert!(
            !text.contains("HDF5-DIAG") && !text.contains("#000"),
            "HDF5 printed its error stack:\n{text}"
        );
    }
}

#[test]
fn nc_air_small_dimensions_variables_and_attributes() {
    let j = expected("air_small.json");
    let nc = NcFile::open(data("nc/air_small.nc")).unwrap();
    let sizes = &entry(&j, "sizes")["value"];
    let dims: Vec<(String, usize)> = ["time", "lat", "lon"]
        .iter()
        .map(|d| (d.to_string(), sizes[d].as_u64().unwrap() as usize))
        .collect();
    assert_eq!(nc.dims, dims);
    assert_eq!(nc.unlimited, ["time"]);
    let unlimited = &entry(&j, "unlimited_dims")["value"];
    assert_eq!(serde_json::to_value(&nc.unlimited).unwrap(), *unlimited);

    let data_vars: Vec<&str> = nc
        .vars
        .iter()
        .filter(|v| !v.is_dim_coord())
        .map(|v| v.name.as_str())
        .collect();
    assert_eq!(
        serde_json::to_value(&data_vars).unwrap(),
        entry(&j, "data_vars")["value"]
    );
    for v in ["time", "lat", "lon"] {
        let c = nc.dim_coord(v).unwrap();
        assert_eq!(c.dims, [v]);
    }
    for name in ["air", "rh"] {
        let v = nc.var(name).unwrap();
        assert_eq!(v.dims, ["time", "lat", "lon"]);
        assert_eq!(v.shape, [731, 10, 12]);
    }

    // Global attributes as xarray shows them, in order.
    let want = entry(&j, "global.attrs")["value"].as_object().unwrap();
    let got: Vec<&str> = nc.attrs.names().collect();
    assert_eq!(got, want.keys().map(|k| k.as_str()).collect::<Vec<_>>());
    for (k, v) in want {
        assert_eq!(
            nc.attrs.get(k).unwrap(),
            &AttrValue::Text(v.as_str().unwrap().into()),
            "{k}"
        );
    }

    // air's attributes after decoding: xarray's, in order, values exact.
    let air = nc.var("air").unwrap();
    let want = entry(&j, "air.attrs")["value"].as_object().unwrap();
    let got = air.decoded_attrs().unwrap();
    assert_eq!(
        got.names().collect::<Vec<_>>(),
        want.keys().map(|k| k.as_str()).collect::<Vec<_>>()
    );
    for (k, v) in want {
        let g = got.get(k).unwrap();
        match v {
            Value::String(s) => assert_eq!(g, &AttrValue::Text(s.clone()), "{k}"),
            Value::Array(_) => assert_eq!(g.to_f64s().unwrap(), nums(v), "{k}"),
            _ => assert_eq!(g.to_f64s().unwrap(), vec![num(v)], "{k}"),
        }
    }
    // Internal netCDF attributes are hidden; CF ones are in the raw attrs.
    for v in &nc.vars {
        for hidden in [
            "_Netcdf4Dimid",
            "_Netcdf4Coordinates",
            "CLASS",
            "NAME",
            "DIMENSION_LIST",
            "REFERENCE_LIST",
        ] {
            assert!(!v.attrs.contains(hidden), "{} shows {hidden}", v.name);
        }
    }
    assert!(!nc.attrs.contains("_NCProperties"));
    assert!(air.attrs.contains("_FillValue") && air.attrs.contains("scale_factor"));

    // The encoding record: what xarray keeps in `encoding`.
    let enc = air.encoding().unwrap();
    let want = &entry(&j, "air.encoding")["value"];
    assert_eq!(enc.stored, StoredType::I16);
    assert_eq!(want["dtype"], "<i2");
    assert_eq!(enc.scale_factor, Some(num(&want["scale_factor"])));
    assert_eq!(enc.add_offset, Some(num(&want["add_offset"])));
    assert_eq!(
        enc.attrs.get("_FillValue"),
        Some(&AttrValue::Int(vec![want["_FillValue"].as_i64().unwrap()]))
    );
    assert_eq!(enc.attrs.stored_type("scale_factor"), Some(StoredType::F32));
    let chunks: Vec<usize> = want["chunksizes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect();
    assert_eq!(air.chunks.as_deref(), Some(chunks.as_slice()));
    assert_eq!(air.source(true).unwrap().file_chunks(), Some(chunks));

    // Time is not decoded here: its units and calendar stay available.
    let time = nc.var("time").unwrap();
    let want = &entry(&j, "time.encoding")["value"];
    assert_eq!(
        time.attrs.get("units").and_then(|v| v.as_text()),
        want["units"].as_str()
    );
    assert_eq!(
        time.attrs.get("calendar").and_then(|v| v.as_text()),
        want["calendar"].as_str()
    );
    assert_eq!(time.stored_type().unwrap(), StoredType::F64);
}

#[test]
fn nc_coordinates_read_as_xarray() {
    let j = expected("air_small.json");
    let nc = NcFile::open(data("nc/air_small.nc")).unwrap();
    for name in ["lat", "lon"] {
        let e = entry(&j, name);
        let c = nc.var(name).unwrap().read_all(true).unwrap();
        assert_eq!(c.dtype(), DType::F32);
        assert_values(name, &as_f64(&c), &nums(&e["values"]));
    }
    let e = entry(&j, "time.raw.head");
    let c = nc
        .var("time")
        .unwrap()
        .source(false)
        .unwrap()
        .read(&[0], &[3])
        .unwrap();
    assert_eq!(c.dtype(), DType::F64);
    assert_values("time", &as_f64(&c), &nums(&e["values"]));
}

#[test]
fn nc_cf_decoding_matches_xarray() {
    let j = expected("air_small.json");
    let nc = NcFile::open(data("nc/air_small.nc")).unwrap();
    let air = nc.var("air").unwrap();
    let dec = air.source(true).unwrap();
    let raw = air.source(false).unwrap();
    assert_eq!(
        dec.dtype().name(),
        entry(&j, "air.dtype")["value"].as_str().unwrap()
    );
    assert_eq!(raw.dtype(), DType::I32);

    // Raw packed values, fill value included.
    let e = entry(&j, "air.raw.isel(time=0)");
    assert_values(
        "raw air",
        &as_f64(&raw.read(&[0, 0, 0], &[1, 10, 12]).unwrap()),
        &nums(&e["values"]),
    );

    // Decoded values, bit for bit (float32).
    for (key, start, count) in [
        ("air.isel(time=0)", [0, 0, 0], [1, 10, 12]),
        ("air.isel(time=-1)", [730, 0, 0], [1, 10, 12]),
        (
            "air.isel(time=slice(99,102),lat=slice(0,2),lon=slice(0,3))",
            [99, 0, 0],
            [3, 2, 3],
        ),
    ] {
        let c = dec.read(&start, &count).unwrap();
        assert_eq!(c.dtype(), DType::F32);
        assert_values(key, &as_f64(&c), &nums(&entry(&j, key)["values"]));
    }
    let e = entry(&j, "air.sel(nearest)"); // lat 52.5 (index 3), lon 212.5 (index 5)
    let c = dec.read(&[0, 3, 5], &[731, 1, 1]).unwrap();
    assert_values("air.sel(nearest)", &as_f64(&c), &nums(&e["values"]));

    // The whole variable: NaN count and float64 sum as xarray's.
    let all = dec.read(&[0, 0, 0], &[731, 10, 12]).unwrap();
    let v = as_f64(&all);
    let nan = v.iter().filter(|x| x.is_nan()).count();
    assert_eq!(nan as f64, num(&entry(&j, "air.nan_count")["value"]));
    let sum: f64 = v.iter().filter(|x| !x.is_nan()).sum();
    let want = num(&entry(&j, "air.sum64")["value"]);
    assert!(((sum - want) / want).abs() < 1e-12, "{sum} vs {want}");
    let min = v
        .iter()
        .copied()
        .filter(|x| !x.is_nan())
        .fold(f64::INFINITY, f64::min);
    let max = v
        .iter()
        .copied()
        .filter(|x| !x.is_nan())
        .fold(f64::NEG_INFINITY, f64::max);
    assert_eq!(min, num(&entry(&j, "air.min")["value"]));
    assert_eq!(max, num(&entry(&j, "air.max")["value"]));

    // Reads across the 31-step file chunks equal the whole read, sliced.
    let full = all.to_f64();
    check_windows(
        "air",
        dec.as_ref(),
        &full,
        &[0, 29, 30, 31, 62, 700, 728],
        &[1, 2, 3, 33],
    );

    // rh: float32 with missing_value only.
    let rh = nc.var("rh").unwrap().source(true).unwrap();
    assert_eq!(
        rh.dtype().name(),
        entry(&j, "rh.dtype")["value"].as_str().unwrap()
    );
    let enc = nc.var("rh").unwrap().encoding().unwrap();
    assert_eq!(
        enc.attrs.get("missing_value").unwrap().to_f64s().unwrap(),
        vec![num(&entry(&j, "rh.encoding.missing_value")["value"])]
    );
    let v = as_f64(&rh.read(&[0, 0, 0], &[731, 10, 12]).unwrap());
    assert_eq!(
        v.iter().filter(|x| x.is_nan()).count() as f64,
        num(&entry(&j, "rh.nan_count")["value"])
    );
    let sum: f64 = v.iter().filter(|x| !x.is_nan()).sum();
    assert_eq!(sum, num(&entry(&j, "rh.sum64")["value"]));
    assert_values(
        "rh.isel(time=0)",
        &v[..120],
        &nums(&entry(&j, "rh.isel(time=0)")["values"]),
    );
}

#[test]
fn nc_reads_from_many_threads_at_once() {
    use rayon::prelude::*;
    let nc = NcFile::open(data("nc/air_small.nc")).unwrap();
    let dec = nc.var("air").unwrap().source(true).unwrap();
    let serial: Vec<Chunk> = (0..24)
        .map(|i| dec.read(&[i * 30, 0, 0], &[30, 10, 12]).unwrap())
        .collect();
    for _ in 0..4 {
        let par: Vec<Chunk> = (0..24)
            .into_par_iter()
            .map(|i| dec.read(&[i * 30, 0, 0], &[30, 10, 12]).unwrap())
            .collect();
        for (a, b) in serial.iter().zip(&par) {
            assert_values("parallel", &as_f64(a), &as_f64(b));
        }
    }
}

#[test]
fn nc_monthly_files_concatenate_to_xarrays_values() {
    let j = expected("mf.json");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(data("nc/mf"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "nc"))
        .collect();
    paths.sort();
    assert_eq!(paths.len() as f64, num(&entry(&j, "files")["value"]));
    let mut steps = 0;
    let mut sum = 0.0;
    let mut firsts = Vec::new();
    let mut last = Vec::new();
    for p in &paths {
        let nc = NcFile::open(p).unwrap();
        let air = nc.var("air").unwrap();
        assert_eq!(air.dims, ["time", "lat", "lon"]);
        let month = nc
            .attrs
            .get("month")
            .and_then(|v| v.as_text())
            .unwrap()
            .to_string();
        let units = nc
            .var("time")
            .unwrap()
            .attrs
            .get("units")
            .and_then(|v| v.as_text())
            .unwrap()
            .to_string();
        assert!(
            units.starts_with(&format!("days since {month}-01")),
            "{units} / {month}"
        );
        let src = air.source(true).unwrap();
        assert_eq!(src.dtype(), DType::F32);
        let v = as_f64(&src.read(&[0, 0, 0], &air.shape).unwrap());
        sum += v.iter().filter(|x| !x.is_nan()).sum::<f64>();
        firsts.push(v[..20].to_vec());
        last = v[v.len() - 20..].to_vec();
        steps += air.shape[0];
        for c in ["lat", "lon"] {
            let e = entry(&j, c);
            assert_values(
                c,
                &as_f64(&nc.var(c).unwrap().read_all(true).unwrap()),
                &nums(&e["values"]),
            );
        }
    }
    assert_eq!(steps as f64, num(&entry(&j, "sizes")["value"]["time"]));
    let want = num(&entry(&j, "air.sum64")["value"]);
    assert!(((sum - want) / want).abs() < 1e-12, "{sum} vs {want}");
    let e = nums(&entry(&j, "air.isel(time=[0,31,-1])")["values"]);
    assert_values("time 0", &firsts[0], &e[..20]);
    assert_values("time 31", &firsts[1], &e[20..40]);
    assert_values("time -1", &last, &e[40..]);
    let first = NcFile::open(&paths[0]).unwrap();
    assert_eq!(
        first.attrs.get("month").and_then(|v| v.as_text()),
        entry(&j, "attrs.month")["value"].as_str()
    );
}

#[test]
fn nc_calendar_files_keep_time_units_and_calendar() {
    let j = expected("calendars.json");
    for cal in ["noleap", "365_day", "360_day", "hours"] {
        let nc = NcFile::open(data(&format!("nc/cal_{cal}.nc"))).unwrap();
        let want = &entry(&j, &format!("cal_{cal}.time.encoding"))["value"];
        let time = nc.var("time").unwrap();
        assert_eq!(
            time.attrs.get("units").and_then(|v| v.as_text()),
            want["units"].as_str(),
            "{cal}"
        );
        assert_eq!(
            time.attrs.get("calendar").and_then(|v| v.as_text()),
            want["calendar"].as_str(),
            "{cal}"
        );
        let stored = match want["dtype"].as_str().unwrap() {
            "<f8" => StoredType::F64,
            "<i4" => StoredType::I32,
            other => panic!("{other}"),
        };
        assert_eq!(time.stored_type().unwrap(), stored, "{cal}");
        assert_eq!(nc.dim("time"), Some(400));
        // Raw time values: 0, 1, 2, ... days (or 6, 12, ... hours).
        let t = as_f64(&time.read_all(false).unwrap());
        let (first, step) = if cal == "hours" {
            (6.0, 6.0)
        } else {
            (0.0, 1.0)
        };
        assert_eq!(t[0], first, "{cal}");
        assert_eq!(t[399] - t[398], step, "{cal}");
    }
}

#[test]
fn plain_hdf5_files_open_as_netcdf_with_phony_dims() {
    // netCDF-C names the axes of datasets without dimension scales
    // `phony_dim_N`, one per distinct length; chunkwise does the same.
    let nc = NcFile::open(data("h5/types.h5")).unwrap();
    let f8 = nc.var("f8_le").unwrap();
    assert_eq!(f8.shape, [5, 7]);
    assert_eq!(f8.dims.len(), 2);
    assert_ne!(f8.dims[0], f8.dims[1]);
    let i4 = nc.var("i4_le").unwrap();
    assert_eq!(i4.dims, f8.dims, "same lengths share phony dims");
    for (d, n) in f8.dims.iter().zip(&f8.shape) {
        assert!(d.starts_with("phony_dim_"));
        assert_eq!(nc.dim(d), Some(*n));
    }
    assert_eq!(nc.var("scalar_f8").unwrap().dims, Vec::<String>::new());
    // A compound dataset is listed with its type, and refused when read.
    let c = nc.var("compound").unwrap();
    assert!(c.dtype.is_err());
    let m = io_message(c.source(true).err().unwrap());
    assert!(
        m.contains("`compound`") && m.contains("types.h5") && m.contains("compound {a: int32"),
        "{m}"
    );
}

/// `tests/fixtures/io_edge/edge.nc` (written by netCDF4-python, see
/// `tests/fixtures/make_io_edge.py`): layouts netCDF-C uses in less common cases,
/// against what netCDF4-python and xarray read.
#[test]
fn nc_edge_layouts_read_as_netcdf4_python() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/io_edge");
    let j: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("edge.json")).unwrap()).unwrap();
    let nc = NcFile::open(dir.join("edge.nc")).unwrap();

    // Dimensions in netCDF's order, with the unlimited one's length the
    // longest variable along it.
    let want: Vec<(String, usize)> = j["dimensions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d[0].as_str().unwrap().to_string(),
                d[1].as_u64().unwrap() as usize,
            )
        })
        .collect();
    assert_eq!(nc.dims, want);
    let unlimited: Vec<&str> = j["dimensions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d[2] == true)
        .map(|d| d[0].as_str().unwrap())
        .collect();
    assert_eq!(nc.unlimited, unlimited);

    // Variables in xarray's order (the group's are not read).
    let names: Vec<&str> = nc.vars.iter().map(|v| v.name.as_str()).collect();
    let want: Vec<&str> = j["variables"]
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    assert_eq!(names, want);

    for (name, e) in j["variables"].as_object().unwrap() {
        let v = nc.var(name).unwrap();
        if name == "s" {
            // A char array: xarray joins the last dimension into strings.
            assert_eq!(v.dims, ["x", "nchar"]);
            assert!(
                v.dtype.as_ref().unwrap_err().contains("string"),
                "{:?}",
                v.dtype
            );
            continue;
        }
        let dims: Vec<&str> = e["dims"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_str().unwrap())
            .collect();
        assert_eq!(v.dims, dims, "{name}");
        assert_eq!(v.shape, shape_of(e), "{name}");
        if name == "vs" {
            let m = io_message(v.source(true).err().unwrap());
            assert!(
                m.contains("`vs`") && m.contains("edge.nc") && m.contains("variable-length string"),
                "{m}"
            );
            continue;
        }
        let (stored, _) = expected_dtype(e["raw_dtype"].as_str().unwrap());
        assert_eq!(v.stored_type().unwrap(), stored, "{name}");
        let raw = v.read_all(false).unwrap();
        assert_values(
            &format!("{name} raw"),
            &as_f64(&raw),
            &nums(&e["raw_values"]),
        );
        let dec = v.read_all(true).unwrap();
        assert_eq!(
            dec.dtype().name(),
            e["dtype"]
                .as_str()
                .unwrap()
                .replace("int16", "int32")
                .replace("int8", "int32"),
            "{name}"
        );
        assert_values(
            &format!("{name} decoded"),
            &as_f64(&dec),
            &nums(&e["values"]),
        );
        // Reading part of the stored and part of the padded region.
        if name == "e" {
            let c = v.source(false).unwrap().read(&[1], &[3]).unwrap();
            assert_values("e[1..4]", &as_f64(&c), &nums(&e["raw_values"])[1..4]);
        }
        // Attributes (a list of strings is skipped: not an AttrValue).
        for (k, a) in e["attrs"].as_object().unwrap() {
            let got = v.attrs.get(k);
            match a {
                Value::String(t) => {
                    assert_eq!(got, Some(&AttrValue::Text(t.clone())), "{name}/{k}")
                }
                Value::Array(items) if items.iter().all(|x| x.is_string()) => {
                    assert_eq!(got, None, "{name}/{k}")
                }
                Value::Array(_) => {
                    assert_eq!(got.unwrap().to_f64s().unwrap(), nums(a), "{name}/{k}")
                }
                _ => assert_eq!(got.unwrap().to_f64s().unwrap(), vec![num(a)], "{name}/{k}"),
            }
        }
    }
}

/// A group's variables over a parent group's dimension, as xarray opens the
/// group (`xr.open_dataset(path, group='grp')`).
#[test]
fn nc_group_sees_parent_dimensions() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/io_edge");
    let j: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("edge.json")).unwrap()).unwrap();
    let g = &j["group grp"];
    for name in ["grp", "/grp", "grp/"] {
        let nc = NcFile::open_group(dir.join("edge.nc"), name).unwrap();
        let sizes: Vec<(String, usize)> = g["sizes"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_u64().unwrap() as usize))
            .collect();
        assert_eq!(nc.dims, sizes);
        assert!(nc.unlimited.is_empty());
        let names: Vec<&str> = nc.vars.iter().map(|v| v.name.as_str()).collect();
        let want: Vec<&str> = g["variables"]
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        assert_eq!(names, want);
        for (vname, e) in g["variables"].as_object().unwrap() {
            let v = nc.var(vname).unwrap();
            let dims: Vec<&str> = e["dims"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_str().unwrap())
                .collect();
            assert_eq!(v.dims, dims);
            assert_eq!(v.shape, shape_of(e));
            assert_values(
                vname,
                &as_f64(&v.read_all(true).unwrap()),
                &nums(&e["values"]),
            );
            assert!(v.describe().contains("`grp/gv`"), "{}", v.describe());
        }
    }
    // The root is the same as `open`.
    let root = NcFile::open_group(dir.join("edge.nc"), "/").unwrap();
    let plain = NcFile::open(dir.join("edge.nc")).unwrap();
    assert_eq!(root.dims, plain.dims);
    assert_eq!(root.vars.len(), plain.vars.len());
    let m = io_message(NcFile::open_group(dir.join("edge.nc"), "nope").unwrap_err());
    assert!(m.contains("`nope`") && m.contains("edge.nc"), "{m}");
}
