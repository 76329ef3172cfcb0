//! RFC 3339 timestamps in UTC from a count of seconds since the Unix epoch, for saved plans,
//! audit logs and the emulator's `meta` dates, and dates and timestamps read back into
//! seconds (`expires:`, `--at`). Pure: callers read the clock and pass the time in.

use std::time::Duration;

/// `YYYY-MM-DDTHH:MM:SSZ`, `secs` seconds after 1970-01-01T00:00:00Z.
pub fn rfc3339(secs: u64) -> String {
    let (date, h, m, s) = split(secs);
    format!("{date}T{h:02}:{m:02}:{s:02}Z")
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ`, `since_epoch` after 1970-01-01T00:00:00Z, as SCIM's
/// `meta.created` uses.
pub fn rfc3339_millis(since_epoch: Duration) -> String {
    let (date, h, m, s) = split(since_epoch.as_secs());
    format!(
        "{date}T{h:02}:{m:02}:{s:02}.{:03}Z",
        since_epoch.subsec_millis()
    )
}

/// The date and the hour, minute and second of a second since the epoch.
fn split(secs: u64) -> (String, u64, u64, u64) {
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    (
        format!("{y:04}-{m:02}-{d:02}"),
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
    )
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar; Howard
/// Hinnant's `civil_from_days`.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Days since 1970-01-01 of (year, month, day) in the proleptic Gregorian calendar; Howard
/// Hinnant's `days_from_civil`, the inverse of [`civil_from_days`].
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from(if m > 2 { m - 3 } else { m + 9 });
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Whether `y` is a leap year.
fn leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

/// The number of days in month `m` of year `y`.
fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// `n` ASCII digits at the start of `s`, as a number, and the rest.
fn digits(s: &str, n: usize) -> Option<(u32, &str)> {
    let head = s.get(..n)?;
    if !head.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((head.parse().ok()?, &s[n..]))
}

/// `YYYY-MM-DD` at the start of `s` (a real day of the calendar), as days since the epoch,
/// and the rest of `s`.
fn date_prefix(s: &str) -> Result<(i64, &str), String> {
    let shape = || format!("`{s}` is not a date: write YYYY-MM-DD or an RFC 3339 timestamp");
    let (y, rest) = digits(s, 4).ok_or_else(shape)?;
    let rest = rest.strip_prefix('-').ok_or_else(shape)?;
    let (m, rest) = digits(rest, 2).ok_or_else(shape)?;
    let rest = rest.strip_prefix('-').ok_or_else(shape)?;
    let (d, rest) = digits(rest, 2).ok_or_else(shape)?;
    let y = i64::from(y);
    if !(1..=12).contains(&m) {
        return Err(format!("`{}` has no month {m}", &s[..10]));
    }
    let last = days_in_month(y, m);
    if d == 0 || d > last {
        return Err(format!(
            "{} is not a day: {} {y} has {last} days",
            &s[..10],
            MONTHS[m as usize - 1]
        ));
    }
    Ok((days_from_civil(y, m, d), rest))
}

/// A date, `YYYY-MM-DD`, as days since 1970-01-01; an error that says what is wrong with it
/// (not a date, no such month, no such day).
pub fn parse_date(s: &str) -> Result<i64, String> {
    match date_prefix(s)? {
        (days, "") => Ok(days),
        _ => Err(format!(
            "`{s}` is not a date: write YYYY-MM-DD or an RFC 3339 timestamp"
        )),
    }
}

/// An RFC 3339 timestamp (`2026-03-01T17:30:00Z`, `2026-03-01T17:30:00.5+01:00`) as seconds
/// since the epoch, fractions of a second rounded up: the first whole second at or after
/// the instant.
pub fn parse_rfc3339(s: &str) -> Result<i64, String> {
    let shape = || {
        format!(
            "`{s}` is not an RFC 3339 timestamp: write e.g. 2026-03-01T17:30:00Z or \
             2026-03-01T17:30:00+01:00"
        )
    };
    let (days, rest) = date_prefix(s)?;
    let rest = rest.strip_prefix(['T', 't']).ok_or_else(shape)?;
    let (h, rest) = digits(rest, 2).ok_or_else(shape)?;
    let rest = rest.strip_prefix(':').ok_or_else(shape)?;
    let (mi, rest) = digits(rest, 2).ok_or_else(shape)?;
    let rest = rest.strip_prefix(':').ok_or_else(shape)?;
    let (sec, mut rest) = digits(rest, 2).ok_or_else(shape)?;
    // A leap second (60) is the instant after :59.
    if h > 23 || mi > 59 || sec > 60 {
        return Err(format!("`{s}` has no time {h:02}:{mi:02}:{sec:02}"));
    }
    let mut fraction = false;
    if let Some(f) = rest.strip_prefix('.') {
        let n = f.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return Err(shape());
        }
        fraction = f[..n].bytes().any(|b| b != b'0');
        rest = &f[n..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first() {
                Some(b'+') => 1,
                Some(b'-') => -1,
                _ => return Err(shape()),
            };
            let (oh, r) = digits(&rest[1..], 2).ok_or_else(shape)?;
            let r = r.strip_prefix(':').ok_or_else(shape)?;
            let (om, r) = digits(r, 2).ok_or_else(shape)?;
            if !r.is_empty() || oh > 23 || om > 59 {
                return Err(shape());
            }
            sign * i64::from(oh * 3600 + om * 60)
        }
    };
    let local = days * 86_400 + i64::from(h * 3600 + mi * 60 + sec) + i64::from(fraction);
    Ok(local - offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue12_rfc3339_dates() {
        // The dates both former copies were tested on, and the edges of leap years and eras.
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_917_553), "2026-11-29T01:59:13Z");
        assert_eq!(rfc3339(4_107_542_399), "2100-02-28T23:59:59Z");
        assert_eq!(rfc3339(4_107_542_400), "2100-03-01T00:00:00Z");
        assert_eq!(rfc3339(253_402_300_799), "9999-12-31T23:59:59Z");
        let ms = |s: u64, ms: u64| rfc3339_millis(Duration::from_millis(s * 1000 + ms));
        assert_eq!(ms(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(ms(951_782_400, 5), "2000-02-29T00:00:00.005Z");
        assert_eq!(ms(1_767_225_599, 999), "2025-12-31T23:59:59.999Z");
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(-719_468), (0, 3, 1));
    }

    #[test]
    fn dates_and_timestamps_read_back_into_seconds() {
        assert_eq!(parse_date("1970-01-01"), Ok(0));
        assert_eq!(parse_date("2000-02-29"), Ok(11_016));
        assert_eq!(
            parse_date("2026-03-01").map(|d| d * 86_400),
            Ok(1_772_323_200)
        );
        for (text, secs) in [
            ("1970-01-01T00:00:00Z", 0),
            ("2026-11-29T01:59:13Z", 1_795_917_553),
            ("2026-11-29t01:59:13z", 1_795_917_553),
            ("2026-11-29T02:59:13+01:00", 1_795_917_553),
            ("2026-11-28T20:29:13-05:30", 1_795_917_553),
            ("2026-11-29T01:59:13.000Z", 1_795_917_553),
            // A fraction rounds up: the first whole second at or after the instant.
            ("2026-11-29T01:59:12.25Z", 1_795_917_553),
            ("2100-02-28T23:59:59Z", 4_107_542_399),
            ("1969-12-31T23:59:59Z", -1),
        ] {
            assert_eq!(parse_rfc3339(text), Ok(secs), "{text}");
        }
        for (text, says) in [
            (
                "2026-02-30",
                "2026-02-30 is not a day: February 2026 has 28 days",
            ),
            (
                "2028-02-30",
                "2028-02-30 is not a day: February 2028 has 29 days",
            ),
            ("2026-04-31", "April 2026 has 30 days"),
            ("2026-00-10", "has no month 0"),
            ("2026-13-01", "has no month 13"),
            ("2026-1-01", "is not a date"),
            ("next week", "is not a date"),
            ("2026-03-01x", "is not a date"),
            ("", "is not a date"),
            ("２０２６-03-01", "is not a date"),
        ] {
            let err = parse_date(text).unwrap_err();
            assert!(err.contains(says), "{text}: {err}");
        }
        for (text, says) in [
            ("2026-03-01T24:00:00Z", "has no time 24:00:00"),
            ("2026-03-01T12:00:00", "not an RFC 3339 timestamp"),
            ("2026-03-01 12:00:00Z", "not an RFC 3339 timestamp"),
            ("2026-03-01T12:00Z", "not an RFC 3339 timestamp"),
            ("2026-03-01T12:00:00+0100", "not an RFC 3339 timestamp"),
            ("2026-03-01T12:00:00.Z", "not an RFC 3339 timestamp"),
            ("2026-02-29T12:00:00Z", "February 2026 has 28 days"),
        ] {
            let err = parse_rfc3339(text).unwrap_err();
            assert!(err.contains(says), "{text}: {err}");
        }
    }

    #[test]
    fn days_from_civil_inverts_civil_from_days() {
        for day in (-800_000..3_000_000).step_by(997) {
            let (y, m, d) = civil_from_days(day);
            assert_eq!(days_from_civil(y, m, d), day);
        }
    }

    #[test]
    fn every_day_follows_the_one_before() {
        // 1970 to 2400: each day is the next in the calendar, months have their lengths.
        let mut prev = civil_from_days(-1);
        for day in 0..157_000 {
            let (y, m, d) = civil_from_days(day);
            let leap = |y: i64| (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
            let days_in = |y: i64, m: u32| match m {
                2 if leap(y) => 29,
                2 => 28,
                4 | 6 | 9 | 11 => 30,
                _ => 31,
            };
            let expected = if prev.2 < days_in(prev.0, prev.1) {
                (prev.0, prev.1, prev.2 + 1)
            } else if prev.1 < 12 {
                (prev.0, prev.1 + 1, 1)
            } else {
                (prev.0 + 1, 1, 1)
            };
            assert_eq!((y, m, d), expected, "day {day}");
            prev = (y, m, d);
        }
    }
}
