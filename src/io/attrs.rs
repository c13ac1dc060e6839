//! Attributes of HDF5 objects: [`AttrValue`], the ordered [`Attrs`] of one object,
//! and reading them from a file.
//!
//! Strings (fixed-length, as netCDF-C writes them, or variable-length, as h5py
//! does), and scalars or 1-D arrays of numbers are read. Attributes of other types
//! (compound, references, arrays of strings…) are skipped: NetCDF-4 keeps its own
//! bookkeeping in such attributes (`DIMENSION_LIST`, `REFERENCE_LIST`).

use std::fmt;

use ::hdf5::types::{TypeDescriptor, VarLenAscii, VarLenUnicode};

use super::hdf5::StoredType;

/// The value of one attribute.
///
/// Numbers are kept as a list even when the file stores a scalar (netCDF-C
/// stores every numeric attribute as a 1-element array): `Float(vec![0.01])`.
///
/// ```
/// use chunkwise::io::AttrValue;
/// assert_eq!(AttrValue::Text("degK".into()).to_string(), "degK");
/// assert_eq!(AttrValue::Float(vec![0.01]).to_string(), "0.01");
/// assert_eq!(AttrValue::Int(vec![1, 2]).to_string(), "[1, 2]");
/// ```
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum AttrValue {
    /// A string (fixed- or variable-length in the file).
    Text(String),
    /// Floating-point numbers (float32 values are widened exactly).
    Float(Vec<f64>),
    /// Integers of any width (and booleans as 0/1). A uint64 value above
    /// `i64::MAX` is kept as a [`AttrValue::Float`] instead.
    Int(Vec<i64>),
}

impl AttrValue {
    /// The text, for a [`AttrValue::Text`].
    pub fn as_text(&self) -> Option<&str> {
        match self {
            AttrValue::Text(s) => Some(s),
            _ => None,
        }
    }

    /// The numbers as `f64` (integers converted), `None` for text.
    pub fn to_f64s(&self) -> Option<Vec<f64>> {
        match self {
            AttrValue::Text(_) => None,
            AttrValue::Float(v) => Some(v.clone()),
            AttrValue::Int(v) => Some(v.iter().map(|&x| x as f64).collect()),
        }
    }

    /// The only number of a 1-element numeric attribute.
    pub fn as_scalar_f64(&self) -> Option<f64> {
        match self {
            AttrValue::Float(v) if v.len() == 1 => Some(v[0]),
            AttrValue::Int(v) if v.len() == 1 => Some(v[0] as f64),
            _ => None,
        }
    }

    /// How many values (1 for text).
    pub fn len(&self) -> usize {
        match self {
            AttrValue::Text(_) => 1,
            AttrValue::Float(v) => v.len(),
            AttrValue::Int(v) => v.len(),
        }
    }

    /// An empty numeric attribute.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A float printed the short way: values that are exactly a float32 print as
/// that float32 would (`0.1`, not `0.10000000149011612`), as NumPy prints a
/// float32 attribute.
fn fmt_float(v: f64, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    if v.is_finite() && (v as f32) as f64 == v {
        write!(f, "{:?}", v as f32)
    } else {
        write!(f, "{v:?}")
    }
}

impl fmt::Display for AttrValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn list<T: Copy>(
            f: &mut fmt::Formatter<'_>,
            v: &[T],
            one: impl Fn(T, &mut fmt::Formatter<'_>) -> fmt::Result,
        ) -> fmt::Result {
            if v.len() == 1 {
                return one(v[0], f);
            }
            f.write_str("[")?;
            for (i, &x) in v.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                one(x, f)?;
            }
            f.write_str("]")
        }
        match self {
            AttrValue::Text(s) => f.write_str(s),
            AttrValue::Float(v) => list(f, v, fmt_float),
            AttrValue::Int(v) => list(f, v, |x, f| write!(f, "{x}")),
        }
    }
}

/// One attribute: its name, value and, for numbers read from a file, the type
/// stored there (so that writing can store the same type back).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Attr {
    pub name: String,
    pub value: AttrValue,
    /// The numeric type in the file; `None` for text and for attributes made in
    /// memory.
    pub stored: Option<StoredType>,
}

/// The attributes of one object, in the file's order (creation order when the
/// file tracks it, as netCDF-C does; otherwise by name).
///
/// ```
/// use chunkwise::io::{AttrValue, Attrs};
/// let mut a = Attrs::new();
/// a.insert("units", AttrValue::Text("degK".into()));
/// a.insert("scale_factor", AttrValue::Float(vec![0.01]));
/// assert_eq!(a.get("units").and_then(|v| v.as_text()), Some("degK"));
/// assert_eq!(a.names().collect::<Vec<_>>(), ["units", "scale_factor"]);
/// ```
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Attrs {
    entries: Vec<Attr>,
}

impl Attrs {
    /// No attributes.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many attributes.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// No attributes at all.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The value of attribute `name`.
    pub fn get(&self, name: &str) -> Option<&AttrValue> {
        self.attr(name).map(|a| &a.value)
    }

    /// Attribute `name` with its stored type.
    pub fn attr(&self, name: &str) -> Option<&Attr> {
        self.entries.iter().find(|a| a.name == name)
    }

    /// The numeric type attribute `name` has in the file.
    pub fn stored_type(&self, name: &str) -> Option<StoredType> {
        self.attr(name).and_then(|a| a.stored)
    }

    /// Whether attribute `name` exists.
    pub fn contains(&self, name: &str) -> bool {
        self.attr(name).is_some()
    }

    /// The attributes in order.
    pub fn iter(&self) -> std::slice::Iter<'_, Attr> {
        self.entries.iter()
    }

    /// The names in order.
    pub fn names(&self) -> impl Iterator<Item = &str> + '_ {
        self.entries.iter().map(|a| a.name.as_str())
    }

    /// Set attribute `name` (kept in place if it exists, appended otherwise),
    /// with no stored type.
    pub fn insert(&mut self, name: impl Into<String>, value: AttrValue) {
        self.insert_attr(Attr {
            name: name.into(),
            value,
            stored: None,
        });
    }

    /// Set an attribute with its stored type.
    pub fn insert_attr(&mut self, attr: Attr) {
        match self.entries.iter_mut().find(|a| a.name == attr.name) {
            Some(a) => *a = attr,
            None => self.entries.push(attr),
        }
    }

    /// Remove attribute `name`, returning it.
    pub fn remove(&mut self, name: &str) -> Option<Attr> {
        let i = self.entries.iter().position(|a| a.name == name)?;
        Some(self.entries.remove(i))
    }

    /// Keep the attributes for which `keep` is true.
    pub fn retain(&mut self, mut keep: impl FnMut(&Attr) -> bool) {
        self.entries.retain(|a| keep(a));
    }
}

impl<'a> IntoIterator for &'a Attrs {
    type Item = &'a Attr;
    type IntoIter = std::slice::Iter<'a, Attr>;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter()
    }
}

impl FromIterator<Attr> for Attrs {
    fn from_iter<I: IntoIterator<Item = Attr>>(iter: I) -> Self {
        let mut a = Attrs::new();
        for x in iter {
            a.insert_attr(x);
        }
        a
    }
}

impl fmt::Display for Attrs {
    /// One `name: value` line per attribute, as xarray prints them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for a in &self.entries {
            writeln!(f, "{}: {}", a.name, a.value)?;
        }
        Ok(())
    }
}

/// The attributes of `loc` (a group or a dataset): in creation order when
/// `tracked` (netCDF-C tracks it), else by name (as h5py lists them).
/// Attributes of types that [`AttrValue`] cannot hold are skipped. The error is
/// a plain message; callers add the file and object.
pub(crate) fn read_attrs(
    loc: &::hdf5::Location,
    tracked: bool,
) -> std::result::Result<Attrs, String> {
    use ::hdf5::{IndexType, IterationOrder};
    let index = if tracked {
        IndexType::CreationOrder
    } else {
        IndexType::Name
    };
    let names = loc
        .attr_names_by(index, IterationOrder::Increasing)
        .or_else(|_| loc.attr_names())
        .map_err(|e| format!("cannot list attributes: {e}"))?;
    let mut out = Attrs::new();
    for name in names {
        let attr = loc
            .attr(&name)
            .map_err(|e| format!("cannot open attribute `{name}`: {e}"))?;
        if let Some((value, stored)) =
            read_attr(&attr).map_err(|e| format!("cannot read attribute `{name}`: {e}"))?
        {
            out.entries.push(Attr {
                name,
                value,
                stored,
            });
        }
    }
    Ok(out)
}

/// Whether a dataset records the creation order of its attributes.
pub(crate) fn dataset_tracks_order(ds: &::hdf5::Dataset) -> bool {
    ds.dcpl().is_ok_and(|p| {
        p.attr_creation_order() != ::hdf5::plist::dataset_create::AttrCreationOrder::Untracked
    })
}

/// Whether a group records the creation order of its attributes.
pub(crate) fn group_tracks_order(g: &::hdf5::Group) -> bool {
    g.gcpl().is_ok_and(|p| {
        p.attr_creation_order() != ::hdf5::plist::dataset_create::AttrCreationOrder::Untracked
    })
}

/// Whether a file's root group records the creation order of its attributes.
pub(crate) fn root_tracks_order(f: &::hdf5::File) -> bool {
    f.group("/").is_ok_and(|g| group_tracks_order(&g))
}

/// Read one attribute; `None` for a type [`AttrValue`] cannot hold.
pub(crate) fn read_attr(
    attr: &::hdf5::Attribute,
) -> std::result::Result<Option<(AttrValue, Option<StoredType>)>, String> {
    let dtype = attr.dtype().map_err(|e| e.to_string())?;
    let Ok(desc) = dtype.to_descriptor() else {
        return Ok(None);
    };
    let space = attr.space().map_err(|e| e.to_string())?;
    let n = if space.is_null() { 0 } else { space.size() };
    let e = |e: ::hdf5::Error| e.to_string();
    let value = match &desc {
        TypeDescriptor::FixedAscii(size) | TypeDescriptor::FixedUnicode(size) => {
            let mut strings = if n == 0 {
                vec![String::new()]
            } else {
                read_fixed_strings(attr, &dtype, *size, n)?
            };
            if strings.len() != 1 {
                return Ok(None);
            }
            return Ok(Some((AttrValue::Text(strings.remove(0)), None)));
        }
        TypeDescriptor::VarLenAscii => {
            let v = if n == 0 {
                vec![]
            } else {
                attr.read_raw::<VarLenAscii>().map_err(e)?
            };
            return Ok(match v.len() {
                0 => Some((AttrValue::Text(String::new()), None)),
                1 => Some((AttrValue::Text(v[0].as_str().to_owned()), None)),
                _ => None,
            });
        }
        TypeDescriptor::VarLenUnicode => {
            let v = if n == 0 {
                vec![]
            } else {
                attr.read_raw::<VarLenUnicode>().map_err(e)?
            };
            return Ok(match v.len() {
                0 => Some((AttrValue::Text(String::new()), None)),
                1 => Some((AttrValue::Text(v[0].as_str().to_owned()), None)),
                _ => None,
            });
        }
        _ => desc.clone(),
    };
    let Some(stored) = StoredType::from_descriptor(&value) else {
        return Ok(None);
    };
    let v = if n == 0 {
        match stored {
            StoredType::F32 | StoredType::F64 => AttrValue::Float(vec![]),
            _ => AttrValue::Int(vec![]),
        }
    } else {
        match stored {
            StoredType::F32 | StoredType::F64 => {
                AttrValue::Float(attr.read_raw::<f64>().map_err(e)?)
            }
            StoredType::U64 => {
                let v = attr.read_raw::<u64>().map_err(e)?;
                if v.iter().all(|&x| x <= i64::MAX as u64) {
                    AttrValue::Int(v.into_iter().map(|x| x as i64).collect())
                } else {
                    AttrValue::Float(v.into_iter().map(|x| x as f64).collect())
                }
            }
            StoredType::Bool => AttrValue::Int(
                attr.read_raw::<bool>()
                    .map_err(e)?
                    .into_iter()
                    .map(i64::from)
                    .collect(),
            ),
            _ => AttrValue::Int(attr.read_raw::<i64>().map_err(e)?),
        }
    };
    Ok(Some((v, Some(stored))))
}

/// The `n` fixed-length strings of `size` bytes each of an attribute, read
/// with the file's own string type (HDF5 1.10 has no conversion between
/// fixed- and variable-length strings). NUL bytes end a string; trailing
/// spaces of a space-padded type are removed.
fn read_fixed_strings(
    attr: &::hdf5::Attribute,
    dtype: &::hdf5::Datatype,
    size: usize,
    n: usize,
) -> std::result::Result<Vec<String>, String> {
    use hdf5_sys::h5a::H5Aread;
    use hdf5_sys::h5t::{H5T_str_t, H5Tget_size, H5Tget_strpad};

    let (tsize, pad) = ::hdf5::sync::sync(|| {
        // SAFETY: `dtype` holds a valid datatype id for the duration of the call.
        unsafe { (H5Tget_size(dtype.id()), H5Tget_strpad(dtype.id())) }
    });
    if tsize != size {
        return Err(format!(
            "string size {tsize} differs from the described {size}"
        ));
    }
    let mut buf = vec![0u8; size * n];
    let rc = ::hdf5::sync::sync(|| {
        // SAFETY: the attribute has `n` elements of the file type `dtype`, each
        // `size` bytes (checked above), so H5Aread writes exactly `size * n`
        // bytes into `buf`, which is that long. No conversion happens (memory
        // type = file type).
        unsafe { H5Aread(attr.id(), dtype.id(), buf.as_mut_ptr().cast()) }
    });
    if rc < 0 {
        return Err("H5Aread failed".into());
    }
    Ok(buf
        .chunks(size.max(1))
        .take(n)
        .map(|b| {
            let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
            let mut s = String::from_utf8_lossy(&b[..end]).into_owned();
            if matches!(pad, H5T_str_t::H5T_STR_SPACEPAD) {
                s.truncate(s.trim_end_matches(' ').len());
            }
            s
        })
        .collect())
}
