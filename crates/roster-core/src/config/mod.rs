//! The config directory: `roster.yaml`, `users/**/*.yaml` and `groups/**/*.yaml`.
//!
//! Loading has two stages, like ripgrep's low/high args: the binary's `config::load` reads the
//! files and [`parse`] turns their text into [`raw`] types that mirror the YAML, then
//! [`validate`] checks them all and builds the [`model`]. Every problem is collected into one
//! [`Report`]. Nothing here does IO: reading the directory is the binary's.

pub mod model;
pub mod parse;
mod plain;
pub mod raw;
pub mod schema;
pub mod validate;

use std::path::Path;

use crate::diagnostics::Report;
pub use model::Config;

/// Validates a config given as text: `roster.yaml`, then (path, text) of users and groups files.
pub fn from_texts(
    settings: &str,
    users: &[(&str, &str)],
    groups: &[(&str, &str)],
) -> (Option<Config>, Report) {
    let mut report = Report::default();
    let raw = parse::from_texts(settings, users, groups, &mut report);
    let config = validate::validate(raw, Path::new("."), &mut report);
    report.sort();
    (config, report)
}
