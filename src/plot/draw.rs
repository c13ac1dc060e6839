//! Drawing a figure into an RGB buffer: the layout (title, axes, ticks,
//! colour bar), the cells of a heatmap and the line of a line plot. Text is
//! drawn with plotters (fonts found through fontconfig); everything else is
//! written into the buffer directly.

use super::axis::{cell_at, label_from_attrs, Axis, Scale};
use super::colormap::color_limits;
use super::ticks::Tick;
use super::{Image, PlotOptions, Rect};
use crate::dataset::DataArray;
use crate::error::{Error, Result};
use ndarray::{ArrayView1, ArrayView2};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

const BLACK_RGB: [u8; 3] = [0, 0, 0];
/// matplotlib's first line colour (`C0`).
const LINE_RGB: RGBColor = RGBColor(0x1f, 0x77, 0xb4);

/// An RGB image being drawn.
pub(crate) struct Canvas {
    w: u32,
    h: u32,
    buf: Vec<u8>,
}

impl Canvas {
    fn new(w: u32, h: u32) -> Canvas {
        Canvas {
            w,
            h,
            buf: vec![255; w as usize * h as usize * 3],
        }
    }

    fn set(&mut self, x: i32, y: i32, c: [u8; 3]) {
        if x >= 0 && y >= 0 && (x as u32) < self.w && (y as u32) < self.h {
            let i = (y as usize * self.w as usize + x as usize) * 3;
            self.buf[i..i + 3].copy_from_slice(&c);
        }
    }

    /// The pixels `x0..x1` × `y0..y1`.
    fn fill(&mut self, x0: i32, y0: i32, x1: i32, y1: i32, c: [u8; 3]) {
        for y in y0..y1 {
            for x in x0..x1 {
                self.set(x, y, c);
            }
        }
    }

    /// A one-pixel black frame just outside `r`.
    fn frame(&mut self, r: Rect) {
        let (x0, y0) = (r.x as i32 - 1, r.y as i32 - 1);
        let (x1, y1) = ((r.x + r.width) as i32, (r.y + r.height) as i32);
        self.fill(x0, y0, x1 + 1, y0 + 1, BLACK_RGB);
        self.fill(x0, y1, x1 + 1, y1 + 1, BLACK_RGB);
        self.fill(x0, y0, x0 + 1, y1 + 1, BLACK_RGB);
        self.fill(x1, y0, x1 + 1, y1 + 1, BLACK_RGB);
    }

    fn area(&mut self) -> DrawingArea<BitMapBackend<'_>, plotters::coord::Shift> {
        BitMapBackend::with_buffer(&mut self.buf, (self.w, self.h)).into_drawing_area()
    }

    /// The size of `text` at font size `size` in pixels.
    fn measure(&mut self, text: &str, size: f64) -> Result<(i32, i32)> {
        let style = TextStyle::from(("sans-serif", size).into_font());
        let (w, h) = self
            .area()
            .estimate_text_size(text, &style)
            .map_err(font_error)?;
        Ok((w as i32, h as i32))
    }

    /// `text` anchored at `at`; `rotated`: reading upwards (turned 90°
    /// anticlockwise).
    fn text(
        &mut self,
        text: &str,
        at: (i32, i32),
        size: f64,
        anchor: Pos,
        rotated: bool,
    ) -> Result<()> {
        if text.is_empty() {
            return Ok(());
        }
        let mut style = TextStyle::from(("sans-serif", size).into_font())
            .color(&BLACK)
            .pos(anchor);
        if rotated {
            style = style.transform(FontTransform::Rotate270);
        }
        self.area()
            .draw(&Text::new(text.to_string(), at, style))
            .map_err(font_error)
    }

    /// `text` at a size that fits in `len` pixels: shrunk down to 70% of
    /// `size`, then cut short with `...` (xarray wraps long labels instead).
    fn fit(&mut self, text: &str, size: f64, len: i32) -> Result<(String, f64)> {
        let w = self.measure(text, size)?.0;
        if w <= len || w == 0 {
            return Ok((text.to_string(), size));
        }
        let smaller = (size * len as f64 / w as f64).max(size * 0.7);
        let mut chars: Vec<char> = text.chars().collect();
        let mut t = text.to_string();
        while self.measure(&t, smaller)?.0 > len && !chars.is_empty() {
            chars.pop();
            t = format!("{}...", chars.iter().collect::<String>().trim_end());
        }
        Ok((t, smaller))
    }

    fn polyline(&mut self, points: Vec<(i32, i32)>, color: RGBColor, width: u32) -> Result<()> {
        let style = ShapeStyle {
            color: color.to_rgba(),
            filled: false,
            stroke_width: width,
        };
        self.area()
            .draw(&PathElement::new(points, style))
            .map_err(|e| Error::internal(format!("plot: drawing a line failed: {e}")))
    }

    fn into_image(self, plot_area: Rect, colorbar: Option<Rect>) -> Image {
        Image {
            width: self.w,
            height: self.h,
            rgb: self.buf,
            plot_area,
            colorbar,
        }
    }
}

/// What plotters' text errors mean here: no font could be loaded.
fn font_error<E: std::error::Error + Send + Sync>(e: DrawingAreaErrorKind<E>) -> Error {
    Error::Io(format!(
        "plot: cannot draw text, no usable font was found ({e}). Plots need fontconfig and a \
         TrueType font: on Debian/Ubuntu `apt-get install fontconfig fonts-dejavu-core` \
         (scripts/install-deps.sh installs them)"
    ))
}

/// Sizes that follow the image's size.
struct Style {
    /// Tick labels.
    tick: f64,
    /// Axis titles and the colour bar's label.
    label: f64,
    title: f64,
    pad: i32,
    tick_len: i32,
}

impl Style {
    fn new(w: u32, h: u32) -> Style {
        let fs = (w.min(h) as f64 / 40.0).clamp(9.0, 40.0);
        Style {
            tick: fs,
            label: fs * 1.1,
            title: fs * 1.3,
            pad: (fs * 0.5).round() as i32,
            tick_len: (fs * 0.35).round().max(2.0) as i32,
        }
    }
}

/// The decorations around a plot: title, axis titles, tick labels.
struct Decor {
    title: String,
    x: Axis,
    y: Axis,
}

/// Where things go: the plot area and the colour bar (if any).
struct Layout {
    plot: Rect,
    x_ticks: Vec<Tick>,
    y_ticks: Vec<Tick>,
    bar: Option<(Rect, Axis, Vec<Tick>)>,
}

/// At most this many ticks fit along `len` pixels with labels `gap` apart.
fn tick_budget(len: i32, gap: f64) -> usize {
    ((len as f64 / gap).floor() as usize).clamp(2, 12)
}

/// Vertical ticks for an axis `len` pixels tall.
fn y_ticks(axis: &Axis, len: i32, s: &Style) -> Vec<Tick> {
    axis.ticks(tick_budget(len, s.tick * 3.5))
}

/// Horizontal ticks whose labels do not overlap along `len` pixels.
fn x_ticks(c: &mut Canvas, axis: &Axis, len: i32, s: &Style) -> Result<Vec<Tick>> {
    let mut max = tick_budget(len, s.tick * 4.0);
    loop {
        let ticks = axis.ticks(max);
        let mut widths = 0;
        for t in &ticks {
            widths += c.measure(&t.label, s.tick)?.0 + (s.tick * 1.5) as i32;
        }
        if widths <= len || max <= 2 {
            return Ok(ticks);
        }
        max -= 1;
    }
}

fn widest(c: &mut Canvas, ticks: &[Tick], size: f64) -> Result<i32> {
    let mut w = 0;
    for t in ticks {
        w = w.max(c.measure(&t.label, size)?.0);
    }
    Ok(w)
}

/// Lay out the figure; `bar`: the colour bar's axis, if there is one.
fn layout(c: &mut Canvas, d: &Decor, bar: Option<Axis>, s: &Style) -> Result<Layout> {
    let (w, h) = (c.w as i32, c.h as i32);
    let text_h = c.measure("0", s.tick)?.1;
    let label_h = c.measure("0", s.label)?.1;
    let title_h = c.measure("0", s.title)?.1;
    let top = if d.title.is_empty() {
        2 * s.pad + text_h / 2
    } else {
        2 * s.pad + title_h + s.pad
    };
    let bottom = s.tick_len + s.pad / 2 + text_h + s.pad + label_h + s.pad;
    let ph = h - top - bottom;
    if ph < 16 {
        return Err(too_small(c));
    }
    let yt = y_ticks(&d.y, ph, s);
    let left = s.pad + label_h + s.pad + widest(c, &yt, s.tick)? + s.pad / 2 + s.tick_len;
    let (right, bar) = match bar {
        Some(b) => {
            let bt = y_ticks(&b, ph, s);
            let bw = (s.tick * 1.3).round() as i32;
            let gap = (s.tick * 1.6).round() as i32;
            let right = gap
                + bw
                + s.tick_len
                + s.pad / 2
                + widest(c, &bt, s.tick)?
                + s.pad
                + label_h
                + s.pad;
            (right, Some((bw, gap, b, bt)))
        }
        None => (2 * s.pad + text_h, None),
    };
    let pw = w - left - right;
    if pw < 16 {
        return Err(too_small(c));
    }
    let plot = Rect {
        x: left as u32,
        y: top as u32,
        width: pw as u32,
        height: ph as u32,
    };
    let xt = x_ticks(c, &d.x, pw, s)?;
    let bar = bar.map(|(bw, gap, b, bt)| {
        let r = Rect {
            x: (left + pw + gap) as u32,
            y: top as u32,
            width: bw as u32,
            height: ph as u32,
        };
        (r, b, bt)
    });
    Ok(Layout {
        plot,
        x_ticks: xt,
        y_ticks: yt,
        bar,
    })
}

fn too_small(c: &Canvas) -> Error {
    Error::plan(format!(
        "plot: an image of {}x{} pixels leaves no room for the plot once its labels are \
         placed; make it larger (e.g. 800x600)",
        c.w, c.h
    ))
}

/// The pixel column of `v` in `r` (fractions of a pixel floored).
fn px(axis: &Axis, r: Rect, v: f64) -> i32 {
    r.x as i32 + (axis.frac(v) * r.width as f64).floor() as i32
}

/// The pixel row of `v` in `r`: larger values higher up.
fn py(axis: &Axis, r: Rect, v: f64) -> i32 {
    r.y as i32 + ((1.0 - axis.frac(v)) * r.height as f64).floor() as i32
}

/// Frame, ticks, tick labels and titles around `r`; `label_right`: the
/// y-axis labels and title on the right (a colour bar).
fn axes(
    c: &mut Canvas,
    r: Rect,
    x: Option<(&Axis, &[Tick])>,
    y: (&Axis, &[Tick]),
    label_right: bool,
    s: &Style,
) -> Result<()> {
    c.frame(r);
    let (x0, y0) = (r.x as i32, r.y as i32);
    let (x1, y1) = (x0 + r.width as i32, y0 + r.height as i32);
    if let Some((xa, xt)) = x {
        for t in xt {
            let p = px(xa, r, t.at).clamp(x0, x1 - 1);
            c.fill(p, y1 + 1, p + 1, y1 + 1 + s.tick_len, BLACK_RGB);
            let at = (p, y1 + 1 + s.tick_len + s.pad / 2);
            c.text(
                &t.label,
                at,
                s.tick,
                Pos::new(HPos::Center, VPos::Top),
                false,
            )?;
        }
        let label_h = c.measure("0", s.label)?.1;
        let at = ((x0 + x1) / 2, c.h as i32 - s.pad - label_h);
        let (t, size) = c.fit(&xa.title, s.label, r.width as i32)?;
        c.text(&t, at, size, Pos::new(HPos::Center, VPos::Top), false)?;
    }
    let (ya, yt) = y;
    let mut widest = 0;
    for t in yt {
        let p = py(ya, r, t.at).clamp(y0, y1 - 1);
        let (tx, anchor) = if label_right {
            c.fill(x1 + 1, p, x1 + 1 + s.tick_len, p + 1, BLACK_RGB);
            (x1 + 1 + s.tick_len + s.pad / 2, HPos::Left)
        } else {
            c.fill(x0 - 1 - s.tick_len, p, x0 - 1, p + 1, BLACK_RGB);
            (x0 - 1 - s.tick_len - s.pad / 2, HPos::Right)
        };
        c.text(
            &t.label,
            (tx, p),
            s.tick,
            Pos::new(anchor, VPos::Center),
            false,
        )?;
        widest = widest.max(c.measure(&t.label, s.tick)?.0);
    }
    let label_h = c.measure("0", s.label)?.1;
    let tx = if label_right {
        x1 + 1 + s.tick_len + s.pad / 2 + widest + s.pad + label_h / 2
    } else {
        s.pad + label_h / 2
    };
    let at = (tx, (y0 + y1) / 2);
    let (t, size) = c.fit(&ya.title, s.label, r.height as i32)?;
    c.text(&t, at, size, Pos::new(HPos::Center, VPos::Center), true)
}

fn title(c: &mut Canvas, d: &Decor, r: Rect, s: &Style) -> Result<()> {
    let at = (r.x as i32 + r.width as i32 / 2, s.pad);
    let (t, size) = c.fit(&d.title, s.title, c.w as i32 - 2 * s.pad)?;
    c.text(&t, at, size, Pos::new(HPos::Center, VPos::Top), false)
}

/// A 2-D array as a heatmap: rows along y (the first dim), columns along x.
pub(crate) fn heatmap(
    da: &DataArray,
    values: ArrayView2<f64>,
    title_text: String,
    opts: &PlotOptions,
) -> Result<Image> {
    let (ny, nx) = values.dim();
    let dims = da.dims();
    let x = Axis::for_dim(da, &dims[1], nx, true);
    let y = Axis::for_dim(da, &dims[0], ny, true);
    let flat = values.as_standard_layout();
    let flat = flat.as_slice().unwrap_or_default();
    let (vmin, vmax, cmap) = color_limits(flat, opts.vmin, opts.vmax, opts.robust, opts.cmap);
    let bar = Axis {
        title: label_from_attrs(Some(da.attrs()), da.name().unwrap_or("")),
        scale: Scale::Number { integer: false },
        centers: Vec::new(),
        lo: vmin,
        hi: vmax,
    };
    let (w, h) = opts.size;
    let mut c = Canvas::new(w, h);
    let s = Style::new(w, h);
    let d = Decor {
        title: title_text,
        x,
        y,
    };
    let l = layout(&mut c, &d, Some(bar), &s)?;
    let r = l.plot;
    // The cells: each pixel takes the cell under its centre.
    let (xe, ye) = (d.x.edges(), d.y.edges());
    let cols: Vec<Option<usize>> = (0..r.width)
        .map(|i| cell_at(&xe, d.x.at((i as f64 + 0.5) / r.width as f64)))
        .collect();
    for row in 0..r.height {
        let v = d.y.at(1.0 - (row as f64 + 0.5) / r.height as f64);
        let Some(i) = cell_at(&ye, v) else { continue };
        for (col, j) in cols.iter().enumerate() {
            if let Some(j) = *j {
                let rgb = cmap.color(values[[i, j]], vmin, vmax, opts.nan_color);
                c.set(r.x as i32 + col as i32, (r.y + row) as i32, rgb);
            }
        }
    }
    axes(
        &mut c,
        r,
        Some((&d.x, &l.x_ticks)),
        (&d.y, &l.y_ticks),
        false,
        &s,
    )?;
    title(&mut c, &d, r, &s)?;
    let mut bar_rect = None;
    if let Some((br, b, bt)) = &l.bar {
        for row in 0..br.height {
            let v = b.at(1.0 - (row as f64 + 0.5) / br.height as f64);
            let rgb = cmap.color(v, vmin, vmax, opts.nan_color);
            let y = (br.y + row) as i32;
            c.fill(br.x as i32, y, (br.x + br.width) as i32, y + 1, rgb);
        }
        axes(&mut c, *br, None, (b, bt), true, &s)?;
        bar_rect = Some(*br);
    }
    Ok(c.into_image(r, bar_rect))
}

/// A 1-D array as a line against its coordinate; NaN breaks the line.
pub(crate) fn line(
    da: &DataArray,
    values: ArrayView1<f64>,
    title_text: String,
    opts: &PlotOptions,
) -> Result<Image> {
    let n = values.len();
    let x = Axis::for_dim(da, &da.dims()[0], n, false).with_margins();
    let y = Axis {
        title: label_from_attrs(Some(da.attrs()), da.name().unwrap_or("")),
        scale: Scale::Number { integer: false },
        centers: values.to_vec(),
        lo: 0.0,
        hi: 1.0,
    }
    .with_margins();
    let (w, h) = opts.size;
    let mut c = Canvas::new(w, h);
    let s = Style::new(w, h);
    let d = Decor {
        title: title_text,
        x,
        y,
    };
    let l = layout(&mut c, &d, None, &s)?;
    let r = l.plot;
    let width = (s.tick / 7.0).round().max(1.0) as u32;
    // Segment by segment: plotters joins wide polylines with mitres, which
    // spike at the sharp turns of noisy data.
    let mut last: Option<(i32, i32)> = None;
    for (xv, &yv) in d.x.centers.iter().zip(values.iter()) {
        let p = (xv.is_finite() && yv.is_finite()).then(|| (px(&d.x, r, *xv), py(&d.y, r, yv)));
        if let (Some(a), Some(b)) = (last, p) {
            c.polyline(vec![a, b], LINE_RGB, width)?;
        }
        last = p;
    }
    axes(
        &mut c,
        r,
        Some((&d.x, &l.x_ticks)),
        (&d.y, &l.y_ticks),
        false,
        &s,
    )?;
    title(&mut c, &d, r, &s)?;
    Ok(c.into_image(r, None))
}
