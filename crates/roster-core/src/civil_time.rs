//! RFC 3339 timestamps in UTC from a count of seconds since the Unix epoch, for saved plans,
//! audit logs and the emulator's `meta` dates. Pure: callers read the clock and pass the time
//! in.

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
