//! SCIM 2.0: the vocabulary (`path`, from the core) and the client.

pub use roster_core::scim::*;

pub mod client;
