//! The client's settings, with Asana's published limits as defaults.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use url::Url;

use super::error::ClientError;
use crate::http::{Clock, LogSink, TokioClock};
use crate::redact::{Secret, redact};
use crate::urls::is_secure_or_loopback;

/// Settings for a [`ReadClient`](super::ReadClient) or [`WriteClient`](super::WriteClient).
/// Built with [`ClientConfig::new`] (Asana's limits) and adjusted field by field; checked when
/// a client is built.
#[derive(Clone)]
pub struct ClientConfig {
    /// The SCIM base URL, e.g. `https://app.asana.com/api/1.0/scim`. Must be https, or http
    /// to a loopback address (the emulator, tests).
    pub base_url: String,
    pub token: Secret,
    /// Asana's per-token budget on paid plans: 1,500 a minute. Retries count too.
    pub requests_per_minute: u32,
    /// GETs in flight at once (Asana: 50 per token).
    pub max_reads: usize,
    /// POST/PUT/PATCH/DELETE in flight at once (Asana: 15 per token).
    pub max_writes: usize,
    /// For one attempt, from sending to the last byte of the answer.
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// Retries after the first attempt (so at most `max_retries + 1` attempts).
    pub max_retries: u32,
    /// The first backoff; it doubles each retry up to `backoff_max`.
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// A 429 asking to wait longer than this is reported instead of waited out.
    pub max_retry_after: Duration,
    /// Resources asked for per page (`count`); lowered to the server's advertised maximum.
    pub page_size: u32,
    /// How long one list (every user, every group) may take, pacing and retries included. A
    /// list still unread then stops with an error rather than keep a run busy.
    pub read_deadline: Duration,
    pub user_agent: String,
    /// 0: quiet; 1: retries and rate-limit pauses; 2: every request.
    pub verbosity: u8,
    /// Where log lines go; stderr when `None`.
    pub log: Option<LogSink>,
    /// The clock that pacing and retry waits use; tests pass a `RecordingClock`, and clients
    /// of an emulator on a scaled clock a `ScaledClock`.
    pub clock: Arc<dyn Clock>,
    /// Seed for the retry jitter; random when `None`.
    pub jitter_seed: Option<u64>,
}

impl ClientConfig {
    /// Asana's SCIM base URL.
    pub const ASANA_BASE_URL: &'static str = "https://app.asana.com/api/1.0/scim";

    /// The default [`ClientConfig::read_deadline`]: 15 minutes, ten times what reading
    /// 100,000 users takes at Asana's rate limit.
    pub const READ_DEADLINE: Duration = Duration::from_secs(15 * 60);

    /// Settings for `base_url` with Asana's limits.
    pub fn new(base_url: impl Into<String>, token: Secret) -> ClientConfig {
        ClientConfig {
            base_url: base_url.into(),
            token,
            requests_per_minute: 1500,
            max_reads: 50,
            max_writes: 15,
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            max_retries: 5,
            backoff_base: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(300),
            page_size: 100,
            read_deadline: ClientConfig::READ_DEADLINE,
            user_agent: format!("roster/{}", env!("CARGO_PKG_VERSION")),
            verbosity: 0,
            log: None,
            clock: Arc::new(TokioClock),
            jitter_seed: None,
        }
    }

    /// Settings for Asana itself.
    pub fn asana(token: Secret) -> ClientConfig {
        ClientConfig::new(ClientConfig::ASANA_BASE_URL, token)
    }

    /// Checks the settings; returns the parsed base URL.
    pub fn validate(&self) -> Result<Url, ClientError> {
        let bad = |m: String| Err(ClientError::Config(m));
        let url = match Url::parse(&self.base_url) {
            Ok(url) => url,
            Err(e) => return bad(format!("the base URL is not a URL ({e})")),
        };
        let shown = redact(&url);
        if url.host().is_none() {
            return bad(format!("the base URL {shown} has no host"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return bad(format!(
                "the base URL {shown} holds credentials; pass the token separately"
            ));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return bad(format!(
                "the base URL {shown} has a query or fragment; give the path only"
            ));
        }
        match url.scheme() {
            _ if is_secure_or_loopback(&url) => {}
            "http" => {
                return bad(format!(
                    "the base URL {shown} is plain http; use https (http is allowed only for \
                     localhost and 127.0.0.1, where the emulator runs)"
                ));
            }
            other => return bad(format!("the base URL's scheme `{other}` is not https")),
        }
        if self.token.expose().trim().is_empty() {
            return bad("the token is empty".to_string());
        }
        if self.requests_per_minute == 0 || self.max_reads == 0 || self.max_writes == 0 {
            return bad(
                "requests_per_minute, max_reads and max_writes must each be at least 1".to_string(),
            );
        }
        if self.page_size == 0 {
            return bad("page_size must be at least 1".to_string());
        }
        Ok(url)
    }
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("base_url", &crate::redact::redact_url(&self.base_url))
            .field("token", &self.token)
            .field("requests_per_minute", &self.requests_per_minute)
            .field("max_reads", &self.max_reads)
            .field("max_writes", &self.max_writes)
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("max_retries", &self.max_retries)
            .field("backoff_base", &self.backoff_base)
            .field("backoff_max", &self.backoff_max)
            .field("max_retry_after", &self.max_retry_after)
            .field("page_size", &self.page_size)
            .field("read_deadline", &self.read_deadline)
            .field("user_agent", &self.user_agent)
            .field("verbosity", &self.verbosity)
            .field("jitter_seed", &self.jitter_seed)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_rules() {
        let cases = [
            ("https://app.asana.com/api/1.0/scim", true),
            ("https://app.asana.com/api/1.0/scim/", true),
            ("http://127.0.0.1:8080/scim", true),
            ("http://127.5.0.1:8080", true),
            ("http://localhost:3000/api/1.0/scim", true),
            ("http://[::1]:3000", true),
            ("http://app.asana.com/api/1.0/scim", false),
            ("http://10.0.0.1/scim", false),
            ("http://localhost.example.com/scim", false),
            ("ftp://127.0.0.1/scim", false),
            ("https://user:pw@app.asana.com/scim", false),
            ("https://app.asana.com/scim?token=x", false),
            ("app.asana.com/scim", false),
            ("", false),
        ];
        for (url, ok) in cases {
            let c = ClientConfig::new(url, Secret::new("t0ken"));
            assert_eq!(c.validate().is_ok(), ok, "{url}: {:?}", c.validate());
        }
    }

    #[test]
    fn config_errors_never_show_credentials() {
        let c = ClientConfig::new("http://alice:hunter2@example.com/scim", Secret::new("tok"));
        let e = c.validate().unwrap_err().to_string();
        assert!(!e.contains("hunter2") && !e.contains("alice"), "{e}");
        let c = ClientConfig::new(
            "https://example.com/scim?access_token=abc123",
            Secret::new("tok"),
        );
        let e = c.validate().unwrap_err().to_string();
        assert!(!e.contains("abc123"), "{e}");
    }

    #[test]
    fn limits_and_token_are_checked() {
        let mut c = ClientConfig::asana(Secret::new(""));
        assert!(c.validate().is_err());
        c.token = Secret::new("tok");
        assert!(c.validate().is_ok());
        c.max_writes = 0;
        assert!(c.validate().is_err());
    }

    #[test]
    fn debug_shows_no_token() {
        let c = ClientConfig::asana(Secret::new("super-secret-token"));
        let d = format!("{c:?}");
        assert!(!d.contains("super-secret-token"), "{d}");
        assert!(d.contains("requests_per_minute: 1500"), "{d}");
    }
}
