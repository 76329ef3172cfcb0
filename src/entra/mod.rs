//! Microsoft Entra ID (Azure AD) as a source: the users and teams Entra's provisioning service
//! would send to Asana, read through Microsoft Graph. See docs/entra.md.
//!
//! The parts, in the order data flows:
//! - [`cloud`]: the sign-in and Graph hosts the client secret and tokens may go to (pure);
//! - [`graph`]: the Graph client — client-credentials token, paging, retries, delta rounds;
//!   it sends nothing but the token request and GETs;
//! - [`read`]: what is read (users by delta with a state file, deleted users, assignments,
//!   group members) into a [`scope::Directory`];
//! - [`directory`]: Graph users, the `$select` the mappings need, delta items (pure);
//! - [`filter`]: evaluates the model's scoping filters (pure);
//! - [`scope`]: who is in scope, and the users and teams in roster's model (pure);
//! - [`merge`]: live mode, the YAML laid over what Entra gave (pure);
//! - [`import`]: what `roster import entra` writes, through `import::yaml` (pure);
//! - [`emulator`]: a Graph emulator for tests and the quickstart.
//!
//! Never: write to Graph, print the client secret or a token, or send a token to a host other
//! than the configured Graph and login hosts.

pub use roster_core::entra::*;
pub use roster_emulator::graph as emulator;

pub mod graph;
pub mod read;
