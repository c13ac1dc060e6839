//! [`Chunk`]: the data of one block, an `ndarray` of one of the supported dtypes.

use crate::error::{Error, Result};
use crate::meta::DType;
use ndarray::{ArrayD, ArrayViewD, IxDyn};

/// A numeric element type chunkwise computes with.
pub trait Element: Copy + Send + Sync + PartialOrd + Default + std::fmt::Debug + 'static {
    const DTYPE: DType;
    fn to_f64(self) -> f64;
    fn from_f64(v: f64) -> Self;
    fn to_i64(self) -> i64;
    fn from_i64(v: i64) -> Self;
    fn from_bool(v: bool) -> Self;
    fn is_nan(self) -> bool {
        false
    }
    fn is_true(self) -> bool;
    fn wrap(a: ArrayD<Self>) -> Chunk;
    fn unwrap(c: &Chunk) -> Option<&ArrayD<Self>>;
    fn unwrap_owned(c: Chunk) -> std::result::Result<ArrayD<Self>, Chunk>;
    fn wrap_view(v: ArrayViewD<'_, Self>) -> ChunkView<'_>;
}

macro_rules! num_element {
    ($t:ty, $variant:ident, $nan:expr) => {
        impl Element for $t {
            const DTYPE: DType = DType::$variant;
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn from_f64(v: f64) -> Self {
                v as $t
            }
            #[inline(always)]
            fn to_i64(self) -> i64 {
                self as i64
            }
            #[inline(always)]
            fn from_i64(v: i64) -> Self {
                v as $t
            }
            #[inline(always)]
            fn from_bool(v: bool) -> Self {
                v as u8 as $t
            }
            #[inline(always)]
            #[allow(clippy::redundant_closure_call)]
            fn is_nan(self) -> bool {
                ($nan)(self)
            }
            #[inline(always)]
            fn is_true(self) -> bool {
                self != (0 as $t)
            }
            fn wrap(a: ArrayD<Self>) -> Chunk {
                Chunk::$variant(a)
            }
            fn unwrap(c: &Chunk) -> Option<&ArrayD<Self>> {
                match c {
                    Chunk::$variant(a) => Some(a),
                    _ => None,
                }
            }
            fn unwrap_owned(c: Chunk) -> std::result::Result<ArrayD<Self>, Chunk> {
                match c {
                    Chunk::$variant(a) => Ok(a),
                    other => Err(other),
                }
            }
            fn wrap_view(v: ArrayViewD<'_, Self>) -> ChunkView<'_> {
                ChunkView::$variant(v)
            }
        }
    };
}
num_element!(i32, I32, |_| false);
num_element!(i64, I64, |_| false);
num_element!(f32, F32, |v: f32| v.is_nan());
num_element!(f64, F64, |v: f64| v.is_nan());

impl Element for bool {
    const DTYPE: DType = DType::Bool;
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self as u8 as f64
    }
    #[inline(always)]
    fn from_f64(v: f64) -> Self {
        v != 0.0
    }
    #[inline(always)]
    fn to_i64(self) -> i64 {
        self as i64
    }
    #[inline(always)]
    fn from_i64(v: i64) -> Self {
        v != 0
    }
    #[inline(always)]
    fn from_bool(v: bool) -> Self {
        v
    }
    #[inline(always)]
    fn is_true(self) -> bool {
        self
    }
    fn wrap(a: ArrayD<Self>) -> Chunk {
        Chunk::Bool(a)
    }
    fn unwrap(c: &Chunk) -> Option<&ArrayD<Self>> {
        match c {
            Chunk::Bool(a) => Some(a),
            _ => None,
        }
    }
    fn unwrap_owned(c: Chunk) -> std::result::Result<ArrayD<Self>, Chunk> {
        match c {
            Chunk::Bool(a) => Ok(a),
            other => Err(other),
        }
    }
    fn wrap_view(v: ArrayViewD<'_, Self>) -> ChunkView<'_> {
        ChunkView::Bool(v)
    }
}

/// A typed, borrowed view of a chunk (possibly broadcast or permuted).
pub enum ChunkView<'a> {
    Bool(ArrayViewD<'a, bool>),
    I32(ArrayViewD<'a, i32>),
    I64(ArrayViewD<'a, i64>),
    F32(ArrayViewD<'a, f32>),
    F64(ArrayViewD<'a, f64>),
}

/// The data of one chunk.
#[derive(Debug, Clone, PartialEq)]
pub enum Chunk {
    Bool(ArrayD<bool>),
    I32(ArrayD<i32>),
    I64(ArrayD<i64>),
    F32(ArrayD<f32>),
    F64(ArrayD<f64>),
}

/// Run `$body` with `$a` bound to the typed array inside a [`Chunk`] and `$T` to its
/// element type.
#[macro_export]
macro_rules! with_chunk {
    ($chunk:expr, $a:ident, $T:ident => $body:expr) => {
        match $chunk {
            $crate::kernel::Chunk::Bool($a) => {
                #[allow(dead_code)]
                type $T = bool;
                $body
            }
            $crate::kernel::Chunk::I32($a) => {
                #[allow(dead_code)]
                type $T = i32;
                $body
            }
            $crate::kernel::Chunk::I64($a) => {
                #[allow(dead_code)]
                type $T = i64;
                $body
            }
            $crate::kernel::Chunk::F32($a) => {
                #[allow(dead_code)]
                type $T = f32;
                $body
            }
            $crate::kernel::Chunk::F64($a) => {
                #[allow(dead_code)]
                type $T = f64;
                $body
            }
        }
    };
}

/// Run `$body` with `$T` bound to the Rust type of a [`DType`].
#[macro_export]
macro_rules! with_dtype {
    ($dtype:expr, $T:ident => $body:expr) => {
        match $dtype {
            $crate::meta::DType::Bool => {
                type $T = bool;
                $body
            }
            $crate::meta::DType::I32 => {
                type $T = i32;
                $body
            }
            $crate::meta::DType::I64 => {
                type $T = i64;
                $body
            }
            $crate::meta::DType::F32 => {
                type $T = f32;
                $body
            }
            $crate::meta::DType::F64 => {
                type $T = f64;
                $body
            }
        }
    };
}

impl Chunk {
    pub fn dtype(&self) -> DType {
        match self {
            Chunk::Bool(_) => DType::Bool,
            Chunk::I32(_) => DType::I32,
            Chunk::I64(_) => DType::I64,
            Chunk::F32(_) => DType::F32,
            Chunk::F64(_) => DType::F64,
        }
    }
    pub fn shape(&self) -> &[usize] {
        with_chunk!(self, a, T => a.shape())
    }
    pub fn len(&self) -> usize {
        with_chunk!(self, a, T => a.len())
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Bytes of element data.
    pub fn nbytes(&self) -> usize {
        self.len() * self.dtype().size()
    }
    /// A chunk of `shape` filled with zeros (false).
    pub fn zeros(dtype: DType, shape: &[usize]) -> Chunk {
        with_dtype!(dtype, T => T::wrap(ArrayD::<T>::default(IxDyn(shape))))
    }
    /// The typed array, or an internal error naming both types.
    pub fn typed<T: Element>(&self) -> Result<&ArrayD<T>> {
        T::unwrap(self).ok_or_else(|| {
            Error::internal(format!(
                "chunk has dtype {} but {} was expected",
                self.dtype(),
                T::DTYPE
            ))
        })
    }
    /// Take the typed array out, or an internal error naming both types.
    pub fn into_typed<T: Element>(self) -> Result<ArrayD<T>> {
        T::unwrap_owned(self).map_err(|c| {
            Error::internal(format!(
                "chunk has dtype {} but {} was expected",
                c.dtype(),
                T::DTYPE
            ))
        })
    }
    /// Convert to another dtype with NumPy's `astype` semantics (float→int truncates,
    /// anything→bool is `!= 0`).
    pub fn cast(&self, to: DType) -> Chunk {
        if self.dtype() == to {
            return self.clone();
        }
        with_chunk!(self, a, S => with_dtype!(to, T => T::wrap(a.mapv(cast_scalar::<S, T>))))
    }
    /// Every element as `f64` (for tests and printing).
    pub fn to_f64(&self) -> ArrayD<f64> {
        with_chunk!(self, a, T => a.mapv(|v| v.to_f64()))
    }
}

/// Convert one value between element types the way NumPy's `astype` does.
#[inline(always)]
pub fn cast_scalar<S: Element, T: Element>(v: S) -> T {
    match (S::DTYPE, T::DTYPE) {
        (_, DType::Bool) => T::from_bool(v.is_true()),
        (DType::Bool, _) => T::from_bool(v.is_true()),
        (DType::I32 | DType::I64, DType::I32 | DType::I64) => T::from_i64(v.to_i64()),
        _ => T::from_f64(v.to_f64()),
    }
}

impl<T: Element> From<ArrayD<T>> for Chunk {
    fn from(a: ArrayD<T>) -> Chunk {
        T::wrap(a)
    }
}
