//! Tick positions and labels: "nice" numbers (steps of 1, 2, 2.5 or 5 times a
//! power of ten), calendar-aware dates (whole years, months, days, hours...
//! in the coordinate's calendar) and text labels at positions.

use crate::dataset::time::{Calendar, DateTime, TICKS_PER_SECOND};

/// A tick: its position on the axis and its label.
#[derive(Debug, Clone, PartialEq)]
pub struct Tick {
    /// In the axis' units: the coordinate's values; for times, microseconds
    /// since 1970-01-01 ([`DateTime::to_ticks`]); for text, the position.
    pub at: f64,
    pub label: String,
}

/// At most `max` (at least 1) ticks at round numbers in `lo..=hi`, labelled
/// with as many decimals as the step needs; `integer` keeps steps whole.
///
/// ```
/// use chunkwise::plot::number_ticks;
/// let t = number_ticks(0.0, 1.0, 6, false);
/// let labels: Vec<&str> = t.iter().map(|t| t.label.as_str()).collect();
/// assert_eq!(labels, ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]);
/// ```
pub fn number_ticks(lo: f64, hi: f64, max: usize, integer: bool) -> Vec<Tick> {
    let max = max.max(1);
    let (lo, hi) = (lo.min(hi), lo.max(hi));
    if !(lo.is_finite() && hi.is_finite()) {
        return Vec::new();
    }
    if hi == lo {
        return vec![Tick {
            at: lo,
            label: format_number(lo, 0.0),
        }];
    }
    let raw = (hi - lo) / max as f64;
    let mut mag = 10f64.powf(raw.log10().floor());
    loop {
        for m in [1.0, 2.0, 2.5, 5.0] {
            let step = m * mag;
            if integer && (step < 1.0 || m == 2.5) {
                continue;
            }
            let first = (lo / step - 1e-9).ceil() as i64;
            let last = (hi / step + 1e-9).floor() as i64;
            if last - first < max as i64 {
                return (first..=last)
                    .map(|k| {
                        let at = k as f64 * step;
                        Tick {
                            at,
                            label: format_number(at, step),
                        }
                    })
                    .collect();
            }
        }
        mag *= 10.0;
    }
}

/// `v` written with the decimals a tick step needs (`step` 0: as short as
/// it goes); scientific notation for very large or very small magnitudes.
pub(crate) fn format_number(v: f64, step: f64) -> String {
    let v = if v.abs() < step.abs() * 1e-9 { 0.0 } else { v };
    let a = v.abs().max(step.abs());
    if a >= 1e7 || (a > 0.0 && a < 1e-4) {
        let digits = if step > 0.0 {
            ((a.log10().floor() - step.log10().floor()).max(0.0) as usize).min(15)
        } else {
            3
        };
        return format!("{v:.digits$e}");
    }
    if step <= 0.0 {
        return format!("{v}");
    }
    let mut decimals = (-step.log10().floor()).max(0.0) as usize;
    // 2.5 × 10^k needs one more decimal than 10^k.
    if ((step / 10f64.powf(step.log10().floor())) - 2.5).abs() < 1e-9 {
        decimals += 1;
    }
    let s = format!("{v:.decimals$}");
    if s.trim_start_matches('-')
        .chars()
        .all(|c| c == '0' || c == '.')
    {
        s.trim_start_matches('-').to_string()
    } else {
        s
    }
}

const SECOND: i64 = TICKS_PER_SECOND;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// Time steps, shortest first.
#[derive(Debug, Clone, Copy)]
enum Step {
    /// A fixed length in ticks (whole divisors of a day, or seconds).
    Fixed(i64),
    /// Days of the month 1, 1 + n, 1 + 2n, ... in every month.
    Days(u32),
    Months(u32),
    Years(i64),
}

impl Step {
    /// Roughly how long, for skipping steps far too short.
    fn approx(self) -> f64 {
        match self {
            Step::Fixed(t) => t as f64,
            Step::Days(n) => (n as i64 * DAY) as f64,
            Step::Months(n) => n as f64 * 30.4 * DAY as f64,
            Step::Years(n) => n as f64 * 365.2 * DAY as f64,
        }
    }
}

fn time_steps() -> Vec<Step> {
    let mut steps: Vec<Step> = [1, 2, 5, 10, 15, 30]
        .iter()
        .map(|&s| Step::Fixed(s * SECOND))
        .chain(
            [1, 2, 5, 10, 15, 30]
                .iter()
                .map(|&m| Step::Fixed(m * MINUTE)),
        )
        .chain([1, 2, 3, 6, 12].iter().map(|&h| Step::Fixed(h * HOUR)))
        .collect();
    steps.extend([1, 2, 5, 10].map(Step::Days));
    steps.extend([1, 2, 3, 4, 6].map(Step::Months));
    let mut y = 1i64;
    while y <= 1_000_000_000 {
        steps.extend([y, 2 * y, 5 * y].map(Step::Years));
        y *= 10;
    }
    steps
}

/// At most `max` ticks at round dates in `lo..=hi` (microseconds since
/// 1970-01-01 of `cal`), labelled as readably as the step allows: `2000`,
/// `2000-03`, `2000-03-01`, `2000-03-01 06:00`, `2000-03-01 06:00:30`.
///
/// ```
/// use chunkwise::dataset::time::{Calendar, DateTime};
/// use chunkwise::plot::time_ticks;
/// let t = |s| DateTime::parse(s, Calendar::Standard).unwrap().to_ticks() as f64;
/// let ticks = time_ticks(t("2000-01-01"), t("2001-12-31"), Calendar::Standard, 5);
/// let labels: Vec<&str> = ticks.iter().map(|t| t.label.as_str()).collect();
/// assert_eq!(labels, ["2000-01", "2000-07", "2001-01", "2001-07"]);
/// ```
pub fn time_ticks(lo: f64, hi: f64, cal: Calendar, max: usize) -> Vec<Tick> {
    let max = max.max(1);
    let (lo, hi) = (lo.min(hi), lo.max(hi));
    if !(lo.is_finite() && hi.is_finite()) {
        return Vec::new();
    }
    let span = hi - lo;
    for step in time_steps() {
        if span / step.approx() > max as f64 + 1.0 {
            continue;
        }
        let at = dates(lo, hi, cal, step, max + 1);
        if at.len() <= max && !at.is_empty() {
            return at
                .into_iter()
                .map(|d| Tick {
                    at: d.to_ticks() as f64,
                    label: date_label(&d, step),
                })
                .collect();
        }
    }
    let d = DateTime::from_ticks(lo as i64, cal);
    vec![Tick {
        at: lo,
        label: date_label(&d, Step::Fixed(SECOND)),
    }]
}

/// The dates of `step` in `lo..=hi`, stopping after `limit` of them.
fn dates(lo: f64, hi: f64, cal: Calendar, step: Step, limit: usize) -> Vec<DateTime> {
    let mut out = Vec::new();
    let inside = |d: &DateTime| (lo..=hi).contains(&(d.to_ticks() as f64));
    match step {
        Step::Fixed(s) => {
            let mut t = (lo as i64).div_euclid(s) * s;
            while (t as f64) <= hi && out.len() < limit {
                if t as f64 >= lo {
                    out.push(DateTime::from_ticks(t, cal));
                }
                t += s;
            }
        }
        Step::Days(_) | Step::Months(_) => {
            let start = DateTime::from_ticks(lo as i64, cal);
            let (mut y, mut m) = (start.year(), start.month());
            while out.len() < limit {
                let Ok(first) = DateTime::from_ymd(cal, y, m, 1) else {
                    break;
                };
                if first.to_ticks() as f64 > hi {
                    break;
                }
                match step {
                    Step::Days(n) => {
                        let len = first.days_in_month();
                        for day in (1..=len).step_by(n as usize) {
                            // A last day too close to the next month's 1st is left out.
                            if n > 1 && day + n / 2 > len + 1 {
                                continue;
                            }
                            if let Ok(d) = DateTime::from_ymd(cal, y, m, day) {
                                if inside(&d) {
                                    out.push(d);
                                }
                            }
                        }
                    }
                    Step::Months(n) if (m - 1) % n == 0 && inside(&first) => out.push(first),
                    _ => {}
                }
                (y, m) = if m == 12 {
                    (next_year(cal, y), 1)
                } else {
                    (y, m + 1)
                };
            }
        }
        Step::Years(n) => {
            let first = DateTime::from_ticks(lo as i64, cal).year() as i64;
            let mut y = first.div_euclid(n) * n;
            while out.len() < limit {
                let Ok(yy) = i32::try_from(y) else { break };
                if let Ok(d) = DateTime::from_ymd(cal, yy, 1, 1) {
                    if d.to_ticks() as f64 > hi {
                        break;
                    }
                    if inside(&d) {
                        out.push(d);
                    }
                }
                y += n;
                if y > i64::from(i32::MAX) {
                    break;
                }
            }
        }
    }
    out.truncate(limit);
    out
}

/// The year after `y` (the standard and Julian calendars have no year 0).
fn next_year(cal: Calendar, y: i32) -> i32 {
    if y == -1 && DateTime::from_ymd(cal, 0, 1, 1).is_err() {
        1
    } else {
        y + 1
    }
}

fn date_label(d: &DateTime, step: Step) -> String {
    let year = if (0..10_000).contains(&d.year()) {
        format!("{:04}", d.year())
    } else {
        d.year().to_string()
    };
    let (m, day) = (d.month(), d.day());
    match step {
        Step::Years(_) => year,
        Step::Months(_) => format!("{year}-{m:02}"),
        Step::Days(_) => format!("{year}-{m:02}-{day:02}"),
        Step::Fixed(s) if s % DAY == 0 => format!("{year}-{m:02}-{day:02}"),
        Step::Fixed(s) if s % MINUTE == 0 => {
            format!("{year}-{m:02}-{day:02} {:02}:{:02}", d.hour(), d.minute())
        }
        Step::Fixed(_) => format!(
            "{year}-{m:02}-{day:02} {:02}:{:02}:{:02}",
            d.hour(),
            d.minute(),
            d.second()
        ),
    }
}

/// At most `max` ticks at whole positions `0..labels.len()` within
/// `lo..=hi`, every first, second, fifth, tenth... label (a text axis, or
/// the positions of a coordinate drawn by position).
///
/// ```
/// use chunkwise::plot::index_ticks;
/// let names: Vec<String> = ["DJF", "MAM", "JJA", "SON"].map(String::from).to_vec();
/// let t = index_ticks(&names, -0.5, 3.5, 2);
/// assert_eq!((t[0].at, t[0].label.as_str()), (0.0, "DJF"));
/// assert_eq!((t[1].at, t[1].label.as_str()), (2.0, "JJA"));
/// ```
pub fn index_ticks(labels: &[String], lo: f64, hi: f64, max: usize) -> Vec<Tick> {
    let n = labels.len();
    if n == 0 {
        return Vec::new();
    }
    let first = lo.ceil().max(0.0) as usize;
    let last = (hi.floor().max(0.0) as usize).min(n - 1);
    if first > last {
        return Vec::new();
    }
    let count = last - first + 1;
    let mut every = 1usize;
    let mut k = 0;
    while count.div_ceil(every) > max.max(1) {
        every = [1, 2, 5][k % 3] * 10usize.pow((k / 3) as u32);
        k += 1;
    }
    let start = first.div_ceil(every) * every;
    (start..=last)
        .step_by(every)
        .map(|i| Tick {
            at: i as f64,
            label: labels[i].clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(t: &[Tick]) -> Vec<&str> {
        t.iter().map(|t| t.label.as_str()).collect()
    }

    #[test]
    fn numbers_take_the_step_s_decimals() {
        assert_eq!(
            labels(&number_ticks(37.5, 60.0, 5, false)),
            ["40", "45", "50", "55", "60"]
        );
        assert_eq!(
            labels(&number_ticks(-1.0, 1.0, 5, false)),
            ["-1.0", "-0.5", "0.0", "0.5", "1.0"]
        );
        assert_eq!(
            labels(&number_ticks(0.0, 1.0, 4, false)),
            ["0.0", "0.5", "1.0"]
        );
        assert_eq!(
            labels(&number_ticks(0.0, 3.0, 10, true)),
            ["0", "1", "2", "3"]
        );
        assert_eq!(labels(&number_ticks(0.0, 3e8, 3, false)), ["0e0", "2e8"]);
    }

    #[test]
    fn sub_day_times_show_the_hour() {
        let t = |s| DateTime::parse(s, Calendar::NoLeap).unwrap().to_ticks() as f64;
        let ticks = time_ticks(t("2000-02-28"), t("2000-03-01"), Calendar::NoLeap, 5);
        // No February 29th in this calendar: one day, in steps of 6 hours.
        assert_eq!(
            labels(&ticks),
            [
                "2000-02-28 00:00",
                "2000-02-28 06:00",
                "2000-02-28 12:00",
                "2000-02-28 18:00",
                "2000-03-01 00:00"
            ]
        );
    }
}
