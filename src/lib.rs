//! # chunkwise
//!
//! Chunked N-dimensional arrays with dask.array's blocked algorithms and names,
//! planned symbolically and executed as one SPMD program (in-process on a rayon
//! pool, or under `mpirun`).
//!
//!
//! The layers of the code, dependencies pointing down only (see DESIGN.md):
//! `error` → `meta` → `kernel` → `expr` → `optimize` → `graph` → `comm` →
//! `exec` → `array` → `session`.

pub mod array;
pub mod comm;
pub mod dataset;
pub mod error;
pub mod exec;
pub mod expr;
pub mod graph;
pub mod io;
pub mod kernel;
pub mod lower;
pub mod meta;
pub mod optimize;
pub mod plot;
pub mod script;
pub mod serve;
pub mod session;
pub mod shell;

pub use error::{Error, Result};
pub use kernel::Chunk;
pub use meta::{ChunkGrid, ChunkSpec, DType};

/// The names most programs need.
pub mod prelude {
    pub use crate::array::{
        concatenate, creation::*, maximum, minimum, random, stack, where_, Array, Axes, Idx, Scalar,
    };
    pub use crate::kernel::Chunk;
    pub use crate::meta::{ChunkGrid, ChunkSpec, DType, DimChunks};
    pub use crate::{Error, Result};
}
