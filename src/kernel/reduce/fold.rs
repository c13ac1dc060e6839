//! The fold loops behind [`ReduceAcc::push`](super::ReduceAcc::push): one row of
//! values into the accumulator's state, either into one state element (the last axis
//! is reduced) or elementwise into a state row (the last axis is kept).
//!
//! Both entry points are compiled for baseline x86-64 and for AVX2 and dispatched at
//! run time (`multiversion`); the kernels are inlined into each, so the same
//! operations run in wider vectors (no FMA, so the same bits everywhere).

use super::acc::State;
use super::combine::chan;
use super::rule::{arg_take, with_rule, Rule};
use super::ReduceOp;
use crate::kernel::Element;

/// Accumulators per row kernel: independent chains that the compiler turns into SIMD
/// lanes and that bound the rounding error of long sums.
const LANES: usize = 8;
/// Float rows are summed in blocks of this many elements, then the block sums added.
const BLOCK: usize = 1024;

// ---------------------------------------------------------------------------------
// Row kernels: the last axis is reduced, a row folds into one state element.

/// Sum of `f` over blocks of [`BLOCK`] elements, each folded by [`fold_lanes`], in
/// order. (A plain loop rather than `Iterator::fold`, which is not inlined and so
/// would not be compiled for the caller's vector width.)
#[inline(always)]
fn block_sum<T: Copy>(vals: &[T], f: impl Fn(f64, T) -> f64 + Copy) -> f64 {
    let mut total = 0.0;
    for b in vals.chunks(BLOCK) {
        total += fold_lanes(b, 0.0, f, |a, b| a + b);
    }
    total
}

/// Fold `vals` with `LANES` independent accumulators, merged as a fixed tree.
#[inline(always)]
fn fold_lanes<T: Copy, A: Copy>(
    vals: &[T],
    init: A,
    f: impl Fn(A, T) -> A,
    merge: impl Fn(A, A) -> A,
) -> A {
    let mut acc = [init; LANES];
    let chunks = vals.chunks_exact(LANES);
    let rest = chunks.remainder();
    for c in chunks {
        for (a, &x) in acc.iter_mut().zip(c) {
            *a = f(*a, x);
        }
    }
    for (a, &x) in acc.iter_mut().zip(rest) {
        *a = f(*a, x);
    }
    let lo = merge(merge(acc[0], acc[1]), merge(acc[2], acc[3]));
    let hi = merge(merge(acc[4], acc[5]), merge(acc[6], acc[7]));
    merge(lo, hi)
}

/// `x` as `f64`, or `nan_as` if it is NaN and NaN is skipped.
#[inline(always)]
fn fval<T: Element, const SKIP: bool>(x: T, nan_as: f64) -> f64 {
    let v = x.to_f64();
    if SKIP && v.is_nan() {
        nan_as
    } else {
        v
    }
}

#[inline(always)]
fn sum_f<T: Element, const SKIP: bool>(vals: &[T]) -> f64 {
    block_sum(vals, |a, x| a + fval::<T, SKIP>(x, 0.0))
}

#[inline(always)]
fn prod_f<T: Element, const SKIP: bool>(vals: &[T]) -> f64 {
    fold_lanes(vals, 1.0, |a, x| a * fval::<T, SKIP>(x, 1.0), |a, b| a * b)
}

#[inline(always)]
fn count_valid<T: Element>(vals: &[T]) -> usize {
    if !T::DTYPE.is_float() {
        return vals.len();
    }
    fold_lanes(
        vals,
        0usize,
        |a, x| a + usize::from(!x.is_nan()),
        |a, b| a + b,
    )
}

/// Count, mean (relative to `k`) and M2 of a row, by two passes (the row is in cache).
#[inline(always)]
fn row_moments<T: Element, const SKIP: bool>(vals: &[T], k: f64) -> (f64, f64, f64) {
    let n = if SKIP { count_valid(vals) } else { vals.len() } as f64;
    if n == 0.0 {
        return (0.0, 0.0, 0.0);
    }
    let mean = block_sum(vals, |a, x| a + (fval::<T, SKIP>(x, k) - k)) / n;
    let m2 = block_sum(vals, |a, x| {
        let d = x.to_f64() - k - mean;
        a + if SKIP && d.is_nan() { 0.0 } else { d * d }
    });
    (n, mean, m2)
}

#[inline(always)]
fn ext_fold<T: Element, R: Rule>(vals: &[T]) -> T {
    let pick = |a: T, x: T| if R::take(x, a) { x } else { a };
    fold_lanes(vals, R::init::<T>(), pick, pick)
}

/// Fold a row into one arg state: find the extreme value, then its first position.
#[inline(always)]
fn arg_row<T: Element, R: Rule>(v: &mut T, j: &mut i64, vals: &[T], base: i64) {
    let m = ext_fold::<T, R>(vals);
    if R::SKIP_NAN && m.is_nan() {
        return;
    }
    let Some(p) = vals
        .iter()
        .position(|&x| x == m || (m.is_nan() && x.is_nan()))
    else {
        return;
    };
    let i = base + p as i64;
    if *j < 0 || arg_take::<T, R>(m, i, *v, *j) {
        *v = m;
        *j = i;
    }
}

#[inline(always)]
fn any_true<T: Element>(vals: &[T]) -> bool {
    vals.chunks(256)
        .any(|b| b.iter().fold(false, |a, x| a | x.is_true()))
}

#[inline(always)]
fn all_true<T: Element>(vals: &[T]) -> bool {
    vals.chunks(256)
        .all(|b| b.iter().fold(true, |a, x| a & x.is_true()))
}

/// Fold the values of a row into state element `i` (last axis reduced).
#[multiversion::multiversion(targets("x86_64+avx2"))]
pub(super) fn fold_row<T: Element>(state: &mut State, op: ReduceOp, i: usize, vals: &[T], at: i64) {
    let skip = op.skips_nan();
    match state {
        State::SumF(s) if skip => s[i] += sum_f::<T, true>(vals),
        State::SumF(s) => s[i] += sum_f::<T, false>(vals),
        State::SumI(s) => {
            let t = fold_lanes(
                vals,
                0i64,
                |a, x| a.wrapping_add(x.to_i64()),
                i64::wrapping_add,
            );
            s[i] = s[i].wrapping_add(t);
        }
        State::ProdF(s) if skip => s[i] *= prod_f::<T, true>(vals),
        State::ProdF(s) => s[i] *= prod_f::<T, false>(vals),
        State::ProdI(s) => {
            let t = fold_lanes(
                vals,
                1i64,
                |a, x| a.wrapping_mul(x.to_i64()),
                i64::wrapping_mul,
            );
            s[i] = s[i].wrapping_mul(t);
        }
        State::Mean { n, s } => {
            let (c, t) = if skip {
                (count_valid(vals), sum_f::<T, true>(vals))
            } else {
                (vals.len(), sum_f::<T, false>(vals))
            };
            n[i] += c as f64;
            s[i] += t;
        }
        State::Moments { n, m, m2, k } => {
            if n[i] == 0.0 {
                match vals.iter().find(|x| !(skip && x.is_nan())) {
                    Some(x) => k[i] = x.to_f64(),
                    None => return,
                }
            }
            let (nb, mb, qb) = if skip {
                row_moments::<T, true>(vals, k[i])
            } else {
                row_moments::<T, false>(vals, k[i])
            };
            chan(&mut n[i], &mut m[i], &mut m2[i], nb, mb, qb);
        }
        State::Count(c) => {
            let k = if op == ReduceOp::CountNonzero {
                fold_lanes(
                    vals,
                    0usize,
                    |a, x| a + usize::from(x.is_true()),
                    |a, b| a + b,
                )
            } else {
                count_valid(vals)
            };
            c[i] += k as i64;
        }
        State::Bools(b) if op == ReduceOp::All => b[i] = b[i] && all_true(vals),
        State::Bools(b) => b[i] = b[i] || any_true(vals),
        State::Ext(v) => {
            let Some(v) = v.downcast_mut::<Vec<T>>() else {
                debug_assert!(false, "pushed values of the wrong dtype");
                return;
            };
            with_rule!(op, R => {
                let m = ext_fold::<T, R>(vals);
                if R::take(m, v[i]) {
                    v[i] = m;
                }
            })
        }
        State::Arg { v, i: idx } => {
            let Some(v) = v.downcast_mut::<Vec<T>>() else {
                debug_assert!(false, "pushed values of the wrong dtype");
                return;
            };
            with_rule!(op, R => arg_row::<T, R>(&mut v[i], &mut idx[i], vals, at))
        }
    }
}

// ---------------------------------------------------------------------------------
// Kept kernels: the last axis is kept, a row folds elementwise into a state row.

#[inline(always)]
fn kept_moments<T: Element, const SKIP: bool>(
    n: &mut [f64],
    m: &mut [f64],
    q: &mut [f64],
    k: &mut [f64],
    vals: &[T],
) {
    // Fast path: no value to skip and one count across the state row (always, when
    // whole rows are pushed), so one reciprocal serves the row.
    let no_nan = !SKIP || !vals.iter().fold(false, |a, x| a | x.is_nan());
    if let (true, Some(&n0)) = (no_nan, n.first()) {
        if n.iter().fold(true, |a, &c| a & (c == n0)) {
            let nn = n0 + 1.0;
            let (r, w) = (1.0 / nn, n0 / nn);
            if n0 == 0.0 {
                for (k, &x) in k.iter_mut().zip(vals) {
                    *k = x.to_f64();
                }
            }
            for (((m, q), k), &x) in m.iter_mut().zip(q.iter_mut()).zip(k.iter()).zip(vals) {
                let d = x.to_f64() - *k - *m;
                *m += d * r;
                *q += d * d * w;
            }
            n.fill(nn);
            return;
        }
    }
    for ((((n, m), q), k), &x) in n.iter_mut().zip(m).zip(q).zip(k).zip(vals) {
        let x = x.to_f64();
        // Welford's update of the values shifted by `k`, branch-free: a skipped NaN
        // adds weight 0 and moves nothing.
        let ok = !(SKIP && x.is_nan());
        let na = *n;
        if na == 0.0 && ok {
            *k = x;
        }
        let x = x - *k;
        let nn = na + if ok { 1.0 } else { 0.0 };
        let d = if ok { x - *m } else { 0.0 };
        let r = 1.0 / nn.max(1.0);
        *m += d * r;
        *q += d * d * na * r;
        *n = nn;
    }
}

/// Fold the values of a row elementwise into `state[range]` (last axis kept); `at` is
/// the global index of this row's values for arg reductions.
#[multiversion::multiversion(targets("x86_64+avx2"))]
pub(super) fn fold_kept<T: Element>(
    state: &mut State,
    op: ReduceOp,
    range: std::ops::Range<usize>,
    vals: &[T],
    at: i64,
) {
    let skip = op.skips_nan();
    macro_rules! zip {
        ($s:expr, |$a:ident, $x:ident| $body:expr) => {
            for ($a, &$x) in $s[range].iter_mut().zip(vals) {
                $body;
            }
        };
    }
    match state {
        State::SumF(s) if skip => zip!(s, |a, x| *a += fval::<T, true>(x, 0.0)),
        State::SumF(s) => zip!(s, |a, x| *a += fval::<T, false>(x, 0.0)),
        State::SumI(s) => zip!(s, |a, x| *a = a.wrapping_add(x.to_i64())),
        State::ProdF(s) if skip => zip!(s, |a, x| *a *= fval::<T, true>(x, 1.0)),
        State::ProdF(s) => zip!(s, |a, x| *a *= fval::<T, false>(x, 1.0)),
        State::ProdI(s) => zip!(s, |a, x| *a = a.wrapping_mul(x.to_i64())),
        State::Mean { n, s } => {
            let (n, s) = (&mut n[range.clone()], &mut s[range]);
            if skip {
                for ((n, s), &x) in n.iter_mut().zip(s).zip(vals) {
                    let ok = !x.is_nan();
                    *n += if ok { 1.0 } else { 0.0 };
                    *s += if ok { x.to_f64() } else { 0.0 };
                }
            } else {
                // The hot case (mean along a leading axis): no NaN test per element.
                n.iter_mut().for_each(|n| *n += 1.0);
                for (s, &x) in s.iter_mut().zip(vals) {
                    *s += x.to_f64();
                }
            }
        }
        State::Moments { n, m, m2, k } => {
            let (n, m) = (&mut n[range.clone()], &mut m[range.clone()]);
            let (q, k) = (&mut m2[range.clone()], &mut k[range]);
            if skip {
                kept_moments::<T, true>(n, m, q, k, vals);
            } else {
                kept_moments::<T, false>(n, m, q, k, vals);
            }
        }
        State::Count(c) if op == ReduceOp::CountNonzero => {
            zip!(c, |a, x| *a += i64::from(x.is_true()))
        }
        State::Count(c) => zip!(c, |a, x| *a += i64::from(!x.is_nan())),
        State::Bools(b) if op == ReduceOp::All => zip!(b, |a, x| *a &= x.is_true()),
        State::Bools(b) => zip!(b, |a, x| *a |= x.is_true()),
        State::Ext(v) => {
            let Some(v) = v.downcast_mut::<Vec<T>>() else {
                debug_assert!(false, "pushed values of the wrong dtype");
                return;
            };
            with_rule!(op, R => zip!(v, |a, x| if R::take(x, *a) { *a = x }))
        }
        State::Arg { v, i } => {
            let Some(v) = v.downcast_mut::<Vec<T>>() else {
                debug_assert!(false, "pushed values of the wrong dtype");
                return;
            };
            let (v, i) = (&mut v[range.clone()], &mut i[range]);
            with_rule!(op, R => {
                for ((s, j), &x) in v.iter_mut().zip(i.iter_mut()).zip(vals) {
                    if R::SKIP_NAN && x.is_nan() {
                        continue;
                    }
                    if *j < 0 || arg_take::<T, R>(x, at, *s, *j) {
                        *s = x;
                        *j = at;
                    }
                }
            })
        }
    }
}
