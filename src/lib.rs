//! roster: GitOps user provisioning over SCIM 2.0 (Asana, or any SCIM server).
//!
//! Data flows one way: load config (IO) → validate into a model (pure) → read live state (IO)
//! → plan (pure) → render (pure) → apply (IO). See ARCHITECTURE.md.

// Only `output` writes to stdout and stderr, and it needs no `println!`: a print macro
// anywhere in the library fails `cargo clippy` (operations return data; commands render it
// through `output`).
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod apply;
pub mod civil_time;
pub mod cli;
pub mod commands;
pub mod config;
pub mod diagnostics;
pub mod emulator;
pub mod entra;
pub mod expr;
pub mod fsio;
pub mod http;
pub mod import;
pub mod mapping;
pub mod names;
pub mod ops;
pub mod output;
pub mod pacing;
pub mod plan;
pub mod redact;
pub mod render;
pub mod retry;
pub mod scim;
pub mod splitmix;
pub mod urls;
pub mod wire;
