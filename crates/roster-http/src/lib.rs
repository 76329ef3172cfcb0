//! The one HTTP adapter: every request roster sends to a SCIM server, to Microsoft Graph or to
//! Entra's sign-in goes through [`Adapter::send`].
//!
//! It owns what every protocol needs and none should write twice: the HTTP library (reqwest on
//! rustls with ring; no redirects followed; timeouts), the origins a request may go to (each
//! https, or http to loopback only), authentication ([`Auth`]: a static bearer token, or OAuth
//! client credentials cached and renewed once on a 401), pacing (a per-minute budget, reads and
//! writes in flight, one shared pause that a 429 moves), the single retry loop (decided by the
//! pure [`roster_core::retry::decide`], waiting only through its [`Clock`]), the body cap, the
//! classification of failures, redaction ([`Redactor`]: every secret it holds, in any form a
//! server echoes it), log lines at a verbosity, and request counters ([`Stats`]).
//!
//! What it must never do: send a secret to an origin it was not given, or over plain http to a
//! host that is not loopback; print a secret or an unredacted URL; repeat a request the server
//! may have acted on (a POST whose connection dropped); sleep except through its [`Clock`].
//! The protocols on top ([`roster_core::scim::client`], [`roster_core::entra::graph`]) build requests as
//! values and read answers: error bodies, paging, delta links.

mod auth;
pub mod clock;
mod pacer;
mod stats;

use std::error::Error as _;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{AUTHORIZATION, DATE, HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
use url::Url;

pub use self::auth::{Auth, ClientCredentials};
pub use self::clock::{Clock, RecordingClock, ScaledClock, Sleep, TokioClock};
use self::pacer::{Lane, Pacer};
pub use self::stats::{Stats, StatsSnapshot};
/// The header names and values, and status codes, requests and answers are made of; the
/// clients name them from here, so reqwest is this crate's alone.
pub use reqwest::{StatusCode, header};
pub use roster_core::pacing::Usage;
pub use roster_core::redact::{Redactor, SERVER_TEXT_CHARS, Secret};
use roster_core::retry::{Decision, Jitter, Outcome, Policy, decide, parse_retry_after};
pub use roster_core::retry::{GiveUp, RefusedWait, TransportKind};

/// Answers larger than this are refused rather than held in memory.
pub const MAX_BODY: usize = 64 << 20;

/// Where log lines go (one line per call, without a newline).
pub type LogSink = Arc<dyn Fn(&str) + Send + Sync>;

/// An HTTP method the adapter can send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }

    fn lane(self) -> Lane {
        match self {
            Method::Get => Lane::Read,
            _ => Lane::Write,
        }
    }

    fn to_http(self) -> reqwest::Method {
        match self {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Put => reqwest::Method::PUT,
            Method::Patch => reqwest::Method::PATCH,
            Method::Delete => reqwest::Method::DELETE,
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Settings for an [`Adapter`]. The protocol clients fill it from their own settings.
#[derive(Clone)]
pub struct Config {
    /// Names the protocol in log lines (`scim`, `graph`).
    pub name: &'static str,
    /// The origins (scheme, host, port) requests may go to; each must be https, or http to a
    /// loopback host. A request to any other is refused before anything is sent.
    pub origins: Vec<Url>,
    pub auth: Auth,
    /// For one attempt, from sending to the last byte of the answer.
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub user_agent: String,
    /// The budget: requests a minute, retries included. No 60 s window holds more (the client
    /// keeps 61 s), past a burst of a tenth requests are spread evenly (`roster_core::pacing`).
    pub requests_per_minute: u32,
    /// GETs in flight at once.
    pub max_reads: usize,
    /// Other methods in flight at once.
    pub max_writes: usize,
    /// Retries after the first attempt (so at most `max_retries + 1` attempts).
    pub max_retries: u32,
    /// The first backoff; it doubles each retry up to `backoff_max`.
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// A `Retry-After` longer than this is reported instead of waited out.
    pub max_retry_after: Duration,
    /// Seed for the retry jitter; random when `None`.
    pub jitter_seed: Option<u64>,
    /// 0: quiet; 1: retries, pauses and sign-ins; 2: every request.
    pub verbosity: u8,
    /// Where log lines go; stderr when `None`.
    pub log: Option<LogSink>,
    /// The clock that pacing, retry waits, token lifetimes and deadlines use.
    pub clock: Arc<dyn Clock>,
    /// How a URL is shown in log lines and errors: the protocol's own redaction, which knows
    /// which of its query values are safe to show.
    pub show: fn(&Url) -> String,
}

/// A request as a value: what to send, before authentication, pacing and retries are added.
pub struct Request {
    pub method: Method,
    pub url: Url,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Option<Vec<u8>>,
    /// Whether sending it again is harmless even if the server acted on the first attempt:
    /// every method but POST, unless the caller knows better (a token request).
    pub replay_safe: bool,
    /// When the read this request is part of must be done, and the limit that set it: no
    /// attempt is sent, and no retry waited for, past it.
    pub deadline: Option<(Instant, Duration)>,
}

impl Request {
    pub fn new(method: Method, url: Url) -> Request {
        Request {
            method,
            url,
            headers: Vec::new(),
            body: None,
            // SCIM PATCH operations (`replace`, `add` of members) converge, PUT and DELETE are
            // idempotent: only POST (create) is unsafe to repeat.
            replay_safe: method != Method::Post,
            deadline: None,
        }
    }

    pub fn get(url: Url) -> Request {
        Request::new(Method::Get, url)
    }

    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Request {
        self.headers.push((name, value));
        self
    }

    pub fn body(mut self, body: Vec<u8>) -> Request {
        self.body = Some(body);
        self
    }

    pub fn replay_safe(mut self, safe: bool) -> Request {
        self.replay_safe = safe;
        self
    }

    pub fn deadline(mut self, deadline: Option<(Instant, Duration)>) -> Request {
        self.deadline = deadline;
        self
    }
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The body may hold a secret (the token request's); the URL may hold a filter.
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("url", &roster_core::redact::redact(&self.url))
            .field("body_bytes", &self.body.as_ref().map(Vec::len))
            .finish_non_exhaustive()
    }
}

/// An answer, read whole.
pub struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub method: Method,
    /// The request URL, as [`Config::show`] shows it.
    pub url: String,
    /// How many times the request was sent.
    pub attempts: u32,
    /// The wait the answer asked for (`Retry-After`).
    pub retry_after: Option<Duration>,
}

impl Response {
    /// A header's value, when it is text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("method", &self.method)
            .field("url", &self.url)
            .field("body_bytes", &self.body.len())
            .finish_non_exhaustive()
    }
}

/// A request that did not end in a 2xx answer. Each names the method and the shown URL; none
/// holds a secret (server text in `message` went through the [`Redactor`]).
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// An answer outside 2xx, after the retries the policy allows. The protocol reads its body.
    #[error("{} {}: {}", response.method, response.url, response.status)]
    Status {
        response: Box<Response>,
        /// Set when the adapter stopped because the server asked for a longer wait than it
        /// makes.
        refused_wait: Option<RefusedWait>,
    },
    /// No usable answer: connection refused or dropped, or a timeout.
    #[error("{method} {url}: {kind}: {message}")]
    Transport {
        method: Method,
        url: String,
        kind: TransportKind,
        attempts: u32,
        why: GiveUp,
        /// The HTTP library's error chain, without the URL, secrets redacted.
        message: String,
    },
    /// The answer was larger than [`MAX_BODY`].
    #[error("{method} {url}: the answer is larger than {} MiB", limit >> 20)]
    TooLarge {
        method: Method,
        url: String,
        limit: usize,
    },
    /// The request would have been sent, or retried, after its deadline.
    #[error("{method} {url}: not finished within its deadline")]
    Deadline {
        method: Method,
        url: String,
        limit: Duration,
    },
    /// A request the adapter will not send (an origin it was not given).
    #[error("{method} {url}: refusing to send: {detail}")]
    Refused {
        method: Method,
        url: String,
        detail: String,
    },
    /// An answer the adapter itself could not use (a token answer without a token).
    #[error("{method} {url}: {detail}")]
    Invalid {
        method: Method,
        url: String,
        detail: String,
    },
    /// The OAuth token request failed; the request that needed the token was not sent.
    #[error("sign-in failed: {0}")]
    SignIn(Box<Failure>),
}

/// Where log lines go, and how many.
struct Log {
    name: &'static str,
    verbosity: u8,
    sink: Option<LogSink>,
}

impl Log {
    fn at(&self, level: u8, line: impl FnOnce() -> String) {
        if self.verbosity < level {
            return;
        }
        // Without a sink the line goes nowhere: the adapter never prints (the binary's output
        // layer does, through the sink `ops` hands it).
        if let Some(sink) = &self.sink {
            sink(&format!("{}: {}", self.name, line()));
        }
    }
}

/// The adapter. Share it behind an `Arc`: every task using one adapter shares its pacing,
/// token and counters.
pub struct Adapter {
    http: reqwest::Client,
    origins: Vec<Url>,
    auth: auth::State,
    /// Every secret it holds, to be removed from whatever a server or the HTTP library says.
    redactor: Redactor,
    pacer: Pacer,
    policy: Policy,
    stats: Arc<Stats>,
    log: Log,
    clock: Arc<dyn Clock>,
    show: fn(&Url) -> String,
}

/// What one attempt produced, before it is judged.
struct Raw {
    status: u16,
    headers: HeaderMap,
    body: Vec<u8>,
    too_large: bool,
}

/// An attempt that did not succeed.
enum Failed {
    Status(Response),
    Transport {
        kind: TransportKind,
        message: String,
    },
}

impl Adapter {
    /// An adapter for `config`. Fails (with a sentence) on settings that cannot work; does not
    /// connect.
    pub fn new(config: Config) -> Result<Adapter, String> {
        if config.origins.is_empty() {
            return Err("no origin to send requests to".to_string());
        }
        for origin in &config.origins {
            if !roster_core::urls::is_secure_or_loopback(origin) {
                return Err(format!(
                    "{} is neither https nor a loopback address",
                    (config.show)(origin)
                ));
            }
        }
        if config.requests_per_minute == 0 || config.max_reads == 0 || config.max_writes == 0 {
            return Err(
                "requests_per_minute, max_reads and max_writes must each be at least 1".to_string(),
            );
        }
        let redactor = Redactor::default();
        let auth = auth::State::new(config.auth, &redactor)?;
        if let Some(token_url) = auth.token_url()
            && !config
                .origins
                .iter()
                .any(|o| roster_core::urls::same_origin(o, token_url))
        {
            return Err("the token URL is not one of the adapter's origins".to_string());
        }
        // reqwest is built without a bundled crypto provider; ring is ours. Installing twice
        // (a second adapter) is refused harmlessly.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            .user_agent(config.user_agent)
            // Neither SCIM nor Graph redirects API calls; following one could carry a secret
            // somewhere unvetted.
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(config.max_reads);
        if config.origins.iter().all(roster_core::urls::is_loopback) {
            // An emulator on this machine: no proxy in between.
            builder = builder.no_proxy();
        }
        let http = builder
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Adapter {
            http,
            origins: config.origins,
            auth,
            redactor,
            pacer: Pacer::new(
                config.requests_per_minute,
                config.max_reads,
                config.max_writes,
                config.clock.clone(),
            ),
            policy: Policy {
                max_retries: config.max_retries,
                base: config.backoff_base,
                max_backoff: config.backoff_max,
                max_retry_after: config.max_retry_after,
                jitter: match config.jitter_seed {
                    Some(seed) => Jitter::seeded(seed),
                    None => Jitter::from_entropy(),
                },
            },
            stats: Arc::new(Stats::default()),
            log: Log {
                name: config.name,
                verbosity: config.verbosity,
                sink: config.log,
            },
            clock: config.clock,
            show: config.show,
        })
    }

    /// Sends `req` with authentication, waiting for pacing and retrying as the policy says.
    /// A 2xx answer is `Ok`; anything else is a [`Failure`] (the protocol turns a 404 into
    /// `None` where that is the meaning).
    pub async fn send(&self, req: Request) -> Result<Response, Failure> {
        self.execute(req, true).await
    }

    /// The request counters, shared with whoever asks.
    pub fn stats(&self) -> Arc<Stats> {
        self.stats.clone()
    }

    /// The per-minute budget and what was used of it: every attempt, and the busiest minute.
    pub fn usage(&self) -> Usage {
        self.pacer.usage()
    }

    /// The redaction every secret this adapter holds (and every token it bought) goes through;
    /// for protocols reading a server's error body.
    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// `url` as log lines and errors show it.
    pub fn show(&self, url: &Url) -> String {
        (self.show)(url)
    }

    /// Writes `line()` when the verbosity is at least `level` (1: retries, pauses and
    /// sign-ins; 2: every request).
    pub fn log(&self, level: u8, line: impl FnOnce() -> String) {
        self.log.at(level, line)
    }

    fn check_origin(&self, req: &Request, shown: &str) -> Result<(), Failure> {
        if self
            .origins
            .iter()
            .any(|o| roster_core::urls::same_origin(o, &req.url))
        {
            return Ok(());
        }
        Err(Failure::Refused {
            method: req.method,
            url: shown.to_string(),
            detail: "the URL is not on a host this client was configured for".to_string(),
        })
    }

    /// The one retry loop. `authenticated`: send the `Authorization` header (every request but
    /// the token request itself).
    async fn execute(&self, req: Request, authenticated: bool) -> Result<Response, Failure> {
        let shown = self.show(&req.url);
        self.check_origin(&req, &shown)?;
        let method = req.method;
        let mut attempt = 0;
        let mut renewed = false;
        loop {
            attempt += 1;
            // Before a pacing slot is taken: a sign-in is itself a request.
            let auth = match authenticated {
                true => Some(self.authorization().await?),
                false => None,
            };
            let permit = self.pacer.admit(method.lane()).await;
            if let Some((at, limit)) = req.deadline
                && self.clock.now() >= at
            {
                return Err(Failure::Deadline {
                    method,
                    url: shown,
                    limit,
                });
            }
            self.stats.sent(method);
            let started = Instant::now();
            let result = self.send_once(&req, auth.as_ref().map(|a| &a.value)).await;
            drop(permit);
            let ms = started.elapsed().as_millis();
            let failed = match result {
                Ok(raw) if raw.too_large => {
                    return Err(Failure::TooLarge {
                        method,
                        url: shown,
                        limit: MAX_BODY,
                    });
                }
                Ok(raw) => {
                    self.log(2, || {
                        format!("{method} {shown} -> {} in {ms} ms", raw.status)
                    });
                    let retry_after = parse_retry_after(
                        raw.headers.get(RETRY_AFTER).and_then(|v| v.to_str().ok()),
                        raw.headers.get(DATE).and_then(|v| v.to_str().ok()),
                        unix_now(),
                    );
                    let response = Response {
                        status: raw.status,
                        headers: raw.headers,
                        body: raw.body,
                        method,
                        url: shown.clone(),
                        attempts: attempt,
                        retry_after,
                    };
                    if (200..300).contains(&response.status) {
                        return Ok(response);
                    }
                    if authenticated && response.status == 401 && self.auth.renews() && !renewed {
                        // An expired or revoked token: buy a new one once, then try again.
                        renewed = true;
                        self.auth
                            .forget(auth.as_ref().and_then(|a| a.generation))
                            .await;
                        self.log(1, || format!("{method} {shown}: 401; signing in again"));
                        attempt -= 1;
                        continue;
                    }
                    if response.status == 429 {
                        self.stats.throttled();
                        // The limit is the server's, for every worker: all hold off, even if
                        // this request gives up. A wait too long to make is not made by
                        // anyone: this request reports it, and the others meet their own 429.
                        if let Some(after) = retry_after
                            && after <= self.policy.max_retry_after
                        {
                            self.pacer.pause_for(after);
                        }
                    }
                    Failed::Status(response)
                }
                Err(e) => {
                    let kind = classify(&e);
                    self.log(2, || format!("{method} {shown} -> {kind} after {ms} ms"));
                    let message = self
                        .redactor
                        .server_text(&error_chain(e.without_url()), 2 * SERVER_TEXT_CHARS);
                    Failed::Transport { kind, message }
                }
            };
            let outcome = match &failed {
                Failed::Status(r) => Outcome::Status {
                    code: r.status,
                    retry_after: r.retry_after,
                },
                Failed::Transport { kind, .. } => Outcome::Transport {
                    kind: *kind,
                    replay_safe: req.replay_safe,
                },
            };
            let after = match decide(attempt, &outcome, &self.policy) {
                Decision::Retry { after } => after,
                Decision::GiveUp(why) => {
                    return Err(match failed {
                        Failed::Status(response) => Failure::Status {
                            refused_wait: match (why, response.retry_after) {
                                (GiveUp::RetryAfterTooLong, Some(asked)) => Some(RefusedWait {
                                    asked,
                                    cap: self.policy.max_retry_after,
                                }),
                                _ => None,
                            },
                            response: Box::new(response),
                        },
                        Failed::Transport { kind, message } => Failure::Transport {
                            method,
                            url: shown,
                            kind,
                            attempts: attempt,
                            why,
                            message,
                        },
                    });
                }
            };
            if let Some((at, limit)) = req.deadline
                && self.clock.now() + after >= at
            {
                return Err(Failure::Deadline {
                    method,
                    url: shown,
                    limit,
                });
            }
            self.stats.retried();
            let secs = after.as_secs_f64();
            match &failed {
                Failed::Status(r) if r.status == 429 => {
                    self.log(1, || {
                        format!(
                            "{method} {shown}: rate limited (429); pausing all requests for \
                             {secs:.3} s"
                        )
                    });
                    // Also without a Retry-After: then `after` is the backoff. The next
                    // `admit` waits it out, with every other worker.
                    self.pacer.pause_for(after);
                }
                _ => {
                    let what = match &failed {
                        Failed::Status(r) => r.status.to_string(),
                        Failed::Transport { kind, .. } => kind.to_string(),
                    };
                    let next = attempt + 1;
                    let of = self.policy.max_retries + 1;
                    self.log(1, || {
                        format!(
                            "{method} {shown}: {what}; retrying in {secs:.3} s (attempt {next} of {of})"
                        )
                    });
                    if !after.is_zero() {
                        self.clock.sleep(after).await;
                    }
                }
            }
        }
    }

    async fn send_once(
        &self,
        req: &Request,
        auth: Option<&HeaderValue>,
    ) -> Result<Raw, reqwest::Error> {
        let mut builder = self.http.request(req.method.to_http(), req.url.clone());
        if let Some(auth) = auth {
            builder = builder.header(AUTHORIZATION, auth.clone());
        }
        for (name, value) in &req.headers {
            builder = builder.header(name.clone(), value.clone());
        }
        if let Some(body) = &req.body {
            builder = builder.body(body.clone());
        }
        let mut response = builder.send().await?;
        let status = response.status().as_u16();
        let headers = std::mem::take(response.headers_mut());
        // Sized once from `Content-Length` (never past the limit): growing a page of users
        // by doubling copied it three times and left a buffer twice its size to free.
        let expected = response.content_length().unwrap_or(0);
        let mut body =
            Vec::with_capacity(usize::try_from(expected).map_or(MAX_BODY, |n| n.min(MAX_BODY)));
        let mut too_large = false;
        while let Some(chunk) = response.chunk().await? {
            if body.len() + chunk.len() > MAX_BODY {
                too_large = true;
                break;
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Raw {
            status,
            headers,
            body,
            too_large,
        })
    }
}

/// The wall clock, as time since the Unix epoch: what an HTTP-date `Retry-After` is measured
/// from when the answer has no `Date`, and the one reading of it on roster's side (run ids,
/// saved plans' `created_at`, the Entra delta state's age). Waits use a [`Clock`] instead.
#[expect(
    clippy::disallowed_methods,
    reason = "the one wall-clock reading of roster's client side"
)]
pub fn unix_now() -> Duration {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
}

fn classify(e: &reqwest::Error) -> TransportKind {
    if e.is_connect() {
        TransportKind::Connect
    } else if e.is_timeout() {
        TransportKind::Timeout
    } else if e.is_request() || e.is_body() {
        TransportKind::ConnectionLost
    } else {
        TransportKind::Other
    }
}

/// The error and its causes, `: `-joined, as one line.
fn error_chain(e: reqwest::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if parts.last() != Some(&text) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}
