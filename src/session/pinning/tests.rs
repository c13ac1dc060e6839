//! Unit tests of pin plans: the split, checked against counting; the
//! decisions on a synthetic machine; pools pinned on this one.

use super::*;
use proptest::prelude::*;

fn node(local_rank: usize, local_size: usize) -> NodeInfo {
    NodeInfo {
        local_rank,
        local_size,
        node_index: 0,
        node_count: 1,
    }
}

/// A made-up machine: 2 packages of 4 cores of 2 PUs (PUs 2c and 2c+1
/// on core c).
fn synthetic() -> Arc<Topology> {
    let builder = Topology::builder()
        .from_synthetic("pack:2 core:4 pu:2")
        .expect("synthetic description");
    Arc::new(builder.build().expect("synthetic topology"))
}

fn pus(range: Range<usize>) -> CpuSet {
    CpuSet::from_range(range)
}

#[test]
fn five_cores_over_two_ranks_are_three_and_two() {
    assert_eq!(split_cores(5, 0, 2).unwrap().cores, 0..3);
    assert_eq!(split_cores(5, 1, 2).unwrap().cores, 3..5);
}

#[test]
fn one_rank_gets_every_core() {
    let s = split_cores(8, 0, 1).unwrap();
    assert_eq!((s.cores, s.shared_with, s.oversubscribed), (0..8, 0, false));
}

#[test]
fn more_ranks_than_cores_share_round_robin() {
    // 4 ranks on 2 cores: ranks 0 and 2 on core 0, 1 and 3 on core 1.
    let shares: Vec<_> = (0..4).map(|r| split_cores(2, r, 4).unwrap()).collect();
    let cores: Vec<_> = shares.iter().map(|s| s.cores.clone()).collect();
    assert_eq!(cores, vec![0..1, 1..2, 0..1, 1..2]);
    assert!(shares
        .iter()
        .all(|s| s.oversubscribed && s.shared_with == 1));
    // 3 ranks on 2 cores: core 1 has one rank, core 0 two.
    let shared: Vec<_> = (0..3)
        .map(|r| split_cores(2, r, 3).unwrap().shared_with)
        .collect();
    assert_eq!(shared, vec![1, 0, 1]);
}

#[test]
fn bad_inputs_are_internal_errors() {
    assert!(matches!(split_cores(4, 2, 2), Err(Error::Internal(_))));
    assert!(matches!(split_cores(0, 0, 1), Err(Error::Internal(_))));
}

proptest! {
    /// Checked against counting: every core's users are the ranks whose
    /// share holds it.
    #[test]
    fn shares_cover_the_node_fairly(cores in 1usize..40, ranks in 1usize..40) {
        let shares: Vec<CoreShare> =
            (0..ranks).map(|r| split_cores(cores, r, ranks).unwrap()).collect();
        let mut users = vec![0usize; cores];
        for s in &shares {
            prop_assert!(!s.cores.is_empty() && s.cores.end <= cores);
            prop_assert_eq!(s.oversubscribed, ranks > cores);
            for c in s.cores.clone() {
                users[c] += 1;
            }
        }
        if ranks <= cores {
            prop_assert!(users.iter().all(|&u| u == 1), "disjoint and covering");
            let sizes: Vec<usize> = shares.iter().map(|s| s.cores.len()).collect();
            prop_assert!(sizes.windows(2).all(|w| w[0] >= w[1] && w[0] - w[1] <= 1));
            prop_assert!(shares.windows(2).all(|w| w[0].cores.end == w[1].cores.start));
        } else {
            prop_assert!(users.iter().all(|&u| u >= 1), "every core used");
            prop_assert!(users.iter().max().unwrap() - users.iter().min().unwrap() <= 1);
            for s in &shares {
                prop_assert_eq!(s.cores.len(), 1);
                prop_assert_eq!(s.shared_with + 1, users[s.cores.start]);
            }
        }
    }
}

#[test]
fn index_lists_collapse_runs() {
    assert_eq!(index_list(&[0, 1, 2, 3]), "0-3");
    assert_eq!(index_list(&[7, 0, 2, 5, 6]), "0,2,5-7");
    assert_eq!(describe_cores(&[4]), "core 4");
    assert_eq!(describe_cores(&[]), "no cores");
}

#[test]
fn unbound_ranks_split_the_node_into_disjoint_blocks() {
    let topo = synthetic();
    let all = pus(0..16);
    let plans: Vec<PinPlan> = (0..3)
        .map(|r| plan_with(topo.clone(), &all, &node(r, 3)))
        .collect();
    let cores: Vec<Vec<usize>> = plans.iter().map(PinPlan::core_indices).collect();
    assert_eq!(cores, vec![vec![0, 1, 2], vec![3, 4, 5], vec![6, 7]]);
    assert_eq!(plans[2].description(), "cores 6-7");
    assert_eq!(plans[2].threads(), 4, "2 cores of 2 PUs");
    assert!(plans.iter().all(|p| p.placement() == Placement::Split));
    // Each thread gets one core: worker 3 of rank 1 wraps to core 3.
    assert_eq!(plans[1].target(3), Some(&pus(6..8)));
    assert_eq!(plans[1].target(1), Some(&pus(8..10)));
}

#[test]
fn oversubscribed_ranks_each_get_a_core_and_say_it_is_shared() {
    let topo = synthetic();
    let all = pus(0..16);
    for r in 0..10 {
        let p = plan_with(topo.clone(), &all, &node(r, 10));
        assert_eq!(p.core_indices(), vec![r % 8], "rank {r}");
        assert!(p.oversubscribed());
        assert!(p.description().contains("10 ranks share 8 cores"), "{p:?}");
        let expect_shared = r % 8 < 2;
        assert_eq!(p.shared_with(), usize::from(expect_shared), "rank {r}");
        assert_eq!(
            p.description().contains("shared with 1 other rank;"),
            expect_shared,
            "{}",
            p.description()
        );
    }
}

#[test]
fn a_launcher_binding_to_one_core_is_kept_not_widened() {
    // Open MPI's default for 1 or 2 ranks: each bound to one core.
    let topo = synthetic();
    let p = plan_with(topo, &pus(2..4), &node(0, 1));
    assert_eq!(p.placement(), Placement::Launcher);
    assert_eq!(p.core_indices(), vec![1]);
    assert_eq!(p.description(), "core 1 (bound by the launcher)");
    assert_eq!(p.threads(), 2);
    assert_eq!(p.cpuset(), Some(&pus(2..4)));
}

#[test]
fn a_launcher_binding_to_part_of_a_core_keeps_only_those_pus() {
    let topo = synthetic();
    let p = plan_with(topo, &pus(5..6), &node(0, 1));
    assert_eq!(p.core_indices(), vec![2]);
    assert_eq!(p.cpuset(), Some(&pus(5..6)));
    assert_eq!(p.threads(), 1);
}

#[test]
fn a_package_binding_shared_by_two_ranks_binds_threads_to_the_whole_package() {
    // 4 ranks on 2 packages, bound by package: 2 ranks per package.
    let topo = synthetic();
    let p = plan_with(topo, &pus(8..16), &node(1, 4));
    assert_eq!(p.core_indices(), vec![4, 5, 6, 7]);
    assert_eq!(p.shared_with(), 1);
    assert_eq!(p.threads(), 4, "8 PUs for 2 ranks");
    assert_eq!(p.target(0), Some(&pus(8..16)));
    assert_eq!(p.target(3), Some(&pus(8..16)));
    assert!(
        p.description()
            .ends_with("(bound by the launcher; likely shared with 1 other rank)"),
        "{}",
        p.description()
    );
}

#[test]
fn a_package_binding_per_rank_pins_each_thread_to_a_core() {
    let topo = synthetic();
    let p = plan_with(topo, &pus(0..8), &node(0, 2));
    assert_eq!(p.shared_with(), 0);
    assert_eq!(p.threads(), 8);
    assert_eq!(p.target(5), Some(&pus(2..4)));
}

#[test]
fn a_binding_outside_the_machine_does_not_pin() {
    let topo = synthetic();
    let p = plan_with(topo, &pus(100..101), &node(0, 1));
    assert!(!p.is_pinned());
    assert!(p
        .description()
        .starts_with("not pinned (the process is bound"));
    assert!(pin_current_thread(&p, 0).is_ok(), "nothing to do");
}

#[test]
fn summaries_count_threads() {
    let topo = synthetic();
    let p = plan_with(topo, &pus(0..16), &node(1, 2));
    assert_eq!(p.summary(), "8 threads on cores 4-7");
    let q = PinPlan::not_pinned("no hwloc", 1);
    assert_eq!(q.summary(), "1 thread, not pinned (no hwloc)");
}

/// On this machine: a pool built from the real plan has every worker
/// bound where the plan says (read back from the OS through hwloc).
#[test]
fn pool_workers_are_bound_to_their_targets() {
    let plan = plan_for(&node(0, 1));
    let threads = plan.threads() + 1; // one more than cores: wraps around
    let pool = pinned_pool_builder(&plan, threads)
        .build()
        .expect("thread pool");
    assert_eq!(pool.current_num_threads(), threads);
    let names = pool.broadcast(|_| std::thread::current().name().map(str::to_string));
    assert!(
        names.iter().all(|n| n
            .as_deref()
            .is_some_and(|n| n.starts_with("chunkwise-worker-"))),
        "{names:?}"
    );
    if plan.is_pinned() {
        plan.check_pool(&pool).unwrap();
        let seen: Vec<CpuSet> = pool.broadcast(|_| {
            Topology::new()
                .expect("hwloc")
                .cpu_binding(CpuBindingFlags::THREAD)
                .expect("thread binding")
        });
        let union = seen.iter().fold(CpuSet::new(), |acc, s| acc | s);
        assert_eq!(Some(&union), plan.cpuset());
    }
}

#[test]
fn a_refused_binding_is_recorded_not_fatal() {
    // A plan naming a PU this machine does not have: the OS refuses
    // it, yet the pool starts and runs, and the plan reports why.
    let topology = Arc::new(Topology::new().expect("hwloc"));
    let plan = PinPlan::pinned(PinnedParts {
        topology,
        cores: vec![PlanCore {
            index: 4000,
            set: pus(4000..4001),
        }],
        threads: 2,
        one_core_per_thread: true,
        shared_with: 0,
        oversubscribed: false,
        placement: Placement::Split,
        notes: Vec::new(),
    });
    let err = pin_current_thread(&plan, 0).unwrap_err();
    assert!(
        matches!(err, Error::ResourcesExhausted(ref m) if m.contains("core 4000 (PUs 4000)")),
        "{err}"
    );
    let pool = pinned_pool_builder(&plan, 2).build().expect("thread pool");
    // Every worker runs (so every start handler has run).
    assert_eq!(pool.broadcast(|ctx| ctx.index() * 2), vec![0, 2]);
    let failures = plan.pin_failures().expect("failures recorded");
    assert!(
        failures.starts_with("2 worker threads could not be pinned; first: cannot pin worker"),
        "{failures}"
    );
    assert!(matches!(
        plan.check_pool(&pool),
        Err(Error::ResourcesExhausted(_))
    ));
}

#[test]
fn recorded_failures_are_counted_and_the_first_kept() {
    let plan = PinPlan::not_pinned("test", 1);
    assert_eq!(plan.pin_failures(), None);
    plan.failures.record("first".into());
    plan.clone().failures.record("second".into());
    assert_eq!(
        plan.pin_failures().as_deref(),
        Some("2 worker threads could not be pinned; first: first")
    );
}
