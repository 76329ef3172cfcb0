use serde_json::json;

use super::*;
use crate::config;
use crate::mapping::targets::{default_group_mappings, default_user_mappings};
use crate::plan::{Capabilities, Live, Scope, plan};
use crate::scim::ENTERPRISE_USER;

fn live() -> Live {
    let users = vec![
        json!({ "id": "1", "userName": "Grace@Example.com", "active": true, "name": { "formatted": "Grace Hopper" },
                "emails": [{ "type": "work", "value": "grace@example.com", "primary": true }], "title": "VP",
                ENTERPRISE_USER: { "department": "Research & Development", "employeeNumber": "7", "costCenter": "CC-1", "division": "Labs" },
                "addresses": [{ "type": "work", "country": "US", "locality": "Arlington" }] }),
        json!({ "id": "2", "userName": "ada@example.com", "active": true, "name": { "formatted": "Ada: Countess" },
                ENTERPRISE_USER: { "department": "Research & Development", "manager": { "value": "1" } },
                "phoneNumbers": [{ "type": "work", "value": "+44 20 0000" }] }),
        json!({ "id": "3", "userName": "gone@example.com", "active": false, "title": "yes" }),
        json!({ "id": "4", "userName": "orphan@example.com", "active": true, ENTERPRISE_USER: { "manager": { "value": "999" } } }),
    ];
    let groups = vec![
        json!({ "id": 9, "displayName": "Platform", "members": [{ "value": "2" }, { "value": "1" }, { "value": "3" }] }),
    ];
    live_of(users, groups)
}

fn live_of(users: Vec<serde_json::Value>, groups: Vec<serde_json::Value>) -> Live {
    Live {
        users: users
            .into_iter()
            .map(|u| crate::plan::LiveUser::from_resource(u).unwrap())
            .collect(),
        groups: groups
            .into_iter()
            .map(|g| crate::plan::LiveGroup::from_resource(g).unwrap())
            .collect(),
        complete: true,
        reported_users: None,
    }
}

#[test]
fn imported_declarations_plan_to_nothing() {
    let live = live();
    let import = asana(
        &live.users,
        &live.groups,
        &default_user_mappings(),
        "version: 1\n",
    )
    .unwrap();
    assert_eq!((import.users, import.groups), (4, 1));
    let paths: Vec<&str> = import.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "users/no-department.yaml",
            "users/research-development.yaml",
            "groups/teams.yaml"
        ]
    );
    let users: Vec<(&str, &str)> = import
        .files
        .iter()
        .filter(|f| f.path.starts_with("users/"))
        .map(|f| (f.path.as_str(), f.contents.as_str()))
        .collect();
    let groups: Vec<(&str, &str)> = import
        .files
        .iter()
        .filter(|f| f.path.starts_with("groups/"))
        .map(|f| (f.path.as_str(), f.contents.as_str()))
        .collect();
    let (config, report) = config::from_texts("version: 1\n", &users, &groups);
    let config =
        config.unwrap_or_else(|| panic!("{:#?}\n{}", report.diagnostics, import.files[1].contents));
    let p = plan(&config, &live, Capabilities::ASANA, &Scope::default());
    assert!(p.changes.is_empty(), "{:#?}", p.changes);
    assert!(p.unmanaged.is_empty());
}

#[test]
fn import_is_deterministic_and_readable() {
    let live = live();
    let a = asana(
        &live.users,
        &live.groups,
        &default_user_mappings(),
        "version: 1\n",
    )
    .unwrap();
    let mut reversed = live.clone();
    reversed.users.reverse();
    let b = asana(
        &reversed.users,
        &reversed.groups,
        &default_user_mappings(),
        "version: 1\n",
    )
    .unwrap();
    assert_eq!(a.files, b.files);
    insta::assert_snapshot!(
        a.files
            .iter()
            .map(|f| format!("=== {}\n{}", f.path, f.contents))
            .collect::<String>()
    );
}

#[test]
fn big_departments_are_split_into_parts() {
    let users: Vec<_> = (0..USERS_PER_FILE + 1)
        .map(|i| crate::plan::LiveUser::from_resource(json!({ "id": i.to_string(), "userName": format!("u{i:05}@x.io"), ENTERPRISE_USER: { "department": "Sales" } })).unwrap())
        .collect();
    let import = asana(&users, &[], &default_user_mappings(), "version: 1\n").unwrap();
    let paths: Vec<&str> = import.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["users/sales-01.yaml", "users/sales-02.yaml"]);
    let _ = default_group_mappings();
}

#[test]
fn slugs() {
    assert_eq!(slug("Research & Development"), "research-development");
    assert_eq!(slug("  IT "), "it");
    assert_eq!(slug("Ventes Île-de-France"), "ventes-île-de-france");
    assert_eq!(slug("&&"), "no-department");
}

#[test]
fn low_import_asana_skips_declarations_its_own_validate_rejects() {
    // The import wrote what the target holds as it was: an invalid email and two userNames
    // that differ only in case gave files `roster validate` refused.
    let users = vec![
        json!({ "id": "1", "userName": "ok@example.com", "active": true, "title": "Lead" }),
        json!({ "id": "2", "userName": "Bob@example.com", "active": true }),
        json!({ "id": "3", "userName": "bob@example.com", "active": true }),
        json!({ "id": "4", "userName": "not-an-email", "active": true }),
        json!({ "id": "5", "userName": "carol@example.com", "active": true,
                "emails": [{ "type": "work", "value": "carol at example", "primary": true }] }),
        json!({ "id": "6", "userName": "dan@example.com", "active": true,
                ENTERPRISE_USER: { "manager": { "value": "4" } } }),
    ];
    let groups = vec![
        json!({ "id": "g1", "displayName": "Kept", "members": [{ "value": "1" }, { "value": "6" }] }),
        json!({ "id": "g2", "displayName": "Has Bob", "members": [{ "value": "1" }, { "value": "2" }] }),
    ];
    let live = live_of(users, groups);
    let settings = "version: 1\n";
    let import = asana(
        &live.users,
        &live.groups,
        &default_user_mappings(),
        settings,
    )
    .unwrap();
    let skipped: Vec<&str> = import.skipped.iter().map(|s| s.what.as_str()).collect();
    assert_eq!(
        skipped,
        [
            "user \"Bob@example.com\"",
            "user \"bob@example.com\"",
            "team \"Has Bob\"",
            "the manager of user \"dan@example.com\"",
            "user \"carol@example.com\"",
            "user \"not-an-email\"",
        ],
        "{:#?}",
        import.skipped
    );
    let reason = |what: &str| {
        &import
            .skipped
            .iter()
            .find(|s| s.what == what)
            .unwrap()
            .reason
    };
    assert!(
        reason("user \"bob@example.com\"")
            .contains("`Bob@example.com` and `bob@example.com` differ only in case")
    );
    assert!(reason("user \"not-an-email\"").contains("not an email address"));
    assert!(reason("user \"carol@example.com\"").contains("mail `carol at example`"));
    assert!(reason("team \"Has Bob\"").contains("`bob@example.com` was left out"));
    assert!(reason("the manager of user \"dan@example.com\"").contains("`not-an-email`"));
    assert_eq!((import.users, import.groups), (2, 1), "ok and dan, in Kept");
    // What was written validates, and plans to nothing but the one clear below: the skipped
    // are unmanaged.
    let texts = |prefix: &str| -> Vec<(&str, &str)> {
        import
            .files
            .iter()
            .filter(|f| f.path.starts_with(prefix))
            .map(|f| (f.path.as_str(), f.contents.as_str()))
            .collect()
    };
    let (config, report) = config::from_texts(settings, &texts("users/"), &texts("groups/"));
    let config = config.unwrap_or_else(|| panic!("{:#?}", report.diagnostics));
    // dan's manager was left out with the manager: the declaration does not name one.
    assert!(!import.files.iter().any(|f| f.contents.contains("manager:")));
    // The one change: dan's manager, which import said it left out, is cleared
    // (`policy.unset_attributes: clear`), so the reviewer sees it go.
    let p = plan(&config, &live, Capabilities::ASANA, &Scope::default());
    let changes: Vec<(String, Vec<String>)> = (p.changes.iter())
        .map(|c| {
            let attrs = c.attributes.iter();
            (
                c.address(),
                attrs
                    .map(|a| format!("{} {:?} -> {:?}", a.path, a.before, a.after))
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        changes,
        [(
            "user[\"dan@example.com\"]".to_string(),
            vec![format!(
                "{ENTERPRISE_USER}:manager Some(String(\"not-an-email\")) -> None"
            )]
        )]
    );
    let unmanaged: Vec<&str> = p.unmanaged.iter().map(|u| u.key.as_str()).collect();
    assert_eq!(unmanaged.len(), 4, "{unmanaged:?}");
}
