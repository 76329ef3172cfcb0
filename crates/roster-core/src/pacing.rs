//! The arithmetic of keeping under a server's limits, without a clock: every function takes
//! the time it is asked about, as a [`Duration`] since a starting point the caller chose (the
//! HTTP adapter's is when it was built). The adapter reads its clock, asks these, and waits.
//!
//! - [`Budget`]: a per-minute request budget kept the way the server counts it: no window of
//!   [`WINDOW`] may hold more than the budget. The client keeps the send times of its last
//!   `budget` requests and lets a request go only when the one `budget` requests before it is
//!   at least [`WINDOW`] + [`GUARD`] old, so a long run sustains `budget` requests every 61
//!   seconds (0.984 of the budget), and the guard absorbs a second of difference between when
//!   the client sends and when the server counts (network latency varies; a server may count
//!   in whole seconds). A request whose task woke after its slot is counted from when it went
//!   ([`Budget::sent`]). Within that, requests are spread at one every 61 s / `budget` past a
//!   burst of a tenth of the budget (a generic cell rate algorithm, kept as one timestamp), so
//!   a short run does not wait at all and a long one does not spend each minute's budget in
//!   its first seconds.
//! - [`Pause`]: the one "resume at" instant a 429 moves forward, so every worker waits out a
//!   `Retry-After`, not only the one that got it.

use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

/// The server's window: Asana's budget is per minute.
pub const WINDOW: Duration = Duration::from_secs(60);

/// What the client adds to [`WINDOW`] for itself: the server counts a request when it arrives,
/// which is not exactly when the client sent it.
pub const GUARD: Duration = Duration::from_secs(1);

/// A per-minute budget: where in time each request may go.
#[derive(Debug)]
pub struct Budget {
    per_minute: u32,
    /// The spacing once the burst is spent: ([`WINDOW`] + [`GUARD`]) / budget.
    interval: Duration,
    /// How far ahead of the spacing requests may run: `burst - 1` intervals.
    tolerance: Duration,
    /// The spacing's theoretical arrival time of the next request.
    tat: Option<Duration>,
    /// The slots granted in the last [`WINDOW`] + [`GUARD`], oldest first; at most `per_minute`.
    slots: VecDeque<Duration>,
    usage: Usage,
}

/// What a [`Budget`] granted so far: for "requests used / budget" in reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// The budget: requests a minute.
    pub per_minute: u32,
    /// Slots granted (every attempt, retries included).
    pub requests: u64,
    /// The most slots granted in any [`WINDOW`].
    pub peak_minute: u32,
    /// The first and the last slot, when any was granted.
    pub first: Option<Duration>,
    pub last: Option<Duration>,
}

impl Usage {
    /// The time from the first slot to the last.
    pub fn span(&self) -> Duration {
        match (self.first, self.last) {
            (Some(a), Some(b)) => b.saturating_sub(a),
            _ => Duration::ZERO,
        }
    }
}

/// "busiest minute 1,476 of 1,500 requests; 10,012 requests over 6.8 min": requests used
/// against the budget, for `-v` and the apply summary.
impl fmt::Display for Usage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let span = self.span();
        write!(
            f,
            "busiest minute {} of {} requests; {} requests over ",
            thousands(u64::from(self.peak_minute)),
            thousands(u64::from(self.per_minute)),
            thousands(self.requests)
        )?;
        if span < WINDOW {
            write!(f, "{:.1} s", span.as_secs_f64())
        } else {
            write!(f, "{:.1} min", span.as_secs_f64() / 60.0)
        }
    }
}

/// `10012` as `10,012`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl Budget {
    /// A budget of `per_minute` requests (at least 1).
    pub fn new(per_minute: u32) -> Budget {
        let per_minute = per_minute.max(1);
        let burst = (per_minute / 10).max(1);
        let interval = (WINDOW + GUARD) / per_minute;
        Budget {
            per_minute,
            interval,
            tolerance: interval * (burst - 1),
            tat: None,
            slots: VecDeque::new(),
            usage: Usage {
                per_minute,
                ..Usage::default()
            },
        }
    }

    /// The time between two requests once the burst is spent.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// What was granted so far.
    pub fn usage(&self) -> Usage {
        self.usage
    }

    /// Reserves the next slot for a request asked for at `now`; returns how long to wait
    /// before sending it. Slots never go backwards, so calls may come in any order of `now`.
    pub fn reserve(&mut self, now: Duration) -> Duration {
        let span = WINDOW + GUARD;
        while self.slots.front().is_some_and(|&s| s + span <= now) {
            self.slots.pop_front();
        }
        let mut at = self.usage.last.map_or(now, |last| last.max(now));
        if let Some(tat) = self.tat {
            at = at.max(tat.saturating_sub(self.tolerance));
        }
        let budget = self.per_minute as usize;
        if self.slots.len() >= budget {
            // The request `budget` before this one must have left the (guarded) window.
            at = at.max(self.slots[self.slots.len() - budget] + span);
        }
        self.tat = Some(self.tat.map_or(at, |t| t.max(at)) + self.interval);
        // The slots in the minute up to and including this one.
        let recent = self.slots.len() - self.slots.partition_point(|&s| s + WINDOW <= at);
        self.slots.push_back(at);
        if self.slots.len() > budget {
            self.slots.pop_front();
        }
        let u = &mut self.usage;
        u.requests += 1;
        u.peak_minute = u.peak_minute.max(recent as u32 + 1);
        u.first.get_or_insert(at);
        u.last = Some(at);
        at - now
    }

    /// Records that the request given `slot` went only at `at` (its task woke late, on a busy
    /// machine): the window counts it from when it went, so the request `budget` after it
    /// keeps the full window from it. Nothing changes when `at` is not later, or the slot is no
    /// longer in the window.
    pub fn sent(&mut self, slot: Duration, at: Duration) {
        if at <= slot {
            return;
        }
        // Slots still waiting to be sent are the most recent: look from the back.
        let Some(mut k) = (0..self.slots.len()).rev().find(|&k| self.slots[k] == slot) else {
            return;
        };
        self.slots[k] = at;
        // Kept in order: later slots that it now passes move before it.
        while k + 1 < self.slots.len() && self.slots[k + 1] < self.slots[k] {
            self.slots.swap(k, k + 1);
            k += 1;
        }
        if let Some(last) = self.usage.last
            && last < at
        {
            self.usage.last = Some(at);
        }
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

    /// The slots a budget grants to `n` requests all asked for as early as they may go (a
    /// client that always has work), from `t0`.
    fn schedule(per_minute: u32, n: usize) -> Vec<Duration> {
        let mut b = Budget::new(per_minute);
        let mut now = t0();
        (0..n)
            .map(|_| {
                now += b.reserve(now);
                now
            })
            .collect()
    }

    /// The most slots in any half-open window of `width`.
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

    #[test]
    fn a_burst_goes_at_once_then_requests_are_spaced() {
        // 600 a minute: a burst of 60, then one every 61 s / 600.
        let mut b = Budget::new(600);
        assert_eq!(b.interval(), Duration::from_secs(61) / 600);
        let t0 = t0();
        for i in 0..60 {
            assert_eq!(b.reserve(t0), Duration::ZERO, "request {i} is in the burst");
        }
        assert_eq!(b.reserve(t0), b.interval());
        assert_eq!(b.reserve(t0), b.interval() * 2);
        // Time passing refills the burst.
        let later = t0 + Duration::from_secs(61);
        assert_eq!(b.reserve(later), Duration::ZERO);
    }

    #[test]
    fn no_minute_holds_more_than_the_budget_and_a_long_run_sustains_it() {
        for per_minute in [1, 7, 150, 600, 1_500, 3_000] {
            let n = (per_minute as usize * 7).max(10_000);
            let times = schedule(per_minute, n);
            let budget = per_minute as usize;
            // The guarded window holds the budget at most, so the server's minute does too,
            // with a second to spare.
            assert!(
                most_in(&times, WINDOW + GUARD) <= budget,
                "{per_minute}/min"
            );
            assert!(most_in(&times, WINDOW) <= budget, "{per_minute}/min");
            // A long run sustains the budget every 61 s.
            let minutes = (times[n - 1] - times[0]).as_secs_f64() / 60.0;
            let ratio = n as f64 / (minutes * f64::from(per_minute));
            assert!(ratio >= 0.97, "{per_minute}/min: {ratio:.4} of the budget");
            let usage = Budget::new(per_minute).usage();
            assert_eq!((usage.per_minute, usage.requests), (per_minute, 0));
        }
    }

    #[test]
    fn at_asana_rate_10000_requests_keep_0_98_of_the_budget() {
        let times = schedule(1_500, 10_000);
        let most = most_in(&times, WINDOW);
        assert!((1_450..=1_500).contains(&most), "{most} in one minute");
        let minutes = (times[9_999] - times[0]).as_secs_f64() / 60.0;
        let ratio = 10_000.0 / (minutes * 1_500.0);
        assert!(ratio >= 0.98, "{ratio:.4}");
    }

    #[test]
    fn usage_counts_slots_and_the_busiest_minute() {
        let mut b = Budget::new(1_500);
        let mut now = t0();
        for _ in 0..2_000 {
            now += b.reserve(now);
        }
        let u = b.usage();
        assert_eq!(u.requests, 2_000);
        assert_eq!(u.first, Some(t0()));
        assert_eq!(u.last, Some(now));
        let times = schedule(1_500, 2_000);
        assert_eq!(u.peak_minute as usize, most_in(&times, WINDOW));
        assert!(u.peak_minute <= 1_500 && u.peak_minute > 1_400, "{u:?}");
    }

    #[test]
    fn usage_reads_as_used_of_the_budget() {
        let u = Usage {
            per_minute: 1_500,
            requests: 10_012,
            peak_minute: 1_476,
            first: Some(t0()),
            last: Some(t0() + Duration::from_secs(408)),
        };
        assert_eq!(
            u.to_string(),
            "busiest minute 1,476 of 1,500 requests; 10,012 requests over 6.8 min"
        );
        let mut b = Budget::new(150);
        for _ in 0..3 {
            b.reserve(t0());
        }
        assert_eq!(
            b.usage().to_string(),
            "busiest minute 3 of 150 requests; 3 requests over 0.0 s"
        );
        assert_eq!(thousands(1_000_000), "1,000,000");
        assert_eq!(thousands(999), "999");
    }

    #[test]
    fn a_request_sent_late_is_counted_from_when_it_went() {
        // 3 a minute: a burst of 1, then one every 61/3 s, and never a fourth in 61 s.
        let mut b = Budget::new(3);
        let t0 = t0();
        let first = t0 + b.reserve(t0);
        assert_eq!(first, t0);
        // It went 5 s late.
        b.sent(first, t0 + Duration::from_secs(5));
        let second = t0 + b.reserve(t0);
        let third = t0 + b.reserve(t0);
        let fourth = t0 + b.reserve(t0);
        assert!(second < third && third < fourth);
        // The fourth keeps 61 s from when the first went, not from its slot.
        assert_eq!(fourth, t0 + Duration::from_secs(5) + WINDOW + GUARD);
        // A request on time, or one no longer in the window, changes nothing.
        b.sent(fourth, fourth);
        b.sent(t0 - Duration::from_secs(100), t0);
        let fifth = t0 + b.reserve(t0);
        assert!(
            fifth >= second + WINDOW + GUARD,
            "the fifth keeps 61 s from the second"
        );
    }

    #[test]
    fn slots_never_go_backwards_whatever_order_the_times_come_in() {
        let mut b = Budget::new(60);
        let t0 = t0();
        let mut last = Duration::ZERO;
        for i in 0..200u32 {
            // A caller that read the clock a little earlier than the previous one.
            let now = t0 + Duration::from_millis(u64::from(i * 7 % 13));
            let at = now + b.reserve(now);
            assert!(at >= last, "slot {i} went backwards");
            last = at;
        }
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
