//! Strided copies: the typed slice and transpose, and the cache-aware gather they
//! (and reshape) share, which copies any strided view into a new C-order vector.

use ndarray::{ArrayD, IxDyn};

use super::DimSlice;
use crate::error::{Error, Result};
use crate::kernel::Element;

pub(super) fn slice_typed<T: Element>(a: &ArrayD<T>, sel: &[DimSlice]) -> Result<ArrayD<T>> {
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

pub(super) fn transpose_typed<T: Element>(a: &ArrayD<T>, perm: &[usize]) -> Result<ArrayD<T>> {
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
pub(super) fn standard_vec<T: Element>(a: &ArrayD<T>) -> Result<Vec<T>> {
    with_memory(a, |mem| gather(&mem, a.shape()))
}

pub(super) fn from_vec<T>(shape: &[usize], v: Vec<T>) -> Result<ArrayD<T>> {
    let len = v.len();
    ArrayD::from_shape_vec(IxDyn(shape), v).map_err(|e| {
        Error::internal(format!(
            "building a chunk of shape {shape:?} from {len} elements: {e}"
        ))
    })
}

/// Element count of `shape`, or an error if it does not fit in memory.
pub(super) fn volume(shape: &[usize], op: &str) -> Result<usize> {
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
