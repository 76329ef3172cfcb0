//! The Microsoft Graph client: Graph's protocol, on top of the one HTTP adapter
//! ([`crate::http`]).
//!
//! It follows `@odata.nextLink` paging, runs delta rounds to their `@odata.deltaLink` (a 410
//! Gone or an expired sync state is [`GraphError::ResyncRequired`]), sends
//! `ConsistencyLevel: eventual` when asked (Graph's advanced queries need it, on every page),
//! and reads Graph's and Entra's error bodies. The adapter does the rest: the sign-in (OAuth
//! client credentials with the client secret, the access token cached until shortly before it
//! expires and bought again once on a 401), pacing under Graph's throttling (see
//! [`GraphConfig::requests_per_minute`]; a 429 pauses every worker for its `Retry-After`),
//! retries ([`crate::retry::decide`]), redaction of the secret and of every token bought, and
//! the request counters.
//!
//! It never sends anything but the token request and GETs, never prints the secret or a token
//! (URLs are redacted; whatever Graph says goes through the adapter's [`Redactor`]), and never
//! follows a link to a host other than the configured Graph host, so the token cannot be sent
//! anywhere else. A listing or delta round follows each link once, stops beyond [`MAX_PAGES`]
//! pages or [`MAX_ITEMS`] items, and has a deadline ([`GraphConfig::read_deadline`]).

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::http::header::{ACCEPT, HeaderName, HeaderValue};
use serde_json::Value as Json;
use url::Url;

use crate::http::{
    self, Adapter, ClientCredentials, Clock, Failure, LogSink, Redactor, RefusedWait, Request,
    SERVER_TEXT_CHARS, Secret, TokioClock,
};

/// The most pages one listing or delta round may take (ten million users at Graph's 100 a
/// page).
pub const MAX_PAGES: u64 = 100_000;
/// The most items one listing or delta round may hold.
pub const MAX_ITEMS: u64 = 10_000_000;
/// Token requests in flight at once: one (a sign-in is shared by every request waiting on it).
const SIGN_INS_IN_FLIGHT: usize = 1;

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
    /// The budget, retries included (no minute over it; a burst of a tenth, then spaced evenly:
    /// `roster_core::pacing::Budget`). Graph throttles each app in each tenant by resource
    /// units: 3,500 per 10 seconds for a tenant of under 50 users (5,000 up to 500, 8,000
    /// above), a `GET users` costing 2 units (1 with `$select`), group members 3 and
    /// transitive members 5. The default, 1,200 a minute
    /// (20 a second, a burst of 120), stays under a third of the smallest tenant's budget at
    /// the dearest request (20 × 5 = 100 units a second, 1,000 per 10 s), so another roster
    /// run with the same app registration fits beside it.
    pub requests_per_minute: u32,
    /// GETs in flight at once. Graph publishes no concurrency limit for directory reads;
    /// roster reads at most four group listings at once, so 8 leaves room without letting a
    /// future reader fan out unbounded.
    pub max_reads: usize,
    /// How long one listing or delta round may take; one still unread then stops with an
    /// error.
    pub read_deadline: Duration,
    /// 0: quiet; 1: retries and throttling; 2: every request.
    pub verbosity: u8,
    /// Where log lines go; stderr when `None`.
    pub log: Option<LogSink>,
    /// The clock pacing, retry waits and token expiry use; tests pass a `RecordingClock`.
    pub clock: Arc<dyn Clock>,
    /// Seed for the retry jitter; random when `None`.
    pub jitter_seed: Option<u64>,
}

impl GraphConfig {
    /// The default [`GraphConfig::read_deadline`]: 30 minutes.
    pub const READ_DEADLINE: Duration = Duration::from_secs(30 * 60);

    /// The default [`GraphConfig::requests_per_minute`].
    pub const REQUESTS_PER_MINUTE: u32 = 1_200;

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
            requests_per_minute: GraphConfig::REQUESTS_PER_MINUTE,
            max_reads: 8,
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

/// Request counters, for `-v` and for tests: the adapter's, in Graph's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GraphStatsSnapshot {
    /// Token requests (sign-ins), retries included.
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

/// A read-only Graph client. Cheap to clone; clones share the adapter: the token, the pacing
/// and the counters.
#[derive(Clone)]
pub struct GraphClient(Arc<Inner>);

struct Inner {
    http: Adapter,
    graph: Url,
    /// The client secret: the key of the delta state's seal.
    secret: Secret,
    read_deadline: Duration,
}

impl GraphClient {
    pub fn new(config: &GraphConfig) -> Result<GraphClient, GraphError> {
        let parse = |what: &str, url: &str| {
            let u = Url::parse(url)
                .map_err(|e| GraphError::Config(format!("{what} `{url}` is not a URL: {e}")))?;
            if !crate::urls::is_secure_or_loopback(&u) {
                return Err(GraphError::Config(format!(
                    "{what} must be https (http only for loopback addresses)"
                )));
            }
            Ok(u)
        };
        let graph = parse("graph_url", config.graph_url.trim_end_matches('/'))?;
        let login = parse("login_url", config.login_url.trim_end_matches('/'))?;
        let tenant: String =
            url::form_urlencoded::byte_serialize(config.tenant_id.as_bytes()).collect();
        let token_url = Url::parse(&format!(
            "{}/{tenant}/oauth2/v2.0/token",
            login.as_str().trim_end_matches('/')
        ))
        .map_err(|e| GraphError::Config(format!("cannot form the token URL: {e}")))?;
        let http = Adapter::new(http::Config {
            name: "graph",
            origins: vec![graph.clone(), login],
            auth: http::Auth::ClientCredentials(ClientCredentials {
                token_url,
                client_id: config.client_id.clone(),
                secret: config.secret.clone(),
                // Every application permission the admin consented to.
                scope: format!("{}/.default", graph.as_str().trim_end_matches('/')),
            }),
            timeout: config.timeout,
            connect_timeout: config.connect_timeout,
            user_agent: format!("roster/{}", env!("CARGO_PKG_VERSION")),
            requests_per_minute: config.requests_per_minute,
            max_reads: config.max_reads,
            max_writes: SIGN_INS_IN_FLIGHT,
            max_retries: config.max_retries,
            backoff_base: config.backoff_base,
            backoff_max: config.backoff_max,
            max_retry_after: config.max_retry_after,
            jitter_seed: config.jitter_seed,
            verbosity: config.verbosity,
            log: config.log.clone(),
            clock: config.clock.clone(),
            show: redact,
        })
        .map_err(GraphError::Config)?;
        Ok(GraphClient(Arc::new(Inner {
            http,
            graph,
            secret: config.secret.clone(),
            read_deadline: config.read_deadline,
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
        let s = self.0.http.stats().snapshot();
        GraphStatsSnapshot {
            tokens: s.post,
            requests: s.get,
            retries: s.retries,
            throttled: s.throttled,
        }
    }

    /// Every item of a collection, following `@odata.nextLink` to the end. With `eventual`,
    /// every page carries `ConsistencyLevel: eventual` (Graph does not carry headers over).
    pub async fn list(&self, first: Url, eventual: bool) -> Result<Vec<Json>, GraphError> {
        let mut walk = Walk::new(self, &first);
        let mut items = Vec::new();
        let mut next = Some(first);
        while let Some(url) = next.take() {
            walk.visit(&url, self.0.http.clock().now())?;
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
            walk.visit(&url, self.0.http.clock().now())?;
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
        if crate::urls::same_origin(url, g) {
            Ok(())
        } else {
            Err(GraphError::ForeignLink {
                url: redact(g),
                link: redact(url),
            })
        }
    }

    /// GETs one URL on the Graph host, with the token; the adapter paces and retries it.
    pub async fn get(&self, url: &Url, eventual: bool) -> Result<Json, GraphError> {
        self.check_origin(url)?;
        let mut req =
            Request::get(url.clone()).header(ACCEPT, HeaderValue::from_static("application/json"));
        if eventual {
            req = req.header(
                HeaderName::from_static("consistencylevel"),
                HeaderValue::from_static("eventual"),
            );
        }
        let response = self.0.http.send(req).await.map_err(|f| self.error(f))?;
        serde_json::from_slice(&response.body).map_err(|e| GraphError::InvalidResponse {
            url: response.url,
            detail: e.to_string(),
        })
    }

    /// What a failed request means in Graph's (or, for the sign-in, Entra's) terms.
    fn error(&self, failure: Failure) -> GraphError {
        let redactor = self.0.http.redactor();
        match failure {
            Failure::Status {
                response,
                refused_wait,
            } => {
                let (code, message) = graph_error(&response.body, redactor);
                if response.status == 410
                    || code.eq_ignore_ascii_case("syncStateNotFound")
                    || code.eq_ignore_ascii_case("resyncRequired")
                    || code.eq_ignore_ascii_case("syncStateInvalid")
                {
                    return GraphError::ResyncRequired {
                        url: response.url,
                        status: response.status,
                        code,
                    };
                }
                GraphError::Status {
                    url: response.url,
                    status: response.status,
                    code,
                    message,
                    attempts: response.attempts,
                    refused_wait,
                }
            }
            Failure::SignIn(failure) => match *failure {
                Failure::Status { response, .. } => {
                    let json: Json = serde_json::from_slice(&response.body).unwrap_or(Json::Null);
                    let field = |k: &str, limit: usize| {
                        let text = json.get(k).and_then(Json::as_str).unwrap_or("");
                        // Entra's descriptions end with trace ids and a timestamp; the first
                        // line is the message.
                        let first = text.lines().next().unwrap_or("");
                        redactor.server_text(first, limit)
                    };
                    GraphError::Token {
                        url: response.url,
                        status: response.status,
                        error: field("error", CODE_CHARS),
                        description: field("error_description", SERVER_TEXT_CHARS),
                    }
                }
                other => self.error(other),
            },
            Failure::Transport {
                method,
                url,
                attempts,
                message,
                ..
            } => GraphError::Transport {
                method: method.as_str(),
                url,
                message,
                attempts,
            },
            Failure::TooLarge { method, url, limit } => GraphError::Transport {
                method: method.as_str(),
                url,
                message: format!("the answer is larger than {} MiB", limit >> 20),
                attempts: 1,
            },
            Failure::Deadline { method, url, limit } => GraphError::Transport {
                method: method.as_str(),
                url,
                message: format!(
                    "not finished within {}",
                    crate::retry::plain_duration(limit)
                ),
                attempts: 1,
            },
            Failure::Refused { url, detail, .. } => GraphError::Config(format!("{url}: {detail}")),
            Failure::Invalid { url, detail, .. } => GraphError::InvalidResponse { url, detail },
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
            deadline: client.0.http.clock().now() + limit,
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
                crate::retry::plain_duration(self.limit)
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

/// Query keys whose values are safe and useful in logs.
const SHOWN_QUERY_KEYS: &[&str] = &["$select", "$top", "$count"];

/// A Graph URL made safe for a log line or an error: scheme, host, port and path; query keys
/// with their values redacted except `$select`, `$top` and `$count` (skip and delta tokens
/// and filters are not shown).
pub fn redact(url: &Url) -> String {
    crate::redact::redact_query(url, |key, value| {
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
