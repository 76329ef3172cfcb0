//! Issue 14, rule-based teams and policy checks, through the binary against an emulator the
//! test holds: a team whose members come from `member_rules` is created with them, follows a
//! department change on the next plan, and says in `-v` and JSON which rule put each member
//! there; a bad rule or a broken policy is a located error and sends nothing.

#![allow(clippy::disallowed_methods)] // tests write config files

mod apply_support;

use apply_support::{Harness, assert_code, stderr, stdout};
use roster::emulator::Emulator;
use serde_json::Value;

const SETTINGS: &str = "version: 1\n";

fn users(bob_department: &str) -> String {
    format!(
        "users:
  - {{ userPrincipalName: ada@ex.test, department: Engineering }}
  - {{ userPrincipalName: bob@ex.test, department: {bob_department} }}
  - {{ userPrincipalName: cy@ex.test, department: Sales }}
  - {{ userPrincipalName: dee@ex.test, department: Engineering, accountEnabled: false }}
  - {{ userPrincipalName: eve@ex.test, department: Engineering, expires: 2020-01-31 }}
"
    )
}

const GROUPS: &str = "groups:
  - displayName: Engineering
    member_rules:
      - name: engineers
        clauses:
          - { attribute: department, operator: EQUALS, value: Engineering }
    members: [cy@ex.test]
";

/// `roster -C CONFIG validate ARGS` (validate takes no target).
fn validate(h: &Harness, args: &[&str]) -> std::process::Output {
    (h.roster()
        .arg("-C")
        .arg(h.config_dir())
        .arg("validate")
        .args(args))
    .output()
    .expect("roster runs")
}

/// The members of a live team, sorted by userName.
fn members(h: &Harness, team: &str) -> Vec<String> {
    let live = h.live();
    let team = live.groups.iter().find(|g| g.display_name == team);
    let mut names: Vec<String> = (team.expect("the team exists").member_ids.iter())
        .map(|id| {
            let u = live.users.iter().find(|u| &u.id == id).unwrap();
            u.user_name.clone()
        })
        .collect();
    names.sort();
    names
}

#[test]
fn issue14_a_rule_based_team_is_created_with_its_members_and_follows_a_department_change() {
    let h = Harness::start(Emulator::builder());
    h.write_config(SETTINGS, Some(&users("Engineering")), Some(GROUPS));

    // JSON says which rule put each member there.
    let out = h.run("plan", &["--format", "json"]);
    assert_code(&out, 0);
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    let team = (plan["changes"].as_array().unwrap().iter())
        .find(|c| c["address"] == r#"group["Engineering"]"#)
        .expect("the team is planned");
    let via: Vec<(String, String)> = (team["members"].as_array().unwrap().iter())
        .map(|m| {
            (
                m["key"].as_str().unwrap().into(),
                m["via"].as_str().unwrap().into(),
            )
        })
        .collect();
    let pair = |a: &str, b: &str| (a.to_string(), b.to_string());
    assert_eq!(
        via,
        [
            pair("cy@ex.test", "explicit"),
            pair("ada@ex.test", "rule 1 \"engineers\""),
            pair("bob@ex.test", "rule 1 \"engineers\""),
        ]
    );
    // Text names the members; -v adds why.
    let out = h.run("plan", &[]);
    assert_code(&out, 0);
    let text = stdout(&out);
    assert!(text.contains("+ \"ada@ex.test\",\n"), "{text}");
    assert!(!text.contains("# rule 1"), "{text}");
    let out = h
        .roster()
        .arg("-v")
        .arg("-C")
        .arg(h.config_dir())
        .args(["plan", "--asana-url", &h.url()])
        .output()
        .unwrap();
    assert_code(&out, 0);
    let text = stdout(&out);
    assert!(
        text.contains("+ \"ada@ex.test\",  # rule 1 \"engineers\""),
        "{text}"
    );
    assert!(text.contains("+ \"cy@ex.test\",  # explicit"), "{text}");

    let out = h.run("apply", &["--auto-approve"]);
    assert_code(&out, 0);
    assert_eq!(
        members(&h, "Engineering"),
        ["ada@ex.test", "bob@ex.test", "cy@ex.test"]
    );
    // Disabled and expired users were neither created nor made members.
    let live = h.live();
    assert!(
        !live
            .users
            .iter()
            .any(|u| u.user_name == "dee@ex.test" || u.user_name == "eve@ex.test")
    );

    // Bob moves to Sales: the next plan takes him out of the team, with no edit to it.
    h.write_config(SETTINGS, Some(&users("Sales")), Some(GROUPS));
    let out = h.run("plan", &["--format", "json"]);
    assert_code(&out, 0);
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    let team: Vec<(&str, &str)> = (plan["changes"].as_array().unwrap().iter())
        .filter(|c| c["kind"] == "group")
        .flat_map(|c| {
            (c["members"].as_array().unwrap().iter())
                .map(move |m| (c["action"].as_str().unwrap(), m["key"].as_str().unwrap()))
        })
        .collect();
    assert_eq!(team, [("remove_members", "bob@ex.test")]);
    let out = h.run("apply", &["--auto-approve"]);
    assert_code(&out, 0);
    assert_eq!(members(&h, "Engineering"), ["ada@ex.test", "cy@ex.test"]);
    // And the plan after that has nothing to do.
    let out = h.run("plan", &["--detailed-exitcode"]);
    assert_code(&out, 0);
}

/// A bad rule (attribute, operator, value type) or a policy rule the declarations break is
/// an error at its place, and plan and apply send nothing: the emulator sees no request.
#[test]
fn issue14_a_bad_rule_or_a_broken_policy_is_located_and_sends_nothing() {
    let cases: &[(&str, &str, &str)] = &[
        (
            SETTINGS,
            "groups:\n  - displayName: T\n    member_rules:\n      - clauses: [{ attribute: departement, operator: EQUALS, value: x }]\n",
            "groups/groups.yaml:4:32",
        ),
        (
            SETTINGS,
            "groups:\n  - displayName: T\n    member_rules:\n      - clauses: [{ attribute: department, operator: LIKE, value: x }]\n",
            "unknown operator `LIKE` in a member rule",
        ),
        (
            SETTINGS,
            "groups:\n  - displayName: T\n    member_rules:\n      - clauses: [{ attribute: employeeId, operator: Greater_Than, value: many }]\n",
            "`Greater_Than` compares integers, and `many` is not one",
        ),
        (
            "version: 1\npolicy:\n  rules:\n    - required: [jobTitle]\n      when: [{ attribute: department, operator: EQUAL, value: Sales }]\n",
            "groups: []\n",
            "roster.yaml:5:49",
        ),
        (
            "version: 1\npolicy:\n  rules:\n    - allowed_domains: [example.com]\n",
            "groups: []\n",
            "userPrincipalName `ada@ex.test` is not in an allowed domain",
        ),
        (
            "version: 1\npolicy:\n  rules:\n    - max_team_size: 1\n",
            GROUPS,
            "team `Engineering` has 3 members, more than the 1 policy.rules allows",
        ),
    ];
    for (settings, groups, want) in cases {
        let h = Harness::start(Emulator::builder());
        h.write_config(settings, Some(&users("Engineering")), Some(groups));
        let out = validate(&h, &[]);
        assert_code(&out, 1);
        assert!(stderr(&out).contains(want), "{want}: {}", stderr(&out));
        for (cmd, args) in [("plan", &[][..]), ("apply", &["--auto-approve"][..])] {
            let out = h.run(cmd, args);
            assert_code(&out, 1);
            assert!(stderr(&out).contains(want), "{cmd}: {}", stderr(&out));
            assert!(
                stderr(&out).contains("nothing was sent"),
                "{}",
                stderr(&out)
            );
        }
        assert_eq!(h.stats().requests, 0, "{want}: a request was sent");
        // As a GitHub annotation, like any diagnostic.
        let out = validate(&h, &["--format", "github"]);
        assert!(
            stdout(&out).starts_with("::error file="),
            "{}",
            stdout(&out)
        );
    }
}
