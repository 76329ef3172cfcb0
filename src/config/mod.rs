//! The config directory: `roster.yaml`, `users/**/*.yaml` and `groups/**/*.yaml`.
//!
//! Loading has two stages, like ripgrep's low/high args: [`load`] reads and parses files into
//! [`raw`] types that mirror the YAML, then [`validate`] checks them all and builds the
//! [`model`]. Every problem is collected into one [`Report`]. Never touches the network.

pub mod load;
pub mod model;
pub mod raw;
pub mod schema;
pub mod validate;

use std::path::Path;

use crate::diagnostics::Report;
pub use model::Config;

/// Reads, parses and validates a config directory. The config is `Some` only when the report
/// has no errors.
pub fn load(dir: &Path) -> (Option<Config>, Report) {
    let mut report = Report::default();
    let raw = load::read_dir(dir, &mut report);
    let config = validate::validate(raw, dir, &mut report);
    report.sort();
    (config, report)
}

/// Validates a config given as text: `roster.yaml`, then (path, text) of users and groups files.
pub fn from_texts(
    settings: &str,
    users: &[(&str, &str)],
    groups: &[(&str, &str)],
) -> (Option<Config>, Report) {
    let mut report = Report::default();
    let raw = load::from_texts(settings, users, groups, &mut report);
    let config = validate::validate(raw, Path::new("."), &mut report);
    report.sort();
    (config, report)
}
