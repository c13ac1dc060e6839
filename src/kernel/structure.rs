//! Structural kernels on one chunk: strided slices, axis permutations, assembling a
//! chunk from rectangular pieces (rechunk, concatenate), reshapes and blocked matrix
//! products. Every output is a fresh chunk in standard (C-contiguous) layout.
//!
//! The planner validates what users ask for, so a bad selection, permutation or shape
//! reaching a kernel is a bug in chunkwise: every error here is [`Error::Internal`],
//! naming the operation, the piece or axis, and the shapes involved.

use crate::error::{Error, Result};
use crate::kernel::{Chunk, Element};
use crate::meta::DType;
use crate::{with_chunk, with_dtype};
use ndarray::{ArrayD, Axis, Ix2, IxDyn, LinalgScalar, Slice};
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

/// `sum_k a_k @ b_k` for 2-D blocks, accumulated left to right in the given order (the
/// order is part of the bits). All blocks must already have dtype `out`.
///
/// Floats use ndarray's `dot` (matrixmultiply). Integers use a plain loop with wrapping
/// arithmetic (the bits of ndarray's generic `dot` in release builds, without its
/// overflow panic in debug builds). `bool` is NumPy's bool matmul: OR of ANDs.
///
/// ```
/// use chunkwise::kernel::{structure::matmul_blocks, Chunk};
/// use chunkwise::DType;
/// let a0 = Chunk::from(ndarray::arr2(&[[1i64], [2]]).into_dyn()); // 2x1
/// let b0 = Chunk::from(ndarray::arr2(&[[3i64, 4]]).into_dyn()); // 1x2
/// let a1 = Chunk::from(ndarray::arr2(&[[5i64], [6]]).into_dyn());
/// let b1 = Chunk::from(ndarray::arr2(&[[7i64, 8]]).into_dyn());
/// let p = matmul_blocks(&[(&a0, &b0), (&a1, &b1)], DType::I64).unwrap();
/// assert_eq!(p, Chunk::from(ndarray::arr2(&[[38i64, 44], [48, 56]]).into_dyn()));
/// ```
pub fn matmul_blocks(pairs: &[(&Chunk, &Chunk)], out: DType) -> Result<Chunk> {
    let (m, n) = check_blocks(pairs, out)?;
    match out {
        DType::F32 => float_blocks::<f32>(pairs, m, n),
        DType::F64 => float_blocks::<f64>(pairs, m, n),
        DType::I32 => loop_blocks::<i32>(pairs, m, n, i32::wrapping_mul, i32::wrapping_add),
        DType::I64 => loop_blocks::<i64>(pairs, m, n, i64::wrapping_mul, i64::wrapping_add),
        DType::Bool => loop_blocks::<bool>(pairs, m, n, |x, y| x && y, |x, y| x || y),
    }
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

// ---------------------------------------------------------------------------------
// Typed implementations.

fn slice_typed<T: Element>(a: &ArrayD<T>, sel: &[DimSlice]) -> Result<ArrayD<T>> {
    if sel.len() != a.ndim() {
        return Err(Error::internal(format!(
            "slice: the selection has {} dimensions but the chunk has shape {:?}",
            sel.len(),
            a.shape()
        )));
    }
    for (axis, (d, &n)) in sel.iter().zip(a.shape()).enumerate() {
        if d.step == 0 {
            return Err(Error::internal(format!(
                "slice: axis {axis} has step 0 ({d:?})"
            )));
        }
        let last = d.start as i128 + (d.len as i128 - 1) * d.step as i128;
        if d.len > 0 && (d.start >= n || last < 0 || last >= n as i128) {
            return Err(Error::internal(format!(
                "slice: on axis {axis}, {d:?} (indices {} to {last}) leaves extent {n} of chunk \
                 shape {:?}",
                d.start,
                a.shape()
            )));
        }
    }
    let shape: Vec<usize> = sel.iter().map(|d| d.len).collect();
    with_memory(a, |mem| {
        let mut offset = mem.offset;
        let mut strides = Vec::with_capacity(sel.len());
        for (d, &st) in sel.iter().zip(&mem.strides) {
            if d.len > 0 {
                offset += d.start as isize * st;
            }
            // A stride is only ever multiplied by an index below `len`.
            strides.push(if d.len > 1 { d.step * st } else { 0 });
        }
        let view = Mem {
            data: mem.data,
            offset,
            strides,
        };
        from_vec(&shape, gather(&view, &shape)?)
    })
}

fn transpose_typed<T: Element>(a: &ArrayD<T>, perm: &[usize]) -> Result<ArrayD<T>> {
    let mut seen = vec![false; a.ndim()];
    let valid = perm.len() == a.ndim()
        && perm
            .iter()
            .all(|&p| p < seen.len() && !std::mem::replace(&mut seen[p], true));
    if !valid {
        return Err(Error::internal(format!(
            "transpose: {perm:?} is not a permutation of the axes of a chunk of shape {:?}",
            a.shape()
        )));
    }
    let shape: Vec<usize> = perm.iter().map(|&p| a.shape()[p]).collect();
    with_memory(a, |mem| {
        let strides = perm.iter().map(|&p| mem.strides[p]).collect();
        let view = Mem {
            data: mem.data,
            offset: mem.offset,
            strides,
        };
        from_vec(&shape, gather(&view, &shape)?)
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

/// Rows and columns of the product, after checking every pair.
fn check_blocks(pairs: &[(&Chunk, &Chunk)], out: DType) -> Result<(usize, usize)> {
    let mut mn = None;
    for (i, (a, b)) in pairs.iter().enumerate() {
        let (sa, sb) = (a.shape(), b.shape());
        if a.dtype() != out || b.dtype() != out {
            return Err(Error::internal(format!(
                "matmul_blocks: pair {i} has dtypes {} @ {} but the output dtype is {out}",
                a.dtype(),
                b.dtype()
            )));
        }
        if sa.len() != 2 || sb.len() != 2 || sa[1] != sb[0] {
            return Err(Error::internal(format!(
                "matmul_blocks: pair {i} has shapes {sa:?} @ {sb:?}, which are not 2-D blocks \
                 with matching inner extents"
            )));
        }
        match mn {
            None => mn = Some((sa[0], sb[1])),
            Some((m, n)) if (m, n) != (sa[0], sb[1]) => {
                return Err(Error::internal(format!(
                    "matmul_blocks: pair {i} has shapes {sa:?} @ {sb:?}, giving a {}x{} product, \
                     but pair 0 gives {m}x{n}",
                    sa[0], sb[1]
                )))
            }
            Some(_) => {}
        }
    }
    let (m, n) = mn.ok_or_else(|| Error::internal("matmul_blocks: no block pairs to multiply"))?;
    volume(&[m, n], "matmul_blocks")?;
    Ok((m, n))
}

fn float_blocks<T: Element + LinalgScalar>(
    pairs: &[(&Chunk, &Chunk)],
    m: usize,
    n: usize,
) -> Result<Chunk> {
    fn as2<T: Element>(c: &Chunk) -> Result<ndarray::ArrayView2<'_, T>> {
        c.typed::<T>()?
            .view()
            .into_dimensionality::<Ix2>()
            .map_err(|e| Error::internal(format!("matmul_blocks: block {:?}: {e}", c.shape())))
    }
    let mut acc: Option<ndarray::Array2<T>> = None;
    for (a, b) in pairs {
        let p = as2::<T>(a)?.dot(&as2::<T>(b)?);
        match acc.as_mut() {
            None => acc = Some(p),
            Some(acc) => acc.zip_mut_with(&p, |x, &y| *x = *x + y),
        }
    }
    let acc = acc
        .unwrap_or_else(|| ndarray::Array2::zeros((m, n)))
        .into_dyn();
    from_vec(&[m, n], standard_vec(&acc)?).map(T::wrap)
}

fn loop_blocks<T: Element>(
    pairs: &[(&Chunk, &Chunk)],
    m: usize,
    n: usize,
    mul: fn(T, T) -> T,
    add: fn(T, T) -> T,
) -> Result<Chunk> {
    let mut acc = vec![T::default(); m * n];
    for (a, b) in pairs {
        let k = a.shape()[1];
        let (av, bv) = (
            standard_vec(a.typed::<T>()?)?,
            standard_vec(b.typed::<T>()?)?,
        );
        for (i, row) in acc.chunks_exact_mut(n.max(1)).take(m).enumerate() {
            for (kk, b_row) in bv.chunks_exact(n.max(1)).take(k).enumerate() {
                let x = av[i * k + kk];
                for (o, &y) in row.iter_mut().zip(b_row) {
                    *o = add(*o, mul(x, y));
                }
            }
        }
    }
    from_vec(&[m, n], acc).map(T::wrap)
}

// ---------------------------------------------------------------------------------
// Strided copies.

/// Where the elements of an array live: element `i` is
/// `data[offset + Σ_k i_k * strides[k]]` (strides in elements, possibly negative).
struct Mem<'a, T> {
    data: &'a [T],
    offset: isize,
    strides: Vec<isize>,
}

/// Run `f` on the memory of `a`; arrays that are not contiguous in any order (rare for
/// owned chunks) are first copied in logical order.
fn with_memory<T: Copy, R>(a: &ArrayD<T>, f: impl FnOnce(Mem<'_, T>) -> R) -> R {
    if let Some(data) = a.as_slice_memory_order() {
        // `data` starts at the lowest address; element 0 is past every negative stride.
        let offset = a
            .shape()
            .iter()
            .zip(a.strides())
            .filter(|(_, &s)| s < 0)
            .map(|(&n, &s)| n.saturating_sub(1) as isize * -s)
            .sum();
        f(Mem {
            data,
            offset,
            strides: a.strides().to_vec(),
        })
    } else {
        let data: Vec<T> = a.iter().copied().collect();
        let mut strides = vec![1isize; a.ndim()];
        for k in (0..a.ndim().saturating_sub(1)).rev() {
            strides[k] = strides[k + 1] * a.shape()[k + 1] as isize;
        }
        f(Mem {
            data: &data,
            offset: 0,
            strides,
        })
    }
}

/// The elements of `a` in C order.
fn standard_vec<T: Element>(a: &ArrayD<T>) -> Result<Vec<T>> {
    with_memory(a, |mem| gather(&mem, a.shape()))
}

fn from_vec<T>(shape: &[usize], v: Vec<T>) -> Result<ArrayD<T>> {
    let len = v.len();
    ArrayD::from_shape_vec(IxDyn(shape), v).map_err(|e| {
        Error::internal(format!(
            "building a chunk of shape {shape:?} from {len} elements: {e}"
        ))
    })
}

/// Element count of `shape`, or an error if it does not fit in memory.
fn volume(shape: &[usize], op: &str) -> Result<usize> {
    shape
        .iter()
        .try_fold(1usize, |acc, &n| acc.checked_mul(n))
        .filter(|&v| v <= isize::MAX as usize)
        .ok_or_else(|| Error::internal(format!("{op}: shape {shape:?} has too many elements")))
}

/// Side of the square tiles used when the source's contiguous axis is not the
/// output's last axis.
const TILE: usize = 32;

/// Copy the elements `mem` describes for `shape` into a new C-order vector.
///
/// Length-1 axes are dropped and axes contiguous in both source and output merged,
/// so whole contiguous runs become one `copy_from_slice`. If some other axis has a
/// smaller source stride than the output's last axis, the copy goes in square tiles
/// over those two axes so reads and writes both stay in cache.
fn gather<T: Copy + Default>(mem: &Mem<'_, T>, shape: &[usize]) -> Result<Vec<T>> {
    let total = volume(shape, "gather")?;
    if total == 0 {
        return Ok(Vec::new());
    }
    let (mut lo, mut hi) = (mem.offset as i128, mem.offset as i128);
    for (&n, &s) in shape.iter().zip(&mem.strides) {
        let span = (n as i128 - 1) * s as i128;
        if span < 0 {
            lo += span;
        } else {
            hi += span;
        }
    }
    if mem.strides.len() != shape.len() || lo < 0 || hi >= mem.data.len() as i128 {
        return Err(Error::internal(format!(
            "gather: shape {shape:?} with strides {:?} from offset {} reads elements {lo}..={hi} \
             of {}",
            mem.strides,
            mem.offset,
            mem.data.len()
        )));
    }
    // (length, source stride, output stride), outermost first.
    let mut axes: Vec<(usize, isize, usize)> = Vec::with_capacity(shape.len());
    let mut dst = 1;
    for (&n, &s) in shape.iter().zip(&mem.strides).rev() {
        if n != 1 {
            match axes.last_mut() {
                Some(inner) if s == inner.1 * inner.0 as isize => inner.0 *= n,
                _ => axes.push((n, s, dst)),
            }
        }
        dst *= n;
    }
    axes.reverse();
    let (data, mut out) = (mem.data, vec![T::default(); total]);
    let Some(&(c, sc, _)) = axes.last() else {
        out[0] = data[mem.offset as usize];
        return Ok(out);
    };
    let inner = axes.len() - 1;
    let tile_axis = (0..inner)
        .min_by_key(|&k| axes[k].1.unsigned_abs())
        .filter(|&k| axes[k].1.unsigned_abs() < sc.unsigned_abs());
    match tile_axis {
        None => for_each_offset(&axes[..inner], mem.offset, 0, |s, d| {
            let row = &mut out[d..d + c];
            if sc == 1 {
                let s = s as usize;
                row.copy_from_slice(&data[s..s + c]);
            } else {
                for (j, o) in row.iter_mut().enumerate() {
                    *o = data[(s + j as isize * sc) as usize];
                }
            }
        }),
        Some(p) => {
            let (r, sp, dp) = axes[p];
            let outer: Vec<_> = (0..inner).filter(|&k| k != p).map(|k| axes[k]).collect();
            for_each_offset(&outer, mem.offset, 0, |s, d| {
                for i0 in (0..r).step_by(TILE) {
                    for j0 in (0..c).step_by(TILE) {
                        let j1 = (j0 + TILE).min(c);
                        for i in i0..(i0 + TILE).min(r) {
                            let src = s + i as isize * sp;
                            let dst = d + i * dp;
                            let row = &mut out[dst + j0..dst + j1];
                            let first = src + j0 as isize * sc;
                            if sc > 0 {
                                let reads = data[first as usize..].iter().step_by(sc as usize);
                                for (o, &v) in row.iter_mut().zip(reads) {
                                    *o = v;
                                }
                            } else {
                                for (j, o) in row.iter_mut().enumerate() {
                                    *o = data[(first + j as isize * sc) as usize];
                                }
                            }
                        }
                    }
                }
            });
        }
    }
    Ok(out)
}

/// Call `f(source offset, output offset)` for every index over `axes`
/// (`(length, source stride, output stride)`, outermost first), in C order.
fn for_each_offset(
    axes: &[(usize, isize, usize)],
    s0: isize,
    d0: usize,
    mut f: impl FnMut(isize, usize),
) {
    let mut idx = vec![0usize; axes.len()];
    let (mut s, mut d) = (s0, d0);
    loop {
        f(s, d);
        let mut k = axes.len();
        loop {
            if k == 0 {
                return;
            }
            k -= 1;
            let (n, ss, ds) = axes[k];
            idx[k] += 1;
            if idx[k] < n {
                s += ss;
                d += ds;
                break;
            }
            s -= ss * (n as isize - 1);
            d -= ds * (n - 1);
            idx[k] = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{s, Array2, IxDyn};
    use proptest::prelude::*;

    /// A deterministic array of `shape` whose values differ from their neighbours.
    fn sample<T: Element>(shape: &[usize]) -> ArrayD<T> {
        let mut i = 0i64;
        ArrayD::from_shape_simple_fn(IxDyn(shape), || {
            i += 1;
            T::from_i64((i * 7919) % 13 - 6)
        })
    }

    fn chunk<T: Element>(a: &ArrayD<T>) -> Chunk {
        T::wrap(a.clone())
    }

    /// The output is standard layout with the strides a fresh `from_shape_vec` gets.
    fn assert_standard(c: &Chunk) {
        with_chunk!(c, a, T => {
            let fresh = ArrayD::from_shape_vec(IxDyn(a.shape()), a.iter().copied().collect::<Vec<T>>())
                .expect("shape of an existing array");
            assert!(a.is_standard_layout(), "not standard layout: shape {:?} strides {:?}", a.shape(), a.strides());
            assert_eq!(a.strides(), fresh.strides(), "shape {:?}", a.shape());
        })
    }

    fn internal_msg<T: std::fmt::Debug>(r: Result<T>) -> String {
        match r {
            Err(Error::Internal(m)) => m,
            other => panic!("expected an internal error, got {other:?}"),
        }
    }

    /// The same values as `a` in four layouts: C order, Fortran order (reversed axes
    /// of a reversed copy), negative strides, and not contiguous at all.
    fn layouts<T: Element>(a: &ArrayD<T>) -> Vec<ArrayD<T>> {
        let f = {
            let rev: Vec<usize> = (0..a.ndim()).rev().collect();
            let c_of_t = a
                .view()
                .permuted_axes(rev.clone())
                .as_standard_layout()
                .into_owned();
            c_of_t.permuted_axes(rev)
        };
        let neg = {
            let mut m = a.clone();
            for k in 0..m.ndim() {
                m.invert_axis(Axis(k));
            }
            let mut n = m.as_standard_layout().into_owned();
            for k in 0..n.ndim() {
                n.invert_axis(Axis(k));
            }
            n
        };
        let gappy = {
            // Every other element of a twice-as-long last axis.
            let mut shape = a.shape().to_vec();
            if let Some(l) = shape.last_mut() {
                *l *= 2;
            }
            let mut big = ArrayD::from_elem(IxDyn(&shape), T::default());
            if a.ndim() > 0 {
                big.slice_axis_mut(Axis(a.ndim() - 1), Slice::new(0, None, 2))
                    .assign(a);
                big.slice_axis_inplace(Axis(a.ndim() - 1), Slice::new(0, None, 2));
            } else {
                big.assign(a);
            }
            big
        };
        for x in [&f, &neg, &gappy] {
            assert_eq!(x, a);
        }
        if a.ndim() >= 2 && a.shape().iter().all(|&n| n > 1) {
            assert!(!f.is_standard_layout());
            assert!(gappy.as_slice_memory_order().is_none());
        }
        vec![a.clone(), f, neg, gappy]
    }

    /// Hand-loop reference for `slice`.
    fn slice_ref<T: Element>(a: &ArrayD<T>, sel: &[DimSlice]) -> ArrayD<T> {
        let shape: Vec<usize> = sel.iter().map(|d| d.len).collect();
        ArrayD::from_shape_fn(IxDyn(&shape), |idx| {
            let src: Vec<usize> = sel
                .iter()
                .enumerate()
                .map(|(k, d)| (d.start as isize + idx[k] as isize * d.step) as usize)
                .collect();
            a[IxDyn(&src)]
        })
    }

    fn ds(start: usize, len: usize, step: isize) -> DimSlice {
        DimSlice { start, len, step }
    }

    fn check_slices<T: Element>() {
        let cases: Vec<(Vec<usize>, Vec<DimSlice>)> = vec![
            (vec![], vec![]),
            (vec![7], vec![ds(0, 7, 1)]),
            (vec![7], vec![ds(6, 7, -1)]),
            (vec![7], vec![ds(5, 3, -2)]),
            (vec![7], vec![ds(0, 3, 3)]),
            (vec![7], vec![ds(3, 0, 1)]),
            (vec![7], vec![ds(4, 1, -100)]),
            (vec![0], vec![ds(0, 0, 1)]),
            (vec![5, 6], vec![ds(1, 2, 2), ds(5, 6, -1)]),
            (vec![5, 6], vec![ds(4, 3, -2), ds(0, 2, 3)]),
            (vec![5, 6], vec![ds(0, 0, 1), ds(0, 6, 1)]),
            (vec![0, 6], vec![ds(0, 0, 1), ds(1, 4, 1)]),
            (vec![4, 5, 6], vec![ds(3, 2, -3), ds(1, 3, 1), ds(5, 3, -2)]),
            (vec![4, 5, 6], vec![ds(0, 4, 1), ds(0, 5, 1), ds(2, 1, 1)]),
            (vec![40, 50], vec![ds(39, 40, -1), ds(1, 16, 3)]),
        ];
        for (shape, sel) in cases {
            let a = sample::<T>(&shape);
            let want = slice_ref(&a, &sel);
            for src in layouts(&a) {
                let got = slice(&chunk(&src), &sel).expect("valid selection");
                assert_standard(&got);
                assert_eq!(
                    got,
                    chunk(&want),
                    "shape {shape:?} sel {sel:?} strides {:?}",
                    src.strides()
                );
            }
        }
    }

    #[test]
    fn slice_matches_hand_loops_for_every_dtype() {
        check_slices::<bool>();
        check_slices::<i32>();
        check_slices::<i64>();
        check_slices::<f32>();
        check_slices::<f64>();
    }

    #[test]
    fn slice_matches_ndarray_s_macro() {
        let a = sample::<f64>(&[6, 7]);
        let got = slice(&chunk(&a), &[ds(1, 2, 2), ds(6, 7, -1)]).expect("valid");
        assert_eq!(
            got,
            Chunk::from(a.slice(s![1..5;2, ..;-1]).to_owned().into_dyn())
        );
        // ndarray's negative step walks back from the end of the range.
        let got = slice(&chunk(&a), &[ds(4, 3, -2), ds(2, 3, 1)]).expect("valid");
        assert_eq!(
            got,
            Chunk::from(a.slice(s![0..5;-2, 2..5]).to_owned().into_dyn())
        );
    }

    #[test]
    fn slice_rejects_bad_selections() {
        let c = chunk(&sample::<i32>(&[4, 5]));
        let m = internal_msg(slice(&c, &[ds(0, 4, 1)]));
        assert!(m.contains("1 dimensions") && m.contains("[4, 5]"), "{m}");
        let m = internal_msg(slice(&c, &[ds(0, 4, 1), ds(0, 1, 0)]));
        assert!(m.contains("axis 1") && m.contains("step 0"), "{m}");
        let m = internal_msg(slice(&c, &[ds(0, 4, 1), ds(1, 3, 2)]));
        assert!(
            m.contains("axis 1") && m.contains("to 5") && m.contains("extent 5"),
            "{m}"
        );
        let m = internal_msg(slice(&c, &[ds(2, 4, -1), ds(0, 5, 1)]));
        assert!(m.contains("axis 0") && m.contains("to -1"), "{m}");
        let m = internal_msg(slice(&c, &[ds(4, 1, 1), ds(0, 5, 1)]));
        assert!(m.contains("axis 0"), "{m}");
        let m = internal_msg(slice(&c, &[ds(0, 2, isize::MAX), ds(0, 5, 1)]));
        assert!(m.contains("axis 0"), "{m}");
    }

    /// An `s![a..b;step]` range over an axis of length `n` and the `DimSlice` it means.
    fn range_and_dim(n: usize) -> impl Strategy<Value = (usize, usize, isize)> {
        (0..=n, 0..=n, prop_oneof![-4isize..=-1, 1isize..=4])
            .prop_map(|(x, y, step)| (x.min(y), x.max(y), step))
    }

    fn to_dim((a, b, step): (usize, usize, isize)) -> DimSlice {
        let len = (b - a).div_ceil(step.unsigned_abs());
        let start = if len == 0 {
            0
        } else if step > 0 {
            a
        } else {
            b - 1
        };
        DimSlice { start, len, step }
    }

    proptest! {
        #[test]
        fn slice_agrees_with_s_macro_3d(
            (n0, n1, n2) in (0usize..6, 0usize..6, 0usize..6),
            seeds in any::<[u64; 3]>(),
        ) {
            let pick = |n: usize, seed: u64| {
                let a = (seed % (n as u64 + 1)) as usize;
                let b = ((seed >> 8) % (n as u64 + 1)) as usize;
                let step = [-3isize, -2, -1, 1, 2, 3][((seed >> 16) % 6) as usize];
                (a.min(b), a.max(b), step)
            };
            let (r0, r1, r2) = (pick(n0, seeds[0]), pick(n1, seeds[1]), pick(n2, seeds[2]));
            let a = sample::<i64>(&[n0, n1, n2]);
            let want = a.slice(s![r0.0..r0.1;r0.2, r1.0..r1.1;r1.2, r2.0..r2.1;r2.2]).to_owned();
            let got = slice(&chunk(&a), &[to_dim(r0), to_dim(r1), to_dim(r2)]).expect("valid");
            prop_assert_eq!(got, Chunk::from(want.into_dyn()));
        }

        #[test]
        fn slice_agrees_with_s_macro_1d(n in 0usize..40, r in (0usize..40).prop_flat_map(range_and_dim)) {
            let (a, b, step) = (r.0.min(n), r.1.min(n), r.2);
            let x = sample::<f64>(&[n]);
            let want = x.slice(s![a..b;step]).to_owned();
            let got = slice(&chunk(&x), &[to_dim((a, b, step))]).expect("valid");
            prop_assert_eq!(got, Chunk::from(want.into_dyn()));
        }
    }

    fn check_transposes<T: Element>() {
        for (r, c) in [(0, 3), (1, 1), (3, 5), (33, 65), (100, 70)] {
            let a = sample::<T>(&[r, c]);
            let a2 = a.clone().into_dimensionality::<Ix2>().expect("2-D");
            for src in layouts(&a) {
                let got = transpose(&chunk(&src), &[1, 0]).expect("valid");
                assert_standard(&got);
                assert_eq!(got, Chunk::from(a2.t().to_owned().into_dyn()), "{r}x{c}");
            }
        }
        let perms3 = [
            [0, 1, 2],
            [0, 2, 1],
            [1, 0, 2],
            [1, 2, 0],
            [2, 0, 1],
            [2, 1, 0],
        ];
        for shape in [[4, 5, 6], [2, 40, 35], [3, 0, 2], [1, 7, 1]] {
            let a = sample::<T>(&shape);
            for perm in perms3 {
                let want = a.view().permuted_axes(perm.to_vec()).to_owned();
                for src in layouts(&a) {
                    let got = transpose(&chunk(&src), &perm).expect("valid");
                    assert_standard(&got);
                    assert_eq!(got, Chunk::from(want.clone()), "{shape:?} {perm:?}");
                }
            }
        }
        let a = sample::<T>(&[3, 4, 5, 6]);
        for perm in [[3, 2, 1, 0], [0, 1, 3, 2], [2, 0, 3, 1]] {
            let want = a.view().permuted_axes(perm.to_vec()).to_owned();
            assert_eq!(
                transpose(&chunk(&a), &perm).expect("valid"),
                Chunk::from(want)
            );
        }
        let zero_d = sample::<T>(&[]);
        assert_eq!(
            transpose(&chunk(&zero_d), &[]).expect("valid"),
            chunk(&zero_d)
        );
        let one_d = sample::<T>(&[9]);
        assert_eq!(
            transpose(&chunk(&one_d), &[0]).expect("valid"),
            chunk(&one_d)
        );
    }

    #[test]
    fn transpose_matches_ndarray_for_every_dtype() {
        check_transposes::<bool>();
        check_transposes::<i32>();
        check_transposes::<i64>();
        check_transposes::<f32>();
        check_transposes::<f64>();
    }

    #[test]
    fn transpose_of_1000_square_matches_hand_loop() {
        let a = sample::<f64>(&[1000, 1000]);
        let got = transpose(&chunk(&a), &[1, 0]).expect("valid");
        let got = got.typed::<f64>().expect("f64");
        for i in (0..1000).step_by(37) {
            for j in 0..1000 {
                assert_eq!(got[[i, j]], a[[j, i]]);
            }
        }
    }

    #[test]
    fn transpose_rejects_non_permutations() {
        let c = chunk(&sample::<f32>(&[2, 3, 4]));
        for perm in [&[0, 1][..], &[0, 1, 1], &[0, 1, 3], &[0, 1, 2, 3]] {
            let m = internal_msg(transpose(&c, perm));
            assert!(
                m.contains(&format!("{perm:?}")) && m.contains("[2, 3, 4]"),
                "{m}"
            );
        }
    }

    /// Cut `a` into old chunks along `old` boundaries, then assemble the region
    /// `lo..hi` from the pieces that intersect it, as rechunk does.
    fn rechunk_region<T: Element>(
        a: &ArrayD<T>,
        old: &[Vec<usize>],
        lo: &[usize],
        hi: &[usize],
    ) -> Chunk {
        let ndim = a.ndim();
        // Every combination of old-chunk indices.
        let mut blocks: Vec<Vec<usize>> = vec![vec![]];
        for cuts in old {
            blocks = blocks
                .into_iter()
                .flat_map(|b| (0..cuts.len() - 1).map(move |i| [b.clone(), vec![i]].concat()))
                .collect();
        }
        let mut chunks = Vec::new();
        for b in &blocks {
            let (start, end): (Vec<usize>, Vec<usize>) =
                (0..ndim).map(|k| (old[k][b[k]], old[k][b[k] + 1])).unzip();
            let data = a
                .slice_each_axis(|ad| Slice::from(start[ad.axis.index()]..end[ad.axis.index()]))
                .to_owned();
            chunks.push((start, end, chunk(&data)));
        }
        let mut pieces = Vec::new();
        for (start, end, c) in &chunks {
            let from: Vec<usize> = (0..ndim).map(|k| start[k].max(lo[k])).collect();
            let to: Vec<usize> = (0..ndim).map(|k| end[k].min(hi[k])).collect();
            if (0..ndim).all(|k| from[k] < to[k]) {
                pieces.push(Piece {
                    src: c,
                    src_start: (0..ndim).map(|k| from[k] - start[k]).collect(),
                    dst_start: (0..ndim).map(|k| from[k] - lo[k]).collect(),
                    extent: (0..ndim).map(|k| to[k] - from[k]).collect(),
                });
            }
        }
        pieces.reverse(); // order must not matter
        let shape: Vec<usize> = (0..ndim).map(|k| hi[k] - lo[k]).collect();
        let out = assemble(T::DTYPE, &shape, &pieces).expect("pieces tile the region");
        assert_standard(&out);
        out
    }

    fn check_assemble<T: Element>() {
        let a = sample::<T>(&[5, 7, 4]);
        let old = [vec![0, 2, 5], vec![0, 3, 4, 7], vec![0, 1, 4]];
        let got = rechunk_region(&a, &old, &[1, 2, 0], &[5, 6, 4]);
        assert_eq!(
            got,
            Chunk::from(a.slice(s![1..5, 2..6, ..]).to_owned().into_dyn())
        );
        let whole = rechunk_region(&a, &old, &[0, 0, 0], &[5, 7, 4]);
        assert_eq!(whole, chunk(&a));
        let b = sample::<T>(&[10]);
        let got = rechunk_region(&b, &[vec![0, 1, 4, 9, 10]], &[2], &[10]);
        assert_eq!(got, Chunk::from(b.slice(s![2..]).to_owned().into_dyn()));
        let m = sample::<T>(&[6, 9]);
        let got = rechunk_region(&m, &[vec![0, 4, 6], vec![0, 2, 3, 8, 9]], &[0, 0], &[6, 9]);
        assert_eq!(got, chunk(&m));
        // Irregular pieces that are not a grid: an L shape and its complement.
        let c = chunk(&m);
        let piece = |s: [usize; 2], d: [usize; 2], e: [usize; 2]| Piece {
            src: &c,
            src_start: s.to_vec(),
            dst_start: d.to_vec(),
            extent: e.to_vec(),
        };
        let pieces = [
            piece([0, 0], [0, 0], [6, 2]),
            piece([0, 2], [0, 2], [1, 7]),
            piece([1, 2], [1, 2], [5, 7]),
        ];
        assert_eq!(assemble(T::DTYPE, &[6, 9], &pieces).expect("tiles"), c);
        // 0-d and empty outputs.
        let z = chunk(&sample::<T>(&[]));
        let p = Piece {
            src: &z,
            src_start: vec![],
            dst_start: vec![],
            extent: vec![],
        };
        assert_eq!(assemble(T::DTYPE, &[], &[p]).expect("one element"), z);
        let empty = assemble(T::DTYPE, &[3, 0], &[]).expect("nothing to cover");
        assert_eq!(empty.shape(), &[3, 0]);
        assert_standard(&empty);
    }

    #[test]
    fn assemble_from_irregular_pieces_equals_original() {
        check_assemble::<bool>();
        check_assemble::<i32>();
        check_assemble::<i64>();
        check_assemble::<f32>();
        check_assemble::<f64>();
    }

    #[test]
    fn assemble_reports_the_bad_piece() {
        let c = chunk(&sample::<f64>(&[4, 4]));
        let other = chunk(&sample::<i32>(&[4, 4]));
        let p = |src: &'static str, s: [usize; 2], d: [usize; 2], e: [usize; 2]| (src, s, d, e);
        let cases = [
            (
                vec![
                    p("c", [0, 0], [0, 0], [4, 2]),
                    p("o", [0, 2], [0, 2], [4, 2]),
                ],
                vec!["piece 1", "int32", "float64"],
            ),
            (
                vec![
                    p("c", [0, 0], [0, 0], [4, 3]),
                    p("c", [0, 2], [0, 2], [4, 2]),
                ],
                vec!["pieces 0", "and 1", "overlap"],
            ),
            (
                vec![
                    p("c", [0, 0], [0, 0], [4, 2]),
                    p("c", [0, 2], [0, 2], [3, 2]),
                ],
                vec!["14 of the 16", "gap"],
            ),
            (
                vec![p("c", [1, 0], [0, 0], [4, 4])],
                vec!["piece 0", "reads 1..5 on axis 0", "[4, 4]"],
            ),
            (
                vec![p("c", [0, 0], [0, 1], [4, 4])],
                vec!["piece 0", "writes 1..5 on axis 1"],
            ),
        ];
        for (specs, words) in cases {
            let pieces: Vec<Piece<'_>> = specs
                .iter()
                .map(|&(src, s, d, e)| Piece {
                    src: if src == "c" { &c } else { &other },
                    src_start: s.to_vec(),
                    dst_start: d.to_vec(),
                    extent: e.to_vec(),
                })
                .collect();
            let m = internal_msg(assemble(DType::F64, &[4, 4], &pieces));
            for w in words {
                assert!(m.contains(w), "{w:?} not in {m:?}");
            }
        }
        let bad_rank = Piece {
            src: &c,
            src_start: vec![0],
            dst_start: vec![0, 0],
            extent: vec![4, 4],
        };
        let m = internal_msg(assemble(DType::F64, &[4, 4], &[bad_rank]));
        assert!(m.contains("piece 0") && m.contains("2 dimensions"), "{m}");
    }

    #[test]
    fn reshape_and_insert_axis_keep_c_order() {
        for src in layouts(&sample::<i64>(&[3, 4, 2])) {
            let c = chunk(&src);
            let flat: Vec<i64> = src.iter().copied().collect(); // logical C order
            for shape in [&[24][..], &[4, 6], &[2, 3, 2, 2], &[1, 24, 1]] {
                let got = reshape(&c, shape).expect("same count");
                assert_standard(&got);
                let want = ArrayD::from_shape_vec(IxDyn(shape), flat.clone()).expect("count");
                assert_eq!(got, Chunk::from(want));
            }
            for axis in 0..=3 {
                let got = insert_axis(&c, axis).expect("in range");
                assert_standard(&got);
                assert_eq!(
                    got,
                    Chunk::from(src.view().insert_axis(Axis(axis)).to_owned())
                );
            }
        }
        let zero_d = chunk(&sample::<bool>(&[]));
        let one = reshape(&zero_d, &[1, 1]).expect("one element");
        assert_eq!(reshape(&one, &[]).expect("one element"), zero_d);
        assert_eq!(insert_axis(&zero_d, 0).expect("in range").shape(), &[1]);
        let empty = chunk(&sample::<f32>(&[0, 3]));
        assert_eq!(
            reshape(&empty, &[3, 0, 5]).expect("zero elements").shape(),
            &[3, 0, 5]
        );
        let m = internal_msg(reshape(&empty, &[1]));
        assert!(m.contains("[0, 3]") && m.contains("[1]"), "{m}");
        let m = internal_msg(reshape(&chunk(&sample::<f64>(&[2, 3])), &[usize::MAX, 2]));
        assert!(m.contains("too many elements"), "{m}");
        let m = internal_msg(insert_axis(&empty, 3));
        assert!(m.contains("axis 3") && m.contains("[0, 3]"), "{m}");
    }

    /// Split the inner dimension of `a @ b` at `cuts` into block pairs.
    fn split_inner<T: Element>(
        a: &ArrayD<T>,
        b: &ArrayD<T>,
        cuts: &[usize],
    ) -> Vec<(Chunk, Chunk)> {
        cuts.windows(2)
            .map(|w| {
                (
                    Chunk::from(a.slice(s![.., w[0]..w[1]]).to_owned().into_dyn()),
                    Chunk::from(b.slice(s![w[0]..w[1], ..]).to_owned().into_dyn()),
                )
            })
            .collect()
    }

    fn run_blocks(blocks: &[(Chunk, Chunk)], out: DType) -> Result<Chunk> {
        let pairs: Vec<(&Chunk, &Chunk)> = blocks.iter().map(|(a, b)| (a, b)).collect();
        matmul_blocks(&pairs, out)
    }

    fn two_d<T: Element>(shape: [usize; 2], f: impl Fn(usize, usize) -> T) -> ArrayD<T> {
        Array2::from_shape_fn(shape, |(i, j)| f(i, j)).into_dyn()
    }

    #[test]
    fn matmul_blocks_over_split_inner_equals_whole_product() {
        let cuts = [0, 3, 7, 7, 12];
        // f64 and f32 against ndarray's whole-matrix dot.
        let a = two_d([5, 12], |i, j| ((i * 12 + j) as f64 * 0.37).sin());
        let b = two_d([12, 4], |i, j| ((i * 4 + j) as f64 * 0.91).cos());
        let want = a
            .view()
            .into_dimensionality::<Ix2>()
            .expect("2-D")
            .dot(&b.view().into_dimensionality::<Ix2>().expect("2-D"));
        let got = run_blocks(&split_inner(&a, &b, &cuts), DType::F64).expect("aligned");
        assert_standard(&got);
        let got = got.typed::<f64>().expect("f64");
        assert_eq!(got.shape(), &[5, 4]);
        for (x, y) in got.iter().zip(want.iter()) {
            assert!((x - y).abs() <= 1e-12, "{x} vs {y}");
        }
        let (a32, b32) = (a.mapv(|v| v as f32), b.mapv(|v| v as f32));
        let got = run_blocks(&split_inner(&a32, &b32, &cuts), DType::F32).expect("aligned");
        for (x, y) in got.typed::<f32>().expect("f32").iter().zip(want.iter()) {
            assert!((*x as f64 - y).abs() <= 1e-5, "{x} vs {y}");
        }
        // Integers exactly, against ndarray's generic dot.
        let ai = two_d([5, 12], |i, j| (i * 5 + j * 3) as i64 % 11 - 5);
        let bi = two_d([12, 4], |i, j| (i * 2 + j * 7) as i64 % 9 - 4);
        let want = ai
            .view()
            .into_dimensionality::<Ix2>()
            .expect("2-D")
            .dot(&bi.view().into_dimensionality::<Ix2>().expect("2-D"));
        let got = run_blocks(&split_inner(&ai, &bi, &cuts), DType::I64).expect("aligned");
        assert_eq!(got, Chunk::from(want.clone().into_dyn()));
        let (a_i32, b_i32) = (ai.mapv(|v| v as i32), bi.mapv(|v| v as i32));
        let got = run_blocks(&split_inner(&a_i32, &b_i32, &cuts), DType::I32).expect("aligned");
        assert_eq!(got, Chunk::from(want.mapv(|v| v as i32).into_dyn()));
        // Bool: OR of ANDs, by hand.
        let ab = two_d([5, 12], |i, j| (i + 2 * j) % 5 == 0);
        let bb = two_d([12, 4], |i, j| (3 * i + j) % 7 == 0);
        let want = two_d([5, 4], |i, j| (0..12).any(|k| ab[[i, k]] && bb[[k, j]]));
        assert!(want.iter().any(|&v| v) && want.iter().any(|&v| !v));
        let got = run_blocks(&split_inner(&ab, &bb, &cuts), DType::Bool).expect("aligned");
        assert_eq!(got, chunk(&want));
    }

    #[test]
    fn matmul_blocks_sums_in_the_given_order() {
        // With these values, the rounding of a + b + c depends on the grouping.
        let blocks: Vec<(Chunk, Chunk)> = [1e16, 1.0, -1e16]
            .iter()
            .map(|&v| {
                (
                    Chunk::from(two_d([1, 1], |_, _| v)),
                    Chunk::from(two_d([1, 1], |_, _| 1.0f64)),
                )
            })
            .collect();
        let got = run_blocks(&blocks, DType::F64).expect("aligned");
        assert_eq!(got, Chunk::from(two_d([1, 1], |_, _| (1e16 + 1.0) - 1e16)));
        let reversed: Vec<_> = blocks.iter().rev().cloned().collect();
        let got = run_blocks(&reversed, DType::F64).expect("aligned");
        assert_eq!(got, Chunk::from(two_d([1, 1], |_, _| (-1e16 + 1.0) + 1e16)));
    }

    #[test]
    fn matmul_blocks_edge_cases() {
        // Integers wrap instead of panicking.
        let big = Chunk::from(two_d([1, 2], |_, _| i32::MAX));
        let two = Chunk::from(two_d([2, 1], |_, _| 2i32));
        let got = matmul_blocks(&[(&big, &two)], DType::I32).expect("aligned");
        assert_eq!(
            got,
            Chunk::from(two_d([1, 1], |_, _| i32::MAX.wrapping_mul(4)))
        );
        // Empty inner and outer extents.
        let a = Chunk::from(two_d::<f64>([3, 0], |_, _| 1.0));
        let b = Chunk::from(two_d::<f64>([0, 2], |_, _| 1.0));
        assert_eq!(
            matmul_blocks(&[(&a, &b)], DType::F64).expect("aligned"),
            Chunk::from(two_d([3, 2], |_, _| 0.0f64))
        );
        let a = Chunk::from(two_d::<i64>([0, 3], |_, _| 1));
        let b = Chunk::from(two_d::<i64>([3, 2], |_, _| 1));
        assert_eq!(
            matmul_blocks(&[(&a, &b)], DType::I64)
                .expect("aligned")
                .shape(),
            &[0, 2]
        );
        // A transposed (Fortran-order) block.
        let at = sample::<f64>(&[4, 3]).reversed_axes();
        let b = sample::<f64>(&[4, 2]);
        let want = at
            .view()
            .into_dimensionality::<Ix2>()
            .expect("2-D")
            .dot(&b.view().into_dimensionality::<Ix2>().expect("2-D"));
        let got = matmul_blocks(&[(&chunk(&at), &chunk(&b))], DType::F64).expect("aligned");
        assert_eq!(got, Chunk::from(want.into_dyn()));
        assert_standard(&got);
    }

    #[test]
    fn matmul_blocks_reports_mismatches() {
        let a23 = Chunk::from(sample::<f64>(&[2, 3]));
        let a24 = Chunk::from(sample::<f64>(&[2, 4]));
        let b32 = Chunk::from(sample::<f64>(&[3, 2]));
        let b35 = Chunk::from(sample::<f64>(&[3, 5]));
        let i32b = Chunk::from(sample::<i32>(&[3, 2]));
        let v3 = Chunk::from(sample::<f64>(&[3]));
        let m = internal_msg(matmul_blocks(&[(&a23, &b32), (&a24, &b32)], DType::F64));
        assert!(m.contains("pair 1") && m.contains("[2, 4] @ [3, 2]"), "{m}");
        let m = internal_msg(matmul_blocks(&[(&a23, &b32), (&a23, &b35)], DType::F64));
        assert!(
            m.contains("pair 1") && m.contains("2x5") && m.contains("2x2"),
            "{m}"
        );
        let m = internal_msg(matmul_blocks(&[(&a23, &i32b)], DType::F64));
        assert!(m.contains("pair 0") && m.contains("float64 @ int32"), "{m}");
        let m = internal_msg(matmul_blocks(&[(&a23, &v3)], DType::F64));
        assert!(m.contains("[2, 3] @ [3]"), "{m}");
        let m = internal_msg(matmul_blocks(&[], DType::F64));
        assert!(m.contains("no block pairs"), "{m}");
    }

    fn check_concatenate<T: Element>() {
        for axis in 0..3 {
            let mut shapes = [[2, 3, 4]; 4];
            for (i, s) in shapes.iter_mut().enumerate() {
                s[axis] = [1, 0, 3, 2][i];
            }
            let arrays: Vec<ArrayD<T>> = shapes.iter().map(|s| sample::<T>(s)).collect();
            let views: Vec<_> = arrays.iter().map(|a| a.view()).collect();
            let want = ndarray::concatenate(Axis(axis), &views).expect("compatible");
            let chunks: Vec<Chunk> = arrays.iter().map(chunk).collect();
            let refs: Vec<&Chunk> = chunks.iter().collect();
            let got = concatenate(&refs, axis).expect("compatible");
            assert_standard(&got);
            assert_eq!(got, Chunk::from(want), "axis {axis}");
        }
        let lone = sample::<T>(&[2, 3, 4]);
        let one = concatenate(&[&chunk(&lone)], 2).expect("one part");
        assert_eq!(one, chunk(&lone));
        let x = sample::<T>(&[4]);
        let y = sample::<T>(&[0]);
        let got = concatenate(&[&chunk(&y), &chunk(&x), &chunk(&x)], 0).expect("compatible");
        assert_eq!(
            got,
            Chunk::from(ndarray::concatenate(Axis(0), &[x.view(), x.view()]).expect("1-D"))
        );
    }

    #[test]
    fn concatenate_matches_ndarray_for_every_dtype() {
        check_concatenate::<bool>();
        check_concatenate::<i32>();
        check_concatenate::<i64>();
        check_concatenate::<f32>();
        check_concatenate::<f64>();
    }

    #[test]
    fn concatenate_reports_mismatches() {
        let a = chunk(&sample::<f64>(&[2, 3]));
        let b = chunk(&sample::<f64>(&[4, 2]));
        let i = chunk(&sample::<i64>(&[2, 3]));
        let z = chunk(&sample::<f64>(&[]));
        let m = internal_msg(concatenate(&[&a, &i], 0));
        assert!(
            m.contains("part 1") && m.contains("int64") && m.contains("float64"),
            "{m}"
        );
        let m = internal_msg(concatenate(&[&a, &a, &b], 0));
        assert!(
            m.contains("part 2")
                && m.contains("[4, 2]")
                && m.contains("[2, 3]")
                && m.contains("axis 0"),
            "{m}"
        );
        let m = internal_msg(concatenate(&[&a, &a], 2));
        assert!(m.contains("axis 2") && m.contains("[2, 3]"), "{m}");
        let m = internal_msg(concatenate(&[&z], 0));
        assert!(m.contains("axis 0") && m.contains("[]"), "{m}");
        let m = internal_msg(concatenate(&[], 0));
        assert!(m.contains("no parts"), "{m}");
    }
}
