//! Labelled arrays in scripts, with xarray's names: `DataArray` with its
//! selections, arithmetic aligned by labels, reductions over named dims,
//! `groupby`/`resample`, `rolling`, `coarsen`, `weighted`, writing.

use super::array::{binary, binary_left, OPERATORS};
use super::{compute, item, lazy_text, Rt};
use crate::array::{Array, Operand, Scalar};
use crate::dataset::{
    AttrValue, Attrs, Coarsen, CoordValues, Coords, DataArray, GroupBy, Rolling, Weighted,
    WriteOptions, ZarrWriteOptions,
};
use crate::script::convert::{
    bad, chunk_spec, count, dims, dtype, kind, named, named_chunks, number, positions, scalar,
    selection, strs, Options, OrFail, Res,
};
use crate::script::registry::Binder;
use crate::script::runtime::{Format, Job, Outcome, Site, Target};
use rhai::{Dynamic, Map, NativeCallContext, FLOAT, INT};

/// Attributes as a script map (numbers of one value as numbers).
pub(super) fn attrs_map(a: &Attrs) -> Map {
    a.iter()
        .map(|at| {
            let v = match &at.value {
                AttrValue::Text(s) => Dynamic::from(s.clone()),
                AttrValue::Float(v) if v.len() == 1 => Dynamic::from(v[0]),
                AttrValue::Int(v) if v.len() == 1 => Dynamic::from(v[0]),
                AttrValue::Float(v) => {
                    Dynamic::from(v.iter().map(|&x| Dynamic::from(x)).collect::<rhai::Array>())
                }
                AttrValue::Int(v) => {
                    Dynamic::from(v.iter().map(|&x| Dynamic::from(x)).collect::<rhai::Array>())
                }
            };
            (at.name.as_str().into(), v)
        })
        .collect()
}

/// A coordinate's labels as a script array (times as ISO text).
pub(super) fn labels(v: &CoordValues) -> rhai::Array {
    match v {
        CoordValues::Float(x) => x.iter().map(|&f| Dynamic::from(f)).collect(),
        CoordValues::Float32(x) => x.iter().map(|&f| Dynamic::from(f64::from(f))).collect(),
        CoordValues::Int(x) => x.iter().map(|&i| Dynamic::from(i)).collect(),
        CoordValues::Text(x) => x.iter().map(|s| Dynamic::from(s.clone())).collect(),
        CoordValues::Time(..) => (0..v.len()).map(|i| Dynamic::from(v.label(i))).collect(),
    }
}

pub(super) fn coord_names(c: &Coords) -> rhai::Array {
    c.iter()
        .map(|(n, _)| Dynamic::from(n.to_string()))
        .collect()
}

fn texts(v: &[String]) -> rhai::Array {
    v.iter().map(|s| Dynamic::from(s.clone())).collect()
}

fn sizes_map(s: &[(String, usize)]) -> Map {
    s.iter()
        .map(|(d, n)| (d.as_str().into(), Dynamic::from(*n as INT)))
        .collect()
}

/// `to_netcdf`'s options: `#{compression: 4, chunks: #{time: 31}}`.
pub(super) fn netcdf_options(m: &Map) -> Res<WriteOptions> {
    let o = Options::new(m, "to_netcdf", &["compression", "chunks"])?;
    let compression = match o.int("compression")? {
        None => None,
        Some(l @ 1..=9) => Some(l as u8),
        Some(l) => return bad(format!("to_netcdf: compression must be 1 to 9, got {l}")),
    };
    Ok(WriteOptions {
        compression,
        chunks: o.sizes("chunks")?,
    })
}

/// `to_zarr`'s options: `#{zstd_level: 3, chunks: #{time: 31}}` (`zstd_level: ()`:
/// uncompressed).
pub(super) fn zarr_options(m: &Map) -> Res<ZarrWriteOptions> {
    let o = Options::new(m, "to_zarr", &["zstd_level", "chunks"])?;
    let zstd_level = match o.get("zstd_level") {
        None => ZarrWriteOptions::default().zstd_level,
        Some(v) if v.is_unit() => None,
        Some(_) => o.int("zstd_level")?.map(|l| l as i32),
    };
    Ok(ZarrWriteOptions {
        zstd_level,
        chunks: o.sizes("chunks")?,
    })
}

/// Write a target through the runtime.
pub(super) fn write(
    rt: &Rt,
    ctx: &NativeCallContext,
    target: Target<'_>,
    path: &str,
    format: Format,
) -> Res<()> {
    let subject = match &target {
        Target::DataArray(d) => first_line(d),
        Target::Dataset(_) => "<chunkwise.Dataset>".to_string(),
    };
    let site = Site {
        call: format!("{}(\"{path}\")", ctx.fn_name()),
        ..Site::of(ctx)
    };
    rt.execute(
        Job::Write {
            target,
            path,
            format: &format,
        },
        &site,
        &subject,
    )
    .map(|_| ())
}

fn first_line(d: &DataArray) -> String {
    format!("{d:?}").lines().next().unwrap_or("").to_string()
}

/// Persist a labelled array's data through the runtime.
pub(super) fn persist(rt: &Rt, ctx: &NativeCallContext, d: &DataArray) -> Res<DataArray> {
    match rt.execute(Job::Persist(d.data()), &Site::of(ctx), &first_line(d))? {
        Outcome::Persisted(a) => Ok(d.map(|_| a)),
        _ => bad("persist: no array came back"),
    }
}

fn op_name(op: &str) -> String {
    format!("`{op}`")
}

/// `x OP y` for labelled arrays and numbers.
fn bind_operators(b: &mut Binder<'_>) {
    for op in OPERATORS {
        b.func(op, "", move |x: DataArray, y: DataArray| {
            x.zip_with(&y, &op_name(op), |p, q| binary(op, p, Operand::from(q)))
                .or_fail()
        });
        let with = move |x: &DataArray, s: Scalar| {
            x.try_map(|a| binary(op, a, Operand::Scalar(s))).or_fail()
        };
        b.func(op, "", move |x: DataArray, y: INT| with(&x, Scalar::Int(y)))
            .func(op, "", move |x: DataArray, y: FLOAT| {
                with(&x, Scalar::Float(y))
            })
            .func(op, "", move |x: DataArray, y: bool| {
                with(&x, Scalar::Bool(y))
            });
        let left = move |s: Scalar, x: &DataArray| x.try_map(|a| binary_left(op, s, a)).or_fail();
        b.func(op, "", move |y: INT, x: DataArray| left(Scalar::Int(y), &x))
            .func(op, "", move |y: FLOAT, x: DataArray| {
                left(Scalar::Float(y), &x)
            });
    }
    b.func("-", "", |x: DataArray| x.map(Array::neg))
        .func("!", "", |x: DataArray| x.map(Array::invert));
    // Groupby arithmetic (anomalies): `da.groupby("time.month") - clim`.
    type GOp = fn(&GroupBy, &DataArray) -> crate::Result<DataArray>;
    let gops: [(&str, GOp); 4] = [
        ("-", GroupBy::sub),
        ("+", GroupBy::add),
        ("*", GroupBy::mul),
        ("/", GroupBy::div),
    ];
    for (op, f) in gops {
        b.func(op, "", move |g: GroupBy, y: DataArray| f(&g, &y).or_fail());
    }
}

fn bind_elementwise(b: &mut Binder<'_>) {
    type Unary = fn(&Array) -> Array;
    let unary: [(&str, Unary); 7] = [
        ("abs", Array::abs),
        ("sqrt", Array::sqrt),
        ("exp", Array::exp),
        ("log", Array::log),
        ("sin", Array::sin),
        ("cos", Array::cos),
        ("isnan", Array::isnan),
    ];
    for (name, f) in unary {
        b.func(name, "", move |x: &mut DataArray| {
            x.try_map(|a| {
                let r = f(a);
                r.check().map(|()| r)
            })
            .or_fail()
        });
    }
    b.func("fillna", "", |x: &mut DataArray, v: Dynamic| {
        match scalar(&v) {
            Some(s) => Ok(x.map(|a| a.fillna(s))),
            None => bad(format!(
                "fillna: the value is a {}; expected a number",
                kind(&v)
            )),
        }
    })
    .func(
        "clip",
        "",
        |x: &mut DataArray, lo: Dynamic, hi: Dynamic| match (scalar(&lo), scalar(&hi)) {
            (Some(l), Some(h)) => Ok(x.map(|a| a.clip(l, h))),
            _ => bad("clip: lo and hi must be numbers"),
        },
    )
    .func(
        "astype",
        "",
        |x: &mut DataArray, d: &str| -> Res<DataArray> {
            let d = dtype(d)?;
            Ok(x.map(|a| a.astype(d)))
        },
    )
    .func(
        "where",
        "da.where(cond, other?)  (other: a number, NaN when left out)",
        |x: &mut DataArray, c: DataArray| x.where_(&c, f64::NAN).or_fail(),
    )
    .func(
        "where",
        "",
        |x: &mut DataArray, c: DataArray, o: Dynamic| {
            x.where_(&c, number(&o, "where: other")?).or_fail()
        },
    );
}

fn bind_reductions(b: &mut Binder<'_>) {
    type Red = fn(&DataArray, &[&str]) -> crate::Result<DataArray>;
    let reds: [(&str, Red); 5] = [
        ("mean", DataArray::mean),
        ("sum", DataArray::sum),
        ("min", DataArray::min),
        ("max", DataArray::max),
        ("count", DataArray::count),
    ];
    for (name, f) in reds {
        b.func(
            name,
            "da.NAME(dims?)  (DataArray, Dataset, GroupBy: a dim or an array of dims, NaN skipped)",
            move |x: &mut DataArray| f(x, &[]).or_fail(),
        )
        .func(name, "", move |x: &mut DataArray, d: Dynamic| {
            f(x, &strs(&dims(&d, name)?)).or_fail()
        });
    }
    type Moment = fn(&DataArray, &[&str], u32) -> crate::Result<DataArray>;
    let moments: [(&str, Moment); 2] = [("std", DataArray::std), ("variance", DataArray::var)];
    for (name, f) in moments {
        b.func(
            name,
            "da.NAME(dims?, ddof?)  (DataArray, Dataset)",
            move |x: &mut DataArray| f(x, &[], 0).or_fail(),
        )
        .func(name, "", move |x: &mut DataArray, d: Dynamic| {
            f(x, &strs(&dims(&d, name)?), 0).or_fail()
        })
        .func(name, "", move |x: &mut DataArray, d: Dynamic, ddof: INT| {
            let ddof = u32::try_from(ddof)
                .or_else(|_| bad(format!("{name}: ddof must be >= 0, got {ddof}")))?;
            f(x, &strs(&dims(&d, name)?), ddof).or_fail()
        });
    }
    type GRed = fn(&GroupBy, &[&str]) -> crate::Result<DataArray>;
    let greds: [(&str, GRed); 6] = [
        ("mean", GroupBy::mean),
        ("sum", GroupBy::sum),
        ("min", GroupBy::min),
        ("max", GroupBy::max),
        ("std", GroupBy::std),
        ("count", GroupBy::count),
    ];
    for (name, f) in greds {
        b.func(name, "", move |g: &mut GroupBy| f(g, &[]).or_fail())
            .func(name, "", move |g: &mut GroupBy, d: Dynamic| {
                f(g, &strs(&dims(&d, name)?)).or_fail()
            });
    }
}

fn bind_selection(b: &mut Binder<'_>) {
    b.func(
        "isel",
        "x.isel(#{time: 0, lat: 0..2, lon: slice(0, (), 2)})",
        |x: &mut DataArray, m: Map| x.isel(&named(&positions(&m)?)).or_fail(),
    )
    .func(
        "sel",
        "x.sel(#{season: \"JJA\", time: slice(\"2000-03\", \"2000-05\")}) | x.sel(#{lat: 52.1, method: \"nearest\", tolerance: 1.0})",
        |x: &mut DataArray, m: Map| x.sel(&named(&selection(&m)?)).or_fail(),
    )
    .func("transpose", "", |x: &mut DataArray, d: rhai::Array| {
        let d = dims(&Dynamic::from(d), "transpose")?;
        x.transpose(&strs(&d)).or_fail()
    })
    .func("transpose", "", |x: &mut DataArray, a: &str, c: &str| x.transpose(&[a, c]).or_fail())
    .func("transpose", "", |x: &mut DataArray, a: &str, c: &str, d: &str| {
        x.transpose(&[a, c, d]).or_fail()
    })
    .func("rename", "da.rename(\"name\") | da.rename(#{old_dim: \"new_dim\"})", |x: &mut DataArray, n: &str| {
        x.clone().with_name(n)
    })
    .func("rename", "", |x: &mut DataArray, m: Map| {
        let pairs = m
            .iter()
            .map(|(k, v)| match v.read_lock::<rhai::ImmutableString>() {
                Some(s) => Ok((k.to_string(), s.to_string())),
                None => bad(format!("rename: the new name of `{k}` is a {}; expected a string", kind(v))),
            })
            .collect::<Res<Vec<_>>>()?;
        let refs: Vec<(&str, &str)> = pairs.iter().map(|(a, c)| (a.as_str(), c.as_str())).collect();
        x.rename_dims(&refs).or_fail()
    })
    .func("chunk", "da.chunk(#{time: 31}) | da.chunk(chunks)", |x: &mut DataArray, c: Dynamic| {
        let spec = match c.read_lock::<Map>() {
            Some(m) => named_chunks(&m, x.dims(), &x.data().chunks(), "chunk")?,
            None => chunk_spec(&c, x.dims().len(), "chunk")?,
        };
        x.try_map(|a| a.rechunk(spec)).or_fail()
    });
    b.engine
        .register_indexer_get(|x: &mut DataArray, name: &str| -> Res<rhai::Array> {
            match x.coords().get(name) {
                Some(c) => Ok(labels(&c.values)),
                None => {
                    bad(format!(
                "{} has no coordinate `{name}` (its coordinates: {:?}); its properties: name, \
                 dims, shape, dtype, sizes, attrs, coords, data",
                x.name().map(|n| format!("`{n}`")).unwrap_or("the array".into()),
                x.coords().iter().map(|(n, _)| n).collect::<Vec<_>>()
            ))
                }
            }
        });
}

fn bind_windows(b: &mut Binder<'_>) {
    b.func(
        "groupby",
        "x.groupby(\"time.season\") | x.groupby(\"lat\")",
        |x: &mut DataArray, k: &str| x.groupby(k).or_fail(),
    )
    .func(
        "resample",
        "x.resample(\"time\", \"MS\") | x.resample(#{time: \"QS-DEC\"})",
        |x: &mut DataArray, d: &str, f: &str| x.resample(d, f).or_fail(),
    )
    .func("resample", "", |x: &mut DataArray, m: Map| {
        let (d, f) = one_entry(&m, "resample")?;
        x.resample(&d, &f).or_fail()
    })
    .func(
        "rolling",
        "x.rolling(\"time\", 3, center?) | x.rolling(#{time: 3, center: true})",
        |x: &mut DataArray, d: &str, n: INT| {
            x.rolling(d, count(n, "rolling: window")?, false).or_fail()
        },
    )
    .func(
        "rolling",
        "",
        |x: &mut DataArray, d: &str, n: INT, c: bool| {
            x.rolling(d, count(n, "rolling: window")?, c).or_fail()
        },
    )
    .func("rolling", "", |x: &mut DataArray, m: Map| {
        let center = match m.get("center") {
            None => false,
            Some(v) => v
                .as_bool()
                .or_else(|_| bad("rolling: center must be true or false"))?,
        };
        let mut rest = m.clone();
        rest.remove("center");
        let (d, n) = one_entry_int(&rest, "rolling")?;
        x.rolling(&d, n, center).or_fail()
    })
    .func(
        "coarsen",
        "x.coarsen(#{lat: 2, lon: 2}).mean()",
        |x: &mut DataArray, m: Map| {
            let w = m
                .iter()
                .map(|(k, v)| match v.as_int() {
                    Ok(n) if n > 0 => Ok((k.to_string(), n as usize)),
                    _ => bad(format!(
                        "coarsen: the window of `{k}` must be a positive integer, got {v}"
                    )),
                })
                .collect::<Res<Vec<_>>>()?;
            x.coarsen(&named(&w)).or_fail()
        },
    )
    .func(
        "weighted",
        "x.weighted(w).mean(dims?) | .sum(dims?)",
        |x: &mut DataArray, w: DataArray| x.weighted(&w),
    );
    b.func("mean", "", |r: &mut Rolling| r.mean().or_fail())
        .func("sum", "", |r: &mut Rolling| r.sum().or_fail())
        .func("mean", "", |c: &mut Coarsen| c.mean().or_fail())
        .func("mean", "", |w: &mut Weighted| w.mean(&[]).or_fail())
        .func("mean", "", |w: &mut Weighted, d: Dynamic| {
            w.mean(&strs(&dims(&d, "mean")?)).or_fail()
        })
        .func("sum", "", |w: &mut Weighted| w.sum(&[]).or_fail())
        .func("sum", "", |w: &mut Weighted, d: Dynamic| {
            w.sum(&strs(&dims(&d, "sum")?)).or_fail()
        });
    b.func("to_string", "", |g: &mut GroupBy| group_text(g))
        .func("to_string", "", |_: &mut Rolling| {
            "<chunkwise.Rolling>".to_string()
        })
        .func("to_string", "", |_: &mut Coarsen| {
            "<chunkwise.Coarsen>".to_string()
        })
        .func("to_string", "", |_: &mut Weighted| {
            "<chunkwise.Weighted>".to_string()
        });
    b.prop("GroupBy", "groups", |g: &mut GroupBy| labels(g.labels()));
}

pub(super) fn group_text(g: &GroupBy) -> String {
    let l = g.labels();
    let shown: Vec<String> = (0..l.len().min(12)).map(|i| l.label(i)).collect();
    let more = if l.len() > 12 { ", ..." } else { "" };
    format!(
        "<chunkwise.GroupBy '{}': {} groups: {}{more}>",
        g.name(),
        l.len(),
        shown.join(", ")
    )
}

/// The one `key: string` entry of `m` (`#{time: "MS"}`).
pub(super) fn one_entry(m: &Map, what: &str) -> Res<(String, String)> {
    let mut it = m.iter();
    match (it.next(), it.next()) {
        (Some((k, v)), None) => match v.read_lock::<rhai::ImmutableString>() {
            Some(s) => Ok((k.to_string(), s.to_string())),
            None => bad(format!(
                "{what}: the value of `{k}` is a {}; expected a string",
                kind(v)
            )),
        },
        _ => bad(format!(
            "{what}: expected one dimension, like #{{time: \"MS\"}}"
        )),
    }
}

fn one_entry_int(m: &Map, what: &str) -> Res<(String, usize)> {
    let mut it = m.iter();
    match (it.next(), it.next()) {
        (Some((k, v)), None) => match v.as_int() {
            Ok(n) => Ok((k.to_string(), count(n, what)?)),
            Err(_) => bad(format!(
                "{what}: the window of `{k}` is a {}; expected an integer",
                kind(v)
            )),
        },
        _ => bad(format!("{what}: expected one dimension, like #{{time: 3}}")),
    }
}

fn bind_results(b: &mut Binder<'_>, rt: &Rt) {
    let r = rt.clone();
    b.func(
        "compute",
        "",
        move |ctx: NativeCallContext, x: &mut DataArray| {
            compute(&r, &ctx, x.data(), Some(x.clone()))
        },
    );
    let r = rt.clone();
    b.func(
        "values",
        "",
        move |ctx: NativeCallContext, x: &mut DataArray| compute(&r, &ctx, x.data(), None),
    );
    let r = rt.clone();
    b.func(
        "item",
        "",
        move |ctx: NativeCallContext, x: &mut DataArray| {
            item(&compute(&r, &ctx, x.data(), Some(x.clone()))?)
        },
    );
    let r = rt.clone();
    b.func(
        "persist",
        "",
        move |ctx: NativeCallContext, x: &mut DataArray| persist(&r, &ctx, x),
    );
    let r = rt.clone();
    b.func("explain", "", move |x: &mut DataArray| {
        x.data().explain_with(r.session()).or_fail()
    });
    let r = rt.clone();
    b.func("print", "", move |ctx: NativeCallContext, x: DataArray| {
        lazy_text(&r, &ctx, x.data(), format!("{x:?}"))
    });
    b.func("to_string", "", |x: &mut DataArray| format!("{x:?}"))
        .func("to_debug", "", |x: &mut DataArray| format!("{x:?}"));
    let r = rt.clone();
    b.func(
        "to_netcdf",
        "x.to_netcdf(path, #{compression: 4, chunks: #{time: 31}}?)",
        move |ctx: NativeCallContext, x: &mut DataArray, p: &str| {
            write(
                &r,
                &ctx,
                Target::DataArray(x),
                p,
                Format::NetCdf(WriteOptions::default()),
            )
        },
    );
    let r = rt.clone();
    b.func(
        "to_netcdf",
        "",
        move |ctx: NativeCallContext, x: &mut DataArray, p: &str, m: Map| {
            write(
                &r,
                &ctx,
                Target::DataArray(x),
                p,
                Format::NetCdf(netcdf_options(&m)?),
            )
        },
    );
    let r = rt.clone();
    b.func(
        "to_zarr",
        "x.to_zarr(path, #{zstd_level: 3, chunks: #{time: 31}}?)",
        move |ctx: NativeCallContext, x: &mut DataArray, p: &str| {
            write(
                &r,
                &ctx,
                Target::DataArray(x),
                p,
                Format::Zarr(ZarrWriteOptions::default()),
            )
        },
    );
    let r = rt.clone();
    b.func(
        "to_zarr",
        "",
        move |ctx: NativeCallContext, x: &mut DataArray, p: &str, m: Map| {
            write(
                &r,
                &ctx,
                Target::DataArray(x),
                p,
                Format::Zarr(zarr_options(&m)?),
            )
        },
    );
    let r = rt.clone();
    b.func(
        "plot",
        "plot(x, \"file.png\", #{title: \"...\"}?): a heatmap (2-D) or a line (1-D)",
        move |ctx: NativeCallContext, x: &mut DataArray, p: &str| {
            let o = crate::plot::PlotOptions::default();
            write(&r, &ctx, Target::DataArray(x), p, Format::Png(o))
        },
    );
    let r = rt.clone();
    b.func(
        "plot",
        "",
        move |ctx: NativeCallContext, x: &mut DataArray, p: &str, m: Map| {
            let o = Options::new(&m, "plot", &["title"])?;
            let mut opts = crate::plot::PlotOptions::default();
            if let Some(t) = o.string("title")? {
                opts.title = Some(t);
            }
            write(&r, &ctx, Target::DataArray(x), p, Format::Png(opts))
        },
    );
    b.func(
        "DataArray",
        "DataArray(array, [\"y\", \"x\"])",
        |a: Array, d: rhai::Array| {
            let d = dims(&Dynamic::from(d), "DataArray")?;
            DataArray::new(a, &strs(&d), Coords::default()).or_fail()
        },
    );
    b.prop("DataArray", "name", |x: &mut DataArray| {
        x.name()
            .map_or(Dynamic::UNIT, |n| Dynamic::from(n.to_string()))
    })
    .prop("DataArray", "dims", |x: &mut DataArray| texts(x.dims()))
    .prop("DataArray", "shape", |x: &mut DataArray| {
        x.shape()
            .iter()
            .map(|&n| Dynamic::from(n as INT))
            .collect::<rhai::Array>()
    })
    .prop("DataArray", "ndim", |x: &mut DataArray| {
        x.dims().len() as INT
    })
    .prop("DataArray", "size", |x: &mut DataArray| {
        x.data().size() as INT
    })
    .prop("DataArray", "dtype", |x: &mut DataArray| {
        x.dtype().name().to_string()
    })
    .prop("DataArray", "sizes", |x: &mut DataArray| {
        sizes_map(&x.sizes())
    })
    .prop("DataArray", "attrs", |x: &mut DataArray| {
        attrs_map(x.attrs())
    })
    .prop("DataArray", "coords", |x: &mut DataArray| {
        coord_names(x.coords())
    })
    .prop("DataArray", "data", |x: &mut DataArray| x.data().clone())
    .prop("DataArray", "chunks", |x: &mut DataArray| {
        x.data()
            .chunks()
            .iter()
            .map(|c| {
                Dynamic::from(
                    c.iter()
                        .map(|&n| Dynamic::from(n as INT))
                        .collect::<rhai::Array>(),
                )
            })
            .collect::<rhai::Array>()
    });
}

pub(super) fn bind(b: &mut Binder<'_>, rt: &Rt) {
    bind_operators(b);
    bind_elementwise(b);
    bind_reductions(b);
    bind_selection(b);
    bind_windows(b);
    bind_results(b, rt);
}
