//! roster's pure core: everything that decides, and nothing that does IO.
//!
//! The config's model and its validation (`config`), Entra-style attribute mappings and their
//! expression language (`mapping`, `expr`), how names compare (`names`), the planner (`plan`),
//! the wire formats (`wire`), the renderers (`render`), diagnostics, adoption (`import`),
//! Entra's scoping and merging (`entra`), the one evaluator of attribute filters (`filter`:
//! Entra's scoping filters and team `member_rules`), who is in a team (`teams`), and the decisions the HTTP adapter takes (`retry`,
//! `pacing`, `redact`, `urls`). Its `Cargo.toml` has no tokio, HTTP or file-system crate, so
//! "the core never does IO" is something the compiler keeps; the binary `roster`, the HTTP
//! adapter (`roster-http`), the emulators (`roster-emulator`) and the file rules
//! (`roster-fsio`) build on it. See ARCHITECTURE.md.

pub mod civil_time;
pub mod config;
pub mod diagnostics;
pub mod entra;
pub mod expr;
pub mod filter;
pub mod hash;
pub mod import;
pub mod mapping;
pub mod names;
pub mod pacing;
pub mod plan;
pub mod redact;
pub mod render;
pub mod retry;
pub mod scim;
pub mod splitmix;
pub mod teams;
pub mod urls;
pub mod wire;
