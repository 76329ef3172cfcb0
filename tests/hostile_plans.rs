//! Issue 11, items 2, 5 and 7, through the binary: a tampered saved plan is refused before it
//! writes anything (each tamper resealed with a correct digest too, so the structural checks
//! are what refuse it, not only the digest); `--changed-since` keeps the percent deprovision
//! cap; the audit log is a compliance record that stops apply when it cannot be written.

#![allow(clippy::disallowed_methods)] // tests set up files, run programs and read the clock

mod apply_support;
mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use apply_support::{
    Harness, TOKEN, assert_code, outcome_lines, read_lines, stderr, stdout, user_name_counts,
};
use roster::emulator::Emulator;
use roster::wire::saved::{contents_digest, digest};
use serde_json::{Value, json};
use support::{Recorded, Reply, ScriptServer, git};

const USERS: &str = "users:
  - userPrincipalName: ada@ex.test
    jobTitle: Lead
  - userPrincipalName: bob@ex.test
    jobTitle: Engineer
  - userPrincipalName: cy@ex.test
    jobTitle: Engineer
";
const GROUPS: &str = "groups:\n  - displayName: Platform\n    members: [bob@ex.test, cy@ex.test]\n";

/// Ada, Bob and Cy live as Engineers, Platform with Bob. The files make Ada a Lead and add Cy
/// to Platform: the plan updates Ada and adds Cy (who is fingerprinted as referred to).
struct Org {
    h: Harness,
    ada: String,
    bob: String,
    cy: String,
    team: String,
}

fn org() -> Org {
    let h = Harness::start(Emulator::builder());
    let ids = h.seed_users(&[
        ("ada@ex.test", "Engineer"),
        ("bob@ex.test", "Engineer"),
        ("cy@ex.test", "Engineer"),
    ]);
    let team = json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Platform", "members": [{ "value": ids[1] }] });
    let team = h.block_on(h.client().create_group(&team)).unwrap();
    h.write_config("version: 1\n", Some(USERS), Some(GROUPS));
    Org {
        ada: ids[0].clone(),
        bob: ids[1].clone(),
        cy: ids[2].clone(),
        team: team.id().unwrap(),
        h,
    }
}

impl Org {
    /// `roster plan --out`, and the file as JSON.
    fn plan(&self) -> (PathBuf, Value) {
        let path = self.h.path("plan.json");
        assert_code(&self.h.run("plan", &["--out", path.to_str().unwrap()]), 0);
        let value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        (path, value)
    }

    /// `roster apply FILE` with the emulator's counters reset first.
    fn apply(&self, path: &Path) -> Output {
        self.h.emu().reset_stats();
        self.h.run("apply", &[path.to_str().unwrap()])
    }

    fn title(&self, id: &str) -> String {
        let user = self.h.block_on(self.h.client().reader().get_user(id));
        user.unwrap().unwrap().0["title"]
            .as_str()
            .unwrap()
            .to_string()
    }

    fn active(&self, id: &str) -> bool {
        let live = self.h.live();
        live.users.iter().find(|u| u.id == id).unwrap().active
    }

    /// The digest a fingerprint of this user would record now.
    fn fingerprint_digest(&self, id: &str) -> String {
        let user = self.h.block_on(self.h.client().reader().get_user(id));
        digest(&user.unwrap().unwrap().0)
    }
}

/// Writes a plan file; `reseal` recomputes its digest, as an attacker who knows roster would.
fn save(path: &Path, plan: &Value, reseal: bool) {
    let mut plan = plan.clone();
    if reseal {
        plan["digest"] = json!(contents_digest(&plan));
    }
    std::fs::write(path, serde_json::to_vec_pretty(&plan).unwrap()).unwrap();
}

fn change_mut<'a>(plan: &'a mut Value, address: &str) -> &'a mut Value {
    plan["plan"]["changes"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|c| c["address"] == address)
        .unwrap_or_else(|| panic!("{address} is in the plan"))
}

const ADA: &str = r#"user["ada@ex.test"]"#;
const BOB: &str = r#"user["bob@ex.test"]"#;
const PLATFORM: &str = r#"group["Platform"]"#;

/// Saves the plan (resealed or not), applies it, and expects the refusal.
fn refused_as_saved(o: &Org, path: &Path, plan: &Value, reseal: bool, needles: &[&str]) {
    save(path, plan, reseal);
    assert_refused(o, &o.apply(path), needles);
}

/// The refusal, exit 1, and nothing written (by the emulator's own count).
fn assert_refused(o: &Org, out: &Output, needles: &[&str]) {
    assert_code(out, 1);
    let err = stderr(out);
    for n in needles {
        assert!(err.contains(n), "expected `{n}` in:\n{err}");
    }
    assert!(err.contains("nothing was applied"), "{err}");
    assert_eq!(o.h.stats().writes, 0, "{err}");
    assert_eq!(o.title(&o.ada), "Engineer");
    assert!(o.active(&o.bob));
}

#[test]
fn item2_an_untampered_plan_applies_and_the_file_carries_its_digest() {
    let o = org();
    let (path, plan) = o.plan();
    assert_eq!(plan["digest"], json!(contents_digest(&plan)));
    // The team records its members as read; Cy, added to it, is fingerprinted by id.
    assert_eq!(plan["fingerprints"][PLATFORM]["members"], json!([o.bob]));
    assert_eq!(
        plan["fingerprints"][r#"user["cy@ex.test"]"#],
        json!({ "state": "referenced", "id": o.cy, "user_name": "cy@ex.test" })
    );
    let out = o.apply(&path);
    assert_code(&out, 0);
    assert!(
        stderr(&out).contains("2 done, 0 failed"),
        "{}",
        stderr(&out)
    );
    assert_eq!(o.title(&o.ada), "Lead");
}

#[test]
fn item2_an_appended_deprovision_of_an_active_declared_user_is_refused() {
    let o = org();
    let (path, mut plan) = o.plan();
    let changes = plan["plan"]["changes"].as_array_mut().unwrap();
    changes.push(
        json!({ "address": BOB, "kind": "user", "key": "bob@ex.test",
        "action": "deprovision", "id": o.bob, "attributes": [] }),
    );
    plan["plan"]["summary"]["deprovision"] = json!(1);
    plan["plan"]["deprovision_gate"]["deprovisions"] = json!(1);

    // As edited: the digest no longer matches.
    refused_as_saved(
        &o,
        &path,
        &plan,
        false,
        &["the plan file was edited after roster wrote it"],
    );
    // Resealed: the deprovision has no fingerprint.
    refused_as_saved(
        &o,
        &path,
        &plan,
        true,
        &["change 3 (user[\"bob@ex.test\"] deprovision) has no fingerprint"],
    );
    // With a fingerprint forged from Bob's real resource, every check of the file passes and
    // the stale check finds Bob as planned: the config, which declares Bob enabled, refuses it.
    plan["fingerprints"][BOB] =
        json!({ "state": "present", "id": o.bob, "digest": o.fingerprint_digest(&o.bob) });
    refused_as_saved(
        &o,
        &path,
        &plan,
        true,
        &["the plan deprovisions user[\"bob@ex.test\"], and the config declares that user enabled"],
    );
}

#[test]
fn item2_an_update_whose_id_is_swapped_to_another_user_is_refused() {
    let o = org();
    let (path, mut plan) = o.plan();
    change_mut(&mut plan, ADA)["id"] = json!(o.bob);
    refused_as_saved(
        &o,
        &path,
        &plan,
        true,
        &[&format!(
            "change 1 (user[\"ada@ex.test\"] update) is for id {}, and its fingerprint for id {}",
            o.bob, o.ada
        )],
    );
    // The fingerprint's id swapped too: the stale check reads Bob, who is not what was planned.
    plan["fingerprints"][ADA]["id"] = json!(o.bob);
    save(&path, &plan, true);
    let out = o.apply(&path);
    assert_refused(
        &o,
        &out,
        &[
            "the plan is stale",
            "user[\"ada@ex.test\"] changed since the plan was made",
        ],
    );
    assert_eq!(o.title(&o.bob), "Engineer");
}

#[test]
fn item2_an_update_turned_into_a_deprovision_is_refused() {
    let o = org();
    let (path, mut plan) = o.plan();
    let ada = change_mut(&mut plan, ADA);
    ada["action"] = json!("deprovision");
    ada["attributes"] = json!([]);
    refused_as_saved(
        &o,
        &path,
        &plan,
        false,
        &["was edited after roster wrote it"],
    );
    // Resealed, the summary still counts an update.
    save(&path, &plan, true);
    assert_refused(
        &o,
        &o.apply(&path),
        &[
            "the plan's summary says 0 to create, 1 to update, 0 to deprovision, and its changes are 0 creates, 0 updates, 1 deprovisions",
        ],
    );
    // Summary fixed too: the config keeps Ada enabled.
    plan["plan"]["summary"]["update"] = json!(0);
    plan["plan"]["summary"]["deprovision"] = json!(1);
    plan["plan"]["deprovision_gate"]["deprovisions"] = json!(1);
    refused_as_saved(
        &o,
        &path,
        &plan,
        true,
        &["the plan deprovisions user[\"ada@ex.test\"], and the config declares that user enabled"],
    );
    assert!(o.active(&o.ada));
}

#[test]
fn item2_an_unknown_major_format_version_is_refused_before_any_request() {
    let o = org();
    let (path, mut plan) = o.plan();
    plan["plan"]["format_version"] = json!("9.0");
    save(&path, &plan, true);
    let out = o.apply(&path);
    assert_code(&out, 1);
    assert!(
        stderr(&out).contains("its format_version is `9.0`, and this roster reads 1.x"),
        "{}",
        stderr(&out)
    );
    assert_eq!(o.h.stats().requests, 0);
    // `show` cannot render it either.
    let shown = o.h.roster().arg("show").arg(&path).output().unwrap();
    assert_code(&shown, 1);
    assert!(stderr(&shown).contains("format_version is `9.0`"));
}

#[test]
fn item2_a_plan_with_empty_fingerprints_is_refused() {
    let o = org();
    let (path, mut plan) = o.plan();
    plan["fingerprints"] = json!({});
    save(&path, &plan, true);
    let out = o.apply(&path);
    assert_eq!(o.h.stats().requests, 0, "refused before any request");
    assert_refused(
        &o,
        &out,
        &[
            "change 2 (group[\"Platform\"] add_members) has no fingerprint",
            "change 1 (user[\"ada@ex.test\"] update) has no fingerprint",
            &format!(
                "the plan refers to user[\"cy@ex.test\"] as id {}, and no fingerprint records an id for it",
                o.cy
            ),
        ],
    );
}

#[test]
fn item2_a_swapped_team_member_id_is_refused() {
    let o = org();
    let (path, mut plan) = o.plan();
    change_mut(&mut plan, PLATFORM)["members"][0]["id"] = json!(o.ada);
    plan["plan"]["references"]["cy@ex.test"] = json!(o.ada);
    refused_as_saved(
        &o,
        &path,
        &plan,
        true,
        &[&format!(
            "change 2 (group[\"Platform\"] add_members): member cy@ex.test is given as id {}, and its fingerprint records id {}",
            o.ada, o.cy
        )],
    );
    // The referenced user's fingerprint swapped as well: the id now names Ada, not Cy.
    plan["fingerprints"][r#"user["cy@ex.test"]"#]["id"] = json!(o.ada);
    refused_as_saved(
        &o,
        &path,
        &plan,
        true,
        &[&format!(
            "user[\"cy@ex.test\"] was id {0} when planned, and id {0} is now `ada@ex.test`",
            o.ada
        )],
    );
    let team = o.h.block_on(o.h.client().reader().get_group(&o.team));
    assert_eq!(
        team.unwrap().unwrap().0["members"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn item2_a_plan_made_against_another_target_is_refused_naming_both() {
    let o = org();
    let (path, _) = o.plan();
    // Another emulator with the same users, and so the same ids.
    let other = Harness::start(Emulator::builder());
    other.seed_users(&[
        ("ada@ex.test", "Engineer"),
        ("bob@ex.test", "Engineer"),
        ("cy@ex.test", "Engineer"),
    ]);
    other.emu().reset_stats();
    let out =
        o.h.roster()
            .arg("-C")
            .arg(o.h.config_dir())
            .arg("apply")
            .arg(&path)
            .args(["--asana-url", &other.url()])
            .output()
            .unwrap();
    assert_code(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "the plan was made against `{}`, and this run targets `{}`",
            o.h.url(),
            other.url()
        )),
        "{err}"
    );
    assert_eq!(
        other.stats().requests,
        0,
        "nothing was sent to the other target"
    );
    // The same target written differently (a trailing slash) is the same target.
    let out =
        o.h.roster()
            .arg("-C")
            .arg(o.h.config_dir())
            .arg("apply")
            .arg(&path)
            .args(["--asana-url", &format!("{}/", o.h.url())])
            .output()
            .unwrap();
    assert_code(&out, 0);
    assert_eq!(o.title(&o.ada), "Lead");
}

#[test]
fn item2_a_plan_made_against_the_builtin_emulator_applies_only_there() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plan.json");
    let quickstart = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/quickstart");
    let state = quickstart.join("emulator-state.json");
    let roster = || {
        let mut cmd = assert_cmd::Command::new(env!("CARGO_BIN_EXE_roster"));
        cmd.env("NO_COLOR", "1")
            .env_remove("ROSTER_ASANA_URL")
            .arg("-C")
            .arg(&quickstart);
        cmd
    };
    let out = roster()
        .args(["plan", "--emulator", "--emulator-state"])
        .arg(&state)
        .arg("--out")
        .arg(&path)
        .output()
        .unwrap();
    assert_code(&out, 0);
    let plan: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(plan["target"], "emulator:built-in");

    let h = Harness::start(Emulator::builder());
    let out = roster()
        .env("ASANA_TOKEN", TOKEN)
        .arg("apply")
        .arg(&path)
        .args(["--asana-url", &h.url()])
        .output()
        .unwrap();
    assert_code(&out, 1);
    assert!(
        stderr(&out).contains(&format!(
            "the plan was made against `emulator:built-in`, and this run targets `{}`",
            h.url()
        )),
        "{}",
        stderr(&out)
    );
    assert_eq!(h.stats().requests, 0);

    let out = roster()
        .args(["apply", "--emulator", "--emulator-state"])
        .arg(&state)
        .arg(&path)
        .output()
        .unwrap();
    assert_code(&out, 0);
    assert!(stderr(&out).contains(" 0 failed"), "{}", stderr(&out));
}

#[test]
fn item2_team_membership_changed_since_the_plan_makes_it_stale() {
    let o = org();
    let (path, _) = o.plan();
    // Someone adds Ada to Platform after the plan was made.
    let patch = json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{ "op": "add", "path": "members", "value": [{ "value": o.ada }] }] });
    o.h.block_on(o.h.client().patch_group(&o.team, &patch, None))
        .unwrap();
    let out = o.apply(&path);
    assert_refused(
        &o,
        &out,
        &[
            "group[\"Platform\"] changed since the plan was made: its members changed (added ada@ex.test)",
        ],
    );
}

#[test]
fn item2_an_edited_plan_is_refused_by_apply_and_flagged_by_show() {
    let o = org();
    let (path, mut plan) = o.plan();
    change_mut(&mut plan, ADA)["attributes"][0]["after"] = json!("Director");
    save(&path, &plan, false);
    let shown =
        o.h.roster()
            .arg("-C")
            .arg(o.h.config_dir())
            .arg("show")
            .arg(&path)
            .output()
            .unwrap();
    assert_code(&shown, 0);
    assert!(
        stderr(&shown).contains("does not pass apply's checks; apply will refuse it")
            && stderr(&shown).contains("the plan file was edited after roster wrote it"),
        "{}",
        stderr(&shown)
    );
    assert!(
        stdout(&shown).contains("Director"),
        "show shows what the file holds"
    );
    assert_refused(
        &o,
        &o.apply(&path),
        &["the plan file was edited after roster wrote it"],
    );
    // Without its digest the edit cannot be told apart: refused too.
    plan.as_object_mut().unwrap().remove("digest");
    refused_as_saved(
        &o,
        &path,
        &plan,
        false,
        &["the plan file carries no digest"],
    );
}

// ---- item 5: the percent cap under --changed-since -------------------------------------------

fn eleven_users(disabled: usize) -> String {
    let mut s = String::from("users:\n");
    for i in 0..11 {
        s.push_str(&format!(
            "  - userPrincipalName: u{i:02}@ex.test\n    jobTitle: Engineer\n"
        ));
        if i < disabled {
            s.push_str("    accountEnabled: false\n");
        }
    }
    s
}

#[test]
fn item5_changed_since_with_60_percent_deprovisions_is_refused_and_the_plan_shows_the_cap() {
    let h = Harness::start(Emulator::builder());
    let names: Vec<String> = (0..11).map(|i| format!("u{i:02}@ex.test")).collect();
    let live: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "Engineer")).collect();
    h.seed_users(&live);
    h.write_config("version: 1\n", Some(&eleven_users(0)), None);
    let dir = h.config_dir();
    git(&dir, &["init", "-q"]);
    git(&dir, &["add", "-A"]);
    git(&dir, &["commit", "-qm", "eleven users"]);
    // The pull request disables 7 of the 11 active users (63.6%; the policy allows 10%).
    h.write_config("version: 1\n", Some(&eleven_users(7)), None);

    let planned = h.run("plan", &["--changed-since", "HEAD"]);
    assert_code(&planned, 0);
    let text = stdout(&planned);
    assert!(
        text.contains("Deprovision caps: count 25, and percent 10 of the 11 users the target lists (it cannot count active users alone).")
            && text.contains("7 deprovisions (63.6% of the 11 users the target lists) exceed the policy")
            && text.contains("apply will refuse without --allow-deprovisions 7"),
        "{text}"
    );
    let json: Value = serde_json::from_slice(
        &h.run("plan", &["--changed-since", "HEAD", "--format", "json"])
            .stdout,
    )
    .unwrap();
    let gate = &json["deprovision_gate"];
    assert_eq!(
        (
            &gate["live_active_users"],
            &gate["active_users_from"],
            &gate["requires_allow_deprovisions"]
        ),
        (&json!(11), &json!("target_total"), &json!(7)),
        "{gate}"
    );
    let md = stdout(&h.run("plan", &["--changed-since", "HEAD", "--format", "markdown"]));
    assert!(
        md.contains("> [!NOTE]\n> Deprovision caps: count 25, and percent 10 of the 11 users the target lists"),
        "{md}"
    );

    h.emu().reset_stats();
    let out = h.run("apply", &["--changed-since", "HEAD", "--auto-approve"]);
    assert_code(&out, 1);
    assert!(
        stderr(&out)
            .contains("the plan deprovisions 7 users (63.6% of the 11 users the target lists)")
            && stderr(&out).contains("run again with --allow-deprovisions 7"),
        "{}",
        stderr(&out)
    );
    assert_eq!(h.stats().writes, 0);
    let out = h.run(
        "apply",
        &[
            "--changed-since",
            "HEAD",
            "--auto-approve",
            "--allow-deprovisions",
            "7",
        ],
    );
    assert_code(&out, 0);
    assert_eq!(h.live().users.iter().filter(|u| u.active).count(), 4);
}

/// A scripted SCIM server holding `users` (userName, id), answering lookups by userName, with
/// `total` as the `totalResults` of a `count=1` listing (`None`: the field is absent) and
/// `active_total` for `filter=active eq true` (`None`: the filter is refused with 400).
fn counting_server(
    rt: &tokio::runtime::Runtime,
    users: Vec<(String, String)>,
    total: Option<u64>,
    active_total: Option<u64>,
) -> ScriptServer {
    let list = |resources: Vec<Value>, total: Option<u64>| {
        let mut page = json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "Resources": resources });
        if let Some(t) = total {
            page["totalResults"] = json!(t);
        }
        Reply::json(200, page)
    };
    rt.block_on(ScriptServer::start(move |r: &Recorded| {
        let user = |(name, id): &(String, String)| {
            json!({ "id": id, "userName": name, "active": true, "title": "Engineer" })
        };
        match (r.method.as_str(), r.path(), r.query("filter")) {
            ("GET", "/scim/Users", Some(f)) if f.starts_with("active") => match active_total {
                Some(t) => list(vec![user(&users[0])], Some(t)),
                None => Reply::json(400, json!({ "scimType": "invalidFilter", "detail": "no" })),
            },
            ("GET", "/scim/Users", Some(f)) => {
                let found: Vec<Value> = users
                    .iter()
                    .filter(|(n, _)| f.contains(&n.replace('@', "%40")))
                    .map(user)
                    .collect();
                let n = found.len() as u64;
                list(found, Some(n))
            }
            ("GET", "/scim/Users", None) => list(vec![user(&users[0])], total),
            ("GET", "/scim/Groups", _) => list(vec![], Some(0)),
            _ => Reply::json(404, json!({ "detail": "not here" })),
        }
    }))
}

#[test]
fn item5_the_cap_applied_follows_what_the_target_can_say() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path();
    std::fs::create_dir(config.join("users")).unwrap();
    std::fs::write(
        config.join("roster.yaml"),
        "version: 1\npolicy: { max_deprovisions: { count: 1, percent: 10 } }\n",
    )
    .unwrap();
    std::fs::write(config.join("users/u.yaml"), eleven_users(0)).unwrap();
    git(config, &["init", "-q"]);
    git(config, &["add", "-A"]);
    git(config, &["commit", "-qm", "eleven"]);
    std::fs::write(config.join("users/u.yaml"), eleven_users(2)).unwrap();
    let users: Vec<(String, String)> = (0..11)
        .map(|i| (format!("u{i:02}@ex.test"), format!("{}", 100 + i)))
        .collect();
    let cases = [
        // Filters on active: its count of active users.
        (
            Some(40),
            Some(20),
            "target_active",
            20,
            "Deprovision caps: count 1, and percent 10 of 20 active users (the target's count)",
        ),
        // Cannot say: only the count cap, and the plan says so.
        (
            None,
            None,
            "unknown",
            0,
            "Deprovision caps: count 1 only; the target did not say how many users it has, so the percent cap (10) is not applied",
        ),
    ];
    for (total, active, from, count, line) in cases {
        let server = counting_server(&rt, users.clone(), total, active);
        let plan = |format: &str| {
            assert_cmd::Command::new(env!("CARGO_BIN_EXE_roster"))
                .env("NO_COLOR", "1")
                .env("ASANA_TOKEN", TOKEN)
                .env_remove("ROSTER_ASANA_URL")
                .arg("-C")
                .arg(config)
                .args([
                    "plan",
                    "--changed-since",
                    "HEAD",
                    "--format",
                    format,
                    "--asana-url",
                    &server.base_url(),
                ])
                .output()
                .unwrap()
        };
        let out = plan("json");
        assert_code(&out, 0);
        let json: Value = serde_json::from_slice(&out.stdout).unwrap();
        let gate = &json["deprovision_gate"];
        assert_eq!(
            (&gate["active_users_from"], &gate["live_active_users"]),
            (&json!(from), &json!(count)),
            "{gate}"
        );
        // Two deprovisions exceed the count cap either way.
        assert_eq!(gate["requires_allow_deprovisions"], 2, "{gate}");
        let text = stdout(&plan("text"));
        assert!(text.contains(line), "{text}");
        assert!(server.requests().iter().all(|r| r.method == "GET"));
    }
}

// ---- item 7: the audit log as a compliance record -------------------------------------------

#[test]
fn item7_an_audit_log_that_is_not_a_regular_file_is_refused_before_any_request() {
    let o = org();
    let fifo = o.h.path("audit.fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let dir = o.h.path("a-directory");
    std::fs::create_dir(&dir).unwrap();
    for (path, what) in [
        (PathBuf::from("/proc/version"), "/proc"),
        (dir, "directory"),
        (fifo, "FIFO"),
    ] {
        o.h.emu().reset_stats();
        let out =
            o.h.roster()
                .arg("-C")
                .arg(o.h.config_dir())
                .args([
                    "apply",
                    "--auto-approve",
                    "--asana-url",
                    &o.h.url(),
                    "--audit-log",
                ])
                .arg(&path)
                .timeout(Duration::from_secs(60))
                .output()
                .unwrap();
        assert_code(&out, 1);
        assert!(
            stderr(&out).contains(&format!("cannot open the audit log `{}`", path.display())),
            "{what}: {}",
            stderr(&out)
        );
        assert_eq!(o.h.stats().requests, 0, "{what}");
    }
    assert_eq!(o.title(&o.ada), "Engineer");
}

/// Forty users to create.
fn forty() -> String {
    (0..40)
        .map(|i| format!("  - userPrincipalName: n{i:02}@ex.test\n"))
        .fold(String::from("users:\n"), |s, u| s + &u)
}

fn events(path: &Path, event: &str) -> Vec<Value> {
    read_lines(path)
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["event"] == event)
        .collect()
}

#[test]
fn item7_a_full_audit_log_stops_apply_sends_nothing_more_and_exits_1() {
    let h = Harness::start(Emulator::builder());
    h.write_config("version: 1\n", Some(&forty()), None);
    let log = h.path("audit.jsonl");
    // Earlier runs' records, then room for the start line and a few more: the file system
    // refuses the rest (RLIMIT_FSIZE, as a full disk would: EFBIG instead of ENOSPC).
    let old = format!(
        "{}\n",
        json!({ "event": "outcome", "run_id": "old", "object": "user[\"x\"]", "action": "create", "status": "success" })
    );
    std::fs::write(&log, old.repeat(100)).unwrap();
    let limit = (old.len() * 100 + 1_500) as libc::rlim_t;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_roster"));
    cmd.arg("-C")
        .arg(h.config_dir())
        .args([
            "apply",
            "--auto-approve",
            "--asana-url",
            &h.url(),
            "--audit-log",
        ])
        .arg(&log)
        .env("ASANA_TOKEN", TOKEN)
        .env("NO_COLOR", "1")
        .env_remove("ROSTER_ASANA_URL");
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, move || {
            let lim = libc::rlimit {
                rlim_cur: limit,
                rlim_max: limit,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // Writing past the limit fails with EFBIG instead of killing the process.
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            Ok(())
        });
    }
    h.emu().reset_stats();
    let out = assert_cmd::Command::from_std(cmd)
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    assert_code(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "error: the audit log `{}` could not be written (File too large",
            log.display()
        )) && err.contains("apply stopped sending changes"),
        "{err}"
    );
    let intents = events(&log, "intent");
    let writes = h.stats().writes as usize;
    assert!(writes < 40, "{writes} writes: the apply did not stop");
    // Every write the target saw was announced in the log first, and nothing else was sent.
    assert_eq!(writes, intents.len(), "{err}");
    assert_eq!(user_name_counts(&h.live()).len(), writes);
    let unsent = err
        .lines()
        .filter(|l| l.contains("not sent: the audit log could not be written"))
        .count();
    assert_eq!(unsent, 40 - writes, "{err}");
}

#[test]
fn item7_an_injected_failing_audit_writer_stops_the_executor() {
    use roster::apply::{self, audit::AuditLog};
    use std::sync::{Arc, Mutex};

    /// Takes `room` bytes, then fails as a full disk does.
    struct Full(usize, Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Full {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.0 == 0 {
                return Err(std::io::Error::from_raw_os_error(libc::ENOSPC));
            }
            let n = buf.len().min(self.0);
            self.0 -= n;
            self.1.lock().unwrap().extend_from_slice(&buf[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    let h = Harness::start(Emulator::builder());
    h.write_config("version: 1\n", Some(&forty()), None);
    let (config, _) = roster::config::load(&h.config_dir());
    let plan = roster::plan::plan(
        &config.unwrap(),
        &h.live(),
        roster::plan::Capabilities::ASANA,
        &Default::default(),
    );
    let written = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::new(AuditLog::to(
        Box::new(Full(2_000, written.clone())),
        "run".into(),
    ));
    log.start("t", None, &[]).unwrap();
    let options = apply::Options {
        target: apply::Target::ASANA,
        deprovision_with: roster::config::model::DeprovisionWith::Deactivate,
        etags: Default::default(),
        concurrency: 4,
        on_step: Arc::new(|_: &apply::StepResult| {}),
        audit: Some(log.clone()),
        now: Arc::new(|| "2026-01-01T00:00:00Z".to_string()),
    };
    h.emu().reset_stats();
    let report = h.block_on(apply::execute(&plan, &h.client(), options));
    assert!(
        report
            .audit_failure
            .as_deref()
            .is_some_and(|e| e.contains("No space left on device"))
    );
    assert!(report.failed());
    let text = String::from_utf8(written.lock().unwrap().clone()).unwrap();
    let intents = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["event"] == "intent")
        .count();
    let writes = h.stats().writes as usize;
    assert!(writes > 0 && writes < 40, "{writes}");
    assert_eq!(writes, intents);
    let unsent = report
        .results
        .iter()
        .filter(|r| {
            r.error()
                .as_deref()
                .is_some_and(|e| e.starts_with("not sent"))
        })
        .count();
    assert_eq!(unsent + writes, 40);
}

#[test]
fn item7_a_sigkill_leaves_no_write_without_its_intent_and_the_next_run_reports_it() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    std::fs::create_dir_all(config.join("users")).unwrap();
    std::fs::write(config.join("roster.yaml"), "version: 1\n").unwrap();
    let users: String = (0..5)
        .map(|i| format!("  - userPrincipalName: k{i}@ex.test\n"))
        .collect();
    std::fs::write(config.join("users/u.yaml"), format!("users:\n{users}")).unwrap();
    let log = dir.path().join("audit.jsonl");
    // A target that reads as empty and never answers a write: the kill always lands with the
    // writes in flight. On each write it notes whether the log already announced it.
    let announced = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let server = {
        let (log, announced) = (log.clone(), announced.clone());
        rt.block_on(ScriptServer::start(move |r: &Recorded| {
            if r.method == "GET" {
                return Reply::json(200, json!({ "totalResults": 0, "Resources": [] }));
            }
            let name = r.json()["userName"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let intent = events(&log, "intent")
                .iter()
                .any(|i| i["key"] == name.as_str());
            announced.lock().unwrap().push((name, intent));
            Reply::Hang
        }))
    };
    let mut child = Command::new(env!("CARGO_BIN_EXE_roster"))
        .arg("-C")
        .arg(&config)
        .args([
            "apply",
            "--auto-approve",
            "--asana-url",
            &server.base_url(),
            "--audit-log",
        ])
        .arg(&log)
        .env("ASANA_TOKEN", TOKEN)
        .env_remove("ROSTER_ASANA_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while announced.lock().unwrap().len() < 5 {
        assert!(
            child.try_wait().unwrap().is_none(),
            "apply ended before its writes"
        );
        assert!(
            Instant::now() < deadline,
            "apply is stuck before its writes"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let announced = announced.lock().unwrap().clone();
    assert!(
        announced.iter().all(|(_, intent)| *intent),
        "a write before its intent: {announced:?}"
    );
    assert_eq!(events(&log, "intent").len(), 5);
    assert!(outcome_lines(&log).is_empty());
    let killed = events(&log, "start")[0]["run_id"]
        .as_str()
        .unwrap()
        .to_string();

    // The next run with the same log says which changes were left without an outcome.
    let h = Harness::start(Emulator::builder());
    let rerun = || {
        h.roster()
            .arg("-C")
            .arg(&config)
            .args([
                "apply",
                "--auto-approve",
                "--asana-url",
                &h.url(),
                "--audit-log",
            ])
            .arg(&log)
            .output()
            .unwrap()
    };
    let out = rerun();
    assert_code(&out, 0);
    let err = stderr(&out);
    assert!(
        err.contains(
            "has 5 change(s) that an earlier run started and never recorded the outcome of"
        ) && err.contains(&format!("user[\"k0@ex.test\"] create (run {killed}")),
        "{err}"
    );
    assert_eq!(outcome_lines(&log).len(), 5);
    // Reported once: the run after that has nothing to say.
    let out = rerun();
    assert_code(&out, 0);
    assert!(!stderr(&out).contains("earlier run"), "{}", stderr(&out));
}
