//! The `Cull` rule on the task graph: tasks no output depends on are never run.
//!
//! A layer whose consumers read all of it is fully needed, decided without
//! visiting its tasks. Only behind a narrowing edge (a slice of a reduction, say)
//! are tasks visited, one flag per task of the affected layers.

use super::{DimMap, Graph};

impl Graph {
    pub(super) fn cull(&mut self) {
        let n = self.layers.len();
        let mut needed: Vec<Option<Option<Vec<bool>>>> = vec![None; n]; // None = not reached yet
        for o in &self.outputs {
            needed[o.0 as usize] = Some(None);
        }
        for li in (0..n).rev() {
            let Some(mine) = needed[li].clone() else {
                continue;
            };
            let nb = self.layers[li].numblocks.clone();
            for e in &self.layers[li].inputs {
                let p = e.layer.0 as usize;
                if matches!(needed[p], Some(None)) {
                    continue; // already fully needed
                }
                let pnb = &self.layers[p].numblocks;
                let covers = mine.is_none()
                    && e.dims
                        .iter()
                        .enumerate()
                        .all(|(k, m)| covers_dim(m, pnb[k], m.out().map(|o| nb[o])));
                if covers {
                    needed[p] = Some(None);
                    continue;
                }
                let mut flags = match needed[p].take() {
                    Some(Some(f)) => f,
                    _ => vec![false; pnb.iter().product()],
                };
                let total: usize = nb.iter().product();
                for c in 0..total {
                    if mine.as_ref().map(|m| m[c]).unwrap_or(true) {
                        let idx = crate::meta::unravel_index(c, &nb);
                        let ranges: Vec<(usize, usize)> = e
                            .dims
                            .iter()
                            .map(|m| m.range(m.out().map(|o| idx[o]).unwrap_or(0)))
                            .collect();
                        super::for_each_in_box(&ranges, pnb, |lin| flags[lin] = true);
                    }
                }
                needed[p] = Some(if flags.iter().all(|&b| b) {
                    None
                } else {
                    Some(flags)
                });
            }
        }
        self.needed = needed
            .into_iter()
            .zip(&self.layers)
            .map(|(n, l)| match n {
                Some(x) => x,
                None => Some(vec![false; l.num_tasks()]),
            })
            .collect();
    }
}

/// Does this map, over all consumer indices, read every producer index?
fn covers_dim(m: &DimMap, pn: usize, cn: Option<usize>) -> bool {
    match m {
        DimMap::Same { .. } => cn == Some(pn),
        DimMap::Fixed { index } => pn == 1 && *index == 0,
        DimMap::Block { factor, n, .. } => {
            *n == pn && cn.map(|c| c * factor >= pn).unwrap_or(false)
        }
        DimMap::Table { ranges, .. } => {
            let mut hit = vec![false; pn];
            for &(lo, hi) in ranges.iter() {
                hit[lo.min(pn)..hi.min(pn)]
                    .iter_mut()
                    .for_each(|h| *h = true);
            }
            hit.into_iter().all(|h| h)
        }
        DimMap::All { n } => *n == pn,
    }
}

#[cfg(test)]
mod tests {
    use super::super::*;

    #[test]
    fn a_slice_of_a_reduction_culls_the_rest() {
        // 8 chunks -> elementwise (8) -> take chunks 2..4 only.
        let l0 = Layer {
            name: "src".into(),
            numblocks: vec![8],
            inputs: vec![],
            chunk_bytes: 8,
            total_bytes: 64,
            pinned: false,
        };
        let l1 = Layer {
            name: "add".into(),
            numblocks: vec![8],
            inputs: vec![Edge {
                layer: LayerId(0),
                dims: vec![DimMap::Same { out: 0 }],
            }],
            chunk_bytes: 8,
            total_bytes: 64,
            pinned: false,
        };
        let l2 = Layer {
            name: "getitem".into(),
            numblocks: vec![2],
            inputs: vec![Edge {
                layer: LayerId(1),
                dims: vec![DimMap::Table {
                    out: 0,
                    ranges: vec![(2, 3), (3, 4)].into(),
                }],
            }],
            chunk_bytes: 8,
            total_bytes: 16,
            pinned: false,
        };
        let g = Graph::new(vec![l0, l1, l2], vec![LayerId(2)]).unwrap();
        assert_eq!(g.num_tasks(), 18);
        assert_eq!(g.num_needed_tasks(), 6);
        assert!(g.is_needed(LayerId(0), 3) && !g.is_needed(LayerId(0), 4));
        assert_eq!(g.num_consumers(LayerId(1), 2), 1);
        assert_eq!(g.num_consumers(LayerId(1), 5), 0);
    }
}
