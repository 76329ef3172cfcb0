//! `roster apply` end to end, through the binary, against an emulator the test holds: every gate
//! (protected users, the count and percent caps and their override, an empty desired set, a
//! stale plan, no terminal without `--auto-approve`), saved plans, the audit log, `-C DIR` for
//! every command, and a token that never shows.

#![allow(clippy::disallowed_methods)] // tests set up files, run programs and read the clock

mod apply_support;

use std::collections::BTreeSet;

use apply_support::{Harness, TOKEN, assert_code, outcome_lines, stderr, stdout, user_name_counts};
use roster::emulator::Emulator;
use serde_json::Value;

const SEVEN: [&str; 7] = [
    "u0@ex.test",
    "u1@ex.test",
    "u2@ex.test",
    "u3@ex.test",
    "u4@ex.test",
    "u5@ex.test",
    "u6@ex.test",
];
const STRANGERS: [&str; 3] = ["x0@ex.test", "x1@ex.test", "x2@ex.test"];

fn users_yaml(names: &[&str]) -> String {
    let mut s = String::from("users:\n");
    for n in names {
        s.push_str(&format!(
            "  - userPrincipalName: {n}\n    jobTitle: Engineer\n"
        ));
    }
    s
}

fn settings(policy: &str) -> String {
    format!("version: 1\npolicy:\n{policy}")
}

/// Seven declared users live as declared, and three live users nobody declared.
fn org_with_strangers(policy: &str) -> Harness {
    let h = Harness::start(Emulator::builder());
    let live: Vec<(&str, &str)> = SEVEN
        .iter()
        .chain(&STRANGERS)
        .map(|n| (*n, "Engineer"))
        .collect();
    h.seed_users(&live);
    h.write_config(&settings(policy), Some(&users_yaml(&SEVEN)), None);
    h
}

fn active(h: &Harness, name: &str) -> bool {
    h.live()
        .users
        .iter()
        .find(|u| u.user_name.eq_ignore_ascii_case(name))
        .unwrap_or_else(|| panic!("{name} is live"))
        .active
}

#[test]
fn the_count_cap_refuses_naming_the_flag_and_the_number_until_overridden() {
    let h = org_with_strangers(
        "  unmanaged: deprovision\n  max_deprovisions: { count: 2, percent: 100 }\n",
    );
    h.emu().reset_stats();
    let out = h.run("apply", &["--auto-approve"]);
    assert_code(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains("the plan deprovisions 3 users")
            && err.contains("run again with --allow-deprovisions 3")
            && err.contains("nothing was applied"),
        "{err}"
    );
    assert_eq!(h.stats().writes, 0);

    // Fewer than the plan needs is refused too, and says so.
    let out = h.run("apply", &["--auto-approve", "--allow-deprovisions", "2"]);
    assert_code(&out, 1);
    assert!(
        stderr(&out).contains("(--allow-deprovisions 2 is fewer)"),
        "{}",
        stderr(&out)
    );
    assert_eq!(h.stats().writes, 0);

    let out = h.run("apply", &["--auto-approve", "--allow-deprovisions", "3"]);
    assert_code(&out, 0);
    assert_eq!(h.stats().writes, 3);
    assert!(STRANGERS.iter().all(|n| !active(&h, n)));
    assert!(SEVEN.iter().all(|n| active(&h, n)));
}

#[test]
fn the_percent_cap_counts_against_active_users_and_is_overridden_the_same_way() {
    // 3 of 10 active users is 30%.
    let h = org_with_strangers(
        "  unmanaged: deprovision\n  max_deprovisions: { count: 100, percent: 25 }\n",
    );
    h.emu().reset_stats();
    let out = h.run("apply", &["--auto-approve"]);
    assert_code(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains("(30.0% of 10 active)") && err.contains("--allow-deprovisions 3"),
        "{err}"
    );
    assert_eq!(h.stats().writes, 0);
    let out = h.run("apply", &["--auto-approve", "--allow-deprovisions", "3"]);
    assert_code(&out, 0);
    assert!(STRANGERS.iter().all(|n| !active(&h, n)));
}

#[test]
fn a_protected_user_is_never_deprovisioned_even_by_a_plan_made_before_it_was_protected() {
    let h = org_with_strangers(
        "  unmanaged: deprovision\n  max_deprovisions: { count: 100, percent: 100 }\n",
    );
    let plan = h.path("plan.json");
    let out = h.run("plan", &["--out", plan.to_str().unwrap()]);
    assert_code(&out, 0);
    // The policy now protects one of the users the reviewed plan deprovisions.
    h.write_config(
        &settings(
            "  unmanaged: deprovision\n  protected: [\"x1@*\"]\n  max_deprovisions: { count: 100, percent: 100 }\n",
        ),
        Some(&users_yaml(&SEVEN)),
        None,
    );
    h.emu().reset_stats();
    let out = h.run("apply", &[plan.to_str().unwrap()]);
    assert_code(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains(
            "user[\"x1@ex.test\"] is protected by policy.protected (`x1@*`) and the plan would deprovision it"
        ) && err.contains("nothing was applied"),
        "{err}"
    );
    assert_eq!(h.stats().writes, 0);
    assert!(STRANGERS.iter().all(|n| active(&h, n)));
    // Planned again under the new policy, the protected user is left alone.
    let out = h.run("apply", &["--auto-approve"]);
    assert_code(&out, 0);
    assert!(active(&h, "x1@ex.test"));
    assert!(!active(&h, "x0@ex.test") && !active(&h, "x2@ex.test"));
}

#[test]
fn an_empty_desired_set_never_deprovisions_whatever_the_override() {
    for users in [Some("users: []\n"), None] {
        let h = org_with_strangers(
            "  unmanaged: deprovision\n  max_deprovisions: { count: 1000, percent: 100 }\n",
        );
        h.write_config(
            &settings(
                "  unmanaged: deprovision\n  max_deprovisions: { count: 1000, percent: 100 }\n",
            ),
            users,
            None,
        );
        h.emu().reset_stats();
        let out = h.run("apply", &["--auto-approve", "--allow-deprovisions", "1000"]);
        assert_code(&out, 1);
        let err = stderr(&out);
        assert!(
            err.contains("the config declares no users, and the plan would deprovision 10"),
            "{users:?}: {err}"
        );
        assert_eq!(h.stats().writes, 0);
        assert!(SEVEN.iter().chain(&STRANGERS).all(|n| active(&h, n)));
    }
}

#[test]
fn a_stale_plan_is_refused_with_what_changed_and_nothing_is_written() {
    let h = Harness::start(Emulator::builder());
    let ids = h.seed_users(&[("ada@ex.test", "Engineer")]);
    h.write_config(
        "version: 1\n",
        Some(
            "users:\n  - userPrincipalName: ada@ex.test\n    jobTitle: Lead\n  - userPrincipalName: bob@ex.test\n",
        ),
        None,
    );
    let plan = h.path("plan.json");
    assert_code(&h.run("plan", &["--out", plan.to_str().unwrap()]), 0);

    // Someone changes a user the plan updates.
    let client = h.client();
    let patch = serde_json::json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{ "op": "replace", "value": { "title": "Manager" } }] });
    h.block_on(client.patch_user(&ids[0], &patch, None))
        .unwrap();
    h.emu().reset_stats();
    let out = h.run("apply", &[plan.to_str().unwrap()]);
    assert_code(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains("the plan is stale; nothing was applied")
            && err.contains(
                "user[\"ada@ex.test\"] changed since the plan was made: title was \"Engineer\", is now \"Manager\""
            )
            && err.contains("roster plan --out FILE"),
        "{err}"
    );
    assert_eq!(h.stats().writes, 0);

    // A fresh plan; then someone creates a user the plan would create.
    assert_code(&h.run("plan", &["--out", plan.to_str().unwrap()]), 0);
    h.seed_users(&[("Bob@ex.test", "Intern")]);
    h.emu().reset_stats();
    let out = h.run("apply", &[plan.to_str().unwrap()]);
    assert_code(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains("user[\"bob@ex.test\"] now exists in Asana (id ")
            && err.contains("the plan would create it"),
        "{err}"
    );
    assert_eq!(h.stats().writes, 0);
}

#[test]
fn without_a_terminal_apply_needs_auto_approve_and_sends_nothing() {
    let h = org_with_strangers("  unmanaged: report\n");
    h.write_config(
        &settings("  unmanaged: report\n"),
        Some(&users_yaml(&["new@ex.test"])),
        None,
    );
    h.emu().reset_stats();
    // assert_cmd gives the child no terminal.
    let out = h.run("apply", &[]);
    assert_code(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains("there is no terminal to ask on: pass --auto-approve"),
        "{err}"
    );
    assert_eq!((h.stats().requests, h.stats().writes), (0, 0));
    assert!(!user_name_counts(&h.live()).contains_key("new@ex.test"));
}

#[test]
fn a_saved_plan_applies_with_or_without_auto_approve() {
    for extra in [&["--auto-approve"][..], &[][..]] {
        let h = Harness::start(Emulator::builder());
        // The plan refers to a live user it does not change (a manager, a member): the saved
        // plan carries its id.
        h.seed_users(&[("boss@ex.test", "Engineer")]);
        let mut users = users_yaml(&["boss@ex.test"]);
        for n in &SEVEN[..3] {
            users.push_str(&format!(
                "  - userPrincipalName: {n}\n    manager: boss@ex.test\n"
            ));
        }
        let groups = "groups:\n  - displayName: Team\n    members: [boss@ex.test, u0@ex.test]\n";
        h.write_config("version: 1\n", Some(&users), Some(groups));
        let plan = h.path("plan.json");
        assert_code(&h.run("plan", &["--out", plan.to_str().unwrap()]), 0);
        let mut args = vec![plan.to_str().unwrap()];
        args.extend(extra);
        let out = h.run("apply", &args);
        assert_code(&out, 0);
        assert!(
            stderr(&out).contains("4 done, 0 failed, 0 skipped"),
            "{}",
            stderr(&out)
        );
        assert_code(&h.run("plan", &["--detailed-exitcode"]), 0);
    }
}

#[test]
fn dash_c_finds_the_config_for_every_command() {
    let h = Harness::start(Emulator::builder());
    h.write_config("version: 1\n", Some(&users_yaml(&SEVEN[..2])), None);
    let config = h.config_dir();
    let plan = h.path("plan.json");
    let plan = plan.to_str().unwrap();
    // Run from a directory without a config, with -C before and after the subcommand.
    let checks: Vec<(&str, Vec<&str>, i32)> = vec![
        ("validate", vec![], 0),
        ("plan", vec!["--out", plan, "--detailed-exitcode"], 2),
        ("drift", vec![], 2),
        ("check", vec![], 0),
        ("show", vec![plan], 0),
        ("apply", vec!["--auto-approve"], 0),
        ("drift", vec![], 0),
        ("schema", vec![], 0),
    ];
    for (i, (command, args, code)) in checks.into_iter().enumerate() {
        let mut cmd = h.roster();
        if i % 2 == 0 {
            cmd.arg("-C").arg(&config).arg(command);
        } else {
            cmd.arg(command).arg("--config-dir").arg(&config);
        }
        cmd.args(&args);
        if ["plan", "drift", "check", "apply"].contains(&command) {
            cmd.arg("--asana-url").arg(h.url());
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(code), "{command}: {}", stderr(&out));
    }
    // The emulator takes -C too (it reads no config) and serves.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_roster"))
        .arg("-C")
        .arg(&config)
        .args(["emulator", "--port", "0"])
        .current_dir(h.dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(line.starts_with("listening on http://127.0.0.1:"), "{line}");
    let counts = user_name_counts(&h.live());
    assert_eq!(counts.len(), 2);
}

#[test]
fn the_audit_log_has_one_json_record_per_change_and_no_token_anywhere() {
    // A guest's email is taken but invisible, so its create fails with a 409 that cannot be
    // adopted: one failure to record.
    let h = Harness::start(Emulator::builder().seed_guests(1));
    let ids = h.seed_users(&[
        ("ada@ex.test", "Engineer"),
        ("old@ex.test", "Engineer"),
        ("team@ex.test", "Engineer"),
    ]);
    let client = h.client();
    let team = serde_json::json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Platform", "members": [{ "value": ids[2] }] });
    h.block_on(client.create_group(&team)).unwrap();
    h.write_config(
        "version: 1\npolicy: { unmanaged: deprovision, max_deprovisions: { count: 5, percent: 100 } }\n",
        Some(
            "users:\n  - userPrincipalName: ada@ex.test\n    jobTitle: Lead\n    manager: boss@ex.test\n  - userPrincipalName: boss@ex.test\n    displayName: The Boss\n  - userPrincipalName: team@ex.test\n    jobTitle: Engineer\n  - userPrincipalName: guest000001@partner.example\n",
        ),
        Some(
            "groups:\n  - displayName: Platform\n    members: [ada@ex.test]\n  - displayName: Design\n    members: [boss@ex.test, team@ex.test]\n",
        ),
    );
    let out = h.run("plan", &["--format", "json"]);
    assert_code(&out, 0);
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    let planned: BTreeSet<(String, String)> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["address"].as_str().unwrap().to_string(),
                c["action"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(planned.len(), 7, "{planned:?}");

    let log = h.path("audit.jsonl");
    let out = h.run(
        "apply",
        &[
            "--auto-approve",
            "-vvv",
            "--audit-log",
            log.to_str().unwrap(),
        ],
    );
    assert_code(&out, 1);
    let lines = outcome_lines(&log);
    assert_eq!(lines.len(), planned.len(), "{lines:#?}");
    let records: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let run_id = records[0]["run_id"].as_str().unwrap();
    assert!(!run_id.is_empty());
    let rfc3339 = regex::Regex::new(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$").unwrap();
    let mut logged = BTreeSet::new();
    for r in &records {
        assert_eq!(r["run_id"], run_id, "{r}");
        for key in ["started", "finished"] {
            assert!(
                rfc3339.is_match(r[key].as_str().unwrap_or("")),
                "{key}: {r}"
            );
        }
        assert!(r["modified_properties"].is_array(), "{r}");
        let status = r["status"].as_str().unwrap();
        match status {
            "success" => assert!(r["error"].is_null(), "{r}"),
            "failure" => assert!(r["error"].as_str().is_some_and(|e| !e.is_empty()), "{r}"),
            other => panic!("status {other}: {r}"),
        }
        logged.insert((
            r["object"].as_str().unwrap().to_string(),
            r["action"].as_str().unwrap().to_string(),
        ));
    }
    assert_eq!(logged, planned);
    let record = |object: &str| {
        records
            .iter()
            .find(|r| r["object"] == object)
            .unwrap_or_else(|| panic!("{object} is logged"))
    };
    let ada = record("user[\"ada@ex.test\"]");
    assert_eq!(ada["status"], "success");
    assert!(ada["id"] == ids[0].as_str());
    let title = ada["modified_properties"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "title")
        .unwrap();
    assert_eq!(
        (&title["old"], &title["new"]),
        (&"Engineer".into(), &"Lead".into())
    );
    let guest = record("user[\"guest000001@partner.example\"]");
    assert_eq!(guest["status"], "failure");
    assert!(guest["error"].as_str().unwrap().contains("409"), "{guest}");
    assert_eq!(record("user[\"old@ex.test\"]")["action"], "deprovision");

    // The token is nowhere: not in the log, not on stdout or stderr at -vvv.
    let err = stderr(&out);
    assert!(
        err.contains("scim: POST") && err.contains("guest000001@partner.example"),
        "-vvv logs requests: {err}"
    );
    for (what, text) in [
        ("audit log", std::fs::read_to_string(&log).unwrap()),
        ("stdout", stdout(&out)),
        ("stderr", err),
    ] {
        assert!(!text.contains(TOKEN), "the token is in the {what}");
        assert!(!text.contains("5e1b"), "part of the token is in the {what}");
    }
}
