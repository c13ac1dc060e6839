//! Arithmetic between labelled arrays: broadcast by dimension name and align
//! by coordinate labels (xarray's `join="inner"` for arithmetic).
//!
//! Alignment here is by contiguous ranges: where the two index coordinates of a
//! dimension differ, their common labels must form one contiguous range in
//! each operand (overlapping time periods, a sub-box of a grid), which is
//! selected from both with slices. Anything else (interleaved labels, a
//! reordering) is refused with a message rather than gathered element by
//! element.

use super::coord::CoordValues;
use super::dataarray::{DataArray, Pos};
use crate::array::{Array, Operand};
use crate::error::{Error, Result};

/// `f(a', b')` on the two arrays aligned and broadcast by dimension name; the
/// result has `a`'s dims followed by those only `b` has, `a`'s name, the
/// coordinates of both, and the attributes of both without those that differ
/// (xarray's default: see [`super::merge::drop_conflicts`]).
pub(crate) fn zip_with(
    a: &DataArray,
    b: &DataArray,
    what: &str,
    f: impl FnOnce(&Array, &Array) -> Result<Array>,
) -> Result<DataArray> {
    let (a, b) = align(a, b, what)?;
    let mut dims = a.dims.clone();
    for d in &b.dims {
        if !dims.contains(d) {
            dims.push(d.clone());
        }
    }
    let xa = expand_to(&a, &dims)?;
    let xb = expand_to(&b, &dims)?;
    let data = f(&xa, &xb)?;
    let mut coords = a.coords.clone();
    for (n, c) in b.coords.iter() {
        match coords.get(n) {
            None => coords.insert(n, c.clone()),
            // Scalar coordinates that disagree (`season` of JJA - DJF) are
            // dropped, as xarray does.
            Some(mine) if mine.values != c.values => coords.remove(n),
            Some(_) => {}
        }
    }
    let out = DataArray {
        name: a.name.clone(),
        dims,
        data,
        coords,
        attrs: super::merge::drop_conflicts(&a.attrs, &b.attrs),
    };
    out.validate()?;
    Ok(out)
}

impl DataArray {
    /// `f` on the data of `self` and `other` aligned by their labels and
    /// broadcast by dimension name, as the arithmetic operators do (xarray's
    /// `join="inner"`): comparisons (`da > other`), `where`, or any other
    /// elementwise function of two arrays. `what` names the operation in
    /// messages.
    ///
    /// ```
    /// use chunkwise::dataset::{Coords, DataArray};
    /// use chunkwise::prelude::*;
    /// let a = DataArray::new(from_ndarray(&ndarray::arr1(&[1.0, 5.0]), 2)?, &["x"], Coords::default())?;
    /// let b = DataArray::new(from_ndarray(&ndarray::arr1(&[3.0]), 1)?, &["y"], Coords::default())?;
    /// let gt = a.zip_with(&b, "comparison", |x, y| x.greater(y))?;
    /// assert_eq!(gt.dims(), ["x", "y"]);
    /// assert_eq!(gt.values()?.into_raw_vec_and_offset().0, [0.0, 1.0]);
    /// # Ok::<(), chunkwise::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Plan`] if the labels of a shared dimension do not align, or
    /// what `f` returns.
    pub fn zip_with(
        &self,
        other: &DataArray,
        what: &str,
        f: impl FnOnce(&Array, &Array) -> Result<Array>,
    ) -> Result<DataArray> {
        zip_with(self, other, what, f)
    }
}

/// `x`'s data with its axes in the order of `dims` and length-1 axes for the
/// dims it lacks, so NumPy broadcasting lines dimensions up by name.
fn expand_to(x: &DataArray, dims: &[String]) -> Result<Array> {
    let mine: Vec<usize> = dims
        .iter()
        .filter_map(|d| x.dims.iter().position(|e| e == d))
        .collect();
    let mut data = if mine.iter().enumerate().all(|(i, &a)| i == a) {
        x.data.clone()
    } else {
        x.data.transpose(&mine)?
    };
    for (i, d) in dims.iter().enumerate() {
        if !x.dims.contains(d) {
            data = data.expand_dims(i as isize)?;
        }
    }
    Ok(data)
}

/// Both operands restricted to the labels they share along every dimension
/// both have an index coordinate for.
fn align(a: &DataArray, b: &DataArray, what: &str) -> Result<(DataArray, DataArray)> {
    let mut sel_a = Vec::new();
    let mut sel_b = Vec::new();
    for d in a.dims.iter().filter(|d| b.dims.contains(d)) {
        let (la, lb) = (a.axis(d)?, b.axis(d)?);
        let (na, nb) = (a.shape()[la], b.shape()[lb]);
        match (a.index_values(d), b.index_values(d)) {
            (Some(ca), Some(cb)) if ca == cb => {}
            (Some(ca), Some(cb)) => {
                let (ra, rb) = common_range(ca, cb).ok_or_else(|| {
                    Error::plan(format!(
                        "{what}: the labels of dimension `{d}` do not align between {} and {} \
                         (their common labels are not one contiguous range of both); select \
                         matching labels with sel first",
                        a.what(),
                        b.what()
                    ))
                })?;
                sel_a.push((d.as_str(), Pos::range(ra.start, ra.end)));
                sel_b.push((d.as_str(), Pos::range(rb.start, rb.end)));
            }
            _ if na == nb || na == 1 || nb == 1 => {}
            _ => {
                return Err(Error::plan(format!(
                    "{what}: dimension `{d}` has length {na} in {} but {nb} in {}, and no \
                     coordinate to align them by",
                    a.what(),
                    b.what()
                )))
            }
        }
    }
    let a = if sel_a.is_empty() {
        a.clone()
    } else {
        a.isel(&sel_a)?
    };
    let b = if sel_b.is_empty() {
        b.clone()
    } else {
        b.isel(&sel_b)?
    };
    Ok((a, b))
}

/// Where the labels of `a` and `b` overlap: equal ranges of positions in each
/// holding the same labels in the same order, or `None`.
fn common_range(
    a: &CoordValues,
    b: &CoordValues,
) -> Option<(std::ops::Range<usize>, std::ops::Range<usize>)> {
    let n = a.len();
    let label = |v: &CoordValues, i: usize| v.take(std::iter::once(i));
    let first_b = label(b, 0);
    let start_a = (0..n).find(|&i| label(a, i) == first_b);
    let (sa, sb) = match start_a {
        Some(i) => (i, 0),
        None => {
            let first_a = label(a, 0);
            ((0), (0..b.len()).find(|&j| label(b, j) == first_a)?)
        }
    };
    let len = (n - sa).min(b.len() - sb);
    let same = (0..len).all(|k| label(a, sa + k) == label(b, sb + k));
    (same && len > 0).then(|| (sa..sa + len, sb..sb + len))
}

/// Binary arithmetic on labelled arrays.
macro_rules! da_operator {
    ($tr:ident, $method:ident, $name:literal) => {
        impl std::ops::$tr<&DataArray> for &DataArray {
            type Output = Result<DataArray>;
            fn $method(self, rhs: &DataArray) -> Result<DataArray> {
                zip_with(self, rhs, $name, |x, y| {
                    let r = std::ops::$tr::$method(x, y);
                    r.check()?;
                    Ok(r)
                })
            }
        }
        impl std::ops::$tr<f64> for &DataArray {
            type Output = Result<DataArray>;
            fn $method(self, rhs: f64) -> Result<DataArray> {
                let r = std::ops::$tr::$method(&self.data, Operand::from(rhs));
                r.check()?;
                Ok(self.with_data(r))
            }
        }
    };
}
da_operator!(Add, add, "addition");
da_operator!(Sub, sub, "subtraction");
da_operator!(Mul, mul, "multiplication");
da_operator!(Div, div, "division");
