//! The SPMD executor: every rank runs the tasks it owns of a symbolic task graph
//! on its thread pool, and sends each result to the ranks whose tasks read it.
//!
//! It knows nothing of what a task computes: a [`TaskRunner`] does, given the
//! task's inputs, and turns values into bytes and back. The placement
//! ([`crate::graph::Placement`]) says which rank owns which task; every rank
//! derives it alone. A rank keeps, for its own tasks that have received some
//! but not all of their inputs, a remaining-inputs counter (the frontier, not
//! the task table), and per live value a remaining-consumers counter; it frees each value after its last local consumer ran, runs ready
//! tasks in parallel waves on the rayon pool (consumers before new sources, so
//! reductions finish early and memory stays bounded), and refuses up front a plan
//! whose projected memory exceeds the limit. Details in [`execute`].

mod memory;
pub mod progress;
mod run;

use crate::error::Result;
use crate::graph::LayerId;
use std::collections::HashMap;
use std::time::Duration;

pub use memory::{projected_peak, MemoryProjection};
pub use run::execute;

/// What computes one task.
pub trait TaskRunner: Sync {
    /// A task's output.
    type Value: Send + Sync;
    /// Compute task `chunk` of `layer`; `inputs[e]` holds edge `e`'s input values in the
    /// order of [`Graph::for_each_input`](crate::graph::Graph::for_each_input).
    fn run(
        &self,
        layer: LayerId,
        chunk: usize,
        inputs: &[Vec<&Self::Value>],
    ) -> Result<Self::Value>;
    /// Bytes a value holds (for accounting).
    fn nbytes(&self, v: &Self::Value) -> usize;
    /// Append the bytes of `v` to `out`, to send it to another rank.
    fn encode(&self, v: &Self::Value, out: &mut Vec<u8>);
    /// A value from the bytes [`encode`](Self::encode) made.
    fn decode(&self, bytes: &[u8]) -> Result<Self::Value>;
}

/// Called by rank 0 with the shard directory as progress arrives (every
/// [`progress::FLUSH_EVERY`] at most, and once at the end): how a dashboard
/// follows a computation.
pub type Observer = std::sync::Arc<dyn Fn(&progress::ShardDirectory) + Send + Sync>;

/// How to execute.
#[derive(Clone)]
pub struct ExecOptions {
    /// Refuse plans projected to need more bytes than this.
    pub memory_limit: u64,
    /// Most tasks run in one parallel wave (0: chosen from the memory limit).
    pub max_wave: usize,
    /// Shuffle the order in which ready tasks start (tests use it to show results do
    /// not depend on execution order).
    pub shuffle_seed: Option<u64>,
    /// Rank 0 draws a progress bar on standard error.
    pub progress: bool,
    /// Gather the output chunks on every rank (the default). When false, each
    /// rank returns only the output chunks it computed itself (writers use this:
    /// every rank writes its own chunks, no rank holds the whole result).
    pub gather_outputs: bool,
    /// Rank 0 stops the computation on every rank, with
    /// [`Error::Cancelled`](crate::Error::Cancelled), when this flag is set
    /// (checked before each wave and while waiting for other ranks).
    pub cancel: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    /// See [`Observer`] (rank 0 only).
    pub observer: Option<Observer>,
}

impl std::fmt::Debug for ExecOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExecOptions")
            .field("memory_limit", &self.memory_limit)
            .field("max_wave", &self.max_wave)
            .field("shuffle_seed", &self.shuffle_seed)
            .field("progress", &self.progress)
            .field("gather_outputs", &self.gather_outputs)
            .field("cancel", &self.cancel)
            .field("observer", &self.observer.is_some())
            .finish()
    }
}

impl Default for ExecOptions {
    fn default() -> Self {
        ExecOptions {
            memory_limit: u64::MAX,
            max_wave: 0,
            shuffle_seed: None,
            progress: false,
            gather_outputs: true,
            cancel: None,
            observer: None,
        }
    }
}

/// What an execution did on this rank.
#[derive(Debug, Clone, Default)]
pub struct ExecStats {
    /// Tasks this rank ran.
    pub tasks_run: usize,
    pub waves: usize,
    /// Values sent to other ranks, and their bytes.
    pub messages_sent: usize,
    pub bytes_sent: u64,
    /// Largest number of bytes held in live values at a wave boundary.
    pub peak_bytes: u64,
    pub elapsed: Duration,
}

/// The output layers' values, by chunk number.
pub type Outputs<V> = HashMap<LayerId, Vec<(usize, V)>>;

pub(crate) fn shuffle<T>(v: &mut [T], state: &mut u64) {
    for i in (1..v.len()).rev() {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        let j = (*state % (i as u64 + 1)) as usize;
        v.swap(i, j);
    }
}

/// `1.5 GiB`-style.
pub fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}
