//! Microsoft Entra ID (Azure AD) as a source: the users and teams Entra's provisioning service
//! would send to Asana, read through Microsoft Graph.
//!
//! The parts, in the order data flows:
//! - [`filter`]: Entra's scoping filters (pure);
//! - [`graph`]: the Graph client — client-credentials token, paging, retries, delta queries;
//!   the only part here that talks HTTP, and it sends nothing but the token request and GETs;
//! - [`directory`]: Graph users as read, the `$select` the mappings need, and the delta state
//!   kept between runs;
//! - [`scope`]: who is in scope (assignments, groups, filters, enabled, deleted) and the
//!   resulting users and teams in roster's model (pure);
//! - [`merge`]: live mode, laying the YAML over what Entra gave (pure);
//! - [`yaml`]: `roster import entra`'s deterministic YAML (pure);
//! - [`emulator`]: a Graph emulator for tests and the quickstart.
//!
//! Never: write to Graph, print the client secret or a token, or send a token to a host other
//! than the configured Graph and login hosts.

pub mod directory;
pub mod emulator;
pub mod filter;
pub mod graph;
pub mod import;
pub mod merge;
pub mod read;
pub mod scope;
pub mod yaml;
