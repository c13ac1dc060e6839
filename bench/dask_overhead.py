"""Dask side of scenarios (b) and (c): per-task overhead, as in bench/scenarios.rs.

(b) a raw Dask graph of `--tasks` no-op source tasks and a tree of fan-in 16 above
    them down to one task (the same graph chunkwise's executor runs), on the threaded
    scheduler (2 workers) and the synchronous one;
(c) da.zeros(tasks, chunks=1).sum() (Dask's own tree reduction, split_every 16).

Reports total time / number of tasks in the graph as run (for (c): the optimised
graph, and the time includes Dask's graph construction and optimisation, as
chunkwise's includes planning); median of 5 runs (3 for (c)) after a warm-up.

    bench/.venv/bin/python bench/dask_overhead.py [--tasks 100000] [--runs 5] [--api-runs 3] [--workers 2]
"""

import argparse
import os
import statistics
import time

import dask
import dask.array as da
import dask.threaded
import dask.local

FACTOR = 16


def noop(*args):
    return None


def tree_graph(n):
    """{key: task}: n sources, then layers of ceil(width/16) tasks down to one."""
    g = {("src", i): (noop,) for i in range(n)}
    prev, width, level = "src", n, 0
    while width > 1:
        level += 1
        name = f"combine-{level}"
        nxt = -(-width // FACTOR)
        for j in range(nxt):
            deps = [(prev, k) for k in range(j * FACTOR, min(width, (j + 1) * FACTOR))]
            g[(name, j)] = (noop, deps)
        prev, width = name, nxt
    return g, (prev, 0)


def median_of(runs, f):
    f()  # warm-up
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return statistics.median(times), times


def report(what, ntasks, med, times):
    print(
        f"{what}, {ntasks} tasks: median {med:.3f} s = {med * 1e6 / ntasks:.1f} us/task "
        f"(runs: {' '.join(f'{t:.3f}' for t in times)}); load {os.getloadavg()[0]:.2f}"
    )


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--tasks", type=int, default=100_000)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--api-runs", type=int, default=3, help="runs of da.zeros().sum() (slow)")
    a = p.parse_args()
    print(f"dask {dask.__version__}")

    g, out = tree_graph(a.tasks)
    n = len(g)
    med, times = median_of(a.runs, lambda: dask.threaded.get(g, out, num_workers=a.workers))
    report(f"raw graph, threaded ({a.workers} workers)", n, med, times)
    med, times = median_of(a.runs, lambda: dask.local.get_sync(g, out))
    report("raw graph, synchronous", n, med, times)

    y = da.zeros(a.tasks, chunks=1).sum(split_every=FACTOR)
    (opt,) = dask.optimize(y)
    n = len(dict(opt.__dask_graph__()))
    for sched, kw in [("threads", {"num_workers": a.workers}), ("synchronous", {})]:
        with dask.config.set(scheduler=sched, **kw):
            med, times = median_of(a.api_runs, lambda: float(y.compute()))
        report(f"da.zeros({a.tasks}, chunks=1).sum(), {sched}", n, med, times)


if __name__ == "__main__":
    main()
