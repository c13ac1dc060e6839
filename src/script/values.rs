//! Computed values in a script (`x.compute()`, `da.values()`) and the text
//! `print` shows: NumPy's `array(...)` notation, summarised with `...` beyond
//! [`SHOWN`] elements as NumPy does, every number in its shortest exact form.

use crate::dataset::DataArray;
use crate::kernel::Chunk;
use crate::meta::DType;
use std::fmt::Write;

/// At most this many elements are printed in full (NumPy's `threshold`);
/// `print` of a lazy value computes it only when it is at most this big.
pub const SHOWN: usize = 1000;

/// Elements shown at each end of a summarised axis (NumPy's `edgeitems`).
const EDGE: usize = 3;

/// An n-d array in memory on every rank, with the labels of the `DataArray`
/// it came from, if any. In `explain` mode nothing is computed and the data
/// is absent.
#[derive(Clone)]
pub struct Values {
    pub(crate) data: Option<Chunk>,
    pub(crate) shape: Vec<usize>,
    pub(crate) dtype: DType,
    pub(crate) labels: Option<DataArray>,
}

impl Values {
    /// Values computed from an array of `shape` and `dtype` (`data` `None`:
    /// not computed).
    pub(crate) fn new(
        data: Option<Chunk>,
        shape: Vec<usize>,
        dtype: DType,
        labels: Option<DataArray>,
    ) -> Values {
        Values {
            data,
            shape,
            dtype,
            labels,
        }
    }

    pub(crate) fn size(&self) -> usize {
        self.shape.iter().product()
    }

    /// The text `print` shows: the `DataArray` summary with the values, or
    /// the values alone.
    pub(crate) fn render(&self) -> String {
        let body = match &self.data {
            Some(c) => repr(c),
            None => "<not computed: explain>".to_string(),
        };
        match &self.labels {
            Some(da) => with_values(&format!("{da:?}"), Some(&body), false),
            None => body,
        }
    }
}

/// A summary (`<chunkwise.DataArray ...>` as `Debug` writes it) with `values`
/// after its header; without `keep_chunks` the line describing the chunked
/// array is left out (the values are in memory).
pub(crate) fn with_values(summary: &str, values: Option<&str>, keep_chunks: bool) -> String {
    let mut out = String::new();
    let mut lines = summary.lines();
    if let Some(head) = lines.next() {
        out.push_str(head);
        out.push('\n');
    }
    let rest: Vec<&str> = lines.collect();
    let (chunk_line, rest) = match rest.split_first() {
        Some((l, r)) if l.starts_with("chunked array<") => (Some(*l), r),
        _ => (None, &rest[..]),
    };
    if keep_chunks || values.is_none() {
        if let Some(l) = chunk_line {
            out.push_str(l);
            out.push('\n');
        }
    }
    if let Some(v) = values {
        out.push_str(v);
        out.push('\n');
    }
    for l in rest {
        out.push_str(l);
        out.push('\n');
    }
    out.trim_end().to_string()
}

/// NumPy's `repr` of an array: `array([[1.0, 2.0],\n       [3.0, 4.0]], dtype=float32)`
/// (the dtype is named unless it is float64, int64 or bool).
pub fn repr(c: &Chunk) -> String {
    let mut s = String::from("array(");
    let shape = c.shape().to_vec();
    let items = elements(c);
    let summarise = items.len() > SHOWN;
    nested(&mut s, &items, &shape, 0, 0, summarise, 6);
    match c.dtype() {
        DType::F64 | DType::I64 | DType::Bool => {}
        d => {
            let _ = write!(s, ", dtype={d}");
        }
    }
    s.push(')');
    s
}

/// Every element as text, in C order.
fn elements(c: &Chunk) -> Vec<String> {
    match c {
        Chunk::F64(a) => a.iter().map(|&v| float(v)).collect(),
        Chunk::F32(a) => a
            .iter()
            .map(|&v| {
                if v.is_finite() {
                    format!("{v:?}")
                } else {
                    float(f64::from(v))
                }
            })
            .collect(),
        Chunk::I64(a) => a.iter().map(|v| v.to_string()).collect(),
        Chunk::I32(a) => a.iter().map(|v| v.to_string()).collect(),
        Chunk::Bool(a) => a.iter().map(|v| v.to_string()).collect(),
    }
}

/// A float in its shortest exact form (`0.1`, `1.0`, `1e-7`), `nan`, `inf`.
pub(crate) fn float(v: f64) -> String {
    if v.is_nan() {
        "nan".into()
    } else if v.is_infinite() {
        if v > 0.0 { "inf" } else { "-inf" }.into()
    } else {
        format!("{v:?}")
    }
}

/// Write the sub-array of `shape` whose first element is `items[offset]`.
fn nested(
    s: &mut String,
    items: &[String],
    shape: &[usize],
    depth: usize,
    offset: usize,
    summarise: bool,
    indent: usize,
) {
    let Some((&n, inner)) = shape.split_first() else {
        s.push_str(&items[offset]);
        return;
    };
    let stride: usize = inner.iter().product();
    let shown: Vec<Option<usize>> = if summarise && n > 2 * EDGE {
        (0..EDGE)
            .map(Some)
            .chain(std::iter::once(None))
            .chain((n - EDGE..n).map(Some))
            .collect()
    } else {
        (0..n).map(Some).collect()
    };
    s.push('[');
    for (k, i) in shown.iter().enumerate() {
        if k > 0 {
            s.push(',');
            if inner.is_empty() {
                s.push(' ');
            } else {
                // Rows on their own lines, a blank line between blocks.
                for _ in 0..inner.len() {
                    s.push('\n');
                }
                s.push_str(&" ".repeat(indent + depth + 1));
            }
        }
        match i {
            Some(i) => nested(
                s,
                items,
                inner,
                depth + 1,
                offset + i * stride,
                summarise,
                indent,
            ),
            None => s.push_str("..."),
        }
    }
    s.push(']');
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{ArrayD, IxDyn};

    #[test]
    fn arrays_print_like_numpy_with_exact_numbers() {
        let a = Chunk::F64(
            ArrayD::from_shape_vec(IxDyn(&[2, 2]), vec![1.0, 0.1, f64::NAN, -2.5]).unwrap(),
        );
        assert_eq!(repr(&a), "array([[1.0, 0.1],\n       [nan, -2.5]])");
        let b = Chunk::F32(ArrayD::from_shape_vec(IxDyn(&[3]), vec![21.5885, 1.0, 0.1]).unwrap());
        assert_eq!(repr(&b), "array([21.5885, 1.0, 0.1], dtype=float32)");
        let c = Chunk::I64(ArrayD::from_shape_vec(IxDyn(&[]), vec![7]).unwrap());
        assert_eq!(repr(&c), "array(7)");
    }

    #[test]
    fn large_arrays_are_summarised() {
        let a = Chunk::I64(ArrayD::from_shape_vec(IxDyn(&[2000]), (0..2000).collect()).unwrap());
        assert_eq!(repr(&a), "array([0, 1, 2, ..., 1997, 1998, 1999])");
    }
}
