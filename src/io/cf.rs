//! CF decoding of stored values, as xarray's `decode_cf` does it (with
//! `mask_and_scale=True`): [`CfEncoding`] (what a variable's attributes ask for)
//! and [`Decoded`], a [`ChunkSource`] that applies it in `read`, in one pass.
//!
//! * `_FillValue` and `missing_value` (a scalar or a list; NaN entries ignored):
//!   matching values become NaN.
//! * `scale_factor` / `add_offset`: `value * scale_factor + add_offset`.
//! * `_Unsigned = "true"` on signed integers (`"false"` on unsigned ones): the
//!   stored bits are read with the other signedness first.
//! * `dtype = "bool"` (how xarray stores booleans): nonzero values become `true`.
//!
//! The decoded dtype is xarray's (`_choose_float_dtype` and `maybe_promote` in
//! `xarray/coding/variables.py`): with `scale_factor`/`add_offset`, float32 when
//! both are float32 (or only a float32 `scale_factor` is given) and the data is
//! not a 32-bit integer, else float64; with only fill values, float32 for
//! integers of up to 16 bits, float64 for wider ones, floats keep their type.
//! The arithmetic rounds to that type after each step, as NumPy does.
//!
//! Not done, as in xarray: `valid_min`, `valid_max` and `valid_range` are
//! ignored (xarray does not mask with them either). Time units are not decoded
//! here (`crate::dataset::time` does that from `units`/`calendar`).

use std::sync::Arc;

use ndarray::ArrayD;

use super::attrs::Attrs;
use super::hdf5::StoredType;
use crate::error::{Error, Result};
use crate::kernel::source::SourceSpec;
use crate::kernel::{Chunk, ChunkSource, Element};
use crate::meta::DType;

/// The attributes CF decoding consumes (xarray moves them from `attrs` to
/// `encoding`). `dtype` only when it is `"bool"`.
pub const CF_ATTRS: [&str; 6] = [
    "_FillValue",
    "missing_value",
    "scale_factor",
    "add_offset",
    "_Unsigned",
    "dtype",
];

/// How a variable's values are encoded in the file, read from its attributes:
/// what [`Decoded`] undoes on reading and what writing can apply again.
#[derive(Clone, Debug, PartialEq)]
pub struct CfEncoding {
    /// The type in the file.
    pub stored: StoredType,
    /// The attributes decoding uses, as read (values and stored types):
    /// `_FillValue`, `missing_value`, `scale_factor`, `add_offset`,
    /// `_Unsigned`, `dtype`.
    pub attrs: Attrs,
    /// The type the stored bits are read as (`stored`, or its other signedness
    /// under `_Unsigned`).
    pub effective: StoredType,
    /// Values that read as NaN, compared in float64 after conversion to the
    /// decoded float type (NaN entries left out).
    pub fill_values: Vec<f64>,
    /// `scale_factor`, if any.
    pub scale_factor: Option<f64>,
    /// `add_offset`, if any.
    pub add_offset: Option<f64>,
    /// `dtype = "bool"`: values decode to booleans.
    pub to_bool: bool,
    /// The dtype decoded values have.
    pub decoded: DType,
    /// The float type the arithmetic rounds to (`None`: values are not
    /// converted to floats).
    arith: Option<Float>,
}

/// The float type xarray decodes into (`None`: values are not converted).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Float {
    F32,
    F64,
}

impl CfEncoding {
    /// No decoding: values read as stored.
    pub fn none(stored: StoredType) -> Self {
        Self {
            stored,
            attrs: Attrs::new(),
            effective: stored,
            fill_values: vec![],
            scale_factor: None,
            add_offset: None,
            to_bool: false,
            decoded: stored.dtype(),
            arith: None,
        }
    }

    /// The encoding the attributes `attrs` of a variable stored as `stored`
    /// describe.
    ///
    /// ```
    /// use chunkwise::io::{cf::CfEncoding, AttrValue, Attrs, StoredType};
    /// use chunkwise::DType;
    /// let mut a = Attrs::new();
    /// a.insert("_FillValue", AttrValue::Int(vec![-32767]));
    /// a.insert("scale_factor", AttrValue::Float(vec![0.01]));
    /// let e = CfEncoding::from_attrs(StoredType::I16, &a).unwrap();
    /// // An untyped (in-memory) scale_factor counts as float64, as a Python float.
    /// assert_eq!(e.decoded, DType::F64);
    /// ```
    ///
    /// # Errors
    /// A message when an attribute has the wrong kind (text where numbers are
    /// expected).
    pub fn from_attrs(stored: StoredType, attrs: &Attrs) -> std::result::Result<Self, String> {
        let mut used = Attrs::new();
        for a in attrs {
            if CF_ATTRS.contains(&a.name.as_str()) {
                if a.name == "dtype" && a.value.as_text() != Some("bool") {
                    continue;
                }
                used.insert_attr(a.clone());
            }
        }
        if stored == StoredType::Bool {
            // Booleans stored as HDF5 enums carry no CF encoding.
            let mut e = Self::none(stored);
            e.attrs = used;
            return Ok(e);
        }

        // _Unsigned: read the bits with the other signedness.
        let mut effective = stored;
        let mut flip = false;
        if let Some(v) = used.get("_Unsigned") {
            let want_unsigned = match v.as_text() {
                Some("true") => Some(true),
                Some("false") => Some(false),
                _ => None,
            };
            if let Some(u) = want_unsigned {
                if stored.is_int() && stored.is_unsigned() != u {
                    effective = stored.flip_sign().unwrap_or(stored);
                    flip = true;
                }
            }
        }

        let numbers = |name: &str| -> std::result::Result<Option<Vec<f64>>, String> {
            match used.get(name) {
                None => Ok(None),
                Some(v) => v.to_f64s().map(Some).ok_or_else(|| {
                    format!("attribute `{name}` is text ({v:?}) where numbers are expected")
                }),
            }
        };
        let fill = numbers("_FillValue")?;
        let missing = numbers("missing_value")?;
        let scale = numbers("scale_factor")?;
        let offset = numbers("add_offset")?;

        // Fill values: NaNs dropped; under _Unsigned the _FillValue is viewed
        // with the new signedness (as xarray does; missing_value is not).
        let mut fills: Vec<f64> = Vec::new();
        if let Some(f) = &fill {
            for &v in f {
                let v = if flip {
                    reinterpret(v as i64, effective) as f64
                } else {
                    v
                };
                if !v.is_nan() && !fills.contains(&v) {
                    fills.push(v);
                }
            }
        }
        if let Some(m) = &missing {
            for &v in m {
                if !v.is_nan() && !fills.contains(&v) {
                    fills.push(v);
                }
            }
        }
        // xarray drops a fill attribute with only NaN on integer data entirely;
        // on float data it stays in `encoding` (and keeps the dtype below).
        let has_fill_key =
            (fill.is_some() || missing.is_some()) && (stored.is_float() || !fills.is_empty());

        let scale_factor = scale.as_ref().and_then(|v| v.first().copied());
        let add_offset = offset.as_ref().and_then(|v| v.first().copied());
        let packed = scale.is_some() || offset.is_some();
        // The type of a 1-element attribute is its stored one; an attribute
        // made in memory, or a longer list, counts as a Python float (float64).
        let attr_float = |name: &str, v: &Option<Vec<f64>>| -> Option<StoredType> {
            v.as_ref().map(|v| match used.stored_type(name) {
                Some(t) if v.len() == 1 => t,
                _ => StoredType::F64,
            })
        };
        let scale_t = attr_float("scale_factor", &scale);
        let offset_t = attr_float("add_offset", &offset);

        let float = if !fills.is_empty() {
            Some(if packed {
                choose_float(effective, scale_t, offset_t)
            } else {
                maybe_promote(effective)
            })
        } else if packed {
            if has_fill_key {
                // Float data with a NaN _FillValue: keeps its type.
                Some(if effective == StoredType::F32 {
                    Float::F32
                } else {
                    Float::F64
                })
            } else {
                Some(choose_float(effective, scale_t, offset_t))
            }
        } else {
            None
        };
        let to_bool = used.get("dtype").and_then(|v| v.as_text()) == Some("bool");
        let decoded = if to_bool {
            DType::Bool
        } else {
            match float {
                Some(Float::F32) => DType::F32,
                Some(Float::F64) => DType::F64,
                None => effective.dtype(),
            }
        };
        Ok(Self {
            stored,
            attrs: used,
            effective,
            fill_values: if float.is_some() { fills } else { vec![] },
            scale_factor,
            add_offset,
            to_bool,
            decoded,
            arith: float,
        })
    }

    /// Nothing to undo: values read as stored.
    pub fn is_identity(&self) -> bool {
        self.arith.is_none() && self.effective == self.stored && !self.to_bool
    }

    /// `attrs` without the attributes this encoding consumed, as xarray shows a
    /// decoded variable's attributes.
    pub fn decoded_attrs(&self, attrs: &Attrs) -> Attrs {
        let mut out = attrs.clone();
        out.retain(|a| !self.attrs.contains(&a.name));
        out
    }
}

/// xarray's `_choose_float_dtype` for packed data (`scale_factor` and/or
/// `add_offset` present), given the attributes' types.
fn choose_float(data: StoredType, scale: Option<StoredType>, offset: Option<StoredType>) -> Float {
    let as_float = |t: StoredType| {
        if t == StoredType::F32 {
            Float::F32
        } else {
            Float::F64
        }
    };
    match (scale, offset) {
        (Some(s), Some(o)) if s == o && s.is_float() => {
            if data.is_int() && data.size() == 4 {
                Float::F64
            } else {
                as_float(s)
            }
        }
        (_, Some(_)) => Float::F64,
        (Some(s), None) => as_float(s),
        (None, None) => maybe_promote(data),
    }
}

/// xarray's `maybe_promote` (and the no-attribute branch of
/// `_choose_float_dtype`): floats keep their type, integers of up to 16 bits
/// become float32, wider ones float64.
fn maybe_promote(data: StoredType) -> Float {
    match data {
        StoredType::F32 => Float::F32,
        StoredType::F64 => Float::F64,
        t if t.size() <= 2 => Float::F32,
        _ => Float::F64,
    }
}

/// The integer `v` (read with the stored signedness) with its bits viewed as
/// type `to` of the same width.
fn reinterpret(v: i64, to: StoredType) -> i64 {
    match to {
        StoredType::U8 => v as u8 as i64,
        StoredType::I8 => v as u8 as i8 as i64,
        StoredType::U16 => v as u16 as i64,
        StoredType::I16 => v as u16 as i16 as i64,
        StoredType::U32 => v as u32 as i64,
        StoredType::I32 => v as u32 as i32 as i64,
        // uint64 is read as int64 (values above i64::MAX fail at read), so
        // the 64-bit views coincide.
        _ => v,
    }
}

/// A [`ChunkSource`] that decodes another one (the raw values of a variable)
/// with a [`CfEncoding`], in `read`.
///
/// ```no_run
/// use std::sync::Arc;
/// use chunkwise::io::{cf::{CfEncoding, Decoded}, Hdf5Variable};
/// use chunkwise::kernel::ChunkSource;
/// let raw = Hdf5Variable::open("air.nc", "air")?;
/// let enc = CfEncoding::from_attrs(raw.stored_type(), &raw.attrs()?)
///     .map_err(chunkwise::Error::Io)?;
/// let air = Decoded::new(Arc::new(raw), enc);
/// let block = air.read(&[0, 0, 0], &[1, 2, 2])?;
/// # Ok::<(), chunkwise::Error>(())
/// ```
#[derive(Clone)]
pub struct Decoded {
    raw: Arc<dyn ChunkSource>,
    enc: CfEncoding,
    spec: Option<SourceSpec>,
}

impl std::fmt::Debug for Decoded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoded")
            .field("raw", &self.raw.describe())
            .field("encoding", &self.enc)
            .finish()
    }
}

impl Decoded {
    /// Decode `raw` (which reads the stored values, as [`StoredType::dtype`])
    /// with `enc`.
    pub fn new(raw: Arc<dyn ChunkSource>, enc: CfEncoding) -> Self {
        let spec = raw.spec().and_then(|s| s.decoded());
        Self { raw, enc, spec }
    }

    /// The undecoded source.
    pub fn raw(&self) -> &Arc<dyn ChunkSource> {
        &self.raw
    }

    /// The encoding undone on reading.
    pub fn encoding(&self) -> &CfEncoding {
        &self.enc
    }

    /// Decode one chunk of raw values.
    pub fn decode(&self, raw: Chunk) -> Result<Chunk> {
        let e = &self.enc;
        if e.is_identity() {
            return Ok(raw);
        }
        let flip = e.effective != e.stored;
        let eff = e.effective;
        let ints = move |v: i64| if flip { reinterpret(v, eff) } else { v };
        Ok(match (e.arith, e.to_bool) {
            (None, false) => match e.decoded {
                DType::I32 => Chunk::I32(map_raw(&raw, |v| ints(v) as i32, |v| v as i32)),
                DType::I64 => Chunk::I64(map_raw(&raw, ints, |v| v as i64)),
                other => {
                    return Err(Error::internal(format!(
                        "CF decoding without floats to {other:?} for {}",
                        self.raw.describe()
                    )))
                }
            },
            (None, true) => Chunk::Bool(map_raw(&raw, |v| ints(v) != 0, |v| v != 0.0)),
            (Some(Float::F32), to_bool) => {
                let a = self.float_decode::<f32>(&raw, ints);
                if to_bool {
                    Chunk::Bool(a.mapv(|x| x != 0.0))
                } else {
                    Chunk::F32(a)
                }
            }
            (Some(Float::F64), to_bool) => {
                let a = self.float_decode::<f64>(&raw, ints);
                if to_bool {
                    Chunk::Bool(a.mapv(|x| x != 0.0))
                } else {
                    Chunk::F64(a)
                }
            }
        })
    }

    /// Values converted to `T`, masked, scaled and offset, rounding to `T`
    /// after each step (NumPy's `astype`, `==`, `*=`, `+=` in `T`).
    fn float_decode<T: Element>(&self, raw: &Chunk, ints: impl Fn(i64) -> i64) -> ArrayD<T> {
        let e = &self.enc;
        let fills = e.fill_values.as_slice();
        let (scale, offset) = (e.scale_factor, e.add_offset);
        let step = move |x: T| -> T {
            let xf = x.to_f64();
            if fills.contains(&xf) {
                return T::from_f64(f64::NAN);
            }
            let mut y = x;
            if let Some(s) = scale {
                y = T::from_f64(y.to_f64() * s);
            }
            if let Some(o) = offset {
                y = T::from_f64(y.to_f64() + o);
            }
            y
        };
        map_raw(
            raw,
            |v| step(T::from_i64(ints(v))),
            |v| step(T::from_f64(v)),
        )
    }
}

/// Map every element of a raw chunk: integers (and booleans) through `int`,
/// floats through `float`.
fn map_raw<O: Copy>(raw: &Chunk, int: impl Fn(i64) -> O, float: impl Fn(f64) -> O) -> ArrayD<O> {
    match raw {
        Chunk::Bool(a) => a.mapv(|v| int(v as i64)),
        Chunk::I32(a) => a.mapv(|v| int(v as i64)),
        Chunk::I64(a) => a.mapv(&int),
        Chunk::F32(a) => a.mapv(|v| float(v as f64)),
        Chunk::F64(a) => a.mapv(&float),
    }
}

impl ChunkSource for Decoded {
    fn shape(&self) -> &[usize] {
        self.raw.shape()
    }

    fn dtype(&self) -> DType {
        self.enc.decoded
    }

    fn file_chunks(&self) -> Option<Vec<usize>> {
        self.raw.file_chunks()
    }

    fn read(&self, start: &[usize], count: &[usize]) -> Result<Chunk> {
        let raw = self.raw.read(start, count)?;
        self.decode(raw)
    }

    fn describe(&self) -> String {
        self.raw.describe()
    }

    fn spec(&self) -> Option<SourceSpec> {
        self.spec.clone()
    }
}
