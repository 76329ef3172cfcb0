//! roster: GitOps user provisioning over SCIM 2.0 (Asana, or any SCIM server).
//!
//! Data flows one way: load config (IO) → validate into a model (pure) → read live state (IO)
//! → plan (pure) → render (pure) → apply (IO). See ARCHITECTURE.md.
//!
//! This crate is the binary's: the command line, the commands, the operations they call, the
//! one output layer, reading the config directory, the SCIM and Graph clients' protocols and
//! the apply executor. What decides is in `roster-core`, the one HTTP adapter in
//! `roster-http`, the file rules in `roster-fsio` and the emulators in `roster-emulator`;
//! they are re-exported here under the paths they have always had.
//!
//! Only `output` writes to stdout and stderr, and it needs no `println!`: a print macro
//! anywhere in the library crates fails `cargo clippy` (`[workspace.lints]` for the crates
//! under `crates/`, the attribute below for this one). Likewise std's environment, process,
//! wall-clock and file-write calls are refused by `clippy.toml` outside the few places that say
//! why with `#[expect(clippy::disallowed_methods, reason = …)]`; and `tests/architecture.rs`
//! checks that each module here names only modules of lower layers (ARCHITECTURE.md).

#![deny(clippy::print_stdout, clippy::print_stderr)]
pub mod apply;
pub mod cli;
pub mod commands;
pub mod config;
pub mod entra;
pub mod ops;
pub mod output;
pub mod scim;

pub use roster_core::{
    civil_time, diagnostics, expr, import, mapping, names, pacing, plan, redact, render, retry,
    splitmix, teams, urls, wire,
};
pub use roster_emulator as emulator;
pub use roster_fsio as fsio;
pub use roster_http as http;
