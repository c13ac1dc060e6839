//! Placement: which rank owns which task. Every rank derives it alone, without
//! asking anyone.
//!
//! Each layer's chunks are cut into contiguous shards, one per rank (block
//! distribution of linear chunk numbers): neighbouring chunks, which usually share
//! inputs and outputs, stay together, and a layer whose grid matches its input's is
//! owned where that input is. The in-process engine is the one-rank case.
//!
//! # Frames: a producer placed with its only consumer
//!
//! A layer is placed within a [`Frame`]: its chunk `c` is owned as chunk
//! `offset + c` of a layer of `len` chunks would be. A layer's own frame is
//! itself (`offset` 0, `len` its chunks), except when its only consumer
//! takes its chunks one to one:
//!
//! * the same grid, chunk `c` read by chunk `c` (an elementwise or partial
//!   layer over it): it takes the consumer's frame;
//! * a window of a concatenation along one axis (every dim before that axis
//!   one chunk wide): it takes the consumer's frame shifted to where its
//!   chunks land in the concatenation.
//!
//! Without this, a dataset joined from many files (`open_mfdataset`: one
//! one-chunk read layer per file, concatenated) would read every file on rank
//! 0, the owner of chunk 0 of every one-chunk layer, and send the chunks to
//! their consumers' owners. With it, each file is read by the rank owning the
//! concatenation's chunk, which then reduces it where it was read. Frames are a
//! function of the graph alone, so every rank derives the same ones.

use super::{DimMap, Graph, Layer, LayerId};
use std::ops::Range;

/// A deterministic map from tasks to ranks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    pub nranks: usize,
}

/// Where a layer's chunks sit for placement: chunk `c` is placed as chunk
/// `offset + c` of `len` chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame {
    pub offset: usize,
    pub len: usize,
}

impl Placement {
    pub fn new(nranks: usize) -> Placement {
        Placement {
            nranks: nranks.max(1),
        }
    }
    /// The rank owning chunk `chunk` of a layer with `ntasks` chunks.
    #[inline]
    pub fn owner_of(&self, chunk: usize, ntasks: usize) -> usize {
        if ntasks == 0 {
            0
        } else {
            ((chunk as u128 * self.nranks as u128) / ntasks as u128) as usize
        }
    }
    /// The rank owning task `chunk` of `layer`.
    #[inline]
    pub fn owner(&self, graph: &Graph, layer: LayerId, chunk: usize) -> usize {
        let f = graph.frame(layer);
        self.owner_of(f.offset + chunk, f.len)
    }
    /// The chunks of a layer with `ntasks` chunks owned by `rank` (a contiguous shard).
    pub fn shard(&self, rank: usize, ntasks: usize) -> Range<usize> {
        let lo = (rank * ntasks).div_ceil(self.nranks);
        let hi = ((rank + 1) * ntasks).div_ceil(self.nranks);
        lo..hi
    }
    /// The chunks of `layer` owned by `rank`: its frame's shard, shifted to
    /// the layer (contiguous, possibly empty).
    pub fn layer_shard(&self, graph: &Graph, layer: LayerId, rank: usize) -> Range<usize> {
        let f = graph.frame(layer);
        let n = graph.layer(layer).num_tasks();
        let s = self.shard(rank, f.len);
        let lo = s.start.saturating_sub(f.offset).min(n);
        let hi = s.end.saturating_sub(f.offset).min(n);
        lo..hi.max(lo)
    }
}

/// Every layer's frame (see the module docs). Layers are in topological
/// order, so consumers are visited (last first) before their inputs.
pub(crate) fn frames(layers: &[Layer]) -> Vec<Frame> {
    let mut frames: Vec<Frame> = layers
        .iter()
        .map(|l| Frame {
            offset: 0,
            len: l.num_tasks(),
        })
        .collect();
    let mut consumers = vec![0u32; layers.len()];
    for l in layers {
        for e in &l.inputs {
            consumers[e.layer.0 as usize] += 1;
        }
    }
    for (ci, c) in layers.iter().enumerate().rev() {
        for e in &c.inputs {
            let p = e.layer.0 as usize;
            if consumers[p] != 1 || layers[p].pinned {
                continue;
            }
            if let Some(off) = one_to_one_offset(&layers[p], c, &e.dims) {
                let f = frames[ci];
                frames[p] = Frame {
                    offset: f.offset + off,
                    len: f.len,
                };
            }
        }
    }
    frames
}

/// If `consumer` reads `producer`'s chunks one to one, at consumer chunks
/// `off..off + producer chunks` (linear), that `off`.
fn one_to_one_offset(producer: &Layer, consumer: &Layer, dims: &[DimMap]) -> Option<usize> {
    let (pnb, cnb) = (&producer.numblocks, &consumer.numblocks);
    if pnb.len() != cnb.len() || dims.len() != pnb.len() {
        return None;
    }
    let mut window = None;
    for (k, m) in dims.iter().enumerate() {
        match m {
            DimMap::Same { out } if *out == k && pnb[k] == cnb[k] => {}
            DimMap::Table { out, ranges } if *out == k && window.is_none() => {
                // Consumer chunk i reads producer chunk i - s for i in s..s + pnb[k].
                let s = ranges.iter().position(|r| r.1 > r.0)?;
                let ok = ranges.len() == cnb[k]
                    && s + pnb[k] <= cnb[k]
                    && ranges.iter().enumerate().all(|(i, &(lo, hi))| {
                        if (s..s + pnb[k]).contains(&i) {
                            (lo, hi) == (i - s, i - s + 1)
                        } else {
                            lo == hi
                        }
                    });
                if !ok {
                    return None;
                }
                window = Some((k, s));
            }
            _ => return None,
        }
    }
    match window {
        None => Some(0),
        // Linear offsets are contiguous only if every dim before the window's
        // is one chunk wide.
        Some((k, s)) if cnb[..k].iter().all(|&n| n == 1) => {
            Some(s * cnb[k + 1..].iter().product::<usize>())
        }
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::Edge;

    #[test]
    fn shards_tile_the_layer_and_agree_with_owner() {
        for nranks in 1..6 {
            let p = Placement::new(nranks);
            for ntasks in [0, 1, 7, 100] {
                let mut covered = 0;
                for r in 0..nranks {
                    for c in p.shard(r, ntasks) {
                        assert_eq!(p.owner_of(c, ntasks), r, "n={nranks} t={ntasks} c={c}");
                        covered += 1;
                    }
                }
                assert_eq!(covered, ntasks);
            }
        }
    }

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

    /// A concatenation's edge from its input `k` of `sizes` (in chunks along
    /// axis 0; the other axis one chunk).
    fn window(l: u32, sizes: &[usize], k: usize) -> Edge {
        let start: usize = sizes[..k].iter().sum();
        let total: usize = sizes.iter().sum();
        let ranges: Vec<(usize, usize)> = (0..total)
            .map(|i| {
                if (start..start + sizes[k]).contains(&i) {
                    (i - start, i - start + 1)
                } else {
                    (0, 0)
                }
            })
            .collect();
        Edge {
            layer: LayerId(l),
            dims: vec![
                DimMap::Table {
                    out: 0,
                    ranges: ranges.into(),
                },
                DimMap::Same { out: 1 },
            ],
        }
    }

    #[test]
    fn files_joined_by_a_concatenation_are_read_where_it_is_reduced() {
        // Layers 0..3: reads of 1, 2 and 1 chunks; 4: their concatenation (4
        // chunks); 5: a partial over it (same grid); 6: the combine (1 chunk);
        // 7: a read used twice (by 8 and 9), which keeps its own frame.
        let sizes = [1, 2, 1];
        let same = |l: u32| Edge {
            layer: LayerId(l),
            dims: vec![DimMap::Same { out: 0 }, DimMap::Same { out: 1 }],
        };
        let all = |l: u32| Edge {
            layer: LayerId(l),
            dims: vec![DimMap::All { n: 4 }, DimMap::Same { out: 1 }],
        };
        let layers = vec![
            layer("read", vec![1, 1], vec![]),
            layer("read", vec![2, 1], vec![]),
            layer("read", vec![1, 1], vec![]),
            layer(
                "concat",
                vec![4, 1],
                (0..3).map(|k| window(k as u32, &sizes, k)).collect(),
            ),
            layer("partial", vec![4, 1], vec![same(3)]),
            layer("combine", vec![1, 1], vec![all(4)]),
            layer("read", vec![4, 1], vec![]),
            layer("a", vec![4, 1], vec![same(6)]),
            layer("b", vec![4, 1], vec![same(6)]),
        ];
        let pinned = {
            let mut l = layers.clone();
            l[1].pinned = true;
            Graph::new(l, vec![LayerId(5), LayerId(7), LayerId(8)]).unwrap()
        };
        // A pinned layer (persisted chunks) stays where its chunks are.
        assert_eq!(pinned.frame(LayerId(1)), Frame { offset: 0, len: 2 });
        assert_eq!(pinned.frame(LayerId(2)), Frame { offset: 3, len: 4 });
        let g = Graph::new(layers, vec![LayerId(5), LayerId(7), LayerId(8)]).unwrap();
        let f = |l: u32| g.frame(LayerId(l));
        assert_eq!(f(0), Frame { offset: 0, len: 4 });
        assert_eq!(f(1), Frame { offset: 1, len: 4 });
        assert_eq!(f(2), Frame { offset: 3, len: 4 });
        assert_eq!(f(3), Frame { offset: 0, len: 4 });
        assert_eq!(f(5), Frame { offset: 0, len: 1 });
        assert_eq!(f(6), Frame { offset: 0, len: 4 }, "two consumers: its own");
        for nranks in 1..6 {
            let p = Placement::new(nranks);
            // Every read chunk is owned by the owner of the chunk of the
            // concatenation (and of the partial) it becomes.
            let mut at = 0;
            for (l, &n) in sizes.iter().enumerate() {
                for c in 0..n {
                    let o = p.owner(&g, LayerId(l as u32), c);
                    assert_eq!(o, p.owner(&g, LayerId(3), at), "n={nranks} read {l}.{c}");
                    assert_eq!(o, p.owner(&g, LayerId(4), at), "n={nranks} read {l}.{c}");
                    at += 1;
                }
            }
            // Shards tile every layer and agree with `owner`.
            for (li, l) in g.layers().iter().enumerate() {
                let id = LayerId(li as u32);
                let mut covered = 0;
                for r in 0..nranks {
                    for c in p.layer_shard(&g, id, r) {
                        assert_eq!(p.owner(&g, id, c), r, "n={nranks} layer {li} chunk {c}");
                        covered += 1;
                    }
                }
                assert_eq!(covered, l.num_tasks(), "n={nranks} layer {li}");
            }
        }
    }
}
