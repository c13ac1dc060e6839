//! Reductions over any set of axes, with `keepdims` (dask's tree reductions).

use super::Array;
use crate::error::{Error, Result};
use crate::expr::{self, SPLIT_EVERY};
use crate::kernel::reduce::ReduceOp;
use crate::meta::normalize_axis;

/// Which axes to reduce: `None` (all), one axis, or several; negative axes count
/// from the end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Axes {
    All,
    Some(Vec<isize>),
}

impl Axes {
    /// These axes, counted from the start (`Axes::Some` takes `isize`).
    pub fn of(axes: &[usize]) -> Axes {
        Axes::Some(axes.iter().map(|&a| a as isize).collect())
    }
}

impl From<Option<isize>> for Axes {
    fn from(a: Option<isize>) -> Self {
        a.map_or(Axes::All, |a| Axes::Some(vec![a]))
    }
}
impl From<isize> for Axes {
    fn from(a: isize) -> Self {
        Axes::Some(vec![a])
    }
}
impl From<i32> for Axes {
    fn from(a: i32) -> Self {
        Axes::Some(vec![a as isize])
    }
}
impl From<Vec<isize>> for Axes {
    fn from(a: Vec<isize>) -> Self {
        Axes::Some(a)
    }
}
impl<const N: usize> From<[isize; N]> for Axes {
    fn from(a: [isize; N]) -> Self {
        Axes::Some(a.to_vec())
    }
}
impl From<&[isize]> for Axes {
    fn from(a: &[isize]) -> Self {
        Axes::Some(a.to_vec())
    }
}

impl Axes {
    /// Sorted, distinct, non-negative axes of an `ndim`-d array.
    pub fn resolve(&self, ndim: usize) -> Result<Vec<usize>> {
        let mut v = match self {
            Axes::All => (0..ndim).collect(),
            Axes::Some(a) => a
                .iter()
                .map(|&x| normalize_axis(x, ndim))
                .collect::<Result<Vec<_>>>()?,
        };
        let n = v.len();
        v.sort_unstable();
        v.dedup();
        if v.len() != n {
            return Err(Error::plan(format!("duplicate value in 'axis': {self:?}")));
        }
        Ok(v)
    }
}

impl Array {
    /// Reduce with `op` over `axes`; without `keepdims` the reduced axes are dropped.
    pub fn reduce(&self, op: ReduceOp, axes: impl Into<Axes>, keepdims: bool) -> Result<Array> {
        let e = self.expr()?;
        let axes = axes.into().resolve(e.ndim())?;
        let r = expr::reduce(e, op, &axes, SPLIT_EVERY)?;
        if keepdims {
            return Ok(Array::from_expr(r));
        }
        let src = (0..e.ndim())
            .filter(|d| !axes.contains(d))
            .map(Some)
            .collect();
        Ok(Array::from_expr(expr::axis_map(&r, src)?))
    }
}

macro_rules! reductions {
    ($($name:ident => $op:expr, $doc:literal;)*) => {
        impl Array {
            $(
                #[doc = $doc]
                pub fn $name(&self, axes: impl Into<Axes>, keepdims: bool) -> Result<Array> {
                    self.reduce($op, axes, keepdims)
                }
            )*
        }
    };
}
reductions! {
    sum => ReduceOp::Sum, "Sum (integers and bools accumulate in int64).";
    prod => ReduceOp::Prod, "Product.";
    mean => ReduceOp::Mean, "Arithmetic mean.";
    min => ReduceOp::Min, "Minimum (NaN propagates).";
    max => ReduceOp::Max, "Maximum (NaN propagates).";
    count => ReduceOp::Count, "Number of non-NaN elements (xarray's `count`).";
    count_nonzero => ReduceOp::CountNonzero, "Number of non-zero elements.";
    any => ReduceOp::Any, "Is any element true?";
    all => ReduceOp::All, "Are all elements true?";
    nansum => ReduceOp::NanSum, "Sum, NaN counted as zero.";
    nanprod => ReduceOp::NanProd, "Product, NaN counted as one.";
    nanmean => ReduceOp::NanMean, "Mean of the non-NaN elements.";
    nanmin => ReduceOp::NanMin, "Minimum of the non-NaN elements.";
    nanmax => ReduceOp::NanMax, "Maximum of the non-NaN elements.";
}

impl Array {
    /// Variance with `ddof` delta degrees of freedom (a stable parallel combination).
    pub fn var(&self, axes: impl Into<Axes>, ddof: u32, keepdims: bool) -> Result<Array> {
        self.reduce(ReduceOp::Var { ddof }, axes, keepdims)
    }
    /// Standard deviation with `ddof` delta degrees of freedom.
    pub fn std(&self, axes: impl Into<Axes>, ddof: u32, keepdims: bool) -> Result<Array> {
        self.reduce(ReduceOp::Std { ddof }, axes, keepdims)
    }
    /// Variance of the non-NaN elements.
    pub fn nanvar(&self, axes: impl Into<Axes>, ddof: u32, keepdims: bool) -> Result<Array> {
        self.reduce(ReduceOp::NanVar { ddof }, axes, keepdims)
    }
    /// Standard deviation of the non-NaN elements.
    pub fn nanstd(&self, axes: impl Into<Axes>, ddof: u32, keepdims: bool) -> Result<Array> {
        self.reduce(ReduceOp::NanStd { ddof }, axes, keepdims)
    }
    /// Index of the minimum along `axis`, or in the flattened array for `None`.
    pub fn argmin(&self, axis: Option<isize>) -> Result<Array> {
        self.arg(ReduceOp::ArgMin, axis)
    }
    /// Index of the maximum along `axis`, or in the flattened array for `None`.
    pub fn argmax(&self, axis: Option<isize>) -> Result<Array> {
        self.arg(ReduceOp::ArgMax, axis)
    }
    /// [`argmin`](Self::argmin) ignoring NaN.
    pub fn nanargmin(&self, axis: Option<isize>) -> Result<Array> {
        self.arg(ReduceOp::NanArgMin, axis)
    }
    /// [`argmax`](Self::argmax) ignoring NaN.
    pub fn nanargmax(&self, axis: Option<isize>) -> Result<Array> {
        self.arg(ReduceOp::NanArgMax, axis)
    }
    fn arg(&self, op: ReduceOp, axis: Option<isize>) -> Result<Array> {
        self.reduce(op, Axes::from(axis), false)
    }
}
