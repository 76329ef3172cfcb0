//! Request counters, shared by every task using one client, so commands can report them and a
//! test can prove that `plan` sent no write.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use super::Method;

/// Live counters. Every attempt is counted, retries included: Asana counts rejected requests
/// against the quota too.
#[derive(Debug, Default)]
pub struct Stats {
    get: AtomicU64,
    post: AtomicU64,
    put: AtomicU64,
    patch: AtomicU64,
    delete: AtomicU64,
    retries: AtomicU64,
    throttled: AtomicU64,
}

/// The counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    pub get: u64,
    pub post: u64,
    pub put: u64,
    pub patch: u64,
    pub delete: u64,
    /// Attempts that were repeats of a failed one.
    pub retries: u64,
    /// 429 answers.
    pub throttled: u64,
}

impl Stats {
    pub fn snapshot(&self) -> StatsSnapshot {
        let n = |c: &AtomicU64| c.load(Ordering::Relaxed);
        StatsSnapshot {
            get: n(&self.get),
            post: n(&self.post),
            put: n(&self.put),
            patch: n(&self.patch),
            delete: n(&self.delete),
            retries: n(&self.retries),
            throttled: n(&self.throttled),
        }
    }

    pub(crate) fn sent(&self, method: Method) {
        let counter = match method {
            Method::Get => &self.get,
            Method::Post => &self.post,
            Method::Put => &self.put,
            Method::Patch => &self.patch,
            Method::Delete => &self.delete,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn retried(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn throttled(&self) {
        self.throttled.fetch_add(1, Ordering::Relaxed);
    }
}

impl StatsSnapshot {
    /// All requests sent.
    pub fn requests(&self) -> u64 {
        self.get + self.writes()
    }

    /// Requests with a method other than GET.
    pub fn writes(&self) -> u64 {
        self.post + self.put + self.patch + self.delete
    }
}

impl fmt::Display for StatsSnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} requests", self.requests())?;
        let parts: Vec<String> = [
            ("GET", self.get),
            ("POST", self.post),
            ("PUT", self.put),
            ("PATCH", self.patch),
            ("DELETE", self.delete),
        ]
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(m, n)| format!("{n} {m}"))
        .collect();
        if !parts.is_empty() {
            write!(f, " ({})", parts.join(", "))?;
        }
        write!(
            f,
            ", {} retried, {} rate-limited",
            self.retries, self.throttled
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_renders() {
        let s = Stats::default();
        s.sent(Method::Get);
        s.sent(Method::Get);
        s.sent(Method::Patch);
        s.retried();
        s.throttled();
        let snap = s.snapshot();
        assert_eq!((snap.requests(), snap.writes()), (3, 1));
        assert_eq!(
            snap.to_string(),
            "3 requests (2 GET, 1 PATCH), 1 retried, 1 rate-limited"
        );
    }
}
