//! The SCIM HTTP client: the one module that talks to Asana (or the emulator).
//!
//! What it owns: the token (in a [`Secret`] that never prints), pacing under Asana's limits
//! (1,500 requests a minute, 50 reads and 15 writes in flight, a shared pause on 429),
//! retries with jittered backoff ([`retry::decide`] decides, only the transport sleeps, through
//! an injectable [`Clock`]), paging that survives servers that ignore it, lenient parsing of
//! resources and of both error shapes, request counters ([`Stats`]) and redacted log lines.
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

mod clock;
mod config;
mod error;
mod features;
mod pacing;
mod paging;
mod read;
mod resource;
pub mod retry;
mod secret;
mod stats;
mod transport;
mod write;

pub use clock::{Clock, RecordingClock, Sleep, TokioClock};
pub use config::{ClientConfig, LogSink};
pub use error::{ClientError, RefusedWait, ScimError, TransportKind, plain_duration};
pub use features::Features;
pub use paging::{ListStop, MAX_PAGES, MAX_RESOURCES, slack};
pub use read::ReadClient;
pub use resource::{ListPage, Resource, eq_filter};
pub use secret::{Redactor, SERVER_TEXT_CHARS, Secret, redact_query, redact_url};
pub use stats::{Stats, StatsSnapshot};
pub use transport::Method;
pub use write::WriteClient;
