//! Work on one chunk: fused elementwise programs, partial reductions and their
//! combination, structural kernels (slice, transpose, assemble, matmul blocks) and
//! the counter-based generators. No ranks, no graph.

mod chunk;
pub mod fused;
pub mod generate;
pub mod reduce;
pub mod source;
pub mod structure;
pub mod wire;

pub use chunk::{cast_scalar, Chunk, ChunkView, Element};
pub use source::ChunkSource;
