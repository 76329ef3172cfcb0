//! Stage one: find the config files, read them safely and parse them into the raw types.
//!
//! Reading is bounded: only regular files inside the config directory are read (a symlink that
//! resolves outside it, a device, a FIFO or a kernel pseudo-file is refused unread, see
//! [`crate::fsio`]), reads stop at [`MAX_FILE_BYTES`], YAML is parsed with a budget (events,
//! nodes, aliases, nesting) so alias bombs and junk fail fast, and non-UTF-8 input is reported at
//! the first bad byte. Nothing here touches the network.

use std::fs;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use super::raw::{RawGroupsFile, RawSettings, RawUsersFile};
use crate::diagnostics::{Diagnostic, FileId, Report, Span, did_you_mean};
use crate::fsio::{self, FileError, Root};

/// Largest config file roster reads. 100,000 users fit in about 20 MB of YAML; split beyond.
pub const MAX_FILE_BYTES: u64 = 32 * 1024 * 1024;

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
    let root = match Root::new(dir) {
        Ok(root) => root,
        Err(e) => {
            report.push(Diagnostic::error(
                format!("cannot open the config directory `{}`: {e}", dir.display()),
                None,
            ));
            return raw;
        }
    };
    let settings = dir.join(SETTINGS_FILE);
    if fs::symlink_metadata(&settings).is_ok() {
        raw.settings = record(parse_file(&root, &settings), report);
    } else {
        let mut d = Diagnostic::error(format!("no {SETTINGS_FILE} in `{}`", dir.display()), None);
        d = if dir.join("roster.yml").is_file() {
            d.with_hint("rename roster.yml to roster.yaml")
        } else {
            d.with_hint("run roster in your config repository, or pass it with -C DIR")
        };
        report.push(d);
    }
    let before = report.error_count();
    let users = list(&root, dir, "users", report);
    let groups = list(&root, dir, "groups", report);
    raw.incomplete |= report.error_count() > before;
    for parsed in parse_all::<RawUsersFile>(&root, &users) {
        let before = report.error_count();
        raw.users.extend(record(parsed, report));
        raw.incomplete |= report.error_count() > before;
    }
    for parsed in parse_all::<RawGroupsFile>(&root, &groups) {
        let before = report.error_count();
        raw.groups.extend(record(parsed, report));
        raw.incomplete |= report.error_count() > before;
    }
    raw
}

/// The YAML files under `dir/sub`, sorted so diagnostics and models are deterministic. Entries
/// that cannot be used (a symlink out of the config directory, a special file named `*.yaml`)
/// are reported and left out; a folder that fails to list marks the config incomplete.
fn list(root: &Root, dir: &Path, sub: &str, report: &mut Report) -> Vec<PathBuf> {
    let mut walk = Walk {
        root,
        files: Vec::new(),
        seen: Vec::new(),
        refused: Vec::new(),
    };
    if let Err(e) = walk.dir(&dir.join(sub)) {
        report.push(Diagnostic::error(
            format!(
                "cannot list `{}`: {e}",
                display_path(&dir.join(sub)).display()
            ),
            None,
        ));
    }
    walk.refused.sort_by(|a, b| a.0.cmp(&b.0));
    for (path, e) in walk.refused {
        report.push(
            Diagnostic::error(
                format!("cannot read `{}`: {e}", display_path(&path).display()),
                None,
            )
            .with_hint("declarations are regular files inside the config directory"),
        );
    }
    walk.files.sort();
    walk.files
}

/// A walk of one declarations folder, symlinks followed only while they stay inside the root.
struct Walk<'a> {
    root: &'a Root,
    files: Vec<PathBuf>,
    /// Directories already walked, canonical, so a symlink loop inside the root ends.
    seen: Vec<PathBuf>,
    refused: Vec<(PathBuf, FileError)>,
}

impl Walk<'_> {
    /// Every `*.yaml` / `*.yml` below `dir`, skipping hidden entries. A missing folder is empty.
    fn dir(&mut self, dir: &Path) -> std::io::Result<()> {
        let Ok(meta) = fs::symlink_metadata(dir) else {
            return Ok(());
        };
        if meta.file_type().is_symlink()
            && let Err(e) = self.root.contains(dir)
        {
            self.refused.push((dir.to_path_buf(), e));
            return Ok(());
        }
        if !dir.is_dir() {
            return Ok(());
        }
        let canonical = fs::canonicalize(dir)?;
        if self.seen.contains(&canonical) {
            return Ok(());
        }
        self.seen.push(canonical);
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            let path = entry.path();
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            let file_type = entry.file_type()?;
            let yaml = path.extension().is_some_and(|e| e == "yaml" || e == "yml");
            if file_type.is_symlink()
                && let Err(e) = self.root.contains(&path)
            {
                // A dangling link named like a folder is of no interest; one named like a
                // declarations file is a mistake worth reporting.
                if yaml || !e.is_not_found() {
                    self.refused.push((path, e));
                }
                continue;
            }
            if path.is_dir() {
                self.dir(&path)?;
            } else if yaml {
                self.files.push(path);
            }
        }
        Ok(())
    }
}

/// Parses files on every core; results come back in the order of `paths`.
fn parse_all<T: DeserializeOwned + Send>(root: &Root, paths: &[PathBuf]) -> Vec<Parsed<T>> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(paths.len())
        .max(1);
    let mut slots: Vec<Option<Parsed<T>>> = (0..paths.len()).map(|_| None).collect();
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || {
                    paths
                        .iter()
                        .enumerate()
                        .skip(t)
                        .step_by(threads)
                        .map(|(i, p)| (i, parse_file::<T>(root, p)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for w in workers {
            for (i, parsed) in w.join().expect("a parser thread panicked") {
                slots[i] = Some(parsed);
            }
        }
    });
    slots.into_iter().flatten().collect()
}

/// How a path is shown to the user: as given by `-C`, without a leading `./`.
fn display_path(path: &Path) -> PathBuf {
    path.strip_prefix(".").unwrap_or(path).to_path_buf()
}

/// One file, read and parsed off the main thread; diagnostics are made when it is recorded.
struct Parsed<T> {
    display: PathBuf,
    /// The text read, for snippets; `None` when the file could not be read at all.
    text: Option<String>,
    result: Result<T, Problem>,
}

/// What went wrong with a file: a message at a byte offset (or nowhere), with a hint.
struct Problem {
    offset: Option<Range<usize>>,
    message: String,
    hint: Option<String>,
}

fn parse_file<T: DeserializeOwned>(root: &Root, path: &Path) -> Parsed<T> {
    let display = display_path(path);
    let fail = |text, offset, message: String, hint: Option<&str>| Parsed {
        display: display.clone(),
        text,
        result: Err(Problem {
            offset,
            message,
            hint: hint.map(str::to_string),
        }),
    };
    let text = match read_text(root, path) {
        Ok(text) => text,
        Err(ReadError::File(e)) => {
            // No text: a file roster refused to read never shows up in a snippet.
            return fail(
                None,
                None,
                format!("cannot read `{}`: {e}", display.display()),
                Some("declarations are regular files inside the config directory"),
            );
        }
        Err(ReadError::Io(e)) => {
            return fail(
                None,
                None,
                format!("cannot read `{}`: {e}", display.display()),
                None,
            );
        }
        Err(ReadError::TooLarge) => {
            // The read stopped at the cap; the size is shown when the file system knows it.
            let size = fs::metadata(path).map_or(0, |m| m.len());
            let message = if size > MAX_FILE_BYTES {
                format!(
                    "file is {:.1} MB; roster reads config files up to {} MB",
                    size as f64 / 1e6,
                    MAX_FILE_BYTES / 1024 / 1024
                )
            } else {
                format!(
                    "file is larger than {} MB, the most roster reads in one config file",
                    MAX_FILE_BYTES / 1024 / 1024
                )
            };
            let hint = Some("split the declarations into several files");
            return fail(None, None, message, hint);
        }
        Err(ReadError::NotUtf8 { prefix }) => {
            let at = prefix.len()..prefix.len();
            let hint = Some("save the file as UTF-8");
            return fail(
                Some(prefix),
                Some(at),
                "file is not valid UTF-8".into(),
                hint,
            );
        }
    };
    parse_text(display, text)
}

/// Parses one declarations file's text into its raw type; the error is a one-line message.
pub fn parse_raw<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    match parse_text::<T>(PathBuf::new(), text.to_string()).result {
        Ok(v) => Ok(v),
        Err(p) => Err(p.message),
    }
}

/// Parses text already in memory, as if read from `display`.
fn parse_text<T: DeserializeOwned>(display: PathBuf, text: String) -> Parsed<T> {
    let options = serde_saphyr::options! {
        budget: Some(budget()),
        alias_limits: alias_limits(),
        with_snippet: false,
        strict_booleans: true,
    };
    let result = serde_saphyr::from_str_with_options::<T>(&text, options)
        .map_err(|e| yaml_problem(&text, &e));
    Parsed {
        display,
        text: Some(text),
        result,
    }
}

/// Parses config files given as text (tests, and configs generated in memory). `users` and
/// `groups` are (display path, text) pairs.
pub fn from_texts(
    settings: &str,
    users: &[(&str, &str)],
    groups: &[(&str, &str)],
    report: &mut Report,
) -> RawConfig {
    let mut raw = RawConfig {
        settings: record(
            parse_text(SETTINGS_FILE.into(), settings.to_string()),
            report,
        ),
        ..RawConfig::default()
    };
    for (path, text) in users {
        let before = report.error_count();
        raw.users
            .extend(record(parse_text(path.into(), text.to_string()), report));
        raw.incomplete |= report.error_count() > before;
    }
    for (path, text) in groups {
        let before = report.error_count();
        raw.groups
            .extend(record(parse_text(path.into(), text.to_string()), report));
        raw.incomplete |= report.error_count() > before;
    }
    raw
}

/// Adds a parsed file to the report's sources; returns its value, or reports its problem.
fn record<T>(parsed: Parsed<T>, report: &mut Report) -> Option<(FileId, T)> {
    let file = parsed
        .text
        .map(|text| report.sources.add(parsed.display, text));
    match parsed.result {
        Ok(value) => file.map(|f| (f, value)),
        Err(p) => {
            let span = file.zip(p.offset).map(|(f, r)| Span::new(f, r));
            let mut d = Diagnostic::error(p.message, span);
            if let Some(hint) = p.hint {
                d = d.with_hint(hint);
            }
            report.push(d);
            None
        }
    }
}

enum ReadError {
    /// Refused unread: not a regular file, or outside the config directory.
    File(FileError),
    Io(std::io::Error),
    TooLarge,
    NotUtf8 {
        prefix: String,
    },
}

fn read_text(root: &Root, path: &Path) -> Result<String, ReadError> {
    root.contains(path).map_err(|e| match e {
        FileError::Io(e) => ReadError::Io(e),
        e => ReadError::File(e),
    })?;
    let bytes = fsio::read(path, MAX_FILE_BYTES).map_err(|e| match e {
        FileError::Io(e) => ReadError::Io(e),
        FileError::TooLarge { .. } => ReadError::TooLarge,
        e => ReadError::File(e),
    })?;
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

/// Turns a YAML or type error into a problem at its place, with a hint where we know one.
fn yaml_problem(text: &str, e: &serde_saphyr::Error) -> Problem {
    let rendered = e.to_string();
    // The library appends the place; we show it our own way.
    let message = match rendered.rfind(" at line ") {
        Some(i) => &rendered[..i],
        None => &rendered,
    };
    let offset = e.location().filter(|l| l.line() > 0).map_or(0, |l| {
        offset_of(text, l.line() as usize, l.column() as usize)
    });
    let token_end = text[offset..]
        .find([':', '\n', ',', ']', '}'])
        .map_or(offset, |n| offset + n);
    let (message, hint) = explain(message);
    Problem {
        offset: Some(offset..token_end.max(offset)),
        message,
        hint,
    }
}

/// Byte offset of a 1-based line and column (in characters).
fn offset_of(text: &str, line: usize, column: usize) -> usize {
    let start = if line <= 1 {
        0
    } else {
        match text.match_indices('\n').nth(line - 2) {
            Some((i, _)) => i + 1,
            None => return text.len(),
        }
    };
    text[start..]
        .char_indices()
        .nth(column.saturating_sub(1))
        .map_or(text.len(), |(i, _)| start + i)
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
    if message.contains("mapping values are not allowed")
        || message.contains("did not find expected")
    {
        return (
            format!("YAML syntax: {message}"),
            Some("check the indentation: the keys of one entry line up under each other".into()),
        );
    }
    if message.contains("unclosed quote") {
        return (
            format!("YAML syntax: {message}"),
            Some("close the quoted string on the same line".into()),
        );
    }
    if message == "expected sequence start" {
        return (
            "expected a list".into(),
            Some("write `[a, b]`, or one `- item` per line".into()),
        );
    }
    if message == "expected string scalar" {
        return (
            "expected a single value (a string)".into(),
            Some("quote values that start with `[`, `{`, `*`, `&` or `!`".into()),
        );
    }
    if message.starts_with("unknown variant `") {
        let m = message.replacen("unknown variant", "unknown value", 1);
        return (m, Some("use one of the values listed".into()));
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
