//! The reference the tests compare against: the values of each output element
//! grouped with `indexed_iter`, in C order, and reduced with the textbook formula.

use ndarray::{ArrayD, IxDyn};

use crate::error::{Error, Result};
use crate::kernel::reduce::ReduceOp;
use crate::kernel::{Chunk, Element};
use crate::meta::DType;
use crate::with_chunk;

pub(super) fn reference(op: ReduceOp, c: &Chunk, axes: &[usize]) -> Result<Chunk> {
    with_chunk!(c, a, T => reference_typed::<T>(op, a, axes))
}

fn reference_typed<T: Element>(op: ReduceOp, a: &ArrayD<T>, axes: &[usize]) -> Result<Chunk> {
    let shape = a.shape().to_vec();
    let nd = shape.len();
    let out_shape: Vec<usize> = (0..nd)
        .map(|k| if axes.contains(&k) { 1 } else { shape[k] })
        .collect();
    let mut groups: Vec<Vec<(i64, T)>> = vec![Vec::new(); out_shape.iter().product()];
    for (ix, &x) in a.indexed_iter() {
        let (mut o, mut flat) = (0, 0);
        for k in 0..nd {
            o = o * out_shape[k] + if axes.contains(&k) { 0 } else { ix[k] };
            flat = flat * shape[k] + ix[k];
        }
        let pos = if axes.len() == 1 && nd > 1 {
            ix[axes[0]]
        } else {
            flat
        };
        groups[o].push((pos as i64, x));
    }
    let is_float = T::DTYPE.is_float();
    let nan = |x: &T| x.to_f64().is_nan();
    let skip = op.skips_nan();
    let kept = |g: &Vec<(i64, T)>| -> Vec<(i64, T)> {
        g.iter()
            .filter(|(_, x)| !(skip && nan(x)))
            .copied()
            .collect()
    };
    let floats = |v: Vec<f64>| {
        let c = Chunk::F64(ArrayD::from_shape_vec(IxDyn(&out_shape), v).unwrap());
        if T::DTYPE == DType::F32 {
            c.cast(DType::F32)
        } else {
            c
        }
    };
    let ints = |v: Vec<i64>| Chunk::I64(ArrayD::from_shape_vec(IxDyn(&out_shape), v).unwrap());
    let mean = |g: &[(i64, T)]| g.iter().map(|p| p.1.to_f64()).sum::<f64>() / g.len() as f64;
    let zero = || Err(Error::plan("zero-size"));
    use ReduceOp::*;
    Ok(match op {
        Sum | NanSum if is_float => floats(
            groups
                .iter()
                .map(|g| kept(g).iter().map(|p| p.1.to_f64()).sum())
                .collect(),
        ),
        Sum | NanSum => ints(
            groups
                .iter()
                .map(|g| g.iter().fold(0i64, |s, p| s.wrapping_add(p.1.to_i64())))
                .collect(),
        ),
        Prod | NanProd if is_float => floats(
            groups
                .iter()
                .map(|g| kept(g).iter().map(|p| p.1.to_f64()).product())
                .collect(),
        ),
        Prod | NanProd => ints(
            groups
                .iter()
                .map(|g| g.iter().fold(1i64, |s, p| s.wrapping_mul(p.1.to_i64())))
                .collect(),
        ),
        Mean | NanMean => floats(groups.iter().map(|g| mean(&kept(g))).collect()),
        Var { ddof } | Std { ddof } | NanVar { ddof } | NanStd { ddof } => floats(
            groups
                .iter()
                .map(|g| {
                    let g = kept(g);
                    let m = mean(&g);
                    let ss: f64 = g.iter().map(|p| (p.1.to_f64() - m).powi(2)).sum();
                    let dof = g.len() as f64 - ddof as f64;
                    // NumPy: var divides by max(dof, 0); nanvar is NaN for dof <= 0.
                    let var = if dof > 0.0 {
                        ss / dof
                    } else if matches!(op, Var { .. } | Std { .. }) {
                        ss / 0.0
                    } else {
                        f64::NAN
                    };
                    if matches!(op, Std { .. } | NanStd { .. }) {
                        var.sqrt()
                    } else {
                        var
                    }
                })
                .collect(),
        ),
        Min | Max | NanMin | NanMax => {
            let max = matches!(op, Max | NanMax);
            let mut out = Vec::new();
            for g in &groups {
                if g.is_empty() {
                    return zero();
                }
                let g = kept(g);
                let v = if g.is_empty() {
                    T::from_f64(f64::NAN)
                } else if let Some(p) = g.iter().find(|p| nan(&p.1)) {
                    p.1
                } else {
                    g.iter().skip(1).fold(g[0].1, |m, p| {
                        if (max && p.1 > m) || (!max && p.1 < m) {
                            p.1
                        } else {
                            m
                        }
                    })
                };
                out.push(v);
            }
            T::wrap(ArrayD::from_shape_vec(IxDyn(&out_shape), out).unwrap())
        }
        ArgMin | ArgMax | NanArgMin | NanArgMax => {
            let max = matches!(op, ArgMax | NanArgMax);
            let mut out = Vec::new();
            for g in &groups {
                if g.is_empty() {
                    return zero();
                }
                let g = kept(g);
                if g.is_empty() {
                    return Err(Error::Compute("all-NaN".into()));
                }
                let i = if let Some(p) = g.iter().find(|p| nan(&p.1)) {
                    p.0
                } else {
                    let mut best = g[0];
                    for &p in &g[1..] {
                        if (max && p.1 > best.1) || (!max && p.1 < best.1) {
                            best = p;
                        }
                    }
                    best.0
                };
                out.push(i);
            }
            ints(out)
        }
        Count => ints(
            groups
                .iter()
                .map(|g| g.iter().filter(|p| !nan(&p.1)).count() as i64)
                .collect(),
        ),
        CountNonzero => ints(
            groups
                .iter()
                .map(|g| g.iter().filter(|p| p.1.to_f64() != 0.0).count() as i64)
                .collect(),
        ),
        Any | All => {
            let v = groups
                .iter()
                .map(|g| {
                    let mut t = g.iter().map(|p| p.1.to_f64() != 0.0);
                    if op == Any {
                        t.any(|b| b)
                    } else {
                        t.all(|b| b)
                    }
                })
                .collect();
            Chunk::Bool(ArrayD::from_shape_vec(IxDyn(&out_shape), v).unwrap())
        }
    })
}

/// Floats within `rel` (relative to max(1, |values|)), NaN equal to NaN; exact
/// for integers, bools, min/max and arg reductions.
pub(super) fn assert_matches(got: &Result<Chunk>, want: &Result<Chunk>, exact: bool, ctx: &str) {
    let (g, w) = match (got, want) {
        (Ok(g), Ok(w)) => (g, w),
        (Err(g), Err(w)) => {
            assert_eq!(
                std::mem::discriminant(g),
                std::mem::discriminant(w),
                "{ctx}: {g} vs {w}"
            );
            return;
        }
        _ => panic!("{ctx}: got {got:?}, want {want:?}"),
    };
    assert_eq!(g.dtype(), w.dtype(), "{ctx}");
    assert_eq!(g.shape(), w.shape(), "{ctx}");
    let rel = match g.dtype() {
        DType::F64 if !exact => 1e-12,
        DType::F32 if !exact => 1e-6,
        DType::F64 | DType::F32 => 0.0,
        _ => return assert_eq!(g, w, "{ctx}"),
    };
    for (a, b) in g.to_f64().iter().zip(w.to_f64().iter()) {
        let ok = (a.is_nan() && b.is_nan())
            || a == b
            || (a - b).abs() <= rel * a.abs().max(b.abs()).max(1.0);
        assert!(ok, "{ctx}: {a} vs {b}\n got {g:?}\nwant {w:?}");
    }
}

pub(super) fn exact(op: ReduceOp) -> bool {
    use ReduceOp::*;
    matches!(
        op,
        Min | Max | NanMin | NanMax | Count | CountNonzero | Any | All
    ) || op.is_arg()
}

pub(super) fn applies(op: ReduceOp, nd: usize, axes: &[usize]) -> bool {
    !op.is_arg() || axes.len() == 1 || axes.len() == nd
}
