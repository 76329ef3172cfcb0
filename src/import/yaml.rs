//! A small, deterministic YAML writer for declarations: block lists of flat mappings, keys in
//! the schema's order, strings quoted only when YAML would read them as something else.

use crate::config::model::UserAttr;

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Bool(bool),
    List(Vec<String>),
    /// A nested mapping (employeeOrgData).
    Map(Vec<(&'static str, String)>),
}

/// One declaration: keys in insertion order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Entry {
    fields: Vec<(&'static str, Value)>,
}

impl Entry {
    pub fn push(&mut self, key: &'static str, value: Value) {
        self.fields.push((key, value));
    }

    /// A top-level string field.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields.iter().find_map(|(k, v)| match v {
            Value::Str(s) if *k == key => Some(s.as_str()),
            _ => None,
        })
    }

    pub fn remove(&mut self, key: &str) {
        self.fields.retain(|(k, _)| *k != key);
    }

    /// Adds a user attribute under its YAML key (nested ones under `employeeOrgData`), keeping
    /// the order of [`UserAttr::ALL`].
    pub fn push_user_attr(&mut self, attr: UserAttr, value: String) {
        let nested = match attr {
            UserAttr::Division => Some("division"),
            UserAttr::CostCenter => Some("costCenter"),
            _ => None,
        };
        match nested {
            Some(sub) => {
                if let Some((_, Value::Map(m))) = self
                    .fields
                    .iter_mut()
                    .find(|(k, _)| *k == "employeeOrgData")
                {
                    m.push((sub, value));
                } else {
                    self.fields
                        .push(("employeeOrgData", Value::Map(vec![(sub, value)])));
                }
            }
            None => self.fields.push((attr.name(), Value::Str(value))),
        }
        let order = |k: &str| {
            UserAttr::ALL
                .iter()
                .position(|a| a.name() == k || (k == "employeeOrgData" && *a == UserAttr::Division))
                .unwrap_or(usize::MAX)
        };
        self.fields.sort_by_key(|(k, _)| order(k));
    }
}

/// A whole file: the schema modeline, a note, and the list.
pub fn document(modeline: &str, key: &str, entries: &[Entry]) -> String {
    let refs: Vec<&Entry> = entries.iter().collect();
    document_with_ranges(modeline, key, &refs).0
}

/// Where each field of each entry is in a [`document_with_ranges`] document.
pub type FieldRanges = Vec<Vec<(&'static str, std::ops::Range<usize>)>>;

/// [`document`], and the byte range each field of each entry takes in it (to tell which
/// declaration, and which field of it, a diagnostic is about).
pub fn document_with_ranges(
    modeline: &str,
    key: &str,
    entries: &[&Entry],
) -> (String, FieldRanges) {
    let mut s = String::new();
    let mut ranges = Vec::with_capacity(entries.len());
    s.push_str(modeline);
    s.push_str("\n# Written by `roster import`; edit freely, it is yours now.\n");
    s.push_str(key);
    s.push_str(":\n");
    for (i, e) in entries.iter().enumerate() {
        if i > 0 {
            s.push('\n');
        }
        let mut fields = Vec::with_capacity(e.fields.len());
        for (j, (k, v)) in e.fields.iter().enumerate() {
            let start = s.len();
            s.push_str(if j == 0 { "  - " } else { "    " });
            s.push_str(k);
            s.push(':');
            match v {
                Value::Str(x) => {
                    s.push(' ');
                    s.push_str(&scalar(x));
                }
                Value::Bool(b) => s.push_str(if *b { " true" } else { " false" }),
                Value::List(items) if items.is_empty() => s.push_str(" []"),
                Value::List(items) => {
                    for item in items {
                        s.push_str("\n      - ");
                        s.push_str(&scalar(item));
                    }
                }
                Value::Map(m) => {
                    for (mk, mv) in m {
                        s.push_str("\n      ");
                        s.push_str(mk);
                        s.push_str(": ");
                        s.push_str(&scalar(mv));
                    }
                }
            }
            s.push('\n');
            fields.push((*k, start..s.len()));
        }
        ranges.push(fields);
    }
    (s, ranges)
}

/// A string as a YAML scalar: plain when that reads back as the same string, otherwise
/// double-quoted (JSON string syntax is valid YAML).
pub fn scalar(s: &str) -> String {
    if plain_is_safe(s) {
        s.to_string()
    } else {
        serde_json::to_string(s).expect("strings serialise")
    }
}

fn plain_is_safe(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    let reserved = [
        "true", "false", "yes", "no", "on", "off", "null", "y", "n", "~",
    ];
    first.is_alphabetic()
        && !s.ends_with([' ', ':'])
        && !s.contains(": ")
        && !s.contains(" #")
        && s.chars()
            .all(|c| c.is_alphanumeric() || " ._@+-/()&,'".contains(c))
        && !reserved.contains(&s.to_ascii_lowercase().as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_are_quoted_only_when_needed_and_read_back_the_same() {
        for (input, out) in [
            ("Alice Smith", "Alice Smith"),
            ("alice@example.com", "alice@example.com"),
            ("1042", "\"1042\""),
            ("NO", "\"NO\""),
            ("yes", "\"yes\""),
            ("", "\"\""),
            ("a: b", "\"a: b\""),
            ("R&D #1", "\"R&D #1\""),
            ("*star", "\"*star\""),
            ("O'Brien", "O'Brien"),
            ("Zoë", "Zoë"),
            ("line\nbreak", "\"line\\nbreak\""),
        ] {
            assert_eq!(scalar(input), out, "{input:?}");
            let back: std::collections::BTreeMap<String, String> =
                serde_saphyr::from_str(&format!("k: {}\n", scalar(input))).unwrap();
            assert_eq!(back["k"], input, "{input:?} does not read back");
        }
    }
}
