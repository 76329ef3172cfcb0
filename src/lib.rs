//! roster: GitOps user provisioning for Asana.
//!
//! Data flows one way: load config (IO) → validate into a model (pure) → read live state (IO)
//! → plan (pure) → render (pure) → apply (IO). See ARCHITECTURE.md.

// First, so its `println!`/`eprintln!` (which never panic) shadow std's in every module below.
#[macro_use]
pub mod output;

pub mod apply;
pub mod cli;
pub mod commands;
pub mod config;
pub mod diagnostics;
pub mod emulator;
pub mod entra;
pub mod fsio;
pub mod http;
pub mod import;
pub mod mapping;
pub mod ops;
pub mod pacing;
pub mod plan;
pub mod redact;
pub mod render;
pub mod retry;
pub mod scim;
pub mod urls;
