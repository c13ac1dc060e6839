//! [`ReduceAcc`], the streaming accumulator that folds one chunk into a [`Partial`],
//! and [`partial`], which pushes a whole chunk through it. The per-row fold loops
//! live in [`fold`](super::fold).

use ndarray::ArrayD;

use super::fold::{fold_kept, fold_row};
use super::rule::{with_rule, Rule};
use super::{field, ArgInfo, Partial, ReduceOp, ALL_NAN, EMPTY};
use crate::error::{Error, Result};
use crate::kernel::{Chunk, Element};
use crate::meta::DType;
use crate::{with_chunk, with_dtype};

/// [`partial`] pushes rows in pieces of at most this many elements, so the two passes
/// of a variance stay in cache (32 KiB of `f64`).
const PIECE: usize = 4096;

type Erased = Box<dyn std::any::Any + Send + Sync>;

/// How an arg reduction turns a local position into the global index it reports.
#[derive(Debug)]
enum ArgPos {
    /// One reduced axis: the index along it.
    Along { axis: usize, off: i64 },
    /// All axes: the C-order flat index in the global array.
    Flat { off: Vec<i64>, stride: Vec<i64> },
}

/// The running state, one entry per output element (C order over the keepdims shape).
#[derive(Debug)]
pub(super) enum State {
    SumF(Vec<f64>),
    SumI(Vec<i64>),
    ProdF(Vec<f64>),
    ProdI(Vec<i64>),
    Mean {
        n: Vec<f64>,
        s: Vec<f64>,
    },
    /// Count, mean and M2. The accumulator keeps the mean relative to a shift `k`
    /// (the first value seen), so that it is rounded at the scale of the spread,
    /// not of the values; `finish` adds `k` back.
    Moments {
        n: Vec<f64>,
        m: Vec<f64>,
        m2: Vec<f64>,
        k: Vec<f64>,
    },
    Count(Vec<i64>),
    Bools(Vec<bool>),
    /// Min/max: a `Vec<T>` of the input type.
    Ext(Erased),
    /// Arg reductions: a `Vec<T>` of the best values and their global indices.
    Arg {
        v: Erased,
        i: Vec<i64>,
    },
}

/// Streaming accumulator for one chunk: a fused elementwise program pushes the
/// chunk's values row by row (C order; a "row" runs along the last axis), possibly in
/// pieces, then [`ReduceAcc::finish`] gives the chunk's [`Partial`].
///
/// Invariants: `shape` has at least one axis (a 0-d chunk is held as `[1]`, reduced);
/// `lead_mult[k]` is the keepdims C-order stride of lead axis `k`, or 0 when `k` is
/// reduced; every state vector has `out_len` entries.
#[derive(Debug)]
pub struct ReduceAcc {
    op: ReduceOp,
    input: DType,
    /// The shape rows are pushed against.
    shape: Vec<usize>,
    lead_mult: Vec<usize>,
    last_reduced: bool,
    /// The keepdims shape of the partial.
    out_shape: Vec<usize>,
    out_len: usize,
    /// Elements folded into each output element.
    extent: usize,
    arg: Option<ArgPos>,
    state: State,
}

impl ReduceAcc {
    /// An accumulator for `op` over a chunk of `chunk_shape` and dtype `input`,
    /// reducing `axes` (sorted, distinct, in range). Arg reductions need `axes` to be
    /// one axis or all of them; `arg` places the chunk in the global array (without
    /// it the chunk is the whole array).
    pub fn new(
        op: ReduceOp,
        input: DType,
        chunk_shape: &[usize],
        axes: &[usize],
        arg: Option<ArgInfo>,
    ) -> Result<ReduceAcc> {
        check_axes(chunk_shape.len(), axes)?;
        let (shape, reduced) = if chunk_shape.is_empty() {
            (vec![1], vec![true])
        } else {
            let reduced = (0..chunk_shape.len()).map(|k| axes.contains(&k)).collect();
            (chunk_shape.to_vec(), reduced)
        };
        let pos = if op.is_arg() {
            Some(arg_pos(op, chunk_shape, axes, arg)?)
        } else {
            None
        };
        Ok(Self::build(
            op,
            input,
            shape,
            &reduced,
            keepdims(chunk_shape, axes),
            pos,
        ))
    }

    /// The accumulator over an internal `shape` (at least 1-d) whose output is
    /// reported with `out_shape` (same number of elements).
    fn build(
        op: ReduceOp,
        input: DType,
        shape: Vec<usize>,
        reduced: &[bool],
        out_shape: Vec<usize>,
        arg: Option<ArgPos>,
    ) -> ReduceAcc {
        let nd = shape.len();
        let mut lead_mult = vec![0; nd - 1];
        let mut stride = 1;
        let mut extent = 1;
        for k in (0..nd).rev() {
            if reduced[k] {
                extent *= shape[k];
            } else {
                if k < nd - 1 {
                    lead_mult[k] = stride;
                }
                stride *= shape[k];
            }
        }
        let n = stride;
        use ReduceOp::*;
        let state = match op {
            Sum | NanSum if input.is_float() => State::SumF(written(n, 0.0)),
            Sum | NanSum => State::SumI(written(n, 0)),
            Prod | NanProd if input.is_float() => State::ProdF(vec![1.0; n]),
            Prod | NanProd => State::ProdI(vec![1; n]),
            Mean | NanMean => State::Mean {
                n: written(n, 0.0),
                s: written(n, 0.0),
            },
            Var { .. } | Std { .. } | NanVar { .. } | NanStd { .. } => State::Moments {
                n: written(n, 0.0),
                m: written(n, 0.0),
                m2: written(n, 0.0),
                k: written(n, 0.0),
            },
            Count | CountNonzero => State::Count(written(n, 0)),
            Any => State::Bools(written(n, false)),
            All => State::Bools(vec![true; n]),
            Min | Max | NanMin | NanMax => {
                with_dtype!(input, T => with_rule!(op, R => State::Ext(Box::new(vec![R::init::<T>(); n]))))
            }
            ArgMin | ArgMax | NanArgMin | NanArgMax => with_dtype!(input, T => State::Arg {
                v: Box::new(written(n, T::default())),
                i: vec![EMPTY; n],
            }),
        };
        ReduceAcc {
            op,
            input,
            last_reduced: reduced[nd - 1],
            shape,
            lead_mult,
            out_shape,
            out_len: n,
            extent,
            arg,
            state,
        }
    }

    /// Fold consecutive values of one row into the state.
    ///
    /// `lead` indexes every axis but the last (empty for 1-d and 0-d chunks), `col0` is
    /// the position of `vals[0]` along the last axis. For a 0-d chunk, `lead = []`,
    /// `col0 = 0` and `vals` has one value. `T` must be the Rust type of the input
    /// dtype. Each value must be pushed exactly once; the order of pushes is part of
    /// the result's bits.
    ///
    /// ```
    /// use chunkwise::kernel::reduce::{finalize, ReduceAcc, ReduceOp};
    /// use chunkwise::{Chunk, DType};
    ///
    /// // Row maxima of [[4, 9, 1], [-1, -5, -2]], the first row in two pieces.
    /// let mut acc = ReduceAcc::new(ReduceOp::Max, DType::I32, &[2, 3], &[1], None)?;
    /// acc.push(&[0], 0, &[4i32, 9]);
    /// acc.push(&[0], 2, &[1i32]);
    /// acc.push(&[1], 0, &[-1i32, -5, -2]);
    /// let out = finalize(ReduceOp::Max, acc.finish(), DType::I32)?;
    /// assert_eq!(out, Chunk::from(ndarray::array![[9i32], [-1]].into_dyn()));
    /// # Ok::<(), chunkwise::Error>(())
    /// ```
    pub fn push<T: Element>(&mut self, lead: &[usize], col0: usize, vals: &[T]) {
        debug_assert_eq!(T::DTYPE, self.input, "pushed values of the wrong dtype");
        let Some(base) = self.locate(lead, col0, vals.len()) else {
            debug_assert!(false, "push outside the chunk: lead {lead:?}, col0 {col0}");
            return;
        };
        if vals.is_empty() {
            return;
        }
        let at = self.arg_base(lead, col0);
        if self.last_reduced {
            fold_row(&mut self.state, self.op, base, vals, at);
        } else {
            let range = base + col0..base + col0 + vals.len();
            fold_kept(&mut self.state, self.op, range, vals, at);
        }
    }

    /// The state index of the row at `lead`, if the push lies inside the chunk.
    fn locate(&self, lead: &[usize], col0: usize, len: usize) -> Option<usize> {
        let (last, lead_shape) = self.shape.split_last()?;
        if lead.len() != lead_shape.len() || col0 + len > *last {
            return None;
        }
        let mut base = 0;
        for ((&i, &n), &m) in lead.iter().zip(lead_shape).zip(&self.lead_mult) {
            if i >= n {
                return None;
            }
            base += i * m;
        }
        Some(base)
    }

    /// For arg reductions: the global index of `vals[0]` when the last axis is
    /// reduced, or the index every value of the row reports when it is kept.
    fn arg_base(&self, lead: &[usize], col0: usize) -> i64 {
        let last = lead.len();
        match &self.arg {
            None => 0,
            Some(ArgPos::Along { axis, off }) if *axis == last => off + col0 as i64,
            Some(ArgPos::Along { axis, off }) => off + lead[*axis] as i64,
            Some(ArgPos::Flat { off, stride }) => {
                let mut g = off[last] + col0 as i64;
                for k in 0..last {
                    g += (off[k] + lead[k] as i64) * stride[k];
                }
                g
            }
        }
    }

    /// The chunk's partial.
    pub fn finish(self) -> Partial {
        let sh = &self.out_shape;
        let fields = match self.state {
            State::SumF(s) | State::ProdF(s) => vec![field(sh, s)],
            State::SumI(s) | State::ProdI(s) => vec![field(sh, s)],
            State::Mean { n, s } => vec![field(sh, n), field(sh, s)],
            State::Moments { n, mut m, m2, k } => {
                m.iter_mut().zip(&k).for_each(|(m, k)| *m += k);
                vec![field(sh, n), field(sh, m), field(sh, m2)]
            }
            State::Count(c) => vec![field(sh, c)],
            State::Bools(b) => vec![field(sh, b)],
            State::Ext(v) => {
                let v = with_dtype!(self.input, T => erased_field::<T>(sh, v));
                vec![v, field(sh, vec![self.extent as i64; self.out_len])]
            }
            State::Arg { v, mut i } => {
                if self.op.skips_nan() && self.extent > 0 {
                    i.iter_mut()
                        .filter(|j| **j == EMPTY)
                        .for_each(|j| *j = ALL_NAN);
                }
                let v = with_dtype!(self.input, T => erased_field::<T>(sh, v));
                vec![v, field(sh, i)]
            }
        };
        Partial { fields }
    }
}

/// The partial of one whole chunk: every row of `chunk` pushed through a
/// [`ReduceAcc`]. See [`ReduceAcc::new`] for `axes` and `arg`.
///
/// ```
/// use chunkwise::kernel::reduce::{finalize, partial, ArgInfo, ReduceOp};
/// use chunkwise::{Chunk, DType};
///
/// // The chunk holds rows 2..4 of a 4x3 array; argmin along axis 0 reports global rows.
/// let chunk = Chunk::from(ndarray::array![[5.0, 1.0, 7.0], [0.0, 3.0, 7.0]].into_dyn());
/// let info = ArgInfo { offset: vec![2, 0], shape: vec![4, 3] };
/// let p = partial(ReduceOp::ArgMin, &chunk, &[0], Some(info))?;
/// let idx = finalize(ReduceOp::ArgMin, p, DType::F64)?;
/// assert_eq!(idx, Chunk::from(ndarray::array![[3i64, 2, 2]].into_dyn()));
/// # Ok::<(), chunkwise::Error>(())
/// ```
pub fn partial(
    op: ReduceOp,
    chunk: &Chunk,
    axes: &[usize],
    arg: Option<ArgInfo>,
) -> Result<Partial> {
    let shape = chunk.shape();
    let mut acc = if op.is_arg() {
        ReduceAcc::new(op, chunk.dtype(), shape, axes, arg)?
    } else {
        // Positions do not matter: drop length-1 axes and merge neighbouring axes that
        // are both reduced or both kept, so that rows are as long as possible.
        check_axes(shape.len(), axes)?;
        let (mut merged, mut reduced) = (Vec::new(), Vec::new());
        for (k, &n) in shape.iter().enumerate() {
            let r = axes.contains(&k);
            if n == 1 {
                continue;
            }
            match (merged.last_mut(), reduced.last()) {
                (Some(m), Some(&lr)) if lr == r => *m *= n,
                _ => {
                    merged.push(n);
                    reduced.push(r);
                }
            }
        }
        if merged.is_empty() {
            (merged, reduced) = (vec![1], vec![true]);
        }
        ReduceAcc::build(
            op,
            chunk.dtype(),
            merged,
            &reduced,
            keepdims(shape, axes),
            None,
        )
    };
    with_chunk!(chunk, a, T => push_all::<T>(&mut acc, a))?;
    Ok(acc.finish())
}

/// Push every row of `a` (in pieces of at most [`PIECE`]) against `acc`'s shape,
/// which has as many elements as `a`.
fn push_all<T: Element>(acc: &mut ReduceAcc, a: &ArrayD<T>) -> Result<()> {
    let a = a.as_standard_layout();
    let data = a
        .as_slice()
        .ok_or_else(|| Error::internal("a standard-layout array has no slice"))?;
    let shape = acc.shape.clone();
    let (&row, lead_shape) = shape
        .split_last()
        .ok_or_else(|| Error::internal("reduction accumulator without axes"))?;
    if row == 0 || data.len() != shape.iter().product::<usize>() {
        return Ok(());
    }
    let mut lead = vec![0; lead_shape.len()];
    for r in data.chunks_exact(row) {
        for (k, piece) in r.chunks(PIECE).enumerate() {
            acc.push(&lead, k * PIECE, piece);
        }
        for d in (0..lead.len()).rev() {
            lead[d] += 1;
            if lead[d] < lead_shape[d] {
                break;
            }
            lead[d] = 0;
        }
    }
    Ok(())
}

fn check_axes(ndim: usize, axes: &[usize]) -> Result<()> {
    let sorted = axes.windows(2).all(|w| w[0] < w[1]);
    if !sorted || axes.last().is_some_and(|&a| a >= ndim) {
        return Err(Error::internal(format!(
            "reduction axes {axes:?} must be sorted, distinct and below {ndim}; \
             the caller normalises them"
        )));
    }
    Ok(())
}

/// `shape` with the `axes` set to 1.
fn keepdims(shape: &[usize], axes: &[usize]) -> Vec<usize> {
    let mut out = shape.to_vec();
    for &a in axes {
        out[a] = 1;
    }
    out
}

fn arg_pos(op: ReduceOp, shape: &[usize], axes: &[usize], arg: Option<ArgInfo>) -> Result<ArgPos> {
    let nd = shape.len();
    let (off, global) = match arg {
        None => (vec![0; nd], shape.to_vec()),
        Some(a) => {
            let fits = a.offset.len() == nd
                && a.shape.len() == nd
                && (0..nd).all(|k| a.offset[k] + shape[k] <= a.shape[k]);
            if !fits {
                return Err(Error::internal(format!(
                    "{}: chunk of shape {shape:?} at offset {:?} does not fit in {:?}",
                    op.name(),
                    a.offset,
                    a.shape
                )));
            }
            (a.offset, a.shape)
        }
    };
    if nd == 0 {
        return Ok(ArgPos::Flat {
            off: vec![0],
            stride: vec![1],
        });
    }
    if axes.len() == nd {
        let mut stride = vec![1i64; nd];
        for k in (0..nd - 1).rev() {
            stride[k] = stride[k + 1] * global[k + 1] as i64;
        }
        return Ok(ArgPos::Flat {
            off: off.iter().map(|&o| o as i64).collect(),
            stride,
        });
    }
    match axes {
        [axis] => Ok(ArgPos::Along {
            axis: *axis,
            off: off[*axis] as i64,
        }),
        _ => Err(Error::plan(format!(
            "{} reduces one axis or all axes, not axes {axes:?} of a {nd}-d array",
            op.name()
        ))),
    }
}

fn erased_field<T: Element>(shape: &[usize], v: Erased) -> Chunk {
    let v = v
        .downcast::<Vec<T>>()
        .expect("min/max/arg state is a Vec of the input type");
    field(shape, *v)
}

/// `n` copies of `x`, written one by one. `vec![0.0; n]` asks the allocator
/// for zeroed memory, which for a large state is fresh pages mapped to the
/// shared zero page: the fold's first read-modify-write of each page then
/// takes a copy-on-write fault, and in a multi-threaded process each such
/// fault flushes the other cores' TLBs (an IPI per page). Writing the
/// initial values instead faults each page in once, as ordinary memory.
/// Measured on the seasonal benchmark: a quarter of the run was these faults.
fn written<T: Copy>(n: usize, x: T) -> Vec<T> {
    let mut v = Vec::with_capacity(n);
    v.resize(n, x);
    v
}
