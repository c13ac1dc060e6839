//! [`execute`]: one rank's part of running a task graph, and the collective end
//! that makes every rank return the same result or the same error.

use super::progress::{Bar, ProgressBatch, ShardDirectory, Tracker};
use super::{projected_peak, shuffle, ExecOptions, ExecStats, Outputs, TaskRunner};
use crate::comm::{Comm, Tag};
use crate::error::{Error, Result};
use crate::graph::{Graph, LayerId, Placement, TaskId};
use rayon::prelude::*;
use std::collections::{BinaryHeap, HashMap};
use std::ops::Range;
use std::time::{Duration, Instant};

/// Run every needed task of `graph` over the ranks of `comm`, each rank running the
/// tasks it owns on `pool`; return the output layers' values (on every rank) and
/// what this rank did.
///
/// # How
///
/// Every rank derives the same [`Placement`]: each layer's chunks are cut into
/// contiguous shards, one per rank. A rank runs its ready tasks in waves on its
/// pool. When a task's value is ready, the rank walks the task's consumers (the
/// graph's inverse index functions): local consumers count down their remaining
/// inputs, and the value is sent once to each other rank that owns a consumer
/// (owner computes, producer pushes: nobody asks for anything). While a wave
/// runs on the pool, the calling thread (the only one that calls MPI) takes in
/// arriving values and completes sends, so transfers overlap computation. A rank
/// is done when it has run all its tasks: every value it needs was pushed to it.
///
/// Reductions combine their partials in the order of the graph's index
/// functions, not of arrival, so results are bitwise identical on any number of
/// ranks and threads.
///
/// # Why point-to-point, not `MPI_Allreduce` / `MPI_Alltoallv`
///
/// A global reduction is a tree of combine tasks placed like any other layer, and a
/// transpose or rechunk is a layer whose tasks read chunks of other ranks: both move
/// their data with the same pushes. `MPI_Allreduce` would combine partials in an
/// order the MPI library chooses (different for 2 and 3 ranks), breaking the
/// bitwise reproducibility above; an all-to-all exchange would make every rank wait
/// for the slowest before any consumer starts, where pushes let each consumer start
/// as soon as its own inputs are in. Collectives are used where every rank needs the
/// same thing: agreeing on errors and gathering the outputs.
///
/// # Collective
///
/// Call on every rank with the same graph. The end is collective: if a task fails
/// on some rank, that rank tells the others to stop, and every rank returns the
/// same error (the failing rank's, naming it when the job has several ranks);
/// messages in flight are received and dropped first, so nothing is left
/// pending. The outputs are then gathered on every rank, unless
/// [`ExecOptions::gather_outputs`] is false: then each rank returns the output
/// chunks it owns only.
pub fn execute<R: TaskRunner>(
    graph: &Graph,
    runner: &R,
    pool: &rayon::ThreadPool,
    comm: &dyn Comm,
    opts: &ExecOptions,
) -> Result<(Outputs<R::Value>, ExecStats)> {
    let start = Instant::now();
    let threads = pool.current_num_threads().max(1);
    let proj = projected_peak(graph, threads);
    // Refused on every rank if over the limit on any (ranks with fewer threads
    // project less), with the message of the lowest rank that is over.
    let over = proj.peak > opts.memory_limit;
    if comm.any(over)? {
        let mine = over.then(|| {
            Error::ResourcesExhausted(format!(
                "the plan needs about {} per rank at its peak ({}), but the memory limit is {}; \
                 raise the limit (CHUNKWISE_MEMORY_LIMIT or Config::memory_limit), use smaller \
                 chunks (rechunk), reduce the result before computing it, or run on more ranks",
                super::human_bytes(proj.peak),
                proj.explain(),
                super::human_bytes(opts.memory_limit)
            ))
        });
        let all = comm.all_gather_bytes(&mine.map(|e| e.to_bytes()).unwrap_or_default())?;
        return Err(all
            .iter()
            .find_map(|b| Error::from_bytes(b))
            .unwrap_or_else(|| Error::internal("memory refusal without a message")));
    }
    let wave = if opts.max_wave > 0 {
        opts.max_wave
    } else {
        proj.wave_size(threads, opts.memory_limit)
    };
    let mut rank = RankRun::new(graph, comm.rank(), comm.size());
    if opts.progress {
        rank.msgs.bar = rank.msgs.directory.as_ref().map(|_| Bar::new());
    }
    let mut local = rank.run(runner, pool, comm, wave, opts);
    if let Err(e) = rank.report(comm, true, opts) {
        local = local.and(Err(e));
    }
    if local.is_err() {
        // Whatever failed here, the other ranks must stop waiting for this one.
        rank.msgs.abort_all(comm)?;
    }
    let mut stats = rank.stats.clone();
    conclude(comm, &mut rank.msgs, local)?;
    if let (Some(observe), Some(d)) = (&opts.observer, &rank.msgs.directory) {
        observe(d);
    }
    let mine = std::mem::take(&mut rank.outputs);
    let outputs = if opts.gather_outputs {
        gather_outputs(comm, runner, mine)?
    } else {
        let mut out: Outputs<R::Value> = HashMap::new();
        for (l, c, v) in mine {
            out.entry(l).or_default().push((c, v));
        }
        out
    };
    stats.elapsed = start.elapsed();
    Ok((outputs, stats))
}

/// What arrives from other ranks, and what this rank sent (for the collective end).
struct Messages<V> {
    me: usize,
    size: usize,
    /// Values received, not yet handed to the task table.
    pending: Vec<(TaskId, V)>,
    recv_data: Vec<u64>,
    recv_abort: Vec<u64>,
    sent_data: Vec<u64>,
    sent_abort: Vec<u64>,
    /// The first rank that told us to stop.
    aborted_by: Option<usize>,
    /// Progress reports sent to rank 0, and (rank 0) received from each rank.
    sent_progress: u64,
    recv_progress: Vec<u64>,
    /// Rank 0: the shard directory and the bar drawn from it.
    directory: Option<ShardDirectory>,
    bar: Option<Bar>,
}

impl<V> Messages<V> {
    /// Take in what has arrived; true if anything did.
    fn poll<R: TaskRunner<Value = V>>(&mut self, comm: &dyn Comm, runner: &R) -> Result<bool> {
        let mut got = false;
        while let Some((src, bytes)) = comm.try_recv(Tag::Data)? {
            self.recv_data[src] += 1;
            self.pending.push(decode_value(runner, &bytes, src)?);
            got = true;
        }
        while let Some((src, _)) = comm.try_recv(Tag::Abort)? {
            self.recv_abort[src] += 1;
            self.aborted_by.get_or_insert(src);
            got = true;
        }
        if self.directory.is_some() {
            while let Some((src, bytes)) = comm.try_recv(Tag::Progress)? {
                self.take_progress(src, &bytes)?;
                got = true;
            }
        }
        comm.progress()?;
        Ok(got)
    }

    /// Rank 0: count a progress report from `src`.
    fn take_progress(&mut self, src: usize, bytes: &[u8]) -> Result<()> {
        self.recv_progress[src] += 1;
        let batch = ProgressBatch::from_bytes(bytes, src)?;
        if let Some(d) = self.directory.as_mut() {
            d.apply(src, &batch)?;
        }
        Ok(())
    }

    /// Tell every other rank to stop (once).
    fn abort_all(&mut self, comm: &dyn Comm) -> Result<()> {
        if self.sent_abort.iter().any(|&n| n > 0) {
            return Ok(());
        }
        for dest in (0..self.size).filter(|&d| d != self.me) {
            comm.post_send(dest, Tag::Abort, Vec::new())?;
            self.sent_abort[dest] += 1;
        }
        Ok(())
    }
}

/// Whether rank 0 was asked to stop.
fn cancelled(opts: &ExecOptions) -> bool {
    opts.cancel
        .as_ref()
        .is_some_and(|c| c.load(std::sync::atomic::Ordering::Relaxed))
}

/// The header of a value on the wire: layer (u32) and chunk (u64), little-endian.
const HEADER: usize = 12;

/// The first wait for a wave between polls of MPI that found nothing.
const POLL_WAIT: Duration = Duration::from_micros(50);
/// The longest: a message waits at most this long to be received while a wave
/// runs (large sends make progress only when their receiver polls).
const MAX_POLL_WAIT: Duration = Duration::from_millis(1);

fn decode_value<R: TaskRunner>(runner: &R, bytes: &[u8], src: usize) -> Result<(TaskId, R::Value)> {
    let (head, body) = bytes
        .split_first_chunk::<HEADER>()
        .ok_or_else(|| Error::Comm(format!("a value from rank {src} has no header")))?;
    let (l, c) = head.split_at(4);
    let layer = u32::from_le_bytes(l.try_into().unwrap_or_default());
    let chunk = u64::from_le_bytes(c.try_into().unwrap_or_default()) as usize;
    let v = runner.decode(body).map_err(|e| {
        e.with_message(format!(
            "value of layer {layer} chunk {chunk} from rank {src}: {}",
            e.message()
        ))
    })?;
    Ok((TaskId::new(LayerId(layer), chunk), v))
}

/// One rank's state: its shards' task table, live values, outputs.
struct RankRun<'g, V> {
    graph: &'g Graph,
    placement: Placement,
    me: usize,
    /// Per layer: the chunks this rank owns.
    shards: Vec<Range<usize>>,
    /// Owned tasks that have received some but not all of their inputs, and
    /// how many they still wait for: the frontier, not the task table, so a
    /// rank's memory does not grow with the number of tasks it owns (a counter
    /// per task cost 4 bytes a task: 200 MB a rank for 10^8 chunks on 2 ranks).
    waiting: HashMap<TaskId, u32>,
    /// Ready owned tasks: later layers first, then lower chunks.
    heap: BinaryHeap<(u32, std::cmp::Reverse<usize>)>,
    /// Source layers and the next chunk of this rank's shard to start.
    sources: Vec<(LayerId, usize)>,
    /// Owned needed tasks, and how many have run.
    owned: usize,
    done: usize,
    /// Live values (own or received) and their remaining local readers.
    store: HashMap<TaskId, (V, u32)>,
    live_bytes: u64,
    outputs: Vec<(LayerId, usize, V)>,
    msgs: Messages<V>,
    tracker: Tracker,
    stats: ExecStats,
}

impl<'g, V: Send + Sync> RankRun<'g, V> {
    fn new(graph: &'g Graph, me: usize, size: usize) -> Self {
        let placement = Placement::new(size);
        let mut shards = Vec::with_capacity(graph.layers().len());
        let mut heap = BinaryHeap::new();
        let mut sources = Vec::new();
        let mut owned = 0;
        for (li, l) in graph.layers().iter().enumerate() {
            let id = LayerId(li as u32);
            let shard = placement.layer_shard(graph, id, me);
            owned += shard.clone().filter(|&c| graph.is_needed(id, c)).count();
            if l.inputs.is_empty() {
                sources.push((id, shard.start));
            } else {
                // Tasks of a layer with inputs that read none (an empty input) are
                // ready at once; the others enter `waiting` with their first input.
                for c in shard.clone() {
                    if graph.is_needed(id, c) && graph.num_inputs(id, c) == 0 {
                        heap.push((li as u32, std::cmp::Reverse(c)));
                    }
                }
            }
            shards.push(shard);
        }
        RankRun {
            graph,
            placement,
            me,
            shards,
            waiting: HashMap::new(),
            heap,
            sources,
            owned,
            done: 0,
            store: HashMap::new(),
            live_bytes: 0,
            outputs: Vec::new(),
            msgs: Messages {
                me,
                size,
                pending: Vec::new(),
                recv_data: vec![0; size],
                recv_abort: vec![0; size],
                sent_data: vec![0; size],
                sent_abort: vec![0; size],
                aborted_by: None,
                sent_progress: 0,
                recv_progress: vec![0; size],
                directory: (me == 0).then(|| ShardDirectory::new(graph, size)),
                bar: None,
            },
            tracker: Tracker::new(graph.layers().len()),
            stats: ExecStats::default(),
        }
    }

    /// The next wave: ready consumers first, then sources of this rank's shards.
    fn next_batch(&mut self, wave: usize, batch: &mut Vec<TaskId>) {
        batch.clear();
        while batch.len() < wave {
            match self.heap.pop() {
                Some((l, std::cmp::Reverse(c))) => batch.push(TaskId::new(LayerId(l), c)),
                None => break,
            }
        }
        while batch.len() < wave {
            let shards = &self.shards;
            let pick = self
                .sources
                .iter_mut()
                .filter(|(l, cur)| *cur < shards[l.0 as usize].end)
                .min_by(|a, b| {
                    let frac = |(l, cur): &(LayerId, usize)| {
                        let s = &shards[l.0 as usize];
                        (cur - s.start) as f64 / s.len().max(1) as f64
                    };
                    frac(a).total_cmp(&frac(b))
                });
            let Some((l, cur)) = pick else { break };
            let c = *cur;
            *cur += 1;
            if self.graph.is_needed(*l, c) {
                batch.push(TaskId::new(*l, c));
            }
        }
    }

    /// Run this rank's tasks until all have run, this rank fails, or another rank
    /// says stop. Returns this rank's own error, if any.
    fn run<R: TaskRunner<Value = V>>(
        &mut self,
        runner: &R,
        pool: &rayon::ThreadPool,
        comm: &dyn Comm,
        wave: usize,
        opts: &ExecOptions,
    ) -> Result<()> {
        let multi = self.msgs.size > 1;
        let mut rng = opts.shuffle_seed.map(|s| s | 1);
        let mut batch: Vec<TaskId> = Vec::with_capacity(wave);
        let mut idle_polls = 0u32;
        while self.done < self.owned {
            if self.msgs.aborted_by.is_some() {
                return Ok(());
            }
            if self.me == 0 && cancelled(opts) {
                return Err(Error::Cancelled(
                    "the computation was stopped on request".into(),
                ));
            }
            self.take_pending(runner);
            self.next_batch(wave, &mut batch);
            if batch.is_empty() {
                // Waiting for values from other ranks.
                if !multi {
                    return Err(Error::internal(format!(
                        "executor stalled with {} of {} tasks done",
                        self.done, self.owned
                    )));
                }
                if self.msgs.poll(comm, runner)? {
                    idle_polls = 0;
                } else {
                    idle_polls += 1;
                    backoff(idle_polls);
                }
                self.report(comm, false, opts)?;
                continue;
            }
            if let Some(state) = rng.as_mut() {
                shuffle(&mut batch, state);
            }
            let results = if multi {
                self.run_wave_polling(runner, pool, comm, &batch)?
            } else {
                let store = &self.store;
                let graph = self.graph;
                pool.install(|| {
                    batch
                        .par_iter()
                        .map(|&t| run_task(graph, runner, store, t))
                        .collect()
                })
            };
            self.stats.waves += 1;
            for (&t, res) in batch.iter().zip(results) {
                let (v, read) = match res {
                    Ok(x) => x,
                    Err(e) => {
                        let e = if multi {
                            e.with_message(format!(
                                "{} (on rank {} of {})",
                                e.message(),
                                self.me,
                                self.msgs.size
                            ))
                        } else {
                            e
                        };
                        return Err(e);
                    }
                };
                self.done += 1;
                self.tracker.task_done(t.layer());
                self.release(runner, &read);
                self.deliver(runner, comm, t, v)?;
            }
            self.stats.peak_bytes = self.stats.peak_bytes.max(self.live_bytes);
            self.report(comm, false, opts)?;
        }
        self.stats.tasks_run = self.done;
        Ok(())
    }

    /// Report progress to rank 0 when due (or now, with `now`); rank 0 counts its
    /// own directly and redraws its bar.
    fn report(&mut self, comm: &dyn Comm, now: bool, opts: &ExecOptions) -> Result<()> {
        if !(now || self.tracker.due()) {
            return Ok(());
        }
        let batch = self.tracker.take();
        if self.me == 0 {
            if let Some(d) = self.msgs.directory.as_mut() {
                d.apply(0, &batch)?;
                if let Some(bar) = self.msgs.bar.as_mut() {
                    bar.draw(d);
                }
                if let Some(observe) = &opts.observer {
                    observe(d);
                }
            }
        } else if !batch.is_empty() {
            comm.post_send(0, Tag::Progress, batch.to_bytes())?;
            self.msgs.sent_progress += 1;
        }
        Ok(())
    }

    /// Run `batch` on the pool from a helper thread while this thread (the MPI
    /// thread) takes in messages and completes sends.
    fn run_wave_polling<R: TaskRunner<Value = V>>(
        &mut self,
        runner: &R,
        pool: &rayon::ThreadPool,
        comm: &dyn Comm,
        batch: &[TaskId],
    ) -> Result<Vec<Ran<V>>> {
        let store = &self.store;
        let graph = self.graph;
        let msgs = &mut self.msgs;
        let (tx, rx) = std::sync::mpsc::channel();
        // The wave is a job injected into the pool (no thread is spawned per
        // wave: that cost ~38 µs a wave); this thread, outside the pool, polls
        // MPI meanwhile and waits at the end of the scope for the job to end.
        let (results, polled) = pool.in_place_scope(|s| {
            s.spawn(move |_| {
                // A panic (in a user's closure, say) becomes this rank's error,
                // which the other ranks then share, rather than ending the process.
                let results = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    batch
                        .par_iter()
                        .map(|&t| run_task(graph, runner, store, t))
                        .collect::<Vec<_>>()
                }))
                .map_err(|payload| {
                    let what = payload
                        .downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| payload.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "a panic without a message".to_string());
                    Error::internal(format!("a task panicked: {what}"))
                });
                // The receiver waits for this; if it has gone, nobody needs them.
                let _ = tx.send(results);
            });
            let mut polled: Result<()> = Ok(());
            // Poll MPI between waits for the wave; the wait ends as soon as the
            // wave does. Polls that find nothing back off (up to `MAX_POLL_WAIT`),
            // so an idle MPI thread does not take the cores from the workers.
            let mut idle = POLL_WAIT;
            let results = loop {
                let wait = match polled.is_ok().then(|| msgs.poll(comm, runner)) {
                    Some(Ok(true)) => {
                        idle = POLL_WAIT;
                        Duration::ZERO
                    }
                    Some(Ok(false)) => {
                        let wait = idle;
                        idle = (idle * 2).min(MAX_POLL_WAIT);
                        wait
                    }
                    Some(Err(e)) => {
                        polled = Err(e);
                        Duration::from_secs(1)
                    }
                    None => Duration::from_secs(1),
                };
                match rx.recv_timeout(wait) {
                    Ok(r) => break Some(r),
                    Err(std::sync::mpsc::RecvTimeoutError::Timeout) => continue,
                    Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break None,
                }
            };
            (results, polled)
        });
        let results = results.ok_or_else(|| Error::internal("a wave ended without results"))??;
        polled.map(|()| results)
    }

    /// Hand received values to the task table.
    fn take_pending<R: TaskRunner<Value = V>>(&mut self, runner: &R) {
        let pending = std::mem::take(&mut self.msgs.pending);
        for (t, v) in pending {
            let local = self.count_down(t, None);
            if local > 0 {
                self.live_bytes += runner.nbytes(&v) as u64;
                self.store.insert(t, (v, local));
            }
        }
    }

    /// Count down the local consumers of `t`; with `dests`, also collect the other
    /// ranks owning consumers. Returns the number of local reads.
    fn count_down(&mut self, t: TaskId, mut dests: Option<&mut Vec<usize>>) -> u32 {
        let me = self.me;
        let mut local = 0u32;
        let graph = self.graph;
        let placement = self.placement;
        let waiting = &mut self.waiting;
        let heap = &mut self.heap;
        graph.for_each_consumer(t.layer(), t.chunk(), |cl, cc| {
            let o = placement.owner(graph, cl, cc);
            if o == me {
                local += 1;
                let task = TaskId::new(cl, cc);
                let r = waiting
                    .entry(task)
                    .or_insert_with(|| graph.num_inputs(cl, cc) as u32);
                *r -= 1;
                if *r == 0 {
                    waiting.remove(&task);
                    heap.push((cl.0, std::cmp::Reverse(cc)));
                }
            } else if let Some(d) = dests.as_deref_mut() {
                if !d.contains(&o) {
                    d.push(o);
                }
            }
        });
        local
    }

    /// A value this rank computed: count down local consumers, push it to the ranks
    /// that read it, keep it while local readers remain.
    fn deliver<R: TaskRunner<Value = V>>(
        &mut self,
        runner: &R,
        comm: &dyn Comm,
        t: TaskId,
        v: V,
    ) -> Result<()> {
        let mut dests = Vec::new();
        let local = self.count_down(t, Some(&mut dests));
        if !dests.is_empty() {
            let mut msg = Vec::with_capacity(HEADER + runner.nbytes(&v) + 64);
            msg.extend_from_slice(&t.layer().0.to_le_bytes());
            msg.extend_from_slice(&(t.chunk() as u64).to_le_bytes());
            runner.encode(&v, &mut msg);
            let last = dests.len() - 1;
            for (i, &d) in dests.iter().enumerate() {
                self.stats.messages_sent += 1;
                self.stats.bytes_sent += msg.len() as u64;
                self.tracker.sent(msg.len() as u64);
                self.msgs.sent_data[d] += 1;
                let m = if i == last {
                    std::mem::take(&mut msg)
                } else {
                    msg.clone()
                };
                comm.post_send(d, Tag::Data, m)?;
            }
        }
        if self.graph.is_output(t.layer()) {
            self.outputs.push((t.layer(), t.chunk(), v));
        } else if local > 0 {
            self.live_bytes += runner.nbytes(&v) as u64;
            self.store.insert(t, (v, local));
        }
        Ok(())
    }

    /// A task has read `read`: drop values whose last local reader it was.
    fn release<R: TaskRunner<Value = V>>(&mut self, runner: &R, read: &[TaskId]) {
        for p in read {
            if let Some(entry) = self.store.get_mut(p) {
                entry.1 -= 1;
                if entry.1 == 0 {
                    if let Some((v, _)) = self.store.remove(p) {
                        self.live_bytes = self.live_bytes.saturating_sub(runner.nbytes(&v) as u64);
                    }
                }
            }
        }
    }
}

type Ran<V> = Result<(V, Vec<TaskId>)>;

/// Run one task with its inputs from `store`; returns its value and what it read.
fn run_task<R: TaskRunner>(
    graph: &Graph,
    runner: &R,
    store: &HashMap<TaskId, (R::Value, u32)>,
    t: TaskId,
) -> Ran<R::Value> {
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
}

/// Wait a little before polling again: spin first (a value usually arrives soon),
/// then yield, then sleep, so a waiting rank does not burn its core.
fn backoff(idle: u32) {
    if idle < 64 {
        std::hint::spin_loop();
    } else if idle < 256 {
        std::thread::yield_now();
    } else {
        std::thread::sleep(Duration::from_micros(50));
    }
}

/// The collective end: every rank learns whether any rank failed and how many
/// progress reports each rank sent (rank 0 takes the rest of them in); on a
/// failure, every rank receives what was sent to it (so no send stays pending),
/// and all return the failing rank's error (the lowest rank's, if several failed).
fn conclude<V>(comm: &dyn Comm, msgs: &mut Messages<V>, local: Result<()>) -> Result<()> {
    let failed = local.is_err() || msgs.aborted_by.is_some();
    let mut status = vec![u8::from(failed)];
    status.extend_from_slice(&msgs.sent_progress.to_le_bytes());
    let all = comm.all_gather_bytes(&status)?;
    let mut any_failed = false;
    for (src, s) in all.iter().enumerate() {
        let (flag, count) = s
            .split_first()
            .and_then(|(f, c)| Some((*f, u64::from_le_bytes(c.try_into().ok()?))))
            .ok_or_else(|| Error::internal(format!("short status from rank {src}")))?;
        any_failed |= flag != 0;
        if msgs.directory.is_some() {
            while msgs.recv_progress[src] < count {
                let b = comm.recv(src, Tag::Progress)?;
                msgs.take_progress(src, &b)?;
            }
        }
    }
    if !any_failed {
        comm.wait_sends()?;
        if let (Some(bar), Some(d)) = (&msgs.bar, &msgs.directory) {
            bar.finish(d);
        }
        return Ok(());
    }
    // Status: error bytes (empty if none), then per rank the data and abort
    // messages this rank sent to it.
    let err = local.err().map(|e| e.to_bytes()).unwrap_or_default();
    let mut status = Vec::with_capacity(8 + err.len() + 16 * msgs.size);
    status.extend_from_slice(&(err.len() as u64).to_le_bytes());
    status.extend_from_slice(&err);
    for d in 0..msgs.size {
        status.extend_from_slice(&msgs.sent_data[d].to_le_bytes());
        status.extend_from_slice(&msgs.sent_abort[d].to_le_bytes());
    }
    let all = comm.all_gather_bytes(&status)?;
    let mut first_error = None;
    for (src, s) in all.iter().enumerate() {
        let word = |at: usize| -> Result<u64> {
            s.get(at..at + 8)
                .and_then(|b| b.try_into().ok())
                .map(u64::from_le_bytes)
                .ok_or_else(|| Error::internal(format!("short status from rank {src}")))
        };
        let elen = word(0)? as usize;
        let e = s
            .get(8..8 + elen)
            .ok_or_else(|| Error::internal(format!("short status from rank {src}")))?;
        if first_error.is_none() {
            first_error = Error::from_bytes(e);
        }
        let base = 8 + elen + 16 * msgs.me;
        let (data, abort) = (word(base)?, word(base + 8)?);
        while msgs.recv_data[src] < data {
            comm.recv(src, Tag::Data)?;
            msgs.recv_data[src] += 1;
        }
        while msgs.recv_abort[src] < abort {
            comm.recv(src, Tag::Abort)?;
            msgs.recv_abort[src] += 1;
        }
    }
    comm.wait_sends()?;
    Err(first_error.unwrap_or_else(|| {
        Error::internal("a rank stopped the computation without an error of its own")
    }))
}

/// Every rank gets every output value: each rank contributes the outputs it owns.
fn gather_outputs<R: TaskRunner>(
    comm: &dyn Comm,
    runner: &R,
    mine: Vec<(LayerId, usize, R::Value)>,
) -> Result<Outputs<R::Value>> {
    let mut out: Outputs<R::Value> = HashMap::new();
    if comm.size() == 1 {
        for (l, c, v) in mine {
            out.entry(l).or_default().push((c, v));
        }
        return Ok(out);
    }
    let mut bytes = Vec::new();
    for (l, c, v) in &mine {
        let mut one = Vec::new();
        one.extend_from_slice(&l.0.to_le_bytes());
        one.extend_from_slice(&(*c as u64).to_le_bytes());
        runner.encode(v, &mut one);
        bytes.extend_from_slice(&(one.len() as u64).to_le_bytes());
        bytes.extend_from_slice(&one);
    }
    let all = comm.all_gather_bytes(&bytes).map_err(|e| {
        e.with_message(format!(
            "{}; the result is gathered on every rank: reduce it first, or compute it in \
             pieces",
            e.message()
        ))
    })?;
    for (src, b) in all.iter().enumerate() {
        let mut at = 0;
        while at < b.len() {
            let len = b
                .get(at..at + 8)
                .and_then(|x| x.try_into().ok())
                .map(u64::from_le_bytes)
                .ok_or_else(|| Error::Comm(format!("truncated outputs from rank {src}")))?
                as usize;
            let one = b
                .get(at + 8..at + 8 + len)
                .ok_or_else(|| Error::Comm(format!("truncated outputs from rank {src}")))?;
            let (t, v) = decode_value(runner, one, src)?;
            out.entry(t.layer()).or_default().push((t.chunk(), v));
            at += 8 + len;
        }
    }
    Ok(out)
}
