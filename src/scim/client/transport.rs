//! The one place that sends HTTP: it owns the token, the pacing, the retries and the redaction.
//!
//! Requests are values ([`Request`]); [`Transport::execute`] sends one, waiting for pacing,
//! retrying as [`decide`] says (sleeping only through the [`Clock`]) and logging each attempt with
//! a redacted URL. Its callers never see it: reads go through [`Reader`], which can only GET, and
//! writes through [`Writer`], which only `WriteClient` holds. That is what makes `ReadClient`
//! read-only by construction.

use std::error::Error as _;
use std::io::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{
    ACCEPT, AUTHORIZATION, CONTENT_TYPE, ETAG, HeaderValue, IF_MATCH, RETRY_AFTER,
};
use serde_json::Value;
use url::Url;

use super::clock::Clock;
use super::config::{ClientConfig, LogSink};
use super::error::{ClientError, RefusedWait, ScimError, TransportKind, parse_error_body};
use super::pacing::{Lane, Pacer};
use super::retry::{Decision, Failure, GiveUp, Outcome, Policy, decide, parse_retry_after};
use super::secret::{Redactor, SERVER_TEXT_CHARS, redact};
use super::stats::Stats;

/// The header roster's emulator adds to a 429 when its clock runs faster than real time;
/// honoured only from a loopback server.
const EMULATOR_RETRY_AFTER_MS: &str = "x-emulator-retry-after-ms";

/// Answers larger than this are refused rather than held in memory.
const MAX_BODY: usize = 64 << 20;

const SCIM_JSON: &str = "application/scim+json";

/// An HTTP method the client can send.
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

    /// Whether sending it twice does no more than sending it once. SCIM PATCH operations
    /// (`replace`, `add` of members) converge, so only POST (create) is unsafe to repeat.
    fn replay_safe(self) -> bool {
        self != Method::Post
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

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A mutating method: the only kind [`Writer::send`] takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WriteMethod {
    Post,
    Put,
    Patch,
    Delete,
}

impl From<WriteMethod> for Method {
    fn from(m: WriteMethod) -> Method {
        match m {
            WriteMethod::Post => Method::Post,
            WriteMethod::Put => Method::Put,
            WriteMethod::Patch => Method::Patch,
            WriteMethod::Delete => Method::Delete,
        }
    }
}

/// A request as a value: what to send, before auth, pacing and retries are added.
#[derive(Debug)]
struct Request {
    method: Method,
    /// Relative to the base URL, already percent-encoded (`Users/123`).
    path: String,
    query: Vec<(&'static str, String)>,
    body: Option<Vec<u8>>,
    if_match: Option<HeaderValue>,
    /// When the read this request is part of must be done, and the limit that set it.
    deadline: Option<(Instant, Duration)>,
}

/// A successful (2xx) answer.
#[derive(Debug)]
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) body: Vec<u8>,
    pub(crate) etag: Option<String>,
    pub(crate) method: Method,
    /// The request URL, redacted.
    pub(crate) url: String,
}

impl Response {
    pub(crate) fn invalid(&self, detail: impl Into<String>) -> ClientError {
        ClientError::InvalidResponse {
            method: self.method,
            url: self.url.clone(),
            detail: detail.into(),
        }
    }
}

/// An attempt that did not succeed.
enum Failed {
    /// An answer with a status outside 2xx.
    Status(Raw),
    /// No answer.
    Transport {
        failure: Failure,
        kind: TransportKind,
        /// The HTTP library's error chain, without the URL, token scrubbed.
        message: String,
    },
}

/// What one attempt produced.
struct Raw {
    status: u16,
    retry_after: Option<Duration>,
    etag: Option<String>,
    body: Vec<u8>,
    too_large: bool,
}

/// Where log lines go, and how many.
pub(crate) struct Log {
    verbosity: u8,
    sink: Option<LogSink>,
}

impl Log {
    /// Writes `line()` when the verbosity is at least `level` (1: retries and pauses; 2: every
    /// request).
    pub(crate) fn at(&self, level: u8, line: impl FnOnce() -> String) {
        if self.verbosity < level {
            return;
        }
        let line = format!("scim: {}", line());
        match &self.sink {
            Some(sink) => sink(&line),
            None => {
                let _ = writeln!(std::io::stderr().lock(), "{line}");
            }
        }
    }
}

struct Transport {
    http: reqwest::Client,
    /// Without a trailing slash.
    base: String,
    auth: HeaderValue,
    /// The token, to be removed from whatever the server or the HTTP library says.
    redactor: Redactor,
    pacer: Pacer,
    policy: Policy,
    stats: Arc<Stats>,
    log: Log,
    clock: Arc<dyn Clock>,
    max_reads: usize,
    read_deadline: Duration,
    /// Whether the server is on a loopback address (the emulator's wait header is honoured).
    loopback: bool,
}

impl Transport {
    fn connect(config: &ClientConfig) -> Result<Transport, ClientError> {
        let base = config.validate()?;
        let mut auth = HeaderValue::from_str(&format!("Bearer {}", config.token.expose().trim()))
            .map_err(|_| {
            ClientError::Config(
                "the token holds characters that cannot go in an HTTP header".to_string(),
            )
        })?;
        auth.set_sensitive(true);
        // reqwest is built without a bundled crypto provider; ring is ours. Installing twice
        // (a second client) is refused harmlessly.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            .user_agent(config.user_agent.clone())
            // SCIM does not redirect; following one could carry the request somewhere unvetted.
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(config.max_reads);
        let loopback = super::config::is_loopback(&base);
        if loopback {
            builder = builder.no_proxy();
        }
        let http = builder
            .build()
            .map_err(|e| ClientError::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(Transport {
            http,
            base: base.as_str().trim_end_matches('/').to_string(),
            auth,
            redactor: Redactor::new([&config.token]),
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
                    Some(seed) => super::retry::Jitter::seeded(seed),
                    None => super::retry::Jitter::from_entropy(),
                },
            },
            stats: Arc::new(Stats::default()),
            log: Log {
                verbosity: config.verbosity,
                sink: config.log.clone(),
            },
            clock: config.clock.clone(),
            max_reads: config.max_reads,
            read_deadline: config.read_deadline,
            loopback,
        })
    }

    fn url(&self, req: &Request) -> Result<Url, ClientError> {
        let mut url = Url::parse(&format!("{}/{}", self.base, req.path)).map_err(|e| {
            ClientError::InvalidRequest {
                method: req.method,
                url: format!("{}/…", redact(&self.base_url())),
                detail: format!("cannot form the URL: {e}"),
            }
        })?;
        if !req.query.is_empty() {
            url.set_query(Some(&super::resource::encode_query(&req.query)));
        }
        Ok(url)
    }

    fn base_url(&self) -> Url {
        // Validated when the transport was built.
        Url::parse(&self.base).expect("base URL was validated")
    }

    /// Sends `req`, retrying as the policy says. 2xx is `Ok`; anything else is an error
    /// (callers turn a 404 into `None` where that is the meaning).
    async fn execute(&self, req: Request) -> Result<Response, ClientError> {
        let url = self.url(&req)?;
        let shown = redact(&url);
        let method = req.method;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let permit = self.pacer.admit(method.lane()).await;
            if let Some((at, limit)) = req.deadline
                && self.clock.now() >= at
            {
                return Err(ClientError::Deadline {
                    method,
                    url: shown,
                    limit,
                });
            }
            self.stats.sent(method);
            let started = Instant::now();
            let result = self.send_once(&req, &url).await;
            drop(permit);
            let ms = started.elapsed().as_millis();
            let failed = match result {
                Ok(raw) if raw.too_large => {
                    return Err(ClientError::InvalidResponse {
                        method,
                        url: shown,
                        detail: format!("the answer is larger than {} MiB", MAX_BODY >> 20),
                    });
                }
                Ok(raw) => {
                    self.log.at(2, || {
                        format!("{method} {shown} -> {} in {ms} ms", raw.status)
                    });
                    if (200..300).contains(&raw.status) {
                        return Ok(Response {
                            status: raw.status,
                            body: raw.body,
                            etag: raw.etag,
                            method,
                            url: shown,
                        });
                    }
                    if raw.status == 429 {
                        self.stats.throttled();
                        // The limit is per token: every worker holds off, even if this
                        // request gives up. A wait too long to make is not made by anyone:
                        // this request reports it, and the others meet their own 429.
                        if let Some(after) = raw.retry_after
                            && after <= self.policy.max_retry_after
                        {
                            self.pacer.pause_for(after);
                        }
                    }
                    Failed::Status(raw)
                }
                Err(e) => {
                    let (failure, kind) = classify(&e);
                    self.log
                        .at(2, || format!("{method} {shown} -> {kind} after {ms} ms"));
                    let message = self
                        .redactor
                        .server_text(&error_chain(e.without_url()), 2 * SERVER_TEXT_CHARS);
                    Failed::Transport {
                        failure,
                        kind,
                        message,
                    }
                }
            };
            let outcome = match &failed {
                Failed::Status(raw) => Outcome::Status {
                    code: raw.status,
                    retry_after: raw.retry_after,
                },
                Failed::Transport { failure, .. } => Outcome::Transport {
                    failure: *failure,
                    replay_safe: method.replay_safe(),
                },
            };
            let after = match decide(attempt, &outcome, &self.policy) {
                Decision::Retry { after } => after,
                Decision::GiveUp(why) => {
                    return Err(self.give_up(failed, method, shown, attempt, why));
                }
            };
            if let Some((at, limit)) = req.deadline
                && self.clock.now() + after >= at
            {
                return Err(ClientError::Deadline {
                    method,
                    url: shown,
                    limit,
                });
            }
            self.stats.retried();
            let secs = after.as_secs_f64();
            match &failed {
                Failed::Status(raw) if raw.status == 429 => {
                    self.log.at(1, || {
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
                        Failed::Status(raw) => raw.status.to_string(),
                        Failed::Transport { kind, .. } => kind.to_string(),
                    };
                    let next = attempt + 1;
                    let of = self.policy.max_retries + 1;
                    self.log.at(1, || {
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

    fn give_up(
        &self,
        failed: Failed,
        method: Method,
        url: String,
        attempts: u32,
        why: GiveUp,
    ) -> ClientError {
        match failed {
            Failed::Status(raw) => {
                let (scim_type, detail) = parse_error_body(raw.status, &raw.body, &self.redactor);
                ClientError::Scim(ScimError {
                    status: raw.status,
                    scim_type,
                    detail,
                    method,
                    url,
                    attempts,
                    refused_wait: match (why, raw.retry_after) {
                        (GiveUp::RetryAfterTooLong, Some(asked)) => Some(RefusedWait {
                            asked,
                            cap: self.policy.max_retry_after,
                        }),
                        _ => None,
                    },
                })
            }
            Failed::Transport { kind, message, .. } => ClientError::Transport {
                method,
                url,
                kind,
                attempts,
                why,
                message,
            },
        }
    }

    async fn send_once(&self, req: &Request, url: &Url) -> Result<Raw, reqwest::Error> {
        let mut builder = self
            .http
            .request(req.method.to_http(), url.clone())
            .header(AUTHORIZATION, self.auth.clone())
            .header(ACCEPT, "application/scim+json, application/json");
        if let Some(body) = &req.body {
            builder = builder.header(CONTENT_TYPE, SCIM_JSON).body(body.clone());
        }
        if let Some(tag) = &req.if_match {
            builder = builder.header(IF_MATCH, tag.clone());
        }
        let mut response = builder.send().await?;
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
        };
        let retry_after = parse_retry_after(
            header(RETRY_AFTER.as_str()),
            header(EMULATOR_RETRY_AFTER_MS),
            self.loopback,
        );
        let etag = header(ETAG.as_str()).map(str::to_string);
        let status = response.status().as_u16();
        let mut body = Vec::new();
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
            retry_after,
            etag,
            body,
            too_large,
        })
    }
}

fn classify(e: &reqwest::Error) -> (Failure, TransportKind) {
    if e.is_connect() {
        (Failure::Connect, TransportKind::Connect)
    } else if e.is_timeout() {
        (Failure::Timeout, TransportKind::Timeout)
    } else if e.is_request() || e.is_body() {
        (Failure::ConnectionLost, TransportKind::ConnectionLost)
    } else {
        (Failure::Other, TransportKind::Other)
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

/// Read access to the server: GET and nothing else.
#[derive(Clone)]
pub(crate) struct Reader(Arc<Transport>);

impl Reader {
    pub(crate) fn connect(config: &ClientConfig) -> Result<Reader, ClientError> {
        Ok(Reader(Arc::new(Transport::connect(config)?)))
    }

    /// GETs `path` (relative to the base URL, segments already encoded) with `query`.
    pub(crate) async fn get(
        &self,
        path: &str,
        query: Vec<(&'static str, String)>,
    ) -> Result<Response, ClientError> {
        self.get_until(path, query, None).await
    }

    /// [`Reader::get`] as part of a read that must be done by `deadline` (with the limit that
    /// set it): no attempt is sent, and no retry waited for, past it.
    pub(crate) async fn get_until(
        &self,
        path: &str,
        query: Vec<(&'static str, String)>,
        deadline: Option<(Instant, Duration)>,
    ) -> Result<Response, ClientError> {
        self.0
            .execute(Request {
                method: Method::Get,
                path: path.to_string(),
                query,
                body: None,
                if_match: None,
                deadline,
            })
            .await
    }

    /// When a read that starts now must be done, with the configured limit.
    pub(crate) fn read_deadline(&self) -> (Instant, Duration) {
        let limit = self.0.read_deadline;
        (self.0.clock.now() + limit, limit)
    }

    pub(crate) fn now(&self) -> Instant {
        self.0.clock.now()
    }

    /// The redacted URL of `path`, for errors about a whole listing.
    pub(crate) fn shown_url(&self, path: &str) -> String {
        redact_url_or_base(&self.0, path)
    }

    pub(crate) fn stats(&self) -> Arc<Stats> {
        self.0.stats.clone()
    }

    pub(crate) fn log(&self) -> &Log {
        &self.0.log
    }

    pub(crate) fn max_reads(&self) -> usize {
        self.0.max_reads
    }
}

fn redact_url_or_base(t: &Transport, path: &str) -> String {
    match Url::parse(&format!("{}/{}", t.base, path)) {
        Ok(url) => redact(&url),
        Err(_) => redact(&t.base_url()),
    }
}

/// Write access: the mutating methods, plus a [`Reader`] sharing the same pacing and stats.
#[derive(Clone)]
pub(crate) struct Writer(Arc<Transport>);

impl Writer {
    pub(crate) fn connect(config: &ClientConfig) -> Result<Writer, ClientError> {
        Ok(Writer(Arc::new(Transport::connect(config)?)))
    }

    pub(crate) fn reader(&self) -> Reader {
        Reader(self.0.clone())
    }

    pub(crate) async fn send(
        &self,
        method: WriteMethod,
        path: &str,
        body: Option<&Value>,
        if_match: Option<&str>,
    ) -> Result<Response, ClientError> {
        let method = Method::from(method);
        let refuse = |detail: &str| ClientError::InvalidRequest {
            method,
            url: redact_url_or_base(&self.0, path),
            detail: detail.to_string(),
        };
        let if_match = if_match
            .map(|tag| {
                HeaderValue::from_str(tag)
                    .map_err(|_| refuse("the If-Match value is not a valid header value"))
            })
            .transpose()?;
        let body = body
            .map(serde_json::to_vec)
            .transpose()
            .map_err(|e| refuse(&format!("cannot serialize the body: {e}")))?;
        self.0
            .execute(Request {
                method,
                path: path.to_string(),
                query: Vec::new(),
                body,
                if_match,
                deadline: None,
            })
            .await
    }
}
