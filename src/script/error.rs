//! Script errors as a user reads them: the script file, line and column, what
//! went wrong (the crate's message with its phase, or what the language
//! expected), and the line of source with a caret; never a panic trace.
//!
//! ```text
//! seasonal.rhai:3:43: plan error: `air` has no dimension `tim` (its dims: ["time", "lat", "lon"])
//!    |
//!  3 | let clim = ds.air.groupby("time.season").mean("tim");
//!    |                                           ^
//! ```

use super::convert::Failure;
use super::registry::Usages;
use crate::error::Error;
use rhai::{EvalAltResult, Position};
use std::fmt;

/// A script that failed.
#[derive(Debug, Clone)]
pub struct ScriptError {
    file: String,
    line: Option<usize>,
    column: Option<usize>,
    message: String,
    /// The line of source with a caret under the column.
    excerpt: Option<String>,
    /// This rank need not print it: another rank prints the same error, or
    /// the rank that failed prints its own.
    quiet: bool,
}

impl ScriptError {
    /// An error about the script as a whole (`file` may be empty).
    pub fn new(file: &str, message: impl Into<String>) -> ScriptError {
        ScriptError {
            file: file.to_string(),
            line: None,
            column: None,
            message: message.into(),
            excerpt: None,
            quiet: false,
        }
    }

    /// The message, without file and position.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The line (from 1) where the script failed, if known.
    pub fn line(&self) -> Option<usize> {
        self.line
    }

    /// The column (from 1) where the script failed, if known.
    pub fn column(&self) -> Option<usize> {
        self.column
    }

    /// True when this rank need not print the error: rank 0 prints an error
    /// every rank met, and a rank that failed alone prints its own, so that
    /// `mpirun -n 64` shows it once. The run still fails on every rank.
    pub fn is_quiet(&self) -> bool {
        self.quiet
    }

    pub(crate) fn quietly(mut self) -> ScriptError {
        self.quiet = true;
        self
    }

    /// Rhai's error about `source` (named `file`), explained with `usages`.
    pub(crate) fn from_eval(
        err: &EvalAltResult,
        file: &str,
        source: &str,
        usages: &Usages,
    ) -> ScriptError {
        let mut notes = Vec::new();
        let (mut message, pos) = describe(err, usages, &mut notes);
        for n in notes {
            message.push_str("\n  ");
            message.push_str(&n);
        }
        ScriptError {
            file: file.to_string(),
            line: pos.line(),
            column: pos.position(),
            excerpt: pos.line().and_then(|l| excerpt(source, l, pos.position())),
            message,
            quiet: false,
        }
    }
}

impl fmt::Display for ScriptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.file.is_empty(), self.line, self.column) {
            (true, _, _) => {}
            (false, Some(l), Some(c)) => write!(f, "{}:{l}:{c}: ", self.file)?,
            (false, Some(l), None) => write!(f, "{}:{l}: ", self.file)?,
            (false, None, _) => write!(f, "{}: ", self.file)?,
        }
        f.write_str(&self.message)?;
        if let Some(e) = &self.excerpt {
            write!(f, "\n{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ScriptError {}

impl From<ScriptError> for Error {
    fn from(e: ScriptError) -> Error {
        Error::Plan(e.to_string())
    }
}

/// The message and position of `err`, adding where it was called from to
/// `notes`; `true` when another rank failed.
fn describe(err: &EvalAltResult, usages: &Usages, notes: &mut Vec<String>) -> (String, Position) {
    use EvalAltResult as E;
    let pos = err.position();
    let msg = match err {
        E::ErrorInModule(name, inner, at) => {
            let (m, p) = describe(inner, usages, notes);
            notes.push(format!("in module `{name}`"));
            return (m, if p.is_none() { *at } else { p });
        }
        E::ErrorInFunctionCall(name, _, inner, at) => {
            let (m, p) = describe(inner, usages, notes);
            let callee = if name.starts_with("anon$") {
                "a closure".to_string()
            } else {
                format!("function `{name}`")
            };
            let line = at
                .line()
                .map(|l| format!(" at line {l}"))
                .unwrap_or_default();
            notes.push(format!("in {callee} called{line}"));
            return (m, if p.is_none() { *at } else { p });
        }
        E::ErrorRuntime(v, _) => match v.read_lock::<Failure>() {
            Some(f) => match &*f {
                Failure::Crate(e) => e.to_string(),
            },
            None => format!("the script threw: {v}"),
        },
        E::ErrorParsing(p, _) => {
            let m = format!("syntax error: {p}");
            if m.contains("'var' is a reserved keyword") {
                // xarray's `var` cannot be a Rhai name.
                m + " (Rhai reserves `var`: call `variance()` for the variance)"
            } else {
                m
            }
        }
        E::ErrorFunctionNotFound(sig, _) => not_found(sig, usages),
        E::ErrorVariableNotFound(name, _) => format!(
            "variable `{name}` is not defined: define it with `let {name} = ...;` or pass \
             `--set {name}=VALUE`"
        ),
        E::ErrorTerminated(..) => "cancelled on request (Ctrl-C, or POST /api/cancel)".to_string(),
        other => {
            let text = other.to_string();
            let at = format!(" ({pos})");
            text.strip_suffix(&at).unwrap_or(&text).to_string()
        }
    };
    (msg, pos)
}

/// A call that matched no function: what exists under that name.
fn not_found(sig: &str, usages: &Usages) -> String {
    let (name, args) = match sig.split_once(" (") {
        Some((n, a)) => (n, a.trim_end_matches(')')),
        None => (sig, ""),
    };
    let args = &pretty_types(args);
    let first = args.split(", ").next().unwrap_or("");
    if let Some(prop) = name.strip_prefix("get$") {
        let props = usages.props(first);
        return if props.is_empty() {
            format!("a {first} has no property `{prop}`")
        } else {
            format!(
                "a {first} has no property `{prop}`; its properties: {}",
                props.join(", ")
            )
        };
    }
    if name.starts_with("set$") || name.starts_with("index$set$") {
        return format!("cannot assign to this part of a {first}");
    }
    if name.starts_with("index$get$") {
        let idx = args.split(", ").nth(1).unwrap_or("?");
        return format!("a {first} cannot be indexed by a {idx}");
    }
    let known = usages.of(name);
    if known.is_empty() {
        let near: Vec<&str> = usages
            .names()
            .filter(|n| {
                let d = edit_distance(n, name);
                d <= 1 || (d <= 2 && name.len() >= 6)
            })
            .collect();
        return if near.is_empty() {
            format!("no function `{name}` (called with {args})")
        } else {
            format!(
                "no function `{name}` (called with {args}); did you mean {}?",
                near.iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(" or ")
            )
        };
    }
    let mut m = format!("`{name}` cannot be called with ({args}); expected:");
    for u in known {
        m.push_str("\n    ");
        m.push_str(&u.replace("NAME", name));
    }
    m
}

/// Rhai's names of argument types as a script writer knows them.
fn pretty_types(args: &str) -> String {
    args.split(", ")
        .map(|t| match t {
            "i64" => "int",
            "f64" => "float",
            "&str | ImmutableString | String" | "ImmutableString" | "String" | "&str" => "string",
            other => other,
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Levenshtein distance, for suggestions.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Line `line` of `source` with a caret under `column`.
fn excerpt(source: &str, line: usize, column: Option<usize>) -> Option<String> {
    let text = source.lines().nth(line.checked_sub(1)?)?;
    let w = line.to_string().len();
    let pad = " ".repeat(w);
    let mut s = format!("{pad} |\n{line} | {}", text.trim_end());
    if let Some(c) = column {
        let lead: String = text
            .chars()
            .take(c.saturating_sub(1))
            .map(|ch| if ch == '\t' { '\t' } else { ' ' })
            .collect();
        s.push_str(&format!("\n{pad} | {lead}^"));
    }
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_point_at_the_column() {
        let src = "let a = 1;\nlet b = a +;\n";
        assert_eq!(
            excerpt(src, 2, Some(12)).unwrap(),
            "  |\n2 | let b = a +;\n  |            ^"
        );
        assert_eq!(excerpt(src, 9, Some(1)), None);
    }

    #[test]
    fn suggestions_are_near_names() {
        assert_eq!(edit_distance("open_mfdatset", "open_mfdataset"), 1);
        assert_eq!(edit_distance("mean", "mean"), 0);
        assert!(edit_distance("zeros", "open_zarr") > 2);
    }
}
