//! Files: each rank reads (and, later, writes) only the regions of the chunks it
//! owns.
//!
//! * [`hdf5`]: HDF5 files — [`Hdf5File`] (open, list, attributes) and
//!   [`Hdf5Variable`], a [`crate::kernel::ChunkSource`] over one dataset.
//! * [`netcdf`]: NetCDF-4 files (HDF5 with netCDF-C's conventions) —
//!   [`NcFile`] with dimensions, variables and attributes.
//! * [`nc_write`]: writing NetCDF-4 files ([`create_file`], [`NcWriter`]).
//! * [`zarr`]: Zarr v3 and v2 stores through `zarrs` — [`ZarrStore`] and
//!   [`ZarrVariable`].
//! * [`open_spec`]: a source opened again from its [`SourceSpec`] (plans sent
//!   between ranks name their sources so).
//! * [`cf`]: CF decoding (`_FillValue`, `missing_value`, `scale_factor`,
//!   `add_offset`) as a source wrapping the raw one.
//!
//! Reading uses HDF5's serial driver and no MPI: any thread of any rank may read.

mod attrs;
pub mod cf;
pub mod hdf5;
pub mod nc_write;
pub mod netcdf;
pub mod zarr;

#[cfg(test)]
mod tests;

pub use self::attrs::{Attr, AttrValue, Attrs};
pub use self::cf::{CfEncoding, Decoded};
pub use self::hdf5::{Entry, EntryKind, Hdf5File, Hdf5Variable, StoredType};
pub use self::nc_write::{create_file, read_strings, NcData, NcLayout, NcType, NcVarDef, NcWriter};
pub use self::netcdf::{NcFile, NcVar};
pub use self::zarr::{ZarrStore, ZarrVariable};

use crate::error::Result;
use crate::kernel::source::SourceSpec;
use crate::kernel::ChunkSource;
use std::sync::Arc;

/// Open the source `spec` describes (a plan received from another rank names
/// its sources so; see [`ChunkSource::spec`]).
///
/// # Errors
/// [`crate::Error::Io`] naming the file and variable, as opening them does.
pub fn open_spec(spec: &SourceSpec) -> Result<Arc<dyn ChunkSource>> {
    match spec {
        SourceSpec::NetCdf {
            path,
            group,
            var,
            decode,
        } => NcFile::open_group(path, group)?.var(var)?.source(*decode),
        SourceSpec::Zarr {
            path,
            array,
            decode,
        } => ZarrVariable::open(path, array)?.source(*decode),
        SourceSpec::Hdf5 { path, dataset } => Ok(Arc::new(Hdf5Variable::open(path, dataset)?)),
    }
}
