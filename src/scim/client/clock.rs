//! Time as the client sees it: `now` and `sleep`, behind a trait so tests can record the waits
//! instead of sleeping (a retry test asserts "waited exactly Retry-After" in microseconds).

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A boxed future returned by [`Clock::sleep`].
pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The client's clock. Pacing and retry waits go through it; request timeouts do not (they are
/// the HTTP library's, on real time).
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
