//! Planner tests: (config text, live resources) -> plan, checked change by change.

use serde_json::{Value as Json, json};

use super::*;
use crate::config;
use crate::scim::ENTERPRISE_USER;

const SETTINGS: &str = "version: 1\npolicy: { max_deprovisions: { count: 2, percent: 50 } }\n";

fn config_with(settings: &str, users: &str, groups: &str) -> Config {
    let groups = if groups.is_empty() {
        vec![]
    } else {
        vec![("groups/g.yaml", groups)]
    };
    let (config, report) = config::from_texts(settings, &[("users/u.yaml", users)], &groups);
    config.unwrap_or_else(|| panic!("invalid test config: {:#?}", report.diagnostics))
}

fn live_user(id: &str, user_name: &str, extra: Json) -> LiveUser {
    let mut resource = json!({ "id": id, "userName": user_name, "active": true });
    if let (Some(r), Json::Object(extra)) = (resource.as_object_mut(), extra) {
        r.extend(extra);
    }
    LiveUser::from_resource(resource).unwrap()
}

fn live(users: Vec<LiveUser>, groups: Vec<Json>) -> Live {
    Live {
        users,
        groups: groups
            .into_iter()
            .map(|g| LiveGroup::from_resource(g).unwrap())
            .collect(),
        complete: true,
        reported_users: None,
    }
}

fn run(config: &Config, live: &Live) -> Plan {
    plan(config, live, Capabilities::ASANA, &Scope::default())
}

const ALICE: &str = "users:\n  - userPrincipalName: alice@example.com\n    displayName: Alice Smith\n    jobTitle: Staff Engineer\n";

#[test]
fn a_new_user_is_created_with_every_mapped_attribute() {
    let p = run(&config_with(SETTINGS, ALICE, ""), &live(vec![], vec![]));
    assert_eq!(p.changes.len(), 1);
    let c = &p.changes[0];
    assert_eq!(
        (c.action, c.address().as_str()),
        (Action::Create, r#"user["alice@example.com"]"#)
    );
    let paths: Vec<&str> = c.attributes.iter().map(|a| a.path.as_str()).collect();
    assert_eq!(paths, ["active", "name.formatted", "title", "userName"]);
    assert!(c.attributes.iter().all(|a| a.before.is_none()));
    assert_eq!(p.summary.create, 1);
}

#[test]
fn an_unchanged_user_is_a_no_op_and_username_case_does_not_matter() {
    let l = live(
        vec![live_user(
            "1",
            "Alice@Example.COM",
            json!({ "name": { "formatted": "Alice Smith" }, "title": "Staff Engineer" }),
        )],
        vec![],
    );
    let p = run(&config_with(SETTINGS, ALICE, ""), &l);
    assert!(p.changes.is_empty(), "{:#?}", p.changes);
    assert_eq!(p.summary.no_op, 1);
}

#[test]
fn changed_attributes_are_updates_attribute_by_attribute() {
    let l = live(
        vec![live_user(
            "1",
            "alice@example.com",
            json!({ "name": { "formatted": "Alice S." }, "title": "Engineer" }),
        )],
        vec![],
    );
    let p = run(&config_with(SETTINGS, ALICE, ""), &l);
    assert_eq!(p.changes.len(), 1);
    let c = &p.changes[0];
    assert_eq!((c.action, c.id.as_deref()), (Action::Update, Some("1")));
    assert_eq!(
        c.attributes,
        vec![
            AttrChange {
                path: "name.formatted".into(),
                before: Some(json!("Alice S.")),
                after: Some(json!("Alice Smith"))
            },
            AttrChange {
                path: "title".into(),
                before: Some(json!("Engineer")),
                after: Some(json!("Staff Engineer"))
            },
        ]
    );
}

#[test]
fn a_changed_email_is_an_update_never_a_delete_and_create() {
    let users =
        "users:\n  - userPrincipalName: alice@example.com\n    mail: alice.smith@example.com\n";
    let l = live(
        vec![live_user(
            "1",
            "alice@example.com",
            json!({ "emails": [{ "type": "work", "value": "alice@example.com", "primary": true }] }),
        )],
        vec![],
    );
    let p = run(&config_with(SETTINGS, users, ""), &l);
    assert_eq!(p.changes.len(), 1);
    assert_eq!(p.changes[0].action, Action::Update);
    assert_eq!(
        p.changes[0].attributes[0].path,
        r#"emails[type eq "work"].value"#
    );
    assert_eq!(p.summary.deprovision + p.summary.create, 0);
}

#[test]
fn disabled_users_are_deprovisioned_once_and_protected_users_never() {
    let settings = "version: 1\npolicy: { protected: [\"svc-*@example.com\"] }\n";
    let users = "users:\n  - userPrincipalName: bob@example.com\n    accountEnabled: false\n  - userPrincipalName: svc-ci@example.com\n    accountEnabled: false\n  - userPrincipalName: gone@example.com\n    accountEnabled: false\n  - userPrincipalName: never@example.com\n    accountEnabled: false\n";
    let mut gone = live_user("3", "gone@example.com", json!({}));
    gone.active = false;
    let l = live(
        vec![
            live_user("1", "bob@example.com", json!({})),
            live_user("2", "svc-ci@example.com", json!({})),
            gone,
        ],
        vec![],
    );
    let p = run(&config_with(settings, users, ""), &l);
    let actions: Vec<(&str, Action)> = p
        .changes
        .iter()
        .map(|c| (c.key.as_str(), c.action))
        .collect();
    assert_eq!(actions, [("bob@example.com", Action::Deprovision)]);
    assert!(
        p.warnings
            .iter()
            .any(|w| w.contains("svc-ci@example.com") && w.contains("protected")),
        "{:?}",
        p.warnings
    );
}

#[test]
fn asana_cannot_reactivate_so_the_plan_warns_instead() {
    let mut zombie = live_user("1", "alice@example.com", json!({}));
    zombie.active = false;
    let config = config_with(SETTINGS, ALICE, "");
    let p = run(&config, &live(vec![zombie.clone()], vec![]));
    assert!(p.changes.is_empty());
    assert!(
        p.warnings[0].contains("cannot reactivate"),
        "{:?}",
        p.warnings
    );
    // A target that can reactivate gets a reactivate change.
    let p = plan(
        &config,
        &live(vec![zombie], vec![]),
        Capabilities { reactivate: true },
        &Scope::default(),
    );
    assert_eq!(p.changes[0].action, Action::Reactivate);
    assert_eq!(
        p.changes[0].attributes[0],
        AttrChange {
            path: "active".into(),
            before: Some(json!(false)),
            after: Some(json!(true))
        }
    );
}

#[test]
fn a_deprovisioned_user_asana_cannot_reactivate_is_not_added_to_teams() {
    // Asana refuses a deprovisioned user as a team member: planning the add made every apply
    // fail on the team and every plan show it again.
    let users = "users:\n  - userPrincipalName: alice@example.com\n  - userPrincipalName: bob@example.com\n";
    let groups = "groups:\n  - displayName: Platform\n    members: [alice@example.com, bob@example.com]\n  - displayName: Design\n    members: [alice@example.com]\n";
    let mut zombie = live_user("1", "alice@example.com", json!({}));
    zombie.active = false;
    let l = live(
        vec![zombie, live_user("2", "bob@example.com", json!({}))],
        vec![json!({ "id": 50, "displayName": "Platform", "members": [{ "value": "2" }] })],
    );
    let config = config_with(SETTINGS, users, groups);
    let p = run(&config, &l);
    let addresses: Vec<(String, Action)> =
        p.changes.iter().map(|c| (c.address(), c.action)).collect();
    assert_eq!(
        addresses,
        [(r#"group["Design"]"#.to_string(), Action::Create)],
        "{:#?}",
        p.changes
    );
    assert!(p.changes[0].members.is_empty());
    assert_eq!(p.reactivation_blocked, ["alice@example.com"]);
    // A target that can reactivate her gets her back into both teams.
    let p = plan(
        &config,
        &l,
        Capabilities { reactivate: true },
        &Scope::default(),
    );
    let members: Vec<(String, Action, usize)> = p
        .changes
        .iter()
        .map(|c| (c.address(), c.action, c.members.len()))
        .collect();
    assert_eq!(
        members,
        [
            (
                r#"user["alice@example.com"]"#.to_string(),
                Action::Reactivate,
                0
            ),
            (r#"group["Design"]"#.to_string(), Action::Create, 1),
            (r#"group["Platform"]"#.to_string(), Action::AddMembers, 1),
        ]
    );
}

#[test]
fn unmanaged_users_follow_the_policy() {
    let l = || {
        live(
            vec![
                live_user(
                    "1",
                    "alice@example.com",
                    json!({ "name": { "formatted": "Alice Smith" }, "title": "Staff Engineer" }),
                ),
                live_user("2", "carol@example.com", json!({})),
                live_user("3", "svc-x@example.com", json!({})),
            ],
            vec![],
        )
    };
    let with = |policy: &str| {
        format!(
            "version: 1\npolicy: {{ unmanaged: {policy}, protected: [\"svc-*@example.com\"] }}\n"
        )
    };
    let p = run(&config_with(&with("ignore"), ALICE, ""), &l());
    assert!(p.unmanaged.is_empty() && p.changes.is_empty());
    let p = run(&config_with(&with("report"), ALICE, ""), &l());
    assert_eq!(
        p.unmanaged,
        vec![UnmanagedUser {
            key: "carol@example.com".into(),
            id: "2".into()
        }]
    );
    assert!(p.changes.is_empty());
    let p = run(&config_with(&with("deprovision"), ALICE, ""), &l());
    assert_eq!(p.changes.len(), 1);
    assert_eq!(
        (p.changes[0].key.as_str(), p.changes[0].action),
        ("carol@example.com", Action::Deprovision)
    );
    assert!(
        p.changes[0]
            .reason
            .as_deref()
            .unwrap()
            .contains("not declared")
    );
    // Under --changed-since the live set is partial: unmanaged users cannot be known.
    let mut partial = l();
    partial.complete = false;
    let p = run(&config_with(&with("deprovision"), ALICE, ""), &partial);
    assert!(p.changes.is_empty() && !p.unmanaged_checked);
}

#[test]
fn deprovision_caps_are_evaluated_and_explained() {
    let settings = "version: 1\npolicy: { unmanaged: deprovision, max_deprovisions: { count: 2, percent: 90 } }\n";
    let users: Vec<LiveUser> = (0..4)
        .map(|i| live_user(&i.to_string(), &format!("u{i}@example.com"), json!({})))
        .collect();
    let p = run(&config_with(settings, ALICE, ""), &live(users, vec![]));
    let gate = &p.deprovision_gate;
    assert_eq!((gate.count, gate.live_active, gate.exceeded), (4, 4, true));
    assert!(
        gate.message()
            .unwrap()
            .ends_with("apply will refuse without --allow-deprovisions 4"),
        "{:?}",
        gate.message()
    );
    let p = run(
        &config_with(settings, "users: []\n", ""),
        &live(vec![live_user("1", "u@example.com", json!({}))], vec![]),
    );
    assert!(p.deprovision_gate.empty_desired);
    assert!(
        p.deprovision_gate
            .message()
            .unwrap()
            .contains("declares no users")
    );
}

#[test]
fn managers_resolve_to_live_users_and_show_by_username() {
    let users = "users:\n  - userPrincipalName: bob@example.com\n  - userPrincipalName: alice@example.com\n    manager: bob@example.com\n  - userPrincipalName: carl@example.com\n    manager: dora@example.com\n  - userPrincipalName: dora@example.com\n";
    let l = live(
        vec![
            live_user("10", "bob@example.com", json!({})),
            live_user(
                "11",
                "alice@example.com",
                json!({ ENTERPRISE_USER: { "manager": { "value": "99" } } }),
            ),
            live_user("12", "carl@example.com", json!({})),
        ],
        vec![],
    );
    let p = run(&config_with(SETTINGS, users, ""), &l);
    let alice = p
        .changes
        .iter()
        .find(|c| c.key == "alice@example.com")
        .unwrap();
    let manager = format!("{ENTERPRISE_USER}:manager");
    assert_eq!(
        alice.attributes,
        vec![AttrChange {
            path: manager.clone(),
            before: Some(json!("99")),
            after: Some(json!("bob@example.com"))
        }]
    );
    // dora is created in this plan: carl's manager is set once she exists.
    let carl = p
        .changes
        .iter()
        .find(|c| c.key == "carl@example.com")
        .unwrap();
    assert_eq!(carl.attributes[0].after, Some(json!("dora@example.com")));
    // Once the manager is right, nothing changes.
    let l = live(
        vec![
            live_user("10", "bob@example.com", json!({})),
            live_user(
                "11",
                "alice@example.com",
                json!({ ENTERPRISE_USER: { "manager": { "value": "10" } } }),
            ),
        ],
        vec![],
    );
    let users = "users:\n  - userPrincipalName: bob@example.com\n  - userPrincipalName: alice@example.com\n    manager: bob@example.com\n";
    assert!(
        run(&config_with(SETTINGS, users, ""), &l)
            .changes
            .is_empty()
    );
}

#[test]
fn a_manager_who_will_not_exist_is_not_referred_to() {
    // Regression: a disabled manager who is not in Asana is never created, yet the plan set it
    // as the manager of its reports, whose changes then failed ("has no Asana id") on every apply.
    let users = "users:\n  - userPrincipalName: ann@example.com\n    jobTitle: Engineer\n    manager: max@example.com\n  - userPrincipalName: bea@example.com\n    manager: max@example.com\n  - userPrincipalName: max@example.com\n    accountEnabled: false\n";
    let config = config_with(SETTINGS, users, "");
    let l = live(vec![live_user("1", "bea@example.com", json!({}))], vec![]);
    let p = run(&config, &l);
    let rows: Vec<(&str, Action, Vec<&str>)> = p
        .changes
        .iter()
        .map(|c| {
            let paths = c.attributes.iter().map(|a| a.path.as_str()).collect();
            (c.key.as_str(), c.action, paths)
        })
        .collect();
    assert_eq!(
        rows,
        vec![(
            "ann@example.com",
            Action::Create,
            vec!["active", "title", "userName"]
        )]
    );
    let warned: Vec<&String> = p
        .warnings
        .iter()
        .filter(|w| w.contains("its manager `max@example.com` is not in Asana"))
        .collect();
    assert_eq!(warned.len(), 2, "{:?}", p.warnings);
    // Once max exists (here: deprovisioned), the reference resolves again.
    let mut max = live_user("9", "max@example.com", json!({}));
    max.active = false;
    let l = live(
        vec![live_user("1", "bea@example.com", json!({})), max],
        vec![],
    );
    let bea = run(&config, &l)
        .changes
        .into_iter()
        .find(|c| c.key == "bea@example.com")
        .unwrap();
    assert_eq!(bea.attributes[0].after, Some(json!("max@example.com")));
}

#[test]
fn team_membership_is_reconciled() {
    let users = "users:\n  - userPrincipalName: alice@example.com\n  - userPrincipalName: bob@example.com\n  - userPrincipalName: new@example.com\n";
    let groups = "groups:\n  - displayName: Platform\n    members: [alice@example.com, new@example.com]\n  - displayName: Design\n    members: [bob@example.com]\n";
    let l = live(
        vec![
            live_user("1", "alice@example.com", json!({})),
            live_user("2", "bob@example.com", json!({})),
            live_user("3", "stranger@example.com", json!({})),
        ],
        vec![
            json!({ "id": 50, "displayName": "platform", "members": [{ "value": "2" }, { "value": "3" }] }),
        ],
    );
    let p = run(&config_with(SETTINGS, users, groups), &l);
    type Row<'a> = (&'a str, Action, Vec<(&'a str, Option<&'a str>)>);
    let groups: Vec<Row> = p
        .changes
        .iter()
        .filter(|c| c.kind == Kind::Group)
        .map(|c| {
            (
                c.key.as_str(),
                c.action,
                c.members
                    .iter()
                    .map(|m| (m.key.as_str(), m.id.as_deref()))
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        groups,
        vec![
            (
                "Design",
                Action::Create,
                vec![("bob@example.com", Some("2"))]
            ),
            (
                "Platform",
                Action::AddMembers,
                vec![("alice@example.com", Some("1")), ("new@example.com", None)]
            ),
            (
                "Platform",
                Action::RemoveMembers,
                vec![
                    ("bob@example.com", Some("2")),
                    ("stranger@example.com", Some("3"))
                ]
            ),
        ]
    );
    assert_eq!(
        p.changes
            .iter()
            .find(|c| c.action == Action::AddMembers)
            .unwrap()
            .id
            .as_deref(),
        Some("50")
    );
}

#[test]
fn a_deprovisioned_member_asana_cannot_reactivate_is_not_added_to_teams() {
    // Regression: the plan added a declared member who is deprovisioned in Asana; Asana refuses
    // deprovisioned users as members, so the team change failed on every apply.
    let users = "users:\n  - userPrincipalName: alice@example.com\n  - userPrincipalName: zed@example.com\n";
    let groups = "groups:\n  - displayName: Platform\n    members: [alice@example.com, zed@example.com]\n  - displayName: Design\n    members: [zed@example.com]\n";
    let mut zed = live_user("2", "zed@example.com", json!({}));
    zed.active = false;
    let l = live(
        vec![live_user("1", "alice@example.com", json!({})), zed],
        vec![json!({ "id": 50, "displayName": "Platform", "members": [] })],
    );
    let config = config_with(SETTINGS, users, groups);
    let p = run(&config, &l);
    let teams: Vec<(&str, Action, Vec<&str>)> = p
        .changes
        .iter()
        .filter(|c| c.kind == Kind::Group)
        .map(|c| {
            let members = c.members.iter().map(|m| m.key.as_str()).collect();
            (c.key.as_str(), c.action, members)
        })
        .collect();
    assert_eq!(
        teams,
        vec![
            ("Design", Action::Create, vec![]),
            ("Platform", Action::AddMembers, vec!["alice@example.com"]),
        ]
    );
    assert!(p.warnings.iter().any(|w| w.contains("cannot reactivate")));
    // A target that reactivates the user first may add it.
    let p = plan(
        &config,
        &l,
        Capabilities { reactivate: true },
        &Scope::default(),
    );
    let design = p.changes.iter().find(|c| c.key == "Design").unwrap();
    assert_eq!(design.members[0].key, "zed@example.com");
}

#[test]
fn scope_limits_the_plan_to_changed_objects() {
    let users =
        "users:\n  - userPrincipalName: a@example.com\n  - userPrincipalName: b@example.com\n";
    let scope = Scope {
        users: Some(["b@example.com".to_string()].into()),
        groups: Some(Default::default()),
        ..Scope::default()
    };
    let l = Live {
        complete: false,
        ..live(vec![], vec![])
    };
    let p = plan(
        &config_with(SETTINGS, users, ""),
        &l,
        Capabilities::ASANA,
        &scope,
    );
    let keys: Vec<&str> = p.changes.iter().map(|c| c.key.as_str()).collect();
    assert_eq!(keys, ["b@example.com"]);
}

#[test]
fn the_plan_is_deterministic() {
    let users =
        "users:\n  - userPrincipalName: z@example.com\n  - userPrincipalName: a@example.com\n";
    let c = config_with(SETTINGS, users, "");
    let a = run(&c, &live(vec![], vec![]));
    let b = run(&c, &live(vec![], vec![]));
    assert_eq!(a, b);
    assert_eq!(a.changes[0].key, "a@example.com");
}

// ---- names as Unicode (issue 11, item 8 and the low item on ambiguous live matches) -----------

const JOSE_NFC: &str = "jos\u{e9}@example.com";
const JOSE_NFD: &str = "jose\u{301}@example.com";

#[test]
fn item8_names_match_across_normal_forms_in_references_teams_and_scope() {
    // Declared NFD everywhere (the user, a manager reference, a team member, the scope); live
    // NFC. Everything resolves to the one live user.
    let users = format!(
        "users:\n  - userPrincipalName: \"{JOSE_NFD}\"\n  - userPrincipalName: ann@example.com\n    \
         manager: \"{}\"\n",
        JOSE_NFD.to_uppercase()
    );
    let groups = format!("groups:\n  - displayName: Platform\n    members: [\"{JOSE_NFD}\"]\n");
    let l = live(
        vec![
            live_user("1", JOSE_NFC, json!({})),
            live_user("2", "ann@example.com", json!({})),
        ],
        vec![json!({ "id": 50, "displayName": "Platform", "members": [{ "value": "1" }] })],
    );
    let config = config_with(SETTINGS, &users, &groups);
    let p = run(&config, &l);
    let actions: Vec<String> = p
        .changes
        .iter()
        .map(|c| format!("{} {:?}", c.address(), c.action))
        .collect();
    assert_eq!(
        actions,
        [r#"user["ann@example.com"] Update"#],
        "{:#?}",
        p.changes
    );
    let manager = &p.changes[0].attributes[0];
    assert_eq!(manager.after, Some(Json::String(JOSE_NFC.into())));
    assert_eq!(p.references.get(JOSE_NFC).map(String::as_str), Some("1"));
    // A scope key in either form selects the user.
    let scope = Scope {
        users: Some([JOSE_NFD.to_uppercase()].into()),
        groups: Some(Default::default()),
        ..Scope::default()
    };
    let l = Live {
        complete: false,
        ..l
    };
    let p = plan(&config, &l, Capabilities::ASANA, &scope);
    assert!(p.changes.is_empty(), "{:#?}", p.changes);
    assert_eq!(p.summary.no_op, 1);
}

#[test]
fn low_an_ambiguous_live_match_is_not_acted_on_anywhere() {
    // Two live users share josé's key; the declaration disables josé, names him as ann's
    // manager and as a member of Platform, where both live users are members today.
    let settings = "version: 1\npolicy: { unmanaged: deprovision, max_deprovisions: { count: 9, percent: 100 } }\n";
    let users = format!(
        "users:\n  - userPrincipalName: \"{JOSE_NFC}\"\n    accountEnabled: false\n  \
         - userPrincipalName: ann@example.com\n    manager: \"{JOSE_NFC}\"\n"
    );
    let groups = format!(
        "groups:\n  - displayName: Platform\n    members: [\"{JOSE_NFC}\", ann@example.com]\n"
    );
    let l = live(
        vec![
            live_user("1", JOSE_NFC, json!({})),
            live_user("2", JOSE_NFD, json!({})),
            live_user("3", "ann@example.com", json!({})),
            live_user("4", "zed@example.com", json!({})),
        ],
        vec![
            json!({ "id": 50, "displayName": "Platform", "members": [{ "value": "1" }, { "value": "2" }] }),
        ],
    );
    let p = run(&config_with(settings, &users, &groups), &l);
    let actions: Vec<String> = p
        .changes
        .iter()
        .map(|c| {
            let ids: Vec<_> = c.members.iter().filter_map(|m| m.id.as_deref()).collect();
            format!("{} {:?} {ids:?}", c.address(), c.action)
        })
        .collect();
    // ann joins Platform; zed (undeclared) is deprovisioned; josé: no deprovision, neither live
    // user is unmanaged or removed from the team, and no manager is sent for ann.
    assert_eq!(
        actions,
        [
            r#"user["zed@example.com"] Deprovision []"#,
            r#"group["Platform"] AddMembers ["3"]"#,
        ],
        "{:#?}",
        p.changes
    );
    let warnings = p.warnings.join("\n");
    assert!(
        warnings.contains(&format!(
            // Debug-quoted, so the two spellings read differently: `jose\u{{301}}`.
            "user[\"{JOSE_NFC}\"] matches 2 live users: 1 ({JOSE_NFC:?}), 2 ({JOSE_NFD:?})"
        )),
        "{warnings}"
    );
    assert!(
        warnings.contains(&format!(
            "its manager `{JOSE_NFC}` matches several live users"
        )),
        "{warnings}"
    );
}

// ---- expiring access (issue 14) -----------------------------------------------------------

/// Seconds since the epoch of an RFC 3339 timestamp, for readable tests.
fn at(text: &str) -> i64 {
    crate::civil_time::parse_rfc3339(text).unwrap()
}

fn run_at(config: &Config, live: &Live, when: &str) -> Plan {
    let scope = Scope {
        at: at(when),
        ..Scope::default()
    };
    plan(config, live, Capabilities::ASANA, &scope)
}

fn one_user(expires: &str) -> Config {
    config_with(
        SETTINGS,
        &format!("users:\n  - userPrincipalName: a@x.io\n    expires: {expires}\n"),
        "",
    )
}

#[test]
fn issue14_expiry_before_at_and_after_the_instant_in_every_form() {
    let l = live(vec![live_user("1", "a@x.io", json!({}))], vec![]);
    // (expires, planned at, deprovisioned)
    let cases = [
        // A date is access through the end of that day, in UTC.
        ("2026-03-01", "2026-02-28T12:00:00Z", false),
        ("2026-03-01", "2026-03-01T23:59:59Z", false),
        ("2026-03-01", "2026-03-02T00:00:00Z", true),
        ("2026-03-01", "2026-03-01T23:30:00-01:00", true),
        ("2026-03-01", "2026-03-02T00:30:00+01:00", false),
        ("'2026-03-01'", "2027-01-01T00:00:00Z", true),
        // A timestamp is that instant, in whatever offset it is written.
        ("2026-03-01T12:00:00+02:00", "2026-03-01T09:59:59Z", false),
        ("2026-03-01T12:00:00+02:00", "2026-03-01T10:00:00Z", true),
        ("2026-03-01T12:00:00-05:30", "2026-03-01T17:29:59Z", false),
        ("2026-03-01T12:00:00-05:30", "2026-03-01T17:30:00Z", true),
        ("2026-03-01T12:00:00Z", "2026-03-01T12:00:00+00:00", true),
        ("2026-03-01T12:00:00.5Z", "2026-03-01T12:00:00Z", false),
    ];
    for (expires, when, deprovisioned) in cases {
        let p = run_at(&one_user(expires), &l, when);
        let what = format!("expires {expires}, planned at {when}: {:#?}", p.changes);
        if deprovisioned {
            assert_eq!(p.changes.len(), 1, "{what}");
            let c = &p.changes[0];
            assert_eq!(c.action, Action::Deprovision, "{what}");
            let written = expires.trim_matches('\'');
            assert_eq!(c.reason.as_deref(), Some(&*format!("expired on {written}")));
            assert_eq!(p.summary.deprovision, 1);
            assert_eq!(p.seats.line(), "Seats: +0, \u{2212}1 (net \u{2212}1)");
        } else {
            assert!(p.changes.is_empty(), "{what}");
            assert_eq!(p.summary.no_op, 1, "{what}");
        }
        assert_eq!(p.evaluated_at, at(when));
    }
}

#[test]
fn issue14_an_expired_user_is_neither_created_nor_added_to_a_team_and_the_gates_count_it() {
    let users = "users:\n  - userPrincipalName: a@x.io\n    expires: 2026-03-01\n  - userPrincipalName: b@x.io\n    expires: 2026-03-01\n  - userPrincipalName: c@x.io\n";
    let groups = "groups:\n  - displayName: T\n    members: [a@x.io, b@x.io, c@x.io]\n";
    let config = config_with(
        "version: 1\npolicy: { max_deprovisions: { count: 0 } }\n",
        users,
        groups,
    );
    let l = live(
        vec![live_user("2", "b@x.io", json!({}))],
        vec![json!({ "id": "9", "displayName": "T", "members": [{ "value": "2" }] })],
    );
    let before = run_at(&config, &l, "2026-03-01T08:00:00Z");
    let actions: Vec<(String, Action)> = (before.changes.iter())
        .map(|c| (c.address(), c.action))
        .collect();
    assert_eq!(
        actions,
        [
            (r#"user["a@x.io"]"#.into(), Action::Create),
            (r#"user["c@x.io"]"#.into(), Action::Create),
            (r#"group["T"]"#.into(), Action::AddMembers),
        ]
    );
    assert_eq!(before.seats.line(), "Seats: +2, \u{2212}0 (net +2)");
    let after = run_at(&config, &l, "2026-03-02T08:00:00Z");
    let actions: Vec<(String, Action)> = (after.changes.iter())
        .map(|c| (c.address(), c.action))
        .collect();
    assert_eq!(
        actions,
        [
            (r#"user["b@x.io"]"#.into(), Action::Deprovision),
            (r#"user["c@x.io"]"#.into(), Action::Create),
            (r#"group["T"]"#.into(), Action::AddMembers),
            (r#"group["T"]"#.into(), Action::RemoveMembers),
        ]
    );
    let add = &after.changes[2];
    assert_eq!(
        add.members
            .iter()
            .map(|m| m.key.as_str())
            .collect::<Vec<_>>(),
        ["c@x.io"]
    );
    // The deprovision gates hold for expiries as for any deprovision.
    assert!(after.deprovision_gate.exceeded);
    assert_eq!(after.deprovision_gate.count, 1);
}

#[test]
fn issue14_a_membership_that_ends_is_removed_and_nothing_else() {
    let users = "users:\n  - userPrincipalName: a@x.io\n  - userPrincipalName: b@x.io\n";
    let groups = "groups:\n  - displayName: T\n    members:\n      - a@x.io\n      - { user: B@x.io, expires: 2026-03-01 }\n  - displayName: U\n    members: [b@x.io]\n";
    let config = config_with(SETTINGS, users, groups);
    let l = live(
        vec![
            live_user("1", "a@x.io", json!({})),
            live_user("2", "b@x.io", json!({})),
        ],
        vec![
            json!({ "id": "9", "displayName": "T", "members": [{ "value": "1" }, { "value": "2" }] }),
            json!({ "id": "8", "displayName": "U", "members": [{ "value": "2" }] }),
        ],
    );
    let before = run_at(&config, &l, "2026-03-01T23:59:59Z");
    assert!(before.changes.is_empty(), "{:#?}", before.changes);
    assert_eq!(before.expiring.len(), 1);
    assert_eq!(before.expiring[0].address(), r#"group["T"]"#);
    assert_eq!(before.expiring[0].in_words(), "expires today");
    let after = run_at(&config, &l, "2026-03-02T00:00:00Z");
    assert_eq!(after.changes.len(), 1, "{:#?}", after.changes);
    let c = &after.changes[0];
    assert_eq!(
        (c.address().as_str(), c.action),
        (r#"group["T"]"#, Action::RemoveMembers)
    );
    assert_eq!(
        c.members.iter().map(|m| m.key.as_str()).collect::<Vec<_>>(),
        ["b@x.io"]
    );
    assert_eq!(
        c.reason.as_deref(),
        Some(r#"membership of "b@x.io" expired on 2026-03-01"#)
    );
    assert!(after.expiring.is_empty());
    assert_eq!(after.seats.line(), "Seats: +0, \u{2212}0 (net 0)");
    // A team created after the membership ended never gets the member.
    let l = live(l.users.clone(), vec![]);
    let created = run_at(&config, &l, "2026-03-02T00:00:00Z");
    let t = created.changes.iter().find(|c| c.key == "T").unwrap();
    assert_eq!(
        t.members.iter().map(|m| m.key.as_str()).collect::<Vec<_>>(),
        ["a@x.io"]
    );
}

#[test]
fn issue14_the_warning_window_lists_what_ends_soonest_first() {
    let users = "users:
  - userPrincipalName: later@x.io
    expires: 2026-03-15
  - userPrincipalName: beyond@x.io
    expires: 2026-03-16
  - userPrincipalName: gone@x.io
    expires: 2026-02-28
  - userPrincipalName: today@x.io
    expires: 2026-03-01
  - userPrincipalName: noon@x.io
    expires: 2026-03-01T18:00:00+01:00
  - userPrincipalName: tomorrow@x.io
    expires: 2026-03-02
  - userPrincipalName: off@x.io
    accountEnabled: false
    expires: 2026-03-02
  - userPrincipalName: plain@x.io
";
    let groups = "groups:\n  - displayName: T\n    members:\n      - { user: plain@x.io, expires: 2026-03-04 }\n      - { user: gone@x.io, expires: 2026-03-04 }\n";
    let expiring = |settings: &str| {
        let p = run_at(
            &config_with(settings, users, groups),
            &live(vec![], vec![]),
            "2026-03-01T10:00:00Z",
        );
        p.expiring
            .iter()
            .map(|e| {
                format!(
                    "{} {}{}",
                    e.user,
                    e.in_words(),
                    e.group
                        .as_ref()
                        .map_or(String::new(), |g| format!(" in {g}"))
                )
            })
            .collect::<Vec<_>>()
    };
    // The default window is 14 days: 2026-03-15 is 14 days ahead, 2026-03-16 is 15.
    assert_eq!(
        expiring("version: 1\n"),
        [
            "noon@x.io expires within a day",
            "today@x.io expires today",
            "tomorrow@x.io expires tomorrow",
            "plain@x.io expires in 3 days in T",
            "later@x.io expires in 14 days",
        ]
    );
    assert_eq!(
        expiring("version: 1\npolicy: { expiry_warning_days: 1 }\n"),
        [
            "noon@x.io expires within a day",
            "today@x.io expires today",
            "tomorrow@x.io expires tomorrow",
        ]
    );
    assert_eq!(
        expiring("version: 1\npolicy: { expiry_warning_days: 0 }\n"),
        ["noon@x.io expires within a day", "today@x.io expires today"]
    );
}

#[test]
fn issue14_a_protected_user_is_kept_past_its_expiry_with_a_warning() {
    let config = config_with(
        "version: 1\npolicy: { protected: [\"a@*\"] }\n",
        "users:\n  - userPrincipalName: a@x.io\n    expires: 2026-03-01\n",
        "",
    );
    let l = live(vec![live_user("1", "a@x.io", json!({}))], vec![]);
    let p = run_at(&config, &l, "2026-06-01T00:00:00Z");
    assert!(p.changes.is_empty());
    assert_eq!(
        p.warnings,
        [
            r#"user["a@x.io"] is protected by policy: it is not deprovisioned although its access expired on 2026-03-01"#
        ]
    );
}

#[test]
fn issue14_a_disabled_user_past_its_expiry_keeps_the_disabled_reason() {
    let config = config_with(
        SETTINGS,
        "users:\n  - userPrincipalName: a@x.io\n    accountEnabled: false\n    expires: 2026-03-01\n",
        "",
    );
    let l = live(vec![live_user("1", "a@x.io", json!({}))], vec![]);
    let p = run_at(&config, &l, "2026-06-01T00:00:00Z");
    assert_eq!(
        p.changes[0].reason.as_deref(),
        Some("accountEnabled is false")
    );
}

#[test]
fn issue14_wants_active_judges_expiry_at_the_instant_given() {
    let config = one_user("2026-03-01");
    assert_eq!(
        wants_active(&config, "a@x.io", at("2026-03-01T12:00:00Z")),
        Some(true)
    );
    assert_eq!(
        wants_active(&config, "A@x.io", at("2026-03-02T00:00:00Z")),
        Some(false)
    );
    assert_eq!(wants_active(&config, "b@x.io", 0), None);
}

#[test]
fn issue14_seats_count_creates_reactivations_and_deprovisions_with_the_monthly_cost() {
    let settings = "version: 1\npolicy:\n  max_deprovisions: { count: 5, percent: 100 }\n  seat_price: { amount: 10.99, currency: USD }\n";
    let users = "users:\n  - userPrincipalName: a@x.io\n  - userPrincipalName: b@x.io\n  - userPrincipalName: c@x.io\n  - userPrincipalName: d@x.io\n    accountEnabled: false\n  - userPrincipalName: e@x.io\n";
    let l = live(
        vec![
            live_user("4", "d@x.io", json!({})),
            live_user("5", "e@x.io", json!({ "active": false })),
        ],
        vec![],
    );
    let config = config_with(settings, users, "");
    let asana = run_at(&config, &l, "2026-03-01T00:00:00Z");
    assert_eq!(
        (asana.seats.added, asana.seats.removed, asana.seats.net()),
        (3, 1, 2)
    );
    assert_eq!(
        asana.seats.line(),
        "Seats: +3, \u{2212}1 (net +2): +21.98 USD a month"
    );
    // A target that can reactivate counts the reactivation as a seat.
    let scope = Scope {
        at: at("2026-03-01T00:00:00Z"),
        ..Scope::default()
    };
    let generic = plan(&config, &l, Capabilities::GENERIC, &scope);
    assert_eq!(generic.summary.reactivate, 1);
    assert_eq!((generic.seats.added, generic.seats.net()), (4, 3));
    let fewer = Seats {
        added: 0,
        removed: 3,
        price: Some(crate::config::model::SeatPrice {
            amount: 8.0,
            currency: "EUR".into(),
        }),
    };
    assert_eq!(
        fewer.line(),
        "Seats: +0, \u{2212}3 (net \u{2212}3): \u{2212}24.00 EUR a month"
    );
}

#[test]
fn issue14_expired_only_keeps_what_expiry_causes_and_nothing_else() {
    let users = "users:
  - userPrincipalName: gone@x.io
    expires: 2026-02-01
  - userPrincipalName: off@x.io
    accountEnabled: false
  - userPrincipalName: edited@x.io
    jobTitle: Lead
  - userPrincipalName: new@x.io
  - userPrincipalName: stays@x.io
";
    let groups = "groups:\n  - displayName: T\n    members:\n      - { user: stays@x.io, expires: 2026-02-01 }\n      - new@x.io\n";
    let config = config_with(
        "version: 1\npolicy: { unmanaged: deprovision, max_deprovisions: { count: 9, percent: 100 } }\n",
        users,
        groups,
    );
    let l = live(
        vec![
            live_user("1", "gone@x.io", json!({})),
            live_user("2", "off@x.io", json!({})),
            live_user("3", "edited@x.io", json!({ "title": "Engineer" })),
            live_user("5", "stays@x.io", json!({})),
            live_user("6", "stranger@x.io", json!({})),
        ],
        vec![json!({ "id": "9", "displayName": "T", "members": [
            { "value": "1" }, { "value": "2" }, { "value": "5" }, { "value": "6" }] })],
    );
    let scope = |expired_only| Scope {
        at: at("2026-03-01T00:00:00Z"),
        expired_only,
        ..Scope::default()
    };
    let show = |p: &Plan| -> Vec<String> {
        (p.changes.iter())
            .map(|c| {
                let members: Vec<&str> = c.members.iter().map(|m| m.key.as_str()).collect();
                format!(
                    "{} {} {}",
                    c.address(),
                    c.action.as_str(),
                    members.join(",")
                )
            })
            .collect()
    };
    let all = plan(&config, &l, Capabilities::ASANA, &scope(false));
    assert_eq!(all.changes.len(), 7, "{:#?}", show(&all));
    let only = plan(&config, &l, Capabilities::ASANA, &scope(true));
    assert_eq!(
        show(&only),
        [
            r#"user["gone@x.io"] deprovision "#,
            r#"group["T"] remove_members gone@x.io,stays@x.io"#,
        ]
    );
    assert_eq!(
        (only.summary.deprovision, only.summary.remove_members),
        (1, 1)
    );
    assert_eq!(
        only.summary.create + only.summary.update + only.summary.add_members,
        0
    );
    assert_eq!(only.deprovision_gate.count, 1);
    assert_eq!(only.seats.line(), "Seats: +0, \u{2212}1 (net \u{2212}1)");
}

/// One case of `policy.unset_attributes`: settings, the declared user, its live attributes,
/// and the attribute changes expected (path, before, after).
struct Unset {
    name: &'static str,
    settings: &'static str,
    user: &'static str,
    live: Json,
    expect: Vec<(String, Option<&'static str>, Option<&'static str>)>,
}

#[test]
fn issue14_unset_attributes_are_cleared_or_kept_as_the_policy_says() {
    let dept = format!("{ENTERPRISE_USER}:department");
    let manager = format!("{ENTERPRISE_USER}:manager");
    let bob = "  - userPrincipalName: bob@example.com\n";
    let ada = "  - userPrincipalName: ada@example.com\n    displayName: Ada\n";
    let cases = vec![
        Unset {
            name: "a removed jobTitle is cleared by default",
            settings: "version: 1\n",
            user: ada,
            live: json!({ "name": { "formatted": "Ada" }, "title": "Staff Engineer" }),
            expect: vec![("title".into(), Some("Staff Engineer"), None)],
        },
        Unset {
            name: "keep leaves it, as Entra does",
            settings: "version: 1\npolicy: { unset_attributes: keep }\n",
            user: ada,
            live: json!({ "name": { "formatted": "Ada" }, "title": "Staff Engineer" }),
            expect: vec![],
        },
        Unset {
            name: "an attribute no mapping targets is never touched, nor an email",
            settings: "version: 1\n",
            user: ada,
            live: json!({ "name": { "formatted": "Ada" }, "preferredLanguage": "en",
                          "userType": "view only", "nickName": "A",
                          "emails": [{ "type": "work", "value": "ada@example.com" }] }),
            expect: vec![],
        },
        Unset {
            name: "enterprise department and a manager, shown by userName",
            settings: "version: 1\n",
            user: "  - userPrincipalName: ada@example.com\n    displayName: Ada\n    jobTitle: Lead\n",
            live: json!({ "name": { "formatted": "Ada" }, "title": "Eng",
                          ENTERPRISE_USER: { "department": "R&D", "manager": { "value": "2" } } }),
            expect: vec![
                ("title".into(), Some("Eng"), Some("Lead")),
                (dept.clone(), Some("R&D"), None),
                (manager.clone(), Some("bob@example.com"), None),
            ],
        },
        Unset {
            name: "a manager who is no listed user (a guest, a dangling id) is left alone",
            settings: "version: 1\n",
            user: ada,
            live: json!({ "name": { "formatted": "Ada" },
                          ENTERPRISE_USER: { "manager": { "value": "999" } } }),
            expect: vec![],
        },
        Unset {
            name: "a declared manager who is not there is not a manager removed",
            settings: "version: 1\n",
            user: "  - userPrincipalName: ada@example.com\n    displayName: Ada\n    manager: nobody@example.com\n  - userPrincipalName: nobody@example.com\n    accountEnabled: false\n",
            live: json!({ "name": { "formatted": "Ada" },
                          ENTERPRISE_USER: { "manager": { "value": "2" } } }),
            expect: vec![],
        },
        Unset {
            name: "on-create mappings and mappings with a default are not cleared on update",
            settings: "version: 1\nmappings:\n  users:\n    - { target: userName, source: userPrincipalName, match: 1 }\n    - { target: active, source: accountEnabled }\n    - { target: title, source: jobTitle, default: Staff }\n    - { target: name.formatted, source: displayName, apply: on_create }\n",
            user: "  - userPrincipalName: ada@example.com\n",
            live: json!({ "name": { "formatted": "Ada" }, "title": "Staff" }),
            expect: vec![],
        },
        Unset {
            name: "an empty live value is nothing to clear",
            settings: "version: 1\n",
            user: ada,
            live: json!({ "name": { "formatted": "Ada" }, "title": "" }),
            expect: vec![],
        },
    ];
    for case in cases {
        let users = format!("users:\n{}{bob}", case.user);
        let config = config_with(case.settings, &users, "");
        let l = live(
            vec![
                live_user("1", "ada@example.com", case.live.clone()),
                live_user("2", "bob@example.com", json!({})),
            ],
            vec![],
        );
        let p = run(&config, &l);
        let got: Vec<(String, Option<Json>, Option<Json>)> = (p.changes.iter())
            .filter(|c| c.key == "ada@example.com")
            .flat_map(|c| &c.attributes)
            .map(|a| (a.path.clone(), a.before.clone(), a.after.clone()))
            .collect();
        let want: Vec<(String, Option<Json>, Option<Json>)> = (case.expect.iter())
            .map(|(p, b, a)| (p.clone(), b.map(|b| json!(b)), a.map(|a| json!(a))))
            .collect();
        assert_eq!(got, want, "{}", case.name);
        // What is cleared is an update like any other.
        if !want.is_empty() {
            assert_eq!(p.summary.update, 1, "{}", case.name);
        }
    }
}

// ---- targeted runs (issue 14, item 4) --------------------------------------------------------

/// The plan of `--target` for `targets` (addresses), against a partial read: each change as
/// `address action [attribute paths] [members]`.
fn targeted(config: &Config, l: &Live, targets: &[&str]) -> (Vec<String>, Vec<String>) {
    let mut scope = Scope {
        users: Some(Default::default()),
        groups: Some(Default::default()),
        targeted: true,
        ..Scope::default()
    };
    for t in targets {
        match parse_address(t).unwrap() {
            (Kind::User, k) => scope.users.as_mut().unwrap().insert(k),
            (Kind::Group, k) => scope.groups.as_mut().unwrap().insert(k.to_lowercase()),
        };
    }
    let l = Live {
        complete: false,
        ..l.clone()
    };
    let p = plan(config, &l, Capabilities::ASANA, &scope);
    let changes = (p.changes.iter())
        .map(|c| {
            let attrs: Vec<&str> = c.attributes.iter().map(|a| a.path.as_str()).collect();
            let members: Vec<&str> = c.members.iter().map(|m| m.key.as_str()).collect();
            format!(
                "{} {} {attrs:?} {members:?}",
                c.address(),
                c.action.as_str()
            )
        })
        .collect();
    (changes, p.warnings)
}

#[test]
fn issue14_a_target_plans_its_object_the_managers_it_needs_and_its_own_memberships() {
    let users = "users:\n\
        \x20 - { userPrincipalName: ada@example.com, displayName: Ada, manager: mgr@example.com }\n\
        \x20 - { userPrincipalName: mgr@example.com, displayName: Mgr, manager: boss@example.com }\n\
        \x20 - { userPrincipalName: boss@example.com, displayName: Boss, jobTitle: CEO }\n\
        \x20 - { userPrincipalName: bob@example.com, displayName: Bob, jobTitle: Lead }\n\
        \x20 - { userPrincipalName: carol@example.com, displayName: Carol }\n";
    let groups = "groups:\n\
        \x20 - { displayName: Platform, members: [ada@example.com, bob@example.com, carol@example.com] }\n\
        \x20 - { displayName: Design, members: [bob@example.com] }\n";
    let config = config_with(SETTINGS, users, groups);
    let name = |n: &str| json!({ "name": { "formatted": n } });
    let l = live(
        vec![
            // boss has drifted (no title): not targeted, so not touched.
            live_user("1", "boss@example.com", name("Boss")),
            live_user(
                "2",
                "bob@example.com",
                json!({ "name": { "formatted": "Bob" }, "title": "Eng" }),
            ),
            live_user("3", "carol@example.com", name("Carol")),
            live_user("4", "x@example.com", json!({})),
        ],
        // Platform has x, whom no one declares, and lacks carol: neither is a targeted user's.
        vec![json!({ "id": "50", "displayName": "Platform", "members": [{ "value": "4" }] })],
    );
    let check = |targets: &[&str], want: &[&str], warning: Option<&str>| {
        let (changes, warnings) = targeted(&config, &l, targets);
        assert_eq!(changes, want, "{targets:?}");
        match warning {
            Some(w) => assert!(
                warnings.iter().any(|x| x.contains(w)),
                "{targets:?}: {warnings:?}"
            ),
            None => assert!(warnings.is_empty(), "{targets:?}: {warnings:?}"),
        }
    };
    // ada and her missing manager are created (boss, who exists, is only referred to), and
    // Platform gets ada alone.
    check(
        &[r#"user["ada@example.com"]"#],
        &[
            r#"user["ada@example.com"] create ["active", "name.formatted", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "userName"] []"#,
            r#"user["mgr@example.com"] create ["active", "name.formatted", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "userName"] []"#,
            r#"group["Platform"] add_members [] ["ada@example.com"]"#,
        ],
        None,
    );
    // bob's title; Platform gets bob; Design, not in Asana, is not created for him.
    check(
        &[r#"user["BOB@example.com"]"#],
        &[
            r#"user["bob@example.com"] update ["title"] []"#,
            r#"group["Platform"] add_members [] ["bob@example.com"]"#,
        ],
        Some(r#"group["Design"]: the team is not in Asana"#),
    );
    // A targeted team is planned whole: bob and carol added, x removed; no user is changed,
    // and ada, who is not in Asana, is left out (not created) with a warning.
    check(
        &[r#"group["platform"]"#],
        &[
            r#"group["Platform"] add_members [] ["bob@example.com", "carol@example.com"]"#,
            r#"group["Platform"] remove_members [] ["x@example.com"]"#,
        ],
        Some(r#"member `ada@example.com` is not in Asana and this plan does not create it"#),
    );
    // Several targets at once, and an undeclared live user: unmanaged, as policy says.
    let (changes, _) = targeted(
        &config,
        &l,
        &[r#"user["carol@example.com"]"#, r#"user["x@example.com"]"#],
    );
    assert_eq!(
        changes,
        [r#"group["Platform"] add_members [] ["carol@example.com"]"#]
    );
}

#[test]
fn issue14_addresses_parse_as_the_plan_prints_them_and_nothing_else() {
    assert_eq!(
        parse_address(r#"user["ada@example.com"]"#),
        Ok((Kind::User, "ada@example.com".into()))
    );
    assert_eq!(
        parse_address(r#"group["Plat \"form\" \u00e9"]"#),
        Ok((Kind::Group, "Plat \"form\" é".into()))
    );
    // What the plan prints reads back as the same object.
    for (kind, key) in [(Kind::User, "a\"b@x.io"), (Kind::Group, "Ops & Dev")] {
        assert_eq!(
            parse_address(&address(kind, key)),
            Ok((kind, key.to_string()))
        );
    }
    for (bad, why) in [
        ("ada@example.com", "must start with"),
        ("team[\"x\"]", "must start with"),
        ("user[ada@example.com]", "double quotes"),
        ("user[\"ada@example.com\"", "must end with ]"),
        ("user[\"\"]", "empty"),
        ("user[\"a\"] x", "must end with ]"),
        ("user[\"a\\u0000\"]", "control character"),
        ("user[\"a\", \"b\"]", "double quotes"),
    ] {
        let e = parse_address(bad).unwrap_err();
        assert!(e.to_string().contains(why), "{bad}: {e}");
        assert!(e.to_string().contains("user[\"ada@example.com\"]"), "{e}");
    }
}

// ---- rule-based teams (issue 14) ------------------------------------------------------------

const RULE_USERS: &str = "users:
  - { userPrincipalName: ada@x.io, department: Eng, employeeId: '1001', employeeType: Employee }
  - { userPrincipalName: bob@x.io, department: Eng, employeeId: '999', employeeType: Contractor }
  - { userPrincipalName: cy@x.io, department: Sales, mail: cy@x.io }
  - { userPrincipalName: dee@x.io }
  - { userPrincipalName: off@x.io, department: Eng, accountEnabled: false }
  - { userPrincipalName: old@x.io, department: Eng, expires: 2026-01-31 }
";

/// The members a rule-based team is created with, and why each is there, at 2026-06-01.
fn rule_team(rules: &str, extra: &str) -> Vec<(String, Option<String>)> {
    let groups = format!("groups:\n  - displayName: T\n    member_rules:\n{rules}{extra}");
    let config = config_with(SETTINGS, RULE_USERS, &groups);
    let p = run_at(&config, &live(vec![], vec![]), "2026-06-01T00:00:00Z");
    let team = p
        .changes
        .iter()
        .find(|c| c.kind == Kind::Group)
        .unwrap_or_else(|| panic!("no team change: {:#?}", p.changes));
    assert_eq!(team.action, Action::Create);
    team.members
        .iter()
        .map(|m| (m.key.clone(), m.via.clone()))
        .collect()
}

/// Every operator and the null rule, through the planner: `(one clause, members)`. Disabled
/// (off) and expired (old) users never become members, whichever rule they match.
#[test]
fn issue14_rule_based_teams_follow_every_operator_and_the_null_rule() {
    let cases: &[(&str, &[&str])] = &[
        (
            "{ attribute: department, operator: EQUALS, value: Eng }",
            &["ada", "bob"],
        ),
        // The null rule: dee has no department, so NOT EQUALS is false for her.
        (
            "{ attribute: department, operator: NOT EQUALS, value: Eng }",
            &["cy"],
        ),
        ("{ attribute: department, operator: IS NULL }", &["dee"]),
        (
            "{ attribute: department, operator: IS NOT NULL }",
            &["ada", "bob", "cy"],
        ),
        (
            "{ attribute: department, operator: Includes, value: al }",
            &["cy"],
        ),
        (
            "{ attribute: mail, operator: ENDS_WITH, value: '@x.io' }",
            &["cy"],
        ),
        (
            "{ attribute: department, operator: '&', value: 'Eng,Ops' }",
            &["ada", "bob"],
        ),
        (
            "{ attribute: department, operator: '!&', value: 'Eng,Ops' }",
            &["cy"],
        ),
        (
            "{ attribute: employeeId, operator: Greater_Than, value: 1000 }",
            &["ada"],
        ),
        (
            "{ attribute: employeeId, operator: Greater_Than_OR_EQUALS, value: 999 }",
            &["ada", "bob"],
        ),
        (
            "{ attribute: employeeType, operator: REGEX MATCH, value: '^Con' }",
            &["bob"],
        ),
        (
            "{ attribute: employeeType, operator: NOT REGEX MATCH, value: '^Con' }",
            &["ada"],
        ),
        (
            "{ attribute: accountEnabled, operator: IS TRUE }",
            &["ada", "bob", "cy", "dee"],
        ),
        // Disabled users match IS FALSE, and are still never members.
        ("{ attribute: accountEnabled, operator: IS FALSE }", &[]),
    ];
    let mut covered = std::collections::BTreeSet::new();
    for (clause, want) in cases {
        let op = clause
            .split("operator: ")
            .nth(1)
            .unwrap()
            .split(',')
            .next()
            .unwrap();
        let op = op.trim_end_matches(" }").trim_matches('\'');
        covered.insert(crate::config::model::Operator::parse(op).expect(op).name());
        let rules = format!("      - clauses: [{clause}]\n");
        let groups = format!("groups:\n  - displayName: T\n    member_rules:\n{rules}");
        let config = config_with(SETTINGS, RULE_USERS, &groups);
        let p = run_at(&config, &live(vec![], vec![]), "2026-06-01T00:00:00Z");
        let got: Vec<String> = (p.changes.iter().filter(|c| c.kind == Kind::Group))
            .flat_map(|c| {
                c.members
                    .iter()
                    .map(|m| m.key.trim_end_matches("@x.io").to_string())
            })
            .collect();
        assert_eq!(got, *want, "{clause}");
    }
    assert_eq!(covered.len(), crate::config::model::Operator::ALL.len());
}

#[test]
fn issue14_rules_or_explicit_members_and_excludes_say_why() {
    let rules = "      - name: engineering\n        clauses: [{ attribute: department, operator: EQUALS, value: Eng }]\n      - clauses: [{ attribute: department, operator: EQUALS, value: Sales }, { attribute: mail, operator: IS NOT NULL }]\n";
    let via = |s: &str| Some(s.to_string());
    assert_eq!(
        rule_team(
            rules,
            "    members: [dee@x.io, off@x.io, old@x.io]\n    exclude: [bob@x.io]\n"
        ),
        [
            ("dee@x.io".to_string(), via("explicit")),
            ("ada@x.io".to_string(), via("rule 1 \"engineering\"")),
            (
                "cy@x.io".to_string(),
                via("rule 2 (department EQUALS \"Sales\" AND mail IS NOT NULL)")
            ),
        ]
    );
    // An exclude wins over an explicit entry too.
    assert_eq!(
        rule_team(
            rules,
            "    members: [dee@x.io]\n    exclude: [dee@x.io, cy@x.io]\n"
        ),
        [
            ("ada@x.io".to_string(), via("rule 1 \"engineering\"")),
            ("bob@x.io".to_string(), via("rule 1 \"engineering\"")),
        ]
    );
}

/// On an existing team, a user who no longer matches is removed and one who now does is
/// added: the team follows the declarations, with no edit to the team.
#[test]
fn issue14_a_rule_based_team_follows_a_department_change() {
    let groups = "groups:\n  - displayName: T\n    member_rules:\n      - clauses: [{ attribute: department, operator: EQUALS, value: Eng }]\n";
    let users = "users:\n  - { userPrincipalName: ada@x.io, department: Eng }\n  - { userPrincipalName: bob@x.io, department: Sales }\n";
    let l = live(
        vec![
            live_user("1", "ada@x.io", json!({})),
            live_user("2", "bob@x.io", json!({})),
        ],
        vec![json!({ "id": "t", "displayName": "T", "members": [{ "value": "1" }] })],
    );
    let p = run(&config_with(SETTINGS, users, groups), &l);
    assert!(
        !p.changes.iter().any(|c| c.kind == Kind::Group),
        "{:#?}",
        p.changes
    );
    let moved = users
        .replace("department: Eng", "department: Sales")
        .replacen(
            "bob@x.io, department: Sales",
            "bob@x.io, department: Eng",
            1,
        );
    let p = run(&config_with(SETTINGS, &moved, groups), &l);
    let team: Vec<(Action, Vec<&str>)> = (p.changes.iter().filter(|c| c.kind == Kind::Group))
        .map(|c| (c.action, c.members.iter().map(|m| m.key.as_str()).collect()))
        .collect();
    assert_eq!(
        team,
        [
            (Action::AddMembers, vec!["bob@x.io"]),
            (Action::RemoveMembers, vec!["ada@x.io"])
        ]
    );
}
