//! When to try a request again, and how long to wait first.
//!
//! [`decide`] is a pure function of the attempt number, what happened and the [`Policy`]; the
//! HTTP adapter does the waiting (through its clock), so these rules are tested without
//! sleeping. [`parse_retry_after`] reads a server's `Retry-After`, as seconds or as an HTTP date.
//! This module does no IO and reads no clock: the time an HTTP date is measured from is given.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// What one attempt of a request ended with, as far as retrying is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The server answered with an error status. `retry_after` is the server's requested wait
    /// (see [`parse_retry_after`]).
    Status {
        code: u16,
        retry_after: Option<Duration>,
    },
    /// No answer. `replay_safe` says whether sending the request again is harmless even if the
    /// server acted on the first one (every method but POST; a token request too).
    Transport {
        kind: TransportKind,
        replay_safe: bool,
    },
}

/// How a request failed without an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    /// No connection was made: the server never saw the request.
    Connect,
    /// No answer within the timeout: the server may have acted on the request.
    Timeout,
    /// The connection dropped (reset, closed early): the server may have acted on the request.
    ConnectionLost,
    /// Anything else (a malformed response, a redirect loop): not worth repeating.
    Other,
}

impl fmt::Display for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportKind::Connect => "could not connect",
            TransportKind::Timeout => "timed out",
            TransportKind::ConnectionLost => "connection lost",
            TransportKind::Other => "request failed",
        })
    }
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Wait `after`, then send the request again.
    Retry { after: Duration },
    /// Stop and report the failure.
    GiveUp(GiveUp),
}

/// Why a request is not tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GiveUp {
    /// The failure is permanent (a 4xx other than 408 and 429, or an unclassified error).
    NotRetryable,
    /// `max_retries` retries were made.
    Exhausted,
    /// The server asked to wait longer than `max_retry_after`.
    RetryAfterTooLong,
    /// The connection failed after a POST was sent; repeating it could create a duplicate.
    MayHaveApplied,
}

/// The retry rules. Backoff without a `Retry-After` is exponential from `base`, capped at
/// `max_backoff`, with "equal jitter": a wait in `[b/2, b]` for a nominal backoff `b`.
#[derive(Debug)]
pub struct Policy {
    pub max_retries: u32,
    pub base: Duration,
    pub max_backoff: Duration,
    pub max_retry_after: Duration,
    pub jitter: Jitter,
}

impl Clone for Policy {
    fn clone(&self) -> Policy {
        Policy {
            jitter: self.jitter.clone(),
            ..*self
        }
    }
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            max_retries: 5,
            base: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(300),
            jitter: Jitter::from_entropy(),
        }
    }
}

/// The source of jitter: off (every wait is the nominal backoff) or a seeded generator
/// (SplitMix64), so a test that seeds it sees the same waits every run. Shared by all tasks.
#[derive(Debug)]
pub enum Jitter {
    Off,
    Seeded(AtomicU64),
}

impl Clone for Jitter {
    fn clone(&self) -> Jitter {
        match self {
            Jitter::Off => Jitter::Off,
            Jitter::Seeded(state) => Jitter::Seeded(AtomicU64::new(state.load(Ordering::Relaxed))),
        }
    }
}

impl Jitter {
    pub fn seeded(seed: u64) -> Jitter {
        Jitter::Seeded(AtomicU64::new(seed))
    }

    /// Seeded from the process's hash randomness, so concurrent roster runs do not retry in step.
    pub fn from_entropy() -> Jitter {
        use std::hash::{BuildHasher, RandomState};
        Jitter::seeded(RandomState::new().hash_one(0x5eed_u64))
    }

    /// A number in `[0, 1)`, or 1 when jitter is off.
    pub fn sample(&self) -> f64 {
        match self {
            Jitter::Off => 1.0,
            Jitter::Seeded(state) => crate::splitmix::unit(crate::splitmix::next_shared(state)),
        }
    }
}

/// Decides what to do after attempt number `attempt` (1 for the first) ended with `outcome`.
///
/// Retried: connection failures, timeouts and dropped connections (but not after a POST was
/// sent), 408, 429, and 5xx other than 501 and 505. A `Retry-After` is honoured exactly
/// (no jitter) so that every worker resumes when the server said; a longer one than
/// `max_retry_after` gives up rather than stall the run.
pub fn decide(attempt: u32, outcome: &Outcome, policy: &Policy) -> Decision {
    let retry_after = match outcome {
        Outcome::Status { code, retry_after } => {
            let retryable =
                matches!(code, 408 | 429) || (*code >= 500 && !matches!(code, 501 | 505));
            if !retryable {
                return Decision::GiveUp(GiveUp::NotRetryable);
            }
            *retry_after
        }
        Outcome::Transport { kind, replay_safe } => {
            match kind {
                TransportKind::Connect => {}
                TransportKind::Timeout | TransportKind::ConnectionLost if *replay_safe => {}
                TransportKind::Timeout | TransportKind::ConnectionLost => {
                    return Decision::GiveUp(GiveUp::MayHaveApplied);
                }
                TransportKind::Other => return Decision::GiveUp(GiveUp::NotRetryable),
            }
            None
        }
    };
    if attempt > policy.max_retries {
        return Decision::GiveUp(GiveUp::Exhausted);
    }
    if let Some(after) = retry_after {
        if after > policy.max_retry_after {
            return Decision::GiveUp(GiveUp::RetryAfterTooLong);
        }
        return Decision::Retry { after };
    }
    Decision::Retry {
        after: backoff(attempt, policy),
    }
}

/// The jittered exponential backoff after attempt `attempt`.
fn backoff(attempt: u32, policy: &Policy) -> Duration {
    let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
    let nominal = policy.base.saturating_mul(factor).min(policy.max_backoff);
    let half = nominal / 2;
    half + (nominal - half).mul_f64(policy.jitter.sample())
}

/// The longest wait [`parse_retry_after`] reports: a larger `Retry-After` (or `inf`) is read
/// as this, so that it is refused as too long rather than ignored.
const LONGEST_WAIT_SECS: f64 = 1e12;

/// The wait a response asks for in its `Retry-After` (RFC 9110 §10.2.3): delay-seconds,
/// whole or decimal, or an HTTP date. A date is measured from the response's `Date` header
/// when it has a valid one (the server's own clock, so a skewed local clock neither stretches
/// nor cuts the wait), else from `now` (the local time, as a duration since the Unix epoch);
/// a date already past is no wait. Anything else (a negative number, junk) is ignored and the
/// backoff applies.
pub fn parse_retry_after(
    retry_after: Option<&str>,
    date: Option<&str>,
    now: Duration,
) -> Option<Duration> {
    let value = retry_after?.trim();
    if let Ok(secs) = value.parse::<f64>() {
        return (secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(LONGEST_WAIT_SECS)));
    }
    let at = since_epoch(value)?;
    let from = date.and_then(|d| since_epoch(d.trim())).unwrap_or(now);
    Some(at.saturating_sub(from))
}

/// An HTTP date (IMF-fixdate, or the obsolete RFC 850 and asctime forms) as a duration since
/// the Unix epoch.
fn since_epoch(http_date: &str) -> Option<Duration> {
    httpdate::parse_http_date(http_date)
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
}

/// A `Retry-After` longer than the client waits within one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefusedWait {
    /// What the server asked for.
    pub asked: Duration,
    /// The longest wait the client makes (`max_retry_after`).
    pub cap: Duration,
}

impl fmt::Display for RefusedWait {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the server asked roster to wait {} before trying again, and roster waits at most {} \
             within one run, so it stopped",
            plain_duration(self.asked),
            plain_duration(self.cap)
        )
    }
}

/// A duration as a person would say it: `45 seconds`, `5 minutes`, `3 hours`, `12 days`,
/// `about 10 years`.
pub fn plain_duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    let (value, unit) = match secs {
        s if s < 120.0 => (s, "second"),
        s if s < 2.0 * 3600.0 => (s / 60.0, "minute"),
        s if s < 2.0 * 86_400.0 => (s / 3600.0, "hour"),
        s if s < 730.0 * 86_400.0 => (s / 86_400.0, "day"),
        s => (s / (365.25 * 86_400.0), "year"),
    };
    let rounded = value.round();
    let about = if (value - rounded).abs() > 0.05 {
        "about "
    } else {
        ""
    };
    let plural = if rounded == 1.0 { "" } else { "s" };
    format!("{about}{rounded} {unit}{plural}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Policy {
        Policy {
            max_retries: 3,
            base: Duration::from_millis(100),
            max_backoff: Duration::from_millis(350),
            max_retry_after: Duration::from_secs(60),
            jitter: Jitter::Off,
        }
    }

    fn status(code: u16) -> Outcome {
        Outcome::Status {
            code,
            retry_after: None,
        }
    }

    fn status_after(code: u16, secs: u64) -> Outcome {
        Outcome::Status {
            code,
            retry_after: Some(Duration::from_secs(secs)),
        }
    }

    fn transport(kind: TransportKind, replay_safe: bool) -> Outcome {
        Outcome::Transport { kind, replay_safe }
    }

    fn retry(ms: u64) -> Decision {
        Decision::Retry {
            after: Duration::from_millis(ms),
        }
    }

    #[test]
    fn decide_table() {
        use TransportKind::*;
        let give_up = Decision::GiveUp;
        let cases: Vec<(u32, Outcome, Decision)> = vec![
            // 429 honours Retry-After exactly, whatever the attempt.
            (1, status_after(429, 30), retry(30_000)),
            (3, status_after(429, 2), retry(2_000)),
            // 429 without Retry-After backs off exponentially.
            (1, status(429), retry(100)),
            (2, status(429), retry(200)),
            // capped at max_backoff
            (3, status(429), retry(350)),
            // too long a Retry-After gives up rather than stall
            (1, status_after(429, 61), give_up(GiveUp::RetryAfterTooLong)),
            // 5xx and 408 are transient
            (1, status(500), retry(100)),
            (1, status(502), retry(100)),
            (2, status(503), retry(200)),
            (1, status_after(503, 7), retry(7_000)),
            (1, status(504), retry(100)),
            (1, status(408), retry(100)),
            // permanent statuses
            (1, status(501), give_up(GiveUp::NotRetryable)),
            (1, status(505), give_up(GiveUp::NotRetryable)),
            (1, status(400), give_up(GiveUp::NotRetryable)),
            (1, status(401), give_up(GiveUp::NotRetryable)),
            (1, status(403), give_up(GiveUp::NotRetryable)),
            (1, status(404), give_up(GiveUp::NotRetryable)),
            (1, status(409), give_up(GiveUp::NotRetryable)),
            (1, status_after(409, 1), give_up(GiveUp::NotRetryable)),
            // after max_retries retries (4 attempts), give up
            (4, status(503), give_up(GiveUp::Exhausted)),
            (4, status_after(429, 1), give_up(GiveUp::Exhausted)),
            (4, transport(Connect, true), give_up(GiveUp::Exhausted)),
            // transport failures
            (1, transport(Connect, true), retry(100)),
            (1, transport(Connect, false), retry(100)),
            (2, transport(Timeout, true), retry(200)),
            (1, transport(ConnectionLost, true), retry(100)),
            (
                1,
                transport(Timeout, false),
                give_up(GiveUp::MayHaveApplied),
            ),
            (
                1,
                transport(ConnectionLost, false),
                give_up(GiveUp::MayHaveApplied),
            ),
            (1, transport(Other, true), give_up(GiveUp::NotRetryable)),
        ];
        let p = policy();
        for (attempt, outcome, want) in cases {
            assert_eq!(
                decide(attempt, &outcome, &p),
                want,
                "attempt {attempt}, {outcome:?}"
            );
        }
    }

    #[test]
    fn jitter_stays_within_half_and_full_backoff_and_is_deterministic() {
        let run = || {
            let p = Policy {
                jitter: Jitter::seeded(42),
                max_retries: 10,
                ..policy()
            };
            (1..=6)
                .map(|attempt| match decide(attempt, &status(503), &p) {
                    Decision::Retry { after } => after,
                    d => panic!("{d:?}"),
                })
                .collect::<Vec<_>>()
        };
        let waits = run();
        assert_eq!(waits, run(), "same seed, same waits");
        for (i, w) in waits.iter().enumerate() {
            let nominal = Duration::from_millis((100u64 << i).min(350));
            assert!(
                *w >= nominal / 2 && *w <= nominal,
                "attempt {}: {w:?}",
                i + 1
            );
        }
        assert!(
            waits
                .windows(2)
                .any(|w| w[0] != w[1] && w[0] < Duration::from_millis(350)),
            "jitter varies the waits: {waits:?}"
        );
    }

    #[test]
    fn jitter_samples_are_in_unit_interval() {
        let j = Jitter::seeded(7);
        for _ in 0..10_000 {
            let x = j.sample();
            assert!((0.0..1.0).contains(&x));
        }
        assert_eq!(Jitter::Off.sample(), 1.0);
    }

    #[test]
    fn parse_retry_after_table() {
        let ten_years = Duration::from_secs(10 * 365 * 86_400);
        let longest = Duration::from_secs(1_000_000_000_000);
        let now = Duration::from_secs(1_445_412_480); // Wed, 21 Oct 2015 07:28:00 GMT
        let cases: &[(Option<&str>, Option<Duration>)] = &[
            (Some("30"), Some(Duration::from_secs(30))),
            (Some(" 2 "), Some(Duration::from_secs(2))),
            (Some("1.5"), Some(Duration::from_millis(1500))),
            (Some("0"), Some(Duration::ZERO)),
            (Some("-1"), None),
            (Some("NaN"), None),
            (Some("soon"), None),
            (Some(""), None),
            (None, None),
            // very long waits are kept, to be refused as too long
            (Some("315360000"), Some(ten_years)),
            (Some("1e300"), Some(longest)),
            (Some("inf"), Some(longest)),
        ];
        for (ra, want) in cases {
            assert_eq!(parse_retry_after(*ra, None, now), *want, "{ra:?}");
        }
    }

    #[test]
    fn issue12_retry_after_as_an_http_date_is_a_wait() {
        let date = Some("Wed, 21 Oct 2015 07:28:00 GMT");
        let local = Duration::from_secs(1_445_412_480 + 3_600);
        let wait = |ra: &str, date: Option<&str>| parse_retry_after(Some(ra), date, local);
        // Measured from the response's Date: the local clock (an hour ahead here) is not used.
        assert_eq!(
            wait("Wed, 21 Oct 2015 07:28:30 GMT", date),
            Some(Duration::from_secs(30))
        );
        // The obsolete forms HTTP still allows.
        assert_eq!(
            wait("Wednesday, 21-Oct-15 07:29:00 GMT", date),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            wait("Wed Oct 21 07:28:05 2015", date),
            Some(Duration::from_secs(5))
        );
        // A date already past asks for no wait.
        assert_eq!(
            wait("Wed, 21 Oct 2015 07:00:00 GMT", date),
            Some(Duration::ZERO)
        );
        // Without a (valid) Date header, from the local time.
        assert_eq!(
            wait("Wed, 21 Oct 2015 08:28:10 GMT", None),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            wait("Wed, 21 Oct 2015 08:28:10 GMT", Some("yesterday")),
            Some(Duration::from_secs(10))
        );
        // A date ten years out is kept, to be refused as too long.
        assert_eq!(
            wait("Tue, 21 Oct 2025 07:28:00 GMT", date),
            Some(Duration::from_secs(3653 * 86_400))
        );
        assert_eq!(wait("Wed, 32 Oct 2015 07:28:00 GMT", date), None);
    }

    #[test]
    fn plain_durations() {
        let cases = [
            (0, "0 seconds"),
            (1, "1 second"),
            (90, "90 seconds"),
            (300, "5 minutes"),
            (5400, "90 minutes"),
            (3 * 3600, "3 hours"),
            (12 * 86_400, "12 days"),
            (10 * 365 * 86_400, "10 years"),
            (1_000_000_000_000, "about 31688 years"),
        ];
        for (secs, want) in cases {
            assert_eq!(plain_duration(Duration::from_secs(secs)), want);
        }
    }
}
