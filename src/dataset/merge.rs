//! Combining datasets and named arrays into one dataset: [`merge`]
//! (xarray's `xr.merge`) and [`Dataset::merge`], with xarray's `join`,
//! `compat` and `combine_attrs` options; the pieces `concat` of datasets
//! shares with it (comparing and combining variables of one name).
//!
//! Merging is lazy except for one thing: checking that variables present in
//! several inputs agree (`compat` `"no_conflicts"`, `"equals"`,
//! `"identical"`) compares their values, and that needs them computed, as in
//! xarray. All the comparisons of one merge run as one computation that
//! returns a count of differing positions per variable; a variable given by
//! the very same array in several inputs is not compared. Coordinates are in
//! memory and compared there.

use super::coord::{Coord, CoordValues, Coords};
use super::dataarray::DataArray;
use super::join::{align_datasets, Join};
use super::set::{Dataset, Variable};
use super::{AttrValue, Attrs};
use crate::array::{stack, where_, Array, Axes};
use crate::error::{Error, Result};
use crate::meta::DType;
use std::str::FromStr;

/// How variables of one name in several inputs are combined (xarray's
/// `compat=`).
///
/// ```
/// use chunkwise::dataset::Compat;
/// assert_eq!("no_conflicts".parse::<Compat>().unwrap(), Compat::NoConflicts);
/// // xarray's "broadcast_equals" and "minimal" are refused with a message.
/// assert!("broadcast_equals".parse::<Compat>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Compat {
    /// Equal where both are not NaN; the result takes each position from
    /// the first input that has a value there. xarray's default for `merge`.
    NoConflicts,
    /// Same dims and values (NaN equal to NaN). xarray's default for
    /// `concat`.
    Equals,
    /// [`Compat::Equals`], and the same attributes.
    Identical,
    /// No check: the first input's variable is taken.
    Override,
}

impl Compat {
    pub fn as_str(self) -> &'static str {
        match self {
            Compat::NoConflicts => "no_conflicts",
            Compat::Equals => "equals",
            Compat::Identical => "identical",
            Compat::Override => "override",
        }
    }
}

impl FromStr for Compat {
    type Err = Error;

    /// xarray's names: `"no_conflicts"`, `"equals"`, `"identical"`,
    /// `"override"`.
    fn from_str(s: &str) -> Result<Compat> {
        Ok(match s {
            "no_conflicts" => Compat::NoConflicts,
            "equals" => Compat::Equals,
            "identical" => Compat::Identical,
            "override" => Compat::Override,
            "broadcast_equals" | "minimal" => {
                return Err(Error::plan(format!(
                    "compat={s:?} is not supported: variables of one name must have the same \
                     dims in every input; use \"equals\", \"no_conflicts\", \"identical\" or \
                     \"override\""
                )))
            }
            other => {
                return Err(Error::plan(format!(
                    "unknown compat {other:?}: use one of \"no_conflicts\", \"equals\", \
                     \"identical\", \"override\""
                )))
            }
        })
    }
}

/// How the attributes of several inputs are combined (xarray's
/// `combine_attrs=`), for the result and for each variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum CombineAttrs {
    /// The first input's attributes. xarray's default.
    #[default]
    Override,
    /// No attributes.
    Drop,
    /// All inputs must have the same attributes.
    Identical,
    /// The union; an attribute with different values is an error.
    NoConflicts,
    /// The union, leaving out attributes with different values.
    DropConflicts,
}

impl CombineAttrs {
    pub fn as_str(self) -> &'static str {
        match self {
            CombineAttrs::Override => "override",
            CombineAttrs::Drop => "drop",
            CombineAttrs::Identical => "identical",
            CombineAttrs::NoConflicts => "no_conflicts",
            CombineAttrs::DropConflicts => "drop_conflicts",
        }
    }
}

impl FromStr for CombineAttrs {
    type Err = Error;

    /// xarray's names: `"override"`, `"drop"`, `"identical"`,
    /// `"no_conflicts"`, `"drop_conflicts"`.
    fn from_str(s: &str) -> Result<CombineAttrs> {
        Ok(match s {
            "override" => CombineAttrs::Override,
            "drop" => CombineAttrs::Drop,
            "identical" => CombineAttrs::Identical,
            "no_conflicts" => CombineAttrs::NoConflicts,
            "drop_conflicts" => CombineAttrs::DropConflicts,
            other => {
                return Err(Error::plan(format!(
                    "unknown combine_attrs {other:?}: use one of \"override\", \"drop\", \
                     \"identical\", \"no_conflicts\", \"drop_conflicts\""
                )))
            }
        })
    }
}

/// The keywords of [`merge`]; the default is xarray's: `join="outer"`,
/// `compat="no_conflicts"`, `combine_attrs="override"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MergeOptions {
    pub join: Join,
    pub compat: Compat,
    pub combine_attrs: CombineAttrs,
}

impl Default for MergeOptions {
    fn default() -> Self {
        MergeOptions {
            join: Join::Outer,
            compat: Compat::NoConflicts,
            combine_attrs: CombineAttrs::Override,
        }
    }
}

/// One input of [`merge`]: a dataset or a named array.
#[derive(Clone, Copy)]
pub enum MergeInput<'a> {
    Dataset(&'a Dataset),
    DataArray(&'a DataArray),
}

impl<'a> From<&'a Dataset> for MergeInput<'a> {
    fn from(ds: &'a Dataset) -> Self {
        MergeInput::Dataset(ds)
    }
}

impl<'a> From<&'a DataArray> for MergeInput<'a> {
    fn from(da: &'a DataArray) -> Self {
        MergeInput::DataArray(da)
    }
}

/// Merge datasets and named arrays into one dataset (`xr.merge(objs, join=,
/// compat=, combine_attrs=)`).
///
/// The inputs are first aligned: the labels of each dimension are joined by
/// `opts.join` and every variable is reindexed to them (lazily; NaN where an
/// input lacks a label, integers becoming float64). With the default outer
/// join, differing indexes give their sorted union, as pandas' `union` does.
/// Variables and coordinates of one name in several inputs are then combined
/// by `opts.compat`; a data variable in one input cannot be a coordinate in
/// another. An array's attributes are also its input's attributes, as in
/// xarray; `opts.combine_attrs` combines those of the inputs, and those of
/// each variable. Variables come in the order they are first seen.
///
/// With [`Compat::NoConflicts`] each input's values are checked against the
/// combination of the inputs before it (xarray checks against the first
/// input only; the two differ only when three or more inputs overlap).
///
/// ```
/// use chunkwise::dataset::{merge, Coord, CoordValues, Coords, DataArray, MergeOptions};
/// use chunkwise::prelude::*;
/// let on_x = |labels: Vec<i64>| {
///     let mut c = Coords::default();
///     c.insert("x", Coord::new("x", CoordValues::Int(labels)));
///     c
/// };
/// let a = from_ndarray(&ndarray::arr1(&[1.0, 2.0]), 2)?;
/// let a = DataArray::new(a, &["x"], on_x(vec![0, 1]))?.with_name("a");
/// let b = from_ndarray(&ndarray::arr1(&[5.0, 6.0]), 2)?;
/// let b = DataArray::new(b, &["x"], on_x(vec![1, 2]))?.with_name("b");
/// let ds = merge([&a, &b], &MergeOptions::default())?;
/// assert_eq!(ds.sizes(), [("x".to_string(), 3)]);
/// let a = ds.get("a")?.values()?;
/// assert_eq!((a[0], a[1]), (1.0, 2.0));
/// assert!(a[2].is_nan());
/// # Ok::<(), chunkwise::Error>(())
/// ```
///
/// # Errors
/// [`Error::Plan`] naming the variable, dimension or input: an unnamed
/// array; labels that cannot be joined (see [`Join`]); a variable with
/// different dims in two inputs, or conflicting values or attributes under
/// `opts.compat`; a name that is a coordinate in one input and a data
/// variable in another; attributes that conflict under `opts.combine_attrs`.
///
/// # Collective
/// When variables must be compared, their values are computed: under MPI,
/// call on every rank, in the same order.
pub fn merge<'a, I>(objs: I, opts: &MergeOptions) -> Result<Dataset>
where
    I: IntoIterator,
    I::Item: Into<MergeInput<'a>>,
{
    let objs = objs
        .into_iter()
        .enumerate()
        .map(|(i, o)| match o.into() {
            MergeInput::Dataset(ds) => Ok(ds.clone()),
            MergeInput::DataArray(da) => as_dataset(da, true)
                .map_err(|e| e.with_message(format!("merge: object {i}: {}", e.message()))),
        })
        .collect::<Result<Vec<_>>>()?;
    merge_datasets(&objs, opts)
}

impl Dataset {
    /// This dataset merged with another dataset or named array
    /// (`ds.merge(other)`): [`merge`] of the two. An array's attributes are
    /// not the input's here, as in xarray's `Dataset.merge`.
    ///
    /// ```
    /// use chunkwise::dataset::{Attrs, Coords, DataArray, Dataset, Join, MergeOptions};
    /// use chunkwise::prelude::*;
    /// let on_x = |v: [f64; 3]| -> chunkwise::Result<DataArray> {
    ///     DataArray::new(from_ndarray(&ndarray::arr1(&v), 3)?, &["x"], Coords::default())
    /// };
    /// let ds = Dataset::new(vec![("a".into(), on_x([1.0, 2.0, 3.0])?)], Coords::default(), Attrs::new())?;
    /// let exact = MergeOptions { join: Join::Exact, ..MergeOptions::default() };
    /// let both = ds.merge(&on_x([4.0, 5.0, 6.0])?.with_name("b"), &exact)?;
    /// assert_eq!(both.data_vars(), ["a", "b"]);
    /// // An array needs a name to become a variable.
    /// assert!(ds.merge(&on_x([4.0, 5.0, 6.0])?, &exact).is_err());
    /// # Ok::<(), chunkwise::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`merge`].
    ///
    /// # Collective
    /// As [`merge`].
    pub fn merge<'a>(
        &'a self,
        other: impl Into<MergeInput<'a>>,
        opts: &MergeOptions,
    ) -> Result<Dataset> {
        let other = match other.into() {
            MergeInput::Dataset(ds) => ds.clone(),
            MergeInput::DataArray(da) => as_dataset(da, false)
                .map_err(|e| e.with_message(format!("merge: object 1: {}", e.message())))?,
        };
        merge_datasets(&[self.clone(), other], opts)
    }
}

/// `da` as a dataset; with `promote_attrs` its attributes are the dataset's
/// too.
fn as_dataset(da: &DataArray, promote_attrs: bool) -> Result<Dataset> {
    let name = da.name().ok_or_else(|| {
        Error::plan(
            "an unnamed DataArray cannot become a dataset variable; give it a name (with_name)",
        )
    })?;
    if da.coords().get(name).is_some() {
        return Err(Error::plan(format!(
            "DataArray `{name}` has a coordinate of the same name; rename one of them"
        )));
    }
    Ok(Dataset {
        vars: vec![(
            name.to_string(),
            Variable {
                dims: da.dims().to_vec(),
                data: da.data().clone(),
                attrs: da.attrs().clone(),
            },
        )],
        coords: da.coords().clone(),
        attrs: if promote_attrs {
            da.attrs().clone()
        } else {
            Attrs::new()
        },
        source: None,
    })
}

/// [`merge`] of datasets.
pub(crate) fn merge_datasets(objs: &[Dataset], opts: &MergeOptions) -> Result<Dataset> {
    let ctx = Ctx {
        what: "merge",
        obj: "object",
    };
    if objs.is_empty() {
        return Ok(Dataset::default());
    }
    let aligned = align_datasets(objs, opts.join, &[], ctx.what, ctx.obj)?;
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
    for n in &var_names {
        if coord_names.contains(n) {
            let c = aligned.iter().position(|ds| ds.coords.get(n).is_some());
            let v = aligned
                .iter()
                .position(|ds| ds.vars.iter().any(|(m, _)| m == n));
            return Err(Error::plan(format!(
                "merge: `{n}` is a coordinate in object {} but a data variable in object {}; \
                 rename one of them",
                c.unwrap_or_default(),
                v.unwrap_or_default()
            )));
        }
    }
    let mut coords = Coords::default();
    for n in coord_names {
        let pieces: Vec<(usize, &Coord)> = aligned
            .iter()
            .enumerate()
            .filter_map(|(i, ds)| ds.coords.get(n).map(|c| (i, c)))
            .collect();
        coords.insert(n, combine_coords(n, &pieces, opts, &ctx)?);
    }
    let mut checks = ValueChecks::default();
    let mut vars = Vec::new();
    for n in var_names {
        let pieces: Vec<(usize, &Variable)> = aligned
            .iter()
            .enumerate()
            .filter_map(|(i, ds)| ds.vars.iter().find(|(m, _)| m == n).map(|(_, v)| (i, v)))
            .collect();
        let v = combine_vars(
            n,
            &pieces,
            opts.compat,
            opts.combine_attrs,
            &mut checks,
            &ctx,
        )?;
        vars.push((n.to_string(), v));
    }
    checks.run()?;
    let attrs: Vec<(usize, &Attrs)> = aligned.iter().map(|d| &d.attrs).enumerate().collect();
    let attrs = combine_attrs(&attrs, opts.combine_attrs, "the inputs", &ctx)?;
    let ds = Dataset {
        vars,
        coords,
        attrs,
        source: None,
    };
    check_sizes(&ds, ctx.what)?;
    Ok(ds)
}

/// How messages name the operation and its inputs.
pub(crate) struct Ctx<'a> {
    /// `"merge"`, ``"concat along `time`"``.
    pub what: &'a str,
    /// `"object"`, `"dataset"`.
    pub obj: &'a str,
}

/// Lazy comparisons of variables, computed together by [`ValueChecks::run`].
#[derive(Default)]
pub(crate) struct ValueChecks {
    /// The number of differing positions (a 0-d int64 array), the number of
    /// positions compared, and the message to give if any differ.
    items: Vec<(Array, usize, String)>,
}

impl ValueChecks {
    /// Compare `a` and `b` (same shape): with `nan_is_missing` a NaN on
    /// either side agrees with anything, else NaN agrees only with NaN.
    /// `message` is the error, completed with the count of differences.
    pub(crate) fn push(
        &mut self,
        a: &Array,
        b: &Array,
        nan_is_missing: bool,
        message: String,
    ) -> Result<()> {
        let eq = a.equal(b)?;
        let (na, nb) = (a.isnan(), b.isnan());
        let ok = if nan_is_missing {
            eq.logical_or(&na)?.logical_or(&nb)?
        } else {
            eq.logical_or(&na.logical_and(&nb)?)?
        };
        let bad = ok.invert().astype(DType::I64);
        let bad = if bad.ndim() == 0 {
            bad.expand_dims(0)?
        } else {
            bad
        };
        let count = bad.sum(Axes::All, false)?;
        self.items.push((count, a.size(), message));
        Ok(())
    }

    /// Compute every comparison (one computation) and fail on the first
    /// that found differences.
    ///
    /// # Collective
    /// Computes when there is anything to compare: under MPI, call on every
    /// rank, in the same order.
    pub(crate) fn run(self) -> Result<()> {
        if self.items.is_empty() {
            return Ok(());
        }
        let counts: Vec<&Array> = self.items.iter().map(|(c, _, _)| c).collect();
        let counts = stack(&counts, 0)?.to_ndarray::<i64>()?;
        for ((_, size, message), &n) in self.items.iter().zip(counts.iter()) {
            if n > 0 {
                return Err(Error::plan(format!(
                    "{message} ({n} of {size} positions differ)"
                )));
            }
        }
        Ok(())
    }
}

fn same_array(a: &Array, b: &Array) -> bool {
    matches!((a.expr(), b.expr()), (Ok(x), Ok(y)) if x.ptr_eq(y))
}

/// The variable `name` of several inputs (`pieces`: input index and
/// variable, at least one) combined by `compat`: the checks it needs are
/// added to `checks`.
pub(crate) fn combine_vars(
    name: &str,
    pieces: &[(usize, &Variable)],
    compat: Compat,
    how_attrs: CombineAttrs,
    checks: &mut ValueChecks,
    ctx: &Ctx,
) -> Result<Variable> {
    let (i0, first) = pieces[0];
    let (what, obj) = (ctx.what, ctx.obj);
    let mut out = first.clone();
    for &(i, v) in &pieces[1..] {
        let mut dims = v.dims.clone();
        dims.sort();
        let mut mine = first.dims.clone();
        mine.sort();
        if dims != mine {
            return Err(Error::plan(format!(
                "{what}: variable `{name}` has dims {:?} in {obj} {i0} but {:?} in {obj} {i}; \
                 variables of one name must have the same dims",
                first.dims, v.dims
            )));
        }
        let data = if v.dims == first.dims {
            v.data.clone()
        } else {
            let perm: Vec<usize> = first
                .dims
                .iter()
                .map(|d| v.dims.iter().position(|e| e == d).unwrap_or_default())
                .collect();
            v.data.transpose(&perm)?
        };
        if data.shape() != first.data.shape() {
            return Err(Error::plan(format!(
                "{what}: variable `{name}` has shape {:?} in {obj} {i0} but {:?} in {obj} {i}",
                first.data.shape(),
                data.shape()
            )));
        }
        if compat == Compat::Identical && !attrs_equal(&first.attrs, &v.attrs) {
            return Err(Error::plan(format!(
                "{what}: variable `{name}` has other attributes in {obj} {i} than in {obj} \
                 {i0} (compat=\"identical\"); use compat \"equals\" to ignore attributes"
            )));
        }
        match compat {
            Compat::Override => {}
            Compat::Equals | Compat::Identical => {
                if !same_array(&first.data, &data) {
                    checks.push(
                        &first.data,
                        &data,
                        false,
                        format!(
                            "{what}: variable `{name}` differs between {obj} {i0} and {obj} {i} \
                             (compat=\"{}\"); pass compat \"override\" to take the first's \
                             values",
                            compat.as_str()
                        ),
                    )?;
                }
            }
            Compat::NoConflicts => {
                if !same_array(&out.data, &data) {
                    checks.push(
                        &out.data,
                        &data,
                        true,
                        format!(
                            "{what}: conflicting values for variable `{name}` in {obj} {i} \
                             (compat=\"no_conflicts\": values must be equal where neither is \
                             NaN); pass compat \"override\" to take the first's values"
                        ),
                    )?;
                    if out.data.dtype().is_float() {
                        out.data = where_(&out.data.isnan(), &data, &out.data);
                    }
                }
            }
        }
    }
    let attrs: Vec<(usize, &Attrs)> = pieces.iter().map(|(i, v)| (*i, &v.attrs)).collect();
    out.attrs = combine_attrs(&attrs, how_attrs, &format!("variable `{name}`"), ctx)?;
    Ok(out)
}

/// The coordinate `name` of several inputs combined by `opts.compat`
/// (in memory).
pub(crate) fn combine_coords(
    name: &str,
    pieces: &[(usize, &Coord)],
    opts: &MergeOptions,
    ctx: &Ctx,
) -> Result<Coord> {
    let (i0, first) = pieces[0];
    let (what, obj) = (ctx.what, ctx.obj);
    let mut out = first.clone();
    for &(i, c) in &pieces[1..] {
        if c.dims != first.dims {
            return Err(Error::plan(format!(
                "{what}: coordinate `{name}` is along {:?} in {obj} {i0} but {:?} in {obj} {i}",
                first.dims, c.dims
            )));
        }
        if opts.compat == Compat::Identical && !attrs_equal(&first.attrs, &c.attrs) {
            return Err(Error::plan(format!(
                "{what}: coordinate `{name}` has other attributes in {obj} {i} than in {obj} \
                 {i0} (compat=\"identical\")"
            )));
        }
        let agree = match opts.compat {
            Compat::Override => true,
            Compat::Equals | Compat::Identical => values_agree(&first.values, &c.values, false),
            Compat::NoConflicts => values_agree(&out.values, &c.values, true),
        };
        if !agree {
            return Err(Error::plan(format!(
                "{what}: coordinate `{name}` differs between {obj} {i0} and {obj} {i} \
                 (compat=\"{}\"); pass compat \"override\" to take the first's values",
                opts.compat.as_str()
            )));
        }
        if opts.compat == Compat::NoConflicts {
            match (&mut out.values, &c.values) {
                (CoordValues::Float(a), CoordValues::Float(b)) => fill_nan(a, b),
                (CoordValues::Float32(a), CoordValues::Float32(b)) => fill_nan(a, b),
                _ => {}
            }
        }
    }
    let attrs: Vec<(usize, &Attrs)> = pieces.iter().map(|(i, c)| (*i, &c.attrs)).collect();
    out.attrs = combine_attrs(
        &attrs,
        opts.combine_attrs,
        &format!("coordinate `{name}`"),
        ctx,
    )?;
    Ok(out)
}

/// `a`'s NaN replaced by `b`'s values there.
fn fill_nan<T: crate::kernel::Element>(a: &mut [T], b: &[T]) {
    for (x, y) in a.iter_mut().zip(b) {
        if x.is_nan() {
            *x = *y;
        }
    }
}

/// Equal labels; floats (of either width, compared as float64) NaN-aware
/// (with `nan_is_missing` NaN agrees with anything, else only with NaN).
pub(crate) fn values_agree(a: &CoordValues, b: &CoordValues, nan_is_missing: bool) -> bool {
    match (a.floats(), b.floats()) {
        (Some(x), Some(y)) => {
            x.len() == y.len()
                && x.iter().zip(&y).all(|(p, q)| {
                    p == q
                        || (p.is_nan() && q.is_nan())
                        || (nan_is_missing && (p.is_nan() || q.is_nan()))
                })
        }
        _ => a == b,
    }
}

/// The same attributes, in any order.
fn attrs_equal(a: &Attrs, b: &Attrs) -> bool {
    a.len() == b.len() && a.iter().all(|x| b.get(&x.name) == Some(&x.value))
}

/// The attributes of several inputs (`list`: input index and attributes)
/// combined by `how`; `of` names their owner in messages.
pub(crate) fn combine_attrs(
    list: &[(usize, &Attrs)],
    how: CombineAttrs,
    of: &str,
    ctx: &Ctx,
) -> Result<Attrs> {
    let (what, obj) = (ctx.what, ctx.obj);
    let Some(&(i0, first)) = list.first() else {
        return Ok(Attrs::new());
    };
    match how {
        CombineAttrs::Override => Ok(first.clone()),
        CombineAttrs::Drop => Ok(Attrs::new()),
        CombineAttrs::Identical => {
            if let Some((i, _)) = list[1..].iter().find(|(_, a)| !attrs_equal(first, a)) {
                return Err(Error::plan(format!(
                    "{what}: the attributes of {of} differ between {obj} {i0} and {obj} {i} \
                     (combine_attrs=\"identical\")"
                )));
            }
            Ok(first.clone())
        }
        CombineAttrs::NoConflicts | CombineAttrs::DropConflicts => {
            let mut out = Attrs::new();
            let mut from: Vec<(String, usize)> = Vec::new();
            let mut dropped: Vec<String> = Vec::new();
            for &(i, attrs) in list {
                for a in attrs.iter() {
                    if dropped.contains(&a.name) {
                        continue;
                    }
                    match out.get(&a.name).cloned() {
                        None => {
                            out.insert_attr(a.clone());
                            from.push((a.name.clone(), i));
                        }
                        Some(v) if v == a.value => {}
                        Some(_) if how == CombineAttrs::DropConflicts => {
                            out.remove(&a.name);
                            dropped.push(a.name.clone());
                        }
                        Some(v) => {
                            let j = from
                                .iter()
                                .find(|(n, _)| n == &a.name)
                                .map_or(i0, |(_, j)| *j);
                            return Err(Error::plan(format!(
                                "{what}: attribute `{}` of {of} is {} in {obj} {j} but {} in \
                                 {obj} {i} (combine_attrs=\"no_conflicts\"); use \
                                 \"drop_conflicts\" to leave it out",
                                a.name,
                                show(&v),
                                show(&a.value)
                            )));
                        }
                    }
                }
            }
            Ok(out)
        }
    }
}

/// The attributes of a binary operation's result, as xarray gives them by
/// default (checked with 2026.9, the fixtures' version): both operands'
/// attributes, those that differ between them left out
/// (`combine_attrs="drop_conflicts"`).
pub(crate) fn drop_conflicts(a: &Attrs, b: &Attrs) -> Attrs {
    let ctx = Ctx {
        what: "arithmetic",
        obj: "operand",
    };
    combine_attrs(&[(0, a), (1, b)], CombineAttrs::DropConflicts, "", &ctx)
        .expect("drop_conflicts never fails")
}

fn show(v: &AttrValue) -> String {
    match v {
        AttrValue::Text(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

/// Every variable and coordinate agrees with the dataset's dimension
/// lengths.
pub(crate) fn check_sizes(ds: &Dataset, what: &str) -> Result<()> {
    let sizes = ds.sizes();
    let len = |d: &str| sizes.iter().find(|(e, _)| e == d).map(|(_, n)| *n);
    for (name, v) in &ds.vars {
        let shape = v.data.shape();
        if shape.len() != v.dims.len() {
            return Err(Error::internal(format!(
                "{what}: variable `{name}` has dims {:?} for shape {shape:?}",
                v.dims
            )));
        }
        for (d, &n) in v.dims.iter().zip(&shape) {
            if let Some(m) = len(d).filter(|&m| m != n) {
                return Err(Error::plan(format!(
                    "{what}: variable `{name}` has dimension `{d}` of length {n}, but the \
                     result's is {m}"
                )));
            }
        }
    }
    for (name, c) in ds.coords.iter() {
        if let [d] = c.dims.as_slice() {
            let n = c.values.len();
            if let Some(m) = len(d).filter(|&m| m != n) {
                return Err(Error::plan(format!(
                    "{what}: coordinate `{name}` has {n} values, but dimension `{d}` has \
                     length {m}"
                )));
            }
        }
    }
    Ok(())
}
