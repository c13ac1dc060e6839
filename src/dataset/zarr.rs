//! Zarr stores as datasets: [`open_zarr`] (v3 and v2 groups, as xarray writes
//! them) and [`Dataset::to_zarr`] / [`DataArray::to_zarr`] (a v3 group that
//! xarray reads back), every rank writing its own chunks.
//!
//! # Layout written
//!
//! A v3 group: the dataset's attributes on the root `zarr.json`, with
//! consolidated metadata (what `xr.open_zarr` looks for first); one array per
//! coordinate (times CF-encoded with `units`/`calendar`, written whole) and per
//! data variable, each with `dimension_names`, its attributes, `fill_value`
//! NaN for floats (and xarray's `_FillValue` attribute, the base64 of NaN as a
//! little-endian float64), zstd compression, and the array's chunks as the
//! Zarr chunks (rechunked to a regular grid first when they are not one).
//!
//! # How
//!
//! Rank 0 chooses a temporary directory next to the final one
//! (`.<name>.partial-<pid>-<nanos>`) and writes all metadata and the
//! coordinates there. Then, per data variable, every rank computes the chunks
//! it owns ([`Session::compute_owned`]) and writes them, all ranks at once: a
//! Zarr chunk is its own file. Last, rank 0 renames the directory onto the
//! final name (a store already there is moved aside first and removed after).
//! Every step ends with the ranks agreeing on whether any failed; on a failure
//! all return the same error and the temporary directory is removed.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{json, Value};
use zarrs::array::codec::ZstdCodec;
use zarrs::array::{data_type, Array as ZArray, ArrayBuilder};
use zarrs::filesystem::FilesystemStore;

use super::coord::{Coord, CoordValues, Coords};
use super::dataarray::DataArray;
use super::open::{floats, OpenOptions};
use super::set::Dataset;
use super::time::{self, Calendar, CfUnits};
use super::write::{infer_units, temp_name, UNNAMED};
use super::{AttrValue, Attrs};
use crate::array::creation::from_source;
use crate::array::Array;
use crate::error::{Error, Result};
use crate::io::zarr::{attrs_to_json, base64_encode};
use crate::io::{ZarrStore, ZarrVariable};
use crate::kernel::Chunk;
use crate::meta::{ChunkSpec, DType, DimChunks};
use crate::session::agree;
use crate::session::{self, Session};

/// Open a Zarr group (v3 or v2, as `xr.open_zarr` reads one written by
/// xarray): dimension coordinates (1-D arrays named like their dimension, and
/// arrays listed in a `coordinates` attribute) read in full with times
/// decoded; data variables as chunked arrays read lazily, CF-decoded.
///
/// ```no_run
/// use chunkwise::dataset::{open_zarr, OpenOptions};
/// let ds = open_zarr("air.zarr", &OpenOptions::default())?;
/// let air = ds.get("air")?;
/// # Ok::<(), chunkwise::Error>(())
/// ```
///
/// # Errors
/// [`Error::Io`] naming the store (and array) if it cannot be read, or an
/// array has a data type or codec that cannot be read.
pub fn open_zarr(path: impl AsRef<Path>, opts: &OpenOptions) -> Result<Dataset> {
    let path = path.as_ref();
    let store = ZarrStore::open(path)?;
    let arrays = store
        .array_names()?
        .iter()
        .map(|n| store.array(n))
        .collect::<Result<Vec<_>>>()?;
    let aux: Vec<String> = arrays
        .iter()
        .filter_map(|v| v.attrs().get("coordinates").and_then(AttrValue::as_text))
        .flat_map(str::split_whitespace)
        .map(str::to_string)
        .collect();
    let is_coord = |v: &ZarrVariable| {
        v.dims() == [v.name().to_string()]
            || (v.dims().len() <= 1 && aux.iter().any(|a| a == v.name()))
    };
    let mut coords = Coords::default();
    for v in arrays.iter().filter(|v| is_coord(v)) {
        let (values, attrs) = coord_of(v, opts)?;
        coords.insert(
            v.name(),
            Coord {
                dims: v.dims().to_vec(),
                values,
                attrs,
            },
        );
    }
    let mut vars = Vec::new();
    for v in arrays.iter().filter(|v| !is_coord(v)) {
        let data = from_source(v.source(opts.mask_and_scale)?, opts.chunks.clone())?;
        let dims: Vec<&str> = v.dims().iter().map(String::as_str).collect();
        let mut attrs = if opts.mask_and_scale {
            v.decoded_attrs()?
        } else {
            v.attrs().clone()
        };
        attrs.remove("coordinates");
        let da = DataArray::new(data, &dims, coords.restricted_to(v.dims()))
            .map_err(|e| Error::Io(format!("{}: {}", v_describe(v), e.message())))?
            .with_name(v.name())
            .with_attrs(attrs);
        vars.push((v.name().to_string(), da));
    }
    Ok(Dataset::new(vars, coords, store.attrs())
        .map_err(|e| Error::Io(format!("`{}`: {}", path.display(), e.message())))?
        .with_source(path.display().to_string()))
}

fn v_describe(v: &ZarrVariable) -> String {
    crate::kernel::ChunkSource::describe(v)
}

/// A coordinate's values (times decoded, as [`open_dataset`] does) and the
/// attributes xarray shows for it.
///
/// [`open_dataset`]: super::open_dataset
fn coord_of(v: &ZarrVariable, opts: &OpenOptions) -> Result<(CoordValues, Attrs)> {
    let mut attrs = if opts.mask_and_scale {
        v.decoded_attrs()?
    } else {
        v.attrs().clone()
    };
    let chunk = v.read_all(opts.mask_and_scale)?;
    let units = v
        .attrs()
        .get("units")
        .and_then(AttrValue::as_text)
        .filter(|u| u.contains(" since "));
    if let (true, Some(units)) = (opts.decode_times, units) {
        let at = |e: Error| Error::Io(format!("{}: {}", v_describe(v), e.message()));
        let cal = Calendar::from_attribute(v.attrs().get("calendar").and_then(AttrValue::as_text))
            .map_err(at)?;
        let units = CfUnits::parse(units).map_err(at)?;
        let times = time::decode(&floats(&chunk), &units, cal).map_err(at)?;
        attrs.remove("units");
        attrs.remove("calendar");
        return Ok((CoordValues::Time(times, cal), attrs));
    }
    let values = match chunk {
        Chunk::I32(a) => CoordValues::Int(a.iter().map(|&x| i64::from(x)).collect()),
        Chunk::I64(a) => CoordValues::Int(a.iter().copied().collect()),
        Chunk::Bool(a) => CoordValues::Int(a.iter().map(|&x| i64::from(x)).collect()),
        Chunk::F32(a) => CoordValues::Float32(a.iter().copied().collect()),
        other => CoordValues::Float(floats(&other)),
    };
    Ok((values, attrs))
}

/// How [`Dataset::to_zarr`] writes.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ZarrWriteOptions {
    /// zstd level for every array (`None`: uncompressed). Default 3.
    pub zstd_level: Option<i32>,
    /// Chunk sizes along named dimensions (`[("time", 31)]`); data is
    /// rechunked to them before writing. Other dimensions keep the arrays'
    /// chunks.
    pub chunks: Option<Vec<(String, usize)>>,
}

impl Default for ZarrWriteOptions {
    fn default() -> Self {
        Self {
            zstd_level: Some(3),
            chunks: None,
        }
    }
}

/// Each data variable's name and values (rechunked to the Zarr chunks), in
/// the order they are written.
type DataToWrite = Vec<(String, Array)>;

/// One array to create: name, dims, shape, chunk shape, dtype, attributes.
struct Planned {
    name: String,
    dims: Vec<String>,
    shape: Vec<u64>,
    chunks: Vec<u64>,
    dtype: DType,
    attrs: Attrs,
    /// The whole values, for coordinates (written by rank 0).
    values: Option<Chunk>,
}

impl Dataset {
    /// Write the dataset as a Zarr v3 group at `path` (a directory) with the
    /// session installed on this thread ([`crate::session::global`]); see
    /// the module documentation for the layout. The store appears under
    /// `path` only once complete: on any error `path` is untouched and no
    /// temporary directory remains.
    ///
    /// ```no_run
    /// use chunkwise::dataset::{open_zarr, OpenOptions, ZarrWriteOptions};
    /// let ds = open_zarr("air.zarr", &OpenOptions::default())?;
    /// ds.to_zarr("copy.zarr", &ZarrWriteOptions::default())?;
    /// # Ok::<(), chunkwise::Error>(())
    /// ```
    ///
    /// # Collective
    /// Under MPI, call on every rank, in the same order, with the same dataset
    /// and path; every rank writes its own chunks, and all return the same
    /// result.
    ///
    /// # Errors
    /// [`Error::Plan`] for a dataset that cannot be written (text
    /// coordinates); the computation's errors; [`Error::Io`] naming the store
    /// (and array) when writing fails.
    pub fn to_zarr(&self, path: impl AsRef<Path>, opts: &ZarrWriteOptions) -> Result<()> {
        self.to_zarr_with(&*session::global()?, path, opts)
    }

    /// [`to_zarr`](Self::to_zarr) with a given session.
    ///
    /// # Collective
    /// As [`to_zarr`](Self::to_zarr).
    pub fn to_zarr_with(
        &self,
        s: &Session,
        path: impl AsRef<Path>,
        opts: &ZarrWriteOptions,
    ) -> Result<()> {
        let path = path.as_ref();
        let shown = path.display().to_string();
        let in_store = |e: Error| e.with_message(format!("writing `{shown}`: {}", e.message()));
        let (planned, data) = self.zarr_plan(opts).map_err(in_store)?;
        let comm = s.comm();
        let tmp = temp_name(comm, path)?;
        let result = write_store(s, path, &tmp, self, &planned, &data, opts);
        if result.is_err() && comm.rank() == 0 {
            // Every rank is past its writes (each step ends collectively).
            let _ = std::fs::remove_dir_all(&tmp);
        }
        result
    }

    /// The arrays to create (coordinates first) and each data variable's
    /// array on a regular chunk grid.
    fn zarr_plan(&self, opts: &ZarrWriteOptions) -> Result<(Vec<Planned>, DataToWrite)> {
        let mut planned = Vec::new();
        for (name, c) in self.coords.iter() {
            planned.push(coord_array(name, c)?);
        }
        let mut data = Vec::new();
        for (name, v) in &self.vars {
            let mut arr = v.data.clone();
            arr.check()?;
            let have = arr.chunks();
            let want = |d: &String| {
                opts.chunks
                    .as_ref()
                    .and_then(|w| w.iter().find(|(n, _)| n == d).map(|&(_, n)| n.max(1)))
            };
            let regular = v
                .dims
                .iter()
                .zip(&have)
                .all(|(d, c)| want(d).is_none() && is_regular(c));
            if !regular {
                let spec: Vec<DimChunks> = v
                    .dims
                    .iter()
                    .zip(&have)
                    .map(|(d, c)| {
                        DimChunks::Size(
                            want(d).unwrap_or_else(|| c.iter().copied().max().unwrap_or(1).max(1)),
                        )
                    })
                    .collect();
                arr = arr.rechunk(ChunkSpec::PerDim(spec))?;
            }
            let chunks = arr
                .chunks()
                .iter()
                .map(|c| c.first().copied().unwrap_or(1).max(1) as u64)
                .collect();
            let mut attrs = v.attrs.clone();
            attrs.remove("_FillValue");
            planned.push(Planned {
                name: name.clone(),
                dims: v.dims.clone(),
                shape: arr.shape().iter().map(|&n| n as u64).collect(),
                chunks,
                dtype: arr.dtype(),
                attrs,
                values: None,
            });
            data.push((name.clone(), arr));
        }
        Ok((planned, data))
    }
}

impl DataArray {
    /// Write this array as a one-variable Zarr group (xarray's
    /// `DataArray.to_zarr`), named after the array.
    ///
    /// xarray names an unnamed array `__xarray_dataarray_variable__`, but
    /// Zarr v3 reserves node names starting with `__` (the `zarrs` crate
    /// refuses them), so an unnamed array is refused here: name it first with
    /// [`with_name`](DataArray::with_name).
    ///
    /// # Collective
    /// As [`Dataset::to_zarr`].
    ///
    /// # Errors
    /// [`Error::Plan`] for an unnamed array; otherwise as
    /// [`Dataset::to_zarr`].
    pub fn to_zarr(&self, path: impl AsRef<Path>, opts: &ZarrWriteOptions) -> Result<()> {
        self.as_zarr_dataset()?.to_zarr(path, opts)
    }

    /// [`to_zarr`](Self::to_zarr) with a given session.
    ///
    /// # Collective
    /// As [`Dataset::to_zarr`].
    pub fn to_zarr_with(
        &self,
        s: &Session,
        path: impl AsRef<Path>,
        opts: &ZarrWriteOptions,
    ) -> Result<()> {
        self.as_zarr_dataset()?.to_zarr_with(s, path, opts)
    }

    fn as_zarr_dataset(&self) -> Result<Dataset> {
        let name = self.name.as_deref().ok_or_else(|| {
            Error::Plan(format!(
                "an unnamed DataArray cannot be written to Zarr: xarray's name for it, \
                 `{UNNAMED}`, starts with `__`, which Zarr v3 reserves; name the array \
                 first (`with_name`)"
            ))
        })?;
        Dataset::new(
            vec![(name.to_string(), self.clone())],
            self.coords.clone(),
            Attrs::new(),
        )
    }
}

/// All chunks equal but the last, which is not larger.
fn is_regular(c: &[usize]) -> bool {
    match c.split_last() {
        Some((last, rest)) => rest.iter().all(|&x| x == c[0]) && *last <= c[0],
        None => true,
    }
}

/// A coordinate as an array written whole: times CF-encoded.
fn coord_array(name: &str, c: &Coord) -> Result<Planned> {
    let mut attrs = c.attrs.clone();
    let shape = |n: usize| -> Vec<usize> {
        if c.dims.is_empty() {
            vec![]
        } else {
            vec![n]
        }
    };
    let chunk = |v: Chunk| v;
    let (dtype, values) = match &c.values {
        CoordValues::Float(v) => {
            attrs.remove("_FillValue");
            (
                DType::F64,
                chunk(Chunk::F64(vec_chunk(v.clone(), shape(v.len()))?)),
            )
        }
        CoordValues::Float32(v) => {
            attrs.remove("_FillValue");
            (
                DType::F32,
                chunk(Chunk::F32(vec_chunk(v.clone(), shape(v.len()))?)),
            )
        }
        CoordValues::Int(v) => (
            DType::I64,
            Chunk::I64(vec_chunk(v.clone(), shape(v.len()))?),
        ),
        CoordValues::Text(_) => {
            return Err(Error::plan(format!(
                "coordinate `{name}` holds text, which to_zarr does not write yet; drop it or \
                 write NetCDF-4 (to_netcdf)"
            )))
        }
        CoordValues::Time(t, cal) => {
            let at = |e: Error| e.with_message(format!("coordinate `{name}`: {}", e.message()));
            let given = attrs
                .get("units")
                .and_then(AttrValue::as_text)
                .filter(|u| u.contains(" since "))
                .map(CfUnits::parse)
                .transpose()
                .map_err(at)?;
            let units = match given {
                Some(u) => u,
                None => infer_units(t, *cal)?,
            };
            let nums = time::encode(t, &units).map_err(at)?;
            attrs.remove("units");
            attrs.remove("calendar");
            attrs.insert("units", AttrValue::Text(units.to_string()));
            attrs.insert("calendar", AttrValue::Text(cal.name().to_string()));
            if nums.iter().all(|x| x.fract() == 0.0 && x.abs() < 9.0e15) {
                let ints = nums.iter().map(|&x| x as i64).collect();
                (DType::I64, Chunk::I64(vec_chunk(ints, shape(t.len()))?))
            } else {
                (DType::F64, Chunk::F64(vec_chunk(nums, shape(t.len()))?))
            }
        }
    };
    let shape: Vec<u64> = values.shape().iter().map(|&n| n as u64).collect();
    Ok(Planned {
        name: name.to_string(),
        dims: c.dims.clone(),
        chunks: shape.iter().map(|&n| n.max(1)).collect(),
        shape,
        dtype,
        attrs,
        values: Some(values),
    })
}

fn vec_chunk<T>(v: Vec<T>, shape: Vec<usize>) -> Result<ndarray::ArrayD<T>> {
    ndarray::ArrayD::from_shape_vec(shape, v)
        .map_err(|e| Error::internal(format!("coordinate values: {e}")))
}

fn open_store(dir: &Path) -> Result<Arc<FilesystemStore>> {
    FilesystemStore::new(dir).map(Arc::new).map_err(|e| {
        Error::Io(format!(
            "cannot open `{}` as a Zarr store: {e}",
            dir.display()
        ))
    })
}

/// Create one array's metadata (and, for coordinates, its values).
fn create_array(
    store: &Arc<FilesystemStore>,
    p: &Planned,
    opts: &ZarrWriteOptions,
) -> Result<Value> {
    let at = |e: String| Error::Io(format!("array `{}`: {e}", p.name));
    let mut attrs = attrs_to_json(&p.attrs);
    let (dt, fill): (_, zarrs::array::builder::ArrayBuilderFillValue) = match p.dtype {
        DType::Bool => (
            data_type::bool(),
            zarrs::array::FillValue::from(false).into(),
        ),
        DType::I32 => (data_type::int32(), 0i32.into()),
        DType::I64 => (data_type::int64(), 0i64.into()),
        DType::F32 => (data_type::float32(), f32::NAN.into()),
        DType::F64 => (data_type::float64(), f64::NAN.into()),
    };
    if matches!(p.dtype, DType::F32 | DType::F64) {
        attrs.insert(
            "_FillValue".into(),
            Value::from(base64_encode(&f64::NAN.to_le_bytes())),
        );
    }
    let mut b = ArrayBuilder::new(p.shape.clone(), p.chunks.clone(), dt, fill);
    if let Some(level) = opts.zstd_level {
        b.bytes_to_bytes_codecs(vec![Arc::new(ZstdCodec::new(level, false))]);
    }
    b.dimension_names(Some(p.dims.clone())).attributes(attrs);
    let array = b
        .build(store.clone(), &format!("/{}", p.name))
        .map_err(|e| at(e.to_string()))?;
    // zarrs adds an attribute `_zarrs` (its name and version) to the
    // metadata it stores, but not to `metadata()`: the array's own zarr.json
    // and the consolidated copy then differ, and a reader that skips the
    // consolidated metadata (`xr.open_zarr(..., consolidated=False)`) shows
    // the extra attribute on every variable. Store and consolidate one
    // metadata, without it.
    let meta_opts = zarrs::config::global_config()
        .array_metadata_options()
        .with_include_zarrs_metadata(false);
    array
        .store_metadata_opt(&meta_opts)
        .map_err(|e| at(e.to_string()))?;
    if let Some(values) = &p.values {
        let zeros = vec![0u64; p.shape.len()];
        let full: Vec<usize> = p.chunks.iter().map(|&n| n as usize).collect();
        store_chunk(&array, &zeros, &full, values).map_err(|e| at(e.message().to_string()))?;
    }
    serde_json::to_value(array.metadata_opt(&meta_opts)).map_err(|e| at(e.to_string()))
}

/// Store one chunk at grid index `idx`. Zarr stores every chunk at the
/// full chunk shape `full`, so an edge chunk (smaller) is padded with the
/// array's fill value.
fn store_chunk(
    array: &ZArray<FilesystemStore>,
    idx: &[u64],
    full: &[usize],
    c: &Chunk,
) -> Result<()> {
    let r = match c {
        Chunk::Bool(a) => array.store_chunk(idx, padded(a, full, false)),
        Chunk::I32(a) => array.store_chunk(idx, padded(a, full, 0)),
        Chunk::I64(a) => array.store_chunk(idx, padded(a, full, 0)),
        Chunk::F32(a) => array.store_chunk(idx, padded(a, full, f32::NAN)),
        Chunk::F64(a) => array.store_chunk(idx, padded(a, full, f64::NAN)),
    };
    r.map_err(|e| Error::Io(format!("chunk {idx:?}: {e}")))
}

/// `a` in standard layout at shape `full`, its values at the low corner and
/// `fill` elsewhere.
fn padded<T: Clone>(a: &ndarray::ArrayD<T>, full: &[usize], fill: T) -> ndarray::ArrayD<T> {
    if a.shape() == full {
        return a.as_standard_layout().into_owned();
    }
    let mut out = ndarray::ArrayD::from_elem(ndarray::IxDyn(full), fill);
    out.slice_each_axis_mut(|ax| ndarray::Slice::from(0..a.shape()[ax.axis.index()]))
        .assign(a);
    out
}

/// Rank 0: the directory, every array's metadata, the coordinates, and the
/// root group with consolidated metadata.
fn create_store(
    tmp: &Path,
    ds: &Dataset,
    planned: &[Planned],
    opts: &ZarrWriteOptions,
) -> Result<()> {
    std::fs::create_dir(tmp).map_err(|e| {
        Error::Io(format!(
            "cannot create the directory `{}`: {e}",
            tmp.display()
        ))
    })?;
    let store = open_store(tmp)?;
    let mut consolidated = serde_json::Map::new();
    for p in planned {
        consolidated.insert(p.name.clone(), create_array(&store, p, opts)?);
    }
    let root = json!({
        "zarr_format": 3,
        "node_type": "group",
        "attributes": attrs_to_json(&ds.attrs),
        "consolidated_metadata": {
            "kind": "inline",
            "must_understand": false,
            "metadata": consolidated,
        },
    });
    let text = serde_json::to_string_pretty(&root)
        .map_err(|e| Error::internal(format!("group metadata: {e}")))?;
    let file = tmp.join("zarr.json");
    std::fs::write(&file, text)
        .map_err(|e| Error::Io(format!("cannot write `{}`: {e}", file.display())))
}

/// The collective steps; the caller removes `tmp` on an error.
fn write_store(
    s: &Session,
    path: &Path,
    tmp: &Path,
    ds: &Dataset,
    planned: &[Planned],
    data: &[(String, Array)],
    opts: &ZarrWriteOptions,
) -> Result<()> {
    let comm = s.comm();
    let shown = path.display().to_string();
    let in_store = |e: Error| e.with_message(format!("writing `{shown}`: {}", e.message()));
    let created = if comm.rank() == 0 {
        create_store(tmp, ds, planned, opts).map_err(in_store)
    } else {
        Ok(())
    };
    agree(comm, created)?;
    for (name, arr) in data {
        let at = |e: Error| {
            e.with_message(format!(
                "writing `{shown}`: variable `{name}`: {}",
                e.message()
            ))
        };
        let e = arr.expr()?;
        let grid = e.grid();
        let full: Vec<usize> = planned
            .iter()
            .find(|p| p.name == *name)
            .map(|p| p.chunks.iter().map(|&n| n as usize).collect())
            .ok_or_else(|| at(Error::Plan("no planned array".into())))?;
        let mine = s.compute_owned(e).map_err(at)?;
        let local = (|| -> Result<()> {
            if mine.is_empty() {
                return Ok(());
            }
            let array = ZArray::open(open_store(tmp)?, &format!("/{name}"))
                .map_err(|e| Error::Io(format!("cannot reopen the array: {e}")))?;
            for (i, c) in &mine {
                let idx: Vec<u64> = grid.unravel(*i).iter().map(|&x| x as u64).collect();
                store_chunk(&array, &idx, &full, c)?;
            }
            Ok(())
        })()
        .map_err(at);
        agree(comm, local)?;
    }
    let renamed = if comm.rank() == 0 {
        replace_dir(tmp, path).map_err(in_store)
    } else {
        Ok(())
    };
    agree(comm, renamed)
}

/// Move `tmp` onto `path`; a directory already at `path` is moved aside first
/// (and put back if the move fails), then removed.
fn replace_dir(tmp: &Path, path: &Path) -> Result<()> {
    let fail = |e: std::io::Error| {
        Error::Io(format!(
            "cannot move the finished store `{}` onto it: {e}",
            tmp.display()
        ))
    };
    if !path.exists() {
        return std::fs::rename(tmp, path).map_err(fail);
    }
    let mut old: PathBuf = tmp.to_path_buf();
    old.set_extension("old");
    std::fs::rename(path, &old).map_err(fail)?;
    if let Err(e) = std::fs::rename(tmp, path) {
        let _ = std::fs::rename(&old, path);
        return Err(fail(e));
    }
    let removed = if old.is_dir() {
        std::fs::remove_dir_all(&old)
    } else {
        std::fs::remove_file(&old)
    };
    removed.map_err(|e| {
        Error::Io(format!(
            "the new store is in place, but the old one moved to `{}` could not be removed: {e}",
            old.display()
        ))
    })
}
