//! Keeping under a server's limits, shared by every task that uses one adapter: a per-minute
//! request budget, separate caps on reads and writes in flight, and one shared "resume at"
//! instant so that a 429 pauses every worker, not only the one that got it.
//!
//! The arithmetic is `roster_core::pacing`'s (pure); this module holds its state, reads the
//! [`Clock`] and waits through it, so tests see the waits without sleeping.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{Semaphore, SemaphorePermit};

use super::clock::Clock;
use roster_core::pacing::{Gcra, Pause};

/// Which concurrency cap a request counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lane {
    Read,
    Write,
}

pub(crate) struct Pacer {
    clock: Arc<dyn Clock>,
    /// What the pacing arithmetic measures time from.
    origin: Instant,
    bucket: Mutex<Gcra>,
    pause: Mutex<Pause>,
    reads: Semaphore,
    writes: Semaphore,
}

impl Pacer {
    /// All limits must be at least 1 (the configuration checks).
    pub(crate) fn new(
        requests_per_minute: u32,
        max_reads: usize,
        max_writes: usize,
        clock: Arc<dyn Clock>,
    ) -> Pacer {
        Pacer {
            origin: clock.now(),
            clock,
            bucket: Mutex::new(Gcra::new(requests_per_minute)),
            pause: Mutex::new(Pause::default()),
            reads: Semaphore::new(max_reads),
            writes: Semaphore::new(max_writes),
        }
    }

    fn now(&self) -> Duration {
        self.clock.now().saturating_duration_since(self.origin)
    }

    /// Waits until a request may be sent: a free slot in its lane, a share of the budget, and
    /// no pause in force. The permit is held while the request is in flight.
    pub(crate) async fn admit(&self, lane: Lane) -> SemaphorePermit<'_> {
        let semaphore = match lane {
            Lane::Read => &self.reads,
            Lane::Write => &self.writes,
        };
        // The semaphores are never closed.
        let permit = semaphore
            .acquire()
            .await
            .expect("pacing semaphore is never closed");
        let wait = lock(&self.bucket).reserve(self.now());
        if !wait.is_zero() {
            self.clock.sleep(wait).await;
        }
        // A 429 may arrive while this task waits; keep waiting until no pause is in force.
        loop {
            let Some(wait) = lock(&self.pause).remaining(self.now()) else {
                break;
            };
            self.clock.sleep(wait).await;
        }
        permit
    }

    /// Pauses every request until `after` from now (a 429's `Retry-After`). A later pause
    /// already in force is kept.
    pub(crate) fn pause_for(&self, after: Duration) {
        let now = self.now();
        lock(&self.pause).extend(now, after);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::RecordingClock;

    #[tokio::test]
    async fn a_pause_holds_every_worker_until_the_shared_deadline() {
        let clock = Arc::new(RecordingClock::new());
        let pacer = Arc::new(Pacer::new(1500, 50, 15, clock.clone()));
        pacer.pause_for(Duration::from_secs(30));
        // A shorter pause does not cut the longer one short.
        pacer.pause_for(Duration::from_secs(5));
        // Two other workers, one reading and one writing, both wait out the pause.
        let _r = pacer.admit(Lane::Read).await;
        assert_eq!(clock.sleeps(), [Duration::from_secs(30)]);
        let _w = pacer.admit(Lane::Write).await;
        assert_eq!(clock.sleeps(), [Duration::from_secs(30)], "pause is over");
        assert_eq!(clock.elapsed(), Duration::from_secs(30));
    }

    #[tokio::test]
    async fn lanes_cap_requests_in_flight_separately() {
        let clock = Arc::new(RecordingClock::new());
        let pacer = Pacer::new(1500, 2, 1, clock);
        let r1 = pacer.admit(Lane::Read).await;
        let _r2 = pacer.admit(Lane::Read).await;
        let _w1 = pacer.admit(Lane::Write).await;
        assert_eq!(pacer.reads.available_permits(), 0);
        assert_eq!(pacer.writes.available_permits(), 0);
        // A third read waits for a read slot, not a write slot.
        let third = pacer.admit(Lane::Read);
        tokio::pin!(third);
        assert!(
            tokio::time::timeout(Duration::from_millis(5), &mut third)
                .await
                .is_err()
        );
        drop(r1);
        let _r3 = third.await;
    }
}
