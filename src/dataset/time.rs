//! CF time: units like `days since 2000-01-01`, calendars, datetime components.
//!
//! The CF conventions store time as numbers counted in a unit from a reference
//! date, in one of several calendars; this module decodes them to [`DateTime`]s
//! and back with cftime's semantics (the library xarray uses for these
//! calendars), and gives xarray's `.dt` components, partial-date selection
//! ([`parse_period`]) and the periods of `resample`/`groupby` ([`Freq`]).
//!
//! Resolution is one microsecond, as in cftime. A date's [`DateTime::to_ticks`]
//! (microseconds since 1970-01-01 of its calendar) orders, compares and slices.
//!
//! # Example
//! ```
//! use chunkwise::dataset::time::{decode, encode, Calendar, CfUnits, DateTime, Freq};
//! let units = CfUnits::parse("days since 2000-01-01").unwrap();
//! let t = decode(&[0.0, 59.0], &units, Calendar::NoLeap).unwrap();
//! assert_eq!(t[1].to_string(), "2000-03-01T00:00:00");
//! assert_eq!(encode(&t, &units).unwrap(), vec![0.0, 59.0]);
//!
//! let jan = DateTime::parse("2000-01-15", Calendar::Standard).unwrap();
//! let qs = jan.floor_to(&Freq::parse("QS-DEC").unwrap()).unwrap();
//! assert_eq!(qs.to_string(), "1999-12-01T00:00:00");
//! assert_eq!(jan.season(), "DJF");
//! ```

mod days;
mod freq;
mod units;

#[cfg(test)]
mod tests;

pub use freq::{Freq, FreqUnit};
pub use units::{CfUnits, TimeUnit};

use crate::error::{Error, Result};
use std::fmt;
use units::Resolution;

/// Ticks (microseconds) per second: the resolution of [`DateTime`].
pub const TICKS_PER_SECOND: i64 = 1_000_000;
const TICKS_PER_DAY: i64 = 86_400 * TICKS_PER_SECOND;

/// A CF calendar (the `calendar` attribute of a time variable).
///
/// Years before 1 follow cftime's defaults (CF 1.9): the standard and Julian
/// calendars have no year 0 (1 BC is year -1); proleptic Gregorian (as ISO
/// 8601) and the idealized calendars have one.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
)]
pub enum Calendar {
    /// `standard` or `gregorian`: Julian up to 1582-10-04, followed by
    /// 1582-10-15 and Gregorian from then on; the default.
    #[default]
    Standard,
    /// `proleptic_gregorian`: Gregorian rules for all years.
    ProlepticGregorian,
    /// `noleap` or `365_day`: no February 29th.
    NoLeap,
    /// `all_leap` or `366_day`: a February 29th every year.
    AllLeap,
    /// `360_day`: twelve months of 30 days.
    Day360,
    /// `julian`: a leap year every four years.
    Julian,
}

impl Calendar {
    /// Every calendar, in declaration order.
    pub const ALL: [Calendar; 6] = [
        Calendar::Standard,
        Calendar::ProlepticGregorian,
        Calendar::NoLeap,
        Calendar::AllLeap,
        Calendar::Day360,
        Calendar::Julian,
    ];

    /// The calendar a CF `calendar` attribute names, case-insensitive
    /// (`gregorian` is `standard`, `365_day` is `noleap`, `366_day` is
    /// `all_leap`). An [`Error::Io`] for other names.
    ///
    /// ```
    /// use chunkwise::dataset::time::Calendar;
    /// assert_eq!(Calendar::parse("Gregorian").unwrap(), Calendar::Standard);
    /// assert_eq!(Calendar::parse("365_day").unwrap().name(), "noleap");
    /// assert!(Calendar::parse("lunar").is_err());
    /// ```
    pub fn parse(s: &str) -> Result<Calendar> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "standard" | "gregorian" => Calendar::Standard,
            "proleptic_gregorian" => Calendar::ProlepticGregorian,
            "noleap" | "365_day" => Calendar::NoLeap,
            "all_leap" | "366_day" => Calendar::AllLeap,
            "360_day" => Calendar::Day360,
            "julian" => Calendar::Julian,
            _ => {
                return Err(Error::Io(format!(
                    "unknown calendar '{s}' (known: standard, gregorian, proleptic_gregorian, \
                     noleap, 365_day, all_leap, 366_day, 360_day, julian)"
                )))
            }
        })
    }

    /// The calendar of a variable's `calendar` attribute, [`Calendar::Standard`]
    /// when there is none (as CF says).
    pub fn from_attribute(attr: Option<&str>) -> Result<Calendar> {
        attr.map_or(Ok(Calendar::Standard), Calendar::parse)
    }

    /// The CF name (`standard`, `proleptic_gregorian`, `noleap`, `all_leap`,
    /// `360_day`, `julian`).
    pub fn name(self) -> &'static str {
        match self {
            Calendar::Standard => "standard",
            Calendar::ProlepticGregorian => "proleptic_gregorian",
            Calendar::NoLeap => "noleap",
            Calendar::AllLeap => "all_leap",
            Calendar::Day360 => "360_day",
            Calendar::Julian => "julian",
        }
    }

    /// Whether the calendar's days are days of the world (standard, proleptic
    /// Gregorian, Julian), so that a weekday means something.
    pub fn is_real_world(self) -> bool {
        matches!(
            self,
            Calendar::Standard | Calendar::ProlepticGregorian | Calendar::Julian
        )
    }

    /// Whether `year` has 366 days (never for 360_day; false for a year 0
    /// that does not exist).
    pub fn is_leap_year(self, year: i32) -> bool {
        (year != 0 || self.has_year_zero()) && days::is_leap(self, self.astronomical(year.into()))
    }

    fn has_year_zero(self) -> bool {
        !matches!(self, Calendar::Standard | Calendar::Julian)
    }

    /// The astronomical year (with a year 0) of a year as this calendar numbers it.
    fn astronomical(self, year: i64) -> i64 {
        if year < 0 && !self.has_year_zero() {
            year + 1
        } else {
            year
        }
    }

    /// The inverse of [`Calendar::astronomical`].
    fn historical(self, astronomical: i64) -> i64 {
        if astronomical <= 0 && !self.has_year_zero() {
            astronomical - 1
        } else {
            astronomical
        }
    }
}

impl fmt::Display for Calendar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The fields of a date and time before they are checked against a calendar.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Fields {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    microsecond: u32,
}

/// A date and time of a CF calendar, to the microsecond, in UTC.
///
/// Invariant: the fields name a date that exists in `calendar` (no
/// 2000-02-30 outside 360_day, no year 0 in standard or julian, nothing from
/// 1582-10-05 to 1582-10-14 in standard), hour < 24, minute < 60, second < 60,
/// microsecond < 10^6, and [`DateTime::to_ticks`] fits in an `i64` (about
/// 292,000 years either side of 1970).
///
/// Equality and hashing include the calendar. Ordering is chronological among
/// dates of one calendar (fields first, calendar last).
///
/// # Example
/// ```
/// use chunkwise::dataset::time::{Calendar, DateTime};
/// let d = DateTime::new(Calendar::Day360, 2000, 2, 30, 12, 0, 0).unwrap();
/// assert_eq!(d.to_string(), "2000-02-30T12:00:00");
/// assert_eq!(d.dayofyear(), 60);
/// assert!(DateTime::from_ymd(Calendar::NoLeap, 2000, 2, 29).is_err());
/// ```
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct DateTime {
    year: i32,
    month: u8,
    day: u8,
    hour: u8,
    minute: u8,
    second: u8,
    microsecond: u32,
    calendar: Calendar,
}

impl DateTime {
    /// The date and time given, if it exists in `cal`; an [`Error::Plan`] saying
    /// which field is wrong otherwise.
    pub fn new(
        cal: Calendar,
        year: i32,
        month: u32,
        day: u32,
        hour: u32,
        minute: u32,
        second: u32,
    ) -> Result<DateTime> {
        let f = Fields {
            year: year.into(),
            month,
            day,
            hour,
            minute,
            second,
            microsecond: 0,
        };
        DateTime::from_fields(cal, &f).map_err(Error::Plan)
    }

    /// Midnight of the date given; see [`DateTime::new`].
    pub fn from_ymd(cal: Calendar, year: i32, month: u32, day: u32) -> Result<DateTime> {
        DateTime::new(cal, year, month, day, 0, 0, 0)
    }

    /// The same time with the microsecond field set (0..10^6).
    pub fn with_microsecond(self, microsecond: u32) -> Result<DateTime> {
        let f = Fields {
            microsecond,
            ..self.fields()
        };
        DateTime::from_fields(self.calendar, &f).map_err(Error::Plan)
    }

    /// Checks the fields against the invariant; the reason if they break it.
    fn from_fields(cal: Calendar, f: &Fields) -> std::result::Result<DateTime, String> {
        if f.year.abs() > 300_000 {
            return Err(format!("year {} is out of range", f.year));
        }
        if f.year == 0 && !cal.has_year_zero() {
            return Err(format!(
                "year 0 does not exist in the {cal} calendar (the year before 1 is -1)"
            ));
        }
        let y = cal.astronomical(f.year);
        if !(1..=12).contains(&f.month) {
            return Err(format!("month {} is not in 1..=12", f.month));
        }
        let len = days::month_len(cal, y, f.month);
        if !(1..=len).contains(&f.day) {
            return Err(format!(
                "day {} is not in 1..={len}: month {} of {} has {len} days in the {cal} calendar",
                f.day, f.month, f.year
            ));
        }
        if cal == Calendar::Standard && (f.year, f.month) == (1582, 10) && (5..=14).contains(&f.day)
        {
            return Err(format!(
                "1582-10-{:02} does not exist in the standard calendar (1582-10-04 is followed \
                 by 1582-10-15); use proleptic_gregorian or julian for it",
                f.day
            ));
        }
        if f.hour > 23 || f.minute > 59 || f.second > 59 || f.microsecond > 999_999 {
            return Err(format!(
                "time {:02}:{:02}:{:02}.{:06} is not a time of day",
                f.hour, f.minute, f.second, f.microsecond
            ));
        }
        let tod = (i64::from(f.hour) * 3600 + i64::from(f.minute) * 60 + i64::from(f.second))
            * TICKS_PER_SECOND
            + i64::from(f.microsecond);
        days::days(cal, y, f.month, f.day)
            .checked_mul(TICKS_PER_DAY)
            .and_then(|t| t.checked_add(tod))
            .ok_or_else(|| {
                format!(
                    "year {} is too far from 1970 (about 292,000 years at most)",
                    f.year
                )
            })?;
        Ok(DateTime {
            // Fits: |year| <= 300_000 was checked above.
            year: f.year as i32,
            month: f.month as u8,
            day: f.day as u8,
            hour: f.hour as u8,
            minute: f.minute as u8,
            second: f.second as u8,
            microsecond: f.microsecond,
            calendar: cal,
        })
    }

    fn fields(&self) -> Fields {
        Fields {
            year: self.year.into(),
            month: self.month.into(),
            day: self.day.into(),
            hour: self.hour.into(),
            minute: self.minute.into(),
            second: self.second.into(),
            microsecond: self.microsecond,
        }
    }

    /// The date `ticks` microseconds after 1970-01-01T00:00:00 of `cal` (for
    /// the Julian calendar: after the day that is 1970-01-01 proleptic
    /// Gregorian, so real-world calendars share one scale).
    pub fn from_ticks(ticks: i64, cal: Calendar) -> DateTime {
        let day = ticks.div_euclid(TICKS_PER_DAY);
        let tod = ticks.rem_euclid(TICKS_PER_DAY);
        let (y, month, d) = days::date(cal, day);
        let secs = tod / TICKS_PER_SECOND;
        DateTime {
            // |year| < 300_000 for any i64 of microseconds.
            year: cal.historical(y) as i32,
            month: month as u8,
            day: d as u8,
            hour: (secs / 3600) as u8,
            minute: (secs / 60 % 60) as u8,
            second: (secs % 60) as u8,
            microsecond: (tod % TICKS_PER_SECOND) as u32,
            calendar: cal,
        }
    }

    /// Microseconds since 1970-01-01T00:00:00 of the calendar (see
    /// [`DateTime::from_ticks`]): increasing with time, for sorting,
    /// searching and slicing.
    pub fn to_ticks(&self) -> i64 {
        self.day_number() * TICKS_PER_DAY
            + (i64::from(self.hour) * 3600 + i64::from(self.minute) * 60 + i64::from(self.second))
                * TICKS_PER_SECOND
            + i64::from(self.microsecond)
    }

    fn day_number(&self) -> i64 {
        let y = self.calendar.astronomical(self.year.into());
        days::days(self.calendar, y, self.month.into(), self.day.into())
    }

    /// The start of the period a full or partial date names: `2000` is
    /// 2000-01-01T00:00:00. See [`parse_period`] for the forms read.
    pub fn parse(s: &str, cal: Calendar) -> Result<DateTime> {
        parse_period(s, cal).map(|(start, _)| start)
    }

    /// The period a full or partial date names, `(start, end)` with `end`
    /// excluded; the same as [`parse_period`].
    pub fn parse_period(s: &str, cal: Calendar) -> Result<(DateTime, DateTime)> {
        parse_period(s, cal)
    }

    /// The calendar.
    pub fn calendar(&self) -> Calendar {
        self.calendar
    }
    /// The year (no year 0 in standard and julian: 1 BC is -1).
    pub fn year(&self) -> i32 {
        self.year
    }
    /// The month, 1..=12.
    pub fn month(&self) -> u32 {
        self.month.into()
    }
    /// The day of the month, from 1.
    pub fn day(&self) -> u32 {
        self.day.into()
    }
    /// The hour, 0..24.
    pub fn hour(&self) -> u32 {
        self.hour.into()
    }
    /// The minute, 0..60.
    pub fn minute(&self) -> u32 {
        self.minute.into()
    }
    /// The second, 0..60.
    pub fn second(&self) -> u32 {
        self.second.into()
    }
    /// The microsecond, 0..10^6.
    pub fn microsecond(&self) -> u32 {
        self.microsecond
    }

    /// The day of the year, 1 on January 1st (up to 360, 365 or 366 by
    /// calendar). As cftime's `dayofyr`, it counts the month table, so in the
    /// standard calendar 1582-10-15 is day 288 although ten days were skipped.
    pub fn dayofyear(&self) -> u32 {
        let y = self.calendar.astronomical(self.year.into());
        let month = u32::from(self.month);
        (1..month)
            .map(|m| days::month_len(self.calendar, y, m))
            .sum::<u32>()
            + u32::from(self.day)
    }

    /// The day of the week, Monday = 0 to Sunday = 6 (xarray's `dayofweek`).
    /// Only for the real-world calendars; an [`Error::Plan`] for noleap,
    /// all_leap and 360_day, whose days are not days of the world.
    pub fn dayofweek(&self) -> Result<u32> {
        if !self.calendar.is_real_world() {
            return Err(Error::Plan(format!(
                "dayofweek is not defined for the {} calendar, whose days are not days of the \
                 world (only for standard, proleptic_gregorian and julian)",
                self.calendar
            )));
        }
        // Day 0, 1970-01-01, was a Thursday.
        Ok((self.day_number() + 3).rem_euclid(7) as u32)
    }

    /// The meteorological season: `DJF`, `MAM`, `JJA` or `SON`.
    pub fn season(&self) -> &'static str {
        match self.month {
            12 | 1 | 2 => "DJF",
            3..=5 => "MAM",
            6..=8 => "JJA",
            _ => "SON",
        }
    }

    /// The number of days in the date's month (as cftime's `daysinmonth`, 31
    /// for October 1582 in the standard calendar, the ten skipped days
    /// included).
    pub fn days_in_month(&self) -> u32 {
        let y = self.calendar.astronomical(self.year.into());
        days::month_len(self.calendar, y, self.month.into())
    }

    /// Months since January of astronomical year 0: consecutive across years.
    fn month_index(&self) -> i64 {
        self.calendar.astronomical(self.year.into()) * 12 + i64::from(self.month) - 1
    }

    /// Midnight on the first day of the month with index `mi` (see
    /// [`DateTime::month_index`]).
    fn month_start(cal: Calendar, mi: i64) -> Result<DateTime> {
        DateTime::in_month(
            cal,
            mi,
            &Fields {
                year: 0,
                month: 0,
                day: 1,
                hour: 0,
                minute: 0,
                second: 0,
                microsecond: 0,
            },
        )
    }

    /// `f`'s day and time in the month with index `mi`, the day cut to the
    /// month's length.
    fn in_month(cal: Calendar, mi: i64, f: &Fields) -> Result<DateTime> {
        let y = mi.div_euclid(12);
        let month = (mi.rem_euclid(12) + 1) as u32;
        let day = f.day.min(days::month_len(cal, y, month));
        let f = Fields {
            year: cal.historical(y),
            month,
            day,
            ..*f
        };
        DateTime::from_fields(cal, &f).map_err(Error::Plan)
    }

    /// The date `n` months later (earlier if negative), keeping the day (cut to
    /// the month's length) and the time.
    fn add_months(&self, n: i64) -> Result<DateTime> {
        let mi = self
            .month_index()
            .checked_add(n)
            .ok_or_else(|| Error::Plan(format!("{self} plus {n} months is out of range")))?;
        DateTime::in_month(self.calendar, mi, &self.fields())
    }

    /// The date `n` ticks later (earlier if negative).
    fn add_ticks(&self, n: i64) -> Result<DateTime> {
        self.to_ticks()
            .checked_add(n)
            .map(|t| DateTime::from_ticks(t, self.calendar))
            .ok_or_else(|| Error::Plan(format!("{self} plus {n} microseconds is out of range")))
    }
}

impl fmt::Display for DateTime {
    /// ISO 8601 as numpy prints datetime64: `2000-01-01T00:00:00`, with
    /// `.ffffff` only when the microseconds are not zero.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        units::write_year(f, self.year.into())?;
        write!(
            f,
            "-{:02}-{:02}T{:02}:{:02}:{:02}",
            self.month, self.day, self.hour, self.minute, self.second
        )?;
        if self.microsecond != 0 {
            write!(f, ".{:06}", self.microsecond)?;
        }
        Ok(())
    }
}

/// The period a full or partial date names, as `(start, end)` with `end`
/// excluded: `2000` is the year 2000, `2000-03` March, `2000-03-01` one day,
/// `2000-03-01T06` one hour, `2000-03-01 06:00` one minute, down to
/// `2000-03-01T06:00:00.5` (one microsecond). This is xarray's partial-date
/// indexing: `sel(time=slice("2000-03-01", "2000-05-31"))` keeps times `t` with
/// `start("2000-03-01") <= t < end("2000-05-31")`.
///
/// An [`Error::Plan`] naming the string if it is not such a date of `cal`.
///
/// # Example
/// ```
/// use chunkwise::dataset::time::{parse_period, Calendar};
/// let (start, end) = parse_period("2000-02", Calendar::Day360).unwrap();
/// assert_eq!((start.to_string(), end.to_string()),
///            ("2000-02-01T00:00:00".into(), "2000-03-01T00:00:00".into()));
/// assert!(parse_period("2000-02-30", Calendar::Standard).is_err());
/// ```
pub fn parse_period(s: &str, cal: Calendar) -> Result<(DateTime, DateTime)> {
    let text = units::parse_date_text(s.trim(), false).map_err(|why| {
        Error::Plan(format!(
            "cannot read '{s}' as a date: {why} (expected e.g. 2000, 2000-03, 2000-03-01, \
             2000-03-01T06, 2000-03-01 06:00 or 2000-03-01T06:00:00)"
        ))
    })?;
    let start = DateTime::from_fields(cal, &text.fields)
        .map_err(|why| Error::Plan(format!("'{s}' is not a date of the {cal} calendar: {why}")))?;
    let end = match text.resolution {
        Resolution::Year => start.add_months(12),
        Resolution::Month => start.add_months(1),
        Resolution::Day => start.add_ticks(TICKS_PER_DAY),
        Resolution::Hour => start.add_ticks(3600 * TICKS_PER_SECOND),
        Resolution::Minute => start.add_ticks(60 * TICKS_PER_SECOND),
        Resolution::Second => start.add_ticks(TICKS_PER_SECOND),
        Resolution::Microsecond => start.add_ticks(1),
    }?;
    Ok((start, end))
}

/// Turns numbers in `units` into ticks: the reference's ticks and the unit's.
struct Scale {
    reference: i64,
    unit: i64,
}

impl Scale {
    fn new(units: &CfUnits, cal: Calendar) -> Result<Scale> {
        Ok(Scale {
            reference: units.reference(cal)?.to_ticks(),
            unit: units.unit().ticks(cal)?,
        })
    }

    /// The ticks of value `v`, rounded to the microsecond, or to the whole
    /// second when that is within the float's own precision; `None` if `v` is
    /// not finite or out of range.
    fn ticks(&self, v: f64) -> Option<i64> {
        let whole = v.trunc();
        if !v.is_finite() || whole.abs() >= 9.0e18 {
            return None;
        }
        let base = (whole as i64).checked_mul(self.unit)?;
        let unit = self.unit as f64;
        let part = (v - whole) * unit; // the subtraction is exact
        let mut delta = base.checked_add(part.round_ties_even() as i64)?;
        // A float stands for every number within half a unit in its last place
        // of it; a whole second there is what the writer meant (cftime snaps
        // at one microsecond for the same reason).
        let a = v.abs();
        let half_ulp = (f64::from_bits(a.to_bits() + 1) - a) / 2.0 * unit;
        let r = delta.rem_euclid(TICKS_PER_SECOND);
        if r != 0 && half_ulp >= 0.5 {
            for second in [delta - r, delta - r + TICKS_PER_SECOND] {
                if ((second - base) as f64 - part).abs() <= half_ulp {
                    delta = second;
                }
            }
        }
        self.reference.checked_add(delta)
    }

    fn error(&self, v: f64, i: usize, units: &CfUnits) -> Error {
        let why = if v.is_finite() {
            "out of range"
        } else {
            "not finite (mask fill values before decoding)"
        };
        Error::Io(format!(
            "time value {v} at index {i} cannot be decoded with units '{units}': {why}"
        ))
    }
}

/// Dates of CF time values (cftime's `num2date`): `values` counted in `units`
/// in calendar `cal`, rounded to the microsecond, or to the whole second when
/// the float cannot tell them apart (within half a unit in its last place), so
/// that whole-second times written as `days` or `hours` come back exactly.
/// cftime snaps to the second at one microsecond for the same reason; the two
/// differ only where a float is that coarse.
///
/// An [`Error::Io`] for a reference date or unit that `cal` does not have, or
/// a value that is not finite or out of range (the caller adds the file and
/// variable).
pub fn decode(values: &[f64], units: &CfUnits, cal: Calendar) -> Result<Vec<DateTime>> {
    let scale = Scale::new(units, cal)?;
    values
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            scale
                .ticks(v)
                .map(|t| DateTime::from_ticks(t, cal))
                .ok_or_else(|| scale.error(v, i, units))
        })
        .collect()
}

/// Like [`decode`], to ticks ([`DateTime::to_ticks`]) instead of dates: what
/// an index over time keeps to search and slice.
pub fn decode_ticks(values: &[f64], units: &CfUnits, cal: Calendar) -> Result<Vec<i64>> {
    let scale = Scale::new(units, cal)?;
    values
        .iter()
        .enumerate()
        .map(|(i, &v)| scale.ticks(v).ok_or_else(|| scale.error(v, i, units)))
        .collect()
}

/// CF time values of `dates` in `units` (cftime's `date2num`), in the dates'
/// calendar: exact when a date is a whole number of units from the reference,
/// else the nearest float to the quotient. Decoding the result gives back
/// whole-second dates exactly (while a unit in the float's last place is under
/// a second: within about 10^5 years of the reference in days), and other
/// dates to the microsecond while the float has the digits.
///
/// An [`Error::Plan`] if the dates mix calendars; an [`Error::Io`] if the
/// reference date or the unit does not exist in their calendar.
pub fn encode(dates: &[DateTime], units: &CfUnits) -> Result<Vec<f64>> {
    let Some(first) = dates.first() else {
        return Ok(Vec::new());
    };
    let cal = first.calendar;
    let reference = units.reference(cal)?.to_ticks();
    let unit = units.unit().ticks(cal)?;
    dates
        .iter()
        .map(|d| {
            if d.calendar != cal {
                return Err(Error::Plan(format!(
                    "cannot encode dates of two calendars together ({} is {}, {first} is {cal})",
                    d, d.calendar
                )));
            }
            // Both ticks are within i64; their difference may not be.
            let delta = i128::from(d.to_ticks()) - i128::from(reference);
            let (q, r) = (delta / i128::from(unit), delta % i128::from(unit));
            Ok(q as f64 + r as f64 / unit as f64)
        })
        .collect()
}
