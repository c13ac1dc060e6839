//! Rank 0 evaluates, the other ranks follow: the work rank 0 sends while it
//! evaluates a script (`chunkwise run`, `shell`, `serve`), and the loop in
//! which the other ranks wait for it.
//!
//! Rank 0 sends a [`Work`] at each collective step of a script:
//!
//! * every computation of the session (`compute`, `values`, `print` of a
//!   small value, a merge's conflict check: whatever reaches
//!   [`Session::compute_chunks`] or [`Session::compute_owned`]) is sent by the
//!   session's lead hook as [`Work::Compute`], with its plan;
//! * `persist` is [`Work::Persist`]: every rank keeps its own chunks, under
//!   an id that is the same on every rank (persisting is collective, so every
//!   rank counts the same), and later plans name them by that id;
//! * writes and plots are [`Work::Write`], with the whole `DataArray` or
//!   `Dataset` (plans, coordinates, attributes), since writing takes several
//!   collective steps (create, write in turn, rename) that every rank runs
//!   alike;
//! * [`Work::Report`] gathers each rank's memory and work (the dashboard);
//! * [`Work::End`] ends the other ranks' loop with rank 0's outcome.
//!
//! # The message
//!
//! Rank 0 posts an empty [`Tag::Control`] message to each other rank (the
//! wake-up), then broadcasts the work, serialised with postcard (compact,
//! and exact for every float, NaN included, where JSON is not). Plans inside
//! are [`crate::expr::wire`] messages. Waiting ranks poll for the wake-up and
//! sleep between polls (50 µs doubling to [`MAX_SLEEP`], then [`IDLE_SLEEP`]
//! once idle for [`BUSY`]), so an idle session costs their cores almost
//! nothing (a blocking `MPI_Bcast` spins in Open MPI). Measured on an idle
//! 3-rank `serve`: each of the two waiting ranks used 0.06-0.07 s of CPU in
//! 20 s (0.3% of a core). Each
//! message also lists the persisted arrays rank 0 has dropped, which the
//! other ranks then free.
//!
//! After the broadcast every rank agrees that it could decode the work (a
//! file it cannot open fails the step on every rank, with that rank's
//! message); then every rank runs it, and its errors are collective as
//! everywhere else.

use crate::array::Array;
use crate::comm::Tag;
use crate::dataset::{Coords, DataArray, Dataset, Variable, WriteOptions, ZarrWriteOptions};
use crate::error::{Error, Result};
use crate::expr::{wire, Expr};
use crate::io::Attrs;
use crate::kernel::source::SourceSpec;
use crate::kernel::ChunkSource;
use crate::plot::PlotOptions;
use crate::session::{agree, Session};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// The longest sleep of a waiting rank between two polls while work came
/// in the last [`BUSY`]: the most a command that follows another waits for
/// the other ranks to wake up.
pub const MAX_SLEEP: Duration = Duration::from_millis(2);

/// After this long without work, a waiting rank sleeps [`IDLE_SLEEP`]
/// between polls (an idle session then costs each rank about 100 polls a
/// second; the first command after the pause waits up to that much longer).
pub const BUSY: Duration = Duration::from_secs(1);

/// See [`BUSY`].
pub const IDLE_SLEEP: Duration = Duration::from_millis(10);

/// A `DataArray` or `Dataset` to write, with its plans as bytes.
#[derive(Serialize, Deserialize)]
pub(crate) enum WireTarget {
    DataArray {
        name: Option<String>,
        dims: Vec<String>,
        plan: Vec<u8>,
        coords: Coords,
        attrs: Attrs,
    },
    Dataset {
        /// Name, dims, plan, attributes.
        vars: Vec<(String, Vec<String>, Vec<u8>, Attrs)>,
        coords: Coords,
        attrs: Attrs,
        source: Option<String>,
    },
}

/// How to write.
#[derive(Serialize, Deserialize)]
pub(crate) enum WireFormat {
    NetCdf(WriteOptions),
    Zarr(ZarrWriteOptions),
    Png(PlotOptions),
}

/// What rank 0 asks of every rank (see the [module docs](self)).
#[derive(Serialize, Deserialize)]
pub(crate) enum Work {
    Compute {
        plan: Vec<u8>,
        /// Every rank gets the whole result (`compute_chunks`), or each its
        /// own chunks (`compute_owned`).
        gather: bool,
    },
    Persist {
        plan: Vec<u8>,
    },
    Write {
        target: WireTarget,
        path: String,
        format: WireFormat,
    },
    Report,
    End {
        failed: bool,
    },
}

#[derive(Serialize, Deserialize)]
struct Message {
    /// Persisted arrays rank 0 no longer holds.
    release: Vec<u64>,
    work: Work,
}

/// One rank's memory and work, as [`Work::Report`] gathers it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RankReport {
    pub host: String,
    pub rss_bytes: u64,
    pub tasks_run: u64,
}

/// The plan of `a` as a wire message, persisted arrays by their ids.
pub(crate) fn plan_bytes(s: &Session, e: &Expr) -> Result<Vec<u8>> {
    wire::encode_with(e, &|c| s.persisted_id(c))
}

/// A data array with its plan as bytes.
pub(crate) fn wire_data_array(s: &Session, d: &DataArray) -> Result<WireTarget> {
    Ok(WireTarget::DataArray {
        name: d.name.clone(),
        dims: d.dims.clone(),
        plan: plan_bytes(s, d.data.expr()?)?,
        coords: d.coords.clone(),
        attrs: d.attrs.clone(),
    })
}

/// A dataset with its plans as bytes.
pub(crate) fn wire_dataset(s: &Session, d: &Dataset) -> Result<WireTarget> {
    Ok(WireTarget::Dataset {
        vars: d
            .vars
            .iter()
            .map(|(n, v)| {
                Ok((
                    n.clone(),
                    v.dims.clone(),
                    plan_bytes(s, v.data.expr()?)?,
                    v.attrs.clone(),
                ))
            })
            .collect::<Result<_>>()?,
        coords: d.coords.clone(),
        attrs: d.attrs.clone(),
        source: d.source.clone(),
    })
}

/// Rank 0: send `work` to the other ranks, and agree with them that they
/// could decode it. Nothing is sent on a one-rank job.
///
/// # Collective
/// With [`follow`] on the other ranks.
pub(crate) fn send(s: &Session, work: Work) -> Result<()> {
    let comm = s.comm();
    if comm.size() == 1 {
        return Ok(());
    }
    let msg = Message {
        release: s.take_released(),
        work,
    };
    let mut buf = postcard::to_stdvec(&msg)
        .map_err(|e| Error::internal(format!("cannot encode work for the other ranks: {e}")))?;
    for r in 1..comm.size() {
        comm.post_send(r, Tag::Control, Vec::new())?;
    }
    comm.broadcast_bytes(0, &mut buf)?;
    agree(comm, Ok(()))
}

/// Rank 0: send a computation's plan (the session's lead hook).
pub(crate) fn send_compute(s: &Session, e: &Expr, gather: bool) -> Result<()> {
    if s.comm().size() == 1 {
        return Ok(());
    }
    let plan = plan_bytes(s, e)?;
    send(s, Work::Compute { plan, gather })
}

/// Rank 0: every rank's memory and work.
///
/// # Collective
/// With [`follow`] on the other ranks.
pub(crate) fn report(s: &Session) -> Result<Vec<RankReport>> {
    send(s, Work::Report)?;
    gather_report(s)
}

fn gather_report(s: &Session) -> Result<Vec<RankReport>> {
    let mine = RankReport {
        host: crate::session::topology::hostname(),
        rss_bytes: crate::session::rss_bytes().unwrap_or(0),
        tasks_run: s.tasks_run(),
    };
    let bytes = postcard::to_stdvec(&mine)
        .map_err(|e| Error::internal(format!("cannot encode a report: {e}")))?;
    s.comm()
        .all_gather_bytes(&bytes)?
        .iter()
        .enumerate()
        .map(|(r, b)| {
            postcard::from_bytes(b)
                .map_err(|e| Error::Comm(format!("a malformed report from rank {r}: {e}")))
        })
        .collect()
}

/// Rank 0: end the other ranks' loop; they return `failed`.
pub(crate) fn end(s: &Session, failed: bool) -> Result<()> {
    send(s, Work::End { failed })?;
    s.comm().wait_sends()
}

/// What a decoded [`Work`] is on a waiting rank.
enum Task {
    Compute(Expr, bool),
    Persist(Array),
    Write(Target, String, WireFormat),
    Report,
    End(bool),
}

enum Target {
    DataArray(DataArray),
    Dataset(Dataset),
}

/// The loop of the ranks other than 0: wait for work, do it, until rank 0
/// ends the session. Returns whether rank 0 said it failed.
///
/// Errors of the work itself are not returned: they are collective, so rank
/// 0 has them too and reports them; this rank goes on waiting.
///
/// # Errors
/// Only a failure of communication itself (the job is then broken).
pub fn follow(s: &Session) -> Result<bool> {
    let comm = s.comm();
    // Persisted arrays held here, by id, until rank 0 releases them.
    let mut held: HashMap<u64, Array> = HashMap::new();
    loop {
        wait_for_work(s)?;
        let mut buf = Vec::new();
        comm.broadcast_bytes(0, &mut buf)?;
        let task = postcard::from_bytes::<Message>(&buf)
            .map_err(|e| Error::Comm(format!("malformed work from rank 0: {e}")))
            .and_then(|msg| {
                for id in &msg.release {
                    held.remove(id);
                }
                s.take_released();
                decode(s, msg.work)
            });
        let task = match agree(comm, task.as_ref().map(|_| ()).map_err(Clone::clone)) {
            Ok(()) => task?,
            Err(_) => continue,
        };
        match task {
            Task::End(failed) => return Ok(failed),
            Task::Compute(e, gather) => {
                let _ = if gather {
                    s.compute_chunks(&e).map(|_| ())
                } else {
                    s.compute_owned(&e).map(|_| ())
                };
            }
            Task::Persist(a) => {
                if let Ok(p) = a.persist_with(s) {
                    if let Some(id) = stored_id(s, &p) {
                        held.insert(id, p);
                    }
                }
            }
            Task::Write(target, path, format) => {
                let _ = write(s, &target, &path, &format);
            }
            Task::Report => {
                gather_report(s)?;
            }
        }
    }
}

/// The id of a persisted array.
fn stored_id(s: &Session, a: &Array) -> Option<u64> {
    match a.expr().ok()?.op() {
        crate::expr::Op::Stored { chunks } => s.persisted_id(chunks),
        _ => None,
    }
}

/// Wait for rank 0's wake-up without spinning.
fn wait_for_work(s: &Session) -> Result<()> {
    let comm = s.comm();
    let since = std::time::Instant::now();
    let mut sleep = Duration::from_micros(50);
    loop {
        if comm.try_recv(Tag::Control)?.is_some() {
            return Ok(());
        }
        std::thread::sleep(sleep);
        let cap = if since.elapsed() < BUSY {
            MAX_SLEEP
        } else {
            IDLE_SLEEP
        };
        sleep = (sleep * 2).min(cap);
    }
}

fn decode(s: &Session, work: Work) -> Result<Task> {
    let mut opened: HashMap<String, Arc<dyn ChunkSource>> = HashMap::new();
    let mut plan = |bytes: &[u8]| -> Result<Expr> {
        let mut open = |spec: &SourceSpec| -> Result<Arc<dyn ChunkSource>> {
            let key = format!("{spec:?}");
            if let Some(src) = opened.get(&key) {
                return Ok(src.clone());
            }
            let src = crate::io::open_spec(spec)?;
            opened.insert(key, src.clone());
            Ok(src)
        };
        wire::decode_with(bytes, &mut open, &|id| s.persisted(id))
    };
    Ok(match work {
        Work::Compute { plan: p, gather } => Task::Compute(plan(&p)?, gather),
        Work::Persist { plan: p } => Task::Persist(Array::from_expr(plan(&p)?)),
        Work::Write {
            target,
            path,
            format,
        } => {
            let target = match target {
                WireTarget::DataArray {
                    name,
                    dims,
                    plan: p,
                    coords,
                    attrs,
                } => Target::DataArray(DataArray {
                    name,
                    dims,
                    data: Array::from_expr(plan(&p)?),
                    coords,
                    attrs,
                }),
                WireTarget::Dataset {
                    vars,
                    coords,
                    attrs,
                    source,
                } => Target::Dataset(Dataset {
                    vars: vars
                        .into_iter()
                        .map(|(n, dims, p, attrs)| {
                            Ok((
                                n,
                                Variable {
                                    dims,
                                    data: Array::from_expr(plan(&p)?),
                                    attrs,
                                },
                            ))
                        })
                        .collect::<Result<_>>()?,
                    coords,
                    attrs,
                    source,
                }),
            };
            Task::Write(target, path, format)
        }
        Work::Report => Task::Report,
        Work::End { failed } => Task::End(failed),
    })
}

/// Write `target` as `format` (every rank alike).
fn write(s: &Session, target: &Target, path: &str, format: &WireFormat) -> Result<()> {
    match (target, format) {
        (Target::DataArray(d), WireFormat::NetCdf(o)) => d.to_netcdf_with(s, path, o),
        (Target::Dataset(d), WireFormat::NetCdf(o)) => d.to_netcdf_with(s, path, o),
        (Target::DataArray(d), WireFormat::Zarr(o)) => d.to_zarr_with(s, path, o),
        (Target::Dataset(d), WireFormat::Zarr(o)) => d.to_zarr_with(s, path, o),
        (Target::DataArray(d), WireFormat::Png(o)) => {
            crate::plot::plot_with(s, d, Path::new(path), o)
        }
        (Target::Dataset(_), WireFormat::Png(_)) => Err(Error::internal(
            "a plot of a Dataset was sent to the other ranks",
        )),
    }
}
