//! Array metadata: element types, shapes and chunk grids, and the index arithmetic
//! on them. No data, no ranks.

mod dtype;
mod grid;

pub use dtype::DType;
pub use grid::{
    boundaries, common_refinement, linear_index, normalize_chunks, regular_dim, unravel_index,
    ChunkGrid, ChunkIndex, ChunkSpec, DimChunks, DEFAULT_CHUNK_BYTES,
};

/// Most dimensions an array may have (NumPy 1.x's limit).
pub const MAX_DIMS: usize = 32;

/// A [`crate::Error::Plan`] if `ndim` exceeds [`MAX_DIMS`].
pub fn check_ndim(ndim: usize) -> crate::Result<()> {
    if ndim > MAX_DIMS {
        return Err(crate::Error::plan(format!(
            "arrays of more than {MAX_DIMS} dimensions are not supported (got {ndim})"
        )));
    }
    Ok(())
}

/// Broadcast two shapes with NumPy's rules; `None` if they do not broadcast.
pub fn broadcast_shapes(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let n = a.len().max(b.len());
    let mut out = vec![0; n];
    for i in 0..n {
        let da = if i + a.len() >= n {
            a[i + a.len() - n]
        } else {
            1
        };
        let db = if i + b.len() >= n {
            b[i + b.len() - n]
        } else {
            1
        };
        out[i] = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => return None,
        };
    }
    Some(out)
}

/// Normalise a possibly negative axis against `ndim`.
pub fn normalize_axis(axis: isize, ndim: usize) -> crate::Result<usize> {
    let n = ndim as isize;
    if axis >= n || axis < -n {
        return Err(crate::Error::plan(format!(
            "axis {axis} is out of bounds for an array of dimension {ndim}"
        )));
    }
    Ok(if axis < 0 {
        (axis + n) as usize
    } else {
        axis as usize
    })
}
