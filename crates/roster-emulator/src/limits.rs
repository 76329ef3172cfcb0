//! Asana's per-token limits (reference §2): requests per minute, concurrent reads, concurrent
//! writes; over a limit the answer is 429 with a `Retry-After`. And the length of the values
//! the emulator stores ([`check_value_lengths`]), which Asana does not document.
//!
//! The decision is a pure function of the limiter's state and an emulated time in ms, so it is
//! tested without sockets or sleeps. The window slides: a request is admitted when fewer than
//! `requests_per_minute` requests (admitted or rejected, since Asana counts rejected requests
//! too) arrived in the 60 emulated seconds before it.

use std::collections::VecDeque;

use serde_json::{Map, Value};

/// The longest userName and email value the emulator stores, in characters: an email address
/// cannot be longer (RFC 5321). The same limit roster checks at validation.
pub const MAX_ADDRESS_CHARS: usize = roster_core::mapping::targets::MAX_ADDRESS_CHARS;

/// The default for every other string (`--max-value-length`): Asana documents no limit, so
/// this is roster's own choice, which validation checks too.
pub const DEFAULT_MAX_VALUE_CHARS: usize = roster_core::mapping::targets::MAX_CHARS;

/// Checks every string in a resource's attributes (as stored: canonical names) against its
/// limit: [`MAX_ADDRESS_CHARS`] for `userName` and `emails[].value`, `max_chars` for the rest.
/// `0` switches the second off. The error names the attribute, for a 400 `invalidValue`.
pub fn check_value_lengths(attrs: &Map<String, Value>, max_chars: usize) -> Result<(), String> {
    fn walk(path: &str, v: &Value, limit: usize, max_chars: usize) -> Result<(), String> {
        match v {
            Value::String(s) => {
                let chars = s.chars().count();
                if limit > 0 && chars > limit {
                    return Err(format!(
                        "{path} is {chars} characters long; the most this server stores is {limit}"
                    ));
                }
                Ok(())
            }
            Value::Array(items) => items
                .iter()
                .try_for_each(|item| walk(path, item, limit, max_chars)),
            Value::Object(fields) => fields.iter().try_for_each(|(k, v)| {
                let limit = if path == "emails" && k == "value" {
                    MAX_ADDRESS_CHARS
                } else {
                    max_chars
                };
                walk(&format!("{path}.{k}"), v, limit, max_chars)
            }),
            _ => Ok(()),
        }
    }
    attrs.iter().try_for_each(|(k, v)| {
        let limit = if k == "userName" {
            MAX_ADDRESS_CHARS
        } else {
            max_chars
        };
        // An object's fields are named from the attribute down: `emails.value`, `name.formatted`.
        match v {
            Value::Object(_) | Value::Array(_) => walk(k, v, max_chars, max_chars),
            _ => walk(k, v, limit, max_chars),
        }
    })
}

/// The limits, per token. `0` switches a limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitsConfig {
    pub requests_per_minute: u32,
    pub concurrent_reads: u32,
    pub concurrent_writes: u32,
}

impl Default for LimitsConfig {
    /// Asana's paid-plan numbers.
    fn default() -> Self {
        LimitsConfig {
            requests_per_minute: 1500,
            concurrent_reads: 50,
            concurrent_writes: 15,
        }
    }
}

/// The rate window, in emulated ms.
pub const WINDOW_MS: u64 = 60_000;

/// How long a concurrency-limited client is told to wait, in emulated ms: the emulator cannot
/// know when in-flight requests end, and most finish well within a second.
pub const CONCURRENCY_RETRY_MS: u64 = 1_000;

/// Reads are GETs; every other method is a write (Asana counts POST/PUT/PATCH/DELETE together).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    Rate,
    ConcurrentReads,
    ConcurrentWrites,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Admit,
    /// Rejected; the client may retry after `retry_after_ms` emulated ms.
    Reject {
        limit: Limit,
        retry_after_ms: u64,
    },
}

/// One token's limiter state.
#[derive(Debug, Default)]
pub struct TokenLimiter {
    /// Arrival times (emulated ms) inside the current window, oldest first.
    arrivals: VecDeque<u64>,
    reads: u32,
    writes: u32,
}

impl TokenLimiter {
    /// Counts a request arriving at `now` and decides on it; an admitted request holds a
    /// concurrency slot until [`TokenLimiter::release`].
    pub fn admit(&mut self, cfg: &LimitsConfig, now: u64, access: Access) -> Decision {
        while self.arrivals.front().is_some_and(|&t| t + WINDOW_MS <= now) {
            self.arrivals.pop_front();
        }
        if cfg.requests_per_minute > 0 {
            self.arrivals.push_back(now);
            let limit = cfg.requests_per_minute as usize;
            if self.arrivals.len() > limit {
                // A request at time t is admitted once the oldest len-limit+1 arrivals have left
                // the window, i.e. when arrivals[len-limit] + WINDOW <= t.
                let pivot = self.arrivals[self.arrivals.len() - limit];
                return Decision::Reject {
                    limit: Limit::Rate,
                    retry_after_ms: (pivot + WINDOW_MS).saturating_sub(now).max(1),
                };
            }
        }
        let (in_flight, max, limit) = match access {
            Access::Read => (
                &mut self.reads,
                cfg.concurrent_reads,
                Limit::ConcurrentReads,
            ),
            Access::Write => (
                &mut self.writes,
                cfg.concurrent_writes,
                Limit::ConcurrentWrites,
            ),
        };
        if max > 0 && *in_flight >= max {
            return Decision::Reject {
                limit,
                retry_after_ms: CONCURRENCY_RETRY_MS,
            };
        }
        *in_flight += 1;
        Decision::Admit
    }

    /// Frees the slot an admitted request held.
    pub fn release(&mut self, access: Access) {
        let n = match access {
            Access::Read => &mut self.reads,
            Access::Write => &mut self.writes,
        };
        *n = n.saturating_sub(1);
    }
}

/// `Retry-After` in whole emulated seconds, at least 1 (RFC 9110 allows only integers).
pub fn retry_after_secs(retry_after_ms: u64) -> u64 {
    retry_after_ms.div_ceil(1000).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(rpm: u32, reads: u32, writes: u32) -> LimitsConfig {
        LimitsConfig {
            requests_per_minute: rpm,
            concurrent_reads: reads,
            concurrent_writes: writes,
        }
    }

    #[test]
    fn rate_window_slides_and_rejected_requests_count() {
        let c = cfg(3, 0, 0);
        let mut patient = TokenLimiter::default();
        for t in [0, 10, 20] {
            assert_eq!(patient.admit(&c, t, Access::Read), Decision::Admit);
            patient.release(Access::Read);
        }
        // The fourth counts too, so the window must lose two arrivals (0 and 10) first.
        assert_eq!(
            patient.admit(&c, 30, Access::Read),
            Decision::Reject {
                limit: Limit::Rate,
                retry_after_ms: 59_980
            }
        );
        let mut impatient = TokenLimiter::default();
        for t in [0, 10, 20, 30] {
            impatient.admit(&c, t, Access::Read);
        }
        assert_eq!(patient.admit(&c, 60_010, Access::Read), Decision::Admit);
        // Retrying early is rejected and counted again, which pushes the wait further.
        assert_eq!(
            impatient.admit(&c, 60_000, Access::Read),
            Decision::Reject {
                limit: Limit::Rate,
                retry_after_ms: 20
            }
        );
        assert!(matches!(
            impatient.admit(&c, 60_010, Access::Read),
            Decision::Reject { .. }
        ));
    }

    #[test]
    fn waiting_retry_after_is_enough_for_a_patient_client() {
        let c = cfg(2, 0, 0);
        let mut l = TokenLimiter::default();
        l.admit(&c, 0, Access::Write);
        l.admit(&c, 5_000, Access::Write);
        let Decision::Reject { retry_after_ms, .. } = l.admit(&c, 6_000, Access::Write) else {
            panic!("expected a rejection")
        };
        assert_eq!(retry_after_ms, 59_000);
        // Arrivals are 0, 5_000 and the rejected 6_000; at 65_000 only 6_000 is left.
        assert_eq!(l.admit(&c, 65_000, Access::Write), Decision::Admit);
    }

    #[test]
    fn concurrency_is_counted_per_access_kind() {
        let c = cfg(0, 2, 1);
        let mut l = TokenLimiter::default();
        assert_eq!(l.admit(&c, 0, Access::Write), Decision::Admit);
        assert_eq!(
            l.admit(&c, 0, Access::Write),
            Decision::Reject {
                limit: Limit::ConcurrentWrites,
                retry_after_ms: CONCURRENCY_RETRY_MS
            }
        );
        assert_eq!(l.admit(&c, 0, Access::Read), Decision::Admit);
        assert_eq!(l.admit(&c, 0, Access::Read), Decision::Admit);
        assert!(matches!(
            l.admit(&c, 0, Access::Read),
            Decision::Reject {
                limit: Limit::ConcurrentReads,
                ..
            }
        ));
        l.release(Access::Write);
        assert_eq!(l.admit(&c, 0, Access::Write), Decision::Admit);
    }

    #[test]
    fn value_lengths_are_checked_per_attribute() {
        let user = |title: usize, email: usize| {
            let v = serde_json::json!({
                "userName": "a@b.co",
                "title": "t".repeat(title),
                "emails": [{"type": "work", "value": format!("{}@b.co", "e".repeat(email))}],
                "name": {"formatted": "A"},
            });
            v.as_object().unwrap().clone()
        };
        assert_eq!(check_value_lengths(&user(256, 200), 256), Ok(()));
        assert_eq!(
            check_value_lengths(&user(257, 10), 256),
            Err("title is 257 characters long; the most this server stores is 256".into())
        );
        // Email addresses have their own limit, whatever the setting.
        assert_eq!(check_value_lengths(&user(10, 249), 1000), Ok(()));
        assert!(
            check_value_lengths(&user(10, 250), 1000)
                .unwrap_err()
                .starts_with("emails.value is 255 characters long")
        );
        // 0 switches the general limit off.
        assert_eq!(check_value_lengths(&user(100_000, 10), 0), Ok(()));
    }

    #[test]
    fn retry_after_is_whole_seconds_at_least_one() {
        assert_eq!(retry_after_secs(1), 1);
        assert_eq!(retry_after_secs(1000), 1);
        assert_eq!(retry_after_secs(1001), 2);
        assert_eq!(retry_after_secs(59_970), 60);
    }
}
