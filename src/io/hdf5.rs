//! Reading HDF5 files: [`Hdf5File`] (open, list, attributes) and
//! [`Hdf5Variable`], a [`ChunkSource`] over one dataset.
//!
//! Files are opened with HDF5's default (serial, `sec2`) driver: reads run on the
//! worker threads of every rank without MPI. hdf5-metno serialises every HDF5
//! call behind one lock, so reads from several threads of a process take turns.
//! HDF5 applies the filters (deflate, shuffle, fletcher32) and converts the
//! stored byte order and width to the native type read.
//!
//! Stored types map to chunkwise dtypes as NumPy would widen them into the
//! supported set (see [`StoredType::dtype`]).

use std::fmt;
use std::path::{Path, PathBuf};

use ::hdf5::types::{FloatSize, IntSize, TypeDescriptor};
use ::hdf5::{H5Type, Hyperslab, SliceOrIndex};
use ndarray::{ArrayD, IxDyn};

use super::attrs::{
    dataset_tracks_order, group_tracks_order, read_attrs, root_tracks_order, Attrs,
};
use crate::error::{Error, Result};
use crate::kernel::source::{check_region, SourceSpec};
use crate::kernel::{Chunk, ChunkSource};
use crate::meta::DType;

/// The numeric type of a dataset or attribute in a file.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum StoredType {
    /// HDF5's boolean enum (`FALSE = 0`, `TRUE = 1` over int8), as h5py stores `bool`.
    Bool,
    I8,
    U8,
    I16,
    U16,
    I32,
    U32,
    I64,
    U64,
    F32,
    F64,
}

impl StoredType {
    /// The chunkwise dtype the values are read as: integers that fit widen to
    /// `int32` (int8, uint8, int16, uint16, int32) or `int64` (uint32, int64,
    /// uint64; a uint64 value above `i64::MAX` is an error at read); floats keep
    /// their width.
    ///
    /// ```
    /// use chunkwise::io::StoredType;
    /// use chunkwise::DType;
    /// assert_eq!(StoredType::U16.dtype(), DType::I32);
    /// assert_eq!(StoredType::U32.dtype(), DType::I64);
    /// ```
    pub fn dtype(self) -> DType {
        match self {
            StoredType::Bool => DType::Bool,
            StoredType::I8
            | StoredType::U8
            | StoredType::I16
            | StoredType::U16
            | StoredType::I32 => DType::I32,
            StoredType::U32 | StoredType::I64 | StoredType::U64 => DType::I64,
            StoredType::F32 => DType::F32,
            StoredType::F64 => DType::F64,
        }
    }

    /// NumPy's name for the type (`"int16"`, `"float32"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            StoredType::Bool => "bool",
            StoredType::I8 => "int8",
            StoredType::U8 => "uint8",
            StoredType::I16 => "int16",
            StoredType::U16 => "uint16",
            StoredType::I32 => "int32",
            StoredType::U32 => "uint32",
            StoredType::I64 => "int64",
            StoredType::U64 => "uint64",
            StoredType::F32 => "float32",
            StoredType::F64 => "float64",
        }
    }

    /// Bytes per element in the file.
    pub fn size(self) -> usize {
        match self {
            StoredType::Bool | StoredType::I8 | StoredType::U8 => 1,
            StoredType::I16 | StoredType::U16 => 2,
            StoredType::I32 | StoredType::U32 | StoredType::F32 => 4,
            StoredType::I64 | StoredType::U64 | StoredType::F64 => 8,
        }
    }

    /// A floating-point type.
    pub fn is_float(self) -> bool {
        matches!(self, StoredType::F32 | StoredType::F64)
    }

    /// An integer type (signed or not; not bool).
    pub fn is_int(self) -> bool {
        !self.is_float() && self != StoredType::Bool
    }

    /// An unsigned integer type.
    pub fn is_unsigned(self) -> bool {
        matches!(
            self,
            StoredType::U8 | StoredType::U16 | StoredType::U32 | StoredType::U64
        )
    }

    /// The integer type of the same width with the other signedness (`None` for
    /// floats and bool).
    pub fn flip_sign(self) -> Option<StoredType> {
        Some(match self {
            StoredType::I8 => StoredType::U8,
            StoredType::U8 => StoredType::I8,
            StoredType::I16 => StoredType::U16,
            StoredType::U16 => StoredType::I16,
            StoredType::I32 => StoredType::U32,
            StoredType::U32 => StoredType::I32,
            StoredType::I64 => StoredType::U64,
            StoredType::U64 => StoredType::I64,
            _ => return None,
        })
    }

    /// The stored type of an HDF5 type, `None` if not numeric.
    pub(crate) fn from_descriptor(d: &TypeDescriptor) -> Option<Self> {
        Some(match d {
            TypeDescriptor::Boolean => StoredType::Bool,
            TypeDescriptor::Integer(IntSize::U1) => StoredType::I8,
            TypeDescriptor::Integer(IntSize::U2) => StoredType::I16,
            TypeDescriptor::Integer(IntSize::U4) => StoredType::I32,
            TypeDescriptor::Integer(IntSize::U8) => StoredType::I64,
            TypeDescriptor::Unsigned(IntSize::U1) => StoredType::U8,
            TypeDescriptor::Unsigned(IntSize::U2) => StoredType::U16,
            TypeDescriptor::Unsigned(IntSize::U4) => StoredType::U32,
            TypeDescriptor::Unsigned(IntSize::U8) => StoredType::U64,
            TypeDescriptor::Float(FloatSize::U4) => StoredType::F32,
            TypeDescriptor::Float(FloatSize::U8) => StoredType::F64,
            _ => return None,
        })
    }
}

impl fmt::Display for StoredType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Words for an HDF5 type, for messages about types chunkwise cannot read.
pub(crate) fn describe_type(d: &TypeDescriptor) -> String {
    match d {
        TypeDescriptor::FixedAscii(n) | TypeDescriptor::FixedUnicode(n) => {
            format!("fixed-length string of {n} bytes")
        }
        TypeDescriptor::VarLenAscii | TypeDescriptor::VarLenUnicode => {
            "variable-length string".into()
        }
        TypeDescriptor::Compound(c) => {
            let fields: Vec<String> = c
                .fields
                .iter()
                .map(|f| format!("{}: {}", f.name, describe_type(&f.ty)))
                .collect();
            format!("compound {{{}}}", fields.join(", "))
        }
        TypeDescriptor::Enum(e) => format!(
            "enum of {} members over {}{}",
            e.members.len(),
            if e.signed { "int" } else { "uint" },
            e.size as usize * 8
        ),
        TypeDescriptor::FixedArray(t, n) => format!("array of {n} × {}", describe_type(t)),
        TypeDescriptor::VarLenArray(t) => {
            format!("variable-length array of {}", describe_type(t))
        }
        TypeDescriptor::Reference(_) => "reference".into(),
        other => match StoredType::from_descriptor(other) {
            Some(t) => t.name().into(),
            None => format!("{other:?}"),
        },
    }
}

/// The stored type of `ds`, or a description of a type chunkwise cannot read.
pub(crate) fn dataset_type(ds: &::hdf5::Dataset) -> std::result::Result<StoredType, String> {
    let dt = ds
        .dtype()
        .map_err(|e| format!("cannot read its type: {e}"))?;
    let desc = dt.to_descriptor().map_err(|e| {
        let size = dt.size();
        format!("an HDF5 type chunkwise does not know ({e}; {size} bytes per element)")
    })?;
    StoredType::from_descriptor(&desc).ok_or_else(|| describe_type(&desc))
}

/// "variable `air` of `data/air.nc`".
pub(crate) fn describe_var(path: &Path, var: &str) -> String {
    format!("variable `{var}` of `{}`", path.display())
}

/// The HDF5 signature, found at byte 0, 512, 1024, ... (after a user block).
const HDF5_MAGIC: &[u8; 8] = b"\x89HDF\r\n\x1a\n";

/// Why `path` cannot be an HDF5 file, checked before HDF5 sees it (so that
/// the message is one clear line): missing, a directory, a netCDF-3 file, or
/// no HDF5 signature.
fn precheck(path: &Path) -> Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    let shown = path.display();
    let mut f = std::fs::File::open(path).map_err(|e| {
        Error::Io(match e.kind() {
            std::io::ErrorKind::NotFound => format!("`{shown}`: no such file"),
            _ => format!("cannot open `{shown}`: {e}"),
        })
    })?;
    let len = f
        .metadata()
        .map_err(|e| Error::Io(format!("cannot open `{shown}`: {e}")))?
        .len();
    if std::fs::metadata(path).map(|m| m.is_dir()).unwrap_or(false) {
        return Err(Error::Io(format!("`{shown}` is a directory, not a file")));
    }
    let mut head = [0u8; 8];
    let n = f.read(&mut head).unwrap_or(0);
    if n >= 4 && &head[..3] == b"CDF" && matches!(head[3], 1 | 2 | 5) {
        return Err(Error::Io(format!(
            "`{shown}` is a netCDF-3 (classic) file; chunkwise reads NetCDF-4 (HDF5) files \
             only: convert it with `nccopy -k nc4 {shown} out.nc`"
        )));
    }
    let mut at = 0u64;
    while at + 8 <= len {
        if at > 0 {
            let ok = f.seek(SeekFrom::Start(at)).is_ok() && f.read_exact(&mut head).is_ok();
            if !ok {
                break;
            }
        }
        if &head == HDF5_MAGIC {
            return Ok(());
        }
        at = if at == 0 { 512 } else { at * 2 };
    }
    Err(Error::Io(format!(
        "`{shown}` is not an HDF5 or NetCDF-4 file (no HDF5 signature{})",
        if len == 0 { "; the file is empty" } else { "" }
    )))
}

/// An open HDF5 file (read-only, serial driver).
///
/// ```no_run
/// use chunkwise::io::Hdf5File;
/// let f = Hdf5File::open("data/types.h5")?;
/// for e in f.list()? {
///     println!("{}", e.path);
/// }
/// let x = f.variable("grp/sub/x")?;
/// # Ok::<(), chunkwise::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Hdf5File {
    path: PathBuf,
    file: ::hdf5::File,
}

/// One object of a file listed by [`Hdf5File::list`].
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// Path inside the file, without a leading `/` (`grp/sub/x`).
    pub path: String,
    pub kind: EntryKind,
}

/// What an [`Entry`] is.
#[derive(Clone, Debug, PartialEq)]
pub enum EntryKind {
    Group,
    Dataset {
        shape: Vec<usize>,
        /// The numeric type; `Err` describes a type chunkwise cannot read.
        dtype: std::result::Result<StoredType, String>,
    },
}

impl Hdf5File {
    /// Open `path` read-only.
    ///
    /// # Errors
    /// [`Error::Io`] naming the file when it is missing, not an HDF5 file, or
    /// truncated or corrupt where HDF5 checks on opening.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        precheck(&path)?;
        let file = ::hdf5::File::open(&path).map_err(|e| {
            Error::Io(format!(
                "cannot open `{}` as an HDF5/NetCDF-4 file (truncated or corrupt?): {e}",
                path.display()
            ))
        })?;
        Ok(Self { path, file })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The hdf5-metno handle.
    pub(crate) fn handle(&self) -> &::hdf5::File {
        &self.file
    }

    /// Attributes of the root group (a NetCDF-4 file's global attributes).
    pub fn attrs(&self) -> Result<Attrs> {
        read_attrs(&self.file, root_tracks_order(&self.file)).map_err(|e| {
            Error::Io(format!(
                "global attributes of `{}`: {e}",
                self.path.display()
            ))
        })
    }

    /// Attributes of dataset (or group) `var`.
    pub fn var_attrs(&self, var: &str) -> Result<Attrs> {
        let loc = self.location(var)?;
        let name = var.trim_start_matches('/');
        let tracked = if name.is_empty() {
            root_tracks_order(&self.file)
        } else {
            match loc.loc_type() {
                Ok(::hdf5::LocationType::Dataset) => self
                    .file
                    .dataset(name)
                    .is_ok_and(|d| dataset_tracks_order(&d)),
                Ok(::hdf5::LocationType::Group) => {
                    self.file.group(name).is_ok_and(|g| group_tracks_order(&g))
                }
                _ => false,
            }
        };
        read_attrs(&loc, tracked)
            .map_err(|e| Error::Io(format!("{}: {e}", describe_var(&self.path, var))))
    }

    /// Every group and dataset of the file, depth first, in creation order where
    /// the file tracks it (else by name).
    pub fn list(&self) -> Result<Vec<Entry>> {
        let mut out = Vec::new();
        list_group(&self.file, "", &mut out).map_err(|e| {
            Error::Io(format!(
                "cannot list the contents of `{}`: {e}",
                self.path.display()
            ))
        })?;
        Ok(out)
    }

    /// Dataset `var` (a path inside the file such as `grp/sub/x`) as a source.
    pub fn variable(&self, var: &str) -> Result<Hdf5Variable> {
        let ds = self.dataset(var)?;
        Hdf5Variable::from_dataset(&self.path, var, ds)
    }

    /// Open dataset `var`, with a message naming what the file has when it is
    /// missing.
    pub(crate) fn dataset(&self, var: &str) -> Result<::hdf5::Dataset> {
        let loc = self.location(var)?;
        match loc.loc_type() {
            Ok(::hdf5::LocationType::Dataset) => {}
            _ => {
                return Err(Error::Io(format!(
                    "{} is a group, not a variable (a dataset)",
                    describe_var(&self.path, var)
                )))
            }
        }
        self.file.dataset(var).map_err(|e| {
            Error::Io(format!(
                "cannot open {}: {e}",
                describe_var(&self.path, var)
            ))
        })
    }

    /// The object at `var`, or an error listing the datasets.
    fn location(&self, var: &str) -> Result<::hdf5::Location> {
        let name = var.trim_start_matches('/');
        if name.is_empty() {
            let root: &::hdf5::Location = &self.file;
            return Ok(root.clone());
        }
        // Check each component: H5Lexists fails on a missing intermediate group.
        let parts: Vec<&str> = name.split('/').filter(|p| !p.is_empty()).collect();
        let mut prefix = String::new();
        for p in &parts {
            if !prefix.is_empty() {
                prefix.push('/');
            }
            prefix.push_str(p);
            if !self.file.link_exists(&prefix) {
                return Err(self.missing(var));
            }
        }
        let info = self.file.loc_info_by_name(name).map_err(|e| {
            Error::Io(format!(
                "cannot open {}: {e}",
                describe_var(&self.path, var)
            ))
        })?;
        self.file.open_by_token(info.token).map_err(|e| {
            Error::Io(format!(
                "cannot open {}: {e}",
                describe_var(&self.path, var)
            ))
        })
    }

    fn missing(&self, var: &str) -> Error {
        let have: Vec<String> = self
            .list()
            .map(|l| {
                l.into_iter()
                    .filter(|e| matches!(e.kind, EntryKind::Dataset { .. }))
                    .map(|e| e.path)
                    .collect()
            })
            .unwrap_or_default();
        Error::Io(format!(
            "`{}` has no variable `{var}` (it has: {})",
            self.path.display(),
            if have.is_empty() {
                "no variables".to_string()
            } else {
                have.join(", ")
            }
        ))
    }
}

/// The names of the links of `g`, in creation order if tracked, else by name.
pub(crate) fn member_names(g: &::hdf5::Group) -> std::result::Result<Vec<String>, String> {
    use ::hdf5::{IndexType, IterationOrder};
    g.member_names_by(IndexType::CreationOrder, IterationOrder::Increasing)
        .or_else(|_| g.member_names_by(IndexType::Name, IterationOrder::Increasing))
        .map_err(|e| e.to_string())
}

fn list_group(
    g: &::hdf5::Group,
    prefix: &str,
    out: &mut Vec<Entry>,
) -> std::result::Result<(), String> {
    for name in member_names(g)? {
        let path = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}/{name}")
        };
        // Soft links to nowhere and external links are skipped.
        let Ok(ty) = g.loc_type_by_name(&name) else {
            continue;
        };
        match ty {
            ::hdf5::LocationType::Group => {
                out.push(Entry {
                    path: path.clone(),
                    kind: EntryKind::Group,
                });
                let sub = g.group(&name).map_err(|e| format!("group `{path}`: {e}"))?;
                list_group(&sub, &path, out)?;
            }
            ::hdf5::LocationType::Dataset => {
                let ds = g
                    .dataset(&name)
                    .map_err(|e| format!("dataset `{path}`: {e}"))?;
                out.push(Entry {
                    path,
                    kind: EntryKind::Dataset {
                        shape: ds.shape(),
                        dtype: dataset_type(&ds),
                    },
                });
            }
            _ => {}
        }
    }
    Ok(())
}

/// One HDF5 dataset as a [`ChunkSource`]: reads hyperslabs of it through a
/// handle kept open for the variable's lifetime.
///
/// Invariants: `extent` is the dataset's extent when opened; `shape` has as
/// many dims, each at least as long (longer only with a `pad` value: netCDF's
/// view of a variable shorter than its unlimited dimension); `stored` is the
/// numeric type; `chunks`, when set, has `shape.len()` entries.
#[derive(Clone, Debug)]
pub struct Hdf5Variable {
    path: PathBuf,
    name: String,
    ds: ::hdf5::Dataset,
    shape: Vec<usize>,
    extent: Vec<usize>,
    pad: Option<Pad>,
    stored: StoredType,
    chunks: Option<Vec<usize>>,
    /// How to open it again (a NetCDF variable says so; see `NcVar::raw`).
    spec: SourceSpec,
}

/// The value read beyond a dataset's extent (netCDF's fill value).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Pad {
    Int(i64),
    Float(f64),
    /// A uint64 fill above the int64 range: an error if it has to be read.
    TooBig(u64),
}

impl Pad {
    /// netCDF-C's default fill value for a type (`NC_FILL_SHORT`, ...).
    pub(crate) fn netcdf_default(t: StoredType) -> Pad {
        match t {
            StoredType::Bool => Pad::Int(0),
            StoredType::I8 => Pad::Int(-127),
            StoredType::U8 => Pad::Int(255),
            StoredType::I16 => Pad::Int(-32767),
            StoredType::U16 => Pad::Int(65535),
            StoredType::I32 => Pad::Int(-2147483647),
            StoredType::U32 => Pad::Int(4294967295),
            StoredType::I64 => Pad::Int(-9223372036854775806),
            StoredType::U64 => Pad::TooBig(18446744073709551614),
            StoredType::F32 => Pad::Float(9.969_21e36_f32 as f64),
            StoredType::F64 => Pad::Float(9.969_209_968_386_869e36),
        }
    }
}

impl Hdf5Variable {
    /// Open dataset `var` of the HDF5 file `path`.
    ///
    /// ```no_run
    /// use chunkwise::io::Hdf5Variable;
    /// use chunkwise::kernel::ChunkSource;
    /// let v = Hdf5Variable::open("data/types.h5", "grp/sub/x")?;
    /// let block = v.read(&[0, 0], &[2, 3])?;
    /// # Ok::<(), chunkwise::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Io`] naming the file and variable when the file cannot be opened,
    /// the variable does not exist, or its type is not numeric.
    pub fn open(path: impl AsRef<Path>, var: &str) -> Result<Self> {
        Hdf5File::open(path)?.variable(var)
    }

    /// A variable over an open dataset.
    pub(crate) fn from_dataset(path: &Path, var: &str, ds: ::hdf5::Dataset) -> Result<Self> {
        let what = describe_var(path, var);
        let stored = dataset_type(&ds)
            .map_err(|t| Error::Io(format!("{what} has type {t}, which chunkwise cannot read")))?;
        let shape = ds
            .space()
            .map_err(|e| Error::Io(format!("cannot read the shape of {what}: {e}")))?
            .shape();
        let chunks = ds.chunk().filter(|c| c.len() == shape.len());
        Ok(Self {
            path: path.to_path_buf(),
            name: var.trim_start_matches('/').to_string(),
            ds,
            extent: shape.clone(),
            shape,
            pad: None,
            stored,
            chunks,
            spec: SourceSpec::Hdf5 {
                path: path.to_path_buf(),
                dataset: var.trim_start_matches('/').to_string(),
            },
        })
    }

    /// The same variable, opened again elsewhere as `spec` says.
    pub(crate) fn with_spec(mut self, spec: SourceSpec) -> Self {
        self.spec = spec;
        self
    }

    /// The variable seen with `shape` (each dim at least the dataset's extent),
    /// reading `pad` beyond the extent: netCDF's view of a variable written
    /// shorter than its unlimited dimension.
    pub(crate) fn padded(mut self, shape: Vec<usize>, pad: Pad) -> Self {
        debug_assert!(shape.len() == self.extent.len());
        debug_assert!(shape.iter().zip(&self.extent).all(|(s, e)| s >= e));
        if shape != self.extent {
            self.shape = shape;
            self.pad = Some(pad);
        }
        self
    }

    /// The dataset's path inside the file.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The type in the file.
    pub fn stored_type(&self) -> StoredType {
        self.stored
    }

    /// The dataset's attributes.
    pub fn attrs(&self) -> Result<Attrs> {
        read_attrs(&self.ds, dataset_tracks_order(&self.ds))
            .map_err(|e| Error::Io(format!("{}: {e}", self.describe())))
    }

    /// The whole variable in one chunk (for small coordinate variables).
    pub fn read_all(&self) -> Result<Chunk> {
        let start = vec![0; self.shape.len()];
        self.read(&start, &self.shape.clone())
    }

    fn read_as<T: H5Type>(&self, start: &[usize], count: &[usize]) -> Result<ArrayD<T>> {
        let r = if self.extent.is_empty() {
            self.ds.read_dyn::<T>()
        } else {
            let sel: Vec<SliceOrIndex> = start
                .iter()
                .zip(count)
                .map(|(&s, &c)| SliceOrIndex::SliceCount {
                    start: s,
                    step: 1,
                    count: c,
                    block: 1,
                })
                .collect();
            self.ds
                .as_reader()
                .read_slice::<T, _, IxDyn>(Hyperslab::from(sel))
        };
        r.map_err(|e| {
            Error::Io(format!(
                "cannot read {} at start {start:?}, count {count:?} (truncated or corrupt file?): {e}",
                self.describe()
            ))
        })
    }
}

impl ChunkSource for Hdf5Variable {
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
        let nd = self.shape.len();
        let within = (0..nd).all(|d| start[d] + count[d] <= self.extent[d]);
        match self.pad {
            Some(pad) if !within => self.read_padded(start, count, pad),
            _ => self.read_stored(start, count),
        }
    }

    fn describe(&self) -> String {
        describe_var(&self.path, &self.name)
    }

    fn spec(&self) -> Option<SourceSpec> {
        Some(self.spec.clone())
    }
}

impl Hdf5Variable {
    /// A region partly beyond the dataset's extent: the stored part read, the
    /// rest `pad`.
    fn read_padded(&self, start: &[usize], count: &[usize], pad: Pad) -> Result<Chunk> {
        let inner: Vec<usize> = (0..start.len())
            .map(|d| {
                (start[d] + count[d])
                    .min(self.extent[d])
                    .saturating_sub(start[d])
            })
            .collect();
        let (pi, pf) = match pad {
            Pad::Int(v) => (v, v as f64),
            Pad::Float(v) => (v as i64, v),
            Pad::TooBig(v) => {
                return Err(Error::Io(format!(
                    "{} is shorter than its dimensions and its fill value {v} is above the \
                     int64 range chunkwise computes with",
                    self.describe()
                )))
            }
        };
        let mut out = match self.dtype() {
            DType::Bool => Chunk::Bool(ArrayD::from_elem(IxDyn(count), pi != 0)),
            DType::I32 => Chunk::I32(ArrayD::from_elem(IxDyn(count), pi as i32)),
            DType::I64 => Chunk::I64(ArrayD::from_elem(IxDyn(count), pi)),
            DType::F32 => Chunk::F32(ArrayD::from_elem(IxDyn(count), pf as f32)),
            DType::F64 => Chunk::F64(ArrayD::from_elem(IxDyn(count), pf)),
        };
        if inner.iter().all(|&n| n > 0) {
            let part = self.read_stored(start, &inner)?;
            let region: Vec<ndarray::SliceInfoElem> = inner
                .iter()
                .map(|&n| ndarray::SliceInfoElem::Slice {
                    start: 0,
                    end: Some(n as isize),
                    step: 1,
                })
                .collect();
            match (&mut out, &part) {
                (Chunk::Bool(o), Chunk::Bool(p)) => o.slice_mut(region.as_slice()).assign(p),
                (Chunk::I32(o), Chunk::I32(p)) => o.slice_mut(region.as_slice()).assign(p),
                (Chunk::I64(o), Chunk::I64(p)) => o.slice_mut(region.as_slice()).assign(p),
                (Chunk::F32(o), Chunk::F32(p)) => o.slice_mut(region.as_slice()).assign(p),
                (Chunk::F64(o), Chunk::F64(p)) => o.slice_mut(region.as_slice()).assign(p),
                _ => {
                    return Err(Error::internal(format!(
                        "padded read of {}: stored part has dtype {:?}",
                        self.describe(),
                        part.dtype()
                    )))
                }
            }
        }
        Ok(out)
    }

    /// A region inside the dataset's extent.
    fn read_stored(&self, start: &[usize], count: &[usize]) -> Result<Chunk> {
        Ok(match self.stored {
            StoredType::Bool => Chunk::Bool(self.read_as::<bool>(start, count)?),
            StoredType::I8
            | StoredType::U8
            | StoredType::I16
            | StoredType::U16
            | StoredType::I32 => Chunk::I32(self.read_as::<i32>(start, count)?),
            StoredType::U32 | StoredType::I64 => Chunk::I64(self.read_as::<i64>(start, count)?),
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
}
