//! Who is in a team: the declared users a `member_rules` filter matches, with the explicit
//! `members`, less `exclude`, less every user who should not hold an account (disabled, out of
//! Entra's scope, expired: the caller says who, since expiry needs the instant). Each member
//! keeps why it is one (an explicit entry, or which rule), for plans and for
//! `import asana --update`, which never writes a rule's member into `members:`.
//!
//! The planner, validation (`policy.rules` `max_team_size`) and `--changed-since` ask this
//! module, and the rules are evaluated by [`crate::filter`], the one evaluator Entra's scoping
//! filters use too. Pure: no IO.

use std::collections::HashSet;

use crate::config::model::{Config, Group, User};
use crate::filter;
use crate::names::match_key;

/// Why a user is a member of a team.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// Listed in `members:`.
    Explicit,
    /// Matched by `member_rules[i]` (0-based).
    Rule(usize),
}

/// One member of a team, as the config decides it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamMember {
    /// The userPrincipalName, as declared.
    pub upn: String,
    pub via: Via,
}

/// The team's members: explicit members first (in the order written), then the users a rule
/// matches (in the order they are declared), each once; without `exclude`d users and without
/// the declared users `eligible` refuses. An explicit member no declaration holds is kept (in
/// live mode it may come from Entra; validation reports it otherwise).
pub fn members(
    config: &Config,
    group: &Group,
    eligible: impl Fn(&User) -> bool,
) -> Vec<TeamMember> {
    let excluded: HashSet<String> = group.exclude.iter().map(|u| match_key(u)).collect();
    let mut seen: HashSet<String> = HashSet::new();
    let mut out = Vec::new();
    for upn in &group.members {
        let key = match_key(upn);
        if excluded.contains(&key) || config.user(upn).is_some_and(|u| !eligible(u)) {
            continue;
        }
        if seen.insert(key) {
            out.push(TeamMember {
                upn: upn.clone(),
                via: Via::Explicit,
            });
        }
    }
    if group.member_rules.is_empty() {
        return out;
    }
    for u in &config.users {
        let Some(rule) = filter::first_match(&group.member_rules, u) else {
            continue;
        };
        let key = u.key();
        if excluded.contains(&key) || !eligible(u) || !seen.insert(key) {
            continue;
        }
        out.push(TeamMember {
            upn: u.upn.clone(),
            via: Via::Rule(rule),
        });
    }
    out
}

/// Why a member is one, in words: `explicit`, `rule 1 "engineering"` or, for a rule without a
/// name, `rule 2 (department EQUALS "Sales")`. Rules are numbered from 1, as people count.
pub fn describe(group: &Group, via: Via) -> String {
    match via {
        Via::Explicit => "explicit".into(),
        Via::Rule(i) => match group.member_rules.get(i) {
            Some(f) => match &f.name {
                Some(name) => format!("rule {} {name:?}", i + 1),
                None => {
                    let clauses: Vec<String> = f.clauses.iter().map(|c| c.describe()).collect();
                    format!("rule {} ({})", i + 1, clauses.join(" AND "))
                }
            },
            None => format!("rule {}", i + 1),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::{Clause, Operator, ScopingFilter, UserAttr};

    fn config(users: Vec<User>) -> Config {
        let (mut config, report) = crate::config::from_texts("version: 1\n", &[], &[]);
        assert!(!report.has_errors());
        let mut config = config.take().expect("valid");
        config.user_index = users
            .iter()
            .enumerate()
            .map(|(i, u)| (u.key(), i))
            .collect();
        config.users = users;
        config
    }

    fn user(upn: &str, dept: Option<&str>, kind: Option<&str>) -> User {
        let mut u = User::new(upn);
        u.set(UserAttr::Department, dept.map(str::to_string));
        u.set(UserAttr::EmployeeType, kind.map(str::to_string));
        u
    }

    fn rule(name: Option<&str>, clauses: &[(&str, &str, Option<&str>)]) -> ScopingFilter {
        ScopingFilter {
            name: name.map(str::to_string),
            clauses: clauses
                .iter()
                .map(|(a, op, v)| Clause::new(a, Operator::parse(op).expect(op), *v).unwrap())
                .collect(),
        }
    }

    fn group(members: &[&str], rules: Vec<ScopingFilter>, exclude: &[&str]) -> Group {
        Group {
            display_name: "Team".into(),
            members: members.iter().map(|m| m.to_string()).collect(),
            member_rules: rules,
            exclude: exclude.iter().map(|m| m.to_string()).collect(),
            member_expires: Default::default(),
            origin: None,
        }
    }

    fn names(config: &Config, g: &Group) -> Vec<(String, String)> {
        members(config, g, User::provisioned)
            .into_iter()
            .map(|m| (m.upn, describe(g, m.via)))
            .collect()
    }

    /// `(rules, explicit members, exclude, expected members with why)` over one set of users:
    /// filters OR-ed, clauses AND-ed, the null rule, explicit members first, excludes winning
    /// over both, disabled and out-of-scope users never members.
    #[test]
    fn members_come_from_rules_and_lists() {
        let mut off = user("off@x.io", Some("Eng"), Some("Employee"));
        off.account_enabled = false;
        let mut gone = user("gone@x.io", Some("Eng"), Some("Employee"));
        gone.in_scope = false;
        let c = config(vec![
            user("ada@x.io", Some("Eng"), Some("Employee")),
            user("bob@x.io", Some("Eng"), Some("Contractor")),
            user("cy@x.io", Some("Sales"), Some("Employee")),
            user("dee@x.io", None, None),
            off,
            gone,
        ]);
        let eng = || {
            rule(
                Some("engineering"),
                &[("department", "EQUALS", Some("Eng"))],
            )
        };
        let staff = || {
            rule(
                None,
                &[
                    ("department", "NOT EQUALS", Some("Eng")),
                    ("employeeType", "EQUALS", Some("Employee")),
                ],
            )
        };
        let pair = |u: &str, why: &str| (u.to_string(), why.to_string());
        let cases: Vec<(Group, Vec<(String, String)>)> = vec![
            (group(&[], vec![], &[]), vec![]),
            (
                group(&[], vec![eng()], &[]),
                vec![
                    pair("ada@x.io", "rule 1 \"engineering\""),
                    pair("bob@x.io", "rule 1 \"engineering\""),
                ],
            ),
            // Filters OR-ed, clauses AND-ed; the null rule keeps dee out of NOT EQUALS.
            (
                group(&[], vec![eng(), staff()], &[]),
                vec![
                    pair("ada@x.io", "rule 1 \"engineering\""),
                    pair("bob@x.io", "rule 1 \"engineering\""),
                    pair(
                        "cy@x.io",
                        "rule 2 (department NOT EQUALS \"Eng\" AND employeeType EQUALS \"Employee\")",
                    ),
                ],
            ),
            // IS NULL is the one operator true on a missing value.
            (
                group(
                    &[],
                    vec![rule(None, &[("department", "IS NULL", None)])],
                    &[],
                ),
                vec![pair("dee@x.io", "rule 1 (department IS NULL)")],
            ),
            // Explicit members come first and keep their reason; excludes win over both.
            (
                group(&["cy@x.io", "BOB@x.io"], vec![eng()], &["ada@X.io"]),
                vec![pair("cy@x.io", "explicit"), pair("BOB@x.io", "explicit")],
            ),
            (
                group(&["cy@x.io"], vec![eng()], &["cy@x.io"]),
                vec![
                    pair("ada@x.io", "rule 1 \"engineering\""),
                    pair("bob@x.io", "rule 1 \"engineering\""),
                ],
            ),
            // A disabled or out-of-scope user is a member neither by rule nor by name.
            (
                group(&["off@x.io", "gone@x.io"], vec![eng()], &[]),
                vec![
                    pair("ada@x.io", "rule 1 \"engineering\""),
                    pair("bob@x.io", "rule 1 \"engineering\""),
                ],
            ),
        ];
        for (g, want) in cases {
            assert_eq!(names(&c, &g), want, "{g:?}");
        }
    }

    #[test]
    fn the_caller_decides_who_is_eligible() {
        let c = config(vec![
            user("ada@x.io", Some("Eng"), None),
            user("bob@x.io", Some("Eng"), None),
        ]);
        let g = group(
            &["bob@x.io"],
            vec![rule(None, &[("department", "EQUALS", Some("Eng"))])],
            &[],
        );
        let only_ada = members(&c, &g, |u| u.upn == "ada@x.io");
        assert_eq!(
            only_ada,
            [TeamMember {
                upn: "ada@x.io".into(),
                via: Via::Rule(0)
            }]
        );
    }
}
