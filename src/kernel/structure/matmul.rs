//! Blocked matrix products: [`matmul_blocks`] sums `a_k @ b_k` over pairs of 2-D
//! blocks, with ndarray's `dot` for floats and a wrapping loop for integers and bools.

use ndarray::{Ix2, LinalgScalar};

use super::strided::{from_vec, standard_vec, volume};
use crate::error::{Error, Result};
use crate::kernel::{Chunk, Element};
use crate::meta::DType;

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
