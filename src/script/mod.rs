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
//! # Under MPI: rank 0 evaluates, every rank executes
//!
//! As DESIGN.md says, rank 0 alone reads and evaluates a script (an
//! [`Interpreter`]); the other ranks wait in [`follow`] for the work rank 0
//! sends ([`lead`]): the plan of each computation (sent by the session's
//! lead hook, so that library calls that compute bring every rank along),
//! each `persist` (every rank keeps its own chunks, which later plans name
//! by id), and each write or plot whole. Only rank 0 opens files to plan;
//! the other ranks open what the plans read. Waiting ranks sleep between
//! polls instead of spinning.
//!
//! Errors reach every rank: a script error is rank 0's alone (the others
//! were only waiting), a failing computation fails on every rank with the
//! same error (the session's errors are collective), and at the end rank 0
//! tells the others whether the script failed. Every rank then exits
//! non-zero; rank 0 prints the error once.
//!
//! The same interpreter serves `chunkwise shell` and `chunkwise serve`,
//! where it lives across commands ([`Interpreter::eval`],
//! [`Interpreter::show`]) and a cancel flag stops both the script and its
//! computation on every rank ([`Interpreter::set_cancel`]).

mod bind;
mod convert;
mod error;
pub mod lead;
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
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

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

/// Read the script at `path` and [`run`] it. Rank 0 alone reads it; a
/// script that cannot be read is an error like any other (every rank
/// fails, rank 0 prints it).
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
    if session.comm().rank() != 0 {
        return follow(&session);
    }
    match Script::read(path) {
        Ok(script) => run(&script, vars, mode, session, out),
        Err(e) => {
            Interpreter::new(session, mode, out).finish(Err(ScriptError::new("", e.to_string())))
        }
    }
}

/// Evaluate `script` with the variables `vars` defined, in `mode`, on the
/// ranks of `session`; rank 0 writes the output to `out`.
///
/// # Collective
/// Call on every rank: rank 0 evaluates the script, the others wait for
/// the work it sends ([`follow`]); the arguments matter on rank 0 only.
/// Every rank returns `Ok`, or every rank an error (those that need not
/// print it are [quiet](ScriptError::is_quiet)).
pub fn run(
    script: &Script,
    vars: &[(String, SetValue)],
    mode: Mode,
    session: Rc<Session>,
    out: Box<dyn Write>,
) -> std::result::Result<(), ScriptError> {
    if session.comm().rank() != 0 {
        return follow(&session);
    }
    let mut it = Interpreter::new(session, mode, out);
    if let Some(dir) = &script.dir {
        it.set_dir(dir);
    }
    it.define(vars);
    let result = it.eval(&script.name, &script.text).map(|_| ());
    it.finish(result)
}

/// The ranks other than 0: do the work rank 0 sends until it ends the
/// session (see [`lead`]). A quiet error if rank 0 said it failed.
///
/// # Collective
/// With an [`Interpreter`] on rank 0.
///
/// # Errors
/// As for [`run`].
pub fn follow(session: &Session) -> std::result::Result<(), ScriptError> {
    match lead::follow(session) {
        Ok(false) => Ok(()),
        Ok(true) => Err(ScriptError::new("", "rank 0 failed").quietly()),
        Err(e) => Err(ScriptError::new("", e.to_string())),
    }
}

/// The most elements [`Interpreter::result_json`] returns.
pub const RESULT_MAX: usize = 1_000_000;

/// Rank 0's interpreter: a Rhai engine bound to the session, and the
/// variables of everything evaluated so far (a shell's or a served
/// session's state). While it lives, every computation of the session is
/// sent to the other ranks (the session's lead hook); [`finish`](Self::finish)
/// (or dropping it) ends their [`follow`] loop.
pub struct Interpreter {
    rt: Rc<runtime::Runtime>,
    engine: rhai::Engine,
    usages: registry::Usages,
    scope: Scope<'static>,
    finished: bool,
}

impl Interpreter {
    /// An interpreter on rank 0 of `session`, printing to `out`.
    pub fn new(session: Rc<Session>, mode: Mode, out: Box<dyn Write>) -> Interpreter {
        if session.comm().size() > 1 {
            session.set_lead(Some(Rc::new(
                |s: &Session, e: &crate::expr::Expr, gather| lead::send_compute(s, e, gather),
            )));
        }
        let rt = Rc::new(runtime::Runtime::new(session, mode, out));
        let (mut engine, usages) = bind::engine(&rt);
        engine.set_optimization_level(OptimizationLevel::None);
        Interpreter {
            rt,
            engine,
            usages,
            scope: Scope::new(),
            finished: false,
        }
    }

    /// Find modules a script `import`s in `dir`.
    pub fn set_dir(&mut self, dir: &Path) {
        self.engine
            .set_module_resolver(rhai::module_resolvers::FileModuleResolver::new_with_path(
                dir.to_path_buf(),
            ));
    }

    /// Define `vars` (`--set name=value`).
    pub fn define(&mut self, vars: &[(String, SetValue)]) {
        for (name, value) in vars {
            self.scope.push_dynamic(name.as_str(), value.to_dynamic());
        }
    }

    /// Stop evaluating (and computing) when `flag` is set: the script fails
    /// with "cancelled" at its next step, a computation at its next wave on
    /// every rank.
    pub fn set_cancel(&mut self, flag: Arc<AtomicBool>) {
        self.rt.session().set_cancel(Some(flag.clone()));
        self.engine.on_progress(move |_| {
            flag.load(Ordering::Relaxed)
                .then(|| Dynamic::from("cancelled".to_string()))
        });
    }

    /// Where printed output goes from now on; the previous writer.
    pub fn set_output(&self, out: Box<dyn Write>) -> Box<dyn Write> {
        self.rt.set_output(out)
    }

    /// The session.
    pub fn session(&self) -> &Session {
        self.rt.session()
    }

    /// Evaluate `code` (named `name` in messages) with the variables defined
    /// so far; the value of its last expression.
    ///
    /// # Errors
    /// The script's error, with its line and what was expected.
    pub fn eval(&mut self, name: &str, code: &str) -> std::result::Result<Dynamic, ScriptError> {
        let (engine, usages, scope) = (&self.engine, &self.usages, &mut self.scope);
        let evaluate = || {
            let ast = engine
                .compile(code)
                .map_err(|e| ScriptError::from_eval(&e.into(), name, code, usages))?;
            engine
                .eval_ast_with_scope::<Dynamic>(scope, &ast)
                .map_err(|e| ScriptError::from_eval(&e, name, code, usages))
        };
        // A bug that panics is this command's error; the session goes on.
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(evaluate))
            .unwrap_or_else(|p| Err(ScriptError::new(name, panic_text(&*p))))
    }

    /// How a shell shows `value`, the value of a command: what `print`
    /// shows (with the values of a small result); `None` for `()`.
    ///
    /// # Errors
    /// Computing the values failed.
    pub fn show(&mut self, value: Dynamic) -> std::result::Result<Option<String>, ScriptError> {
        if value.is_unit() {
            return Ok(None);
        }
        let shown = Rc::new(std::cell::RefCell::new(Vec::new()));
        let previous = self.rt.set_output(Box::new(Shared(shown.clone())));
        self.scope.push_dynamic("__shown__", value);
        let result = self.eval("(value)", "print(__shown__)");
        let _ = self.scope.remove::<Dynamic>("__shown__");
        self.rt.set_output(previous);
        let _ = result?;
        let text = String::from_utf8_lossy(&shown.borrow())
            .trim_end()
            .to_string();
        Ok(Some(text))
    }

    /// `value` as JSON, when it is a number, a string, a boolean or computed
    /// values (`x.compute()`, `x.values()`, up to [`RESULT_MAX`] elements):
    /// `{"dtype", "shape", "dims"?, "values"}` with the values flat in C
    /// order, NaN as `null`. `None` for anything else (a lazy array: compute
    /// it to fetch its values).
    pub fn result_json(value: &Dynamic) -> Option<serde_json::Value> {
        use serde_json::{json, Value};
        let num = |f: f64| {
            serde_json::Number::from_f64(f)
                .map(Value::Number)
                .unwrap_or(Value::Null)
        };
        if let Ok(i) = value.as_int() {
            return Some(json!(i));
        }
        if let Ok(f) = value.as_float() {
            return Some(num(f));
        }
        if let Ok(b) = value.as_bool() {
            return Some(json!(b));
        }
        if value.is_string() {
            return Some(json!(value.clone().into_string().ok()?));
        }
        let v = value.clone().try_cast::<Values>()?;
        let data = v.data.as_ref()?;
        if v.size() > RESULT_MAX {
            return None;
        }
        let values: Vec<Value> = data.to_f64().iter().map(|&f| num(f)).collect();
        let mut out = json!({
            "dtype": v.dtype.to_string(),
            "shape": v.shape,
            "values": values,
        });
        if let Some(da) = &v.labels {
            out["dims"] = json!(da.dims());
        }
        Some(out)
    }

    /// Every rank's host, memory and tasks run.
    ///
    /// # Errors
    /// A communication failure.
    pub fn report(&self) -> Result<Vec<lead::RankReport>> {
        lead::report(self.rt.session())
    }

    /// End the session for the other ranks with `result`, which is
    /// returned (an error also ends the other ranks with an error).
    pub fn finish(
        mut self,
        result: std::result::Result<(), ScriptError>,
    ) -> std::result::Result<(), ScriptError> {
        self.finished = true;
        let session = self.rt.session();
        session.set_lead(None);
        session.set_cancel(None);
        match lead::end(session, result.is_err()) {
            Ok(()) => result,
            Err(e) => result.and(Err(ScriptError::new("", e.to_string()))),
        }
    }
}

impl Drop for Interpreter {
    fn drop(&mut self) {
        if !self.finished {
            let session = self.rt.session();
            session.set_lead(None);
            session.set_cancel(None);
            let _ = lead::end(session, true);
        }
    }
}

/// A writer into shared bytes (to capture what `print` shows).
struct Shared(Rc<std::cell::RefCell<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
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
