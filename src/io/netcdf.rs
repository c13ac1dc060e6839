//! Reading NetCDF-4 files: HDF5 files with netCDF-C's conventions for
//! dimensions. [`NcFile::open`] reads the root group's dimensions, variables
//! and global attributes; [`NcVar::source`] reads a variable, CF-decoded or raw.
//!
//! How dimensions are found (netCDF-C's layout, read without the H5DS library):
//!
//! * Every dimension is a dataset marked as a dimension scale (`CLASS =
//!   "DIMENSION_SCALE"`). A coordinate variable *is* its dimension's scale. A
//!   dimension without one is a placeholder dataset whose `NAME` starts with
//!   "This is a netCDF dimension but not a netCDF variable"; it is not listed as
//!   a variable. A dimension whose name is taken by a non-coordinate variable
//!   is stored as `_nc4_non_coord_<name>`.
//! * Dimension order is `_Netcdf4Dimid` (the ids netCDF-C gives dimensions),
//!   then creation order for scales without one.
//! * A variable's dimensions come from `DIMENSION_LIST` (one object reference
//!   per axis to the scale attached there); else from `_Netcdf4Coordinates`
//!   (dimension ids, written for multi-dimensional coordinate variables); else a
//!   1-D scale is its own dimension; else (a plain HDF5 dataset) netCDF-C's
//!   `phony_dim_N` dimensions are made up, one per distinct length.
//! * An unlimited dimension's length is the largest extent of the variables
//!   along it (its scale may not have been extended).
//!
//! netCDF's bookkeeping attributes (`_Netcdf4Dimid`, `_Netcdf4Coordinates`,
//! `DIMENSION_LIST`, `REFERENCE_LIST`, `CLASS`, `NAME`, `_nc3_strict`,
//! `_NCProperties`) are hidden from the attributes shown.
//!
//! Not read: nested groups (only the root group's variables are listed),
//! user-defined types, string/char variables (listed with their type, but
//! [`NcVar::source`] refuses them).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use ::hdf5::types::VarLenArray;
use ::hdf5::ObjectReference1;

use super::attrs::{dataset_tracks_order, group_tracks_order, read_attrs, AttrValue, Attrs};
use super::cf::{CfEncoding, Decoded};
use super::hdf5::{
    dataset_type, describe_var, member_names, Hdf5File, Hdf5Variable, Pad, StoredType,
};
use crate::error::{Error, Result};
use crate::kernel::source::SourceSpec;
use crate::kernel::{Chunk, ChunkSource};

/// Attributes netCDF-C keeps for itself (not shown to users).
pub const NC_INTERNAL_ATTRS: [&str; 10] = [
    "_Netcdf4Dimid",
    "_Netcdf4Coordinates",
    "DIMENSION_LIST",
    "REFERENCE_LIST",
    "CLASS",
    "NAME",
    "_nc3_strict",
    "_NCProperties",
    "_SuperblockVersion",
    "_IsNetcdf4",
];

/// The prefix of a placeholder dimension's `NAME`.
const PURE_DIM_NAME: &str = "This is a netCDF dimension but not a netCDF variable";

/// The prefix netCDF-C gives a dimension's dataset when a non-coordinate
/// variable has the dimension's name.
const NON_COORD_PREFIX: &str = "_nc4_non_coord_";

/// A NetCDF-4 file: its dimensions, variables and global attributes (root
/// group).
///
/// ```no_run
/// use chunkwise::io::NcFile;
/// let f = NcFile::open("data/air.nc")?;
/// println!("{:?}", f.dims); // [("time", 2920), ("lat", 25), ("lon", 53)]
/// let air = f.var("air")?;
/// let src = air.source(true)?; // CF-decoded: float32 with NaN for fill values
/// # Ok::<(), chunkwise::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct NcFile {
    file: Hdf5File,
    /// Dimensions and lengths in file order (netCDF dimension ids).
    pub dims: Vec<(String, usize)>,
    /// The unlimited dimensions.
    pub unlimited: Vec<String>,
    /// Variables in file order (creation order), coordinate variables included,
    /// placeholder dimension datasets excluded.
    pub vars: Vec<NcVar>,
    /// Global attributes (netCDF's own hidden).
    pub attrs: Attrs,
}

/// One variable of a [`NcFile`].
#[derive(Clone, Debug)]
pub struct NcVar {
    /// The variable's name.
    pub name: String,
    /// Its dimensions' names, one per axis.
    pub dims: Vec<String>,
    /// Its shape: its dimensions' lengths. (A variable written shorter than
    /// its unlimited dimension reads netCDF's fill value beyond what is
    /// stored, as netCDF-C does.)
    pub shape: Vec<usize>,
    /// Its type in the file; `Err` describes a type chunkwise cannot read (a
    /// string or char variable, say).
    pub dtype: std::result::Result<StoredType, String>,
    /// Its attributes, CF ones included (netCDF's own hidden). See
    /// [`NcVar::decoded_attrs`] for what xarray shows after decoding.
    pub attrs: Attrs,
    /// The file's chunk shape, for a chunked variable.
    pub chunks: Option<Vec<usize>>,
    file: Hdf5File,
    ds: ::hdf5::Dataset,
    /// The dataset's extent (`shape` or shorter along unlimited dims).
    extent: Vec<usize>,
    /// Its path in the file (`grp/x`), for messages.
    full: String,
}

/// What a dataset of the group (or a dimension of a parent group) is, before
/// dimensions are resolved.
struct Item {
    name: String,
    /// Its path in the file.
    full: String,
    /// In the group opened (not a parent).
    inner: bool,
    ds: ::hdf5::Dataset,
    attrs: Attrs,
    shape: Vec<usize>,
    /// The dimension it is the scale of.
    scale_of: Option<String>,
    /// A placeholder for a dimension without a coordinate variable.
    pure_dim: bool,
}

impl Item {
    /// A dataset's attributes, shape and dimension-scale role. `None` for a
    /// dataset of a parent group that is not a dimension (not visible here).
    fn read(
        name: String,
        full: String,
        ds: ::hdf5::Dataset,
        inner: bool,
        what: &str,
    ) -> Result<Option<Item>> {
        let is_scale_attr = ds
            .attr("CLASS")
            .ok()
            .and_then(|a| super::attrs::read_attr(&a).ok().flatten())
            .is_some_and(|(v, _)| v.as_text() == Some("DIMENSION_SCALE"));
        if !inner && !is_scale_attr {
            return Ok(None);
        }
        let attrs = read_attrs(&ds, dataset_tracks_order(&ds))
            .map_err(|e| Error::Io(format!("{what}: {e}")))?;
        let shape = ds
            .space()
            .map_err(|e| Error::Io(format!("cannot read the shape of {what}: {e}")))?
            .shape();
        let is_scale = attrs.get("CLASS").and_then(|v| v.as_text()) == Some("DIMENSION_SCALE");
        let pure_dim = is_scale
            && attrs
                .get("NAME")
                .and_then(|v| v.as_text())
                .is_some_and(|n| n.starts_with(PURE_DIM_NAME));
        let scale_of = is_scale.then(|| {
            name.strip_prefix(NON_COORD_PREFIX)
                .unwrap_or(&name)
                .to_string()
        });
        // A variable named like a dimension it does not hold is stored
        // under a prefix (the dimension's placeholder has the name).
        let name = match (&scale_of, name.strip_prefix(NON_COORD_PREFIX)) {
            (None, Some(n)) => n.to_string(),
            _ => name,
        };
        Ok(Some(Item {
            name,
            ds,
            attrs,
            shape,
            scale_of,
            pure_dim,
            full,
            inner,
        }))
    }
}

fn int_attr(attrs: &Attrs, name: &str) -> Option<Vec<i64>> {
    match attrs.get(name)? {
        AttrValue::Int(v) => Some(v.clone()),
        _ => None,
    }
}

fn visible(attrs: &Attrs) -> Attrs {
    let mut a = attrs.clone();
    a.retain(|x| !NC_INTERNAL_ATTRS.contains(&x.name.as_str()));
    a
}

impl NcFile {
    /// Open `path` and read its structure (no variable data).
    ///
    /// # Errors
    /// [`Error::Io`] naming the file (and variable, where one is at fault) when
    /// the file is missing, not NetCDF-4/HDF5, corrupt, or its dimensions are
    /// inconsistent.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_group(path, "")
    }

    /// Open group `group` of `path` (`"grp/sub"`; `""` or `"/"` is the root,
    /// as [`NcFile::open`]): its variables and attributes, and the dimensions
    /// they use (defined in it or in a parent group).
    ///
    /// # Errors
    /// As [`NcFile::open`], and [`Error::Io`] when the group does not exist.
    pub fn open_group(path: impl AsRef<Path>, group: &str) -> Result<Self> {
        let file = Hdf5File::open(path)?;
        let shown = file.path().display().to_string();
        let group = group.trim_matches('/').to_string();
        // The group and its parents, outermost first.
        let mut chain = vec![String::new()];
        for part in group.split('/').filter(|p| !p.is_empty()) {
            let parent = chain.last().cloned().unwrap_or_default();
            chain.push(if parent.is_empty() {
                part.to_string()
            } else {
                format!("{parent}/{part}")
            });
        }
        let mut groups = Vec::new();
        for g in &chain {
            let h = if g.is_empty() {
                file.handle().group("/")
            } else {
                file.handle().group(g)
            }
            .map_err(|_| Error::Io(format!("`{shown}` has no group `{g}`")))?;
            groups.push((g.clone(), h));
        }

        let mut items = Vec::new();
        for (level, (gname, g)) in groups.iter().enumerate() {
            let inner = level + 1 == groups.len();
            let names = member_names(g)
                .map_err(|e| Error::Io(format!("cannot list the variables of `{shown}`: {e}")))?;
            for name in names {
                let Ok(::hdf5::LocationType::Dataset) = g.loc_type_by_name(&name) else {
                    continue; // groups, named types, dangling links
                };
                let full = if gname.is_empty() {
                    name.clone()
                } else {
                    format!("{gname}/{name}")
                };
                let what = describe_var(file.path(), &full);
                let ds = g
                    .dataset(&name)
                    .map_err(|e| Error::Io(format!("cannot open {what}: {e}")))?;
                if let Some(it) = Item::read(name, full, ds, inner, &what)? {
                    items.push(it);
                }
            }
        }
        Self::build(file, groups.pop().map(|(_, g)| g), items)
    }

    /// Dimensions and variables from the datasets of a group and its parents.
    fn build(file: Hdf5File, group: Option<::hdf5::Group>, items: Vec<Item>) -> Result<Self> {
        // Dimensions: the scales, by _Netcdf4Dimid, then creation order.
        let mut scales: Vec<(i64, usize, &Item)> = items
            .iter()
            .enumerate()
            .filter(|(_, it)| it.scale_of.is_some())
            .map(|(i, it)| {
                let id = int_attr(&it.attrs, "_Netcdf4Dimid")
                    .and_then(|v| v.first().copied())
                    .unwrap_or(i64::MAX);
                (id, i, it)
            })
            .collect();
        scales.sort_by_key(|&(id, i, _)| (id, i));
        let mut dims: Vec<(String, usize)> = Vec::new();
        // Whether each dimension is defined in the group opened (kept even
        // if unused) rather than a parent (kept only if used).
        let mut defined_here: Vec<bool> = Vec::new();
        let mut unlimited = Vec::new();
        let mut by_id: HashMap<i64, String> = HashMap::new();
        for &(id, _, it) in &scales {
            let dim = it.scale_of.clone().unwrap_or_default();
            let len = it.shape.first().copied().unwrap_or(0);
            let maxdims = it.ds.space().map(|s| s.maxdims()).unwrap_or_default();
            let is_unlimited = maxdims.first().is_some_and(|m| m.is_none());
            if id != i64::MAX {
                by_id.insert(id, dim.clone());
            }
            match dims.iter().position(|(d, _)| *d == dim) {
                // A group's own dimension hides a parent's of the same name.
                Some(k) if it.inner && !defined_here[k] => {
                    dims[k].1 = len;
                    defined_here[k] = true;
                    unlimited.retain(|u| *u != dim);
                }
                Some(_) => continue,
                None => {
                    dims.push((dim.clone(), len));
                    defined_here.push(it.inner);
                }
            }
            if is_unlimited {
                unlimited.push(dim);
            }
        }

        // Variables and their dimensions.
        let mut vars = Vec::new();
        let mut phony: Vec<(String, usize)> = Vec::new();
        for it in items.into_iter().filter(|it| it.inner && !it.pure_dim) {
            let what = describe_var(file.path(), &it.full);
            let nd = it.shape.len();
            let var_dims = if nd == 0 {
                vec![]
            } else if let Some(d) = dimension_list(&file, &it.ds, nd) {
                d
            } else if let Some(d) = int_attr(&it.attrs, "_Netcdf4Coordinates")
                .filter(|v| v.len() == nd)
                .and_then(|ids| {
                    ids.iter()
                        .map(|id| by_id.get(id).cloned())
                        .collect::<Option<Vec<_>>>()
                })
            {
                d
            } else if let (Some(d), 1) = (&it.scale_of, nd) {
                vec![d.clone()]
            } else {
                phony_dims(&it.shape, &mut phony)
            };
            // Lengths: a fixed dimension must match; an unlimited one grows.
            for (axis, d) in var_dims.iter().enumerate() {
                let n = it.shape[axis];
                match dims.iter_mut().find(|(name, _)| name == d) {
                    Some((_, len)) if unlimited.contains(d) => *len = (*len).max(n),
                    Some((_, len)) if *len != n => {
                        return Err(Error::Io(format!(
                            "{what} has length {n} along dimension `{d}`, which has length {len}"
                        )))
                    }
                    Some(_) => {}
                    None => {
                        dims.push((d.clone(), n));
                        defined_here.push(true);
                    }
                }
            }
            let chunks = it.ds.chunk().filter(|c| c.len() == nd);
            vars.push(NcVar {
                dtype: dataset_type(&it.ds),
                name: it.name,
                dims: var_dims,
                shape: it.shape.clone(),
                attrs: visible(&it.attrs),
                chunks,
                file: file.clone(),
                ds: it.ds,
                extent: it.shape,
                full: it.full,
            });
        }
        // Parent groups' dimensions only if a variable here uses them.
        let mut k = 0;
        dims.retain(|(d, _)| {
            let keep = defined_here.get(k).copied().unwrap_or(true)
                || vars.iter().any(|v| v.dims.contains(d));
            k += 1;
            keep
        });
        unlimited.retain(|u| dims.iter().any(|(d, _)| d == u));
        // Shapes are the dimensions' lengths (longer than the extent along an
        // unlimited dimension some other variable grew further).
        for v in &mut vars {
            for (axis, d) in v.dims.iter().enumerate() {
                if let Some((_, n)) = dims.iter().find(|(name, _)| name == d) {
                    v.shape[axis] = *n;
                }
            }
        }

        let attrs = match &group {
            Some(g) => read_attrs(g, group_tracks_order(g)),
            None => Ok(Attrs::new()),
        }
        .map_err(|e| Error::Io(format!("attributes of `{}`: {e}", file.path().display())))?;
        let attrs = visible(&attrs);
        Ok(Self {
            file,
            dims,
            unlimited,
            vars,
            attrs,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        self.file.path()
    }

    /// Variable `name`.
    ///
    /// # Errors
    /// [`Error::Io`] naming the file and the variable, listing the variables
    /// the file has.
    pub fn var(&self, name: &str) -> Result<&NcVar> {
        self.vars.iter().find(|v| v.name == name).ok_or_else(|| {
            let have: Vec<&str> = self.vars.iter().map(|v| v.name.as_str()).collect();
            Error::Io(format!(
                "`{}` has no variable `{name}` (it has: {})",
                self.path().display(),
                if have.is_empty() {
                    "no variables".to_string()
                } else {
                    have.join(", ")
                }
            ))
        })
    }

    /// The length of dimension `name`.
    pub fn dim(&self, name: &str) -> Option<usize> {
        self.dims.iter().find(|(d, _)| d == name).map(|&(_, n)| n)
    }

    /// The coordinate variable of dimension `dim` (1-D, named like it), if any.
    pub fn dim_coord(&self, dim: &str) -> Option<&NcVar> {
        self.vars.iter().find(|v| v.is_dim_coord() && v.name == dim)
    }
}

/// A variable's dimensions from its `DIMENSION_LIST`: the names of the scales
/// attached to each axis. `None` if absent or unusable.
fn dimension_list(file: &Hdf5File, ds: &::hdf5::Dataset, nd: usize) -> Option<Vec<String>> {
    let attr = ds.attr("DIMENSION_LIST").ok()?;
    let refs = attr.read_raw::<VarLenArray<ObjectReference1>>().ok()?;
    if refs.len() != nd {
        return None;
    }
    let mut out = Vec::with_capacity(nd);
    for axis in &refs {
        let r = axis.first()?;
        let scale = match file.handle().dereference(r).ok()? {
            ::hdf5::ReferencedObject::Dataset(d) => d,
            _ => return None,
        };
        let full = scale.name();
        let base = full.rsplit('/').next().unwrap_or(&full);
        out.push(
            base.strip_prefix(NON_COORD_PREFIX)
                .unwrap_or(base)
                .to_string(),
        );
    }
    Some(out)
}

/// netCDF-C's names for the axes of a dataset without dimension scales: a
/// `phony_dim_N` per distinct length, reused by later datasets but not twice
/// within one.
fn phony_dims(shape: &[usize], phony: &mut Vec<(String, usize)>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(shape.len());
    for &n in shape {
        let found = phony
            .iter()
            .find(|(name, len)| *len == n && !out.contains(name))
            .map(|(name, _)| name.clone());
        let name = found.unwrap_or_else(|| {
            let name = format!("phony_dim_{}", phony.len());
            phony.push((name.clone(), n));
            name
        });
        out.push(name);
    }
    out
}

impl NcVar {
    /// A dimension coordinate: 1-D and named like its dimension.
    pub fn is_dim_coord(&self) -> bool {
        self.dims.len() == 1 && self.dims[0] == self.name
    }

    /// What this is, for messages: "variable `air` of `data/air.nc`".
    pub fn describe(&self) -> String {
        describe_var(self.file.path(), &self.full)
    }

    /// The stored type, or an [`Error::Io`] naming the variable and the type
    /// it has.
    pub fn stored_type(&self) -> Result<StoredType> {
        self.dtype.clone().map_err(|t| {
            Error::Io(format!(
                "{} has type {t}, which chunkwise cannot read",
                self.describe()
            ))
        })
    }

    /// The raw (undecoded) source: stored values, as [`StoredType::dtype`].
    pub fn raw(&self) -> Result<Hdf5Variable> {
        let group = match self.full.rsplit_once('/') {
            Some((g, _)) => g.to_string(),
            None => String::new(),
        };
        let v = Hdf5Variable::from_dataset(self.file.path(), &self.full, self.ds.clone())?
            .with_spec(SourceSpec::NetCdf {
                path: self.file.path().to_path_buf(),
                group,
                var: self.name.clone(),
                decode: false,
            });
        if self.shape == self.extent {
            return Ok(v);
        }
        // Beyond the stored extent netCDF-C reads the fill value: _FillValue,
        // else the type's default.
        let stored = v.stored_type();
        let pad = match self.attrs.get("_FillValue") {
            Some(AttrValue::Int(x)) if x.len() == 1 => Pad::Int(x[0]),
            Some(AttrValue::Float(x)) if x.len() == 1 => Pad::Float(x[0]),
            _ => Pad::netcdf_default(stored),
        };
        Ok(v.padded(self.shape.clone(), pad))
    }

    /// How the values are encoded (CF attributes), read from the attributes.
    pub fn encoding(&self) -> Result<CfEncoding> {
        CfEncoding::from_attrs(self.stored_type()?, &self.attrs)
            .map_err(|e| Error::Io(format!("{}: {e}", self.describe())))
    }

    /// The attributes xarray shows after decoding (the CF ones consumed by
    /// [`NcVar::encoding`] removed).
    pub fn decoded_attrs(&self) -> Result<Attrs> {
        Ok(self.encoding()?.decoded_attrs(&self.attrs))
    }

    /// The variable as a source: CF-decoded when `decode` (a [`Decoded`], or the
    /// raw source when there is nothing to decode), else the raw values.
    ///
    /// # Errors
    /// [`Error::Io`] naming the file and the variable when its type cannot be
    /// read or its CF attributes are malformed.
    pub fn source(&self, decode: bool) -> Result<Arc<dyn ChunkSource>> {
        let raw = self.raw()?;
        if !decode {
            return Ok(Arc::new(raw));
        }
        let enc = self.encoding()?;
        if enc.is_identity() {
            return Ok(Arc::new(raw));
        }
        Ok(Arc::new(Decoded::new(Arc::new(raw), enc)))
    }

    /// All values in one chunk (for small coordinate variables), decoded when
    /// `decode`.
    pub fn read_all(&self, decode: bool) -> Result<Chunk> {
        let src = self.source(decode)?;
        let start = vec![0; self.shape.len()];
        src.read(&start, &self.shape)
    }
}
