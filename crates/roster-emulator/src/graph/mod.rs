//! A Microsoft Graph emulator: enough of Entra ID's token endpoint and Graph for roster's Entra
//! source, on `http://127.0.0.1:PORT` — `/login/{tenant}/oauth2/v2.0/token` (the
//! client-credentials grant, with Entra's errors for a wrong tenant, client or secret) and
//! `/graph/v1.0/…`: `users`, `users/delta` (full and incremental rounds; links that expire
//! answer 410 Gone), `directory/deletedItems/microsoft.graph.user`,
//! `servicePrincipals/{id}/appRoleAssignedTo`, `groups/{id}/members` and `transitiveMembers`
//! (with OData casts, which need `ConsistencyLevel: eventual`), `@odata.nextLink` paging with
//! `$top` (1–999), and throttling (429 with Retry-After) and 503s on a schedule. It starts from
//! a built-in tenant ([`tenant::seed`]) or a tenant file, and tests change the tenant through
//! [`RunningGraphEmulator`]. `roster emulator` serves it next to the Asana emulator.
//!
//! It never listens beyond 127.0.0.1 and never calls out. See docs/entra.md.

pub mod server;
pub mod tenant;

use std::net::SocketAddr;
use std::time::Duration;

pub use server::GraphStats;
pub use tenant::{Tenant, TenantAssignment, TenantGroup, TenantUser};

/// Settings of the Graph emulator.
#[derive(Debug, Clone)]
pub struct GraphEmulatorConfig {
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// Page size when the request has no `$top` (Graph: 100), and of delta pages.
    pub page_size: usize,
    /// Every n-th Graph request is answered 429 (0: never).
    pub throttle_every: u64,
    /// Every n-th Graph request is answered 503 (0: never).
    pub unavailable_every: u64,
    /// The Retry-After of those answers, in seconds.
    pub retry_after_secs: u64,
    /// How much faster than real time the emulator's clock runs: Retry-After is also sent as
    /// `X-Emulator-Retry-After-Ms` divided by this.
    pub time_scale: f64,
    /// Lifetime of the access tokens it issues.
    pub token_lifetime: Duration,
    /// One stderr line per request.
    pub log_requests: bool,
}

impl Default for GraphEmulatorConfig {
    fn default() -> Self {
        GraphEmulatorConfig {
            port: 0,
            page_size: 100,
            throttle_every: 0,
            unavailable_every: 0,
            retry_after_secs: 1,
            time_scale: 1.0,
            token_lifetime: Duration::from_secs(3599),
            log_requests: false,
        }
    }
}

/// Entry point: `GraphEmulator::start(config, tenant).await`.
pub struct GraphEmulator;

impl GraphEmulator {
    /// Binds the port and serves on the current tokio runtime.
    pub async fn start(
        config: GraphEmulatorConfig,
        tenant: Tenant,
    ) -> std::io::Result<RunningGraphEmulator> {
        if config.page_size == 0 || config.page_size > 999 {
            return Err(std::io::Error::other(
                "the page size must be between 1 and 999",
            ));
        }
        let server = server::start(config, tenant).await?;
        Ok(RunningGraphEmulator {
            server: Some(server),
        })
    }

    /// With the built-in tenant.
    pub async fn start_seeded(
        config: GraphEmulatorConfig,
    ) -> std::io::Result<RunningGraphEmulator> {
        GraphEmulator::start(config, tenant::seed()).await
    }
}

/// A serving Graph emulator. Dropping it stops the server.
pub struct RunningGraphEmulator {
    server: Option<server::Server>,
}

impl RunningGraphEmulator {
    fn server(&self) -> &server::Server {
        self.server
            .as_ref()
            .expect("a RunningGraphEmulator has its server until shutdown")
    }

    pub fn addr(&self) -> SocketAddr {
        self.server().addr
    }

    /// For `entra.login_url`: `http://127.0.0.1:PORT/login`.
    pub fn login_url(&self) -> String {
        format!("{}{}", self.server().shared.origin, server::LOGIN_PREFIX)
    }

    /// For `entra.graph_url`: `http://127.0.0.1:PORT/graph`.
    pub fn graph_url(&self) -> String {
        format!("{}{}", self.server().shared.origin, server::GRAPH_PREFIX)
    }

    pub fn stats(&self) -> GraphStats {
        self.server().shared.counters.snapshot()
    }

    pub fn reset_stats(&self) {
        self.server().shared.counters.reset();
    }

    /// A copy of the tenant as it is now.
    pub fn tenant(&self) -> Tenant {
        self.server().shared.lock().tenant.clone()
    }

    /// Changes the tenant. Every user whose id `f` returns is recorded as changed, so the next
    /// delta round returns it (a user no longer in the tenant comes back as removed).
    pub fn update<R>(&self, f: impl FnOnce(&mut Tenant) -> (R, Vec<String>)) -> R {
        let mut state = self.server().shared.lock();
        let (r, changed) = f(&mut state.tenant);
        for id in changed {
            state.changes.record(&id);
        }
        r
    }

    /// Sets (or, with `Json::Null`, removes) one property of a user; records the change.
    pub fn set_user_property(&self, id: &str, property: &str, value: serde_json::Value) {
        self.update(|t| {
            if let Some(u) = t.users.iter_mut().find(|u| u.id == id) {
                if value.is_null() {
                    u.properties.remove(property);
                } else {
                    u.properties.insert(property.to_string(), value);
                }
            }
            ((), vec![id.to_string()])
        });
    }

    /// Moves a user to the recycle bin (`hard`: deletes it for good); records the change.
    pub fn delete_user(&self, id: &str, hard: bool) {
        self.update(|t| {
            if hard {
                t.users.retain(|u| u.id != id);
            } else if let Some(u) = t.users.iter_mut().find(|u| u.id == id) {
                u.deleted = true;
            }
            ((), vec![id.to_string()])
        });
    }

    /// Assigns a user or group to the app (`false`: removes the assignment).
    pub fn assign(&self, principal_id: &str, assigned: bool) {
        self.update(|t| {
            t.assignments.retain(|a| a.principal_id != principal_id);
            if assigned {
                t.assignments.push(TenantAssignment {
                    principal_id: principal_id.to_string(),
                });
            }
            ((), Vec::new())
        });
    }

    /// Makes every delta link handed out so far answer 410 Gone.
    pub fn expire_delta_links(&self) {
        self.server().shared.lock().delta_epoch += 1;
    }

    /// Forgets every access token issued, so the next Graph request is answered 401.
    pub fn revoke_tokens(&self) {
        self.server().shared.lock().tokens.clear();
    }

    /// Stops accepting and lets open requests finish (up to 2 s).
    pub async fn shutdown(mut self) {
        if let Some(s) = self.server.take() {
            s.shutdown().await;
        }
    }
}

impl Drop for RunningGraphEmulator {
    fn drop(&mut self) {
        if let Some(s) = &self.server {
            s.signal_shutdown();
        }
    }
}
