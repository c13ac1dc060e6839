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

use crate::error::{Error, Result};
use crate::kernel::generate::GenSpec;
use crate::kernel::reduce::ReduceAcc;
use crate::kernel::{Chunk, ChunkView, Element};
use crate::meta::{DType, MAX_DIMS};
use crate::{with_chunk, with_dtype};
use ndarray::{ArrayD, ArrayViewD, Axis, IxDyn};
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

/// Register storage for one tile.
enum Reg {
    Bool(Vec<bool>),
    I32(Vec<i32>),
    I64(Vec<i64>),
    F32(Vec<f32>),
    F64(Vec<f64>),
}

impl Reg {
    fn new(d: DType) -> Reg {
        with_dtype!(d, T => T::reg(vec![T::default(); TILE]))
    }
}

trait RegElem: Element {
    fn reg(v: Vec<Self>) -> Reg;
    fn get(r: &Reg) -> &[Self];
    fn get_mut(r: &mut Reg) -> &mut [Self];
}
macro_rules! reg_elem {
    ($t:ty, $v:ident) => {
        impl RegElem for $t {
            fn reg(v: Vec<Self>) -> Reg {
                Reg::$v(v)
            }
            #[inline(always)]
            fn get(r: &Reg) -> &[Self] {
                match r {
                    Reg::$v(x) => x,
                    _ => &[],
                }
            }
            #[inline(always)]
            fn get_mut(r: &mut Reg) -> &mut [Self] {
                match r {
                    Reg::$v(x) => x,
                    _ => &mut [],
                }
            }
        }
    };
}
reg_elem!(bool, Bool);
reg_elem!(i32, I32);
reg_elem!(i64, I64);
reg_elem!(f32, F32);
reg_elem!(f64, F64);

/// Run `program` over an output chunk of `shape`, reading `leaves`, into `sink`.
///
/// Every leaf of dtype `program.dtypes[Leaf(i)]`; a chunk leaf must already be
/// mapped to `shape` (see [`ChunkView::map`]).
pub fn eval(
    program: &Program,
    leaves: &[LeafData<'_>],
    shape: &[usize],
    sink: Sink,
) -> Result<Evaluated> {
    check(program, leaves)?;
    let out_dtype = program.output_dtype();
    let n: usize = shape.iter().product();
    // 0-d: evaluate as one row of one element.
    let shape_eff: Vec<usize> = if shape.is_empty() {
        vec![1]
    } else {
        shape.to_vec()
    };
    let nd = shape_eff.len();
    // Flat mode: every chunk leaf is laid out exactly like the output and every
    // generator is constant or an unsliced identity over the output (then the
    // whole chunk is one long row).
    let flat = leaves.iter().all(|l| match l {
        LeafData::Chunk(v) => with_view!(v, a, T => a.is_standard_layout() && a.shape() == shape),
        LeafData::Gen { spec, out_dim, .. } => {
            spec.is_constant()
                || (out_dim.len() == nd
                    && out_dim.iter().enumerate().all(|(k, d)| *d == Some(k))
                    && (0..nd).all(|k| spec.shape[k] != 1 || shape_eff[k] == 1))
        }
    }) && nd > 1;
    let (row_len, nrows) = if flat {
        (n, 1)
    } else {
        (shape_eff[nd - 1], n / shape_eff[nd - 1].max(1))
    };
    let lead_dims = &shape_eff[..nd - 1];

    let mut regs: Vec<Reg> = program.dtypes.iter().map(|&d| Reg::new(d)).collect();
    let mut sink = sink;
    let mut store = match &sink {
        Sink::Store => Some(StoreBuf::new(out_dtype, n)),
        Sink::Reduce(_) => None,
    };
    let mut lead = vec![0usize; nd - 1];
    let mut pos = vec![0usize; nd];
    let mut gen_tmp = vec![0f64; TILE];
    for r in 0..nrows {
        if !flat {
            // lead = unravel(r)
            let mut x = r;
            for d in (0..nd - 1).rev() {
                lead[d] = x % lead_dims[d];
                x /= lead_dims[d];
            }
        }
        let mut col0 = 0;
        while col0 < row_len {
            let len = TILE.min(row_len - col0);
            // Output position of the tile's first element.
            if flat {
                unravel_into(col0, &shape_eff, &mut pos);
            } else {
                pos[..nd - 1].copy_from_slice(&lead);
                pos[nd - 1] = col0;
            }
            for (ri, ins) in program.instrs.iter().enumerate() {
                let (before, rest) = regs.split_at_mut(ri);
                let dst = &mut rest[0];
                match ins {
                    Instr::Leaf(i) => load_leaf(
                        &leaves[*i],
                        flat,
                        col0,
                        len,
                        &pos,
                        &shape_eff,
                        dst,
                        &mut gen_tmp,
                    ),
                    Instr::Unary(op, a) => unary(*op, &before[*a], dst, len),
                    Instr::Binary(op, a, b) => binary(*op, &before[*a], &before[*b], dst, len),
                    Instr::Where(c, a, b) => {
                        where_(&before[*c], &before[*a], &before[*b], dst, len)
                    }
                    Instr::Cast(a) => cast(&before[*a], dst, len),
                }
            }
            let res = regs
                .last()
                .ok_or_else(|| Error::internal("empty fused program"))?;
            match (&mut sink, &mut store) {
                (Sink::Reduce(acc), _) => {
                    let lead_now: &[usize] = if flat { &[] } else { &lead };
                    reduce_push(acc, res, lead_now, col0, len, flat, &shape_eff);
                }
                (Sink::Store, Some(buf)) => buf.write(res, r * row_len + col0, len)?,
                _ => return Err(Error::internal("fused sink without a store")),
            }
            col0 += len;
        }
    }
    match sink {
        Sink::Reduce(acc) => Ok(Evaluated::Reduced(acc)),
        Sink::Store => {
            let buf = store.ok_or_else(|| Error::internal("fused sink without a store"))?;
            Ok(Evaluated::Chunk(buf.into_chunk(shape)?))
        }
    }
}

fn check(program: &Program, leaves: &[LeafData<'_>]) -> Result<()> {
    if program.instrs.is_empty() {
        return Err(Error::internal("empty fused program"));
    }
    for (i, ins) in program.instrs.iter().enumerate() {
        let ok = match ins {
            Instr::Leaf(l) => {
                *l < leaves.len()
                    && match &leaves[*l] {
                        LeafData::Chunk(v) => v.dtype() == program.dtypes[i],
                        LeafData::Gen { .. } => true,
                    }
            }
            Instr::Unary(_, a) | Instr::Cast(a) => *a < i,
            Instr::Binary(_, a, b) => *a < i && *b < i && program.dtypes[*a] == program.dtypes[*b],
            Instr::Where(c, a, b) => {
                *c < i
                    && *a < i
                    && *b < i
                    && program.dtypes[*c] == DType::Bool
                    && program.dtypes[*a] == program.dtypes[*b]
            }
        };
        if !ok {
            return Err(Error::internal(format!(
                "malformed fused program at instruction {i}: {ins:?}"
            )));
        }
    }
    Ok(())
}

/// The output chunk, filled tile by tile in C order: tiles are appended, so the
/// buffer is never zero-filled first.
enum StoreBuf {
    Bool(Vec<bool>),
    I32(Vec<i32>),
    I64(Vec<i64>),
    F32(Vec<f32>),
    F64(Vec<f64>),
}
impl StoreBuf {
    fn new(dtype: DType, n: usize) -> StoreBuf {
        match dtype {
            DType::Bool => StoreBuf::Bool(Vec::with_capacity(n)),
            DType::I32 => StoreBuf::I32(Vec::with_capacity(n)),
            DType::I64 => StoreBuf::I64(Vec::with_capacity(n)),
            DType::F32 => StoreBuf::F32(Vec::with_capacity(n)),
            DType::F64 => StoreBuf::F64(Vec::with_capacity(n)),
        }
    }
    /// Append the first `len` values of `r` (which must be at offset `at`).
    fn write(&mut self, r: &Reg, at: usize, len: usize) -> Result<()> {
        macro_rules! app {
            ($v:expr, $T:ty) => {{
                if $v.len() != at {
                    return Err(Error::internal(format!(
                        "fused store out of order: at {at}, have {}",
                        $v.len()
                    )));
                }
                $v.extend_from_slice(&<$T as RegElem>::get(r)[..len]);
            }};
        }
        match self {
            StoreBuf::Bool(v) => app!(v, bool),
            StoreBuf::I32(v) => app!(v, i32),
            StoreBuf::I64(v) => app!(v, i64),
            StoreBuf::F32(v) => app!(v, f32),
            StoreBuf::F64(v) => app!(v, f64),
        }
        Ok(())
    }
    fn into_chunk(self, shape: &[usize]) -> Result<Chunk> {
        fn mk<T: Element>(v: Vec<T>, shape: &[usize]) -> Result<Chunk> {
            ArrayD::from_shape_vec(IxDyn(shape), v)
                .map(T::wrap)
                .map_err(|e| Error::internal(format!("fused output of shape {shape:?}: {e}")))
        }
        match self {
            StoreBuf::Bool(v) => mk(v, shape),
            StoreBuf::I32(v) => mk(v, shape),
            StoreBuf::I64(v) => mk(v, shape),
            StoreBuf::F32(v) => mk(v, shape),
            StoreBuf::F64(v) => mk(v, shape),
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn load_leaf(
    leaf: &LeafData<'_>,
    flat: bool,
    col0: usize,
    len: usize,
    pos: &[usize],
    shape: &[usize],
    dst: &mut Reg,
    tmp: &mut [f64],
) {
    let nd = shape.len();
    match leaf {
        LeafData::Chunk(v) => with_view!(v, a, T => {
            let out = &mut <T as RegElem>::get_mut(dst)[..len];
            if flat {
                if let Some(s) = a.as_slice_memory_order() {
                    out.copy_from_slice(&s[col0..col0 + len]);
                }
            } else {
                // The row at `pos[..nd-1]`, elements col0..col0+len.
                let mut lane = a.view();
                for &p in &pos[..nd - 1] {
                    let at = if lane.shape()[0] == 1 { 0 } else { p };
                    lane.index_axis_inplace(Axis(0), at);
                }
                if lane.ndim() == 0 {
                    out.fill(lane[[]]);
                } else if lane.len() == 1 {
                    out.fill(lane[[0]]);
                } else if let Some(s) = lane.as_slice() {
                    out.copy_from_slice(&s[col0..col0 + len]);
                } else {
                    let part = lane.slice_move(ndarray::s![col0..col0 + len]);
                    for (o, x) in out.iter_mut().zip(part.iter()) {
                        *o = *x;
                    }
                }
            }
        }),
        LeafData::Gen {
            spec,
            origin,
            out_dim,
        } => {
            // f64 generators write straight into the register; others go through `tmp`.
            let direct = matches!(dst, Reg::F64(_));
            let buf: &mut [f64] = match dst {
                Reg::F64(v) => &mut v[..len],
                _ => &mut tmp[..len],
            };
            if flat && !spec.is_constant() {
                // Identity-mapped generator over the whole chunk: fill row by row.
                let last = nd - 1;
                let row_len = shape[last];
                let mut t = 0;
                let mut v = [0usize; MAX_DIMS];
                while t < len {
                    unravel_into(col0 + t, shape, &mut v[..nd]);
                    let seg = (row_len - v[last]).min(len - t);
                    for (x, o) in v.iter_mut().zip(origin.iter()) {
                        *x += o;
                    }
                    spec.fill_f64(&v[..nd], Some(last), &mut buf[t..t + seg]);
                    t += seg;
                }
            } else {
                let mut v0 = [0usize; MAX_DIMS];
                v0[..origin.len()].copy_from_slice(origin);
                let v0 = &mut v0[..origin.len()];
                let mut vary = None;
                for (k, d) in out_dim.iter().enumerate() {
                    // A generator dim of length 1 is broadcast: it does not move.
                    if let (Some(d), true) = (d, spec.shape[k] > 1) {
                        v0[k] += pos[*d];
                        if *d == nd - 1 {
                            vary = Some(k);
                        }
                    }
                }
                spec.fill_f64(v0, vary, buf);
            }
            if !direct {
                fill_reg(dst, len, tmp);
            }
        }
    }
}

/// `unravel_index` into a caller's buffer (no allocation in the row loop).
fn unravel_into(mut n: usize, dims: &[usize], out: &mut [usize]) {
    for d in (0..dims.len()).rev() {
        let m = dims[d].max(1);
        out[d] = n % m;
        n /= m;
    }
}

fn fill_reg(dst: &mut Reg, len: usize, tmp: &[f64]) {
    match dst {
        Reg::Bool(o) => o[..len]
            .iter_mut()
            .zip(tmp)
            .for_each(|(o, &x)| *o = x != 0.0),
        Reg::I32(o) => o[..len]
            .iter_mut()
            .zip(tmp)
            .for_each(|(o, &x)| *o = x as i32),
        Reg::I64(o) => o[..len]
            .iter_mut()
            .zip(tmp)
            .for_each(|(o, &x)| *o = x as i64),
        Reg::F32(o) => o[..len]
            .iter_mut()
            .zip(tmp)
            .for_each(|(o, &x)| *o = x as f32),
        Reg::F64(o) => o[..len].copy_from_slice(&tmp[..len]),
    }
}

fn reduce_push(
    acc: &mut ReduceAcc,
    res: &Reg,
    lead: &[usize],
    col0: usize,
    len: usize,
    flat: bool,
    shape: &[usize],
) {
    macro_rules! push {
        ($v:expr) => {{
            let vals = &$v[..len];
            if flat {
                // Split the flat tile back into rows of the chunk.
                let nd = shape.len();
                let row_len = shape[nd - 1];
                let mut t = 0;
                let mut p = [0usize; MAX_DIMS];
                while t < len {
                    unravel_into(col0 + t, shape, &mut p[..nd]);
                    let seg = (row_len - p[nd - 1]).min(len - t);
                    acc.push(&p[..nd - 1], p[nd - 1], &vals[t..t + seg]);
                    t += seg;
                }
            } else {
                acc.push(lead, col0, vals);
            }
        }};
    }
    match res {
        Reg::Bool(v) => push!(v),
        Reg::I32(v) => push!(v),
        Reg::I64(v) => push!(v),
        Reg::F32(v) => push!(v),
        Reg::F64(v) => push!(v),
    }
}

/// Element arithmetic for the fused kernels.
trait Arith: RegElem {
    fn add(a: Self, b: Self) -> Self;
    fn sub(a: Self, b: Self) -> Self;
    fn mul(a: Self, b: Self) -> Self;
    fn div(a: Self, b: Self) -> Self;
    fn pow(a: Self, b: Self) -> Self;
    fn neg(a: Self) -> Self;
    fn abs(a: Self) -> Self;
    fn maximum(a: Self, b: Self) -> Self;
    fn minimum(a: Self, b: Self) -> Self;
    fn float_fn(op: UnaryOp, a: Self) -> Self;
    fn not(a: Self) -> Self;
}
macro_rules! arith_int {
    ($t:ty) => {
        impl Arith for $t {
            #[inline(always)]
            fn add(a: Self, b: Self) -> Self {
                a.wrapping_add(b)
            }
            #[inline(always)]
            fn sub(a: Self, b: Self) -> Self {
                a.wrapping_sub(b)
            }
            #[inline(always)]
            fn mul(a: Self, b: Self) -> Self {
                a.wrapping_mul(b)
            }
            #[inline(always)]
            fn div(a: Self, b: Self) -> Self {
                if b == 0 {
                    0
                } else {
                    a.wrapping_div(b)
                }
            }
            #[inline(always)]
            fn pow(a: Self, b: Self) -> Self {
                if b < 0 {
                    match a {
                        1 => 1,
                        -1 => {
                            if b % 2 == 0 {
                                1
                            } else {
                                -1
                            }
                        }
                        _ => 0,
                    }
                } else {
                    a.wrapping_pow(b as u32)
                }
            }
            #[inline(always)]
            fn neg(a: Self) -> Self {
                a.wrapping_neg()
            }
            #[inline(always)]
            fn abs(a: Self) -> Self {
                a.wrapping_abs()
            }
            #[inline(always)]
            fn maximum(a: Self, b: Self) -> Self {
                a.max(b)
            }
            #[inline(always)]
            fn minimum(a: Self, b: Self) -> Self {
                a.min(b)
            }
            #[inline(always)]
            fn float_fn(_: UnaryOp, a: Self) -> Self {
                a
            }
            #[inline(always)]
            fn not(a: Self) -> Self {
                !a
            }
        }
    };
}
arith_int!(i32);
arith_int!(i64);
macro_rules! arith_float {
    ($t:ty) => {
        impl Arith for $t {
            #[inline(always)]
            fn add(a: Self, b: Self) -> Self {
                a + b
            }
            #[inline(always)]
            fn sub(a: Self, b: Self) -> Self {
                a - b
            }
            #[inline(always)]
            fn mul(a: Self, b: Self) -> Self {
                a * b
            }
            #[inline(always)]
            fn div(a: Self, b: Self) -> Self {
                a / b
            }
            #[inline(always)]
            fn pow(a: Self, b: Self) -> Self {
                a.powf(b)
            }
            #[inline(always)]
            fn neg(a: Self) -> Self {
                -a
            }
            #[inline(always)]
            fn abs(a: Self) -> Self {
                a.abs()
            }
            #[inline(always)]
            fn maximum(a: Self, b: Self) -> Self {
                if a.is_nan() || b.is_nan() {
                    <$t>::NAN
                } else {
                    a.max(b)
                }
            }
            #[inline(always)]
            fn minimum(a: Self, b: Self) -> Self {
                if a.is_nan() || b.is_nan() {
                    <$t>::NAN
                } else {
                    a.min(b)
                }
            }
            #[inline(always)]
            fn float_fn(op: UnaryOp, a: Self) -> Self {
                match op {
                    UnaryOp::Sqrt => a.sqrt(),
                    UnaryOp::Exp => a.exp(),
                    UnaryOp::Log => a.ln(),
                    UnaryOp::Sin => a.sin(),
                    UnaryOp::Cos => a.cos(),
                    _ => a,
                }
            }
            #[inline(always)]
            fn not(a: Self) -> Self {
                a
            }
        }
    };
}
arith_float!(f32);
arith_float!(f64);
impl Arith for bool {
    fn add(a: Self, b: Self) -> Self {
        a | b
    }
    fn sub(a: Self, b: Self) -> Self {
        a ^ b
    }
    fn mul(a: Self, b: Self) -> Self {
        a & b
    }
    fn div(a: Self, _: Self) -> Self {
        a
    }
    fn pow(a: Self, _: Self) -> Self {
        a
    }
    fn neg(a: Self) -> Self {
        a
    }
    fn abs(a: Self) -> Self {
        a
    }
    fn maximum(a: Self, b: Self) -> Self {
        a | b
    }
    fn minimum(a: Self, b: Self) -> Self {
        a & b
    }
    fn float_fn(_: UnaryOp, a: Self) -> Self {
        a
    }
    fn not(a: Self) -> Self {
        !a
    }
}

macro_rules! with_reg_types {
    ($r:expr, $T:ident => $body:expr) => {
        match $r {
            Reg::Bool(_) => {
                type $T = bool;
                $body
            }
            Reg::I32(_) => {
                type $T = i32;
                $body
            }
            Reg::I64(_) => {
                type $T = i64;
                $body
            }
            Reg::F32(_) => {
                type $T = f32;
                $body
            }
            Reg::F64(_) => {
                type $T = f64;
                $body
            }
        }
    };
}

fn unary(op: UnaryOp, a: &Reg, dst: &mut Reg, len: usize) {
    with_reg_types!(a, T => {
        let x = &<T as RegElem>::get(a)[..len];
        if op == UnaryOp::IsNan {
            let o = &mut bool::get_mut(dst)[..len];
            o.iter_mut().zip(x).for_each(|(o, &v)| *o = v.is_nan());
            return;
        }
        let o = &mut <T as RegElem>::get_mut(dst)[..len];
        match op {
            UnaryOp::Neg => o.iter_mut().zip(x).for_each(|(o, &v)| *o = <T as Arith>::neg(v)),
            UnaryOp::Abs => o.iter_mut().zip(x).for_each(|(o, &v)| *o = <T as Arith>::abs(v)),
            UnaryOp::Not => o.iter_mut().zip(x).for_each(|(o, &v)| *o = <T as Arith>::not(v)),
            _ => o.iter_mut().zip(x).for_each(|(o, &v)| *o = <T as Arith>::float_fn(op, v)),
        }
    })
}

fn binary(op: BinaryOp, a: &Reg, b: &Reg, dst: &mut Reg, len: usize) {
    with_reg_types!(a, T => {
        let x = &<T as RegElem>::get(a)[..len];
        let y = &<T as RegElem>::get(b)[..len];
        macro_rules! arith { ($f:expr) => {{
            let o = &mut <T as RegElem>::get_mut(dst)[..len];
            for i in 0..len { o[i] = $f(x[i], y[i]); }
        }}; }
        macro_rules! cmp { ($f:expr) => {{
            let o = &mut bool::get_mut(dst)[..len];
            for i in 0..len { o[i] = $f(&x[i], &y[i]); }
        }}; }
        match op {
            BinaryOp::Add => arith!(<T as Arith>::add),
            BinaryOp::Sub => arith!(<T as Arith>::sub),
            BinaryOp::Mul => arith!(<T as Arith>::mul),
            BinaryOp::Div => arith!(<T as Arith>::div),
            BinaryOp::Pow => arith!(<T as Arith>::pow),
            BinaryOp::Maximum => arith!(<T as Arith>::maximum),
            BinaryOp::Minimum => arith!(<T as Arith>::minimum),
            BinaryOp::Eq => cmp!(PartialEq::eq),
            BinaryOp::Ne => cmp!(PartialEq::ne),
            BinaryOp::Lt => cmp!(PartialOrd::lt),
            BinaryOp::Le => cmp!(PartialOrd::le),
            BinaryOp::Gt => cmp!(PartialOrd::gt),
            BinaryOp::Ge => cmp!(PartialOrd::ge),
            BinaryOp::And => cmp!(|p: &T, q: &T| p.is_true() && q.is_true()),
            BinaryOp::Or => cmp!(|p: &T, q: &T| p.is_true() || q.is_true()),
        }
    })
}

fn where_(c: &Reg, a: &Reg, b: &Reg, dst: &mut Reg, len: usize) {
    let cond = &bool::get(c)[..len];
    with_reg_types!(a, T => {
        let x = &<T as RegElem>::get(a)[..len];
        let y = &<T as RegElem>::get(b)[..len];
        let o = &mut <T as RegElem>::get_mut(dst)[..len];
        for i in 0..len { o[i] = if cond[i] { x[i] } else { y[i] }; }
    })
}

fn cast(a: &Reg, dst: &mut Reg, len: usize) {
    with_reg_types!(a, S => {
        let x = &<S as RegElem>::get(a)[..len];
        with_reg_types!(&*dst, T => {
            let o = &mut <T as RegElem>::get_mut(dst)[..len];
            for i in 0..len { o[i] = crate::kernel::cast_scalar::<S, T>(x[i]); }
        })
    })
}
