//! Targeted runs and cleared attributes (issue 14, items 4 and 5), end to end through the binary
//! against the emulator: `--target ADDRESS` reads and changes only the object named, an address
//! that names nothing (or is not one) stops with nothing sent, and a mapped attribute whose
//! declaration is gone is cleared until the next plan is empty.

#![allow(clippy::disallowed_methods)] // tests set up files, run programs and read the clock

mod support;

use support::{runtime, text};

use std::path::Path;
use std::process::Output;

use assert_cmd::Command;
use roster::emulator::{Emulator, RunningEmulator};
use roster::scim::client::{ClientConfig, ReadClient, Secret};
use serde_json::{Value, json};

const TOKEN: &str = "targeted-test-token";

fn start(rt: &tokio::runtime::Runtime, seed_users: usize) -> RunningEmulator {
    rt.block_on(
        Emulator::builder()
            .port(0)
            .token(TOKEN)
            .seed_users(seed_users)
            .start(),
    )
    .expect("emulator starts")
}

fn roster(emu: &RunningEmulator, dir: &Path, args: &[&str]) -> Output {
    Command::cargo_bin("roster")
        .unwrap()
        .env("NO_COLOR", "1")
        .env("ASANA_TOKEN", TOKEN)
        .env_remove("ROSTER_ASANA_URL")
        .arg("-C")
        .arg(dir)
        .args(args)
        .args(["--asana-url", emu.url()])
        .output()
        .unwrap()
}

/// A seeded user declared as the emulator made it (`seed`: title cycles through five,
/// department through four by tens), with `title` instead when given (`Some("")`: none).
fn seeded(i: usize, title: Option<&str>) -> String {
    let titles = ["Engineer", "Designer", "Analyst", "Manager", "Sales Rep"];
    let departments = ["Engineering", "Design", "Finance", "Sales"];
    let title = title.unwrap_or(titles[(i - 1) % 5]);
    let department = departments[((i - 1) / 10) % 4];
    let job = if title.is_empty() {
        String::new()
    } else {
        format!("    jobTitle: {title}\n")
    };
    format!(
        "  - userPrincipalName: user{i:06}@seed.example\n    mail: user{i:06}@seed.example\n    \
         displayName: User {i:06}\n{job}    department: {department}\n    employeeId: E{i:06}\n"
    )
}

fn config(users: &[String], groups: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("roster.yaml"), "version: 1\n").unwrap();
    std::fs::create_dir(dir.path().join("users")).unwrap();
    std::fs::write(
        dir.path().join("users/people.yaml"),
        format!("users:\n{}", users.concat()),
    )
    .unwrap();
    if !groups.is_empty() {
        std::fs::create_dir(dir.path().join("groups")).unwrap();
        std::fs::write(dir.path().join("groups/teams.yaml"), groups).unwrap();
    }
    dir
}

fn plan_json(emu: &RunningEmulator, dir: &Path, extra: &[&str]) -> Value {
    let out = roster(
        emu,
        dir,
        &[&["plan", "--format", "json"][..], extra].concat(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn addresses(plan: &Value) -> Vec<String> {
    plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| format!("{} {}", c["address"].as_str().unwrap(), c["action"]))
        .collect()
}

fn live_user(rt: &tokio::runtime::Runtime, emu: &RunningEmulator, user_name: &str) -> Value {
    let client = ReadClient::new(&ClientConfig::new(emu.url(), Secret::new(TOKEN))).unwrap();
    rt.block_on(client.find_user_by_username(user_name))
        .unwrap()
        .expect("the user exists")
        .into_value()
}

#[test]
fn issue14_apply_target_changes_exactly_one_user_of_2000_in_at_most_5_requests() {
    let rt = runtime();
    let emu = start(&rt, 2000);
    // Three declared users, two with a new title; only one is targeted.
    let dir = config(
        &[
            seeded(1, None),
            seeded(41, Some("Staff Engineer")),
            seeded(42, Some("Principal")),
        ],
        "",
    );
    let dir = dir.path();
    emu.reset_stats();
    let target = r#"user["user000042@seed.example"]"#;
    let out = roster(&emu, dir, &["apply", "--auto-approve", "--target", target]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stats = emu.stats();
    eprintln!("apply --target: {stats:?}");
    assert!(
        stats.requests <= 5,
        "{} requests: {stats:?}",
        stats.requests
    );
    assert_eq!(stats.writes, 1, "{stats:?}");
    assert!(
        text(&out).contains("only those are read and planned"),
        "{}",
        text(&out)
    );
    assert_eq!(
        live_user(&rt, &emu, "user000042@seed.example")["title"],
        "Principal"
    );
    // The other declared user was neither read for the plan nor changed.
    assert_eq!(
        live_user(&rt, &emu, "user000041@seed.example")["title"],
        "Engineer"
    );
    let plan = plan_json(&emu, dir, &["--target", target]);
    assert_eq!(addresses(&plan), Vec::<String>::new());
    let plan = plan_json(
        &emu,
        dir,
        &["--target", r#"user["user000041@seed.example"]"#],
    );
    assert_eq!(
        addresses(&plan),
        [r#"user["user000041@seed.example"] "update""#]
    );
    // A targeted plan saved with --out records its targets, and --replan plans them again
    // (not the organisation) before applying.
    let saved = dir.join("plan.json");
    let out = roster(
        &emu,
        dir,
        &[
            "plan",
            "--target",
            r#"user["user000041@seed.example"]"#,
            "--out",
            saved.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let file: Value = serde_json::from_slice(&std::fs::read(&saved).unwrap()).unwrap();
    assert_eq!(
        file["targets"],
        json!([r#"user["user000041@seed.example"]"#])
    );
    // The targets are under the file's digest: widened by hand, the plan is refused.
    let mut edited = file.clone();
    edited["targets"] = json!([
        r#"user["user000041@seed.example"]"#,
        r#"user["user000001@seed.example"]"#
    ]);
    let tampered = dir.join("tampered.json");
    std::fs::write(&tampered, serde_json::to_vec_pretty(&edited).unwrap()).unwrap();
    emu.reset_stats();
    let out = roster(
        &emu,
        dir,
        &["apply", tampered.to_str().unwrap(), "--replan"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("edited after roster wrote it"),
        "{}",
        text(&out)
    );
    assert_eq!(emu.stats().writes, 0);
    emu.reset_stats();
    let out = roster(&emu, dir, &["apply", saved.to_str().unwrap(), "--replan"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stats = emu.stats();
    assert!(
        stats.requests <= 10,
        "{} requests: {stats:?}",
        stats.requests
    );
    assert_eq!(stats.writes, 1, "{stats:?}");
    assert_eq!(
        live_user(&rt, &emu, "user000041@seed.example")["title"],
        "Staff Engineer"
    );
}

#[test]
fn issue14_a_removed_job_title_is_cleared_and_the_next_plan_is_empty() {
    let rt = runtime();
    let emu = start(&rt, 50);
    // user000043 was seeded with the title Analyst; its declaration now has none.
    let dir = config(&[seeded(43, Some(""))], "");
    let dir = dir.path();
    let target = r#"user["user000043@seed.example"]"#;
    let out = roster(&emu, dir, &["plan", "--target", target]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(shown.contains(r#"      - title = "Analyst""#), "{shown}");
    let plan = plan_json(&emu, dir, &["--target", target]);
    assert_eq!(
        plan["changes"][0]["attributes"],
        json!([{ "path": "title", "before": "Analyst", "after": null }])
    );
    let out = roster(&emu, dir, &["apply", "--auto-approve", "--target", target]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let user = live_user(&rt, &emu, "user000043@seed.example");
    assert!(user.get("title").is_none(), "{user}");
    assert_eq!(
        user["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["department"],
        "Engineering"
    );
    assert!(addresses(&plan_json(&emu, dir, &["--target", target])).is_empty());
    // With `keep`, Entra's behaviour, a title the target still has is left alone.
    std::fs::write(
        dir.join("roster.yaml"),
        "version: 1\npolicy: { unset_attributes: keep }\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("users/people.yaml"),
        format!("users:\n{}", seeded(44, Some(""))),
    )
    .unwrap();
    let plan = plan_json(
        &emu,
        dir,
        &["--target", r#"user["user000044@seed.example"]"#],
    );
    assert!(addresses(&plan).is_empty(), "{plan}");
}

#[test]
fn issue14_a_manager_only_entra_lists_is_cleared_with_a_put_on_asana() {
    let rt = runtime();
    let emu = start(&rt, 50);
    // user000045 reports to user000001; the declaration names no manager any more.
    let dir = config(
        &[
            seeded(1, None),
            format!("{}    manager: user000001@seed.example\n", seeded(45, None)),
        ],
        "",
    );
    let dir = dir.path();
    let target = r#"user["user000045@seed.example"]"#;
    let out = roster(&emu, dir, &["apply", "--auto-approve", "--target", target]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let ext = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    assert!(live_user(&rt, &emu, "user000045@seed.example")[ext]["manager"].is_object());
    std::fs::write(
        dir.join("users/people.yaml"),
        format!("users:\n{}{}", seeded(1, None), seeded(45, None)),
    )
    .unwrap();
    let plan = plan_json(&emu, dir, &["--target", target]);
    assert_eq!(
        plan["changes"][0]["attributes"],
        json!([{ "path": format!("{ext}:manager"), "before": "user000001@seed.example", "after": null }])
    );
    emu.reset_stats();
    let out = roster(&emu, dir, &["apply", "--auto-approve", "--target", target]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // The emulator refuses a PATCH remove of `manager` (undocumented by Asana): a PUT.
    assert_eq!(
        emu.stats()
            .by_method
            .get("PUT")
            .map(|s| s.values().sum::<u64>()),
        Some(1)
    );
    let user = live_user(&rt, &emu, "user000045@seed.example");
    assert!(user[ext].get("manager").is_none(), "{user}");
    assert_eq!(user[ext]["department"], "Engineering");
    assert!(addresses(&plan_json(&emu, dir, &["--target", target])).is_empty());
}

#[test]
fn issue14_a_targeted_user_brings_its_missing_manager_and_its_own_team_addition() {
    let rt = runtime();
    let emu = start(&rt, 30);
    let new = |who: &str, manager: &str| {
        format!(
            "  - userPrincipalName: {who}@new.example\n    displayName: {who}\n    manager: {manager}\n"
        )
    };
    let groups = "groups:\n  - displayName: Platform\n    members: [ada@new.example, user000002@seed.example]\n";
    let dir = config(
        &[
            new("ada", "lead@new.example"),
            new("lead", "user000001@seed.example"),
            seeded(1, None),
            seeded(2, None),
        ],
        groups,
    );
    let dir = dir.path();
    // The team targeted first is created with the member Asana has; ada, who is not in Asana
    // and is not targeted, is left out with a warning.
    let out = roster(
        &emu,
        dir,
        &[
            "apply",
            "--auto-approve",
            "--target",
            r#"group["Platform"]"#,
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out)
            .contains("member `ada@new.example` is not in Asana and this plan does not create it"),
        "{}",
        text(&out)
    );
    let plan = plan_json(&emu, dir, &["--target", r#"user["ada@new.example"]"#]);
    assert_eq!(
        addresses(&plan),
        [
            r#"user["ada@new.example"] "create""#,
            r#"user["lead@new.example"] "create""#,
            r#"group["Platform"] "add_members""#,
        ]
    );
    assert_eq!(
        plan["changes"][2]["members"],
        json!([{ "key": "ada@new.example", "id": null }])
    );
    let out = roster(
        &emu,
        dir,
        &[
            "apply",
            "--auto-approve",
            "--target",
            r#"user["ada@new.example"]"#,
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        addresses(&plan_json(
            &emu,
            dir,
            &["--target", r#"user["ada@new.example"]"#]
        ))
        .is_empty()
    );
    assert!(addresses(&plan_json(&emu, dir, &[])).is_empty());
}

#[test]
fn issue14_an_address_that_names_nothing_or_is_not_one_is_an_error_and_nothing_is_sent() {
    let rt = runtime();
    let emu = start(&rt, 20);
    let dir = config(&[seeded(1, Some("Lead"))], "");
    let dir = dir.path();
    for cmd in [&["plan"][..], &["apply", "--auto-approve"]] {
        // Malformed: refused before any request at all.
        for bad in [
            "user[\"\u{1b}[31mred\"]\u{202e}",
            "user000001@seed.example",
            r#"user[user000001@seed.example]"#,
            r#"team["x"]"#,
        ] {
            emu.reset_stats();
            let out = roster(&emu, dir, &[cmd, &["--target", bad]].concat());
            assert_eq!(out.status.code(), Some(1), "{bad}: {}", text(&out));
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(err.contains("is not an address"), "{err}");
            assert!(err.contains(r#"user["ada@example.com"]"#), "{err}");
            assert!(err.contains("nothing was read or sent"), "{err}");
            assert!(
                !err.contains('\u{1b}') && !err.contains('\u{202e}'),
                "{err:?}"
            );
            assert_eq!(emu.stats().requests, 0, "{bad}");
        }
        // Names nothing, beside one that is fine: an error, reads only, no write.
        emu.reset_stats();
        let out = roster(
            &emu,
            dir,
            &[
                cmd,
                &[
                    "--target",
                    r#"user["user000001@seed.example"]"#,
                    "--target",
                    r#"user["nobody@seed.example"]"#,
                    "--target",
                    r#"group["No Such Team"]"#,
                ],
            ]
            .concat(),
        );
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(r#"--target user["nobody@seed.example"]: no declaration in users/ or groups/ and no user with this userName in the target"#),
            "{err}"
        );
        assert!(
            err.contains(r#"--target group["No Such Team"]: no declaration"#),
            "{err}"
        );
        assert_eq!(emu.stats().writes, 0);
        assert_eq!(
            live_user(&rt, &emu, "user000001@seed.example")["title"],
            "Engineer"
        );
    }
    // An undeclared user the target has is a valid target: unmanaged, reported.
    let out = roster(
        &emu,
        dir,
        &["plan", "--target", r#"user["user000009@seed.example"]"#],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // --target with a plan file, or with --changed-since, is refused by the flags.
    let out = roster(
        &emu,
        dir,
        &["apply", "plan.json", "--target", r#"user["a@b.c"]"#],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let out = roster(
        &emu,
        dir,
        &[
            "plan",
            "--changed-since",
            "HEAD",
            "--target",
            r#"user["a@b.c"]"#,
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}
