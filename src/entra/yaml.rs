//! The YAML `roster import entra` writes: a users file and a groups file in the schema of
//! hand-written ones, sorted and byte-for-byte deterministic, so re-running the import on the
//! same directory changes nothing and a change in Entra is a readable diff. Scalars are
//! quoted by `import::yaml::scalar`, as `roster import asana` does; unlike its files, these
//! carry a comment per user that says why it is disabled. Pure: no IO.

use std::fmt::Write as _;

use crate::config::model::{Group, User, UserAttr};
use crate::import::yaml::scalar;

/// A user to write, with a comment to put above it (why it is written disabled).
pub struct Entry<'a> {
    pub user: &'a User,
    pub note: Option<String>,
}

/// A users file. `header` lines become `# ` comments after the schema modeline; entries are
/// written in the order given (the caller sorts).
pub fn users_file(schema: &str, header: &[String], entries: &[Entry]) -> String {
    let mut out = preamble(schema, header);
    if entries.is_empty() {
        out.push_str("users: []\n");
        return out;
    }
    out.push_str("users:\n");
    for (i, e) in entries.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        if let Some(note) = &e.note {
            let _ = writeln!(out, "  # {note}");
        }
        let u = e.user;
        let mut first = true;
        let mut key = |out: &mut String, k: &str, v: &str| {
            let lead = if first { "  - " } else { "    " };
            first = false;
            let _ = writeln!(out, "{lead}{k}: {}", scalar(v));
        };
        for attr in UserAttr::ALL {
            match attr {
                UserAttr::Division | UserAttr::CostCenter => {}
                UserAttr::EmployeeType => {
                    if let Some(v) = u.get(attr) {
                        key(&mut out, attr.name(), v);
                    }
                    let division = u.get(UserAttr::Division);
                    let cost_center = u.get(UserAttr::CostCenter);
                    if division.is_some() || cost_center.is_some() {
                        out.push_str("    employeeOrgData:\n");
                        if let Some(d) = division {
                            let _ = writeln!(out, "      division: {}", scalar(d));
                        }
                        if let Some(c) = cost_center {
                            let _ = writeln!(out, "      costCenter: {}", scalar(c));
                        }
                    }
                }
                _ => {
                    if let Some(v) = u.get(attr) {
                        key(&mut out, attr.name(), v);
                    }
                }
            }
        }
        if !u.account_enabled {
            out.push_str("    accountEnabled: false\n");
        }
    }
    out
}

/// A groups file; members are written in the order given.
pub fn groups_file(schema: &str, header: &[String], groups: &[Group]) -> String {
    let mut out = preamble(schema, header);
    if groups.is_empty() {
        out.push_str("groups: []\n");
        return out;
    }
    out.push_str("groups:\n");
    for (i, g) in groups.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let _ = writeln!(out, "  - displayName: {}", scalar(&g.display_name));
        if g.members.is_empty() {
            out.push_str("    members: []\n");
        } else {
            out.push_str("    members:\n");
            for m in &g.members {
                let _ = writeln!(out, "      - {}", scalar(m));
            }
        }
    }
    out
}

fn preamble(schema: &str, header: &[String]) -> String {
    let mut out = format!("# yaml-language-server: $schema={schema}\n");
    for line in header {
        let _ = writeln!(out, "# {line}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_and_groups_files() {
        let mut ada = User::new("ada@x.io");
        ada.set(UserAttr::DisplayName, Some("Ada".into()));
        ada.set(UserAttr::EmployeeId, Some("7".into()));
        ada.set(UserAttr::CostCenter, Some("CC-1".into()));
        ada.set(UserAttr::Manager, Some("bob@x.io".into()));
        let mut bob = User::new("bob@x.io");
        bob.account_enabled = false;
        let text = users_file(
            "../../schema/users.schema.json",
            &["Generated.".into()],
            &[
                Entry {
                    user: &ada,
                    note: None,
                },
                Entry {
                    user: &bob,
                    note: Some("out of scope".into()),
                },
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
        let groups = groups_file(
            "s",
            &[],
            &[Group {
                display_name: "Platform".into(),
                members: vec!["ada@x.io".into()],
                origin: None,
            }],
        );
        assert_eq!(
            groups,
            "# yaml-language-server: $schema=s\ngroups:\n  - displayName: Platform\n    members:\n      - ada@x.io\n"
        );
        assert!(users_file("s", &[], &[]).ends_with("users: []\n"));
    }
}
