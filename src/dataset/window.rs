//! Moving and block windows, weights and joining: `rolling(...).mean()`,
//! `coarsen(...).mean()`, `weighted(w).mean(dims)`, `concat`.
//!
//! All are built from slices and elementwise operations on the chunked data:
//! a rolling sum of a window `w` is the sum of `w` shifted slices of the data
//! padded with NaN, a block mean of `k` positions is the mean of `k` strided
//! slices. Nothing is gathered.

use super::coord::{Coord, CoordValues};
use super::dataarray::{DataArray, Pos};
use super::time::DateTime;
use crate::array::creation::full;
use crate::array::{concatenate, Array, Axes, Operand};
use crate::error::{Error, Result};
use crate::meta::DType;

/// A moving window along one dimension (`da.rolling(time=3, center=True)`).
#[derive(Clone)]
pub struct Rolling {
    obj: DataArray,
    dim: String,
    window: usize,
    center: bool,
}

/// Non-overlapping blocks along dimensions (`da.coarsen(lat=2, lon=3)`).
#[derive(Clone)]
pub struct Coarsen {
    obj: DataArray,
    windows: Vec<(String, usize)>,
}

/// A labelled array with weights (`da.weighted(w)`).
#[derive(Clone)]
pub struct Weighted {
    obj: DataArray,
    weights: DataArray,
}

impl DataArray {
    /// A moving window of `window` positions along `dim`; with `center` the
    /// label is at the window's centre, else at its end. Windows that reach
    /// past the ends, or hold a NaN, give NaN (xarray's default
    /// `min_periods=window`).
    ///
    /// # Errors
    /// [`Error::Plan`] for an unknown dim or a window of 0.
    pub fn rolling(&self, dim: &str, window: usize, center: bool) -> Result<Rolling> {
        self.axis(dim)?;
        if window == 0 {
            return Err(Error::plan("rolling: the window must be at least 1"));
        }
        Ok(Rolling {
            obj: self.clone(),
            dim: dim.to_string(),
            window,
            center,
        })
    }

    /// Blocks of `k` positions along each named dim (`boundary="exact"`: the
    /// lengths must be multiples).
    ///
    /// # Errors
    /// [`Error::Plan`] for an unknown dim or a length not a multiple of its
    /// window.
    pub fn coarsen(&self, windows: &[(&str, usize)]) -> Result<Coarsen> {
        for (d, k) in windows {
            let n = self.shape()[self.axis(d)?];
            if *k == 0 || n % k != 0 {
                return Err(Error::plan(format!(
                    "coarsen: dimension `{d}` of length {n} is not a multiple of the window {k} \
                     (boundary=\"exact\"); select a multiple first"
                )));
            }
        }
        Ok(Coarsen {
            obj: self.clone(),
            windows: windows.iter().map(|(d, k)| (d.to_string(), *k)).collect(),
        })
    }

    /// Weighted reductions (`da.weighted(weights)`), weights aligned and
    /// broadcast by dimension name.
    pub fn weighted(&self, weights: &DataArray) -> Weighted {
        Weighted {
            obj: self.clone(),
            weights: weights.clone(),
        }
    }
}

fn as_float(a: &Array) -> Array {
    if a.dtype().is_float() {
        a.clone()
    } else {
        a.astype(DType::F64)
    }
}

impl Rolling {
    /// The mean of each window.
    pub fn mean(&self) -> Result<DataArray> {
        Ok(self.sum_of_shifts()?.map(|s| s / self.window as f64))
    }

    /// The sum of each window.
    pub fn sum(&self) -> Result<DataArray> {
        self.sum_of_shifts()
    }

    fn sum_of_shifts(&self) -> Result<DataArray> {
        let x = &self.obj;
        let axis = x.axis(&self.dim)?;
        let n = x.shape()[axis];
        let w = self.window;
        // Positions before and after each label covered by its window.
        let (before, after) = if self.center {
            (w / 2, (w - 1) / 2)
        } else {
            (w - 1, 0)
        };
        let data = as_float(x.data());
        let pad = |len: usize| -> Result<Array> {
            let mut shape = data.shape();
            shape[axis] = len;
            let chunks: Vec<usize> = shape.iter().map(|&s| s.max(1)).collect();
            Ok(full(&shape, f64::NAN, chunks.as_slice())?.astype(data.dtype()))
        };
        let mut parts = Vec::new();
        if before > 0 {
            parts.push(pad(before)?);
        }
        parts.push(data.clone());
        if after > 0 {
            parts.push(pad(after)?);
        }
        let refs: Vec<&Array> = parts.iter().collect();
        let padded = if refs.len() == 1 {
            data.clone()
        } else {
            concatenate(&refs, axis as isize)?
        };
        let padded = x.with_data(padded);
        let padded = DataArray {
            coords: padded.coords.restricted_to(&[]),
            ..padded
        };
        let mut sum: Option<Array> = None;
        for j in 0..w {
            let s = padded.isel(&[(self.dim.as_str(), Pos::range(j, j + n))])?;
            sum = Some(match sum {
                None => s.data().clone(),
                Some(acc) => acc.add(s.data())?,
            });
        }
        let sum = sum.expect("a window of at least 1");
        Ok(x.with_data(sum))
    }
}

impl Coarsen {
    /// The mean of each block, NaN skipped for floats; coordinates are the
    /// means of their blocks' labels (xarray's `coord_func="mean"`).
    pub fn mean(&self) -> Result<DataArray> {
        let x = &self.obj;
        let skip = x.dtype().is_float();
        let data = as_float(x.data());
        let mut offsets: Vec<Vec<usize>> = vec![vec![]];
        for (_, k) in &self.windows {
            offsets = offsets
                .into_iter()
                .flat_map(|o| {
                    (0..*k).map(move |j| {
                        let mut o = o.clone();
                        o.push(j);
                        o
                    })
                })
                .collect();
        }
        let base = x.with_data(data);
        let mut sum: Option<Array> = None;
        let mut count: Option<Array> = None;
        for o in &offsets {
            let sel: Vec<(&str, Pos)> = self
                .windows
                .iter()
                .zip(o)
                .map(|((d, k), &j)| {
                    (
                        d.as_str(),
                        Pos::Range {
                            start: Some(j as isize),
                            stop: None,
                            step: *k as isize,
                        },
                    )
                })
                .collect();
            let part = base.isel(&sel)?.data().clone();
            let (v, c) = if skip {
                let nan = part.isnan();
                (
                    part.fillna(0.0),
                    crate::array::where_(&nan, Operand::from(0.0), Operand::from(1.0)),
                )
            } else {
                let ones = part.mul(0.0)?.add(1.0)?;
                (part, ones)
            };
            sum = Some(match sum {
                None => v,
                Some(acc) => acc.add(&v)?,
            });
            count = Some(match count {
                None => c,
                Some(acc) => acc.add(&c)?,
            });
        }
        let (sum, count) = (sum.expect("blocks"), count.expect("blocks"));
        let mean = sum.div(&count)?;
        let first: Vec<(&str, Pos)> = self
            .windows
            .iter()
            .map(|(d, k)| {
                (
                    d.as_str(),
                    Pos::Range {
                        start: Some(0),
                        stop: None,
                        step: *k as isize,
                    },
                )
            })
            .collect();
        let mut out = x.isel(&first)?.with_data(mean);
        for (d, k) in &self.windows {
            if let Some(c) = x.coords.index(d) {
                out.coords.insert(
                    d,
                    Coord {
                        values: block_means(&c.values, *k),
                        ..c.clone()
                    },
                );
            }
        }
        out.validate()?;
        Ok(out)
    }
}

/// The mean label of each block of `k` (times: the mean instant).
fn block_means(v: &CoordValues, k: usize) -> CoordValues {
    let mean = |xs: &[f64]| xs.iter().sum::<f64>() / xs.len() as f64;
    match v {
        CoordValues::Float(x) => CoordValues::Float(x.chunks(k).map(mean).collect()),
        CoordValues::Float32(x) => CoordValues::Float32(
            x.chunks(k)
                .map(|c| mean(&c.iter().map(|&v| f64::from(v)).collect::<Vec<_>>()) as f32)
                .collect(),
        ),
        CoordValues::Int(x) => CoordValues::Float(
            x.chunks(k)
                .map(|c| mean(&c.iter().map(|&i| i as f64).collect::<Vec<_>>()))
                .collect(),
        ),
        CoordValues::Time(x, cal) => CoordValues::Time(
            x.chunks(k)
                .map(|c| {
                    let t: i128 = c.iter().map(|d| d.to_ticks() as i128).sum();
                    DateTime::from_ticks((t / c.len() as i128) as i64, *cal)
                })
                .collect(),
            *cal,
        ),
        CoordValues::Text(x) => CoordValues::Text(x.chunks(k).map(|c| c[0].clone()).collect()),
    }
}

impl Weighted {
    /// The weighted mean over `dims` (all when empty): `sum(w * x) / sum(w)`
    /// over the positions where `x` is not NaN.
    pub fn mean(&self, dims: &[&str]) -> Result<DataArray> {
        let x = &self.obj;
        let valid = x.map(|a| a.isnan().invert().astype(DType::F64));
        let filled = x.map(|a| as_float(a).fillna(0.0));
        let num = super::align::zip_with(&filled, &self.weights, "weighted", |a, w| a.mul(w))?;
        let den = super::align::zip_with(&valid, &self.weights, "weighted", |a, w| a.mul(w))?;
        let dims: Vec<&str> = if dims.is_empty() {
            x.dims().iter().map(|d| d.as_str()).collect()
        } else {
            dims.to_vec()
        };
        let sum = |d: &DataArray| d.reduce_with(&dims, |a, ax| a.sum(Axes::of(&ax), false));
        let (num, den) = (sum(&num)?, sum(&den)?);
        let mut out = super::align::zip_with(&num, &den, "weighted", |a, b| a.div(b))?;
        out.name = x.name.clone();
        Ok(out)
    }

    /// The weighted sum over `dims`, NaN skipped.
    pub fn sum(&self, dims: &[&str]) -> Result<DataArray> {
        let x = &self.obj;
        let filled = x.map(|a| as_float(a).fillna(0.0));
        let num = super::align::zip_with(&filled, &self.weights, "weighted", |a, w| a.mul(w))?;
        let dims: Vec<&str> = if dims.is_empty() {
            x.dims().iter().map(|d| d.as_str()).collect()
        } else {
            dims.to_vec()
        };
        num.reduce_with(&dims, |a, ax| a.sum(Axes::of(&ax), false))
    }
}

/// Join labelled arrays along an existing dimension (`xr.concat(objs, dim)`);
/// the other dims must agree, coordinates along `dim` are joined.
///
/// # Errors
/// [`Error::Plan`] if the arrays' dims differ or a shared coordinate differs.
pub fn concat(objs: &[&DataArray], dim: &str) -> Result<DataArray> {
    let first = *objs
        .first()
        .ok_or_else(|| Error::plan("concat of no arrays"))?;
    let axis = first.axis(dim)?;
    let mut values: Option<CoordValues> = first.index_values(dim).cloned();
    for (i, o) in objs.iter().enumerate().skip(1) {
        if o.dims() != first.dims() {
            return Err(Error::plan(format!(
                "concat along `{dim}`: array {i} has dims {:?}, the first {:?}",
                o.dims(),
                first.dims()
            )));
        }
        for (n, c) in first.coords.iter() {
            if c.dims.iter().any(|d| d == dim) {
                continue;
            }
            if o.coords.get(n).is_some_and(|oc| oc.values != c.values) {
                return Err(Error::plan(format!(
                    "concat along `{dim}`: coordinate `{n}` of array {i} differs from the first's"
                )));
            }
        }
        values = match (values, o.index_values(dim)) {
            (Some(a), Some(b)) => Some(a.concat(b).ok_or_else(|| {
                Error::plan(format!(
                    "concat along `{dim}`: the coordinates of array {i} are of another kind"
                ))
            })?),
            _ => None,
        };
    }
    let arrays: Vec<&Array> = objs.iter().map(|o| o.data()).collect();
    let mut out = first.with_data(concatenate(&arrays, axis as isize)?);
    for (n, c) in first.coords.iter() {
        if c.dims.iter().any(|d| d == dim) {
            out.coords.remove(n);
            if n == dim {
                continue;
            }
            // Other coordinates along `dim` (`month(time)`) are joined too,
            // when every array has them.
            let mut joined = Some(c.values.clone());
            for o in &objs[1..] {
                joined = match (joined, o.coords.get(n)) {
                    (Some(a), Some(b)) => a.concat(&b.values),
                    _ => None,
                };
            }
            if let Some(v) = joined {
                out.coords.insert(
                    n,
                    Coord {
                        values: v,
                        ..c.clone()
                    },
                );
            }
        }
    }
    if let Some(v) = values {
        let attrs = first
            .coords
            .index(dim)
            .map(|c| c.attrs.clone())
            .unwrap_or_default();
        out.coords.insert(
            dim,
            Coord {
                attrs,
                ..Coord::new(dim, v)
            },
        );
    }
    out.validate()?;
    Ok(out)
}
