//! [`combine`] merges the partials of neighbouring chunks; [`finalize`] turns the
//! last partial into the result.

use std::borrow::Cow;

use super::rule::{arg_take, with_rule, Rule};
use super::{field, Partial, ReduceOp, EMPTY};
use crate::error::{Error, Result};
use crate::kernel::{Chunk, Element};
use crate::meta::DType;
use crate::with_chunk;

/// Combine the partials of neighbouring chunks along the reduced axes, in the given
/// order: the same order gives bitwise-identical results. Arg reductions break ties
/// by the lowest global index whatever the order. `parts` may be partials or
/// references to them (the executor passes references: no copies).
pub fn combine<P: std::borrow::Borrow<Partial>>(op: ReduceOp, parts: &[P]) -> Result<Partial> {
    let parts: Vec<&Partial> = parts.iter().map(|p| p.borrow()).collect();
    let parts = parts.as_slice();
    let (&first, rest) = parts
        .split_first()
        .ok_or_else(|| Error::internal(format!("{}: combine of no partials", op.name())))?;
    let shape = check_partial(op, first)?.to_vec();
    for p in rest {
        let same_dtypes = p
            .fields
            .iter()
            .zip(&first.fields)
            .all(|(a, b)| a.dtype() == b.dtype());
        if check_partial(op, p)? != shape.as_slice() || !same_dtypes {
            return Err(Error::internal(format!(
                "{}: cannot combine partials of shapes {:?} and {:?} or different dtypes",
                op.name(),
                shape,
                p.fields[0].shape()
            )));
        }
    }
    if rest.is_empty() {
        return Ok(first.clone());
    }
    use ReduceOp::*;
    let fields = match op {
        Sum | NanSum if first.fields[0].dtype() == DType::F64 => {
            fold1(parts, &shape, |a: &mut f64, b| *a += b)
        }
        Sum | NanSum => fold1(parts, &shape, |a: &mut i64, b| *a = a.wrapping_add(b)),
        Prod | NanProd if first.fields[0].dtype() == DType::F64 => {
            fold1(parts, &shape, |a: &mut f64, b| *a *= b)
        }
        Prod | NanProd => fold1(parts, &shape, |a: &mut i64, b| *a = a.wrapping_mul(b)),
        Count | CountNonzero => fold1(parts, &shape, |a: &mut i64, b| *a += b),
        Any => fold1(parts, &shape, |a: &mut bool, b| *a |= b),
        All => fold1(parts, &shape, |a: &mut bool, b| *a &= b),
        Mean | NanMean => {
            let (mut n, mut s) = (
                owned::<f64>(&first.fields[0])?,
                owned::<f64>(&first.fields[1])?,
            );
            for p in rest {
                let (nb, sb) = (view::<f64>(&p.fields[0])?, view::<f64>(&p.fields[1])?);
                for (((n, s), &nb), &sb) in n.iter_mut().zip(&mut s).zip(nb.iter()).zip(sb.iter()) {
                    *n += nb;
                    *s += sb;
                }
            }
            Ok(vec![field(&shape, n), field(&shape, s)])
        }
        Var { .. } | Std { .. } | NanVar { .. } | NanStd { .. } => {
            let mut n = owned::<f64>(&first.fields[0])?;
            let mut m = owned::<f64>(&first.fields[1])?;
            let mut q = owned::<f64>(&first.fields[2])?;
            for p in rest {
                let nb = view::<f64>(&p.fields[0])?;
                let mb = view::<f64>(&p.fields[1])?;
                let qb = view::<f64>(&p.fields[2])?;
                let a = n.iter_mut().zip(&mut m).zip(&mut q);
                for (((n, m), q), ((&nb, &mb), &qb)) in
                    a.zip(nb.iter().zip(mb.iter()).zip(qb.iter()))
                {
                    chan(n, m, q, nb, mb, qb);
                }
            }
            Ok(vec![field(&shape, n), field(&shape, m), field(&shape, q)])
        }
        Min | Max | NanMin | NanMax => {
            with_rule!(op, R => with_chunk!(&first.fields[0], _a, T => ext_combine::<T, R>(parts, &shape)))
        }
        ArgMin | ArgMax | NanArgMin | NanArgMax => {
            with_rule!(op, R => with_chunk!(&first.fields[0], _a, T => arg_combine::<T, R>(parts, &shape)))
        }
    }?;
    Ok(Partial { fields })
}

/// The final values: keepdims shape, dtype `op.output_dtype(input)`.
///
/// Errors: [`Error::Plan`] for min/max/arg reductions of zero elements (NumPy's
/// "zero-size array to reduction operation minimum which has no identity"),
/// [`Error::Compute`] for `nanargmin`/`nanargmax` of only NaN values.
pub fn finalize(op: ReduceOp, p: Partial, input: DType) -> Result<Chunk> {
    let shape = check_partial(op, &p)?.to_vec();
    let out = op.output_dtype(input);
    let wrong = |what: &str| {
        Error::internal(format!(
            "{}: partial {what} does not fit input dtype {input}",
            op.name()
        ))
    };
    let mut fields = p.fields;
    use ReduceOp::*;
    match op {
        Sum | NanSum | Prod | NanProd => {
            let acc = if input.is_float() {
                DType::F64
            } else {
                DType::I64
            };
            let c = fields.swap_remove(0);
            if c.dtype() != acc {
                return Err(wrong("accumulator"));
            }
            Ok(if acc == out { c } else { c.cast(out) })
        }
        Mean | NanMean => {
            let (n, s) = (fields[0].typed::<f64>()?, fields[1].typed::<f64>()?);
            let v = s.iter().zip(n.iter()).map(|(&s, &n)| s / n).collect();
            Ok(float_field(&shape, out, v))
        }
        Var { ddof } | Std { ddof } | NanVar { ddof } | NanStd { ddof } => {
            let (n, m2) = (fields[0].typed::<f64>()?, fields[2].typed::<f64>()?);
            let sqrt = matches!(op, Std { .. } | NanStd { .. });
            let v = m2
                .iter()
                .zip(n.iter())
                .map(|(&q, &n)| {
                    let dof = n - f64::from(ddof);
                    let var = var_from(op, q, dof);
                    if sqrt {
                        var.sqrt()
                    } else {
                        var
                    }
                })
                .collect();
            Ok(float_field(&shape, out, v))
        }
        Count | CountNonzero | Any | All => Ok(fields.swap_remove(0)),
        Min | Max | NanMin | NanMax => {
            if fields[1].typed::<i64>()?.iter().any(|&n| n == 0) {
                return Err(zero_size(op));
            }
            let v = fields.swap_remove(0);
            if v.dtype() != input {
                return Err(wrong("value"));
            }
            Ok(v)
        }
        ArgMin | ArgMax | NanArgMin | NanArgMax => {
            if fields[0].dtype() != input {
                return Err(wrong("value"));
            }
            let idx = fields.swap_remove(1);
            let i = idx.typed::<i64>()?;
            if i.iter().any(|&j| j == EMPTY) {
                return Err(zero_size(op));
            }
            if i.iter().any(|&j| j < 0) {
                return Err(Error::Compute(format!(
                    "All-NaN slice encountered in {}: every value along the reduced axes is \
                     NaN; use {} to get the first NaN, or fill the NaN first",
                    op.name(),
                    &op.name()[3..]
                )));
            }
            Ok(idx)
        }
    }
}

// ---------------------------------------------------------------------------------
// Checks and small helpers.

/// The variance from a sum of squared deviations `ss` and degrees of freedom `dof`
/// (count minus ddof), as NumPy: `var`/`std` divide by `max(dof, 0)` (so `inf`, or
/// NaN for `0 / 0`, when ddof reaches the count), `nanvar`/`nanstd` give NaN
/// whenever `dof <= 0`.
fn var_from(op: ReduceOp, ss: f64, dof: f64) -> f64 {
    if dof > 0.0 {
        ss / dof
    } else if matches!(op, ReduceOp::Var { .. } | ReduceOp::Std { .. }) {
        ss / 0.0
    } else {
        f64::NAN
    }
}

/// The fields' shape, after checking their number, shapes and dtypes against `op`.
fn check_partial(op: ReduceOp, p: &Partial) -> Result<&[usize]> {
    let bad = |why: &str| Error::internal(format!("{}: malformed partial: {why}", op.name()));
    if p.fields.len() != op.field_count() {
        return Err(bad(&format!(
            "{} fields, expected {}",
            p.fields.len(),
            op.field_count()
        )));
    }
    let shape = p.fields[0].shape();
    if p.fields.iter().any(|f| f.shape() != shape) {
        return Err(bad("fields of different shapes"));
    }
    let d: Vec<DType> = p.fields.iter().map(Chunk::dtype).collect();
    use ReduceOp::*;
    let ok = match op {
        Sum | NanSum | Prod | NanProd => matches!(d[0], DType::F64 | DType::I64),
        Mean | NanMean | Var { .. } | Std { .. } | NanVar { .. } | NanStd { .. } => {
            d.iter().all(|&t| t == DType::F64)
        }
        Count | CountNonzero => d[0] == DType::I64,
        Any | All => d[0] == DType::Bool,
        _ => d[1] == DType::I64,
    };
    if !ok {
        return Err(bad(&format!("field dtypes {d:?}")));
    }
    Ok(shape)
}

fn zero_size(op: ReduceOp) -> Error {
    Error::plan(format!(
        "zero-size array to reduction operation {} which has no identity",
        op.ufunc()
    ))
}

/// `f64` results as a chunk of `out` (`f32` or `f64`).
fn float_field(shape: &[usize], out: DType, v: Vec<f64>) -> Chunk {
    let c = field(shape, v);
    if out == DType::F64 {
        c
    } else {
        c.cast(out)
    }
}

/// A field's values in C order, owned.
fn owned<T: Element>(c: &Chunk) -> Result<Vec<T>> {
    Ok(c.typed::<T>()?.iter().copied().collect())
}

/// A field's values in C order, borrowed when the field is in standard layout.
fn view<T: Element>(c: &Chunk) -> Result<Cow<'_, [T]>> {
    let a = c.typed::<T>()?;
    Ok(match a.as_slice() {
        Some(s) => Cow::Borrowed(s),
        None => Cow::Owned(a.iter().copied().collect()),
    })
}

/// Combine one-field partials with `f(acc, other)`.
fn fold1<T: Element>(
    parts: &[&Partial],
    shape: &[usize],
    f: impl Fn(&mut T, T),
) -> Result<Vec<Chunk>> {
    let mut acc = owned::<T>(&parts[0].fields[0])?;
    for p in &parts[1..] {
        for (a, &b) in acc.iter_mut().zip(view::<T>(&p.fields[0])?.iter()) {
            f(a, b);
        }
    }
    Ok(vec![field(shape, acc)])
}

fn ext_combine<T: Element, R: Rule>(parts: &[&Partial], shape: &[usize]) -> Result<Vec<Chunk>> {
    let mut v = owned::<T>(&parts[0].fields[0])?;
    let mut n = owned::<i64>(&parts[0].fields[1])?;
    for p in &parts[1..] {
        let (vb, nb) = (view::<T>(&p.fields[0])?, view::<i64>(&p.fields[1])?);
        for ((a, na), (&b, &cb)) in v.iter_mut().zip(&mut n).zip(vb.iter().zip(nb.iter())) {
            if cb == 0 {
                continue;
            }
            if *na == 0 || R::take(b, *a) {
                *a = b;
            }
            *na += cb;
        }
    }
    Ok(vec![field(shape, v), field(shape, n)])
}

fn arg_combine<T: Element, R: Rule>(parts: &[&Partial], shape: &[usize]) -> Result<Vec<Chunk>> {
    let mut v = owned::<T>(&parts[0].fields[0])?;
    let mut i = owned::<i64>(&parts[0].fields[1])?;
    for p in &parts[1..] {
        let (vb, ib) = (view::<T>(&p.fields[0])?, view::<i64>(&p.fields[1])?);
        for ((a, ia), (&b, &jb)) in v.iter_mut().zip(&mut i).zip(vb.iter().zip(ib.iter())) {
            if jb < 0 {
                if *ia < 0 {
                    // ALL_NAN (-2) wins over EMPTY (-1): some element was seen.
                    *ia = (*ia).min(jb);
                }
                continue;
            }
            if *ia < 0 || arg_take::<T, R>(b, jb, *a, *ia) {
                *a = b;
                *ia = jb;
            }
        }
    }
    Ok(vec![field(shape, v), field(shape, i)])
}

/// Merge Chan et al.'s (count, mean, M2) of a block `b` into the state.
#[inline(always)]
pub(super) fn chan(n: &mut f64, m: &mut f64, q: &mut f64, nb: f64, mb: f64, qb: f64) {
    if nb == 0.0 {
        return;
    }
    if *n == 0.0 {
        (*n, *m, *q) = (nb, mb, qb);
        return;
    }
    let nn = *n + nb;
    let d = mb - *m;
    *m += d * (nb / nn);
    *q += qb + d * d * (*n * nb / nn);
    *n = nn;
}
