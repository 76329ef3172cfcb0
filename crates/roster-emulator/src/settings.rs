//! Everything that configures an emulator: port, tokens, state file, seeds, limits, faults,
//! and the choices where Asana's behaviour is undocumented (each default is the cautious guess,
//! the one a client must cope with).
//!
//! Plain data; `roster emulator`'s flags map onto it one to one.

use std::path::PathBuf;

use super::faults::FaultConfig;
use super::limits::LimitsConfig;

/// Whether `startIndex`/`count` are honoured on list requests (undocumented by Asana).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Paging {
    /// Honour `startIndex`/`count`, at most `--max-page-size` per page (also without `count`)
    #[default]
    Honour,
    /// Ignore them and return every resource, as Asana's docs describe ("the full list")
    Ignore,
}

/// Whether deprovisioned users still show in `GET /Users` (undocumented by Asana).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Deprovisioned {
    /// Listed and readable, with `active: false`
    #[default]
    Listed,
    /// Gone from lists, filters and `GET /Users/{id}` (404)
    Hidden,
}

/// What `active: true` does to a deprovisioned user (Asana: "reactivation is not supported").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Reactivation {
    /// Refused with 400 `mutability`, as is every other change to a deprovisioned user
    #[default]
    Refuse,
    /// Allowed: the user is active again and can be changed
    Allow,
}

/// Whether booleans sent as strings (`"False"`, as Entra sends them) are accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum StringBooleans {
    /// `"True"`/`"False"` in any case are read as booleans
    #[default]
    Accept,
    /// Only JSON `true`/`false`; strings are a 400 `invalidValue`
    Refuse,
}

/// Whether a PATCH `remove` of an attribute only the Entra gallery app lists (`phoneNumbers`,
/// `addresses`, the enterprise `employeeNumber`, `costCenter`, `organization`, `division` and
/// `manager`) is accepted. Asana documents PATCH as "adds or updates attributes" and PUT as
/// "updates or removes"; its own attributes (title, name.formatted, preferredLanguage, emails,
/// department, userType) are removed as RFC 7644 §3.5.2.2 says, the rest is undocumented.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum RemoveUndocumented {
    /// 400 `mutability`: the value stays (PUT without it still removes it)
    #[default]
    Refuse,
    /// Removed, as RFC 7644 §3.5.2.2 says
    Allow,
}

/// The undocumented behaviours, in one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Behaviour {
    pub paging: Paging,
    /// The largest page `Paging::Honour` returns, and the page size when `count` is absent.
    pub max_page_size: usize,
    pub deprovisioned: Deprovisioned,
    pub reactivation: Reactivation,
    pub string_booleans: StringBooleans,
    pub remove_undocumented: RemoveUndocumented,
    /// The longest string stored in an attribute other than userName and emails (which are at
    /// most [`super::limits::MAX_ADDRESS_CHARS`]), in characters; longer is 400 `invalidValue`.
    /// `0` switches it off.
    pub max_value_length: usize,
}

impl Default for Behaviour {
    fn default() -> Self {
        Behaviour {
            paging: Paging::Honour,
            max_page_size: 100,
            deprovisioned: Deprovisioned::Listed,
            reactivation: Reactivation::Refuse,
            string_booleans: StringBooleans::Accept,
            remove_undocumented: RemoveUndocumented::Refuse,
            max_value_length: super::limits::DEFAULT_MAX_VALUE_CHARS,
        }
    }
}

/// The token accepted when none is configured; fine for a loopback-only test server.
pub const DEFAULT_TOKEN: &str = "emulator-token";

/// A whole emulator's configuration.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// Bearer tokens accepted; each has its own limits, as Asana allocates limits per token.
    pub tokens: Vec<String>,
    /// Loaded at start and rewritten (atomically) before each change is acknowledged.
    pub state_file: Option<PathBuf>,
    /// Synthetic users to create when the state starts empty.
    pub seed_users: usize,
    /// Synthetic guests (never visible through SCIM) to create when the state starts empty.
    pub seed_guests: usize,
    pub behaviour: Behaviour,
    pub limits: LimitsConfig,
    pub faults: FaultConfig,
    /// Emulated seconds per real second (windows, Retry-After, latency and hangs shrink).
    pub time_scale: f64,
    /// Log each request (method, path, status, latency) on stderr.
    pub log_requests: bool,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            port: 0,
            tokens: vec![DEFAULT_TOKEN.to_string()],
            state_file: None,
            seed_users: 0,
            seed_guests: 0,
            behaviour: Behaviour::default(),
            limits: LimitsConfig::default(),
            faults: FaultConfig::default(),
            time_scale: 1.0,
            log_requests: false,
        }
    }
}

impl EmulatorConfig {
    /// Refuses settings that cannot work, with what to change.
    pub fn check(&self) -> Result<(), String> {
        if self.tokens.is_empty() || self.tokens.iter().any(|t| t.trim().is_empty()) {
            return Err("give at least one non-empty token".into());
        }
        if !(self.time_scale.is_finite() && self.time_scale > 0.0) {
            return Err(format!(
                "the time scale must be a positive number, not {}",
                self.time_scale
            ));
        }
        if self.behaviour.max_page_size == 0 {
            return Err("the maximum page size must be at least 1".into());
        }
        self.faults.check()
    }
}
