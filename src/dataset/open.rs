//! Opening NetCDF-4 files as datasets: `open_dataset(path)` and
//! `open_mfdataset(pattern)`.
//!
//! Every rank opens the files itself (metadata and coordinate variables are
//! small and read in full on each rank, so all ranks build the same plan);
//! data variables stay on disk and each rank reads only the chunks it owns
//! when a computation runs.

use super::coord::{Coord, CoordValues, Coords};
use super::dataarray::DataArray;
use super::set::Dataset;
use super::time::{self, Calendar, CfUnits};
use super::window::concat;
use crate::array::creation::from_source;
use crate::error::{Error, Result};
use crate::io::{AttrValue, NcFile, NcVar};
use crate::kernel::Chunk;
use crate::meta::ChunkSpec;
use std::path::{Path, PathBuf};

/// How files are opened (xarray's `open_dataset` keywords).
#[derive(Debug, Clone)]
pub struct OpenOptions {
    /// Chunks of the data variables; `None` takes each file's own chunks.
    pub chunks: Option<ChunkSpec>,
    /// Apply CF decoding: fill values to NaN, `scale_factor`/`add_offset`.
    pub mask_and_scale: bool,
    /// Decode time coordinates (`units = "days since ..."`, `calendar`).
    pub decode_times: bool,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            chunks: None,
            mask_and_scale: true,
            decode_times: true,
        }
    }
}

/// Open a NetCDF-4 file: dimension coordinates read (and times decoded,
/// strings as text), as are the scalar and 1-D variables named in a
/// `coordinates` attribute (xarray's non-index coordinates); data variables
/// as chunked arrays read lazily.
///
/// # Errors
/// [`Error::Io`] naming the file (and variable) if it cannot be read.
pub fn open_dataset(path: impl AsRef<Path>, opts: &OpenOptions) -> Result<Dataset> {
    let path = path.as_ref();
    let file = NcFile::open(path)?;
    let mut coords = Coords::default();
    let mut vars = Vec::new();
    // Non-dimension coordinates: the variables named in a `coordinates`
    // attribute (CF; what xarray writes for scalar and auxiliary coordinates).
    let aux: Vec<&str> = file
        .vars
        .iter()
        .filter_map(|v| v.attrs.get("coordinates").and_then(AttrValue::as_text))
        .flat_map(str::split_whitespace)
        .collect();
    let is_coord =
        |v: &NcVar| v.is_dim_coord() || (v.dims.len() <= 1 && aux.contains(&v.name.as_str()));
    for v in &file.vars {
        if is_coord(v) {
            let values = coord_values(path, v, opts)?;
            coords.insert(
                &v.name,
                Coord {
                    dims: v.dims.clone(),
                    values,
                    attrs: coord_attrs(v, opts)?,
                },
            );
        }
    }
    for v in &file.vars {
        if is_coord(v) {
            continue;
        }
        let source = v.source(opts.mask_and_scale)?;
        let data = from_source(source, opts.chunks.clone())?;
        let dims: Vec<&str> = v.dims.iter().map(|d| d.as_str()).collect();
        let da = DataArray::new(data, &dims, coords.restricted_to(&v.dims))
            .map_err(|e| Error::Io(format!("{}: {}", v.describe(), e.message())))?
            .with_name(&v.name)
            .with_attrs({
                let mut a = if opts.mask_and_scale {
                    v.decoded_attrs()?
                } else {
                    v.attrs.clone()
                };
                a.remove("coordinates");
                a
            });
        vars.push((v.name.clone(), da));
    }
    Ok(Dataset::new(vars, coords, file.attrs.clone())
        .map_err(|e| Error::Io(format!("`{}`: {}", path.display(), e.message())))?
        .with_source(path.display().to_string()))
}

/// The attributes of a coordinate as xarray shows them: a decoded time has no
/// `units`/`calendar` left (they are its encoding).
fn coord_attrs(v: &NcVar, opts: &OpenOptions) -> Result<crate::io::Attrs> {
    // Strings have no CF encoding to decode.
    let mut attrs = if opts.mask_and_scale && v.dtype.is_ok() {
        v.decoded_attrs()?
    } else {
        v.attrs.clone()
    };
    if opts.decode_times && is_time(v) {
        attrs.remove("units");
        attrs.remove("calendar");
    }
    Ok(attrs)
}

fn is_time(v: &NcVar) -> bool {
    v.attrs
        .get("units")
        .and_then(AttrValue::as_text)
        .is_some_and(|u| u.contains(" since "))
}

/// A dimension coordinate's values, times decoded, strings as text.
fn coord_values(path: &Path, v: &NcVar, opts: &OpenOptions) -> Result<CoordValues> {
    if v.dtype.is_err() {
        if let Some(text) = crate::io::read_strings(path, &v.name)? {
            return Ok(CoordValues::Text(text));
        }
    }
    let chunk = v.read_all(opts.mask_and_scale)?;
    let what = || v.describe();
    if opts.decode_times && is_time(v) {
        let units = v
            .attrs
            .get("units")
            .and_then(AttrValue::as_text)
            .unwrap_or_default();
        let cal = Calendar::from_attribute(v.attrs.get("calendar").and_then(AttrValue::as_text))
            .map_err(|e| Error::Io(format!("{}: {}", what(), e.message())))?;
        let units =
            CfUnits::parse(units).map_err(|e| Error::Io(format!("{}: {}", what(), e.message())))?;
        let values = floats(&chunk);
        let times = time::decode(&values, &units, cal)
            .map_err(|e| Error::Io(format!("{}: {}", what(), e.message())))?;
        return Ok(CoordValues::Time(times, cal));
    }
    Ok(match chunk {
        Chunk::I32(a) => CoordValues::Int(a.iter().map(|&x| x as i64).collect()),
        Chunk::I64(a) => CoordValues::Int(a.iter().copied().collect()),
        Chunk::Bool(a) => CoordValues::Int(a.iter().map(|&x| x as i64).collect()),
        Chunk::F32(a) => CoordValues::Float32(a.iter().copied().collect()),
        other => CoordValues::Float(floats(&other)),
    })
}

pub(crate) fn floats(c: &Chunk) -> Vec<f64> {
    crate::with_chunk!(c, a, T => a.iter().map(|&x| crate::kernel::Element::to_f64(x)).collect())
}

/// Open the files matching `pattern` (a path whose file name may hold `*`
/// and `?`, like `data/air_*.nc`) or listed, and join them along `dim` in the
/// order of their first `dim` label (`xr.open_mfdataset(paths,
/// combine="by_coords")`). Every other coordinate must be equal in all files.
///
/// # Errors
/// [`Error::Io`] naming the file if none match, a file cannot be read, lacks
/// `dim`, or its other coordinates differ from the first file's.
pub fn open_mfdataset(pattern: &str, dim: &str, opts: &OpenOptions) -> Result<Dataset> {
    let paths = expand(pattern)?;
    Ok(open_mfdataset_paths(&paths, dim, opts)?.with_source(pattern))
}

/// [`open_mfdataset`] over a list of paths.
pub fn open_mfdataset_paths(paths: &[PathBuf], dim: &str, opts: &OpenOptions) -> Result<Dataset> {
    let mut parts = Vec::with_capacity(paths.len());
    for p in paths {
        let ds = open_dataset(p, opts)?;
        let first = ds
            .coords()
            .index(dim)
            .filter(|c| !c.values.is_empty())
            .map(|c| sort_key(&c.values))
            .ok_or_else(|| {
                Error::Io(format!(
                    "`{}` has no coordinate `{dim}` to order the files by",
                    p.display()
                ))
            })?;
        parts.push((first, p.clone(), ds));
    }
    if parts.is_empty() {
        return Err(Error::Io("open_mfdataset: no files given".into()));
    }
    parts.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(std::cmp::Ordering::Equal));
    let (_, first_path, first) = &parts[0];
    for (_, p, ds) in &parts[1..] {
        for (name, c) in first.coords().iter() {
            if c.dims.iter().any(|d| d == dim) {
                continue;
            }
            match ds.coords().get(name) {
                Some(o) if o.values == c.values => {}
                Some(_) => {
                    return Err(Error::Io(format!(
                        "`{}`: coordinate `{name}` differs from the one in `{}`; files joined \
                         along `{dim}` must share their other coordinates",
                        p.display(),
                        first_path.display()
                    )))
                }
                None => {
                    return Err(Error::Io(format!(
                        "`{}` has no coordinate `{name}` (`{}` has)",
                        p.display(),
                        first_path.display()
                    )))
                }
            }
        }
    }
    let mut vars = Vec::new();
    for name in first.data_vars() {
        let pieces = parts
            .iter()
            .map(|(_, p, ds)| {
                ds.get(name).map_err(|_| {
                    Error::Io(format!(
                        "`{}` has no variable `{name}` (`{}` has)",
                        p.display(),
                        first_path.display()
                    ))
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let joined = if pieces[0].dims().iter().any(|d| d == dim) {
            let refs: Vec<&DataArray> = pieces.iter().collect();
            concat(&refs, dim)?
        } else {
            pieces[0].clone()
        };
        vars.push((name.to_string(), joined));
    }
    let mut coords = Coords::default();
    for (name, c) in first.coords().iter() {
        if !c.dims.iter().any(|d| d == dim) {
            coords.insert(name, c.clone());
        }
    }
    let source = match parts.len() {
        1 => first_path.display().to_string(),
        n => format!("{} and {} other files", first_path.display(), n - 1),
    };
    Ok(Dataset::new(vars, coords, first.attrs().clone())?.with_source(source))
}

fn sort_key(v: &CoordValues) -> f64 {
    match v {
        CoordValues::Float(x) => x[0],
        CoordValues::Float32(x) => f64::from(x[0]),
        CoordValues::Int(x) => x[0] as f64,
        CoordValues::Time(t, _) => t[0].to_ticks() as f64,
        CoordValues::Text(_) => 0.0,
    }
}

/// The paths matching `pattern`, sorted.
fn expand(pattern: &str) -> Result<Vec<PathBuf>> {
    let entries =
        glob::glob(pattern).map_err(|e| Error::Io(format!("bad file pattern `{pattern}`: {e}")))?;
    let mut paths = Vec::new();
    for entry in entries {
        paths.push(entry.map_err(|e| Error::Io(format!("listing files for `{pattern}`: {e}")))?);
    }
    if paths.is_empty() {
        return Err(Error::Io(format!("no files match `{pattern}`")));
    }
    paths.sort();
    Ok(paths)
}
