//! The SCIM client: the protocol roster speaks to Asana (or any SCIM 2.0 server, or the
//! emulator), on top of the one HTTP adapter ([`crate::http`]).
//!
//! What it owns: SCIM's requests (paths under the base URL, `startIndex`/`count`, filters,
//! `If-Match`), paging that survives servers that ignore it, lenient parsing of resources and
//! of both error shapes, what a `/ServiceProviderConfig` means, and Asana's limits as the
//! adapter's settings (1,500 requests a minute, 50 reads and 15 writes in flight). The adapter
//! owns the token (in a [`Secret`] that never prints), pacing and the shared pause on 429,
//! retries ([`crate::retry::decide`] decides; only the adapter sleeps, through its [`Clock`]),
//! redaction, counters ([`Stats`]) and log lines.
//!
//! What it must never do: print the token or an unredacted URL, at any verbosity or in any
//! error; send anything but GET through a [`ReadClient`].
//!
//! # Read-only by construction
//!
//! `plan`, `drift` and `check` build a [`ReadClient`]. It holds a transport handle whose only
//! method sends a GET, so no write can be reached from it; there is no method to turn it into
//! a [`WriteClient`]. This does not compile (no method `delete_user` on `ReadClient`):
//!
//! ```compile_fail,E0599
//! # async fn f(client: roster::scim::client::ReadClient) {
//! client.delete_user("1203", None).await;
//! # }
//! ```
//!
//! nor does this (no conversion to `WriteClient`):
//!
//! ```compile_fail,E0277
//! # fn f(client: roster::scim::client::ReadClient) {
//! let writer: roster::scim::client::WriteClient = client.into();
//! # }
//! ```
//!
//! while the same call on a [`WriteClient`] does:
//!
//! ```no_run
//! # async fn f(client: roster::scim::client::WriteClient) {
//! let _ = client.delete_user("1203", None).await;
//! let view: roster::scim::client::ReadClient = client.reader();
//! let _ = view.list_users().await;
//! # }
//! ```

mod config;
mod error;
mod features;
mod paging;
mod read;
mod resource;
mod transport;
mod write;

pub use config::ClientConfig;
pub use error::{ClientError, GiveUp, RefusedWait, ScimError, TransportKind, plain_duration};
pub use features::Features;
pub use paging::{ListStop, MAX_PAGES, MAX_RESOURCES, slack};
pub use read::ReadClient;
pub use resource::{ListPage, Resource, eq_filter};
pub use write::WriteClient;
// The adapter's and the core's types a client's user meets, at the path they had before the
// adapter moved out (tests, benches and `ops` name them here).
pub use crate::http::{
    Clock, LogSink, Method, RecordingClock, ScaledClock, Sleep, Stats, StatsSnapshot, TokioClock,
    Usage,
};
pub use crate::redact::{Redactor, SERVER_TEXT_CHARS, Secret, redact_query, redact_url};
/// The retry decision, at the path it had before it moved to the core.
pub use crate::retry;
