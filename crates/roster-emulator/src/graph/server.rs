//! The Graph emulator's HTTP side: the token endpoint, the Graph resources roster reads, paging,
//! delta rounds with expiring tokens, `ConsistencyLevel` checks, throttling, and control
//! endpoints under `/_graph/`. Listens on 127.0.0.1 only.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{Value as Json, json};
use tokio::sync::watch;

use super::GraphEmulatorConfig;
use super::tenant::{ChangeLog, Tenant, TenantIndex, USER_PROPERTIES};
use crate::serve::{self, Resp};

/// Path prefixes: `{base}/login/{tenant}/oauth2/v2.0/token` and `{base}/graph/v1.0/…`.
pub const LOGIN_PREFIX: &str = "/login";
pub const GRAPH_PREFIX: &str = "/graph";

/// Request counters, as `GET /_graph/stats` shows them.
#[derive(Debug, Default)]
pub struct Counters {
    pub token_requests: AtomicU64,
    pub requests: AtomicU64,
    pub throttled: AtomicU64,
    pub unavailable: AtomicU64,
    pub full_rounds: AtomicU64,
    pub incremental_rounds: AtomicU64,
    pub delta_pages: AtomicU64,
    pub delta_items: AtomicU64,
    pub gone: AtomicU64,
    pub deleted_item_reads: AtomicU64,
    pub assignment_reads: AtomicU64,
    pub member_reads: AtomicU64,
    pub eventual_requests: AtomicU64,
    pub unauthorized: AtomicU64,
}

/// The counters at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct GraphStats {
    /// Token requests, refused ones included.
    pub token_requests: u64,
    /// Graph requests (not tokens, not `/_graph/`), answered or refused.
    pub requests: u64,
    /// 429 answers.
    pub throttled: u64,
    /// 503 answers.
    pub unavailable: u64,
    /// Delta rounds started without a token (full reads).
    pub full_rounds: u64,
    /// Delta rounds started from a delta link.
    pub incremental_rounds: u64,
    /// Pages of `/users/delta` served.
    pub delta_pages: u64,
    /// Users (and removals) returned by `/users/delta`.
    pub delta_items: u64,
    /// 410 answers to expired delta links.
    pub gone: u64,
    pub deleted_item_reads: u64,
    pub assignment_reads: u64,
    /// Pages of group members (direct or transitive).
    pub member_reads: u64,
    /// Requests that carried `ConsistencyLevel: eventual`.
    pub eventual_requests: u64,
    /// 401 answers.
    pub unauthorized: u64,
}

impl Counters {
    pub fn snapshot(&self) -> GraphStats {
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        GraphStats {
            token_requests: l(&self.token_requests),
            requests: l(&self.requests),
            throttled: l(&self.throttled),
            unavailable: l(&self.unavailable),
            full_rounds: l(&self.full_rounds),
            incremental_rounds: l(&self.incremental_rounds),
            delta_pages: l(&self.delta_pages),
            delta_items: l(&self.delta_items),
            gone: l(&self.gone),
            deleted_item_reads: l(&self.deleted_item_reads),
            assignment_reads: l(&self.assignment_reads),
            member_reads: l(&self.member_reads),
            eventual_requests: l(&self.eventual_requests),
            unauthorized: l(&self.unauthorized),
        }
    }

    pub fn reset(&self) {
        for a in [
            &self.token_requests,
            &self.requests,
            &self.throttled,
            &self.unavailable,
            &self.full_rounds,
            &self.incremental_rounds,
            &self.delta_pages,
            &self.delta_items,
            &self.gone,
            &self.deleted_item_reads,
            &self.assignment_reads,
            &self.member_reads,
            &self.eventual_requests,
            &self.unauthorized,
        ] {
            a.store(0, Ordering::Relaxed);
        }
    }
}

/// The tenant and what goes with it, under one lock.
pub struct State {
    pub tenant: Tenant,
    pub changes: ChangeLog,
    /// Bumped to expire every delta link handed out so far.
    pub delta_epoch: u64,
    /// Issued access tokens and when each expires.
    pub tokens: HashMap<String, Instant>,
    issued: u64,
}

pub struct Shared {
    pub config: GraphEmulatorConfig,
    /// `http://127.0.0.1:PORT`.
    pub origin: String,
    pub state: Mutex<State>,
    pub counters: Counters,
    /// Graph requests so far, for the throttling and fault schedule.
    seq: AtomicU64,
}

impl Shared {
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

pub struct Server {
    pub shared: Arc<Shared>,
    pub addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    accept: tokio::task::JoinHandle<()>,
}

impl Server {
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.accept.await;
    }

    pub fn signal_shutdown(&self) {
        let _ = self.shutdown.send(true);
    }
}

pub async fn start(config: GraphEmulatorConfig, tenant: Tenant) -> std::io::Result<Server> {
    let listener = serve::bind(config.port).await?;
    let addr = listener.local_addr()?;
    let (tx, rx) = watch::channel(false);
    let shared = Arc::new(Shared {
        config,
        origin: format!("http://{addr}"),
        state: Mutex::new(State {
            tenant,
            changes: ChangeLog::default(),
            delta_epoch: 1,
            tokens: HashMap::new(),
            issued: 0,
        }),
        counters: Counters::default(),
        seq: AtomicU64::new(0),
    });
    let s = shared.clone();
    let accept = tokio::spawn(serve::serve(
        listener,
        move |_conn, req| handle(s.clone(), req),
        rx,
    ));
    Ok(Server {
        shared,
        addr,
        shutdown: tx,
        accept,
    })
}

fn json_response(status: StatusCode, body: &Json) -> Resp {
    let mut r = Response::new(Full::new(Bytes::from(body.to_string())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// An error answer, boxed: it travels through `?`.
type Refused = Box<Resp>;

fn refuse(status: StatusCode, code: &str, message: &str) -> Refused {
    Box::new(graph_error(status, code, message))
}

/// Graph's error shape.
fn graph_error(status: StatusCode, code: &str, message: &str) -> Resp {
    json_response(
        status,
        &json!({"error": {"code": code, "message": message,
                          "innerError": {"request-id": "00000000-0000-0000-0000-000000000000"}}}),
    )
}

/// Entra's token-endpoint error shape.
fn token_error(status: StatusCode, error: &str, code: u32, description: &str) -> Resp {
    json_response(
        status,
        &json!({"error": error,
                "error_description": format!("AADSTS{code}: {description}\r\nTrace ID: 0\r\nCorrelation ID: 0\r\nTimestamp: 2026-01-01 00:00:00Z"),
                "error_codes": [code]}),
    )
}

async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Result<Resp, Infallible> {
    let started = Instant::now();
    let method = req.method().clone();
    let target = req.uri().to_string();
    let response = route(&shared, req).await;
    if shared.config.log_requests {
        // A full or closed stderr must not stop the emulator.
        let _ = std::io::Write::write_fmt(
            &mut std::io::stderr().lock(),
            format_args!(
                "graph-emulator: {method} {target} {} {:.1}ms\n",
                response.status().as_u16(),
                started.elapsed().as_secs_f64() * 1000.0
            ),
        );
    }
    Ok(response)
}

async fn route(shared: &Shared, req: Request<Incoming>) -> Resp {
    let path = req.uri().path().to_string();
    let query: Vec<(String, String)> = req
        .uri()
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    if let Some(rest) = path.strip_prefix("/_graph/") {
        return control(shared, req.method(), rest);
    }
    if let Some(rest) = path.strip_prefix(LOGIN_PREFIX) {
        shared
            .counters
            .token_requests
            .fetch_add(1, Ordering::Relaxed);
        if req.method() != Method::POST {
            return token_error(
                StatusCode::METHOD_NOT_ALLOWED,
                "invalid_request",
                900561,
                "The endpoint only accepts POST requests.",
            );
        }
        let tenant = rest
            .strip_prefix('/')
            .and_then(|r| r.strip_suffix("/oauth2/v2.0/token"))
            .unwrap_or("")
            .to_string();
        let body = match req.into_body().collect().await {
            Ok(b) => b.to_bytes(),
            Err(_) => Bytes::new(),
        };
        return token(shared, &tenant, &body);
    }
    let Some(rest) = path.strip_prefix(GRAPH_PREFIX) else {
        return graph_error(StatusCode::NOT_FOUND, "NotFound", "no such endpoint");
    };
    shared.counters.requests.fetch_add(1, Ordering::Relaxed);
    let eventual = req
        .headers()
        .get("consistencylevel")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("eventual"));
    if eventual {
        shared
            .counters
            .eventual_requests
            .fetch_add(1, Ordering::Relaxed);
    }
    // Faults first, like a gateway in front of Graph.
    let n = shared.seq.fetch_add(1, Ordering::Relaxed) + 1;
    let cfg = &shared.config;
    if cfg.throttle_every > 0 && n.is_multiple_of(cfg.throttle_every) {
        shared.counters.throttled.fetch_add(1, Ordering::Relaxed);
        return with_retry_after(
            graph_error(
                StatusCode::TOO_MANY_REQUESTS,
                "TooManyRequests",
                "Too many requests. Please retry after the time in the Retry-After header.",
            ),
            cfg,
        );
    }
    if cfg.unavailable_every > 0 && n.is_multiple_of(cfg.unavailable_every) {
        shared.counters.unavailable.fetch_add(1, Ordering::Relaxed);
        return with_retry_after(
            graph_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "serviceNotAvailable",
                "The service is temporarily unavailable.",
            ),
            cfg,
        );
    }
    if !authorized(shared, req.headers()) {
        shared.counters.unauthorized.fetch_add(1, Ordering::Relaxed);
        return graph_error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "Access token is empty, expired or not valid.",
        );
    }
    if req.method() != Method::GET {
        return graph_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "Request_BadRequest",
            "the emulator serves GET only",
        );
    }
    let Some(rest) = rest.strip_prefix("/v1.0/") else {
        return graph_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "Invalid version: use /v1.0/",
        );
    };
    let q = Query::new(query, eventual);
    match graph(shared, rest, &q) {
        Ok(r) => r,
        Err(r) => *r,
    }
}

fn with_retry_after(mut r: Resp, cfg: &GraphEmulatorConfig) -> Resp {
    let secs = cfg.retry_after_secs;
    let headers = r.headers_mut();
    headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
    let scaled = (secs as f64 * 1000.0 / cfg.time_scale.max(1e-9)).round() as u64;
    headers.insert("x-emulator-retry-after-ms", HeaderValue::from(scaled));
    r
}

fn authorized(shared: &Shared, headers: &hyper::HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let Some((scheme, token)) = value.trim().split_once(' ') else {
        return false;
    };
    if !scheme.eq_ignore_ascii_case("bearer") {
        return false;
    }
    let state = shared.lock();
    state
        .tokens
        .get(token.trim())
        .is_some_and(|expiry| Instant::now() < *expiry)
}

fn token(shared: &Shared, tenant: &str, body: &[u8]) -> Resp {
    let form: HashMap<String, String> = url::form_urlencoded::parse(body).into_owned().collect();
    let mut state = shared.lock();
    let t = &state.tenant;
    if tenant != t.tenant_id && !tenant.eq_ignore_ascii_case(&t.domain) {
        return token_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            90002,
            &format!("Tenant '{tenant}' not found."),
        );
    }
    if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return token_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            "The app requested an unsupported grant type.",
        );
    }
    if form.get("client_id") != Some(&t.client_id) {
        return token_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            &format!(
                "Application with identifier '{}' was not found in the directory.",
                form.get("client_id").map_or("", String::as_str)
            ),
        );
    }
    if form.get("client_secret") != Some(&t.client_secret) {
        return token_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000215,
            "Invalid client secret provided. Ensure the secret being sent in the request is the \
             client secret value, not the client secret ID.",
        );
    }
    if !form.get("scope").is_some_and(|s| s.ends_with("/.default")) {
        return token_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            1002012,
            "The provided value for scope is not valid. Client credential flows must have a \
             scope value with /.default suffixed to the resource identifier.",
        );
    }
    state.issued += 1;
    let value = format!(
        "graph-emulator.{}.{:016x}",
        state.issued,
        (state.issued ^ 0x5DEECE66D).wrapping_mul(0x9E37_79B9_7F4A_7C15)
    );
    let lifetime = shared.config.token_lifetime;
    state
        .tokens
        .insert(value.clone(), Instant::now() + lifetime);
    let secs = lifetime.as_secs();
    json_response(
        StatusCode::OK,
        &json!({"token_type": "Bearer", "expires_in": secs, "ext_expires_in": secs,
                "access_token": value}),
    )
}

/// The control endpoints, without a token: never throttled.
fn control(shared: &Shared, method: &Method, rest: &str) -> Resp {
    match (method, rest) {
        (&Method::GET, "stats") => json_response(
            StatusCode::OK,
            &serde_json::to_value(shared.counters.snapshot()).unwrap_or(Json::Null),
        ),
        (&Method::POST, "reset-stats") => {
            shared.counters.reset();
            json_response(StatusCode::OK, &json!({}))
        }
        (&Method::POST, "expire-delta-links") => {
            shared.lock().delta_epoch += 1;
            json_response(StatusCode::OK, &json!({}))
        }
        (&Method::POST, "revoke-tokens") => {
            shared.lock().tokens.clear();
            json_response(StatusCode::OK, &json!({}))
        }
        _ => graph_error(
            StatusCode::NOT_FOUND,
            "NotFound",
            "no such control endpoint",
        ),
    }
}

/// A request's OData options.
struct Query {
    params: Vec<(String, String)>,
    eventual: bool,
}

impl Query {
    fn new(params: Vec<(String, String)>, eventual: bool) -> Query {
        Query { params, eventual }
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }

    fn select(&self, allowed: &[&str]) -> Result<Option<Vec<String>>, Refused> {
        let Some(s) = self.get("$select") else {
            return Ok(None);
        };
        let mut out = Vec::new();
        for p in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let Some(known) = allowed.iter().find(|a| a.eq_ignore_ascii_case(p)) else {
                return Err(refuse(
                    StatusCode::BAD_REQUEST,
                    "Request_BadRequest",
                    &format!(
                        "Could not find a property named '{p}' on type 'microsoft.graph.user'."
                    ),
                ));
            };
            out.push(known.to_string());
        }
        Ok(Some(out))
    }

    fn top(&self, default: usize) -> Result<usize, Refused> {
        match self.get("$top") {
            None => Ok(default),
            Some(t) => match t.parse::<usize>() {
                Ok(n) if (1..=999).contains(&n) => Ok(n),
                _ => Err(refuse(
                    StatusCode::BAD_REQUEST,
                    "Request_BadRequest",
                    &format!(
                        "Invalid page size specified: '{t}'. Must be between 1 and 999 inclusive."
                    ),
                )),
            },
        }
    }

    fn count(&self) -> bool {
        self.get("$count")
            .is_some_and(|c| c.eq_ignore_ascii_case("true"))
    }

    /// Advanced queries (`$count`, OData casts) need `ConsistencyLevel: eventual`.
    fn require_eventual(&self, advanced: bool) -> Result<(), Refused> {
        if (advanced || self.count()) && !self.eventual {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                "Request_UnsupportedQuery",
                "This query is an advanced query: it needs the ConsistencyLevel header set to \
                 eventual and $count=true.",
            ));
        }
        Ok(())
    }

    fn skip(&self) -> Result<usize, Refused> {
        match self.get("$skiptoken") {
            None => Ok(0),
            Some(t) => t
                .strip_prefix("o")
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| {
                    refuse(
                        StatusCode::BAD_REQUEST,
                        "Request_BadRequest",
                        "The specified page token value has expired or is invalid.",
                    )
                }),
        }
    }
}

/// The link to the next page: the same request with `$skiptoken` replaced.
fn link(shared: &Shared, path: &str, q: &Query, key: &str, value: &str) -> String {
    let mut url = url::Url::parse(&format!("{}{GRAPH_PREFIX}/v1.0/{path}", shared.origin))
        .expect("the emulator's own URL parses");
    {
        let mut pairs = url.query_pairs_mut();
        for (k, v) in &q.params {
            if !["$skiptoken", "$deltatoken"].contains(&k.as_str()) {
                pairs.append_pair(k, v);
            }
        }
        pairs.append_pair(key, value);
    }
    url.to_string()
}

/// One page of `items` with paging links and, on the first page, `@odata.count` when asked.
fn page(shared: &Shared, path: &str, q: &Query, items: Vec<Json>) -> Result<Resp, Refused> {
    page_of(shared, path, q, items, |j| j)
}

/// A page of `items`, only the page's own rendered (a tenant of 100,000 users is listed a
/// page at a time without rendering every user for each).
fn page_of<T>(
    shared: &Shared,
    path: &str,
    q: &Query,
    items: Vec<T>,
    render: impl FnMut(T) -> Json,
) -> Result<Resp, Refused> {
    let size = q.top(shared.config.page_size)?;
    let skip = q.skip()?;
    let total = items.len();
    let mut body = serde_json::Map::new();
    if q.count() && skip == 0 {
        body.insert("@odata.count".into(), json!(total));
    }
    let end = (skip + size).min(total);
    let value: Vec<Json> = items
        .into_iter()
        .skip(skip)
        .take(size)
        .map(render)
        .collect();
    body.insert("value".into(), Json::Array(value));
    if end < total {
        body.insert(
            "@odata.nextLink".into(),
            json!(link(shared, path, q, "$skiptoken", &format!("o{end}"))),
        );
    }
    Ok(json_response(StatusCode::OK, &Json::Object(body)))
}

fn not_found(what: &str, id: &str) -> Refused {
    refuse(
        StatusCode::NOT_FOUND,
        "Request_ResourceNotFound",
        &format!(
            "Resource '{id}' does not exist or one of its queried reference-property objects are not present. ({what})"
        ),
    )
}

fn graph(shared: &Shared, path: &str, q: &Query) -> Result<Resp, Refused> {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    match segments.as_slice() {
        ["users", "delta"] => delta(shared, path, q),
        ["users"] => {
            q.require_eventual(false)?;
            let select = q.select(USER_PROPERTIES)?;
            let state = shared.lock();
            let t = &state.tenant;
            let items: Vec<_> = t.users.iter().filter(|u| !u.deleted).collect();
            page_of(shared, path, q, items, |u| {
                t.render_user(u, select.as_deref(), false)
            })
        }
        ["users", id] => {
            let select = q.select(USER_PROPERTIES)?;
            let state = shared.lock();
            match state.tenant.user(id).filter(|u| !u.deleted) {
                Some(u) => Ok(json_response(
                    StatusCode::OK,
                    &state.tenant.render_user(u, select.as_deref(), false),
                )),
                None => Err(not_found("user", id)),
            }
        }
        ["directory", "deletedItems", "microsoft.graph.user"] => {
            shared
                .counters
                .deleted_item_reads
                .fetch_add(1, Ordering::Relaxed);
            q.require_eventual(false)?;
            let select = q.select(USER_PROPERTIES)?;
            let state = shared.lock();
            let t = &state.tenant;
            let items: Vec<_> = t.users.iter().filter(|u| u.deleted).collect();
            page_of(shared, path, q, items, |u| {
                t.render_user(u, select.as_deref(), false)
            })
        }
        ["servicePrincipals", sp] => {
            let state = shared.lock();
            let t = &state.tenant;
            if *sp != t.service_principal_id {
                return Err(not_found("servicePrincipal", sp));
            }
            Ok(json_response(
                StatusCode::OK,
                &json!({"id": t.service_principal_id, "displayName": "Asana",
                        "appId": "00000000-0000-4000-8000-0000000a5a7a",
                        "servicePrincipalType": "Application"}),
            ))
        }
        ["servicePrincipals", sp, "appRoleAssignedTo"] => {
            shared
                .counters
                .assignment_reads
                .fetch_add(1, Ordering::Relaxed);
            q.require_eventual(false)?;
            let state = shared.lock();
            let t = &state.tenant;
            if *sp != t.service_principal_id {
                return Err(not_found("servicePrincipal", sp));
            }
            let ix = TenantIndex::new(t);
            let items = t
                .assignments
                .iter()
                .filter_map(|a| {
                    let kind = ix.principal_type(&a.principal_id)?;
                    Some(json!({
                        "id": format!("assignment-{}", a.principal_id),
                        "appRoleId": "00000000-0000-0000-0000-000000000000",
                        "principalId": a.principal_id,
                        "principalType": kind,
                        "principalDisplayName": ix.display_name(&a.principal_id),
                        "resourceId": t.service_principal_id,
                        "resourceDisplayName": "Asana",
                    }))
                })
                .collect();
            drop(state);
            page(shared, path, q, items)
        }
        ["groups"] => {
            let state = shared.lock();
            let items = state
                .tenant
                .groups
                .iter()
                .map(
                    |g| json!({"id": g.id, "displayName": g.display_name, "securityEnabled": true}),
                )
                .collect();
            drop(state);
            page(shared, path, q, items)
        }
        [
            "groups",
            id,
            kind @ ("members" | "transitiveMembers"),
            rest @ ..,
        ] => {
            shared.counters.member_reads.fetch_add(1, Ordering::Relaxed);
            let cast = match rest {
                [] => None,
                ["microsoft.graph.user"] => Some("user"),
                ["microsoft.graph.group"] => Some("group"),
                _ => {
                    return Err(refuse(
                        StatusCode::BAD_REQUEST,
                        "BadRequest",
                        "unknown cast",
                    ));
                }
            };
            // Casts are advanced queries (Graph: "OData cast … requires ConsistencyLevel").
            q.require_eventual(cast.is_some())?;
            let state = shared.lock();
            let t = &state.tenant;
            let ix = TenantIndex::new(t);
            if ix.group(id).is_none() {
                return Err(not_found("group", id));
            }
            let items = ix
                .members(id, *kind == "transitiveMembers")
                .into_iter()
                .filter_map(|m| {
                    if let Some(u) = ix.user(&m).filter(|u| !u.deleted) {
                        (cast != Some("group")).then(|| {
                            let mut j = t.render_user(
                                u,
                                Some(&["id".into(), "userPrincipalName".into()]),
                                false,
                            );
                            j["@odata.type"] = json!("#microsoft.graph.user");
                            j
                        })
                    } else {
                        let g = ix.group(&m)?;
                        (cast != Some("user")).then(|| {
                            json!({"@odata.type": "#microsoft.graph.group", "id": g.id,
                                   "displayName": g.display_name})
                        })
                    }
                })
                .collect();
            drop(state);
            page(shared, path, q, items)
        }
        _ => Err(refuse(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            &format!("Resource not found for the segment '{}'.", segments[0]),
        )),
    }
}

/// `/users/delta`: a full round without a token, changes since the token with one. Tokens
/// carry the epoch they were made in; once the epoch moves on (`/_graph/expire-delta-links`),
/// they answer 410 Gone, as Graph does for a sync state it no longer holds.
fn delta(shared: &Shared, path: &str, q: &Query) -> Result<Resp, Refused> {
    if q.get("$top").is_some() || q.get("$expand").is_some() || q.get("$orderby").is_some() {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "Request_UnsupportedQuery",
            "$top, $expand and $orderby are not supported with delta queries.",
        ));
    }
    let select = q.select(USER_PROPERTIES)?;
    let state = shared.lock();
    // A round is pinned to where it started: (epoch, from, until) in the skip token.
    let (epoch, from, until, skip) = match (q.get("$deltatoken"), q.get("$skiptoken")) {
        (Some(token), _) => {
            let Some((epoch, from)) = parse_pair(token) else {
                return Err(refuse(
                    StatusCode::BAD_REQUEST,
                    "syncStateNotFound",
                    "The delta token is not valid.",
                ));
            };
            shared
                .counters
                .incremental_rounds
                .fetch_add(1, Ordering::Relaxed);
            (epoch, Some(from), state.changes.now(), 0)
        }
        (None, Some(skip)) => {
            let parts: Vec<u64> = skip.split('.').filter_map(|p| p.parse().ok()).collect();
            match parts.as_slice() {
                [epoch, 0, until, skip] => (*epoch, None, *until, *skip as usize),
                [epoch, 1, from, until, skip] => (*epoch, Some(*from), *until, *skip as usize),
                _ => {
                    return Err(refuse(
                        StatusCode::BAD_REQUEST,
                        "syncStateNotFound",
                        "The skip token is not valid.",
                    ));
                }
            }
        }
        (None, None) => {
            shared.counters.full_rounds.fetch_add(1, Ordering::Relaxed);
            (state.delta_epoch, None, state.changes.now(), 0)
        }
    };
    if epoch != state.delta_epoch {
        shared.counters.gone.fetch_add(1, Ordering::Relaxed);
        let mut fresh = url::Url::parse(&format!("{}{GRAPH_PREFIX}/v1.0/{path}", shared.origin))
            .expect("the emulator's own URL parses");
        if let Some(select) = q.get("$select") {
            fresh.query_pairs_mut().append_pair("$select", select);
        }
        let mut r = refuse(
            StatusCode::GONE,
            "resyncRequired",
            "The sync state is no longer available; start a new delta round without a token.",
        );
        if let Ok(v) = HeaderValue::from_str(fresh.as_str()) {
            r.headers_mut().insert(header::LOCATION, v);
        }
        return Err(r);
    }
    let t = &state.tenant;
    let size = shared.config.page_size;
    // Only the page's own users are rendered.
    let (total, value): (usize, Vec<Json>) = match from {
        None => {
            let users: Vec<_> = t.users.iter().filter(|u| !u.deleted).collect();
            let value = users
                .iter()
                .skip(skip)
                .take(size)
                .map(|u| t.render_user(u, select.as_deref(), true))
                .collect();
            (users.len(), value)
        }
        Some(from) => {
            let ids = state.changes.since(from, until);
            let ix = TenantIndex::new(t);
            let value = ids
                .iter()
                .skip(skip)
                .take(size)
                .map(|id| match ix.user(id) {
                    Some(u) if u.deleted => json!({"id": id, "@removed": {"reason": "changed"}}),
                    Some(u) => t.render_user(u, select.as_deref(), true),
                    None => json!({"id": id, "@removed": {"reason": "deleted"}}),
                })
                .collect();
            (ids.len(), value)
        }
    };
    drop(state);
    let end = (skip + size).min(total);
    shared.counters.delta_pages.fetch_add(1, Ordering::Relaxed);
    shared
        .counters
        .delta_items
        .fetch_add((end.saturating_sub(skip)) as u64, Ordering::Relaxed);
    let mut body = serde_json::Map::new();
    body.insert("value".into(), Json::Array(value));
    if end < total {
        let skip_token = match from {
            None => format!("{epoch}.0.{until}.{end}"),
            Some(from) => format!("{epoch}.1.{from}.{until}.{end}"),
        };
        body.insert(
            "@odata.nextLink".into(),
            json!(link(shared, path, q, "$skiptoken", &skip_token)),
        );
    } else {
        body.insert(
            "@odata.deltaLink".into(),
            json!(link(
                shared,
                path,
                q,
                "$deltatoken",
                &format!("{epoch}.{until}")
            )),
        );
    }
    Ok(json_response(StatusCode::OK, &Json::Object(body)))
}

fn parse_pair(token: &str) -> Option<(u64, u64)> {
    let (a, b) = token.split_once('.')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}
