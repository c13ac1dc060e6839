//! The scripting language of `chunkwise run` and `chunkwise explain`: Rhai
//! (<https://rhai.rs>) bound to [`crate::array`] and [`crate::dataset`] with
//! Dask's and xarray's names.
//!
//! ```text
//! let ds = open_mfdataset("data/*.nc");                  // joined along "time"
//! let clim = ds.air.groupby("time.season").mean("time");
//! let d = abs(clim.sel(#{season: "JJA"}) - clim.sel(#{season: "DJF"}));
//! print(d);                         // the summary, and the values when small
//! d.to_netcdf("out.nc");
//! ```
//!
//! # What scripts can use
//!
//! * **Arrays** (dask.array): `zeros ones full arange linspace array`,
//!   `random uniform normal` (with `chunks` and `seed`), `+ - * / **`,
//!   comparisons, `& |`, `abs sqrt exp log sin cos isnan fillna clip where
//!   maximum minimum`, reductions `sum prod mean std variance min max count
//!   any all` and their `nan` forms over `axis` (an integer or an array,
//!   `keepdims`; Rhai reserves the word `var`, so the variance is `variance`),
//!   `argmin argmax`, `t() transpose rechunk reshape astype expand_dims squeeze
//!   matmul concatenate stack`, indexing `x[0]`, `x[2..5]`,
//!   `x[[(), slice(0, (), 2)]]`, properties `shape dtype chunks numblocks`.
//! * **Labelled data** (xarray): `open_dataset open_mfdataset open_zarr`,
//!   variables as `ds["air"]` or `ds.air` (a property that is not a built-in
//!   one is looked up as a variable, and on a `DataArray` as a coordinate),
//!   `isel(#{time: 0})`, `sel(#{season: "JJA"})`, `sel(#{lat: 52.1, method:
//!   "nearest", tolerance: 1.0})`, `sel(#{time: slice("2000-03", "2000-05")})`,
//!   arithmetic aligned by labels, reductions over named dims skipping NaN
//!   (`mean("time")`, `std(["lat", "lon"])`), `groupby("time.season")` with
//!   reductions and arithmetic (anomalies), `resample("time", "MS")`,
//!   `rolling("time", 3)`, `coarsen(#{lat: 2})`, `weighted(w)`, `merge`,
//!   `concat`, `to_netcdf`, `to_zarr`.
//! * **Results**: `compute()` (labels kept) and `values()` give values in
//!   memory; `item()` a number; `persist()` keeps the chunks in the ranks'
//!   memory for later steps; `explain()` the plan as text; `print(x)` shows an
//!   xarray-like summary and, when the result has at most
//!   [`values::SHOWN`] elements, computes and shows the values.
//! * `help()` lists the functions, `help("name")` how to call one;
//!   `settings()` the session's settings. Variables given with `--set
//!   name=value` are defined before the script runs
//!   (`if !is_def_var("n") { ... }` tests for one).
//!
//! Errors name the script, line and column, with the crate's message or what
//! was expected ([`ScriptError`]).
//!
//! In [`Mode::Explain`] nothing is computed, written or printed except the
//! plans: `compute()` gives values that are absent (`item()` is NaN), so a
//! script that branches on computed numbers takes the `false` side there.
//!
//! # Under MPI: every rank evaluates the script (the interim design)
//!
//! DESIGN.md says that rank 0 evaluates a script and broadcasts each plan to
//! the other ranks ([`crate::session::broadcast_plan`] sends one). Until
//! scripts are driven that way, every rank evaluates the same script, as a
//! Rust program using the library does (plain SPMD): scripts are
//! deterministic (the same files, the same random numbers by seed, no access
//! to the rank), so every rank builds the same plans in the same order, and
//! only rank 0 prints. Every computation, persist and write goes through one
//! function, `Runtime::execute` in `src/script/runtime.rs`; moving to rank 0
//! as the only evaluator changes that function (rank 0 sends the job, the
//! other ranks run a loop receiving jobs instead of evaluating the script)
//! and nothing else.
//!
//! Errors reach every rank: a script error is met by every rank alike, a
//! failing computation fails on every rank with the same error (the
//! session's errors are collective), each job starts with a check that no
//! rank has failed (so a rank that fails alone stops the others at their
//! next job instead of leaving them waiting), and at the end the ranks agree
//! on the outcome. Every rank then exits non-zero; the error is printed once
//! (by rank 0, or by the rank that failed alone).

mod bind;
mod convert;
mod error;
mod registry;
mod runtime;
pub mod values;

pub use convert::Slice;
pub use error::ScriptError;
pub use values::Values;

use crate::error::{Error, Result};
use crate::session::Session;
use rhai::{Dynamic, OptimizationLevel, Scope};
use std::io::Write;
use std::path::Path;
use std::rc::Rc;

/// What [`run`] does with the script's work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Compute, print and write (`chunkwise run`).
    Run,
    /// Compute nothing: print the plan of each value the script would
    /// compute, print, persist or write (`chunkwise explain`).
    Explain,
}

/// The value of a `--set name=value` variable.
#[derive(Debug, Clone, PartialEq)]
pub enum SetValue {
    Int(i64),
    Float(f64),
    Bool(bool),
    Str(String),
}

impl SetValue {
    /// An integer, else a float, else `true`/`false`, else a string; a value
    /// in double quotes is always a string.
    pub fn parse(s: &str) -> SetValue {
        if let Some(inner) = s.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
            return SetValue::Str(inner.to_string());
        }
        if let Ok(i) = s.parse::<i64>() {
            return SetValue::Int(i);
        }
        let word = s.trim_start_matches(['+', '-']).to_ascii_lowercase();
        if !matches!(word.as_str(), "inf" | "infinity" | "nan") {
            if let Ok(f) = s.parse::<f64>() {
                return SetValue::Float(f);
            }
        }
        match s {
            "true" => SetValue::Bool(true),
            "false" => SetValue::Bool(false),
            _ => SetValue::Str(s.to_string()),
        }
    }

    fn to_dynamic(&self) -> Dynamic {
        match self {
            SetValue::Int(i) => Dynamic::from(*i),
            SetValue::Float(f) => Dynamic::from(*f),
            SetValue::Bool(b) => Dynamic::from(*b),
            SetValue::Str(s) => Dynamic::from(s.clone()),
        }
    }
}

/// `name=value` from `--set`.
///
/// ```
/// use chunkwise::script::{parse_set, SetValue};
/// assert_eq!(parse_set("n=10").unwrap(), ("n".to_string(), SetValue::Int(10)));
/// assert_eq!(parse_set("path=data/*.nc").unwrap().1, SetValue::Str("data/*.nc".into()));
/// assert!(parse_set("10").is_err());
/// ```
///
/// # Errors
/// [`Error::Plan`] without `=` or with a name that is not an identifier.
pub fn parse_set(arg: &str) -> Result<(String, SetValue)> {
    let Some((name, value)) = arg.split_once('=') else {
        return Err(Error::plan(format!(
            "--set {arg:?}: expected NAME=VALUE (for example --set n=10 or --set path=data.nc)"
        )));
    };
    let name = name.trim();
    let ident = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.chars().any(|c| c.is_ascii_alphanumeric());
    if !ident {
        return Err(Error::plan(format!(
            "--set {arg:?}: `{name}` is not a variable name (letters, digits and _, not \
             starting with a digit)"
        )));
    }
    Ok((name.to_string(), SetValue::parse(value)))
}

/// A script and the name it is known by in messages (its path).
#[derive(Debug, Clone)]
pub struct Script {
    name: String,
    text: String,
    dir: Option<std::path::PathBuf>,
}

impl Script {
    /// A script named `name` (for messages) with source `text`.
    pub fn new(name: &str, text: &str) -> Script {
        Script {
            name: name.to_string(),
            text: text.to_string(),
            dir: None,
        }
    }

    /// The script at `path` (modules it `import`s are found next to it).
    ///
    /// # Errors
    /// [`Error::Io`] naming the file if it cannot be read.
    pub fn read(path: &Path) -> Result<Script> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Io(format!("cannot read script `{shown}`: {e}")))?;
        Ok(Script {
            name: shown,
            text,
            dir: path.parent().map(Path::to_path_buf),
        })
    }

    /// The name used in messages (the path it was read from).
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// Read the script at `path` and [`run`] it. A script that cannot be read is
/// an error like any other (every rank fails, rank 0 prints it).
///
/// # Collective
/// As [`run`].
pub fn run_file(
    path: &Path,
    vars: &[(String, SetValue)],
    mode: Mode,
    session: Rc<Session>,
    out: Box<dyn Write>,
) -> std::result::Result<(), ScriptError> {
    match Script::read(path) {
        Ok(script) => run(&script, vars, mode, session, out),
        Err(e) => {
            let rt = runtime::Runtime::new(session, mode, out);
            rt.finish(Err(ScriptError::new("", e.to_string())))
        }
    }
}

/// Evaluate `script` with the variables `vars` defined, in `mode`, on the
/// ranks of `session`; rank 0 writes the output to `out`.
///
/// # Collective
/// Call on every rank with the same script and variables (see the module
/// documentation). Every rank returns `Ok`, or every rank an error (those
/// that need not print it are [quiet](ScriptError::is_quiet)).
pub fn run(
    script: &Script,
    vars: &[(String, SetValue)],
    mode: Mode,
    session: Rc<Session>,
    out: Box<dyn Write>,
) -> std::result::Result<(), ScriptError> {
    let rt = Rc::new(runtime::Runtime::new(session, mode, out));
    let (mut engine, usages) = bind::engine(&rt);
    engine.set_optimization_level(OptimizationLevel::None);
    if let Some(dir) = &script.dir {
        engine.set_module_resolver(rhai::module_resolvers::FileModuleResolver::new_with_path(
            dir.clone(),
        ));
    }
    let evaluate = || {
        let ast = engine
            .compile(&script.text)
            .map_err(|e| ScriptError::from_eval(&e.into(), &script.name, &script.text, &usages))?;
        let mut scope = Scope::new();
        for (name, value) in vars {
            scope.push_dynamic(name.as_str(), value.to_dynamic());
        }
        engine
            .run_ast_with_scope(&mut scope, &ast)
            .map_err(|e| ScriptError::from_eval(&e, &script.name, &script.text, &usages))
    };
    // A bug that panics still ends in the agreement below, so that the other
    // ranks stop too; the panic hook has reported it.
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(evaluate))
        .unwrap_or_else(|p| Err(ScriptError::new(&script.name, panic_text(&*p)).quietly()));
    rt.finish(result)
}

/// A panic's message, as well as it can be told.
fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    let msg = p
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into());
    format!("internal error (a bug in chunkwise, please report it): {msg}")
}

#[cfg(test)]
mod tests;
