//! One request, start to finish: stats, token, limits, faults, routing to the store, the
//! response, persistence before acknowledging a change, and the `-v` log line.
//!
//! The order is fixed and documented (docs/emulator.md): `/_emulator/*` first (never counted,
//! limited or faulted), then 401, then 429, then faults, then the SCIM answer. Nothing here
//! decides SCIM semantics; that is the store's job.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{Value, json};

use super::clock;
use super::error::ScimError;
use super::faults::{self, Fault};
use super::filter;
use super::limits::{self, Access, Decision, Limit};
use super::schema::{self, CORE_GROUP, CORE_USER};
use super::serve::{ConnControl, Resp};
use super::server::Shared;
use super::store::{Page, PageRequest, Store};
use roster_core::scim::path::AttrPath;

pub const SCIM_PREFIX: &str = "/api/1.0/scim";
const SCIM_JSON: &str = "application/scim+json";
const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// Larger bodies get 413; a SCIM user is a few hundred bytes.
const MAX_BODY: usize = 1 << 20;

/// How a request ended, for stats and the log.
enum Outcome {
    Answer(Resp),
    /// Fault injection: close the connection with a TCP reset, answering nothing.
    Reset,
    /// Fault injection: answer nothing for a while, then reset.
    Hang,
}

/// Counts a request in flight and holds its limiter slot; whatever ends the request (an
/// answer, a fault, or the client going away mid-request) releases both exactly once.
struct InFlight<'a> {
    shared: &'a Shared,
    access: Access,
    method: String,
    slot: Option<usize>,
    /// Empty until the request ends; a request dropped before that (the client went away)
    /// counts as `dropped`.
    status: String,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if let Some(token) = self.slot {
            self.shared.release(token, self.access);
        }
        let outcome = if self.status.is_empty() {
            "dropped"
        } else {
            &self.status
        };
        self.shared.stats.finish(self.access, &self.method, outcome);
    }
}

pub async fn handle(
    shared: Arc<Shared>,
    conn: Arc<ConnControl>,
    req: Request<Incoming>,
) -> Result<Resp, Infallible> {
    let started = Instant::now();
    if let Some(rest) = req.uri().path().strip_prefix("/_emulator/") {
        return Ok(admin(&shared, req.method(), rest));
    }
    let method = req.method().clone();
    let target = req.uri().to_string();
    let access = if method == Method::GET || method == Method::HEAD {
        Access::Read
    } else {
        Access::Write
    };
    shared.stats.start(access);
    let mut flight = InFlight {
        shared: &shared,
        access,
        method: method.to_string(),
        slot: None,
        status: String::new(),
    };
    let seq = shared.seq.fetch_add(1, Ordering::Relaxed);
    let outcome = serve(&shared, req, seq, &mut flight).await;
    let (shown, response) = match outcome {
        Outcome::Answer(r) => (r.status().as_u16().to_string(), Some(r)),
        Outcome::Reset => ("reset".to_string(), None),
        Outcome::Hang => ("hang".to_string(), None),
    };
    if shared.config.log_requests {
        log(&method, &target, &shown, started);
    }
    flight.status = shown;
    drop(flight);
    match response {
        Some(r) => Ok(r),
        None => {
            conn.reset();
            // The connection task drops this future along with the connection.
            std::future::pending().await
        }
    }
}

/// The `-v` line; the emulator's only output besides the listening line.
fn log(method: &Method, target: &str, status: &str, started: Instant) {
    // A full or closed stderr must not stop the emulator.
    let _ = std::io::Write::write_fmt(
        &mut std::io::stderr().lock(),
        format_args!(
            "{method} {target} {status} {:.1}ms\n",
            started.elapsed().as_secs_f64() * 1000.0
        ),
    );
}

async fn serve(
    shared: &Shared,
    req: Request<Incoming>,
    seq: u64,
    flight: &mut InFlight<'_>,
) -> Outcome {
    let path = req.uri().path().to_string();
    let Some(rest) = path
        .strip_prefix(SCIM_PREFIX)
        .filter(|r| r.is_empty() || r.starts_with('/'))
    else {
        return answer(Err(ScimError::not_found(format!(
            "no such endpoint {path}: the SCIM API is under {SCIM_PREFIX}"
        ))));
    };
    let Some(token) = shared.token_index(req.headers()) else {
        return Outcome::Answer(unauthorized());
    };
    match shared.admit(token, flight.access) {
        Decision::Admit => flight.slot = Some(token),
        Decision::Reject {
            limit,
            retry_after_ms,
        } => return Outcome::Answer(too_many_requests(shared, limit, retry_after_ms)),
    }
    let plan = faults::plan(&shared.config.faults, seq);
    if plan.delay_ms > 0 {
        shared.sleep(plan.delay_ms).await;
    }
    match plan.fault {
        Fault::None => {}
        Fault::Reset => return Outcome::Reset,
        Fault::Hang => {
            shared.sleep(shared.config.faults.hang_ms).await;
            return Outcome::Hang;
        }
        Fault::Status(s) => return Outcome::Answer(injected_error(s)),
    }
    let (parts, body) = req.into_parts();
    let bytes = match Limited::new(body, MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            return answer(Err(ScimError::new(
                413,
                None,
                format!("the request body is larger than {MAX_BODY} bytes or was cut off"),
            )));
        }
    };
    let request = ScimRequest {
        method: &parts.method,
        rest,
        query: parts.uri.query().unwrap_or(""),
        headers: &parts.headers,
        body: &bytes,
    };
    answer(route(shared, &request).await)
}

fn answer(r: Result<Resp, ScimError>) -> Outcome {
    Outcome::Answer(r.unwrap_or_else(|e| error_response(&e)))
}

struct ScimRequest<'a> {
    method: &'a Method,
    /// The path after `/api/1.0/scim`.
    rest: &'a str,
    query: &'a str,
    headers: &'a HeaderMap,
    body: &'a Bytes,
}

impl ScimRequest<'_> {
    fn header(&self, name: header::HeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as JSON, for POST, PUT and PATCH.
    fn json(&self) -> Result<Value, ScimError> {
        if let Some(ct) = self.header(header::CONTENT_TYPE) {
            let mime = ct.split(';').next().unwrap_or("").trim();
            if !mime.eq_ignore_ascii_case(SCIM_JSON)
                && !mime.eq_ignore_ascii_case("application/json")
            {
                return Err(ScimError::new(
                    415,
                    None,
                    format!("send the body as {SCIM_JSON} (or application/json), not {mime}"),
                ));
            }
        }
        serde_json::from_slice(self.body)
            .map_err(|e| ScimError::invalid_syntax(format!("the body is not valid JSON: {e}")))
    }

    fn params(&self) -> Vec<(String, String)> {
        query_params(self.query)
    }
}

async fn route(shared: &Shared, r: &ScimRequest<'_>) -> Result<Resp, ScimError> {
    let segments: Vec<&str> = r.rest.split('/').filter(|s| !s.is_empty()).collect();
    let m = r.method;
    let base = &shared.base_url;
    match segments.as_slice() {
        ["ServiceProviderConfig"] => {
            only(m, "GET")?;
            Ok(json_response(
                StatusCode::OK,
                &service_provider_config(shared),
            ))
        }
        ["ResourceTypes"] => {
            only(m, "GET")?;
            Ok(list_response(schema::resource_type_documents(base)))
        }
        ["ResourceTypes", id] => {
            only(m, "GET")?;
            find_document(schema::resource_type_documents(base), id, "resource type")
        }
        ["Schemas"] => {
            only(m, "GET")?;
            Ok(list_response(schema::schema_documents(base)))
        }
        ["Schemas", id] => {
            only(m, "GET")?;
            find_document(schema::schema_documents(base), id, "schema")
        }
        [".search"] | [_, ".search"] | ["Bulk"] | ["Me"] => Err(ScimError::new(
            501,
            None,
            format!(
                "{} is not part of Asana's documented SCIM API; use GET /Users or /Groups with a filter",
                r.rest
            ),
        )),
        ["Users"] => match *m {
            Method::GET => list_users(shared, r),
            Method::POST => {
                let body = r.json()?;
                let now = clock::now();
                let (json, etag, rev) = shared.write(|s| {
                    let id = s.create_user(&body, &now)?;
                    written_user(s, id, base)
                })?;
                shared.persisted(rev).await?;
                Ok(resource_response(r, StatusCode::CREATED, json, etag))
            }
            _ => Err(method_not_allowed("GET, POST")),
        },
        ["Users", id] => {
            let id = *id;
            let now = clock::now();
            let if_match = r.header(header::IF_MATCH);
            match *m {
                Method::GET => user_response(shared, r, id),
                Method::PUT | Method::PATCH => {
                    let body = r.json()?;
                    let (json, etag, rev) = shared.write(|s| {
                        let n = if *m == Method::PUT {
                            s.replace_user(id, &body, if_match, &now)?
                        } else {
                            s.patch_user(id, &body, if_match, &now)?
                        };
                        written_user(s, n, base)
                    })?;
                    shared.persisted(rev).await?;
                    Ok(resource_response(r, StatusCode::OK, json, etag))
                }
                Method::DELETE => {
                    let rev = shared.write(|s| {
                        s.delete_user(id, if_match, &now)?;
                        Ok(s.revision())
                    })?;
                    shared.persisted(rev).await?;
                    Ok(empty(StatusCode::NO_CONTENT))
                }
                _ => Err(method_not_allowed("GET, PUT, PATCH, DELETE")),
            }
        }
        ["Groups"] => match *m {
            Method::GET => list_groups(shared, r),
            Method::POST => {
                let body = r.json()?;
                let now = clock::now();
                let (id, rev) = shared.write(|s| {
                    let id = s.create_group(&body, &now)?;
                    Ok((id, s.revision()))
                })?;
                shared.persisted(rev).await?;
                group_response(shared, r, StatusCode::CREATED, &id.to_string())
            }
            _ => Err(method_not_allowed("GET, POST")),
        },
        ["Groups", id] => {
            let id = *id;
            let now = clock::now();
            let if_match = r.header(header::IF_MATCH);
            match *m {
                Method::GET => group_response(shared, r, StatusCode::OK, id),
                Method::PUT => {
                    let body = r.json()?;
                    let rev = shared.write(|s| {
                        s.replace_group(id, &body, if_match, &now)?;
                        Ok(s.revision())
                    })?;
                    shared.persisted(rev).await?;
                    group_response(shared, r, StatusCode::OK, id)
                }
                Method::PATCH => {
                    let body = r.json()?;
                    let (etag, rev) = shared.write(|s| {
                        s.patch_group(id, &body, if_match, &now)?;
                        Ok((s.group(id)?.meta.etag(), s.revision()))
                    })?;
                    shared.persisted(rev).await?;
                    // Asana documents 204 No Content for a group PATCH.
                    let mut resp = empty(StatusCode::NO_CONTENT);
                    set_header(&mut resp, header::ETAG, &etag);
                    Ok(resp)
                }
                Method::DELETE => Err(ScimError {
                    detail: "Asana does not support deleting teams through SCIM; \
                             remove the members, or delete the team in Asana itself"
                        .into(),
                    ..method_not_allowed("GET, PUT, PATCH")
                }),
                _ => Err(method_not_allowed("GET, PUT, PATCH")),
            }
        }
        _ => Err(ScimError::not_found(format!(
            "no such endpoint {SCIM_PREFIX}{}; Asana serves /Users, /Groups, \
             /ServiceProviderConfig, /ResourceTypes and /Schemas",
            r.rest
        ))),
    }
}

/// `allowed` is an `Allow` header value, e.g. "GET, POST".
fn only(m: &Method, allowed: &'static str) -> Result<(), ScimError> {
    if allowed.split(", ").any(|a| a == m.as_str()) {
        Ok(())
    } else {
        Err(method_not_allowed(allowed))
    }
}

fn method_not_allowed(allowed: &'static str) -> ScimError {
    ScimError {
        allow: Some(allowed),
        ..ScimError::new(405, None, format!("method not allowed here; use {allowed}"))
    }
}

fn find_document(docs: Vec<Value>, id: &str, what: &str) -> Result<Resp, ScimError> {
    docs.into_iter()
        .find(|d| d["id"].as_str() == Some(id))
        .map(|d| json_response(StatusCode::OK, &d))
        .ok_or_else(|| ScimError::not_found(format!("no {what} {id}")))
}

fn service_provider_config(shared: &Shared) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "documentationUri": "https://developers.asana.com/docs/scim",
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": shared.config.behaviour.max_page_size},
        "changePassword": {"supported": false},
        "sort": {"supported": false},
        "etag": {"supported": true},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "An Asana service-account token, sent as Authorization: Bearer <token>",
            "primary": true,
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{}/ServiceProviderConfig", shared.base_url),
        },
    })
}

fn list_response(resources: Vec<Value>) -> Resp {
    json_response(
        StatusCode::OK,
        &json!({
            "schemas": [LIST_RESPONSE],
            "totalResults": resources.len(),
            "startIndex": 1,
            "itemsPerPage": resources.len(),
            "Resources": resources,
        }),
    )
}

/// Reads `startIndex`, `count`, `filter`, `attributes` and `excludedAttributes`.
struct ListParams {
    page: PageRequest,
    filter: Option<String>,
    projection: Projection,
}

fn list_params(r: &ScimRequest<'_>) -> Result<ListParams, ScimError> {
    let mut page = PageRequest {
        start_index: 1,
        count: None,
    };
    let mut filter = None;
    for (k, v) in r.params() {
        let number = || {
            v.trim()
                .parse::<i64>()
                .map_err(|_| ScimError::invalid_value(format!("{k} must be an integer, not {v:?}")))
        };
        match k.as_str() {
            // RFC 7644 §3.4.2.4: startIndex below 1 means 1, a negative count means 0.
            "startIndex" => page.start_index = number()?.max(1) as usize,
            "count" => page.count = Some(number()?.max(0) as usize),
            "filter" => filter = Some(v),
            _ => {}
        }
    }
    Ok(ListParams {
        page,
        filter,
        projection: Projection::from_request(r),
    })
}

fn list_users(shared: &Shared, r: &ScimRequest<'_>) -> Result<Resp, ScimError> {
    let p = list_params(r)?;
    let filter = p
        .filter
        .as_deref()
        .map(|f| filter::parse(f, "userName", CORE_USER))
        .transpose()?;
    let store = shared.read();
    let page = store.list_users(filter.as_ref(), p.page);
    Ok(page_response(page, |u, out| {
        if p.projection.is_empty() {
            u.write_json(&shared.base_url, out);
        } else {
            out.push_str(&p.projection.apply(u.to_json(&shared.base_url)).to_string());
        }
    }))
}

fn list_groups(shared: &Shared, r: &ScimRequest<'_>) -> Result<Resp, ScimError> {
    let p = list_params(r)?;
    let filter = p
        .filter
        .as_deref()
        .map(|f| filter::parse(f, "displayName", CORE_GROUP))
        .transpose()?;
    let store = shared.read();
    let page = store.list_groups(filter.as_ref(), p.page);
    Ok(page_response(page, |g, out| {
        out.push_str(&p.projection.apply(g.to_json(&shared.base_url)).to_string());
    }))
}

/// A ListResponse, written as text: a page of 100 users is spliced from their stored JSON.
fn page_response<T>(page: Page<'_, T>, render: impl Fn(&T, &mut String)) -> Resp {
    let mut body = format!(
        "{{\"schemas\":[\"{LIST_RESPONSE}\"],\"totalResults\":{}",
        page.total
    );
    // Asana's documented example has neither; RFC 7644 wants both when a page is partial.
    if let Some(start) = page.start_index {
        body.push_str(&format!(
            ",\"startIndex\":{start},\"itemsPerPage\":{}",
            page.items.len()
        ));
    }
    body.push_str(",\"Resources\":[");
    for (i, item) in page.items.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        render(item, &mut body);
    }
    body.push_str("]}");
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    set_header(&mut resp, header::CONTENT_TYPE, SCIM_JSON);
    resp
}

/// The answer to a user write, taken under the write lock. The user may have just become
/// invisible (deprovisioned with `--deprovisioned hidden`); the write still answers with it.
fn written_user(s: &Store, id: u64, base: &str) -> Result<(Value, String, u64), ScimError> {
    let u = s
        .user_by_id(id)
        .ok_or_else(|| ScimError::not_found(format!("no user with id {id}")))?;
    Ok((u.to_json(base), u.meta.etag(), s.revision()))
}

/// GET answer for one user, with ETag and If-None-Match.
fn user_response(shared: &Shared, r: &ScimRequest<'_>, id: &str) -> Result<Resp, ScimError> {
    let (body, etag) = {
        let store = shared.read();
        let u = store.user(id)?;
        (u.to_json(&shared.base_url), u.meta.etag())
    };
    Ok(resource_response(r, StatusCode::OK, body, etag))
}

fn group_response(
    shared: &Shared,
    r: &ScimRequest<'_>,
    status: StatusCode,
    id: &str,
) -> Result<Resp, ScimError> {
    let (body, etag) = {
        let store = shared.read();
        let g = store.group(id)?;
        (g.to_json(&shared.base_url), g.meta.etag())
    };
    Ok(resource_response(r, status, body, etag))
}

fn resource_response(r: &ScimRequest<'_>, status: StatusCode, body: Value, etag: String) -> Resp {
    if *r.method == Method::GET
        && let Some(inm) = r.header(header::IF_NONE_MATCH)
        && inm.split(',').any(|t| {
            t.trim() == "*" || t.trim().trim_start_matches("W/") == etag.trim_start_matches("W/")
        })
    {
        let mut resp = empty(StatusCode::NOT_MODIFIED);
        set_header(&mut resp, header::ETAG, &etag);
        return resp;
    }
    let location = body["meta"]["location"].as_str().map(str::to_string);
    let body = if *r.method == Method::GET {
        Projection::from_request(r).apply(body)
    } else {
        body
    };
    let mut resp = json_response(status, &body);
    set_header(&mut resp, header::ETAG, &etag);
    if status == StatusCode::CREATED
        && let Some(l) = location
    {
        set_header(&mut resp, header::LOCATION, &l);
    }
    resp
}

/// `attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5), on top-level attributes and one
/// level of sub-attributes; `id` and `schemas` are always returned.
struct Projection {
    attributes: Vec<AttrPath>,
    excluded: Vec<AttrPath>,
}

impl Projection {
    fn is_empty(&self) -> bool {
        self.attributes.is_empty() && self.excluded.is_empty()
    }

    fn from_request(r: &ScimRequest<'_>) -> Projection {
        let mut p = Projection {
            attributes: Vec::new(),
            excluded: Vec::new(),
        };
        for (k, v) in r.params() {
            let list = match k.as_str() {
                "attributes" => &mut p.attributes,
                "excludedAttributes" => &mut p.excluded,
                _ => continue,
            };
            list.extend(
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .filter_map(|s| AttrPath::parse(&normalise_urn(s)).ok()),
            );
        }
        p
    }

    fn apply(&self, resource: Value) -> Value {
        let Value::Object(mut obj) = resource else {
            return resource;
        };
        if !self.attributes.is_empty() {
            let mut kept = serde_json::Map::new();
            for key in ["schemas", "id"] {
                if let Some(v) = obj.get(key) {
                    kept.insert(key.to_string(), v.clone());
                }
            }
            for p in &self.attributes {
                let (container, key) = match &p.schema {
                    Some(urn) => (Some(urn.as_str()), p.attr.as_str()),
                    None => (None, p.attr.as_str()),
                };
                copy_path(&obj, &mut kept, container, key, p.sub_attr.as_deref());
            }
            obj = kept;
        }
        for p in &self.excluded {
            let holder = match &p.schema {
                Some(urn) => obj
                    .iter_mut()
                    .find(|(k, _)| k.eq_ignore_ascii_case(urn))
                    .and_then(|(_, v)| v.as_object_mut()),
                None => Some(&mut obj),
            };
            let Some(holder) = holder else { continue };
            let Some(key) = find_key(holder, &p.attr) else {
                continue;
            };
            if key == "id" || key == "schemas" {
                continue;
            }
            match &p.sub_attr {
                None => {
                    holder.remove(&key);
                }
                Some(sub) => {
                    if let Some(o) = holder.get_mut(&key).and_then(Value::as_object_mut)
                        && let Some(sk) = find_key(o, sub)
                    {
                        o.remove(&sk);
                    }
                }
            }
        }
        Value::Object(obj)
    }
}

/// `urn:…:core:2.0:User:title` means `title`; a bare extension URN means the whole extension.
fn normalise_urn(s: &str) -> String {
    for core in [CORE_USER, CORE_GROUP] {
        if s.len() > core.len() + 1 && s[..core.len()].eq_ignore_ascii_case(core) {
            return s[core.len() + 1..].to_string();
        }
    }
    s.to_string()
}

fn find_key(obj: &serde_json::Map<String, Value>, name: &str) -> Option<String> {
    obj.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned()
}

fn copy_path(
    from: &serde_json::Map<String, Value>,
    to: &mut serde_json::Map<String, Value>,
    container: Option<&str>,
    key: &str,
    sub: Option<&str>,
) {
    // A bare extension URN parses as schema "urn:…:2.0" + attr "User".
    let whole_urn = container.map(|c| format!("{c}:{key}"));
    if let Some(urn) = &whole_urn
        && let Some(k) = find_key(from, urn)
    {
        to.insert(k.clone(), from[&k].clone());
        return;
    }
    let (src, dst) = match container {
        Some(urn) => {
            let Some(k) = find_key(from, urn) else { return };
            let Some(src) = from[&k].as_object() else {
                return;
            };
            let dst = to
                .entry(k)
                .or_insert_with(|| Value::Object(Default::default()));
            let Some(dst) = dst.as_object_mut() else {
                return;
            };
            (src, dst)
        }
        None => (from, to),
    };
    let Some(k) = find_key(src, key) else { return };
    match sub {
        None => {
            dst.insert(k.clone(), src[&k].clone());
        }
        Some(sub) => {
            let Some(inner) = src[&k].as_object() else {
                return;
            };
            if let Some(sk) = find_key(inner, sub) {
                let slot = dst
                    .entry(k)
                    .or_insert_with(|| Value::Object(Default::default()));
                if let Some(o) = slot.as_object_mut() {
                    o.insert(sk.clone(), inner[&sk].clone());
                }
            }
        }
    }
}

/// Decodes `a=b&c=d` as a form: `+` is a space, `%XX` a byte, an invalid escape stays as
/// written, and bytes that are not UTF-8 become U+FFFD.
fn query_params(q: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(q.as_bytes())
        .into_owned()
        .collect()
}

fn json_response(status: StatusCode, body: &Value) -> Resp {
    with_body(status, SCIM_JSON, body)
}

fn with_body(status: StatusCode, content_type: &str, body: &Value) -> Resp {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let mut resp = Response::new(Full::new(Bytes::from(bytes)));
    *resp.status_mut() = status;
    set_header(&mut resp, header::CONTENT_TYPE, content_type);
    resp
}

fn empty(status: StatusCode) -> Resp {
    let mut resp = Response::new(Full::new(Bytes::new()));
    *resp.status_mut() = status;
    resp
}

fn set_header(resp: &mut Resp, name: header::HeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        resp.headers_mut().insert(name, v);
    }
}

pub fn error_response(e: &ScimError) -> Resp {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = json_response(status, &e.body());
    if let Some(allow) = e.allow {
        set_header(&mut resp, header::ALLOW, allow);
    }
    resp
}

fn unauthorized() -> Resp {
    let mut resp = error_response(&ScimError::new(
        401,
        None,
        "missing or unknown token: send Authorization: Bearer <service-account token>",
    ));
    set_header(
        &mut resp,
        header::WWW_AUTHENTICATE,
        "Bearer realm=\"Asana SCIM emulator\"",
    );
    resp
}

/// A 429 in Asana's REST error shape, with `Retry-After` in whole emulated seconds and the
/// real wait in `X-Emulator-Retry-After-Ms`.
fn too_many_requests(shared: &Shared, limit: Limit, retry_after_ms: u64) -> Resp {
    let secs = limits::retry_after_secs(retry_after_ms);
    let what = match limit {
        Limit::Rate => "You've made too many requests and hit a rate limit",
        Limit::ConcurrentReads => "You have too many read requests in flight at once",
        Limit::ConcurrentWrites => "You have too many write requests in flight at once",
    };
    let mut resp = with_body(
        StatusCode::TOO_MANY_REQUESTS,
        "application/json",
        &json!({"errors": [{
            "message": format!("{what}. You need to wait {secs} seconds before making more requests."),
        }]}),
    );
    set_header(&mut resp, header::RETRY_AFTER, &secs.to_string());
    set_header(
        &mut resp,
        header::HeaderName::from_static("x-emulator-retry-after-ms"),
        &shared.clock.real_ms(retry_after_ms).max(1).to_string(),
    );
    resp
}

/// An injected 500/503, in Asana's REST error shape (clients must parse both shapes).
fn injected_error(status: u16) -> Resp {
    let (code, message) = match status {
        503 => (StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable"),
        _ => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "Server Error (injected by the emulator)",
        ),
    };
    with_body(
        code,
        "application/json",
        &json!({"errors": [{"message": message, "phrase": "emulated fault"}]}),
    )
}

/// `/_emulator/*`: stats and reset-stats; no token, not counted, never limited or faulted.
fn admin(shared: &Shared, method: &Method, rest: &str) -> Resp {
    match (method, rest) {
        (&Method::GET, "stats") => with_body(
            StatusCode::OK,
            "application/json",
            &serde_json::to_value(shared.stats.snapshot()).unwrap_or_default(),
        ),
        (&Method::POST, "reset-stats") => {
            shared.stats.reset();
            empty(StatusCode::NO_CONTENT)
        }
        _ => with_body(
            StatusCode::NOT_FOUND,
            "application/json",
            &json!({"error": "the emulator serves GET /_emulator/stats and POST /_emulator/reset-stats"}),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue12_queries_decode_as_the_hand_written_decoder_did() {
        let decoded = |q: &str| query_params(q);
        assert_eq!(
            decoded("filter=userName%20eq%20%22a%2Bb%40x.io%22&count=5&x"),
            [
                ("filter".into(), "userName eq \"a+b@x.io\"".into()),
                ("count".into(), "5".into()),
                ("x".into(), String::new()),
            ]
        );
        let pairs: [(&str, (&str, &str)); 8] = [
            // `+` is a space, `%2B` a plus.
            ("a+b=c+d", ("a b", "c d")),
            ("f=a%2Bb", ("f", "a+b")),
            // Invalid or cut escapes stay as written.
            ("f=a%zz%4", ("f", "a%zz%4")),
            ("f=%", ("f", "%")),
            ("f=%%41", ("f", "%A")),
            // Only the first `=` splits; empty pieces are skipped.
            ("f=a=b", ("f", "a=b")),
            ("&&f=1&", ("f", "1")),
            // Bytes that are not UTF-8 are replaced, not refused.
            ("f=%FF", ("f", "\u{fffd}")),
        ];
        for (q, (k, v)) in pairs {
            assert_eq!(decoded(q), [(k.to_string(), v.to_string())], "{q}");
        }
    }
}
