//! The executor: runs a symbolic task graph on this rank's thread pool.
//!
//! It knows nothing of what a task computes: a [`TaskRunner`] does, given the
//! task's inputs. The executor keeps, per task, a remaining-inputs counter (4
//! bytes) and, per live value, a remaining-consumers counter; it frees each value
//! after its last consumer ran, runs ready tasks in parallel waves on the rayon
//! pool (consumers before new sources, so reductions finish early and memory stays
//! bounded), and refuses up front a plan whose projected memory exceeds the limit.

mod memory;

use crate::error::{Error, Result};
use crate::graph::{Graph, LayerId, TaskId};
use rayon::prelude::*;
use std::collections::{BinaryHeap, HashMap};
use std::time::{Duration, Instant};

pub use memory::{projected_peak, MemoryProjection};

/// What computes one task.
pub trait TaskRunner: Sync {
    /// A task's output.
    type Value: Send + Sync;
    /// Compute task `chunk` of `layer`; `inputs[e]` holds edge `e`'s input values in the
    /// order of [`Graph::for_each_input`].
    fn run(
        &self,
        layer: LayerId,
        chunk: usize,
        inputs: &[Vec<&Self::Value>],
    ) -> Result<Self::Value>;
    /// Bytes a value holds (for accounting).
    fn nbytes(&self, v: &Self::Value) -> usize;
}

/// How to execute.
#[derive(Debug, Clone)]
pub struct ExecOptions {
    /// Refuse plans projected to need more bytes than this.
    pub memory_limit: u64,
    /// Most tasks run in one parallel wave (0: chosen from the memory limit).
    pub max_wave: usize,
    /// Shuffle the order in which ready tasks start (tests use it to show results do
    /// not depend on execution order).
    pub shuffle_seed: Option<u64>,
}

impl Default for ExecOptions {
    fn default() -> Self {
        ExecOptions {
            memory_limit: u64::MAX,
            max_wave: 0,
            shuffle_seed: None,
        }
    }
}

/// What an execution did.
#[derive(Debug, Clone, Default)]
pub struct ExecStats {
    pub tasks_run: usize,
    pub waves: usize,
    /// Largest number of bytes held in live values at a wave boundary.
    pub peak_bytes: u64,
    pub elapsed: Duration,
}

/// The output layers' values, by chunk number.
pub type Outputs<V> = HashMap<LayerId, Vec<(usize, V)>>;

/// Run every needed task of `graph` on `pool`.
pub fn execute<R: TaskRunner>(
    graph: &Graph,
    runner: &R,
    pool: &rayon::ThreadPool,
    opts: &ExecOptions,
) -> Result<(Outputs<R::Value>, ExecStats)> {
    let start = Instant::now();
    let threads = pool.current_num_threads().max(1);
    let proj = projected_peak(graph, threads);
    if proj.peak > opts.memory_limit {
        return Err(Error::ResourcesExhausted(format!(
            "the plan needs about {} per rank at its peak ({}), but the memory limit is {}; \
             raise the limit (CHUNKWISE_MEMORY_LIMIT or Config::memory_limit), use smaller chunks \
             (rechunk), reduce the result before computing it, or run on more ranks",
            human_bytes(proj.peak),
            proj.explain(),
            human_bytes(opts.memory_limit)
        )));
    }
    let wave = if opts.max_wave > 0 {
        opts.max_wave
    } else {
        proj.wave_size(threads, opts.memory_limit)
    };

    let nlayers = graph.layers().len();
    // Remaining-inputs counters, per needed task.
    let mut remaining: Vec<Vec<u32>> = Vec::with_capacity(nlayers);
    let mut heap: BinaryHeap<(u32, std::cmp::Reverse<usize>)> = BinaryHeap::new();
    let mut sources: Vec<(LayerId, usize)> = Vec::new(); // (layer, cursor)
    let total = graph.num_needed_tasks();
    for (li, l) in graph.layers().iter().enumerate() {
        let id = LayerId(li as u32);
        let n = l.num_tasks();
        if l.inputs.is_empty() {
            remaining.push(Vec::new());
            sources.push((id, 0));
        } else {
            let mut r = vec![0u32; n];
            for (c, slot) in r.iter_mut().enumerate() {
                if graph.is_needed(id, c) {
                    *slot = graph.num_inputs(id, c) as u32;
                    if *slot == 0 {
                        heap.push((li as u32, std::cmp::Reverse(c)));
                    }
                }
            }
            remaining.push(r);
        }
    }

    let mut store: HashMap<TaskId, (R::Value, u32)> = HashMap::new();
    let mut outputs: Outputs<R::Value> = HashMap::new();
    let mut live_bytes: u64 = 0;
    let mut stats = ExecStats::default();
    let mut rng = opts.shuffle_seed.map(|s| s | 1);
    let mut done = 0usize;
    let mut batch: Vec<TaskId> = Vec::with_capacity(wave);
    while done < total {
        batch.clear();
        while batch.len() < wave {
            match heap.pop() {
                Some((l, std::cmp::Reverse(c))) => batch.push(TaskId::new(LayerId(l), c)),
                None => break,
            }
        }
        // Top up with source tasks, the least advanced source layer first.
        while batch.len() < wave {
            let pick = sources
                .iter_mut()
                .filter(|(l, cur)| *cur < graph.layer(*l).num_tasks())
                .min_by(|a, b| {
                    let fa = a.1 as f64 / graph.layer(a.0).num_tasks() as f64;
                    let fb = b.1 as f64 / graph.layer(b.0).num_tasks() as f64;
                    fa.total_cmp(&fb)
                });
            let Some((l, cur)) = pick else { break };
            let c = *cur;
            *cur += 1;
            if graph.is_needed(*l, c) {
                batch.push(TaskId::new(*l, c));
            }
        }
        if batch.is_empty() {
            return Err(Error::internal(format!(
                "executor stalled with {done} of {total} tasks done"
            )));
        }
        if let Some(state) = rng.as_mut() {
            shuffle(&mut batch, state);
        }
        // Each task returns its value and the ids of the inputs it read (released below).
        type Ran<V> = Result<(V, Vec<TaskId>)>;
        let results: Vec<Ran<R::Value>> = pool.install(|| {
            batch
                .par_iter()
                .map(|&t| {
                    let layer = graph.layer(t.layer());
                    let mut inputs: Vec<Vec<&R::Value>> = vec![Vec::new(); layer.inputs.len()];
                    let mut read = Vec::new();
                    let mut missing = None;
                    graph.for_each_input(t.layer(), t.chunk(), |e, p| {
                        let id = TaskId::new(layer.inputs[e].layer, p);
                        match store.get(&id) {
                            Some((v, _)) => inputs[e].push(v),
                            None => missing = Some((layer.inputs[e].layer, p)),
                        }
                        read.push(id);
                    });
                    if let Some((l, p)) = missing {
                        return Err(Error::internal(format!(
                            "input chunk {p} of layer {} missing for {} chunk {}",
                            graph.layer(l).name,
                            layer.name,
                            t.chunk()
                        )));
                    }
                    Ok((runner.run(t.layer(), t.chunk(), &inputs)?, read))
                })
                .collect()
        });
        stats.waves += 1;
        for (&t, res) in batch.iter().zip(results) {
            let (v, read) = res?;
            done += 1;
            // Release the inputs this task read.
            for p in read {
                if let Some(entry) = store.get_mut(&p) {
                    entry.1 -= 1;
                    if entry.1 == 0 {
                        if let Some((v, _)) = store.remove(&p) {
                            live_bytes = live_bytes.saturating_sub(runner.nbytes(&v) as u64);
                        }
                    }
                }
            }
            // Wake the consumers.
            let mut consumers = 0u32;
            graph.for_each_consumer(t.layer(), t.chunk(), |cl, cc| {
                consumers += 1;
                let r = &mut remaining[cl.0 as usize][cc];
                *r -= 1;
                if *r == 0 {
                    heap.push((cl.0, std::cmp::Reverse(cc)));
                }
            });
            if graph.is_output(t.layer()) {
                outputs.entry(t.layer()).or_default().push((t.chunk(), v));
            } else if consumers > 0 {
                live_bytes += runner.nbytes(&v) as u64;
                store.insert(t, (v, consumers));
            }
        }
        stats.peak_bytes = stats.peak_bytes.max(live_bytes);
    }
    stats.tasks_run = done;
    stats.elapsed = start.elapsed();
    Ok((outputs, stats))
}

fn shuffle<T>(v: &mut [T], state: &mut u64) {
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
