//! Frequencies of `resample` and of period groupings (pandas' offset aliases
//! `MS`, `QS-DEC`, `YS`, `D`, `h`, ...) and the period arithmetic on
//! [`DateTime`]: floor to a period start, step by periods.

use super::{DateTime, TICKS_PER_SECOND};
use crate::error::{Error, Result};
use std::fmt;

#[cfg(test)]
mod tests;

/// The base period of a [`Freq`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FreqUnit {
    /// `MS`: months, labelled by their first day.
    MonthStart,
    /// `QS-<MON>`: quarters of three months, the first of which starts in
    /// `first_month` (1..=12); `QS` is `QS-JAN`, `QS-DEC` gives DJF, MAM, JJA,
    /// SON labelled 12-01, 03-01, 06-01, 09-01.
    QuarterStart { first_month: u8 },
    /// `YS-<MON>` (or `AS-<MON>`): years starting in `month`; `YS` is `YS-JAN`.
    YearStart { month: u8 },
    /// `D`: days.
    Day,
    /// `h` (or `H`): hours.
    Hour,
    /// `min` (or `T`): minutes.
    Minute,
    /// `s` (or `S`): seconds.
    Second,
}

/// A frequency: `n` times a [`FreqUnit`], as pandas writes it (`3h`, `2MS`,
/// `QS-DEC`).
///
/// Month-based periods (`MS`, `QS`, `YS`) start at midnight on the first day of
/// a month; fixed ones (`D`, `h`, `min`, `s`) are a whole number of
/// microseconds long.
///
/// # Example
/// ```
/// use chunkwise::dataset::time::{Calendar, DateTime, Freq};
/// let f = Freq::parse("QS-DEC").unwrap();
/// let d = DateTime::from_ymd(Calendar::NoLeap, 2000, 12, 31).unwrap();
/// assert_eq!(d.floor_to(&f).unwrap().to_string(), "2000-12-01T00:00:00");
/// assert_eq!(d.floor_to(&f).unwrap().add(&f, 1).unwrap().to_string(), "2001-03-01T00:00:00");
/// assert!(Freq::parse("2W").is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Freq {
    n: u32,
    unit: FreqUnit,
}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];

/// How a frequency steps: by months (from month index `offset`, in steps of
/// `step`), or by a fixed number of ticks.
enum Step {
    Months { step: i64, offset: i64 },
    Ticks(i64),
}

impl Freq {
    /// A frequency of `n` (at least 1) units.
    pub fn new(n: u32, unit: FreqUnit) -> Result<Freq> {
        let month_ok = |m: u8| (1..=12).contains(&m);
        let ok = n >= 1
            && match unit {
                FreqUnit::QuarterStart { first_month: m } | FreqUnit::YearStart { month: m } => {
                    month_ok(m)
                }
                _ => true,
            };
        if !ok {
            return Err(Error::Plan(format!(
                "invalid frequency {n} x {unit:?}: the multiple must be at least 1 and the month in 1..=12"
            )));
        }
        Ok(Freq { n, unit })
    }

    /// Reads pandas' spelling: an optional multiple, then `MS`, `QS`,
    /// `QS-<MON>` (`QS-DEC`), `YS` or `AS`, `YS-<MON>`, `D`, `h` or `H`, `min`
    /// or `T`, `s` or `S`. An [`Error::Plan`] listing these for anything else.
    pub fn parse(s: &str) -> Result<Freq> {
        let bad = |why: String| {
            Error::Plan(format!(
                "unsupported frequency '{s}': {why} (supported: MS, QS, QS-<MON> such as \
                 QS-DEC, YS or AS, YS-<MON>, D, h or H, min or T, s or S, each with an \
                 optional multiple such as 3h or 2MS)"
            ))
        };
        let t = s.trim();
        let digits = t.bytes().take_while(u8::is_ascii_digit).count();
        let n = match digits {
            0 => 1,
            _ => t[..digits]
                .parse::<u32>()
                .ok()
                .filter(|&n| n >= 1)
                .ok_or_else(|| bad(format!("the multiple '{}' is not in 1..2^32", &t[..digits])))?,
        };
        let (base, anchor) = match t[digits..].split_once('-') {
            Some((b, a)) => (b, Some(a)),
            None => (&t[digits..], None),
        };
        let month = match anchor {
            None => 1,
            Some(a) => {
                let pos = MONTHS.iter().position(|m| m.eq_ignore_ascii_case(a));
                pos.ok_or_else(|| bad(format!("'{a}' is not a month such as JAN or DEC")))? as u8
                    + 1
            }
        };
        let unit = match base {
            "QS" => FreqUnit::QuarterStart { first_month: month },
            "YS" | "AS" => FreqUnit::YearStart { month },
            _ if anchor.is_some() => return Err(bad(format!("'{base}' takes no -<MON> anchor"))),
            "MS" => FreqUnit::MonthStart,
            "D" => FreqUnit::Day,
            "h" | "H" => FreqUnit::Hour,
            "min" | "T" => FreqUnit::Minute,
            "s" | "S" => FreqUnit::Second,
            "" => return Err(bad("no unit".into())),
            _ => return Err(bad(format!("unknown unit '{base}'"))),
        };
        Freq::new(n, unit)
    }

    /// The multiple.
    pub fn n(&self) -> u32 {
        self.n
    }

    /// The base period.
    pub fn unit(&self) -> FreqUnit {
        self.unit
    }

    fn step(&self) -> Step {
        let n = i64::from(self.n);
        match self.unit {
            FreqUnit::MonthStart => Step::Months { step: n, offset: 0 },
            FreqUnit::QuarterStart { first_month } => Step::Months {
                step: 3 * n,
                offset: i64::from(first_month) - 1,
            },
            FreqUnit::YearStart { month } => Step::Months {
                step: 12 * n,
                offset: i64::from(month) - 1,
            },
            FreqUnit::Day => Step::Ticks(n * 86_400 * TICKS_PER_SECOND),
            FreqUnit::Hour => Step::Ticks(n * 3_600 * TICKS_PER_SECOND),
            FreqUnit::Minute => Step::Ticks(n * 60 * TICKS_PER_SECOND),
            FreqUnit::Second => Step::Ticks(n * TICKS_PER_SECOND),
        }
    }

    /// Where xarray's `resample` starts its bins for data whose first time is
    /// `first`: midnight of `first`'s day for `D`, `h`, `min`, `s` (pandas'
    /// `origin="start_day"`), else the start of the single period holding
    /// `first` (`2MS` from 2000-03-15 starts 2000-03-01 and steps two months).
    /// Pass it to [`DateTime::floor_from`].
    pub fn origin(&self, first: &DateTime) -> Result<DateTime> {
        let single = Freq { n: 1, ..*self };
        match self.step() {
            Step::Months { .. } => first.floor_to(&single),
            Step::Ticks(_) => first.floor_to(&Freq {
                n: 1,
                unit: FreqUnit::Day,
            }),
        }
    }
}

impl fmt::Display for Freq {
    /// pandas' spelling: `MS`, `2MS`, `QS-DEC`, `YS-JAN`, `D`, `3h`, `min`, `s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.n != 1 {
            write!(f, "{}", self.n)?;
        }
        match self.unit {
            FreqUnit::MonthStart => f.write_str("MS"),
            FreqUnit::QuarterStart { first_month } => {
                write!(f, "QS-{}", MONTHS[usize::from(first_month) - 1])
            }
            FreqUnit::YearStart { month } => write!(f, "YS-{}", MONTHS[usize::from(month) - 1]),
            FreqUnit::Day => f.write_str("D"),
            FreqUnit::Hour => f.write_str("h"),
            FreqUnit::Minute => f.write_str("min"),
            FreqUnit::Second => f.write_str("s"),
        }
    }
}

impl DateTime {
    /// The start of the `freq` period holding this date: `MS` the month's first
    /// day, `QS-DEC` the first day of its DJF/MAM/JJA/SON quarter (1999-12-01
    /// for 2000-01-15), `YS` January 1st, `D` midnight, `h` the hour.
    ///
    /// Multiples count from fixed origins: month-based ones from January of
    /// year 0 (`2MS` starts in odd months, `2YS` in even years), fixed ones
    /// from 1970-01-01T00:00:00 (so `3h` starts at 00, 03, ... 21h, and `2D`
    /// on even day numbers). For resample bins that start at the data, use
    /// [`Freq::origin`] and [`DateTime::floor_from`].
    ///
    /// An [`Error::Plan`] only if the start is out of range.
    pub fn floor_to(&self, freq: &Freq) -> Result<DateTime> {
        match freq.step() {
            Step::Months { step, offset } => self.floor_months(step, offset),
            Step::Ticks(step) => self.floor_ticks(step, 0),
        }
    }

    /// The start of the `freq` period holding this date, periods counted from
    /// `origin` (of the same calendar): for month-based frequencies from the
    /// month of `origin`, for fixed ones from `origin` itself.
    pub fn floor_from(&self, freq: &Freq, origin: &DateTime) -> Result<DateTime> {
        if origin.calendar != self.calendar {
            return Err(Error::Plan(format!(
                "the origin {origin} is of the {} calendar, the date {self} of {}",
                origin.calendar, self.calendar
            )));
        }
        match freq.step() {
            Step::Months { step, .. } => self.floor_months(step, origin.month_index()),
            Step::Ticks(step) => self.floor_ticks(step, origin.to_ticks()),
        }
    }

    fn floor_months(&self, step: i64, offset: i64) -> Result<DateTime> {
        let offset = offset.rem_euclid(step);
        let mi = self.month_index();
        DateTime::month_start(
            self.calendar,
            offset + (mi - offset).div_euclid(step) * step,
        )
    }

    fn floor_ticks(&self, step: i64, origin: i64) -> Result<DateTime> {
        let t = i128::from(self.to_ticks());
        let o = i128::from(origin);
        let floor = o + (t - o).div_euclid(i128::from(step)) * i128::from(step);
        i64::try_from(floor)
            .map(|f| DateTime::from_ticks(f, self.calendar))
            .map_err(|_| {
                Error::Plan(format!(
                    "the start of the {step}-microsecond period holding {self} is out of range"
                ))
            })
    }

    /// The date `n` periods of `freq` later (earlier if `n < 0`). Month-based
    /// frequencies keep the day (cut to the new month's length: 01-31 plus
    /// `MS` is 02-28 or 02-29) and the time; fixed ones add their length, so
    /// in the standard calendar 1582-10-04 plus `D` is 1582-10-15.
    ///
    /// An [`Error::Plan`] if the result is out of range or a day the standard
    /// calendar skipped (1582-10-05 to 14).
    pub fn add(&self, freq: &Freq, n: i64) -> Result<DateTime> {
        let overflow = || Error::Plan(format!("{self} plus {n} x {freq} is out of range"));
        match freq.step() {
            Step::Months { step, .. } => self.add_months(n.checked_mul(step).ok_or_else(overflow)?),
            Step::Ticks(step) => self.add_ticks(n.checked_mul(step).ok_or_else(overflow)?),
        }
    }
}
