//! Writing NetCDF-4 files: HDF5 files laid out as netCDF-C lays them out, so
//! that `ncdump`, netCDF-C programs and xarray read them.
//!
//! [`create_file`] makes the whole structure of a file from an [`NcLayout`]
//! (dimensions, variables with their chunking, compression, fill values and
//! attributes, coordinate values); [`NcWriter`] then writes the values of data
//! variables region by region (each rank its own chunks, see
//! `Dataset::to_netcdf`).
//!
//! # The layout written (netCDF-C's conventions)
//!
//! * The root group tracks and indexes the creation order of its links and
//!   attributes, and so does every dataset: netCDF-C lists variables and
//!   attributes in creation order when the file tracks it.
//! * Every dimension is an HDF5 dimension scale (`H5DSset_scale`) with a
//!   `_Netcdf4Dimid` attribute (its id, in the order of [`NcLayout::dims`]).
//!   A coordinate variable (1-D, named like its dimension) *is* the scale; a
//!   dimension without one gets netCDF-C's placeholder: a float dataset whose
//!   scale `NAME` is `This is a netCDF dimension but not a netCDF variable`
//!   followed by the length, which readers do not list as a variable.
//! * Every other variable has the scales of its dimensions attached, one per
//!   axis (`H5DSattach_scale`: its `DIMENSION_LIST`).
//! * Text attributes are fixed-length, NUL-terminated strings in a scalar
//!   dataspace (netCDF's `NC_CHAR`); numeric ones 1-D arrays of the stored
//!   type. Text variables are variable-length UTF-8 strings (netCDF's
//!   `NC_STRING`, what xarray writes for a `str` coordinate).
//! * `_NCProperties` names chunkwise and the HDF5 version (netCDF-C reads
//!   it for information only).
//!
//! Writing uses HDF5's serial driver from the calling thread, with HDF5's
//! file locking off: the writer's file is private by construction (a fresh
//! temporary name, ranks writing in turn), and a lock would outlive the writer
//! in any child process started meanwhile by another thread (HDF5 does not
//! open files close-on-exec, so the child inherits the locked descriptor and
//! the next open of the file fails with `unable to lock file`). This needs
//! HDF5 1.10.7 or later (not 1.12.0).

use std::ffi::{c_char, c_uint, CString};
use std::path::{Path, PathBuf};

use ::hdf5::plist::dataset_create::AllocTime;
use ::hdf5::plist::file_create::{AttrCreationOrder, LinkCreationOrder};
use ::hdf5::types::VarLenUnicode;
use ::hdf5::{H5Type, Hyperslab, Location, SliceOrIndex};
use hdf5_sys::h5::herr_t;
use hdf5_sys::h5i::hid_t;
use ndarray::ArrayD;

use super::attrs::{AttrValue, Attrs};
use super::hdf5::StoredType;
use crate::error::{Error, Result};
use crate::kernel::Chunk;

// The dimension-scale functions of HDF5's high-level library (linked through
// hdf5-sys's `hl` feature).
extern "C" {
    fn H5DSset_scale(dsid: hid_t, dimname: *const c_char) -> herr_t;
    fn H5DSattach_scale(did: hid_t, dsid: hid_t, idx: c_uint) -> herr_t;
}

/// The `NAME` of a dimension's placeholder scale, before its length.
const PURE_DIM_NAME: &str = "This is a netCDF dimension but not a netCDF variable";

/// The type of a variable in the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NcType {
    /// A number of this stored type.
    Num(StoredType),
    /// A variable-length UTF-8 string (netCDF's `NC_STRING`).
    Text,
}

impl NcType {
    fn name(self) -> &'static str {
        match self {
            NcType::Num(t) => t.name(),
            NcType::Text => "string",
        }
    }
}

/// Values written when the file is created (coordinates).
#[derive(Clone, Debug, PartialEq)]
pub enum NcData {
    Num(Chunk),
    Text(Vec<String>),
}

/// One variable of an [`NcLayout`].
#[derive(Clone, Debug)]
pub struct NcVarDef {
    pub name: String,
    /// Dimension names, one per axis (empty: a scalar).
    pub dims: Vec<String>,
    pub dtype: NcType,
    /// The HDF5 chunk shape; `None`: contiguous.
    pub chunks: Option<Vec<usize>>,
    /// Deflate level (0-9) with the shuffle filter; needs `chunks`.
    pub compression: Option<u8>,
    /// Write `_FillValue = NaN` (float types only) and make NaN the HDF5 fill.
    pub fill_nan: bool,
    /// Attributes, in order (`_FillValue` is added by `fill_nan`).
    pub attrs: Attrs,
    /// Values written at creation; `None` for values written later with
    /// [`NcWriter`].
    pub values: Option<NcData>,
}

/// The structure of a NetCDF-4 file: dimensions, variables, global attributes.
#[derive(Clone, Debug, Default)]
pub struct NcLayout {
    /// Dimensions and lengths, in id order.
    pub dims: Vec<(String, usize)>,
    /// Variables in creation order.
    pub vars: Vec<NcVarDef>,
    /// Global attributes.
    pub attrs: Attrs,
}

impl NcLayout {
    fn dim_len(&self, d: &str) -> Option<usize> {
        self.dims.iter().find(|(n, _)| n == d).map(|&(_, n)| n)
    }

    fn shape(&self, v: &NcVarDef) -> Result<Vec<usize>> {
        v.dims
            .iter()
            .map(|d| {
                self.dim_len(d).ok_or_else(|| {
                    Error::plan(format!(
                        "variable `{}` is along `{d}`, which is not a dimension of the file",
                        v.name
                    ))
                })
            })
            .collect()
    }

    /// The coordinate variable of dimension `d`, if any.
    fn coord_var(&self, d: &str) -> Option<&NcVarDef> {
        self.vars
            .iter()
            .find(|v| v.name == d && v.dims.len() == 1 && v.dims[0] == d)
    }
}

fn h5err(path: &Path, what: &str, e: impl std::fmt::Display) -> Error {
    Error::Io(format!("writing `{}`: {what}: {e}", path.display()))
}

/// Create the NetCDF-4 file `path` (overwriting one there) with the
/// structure of `layout`, and write the variables' [`NcVarDef::values`].
/// Chunked variables without compression have their space allocated now.
///
/// # Errors
/// [`Error::Io`] naming the file and variable when HDF5 refuses; [`Error::Plan`]
/// for a layout that cannot be a NetCDF-4 file (a variable along an unknown
/// dimension, values of the wrong length, compression without chunks).
pub fn create_file(path: &Path, layout: &NcLayout) -> Result<()> {
    check_layout(layout)?;
    let file = ::hdf5::File::with_options()
        .with_fapl(|p| p.file_locking(false))
        .with_fcpl(|p| {
            p.link_creation_order(LinkCreationOrder::Indexed)
                .attr_creation_order(AttrCreationOrder::Indexed)
        })
        .create(path)
        .map_err(|e| h5err(path, "cannot create the file", e))?;
    let (a, b, c) = ::hdf5::library_version();
    write_text_attr(
        &file,
        "_NCProperties",
        &format!(
            "version=2,chunkwise={},hdf5={a}.{b}.{c}",
            env!("CARGO_PKG_VERSION")
        ),
    )
    .map_err(|e| h5err(path, "global attributes", e))?;
    write_attrs(&file, &layout.attrs).map_err(|e| h5err(path, "global attributes", e))?;

    // Dimensions first (their coordinate variables, or placeholders), in id
    // order, then the other variables.
    let mut scales: Vec<::hdf5::Dataset> = Vec::with_capacity(layout.dims.len());
    for (id, (d, len)) in layout.dims.iter().enumerate() {
        let ds = match layout.coord_var(d) {
            Some(v) => create_var(&file, path, layout, v)?,
            None => {
                let what = format!("dimension `{d}`");
                let ds = file
                    .new_dataset::<f32>()
                    .attr_creation_order(AttrCreationOrder::Indexed)
                    .shape(vec![*len])
                    .create(d.as_str())
                    .map_err(|e| h5err(path, &what, e))?;
                set_scale(&ds, &format!("{PURE_DIM_NAME}{len:>10}"))
                    .map_err(|e| h5err(path, &what, e))?;
                ds
            }
        };
        if layout.coord_var(d).is_some() {
            set_scale(&ds, d).map_err(|e| h5err(path, &format!("dimension `{d}`"), e))?;
        }
        ds.new_attr::<i32>()
            .create("_Netcdf4Dimid")
            .and_then(|a| a.write_scalar(&(id as i32)))
            .map_err(|e| h5err(path, &format!("dimension `{d}`"), e))?;
        scales.push(ds);
    }
    for v in &layout.vars {
        if layout
            .coord_var(&v.name)
            .is_some_and(|c| std::ptr::eq(c, v))
        {
            continue;
        }
        let ds = create_var(&file, path, layout, v)?;
        for (axis, d) in v.dims.iter().enumerate() {
            let at = layout.dims.iter().position(|(n, _)| n == d).unwrap_or(0);
            attach_scale(&ds, &scales[at], axis).map_err(|e| {
                h5err(
                    path,
                    &format!("variable `{}`", v.name),
                    format!("attaching dimension `{d}`: {e}"),
                )
            })?;
        }
    }
    drop(scales);
    file.close().map_err(|e| h5err(path, "closing the file", e))
}

fn check_layout(layout: &NcLayout) -> Result<()> {
    for (i, (d, _)) in layout.dims.iter().enumerate() {
        if layout.dims[..i].iter().any(|(e, _)| e == d) {
            return Err(Error::plan(format!("dimension `{d}` is given twice")));
        }
    }
    for (i, v) in layout.vars.iter().enumerate() {
        if layout.vars[..i].iter().any(|w| w.name == v.name) {
            return Err(Error::plan(format!("variable `{}` is given twice", v.name)));
        }
        if layout.dim_len(&v.name).is_some() && layout.coord_var(&v.name).is_none() {
            return Err(Error::plan(format!(
                "variable `{}` is named like a dimension but is not that dimension's \
                 coordinate (1-D along it); rename the variable or the dimension",
                v.name
            )));
        }
        let shape = layout.shape(v)?;
        if let Some(c) = &v.chunks {
            if c.len() != shape.len() || c.contains(&0) {
                return Err(Error::plan(format!(
                    "variable `{}`: chunks {c:?} do not fit its shape {shape:?}",
                    v.name
                )));
            }
        }
        if v.compression.is_some() && v.chunks.is_none() {
            return Err(Error::plan(format!(
                "variable `{}`: compression needs a chunked variable",
                v.name
            )));
        }
        if let Some(level) = v.compression.filter(|&l| l > 9) {
            return Err(Error::plan(format!(
                "variable `{}`: deflate level {level} is not in 0..=9",
                v.name
            )));
        }
        let n: usize = shape.iter().product();
        let ok = match (&v.values, v.dtype) {
            (None, _) => true,
            (Some(NcData::Text(t)), NcType::Text) => t.len() == n,
            (Some(NcData::Num(c)), NcType::Num(_)) => c.shape() == shape.as_slice(),
            _ => false,
        };
        if !ok {
            return Err(Error::plan(format!(
                "variable `{}`: the values given do not have its type ({}) and shape {shape:?}",
                v.name,
                v.dtype.name()
            )));
        }
    }
    Ok(())
}

/// Create variable `v` (with its attributes and initial values).
fn create_var(
    file: &::hdf5::File,
    path: &Path,
    layout: &NcLayout,
    v: &NcVarDef,
) -> Result<::hdf5::Dataset> {
    let what = format!("variable `{}`", v.name);
    let shape = layout.shape(v)?;
    let mut b = file
        .new_dataset_builder()
        .attr_creation_order(AttrCreationOrder::Indexed);
    if let Some(c) = &v.chunks {
        b = b.chunk(c.clone());
        b = match v.compression {
            Some(level) => b.shuffle().deflate(level),
            None => b.alloc_time(Some(AllocTime::Early)),
        };
    }
    let nan = v.fill_nan;
    let name = v.name.as_str();
    let ds = match v.dtype {
        NcType::Text => b.empty::<VarLenUnicode>().shape(shape).create(name),
        NcType::Num(t) => match t {
            StoredType::F32 if nan => b
                .fill_value(f32::NAN)
                .empty::<f32>()
                .shape(shape)
                .create(name),
            StoredType::F64 if nan => b
                .fill_value(f64::NAN)
                .empty::<f64>()
                .shape(shape)
                .create(name),
            StoredType::F32 => b.empty::<f32>().shape(shape).create(name),
            StoredType::F64 => b.empty::<f64>().shape(shape).create(name),
            StoredType::Bool | StoredType::I8 => b.empty::<i8>().shape(shape).create(name),
            StoredType::U8 => b.empty::<u8>().shape(shape).create(name),
            StoredType::I16 => b.empty::<i16>().shape(shape).create(name),
            StoredType::U16 => b.empty::<u16>().shape(shape).create(name),
            StoredType::I32 => b.empty::<i32>().shape(shape).create(name),
            StoredType::U32 => b.empty::<u32>().shape(shape).create(name),
            StoredType::I64 => b.empty::<i64>().shape(shape).create(name),
            StoredType::U64 => b.empty::<u64>().shape(shape).create(name),
        },
    }
    .map_err(|e| h5err(path, &what, e))?;
    if nan {
        match v.dtype {
            NcType::Num(StoredType::F32) => write_num_attr(&ds, "_FillValue", &[f32::NAN]),
            NcType::Num(StoredType::F64) => write_num_attr(&ds, "_FillValue", &[f64::NAN]),
            _ => Ok(()),
        }
        .map_err(|e| h5err(path, &what, e))?;
    }
    write_attrs(&ds, &v.attrs).map_err(|e| h5err(path, &what, e))?;
    match &v.values {
        None => {}
        Some(NcData::Text(t)) => {
            let vals = t
                .iter()
                .map(|s| s.parse::<VarLenUnicode>())
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|e| h5err(path, &what, format!("a string it holds: {e}")))?;
            if v.dims.is_empty() {
                vals.first().map(|s| ds.write_scalar(s)).transpose()
            } else {
                ds.write_raw(&vals).map(Some)
            }
            .map_err(|e| h5err(path, &what, e))?;
        }
        Some(NcData::Num(c)) => {
            write_region(&ds, &vec![0; v.dims.len()], c).map_err(|e| h5err(path, &what, e))?;
        }
    }
    Ok(ds)
}

fn set_scale(ds: &::hdf5::Dataset, name: &str) -> std::result::Result<(), String> {
    let c = CString::new(name).map_err(|_| format!("the name {name:?} holds a NUL"))?;
    let rc = ::hdf5::sync::sync(|| {
        // SAFETY: `ds` holds a valid dataset id and `c` a NUL-terminated string,
        // both alive for the call.
        unsafe { H5DSset_scale(ds.id(), c.as_ptr()) }
    });
    if rc < 0 {
        return Err("H5DSset_scale failed".into());
    }
    Ok(())
}

fn attach_scale(
    ds: &::hdf5::Dataset,
    scale: &::hdf5::Dataset,
    axis: usize,
) -> std::result::Result<(), String> {
    let rc = ::hdf5::sync::sync(|| {
        // SAFETY: both ids are valid open datasets for the call; `axis` is below
        // the rank of `ds` (checked by HDF5, which fails otherwise).
        unsafe { H5DSattach_scale(ds.id(), scale.id(), axis as c_uint) }
    });
    if rc < 0 {
        return Err("H5DSattach_scale failed".into());
    }
    Ok(())
}

/// Write attributes in order: text as netCDF `NC_CHAR`, numbers as 1-D arrays
/// of their stored type (`float64`/`int64` when made in memory; integers that
/// fit as `int32`).
fn write_attrs(loc: &Location, attrs: &Attrs) -> std::result::Result<(), String> {
    for a in attrs {
        let n = a.name.as_str();
        let r = match &a.value {
            AttrValue::Text(s) => write_text_attr(loc, n, s),
            AttrValue::Float(v) => match a.stored {
                Some(StoredType::F32) => {
                    write_num_attr(loc, n, &v.iter().map(|&x| x as f32).collect::<Vec<_>>())
                }
                _ => write_num_attr(loc, n, v),
            },
            AttrValue::Int(v) => {
                let fits = |lo: i64, hi: i64| v.iter().all(|&x| x >= lo && x <= hi);
                match a.stored {
                    Some(StoredType::I8 | StoredType::Bool) if fits(-128, 127) => {
                        write_num_attr(loc, n, &v.iter().map(|&x| x as i8).collect::<Vec<_>>())
                    }
                    Some(StoredType::U8) if fits(0, 255) => {
                        write_num_attr(loc, n, &v.iter().map(|&x| x as u8).collect::<Vec<_>>())
                    }
                    Some(StoredType::I16) if fits(-32768, 32767) => {
                        write_num_attr(loc, n, &v.iter().map(|&x| x as i16).collect::<Vec<_>>())
                    }
                    Some(StoredType::U16) if fits(0, 65535) => {
                        write_num_attr(loc, n, &v.iter().map(|&x| x as u16).collect::<Vec<_>>())
                    }
                    Some(StoredType::U32) if fits(0, u32::MAX as i64) => {
                        write_num_attr(loc, n, &v.iter().map(|&x| x as u32).collect::<Vec<_>>())
                    }
                    Some(StoredType::I64 | StoredType::U64) => write_num_attr(loc, n, v),
                    _ if fits(i32::MIN as i64, i32::MAX as i64) => {
                        write_num_attr(loc, n, &v.iter().map(|&x| x as i32).collect::<Vec<_>>())
                    }
                    _ => write_num_attr(loc, n, v),
                }
            }
        };
        r.map_err(|e| format!("attribute `{n}`: {e}"))?;
    }
    Ok(())
}

fn write_num_attr<T: H5Type>(
    loc: &Location,
    name: &str,
    v: &[T],
) -> std::result::Result<(), String> {
    let attr = loc
        .new_attr::<T>()
        .shape(v.len())
        .create(name)
        .map_err(|e| e.to_string())?;
    attr.write_raw(v).map_err(|e| e.to_string())
}

/// A text attribute as netCDF-C writes `NC_CHAR` ones: a fixed-length string
/// of the text's bytes (at least one), NUL-terminated type, scalar dataspace;
/// UTF-8 character set when not ASCII.
fn write_text_attr(loc: &Location, name: &str, text: &str) -> std::result::Result<(), String> {
    use hdf5_sys::h5a::{H5Aclose, H5Acreate2, H5Awrite};
    use hdf5_sys::h5p::H5P_DEFAULT;
    use hdf5_sys::h5s::{H5S_class_t, H5Sclose, H5Screate};
    use hdf5_sys::h5t::{
        H5T_cset_t, H5T_str_t, H5Tclose, H5Tcopy, H5Tset_cset, H5Tset_size, H5Tset_strpad, H5T_C_S1,
    };
    let cname = CString::new(name).map_err(|_| format!("the name {name:?} holds a NUL"))?;
    if text.as_bytes().contains(&0) {
        return Err("the text holds a NUL byte".into());
    }
    let mut buf = text.as_bytes().to_vec();
    if buf.is_empty() {
        buf.push(0);
    }
    let cset = if text.is_ascii() {
        H5T_cset_t::H5T_CSET_ASCII
    } else {
        H5T_cset_t::H5T_CSET_UTF8
    };
    let ok = ::hdf5::sync::sync(|| {
        // SAFETY: every id used is created here and checked before use, and
        // closed before returning; H5Awrite reads `buf.len()` bytes from `buf`
        // (one element of the string type of that size).
        unsafe {
            let t = H5Tcopy(*H5T_C_S1);
            if t < 0 {
                return false;
            }
            let mut ok = H5Tset_size(t, buf.len()) >= 0
                && H5Tset_strpad(t, H5T_str_t::H5T_STR_NULLTERM) >= 0
                && H5Tset_cset(t, cset) >= 0;
            let s = H5Screate(H5S_class_t::H5S_SCALAR);
            if ok && s >= 0 {
                let a = H5Acreate2(loc.id(), cname.as_ptr(), t, s, H5P_DEFAULT, H5P_DEFAULT);
                ok = a >= 0 && H5Awrite(a, t, buf.as_ptr().cast()) >= 0;
                if a >= 0 {
                    H5Aclose(a);
                }
            } else {
                ok = false;
            }
            if s >= 0 {
                H5Sclose(s);
            }
            H5Tclose(t);
            ok
        }
    });
    if ok {
        Ok(())
    } else {
        Err("HDF5 refused the text attribute".into())
    }
}

/// Write `c` into `ds` at `offset` (converted to the file's type by HDF5;
/// booleans as int8).
fn write_region(ds: &::hdf5::Dataset, offset: &[usize], c: &Chunk) -> ::hdf5::Result<()> {
    fn put<T: H5Type>(ds: &::hdf5::Dataset, offset: &[usize], a: &ArrayD<T>) -> ::hdf5::Result<()> {
        if offset.is_empty() {
            return match a.iter().next() {
                Some(x) => ds.write_scalar(x),
                None => Ok(()),
            };
        }
        let sel: Vec<SliceOrIndex> = offset
            .iter()
            .zip(a.shape())
            .map(|(&o, &n)| SliceOrIndex::from(o..o + n))
            .collect();
        ds.write_slice(a, Hyperslab::from(sel))
    }
    match c {
        Chunk::Bool(a) => put(ds, offset, &a.mapv(|x| x as i8)),
        Chunk::I32(a) => put(ds, offset, a),
        Chunk::I64(a) => put(ds, offset, a),
        Chunk::F32(a) => put(ds, offset, a),
        Chunk::F64(a) => put(ds, offset, a),
    }
}

/// A NetCDF-4 file made by [`create_file`], open for writing variables'
/// values region by region.
pub struct NcWriter {
    file: ::hdf5::File,
    path: PathBuf,
}

impl NcWriter {
    /// Open `path` read-write (serial driver).
    ///
    /// # Errors
    /// [`Error::Io`] naming the file if HDF5 cannot open it.
    pub fn open(path: &Path) -> Result<NcWriter> {
        let file = ::hdf5::File::with_options()
            .with_fapl(|p| p.file_locking(false))
            .open_rw(path)
            .map_err(|e| h5err(path, "cannot open the file to write", e))?;
        Ok(NcWriter {
            file,
            path: path.to_path_buf(),
        })
    }

    /// Write `chunk` into variable `var` at `offset` (one index per axis).
    ///
    /// # Errors
    /// [`Error::Io`] naming the file and variable if the variable is missing or
    /// the region does not fit.
    pub fn write_chunk(&self, var: &str, offset: &[usize], chunk: &Chunk) -> Result<()> {
        let what = format!("variable `{var}`");
        let ds = self
            .file
            .dataset(var)
            .map_err(|e| h5err(&self.path, &what, e))?;
        write_region(&ds, offset, chunk).map_err(|e| {
            h5err(
                &self.path,
                &what,
                format!("region at {offset:?} of shape {:?}: {e}", chunk.shape()),
            )
        })
    }

    /// Flush and close the file.
    ///
    /// # Errors
    /// [`Error::Io`] naming the file if HDF5 cannot close it.
    pub fn close(self) -> Result<()> {
        let path = self.path;
        self.file
            .close()
            .map_err(|e| h5err(&path, "closing the file", e))
    }
}

/// The values of a string variable `var` of `path` (variable-length strings,
/// as xarray and netCDF-C write `NC_STRING`); `None` if `var` is not a
/// variable-length string variable.
///
/// # Errors
/// [`Error::Io`] naming the file and variable if it cannot be read.
pub fn read_strings(path: &Path, var: &str) -> Result<Option<Vec<String>>> {
    use ::hdf5::types::{TypeDescriptor, VarLenAscii};
    let what = || format!("variable `{var}` of `{}`", path.display());
    let file = ::hdf5::File::open(path).map_err(|e| Error::Io(format!("{}: {e}", what())))?;
    let ds = file
        .dataset(var)
        .map_err(|e| Error::Io(format!("{}: {e}", what())))?;
    let desc = ds
        .dtype()
        .and_then(|t| t.to_descriptor())
        .map_err(|e| Error::Io(format!("{}: {e}", what())))?;
    let e = |e: ::hdf5::Error| Error::Io(format!("{}: {e}", what()));
    Ok(Some(match desc {
        TypeDescriptor::VarLenUnicode => ds
            .read_raw::<VarLenUnicode>()
            .map_err(e)?
            .iter()
            .map(|s| s.as_str().to_string())
            .collect(),
        TypeDescriptor::VarLenAscii => ds
            .read_raw::<VarLenAscii>()
            .map_err(e)?
            .iter()
            .map(|s| s.as_str().to_string())
            .collect(),
        _ => return Ok(None),
    }))
}
