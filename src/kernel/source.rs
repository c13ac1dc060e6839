//! [`ChunkSource`]: where the chunks of an array stored in a file come from.
//!
//! The `io` module implements it for HDF5, NetCDF-4 and Zarr; the plan holds a
//! source as a leaf (`expr::Op::Read`) and every rank reads, through its own
//! handle, only the regions of the chunks it owns.

use crate::error::Result;
use crate::kernel::Chunk;
use crate::meta::DType;

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
}
