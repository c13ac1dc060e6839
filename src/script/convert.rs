//! Script values to the crate's arguments: shapes, chunks, axes, dimension
//! names, labels, positions and option maps, each with a message that says
//! what was expected.

use crate::array::{Axes, Idx, Scalar};
use crate::dataset::{Label, Pos, Sel};
use crate::error::{Error, Result};
use crate::meta::{ChunkSpec, DType, DimChunks};
use rhai::{Dynamic, EvalAltResult, Map, Position, FLOAT, INT};
use std::ops::{Range, RangeInclusive};

/// What a bound function returns to the script.
pub(crate) type Res<T> = std::result::Result<T, Box<EvalAltResult>>;

/// Why a bound function failed: carried inside Rhai's runtime error so the
/// script's error report can show the crate's message and its phase.
#[derive(Debug, Clone)]
pub(crate) enum Failure {
    /// The crate's error (a plan, I/O or computation error).
    Crate(Error),
}

/// A crate error as a script error (Rhai fills in the call's position).
pub(crate) fn fail(e: Error) -> Box<EvalAltResult> {
    EvalAltResult::ErrorRuntime(Dynamic::from(Failure::Crate(e)), Position::NONE).into()
}

/// A plan error with `msg`, as a script error.
pub(crate) fn bad<T>(msg: impl std::fmt::Display) -> Res<T> {
    Err(fail(Error::plan(msg)))
}

/// `?` for the crate's results inside bound functions.
pub(crate) trait OrFail<T> {
    fn or_fail(self) -> Res<T>;
}

impl<T> OrFail<T> for Result<T> {
    fn or_fail(self) -> Res<T> {
        self.map_err(fail)
    }
}

/// `slice(start, stop, step)`: positions for `isel` and indexing, or labels
/// for `sel` (both ends included, as in xarray); `()` leaves an end open.
#[derive(Debug, Clone)]
pub struct Slice {
    pub(crate) start: Dynamic,
    pub(crate) stop: Dynamic,
    pub(crate) step: Option<INT>,
}

impl std::fmt::Display for Slice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let end = |d: &Dynamic| {
            if d.is_unit() {
                "()".to_string()
            } else {
                d.to_string()
            }
        };
        write!(f, "slice({}, {}", end(&self.start), end(&self.stop))?;
        if let Some(s) = self.step {
            write!(f, ", {s}")?;
        }
        write!(f, ")")
    }
}

/// A Rhai type name for messages (`int`, `float`, `string`, `array`, `map`, ...).
pub(crate) fn kind(v: &Dynamic) -> String {
    let n = v.type_name();
    match n {
        "i64" => "int".into(),
        "f64" => "float".into(),
        "()" => "()".into(),
        _ => n.rsplit("::").next().unwrap_or(n).to_string(),
    }
}

fn int(v: &Dynamic) -> Option<INT> {
    v.as_int().ok()
}

/// A length or count (non-negative integer).
pub(crate) fn count(v: INT, what: &str) -> Res<usize> {
    usize::try_from(v).or_else(|_| bad(format!("{what} must be >= 0, got {v}")))
}

/// A shape: an integer or an array of integers.
pub(crate) fn shape(v: &Dynamic, what: &str) -> Res<Vec<usize>> {
    if let Some(n) = int(v) {
        return Ok(vec![count(n, &format!("{what}: a length"))?]);
    }
    if let Some(a) = v.read_lock::<rhai::Array>() {
        return a
            .iter()
            .map(|d| match int(d) {
                Some(n) => count(n, &format!("{what}: a length")),
                None => bad(format!(
                    "{what}: the shape holds a {}; expected integers like [100, 200]",
                    kind(d)
                )),
            })
            .collect();
    }
    bad(format!(
        "{what}: the shape is a {}; expected an integer or an array of integers like [100, 200]",
        kind(v)
    ))
}

/// One dimension's chunks: a size, `-1` (whole), `"auto"`, or explicit sizes.
fn dim_chunks(v: &Dynamic, what: &str) -> Res<DimChunks> {
    if let Some(n) = int(v) {
        return match n {
            -1 => Ok(DimChunks::Full),
            n if n > 0 => Ok(DimChunks::Size(n as usize)),
            n => bad(format!(
                "{what}: a chunk size must be positive (or -1 for the whole dimension), got {n}"
            )),
        };
    }
    if v.is_unit() {
        return Ok(DimChunks::Full);
    }
    if let Some(s) = v.read_lock::<rhai::ImmutableString>() {
        if s.as_str() == "auto" {
            return Ok(DimChunks::Auto);
        }
        return bad(format!("{what}: chunks {s:?}; expected \"auto\""));
    }
    if let Some(a) = v.read_lock::<rhai::Array>() {
        let sizes = a
            .iter()
            .map(|d| match int(d) {
                Some(n) if n > 0 => Ok(n as usize),
                _ => bad(format!(
                    "{what}: explicit chunk sizes must be positive integers, got {d}"
                )),
            })
            .collect::<Res<Vec<_>>>()?;
        return Ok(DimChunks::Explicit(sizes));
    }
    bad(format!(
        "{what}: a dimension's chunks is a {}; expected a size, -1, \"auto\" or an array of sizes",
        kind(v)
    ))
}

/// Dask's `chunks=`: an integer (every dimension), `-1`, `"auto"` or `()`
/// (automatic), or one entry per dimension.
pub(crate) fn chunk_spec(v: &Dynamic, ndim: usize, what: &str) -> Res<ChunkSpec> {
    if v.is_unit() {
        return Ok(ChunkSpec::default());
    }
    if let Some(n) = int(v) {
        return match n {
            -1 => Ok(ChunkSpec::PerDim(vec![DimChunks::Full; ndim])),
            n if n > 0 => Ok(ChunkSpec::Uniform(n as usize)),
            n => bad(format!(
                "{what}: chunks must be positive (or -1 for whole dimensions), got {n}"
            )),
        };
    }
    if let Some(s) = v.read_lock::<rhai::ImmutableString>() {
        if s.as_str() == "auto" {
            return Ok(ChunkSpec::default());
        }
        return bad(format!("{what}: chunks {s:?}; expected \"auto\""));
    }
    if let Some(a) = v.read_lock::<rhai::Array>() {
        return Ok(ChunkSpec::PerDim(
            a.iter()
                .map(|d| dim_chunks(d, what))
                .collect::<Res<Vec<_>>>()?,
        ));
    }
    bad(format!(
        "{what}: chunks is a {}; expected an integer, -1, \"auto\" or an array with one entry \
         per dimension",
        kind(v)
    ))
}

/// Chunks along named dims (`#{time: 31}`) over `dims` whose current chunks
/// are `current`; dims not named keep theirs.
pub(crate) fn named_chunks(
    m: &Map,
    dims: &[String],
    current: &[Vec<usize>],
    what: &str,
) -> Res<ChunkSpec> {
    for k in m.keys() {
        if !dims.iter().any(|d| d == k.as_str()) {
            return bad(format!("{what}: no dimension `{k}` (the dims: {dims:?})"));
        }
    }
    let per = dims
        .iter()
        .zip(current)
        .map(|(d, cur)| match m.get(d.as_str()) {
            Some(v) => dim_chunks(v, what),
            None => Ok(DimChunks::Explicit(cur.clone())),
        })
        .collect::<Res<Vec<_>>>()?;
    Ok(ChunkSpec::PerDim(per))
}

/// Axes to reduce: `()` (all), an integer or an array of integers.
pub(crate) fn axes(v: &Dynamic, what: &str) -> Res<Axes> {
    if v.is_unit() {
        return Ok(Axes::All);
    }
    if let Some(n) = int(v) {
        return Ok(Axes::Some(vec![n as isize]));
    }
    if let Some(a) = v.read_lock::<rhai::Array>() {
        return Ok(Axes::Some(
            a.iter()
                .map(|d| match int(d) {
                    Some(n) => Ok(n as isize),
                    None => bad(format!(
                        "{what}: an axis is a {}; expected integers",
                        kind(d)
                    )),
                })
                .collect::<Res<Vec<_>>>()?,
        ));
    }
    bad(format!(
        "{what}: axis is a {}; expected an integer, an array of integers, or () for all",
        kind(v)
    ))
}

/// Dimension names: `()` (all), a string or an array of strings.
pub(crate) fn dims(v: &Dynamic, what: &str) -> Res<Vec<String>> {
    if v.is_unit() {
        return Ok(Vec::new());
    }
    if let Some(s) = v.read_lock::<rhai::ImmutableString>() {
        return Ok(vec![s.to_string()]);
    }
    if let Some(a) = v.read_lock::<rhai::Array>() {
        return a
            .iter()
            .map(|d| match d.read_lock::<rhai::ImmutableString>() {
                Some(s) => Ok(s.to_string()),
                None => bad(format!(
                    "{what}: a dimension name is a {}; expected strings like \"time\"",
                    kind(d)
                )),
            })
            .collect();
    }
    bad(format!(
        "{what}: dims is a {}; expected a name like \"time\", an array of names, or () for all",
        kind(v)
    ))
}

/// `&[&str]` views of names.
pub(crate) fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// A number or `true`/`false` as a scalar operand.
pub(crate) fn scalar(v: &Dynamic) -> Option<Scalar> {
    if let Ok(i) = v.as_int() {
        return Some(Scalar::Int(i));
    }
    if let Ok(f) = v.as_float() {
        return Some(Scalar::Float(f));
    }
    v.as_bool().ok().map(Scalar::Bool)
}

/// A number (integer or float) as `f64`.
pub(crate) fn number(v: &Dynamic, what: &str) -> Res<FLOAT> {
    if let Ok(i) = v.as_int() {
        return Ok(i as FLOAT);
    }
    if let Ok(f) = v.as_float() {
        return Ok(f);
    }
    bad(format!("{what} is a {}; expected a number", kind(v)))
}

/// A dtype name (`"float32"`, `"int64"`, `"bool"`, ...).
pub(crate) fn dtype(s: &str) -> Res<DType> {
    DType::parse(s).map_or_else(
        || {
            bad(format!(
                "unknown dtype {s:?}: use float64, float32, int64, int32 or bool"
            ))
        },
        Ok,
    )
}

/// A label for `sel`: a string (text, or a date or period on a time
/// coordinate) or a number.
fn label(v: &Dynamic, what: &str) -> Res<Label> {
    if let Some(s) = v.read_lock::<rhai::ImmutableString>() {
        return Ok(Label::Text(s.to_string()));
    }
    Ok(Label::Num(number(v, what).or_else(|_| {
        bad(format!(
            "{what}: a label is a {}; expected a number, a string (a date like \"2000-03\") \
             or slice(lo, hi)",
            kind(v)
        ))
    })?))
}

fn opt_label(v: &Dynamic, what: &str) -> Res<Option<Label>> {
    if v.is_unit() {
        Ok(None)
    } else {
        label(v, what).map(Some)
    }
}

/// `sel`'s map: labels or `slice(lo, hi)` by dimension, plus xarray's keywords
/// `method` (`"nearest"`) and `tolerance`.
pub(crate) fn selection(m: &Map) -> Res<Vec<(String, Sel)>> {
    let method = match m.get("method") {
        None => None,
        Some(v) => match v.read_lock::<rhai::ImmutableString>() {
            Some(s) if s.as_str() == "nearest" => Some("nearest"),
            _ => return bad(format!("sel: method {v}; the only method is \"nearest\"")),
        },
    };
    let tolerance = match m.get("tolerance") {
        None => None,
        Some(v) if method.is_some() => Some(number(v, "sel: tolerance")?),
        Some(_) => return bad("sel: tolerance needs method: \"nearest\""),
    };
    let mut out = Vec::new();
    for (k, v) in m {
        if k.as_str() == "method" || k.as_str() == "tolerance" {
            continue;
        }
        let what = format!("sel({k})");
        let s = if let Some(sl) = v.read_lock::<Slice>() {
            if sl.step.is_some() {
                return bad(format!("{what}: a label slice has no step"));
            }
            Sel::Slice(opt_label(&sl.start, &what)?, opt_label(&sl.stop, &what)?)
        } else if method.is_some() {
            Sel::Nearest {
                label: label(v, &what)?,
                tolerance,
            }
        } else {
            Sel::Label(label(v, &what)?)
        };
        out.push((k.to_string(), s));
    }
    Ok(out)
}

fn opt_int(v: &Dynamic, what: &str) -> Res<Option<isize>> {
    if v.is_unit() {
        return Ok(None);
    }
    match int(v) {
        Some(i) => Ok(Some(i as isize)),
        None => bad(format!(
            "{what}: a position is a {}; expected an integer or ()",
            kind(v)
        )),
    }
}

/// A position along one axis: an integer, a range `a..b` or `a..=b`, or
/// `slice(start, stop, step)`.
fn position(v: &Dynamic, what: &str) -> Res<Pos> {
    if let Some(i) = int(v) {
        return Ok(Pos::At(i as isize));
    }
    if let Some(r) = v.read_lock::<Range<INT>>() {
        return Ok(Pos::Range {
            start: Some(r.start as isize),
            stop: Some(r.end as isize),
            step: 1,
        });
    }
    if let Some(r) = v.read_lock::<RangeInclusive<INT>>() {
        return Ok(Pos::Range {
            start: Some(*r.start() as isize),
            stop: Some(*r.end() as isize + 1),
            step: 1,
        });
    }
    if let Some(s) = v.read_lock::<Slice>() {
        let step = s.step.unwrap_or(1) as isize;
        if step == 0 {
            return bad(format!("{what}: slice step cannot be zero"));
        }
        return Ok(Pos::Range {
            start: opt_int(&s.start, what)?,
            stop: opt_int(&s.stop, what)?,
            step,
        });
    }
    bad(format!(
        "{what}: a position is a {}; expected an integer, a range like 0..10, or \
         slice(start, stop, step)",
        kind(v)
    ))
}

/// `isel`'s map: positions by dimension.
pub(crate) fn positions(m: &Map) -> Res<Vec<(String, Pos)>> {
    m.iter()
        .map(|(k, v)| Ok((k.to_string(), position(v, &format!("isel({k})"))?)))
        .collect()
}

/// `&[(&str, T)]` views of named entries.
pub(crate) fn named<T: Clone>(v: &[(String, T)]) -> Vec<(&str, T)> {
    v.iter().map(|(k, t)| (k.as_str(), t.clone())).collect()
}

/// NumPy indexing of an array: one entry, or an array of entries (one per
/// axis, `()` for a whole axis).
pub(crate) fn index(v: &Dynamic) -> Res<Vec<Idx>> {
    let one = |d: &Dynamic| -> Res<Idx> {
        if d.is_unit() {
            return Ok(Idx::ALL);
        }
        Ok(match position(d, "index")? {
            Pos::At(i) => Idx::Int(i),
            Pos::Range { start, stop, step } => Idx::slice(start, stop, step),
        })
    };
    if let Some(a) = v.read_lock::<rhai::Array>() {
        return a.iter().map(one).collect();
    }
    Ok(vec![one(v)?])
}

/// Named options (`#{chunks: 10, seed: 1}`): each key must be one of `known`.
pub(crate) struct Options<'a> {
    map: &'a Map,
    what: &'a str,
}

impl<'a> Options<'a> {
    pub(crate) fn new(map: &'a Map, what: &'a str, known: &[&str]) -> Res<Options<'a>> {
        for k in map.keys() {
            if !known.contains(&k.as_str()) {
                return bad(format!(
                    "{what}: unknown option `{k}`; the options are: {}",
                    known.join(", ")
                ));
            }
        }
        Ok(Options { map, what })
    }

    pub(crate) fn get(&self, key: &str) -> Option<&'a Dynamic> {
        self.map.get(key)
    }

    pub(crate) fn int(&self, key: &str) -> Res<Option<INT>> {
        match self.map.get(key) {
            None => Ok(None),
            Some(v) => match int(v) {
                Some(i) => Ok(Some(i)),
                None => bad(format!(
                    "{}: option `{key}` is a {}; expected an integer",
                    self.what,
                    kind(v)
                )),
            },
        }
    }

    pub(crate) fn bool(&self, key: &str) -> Res<Option<bool>> {
        match self.map.get(key) {
            None => Ok(None),
            Some(v) => match v.as_bool() {
                Ok(b) => Ok(Some(b)),
                Err(_) => bad(format!(
                    "{}: option `{key}` is a {}; expected true or false",
                    self.what,
                    kind(v)
                )),
            },
        }
    }

    pub(crate) fn string(&self, key: &str) -> Res<Option<String>> {
        match self.map.get(key) {
            None => Ok(None),
            Some(v) => match v.read_lock::<rhai::ImmutableString>() {
                Some(s) => Ok(Some(s.to_string())),
                None => bad(format!(
                    "{}: option `{key}` is a {}; expected a string",
                    self.what,
                    kind(v)
                )),
            },
        }
    }

    /// A string option parsed with `FromStr` (`join: "outer"`).
    pub(crate) fn parsed<T: std::str::FromStr<Err = Error>>(&self, key: &str) -> Res<Option<T>> {
        match self.string(key)? {
            None => Ok(None),
            Some(s) => s
                .parse::<T>()
                .map(Some)
                .map_err(|e| fail(e.with_message(format!("{}: {}", self.what, e.message())))),
        }
    }

    /// Named sizes (`chunks: #{time: 31}`).
    pub(crate) fn sizes(&self, key: &str) -> Res<Option<Vec<(String, usize)>>> {
        match self.map.get(key) {
            None => Ok(None),
            Some(v) => match v.read_lock::<Map>() {
                Some(m) => m
                    .iter()
                    .map(|(k, n)| match int(n) {
                        Some(n) if n > 0 => Ok((k.to_string(), n as usize)),
                        _ => bad(format!(
                            "{}: `{key}.{k}` must be a positive integer, got {n}",
                            self.what
                        )),
                    })
                    .collect::<Res<Vec<_>>>()
                    .map(Some),
                None => bad(format!(
                    "{}: option `{key}` is a {}; expected a map of sizes by dimension like \
                     #{{time: 31}}",
                    self.what,
                    kind(v)
                )),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dy<T: Clone + 'static>(v: T) -> Dynamic {
        Dynamic::from(v)
    }

    #[test]
    fn shapes_chunks_and_axes_follow_dask() {
        let arr: rhai::Array = vec![dy(3 as INT), dy(4 as INT)];
        assert_eq!(shape(&dy(arr.clone()), "t").unwrap(), vec![3, 4]);
        assert_eq!(shape(&dy(5 as INT), "t").unwrap(), vec![5]);
        assert!(shape(&dy(-1 as INT), "t").is_err());
        assert_eq!(
            chunk_spec(&dy(-1 as INT), 2, "t").unwrap(),
            ChunkSpec::PerDim(vec![DimChunks::Full; 2])
        );
        assert_eq!(
            chunk_spec(&dy(arr), 2, "t").unwrap(),
            ChunkSpec::from([3usize, 4])
        );
        assert_eq!(
            chunk_spec(&Dynamic::from("auto"), 2, "t").unwrap(),
            ChunkSpec::default()
        );
        assert!(chunk_spec(&dy(0 as INT), 2, "t").is_err());
        assert_eq!(axes(&Dynamic::UNIT, "t").unwrap(), Axes::All);
        assert_eq!(axes(&dy(-1 as INT), "t").unwrap(), Axes::Some(vec![-1]));
    }

    #[test]
    fn selections_take_labels_slices_and_nearest() {
        let mut m = Map::new();
        m.insert("season".into(), Dynamic::from("JJA"));
        m.insert(
            "lat".into(),
            dy(Slice {
                start: dy(60 as INT),
                stop: Dynamic::UNIT,
                step: None,
            }),
        );
        let s = selection(&m).unwrap();
        assert!(s.contains(&("season".into(), Sel::Label(Label::Text("JJA".into())))));
        assert!(s.contains(&("lat".into(), Sel::Slice(Some(Label::Num(60.0)), None))));
        let mut m = Map::new();
        m.insert("lat".into(), dy(52.1 as FLOAT));
        m.insert("method".into(), Dynamic::from("nearest"));
        m.insert("tolerance".into(), dy(1 as INT));
        assert_eq!(
            selection(&m).unwrap(),
            vec![(
                "lat".into(),
                Sel::Nearest {
                    label: Label::Num(52.1),
                    tolerance: Some(1.0)
                }
            )]
        );
        let mut m = Map::new();
        m.insert("time".into(), dy(0..3 as INT));
        m.insert("lat".into(), dy(-1 as INT));
        let p = positions(&m).unwrap();
        assert!(p.contains(&("time".into(), Pos::range(0, 3))));
        assert!(p.contains(&("lat".into(), Pos::At(-1))));
    }
}
