//! Shared helpers of the operator tests (`tests/ops_*.rs`, `tests/plan_errors.rs`,
//! `tests/determinism.rs`): deterministic test data, the chunkings every case runs
//! over, eager `ndarray` references written here (never by calling chunkwise), and
//! comparisons with NaN-aware tolerances.
//!
//! Use it from a test file with `mod common;`.

#![allow(dead_code)] // each test file uses a different part of the helpers

use chunkwise::kernel::Element;
use chunkwise::prelude::*;
use chunkwise::session::{Config, Session};
use ndarray::{ArrayD, Axis, IxDyn, Zip};
use std::fmt::Debug;

/// Relative tolerance for f64 results whose summation order may differ.
pub const RTOL_F64: f64 = 1e-10;
/// Relative tolerance for f32 results.
pub const RTOL_F32: f64 = 1e-4;

/// A session with explicit settings (the default memory limit is generous).
pub fn session(threads: usize, shuffle_seed: Option<u64>) -> Session {
    Session::new(Config {
        threads,
        memory_limit: 4 << 30,
        shuffle_seed,
    })
    .expect("session starts")
}

// ---------------------------------------------------------------------------------
// Test data: a small xorshift generator, independent of chunkwise's generators.

/// xorshift64*: deterministic values for test data.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Uniform integer in `[lo, hi)`.
    pub fn int(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next_u64() % (hi - lo) as u64) as i64
    }
}

/// Floats in `[lo, hi)`.
pub fn data_f64(shape: &[usize], seed: u64, lo: f64, hi: f64) -> ArrayD<f64> {
    let mut r = Rng::new(seed);
    ArrayD::from_shape_fn(IxDyn(shape), |_| lo + (hi - lo) * r.unit())
}

/// f32 in `[lo, hi)`.
pub fn data_f32(shape: &[usize], seed: u64, lo: f32, hi: f32) -> ArrayD<f32> {
    data_f64(shape, seed, lo as f64, hi as f64).mapv(|v| v as f32)
}

/// Integers in `[lo, hi)` (small ranges give ties, which arg reductions must break
/// like NumPy).
pub fn data_i32(shape: &[usize], seed: u64, lo: i32, hi: i32) -> ArrayD<i32> {
    let mut r = Rng::new(seed);
    ArrayD::from_shape_fn(IxDyn(shape), |_| r.int(lo as i64, hi as i64) as i32)
}

pub fn data_i64(shape: &[usize], seed: u64, lo: i64, hi: i64) -> ArrayD<i64> {
    let mut r = Rng::new(seed);
    ArrayD::from_shape_fn(IxDyn(shape), |_| r.int(lo, hi))
}

pub fn data_bool(shape: &[usize], seed: u64) -> ArrayD<bool> {
    let mut r = Rng::new(seed);
    ArrayD::from_shape_fn(IxDyn(shape), |_| r.next_u64() % 3 != 0)
}

/// `a` with about `frac` of its elements replaced by NaN.
pub fn with_nans(a: &ArrayD<f64>, seed: u64, frac: f64) -> ArrayD<f64> {
    let mut r = Rng::new(seed);
    a.mapv(|v| if r.unit() < frac { f64::NAN } else { v })
}

// ---------------------------------------------------------------------------------
// Chunkings.

/// Uneven explicit chunks summing to `n`: a 1, then halves of what is left.
pub fn irregular_dim(n: usize) -> Vec<usize> {
    match n {
        0 => vec![0],
        1 => vec![1],
        2 => vec![1, 1],
        _ => {
            let rest = n - 1;
            let a = rest.div_ceil(2);
            let mut v = vec![1, a];
            if rest > a {
                v.push(rest - a);
            }
            v
        }
    }
}

/// The chunkings every case runs over: regular, irregular (explicit), one chunk,
/// and chunks of 1 along the first dimension.
pub fn chunkings(shape: &[usize]) -> Vec<(&'static str, ChunkSpec)> {
    let regular = ChunkSpec::PerDim(
        shape
            .iter()
            .map(|&n| DimChunks::Size(n.div_ceil(3).max(1)))
            .collect(),
    );
    let irregular = ChunkSpec::from(shape.iter().map(|&n| irregular_dim(n)).collect::<Vec<_>>());
    let single = ChunkSpec::PerDim(vec![DimChunks::Full; shape.len()]);
    let ones_first = ChunkSpec::PerDim(
        shape
            .iter()
            .enumerate()
            .map(|(d, &n)| DimChunks::Size(if d == 0 { 1 } else { n.div_ceil(2).max(1) }))
            .collect(),
    );
    vec![
        ("regular", regular),
        ("irregular", irregular),
        ("single", single),
        ("ones-in-dim0", ones_first),
    ]
}

/// A chunking unlike any of [`chunkings`]: chunks of 2 everywhere, the last one
/// (of 1 if odd) at the end, so that a binary operation must unify.
pub fn other_chunking(shape: &[usize]) -> ChunkSpec {
    ChunkSpec::PerDim(
        shape
            .iter()
            .map(|&n| {
                if n <= 2 {
                    DimChunks::Full
                } else {
                    let mut v = vec![n % 2 + 2];
                    v.extend(std::iter::repeat_n(2, (n - n % 2 - 2) / 2));
                    DimChunks::Explicit(v)
                }
            })
            .collect(),
    )
}

/// `from_ndarray` that must succeed.
pub fn arr<T: Element>(data: &ArrayD<T>, chunks: ChunkSpec) -> Array {
    from_ndarray(data, chunks.clone())
        .unwrap_or_else(|e| panic!("from_ndarray with chunks {chunks:?}: {e}"))
}

// ---------------------------------------------------------------------------------
// Computing.

/// Compute `a` with the default session, checking that both the planned and the
/// computed dtype are `T` (no cast), and that the shape is the planned one.
pub fn eval<T: Element>(a: &Array) -> ArrayD<T> {
    let c = a.compute().unwrap_or_else(|e| panic!("compute {a:?}: {e}"));
    typed(a, c)
}

/// [`eval`] with a given session.
pub fn eval_with<T: Element>(a: &Array, s: &Session) -> ArrayD<T> {
    let c = a
        .compute_with(s)
        .unwrap_or_else(|e| panic!("compute {a:?}: {e}"));
    typed(a, c)
}

fn typed<T: Element>(a: &Array, c: Chunk) -> ArrayD<T> {
    assert_eq!(a.dtype(), T::DTYPE, "planned dtype of {a:?}");
    assert_eq!(c.dtype(), T::DTYPE, "computed dtype of {a:?}");
    assert_eq!(c.shape(), a.shape().as_slice(), "computed shape of {a:?}");
    c.into_typed::<T>().expect("dtype checked")
}

// ---------------------------------------------------------------------------------
// Comparisons.

/// Equal shapes and elements (NaN equals NaN: an element unequal to itself matches
/// one that is too).
pub fn assert_exact<T: PartialEq + Debug>(got: &ArrayD<T>, want: &ArrayD<T>, what: &str) {
    assert_eq!(got.shape(), want.shape(), "{what}: shape");
    if let Some((i, (g, w))) = got
        .iter()
        .zip(want.iter())
        .enumerate()
        .find(|(_, (g, w))| g != w && !(unequal_to_itself(*g) && unequal_to_itself(*w)))
    {
        panic!(
            "{what}: element {i} (C order) is {g:?}, expected {w:?}\ngot  {got:?}\nwant {want:?}"
        );
    }
}

/// NaN, for any `PartialEq` type.
#[allow(clippy::eq_op)]
fn unequal_to_itself<T: PartialEq>(v: &T) -> bool {
    v != v
}

/// Whether two floats agree: both NaN, equal (infinities too), or within `rtol`
/// relative to the larger magnitude (and to 1 for values near zero).
pub fn close(g: f64, w: f64, rtol: f64) -> bool {
    (g.is_nan() && w.is_nan()) || g == w || (g - w).abs() <= rtol * g.abs().max(w.abs()).max(1.0)
}

/// Equal shapes, NaN where expected, other elements within `rtol`.
pub fn assert_close(got: &ArrayD<f64>, want: &ArrayD<f64>, rtol: f64, what: &str) {
    assert_eq!(got.shape(), want.shape(), "{what}: shape");
    if let Some((i, (g, w))) = got
        .iter()
        .zip(want.iter())
        .enumerate()
        .find(|(_, (&g, &w))| !close(g, w, rtol))
    {
        panic!(
            "{what}: element {i} (C order) is {g:?}, expected {w:?}\ngot  {got:?}\nwant {want:?}"
        );
    }
}

/// [`assert_close`] for f32 results (compared in f64 at [`RTOL_F32`]).
pub fn assert_close_f32(got: &ArrayD<f32>, want: &ArrayD<f32>, what: &str) {
    assert_close(
        &got.mapv(|v| v as f64),
        &want.mapv(|v| v as f64),
        RTOL_F32,
        what,
    );
}

/// Bitwise equality of f64 arrays (NaN payloads included).
pub fn assert_bits_equal(got: &ArrayD<f64>, want: &ArrayD<f64>, what: &str) {
    assert_eq!(got.shape(), want.shape(), "{what}: shape");
    let g: Vec<u64> = got.iter().map(|v| v.to_bits()).collect();
    let w: Vec<u64> = want.iter().map(|v| v.to_bits()).collect();
    assert!(g == w, "{what}: results differ bitwise");
}

// ---------------------------------------------------------------------------------
// Eager references.

/// NumPy's broadcast shape, or `None`.
pub fn broadcast_shape(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let n = a.len().max(b.len());
    let pad = |s: &[usize]| {
        let mut v = vec![1; n - s.len()];
        v.extend_from_slice(s);
        v
    };
    let (a, b) = (pad(a), pad(b));
    a.iter()
        .zip(&b)
        .map(|(&x, &y)| match (x, y) {
            _ if x == y => Some(x),
            (1, y) => Some(y),
            (x, 1) => Some(x),
            _ => None,
        })
        .collect()
}

/// `f(a, b)` elementwise with NumPy broadcasting.
pub fn zip_bc<A: Clone, B: Clone, C>(
    a: &ArrayD<A>,
    b: &ArrayD<B>,
    f: impl Fn(A, B) -> C,
) -> ArrayD<C> {
    let shape = broadcast_shape(a.shape(), b.shape()).expect("reference shapes broadcast");
    let av = a.broadcast(IxDyn(&shape)).expect("broadcast a");
    let bv = b.broadcast(IxDyn(&shape)).expect("broadcast b");
    Zip::from(&av)
        .and(&bv)
        .map_collect(|x, y| f(x.clone(), y.clone()))
}

/// `f(c, a, b)` elementwise with NumPy broadcasting of all three.
pub fn zip3_bc<A: Clone, B: Clone, C: Clone, R>(
    c: &ArrayD<A>,
    a: &ArrayD<B>,
    b: &ArrayD<C>,
    f: impl Fn(A, B, C) -> R,
) -> ArrayD<R> {
    let s1 = broadcast_shape(c.shape(), a.shape()).expect("broadcast");
    let shape = broadcast_shape(&s1, b.shape()).expect("broadcast");
    let cv = c.broadcast(IxDyn(&shape)).expect("broadcast");
    let av = a.broadcast(IxDyn(&shape)).expect("broadcast");
    let bv = b.broadcast(IxDyn(&shape)).expect("broadcast");
    Zip::from(&cv)
        .and(&av)
        .and(&bv)
        .map_collect(|x, y, z| f(x.clone(), y.clone(), z.clone()))
}

/// Reduce `a` over `axes` (`None`: all; negative axes count from the end): each
/// output element is `f` of the reduced values in C order. With `keepdims` the
/// reduced axes stay with length 1.
pub fn reduce_ref<T: Clone, R>(
    a: &ArrayD<T>,
    axes: Option<&[isize]>,
    keepdims: bool,
    f: impl Fn(&[T]) -> R,
) -> ArrayD<R> {
    let nd = a.ndim();
    let mut red: Vec<usize> = match axes {
        None => (0..nd).collect(),
        Some(v) => v
            .iter()
            .map(|&x| {
                if x < 0 {
                    (x + nd as isize) as usize
                } else {
                    x as usize
                }
            })
            .collect(),
    };
    red.sort_unstable();
    let kept: Vec<usize> = (0..nd).filter(|d| !red.contains(d)).collect();
    let perm: Vec<usize> = kept.iter().chain(&red).copied().collect();
    let moved = a.view().permuted_axes(IxDyn(&perm));
    let rows: usize = kept.iter().map(|&d| a.shape()[d]).product();
    let m: usize = red.iter().map(|&d| a.shape()[d]).product();
    let flat: Vec<T> = moved.iter().cloned().collect();
    let out: Vec<R> = (0..rows).map(|r| f(&flat[r * m..(r + 1) * m])).collect();
    let shape: Vec<usize> = if keepdims {
        (0..nd)
            .map(|d| if red.contains(&d) { 1 } else { a.shape()[d] })
            .collect()
    } else {
        kept.iter().map(|&d| a.shape()[d]).collect()
    };
    ArrayD::from_shape_vec(IxDyn(&shape), out).expect("reference reduce shape")
}

/// Positions Python's `range(n)[start:stop:step]` selects, by walking the range.
pub fn py_slice(start: Option<isize>, stop: Option<isize>, step: isize, n: usize) -> Vec<usize> {
    assert!(step != 0);
    let n = n as isize;
    let norm = |v: isize| if v < 0 { v + n } else { v };
    let mut out = Vec::new();
    if step > 0 {
        let mut i = start.map_or(0, norm).max(0);
        let end = stop.map_or(n, norm).min(n);
        while i < end {
            out.push(i as usize);
            i += step;
        }
    } else {
        let mut i = start.map_or(n - 1, norm).min(n - 1);
        let end = stop.map_or(-1, norm).max(-1);
        while i > end {
            if i >= 0 {
                out.push(i as usize);
            }
            i += step;
        }
    }
    out
}

/// NumPy basic indexing, applied eagerly with `select`, `index_axis` and
/// `insert_axis`.
pub fn np_index<T: Clone>(a: &ArrayD<T>, index: &[Idx]) -> ArrayD<T> {
    let consumed = index
        .iter()
        .filter(|i| matches!(i, Idx::Slice { .. } | Idx::Int(_)))
        .count();
    let mut full = Vec::new();
    for i in index {
        if *i == Idx::Ellipsis {
            full.extend(std::iter::repeat_n(Idx::ALL, a.ndim() - consumed));
        } else {
            full.push(*i);
        }
    }
    if !index.contains(&Idx::Ellipsis) {
        full.extend(std::iter::repeat_n(Idx::ALL, a.ndim() - consumed));
    }
    let mut out = a.clone();
    // `ax` walks the output's axes; each input axis is either kept (slice), dropped
    // (integer) or preceded by a new one.
    let mut ax = 0;
    for i in full {
        match i {
            Idx::Slice { start, stop, step } => {
                let n = out.shape()[ax];
                let pos = py_slice(start, stop, step, n);
                out = out.select(Axis(ax), &pos);
                ax += 1;
            }
            Idx::Int(k) => {
                let n = out.shape()[ax] as isize;
                let k = if k < 0 { k + n } else { k };
                out = out.index_axis(Axis(ax), k as usize).to_owned();
            }
            Idx::NewAxis => {
                out = out.insert_axis(Axis(ax));
                ax += 1;
            }
            Idx::Ellipsis => unreachable!("expanded above"),
        }
    }
    out
}

/// Mean of non-empty `v` (NaN for empty, like NumPy).
pub fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

/// Two-pass variance with `ddof`; NumPy divides by `max(n - ddof, 0)`.
pub fn var(v: &[f64], ddof: u32) -> f64 {
    let m = mean(v);
    let dof = (v.len() as f64 - ddof as f64).max(0.0);
    v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / dof
}

/// The non-NaN values.
pub fn finite(v: &[f64]) -> Vec<f64> {
    v.iter().copied().filter(|x| !x.is_nan()).collect()
}
