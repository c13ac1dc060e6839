//! Joining datasets along a dimension: [`concat_datasets`] (xarray's
//! `xr.concat(datasets, dim)` with its defaults `data_vars="all"`,
//! `coords="different"`, `compat="equals"`, `join="outer"`,
//! `combine_attrs="override"`). `concat` of `DataArray`s is in `window.rs`.
//!
//! Lazy: data variables are concatenated chunked arrays; a variable without
//! the dimension is broadcast along it (its chunks are read again, not
//! copied), a variable missing from a dataset is a NaN block. Only
//! `data_vars` [`DataVars::Minimal`] with a checking `compat` computes, to
//! compare the variables it does not concatenate.

use super::coord::{Coord, CoordValues, Coords};
use super::join::{align_datasets, Join};
use super::merge::{
    check_sizes, combine_attrs, combine_coords, combine_vars, values_agree, CombineAttrs, Compat,
    Ctx, MergeOptions, ValueChecks,
};
use super::set::{Dataset, Variable};
use super::Attrs;
use crate::array::creation::full;
use crate::array::{concatenate, where_, Array};
use crate::error::{Error, Result};
use crate::meta::{ChunkSpec, DType, DimChunks};
use std::str::FromStr;

/// Which data variables [`concat_datasets`] concatenates (xarray's
/// `data_vars=`).
///
/// ```
/// use chunkwise::dataset::DataVars;
/// assert_eq!("minimal".parse::<DataVars>().unwrap(), DataVars::Minimal);
/// assert!("different".parse::<DataVars>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DataVars {
    /// Every data variable; one without the dimension is broadcast along
    /// it (each dataset's values repeated over its length). xarray's
    /// default.
    #[default]
    All,
    /// Only the variables that have the dimension in some dataset; the
    /// others are taken once, combined by `compat` like [`merge`](super::merge()).
    Minimal,
}

impl FromStr for DataVars {
    type Err = Error;

    /// xarray's names `"all"` and `"minimal"` (`"different"`, which decides
    /// by computing the values, is refused).
    fn from_str(s: &str) -> Result<DataVars> {
        match s {
            "all" => Ok(DataVars::All),
            "minimal" => Ok(DataVars::Minimal),
            "different" => Err(Error::plan(
                "data_vars=\"different\" is not supported (it decides the result's shape by \
                 computing values); use \"all\" or \"minimal\"",
            )),
            other => Err(Error::plan(format!(
                "unknown data_vars {other:?}: use \"all\" or \"minimal\""
            ))),
        }
    }
}

/// The keywords of [`concat_datasets`]; the default is xarray's:
/// `data_vars="all"`, `compat="equals"`, `join="outer"`,
/// `combine_attrs="override"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConcatOptions {
    pub data_vars: DataVars,
    /// How variables that are not concatenated are compared
    /// ([`DataVars::Minimal`] only).
    pub compat: Compat,
    /// How the labels of the other dimensions are joined.
    pub join: Join,
    pub combine_attrs: CombineAttrs,
}

impl Default for ConcatOptions {
    fn default() -> Self {
        ConcatOptions {
            data_vars: DataVars::All,
            compat: Compat::Equals,
            join: Join::Outer,
            combine_attrs: CombineAttrs::Override,
        }
    }
}

/// Join datasets along `dim` (`xr.concat(datasets, dim)`).
///
/// The other dimensions are first aligned by `opts.join` (NaN where a
/// dataset lacks a label). A dataset without `dim` counts as one position
/// along it, labelled by its scalar coordinate `dim` if it has one (as left
/// by `isel(time=0)`); if no dataset has `dim`, it is a new first
/// dimension. The labels of `dim` are concatenated (every dataset must have
/// them, or none).
///
/// Data variables: with [`DataVars::All`] every variable is concatenated; one
/// without `dim` gets it as its first dimension, repeated over each dataset's
/// length; one missing from a dataset is NaN there (integers become
/// float64). With [`DataVars::Minimal`] the variables without `dim` are taken
/// once, combined by `opts.compat`. Coordinates (xarray's
/// `coords="different"`): those along `dim` are concatenated; the others are
/// kept once when they are equal in every dataset that has them, and scalar
/// coordinates that differ become coordinates along `dim`.
///
/// ```
/// use chunkwise::dataset::{concat_datasets, ConcatOptions, Coord, CoordValues, Coords};
/// use chunkwise::dataset::{DataArray, Dataset, Attrs};
/// use chunkwise::prelude::*;
/// let part = |t0: i64, v: [f64; 2]| -> chunkwise::Result<Dataset> {
///     let mut c = Coords::default();
///     c.insert("time", Coord::new("time", CoordValues::Int(vec![t0, t0 + 1])));
///     let da = DataArray::new(from_ndarray(&ndarray::arr1(&v), 2)?, &["time"], c)?;
///     Dataset::new(vec![("t".into(), da)], Coords::default(), Attrs::new())
/// };
/// let (a, b) = (part(0, [1.0, 2.0])?, part(2, [3.0, 4.0])?);
/// let ds = concat_datasets(&[&a, &b], "time", &ConcatOptions::default())?;
/// assert_eq!(ds.get("t")?.values()?.into_raw_vec_and_offset().0, [1.0, 2.0, 3.0, 4.0]);
/// assert_eq!(ds.coords().get("time").unwrap().values, CoordValues::Int(vec![0, 1, 2, 3]));
/// # Ok::<(), chunkwise::Error>(())
/// ```
///
/// # Errors
/// [`Error::Plan`] naming the dataset, variable or coordinate: no datasets;
/// labels of other dimensions that cannot be joined; labels of `dim` in some
/// datasets only, or of different kinds; a variable with other dims in two
/// datasets; a coordinate along `dim` missing from a dataset; a 1-D
/// coordinate of another dimension that differs (it would need two
/// dimensions); conflicts under `opts.compat` or `opts.combine_attrs`.
///
/// # Collective
/// With [`DataVars::Minimal`] and a checking `compat`, the variables taken
/// once are compared by computing them: under MPI, call on every rank, in
/// the same order.
pub fn concat_datasets(objs: &[&Dataset], dim: &str, opts: &ConcatOptions) -> Result<Dataset> {
    let what = format!("concat along `{dim}`");
    let ctx = Ctx {
        what: &what,
        obj: "dataset",
    };
    if objs.is_empty() {
        return Err(Error::plan(format!("{what}: no datasets given")));
    }
    let owned: Vec<Dataset> = objs.iter().map(|d| (*d).clone()).collect();
    let aligned = align_datasets(&owned, opts.join, &[dim], &what, ctx.obj)?;
    let size_of = |ds: &Dataset| ds.sizes().into_iter().find(|(d, _)| d == dim);
    let has_dim: Vec<bool> = aligned.iter().map(|ds| size_of(ds).is_some()).collect();
    let lens: Vec<usize> = aligned
        .iter()
        .map(|ds| size_of(ds).map_or(1, |(_, n)| n))
        .collect();

    let mut coord_names: Vec<&str> = Vec::new();
    let mut var_names: Vec<&str> = Vec::new();
    for ds in &aligned {
        for (n, _) in ds.coords.iter() {
            if !coord_names.contains(&n) {
                coord_names.push(n);
            }
        }
        for (n, _) in &ds.vars {
            if !var_names.contains(&n.as_str()) {
                var_names.push(n);
            }
        }
    }

    let mut coords = Coords::default();
    for n in coord_names {
        let per: Vec<Option<&Coord>> = aligned.iter().map(|ds| ds.coords.get(n)).collect();
        let c = if n == dim {
            index_coord(&per, &has_dim, dim, &ctx)?
        } else if per.iter().flatten().any(|c| c.dims == [dim]) {
            Some(coord_along(n, &per, &has_dim, dim, opts, &ctx)?)
        } else {
            Some(coord_across(n, &per, &lens, dim, opts, &ctx)?)
        };
        if let Some(c) = c {
            coords.insert(n, c);
        }
    }

    let mut checks = ValueChecks::default();
    let mut vars = Vec::new();
    for n in var_names {
        let per: Vec<Option<&Variable>> = aligned
            .iter()
            .map(|ds| ds.vars.iter().find(|(m, _)| m == n).map(|(_, v)| v))
            .collect();
        let along = per
            .iter()
            .flatten()
            .any(|v| v.dims.iter().any(|d| d == dim));
        let v = if opts.data_vars == DataVars::All || along {
            concat_var(n, &per, dim, &lens, opts.combine_attrs, &ctx)?
        } else {
            let present: Vec<(usize, &Variable)> = per
                .iter()
                .enumerate()
                .filter_map(|(i, v)| v.map(|v| (i, v)))
                .collect();
            combine_vars(
                n,
                &present,
                opts.compat,
                opts.combine_attrs,
                &mut checks,
                &ctx,
            )?
        };
        vars.push((n.to_string(), v));
    }
    checks.run()?;
    let attrs: Vec<(usize, &Attrs)> = aligned.iter().map(|d| &d.attrs).enumerate().collect();
    let attrs = combine_attrs(&attrs, opts.combine_attrs, "the datasets", &ctx)?;
    let ds = Dataset {
        vars,
        coords,
        attrs,
        source: None,
    };
    check_sizes(&ds, &what)?;
    Ok(ds)
}

/// The labels of `dim`: each dataset's index, or for a dataset without
/// `dim` its scalar coordinate `dim`; `None` when no dataset has any.
fn index_coord(
    per: &[Option<&Coord>],
    has_dim: &[bool],
    dim: &str,
    ctx: &Ctx,
) -> Result<Option<Coord>> {
    let labels: Vec<Option<&Coord>> = per
        .iter()
        .zip(has_dim)
        .map(|(c, &has)| {
            c.filter(|c| {
                if has {
                    c.dims == [dim]
                } else {
                    c.dims.is_empty()
                }
            })
        })
        .collect();
    let (Some(i0), Some(j)) = (
        labels.iter().position(Option::is_some),
        labels.iter().position(Option::is_none),
    ) else {
        // All or none.
        return Ok(match labels.first().copied().flatten() {
            None => None,
            Some(first) => {
                let mut values = first.values.clone();
                for (i, c) in labels.iter().enumerate().skip(1) {
                    let c = c.ok_or_else(|| Error::internal("labels of every dataset"))?;
                    values = values.concat(&c.values).ok_or_else(|| {
                        Error::plan(format!(
                            "{}: the labels of `{dim}` in dataset {i} are of another kind than \
                             in dataset 0",
                            ctx.what
                        ))
                    })?;
                }
                Some(Coord {
                    dims: vec![dim.to_string()],
                    values,
                    attrs: first.attrs.clone(),
                })
            }
        });
    };
    Err(Error::plan(format!(
        "{}: dataset {i0} has labels for `{dim}` but dataset {j} has none; give every dataset \
         a coordinate `{dim}` (assign_coord) or none",
        ctx.what
    )))
}

/// A coordinate along `dim`, concatenated (a dataset without `dim` gives
/// its scalar coordinate of that name).
fn coord_along(
    name: &str,
    per: &[Option<&Coord>],
    has_dim: &[bool],
    dim: &str,
    opts: &ConcatOptions,
    ctx: &Ctx,
) -> Result<Coord> {
    let mut values: Option<CoordValues> = None;
    let mut attrs: Vec<(usize, &Attrs)> = Vec::new();
    for (i, c) in per.iter().enumerate() {
        let c = c
            .filter(|c| {
                if has_dim[i] {
                    c.dims == [dim]
                } else {
                    c.dims.is_empty()
                }
            })
            .ok_or_else(|| {
                Error::plan(format!(
                    "{}: coordinate `{name}` along `{dim}` is missing from dataset {i}",
                    ctx.what
                ))
            })?;
        attrs.push((i, &c.attrs));
        values = Some(match values {
            None => c.values.clone(),
            Some(v) => v.concat(&c.values).ok_or_else(|| {
                Error::plan(format!(
                    "{}: coordinate `{name}` holds labels of another kind in dataset {i}",
                    ctx.what
                ))
            })?,
        });
    }
    Ok(Coord {
        dims: vec![dim.to_string()],
        values: values.ok_or_else(|| Error::internal("at least one dataset"))?,
        attrs: combine_attrs(
            &attrs,
            opts.combine_attrs,
            &format!("coordinate `{name}`"),
            ctx,
        )?,
    })
}

/// A coordinate not along `dim`: kept once when equal wherever present;
/// scalars that differ become a coordinate along `dim`.
fn coord_across(
    name: &str,
    per: &[Option<&Coord>],
    lens: &[usize],
    dim: &str,
    opts: &ConcatOptions,
    ctx: &Ctx,
) -> Result<Coord> {
    let present: Vec<(usize, &Coord)> = per
        .iter()
        .enumerate()
        .filter_map(|(i, c)| c.map(|c| (i, c)))
        .collect();
    let (i0, first) = present[0];
    let differ = present[1..]
        .iter()
        .find(|(_, c)| c.dims != first.dims || !values_agree(&first.values, &c.values, false));
    let Some(&(j, _)) = differ else {
        let merge = MergeOptions {
            join: opts.join,
            compat: Compat::Equals,
            combine_attrs: opts.combine_attrs,
        };
        return combine_coords(name, &present, &merge, ctx);
    };
    let scalars = present.iter().all(|(_, c)| c.dims.is_empty());
    if let (true, Some(missing)) = (scalars, per.iter().position(Option::is_none)) {
        return Err(Error::plan(format!(
            "{}: scalar coordinate `{name}` differs between datasets and is missing from \
             dataset {missing}, so it cannot become a coordinate along `{dim}`",
            ctx.what
        )));
    }
    if !scalars {
        return Err(Error::plan(format!(
            "{}: coordinate `{name}` differs between dataset {i0} and dataset {j}; \
             coordinates have at most one dimension, so it cannot be concatenated along \
             `{dim}`: make it equal or drop it first",
            ctx.what
        )));
    }
    let mut values: Option<CoordValues> = None;
    for &(i, c) in &present {
        let repeated = c.values.take(std::iter::repeat_n(0, lens[i]));
        values = Some(match values {
            None => repeated,
            Some(v) => v.concat(&repeated).ok_or_else(|| {
                Error::plan(format!(
                    "{}: coordinate `{name}` holds labels of another kind in dataset {i}",
                    ctx.what
                ))
            })?,
        });
    }
    let attrs: Vec<(usize, &Attrs)> = present.iter().map(|(i, c)| (*i, &c.attrs)).collect();
    Ok(Coord {
        dims: vec![dim.to_string()],
        values: values.ok_or_else(|| Error::internal("at least one dataset"))?,
        attrs: combine_attrs(
            &attrs,
            opts.combine_attrs,
            &format!("coordinate `{name}`"),
            ctx,
        )?,
    })
}

/// The data variable `name` of every dataset (`per`, `None` where missing)
/// concatenated along `dim`; dataset `i` contributes `lens[i]` positions.
fn concat_var(
    name: &str,
    per: &[Option<&Variable>],
    dim: &str,
    lens: &[usize],
    how_attrs: CombineAttrs,
    ctx: &Ctx,
) -> Result<Variable> {
    let present: Vec<(usize, &Variable)> = per
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.map(|v| (i, v)))
        .collect();
    let (i0, template) = present[0];
    // The dims of the result: all the pieces' in first-seen order, `dim`
    // first when no piece has it (xarray's `ensure_common_dims`).
    let mut dims: Vec<String> = Vec::new();
    for (_, v) in &present {
        for d in &v.dims {
            if !dims.contains(d) {
                dims.push(d.clone());
            }
        }
    }
    if !dims.iter().any(|d| d == dim) {
        dims.insert(0, dim.to_string());
    }
    let axis = dims.iter().position(|d| d == dim).unwrap_or_default();
    let others = |dims: &[String]| {
        let mut o: Vec<String> = dims.iter().filter(|d| *d != dim).cloned().collect();
        o.sort();
        o
    };
    for &(i, v) in &present[1..] {
        if others(&v.dims) != others(&template.dims) {
            return Err(Error::plan(format!(
                "{}: variable `{name}` has dims {:?} in dataset {i0} but {:?} in dataset {i}; \
                 apart from `{dim}` they must be the same",
                ctx.what, template.dims, v.dims
            )));
        }
    }
    // Lengths and chunks of the other dims, and the chunk size along `dim`,
    // from the pieces.
    let length = |d: &str| -> usize {
        template
            .dims
            .iter()
            .position(|e| e == d)
            .map_or(1, |a| template.data.shape()[a])
    };
    let chunks_of = |d: &str| -> Vec<usize> {
        template
            .dims
            .iter()
            .position(|e| e == d)
            .map_or_else(|| vec![1], |a| template.data.chunks()[a].clone())
    };
    let along = present
        .iter()
        .find_map(|(_, v)| {
            v.dims
                .iter()
                .position(|d| d == dim)
                .map(|a| v.data.chunks()[a].iter().copied().max().unwrap_or(1))
        })
        .unwrap_or(usize::MAX)
        .max(1);
    let missing = per.iter().any(Option::is_none);
    let mut dtype = present
        .iter()
        .map(|(_, v)| v.data.dtype())
        .reduce(DType::promote)
        .unwrap_or(DType::F64);
    if missing {
        dtype = dtype.to_float();
    }
    let spec = |n: usize| -> ChunkSpec {
        ChunkSpec::PerDim(
            dims.iter()
                .map(|d| {
                    if d == dim {
                        if along >= n {
                            DimChunks::Full
                        } else {
                            DimChunks::Size(along)
                        }
                    } else if length(d) == 0 {
                        DimChunks::Full
                    } else {
                        DimChunks::Explicit(chunks_of(d))
                    }
                })
                .collect(),
        )
    };
    let mut pieces: Vec<Array> = Vec::with_capacity(per.len());
    for (i, v) in per.iter().enumerate() {
        let n = lens[i];
        let piece = match v {
            Some(v) => {
                let mut data = v.data.clone();
                let mut vd = v.dims.clone();
                let expanded = !vd.iter().any(|d| d == dim);
                if expanded {
                    data = data.expand_dims(0)?;
                    vd.insert(0, dim.to_string());
                }
                if vd != dims {
                    let perm: Vec<usize> = dims
                        .iter()
                        .map(|d| vd.iter().position(|e| e == d).unwrap_or_default())
                        .collect();
                    data = data.transpose(&perm)?;
                }
                if expanded && n != 1 {
                    // Broadcast along `dim`: `where(true, x, x)` over the
                    // full shape reads `x`'s chunks for every block.
                    let shape: Vec<usize> = dims
                        .iter()
                        .map(|d| if d == dim { n } else { length(d) })
                        .collect();
                    let truth = full(&shape, true, spec(n))?;
                    data = where_(&truth, &data, &data);
                }
                data
            }
            None => {
                let shape: Vec<usize> = dims
                    .iter()
                    .map(|d| if d == dim { n } else { length(d) })
                    .collect();
                full(&shape, f64::NAN, spec(n))?.astype(dtype)
            }
        };
        pieces.push(if piece.dtype() == dtype {
            piece
        } else {
            piece.astype(dtype)
        });
    }
    let refs: Vec<&Array> = pieces.iter().collect();
    let data = concatenate(&refs, axis as isize)
        .map_err(|e| e.with_message(format!("{}: variable `{name}`: {}", ctx.what, e.message())))?;
    let attrs: Vec<(usize, &Attrs)> = present.iter().map(|(i, v)| (*i, &v.attrs)).collect();
    Ok(Variable {
        dims,
        data,
        attrs: combine_attrs(&attrs, how_attrs, &format!("variable `{name}`"), ctx)?,
    })
}
