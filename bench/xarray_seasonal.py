"""xarray + Dask side of the issue-4 benchmark: the seasonal climatology of 48 monthly files.

    ds = xr.open_mfdataset(files, engine="netcdf4", chunks={"time": 31}, parallel=False)
    ds.air.groupby("time.season").mean("time").compute()

on the files of bench/make_air_files.py, with Dask's threaded scheduler and 2 workers. One
untimed run first (warms the page cache and the imports), then the median of `--runs` timed
runs. A run is the whole thing, opening included, as a user would time it; the open and the
compute are also timed apart. Prints the median, the result's checksum (the sum of its values
in float64, and a hash of their bits) and, with `--save`, writes the result as raw
little-endian float32 in xarray's season order (DJF, JJA, MAM, SON), for bench/seasonal.rs to
compare with.

    tests/fixtures/.venv/bin/python bench/xarray_seasonal.py [--dir bench/data/air] [--runs 5]
        [--workers 2] [--save bench/out/seasonal_xarray.f32]
"""

import argparse
import glob
import os
import pathlib
import statistics
import time

import dask
import numpy as np
import xarray as xr

HERE = pathlib.Path(__file__).resolve().parent


def run(files):
    t0 = time.perf_counter()
    ds = xr.open_mfdataset(files, engine="netcdf4", chunks={"time": 31}, parallel=False)
    t1 = time.perf_counter()
    clim = ds.air.groupby("time.season").mean("time").compute()
    t2 = time.perf_counter()
    ds.close()
    return clim, t1 - t0, t2 - t1, t2 - t0


def checksum(a):
    bits = np.ascontiguousarray(a, dtype="<f4").view("<u4").astype(np.uint64)
    h = 0
    for b in bits.ravel():
        h = ((h << 5) | (h >> 59)) & 0xFFFFFFFFFFFFFFFF
        h ^= int(b)
    return h


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dir", default=str(HERE / "data" / "air"))
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--save", help="write the result here as raw float32 (DJF, JJA, MAM, SON)")
    a = p.parse_args()

    files = sorted(glob.glob(os.path.join(a.dir, "air_*.nc")))
    if len(files) != 48:
        raise SystemExit(f"expected 48 files air_*.nc in {a.dir}, found {len(files)}; "
                         "run bench/make_air_files.py")
    load = os.getloadavg()[0]
    with dask.config.set(scheduler="threads", num_workers=a.workers):
        clim, *_ = run(files)  # warm-up
        opens, computes, totals = [], [], []
        for _ in range(a.runs):
            clim, to, tc, tt = run(files)
            opens.append(to)
            computes.append(tc)
            totals.append(tt)
    vals = clim.transpose("season", "lat", "lon").values
    print(
        f"xarray {xr.__version__} dask {dask.__version__} seasonal, {len(files)} files, "
        f"threads={a.workers}: median {statistics.median(totals):.3f} s "
        f"(runs: {' '.join(f'{t:.3f}' for t in totals)}); "
        f"open {statistics.median(opens):.3f} s, compute {statistics.median(computes):.3f} s; "
        f"load {load:.2f} -> {os.getloadavg()[0]:.2f}"
    )
    print(
        f"result {list(clim.season.values)} {vals.shape} {vals.dtype}: "
        f"sum {vals.astype(np.float64).sum():.6f}, bits {checksum(vals):#018x}"
    )
    if a.save:
        pathlib.Path(a.save).parent.mkdir(parents=True, exist_ok=True)
        vals.astype("<f4").tofile(a.save)
        print(f"saved: {a.save}")


if __name__ == "__main__":
    main()
