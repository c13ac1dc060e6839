//! Creating arrays: constants, ranges, in-memory data and random numbers.
//! Constants, ranges and random arrays are generators: their chunks are computed
//! where they are needed and never stored or sent.

use super::{Array, Scalar};
use crate::error::{Error, Result};
use crate::expr;
use crate::kernel::generate::{GenKind, GenSpec};
use crate::kernel::{Chunk, ChunkSource, Element};
use crate::meta::{normalize_chunks, ChunkSpec, DType};
use ndarray::{ArrayBase, Data, Dimension};
use std::sync::Arc;

fn constant(shape: &[usize], value: f64, dtype: DType, chunks: ChunkSpec) -> Result<Array> {
    let grid = normalize_chunks(&chunks, shape, dtype)?;
    let spec = GenSpec::new(GenKind::Full(value), dtype, shape);
    Ok(Array::from_expr(expr::generator(spec, grid)?))
}

/// An array of zeros (float64; use [`Array::astype`] for another type).
pub fn zeros(shape: &[usize], chunks: impl Into<ChunkSpec>) -> Result<Array> {
    constant(shape, 0.0, DType::F64, chunks.into())
}

/// An array of ones (float64).
pub fn ones(shape: &[usize], chunks: impl Into<ChunkSpec>) -> Result<Array> {
    constant(shape, 1.0, DType::F64, chunks.into())
}

/// An array filled with `value`, typed like NumPy's `full` (int64 for an integer,
/// float64 for a float, bool for a bool).
pub fn full(
    shape: &[usize],
    value: impl Into<Scalar>,
    chunks: impl Into<ChunkSpec>,
) -> Result<Array> {
    let v = value.into();
    constant(shape, v.as_f64(), v.dtype(), chunks.into())
}

/// Evenly spaced values in `[start, stop)` (NumPy's `arange`): int64 when all
/// arguments are integers, else float64.
pub fn arange(
    start: impl Into<Scalar>,
    stop: impl Into<Scalar>,
    step: impl Into<Scalar>,
    chunks: impl Into<ChunkSpec>,
) -> Result<Array> {
    let (a, b, s) = (start.into(), stop.into(), step.into());
    let dtype = if [a, b, s].iter().all(|x| matches!(x, Scalar::Int(_))) {
        DType::I64
    } else {
        DType::F64
    };
    let (a, b, s) = (a.as_f64(), b.as_f64(), s.as_f64());
    if s == 0.0 || !s.is_finite() {
        return Err(Error::plan(format!(
            "arange: step must be finite and non-zero, got {s}"
        )));
    }
    let n = ((b - a) / s).ceil().max(0.0) as usize;
    let grid = normalize_chunks(&chunks.into(), &[n], dtype)?;
    let spec = GenSpec::new(GenKind::Arange { start: a, step: s }, dtype, &[n]);
    Ok(Array::from_expr(expr::generator(spec, grid)?))
}

/// `num` evenly spaced values from `start` to `stop` inclusive (NumPy's `linspace`).
pub fn linspace(start: f64, stop: f64, num: usize, chunks: impl Into<ChunkSpec>) -> Result<Array> {
    let grid = normalize_chunks(&chunks.into(), &[num], DType::F64)?;
    let spec = GenSpec::new(
        GenKind::Linspace {
            start,
            stop,
            num,
            endpoint: true,
        },
        DType::F64,
        &[num],
    );
    Ok(Array::from_expr(expr::generator(spec, grid)?))
}

/// A chunked array over an in-memory `ndarray` (dask's `from_array`).
pub fn from_ndarray<S, D, T>(data: &ArrayBase<S, D>, chunks: impl Into<ChunkSpec>) -> Result<Array>
where
    S: Data<Elem = T>,
    D: Dimension,
    T: Element,
{
    let owned = data.to_owned().into_dyn();
    let owned = if owned.is_standard_layout() {
        owned
    } else {
        owned.as_standard_layout().into_owned()
    };
    let grid = normalize_chunks(&chunks.into(), owned.shape(), T::DTYPE)?;
    Ok(Array::from_expr(expr::from_array(
        Chunk::from(owned),
        grid,
    )?))
}

/// An array read from a stored variable (HDF5, NetCDF-4 or Zarr, see
/// `crate::io`): nothing is read until it is computed, and then each rank reads
/// only the chunks it owns. `chunks` `None` takes the file's own chunks (or
/// `"auto"` for a contiguous variable), like xarray's `open_dataset(chunks={})`.
pub fn from_source(source: Arc<dyn ChunkSource>, chunks: Option<ChunkSpec>) -> Result<Array> {
    let spec = match (chunks, source.file_chunks()) {
        (Some(spec), _) => spec,
        (None, Some(file)) => ChunkSpec::from(file.as_slice()),
        (None, None) => ChunkSpec::default(),
    };
    let grid = normalize_chunks(&spec, source.shape(), source.dtype())
        .map_err(|e| e.with_message(format!("{}: {}", source.describe(), e.message())))?;
    Ok(Array::from_expr(expr::read(source, grid)?))
}

/// Random arrays from a counter-based generator keyed by (seed, chunk index): the
/// values do not depend on where or in which order chunks are computed (dask's
/// `da.random.default_rng(seed)`).
pub mod random {
    use super::*;
    use crate::kernel::generate::Distribution;

    fn make(shape: &[usize], chunks: ChunkSpec, seed: u64, dist: Distribution) -> Result<Array> {
        let grid = normalize_chunks(&chunks, shape, DType::F64)?;
        let kind = GenKind::Random {
            seed,
            dist,
            chunks: grid.chunks(),
        };
        let spec = GenSpec::new(kind, DType::F64, shape);
        Ok(Array::from_expr(expr::generator(spec, grid)?))
    }

    /// Uniform floats in `[0, 1)`.
    pub fn random(shape: &[usize], chunks: impl Into<ChunkSpec>, seed: u64) -> Result<Array> {
        make(
            shape,
            chunks.into(),
            seed,
            Distribution::Uniform {
                low: 0.0,
                high: 1.0,
            },
        )
    }

    /// Uniform floats in `[low, high)`.
    pub fn uniform(
        low: f64,
        high: f64,
        shape: &[usize],
        chunks: impl Into<ChunkSpec>,
        seed: u64,
    ) -> Result<Array> {
        if !(low.is_finite() && high.is_finite() && low <= high) {
            return Err(Error::plan(format!(
                "uniform: need finite low <= high, got low={low} high={high}"
            )));
        }
        make(
            shape,
            chunks.into(),
            seed,
            Distribution::Uniform { low, high },
        )
    }

    /// Normal floats with mean `loc` and standard deviation `scale`.
    pub fn normal(
        loc: f64,
        scale: f64,
        shape: &[usize],
        chunks: impl Into<ChunkSpec>,
        seed: u64,
    ) -> Result<Array> {
        if !(scale >= 0.0 && scale.is_finite() && loc.is_finite()) {
            return Err(Error::plan(format!(
                "normal: need finite loc and scale >= 0, got loc={loc} scale={scale}"
            )));
        }
        make(
            shape,
            chunks.into(),
            seed,
            Distribution::Normal { loc, scale },
        )
    }
}
