//! Labelled arrays with xarray's data model and names: [`DataArray`] and
//! [`Dataset`] (named dims, coordinates, attributes), over chunked arrays.
//!
//! Coordinates are held in memory on every rank (one value per position of a
//! dimension); data stays chunked and lazy until computed.

mod align;
mod concat;
pub mod coord;
mod dataarray;
mod groupby;
mod join;
mod merge;
mod open;
mod repr;
mod set;
pub mod time;
mod window;
mod write;
mod zarr;

pub use coord::{Coord, CoordValues, Coords, Label};
pub use dataarray::{DataArray, Pos, Sel};
pub use set::{Dataset, Variable};

pub use crate::io::{AttrValue, Attrs};
pub use concat::{concat_datasets, ConcatOptions, DataVars};
pub use groupby::GroupBy;
pub use join::Join;
pub use merge::{merge, CombineAttrs, Compat, MergeInput, MergeOptions};
pub use open::{open_dataset, open_mfdataset, open_mfdataset_paths, OpenOptions};
pub use window::{concat, Coarsen, Rolling, Weighted};
pub use write::WriteOptions;
pub use zarr::{open_zarr, ZarrWriteOptions};
