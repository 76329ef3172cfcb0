//! Stage one's pure half: config files' text parsed into the raw types, with the place of
//! every problem.
//!
//! YAML is parsed with a budget (events, nodes, aliases, nesting) so alias bombs and junk fail
//! fast, and the parser's errors are said in the config's terms ([`explain`]). Reading the
//! files is [`super::load`]'s; this takes text and does no IO.

use std::ops::Range;
use std::path::PathBuf;

use serde::de::DeserializeOwned;

use super::raw::{RawGroupsFile, RawSettings, RawUsersFile};
use crate::diagnostics::{Diagnostic, FileId, Report, Span, did_you_mean};

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

/// One file, read and parsed off the main thread; diagnostics are made when it is recorded.
pub struct Parsed<T> {
    pub display: PathBuf,
    /// The text read, for snippets; empty when the file was not read.
    pub text: String,
    pub result: Result<T, Problem>,
}

/// What went wrong with a file: a message at a byte range, with a hint.
pub struct Problem {
    pub offset: Range<usize>,
    pub message: String,
    pub hint: Option<String>,
}

/// A config file's raw type. Users files in the plain style `roster import` writes are read
/// without the YAML parser's machinery ([`super::plain`], the same values and spans); every
/// other file, and every problem, is serde-saphyr's.
pub trait RawFile: DeserializeOwned {
    /// The file read without the YAML parser, or `None` to leave it to the parser.
    fn read_plain(_text: &str) -> Option<Self> {
        None
    }
}

impl RawFile for RawSettings {}

impl RawFile for RawGroupsFile {}

impl RawFile for RawUsersFile {
    fn read_plain(text: &str) -> Option<Self> {
        super::plain::users_file(text)
    }
}

/// Parses one declarations file's text into its raw type; the error is a one-line message.
pub fn parse_raw<T: RawFile>(text: &str) -> Result<T, String> {
    match parse_text::<T>(PathBuf::new(), text.to_string()).result {
        Ok(v) => Ok(v),
        Err(p) => Err(p.message),
    }
}

/// Parses text already in memory, as if read from `display`.
pub fn parse_text<T: RawFile>(display: PathBuf, text: String) -> Parsed<T> {
    if let Some(value) = T::read_plain(&text) {
        return Parsed {
            display,
            text,
            result: Ok(value),
        };
    }
    let result = parse_yaml(&text);
    Parsed {
        display,
        text,
        result,
    }
}

/// Parses text with the YAML parser, whatever its style.
pub(super) fn parse_yaml<T: DeserializeOwned>(text: &str) -> Result<T, Problem> {
    let options = serde_saphyr::options! {
        budget: Some(budget()),
        alias_limits: alias_limits(),
        with_snippet: false,
        strict_booleans: true,
    };
    serde_saphyr::from_str_with_options::<T>(text, options).map_err(|e| yaml_problem(text, &e))
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
pub fn record<T>(parsed: Parsed<T>, report: &mut Report) -> Option<(FileId, T)> {
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
