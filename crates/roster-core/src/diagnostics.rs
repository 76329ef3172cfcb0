//! Problems found in the user's files, with the place they were found.
//!
//! Every check in roster reports through [`Diagnostic`]s collected into a
//! [`Report`], so one run shows every problem at once. Rendering is pure: it
//! writes to any `io::Write`, as rustc-style text with a source snippet (drawn by
//! annotate-snippets, which aligns carets by display width) or as GitHub workflow
//! annotations. This module never reads files and never decides exit codes.
//!
//! What a diagnostic quotes comes from a file anyone may write, so rendering shows it
//! safely and in bounded size: control characters (ESC, BEL, CR, …) and the bidirectional
//! controls that reorder what a terminal shows are escaped (`\u{1b}`), a long source line is
//! cut to a window around the column, and a long quoted value or message is cut with `…`.

use std::borrow::Cow;
use std::fmt::Write as _;

use annotate_snippets::{AnnotationKind, Element, Group, Level, Origin, Renderer, Snippet};
use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// Index of a file in [`Sources`].
pub type FileId = usize;

/// The text of every file a run read, so diagnostics can quote it.
#[derive(Debug, Default)]
pub struct Sources {
    files: Vec<SourceFile>,
}

#[derive(Debug)]
struct SourceFile {
    /// The path as the user should see it (relative to where they ran roster).
    display: PathBuf,
    text: String,
    /// Byte offset where each line starts, worked out when a diagnostic first needs it (most
    /// files read have none).
    line_starts: std::sync::OnceLock<Vec<usize>>,
}

impl SourceFile {
    fn line_starts(&self) -> &[usize] {
        self.line_starts.get_or_init(|| {
            std::iter::once(0)
                .chain(self.text.match_indices('\n').map(|(i, _)| i + 1))
                .collect()
        })
    }
}

impl Sources {
    pub fn add(&mut self, display: PathBuf, text: String) -> FileId {
        self.files.push(SourceFile {
            display,
            text,
            line_starts: std::sync::OnceLock::new(),
        });
        self.files.len() - 1
    }

    pub fn text(&self, file: FileId) -> &str {
        &self.files[file].text
    }

    /// Every file read, as (display path, text).
    pub fn iter(&self) -> impl Iterator<Item = (&Path, &str)> {
        self.files
            .iter()
            .map(|f| (f.display.as_path(), f.text.as_str()))
    }

    pub fn display(&self, file: FileId) -> &Path {
        &self.files[file].display
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, file: FileId, offset: usize) -> (usize, usize) {
        let f = &self.files[file];
        let offset = offset.min(f.text.len());
        let line_starts = f.line_starts();
        let line = line_starts.partition_point(|&s| s <= offset) - 1;
        let start = line_starts[line];
        let col = f
            .text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        (line + 1, col + 1)
    }

    fn line_text(&self, file: FileId, line: usize) -> &str {
        let f = &self.files[file];
        let line_starts = f.line_starts();
        let start = line_starts[line - 1];
        let end = line_starts.get(line).map_or(f.text.len(), |&e| e);
        f.text[start..end].trim_end_matches(['\n', '\r'])
    }
}

/// A byte range in one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    pub file: FileId,
    pub range: Range<usize>,
}

impl Span {
    pub fn new(file: FileId, range: Range<usize>) -> Self {
        Span { file, range }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

/// One problem: what is wrong, where, and what to do about it.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    pub severity: Severity,
    pub message: String,
    /// Where the problem is; `None` for problems with no place (a missing directory).
    pub span: Option<Span>,
    /// One line that tells the user what to do.
    pub hint: Option<String>,
    /// Other places worth seeing, such as the first declaration of a duplicate.
    pub notes: Vec<(Span, String)>,
}

impl Diagnostic {
    pub fn error(message: impl Into<String>, span: Option<Span>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            message: message.into(),
            span,
            hint: None,
            notes: Vec::new(),
        }
    }

    pub fn warning(message: impl Into<String>, span: Option<Span>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(message, span)
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn with_note(mut self, span: Span, note: impl Into<String>) -> Self {
        self.notes.push((span, note.into()));
        self
    }
}

/// Every problem a run found, with the files they point into.
#[derive(Debug, Default)]
pub struct Report {
    pub sources: Sources,
    pub diagnostics: Vec<Diagnostic>,
}

impl Report {
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    pub fn error_count(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
    }

    pub fn has_errors(&self) -> bool {
        self.error_count() > 0
    }

    /// Orders diagnostics by file and position so output is stable and reads top to bottom.
    pub fn sort(&mut self) {
        self.diagnostics.sort_by_key(|d| {
            d.span
                .as_ref()
                .map(|s| (0, s.file, s.range.start))
                .unwrap_or((1, 0, 0))
        });
    }
}

/// How diagnostics are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum DiagnosticFormat {
    /// rustc-style messages with a source snippet
    Text,
    /// GitHub workflow commands (`::error file=…,line=…,col=…::…`)
    Github,
}

/// Renders every diagnostic of `report`.
pub fn render(
    report: &Report,
    format: DiagnosticFormat,
    color: bool,
    out: &mut dyn io::Write,
) -> io::Result<()> {
    for d in &report.diagnostics {
        let text = match format {
            DiagnosticFormat::Text => render_text(&report.sources, d, color),
            DiagnosticFormat::Github => render_github(&report.sources, d),
        };
        out.write_all(text.as_bytes())?;
    }
    Ok(())
}

/// `file:line:column` of a span's start.
pub fn location(sources: &Sources, span: &Span) -> String {
    let (line, col) = sources.line_col(span.file, span.range.start);
    let file = sources.display(span.file).to_string_lossy();
    format!("{}:{line}:{col}", printable(&file))
}

/// rustc's layout, drawn by annotate-snippets: the message, ` --> file:line:column`, the
/// source line with carets under the span (aligned by display width, so wide characters
/// before it do not shift them), then notes and the hint.
fn render_text(sources: &Sources, d: &Diagnostic, color: bool) -> String {
    let level = match d.severity {
        Severity::Error => Level::ERROR,
        Severity::Warning => Level::WARNING,
    };
    let title = shown_message(&d.message);
    let mut group = Group::with_title(level.primary_title(title.as_str()));
    // Where annotate-snippets' own `-->` column (counted in the quoted text) must be replaced
    // by the column in the file: (line, column in the quote, column in the file).
    let mut column_fix = None;
    if let Some(span) = &d.span {
        let (element, fix) = snippet(sources, span);
        group = group.element(element);
        column_fix = fix;
    }
    for (span, note) in &d.notes {
        let text = format!("{} ({})", shown_message(note), location(sources, span));
        group = group.element(Level::NOTE.message(text));
    }
    if let Some(hint) = &d.hint {
        group = group.element(Level::HELP.with_name("hint").message(shown_message(hint)));
    }
    let renderer = if color {
        Renderer::styled()
    } else {
        Renderer::plain()
    };
    // The quoted line is already bounded by `window`; annotate-snippets must not cut it again.
    let mut s = renderer.term_width(usize::MAX / 4).render(&[group]);
    if let Some((line, quoted, file)) = column_fix {
        fix_column(&mut s, line, quoted, file);
    }
    s.push_str("\n\n");
    s
}

/// The snippet of `span`'s first line: the `window` of it that is shown, with the span's part
/// of that line underlined; just the place when the line and the span are both empty (a file
/// that was not read). Also says how to correct the `-->` column when the quoted text is not
/// the line as it is in the file (escaped or cut).
fn snippet<'a>(sources: &Sources, span: &Span) -> (Element<'a>, Option<(usize, usize, usize)>) {
    let (line, col) = sources.line_col(span.file, span.range.start);
    let path = printable(&sources.display(span.file).to_string_lossy()).into_owned();
    let text = sources.line_text(span.file, line);
    if text.is_empty() && span.range.is_empty() {
        return (Origin::path(path).line(line).char_column(col).into(), None);
    }
    // Underline to the end of the span or of the line, whichever comes first.
    let (end_line, end_col) = sources.line_col(span.file, span.range.end);
    let line_chars = text.chars().count();
    let width = if end_line == line && end_col > col {
        end_col - col
    } else if end_line > line {
        line_chars.saturating_sub(col - 1).max(1)
    } else {
        1
    };
    let (shown, at, width) = window(text, col - 1, width);
    let byte = |chars: usize| {
        shown
            .char_indices()
            .nth(chars)
            .map_or(shown.len(), |(i, _)| i)
    };
    let underline = byte(at)..byte(at + width);
    let fix = (at + 1 != col).then_some((line, at + 1, col));
    let element = Snippet::source(shown)
        .line_start(line)
        .path(path)
        .annotation(AnnotationKind::Primary.span(underline))
        .into();
    (element, fix)
}

/// Replaces the column annotate-snippets printed on the ` --> file:line:column` line (the
/// second line) with the column in the file.
fn fix_column(rendered: &mut String, line: usize, quoted: usize, file: usize) {
    let wrong = format!(":{line}:{quoted}");
    let Some(start) = rendered.find('\n').map(|i| i + 1) else {
        return;
    };
    let end = rendered[start..]
        .find('\n')
        .map_or(rendered.len(), |i| start + i);
    if rendered[start..end].ends_with(&wrong) {
        rendered.replace_range(end - wrong.len()..end, &format!(":{line}:{file}"));
    }
}

/// Widest source line a snippet shows; a longer one is cut around the span, with `…`.
const SNIPPET_WIDTH: usize = 120;
/// Longest value quoted in backticks that a message shows whole.
const QUOTE_WIDTH: usize = 80;
/// Longest message, hint or note shown whole.
const MESSAGE_WIDTH: usize = 1_000;

/// The part of a source line a snippet shows, with the caret's column and width in it.
/// `start` (in characters, from 0) and `width` say where the span is in `line`. The line is
/// shown escaped, tabs as spaces; longer than [`SNIPPET_WIDTH`], only a window around the span
/// is shown, with `…` where it was cut. Only the characters that can be shown are looked at,
/// so a megabyte-long line costs no more than a short one.
fn window(line: &str, start: usize, width: usize) -> (String, usize, usize) {
    let lo = start.saturating_sub(SNIPPET_WIDTH);
    let mut chars = line.chars().skip(lo);
    let cells: Vec<Cow<'static, str>> = chars
        .by_ref()
        .take(start - lo + width.min(SNIPPET_WIDTH) + SNIPPET_WIDTH)
        .map(|c| match c {
            '\t' => Cow::Borrowed(" "),
            c => Cow::Owned(printable(c.encode_utf8(&mut [0; 4])).into_owned()),
        })
        .collect();
    let more_right = chars.next().is_some();
    let widths: Vec<usize> = cells.iter().map(|c| c.chars().count()).collect();
    let first = (start - lo).min(cells.len());
    let at: usize = widths[..first].iter().sum();
    let underline: usize = widths[first..(first + width).min(cells.len())].iter().sum();
    let total: usize = widths.iter().sum();
    let (from, to) = if lo == 0 && !more_right && total <= SNIPPET_WIDTH {
        (0, total)
    } else {
        let from = at.saturating_sub(SNIPPET_WIDTH / 3);
        let to = (from + SNIPPET_WIDTH).min(total);
        (from.min(to.saturating_sub(SNIPPET_WIDTH)), to)
    };
    // Whole cells only, so an escape is never cut in half.
    let mut shown = String::new();
    let (mut offset, mut shown_from, mut shown_to) = (0, None, 0);
    for (cell, w) in cells.iter().zip(&widths) {
        if offset >= from && offset + w <= to {
            shown_from.get_or_insert(offset);
            shown_to = offset + w;
            shown.push_str(cell);
        }
        offset += w;
    }
    let shown_from = shown_from.unwrap_or(from);
    let cut_left = lo > 0 || shown_from > 0;
    if cut_left {
        shown.insert(0, '…');
    }
    if more_right || shown_to < total {
        shown.push('…');
    }
    let caret = at.saturating_sub(shown_from) + usize::from(cut_left);
    let width = underline.min(shown_to.saturating_sub(at)).max(1);
    (shown, caret, width)
}

/// A message, hint or note as printed: a value quoted in backticks longer than
/// [`QUOTE_WIDTH`] cut with `…`, the whole at most [`MESSAGE_WIDTH`] characters, escaped.
fn shown_message(message: &str) -> String {
    let mut out = String::new();
    for (i, part) in message.split('`').enumerate() {
        if i > 0 {
            out.push('`');
        }
        let quoted = i % 2 == 1;
        match part.char_indices().nth(QUOTE_WIDTH) {
            Some((cut, _)) if quoted => {
                out.push_str(&part[..cut]);
                out.push('…');
            }
            _ => out.push_str(part),
        }
    }
    if let Some((cut, _)) = out.char_indices().nth(MESSAGE_WIDTH) {
        let more = out[cut..].chars().count();
        out.truncate(cut);
        let _ = write!(out, "… ({more} more characters)");
    }
    printable(&out).into_owned()
}

/// `s` with every control character (ESC, BEL, CR, LF, …) and bidirectional control escaped,
/// so text from a file cannot move the cursor, recolour the terminal, retitle the window or
/// reorder what is shown.
pub fn printable(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn render_github(sources: &Sources, d: &Diagnostic) -> String {
    let level = match d.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let mut message = shown_message(&d.message);
    if let Some(hint) = &d.hint {
        message.push_str("\nhint: ");
        message.push_str(&shown_message(hint));
    }
    for (span, note) in &d.notes {
        let _ = write!(
            message,
            "\nnote: {} ({})",
            shown_message(note),
            location(sources, span)
        );
    }
    let mut props = Vec::new();
    if let Some(span) = &d.span {
        let (line, col) = sources.line_col(span.file, span.range.start);
        let (end_line, end_col) = sources.line_col(span.file, span.range.end);
        let file = sources
            .display(span.file)
            .to_string_lossy()
            .replace('\\', "/");
        let file = printable(&file);
        props.push(format!("file={}", escape_property(&file)));
        props.push(format!("line={line}"));
        props.push(format!("col={col}"));
        if end_line == line && end_col > col {
            props.push(format!("endColumn={end_col}"));
        }
    }
    props.push("title=roster".to_string());
    format!("::{level} {}::{}\n", props.join(","), escape_data(&message))
}

/// Escapes a workflow command's message as the GitHub runner expects.
fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow command's property value (also `:` and `,`).
fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// The closest candidate to `word` by edit distance, if it is close enough to be a likely typo.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let lower = word.to_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::levenshtein(&lower, &c.to_lowercase()), c))
        .filter(|&(d, c)| d <= (c.len().max(word.len()) / 3).max(1))
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sources(text: &str) -> Sources {
        let mut s = Sources::default();
        s.add(PathBuf::from("users/a.yaml"), text.to_string());
        s
    }

    #[test]
    fn line_col_counts_characters_from_one() {
        let s = sources("ab\nçd: x\n");
        assert_eq!(s.line_col(0, 0), (1, 1));
        assert_eq!(s.line_col(0, 3), (2, 1));
        // `ç` is two bytes but one column.
        assert_eq!(s.line_col(0, 6), (2, 3));
    }

    #[test]
    fn text_has_location_snippet_and_hint() {
        let mut report = Report {
            sources: sources("users:\n  - manager: zed@example.com\n"),
            ..Report::default()
        };
        report.push(
            Diagnostic::error("manager is not declared", Some(Span::new(0, 20..35)))
                .with_hint("declare it"),
        );
        let mut out = Vec::new();
        render(&report, DiagnosticFormat::Text, false, &mut out).unwrap();
        let out = String::from_utf8(out).unwrap();
        assert_eq!(
            out,
            "error: manager is not declared\n \
             --> users/a.yaml:2:14\n  \
             |\n\
             2 |   - manager: zed@example.com\n  \
             |              ^^^^^^^^^^^^^^^\n  \
             |\n  \
             = hint: declare it\n\n"
        );
    }

    #[test]
    fn github_annotations_escape_message_and_properties() {
        let mut s = Sources::default();
        s.add(PathBuf::from("users/a,b.yaml"), "x: 1\n".into());
        let report = Report {
            sources: s,
            diagnostics: vec![
                Diagnostic::error("50% wrong\nreally", Some(Span::new(0, 0..1))).with_hint("fix"),
            ],
        };
        let mut out = Vec::new();
        render(&report, DiagnosticFormat::Github, false, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "::error file=users/a%2Cb.yaml,line=1,col=1,endColumn=2,title=roster::50%25 wrong\\nreally%0Ahint: fix\n"
        );
    }

    #[test]
    fn control_characters_are_escaped_in_messages_and_snippets() {
        let mut report = Report {
            sources: sources("users:\n  - surname: \u{1b}[2J\u{202e}x\u{7}\n"),
            ..Report::default()
        };
        report.push(
            Diagnostic::error("surname `\u{1b}[2J` is odd\r", Some(Span::new(0, 20..24)))
                .with_hint("remove \u{1b}]0;title\u{7}"),
        );
        for format in [DiagnosticFormat::Text, DiagnosticFormat::Github] {
            let mut out = Vec::new();
            render(&report, format, false, &mut out).unwrap();
            let out = String::from_utf8(out).unwrap();
            assert!(
                !out.contains(['\u{1b}', '\u{7}', '\u{202e}', '\r']),
                "{out:?}"
            );
            assert!(out.contains("surname `\\u{1b}[2J` is odd\\r"), "{out}");
        }
        let mut out = Vec::new();
        render(&report, DiagnosticFormat::Text, false, &mut out).unwrap();
        let out = String::from_utf8(out).unwrap();
        // The caret stays under the escaped text it points at.
        assert!(
            out.contains(
                "2 |   - surname: \\u{1b}[2J\\u{202e}x\\u{7}\n  |              ^^^^^^^^^\n"
            ),
            "{out}"
        );
    }

    #[test]
    fn a_long_line_is_cut_around_the_column() {
        let line = format!("{}TARGET{}", "a".repeat(5_000), "b".repeat(5_000));
        let (shown, at, width) = window(&line, 5_000, 6);
        assert!(shown.chars().count() <= SNIPPET_WIDTH + 2, "{shown}");
        assert!(shown.starts_with('…') && shown.ends_with('…'), "{shown}");
        let chars: Vec<char> = shown.chars().collect();
        assert_eq!(chars[at..at + width].iter().collect::<String>(), "TARGET");
        // Near the start: no cut on the left, the caret where it was.
        let (shown, at, width) = window(&line, 3, 2);
        assert!(shown.starts_with("aaa") && shown.ends_with('…'), "{shown}");
        assert_eq!((at, width), (3, 2));
        // At the very end of the line.
        let (shown, at, _) = window(&line, 10_006, 1);
        assert!(shown.starts_with('…') && shown.ends_with('b'), "{shown}");
        assert_eq!(at, shown.chars().count());
        // A short line is shown whole.
        assert_eq!(window("abc\tdef", 4, 3), ("abc def".to_string(), 4, 3));
    }

    #[test]
    fn long_quotes_and_messages_are_cut() {
        let m = shown_message(&format!(
            "value `{}` is not an email",
            "x".repeat(1_000_000)
        ));
        assert_eq!(
            m,
            format!("value `{}…` is not an email", "x".repeat(QUOTE_WIDTH))
        );
        let m = shown_message(&"y".repeat(5_000));
        assert!(m.ends_with("… (4000 more characters)"), "{m}");
        assert_eq!(
            m.chars().count(),
            MESSAGE_WIDTH + "… (4000 more characters)".chars().count()
        );
    }

    #[test]
    fn did_you_mean_finds_typos_only() {
        let names = ["jobTitle", "department", "manager"];
        assert_eq!(did_you_mean("jobtitle", names), Some("jobTitle"));
        assert_eq!(did_you_mean("departmnt", names), Some("department"));
        assert_eq!(did_you_mean("zzz", names), None);
    }
}
