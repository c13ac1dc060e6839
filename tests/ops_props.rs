//! Property tests of chunk arithmetic through the public API: random shapes (empty
//! dimensions included) cut into random irregular chunks, then rechunk, slicing
//! with random start/stop/step, concatenate, unifying elementwise operations and
//! reductions, each compared with the eager `ndarray` reference. Values are
//! integers so every comparison is exact.

mod common;

use chunkwise::prelude::*;
use common::*;
use ndarray::{ArrayD, Axis, IxDyn};
use proptest::prelude::*;

/// A random partition of `n` into positive chunks (`[0]` for an empty dimension).
fn dim_chunks(n: usize) -> impl Strategy<Value = Vec<usize>> {
    proptest::collection::vec(proptest::bool::weighted(0.35), n.saturating_sub(1)).prop_map(
        move |cuts| {
            if n == 0 {
                return vec![0];
            }
            let mut out = vec![];
            let mut run = 1;
            for cut in cuts {
                if cut {
                    out.push(run);
                    run = 1;
                } else {
                    run += 1;
                }
            }
            out.push(run);
            out
        },
    )
}

fn grid(shape: &[usize]) -> Vec<BoxedStrategy<Vec<usize>>> {
    shape.iter().map(|&n| dim_chunks(n).boxed()).collect()
}

fn shape_strategy(max_extent: usize) -> impl Strategy<Value = Vec<usize>> {
    proptest::collection::vec(0..=max_extent, 1..=3)
}

/// Distinct values: element `i` (C order) is `i`.
fn iota(shape: &[usize]) -> ArrayD<i64> {
    let n: usize = shape.iter().product();
    ArrayD::from_shape_vec(IxDyn(shape), (0..n as i64).collect()).unwrap()
}

fn step() -> impl Strategy<Value = isize> {
    prop_oneof![1isize..=4, -4isize..=-1]
}

/// One index entry for an axis of extent `n`: mostly slices, sometimes integers.
fn idx_for(n: usize) -> BoxedStrategy<Idx> {
    let bound = n as isize + 3;
    let slice = (
        proptest::option::of(-bound..=bound),
        proptest::option::of(-bound..=bound),
        step(),
    )
        .prop_map(|(a, b, s)| Idx::slice(a, b, s));
    if n == 0 {
        slice.boxed()
    } else {
        let k = n as isize;
        prop_oneof![3 => slice, 1 => (-k..k).prop_map(Idx::Int)].boxed()
    }
}

/// A whole index: one entry per axis, then possibly a new axis inserted and the
/// trailing entries dropped (they default to `:`), or the leading ones replaced by
/// an ellipsis.
fn index_strategy(shape: &[usize]) -> impl Strategy<Value = Vec<Idx>> {
    let n = shape.len();
    let entries: Vec<BoxedStrategy<Idx>> = shape.iter().map(|&d| idx_for(d)).collect();
    (entries, 0..=n, 0..=n, 0..3u8).prop_map(move |(mut idx, new_at, keep, form)| {
        match form {
            0 => idx.truncate(keep),
            1 => {
                idx.drain(..n - keep);
                idx.insert(0, Idx::Ellipsis);
            }
            _ => {}
        }
        let at = new_at.min(idx.len());
        idx.insert(at, Idx::NewAxis);
        idx
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn rechunk_between_random_grids((shape, from, to) in shape_strategy(12).prop_flat_map(|s| {
        let (a, b) = (grid(&s), grid(&s));
        (Just(s), a, b)
    })) {
        let data = iota(&shape);
        let x = arr(&data, from.clone().into());
        prop_assert_eq!(x.chunks(), from);
        let r = x.rechunk(to.clone()).unwrap();
        prop_assert_eq!(r.chunks(), to.clone());
        assert_exact(&eval::<i64>(&r), &data, &format!("rechunk {shape:?} -> {to:?}"));
    }

    #[test]
    fn slicing_random_grids((shape, chunks, index) in shape_strategy(10).prop_flat_map(|s| {
        let (g, i) = (grid(&s), index_strategy(&s));
        (Just(s), g, i)
    })) {
        let data = iota(&shape);
        let x = arr(&data, chunks.clone().into());
        let sliced = x.slice(&index).unwrap();
        let want = np_index(&data, &index);
        prop_assert_eq!(sliced.shape(), want.shape().to_vec());
        // Every chunk is non-empty unless its dimension is empty, and they cover it.
        for (d, c) in sliced.chunks().iter().enumerate() {
            prop_assert_eq!(c.iter().sum::<usize>(), want.shape()[d]);
            prop_assert!(want.shape()[d] == 0 || !c.contains(&0), "empty chunk in {:?}", c);
        }
        assert_exact(&eval::<i64>(&sliced), &want, &format!("{shape:?} {chunks:?} {index:?}"));
    }

    #[test]
    fn concatenate_random_grids((shape, axis, parts) in (shape_strategy(6), 0usize..3, proptest::collection::vec(0usize..=6, 1..=3))
        .prop_flat_map(|(shape, axis, extents)| {
            let axis = axis % shape.len();
            let grids: Vec<_> = extents
                .iter()
                .map(|&e| {
                    let mut s = shape.clone();
                    s[axis] = e;
                    (Just(s.clone()), grid(&s))
                })
                .collect();
            (Just(shape), Just(axis), grids)
        })) {
        let datas: Vec<ArrayD<i64>> = parts
            .iter()
            .enumerate()
            .map(|(k, (s, _))| iota(s).mapv(|v| v + 1000 * k as i64))
            .collect();
        let arrays: Vec<Array> = datas
            .iter()
            .zip(&parts)
            .map(|(d, (_, g))| arr(d, g.clone().into()))
            .collect();
        let refs: Vec<&Array> = arrays.iter().collect();
        let neg = axis as isize - shape.len() as isize;
        let got = eval::<i64>(&concatenate(&refs, neg).unwrap());
        let views: Vec<_> = datas.iter().map(|d| d.view()).collect();
        let want = ndarray::concatenate(Axis(axis), &views).unwrap();
        assert_exact(&got, &want, &format!("concat axis {axis} of {parts:?}"));
    }

    #[test]
    fn elementwise_unifies_random_grids((shape, ga, gb, bcast) in shape_strategy(9).prop_flat_map(|s| {
        let (a, b) = (grid(&s), grid(&s));
        (Just(s.clone()), a, b, proptest::collection::vec(any::<bool>(), s.len()))
    })) {
        // b is broadcast along the dims where `bcast` says so.
        let bshape: Vec<usize> = shape.iter().zip(&bcast).map(|(&n, &b)| if b { 1 } else { n }).collect();
        let gb: Vec<Vec<usize>> = gb.into_iter().zip(&bcast).map(|(c, &b)| if b { vec![1] } else { c }).collect();
        let (da, db) = (iota(&shape), iota(&bshape).mapv(|v| 3 * v - 7));
        let x = arr(&da, ga.into());
        let y = arr(&db, gb.into());
        let got = eval::<i64>(&(&(&x * 2) - &y));
        assert_exact(&got, &zip_bc(&da, &db, |p, q| 2 * p - q), &format!("{shape:?} with {bshape:?}"));
    }

    #[test]
    fn reductions_on_random_grids((shape, g, axes, keep) in shape_strategy(9).prop_flat_map(|s| {
        let n = s.len();
        (Just(s.clone()), grid(&s), proptest::sample::subsequence((0..n).collect::<Vec<_>>(), 0..=n), any::<bool>())
    })) {
        let data = iota(&shape).mapv(|v| (v * 7919) % 23 - 11);
        let x = arr(&data, g.into());
        let ax: Vec<isize> = axes.iter().map(|&a| a as isize).collect();
        let got = eval::<i64>(&x.sum(ax.clone(), keep).unwrap());
        let want = reduce_ref(&data, Some(&ax), keep, |v| v.iter().sum());
        assert_exact(&got, &want, &format!("sum {shape:?} axes {ax:?}"));
        if axes.iter().all(|&a| shape[a] > 0) {
            let got = eval::<i64>(&x.max(ax.clone(), keep).unwrap());
            let want = reduce_ref(&data, Some(&ax), keep, |v| *v.iter().max().unwrap());
            assert_exact(&got, &want, &format!("max {shape:?} axes {ax:?}"));
        }
    }
}
