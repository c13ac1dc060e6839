"""Open what chunkwise wrote in xarray and compare it with xarray's own result.

Run by scripts/check-xarray-reads.sh (which builds and runs the example first);
by hand, from the repository root, in the fixtures venv:

    tests/fixtures/.venv/bin/python scripts/check_xarray_reads.py \
        'tests/fixtures/data/nc/mf/*.nc' '1 rank=out1.nc' '1 rank=out1.zarr' ...

Each output is `LABEL=PATH`: a path ending in `.zarr` is opened with
`xr.open_zarr`, twice (consolidated=True, then False: through the root's
consolidated metadata and through each array's own), any other with
`xr.open_dataset`. The reference is the seed
workflow computed by xarray (with dask) on the same input files:

    ds = xr.open_mfdataset(PATTERN, combine='by_coords')
    clim = ds.groupby('time.season').mean('time')
    d = abs(clim.air.sel(season='JJA') - clim.air.sel(season='DJF'))

For every output it checks: the data variables (only `air`), the dims and
sizes, the coordinates (names, dims, dtype, values exactly, attributes), the
variable's and the dataset's attributes, the dtype (float32), NaN at the same
places, and the values within a float32 tolerance. Then that all outputs hold
the same bits. Prints one line per check; exits 1 on any mismatch.
"""

import os
import sys
import warnings

import numpy as np
import xarray as xr

# `d = |JJA - DJF|`: each season mean is reduced in float32 (xarray: numpy's
# pairwise sum; chunkwise: its own order), so each may be off by a few float32
# ulps of the operands (~270 K), not of the (much smaller) difference. Allow a
# relative 1e-5 of |JJA| + |DJF| (tests/fixtures/README.md: 1e-5 is ample for a
# float32 mean; the largest gap seen was ~3e-6).
RTOL = 1e-5

failures = []
current = [""]  # the output being checked, to name it in the summary


def check(ok, what, detail=""):
    line = f"  {'ok  ' if ok else 'FAIL'} {what}"
    if detail:
        line += f": {detail}"
    print(line)
    if not ok:
        failures.append(f"{current[0]}: {what}" if current[0] else what)
    return ok


def same_attrs(got, want):
    """Attributes equal, numbers compared as numbers (arrays element-wise)."""
    if set(got) != set(want):
        return False
    for k in want:
        a, b = np.asarray(got[k]), np.asarray(want[k])
        if a.shape != b.shape or not np.array_equal(a, b):
            return False
    return True


def reference(pattern):
    ds = xr.open_mfdataset(pattern, combine="by_coords")
    clim = ds.groupby("time.season").mean("time")
    jja = clim.air.sel(season="JJA")
    djf = clim.air.sel(season="DJF")
    d = abs(jja - djf).compute()
    scale = (abs(jja) + abs(djf)).compute().values.astype("float64")
    # The same in float64, to show how far each float32 result is from exact.
    clim64 = ds.astype("float64").groupby("time.season").mean("time")
    d64 = abs(clim64.air.sel(season="JJA") - clim64.air.sel(season="DJF")).compute()
    return d, scale, d64.values


def is_zarr(path):
    return path.rstrip("/").endswith(".zarr")


def open_output(path, consolidated):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if is_zarr(path):
            got = xr.open_zarr(path, consolidated=consolidated)
        else:
            got = xr.open_dataset(path)
        got = got.load()
    return got, [f"{w.category.__name__}: {w.message}" for w in caught]


def check_output(label, path, d, scale, exact, consolidated=None):
    if is_zarr(path):
        call = f"xr.open_zarr({path!r}, consolidated={consolidated})"
    else:
        call = f"xr.open_dataset({path!r})"
    print(f"{label}: {call}")
    current[0] = f"{label} {os.path.basename(path.rstrip('/'))}"
    if consolidated is False:
        current[0] += " (consolidated=False)"
    try:
        got, caught = open_output(path, consolidated)
    except Exception as e:  # noqa: BLE001 - report whatever xarray raised
        check(False, "opens", f"{type(e).__name__}: {e}")
        return None
    check(True, "opens")
    check(not caught, "no warnings while opening", "; ".join(caught))
    want = d.to_dataset()

    names = sorted(got.data_vars)
    if not check(names == [d.name], "data variables", f"{names} (want {[d.name]})"):
        return None
    air = got[d.name]
    check(air.dims == d.dims, "dims", f"{air.dims} (want {d.dims})")
    check(dict(got.sizes) == dict(want.sizes), "sizes", f"{dict(got.sizes)}")
    check(
        sorted(got.coords) == sorted(want.coords),
        "coordinate names",
        f"{sorted(got.coords)} (want {sorted(want.coords)})",
    )
    for c in want.coords:
        if c not in got.coords:
            continue
        g, w = got.coords[c], want.coords[c]
        check(g.dims == w.dims, f"coord {c}: dims", f"{g.dims}")
        check(g.dtype == w.dtype, f"coord {c}: dtype", f"{g.dtype} (want {w.dtype})")
        check(
            g.shape == w.shape and np.array_equal(g.values, w.values),
            f"coord {c}: values (exact)",
            f"{g.values.tolist()}",
        )
        check(same_attrs(g.attrs, w.attrs), f"coord {c}: attrs", f"{g.attrs} (want {w.attrs})")
        check(c in got.indexes, f"coord {c}: is an index")
    check(same_attrs(air.attrs, d.attrs), f"{d.name}: attrs", f"{air.attrs} (want {d.attrs})")
    check(same_attrs(got.attrs, want.attrs), "dataset attrs", f"{got.attrs} (want {want.attrs})")
    check(air.dtype == d.dtype, f"{d.name}: dtype", f"{air.dtype} (want {d.dtype})")
    if air.shape != d.shape:
        check(False, f"{d.name}: shape", f"{air.shape} (want {d.shape})")
        return None
    g = air.values.astype("float64")
    w = d.values.astype("float64")
    nan_same = np.array_equal(np.isnan(g), np.isnan(w))
    check(nan_same, f"{d.name}: NaN at the same places", f"{int(np.isnan(g).sum())} NaN")
    ok = ~np.isnan(w)
    err = np.abs(g - w)[ok]
    tol = (RTOL * scale)[ok]
    worst = float(np.max(err / tol)) if err.size else 0.0
    check(
        bool(np.all(err <= tol)),
        f"{d.name}: values within {RTOL:g} x (|JJA| + |DJF|) of xarray's",
        f"{err.size} values, max |diff| {float(err.max()) if err.size else 0:.3g} "
        f"({worst:.3f} of the tolerance), {int(np.sum(g[ok] == w[ok]))} bit-identical",
    )
    e64 = np.abs(g - exact)[ok]
    x64 = np.abs(w - exact)[ok]
    print(
        f"  info vs float64 computation: max |diff| chunkwise {float(e64.max()):.3g}, "
        f"xarray {float(x64.max()):.3g}"
    )
    return air.values


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    pattern, outputs = argv[1], [a.split("=", 1) for a in argv[2:]]
    import dask
    import netCDF4
    import zarr

    print(
        f"xarray {xr.__version__}, zarr {zarr.__version__}, netCDF4 {netCDF4.__version__} "
        f"(netcdf-c {netCDF4.__netcdf4libversion__}, HDF5 {netCDF4.__hdf5libversion__}), "
        f"dask {dask.__version__}, numpy {np.__version__}"
    )
    d, scale, exact = reference(pattern)
    print(
        f"reference: xarray on {pattern!r}: {d.name} {dict(d.sizes)} {d.dtype}, "
        f"coords {list(d.coords)}, attrs {d.attrs}"
    )
    results = {}
    for label, path in outputs:
        # A Zarr store twice: through its consolidated metadata (what
        # open_zarr reads first) and through each array's own zarr.json.
        for consolidated in [True, False] if is_zarr(path) else [None]:
            v = check_output(label, path, d, scale, exact, consolidated)
            if v is not None:
                results[current[0]] = v
    current[0] = ""
    if len(results) > 1:
        print("all outputs:")
        first, *rest = results.items()
        for k, v in rest:
            same = v.dtype == first[1].dtype and v.tobytes() == first[1].tobytes()
            check(same, f"{k}: same bits as {first[0]}")
    if failures:
        print(f"check-xarray-reads: {len(failures)} check(s) FAILED:")
        for f in failures:
            print(f"  {f}")
        return 1
    print(f"check-xarray-reads: all checks passed ({len(outputs)} outputs)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
