//! Aligning several datasets on their indexes with xarray's `join` options
//! (`xr.align(*objs, join=...)`, used by `merge` and `concat`), and
//! reindexing lazily.
//!
//! The labels of each dimension are joined in memory (they are coordinates,
//! held on every rank, so every rank joins them the same way). Data variables
//! are reindexed without computing anything: the positions they keep are
//! slices of their chunked data, the labels they lack are NaN blocks, and the
//! pieces are concatenated in the joined order. Unlike the arithmetic
//! alignment of `align.rs` (inner join by contiguous ranges), any order and
//! any overlap of labels is handled.

use super::coord::{Coord, CoordValues};
use super::set::Dataset;
use crate::array::creation::full;
use crate::array::{concatenate, Array, Idx};
use crate::error::{Error, Result};
use crate::meta::{ChunkSpec, DType, DimChunks};
use std::collections::{HashMap, HashSet};
use std::str::FromStr;

/// How the indexes of several objects are combined (xarray's `join=`).
///
/// ```
/// use chunkwise::dataset::Join;
/// let j: Join = "inner".parse().unwrap();
/// assert_eq!(j, Join::Inner);
/// assert!("sideways".parse::<Join>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Join {
    /// The union of the labels, sorted when the indexes differ (pandas'
    /// `Index.union`); missing positions are NaN. xarray's default for
    /// `merge` and `concat`.
    #[default]
    Outer,
    /// The labels every object has, in the first object's order.
    Inner,
    /// The labels of the first object that has an index for the dimension.
    Left,
    /// The labels of the last object that has an index for the dimension.
    Right,
    /// The indexes must be equal; otherwise an error.
    Exact,
    /// The indexes must have the same length; the first object's labels are
    /// used for all (the others' are overwritten, their data is unchanged).
    Override,
}

impl Join {
    pub fn as_str(self) -> &'static str {
        match self {
            Join::Outer => "outer",
            Join::Inner => "inner",
            Join::Left => "left",
            Join::Right => "right",
            Join::Exact => "exact",
            Join::Override => "override",
        }
    }
}

impl FromStr for Join {
    type Err = Error;

    /// xarray's names: `"outer"`, `"inner"`, `"left"`, `"right"`, `"exact"`,
    /// `"override"`.
    fn from_str(s: &str) -> Result<Join> {
        Ok(match s {
            "outer" => Join::Outer,
            "inner" => Join::Inner,
            "left" => Join::Left,
            "right" => Join::Right,
            "exact" => Join::Exact,
            "override" => Join::Override,
            other => {
                return Err(Error::plan(format!(
                    "unknown join {other:?}: use one of \"outer\", \"inner\", \"left\", \
                     \"right\", \"exact\", \"override\""
                )))
            }
        })
    }
}

impl std::fmt::Display for Join {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A label as a hashable key (floats by their bits, `-0.0` as `0.0`; times
/// by their ticks).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Float(u64),
    Int(i64),
    Text(String),
    Time(i64),
}

fn keys(v: &CoordValues) -> Vec<Key> {
    match v {
        CoordValues::Float(_) | CoordValues::Float32(_) => v
            .floats()
            .unwrap_or_default()
            .into_iter()
            .map(|f| {
                let f = if f == 0.0 {
                    0.0
                } else if f.is_nan() {
                    f64::NAN
                } else {
                    f
                };
                Key::Float(f.to_bits())
            })
            .collect(),
        CoordValues::Int(x) => x.iter().map(|&i| Key::Int(i)).collect(),
        CoordValues::Text(x) => x.iter().map(|s| Key::Text(s.clone())).collect(),
        CoordValues::Time(x, _) => x.iter().map(|t| Key::Time(t.to_ticks())).collect(),
    }
}

/// The order of labels `i` and `j` of `v` (floats: `total_cmp`).
fn cmp_labels(v: &CoordValues, i: usize, j: usize) -> std::cmp::Ordering {
    match v {
        CoordValues::Float(x) => x[i].total_cmp(&x[j]),
        CoordValues::Float32(x) => x[i].total_cmp(&x[j]),
        CoordValues::Int(x) => x[i].cmp(&x[j]),
        CoordValues::Text(x) => x[i].cmp(&x[j]),
        CoordValues::Time(x, _) => x[i].to_ticks().cmp(&x[j].to_ticks()),
    }
}

/// Do `a` and `b` hold labels of one kind (and one calendar)?
fn same_kind(a: &CoordValues, b: &CoordValues) -> bool {
    match (a, b) {
        (CoordValues::Time(_, c), CoordValues::Time(_, d)) => c == d,
        _ => std::mem::discriminant(a) == std::mem::discriminant(b),
    }
}

fn kind_name(v: &CoordValues) -> String {
    match v {
        CoordValues::Float(_) => "float".into(),
        CoordValues::Float32(_) => "float32".into(),
        CoordValues::Int(_) => "integer".into(),
        CoordValues::Text(_) => "string".into(),
        CoordValues::Time(_, c) => format!("time ({c:?} calendar)"),
    }
}

/// `objs` aligned on every dimension but `exclude`: the indexes of each
/// dimension joined by `join`, every object reindexed to the joined labels.
/// `what` starts the messages (`"merge"`), `obj` names an object by position
/// (`"object"`, `"dataset"`).
///
/// # Errors
/// [`Error::Plan`] naming the dimension and objects when the labels cannot
/// be joined: of different kinds, not equal under [`Join::Exact`], of
/// different lengths under [`Join::Override`], duplicated where a reindex is
/// needed, or a dimension without labels whose length differs.
pub(crate) fn align_datasets(
    objs: &[Dataset],
    join: Join,
    exclude: &[&str],
    what: &str,
    obj: &str,
) -> Result<Vec<Dataset>> {
    let mut out: Vec<Dataset> = objs.to_vec();
    let mut dims: Vec<String> = Vec::new();
    for ds in objs {
        for (d, _) in ds.sizes() {
            if !dims.contains(&d) && !exclude.contains(&d.as_str()) {
                dims.push(d);
            }
        }
    }
    for dim in &dims {
        let sized: Vec<(usize, usize)> = objs
            .iter()
            .enumerate()
            .filter_map(|(i, ds)| {
                ds.sizes()
                    .into_iter()
                    .find(|(d, _)| d == dim)
                    .map(|(_, n)| (i, n))
            })
            .collect();
        let indexed: Vec<(usize, &Coord)> = objs
            .iter()
            .enumerate()
            .filter_map(|(i, ds)| ds.coords.index(dim).map(|c| (i, c)))
            .collect();
        let Some(&(i0, c0)) = indexed.first() else {
            // No labels: the lengths must agree.
            let (i0, n0) = sized[0];
            if let Some(&(i, n)) = sized.iter().find(|(_, n)| *n != n0) {
                return Err(Error::plan(format!(
                    "{what}: dimension `{dim}` has length {n0} in {obj} {i0} but {n} in {obj} \
                     {i}, and no coordinate to align them by"
                )));
            }
            continue;
        };
        for &(i, c) in &indexed[1..] {
            if !same_kind(&c0.values, &c.values) {
                return Err(Error::plan(format!(
                    "{what}: the labels of dimension `{dim}` are {} in {obj} {i0} but {} in \
                     {obj} {i}; convert one of them (assign_coord) first",
                    kind_name(&c0.values),
                    kind_name(&c.values)
                )));
            }
        }
        let all_equal = indexed[1..].iter().all(|(_, c)| c.values == c0.values);
        let target: CoordValues = if all_equal {
            c0.values.clone()
        } else {
            let differ = indexed
                .iter()
                .find(|(_, c)| c.values != c0.values)
                .map_or(i0, |(i, _)| *i);
            match join {
                Join::Exact => {
                    return Err(Error::plan(format!(
                        "{what}: cannot align with join=\"exact\": the labels of dimension \
                         `{dim}` differ between {obj} {i0} and {obj} {differ}; choose another \
                         join (\"outer\", \"inner\", \"left\", \"right\", \"override\")"
                    )))
                }
                Join::Override => {
                    let n0 = c0.values.len();
                    if let Some(&(i, c)) = indexed.iter().find(|(_, c)| c.values.len() != n0) {
                        return Err(Error::plan(format!(
                            "{what}: cannot align with join=\"override\": dimension `{dim}` has \
                             {n0} labels in {obj} {i0} but {} in {obj} {i}",
                            c.values.len()
                        )));
                    }
                    for &(i, c) in &indexed[1..] {
                        out[i].coords.insert(
                            dim,
                            Coord {
                                values: c0.values.clone(),
                                ..c.clone()
                            },
                        );
                    }
                    c0.values.clone()
                }
                Join::Outer | Join::Inner | Join::Left | Join::Right => {
                    for &(i, c) in &indexed {
                        let k = keys(&c.values);
                        let unique: HashSet<&Key> = k.iter().collect();
                        if unique.len() != k.len() {
                            return Err(Error::plan(format!(
                                "{what}: cannot reindex {obj} {i} along `{dim}`: its labels \
                                 are not unique"
                            )));
                        }
                    }
                    joined(&indexed, join)
                }
            }
        };
        // Objects without labels for `dim` must already have its length.
        let n = target.len();
        for &(i, m) in &sized {
            if objs[i].coords.index(dim).is_none() && m != n {
                return Err(Error::plan(format!(
                    "{what}: dimension `{dim}` of {obj} {i} has no coordinate and length {m}, \
                     but the joined labels are {n}"
                )));
            }
        }
        if join == Join::Override || all_equal {
            continue;
        }
        let target_keys = keys(&target);
        for &(i, c) in &indexed {
            if c.values == target {
                continue;
            }
            let at: HashMap<Key, usize> = keys(&c.values)
                .into_iter()
                .enumerate()
                .map(|(p, k)| (k, p))
                .collect();
            let src: Vec<Option<usize>> = target_keys.iter().map(|k| at.get(k).copied()).collect();
            out[i] = reindex_dataset(&out[i], dim, &target, &src)
                .map_err(|e| e.with_message(format!("{what}: {obj} {i}: {}", e.message())))?;
        }
    }
    Ok(out)
}

/// The joined labels of one dimension (the indexes differ, are unique and of
/// one kind).
fn joined(indexed: &[(usize, &Coord)], join: Join) -> CoordValues {
    let first = &indexed[0].1.values;
    let last = &indexed[indexed.len() - 1].1.values;
    match join {
        Join::Left => first.clone(),
        Join::Right => last.clone(),
        Join::Inner => {
            let others: Vec<HashSet<Key>> = indexed[1..]
                .iter()
                .map(|(_, c)| keys(&c.values).into_iter().collect())
                .collect();
            let keep = keys(first)
                .into_iter()
                .enumerate()
                .filter(|(_, k)| others.iter().all(|o| o.contains(k)))
                .map(|(p, _)| p)
                .collect::<Vec<_>>();
            first.take(keep.into_iter())
        }
        _ => {
            // Outer: every label once, in first-seen order, then sorted.
            let mut all = first.clone();
            for (_, c) in &indexed[1..] {
                all = all.concat(&c.values).unwrap_or(all);
            }
            let mut seen = HashSet::new();
            let mut pos: Vec<usize> = keys(&all)
                .into_iter()
                .enumerate()
                .filter(|(_, k)| seen.insert(k.clone()))
                .map(|(p, _)| p)
                .collect();
            pos.sort_by(|&i, &j| cmp_labels(&all, i, j));
            all.take(pos.into_iter())
        }
    }
}

/// `ds` with the labels of `dim` replaced by `target`: position `k` of every
/// variable and coordinate along `dim` is taken from `src[k]` (NaN where
/// `None`).
fn reindex_dataset(
    ds: &Dataset,
    dim: &str,
    target: &CoordValues,
    src: &[Option<usize>],
) -> Result<Dataset> {
    let mut out = ds.clone();
    for (name, v) in out.vars.iter_mut() {
        if let Some(axis) = v.dims.iter().position(|d| d == dim) {
            v.data = reindex_axis(&v.data, axis, src)
                .map_err(|e| e.with_message(format!("variable `{name}`: {}", e.message())))?;
        }
    }
    for (name, c) in out.coords.0.iter_mut() {
        if c.dims.iter().any(|d| d == dim) {
            c.values = if name == dim {
                target.clone()
            } else {
                reindex_values(&c.values, src, name)?
            };
        }
    }
    Ok(out)
}

/// Coordinate values at `src` positions; missing ones NaN (integers become
/// floats).
///
/// # Errors
/// [`Error::Plan`] for text and time coordinates with missing positions (they
/// have no missing value).
pub(crate) fn reindex_values(
    v: &CoordValues,
    src: &[Option<usize>],
    name: &str,
) -> Result<CoordValues> {
    if src.iter().all(Option::is_some) {
        return Ok(v.take(src.iter().map(|s| s.unwrap_or_default())));
    }
    Ok(match v {
        CoordValues::Float(x) => {
            CoordValues::Float(src.iter().map(|s| s.map_or(f64::NAN, |i| x[i])).collect())
        }
        CoordValues::Float32(x) => {
            CoordValues::Float32(src.iter().map(|s| s.map_or(f32::NAN, |i| x[i])).collect())
        }
        CoordValues::Int(x) => CoordValues::Float(
            src.iter()
                .map(|s| s.map_or(f64::NAN, |i| x[i] as f64))
                .collect(),
        ),
        CoordValues::Text(_) | CoordValues::Time(..) => {
            return Err(Error::plan(format!(
                "coordinate `{name}` holds {} labels, which have no missing value to fill the \
                 positions it lacks after the join; drop it or use join=\"inner\"",
                kind_name(v)
            )))
        }
    })
}

/// One run of output positions along the axis being reindexed.
enum Run {
    /// `len` positions of the input from `start`, by `step` (±1).
    Take {
        start: usize,
        len: usize,
        step: isize,
    },
    /// `len` missing positions.
    Fill(usize),
}

fn runs(src: &[Option<usize>]) -> Vec<Run> {
    let mut runs: Vec<Run> = Vec::new();
    for s in src {
        let extended = match (runs.last_mut(), s) {
            (Some(Run::Fill(k)), None) => {
                *k += 1;
                true
            }
            (Some(Run::Take { start, len, step }), Some(j)) => {
                let last = *start as isize + (*len as isize - 1) * *step;
                let d = *j as isize - last;
                if (*len == 1 && d.abs() == 1) || (*len > 1 && d == *step) {
                    *step = d;
                    *len += 1;
                    true
                } else {
                    false
                }
            }
            _ => false,
        };
        if !extended {
            runs.push(match s {
                None => Run::Fill(1),
                Some(j) => Run::Take {
                    start: *j,
                    len: 1,
                    step: 1,
                },
            });
        }
    }
    runs
}

/// `data` with position `k` along `axis` taken from `src[k]`, NaN where
/// `None` (integers and bools become float64 then, as in xarray), built
/// lazily from slices of `data` and NaN blocks chunked like `data`.
pub(crate) fn reindex_axis(data: &Array, axis: usize, src: &[Option<usize>]) -> Result<Array> {
    let shape = data.shape();
    if src.len() == shape[axis] && src.iter().enumerate().all(|(i, s)| *s == Some(i)) {
        return Ok(data.clone());
    }
    let fills = src.iter().any(Option::is_none);
    let data = if fills && !data.dtype().is_float() {
        data.astype(DType::F64)
    } else {
        data.clone()
    };
    let chunks = data.chunks();
    let along = chunks[axis].iter().copied().max().unwrap_or(1).max(1);
    let mut pieces: Vec<Array> = Vec::new();
    let mut index = vec![Idx::ALL; shape.len()];
    for run in runs(src) {
        pieces.push(match run {
            Run::Take { start, len, step } => {
                let stop = start as isize + len as isize * step;
                index[axis] = Idx::slice(Some(start as isize), (stop >= 0).then_some(stop), step);
                data.slice(&index)?
            }
            Run::Fill(len) => {
                let mut s = shape.clone();
                s[axis] = len;
                let spec = ChunkSpec::PerDim(
                    (0..s.len())
                        .map(|a| {
                            if a == axis {
                                DimChunks::Size(along)
                            } else if s[a] == 0 {
                                DimChunks::Full
                            } else {
                                DimChunks::Explicit(chunks[a].clone())
                            }
                        })
                        .collect(),
                );
                full(&s, f64::NAN, spec)?.astype(data.dtype())
            }
        });
    }
    if pieces.is_empty() {
        index[axis] = Idx::slice(Some(0), Some(0), 1);
        return data.slice(&index);
    }
    if pieces.len() == 1 {
        return Ok(pieces.remove(0));
    }
    let refs: Vec<&Array> = pieces.iter().collect();
    let joined = concatenate(&refs, axis as isize)?;
    // Interleaved labels give many small pieces: put them back into chunks of
    // the input's size along the axis.
    if pieces.len() > 2 * chunks[axis].len() + 2 {
        let mut spec: Vec<DimChunks> = joined
            .chunks()
            .into_iter()
            .map(DimChunks::Explicit)
            .collect();
        spec[axis] = DimChunks::Size(along);
        return joined.rechunk(ChunkSpec::PerDim(spec));
    }
    Ok(joined)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_follow_steps_and_gaps() {
        let r = runs(&[Some(0), Some(1), None, None, Some(5), Some(4), Some(9)]);
        let got: Vec<String> = r
            .iter()
            .map(|r| match r {
                Run::Take { start, len, step } => format!("{start}+{len}*{step}"),
                Run::Fill(n) => format!("nan{n}"),
            })
            .collect();
        assert_eq!(got, ["0+2*1", "nan2", "5+2*-1", "9+1*1"]);
    }

    #[test]
    fn reindex_values_refuses_missing_text() {
        let v = CoordValues::Text(vec!["a".into()]);
        assert!(reindex_values(&v, &[Some(0)], "s").is_ok());
        let e = reindex_values(&v, &[Some(0), None], "s").unwrap_err();
        assert!(e.message().contains("`s`"), "{e}");
        let i = reindex_values(&CoordValues::Int(vec![3, 4]), &[None, Some(1)], "i").unwrap();
        match i {
            CoordValues::Float(x) => assert!(x[0].is_nan() && x[1] == 4.0),
            other => panic!("{other:?}"),
        }
    }
}
