//! Colour maps and the colour limits xarray chooses (`vmin`, `vmax`,
//! `robust`, and a diverging map centred on zero for data of both signs).
//!
//! A value is normalised to `t = (v - vmin) / (vmax - vmin)` and looked up
//! in 256 levels as matplotlib does (`floor(t * 256)`, clipped to the ends:
//! values beyond the limits take the end colours); NaN takes the NaN colour.

/// A colour map.
///
/// ```
/// use chunkwise::plot::ColorMap;
/// assert_eq!(ColorMap::Viridis.rgb(0.0), [68, 1, 84]);
/// assert_eq!(ColorMap::Viridis.rgb(1.0), [253, 231, 37]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum ColorMap {
    /// matplotlib's `viridis` (perceptually uniform, sequential; xarray's
    /// default for data of one sign), from its published table of 256
    /// colours (van der Walt and Smith, CC0), rounded to 8 bits.
    #[default]
    Viridis,
    /// matplotlib's `RdBu_r` (ColorBrewer's RdBu reversed: blue low, red
    /// high; xarray's default for data of both signs).
    RdBuR,
    /// Black to white (matplotlib's `gray`).
    Gray,
}

/// The colour of NaN cells unless [`PlotOptions::nan_color`](super::PlotOptions)
/// says otherwise: a light grey, distinct from every colour of the maps.
pub const NAN_COLOR: [u8; 3] = [200, 200, 200];

impl ColorMap {
    /// The map's colour at `t` in `[0, 1]` (below 0: the first colour;
    /// above 1: the last; NaN: the first, see [`ColorMap::color`] for NaN
    /// handling).
    pub fn rgb(self, t: f64) -> [u8; 3] {
        let level = level(t);
        match self {
            ColorMap::Viridis => VIRIDIS[level],
            ColorMap::RdBuR => {
                // matplotlib's LinearSegmentedColormap: the 256 levels sample
                // the segments at level / 255.
                let x = level as f64 / 255.0 * (RDBU.len() - 1) as f64;
                let i = (x.floor() as usize).min(RDBU.len() - 2);
                let f = x - i as f64;
                // Reversed: level 0 is RdBu's last colour.
                let (a, b) = (RDBU[RDBU.len() - 1 - i], RDBU[RDBU.len() - 2 - i]);
                let mix = |k: usize| (a[k] as f64 + f * (b[k] as f64 - a[k] as f64)).round() as u8;
                [mix(0), mix(1), mix(2)]
            }
            ColorMap::Gray => {
                let g = level as u8;
                [g, g, g]
            }
        }
    }

    /// The colour of value `v` between `vmin` and `vmax`; `nan` for NaN.
    /// With `vmax <= vmin` every number gets the first colour (matplotlib's
    /// `Normalize` with equal limits).
    pub fn color(self, v: f64, vmin: f64, vmax: f64, nan: [u8; 3]) -> [u8; 3] {
        if v.is_nan() {
            return nan;
        }
        let t = if vmax > vmin {
            (v - vmin) / (vmax - vmin)
        } else {
            0.0
        };
        self.rgb(t)
    }

    /// The map's name in matplotlib.
    pub fn name(self) -> &'static str {
        match self {
            ColorMap::Viridis => "viridis",
            ColorMap::RdBuR => "RdBu_r",
            ColorMap::Gray => "gray",
        }
    }
}

/// One of 256 levels, as matplotlib's `Colormap.__call__` picks it.
fn level(t: f64) -> usize {
    if t.is_nan() || t <= 0.0 {
        return 0;
    }
    ((t * 256.0).floor() as usize).min(255)
}

/// The colour limits and map of a 2-D plot, by xarray's rules
/// (`_determine_cmap_params` with `center=None`):
///
/// * limits not given are the finite data's minimum and maximum, or with
///   `robust` its 2nd and 98th percentiles;
/// * if the limits have opposite signs the data are *divergent*: the limits
///   become symmetric about zero (`±max(|vmin|, |vmax|)`, or `±|limit|` of a
///   limit that was given) and the default map is [`ColorMap::RdBuR`];
///   otherwise it is [`ColorMap::Viridis`];
/// * equal limits are widened (to `v ± |v|/10`, or `±0.5` around 0) so the
///   colour bar has a range; no finite data gives `0..1`.
///
/// ```
/// use chunkwise::plot::{color_limits, ColorMap};
/// let (lo, hi, map) = color_limits(&[1.0, 2.0, f64::NAN, 4.0], None, None, false, None);
/// assert_eq!((lo, hi, map), (1.0, 4.0, ColorMap::Viridis));
/// let (lo, hi, map) = color_limits(&[-1.0, 3.0], None, None, false, None);
/// assert_eq!((lo, hi, map), (-3.0, 3.0, ColorMap::RdBuR));
/// ```
pub fn color_limits(
    values: &[f64],
    vmin: Option<f64>,
    vmax: Option<f64>,
    robust: bool,
    cmap: Option<ColorMap>,
) -> (f64, f64, ColorMap) {
    // Sorted finite values for percentiles; only the extremes otherwise.
    let mut finite: Vec<f64> = Vec::new();
    if robust {
        finite = values.iter().copied().filter(|v| v.is_finite()).collect();
        finite.sort_by(f64::total_cmp);
    }
    let (min, max) = values
        .iter()
        .filter(|v| v.is_finite())
        .fold(None, |acc: Option<(f64, f64)>, &v| match acc {
            None => Some((v, v)),
            Some((a, b)) => Some((a.min(v), b.max(v))),
        })
        .unzip();
    let pick = |p: f64, extreme: Option<f64>| -> Option<f64> {
        if robust {
            percentile(&finite, p)
        } else {
            extreme
        }
    };
    let mut vlim = None;
    let mut lo = match vmin {
        Some(v) => {
            vlim = Some(v.abs());
            v
        }
        None => pick(2.0, min).unwrap_or(0.0),
    };
    let mut hi = match vmax {
        Some(v) => {
            vlim = Some(v.abs());
            v
        }
        None => pick(98.0, max).unwrap_or(1.0),
    };
    if min.is_none() && vmin.is_none() && vmax.is_none() {
        (lo, hi) = (0.0, 1.0);
    }
    let divergent = lo < 0.0 && hi > 0.0;
    if divergent {
        let l = vlim.unwrap_or(lo.abs().max(hi.abs()));
        (lo, hi) = (-l, l);
    }
    if hi <= lo {
        let d = if lo == 0.0 { 0.5 } else { lo.abs() / 10.0 };
        (lo, hi) = (lo.min(hi) - d, lo.max(hi) + d);
    }
    let map = cmap.unwrap_or(if divergent {
        ColorMap::RdBuR
    } else {
        ColorMap::Viridis
    });
    (lo, hi, map)
}

/// numpy's `percentile` (linear interpolation) of sorted values.
fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let r = p / 100.0 * (n - 1) as f64;
    let i = r.floor() as usize;
    let j = (i + 1).min(n - 1);
    Some(sorted[i] + (r - i as f64) * (sorted[j] - sorted[i]))
}

/// ColorBrewer's RdBu, 11 classes, red to blue (as matplotlib's `_RdBu_data`).
const RDBU: [[u8; 3]; 11] = [
    [0x67, 0x00, 0x1f],
    [0xb2, 0x18, 0x2b],
    [0xd6, 0x60, 0x4d],
    [0xf4, 0xa5, 0x82],
    [0xfd, 0xdb, 0xc7],
    [0xf7, 0xf7, 0xf7],
    [0xd1, 0xe5, 0xf0],
    [0x92, 0xc5, 0xde],
    [0x43, 0x93, 0xc3],
    [0x21, 0x66, 0xac],
    [0x05, 0x30, 0x61],
];

/// viridis: matplotlib's 256 colours (`_viridis_data`), rounded to 8 bits.
#[rustfmt::skip]
const VIRIDIS: [[u8; 3]; 256] = [
    [68, 1, 84], [68, 2, 86], [69, 4, 87], [69, 5, 89], [70, 7, 90], [70, 8, 92], [70, 10, 93], [70, 11, 94],
    [71, 13, 96], [71, 14, 97], [71, 16, 99], [71, 17, 100], [71, 19, 101], [72, 20, 103], [72, 22, 104], [72, 23, 105],
    [72, 24, 106], [72, 26, 108], [72, 27, 109], [72, 28, 110], [72, 29, 111], [72, 31, 112], [72, 32, 113], [72, 33, 115],
    [72, 35, 116], [72, 36, 117], [72, 37, 118], [72, 38, 119], [72, 40, 120], [72, 41, 121], [71, 42, 122], [71, 44, 122],
    [71, 45, 123], [71, 46, 124], [71, 47, 125], [70, 48, 126], [70, 50, 126], [70, 51, 127], [70, 52, 128], [69, 53, 129],
    [69, 55, 129], [69, 56, 130], [68, 57, 131], [68, 58, 131], [68, 59, 132], [67, 61, 132], [67, 62, 133], [66, 63, 133],
    [66, 64, 134], [66, 65, 134], [65, 66, 135], [65, 68, 135], [64, 69, 136], [64, 70, 136], [63, 71, 136], [63, 72, 137],
    [62, 73, 137], [62, 74, 137], [62, 76, 138], [61, 77, 138], [61, 78, 138], [60, 79, 138], [60, 80, 139], [59, 81, 139],
    [59, 82, 139], [58, 83, 139], [58, 84, 140], [57, 85, 140], [57, 86, 140], [56, 88, 140], [56, 89, 140], [55, 90, 140],
    [55, 91, 141], [54, 92, 141], [54, 93, 141], [53, 94, 141], [53, 95, 141], [52, 96, 141], [52, 97, 141], [51, 98, 141],
    [51, 99, 141], [50, 100, 142], [50, 101, 142], [49, 102, 142], [49, 103, 142], [49, 104, 142], [48, 105, 142], [48, 106, 142],
    [47, 107, 142], [47, 108, 142], [46, 109, 142], [46, 110, 142], [46, 111, 142], [45, 112, 142], [45, 113, 142], [44, 113, 142],
    [44, 114, 142], [44, 115, 142], [43, 116, 142], [43, 117, 142], [42, 118, 142], [42, 119, 142], [42, 120, 142], [41, 121, 142],
    [41, 122, 142], [41, 123, 142], [40, 124, 142], [40, 125, 142], [39, 126, 142], [39, 127, 142], [39, 128, 142], [38, 129, 142],
    [38, 130, 142], [38, 130, 142], [37, 131, 142], [37, 132, 142], [37, 133, 142], [36, 134, 142], [36, 135, 142], [35, 136, 142],
    [35, 137, 142], [35, 138, 141], [34, 139, 141], [34, 140, 141], [34, 141, 141], [33, 142, 141], [33, 143, 141], [33, 144, 141],
    [33, 145, 140], [32, 146, 140], [32, 146, 140], [32, 147, 140], [31, 148, 140], [31, 149, 139], [31, 150, 139], [31, 151, 139],
    [31, 152, 139], [31, 153, 138], [31, 154, 138], [30, 155, 138], [30, 156, 137], [30, 157, 137], [31, 158, 137], [31, 159, 136],
    [31, 160, 136], [31, 161, 136], [31, 161, 135], [31, 162, 135], [32, 163, 134], [32, 164, 134], [33, 165, 133], [33, 166, 133],
    [34, 167, 133], [34, 168, 132], [35, 169, 131], [36, 170, 131], [37, 171, 130], [37, 172, 130], [38, 173, 129], [39, 173, 129],
    [40, 174, 128], [41, 175, 127], [42, 176, 127], [44, 177, 126], [45, 178, 125], [46, 179, 124], [47, 180, 124], [49, 181, 123],
    [50, 182, 122], [52, 182, 121], [53, 183, 121], [55, 184, 120], [56, 185, 119], [58, 186, 118], [59, 187, 117], [61, 188, 116],
    [63, 188, 115], [64, 189, 114], [66, 190, 113], [68, 191, 112], [70, 192, 111], [72, 193, 110], [74, 193, 109], [76, 194, 108],
    [78, 195, 107], [80, 196, 106], [82, 197, 105], [84, 197, 104], [86, 198, 103], [88, 199, 101], [90, 200, 100], [92, 200, 99],
    [94, 201, 98], [96, 202, 96], [99, 203, 95], [101, 203, 94], [103, 204, 92], [105, 205, 91], [108, 205, 90], [110, 206, 88],
    [112, 207, 87], [115, 208, 86], [117, 208, 84], [119, 209, 83], [122, 209, 81], [124, 210, 80], [127, 211, 78], [129, 211, 77],
    [132, 212, 75], [134, 213, 73], [137, 213, 72], [139, 214, 70], [142, 214, 69], [144, 215, 67], [147, 215, 65], [149, 216, 64],
    [152, 216, 62], [155, 217, 60], [157, 217, 59], [160, 218, 57], [162, 218, 55], [165, 219, 54], [168, 219, 52], [170, 220, 50],
    [173, 220, 48], [176, 221, 47], [178, 221, 45], [181, 222, 43], [184, 222, 41], [186, 222, 40], [189, 223, 38], [192, 223, 37],
    [194, 223, 35], [197, 224, 33], [200, 224, 32], [202, 225, 31], [205, 225, 29], [208, 225, 28], [210, 226, 27], [213, 226, 26],
    [216, 226, 25], [218, 227, 25], [221, 227, 24], [223, 227, 24], [226, 228, 24], [229, 228, 25], [231, 228, 25], [234, 229, 26],
    [236, 229, 27], [239, 229, 28], [241, 229, 29], [244, 230, 30], [246, 230, 32], [248, 230, 33], [251, 231, 35], [253, 231, 37],
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_follow_matplotlib() {
        assert_eq!(level(0.0), 0);
        assert_eq!(level(1.0 / 256.0 - 1e-12), 0);
        assert_eq!(level(1.0 / 256.0), 1);
        assert_eq!(level(0.5), 128);
        assert_eq!(level(1.0), 255);
        assert_eq!(level(7.0), 255);
        assert_eq!(level(-1.0), 0);
    }

    #[test]
    fn rdbu_r_runs_blue_white_red() {
        // matplotlib: RdBu_r(0), RdBu_r(128), RdBu_r(255) as 8 bits.
        assert_eq!(ColorMap::RdBuR.rgb(0.0), [5, 48, 97]);
        assert_eq!(ColorMap::RdBuR.rgb(0.5), [247, 246, 246]);
        assert_eq!(ColorMap::RdBuR.rgb(1.0), [103, 0, 31]);
    }

    #[test]
    fn robust_limits_are_numpy_percentiles() {
        let v: Vec<f64> = (0..=100).map(f64::from).collect();
        let (lo, hi, _) = color_limits(&v, None, None, true, None);
        assert_eq!((lo, hi), (2.0, 98.0));
    }

    #[test]
    fn a_given_limit_makes_divergent_limits_symmetric_about_it() {
        let (lo, hi, map) = color_limits(&[-1.0, 3.0], None, Some(2.0), false, None);
        assert_eq!((lo, hi, map), (-2.0, 2.0, ColorMap::RdBuR));
        let (lo, hi, _) = color_limits(&[5.0, 5.0], None, None, false, None);
        assert_eq!((lo, hi), (4.5, 5.5));
        let (lo, hi, _) = color_limits(&[f64::NAN], None, None, false, None);
        assert_eq!((lo, hi), (0.0, 1.0));
    }
}
