//! The one YAML writer for declarations, used by `roster import asana` and `roster import
//! entra`: a schema modeline and comment lines, then a block list of flat mappings (each with
//! an optional comment above it), keys in the schema's order, strings quoted only when YAML
//! would read them as something else. Deterministic: the same entries give the same bytes.
//! Pure: no IO.

use crate::config::model::{User, UserAttr};

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Bool(bool),
    List(Vec<String>),
    /// A nested mapping (employeeOrgData).
    Map(Vec<(&'static str, String)>),
}

/// One declaration: keys in insertion order, and a comment to write above it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Entry {
    note: Option<String>,
    fields: Vec<(&'static str, Value)>,
}

impl Entry {
    /// A declared user as a users file has it: every attribute it has, in the schema's order,
    /// and `accountEnabled: false` when it is disabled.
    pub fn user(user: &User) -> Entry {
        let mut entry = Entry::default();
        for attr in UserAttr::ALL {
            if let Some(v) = user.get(attr) {
                entry.push_user_attr(attr, v.to_string());
            }
        }
        if !user.account_enabled {
            entry.push("accountEnabled", Value::Bool(false));
        }
        entry
    }

    /// A group (a team) as a groups file has it: its displayName and members, in order.
    pub fn group(display_name: &str, members: &[String]) -> Entry {
        let mut entry = Entry::default();
        entry.push("displayName", Value::Str(display_name.to_string()));
        entry.push("members", Value::List(members.to_vec()));
        entry
    }

    /// The comment line written above the entry (`# {note}`).
    pub fn with_note(self, note: Option<String>) -> Entry {
        Entry { note, ..self }
    }

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

/// A whole file: the modeline naming `schema`, the `header` lines as comments, and the
/// entries as the list under `key` (`key: []` when there are none).
pub fn document(schema: &str, header: &[impl AsRef<str>], key: &str, entries: &[Entry]) -> String {
    let refs: Vec<&Entry> = entries.iter().collect();
    document_with_ranges(schema, header, key, &refs).0
}

/// Where each field of each entry is in a [`document_with_ranges`] document.
pub type FieldRanges = Vec<Vec<(&'static str, std::ops::Range<usize>)>>;

/// [`document`], and the byte range each field of each entry takes in it (to tell which
/// declaration, and which field of it, a diagnostic is about).
pub fn document_with_ranges(
    schema: &str,
    header: &[impl AsRef<str>],
    key: &str,
    entries: &[&Entry],
) -> (String, FieldRanges) {
    let mut s = format!("# yaml-language-server: $schema={schema}\n");
    for line in header {
        s.push_str("# ");
        s.push_str(line.as_ref());
        s.push('\n');
    }
    s.push_str(key);
    s.push_str(if entries.is_empty() { ": []\n" } else { ":\n" });
    let mut ranges = Vec::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate() {
        if i > 0 {
            s.push('\n');
        }
        if let Some(note) = &e.note {
            s.push_str("  # ");
            s.push_str(note);
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

pub(crate) fn plain_is_safe(s: &str) -> bool {
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
    use crate::config::model::User;

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

    #[test]
    fn users_and_groups_files_as_import_entra_writes_them() {
        let mut ada = User::new("ada@x.io");
        ada.set(UserAttr::DisplayName, Some("Ada".into()));
        ada.set(UserAttr::EmployeeId, Some("7".into()));
        ada.set(UserAttr::CostCenter, Some("CC-1".into()));
        ada.set(UserAttr::Manager, Some("bob@x.io".into()));
        let mut bob = User::new("bob@x.io");
        bob.account_enabled = false;
        let text = document(
            "../../schema/users.schema.json",
            &["Generated."],
            "users",
            &[
                Entry::user(&ada),
                Entry::user(&bob).with_note(Some("out of scope".into())),
            ],
        );
        insta::assert_snapshot!(text, @r#"
        # yaml-language-server: $schema=../../schema/users.schema.json
        # Generated.
        users:
          - userPrincipalName: ada@x.io
            displayName: Ada
            employeeId: "7"
            employeeOrgData:
              costCenter: CC-1
            manager: bob@x.io

          # out of scope
          - userPrincipalName: bob@x.io
            accountEnabled: false
        "#);
        let groups = document(
            "s",
            &[] as &[&str],
            "groups",
            &[Entry::group("Platform", &["ada@x.io".into()])],
        );
        assert_eq!(
            groups,
            "# yaml-language-server: $schema=s\ngroups:\n  - displayName: Platform\n    members:\n      - ada@x.io\n"
        );
        assert!(document("s", &[] as &[&str], "users", &[]).ends_with("users: []\n"));
    }
}
