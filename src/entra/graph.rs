//! The Microsoft Graph client: the one place roster talks to Entra ID.
//!
//! It owns the client secret (in a [`Secret`]) and the access token it buys with it (the
//! client-credentials grant, cached until shortly before it expires), follows
//! `@odata.nextLink` paging, runs delta rounds to their `@odata.deltaLink`, sends
//! `ConsistencyLevel: eventual` when asked (Graph's advanced queries need it, on every page),
//! and retries 429 (waiting the `Retry-After`), 503 and the other transient failures with the
//! SCIM client's retry policy ([`retry::decide`]), sleeping only through its [`Clock`].
//!
//! It never sends anything but the token request and GETs, never prints the secret or a token
//! (URLs are redacted; whatever Graph says goes through the SCIM client's [`Redactor`], which
//! knows the secret and every token bought with it), and never follows a link to a host other
//! than the configured Graph host, so the token cannot be sent anywhere else. A listing or
//! delta round follows each link once, stops beyond [`MAX_PAGES`] pages or [`MAX_ITEMS`]
//! items, and has a deadline ([`GraphConfig::read_deadline`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use serde_json::Value as Json;
use url::Url;

use crate::scim::client::retry::{self, Decision, Failure, Outcome, Policy};
use crate::scim::client::{
    Clock, LogSink, Redactor, RefusedWait, SERVER_TEXT_CHARS, Secret, TokioClock,
};

/// Answers larger than this are refused rather than held in memory.
const MAX_BODY: usize = 64 << 20;
/// A token is renewed this long before Entra says it expires.
const TOKEN_MARGIN: Duration = Duration::from_secs(120);
/// The header roster's emulators add to a 429 when their clock runs faster than real time;
/// honoured only from a loopback server.
const EMULATOR_RETRY_AFTER_MS: &str = "x-emulator-retry-after-ms";
/// The most pages one listing or delta round may take (ten million users at Graph's 100 a
/// page).
pub const MAX_PAGES: u64 = 100_000;
/// The most items one listing or delta round may hold.
pub const MAX_ITEMS: u64 = 10_000_000;

/// Settings for a [`GraphClient`].
#[derive(Clone)]
pub struct GraphConfig {
    /// The sign-in host, e.g. `https://login.microsoftonline.com` (no trailing slash).
    pub login_url: String,
    /// The Graph host, e.g. `https://graph.microsoft.com` (no trailing slash).
    pub graph_url: String,
    pub tenant_id: String,
    pub client_id: String,
    pub secret: Secret,
    /// For one attempt, from sending to the last byte of the answer.
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// Retries after the first attempt.
    pub max_retries: u32,
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// A 429 asking to wait longer than this is reported instead of waited out.
    pub max_retry_after: Duration,
    /// How long one listing or delta round may take; one still unread then stops with an
    /// error.
    pub read_deadline: Duration,
    /// 0: quiet; 1: retries and throttling; 2: every request.
    pub verbosity: u8,
    /// Where log lines go; stderr when `None`.
    pub log: Option<LogSink>,
    /// The clock retry waits and token expiry use; tests pass a `RecordingClock`.
    pub clock: Arc<dyn Clock>,
    /// Seed for the retry jitter; random when `None`.
    pub jitter_seed: Option<u64>,
}

impl GraphConfig {
    /// The default [`GraphConfig::read_deadline`]: 30 minutes.
    pub const READ_DEADLINE: Duration = Duration::from_secs(30 * 60);

    pub fn new(
        login_url: impl Into<String>,
        graph_url: impl Into<String>,
        tenant_id: impl Into<String>,
        client_id: impl Into<String>,
        secret: Secret,
    ) -> GraphConfig {
        GraphConfig {
            login_url: login_url.into(),
            graph_url: graph_url.into(),
            tenant_id: tenant_id.into(),
            client_id: client_id.into(),
            secret,
            timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            max_retries: 6,
            backoff_base: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(300),
            read_deadline: GraphConfig::READ_DEADLINE,
            verbosity: 0,
            log: None,
            clock: Arc::new(TokioClock),
            jitter_seed: None,
        }
    }
}

impl std::fmt::Debug for GraphConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphConfig")
            .field("login_url", &self.login_url)
            .field("graph_url", &self.graph_url)
            .field("tenant_id", &self.tenant_id)
            .field("client_id", &self.client_id)
            .field("secret", &self.secret)
            .finish_non_exhaustive()
    }
}

/// Everything that can go wrong reading Graph. None holds the secret or a token.
#[derive(Debug, Clone, thiserror::Error)]
pub enum GraphError {
    #[error("invalid Entra settings: {0}")]
    Config(String),
    /// Entra refused the client-credentials grant.
    #[error("cannot sign in to Entra ID at {url}: {status} {error}: {description}")]
    Token {
        url: String,
        status: u16,
        error: String,
        description: String,
    },
    /// Graph answered with an error status.
    #[error("GET {url}: {status} {code}: {message}{}{}", attempts_note(*attempts),
        refused_wait.map(|w| format!("; {w}")).unwrap_or_default())]
    Status {
        url: String,
        status: u16,
        code: String,
        message: String,
        attempts: u32,
        /// Set when the client stopped because Graph asked for a longer wait than it makes.
        refused_wait: Option<RefusedWait>,
    },
    /// The delta link can no longer be used (410 Gone, or an expired sync state): the caller
    /// must read everything again.
    #[error("GET {url}: the delta link is no longer valid ({status} {code})")]
    ResyncRequired {
        url: String,
        status: u16,
        code: String,
    },
    /// No usable answer.
    #[error("{method} {url}: {message}{}", attempts_note(*attempts))]
    Transport {
        method: &'static str,
        url: String,
        message: String,
        attempts: u32,
    },
    /// The answer is not the JSON Graph sends.
    #[error("GET {url}: the answer is not valid Graph JSON: {detail}")]
    InvalidResponse { url: String, detail: String },
    /// A listing was stopped before its end: its links loop, it is larger than roster reads,
    /// or it ran past its deadline.
    #[error("GET {url}: stopped reading after {pages} pages and {items} items: {why}")]
    ListStopped {
        url: String,
        pages: u64,
        items: u64,
        why: String,
    },
    /// A paging link leads away from the Graph host; following it would hand the token over.
    #[error(
        "GET {url}: the next page is on another host ({link}); refusing to send the token there"
    )]
    ForeignLink { url: String, link: String },
}

fn attempts_note(attempts: u32) -> String {
    if attempts > 1 {
        format!(" (gave up after {attempts} attempts)")
    } else {
        String::new()
    }
}

impl GraphError {
    /// What to do about it, in plain words, where roster knows.
    pub fn hint(&self) -> Option<String> {
        match self {
            GraphError::Token {
                error, description, ..
            } => Some(
                if description.contains("AADSTS90002") || description.contains("AADSTS900023") {
                    "check entra.tenant_id: the Directory (tenant) ID or a verified domain"
                } else if description.contains("AADSTS700016") {
                    "check entra.client_id: the Application (client) ID of roster's app \
                     registration, in this tenant"
                } else if error == "invalid_client" {
                    "check the client secret in the variable entra.client_secret_env names \
                     (a secret's Value, not its ID; secrets expire)"
                } else {
                    "check entra.tenant_id, entra.client_id and the client secret"
                }
                .to_string(),
            ),
            GraphError::Status {
                refused_wait: Some(_),
                ..
            } => Some(
                "run roster again once Graph's wait is over; if it keeps asking for waits this \
                 long, ask Microsoft support why"
                    .into(),
            ),
            GraphError::ListStopped { .. } => Some(
                "check entra.graph_url (or ROSTER_ENTRA_GRAPH_URL): roster reads Entra only \
                 from a Graph whose paging ends"
                    .into(),
            ),
            GraphError::Status { status: 403, .. } => Some(
                "grant roster's app registration the application permissions User.Read.All, \
                 GroupMember.Read.All and Application.Read.All, with admin consent"
                    .into(),
            ),
            GraphError::Status {
                status: 404, url, ..
            } if url.contains("/servicePrincipals/") => Some(
                "check entra.service_principal_id: the Object ID of the Asana enterprise \
                 application (Enterprise applications → Asana → Overview)"
                    .into(),
            ),
            GraphError::Transport { .. } => Some(
                "check entra.login_url / entra.graph_url (or ROSTER_ENTRA_LOGIN_URL / \
                 ROSTER_ENTRA_GRAPH_URL) and the network"
                    .into(),
            ),
            _ => None,
        }
    }
}

/// Request counters, for `-v` and for tests.
#[derive(Debug, Default)]
pub struct GraphStats {
    pub tokens: AtomicU64,
    pub requests: AtomicU64,
    pub retries: AtomicU64,
    pub throttled: AtomicU64,
}

impl GraphStats {
    pub fn snapshot(&self) -> GraphStatsSnapshot {
        GraphStatsSnapshot {
            tokens: self.tokens.load(Ordering::Relaxed),
            requests: self.requests.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            throttled: self.throttled.load(Ordering::Relaxed),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GraphStatsSnapshot {
    /// Token requests (sign-ins).
    pub tokens: u64,
    /// Graph requests, retries included.
    pub requests: u64,
    pub retries: u64,
    /// 429 answers.
    pub throttled: u64,
}

impl std::fmt::Display for GraphStatsSnapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} Graph requests ({} retried, {} throttled), {} sign-ins",
            self.requests, self.retries, self.throttled, self.tokens
        )
    }
}

/// One delta round: every change since the link it started from, and the link for the next.
#[derive(Debug, Clone)]
pub struct DeltaRound {
    pub values: Vec<Json>,
    pub delta_link: String,
}

struct Token {
    value: Secret,
    renew_at: Instant,
}

/// A read-only Graph client. Cheap to clone; clones share the token and the counters.
#[derive(Clone)]
pub struct GraphClient(Arc<Inner>);

struct Inner {
    http: reqwest::Client,
    graph: Url,
    token_url: Url,
    /// `{graph}/.default`: every application permission the admin consented to.
    scope: String,
    client_id: String,
    secret: Secret,
    /// The secret and every access token bought with it, removed from whatever Graph says.
    redactor: Redactor,
    token: tokio::sync::Mutex<Option<Token>>,
    policy: Policy,
    clock: Arc<dyn Clock>,
    read_deadline: Duration,
    verbosity: u8,
    log: Option<LogSink>,
    stats: GraphStats,
}

impl GraphClient {
    pub fn new(config: &GraphConfig) -> Result<GraphClient, GraphError> {
        let parse = |what: &str, url: &str| {
            let u = Url::parse(url)
                .map_err(|e| GraphError::Config(format!("{what} `{url}` is not a URL: {e}")))?;
            if u.scheme() != "https" && !(u.scheme() == "http" && is_loopback(&u)) {
                return Err(GraphError::Config(format!(
                    "{what} must be https (http only for loopback addresses)"
                )));
            }
            Ok(u)
        };
        let graph = parse("graph_url", config.graph_url.trim_end_matches('/'))?;
        let login = parse("login_url", config.login_url.trim_end_matches('/'))?;
        if config.secret.expose().trim().is_empty() {
            return Err(GraphError::Config("the client secret is empty".into()));
        }
        let tenant: String =
            url::form_urlencoded::byte_serialize(config.tenant_id.as_bytes()).collect();
        let token_url = Url::parse(&format!(
            "{}/{tenant}/oauth2/v2.0/token",
            login.as_str().trim_end_matches('/')
        ))
        .map_err(|e| GraphError::Config(format!("cannot form the token URL: {e}")))?;
        // reqwest is built without a bundled crypto provider; ring is ours (see the SCIM
        // transport). Installing twice is refused harmlessly.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            .user_agent(format!("roster/{}", env!("CARGO_PKG_VERSION")))
            // Graph and Entra do not redirect API calls; following one could carry the token
            // somewhere unvetted.
            .redirect(reqwest::redirect::Policy::none());
        if is_loopback(&graph) && is_loopback(&login) {
            builder = builder.no_proxy();
        }
        let http = builder
            .build()
            .map_err(|e| GraphError::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(GraphClient(Arc::new(Inner {
            http,
            scope: format!("{}/.default", graph.as_str().trim_end_matches('/')),
            graph,
            token_url,
            client_id: config.client_id.clone(),
            secret: config.secret.clone(),
            redactor: Redactor::new([&config.secret]),
            token: tokio::sync::Mutex::new(None),
            policy: Policy {
                max_retries: config.max_retries,
                base: config.backoff_base,
                max_backoff: config.backoff_max,
                max_retry_after: config.max_retry_after,
                jitter: match config.jitter_seed {
                    Some(seed) => retry::Jitter::seeded(seed),
                    None => retry::Jitter::from_entropy(),
                },
            },
            clock: config.clock.clone(),
            read_deadline: config.read_deadline,
            verbosity: config.verbosity,
            log: config.log.clone(),
            stats: GraphStats::default(),
        })))
    }

    /// `{graph_url}/v1.0/{path}` with `query` (keys such as `$select`).
    pub fn url(&self, path: &str, query: &[(&str, &str)]) -> Url {
        let base = self.0.graph.as_str().trim_end_matches('/');
        let mut url = Url::parse(&format!("{base}/v1.0/{path}")).unwrap_or_else(|_| {
            // Paths are built from validated GUIDs and fixed words; keep the base on failure.
            self.0.graph.clone()
        });
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    pub fn stats(&self) -> GraphStatsSnapshot {
        self.0.stats.snapshot()
    }

    /// Every item of a collection, following `@odata.nextLink` to the end. With `eventual`,
    /// every page carries `ConsistencyLevel: eventual` (Graph does not carry headers over).
    pub async fn list(&self, first: Url, eventual: bool) -> Result<Vec<Json>, GraphError> {
        let mut walk = Walk::new(self, &first);
        let mut items = Vec::new();
        let mut next = Some(first);
        while let Some(url) = next.take() {
            walk.visit(&url, self.0.clock.now())?;
            let page = self.get(&url, eventual).await?;
            let values = page_values(&page, &url)?;
            walk.add(values.len())?;
            items.extend(values.iter().cloned());
            if let Some(link) = page.get("@odata.nextLink").and_then(Json::as_str) {
                next = Some(self.follow(&url, link)?);
            }
        }
        Ok(items)
    }

    /// One delta round from `start` (a first `/users/delta?$select=…` or a stored delta link)
    /// to the `@odata.deltaLink`. [`GraphError::ResyncRequired`] when Graph says the link is
    /// gone or expired.
    pub async fn delta(&self, start: Url) -> Result<DeltaRound, GraphError> {
        let mut walk = Walk::new(self, &start);
        let mut values = Vec::new();
        let mut url = start;
        loop {
            walk.visit(&url, self.0.clock.now())?;
            let page = self.get(&url, false).await?;
            let items = page_values(&page, &url)?;
            walk.add(items.len())?;
            values.extend(items.iter().cloned());
            if let Some(link) = page.get("@odata.nextLink").and_then(Json::as_str) {
                url = self.follow(&url, link)?;
                continue;
            }
            let Some(link) = page.get("@odata.deltaLink").and_then(Json::as_str) else {
                return Err(GraphError::InvalidResponse {
                    url: redact(&url),
                    detail: "the last page of a delta round has no @odata.deltaLink".into(),
                });
            };
            let link = self.follow(&url, link)?;
            return Ok(DeltaRound {
                values,
                delta_link: link.to_string(),
            });
        }
    }

    /// A link from a page, checked to stay on the Graph host.
    fn follow(&self, from: &Url, link: &str) -> Result<Url, GraphError> {
        let url = Url::parse(link).map_err(|e| GraphError::InvalidResponse {
            url: redact(from),
            detail: format!("a paging link is not a URL: {e}"),
        })?;
        self.check_origin(&url)
            .map_err(|_| GraphError::ForeignLink {
                url: redact(from),
                link: redact(&url),
            })?;
        Ok(url)
    }

    /// An authentication tag over `bytes` (HMAC-SHA-256 keyed by the client secret, hex). The
    /// delta state carries one, so a state file that nobody holding the secret wrote — one
    /// committed in a pull request, say — is never trusted as a cache of the directory.
    pub fn state_tag(&self, bytes: &[u8]) -> String {
        use hmac::Mac;
        let tag = self.state_mac(bytes).finalize().into_bytes();
        tag.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Whether `tag` is [`state_tag`](Self::state_tag) of `bytes` (compared in constant time).
    pub fn state_tag_matches(&self, bytes: &[u8], tag: &str) -> bool {
        use hmac::Mac;
        let decoded: Option<Vec<u8>> = tag
            .len()
            .is_multiple_of(2)
            .then(|| {
                (0..tag.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(tag.get(i..i + 2)?, 16).ok())
                    .collect()
            })
            .flatten();
        decoded.is_some_and(|t| self.state_mac(bytes).verify_slice(&t).is_ok())
    }

    fn state_mac(&self, bytes: &[u8]) -> hmac::Hmac<sha2::Sha256> {
        use hmac::{KeyInit, Mac};
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(
            format!("roster-entra-delta-state\0{}", self.0.secret.expose()).as_bytes(),
        )
        .expect("HMAC takes a key of any length");
        mac.update(bytes);
        mac
    }

    /// Whether `url` is on the configured Graph host (scheme, host and port).
    pub fn check_origin(&self, url: &Url) -> Result<(), GraphError> {
        let g = &self.0.graph;
        if url.scheme() == g.scheme()
            && url.host_str() == g.host_str()
            && url.port_or_known_default() == g.port_or_known_default()
        {
            Ok(())
        } else {
            Err(GraphError::ForeignLink {
                url: redact(g),
                link: redact(url),
            })
        }
    }

    /// GETs one URL on the Graph host, with the token, retrying as the policy says.
    pub async fn get(&self, url: &Url, eventual: bool) -> Result<Json, GraphError> {
        self.check_origin(url)?;
        let inner = &self.0;
        let shown = redact(url);
        let mut attempt = 0;
        let mut renewed = false;
        loop {
            attempt += 1;
            let token = self.token().await?;
            let mut auth = HeaderValue::from_str(&format!("Bearer {}", token.expose()))
                .map_err(|_| GraphError::Config("the access token is not a header value".into()))?;
            auth.set_sensitive(true);
            let mut req = inner
                .http
                .get(url.clone())
                .header(AUTHORIZATION, auth)
                .header(ACCEPT, "application/json");
            if eventual {
                req = req.header("ConsistencyLevel", "eventual");
            }
            inner.stats.requests.fetch_add(1, Ordering::Relaxed);
            let started = Instant::now();
            let outcome = match send(req, is_loopback(&inner.graph)).await {
                Ok(raw) => {
                    let ms = started.elapsed().as_millis();
                    self.log(2, || format!("GET {shown} -> {} in {ms} ms", raw.status));
                    if (200..300).contains(&raw.status) {
                        return serde_json::from_slice(&raw.body).map_err(|e| {
                            GraphError::InvalidResponse {
                                url: shown.clone(),
                                detail: e.to_string(),
                            }
                        });
                    }
                    let (code, message) = graph_error(&raw.body, &inner.redactor);
                    if raw.status == 401 && !renewed {
                        // An expired or revoked token: buy a new one once, then try again.
                        renewed = true;
                        *inner.token.lock().await = None;
                        self.log(1, || format!("GET {shown}: 401 {code}; signing in again"));
                        attempt -= 1;
                        continue;
                    }
                    if raw.status == 410
                        || code.eq_ignore_ascii_case("syncStateNotFound")
                        || code.eq_ignore_ascii_case("resyncRequired")
                        || code.eq_ignore_ascii_case("syncStateInvalid")
                    {
                        return Err(GraphError::ResyncRequired {
                            url: shown,
                            status: raw.status,
                            code,
                        });
                    }
                    if raw.status == 429 {
                        inner.stats.throttled.fetch_add(1, Ordering::Relaxed);
                    }
                    let failure = GraphError::Status {
                        url: shown.clone(),
                        status: raw.status,
                        code,
                        message,
                        attempts: attempt,
                        refused_wait: None,
                    };
                    (
                        Outcome::Status {
                            code: raw.status,
                            retry_after: raw.retry_after,
                        },
                        failure,
                    )
                }
                Err((failure, message)) => (
                    Outcome::Transport {
                        failure,
                        replay_safe: true,
                    },
                    GraphError::Transport {
                        method: "GET",
                        url: shown.clone(),
                        message: inner.redactor.server_text(&message, 2 * SERVER_TEXT_CHARS),
                        attempts: attempt,
                    },
                ),
            };
            match retry::decide(attempt, &outcome.0, &inner.policy) {
                Decision::Retry { after } => {
                    inner.stats.retries.fetch_add(1, Ordering::Relaxed);
                    let what = match &outcome.0 {
                        Outcome::Status { code: 429, .. } => "throttled (429)".to_string(),
                        Outcome::Status { code, .. } => code.to_string(),
                        Outcome::Transport { .. } => "no answer".to_string(),
                    };
                    let secs = after.as_secs_f64();
                    self.log(1, || {
                        format!("GET {shown}: {what}; retrying in {secs:.3} s")
                    });
                    if !after.is_zero() {
                        inner.clock.sleep(after).await;
                    }
                }
                Decision::GiveUp(why) => {
                    return Err(match outcome.1 {
                        GraphError::Status {
                            url,
                            status,
                            code,
                            message,
                            ..
                        } => GraphError::Status {
                            url,
                            status,
                            code,
                            message,
                            attempts: attempt,
                            refused_wait: match (why, &outcome.0) {
                                (
                                    retry::GiveUp::RetryAfterTooLong,
                                    Outcome::Status {
                                        retry_after: Some(asked),
                                        ..
                                    },
                                ) => Some(RefusedWait {
                                    asked: *asked,
                                    cap: inner.policy.max_retry_after,
                                }),
                                _ => None,
                            },
                        },
                        other => other,
                    });
                }
            }
        }
    }

    /// The cached access token, or a new one from the token endpoint.
    async fn token(&self) -> Result<Secret, GraphError> {
        let inner = &self.0;
        let mut cached = inner.token.lock().await;
        if let Some(t) = cached.as_ref()
            && inner.clock.now() < t.renew_at
        {
            return Ok(t.value.clone());
        }
        let shown = redact(&inner.token_url);
        let body: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("client_id", &inner.client_id)
            .append_pair("scope", &inner.scope)
            .append_pair("client_secret", inner.secret.expose())
            .append_pair("grant_type", "client_credentials")
            .finish();
        let mut attempt = 0;
        loop {
            attempt += 1;
            inner.stats.tokens.fetch_add(1, Ordering::Relaxed);
            let req = inner
                .http
                .post(inner.token_url.clone())
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(ACCEPT, "application/json")
                .body(body.clone());
            let outcome = match send(req, is_loopback(&inner.token_url)).await {
                Ok(raw) if (200..300).contains(&raw.status) => {
                    self.log(2, || format!("POST {shown} -> {}", raw.status));
                    let json: Json = serde_json::from_slice(&raw.body).map_err(|e| {
                        GraphError::InvalidResponse {
                            url: shown.clone(),
                            detail: e.to_string(),
                        }
                    })?;
                    let value = json
                        .get("access_token")
                        .and_then(Json::as_str)
                        .filter(|t| !t.is_empty())
                        .ok_or_else(|| GraphError::InvalidResponse {
                            url: shown.clone(),
                            detail: "no access_token in the answer".into(),
                        })?;
                    let expires_in = json
                        .get("expires_in")
                        .and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok()))
                        .unwrap_or(3599);
                    let lifetime = Duration::from_secs(expires_in).saturating_sub(TOKEN_MARGIN);
                    let token = Secret::new(value);
                    inner.redactor.add(&token);
                    *cached = Some(Token {
                        value: token.clone(),
                        renew_at: inner.clock.now() + lifetime,
                    });
                    return Ok(token);
                }
                Ok(raw) => {
                    self.log(2, || format!("POST {shown} -> {}", raw.status));
                    let json: Json = serde_json::from_slice(&raw.body).unwrap_or(Json::Null);
                    let field = |k: &str, limit: usize| {
                        let text = json.get(k).and_then(Json::as_str).unwrap_or("");
                        // Entra's descriptions end with trace ids and a timestamp; the first
                        // line is the message.
                        let first = text.lines().next().unwrap_or("");
                        inner.redactor.server_text(first, limit)
                    };
                    let failure = GraphError::Token {
                        url: shown.clone(),
                        status: raw.status,
                        error: field("error", CODE_CHARS),
                        description: field("error_description", SERVER_TEXT_CHARS),
                    };
                    (
                        Outcome::Status {
                            code: raw.status,
                            retry_after: raw.retry_after,
                        },
                        failure,
                    )
                }
                Err((failure, message)) => (
                    // A token request changes nothing: it is safe to repeat.
                    Outcome::Transport {
                        failure,
                        replay_safe: true,
                    },
                    GraphError::Transport {
                        method: "POST",
                        url: shown.clone(),
                        message: inner.redactor.server_text(&message, 2 * SERVER_TEXT_CHARS),
                        attempts: attempt,
                    },
                ),
            };
            match retry::decide(attempt, &outcome.0, &inner.policy) {
                Decision::Retry { after } => {
                    inner.stats.retries.fetch_add(1, Ordering::Relaxed);
                    let secs = after.as_secs_f64();
                    self.log(1, || format!("POST {shown}: retrying in {secs:.3} s"));
                    if !after.is_zero() {
                        inner.clock.sleep(after).await;
                    }
                }
                Decision::GiveUp(_) => return Err(outcome.1),
            }
        }
    }

    fn log(&self, level: u8, line: impl FnOnce() -> String) {
        let inner = &self.0;
        if inner.verbosity < level {
            return;
        }
        let line = format!("graph: {}", line());
        match &inner.log {
            Some(sink) => sink(&line),
            None => {
                let _ = std::io::Write::write_fmt(
                    &mut std::io::stderr().lock(),
                    format_args!("{line}\n"),
                );
            }
        }
    }
}

/// The `value` array of a Graph page.
fn page_values<'a>(page: &'a Json, url: &Url) -> Result<&'a Vec<Json>, GraphError> {
    page.get("value")
        .and_then(Json::as_array)
        .ok_or_else(|| GraphError::InvalidResponse {
            url: redact(url),
            detail: "no `value` array".into(),
        })
}

/// What keeps one listing or delta round finite: each link is followed once, at most
/// [`MAX_PAGES`] pages and [`MAX_ITEMS`] items, within the client's read deadline.
struct Walk {
    shown: String,
    seen: std::collections::HashSet<String>,
    pages: u64,
    items: u64,
    deadline: Instant,
    limit: Duration,
}

impl Walk {
    fn new(client: &GraphClient, first: &Url) -> Walk {
        let limit = client.0.read_deadline;
        Walk {
            shown: redact(first),
            seen: Default::default(),
            pages: 0,
            items: 0,
            deadline: client.0.clock.now() + limit,
            limit,
        }
    }

    fn stopped(&self, why: String) -> GraphError {
        GraphError::ListStopped {
            url: self.shown.clone(),
            pages: self.pages,
            items: self.items,
            why,
        }
    }

    /// Before `url` is read.
    fn visit(&mut self, url: &Url, now: Instant) -> Result<(), GraphError> {
        if !self.seen.insert(url.to_string()) {
            return Err(self.stopped(format!(
                "the next page's link ({}) was followed before: the links loop",
                redact(url)
            )));
        }
        if self.pages >= MAX_PAGES {
            return Err(self.stopped(format!("more than the {MAX_PAGES} pages roster reads")));
        }
        if now >= self.deadline {
            return Err(self.stopped(format!(
                "not read within {} (the deadline for one listing)",
                crate::scim::client::plain_duration(self.limit)
            )));
        }
        self.pages += 1;
        Ok(())
    }

    /// After a page of `n` items.
    fn add(&mut self, n: usize) -> Result<(), GraphError> {
        self.items += n as u64;
        if self.items > MAX_ITEMS {
            return Err(self.stopped(format!("more than the {MAX_ITEMS} items roster reads")));
        }
        Ok(())
    }
}

struct Raw {
    status: u16,
    retry_after: Option<Duration>,
    body: Vec<u8>,
}

/// Sends one request and reads the whole answer (up to [`MAX_BODY`]). `from_loopback`: the
/// server is on a loopback address, so the emulator's wait header is honoured.
async fn send(req: reqwest::RequestBuilder, from_loopback: bool) -> Result<Raw, (Failure, String)> {
    let classify = |e: &reqwest::Error| {
        if e.is_connect() {
            Failure::Connect
        } else if e.is_timeout() {
            Failure::Timeout
        } else if e.is_request() || e.is_body() {
            Failure::ConnectionLost
        } else {
            Failure::Other
        }
    };
    let describe = |e: reqwest::Error| {
        let e = e.without_url();
        let mut parts = vec![e.to_string()];
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            parts.push(s.to_string());
            source = s.source();
        }
        parts.dedup();
        parts.join(": ")
    };
    let mut response = match req.send().await {
        Ok(r) => r,
        Err(e) => return Err((classify(&e), describe(e))),
    };
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let retry_after = retry::parse_retry_after(
        header(RETRY_AFTER.as_str()).as_deref(),
        header(EMULATOR_RETRY_AFTER_MS).as_deref(),
        from_loopback,
    );
    let status = response.status().as_u16();
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > MAX_BODY {
                    return Err((
                        Failure::Other,
                        format!("the answer is larger than {} MiB", MAX_BODY >> 20),
                    ));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            Err(e) => return Err((classify(&e), describe(e))),
        }
    }
    Ok(Raw {
        status,
        retry_after,
        body,
    })
}

/// Graph's error body, `{"error": {"code": …, "message": …}}`, or its text; every piece
/// redacted, stripped of control characters and cut (see [`Redactor::server_text`]).
fn graph_error(body: &[u8], redactor: &Redactor) -> (String, String) {
    let json: Json = serde_json::from_slice(body).unwrap_or(Json::Null);
    let e = &json["error"];
    let code = redactor.server_text(e["code"].as_str().unwrap_or(""), CODE_CHARS);
    let message = match e["message"].as_str() {
        Some(m) => redactor.server_text(m, SERVER_TEXT_CHARS),
        None => redactor.server_bytes(body, SERVER_TEXT_CHARS),
    };
    (code, message)
}

/// An error code is a word (`invalid_client`, `Request_ResourceNotFound`); a longer one is cut.
const CODE_CHARS: usize = 60;

/// `localhost`, 127.0.0.0/8 or `::1`.
fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Query keys whose values are safe and useful in logs.
const SHOWN_QUERY_KEYS: &[&str] = &["$select", "$top", "$count"];

/// A Graph URL made safe for a log line or an error: scheme, host, port and path; query keys
/// with their values redacted except `$select`, `$top` and `$count` (skip and delta tokens
/// and filters are not shown).
pub fn redact(url: &Url) -> String {
    crate::scim::client::redact_query(url, |key, value| {
        SHOWN_QUERY_KEYS.contains(&key)
            && value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, ',' | '.' | '/'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_urls_are_redacted() {
        let url = Url::parse(
            "https://user:pw@graph.microsoft.com/v1.0/users/delta?$select=id,mail&$deltatoken=abc%3D&$filter=x#f",
        )
        .unwrap();
        assert_eq!(
            redact(&url),
            "https://graph.microsoft.com/v1.0/users/delta?$select=id,mail&$deltatoken=[redacted]&$filter=[redacted]"
        );
    }

    #[test]
    fn config_debug_hides_the_secret() {
        let c = GraphConfig::new(
            "https://l",
            "https://g",
            "t",
            "c",
            Secret::new("s3cr3t-value"),
        );
        assert!(!format!("{c:?}").contains("s3cr3t"));
    }
}
