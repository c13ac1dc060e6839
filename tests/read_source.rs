//! Arrays read from a `ChunkSource` (the seam the file formats implement): the
//! values match the data, slices are pushed into the reads (only the selected
//! region is read, strided and reversed selections included), and a failing
//! read is the computation's error.

mod common;

use chunkwise::kernel::ChunkSource;
use chunkwise::prelude::*;
use common::*;
use ndarray::{s, ArrayD, IxDyn, SliceInfoElem};
use std::sync::{Arc, Mutex};

/// An in-memory variable that records every region read.
struct MemSource {
    data: ArrayD<f64>,
    file_chunks: Option<Vec<usize>>,
    reads: Mutex<Vec<(Vec<usize>, Vec<usize>)>>,
    fail_at: Option<Vec<usize>>,
}

impl MemSource {
    fn new(data: ArrayD<f64>, file_chunks: Option<Vec<usize>>) -> Arc<MemSource> {
        Arc::new(MemSource {
            data,
            file_chunks,
            reads: Mutex::new(Vec::new()),
            fail_at: None,
        })
    }
    fn elements_read(&self) -> usize {
        let reads = self.reads.lock().unwrap();
        reads.iter().map(|(_, c)| c.iter().product::<usize>()).sum()
    }
}

impl ChunkSource for MemSource {
    fn shape(&self) -> &[usize] {
        self.data.shape()
    }
    fn dtype(&self) -> DType {
        DType::F64
    }
    fn file_chunks(&self) -> Option<Vec<usize>> {
        self.file_chunks.clone()
    }
    fn read(&self, start: &[usize], count: &[usize]) -> Result<Chunk> {
        if self.fail_at.as_deref() == Some(start) {
            return Err(Error::Io(format!(
                "{}: bad block at {start:?}",
                self.describe()
            )));
        }
        self.reads
            .lock()
            .unwrap()
            .push((start.to_vec(), count.to_vec()));
        let info: Vec<SliceInfoElem> = start
            .iter()
            .zip(count)
            .map(|(&a, &n)| SliceInfoElem::Slice {
                start: a as isize,
                end: Some((a + n) as isize),
                step: 1,
            })
            .collect();
        Ok(Chunk::F64(
            self.data.slice(info.as_slice()).to_owned().into_dyn(),
        ))
    }
    fn describe(&self) -> String {
        "variable `x` of `memory`".into()
    }
}

#[test]
fn values_match_on_file_and_user_chunkings() {
    let data = data_f64(&[11, 9], 7, -1.0, 1.0);
    let src = MemSource::new(data.clone(), Some(vec![4, 5]));
    let x = from_source(src.clone(), None).unwrap();
    assert_eq!(x.chunks(), vec![vec![4, 4, 3], vec![5, 4]]);
    assert_exact(&eval::<f64>(&x), &data, "file chunks");
    assert_eq!(src.elements_read(), 99, "every element read once");
    for (name, c) in chunkings(&[11, 9]) {
        let x = from_source(src.clone(), Some(c)).unwrap();
        assert_exact(&eval::<f64>(&x), &data, name);
    }
    let total = from_source(src, None)
        .unwrap()
        .sum(Axes::All, false)
        .unwrap();
    assert_close(
        &eval::<f64>(&total),
        &ArrayD::from_elem(IxDyn(&[]), data.sum()),
        1e-12,
        "sum",
    );
}

#[test]
fn slices_are_pushed_into_the_reads() {
    let data = data_f64(&[20, 12], 3, 0.0, 1.0);
    let cases: Vec<(Vec<Idx>, ArrayD<f64>)> = vec![
        (
            vec![Idx::slice(Some(3), Some(7), 1), Idx::ALL],
            data.slice(s![3..7, ..]).to_owned().into_dyn(),
        ),
        (
            vec![Idx::slice(Some(1), Some(19), 3), Idx::slice(None, None, -2)],
            data.slice(s![1..19;3, ..;-2]).to_owned().into_dyn(),
        ),
        (
            vec![Idx::Int(5), Idx::slice(Some(2), Some(9), 1)],
            data.slice(s![5, 2..9]).to_owned().into_dyn(),
        ),
    ];
    for (index, want) in cases {
        let src = MemSource::new(data.clone(), Some(vec![6, 5]));
        let x = from_source(src.clone(), None).unwrap();
        let y = x.slice(&index).unwrap();
        assert_exact(&eval::<f64>(&y), &want, &format!("{index:?}"));
        // The reads cover the selection's bounding boxes per block: never the
        // whole variable, at most the selected rows' span.
        let read = src.elements_read();
        assert!(
            read < data.len() / 2,
            "{index:?}: read {read} of {} elements",
            data.len()
        );
    }
}

#[test]
fn a_failing_read_is_the_computations_error() {
    let data = data_f64(&[8, 8], 1, 0.0, 1.0);
    let src = Arc::new(MemSource {
        data,
        file_chunks: Some(vec![4, 4]),
        reads: Mutex::new(Vec::new()),
        fail_at: Some(vec![4, 0]),
    });
    let x = from_source(src, None).unwrap();
    let err = x.mean(Axes::All, false).unwrap().compute().unwrap_err();
    assert!(matches!(err, Error::Io(_)), "{err:?}");
    assert!(
        err.to_string()
            .contains("variable `x` of `memory`: bad block at [4, 0]"),
        "{err}"
    );
}

#[test]
fn a_source_and_chunks_of_another_shape_are_refused() {
    let src = MemSource::new(data_f64(&[5, 5], 1, 0.0, 1.0), None);
    let err = from_source(src, Some(ChunkSpec::from(&[2usize, 2, 2][..]))).unwrap_err();
    assert!(matches!(err, Error::Plan(_)), "{err:?}");
    assert!(
        err.to_string().contains("variable `x` of `memory`"),
        "{err}"
    );
}
