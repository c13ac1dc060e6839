//! The user's chunked [`Array`]: dask.array's API and names, NumPy's semantics.
//!
//! Operations build a plan; nothing runs until [`Array::compute`] (or
//! [`Array::persist`]). Operator overloads (`&a + &b`) cannot return a `Result`,
//! so an invalid operation gives an array that carries its [`Error::Plan`]: the
//! error surfaces, unchanged, from `compute`, `explain` or [`Array::check`]. The
//! named methods (`a.add(&b)`) return the error at once.
//!
//! ```
//! use chunkwise::prelude::*;
//! let x = random::random(&[1000, 1000], [250, 250], 42).unwrap();
//! let y = (&x + &x.t()).mean(None, false).unwrap();
//! let v = y.compute().unwrap().to_f64();
//! assert!((v[[]] - 1.0).abs() < 0.01);
//! ```

pub mod creation;
mod index;
mod ops;
mod reductions;
mod shape_ops;

use crate::error::{Error, Result};
use crate::expr::{self, Expr};
use crate::kernel::{Chunk, Element};
use crate::meta::{normalize_chunks, ChunkSpec, DType};
use crate::session::{self, Session};
use ndarray::ArrayD;

pub use creation::random;
pub use index::{slice_indices, Idx};
pub use ops::{maximum, minimum, where_, Operand};
pub use reductions::Axes;
pub use shape_ops::{concatenate, stack};

/// A scalar operand (`x + 1.0`, `full(.., 7)`), typed like a Python scalar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scalar {
    Bool(bool),
    Int(i64),
    Float(f64),
}

impl Scalar {
    pub fn as_f64(self) -> f64 {
        match self {
            Scalar::Bool(b) => b as u8 as f64,
            Scalar::Int(i) => i as f64,
            Scalar::Float(f) => f,
        }
    }
    /// NumPy's type for an array made from this scalar alone.
    pub fn dtype(self) -> DType {
        match self {
            Scalar::Bool(_) => DType::Bool,
            Scalar::Int(_) => DType::I64,
            Scalar::Float(_) => DType::F64,
        }
    }
}

impl From<f64> for Scalar {
    fn from(v: f64) -> Self {
        Scalar::Float(v)
    }
}
impl From<f32> for Scalar {
    fn from(v: f32) -> Self {
        Scalar::Float(v as f64)
    }
}
impl From<i64> for Scalar {
    fn from(v: i64) -> Self {
        Scalar::Int(v)
    }
}
impl From<i32> for Scalar {
    fn from(v: i32) -> Self {
        Scalar::Int(v as i64)
    }
}
impl From<usize> for Scalar {
    fn from(v: usize) -> Self {
        Scalar::Int(v as i64)
    }
}
impl From<bool> for Scalar {
    fn from(v: bool) -> Self {
        Scalar::Bool(v)
    }
}

/// A lazy chunked N-dimensional array.
#[derive(Clone)]
pub struct Array {
    inner: std::result::Result<Expr, Error>,
}

impl std::fmt::Debug for Array {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.inner {
            Ok(e) => write!(
                f,
                "chunkwise.Array<shape={:?}, dtype={}, chunksize={:?}, numblocks={:?}>",
                e.shape(),
                e.dtype(),
                (0..e.ndim())
                    .map(|d| e.grid().dim(d).first().copied().unwrap_or(0))
                    .collect::<Vec<_>>(),
                e.grid().numblocks()
            ),
            Err(err) => write!(f, "chunkwise.Array<invalid: {err}>"),
        }
    }
}

impl Array {
    pub(crate) fn from_expr(e: Expr) -> Array {
        Array { inner: Ok(e) }
    }
    pub(crate) fn from_result(r: Result<Expr>) -> Array {
        Array { inner: r }
    }
    /// The plan node, or the error this array carries.
    pub fn expr(&self) -> Result<&Expr> {
        self.inner.as_ref().map_err(|e| e.clone())
    }
    /// `Ok(())`, or the error an operation that built this array ran into.
    pub fn check(&self) -> Result<()> {
        self.expr().map(|_| ())
    }
    /// The shape (empty for an invalid array; see [`check`](Self::check)).
    pub fn shape(&self) -> Vec<usize> {
        self.inner.as_ref().map(|e| e.shape()).unwrap_or_default()
    }
    pub fn ndim(&self) -> usize {
        self.shape().len()
    }
    /// Number of elements.
    pub fn size(&self) -> usize {
        self.shape().iter().product()
    }
    pub fn dtype(&self) -> DType {
        self.inner.as_ref().map(|e| e.dtype()).unwrap_or(DType::F64)
    }
    /// Chunk sizes per dimension (dask's `.chunks`).
    pub fn chunks(&self) -> Vec<Vec<usize>> {
        self.inner
            .as_ref()
            .map(|e| e.grid().chunks())
            .unwrap_or_default()
    }
    /// Chunks per dimension (dask's `.numblocks`).
    pub fn numblocks(&self) -> Vec<usize> {
        self.inner
            .as_ref()
            .map(|e| e.grid().numblocks())
            .unwrap_or_default()
    }
    /// Bytes of the whole array.
    pub fn nbytes(&self) -> usize {
        self.size() * self.dtype().size()
    }

    /// Apply a checked plan constructor to this array's node.
    pub(crate) fn then(&self, f: impl FnOnce(&Expr) -> Result<Expr>) -> Array {
        Array::from_result(self.expr().and_then(f))
    }

    /// Cast to `dtype` (NumPy's `astype`).
    pub fn astype(&self, dtype: DType) -> Array {
        self.then(|e| Ok(expr::cast(e, dtype)))
    }

    /// New chunks (dask's `rechunk`); values unchanged.
    pub fn rechunk(&self, chunks: impl Into<ChunkSpec>) -> Result<Array> {
        let e = self.expr()?;
        let grid = normalize_chunks(&chunks.into(), &e.shape(), e.dtype())?;
        Ok(Array::from_expr(expr::rechunk(e, grid)?))
    }

    /// Apply `f` to every chunk (dask's `map_blocks`). `f` gets the chunk and its
    /// index in the chunk grid and must return a chunk of the same shape and of dtype
    /// `dtype`; an error it returns is reported with the chunk's index.
    pub fn map_blocks<F>(&self, f: F, dtype: DType) -> Array
    where
        F: Fn(&Chunk, &[usize]) -> Result<Chunk> + Send + Sync + 'static,
    {
        self.then(|e| {
            Ok(expr::map_blocks(
                e,
                std::sync::Arc::new(f),
                dtype,
                "closure",
            ))
        })
    }

    /// Compute the whole array with the default session.
    ///
    /// # Collective
    /// Under MPI, call on every rank in the same order.
    pub fn compute(&self) -> Result<Chunk> {
        self.compute_with(&*session::global()?)
    }

    /// Compute with a given session.
    pub fn compute_with(&self, s: &Session) -> Result<Chunk> {
        s.compute(self.expr()?)
    }

    /// Compute into an `ndarray` of element type `T` (cast if the dtype differs).
    pub fn to_ndarray<T: Element>(&self) -> Result<ArrayD<T>> {
        let c = self.compute()?;
        c.cast(T::DTYPE).into_typed::<T>()
    }

    /// Compute and keep the chunks in memory; later plans start from them
    /// (dask's `persist`).
    pub fn persist(&self) -> Result<Array> {
        self.persist_with(&*session::global()?)
    }

    /// [`persist`](Self::persist) with a given session.
    ///
    /// Under MPI each rank keeps only the chunks it owns (nothing is
    /// gathered), and later plans read them where they are; such an array can
    /// be used only in this session.
    pub fn persist_with(&self, s: &Session) -> Result<Array> {
        let e = self.expr()?;
        let mut chunks: Vec<Option<crate::kernel::Chunk>> =
            (0..e.grid().num_chunks()).map(|_| None).collect();
        for (i, c) in s.compute_owned(e)? {
            if let Some(slot) = chunks.get_mut(i) {
                *slot = Some(c);
            }
        }
        let stored = expr::stored(chunks, e.dtype(), e.grid().clone())?;
        if let expr::Op::Stored { chunks } = stored.op() {
            s.register_persisted(chunks);
        }
        Ok(Array::from_expr(stored))
    }

    /// The optimised plan as text (layers, task counts, fusion, projected memory).
    pub fn explain(&self) -> Result<String> {
        session::global()?.explain(self.expr()?)
    }

    /// [`explain`](Self::explain) with a given session.
    pub fn explain_with(&self, s: &Session) -> Result<String> {
        s.explain(self.expr()?)
    }
}
