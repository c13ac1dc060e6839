//! Placement: which rank owns which task. Every rank derives it alone, without
//! asking anyone.
//!
//! Each layer's chunks are cut into contiguous shards, one per rank (block
//! distribution of linear chunk numbers): neighbouring chunks, which usually share
//! inputs and outputs, stay together, and a layer whose grid matches its input's is
//! owned where that input is. The in-process engine is the one-rank case.

use super::{Graph, LayerId};

/// A deterministic map from tasks to ranks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    pub nranks: usize,
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
    pub fn owner(&self, graph: &Graph, layer: LayerId, chunk: usize) -> usize {
        self.owner_of(chunk, graph.layer(layer).num_tasks())
    }
    /// The chunks of a layer with `ntasks` chunks owned by `rank` (a contiguous shard).
    pub fn shard(&self, rank: usize, ntasks: usize) -> std::ops::Range<usize> {
        let lo = (rank * ntasks).div_ceil(self.nranks);
        let hi = ((rank + 1) * ntasks).div_ceil(self.nranks);
        lo..hi
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
