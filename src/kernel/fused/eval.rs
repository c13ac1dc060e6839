//! The evaluator: [`eval`] walks the output chunk row by row and tile by tile,
//! loads the leaves of each tile into registers, runs the program on them and
//! appends the result to the output chunk ([`StoreBuf`]) or pushes it into a
//! partial reduction.

use super::arith::{binary, cast, select, unary, Reg, RegElem};
use super::{with_view, Evaluated, Instr, LeafData, Program, Sink, TILE};
use crate::error::{Error, Result};
use crate::kernel::reduce::ReduceAcc;
use crate::kernel::{Chunk, ChunkView, Element};
use crate::meta::{DType, MAX_DIMS};
use ndarray::{ArrayD, Axis, IxDyn};

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
    match (sink, leaves) {
        // A reduction of a chunk as it is (`fused[input] -> sum-partial`): its
        // rows go straight into the partial, not through a register first.
        (Sink::Reduce(mut acc), [LeafData::Chunk(v)])
            if matches!(program.instrs[..], [Instr::Leaf(0)]) && !shape.is_empty() =>
        {
            check(program, leaves)?;
            let pushed = with_view!(v, a, T => push_rows(&mut acc, a, shape));
            if pushed {
                Ok(Evaluated::Reduced(acc))
            } else {
                eval_frames(program, &[leaves], shape, Sink::Reduce(acc))
            }
        }
        (sink, _) => eval_frames(program, &[leaves], shape, sink),
    }
}

/// Push every row of `a` (of `shape`, in standard layout) into `acc`;
/// `false` (nothing pushed) if `a` is not laid out so.
fn push_rows<T: Element>(
    acc: &mut ReduceAcc,
    a: &ndarray::ArrayViewD<'_, T>,
    shape: &[usize],
) -> bool {
    let Some(vals) = a.as_slice().filter(|_| a.shape() == shape) else {
        return false;
    };
    let nd = shape.len();
    let row_len = shape[nd - 1];
    if row_len == 0 {
        return true;
    }
    let mut lead = vec![0usize; nd - 1];
    for row in vals.chunks_exact(row_len) {
        acc.push(&lead, 0, row);
        // The next row's leading index (C order).
        for d in (0..nd - 1).rev() {
            lead[d] += 1;
            if lead[d] < shape[d] {
                break;
            }
            lead[d] = 0;
        }
    }
    true
}

/// Run `program` over two blocks of the same `shape` into one partial reduction:
/// `leaves` and `leaves_t` (the second block as seen in the first one's frame, see
/// `optimize::PairTransposedReads`). Row by row, the first block's row is
/// evaluated and pushed, then the second's; a generator row the second block reads
/// at the same place as the first is generated once.
pub fn eval_pair<'a>(
    program: &Program,
    leaves: &[LeafData<'a>],
    leaves_t: &[LeafData<'a>],
    shape: &[usize],
    acc: Box<ReduceAcc>,
) -> Result<Evaluated> {
    if shape.len() < 2 {
        return Err(Error::internal("paired fused blocks need 2 or more dims"));
    }
    eval_frames(program, &[leaves, leaves_t], shape, Sink::Reduce(acc))
}

/// Where a generator leaf's row starts in its view, and the view dim the row runs
/// along (`None`: the row is one repeated value).
type GenRow = ([usize; MAX_DIMS], Option<usize>);

fn eval_frames(
    program: &Program,
    frames: &[&[LeafData<'_>]],
    shape: &[usize],
    sink: Sink,
) -> Result<Evaluated> {
    for leaves in frames {
        check(program, leaves)?;
    }
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
    let flat = frames.len() == 1
        && frames[0].iter().all(|l| match l {
            LeafData::Chunk(v) => {
                with_view!(v, a, T => a.is_standard_layout() && a.shape() == shape)
            }
            LeafData::Gen { spec, out_dim, .. } => {
                spec.is_constant()
                    || (out_dim.len() == nd
                        && out_dim.iter().enumerate().all(|(k, d)| *d == Some(k))
                        && (0..nd).all(|k| spec.shape[k] != 1 || shape_eff[k] == 1))
            }
        })
        && nd > 1;
    let (row_len, nrows) = if flat {
        (n, 1)
    } else {
        (shape_eff[nd - 1], n / shape_eff[nd - 1].max(1))
    };
    let lead_dims = &shape_eff[..nd - 1];

    let mut regs: Vec<Vec<Reg>> = frames
        .iter()
        .map(|_| {
            program
                .dtypes
                .iter()
                .map(|&d| Reg::new(d, n.max(1)))
                .collect()
        })
        .collect();
    let mut sink = sink;
    let mut store = match &sink {
        Sink::Store => Some(StoreBuf::new(out_dtype, n)),
        Sink::Reduce(_) => None,
    };
    // The register each leaf is loaded into, and (for paired frames) where the first
    // frame's generator leaves started their rows in this tile.
    let mut leaf_reg = vec![usize::MAX; frames[0].len()];
    for (ri, ins) in program.instrs.iter().enumerate() {
        if let Instr::Leaf(i) = ins {
            leaf_reg[*i] = ri;
        }
    }
    // (Only paired frames need these; a single frame allocates nothing for them.)
    let paired = frames.len() > 1;
    let mut first_rows: Vec<Option<GenRow>> = vec![None; if paired { frames[0].len() } else { 0 }];
    // Per frame and leaf: the first frame's leaves that are the same generator, loaded
    // into a register of the same dtype.
    let same_gen: Vec<Vec<Vec<usize>>> = frames[..if paired { frames.len() } else { 0 }]
        .iter()
        .enumerate()
        .map(|(f, leaves)| {
            (0..leaves.len())
                .map(|i| match (&leaves[i], f) {
                    (LeafData::Gen { spec, .. }, 1..) if !spec.is_constant() => frames[0]
                        .iter()
                        .enumerate()
                        .filter(|(j, l)| {
                            matches!(l, LeafData::Gen { spec: s0, .. } if s0 == spec)
                                && program.dtypes[leaf_reg[*j]] == program.dtypes[leaf_reg[i]]
                        })
                        .map(|(j, _)| j)
                        .collect(),
                    _ => Vec::new(),
                })
                .collect()
        })
        .collect();
    // Per frame: the first frame's register each register reads instead of its own
    // (a shared generator row), and what each leaf's register holds.
    let mut alias: Vec<Vec<Option<usize>>> =
        vec![vec![None; if paired { program.instrs.len() } else { 0 }]; frames.len()];
    let mut loaded: Vec<Vec<RowKey>> = frames.iter().map(|l| vec![RowKey::None; l.len()]).collect();
    let mut lead = vec![0usize; nd - 1];
    let mut pos = vec![0usize; nd];
    let mut gen_tmp = vec![0f64; TILE.min(n.max(1))];
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
            for (f, leaves) in frames.iter().enumerate() {
                let (first, mine) = regs.split_at_mut(f);
                let (regs_f, first) = match (mine.first_mut(), first.first()) {
                    (Some(m), first) => (m, first),
                    (None, _) => return Err(Error::internal("fused frame without registers")),
                };
                let alias_f = &mut alias[f];
                for (ri, ins) in program.instrs.iter().enumerate() {
                    let (before, rest) = regs_f.split_at_mut(ri);
                    let dst = &mut rest[0];
                    // Operand `k`: this frame's register, or the first frame's one it shares.
                    let get = |k: usize| match first {
                        Some(regs0) => alias_f[k].map_or(&before[k], |j| &regs0[j]),
                        None => &before[k],
                    };
                    match ins {
                        Instr::Leaf(i) => {
                            let key = row_key(&leaves[*i], flat, col0, len, &pos, nd);
                            let shared = match (first, &key) {
                                (Some(_), RowKey::Gen(g, _)) => same_gen[f][*i]
                                    .iter()
                                    .find(|&&j| first_rows[j].as_ref() == Some(g))
                                    .map(|&j| leaf_reg[j]),
                                _ => None,
                            };
                            if f == 0 && paired {
                                first_rows[*i] = match key {
                                    RowKey::Gen(g, _) => Some(g),
                                    _ => None,
                                };
                            }
                            if paired {
                                alias_f[ri] = shared;
                            }
                            if shared.is_some() {
                                loaded[f][*i] = RowKey::None;
                            } else if key == RowKey::None || loaded[f][*i] != key {
                                load_leaf(
                                    &leaves[*i],
                                    flat,
                                    col0,
                                    len,
                                    &pos,
                                    &shape_eff,
                                    dst,
                                    &mut gen_tmp,
                                );
                                loaded[f][*i] = key;
                            }
                        }
                        Instr::Unary(op, a) => unary(*op, get(*a), dst, len),
                        Instr::Binary(op, a, b) => binary(*op, get(*a), get(*b), dst, len),
                        Instr::Where(c, a, b) => select(get(*c), get(*a), get(*b), dst, len),
                        Instr::Cast(a) => cast(get(*a), dst, len),
                    }
                }
                let last = regs_f.len() - 1;
                let res = match first {
                    Some(regs0) => alias_f[last].map_or(&regs_f[last], |j| &regs0[j]),
                    None => &regs_f[last],
                };
                match (&mut sink, &mut store) {
                    (Sink::Reduce(acc), _) => {
                        let lead_now: &[usize] = if flat { &[] } else { &lead };
                        reduce_push(acc, res, lead_now, col0, len, flat, &shape_eff);
                    }
                    (Sink::Store, Some(buf)) => buf.write(res, r * row_len + col0, len)?,
                    _ => return Err(Error::internal("fused sink without a store")),
                }
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

/// What a leaf's register holds after loading a tile. When the next tile of a
/// leaf has the same key (a row broadcast along a leading dim, a constant), the
/// load is skipped; `None` always loads.
#[derive(Clone, Copy, PartialEq)]
#[allow(clippy::large_enum_variant)] // one per leaf, in a Vec made once per task
enum RowKey {
    None,
    /// Element offset of the row in the view, first column, length.
    Chunk(isize, usize, usize),
    /// A generator's row ([`GenRow`]) and length.
    Gen(GenRow, usize),
    /// A constant generator, length.
    Const(usize),
}

fn row_key(
    leaf: &LeafData<'_>,
    flat: bool,
    col0: usize,
    len: usize,
    pos: &[usize],
    nd: usize,
) -> RowKey {
    if flat {
        return RowKey::None;
    }
    match leaf {
        LeafData::Chunk(v) => with_view!(v, a, T => {
            let mut off = 0isize;
            for (d, &p) in pos[..nd - 1].iter().enumerate() {
                if a.shape()[d] > 1 {
                    off += p as isize * a.strides()[d];
                }
            }
            RowKey::Chunk(off, col0, len)
        }),
        LeafData::Gen { spec, .. } if spec.is_constant() => RowKey::Const(len),
        LeafData::Gen {
            spec,
            origin,
            out_dim,
        } => RowKey::Gen(gen_start(spec, origin, out_dim, pos, nd), len),
    }
}

/// The view position of a generator leaf at output position `pos`, and the view dim
/// that moves along the output's last dim.
fn gen_start(
    spec: &crate::kernel::generate::GenSpec,
    origin: &[usize],
    out_dim: &[Option<usize>],
    pos: &[usize],
    nd: usize,
) -> ([usize; MAX_DIMS], Option<usize>) {
    let mut v0 = [0usize; MAX_DIMS];
    v0[..origin.len()].copy_from_slice(origin);
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
    (v0, vary)
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
                let (v0, vary) = gen_start(spec, origin, out_dim, pos, nd);
                spec.fill_f64(&v0[..origin.len()], vary, buf);
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
