//! Checked constructors of plan nodes: each validates its inputs, computes the
//! output metadata (dtype, chunk grid) and returns a [`Error::Plan`] naming the
//! problem when the request is impossible.

use super::{BlockFn, ElemOp, Expr, Meta, Op};
use crate::error::{Error, Result};
use crate::kernel::generate::GenSpec;
use crate::kernel::reduce::ReduceOp;
use crate::kernel::structure::DimSlice;
use crate::kernel::{Chunk, ChunkSource};
use crate::meta::{boundaries, broadcast_shapes, common_refinement, ChunkGrid, DType};
use std::sync::Arc;

/// A whole in-memory array cut into `grid`.
pub fn from_array(data: Chunk, grid: ChunkGrid) -> Result<Expr> {
    if data.shape() != grid.shape().as_slice() {
        return Err(Error::plan(format!(
            "chunks {grid:?} cover shape {:?} but the array has shape {:?}",
            grid.shape(),
            data.shape()
        )));
    }
    let view = data.shape().iter().map(|_| (0, 1)).collect();
    let dtype = data.dtype();
    Ok(Expr::new(
        Op::FromArray {
            data: Arc::new(data),
            view,
        },
        vec![],
        Meta { dtype, grid },
    ))
}

/// A variable read from a file, in chunks `grid`.
pub fn read(source: Arc<dyn ChunkSource>, grid: ChunkGrid) -> Result<Expr> {
    if source.shape() != grid.shape().as_slice() {
        return Err(Error::plan(format!(
            "chunks {grid:?} cover shape {:?} but {} has shape {:?}",
            grid.shape(),
            source.describe(),
            source.shape()
        )));
    }
    let view = source.shape().iter().map(|_| (0, 1)).collect();
    let dtype = source.dtype();
    Ok(Expr::new(
        Op::Read { source, view },
        vec![],
        Meta { dtype, grid },
    ))
}

/// Chunks already computed, one per chunk of `grid` in C order (`None`
/// for the chunks another rank holds).
pub fn stored(chunks: Vec<Option<Chunk>>, dtype: DType, grid: ChunkGrid) -> Result<Expr> {
    if chunks.len() != grid.num_chunks() {
        return Err(Error::internal(format!(
            "{} stored chunks for a grid of {}",
            chunks.len(),
            grid.num_chunks()
        )));
    }
    Ok(Expr::new(
        Op::Stored {
            chunks: Arc::new(chunks.into_iter().map(|c| c.map(Arc::new)).collect()),
        },
        vec![],
        Meta { dtype, grid },
    ))
}

/// A generator cut into `grid`.
pub fn generator(spec: GenSpec, grid: ChunkGrid) -> Result<Expr> {
    if spec.shape != grid.shape() {
        return Err(Error::internal(format!(
            "generator of shape {:?} with chunks {grid:?}",
            spec.shape
        )));
    }
    let dtype = spec.dtype;
    Ok(Expr::new(Op::Gen(spec), vec![], Meta { dtype, grid }))
}

/// A scalar as a 0-d generator.
pub fn scalar(value: f64, dtype: DType) -> Expr {
    let spec = GenSpec::new(crate::kernel::generate::GenKind::Full(value), dtype, &[]);
    Expr::new(
        Op::Gen(spec),
        vec![],
        Meta {
            dtype,
            grid: ChunkGrid::single(&[]),
        },
    )
}

/// `x.astype(dtype)`.
pub fn cast(x: &Expr, dtype: DType) -> Expr {
    if x.dtype() == dtype {
        return x.clone();
    }
    Expr::new(
        Op::Elementwise(ElemOp::Cast),
        vec![x.clone()],
        Meta {
            dtype,
            grid: x.grid().clone(),
        },
    )
}

/// Broadcast `inputs` against each other (NumPy rules), unify their chunks along
/// shared dims (common refinement, as dask's `unify_chunks`), and apply `op`.
/// Inputs must already have the dtypes `op` needs (binary operands equal,
/// `where`'s condition bool).
pub fn elementwise(op: ElemOp, inputs: &[Expr], dtype: DType) -> Result<Expr> {
    let name = match op {
        ElemOp::Unary(u) => u.name(),
        ElemOp::Binary(b) => b.name(),
        ElemOp::Where => "where",
        ElemOp::Cast => "astype",
    };
    let mut shape: Vec<usize> = vec![];
    for x in inputs {
        shape = broadcast_shapes(&shape, &x.shape()).ok_or_else(|| {
            Error::plan(format!(
                "{name}: operands could not be broadcast together with shapes {}",
                inputs
                    .iter()
                    .map(|i| format!("{:?}", i.shape()))
                    .collect::<Vec<_>>()
                    .join(" ")
            ))
        })?;
    }
    let nd = shape.len();
    // Per output dim, the common refinement of the chunks of inputs that are not
    // broadcast there. Lists are shared with the inputs' grids, not copied.
    let mut chunks: Vec<Option<Arc<[usize]>>> = vec![None; nd];
    for x in inputs {
        let off = nd - x.ndim();
        for (k, &n) in x.shape().iter().enumerate() {
            let d = off + k;
            if n == shape[d] {
                let c = x.grid().dim_shared(k);
                chunks[d] = Some(match chunks[d].take() {
                    None => c.clone(),
                    Some(prev) if Arc::ptr_eq(&prev, c) || prev[..] == c[..] => prev,
                    Some(prev) => Arc::from(common_refinement(&prev, c)),
                });
            }
        }
    }
    let out_chunks: Vec<Arc<[usize]>> = chunks
        .into_iter()
        .zip(&shape)
        .map(|(c, &n)| c.unwrap_or_else(|| Arc::from([n])))
        .collect();
    let grid = ChunkGrid::from_shared(out_chunks.clone());
    // Rechunk inputs whose chunks differ from the unified ones.
    let mut unified = Vec::with_capacity(inputs.len());
    for x in inputs {
        let off = nd - x.ndim();
        let x_shape = x.shape();
        let want = ChunkGrid::from_shared(
            (0..x.ndim())
                .map(|k| {
                    if x_shape[k] == shape[off + k] {
                        out_chunks[off + k].clone()
                    } else {
                        x.grid().dim_shared(k).clone()
                    }
                })
                .collect(),
        );
        if &want != x.grid() {
            unified.push(rechunk(x, want)?);
        } else {
            unified.push(x.clone());
        }
    }
    Ok(Expr::new(
        Op::Elementwise(op),
        unified,
        Meta { dtype, grid },
    ))
}

/// Output dim `d` is input dim `src[d]` or a new length-1 axis.
pub fn axis_map(x: &Expr, src: Vec<Option<usize>>) -> Result<Expr> {
    crate::meta::check_ndim(src.len())?;
    let nd = x.ndim();
    let mut seen = vec![false; nd];
    for s in src.iter().flatten() {
        if *s >= nd || seen[*s] {
            return Err(Error::plan(format!(
                "invalid axes {src:?} for an array of dimension {nd}"
            )));
        }
        seen[*s] = true;
    }
    for (k, used) in seen.iter().enumerate() {
        if !used && x.shape()[k] != 1 {
            return Err(Error::plan(format!(
                "cannot drop axis {k} of length {} (only length-1 axes can be squeezed)",
                x.shape()[k]
            )));
        }
    }
    let chunks = src
        .iter()
        .map(|s| match s {
            Some(k) => x.grid().dim_shared(*k).clone(),
            None => Arc::from([1]),
        })
        .collect();
    if src.iter().enumerate().all(|(d, s)| *s == Some(d)) && src.len() == nd {
        return Ok(x.clone());
    }
    Ok(Expr::new(
        Op::AxisMap { src },
        vec![x.clone()],
        Meta {
            dtype: x.dtype(),
            grid: ChunkGrid::from_shared(chunks),
        },
    ))
}

/// Strided selection: `sel[d] = (start, len, step)`, already normalised (in bounds).
/// Output chunks follow the input's: each output chunk comes from one input chunk.
pub fn slice(x: &Expr, sel: Vec<(usize, usize, isize)>) -> Result<Expr> {
    let shape = x.shape();
    if sel.len() != shape.len() {
        return Err(Error::plan(format!(
            "{} indices for an array of dimension {}",
            sel.len(),
            shape.len()
        )));
    }
    let mut chunks = Vec::with_capacity(sel.len());
    for (d, &(start, len, step)) in sel.iter().enumerate() {
        if step == 0 {
            return Err(Error::plan("slice step cannot be zero"));
        }
        if len > 0 {
            let last = start as isize + step * (len as isize - 1);
            if start >= shape[d] || last < 0 || last as usize >= shape[d] {
                return Err(Error::plan(format!(
                    "index out of bounds on axis {d}: selection start {start}, step {step}, length {len} for extent {}",
                    shape[d]
                )));
            }
        }
        chunks.push(if start == 0 && len == shape[d] && step == 1 {
            x.grid().dim_shared(d).clone()
        } else {
            Arc::from(slice_chunks(&boundaries(x.grid().dim(d)), start, len, step))
        });
    }
    if sel
        .iter()
        .zip(&shape)
        .all(|(&(s, l, st), &n)| s == 0 && l == n && st == 1)
    {
        return Ok(x.clone());
    }
    Ok(Expr::new(
        Op::Slice { sel },
        vec![x.clone()],
        Meta {
            dtype: x.dtype(),
            grid: ChunkGrid::from_shared(chunks),
        },
    ))
}

/// Output chunk sizes of a strided selection over chunks with `bounds`: consecutive
/// selected elements from one input chunk form one output chunk.
pub fn slice_chunks(bounds: &[usize], start: usize, len: usize, step: isize) -> Vec<usize> {
    slice_table(bounds, start, len, step)
        .iter()
        .map(|(_, s)| s.len)
        .collect()
}

/// Per output chunk of a strided selection: the input chunk and the selection in it.
pub fn slice_table(
    bounds: &[usize],
    start: usize,
    len: usize,
    step: isize,
) -> Vec<(usize, DimSlice)> {
    if len == 0 {
        return vec![(
            0,
            DimSlice {
                start: 0,
                len: 0,
                step: 1,
            },
        )];
    }
    let mut out = Vec::new();
    let mut t = 0usize;
    let end = bounds.last().copied().unwrap_or(0);
    while t < len {
        let g = start as isize + step * t as isize;
        // Callers check bounds (`slice` does); stop rather than loop on a bad selection.
        if g < 0 || g as usize >= end || bounds.len() < 2 {
            break;
        }
        let g = g as usize;
        let c = match bounds.binary_search(&g) {
            Ok(i) => i.min(bounds.len() - 2),
            Err(i) => i - 1,
        };
        let (lo, hi) = (bounds[c], bounds[c + 1]);
        let n = if step > 0 {
            (hi - g).div_ceil(step as usize)
        } else {
            (g - lo) / (-step) as usize + 1
        };
        let n = n.min(len - t);
        out.push((
            c,
            DimSlice {
                start: g - lo,
                len: n,
                step,
            },
        ));
        t += n;
    }
    out
}

/// Same values, new chunks.
pub fn rechunk(x: &Expr, grid: ChunkGrid) -> Result<Expr> {
    if grid.shape() != x.shape() {
        return Err(Error::plan(format!(
            "rechunk to {grid:?} does not fit the shape {:?}",
            x.shape()
        )));
    }
    if &grid == x.grid() {
        return Ok(x.clone());
    }
    Ok(Expr::new(
        Op::Rechunk,
        vec![x.clone()],
        Meta {
            dtype: x.dtype(),
            grid,
        },
    ))
}

/// Concatenate along `axis`; other dims must match (their chunks are unified).
pub fn concat(inputs: &[Expr], axis: usize) -> Result<Expr> {
    let first = inputs
        .first()
        .ok_or_else(|| Error::plan("need at least one array to concatenate"))?;
    let nd = first.ndim();
    if axis >= nd {
        return Err(Error::plan(format!(
            "axis {axis} is out of bounds for an array of dimension {nd}"
        )));
    }
    let dtype = inputs
        .iter()
        .map(|x| x.dtype())
        .reduce(DType::promote)
        .unwrap_or(first.dtype());
    for (i, x) in inputs.iter().enumerate() {
        if x.ndim() != nd {
            return Err(Error::plan(format!(
                "all the input arrays must have the same number of dimensions: array 0 has {nd}, array {i} has {}",
                x.ndim()
            )));
        }
        for d in (0..nd).filter(|&d| d != axis) {
            if x.shape()[d] != first.shape()[d] {
                return Err(Error::plan(format!(
                    "all the input array dimensions except for the concatenation axis must match exactly: \
                     along axis {d}, array 0 has size {} and array {i} has size {}",
                    first.shape()[d],
                    x.shape()[d]
                )));
            }
        }
    }
    let mut chunks: Vec<Arc<[usize]>> = (0..nd)
        .map(|d| first.grid().dim_shared(d).clone())
        .collect();
    for x in &inputs[1..] {
        for d in (0..nd).filter(|&d| d != axis) {
            if chunks[d][..] != *x.grid().dim(d) {
                chunks[d] = Arc::from(common_refinement(&chunks[d], x.grid().dim(d)));
            }
        }
    }
    let mut along = Vec::new();
    let mut unified = Vec::new();
    for x in inputs {
        let x = cast(x, dtype);
        let want = ChunkGrid::from_shared(
            (0..nd)
                .map(|d| {
                    if d == axis {
                        x.grid().dim_shared(d).clone()
                    } else {
                        chunks[d].clone()
                    }
                })
                .collect(),
        );
        let x = rechunk(&x, want)?;
        if x.shape()[axis] > 0 {
            along.extend_from_slice(x.grid().dim(axis));
        }
        unified.push(x);
    }
    if along.is_empty() {
        // Every input is empty along `axis`: so is the result, and the first input
        // (cast and unified above) already has its shape and chunks. A Concat node
        // would have an output chunk that no input chunk maps to.
        return Ok(unified.swap_remove(0));
    }
    chunks[axis] = Arc::from(along);
    Ok(Expr::new(
        Op::Concat { axis },
        unified,
        Meta {
            dtype,
            grid: ChunkGrid::from_shared(chunks),
        },
    ))
}

/// C-order reshape (`shape` fully specified). The input is rechunked so that every
/// input chunk is one output chunk (dask's `reshape_rechunk`): within each group of
/// dims whose sizes multiply to the same product, all dims but the first are whole.
pub fn reshape(x: &Expr, shape: &[usize]) -> Result<Expr> {
    crate::meta::check_ndim(shape.len())?;
    let in_shape = x.shape();
    let (n_in, n_out) = (
        in_shape.iter().product::<usize>(),
        shape.iter().product::<usize>(),
    );
    if n_in != n_out {
        return Err(Error::plan(format!(
            "cannot reshape array of size {n_in} (shape {in_shape:?}) into shape {shape:?}"
        )));
    }
    if in_shape == shape {
        return Ok(x.clone());
    }
    if n_in == 0 {
        // No elements to move: any source of the new shape and dtype is the result.
        let spec = GenSpec::new(
            crate::kernel::generate::GenKind::Full(0.0),
            x.dtype(),
            shape,
        );
        return generator(spec, ChunkGrid::single(shape));
    }
    let groups = reshape_groups(&in_shape, shape);
    let mut in_chunks: Vec<Arc<[usize]>> = (0..in_shape.len())
        .map(|d| x.grid().dim_shared(d).clone())
        .collect();
    let mut out_chunks: Vec<Arc<[usize]>> = shape.iter().map(|&n| Arc::from([n])).collect();
    for (ins, outs) in &groups {
        match (ins.first(), outs.first()) {
            (Some(&i0), Some(&o0)) if ins.len() == 1 && outs.len() == 1 => {
                out_chunks[o0] = in_chunks[i0].clone()
            }
            (Some(&i0), Some(&o0)) => {
                let p_in: usize = ins[1..].iter().map(|&i| in_shape[i]).product();
                let p_out: usize = outs[1..].iter().map(|&o| shape[o]).product();
                let m = p_out / gcd(p_in, p_out);
                for &i in &ins[1..] {
                    in_chunks[i] = Arc::from([in_shape[i]]);
                }
                // Chunks along i0 become multiples of m (about the size they were).
                let target = (in_chunks[i0][0] / m).max(1) * m;
                in_chunks[i0] = Arc::from(crate::meta::regular_dim(in_shape[i0], target));
                out_chunks[o0] = in_chunks[i0].iter().map(|&c| c * p_in / p_out).collect();
            }
            _ => {}
        }
    }
    let xr = rechunk(x, ChunkGrid::from_shared(in_chunks))?;
    Ok(Expr::new(
        Op::Reshape,
        vec![xr],
        Meta {
            dtype: x.dtype(),
            grid: ChunkGrid::from_shared(out_chunks),
        },
    ))
}

/// Groups of (input dims, output dims) with equal products, left to right.
pub fn reshape_groups(a: &[usize], b: &[usize]) -> Vec<(Vec<usize>, Vec<usize>)> {
    let (mut i, mut j) = (0, 0);
    let mut groups = Vec::new();
    while i < a.len() || j < b.len() {
        let (mut gi, mut gj) = (vec![], vec![]);
        let (mut pi, mut pj) = (1usize, 1usize);
        if i < a.len() {
            pi = a[i];
            gi.push(i);
            i += 1;
        }
        if j < b.len() {
            pj = b[j];
            gj.push(j);
            j += 1;
        }
        while pi != pj {
            if pi < pj && i < a.len() {
                pi *= a[i];
                gi.push(i);
                i += 1;
            } else if j < b.len() {
                pj *= b[j];
                gj.push(j);
                j += 1;
            } else {
                break;
            }
        }
        groups.push((gi, gj));
    }
    groups
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a.max(1)
    } else {
        gcd(b, a % b)
    }
}

/// Default fan-in of reduction trees (dask's `split_every`).
pub const SPLIT_EVERY: usize = 16;

/// A tree reduction over `axes` (sorted, distinct, in range), keepdims.
pub fn reduce(x: &Expr, op: ReduceOp, axes: &[usize], split_every: usize) -> Result<Expr> {
    let shape = x.shape();
    if op.needs_nonempty() && axes.iter().any(|&a| shape[a] == 0) {
        return Err(Error::plan(format!(
            "zero-size array to reduction operation {} which has no identity (shape {shape:?}, axes {axes:?})",
            op.name()
        )));
    }
    if op.is_arg() && !(axes.len() == 1 || axes.len() == shape.len()) {
        return Err(Error::plan(format!(
            "{} reduces over one axis or all axes, got axes {axes:?}",
            op.name()
        )));
    }
    let chunks = (0..shape.len())
        .map(|d| {
            if axes.contains(&d) {
                Arc::from([1])
            } else {
                x.grid().dim_shared(d).clone()
            }
        })
        .collect();
    Ok(Expr::new(
        Op::Reduce {
            op,
            axes: axes.to_vec(),
            split_every: split_every.max(2),
        },
        vec![x.clone()],
        Meta {
            dtype: op.output_dtype(x.dtype()),
            grid: ChunkGrid::from_shared(chunks),
        },
    ))
}

/// 2-D matrix product; the inner dimension's chunks are unified.
pub fn matmul(a: &Expr, b: &Expr) -> Result<Expr> {
    if a.ndim() != 2 || b.ndim() != 2 {
        return Err(Error::plan(format!(
            "matmul needs 2-D operands, got shapes {:?} and {:?}",
            a.shape(),
            b.shape()
        )));
    }
    if a.shape()[1] != b.shape()[0] {
        return Err(Error::plan(format!(
            "matmul: shapes {:?} and {:?} not aligned: {} (dim 1) != {} (dim 0)",
            a.shape(),
            b.shape(),
            a.shape()[1],
            b.shape()[0]
        )));
    }
    let dtype = DType::promote(a.dtype(), b.dtype());
    let inner: Arc<[usize]> = if a.grid().dim(1) == b.grid().dim(0) {
        a.grid().dim_shared(1).clone()
    } else {
        Arc::from(common_refinement(a.grid().dim(1), b.grid().dim(0)))
    };
    let a2 = rechunk(&cast(a, dtype), a.grid().with_dim(1, inner.clone()))?;
    let b2 = rechunk(&cast(b, dtype), b.grid().with_dim(0, inner))?;
    let grid = ChunkGrid::from_shared(vec![
        a.grid().dim_shared(0).clone(),
        b.grid().dim_shared(1).clone(),
    ]);
    Ok(Expr::new(Op::MatMul, vec![a2, b2], Meta { dtype, grid }))
}

/// A user function per chunk, output chunks of the same shape and dtype `dtype`.
pub fn map_blocks(x: &Expr, f: BlockFn, dtype: DType, name: &str) -> Expr {
    Expr::new(
        Op::MapBlocks {
            f,
            name: name.to_string(),
        },
        vec![x.clone()],
        Meta {
            dtype,
            grid: x.grid().clone(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slice_chunks_follow_input_chunks() {
        // x = da.ones(10, chunks=4); x[1:9:3].chunks == ((1, 2),)  (elements 1 | 4, 7)
        assert_eq!(slice_chunks(&[0, 4, 8, 10], 1, 3, 3), vec![1, 2]);
        // reversed: x[::-1].chunks == ((2, 4, 4),)
        assert_eq!(slice_chunks(&[0, 4, 8, 10], 9, 10, -1), vec![2, 4, 4]);
    }

    fn full(shape: &[usize], grid: ChunkGrid) -> Expr {
        let spec = GenSpec::new(
            crate::kernel::generate::GenKind::Full(1.0),
            DType::F64,
            shape,
        );
        generator(spec, grid).unwrap()
    }

    fn shares(a: &ChunkGrid, d: usize, b: &ChunkGrid, e: usize) -> bool {
        Arc::ptr_eq(a.dim_shared(d), b.dim_shared(e))
    }

    /// Planning memory grew with the chunks of every elementwise node: each node
    /// copied its inputs' chunk lists (bench/RESULTS.md, "Planning, per expression
    /// node"). Derived nodes now point at the lists of the node they come from.
    #[test]
    fn chained_nodes_share_chunk_lists_instead_of_copying() {
        use crate::kernel::fused::BinaryOp;
        let base = ChunkGrid::regular(&[1000, 600], &[10, 7]).unwrap();
        let x = full(&[1000, 600], base.clone());
        let row = full(&[600], ChunkGrid::regular(&[600], &[7]).unwrap());
        let mut e = x.clone();
        for i in 0..100 {
            let other = if i % 2 == 0 { &x } else { &row };
            e = elementwise(
                ElemOp::Binary(BinaryOp::Mul),
                &[e, other.clone()],
                DType::F64,
            )
            .unwrap();
            assert!(shares(e.grid(), 0, &base, 0) && shares(e.grid(), 1, &base, 1));
            // No rechunk was inserted: equal lists need no unification.
            assert!(e.inputs()[0].grid() == x.grid());
        }
        assert_eq!(e.grid(), &base);
        let t = axis_map(&e, vec![Some(1), Some(0)]).unwrap();
        assert!(shares(t.grid(), 0, &base, 1) && shares(t.grid(), 1, &base, 0));
        let s = slice(&e, vec![(0, 1000, 1), (3, 100, 2)]).unwrap();
        assert!(shares(s.grid(), 0, &base, 0));
        assert_eq!(s.grid().dim(1)[..3], [2, 4, 3]); // 3,5 | 7,9,11,13 | 15,17,19
        let r = reduce(&e, ReduceOp::Sum, &[0], SPLIT_EVERY).unwrap();
        assert!(shares(r.grid(), 1, &base, 1));
        assert_eq!(r.grid().dim(0), &[1]);
        let m = matmul(&e, &axis_map(&e, vec![Some(1), Some(0)]).unwrap()).unwrap();
        assert!(shares(m.grid(), 0, &base, 0) && shares(m.grid(), 1, &base, 0));
    }

    #[test]
    fn unified_chunks_are_one_list_shared_by_output_and_rechunked_inputs() {
        use crate::kernel::fused::BinaryOp;
        let a = full(&[10], ChunkGrid::regular(&[10], &[4]).unwrap());
        let b = full(&[10], ChunkGrid::regular(&[10], &[5]).unwrap());
        let e = elementwise(ElemOp::Binary(BinaryOp::Add), &[a, b], DType::F64).unwrap();
        // dask: unify_chunks of (4, 4, 2) and (5, 5) is (4, 1, 3, 2).
        assert_eq!(e.grid().dim(0), &[4, 1, 3, 2]);
        for i in e.inputs() {
            assert!(matches!(i.op(), Op::Rechunk));
            assert!(shares(i.grid(), 0, e.grid(), 0));
        }
    }

    #[test]
    fn reshape_groups_match_products() {
        assert_eq!(reshape_groups(&[4, 6], &[24]), vec![(vec![0, 1], vec![0])]);
        assert_eq!(
            reshape_groups(&[24], &[2, 3, 4]),
            vec![(vec![0], vec![0, 1, 2])]
        );
        assert_eq!(
            reshape_groups(&[2, 3, 4], &[6, 4]),
            vec![(vec![0, 1], vec![0]), (vec![2], vec![1])]
        );
    }
}
