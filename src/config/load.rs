//! Stage one: find the config files, read them safely and parse them into the raw types.
//!
//! Reading is bounded: files over [`MAX_FILE_BYTES`] are refused before they are read, YAML is
//! parsed with a budget (events, nodes, aliases, nesting) so alias bombs and junk fail fast,
//! and non-UTF-8 input is reported at the first bad byte. Nothing here touches the network.

use std::fs;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use super::raw::{RawGroupsFile, RawSettings, RawUsersFile};
use crate::diagnostics::{Diagnostic, FileId, Report, Span, did_you_mean};

/// Largest config file roster reads. 100,000 users fit in about 25 MB of YAML.
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// The settings file every config directory has.
pub const SETTINGS_FILE: &str = "roster.yaml";

/// The parsed files of a config directory.
#[derive(Debug, Default)]
pub struct RawConfig {
    pub settings: Option<(FileId, RawSettings)>,
    pub users: Vec<(FileId, RawUsersFile)>,
    pub groups: Vec<(FileId, RawGroupsFile)>,
    /// Some user or group file failed to parse, so references to undeclared users may be
    /// false alarms.
    pub incomplete: bool,
}

/// Reads and parses every file of `dir`, reporting problems into `report`.
pub fn read_dir(dir: &Path, report: &mut Report) -> RawConfig {
    let mut raw = RawConfig::default();
    if !dir.is_dir() {
        report.push(
            Diagnostic::error(
                format!("config directory `{}` does not exist", dir.display()),
                None,
            )
            .with_hint("pass the directory that holds roster.yaml with -C DIR"),
        );
        return raw;
    }
    let settings = dir.join(SETTINGS_FILE);
    if settings.is_file() {
        raw.settings = parse_file(dir, &settings, report);
    } else {
        let mut d = Diagnostic::error(format!("no {SETTINGS_FILE} in `{}`", dir.display()), None);
        d = if dir.join("roster.yml").is_file() {
            d.with_hint("rename roster.yml to roster.yaml")
        } else {
            d.with_hint("run roster in your config repository, or pass it with -C DIR")
        };
        report.push(d);
    }
    for (sub, is_users) in [("users", true), ("groups", false)] {
        let mut files = Vec::new();
        if let Err(e) = yaml_files(&dir.join(sub), &mut files) {
            report.push(Diagnostic::error(
                format!("cannot list `{}`: {e}", dir.join(sub).display()),
                None,
            ));
        }
        files.sort();
        for path in files {
            let before = report.error_count();
            if is_users {
                raw.users.extend(parse_file(dir, &path, report));
            } else {
                raw.groups.extend(parse_file(dir, &path, report));
            }
            raw.incomplete |= report.error_count() > before;
        }
    }
    raw
}

/// Every `*.yaml` / `*.yml` below `dir`, skipping hidden entries. A missing directory is empty.
fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if !dir.is_dir() {
        return Ok(());
    }
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        let hidden = path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'));
        if hidden {
            continue;
        }
        if path.is_dir() {
            yaml_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
    Ok(())
}

/// How a path is shown to the user: as given by `-C`, without a leading `./`.
fn display_path(path: &Path) -> PathBuf {
    path.strip_prefix(".").unwrap_or(path).to_path_buf()
}

fn parse_file<T: DeserializeOwned>(
    _dir: &Path,
    path: &Path,
    report: &mut Report,
) -> Option<(FileId, T)> {
    let display = display_path(path);
    let text = match read_text(path) {
        Ok(text) => text,
        Err(ReadError::Io(e)) => {
            report.push(Diagnostic::error(
                format!("cannot read `{}`: {e}", display.display()),
                None,
            ));
            return None;
        }
        Err(ReadError::TooLarge(size)) => {
            let file = report.sources.add(display, String::new());
            report.push(
                Diagnostic::error(
                    format!(
                        "file is {:.1} MB; roster reads config files up to {} MB",
                        size as f64 / 1e6,
                        MAX_FILE_BYTES / 1024 / 1024
                    ),
                    Some(Span::new(file, 0..0)),
                )
                .with_hint("split the declarations into several files"),
            );
            return None;
        }
        Err(ReadError::NotUtf8 { prefix }) => {
            let offset = prefix.len();
            let file = report.sources.add(display, prefix);
            report.push(
                Diagnostic::error(
                    "file is not valid UTF-8",
                    Some(Span::new(file, offset..offset)),
                )
                .with_hint("save the file as UTF-8"),
            );
            return None;
        }
    };
    let file = report.sources.add(display, text);
    let options = serde_saphyr::options! {
        budget: Some(budget()),
        alias_limits: alias_limits(),
        with_snippet: false,
        strict_booleans: true,
    };
    match serde_saphyr::from_str_with_options::<T>(report.sources.text(file), options) {
        Ok(value) => Some((file, value)),
        Err(e) => {
            let d = yaml_diagnostic(report, file, &e);
            report.push(d);
            None
        }
    }
}

enum ReadError {
    Io(std::io::Error),
    TooLarge(u64),
    NotUtf8 { prefix: String },
}

fn read_text(path: &Path) -> Result<String, ReadError> {
    let size = fs::metadata(path).map_err(ReadError::Io)?.len();
    if size > MAX_FILE_BYTES {
        return Err(ReadError::TooLarge(size));
    }
    let bytes = fs::read(path).map_err(ReadError::Io)?;
    let mut text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let bytes = e.into_bytes();
            let prefix = String::from_utf8_lossy(&bytes[..valid]).into_owned();
            return Err(ReadError::NotUtf8 { prefix });
        }
    };
    if text.starts_with('\u{feff}') {
        text.replace_range(..3, "");
    }
    Ok(text)
}

/// Limits that no real config reaches but that stop alias bombs and pathological input early.
fn budget() -> serde_saphyr::Budget {
    let mut b = serde_saphyr::Budget::default();
    b.max_events = 20_000_000;
    b.max_nodes = 10_000_000;
    b.max_aliases = 1_000;
    b.max_anchors = 1_000;
    b.max_depth = 32;
    b.max_documents = 1;
    b.max_total_scalar_bytes = MAX_FILE_BYTES as usize;
    b.max_recorded_anchor_events = 100_000;
    b.max_recorded_anchor_bytes = 1024 * 1024;
    b
}

/// Caps alias replay so an alias bomb costs at most this much work.
fn alias_limits() -> serde_saphyr::options::AliasLimits {
    let mut a = serde_saphyr::options::AliasLimits::default();
    a.max_total_replayed_events = 100_000;
    a.max_alias_expansions_per_anchor = 100;
    a
}

/// Turns a YAML or type error into a diagnostic at its place, with a hint where we know one.
fn yaml_diagnostic(report: &Report, file: FileId, e: &serde_saphyr::Error) -> Diagnostic {
    let text = e.to_string();
    // The library appends the place; we show it our own way.
    let message = match text.rfind(" at line ") {
        Some(i) => text[..i].to_string(),
        None => text.clone(),
    };
    let offset = e.location().filter(|l| l.line() > 0).map_or(0, |l| {
        report
            .sources
            .offset(file, l.line() as usize, l.column() as usize)
    });
    let token_end = report.sources.text(file)[offset..]
        .find([':', '\n', ',', ']', '}'])
        .map_or(offset, |n| offset + n);
    let span = Span::new(file, offset..token_end.max(offset));
    let (message, hint) = explain(&message);
    let mut d = Diagnostic::error(message, Some(span));
    if let Some(hint) = hint {
        d = d.with_hint(hint);
    }
    d
}

fn explain(message: &str) -> (String, Option<String>) {
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let (field, expected) = rest.split_once('`').unwrap_or((rest, ""));
        let names: Vec<&str> = expected
            .trim_start_matches(", expected one of ")
            .trim_start_matches(", expected ")
            .split(", ")
            .map(|s| s.trim_matches('`'))
            .filter(|s| !s.is_empty())
            .collect();
        let hint = match did_you_mean(field, names.iter().copied()) {
            Some(m) => format!("did you mean `{m}`?"),
            None => format!("known keys here: {}", names.join(", ")),
        };
        return (format!("unknown key `{field}`"), Some(hint));
    }
    if message.starts_with("missing field `users`") {
        return (
            message.into(),
            Some("a users file holds a top-level `users:` list".into()),
        );
    }
    if message.starts_with("missing field `groups`") {
        return (
            message.into(),
            Some("a groups file holds a top-level `groups:` list".into()),
        );
    }
    if message.contains("unexpected end of input") {
        return (
            "file is empty or ends too early".into(),
            Some("a users file starts with `users:`, a groups file with `groups:`".into()),
        );
    }
    if message.contains("invalid boolean") {
        return (message.into(), Some("write `true` or `false`".into()));
    }
    if message.contains("budget") || message.contains("limit") {
        return (
            message.into(),
            Some("the file uses more aliases, nesting or nodes than a config can need".into()),
        );
    }
    (message.into(), None)
}
