//! The Asana SCIM emulator: Asana's documented SCIM behaviour on `http://127.0.0.1:PORT/api/1.0/scim`,
//! with its rate and concurrency limits, seeded fault injection, scaled time and a state file.
//! Tests, benchmarks and the quickstart run against it instead of a tenant (docs/emulator.md).
//!
//! It must follow `reference/asana-scim-api.md` and nothing more generous: where Asana is
//! undocumented, a setting chooses and the default is the cautious guess. It never listens
//! beyond 127.0.0.1 and never calls out.
//!
//! ```no_run
//! # async fn demo() -> Result<(), roster_emulator::EmulatorError> {
//! let emu = roster_emulator::Emulator::builder().seed_users(10).start().await?;
//! println!("{}", emu.url()); // http://127.0.0.1:PORT/api/1.0/scim
//! emu.shutdown().await?;
//! # Ok(()) }
//! ```

pub mod graph;

mod clock;
mod error;
mod faults;
mod filter;
mod http;
mod limits;
mod patch;
mod persist;
pub use persist::MAX_STATE_BYTES;
mod schema;
pub mod serve;
mod server;
mod settings;
mod stats;
mod store;

use std::net::SocketAddr;
use std::path::PathBuf;

pub use error::{EmulatorError, ScimError};
pub use faults::{DEFAULT_HANG_MS, FaultConfig};
pub use limits::{DEFAULT_MAX_VALUE_CHARS, LimitsConfig, MAX_ADDRESS_CHARS};
pub use settings::{
    Behaviour, DEFAULT_TOKEN, Deprovisioned, EmulatorConfig, Paging, Reactivation,
    RemoveUndocumented, StringBooleans,
};
pub use stats::StatsSnapshot;

/// Entry point: `Emulator::builder()…start().await`.
pub struct Emulator;

impl Emulator {
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder {
            config: EmulatorConfig::default(),
        }
    }
}

/// Collects settings; every setter has the default of [`EmulatorConfig::default`].
#[derive(Debug, Clone)]
pub struct EmulatorBuilder {
    config: EmulatorConfig,
}

impl From<EmulatorConfig> for EmulatorBuilder {
    fn from(config: EmulatorConfig) -> Self {
        EmulatorBuilder { config }
    }
}

impl EmulatorBuilder {
    /// Port on 127.0.0.1; 0 (the default) picks a free one.
    pub fn port(mut self, port: u16) -> Self {
        self.config.port = port;
        self
    }
    /// Replaces the accepted tokens with this one; call [`EmulatorBuilder::add_token`] for more.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.config.tokens = vec![token.into()];
        self
    }
    /// Accepts another token, with its own limits.
    pub fn add_token(mut self, token: impl Into<String>) -> Self {
        self.config.tokens.push(token.into());
        self
    }
    pub fn state_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.config.state_file = Some(path.into());
        self
    }
    pub fn seed_users(mut self, n: usize) -> Self {
        self.config.seed_users = n;
        self
    }
    pub fn seed_guests(mut self, n: usize) -> Self {
        self.config.seed_guests = n;
        self
    }
    pub fn behaviour(mut self, behaviour: Behaviour) -> Self {
        self.config.behaviour = behaviour;
        self
    }
    pub fn limits(mut self, limits: LimitsConfig) -> Self {
        self.config.limits = limits;
        self
    }
    pub fn faults(mut self, faults: FaultConfig) -> Self {
        self.config.faults = faults;
        self
    }
    pub fn time_scale(mut self, scale: f64) -> Self {
        self.config.time_scale = scale;
        self
    }
    pub fn log_requests(mut self, on: bool) -> Self {
        self.config.log_requests = on;
        self
    }
    /// Binds the port, loads or seeds the state, and starts serving on the current tokio
    /// runtime.
    pub async fn start(self) -> Result<RunningEmulator, EmulatorError> {
        let server = server::start(self.config).await?;
        Ok(RunningEmulator {
            url: server.shared.base_url.clone(),
            server: Some(server),
        })
    }
}

/// A serving emulator. Dropping it stops the server without waiting; call
/// [`RunningEmulator::shutdown`] to wait for the state file.
pub struct RunningEmulator {
    url: String,
    server: Option<server::Server>,
}

impl RunningEmulator {
    /// The SCIM base URL, `http://127.0.0.1:PORT/api/1.0/scim`.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn addr(&self) -> SocketAddr {
        self.server().addr
    }

    /// The first accepted token.
    pub fn token(&self) -> &str {
        &self.server().shared.config.tokens[0]
    }

    /// The same counters as `GET /_emulator/stats`.
    pub fn stats(&self) -> StatsSnapshot {
        self.server().shared.stats.snapshot()
    }

    pub fn reset_stats(&self) {
        self.server().shared.stats.reset();
    }

    /// Stops accepting, lets open requests finish (up to 2 s), and writes the state file.
    pub async fn shutdown(mut self) -> Result<(), EmulatorError> {
        match self.server.take() {
            Some(s) => s.shutdown().await,
            None => Ok(()),
        }
    }

    fn server(&self) -> &server::Server {
        self.server
            .as_ref()
            .expect("a RunningEmulator has its server until shutdown consumes it")
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        if let Some(s) = &self.server {
            s.signal_shutdown();
        }
    }
}
