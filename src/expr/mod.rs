//! The logical plan: [`Expr`] nodes over whole chunked arrays, with their output
//! metadata (dtype and chunk grid). Built by `array`, rewritten by `optimize`,
//! lowered to a task graph by `lower`. No ranks, no tasks.
//!
//! Every constructor checks its inputs and returns a [`Error::Plan`](crate::Error::Plan) naming what
//! is wrong, so an invalid plan cannot be built.

mod build;
mod display;
pub mod wire;

use crate::error::Result;
use crate::kernel::fused::{BinaryOp, Program, UnaryOp};
use crate::kernel::generate::GenSpec;
use crate::kernel::reduce::ReduceOp;
use crate::kernel::structure::DimSlice;
use crate::kernel::{Chunk, ChunkSource};
use crate::meta::{ChunkGrid, DType};
use std::fmt;
use std::sync::Arc;

pub use build::*;

/// A user function applied to every chunk (`map_blocks`): gets the chunk and its
/// index in the chunk grid.
pub type BlockFn = Arc<dyn Fn(&Chunk, &[usize]) -> Result<Chunk> + Send + Sync>;

/// Output metadata of a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta {
    pub dtype: DType,
    pub grid: ChunkGrid,
}

impl Meta {
    pub fn shape(&self) -> Vec<usize> {
        self.grid.shape()
    }
    pub fn ndim(&self) -> usize {
        self.grid.ndim()
    }
    /// Bytes of the largest chunk.
    pub fn max_chunk_bytes(&self) -> usize {
        self.grid.max_chunk_elems() * self.dtype.size()
    }
    pub fn nbytes(&self) -> usize {
        self.shape().iter().product::<usize>() * self.dtype.size()
    }
}

/// An elementwise operation (inputs broadcast against each other).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ElemOp {
    Unary(UnaryOp),
    Binary(BinaryOp),
    /// `where(cond, a, b)`.
    Where,
    /// `astype(meta.dtype)`.
    Cast,
}

/// One leaf of a fused program.
#[derive(Debug, Clone, PartialEq)]
pub enum Leaf {
    /// Input `input` of the node; `map[d]` is the input dim read by output dim `d`.
    Input {
        input: usize,
        map: Vec<Option<usize>>,
    },
    /// A generator, computed in place; `map` as above.
    Gen {
        spec: GenSpec,
        map: Vec<Option<usize>>,
    },
}

/// What a node computes.
#[derive(Clone)]
pub enum Op {
    /// A whole in-memory array; `view` (offset, step) per dim selects what this node
    /// shows of it (slices pushed into the source).
    FromArray {
        data: Arc<Chunk>,
        view: Vec<(usize, isize)>,
    },
    /// A variable stored in a file, read by region; `view` as for `FromArray`.
    Read {
        source: Arc<dyn ChunkSource>,
        view: Vec<(usize, isize)>,
    },
    /// Chunks already computed (`persist`), one per chunk in C order; under
    /// MPI each rank holds only the chunks it owns (`None` for the others),
    /// and the layer is placed where they are (see `graph::Layer::pinned`).
    Stored {
        chunks: Arc<Vec<Option<Arc<Chunk>>>>,
    },
    /// A positional generator (`zeros`, `arange`, `random`, scalars).
    Gen(GenSpec),
    /// Elementwise over broadcast inputs.
    Elementwise(ElemOp),
    /// Output dim `d` is input dim `src[d]`, or a new length-1 axis (`None`); input
    /// dims not named have length 1 and are dropped (transpose, expand_dims, squeeze).
    AxisMap { src: Vec<Option<usize>> },
    /// Strided selection per dim: (start, len, step).
    Slice { sel: Vec<(usize, usize, isize)> },
    /// Same values, new chunk grid (`meta.grid`).
    Rechunk,
    /// Concatenate inputs along `axis` (their chunks kept).
    Concat { axis: usize },
    /// C-order reshape; the input is chunked so every chunk maps to one output chunk.
    Reshape,
    /// A tree reduction over `axes`, keepdims (each reduced dim becomes length 1).
    Reduce {
        op: ReduceOp,
        axes: Vec<usize>,
        split_every: usize,
    },
    /// 2-D matrix product of inputs 0 and 1.
    MatMul,
    /// A user function per chunk.
    MapBlocks { f: BlockFn, name: String },
    /// A fused elementwise program (made by the optimizer).
    Fused { program: Program, leaves: Vec<Leaf> },
    /// A fused program feeding a per-chunk partial reduction (made by the optimizer).
    FusedReduce {
        program: Program,
        leaves: Vec<Leaf>,
        /// The program's output grid (the reduction's input).
        grid: ChunkGrid,
        op: ReduceOp,
        axes: Vec<usize>,
        split_every: usize,
        /// Blocks `(i, j)` and `(j, i)` along these two axes share one task
        /// (`PairTransposedReads`).
        pair: Option<(usize, usize)>,
    },
}

/// A node of the logical plan. Cheap to clone (shared).
#[derive(Clone)]
pub struct Expr(pub(crate) Arc<Node>);

/// The contents of an [`Expr`].
pub struct Node {
    pub op: Op,
    pub inputs: Vec<Expr>,
    pub meta: Meta,
}

impl Expr {
    /// A node; callers have checked `meta` (use the constructors in this module).
    pub(crate) fn new(op: Op, inputs: Vec<Expr>, meta: Meta) -> Expr {
        Expr(Arc::new(Node { op, inputs, meta }))
    }
    pub fn node(&self) -> &Node {
        &self.0
    }
    pub fn op(&self) -> &Op {
        &self.0.op
    }
    pub fn inputs(&self) -> &[Expr] {
        &self.0.inputs
    }
    pub fn meta(&self) -> &Meta {
        &self.0.meta
    }
    pub fn dtype(&self) -> DType {
        self.0.meta.dtype
    }
    pub fn grid(&self) -> &ChunkGrid {
        &self.0.meta.grid
    }
    pub fn shape(&self) -> Vec<usize> {
        self.0.meta.shape()
    }
    pub fn ndim(&self) -> usize {
        self.0.meta.ndim()
    }
    /// Identity of the node (for memoising rewrites of shared subexpressions).
    pub fn id(&self) -> usize {
        Arc::as_ptr(&self.0) as usize
    }
    /// Same node?
    pub fn ptr_eq(&self, other: &Expr) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
    /// The node with new inputs (same op and meta).
    pub fn with_inputs(&self, inputs: Vec<Expr>) -> Expr {
        Expr::new(self.0.op.clone(), inputs, self.0.meta.clone())
    }
    /// A short name for the operation (`explain`, layer names).
    pub fn op_name(&self) -> String {
        match self.op() {
            Op::FromArray { .. } => "from_array".into(),
            Op::Read { .. } => "read".into(),
            Op::Stored { .. } => "persisted".into(),
            Op::Gen(g) => match &g.kind {
                crate::kernel::generate::GenKind::Full(v) => format!("full({v})"),
                crate::kernel::generate::GenKind::Arange { .. } => "arange".into(),
                crate::kernel::generate::GenKind::Linspace { .. } => "linspace".into(),
                crate::kernel::generate::GenKind::Random { .. } => "random".into(),
            },
            Op::Elementwise(ElemOp::Unary(u)) => u.name().into(),
            Op::Elementwise(ElemOp::Binary(b)) => b.name().into(),
            Op::Elementwise(ElemOp::Where) => "where".into(),
            Op::Elementwise(ElemOp::Cast) => format!("astype({})", self.dtype()),
            Op::AxisMap { .. } => "transpose".into(),
            Op::Slice { .. } => "getitem".into(),
            Op::Rechunk => "rechunk".into(),
            Op::Concat { .. } => "concatenate".into(),
            Op::Reshape => "reshape".into(),
            Op::Reduce { op, .. } => op.name().into(),
            Op::MatMul => "matmul".into(),
            Op::MapBlocks { name, .. } => format!("map_blocks({name})"),
            Op::Fused { program, leaves } => format!("fused[{}]", describe_fused(program, leaves)),
            Op::FusedReduce {
                program,
                leaves,
                op,
                ..
            } => {
                format!(
                    "fused[{}] -> {}",
                    describe_fused(program, leaves),
                    op.name()
                )
            }
        }
    }
}

/// `leaves | operations`, e.g. `random, random.T, input | add, subtract`.
fn describe_fused(program: &Program, leaves: &[Leaf]) -> String {
    let leaf = |map: &[Option<usize>]| {
        let kept: Vec<usize> = map.iter().flatten().copied().collect();
        if kept.windows(2).all(|w| w[0] < w[1]) {
            ""
        } else {
            ".T"
        }
    };
    let names: Vec<String> = leaves
        .iter()
        .map(|l| match l {
            Leaf::Input { map, .. } => format!("input{}", leaf(map)),
            Leaf::Gen { spec, map } => {
                let kind = match &spec.kind {
                    crate::kernel::generate::GenKind::Full(v) => format!("{v}"),
                    crate::kernel::generate::GenKind::Arange { .. } => "arange".into(),
                    crate::kernel::generate::GenKind::Linspace { .. } => "linspace".into(),
                    crate::kernel::generate::GenKind::Random { .. } => "random".into(),
                };
                format!("{kind}{}", leaf(map))
            }
        })
        .collect();
    let ops = program.describe();
    if ops.is_empty() {
        names.join(", ")
    } else {
        format!("{} | {}", names.join(", "), ops.join(", "))
    }
}

impl fmt::Debug for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", display::tree(self))
    }
}

/// The (start, len, step) selection as kernel slices.
pub fn dim_slices(sel: &[(usize, usize, isize)]) -> Vec<DimSlice> {
    sel.iter()
        .map(|&(start, len, step)| DimSlice { start, len, step })
        .collect()
}
