//! Stage one: find the config files, read them safely and hand their text to [`super::parse`].
//!
//! Reading is bounded: only regular files inside the config directory are read (a symlink that
//! resolves outside it, a device, a FIFO or a kernel pseudo-file is refused unread, see
//! [`crate::fsio`]), reads stop at [`MAX_FILE_BYTES`], and non-UTF-8 input is reported at the
//! first bad byte. Nothing here touches the network.

use std::fs;
use std::path::{Path, PathBuf};

use super::model::Config;
use super::parse::{Parsed, Problem, RawConfig, RawFile, parse_text, record};
use super::raw::{RawGroupsFile, RawUsersFile};
use crate::diagnostics::{Diagnostic, Report, Span};
use crate::fsio::{FileError, Root, Walk};
// Their old paths, for the binary's callers.
pub use super::parse::{MAX_FILE_BYTES, SETTINGS_FILE, parse_raw};

/// Reads, parses and validates a config directory. The config is `Some` only when the report
/// has no errors. Without an instant, `policy.rules`' `max_days` is not checked: commands
/// call [`load_at`] with theirs.
pub fn load(dir: &Path) -> (Option<Config>, Report) {
    load_at(dir, None)
}

/// [`load`], checking `policy.rules` at `at` (seconds since the epoch: `--at`, else now).
pub fn load_at(dir: &Path, at: Option<i64>) -> (Option<Config>, Report) {
    let mut report = Report::default();
    let raw = read_dir(dir, &mut report);
    let config = super::validate::validate_at(raw, dir, at, &mut report);
    report.sort();
    (config, report)
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
fn parse_all<T: RawFile + Send>(root: &Root, paths: &[PathBuf]) -> Vec<Parsed<T>> {
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

fn parse_file<T: RawFile>(root: &Root, path: &Path) -> Parsed<T> {
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
