"""Dask side of scenario (a): the seed expression, as in bench/scenarios.rs.

    (x + x.T - x.mean(axis=0)).std()  on an n x n uniform random array, 1000x1000 chunks

Threaded scheduler with 2 workers (the cores of the reference machine); the
median of 5 runs after one warm-up run. Also NumPy on one in-memory array.

    bench/.venv/bin/python bench/dask_seed.py [--n 20000] [--runs 5] [--workers 2] [--numpy]
"""

import argparse
import os
import statistics
import time

import dask
import dask.array as da
import numpy as np


def median_of(runs, f):
    f()  # warm-up
    times, v = [], None
    for _ in range(runs):
        t = time.perf_counter()
        v = f()
        times.append(time.perf_counter() - t)
    return statistics.median(times), times, v


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=20000)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--numpy", action="store_true", help="also time NumPy on one array")
    a = p.parse_args()

    x = da.random.default_rng(0).random((a.n, a.n), chunks=1000)
    y = (x + x.T - x.mean(axis=0)).std()
    with dask.config.set(scheduler="threads", num_workers=a.workers):
        med, times, v = median_of(a.runs, lambda: float(y.compute()))
    load = os.getloadavg()[0]
    print(
        f"dask {dask.__version__} seed n={a.n} threads={a.workers}: median {med:.3f} s "
        f"(runs: {' '.join(f'{t:.3f}' for t in times)}) std = {v:.6f}; load {load:.2f}"
    )

    if a.numpy:
        def f():
            xn = np.random.default_rng(0).random((a.n, a.n))
            return float((xn + xn.T - xn.mean(axis=0)).std())

        med, times, v = median_of(min(a.runs, 3), f)
        print(
            f"numpy {np.__version__} seed n={a.n}: median {med:.3f} s "
            f"(runs: {' '.join(f'{t:.3f}' for t in times)}) std = {v:.6f}; "
            f"load {os.getloadavg()[0]:.2f}"
        )


if __name__ == "__main__":
    main()
