//! The arithmetic of keeping under a server's limits, without a clock: every function takes
//! the time it is asked about, as a [`Duration`] since a starting point the caller chose (the
//! HTTP adapter's is when it was built). The adapter reads its clock, asks these, and waits.
//!
//! - [`Gcra`]: a per-minute request budget as a generic cell rate algorithm (a token bucket
//!   kept as one timestamp) with a burst of a tenth of a minute's budget, refilled at the rest
//!   of the budget per minute, so that no 60-second window holds more than the budget.
//! - [`Pause`]: the one "resume at" instant a 429 moves forward, so every worker waits out a
//!   `Retry-After`, not only the one that got it.

use std::time::Duration;

/// Generic cell rate algorithm: `tat` is the theoretical arrival time of the next request.
#[derive(Debug)]
pub struct Gcra {
    interval: Duration,
    /// How far ahead of schedule requests may run: `burst - 1` intervals.
    tolerance: Duration,
    tat: Option<Duration>,
}

impl Gcra {
    /// A budget of `per_minute` requests (at least 1).
    pub fn new(per_minute: u32) -> Gcra {
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

    /// The time between two requests once the burst is spent.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Reserves the next slot for a request asked for at `now`; returns how long to wait
    /// before sending it.
    pub fn reserve(&mut self, now: Duration) -> Duration {
        let tat = self.tat.map_or(now, |t| t.max(now));
        let wait = tat.saturating_sub(now + self.tolerance);
        self.tat = Some(tat + self.interval);
        wait
    }
}

/// When requests may resume after a 429, shared by every worker.
#[derive(Debug, Default)]
pub struct Pause {
    resume_at: Option<Duration>,
}

impl Pause {
    /// Holds every request until `after` past `now`. A later pause already in force is kept.
    pub fn extend(&mut self, now: Duration, after: Duration) {
        let until = now.saturating_add(after);
        if self.resume_at.is_none_or(|at| at < until) {
            self.resume_at = Some(until);
        }
    }

    /// How long a request asked for at `now` must still wait; `None` when no pause is in force.
    pub fn remaining(&self, now: Duration) -> Option<Duration> {
        self.resume_at.filter(|at| *at > now).map(|at| at - now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Times are what the caller says: any starting point will do.
    fn t0() -> Duration {
        Duration::from_secs(1_000)
    }

    #[test]
    fn gcra_allows_a_burst_then_paces() {
        // 600/min: bursts of 60, then 540 a minute.
        let mut g = Gcra::new(600);
        assert_eq!(g.interval(), Duration::from_secs(60) / 540);
        let t0 = t0();
        for i in 0..60 {
            assert_eq!(g.reserve(t0), Duration::ZERO, "request {i} is in the burst");
        }
        assert_eq!(g.reserve(t0), g.interval());
        assert_eq!(g.reserve(t0), g.interval() * 2);
        // Time passing refills the budget.
        let later = t0 + Duration::from_secs(60);
        assert_eq!(g.reserve(later), Duration::ZERO);
    }

    #[test]
    fn gcra_at_asana_rate_never_exceeds_1500_in_any_minute() {
        let mut g = Gcra::new(1500);
        let mut now = t0();
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

    #[test]
    fn a_pause_is_only_ever_extended() {
        let t0 = t0();
        let mut p = Pause::default();
        assert_eq!(p.remaining(t0), None);
        p.extend(t0, Duration::from_secs(30));
        // A shorter pause does not cut the longer one short.
        p.extend(t0, Duration::from_secs(5));
        assert_eq!(p.remaining(t0), Some(Duration::from_secs(30)));
        assert_eq!(
            p.remaining(t0 + Duration::from_secs(10)),
            Some(Duration::from_secs(20))
        );
        assert_eq!(p.remaining(t0 + Duration::from_secs(30)), None);
        // A later one does.
        p.extend(t0 + Duration::from_secs(20), Duration::from_secs(20));
        assert_eq!(p.remaining(t0), Some(Duration::from_secs(40)));
    }
}
