//! How a dimension lies along a plot axis: each element's position (its
//! coordinate value, its time, or its index), the cells a heatmap draws
//! around those positions, the axis range, ticks and title.

use super::ticks::{index_ticks, number_ticks, time_ticks, Tick};
use crate::dataset::time::Calendar;
use crate::dataset::{Attrs, CoordValues, DataArray};

/// What the axis positions are.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Scale {
    /// Numbers (whole numbers: `integer`).
    Number { integer: bool },
    /// Times, as microseconds since 1970-01-01 of the calendar.
    Time(Calendar),
    /// Positions `0..n`, labelled with these texts: text coordinates, and
    /// coordinates that are not monotonic (a heatmap needs ordered cells).
    Labels(Vec<String>),
}

/// One dimension laid along an axis.
#[derive(Debug, Clone)]
pub(crate) struct Axis {
    /// The axis title: the coordinate's `long_name`, `standard_name` or
    /// name, with `[units]` (xarray's `label_from_attrs`).
    pub title: String,
    pub scale: Scale,
    /// The position of each element along the axis.
    pub centers: Vec<f64>,
    /// The range shown, `lo < hi`: larger values to the right and at the
    /// top, whatever the order of the elements.
    pub lo: f64,
    pub hi: f64,
}

impl Axis {
    /// The axis for `dim` of `da`: its dimension coordinate, or the
    /// positions `0..n` when it has none (as xarray plots).
    /// `ordered`: cells will be drawn around the positions, which must then
    /// be strictly monotonic (others fall back to positions with labels).
    pub(crate) fn for_dim(da: &DataArray, dim: &str, n: usize, ordered: bool) -> Axis {
        let coord = da.coords().index(dim);
        let title = label_from_attrs(coord.map(|c| &c.attrs), dim);
        let Some(c) = coord else {
            return Axis::new(
                title,
                Scale::Number { integer: true },
                (0..n).map(|i| i as f64).collect(),
            );
        };
        let labels = |v: &CoordValues| (0..v.len()).map(|i| v.label(i)).collect::<Vec<_>>();
        let positions = || (0..n).map(|i| i as f64).collect::<Vec<_>>();
        let values = &c.values;
        let unordered = ordered && values.monotonic() == 0;
        let (scale, centers) = match values {
            CoordValues::Text(_) => (Scale::Labels(labels(values)), positions()),
            _ if unordered => (Scale::Labels(labels(values)), positions()),
            CoordValues::Float(_) | CoordValues::Float32(_) => (
                Scale::Number { integer: false },
                values.floats().unwrap_or_default(),
            ),
            CoordValues::Int(v) => (
                Scale::Number { integer: true },
                v.iter().map(|&x| x as f64).collect(),
            ),
            CoordValues::Time(t, cal) => (
                Scale::Time(*cal),
                t.iter().map(|d| d.to_ticks() as f64).collect(),
            ),
        };
        Axis::new(title, scale, centers)
    }

    /// An axis over `centers` whose range is their cells' extent.
    fn new(title: String, scale: Scale, centers: Vec<f64>) -> Axis {
        let mut a = Axis {
            title,
            scale,
            centers,
            lo: 0.0,
            hi: 1.0,
        };
        let e = a.edges();
        a.set_range(e.iter().copied());
        a
    }

    /// Show `values` (non-finite ones ignored) with a margin of 5% of their
    /// span on each side, as matplotlib's line plots do.
    pub(crate) fn with_margins(mut self) -> Axis {
        let c = self.centers.clone();
        self.set_range(c.into_iter());
        let m = (self.hi - self.lo) * 0.05;
        self.lo -= m;
        self.hi += m;
        self
    }

    fn set_range(&mut self, values: impl Iterator<Item = f64>) {
        let (lo, hi) = values
            .filter(|v| v.is_finite())
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                (a.min(v), b.max(v))
            });
        (self.lo, self.hi) = if lo > hi {
            (0.0, 1.0)
        } else if lo == hi {
            let d = match self.scale {
                // Half a day around one time.
                Scale::Time(_) => 43_200e6,
                _ if lo == 0.0 => 0.5,
                _ => lo.abs() / 20.0,
            };
            (lo - d, hi + d)
        } else {
            (lo, hi)
        };
    }

    /// The edges of the cells around the positions (`n + 1` of them, in the
    /// positions' order): halfway between neighbours, and half a step beyond
    /// the ends (matplotlib's `pcolormesh` through xarray's
    /// `_infer_interval_breaks`). One position gets a cell of width 1 (half a
    /// day for times).
    pub(crate) fn edges(&self) -> Vec<f64> {
        let c = &self.centers;
        match c.len() {
            0 => vec![0.0, 1.0],
            1 => {
                let h = if matches!(self.scale, Scale::Time(_)) {
                    21_600e6
                } else {
                    0.5
                };
                vec![c[0] - h, c[0] + h]
            }
            n => {
                let mut e = Vec::with_capacity(n + 1);
                e.push(c[0] - (c[1] - c[0]) / 2.0);
                e.extend(c.windows(2).map(|w| (w[0] + w[1]) / 2.0));
                e.push(c[n - 1] + (c[n - 1] - c[n - 2]) / 2.0);
                e
            }
        }
    }

    /// At most `max` ticks inside the range.
    pub(crate) fn ticks(&self, max: usize) -> Vec<Tick> {
        match &self.scale {
            Scale::Number { integer } => number_ticks(self.lo, self.hi, max, *integer),
            Scale::Time(cal) => time_ticks(self.lo, self.hi, *cal, max),
            Scale::Labels(l) => index_ticks(l, self.lo, self.hi, max),
        }
    }

    /// The value at a fraction `f` of the range (0: `lo`, 1: `hi`).
    pub(crate) fn at(&self, f: f64) -> f64 {
        self.lo + f * (self.hi - self.lo)
    }

    /// The fraction of the range where `v` is (0: `lo`, 1: `hi`).
    pub(crate) fn frac(&self, v: f64) -> f64 {
        (v - self.lo) / (self.hi - self.lo)
    }
}

/// The cell of `edges` (monotonic, either way) that holds `v`, if any.
pub(crate) fn cell_at(edges: &[f64], v: f64) -> Option<usize> {
    let n = edges.len().checked_sub(1)?;
    if n == 0 || v.is_nan() {
        return None;
    }
    let inc = edges[n] >= edges[0];
    // The number of edges at or before `v` in the edges' direction.
    let k = if inc {
        edges.partition_point(|&e| e <= v)
    } else {
        edges.partition_point(|&e| e >= v)
    };
    if k == 0 {
        return None;
    }
    if k > n {
        // Exactly on the far end belongs to the last cell.
        return (edges[n] == v).then_some(n - 1);
    }
    Some(k - 1)
}

/// xarray's `label_from_attrs`: `long_name`, else `standard_name`, else
/// `name`, followed by ` [units]` when there are units.
pub(crate) fn label_from_attrs(attrs: Option<&Attrs>, name: &str) -> String {
    let text = |k: &str| {
        attrs
            .and_then(|a| a.get(k))
            .and_then(|v| v.as_text())
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    let base = text("long_name")
        .or_else(|| text("standard_name"))
        .unwrap_or(name);
    match text("units") {
        Some(u) => format!("{base} [{u}]"),
        None => base.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_of_a_decreasing_coordinate() {
        // Latitudes 60, 50, 40: cells 65..55, 55..45, 45..35.
        let e = [65.0, 55.0, 45.0, 35.0];
        assert_eq!(cell_at(&e, 64.0), Some(0));
        assert_eq!(cell_at(&e, 50.0), Some(1));
        assert_eq!(cell_at(&e, 36.0), Some(2));
        assert_eq!(cell_at(&e, 35.0), Some(2));
        assert_eq!(cell_at(&e, 66.0), None);
        assert_eq!(cell_at(&e, 34.0), None);
        assert_eq!(cell_at(&[0.0, 1.0, 2.0], 1.5), Some(1));
        assert_eq!(cell_at(&[0.0, 1.0, 2.0], 2.0), Some(1));
        assert_eq!(cell_at(&[0.0, 1.0, 2.0], -0.1), None);
    }
}
