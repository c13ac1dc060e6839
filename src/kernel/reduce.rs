//! Partial reductions of one chunk, their combination and their finalisation: the
//! blocked algorithm of dask's `reduction(chunk=, combine=, aggregate=)`.
//!
//! A reduction over a chunked array runs in three steps:
//!
//! 1. every chunk becomes a [`Partial`] of keepdims shape, either with [`partial`] or
//!    with a [`ReduceAcc`] that a fused elementwise program feeds row by row;
//! 2. [`combine`] merges the partials of neighbouring chunks, in a fixed order, as
//!    often as the reduction tree needs;
//! 3. [`finalize`] turns the last partial into the result.
//!
//! ```
//! use chunkwise::kernel::reduce::{combine, finalize, partial, ReduceOp};
//! use chunkwise::{Chunk, DType};
//! use ndarray::array;
//!
//! // Column variances of a 3x2 array held as two chunks stacked along axis 0.
//! let op = ReduceOp::Var { ddof: 0 };
//! let top = Chunk::from(array![[1.0, 2.0], [3.0, 4.0]].into_dyn());
//! let bottom = Chunk::from(array![[5.0, 12.0]].into_dyn());
//! let parts = [partial(op, &top, &[0], None)?, partial(op, &bottom, &[0], None)?];
//! let var = finalize(op, combine(op, &parts)?, DType::F64)?;
//! let want = array![[8.0 / 3.0, 56.0 / 3.0]].into_dyn();
//! assert!((var.to_f64() - want).iter().all(|d| d.abs() < 1e-12));
//! # Ok::<(), chunkwise::Error>(())
//! ```
//!
//! # Fields of a partial
//!
//! Every field has the keepdims shape of the chunk (or of the combined block); `T` is
//! the input dtype.
//!
//! | ops | fields |
//! |---|---|
//! | `sum nansum prod nanprod` | value: `f64` for float input, `i64` (wrapping) otherwise |
//! | `mean nanmean` | count `f64`, sum `f64` |
//! | `var std nanvar nanstd` | count `f64`, mean `f64`, M2 `f64` (Chan et al.) |
//! | `min max nanmin nanmax` | value `T`, count of reduced elements `i64` |
//! | `argmin argmax nanargmin nanargmax` | value `T`, global index `i64` (`-1`: no element, `-2`: only NaN) |
//! | `count count_nonzero` | count `i64` |
//! | `any all` | `bool` |

use std::borrow::Cow;

use ndarray::{ArrayD, IxDyn};

use crate::error::{Error, Result};
use crate::kernel::{Chunk, Element};
use crate::meta::DType;
use crate::{with_chunk, with_dtype};

/// A reduction NumPy, dask or xarray offers.
///
/// ```
/// use chunkwise::kernel::reduce::ReduceOp;
/// use chunkwise::DType;
/// assert_eq!(ReduceOp::NanStd { ddof: 1 }.name(), "nanstd");
/// assert_eq!(ReduceOp::Mean.output_dtype(DType::I32), DType::F64);
/// assert_eq!(ReduceOp::Sum.output_dtype(DType::F32), DType::F32);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ReduceOp {
    Sum,
    Prod,
    Mean,
    Var {
        ddof: u32,
    },
    Std {
        ddof: u32,
    },
    Min,
    Max,
    ArgMin,
    ArgMax,
    /// Non-NaN count (xarray's `count`); every element for integers and bools.
    Count,
    CountNonzero,
    Any,
    All,
    NanSum,
    NanProd,
    NanMean,
    NanVar {
        ddof: u32,
    },
    NanStd {
        ddof: u32,
    },
    NanMin,
    NanMax,
    NanArgMin,
    NanArgMax,
}

impl ReduceOp {
    /// NumPy's name: `"sum"`, `"nanstd"`, `"argmin"`, `"count_nonzero"`, ...
    pub fn name(&self) -> &'static str {
        use ReduceOp::*;
        match self {
            Sum => "sum",
            Prod => "prod",
            Mean => "mean",
            Var { .. } => "var",
            Std { .. } => "std",
            Min => "min",
            Max => "max",
            ArgMin => "argmin",
            ArgMax => "argmax",
            Count => "count",
            CountNonzero => "count_nonzero",
            Any => "any",
            All => "all",
            NanSum => "nansum",
            NanProd => "nanprod",
            NanMean => "nanmean",
            NanVar { .. } => "nanvar",
            NanStd { .. } => "nanstd",
            NanMin => "nanmin",
            NanMax => "nanmax",
            NanArgMin => "nanargmin",
            NanArgMax => "nanargmax",
        }
    }

    /// The dtype of the result for an input of dtype `input`, as NumPy gives it:
    /// sums and products of bool/int are `int64`; means, variances and standard
    /// deviations are `float32` for `float32` input and `float64` otherwise; min/max
    /// keep the dtype; arg reductions and counts are `int64`; any/all are `bool`.
    pub fn output_dtype(&self, input: DType) -> DType {
        use ReduceOp::*;
        match self {
            Sum | Prod | NanSum | NanProd => input.sum_type(),
            Mean | Var { .. } | Std { .. } | NanMean | NanVar { .. } | NanStd { .. } => {
                input.to_float()
            }
            Min | Max | NanMin | NanMax => input,
            ArgMin | ArgMax | NanArgMin | NanArgMax | Count | CountNonzero => DType::I64,
            Any | All => DType::Bool,
        }
    }

    /// Whether the result is an index (`argmin`, `nanargmax`, ...).
    pub fn is_arg(&self) -> bool {
        use ReduceOp::*;
        matches!(self, ArgMin | ArgMax | NanArgMin | NanArgMax)
    }

    /// Whether reducing zero elements is an error (the op has no identity): NumPy
    /// raises for min/max and the arg reductions of zero-size arrays.
    pub fn needs_nonempty(&self) -> bool {
        use ReduceOp::*;
        matches!(
            self,
            Min | Max | NanMin | NanMax | ArgMin | ArgMax | NanArgMin | NanArgMax
        )
    }

    /// Whether NaN values are skipped.
    fn skips_nan(&self) -> bool {
        use ReduceOp::*;
        matches!(
            self,
            NanSum
                | NanProd
                | NanMean
                | NanVar { .. }
                | NanStd { .. }
                | NanMin
                | NanMax
                | NanArgMin
                | NanArgMax
        )
    }

    /// The NumPy ufunc behind a min/max-like op, for error messages.
    fn ufunc(&self) -> &'static str {
        use ReduceOp::*;
        match self {
            Max | ArgMax | NanMax | NanArgMax => "maximum",
            _ => "minimum",
        }
    }

    /// How many fields a partial of this op has.
    fn field_count(&self) -> usize {
        use ReduceOp::*;
        match self {
            Sum | Prod | NanSum | NanProd | Count | CountNonzero | Any | All => 1,
            Mean | NanMean => 2,
            Var { .. } | Std { .. } | NanVar { .. } | NanStd { .. } => 3,
            Min | Max | NanMin | NanMax | ArgMin | ArgMax | NanArgMin | NanArgMax => 2,
        }
    }
}

/// Partial state of a reduction over some chunks.
///
/// Invariant: `fields` all share one shape, the chunk's shape with the reduced axes
/// set to 1 (keepdims), and their number and dtypes are fixed by the op (see the
/// [module docs](self)).
#[derive(Debug, Clone, PartialEq)]
pub struct Partial {
    pub fields: Vec<Chunk>,
}

impl Partial {
    /// Bytes of field data (what moving this partial between ranks costs).
    pub fn nbytes(&self) -> usize {
        self.fields.iter().map(Chunk::nbytes).sum()
    }
}

/// Where a chunk sits in the global array, for arg reductions: `offset` is the
/// global index of the chunk's first element, `shape` the global array's shape.
#[derive(Debug, Clone)]
pub struct ArgInfo {
    pub offset: Vec<usize>,
    pub shape: Vec<usize>,
}

/// Index of an arg partial that has seen no element.
const EMPTY: i64 = -1;
/// Index of a nan-arg partial that has seen elements, all of them NaN.
const ALL_NAN: i64 = -2;
/// Accumulators per row kernel: independent chains that the compiler turns into SIMD
/// lanes and that bound the rounding error of long sums.
const LANES: usize = 8;
/// Float rows are summed in blocks of this many elements, then the block sums added.
const BLOCK: usize = 1024;
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
enum State {
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
            Sum | NanSum if input.is_float() => State::SumF(vec![0.0; n]),
            Sum | NanSum => State::SumI(vec![0; n]),
            Prod | NanProd if input.is_float() => State::ProdF(vec![1.0; n]),
            Prod | NanProd => State::ProdI(vec![1; n]),
            Mean | NanMean => State::Mean {
                n: vec![0.0; n],
                s: vec![0.0; n],
            },
            Var { .. } | Std { .. } | NanVar { .. } | NanStd { .. } => State::Moments {
                n: vec![0.0; n],
                m: vec![0.0; n],
                m2: vec![0.0; n],
                k: vec![0.0; n],
            },
            Count | CountNonzero => State::Count(vec![0; n]),
            Any => State::Bools(vec![false; n]),
            All => State::Bools(vec![true; n]),
            Min | Max | NanMin | NanMax => {
                with_dtype!(input, T => with_rule!(op, R => State::Ext(Box::new(vec![R::init::<T>(); n]))))
            }
            ArgMin | ArgMax | NanArgMin | NanArgMax => with_dtype!(input, T => State::Arg {
                v: Box::new(vec![T::default(); n]),
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

/// Combine the partials of neighbouring chunks along the reduced axes, in the given
/// order: the same order gives bitwise-identical results. Arg reductions break ties
/// by the lowest global index whatever the order.
pub fn combine(op: ReduceOp, parts: &[Partial]) -> Result<Partial> {
    let (first, rest) = parts
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

/// A field of `shape` from its C-order values.
fn field<T: Element>(shape: &[usize], v: Vec<T>) -> Chunk {
    T::wrap(
        ArrayD::from_shape_vec(IxDyn(shape), v)
            .expect("partial state has one value per output element"),
    )
}

fn erased_field<T: Element>(shape: &[usize], v: Erased) -> Chunk {
    let v = v
        .downcast::<Vec<T>>()
        .expect("min/max/arg state is a Vec of the input type");
    field(shape, *v)
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
    parts: &[Partial],
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

fn ext_combine<T: Element, R: Rule>(parts: &[Partial], shape: &[usize]) -> Result<Vec<Chunk>> {
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

fn arg_combine<T: Element, R: Rule>(parts: &[Partial], shape: &[usize]) -> Result<Vec<Chunk>> {
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

// ---------------------------------------------------------------------------------
// Min/max rules.

/// How a min/max-like reduction picks between a candidate and the current value.
trait Rule {
    const SKIP_NAN: bool;
    /// The state before any element.
    fn init<T: Element>() -> T;
    /// Whether candidate `x` replaces the current value `s`.
    fn take<T: Element>(x: T, s: T) -> bool;
}

/// `min`/`argmin`: NaN wins (NumPy propagates it).
struct MinProp;
/// `max`/`argmax`.
struct MaxProp;
/// `nanmin`/`nanargmin`: NaN is skipped; the state is NaN until a number is seen.
struct MinSkip;
/// `nanmax`/`nanargmax`.
struct MaxSkip;

fn top<T: Element>() -> T {
    match T::DTYPE {
        DType::Bool => T::from_bool(true),
        DType::I32 => T::from_i64(i64::from(i32::MAX)),
        DType::I64 => T::from_i64(i64::MAX),
        DType::F32 | DType::F64 => T::from_f64(f64::INFINITY),
    }
}

fn bottom<T: Element>() -> T {
    match T::DTYPE {
        DType::Bool => T::from_bool(false),
        DType::I32 => T::from_i64(i64::from(i32::MIN)),
        DType::I64 => T::from_i64(i64::MIN),
        DType::F32 | DType::F64 => T::from_f64(f64::NEG_INFINITY),
    }
}

impl Rule for MinProp {
    const SKIP_NAN: bool = false;
    fn init<T: Element>() -> T {
        top()
    }
    #[inline(always)]
    fn take<T: Element>(x: T, s: T) -> bool {
        x < s || x.is_nan()
    }
}

impl Rule for MaxProp {
    const SKIP_NAN: bool = false;
    fn init<T: Element>() -> T {
        bottom()
    }
    #[inline(always)]
    fn take<T: Element>(x: T, s: T) -> bool {
        x > s || x.is_nan()
    }
}

impl Rule for MinSkip {
    const SKIP_NAN: bool = true;
    fn init<T: Element>() -> T {
        if T::DTYPE.is_float() {
            T::from_f64(f64::NAN)
        } else {
            top()
        }
    }
    #[inline(always)]
    fn take<T: Element>(x: T, s: T) -> bool {
        x < s || s.is_nan()
    }
}

impl Rule for MaxSkip {
    const SKIP_NAN: bool = true;
    fn init<T: Element>() -> T {
        if T::DTYPE.is_float() {
            T::from_f64(f64::NAN)
        } else {
            bottom()
        }
    }
    #[inline(always)]
    fn take<T: Element>(x: T, s: T) -> bool {
        x > s || s.is_nan()
    }
}

/// Run `$body` with `$R` bound to the [`Rule`] of a min/max/arg op.
macro_rules! with_rule {
    ($op:expr, $R:ident => $body:expr) => {
        match $op {
            ReduceOp::Min | ReduceOp::ArgMin => {
                type $R = MinProp;
                $body
            }
            ReduceOp::Max | ReduceOp::ArgMax => {
                type $R = MaxProp;
                $body
            }
            ReduceOp::NanMin | ReduceOp::NanArgMin => {
                type $R = MinSkip;
                $body
            }
            _ => {
                type $R = MaxSkip;
                $body
            }
        }
    };
}
use with_rule;

/// Whether candidate (`x` at index `i`) replaces the current best (`s` at `j >= 0`):
/// strictly better, or equal (both NaN counts as equal) at a lower index.
#[inline(always)]
fn arg_take<T: Element, R: Rule>(x: T, i: i64, s: T, j: i64) -> bool {
    if x.is_nan() && s.is_nan() {
        return i < j;
    }
    R::take(x, s) || (x == s && i < j)
}

/// Merge Chan et al.'s (count, mean, M2) of a block `b` into the state.
#[inline(always)]
fn chan(n: &mut f64, m: &mut f64, q: &mut f64, nb: f64, mb: f64, qb: f64) {
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

// ---------------------------------------------------------------------------------
// Row kernels: the last axis is reduced, a row folds into one state element.

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

fn sum_f<T: Element, const SKIP: bool>(vals: &[T]) -> f64 {
    let add = |a: f64, b: f64| a + b;
    vals.chunks(BLOCK)
        .map(|b| fold_lanes(b, 0.0, |a, x| a + fval::<T, SKIP>(x, 0.0), add))
        .fold(0.0, add)
}

fn prod_f<T: Element, const SKIP: bool>(vals: &[T]) -> f64 {
    fold_lanes(vals, 1.0, |a, x| a * fval::<T, SKIP>(x, 1.0), |a, b| a * b)
}

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
fn row_moments<T: Element, const SKIP: bool>(vals: &[T], k: f64) -> (f64, f64, f64) {
    let n = if SKIP { count_valid(vals) } else { vals.len() } as f64;
    if n == 0.0 {
        return (0.0, 0.0, 0.0);
    }
    let add = |a: f64, b: f64| a + b;
    let shifted = |a: f64, x: T| a + (fval::<T, SKIP>(x, k) - k);
    let mean = vals
        .chunks(BLOCK)
        .map(|b| fold_lanes(b, 0.0, shifted, add))
        .fold(0.0, add)
        / n;
    let sq = |a: f64, x: T| {
        let d = x.to_f64() - k - mean;
        a + if SKIP && d.is_nan() { 0.0 } else { d * d }
    };
    let m2 = vals
        .chunks(BLOCK)
        .map(|b| fold_lanes(b, 0.0, sq, add))
        .fold(0.0, add);
    (n, mean, m2)
}

fn ext_fold<T: Element, R: Rule>(vals: &[T]) -> T {
    let pick = |a: T, x: T| if R::take(x, a) { x } else { a };
    fold_lanes(vals, R::init::<T>(), pick, pick)
}

/// Fold a row into one arg state: find the extreme value, then its first position.
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

fn any_true<T: Element>(vals: &[T]) -> bool {
    vals.chunks(256)
        .any(|b| b.iter().fold(false, |a, x| a | x.is_true()))
}

fn all_true<T: Element>(vals: &[T]) -> bool {
    vals.chunks(256)
        .all(|b| b.iter().fold(true, |a, x| a & x.is_true()))
}

/// Fold the values of a row into state element `i` (last axis reduced).
fn fold_row<T: Element>(state: &mut State, op: ReduceOp, i: usize, vals: &[T], at: i64) {
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
fn fold_kept<T: Element>(
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

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Axis, Slice};

    // -----------------------------------------------------------------------------
    // Data.

    /// splitmix64: deterministic test data without a dependency.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
        fn unit(&mut self) -> f64 {
            (self.next() >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    /// Values with many ties (multiples of 1/2, sometimes perturbed), NaN in about a
    /// sixth of the places if `nan`.
    fn make(dtype: DType, shape: &[usize], seed: u64, nan: bool) -> Chunk {
        let mut r = Rng(seed);
        let n: usize = shape.iter().product();
        let sh = IxDyn(shape);
        let floats = || -> Vec<f64> {
            let mut r = Rng(seed);
            (0..n)
                .map(|_| {
                    if nan && r.below(6) == 0 {
                        f64::NAN
                    } else {
                        let q = (r.below(17) as f64 - 8.0) * 0.5;
                        if r.below(2) == 0 {
                            q + r.unit() * 0.1
                        } else {
                            q
                        }
                    }
                })
                .collect()
        };
        match dtype {
            DType::Bool => Chunk::Bool(ArrayD::from_shape_fn(sh, |_| r.below(4) != 0)),
            DType::I32 => Chunk::I32(ArrayD::from_shape_fn(sh, |_| r.below(9) as i32 - 4)),
            DType::I64 => Chunk::I64(ArrayD::from_shape_fn(sh, |_| r.below(9) as i64 - 4)),
            DType::F32 => Chunk::F32(
                ArrayD::from_shape_vec(sh, floats())
                    .unwrap()
                    .mapv(|v| v as f32),
            ),
            DType::F64 => Chunk::F64(ArrayD::from_shape_vec(sh, floats()).unwrap()),
        }
    }

    fn all_ops() -> Vec<ReduceOp> {
        use ReduceOp::*;
        vec![
            Sum,
            Prod,
            Mean,
            Var { ddof: 0 },
            Var { ddof: 1 },
            Var { ddof: 5 },
            Std { ddof: 0 },
            Std { ddof: 1 },
            Min,
            Max,
            ArgMin,
            ArgMax,
            Count,
            CountNonzero,
            Any,
            All,
            NanSum,
            NanProd,
            NanMean,
            NanVar { ddof: 0 },
            NanVar { ddof: 1 },
            NanStd { ddof: 1 },
            NanMin,
            NanMax,
            NanArgMin,
            NanArgMax,
        ]
    }

    const DTYPES: [DType; 5] = [DType::Bool, DType::I32, DType::I64, DType::F32, DType::F64];

    fn cases() -> Vec<(Vec<usize>, Vec<Vec<usize>>)> {
        vec![
            (vec![13], vec![vec![0], vec![]]),
            (vec![7, 9], vec![vec![0], vec![1], vec![0, 1], vec![]]),
            (
                vec![5, 4, 6],
                vec![vec![0], vec![2], vec![0, 2], vec![1], vec![0, 1, 2]],
            ),
        ]
    }

    // -----------------------------------------------------------------------------
    // Reference: group the values of each output element with `indexed_iter`, in C
    // order, and reduce each group with the textbook formula.

    fn reference(op: ReduceOp, c: &Chunk, axes: &[usize]) -> Result<Chunk> {
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
    fn assert_matches(got: &Result<Chunk>, want: &Result<Chunk>, exact: bool, ctx: &str) {
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

    fn exact(op: ReduceOp) -> bool {
        use ReduceOp::*;
        matches!(
            op,
            Min | Max | NanMin | NanMax | Count | CountNonzero | Any | All
        ) || op.is_arg()
    }

    fn applies(op: ReduceOp, nd: usize, axes: &[usize]) -> bool {
        !op.is_arg() || axes.len() == 1 || axes.len() == nd
    }

    // -----------------------------------------------------------------------------
    // Splitting into chunks.

    fn slice(c: &Chunk, ranges: &[(usize, usize, usize)]) -> Chunk {
        with_chunk!(c, a, T => T::wrap(
            a.slice_each_axis(|ax| {
                match ranges.iter().find(|r| r.0 == ax.axis.index()) {
                    Some(&(_, s, e)) => Slice::from(s..e),
                    None => Slice::from(..),
                }
            })
            .to_owned()
        ))
    }

    /// Four pieces of `0..len`, one of them empty.
    fn cuts(len: usize) -> Vec<(usize, usize)> {
        let (a, b) = (len / 3, 2 * len / 3);
        vec![(0, a), (a, a), (a, b), (b, len)]
    }

    /// Pieces of `c` cut along the first and the last reduced axis (4 or 16 pieces),
    /// in C order over the piece grid, each with its `ArgInfo`.
    fn pieces(c: &Chunk, axes: &[usize]) -> Vec<(Chunk, ArgInfo)> {
        let shape = c.shape().to_vec();
        let mut split: Vec<usize> = axes
            .first()
            .into_iter()
            .chain(axes.last())
            .copied()
            .collect();
        split.dedup();
        let mut out = vec![(Vec::new(), vec![0; shape.len()])];
        for &ax in &split {
            let mut next = Vec::new();
            for (ranges, offset) in &out {
                for (s, e) in cuts(shape[ax]) {
                    let mut r: Vec<(usize, usize, usize)> = ranges.clone();
                    r.push((ax, s, e));
                    let mut o: Vec<usize> = offset.clone();
                    o[ax] = s;
                    next.push((r, o));
                }
            }
            out = next;
        }
        out.into_iter()
            .map(|(r, offset)| {
                (
                    slice(c, &r),
                    ArgInfo {
                        offset,
                        shape: shape.clone(),
                    },
                )
            })
            .collect()
    }

    /// Push every row of `c` through `ReduceAcc::new` (the chunk's own shape, no axis
    /// merging) in pieces of random length.
    fn push_in_pieces(
        op: ReduceOp,
        c: &Chunk,
        axes: &[usize],
        arg: Option<ArgInfo>,
        seed: u64,
    ) -> Result<Partial> {
        let mut acc = ReduceAcc::new(op, c.dtype(), c.shape(), axes, arg)?;
        let mut r = Rng(seed);
        with_chunk!(c, a, T => {
            if a.ndim() == 0 {
                acc.push::<T>(&[], 0, &[a[IxDyn(&[])]]);
            } else {
                let last = a.ndim() - 1;
                let lead_shape = &a.shape()[..last];
                for (n, lane) in a.lanes(Axis(last)).into_iter().enumerate() {
                    // Lanes come in C order over the lead axes.
                    let mut lead = vec![0; last];
                    let mut rem = n;
                    for d in (0..last).rev() {
                        lead[d] = rem % lead_shape[d];
                        rem /= lead_shape[d];
                    }
                    let row: Vec<T> = lane.to_vec();
                    let mut col = 0;
                    while col < row.len() {
                        let len = (1 + r.below(5) as usize).min(row.len() - col);
                        acc.push(&lead, col, &row[col..col + len]);
                        col += len;
                    }
                }
            }
        });
        Ok(acc.finish())
    }

    fn bits(c: &Result<Chunk>) -> Vec<u64> {
        match c {
            Ok(c) => c.to_f64().iter().map(|v| v.to_bits()).collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Whole chunk, pieces combined left to right, pieces combined as a tree, and rows
    /// pushed in random pieces: all equal the reference.
    fn check(op: ReduceOp, c: &Chunk, axes: &[usize]) {
        let input = c.dtype();
        let ctx = format!("{} of {} {:?} over {axes:?}", op.name(), input, c.shape());
        let want = reference(op, c, axes);
        let ex = exact(op);

        let whole = partial(op, c, axes, None).and_then(|p| finalize(op, p, input));
        assert_matches(&whole, &want, ex, &format!("{ctx}, whole"));

        let pushed = push_in_pieces(op, c, axes, None, 7).and_then(|p| finalize(op, p, input));
        assert_matches(&pushed, &want, ex, &format!("{ctx}, pushed in pieces"));

        let parts: Vec<Partial> = pieces(c, axes)
            .into_iter()
            .map(|(p, info)| partial(op, &p, axes, Some(info)).unwrap())
            .collect();
        let chained = combine(op, &parts).and_then(|p| finalize(op, p, input));
        assert_matches(
            &chained,
            &want,
            ex,
            &format!("{ctx}, {} pieces", parts.len()),
        );

        let pairs: Vec<Partial> = parts.chunks(2).map(|p| combine(op, p).unwrap()).collect();
        let tree = combine(op, &pairs).and_then(|p| finalize(op, p, input));
        assert_matches(&tree, &want, ex, &format!("{ctx}, tree of pieces"));

        let again = combine(op, &parts).and_then(|p| finalize(op, p, input));
        assert_eq!(
            bits(&chained),
            bits(&again),
            "{ctx}: same order, different bits"
        );
    }

    // -----------------------------------------------------------------------------
    // Tests.

    #[test]
    fn every_op_and_dtype_matches_the_reference_whole_and_in_pieces() {
        let mut seed = 1;
        for (shape, axes_list) in cases() {
            for dtype in DTYPES {
                for nan in [false, true] {
                    if nan && !dtype.is_float() {
                        continue;
                    }
                    seed += 1;
                    let c = make(dtype, &shape, seed, nan);
                    for axes in &axes_list {
                        for op in all_ops() {
                            if applies(op, shape.len(), axes) {
                                check(op, &c, axes);
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn non_standard_layout_matches_the_reference() {
        for dtype in DTYPES {
            let c = make(dtype, &[6, 4, 5], 99, dtype.is_float());
            let t = with_chunk!(&c, a, T => T::wrap(a.clone().reversed_axes()));
            for axes in [vec![0], vec![2], vec![0, 2], vec![0, 1, 2]] {
                for op in all_ops() {
                    if applies(op, 3, &axes) {
                        let want = reference(op, &t, &axes);
                        let got = partial(op, &t, &axes, None).and_then(|p| finalize(op, p, dtype));
                        assert_matches(
                            &got,
                            &want,
                            exact(op),
                            &format!("{} of transposed {dtype}", op.name()),
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn zero_d_chunk_reduces_to_itself() {
        let c = Chunk::F64(ArrayD::from_elem(IxDyn(&[]), 3.5));
        for op in all_ops() {
            check(op, &c, &[]);
        }
        let p = partial(ReduceOp::ArgMax, &c, &[], None).unwrap();
        let i = finalize(ReduceOp::ArgMax, p, DType::F64).unwrap();
        assert_eq!(i, Chunk::I64(ArrayD::from_elem(IxDyn(&[]), 0)));
    }

    #[test]
    fn agrees_with_ndarray_axis_reductions() {
        let c = make(DType::F64, &[5, 4, 6], 3, false);
        let a = c.typed::<f64>().unwrap();
        let run = |op: ReduceOp, axes: &[usize]| -> ArrayD<f64> {
            finalize(op, partial(op, &c, axes, None).unwrap(), DType::F64)
                .unwrap()
                .to_f64()
        };
        let close = |g: ArrayD<f64>, w: ArrayD<f64>| {
            assert_eq!(g.shape(), w.shape());
            for (x, y) in g.iter().zip(&w) {
                assert!((x - y).abs() <= 1e-12 * x.abs().max(1.0), "{x} vs {y}");
            }
        };
        for ax in 0..3 {
            let keep = |r: ArrayD<f64>| r.insert_axis(Axis(ax));
            close(run(ReduceOp::Sum, &[ax]), keep(a.sum_axis(Axis(ax))));
            close(
                run(ReduceOp::Mean, &[ax]),
                keep(a.mean_axis(Axis(ax)).unwrap()),
            );
            close(
                run(ReduceOp::Var { ddof: 0 }, &[ax]),
                keep(a.var_axis(Axis(ax), 0.0)),
            );
            close(
                run(ReduceOp::Var { ddof: 1 }, &[ax]),
                keep(a.var_axis(Axis(ax), 1.0)),
            );
            close(
                run(ReduceOp::Std { ddof: 1 }, &[ax]),
                keep(a.std_axis(Axis(ax), 1.0)),
            );
        }
        let s02 = a
            .sum_axis(Axis(2))
            .sum_axis(Axis(0))
            .insert_axis(Axis(0))
            .insert_axis(Axis(2));
        close(run(ReduceOp::Sum, &[0, 2]), s02);
    }

    #[test]
    fn min_max_arg_of_zero_elements_is_a_plan_error() {
        let empty = Chunk::F64(ArrayD::zeros(IxDyn(&[0, 3])));
        let msg = |op: ReduceOp| match partial(op, &empty, &[0], None)
            .and_then(|p| finalize(op, p, DType::F64))
        {
            Err(Error::Plan(m)) => m,
            other => panic!("{}: {other:?}", op.name()),
        };
        assert_eq!(
            msg(ReduceOp::Min),
            "zero-size array to reduction operation minimum which has no identity"
        );
        assert_eq!(
            msg(ReduceOp::NanMax),
            "zero-size array to reduction operation maximum which has no identity"
        );
        assert_eq!(
            msg(ReduceOp::ArgMin),
            "zero-size array to reduction operation minimum which has no identity"
        );
        assert_eq!(
            msg(ReduceOp::NanArgMax),
            "zero-size array to reduction operation maximum which has no identity"
        );
        let fin = |op: ReduceOp| {
            finalize(op, partial(op, &empty, &[0], None).unwrap(), DType::F64)
                .unwrap()
                .to_f64()
        };
        assert_eq!(fin(ReduceOp::Sum), ArrayD::zeros(IxDyn(&[1, 3])));
        assert_eq!(fin(ReduceOp::Prod), ArrayD::ones(IxDyn(&[1, 3])));
        assert_eq!(fin(ReduceOp::Count), ArrayD::zeros(IxDyn(&[1, 3])));
        assert!(fin(ReduceOp::Mean).iter().all(|v| v.is_nan()));
        assert!(fin(ReduceOp::Var { ddof: 0 }).iter().all(|v| v.is_nan()));
        assert_eq!(fin(ReduceOp::All), ArrayD::ones(IxDyn(&[1, 3])));
        // An empty chunk next to a non-empty one contributes nothing.
        let full = Chunk::F64(ndarray::array![[2.0, -1.0, 4.0]].into_dyn());
        for op in [ReduceOp::Min, ReduceOp::NanArgMax] {
            let parts = [
                partial(op, &empty, &[0], None).unwrap(),
                partial(op, &full, &[0], None).unwrap(),
            ];
            assert!(finalize(op, combine(op, &parts).unwrap(), DType::F64).is_ok());
        }
    }

    #[test]
    fn nan_handling_follows_numpy() {
        let nan = f64::NAN;
        let c = Chunk::F64(ndarray::array![3.0, nan, 1.0, nan, 1.0].into_dyn());
        let run = |op: ReduceOp| {
            finalize(op, partial(op, &c, &[0], None).unwrap(), DType::F64)
                .unwrap()
                .to_f64()[[0]]
        };
        assert!(run(ReduceOp::Min).is_nan());
        assert!(run(ReduceOp::Max).is_nan());
        assert!(run(ReduceOp::Sum).is_nan());
        assert!(run(ReduceOp::Var { ddof: 0 }).is_nan());
        assert_eq!(run(ReduceOp::NanMin), 1.0);
        assert_eq!(run(ReduceOp::NanMax), 3.0);
        assert_eq!(run(ReduceOp::NanSum), 5.0);
        assert_eq!(run(ReduceOp::NanProd), 3.0);
        assert_eq!(run(ReduceOp::NanMean), 5.0 / 3.0);
        assert!((run(ReduceOp::NanVar { ddof: 1 }) - 4.0 / 3.0).abs() < 1e-15);
        assert_eq!(run(ReduceOp::ArgMin), 1.0); // the first NaN
        assert_eq!(run(ReduceOp::ArgMax), 1.0);
        assert_eq!(run(ReduceOp::NanArgMin), 2.0); // the first of the tied minima
        assert_eq!(run(ReduceOp::NanArgMax), 0.0);
        assert_eq!(run(ReduceOp::Count), 3.0);
        assert_eq!(run(ReduceOp::CountNonzero), 5.0);
        assert_eq!(run(ReduceOp::All), 1.0);

        let all_nan = Chunk::F32(ndarray::array![[f32::NAN, f32::NAN], [1.0, f32::NAN]].into_dyn());
        let p = partial(ReduceOp::NanMin, &all_nan, &[0], None).unwrap();
        let m = finalize(ReduceOp::NanMin, p, DType::F32).unwrap().to_f64();
        assert!(m[[0, 1]].is_nan() && m[[0, 0]] == 1.0);
        let p = partial(ReduceOp::NanArgMin, &all_nan, &[0], None).unwrap();
        match finalize(ReduceOp::NanArgMin, p, DType::F32) {
            Err(Error::Compute(m)) => assert!(
                m.starts_with("All-NaN slice encountered in nanargmin"),
                "{m}"
            ),
            other => panic!("{other:?}"),
        }
        // All-NaN in one chunk, an empty chunk elsewhere: still all-NaN, not zero-size.
        let empty = Chunk::F32(ArrayD::zeros(IxDyn(&[0, 2])));
        let parts = [
            partial(ReduceOp::NanArgMax, &empty, &[0], None).unwrap(),
            partial(ReduceOp::NanArgMax, &all_nan.cast(DType::F32), &[0], None).unwrap(),
        ];
        let p = combine(ReduceOp::NanArgMax, &parts).unwrap();
        assert!(matches!(
            finalize(ReduceOp::NanArgMax, p, DType::F32),
            Err(Error::Compute(_))
        ));
    }

    #[test]
    fn arg_ties_go_to_the_lowest_global_index_in_any_combine_order() {
        let a = Chunk::I32(ndarray::array![1, 0, 5].into_dyn());
        let b = Chunk::I32(ndarray::array![0, 0].into_dyn());
        let info = |o| {
            Some(ArgInfo {
                offset: vec![o],
                shape: vec![5],
            })
        };
        for op in [ReduceOp::ArgMin, ReduceOp::NanArgMin] {
            let pa = partial(op, &a, &[0], info(0)).unwrap();
            let pb = partial(op, &b, &[0], info(3)).unwrap();
            for parts in [[pa.clone(), pb.clone()], [pb, pa]] {
                let i = finalize(op, combine(op, &parts).unwrap(), DType::I32).unwrap();
                assert_eq!(i, Chunk::I64(ndarray::array![1].into_dyn()));
            }
        }
        // Flat index over all axes of the global array.
        let c = Chunk::F64(ndarray::array![[2.0, 9.0], [9.0, 0.0]].into_dyn());
        let info = ArgInfo {
            offset: vec![1, 2],
            shape: vec![4, 5],
        };
        let i = finalize(
            ReduceOp::ArgMax,
            partial(ReduceOp::ArgMax, &c, &[0, 1], Some(info)).unwrap(),
            DType::F64,
        );
        assert_eq!(i.unwrap(), Chunk::I64(ndarray::array![[5 + 3]].into_dyn()));
    }

    #[test]
    fn arg_over_two_of_three_axes_is_a_plan_error() {
        let r = ReduceAcc::new(ReduceOp::ArgMin, DType::F64, &[2, 3, 4], &[0, 2], None);
        assert!(matches!(r, Err(Error::Plan(_))));
    }

    #[test]
    fn sums_of_f32_accumulate_in_f64() {
        let mut v = vec![1.0f32; 17];
        v[0] = 1e8;
        let c = Chunk::F32(ArrayD::from_shape_vec(IxDyn(&[17]), v).unwrap());
        let s = finalize(
            ReduceOp::Sum,
            partial(ReduceOp::Sum, &c, &[0], None).unwrap(),
            DType::F32,
        )
        .unwrap();
        assert_eq!(s, Chunk::F32(ndarray::array![100_000_016.0f32].into_dyn()));
    }

    #[test]
    fn int64_sums_and_products_wrap() {
        let mut r = Rng(5);
        let big = ArrayD::from_shape_fn(IxDyn(&[6, 40]), |_| (r.next() >> 2) as i64 - (1 << 61));
        let c = Chunk::I64(big);
        for op in [ReduceOp::Sum, ReduceOp::Prod] {
            check(op, &c, &[1]);
            check(op, &c, &[0]);
        }
    }

    #[test]
    fn long_rows_stay_accurate_and_deterministic() {
        // Longer than PIECE and BLOCK, with a large offset that naive variance loses.
        let mut r = Rng(11);
        let a = ArrayD::from_shape_fn(IxDyn(&[3, 10_000]), |_| 1e6 + r.unit());
        let c = Chunk::F64(a);
        for op in [
            ReduceOp::Sum,
            ReduceOp::Mean,
            ReduceOp::Var { ddof: 1 },
            ReduceOp::ArgMin,
        ] {
            check(op, &c, &[1]);
            check(op, &c, &[0, 1]);
        }
        let v = finalize(
            ReduceOp::Var { ddof: 0 },
            partial(ReduceOp::Var { ddof: 0 }, &c, &[1], None).unwrap(),
            DType::F64,
        );
        assert!(v
            .unwrap()
            .to_f64()
            .iter()
            .all(|&v| (v - 1.0 / 12.0).abs() < 0.01));
    }

    #[test]
    fn malformed_partials_are_internal_errors() {
        let p = partial(
            ReduceOp::Sum,
            &make(DType::F64, &[4, 3], 1, false),
            &[0],
            None,
        )
        .unwrap();
        let q = partial(
            ReduceOp::Sum,
            &make(DType::F64, &[4, 2], 1, false),
            &[0],
            None,
        )
        .unwrap();
        assert!(matches!(
            combine(ReduceOp::Sum, &[p.clone(), q]),
            Err(Error::Internal(_))
        ));
        assert!(matches!(
            combine(ReduceOp::Sum, &[]),
            Err(Error::Internal(_))
        ));
        assert!(matches!(
            finalize(ReduceOp::Mean, p.clone(), DType::F64),
            Err(Error::Internal(_))
        ));
        assert!(matches!(
            finalize(ReduceOp::Sum, p, DType::I32),
            Err(Error::Internal(_))
        ));
        assert!(matches!(
            ReduceAcc::new(ReduceOp::Sum, DType::F64, &[2, 3], &[1, 0], None),
            Err(Error::Internal(_))
        ));
    }

    #[test]
    fn partial_metadata() {
        use ReduceOp::*;
        let p = partial(
            Var { ddof: 1 },
            &make(DType::F32, &[4, 3], 1, false),
            &[0],
            None,
        )
        .unwrap();
        assert_eq!(p.fields.len(), 3);
        assert_eq!(p.fields[0].shape(), &[1, 3]);
        assert_eq!(p.nbytes(), 3 * 3 * 8);
        assert_eq!(Sum.output_dtype(DType::Bool), DType::I64);
        assert_eq!(Prod.output_dtype(DType::I32), DType::I64);
        assert_eq!(NanSum.output_dtype(DType::F32), DType::F32);
        assert_eq!(Std { ddof: 0 }.output_dtype(DType::Bool), DType::F64);
        assert_eq!(NanMean.output_dtype(DType::F32), DType::F32);
        assert_eq!(Min.output_dtype(DType::I32), DType::I32);
        assert_eq!(NanArgMax.output_dtype(DType::F32), DType::I64);
        assert_eq!(Count.output_dtype(DType::Bool), DType::I64);
        assert_eq!(All.output_dtype(DType::F64), DType::Bool);
        assert_eq!(CountNonzero.name(), "count_nonzero");
        assert_eq!(NanArgMin.name(), "nanargmin");
        assert!(NanArgMin.is_arg() && !NanMin.is_arg());
        assert!(NanMax.needs_nonempty() && ArgMin.needs_nonempty() && !Sum.needs_nonempty());
    }

    /// Two-pass variance of the groups along `axis` of a 2-d array: the reference.
    fn two_pass_var(a: &ArrayD<f64>, axis: usize) -> ArrayD<f64> {
        let m = a.mean_axis(Axis(axis)).unwrap().insert_axis(Axis(axis));
        let d2 = (a - &m).mapv(|d| d * d);
        d2.mean_axis(Axis(axis)).unwrap().insert_axis(Axis(axis))
    }

    #[test]
    fn variance_of_data_far_from_zero_is_accurate() {
        // Values 1e6 + U(0, 1): the running mean of a plain Welford update is rounded
        // at 1e6 and loses ~1e-10 (ndarray's var_axis does); ours stays near 1e-15.
        let mut r = Rng(17);
        let mut a = ArrayD::from_shape_fn(IxDyn(&[3000, 40]), |_| 1e6 + r.unit());
        for outlier_first in [false, true] {
            if outlier_first {
                a[[0, 0]] = -1e6;
                a[[0, 1]] = 3e6;
            }
            let c = Chunk::F64(a.clone());
            let op = ReduceOp::Var { ddof: 0 };
            for axis in [0, 1] {
                let want = two_pass_var(&a, axis);
                let whole = finalize(op, partial(op, &c, &[axis], None).unwrap(), DType::F64);
                let tiny = finalize(
                    op,
                    push_in_pieces(op, &c, &[axis], None, 3).unwrap(),
                    DType::F64,
                );
                for got in [whole, tiny] {
                    let got = got.unwrap().to_f64();
                    for (g, w) in got.iter().zip(&want) {
                        assert!((g - w).abs() <= 1e-12 * w, "axis {axis}: {g} vs {w}");
                    }
                }
            }
        }
    }
}
