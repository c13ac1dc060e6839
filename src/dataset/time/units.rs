//! CF time units (`days since 2000-01-01`) and the date text they share with
//! selection strings (`2000-03`, `2000-03-01T06:00`).

use super::{Calendar, DateTime, Fields, TICKS_PER_SECOND};
use crate::error::{Error, Result};
use std::fmt;

/// The unit of a CF time variable's numbers, the part before `since`.
///
/// The names are cftime's: `days` (`day`, `d`), `hours` (`hour`, `hrs`, `hr`,
/// `h`), `minutes` (`minute`, `mins`, `min`), `seconds` (`second`, `secs`,
/// `sec`, `s`), `milliseconds` (`msec`, `ms`, ...), `microseconds`
/// (`microsec`, ...); `months` (30 days) only with the 360_day calendar and
/// `common_years` (365 days) only with noleap.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TimeUnit {
    Microseconds,
    Milliseconds,
    Seconds,
    Minutes,
    Hours,
    Days,
    /// 30 days; the 360_day calendar only.
    Months,
    /// 365 days; the noleap calendar only.
    CommonYears,
}

impl TimeUnit {
    /// The unit a name stands for, case-insensitive; `None` if unknown.
    pub fn parse(name: &str) -> Option<TimeUnit> {
        Some(match name.to_ascii_lowercase().as_str() {
            "microseconds" | "microsecond" | "microsecs" | "microsec" | "usec" | "us" => {
                TimeUnit::Microseconds
            }
            "milliseconds" | "millisecond" | "millisecs" | "millisec" | "msecs" | "msec" | "ms" => {
                TimeUnit::Milliseconds
            }
            "seconds" | "second" | "secs" | "sec" | "s" => TimeUnit::Seconds,
            "minutes" | "minute" | "mins" | "min" => TimeUnit::Minutes,
            "hours" | "hour" | "hrs" | "hr" | "h" => TimeUnit::Hours,
            "days" | "day" | "d" => TimeUnit::Days,
            "months" | "month" => TimeUnit::Months,
            "common_years" | "common_year" => TimeUnit::CommonYears,
            _ => return None,
        })
    }

    /// The plural name written in units strings (`days`).
    pub fn name(self) -> &'static str {
        match self {
            TimeUnit::Microseconds => "microseconds",
            TimeUnit::Milliseconds => "milliseconds",
            TimeUnit::Seconds => "seconds",
            TimeUnit::Minutes => "minutes",
            TimeUnit::Hours => "hours",
            TimeUnit::Days => "days",
            TimeUnit::Months => "months",
            TimeUnit::CommonYears => "common_years",
        }
    }

    /// Length in microseconds (ticks), if the unit exists in `cal`.
    pub fn ticks(self, cal: Calendar) -> Result<i64> {
        const DAY: i64 = 86_400 * TICKS_PER_SECOND;
        Ok(match self {
            TimeUnit::Microseconds => 1,
            TimeUnit::Milliseconds => 1_000,
            TimeUnit::Seconds => TICKS_PER_SECOND,
            TimeUnit::Minutes => 60 * TICKS_PER_SECOND,
            TimeUnit::Hours => 3_600 * TICKS_PER_SECOND,
            TimeUnit::Days => DAY,
            TimeUnit::Months if cal == Calendar::Day360 => 30 * DAY,
            TimeUnit::CommonYears if cal == Calendar::NoLeap => 365 * DAY,
            TimeUnit::Months | TimeUnit::CommonYears => {
                return Err(Error::Io(format!(
                    "time unit '{}' is only defined for the {} calendar, not {}",
                    self.name(),
                    if self == TimeUnit::Months {
                        "360_day"
                    } else {
                        "noleap"
                    },
                    cal.name()
                )))
            }
        })
    }
}

impl fmt::Display for TimeUnit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A CF `units` attribute of a time variable: `<unit> since <reference>`.
///
/// The reference is kept as written (it is only a date once a calendar is
/// known, see [`CfUnits::reference`]), with an optional UTC offset
/// (`Z`, `UTC`, `+05:30`, `-6:00`) that decoding subtracts, as cftime does.
///
/// # Example
/// ```
/// use chunkwise::dataset::time::{CfUnits, Calendar, TimeUnit};
/// let u = CfUnits::parse("hours since 1999-12-31 18:00:00").unwrap();
/// assert_eq!(u.unit(), TimeUnit::Hours);
/// assert_eq!(u.reference(Calendar::Standard).unwrap().to_string(), "1999-12-31T18:00:00");
/// assert_eq!(u.to_string(), "hours since 1999-12-31 18:00:00");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CfUnits {
    unit: TimeUnit,
    reference: Fields,
    /// Minutes east of UTC of the reference time.
    utc_offset_minutes: i32,
}

impl CfUnits {
    /// Parses a units attribute such as `days since 2000-01-01`,
    /// `seconds since 1970-01-01T00:00:00Z` or `minutes since 2000-1-1 0:0:0`.
    ///
    /// Errors are [`Error::Io`] naming the string (the caller adds the file
    /// and variable).
    pub fn parse(s: &str) -> Result<CfUnits> {
        let bad = |why: &str| {
            Error::Io(format!(
                "time units '{s}' cannot be decoded: {why} (expected '<unit> since <date>', \
                 e.g. 'days since 2000-01-01' or 'hours since 1999-12-31 18:00:00')"
            ))
        };
        let t = s.trim();
        let (unit_name, rest) = t
            .split_once(char::is_whitespace)
            .ok_or_else(|| bad("no 'since'"))?;
        let rest = rest.trim_start();
        let (since, date) = rest.split_at(rest.find(char::is_whitespace).unwrap_or(rest.len()));
        if !since.eq_ignore_ascii_case("since") {
            return Err(bad("no 'since' after the unit"));
        }
        let unit = TimeUnit::parse(unit_name).ok_or_else(|| {
            bad(&format!(
                "unknown unit '{unit_name}' (known: days, hours, minutes, seconds, \
                 milliseconds, microseconds, and months for 360_day, common_years for noleap)"
            ))
        })?;
        let p = parse_date_text(date.trim(), true).map_err(|why| bad(&why))?;
        Ok(CfUnits {
            unit,
            reference: p.fields,
            utc_offset_minutes: p.utc_offset_minutes,
        })
    }

    /// Units counting `unit` from `reference` (in UTC).
    pub fn new(unit: TimeUnit, reference: &DateTime) -> CfUnits {
        CfUnits {
            unit,
            reference: reference.fields(),
            utc_offset_minutes: 0,
        }
    }

    /// The unit of the numbers.
    pub fn unit(&self) -> TimeUnit {
        self.unit
    }

    /// The reference time as a date of `cal`, in UTC (the offset written in
    /// the units is subtracted). An [`Error::Io`] if the date does not exist in
    /// `cal` (`2000-02-30` outside 360_day, year 0 in standard or julian —
    /// cftime refuses that too).
    pub fn reference(&self, cal: Calendar) -> Result<DateTime> {
        let local = DateTime::from_fields(cal, &self.reference).map_err(|why| {
            Error::Io(format!(
                "the reference date of time units '{self}' is not a date of the {} calendar: {why}",
                cal.name()
            ))
        })?;
        if self.utc_offset_minutes == 0 {
            return Ok(local);
        }
        let shift = i64::from(self.utc_offset_minutes) * 60 * TICKS_PER_SECOND;
        local
            .to_ticks()
            .checked_sub(shift)
            .map(|t| DateTime::from_ticks(t, cal))
            .ok_or_else(|| {
                Error::Io(format!(
                    "the reference date of time units '{self}' is out of range"
                ))
            })
    }
}

impl fmt::Display for CfUnits {
    /// `days since 2000-01-01 00:00:00`, the offset appended when not zero.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = &self.reference;
        write!(f, "{} since ", self.unit)?;
        write_year(f, r.year)?;
        write!(
            f,
            "-{:02}-{:02} {:02}:{:02}:{:02}",
            r.month, r.day, r.hour, r.minute, r.second
        )?;
        if r.microsecond != 0 {
            write!(f, ".{:06}", r.microsecond)?;
        }
        let o = self.utc_offset_minutes;
        if o != 0 {
            let sign = if o < 0 { '-' } else { '+' };
            write!(f, " {sign}{:02}:{:02}", o.abs() / 60, o.abs() % 60)?;
        }
        Ok(())
    }
}

/// Writes a year with at least four digits, `-` before negative years.
pub(super) fn write_year(f: &mut fmt::Formatter<'_>, year: i64) -> fmt::Result {
    if year < 0 {
        write!(f, "-{:04}", year.unsigned_abs())
    } else {
        write!(f, "{year:04}")
    }
}

/// How much of a date text gave: the period a partial date stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Resolution {
    Year,
    Month,
    Day,
    Hour,
    Minute,
    Second,
    Microsecond,
}

/// A date read from text: fields (missing ones at their start: month 1, day 1,
/// 00:00:00), the resolution written, and the UTC offset in minutes.
#[derive(Debug)]
pub(super) struct DateText {
    pub fields: Fields,
    pub resolution: Resolution,
    pub utc_offset_minutes: i32,
}

/// Reads `[±]Y[-M[-D[(T| )h[:m[:s[.f]]]]]]`, then, if `allow_offset`, an
/// optional `Z`, `UTC`, `GMT` or `±h[h][[:]mm]`. Numbers are not range-checked
/// here (that needs the calendar); fractions beyond microseconds are cut.
pub(super) fn parse_date_text(
    s: &str,
    allow_offset: bool,
) -> std::result::Result<DateText, String> {
    let mut c = Cursor {
        b: s.as_bytes(),
        i: 0,
    };
    let negative = c.eat(b'-');
    if !negative {
        c.eat(b'+');
    }
    let year = c.number(1, 9).ok_or("expected a year")?;
    let mut fields = Fields {
        year: if negative {
            -(year as i64)
        } else {
            year as i64
        },
        month: 1,
        day: 1,
        hour: 0,
        minute: 0,
        second: 0,
        microsecond: 0,
    };
    let mut resolution = Resolution::Year;
    if c.eat(b'-') {
        fields.month = c.number(1, 2).ok_or("expected a month after the year")? as u32;
        resolution = Resolution::Month;
        if c.eat(b'-') {
            fields.day = c.number(1, 2).ok_or("expected a day after the month")? as u32;
            resolution = Resolution::Day;
            let before_time = c.i;
            if c.eat(b'T') || c.eat(b't') || c.eat_spaces() {
                match c.number(1, 2) {
                    Some(h) => {
                        fields.hour = h as u32;
                        resolution = Resolution::Hour;
                        if c.eat(b':') {
                            fields.minute =
                                c.number(1, 2).ok_or("expected minutes after ':'")? as u32;
                            resolution = Resolution::Minute;
                            if c.eat(b':') {
                                fields.second =
                                    c.number(1, 2).ok_or("expected seconds after ':'")? as u32;
                                resolution = Resolution::Second;
                                if c.eat(b'.') {
                                    fields.microsecond =
                                        c.fraction().ok_or("expected digits after '.'")?;
                                    resolution = Resolution::Microsecond;
                                }
                            }
                        }
                    }
                    // `2000-01-01 -6:00`: the space led to an offset, not a time.
                    None => c.i = before_time,
                }
            }
        }
    }
    let mut utc_offset_minutes = 0;
    c.eat_spaces();
    let digit_next = c.b.get(c.i).is_some_and(u8::is_ascii_digit);
    if !c.done() && allow_offset && !digit_next {
        utc_offset_minutes = c.utc_offset().ok_or("unreadable time zone")?;
        c.eat_spaces();
    }
    if !c.done() {
        return Err(format!("unexpected text '{}'", &s[c.i..]));
    }
    Ok(DateText {
        fields,
        resolution,
        utc_offset_minutes,
    })
}

/// A position in ASCII text being read.
struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn done(&self) -> bool {
        self.i >= self.b.len()
    }

    fn eat(&mut self, ch: u8) -> bool {
        let hit = self.b.get(self.i) == Some(&ch);
        self.i += usize::from(hit);
        hit
    }

    fn eat_spaces(&mut self) -> bool {
        let start = self.i;
        while self.b.get(self.i).is_some_and(|b| b.is_ascii_whitespace()) {
            self.i += 1;
        }
        self.i > start
    }

    fn eat_word(&mut self, word: &str) -> bool {
        let end = self.i + word.len();
        let hit = self
            .b
            .get(self.i..end)
            .is_some_and(|w| w.eq_ignore_ascii_case(word.as_bytes()));
        if hit {
            self.i = end;
        }
        hit
    }

    /// A run of `min..=max` digits (reading stops after `max`); `None`
    /// (nothing consumed) if there are fewer than `min`.
    fn number(&mut self, min: usize, max: usize) -> Option<u64> {
        let start = self.i;
        let mut n = 0u64;
        while self.i - start < max {
            match self.b.get(self.i) {
                Some(d) if d.is_ascii_digit() => n = n * 10 + u64::from(d - b'0'),
                _ => break,
            }
            self.i += 1;
        }
        if self.i - start < min {
            self.i = start;
            return None;
        }
        Some(n)
    }

    /// Digits after a decimal point as microseconds (cut after six).
    fn fraction(&mut self) -> Option<u32> {
        let start = self.i;
        let mut us = 0u32;
        while let Some(d) = self.b.get(self.i).filter(|d| d.is_ascii_digit()) {
            if self.i - start < 6 {
                us = us * 10 + u32::from(d - b'0');
            }
            self.i += 1;
        }
        let len = self.i - start;
        (len > 0).then(|| us * 10u32.pow(6usize.saturating_sub(len) as u32))
    }

    /// `Z`, `UTC`, `GMT` or `±h[h][[:]mm]`, in minutes east of UTC.
    fn utc_offset(&mut self) -> Option<i32> {
        if self.eat(b'Z') || self.eat(b'z') || self.eat_word("UTC") || self.eat_word("GMT") {
            return Some(0);
        }
        let sign = if self.eat(b'+') {
            1
        } else if self.eat(b'-') {
            -1
        } else {
            return None;
        };
        let hours = self.number(1, 2)?;
        let minutes = if self.eat(b':') {
            self.number(2, 2)?
        } else {
            self.number(2, 2).unwrap_or(0)
        };
        (hours <= 23 && minutes <= 59).then(|| sign * (hours * 60 + minutes) as i32)
    }
}
