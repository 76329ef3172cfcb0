//! `roster plan`, `drift`, `show` and `check` end to end (issue 4): the real binary against the
//! Asana emulator, started in-process on 127.0.0.1:0 from a state file written here.
//!
//! Each test starts its own emulator, so the stats it reads are its own. The binary gets the
//! URL through `--asana-url` and the token through the environment variable roster.yaml names.
//! Nothing here sleeps on purpose; the fault and rate-limit tests run on the emulator's scaled
//! time. The one slow test is the unreachable URL: the binary retries a refused connection five
//! times with backoff (about 10 s) before it gives up, and has no flag to shorten that.

#![allow(clippy::disallowed_methods)] // tests set up files, run programs and read the clock

mod support;

use support::{assert_exit, stderr, stdout};

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;

use assert_cmd::Command;
use roster::emulator::{
    Emulator, EmulatorBuilder, FaultConfig, LimitsConfig, RunningEmulator, StatsSnapshot,
};
use serde_json::{Value, json};
use tempfile::TempDir;

/// A token no real output could contain by accident.
const TOKEN: &str = "tok-Zq9x-DO-NOT-LEAK-7f3c0e1d";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

// ---- harness ------------------------------------------------------------------------------

/// An emulator serving on its own runtime, so the tests stay synchronous and the binary can
/// block while the emulator answers.
struct Org {
    // Dropped first: the server stops before its runtime goes.
    emu: RunningEmulator,
    rt: tokio::runtime::Runtime,
    _state: Option<TempDir>,
}

impl Org {
    fn start(builder: EmulatorBuilder) -> Org {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let emu = rt
            .block_on(builder.port(0).token(TOKEN).start())
            .expect("the emulator starts");
        Org {
            emu,
            rt,
            _state: None,
        }
    }

    /// An emulator loaded from `state` (the emulator's state-file format).
    fn with_state(state: Value, builder: EmulatorBuilder) -> Org {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        std::fs::write(&path, serde_json::to_vec_pretty(&state).unwrap()).unwrap();
        let mut org = Org::start(builder.state_file(&path));
        org._state = Some(dir);
        org
    }

    fn url(&self) -> &str {
        self.emu.url()
    }

    fn stats(&self) -> StatsSnapshot {
        self.emu.stats()
    }

    /// Changes a user directly in the "admin console": a PATCH over HTTP, as anyone could.
    fn patch_user(&self, id: &str, operations: Value) {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let url = format!("{}/Users/{id}", self.url());
        let status = self.rt.block_on(async {
            reqwest::Client::builder()
                .no_proxy()
                .build()
                .unwrap()
                .patch(url)
                .bearer_auth(TOKEN)
                .json(&json!({"schemas": [PATCH_OP], "Operations": operations}))
                .send()
                .await
                .unwrap()
                .status()
        });
        assert!(status.is_success(), "PATCH answered {status}");
    }
}

/// A config directory: `roster.yaml`, `users/people.yaml`, and `groups/teams.yaml` when given.
fn config(settings: &str, users: &str, groups: Option<&str>) -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("roster.yaml"), settings).unwrap();
    std::fs::create_dir(dir.path().join("users")).unwrap();
    std::fs::write(dir.path().join("users/people.yaml"), users).unwrap();
    if let Some(groups) = groups {
        std::fs::create_dir(dir.path().join("groups")).unwrap();
        std::fs::write(dir.path().join("groups/teams.yaml"), groups).unwrap();
    }
    dir
}

/// The binary, with a clean environment: no colour, no URL or token from the caller's shell.
fn roster() -> Command {
    let mut cmd = Command::cargo_bin("roster").expect("binary builds");
    cmd.env("NO_COLOR", "1")
        .env_remove("ROSTER_ASANA_URL")
        .env_remove("ASANA_TOKEN");
    cmd
}

/// `roster ARGS -C DIR --asana-url URL` with the emulator's token in `ASANA_TOKEN`.
fn run(org: &Org, dir: &Path, args: &[&str]) -> Output {
    run_env(org, dir, args, &[])
}

/// [`run`] with more environment variables.
fn run_env(org: &Org, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    roster()
        .envs(env.iter().copied())
        .env("ASANA_TOKEN", TOKEN)
        .args(args)
        .arg("-C")
        .arg(dir)
        .arg("--asana-url")
        .arg(org.url())
        .output()
        .expect("roster runs")
}

/// `roster show FILE ARGS -C DIR`: no network, no token.
fn show(dir: &Path, file: &Path, args: &[&str]) -> Output {
    roster()
        .arg("show")
        .arg(file)
        .args(args)
        .arg("-C")
        .arg(dir)
        .output()
        .expect("roster runs")
}

/// `plan --format json`, which must succeed, parsed.
#[track_caller]
fn plan_json(org: &Org, dir: &Path) -> Value {
    let out = run(org, dir, &["plan", "--format", "json"]);
    assert_exit(&out, 0);
    serde_json::from_slice(&out.stdout).expect("plan --format json prints JSON")
}

/// Every change as `address action`, in plan order.
fn actions(plan: &Value) -> Vec<String> {
    plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{} {}",
                c["address"].as_str().unwrap(),
                c["action"].as_str().unwrap()
            )
        })
        .collect()
}

/// The one change to `address` with `action`.
#[track_caller]
fn change<'a>(plan: &'a Value, address: &str, action: &str) -> &'a Value {
    let found: Vec<&Value> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["address"] == address && c["action"] == action)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "{address} {action} in {:#}",
        plan["changes"]
    );
    found[0]
}

/// A change's attributes as path -> (before, after).
fn attributes(change: &Value) -> BTreeMap<String, (Value, Value)> {
    change["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["path"].as_str().unwrap().to_string(),
                (a["before"].clone(), a["after"].clone()),
            )
        })
        .collect()
}

/// A team change's members as (key, id).
fn members(change: &Value) -> Vec<(String, Value)> {
    change["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["key"].as_str().unwrap().to_string(), m["id"].clone()))
        .collect()
}

fn unmanaged_keys(plan: &Value) -> Vec<&str> {
    plan["unmanaged"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["key"].as_str().unwrap())
        .collect()
}

fn ent(attr: &str) -> String {
    format!("{ENTERPRISE}:{attr}")
}

// ---- the organisation most tests plan against ---------------------------------------------

const ALICE: &str = "1204000000000001";
const BOB: &str = "1204000000000002";
const CAROL: &str = "1204000000000003";
const DAVE: &str = "1204000000000004";
const ERIN: &str = "1204000000000005";
const FRANK: &str = "1204000000000007";
const GRACE: &str = "1204000000000008";
const JUDY: &str = "1204000000000011";

fn live_user(id: &str, user_name: &str, attributes: Value) -> Value {
    let mut a = json!({
        "userName": user_name,
        "active": true,
        "name": {"formatted": user_name},
        "emails": [{"type": "work", "value": user_name, "primary": true}],
    });
    for (k, v) in attributes.as_object().unwrap() {
        a[k] = v.clone();
    }
    json!({"id": id, "attributes": a})
}

/// Live Asana: alice with every default-mapped attribute set (managed by bob), bob and carol,
/// dave (the files disable him), erin (nobody declares her), two service accounts the policy
/// protects, frank (declared with different case), grace (her email changes), judy
/// (deprovisioned already, undeclared), and the Platform team.
fn org_state() -> Value {
    json!({
        "format": "roster-emulator-state/1",
        "users": [
            live_user(BOB, "bob@example.com", json!({"title": "Director"})),
            live_user(ALICE, "alice@example.com", json!({
                "name": {"formatted": "Alice Old"},
                "title": "Engineer",
                "addresses": [{"type": "work", "country": "NL", "region": "Noord-Holland", "locality": "Amsterdam"}],
                "phoneNumbers": [{"type": "work", "value": "+31 20 555 0100"}],
                ENTERPRISE: {
                    "department": "Engineering",
                    "employeeNumber": "1001",
                    "costCenter": "CC-100",
                    "organization": "Northwind",
                    "division": "Product",
                    "manager": {"value": BOB},
                },
            })),
            live_user(CAROL, "carol@example.com", json!({"title": "Engineer", ENTERPRISE: {"manager": {"value": BOB}}})),
            live_user(DAVE, "dave@example.com", json!({})),
            live_user(ERIN, "erin@example.com", json!({})),
            live_user("1204000000000006", "svc-ci@example.com", json!({})),
            live_user(FRANK, "frank@example.com", json!({"title": "Analyst"})),
            live_user(GRACE, "grace@example.com", json!({})),
            live_user("1204000000000009", "svc-bot@example.com", json!({})),
            live_user(JUDY, "judy@example.com", json!({"active": false})),
        ],
        "groups": [
            {"id": "1204000000000100", "displayName": "Platform", "members": [ALICE, CAROL, ERIN]},
        ],
    })
}

fn settings(unmanaged: &str) -> String {
    format!("version: 1\npolicy:\n  unmanaged: {unmanaged}\n  protected: [\"svc-*@example.com\"]\n")
}

/// The declarations. Alice differs in every default-mapped attribute (and in the case of her
/// userPrincipalName); heidi and ivan are new, ivan managed by heidi.
const USERS: &str = r#"users:
  - userPrincipalName: Alice@Example.COM
    mail: alice.smith@example.com
    displayName: Alice Smith
    jobTitle: Staff Engineer
    department: Platform
    manager: carol@example.com
    employeeId: "2001"
    employeeOrgData: { costCenter: CC-200, division: Infrastructure }
    companyName: Northwind Labs
    country: GB
    state: England
    city: London
    telephoneNumber: "+44 20 7946 0000"
  - userPrincipalName: bob@example.com
    mail: bob@example.com
    displayName: bob@example.com
    jobTitle: Director
  - userPrincipalName: carol@example.com
    mail: carol@example.com
    displayName: carol@example.com
    jobTitle: Engineer
    manager: bob@example.com
  - userPrincipalName: dave@example.com
    accountEnabled: false
  - userPrincipalName: svc-ci@example.com
    accountEnabled: false
  - userPrincipalName: FRANK@example.com
    mail: Frank@Example.com
    displayName: frank@example.com
    jobTitle: Analyst
  - userPrincipalName: grace@example.com
    mail: grace.hopper@example.com
    displayName: grace@example.com
  - userPrincipalName: heidi@example.com
    mail: heidi@example.com
    displayName: Heidi
    jobTitle: Engineer
    manager: bob@example.com
  - userPrincipalName: ivan@example.com
    mail: ivan@example.com
    displayName: Ivan
    manager: heidi@example.com
"#;

const GROUPS: &str = r#"groups:
  - displayName: Platform
    members: [alice@example.com, bob@example.com, heidi@example.com]
  - displayName: Design
    members: [carol@example.com, ivan@example.com]
"#;

fn org() -> Org {
    Org::with_state(org_state(), Emulator::builder())
}

fn org_config(unmanaged: &str) -> TempDir {
    config(&settings(unmanaged), USERS, Some(GROUPS))
}

// ---- what the plan says -------------------------------------------------------------------

#[test]
fn plan_lists_every_change_of_the_organisation() {
    let org = org();
    let dir = org_config("report");
    let plan = plan_json(&org, dir.path());
    assert_eq!(
        actions(&plan),
        [
            r#"user["alice@example.com"] update"#,
            r#"user["dave@example.com"] deprovision"#,
            r#"user["grace@example.com"] update"#,
            r#"user["heidi@example.com"] create"#,
            r#"user["ivan@example.com"] create"#,
            r#"group["Design"] create"#,
            r#"group["Platform"] add_members"#,
            r#"group["Platform"] remove_members"#,
        ]
    );
    assert_eq!(
        plan["summary"],
        json!({"create": 3, "update": 2, "reactivate": 0, "deprovision": 1,
               "add_members": 1, "remove_members": 1,
               // bob, carol, frank; svc-ci (protected, disabled in the files)
               "no_op": 4, "unmanaged": 1})
    );
    // The text form says the same, ending with the summary line.
    let text = run(&org, dir.path(), &["plan"]);
    assert_exit(&text, 0);
    assert!(
        stdout(&text).trim_end().ends_with(
            "Plan: 3 to create, 2 to update, 1 to deprovision, 2 team membership changes; \
             4 unchanged, 1 unmanaged.\nSeats: +3, \u{2212}1 (net +2)"
        ),
        "{}",
        stdout(&text)
    );
}

#[test]
fn create_sends_every_mapped_attribute() {
    let org = org();
    let plan = plan_json(&org, org_config("report").path());
    let heidi = change(&plan, r#"user["heidi@example.com"]"#, "create");
    assert_eq!(heidi["id"], Value::Null);
    let created: BTreeMap<String, Value> = attributes(heidi)
        .into_iter()
        .map(|(path, (before, after))| {
            assert_eq!(before, Value::Null, "{path}");
            (path, after)
        })
        .collect();
    assert_eq!(
        created,
        BTreeMap::from([
            ("active".to_string(), json!(true)),
            (
                "emails[type eq \"work\"].value".to_string(),
                json!("heidi@example.com")
            ),
            ("name.formatted".to_string(), json!("Heidi")),
            ("title".to_string(), json!("Engineer")),
            ("userName".to_string(), json!("heidi@example.com")),
            (ent("manager"), json!("bob@example.com")),
        ])
    );
}

#[test]
fn update_covers_every_default_mapped_attribute() {
    let org = org();
    let plan = plan_json(&org, org_config("report").path());
    let alice = change(&plan, r#"user["alice@example.com"]"#, "update");
    assert_eq!(alice["id"], ALICE);
    let pair = |before: &str, after: &str| (json!(before), json!(after));
    // userName differs only in case, so it is not among the changes; `active` is unchanged.
    assert_eq!(
        attributes(alice),
        BTreeMap::from([
            ("name.formatted".into(), pair("Alice Old", "Alice Smith")),
            (
                "emails[type eq \"work\"].value".into(),
                pair("alice@example.com", "alice.smith@example.com")
            ),
            ("title".into(), pair("Engineer", "Staff Engineer")),
            (ent("department"), pair("Engineering", "Platform")),
            // References are shown by userName, resolved from the live manager's id.
            (ent("manager"), pair("bob@example.com", "carol@example.com")),
            (ent("employeeNumber"), pair("1001", "2001")),
            (ent("costCenter"), pair("CC-100", "CC-200")),
            (ent("organization"), pair("Northwind", "Northwind Labs")),
            (ent("division"), pair("Product", "Infrastructure")),
            (
                "addresses[type eq \"work\"].country".into(),
                pair("NL", "GB")
            ),
            (
                "addresses[type eq \"work\"].region".into(),
                pair("Noord-Holland", "England")
            ),
            (
                "addresses[type eq \"work\"].locality".into(),
                pair("Amsterdam", "London")
            ),
            (
                "phoneNumbers[type eq \"work\"].value".into(),
                pair("+31 20 555 0100", "+44 20 7946 0000")
            ),
        ])
    );
}

#[test]
fn a_user_name_differing_only_in_case_is_a_no_op() {
    // frank@example.com is declared as FRANK@example.com with mail Frank@Example.com.
    let org = org();
    let plan = plan_json(&org, org_config("report").path());
    let frank: Vec<String> = actions(&plan)
        .into_iter()
        .filter(|a| a.to_lowercase().contains("frank"))
        .collect();
    assert_eq!(frank, Vec::<String>::new());
    assert!(!unmanaged_keys(&plan).contains(&"frank@example.com"));
    // The same alone: one declared user, one live user, nothing to do.
    let org = Org::with_state(
        json!({"format": "roster-emulator-state/1",
               "users": [live_user(FRANK, "frank@example.com", json!({}))]}),
        Emulator::builder(),
    );
    let dir = config(
        "version: 1\n",
        "users:\n  - userPrincipalName: Frank@EXAMPLE.com\n    mail: FRANK@example.COM\n    displayName: frank@example.com\n",
        None,
    );
    let out = run(&org, dir.path(), &["plan", "--detailed-exitcode"]);
    assert_exit(&out, 0);
    assert!(
        stdout(&out).contains("No changes. Asana matches the configuration."),
        "{}",
        stdout(&out)
    );
}

#[test]
fn an_email_change_is_an_update_not_a_delete_and_create() {
    let org = org();
    let plan = plan_json(&org, org_config("deprovision").path());
    let grace: Vec<String> = actions(&plan)
        .into_iter()
        .filter(|a| a.contains("grace"))
        .collect();
    assert_eq!(grace, [r#"user["grace@example.com"] update"#]);
    let update = change(&plan, r#"user["grace@example.com"]"#, "update");
    assert_eq!(update["id"], GRACE);
    assert_eq!(
        attributes(update),
        BTreeMap::from([(
            "emails[type eq \"work\"].value".to_string(),
            (
                json!("grace@example.com"),
                json!("grace.hopper@example.com")
            )
        )])
    );
}

#[test]
fn account_enabled_false_deprovisions() {
    let org = org();
    let plan = plan_json(&org, org_config("report").path());
    let dave = change(&plan, r#"user["dave@example.com"]"#, "deprovision");
    assert_eq!(dave["id"], DAVE);
    assert_eq!(dave["reason"], "accountEnabled is false");
    assert_eq!(dave["attributes"], json!([]));
    assert_eq!(plan["deprovision_gate"]["deprovisions"], 1);
    // Only active users count: judy is deprovisioned already.
    assert_eq!(plan["deprovision_gate"]["live_active_users"], 9);
    let text = stdout(&run(&org, org_config("report").path(), &["plan"]));
    assert!(
        text.contains(
            r#"# user["dave@example.com"] will be deprovisioned (irreversible in Asana): accountEnabled is false"#
        ),
        "{text}"
    );
}

#[test]
fn unmanaged_ignore_neither_reports_nor_deprovisions() {
    let org = org();
    let plan = plan_json(&org, org_config("ignore").path());
    assert_eq!(plan["unmanaged"], json!([]));
    assert_eq!(plan["summary"]["unmanaged"], 0);
    assert!(!actions(&plan).iter().any(|a| a.contains("erin")));
    assert_eq!(plan["summary"]["deprovision"], 1, "dave only");
}

#[test]
fn unmanaged_report_lists_undeclared_active_unprotected_users() {
    let org = org();
    let plan = plan_json(&org, org_config("report").path());
    // Not the protected service accounts, not judy (deprovisioned already).
    assert_eq!(
        plan["unmanaged"],
        json!([{"kind": "user", "key": "erin@example.com", "id": ERIN}])
    );
    assert!(!actions(&plan).iter().any(|a| a.contains("erin")));
    let text = stdout(&run(&org, org_config("report").path(), &["plan"]));
    assert!(
        text.contains("1 live users are not declared (policy.unmanaged: report):")
            && text.contains(&format!(r#"? user["erin@example.com"] (id {ERIN})"#)),
        "{text}"
    );
}

#[test]
fn unmanaged_deprovision_deprovisions_undeclared_users_but_not_protected_ones() {
    let org = org();
    let plan = plan_json(&org, org_config("deprovision").path());
    let erin = change(&plan, r#"user["erin@example.com"]"#, "deprovision");
    assert_eq!(erin["id"], ERIN);
    assert_eq!(
        erin["reason"],
        "not declared (policy.unmanaged: deprovision)"
    );
    let deprovisioned: Vec<String> = actions(&plan)
        .into_iter()
        .filter(|a| a.ends_with(" deprovision"))
        .collect();
    assert_eq!(
        deprovisioned,
        [
            r#"user["dave@example.com"] deprovision"#,
            r#"user["erin@example.com"] deprovision"#,
        ]
    );
    assert_eq!(plan["unmanaged"], json!([]));
    assert_eq!(plan["deprovision_gate"]["deprovisions"], 2);
}

#[test]
fn protected_users_are_never_deprovisioned() {
    let org = org();
    for policy in ["ignore", "report", "deprovision"] {
        let plan = plan_json(&org, org_config(policy).path());
        // svc-ci is declared with accountEnabled: false, svc-bot is not declared at all.
        assert!(
            !actions(&plan).iter().any(|a| a.contains("svc-")),
            "{policy}: {:?}",
            actions(&plan)
        );
        assert!(!unmanaged_keys(&plan).iter().any(|k| k.starts_with("svc-")));
        assert_eq!(
            plan["warnings"],
            json!([
                r#"user["svc-ci@example.com"] is protected by policy: it is not deprovisioned although the files disable it"#
            ]),
            "{policy}"
        );
    }
}

#[test]
fn team_membership_adds_and_removes() {
    let org = org();
    let plan = plan_json(&org, org_config("report").path());
    let add = change(&plan, r#"group["Platform"]"#, "add_members");
    assert_eq!(add["id"], "1204000000000100");
    // heidi does not exist yet: her id is known after apply.
    assert_eq!(
        members(add),
        [
            ("bob@example.com".to_string(), json!(BOB)),
            ("heidi@example.com".to_string(), Value::Null),
        ]
    );
    let remove = change(&plan, r#"group["Platform"]"#, "remove_members");
    assert_eq!(
        members(remove),
        [
            ("carol@example.com".to_string(), json!(CAROL)),
            ("erin@example.com".to_string(), json!(ERIN)),
        ]
    );
    let design = change(&plan, r#"group["Design"]"#, "create");
    assert_eq!(
        attributes(design),
        BTreeMap::from([
            ("displayName".to_string(), (Value::Null, json!("Design"))),
            (
                "members".to_string(),
                (
                    Value::Null,
                    json!(["carol@example.com", "ivan@example.com"])
                )
            ),
        ])
    );
    let text = stdout(&run(&org, org_config("report").path(), &["plan"]));
    assert!(
        text.contains(r#"+ member "heidi@example.com" (known after apply)"#)
            && text.contains(r#"- member "erin@example.com""#),
        "{text}"
    );
}

#[test]
fn manager_references_resolve_to_live_and_planned_users() {
    let org = org();
    let plan = plan_json(&org, org_config("report").path());
    let manager = ent("manager");
    // A new user managed by a live user, and one managed by a user created in the same plan.
    let heidi = attributes(change(&plan, r#"user["heidi@example.com"]"#, "create"));
    assert_eq!(heidi[&manager], (Value::Null, json!("bob@example.com")));
    let ivan = attributes(change(&plan, r#"user["ivan@example.com"]"#, "create"));
    assert_eq!(ivan[&manager], (Value::Null, json!("heidi@example.com")));
    // A changed manager shows both by userName; carol's unchanged manager is no change.
    let alice = attributes(change(&plan, r#"user["alice@example.com"]"#, "update"));
    assert_eq!(
        alice[&manager],
        (json!("bob@example.com"), json!("carol@example.com"))
    );
    assert!(!actions(&plan).iter().any(|a| a.contains("carol")));
}

// ---- saved plans and show -----------------------------------------------------------------

#[test]
fn a_saved_plan_shows_the_same_plan_in_every_format() {
    let org = org();
    let dir = org_config("report");
    let file = dir.path().join("plan.json");
    for format in ["text", "json", "markdown"] {
        let planned = run(
            &org,
            dir.path(),
            &["plan", "--format", format, "--out", file.to_str().unwrap()],
        );
        assert_exit(&planned, 0);
        assert!(
            stderr(&planned).contains("Saved the plan to"),
            "{}",
            stderr(&planned)
        );
        let requests = org.stats().requests;
        let shown = show(dir.path(), &file, &["--format", format]);
        assert_exit(&shown, 0);
        assert_eq!(stdout(&shown), stdout(&planned), "{format}");
        assert_eq!(org.stats().requests, requests, "show sent a request");
        assert!(
            !stderr(&shown).contains("warning"),
            "{format}: {}",
            stderr(&shown)
        );
        assert!(
            stderr(&shown).contains(&format!("against {}", org.url())),
            "{}",
            stderr(&shown)
        );
    }
    let saved: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(saved["kind"], "roster-plan");
    assert!(
        saved["config_digest"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    // Every touched live object is fingerprinted; creates record that the user was absent.
    assert_eq!(
        saved["fingerprints"][r#"user["heidi@example.com"]"#],
        json!({"state": "absent"})
    );
    assert_eq!(
        saved["fingerprints"][r#"user["alice@example.com"]"#]["id"],
        ALICE
    );
    assert_eq!(
        saved["fingerprints"][r#"group["Platform"]"#]["id"],
        "1204000000000100"
    );
    // Markdown of the saved plan carries the PR-comment marker and the summary table.
    let md = stdout(&show(dir.path(), &file, &["--format", "markdown"]));
    assert!(md.starts_with("<!-- roster-plan -->"), "{md}");
    assert!(md.contains("| 3 | 2 | 1 | 0 | 1 | 1 | 4 | 1 |"), "{md}");
    // The file holds no secret.
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(!text.contains(TOKEN) && !text.contains("DO-NOT-LEAK"));
}

#[test]
fn show_warns_but_succeeds_when_the_config_changed_after_the_plan() {
    let org = org();
    let dir = org_config("report");
    let file = dir.path().join("plan.json");
    assert_exit(
        &run(&org, dir.path(), &["plan", "--out", file.to_str().unwrap()]),
        0,
    );
    std::fs::write(
        dir.path().join("users/more.yaml"),
        "users:\n  - userPrincipalName: zoe@example.com\n",
    )
    .unwrap();
    for format in ["text", "json", "markdown"] {
        let shown = show(dir.path(), &file, &["--format", format]);
        assert_exit(&shown, 0);
        assert!(
            stderr(&shown).contains("warning: the config in")
                && stderr(&shown).contains("changed since this plan was made"),
            "{}",
            stderr(&shown)
        );
        // The plan shown is the saved one, not a new one: zoe is not in it.
        assert!(!stdout(&shown).contains("zoe"), "{}", stdout(&shown));
        assert!(stdout(&shown).contains("heidi@example.com"));
    }
}

// ---- drift --------------------------------------------------------------------------------

/// Two users and a team, declared exactly as they are live.
fn clean_org() -> (Org, TempDir) {
    let org = Org::with_state(
        json!({"format": "roster-emulator-state/1",
               "users": [
                   live_user(BOB, "bob@example.com", json!({"title": "Director"})),
                   live_user(CAROL, "carol@example.com", json!({"title": "Engineer", ENTERPRISE: {"manager": {"value": BOB}}})),
               ],
               "groups": [{"id": "1204000000000100", "displayName": "Platform", "members": [BOB, CAROL]}]}),
        Emulator::builder(),
    );
    let dir = config(
        &settings("report"),
        r#"users:
  - userPrincipalName: bob@example.com
    mail: bob@example.com
    displayName: bob@example.com
    jobTitle: Director
  - userPrincipalName: carol@example.com
    mail: carol@example.com
    displayName: carol@example.com
    jobTitle: Engineer
    manager: bob@example.com
"#,
        Some(
            "groups:\n  - displayName: Platform\n    members: [bob@example.com, carol@example.com]\n",
        ),
    );
    (org, dir)
}

#[test]
fn drift_is_clean_then_finds_a_title_changed_in_asana() {
    let (org, dir) = clean_org();
    let clean = run(&org, dir.path(), &["drift"]);
    assert_exit(&clean, 0);
    assert_eq!(
        stdout(&clean),
        "No drift: Asana matches the configuration.\n"
    );

    // Someone edits carol's title in the admin console.
    org.patch_user(
        CAROL,
        json!([{"op": "replace", "path": "title", "value": "Principal Engineer"}]),
    );
    let text = run(&org, dir.path(), &["drift"]);
    assert_exit(&text, 2);
    assert!(
        stdout(&text)
            .contains(r#"user["carol@example.com"]: title: "Principal Engineer" → "Engineer""#),
        "{}",
        stdout(&text)
    );
    let json_out = run(&org, dir.path(), &["drift", "--format", "json"]);
    assert_exit(&json_out, 2);
    let drift: Value = serde_json::from_slice(&json_out.stdout).unwrap();
    assert_eq!(
        drift["attributes"],
        json!([{"address": r#"user["carol@example.com"]"#,
                "attributes": [{"path": "title", "before": "Principal Engineer", "after": "Engineer"}]}])
    );
    let md = run(&org, dir.path(), &["drift", "--format", "markdown"]);
    assert_exit(&md, 2);
    assert!(
        stdout(&md).starts_with("<!-- roster-drift -->"),
        "{}",
        stdout(&md)
    );
    // Drift reads; it never writes, not even to put the title back.
    assert_eq!(org.stats().writes, 1, "only the test's own PATCH");
}

#[test]
fn drift_reports_undeclared_users_whatever_the_policy() {
    let org = org();
    let out = run(
        &org,
        org_config("ignore").path(),
        &["drift", "--format", "json"],
    );
    assert_exit(&out, 2);
    let drift: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        drift["unmanaged"],
        json!([{"key": "erin@example.com", "id": ERIN}])
    );
    assert_eq!(
        drift["should_be_deprovisioned"],
        json!([r#"user["dave@example.com"]"#])
    );
}

// ---- read-only and secrets ----------------------------------------------------------------

#[test]
fn plan_drift_and_check_send_only_gets() {
    let org = org();
    let dir = org_config("deprovision");
    let file = dir.path().join("plan.json");
    assert_exit(
        &run(&org, dir.path(), &["plan", "--out", file.to_str().unwrap()]),
        0,
    );
    assert_exit(&run(&org, dir.path(), &["drift"]), 2);
    assert_exit(&run(&org, dir.path(), &["check"]), 0);
    let stats = org.stats();
    assert!(stats.requests >= 5, "{stats:?}");
    assert_eq!(stats.writes, 0, "{stats:?}");
    assert_eq!(stats.reads, stats.requests, "{stats:?}");
    assert_eq!(
        stats.by_method.keys().collect::<Vec<_>>(),
        ["GET"],
        "{stats:?}"
    );
}

#[test]
fn the_token_appears_nowhere_even_at_vvv() {
    let org = org();
    let dir = org_config("report");
    let file = dir.path().join("plan.json");
    let mut outputs = vec![
        run(
            &org,
            dir.path(),
            &["-vvv", "plan", "--out", file.to_str().unwrap()],
        ),
        run(&org, dir.path(), &["-vvv", "plan", "--format", "json"]),
        run(&org, dir.path(), &["-vvv", "plan", "--format", "markdown"]),
        run(&org, dir.path(), &["-vvv", "drift", "--format", "json"]),
        run(&org, dir.path(), &["-vvv", "check"]),
        show(dir.path(), &file, &["-vvv", "--format", "json"]),
    ];
    // A wrong token is not echoed either.
    let wrong = format!("{TOKEN}-wrong");
    outputs.push(
        roster()
            .env("ASANA_TOKEN", &wrong)
            .args(["-vvv", "plan", "-C"])
            .arg(dir.path())
            .arg("--asana-url")
            .arg(org.url())
            .output()
            .unwrap(),
    );
    // Verbose output really was verbose: every request line is logged at -vv and above.
    assert!(
        stderr(&outputs[0]).contains("scim: GET ") && stderr(&outputs[0]).contains("/Users?"),
        "{}",
        stderr(&outputs[0])
    );
    for o in &outputs {
        for text in [stdout(o), stderr(o)] {
            assert!(!text.contains(TOKEN), "the token leaked:\n{text}");
            // Not even a recognisable part of it.
            assert!(!text.contains("DO-NOT-LEAK"), "the token leaked:\n{text}");
        }
    }
    let saved = std::fs::read_to_string(&file).unwrap();
    assert!(!saved.contains("DO-NOT-LEAK"), "{saved}");
}

// ---- exit codes ---------------------------------------------------------------------------

#[test]
fn an_invalid_config_exits_1_and_sends_nothing() {
    let org = org();
    let dir = config(
        "version: 1\n",
        "users:\n  - userPrincipalName: alice@example.com\n    jobTitel: Engineer\n",
        None,
    );
    for command in [
        &["plan"][..],
        &["plan", "--detailed-exitcode"],
        &["drift"],
        &["check"],
    ] {
        let out = run(&org, dir.path(), command);
        assert_exit(&out, 1);
        assert!(
            stderr(&out).contains("users/people.yaml:3:5")
                && stderr(&out).contains("nothing was sent to Asana"),
            "{command:?}: {}",
            stderr(&out)
        );
        assert_eq!(stdout(&out), "", "{command:?}");
    }
    assert_eq!(org.stats().requests, 0, "{:?}", org.stats());
}

#[test]
fn plan_exits_0_with_changes_and_detailed_exitcode_2_or_0() {
    let org = org();
    let changes = org_config("report");
    assert_exit(&run(&org, changes.path(), &["plan"]), 0);
    assert_exit(
        &run(&org, changes.path(), &["plan", "--detailed-exitcode"]),
        2,
    );
    let (clean, dir) = clean_org();
    let out = run(&clean, dir.path(), &["plan", "--detailed-exitcode"]);
    assert_exit(&out, 0);
    assert!(stdout(&out).starts_with("No changes."), "{}", stdout(&out));
    assert_exit(&run(&clean, dir.path(), &["plan"]), 0);
}

#[test]
fn an_unreachable_url_exits_1_in_plain_words() {
    // A port nobody listens on: bound, then closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = config("version: 1\n", "users: []\n", None);
    let out = roster()
        .env("ASANA_TOKEN", TOKEN)
        .args(["plan", "-C"])
        .arg(dir.path())
        .arg("--asana-url")
        .arg(format!("http://127.0.0.1:{port}/api/1.0/scim"))
        .output()
        .unwrap();
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(
        err.starts_with("error: ")
            && err.contains("could not connect")
            && err.contains("hint: ")
            && err.contains(
                "check the URL (--target-url, ROSTER_TARGET_URL, or the url in roster.yaml)"
            ),
        "{err}"
    );
    assert_eq!(stdout(&out), "");
}

#[test]
fn a_bad_token_exits_1_with_the_401_hint() {
    let org = org();
    let dir = org_config("report");
    for command in [&["plan"][..], &["drift"], &["check"]] {
        let out = roster()
            .env("ASANA_TOKEN", "not-the-token")
            .args(command)
            .arg("-C")
            .arg(dir.path())
            .arg("--asana-url")
            .arg(org.url())
            .output()
            .unwrap();
        assert_exit(&out, 1);
        let err = stderr(&out);
        assert!(
            err.contains("401 Unauthorized")
                && err.contains(
                    "hint: check the service-account token (it may be wrong, revoked or expired)"
                ),
            "{command:?}: {err}"
        );
    }
    // The emulator answered 401 and nothing else.
    let stats = org.stats();
    assert_eq!(
        stats.by_status.keys().collect::<Vec<_>>(),
        ["401"],
        "{stats:?}"
    );
}

#[test]
fn a_missing_token_variable_exits_1_and_names_it() {
    let org = org();
    let settings = "version: 1\nasana:\n  token_env: ROSTER_TEST_TOKEN_NOT_SET\n";
    let dir = config(settings, "users: []\n", None);
    for command in [&["plan"][..], &["drift"], &["check"]] {
        let out = roster()
            .env_remove("ROSTER_TEST_TOKEN_NOT_SET")
            .env("ASANA_TOKEN", TOKEN)
            .args(command)
            .arg("-C")
            .arg(dir.path())
            .arg("--asana-url")
            .arg(org.url())
            .output()
            .unwrap();
        assert_exit(&out, 1);
        assert!(
            stderr(&out)
                .contains("error: the environment variable ROSTER_TEST_TOKEN_NOT_SET is not set"),
            "{command:?}: {}",
            stderr(&out)
        );
    }
    assert_eq!(org.stats().requests, 0);
    // The variable roster.yaml names is the one read.
    let out = roster()
        .env("ROSTER_TEST_TOKEN_NOT_SET", TOKEN)
        .args(["plan", "-C"])
        .arg(dir.path())
        .arg("--asana-url")
        .arg(org.url())
        .output()
        .unwrap();
    assert_exit(&out, 0);
}

#[test]
fn a_user_deprovisioned_in_asana_is_not_planned_into_a_team() {
    // judy is deprovisioned live and declared active: Asana cannot reactivate her, and refuses
    // her as a team member, so an add could never apply and the plan would never converge.
    let org = Org::with_state(
        json!({"format": "roster-emulator-state/1",
               "users": [
                   live_user(BOB, "bob@example.com", json!({})),
                   live_user(JUDY, "judy@example.com", json!({"active": false})),
               ],
               "groups": [{"id": "1204000000000100", "displayName": "Platform", "members": [BOB]}]}),
        Emulator::builder(),
    );
    let dir = config(
        "version: 1\n",
        "users:\n  - userPrincipalName: bob@example.com\n    mail: bob@example.com\n    displayName: bob@example.com\n  - userPrincipalName: judy@example.com\n",
        Some(
            "groups:\n  - displayName: Platform\n    members: [bob@example.com, judy@example.com]\n",
        ),
    );
    let plan = plan_json(&org, dir.path());
    assert_eq!(actions(&plan), Vec::<String>::new());
    assert_eq!(plan["reactivation_blocked"], json!(["judy@example.com"]));
    assert!(
        plan["warnings"][0]
            .as_str()
            .unwrap()
            .contains("cannot reactivate users through SCIM"),
        "{:#}",
        plan["warnings"]
    );
    // Drift still reports her, once, in her own category.
    let out = run(&org, dir.path(), &["drift", "--format", "json"]);
    assert_exit(&out, 2);
    let drift: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        drift["deprovisioned_but_declared"],
        json!([r#"user["judy@example.com"]"#])
    );
    assert_eq!(drift["membership"], json!([]));
}

// ---- scale and faults ---------------------------------------------------------------------

const SEED_TITLES: [&str; 5] = ["Engineer", "Designer", "Analyst", "Manager", "Sales Rep"];
const SEED_DEPARTMENTS: [&str; 4] = ["Engineering", "Design", "Finance", "Sales"];

/// The declaration of the emulator's n-th seeded user (1-based), exactly as it is seeded
/// (`Store::seed`: titles in turn, each block of ten users in the next department), with
/// `title` instead of the seeded title when given.
fn seeded_user(n: usize, title: Option<&str>, out: &mut String) {
    let i = n - 1;
    out.push_str(&format!(
        "  - userPrincipalName: user{n:06}@seed.example\n    mail: user{n:06}@seed.example\n    \
         displayName: User {n:06}\n    jobTitle: {}\n    department: {}\n    employeeId: E{n:06}\n",
        title.unwrap_or(SEED_TITLES[i % SEED_TITLES.len()]),
        SEED_DEPARTMENTS[(i / 10) % SEED_DEPARTMENTS.len()],
    ));
}

/// Users 1..=1,999 of 2,000 seeded ones, as seeded except user 7's title (seeded "Designer"),
/// plus a new user: one create, one update, 1,998 unchanged, one unmanaged (user 2,000).
fn seeded_config() -> TempDir {
    let mut users = String::from("users:\n");
    for n in 1..2000 {
        seeded_user(n, (n == 7).then_some("Staff Designer"), &mut users);
    }
    users.push_str("  - userPrincipalName: new@example.com\n    mail: new@example.com\n");
    config("version: 1\n", &users, None)
}

#[track_caller]
fn assert_seeded_plan(plan: &Value) {
    assert_eq!(
        actions(plan),
        [
            r#"user["new@example.com"] create"#,
            r#"user["user000007@seed.example"] update"#,
        ]
    );
    assert_eq!(
        attributes(change(plan, r#"user["user000007@seed.example"]"#, "update")),
        BTreeMap::from([(
            "title".to_string(),
            (json!("Designer"), json!("Staff Designer"))
        )])
    );
    assert_eq!(plan["summary"]["no_op"], 1998);
    assert_eq!(unmanaged_keys(plan), ["user002000@seed.example"]);
}

#[test]
fn the_seeded_organisation_plans_as_declared() {
    // The baseline for the fault tests below: no faults, no limits hit.
    let org = Org::start(Emulator::builder().seed_users(2000));
    assert_seeded_plan(&plan_json(&org, seeded_config().path()));
    let stats = org.stats();
    // 20 pages of users, one of teams.
    assert_eq!((stats.requests, stats.rate_limited), (21, 0), "{stats:?}");
}

#[test]
fn retries_survive_503s_and_resets_end_to_end() {
    let org = Org::start(
        Emulator::builder()
            .seed_users(2000)
            .faults(FaultConfig {
                // With this seed the 21 reads meet 503s and resets.
                seed: 7,
                p_503: 0.10,
                p_reset: 0.05,
                latency_ms: 200,
                jitter_ms: 200,
                ..FaultConfig::default()
            })
            // 200-400 emulated ms of latency is 10-20 real ms.
            .time_scale(20.0),
    );
    let out = run(
        &org,
        seeded_config().path(),
        &["-v", "plan", "--format", "json"],
    );
    assert_exit(&out, 0);
    assert_seeded_plan(&serde_json::from_slice(&out.stdout).unwrap());
    let stats = org.stats();
    assert!(
        stats.by_status.get("503").copied().unwrap_or(0) > 0 && stats.resets > 0,
        "the faults were not injected: {stats:?}"
    );
    assert_eq!(stats.by_status.get("200").copied(), Some(21), "{stats:?}");
    assert_eq!(stats.writes, 0);
    assert!(stderr(&out).contains("retried"), "{}", stderr(&out));
}

#[test]
fn rate_limited_reads_wait_and_still_plan_correctly() {
    // 10 requests per emulated minute at 60x: 10 a real second, so the 21 reads of the plan
    // hit the limit and must wait out the 429s. Their Retry-After is in emulated seconds, so
    // roster's clock runs 60 times faster too (the test-only ROSTER_TEST_TIME_SCALE).
    let org = Org::start(
        Emulator::builder()
            .seed_users(2000)
            .limits(LimitsConfig {
                requests_per_minute: 10,
                ..LimitsConfig::default()
            })
            .time_scale(60.0),
    );
    let out = run_env(
        &org,
        seeded_config().path(),
        &["plan", "--format", "json"],
        &[("ROSTER_TEST_TIME_SCALE", "60")],
    );
    assert_exit(&out, 0);
    let plan: Value = serde_json::from_slice(&out.stdout).expect("plan --format json prints JSON");
    assert_seeded_plan(&plan);
    let stats = org.stats();
    assert!(stats.rate_limited > 0, "the limit was not hit: {stats:?}");
    assert_eq!(stats.by_status.get("200").copied(), Some(21), "{stats:?}");
}

#[test]
fn ten_thousand_creates_fit_in_a_pull_request_comment() {
    let org = Org::start(Emulator::builder());
    let mut users = String::from("users:\n");
    for i in 0..10_000 {
        users.push_str(&format!(
            "  - userPrincipalName: new{i:05}@example.com\n    mail: new{i:05}@example.com\n    \
             displayName: New User {i:05}\n    jobTitle: Engineer\n    department: Engineering\n"
        ));
    }
    let dir = config("version: 1\n", &users, None);
    let out = run(&org, dir.path(), &["plan", "--format", "markdown"]);
    assert_exit(&out, 0);
    let md = stdout(&out);
    assert!(
        md.chars().count() < 65_000,
        "{} characters",
        md.chars().count()
    );
    assert!(md.contains("| 10000 | 0 | 0 | 0 | 0 | 0 | 0 | 0 |"), "{md}");
    assert!(md.contains("more changes not shown"), "no truncation note");
    assert!(md.contains("new00000@example.com"));
    assert!(
        md.trim_end().ends_with(
            "**Plan: 10000 to create, 0 to update, 0 to deprovision, 0 team membership changes; \
             0 unchanged, 0 unmanaged.**"
        ),
        "{}",
        &md[md.len().saturating_sub(300)..]
    );
    assert_eq!(md.matches("```").count() % 2, 0, "unbalanced code fences");
}
