//! Rules that move work toward the sources.

use super::{transform_up, Rule};
use crate::error::Result;
use crate::expr::{self, ElemOp, Expr, Op};
use std::sync::Arc;

/// `rechunk(generator)` is a generator with other chunks: nothing moves. The
/// rechunk also moves through transposes and elementwise operations whose inputs
/// are all generators, so `x + x.T` on a random `x` with non-square chunks stays
/// free.
pub struct PushRechunkIntoGenerator;

impl Rule for PushRechunkIntoGenerator {
    fn name(&self) -> &'static str {
        "PushRechunkIntoGenerator"
    }
    fn rewrite(&self, root: &Expr) -> Result<(Expr, usize)> {
        transform_up(root, &mut |e| {
            if let Op::Rechunk = e.op() {
                return push_rechunk(&e.inputs()[0], e.grid());
            }
            Ok(None)
        })
    }
}

/// `rechunk(x, grid)` rebuilt over generators, or `None` if `x` is not made of
/// generators only.
fn push_rechunk(x: &Expr, grid: &crate::meta::ChunkGrid) -> Result<Option<Expr>> {
    Ok(match x.op() {
        Op::Gen(spec) => Some(expr::generator(spec.clone(), grid.clone())?),
        Op::AxisMap { src } => {
            let input = &x.inputs()[0];
            let mut chunks: Vec<Arc<[usize]>> =
                input.shape().iter().map(|&n| Arc::from([n])).collect();
            for (d, k) in src.iter().enumerate() {
                if let Some(k) = k {
                    chunks[*k] = grid.dim_shared(d).clone();
                }
            }
            match push_rechunk(input, &crate::meta::ChunkGrid::from_shared(chunks))? {
                Some(inner) => Some(expr::axis_map(&inner, src.clone())?),
                None => None,
            }
        }
        Op::Elementwise(op) => {
            let nd = x.ndim();
            let mut inputs = Vec::new();
            for i in x.inputs() {
                let off = nd - i.ndim();
                let (i_shape, x_shape) = (i.shape(), x.shape());
                let chunks = (0..i.ndim())
                    .map(|k| {
                        if i_shape[k] == x_shape[off + k] {
                            grid.dim_shared(off + k).clone()
                        } else {
                            Arc::from([i_shape[k]])
                        }
                    })
                    .collect();
                match push_rechunk(i, &crate::meta::ChunkGrid::from_shared(chunks))? {
                    Some(p) => inputs.push(p),
                    None => return Ok(None),
                }
            }
            Some(expr::elementwise(*op, &inputs, x.dtype())?)
        }
        _ => None,
    })
}

/// Move slices below elementwise operations, casts and transposes, into
/// concatenations (each input gives only the part selected; inputs not
/// selected drop out), and into generators, in-memory sources and file reads.
///
/// A slice of a concatenation is what `groupby` and `sel` make of a dataset
/// joined from many files (`open_mfdataset`): pushed down, a season's runs
/// become reads of just those days, with no copy between the read and the
/// reduction.
pub struct PushSliceIntoSource;

impl Rule for PushSliceIntoSource {
    fn name(&self) -> &'static str {
        "PushSliceIntoSource"
    }
    fn rewrite(&self, root: &Expr) -> Result<(Expr, usize)> {
        transform_up(root, &mut |e| {
            if let Op::Slice { sel } = e.op() {
                if let Some(pushed) = push(&e.inputs()[0], sel)? {
                    return Ok(Some(pushed));
                }
            }
            Ok(None)
        })
    }
}

/// `x[sel]` with the selection pushed as deep as it goes; `None` if it cannot move.
fn push(x: &Expr, sel: &[(usize, usize, isize)]) -> Result<Option<Expr>> {
    let shape = x.shape();
    let sliced = |y: &Expr, s: Vec<(usize, usize, isize)>| -> Result<Expr> {
        // The whole of `y`: keep the node itself (shared with its other uses).
        if s.iter()
            .zip(y.shape().iter())
            .all(|(&(st, l, step), &n)| st == 0 && l == n && step == 1)
        {
            return Ok(y.clone());
        }
        Ok(match push(y, &s)? {
            Some(p) => p,
            None => expr::slice(y, s)?,
        })
    };
    Ok(Some(match x.op() {
        Op::Gen(spec) => {
            let grid = expr::slice(x, sel.to_vec())?.grid().clone();
            expr::generator(spec.sliced(sel), grid)?
        }
        Op::FromArray { data, view } => {
            let meta = expr::slice(x, sel.to_vec())?.meta().clone();
            Expr::new(
                Op::FromArray {
                    data: data.clone(),
                    view: compose_view(view, sel),
                },
                vec![],
                meta,
            )
        }
        Op::Read { source, view } => {
            let meta = expr::slice(x, sel.to_vec())?.meta().clone();
            Expr::new(
                Op::Read {
                    source: source.clone(),
                    view: compose_view(view, sel),
                },
                vec![],
                meta,
            )
        }
        Op::Slice { sel: inner } => {
            let composed = inner
                .iter()
                .zip(sel)
                .map(|(&(s1, _, st1), &(s2, l2, st2))| {
                    ((s1 as isize + st1 * s2 as isize) as usize, l2, st1 * st2)
                })
                .collect();
            sliced(&x.inputs()[0], composed)?
        }
        Op::Elementwise(op) => {
            let nd = shape.len();
            let mut inputs = Vec::new();
            for i in x.inputs() {
                let off = nd - i.ndim();
                let s = (0..i.ndim())
                    .map(|k| {
                        if i.shape()[k] == shape[off + k] {
                            sel[off + k]
                        } else {
                            (0, i.shape()[k], 1)
                        }
                    })
                    .collect();
                inputs.push(sliced(i, s)?);
            }
            let op: ElemOp = *op;
            expr::elementwise(op, &inputs, x.dtype())?
        }
        Op::AxisMap { src } => {
            let input = &x.inputs()[0];
            let mut s: Vec<(usize, usize, isize)> =
                input.shape().iter().map(|&n| (0, n, 1)).collect();
            for (d, k) in src.iter().enumerate() {
                match k {
                    Some(k) => s[*k] = sel[d],
                    None if sel[d].1 == 1 => {}
                    None => return Ok(None),
                }
            }
            expr::axis_map(&sliced(input, s)?, src.clone())?
        }
        Op::Concat { axis } => {
            let axis = *axis;
            let (start, len, step) = sel[axis];
            if step <= 0 || len == 0 {
                return Ok(None);
            }
            let step_u = step as usize;
            // Input `i` covers positions [off, off + n) of the concatenation; the
            // selection's k-th position is start + k * step.
            let first_at_or_after = |p: usize| -> usize {
                if p <= start {
                    0
                } else {
                    (p - start).div_ceil(step_u).min(len)
                }
            };
            let mut pieces = Vec::new();
            let mut off = 0;
            for input in x.inputs() {
                let n = input.shape()[axis];
                let (k0, k1) = (first_at_or_after(off), first_at_or_after(off + n));
                if k1 > k0 {
                    let mut s = sel.to_vec();
                    s[axis] = (start + k0 * step_u - off, k1 - k0, step);
                    pieces.push(sliced(input, s)?);
                }
                off += n;
            }
            match pieces.len() {
                0 => return Ok(None),
                1 => {
                    let piece = pieces.pop().expect("one piece");
                    if piece.dtype() == x.dtype() {
                        piece
                    } else {
                        expr::concat(&[piece], axis)?
                    }
                }
                _ => expr::concat(&pieces, axis)?,
            }
        }
        _ => return Ok(None),
    }))
}

/// A source's view (offset, step per dim) seen through the selection `sel`
/// (start, len, step per dim).
fn compose_view(view: &[(usize, isize)], sel: &[(usize, usize, isize)]) -> Vec<(usize, isize)> {
    view.iter()
        .zip(sel)
        .map(|(&(off, st), &(start, _, step))| {
            ((off as isize + st * start as isize) as usize, st * step)
        })
        .collect()
}
