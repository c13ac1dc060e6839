//! Progress by shard: what rank 0 knows of a running computation, and the bar it
//! draws from it.
//!
//! Rank 0 holds the [`ShardDirectory`]: for every layer, the owner of each shard
//! (derived from the placement, not stored per task) and per-shard counters of
//! tasks done, fed by batched [`Tag::Progress`](crate::comm::Tag::Progress)
//! messages ([`ProgressBatch`]) that every rank sends at most every
//! [`FLUSH_EVERY`], plus the bytes each rank has sent. Its size is
//! O(layers x ranks), whatever the number of tasks.

use crate::error::{Error, Result};
use crate::graph::{Graph, LayerId, Placement};
use std::io::Write;
use std::time::{Duration, Instant};

/// How often a rank reports its progress (and rank 0 redraws the bar).
pub const FLUSH_EVERY: Duration = Duration::from_millis(100);

/// The shards of one layer and their counters.
#[derive(Debug, Clone)]
pub struct LayerShards {
    pub name: String,
    /// Needed tasks of the layer (its shards together).
    pub total: u64,
    /// Per rank (shard): tasks done.
    pub done: Vec<u64>,
    /// Per rank: the tasks of its shard (needed or not).
    pub shard: Vec<u64>,
}

/// Rank 0's view of a running computation. Memory: O(layers x ranks).
#[derive(Debug, Clone)]
pub struct ShardDirectory {
    pub placement: Placement,
    pub layers: Vec<LayerShards>,
    /// Per rank: bytes of values it has sent to other ranks.
    pub bytes_sent: Vec<u64>,
    pub started: Instant,
}

impl ShardDirectory {
    pub fn new(graph: &Graph, nranks: usize) -> ShardDirectory {
        let placement = Placement::new(nranks);
        let layers = graph
            .layers()
            .iter()
            .enumerate()
            .map(|(li, l)| {
                let total = graph.num_needed(LayerId(li as u32)) as u64;
                let id = LayerId(li as u32);
                LayerShards {
                    name: l.name.clone(),
                    total,
                    done: vec![0; nranks],
                    shard: (0..nranks)
                        .map(|r| placement.layer_shard(graph, id, r).len() as u64)
                        .collect(),
                }
            })
            .collect();
        ShardDirectory {
            placement,
            layers,
            bytes_sent: vec![0; nranks],
            started: Instant::now(),
        }
    }

    /// Count a batch from `rank`.
    pub fn apply(&mut self, rank: usize, b: &ProgressBatch) -> Result<()> {
        let bad = || {
            Error::Comm(format!(
                "a progress report from rank {rank} does not fit the plan"
            ))
        };
        for &(layer, n) in &b.done {
            let l = self.layers.get_mut(layer as usize).ok_or_else(bad)?;
            *l.done.get_mut(rank).ok_or_else(bad)? += n;
        }
        *self.bytes_sent.get_mut(rank).ok_or_else(bad)? += b.bytes_sent;
        Ok(())
    }

    pub fn tasks_done(&self) -> u64 {
        self.layers.iter().map(|l| l.done.iter().sum::<u64>()).sum()
    }

    pub fn tasks_total(&self) -> u64 {
        self.layers.iter().map(|l| l.total).sum()
    }

    /// One line: a bar, tasks done/total, bytes moved, elapsed.
    pub fn bar(&self, width: usize) -> String {
        let (done, total) = (self.tasks_done(), self.tasks_total().max(1));
        let filled = ((done as f64 / total as f64) * width as f64).round() as usize;
        let filled = filled.min(width);
        format!(
            "[{}{}] {done}/{total} tasks  {} moved  {:.1} s",
            "#".repeat(filled),
            " ".repeat(width - filled),
            super::human_bytes(self.bytes_sent.iter().sum()),
            self.started.elapsed().as_secs_f64()
        )
    }
}

/// What one rank reports: tasks done per layer since its last report, and bytes
/// sent since then.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProgressBatch {
    pub done: Vec<(u32, u64)>,
    pub bytes_sent: u64,
}

impl ProgressBatch {
    pub fn is_empty(&self) -> bool {
        self.done.is_empty() && self.bytes_sent == 0
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(16 + 12 * self.done.len());
        b.extend_from_slice(&self.bytes_sent.to_le_bytes());
        for &(l, n) in &self.done {
            b.extend_from_slice(&l.to_le_bytes());
            b.extend_from_slice(&n.to_le_bytes());
        }
        b
    }

    pub fn from_bytes(b: &[u8], rank: usize) -> Result<ProgressBatch> {
        let bad = || Error::Comm(format!("malformed progress report from rank {rank}"));
        let (head, mut rest) = b.split_first_chunk::<8>().ok_or_else(bad)?;
        let mut p = ProgressBatch {
            done: Vec::new(),
            bytes_sent: u64::from_le_bytes(*head),
        };
        while !rest.is_empty() {
            let (l, r) = rest.split_first_chunk::<4>().ok_or_else(bad)?;
            let (n, r) = r.split_first_chunk::<8>().ok_or_else(bad)?;
            p.done
                .push((u32::from_le_bytes(*l), u64::from_le_bytes(*n)));
            rest = r;
        }
        Ok(p)
    }
}

/// A rank's progress since its last report.
#[derive(Debug)]
pub(super) struct Tracker {
    done: Vec<u64>,
    bytes_sent: u64,
    last: Instant,
}

impl Tracker {
    pub(super) fn new(nlayers: usize) -> Tracker {
        Tracker {
            done: vec![0; nlayers],
            bytes_sent: 0,
            last: Instant::now(),
        }
    }
    pub(super) fn task_done(&mut self, layer: LayerId) {
        self.done[layer.0 as usize] += 1;
    }
    pub(super) fn sent(&mut self, bytes: u64) {
        self.bytes_sent += bytes;
    }
    /// Is a report due?
    pub(super) fn due(&self) -> bool {
        self.last.elapsed() >= FLUSH_EVERY
    }
    /// The report, and start counting anew.
    pub(super) fn take(&mut self) -> ProgressBatch {
        self.last = Instant::now();
        let done = self
            .done
            .iter_mut()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(l, n)| (l as u32, std::mem::take(n)))
            .collect();
        ProgressBatch {
            done,
            bytes_sent: std::mem::take(&mut self.bytes_sent),
        }
    }
}

/// Draws the bar on standard error (rank 0, when asked to).
#[derive(Debug)]
pub(super) struct Bar {
    last: Option<Instant>,
}

impl Bar {
    pub(super) fn new() -> Bar {
        Bar { last: None }
    }
    /// Redraw at most every [`FLUSH_EVERY`], after the computation has run for a
    /// moment (short computations print nothing until the end).
    pub(super) fn draw(&mut self, dir: &ShardDirectory) {
        if dir.started.elapsed() < Duration::from_millis(300)
            || self.last.is_some_and(|t| t.elapsed() < FLUSH_EVERY)
        {
            return;
        }
        self.last = Some(Instant::now());
        let mut e = std::io::stderr().lock();
        let _ = write!(e, "\r{}", dir.bar(30));
        let _ = e.flush();
    }
    /// The final state, on its own line, if the bar was drawn (a computation
    /// shorter than a moment prints nothing).
    pub(super) fn finish(&self, dir: &ShardDirectory) {
        if self.last.is_none() {
            return;
        }
        let mut e = std::io::stderr().lock();
        let _ = writeln!(e, "\r{}", dir.bar(30));
        let _ = e.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_round_trip_and_malformed_ones_are_errors() {
        let b = ProgressBatch {
            done: vec![(0, 5), (3, 1 << 40)],
            bytes_sent: 12345,
        };
        assert_eq!(ProgressBatch::from_bytes(&b.to_bytes(), 1).unwrap(), b);
        let bytes = b.to_bytes();
        assert!(ProgressBatch::from_bytes(&bytes[..bytes.len() - 1], 1).is_err());
        assert!(ProgressBatch::from_bytes(&[], 1).is_err());
    }

    #[test]
    fn tracker_reports_deltas() {
        let mut t = Tracker::new(3);
        t.task_done(LayerId(2));
        t.task_done(LayerId(2));
        t.task_done(LayerId(0));
        t.sent(10);
        assert_eq!(
            t.take(),
            ProgressBatch {
                done: vec![(0, 1), (2, 2)],
                bytes_sent: 10
            }
        );
        assert!(t.take().is_empty());
    }
}
