//! GitOps in practice (issue 7): adopting an organisation with `import asana`, and cheap pull
//! request plans with `--changed-since`, end to end through the binary against the emulator.

#![allow(clippy::disallowed_methods)] // tests set up files, run programs and read the clock

mod support;

use support::{git, runtime, text};

use std::path::Path;
use std::process::Output;

use assert_cmd::Command;
use roster::emulator::{Emulator, RunningEmulator};
use roster::scim::client::{ClientConfig, Secret, WriteClient};
use serde_json::json;

const TOKEN: &str = "gitops-test-token";

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

/// Every file under `dir`, as (relative path, contents), sorted.
fn files(dir: &Path) -> Vec<(String, String)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                out.push((rel, std::fs::read_to_string(&p).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

#[test]
fn import_asana_adopts_2000_users_and_20_teams_with_an_empty_first_plan() {
    let rt = runtime();
    let emu = start(&rt, 2_000);
    // 20 teams of 25 members each, made through roster's own client.
    let client = WriteClient::new(&ClientConfig::new(emu.url(), Secret::new(TOKEN))).unwrap();
    rt.block_on(async {
        let users = client.reader().list_users().await.unwrap();
        for t in 0..20 {
            let members: Vec<_> = users[t * 25..(t + 1) * 25]
                .iter()
                .map(|u| json!({ "value": u.id().unwrap() }))
                .collect();
            client
                .create_group(&json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                    "displayName": format!("Team {t:02}"),
                    "members": members,
                }))
                .await
                .unwrap();
        }
    });

    let a = tempfile::tempdir().unwrap();
    let out = roster(&emu, a.path(), &["import", "asana"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("Wrote 2000 users and 20 teams"),
        "{}",
        text(&out)
    );
    // Split by department, each file under the per-file cap.
    let written = files(a.path());
    let user_files: Vec<&str> = written
        .iter()
        .map(|(p, _)| p.as_str())
        .filter(|p| p.starts_with("users/"))
        .collect();
    assert_eq!(
        user_files,
        [
            "users/design.yaml",
            "users/engineering.yaml",
            "users/finance.yaml",
            "users/sales.yaml"
        ]
    );

    emu.reset_stats();
    let out = roster(&emu, a.path(), &["plan", "--detailed-exitcode"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "the first plan after import must be empty:\n{}",
        text(&out)
    );
    assert!(text(&out).contains("No changes."), "{}", text(&out));
    assert_eq!(emu.stats().writes, 0);

    // Twice gives identical files; a second import needs --force and replaces the files.
    let b = tempfile::tempdir().unwrap();
    assert_eq!(
        roster(&emu, b.path(), &["import", "asana"]).status.code(),
        Some(0)
    );
    assert_eq!(files(a.path()), files(b.path()));
    let refused = roster(&emu, a.path(), &["import", "asana"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        text(&refused).contains("pass --force"),
        "{}",
        text(&refused)
    );
    assert_eq!(
        roster(&emu, a.path(), &["import", "asana", "--force"])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(files(a.path()), files(b.path()));
}

#[test]
fn changed_since_plans_ten_changed_users_of_100000_with_few_requests() {
    let rt = runtime();
    let emu = start(&rt, 100_000);
    let repo = tempfile::tempdir().unwrap();
    let dir = repo.path();
    std::fs::write(
        dir.join("roster.yaml"),
        "version: 1\npolicy: { unmanaged: deprovision }\n",
    )
    .unwrap();
    std::fs::create_dir(dir.join("users")).unwrap();
    // 200 declared users in two files, as the emulator seeded them (title cycles through five,
    // department through four by tens; every mapped attribute declared, or the plan clears it).
    let titles = ["Engineer", "Designer", "Analyst", "Manager", "Sales Rep"];
    let departments = ["Engineering", "Design", "Finance", "Sales"];
    let user = |i: usize, title: &str| {
        let department = departments[((i - 1) / 10) % 4];
        format!(
            "  - userPrincipalName: user{i:06}@seed.example\n    mail: user{i:06}@seed.example\n    displayName: User {i:06}\n    jobTitle: {title}\n    department: {department}\n    employeeId: E{i:06}\n"
        )
    };
    for (file, range) in [("a.yaml", 1..=100), ("b.yaml", 101..=200)] {
        let body: String = range.map(|i| user(i, titles[(i - 1) % 5])).collect();
        std::fs::write(dir.join("users").join(file), format!("users:\n{body}")).unwrap();
    }
    git(dir, &["init", "-q"]);
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-qm", "declare 200 users"]);

    // The pull request: 10 users get a new title; another moves to a new file unchanged.
    let mut a = std::fs::read_to_string(dir.join("users/a.yaml")).unwrap();
    for i in 1..=10 {
        a = a.replace(
            &user(i, titles[(i - 1) % 5]),
            &user(i, "Principal Engineer"),
        );
    }
    let moved = user(50, titles[49 % 5]);
    a = a.replace(&moved, "");
    std::fs::write(dir.join("users/a.yaml"), a).unwrap();
    std::fs::write(dir.join("users/c.yaml"), format!("users:\n{moved}")).unwrap();

    emu.reset_stats();
    let out = roster(
        &emu,
        dir,
        &["plan", "--changed-since", "HEAD", "--format", "json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let keys: Vec<&str> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["key"].as_str().unwrap())
        .collect();
    let expected: Vec<String> = (1..=10)
        .map(|i| format!("user{i:06}@seed.example"))
        .collect();
    assert_eq!(keys, expected, "exactly the 10 changed users are planned");
    for c in plan["changes"].as_array().unwrap() {
        assert_eq!(c["action"], "update");
        assert_eq!(
            c["attributes"],
            json!([{ "path": "title", "before": c["attributes"][0]["before"], "after": "Principal Engineer" }])
        );
    }
    // Unmanaged users are not looked for (99,800 live users are not declared here), and the
    // output says so.
    assert_eq!(plan["unmanaged_checked"], false);
    assert_eq!(plan["summary"]["deprovision"], 0);
    assert!(String::from_utf8_lossy(&out.stderr).contains("unmanaged users are not looked for"));
    let stats = emu.stats();
    eprintln!(
        "--changed-since: {} requests for 10 changed users of 100,000",
        stats.requests
    );
    assert!(
        stats.requests <= 25,
        "{} requests: {stats:?}",
        stats.requests
    );
    assert_eq!(stats.writes, 0);
}
