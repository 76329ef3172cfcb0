//! `apply PLAN_FILE --replan`: the reviewed (saved) plan against a fresh plan of the current
//! config and target, compared as change sets — objects, actions, ids, attribute values and
//! team members — never as rendered text, so wording, order and colour cannot make two equal
//! plans differ. Pure.
//!
//! A saved change the fresh plan lacks, or has otherwise, is a [`Difference`]. So is a change
//! only the fresh plan has when it comes from a declaration that is not the one planned (the
//! object's own, a team member's, or the settings every declaration is planned with: the
//! saved plan's [`Declarations`] against the current ones). A change only the fresh plan has
//! whose declarations are all as planned comes from drift in the target (or, for a plan made
//! with `--changed-since`, from what that plan did not look at); it is returned in
//! [`Comparison::drift`], for a warning, and left for the next plan. What the changes say
//! about why (`reason`) and where their values came from (`source`) is not compared: it does
//! not change what is sent.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde_json::Value as Json;

use super::declarations::Declarations;
use crate::config::model::DeprovisionWith;
use crate::plan::{Action, AttrChange, Change, Kind, Member, Plan, address};
use crate::render::markdown::visible;

/// What [`compare`] found.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// Why the saved plan may not be applied; empty when it may.
    pub differences: Vec<Difference>,
    /// Changes only the fresh plan has, each from drift in an object whose declarations are
    /// as planned: not applied now, left for the next plan.
    pub drift: Vec<Change>,
}

/// One way the fresh plan is not the reviewed one.
#[derive(Debug, Clone, PartialEq)]
pub enum Difference {
    /// A reviewed change the fresh plan does not have.
    Missing(Change),
    /// A user's reviewed change is another action in the fresh plan.
    Action { saved: Change, fresh: Change },
    /// The same object and action, with other contents.
    Changed {
        address: String,
        action: Action,
        details: Vec<Detail>,
    },
    /// A change only the fresh plan has, from declarations that differ from the planned ones.
    Added { change: Change, causes: Vec<Cause> },
    /// The reviewed plan deprovisions, and roster.yaml now says to do it another way.
    DeprovisionWith {
        saved: DeprovisionWith,
        fresh: DeprovisionWith,
    },
}

/// How one change differs between the reviewed and the fresh plan.
#[derive(Debug, Clone, PartialEq)]
pub enum Detail {
    Id {
        saved: Option<String>,
        fresh: Option<String>,
    },
    /// An attribute the two change differently (`None`: that plan does not change it).
    Attribute {
        path: String,
        saved: Option<AttrChange>,
        fresh: Option<AttrChange>,
    },
    /// Team members only one of the two adds (or removes).
    Members {
        only_saved: Vec<Member>,
        only_fresh: Vec<Member>,
    },
}

/// Why a change only the fresh plan has comes from the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    /// The mappings or the policy that decides changes (`unmanaged`, `protected`).
    Settings,
    /// The declaration at `address` was added, removed or edited since the plan.
    Declaration { address: String, edit: Edit },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edit {
    Added,
    Removed,
    Edited,
}

/// The reviewed plan (`saved`, with the declarations it was made from) against a fresh one.
pub fn compare(
    saved: &Plan,
    saved_declarations: &Declarations,
    fresh: &Plan,
    fresh_declarations: &Declarations,
) -> Comparison {
    let index = |p: &'_ Plan| -> BTreeMap<(String, Action), Change> {
        (p.changes.iter())
            .map(|c| ((c.address(), c.action), c.clone()))
            .collect()
    };
    let saved_changes = index(saved);
    let mut fresh_changes = index(fresh);
    let mut differences = Vec::new();
    let mut missing = Vec::new();
    for (key, s) in saved_changes {
        match fresh_changes.remove(&key) {
            Some(f) => {
                let details = details(&s, &f);
                if !details.is_empty() {
                    differences.push(Difference::Changed {
                        address: key.0,
                        action: key.1,
                        details,
                    });
                }
            }
            None => missing.push(s),
        }
    }
    // What is left of the fresh plan is what it has besides. A user has one change, so a user
    // in both lists is one change with another action.
    let mut extra: Vec<Change> = fresh_changes.into_values().collect();
    for s in missing {
        let other = (s.kind == Kind::User)
            .then(|| extra.iter().position(|f| f.address() == s.address()))
            .flatten();
        match other {
            Some(i) => differences.push(Difference::Action {
                saved: s,
                fresh: extra.remove(i),
            }),
            None => differences.push(Difference::Missing(s)),
        }
    }
    let mut drift = Vec::new();
    for change in extra {
        let causes = causes(&change, saved_declarations, fresh_declarations);
        if causes.is_empty() {
            drift.push(change);
        } else {
            differences.push(Difference::Added { change, causes });
        }
    }
    if saved.summary.deprovision > 0 && saved.deprovision_with != fresh.deprovision_with {
        differences.push(Difference::DeprovisionWith {
            saved: saved.deprovision_with,
            fresh: fresh.deprovision_with,
        });
    }
    differences.sort_by_key(|d| d.address());
    Comparison { differences, drift }
}

/// How two changes to one object with one action differ; empty when they do not.
fn details(saved: &Change, fresh: &Change) -> Vec<Detail> {
    let mut out = Vec::new();
    if saved.id != fresh.id {
        out.push(Detail::Id {
            saved: saved.id.clone(),
            fresh: fresh.id.clone(),
        });
    }
    let by_path = |c: &Change| -> BTreeMap<String, AttrChange> {
        (c.attributes.iter())
            .map(|a| (a.path.clone(), comparable(c.kind, a)))
            .collect()
    };
    let (s, f) = (by_path(saved), by_path(fresh));
    let paths: BTreeSet<&String> = s.keys().chain(f.keys()).collect();
    for path in paths {
        let (a, b) = (s.get(path), f.get(path));
        if a != b {
            out.push(Detail::Attribute {
                path: path.clone(),
                saved: a.cloned(),
                fresh: b.cloned(),
            });
        }
    }
    // Which rule put a member there is not what apply sends: members compare by user.
    let members = |c: &Change| -> BTreeSet<Member> {
        (c.members.iter())
            .map(|m| Member {
                via: None,
                ..m.clone()
            })
            .collect()
    };
    let (s, f) = (members(saved), members(fresh));
    if s != f {
        out.push(Detail::Members {
            only_saved: s.difference(&f).cloned().collect(),
            only_fresh: f.difference(&s).cloned().collect(),
        });
    }
    out
}

/// An attribute change as compared: a team's `members` (on create) as a set, since the order
/// members are listed in is not what is sent.
fn comparable(kind: Kind, a: &AttrChange) -> AttrChange {
    let sorted = |v: &Option<Json>| match v {
        Some(Json::Array(items)) if kind == Kind::Group && a.path == "members" => {
            let mut items = items.clone();
            items.sort_by_key(|i| i.to_string());
            items.dedup();
            Some(Json::Array(items))
        }
        other => other.clone(),
    };
    AttrChange {
        path: a.path.clone(),
        before: sorted(&a.before),
        after: sorted(&a.after),
    }
}

/// The declarations a change only the fresh plan has depends on that differ from the planned
/// ones: the settings, the object's own, and for a team each member's it adds or removes.
fn causes(change: &Change, saved: &Declarations, fresh: &Declarations) -> Vec<Cause> {
    let mut out = Vec::new();
    if saved.settings != fresh.settings {
        out.push(Cause::Settings);
    }
    let mut addresses = vec![change.address()];
    if change.kind == Kind::Group {
        addresses.extend(change.members.iter().map(|m| address(Kind::User, &m.key)));
    }
    for at in addresses {
        let edit = match (saved.object(&at), fresh.object(&at)) {
            (None, Some(_)) => Edit::Added,
            (Some(_), None) => Edit::Removed,
            (Some(a), Some(b)) if a != b => Edit::Edited,
            _ => continue,
        };
        out.push(Cause::Declaration { address: at, edit });
    }
    out
}

impl Difference {
    /// The object it is about (empty for one about the whole plan), for the order.
    fn address(&self) -> String {
        match self {
            Difference::Missing(c) | Difference::Added { change: c, .. } => c.address(),
            Difference::Action { saved, .. } => saved.address(),
            Difference::Changed { address, .. } => address.clone(),
            Difference::DeprovisionWith { .. } => String::new(),
        }
    }
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Difference::Missing(c) => write!(
                f,
                "{} {}: in the reviewed plan, and not in a fresh plan",
                shown(&c.address()),
                c.action.as_str()
            ),
            Difference::Action { saved, fresh } => write!(
                f,
                "{}: the reviewed plan has `{}`, and a fresh plan `{}`",
                shown(&saved.address()),
                saved.action.as_str(),
                fresh.action.as_str()
            ),
            Difference::Changed {
                address,
                action,
                details,
            } => {
                write!(
                    f,
                    "{} {}: differs from the reviewed plan: ",
                    shown(address),
                    action.as_str()
                )?;
                for (i, d) in details.iter().enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    write!(f, "{d}")?;
                }
                Ok(())
            }
            Difference::Added { change, causes } => {
                write!(
                    f,
                    "{} {}: only in a fresh plan, because ",
                    shown(&change.address()),
                    change.action.as_str()
                )?;
                for (i, c) in causes.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" and ")?;
                    }
                    write!(f, "{c}")?;
                }
                Ok(())
            }
            Difference::DeprovisionWith { saved, fresh } => write!(
                f,
                "the reviewed plan deprovisions with `{}`, and roster.yaml now says `{}`",
                deprovision_with(*saved),
                deprovision_with(*fresh)
            ),
        }
    }
}

impl fmt::Display for Detail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let id = |id: &Option<String>| id.as_deref().map_or("none".to_string(), shown);
        match self {
            Detail::Id { saved, fresh } => {
                write!(f, "id reviewed {}, now {}", id(saved), id(fresh))
            }
            Detail::Attribute { path, saved, fresh } => write!(
                f,
                "{} reviewed {}, now {}",
                shown(path),
                attribute(saved.as_ref()),
                attribute(fresh.as_ref())
            ),
            Detail::Members {
                only_saved,
                only_fresh,
            } => {
                let list = |m: &[Member]| {
                    let keys: Vec<String> = m.iter().map(|m| shown(&m.key)).collect();
                    if keys.is_empty() {
                        "none".to_string()
                    } else {
                        keys.join(", ")
                    }
                };
                write!(
                    f,
                    "members only in the reviewed plan: {}; only in a fresh plan: {}",
                    list(only_saved),
                    list(only_fresh)
                )
            }
        }
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::Settings => {
                f.write_str("roster.yaml's mappings or policy changed since the plan")
            }
            Cause::Declaration { address, edit } => {
                let edit = match edit {
                    Edit::Added => "was added",
                    Edit::Removed => "was removed",
                    Edit::Edited => "changed",
                };
                write!(
                    f,
                    "the declaration of {} {edit} since the plan",
                    shown(address)
                )
            }
        }
    }
}

/// A change only the fresh plan has, for the drift warning: `user["a@x.io"] update (title)`.
pub fn describe(change: &Change) -> String {
    let mut out = format!("{} {}", shown(&change.address()), change.action.as_str());
    let what: Vec<String> = change
        .attributes
        .iter()
        .map(|a| shown(&a.path))
        .chain(change.members.iter().map(|m| shown(&m.key)))
        .collect();
    if !what.is_empty() {
        out.push_str(&format!(" ({})", what.join(", ")));
    }
    out
}

/// `"before" -> "after"`, or that the plan does not change the attribute.
fn attribute(a: Option<&AttrChange>) -> String {
    let Some(a) = a else {
        return "unchanged".into();
    };
    let value = |v: &Option<Json>| {
        v.as_ref()
            .map_or("(absent)".to_string(), |v| shown(&v.to_string()))
    };
    format!("{} -> {}", value(&a.before), value(&a.after))
}

fn deprovision_with(d: DeprovisionWith) -> &'static str {
    match d {
        DeprovisionWith::Deactivate => "deactivate",
        DeprovisionWith::Delete => "delete",
    }
}

/// Text that may come from the target, with control and invisible characters shown.
fn shown(s: &str) -> String {
    visible(s).into_owned()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::config::Config;
    use crate::plan::{Capabilities, Live, LiveGroup, LiveUser, Scope, plan};

    const SETTINGS: &str = "version: 1\n";
    const USERS: &str = "users:
  - userPrincipalName: a@x.io
    jobTitle: Lead
  - userPrincipalName: b@x.io
    jobTitle: Engineer
  - userPrincipalName: c@x.io
    jobTitle: Engineer
";
    const GROUPS: &str = "groups:\n  - displayName: T\n    members: [a@x.io, b@x.io]\n";

    fn config(settings: &str, users: &str, groups: &str) -> Config {
        let (config, report) = crate::config::from_texts(
            settings,
            &[("users/u.yaml", users)],
            &[("groups/g.yaml", groups)],
        );
        config.unwrap_or_else(|| panic!("{report:?}"))
    }

    /// a, b and c live as Engineers; T has a.
    fn live() -> Live {
        let user = |id: &str, name: &str, title: &str| {
            LiveUser::from_resource(
                json!({ "id": id, "userName": name, "title": title, "active": true }),
            )
            .unwrap()
        };
        let team = json!({ "id": "9", "displayName": "T", "members": [{ "value": "1" }] });
        Live {
            users: vec![
                user("1", "a@x.io", "Engineer"),
                user("2", "b@x.io", "Engineer"),
                user("3", "c@x.io", "Engineer"),
            ],
            groups: vec![LiveGroup::from_resource(team).unwrap()],
            complete: true,
            reported_users: None,
        }
    }

    fn planned(config: &Config, live: &Live) -> (Plan, Declarations) {
        let p = plan(config, live, Capabilities::ASANA, &Scope::default());
        (p, Declarations::of(config))
    }

    /// The reviewed plan (from USERS and GROUPS against [`live`]) against a fresh one.
    fn against(config_now: &Config, live_now: &Live) -> Comparison {
        let (saved, saved_d) = planned(&config(SETTINGS, USERS, GROUPS), &live());
        let (fresh, fresh_d) = planned(config_now, live_now);
        compare(&saved, &saved_d, &fresh, &fresh_d)
    }

    fn texts(c: &Comparison) -> Vec<String> {
        c.differences.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn issue13_the_same_world_gives_no_difference() {
        let c = against(&config(SETTINGS, USERS, GROUPS), &live());
        assert_eq!(
            c,
            Comparison {
                differences: vec![],
                drift: vec![]
            }
        );
        // Written otherwise (order, comments, members listed in another order): the same.
        let reordered = config(
            "version: 1  # reviewed\n",
            "users:\n  - userPrincipalName: c@x.io\n    jobTitle: Engineer\n  - userPrincipalName: b@x.io\n    jobTitle: Engineer\n  - userPrincipalName: a@x.io\n    jobTitle: Lead\n",
            "groups:\n  - displayName: T\n    members: [b@x.io, a@x.io]\n",
        );
        assert_eq!(against(&reordered, &live()).differences, vec![]);
    }

    #[test]
    fn issue13_a_reviewed_change_that_changed_is_named_with_its_values() {
        let c = against(
            &config(SETTINGS, &USERS.replace("Lead", "Manager"), GROUPS),
            &live(),
        );
        assert_eq!(
            c.differences,
            vec![Difference::Changed {
                address: r#"user["a@x.io"]"#.into(),
                action: Action::Update,
                details: vec![Detail::Attribute {
                    path: "title".into(),
                    saved: Some(AttrChange {
                        path: "title".into(),
                        before: Some(json!("Engineer")),
                        after: Some(json!("Lead")),
                    }),
                    fresh: Some(AttrChange {
                        path: "title".into(),
                        before: Some(json!("Engineer")),
                        after: Some(json!("Manager")),
                    }),
                }],
            }]
        );
        assert_eq!(
            texts(&c),
            [
                r#"user["a@x.io"] update: differs from the reviewed plan: title reviewed "Engineer" -> "Lead", now "Engineer" -> "Manager""#
            ]
        );
    }

    #[test]
    fn issue13_a_reviewed_change_that_is_gone_is_missing() {
        let c = against(
            &config(SETTINGS, &USERS.replace("Lead", "Engineer"), GROUPS),
            &live(),
        );
        assert_eq!(
            texts(&c),
            [r#"user["a@x.io"] update: in the reviewed plan, and not in a fresh plan"#]
        );
        assert!(matches!(&c.differences[0], Difference::Missing(ch) if ch.key == "a@x.io"));
    }

    #[test]
    fn issue13_a_users_other_action_is_one_difference() {
        let users = USERS.replace(
            "    jobTitle: Lead\n",
            "    jobTitle: Lead\n    accountEnabled: false\n",
        );
        let c = against(&config(SETTINGS, &users, GROUPS), &live());
        let action = c.differences.iter().find_map(|d| match d {
            Difference::Action { saved, fresh } => Some((saved.action, fresh.action)),
            _ => None,
        });
        assert_eq!(action, Some((Action::Update, Action::Deprovision)));
        assert!(
            texts(&c).contains(
                &r#"user["a@x.io"]: the reviewed plan has `update`, and a fresh plan `deprovision`"#
                    .to_string()
            ),
            "{:#?}",
            texts(&c)
        );
    }

    #[test]
    fn issue13_an_added_change_from_an_edited_declaration_is_refused_with_its_cause() {
        // c gets a new title: a change the reviewed plan does not have, from c's declaration.
        let users = USERS.replace(
            "  - userPrincipalName: c@x.io\n    jobTitle: Engineer\n",
            "  - userPrincipalName: c@x.io\n    jobTitle: Designer\n",
        );
        let c = against(&config(SETTINGS, &users, GROUPS), &live());
        assert_eq!(
            texts(&c),
            [
                r#"user["c@x.io"] update: only in a fresh plan, because the declaration of user["c@x.io"] changed since the plan"#
            ]
        );
        assert!(c.drift.is_empty());
        // A user added to the config, and a team member added to T.
        let users = format!("{USERS}  - userPrincipalName: d@x.io\n");
        let groups = "groups:\n  - displayName: T\n    members: [a@x.io, b@x.io, c@x.io]\n";
        let c = against(&config(SETTINGS, &users, groups), &live());
        let added: Vec<(String, Vec<Cause>)> = (c.differences.iter())
            .filter_map(|d| match d {
                Difference::Added { change, causes } => Some((change.address(), causes.clone())),
                _ => None,
            })
            .collect();
        assert_eq!(
            added,
            [(
                r#"user["d@x.io"]"#.to_string(),
                vec![Cause::Declaration {
                    address: r#"user["d@x.io"]"#.into(),
                    edit: Edit::Added
                }]
            )]
        );
        // T's reviewed add_members (b) is now b and c: the reviewed change differs.
        assert!(
            texts(&c).iter().any(|t| t
                == r#"group["T"] add_members: differs from the reviewed plan: members only in the reviewed plan: none; only in a fresh plan: c@x.io"#),
            "{:#?}",
            texts(&c)
        );
    }

    #[test]
    fn issue13_an_added_change_from_drift_alone_is_drift() {
        // Someone changed c's title in the target; c's declaration is as planned.
        let mut now = live();
        now.users[2] = LiveUser::from_resource(
            json!({ "id": "3", "userName": "c@x.io", "title": "Intern", "active": true }),
        )
        .unwrap();
        let c = against(&config(SETTINGS, USERS, GROUPS), &now);
        assert_eq!(c.differences, vec![]);
        assert_eq!(c.drift.len(), 1);
        assert_eq!(describe(&c.drift[0]), r#"user["c@x.io"] update (title)"#);
        // The same drift with roster.yaml's mappings changed is the config's doing.
        let settings = "version: 1\npolicy:\n  protected: [\"nobody@x.io\"]\n";
        let c = against(&config(settings, USERS, GROUPS), &now);
        assert_eq!(
            texts(&c),
            [
                r#"user["c@x.io"] update: only in a fresh plan, because roster.yaml's mappings or policy changed since the plan"#
            ]
        );
    }

    #[test]
    fn issue13_a_removed_declaration_is_a_cause_and_a_new_live_user_is_drift() {
        let deprovision = "version: 1\npolicy:\n  unmanaged: deprovision\n";
        let reviewed = config(deprovision, USERS, GROUPS);
        let (saved, saved_d) = planned(&reviewed, &live());
        // c's declaration removed: its deprovision comes from the config.
        let users = USERS.replace(
            "  - userPrincipalName: c@x.io\n    jobTitle: Engineer\n",
            "",
        );
        let (fresh, fresh_d) = planned(&config(deprovision, &users, GROUPS), &live());
        let c = compare(&saved, &saved_d, &fresh, &fresh_d);
        assert_eq!(
            texts(&c),
            [
                r#"user["c@x.io"] deprovision: only in a fresh plan, because the declaration of user["c@x.io"] was removed since the plan"#
            ]
        );
        // A user nobody declared, created in the target since: drift.
        let mut now = live();
        now.users.push(
            LiveUser::from_resource(json!({ "id": "4", "userName": "z@x.io", "active": true }))
                .unwrap(),
        );
        let (fresh, fresh_d) = planned(&reviewed, &now);
        let c = compare(&saved, &saved_d, &fresh, &fresh_d);
        assert_eq!(c.differences, vec![]);
        assert_eq!(describe(&c.drift[0]), r#"user["z@x.io"] deprovision"#);
    }

    #[test]
    fn issue13_a_team_change_from_a_members_declaration_is_the_configs() {
        // Someone removed a from T in the target: a drift add, unless a's declaration changed.
        let mut now = live();
        now.groups[0] = LiveGroup::from_resource(json!({ "id": "9", "displayName": "T" })).unwrap();
        let c = against(&config(SETTINGS, USERS, GROUPS), &now);
        // The reviewed add (b) is now an add of a and b: it differs.
        assert_eq!(c.differences.len(), 1, "{:#?}", texts(&c));
        assert!(matches!(
            &c.differences[0],
            Difference::Changed {
                action: Action::AddMembers,
                ..
            }
        ));
        // A new remove_members on T (someone added c in the target): drift while c's
        // declaration is as planned, the config's once it is not.
        let mut now = live();
        now.groups[0] = LiveGroup::from_resource(
            json!({ "id": "9", "displayName": "T", "members": [{ "value": "1" }, { "value": "3" }] }),
        )
        .unwrap();
        let c = against(&config(SETTINGS, USERS, GROUPS), &now);
        assert_eq!(c.differences, vec![]);
        assert_eq!(
            describe(&c.drift[0]),
            r#"group["T"] remove_members (c@x.io)"#
        );
        let users = USERS.replace(
            "  - userPrincipalName: c@x.io\n    jobTitle: Engineer\n",
            "  - userPrincipalName: c@x.io\n    jobTitle: Engineer\n    city: Delft\n",
        );
        let c = against(&config(SETTINGS, &users, GROUPS), &now);
        assert!(
            texts(&c).iter().any(|t| t
                == r#"group["T"] remove_members: only in a fresh plan, because the declaration of user["c@x.io"] changed since the plan"#),
            "{:#?}",
            texts(&c)
        );
    }

    #[test]
    fn issue13_another_id_and_another_way_to_deprovision_are_differences() {
        let users = USERS.replace(
            "    jobTitle: Lead\n",
            "    jobTitle: Lead\n    accountEnabled: false\n",
        );
        let reviewed = config(SETTINGS, &users, GROUPS);
        let (saved, saved_d) = planned(&reviewed, &live());
        let mut fresh = saved.clone();
        fresh.deprovision_with = DeprovisionWith::Delete;
        fresh.changes[0].id = Some("77".into());
        let c = compare(&saved, &saved_d, &fresh, &saved_d);
        assert_eq!(
            texts(&c),
            [
                "the reviewed plan deprovisions with `deactivate`, and roster.yaml now says `delete`",
                &format!(
                    "{} {}: differs from the reviewed plan: id reviewed {}, now 77",
                    saved.changes[0].address(),
                    saved.changes[0].action.as_str(),
                    saved.changes[0].id.as_deref().unwrap()
                ),
            ]
        );
    }

    #[test]
    fn issue13_reasons_and_sources_are_not_compared() {
        let (saved, d) = planned(&config(SETTINGS, USERS, GROUPS), &live());
        let mut fresh = saved.clone();
        for c in &mut fresh.changes {
            c.reason = Some("worded otherwise".into());
            c.source = Some(crate::plan::source::Source {
                object: "yaml".into(),
                attributes: Default::default(),
            });
        }
        fresh.warnings.push("a new warning".into());
        assert_eq!(compare(&saved, &d, &fresh, &d).differences, vec![]);
    }
}
