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
use crate::fsio::{FileError, Root, Walk};

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

/// Whether a file under `users/` or `groups/` holds declarations: `*.yaml` or `*.yml`.
pub fn is_yaml(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "yaml" || e == "yml")
}

/// The declaration files under `dir/sub` as the loader reads them: every `*.yaml` / `*.yml`,
/// sorted, hidden entries left out, symlinks followed only inside `root` ([`Root::walk`]).
pub fn declaration_files(root: &Root, dir: &Path, sub: &str) -> Walk {
    root.walk(&dir.join(sub), is_yaml)
}

/// The YAML files under `dir/sub`, sorted so diagnostics and models are deterministic. Entries
/// that cannot be used (a symlink out of the config directory, a special file named `*.yaml`)
/// are reported and left out; a folder that fails to list marks the config incomplete.
fn list(root: &Root, dir: &Path, sub: &str, report: &mut Report) -> Vec<PathBuf> {
    let walk = declaration_files(root, dir, sub);
    if let Some(e) = walk.error {
        report.push(Diagnostic::error(
            format!(
                "cannot list `{}`: {e}",
                display_path(&dir.join(sub)).display()
            ),
            None,
        ));
    }
    for (path, e) in walk.refused {
        // Named, not quoted: the entry was not read.
        let display = display_path(&path);
        let message = format!("cannot read `{}`: {e}", display.display());
        let file = report.sources.add(display, String::new());
        report
            .push(Diagnostic::error(message, Some(Span::new(file, 0..0))).with_hint(REFUSED_HINT));
    }
    walk.files
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
    /// The text read, for snippets; empty when the file was not read.
    text: String,
    result: Result<T, Problem>,
}

/// What went wrong with a file: a message at a byte range, with a hint.
struct Problem {
    offset: Range<usize>,
    message: String,
    hint: Option<String>,
}

fn parse_file<T: DeserializeOwned>(root: &Root, path: &Path) -> Parsed<T> {
    let display = display_path(path);
    // A file that was not read is shown as an empty text: its diagnostic names the file (and a
    // GitHub annotation lands on it) without quoting a byte of whatever is behind it.
    let fail = |text: Option<String>, offset, message: String, hint: Option<&str>| Parsed {
        display: display.clone(),
        text: text.unwrap_or_default(),
        result: Err(Problem {
            offset,
            message,
            hint: hint.map(str::to_string),
        }),
    };
    let text = match read_text(root, path) {
        Ok(text) => text,
        Err(ReadError::Refused(e)) => {
            return fail(
                None,
                0..0,
                format!("cannot read `{}`: {e}", display.display()),
                Some(REFUSED_HINT),
            );
        }
        Err(ReadError::Io(e)) => {
            return fail(
                None,
                0..0,
                format!("cannot read `{}`: {e}", display.display()),
                None,
            );
        }
        Err(ReadError::TooLarge { size }) => {
            let limit = MAX_FILE_BYTES / 1024 / 1024;
            let message = match size {
                Some(size) => format!(
                    "file is {:.1} MB; roster reads config files up to {limit} MB",
                    size as f64 / 1e6
                ),
                None => format!("file is larger than {limit} MB, the most roster reads"),
            };
            let hint = Some("split the declarations into several files");
            return fail(None, 0..0, message, hint);
        }
        Err(ReadError::NotUtf8 { prefix }) => {
            let at = prefix.len()..prefix.len();
            let hint = Some("save the file as UTF-8");
            return fail(Some(prefix), at, "file is not valid UTF-8".into(), hint);
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
        text,
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
    let file = report.sources.add(parsed.display, parsed.text);
    match parsed.result {
        Ok(value) => Some((file, value)),
        Err(p) => {
            let mut d = Diagnostic::error(p.message, Some(Span::new(file, p.offset)));
            if let Some(hint) = p.hint {
                d = d.with_hint(hint);
            }
            report.push(d);
            None
        }
    }
}

/// What to do about a file roster will not read.
const REFUSED_HINT: &str = "declarations are regular files inside the config directory";

enum ReadError {
    /// Refused unread: not a regular file, or outside the config directory.
    Refused(FileError),
    Io(std::io::Error),
    TooLarge {
        size: Option<u64>,
    },
    NotUtf8 {
        prefix: String,
    },
}

fn read_text(root: &Root, path: &Path) -> Result<String, ReadError> {
    let bytes = root.read(path, MAX_FILE_BYTES).map_err(|e| match e {
        FileError::Io(e) => ReadError::Io(e),
        FileError::TooLarge { size, .. } => ReadError::TooLarge { size },
        e => ReadError::Refused(e),
    })?;
    let mut text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let mut bytes = e.into_bytes();
            bytes.truncate(valid);
            let prefix = String::from_utf8(bytes).unwrap_or_default();
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

/// Turns a YAML or type error into a problem at its place, in plain words.
fn yaml_problem(text: &str, e: &serde_saphyr::Error) -> Problem {
    let offset = e.location().filter(|l| l.line() > 0).map_or(0, |l| {
        offset_of(text, l.line() as usize, l.column() as usize)
    });
    let (message, hint) = explain(original(e));
    if message == TAB_MESSAGE {
        // The scanner reports a place near the tab, not the tab: the token before it (often on
        // the line above), or the character after it. The tab is the one earlier on that line,
        // or else the first one after.
        let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
        let tab = text[line_start..offset]
            .find('\t')
            .map(|n| line_start + n)
            .or_else(|| text[offset..].find('\t').map(|n| offset + n));
        if let Some(at) = tab {
            return Problem {
                offset: at..at + 1,
                message,
                hint,
            };
        }
    }
    let token_end = text[offset..]
        .find([':', '\n', ',', ']', '}'])
        .map_or(offset, |n| offset + n);
    Problem {
        offset: offset..token_end.max(offset),
        message,
        hint,
    }
}

/// The error itself, out of the wrappers that only add places.
fn original(mut e: &serde_saphyr::Error) -> &serde_saphyr::Error {
    use serde_saphyr::Error as E;
    while let E::AliasError { error, .. } | E::WithSnippet { error, .. } = e {
        e = error;
    }
    e
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

const TAB_MESSAGE: &str = "a tab character in the indentation";

/// The parser's error in words a config's author knows (never the parser's own vocabulary:
/// its options, budgets or Rust types), with what to do about it.
fn explain(e: &serde_saphyr::Error) -> (String, Option<String>) {
    use serde_saphyr::Error as E;
    use serde_saphyr::MessageFormatter;
    let said = |m: &str, h: &str| (m.to_string(), Some(h.to_string()));
    match e {
        E::Budget { breach, .. } => over_budget(breach),
        E::AliasReplayLimitExceeded { .. }
        | E::AliasExpansionLimitExceeded { .. }
        | E::AliasReplayStackDepthExceeded { .. }
        | E::AliasReplayCounterOverflow { .. } => said(
            "aliases (`*name`) expand to more values than a config can need",
            "write the values out instead of repeating an alias so often",
        ),
        E::DuplicateMappingKey { key, .. } => (
            match key {
                Some(k) => format!("`{k}` is given twice in one entry"),
                None => "a key is given twice in one entry".into(),
            },
            Some("keep one of them".into()),
        ),
        E::InvalidBooleanStrict { .. } => said(
            "expected `true` or `false`",
            "write `true` or `false` (`yes`, `on` and the like are not booleans here)",
        ),
        E::InvalidScalar { ty, .. } if ty.starts_with('u') || ty.starts_with('i') => said(
            "expected a whole number",
            "write a number such as `25`, without quotes",
        ),
        E::InvalidScalar { .. } | E::NonFiniteFloat { .. } => {
            said("expected a number", "write a number such as `10`")
        }
        E::NullIntoString { .. } | E::InvalidCharNull { .. } => said(
            "a value is missing here",
            "write a value after the colon, or remove the key",
        ),
        E::Eof { .. } => said(
            "file is empty or ends too early",
            "a users file starts with `users:`, a groups file with `groups:`",
        ),
        E::MultipleDocuments { .. } => more_than_one_document(),
        E::BinaryNotUtf8 { .. }
        | E::InvalidBinaryBase64 { .. }
        | E::TaggedScalarCannotDeserializeIntoString { .. }
        | E::UnsupportedTag { .. }
        | E::TaggedStructFieldName { .. } => said(
            "a YAML tag (`!name`) roster does not read",
            "remove the tag, and quote the value if it starts with `!`",
        ),
        E::MergeKeyNotAllowed { .. } | E::MergeValueNotMapOrSeqOfMaps { .. } => said(
            "a YAML merge key (`<<`) roster does not read here",
            "write the keys out",
        ),
        _ => explain_message(&serde_saphyr::UserMessageFormatter.format_message(e)),
    }
}

/// A budget breach as what the file does too much of.
fn over_budget(breach: &serde_saphyr::budget::BudgetBreach) -> (String, Option<String>) {
    use serde_saphyr::budget::BudgetBreach as B;
    let b = budget();
    let split = Some("split the declarations into several files".to_string());
    let aliases = Some("write the values out instead of using so many aliases".to_string());
    match breach {
        B::Documents { .. } => more_than_one_document(),
        B::Depth { .. } => (
            format!("values nest more than {} levels deep", b.max_depth),
            Some("a config never nests this deep: check the brackets and the indentation".into()),
        ),
        B::Events { .. } | B::Nodes { .. } => (
            "the file has more values than roster reads in one file".into(),
            split,
        ),
        B::ScalarBytes { .. } | B::InputBytes { .. } => (
            format!(
                "the file's values add up to more than {} MB",
                MAX_FILE_BYTES / 1024 / 1024
            ),
            split,
        ),
        B::Aliases { .. } => (
            format!(
                "the file has more than {} aliases (`*name`)",
                b.max_aliases
            ),
            aliases,
        ),
        B::Anchors { .. } => (
            format!(
                "the file has more than {} anchors (`&name`)",
                b.max_anchors
            ),
            aliases,
        ),
        B::RecordedAnchorEvents { .. }
        | B::RecordedAnchorBytes { .. }
        | B::AliasAnchorRatio { .. } => (
            "anchored values (`&name`) and their aliases (`*name`) hold more than a config can need"
                .into(),
            aliases,
        ),
        _ => ("the file is larger or more complex than a config can be".into(), split),
    }
}

fn more_than_one_document() -> (String, Option<String>) {
    (
        "the file holds more than one YAML document (a `---` line starts another)".into(),
        Some("keep one document per file: remove the `---` line, or move what follows to a file of its own".into()),
    )
}

/// The rest, by the parser's message.
fn explain_message(message: &str) -> (String, Option<String>) {
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
    if message.contains("found a tab") || message.contains("tabs disallowed") {
        return (
            TAB_MESSAGE.into(),
            Some("YAML indents with spaces: replace the tab with spaces".into()),
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
    if message == "expected mapping start" {
        return (
            "expected keys and values here".into(),
            Some("write `key: value` pairs, one per line, indented under the entry".into()),
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
    (message.into(), None)
}
