//! CF decoding checked against xarray 2026.9.0 (`xarray.conventions.decode_cf_variable`
//! on in-memory variables; the tables below are its output), and the small
//! pieces of `io` that need no file. Reading files written by other tools is
//! tested in `tests/io_read.rs`.

use std::sync::Arc;

use ndarray::{ArrayD, IxDyn};

use super::cf::{CfEncoding, Decoded};
use super::{Attr, AttrValue, Attrs, StoredType};
use crate::error::Result;
use crate::kernel::{Chunk, ChunkSource};
use crate::meta::DType;

/// An in-memory 1-D variable read as `StoredType::dtype` would read it.
struct Mem(Chunk, Vec<usize>);

impl Mem {
    fn new(stored: StoredType, values: &[f64]) -> Self {
        let shape = vec![values.len()];
        let c = match stored.dtype() {
            DType::I32 => Chunk::I32(
                ArrayD::from_shape_vec(IxDyn(&shape), values.iter().map(|&v| v as i32).collect())
                    .unwrap(),
            ),
            DType::I64 => Chunk::I64(
                ArrayD::from_shape_vec(IxDyn(&shape), values.iter().map(|&v| v as i64).collect())
                    .unwrap(),
            ),
            DType::F32 => Chunk::F32(
                ArrayD::from_shape_vec(IxDyn(&shape), values.iter().map(|&v| v as f32).collect())
                    .unwrap(),
            ),
            DType::F64 => {
                Chunk::F64(ArrayD::from_shape_vec(IxDyn(&shape), values.to_vec()).unwrap())
            }
            DType::Bool => Chunk::Bool(
                ArrayD::from_shape_vec(IxDyn(&shape), values.iter().map(|&v| v != 0.0).collect())
                    .unwrap(),
            ),
        };
        Mem(c, shape)
    }
}

impl ChunkSource for Mem {
    fn shape(&self) -> &[usize] {
        &self.1
    }
    fn dtype(&self) -> DType {
        self.0.dtype()
    }
    fn file_chunks(&self) -> Option<Vec<usize>> {
        None
    }
    fn read(&self, start: &[usize], count: &[usize]) -> Result<Chunk> {
        let v = self.0.to_f64();
        let s = start[0];
        let part: Vec<f64> = v.iter().skip(s).take(count[0]).copied().collect();
        let m = Mem::new(
            match self.0.dtype() {
                DType::I32 => StoredType::I32,
                DType::I64 => StoredType::I64,
                DType::F32 => StoredType::F32,
                DType::F64 => StoredType::F64,
                DType::Bool => StoredType::Bool,
            },
            &part,
        );
        Ok(m.0)
    }
    fn describe(&self) -> String {
        "variable `v` of memory".into()
    }
}

/// A numeric attribute as read from a file (with its stored type).
fn typed(name: &str, t: StoredType, v: &[f64]) -> Attr {
    let value = if t.is_float() {
        AttrValue::Float(
            v.iter()
                .map(|&x| {
                    if t == StoredType::F32 {
                        x as f32 as f64
                    } else {
                        x
                    }
                })
                .collect(),
        )
    } else {
        AttrValue::Int(v.iter().map(|&x| x as i64).collect())
    };
    Attr {
        name: name.into(),
        value,
        stored: Some(t),
    }
}

fn text(name: &str, s: &str) -> Attr {
    Attr {
        name: name.into(),
        value: AttrValue::Text(s.into()),
        stored: None,
    }
}

fn decode(stored: StoredType, data: &[f64], attrs: Vec<Attr>) -> (DType, Vec<f64>) {
    let attrs: Attrs = attrs.into_iter().collect();
    let enc = CfEncoding::from_attrs(stored, &attrs).unwrap();
    let d = Decoded::new(Arc::new(Mem::new(stored, data)), enc);
    let c = d.read(&[0], &[data.len()]).unwrap();
    assert_eq!(c.dtype(), d.dtype(), "read gives the dtype announced");
    (d.dtype(), c.to_f64().iter().copied().collect())
}

fn same(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| (x.is_nan() && y.is_nan()) || x == y)
}

use DType as D;
use StoredType as S;

/// (stored, scale_factor type, add_offset type, has _FillValue, decoded dtype)
/// from xarray: scale_factor 0.5, add_offset 1.0, _FillValue 7 of the data's type.
type DtypeCase = (S, Option<S>, Option<S>, bool, D);

#[rustfmt::skip]
const XARRAY_DTYPES: &[DtypeCase] = &[
    (S::I8, None, None, false, D::I32), (S::I8, None, None, true, D::F32),
    (S::I8, None, Some(S::F32), false, D::F64), (S::I8, None, Some(S::F32), true, D::F64),
    (S::I8, None, Some(S::F64), false, D::F64), (S::I8, None, Some(S::F64), true, D::F64),
    (S::I8, Some(S::F32), None, false, D::F32), (S::I8, Some(S::F32), None, true, D::F32),
    (S::I8, Some(S::F32), Some(S::F32), false, D::F32), (S::I8, Some(S::F32), Some(S::F32), true, D::F32),
    (S::I8, Some(S::F32), Some(S::F64), false, D::F64), (S::I8, Some(S::F32), Some(S::F64), true, D::F64),
    (S::I8, Some(S::F64), None, false, D::F64), (S::I8, Some(S::F64), None, true, D::F64),
    (S::I8, Some(S::F64), Some(S::F32), false, D::F64), (S::I8, Some(S::F64), Some(S::F32), true, D::F64),
    (S::I8, Some(S::F64), Some(S::F64), false, D::F64), (S::I8, Some(S::F64), Some(S::F64), true, D::F64),
    (S::U8, None, None, false, D::I32), (S::U8, None, None, true, D::F32),
    (S::U8, None, Some(S::F32), false, D::F64), (S::U8, None, Some(S::F32), true, D::F64),
    (S::U8, Some(S::F32), None, false, D::F32), (S::U8, Some(S::F32), None, true, D::F32),
    (S::U8, Some(S::F32), Some(S::F32), false, D::F32), (S::U8, Some(S::F32), Some(S::F32), true, D::F32),
    (S::U8, Some(S::F64), Some(S::F64), false, D::F64), (S::U8, Some(S::F64), Some(S::F64), true, D::F64),
    (S::I16, None, None, false, D::I32), (S::I16, None, None, true, D::F32),
    (S::I16, None, Some(S::F32), false, D::F64), (S::I16, None, Some(S::F32), true, D::F64),
    (S::I16, Some(S::F32), None, false, D::F32), (S::I16, Some(S::F32), None, true, D::F32),
    (S::I16, Some(S::F32), Some(S::F32), false, D::F32), (S::I16, Some(S::F32), Some(S::F32), true, D::F32),
    (S::I16, Some(S::F32), Some(S::F64), false, D::F64), (S::I16, Some(S::F32), Some(S::F64), true, D::F64),
    (S::I16, Some(S::F64), None, false, D::F64), (S::I16, Some(S::F64), None, true, D::F64),
    (S::I16, Some(S::F64), Some(S::F64), false, D::F64), (S::I16, Some(S::F64), Some(S::F64), true, D::F64),
    (S::U16, None, None, false, D::I32), (S::U16, None, None, true, D::F32),
    (S::U16, Some(S::F32), Some(S::F32), false, D::F32), (S::U16, Some(S::F32), Some(S::F32), true, D::F32),
    (S::I32, None, None, false, D::I32), (S::I32, None, None, true, D::F64),
    (S::I32, None, Some(S::F32), false, D::F64), (S::I32, None, Some(S::F32), true, D::F64),
    (S::I32, Some(S::F32), None, false, D::F32), (S::I32, Some(S::F32), None, true, D::F32),
    (S::I32, Some(S::F32), Some(S::F32), false, D::F64), (S::I32, Some(S::F32), Some(S::F32), true, D::F64),
    (S::I32, Some(S::F64), None, false, D::F64), (S::I32, Some(S::F64), None, true, D::F64),
    (S::U32, None, None, false, D::I64), (S::U32, None, None, true, D::F64),
    (S::U32, Some(S::F32), None, false, D::F32), (S::U32, Some(S::F32), None, true, D::F32),
    (S::U32, Some(S::F32), Some(S::F32), false, D::F64), (S::U32, Some(S::F32), Some(S::F32), true, D::F64),
    (S::I64, None, None, false, D::I64), (S::I64, None, None, true, D::F64),
    (S::I64, Some(S::F32), None, false, D::F32), (S::I64, Some(S::F32), None, true, D::F32),
    (S::I64, Some(S::F32), Some(S::F32), false, D::F32), (S::I64, Some(S::F32), Some(S::F32), true, D::F32),
    (S::I64, Some(S::F32), Some(S::F64), false, D::F64), (S::I64, Some(S::F32), Some(S::F64), true, D::F64),
    (S::I64, Some(S::F64), Some(S::F64), false, D::F64), (S::I64, Some(S::F64), Some(S::F64), true, D::F64),
    (S::F32, None, None, false, D::F32), (S::F32, None, None, true, D::F32),
    (S::F32, None, Some(S::F32), false, D::F64), (S::F32, None, Some(S::F32), true, D::F64),
    (S::F32, Some(S::F32), None, false, D::F32), (S::F32, Some(S::F32), None, true, D::F32),
    (S::F32, Some(S::F32), Some(S::F32), false, D::F32), (S::F32, Some(S::F32), Some(S::F32), true, D::F32),
    (S::F32, Some(S::F32), Some(S::F64), false, D::F64), (S::F32, Some(S::F32), Some(S::F64), true, D::F64),
    (S::F32, Some(S::F64), None, false, D::F64), (S::F32, Some(S::F64), None, true, D::F64),
    (S::F32, Some(S::F64), Some(S::F64), false, D::F64), (S::F32, Some(S::F64), Some(S::F64), true, D::F64),
    (S::F64, None, None, false, D::F64), (S::F64, None, None, true, D::F64),
    (S::F64, None, Some(S::F32), false, D::F64), (S::F64, None, Some(S::F32), true, D::F64),
    (S::F64, Some(S::F32), None, false, D::F32), (S::F64, Some(S::F32), None, true, D::F32),
    (S::F64, Some(S::F32), Some(S::F32), false, D::F32), (S::F64, Some(S::F32), Some(S::F32), true, D::F32),
    (S::F64, Some(S::F32), Some(S::F64), false, D::F64), (S::F64, Some(S::F32), Some(S::F64), true, D::F64),
    (S::F64, Some(S::F64), Some(S::F32), false, D::F64), (S::F64, Some(S::F64), Some(S::F32), true, D::F64),
    (S::F64, Some(S::F64), Some(S::F64), false, D::F64), (S::F64, Some(S::F64), Some(S::F64), true, D::F64),
];

#[test]
fn decoded_dtype_is_xarrays() {
    for &(stored, scale, offset, fill, want) in XARRAY_DTYPES {
        let mut attrs = vec![];
        if let Some(t) = scale {
            attrs.push(typed("scale_factor", t, &[0.5]));
        }
        if let Some(t) = offset {
            attrs.push(typed("add_offset", t, &[1.0]));
        }
        if fill {
            attrs.push(typed("_FillValue", stored, &[7.0]));
        }
        let (dtype, values) = decode(stored, &[1.0, 7.0, 3.0], attrs);
        assert_eq!(
            dtype, want,
            "{stored} scale {scale:?} offset {offset:?} fill {fill}"
        );
        // Values: x * 0.5 + 1 with 7 masked when there is a fill value.
        let f = |x: f64| x * scale.map_or(1.0, |_| 0.5) + offset.map_or(0.0, |_| 1.0);
        let expect = [f(1.0), if fill { f64::NAN } else { f(7.0) }, f(3.0)];
        assert!(
            same(&values, &expect),
            "{stored} {scale:?} {offset:?} {fill}: {values:?}"
        );
    }
}

/// Values decoded by xarray (`repr(float(x))`), rounding included.
#[test]
fn decoded_values_are_xarrays() {
    let nan = f64::NAN;
    // (name, stored, data, attributes, decoded dtype, decoded values)
    type Case = (&'static str, S, Vec<f64>, Vec<Attr>, D, Vec<f64>);
    let cases: Vec<Case> = vec![
        // int32 with only a float32 scale_factor decodes in float32: the
        // integer is rounded to float32 first.
        (
            "i4_scale_f4",
            S::I32,
            vec![16777217.0, 7.0, -3.0],
            vec![typed("scale_factor", S::F32, &[0.1])],
            D::F32,
            vec![1677721.625, 0.699999988079071, -0.30000001192092896],
        ),
        (
            "f8_scale_f4",
            S::F64,
            vec![0.1, 7.0, 1e300],
            vec![typed("scale_factor", S::F32, &[0.5])],
            D::F32,
            vec![0.05000000074505806, 3.5, f64::INFINITY],
        ),
        (
            "u1_unsigned_false",
            S::U8,
            vec![255.0, 7.0, 128.0],
            vec![text("_Unsigned", "false")],
            D::I32,
            vec![-1.0, 7.0, -128.0],
        ),
        (
            "u1_unsigned_false_fill",
            S::U8,
            vec![255.0, 7.0, 128.0],
            vec![
                text("_Unsigned", "false"),
                typed("_FillValue", S::U8, &[255.0]),
            ],
            D::F32,
            vec![nan, 7.0, -128.0],
        ),
        (
            "i1_unsigned_true_fill",
            S::I8,
            vec![-1.0, 7.0, -128.0],
            vec![
                text("_Unsigned", "true"),
                typed("_FillValue", S::I8, &[-1.0]),
            ],
            D::F32,
            vec![nan, 7.0, 128.0],
        ),
        (
            "i2_missing_list_and_fill",
            S::I16,
            vec![7.0, 9.0, 3.0, 4.0],
            vec![
                typed("missing_value", S::I16, &[7.0, 9.0]),
                typed("_FillValue", S::I16, &[3.0]),
            ],
            D::F32,
            vec![nan, nan, nan, 4.0],
        ),
        (
            "f4_fill_nan_scale_f8",
            S::F32,
            vec![1.5, nan, 3.0],
            vec![
                typed("_FillValue", S::F32, &[nan]),
                typed("scale_factor", S::F64, &[0.1]),
            ],
            D::F32,
            vec![0.15000000596046448, nan, 0.30000001192092896],
        ),
        (
            "i2_fill_scale_f8_offset_f8",
            S::I16,
            vec![1.0, 2.0, -32767.0],
            vec![
                typed("_FillValue", S::I16, &[-32767.0]),
                typed("scale_factor", S::F64, &[0.01]),
                typed("add_offset", S::F64, &[250.0]),
            ],
            D::F64,
            vec![250.01, 250.02, nan],
        ),
        (
            "i1_bool",
            S::I8,
            vec![0.0, 1.0, 2.0],
            vec![text("dtype", "bool")],
            D::Bool,
            vec![0.0, 1.0, 1.0],
        ),
        (
            "i4_scale_f4_offset_f4",
            S::I32,
            vec![123456789.0, 7.0, -3.0],
            vec![
                typed("scale_factor", S::F32, &[0.1]),
                typed("add_offset", S::F32, &[0.5]),
            ],
            D::F64,
            vec![12345679.583964951, 1.2000000104308128, 0.19999999552965164],
        ),
        (
            "u2_fill_offset_only",
            S::U16,
            vec![65535.0, 7.0],
            vec![
                typed("_FillValue", S::U16, &[65535.0]),
                typed("add_offset", S::F32, &[0.1]),
            ],
            D::F64,
            vec![nan, 7.100000001490116],
        ),
    ];
    for (name, stored, data, attrs, dtype, want) in cases {
        let (got_dtype, got) = decode(stored, &data, attrs);
        assert_eq!(got_dtype, dtype, "{name}");
        assert!(same(&got, &want), "{name}: {got:?} vs {want:?}");
    }
}

#[test]
fn int64_fill_values_compare_as_xarray_does_in_float64() {
    // 2^63 - 2 and 2^63 - 1 are the same float64: xarray masks both.
    let raw =
        Chunk::I64(ArrayD::from_shape_vec(IxDyn(&[3]), vec![i64::MAX - 1, i64::MAX, 5]).unwrap());
    let attrs: Attrs = vec![Attr {
        name: "_FillValue".into(),
        value: AttrValue::Int(vec![i64::MAX - 1]),
        stored: Some(S::I64),
    }]
    .into_iter()
    .collect();
    let enc = CfEncoding::from_attrs(S::I64, &attrs).unwrap();
    assert_eq!(enc.decoded, D::F64);
    let d = Decoded::new(Arc::new(Mem::new(S::I64, &[0.0])), enc);
    let c = d.decode(raw).unwrap();
    let v: Vec<f64> = c.to_f64().iter().copied().collect();
    assert!(same(&v, &[f64::NAN, f64::NAN, 5.0]), "{v:?}");
}

#[test]
fn nothing_to_decode_is_the_identity() {
    for (stored, attrs) in [
        (S::F32, vec![]),
        (S::F32, vec![typed("_FillValue", S::F32, &[f64::NAN])]),
        (S::I16, vec![typed("valid_range", S::I16, &[0.0, 10.0])]),
        (S::I32, vec![text("dtype", "int32")]),
        (S::F64, vec![text("_Unsigned", "true")]),
    ] {
        let attrs: Attrs = attrs.into_iter().collect();
        let enc = CfEncoding::from_attrs(stored, &attrs).unwrap();
        assert!(enc.is_identity(), "{stored} {attrs:?}: {enc:?}");
        assert_eq!(enc.decoded, stored.dtype());
    }
    assert!(CfEncoding::none(S::U16).is_identity());
}

#[test]
fn text_where_numbers_belong_is_an_error() {
    let attrs: Attrs = vec![text("scale_factor", "0.1")].into_iter().collect();
    let e = CfEncoding::from_attrs(S::I16, &attrs).unwrap_err();
    assert!(e.contains("scale_factor"), "{e}");
}

#[test]
fn decoded_attrs_drop_what_decoding_used() {
    let attrs: Attrs = vec![
        text("units", "K"),
        typed("_FillValue", S::I16, &[-1.0]),
        typed("scale_factor", S::F32, &[0.5]),
        text("dtype", "int16"),
        typed("valid_min", S::I16, &[0.0]),
    ]
    .into_iter()
    .collect();
    let enc = CfEncoding::from_attrs(S::I16, &attrs).unwrap();
    let shown = enc.decoded_attrs(&attrs);
    assert_eq!(
        shown.names().collect::<Vec<_>>(),
        ["units", "dtype", "valid_min"]
    );
    assert_eq!(
        enc.attrs.names().collect::<Vec<_>>(),
        ["_FillValue", "scale_factor"]
    );
}

#[test]
fn stored_types_widen_to_chunkwise_dtypes() {
    use StoredType::*;
    let want = [
        (Bool, D::Bool),
        (I8, D::I32),
        (U8, D::I32),
        (I16, D::I32),
        (U16, D::I32),
        (I32, D::I32),
        (U32, D::I64),
        (I64, D::I64),
        (U64, D::I64),
        (F32, D::F32),
        (F64, D::F64),
    ];
    for (s, d) in want {
        assert_eq!(s.dtype(), d, "{s}");
        // The widened type holds every value of the stored one (but uint64).
        if s.is_int() && s != U64 {
            assert!(
                s.size() < d.size() || (s.size() == d.size() && !s.is_unsigned()),
                "{s}"
            );
        }
    }
}

#[test]
fn attr_values_print_like_numpy() {
    assert_eq!(AttrValue::Float(vec![0.1f32 as f64]).to_string(), "0.1");
    assert_eq!(AttrValue::Float(vec![0.1]).to_string(), "0.1");
    assert_eq!(AttrValue::Float(vec![250.0]).to_string(), "250.0");
    assert_eq!(
        AttrValue::Float(vec![1.0, f64::NAN]).to_string(),
        "[1.0, NaN]"
    );
    assert_eq!(AttrValue::Int(vec![-32767]).to_string(), "-32767");
    assert_eq!(AttrValue::Int(vec![]).to_string(), "[]");
    assert_eq!(AttrValue::Text("a b".into()).to_string(), "a b");
    let mut a = Attrs::new();
    a.insert("b", AttrValue::Int(vec![1]));
    a.insert("a", AttrValue::Text("x".into()));
    a.insert("b", AttrValue::Int(vec![2]));
    assert_eq!(a.to_string(), "b: 2\na: x\n");
    assert_eq!(
        a.remove("b").map(|x| x.value),
        Some(AttrValue::Int(vec![2]))
    );
    assert_eq!(a.len(), 1);
}
