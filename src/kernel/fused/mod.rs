//! Fused elementwise programs: a chain of elementwise operations (and casts,
//! broadcasts, transposes and generators at its leaves) evaluated in one pass
//! over memory, tile by tile, optionally straight into a partial reduction.
//!
//! A [`Program`] is a list of instructions in SSA form; register `i` holds the
//! result of instruction `i`. The evaluator walks the output chunk row by row
//! (a row runs along the last axis; when every leaf is laid out like the output,
//! the whole chunk is one row), cuts rows into tiles of [`TILE`] elements that
//! stay in L1, and runs the whole program on each tile before moving on. So
//! `sqrt(x * 2 + y) - 1` reads `x` and `y` once and writes the result once,
//! however long the chain.

mod arith;
mod eval;

pub use eval::{eval, eval_pair};

use crate::error::{Error, Result};
use crate::kernel::generate::GenSpec;
use crate::kernel::reduce::ReduceAcc;
use crate::kernel::{Chunk, ChunkView, Element};
use crate::meta::DType;
use crate::with_chunk;
use ndarray::{ArrayViewD, Axis, IxDyn};
use serde::{Deserialize, Serialize};

/// Elements per tile.
pub const TILE: usize = 1024;

/// Elementwise operations of one operand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum UnaryOp {
    Neg,
    Abs,
    Sqrt,
    Exp,
    Log,
    Sin,
    Cos,
    IsNan,
    Not,
}

/// Elementwise operations of two operands (of one dtype).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    Pow,
    Maximum,
    Minimum,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
}

impl UnaryOp {
    pub fn name(self) -> &'static str {
        match self {
            UnaryOp::Neg => "neg",
            UnaryOp::Abs => "abs",
            UnaryOp::Sqrt => "sqrt",
            UnaryOp::Exp => "exp",
            UnaryOp::Log => "log",
            UnaryOp::Sin => "sin",
            UnaryOp::Cos => "cos",
            UnaryOp::IsNan => "isnan",
            UnaryOp::Not => "invert",
        }
    }
    /// Does the operation need floating-point input (ints are cast first)?
    pub fn needs_float(self) -> bool {
        matches!(
            self,
            UnaryOp::Sqrt | UnaryOp::Exp | UnaryOp::Log | UnaryOp::Sin | UnaryOp::Cos
        )
    }
    /// The result type for an input of `d` (after any cast), or an error message.
    pub fn output_dtype(self, d: DType) -> std::result::Result<DType, String> {
        match self {
            UnaryOp::IsNan => Ok(DType::Bool),
            UnaryOp::Not if d == DType::Bool || d.is_int() => Ok(d),
            UnaryOp::Not => Err(format!("invert is not supported for {d}")),
            UnaryOp::Neg | UnaryOp::Abs if d == DType::Bool => {
                Err(format!("{} is not supported for bool arrays", self.name()))
            }
            _ if self.needs_float() && !d.is_float() => {
                Err(format!("{} needs a float input, got {d}", self.name()))
            }
            _ => Ok(d),
        }
    }
}

impl BinaryOp {
    pub fn name(self) -> &'static str {
        match self {
            BinaryOp::Add => "add",
            BinaryOp::Sub => "subtract",
            BinaryOp::Mul => "multiply",
            BinaryOp::Div => "divide",
            BinaryOp::Pow => "power",
            BinaryOp::Maximum => "maximum",
            BinaryOp::Minimum => "minimum",
            BinaryOp::Eq => "equal",
            BinaryOp::Ne => "not_equal",
            BinaryOp::Lt => "less",
            BinaryOp::Le => "less_equal",
            BinaryOp::Gt => "greater",
            BinaryOp::Ge => "greater_equal",
            BinaryOp::And => "logical_and",
            BinaryOp::Or => "logical_or",
        }
    }
    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinaryOp::Eq | BinaryOp::Ne | BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge
        )
    }
    /// The result type for operands of `d` (after any cast), or an error message.
    pub fn output_dtype(self, d: DType) -> std::result::Result<DType, String> {
        match self {
            _ if self.is_comparison() => Ok(DType::Bool),
            BinaryOp::And | BinaryOp::Or => Ok(DType::Bool),
            BinaryOp::Div if !d.is_float() => Err(format!("divide needs float operands, got {d}")),
            BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Pow if d == DType::Bool => {
                Err(format!(
                    "{} is not supported between bool arrays; cast first",
                    self.name()
                ))
            }
            _ => Ok(d),
        }
    }
}

/// One instruction; operands are earlier registers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Instr {
    /// Load leaf `i`.
    Leaf(usize),
    Unary(UnaryOp, usize),
    Binary(BinaryOp, usize, usize),
    /// `where(cond, a, b)`.
    Where(usize, usize, usize),
    Cast(usize),
}

/// A fused elementwise program: instruction `i` writes register `i`, of dtype
/// `dtypes[i]`; the result is the last register.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Program {
    pub instrs: Vec<Instr>,
    pub dtypes: Vec<DType>,
}

impl Program {
    /// Append an instruction; returns its register.
    pub fn push(&mut self, i: Instr, dtype: DType) -> usize {
        self.instrs.push(i);
        self.dtypes.push(dtype);
        self.instrs.len() - 1
    }
    pub fn output_dtype(&self) -> DType {
        *self.dtypes.last().unwrap_or(&DType::F64)
    }
    /// Operation names in order (for `explain`).
    pub fn describe(&self) -> Vec<String> {
        self.instrs
            .iter()
            .zip(&self.dtypes)
            .filter_map(|(i, d)| match i {
                Instr::Leaf(_) => None,
                Instr::Unary(op, _) => Some(op.name().to_string()),
                Instr::Binary(op, _, _) => Some(op.name().to_string()),
                Instr::Where(..) => Some("where".to_string()),
                Instr::Cast(_) => Some(format!("astype({d})")),
            })
            .collect()
    }
}

/// One leaf's data for one output chunk.
pub enum LeafData<'a> {
    /// A chunk, already viewed in the output chunk's shape (broadcast, permuted).
    Chunk(ChunkView<'a>),
    /// A generator: view position `v` of the generator for output position `p` is
    /// `origin[k] + p[out_dim[k]]` (or `origin[k]` when `out_dim[k]` is `None`).
    Gen {
        spec: &'a GenSpec,
        origin: Vec<usize>,
        out_dim: Vec<Option<usize>>,
    },
}

macro_rules! with_view {
    ($v:expr, $a:ident, $T:ident => $body:expr) => {
        match $v {
            ChunkView::Bool($a) => {
                #[allow(dead_code)]
                type $T = bool;
                $body
            }
            ChunkView::I32($a) => {
                #[allow(dead_code)]
                type $T = i32;
                $body
            }
            ChunkView::I64($a) => {
                #[allow(dead_code)]
                type $T = i64;
                $body
            }
            ChunkView::F32($a) => {
                #[allow(dead_code)]
                type $T = f32;
                $body
            }
            ChunkView::F64($a) => {
                #[allow(dead_code)]
                type $T = f64;
                $body
            }
        }
    };
}
use with_view;

impl<'a> ChunkView<'a> {
    /// View `c` in an output chunk of `out_shape`: output dim `d` reads chunk dim
    /// `leaf_of_out[d]`, or a length-1 dim when `None`; chunk dims no output dim reads
    /// must have length 1. Length-1 dims of the result are broadcast by the evaluator.
    pub fn map(
        c: &'a Chunk,
        leaf_of_out: &[Option<usize>],
        out_shape: &[usize],
    ) -> Result<ChunkView<'a>> {
        with_chunk!(c, a, T => {
            let v = map_view(a.view(), leaf_of_out, out_shape)?;
            Ok(T::wrap_view(v))
        })
    }
    pub fn dtype(&self) -> DType {
        with_view!(self, _a, T => T::DTYPE)
    }
}

fn map_view<'a, T>(
    mut v: ArrayViewD<'a, T>,
    leaf_of_out: &[Option<usize>],
    out_shape: &[usize],
) -> Result<ArrayViewD<'a, T>> {
    let nd = v.ndim();
    // Drop the leaf dims no output dim reads (they have length 1).
    let used: Vec<bool> = (0..nd).map(|k| leaf_of_out.contains(&Some(k))).collect();
    for k in (0..nd).rev() {
        if !used[k] {
            if v.shape()[k] != 1 {
                return Err(Error::internal(format!(
                    "leaf dim {k} of length {} is not read by the output",
                    v.shape()[k]
                )));
            }
            v.index_axis_inplace(Axis(k), 0);
        }
    }
    // Renumber the kept dims and order them by output dim.
    let kept: Vec<usize> = (0..nd).filter(|&k| used[k]).collect();
    let mut order: Vec<(usize, usize)> = leaf_of_out
        .iter()
        .enumerate()
        .filter_map(|(d, k)| k.map(|k| (d, kept.iter().position(|&x| x == k).unwrap_or(0))))
        .collect();
    order.sort_unstable();
    let perm: Vec<usize> = order.iter().map(|&(_, k)| k).collect();
    let mut v = v.permuted_axes(IxDyn(&perm));
    // Insert the output dims the leaf does not have.
    for (d, k) in leaf_of_out.iter().enumerate() {
        if k.is_none() {
            v.insert_axis_inplace(Axis(d));
        }
    }
    // Broadcasting is left to the reader (a length-1 dim is read at 0): a view that
    // broadcasts would borrow this one.
    for (d, (&n, &o)) in v.shape().iter().zip(out_shape).enumerate() {
        if n != o && n != 1 {
            return Err(Error::internal(format!(
                "cannot broadcast a leaf of shape {:?} to the chunk shape {out_shape:?} (dim {d})",
                v.shape()
            )));
        }
    }
    Ok(v)
}

/// Where the fused program's output goes.
pub enum Sink {
    /// Into a new chunk.
    Store,
    /// Into a streaming partial reduction.
    Reduce(Box<ReduceAcc>),
}

/// Result of [`eval`].
pub enum Evaluated {
    Chunk(Chunk),
    Reduced(Box<ReduceAcc>),
}
