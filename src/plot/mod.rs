//! Plots of labelled arrays as PNG images, as xarray's `DataArray.plot()`
//! draws them (with matplotlib), rendered with plotters.
//!
//! * **2-D**: a heatmap (xarray's `pcolormesh`): x along the last dim, y
//!   along the first; each cell spans halfway to its neighbours' coordinates;
//!   larger coordinate values to the right and at the top, so a latitude that
//!   decreases down the array is still drawn north up. A colour bar on the
//!   right carries the array's name and units. Colours: [`ColorMap::Viridis`],
//!   or for data of both signs [`ColorMap::RdBuR`] with limits symmetric
//!   about zero (xarray's rules: [`color_limits`]); NaN cells are grey.
//! * **1-D**: a line against the coordinate (NaN breaks the line).
//! * Axes: tick labels from the coordinates (numbers, dates in the
//!   coordinate's calendar, text), titles from the `long_name` (or
//!   `standard_name`, or name) with `[units]`; a dim without a coordinate is
//!   drawn against its positions `0..n`. The default title names the scalar
//!   coordinates left by a selection (`time = 2000-01-01`), as xarray's does.
//!
//! Other dimensionalities are refused ([`Error::Plan`]): select or reduce to
//! one or two dims first.
//!
//! Text needs a TrueType font found through fontconfig (on Debian/Ubuntu the
//! packages `fontconfig` and `fonts-dejavu-core`); without one, plotting
//! returns an [`Error::Io`] saying so.
//!
//! ```no_run
//! use chunkwise::dataset::{open_dataset, OpenOptions, Pos};
//! use chunkwise::plot::{plot, PlotOptions};
//! use std::path::Path;
//! let ds = open_dataset("air.nc", &OpenOptions::default())?;
//! let first = ds.get("air")?.isel(&[("time", Pos::At(0))])?;
//! plot(&first, Path::new("air.png"), &PlotOptions::default())?;
//! # Ok::<(), chunkwise::Error>(())
//! ```

mod axis;
mod colormap;
mod draw;
mod ticks;

pub use colormap::{color_limits, ColorMap, NAN_COLOR};
pub use ticks::{index_ticks, number_ticks, time_ticks, Tick};

use crate::dataset::{CoordValues, DataArray};
use crate::error::{Error, Result};
use crate::meta::DType;
use crate::session::{self, Session};
use ndarray::{ArrayD, Ix1, Ix2};
use plotters::backend::DrawingBackend;
use plotters::prelude::BitMapBackend;
use std::path::{Path, PathBuf};

/// How to draw a plot.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PlotOptions {
    /// The title; `None`: the scalar coordinates, as xarray titles a
    /// selection (`time = 2000-01-01`), or none; `Some("")`: no title.
    pub title: Option<String>,
    /// The colour map of a heatmap; `None`: xarray's choice
    /// ([`color_limits`]).
    pub cmap: Option<ColorMap>,
    /// The value of the colour map's first colour (lower values take it
    /// too); `None`: from the data.
    pub vmin: Option<f64>,
    /// The value of the colour map's last colour; `None`: from the data.
    pub vmax: Option<f64>,
    /// Colour limits from the 2nd and 98th percentiles instead of the
    /// extremes (xarray's `robust=True`).
    pub robust: bool,
    /// Width and height in pixels (64 to 8192 each).
    pub size: (u32, u32),
    /// The colour of NaN cells.
    pub nan_color: [u8; 3],
}

impl Default for PlotOptions {
    fn default() -> Self {
        PlotOptions {
            title: None,
            cmap: None,
            vmin: None,
            vmax: None,
            robust: false,
            size: (800, 600),
            nan_color: NAN_COLOR,
        }
    }
}

/// A rectangle of pixels (`x`, `y`: its top left corner).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rect {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

/// A rendered plot: RGB pixels, row by row from the top.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    pub width: u32,
    pub height: u32,
    /// `width * height * 3` bytes.
    pub rgb: Vec<u8>,
    /// Where the data are drawn (inside the axes' frame).
    pub plot_area: Rect,
    /// The colour bar's colours (inside its frame), for a heatmap.
    pub colorbar: Option<Rect>,
}

impl Image {
    /// The colour of pixel `(x, y)` (`(0, 0)`: top left).
    ///
    /// # Panics
    /// If the pixel is outside the image.
    pub fn pixel(&self, x: u32, y: u32) -> [u8; 3] {
        assert!(
            x < self.width && y < self.height,
            "pixel ({x}, {y}) outside the image"
        );
        let i = (y as usize * self.width as usize + x as usize) * 3;
        [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]
    }

    /// Write the image as a PNG file at `path`, atomically: it is written
    /// under a temporary name next to `path` and renamed onto it, so `path`
    /// is either the whole new image or untouched. Local (no other rank
    /// takes part).
    ///
    /// # Errors
    /// [`Error::Plan`] if `path` does not end in `.png`; [`Error::Io`]
    /// naming the file if it cannot be written.
    pub fn write_png(&self, path: &Path) -> Result<()> {
        check_png_path(path)?;
        let shown = path.display();
        let tmp = temp_name(path)?;
        let written = (|| {
            let mut b = BitMapBackend::new(&tmp, (self.width, self.height));
            b.blit_bitmap((0, 0), (self.width, self.height), &self.rgb)
                .map_err(|e| Error::internal(format!("plot: copying the image: {e}")))?;
            b.present()
                .map_err(|e| Error::Io(format!("writing `{shown}`: {e}")))
        })();
        // The backend is dropped by now (it would write again if it had not
        // saved).
        let renamed = written.and_then(|()| {
            std::fs::rename(&tmp, path).map_err(|e| {
                Error::Io(format!(
                    "writing `{shown}`: cannot move the finished image `{}` onto it: {e}",
                    tmp.display()
                ))
            })
        });
        if renamed.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        renamed
    }
}

/// `.<name>.partial-<pid>-<nanos>.png` next to `path` (the image encoder
/// picks PNG by the extension).
fn temp_name(path: &Path) -> Result<PathBuf> {
    let file = path
        .file_name()
        .ok_or_else(|| Error::plan(format!("`{}` is not a file name", path.display())))?
        .to_string_lossy()
        .into_owned();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let name = format!(".{file}.partial-{}-{nanos:09}.png", std::process::id());
    Ok(path.with_file_name(name))
}

fn check_png_path(path: &Path) -> Result<()> {
    let png = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("png"));
    if png {
        Ok(())
    } else {
        Err(Error::plan(format!(
            "plot writes PNG images: `{}` does not end in `.png`",
            path.display()
        )))
    }
}

/// Plot `da` to a PNG file at `path` with the session installed on this
/// thread ([`crate::session::global`]): a heatmap for 2-D data, a line for
/// 1-D data (see the [module docs](self)). Rank 0 writes the file,
/// atomically ([`Image::write_png`]).
///
/// ```no_run
/// use chunkwise::dataset::{Coord, CoordValues, Coords, DataArray};
/// use chunkwise::plot::{plot, PlotOptions};
/// use chunkwise::prelude::*;
/// use std::path::Path;
/// let data = from_ndarray(&ndarray::array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], 2)?;
/// let lat = Coord::new("lat", CoordValues::Float(vec![10.0, 0.0]));
/// let coords = Coords(vec![("lat".into(), lat)]);
/// let da = DataArray::new(data, &["lat", "lon"], coords)?.with_name("t");
/// let opts = PlotOptions { title: Some("Two rows".into()), ..Default::default() };
/// plot(&da, Path::new("t.png"), &opts)?;
/// # Ok::<(), chunkwise::Error>(())
/// ```
///
/// # Collective
/// Under MPI, call on every rank, in the same order, with the same array and
/// path: every rank takes part in computing the values and all return the
/// same result.
///
/// # Errors
/// [`Error::Plan`] for 0-D or more than 2-D data, an empty dimension, a path
/// not ending in `.png` or an image size out of range; the computation's
/// errors; [`Error::Io`] when the file cannot be written or no font is found.
pub fn plot(da: &DataArray, path: &Path, opts: &PlotOptions) -> Result<()> {
    plot_with(&*session::global()?, da, path, opts)
}

/// [`plot`] with a given session.
///
/// # Collective
/// As [`plot`].
pub fn plot_with(s: &Session, da: &DataArray, path: &Path, opts: &PlotOptions) -> Result<()> {
    check_plottable(da, opts)?;
    check_png_path(path)?;
    let chunk = da.data().astype(DType::F64).compute_with(s)?;
    let values = chunk.into_typed::<f64>()?;
    let comm = s.comm();
    let mut result = Vec::new();
    if comm.rank() == 0 {
        let done = render_values(da, &values, opts).and_then(|img| img.write_png(path));
        if let Err(e) = done {
            result = e.to_bytes();
        }
    }
    comm.broadcast_bytes(0, &mut result)?;
    match Error::from_bytes(&result) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Render `da` (computed with the session installed on this thread) into
/// an [`Image`] without writing a file.
///
/// # Collective
/// Under MPI, call on every rank (computing the values is collective); every
/// rank renders.
///
/// # Errors
/// As [`plot`], without the file's.
pub fn render(da: &DataArray, opts: &PlotOptions) -> Result<Image> {
    check_plottable(da, opts)?;
    render_values(da, &da.values()?, opts)
}

/// Render `values` (the computed values of `da`, in its dims' order) with
/// `da`'s labels into an [`Image`]. Local.
///
/// # Errors
/// As [`render`]; [`Error::Plan`] if `values` does not have `da`'s shape.
pub fn render_values(da: &DataArray, values: &ArrayD<f64>, opts: &PlotOptions) -> Result<Image> {
    check_plottable(da, opts)?;
    if values.shape() != da.shape().as_slice() {
        return Err(Error::plan(format!(
            "plot: values of shape {:?} for {} of shape {:?}",
            values.shape(),
            da.what(),
            da.shape()
        )));
    }
    let title = opts.title.clone().unwrap_or_else(|| title_for_slice(da));
    // plotters' text rendering can panic on a broken font; report it as ours.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match da.dims().len() {
        1 => {
            let v = values
                .view()
                .into_dimensionality::<Ix1>()
                .map_err(shape_bug)?;
            draw::line(da, v, title, opts)
        }
        _ => {
            let v = values
                .view()
                .into_dimensionality::<Ix2>()
                .map_err(shape_bug)?;
            draw::heatmap(da, v, title, opts)
        }
    }))
    .unwrap_or_else(|p| {
        let msg = p
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Err(Error::internal(format!(
            "plot: the renderer panicked: {msg}"
        )))
    })
}

fn shape_bug(e: ndarray::ShapeError) -> Error {
    Error::internal(format!("plot: values of the wrong dimensionality: {e}"))
}

/// What can be plotted: 1 or 2 dims, none empty, a sensible image size.
fn check_plottable(da: &DataArray, opts: &PlotOptions) -> Result<()> {
    let sizes = da.sizes();
    let shown = sizes
        .iter()
        .map(|(d, n)| format!("{d}: {n}"))
        .collect::<Vec<_>>()
        .join(", ");
    match sizes.len() {
        1 | 2 => {}
        0 => {
            return Err(Error::plan(format!(
                "plot: {} is 0-D (a single value); plot draws 1-D arrays as lines and 2-D \
                 arrays as heatmaps",
                da.what()
            )))
        }
        n => {
            return Err(Error::plan(format!(
                "plot: {} is {n}-D ({shown}); plot draws 1-D arrays as lines and 2-D arrays as \
                 heatmaps: select (isel/sel) or reduce (mean, ...) to one or two dims first",
                da.what()
            )))
        }
    }
    if let Some((d, _)) = sizes.iter().find(|(_, n)| *n == 0) {
        return Err(Error::plan(format!(
            "plot: nothing to draw, dimension `{d}` of {} is empty ({shown})",
            da.what()
        )));
    }
    let (w, h) = opts.size;
    if !(64..=8192).contains(&w) || !(64..=8192).contains(&h) {
        return Err(Error::plan(format!(
            "plot: an image of {w}x{h} pixels; width and height must be 64 to 8192"
        )));
    }
    Ok(())
}

/// xarray's `_title_for_slice`: `name = value [units]` for each scalar
/// coordinate, joined by `, `, cut to 50 characters.
fn title_for_slice(da: &DataArray) -> String {
    let parts: Vec<String> = da
        .coords()
        .iter()
        .filter(|(_, c)| c.dims.is_empty() && c.values.len() == 1)
        .map(|(n, c)| {
            let units = c
                .attrs
                .get("units")
                .and_then(|u| u.as_text())
                .map(|u| format!(" [{u}]"))
                .unwrap_or_default();
            format!("{n} = {}{units}", scalar_label(&c.values))
        })
        .collect();
    let t = parts.join(", ");
    if t.chars().count() > 50 {
        let cut: String = t.chars().take(47).collect();
        format!("{cut}...")
    } else {
        t
    }
}

/// A scalar coordinate as xarray's `format_item` writes it: dates without a
/// midnight time, floats with four significant digits.
fn scalar_label(v: &CoordValues) -> String {
    match v {
        CoordValues::Time(t, _) => {
            let d = &t[0];
            let s = d.to_string();
            if (d.hour(), d.minute(), d.second(), d.microsecond()) == (0, 0, 0, 0) {
                s.split('T').next().unwrap_or(&s).to_string()
            } else {
                s
            }
        }
        CoordValues::Float(_) | CoordValues::Float32(_) => {
            let x = v.floats().map(|f| f[0]).unwrap_or(f64::NAN);
            general4(x)
        }
        _ => v.label(0),
    }
}

/// Like Python's `f"{x:.4}"`: four significant digits, `.0` kept on whole
/// numbers (but whole numbers up to 10^16 written out, not as `1.234e+04`).
fn general4(x: f64) -> String {
    if !x.is_finite() {
        return format!("{x}");
    }
    let a = x.abs();
    if a != 0.0 && !(1e-4..1e16).contains(&a) {
        return format!("{x:.3e}");
    }
    let decimals = if a == 0.0 {
        1
    } else {
        (3 - a.log10().floor() as i32).max(0) as usize
    };
    let s = format!("{x:.decimals$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').to_string()
    } else {
        s
    };
    if s.ends_with('.') {
        format!("{s}0")
    } else if s.contains('.') {
        s
    } else {
        format!("{s}.0")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalar_floats_read_like_python() {
        assert_eq!(general4(60.0), "60.0");
        assert_eq!(general4(57.5), "57.5");
        assert_eq!(general4(0.123456), "0.1235");
        assert_eq!(general4(-2.0), "-2.0");
        assert_eq!(general4(0.0), "0.0");
        assert_eq!(general4(12345.0), "12345.0");
    }
}
