use serde_json::json;

use super::*;
use crate::config;
use crate::plan::{LiveGroup, Plan};
use crate::scim::ENTERPRISE_USER;

fn live_of(users: Vec<Json>, groups: Vec<Json>) -> Live {
    Live {
        users: users
            .into_iter()
            .map(|u| LiveUser::from_resource(u).unwrap())
            .collect(),
        groups: groups
            .into_iter()
            .map(|g| LiveGroup::from_resource(g).unwrap())
            .collect(),
        complete: true,
        reported_users: None,
    }
}

fn planned(settings: &str, files: &[(String, String)], live: &Live) -> (Config, Plan) {
    let pick = |users: bool| -> Vec<(&str, &str)> {
        files
            .iter()
            .filter(|(p, _)| p.starts_with("users/") == users)
            .map(|(p, t)| (p.as_str(), t.as_str()))
            .collect()
    };
    let (config, report) = config::from_texts(settings, &pick(true), &pick(false));
    let mut config = config.unwrap_or_else(|| panic!("{:#?}", report.diagnostics));
    config.settings.policy.unmanaged = Unmanaged::Report;
    let plan = plan::plan(&config, live, Capabilities::ASANA, &Scope::default());
    (config, plan)
}

/// The update of `files` against `live`, unmanaged users going to users/unmanaged.yaml.
fn run(settings: &str, files: &[(&str, &str)], live: &Live) -> Update {
    let files: Vec<(String, String)> = files
        .iter()
        .map(|(p, t)| (p.to_string(), t.to_string()))
        .collect();
    let (config, plan) = planned(settings, &files, live);
    let input = Input {
        config: &config,
        settings,
        files: &files,
        plan: &plan,
        live,
    };
    let options = Options {
        unmanaged_to: Some(UNMANAGED_FILE),
        today: "2026-12-02",
    };
    let update = update(&input, &options).unwrap();
    assert!(update.residual.is_empty(), "{:?}", update.residual);
    update
}

fn after<'a>(update: &'a Update, path: &str) -> &'a str {
    let f = update.files.iter().find(|f| f.path == path);
    &f.unwrap_or_else(|| panic!("{path} unchanged")).after
}

fn user(id: &str, name: &str, extra: Json) -> Json {
    let mut u = json!({"id": id, "userName": name, "active": true});
    for (k, v) in extra.as_object().unwrap() {
        u[k] = v.clone();
    }
    u
}

#[test]
fn a_user_deactivated_in_asana_is_written_disabled_after_its_last_key() {
    let users = "users:\n  - userPrincipalName: ada@x.io  # ada\n    jobTitle: Dev\n\n  # bob\n  - userPrincipalName: bob@x.io\n";
    let live = live_of(
        vec![
            user("1", "ada@x.io", json!({"active": false, "title": "Dev"})),
            user("2", "bob@x.io", json!({})),
        ],
        vec![],
    );
    let update = run("version: 1\n", &[("users/a.yaml", users)], &live);
    assert_eq!(
        after(&update, "users/a.yaml"),
        "users:\n  - userPrincipalName: ada@x.io  # ada\n    jobTitle: Dev\n    accountEnabled: false\n\n  # bob\n  - userPrincipalName: bob@x.io\n"
    );
    assert_eq!(
        update.codified,
        [r#"user["ada@x.io"]: accountEnabled = false"#]
    );
}

#[test]
fn values_keep_their_quotes_unless_the_new_value_needs_others() {
    let users = "users:\n  - userPrincipalName: ada@x.io\n    jobTitle: Dev\n    department: 'R and D'\n    employeeId: \"7\"\n    employeeOrgData:\n      division: Labs   # old\n";
    let live = live_of(
        vec![user(
            "1",
            "ada@x.io",
            json!({"title": "yes", ENTERPRISE_USER: {"department": "It's ours", "employeeNumber": "0042", "division": "Ops"}}),
        )],
        vec![],
    );
    let update = run("version: 1\n", &[("users/a.yaml", users)], &live);
    assert_eq!(
        after(&update, "users/a.yaml"),
        "users:\n  - userPrincipalName: ada@x.io\n    jobTitle: \"yes\"\n    department: 'It''s ours'\n    employeeId: \"0042\"\n    employeeOrgData:\n      division: Ops   # old\n"
    );
}

#[test]
fn unmanaged_users_are_appended_in_the_files_own_indentation_sorted_and_dated() {
    let declared = "users:\n  - userPrincipalName: ada@x.io\n";
    let unmanaged = "# Found in Asana.\nusers:\n- userPrincipalName: old@x.io   # from May\n";
    let live = live_of(
        vec![
            user("1", "ada@x.io", json!({})),
            user("2", "old@x.io", json!({})),
            user(
                "3",
                "Zed@x.io",
                json!({"title": "Ops", ENTERPRISE_USER: {"manager": {"value": "1"}}}),
            ),
            user(
                "4",
                "bea@x.io",
                json!({ENTERPRISE_USER: {"manager": {"value": "99"}}}),
            ),
        ],
        vec![],
    );
    let update = run(
        "version: 1\n",
        &[
            ("users/a.yaml", declared),
            ("users/unmanaged.yaml", unmanaged),
        ],
        &live,
    );
    assert_eq!(
        after(&update, "users/unmanaged.yaml"),
        "# Found in Asana.\nusers:\n- userPrincipalName: old@x.io   # from May\n\
         \n# Added by `roster import asana --update` on 2026-12-02: in Asana but declared in no file.\n\
         - userPrincipalName: bea@x.io\n\
         \n# Added by `roster import asana --update` on 2026-12-02: in Asana but declared in no file.\n\
         - userPrincipalName: Zed@x.io\n  jobTitle: Ops\n  manager: ada@x.io\n"
    );
    assert_eq!(update.added, ["bea@x.io", "Zed@x.io"]);
}

#[test]
fn an_empty_flow_list_of_users_becomes_a_block_list() {
    let live = live_of(vec![user("1", "ada@x.io", json!({}))], vec![]);
    let update = run(
        "version: 1\n",
        &[("users/unmanaged.yaml", "# keep me\nusers: []\n")],
        &live,
    );
    assert_eq!(
        after(&update, "users/unmanaged.yaml"),
        "# keep me\nusers:\n\n  # Added by `roster import asana --update` on 2026-12-02: in Asana but declared in no file.\n  - userPrincipalName: ada@x.io\n"
    );
}

#[test]
fn a_team_whose_last_member_left_keeps_an_empty_list() {
    let users = "users:\n  - userPrincipalName: ada@x.io\n";
    let groups = "groups:\n  - displayName: Ops\n    members:\n      - ada@x.io   # lead\n  - displayName: Dev\n";
    let live = live_of(
        vec![user("1", "ada@x.io", json!({}))],
        vec![
            json!({"id": "9", "displayName": "Ops", "members": []}),
            json!({"id": "8", "displayName": "Dev", "members": [{"value": "1"}]}),
        ],
    );
    let update = run(
        "version: 1\n",
        &[("users/a.yaml", users), ("groups/t.yaml", groups)],
        &live,
    );
    let text = after(&update, "groups/t.yaml");
    let raw: RawGroupsFile = parse_raw(text).unwrap();
    let members: Vec<Vec<String>> = raw
        .groups
        .iter()
        .map(|g| {
            g.value
                .members
                .iter()
                .map(|m| m.value.user().to_string())
                .collect()
        })
        .collect();
    assert_eq!(members, [vec![], vec!["ada@x.io".to_string()]]);
    assert!(!text.contains("# lead"), "{text}");
    assert!(
        text.starts_with("groups:\n  - displayName: Ops\n"),
        "{text}"
    );
}

#[test]
fn a_member_written_with_its_expiry_is_removed_like_a_plain_one() {
    let users = "users:\n  - userPrincipalName: ada@x.io\n  - userPrincipalName: bo@x.io\n";
    let groups = "groups:\n  - displayName: Ops\n    members:\n      - { user: ada@x.io, expires: 2099-01-31 }\n      - bo@x.io\n";
    let live = live_of(
        vec![
            user("1", "ada@x.io", json!({})),
            user("2", "bo@x.io", json!({})),
        ],
        vec![json!({"id": "9", "displayName": "Ops", "members": [{"value": "2"}]})],
    );
    let update = run(
        "version: 1\n",
        &[("users/a.yaml", users), ("groups/t.yaml", groups)],
        &live,
    );
    assert_eq!(
        after(&update, "groups/t.yaml"),
        "groups:\n  - displayName: Ops\n    members:\n      - bo@x.io\n"
    );
}

#[test]
fn constants_and_expressions_are_listed_with_the_reason_and_left_alone() {
    let settings = "version: 1\nmappings:\n  users:\n    - { target: userName, source: userPrincipalName, match: 1 }\n    - { target: title, constant: Staff }\n    - { target: name.formatted, expression: 'Join(\" \", [givenName], [surname])' }\n";
    let users = "users:\n  - userPrincipalName: ada@x.io\n    givenName: Ada\n    surname: L\n";
    let live = live_of(
        vec![user(
            "1",
            "ada@x.io",
            json!({"title": "Boss", "name": {"formatted": "Ada Byron"}}),
        )],
        vec![],
    );
    let files = [("users/a.yaml".to_string(), users.to_string())];
    let (config, plan) = planned(settings, &files, &live);
    let update = update(
        &Input {
            config: &config,
            settings,
            files: &files,
            plan: &plan,
            live: &live,
        },
        &Options {
            unmanaged_to: None,
            today: "2026-12-02",
        },
    )
    .unwrap();
    assert!(update.files.is_empty());
    let left: Vec<&str> = update
        .not_codified
        .iter()
        .map(|l| l.what.as_str())
        .collect();
    assert_eq!(
        left,
        [
            r#"user["ada@x.io"] name.formatted"#,
            r#"user["ada@x.io"] title"#
        ]
    );
    assert!(
        update.not_codified[1]
            .reason
            .contains("the constant \"Staff\"")
    );
}

#[test]
fn a_changed_file_is_shown_as_a_unified_diff_and_coloured_only_when_asked() {
    let change = FileChange {
        path: "users/a.yaml".into(),
        before: Some("a: 1\nb: 2\n".into()),
        after: "a: 1\nb: 3\n".into(),
    };
    let d = diff(&change);
    assert_eq!(
        d,
        "--- a/users/a.yaml\n+++ b/users/a.yaml\n@@ -1,2 +1,2 @@\n a: 1\n-b: 2\n+b: 3\n"
    );
    assert_eq!(paint_diff(&d, false), d);
    assert!(paint_diff(&d, true).contains("\u{1b}[32m+b: 3"));
    // A hostile value cannot reach the terminal as an escape sequence.
    let hostile = paint_diff("+x: \u{1b}[2J\n", true);
    assert!(!hostile.contains("\u{1b}[2J"), "{hostile:?}");
}
