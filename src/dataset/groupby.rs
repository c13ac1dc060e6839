//! Split-apply-combine along one dimension: `groupby` (on a coordinate or a
//! time component like `time.season`), `resample(time=...)`, and groupby
//! arithmetic (anomalies).
//!
//! A group is a set of positions along the dimension, kept as its runs of
//! consecutive positions (a season of daily data over four years is five
//! runs). A reduction of a group concatenates the runs' slices and reduces
//! them; the groups' results are stacked along a new dimension named after the
//! grouping (`season`, `month`, or the coordinate). Arithmetic with a grouped
//! array subtracts (adds, ...) each group's entry from every run of the group
//! and puts the runs back in order. Both are ordinary plans of slices,
//! concatenations and reductions, so they run chunked on any number of ranks.

use super::coord::{Coord, CoordValues};
use super::dataarray::{DataArray, Pos};
use super::time::{DateTime, Freq};
use crate::array::{concatenate, stack, Array};
use crate::error::{Error, Result};
use std::ops::Range;

/// Positions along a dimension split into labelled groups.
#[derive(Clone)]
pub struct GroupBy {
    obj: DataArray,
    dim: String,
    /// The new dimension of reductions (`season`, `month`, `time` for
    /// resample, or the grouping coordinate's name).
    name: String,
    labels: CoordValues,
    runs: Vec<Vec<Range<usize>>>,
}

/// How a time coordinate is grouped.
fn component(t: &DateTime, what: &str) -> Result<Key> {
    Ok(match what {
        "year" => Key::Int(t.year() as i64),
        "month" => Key::Int(t.month() as i64),
        "day" => Key::Int(t.day() as i64),
        "hour" => Key::Int(t.hour() as i64),
        "minute" => Key::Int(t.minute() as i64),
        "second" => Key::Int(t.second() as i64),
        "dayofyear" => Key::Int(t.dayofyear() as i64),
        "dayofweek" => Key::Int(t.dayofweek()? as i64),
        "days_in_month" => Key::Int(t.days_in_month() as i64),
        "season" => Key::Text(t.season().to_string()),
        other => {
            return Err(Error::plan(format!(
                "`{other}` is not a time component; use year, month, day, hour, minute, \
                 second, dayofyear, dayofweek, days_in_month or season"
            )))
        }
    })
}

impl CoordValues {
    /// A component of every time (`da.time.dt.month`): `year`, `month`, `day`,
    /// `hour`, `minute`, `second`, `dayofyear`, `dayofweek`, `days_in_month`
    /// (integers) or `season` (text).
    ///
    /// # Errors
    /// [`Error::Plan`] if these are not times or `what` is not a component.
    pub fn dt(&self, what: &str) -> Result<CoordValues> {
        let CoordValues::Time(v, _) = self else {
            return Err(Error::plan(format!(
                ".dt.{what} needs a time coordinate, not {} values",
                match self {
                    CoordValues::Float(_) => "float",
                    CoordValues::Int(_) => "integer",
                    _ => "text",
                }
            )));
        };
        let keys = v
            .iter()
            .map(|t| component(t, what))
            .collect::<Result<Vec<_>>>()?;
        Ok(keys_to_values(&keys))
    }
}

/// A group label while groups are formed.
#[derive(Debug, Clone, PartialEq, PartialOrd)]
enum Key {
    Int(i64),
    Float(f64),
    Text(String),
    Time(i64),
}

impl DataArray {
    /// Group along a dimension by a coordinate's values (`groupby("lat")`) or
    /// a component of a time coordinate (`groupby("time.season")`,
    /// `"time.month"`, `"time.year"`, `"time.dayofyear"`). Groups are sorted by
    /// label, as in xarray (seasons: DJF, JJA, MAM, SON).
    ///
    /// # Errors
    /// [`Error::Plan`] if there is no such coordinate or component, or the
    /// coordinate is not along one dimension.
    pub fn groupby(&self, key: &str) -> Result<GroupBy> {
        let (coord_name, comp) = match key.split_once('.') {
            Some((c, p)) => (c, Some(p)),
            None => (key, None),
        };
        let c = self.coord(coord_name)?;
        let [dim] = c.dims.as_slice() else {
            return Err(Error::plan(format!(
                "groupby(\"{key}\"): coordinate `{coord_name}` is not along one dimension"
            )));
        };
        let keys: Vec<Key> = match (&c.values, comp) {
            (CoordValues::Time(v, _), Some(p)) => {
                v.iter().map(|t| component(t, p)).collect::<Result<_>>()?
            }
            (_, Some(p)) => {
                return Err(Error::plan(format!(
                    "groupby(\"{key}\"): `{p}` of coordinate `{coord_name}` needs a time \
                     coordinate"
                )))
            }
            (CoordValues::Float(v), None) => v.iter().map(|&x| Key::Float(x)).collect(),
            (CoordValues::Float32(v), None) => {
                v.iter().map(|&x| Key::Float(f64::from(x))).collect()
            }
            (CoordValues::Int(v), None) => v.iter().map(|&x| Key::Int(x)).collect(),
            (CoordValues::Text(v), None) => v.iter().map(|x| Key::Text(x.clone())).collect(),
            (CoordValues::Time(v, _), None) => v.iter().map(|t| Key::Time(t.to_ticks())).collect(),
        };
        let name = comp.unwrap_or(coord_name).to_string();
        let mut unique: Vec<Key> = Vec::new();
        for k in &keys {
            if !unique.contains(k) {
                unique.push(k.clone());
            }
        }
        unique.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
        let runs = unique
            .iter()
            .map(|u| runs_where(keys.iter().map(|k| k == u)))
            .collect();
        let labels = match (&c.values, comp) {
            (CoordValues::Time(_, cal), None) => CoordValues::Time(
                unique
                    .iter()
                    .map(|k| match k {
                        Key::Time(t) => DateTime::from_ticks(*t, *cal),
                        _ => unreachable!("time keys are times"),
                    })
                    .collect(),
                *cal,
            ),
            _ => keys_to_values(&unique),
        };
        Ok(GroupBy {
            obj: self.clone(),
            dim: dim.clone(),
            name,
            labels,
            runs,
        })
    }

    /// Group a time dimension into periods (`resample(time="MS")`: month
    /// starts; `"QS-DEC"`: seasons from December; `"YS"`: years; `"D"`,
    /// `"h"`), labelled by each period's start. Periods without data are not
    /// in the result (xarray fills them with NaN).
    ///
    /// # Errors
    /// [`Error::Plan`] if `dim` has no time coordinate or `freq` is not one
    /// of those.
    pub fn resample(&self, dim: &str, freq: &str) -> Result<GroupBy> {
        let c = self.coords.index(dim).ok_or_else(|| {
            Error::plan(format!(
                "resample: {} has no coordinate for dimension `{dim}`",
                self.what()
            ))
        })?;
        let CoordValues::Time(times, cal) = &c.values else {
            return Err(Error::plan(format!(
                "resample: coordinate `{dim}` does not hold times"
            )));
        };
        let f = Freq::parse(freq)?;
        // Bins start from the data, as in xarray (`2MS` from the first
        // timestamp's month), not from a fixed epoch.
        let Some(first) = times.iter().min() else {
            return Err(Error::plan(format!(
                "resample: coordinate `{dim}` is empty"
            )));
        };
        let origin = f.origin(first)?;
        let starts: Vec<DateTime> = times
            .iter()
            .map(|t| t.floor_from(&f, &origin))
            .collect::<Result<_>>()?;
        let mut labels = Vec::new();
        let mut runs = Vec::new();
        for (i, s) in starts.iter().enumerate() {
            if i > 0 && starts[i - 1] == *s {
                let last: &mut Vec<Range<usize>> = runs.last_mut().expect("a run is open");
                last[0].end = i + 1;
            } else if let Some(k) = labels.iter().position(|l| l == s) {
                // Unsorted times: the period seen before gets another run.
                runs[k].push(i..i + 1);
            } else {
                labels.push(*s);
                runs.push(std::iter::once(i..i + 1).collect());
            }
        }
        Ok(GroupBy {
            obj: self.clone(),
            dim: dim.to_string(),
            name: dim.to_string(),
            labels: CoordValues::Time(labels, *cal),
            runs,
        })
    }
}

fn keys_to_values(keys: &[Key]) -> CoordValues {
    match keys.first() {
        Some(Key::Text(_)) => CoordValues::Text(
            keys.iter()
                .map(|k| match k {
                    Key::Text(s) => s.clone(),
                    _ => String::new(),
                })
                .collect(),
        ),
        Some(Key::Float(_)) => CoordValues::Float(
            keys.iter()
                .map(|k| match k {
                    Key::Float(x) => *x,
                    _ => f64::NAN,
                })
                .collect(),
        ),
        _ => CoordValues::Int(
            keys.iter()
                .map(|k| match k {
                    Key::Int(x) => *x,
                    _ => 0,
                })
                .collect(),
        ),
    }
}

/// The runs of consecutive positions where `member` is true.
fn runs_where(member: impl Iterator<Item = bool>) -> Vec<Range<usize>> {
    let mut runs: Vec<Range<usize>> = Vec::new();
    for (i, m) in member.enumerate() {
        if !m {
            continue;
        }
        match runs.last_mut() {
            Some(r) if r.end == i => r.end = i + 1,
            _ => runs.push(i..i + 1),
        }
    }
    runs
}

impl GroupBy {
    /// The group labels, sorted (`groups.keys()`).
    pub fn labels(&self) -> &CoordValues {
        &self.labels
    }

    /// The new dimension reductions have.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Positions of each group, as runs.
    pub fn runs(&self) -> &[Vec<Range<usize>>] {
        &self.runs
    }

    /// The members of group `k`: its runs' slices, concatenated.
    fn members(&self, k: usize) -> Result<DataArray> {
        let pieces = self.runs[k]
            .iter()
            .map(|r| {
                self.obj
                    .isel(&[(self.dim.as_str(), Pos::range(r.start, r.end))])
            })
            .collect::<Result<Vec<_>>>()?;
        if pieces.len() == 1 {
            return Ok(pieces.into_iter().next().expect("one piece"));
        }
        let axis = self.obj.axis(&self.dim)? as isize;
        let arrays: Vec<&Array> = pieces.iter().map(|p| p.data()).collect();
        // The grouped dim's coordinate is not needed by a reduction over it.
        let mut out = pieces[0].with_data(concatenate(&arrays, axis)?);
        out.coords.remove(&self.dim);
        for (n, c) in self.obj.coords.iter() {
            if c.dims.contains(&self.dim) {
                out.coords.remove(n);
            }
        }
        Ok(out)
    }

    /// Apply `f` (a reduction over `dims`; the grouped dim when empty) to
    /// every group and stack the results along the new dimension, which takes
    /// the grouped dim's place.
    pub fn reduce(
        &self,
        dims: &[&str],
        f: impl Fn(&DataArray, &[&str]) -> Result<DataArray>,
    ) -> Result<DataArray> {
        let dims: Vec<&str> = if dims.is_empty() {
            vec![self.dim.as_str()]
        } else {
            dims.to_vec()
        };
        if !dims.contains(&self.dim.as_str()) {
            return Err(Error::plan(format!(
                "a groupby reduction must reduce over the grouped dimension `{}` (got {dims:?})",
                self.dim
            )));
        }
        let results = (0..self.runs.len())
            .map(|k| f(&self.members(k)?, &dims))
            .collect::<Result<Vec<_>>>()?;
        let first = results
            .first()
            .ok_or_else(|| Error::plan("groupby over an empty dimension: no groups"))?;
        let pos = self
            .obj
            .dims()
            .iter()
            .filter(|d| !dims.contains(&d.as_str()) || **d == self.dim)
            .position(|d| *d == self.dim)
            .unwrap_or(0);
        let arrays: Vec<&Array> = results.iter().map(|r| r.data()).collect();
        let data = stack(&arrays, pos as isize)?;
        let mut out_dims = first.dims().to_vec();
        out_dims.insert(pos, self.name.clone());
        let mut out = first.with_data_dims(data, out_dims);
        for (n, c) in first.coords.iter() {
            out.coords.insert(n, c.clone());
        }
        out.coords
            .insert(&self.name, Coord::new(&self.name, self.labels.clone()));
        out.validate()?;
        Ok(out)
    }

    /// The mean of each group over the grouped dim (or `dims`), NaN skipped.
    pub fn mean(&self, dims: &[&str]) -> Result<DataArray> {
        self.reduce(dims, |g, d| g.mean(d))
    }
    /// The sum of each group, NaN skipped.
    pub fn sum(&self, dims: &[&str]) -> Result<DataArray> {
        self.reduce(dims, |g, d| g.sum(d))
    }
    /// The minimum of each group, NaN skipped.
    pub fn min(&self, dims: &[&str]) -> Result<DataArray> {
        self.reduce(dims, |g, d| g.min(d))
    }
    /// The maximum of each group, NaN skipped.
    pub fn max(&self, dims: &[&str]) -> Result<DataArray> {
        self.reduce(dims, |g, d| g.max(d))
    }
    /// The standard deviation of each group (ddof 0), NaN skipped.
    pub fn std(&self, dims: &[&str]) -> Result<DataArray> {
        self.reduce(dims, |g, d| g.std(d, 0))
    }
    /// The number of non-NaN values of each group.
    pub fn count(&self, dims: &[&str]) -> Result<DataArray> {
        self.reduce(dims, |g, d| g.count(d))
    }

    /// `f(run, other[group])` for every run, put back in order along the
    /// grouped dim: groupby arithmetic. `other` has the new dimension
    /// (`month` for `groupby("time.month")`) with the same labels.
    pub fn binary(
        &self,
        other: &DataArray,
        what: &str,
        f: impl Fn(&DataArray, &DataArray) -> Result<DataArray>,
    ) -> Result<DataArray> {
        other.axis(&self.name).map_err(|_| {
            Error::plan(format!(
                "groupby {what}: the other operand needs dimension `{}` (it has {:?})",
                self.name,
                other.dims()
            ))
        })?;
        if let Some(theirs) = other.index_values(&self.name) {
            if *theirs != self.labels {
                return Err(Error::plan(format!(
                    "groupby {what}: the labels of `{}` differ from the groups'",
                    self.name
                )));
            }
        }
        let mut pieces: Vec<(usize, DataArray)> = Vec::new();
        for (k, runs) in self.runs.iter().enumerate() {
            let entry = other.isel(&[(self.name.as_str(), Pos::At(k as isize))])?;
            let mut entry = entry;
            entry.coords.remove(&self.name);
            for r in runs {
                let run = self
                    .obj
                    .isel(&[(self.dim.as_str(), Pos::range(r.start, r.end))])?;
                pieces.push((r.start, f(&run, &entry)?));
            }
        }
        pieces.sort_by_key(|(s, _)| *s);
        let first = &pieces
            .first()
            .ok_or_else(|| Error::plan("groupby over an empty dimension: no groups"))?
            .1;
        let axis = first.axis(&self.dim)? as isize;
        let arrays: Vec<&Array> = pieces.iter().map(|(_, p)| p.data()).collect();
        let data = concatenate(&arrays, axis)?;
        let mut out = first.with_data(data);
        for (n, c) in self.obj.coords.iter() {
            if c.dims.contains(&self.dim) {
                out.coords.insert(n, c.clone());
            }
        }
        if self.name != self.dim {
            // xarray keeps the group of every position: `month(time)`.
            let n = self.obj.shape()[self.obj.axis(&self.dim)?];
            let mut group = vec![0; n];
            for (k, runs) in self.runs.iter().enumerate() {
                for r in runs {
                    group[r.clone()].fill(k);
                }
            }
            out.coords.insert(
                &self.name,
                Coord {
                    dims: vec![self.dim.clone()],
                    values: self.labels.take(group.into_iter()),
                    attrs: Default::default(),
                },
            );
        }
        out.name = self.obj.name.clone();
        out.validate()?;
        Ok(out)
    }

    /// `x.groupby(g) - other` (anomalies from a climatology).
    pub fn sub(&self, other: &DataArray) -> Result<DataArray> {
        self.binary(other, "subtraction", |a, b| a - b)
    }
    /// `x.groupby(g) + other`.
    pub fn add(&self, other: &DataArray) -> Result<DataArray> {
        self.binary(other, "addition", |a, b| a + b)
    }
    /// `x.groupby(g) * other`.
    pub fn mul(&self, other: &DataArray) -> Result<DataArray> {
        self.binary(other, "multiplication", |a, b| a * b)
    }
    /// `x.groupby(g) / other`.
    pub fn div(&self, other: &DataArray) -> Result<DataArray> {
        self.binary(other, "division", |a, b| a / b)
    }
}
