//! The symbolic task graph: a few layers, each an operation over a whole grid of
//! chunks. A task is `(layer, chunk)`; its inputs are computed from the layer's
//! index functions ([`DimMap`]), never stored as edges (PaRSEC's parameterised
//! task graphs, Legion's index launches). Building a graph costs O(layers + sum
//! of grid extents), not O(tasks).
//!
//! This module knows nothing of what a task computes: a layer is a name, a grid
//! and its input edges. What runs is the executor's caller's business.

mod cull;
mod placement;

use crate::error::{Error, Result};
use crate::meta::MAX_DIMS;
use std::sync::Arc;

pub use placement::{Frame, Placement};

/// A layer's number in its graph (layers are in topological order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LayerId(pub u32);

/// A task: layer and the linear (C-order) number of its chunk, packed in a `u64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskId(pub u64);

const CHUNK_BITS: u32 = 44;

impl TaskId {
    pub fn new(layer: LayerId, chunk: usize) -> TaskId {
        TaskId(((layer.0 as u64) << CHUNK_BITS) | chunk as u64)
    }
    pub fn layer(self) -> LayerId {
        LayerId((self.0 >> CHUNK_BITS) as u32)
    }
    pub fn chunk(self) -> usize {
        (self.0 & ((1 << CHUNK_BITS) - 1)) as usize
    }
}

/// How one dimension of a producer's grid is indexed by a consumer task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DimMap {
    /// Producer index = consumer index along consumer dim `out`.
    Same { out: usize },
    /// Always producer index `index` (broadcast, or a dim the consumer lacks).
    Fixed { index: usize },
    /// Producer indices `[f*i, min(n, f*(i+1)))` for consumer index `i` along `out`
    /// (reduction trees).
    Block { out: usize, factor: usize, n: usize },
    /// Producer indices `ranges[i]` (half-open, possibly empty) for consumer index
    /// `i` along `out` (slices, rechunks, concatenation).
    Table {
        out: usize,
        ranges: Arc<[(usize, usize)]>,
    },
    /// Every producer index `[0, n)` (contractions, whole-axis reductions).
    All { n: usize },
}

impl DimMap {
    /// The consumer dim this producer dim follows, if any.
    pub fn out(&self) -> Option<usize> {
        match self {
            DimMap::Same { out } | DimMap::Block { out, .. } | DimMap::Table { out, .. } => {
                Some(*out)
            }
            _ => None,
        }
    }
    /// Producer index range for consumer index `i` (along `out()`).
    #[inline]
    pub fn range(&self, i: usize) -> (usize, usize) {
        match self {
            DimMap::Same { .. } => (i, i + 1),
            DimMap::Fixed { index } => (*index, index + 1),
            DimMap::Block { factor, n, .. } => ((factor * i).min(*n), (factor * (i + 1)).min(*n)),
            DimMap::Table { ranges, .. } => ranges[i],
            DimMap::All { n } => (0, *n),
        }
    }
}

/// An input of a layer: which producer, and how each of its dims is indexed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    pub layer: LayerId,
    pub dims: Vec<DimMap>,
}

/// One operation over a grid of chunks.
#[derive(Debug, Clone)]
pub struct Layer {
    /// Short name for people (`explain`, progress).
    pub name: String,
    /// Chunks per dimension.
    pub numblocks: Vec<usize>,
    pub inputs: Vec<Edge>,
    /// Bytes of the largest output chunk (for memory projection).
    pub chunk_bytes: u64,
    /// Bytes of all output chunks.
    pub total_bytes: u64,
    /// Its chunks are where they are (persisted ones): placed by its own
    /// frame, never moved to a consumer's (see [`Placement`]).
    pub pinned: bool,
}

impl Layer {
    pub fn num_tasks(&self) -> usize {
        self.numblocks.iter().product()
    }
}

/// Inverse of a [`DimMap`] along one producer dim: producer index -> consumer range.
#[derive(Debug, Clone)]
enum Inverse {
    /// Consumer range along `out` given as a table per producer index.
    Table {
        out: usize,
        ranges: Vec<(usize, usize)>,
    },
    /// The producer dim is not followed by any consumer dim: the producer index must be
    /// in `[lo, hi)` for any consumer to use it.
    Gate { lo: usize, hi: usize },
}

/// The reverse of an edge, for finding a chunk's consumers.
#[derive(Debug, Clone)]
struct ReverseEdge {
    consumer: LayerId,
    /// Per producer dim.
    dims: Vec<Inverse>,
}

/// A symbolic task graph.
#[derive(Debug, Clone)]
pub struct Graph {
    layers: Vec<Layer>,
    outputs: Vec<LayerId>,
    reverse: Vec<Vec<ReverseEdge>>,
    /// Per layer: `None` when every task is needed, else which are (see [`cull`](Graph::cull)).
    needed: Vec<Option<Vec<bool>>>,
    /// Per layer: where its chunks are placed ([`placement`]).
    frames: Vec<Frame>,
}

impl Graph {
    /// Check and index a graph. Layers must be in topological order (edges point
    /// to earlier layers).
    pub fn new(layers: Vec<Layer>, outputs: Vec<LayerId>) -> Result<Graph> {
        let mut reverse: Vec<Vec<ReverseEdge>> = vec![Vec::new(); layers.len()];
        for (li, l) in layers.iter().enumerate() {
            if l.numblocks.len() >= 64 || l.num_tasks() as u64 >= (1u64 << CHUNK_BITS) {
                return Err(Error::plan(format!(
                    "layer {} has too many chunks ({})",
                    l.name,
                    l.num_tasks()
                )));
            }
            for e in &l.inputs {
                let p = e.layer.0 as usize;
                if p >= li {
                    return Err(Error::internal(format!(
                        "layer {li} ({}) reads a later layer {p}",
                        l.name
                    )));
                }
                let pnb = &layers[p].numblocks;
                if e.dims.len() != pnb.len() {
                    return Err(Error::internal(format!(
                        "edge {p} -> {li} ({}) maps {} dims of a {}-d producer",
                        l.name,
                        e.dims.len(),
                        pnb.len()
                    )));
                }
                let mut inv = Vec::with_capacity(pnb.len());
                for (k, m) in e.dims.iter().enumerate() {
                    if let Some(out) = m.out() {
                        if out >= l.numblocks.len() {
                            return Err(Error::internal(format!(
                                "edge {p} -> {li}: consumer dim {out} out of range"
                            )));
                        }
                        // Producer index j is used by consumer indices whose range contains j.
                        // Ranges are monotone, so the users of j are contiguous.
                        let mut ranges = vec![(usize::MAX, 0usize); pnb[k]];
                        for i in 0..l.numblocks[out] {
                            let (lo, hi) = m.range(i);
                            if hi > pnb[k] {
                                return Err(Error::internal(format!(
                                    "edge {p} -> {li}: dim {k} range {lo}..{hi} beyond {} blocks",
                                    pnb[k]
                                )));
                            }
                            for r in &mut ranges[lo..hi] {
                                r.0 = r.0.min(i);
                                r.1 = r.1.max(i + 1);
                            }
                        }
                        for r in &mut ranges {
                            if r.0 == usize::MAX {
                                *r = (0, 0);
                            }
                        }
                        inv.push(Inverse::Table { out, ranges });
                    } else {
                        let (lo, hi) = m.range(0);
                        inv.push(Inverse::Gate {
                            lo,
                            hi: hi.min(pnb[k]),
                        });
                    }
                }
                reverse[p].push(ReverseEdge {
                    consumer: LayerId(li as u32),
                    dims: inv,
                });
            }
        }
        let needed = vec![None; layers.len()];
        let frames = placement::frames(&layers);
        let mut g = Graph {
            layers,
            outputs,
            reverse,
            needed,
            frames,
        };
        g.cull();
        Ok(g)
    }

    pub fn layers(&self) -> &[Layer] {
        &self.layers
    }
    pub fn layer(&self, id: LayerId) -> &Layer {
        &self.layers[id.0 as usize]
    }
    /// Where `id`'s chunks are placed (see [`Placement`]).
    pub fn frame(&self, id: LayerId) -> Frame {
        self.frames[id.0 as usize]
    }
    pub fn outputs(&self) -> &[LayerId] {
        &self.outputs
    }
    pub fn is_output(&self, id: LayerId) -> bool {
        self.outputs.contains(&id)
    }
    /// Total tasks in the graph (before culling).
    pub fn num_tasks(&self) -> usize {
        self.layers.iter().map(|l| l.num_tasks()).sum()
    }
    /// Tasks that will run (after culling).
    pub fn num_needed_tasks(&self) -> usize {
        self.layers
            .iter()
            .zip(&self.needed)
            .map(|(l, n)| {
                n.as_ref()
                    .map(|v| v.iter().filter(|&&b| b).count())
                    .unwrap_or(l.num_tasks())
            })
            .sum()
    }
    /// How many tasks of `layer` need to run.
    pub fn num_needed(&self, layer: LayerId) -> usize {
        match &self.needed[layer.0 as usize] {
            Some(v) => v.iter().filter(|&&b| b).count(),
            None => self.layer(layer).num_tasks(),
        }
    }

    /// Does task `chunk` of `layer` need to run?
    #[inline]
    pub fn is_needed(&self, layer: LayerId, chunk: usize) -> bool {
        self.needed[layer.0 as usize]
            .as_ref()
            .map(|v| v[chunk])
            .unwrap_or(true)
    }

    /// Call `f(edge, producer_chunk)` for every input chunk of task `chunk` of `layer`,
    /// edge by edge, each in C order over the producer's dims.
    pub fn for_each_input(&self, layer: LayerId, chunk: usize, mut f: impl FnMut(usize, usize)) {
        let l = self.layer(layer);
        let mut idx = [0usize; MAX_DIMS];
        unravel_into(chunk, &l.numblocks, &mut idx);
        let mut ranges = [(0usize, 0usize); MAX_DIMS];
        for (ei, e) in l.inputs.iter().enumerate() {
            let pnb = &self.layer(e.layer).numblocks;
            for (r, m) in ranges.iter_mut().zip(&e.dims) {
                *r = m.range(m.out().map(|o| idx[o]).unwrap_or(0));
            }
            for_each_in_box(&ranges[..e.dims.len()], pnb, |lin| f(ei, lin));
        }
    }

    /// How many input chunks task `chunk` of `layer` reads.
    pub fn num_inputs(&self, layer: LayerId, chunk: usize) -> usize {
        let l = self.layer(layer);
        let mut idx = [0usize; MAX_DIMS];
        unravel_into(chunk, &l.numblocks, &mut idx);
        l.inputs
            .iter()
            .map(|e| {
                e.dims
                    .iter()
                    .map(|m| {
                        let (lo, hi) = m.range(m.out().map(|o| idx[o]).unwrap_or(0));
                        hi - lo
                    })
                    .product::<usize>()
            })
            .sum()
    }

    /// Call `f(consumer_layer, consumer_chunk)` for every needed task that reads chunk
    /// `chunk` of `layer` (once per edge that reads it).
    pub fn for_each_consumer(
        &self,
        layer: LayerId,
        chunk: usize,
        mut f: impl FnMut(LayerId, usize),
    ) {
        let pnb = &self.layer(layer).numblocks;
        let mut idx = [0usize; MAX_DIMS];
        unravel_into(chunk, pnb, &mut idx);
        let mut buf = [(0usize, 0usize); MAX_DIMS];
        for r in &self.reverse[layer.0 as usize] {
            let cnb = &self.layer(r.consumer).numblocks;
            let ranges = &mut buf[..cnb.len()];
            for (rg, &n) in ranges.iter_mut().zip(cnb) {
                *rg = (0, n);
            }
            let mut empty = false;
            for (k, inv) in r.dims.iter().enumerate() {
                match inv {
                    Inverse::Table { out, ranges: t } => {
                        let (lo, hi) = t[idx[k]];
                        let cur = ranges[*out];
                        ranges[*out] = (cur.0.max(lo), cur.1.min(hi));
                    }
                    Inverse::Gate { lo, hi } => empty |= idx[k] < *lo || idx[k] >= *hi,
                }
            }
            if empty || ranges.iter().any(|&(lo, hi)| lo >= hi) {
                continue;
            }
            let consumer = r.consumer;
            for_each_in_box(ranges, cnb, |lin| {
                if self.is_needed(consumer, lin) {
                    f(consumer, lin)
                }
            });
        }
    }

    /// How many needed tasks read chunk `chunk` of `layer`.
    pub fn num_consumers(&self, layer: LayerId, chunk: usize) -> usize {
        let mut n = 0;
        self.for_each_consumer(layer, chunk, |_, _| n += 1);
        n
    }
}

/// Call `f(linear)` for every index in the box `ranges` of a grid `dims`, C order.
pub fn for_each_in_box(ranges: &[(usize, usize)], dims: &[usize], mut f: impl FnMut(usize)) {
    if ranges.iter().any(|&(lo, hi)| lo >= hi) {
        return;
    }
    let nd = ranges.len();
    // The common case, one index: no odometer.
    if ranges.iter().all(|&(lo, hi)| hi == lo + 1) {
        f(ranges
            .iter()
            .zip(dims)
            .fold(0, |acc, (r, &n)| acc * n + r.0));
        return;
    }
    let mut idx = [0usize; MAX_DIMS];
    for (i, r) in idx.iter_mut().zip(ranges) {
        *i = r.0;
    }
    loop {
        f(crate::meta::linear_index(&idx[..nd], dims));
        let mut d = nd;
        loop {
            if d == 0 {
                return;
            }
            d -= 1;
            idx[d] += 1;
            if idx[d] < ranges[d].1 {
                break;
            }
            idx[d] = ranges[d].0;
        }
    }
}

/// `unravel_index` into a buffer (no allocation: this runs for every task).
fn unravel_into(mut n: usize, dims: &[usize], out: &mut [usize]) {
    for d in (0..dims.len()).rev() {
        let m = dims[d].max(1);
        out[d] = n % m;
        n /= m;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(name: &str, numblocks: Vec<usize>, inputs: Vec<Edge>) -> Layer {
        Layer {
            name: name.into(),
            numblocks,
            inputs,
            chunk_bytes: 8,
            total_bytes: 8,
            pinned: false,
        }
    }

    #[test]
    fn reduction_tree_inputs_and_consumers_agree() {
        // 10 chunks reduced by a tree of fan-in 4: 10 -> 3 -> 1.
        let l0 = layer("partial", vec![10], vec![]);
        let l1 = layer(
            "combine",
            vec![3],
            vec![Edge {
                layer: LayerId(0),
                dims: vec![DimMap::Block {
                    out: 0,
                    factor: 4,
                    n: 10,
                }],
            }],
        );
        let l2 = layer(
            "final",
            vec![1],
            vec![Edge {
                layer: LayerId(1),
                dims: vec![DimMap::Block {
                    out: 0,
                    factor: 4,
                    n: 3,
                }],
            }],
        );
        let g = Graph::new(vec![l0, l1, l2], vec![LayerId(2)]).unwrap();
        let mut ins = vec![];
        g.for_each_input(LayerId(1), 2, |_, c| ins.push(c));
        assert_eq!(ins, vec![8, 9]);
        let mut cons = vec![];
        g.for_each_consumer(LayerId(0), 5, |l, c| cons.push((l, c)));
        assert_eq!(cons, vec![(LayerId(1), 1)]);
        assert_eq!(g.num_inputs(LayerId(2), 0), 3);
        assert_eq!(g.num_tasks(), 14);
    }

    #[test]
    fn transpose_and_broadcast_consumers() {
        // c[i, j] = a[j, i] + b[0, j]
        let a = layer("a", vec![3, 2], vec![]);
        let b = layer("b", vec![1, 3], vec![]);
        let c = layer(
            "c",
            vec![2, 3],
            vec![
                Edge {
                    layer: LayerId(0),
                    dims: vec![DimMap::Same { out: 1 }, DimMap::Same { out: 0 }],
                },
                Edge {
                    layer: LayerId(1),
                    dims: vec![DimMap::Fixed { index: 0 }, DimMap::Same { out: 1 }],
                },
            ],
        );
        let g = Graph::new(vec![a, b, c], vec![LayerId(2)]).unwrap();
        let mut cons = vec![];
        g.for_each_consumer(LayerId(1), 2, |_, c| cons.push(c));
        assert_eq!(cons, vec![2, 5]); // c[0, 2] and c[1, 2]
        let mut cons = vec![];
        g.for_each_consumer(LayerId(0), 1, |_, c| cons.push(c)); // a[0, 1] -> c[1, 0]
        assert_eq!(cons, vec![3]);
    }

    #[test]
    fn task_ids_pack_layer_and_chunk() {
        let t = TaskId::new(LayerId(7), 123_456_789);
        assert_eq!(t.layer(), LayerId(7));
        assert_eq!(t.chunk(), 123_456_789);
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    /// A random edge from a producer grid into a consumer grid of the same rank.
    fn edge_dims(pnb: &[usize], cnb: &[usize], kinds: &[u8], seeds: &[usize]) -> Vec<DimMap> {
        pnb.iter()
            .enumerate()
            .map(|(k, &pn)| match kinds[k] % 4 {
                0 if pn == cnb[k] => DimMap::Same { out: k },
                1 => DimMap::Fixed {
                    index: seeds[k] % pn,
                },
                2 => DimMap::All { n: pn },
                _ => {
                    // Monotone ranges over the producer, one per consumer index.
                    let ranges: Vec<(usize, usize)> = (0..cnb[k])
                        .map(|i| {
                            let lo = (i * pn) / cnb[k];
                            let hi = (((i + 1) * pn) / cnb[k]).max(lo + 1).min(pn);
                            (lo, hi)
                        })
                        .collect();
                    DimMap::Table {
                        out: k,
                        ranges: ranges.into(),
                    }
                }
            })
            .collect()
    }

    proptest! {
        /// Every (producer chunk -> consumer task) pair found by `for_each_input` is
        /// found by `for_each_consumer`, and the other way round.
        #[test]
        fn inputs_and_consumers_are_inverse(
            pnb in proptest::collection::vec(1usize..5, 1..4),
            cscale in proptest::collection::vec(1usize..3, 3),
            kinds in proptest::collection::vec(0u8..4, 3),
            seeds in proptest::collection::vec(0usize..7, 3),
        ) {
            let nd = pnb.len();
            let cnb: Vec<usize> = (0..nd).map(|k| if kinds[k] % 4 == 0 { pnb[k] } else { pnb[k] * cscale[k] }).collect();
            let dims = edge_dims(&pnb, &cnb, &kinds, &seeds);
            let layers = vec![
                Layer { name: "p".into(), numblocks: pnb.clone(), inputs: vec![], chunk_bytes: 1, total_bytes: 1, pinned: false },
                Layer { name: "c".into(), numblocks: cnb.clone(), inputs: vec![Edge { layer: LayerId(0), dims }], chunk_bytes: 1, total_bytes: 1, pinned: false },
            ];
            let g = Graph::new(layers, vec![LayerId(1)]).unwrap();
            let mut forward = std::collections::BTreeSet::new();
            for c in 0..g.layer(LayerId(1)).num_tasks() {
                let mut n = 0;
                g.for_each_input(LayerId(1), c, |_, p| { forward.insert((p, c)); n += 1; });
                prop_assert_eq!(n, g.num_inputs(LayerId(1), c));
            }
            let mut backward = std::collections::BTreeSet::new();
            for p in 0..g.layer(LayerId(0)).num_tasks() {
                g.for_each_consumer(LayerId(0), p, |_, c| { backward.insert((p, c)); });
            }
            prop_assert_eq!(forward, backward);
        }
    }
}
