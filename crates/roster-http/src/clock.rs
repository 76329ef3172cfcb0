//! Time as the HTTP adapter sees it: `now` and `sleep`, behind a trait so tests can record the
//! waits instead of sleeping (a retry test asserts "waited exactly Retry-After" in
//! microseconds), or run them faster, as fast as an emulator's scaled clock ([`ScaledClock`]).

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A boxed future returned by [`Clock::sleep`].
pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The adapter's clock. Pacing, retry and `Retry-After` waits, token lifetimes and read
/// deadlines go through it; request timeouts do not (they are the HTTP library's, on real
/// time).
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Instant;
    fn sleep(&self, duration: Duration) -> Sleep;
}

/// Real time, on tokio's timer.
#[derive(Debug, Default, Clone, Copy)]
pub struct TokioClock;

impl Clock for TokioClock {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn sleep(&self, duration: Duration) -> Sleep {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// Virtual time for tests: `sleep` returns at once (after yielding to other tasks), advances
/// `now` by the duration and records it.
#[derive(Debug)]
pub struct RecordingClock {
    start: Instant,
    state: Mutex<(Duration, Vec<Duration>)>,
}

impl Default for RecordingClock {
    fn default() -> RecordingClock {
        RecordingClock {
            start: Instant::now(),
            state: Mutex::new((Duration::ZERO, Vec::new())),
        }
    }
}

impl RecordingClock {
    pub fn new() -> RecordingClock {
        RecordingClock::default()
    }

    /// Every sleep so far, in order.
    pub fn sleeps(&self) -> Vec<Duration> {
        self.lock().1.clone()
    }

    /// Virtual time elapsed (the sum of the sleeps).
    pub fn elapsed(&self) -> Duration {
        self.lock().0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (Duration, Vec<Duration>)> {
        // A panic elsewhere while holding the lock leaves plain data; keep going.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Clock for RecordingClock {
    fn now(&self) -> Instant {
        self.start + self.lock().0
    }

    fn sleep(&self, duration: Duration) -> Sleep {
        {
            let mut state = self.lock();
            state.0 += duration;
            state.1.push(duration);
        }
        Box::pin(tokio::task::yield_now())
    }
}

/// Time running `scale` times faster than real time, from when it was made: for a client
/// talking to an emulator started with `--time-scale scale`. Every wait the client makes, a
/// `Retry-After` in the emulator's (emulated) seconds included, then lasts what it should on
/// the emulator's clock, and the client keeps its real limits (Asana's 1,500 requests a minute)
/// in emulated time. Tests and benchmarks set it; so does `ROSTER_TEST_TIME_SCALE` for the
/// binary (see docs/emulator.md). No server can.
#[derive(Debug)]
pub struct ScaledClock {
    start: Instant,
    scale: f64,
}

impl ScaledClock {
    /// `scale` must be finite and above 0 (a clock that does not run cannot be waited on).
    pub fn new(scale: f64) -> Option<ScaledClock> {
        (scale.is_finite() && scale > 0.0).then(|| ScaledClock {
            start: Instant::now(),
            scale,
        })
    }
}

impl Clock for ScaledClock {
    fn now(&self) -> Instant {
        self.start + self.start.elapsed().mul_f64(self.scale)
    }

    fn sleep(&self, duration: Duration) -> Sleep {
        Box::pin(tokio::time::sleep(duration.div_f64(self.scale)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scaled_clock_needs_a_positive_finite_scale() {
        assert!(ScaledClock::new(60.0).is_some());
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(ScaledClock::new(bad).is_none(), "{bad}");
        }
    }
}
