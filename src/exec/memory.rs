//! Projected peak memory of a plan on one rank.
//!
//! The projection is an upper-bound style estimate, computed from the graph's
//! per-layer chunk sizes, never by visiting tasks:
//!
//! * the results: every output chunk is kept until the computation ends;
//! * the working set: a wave of tasks in flight, each holding its inputs and its
//!   output, at the largest per-task footprint of any layer;
//! * resident layers: a producer may have to stay whole until its consumers ran
//!   when a consumer task reads many of its chunks at once (matmul's contraction,
//!   a rechunk that merges), when it reads them in permuted order (`x + x.T`), or
//!   when several layers read it (`x - x.mean(axis=0)`: the second reader waits
//!   for a reduction over all of `x`).

use crate::graph::{DimMap, Graph};

/// The parts of a projection.
#[derive(Debug, Clone, Default)]
pub struct MemoryProjection {
    pub peak: u64,
    pub results: u64,
    /// Largest bytes one task holds (inputs + output).
    pub per_task: u64,
    pub wave: usize,
    pub wide: u64,
}

impl MemoryProjection {
    /// A one-line account of the parts.
    pub fn explain(&self) -> String {
        format!(
            "results {} + {} tasks in flight x {} each + resident layers {}",
            super::human_bytes(self.results),
            self.wave,
            super::human_bytes(self.per_task),
            super::human_bytes(self.wide)
        )
    }
    /// The wave size that keeps the working set within a quarter of `limit`.
    pub fn wave_size(&self, threads: usize, limit: u64) -> usize {
        let budget = (limit.saturating_sub(self.results + self.wide) / 4).max(1);
        let by_memory = (budget / self.per_task.max(1)) as usize;
        by_memory.clamp(threads, 256.max(threads))
    }
}

/// Project the peak bytes of running `graph` with `threads` workers.
pub fn projected_peak(graph: &Graph, threads: usize) -> MemoryProjection {
    let mut p = MemoryProjection::default();
    for o in graph.outputs() {
        p.results += graph.layer(*o).total_bytes;
    }
    let mut readers: Vec<std::collections::BTreeSet<usize>> =
        vec![Default::default(); graph.layers().len()];
    let mut resident = vec![false; graph.layers().len()];
    for (li, l) in graph.layers().iter().enumerate() {
        for e in &l.inputs {
            let p = e.layer.0 as usize;
            readers[p].insert(li);
            let permuted = e
                .dims
                .iter()
                .enumerate()
                .any(|(k, m)| matches!(m, DimMap::Same { out } if *out != k));
            if permuted && graph.layer(e.layer).num_tasks() > threads {
                resident[p] = true;
            }
        }
    }
    for (p, r) in readers.iter().enumerate() {
        if r.len() > 1 && graph.layer(crate::graph::LayerId(p as u32)).num_tasks() > threads {
            resident[p] = true;
        }
    }
    for l in graph.layers() {
        let mut inputs = 0u64;
        for e in &l.inputs {
            let producer = graph.layer(e.layer);
            let fan_in: u64 = e
                .dims
                .iter()
                .map(|m| match m {
                    DimMap::Same { .. } | DimMap::Fixed { .. } => 1,
                    DimMap::Block { factor, .. } => *factor as u64,
                    DimMap::Table { ranges, .. } => {
                        ranges.iter().map(|r| (r.1 - r.0) as u64).max().unwrap_or(0)
                    }
                    DimMap::All { n } => *n as u64,
                })
                .product();
            inputs += fan_in * producer.chunk_bytes;
            // A producer read whole by each consumer task (fan-in over a large part of
            // it) stays resident.
            if fan_in > 1
                && fan_in * 4 >= producer.num_tasks() as u64
                && producer.num_tasks() > threads
            {
                p.wide += producer.total_bytes;
            }
        }
        p.per_task = p.per_task.max(l.chunk_bytes + inputs);
    }
    for (i, l) in graph.layers().iter().enumerate() {
        if resident[i] && !graph.is_output(crate::graph::LayerId(i as u32)) {
            p.wide += l.total_bytes;
        }
    }
    // Waves are at least one task per thread; the executor sizes them from the limit,
    // but never below this.
    p.wave = threads;
    p.peak = p.results + p.wide + p.per_task * threads as u64;
    p
}
