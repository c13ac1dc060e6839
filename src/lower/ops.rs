//! Running one task of a lowered layer.

use super::{LayerOp, Lowered, LoweredLeaf, Pair, Value};
use crate::error::{Error, Result};
use crate::graph::LayerId;
use crate::kernel::fused::{self, Evaluated, LeafData, Sink};
use crate::kernel::reduce::{self, ArgInfo, Partial, ReduceAcc};
use crate::kernel::structure::{self, DimSlice, Piece};
use crate::kernel::{Chunk, ChunkView};
use crate::meta::unravel_index;

pub(super) fn run(
    plan: &Lowered,
    layer: LayerId,
    chunk: usize,
    inputs: &[Vec<&Value>],
) -> Result<Value> {
    let li = layer.0 as usize;
    // Offsets and shapes from the layer's precomputed boundaries: O(ndim) per task.
    let bounds = &plan.bounds[li];
    let idx = unravel_index(chunk, &plan.graph.layer(layer).numblocks);
    let off: Vec<usize> = idx.iter().zip(bounds).map(|(&i, b)| b[i]).collect();
    let shape: Vec<usize> = idx
        .iter()
        .zip(bounds)
        .map(|(&i, b)| b[i + 1] - b[i])
        .collect();
    let in_chunk = |e: usize, i: usize| -> Result<&Chunk> {
        match inputs.get(e).and_then(|v| v.get(i)) {
            Some(Value::Chunk(c)) => Ok(&**c),
            _ => Err(Error::internal(format!(
                "layer {} chunk {idx:?}: input {e}/{i} is not a chunk",
                plan.graph.layer(layer).name
            ))),
        }
    };
    let res = match &plan.ops[li] {
        LayerOp::FromArray { data, view } => {
            let sel: Vec<DimSlice> = view
                .iter()
                .zip(off.iter().zip(&shape))
                .map(|(&(o, st), (&p, &n))| DimSlice {
                    start: (o as isize + st * p as isize) as usize,
                    len: n,
                    step: st,
                })
                .collect();
            Value::chunk(structure::slice(data, &sel)?)
        }
        LayerOp::Read { source, view } => Value::chunk(read_region(&**source, view, &off, &shape)?),
        LayerOp::Stored { chunks } => {
            Value::Chunk(chunks.get(chunk).cloned().flatten().ok_or_else(|| {
                Error::plan(format!(
                    "persisted chunk {chunk} is not on this rank: a persisted array can be \
                     used only in the session (and on the number of ranks) that persisted it"
                ))
            })?)
        }
        LayerOp::Fused {
            program,
            leaves,
            reduce,
            pair,
        } => {
            // Paired blocks (see `optimize::PairTransposedReads`): does this task
            // evaluate the pair? See `Pair::works`.
            let mirror = pair.as_ref().and_then(|p| {
                let (a, b) = p.axes;
                (idx[a] != idx[b]).then_some((p, Pair::works(idx[a], idx[b])))
            });
            if let (Some((_, false)), Some(r)) = (mirror, reduce) {
                // Its values went into its partner's partial.
                let acc = ReduceAcc::new(r.op, r.input, &shape, &r.axes, None)?;
                return Ok(Value::Partial(acc.finish()));
            }
            let own = Frame::new(leaves, None, &in_chunk)?;
            let data = own.leaf_data(leaves, &off, &shape)?;
            match reduce {
                None => match fused::eval(program, &data, &shape, Sink::Store)? {
                    Evaluated::Chunk(c) => Value::chunk(c),
                    Evaluated::Reduced(_) => {
                        return Err(Error::internal("fused store produced a reduction"))
                    }
                },
                Some(r) => {
                    let arg = r.op.is_arg().then(|| ArgInfo {
                        offset: off.clone(),
                        shape: bounds
                            .iter()
                            .map(|b| b.last().copied().unwrap_or(0))
                            .collect(),
                    });
                    let acc = Box::new(ReduceAcc::new(r.op, r.input, &shape, &r.axes, arg)?);
                    let evaluated = match mirror {
                        Some((p, _)) => {
                            let other = Frame::new(leaves, Some(p), &in_chunk)?;
                            let data_t = other.leaf_data(leaves, &off, &shape)?;
                            fused::eval_pair(program, &data, &data_t, &shape, acc)?
                        }
                        None => fused::eval(program, &data, &shape, Sink::Reduce(acc))?,
                    };
                    let p = match evaluated {
                        Evaluated::Reduced(acc) => acc.finish(),
                        Evaluated::Chunk(_) => {
                            return Err(Error::internal("fused reduction produced a chunk"))
                        }
                    };
                    if r.finalize {
                        Value::chunk(reduce::finalize(r.op, p, r.input)?)
                    } else {
                        Value::Partial(p)
                    }
                }
            }
        }
        LayerOp::Combine {
            op,
            input,
            finalize,
        } => {
            let parts: Vec<&Partial> = inputs
                .iter()
                .flatten()
                .map(|v| match v {
                    Value::Partial(p) => Ok(p),
                    Value::Chunk(_) => Err(Error::internal("combine input is not a partial")),
                })
                .collect::<Result<_>>()?;
            let p = reduce::combine(*op, &parts)?;
            if *finalize {
                Value::chunk(reduce::finalize(*op, p, *input)?)
            } else {
                Value::Partial(p)
            }
        }
        LayerOp::Slice { tables } => {
            let sel: Vec<DimSlice> = tables.iter().zip(&idx).map(|(t, &i)| t[i].1).collect();
            Value::chunk(structure::slice(in_chunk(0, 0)?, &sel)?)
        }
        LayerOp::Rechunk {
            in_bounds,
            out_bounds,
        } => {
            let nd = idx.len();
            // The input chunks in C order over the box the graph gave us.
            let ranges: Vec<(usize, usize)> = (0..nd)
                .map(|d| {
                    let (a, b) = (out_bounds[d][idx[d]], out_bounds[d][idx[d] + 1]);
                    super::overlapping(&in_bounds[d], a, b)
                })
                .collect();
            let in_nb: Vec<usize> = in_bounds.iter().map(|b| b.len() - 1).collect();
            let mut boxes = Vec::new();
            crate::graph::for_each_in_box(&ranges, &in_nb, |lin| {
                boxes.push(unravel_index(lin, &in_nb))
            });
            let mut pieces = Vec::with_capacity(boxes.len());
            for (i, cidx) in boxes.iter().enumerate() {
                let src = in_chunk(0, i)?;
                let mut src_start = vec![0; nd];
                let mut dst_start = vec![0; nd];
                let mut extent = vec![0; nd];
                for d in 0..nd {
                    let (ia, ib) = (in_bounds[d][cidx[d]], in_bounds[d][cidx[d] + 1]);
                    let (oa, ob) = (out_bounds[d][idx[d]], out_bounds[d][idx[d] + 1]);
                    let (a, b) = (ia.max(oa), ib.min(ob));
                    src_start[d] = a - ia;
                    dst_start[d] = a - oa;
                    extent[d] = b.saturating_sub(a);
                }
                pieces.push(Piece {
                    src,
                    src_start,
                    dst_start,
                    extent,
                });
            }
            Value::chunk(structure::assemble(plan.dtypes[li], &shape, &pieces)?)
        }
        LayerOp::Concat => {
            let c = inputs.iter().flatten().next().ok_or_else(|| {
                Error::internal(format!("concatenate chunk {idx:?} has no input"))
            })?;
            match c {
                Value::Chunk(c) => Value::Chunk(c.clone()),
                Value::Partial(_) => return Err(Error::internal("concatenate of a partial")),
            }
        }
        LayerOp::Reshape => Value::chunk(structure::reshape(in_chunk(0, 0)?, &shape)?),
        LayerOp::MatMul => {
            let k = inputs.first().map(|v| v.len()).unwrap_or(0);
            let mut pairs = Vec::with_capacity(k);
            for i in 0..k {
                pairs.push((in_chunk(0, i)?, in_chunk(1, i)?));
            }
            Value::chunk(structure::matmul_blocks(&pairs, plan.dtypes[li])?)
        }
        LayerOp::MapBlocks { f, name } => {
            let c = in_chunk(0, 0)?;
            let out = f(c, &idx).map_err(|e| {
                Error::Compute(format!(
                    "map_blocks({name}) failed on chunk {idx:?}: {}",
                    e.message()
                ))
            })?;
            if out.shape() != shape.as_slice() || out.dtype() != plan.dtypes[li] {
                return Err(Error::Compute(format!(
                    "map_blocks({name}) returned a {} chunk of shape {:?} for chunk {idx:?}, expected {} of shape {shape:?}",
                    out.dtype(),
                    out.shape(),
                    plan.dtypes[li]
                )));
            }
            Value::chunk(out)
        }
    };
    Ok(res)
}

/// The leaves of a fused task as read in one frame: the task's own block, or (for
/// paired blocks) the mirrored block seen with the pair's axes swapped, so that it
/// has the own block's shape and row `r` of it is column `r` of the mirrored block.
struct Frame<'a> {
    /// Per leaf: its input chunk (inputs only), a transposed copy and its map if the
    /// chunk is read out of order, and the leaf's map in this frame.
    inputs: Vec<Option<&'a Chunk>>,
    transposed: Vec<Option<(Chunk, Vec<Option<usize>>)>>,
    maps: Vec<Vec<Option<usize>>>,
}

impl<'a> Frame<'a> {
    fn new(
        leaves: &[LoweredLeaf],
        mirror: Option<&Pair>,
        in_chunk: &dyn Fn(usize, usize) -> Result<&'a Chunk>,
    ) -> Result<Frame<'a>> {
        let mut f = Frame {
            inputs: Vec::with_capacity(leaves.len()),
            transposed: Vec::with_capacity(leaves.len()),
            maps: Vec::with_capacity(leaves.len()),
        };
        for leaf in leaves {
            let (edge, map) = match leaf {
                LoweredLeaf::Input { edge, map } => (Some(*edge), map),
                LoweredLeaf::Gen { map, .. } => (None, map),
            };
            let map = match mirror {
                Some(p) => crate::optimize::swap_out_dims(map, p.axes),
                None => map.clone(),
            };
            let edge = match (edge, mirror) {
                (Some(e), Some(p)) => Some(*p.mirror_edge.get(e).ok_or_else(|| {
                    Error::internal(format!("paired fused task: no mirror of edge {e}"))
                })?),
                (e, _) => e,
            };
            let c = edge.map(|e| in_chunk(e, 0)).transpose()?;
            f.transposed.push(match c {
                Some(c) => pre_transpose(c, &map)?,
                None => None,
            });
            f.inputs.push(c);
            f.maps.push(map);
        }
        Ok(f)
    }

    /// The evaluator's view of each leaf for an output block at `off` of `shape`.
    fn leaf_data<'s>(
        &'s self,
        leaves: &'s [LoweredLeaf],
        off: &[usize],
        shape: &[usize],
    ) -> Result<Vec<LeafData<'s>>> {
        let mut data = Vec::with_capacity(leaves.len());
        for (i, leaf) in leaves.iter().enumerate() {
            let map = &self.maps[i];
            data.push(match (leaf, &self.transposed[i], self.inputs[i]) {
                (LoweredLeaf::Input { .. }, Some((c, m)), _) => {
                    LeafData::Chunk(ChunkView::map(c, m, shape)?)
                }
                (LoweredLeaf::Input { .. }, None, Some(c)) => {
                    LeafData::Chunk(ChunkView::map(c, map, shape)?)
                }
                (LoweredLeaf::Input { edge, .. }, None, None) => {
                    return Err(Error::internal(format!(
                        "fused leaf {i}: edge {edge} has no chunk"
                    )))
                }
                (LoweredLeaf::Gen { spec, .. }, _, _) => {
                    let mut origin = vec![0; spec.shape.len()];
                    for (d, k) in map.iter().enumerate() {
                        if let Some(k) = k {
                            if spec.shape[*k] > 1 {
                                origin[*k] = off[d];
                            }
                        }
                    }
                    LeafData::Gen {
                        spec,
                        origin,
                        out_dim: invert(map, spec.shape.len()),
                    }
                }
            });
        }
        Ok(data)
    }
}

/// If output dims read the chunk's dims out of order, the chunk transposed into
/// output order (dims no output reads go last) and the map to it.
fn pre_transpose(c: &Chunk, map: &[Option<usize>]) -> Result<Option<(Chunk, Vec<Option<usize>>)>> {
    let kept: Vec<usize> = map.iter().flatten().copied().collect();
    if kept.windows(2).all(|w| w[0] < w[1]) || c.len() < 4096 {
        return Ok(None);
    }
    let mut perm = kept.clone();
    perm.extend((0..c.shape().len()).filter(|k| !kept.contains(k)));
    let t = structure::transpose(c, &perm)?;
    let new_map = map
        .iter()
        .map(|m| m.and_then(|k| perm.iter().position(|&p| p == k)))
        .collect();
    Ok(Some((t, new_map)))
}

/// From `map[d] = Some(k)` (output dim d reads leaf dim k) to `out_dim[k] = Some(d)`.
fn invert(map: &[Option<usize>], leaf_nd: usize) -> Vec<Option<usize>> {
    let mut out = vec![None; leaf_nd];
    for (d, k) in map.iter().enumerate() {
        if let Some(k) = k {
            out[*k] = Some(d);
        }
    }
    out
}

/// The block at `off` with `shape` of a source seen through `view` (offset,
/// step per dim): the bounding box of the strided selection is read, then
/// strided in memory if any step is not 1.
fn read_region(
    source: &dyn crate::kernel::ChunkSource,
    view: &[(usize, isize)],
    off: &[usize],
    shape: &[usize],
) -> Result<Chunk> {
    let nd = shape.len();
    let (mut start, mut count, mut sel) = (
        Vec::with_capacity(nd),
        Vec::with_capacity(nd),
        Vec::with_capacity(nd),
    );
    for ((&(o, st), &p), &n) in view.iter().zip(off).zip(shape) {
        let first = o as isize + st * p as isize;
        let last = first + st * (n as isize - 1).max(0);
        let lo = first.min(last) as usize;
        let len = if n == 0 { 0 } else { first.abs_diff(last) + 1 };
        start.push(lo);
        count.push(len);
        sel.push(DimSlice {
            start: (first - lo as isize) as usize,
            len: n,
            step: st,
        });
    }
    let data = source.read(&start, &count)?;
    if data.shape() != count.as_slice() {
        return Err(Error::internal(format!(
            "{} returned a block of shape {:?} for a read of {count:?} at {start:?}",
            source.describe(),
            data.shape()
        )));
    }
    if view.iter().all(|&(_, st)| st == 1) {
        Ok(data)
    } else {
        structure::slice(&data, &sel)
    }
}
