//! Structure: transpose, concatenate, stack, reshape, matmul.

use super::Array;
use crate::error::{Error, Result};
use crate::expr;
use crate::meta::normalize_axis;

impl Array {
    /// Reverse the axes (`x.T`).
    pub fn t(&self) -> Array {
        let nd = self.ndim();
        self.then(|e| expr::axis_map(e, (0..nd).rev().map(Some).collect()))
    }
    /// Permute the axes: output axis `i` is input axis `perm[i]`.
    pub fn transpose(&self, perm: &[usize]) -> Result<Array> {
        let e = self.expr()?;
        let mut seen = vec![false; e.ndim()];
        if perm.len() != e.ndim()
            || perm
                .iter()
                .any(|&p| p >= e.ndim() || std::mem::replace(&mut seen[p], true))
        {
            return Err(Error::plan(format!(
                "axes {perm:?} don't match an array of dimension {}",
                e.ndim()
            )));
        }
        Ok(Array::from_expr(expr::axis_map(
            e,
            perm.iter().map(|&p| Some(p)).collect(),
        )?))
    }
    /// Insert a length-1 axis at `axis`.
    pub fn expand_dims(&self, axis: isize) -> Result<Array> {
        let e = self.expr()?;
        let a = normalize_axis(axis, e.ndim() + 1)?;
        let mut src: Vec<Option<usize>> = (0..e.ndim()).map(Some).collect();
        src.insert(a, None);
        Ok(Array::from_expr(expr::axis_map(e, src)?))
    }
    /// Drop length-1 axes (all of them for `None`).
    pub fn squeeze(&self, axes: Option<&[isize]>) -> Result<Array> {
        let e = self.expr()?;
        let shape = e.shape();
        let drop: Vec<usize> = match axes {
            None => (0..shape.len()).filter(|&d| shape[d] == 1).collect(),
            Some(a) => a
                .iter()
                .map(|&x| normalize_axis(x, shape.len()))
                .collect::<Result<_>>()?,
        };
        for &d in &drop {
            if shape[d] != 1 {
                return Err(Error::plan(format!(
                    "cannot select an axis to squeeze out which has size not equal to one (axis {d}, size {})",
                    shape[d]
                )));
            }
        }
        let src = (0..shape.len())
            .filter(|d| !drop.contains(d))
            .map(Some)
            .collect();
        Ok(Array::from_expr(expr::axis_map(e, src)?))
    }
    /// C-order reshape; one entry may be `-1`.
    pub fn reshape(&self, shape: &[isize]) -> Result<Array> {
        let e = self.expr()?;
        let size: usize = e.shape().iter().product();
        let known: usize = shape
            .iter()
            .filter(|&&s| s >= 0)
            .map(|&s| s as usize)
            .product();
        let unknown = shape.iter().filter(|&&s| s < 0).count();
        if unknown > 1 || shape.iter().any(|&s| s < -1) {
            return Err(Error::plan(format!(
                "can only specify one unknown dimension (-1) in reshape, got {shape:?}"
            )));
        }
        let out: Vec<usize> = shape
            .iter()
            .map(|&s| {
                if s < 0 {
                    size.checked_div(known).unwrap_or(0)
                } else {
                    s as usize
                }
            })
            .collect();
        if out.iter().product::<usize>() != size {
            return Err(Error::plan(format!(
                "cannot reshape array of size {size} into shape {shape:?}"
            )));
        }
        Ok(Array::from_expr(expr::reshape(e, &out)?))
    }
    /// Matrix product of 2-D arrays (`x @ y`).
    pub fn matmul(&self, other: &Array) -> Result<Array> {
        Ok(Array::from_expr(expr::matmul(self.expr()?, other.expr()?)?))
    }
    /// Same as [`matmul`](Self::matmul) for 2-D arrays (NumPy's `dot`).
    pub fn dot(&self, other: &Array) -> Result<Array> {
        self.matmul(other)
    }
}

/// Join arrays along an existing axis (dask keeps their chunks).
pub fn concatenate(arrays: &[&Array], axis: isize) -> Result<Array> {
    let exprs: Vec<_> = arrays
        .iter()
        .map(|a| a.expr().cloned())
        .collect::<Result<_>>()?;
    let nd = exprs
        .first()
        .map(|e| e.ndim())
        .ok_or_else(|| Error::plan("need at least one array to concatenate"))?;
    let axis = normalize_axis(axis, nd)?;
    Ok(Array::from_expr(expr::concat(&exprs, axis)?))
}

/// Join arrays of one shape along a new axis.
pub fn stack(arrays: &[&Array], axis: isize) -> Result<Array> {
    let first = arrays
        .first()
        .ok_or_else(|| Error::plan("need at least one array to stack"))?;
    let shape = first.expr()?.shape();
    for (i, a) in arrays.iter().enumerate() {
        if a.expr()?.shape() != shape {
            return Err(Error::plan(format!(
                "all input arrays must have the same shape: array 0 has {shape:?}, array {i} has {:?}",
                a.shape()
            )));
        }
    }
    let axis = normalize_axis(axis, shape.len() + 1)?;
    let expanded: Vec<Array> = arrays
        .iter()
        .map(|a| a.expand_dims(axis as isize))
        .collect::<Result<_>>()?;
    concatenate(&expanded.iter().collect::<Vec<_>>(), axis as isize)
}
