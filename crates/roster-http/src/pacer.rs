//! Keeping under a server's limits, shared by every task that uses one adapter: a per-minute
//! request budget (no 60 s window holds more, with a second's guard; see
//! `roster_core::pacing::Budget`), separate caps on reads and writes in flight, and one shared
//! "resume at" instant so that a 429 pauses every worker, not only the one that got it.
//!
//! The arithmetic is `roster_core::pacing`'s (pure); this module holds its state, reads the
//! [`Clock`] and waits through it, so tests see the waits without sleeping.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{Semaphore, SemaphorePermit};

use super::clock::Clock;
use roster_core::pacing::{Budget, Pause, Usage};

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
    budget: Mutex<Budget>,
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
            budget: Mutex::new(Budget::new(requests_per_minute)),
            pause: Mutex::new(Pause::default()),
            reads: Semaphore::new(max_reads),
            writes: Semaphore::new(max_writes),
        }
    }

    fn now(&self) -> Duration {
        self.clock.now().saturating_duration_since(self.origin)
    }

    /// Waits until a request may be sent: a free slot in its lane, no pause in force, and a
    /// share of the budget. The permit is held while the request is in flight.
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
        loop {
            // A slot is taken only once no pause is in force, so that requests held by a 429
            // are spread again afterwards rather than all sent at its end.
            self.wait_out_pause().await;
            // The clock is read under the lock, so slots are granted in the order of `now`.
            let (slot, wait) = {
                let mut budget = lock(&self.budget);
                let now = self.now();
                let wait = budget.reserve(now);
                (now + wait, wait)
            };
            if !wait.is_zero() {
                self.clock.sleep(wait).await;
                // Woken late (a busy machine): the budget counts the request from now.
                let now = self.now();
                if now > slot {
                    lock(&self.budget).sent(slot, now);
                }
            }
            // A 429 may arrive while this task waits for its slot: the slot is spent (it was
            // counted), and the request takes another after the pause.
            let paused = lock(&self.pause).remaining(self.now()).is_some();
            if !paused {
                return permit;
            }
        }
    }

    async fn wait_out_pause(&self) {
        loop {
            let remaining = lock(&self.pause).remaining(self.now());
            match remaining {
                Some(wait) => self.clock.sleep(wait).await,
                None => return,
            }
        }
    }

    /// The budget and what was granted of it so far.
    pub(crate) fn usage(&self) -> Usage {
        lock(&self.budget).usage()
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

    /// The most of `times` (sorted) in any half-open window of `width`.
    fn most_in(times: &[Duration], width: Duration) -> usize {
        let mut most = 0;
        let mut end = 0;
        for (start, t) in times.iter().enumerate() {
            while end < times.len() && times[end] < *t + width {
                end += 1;
            }
            most = most.max(end - start);
        }
        most
    }

    #[tokio::test]
    async fn ten_thousand_requests_keep_every_minute_within_the_budget_and_sustain_0_97_of_it() {
        let clock = Arc::new(RecordingClock::new());
        let pacer = Pacer::new(1500, 50, 15, clock.clone());
        let start = clock.now();
        let mut sent = Vec::new();
        for i in 0..10_000 {
            let lane = if i % 3 == 0 { Lane::Read } else { Lane::Write };
            let _permit = pacer.admit(lane).await;
            sent.push(clock.now() - start);
        }
        let minute = Duration::from_secs(60);
        let most = most_in(&sent, minute);
        assert!(most <= 1500, "{most} requests in one minute");
        // A second to spare: the guarded window holds the budget too.
        assert!(most_in(&sent, minute + Duration::from_secs(1)) <= 1500);
        let minutes = (sent[9_999] - sent[0]).as_secs_f64() / 60.0;
        let ratio = 10_000.0 / (minutes * 1500.0);
        assert!(ratio >= 0.97, "{ratio:.4} of the budget");
        let usage = pacer.usage();
        assert_eq!((usage.per_minute, usage.requests), (1500, 10_000));
        assert_eq!(usage.peak_minute as usize, most);
    }

    #[tokio::test]
    async fn many_workers_keep_to_the_lanes_and_the_budget() {
        let clock = Arc::new(RecordingClock::new());
        let pacer = Arc::new(Pacer::new(600, 5, 3, clock.clone()));
        let start = clock.now();
        let in_flight = Arc::new(Mutex::new((0usize, 0usize, 0usize, 0usize)));
        let sent = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for w in 0..40 {
            let (pacer, clock, in_flight, sent) = (
                pacer.clone(),
                clock.clone(),
                in_flight.clone(),
                sent.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let lane = if w % 2 == 0 { Lane::Read } else { Lane::Write };
                for _ in 0..50 {
                    let permit = pacer.admit(lane).await;
                    lock(&sent).push(clock.now() - start);
                    {
                        let mut f = lock(&in_flight);
                        match lane {
                            Lane::Read => {
                                f.0 += 1;
                                f.2 = f.2.max(f.0);
                            }
                            Lane::Write => {
                                f.1 += 1;
                                f.3 = f.3.max(f.1);
                            }
                        }
                    }
                    // In flight across other tasks' turns.
                    for _ in 0..3 {
                        tokio::task::yield_now().await;
                    }
                    {
                        let mut f = lock(&in_flight);
                        match lane {
                            Lane::Read => f.0 -= 1,
                            Lane::Write => f.1 -= 1,
                        }
                    }
                    drop(permit);
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let (_, _, reads, writes) = *lock(&in_flight);
        assert_eq!((reads, writes), (5, 3), "the most in flight");
        let mut sent = lock(&sent).clone();
        sent.sort();
        assert_eq!(sent.len(), 2_000);
        let most = most_in(&sent, Duration::from_secs(60));
        assert!((550..=600).contains(&most), "{most} in one minute");
    }

    #[tokio::test]
    async fn a_429_during_a_wait_for_a_slot_takes_a_new_slot_after_the_pause() {
        let clock = Arc::new(RecordingClock::new());
        // 10 a minute: a burst of 1, then one every 6.1 s.
        let pacer = Arc::new(Pacer::new(10, 5, 5, clock.clone()));
        let _first = pacer.admit(Lane::Read).await;
        let second = {
            let pacer = pacer.clone();
            tokio::spawn(async move {
                let _p = pacer.admit(Lane::Read).await;
            })
        };
        // The second waits 6.1 s for its slot; a 429 pauses everyone for 30 s meanwhile.
        tokio::task::yield_now().await;
        pacer.pause_for(Duration::from_secs(30));
        second.await.unwrap();
        let interval = Duration::from_secs(61) / 10;
        // It waited for its slot, then for the rest of the pause; then took a slot again.
        let sleeps = clock.sleeps();
        assert_eq!(sleeps[0], interval, "{sleeps:?}");
        assert!(clock.elapsed() >= Duration::from_secs(30), "{sleeps:?}");
        assert_eq!(pacer.usage().requests, 3);
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
