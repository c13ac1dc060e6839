//! [`ChunkSource`]: where the chunks of an array stored in a file come from.
//!
//! The `io` module implements it for HDF5, NetCDF-4 and Zarr; the plan holds a
//! source as a leaf (`expr::Op::Read`) and every rank reads, through its own
//! handle, only the regions of the chunks it owns.

use crate::error::Result;
use crate::kernel::Chunk;
use crate::meta::DType;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// `Ok` if the region `start`, `count` lies inside `src` (what
/// [`ChunkSource::read`] implementations check first), else an
/// [`crate::Error::Plan`] naming the source.
pub fn check_region(src: &dyn ChunkSource, start: &[usize], count: &[usize]) -> Result<()> {
    let shape = src.shape();
    let nd = shape.len();
    let inside = start.len() == nd
        && count.len() == nd
        && (0..nd).all(|d| {
            start[d]
                .checked_add(count[d])
                .is_some_and(|e| e <= shape[d])
        });
    if inside {
        Ok(())
    } else {
        Err(crate::Error::plan(format!(
            "read of {} at start {start:?}, count {count:?} is outside its shape {shape:?}",
            src.describe()
        )))
    }
}

/// How to open a source again, in another process: what a plan sent to other
/// ranks carries instead of the open handle (`expr::wire`). The `io` module
/// opens it (`io::open_spec`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SourceSpec {
    /// Variable `var` of group `group` (`""`: the root) of a NetCDF-4 file,
    /// CF-decoded when `decode`.
    NetCdf {
        path: PathBuf,
        group: String,
        var: String,
        decode: bool,
    },
    /// Array `array` of a Zarr store, CF-decoded when `decode`.
    Zarr {
        path: PathBuf,
        array: String,
        decode: bool,
    },
    /// An HDF5 dataset, as stored.
    Hdf5 { path: PathBuf, dataset: String },
}

impl SourceSpec {
    /// The same variable, CF-decoded (`None` for a plain HDF5 dataset, which
    /// is opened as stored).
    pub fn decoded(&self) -> Option<SourceSpec> {
        let mut s = self.clone();
        match &mut s {
            SourceSpec::NetCdf { decode, .. } | SourceSpec::Zarr { decode, .. } => *decode = true,
            SourceSpec::Hdf5 { .. } => return None,
        }
        Some(s)
    }
}

/// A stored N-d variable that can be read by region.
///
/// Implementations are cheap to share (`Arc<dyn ChunkSource>`) and safe to read
/// from several threads at once (serialising internally if the library
/// underneath needs it, as HDF5 does).
pub trait ChunkSource: Send + Sync {
    /// The variable's shape.
    fn shape(&self) -> &[usize];

    /// The dtype `read` returns: the stored type, or the decoded one (CF
    /// `scale_factor` or a fill value turned into NaN give a float).
    fn dtype(&self) -> DType;

    /// The file's own chunk shape, when it stores the variable in chunks: the
    /// natural chunks of the array read from it.
    fn file_chunks(&self) -> Option<Vec<usize>>;

    /// Read the region starting at `start` with `count` elements per dim
    /// (`start[d] + count[d] <= shape()[d]`), as a C-order chunk of `dtype()`.
    ///
    /// # Errors
    /// [`crate::Error::Io`] naming the file and variable (see [`describe`]) when
    /// the read fails (a truncated or corrupt file, say).
    ///
    /// [`describe`]: ChunkSource::describe
    fn read(&self, start: &[usize], count: &[usize]) -> Result<Chunk>;

    /// What is read, for messages and `explain()`: "variable `air` of
    /// `data/air_2000.nc`".
    fn describe(&self) -> String;

    /// How to open this source again elsewhere; `None` for one that cannot
    /// be (an in-memory test source), so a plan holding it stays on its rank.
    fn spec(&self) -> Option<SourceSpec> {
        None
    }
}
