//! NumPy-style indexing: slices with steps (negative too), integers, new axes and
//! an ellipsis.

use super::Array;
use crate::error::{Error, Result};
use crate::expr;

/// One entry of an index expression (`x[1:10:2, 3, None, ...]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idx {
    /// `start:stop:step` with Python's defaults and negative-index rules.
    Slice {
        start: Option<isize>,
        stop: Option<isize>,
        step: isize,
    },
    /// A single position: the axis is dropped.
    Int(isize),
    /// `None` / `np.newaxis`: a new length-1 axis.
    NewAxis,
    /// `...`: as many full slices as needed.
    Ellipsis,
}

impl Idx {
    /// `:` (the whole axis).
    pub const ALL: Idx = Idx::Slice {
        start: None,
        stop: None,
        step: 1,
    };
    /// `start:stop:step`.
    pub fn slice(start: Option<isize>, stop: Option<isize>, step: isize) -> Idx {
        Idx::Slice { start, stop, step }
    }
}

impl From<isize> for Idx {
    fn from(i: isize) -> Self {
        Idx::Int(i)
    }
}
impl From<i32> for Idx {
    fn from(i: i32) -> Self {
        Idx::Int(i as isize)
    }
}
impl From<std::ops::Range<isize>> for Idx {
    fn from(r: std::ops::Range<isize>) -> Self {
        Idx::slice(Some(r.start), Some(r.end), 1)
    }
}
impl From<std::ops::RangeFrom<isize>> for Idx {
    fn from(r: std::ops::RangeFrom<isize>) -> Self {
        Idx::slice(Some(r.start), None, 1)
    }
}
impl From<std::ops::RangeTo<isize>> for Idx {
    fn from(r: std::ops::RangeTo<isize>) -> Self {
        Idx::slice(None, Some(r.end), 1)
    }
}
impl From<std::ops::RangeFull> for Idx {
    fn from(_: std::ops::RangeFull) -> Self {
        Idx::ALL
    }
}

/// Python's `slice.indices(n)`: (start, len, step) of the selected elements.
pub fn slice_indices(
    start: Option<isize>,
    stop: Option<isize>,
    step: isize,
    n: usize,
) -> Result<(usize, usize, isize)> {
    if step == 0 {
        return Err(Error::plan("slice step cannot be zero"));
    }
    let n = n as isize;
    let fix = |v: isize, lo: isize, hi: isize| {
        let v = if v < 0 { v + n } else { v };
        v.clamp(lo, hi)
    };
    let (s, e) = if step > 0 {
        (
            start.map_or(0, |v| fix(v, 0, n)),
            stop.map_or(n, |v| fix(v, 0, n)),
        )
    } else {
        (
            start.map_or(n - 1, |v| fix(v, -1, n - 1)),
            stop.map_or(-1, |v| fix(v, -1, n - 1)),
        )
    };
    let len = if step > 0 {
        (e - s + step - 1).div_euclid(step)
    } else {
        (s - e + (-step) - 1).div_euclid(-step)
    };
    let len = len.max(0) as usize;
    Ok((if len == 0 { 0 } else { s as usize }, len, step))
}

impl Array {
    /// NumPy indexing: `x.slice(&[Idx::from(1..5), Idx::Int(0), Idx::NewAxis])` is
    /// `x[1:5, 0, None]`. Dask's chunking rules apply: each output chunk comes from
    /// one input chunk.
    pub fn slice(&self, index: &[Idx]) -> Result<Array> {
        let e = self.expr()?;
        let shape = e.shape();
        let consumed = index
            .iter()
            .filter(|i| matches!(i, Idx::Slice { .. } | Idx::Int(_)))
            .count();
        if index.iter().filter(|i| matches!(i, Idx::Ellipsis)).count() > 1 {
            return Err(Error::plan(
                "an index can only have a single ellipsis ('...')",
            ));
        }
        if consumed > shape.len() {
            return Err(Error::plan(format!(
                "too many indices for array: array is {}-dimensional, but {consumed} were indexed",
                shape.len()
            )));
        }
        let mut full: Vec<Idx> = Vec::new();
        for i in index {
            if *i == Idx::Ellipsis {
                full.extend(std::iter::repeat_n(Idx::ALL, shape.len() - consumed));
            } else {
                full.push(*i);
            }
        }
        let mut d = 0;
        let mut sel = Vec::with_capacity(shape.len());
        let mut src: Vec<Option<usize>> = Vec::new();
        for i in &full {
            match *i {
                Idx::Slice { start, stop, step } => {
                    sel.push(slice_indices(start, stop, step, shape[d])?);
                    src.push(Some(d));
                    d += 1;
                }
                Idx::Int(k) => {
                    let n = shape[d] as isize;
                    let kk = if k < 0 { k + n } else { k };
                    if kk < 0 || kk >= n {
                        return Err(Error::plan(format!(
                            "index {k} is out of bounds for axis {d} with size {n}"
                        )));
                    }
                    sel.push((kk as usize, 1, 1));
                    d += 1;
                }
                Idx::NewAxis => src.push(None),
                Idx::Ellipsis => {}
            }
        }
        while d < shape.len() {
            sel.push((0, shape[d], 1));
            src.push(Some(d));
            d += 1;
        }
        let sliced = expr::slice(e, sel)?;
        Ok(Array::from_expr(expr::axis_map(&sliced, src)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn slice_indices_match_python() {
        // Python: slice(None, None, -1).indices(5) -> (4, -1, -1): 5 elements from 4
        assert_eq!(slice_indices(None, None, -1, 5).unwrap(), (4, 5, -1));
        // slice(1, 10, 3).indices(10) -> 1, 4, 7
        assert_eq!(slice_indices(Some(1), Some(10), 3, 10).unwrap(), (1, 3, 3));
        // slice(-3, None).indices(10) -> 7, 8, 9
        assert_eq!(slice_indices(Some(-3), None, 1, 10).unwrap(), (7, 3, 1));
        // slice(8, 2, -2).indices(10) -> 8, 6, 4
        assert_eq!(slice_indices(Some(8), Some(2), -2, 10).unwrap(), (8, 3, -2));
        // empty
        assert_eq!(slice_indices(Some(5), Some(2), 1, 10).unwrap().1, 0);
    }
}
