//! The seed workflow of the labelled-data issue, end to end:
//!
//! ```python
//! ds = xr.open_mfdataset("data/*.nc")
//! clim = ds.groupby("time.season").mean("time")
//! d = abs(clim.air.sel(season="JJA") - clim.air.sel(season="DJF"))
//! d.to_netcdf("out.nc")
//! ```
//!
//! Run it on one rank or under `mpirun -n N` (every rank runs this same
//! program; each reads only the chunks it owns):
//!
//! ```text
//! cargo run --release --example seasonal_difference -- 'tests/fixtures/data/nc/mf/*.nc' out.nc
//! mpirun -n 4 target/release/examples/seasonal_difference 'tests/fixtures/data/nc/mf/*.nc' out.zarr
//! ```
//!
//! Rank 0 prints the result's summary, its values and a checksum (the same bits
//! on any number of ranks). Each output path given after the pattern gets `d`:
//! a Zarr v3 store (`to_zarr`) when it ends in `.zarr`, NetCDF-4 (`to_netcdf`)
//! otherwise (every rank writes its own chunks; the output appears only once
//! all succeeded). `scripts/check-xarray-reads.sh` opens both in xarray.

use chunkwise::comm::{Comm, MpiComm};
use chunkwise::dataset::{open_mfdataset, OpenOptions, Sel};
use chunkwise::session::{Config, Session};
use std::rc::Rc;

fn main() -> std::process::ExitCode {
    let comm = match MpiComm::init() {
        Ok(c) => Rc::new(c),
        Err(e) => {
            eprintln!("seasonal_difference: error: could not start MPI: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = run(comm.clone());
    let code = match &result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // Every rank has the same error; each says it once, before MPI ends.
            eprintln!("seasonal_difference: error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    };
    chunkwise::session::uninstall();
    drop(comm);
    code
}

fn run(comm: Rc<MpiComm>) -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let pattern = args
        .next()
        .unwrap_or_else(|| "tests/fixtures/data/nc/mf/*.nc".to_string());
    let outs: Vec<String> = args.collect();
    let root = comm.rank() == 0;
    Session::with_comm(Config::from_env()?, comm)?.install();

    let ds = open_mfdataset(&pattern, "time", &OpenOptions::default())?;
    let clim = ds.get("air")?.groupby("time.season")?.mean(&["time"])?;
    let jja = clim.sel(&[("season", Sel::Label("JJA".into()))])?;
    let djf = clim.sel(&[("season", Sel::Label("DJF".into()))])?;
    let d = (&jja - &djf)?.map(|a| a.abs()).with_name("air");
    let values = d.values()?;
    for path in &outs {
        if path.ends_with(".zarr") {
            d.to_zarr(path, &Default::default())?;
        } else {
            d.to_netcdf(path, &Default::default())?;
        }
    }
    if root {
        println!("{d:?}");
        println!("values: {values}");
        let bits = values
            .iter()
            .fold(0u64, |h, v| h.rotate_left(5) ^ v.to_bits());
        println!("checksum: {bits:#018x}");
        for path in &outs {
            println!("written: {path}");
        }
    }
    Ok(())
}
