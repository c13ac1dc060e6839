//! Snapshot tests of `explain`: the optimised plan of a few expressions, pinned as
//! text (layers, task counts, what was fused, projected memory). A change here is a
//! change in how chunkwise plans; update the snapshot only on purpose.

use chunkwise::prelude::*;
use chunkwise::session::{Config, Session};

fn session() -> Session {
    Session::new(Config {
        threads: 2,
        memory_limit: 1 << 30,
        shuffle_seed: None,
    })
    .unwrap()
}

fn check(a: &Array, expected: &str) {
    let got = a.explain_with(&session()).unwrap();
    let norm = |s: &str| s.lines().map(str::trim_end).collect::<Vec<_>>().join("\n");
    assert_eq!(norm(&got), norm(expected), "\n--- got ---\n{got}");
}

#[test]
fn seed_expression_plan() {
    let x = random::random(&[4000, 4000], [1000, 1000], 0).unwrap();
    let y = (&x + &x.t() - x.mean(Some(0), false).unwrap())
        .std(None, 0, false)
        .unwrap();
    check(&y, SEED);
}

#[test]
fn elementwise_chain_into_a_sum_is_one_layer() {
    let x = ones(&[1000, 1000], 250).unwrap();
    let y = ((&x + 1.0) * 2.0).sqrt().sum(None, false).unwrap();
    check(&y, CHAIN);
}

#[test]
fn slice_of_random_reaches_the_generator() {
    let x = random::random(&[100_000, 100_000], [1000, 1000], 0).unwrap();
    let y = (&x * 2.0).slice(&[Idx::from(10..20), Idx::Int(5)]).unwrap();
    check(&y, SLICE);
}

#[test]
fn slice_of_a_reduction_culls_the_tasks_it_does_not_need() {
    let s = session();
    let x = random::random(&[8000, 8000], [1000, 1000], 0).unwrap();
    let rows = x.sum(Some(1), false).unwrap();
    let y = rows.slice(&[Idx::from(2500..2600)]).unwrap();
    check(&y, CULL);
    // The culled plan computes the same values as the whole reduction.
    let part = y.compute_with(&s).unwrap().to_f64();
    let whole = rows.compute_with(&s).unwrap().to_f64();
    assert_eq!(
        part.as_slice().unwrap(),
        &whole.as_slice().unwrap()[2500..2600]
    );
}

const SEED: &str = "\
plan: 5 layers, 38 tasks (38 after culling), result float64 [] chunks []
rules: PushRechunkIntoGenerator x0, PushSliceIntoSource x0, FuseBlockwise x3, FuseReduce x2, PairTransposedReads x1
  layer  0: fused[random] -> mean-partial                                tasks       16  grid [4, 4]  chunk 15.6 KiB
  layer  1: mean-combine-1                                               tasks        4  grid [1, 4]  chunk 7.8 KiB  <- 0
  layer  2: fused[random, random.T, input | add, subtract] -> std-partial (blocks paired over axes 0 and 1) tasks       16  grid [4, 4]  chunk 24 B  <- 1, 1
  layer  3: std-combine-1                                                tasks        1  grid [1, 1]  chunk 8 B  <- 2
  layer  4: fused[input]                                                 tasks        1  grid []  chunk 8 B  <- 3
projected peak memory per rank: 797.3 KiB (results 8 B + 2 tasks in flight x 257.8 KiB each + resident layers 281.6 KiB); limit 1.0 GiB
";
const CHAIN: &str = "\
plan: 3 layers, 18 tasks (18 after culling), result float64 [] chunks []
rules: PushRechunkIntoGenerator x0, PushSliceIntoSource x0, FuseBlockwise x2, FuseReduce x1, PairTransposedReads x0
  layer  0: fused[1, 1, 2 | add, multiply, sqrt] -> sum-partial          tasks       16  grid [4, 4]  chunk 8 B
  layer  1: sum-combine-1                                                tasks        1  grid [1, 1]  chunk 8 B  <- 0
  layer  2: fused[input]                                                 tasks        1  grid []  chunk 8 B  <- 1
projected peak memory per rank: 408 B (results 8 B + 2 tasks in flight x 136 B each + resident layers 128 B); limit 1.0 GiB
";
const SLICE: &str = "\
plan: 1 layers, 1 tasks (1 after culling), result float64 [10] chunks [1]
rules: PushRechunkIntoGenerator x0, PushSliceIntoSource x1, FuseBlockwise x1, FuseReduce x0, PairTransposedReads x0
  layer  0: fused[random, 2 | multiply]                                  tasks        1  grid [1]  chunk 80 B
projected peak memory per rank: 240 B (results 80 B + 2 tasks in flight x 80 B each + resident layers 0 B); limit 1.0 GiB
";
const CULL: &str = "\
plan: 4 layers, 74 tasks (11 after culling), result float64 [100] chunks [1]
rules: PushRechunkIntoGenerator x0, PushSliceIntoSource x1, FuseBlockwise x2, FuseReduce x1, PairTransposedReads x0
  layer  0: fused[random] -> sum-partial                                 tasks       64  grid [8, 8]  chunk 7.8 KiB
  layer  1: sum-combine-1                                                tasks        8  grid [8, 1]  chunk 7.8 KiB  <- 0
  layer  2: getitem                                                      tasks        1  grid [1, 1]  chunk 800 B  <- 1
  layer  3: fused[input]                                                 tasks        1  grid [1]  chunk 800 B  <- 2
projected peak memory per rank: 766.4 KiB (results 800 B + 2 tasks in flight x 132.8 KiB each + resident layers 500.0 KiB); limit 1.0 GiB
";
