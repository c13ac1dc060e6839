//! Coordinates: the labels along a dimension (xarray's indexes), held in memory
//! on every rank (they are small: one value per position of one dimension), and
//! the lookups `sel` needs.

use super::time::{Calendar, DateTime};
use super::Attrs;
use crate::error::{Error, Result};
use std::fmt;

/// The values of a coordinate.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum CoordValues {
    Float(Vec<f64>),
    /// Float values read from a `float32` variable, kept as they are so that
    /// writing gives `float32` back (xarray keeps a coordinate's dtype).
    Float32(Vec<f32>),
    Int(Vec<i64>),
    Text(Vec<String>),
    /// Decoded CF times, all of one calendar.
    Time(Vec<DateTime>, Calendar),
}

impl CoordValues {
    pub fn len(&self) -> usize {
        match self {
            CoordValues::Float(v) => v.len(),
            CoordValues::Float32(v) => v.len(),
            CoordValues::Int(v) => v.len(),
            CoordValues::Text(v) => v.len(),
            CoordValues::Time(v, _) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The values at `positions`, in that order.
    pub fn take(&self, positions: impl Iterator<Item = usize> + Clone) -> CoordValues {
        match self {
            CoordValues::Float(v) => CoordValues::Float(positions.map(|i| v[i]).collect()),
            CoordValues::Float32(v) => CoordValues::Float32(positions.map(|i| v[i]).collect()),
            CoordValues::Int(v) => CoordValues::Int(positions.map(|i| v[i]).collect()),
            CoordValues::Text(v) => CoordValues::Text(positions.map(|i| v[i].clone()).collect()),
            CoordValues::Time(v, c) => CoordValues::Time(positions.map(|i| v[i]).collect(), *c),
        }
    }

    /// `self` followed by `other` (`concat`); both must be of one kind.
    pub fn concat(&self, other: &CoordValues) -> Option<CoordValues> {
        Some(match (self, other) {
            (CoordValues::Float32(a), CoordValues::Float32(b)) => {
                CoordValues::Float32(a.iter().chain(b).copied().collect())
            }
            (a, b) if a.is_float() && b.is_float() => CoordValues::Float(
                a.floats()
                    .into_iter()
                    .flatten()
                    .chain(b.floats().into_iter().flatten())
                    .collect(),
            ),
            (CoordValues::Int(a), CoordValues::Int(b)) => {
                CoordValues::Int(a.iter().chain(b).copied().collect())
            }
            (CoordValues::Text(a), CoordValues::Text(b)) => {
                CoordValues::Text(a.iter().chain(b).cloned().collect())
            }
            (CoordValues::Time(a, c), CoordValues::Time(b, d)) if c == d => {
                CoordValues::Time(a.iter().chain(b).copied().collect(), *c)
            }
            _ => return None,
        })
    }

    /// The value at `i` as text (`print`, messages).
    pub fn label(&self, i: usize) -> String {
        match self {
            CoordValues::Float(v) => format!("{}", v[i]),
            CoordValues::Float32(v) => format!("{}", v[i]),
            CoordValues::Int(v) => format!("{}", v[i]),
            CoordValues::Text(v) => v[i].clone(),
            CoordValues::Time(v, _) => v[i].to_string(),
        }
    }

    /// A number per value for ordering and nearest lookups (times: ticks).
    fn key(&self, i: usize) -> Option<f64> {
        match self {
            CoordValues::Float(v) => Some(v[i]),
            CoordValues::Float32(v) => Some(f64::from(v[i])),
            CoordValues::Int(v) => Some(v[i] as f64),
            CoordValues::Time(v, _) => Some(v[i].to_ticks() as f64),
            CoordValues::Text(_) => None,
        }
    }

    /// +1 if strictly increasing, -1 if strictly decreasing, 0 otherwise.
    pub fn monotonic(&self) -> i8 {
        let n = self.len();
        if n < 2 {
            return 1;
        }
        let keys: Option<Vec<f64>> = (0..n).map(|i| self.key(i)).collect();
        let Some(k) = keys else {
            return 0;
        };
        if k.windows(2).all(|w| w[0] < w[1]) {
            1
        } else if k.windows(2).all(|w| w[0] > w[1]) {
            -1
        } else {
            0
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            CoordValues::Float(_) | CoordValues::Float32(_) => "float",
            CoordValues::Int(_) => "integer",
            CoordValues::Text(_) => "string",
            CoordValues::Time(..) => "time",
        }
    }

    /// Float values (of either width).
    pub fn is_float(&self) -> bool {
        matches!(self, CoordValues::Float(_) | CoordValues::Float32(_))
    }

    /// The values as `f64`, for float coordinates of either width.
    pub fn floats(&self) -> Option<Vec<f64>> {
        match self {
            CoordValues::Float(v) => Some(v.clone()),
            CoordValues::Float32(v) => Some(v.iter().map(|&x| f64::from(x)).collect()),
            _ => None,
        }
    }
}

/// A label to select by (`sel`).
#[derive(Debug, Clone, PartialEq)]
pub enum Label {
    Num(f64),
    /// A string: a text label, or on a time coordinate a date or a period
    /// (`"2000"`, `"2000-03"`, `"2000-03-01T06"`).
    Text(String),
}

impl From<f64> for Label {
    fn from(v: f64) -> Self {
        Label::Num(v)
    }
}
impl From<i64> for Label {
    fn from(v: i64) -> Self {
        Label::Num(v as f64)
    }
}
impl From<i32> for Label {
    fn from(v: i32) -> Self {
        Label::Num(v as f64)
    }
}
impl From<&str> for Label {
    fn from(v: &str) -> Self {
        Label::Text(v.to_string())
    }
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Label::Num(v) => write!(f, "{v}"),
            Label::Text(s) => write!(f, "{s:?}"),
        }
    }
}

/// A coordinate: values along `dims` (one dim, or none for a scalar coordinate
/// left by selecting one position), with attributes.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Coord {
    pub dims: Vec<String>,
    pub values: CoordValues,
    pub attrs: Attrs,
}

impl Coord {
    /// A dimension coordinate along `dim`.
    pub fn new(dim: &str, values: CoordValues) -> Coord {
        Coord {
            dims: vec![dim.to_string()],
            values,
            attrs: Attrs::new(),
        }
    }

    /// The positions whose labels fall in `lo..=hi` (either may be open), in
    /// the coordinate's order: for a decreasing coordinate, `lo` is the larger
    /// label, as in xarray (`sel(lat=slice(60, 30))`). A time period as a bound
    /// covers all of it (`slice("2000-03", "2000-05")` is March to May).
    pub fn slice_positions(
        &self,
        name: &str,
        lo: Option<&Label>,
        hi: Option<&Label>,
    ) -> Result<std::ops::Range<usize>> {
        let dir = self.values.monotonic();
        if dir == 0 {
            return Err(Error::plan(format!(
                "coordinate `{name}` is not monotonic: select a slice of it by position (isel)"
            )));
        }
        let n = self.values.len();
        let bound = |l: &Label, upper: bool| -> Result<f64> {
            let (a, b) = self.key_range(name, l)?;
            // The lower bound of an increasing coordinate is the period's start;
            // its upper bound the period's end.
            Ok(if upper == (dir > 0) { b } else { a })
        };
        let lo_k = lo.map(|l| bound(l, false)).transpose()?;
        let hi_k = hi.map(|l| bound(l, true)).transpose()?;
        let inside = |i: usize| {
            let k = self.values.key(i).unwrap_or(f64::NAN);
            let after_lo = lo_k.is_none_or(|b| if dir > 0 { k >= b } else { k <= b });
            let before_hi = hi_k.is_none_or(|b| if dir > 0 { k <= b } else { k >= b });
            (after_lo, before_hi)
        };
        let start = (0..n).find(|&i| inside(i).0).unwrap_or(n);
        let stop = (start..n).find(|&i| !inside(i).1).unwrap_or(n);
        Ok(start..stop.max(start))
    }

    /// The position of `label`: exact, or with `nearest` the closest one,
    /// failing if it is further than `tolerance`.
    pub fn position(
        &self,
        name: &str,
        label: &Label,
        nearest: bool,
        tolerance: Option<f64>,
    ) -> Result<usize> {
        let n = self.values.len();
        if let (CoordValues::Text(v), Label::Text(s)) = (&self.values, label) {
            return v.iter().position(|x| x == s).ok_or_else(|| {
                Error::plan(format!(
                    "{label} is not a label of coordinate `{name}` (its labels: {})",
                    v.join(", ")
                ))
            });
        }
        let (a, b) = self.key_range(name, label)?;
        let mut best: Option<(f64, usize)> = None;
        for i in 0..n {
            let k = self.values.key(i).unwrap_or(f64::NAN);
            let d = if k < a {
                a - k
            } else if k > b {
                k - b
            } else {
                0.0
            };
            if best.is_none_or(|(bd, _)| d < bd) {
                best = Some((d, i));
            }
        }
        match best {
            Some((0.0, i)) => Ok(i),
            Some((d, i)) if nearest => match tolerance {
                Some(t) if d > t => Err(Error::plan(format!(
                    "no label of coordinate `{name}` within tolerance {t} of {label}: the \
                     nearest, {}, is {d} away",
                    self.values.label(i)
                ))),
                _ => Ok(i),
            },
            _ => Err(Error::plan(format!(
                "{label} is not a label of coordinate `{name}`; use method \"nearest\" to take \
                 the closest one"
            ))),
        }
    }

    /// The keys `label` stands for on this coordinate: one number, or a time
    /// period `[start, end]`.
    fn key_range(&self, name: &str, label: &Label) -> Result<(f64, f64)> {
        match (&self.values, label) {
            (CoordValues::Time(_, cal), Label::Text(s)) => {
                let (a, b) = DateTime::parse_period(s, *cal)
                    .map_err(|e| Error::plan(format!("coordinate `{name}`: {}", e.message())))?;
                Ok((a.to_ticks() as f64, (b.to_ticks() - 1) as f64))
            }
            (
                CoordValues::Float(_) | CoordValues::Float32(_) | CoordValues::Int(_),
                Label::Num(v),
            ) => Ok((*v, *v)),
            (v, l) => Err(Error::plan(format!(
                "coordinate `{name}` holds {} labels; {l} is not one",
                v.kind()
            ))),
        }
    }
}

/// The coordinates of an array or dataset, in order.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Coords(pub Vec<(String, Coord)>);

impl Coords {
    pub fn get(&self, name: &str) -> Option<&Coord> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, c)| c)
    }

    /// Add or replace.
    pub fn insert(&mut self, name: &str, c: Coord) {
        match self.0.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = c,
            None => self.0.push((name.to_string(), c)),
        }
    }

    pub fn remove(&mut self, name: &str) {
        self.0.retain(|(n, _)| n != name);
    }

    /// The dimension coordinate of `dim` (a coordinate named like its dim).
    pub fn index(&self, dim: &str) -> Option<&Coord> {
        self.get(dim)
            .filter(|c| c.dims.len() == 1 && c.dims[0] == dim)
    }

    /// Keep only the coordinates whose dims are all in `dims`.
    pub fn restricted_to(&self, dims: &[String]) -> Coords {
        Coords(
            self.0
                .iter()
                .filter(|(_, c)| c.dims.iter().all(|d| dims.contains(d)))
                .cloned()
                .collect(),
        )
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Coord)> {
        self.0.iter().map(|(n, c)| (n.as_str(), c))
    }
}
