//! What a script's bindings share: the session, the mode (run or explain),
//! rank 0's output, and [`Runtime::execute`], the one function through which
//! every value a script computes, persists or writes goes.

use super::convert::Res;
use super::{lead, Mode};
use crate::array::Array;
use crate::dataset::{DataArray, Dataset, WriteOptions, ZarrWriteOptions};
use crate::error::{Error, Result};
use crate::kernel::Chunk;
use crate::session::Session;
use rhai::{NativeCallContext, Position};
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

/// The state every binding shares. It lives on rank 0 only: rank 0
/// evaluates scripts, the other ranks run [`super::lead::follow`].
pub(crate) struct Runtime {
    session: Rc<Session>,
    mode: Mode,
    out: RefCell<Box<dyn Write>>,
    /// Jobs explained so far.
    explained: Cell<usize>,
}

impl Runtime {
    pub(crate) fn new(session: Rc<Session>, mode: Mode, out: Box<dyn Write>) -> Runtime {
        Runtime {
            session,
            mode,
            out: RefCell::new(out),
            explained: Cell::new(0),
        }
    }

    pub(crate) fn session(&self) -> &Session {
        &self.session
    }

    /// Where the script's output goes from now on; the previous writer.
    pub(crate) fn set_output(&self, out: Box<dyn Write>) -> Box<dyn Write> {
        std::mem::replace(&mut *self.out.borrow_mut(), out)
    }

    /// Print a line of the script's output (`run` only: `explain` shows
    /// plans alone).
    pub(crate) fn print(&self, text: &str) {
        if self.mode == Mode::Run {
            self.write(text);
        }
    }

    /// The script's `debug` output, on standard error.
    pub(crate) fn debug(&self, text: &str, pos: Position) {
        if self.mode == Mode::Run {
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
    /// This is the one place where a script's work reaches the session, and
    /// where the other ranks are brought along (see [`super::lead`]): a
    /// computation's plan is sent by the session's lead hook; a persist or a
    /// write is sent whole, and then done with the hook off, since every
    /// rank does the same steps.
    pub(crate) fn execute(&self, job: Job<'_>, site: &Site, subject: &str) -> Res<Outcome> {
        let s = &*self.session;
        let done = match (self.mode, job) {
            (Mode::Explain, job) => self.explain(&job, site, subject).map(|()| match job {
                Job::Compute(_) => Outcome::Computed(None),
                Job::Persist(a) => Outcome::Persisted(a.clone()),
                Job::Write { .. } => Outcome::Written,
            }),
            (Mode::Run, Job::Compute(a)) => a.compute_with(s).map(|c| Outcome::Computed(Some(c))),
            (Mode::Run, Job::Persist(a)) => a
                .expr()
                .and_then(|e| lead::plan_bytes(s, e))
                .and_then(|plan| lead::send(s, lead::Work::Persist { plan }))
                .and_then(|()| s.without_lead(|| a.persist_with(s)))
                .map(Outcome::Persisted),
            (
                Mode::Run,
                Job::Write {
                    target,
                    path,
                    format,
                },
            ) => self
                .write_out(target, path, format)
                .map(|()| Outcome::Written),
        };
        done.map_err(super::convert::fail)
    }

    /// A write or plot, sent to the other ranks and done by all.
    fn write_out(&self, target: Target<'_>, path: &str, format: &Format) -> Result<()> {
        let s = &*self.session;
        if let (Target::Dataset(_), Format::Png(_)) = (&target, format) {
            return Err(Error::Plan(
                "plot draws a DataArray; pick a variable first (`plot(ds.air, ...)`)".into(),
            ));
        }
        if s.comm().size() > 1 {
            let wire_target = match &target {
                Target::DataArray(d) => lead::wire_data_array(s, d)?,
                Target::Dataset(d) => lead::wire_dataset(s, d)?,
            };
            let wire_format = match format {
                Format::NetCdf(o) => lead::WireFormat::NetCdf(o.clone()),
                Format::Zarr(o) => lead::WireFormat::Zarr(o.clone()),
                Format::Png(o) => lead::WireFormat::Png(o.clone()),
            };
            lead::send(
                s,
                lead::Work::Write {
                    target: wire_target,
                    path: path.to_string(),
                    format: wire_format,
                },
            )?;
        }
        s.without_lead(|| match (target, format) {
            (Target::DataArray(d), Format::NetCdf(o)) => d.to_netcdf_with(s, path, o),
            (Target::Dataset(d), Format::NetCdf(o)) => d.to_netcdf_with(s, path, o),
            (Target::DataArray(d), Format::Zarr(o)) => d.to_zarr_with(s, path, o),
            (Target::Dataset(d), Format::Zarr(o)) => d.to_zarr_with(s, path, o),
            (Target::DataArray(d), Format::Png(o)) => {
                crate::plot::plot_with(s, d, std::path::Path::new(path), o)
            }
            (Target::Dataset(_), Format::Png(_)) => Ok(()),
        })
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
        self.write(text.trim_end());
        self.write("");
        Ok(())
    }
}
