//! [`Dataset`]: named data variables sharing dimensions and coordinates
//! (xarray's `Dataset`).

use super::coord::Coords;
use super::dataarray::{DataArray, Pos, Sel};
use super::Attrs;
use crate::array::Array;
use crate::error::{Error, Result};
use std::fmt::Write;

/// A data variable: a chunked array along named dims, with its attributes.
#[derive(Clone)]
pub struct Variable {
    pub dims: Vec<String>,
    pub data: Array,
    pub attrs: Attrs,
}

/// Data variables sharing dimensions and coordinates.
#[derive(Clone, Default)]
pub struct Dataset {
    pub(crate) vars: Vec<(String, Variable)>,
    pub(crate) coords: Coords,
    pub(crate) attrs: Attrs,
    /// The file, store or pattern it was opened from (xarray's
    /// `ds.encoding["source"]`), for messages.
    pub(crate) source: Option<String>,
}

impl std::fmt::Debug for Dataset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.repr())
    }
}

impl Dataset {
    /// A dataset of `vars` with `coords`; every variable's dims must agree on
    /// their lengths, and with the coordinates.
    ///
    /// # Errors
    /// [`Error::Plan`] naming the variable and dimension that disagree.
    pub fn new(vars: Vec<(String, DataArray)>, coords: Coords, attrs: Attrs) -> Result<Dataset> {
        let mut ds = Dataset {
            vars: Vec::new(),
            coords,
            attrs,
            source: None,
        };
        for (name, da) in vars {
            ds.insert(&name, &da)?;
        }
        Ok(ds)
    }

    /// Add or replace a data variable (`ds["x"] = da`); its coordinates join
    /// the dataset's.
    ///
    /// # Errors
    /// [`Error::Plan`] if a dimension's length or a coordinate differs from
    /// the dataset's.
    pub fn insert(&mut self, name: &str, da: &DataArray) -> Result<()> {
        let sizes = self.sizes();
        for (d, n) in da.sizes() {
            if let Some((_, m)) = sizes.iter().find(|(e, _)| *e == d) {
                if *m != n {
                    return Err(Error::plan(format!(
                        "variable `{name}` has dimension `{d}` of length {n}, but the dataset's \
                         is {m}"
                    )));
                }
            }
        }
        for (cn, c) in da.coords().iter() {
            match self.coords.get(cn) {
                Some(mine) if mine.values != c.values => {
                    return Err(Error::plan(format!(
                        "variable `{name}`: coordinate `{cn}` differs from the dataset's"
                    )))
                }
                Some(_) => {}
                None => self.coords.insert(cn, c.clone()),
            }
        }
        let v = Variable {
            dims: da.dims().to_vec(),
            data: da.data().clone(),
            attrs: da.attrs().clone(),
        };
        match self.vars.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = v,
            None => self.vars.push((name.to_string(), v)),
        }
        Ok(())
    }

    /// `{dim: length}` over the variables, then the coordinates, in first-seen
    /// order.
    pub fn sizes(&self) -> Vec<(String, usize)> {
        let mut out: Vec<(String, usize)> = Vec::new();
        let mut add = |d: &str, n: usize| {
            if !out.iter().any(|(e, _)| e == d) {
                out.push((d.to_string(), n));
            }
        };
        for (_, v) in &self.vars {
            for (d, n) in v.dims.iter().zip(v.data.shape()) {
                add(d, n);
            }
        }
        for (_, c) in self.coords.iter() {
            if let [d] = c.dims.as_slice() {
                add(d, c.values.len());
            }
        }
        out
    }

    /// The names of the data variables (`ds.data_vars`).
    pub fn data_vars(&self) -> Vec<&str> {
        self.vars.iter().map(|(n, _)| n.as_str()).collect()
    }

    pub fn coords(&self) -> &Coords {
        &self.coords
    }

    pub fn attrs(&self) -> &Attrs {
        &self.attrs
    }

    /// The file, store or file pattern this dataset was opened from (xarray's
    /// `ds.encoding["source"]`), if it was opened from one.
    pub fn source(&self) -> Option<&str> {
        self.source.as_deref()
    }

    /// The same dataset, saying it was opened from `source`.
    pub fn with_source(mut self, source: impl Into<String>) -> Dataset {
        self.source = Some(source.into());
        self
    }

    /// A data variable as a `DataArray` with the coordinates along its dims
    /// (`ds["air"]`, `ds.air`).
    ///
    /// # Errors
    /// [`Error::Plan`] naming the variables there are.
    pub fn get(&self, name: &str) -> Result<DataArray> {
        let v = self
            .vars
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
            .ok_or_else(|| {
                let of = match &self.source {
                    Some(src) => format!("`{src}`"),
                    None => "the dataset".to_string(),
                };
                Error::plan(format!(
                    "{of} has no variable `{name}` (its variables: {})",
                    self.data_vars().join(", ")
                ))
            })?;
        let da = DataArray {
            name: Some(name.to_string()),
            dims: v.dims.clone(),
            data: v.data.clone(),
            coords: self.coords.restricted_to(&v.dims),
            attrs: v.attrs.clone(),
        };
        da.validate()?;
        Ok(da)
    }

    /// Apply `f` to every data variable; `f` returns `None` to leave a
    /// variable out. Coordinates are those of the results (plus the scalar
    /// and untouched ones of `self`).
    pub fn map_vars(
        &self,
        mut f: impl FnMut(&DataArray) -> Result<Option<DataArray>>,
    ) -> Result<Dataset> {
        let mut out = Dataset {
            vars: Vec::new(),
            coords: Coords::default(),
            attrs: self.attrs.clone(),
            source: self.source.clone(),
        };
        for (name, _) in &self.vars {
            if let Some(r) = f(&self.get(name)?)? {
                out.insert(name, &r)?;
            }
        }
        Ok(out)
    }

    /// `isel` on every variable that has the dims (others unchanged).
    pub fn isel(&self, sel: &[(&str, Pos)]) -> Result<Dataset> {
        self.map_vars(|da| {
            let mine: Vec<(&str, Pos)> = sel
                .iter()
                .filter(|(d, _)| da.dims().iter().any(|e| e == d))
                .cloned()
                .collect();
            Ok(Some(if mine.is_empty() {
                da.clone()
            } else {
                da.isel(&mine)?
            }))
        })
    }

    /// `sel` on every variable that has the dims (others unchanged).
    pub fn sel(&self, sel: &[(&str, Sel)]) -> Result<Dataset> {
        self.map_vars(|da| {
            let mine: Vec<(&str, Sel)> = sel
                .iter()
                .filter(|(d, _)| da.dims().iter().any(|e| e == d))
                .cloned()
                .collect();
            Ok(Some(if mine.is_empty() {
                da.clone()
            } else {
                da.sel(&mine)?
            }))
        })
    }

    /// The mean over `dims` of every variable (variables without all of the
    /// dims are reduced over those they have, like xarray).
    pub fn mean(&self, dims: &[&str]) -> Result<Dataset> {
        self.map_vars(|da| {
            let mine: Vec<&str> = dims
                .iter()
                .copied()
                .filter(|d| da.dims().iter().any(|e| e == d))
                .collect();
            Ok(Some(if mine.is_empty() && !dims.is_empty() {
                da.clone()
            } else {
                da.mean(&mine)?
            }))
        })
    }

    fn repr(&self) -> String {
        let mut s = String::new();
        let sizes: Vec<String> = self
            .sizes()
            .iter()
            .map(|(d, n)| format!("{d}: {n}"))
            .collect();
        let _ = writeln!(s, "<chunkwise.Dataset>");
        let _ = writeln!(s, "Dimensions:  ({})", sizes.join(", "));
        if !self.coords.0.is_empty() {
            let _ = writeln!(s, "Coordinates:");
            for (name, c) in self.coords.iter() {
                let star = if c.dims.len() == 1 && c.dims[0] == name {
                    "*"
                } else {
                    " "
                };
                let _ = writeln!(s, "  {star} {name:<8} ({}) {}", c.dims.join(", "), kind(c));
            }
        }
        let _ = writeln!(s, "Data variables:");
        for (name, v) in &self.vars {
            let _ = writeln!(
                s,
                "    {name:<8} ({}) {} chunked",
                v.dims.join(", "),
                v.data.dtype()
            );
        }
        super::repr::attrs(&mut s, &self.attrs);
        s
    }
}

fn kind(c: &super::Coord) -> &'static str {
    match c.values {
        super::CoordValues::Float(_) => "float64",
        super::CoordValues::Float32(_) => "float32",
        super::CoordValues::Int(_) => "int64",
        super::CoordValues::Text(_) => "<U",
        super::CoordValues::Time(..) => "datetime",
    }
}
