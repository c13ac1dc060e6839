//! Writing datasets to NetCDF-4: [`Dataset::to_netcdf`] and
//! [`DataArray::to_netcdf`], atomically, every rank writing its own chunks.
//!
//! # How
//!
//! Every rank builds the same file layout from the dataset (dimensions,
//! variables, chunking, encoded coordinates). Rank 0 chooses a temporary name
//! next to the final one (`.<name>.partial-<pid>-<nanos>`), shares it, and
//! creates the file's whole structure there (coordinate values written, data
//! variables allocated). Then, one data variable at a time, every rank
//! computes the chunks it owns ([`Session::compute_owned`]: no chunk is
//! gathered) and the ranks write them in turn, each opening the file with
//! HDF5's serial driver, writing its hyperslabs and closing it before the next
//! rank starts. After the last variable, rank 0 renames the temporary file onto
//! the final name. Every step ends with the ranks agreeing on whether any
//! failed; on a failure every rank returns the same error (naming the file,
//! variable and rank) and the temporary file is removed, so the final name
//! is either the complete new file or untouched.
//!
//! # Known limit
//!
//! The ranks write one after another (a token passed round), not at the same
//! time through MPI-IO: data stays distributed (no rank holds more than its
//! own chunks of one variable) but writing does not speed up with more ranks.
//! A parallel HDF5 (MPI-IO) path needs MPI calls from the main thread only and
//! collective dataset writes; it can come later. The ranks must share a file
//! system.

use std::path::{Path, PathBuf};

use super::coord::{Coord, CoordValues};
use super::dataarray::DataArray;
use super::set::Dataset;
use super::time::{self, CfUnits, DateTime, TimeUnit};
use super::{AttrValue, Attrs};
use crate::array::Array;
use crate::comm::Comm;
use crate::error::{Error, Result};
use crate::io::{self, NcData, NcLayout, NcType, NcVarDef, NcWriter, StoredType};
use crate::kernel::Chunk;
use crate::meta::{ChunkGrid, ChunkSpec, DType, DimChunks};
use crate::session::{self, agree, Session};

/// How [`Dataset::to_netcdf`] writes (xarray's `encoding` for every data
/// variable at once).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct WriteOptions {
    /// Deflate level (1-9, with the shuffle filter) for data variables;
    /// `None`: uncompressed.
    pub compression: Option<u8>,
    /// The file's chunk size along named dimensions (`[("time", 31)]`); data
    /// is rechunked to it before writing, so that each rank writes whole file
    /// chunks. Dimensions not named keep the arrays' chunks (the largest chunk
    /// along each dimension is the file's chunk).
    pub chunks: Option<Vec<(String, usize)>>,
}

/// The name xarray gives an unnamed `DataArray` written to a file.
pub(crate) const UNNAMED: &str = "__xarray_dataarray_variable__";

impl Dataset {
    /// Write the dataset to a NetCDF-4 file at `path` with the session
    /// installed on this thread ([`crate::session::global`]): dimensions,
    /// coordinates (times encoded with CF `units`/`calendar`, text as strings),
    /// data variables (chunked, `_FillValue = NaN` for floats, optionally
    /// compressed), attributes and global attributes.
    ///
    /// The file appears under `path` only once complete: on any error nothing
    /// is left under `path` (a file already there is unchanged) and no
    /// temporary file remains.
    ///
    /// ```no_run
    /// use chunkwise::dataset::{open_dataset, OpenOptions, WriteOptions};
    /// let ds = open_dataset("air.nc", &OpenOptions::default())?;
    /// ds.to_netcdf("copy.nc", &WriteOptions { compression: Some(4), chunks: None })?;
    /// # Ok::<(), chunkwise::Error>(())
    /// ```
    ///
    /// # Collective
    /// Under MPI, call on every rank, in the same order, with the same dataset
    /// and path; every rank writes its own chunks, and all return the same
    /// result.
    ///
    /// # Errors
    /// [`Error::Plan`] for a dataset that cannot be written (a variable named
    /// like a dimension it is not the coordinate of, mixed calendars); the
    /// computation's errors; [`Error::Io`] naming the file (and variable) when
    /// writing fails.
    pub fn to_netcdf(&self, path: impl AsRef<Path>, opts: &WriteOptions) -> Result<()> {
        self.to_netcdf_with(&*session::global()?, path, opts)
    }

    /// [`to_netcdf`](Self::to_netcdf) with a given session.
    ///
    /// # Collective
    /// As [`to_netcdf`](Self::to_netcdf).
    pub fn to_netcdf_with(
        &self,
        s: &Session,
        path: impl AsRef<Path>,
        opts: &WriteOptions,
    ) -> Result<()> {
        let path = path.as_ref();
        let shown = path.display().to_string();
        let in_file = |e: Error| e.with_message(format!("writing `{shown}`: {}", e.message()));
        let (layout, data) = self.layout(opts).map_err(in_file)?;
        let comm = s.comm();
        let tmp = temp_name(comm, path)?;
        let result = write_all(s, comm, path, &tmp, &layout, &data);
        if result.is_err() && comm.rank() == 0 {
            // Every rank is past its writes (each step ends collectively).
            let _ = std::fs::remove_file(&tmp);
        }
        result
    }

    /// The file's structure, and each data variable's array (rechunked as
    /// asked).
    fn layout(&self, opts: &WriteOptions) -> Result<(NcLayout, Vec<(String, Array)>)> {
        let mut layout = NcLayout {
            dims: self.sizes(),
            vars: Vec::new(),
            attrs: self.attrs.clone(),
        };
        // Dimension coordinates first, in dimension order.
        for (d, _) in &layout.dims.clone() {
            if let Some(c) = self.coords.get(d).filter(|c| c.dims == [d.clone()]) {
                layout.vars.push(coord_var(d, c)?);
            }
        }
        // Other coordinates: listed in the data variables' `coordinates`.
        let mut aux = Vec::new();
        for (name, c) in self.coords.iter() {
            if c.dims != [name.to_string()] {
                aux.push(name.to_string());
                layout.vars.push(coord_var(name, c)?);
            }
        }
        let mut data = Vec::new();
        for (name, v) in &self.vars {
            let mut arr = v.data.clone();
            arr.check()?;
            if let Some(want) = &opts.chunks {
                if v.dims.iter().any(|d| want.iter().any(|(w, _)| w == d)) {
                    let spec: Vec<DimChunks> = v
                        .dims
                        .iter()
                        .zip(arr.chunks())
                        .map(|(d, have)| match want.iter().find(|(w, _)| w == d) {
                            Some(&(_, n)) => DimChunks::Size(n.max(1)),
                            None => DimChunks::Explicit(have),
                        })
                        .collect();
                    arr = arr.rechunk(ChunkSpec::PerDim(spec))?;
                }
            }
            let chunks: Vec<usize> = arr
                .chunks()
                .iter()
                .map(|c| c.iter().copied().max().unwrap_or(1).max(1))
                .collect();
            let dtype = arr.dtype();
            let mut attrs = v.attrs.clone();
            if dtype == DType::Bool {
                attrs.insert("dtype", AttrValue::Text("bool".into()));
            }
            let mine: Vec<&String> = aux
                .iter()
                .filter(|a| {
                    self.coords
                        .get(a)
                        .is_some_and(|c| c.dims.iter().all(|d| v.dims.contains(d)))
                })
                .collect();
            if !mine.is_empty() && !attrs.contains("coordinates") {
                let names: Vec<&str> = mine.iter().map(|s| s.as_str()).collect();
                attrs.insert("coordinates", AttrValue::Text(names.join(" ")));
            }
            let is_float = matches!(dtype, DType::F32 | DType::F64);
            layout.vars.push(NcVarDef {
                name: name.clone(),
                dims: v.dims.clone(),
                dtype: NcType::Num(stored(dtype)),
                chunks: (!v.dims.is_empty()).then_some(chunks),
                compression: opts.compression.filter(|_| !v.dims.is_empty()),
                fill_nan: is_float && !attrs.contains("_FillValue"),
                attrs,
                values: None,
            });
            data.push((name.clone(), arr));
        }
        Ok((layout, data))
    }
}

impl DataArray {
    /// Write this array to a NetCDF-4 file as a one-variable dataset (xarray's
    /// `DataArray.to_netcdf`): the variable is named after the array, or
    /// `__xarray_dataarray_variable__` when it has no name.
    ///
    /// # Collective
    /// As [`Dataset::to_netcdf`].
    ///
    /// # Errors
    /// As [`Dataset::to_netcdf`].
    pub fn to_netcdf(&self, path: impl AsRef<Path>, opts: &WriteOptions) -> Result<()> {
        self.to_dataset()?.to_netcdf(path, opts)
    }

    /// [`to_netcdf`](Self::to_netcdf) with a given session.
    ///
    /// # Collective
    /// As [`Dataset::to_netcdf`].
    pub fn to_netcdf_with(
        &self,
        s: &Session,
        path: impl AsRef<Path>,
        opts: &WriteOptions,
    ) -> Result<()> {
        self.to_dataset()?.to_netcdf_with(s, path, opts)
    }

    fn to_dataset(&self) -> Result<Dataset> {
        let name = self.name.as_deref().unwrap_or(UNNAMED);
        Dataset::new(
            vec![(name.to_string(), self.clone())],
            self.coords.clone(),
            Attrs::new(),
        )
    }
}

fn stored(d: DType) -> StoredType {
    match d {
        DType::Bool => StoredType::I8,
        DType::I32 => StoredType::I32,
        DType::I64 => StoredType::I64,
        DType::F32 => StoredType::F32,
        DType::F64 => StoredType::F64,
    }
}

/// A coordinate as a file variable: times CF-encoded, text as strings, floats
/// with `_FillValue = NaN` (as xarray writes them).
fn coord_var(name: &str, c: &Coord) -> Result<NcVarDef> {
    let mut attrs = c.attrs.clone();
    let (dtype, values, fill_nan) = match &c.values {
        CoordValues::Float(v) => (
            StoredType::F64,
            NcData::Num(chunk_of(v.clone(), &c.dims, Chunk::F64)?),
            !attrs.contains("_FillValue"),
        ),
        CoordValues::Float32(v) => (
            StoredType::F32,
            NcData::Num(chunk_of(v.clone(), &c.dims, Chunk::F32)?),
            !attrs.contains("_FillValue"),
        ),
        CoordValues::Int(v) => (
            StoredType::I64,
            NcData::Num(chunk_of(v.clone(), &c.dims, Chunk::I64)?),
            false,
        ),
        CoordValues::Text(v) => {
            return Ok(NcVarDef {
                name: name.to_string(),
                dims: c.dims.clone(),
                dtype: NcType::Text,
                chunks: None,
                compression: None,
                fill_nan: false,
                attrs,
                values: Some(NcData::Text(v.clone())),
            })
        }
        CoordValues::Time(t, cal) => {
            let given = attrs
                .get("units")
                .and_then(AttrValue::as_text)
                .filter(|u| u.contains(" since "))
                .map(CfUnits::parse)
                .transpose()
                .map_err(|e| e.with_message(format!("coordinate `{name}`: {}", e.message())))?;
            let units = match given {
                Some(u) => u,
                None => infer_units(t, *cal)?,
            };
            let nums = time::encode(t, &units)
                .map_err(|e| e.with_message(format!("coordinate `{name}`: {}", e.message())))?;
            attrs.remove("units");
            attrs.remove("calendar");
            attrs.insert("units", AttrValue::Text(units.to_string()));
            attrs.insert("calendar", AttrValue::Text(cal.name().to_string()));
            let whole = nums.iter().all(|x| x.fract() == 0.0 && x.abs() < 9.0e15);
            if whole {
                let ints: Vec<i64> = nums.iter().map(|&x| x as i64).collect();
                (
                    StoredType::I64,
                    NcData::Num(chunk_of(ints, &c.dims, Chunk::I64)?),
                    false,
                )
            } else {
                (
                    StoredType::F64,
                    NcData::Num(chunk_of(nums, &c.dims, Chunk::F64)?),
                    false,
                )
            }
        }
    };
    Ok(NcVarDef {
        name: name.to_string(),
        dims: c.dims.clone(),
        dtype: NcType::Num(dtype),
        chunks: None,
        compression: None,
        fill_nan,
        attrs,
        values: Some(values),
    })
}

fn chunk_of<T>(v: Vec<T>, dims: &[String], wrap: fn(ndarray::ArrayD<T>) -> Chunk) -> Result<Chunk> {
    let shape: Vec<usize> = if dims.is_empty() {
        vec![]
    } else {
        vec![v.len()]
    };
    let a = ndarray::ArrayD::from_shape_vec(shape, v)
        .map_err(|e| Error::internal(format!("coordinate values: {e}")))?;
    Ok(wrap(a))
}

/// xarray's choice: `<unit> since <first date>` with the coarsest unit (days,
/// hours, minutes, seconds, microseconds) that counts every date exactly.
pub(crate) fn infer_units(t: &[DateTime], cal: time::Calendar) -> Result<CfUnits> {
    let Some(first) = t.first() else {
        return CfUnits::parse("days since 1970-01-01");
    };
    let t0 = first.to_ticks();
    for unit in [
        TimeUnit::Days,
        TimeUnit::Hours,
        TimeUnit::Minutes,
        TimeUnit::Seconds,
    ] {
        let n = unit.ticks(cal)?;
        if t.iter().all(|d| (d.to_ticks() - t0) % n == 0) {
            return Ok(CfUnits::new(unit, first));
        }
    }
    Ok(CfUnits::new(TimeUnit::Microseconds, first))
}

/// A temporary name next to `path`, the same on every rank (rank 0's choice).
pub(crate) fn temp_name(comm: &dyn Comm, path: &Path) -> Result<PathBuf> {
    let file = path
        .file_name()
        .ok_or_else(|| Error::plan(format!("`{}` is not a file name", path.display())))?
        .to_string_lossy()
        .into_owned();
    let mut buf = Vec::new();
    if comm.rank() == 0 {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        buf = format!(".{file}.partial-{}-{nanos:09}", std::process::id()).into_bytes();
    }
    comm.broadcast_bytes(0, &mut buf)?;
    let name = String::from_utf8(buf)
        .map_err(|_| Error::internal("a temporary file name that is not UTF-8"))?;
    Ok(path.with_file_name(name))
}

/// The collective steps; the caller removes `tmp` on an error.
fn write_all(
    s: &Session,
    comm: &dyn Comm,
    path: &Path,
    tmp: &Path,
    layout: &NcLayout,
    data: &[(String, Array)],
) -> Result<()> {
    let shown = path.display().to_string();
    let at = |var: &str, e: Error| {
        e.with_message(format!(
            "writing `{shown}`: variable `{var}`: {}",
            e.message()
        ))
    };
    let created = if comm.rank() == 0 {
        io::create_file(tmp, layout)
            .map_err(|e| e.with_message(format!("writing `{shown}`: {}", e.message())))
    } else {
        Ok(())
    };
    agree(comm, created)?;
    for (name, arr) in data {
        let e = arr.expr()?;
        let grid = e.grid();
        let mine = s.compute_owned(e).map_err(|e| at(name, e))?;
        for turn in 0..comm.size() {
            let local = if turn == comm.rank() && !mine.is_empty() {
                write_chunks(tmp, name, grid, &mine).map_err(|e| at(name, e))
            } else {
                Ok(())
            };
            agree(comm, local)?;
        }
    }
    let renamed = if comm.rank() == 0 {
        std::fs::rename(tmp, path).map_err(|e| {
            Error::Io(format!(
                "writing `{shown}`: cannot move the finished file `{}` onto it: {e}",
                tmp.display()
            ))
        })
    } else {
        Ok(())
    };
    agree(comm, renamed)
}

/// This rank's chunks of one variable, written in one open of the file.
fn write_chunks(tmp: &Path, var: &str, grid: &ChunkGrid, chunks: &[(usize, Chunk)]) -> Result<()> {
    let w = NcWriter::open(tmp)?;
    for (i, c) in chunks {
        let idx = grid.unravel(*i);
        w.write_chunk(var, &grid.chunk_offset(&idx), c)?;
    }
    w.close()
}
