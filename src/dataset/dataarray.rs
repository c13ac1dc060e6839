//! [`DataArray`]: a chunked array with named dimensions, coordinates and
//! attributes (xarray's `DataArray`).

use super::coord::{Coord, CoordValues, Coords, Label};
use super::Attrs;
use crate::array::{Array, Axes, Idx};
use crate::error::{Error, Result};
use crate::meta::DType;
use ndarray::ArrayD;

/// A position or a range of positions along one dimension (`isel`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pos {
    /// One position (negative counts from the end): the dimension is dropped.
    At(isize),
    /// `start:stop:step`, Python's rules.
    Range {
        start: Option<isize>,
        stop: Option<isize>,
        step: isize,
    },
}

impl Pos {
    /// `start..stop` with step 1.
    pub fn range(start: usize, stop: usize) -> Pos {
        Pos::Range {
            start: Some(start as isize),
            stop: Some(stop as isize),
            step: 1,
        }
    }
}

/// A label or a range of labels along one dimension (`sel`).
#[derive(Debug, Clone, PartialEq)]
pub enum Sel {
    /// Exactly this label: the dimension is dropped.
    Label(Label),
    /// The closest label (`method="nearest"`), no further than `tolerance`.
    Nearest {
        label: Label,
        tolerance: Option<f64>,
    },
    /// `slice(lo, hi)`: labels from `lo` to `hi`, both included.
    Slice(Option<Label>, Option<Label>),
}

impl<T: Into<Label>> From<T> for Sel {
    fn from(l: T) -> Self {
        Sel::Label(l.into())
    }
}

/// A chunked array with named dimensions, coordinates and attributes.
#[derive(Clone)]
pub struct DataArray {
    pub(crate) name: Option<String>,
    pub(crate) dims: Vec<String>,
    pub(crate) data: Array,
    pub(crate) coords: Coords,
    pub(crate) attrs: Attrs,
}

impl std::fmt::Debug for DataArray {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", super::repr::data_array(self))
    }
}

impl DataArray {
    /// A `DataArray` over `data` with one name per dimension; coordinates
    /// must have the length of their dimension.
    ///
    /// # Errors
    /// [`Error::Plan`] if the dims are not one per axis and distinct, or a
    /// coordinate does not fit.
    pub fn new(data: Array, dims: &[&str], coords: Coords) -> Result<DataArray> {
        let dims: Vec<String> = dims.iter().map(|d| d.to_string()).collect();
        let da = DataArray {
            name: None,
            dims,
            data,
            coords,
            attrs: Attrs::new(),
        };
        da.validate()?;
        Ok(da)
    }

    pub(crate) fn validate(&self) -> Result<()> {
        let shape = self.data.shape();
        if self.dims.len() != shape.len() {
            return Err(Error::plan(format!(
                "{} dims {:?} for an array of {} dimensions (shape {shape:?})",
                self.dims.len(),
                self.dims,
                shape.len()
            )));
        }
        for (i, d) in self.dims.iter().enumerate() {
            if self.dims[..i].contains(d) {
                return Err(Error::plan(format!("dimension `{d}` is named twice")));
            }
        }
        for (name, c) in self.coords.iter() {
            for d in &c.dims {
                match self.dims.iter().position(|x| x == d) {
                    Some(a) if shape[a] == c.values.len() => {}
                    Some(a) => {
                        return Err(Error::plan(format!(
                            "coordinate `{name}` has {} values but dimension `{d}` has length {}",
                            c.values.len(),
                            shape[a]
                        )))
                    }
                    None => {
                        return Err(Error::plan(format!(
                            "coordinate `{name}` is along `{d}`, which is not a dimension of \
                             the array (dims {:?})",
                            self.dims
                        )))
                    }
                }
            }
        }
        Ok(())
    }

    /// With a name (the variable's name in a dataset).
    pub fn with_name(mut self, name: &str) -> DataArray {
        self.name = Some(name.to_string());
        self
    }

    /// With attributes.
    pub fn with_attrs(mut self, attrs: Attrs) -> DataArray {
        self.attrs = attrs;
        self
    }

    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
    pub fn dims(&self) -> &[String] {
        &self.dims
    }
    pub fn shape(&self) -> Vec<usize> {
        self.data.shape()
    }
    pub fn dtype(&self) -> DType {
        self.data.dtype()
    }
    pub fn coords(&self) -> &Coords {
        &self.coords
    }
    pub fn attrs(&self) -> &Attrs {
        &self.attrs
    }
    /// The chunked array underneath (`.data`).
    pub fn data(&self) -> &Array {
        &self.data
    }

    /// `{dim: length}` in dimension order.
    pub fn sizes(&self) -> Vec<(String, usize)> {
        self.dims.iter().cloned().zip(self.data.shape()).collect()
    }

    /// The axis of `dim`.
    ///
    /// # Errors
    /// [`Error::Plan`] naming the dims there are.
    pub fn axis(&self, dim: &str) -> Result<usize> {
        self.dims.iter().position(|d| d == dim).ok_or_else(|| {
            Error::plan(format!(
                "{} has no dimension `{dim}` (its dims: {:?})",
                self.what(),
                self.dims
            ))
        })
    }

    pub(crate) fn what(&self) -> String {
        match &self.name {
            Some(n) => format!("`{n}`"),
            None => "the array".to_string(),
        }
    }

    /// The same labels around new data of the same shape (or with dims
    /// dropped/added: see [`DataArray::with_data_dims`]).
    pub(crate) fn with_data(&self, data: Array) -> DataArray {
        DataArray {
            name: self.name.clone(),
            dims: self.dims.clone(),
            data,
            coords: self.coords.clone(),
            attrs: self.attrs.clone(),
        }
    }

    /// New data along `dims`; coordinates along other dims are dropped.
    pub(crate) fn with_data_dims(&self, data: Array, dims: Vec<String>) -> DataArray {
        DataArray {
            name: self.name.clone(),
            coords: self.coords.restricted_to(&dims),
            dims,
            data,
            attrs: self.attrs.clone(),
        }
    }

    /// Select by position along named dims (`da.isel(time=0, lat=slice(2, 5))`).
    ///
    /// # Errors
    /// [`Error::Plan`] for an unknown dim or a position out of range.
    pub fn isel(&self, sel: &[(&str, Pos)]) -> Result<DataArray> {
        let mut index = vec![Idx::ALL; self.dims.len()];
        for (dim, p) in sel {
            let a = self.axis(dim)?;
            index[a] = match *p {
                Pos::At(i) => Idx::Int(i),
                Pos::Range { start, stop, step } => Idx::slice(start, stop, step),
            };
        }
        let shape = self.data.shape();
        let data = self
            .data
            .slice(&index)
            .map_err(|e| e.with_message(format!("isel on {}: {}", self.what(), e.message())))?;
        let mut dims = Vec::new();
        let mut coords = Coords::default();
        let mut positions: Vec<Option<Vec<usize>>> = Vec::new();
        for (a, idx) in index.iter().enumerate() {
            let n = shape[a] as isize;
            match *idx {
                Idx::Int(i) => {
                    let i = if i < 0 { i + n } else { i };
                    positions.push(Some(vec![i as usize]));
                }
                Idx::Slice { start, stop, step } => {
                    let (s, len, st) = crate::array::slice_indices(start, stop, step, shape[a])?;
                    positions.push(Some(
                        (0..len)
                            .map(|k| (s as isize + k as isize * st) as usize)
                            .collect(),
                    ));
                    dims.push(self.dims[a].clone());
                }
                _ => positions.push(None),
            }
        }
        for (name, c) in self.coords.iter() {
            let mut c = c.clone();
            if let Some(d) = c.dims.first() {
                let a = self.axis(d)?;
                if let Some(p) = &positions[a] {
                    c.values = c.values.take(p.iter().copied());
                    if matches!(index[a], Idx::Int(_)) {
                        c.dims.clear();
                    }
                }
            }
            coords.insert(name, c);
        }
        Ok(DataArray {
            name: self.name.clone(),
            dims,
            data,
            coords,
            attrs: self.attrs.clone(),
        })
    }

    /// Select by label along named dims (`da.sel(lat=52.5)`,
    /// `sel(time=slice("2000-03", "2000-05"))`, `method="nearest"`).
    ///
    /// # Errors
    /// [`Error::Plan`] if a dim has no coordinate, a label is missing (or
    /// further than the tolerance), or labels are of the wrong kind.
    pub fn sel(&self, sel: &[(&str, Sel)]) -> Result<DataArray> {
        let mut pos = Vec::with_capacity(sel.len());
        for (dim, s) in sel {
            self.axis(dim)?;
            let c = self.coords.index(dim).ok_or_else(|| {
                Error::plan(format!(
                    "{} has no coordinate for dimension `{dim}`: select by position (isel)",
                    self.what()
                ))
            })?;
            pos.push((
                *dim,
                match s {
                    Sel::Label(l) => Pos::At(c.position(dim, l, false, None)? as isize),
                    Sel::Nearest { label, tolerance } => {
                        Pos::At(c.position(dim, label, true, *tolerance)? as isize)
                    }
                    Sel::Slice(lo, hi) => {
                        let r = c.slice_positions(dim, lo.as_ref(), hi.as_ref())?;
                        Pos::range(r.start, r.end)
                    }
                },
            ));
        }
        self.isel(&pos)
    }

    /// Reorder the dimensions (`da.transpose("lon", "lat", "time")`).
    ///
    /// # Errors
    /// [`Error::Plan`] unless `dims` names every dimension once.
    pub fn transpose(&self, dims: &[&str]) -> Result<DataArray> {
        if dims.len() != self.dims.len() {
            return Err(Error::plan(format!(
                "transpose of {} needs all its dims {:?}, got {dims:?}",
                self.what(),
                self.dims
            )));
        }
        let perm = dims
            .iter()
            .map(|d| self.axis(d))
            .collect::<Result<Vec<_>>>()?;
        let mut out = self.with_data(self.data.transpose(&perm)?);
        out.dims = dims.iter().map(|d| d.to_string()).collect();
        out.validate()?;
        Ok(out)
    }

    /// Apply `f` to the data (same dims and coordinates).
    pub fn map(&self, f: impl FnOnce(&Array) -> Array) -> DataArray {
        self.with_data(f(&self.data))
    }

    /// Apply a fallible `f` to the data (same dims and coordinates).
    pub fn try_map(&self, f: impl FnOnce(&Array) -> Result<Array>) -> Result<DataArray> {
        Ok(self.with_data(f(&self.data)?))
    }

    /// The axes of `dims` (all of them when empty).
    pub(crate) fn axes_of(&self, dims: &[&str]) -> Result<Vec<usize>> {
        if dims.is_empty() {
            return Ok((0..self.dims.len()).collect());
        }
        dims.iter().map(|d| self.axis(d)).collect()
    }

    /// Reduce over `dims` (all when empty) with `f(data, axes)`; coordinates
    /// along them are dropped.
    pub fn reduce_with(
        &self,
        dims: &[&str],
        f: impl FnOnce(&Array, Vec<usize>) -> Result<Array>,
    ) -> Result<DataArray> {
        let axes = self.axes_of(dims)?;
        let data = f(&self.data, axes.clone())?;
        let kept: Vec<String> = self
            .dims
            .iter()
            .enumerate()
            .filter(|(a, _)| !axes.contains(a))
            .map(|(_, d)| d.clone())
            .collect();
        let mut out = self.with_data_dims(data, kept);
        // xarray keeps scalar coordinates through reductions.
        for (name, c) in self.coords.iter() {
            if c.dims.is_empty() {
                out.coords.insert(name, c.clone());
            }
        }
        // The attributes stay, as xarray keeps them by default (checked with
        // 2026.9, the fixtures' version).
        Ok(out)
    }

    fn skipna(&self) -> bool {
        matches!(self.dtype(), DType::F32 | DType::F64)
    }

    /// The mean over `dims` (all when empty), skipping NaN for floats
    /// (xarray's default `skipna`).
    pub fn mean(&self, dims: &[&str]) -> Result<DataArray> {
        let skip = self.skipna();
        self.reduce_with(dims, |x, axes| {
            if skip {
                x.nanmean(Axes::of(&axes), false)
            } else {
                x.mean(Axes::of(&axes), false)
            }
        })
    }

    /// The sum over `dims`, NaN skipped for floats.
    pub fn sum(&self, dims: &[&str]) -> Result<DataArray> {
        let skip = self.skipna();
        self.reduce_with(dims, |x, axes| {
            if skip {
                x.nansum(Axes::of(&axes), false)
            } else {
                x.sum(Axes::of(&axes), false)
            }
        })
    }

    /// The minimum over `dims`, NaN skipped for floats.
    pub fn min(&self, dims: &[&str]) -> Result<DataArray> {
        let skip = self.skipna();
        self.reduce_with(dims, |x, axes| {
            if skip {
                x.nanmin(Axes::of(&axes), false)
            } else {
                x.min(Axes::of(&axes), false)
            }
        })
    }

    /// The maximum over `dims`, NaN skipped for floats.
    pub fn max(&self, dims: &[&str]) -> Result<DataArray> {
        let skip = self.skipna();
        self.reduce_with(dims, |x, axes| {
            if skip {
                x.nanmax(Axes::of(&axes), false)
            } else {
                x.max(Axes::of(&axes), false)
            }
        })
    }

    /// The standard deviation over `dims` (`ddof` 0 like xarray), NaN skipped
    /// for floats.
    pub fn std(&self, dims: &[&str], ddof: u32) -> Result<DataArray> {
        let skip = self.skipna();
        self.reduce_with(dims, |x, axes| {
            if skip {
                x.nanstd(Axes::of(&axes), ddof, false)
            } else {
                x.std(Axes::of(&axes), ddof, false)
            }
        })
    }

    /// The variance over `dims`, NaN skipped for floats.
    pub fn var(&self, dims: &[&str], ddof: u32) -> Result<DataArray> {
        let skip = self.skipna();
        self.reduce_with(dims, |x, axes| {
            if skip {
                x.nanvar(Axes::of(&axes), ddof, false)
            } else {
                x.var(Axes::of(&axes), ddof, false)
            }
        })
    }

    /// The number of non-NaN values over `dims`.
    pub fn count(&self, dims: &[&str]) -> Result<DataArray> {
        self.reduce_with(dims, |x, axes| {
            x.isnan()
                .invert()
                .astype(DType::I64)
                .sum(Axes::of(&axes), false)
        })
    }

    /// Where `cond` holds the values, elsewhere `other` (xarray's `where`;
    /// `cond` is aligned and broadcast by dimension name).
    pub fn where_(&self, cond: &DataArray, other: f64) -> Result<DataArray> {
        super::align::zip_with(self, cond, "where", |a, c| {
            Ok(crate::array::where_(c, a, other))
        })
    }

    /// The values (computed), as float64 in dimension order.
    pub fn values(&self) -> Result<ArrayD<f64>> {
        self.data.astype(DType::F64).to_ndarray::<f64>()
    }

    /// The data computed now; labels unchanged (`da.compute()`).
    pub fn persist(&self) -> Result<DataArray> {
        Ok(self.with_data(self.data.persist()?))
    }

    /// Rename dimensions (and their dimension coordinates).
    pub fn rename_dims(&self, names: &[(&str, &str)]) -> Result<DataArray> {
        let mut out = self.clone();
        for (old, new) in names {
            let a = out.axis(old)?;
            out.dims[a] = new.to_string();
            for (n, c) in out.coords.0.iter_mut() {
                for d in c.dims.iter_mut() {
                    if d == old {
                        *d = new.to_string();
                    }
                }
                if n == old {
                    *n = new.to_string();
                }
            }
        }
        out.validate()?;
        Ok(out)
    }

    /// A coordinate's values along its dimension (`da["time"]`).
    ///
    /// # Errors
    /// [`Error::Plan`] if there is no such coordinate.
    pub fn coord(&self, name: &str) -> Result<&Coord> {
        self.coords.get(name).ok_or_else(|| {
            Error::plan(format!(
                "{} has no coordinate `{name}` (its coordinates: {:?})",
                self.what(),
                self.coords.iter().map(|(n, _)| n).collect::<Vec<_>>()
            ))
        })
    }

    /// Add or replace a coordinate.
    pub fn assign_coord(&self, name: &str, c: Coord) -> Result<DataArray> {
        let mut out = self.clone();
        out.coords.insert(name, c);
        out.validate()?;
        Ok(out)
    }

    /// The index coordinate values of `dim`, if any.
    pub(crate) fn index_values(&self, dim: &str) -> Option<&CoordValues> {
        self.coords.index(dim).map(|c| &c.values)
    }
}
