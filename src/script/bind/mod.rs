//! The Rhai engine with the crate's types and functions registered.

mod array;
mod dataset;
mod labelled;

use super::convert::{bad, OrFail, Res};
use super::registry::{Binder, Usages};
use super::runtime::{Job, Outcome, Runtime, Site};
use super::values::{self, Values};
use crate::array::Array;
use crate::dataset::DataArray;
use crate::kernel::Chunk;
use rhai::{Dynamic, Engine, NativeCallContext, FLOAT, INT};
use std::rc::Rc;

/// The runtime shared by the bindings.
pub(crate) type Rt = Rc<Runtime>;

/// An engine bound to the array and dataset API, and how its functions are
/// called.
pub(crate) fn engine(rt: &Rt) -> (Engine, Usages) {
    let mut engine = Engine::new();
    engine
        .register_type_with_name::<Array>("Array")
        .register_type_with_name::<DataArray>("DataArray")
        .register_type_with_name::<crate::dataset::Dataset>("Dataset")
        .register_type_with_name::<crate::dataset::GroupBy>("GroupBy")
        .register_type_with_name::<dataset::DatasetGroupBy>("DatasetGroupBy")
        .register_type_with_name::<crate::dataset::Rolling>("Rolling")
        .register_type_with_name::<crate::dataset::Coarsen>("Coarsen")
        .register_type_with_name::<crate::dataset::Weighted>("Weighted")
        .register_type_with_name::<Values>("Values")
        .register_type_with_name::<super::Slice>("Slice");
    let mut usages = Usages::default();
    {
        let mut b = Binder {
            engine: &mut engine,
            usages: &mut usages,
        };
        array::bind(&mut b, rt);
        labelled::bind(&mut b, rt);
        dataset::bind(&mut b, rt);
        bind_values(&mut b);
        bind_session(&mut b, rt);
    }
    let r = rt.clone();
    engine.on_print(move |s| r.print(s));
    let r = rt.clone();
    engine.on_debug(move |s, _, pos| r.debug(s, pos));
    // `help` lists what was registered above.
    let all = usages.clone();
    let r = rt.clone();
    engine.register_fn("help", move || r.print(&help(&all, None)));
    let all = usages.clone();
    let r = rt.clone();
    engine.register_fn("help", move |name: &str| r.print(&help(&all, Some(name))));
    (engine, usages)
}

/// `help()`: every function; `help("name")`: how to call `name`.
fn help(u: &Usages, name: Option<&str>) -> String {
    match name {
        Some(n) if u.of(n).is_empty() => format!("no function `{n}`; help() lists them"),
        Some(n) => u
            .of(n)
            .iter()
            .map(|s| s.replace("NAME", n))
            .collect::<Vec<_>>()
            .join("\n"),
        None => {
            let names: Vec<&str> = u
                .names()
                .filter(|n| n.chars().next().is_some_and(|c| c.is_alphabetic()))
                .filter(|n| !u.of(n).is_empty())
                .collect();
            let mut s = String::from("functions (help(\"name\") shows how to call one):\n");
            let mut line = String::from(" ");
            for n in names {
                if line.len() + n.len() > 78 {
                    s.push_str(&line);
                    s.push('\n');
                    line = String::from(" ");
                }
                line.push(' ');
                line.push_str(n);
            }
            s.push_str(&line);
            s
        }
    }
}

/// Compute `a` for the script (through the runtime's one place for work);
/// `labels` go with the values.
pub(super) fn compute(
    rt: &Runtime,
    ctx: &NativeCallContext,
    a: &Array,
    labels: Option<DataArray>,
) -> Res<Values> {
    let subject = match &labels {
        Some(da) => first_line(&format!("{da:?}")),
        None => format!("{a:?}"),
    };
    match rt.execute(Job::Compute(a), &Site::of(ctx), &subject)? {
        Outcome::Computed(c) => Ok(Values::new(c, a.shape(), a.dtype(), labels)),
        _ => bad("compute: no values came back"),
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").to_string()
}

/// What `print` shows of a lazy value: its `summary` and, when it has at
/// most [`values::SHOWN`] elements, its values (computed now).
pub(super) fn lazy_text(
    rt: &Runtime,
    ctx: &NativeCallContext,
    a: &Array,
    summary: String,
) -> Res<String> {
    a.check().or_fail()?;
    if a.size() > values::SHOWN {
        return Ok(summary);
    }
    let subject = first_line(&summary);
    match rt.execute(Job::Compute(a), &Site::of(ctx), &subject)? {
        Outcome::Computed(Some(c)) => {
            Ok(values::with_values(&summary, Some(&values::repr(&c)), true))
        }
        _ => Ok(summary),
    }
}

/// The one element of `v` as a number or bool.
pub(super) fn item(v: &Values) -> Res<Dynamic> {
    let Some(c) = &v.data else {
        // Explain mode: nothing was computed.
        return Ok(Dynamic::from(FLOAT::NAN));
    };
    if c.len() != 1 {
        return bad(format!(
            "item: the array has {} elements (shape {:?}); item() needs exactly one",
            c.len(),
            c.shape()
        ));
    }
    Ok(element(c, 0))
}

/// Element `i` (C order) of `c`.
fn element(c: &Chunk, i: usize) -> Dynamic {
    match c {
        Chunk::F64(a) => Dynamic::from(a.iter().nth(i).copied().unwrap_or(f64::NAN)),
        Chunk::F32(a) => Dynamic::from(a.iter().nth(i).map_or(f64::NAN, |&v| f64::from(v))),
        Chunk::I64(a) => Dynamic::from(a.iter().nth(i).copied().unwrap_or(0)),
        Chunk::I32(a) => Dynamic::from(a.iter().nth(i).map_or(0, |&v| INT::from(v))),
        Chunk::Bool(a) => Dynamic::from(a.iter().nth(i).copied().unwrap_or(false)),
    }
}

/// `c` as nested Rhai arrays.
fn to_list(c: &Chunk) -> Dynamic {
    fn nest(c: &Chunk, shape: &[usize], offset: usize) -> Dynamic {
        match shape.split_first() {
            None => element(c, offset),
            Some((&n, inner)) => {
                let stride: usize = inner.iter().product();
                Dynamic::from(
                    (0..n)
                        .map(|i| nest(c, inner, offset + i * stride))
                        .collect::<rhai::Array>(),
                )
            }
        }
    }
    nest(c, c.shape(), 0)
}

fn ints(v: &[usize]) -> rhai::Array {
    v.iter().map(|&n| Dynamic::from(n as INT)).collect()
}

fn bind_values(b: &mut Binder<'_>) {
    b.func("print", "", |v: Values| v.render())
        .func("to_string", "", |v: &mut Values| v.render())
        .func("to_debug", "", |v: &mut Values| v.render())
        .func("item", "", |v: &mut Values| item(v))
        .func("compute", "", |v: &mut Values| v.clone())
        .func("values", "", |v: &mut Values| Values {
            labels: None,
            ..v.clone()
        })
        .func(
            "to_list",
            "v.to_list()  (computed values as nested arrays)",
            |v: &mut Values| v.data.as_ref().map(to_list).unwrap_or(Dynamic::UNIT),
        )
        .func("len", "", |v: &mut Values| {
            v.shape.first().copied().unwrap_or(0) as INT
        });
    b.prop("Values", "shape", |v: &mut Values| ints(&v.shape))
        .prop("Values", "ndim", |v: &mut Values| v.shape.len() as INT)
        .prop("Values", "size", |v: &mut Values| v.size() as INT)
        .prop("Values", "dtype", |v: &mut Values| {
            v.dtype.name().to_string()
        });
    b.engine
        .register_indexer_get(|v: &mut Values, i: INT| -> Res<Dynamic> {
            let Some((&n, inner)) = v.shape.split_first() else {
                return bad("a 0-d value cannot be indexed; use item()");
            };
            let k = if i < 0 { i + n as INT } else { i };
            if k < 0 || k >= n as INT {
                return bad(format!("index {i} is out of bounds for length {n}"));
            }
            let k = k as usize;
            let Some(c) = &v.data else {
                return Ok(Dynamic::from(FLOAT::NAN));
            };
            if inner.is_empty() {
                return Ok(element(c, k));
            }
            let sub = crate::with_chunk!(c, a, T => {
                let s = a.index_axis(ndarray::Axis(0), k).to_owned();
                <T as crate::kernel::Element>::wrap(s)
            });
            Ok(Dynamic::from(Values::new(
                Some(sub),
                inner.to_vec(),
                v.dtype,
                None,
            )))
        });
}

fn bind_session(b: &mut Binder<'_>, rt: &Rt) {
    let r = rt.clone();
    b.func(
        "settings",
        "settings()  (threads, memory_limit, progress)",
        move || {
            let s = r.session();
            let mut m = rhai::Map::new();
            m.insert("threads".into(), Dynamic::from(s.config().threads as INT));
            m.insert(
                "memory_limit".into(),
                Dynamic::from(s.config().memory_limit as INT),
            );
            m.insert("progress".into(), Dynamic::from(s.progress()));
            m
        },
    );
    b.func(
        "slice",
        "slice(start, stop, step?)  (() leaves an end open)",
        |a: Dynamic, z: Dynamic| super::Slice {
            start: a,
            stop: z,
            step: None,
        },
    )
    .func("slice", "", |a: Dynamic, z: Dynamic, s: INT| super::Slice {
        start: a,
        stop: z,
        step: Some(s),
    })
    .func("to_string", "", |s: &mut super::Slice| s.to_string());
}
