//! SCIM 2.0 vocabulary shared by the mapping engine, the client and the emulator.
//!
//! `path` is pure data and path handling with no IO; `client` is the one HTTP adapter.

pub mod client;
pub mod path;

pub use path::{AttrPath, ENTERPRISE_USER};
