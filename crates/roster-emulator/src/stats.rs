//! What the emulator saw: requests by method and status, the highest concurrency, 429s and
//! injected faults, served at `GET /_emulator/stats` so tests can assert "the plan made no
//! writes" or "apply hit no limit".
//!
//! Counts SCIM requests only; the `/_emulator/*` endpoints never count.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::limits::Access;

/// The counters, as `GET /_emulator/stats` returns them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatsSnapshot {
    /// Every SCIM request received, whatever became of it.
    pub requests: u64,
    /// GET requests received.
    pub reads: u64,
    /// POST, PUT, PATCH and DELETE requests received.
    pub writes: u64,
    /// Method -> status -> count; requests that got no answer count under `reset` or `hang`.
    pub by_method: BTreeMap<String, BTreeMap<String, u64>>,
    /// Status -> count, over all methods.
    pub by_status: BTreeMap<String, u64>,
    /// 429 answers (any limit).
    pub rate_limited: u64,
    /// Connections reset by fault injection (hangs end in a reset too, counted in `hangs`).
    pub resets: u64,
    pub hangs: u64,
    /// The most SCIM requests in flight at once (all tokens), from arrival to answer.
    pub max_concurrency: u64,
    pub max_concurrent_reads: u64,
    pub max_concurrent_writes: u64,
}

#[derive(Debug, Default)]
struct Inner {
    snapshot: StatsSnapshot,
    in_flight: u64,
    reads: u64,
    writes: u64,
}

#[derive(Debug, Default)]
pub struct Stats {
    inner: Mutex<Inner>,
}

impl Stats {
    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic elsewhere cannot leave counters half-updated in a way that matters.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records an arriving request; it stays in flight until [`Stats::finish`].
    pub fn start(&self, access: Access) {
        let mut i = self.inner();
        i.in_flight += 1;
        i.snapshot.requests += 1;
        i.snapshot.max_concurrency = i.snapshot.max_concurrency.max(i.in_flight);
        match access {
            Access::Read => {
                i.reads += 1;
                i.snapshot.reads += 1;
                i.snapshot.max_concurrent_reads = i.snapshot.max_concurrent_reads.max(i.reads);
            }
            Access::Write => {
                i.writes += 1;
                i.snapshot.writes += 1;
                i.snapshot.max_concurrent_writes = i.snapshot.max_concurrent_writes.max(i.writes);
            }
        }
    }

    /// Records how a request ended: a status code, `reset` or `hang`.
    pub fn finish(&self, access: Access, method: &str, outcome: &str) {
        let mut i = self.inner();
        i.in_flight = i.in_flight.saturating_sub(1);
        match access {
            Access::Read => i.reads = i.reads.saturating_sub(1),
            Access::Write => i.writes = i.writes.saturating_sub(1),
        }
        let s = &mut i.snapshot;
        *s.by_method
            .entry(method.to_string())
            .or_default()
            .entry(outcome.to_string())
            .or_default() += 1;
        *s.by_status.entry(outcome.to_string()).or_default() += 1;
        match outcome {
            "429" => s.rate_limited += 1,
            "reset" => s.resets += 1,
            "hang" => s.hangs += 1,
            _ => {}
        }
    }

    pub fn snapshot(&self) -> StatsSnapshot {
        self.inner().snapshot.clone()
    }

    /// Zeroes the counters; requests in flight still finish and count afterwards.
    pub fn reset(&self) {
        let mut i = self.inner();
        i.snapshot = StatsSnapshot::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_method_status_and_peak_concurrency() {
        let s = Stats::default();
        s.start(Access::Read);
        s.start(Access::Write);
        s.start(Access::Read);
        s.finish(Access::Read, "GET", "200");
        s.finish(Access::Read, "GET", "429");
        s.finish(Access::Write, "PATCH", "reset");
        let snap = s.snapshot();
        assert_eq!((snap.requests, snap.reads, snap.writes), (3, 2, 1));
        assert_eq!(snap.max_concurrency, 3);
        assert_eq!(
            (snap.max_concurrent_reads, snap.max_concurrent_writes),
            (2, 1)
        );
        assert_eq!(snap.by_method["GET"]["200"], 1);
        assert_eq!(snap.by_status["429"], 1);
        assert_eq!((snap.rate_limited, snap.resets), (1, 1));
        s.reset();
        assert_eq!(s.snapshot(), StatsSnapshot::default());
    }
}
