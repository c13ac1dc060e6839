//! Checked against references that share no code with the module: a day-by-day
//! walk that applies each calendar's rules, Julian Day numbers of known dates,
//! known weekdays, and values cftime gives.

use super::*;
use proptest::prelude::*;

const ALL: [Calendar; 6] = Calendar::ALL;

fn units(s: &str) -> CfUnits {
    CfUnits::parse(s).unwrap()
}

fn dt(s: &str, cal: Calendar) -> DateTime {
    DateTime::parse(s, cal).unwrap()
}

fn decode1(v: f64, u: &str, cal: Calendar) -> String {
    decode(&[v], &units(u), cal).unwrap()[0].to_string()
}

// ---- A naive walker: one day at a time, by the calendars' definitions. ----

fn gregorian_leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

/// Julian leap years with historical numbering: 1 BC (-1), 5 BC (-5), ...
fn julian_leap(y: i32) -> bool {
    if y < 0 {
        (y + 1) % 4 == 0
    } else {
        y % 4 == 0
    }
}

fn naive_month_len(cal: Calendar, y: i32, m: u32) -> u32 {
    let leap = match cal {
        Calendar::ProlepticGregorian => gregorian_leap(y),
        Calendar::Standard if y > 1582 => gregorian_leap(y),
        Calendar::Standard | Calendar::Julian => julian_leap(y),
        Calendar::NoLeap => false,
        Calendar::AllLeap => true,
        Calendar::Day360 => return 30,
    };
    match m {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn naive_next(cal: Calendar, (y, m, d): (i32, u32, u32)) -> (i32, u32, u32) {
    if cal == Calendar::Standard && (y, m, d) == (1582, 10, 4) {
        return (1582, 10, 15);
    }
    if d < naive_month_len(cal, y, m) {
        return (y, m, d + 1);
    }
    if m < 12 {
        return (y, m + 1, 1);
    }
    let no_zero = matches!(cal, Calendar::Standard | Calendar::Julian);
    (if y == -1 && no_zero { 1 } else { y + 1 }, 1, 1)
}

/// Every day from 0201 BC to about 1990 AD: decode, dayofyear, ticks,
/// encode and parse agree with the walk.
#[test]
fn decode_matches_a_day_by_day_walk_in_every_calendar() {
    let n = 800_000usize;
    let values: Vec<f64> = (0..n).map(|k| k as f64).collect();
    for cal in ALL {
        let u = units("days since -0201-01-01");
        let got = decode(&values, &u, cal).unwrap();
        let mut date = (-201, 1, 1);
        let mut doy = 1;
        let weekday0 = got[0].dayofweek();
        for (k, g) in got.iter().enumerate() {
            assert_eq!(
                (g.year(), g.month(), g.day()),
                date,
                "{cal}: day {k} since -0201-01-01"
            );
            assert_eq!(g.dayofyear(), doy, "{cal}: dayofyear of {g}");
            if let Ok(w0) = weekday0 {
                assert_eq!(
                    g.dayofweek().unwrap(),
                    (w0 + k as u32) % 7,
                    "{cal}: weekday of {g}"
                );
            }
            if k > 0 {
                assert_eq!(
                    g.to_ticks() - got[k - 1].to_ticks(),
                    86_400_000_000,
                    "{cal} {g}"
                );
            }
            let next = naive_next(cal, date);
            // dayofyear counts labels (cftime's dayofyr): the ten days the
            // standard calendar skipped in 1582 are counted.
            doy = if next.0 != date.0 {
                1
            } else if next.1 != date.1 {
                doy + 1
            } else {
                doy + next.2 - date.2
            };
            date = next;
        }
        assert_eq!(encode(&got, &u).unwrap(), values, "{cal}: encode");
        for g in got.iter().step_by(997) {
            assert_eq!(DateTime::parse(&g.to_string(), cal).unwrap(), *g);
        }
    }
}

#[test]
fn known_decodes_per_calendar() {
    let days = "days since 2000-01-01";
    // noleap: no 02-29, so day 59 is March 1st and a year is 365 days.
    assert_eq!(decode1(59.0, days, Calendar::NoLeap), "2000-03-01T00:00:00");
    assert_eq!(
        decode1(365.0, days, Calendar::NoLeap),
        "2001-01-01T00:00:00"
    );
    // 360_day: day 30 is February 1st, and February 30th exists.
    assert_eq!(decode1(30.0, days, Calendar::Day360), "2000-02-01T00:00:00");
    assert_eq!(decode1(59.0, days, Calendar::Day360), "2000-02-30T00:00:00");
    assert_eq!(
        decode1(360.0, days, Calendar::Day360),
        "2001-01-01T00:00:00"
    );
    // all_leap: every year has 02-29.
    assert_eq!(
        decode1(59.0, "days since 2001-01-01", Calendar::AllLeap),
        "2001-02-29T00:00:00"
    );
    // standard: 2000 is a leap year, 1900 is not (but is in julian).
    assert_eq!(
        decode1(59.0, days, Calendar::Standard),
        "2000-02-29T00:00:00"
    );
    assert_eq!(
        decode1(60.0, days, Calendar::Standard),
        "2000-03-01T00:00:00"
    );
    let d1900 = "days since 1900-01-01";
    assert_eq!(
        decode1(59.0, d1900, Calendar::Standard),
        "1900-03-01T00:00:00"
    );
    assert_eq!(
        decode1(59.0, d1900, Calendar::ProlepticGregorian),
        "1900-03-01T00:00:00"
    );
    assert_eq!(
        decode1(59.0, d1900, Calendar::Julian),
        "1900-02-29T00:00:00"
    );
    // Sub-day units and references.
    let h = "hours since 1999-12-31 18:00:00";
    assert_eq!(decode1(6.0, h, Calendar::Standard), "2000-01-01T00:00:00");
    assert_eq!(
        decode1(1.5, "minutes since 2000-1-1 0:0:0", Calendar::NoLeap),
        "2000-01-01T00:01:30"
    );
    assert_eq!(
        decode1(0.25, "days since 2000-01-01 00:00:00.0", Calendar::Day360),
        "2000-01-01T06:00:00"
    );
    assert_eq!(
        decode1(1500.0, "milliseconds since 2000-01-01", Calendar::Julian),
        "2000-01-01T00:00:01.500000"
    );
    assert_eq!(
        decode1(-1.0, "seconds since 2000-01-01", Calendar::Standard),
        "1999-12-31T23:59:59"
    );
    // Unix time.
    let unix = "seconds since 1970-01-01T00:00:00Z";
    assert_eq!(
        decode1(946_684_800.0, unix, Calendar::Standard),
        "2000-01-01T00:00:00"
    );
    assert_eq!(
        decode1(1e9, unix, Calendar::ProlepticGregorian),
        "2001-09-09T01:46:40"
    );
    // Units that only some calendars have.
    assert_eq!(
        decode1(1.0, "months since 2000-01-01", Calendar::Day360),
        "2000-02-01T00:00:00"
    );
    assert_eq!(
        decode1(2.0, "common_years since 2000-01-01", Calendar::NoLeap),
        "2002-01-01T00:00:00"
    );
    assert!(decode(
        &[1.0],
        &units("months since 2000-01-01"),
        Calendar::Standard
    )
    .is_err());
    assert!(decode(
        &[1.0],
        &units("common_years since 2000-01-01"),
        Calendar::Day360
    )
    .is_err());
}

/// Julian Day numbers are days since -4713-01-01 12:00 (Julian, no year 0):
/// JD 2451545.0 is 2000-01-01T12:00, JD 2299160.5 is 1582-10-15 (the first
/// Gregorian day), JD 2440587.5 the Unix epoch.
#[test]
fn julian_day_numbers_of_known_dates() {
    let jd = "days since -4713-01-01 12:00:00";
    assert_eq!(
        decode1(2_451_545.0, jd, Calendar::Standard),
        "2000-01-01T12:00:00"
    );
    assert_eq!(
        decode1(2_299_160.5, jd, Calendar::Standard),
        "1582-10-15T00:00:00"
    );
    assert_eq!(
        decode1(2_299_159.5, jd, Calendar::Standard),
        "1582-10-04T00:00:00"
    );
    assert_eq!(
        decode1(2_440_587.5, jd, Calendar::Standard),
        "1970-01-01T00:00:00"
    );
    // The same day in the Julian calendar is 13 days earlier by label.
    assert_eq!(
        decode1(2_451_545.0, jd, Calendar::Julian),
        "1999-12-19T12:00:00"
    );
    // JD 0 itself; proleptic Gregorian has a year 0, so 4713 BC is -4712.
    assert_eq!(decode1(0.0, jd, Calendar::Standard), "-4713-01-01T12:00:00");
    let epoch = dt("1970-01-01", Calendar::ProlepticGregorian);
    assert_eq!(
        DateTime::from_ticks(
            epoch.to_ticks() - 2_440_588 * 86_400_000_000,
            Calendar::ProlepticGregorian
        )
        .to_string(),
        "-4713-11-24T00:00:00"
    );
}

#[test]
fn standard_calendar_switches_in_1582() {
    let s = Calendar::Standard;
    assert_eq!(
        decode1(1.0, "days since 1582-10-04", s),
        "1582-10-15T00:00:00"
    );
    assert_eq!(
        decode1(-1.0, "days since 1582-10-15", s),
        "1582-10-04T00:00:00"
    );
    assert!(DateTime::from_ymd(s, 1582, 10, 10).is_err());
    assert!(DateTime::from_ymd(Calendar::ProlepticGregorian, 1582, 10, 10).is_ok());
    // 1500 is a Julian leap year: 02-29 exists in standard, not proleptic.
    assert!(DateTime::from_ymd(s, 1500, 2, 29).is_ok());
    assert!(DateTime::from_ymd(Calendar::ProlepticGregorian, 1500, 2, 29).is_err());
    // As cftime: dayofyear and days_in_month count the month table, skipped days included.
    assert_eq!(dt("1582-10-15", s).dayofyear(), 288);
    assert_eq!(dt("1582-10-20", s).dayofyear(), 293);
    assert_eq!(dt("1582-12-31", s).dayofyear(), 365);
    assert_eq!(dt("1582-10-20", s).days_in_month(), 31);
    let f = Freq::parse("D").unwrap();
    assert_eq!(
        dt("1582-10-04", s).add(&f, 1).unwrap().to_string(),
        "1582-10-15T00:00:00"
    );
    assert!(dt("1582-09-10", s)
        .add(&Freq::parse("MS").unwrap(), 1)
        .is_err());
}

#[test]
fn year_zero_as_cftime_numbers_it() {
    let day = Freq::parse("D").unwrap();
    // No year 0 in standard and julian: -1 (1 BC) is followed by 1.
    for cal in [Calendar::Standard, Calendar::Julian] {
        assert!(DateTime::from_ymd(cal, 0, 1, 1).is_err());
        let last_bc = DateTime::from_ymd(cal, -1, 12, 31).unwrap();
        assert_eq!(
            last_bc.add(&day, 1).unwrap().to_string(),
            "0001-01-01T00:00:00"
        );
        assert!(
            DateTime::from_ymd(cal, -1, 2, 29).is_ok(),
            "1 BC is a Julian leap year"
        );
        assert!(decode(&[0.0], &units("days since 0000-01-01"), cal).is_err());
    }
    for cal in [
        Calendar::ProlepticGregorian,
        Calendar::NoLeap,
        Calendar::Day360,
    ] {
        let last = DateTime::from_ymd(cal, 0, 12, 1)
            .unwrap()
            .add(&Freq::parse("MS").unwrap(), 1);
        assert_eq!(last.unwrap().to_string(), "0001-01-01T00:00:00");
    }
    assert!(Calendar::ProlepticGregorian.is_leap_year(0));
    assert!(!Calendar::Standard.is_leap_year(0));
    assert!(Calendar::Standard.is_leap_year(-1));
}

#[test]
fn utc_offsets_in_units_are_subtracted() {
    let s = Calendar::Standard;
    assert_eq!(
        decode1(0.0, "hours since 2000-01-01 00:00:00 +06:00", s),
        "1999-12-31T18:00:00"
    );
    assert_eq!(
        decode1(0.0, "hours since 2000-01-01 00:00:00 -6:00", s),
        "2000-01-01T06:00:00"
    );
    assert_eq!(
        decode1(0.0, "hours since 2000-01-01T00:00:00+0530", s),
        "1999-12-31T18:30:00"
    );
    assert_eq!(
        decode1(0.0, "hours since 2000-01-01 00:00:00 UTC", s),
        "2000-01-01T00:00:00"
    );
    assert_eq!(
        units("hours since 2000-01-01 -6:00").to_string(),
        "hours since 2000-01-01 00:00:00 -06:00"
    );
}

#[test]
fn units_parse_abbreviations_and_print() {
    let cases = [
        ("days since 2000-01-01", TimeUnit::Days),
        ("d since 2000-01-01", TimeUnit::Days),
        ("Day since 2000-01-01", TimeUnit::Days),
        ("hours since 2000-01-01", TimeUnit::Hours),
        ("hr since 2000-01-01", TimeUnit::Hours),
        ("h since 2000-01-01", TimeUnit::Hours),
        ("minutes since 2000-01-01", TimeUnit::Minutes),
        ("min since 2000-01-01", TimeUnit::Minutes),
        ("seconds since 2000-01-01", TimeUnit::Seconds),
        ("sec since 2000-01-01", TimeUnit::Seconds),
        ("s since 2000-01-01", TimeUnit::Seconds),
        ("milliseconds since 2000-01-01", TimeUnit::Milliseconds),
        ("ms since 2000-01-01", TimeUnit::Milliseconds),
        ("microseconds since 2000-01-01", TimeUnit::Microseconds),
        ("  DAYS   SINCE   2000-01-01  ", TimeUnit::Days),
    ];
    for (s, unit) in cases {
        assert_eq!(units(s).unit(), unit, "{s}");
    }
    assert_eq!(
        units("days since 2000-1-1").to_string(),
        "days since 2000-01-01 00:00:00"
    );
    assert_eq!(
        units("s since 2000-01-01 00:00:00.5").to_string(),
        "seconds since 2000-01-01 00:00:00.500000"
    );
    let back = units("minutes since 1999-12-31 18:30:15");
    assert_eq!(CfUnits::parse(&back.to_string()).unwrap(), back);
}

#[test]
fn bad_strings_are_errors_naming_the_string() {
    for s in [
        "",
        "days",
        "days after 2000-01-01",
        "weeks since 2000-01-01",
        "days since",
        "days since yesterday",
        "days since 2000-01-01 25",
        "days since 2000-01-01 00:00:00 +25:00",
        "days since 2000-01-01 00:00:00 junk",
        "days since 2000-01-",
        "days since 2000-011-01",
        "days since 2000-13-01",
        "days since 2000-02-30",
        "days since 2000-01-01 12:60",
        "days since 99999999-01-01",
    ] {
        let r = CfUnits::parse(s).and_then(|u| decode(&[0.0], &u, Calendar::Standard));
        let e = r.expect_err(s).to_string();
        assert!(e.contains(s.trim()) || s.trim().is_empty(), "{s}: {e}");
        assert!(matches!(
            CfUnits::parse(s).and_then(|u| u.reference(Calendar::Standard)),
            Err(Error::Io(_))
        ));
    }
    for s in [
        "",
        "x",
        "2000-",
        "2000-13",
        "2000-02-30",
        "2000-01-01T24",
        "2000-01-01 12:00 +01:00",
        "1e3",
        "2000/01/01",
    ] {
        let e = parse_period(s, Calendar::Standard).expect_err(s);
        assert!(
            matches!(e, Error::Plan(ref m) if m.contains(&format!("'{s}'"))),
            "{s}: {e}"
        );
    }
    for s in ["lunar", "", "none", "gregorian2"] {
        assert!(matches!(Calendar::parse(s), Err(Error::Io(_))), "{s}");
    }
    for s in [
        "",
        "0D",
        "W",
        "2W",
        "M",
        "ME",
        "ms",
        "MS-DEC",
        "QS-XYZ",
        "QS-",
        "D-JAN",
        "99999999999h",
        "-1D",
    ] {
        let e = Freq::parse(s).expect_err(s);
        assert!(e.to_string().contains("supported: MS"), "{s}: {e}");
    }
}

#[test]
fn values_that_are_not_times_are_errors() {
    let u = units("days since 2000-01-01");
    for v in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1e300, -1e18] {
        let e = decode(&[0.0, v], &u, Calendar::Standard).unwrap_err();
        assert!(
            matches!(e, Error::Io(ref m) if m.contains("index 1") && m.contains("days since")),
            "{e}"
        );
        assert!(decode_ticks(&[v], &u, Calendar::NoLeap).is_err());
    }
    let mixed = [
        dt("2000-01-01", Calendar::Standard),
        dt("2000-01-01", Calendar::NoLeap),
    ];
    assert!(matches!(encode(&mixed, &u), Err(Error::Plan(_))));
    assert_eq!(encode(&[], &u).unwrap(), Vec::<f64>::new());
}

#[test]
fn calendar_names() {
    for (s, cal) in [
        ("standard", Calendar::Standard),
        ("gregorian", Calendar::Standard),
        ("GREGORIAN", Calendar::Standard),
        ("proleptic_gregorian", Calendar::ProlepticGregorian),
        ("noleap", Calendar::NoLeap),
        ("365_day", Calendar::NoLeap),
        ("all_leap", Calendar::AllLeap),
        ("366_day", Calendar::AllLeap),
        ("360_day", Calendar::Day360),
        (" Julian ", Calendar::Julian),
    ] {
        assert_eq!(Calendar::parse(s).unwrap(), cal, "{s}");
    }
    for cal in ALL {
        assert_eq!(Calendar::parse(cal.name()).unwrap(), cal);
    }
    assert_eq!(Calendar::from_attribute(None).unwrap(), Calendar::Standard);
    assert_eq!(
        Calendar::from_attribute(Some("noleap")).unwrap(),
        Calendar::NoLeap
    );
}

#[test]
fn dayofyear_per_calendar() {
    let last = [
        (Calendar::Standard, "2000-12-31", 366),
        (Calendar::Standard, "1900-12-31", 365),
        (Calendar::ProlepticGregorian, "2100-12-31", 365),
        (Calendar::Julian, "1900-12-31", 366),
        (Calendar::NoLeap, "2000-12-31", 365),
        (Calendar::AllLeap, "2001-12-31", 366),
        (Calendar::Day360, "2000-12-30", 360),
        (Calendar::Day360, "2000-03-01", 61),
        (Calendar::NoLeap, "2000-03-01", 60),
        (Calendar::AllLeap, "2001-03-01", 61),
    ];
    for (cal, s, doy) in last {
        assert_eq!(dt(s, cal).dayofyear(), doy, "{cal} {s}");
    }
}

#[test]
fn dayofweek_of_known_days() {
    // Monday = 0: 2000-01-01 a Saturday, 1970-01-01 a Thursday, 1582-10-15 a
    // Friday after Thursday 1582-10-04, 2024-02-29 a Thursday.
    let s = Calendar::Standard;
    for (d, w) in [
        ("2000-01-01", 5),
        ("1970-01-01", 3),
        ("1582-10-15", 4),
        ("1582-10-04", 3),
        ("2024-02-29", 3),
    ] {
        assert_eq!(dt(d, s).dayofweek().unwrap(), w, "{d}");
    }
    assert_eq!(
        dt("2000-01-01", Calendar::ProlepticGregorian)
            .dayofweek()
            .unwrap(),
        5
    );
    // The same Saturday is 1999-12-19 in the Julian calendar.
    assert_eq!(dt("1999-12-19", Calendar::Julian).dayofweek().unwrap(), 5);
    for cal in [Calendar::NoLeap, Calendar::AllLeap, Calendar::Day360] {
        assert!(matches!(
            dt("2000-01-01", cal).dayofweek(),
            Err(Error::Plan(_))
        ));
    }
}

#[test]
fn seasons_and_month_lengths() {
    let want = [
        "DJF", "DJF", "MAM", "MAM", "MAM", "JJA", "JJA", "JJA", "SON", "SON", "SON", "DJF",
    ];
    for (m, w) in (1..=12).zip(want) {
        assert_eq!(
            DateTime::from_ymd(Calendar::NoLeap, 2000, m, 1)
                .unwrap()
                .season(),
            w
        );
    }
    let feb = |cal| DateTime::from_ymd(cal, 2000, 2, 1).unwrap().days_in_month();
    assert_eq!(feb(Calendar::Standard), 29);
    assert_eq!(feb(Calendar::NoLeap), 28);
    assert_eq!(feb(Calendar::AllLeap), 29);
    assert_eq!(feb(Calendar::Day360), 30);
    assert_eq!(
        DateTime::from_ymd(Calendar::Standard, 1900, 2, 1)
            .unwrap()
            .days_in_month(),
        28
    );
    assert_eq!(
        DateTime::from_ymd(Calendar::Julian, 1900, 2, 1)
            .unwrap()
            .days_in_month(),
        29
    );
}

#[test]
fn partial_dates_name_periods() {
    let s = Calendar::Standard;
    let p = |x: &str, cal| {
        let (a, b) = parse_period(x, cal).unwrap();
        (a.to_string(), b.to_string())
    };
    let pair = |a: &str, b: &str| (a.to_string(), b.to_string());
    assert_eq!(
        p("2000", s),
        pair("2000-01-01T00:00:00", "2001-01-01T00:00:00")
    );
    assert_eq!(
        p("2000-02", s),
        pair("2000-02-01T00:00:00", "2000-03-01T00:00:00")
    );
    assert_eq!(
        p("2000-12", s),
        pair("2000-12-01T00:00:00", "2001-01-01T00:00:00")
    );
    assert_eq!(
        p("2000-03-01", s),
        pair("2000-03-01T00:00:00", "2000-03-02T00:00:00")
    );
    assert_eq!(
        p("2000-02-29", s),
        pair("2000-02-29T00:00:00", "2000-03-01T00:00:00")
    );
    assert_eq!(
        p("2000-02-28", Calendar::NoLeap),
        pair("2000-02-28T00:00:00", "2000-03-01T00:00:00")
    );
    assert_eq!(
        p("2000-02-30", Calendar::Day360),
        pair("2000-02-30T00:00:00", "2000-03-01T00:00:00")
    );
    assert_eq!(
        p("2000-03-01T06", s),
        pair("2000-03-01T06:00:00", "2000-03-01T07:00:00")
    );
    assert_eq!(
        p("2000-03-01 06:00", s),
        pair("2000-03-01T06:00:00", "2000-03-01T06:01:00")
    );
    assert_eq!(
        p("2000-03-01T06:00:00", s),
        pair("2000-03-01T06:00:00", "2000-03-01T06:00:01")
    );
    assert_eq!(
        p("2000-03-01T06:00:00.5", s),
        pair("2000-03-01T06:00:00.500000", "2000-03-01T06:00:00.500001")
    );
    assert_eq!(
        p("1582-10-04", s),
        pair("1582-10-04T00:00:00", "1582-10-15T00:00:00")
    );
    assert_eq!(
        p(" 2000-3-1 ", s),
        pair("2000-03-01T00:00:00", "2000-03-02T00:00:00")
    );
    assert_eq!(
        DateTime::parse_period("2000", s).unwrap(),
        parse_period("2000", s).unwrap()
    );
    assert_eq!(dt("2000-03", s), DateTime::from_ymd(s, 2000, 3, 1).unwrap());
    // A slice "2000-03-01".."2000-05-31" over daily noleap data: 92 days.
    let t = decode(
        &(0..365).map(f64::from).collect::<Vec<_>>(),
        &units("days since 2000-01-01"),
        Calendar::NoLeap,
    )
    .unwrap();
    let (a, _) = parse_period("2000-03-01", Calendar::NoLeap).unwrap();
    let (_, b) = parse_period("2000-05-31", Calendar::NoLeap).unwrap();
    let kept: Vec<_> = t.iter().filter(|d| a <= **d && **d < b).collect();
    assert_eq!(kept.len(), 31 + 30 + 31);
    assert_eq!(kept[0].to_string(), "2000-03-01T00:00:00");
}

#[test]
fn display_is_numpy_iso() {
    let d = DateTime::new(Calendar::Standard, 2000, 1, 2, 3, 4, 5).unwrap();
    assert_eq!(d.to_string(), "2000-01-02T03:04:05");
    assert_eq!(
        d.with_microsecond(42).unwrap().to_string(),
        "2000-01-02T03:04:05.000042"
    );
    assert_eq!(
        DateTime::from_ymd(Calendar::ProlepticGregorian, 33, 1, 1)
            .unwrap()
            .to_string(),
        "0033-01-01T00:00:00"
    );
    assert_eq!(
        DateTime::from_ymd(Calendar::Julian, -44, 3, 15)
            .unwrap()
            .to_string(),
        "-0044-03-15T00:00:00"
    );
    assert!(d.with_microsecond(1_000_000).is_err());
    assert!(DateTime::new(Calendar::Standard, 2000, 1, 1, 24, 0, 0).is_err());
}

#[test]
fn decode_snaps_float_error_to_whole_seconds() {
    // 1/3 day is 08:00:00, but 1.0/3.0 is a float a little under it.
    assert_eq!(
        decode1(1.0 / 3.0, "days since 2000-01-01", Calendar::Standard),
        "2000-01-01T08:00:00"
    );
    assert_eq!(
        decode1(
            36_524.0 + 1.0 / 3.0,
            "days since 1900-01-01",
            Calendar::Standard
        ),
        "2000-01-01T08:00:00"
    );
    // 00:00:03 written in days 2^17 days (359 noleap years and 37 days) after
    // the reference, where a float step is 2.5 microseconds: the nearest float
    // is 1.18 us before the second, beyond cftime's one-microsecond snap.
    let v = 131_072.0 + 3.0 / 86_400.0;
    assert_eq!(
        decode1(v, "days since 1700-01-01", Calendar::NoLeap),
        "2059-02-07T00:00:03"
    );
    // Where the float has the digits, microseconds next to a second are kept.
    assert_eq!(
        decode1(1e-6, "seconds since 2000-01-01", Calendar::Standard),
        "2000-01-01T00:00:00.000001"
    );
    assert_eq!(
        decode1(-1e-6, "seconds since 2000-01-01", Calendar::Standard),
        "1999-12-31T23:59:59.999999"
    );
    assert_eq!(
        decode1(1.0, "microseconds since 2000-01-01", Calendar::Standard),
        "2000-01-01T00:00:00.000001"
    );
    assert_eq!(
        decode1(0.4, "microseconds since 2000-01-01", Calendar::Standard),
        "2000-01-01T00:00:00"
    );
}

fn any_calendar() -> impl Strategy<Value = Calendar> {
    prop::sample::select(ALL.to_vec())
}

proptest! {
    /// Whole-second dates anywhere in range survive encode then decode in
    /// every unit.
    #[test]
    fn whole_seconds_round_trip(cal in any_calendar(), secs in -9_000_000_000_000i64..9_000_000_000_000,
                                unit in prop::sample::select(vec!["days", "hours", "minutes", "seconds"])) {
        let u = units(&format!("{unit} since 2000-01-01"));
        let reference = u.reference(cal).unwrap();
        let d = DateTime::from_ticks(reference.to_ticks() + secs * 1_000_000, cal);
        let v = encode(&[d], &u).unwrap();
        prop_assert_eq!(decode(&v, &u, cal).unwrap()[0], d);
    }

    /// Microseconds round-trip in seconds while the float holds them
    /// (within 190 years).
    #[test]
    fn microseconds_round_trip_in_seconds(cal in any_calendar(), us in -6_000_000_000_000_000i64..6_000_000_000_000_000) {
        let u = units("seconds since 1970-01-01");
        let d = DateTime::from_ticks(us, cal);
        prop_assert_eq!(decode(&encode(&[d], &u).unwrap(), &u, cal).unwrap()[0], d);
    }

    /// Ticks and fields agree: from_ticks inverts to_ticks, and field order
    /// is tick order.
    #[test]
    fn ticks_order_dates(cal in any_calendar(), a in any::<i64>(), b in any::<i64>()) {
        let (x, y) = (DateTime::from_ticks(a, cal), DateTime::from_ticks(b, cal));
        prop_assert_eq!(x.to_ticks(), a);
        prop_assert_eq!(x.cmp(&y), a.cmp(&b));
        prop_assert_eq!(DateTime::parse(&x.to_string(), cal).unwrap(), x);
    }

    /// Anything typed is an answer or an error, never a panic.
    #[test]
    fn text_never_panics(s in "\\PC{0,30}", t in "[-+0-9 :.TZa-z]{0,30}") {
        for x in [&s, &t] {
            let _ = CfUnits::parse(x);
            let _ = CfUnits::parse(&format!("days since {x}")).map(|u| decode(&[1.0], &u, Calendar::Standard));
            let _ = parse_period(x, Calendar::Day360);
            let _ = Freq::parse(x);
            let _ = Calendar::parse(x);
        }
    }
}
