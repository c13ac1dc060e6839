//! Chunk grids: how an array's shape is cut into blocks (dask's `.chunks`).
//!
//! A [`ChunkGrid`] holds, per dimension, the sizes of its chunks, which may be
//! irregular (`((3, 3, 2), (5, 5))`). Chunks are numbered in C order; a chunk's
//! position in the grid is a [`ChunkIndex`] (one index per dimension) or its
//! linear number.

use crate::error::{Error, Result};
use crate::meta::DType;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// Default target chunk size for `auto` chunking: 128 MiB, as in dask.
pub const DEFAULT_CHUNK_BYTES: usize = 128 << 20;

/// A chunk's position in its grid, one index per dimension.
pub type ChunkIndex = Vec<usize>;

/// How an array is cut into chunks.
///
/// Invariant: for every dimension `d`, `chunks[d]` sums to the array's extent along
/// `d`; every entry is positive unless the extent is 0, in which case the dimension
/// has the single chunk `[0]`.
///
/// The per-dimension lists are shared: a grid built from another grid's dimensions
/// (an elementwise result, a transpose, a cast) points at the same lists instead of
/// copying them, so a plan node costs O(ndim), not O(chunks along each dimension).
/// Cloning a grid is O(ndim). Equality compares lists by pointer first, then by value.
#[derive(Clone, Eq, Serialize, Deserialize)]
#[serde(from = "RawGrid", into = "RawGrid")]
pub struct ChunkGrid {
    chunks: Vec<Arc<[usize]>>,
}

/// The serialised form of a [`ChunkGrid`] (the same as before the lists were shared).
#[derive(Serialize, Deserialize)]
#[serde(rename = "ChunkGrid")]
struct RawGrid {
    chunks: Vec<Vec<usize>>,
}

impl From<RawGrid> for ChunkGrid {
    fn from(r: RawGrid) -> Self {
        ChunkGrid::from_raw(r.chunks)
    }
}

impl From<ChunkGrid> for RawGrid {
    fn from(g: ChunkGrid) -> Self {
        RawGrid {
            chunks: g.into_raw(),
        }
    }
}

impl PartialEq for ChunkGrid {
    fn eq(&self, other: &Self) -> bool {
        self.chunks.len() == other.chunks.len()
            && self
                .chunks
                .iter()
                .zip(&other.chunks)
                .all(|(a, b)| Arc::ptr_eq(a, b) || a[..] == b[..])
    }
}

// By value, as `eq` (which only adds a pointer shortcut).
impl Hash for ChunkGrid {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.chunks.hash(state);
    }
}

impl fmt::Debug for ChunkGrid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "(")?;
        for (i, c) in self.chunks.iter().enumerate() {
            if i > 0 {
                write!(f, ", ")?;
            }
            write!(f, "(")?;
            for (j, s) in c.iter().enumerate() {
                if j > 0 {
                    write!(f, ", ")?;
                }
                write!(f, "{s}")?;
            }
            write!(f, "{})", if c.len() == 1 { "," } else { "" })?;
        }
        write!(f, "{})", if self.chunks.len() == 1 { "," } else { "" })
    }
}

impl ChunkGrid {
    /// A grid from explicit per-dimension chunk sizes (checked).
    ///
    /// ```
    /// use chunkwise::ChunkGrid;
    /// let g = ChunkGrid::new(vec![vec![3, 3, 2], vec![5, 5]]).unwrap();
    /// assert_eq!(g.shape(), vec![8, 10]);
    /// assert_eq!(g.dim(0), &[3, 3, 2]);
    /// assert!(ChunkGrid::new(vec![vec![3, 0]]).is_err());
    /// ```
    pub fn new(chunks: Vec<Vec<usize>>) -> Result<Self> {
        crate::meta::check_ndim(chunks.len())?;
        let total = chunks
            .iter()
            .try_fold(1usize, |acc, c| acc.checked_mul(c.iter().sum::<usize>()))
            .filter(|&n| n <= (isize::MAX as usize) / 16);
        if total.is_none() {
            let shape: Vec<usize> = chunks.iter().map(|c| c.iter().sum()).collect();
            return Err(Error::plan(format!(
                "an array of shape {shape:?} has more elements than chunkwise can address"
            )));
        }
        for (d, c) in chunks.iter().enumerate() {
            if c.is_empty() {
                return Err(Error::plan(format!("chunks along axis {d} are empty")));
            }
            let total: usize = c.iter().sum();
            if total > 0 && c.contains(&0) {
                return Err(Error::plan(format!(
                    "chunks along axis {d} contain a zero-sized chunk: {c:?}"
                )));
            }
            if total == 0 && c.len() != 1 {
                return Err(Error::plan(format!(
                    "axis {d} has extent 0 and must have the single chunk (0,), got {c:?}"
                )));
            }
        }
        Ok(ChunkGrid::from_raw(chunks))
    }
    /// One chunk covering the whole shape.
    pub fn single(shape: &[usize]) -> Self {
        ChunkGrid {
            chunks: shape.iter().map(|&s| Arc::from([s])).collect(),
        }
    }
    /// Regular chunks of `size[d]` along each dimension (the last one may be smaller).
    pub fn regular(shape: &[usize], size: &[usize]) -> Result<Self> {
        if shape.len() != size.len() {
            return Err(Error::plan(format!(
                "chunk sizes {size:?} have {} dims but the shape {shape:?} has {}",
                size.len(),
                shape.len()
            )));
        }
        Ok(ChunkGrid {
            chunks: shape
                .iter()
                .zip(size)
                .map(|(&n, &c)| Arc::from(regular_dim(n, c)))
                .collect(),
        })
    }
    pub fn ndim(&self) -> usize {
        self.chunks.len()
    }
    /// The array's shape.
    pub fn shape(&self) -> Vec<usize> {
        self.chunks.iter().map(|c| c.iter().sum()).collect()
    }
    /// Chunk sizes along each dimension (dask's `.chunks`), as a copy: O(total
    /// number of chunks along all dimensions). Use [`dim`](Self::dim) to borrow one.
    pub fn chunks(&self) -> Vec<Vec<usize>> {
        self.chunks.iter().map(|c| c.to_vec()).collect()
    }
    /// Chunk sizes along dimension `d`.
    pub fn dim(&self, d: usize) -> &[usize] {
        &self.chunks[d]
    }
    /// Chunk sizes along dimension `d`, shared: clone it to build another grid
    /// with the same chunks along a dimension without copying them.
    pub(crate) fn dim_shared(&self, d: usize) -> &Arc<[usize]> {
        &self.chunks[d]
    }
    /// Number of chunks along each dimension (dask's `.numblocks`).
    pub fn numblocks(&self) -> Vec<usize> {
        self.chunks.iter().map(|c| c.len()).collect()
    }
    /// Total number of chunks.
    pub fn num_chunks(&self) -> usize {
        self.chunks.iter().map(|c| c.len()).product()
    }
    /// Shape of the chunk at `idx`.
    pub fn chunk_shape(&self, idx: &[usize]) -> Vec<usize> {
        idx.iter().zip(&self.chunks).map(|(&i, c)| c[i]).collect()
    }
    /// Global offset of the chunk at `idx` (its first element).
    pub fn chunk_offset(&self, idx: &[usize]) -> Vec<usize> {
        idx.iter()
            .zip(&self.chunks)
            .map(|(&i, c)| c[..i].iter().sum())
            .collect()
    }
    /// Largest chunk's number of elements.
    pub fn max_chunk_elems(&self) -> usize {
        self.chunks
            .iter()
            .map(|c| c.iter().copied().max().unwrap_or(0))
            .product()
    }
    /// Chunk boundaries along `d`: `[0, c0, c0+c1, ..., n]`.
    pub fn boundaries(&self, d: usize) -> Vec<usize> {
        boundaries(&self.chunks[d])
    }
    /// The linear (C-order) number of the chunk at `idx`.
    pub fn linear(&self, idx: &[usize]) -> usize {
        linear_index(idx, &self.numblocks())
    }
    /// The chunk index of linear number `n`.
    pub fn unravel(&self, n: usize) -> ChunkIndex {
        unravel_index(n, &self.numblocks())
    }
    /// The same grid with dimensions reordered: new dim `i` is old dim `perm[i]`.
    /// Shares the lists with `self`.
    pub fn permuted(&self, perm: &[usize]) -> ChunkGrid {
        ChunkGrid {
            chunks: perm.iter().map(|&p| self.chunks[p].clone()).collect(),
        }
    }
    /// The grid with dimension `d` replaced by `c` (a `Vec<usize>`, or a list
    /// shared with another grid); the other dimensions are shared with `self`.
    pub fn with_dim(&self, d: usize, c: impl Into<Arc<[usize]>>) -> ChunkGrid {
        let mut chunks = self.chunks.clone();
        chunks[d] = c.into();
        ChunkGrid { chunks }
    }
    /// Build from raw per-dimension chunks without checks (callers keep the invariant).
    pub(crate) fn from_raw(chunks: Vec<Vec<usize>>) -> ChunkGrid {
        ChunkGrid {
            chunks: chunks.into_iter().map(Arc::from).collect(),
        }
    }
    /// Build from shared per-dimension chunks without checks (callers keep the
    /// invariant): no list is copied.
    pub(crate) fn from_shared(chunks: Vec<Arc<[usize]>>) -> ChunkGrid {
        ChunkGrid { chunks }
    }
    /// The per-dimension chunk sizes, as owned lists (a copy of any shared list).
    pub fn into_raw(self) -> Vec<Vec<usize>> {
        self.chunks.iter().map(|c| c.to_vec()).collect()
    }
}

/// Regular chunks of `c` covering `n` (dask: `blockdims_from_blockshape`).
pub fn regular_dim(n: usize, c: usize) -> Vec<usize> {
    if n == 0 {
        return vec![0];
    }
    let c = c.clamp(1, n);
    let mut v = vec![c; n / c];
    if n % c != 0 {
        v.push(n % c);
    }
    v
}

/// `[0, c0, c0+c1, ..., n]`.
pub fn boundaries(chunks: &[usize]) -> Vec<usize> {
    let mut b = Vec::with_capacity(chunks.len() + 1);
    let mut s = 0;
    b.push(0);
    for &c in chunks {
        s += c;
        b.push(s);
    }
    b
}

/// Row-major linear index of `idx` in a grid of `dims`.
pub fn linear_index(idx: &[usize], dims: &[usize]) -> usize {
    idx.iter().zip(dims).fold(0, |acc, (&i, &n)| acc * n + i)
}

/// Inverse of [`linear_index`].
pub fn unravel_index(mut n: usize, dims: &[usize]) -> Vec<usize> {
    let mut idx = vec![0; dims.len()];
    for d in (0..dims.len()).rev() {
        let m = dims[d].max(1);
        idx[d] = n % m;
        n /= m;
    }
    idx
}

/// The common refinement of two chunkings of the same extent: a chunk boundary
/// wherever either has one (dask's `common_blockdim` when both are needed).
pub fn common_refinement(a: &[usize], b: &[usize]) -> Vec<usize> {
    let (ba, bb) = (boundaries(a), boundaries(b));
    let mut all: Vec<usize> = ba.into_iter().chain(bb).collect();
    all.sort_unstable();
    all.dedup();
    let out: Vec<usize> = all.windows(2).map(|w| w[1] - w[0]).collect();
    if out.is_empty() {
        vec![0]
    } else {
        out
    }
}

/// How the user asks for chunks along one dimension (dask's `chunks=` entries).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum DimChunks {
    /// Blocks of this many elements (the last may be smaller).
    Size(usize),
    /// Exactly these block sizes; must sum to the extent.
    Explicit(Vec<usize>),
    /// One block over the whole dimension (dask's `-1` or `None`).
    Full,
    /// Chosen to reach the target bytes per chunk (dask's `"auto"`).
    Auto,
}

/// How the user asks for chunks of a whole array (dask's `chunks=`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChunkSpec {
    /// `"auto"` on every dimension, aiming at `target_bytes` per chunk.
    Auto { target_bytes: usize },
    /// The same block size on every dimension (`chunks=1000`).
    Uniform(usize),
    /// One entry per dimension.
    PerDim(Vec<DimChunks>),
}

impl Default for ChunkSpec {
    fn default() -> Self {
        ChunkSpec::Auto {
            target_bytes: DEFAULT_CHUNK_BYTES,
        }
    }
}

impl From<usize> for ChunkSpec {
    fn from(s: usize) -> Self {
        ChunkSpec::Uniform(s)
    }
}
impl From<&[usize]> for ChunkSpec {
    fn from(s: &[usize]) -> Self {
        ChunkSpec::PerDim(s.iter().map(|&c| DimChunks::Size(c)).collect())
    }
}
impl<const N: usize> From<[usize; N]> for ChunkSpec {
    fn from(s: [usize; N]) -> Self {
        ChunkSpec::from(&s[..])
    }
}
impl From<Vec<Vec<usize>>> for ChunkSpec {
    fn from(s: Vec<Vec<usize>>) -> Self {
        ChunkSpec::PerDim(s.into_iter().map(DimChunks::Explicit).collect())
    }
}
impl From<ChunkGrid> for ChunkSpec {
    fn from(g: ChunkGrid) -> Self {
        ChunkSpec::from(g.into_raw())
    }
}

/// Turn a chunk request into a checked [`ChunkGrid`] for `shape` (dask's
/// `normalize_chunks`). `auto` dimensions share the byte budget left by the others
/// so that chunks come out roughly cubic, never larger than the dimension.
pub fn normalize_chunks(spec: &ChunkSpec, shape: &[usize], dtype: DType) -> Result<ChunkGrid> {
    let dims: Vec<DimChunks> = match spec {
        ChunkSpec::Auto { .. } => vec![DimChunks::Auto; shape.len()],
        ChunkSpec::Uniform(s) => vec![DimChunks::Size(*s); shape.len()],
        ChunkSpec::PerDim(v) => v.clone(),
    };
    if dims.len() != shape.len() {
        return Err(Error::plan(format!(
            "chunks {spec:?} have {} entries but the array has {} dimensions (shape {shape:?})",
            dims.len(),
            shape.len()
        )));
    }
    let target = match spec {
        ChunkSpec::Auto { target_bytes } => *target_bytes,
        _ => DEFAULT_CHUNK_BYTES,
    };
    let mut out: Vec<Option<Vec<usize>>> = vec![None; shape.len()];
    for (d, (dc, &n)) in dims.iter().zip(shape).enumerate() {
        out[d] = match dc {
            DimChunks::Size(0) => {
                return Err(Error::plan(format!(
                    "chunk size 0 along axis {d} (shape {shape:?})"
                )))
            }
            DimChunks::Size(s) => Some(regular_dim(n, *s)),
            DimChunks::Full => Some(vec![n]),
            DimChunks::Explicit(v) => {
                let total: usize = v.iter().sum();
                if total != n {
                    return Err(Error::plan(format!(
                        "explicit chunks {v:?} along axis {d} sum to {total}, but the extent is {n}"
                    )));
                }
                if n > 0 && v.contains(&0) {
                    return Err(Error::plan(format!(
                        "explicit chunks {v:?} along axis {d} contain a zero-sized chunk"
                    )));
                }
                Some(if n == 0 { vec![0] } else { v.clone() })
            }
            DimChunks::Auto => None,
        };
    }
    // Auto dims: share what is left of the budget, roughly equally (cube root etc.).
    let mut auto: Vec<usize> = (0..shape.len()).filter(|&d| out[d].is_none()).collect();
    if !auto.is_empty() {
        let fixed: usize = (0..shape.len())
            .filter_map(|d| {
                out[d]
                    .as_ref()
                    .map(|c| c.iter().copied().max().unwrap_or(1).max(1))
            })
            .product();
        let mut budget = (target / dtype.size() / fixed.max(1)).max(1) as f64;
        // Dims smaller than their share take their whole extent; repeat until stable.
        loop {
            let share = budget.powf(1.0 / auto.len() as f64);
            let small: Vec<usize> = auto
                .iter()
                .copied()
                .filter(|&d| (shape[d] as f64) <= share)
                .collect();
            if small.is_empty() {
                let size = (share.floor() as usize).max(1);
                for &d in &auto {
                    out[d] = Some(regular_dim(shape[d], size));
                }
                break;
            }
            for &d in &small {
                out[d] = Some(vec![shape[d]]);
                budget = (budget / shape[d].max(1) as f64).max(1.0);
            }
            auto.retain(|d| !small.contains(d));
            if auto.is_empty() {
                break;
            }
        }
    }
    ChunkGrid::new(out.into_iter().map(|c| c.unwrap_or_default()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_like_dask() {
        // dask.array.core.normalize_chunks((3, 2), (10, 5)) == ((3, 3, 3, 1), (2, 2, 1))
        let g = normalize_chunks(&[3, 2].into(), &[10, 5], DType::F64).unwrap();
        assert_eq!(g.chunks(), &[vec![3, 3, 3, 1], vec![2, 2, 1]]);
        let g = normalize_chunks(
            &ChunkSpec::PerDim(vec![DimChunks::Full, DimChunks::Explicit(vec![1, 4])]),
            &[10, 5],
            DType::F64,
        )
        .unwrap();
        assert_eq!(g.chunks(), &[vec![10], vec![1, 4]]);
    }

    #[test]
    fn auto_chunks_fit_the_target() {
        let g = normalize_chunks(
            &ChunkSpec::Auto {
                target_bytes: 8 * 1000 * 1000,
            },
            &[20000, 20000],
            DType::F64,
        )
        .unwrap();
        assert_eq!(g.dim(0)[0], 1000);
        assert_eq!(g.dim(1)[0], 1000);
        // A small dimension takes its whole extent, the other grows.
        let g = normalize_chunks(
            &ChunkSpec::Auto {
                target_bytes: 8 * 1000 * 1000,
            },
            &[10, 10_000_000],
            DType::F64,
        )
        .unwrap();
        assert_eq!(g.dim(0), &[10]);
        assert_eq!(g.dim(1)[0], 100_000);
    }

    #[test]
    fn bad_explicit_chunks_are_plan_errors() {
        let e = normalize_chunks(&vec![vec![3, 3]].into(), &[7], DType::F64).unwrap_err();
        assert!(
            matches!(e, Error::Plan(ref m) if m.contains("sum to 6") && m.contains("extent is 7")),
            "{e}"
        );
        let e = normalize_chunks(&[2, 2].into(), &[7], DType::F64).unwrap_err();
        assert!(
            matches!(e, Error::Plan(ref m) if m.contains("2 entries")),
            "{e}"
        );
    }

    #[test]
    fn zero_extent_has_one_empty_chunk() {
        let g = normalize_chunks(&[4].into(), &[0], DType::F64).unwrap();
        assert_eq!(g.chunks(), &[vec![0]]);
    }

    #[test]
    fn grids_are_equal_by_value_whether_or_not_lists_are_shared() {
        use std::collections::hash_map::DefaultHasher;
        let hash = |g: &ChunkGrid| {
            let mut h = DefaultHasher::new();
            g.hash(&mut h);
            h.finish()
        };
        let a = ChunkGrid::new(vec![vec![3, 3, 2], vec![5, 5]]).unwrap();
        let b = ChunkGrid::regular(&[8, 10], &[3, 5]).unwrap();
        let c = a.with_dim(1, vec![5, 4, 1]);
        assert!(!Arc::ptr_eq(a.dim_shared(0), b.dim_shared(0)));
        assert_eq!(a, b);
        assert_eq!(hash(&a), hash(&b));
        assert!(Arc::ptr_eq(a.dim_shared(0), c.dim_shared(0)));
        assert_ne!(a, c);
        assert_ne!(a, ChunkGrid::new(vec![vec![3, 3, 2]]).unwrap());
        assert_eq!(a.permuted(&[1, 0]).permuted(&[1, 0]), a);
        assert_eq!(a.chunks(), vec![vec![3, 3, 2], vec![5, 5]]);
        assert_eq!(a.clone().into_raw(), a.chunks());
        assert_eq!(format!("{c:?}"), "((3, 3, 2), (5, 4, 1))");
    }

    #[test]
    fn refinement_merges_boundaries() {
        assert_eq!(common_refinement(&[3, 3, 4], &[5, 5]), vec![3, 2, 1, 4]);
    }
}
