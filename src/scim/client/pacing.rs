//! Keeping under Asana's limits, shared by every task that uses one client: a per-minute
//! request budget, separate caps on reads and writes in flight (50 and 15 per token), and one
//! shared "resume at" instant so that a 429 pauses every worker, not only the one that got it.
//!
//! The budget is a GCRA (a token bucket kept as one timestamp) with a burst of a tenth of a
//! minute's budget, refilled at the rest of the budget per minute, so that no 60-second window
//! holds more than `requests_per_minute` requests. Waiting goes through the [`Clock`], so tests
//! see the waits without sleeping.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{Semaphore, SemaphorePermit};

use super::clock::Clock;

/// Which concurrency cap a request counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lane {
    Read,
    Write,
}

pub(crate) struct Pacer {
    clock: Arc<dyn Clock>,
    bucket: Mutex<Gcra>,
    resume_at: Mutex<Option<Instant>>,
    reads: Semaphore,
    writes: Semaphore,
}

impl Pacer {
    /// All limits must be at least 1 (the config checks).
    pub(crate) fn new(
        requests_per_minute: u32,
        max_reads: usize,
        max_writes: usize,
        clock: Arc<dyn Clock>,
    ) -> Pacer {
        Pacer {
            clock,
            bucket: Mutex::new(Gcra::new(requests_per_minute)),
            resume_at: Mutex::new(None),
            reads: Semaphore::new(max_reads),
            writes: Semaphore::new(max_writes),
        }
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
        let wait = lock(&self.bucket).reserve(self.clock.now());
        if !wait.is_zero() {
            self.clock.sleep(wait).await;
        }
        // A 429 may arrive while this task waits; keep waiting until no pause is in force.
        loop {
            let now = self.clock.now();
            let until = match *lock(&self.resume_at) {
                Some(at) if at > now => at,
                _ => break,
            };
            self.clock.sleep(until - now).await;
        }
        permit
    }

    /// Pauses every request until `after` from now (a 429's `Retry-After`). A later pause
    /// already in force is kept.
    pub(crate) fn pause_for(&self, after: Duration) {
        let until = self.clock.now() + after;
        let mut resume = lock(&self.resume_at);
        if resume.is_none_or(|at| at < until) {
            *resume = Some(until);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Generic cell rate algorithm: `tat` is the theoretical arrival time of the next request.
#[derive(Debug)]
struct Gcra {
    interval: Duration,
    /// How far ahead of schedule requests may run: `burst - 1` intervals.
    tolerance: Duration,
    tat: Option<Instant>,
}

impl Gcra {
    fn new(per_minute: u32) -> Gcra {
        let per_minute = per_minute.max(1);
        let burst = (per_minute / 10).max(1);
        // A window of 60 s holds at most the burst plus a minute of refills.
        let interval = Duration::from_secs(60) / (per_minute - burst).max(1);
        Gcra {
            interval,
            tolerance: interval * (burst - 1),
            tat: None,
        }
    }

    /// Reserves the next slot; returns how long to wait before using it.
    fn reserve(&mut self, now: Instant) -> Duration {
        let tat = self.tat.map_or(now, |t| t.max(now));
        let wait = tat.saturating_duration_since(now + self.tolerance);
        self.tat = Some(tat + self.interval);
        wait
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::client::clock::RecordingClock;

    #[test]
    fn gcra_allows_a_burst_then_paces() {
        // 600/min: bursts of 60, then 540 a minute.
        let mut g = Gcra::new(600);
        assert_eq!(g.interval, Duration::from_secs(60) / 540);
        let t0 = Instant::now();
        for i in 0..60 {
            assert_eq!(g.reserve(t0), Duration::ZERO, "request {i} is in the burst");
        }
        assert_eq!(g.reserve(t0), g.interval);
        assert_eq!(g.reserve(t0), g.interval * 2);
        // Time passing refills the budget.
        let later = t0 + Duration::from_secs(60);
        assert_eq!(g.reserve(later), Duration::ZERO);
    }

    #[test]
    fn gcra_at_asana_rate_never_exceeds_1500_in_any_minute() {
        let mut g = Gcra::new(1500);
        let mut now = Instant::now();
        let mut times = Vec::new();
        for _ in 0..4000 {
            now += g.reserve(now);
            times.push(now);
        }
        let minute = Duration::from_secs(60);
        let mut most = 0;
        let mut end = 0;
        for (start, t) in times.iter().enumerate() {
            while end < times.len() && times[end] < *t + minute {
                end += 1;
            }
            most = most.max(end - start);
        }
        assert!((1450..=1500).contains(&most), "{most} in one minute");
    }

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
