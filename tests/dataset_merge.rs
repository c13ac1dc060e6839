//! `merge` and `concat_datasets` (xarray's `xr.merge`, `Dataset.merge` and
//! `xr.concat` of datasets) against references written here: values looked
//! up label by label in hand-built `ndarray` inputs (NaN where an input lacks
//! a label), joined labels from `BTreeSet`s, over several chunkings. Also:
//! what each `compat`/`join`/`combine_attrs` option refuses, with a message
//! naming the variable or dimension, and that merging computes nothing
//! unless values must be compared.

use chunkwise::dataset::{
    concat_datasets, merge, AttrValue, Attrs, CombineAttrs, Compat, ConcatOptions, Coord,
    CoordValues, Coords, DataArray, DataVars, Dataset, Join, MergeInput, MergeOptions, Pos,
};
use chunkwise::prelude::*;
use ndarray::{ArrayD, IxDyn};
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The chunk sizes every value test runs over.
const CHUNKINGS: [usize; 4] = [1, 2, 3, 100];

fn ints(v: &[i64]) -> CoordValues {
    CoordValues::Int(v.to_vec())
}

/// Values with a pattern no reindexing can fake: `seed * 100 + i`.
fn pattern(shape: &[usize], seed: f64) -> ArrayD<f64> {
    let n: usize = shape.iter().product();
    ArrayD::from_shape_vec(
        IxDyn(shape),
        (0..n).map(|i| seed * 100.0 + i as f64).collect(),
    )
    .unwrap()
}

/// A named array over `dims` with index coordinates `labels` (one per dim).
fn labelled(
    name: &str,
    values: &ArrayD<f64>,
    dims: &[&str],
    labels: &[CoordValues],
    chunk: usize,
) -> DataArray {
    let mut coords = Coords::default();
    for (d, l) in dims.iter().zip(labels) {
        coords.insert(d, Coord::new(d, l.clone()));
    }
    let data = from_ndarray(values, chunk).unwrap();
    DataArray::new(data, dims, coords).unwrap().with_name(name)
}

fn dataset(vars: Vec<DataArray>, attrs: Attrs) -> Dataset {
    let vars = vars
        .into_iter()
        .map(|v| (v.name().unwrap().to_string(), v))
        .collect();
    Dataset::new(vars, Coords::default(), attrs).unwrap()
}

fn text_attrs(pairs: &[(&str, &str)]) -> Attrs {
    let mut a = Attrs::new();
    for (k, v) in pairs {
        a.insert(*k, AttrValue::Text(v.to_string()));
    }
    a
}

/// Reference reindexing of rows: row `k` of the result is the row of `src`
/// labelled `out[k]`, NaN where `labels` has no such label.
fn rows_at(src: &ArrayD<f64>, labels: &[i64], out: &[i64]) -> ArrayD<f64> {
    let at: HashMap<i64, usize> = labels.iter().enumerate().map(|(i, &l)| (l, i)).collect();
    let mut shape = src.shape().to_vec();
    shape[0] = out.len();
    let mut r = ArrayD::from_elem(IxDyn(&shape), f64::NAN);
    for (k, l) in out.iter().enumerate() {
        if let Some(&i) = at.get(l) {
            r.index_axis_mut(ndarray::Axis(0), k)
                .assign(&src.index_axis(ndarray::Axis(0), i));
        }
    }
    r
}

fn assert_same(got: &ArrayD<f64>, want: &ArrayD<f64>, what: &str) {
    assert_eq!(got.shape(), want.shape(), "{what}: shape");
    for (i, (g, w)) in got.iter().zip(want.iter()).enumerate() {
        assert!(
            g == w || (g.is_nan() && w.is_nan()),
            "{what}: value {i}: got {g}, want {w}"
        );
    }
}

fn values(ds: &Dataset, name: &str) -> ArrayD<f64> {
    ds.get(name).unwrap().values().unwrap()
}

fn labels_of(ds: &Dataset, dim: &str) -> CoordValues {
    ds.coords().get(dim).unwrap().values.clone()
}

fn plan_error(r: chunkwise::Result<Dataset>) -> String {
    match r {
        Err(e @ chunkwise::Error::Plan(_)) => e.message().to_string(),
        Err(e) => panic!("expected a plan error, got {e}"),
        Ok(ds) => panic!("expected a plan error, got {ds:?}"),
    }
}

fn opts(join: Join, compat: Compat) -> MergeOptions {
    MergeOptions {
        join,
        compat,
        ..MergeOptions::default()
    }
}

#[test]
fn outer_join_fills_nan_on_labels_an_input_lacks() {
    // Overlapping, interleaved and unsorted labels; a 2-D float variable, a
    // 1-D integer variable (becomes float64 with NaN) and a variable along a
    // dimension only one input has.
    let xa = [3, 0, 1, 7, 5];
    let xb = [2, 5, 4, 3, 9, 8, 11];
    let y = ints(&[10, 20, 30]);
    let a_vals = pattern(&[5, 3], 1.0);
    let n_vals = ArrayD::from_shape_vec(IxDyn(&[5]), vec![4, -1, 0, 12, 7]).unwrap();
    let b_vals = pattern(&[7], 2.0);
    let z_vals = pattern(&[4], 3.0);
    let union: Vec<i64> = xa
        .iter()
        .chain(&xb)
        .copied()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    for chunk in CHUNKINGS {
        let a = labelled("a", &a_vals, &["x", "y"], &[ints(&xa), y.clone()], chunk);
        let mut c = Coords::default();
        c.insert("x", Coord::new("x", ints(&xa)));
        let n = DataArray::new(from_ndarray(&n_vals, chunk).unwrap(), &["x"], c)
            .unwrap()
            .with_name("n");
        let b = labelled("b", &b_vals, &["x"], &[ints(&xb)], chunk);
        let z = labelled("zv", &z_vals, &["z"], &[ints(&[1, 2, 3, 4])], chunk);
        let first = dataset(vec![a, n], Attrs::new());
        let second = dataset(vec![b, z], Attrs::new());
        let m = merge([&first, &second], &MergeOptions::default()).unwrap();
        assert_eq!(labels_of(&m, "x"), ints(&union), "chunks {chunk}");
        assert_eq!(labels_of(&m, "y"), y);
        assert_eq!(m.data_vars(), ["a", "n", "b", "zv"]);
        assert_same(&values(&m, "a"), &rows_at(&a_vals, &xa, &union), "a");
        assert_same(
            &values(&m, "n"),
            &rows_at(&n_vals.mapv(|v| v as f64), &xa, &union),
            "n",
        );
        assert_eq!(m.get("n").unwrap().dtype(), DType::F64, "int with NaN");
        assert_same(&values(&m, "b"), &rows_at(&b_vals, &xb, &union), "b");
        assert_same(&values(&m, "zv"), &z_vals, "zv untouched");
    }
}

#[test]
fn inner_left_right_joins_take_their_labels() {
    let xa = [5, 1, 3, 2];
    let xb = [2, 3, 9, 5, 1];
    let xc = [3, 5, 2, 8];
    let (va, vb, vc) = (
        pattern(&[4, 2], 1.0),
        pattern(&[5], 2.0),
        pattern(&[4], 3.0),
    );
    for chunk in CHUNKINGS {
        let a = labelled("a", &va, &["x", "w"], &[ints(&xa), ints(&[0, 1])], chunk);
        let b = labelled("b", &vb, &["x"], &[ints(&xb)], chunk);
        let c = labelled("c", &vc, &["x"], &[ints(&xc)], chunk);
        let cases: [(Join, Vec<i64>); 3] = [
            // The labels all have, in the first's order (pandas' intersection).
            (Join::Inner, vec![5, 3, 2]),
            (Join::Left, xa.to_vec()),
            (Join::Right, xc.to_vec()),
        ];
        for (join, want) in cases {
            let m = merge([&a, &b, &c], &opts(join, Compat::NoConflicts)).unwrap();
            let what = format!("{join}, chunks {chunk}");
            assert_eq!(labels_of(&m, "x"), ints(&want), "{what}");
            assert_same(&values(&m, "a"), &rows_at(&va, &xa, &want), &what);
            assert_same(&values(&m, "b"), &rows_at(&vb, &xb, &want), &what);
            assert_same(&values(&m, "c"), &rows_at(&vc, &xc, &want), &what);
        }
    }
}

#[test]
fn exact_and_override_joins() {
    let a = labelled("a", &pattern(&[3], 1.0), &["x"], &[ints(&[0, 1, 2])], 2);
    let same = labelled("s", &pattern(&[3], 2.0), &["x"], &[ints(&[0, 1, 2])], 2);
    let moved = labelled("b", &pattern(&[3], 3.0), &["x"], &[ints(&[1, 2, 3])], 2);
    let longer = labelled("c", &pattern(&[4], 4.0), &["x"], &[ints(&[0, 1, 2, 3])], 2);

    let m = merge([&a, &same], &opts(Join::Exact, Compat::NoConflicts)).unwrap();
    assert_eq!(labels_of(&m, "x"), ints(&[0, 1, 2]));
    let e = plan_error(merge([&a, &moved], &opts(Join::Exact, Compat::NoConflicts)));
    assert!(e.contains("exact") && e.contains("`x`"), "{e}");

    // Override: the first's labels, the others' data unchanged.
    let m = merge([&a, &moved], &opts(Join::Override, Compat::NoConflicts)).unwrap();
    assert_eq!(labels_of(&m, "x"), ints(&[0, 1, 2]));
    assert_same(&values(&m, "b"), &pattern(&[3], 3.0), "override");
    let e = plan_error(merge(
        [&a, &longer],
        &opts(Join::Override, Compat::NoConflicts),
    ));
    assert!(e.contains("override") && e.contains("`x`"), "{e}");
}

#[test]
fn dimension_without_labels_must_have_one_length() {
    let data = |n: usize| from_ndarray(&pattern(&[n], 1.0), 2).unwrap();
    let a = DataArray::new(data(3), &["x"], Coords::default())
        .unwrap()
        .with_name("a");
    let b = DataArray::new(data(3), &["x"], Coords::default())
        .unwrap()
        .with_name("b");
    let c = DataArray::new(data(4), &["x"], Coords::default())
        .unwrap()
        .with_name("c");
    let m = merge([&a, &b], &MergeOptions::default()).unwrap();
    assert_eq!(m.sizes(), [("x".to_string(), 3)]);
    let e = plan_error(merge([&a, &c], &MergeOptions::default()));
    assert!(
        e.contains("`x`") && e.contains('3') && e.contains('4'),
        "{e}"
    );
    // Labels elsewhere: an unlabelled dimension must have the joined length.
    let d = labelled("d", &pattern(&[4], 2.0), &["x"], &[ints(&[0, 1, 2, 5])], 2);
    let e = plan_error(merge([&a, &d], &MergeOptions::default()));
    assert!(e.contains("`x`"), "{e}");
}

#[test]
fn no_conflicts_combines_values_where_both_are_not_nan() {
    let nan = f64::NAN;
    let x = [0, 1, 2, 3, 4];
    let t1 = ArrayD::from_shape_vec(IxDyn(&[5]), vec![1.0, nan, 3.0, nan, 5.0]).unwrap();
    let t2 = ArrayD::from_shape_vec(IxDyn(&[4]), vec![nan, 2.0, 3.0, 6.0]).unwrap();
    let x2 = [0, 1, 2, 5];
    for chunk in CHUNKINGS {
        let a = labelled("t", &t1, &["x"], &[ints(&x)], chunk);
        let b = labelled("t", &t2, &["x"], &[ints(&x2)], chunk);
        let m = merge([&a, &b], &MergeOptions::default()).unwrap();
        assert_eq!(labels_of(&m, "x"), ints(&[0, 1, 2, 3, 4, 5]));
        // Label by label: a's value, else b's.
        let want = [1.0, 2.0, 3.0, nan, 5.0, 6.0];
        let want = ArrayD::from_shape_vec(IxDyn(&[6]), want.to_vec()).unwrap();
        assert_same(&values(&m, "t"), &want, &format!("chunks {chunk}"));

        // A conflict where both have a value.
        let mut t3 = t2.clone();
        t3[[2]] = 3.5;
        let c = labelled("t", &t3, &["x"], &[ints(&x2)], chunk);
        let e = plan_error(merge([&a, &c], &MergeOptions::default()));
        assert!(e.contains("`t`") && e.contains("no_conflicts"), "{e}");
        assert!(e.contains("1 of 6 positions"), "{e}");
        // Override takes the first's values without looking.
        let m = merge([&a, &c], &opts(Join::Outer, Compat::Override)).unwrap();
        assert_same(
            &values(&m, "t"),
            &rows_at(&t1, &x, &[0, 1, 2, 3, 4, 5]),
            "override",
        );
    }
}

#[test]
fn equals_and_identical_accept_equal_variables_and_refuse_others() {
    let nan = f64::NAN;
    let v = ArrayD::from_shape_vec(IxDyn(&[2, 3]), vec![1.0, nan, 3.0, 4.0, 5.0, 6.0]).unwrap();
    let labels = [ints(&[0, 1]), ints(&[7, 8, 9])];
    let a = labelled("v", &v, &["x", "y"], &labels, 2).with_attrs(text_attrs(&[("units", "K")]));
    // Built separately, chunked otherwise: equal values, NaN at the same place.
    let b = labelled("v", &v, &["x", "y"], &labels, 1).with_attrs(text_attrs(&[("units", "K")]));
    for compat in [Compat::Equals, Compat::Identical, Compat::NoConflicts] {
        let m = merge([&a, &b], &opts(Join::Outer, compat)).unwrap();
        assert_same(&values(&m, "v"), &v, compat.as_str());
    }
    // The same variable transposed is the same variable.
    let t = b.transpose(&["y", "x"]).unwrap();
    let m = merge([&a, &t], &opts(Join::Outer, Compat::Equals)).unwrap();
    assert_eq!(m.get("v").unwrap().dims(), ["x", "y"]);
    assert_same(&values(&m, "v"), &v, "transposed");

    // A value where the other has NaN: no conflict, but not equal.
    let mut filled = v.clone();
    filled[[0, 1]] = 2.0;
    let c =
        labelled("v", &filled, &["x", "y"], &labels, 2).with_attrs(text_attrs(&[("units", "K")]));
    merge([&a, &c], &opts(Join::Outer, Compat::NoConflicts)).unwrap();
    let e = plan_error(merge([&a, &c], &opts(Join::Outer, Compat::Equals)));
    assert!(e.contains("`v`") && e.contains("equals"), "{e}");

    // Other attributes: equal, not identical.
    let d = labelled("v", &v, &["x", "y"], &labels, 2).with_attrs(text_attrs(&[("units", "C")]));
    merge([&a, &d], &opts(Join::Outer, Compat::Equals)).unwrap();
    let e = plan_error(merge([&a, &d], &opts(Join::Outer, Compat::Identical)));
    assert!(e.contains("`v`") && e.contains("identical"), "{e}");

    // Other dims.
    let w = labelled("v", &pattern(&[2], 0.0), &["x"], &[ints(&[0, 1])], 2);
    let e = plan_error(merge([&a, &w], &MergeOptions::default()));
    assert!(e.contains("`v`") && e.contains("dims"), "{e}");
}

#[test]
fn merging_a_dataarray_with_a_dataset() {
    let air = labelled("air", &pattern(&[3], 1.0), &["x"], &[ints(&[0, 1, 2])], 2)
        .with_attrs(text_attrs(&[("units", "K")]));
    let prec = labelled(
        "prec",
        &pattern(&[4], 2.0),
        &["x"],
        &[ints(&[1, 2, 3, 4])],
        2,
    );
    let ds = dataset(vec![prec], text_attrs(&[("title", "obs")]));

    // xr.merge: a DataArray's attributes are its object's; the first's win.
    let m = merge(
        [MergeInput::from(&air), MergeInput::from(&ds)],
        &MergeOptions::default(),
    )
    .unwrap();
    assert_eq!(m.data_vars(), ["air", "prec"]);
    assert_eq!(labels_of(&m, "x"), ints(&[0, 1, 2, 3, 4]));
    assert_eq!(m.attrs(), &text_attrs(&[("units", "K")]));
    assert_eq!(
        m.get("air").unwrap().attrs(),
        &text_attrs(&[("units", "K")])
    );
    assert_same(
        &values(&m, "air"),
        &rows_at(&pattern(&[3], 1.0), &[0, 1, 2], &[0, 1, 2, 3, 4]),
        "air",
    );
    assert_same(
        &values(&m, "prec"),
        &rows_at(&pattern(&[4], 2.0), &[1, 2, 3, 4], &[0, 1, 2, 3, 4]),
        "prec",
    );
    let m = merge(
        [MergeInput::from(&ds), MergeInput::from(&air)],
        &MergeOptions::default(),
    )
    .unwrap();
    assert_eq!(m.attrs(), &text_attrs(&[("title", "obs")]));

    // Dataset.merge: the same variables.
    let m2 = ds.merge(&air, &MergeOptions::default()).unwrap();
    assert_eq!(m2.data_vars(), ["prec", "air"]);
    assert_same(&values(&m2, "air"), &values(&m, "air"), "Dataset.merge");

    // An unnamed DataArray is refused.
    let unnamed = DataArray::new(
        from_ndarray(&pattern(&[3], 1.0), 2).unwrap(),
        &["x"],
        Coords::default(),
    )
    .unwrap();
    let e = plan_error(merge(
        [MergeInput::from(&ds), MergeInput::from(&unnamed)],
        &MergeOptions::default(),
    ));
    assert!(e.contains("object 1") && e.contains("name"), "{e}");
    let e = plan_error(ds.merge(&unnamed, &MergeOptions::default()));
    assert!(e.contains("name"), "{e}");
}

#[test]
fn combine_attrs_options() {
    let one = |a: Attrs| dataset(vec![], a);
    let a = one(text_attrs(&[("title", "a"), ("source", "model")]));
    let b = one(text_attrs(&[("title", "b"), ("history", "made")]));
    let with = |how: CombineAttrs| MergeOptions {
        combine_attrs: how,
        ..MergeOptions::default()
    };
    let m = merge([&a, &b], &with(CombineAttrs::Override)).unwrap();
    assert_eq!(m.attrs(), a.attrs());
    let m = merge([&a, &b], &with(CombineAttrs::Drop)).unwrap();
    assert!(m.attrs().is_empty());
    let m = merge([&a, &b], &with(CombineAttrs::DropConflicts)).unwrap();
    assert_eq!(
        m.attrs(),
        &text_attrs(&[("source", "model"), ("history", "made")])
    );
    let e = plan_error(merge([&a, &b], &with(CombineAttrs::NoConflicts)));
    assert!(e.contains("`title`"), "{e}");
    let e = plan_error(merge([&a, &b], &with(CombineAttrs::Identical)));
    assert!(e.contains("identical"), "{e}");
    let c = one(text_attrs(&[("source", "model"), ("title", "a")]));
    let m = merge([&a, &c], &with(CombineAttrs::Identical)).unwrap();
    assert_eq!(m.attrs(), a.attrs());
    let m = merge([&a, &c], &with(CombineAttrs::NoConflicts)).unwrap();
    assert_eq!(m.attrs(), a.attrs());
}

#[test]
fn options_parse_from_xarray_names() {
    for s in ["outer", "inner", "left", "right", "exact", "override"] {
        assert_eq!(s.parse::<Join>().unwrap().as_str(), s);
    }
    for s in ["no_conflicts", "equals", "identical", "override"] {
        assert_eq!(s.parse::<Compat>().unwrap().as_str(), s);
    }
    for s in [
        "override",
        "drop",
        "identical",
        "no_conflicts",
        "drop_conflicts",
    ] {
        assert_eq!(s.parse::<CombineAttrs>().unwrap().as_str(), s);
    }
    let refused = [
        "broadcast_equals".parse::<Compat>().err(),
        "minimal".parse::<Compat>().err(),
        "nope".parse::<Compat>().err(),
        "nope".parse::<Join>().err(),
        "different".parse::<DataVars>().err(),
        "nope".parse::<CombineAttrs>().err(),
    ];
    for e in refused {
        assert!(matches!(e, Some(chunkwise::Error::Plan(_))), "{e:?}");
    }
}

#[test]
fn coordinates_merge_and_clash_with_data_variables() {
    let a = labelled("a", &pattern(&[2], 1.0), &["x"], &[ints(&[0, 1])], 2);
    let mut b = labelled("b", &pattern(&[2], 2.0), &["x"], &[ints(&[0, 1])], 2);
    let scalar = |v: &str| Coord {
        dims: vec![],
        values: CoordValues::Text(vec![v.into()]),
        attrs: Attrs::new(),
    };
    let a = a.assign_coord("season", scalar("JJA")).unwrap();
    b = b.assign_coord("season", scalar("JJA")).unwrap();
    let m = merge([&a, &b], &MergeOptions::default()).unwrap();
    assert_eq!(
        m.coords().get("season").unwrap().values,
        CoordValues::Text(vec!["JJA".into()])
    );
    let c = b.assign_coord("season", scalar("DJF")).unwrap();
    let e = plan_error(merge([&a, &c], &MergeOptions::default()));
    assert!(e.contains("`season`"), "{e}");
    merge([&a, &c], &opts(Join::Outer, Compat::Override)).unwrap();

    // `x` is a coordinate in one and a data variable in the other.
    let x = DataArray::new(
        from_ndarray(&pattern(&[2], 3.0), 2).unwrap(),
        &["y"],
        Coords::default(),
    )
    .unwrap()
    .with_name("x");
    let e = plan_error(merge([&a, &x], &MergeOptions::default()));
    assert!(e.contains("`x`") && e.contains("coordinate"), "{e}");
}

#[test]
fn outer_join_of_text_and_decreasing_labels_is_sorted() {
    let s = |v: &[&str]| CoordValues::Text(v.iter().map(|x| x.to_string()).collect());
    let a = labelled("a", &pattern(&[3], 1.0), &["k"], &[s(&["b", "d", "a"])], 2);
    let b = labelled("b", &pattern(&[2], 2.0), &["k"], &[s(&["c", "a"])], 2);
    let m = merge([&a, &b], &MergeOptions::default()).unwrap();
    assert_eq!(labels_of(&m, "k"), s(&["a", "b", "c", "d"]));
    let nan = f64::NAN;
    let want = ArrayD::from_shape_vec(IxDyn(&[4]), vec![102.0, 100.0, nan, 101.0]).unwrap();
    assert_same(&values(&m, "a"), &want, "a");

    let f = |v: &[f64]| CoordValues::Float(v.to_vec());
    let a = labelled(
        "a",
        &pattern(&[3], 1.0),
        &["lat"],
        &[f(&[60.0, 45.0, 30.0])],
        2,
    );
    let b = labelled(
        "b",
        &pattern(&[3], 2.0),
        &["lat"],
        &[f(&[50.0, 45.0, 40.0])],
        2,
    );
    let m = merge([&a, &b], &MergeOptions::default()).unwrap();
    assert_eq!(labels_of(&m, "lat"), f(&[30.0, 40.0, 45.0, 50.0, 60.0]));
    let want = ArrayD::from_shape_vec(IxDyn(&[5]), vec![102.0, nan, 101.0, nan, 100.0]).unwrap();
    assert_same(&values(&m, "a"), &want, "lat a");
    // Labels of different kinds do not join.
    let c = labelled(
        "c",
        &pattern(&[3], 2.0),
        &["lat"],
        &[ints(&[50, 45, 40])],
        2,
    );
    let e = plan_error(merge([&a, &c], &MergeOptions::default()));
    assert!(e.contains("`lat`"), "{e}");
}

static LAZY_READS: AtomicUsize = AtomicUsize::new(0);

/// `v` read through a counter of chunk reads.
fn counted(v: &ArrayD<f64>, chunk: usize, counter: &'static AtomicUsize) -> Array {
    from_ndarray(v, chunk).unwrap().map_blocks(
        move |c, _| {
            counter.fetch_add(1, Ordering::SeqCst);
            Ok(c.clone())
        },
        DType::F64,
    )
}

#[test]
fn merge_computes_only_to_compare_values() {
    let v = pattern(&[4], 1.0);
    let on = |x: &[i64]| {
        let mut c = Coords::default();
        c.insert("x", Coord::new("x", ints(x)));
        c
    };
    let a = DataArray::new(counted(&v, 2, &LAZY_READS), &["x"], on(&[0, 1, 2, 3]))
        .unwrap()
        .with_name("a");
    let b = DataArray::new(counted(&v, 2, &LAZY_READS), &["x"], on(&[2, 3, 4, 5]))
        .unwrap()
        .with_name("b");
    // Different variables, reindexed: nothing is read.
    let m = merge([&a, &b], &MergeOptions::default()).unwrap();
    // The same array twice is not compared.
    let m2 = merge([&a, &a], &MergeOptions::default()).unwrap();
    let ds = dataset(vec![a.clone()], Attrs::new());
    ds.merge(&a, &MergeOptions::default()).unwrap();
    assert_eq!(LAZY_READS.load(Ordering::SeqCst), 0, "merge read data");
    assert_eq!(m.sizes(), [("x".to_string(), 6)]);
    assert_eq!(m2.sizes(), [("x".to_string(), 4)]);
    // Two arrays of one name must be compared: that reads them.
    let a2 = b.clone().with_name("a");
    let e = plan_error(merge([&a, &a2], &MergeOptions::default()));
    assert!(e.contains("`a`"), "{e}");
    assert!(
        LAZY_READS.load(Ordering::SeqCst) > 0,
        "the check read nothing"
    );
}

// ---------------------------------------------------------------------------
// concat_datasets

/// A dataset of `t(time, x)`, `c(x)` (no time) and a scalar coordinate.
fn period(times: &[i64], seed: f64, chunk: usize, season: &str) -> Dataset {
    let nt = times.len();
    let t = labelled(
        "t",
        &pattern(&[nt, 3], seed),
        &["time", "x"],
        &[ints(times), ints(&[0, 1, 2])],
        chunk,
    )
    .with_attrs(text_attrs(&[("units", "K")]));
    let c = labelled(
        "c",
        &pattern(&[3], seed + 50.0),
        &["x"],
        &[ints(&[0, 1, 2])],
        chunk,
    );
    let mut coords = Coords::default();
    coords.insert(
        "season",
        Coord {
            dims: vec![],
            values: CoordValues::Text(vec![season.into()]),
            attrs: Attrs::new(),
        },
    );
    Dataset::new(
        vec![("t".into(), t), ("c".into(), c)],
        coords,
        text_attrs(&[("title", &format!("period {seed}"))]),
    )
    .unwrap()
}

#[test]
fn concat_datasets_along_an_existing_dimension() {
    for chunk in CHUNKINGS {
        let a = period(&[0, 1], 1.0, chunk, "DJF");
        let b = period(&[2, 3, 4], 2.0, chunk, "DJF");
        let ds = concat_datasets(&[&a, &b], "time", &ConcatOptions::default()).unwrap();
        let what = format!("chunks {chunk}");
        assert_eq!(labels_of(&ds, "time"), ints(&[0, 1, 2, 3, 4]), "{what}");
        let want = ndarray::concatenate(
            ndarray::Axis(0),
            &[pattern(&[2, 3], 1.0).view(), pattern(&[3, 3], 2.0).view()],
        )
        .unwrap();
        assert_same(&values(&ds, "t"), &want, &what);
        // data_vars="all": `c` gets `time` first, each dataset's row repeated.
        let c = ds.get("c").unwrap();
        assert_eq!(c.dims(), ["time", "x"]);
        let mut want = ArrayD::zeros(IxDyn(&[5, 3]));
        for r in 0..5 {
            let seed = if r < 2 { 51.0 } else { 52.0 };
            for k in 0..3 {
                want[[r, k]] = seed * 100.0 + k as f64;
            }
        }
        assert_same(&c.values().unwrap(), &want, &format!("c, {what}"));
        // Equal scalar coordinates stay scalar; the first's attributes.
        assert_eq!(ds.coords().get("season").unwrap().dims.len(), 0);
        assert_eq!(ds.attrs(), a.attrs());
        assert_eq!(ds.get("t").unwrap().attrs(), &text_attrs(&[("units", "K")]));

        // data_vars="minimal": `c` taken once (equal in both).
        let minimal = ConcatOptions {
            data_vars: DataVars::Minimal,
            ..ConcatOptions::default()
        };
        let b_same_c = {
            let mut b = period(&[2, 3, 4], 2.0, chunk, "DJF");
            b.insert("c", &a.get("c").unwrap()).unwrap();
            b
        };
        let ds = concat_datasets(&[&a, &b_same_c], "time", &minimal).unwrap();
        assert_eq!(ds.get("c").unwrap().dims(), ["x"]);
        assert_same(&values(&ds, "c"), &pattern(&[3], 51.0), "minimal c");
        let e = plan_error(concat_datasets(&[&a, &b], "time", &minimal));
        assert!(e.contains("`c`"), "{e}");
    }
}

#[test]
fn concat_datasets_scalar_coordinates_new_dimensions_and_missing_variables() {
    let a = period(&[0, 1], 1.0, 2, "DJF");
    let b = period(&[2, 3], 2.0, 2, "MAM");
    // Scalar coordinates that differ become coordinates along the dimension.
    let ds = concat_datasets(&[&a, &b], "time", &ConcatOptions::default()).unwrap();
    let season = ds.coords().get("season").unwrap();
    assert_eq!(season.dims, ["time"]);
    let s = |v: &[&str]| CoordValues::Text(v.iter().map(|x| x.to_string()).collect());
    assert_eq!(season.values, s(&["DJF", "DJF", "MAM", "MAM"]));

    // A dataset without the dimension (isel(time=0)) is one position of it,
    // labelled by its scalar coordinate. The dims are in first-seen order,
    // so `t` is (x, time) here, as xarray gives it.
    let first = a.isel(&[("time", Pos::At(0))]).unwrap();
    let rest = a.isel(&[("time", Pos::range(1, 2))]).unwrap();
    let ds = concat_datasets(&[&first, &rest], "time", &ConcatOptions::default()).unwrap();
    assert_eq!(labels_of(&ds, "time"), ints(&[0, 1]));
    assert_eq!(ds.get("t").unwrap().dims(), ["x", "time"]);
    let want = pattern(&[2, 3], 1.0).reversed_axes();
    assert_same(&values(&ds, "t"), &want, "isel pieces");

    // A new dimension: first, without labels.
    let ds = concat_datasets(&[&a, &b], "member", &ConcatOptions::default()).unwrap();
    assert_eq!(ds.get("t").unwrap().dims(), ["member", "time", "x"]);
    assert!(ds.coords().get("member").is_none());
    // The other dimensions were outer-joined: times 0..4.
    assert_eq!(labels_of(&ds, "time"), ints(&[0, 1, 2, 3]));
    let got = values(&ds, "t");
    let want_a = rows_at(&pattern(&[2, 3], 1.0), &[0, 1], &[0, 1, 2, 3]);
    let want_b = rows_at(&pattern(&[2, 3], 2.0), &[2, 3], &[0, 1, 2, 3]);
    let want = ndarray::stack(ndarray::Axis(0), &[want_a.view(), want_b.view()]).unwrap();
    assert_same(&got, &want, "new dim");

    // A variable missing from a dataset is NaN there.
    let mut only_t = period(&[5], 3.0, 1, "DJF");
    only_t = Dataset::new(
        vec![("t".into(), only_t.get("t").unwrap())],
        only_t.coords().clone(),
        Attrs::new(),
    )
    .unwrap();
    let ds = concat_datasets(&[&a, &only_t], "time", &ConcatOptions::default()).unwrap();
    let c = values(&ds, "c");
    assert_eq!(c.shape(), [3, 3]);
    for k in 0..3 {
        assert_eq!(c[[0, k]], 5100.0 + k as f64);
        assert_eq!(c[[1, k]], 5100.0 + k as f64);
        assert!(c[[2, k]].is_nan());
    }

    // Labels in some datasets only, and no datasets at all.
    let unlabelled = Dataset::new(
        vec![(
            "t".into(),
            DataArray::new(
                from_ndarray(&pattern(&[1, 3], 4.0), 2).unwrap(),
                &["time", "x"],
                Coords::default(),
            )
            .unwrap(),
        )],
        Coords::default(),
        Attrs::new(),
    )
    .unwrap();
    let e = plan_error(concat_datasets(
        &[&a, &unlabelled],
        "time",
        &ConcatOptions::default(),
    ));
    assert!(e.contains("`time`") && e.contains("dataset 1"), "{e}");
    let e = plan_error(concat_datasets(&[], "time", &ConcatOptions::default()));
    assert!(e.contains("`time`"), "{e}");
}
