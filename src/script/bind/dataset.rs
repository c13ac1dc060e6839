//! Datasets in scripts, with xarray's names: opening files and stores,
//! variables by name, selections and reductions over every variable,
//! `groupby` over a dataset, `merge`, `concat`, writing.

use super::array::{binary, binary_left, OPERATORS};
use super::labelled::{
    attrs_map, coord_names, group_text, labels, netcdf_options, one_entry, persist, write,
    zarr_options,
};
use super::Rt;
use crate::array::{Operand, Scalar};
use crate::dataset::{
    concat, concat_datasets, merge, open_dataset, open_mfdataset, open_zarr, ConcatOptions,
    DataArray, Dataset, GroupBy, MergeInput, MergeOptions, OpenOptions, WriteOptions,
    ZarrWriteOptions,
};
use crate::script::convert::{
    bad, chunk_spec, dims, kind, named, positions, selection, strs, Options, OrFail, Res,
};
use crate::script::registry::Binder;
use crate::script::runtime::{Format, Target};
use rhai::{Dynamic, Map, NativeCallContext, FLOAT, INT};

/// `ds.groupby(key)` (or `ds.resample(dim, freq)`): every variable that has
/// the grouped dimension is grouped, the others are left as they are.
#[derive(Clone)]
pub(crate) struct DatasetGroupBy {
    ds: Dataset,
    /// The grouped dimension.
    dim: String,
    how: Grouping,
}

#[derive(Clone)]
enum Grouping {
    By(String),
    Resample(String),
}

impl DatasetGroupBy {
    fn new(ds: &Dataset, how: Grouping) -> crate::Result<DatasetGroupBy> {
        let coord = match &how {
            Grouping::By(k) => k.split('.').next().unwrap_or(k).to_string(),
            Grouping::Resample(_) => String::new(),
        };
        let dim = match (&how, ds.coords().get(&coord)) {
            (Grouping::Resample(_), _) => String::new(),
            (Grouping::By(_), Some(c)) if c.dims.len() == 1 => c.dims[0].clone(),
            (Grouping::By(k), _) => {
                return Err(crate::Error::plan(format!(
                    "groupby(\"{k}\"): the dataset has no coordinate `{coord}` along one \
                     dimension (its coordinates: {:?})",
                    ds.coords().iter().map(|(n, _)| n).collect::<Vec<_>>()
                )))
            }
        };
        Ok(DatasetGroupBy {
            ds: ds.clone(),
            dim,
            how,
        })
    }

    /// The grouping of one variable, if it has the grouped dimension.
    fn of(&self, da: &DataArray) -> crate::Result<Option<GroupBy>> {
        if !da.dims().contains(&self.dim) {
            return Ok(None);
        }
        Ok(Some(match &self.how {
            Grouping::By(k) => da.groupby(k)?,
            Grouping::Resample(f) => da.resample(&self.dim, f)?,
        }))
    }

    fn reduce(&self, f: impl Fn(&GroupBy) -> crate::Result<DataArray>) -> crate::Result<Dataset> {
        self.ds.map_vars(|da| {
            Ok(Some(match self.of(da)? {
                Some(g) => f(&g)?,
                None => da.clone(),
            }))
        })
    }

    fn binary(
        &self,
        other: &Dataset,
        f: impl Fn(&GroupBy, &DataArray) -> crate::Result<DataArray>,
    ) -> crate::Result<Dataset> {
        self.ds.map_vars(|da| {
            Ok(Some(match self.of(da)? {
                Some(g) => f(&g, &other.get(da.name().unwrap_or_default())?)?,
                None => da.clone(),
            }))
        })
    }
}

/// Reduce every variable over those of `dims` it has (all of its dims when
/// `dims` is empty); a variable with none of them is left as it is (xarray).
fn reduce_vars(
    ds: &Dataset,
    d: &[String],
    f: impl Fn(&DataArray, &[&str]) -> crate::Result<DataArray>,
) -> crate::Result<Dataset> {
    ds.map_vars(|da| {
        let mine: Vec<&str> = d
            .iter()
            .map(String::as_str)
            .filter(|x| da.dims().iter().any(|e| e == x))
            .collect();
        Ok(Some(if mine.is_empty() && !d.is_empty() {
            da.clone()
        } else {
            f(da, &mine)?
        }))
    })
}

/// `open_dataset`'s options: `#{chunks, mask_and_scale, decode_times}`
/// (plus `concat_dim` for `open_mfdataset`).
fn open_options(m: &Map, what: &str, known: &[&str]) -> Res<OpenOptions> {
    let o = Options::new(m, what, known)?;
    let mut opts = OpenOptions::default();
    if let Some(c) = o.get("chunks") {
        opts.chunks = match c.as_int() {
            Ok(-1) => {
                return bad(format!(
                    "{what}: chunks -1 (whole variables) needs the number of dimensions; give a \
                     size, \"auto\", or () for the files' own chunks"
                ))
            }
            _ if c.is_unit() => None,
            _ => Some(chunk_spec(c, 0, what)?),
        };
    }
    if let Some(b) = o.bool("mask_and_scale")? {
        opts.mask_and_scale = b;
    }
    if let Some(b) = o.bool("decode_times")? {
        opts.decode_times = b;
    }
    Ok(opts)
}

const OPEN_KEYS: [&str; 3] = ["chunks", "mask_and_scale", "decode_times"];

fn bind_open(b: &mut Binder<'_>) {
    b.func("open_dataset", "open_dataset(path, #{chunks, mask_and_scale, decode_times}?)", |p: &str| {
        open_dataset(p, &OpenOptions::default()).or_fail()
    })
    .func("open_dataset", "", |p: &str, m: Map| {
        open_dataset(p, &open_options(&m, "open_dataset", &OPEN_KEYS)?).or_fail()
    })
    .func(
        "open_mfdataset",
        "open_mfdataset(pattern, concat_dim?) | open_mfdataset(pattern, #{concat_dim: \"time\", chunks, ...})",
        |p: &str| open_mfdataset(p, "time", &OpenOptions::default()).or_fail(),
    )
    .func("open_mfdataset", "", |p: &str, d: &str| {
        open_mfdataset(p, d, &OpenOptions::default()).or_fail()
    })
    .func("open_mfdataset", "", |p: &str, m: Map| {
        let keys = ["chunks", "mask_and_scale", "decode_times", "concat_dim"];
        let opts = open_options(&m, "open_mfdataset", &keys)?;
        let dim = Options::new(&m, "open_mfdataset", &keys)?
            .string("concat_dim")?
            .unwrap_or_else(|| "time".into());
        open_mfdataset(p, &dim, &opts).or_fail()
    })
    .func("open_zarr", "open_zarr(path, #{chunks, mask_and_scale, decode_times}?)", |p: &str| {
        open_zarr(p, &OpenOptions::default()).or_fail()
    })
    .func("open_zarr", "", |p: &str, m: Map| {
        open_zarr(p, &open_options(&m, "open_zarr", &OPEN_KEYS)?).or_fail()
    });
}

/// Datasets and named arrays from a list, for `merge`.
fn merge_inputs(list: &rhai::Array) -> Res<Vec<Dynamic>> {
    for v in list {
        if !(v.is::<Dataset>() || v.is::<DataArray>()) {
            return bad(format!(
                "merge: an element is a {}; expected Datasets and named DataArrays",
                kind(v)
            ));
        }
    }
    Ok(list.clone())
}

fn merge_options(m: &Map) -> Res<MergeOptions> {
    let o = Options::new(m, "merge", &["join", "compat", "combine_attrs"])?;
    let d = MergeOptions::default();
    Ok(MergeOptions {
        join: o.parsed("join")?.unwrap_or(d.join),
        compat: o.parsed("compat")?.unwrap_or(d.compat),
        combine_attrs: o.parsed("combine_attrs")?.unwrap_or(d.combine_attrs),
    })
}

fn concat_options(m: &Map) -> Res<ConcatOptions> {
    let o = Options::new(
        m,
        "concat",
        &["data_vars", "compat", "join", "combine_attrs"],
    )?;
    let d = ConcatOptions::default();
    Ok(ConcatOptions {
        data_vars: o.parsed("data_vars")?.unwrap_or(d.data_vars),
        compat: o.parsed("compat")?.unwrap_or(d.compat),
        join: o.parsed("join")?.unwrap_or(d.join),
        combine_attrs: o.parsed("combine_attrs")?.unwrap_or(d.combine_attrs),
    })
}

fn do_merge(list: &rhai::Array, opts: &MergeOptions) -> Res<Dataset> {
    let items = merge_inputs(list)?;
    let ds: Vec<Option<Dataset>> = items
        .iter()
        .map(|v| v.clone().try_cast::<Dataset>())
        .collect();
    let da: Vec<Option<DataArray>> = items
        .iter()
        .map(|v| v.clone().try_cast::<DataArray>())
        .collect();
    let inputs: Vec<MergeInput<'_>> = ds
        .iter()
        .zip(&da)
        .filter_map(|(d, a)| match (d, a) {
            (Some(d), _) => Some(MergeInput::Dataset(d)),
            (_, Some(a)) => Some(MergeInput::DataArray(a)),
            _ => None,
        })
        .collect();
    merge(inputs, opts).or_fail()
}

fn do_concat(list: &rhai::Array, dim: &str, opts: &ConcatOptions) -> Res<Dynamic> {
    if list.iter().all(|v| v.is::<DataArray>()) && !list.is_empty() {
        let v: Vec<DataArray> = list.iter().filter_map(|v| v.clone().try_cast()).collect();
        let refs: Vec<&DataArray> = v.iter().collect();
        return concat(&refs, dim).or_fail().map(Dynamic::from);
    }
    if list.iter().all(|v| v.is::<Dataset>()) && !list.is_empty() {
        let v: Vec<Dataset> = list.iter().filter_map(|v| v.clone().try_cast()).collect();
        let refs: Vec<&Dataset> = v.iter().collect();
        return concat_datasets(&refs, dim, opts)
            .or_fail()
            .map(Dynamic::from);
    }
    bad("concat: expected a non-empty array of DataArrays, or of Datasets (concatenate joins Arrays)")
}

fn bind_combine(b: &mut Binder<'_>) {
    b.func(
        "merge",
        "merge([ds, da, ...], #{join, compat, combine_attrs}?) | ds.merge(other, opts?)",
        |l: rhai::Array| do_merge(&l, &MergeOptions::default()),
    )
    .func("merge", "", |l: rhai::Array, m: Map| {
        do_merge(&l, &merge_options(&m)?)
    })
    .func("merge", "", |x: &mut Dataset, o: Dataset| {
        x.merge(&o, &MergeOptions::default()).or_fail()
    })
    .func("merge", "", |x: &mut Dataset, o: DataArray| {
        x.merge(&o, &MergeOptions::default()).or_fail()
    })
    .func("merge", "", |x: &mut Dataset, o: Dataset, m: Map| {
        x.merge(&o, &merge_options(&m)?).or_fail()
    })
    .func("merge", "", |x: &mut Dataset, o: DataArray, m: Map| {
        x.merge(&o, &merge_options(&m)?).or_fail()
    })
    .func(
        "concat",
        "concat([a, b], dim, #{data_vars, compat, join, combine_attrs}?)",
        |l: rhai::Array, d: &str| do_concat(&l, d, &ConcatOptions::default()),
    )
    .func("concat", "", |l: rhai::Array, d: &str, m: Map| {
        do_concat(&l, d, &concat_options(&m)?)
    });
}

fn bind_dataset(b: &mut Binder<'_>, rt: &Rt) {
    b.func("isel", "", |x: &mut Dataset, m: Map| {
        x.isel(&named(&positions(&m)?)).or_fail()
    })
    .func("sel", "", |x: &mut Dataset, m: Map| {
        x.sel(&named(&selection(&m)?)).or_fail()
    });
    type Red = fn(&DataArray, &[&str]) -> crate::Result<DataArray>;
    let reds: [(&str, Red); 7] = [
        ("mean", DataArray::mean),
        ("sum", DataArray::sum),
        ("min", DataArray::min),
        ("max", DataArray::max),
        ("count", DataArray::count),
        ("std", |d, x| d.std(x, 0)),
        ("variance", |d, x| d.var(x, 0)),
    ];
    for (name, f) in reds {
        b.func(name, "", move |x: &mut Dataset| {
            reduce_vars(x, &[], f).or_fail()
        })
        .func(name, "", move |x: &mut Dataset, d: Dynamic| {
            reduce_vars(x, &dims(&d, name)?, f).or_fail()
        });
    }
    b.func("groupby", "", |x: &mut Dataset, k: &str| {
        DatasetGroupBy::new(x, Grouping::By(k.to_string())).or_fail()
    })
    .func(
        "resample",
        "",
        |x: &mut Dataset, d: &str, f: &str| -> Res<DatasetGroupBy> {
            let mut g = DatasetGroupBy::new(x, Grouping::Resample(f.to_string())).or_fail()?;
            g.dim = d.to_string();
            Ok(g)
        },
    )
    .func(
        "resample",
        "",
        |x: &mut Dataset, m: Map| -> Res<DatasetGroupBy> {
            let (d, f) = one_entry(&m, "resample")?;
            let mut g = DatasetGroupBy::new(x, Grouping::Resample(f)).or_fail()?;
            g.dim = d;
            Ok(g)
        },
    );
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
        b.func(name, "", move |g: &mut DatasetGroupBy| {
            g.reduce(|x| f(x, &[])).or_fail()
        })
        .func(name, "", move |g: &mut DatasetGroupBy, d: Dynamic| {
            let d = dims(&d, name)?;
            g.reduce(|x| f(x, &strs(&d))).or_fail()
        });
    }
    type GOp = fn(&GroupBy, &DataArray) -> crate::Result<DataArray>;
    let gops: [(&str, GOp); 4] = [
        ("-", GroupBy::sub),
        ("+", GroupBy::add),
        ("*", GroupBy::mul),
        ("/", GroupBy::div),
    ];
    for (op, f) in gops {
        b.func(op, "", move |g: DatasetGroupBy, y: Dataset| {
            g.binary(&y, f).or_fail()
        });
    }
    for op in OPERATORS {
        let with = move |x: &Dataset, s: Scalar| {
            x.map_vars(|da| Ok(Some(da.try_map(|a| binary(op, a, Operand::Scalar(s)))?)))
                .or_fail()
        };
        b.func(op, "", move |x: Dataset, y: INT| with(&x, Scalar::Int(y)))
            .func(op, "", move |x: Dataset, y: FLOAT| {
                with(&x, Scalar::Float(y))
            });
        let left = move |s: Scalar, x: &Dataset| {
            x.map_vars(|da| Ok(Some(da.try_map(|a| binary_left(op, s, a))?)))
                .or_fail()
        };
        b.func(op, "", move |y: INT, x: Dataset| left(Scalar::Int(y), &x))
            .func(op, "", move |y: FLOAT, x: Dataset| {
                left(Scalar::Float(y), &x)
            });
        b.func(op, "", move |x: Dataset, y: Dataset| {
            x.map_vars(|da| {
                let other = y.get(da.name().unwrap_or_default())?;
                Ok(Some(da.zip_with(&other, &format!("`{op}`"), |p, q| {
                    binary(op, p, Operand::from(q))
                })?))
            })
            .or_fail()
        });
    }
    b.engine
        .register_indexer_get(|x: &mut Dataset, name: &str| -> Res<Dynamic> {
            if x.data_vars().contains(&name) {
                return x.get(name).or_fail().map(Dynamic::from);
            }
            if let Some(c) = x.coords().get(name) {
                return Ok(Dynamic::from(labels(&c.values)));
            }
            x.get(name).or_fail().map(Dynamic::from)
        });
    b.engine
        .register_indexer_set(|x: &mut Dataset, name: &str, v: DataArray| -> Res<()> {
            x.insert(name, &v).or_fail()
        });
    let r = rt.clone();
    b.func(
        "persist",
        "",
        move |ctx: NativeCallContext, x: &mut Dataset| persist_all(&r, &ctx, x),
    );
    // xarray's `ds.compute()` loads every variable: here they are persisted.
    let r = rt.clone();
    b.func(
        "compute",
        "",
        move |ctx: NativeCallContext, x: &mut Dataset| persist_all(&r, &ctx, x),
    );
    let r = rt.clone();
    b.func("explain", "", move |x: &mut Dataset| {
        let mut s = String::new();
        for v in x.data_vars() {
            s.push_str(&format!("variable `{v}`:\n"));
            s.push_str(
                &x.get(v)
                    .or_fail()?
                    .data()
                    .explain_with(r.session())
                    .or_fail()?,
            );
        }
        Ok::<_, Box<rhai::EvalAltResult>>(s)
    });
    let r = rt.clone();
    b.func(
        "to_netcdf",
        "",
        move |ctx: NativeCallContext, x: &mut Dataset, p: &str| {
            write(
                &r,
                &ctx,
                Target::Dataset(x),
                p,
                Format::NetCdf(WriteOptions::default()),
            )
        },
    );
    let r = rt.clone();
    b.func(
        "to_netcdf",
        "",
        move |ctx: NativeCallContext, x: &mut Dataset, p: &str, m: Map| {
            write(
                &r,
                &ctx,
                Target::Dataset(x),
                p,
                Format::NetCdf(netcdf_options(&m)?),
            )
        },
    );
    let r = rt.clone();
    b.func(
        "to_zarr",
        "",
        move |ctx: NativeCallContext, x: &mut Dataset, p: &str| {
            write(
                &r,
                &ctx,
                Target::Dataset(x),
                p,
                Format::Zarr(ZarrWriteOptions::default()),
            )
        },
    );
    let r = rt.clone();
    b.func(
        "to_zarr",
        "",
        move |ctx: NativeCallContext, x: &mut Dataset, p: &str, m: Map| {
            write(
                &r,
                &ctx,
                Target::Dataset(x),
                p,
                Format::Zarr(zarr_options(&m)?),
            )
        },
    );
    b.func("print", "", |x: Dataset| {
        format!("{x:?}").trim_end().to_string()
    })
    .func("to_string", "", |x: &mut Dataset| {
        format!("{x:?}").trim_end().to_string()
    })
    .func("to_debug", "", |x: &mut Dataset| {
        format!("{x:?}").trim_end().to_string()
    })
    .func("to_string", "", |g: &mut DatasetGroupBy| {
        match g.ds.data_vars().first() {
            Some(v) => match g.ds.get(v).ok().and_then(|da| g.of(&da).ok().flatten()) {
                Some(gb) => group_text(&gb).replace("GroupBy", "DatasetGroupBy"),
                None => "<chunkwise.DatasetGroupBy>".to_string(),
            },
            None => "<chunkwise.DatasetGroupBy>".to_string(),
        }
    });
    b.prop("Dataset", "data_vars", |x: &mut Dataset| {
        x.data_vars()
            .iter()
            .map(|v| Dynamic::from(v.to_string()))
            .collect::<rhai::Array>()
    })
    .prop("Dataset", "dims", |x: &mut Dataset| sizes(x))
    .prop("Dataset", "sizes", |x: &mut Dataset| sizes(x))
    .prop("Dataset", "coords", |x: &mut Dataset| {
        coord_names(x.coords())
    })
    .prop("Dataset", "attrs", |x: &mut Dataset| attrs_map(x.attrs()));
}

/// Every data variable persisted (through the runtime, one job each).
fn persist_all(rt: &Rt, ctx: &NativeCallContext, x: &Dataset) -> Res<Dataset> {
    let mut failed = None;
    let out = x.map_vars(|da| match persist(rt, ctx, da) {
        Ok(p) => Ok(Some(p)),
        Err(e) => {
            failed = Some(e);
            Err(crate::Error::plan("persist failed"))
        }
    });
    match (out, failed) {
        (_, Some(e)) => Err(e),
        (o, None) => o.or_fail(),
    }
}

fn sizes(x: &Dataset) -> Map {
    x.sizes()
        .iter()
        .map(|(d, n)| (d.as_str().into(), Dynamic::from(*n as INT)))
        .collect()
}

pub(super) fn bind(b: &mut Binder<'_>, rt: &Rt) {
    bind_open(b);
    bind_combine(b);
    bind_dataset(b, rt);
}
