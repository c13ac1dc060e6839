//! Elementwise operations against eager `ndarray`: arithmetic, comparisons, logic,
//! unary functions, `where_`, `fillna`, `clip`, `maximum`/`minimum`, `astype`,
//! NumPy 2 type promotion and broadcasting, on several chunkings per case and on
//! operands whose chunkings differ (so that they must be unified).

mod common;

use chunkwise::prelude::*;
use common::*;
use ndarray::{ArrayD, IxDyn};

const SHAPE: [usize; 2] = [7, 5];

type ArrOp = fn(&Array, &Array) -> Array;
/// A named binary operation and its reference.
type BinCase<R> = (&'static str, ArrOp, fn(f64, f64) -> R);
/// A named unary operation and its reference.
type UnCase = (&'static str, fn(&Array) -> Array, fn(f64) -> f64);

#[test]
fn f64_binary_ops_match_ndarray_on_every_chunking() {
    let a = data_f64(&SHAPE, 1, -2.0, 2.0);
    let b = data_f64(&SHAPE, 2, 0.5, 3.0);
    let ops: Vec<BinCase<f64>> = vec![
        ("add", |x, y| x + y, |x, y| x + y),
        ("sub", |x, y| x.sub(y).unwrap(), |x, y| x - y),
        ("mul", |x, y| x * y, |x, y| x * y),
        ("div", |x, y| x / y, |x, y| x / y),
        ("pow", |x, y| x.pow(y).unwrap(), f64::powf),
        ("maximum", |x, y| maximum(x, y), f64::max),
        ("minimum", |x, y| minimum(x, y), f64::min),
    ];
    for (ca_name, ca) in chunkings(&SHAPE) {
        for (cb_name, cb) in [(ca_name, ca.clone()), ("other", other_chunking(&SHAPE))] {
            let (x, y) = (arr(&a, ca.clone()), arr(&b, cb));
            for (name, op, f) in &ops {
                let got = eval::<f64>(&op(&x, &y));
                let want = zip_bc(&a, &b, f);
                assert_close(
                    &got,
                    &want,
                    RTOL_F64,
                    &format!("{name} {ca_name}/{cb_name}"),
                );
            }
        }
    }
}

#[test]
fn f64_comparisons_and_logic_match_ndarray() {
    // Halves, so that many elements are equal; NaN compares false (except !=).
    let a = with_nans(
        &data_f64(&SHAPE, 3, -2.0, 2.0).mapv(|v| (v * 2.0).round() / 2.0),
        4,
        0.1,
    );
    let b = data_f64(&SHAPE, 5, -2.0, 2.0).mapv(|v| (v * 2.0).round() / 2.0);
    let ops: Vec<BinCase<bool>> = vec![
        ("equal", |x, y| x.equal(y).unwrap(), |x, y| x == y),
        ("not_equal", |x, y| x.not_equal(y).unwrap(), |x, y| x != y),
        ("less", |x, y| x.less(y).unwrap(), |x, y| x < y),
        ("less_equal", |x, y| x.less_equal(y).unwrap(), |x, y| x <= y),
        ("greater", |x, y| x.greater(y).unwrap(), |x, y| x > y),
        (
            "greater_equal",
            |x, y| x.greater_equal(y).unwrap(),
            |x, y| x >= y,
        ),
        // Truth values: non-zero and NaN are true.
        (
            "logical_and",
            |x, y| x.logical_and(y).unwrap(),
            |x, y| x != 0.0 && y != 0.0,
        ),
        (
            "logical_or",
            |x, y| x.logical_or(y).unwrap(),
            |x, y| x != 0.0 || y != 0.0,
        ),
    ];
    for (ca_name, ca) in chunkings(&SHAPE) {
        let (x, y) = (arr(&a, ca), arr(&b, other_chunking(&SHAPE)));
        for (name, op, f) in &ops {
            let got = eval::<bool>(&op(&x, &y));
            assert_exact(&got, &zip_bc(&a, &b, f), &format!("{name} {ca_name}"));
        }
    }
}

#[test]
fn f64_unary_functions_match_ndarray() {
    let a = with_nans(&data_f64(&SHAPE, 6, -3.0, 3.0), 7, 0.1);
    let ops: Vec<UnCase> = vec![
        ("neg", |x| -x, |v| -v),
        ("abs", |x| x.abs(), f64::abs),
        ("sqrt", |x| x.sqrt(), f64::sqrt),
        ("exp", |x| x.exp(), f64::exp),
        ("log", |x| x.log(), f64::ln),
        ("sin", |x| x.sin(), f64::sin),
        ("cos", |x| x.cos(), f64::cos),
    ];
    for (c_name, c) in chunkings(&SHAPE) {
        let x = arr(&a, c);
        for (name, op, f) in &ops {
            let got = eval::<f64>(&op(&x));
            assert_close(&got, &a.mapv(f), RTOL_F64, &format!("{name} {c_name}"));
        }
        assert_exact(&eval::<bool>(&x.isnan()), &a.mapv(f64::is_nan), "isnan");
    }
}

#[test]
fn f32_stays_f32() {
    let a = data_f32(&SHAPE, 8, 0.1, 4.0);
    let b = data_f32(&SHAPE, 9, -1.0, 1.0);
    for (c_name, c) in chunkings(&SHAPE) {
        let (x, y) = (arr(&a, c), arr(&b, other_chunking(&SHAPE)));
        let got = eval::<f32>(&(&(&x * &y) - &x.sqrt()));
        let want = zip_bc(&a, &b, |p, q| p * q - p.sqrt());
        assert_close_f32(&got, &want, &format!("x*y - sqrt(x) {c_name}"));
        let got = eval::<f32>(&(&x / &y));
        assert_close_f32(&got, &zip_bc(&a, &b, |p, q| p / q), "f32 / f32");
        // Weak scalars keep f32: an int scalar and a float scalar alike.
        let got = eval::<f32>(&(&x + 2));
        assert_close_f32(&got, &a.mapv(|p| p + 2.0), "f32 + 2");
        let got = eval::<f32>(&(&x * 0.5));
        assert_close_f32(&got, &a.mapv(|p| p * 0.5), "f32 * 0.5");
        let got = eval::<f32>(&x.exp());
        assert_close_f32(&got, &a.mapv(f32::exp), "exp f32");
    }
}

#[test]
fn integer_arithmetic_is_exact() {
    let a = data_i32(&SHAPE, 10, -50, 50);
    let b = data_i32(&SHAPE, 11, -5, 6);
    let e = data_i32(&SHAPE, 12, 0, 4);
    for (c_name, c) in chunkings(&SHAPE) {
        let (x, y, z) = (
            arr(&a, c.clone()),
            arr(&b, other_chunking(&SHAPE)),
            arr(&e, c),
        );
        let w = |f: fn(i32, i32) -> i32| zip_bc(&a, &b, f);
        assert_exact(&eval::<i32>(&(&x + &y)), &w(|p, q| p + q), "i32 +");
        assert_exact(&eval::<i32>(&(&x - &y)), &w(|p, q| p - q), "i32 -");
        assert_exact(&eval::<i32>(&(&x * &y)), &w(|p, q| p * q), "i32 *");
        assert_exact(&eval::<i32>(&maximum(&x, &y)), &w(i32::max), "max");
        assert_exact(&eval::<i32>(&minimum(&x, &y)), &w(i32::min), "min");
        let got = eval::<i32>(&x.pow(&z).unwrap());
        assert_exact(&got, &zip_bc(&a, &e, |p, q| p.pow(q as u32)), "i32 pow");
        assert_exact(&eval::<i32>(&-&x), &a.mapv(|p| -p), "i32 neg");
        assert_exact(&eval::<i32>(&x.abs()), &a.mapv(i32::abs), "i32 abs");
        assert_exact(&eval::<i32>(&x.invert()), &a.mapv(|p| !p), "i32 invert");
        assert_exact(&eval::<bool>(&x.isnan()), &a.mapv(|_| false), "isnan int");
        // True division of integers gives float64 (x / 0 -> inf, 0 / 0 -> NaN).
        let got = eval::<f64>(&(&x / &y));
        let want = zip_bc(&a, &b, |p, q| p as f64 / q as f64);
        assert_close(&got, &want, RTOL_F64, &format!("i32 / i32 {c_name}"));
        // Float functions of integers give float64.
        let got = eval::<f64>(&x.sqrt());
        assert_close(&got, &a.mapv(|p| (p as f64).sqrt()), RTOL_F64, "sqrt i32");
        let got = eval::<bool>(&x.less_equal(&y).unwrap());
        assert_exact(&got, &zip_bc(&a, &b, |p, q| p <= q), "i32 <=");
    }
    let a64 = data_i64(&SHAPE, 13, -1 << 40, 1 << 40);
    for (c_name, c) in chunkings(&SHAPE) {
        let x = arr(&a64, c);
        let got = eval::<i64>(&(&(&x * 3) - &x.abs()));
        assert_exact(
            &got,
            &a64.mapv(|p| p * 3 - p.abs()),
            &format!("i64 {c_name}"),
        );
    }
}

#[test]
fn bool_logic_and_invert() {
    let a = data_bool(&SHAPE, 14);
    let b = data_bool(&SHAPE, 15);
    for (c_name, c) in chunkings(&SHAPE) {
        let (x, y) = (arr(&a, c), arr(&b, other_chunking(&SHAPE)));
        let w = |f: fn(bool, bool) -> bool| zip_bc(&a, &b, f);
        let what = |s: &str| format!("{s} {c_name}");
        assert_exact(
            &eval::<bool>(&x.logical_and(&y).unwrap()),
            &w(|p, q| p && q),
            &what("and"),
        );
        assert_exact(
            &eval::<bool>(&x.logical_or(&y).unwrap()),
            &w(|p, q| p || q),
            &what("or"),
        );
        assert_exact(
            &eval::<bool>(&x.equal(&y).unwrap()),
            &w(|p, q| p == q),
            &what("=="),
        );
        assert_exact(&eval::<bool>(&!&x), &a.mapv(|p| !p), &what("!x"));
        assert_exact(&eval::<bool>(&x.invert()), &a.mapv(|p| !p), &what("invert"));
        // A bool array with an int scalar promotes to int64 (NumPy 2).
        assert_exact(
            &eval::<i64>(&(&x + 1)),
            &a.mapv(|p| p as i64 + 1),
            &what("bool + 1"),
        );
        // Bool promotes to the other array's type.
        let i = arr(&data_i32(&SHAPE, 16, -9, 9), other_chunking(&SHAPE));
        let iv = data_i32(&SHAPE, 16, -9, 9);
        let got = eval::<i32>(&(&x * &i));
        assert_exact(
            &got,
            &zip_bc(&a, &iv, |p, q| p as i32 * q),
            &what("bool * i32"),
        );
    }
}

#[test]
fn promotion_follows_numpy_2() {
    let ai = data_i32(&SHAPE, 17, -20, 20);
    let af = data_f32(&SHAPE, 18, -2.0, 2.0);
    let al = data_i64(&SHAPE, 19, -20, 20);
    let ad = data_f64(&SHAPE, 20, -2.0, 2.0);
    for (c_name, c) in chunkings(&SHAPE) {
        let i = arr(&ai, c.clone());
        let f = arr(&af, other_chunking(&SHAPE));
        let l = arr(&al, c.clone());
        let d = arr(&ad, other_chunking(&SHAPE));
        let what = |s: &str| format!("{s} {c_name}");
        // i32 + f32 -> f64 (exact: both convert to f64 exactly).
        let got = eval::<f64>(&(&i + &f));
        assert_exact(
            &got,
            &zip_bc(&ai, &af, |p, q| p as f64 + q as f64),
            &what("i32+f32"),
        );
        // i32 + i64 -> i64.
        let got = eval::<i64>(&(&i + &l));
        assert_exact(
            &got,
            &zip_bc(&ai, &al, |p, q| p as i64 + q),
            &what("i32+i64"),
        );
        // f32 * f64 -> f64.
        let got = eval::<f64>(&(&f * &d));
        assert_close(
            &got,
            &zip_bc(&af, &ad, |p, q| p as f64 * q),
            RTOL_F64,
            &what("f32*f64"),
        );
        // A float scalar with an int array -> f64; an int scalar keeps i32.
        let got = eval::<f64>(&(&i + 1.5));
        assert_exact(&got, &ai.mapv(|p| p as f64 + 1.5), &what("i32 + 1.5"));
        let got = eval::<i32>(&(&i * 3));
        assert_exact(&got, &ai.mapv(|p| p * 3), &what("i32 * 3"));
        // Scalars on the left.
        let got = eval::<f64>(&(2.5 - &i));
        assert_exact(&got, &ai.mapv(|p| 2.5 - p as f64), &what("2.5 - i32"));
        let got = eval::<i32>(&(7i64 - &i));
        assert_exact(&got, &ai.mapv(|p| 7 - p), &what("7 - i32"));
        let got = eval::<f64>(&(1.0 / &d));
        assert_close(&got, &ad.mapv(|q| 1.0 / q), RTOL_F64, &what("1 / f64"));
        // i32 / int scalar -> f64.
        let got = eval::<f64>(&(&i / 4));
        assert_exact(&got, &ai.mapv(|p| p as f64 / 4.0), &what("i32 / 4"));
        // f32 / i32 array -> f64.
        let got = eval::<f64>(&(&f / &i));
        assert_close(
            &got,
            &zip_bc(&af, &ai, |p, q| p as f64 / q as f64),
            RTOL_F64,
            "f32/i32",
        );
    }
}

#[test]
fn broadcasting_follows_numpy() {
    let a41 = data_f64(&[4, 1], 21, -1.0, 1.0);
    let b3 = data_f64(&[3], 22, -1.0, 1.0);
    let c213 = data_f64(&[2, 1, 3], 23, -1.0, 1.0);
    for (ca_name, ca) in chunkings(&[4, 1]) {
        for (cb_name, cb) in chunkings(&[3]) {
            let what = format!("(4,1) {ca_name} + (3,) {cb_name}");
            let (x, y) = (arr(&a41, ca.clone()), arr(&b3, cb.clone()));
            let got = eval::<f64>(&(&x + &y));
            assert_eq!(got.shape(), &[4, 3], "{what}");
            assert_exact(&got, &zip_bc(&a41, &b3, |p, q| p + q), &what);
            let got = eval::<f64>(&(&y - &x));
            assert_exact(&got, &zip_bc(&b3, &a41, |p, q| p - q), &what);
            // (2,1,3) * (4,1) -> (2,4,3).
            let z = arr(&c213, other_chunking(&[2, 1, 3]));
            let got = eval::<f64>(&(&z * &x));
            assert_exact(&got, &zip_bc(&c213, &a41, |p, q| p * q), &what);
            // where_ with a broadcast condition and a scalar.
            let cond = y.greater(0.0).unwrap();
            let got = eval::<f64>(&where_(&cond, &x, -5.0));
            let want = zip3_bc(
                &b3.mapv(|v| v > 0.0),
                &a41,
                &ArrayD::from_elem(IxDyn(&[]), -5.0),
                |c, p, q| {
                    if c {
                        p
                    } else {
                        q
                    }
                },
            );
            assert_exact(&got, &want, &format!("where {what}"));
        }
    }
    // 0-d arrays: from data and from a full reduction.
    let z = ArrayD::from_elem(IxDyn(&[]), 2.5);
    let m = data_f64(&[4, 3], 24, -1.0, 1.0);
    for (c_name, c) in chunkings(&[4, 3]) {
        let x = arr(&m, c);
        let s = arr(&z, ChunkSpec::PerDim(vec![]));
        assert_exact(
            &eval::<f64>(&(&x * &s)),
            &m.mapv(|v| v * 2.5),
            &format!("0-d {c_name}"),
        );
        assert_exact(
            &eval::<f64>(&(&s - &x)),
            &m.mapv(|v| 2.5 - v),
            &format!("0-d {c_name}"),
        );
        let total = x.max(None, false).unwrap();
        let mx = m.iter().copied().fold(f64::MIN, f64::max);
        let got = eval::<f64>(&(&x - &total));
        assert_exact(&got, &m.mapv(|v| v - mx), &format!("x - x.max() {c_name}"));
    }
    // Scalar with scalar: an int scalar array and float scalar.
    let s = arr(
        &ArrayD::from_elem(IxDyn(&[]), 3i64),
        ChunkSpec::PerDim(vec![]),
    );
    let got = eval::<f64>(&(&s * 0.5));
    assert_exact(&got, &ArrayD::from_elem(IxDyn(&[]), 1.5), "0-d i64 * 0.5");
}

#[test]
fn where_fillna_clip_and_nan_propagation() {
    let a = with_nans(&data_f64(&SHAPE, 25, -3.0, 3.0), 26, 0.2);
    let b = data_f64(&SHAPE, 27, -3.0, 3.0);
    let cond = data_bool(&SHAPE, 28);
    let ai = data_i32(&SHAPE, 29, -10, 10);
    for (c_name, c) in chunkings(&SHAPE) {
        let what = |s: &str| format!("{s} {c_name}");
        let x = arr(&a, c.clone());
        let y = arr(&b, other_chunking(&SHAPE));
        let k = arr(&cond, other_chunking(&SHAPE));
        let i = arr(&ai, c.clone());
        let got = eval::<f64>(&where_(&k, &x, &y));
        let want = zip3_bc(&cond, &a, &b, |c, p, q| if c { p } else { q });
        assert_exact(&got, &want, &what("where"));
        // A float condition is a truth value: NaN is true.
        let got = eval::<f64>(&where_(&x, &y, 0.0));
        let want = zip_bc(&a, &b, |p, q| if p != 0.0 { q } else { 0.0 });
        assert_exact(&got, &want, &what("where(float cond)"));
        // Two int scalars: int64.
        let got = eval::<i64>(&where_(&k, 1, 0));
        assert_exact(&got, &cond.mapv(|c| c as i64), &what("where(k, 1, 0)"));
        // An i32 array with an int scalar stays i32.
        let got = eval::<i32>(&where_(&k, &i, -1));
        assert_exact(
            &got,
            &zip_bc(&cond, &ai, |c, p| if c { p } else { -1 }),
            &what("where i32"),
        );
        let got = eval::<f64>(&x.fillna(-9.5));
        assert_exact(
            &got,
            &a.mapv(|p| if p.is_nan() { -9.5 } else { p }),
            &what("fillna"),
        );
        assert_exact(&eval::<i32>(&i.fillna(0)), &ai, &what("fillna int"));
        let got = eval::<f64>(&x.clip(-1.0, 1.5));
        let want = a.mapv(|p| if p.is_nan() { p } else { p.clamp(-1.0, 1.5) });
        assert_exact(&got, &want, &what("clip"));
        assert_exact(
            &eval::<i32>(&i.clip(-3, 4)),
            &ai.mapv(|p| p.clamp(-3, 4)),
            &what("clip i32"),
        );
        let got = eval::<f64>(&i.clip(-2.5, 2.5));
        assert_exact(
            &got,
            &ai.mapv(|p| (p as f64).clamp(-2.5, 2.5)),
            &what("clip i32 float"),
        );
        // maximum/minimum propagate NaN (unlike f64::max).
        let nanmax = |p: f64, q: f64| {
            if p.is_nan() || q.is_nan() {
                f64::NAN
            } else {
                p.max(q)
            }
        };
        let nanmin = |p: f64, q: f64| {
            if p.is_nan() || q.is_nan() {
                f64::NAN
            } else {
                p.min(q)
            }
        };
        assert_exact(
            &eval::<f64>(&maximum(&x, &y)).mapv(f64::to_bits),
            &zip_bc(&a, &b, nanmax).mapv(f64::to_bits),
            &what("maximum"),
        );
        assert_exact(
            &eval::<f64>(&minimum(&y, &x)).mapv(f64::to_bits),
            &zip_bc(&b, &a, nanmin).mapv(f64::to_bits),
            &what("minimum"),
        );
        let got = eval::<f64>(&maximum(&x, 0.0));
        assert_close(
            &got,
            &a.mapv(|p| nanmax(p, 0.0)),
            0.0,
            &what("maximum(x, 0)"),
        );
    }
}

#[test]
fn astype_converts_like_numpy() {
    let a = data_f64(&SHAPE, 30, -5.0, 5.0);
    let ai = data_i32(&SHAPE, 31, -3, 3);
    for (c_name, c) in chunkings(&SHAPE) {
        let what = |s: &str| format!("{s} {c_name}");
        let x = arr(&a, c.clone());
        let i = arr(&ai, c);
        // float -> int truncates toward zero.
        assert_exact(
            &eval::<i32>(&x.astype(DType::I32)),
            &a.mapv(|v| v.trunc() as i32),
            &what("f64->i32"),
        );
        assert_exact(
            &eval::<i64>(&x.astype(DType::I64)),
            &a.mapv(|v| v.trunc() as i64),
            &what("f64->i64"),
        );
        assert_exact(
            &eval::<f32>(&x.astype(DType::F32)),
            &a.mapv(|v| v as f32),
            &what("f64->f32"),
        );
        assert_exact(
            &eval::<bool>(&i.astype(DType::Bool)),
            &ai.mapv(|v| v != 0),
            &what("i32->bool"),
        );
        assert_exact(
            &eval::<f64>(&i.astype(DType::F64)),
            &ai.mapv(|v| v as f64),
            &what("i32->f64"),
        );
        let back = i.astype(DType::Bool).astype(DType::F32);
        assert_exact(
            &eval::<f32>(&back),
            &ai.mapv(|v| (v != 0) as u8 as f32),
            &what("bool->f32"),
        );
        // A cast inside a longer expression.
        let got = eval::<f64>(&(&x.astype(DType::I32) * 0.5));
        assert_exact(&got, &a.mapv(|v| v.trunc() * 0.5), &what("astype then *"));
    }
}

#[test]
fn chained_expressions_over_three_chunkings() {
    let shape = [9, 6];
    let a = data_f64(&shape, 32, 0.5, 2.0);
    let b = data_f64(&shape, 33, 0.5, 2.0);
    let c = data_f64(&[6], 34, -1.0, 1.0);
    for (n1, c1) in chunkings(&shape) {
        let x = arr(&a, c1);
        let y = arr(&b, other_chunking(&shape));
        let z = arr(&c, vec![vec![4, 2]].into());
        let e = ((&(&x + &y) * &z) - &(&x / &y)).sqrt().log();
        let got = eval::<f64>(&e);
        let want = zip3_bc(&a, &b, &c, |p, q, r| ((p + q) * r - p / q).sqrt().ln());
        assert_close(&got, &want, RTOL_F64, &format!("chain {n1}"));
        // The same after persisting an intermediate.
        let p = (&x + &y).persist().unwrap();
        let got = eval::<f64>(&(&(&p * &z) - &(&x / &y)).sqrt().log());
        assert_close(&got, &want, RTOL_F64, &format!("chain after persist {n1}"));
    }
}
