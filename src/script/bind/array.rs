//! Chunked arrays in scripts, with dask.array's names: creation, arithmetic,
//! comparisons, elementwise functions, reductions, structure, indexing.

use super::{compute, lazy_text, Rt};
use crate::array::creation::{self, random};
use crate::array::{self as arr, Array, Axes, Operand, Scalar};
use crate::meta::ChunkSpec;
use crate::script::convert::{
    axes, bad, chunk_spec, count, dtype, index, kind, number, scalar, shape, Options, OrFail, Res,
};
use crate::script::registry::Binder;
use crate::script::runtime::{Job, Outcome, Site};
use rhai::{Dynamic, Map, NativeCallContext, FLOAT, INT};

/// The chunks and seed of a random array: `chunks`, or `#{chunks: .., seed: ..}`.
fn chunks_and_seed(v: &Dynamic, ndim: usize, what: &str) -> Res<(ChunkSpec, u64)> {
    if let Some(m) = v.read_lock::<Map>() {
        let o = Options::new(&m, what, &["chunks", "seed"])?;
        let chunks = match o.get("chunks") {
            Some(c) => chunk_spec(c, ndim, what)?,
            None => ChunkSpec::default(),
        };
        let seed = o.int("seed")?.unwrap_or(0);
        return Ok((chunks, seed_of(seed, what)?));
    }
    Ok((chunk_spec(v, ndim, what)?, 0))
}

fn seed_of(s: INT, what: &str) -> Res<u64> {
    u64::try_from(s).or_else(|_| bad(format!("{what}: the seed must be >= 0, got {s}")))
}

/// An operand: an array or a number.
pub(super) fn operand(v: &Dynamic, what: &str) -> Res<Operand> {
    if let Some(a) = v.read_lock::<Array>() {
        return Ok(Operand::from(&*a));
    }
    match scalar(v) {
        Some(s) => Ok(Operand::Scalar(s)),
        None => bad(format!(
            "{what}: an operand is a {}; expected an Array or a number",
            kind(v)
        )),
    }
}

/// `a OP b` for an operator of the language.
pub(super) fn binary(op: &str, a: &Array, b: Operand) -> crate::Result<Array> {
    match op {
        "+" => a.add(b),
        "-" => a.sub(b),
        "*" => a.mul(b),
        "/" => a.div(b),
        "**" => a.pow(b),
        "==" => a.equal(b),
        "!=" => a.not_equal(b),
        "<" => a.less(b),
        "<=" => a.less_equal(b),
        ">" => a.greater(b),
        ">=" => a.greater_equal(b),
        "&" => a.logical_and(b),
        "|" => a.logical_or(b),
        _ => Err(crate::Error::internal(format!(
            "operator {op} is not bound"
        ))),
    }
}

/// `s OP a` with a number on the left.
pub(super) fn binary_left(op: &str, s: Scalar, a: &Array) -> crate::Result<Array> {
    let from_left = |r: Array| r.check().map(|()| r);
    let o = Operand::Scalar(s);
    match (op, s) {
        ("+", _) => a.add(o),
        ("*", _) => a.mul(o),
        ("-", Scalar::Int(i)) => from_left(i - a),
        ("-", s) => from_left(s.as_f64() - a),
        ("/", Scalar::Int(i)) => from_left(i / a),
        ("/", s) => from_left(s.as_f64() / a),
        ("==", _) => a.equal(o),
        ("!=", _) => a.not_equal(o),
        ("<", _) => a.greater(o),
        ("<=", _) => a.greater_equal(o),
        (">", _) => a.less(o),
        (">=", _) => a.less_equal(o),
        ("&", _) => a.logical_and(o),
        ("|", _) => a.logical_or(o),
        _ => Err(crate::Error::plan(format!(
            "a number {op} an array is not supported; write the array on the left"
        ))),
    }
}

/// The operators bound for arrays and labelled arrays.
pub(super) const OPERATORS: [&str; 13] = [
    "+", "-", "*", "/", "**", "==", "!=", "<", "<=", ">", ">=", "&", "|",
];

/// A nested Rhai array of numbers or bools as an n-d array.
fn from_list(list: &rhai::Array, chunks: &Dynamic) -> Res<Array> {
    fn walk(v: &Dynamic, depth: usize, shape: &mut Vec<usize>, flat: &mut Vec<Dynamic>) -> Res<()> {
        if let Some(a) = v.read_lock::<rhai::Array>() {
            if shape.len() == depth {
                shape.push(a.len());
            } else if shape.len() < depth || shape[depth] != a.len() {
                return bad("array: the nested lists are ragged (rows of different lengths)");
            }
            for x in a.iter() {
                walk(x, depth + 1, shape, flat)?;
            }
            return Ok(());
        }
        if shape.len() != depth {
            return bad("array: the nested lists are ragged (a number where a list was expected)");
        }
        flat.push(v.clone());
        Ok(())
    }
    let mut shape = vec![list.len()];
    let mut flat = Vec::new();
    for x in list {
        walk(x, 1, &mut shape, &mut flat)?;
    }
    let shape_d = ndarray::IxDyn(&shape);
    let spec = chunk_spec(chunks, shape.len(), "array")?;
    let shape_err = |e: ndarray::ShapeError| crate::Error::plan(format!("array: {e}"));
    if flat.iter().all(|v| v.is_bool()) && !flat.is_empty() {
        let v: Vec<bool> = flat.iter().map(|v| v.as_bool().unwrap_or(false)).collect();
        let a = ndarray::ArrayD::from_shape_vec(shape_d, v)
            .map_err(shape_err)
            .or_fail()?;
        return creation::from_ndarray(&a, spec).or_fail();
    }
    if flat.iter().all(|v| v.is_int()) && !flat.is_empty() {
        let v: Vec<i64> = flat.iter().map(|v| v.as_int().unwrap_or(0)).collect();
        let a = ndarray::ArrayD::from_shape_vec(shape_d, v)
            .map_err(shape_err)
            .or_fail()?;
        return creation::from_ndarray(&a, spec).or_fail();
    }
    let v = flat
        .iter()
        .map(|v| number(v, "array: an element"))
        .collect::<Res<Vec<f64>>>()?;
    let a = ndarray::ArrayD::from_shape_vec(shape_d, v)
        .map_err(shape_err)
        .or_fail()?;
    creation::from_ndarray(&a, spec).or_fail()
}

/// Arrays from a Rhai list.
fn arrays(list: &rhai::Array, what: &str) -> Res<Vec<Array>> {
    list.iter()
        .map(|v| match v.read_lock::<Array>() {
            Some(a) => Ok(a.clone()),
            None => bad(format!(
                "{what}: an element is a {}; expected Arrays",
                kind(v)
            )),
        })
        .collect()
}

fn ints(v: &[usize]) -> rhai::Array {
    v.iter().map(|&n| Dynamic::from(n as INT)).collect()
}

/// `arange`'s arguments as scalars.
fn num(v: &Dynamic, what: &str) -> Res<Scalar> {
    match scalar(v) {
        Some(Scalar::Bool(_)) | None => bad(format!("{what} is a {}; expected a number", kind(v))),
        Some(s) => Ok(s),
    }
}

pub(super) fn bind(b: &mut Binder<'_>, rt: &Rt) {
    bind_creation(b);
    bind_operators(b);
    bind_elementwise(b);
    bind_reductions(b);
    bind_structure(b);
    bind_results(b, rt);
}

fn bind_creation(b: &mut Binder<'_>) {
    let constant = |name: &'static str, value: f64| {
        move |shape_v: Dynamic, chunks: Dynamic| -> Res<Array> {
            let s = shape(&shape_v, name)?;
            let spec = chunk_spec(&chunks, s.len(), name)?;
            let out = if value == 0.0 {
                creation::zeros(&s, spec)
            } else {
                creation::ones(&s, spec)
            };
            out.or_fail()
        }
    };
    let zeros = constant("zeros", 0.0);
    let zeros1 = constant("zeros", 0.0);
    b.func("zeros", "zeros(shape, chunks?)", move |s: Dynamic| {
        zeros1(s, Dynamic::UNIT)
    })
    .func("zeros", "", zeros);
    let ones = constant("ones", 1.0);
    let ones1 = constant("ones", 1.0);
    b.func("ones", "ones(shape, chunks?)", move |s: Dynamic| {
        ones1(s, Dynamic::UNIT)
    })
    .func("ones", "", ones);
    let full = |s: Dynamic, v: Dynamic, c: Dynamic| -> Res<Array> {
        let s = shape(&s, "full")?;
        let Some(v) = scalar(&v) else {
            return bad(format!(
                "full: the value is a {}; expected a number or a bool",
                kind(&v)
            ));
        };
        let spec = chunk_spec(&c, s.len(), "full")?;
        creation::full(&s, v, spec).or_fail()
    };
    b.func(
        "full",
        "full(shape, value, chunks?)",
        move |s: Dynamic, v: Dynamic| full(s, v, Dynamic::UNIT),
    )
    .func("full", "", full);
    let arange = |a: Dynamic, z: Dynamic, st: Dynamic, c: Dynamic| -> Res<Array> {
        let (a, z, st) = (
            num(&a, "arange: start")?,
            num(&z, "arange: stop")?,
            num(&st, "arange: step")?,
        );
        let spec = chunk_spec(&c, 1, "arange")?;
        creation::arange(a, z, st, spec).or_fail()
    };
    b.func(
        "arange",
        "arange(stop) | arange(start, stop, step?, chunks?)",
        move |z: Dynamic| {
            arange(
                Dynamic::from(0 as INT),
                z,
                Dynamic::from(1 as INT),
                Dynamic::UNIT,
            )
        },
    )
    .func("arange", "", move |a: Dynamic, z: Dynamic| {
        arange(a, z, Dynamic::from(1 as INT), Dynamic::UNIT)
    })
    .func("arange", "", move |a: Dynamic, z: Dynamic, s: Dynamic| {
        arange(a, z, s, Dynamic::UNIT)
    })
    .func("arange", "", arange);
    let linspace = |a: Dynamic, z: Dynamic, n: INT, c: Dynamic| -> Res<Array> {
        let (a, z) = (
            number(&a, "linspace: start")?,
            number(&z, "linspace: stop")?,
        );
        let spec = chunk_spec(&c, 1, "linspace")?;
        creation::linspace(a, z, count(n, "linspace: num")?, spec).or_fail()
    };
    b.func(
        "linspace",
        "linspace(start, stop, num, chunks?)",
        move |a: Dynamic, z: Dynamic, n: INT| linspace(a, z, n, Dynamic::UNIT),
    )
    .func("linspace", "", linspace);
    b.func(
        "array",
        "array([[1.0, 2.0], [3.0, 4.0]], chunks?)",
        |l: rhai::Array| from_list(&l, &Dynamic::UNIT),
    )
    .func("array", "", |l: rhai::Array, c: Dynamic| from_list(&l, &c));

    // Random numbers: `random(shape, chunks, seed)` or `random(shape, #{chunks, seed})`.
    let rand = |s: Dynamic, c: Dynamic, seed: Option<INT>| -> Res<Array> {
        let s = shape(&s, "random")?;
        let (spec, mut sd) = chunks_and_seed(&c, s.len(), "random")?;
        if let Some(x) = seed {
            sd = seed_of(x, "random")?;
        }
        random::random(&s, spec, sd).or_fail()
    };
    b.func(
        "random",
        "random(shape, chunks?, seed?) | random(shape, #{chunks: 100, seed: 1})",
        move |s: Dynamic| rand(s, Dynamic::UNIT, None),
    )
    .func("random", "", move |s: Dynamic, c: Dynamic| rand(s, c, None))
    .func("random", "", move |s: Dynamic, c: Dynamic, seed: INT| {
        rand(s, c, Some(seed))
    });
    type Dist = fn(f64, f64, &[usize], ChunkSpec, u64) -> crate::Result<Array>;
    let two = |name: &'static str, f: Dist| {
        move |p: Dynamic, q: Dynamic, s: Dynamic, c: Dynamic, seed: Option<INT>| -> Res<Array> {
            let (p, q) = (number(&p, name)?, number(&q, name)?);
            let s = shape(&s, name)?;
            let (spec, mut sd) = chunks_and_seed(&c, s.len(), name)?;
            if let Some(x) = seed {
                sd = seed_of(x, name)?;
            }
            f(p, q, &s, spec, sd).or_fail()
        }
    };
    let uniform: Dist = |a, b, s, c, seed| random::uniform(a, b, s, c, seed);
    let normal: Dist = |a, b, s, c, seed| random::normal(a, b, s, c, seed);
    for (name, f, usage) in [
        (
            "uniform",
            uniform,
            "uniform(low, high, shape, chunks?, seed?)",
        ),
        (
            "normal",
            normal,
            "normal(loc, scale, shape, chunks?, seed?)",
        ),
    ] {
        let g = two(name, f);
        b.func(name, usage, move |p: Dynamic, q: Dynamic, s: Dynamic| {
            g(p, q, s, Dynamic::UNIT, None)
        });
        let g = two(name, f);
        b.func(
            name,
            "",
            move |p: Dynamic, q: Dynamic, s: Dynamic, c: Dynamic| g(p, q, s, c, None),
        );
        let g = two(name, f);
        b.func(
            name,
            "",
            move |p: Dynamic, q: Dynamic, s: Dynamic, c: Dynamic, seed: INT| {
                g(p, q, s, c, Some(seed))
            },
        );
    }
}

fn bind_operators(b: &mut Binder<'_>) {
    for op in OPERATORS {
        b.func(op, "", move |x: Array, y: Array| {
            binary(op, &x, Operand::from(&y)).or_fail()
        })
        .func(op, "", move |x: Array, y: INT| {
            binary(op, &x, Operand::Scalar(Scalar::Int(y))).or_fail()
        })
        .func(op, "", move |x: Array, y: FLOAT| {
            binary(op, &x, Operand::Scalar(Scalar::Float(y))).or_fail()
        })
        .func(op, "", move |x: Array, y: bool| {
            binary(op, &x, Operand::Scalar(Scalar::Bool(y))).or_fail()
        })
        .func(op, "", move |y: INT, x: Array| {
            binary_left(op, Scalar::Int(y), &x).or_fail()
        })
        .func(op, "", move |y: FLOAT, x: Array| {
            binary_left(op, Scalar::Float(y), &x).or_fail()
        });
    }
    b.func("-", "", |x: Array| {
        Ok::<_, Box<rhai::EvalAltResult>>(x.neg())
    })
    .func("!", "", |x: Array| x.invert());
}

fn bind_elementwise(b: &mut Binder<'_>) {
    type Unary = fn(&Array) -> Array;
    let unary: [(&str, Unary, &'static str); 7] = [
        ("abs", Array::abs, "abs(x)"),
        ("sqrt", Array::sqrt, "sqrt(x)"),
        ("exp", Array::exp, "exp(x)"),
        ("log", Array::log, "log(x) (natural)"),
        ("sin", Array::sin, "sin(x)"),
        ("cos", Array::cos, "cos(x)"),
        ("isnan", Array::isnan, "isnan(x)"),
    ];
    for (name, f, usage) in unary {
        b.func(name, usage, move |x: &mut Array| {
            let r = f(x);
            r.check().or_fail().map(|()| r)
        });
    }
    b.func(
        "fillna",
        "x.fillna(value)",
        |x: &mut Array, v: Dynamic| match scalar(&v) {
            Some(s) => Ok(x.fillna(s)),
            None => bad(format!(
                "fillna: the value is a {}; expected a number",
                kind(&v)
            )),
        },
    )
    .func(
        "clip",
        "x.clip(lo, hi)",
        |x: &mut Array, lo: Dynamic, hi: Dynamic| match (scalar(&lo), scalar(&hi)) {
            (Some(l), Some(h)) => {
                let r = x.clip(l, h);
                r.check().or_fail().map(|()| r)
            }
            _ => bad("clip: lo and hi must be numbers"),
        },
    )
    .func(
        "astype",
        "x.astype(\"float32\")",
        |x: &mut Array, d: &str| -> Res<Array> { Ok(x.astype(dtype(d)?)) },
    )
    .func(
        "where",
        "where(cond, a, b)",
        |c: Array, a: Dynamic, y: Dynamic| {
            let r = arr::where_(&c, operand(&a, "where")?, operand(&y, "where")?);
            r.check().or_fail().map(|()| r)
        },
    )
    .func("maximum", "maximum(a, b)", |a: Dynamic, y: Dynamic| {
        let r = arr::maximum(operand(&a, "maximum")?, operand(&y, "maximum")?);
        r.check().or_fail().map(|()| r)
    })
    .func("minimum", "minimum(a, b)", |a: Dynamic, y: Dynamic| {
        let r = arr::minimum(operand(&a, "minimum")?, operand(&y, "minimum")?);
        r.check().or_fail().map(|()| r)
    });
}

fn bind_reductions(b: &mut Binder<'_>) {
    type Red = fn(&Array, Axes, bool) -> crate::Result<Array>;
    let reds: [(&str, Red); 14] = [
        ("sum", |x, a, k| x.sum(a, k)),
        ("prod", |x, a, k| x.prod(a, k)),
        ("mean", |x, a, k| x.mean(a, k)),
        ("min", |x, a, k| x.min(a, k)),
        ("max", |x, a, k| x.max(a, k)),
        ("count", |x, a, k| x.count(a, k)),
        ("count_nonzero", |x, a, k| x.count_nonzero(a, k)),
        ("any", |x, a, k| x.any(a, k)),
        ("all", |x, a, k| x.all(a, k)),
        ("nansum", |x, a, k| x.nansum(a, k)),
        ("nanprod", |x, a, k| x.nanprod(a, k)),
        ("nanmean", |x, a, k| x.nanmean(a, k)),
        ("nanmin", |x, a, k| x.nanmin(a, k)),
        ("nanmax", |x, a, k| x.nanmax(a, k)),
    ];
    for (name, f) in reds {
        b.func(
            name,
            "x.NAME(axis?, keepdims?)  (Array: axis an integer or an array)",
            move |x: &mut Array| f(x, Axes::All, false).or_fail(),
        )
        .func(name, "", move |x: &mut Array, a: Dynamic| {
            f(x, axes(&a, name)?, false).or_fail()
        })
        .func(name, "", move |x: &mut Array, a: Dynamic, k: bool| {
            f(x, axes(&a, name)?, k).or_fail()
        });
    }
    type Moment = fn(&Array, Axes, u32, bool) -> crate::Result<Array>;
    let moments: [(&str, Moment); 4] = [
        ("std", |x, a, d, k| x.std(a, d, k)),
        ("variance", |x, a, d, k| x.var(a, d, k)),
        ("nanstd", |x, a, d, k| x.nanstd(a, d, k)),
        ("nanvar", |x, a, d, k| x.nanvar(a, d, k)),
    ];
    for (name, f) in moments {
        let ddof = move |d: INT| -> Res<u32> {
            u32::try_from(d).or_else(|_| bad(format!("{name}: ddof must be >= 0, got {d}")))
        };
        b.func(
            name,
            "x.NAME(axis?, ddof?, keepdims?)  (Array)",
            move |x: &mut Array| f(x, Axes::All, 0, false).or_fail(),
        )
        .func(name, "", move |x: &mut Array, a: Dynamic| {
            f(x, axes(&a, name)?, 0, false).or_fail()
        })
        .func(name, "", move |x: &mut Array, a: Dynamic, d: INT| {
            f(x, axes(&a, name)?, ddof(d)?, false).or_fail()
        })
        .func(
            name,
            "",
            move |x: &mut Array, a: Dynamic, d: INT, k: bool| {
                f(x, axes(&a, name)?, ddof(d)?, k).or_fail()
            },
        );
    }
    type Arg = fn(&Array, Option<isize>) -> crate::Result<Array>;
    let args: [(&str, Arg); 4] = [
        ("argmin", |x, a| x.argmin(a)),
        ("argmax", |x, a| x.argmax(a)),
        ("nanargmin", |x, a| x.nanargmin(a)),
        ("nanargmax", |x, a| x.nanargmax(a)),
    ];
    for (name, f) in args {
        b.func(name, "x.NAME(axis?)  (Array)", move |x: &mut Array| {
            f(x, None).or_fail()
        })
        .func(name, "", move |x: &mut Array, a: INT| {
            f(x, Some(a as isize)).or_fail()
        });
    }
}

/// The properties of an `Array`.
const PROPS: [&str; 8] = [
    "shape",
    "ndim",
    "size",
    "nbytes",
    "dtype",
    "numblocks",
    "chunks",
    "T",
];

fn bind_structure(b: &mut Binder<'_>) {
    b.func("t", "x.t()", |x: &mut Array| {
        let r = x.t();
        r.check().or_fail().map(|()| r)
    })
    .func(
        "transpose",
        "x.transpose(axes?)  (Array) | da.transpose(dims)",
        |x: &mut Array| {
            let r = x.t();
            r.check().or_fail().map(|()| r)
        },
    )
    .func("transpose", "", |x: &mut Array, p: rhai::Array| {
        let perm = p
            .iter()
            .map(|v| match v.as_int() {
                Ok(i) => count(i, "transpose: an axis"),
                Err(_) => bad("transpose: the axes must be integers"),
            })
            .collect::<Res<Vec<_>>>()?;
        x.transpose(&perm).or_fail()
    })
    .func(
        "rechunk",
        "x.rechunk(chunks)",
        |x: &mut Array, c: Dynamic| {
            let spec = chunk_spec(&c, x.ndim(), "rechunk")?;
            x.rechunk(spec).or_fail()
        },
    )
    .func(
        "reshape",
        "x.reshape(shape)  (-1 for one inferred length)",
        |x: &mut Array, s: Dynamic| {
            let s: Vec<isize> = match s.read_lock::<rhai::Array>() {
                Some(a) => a
                    .iter()
                    .map(|v| v.as_int().map(|i| i as isize))
                    .collect::<Result<_, _>>(),
                None => s.as_int().map(|i| vec![i as isize]),
            }
            .or_else(|_| bad("reshape: the shape must be integers"))?;
            x.reshape(&s).or_fail()
        },
    )
    .func(
        "expand_dims",
        "x.expand_dims(axis)",
        |x: &mut Array, a: INT| x.expand_dims(a as isize).or_fail(),
    )
    .func("squeeze", "x.squeeze(axes?)", |x: &mut Array| {
        x.squeeze(None).or_fail()
    })
    .func("squeeze", "", |x: &mut Array, a: Dynamic| {
        match axes(&a, "squeeze")? {
            Axes::All => x.squeeze(None).or_fail(),
            Axes::Some(v) => x.squeeze(Some(&v)).or_fail(),
        }
    })
    .func(
        "matmul",
        "x.matmul(y) | x.dot(y)",
        |x: &mut Array, y: Array| x.matmul(&y).or_fail(),
    )
    .func("dot", "", |x: &mut Array, y: Array| x.dot(&y).or_fail())
    .func(
        "concatenate",
        "concatenate([a, b], axis?)",
        |l: rhai::Array| {
            let v = arrays(&l, "concatenate")?;
            arr::concatenate(&v.iter().collect::<Vec<_>>(), 0).or_fail()
        },
    )
    .func("concatenate", "", |l: rhai::Array, a: INT| {
        let v = arrays(&l, "concatenate")?;
        arr::concatenate(&v.iter().collect::<Vec<_>>(), a as isize).or_fail()
    })
    .func("stack", "stack([a, b], axis?)", |l: rhai::Array| {
        let v = arrays(&l, "stack")?;
        arr::stack(&v.iter().collect::<Vec<_>>(), 0).or_fail()
    })
    .func("stack", "", |l: rhai::Array, a: INT| {
        let v = arrays(&l, "stack")?;
        arr::stack(&v.iter().collect::<Vec<_>>(), a as isize).or_fail()
    });
    b.engine
        .register_indexer_get(|x: &mut Array, i: Dynamic| -> Res<Array> {
            if let Some(s) = i.read_lock::<rhai::ImmutableString>() {
                // `x.name` of a property that does not exist lands here.
                return bad(format!(
                    "an Array has no property `{}`; its properties: {}",
                    s.as_str(),
                    PROPS.join(", ")
                ));
            }
            x.slice(&index(&i)?).or_fail()
        });
    b.prop("Array", "shape", |x: &mut Array| ints(&x.shape()))
        .prop("Array", "ndim", |x: &mut Array| x.ndim() as INT)
        .prop("Array", "size", |x: &mut Array| x.size() as INT)
        .prop("Array", "nbytes", |x: &mut Array| x.nbytes() as INT)
        .prop("Array", "dtype", |x: &mut Array| {
            x.dtype().name().to_string()
        })
        .prop("Array", "numblocks", |x: &mut Array| ints(&x.numblocks()))
        .prop("Array", "chunks", |x: &mut Array| {
            x.chunks()
                .iter()
                .map(|c| Dynamic::from(ints(c)))
                .collect::<rhai::Array>()
        })
        .prop("Array", "T", |x: &mut Array| x.t());
}

fn bind_results(b: &mut Binder<'_>, rt: &Rt) {
    let r = rt.clone();
    b.func(
        "compute",
        "x.compute()",
        move |ctx: NativeCallContext, x: &mut Array| compute(&r, &ctx, x, None),
    );
    let r = rt.clone();
    b.func(
        "values",
        "x.values()",
        move |ctx: NativeCallContext, x: &mut Array| compute(&r, &ctx, x, None),
    );
    let r = rt.clone();
    b.func(
        "item",
        "x.item()  (a number, for one element)",
        move |ctx: NativeCallContext, x: &mut Array| super::item(&compute(&r, &ctx, x, None)?),
    );
    let r = rt.clone();
    b.func(
        "persist",
        "x.persist()",
        move |ctx: NativeCallContext, x: &mut Array| {
            let subject = format!("{x:?}");
            match r.execute(Job::Persist(x), &Site::of(&ctx), &subject)? {
                Outcome::Persisted(a) => Ok(a),
                _ => bad("persist: no array came back"),
            }
        },
    );
    let r = rt.clone();
    b.func(
        "explain",
        "x.explain()  (the plan as text)",
        move |x: &mut Array| x.explain_with(r.session()).or_fail(),
    );
    let r = rt.clone();
    b.func(
        "print",
        "print(x)",
        move |ctx: NativeCallContext, x: Array| lazy_text(&r, &ctx, &x, format!("{x:?}")),
    );
    b.func("to_string", "", |x: &mut Array| format!("{x:?}"))
        .func("to_debug", "", |x: &mut Array| format!("{x:?}"));
}
