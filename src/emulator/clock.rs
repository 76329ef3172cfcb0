//! The emulator's clock: real time sped up by `--time-scale`, so rate-limit windows, latency
//! and hangs can be exercised in seconds.
//!
//! Everything the emulator decides on (limits, fault delays) reads this clock in emulated
//! milliseconds; only the code that actually sleeps converts back to real time.

use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
pub struct Clock {
    origin: Instant,
    scale: f64,
}

impl Clock {
    /// `scale` > 1 runs time faster: one real second is `scale` emulated seconds.
    pub fn new(scale: f64) -> Clock {
        Clock {
            origin: Instant::now(),
            scale,
        }
    }

    /// Emulated milliseconds since the emulator started.
    pub fn now_ms(&self) -> u64 {
        (self.origin.elapsed().as_secs_f64() * 1000.0 * self.scale) as u64
    }

    /// The real duration of `emulated_ms` emulated milliseconds, rounded up to whole real ms so
    /// a client that waits this long is never early.
    pub fn real(&self, emulated_ms: u64) -> Duration {
        Duration::from_millis(self.real_ms(emulated_ms))
    }

    pub fn real_ms(&self, emulated_ms: u64) -> u64 {
        (emulated_ms as f64 / self.scale).ceil() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_time_shrinks_with_the_scale_and_rounds_up() {
        let c = Clock::new(60.0);
        assert_eq!(c.real_ms(60_000), 1000);
        assert_eq!(c.real_ms(1), 1);
        assert_eq!(Clock::new(1.0).real_ms(1500), 1500);
        assert_eq!(Clock::new(1000.0).real_ms(1500), 2);
    }
}

/// An RFC 3339 UTC timestamp with milliseconds, as SCIM's `meta.created` uses; from the real
/// wall clock, since clients compare it with their own.
pub fn timestamp(t: std::time::SystemTime) -> String {
    let d = t
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or(Duration::ZERO);
    let secs = d.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, day) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_millis()
    )
}

/// Days since 1970-01-01 to (year, month, day); Howard Hinnant's `civil_from_days`.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
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
mod timestamp_tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        let at = |s: u64, ms: u64| {
            timestamp(std::time::UNIX_EPOCH + Duration::from_millis(s * 1000 + ms))
        };
        assert_eq!(at(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(at(951_782_400, 5), "2000-02-29T00:00:00.005Z");
        assert_eq!(at(1_767_225_599, 999), "2025-12-31T23:59:59.999Z");
    }
}
