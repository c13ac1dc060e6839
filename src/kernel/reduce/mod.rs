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

mod acc;
mod combine;
mod fold;
mod rule;
#[cfg(test)]
mod tests;

pub use acc::{partial, ReduceAcc};
pub use combine::{combine, finalize};

use ndarray::{ArrayD, IxDyn};

use crate::kernel::{Chunk, Element};
use crate::meta::DType;

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

    /// Bytes of partial state per output element for an input of `input` (the fields
    /// `ReduceAcc::finish` produces), for memory projections.
    pub fn partial_bytes_per_element(&self, input: DType) -> usize {
        use ReduceOp::*;
        match self {
            Mean | NanMean => 16,                                          // count, sum
            Var { .. } | Std { .. } | NanVar { .. } | NanStd { .. } => 24, // count, mean, M2
            Min | Max | NanMin | NanMax => input.size() + 8,               // value, count
            ArgMin | ArgMax | NanArgMin | NanArgMax => input.size() + 8,   // value, index
            Any | All => 1,
            Sum | NanSum | Prod | NanProd | Count | CountNonzero => 8,
        }
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

/// A field of `shape` from its C-order values.
fn field<T: Element>(shape: &[usize], v: Vec<T>) -> Chunk {
    T::wrap(
        ArrayD::from_shape_vec(IxDyn(shape), v)
            .expect("partial state has one value per output element"),
    )
}
