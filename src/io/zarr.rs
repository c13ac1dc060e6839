//! Reading Zarr stores (v3, and v2) through the `zarrs` crate: [`ZarrStore`]
//! (a group: its attributes and arrays) and [`ZarrVariable`], a
//! [`ChunkSource`] over one array.
//!
//! Codecs read: everything `zarrs` is built with here — v3 `bytes` (either
//! endianness), `transpose`, `gzip`, `zstd`, `blosc`, `crc32c`,
//! `sharding_indexed`; v2 compressors `blosc`, `zlib`, `gzip`, `zstd` or none,
//! `<` and `>` byte orders, C and Fortran `order`.
//!
//! Data types are widened as the HDF5 reader does ([`StoredType::dtype`]):
//! int8/uint8/int16/uint16/int32 to int32, uint32/int64 to int64, uint64 to
//! int64 (a value above `i64::MAX` is an error at read), float32, float64,
//! bool. Others (float16, complex, strings, datetimes) are refused with an
//! [`Error::Io`] naming the array.
//!
//! Dimension names come from v3 `dimension_names` or, in v2, from xarray's
//! `_ARRAY_DIMENSIONS` attribute (hidden from the attributes shown).
//!
//! CF decoding follows xarray's zarr backend: in v3 the `_FillValue`
//! attribute is the CF fill value (xarray writes a float one as the base64 of
//! its little-endian float64 bytes, decoded here), and the array's own
//! `fill_value` is not used; in v2 the array's `fill_value` is the CF fill
//! value (xarray moves `_FillValue` there).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ndarray::ArrayD;
use serde_json::Value;
use zarrs::array::data_type::{
    BoolDataType, Float32DataType, Float64DataType, Int16DataType, Int32DataType, Int64DataType,
    Int8DataType, UInt16DataType, UInt32DataType, UInt64DataType, UInt8DataType,
};
use zarrs::array::{Array, ArrayMetadata, ArraySubset, ElementOwned};
use zarrs::filesystem::FilesystemStore;
use zarrs::group::{Group, GroupMetadata};

use super::attrs::{Attr, AttrValue, Attrs};
use super::cf::{CfEncoding, Decoded};
use super::hdf5::StoredType;
use crate::error::{Error, Result};
use crate::kernel::source::{check_region, SourceSpec};
use crate::kernel::{Chunk, ChunkSource};
use crate::meta::DType;

/// xarray's attribute holding a v2 array's dimension names.
pub const ARRAY_DIMENSIONS: &str = "_ARRAY_DIMENSIONS";

/// A Zarr group on the local file system (the root of a store): its format,
/// attributes and the names of its arrays.
///
/// ```no_run
/// use chunkwise::io::ZarrStore;
/// let z = ZarrStore::open("data/air.zarr")?;
/// for name in z.array_names()? {
///     let v = z.array(&name)?;
///     println!("{name}: {:?} {:?}", v.dims(), v.stored_type());
/// }
/// # Ok::<(), chunkwise::Error>(())
/// ```
#[derive(Clone)]
pub struct ZarrStore {
    path: PathBuf,
    store: Arc<FilesystemStore>,
    group: Arc<Group<FilesystemStore>>,
}

impl std::fmt::Debug for ZarrStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZarrStore")
            .field("path", &self.path)
            .finish()
    }
}

impl ZarrStore {
    /// Open the group at the root of the store in directory `path`.
    ///
    /// # Errors
    /// [`Error::Io`] naming the path when it is not a directory holding Zarr
    /// group metadata (`zarr.json` or `.zgroup`).
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        if !path.is_dir() {
            return Err(Error::Io(format!(
                "`{}` is not a Zarr store (no such directory)",
                path.display()
            )));
        }
        let store = Arc::new(
            FilesystemStore::new(path)
                .map_err(|e| Error::Io(format!("cannot open `{}`: {e}", path.display())))?,
        );
        let group = Group::open(store.clone(), "/").map_err(|e| {
            Error::Io(format!(
                "`{}` is not a readable Zarr group: {e}",
                path.display()
            ))
        })?;
        Ok(Self {
            path: path.to_path_buf(),
            store,
            group: Arc::new(group),
        })
    }

    /// The store's directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// 2 or 3.
    pub fn zarr_format(&self) -> u8 {
        match self.group.metadata() {
            GroupMetadata::V2(_) => 2,
            GroupMetadata::V3(_) => 3,
        }
    }

    /// The group's attributes.
    pub fn attrs(&self) -> Attrs {
        attrs_from_json(self.group.attributes(), None)
    }

    /// The names of the arrays directly in the group, sorted.
    ///
    /// # Errors
    /// [`Error::Io`] naming the store when it cannot be listed.
    pub fn array_names(&self) -> Result<Vec<String>> {
        let paths = self.group.child_array_paths().map_err(|e| {
            Error::Io(format!(
                "cannot list the arrays of `{}`: {e}",
                self.path.display()
            ))
        })?;
        let mut names: Vec<String> = paths
            .iter()
            .map(|p| p.as_str().trim_start_matches('/').to_string())
            .collect();
        names.sort();
        Ok(names)
    }

    /// Array `name` of the group.
    ///
    /// # Errors
    /// [`Error::Io`] naming the store and array when it does not exist, its
    /// metadata is invalid or uses a codec or data type that cannot be read.
    pub fn array(&self, name: &str) -> Result<ZarrVariable> {
        ZarrVariable::open_in(&self.path, self.store.clone(), name)
    }
}

/// The stored type of a Zarr data type, if chunkwise reads it.
fn stored_type(dt: &zarrs::array::DataType) -> Option<StoredType> {
    Some(if dt.is::<BoolDataType>() {
        StoredType::Bool
    } else if dt.is::<Int8DataType>() {
        StoredType::I8
    } else if dt.is::<UInt8DataType>() {
        StoredType::U8
    } else if dt.is::<Int16DataType>() {
        StoredType::I16
    } else if dt.is::<UInt16DataType>() {
        StoredType::U16
    } else if dt.is::<Int32DataType>() {
        StoredType::I32
    } else if dt.is::<UInt32DataType>() {
        StoredType::U32
    } else if dt.is::<Int64DataType>() {
        StoredType::I64
    } else if dt.is::<UInt64DataType>() {
        StoredType::U64
    } else if dt.is::<Float32DataType>() {
        StoredType::F32
    } else if dt.is::<Float64DataType>() {
        StoredType::F64
    } else {
        return None;
    })
}

/// One Zarr array, read by region: a [`ChunkSource`] of its stored values
/// (widened as [`StoredType::dtype`]); [`ZarrVariable::source`] gives the
/// CF-decoded one.
#[derive(Clone)]
pub struct ZarrVariable {
    path: PathBuf,
    name: String,
    array: Arc<Array<FilesystemStore>>,
    stored: StoredType,
    shape: Vec<usize>,
    chunks: Option<Vec<usize>>,
    dims: Vec<String>,
    attrs: Attrs,
    format: u8,
}

impl std::fmt::Debug for ZarrVariable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZarrVariable")
            .field("path", &self.path)
            .field("name", &self.name)
            .field("stored", &self.stored)
            .field("shape", &self.shape)
            .finish()
    }
}

impl ZarrVariable {
    /// Open array `name` of the Zarr store in directory `path`.
    ///
    /// ```no_run
    /// use chunkwise::io::ZarrVariable;
    /// use chunkwise::kernel::ChunkSource;
    /// let v = ZarrVariable::open("data/arrays.zarr", "gzip_f8")?;
    /// let block = v.read(&[0, 0], &[2, 3])?;
    /// # Ok::<(), chunkwise::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`ZarrStore::array`].
    pub fn open(path: impl AsRef<Path>, name: &str) -> Result<Self> {
        ZarrStore::open(path)?.array(name)
    }

    fn open_in(path: &Path, store: Arc<FilesystemStore>, name: &str) -> Result<Self> {
        let name = name.trim_start_matches('/').to_string();
        let what = describe(path, &name);
        let array = Array::open(store, &format!("/{name}"))
            .map_err(|e| Error::Io(format!("cannot open {what}: {e}")))?;
        let meta = array.metadata();
        let format = match meta {
            ArrayMetadata::V2(_) => 2,
            ArrayMetadata::V3(_) => 3,
        };
        let stored = stored_type(array.data_type()).ok_or_else(|| {
            Error::Io(format!(
                "{what} has data type {}, which chunkwise cannot read (it reads bool, \
                 int8..int64, uint8..uint64, float32 and float64)",
                data_type_name(meta)
            ))
        })?;
        let shape: Vec<usize> = array.shape().iter().map(|&n| n as usize).collect();
        let chunks = if shape.is_empty() {
            None
        } else {
            array
                .chunk_shape_usize(&vec![0; shape.len()])
                .ok()
                .filter(|c| c.len() == shape.len())
        };
        let raw_attrs = array.attributes();
        let attrs = attrs_from_json(raw_attrs, Some(stored));
        let dims = match array.dimension_names() {
            Some(names) if names.iter().all(Option::is_some) => {
                names.iter().flatten().cloned().collect()
            }
            _ => match raw_attrs.get(ARRAY_DIMENSIONS) {
                Some(Value::Array(v)) => v
                    .iter()
                    .map(|d| d.as_str().map(str::to_string))
                    .collect::<Option<Vec<_>>>()
                    .unwrap_or_default(),
                _ => Vec::new(),
            },
        };
        let dims = if dims.len() == shape.len() {
            dims
        } else {
            // Made-up names, as xarray does for arrays it did not write.
            (0..shape.len()).map(|i| format!("dim_{i}")).collect()
        };
        Ok(Self {
            path: path.to_path_buf(),
            name,
            array: Arc::new(array),
            stored,
            shape,
            chunks,
            dims,
            attrs,
            format,
        })
    }

    /// The array's name in its group.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The type in the store.
    pub fn stored_type(&self) -> StoredType {
        self.stored
    }

    /// The dimension names (`dim_0`, `dim_1`, … when the store has none).
    pub fn dims(&self) -> &[String] {
        &self.dims
    }

    /// 2 or 3.
    pub fn zarr_format(&self) -> u8 {
        self.format
    }

    /// The attributes, without `_ARRAY_DIMENSIONS`; a v3 float array's base64
    /// `_FillValue` decoded to a number.
    pub fn attrs(&self) -> &Attrs {
        &self.attrs
    }

    /// The array's own `fill_value` (what unwritten chunks read as), as a
    /// number.
    pub fn fill_value(&self) -> Option<f64> {
        let b = self.array.fill_value().as_ne_bytes();
        let arr = |n: usize| -> Option<&[u8]> { b.get(..n) };
        Some(match self.stored {
            StoredType::Bool => f64::from(*b.first()?),
            StoredType::I8 => f64::from(*b.first()? as i8),
            StoredType::U8 => f64::from(*b.first()?),
            StoredType::I16 => f64::from(i16::from_ne_bytes(arr(2)?.try_into().ok()?)),
            StoredType::U16 => f64::from(u16::from_ne_bytes(arr(2)?.try_into().ok()?)),
            StoredType::I32 => f64::from(i32::from_ne_bytes(arr(4)?.try_into().ok()?)),
            StoredType::U32 => f64::from(u32::from_ne_bytes(arr(4)?.try_into().ok()?)),
            StoredType::I64 => i64::from_ne_bytes(arr(8)?.try_into().ok()?) as f64,
            StoredType::U64 => u64::from_ne_bytes(arr(8)?.try_into().ok()?) as f64,
            StoredType::F32 => f64::from(f32::from_ne_bytes(arr(4)?.try_into().ok()?)),
            StoredType::F64 => f64::from_ne_bytes(arr(8)?.try_into().ok()?),
        })
    }

    /// The CF encoding xarray would undo: the attributes, with (in v2) the
    /// array's `fill_value`, unless `null`, as `_FillValue`.
    ///
    /// # Errors
    /// [`Error::Io`] naming the array when an attribute has the wrong kind.
    pub fn cf_encoding(&self) -> Result<CfEncoding> {
        let mut attrs = self.attrs.clone();
        if let ArrayMetadata::V2(meta) = self.array.metadata() {
            attrs.remove("_FillValue");
            // `fill_value: null` is "no fill value" (xarray then masks nothing);
            // zarrs reads such chunks as zeros.
            let declared = meta.fill_value != zarrs::metadata::FillValueMetadata::Null;
            if let Some(f) = self.fill_value().filter(|_| declared) {
                let v = if self.stored.is_float() {
                    AttrValue::Float(vec![f])
                } else {
                    AttrValue::Int(vec![f as i64])
                };
                attrs.insert("_FillValue", v);
            }
        }
        CfEncoding::from_attrs(self.stored, &attrs)
            .map_err(|e| Error::Io(format!("{}: {e}", self.describe())))
    }

    /// The values as a source: CF-decoded when `mask_and_scale`, else as
    /// stored.
    ///
    /// # Errors
    /// As [`cf_encoding`](Self::cf_encoding).
    pub fn source(&self, mask_and_scale: bool) -> Result<Arc<dyn ChunkSource>> {
        let raw: Arc<dyn ChunkSource> = Arc::new(self.clone());
        if !mask_and_scale {
            return Ok(raw);
        }
        let enc = self.cf_encoding()?;
        Ok(if enc.is_identity() {
            raw
        } else {
            Arc::new(Decoded::new(raw, enc))
        })
    }

    /// The attributes as xarray shows them after CF decoding.
    ///
    /// # Errors
    /// As [`cf_encoding`](Self::cf_encoding).
    pub fn decoded_attrs(&self) -> Result<Attrs> {
        Ok(self.cf_encoding()?.decoded_attrs(&self.attrs))
    }

    /// The whole array in one chunk (for small coordinate arrays), CF-decoded
    /// when `mask_and_scale`.
    ///
    /// # Errors
    /// As [`ChunkSource::read`].
    pub fn read_all(&self, mask_and_scale: bool) -> Result<Chunk> {
        let start = vec![0; self.shape.len()];
        self.source(mask_and_scale)?.read(&start, &self.shape)
    }

    fn read_as<T: ElementOwned>(&self, start: &[usize], count: &[usize]) -> Result<ArrayD<T>> {
        let subset = ArraySubset::new_with_start_shape(
            start.iter().map(|&s| s as u64).collect(),
            count.iter().map(|&c| c as u64).collect(),
        )
        .map_err(|e| Error::internal(format!("region of {}: {e}", self.describe())))?;
        let a: ArrayD<T> = self.array.retrieve_array_subset(&subset).map_err(|e| {
            Error::Io(format!(
                "cannot read {} at start {start:?}, count {count:?} (corrupt chunk or \
                 unsupported codec?): {e}",
                self.describe()
            ))
        })?;
        Ok(a)
    }
}

fn data_type_name(meta: &ArrayMetadata) -> String {
    match meta {
        ArrayMetadata::V2(m) => format!("{:?}", m.dtype),
        ArrayMetadata::V3(m) => m.data_type.name().to_string(),
    }
}

/// "variable `name` of `path`".
fn describe(path: &Path, name: &str) -> String {
    format!("variable `{name}` of `{}`", path.display())
}

impl ChunkSource for ZarrVariable {
    fn shape(&self) -> &[usize] {
        &self.shape
    }

    fn dtype(&self) -> DType {
        self.stored.dtype()
    }

    fn file_chunks(&self) -> Option<Vec<usize>> {
        self.chunks.clone()
    }

    fn read(&self, start: &[usize], count: &[usize]) -> Result<Chunk> {
        check_region(self, start, count)?;
        let widen32 = |a: ArrayD<i32>| Chunk::I32(a);
        Ok(match self.stored {
            StoredType::Bool => Chunk::Bool(self.read_as::<bool>(start, count)?),
            StoredType::I8 => widen32(self.read_as::<i8>(start, count)?.mapv(i32::from)),
            StoredType::U8 => widen32(self.read_as::<u8>(start, count)?.mapv(i32::from)),
            StoredType::I16 => widen32(self.read_as::<i16>(start, count)?.mapv(i32::from)),
            StoredType::U16 => widen32(self.read_as::<u16>(start, count)?.mapv(i32::from)),
            StoredType::I32 => Chunk::I32(self.read_as::<i32>(start, count)?),
            StoredType::U32 => Chunk::I64(self.read_as::<u32>(start, count)?.mapv(i64::from)),
            StoredType::I64 => Chunk::I64(self.read_as::<i64>(start, count)?),
            StoredType::U64 => {
                let a = self.read_as::<u64>(start, count)?;
                if let Some(bad) = a.iter().find(|&&v| v > i64::MAX as u64) {
                    return Err(Error::Io(format!(
                        "{} holds the uint64 value {bad}, above the int64 range chunkwise \
                         computes with",
                        self.describe()
                    )));
                }
                Chunk::I64(a.mapv(|v| v as i64))
            }
            StoredType::F32 => Chunk::F32(self.read_as::<f32>(start, count)?),
            StoredType::F64 => Chunk::F64(self.read_as::<f64>(start, count)?),
        })
    }

    fn describe(&self) -> String {
        describe(&self.path, &self.name)
    }

    fn spec(&self) -> Option<SourceSpec> {
        Some(SourceSpec::Zarr {
            path: self.path.clone(),
            array: self.name.clone(),
            decode: false,
        })
    }
}

/// JSON attributes as [`Attrs`]: strings, numbers, booleans (as 0/1) and
/// lists of numbers; other values (objects, lists of strings, null) are
/// skipped, as is `_ARRAY_DIMENSIONS`. With `stored` a float type, a text
/// `_FillValue` is xarray's base64 of a little-endian float64 and is decoded.
pub(crate) fn attrs_from_json(
    map: &serde_json::Map<String, Value>,
    stored: Option<StoredType>,
) -> Attrs {
    let mut out = Attrs::new();
    for (name, v) in map {
        if name == ARRAY_DIMENSIONS {
            continue;
        }
        let value = match v {
            Value::String(s) if name == "_FillValue" && stored.is_some_and(|t| t.is_float()) => {
                match base64_decode(s).and_then(|b| <[u8; 8]>::try_from(b).ok()) {
                    Some(b) => AttrValue::Float(vec![f64::from_le_bytes(b)]),
                    None => AttrValue::Text(s.clone()),
                }
            }
            Value::String(s) => AttrValue::Text(s.clone()),
            Value::Bool(b) => AttrValue::Int(vec![i64::from(*b)]),
            Value::Number(_) => match json_numbers(std::slice::from_ref(v)) {
                Some(x) => x,
                None => continue,
            },
            Value::Array(items) => match json_numbers(items) {
                Some(x) => x,
                None => continue,
            },
            Value::Null | Value::Object(_) => continue,
        };
        out.insert_attr(Attr {
            name: name.clone(),
            value,
            stored: None,
        });
    }
    out
}

/// A list of JSON numbers (or the strings "NaN", "Infinity", "-Infinity") as
/// integers when all are, else floats.
fn json_numbers(items: &[Value]) -> Option<AttrValue> {
    if items.is_empty() {
        return None;
    }
    if items.iter().all(|v| v.as_i64().is_some()) {
        return Some(AttrValue::Int(
            items.iter().filter_map(Value::as_i64).collect(),
        ));
    }
    let floats = items
        .iter()
        .map(|v| match v {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => match s.as_str() {
                "NaN" => Some(f64::NAN),
                "Infinity" => Some(f64::INFINITY),
                "-Infinity" => Some(f64::NEG_INFINITY),
                _ => None,
            },
            _ => None,
        })
        .collect::<Option<Vec<f64>>>()?;
    Some(AttrValue::Float(floats))
}

/// [`Attrs`] as JSON attributes (numbers as scalars when there is one, lists
/// otherwise; NaN and infinities as zarr's strings).
pub(crate) fn attrs_to_json(attrs: &Attrs) -> serde_json::Map<String, Value> {
    let num = |x: f64| -> Value {
        if x.is_nan() {
            Value::from("NaN")
        } else if x.is_infinite() {
            Value::from(if x > 0.0 { "Infinity" } else { "-Infinity" })
        } else {
            Value::from(x)
        }
    };
    let mut out = serde_json::Map::new();
    for a in attrs {
        let v = match &a.value {
            AttrValue::Text(s) => Value::from(s.as_str()),
            AttrValue::Int(v) if v.len() == 1 => Value::from(v[0]),
            AttrValue::Int(v) => Value::from(v.clone()),
            AttrValue::Float(v) if v.len() == 1 => num(v[0]),
            AttrValue::Float(v) => Value::Array(v.iter().map(|&x| num(x)).collect()),
        };
        out.insert(a.name.clone(), v);
    }
    out
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 (with padding) of `bytes`.
pub(crate) fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::new();
    for c in bytes.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Standard base64 decoded; `None` if `s` is not base64.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let s = s.trim_end_matches('=');
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for ch in s.bytes() {
        let v = B64.iter().position(|&b| b == ch)? as u32;
        bits = (bits << 6) | v;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
            bits &= (1 << n) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_of_nan_is_what_xarray_writes() {
        let b = base64_encode(&f64::NAN.to_le_bytes());
        assert_eq!(b, "AAAAAAAA+H8=");
        let back = base64_decode(&b).unwrap();
        assert!(f64::from_le_bytes(back.try_into().unwrap()).is_nan());
        for s in [&b"a"[..], b"ab", b"abc", b"abcd"] {
            assert_eq!(base64_decode(&base64_encode(s)).unwrap(), s);
        }
        assert_eq!(base64_encode(b"ab"), "YWI=");
        assert_eq!(base64_decode("not*base64"), None);
    }
}
