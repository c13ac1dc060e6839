//! Period arithmetic checked against dates worked out by hand from the
//! calendars' month lengths (pandas' and xarray's period starts).

use super::super::{Calendar, DateTime};
use super::*;
use proptest::prelude::*;

const ALL: [Calendar; 6] = Calendar::ALL;

fn dt(s: &str, cal: Calendar) -> DateTime {
    DateTime::parse(s, cal).unwrap()
}

#[test]
fn quarter_floors_with_qs_dec() {
    let f = Freq::parse("QS-DEC").unwrap();
    for cal in ALL {
        for (d, want) in [
            ("2000-01-15", "1999-12-01T00:00:00"),
            ("2000-02-28T23:59:59", "1999-12-01T00:00:00"),
            ("2000-03-01", "2000-03-01T00:00:00"),
            ("2000-05-31T12", "2000-03-01T00:00:00"),
            ("2000-06-01", "2000-06-01T00:00:00"),
            ("2000-11-30", "2000-09-01T00:00:00"),
            ("2000-12-31", "2000-12-01T00:00:00"),
        ] {
            let d = if cal == Calendar::Day360 {
                d.replace("-31", "-30")
            } else {
                d.to_string()
            };
            let floor = dt(&d, cal).floor_to(&f).unwrap();
            assert_eq!(floor.to_string(), want, "{cal} {d}");
            assert_eq!(floor.season(), dt(&d, cal).season());
        }
    }
    let qs = Freq::parse("QS").unwrap();
    assert_eq!(
        dt("2000-05-15", Calendar::Standard)
            .floor_to(&qs)
            .unwrap()
            .to_string(),
        "2000-04-01T00:00:00"
    );
    assert_eq!(
        dt("2000-01-01", Calendar::Standard)
            .floor_to(&qs)
            .unwrap()
            .to_string(),
        "2000-01-01T00:00:00"
    );
}

#[test]
fn month_year_day_hour_floors() {
    let s = Calendar::Standard;
    let floor = |d: &str, f: &str| {
        dt(d, s)
            .floor_to(&Freq::parse(f).unwrap())
            .unwrap()
            .to_string()
    };
    assert_eq!(floor("2000-02-29T13:45:10", "MS"), "2000-02-01T00:00:00");
    assert_eq!(floor("2000-02-29T13:45:10", "YS"), "2000-01-01T00:00:00");
    assert_eq!(floor("2000-02-29T13:45:10", "AS"), "2000-01-01T00:00:00");
    assert_eq!(
        floor("2000-02-29T13:45:10", "YS-JUL"),
        "1999-07-01T00:00:00"
    );
    assert_eq!(floor("2000-02-29T13:45:10", "D"), "2000-02-29T00:00:00");
    assert_eq!(floor("2000-02-29T13:45:10", "h"), "2000-02-29T13:00:00");
    assert_eq!(floor("2000-02-29T13:45:10", "H"), "2000-02-29T13:00:00");
    assert_eq!(floor("2000-02-29T13:45:10", "3h"), "2000-02-29T12:00:00");
    assert_eq!(floor("2000-02-29T13:45:10", "15min"), "2000-02-29T13:45:00");
    assert_eq!(floor("2000-02-29T13:45:10", "T"), "2000-02-29T13:45:00");
    assert_eq!(floor("2000-02-29T13:45:10.25", "s"), "2000-02-29T13:45:10");
    assert_eq!(floor("2000-04-29", "2MS"), "2000-03-01T00:00:00");
    assert_eq!(floor("1969-12-31T23:00", "D"), "1969-12-31T00:00:00");
    assert_eq!(floor("-0001-06-15", "YS"), "-0001-01-01T00:00:00");
}

#[test]
fn adding_periods() {
    let ms = Freq::parse("MS").unwrap();
    let add = |d: &str, cal, f: &Freq, n| dt(d, cal).add(f, n).unwrap().to_string();
    assert_eq!(
        add("2000-01-31", Calendar::Standard, &ms, 1),
        "2000-02-29T00:00:00"
    );
    assert_eq!(
        add("2000-01-31", Calendar::NoLeap, &ms, 1),
        "2000-02-28T00:00:00"
    );
    assert_eq!(
        add("2000-01-30T06", Calendar::Day360, &ms, 1),
        "2000-02-30T06:00:00"
    );
    assert_eq!(
        add("2000-01-01", Calendar::Standard, &ms, -1),
        "1999-12-01T00:00:00"
    );
    let qs = Freq::parse("QS-DEC").unwrap();
    assert_eq!(
        add("1999-12-01", Calendar::Standard, &qs, 1),
        "2000-03-01T00:00:00"
    );
    assert_eq!(
        add("1999-12-01", Calendar::Standard, &qs, 4),
        "2000-12-01T00:00:00"
    );
    let h3 = Freq::parse("3h").unwrap();
    assert_eq!(
        add("2000-12-31T22:00", Calendar::NoLeap, &h3, 1),
        "2001-01-01T01:00:00"
    );
    assert_eq!(
        add(
            "2000-02-28",
            Calendar::NoLeap,
            &Freq::parse("D").unwrap(),
            1
        ),
        "2000-03-01T00:00:00"
    );
    assert_eq!(
        add(
            "2000-02-28",
            Calendar::AllLeap,
            &Freq::parse("D").unwrap(),
            1
        ),
        "2000-02-29T00:00:00"
    );
    assert!(dt("2000-01-01", Calendar::Standard)
        .add(&ms, i64::MAX)
        .is_err());
    assert!(dt("2000-01-01", Calendar::Standard)
        .add(&h3, i64::MAX / 2)
        .is_err());
}

#[test]
fn resample_origins_follow_the_first_time() {
    let cal = Calendar::Standard;
    let first = dt("2000-03-15T07:30", cal);
    let two_ms = Freq::parse("2MS").unwrap();
    let o = two_ms.origin(&first).unwrap();
    assert_eq!(o.to_string(), "2000-03-01T00:00:00");
    let bin = |d: &str| dt(d, cal).floor_from(&two_ms, &o).unwrap().to_string();
    assert_eq!(bin("2000-04-30"), "2000-03-01T00:00:00");
    assert_eq!(bin("2000-05-01"), "2000-05-01T00:00:00");
    assert_eq!(bin("2000-02-01"), "2000-01-01T00:00:00");
    let five_h = Freq::parse("5h").unwrap();
    let o = five_h.origin(&first).unwrap();
    assert_eq!(o.to_string(), "2000-03-15T00:00:00");
    assert_eq!(
        dt("2000-03-16T02:00", cal)
            .floor_from(&five_h, &o)
            .unwrap()
            .to_string(),
        "2000-03-16T01:00:00"
    );
    assert!(first
        .floor_from(&five_h, &dt("2000-01-01", Calendar::NoLeap))
        .is_err());
}

#[test]
fn freq_names_round_trip() {
    for (s, canon) in [
        ("MS", "MS"),
        ("2MS", "2MS"),
        ("QS", "QS-JAN"),
        ("QS-DEC", "QS-DEC"),
        ("QS-dec", "QS-DEC"),
        ("YS", "YS-JAN"),
        ("AS-JUL", "YS-JUL"),
        ("D", "D"),
        ("6D", "6D"),
        ("H", "h"),
        ("3h", "3h"),
        ("T", "min"),
        ("30min", "30min"),
        ("S", "s"),
    ] {
        let f = Freq::parse(s).unwrap();
        assert_eq!(f.to_string(), canon, "{s}");
        assert_eq!(Freq::parse(canon).unwrap(), f);
    }
    assert_eq!(
        Freq::parse("QS-DEC").unwrap().unit(),
        FreqUnit::QuarterStart { first_month: 12 }
    );
    assert_eq!(Freq::parse("3h").unwrap().n(), 3);
}

proptest! {
    /// A floor is a period start at or before the date, and the next one is after it.
    #[test]
    fn floors_bracket_the_date(cal in prop::sample::select(ALL.to_vec()), t in -15_000_000_000_000_000i64..15_000_000_000_000_000,
                               f in prop::sample::select(vec!["MS", "QS-DEC", "QS", "YS", "D", "h", "3h", "2MS", "YS-JUL"])) {
        let f = Freq::parse(f).unwrap();
        let d = DateTime::from_ticks(t, cal);
        let start = d.floor_to(&f).unwrap();
        prop_assert!(start <= d);
        prop_assert!(d < start.add(&f, 1).unwrap());
        prop_assert_eq!(start.floor_to(&f).unwrap(), start);
    }

}
