//! [`ReadClient`]: the SCIM reads that `plan`, `drift` and `check` need, and nothing else.
//!
//! It holds a `Reader`, whose only method sends a GET; no value reachable from a `ReadClient`
//! can send anything else. `tests/architecture.rs` keeps this file from naming the write side.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::task::JoinSet;

use super::config::ClientConfig;
use super::error::ClientError;
use super::features::Features;
use super::paging::{Collector, Kept, ListStop, window};
use super::resource::{ListPage, Listed, Resource, encode_segment, eq_filter};
use super::transport::{Reader, Response};
use crate::http::{Method, Stats, Usage};
use crate::plan::UserText;

/// What a listing keeps of each resource; shared by the tasks that read pages.
type Keep<R, T> = Arc<dyn Fn(R) -> T + Send + Sync>;

/// Read-only access to a SCIM server. Cheap to clone; clones share pacing and stats.
#[derive(Clone)]
pub struct ReadClient {
    reader: Reader,
    page_size: u32,
    /// The server's advertised `filter.maxResults`, once read (0: unknown).
    server_max: Arc<AtomicU32>,
    /// Whether list requests may carry a `filter`: true until the server says otherwise.
    filter: Arc<AtomicBool>,
}

impl ReadClient {
    /// A client for `config`'s server. Fails on an invalid configuration; does not connect.
    pub fn new(config: &ClientConfig) -> Result<ReadClient, ClientError> {
        Ok(ReadClient::from_reader(
            Reader::connect(config)?,
            config.page_size,
        ))
    }

    pub(crate) fn from_reader(reader: Reader, page_size: u32) -> ReadClient {
        ReadClient {
            reader,
            page_size,
            server_max: Arc::new(AtomicU32::new(0)),
            filter: Arc::new(AtomicBool::new(true)),
        }
    }

    /// The request counters, shared with every clone and with the write client it came from.
    pub fn stats(&self) -> Arc<Stats> {
        self.reader.stats()
    }

    /// The per-minute budget, shared with every clone and with the write client it came from,
    /// and what was used of it.
    pub fn usage(&self) -> Usage {
        self.reader.usage()
    }

    /// `GET /ServiceProviderConfig`. From then on this client (and its clones) asks for pages no
    /// larger than the advertised maximum, and sends no `filter` if filtering is not supported.
    pub async fn service_provider_config(&self) -> Result<Resource, ClientError> {
        let response = self.reader.get("ServiceProviderConfig", Vec::new()).await?;
        let config = parse_resource(&response)?;
        let features = Features::from_config(&config.0);
        if let Some(max) = features.max_results {
            self.server_max.store(max, Ordering::Relaxed);
        }
        self.filter.store(features.filter, Ordering::Relaxed);
        Ok(config)
    }

    /// Whether list requests may carry a `filter` (false once `/ServiceProviderConfig` said
    /// filtering is not supported; lookups then read the list).
    pub fn filters(&self) -> bool {
        self.filter.load(Ordering::Relaxed)
    }

    /// Every user (`GET /Users`, all pages).
    pub async fn list_users(&self) -> Result<Vec<Resource>, ClientError> {
        self.list("Users", Arc::new(|r| r)).await
    }

    /// Every user, each passed through `keep` as soon as its page is read, so that a caller
    /// keeping less than the parsed resource never holds every parsed user at once.
    pub async fn list_users_with<T: Send + 'static>(
        &self,
        keep: impl Fn(Resource) -> T + Send + Sync + 'static,
    ) -> Result<Vec<T>, ClientError> {
        self.list("Users", Arc::new(keep)).await
    }

    /// Every user as its text and the fields a plan reads ([`UserText`]), each passed through
    /// `keep` as soon as its page is read. Cheaper than [`ReadClient::list_users_with`]: no
    /// `Value` is built for a user.
    pub async fn list_user_texts_with<T: Send + 'static>(
        &self,
        keep: impl Fn(UserText) -> T + Send + Sync + 'static,
    ) -> Result<Vec<T>, ClientError> {
        self.list("Users", Arc::new(keep)).await
    }

    /// Every group (Asana team), `GET /Groups`, all pages.
    pub async fn list_groups(&self) -> Result<Vec<Resource>, ClientError> {
        self.list("Groups", Arc::new(|r| r)).await
    }

    /// How many users the server holds, without listing them: the `totalResults` of
    /// `GET /Users?count=1`, with `filter=active eq true` when `active_only` (servers that
    /// cannot filter on `active` answer that with an error). `None` when the server does not
    /// say, or plainly ignored the filter (the one user it sent is not active).
    pub async fn count_users(&self, active_only: bool) -> Result<Option<u64>, ClientError> {
        let mut query = vec![("startIndex", "1".to_string()), ("count", "1".to_string())];
        if active_only {
            query.push(("filter", "active eq true".to_string()));
        }
        let response = self.reader.get("Users", query).await?;
        let page = ListPage::parse(&response.body).map_err(|e| response.invalid(e))?;
        let ignored = active_only
            && page
                .resources
                .first()
                .and_then(|r| r.0.get("active"))
                .is_some_and(|a| a == &Value::Bool(false) || a == "false" || a == "False");
        Ok(page.total_results.filter(|_| !ignored))
    }

    /// `GET /Users/{id}`; `None` on 404.
    pub async fn get_user(&self, id: &str) -> Result<Option<Resource>, ClientError> {
        self.get_opt("Users", id).await
    }

    /// `GET /Groups/{id}`; `None` on 404.
    pub async fn get_group(&self, id: &str) -> Result<Option<Resource>, ClientError> {
        self.get_opt("Groups", id).await
    }

    /// The user whose `userName` equals `user_name` (case-insensitively, as SCIM compares it),
    /// via `filter=userName eq "…"`.
    pub async fn find_user_by_username(
        &self,
        user_name: &str,
    ) -> Result<Option<Resource>, ClientError> {
        self.find("Users", "userName", user_name).await
    }

    /// The group whose `displayName` equals `display_name` (case-insensitively), via
    /// `filter=displayName eq "…"`.
    pub async fn find_group_by_name(
        &self,
        display_name: &str,
    ) -> Result<Option<Resource>, ClientError> {
        self.find("Groups", "displayName", display_name).await
    }

    fn page_size(&self) -> u32 {
        match self.server_max.load(Ordering::Relaxed) {
            0 => self.page_size,
            max => self.page_size.min(max),
        }
    }

    async fn get_opt(&self, kind: &str, id: &str) -> Result<Option<Resource>, ClientError> {
        let path = id_path(kind, id, Method::Get, || self.reader.shown_url(kind))?;
        match self.reader.get(&path, Vec::new()).await {
            Ok(response) => parse_resource(&response).map(Some),
            Err(ClientError::Scim(e)) if e.status == 404 => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn find(
        &self,
        kind: &'static str,
        attr: &str,
        value: &str,
    ) -> Result<Option<Resource>, ClientError> {
        // Names compare as the planner compares them: NFC and lowercased.
        let want = crate::names::match_key(value);
        if !self.filter.load(Ordering::Relaxed) {
            // The server cannot filter (it would answer 501): read the list and match here.
            let all = self.list(kind, Arc::new(|r: Resource| r)).await?;
            return Ok(all.into_iter().find(|r| {
                r.str_attr(attr)
                    .is_some_and(|v| crate::names::match_key(v) == want)
            }));
        }
        let response = self
            .reader
            .get(kind, vec![("filter", eq_filter(attr, value))])
            .await?;
        let page = ListPage::parse(&response.body).map_err(|e| response.invalid(e))?;
        // A server may ignore the filter and list everything; match here too.
        let returned = page.resources.len();
        let found = page.resources.into_iter().find(|r| {
            r.str_attr(attr)
                .is_some_and(|v| crate::names::match_key(v) == want)
        });
        if found.is_none() && returned > 0 {
            self.reader.log().at(1, || {
                format!(
                    "GET {}: the filter on {attr} returned {returned} resources, none matching; \
                     the server may not support filtering",
                    response.url
                )
            });
        }
        Ok(found)
    }

    /// Reads every page of `kind`, passing each resource through `keep` as its page arrives.
    /// See `paging.rs` for the server behaviours this survives, and for the ones it stops.
    async fn list<R: Listed + 'static, T: Send + 'static>(
        &self,
        kind: &'static str,
        keep: Keep<R, T>,
    ) -> Result<Vec<T>, ClientError> {
        let deadline = self.reader.read_deadline();
        let count = self.page_size();
        let mut collector = Collector::default();
        let stopped = |collector: &Collector<T>, why: ListStop| ClientError::ListStopped {
            url: self.reader.shown_url(kind),
            got: collector.len(),
            pages: collector.pages(),
            why,
        };
        let first = self
            .kept_page(kind, 1, count, &keep, deadline)
            .await
            .map_err(|e| as_stop(e, &collector, &stopped))?;
        // The server's real page size: what it returned, which may be under what was asked.
        let step = first.items.len() as u64;
        collector.add(first);
        let mut next = 1 + step;
        loop {
            collector.check().map_err(|why| stopped(&collector, why))?;
            if step == 0 || collector.complete() {
                break;
            }
            if self.reader.now() >= deadline.0 {
                return Err(stopped(
                    &collector,
                    ListStop::Deadline { limit: deadline.1 },
                ));
            }
            // While totalResults says there are more, a window of pages at once; past it (no
            // totalResults, or pages that did not add up), one page at a time.
            let starts = match collector.total() {
                Some(total) if next <= total => window(next, step, total, self.reader.max_reads()),
                _ => vec![next],
            };
            let windowed = starts.len() > 1;
            let (first_start, last_start) = (starts[0], starts[starts.len() - 1]);
            let pages = self
                .fetch_pages(kind, starts, count, &keep, deadline)
                .await
                .map_err(|e| as_stop(e, &collector, &stopped))?;
            let mut sent = 0;
            let mut new = 0;
            for (_, page) in pages {
                sent += page.items.len() as u64;
                new += collector.add(page);
            }
            if sent == 0 {
                break;
            }
            if new == 0 {
                self.reader.log().at(1, || {
                    format!(
                        "GET {}: the pages from startIndex {first_start} repeat resources \
                         already read; the server ignores paging, so the list ends here",
                        self.reader.shown_url(kind)
                    )
                });
                break;
            }
            next = if windowed {
                last_start.saturating_add(step)
            } else {
                next.saturating_add(sent)
            };
        }
        collector.check().map_err(|why| stopped(&collector, why))?;
        self.finish(collector, kind)
    }

    async fn page<R: Listed>(
        &self,
        kind: &'static str,
        start: u64,
        count: u32,
        deadline: (Instant, Duration),
    ) -> Result<ListPage<R>, ClientError> {
        let query = vec![
            ("startIndex", start.to_string()),
            ("count", count.to_string()),
        ];
        let response = self.reader.get_until(kind, query, Some(deadline)).await?;
        R::parse_page(&response.body).map_err(|e| response.invalid(e))
    }

    /// One page, its resources passed through `keep`.
    async fn kept_page<R: Listed, T>(
        &self,
        kind: &'static str,
        start: u64,
        count: u32,
        keep: &Keep<R, T>,
        deadline: (Instant, Duration),
    ) -> Result<Kept<T>, ClientError> {
        let page = self.page(kind, start, count, deadline).await?;
        Kept::from_page(page, &**keep).map_err(|detail| ClientError::InvalidResponse {
            method: Method::Get,
            url: self.reader.shown_url(kind),
            detail,
        })
    }

    /// Fetches the pages at `starts` concurrently (at most `max_reads` at once; pacing bounds
    /// them further), sorted by start. The first error cancels the rest.
    async fn fetch_pages<R: Listed + 'static, T: Send + 'static>(
        &self,
        kind: &'static str,
        starts: Vec<u64>,
        count: u32,
        keep: &Keep<R, T>,
        deadline: (Instant, Duration),
    ) -> Result<Vec<(u64, Kept<T>)>, ClientError> {
        let mut pending = starts.into_iter();
        let mut running = JoinSet::new();
        let spawn = |running: &mut JoinSet<_>, start: u64| {
            let me = self.clone();
            let keep = keep.clone();
            running.spawn(async move {
                me.kept_page(kind, start, count, &keep, deadline)
                    .await
                    .map(|p| (start, p))
            });
        };
        for start in pending.by_ref().take(self.reader.max_reads()) {
            spawn(&mut running, start);
        }
        let mut done = Vec::new();
        while let Some(joined) = running.join_next().await {
            let page = match joined {
                Ok(page) => page?,
                Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                Err(e) => {
                    return Err(ClientError::InvalidResponse {
                        method: Method::Get,
                        url: self.reader.shown_url(kind),
                        detail: format!("a page read was cancelled: {e}"),
                    });
                }
            };
            done.push(page);
            if let Some(start) = pending.next() {
                spawn(&mut running, start);
            }
        }
        done.sort_by_key(|(start, _)| *start);
        Ok(done)
    }

    fn finish<T>(&self, collector: Collector<T>, kind: &str) -> Result<Vec<T>, ClientError> {
        if collector.duplicates > 0 {
            let n = collector.duplicates;
            self.reader.log().at(1, || {
                format!(
                    "GET {}: dropped {n} duplicate resources across pages",
                    self.reader.shown_url(kind)
                )
            });
        }
        collector
            .finish()
            .map_err(|(got, expected)| ClientError::IncompleteList {
                url: self.reader.shown_url(kind),
                got,
                expected,
            })
    }
}

/// A page's error, or the list's: a request refused for the deadline stops the whole list.
fn as_stop<T>(
    e: ClientError,
    collector: &Collector<T>,
    stopped: &impl Fn(&Collector<T>, ListStop) -> ClientError,
) -> ClientError {
    match e {
        ClientError::Deadline { limit, .. } => stopped(collector, ListStop::Deadline { limit }),
        e => e,
    }
}

/// `kind/{id}` with the id as one encoded path segment; ids that would walk the path are refused.
pub(crate) fn id_path(
    kind: &str,
    id: &str,
    method: Method,
    shown: impl FnOnce() -> String,
) -> Result<String, ClientError> {
    if id.is_empty() || id == "." || id == ".." {
        return Err(ClientError::InvalidRequest {
            method,
            url: shown(),
            detail: format!("`{id}` is not a resource id"),
        });
    }
    Ok(format!("{kind}/{}", encode_segment(id)))
}

/// A single resource from a response body. A missing `meta.version` is filled from the
/// `ETag` header (the same value, RFC 7644 §3.14), so `Resource::etag` finds it either way.
pub(crate) fn parse_resource(response: &Response) -> Result<Resource, ClientError> {
    let mut value: Value = serde_json::from_slice(&response.body)
        .map_err(|e| response.invalid(format!("not JSON: {e}")))?;
    let Value::Object(map) = &mut value else {
        return Err(response.invalid("expected a resource object"));
    };
    if let Some(tag) = &response.etag {
        let meta = map
            .entry("meta")
            .or_insert_with(|| Value::Object(Default::default()));
        if let Value::Object(meta) = meta {
            meta.entry("version")
                .or_insert_with(|| Value::String(tag.clone()));
        }
    }
    Ok(Resource(value))
}
