//! Day numbers of the CF calendars: a date to a count of days and back, leap
//! years and month lengths.
//!
//! Years here are astronomical (the year before 1 is 0); the caller converts
//! from the historical numbering of the standard and Julian calendars. Day 0 is
//! 1970-01-01 of the calendar, except that the three real-world calendars
//! (standard, proleptic Gregorian, Julian) share one scale of real days: day 0
//! is 1970-01-01 proleptic Gregorian, which is 1969-12-19 in the Julian
//! calendar. So a day number there is a day of the world, and `(days + 3) mod 7`
//! its weekday (Monday = 0).

use super::Calendar;

/// Days before each month in a year of 365 days; index 12 is the year's length.
pub(super) const BEFORE_MONTH_365: [u16; 13] =
    [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365];
/// Days before each month in a year of 366 days.
pub(super) const BEFORE_MONTH_366: [u16; 13] =
    [0, 31, 60, 91, 121, 152, 182, 213, 244, 274, 305, 335, 366];

/// Day number of 1582-10-15, the first Gregorian day of the standard calendar;
/// the day before it is 1582-10-04 (Julian).
pub(super) const GREGORIAN_START: i64 = -141_427;

/// Days from 0000-03-01 to 1970-01-01 in the proleptic Gregorian calendar.
const GREGORIAN_SHIFT: i64 = 719_468;
/// Days from Julian 0000-03-01 to the day 1970-01-01 (proleptic Gregorian).
const JULIAN_SHIFT: i64 = 719_470;

fn gregorian_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

/// Whether astronomical year `y` has 366 days (for 360_day: never).
pub(super) fn is_leap(cal: Calendar, y: i64) -> bool {
    match cal {
        Calendar::Standard if y > 1582 => gregorian_leap(y),
        Calendar::Standard | Calendar::Julian => y % 4 == 0,
        Calendar::ProlepticGregorian => gregorian_leap(y),
        Calendar::NoLeap | Calendar::Day360 => false,
        Calendar::AllLeap => true,
    }
}

/// Number of the days a month is labelled with (1..=len), astronomical year.
pub(super) fn month_len(cal: Calendar, y: i64, m: u32) -> u32 {
    if cal == Calendar::Day360 {
        return 30;
    }
    let before = if is_leap(cal, y) {
        &BEFORE_MONTH_366
    } else {
        &BEFORE_MONTH_365
    };
    u32::from(before[m as usize] - before[m as usize - 1])
}

/// Position of March-based month `m` in the year (0 = March).
fn march_day(m: u32, d: u32) -> i64 {
    let mp = if m > 2 { m - 3 } else { m + 9 };
    i64::from((153 * mp + 2) / 5 + d - 1)
}

/// Month and day from the day of a March-based year.
fn from_march_day(doy: i64) -> (i64, u32, u32) {
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = (if mp < 10 { mp + 3 } else { mp - 9 }) as u32;
    (i64::from(m <= 2), m, d)
}

fn gregorian_days(y: i64, m: u32, d: u32) -> i64 {
    let y = y - i64::from(m <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + march_day(m, d);
    era * 146_097 + doe - GREGORIAN_SHIFT
}

fn gregorian_date(z: i64) -> (i64, u32, u32) {
    let z = z + GREGORIAN_SHIFT;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let (carry, m, d) = from_march_day(doe - (365 * yoe + yoe / 4 - yoe / 100));
    (era * 400 + yoe + carry, m, d)
}

fn julian_days(y: i64, m: u32, d: u32) -> i64 {
    let y = y - i64::from(m <= 2);
    let era = y.div_euclid(4);
    let yoe = y - era * 4;
    era * 1461 + yoe * 365 + march_day(m, d) - JULIAN_SHIFT
}

fn julian_date(z: i64) -> (i64, u32, u32) {
    let z = z + JULIAN_SHIFT;
    let era = z.div_euclid(1461);
    let doe = z - era * 1461;
    let yoe = (doe - doe / 1460) / 365;
    let (carry, m, d) = from_march_day(doe - 365 * yoe);
    (era * 4 + yoe + carry, m, d)
}

/// Day number of a valid date (astronomical year) in `cal`.
pub(super) fn days(cal: Calendar, y: i64, m: u32, d: u32) -> i64 {
    let idx = m as usize - 1;
    match cal {
        Calendar::Standard if (y, m, d) >= (1582, 10, 15) => gregorian_days(y, m, d),
        Calendar::Standard | Calendar::Julian => julian_days(y, m, d),
        Calendar::ProlepticGregorian => gregorian_days(y, m, d),
        Calendar::NoLeap => (y - 1970) * 365 + i64::from(BEFORE_MONTH_365[idx]) + i64::from(d) - 1,
        Calendar::AllLeap => (y - 1970) * 366 + i64::from(BEFORE_MONTH_366[idx]) + i64::from(d) - 1,
        Calendar::Day360 => (y - 1970) * 360 + i64::from(m - 1) * 30 + i64::from(d) - 1,
    }
}

/// Date (astronomical year, month, day) of day number `z` in `cal`.
pub(super) fn date(cal: Calendar, z: i64) -> (i64, u32, u32) {
    match cal {
        Calendar::Standard if z >= GREGORIAN_START => gregorian_date(z),
        Calendar::Standard | Calendar::Julian => julian_date(z),
        Calendar::ProlepticGregorian => gregorian_date(z),
        Calendar::NoLeap => table_date(z, 365, &BEFORE_MONTH_365),
        Calendar::AllLeap => table_date(z, 366, &BEFORE_MONTH_366),
        Calendar::Day360 => {
            let r = z.rem_euclid(360);
            (
                1970 + z.div_euclid(360),
                (r / 30) as u32 + 1,
                (r % 30) as u32 + 1,
            )
        }
    }
}

/// Date in a calendar whose years all have `len` days, months as in `before`.
fn table_date(z: i64, len: i64, before: &[u16; 13]) -> (i64, u32, u32) {
    let doy = z.rem_euclid(len) as u16;
    // A month has at most 31 days, so doy / 32 is the month or the one before.
    let mut m = usize::from(doy / 32);
    if doy >= before[m + 1] {
        m += 1;
    }
    (
        1970 + z.div_euclid(len),
        m as u32 + 1,
        u32::from(doy - before[m]) + 1,
    )
}
