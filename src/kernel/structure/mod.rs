//! Structural kernels on one chunk: strided slices, axis permutations, assembling a
//! chunk from rectangular pieces (rechunk, concatenate), reshapes and blocked matrix
//! products. Every output is a fresh chunk in standard (C-contiguous) layout.
//!
//! The planner validates what users ask for, so a bad selection, permutation or shape
//! reaching a kernel is a bug in chunkwise: every error here is [`Error::Internal`],
//! naming the operation, the piece or axis, and the shapes involved.

mod matmul;
mod strided;
#[cfg(test)]
mod tests;

pub use matmul::matmul_blocks;

use self::strided::{from_vec, slice_typed, standard_vec, transpose_typed, volume};
use crate::error::{Error, Result};
use crate::kernel::{Chunk, Element};
use crate::meta::DType;
use crate::{with_chunk, with_dtype};
use ndarray::{ArrayD, Axis, IxDyn, Slice};
use serde::{Deserialize, Serialize};

/// One dimension of a strided selection inside a chunk: elements `start`,
/// `start + step`, ... (`len` of them).
///
/// Invariants: `step != 0`; for `step < 0`, `start` is the first (highest) index
/// taken. When `len == 0`, `start` and `step` are not looked at beyond `step != 0`.
///
/// ```
/// use chunkwise::kernel::structure::DimSlice;
/// // NumPy's `x[5:0:-2]` on an axis of length 6 takes 5, 3, 1.
/// let d = DimSlice { start: 5, len: 3, step: -2 };
/// assert_eq!(d.step, -2);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DimSlice {
    pub start: usize,
    pub len: usize,
    pub step: isize,
}

/// One rectangular piece of a source chunk copied into an output chunk: the box
/// `src_start .. src_start + extent` of `src` goes to `dst_start .. dst_start + extent`.
#[derive(Debug, Clone)]
pub struct Piece<'a> {
    pub src: &'a Chunk,
    pub src_start: Vec<usize>,
    pub dst_start: Vec<usize>,
    pub extent: Vec<usize>,
}

/// Copy a strided selection of a chunk into a new C-contiguous chunk (`sel.len() == ndim`).
///
/// ```
/// use chunkwise::kernel::{structure::{slice, DimSlice}, Chunk};
/// let c = Chunk::from(ndarray::ArrayD::from_shape_vec(vec![5], vec![0i64, 1, 2, 3, 4]).unwrap());
/// let s = slice(&c, &[DimSlice { start: 4, len: 3, step: -2 }]).unwrap();
/// assert_eq!(s, Chunk::from(ndarray::arr1(&[4i64, 2, 0]).into_dyn()));
/// ```
pub fn slice(c: &Chunk, sel: &[DimSlice]) -> Result<Chunk> {
    with_chunk!(c, a, T => slice_typed(a, sel).map(T::wrap))
}

/// Permute axes (new axis `i` = old axis `perm[i]`) into a C-contiguous chunk.
///
/// The copy is cache-blocked (tiles of 32x32 elements) over the output's last axis and
/// the axis that is contiguous in the source, which covers the 2-D transpose and any
/// permutation of the last two axes.
///
/// ```
/// use chunkwise::kernel::{structure::transpose, Chunk};
/// let c = Chunk::from(ndarray::arr2(&[[1.0f64, 2.0, 3.0], [4.0, 5.0, 6.0]]).into_dyn());
/// let t = transpose(&c, &[1, 0]).unwrap();
/// assert_eq!(t, Chunk::from(ndarray::arr2(&[[1.0f64, 4.0], [2.0, 5.0], [3.0, 6.0]]).into_dyn()));
/// ```
pub fn transpose(c: &Chunk, perm: &[usize]) -> Result<Chunk> {
    with_chunk!(c, a, T => transpose_typed(a, perm).map(T::wrap))
}

/// Build a chunk of `shape`/`dtype` from pieces that exactly tile it (used by rechunk
/// and concatenate). Pieces must have the output dtype and stay in bounds; overlaps
/// and gaps are errors naming the pieces.
///
/// ```
/// use chunkwise::kernel::{structure::{assemble, Piece}, Chunk};
/// use chunkwise::DType;
/// let a = Chunk::from(ndarray::arr1(&[1i32, 2, 3]).into_dyn());
/// let b = Chunk::from(ndarray::arr1(&[7i32, 8]).into_dyn());
/// let pieces = [
///     Piece { src: &a, src_start: vec![1], dst_start: vec![0], extent: vec![2] },
///     Piece { src: &b, src_start: vec![0], dst_start: vec![2], extent: vec![1] },
/// ];
/// let out = assemble(DType::I32, &[3], &pieces).unwrap();
/// assert_eq!(out, Chunk::from(ndarray::arr1(&[2i32, 3, 7]).into_dyn()));
/// ```
pub fn assemble(dtype: DType, shape: &[usize], pieces: &[Piece<'_>]) -> Result<Chunk> {
    check_pieces(dtype, shape, pieces)?;
    with_dtype!(dtype, T => {
        let mut out = ArrayD::<T>::from_elem(IxDyn(shape), T::default());
        for p in pieces {
            let src = p.src.typed::<T>()?;
            let from = src.slice_each_axis(|ad| {
                let k = ad.axis.index();
                Slice::from(p.src_start[k]..p.src_start[k] + p.extent[k])
            });
            out.slice_each_axis_mut(|ad| {
                let k = ad.axis.index();
                Slice::from(p.dst_start[k]..p.dst_start[k] + p.extent[k])
            })
            .assign(&from);
        }
        Ok(T::wrap(out))
    })
}

/// C-order reshape (same element count) into a C-contiguous chunk.
///
/// ```
/// use chunkwise::kernel::{structure::reshape, Chunk};
/// let c = Chunk::from(ndarray::arr2(&[[1i64, 2, 3], [4, 5, 6]]).into_dyn());
/// let r = reshape(&c, &[3, 2]).unwrap();
/// assert_eq!(r, Chunk::from(ndarray::arr2(&[[1i64, 2], [3, 4], [5, 6]]).into_dyn()));
/// ```
pub fn reshape(c: &Chunk, shape: &[usize]) -> Result<Chunk> {
    with_chunk!(c, a, T => {
        let (from, to) = (volume(a.shape(), "reshape")?, volume(shape, "reshape")?);
        if from != to {
            return Err(Error::internal(format!(
                "reshape: a chunk of shape {:?} ({from} elements) cannot become shape {shape:?} \
                 ({to} elements)",
                a.shape()
            )));
        }
        from_vec(shape, standard_vec(a)?).map(T::wrap)
    })
}

/// Insert a length-1 axis at `axis` (`0..=ndim`; for stack / newaxis).
///
/// ```
/// use chunkwise::kernel::{structure::insert_axis, Chunk};
/// let c = Chunk::from(ndarray::arr1(&[1.0f32, 2.0]).into_dyn());
/// assert_eq!(insert_axis(&c, 1).unwrap().shape(), &[2, 1]);
/// ```
pub fn insert_axis(c: &Chunk, axis: usize) -> Result<Chunk> {
    with_chunk!(c, a, T => {
        if axis > a.ndim() {
            return Err(Error::internal(format!(
                "insert_axis: axis {axis} is out of range for a chunk of shape {:?} (at most {})",
                a.shape(),
                a.ndim()
            )));
        }
        let mut shape = a.shape().to_vec();
        shape.insert(axis, 1);
        from_vec(&shape, standard_vec(a)?).map(T::wrap)
    })
}

/// Concatenate chunks along `axis` (all the same dtype and the same other extents).
///
/// ```
/// use chunkwise::kernel::{structure::concatenate, Chunk};
/// let a = Chunk::from(ndarray::arr2(&[[1i32], [2]]).into_dyn());
/// let b = Chunk::from(ndarray::arr2(&[[3i32, 4], [5, 6]]).into_dyn());
/// let c = concatenate(&[&a, &b], 1).unwrap();
/// assert_eq!(c, Chunk::from(ndarray::arr2(&[[1i32, 3, 4], [2, 5, 6]]).into_dyn()));
/// ```
pub fn concatenate(parts: &[&Chunk], axis: usize) -> Result<Chunk> {
    let first = parts
        .first()
        .ok_or_else(|| Error::internal("concatenate: no parts to concatenate"))?;
    let (dtype, shape0) = (first.dtype(), first.shape());
    if axis >= shape0.len() {
        return Err(Error::internal(format!(
            "concatenate: axis {axis} is out of range for parts of shape {shape0:?}"
        )));
    }
    let mut shape = shape0.to_vec();
    shape[axis] = 0;
    for (i, p) in parts.iter().enumerate() {
        if p.dtype() != dtype {
            return Err(Error::internal(format!(
                "concatenate: part {i} has dtype {} but part 0 has dtype {dtype}",
                p.dtype()
            )));
        }
        let s = p.shape();
        let agrees =
            s.len() == shape0.len() && (0..s.len()).all(|k| k == axis || s[k] == shape0[k]);
        if !agrees {
            return Err(Error::internal(format!(
                "concatenate: part {i} has shape {s:?} but part 0 has shape {shape0:?}; \
                 they must agree except on axis {axis}"
            )));
        }
        shape[axis] += s[axis];
    }
    volume(&shape, "concatenate")?;
    with_dtype!(dtype, T => {
        let mut out = ArrayD::<T>::from_elem(IxDyn(&shape), T::default());
        let mut at = 0;
        for p in parts {
            let a = p.typed::<T>()?;
            let len = a.shape()[axis];
            out.slice_axis_mut(Axis(axis), Slice::from(at..at + len)).assign(a);
            at += len;
        }
        Ok(T::wrap(out))
    })
}

fn check_pieces(dtype: DType, shape: &[usize], pieces: &[Piece<'_>]) -> Result<()> {
    let total = volume(shape, "assemble")?;
    let ndim = shape.len();
    let mut covered: u128 = 0;
    for (i, p) in pieces.iter().enumerate() {
        if p.src.dtype() != dtype {
            return Err(Error::internal(format!(
                "assemble: piece {i} has dtype {} but the output chunk has dtype {dtype}",
                p.src.dtype()
            )));
        }
        let src_shape = p.src.shape();
        if [
            p.src_start.len(),
            p.dst_start.len(),
            p.extent.len(),
            src_shape.len(),
        ]
        .iter()
        .any(|&l| l != ndim)
        {
            return Err(Error::internal(format!(
                "assemble: piece {i} (src_start {:?}, dst_start {:?}, extent {:?}, source shape \
                 {src_shape:?}) does not have the {ndim} dimensions of output shape {shape:?}",
                p.src_start, p.dst_start, p.extent
            )));
        }
        for k in 0..ndim {
            let (e, ss, ds) = (p.extent[k], p.src_start[k], p.dst_start[k]);
            if ss.checked_add(e).is_none_or(|end| end > src_shape[k]) {
                return Err(Error::internal(format!(
                    "assemble: piece {i} reads {ss}..{} on axis {k} of a source chunk of shape \
                     {src_shape:?}",
                    ss as u128 + e as u128
                )));
            }
            if ds.checked_add(e).is_none_or(|end| end > shape[k]) {
                return Err(Error::internal(format!(
                    "assemble: piece {i} writes {ds}..{} on axis {k} of output shape {shape:?}",
                    ds as u128 + e as u128
                )));
            }
        }
        covered += p.extent.iter().map(|&e| e as u128).product::<u128>();
    }
    // Sweep along axis 0: only pieces whose axis-0 ranges meet can overlap.
    let lo = |p: &Piece<'_>| p.dst_start.first().copied().unwrap_or(0);
    let hi = |p: &Piece<'_>| p.dst_start.first().map_or(usize::MAX, |&s| s + p.extent[0]);
    let mut order: Vec<usize> = (0..pieces.len()).collect();
    order.sort_by_key(|&i| lo(&pieces[i]));
    for (a, &i) in order.iter().enumerate() {
        for &j in &order[a + 1..] {
            let (p, q) = (&pieces[i], &pieces[j]);
            if lo(q) >= hi(p) {
                break;
            }
            let meet = (0..ndim).all(|k| {
                p.dst_start[k].max(q.dst_start[k])
                    < (p.dst_start[k] + p.extent[k]).min(q.dst_start[k] + q.extent[k])
            });
            if meet {
                let (i, j) = (i.min(j), i.max(j));
                let (p, q) = (&pieces[i], &pieces[j]);
                return Err(Error::internal(format!(
                    "assemble: pieces {i} (dst_start {:?}, extent {:?}) and {j} (dst_start {:?}, \
                     extent {:?}) overlap in output shape {shape:?}",
                    p.dst_start, p.extent, q.dst_start, q.extent
                )));
            }
        }
    }
    if covered != total as u128 {
        return Err(Error::internal(format!(
            "assemble: {} pieces cover {covered} of the {total} elements of output shape \
             {shape:?}, leaving a gap",
            pieces.len()
        )));
    }
    Ok(())
}
