#!/usr/bin/env python3
"""Write the issue-4 benchmark's input: 48 monthly NetCDF-4 files of daily `air`.

    tests/fixtures/.venv/bin/python bench/make_air_files.py [DIR]   # default bench/data/air/

1461 daily steps from 2000-01-01 (2000-01-01 .. 2003-12-31, standard calendar) split by
month into `air_YYYY_MM.nc`, each with `air(time, lat, lon)` float32 on a 180 x 360 grid
(~378 MB in all). Layout, chosen to keep the benchmark about reading and reducing rather
than decompression: fixed-size dimensions and contiguous, uncompressed storage for every
variable (netCDF4's default for a variable without unlimited dimensions, compression or
chunking). `time` is `double`, `days since 2000-01-01`, calendar `standard`; `lat` and `lon`
are `float32` coordinate variables (degrees_north -89.5..89.5, degrees_east 0.5..359.5).

Values are deterministic (no random numbers, no timestamps): a smooth seasonal cycle that
depends on latitude, a wave in longitude and a day-to-day pattern, so that every season,
grid point and day differ. Running the script twice writes the same values.
"""

import datetime
import pathlib
import sys

import netCDF4
import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
DAYS = 1461
NLAT, NLON = 180, 360


def air_values(t0, t1, lat, lon):
    """`air` for days t0..t1 (exclusive), float32 (time, lat, lon)."""
    t = np.arange(t0, t1, dtype=np.float64)[:, None, None]
    la = np.deg2rad(lat.astype(np.float64))[None, :, None]
    lo = np.deg2rad(lon.astype(np.float64))[None, None, :]
    season = np.cos(2 * np.pi * (t - 15.0) / 365.25)
    v = (
        273.15
        + 30.0 * np.cos(la)
        - 15.0 * np.sin(la) * season
        + 3.0 * np.sin(2.0 * lo + 0.1 * t)
        + 0.5 * np.cos(7.0 * la + 3.0 * lo - 0.37 * t)
    )
    return v.astype(np.float32)


def main():
    out = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "data" / "air"
    out.mkdir(parents=True, exist_ok=True)
    lat = np.linspace(-89.5, 89.5, NLAT, dtype=np.float32)
    lon = np.linspace(0.5, 359.5, NLON, dtype=np.float32)
    start = datetime.date(2000, 1, 1)
    dates = [start + datetime.timedelta(days=d) for d in range(DAYS)]
    t0 = 0
    total = 0
    while t0 < DAYS:
        y, m = dates[t0].year, dates[t0].month
        t1 = t0
        while t1 < DAYS and (dates[t1].year, dates[t1].month) == (y, m):
            t1 += 1
        path = out / f"air_{y:04d}_{m:02d}.nc"
        tmp = path.with_suffix(".nc.tmp")
        with netCDF4.Dataset(tmp, "w", format="NETCDF4") as nc:
            nc.createDimension("time", t1 - t0)
            nc.createDimension("lat", NLAT)
            nc.createDimension("lon", NLON)
            vt = nc.createVariable("time", "f8", ("time",), contiguous=True)
            vt.units = "days since 2000-01-01"
            vt.calendar = "standard"
            vt.standard_name = "time"
            vt[:] = np.arange(t0, t1, dtype=np.float64)
            vla = nc.createVariable("lat", "f4", ("lat",), contiguous=True)
            vla.units = "degrees_north"
            vla.standard_name = "latitude"
            vla[:] = lat
            vlo = nc.createVariable("lon", "f4", ("lon",), contiguous=True)
            vlo.units = "degrees_east"
            vlo.standard_name = "longitude"
            vlo[:] = lon
            va = nc.createVariable("air", "f4", ("time", "lat", "lon"), contiguous=True)
            va.units = "K"
            va.long_name = "daily air temperature (synthetic)"
            va[:] = air_values(t0, t1, lat, lon)
            nc.title = "chunkwise benchmark input (bench/make_air_files.py)"
        tmp.rename(path)
        total += 1
        t0 = t1
    print(f"wrote {total} files, {DAYS} days of {NLAT}x{NLON} float32, to {out}")


if __name__ == "__main__":
    main()
