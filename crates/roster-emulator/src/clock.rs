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
    roster_core::civil_time::rfc3339_millis(
        t.duration_since(std::time::UNIX_EPOCH)
            .unwrap_or(Duration::ZERO),
    )
}

/// [`timestamp`] of now: the emulator's one reading of the wall clock.
#[expect(
    clippy::disallowed_methods,
    reason = "meta.created and meta.lastModified are wall-clock times"
)]
pub fn now() -> String {
    timestamp(std::time::SystemTime::now())
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
