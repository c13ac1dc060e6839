//! `chunkwise::plot`: heatmaps and line plots of labelled arrays as PNG.
//!
//! Pixels are checked against colours taken from matplotlib's published
//! viridis table (written here, not read from chunkwise) at the cells where
//! the test data put known values; files by their PNG header; errors by
//! kind and message. The font check runs in a child process whose
//! fontconfig sees no fonts; the MPI check runs this binary under mpirun.

#[path = "util/mod.rs"]
mod util;

use chunkwise::comm::{Comm, MpiComm};
use chunkwise::dataset::time::{Calendar, DateTime};
use chunkwise::dataset::{open_dataset, Coord, CoordValues, Coords, DataArray, OpenOptions, Pos};
use chunkwise::plot::{
    color_limits, index_ticks, number_ticks, plot, render, time_ticks, ColorMap, Image,
    PlotOptions, Tick,
};
use chunkwise::prelude::*;
use chunkwise::session::{Config, Session};
use ndarray::{array, Array2, ArrayD};
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// matplotlib's viridis at levels 0, 128 and 255 (`_viridis_data` × 255,
/// rounded).
const VIRIDIS_FIRST: [u8; 3] = [68, 1, 84];
const VIRIDIS_MIDDLE: [u8; 3] = [33, 145, 140];
const VIRIDIS_LAST: [u8; 3] = [253, 231, 37];
/// matplotlib's first line colour, `C0` (#1f77b4).
const C0: [u8; 3] = [0x1f, 0x77, 0xb4];
const GREY: [u8; 3] = [200, 200, 200];

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/data")
}

/// A fresh empty directory for this test's files.
fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("chunkwise-plot-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn floats(dim: &str, v: &[f64]) -> (String, Coord) {
    (
        dim.to_string(),
        Coord::new(dim, CoordValues::Float(v.to_vec())),
    )
}

/// 3 latitudes × 4 longitudes: 0..=10 by rows, NaN in the last cell.
fn grid(lats: [f64; 3]) -> DataArray {
    let v: ArrayD<f64> = array![
        [0.0, 1.0, 2.0, 3.0],
        [4.0, 5.0, 6.0, 7.0],
        [8.0, 9.0, 10.0, f64::NAN]
    ]
    .into_dyn();
    let coords = Coords(vec![
        floats("lat", &lats),
        floats("lon", &[0.0, 10.0, 20.0, 30.0]),
    ]);
    DataArray::new(from_ndarray(&v, [2, 2]).unwrap(), &["lat", "lon"], coords)
        .unwrap()
        .with_name("t")
}

/// The pixel at the centre of cell `(row, col)` of an `nrows × ncols`
/// regular grid drawn in the plot area (`row` 0 at the top).
fn cell_pixel(img: &Image, row: usize, col: usize, nrows: usize, ncols: usize) -> [u8; 3] {
    let r = img.plot_area;
    let x = r.x + ((col as f64 + 0.5) / ncols as f64 * r.width as f64) as u32;
    let y = r.y + ((row as f64 + 0.5) / nrows as f64 * r.height as f64) as u32;
    img.pixel(x, y)
}

#[test]
fn a_decreasing_latitude_is_drawn_north_up_in_viridis() {
    // Latitudes 20, 10, 0: the first row (values 0..3) belongs at the top.
    let img = render(&grid([20.0, 10.0, 0.0]), &PlotOptions::default()).unwrap();
    assert_eq!(
        cell_pixel(&img, 0, 0, 3, 4),
        VIRIDIS_FIRST,
        "value 0, top left"
    );
    assert_eq!(cell_pixel(&img, 1, 1, 3, 4), VIRIDIS_MIDDLE, "value 5");
    assert_eq!(
        cell_pixel(&img, 2, 2, 3, 4),
        VIRIDIS_LAST,
        "value 10, bottom"
    );
    assert_eq!(cell_pixel(&img, 2, 3, 3, 4), GREY, "NaN");
    // The frame just outside the plot area is black.
    let r = img.plot_area;
    assert_eq!(img.pixel(r.x - 1, r.y + r.height / 2), [0, 0, 0]);
    assert_eq!(img.pixel(r.x + r.width / 2, r.y + r.height), [0, 0, 0]);
}

#[test]
fn an_increasing_latitude_puts_the_first_row_at_the_bottom() {
    let img = render(&grid([0.0, 10.0, 20.0]), &PlotOptions::default()).unwrap();
    assert_eq!(
        cell_pixel(&img, 2, 0, 3, 4),
        VIRIDIS_FIRST,
        "value 0, bottom left"
    );
    assert_eq!(cell_pixel(&img, 0, 2, 3, 4), VIRIDIS_LAST, "value 10, top");
    assert_eq!(cell_pixel(&img, 0, 3, 3, 4), GREY, "NaN, top right");
}

#[test]
fn the_colour_bar_runs_from_the_first_colour_up_to_the_last() {
    let img = render(&grid([20.0, 10.0, 0.0]), &PlotOptions::default()).unwrap();
    let bar = img.colorbar.expect("a heatmap has a colour bar");
    assert!(
        bar.x > img.plot_area.x + img.plot_area.width,
        "right of the plot"
    );
    let mid = bar.x + bar.width / 2;
    assert_eq!(img.pixel(mid, bar.y), VIRIDIS_LAST);
    assert_eq!(img.pixel(mid, bar.y + bar.height - 1), VIRIDIS_FIRST);
    // Just above the middle: a little over half way, level 128.
    assert_eq!(img.pixel(mid, bar.y + bar.height / 2 - 1), VIRIDIS_MIDDLE);
}

#[test]
fn given_limits_and_colour_map_are_used() {
    let opts = PlotOptions {
        vmin: Some(5.0),
        vmax: Some(6.0),
        cmap: Some(ColorMap::Gray),
        ..PlotOptions::default()
    };
    let img = render(&grid([20.0, 10.0, 0.0]), &opts).unwrap();
    assert_eq!(
        cell_pixel(&img, 0, 0, 3, 4),
        [0, 0, 0],
        "below vmin: first colour"
    );
    assert_eq!(
        cell_pixel(&img, 2, 2, 3, 4),
        [255, 255, 255],
        "above vmax: last"
    );
}

#[test]
fn data_of_both_signs_get_symmetric_limits_and_red_blue() {
    // xarray: vmin/vmax = ±max|x|, cmap RdBu_r (ColorBrewer RdBu reversed:
    // #053061 at the bottom, #67001f at the top).
    let (lo, hi, map) = color_limits(&[-1.0, 0.5, 4.0, f64::NAN], None, None, false, None);
    assert_eq!((lo, hi, map), (-4.0, 4.0, ColorMap::RdBuR));
    assert_eq!(map.rgb(0.0), [0x05, 0x30, 0x61]);
    assert_eq!(map.rgb(1.0), [0x67, 0x00, 0x1f]);
    // One sign: the extremes, viridis.
    let (lo, hi, map) = color_limits(&[2.0, 3.0, 7.0], None, None, false, None);
    assert_eq!((lo, hi, map), (2.0, 7.0, ColorMap::Viridis));
    assert_eq!(ColorMap::Viridis.color(f64::NAN, lo, hi, GREY), GREY);
    assert_eq!(ColorMap::Viridis.color(2.0, lo, hi, GREY), VIRIDIS_FIRST);
    assert_eq!(ColorMap::Viridis.color(7.0, lo, hi, GREY), VIRIDIS_LAST);
}

fn labels(t: &[Tick]) -> Vec<&str> {
    t.iter().map(|t| t.label.as_str()).collect()
}

#[test]
fn tick_labels_of_numbers_dates_and_text() {
    // air_small's latitudes 37.5..60 in 5-degree steps.
    let t = number_ticks(36.25, 61.25, 6, false);
    assert_eq!(labels(&t), ["40", "45", "50", "55", "60"]);
    assert_eq!(t[0].at, 40.0);
    let t = number_ticks(0.0, 0.001, 3, false);
    assert_eq!(labels(&t), ["0.0000", "0.0005", "0.0010"]);
    // Two years of days: half-years; two months: the 1st, 11th, 21st...
    let d = |s: &str| DateTime::parse(s, Calendar::Standard).unwrap().to_ticks() as f64;
    let t = time_ticks(d("2000-01-01"), d("2001-12-31"), Calendar::Standard, 5);
    assert_eq!(labels(&t), ["2000-01", "2000-07", "2001-01", "2001-07"]);
    assert_eq!(t[1].at, d("2000-07-01"));
    let t = time_ticks(d("2000-01-01"), d("2000-02-28"), Calendar::Standard, 6);
    assert_eq!(
        labels(&t),
        [
            "2000-01-01",
            "2000-01-11",
            "2000-01-21",
            "2000-02-01",
            "2000-02-11",
            "2000-02-21"
        ]
    );
    // A 360-day calendar has a February 30th.
    let d = |s: &str| DateTime::parse(s, Calendar::Day360).unwrap().to_ticks() as f64;
    let t = time_ticks(d("2000-02-28"), d("2000-03-02"), Calendar::Day360, 5);
    assert_eq!(
        labels(&t),
        [
            "2000-02-28",
            "2000-02-29",
            "2000-02-30",
            "2000-03-01",
            "2000-03-02"
        ]
    );
    let months: Vec<String> = ["Jan", "Feb", "Mar", "Apr", "May"]
        .map(String::from)
        .to_vec();
    assert_eq!(labels(&index_ticks(&months, -0.5, 4.5, 10)), months);
    assert_eq!(
        labels(&index_ticks(&months, -0.5, 4.5, 3)),
        ["Jan", "Mar", "May"]
    );
}

/// Ten days of a series with its maximum (5) on day 3 and NaN on day 6.
fn series() -> DataArray {
    let v: ArrayD<f64> = array![0.0, 1.0, 2.0, 5.0, 2.0, 1.0, f64::NAN, 1.0, 2.0, 1.0].into_dyn();
    let days: Vec<DateTime> = (1..=10)
        .map(|d| DateTime::from_ymd(Calendar::Standard, 2000, 1, d).unwrap())
        .collect();
    let time = Coord::new("time", CoordValues::Time(days, Calendar::Standard));
    DataArray::new(
        from_ndarray(&v, 4).unwrap(),
        &["time"],
        Coords(vec![("time".into(), time)]),
    )
    .unwrap()
    .with_name("x")
}

/// The columns of the plot area holding line-coloured pixels, and the
/// topmost such pixel's column.
fn line_columns(img: &Image) -> (Vec<u32>, u32) {
    let r = img.plot_area;
    let mut cols = Vec::new();
    let mut top = (u32::MAX, 0);
    for x in r.x..r.x + r.width {
        for y in r.y..r.y + r.height {
            if img.pixel(x, y) == C0 {
                if !cols.contains(&x) {
                    cols.push(x);
                }
                if y < top.0 {
                    top = (y, x);
                }
            }
        }
    }
    (cols, top.1)
}

#[test]
fn a_series_is_a_line_against_time_broken_at_nan() {
    let img = render(&series(), &PlotOptions::default()).unwrap();
    assert!(img.colorbar.is_none());
    let r = img.plot_area;
    // Day k at (k + 0.45) / 9.9 of the width (5% margins on 9 days).
    let x_of = |k: f64| r.x as f64 + (k + 0.45) / 9.9 * r.width as f64;
    let (cols, top) = line_columns(&img);
    assert!(!cols.is_empty(), "the line is drawn");
    assert!(
        (top as f64 - x_of(3.0)).abs() <= 3.0,
        "the maximum is on day 3 (x {}), the top of the line at x {top}",
        x_of(3.0)
    );
    // Nothing between days 5 and 7 (NaN on day 6).
    let gap = (x_of(5.0) + 3.0) as u32..(x_of(7.0) - 3.0) as u32;
    assert!(
        cols.iter().all(|c| !gap.contains(c)),
        "no line over the NaN: columns {gap:?}"
    );
    assert!(
        cols.iter().any(|&c| (c as f64) < x_of(5.0)) && cols.iter().any(|&c| c as f64 > x_of(7.0))
    );
}

/// The PNG header: signature, then IHDR's width and height.
fn png_size(path: &Path) -> (u32, u32, u64) {
    let b = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(&b[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    assert_eq!(&b[12..16], b"IHDR");
    let w = u32::from_be_bytes(b[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(b[20..24].try_into().unwrap());
    assert_eq!((b[24], b[25]), (8, 2), "8-bit RGB");
    (w, h, b.len() as u64)
}

/// The names in `dir`.
fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn plot_writes_a_png_of_the_asked_size_and_nothing_else() {
    let dir = scratch("png");
    let opts = PlotOptions {
        size: (640, 480),
        title: Some("A grid".into()),
        ..PlotOptions::default()
    };
    plot(&grid([20.0, 10.0, 0.0]), &dir.join("grid.png"), &opts).unwrap();
    plot(&series(), &dir.join("series.PNG"), &PlotOptions::default()).unwrap();
    let (w, h, bytes) = png_size(&dir.join("grid.png"));
    assert_eq!((w, h), (640, 480));
    // Compressed: more than a blank image, far less than the raw pixels.
    assert!(bytes > 2_000 && bytes < 640 * 480 * 3 / 4, "{bytes} bytes");
    assert_eq!(png_size(&dir.join("series.PNG")).0, 800);
    assert_eq!(
        listing(&dir),
        ["grid.png", "series.PNG"],
        "no temporary file left"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn first_time_step_of_the_air_fixture() {
    let ds = open_dataset(data_dir().join("nc/air_small.nc"), &OpenOptions::default()).unwrap();
    let air = ds
        .get("air")
        .unwrap()
        .isel(&[("time", Pos::At(0))])
        .unwrap();
    assert_eq!(air.dims(), ["lat", "lon"]);
    let lat = air.coord("lat").unwrap().values.floats().unwrap();
    assert!(
        lat[0] > lat[lat.len() - 1],
        "the fixture's latitudes decrease"
    );
    let v: Array2<f64> = air.values().unwrap().into_dimensionality().unwrap();
    let (ny, nx) = v.dim();
    let at = |want: f64| {
        let i = v.iter().position(|&x| x == want).unwrap();
        (i / nx, i % nx)
    };
    let min = v.iter().copied().fold(f64::INFINITY, f64::min);
    let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let img = render(&air, &PlotOptions::default()).unwrap();
    // Rows keep the file's order: the first (northernmost) at the top.
    let (i, j) = at(min);
    assert_eq!(
        cell_pixel(&img, i, j, ny, nx),
        VIRIDIS_FIRST,
        "minimum at {i},{j}"
    );
    let (i, j) = at(max);
    assert_eq!(
        cell_pixel(&img, i, j, ny, nx),
        VIRIDIS_LAST,
        "maximum at {i},{j}"
    );

    let dir = scratch("air");
    let path = dir.join("air.png");
    plot(&air, &path, &PlotOptions::default()).unwrap();
    assert_eq!(png_size(&path).0, 800);
    // A series at one point, against time.
    let point = ds
        .get("air")
        .unwrap()
        .isel(&[("lat", Pos::At(0)), ("lon", Pos::At(0))])
        .unwrap();
    plot(&point, &dir.join("point.png"), &PlotOptions::default()).unwrap();
    assert_eq!(png_size(&dir.join("point.png")).1, 600);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn text_coordinates_and_dims_without_coordinates_are_plotted() {
    let v: ArrayD<f64> = Array2::from_shape_fn((4, 6), |(i, j)| (i * 6 + j) as f64).into_dyn();
    let seasons = ["DJF", "MAM", "JJA", "SON"].map(String::from).to_vec();
    let season = Coord::new("season", CoordValues::Text(seasons));
    let da = DataArray::new(
        from_ndarray(&v, 3).unwrap(),
        &["season", "x"],
        Coords(vec![("season".into(), season)]),
    )
    .unwrap();
    let img = render(&da, &PlotOptions::default()).unwrap();
    // Text labels sit at positions 0..4, upwards: DJF (values 0..5) at the
    // bottom, SON (18..23) at the top.
    assert_eq!(cell_pixel(&img, 3, 0, 4, 6), VIRIDIS_FIRST);
    assert_eq!(cell_pixel(&img, 0, 5, 4, 6), VIRIDIS_LAST);
}

#[test]
fn three_dims_zero_dims_and_bad_paths_are_refused() {
    let dir = scratch("errors");
    let ds = open_dataset(data_dir().join("nc/air_small.nc"), &OpenOptions::default()).unwrap();
    let air = ds.get("air").unwrap();
    let e = plot(&air, &dir.join("a.png"), &PlotOptions::default()).unwrap_err();
    assert!(matches!(e, Error::Plan(_)), "{e}");
    for word in ["3-D", "time: 731", "select", "reduce", "heatmap"] {
        assert!(e.message().contains(word), "{word:?} in {e}");
    }
    let scalar = air.mean(&[]).unwrap();
    let e = render(&scalar, &PlotOptions::default()).unwrap_err();
    assert!(
        matches!(e, Error::Plan(_)) && e.message().contains("0-D"),
        "{e}"
    );

    let e = plot(
        &grid([2.0, 1.0, 0.0]),
        &dir.join("a.jpg"),
        &PlotOptions::default(),
    );
    let e = e.unwrap_err();
    assert!(
        matches!(e, Error::Plan(_)) && e.message().contains(".png"),
        "{e}"
    );

    let missing = dir.join("no/such/dir/a.png");
    let e = plot(&grid([2.0, 1.0, 0.0]), &missing, &PlotOptions::default()).unwrap_err();
    assert!(matches!(e, Error::Io(_)), "{e}");
    assert!(e.message().contains(&missing.display().to_string()), "{e}");

    let tiny = PlotOptions {
        size: (10, 10),
        ..PlotOptions::default()
    };
    let e = render(&grid([2.0, 1.0, 0.0]), &tiny).unwrap_err();
    assert!(
        matches!(e, Error::Plan(_)) && e.message().contains("64"),
        "{e}"
    );
    assert!(
        listing(&dir).is_empty(),
        "nothing written: {:?}",
        listing(&dir)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---------------------------------------------------------------------------
// No font: a child process whose fontconfig is given an empty configuration.

const NO_FONT_ENV: &str = "CHUNKWISE_PLOT_NO_FONT_CHILD";

#[test]
fn without_a_font_plot_says_which_package_to_install() {
    let dir = scratch("nofont");
    let conf = dir.join("empty-fonts.conf");
    std::fs::write(
        &conf,
        "<?xml version=\"1.0\"?>\n<!DOCTYPE fontconfig SYSTEM \"fonts.dtd\">\n<fontconfig></fontconfig>\n",
    )
    .unwrap();
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new(exe)
        .args(["no_font_child", "--exact", "--ignored", "--nocapture"])
        .env("FONTCONFIG_FILE", &conf)
        .env(NO_FONT_ENV, dir.join("nofont.png"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "the child failed\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}"
    );
    assert!(stdout.contains("NO FONT ERROR:"), "{stdout}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
#[ignore = "run by without_a_font_plot_says_which_package_to_install, with no fonts"]
fn no_font_child() {
    let Some(path) = std::env::var_os(NO_FONT_ENV) else {
        panic!("run through without_a_font_plot_says_which_package_to_install");
    };
    let path = PathBuf::from(path);
    let e = plot(&grid([2.0, 1.0, 0.0]), &path, &PlotOptions::default()).unwrap_err();
    assert!(matches!(e, Error::Io(_)), "{e}");
    for word in ["font", "fontconfig", "fonts-dejavu-core"] {
        assert!(e.message().contains(word), "{word:?} in {e}");
    }
    assert!(!path.exists());
    println!("NO FONT ERROR: {e}");
}

// ---------------------------------------------------------------------------
// Under MPI: every rank calls plot, rank 0 writes, all return the same result.

const MPI_ENV: &str = "CHUNKWISE_PLOT_MPI_DIR";

#[test]
fn plot_on_2_ranks_writes_once_and_agrees_on_errors() {
    let dir = scratch("mpi");
    let d = dir.display().to_string();
    let out = util::mpirun_worker(2, "plot_worker", &[(MPI_ENV, d.as_str())]);
    out.assert_success();
    assert_eq!(out.stdout.matches("PLOTTED\n").count(), 2, "{}", out.stdout);
    let errors: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("ERROR "))
        .collect();
    assert_eq!(errors.len(), 2, "{}", out.stdout);
    assert_eq!(errors[0], errors[1], "the same error on both ranks");
    assert!(errors[0].contains("no/such/dir"), "{}", errors[0]);
    assert_eq!(png_size(&dir.join("grid.png")).0, 800);
    assert_eq!(listing(&dir), ["grid.png"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
#[ignore = "one rank of a job: launched under mpirun by plot_on_2_ranks_..."]
fn plot_worker() {
    let Some(dir) = std::env::var_os(MPI_ENV) else {
        panic!("run through plot_on_2_ranks_writes_once_and_agrees_on_errors");
    };
    let dir = PathBuf::from(dir);
    let comm = Rc::new(MpiComm::init().expect("MPI starts"));
    assert_eq!(comm.size(), 2);
    let config = Config {
        threads: 1,
        ..Config::default()
    };
    Session::with_comm(config, comm.clone()).unwrap().install();
    let da = grid([20.0, 10.0, 0.0]);
    plot(&da, &dir.join("grid.png"), &PlotOptions::default()).unwrap();
    println!("PLOTTED");
    let e = plot(&da, &dir.join("no/such/dir/a.png"), &PlotOptions::default()).unwrap_err();
    println!("ERROR {e}");
    chunkwise::session::uninstall();
}
