//! What a script's bindings share: the session, the mode (run or explain),
//! rank 0's output, and [`Runtime::execute`], the one function through which
//! every value a script computes, persists or writes goes.

use super::convert::{Failure, Res};
use super::error::ScriptError;
use super::Mode;
use crate::array::Array;
use crate::dataset::{DataArray, Dataset, WriteOptions, ZarrWriteOptions};
use crate::error::{Error, Result};
use crate::kernel::Chunk;
use crate::session::Session;
use rhai::{Dynamic, EvalAltResult, NativeCallContext, Position};
use std::cell::{Cell, RefCell};
use std::io::Write;
use std::rc::Rc;

/// Where a script asks for work, for `explain` and messages.
pub(crate) struct Site {
    pub(crate) line: Option<usize>,
    pub(crate) call: String,
}

impl Site {
    /// The call being evaluated.
    pub(crate) fn of(ctx: &NativeCallContext) -> Site {
        Site {
            line: ctx.call_position().line(),
            call: ctx.fn_name().to_string(),
        }
    }
}

/// What to write.
pub(crate) enum Target<'a> {
    DataArray(&'a DataArray),
    Dataset(&'a Dataset),
}

/// How to write it.
pub(crate) enum Format {
    NetCdf(WriteOptions),
    Zarr(ZarrWriteOptions),
    /// A PNG plot of a DataArray (`plot(x, "file.png")`; rank 0 writes it).
    Png(crate::plot::PlotOptions),
}

/// Work a script asks for.
pub(crate) enum Job<'a> {
    /// The whole array in memory on every rank (`compute()`, `values()`, and
    /// `print` of a small value).
    Compute(&'a Array),
    /// The chunks kept in the ranks' memory (`persist()`).
    Persist(&'a Array),
    /// A file or store written by every rank (`to_netcdf`, `to_zarr`).
    Write {
        target: Target<'a>,
        path: &'a str,
        format: &'a Format,
    },
}

/// What came of a [`Job`].
pub(crate) enum Outcome {
    /// The values; `None` in explain mode.
    Computed(Option<Chunk>),
    Persisted(Array),
    Written,
}

/// The state every binding shares.
pub(crate) struct Runtime {
    session: Rc<Session>,
    mode: Mode,
    out: RefCell<Box<dyn Write>>,
    /// Only rank 0 writes (every rank evaluates the script).
    root: bool,
    /// Jobs explained so far.
    explained: Cell<usize>,
    /// Another rank failed: this one stopped at a job, and does not take part
    /// in the final agreement.
    stopped: Cell<bool>,
}

impl Runtime {
    pub(crate) fn new(session: Rc<Session>, mode: Mode, out: Box<dyn Write>) -> Runtime {
        let root = session.comm().rank() == 0;
        Runtime {
            session,
            mode,
            out: RefCell::new(out),
            root,
            explained: Cell::new(0),
            stopped: Cell::new(false),
        }
    }

    pub(crate) fn session(&self) -> &Session {
        &self.session
    }

    /// Print a line of the script's output (rank 0, `run` only: `explain`
    /// shows plans alone).
    pub(crate) fn print(&self, text: &str) {
        if self.root && self.mode == Mode::Run {
            self.write(text);
        }
    }

    /// The script's `debug` output, on rank 0's standard error.
    pub(crate) fn debug(&self, text: &str, pos: Position) {
        if self.root && self.mode == Mode::Run {
            let line = pos
                .line()
                .map(|l| format!("[line {l}] "))
                .unwrap_or_default();
            let _ = writeln!(std::io::stderr().lock(), "{line}{text}");
        }
    }

    fn write(&self, text: &str) {
        let mut out = self.out.borrow_mut();
        // A closed stdout cannot be reported anywhere better; the run goes on.
        let _ = writeln!(out, "{text}").and_then(|()| out.flush());
    }

    /// Do `job` for the script: compute, persist or write a value, or, in
    /// explain mode, print its plan instead.
    ///
    /// This is the one place where a script's work reaches the session. Every
    /// rank evaluates the script (see the module documentation), so every
    /// rank calls this with the same job in the same order, as the session's
    /// collective functions require. When rank 0 alone evaluates scripts and
    /// broadcasts plans ([`crate::session::broadcast_plan`]), this function is
    /// where rank 0 sends the job and the other ranks, waiting in a loop for
    /// jobs instead of evaluating the script, receive and run it.
    ///
    /// # Collective
    /// Call on every rank, in the same order. It starts by agreeing that no
    /// rank has failed: a rank whose script failed alone (a file its node
    /// cannot read) makes the others stop here instead of waiting for it.
    pub(crate) fn execute(&self, job: Job<'_>, site: &Site, subject: &str) -> Res<Outcome> {
        self.step()?;
        let s = &*self.session;
        let done = match (self.mode, job) {
            (Mode::Explain, job) => self.explain(&job, site, subject).map(|()| match job {
                Job::Compute(_) => Outcome::Computed(None),
                Job::Persist(a) => Outcome::Persisted(a.clone()),
                Job::Write { .. } => Outcome::Written,
            }),
            (Mode::Run, Job::Compute(a)) => a.compute_with(s).map(|c| Outcome::Computed(Some(c))),
            (Mode::Run, Job::Persist(a)) => a.persist_with(s).map(Outcome::Persisted),
            (
                Mode::Run,
                Job::Write {
                    target,
                    path,
                    format,
                },
            ) => match (target, format) {
                (Target::DataArray(d), Format::NetCdf(o)) => d.to_netcdf_with(s, path, o),
                (Target::Dataset(d), Format::NetCdf(o)) => d.to_netcdf_with(s, path, o),
                (Target::DataArray(d), Format::Zarr(o)) => d.to_zarr_with(s, path, o),
                (Target::Dataset(d), Format::Zarr(o)) => d.to_zarr_with(s, path, o),
                (Target::DataArray(d), Format::Png(o)) => {
                    crate::plot::plot_with(s, d, std::path::Path::new(path), o)
                }
                (Target::Dataset(_), Format::Png(_)) => Err(Error::Plan(
                    "plot draws a DataArray; pick a variable first (`plot(ds.air, ...)`)".into(),
                )),
            }
            .map(|()| Outcome::Written),
        };
        done.map_err(super::convert::fail)
    }

    /// Print the plan of `job` (rank 0).
    fn explain(&self, job: &Job<'_>, site: &Site, subject: &str) -> Result<()> {
        let n = self.explained.get() + 1;
        self.explained.set(n);
        let at = site.line.map(|l| format!("line {l}: ")).unwrap_or_default();
        let mut text = format!("[{n}] {at}{} {subject}\n", site.call);
        let s = &*self.session;
        match job {
            Job::Compute(a) | Job::Persist(a) => text.push_str(&a.explain_with(s)?),
            Job::Write { target, path, .. } => {
                let vars: Vec<(String, Array)> = match target {
                    Target::DataArray(d) => {
                        vec![(
                            d.name().unwrap_or("(unnamed)").to_string(),
                            d.data().clone(),
                        )]
                    }
                    Target::Dataset(d) => d
                        .data_vars()
                        .iter()
                        .map(|v| Ok((v.to_string(), d.get(v)?.data().clone())))
                        .collect::<Result<_>>()?,
                };
                text.push_str(&format!("writes `{path}`\n"));
                for (name, a) in vars {
                    text.push_str(&format!("variable `{name}`:\n"));
                    text.push_str(&a.explain_with(s)?);
                }
            }
        }
        if self.root {
            self.write(text.trim_end());
            self.write("");
        }
        Ok(())
    }

    /// Collective: go on only if no rank has failed.
    fn step(&self) -> Res<()> {
        match self.exchange(None) {
            Ok(None) => Ok(()),
            Ok(Some(all)) => {
                self.stopped.set(true);
                let (r, msg) = all
                    .iter()
                    .enumerate()
                    .find_map(|(r, m)| m.as_ref().map(|m| (r, m.clone())))
                    .unwrap_or((0, "a rank failed without a message".into()));
                Err(remote(Error::Plan(format!("rank {r} failed: {msg}"))))
            }
            Err(e) => Err(super::convert::fail(e)),
        }
    }

    /// Collective: every rank's failure, if any rank failed (`None` when all
    /// are well). Cheap when all are well: one reduction.
    fn exchange(&self, mine: Option<String>) -> Result<Option<Vec<Option<String>>>> {
        let comm = self.session.comm();
        if !comm.any(mine.is_some())? {
            return Ok(None);
        }
        let bytes = match &mine {
            Some(m) => [&[1u8][..], m.as_bytes()].concat(),
            None => Vec::new(),
        };
        let all = comm.all_gather_bytes(&bytes)?;
        Ok(Some(
            all.into_iter()
                .map(|b| {
                    b.split_first()
                        .map(|(_, m)| String::from_utf8_lossy(m).into_owned())
                })
                .collect(),
        ))
    }

    /// Collective: the end of a script on this rank. The ranks agree on the
    /// outcome, so that every rank fails if one did, and decide which of them
    /// print the error (see [`ScriptError::is_quiet`]).
    pub(crate) fn finish(
        &self,
        result: std::result::Result<(), ScriptError>,
    ) -> std::result::Result<(), ScriptError> {
        if self.stopped.get() {
            return result;
        }
        let mine = result.as_ref().err().map(|e| e.to_string());
        let all = match self.exchange(mine.clone()) {
            Ok(None) => return result,
            Ok(Some(all)) => all,
            Err(e) => return Err(ScriptError::new("", e.to_string())),
        };
        let rank = self.session.comm().rank();
        match result {
            Err(e) => {
                let said_below = all[..rank.min(all.len())]
                    .iter()
                    .any(|m| m.is_some() && *m == mine);
                Err(if said_below { e.quietly() } else { e })
            }
            Ok(()) => {
                let (r, msg) = all
                    .iter()
                    .enumerate()
                    .find_map(|(r, m)| m.as_ref().map(|m| (r, m.as_str())))
                    .unwrap_or((0, "a rank failed without a message"));
                Err(ScriptError::new("", format!("rank {r} failed: {msg}")).quietly())
            }
        }
    }
}

/// Another rank's failure, as a script error.
fn remote(e: Error) -> Box<EvalAltResult> {
    EvalAltResult::ErrorRuntime(Dynamic::from(Failure::Remote(e)), Position::NONE).into()
}
