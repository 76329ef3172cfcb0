//! The SCIM side of the HTTP adapter: requests relative to the base URL, SCIM's headers, and
//! SCIM's reading of a failed request (its error bodies). [`crate::http::Adapter`] does the
//! sending: the token, pacing, retries, redaction, logging and counters.
//!
//! Its callers never see the adapter: reads go through [`Reader`], which can only GET, and
//! writes through [`Writer`], which only `WriteClient` holds. That is what makes `ReadClient`
//! read-only by construction.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::http::header::{ACCEPT, CONTENT_TYPE, ETAG, HeaderValue, IF_MATCH};
use serde_json::Value;
use url::Url;

use super::config::ClientConfig;
use super::error::{ClientError, ScimError, parse_error_body};
use crate::http::{self, Adapter, Failure, Method, Request};
use crate::redact::redact;

const SCIM_JSON: &str = "application/scim+json";
const ACCEPTED: &str = "application/scim+json, application/json";

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

impl From<http::Response> for Response {
    fn from(r: http::Response) -> Response {
        Response {
            status: r.status,
            etag: r.header(ETAG.as_str()).map(str::to_string),
            body: r.body,
            method: r.method,
            url: r.url,
        }
    }
}

/// Where log lines go, and how many: the adapter's.
pub(crate) struct Log<'a>(&'a Adapter);

impl Log<'_> {
    /// Writes `line()` when the verbosity is at least `level` (1: retries and pauses; 2: every
    /// request).
    pub(crate) fn at(&self, level: u8, line: impl FnOnce() -> String) {
        self.0.log(level, line)
    }
}

struct Transport {
    http: Adapter,
    /// Without a trailing slash.
    base: String,
    max_reads: usize,
    read_deadline: Duration,
}

impl Transport {
    fn connect(config: &ClientConfig) -> Result<Transport, ClientError> {
        let base = config.validate()?;
        let http = Adapter::new(http::Config {
            name: "scim",
            origins: vec![base.clone()],
            auth: http::Auth::Bearer(config.token.clone()),
            timeout: config.timeout,
            connect_timeout: config.connect_timeout,
            user_agent: config.user_agent.clone(),
            requests_per_minute: config.requests_per_minute,
            max_reads: config.max_reads,
            max_writes: config.max_writes,
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
        .map_err(ClientError::Config)?;
        Ok(Transport {
            http,
            base: base.as_str().trim_end_matches('/').to_string(),
            max_reads: config.max_reads,
            read_deadline: config.read_deadline,
        })
    }

    fn url(
        &self,
        method: Method,
        path: &str,
        query: &[(&'static str, String)],
    ) -> Result<Url, ClientError> {
        let mut url = Url::parse(&format!("{}/{path}", self.base)).map_err(|e| {
            ClientError::InvalidRequest {
                method,
                url: format!("{}/…", redact(&self.base_url())),
                detail: format!("cannot form the URL: {e}"),
            }
        })?;
        if !query.is_empty() {
            url.set_query(Some(&super::resource::encode_query(query)));
        }
        Ok(url)
    }

    fn base_url(&self) -> Url {
        // Validated when the transport was built.
        Url::parse(&self.base).expect("base URL was validated")
    }

    /// Sends `req` through the adapter. 2xx is `Ok`; anything else is an error (callers turn
    /// a 404 into `None` where that is the meaning).
    async fn execute(&self, req: Request) -> Result<Response, ClientError> {
        let req = req.header(ACCEPT, HeaderValue::from_static(ACCEPTED));
        match self.http.send(req).await {
            Ok(response) => Ok(response.into()),
            Err(failure) => Err(self.error(failure)),
        }
    }

    /// What a failed request means in SCIM's terms.
    fn error(&self, failure: Failure) -> ClientError {
        match failure {
            Failure::Status {
                response,
                refused_wait,
            } => {
                let (scim_type, detail) =
                    parse_error_body(response.status, &response.body, self.http.redactor());
                ClientError::Scim(ScimError {
                    status: response.status,
                    scim_type,
                    detail,
                    method: response.method,
                    url: response.url,
                    attempts: response.attempts,
                    refused_wait,
                })
            }
            Failure::Transport {
                method,
                url,
                kind,
                attempts,
                why,
                message,
            } => ClientError::Transport {
                method,
                url,
                kind,
                attempts,
                why,
                message,
            },
            Failure::TooLarge { method, url, limit } => ClientError::InvalidResponse {
                method,
                url,
                detail: format!("the answer is larger than {} MiB", limit >> 20),
            },
            Failure::Deadline { method, url, limit } => {
                ClientError::Deadline { method, url, limit }
            }
            Failure::Refused {
                method,
                url,
                detail,
            } => ClientError::InvalidRequest {
                method,
                url,
                detail,
            },
            Failure::Invalid {
                method,
                url,
                detail,
            } => ClientError::InvalidResponse {
                method,
                url,
                detail,
            },
            // A bearer token needs no sign-in.
            Failure::SignIn(inner) => self.error(*inner),
        }
    }
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
        let url = self.0.url(Method::Get, path, &query)?;
        self.0.execute(Request::get(url).deadline(deadline)).await
    }

    /// When a read that starts now must be done, with the configured limit.
    pub(crate) fn read_deadline(&self) -> (Instant, Duration) {
        let limit = self.0.read_deadline;
        (self.0.http.clock().now() + limit, limit)
    }

    pub(crate) fn now(&self) -> Instant {
        self.0.http.clock().now()
    }

    /// The redacted URL of `path`, for errors about a whole listing.
    pub(crate) fn shown_url(&self, path: &str) -> String {
        redact_url_or_base(&self.0, path)
    }

    pub(crate) fn stats(&self) -> Arc<http::Stats> {
        self.0.http.stats()
    }

    pub(crate) fn usage(&self) -> http::Usage {
        self.0.http.usage()
    }

    pub(crate) fn log(&self) -> Log<'_> {
        Log(&self.0.http)
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
        let mut req = Request::new(method, self.0.url(method, path, &[])?);
        if let Some(body) = body {
            req = req
                .header(CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON))
                .body(body);
        }
        if let Some(tag) = if_match {
            req = req.header(IF_MATCH, tag);
        }
        self.0.execute(req).await
    }
}
