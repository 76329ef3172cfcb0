//! Users files in the plain style `roster import` writes, read without the YAML parser.
//!
//! Parsing YAML through serde-saphyr costs about 20 µs a user, most of a 100,000-user plan's
//! CPU. Most users files are one block sequence of flat mappings of plain or simply quoted
//! scalars, one per line:
//!
//! ```yaml
//! # a comment
//! users:
//!   - userPrincipalName: ada@example.com
//!     displayName: Ada Lovelace
//!     employeeId: "1001"
//!     accountEnabled: false
//! ```
//!
//! [`users_file`] reads exactly that shape, giving what serde-saphyr gives (values and byte
//! spans), and returns `None` on the first line it does not fully understand: anything YAML
//! could read differently (a multi-line scalar, an escape, a flow collection, an anchor, a tab,
//! a null, a comment after a value, a key it does not know, a key twice) goes to the YAML
//! parser, whole file, so its errors and meaning stay the parser's. The tests check the two
//! readings against each other on generated and mutated files.

use super::raw::{RawUser, RawUsersFile, Spanned};

/// The users file read line by line, or `None` when it is not in the plain style.
pub fn users_file(text: &str) -> Option<RawUsersFile> {
    let mut users: Vec<Spanned<RawUser>> = Vec::new();
    let mut seen_users_key = false;
    // Indent of the `- ` that starts each user; every user has the same.
    let mut item_indent: Option<usize> = None;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let line = line.strip_suffix('\n').unwrap_or(line);
        let indent = line.bytes().take_while(|&b| b == b' ').count();
        let rest = &line[indent..];
        if rest.is_empty() {
            // A blank line; one of spaces only is left to the parser.
            if indent == 0 {
                continue;
            }
            return None;
        }
        if rest.starts_with('#') {
            // A comment, unless it holds a character YAML may take for a line break.
            if !rest.chars().all(printable) {
                return None;
            }
            continue;
        }
        if !seen_users_key {
            if line != "users:" {
                return None;
            }
            seen_users_key = true;
            continue;
        }
        let (field_at, entry) = match rest.strip_prefix("- ") {
            Some(entry) => {
                if *item_indent.get_or_insert(indent) != indent {
                    return None;
                }
                let at = start + indent + 2;
                users.push(Spanned::new(RawUser::default(), at..at));
                (at, entry)
            }
            None => {
                if item_indent.map(|i| i + 2) != Some(indent) {
                    return None;
                }
                (start + indent, rest)
            }
        };
        let user = &mut users.last_mut()?.value;
        field(user, field_at, entry)?;
    }
    // `users:` with no entries is the parser's to judge.
    (!users.is_empty()).then_some(RawUsersFile { users })
}

/// One `key: value` line of a user, the key starting at byte `at` of the file.
fn field(user: &mut RawUser, at: usize, entry: &str) -> Option<()> {
    let key = &entry[..entry.bytes().take_while(u8::is_ascii_alphabetic).count()];
    let value = entry[key.len()..].strip_prefix(": ")?;
    let value_at = at + key.len() + 2;
    let (text, len) = scalar(value)?;
    let span = value_at..value_at + len;
    if key == "accountEnabled" {
        let enabled = match (text, len == value.len() && !value.starts_with(['"', '\''])) {
            ("true", true) => true,
            ("false", true) => false,
            _ => return None,
        };
        return set(&mut user.account_enabled, Spanned::new(enabled, span));
    }
    set(user.text_field(key)?, Spanned::new(text.to_string(), span))
}

/// Sets a field not set before: a key written twice is the parser's to report.
fn set<T>(slot: &mut Option<Spanned<T>>, value: Spanned<T>) -> Option<()> {
    match slot {
        Some(_) => None,
        None => {
            *slot = Some(value);
            Some(())
        }
    }
}

/// A scalar that is the whole rest of its line: its text and how many bytes it spans (quotes
/// included). `None` for anything but a plain scalar of safe characters or a quoted one with
/// no escapes.
fn scalar(value: &str) -> Option<(&str, usize)> {
    for quote in ['"', '\''] {
        if let Some(inner) = value.strip_prefix(quote) {
            let inner = inner.strip_suffix(quote)?;
            let escapes = inner.contains(quote) || (quote == '"' && inner.contains('\\'));
            return (!escapes && inner.chars().all(printable)).then_some((inner, value.len()));
        }
    }
    let first = value.chars().next()?;
    // An indicator, a space or a flow character first, a comment, a mapping value inside, a
    // trailing space or a null all mean something else in YAML (or might).
    let plain = (first.is_ascii_alphanumeric() || (!first.is_ascii() && first.is_alphabetic()))
        && !value.ends_with(' ')
        && !matches!(value, "null" | "Null" | "NULL")
        && (value.chars()).all(|c| printable(c) && !matches!(c, ':' | '#' | '[' | ']' | '{' | '}'));
    plain.then_some((value, value.len()))
}

/// Whether YAML allows the character in a scalar without escaping and reads it the same in
/// YAML 1.1 and 1.2 (not a tab, a line break or a line or paragraph separator).
fn printable(c: char) -> bool {
    match c {
        ' '..='~' => true,
        '\u{2028}' | '\u{2029}' | '\u{feff}' => false,
        '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'.. => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests;
