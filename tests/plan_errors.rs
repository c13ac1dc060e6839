//! Bad input gives `Error::Plan` with a message naming the problem (never a panic),
//! a failing `map_blocks` closure gives `Error::Compute` naming its chunk, a plan
//! over the memory limit gives `Error::ResourcesExhausted`, and `explain` shows
//! that elementwise chains fuse into the reduction and that a slice of a generator
//! never builds the whole array.

mod common;

use chunkwise::prelude::*;
use chunkwise::session::{Config, Session};
use common::*;
use ndarray::{ArrayD, IxDyn};

/// Assert `r` is a plan error whose message contains every one of `needles`.
#[track_caller]
fn assert_plan_err<T: std::fmt::Debug>(r: Result<T>, needles: &[&str]) {
    match r {
        Err(Error::Plan(m)) => {
            for n in needles {
                assert!(m.contains(n), "plan error {m:?} does not mention {n:?}");
            }
        }
        other => panic!("expected a plan error mentioning {needles:?}, got {other:?}"),
    }
}

fn x34() -> Array {
    arr(&data_f64(&[3, 4], 80, 0.0, 1.0), [2, 2].into())
}

#[test]
fn shape_mismatch_in_elementwise_ops() {
    let a = x34();
    let b = arr(&data_f64(&[4, 3], 81, 0.0, 1.0), [2, 2].into());
    // The operator defers the error to check/compute/explain, unchanged.
    let bad = &a + &b;
    assert_plan_err(bad.check(), &["broadcast", "[3, 4]", "[4, 3]"]);
    assert_plan_err(bad.compute(), &["broadcast", "[3, 4]", "[4, 3]"]);
    assert_plan_err(bad.explain(), &["broadcast"]);
    // Later operations carry it along.
    assert_plan_err((&(&bad * 2.0) + 1.0).compute(), &["broadcast", "[3, 4]"]);
    assert_plan_err(bad.sum(None, false), &["broadcast"]);
    assert_plan_err(bad.slice(&[Idx::Int(0)]), &["broadcast"]);
    // Named methods return it at once.
    assert_plan_err(a.add(&b), &["add", "[3, 4]", "[4, 3]"]);
    assert_plan_err(a.less(&b), &["[3, 4]"]);
    assert_plan_err(
        where_(&a.greater(0.5).unwrap(), &b, 0.0).check(),
        &["broadcast"],
    );
    assert_plan_err(
        maximum(&a, arr(&data_f64(&[5], 82, 0.0, 1.0), 2usize.into())).check(),
        &["[5]"],
    );
}

#[test]
fn axes_out_of_range() {
    let a = x34();
    assert_plan_err(
        a.sum(Some(2), false),
        &["axis 2", "out of bounds", "dimension 2"],
    );
    assert_plan_err(a.mean(Some(-3), false), &["axis -3", "out of bounds"]);
    assert_plan_err(a.var(vec![0, 5], 0, true), &["axis 5"]);
    assert_plan_err(a.argmin(Some(2)), &["axis 2"]);
    assert_plan_err(a.max(vec![0, -2], false), &["duplicate"]);
    assert_plan_err(a.expand_dims(3), &["axis 3"]);
    assert_plan_err(a.expand_dims(-4), &["axis -4"]);
    assert_plan_err(a.squeeze(Some(&[0])), &["size not equal to one"]);
    assert_plan_err(a.squeeze(Some(&[2])), &["axis 2"]);
    assert_plan_err(a.transpose(&[0, 0]), &["[0, 0]"]);
    assert_plan_err(a.transpose(&[1]), &["[1]"]);
    assert_plan_err(concatenate(&[&a, &a], 2), &["axis 2"]);
    assert_plan_err(stack(&[&a, &a], -4), &["axis -4"]);
}

#[test]
fn bad_chunks() {
    let d = data_f64(&[7, 4], 83, 0.0, 1.0);
    assert_plan_err(
        from_ndarray(&d, vec![vec![3, 3], vec![4]]),
        &["[3, 3]", "sum to 6", "extent is 7"],
    );
    assert_plan_err(from_ndarray(&d, vec![vec![7, 0], vec![4]]), &["zero-sized"]);
    assert_plan_err(
        from_ndarray(&d, vec![vec![7]]),
        &["1 entries", "2 dimensions"],
    );
    assert_plan_err(zeros(&[7, 4], 0), &["chunk size 0"]);
    assert_plan_err(ones(&[7, 4], [2, 2, 2]), &["3 entries"]);
    let x = arr(&d, [3, 3].into());
    assert_plan_err(
        x.rechunk(vec![vec![7], vec![1, 2]]),
        &["sum to 3", "extent is 4"],
    );
    assert_plan_err(random::random(&[5], vec![vec![2, 2]], 1), &["sum to 4"]);
}

#[test]
fn structure_mismatches() {
    let a = x34();
    let b = arr(&data_f64(&[5, 2], 84, 0.0, 1.0), 2usize.into());
    assert_plan_err(a.matmul(&b), &["not aligned", "[3, 4]", "[5, 2]"]);
    assert_plan_err(
        a.dot(&arr(&data_f64(&[4], 85, 0.0, 1.0), 2usize.into())),
        &["2-D"],
    );
    assert_plan_err(a.reshape(&[5, 5]), &["cannot reshape", "size 12", "[5, 5]"]);
    assert_plan_err(a.reshape(&[-1, -1]), &["one unknown dimension"]);
    assert_plan_err(a.reshape(&[5, -1]), &["cannot reshape"]);
    assert_plan_err(
        concatenate(&[&a, &b], 0),
        &["along axis 1", "size 4", "size 2"],
    );
    assert_plan_err(
        concatenate(&[&a, &arr(&data_f64(&[3], 86, 0.0, 1.0), 1usize.into())], 0),
        &["number of dimensions"],
    );
    assert_plan_err(concatenate(&[], 0), &["at least one array"]);
    assert_plan_err(stack(&[&a, &a.t()], 0), &["same shape", "[3, 4]", "[4, 3]"]);
}

#[test]
fn bad_indices() {
    let a = x34();
    assert_plan_err(
        a.slice(&[Idx::Int(0), Idx::Int(0), Idx::Int(0)]),
        &["too many indices", "2-dimensional", "3 were indexed"],
    );
    assert_plan_err(
        a.slice(&[Idx::Int(3)]),
        &["index 3", "out of bounds", "axis 0", "size 3"],
    );
    assert_plan_err(
        a.slice(&[Idx::ALL, Idx::Int(-5)]),
        &["index -5", "axis 1", "size 4"],
    );
    assert_plan_err(
        a.slice(&[Idx::slice(None, None, 0)]),
        &["step cannot be zero"],
    );
    assert_plan_err(
        a.slice(&[Idx::Ellipsis, Idx::Ellipsis]),
        &["single ellipsis"],
    );
}

#[test]
fn bad_types_and_arguments() {
    let a = x34();
    let b = a.greater(0.5).unwrap();
    assert_plan_err(a.invert().check(), &["invert", "float64"]);
    assert_plan_err(b.add(&b), &["bool"]);
    assert_plan_err(b.neg().check(), &["bool"]);
    assert_plan_err(arange(0, 10, 0, 3), &["step", "non-zero"]);
    assert_plan_err(random::uniform(2.0, 1.0, &[3], 3, 1), &["low <= high"]);
    assert_plan_err(random::normal(0.0, -1.0, &[3], 3, 1), &["scale"]);
}

#[test]
fn reductions_without_identity_refuse_empty_input() {
    let e = zeros(&[0, 3], 2).unwrap();
    assert_plan_err(e.min(None, false), &["zero-size", "min", "[0, 3]"]);
    assert_plan_err(e.nanmax(Some(0), false), &["zero-size"]);
    assert_plan_err(e.argmax(None), &["zero-size"]);
    assert_plan_err(e.argmin(Some(0)), &["zero-size"]);
    // Reducing only the non-empty axis is fine: an empty result.
    assert_eq!(eval::<f64>(&e.min(Some(1), false).unwrap()).shape(), &[0]);
    // Arg reductions take one axis or all of them.
    assert_plan_err(
        zeros(&[2, 3, 4], 2).unwrap().reduce(
            chunkwise::kernel::reduce::ReduceOp::ArgMin,
            vec![0, 1],
            false,
        ),
        &["argmin", "[0, 1]"],
    );
}

#[test]
fn map_blocks_error_names_the_chunk() {
    let d = data_f64(&[6, 9], 87, 0.0, 1.0);
    let x = arr(&d, [2, 3].into());
    let y = x.map_blocks(
        |c, idx| {
            if idx == [1, 2] {
                Err(Error::plan("this block is cursed"))
            } else {
                Ok(c.clone())
            }
        },
        DType::F64,
    );
    for threads in [1, 3] {
        match y.compute_with(&session(threads, Some(5))) {
            Err(Error::Compute(m)) => {
                assert!(
                    m.contains("[1, 2]") && m.contains("this block is cursed"),
                    "{m}"
                );
            }
            other => panic!("expected a compute error, got {other:?}"),
        }
    }
    // Also when the failing chunk feeds a reduction.
    let err = y.sum(None, false).unwrap().compute().unwrap_err();
    assert!(
        matches!(&err, Error::Compute(m) if m.contains("[1, 2]")),
        "{err}"
    );
    // A closure returning the wrong shape is a compute error too, never a panic.
    let z = x.map_blocks(
        |_, _| Ok(Chunk::from(ArrayD::<f64>::zeros(IxDyn(&[1])))),
        DType::F64,
    );
    assert!(matches!(z.compute(), Err(Error::Compute(_))));
    // The rest of the array is fine.
    let ok = eval::<f64>(&y.slice(&[Idx::from(0isize..2)]).unwrap());
    assert_exact(
        &ok,
        &np_index(&d, &[Idx::from(0isize..2)]),
        "unaffected chunks",
    );
}

/// Bytes of a size printed as `762.9 MiB` (exec's `human_bytes`).
fn parse_size(s: &str) -> Option<f64> {
    let mut it = s.split_whitespace();
    let v: f64 = it.next()?.parse().ok()?;
    let unit = match it.next()? {
        "B" => 1.0,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        "TiB" => 1024f64.powi(4),
        _ => return None,
    };
    Some(v * unit)
}

#[test]
fn memory_limit_refuses_big_results_but_not_their_reductions() {
    let s = Session::new(Config {
        threads: 2,
        memory_limit: 1 << 20,
        shuffle_seed: None,
    })
    .unwrap();
    let x = ones(&[10000, 10000], 1000).unwrap();
    match x.compute_with(&s) {
        Err(Error::ResourcesExhausted(m)) => {
            assert!(m.contains("limit is 1.0 MiB"), "{m}");
            // The projected need is at least the result: 10^8 float64 = 762.9 MiB.
            let need = m
                .split("needs about ")
                .nth(1)
                .and_then(|r| parse_size(r.split(" per").next()?));
            let need = need.unwrap_or_else(|| panic!("no projected size in {m:?}"));
            assert!(need >= 0.99 * 8e8, "projected {need} bytes in {m:?}");
        }
        other => panic!(
            "expected ResourcesExhausted, got {:?}",
            other.map(|c| c.shape().to_vec())
        ),
    }
    let total = eval_with::<f64>(&x.sum(None, false).unwrap(), &s);
    assert_eq!(total[[]], 1e8);
    let m = eval_with::<f64>(
        &(&x * 3.0)
            .mean(Some(0), false)
            .unwrap()
            .sum(None, false)
            .unwrap(),
        &s,
    );
    assert_eq!(m[[]], 30000.0);
}

/// (layer line, tasks) of each layer in an `explain` text.
fn layers(text: &str) -> Vec<(String, usize)> {
    text.lines()
        .filter(|l| l.trim_start().starts_with("layer"))
        .map(|l| {
            let tasks = l
                .split("tasks")
                .nth(1)
                .and_then(|r| r.split_whitespace().next())
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("no task count in {l:?}"));
            (l.to_string(), tasks)
        })
        .collect()
}

#[test]
fn elementwise_chain_fuses_into_the_reduction() {
    let d = data_f64(&[100, 100], 88, 0.0, 1.0);
    for x in [
        random::random(&[1000, 1000], [250, 250], 1).unwrap(),
        arr(&d, [30, 30].into()),
    ] {
        let e = ((&x + 1.0) * 2.0).sqrt().sum(None, false).unwrap();
        let text = e.explain().unwrap();
        let ls = layers(&text);
        let fused: Vec<_> = ls
            .iter()
            .filter(|(l, _)| l.contains("fused[") && l.contains("-partial"))
            .collect();
        assert_eq!(
            fused.len(),
            1,
            "one fused layer feeding the reduction:\n{text}"
        );
        let (line, tasks) = fused[0];
        for op in ["add", "multiply", "sqrt", "sum-partial"] {
            assert!(line.contains(op), "{op} not in the fused layer:\n{text}");
        }
        assert_eq!(
            *tasks, 16,
            "the fused layer runs once per input chunk:\n{text}"
        );
        // No other layer runs over the whole grid, except reading the stored input.
        let wide: Vec<_> = ls
            .iter()
            .filter(|(l, t)| *t == 16 && !l.contains("fused[") && !l.contains("from_array"))
            .collect();
        assert!(
            wide.is_empty(),
            "unfused full-grid layers {wide:?}:\n{text}"
        );
        // And the plan computes the right value.
        let got = eval::<f64>(&e)[[]];
        let xv = eval::<f64>(&x);
        let want: f64 = xv.iter().map(|v| ((v + 1.0) * 2.0).sqrt()).sum();
        assert!(close(got, want, RTOL_F64), "{got} vs {want}");
    }
}

#[test]
fn a_slice_of_a_huge_random_array_never_builds_it() {
    // 10^10 float64 (80 GB) in 10^4 chunks: only the chunks the slice touches run.
    let big = random::random(&[100_000, 100_000], 1000, 5).unwrap();
    let s = big
        .slice(&[Idx::from(10isize..20), Idx::from(995isize..1003)])
        .unwrap();
    for e in [s.clone(), s.sum(None, false).unwrap(), (&s * 2.0).t()] {
        let text = e.explain().unwrap();
        for (l, tasks) in layers(&text) {
            assert!(tasks <= 2, "layer with {tasks} tasks: {l}\n{text}");
            assert!(
                !l.contains("7.6 MiB") && !l.contains("[100, 100]"),
                "a full-size layer: {l}\n{text}"
            );
        }
    }
    // Its values are those of the chunks it comes from: chunk (0, 0) and (0, 1).
    let got = eval::<f64>(&s);
    let c0 = eval::<f64>(
        &big.slice(&[Idx::from(0isize..1000), Idx::from(0isize..2000)])
            .unwrap(),
    );
    assert_bits_equal(
        &got,
        &np_index(&c0, &[Idx::from(10isize..20), Idx::from(995isize..1003)]),
        "slice of big",
    );
    assert!(got.iter().all(|&v| (0.0..1.0).contains(&v)));
}
