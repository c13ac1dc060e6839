//! Chunks as bytes, to move them between ranks.
//!
//! Layout of one chunk: dtype code (1 byte), number of dims (1 byte), each extent
//! (u64, little-endian), then the elements in C order in the machine's byte order
//! (`bool` as one byte 0/1). Ranks of one MPI job run the same binary on the same
//! architecture, so native byte order is what both ends have; the first bytes say
//! what follows, and [`decode_chunk`] checks every length before it trusts it.

use crate::error::{Error, Result};
use crate::kernel::{Chunk, Element};
use crate::meta::{DType, MAX_DIMS};
use ndarray::{ArrayD, IxDyn};

fn dtype_code(d: DType) -> u8 {
    match d {
        DType::Bool => 0,
        DType::I32 => 1,
        DType::I64 => 2,
        DType::F32 => 3,
        DType::F64 => 4,
    }
}

fn dtype_of(code: u8) -> Option<DType> {
    Some(match code {
        0 => DType::Bool,
        1 => DType::I32,
        2 => DType::I64,
        3 => DType::F32,
        4 => DType::F64,
        _ => return None,
    })
}

/// Bytes [`encode_chunk`] appends for `c`.
pub fn encoded_len(c: &Chunk) -> usize {
    2 + 8 * c.shape().len() + c.nbytes()
}

/// Append `c` to `out`.
pub fn encode_chunk(c: &Chunk, out: &mut Vec<u8>) {
    out.reserve(encoded_len(c));
    out.push(dtype_code(c.dtype()));
    out.push(c.shape().len() as u8);
    for &n in c.shape() {
        out.extend_from_slice(&(n as u64).to_le_bytes());
    }
    fn pod<T: Element + bytemuck::Pod>(a: &ArrayD<T>, out: &mut Vec<u8>) {
        match a.as_slice() {
            Some(s) => out.extend_from_slice(bytemuck::cast_slice(s)),
            None => a
                .iter()
                .for_each(|x| out.extend_from_slice(bytemuck::bytes_of(x))),
        }
    }
    match c {
        Chunk::Bool(a) => out.extend(a.iter().map(|&b| u8::from(b))),
        Chunk::I32(a) => pod(a, out),
        Chunk::I64(a) => pod(a, out),
        Chunk::F32(a) => pod(a, out),
        Chunk::F64(a) => pod(a, out),
    }
}

/// Read one chunk from the start of `buf`; returns it and the bytes it took.
///
/// # Errors
/// [`Error::Comm`] if the bytes are not a chunk (unknown dtype, too many dims,
/// truncated data).
pub fn decode_chunk(buf: &[u8]) -> Result<(Chunk, usize)> {
    let bad = |what: &str| Error::Comm(format!("received a malformed chunk: {what}"));
    let (&code, rest) = buf.split_first().ok_or_else(|| bad("empty message"))?;
    let dtype = dtype_of(code).ok_or_else(|| bad(&format!("unknown dtype code {code}")))?;
    let (&nd, mut rest) = rest.split_first().ok_or_else(|| bad("no rank"))?;
    let nd = nd as usize;
    if nd > MAX_DIMS {
        return Err(bad(&format!("{nd} dimensions")));
    }
    let mut shape = Vec::with_capacity(nd);
    for _ in 0..nd {
        let (head, tail) = rest
            .split_first_chunk::<8>()
            .ok_or_else(|| bad("truncated shape"))?;
        let n = usize::try_from(u64::from_le_bytes(*head)).map_err(|_| bad("extent too large"))?;
        shape.push(n);
        rest = tail;
    }
    let len = shape
        .iter()
        .try_fold(1usize, |a, &n| a.checked_mul(n))
        .ok_or_else(|| bad("element count overflows"))?;
    let nbytes = len
        .checked_mul(dtype.size())
        .ok_or_else(|| bad("byte count overflows"))?;
    let data = rest.get(..nbytes).ok_or_else(|| {
        bad(&format!(
            "{nbytes} bytes of data expected, {} left",
            rest.len()
        ))
    })?;
    let shaped = |e: ndarray::ShapeError| bad(&e.to_string());
    fn pod<T: Element + bytemuck::Pod>(data: &[u8]) -> Vec<T> {
        bytemuck::pod_collect_to_vec(data)
    }
    let c = match dtype {
        DType::Bool => Chunk::Bool(
            ArrayD::from_shape_vec(IxDyn(&shape), data.iter().map(|&b| b != 0).collect())
                .map_err(shaped)?,
        ),
        DType::I32 => Chunk::I32(ArrayD::from_shape_vec(IxDyn(&shape), pod(data)).map_err(shaped)?),
        DType::I64 => Chunk::I64(ArrayD::from_shape_vec(IxDyn(&shape), pod(data)).map_err(shaped)?),
        DType::F32 => Chunk::F32(ArrayD::from_shape_vec(IxDyn(&shape), pod(data)).map_err(shaped)?),
        DType::F64 => Chunk::F64(ArrayD::from_shape_vec(IxDyn(&shape), pod(data)).map_err(shaped)?),
    };
    Ok((c, buf.len() - rest.len() + nbytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::ArrayD;

    fn roundtrip(c: &Chunk) {
        let mut buf = vec![7u8]; // something before it
        encode_chunk(c, &mut buf);
        assert_eq!(buf.len(), 1 + encoded_len(c));
        buf.push(9); // and after it
        let (d, used) = decode_chunk(&buf[1..]).unwrap();
        assert_eq!(&d, c);
        assert_eq!(used, encoded_len(c));
    }

    #[test]
    fn every_dtype_and_shape_round_trips() {
        let a = ArrayD::from_shape_fn(IxDyn(&[3, 4]), |i| (i[0] * 4 + i[1]) as f64 - 5.5);
        roundtrip(&Chunk::F64(a.clone()));
        roundtrip(&Chunk::F32(a.mapv(|v| v as f32)));
        roundtrip(&Chunk::I64(a.mapv(|v| v as i64 * 1_000_000_007)));
        roundtrip(&Chunk::I32(a.mapv(|v| v as i32)));
        roundtrip(&Chunk::Bool(a.mapv(|v| v > 0.0)));
        // Transposed (not C-contiguous), 0-d, empty.
        roundtrip(&Chunk::F64(
            a.t().to_owned().reversed_axes().reversed_axes(),
        ));
        roundtrip(&Chunk::F64(a.clone().reversed_axes()));
        roundtrip(&Chunk::F64(ArrayD::from_elem(IxDyn(&[]), -0.25)));
        roundtrip(&Chunk::I32(ArrayD::zeros(IxDyn(&[0, 5]))));
    }

    #[test]
    fn nan_payloads_keep_their_bits() {
        let odd_nan = f64::from_bits(0x7ff8_0000_0000_1234);
        let c = Chunk::F64(ArrayD::from_shape_vec(IxDyn(&[2]), vec![f64::NAN, odd_nan]).unwrap());
        let mut buf = Vec::new();
        encode_chunk(&c, &mut buf);
        let (d, _) = decode_chunk(&buf).unwrap();
        let bits: Vec<u64> = d.to_f64().iter().map(|v| v.to_bits()).collect();
        assert_eq!(bits, vec![f64::NAN.to_bits(), odd_nan.to_bits()]);
    }

    #[test]
    fn malformed_bytes_are_comm_errors() {
        let mut buf = Vec::new();
        encode_chunk(&Chunk::F64(ArrayD::zeros(IxDyn(&[2, 2]))), &mut buf);
        for cut in [0, 1, 5, buf.len() - 1] {
            let e = decode_chunk(&buf[..cut]).unwrap_err();
            assert!(matches!(e, Error::Comm(_)), "cut at {cut}: {e}");
        }
        let mut wrong = buf.clone();
        wrong[0] = 42;
        assert!(decode_chunk(&wrong)
            .unwrap_err()
            .to_string()
            .contains("dtype code 42"));
    }
}
