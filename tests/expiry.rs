//! Issue 14, expiring access, through the binary against an emulator the test holds: a user
//! whose `expires` was yesterday is deprovisioned by `apply` and one expiring tomorrow is not
//! but is warned about; a membership that ended yesterday is removed and its user kept;
//! `plan --at` a year ahead deprovisions both, with the deprovision gates still in force, and
//! such a what-if plan is refused by `apply`; a bad `expires` is a located error and sends
//! nothing.

#![allow(clippy::disallowed_methods)] // tests set up files, run programs and read the clock

mod apply_support;

use apply_support::{Harness, assert_code, stderr, stdout};
use roster::emulator::Emulator;
use serde_json::{Value, json};

/// The date `days` from today (UTC), as `YYYY-MM-DD`.
fn date(days: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let (y, m, d) = roster::civil_time::civil_from_days(now.div_euclid(86_400) + days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The percent cap out of the way: one of three users is a third.
const SETTINGS: &str = "version: 1\npolicy: { max_deprovisions: { count: 25, percent: 100 } }\n";

struct Org {
    h: Harness,
    yesterday: String,
    tomorrow: String,
}

/// Ada stays; Yan's access ended yesterday; Tom's ends tomorrow, and his Platform membership
/// ended yesterday. All three are live and in Platform.
fn org(settings: &str) -> Org {
    let h = Harness::start(Emulator::builder());
    let ids = h.seed_users(&[
        ("ada@ex.test", "Engineer"),
        ("yan@ex.test", "Contractor"),
        ("tom@ex.test", "Contractor"),
    ]);
    let members: Vec<Value> = ids.iter().map(|id| json!({ "value": id })).collect();
    let team = json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Platform", "members": members });
    h.block_on(h.client().create_group(&team)).unwrap();
    let (yesterday, tomorrow) = (date(-1), date(1));
    let users = format!(
        "users:
  - userPrincipalName: ada@ex.test
    jobTitle: Engineer
  - userPrincipalName: yan@ex.test
    jobTitle: Contractor
    expires: {yesterday}
  - userPrincipalName: tom@ex.test
    jobTitle: Contractor
    expires: {tomorrow}
"
    );
    let groups = format!(
        "groups:
  - displayName: Platform
    members:
      - ada@ex.test
      - yan@ex.test
      - {{ user: tom@ex.test, expires: {yesterday} }}
"
    );
    h.write_config(settings, Some(&users), Some(&groups));
    Org {
        h,
        yesterday,
        tomorrow,
    }
}

impl Org {
    fn active(&self, user_name: &str) -> bool {
        let live = self.h.live();
        live.users
            .iter()
            .find(|u| u.user_name == user_name)
            .unwrap()
            .active
    }

    fn platform(&self) -> Vec<String> {
        let live = self.h.live();
        let team = live.groups.iter().find(|g| g.display_name == "Platform");
        let mut names: Vec<String> = (team.unwrap().member_ids.iter())
            .map(|id| {
                let u = live.users.iter().find(|u| &u.id == id).unwrap();
                u.user_name.clone()
            })
            .collect();
        names.sort();
        names
    }

    fn plan_json(&self, args: &[&str]) -> Value {
        let out = self
            .h
            .run("plan", &[&["--format", "json"][..], args].concat());
        assert_code(&out, 0);
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

fn changes(plan: &Value) -> Vec<String> {
    plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let mut members: Vec<&str> = (c["members"].as_array().into_iter().flatten())
                .map(|m| m["key"].as_str().unwrap())
                .collect();
            members.sort();
            format!(
                "{} {} {}: {}",
                c["address"].as_str().unwrap(),
                c["action"].as_str().unwrap(),
                members.join(","),
                c["reason"].as_str().unwrap_or("")
            )
        })
        .collect()
}

#[test]
fn issue14_apply_deprovisions_the_user_who_expired_and_warns_of_the_one_who_expires_tomorrow() {
    let o = org(SETTINGS);
    let (yesterday, tomorrow) = (&o.yesterday, &o.tomorrow);
    let plan = o.plan_json(&[]);
    assert_eq!(
        changes(&plan),
        [
            format!(r#"user["yan@ex.test"] deprovision : expired on {yesterday}"#),
            format!(
                r#"group["Platform"] remove_members tom@ex.test,yan@ex.test: membership of "tom@ex.test" expired on {yesterday}"#
            ),
        ]
    );
    assert_eq!(
        plan["expiring"],
        json!([{ "address": "user[\"tom@ex.test\"]", "user": "tom@ex.test",
                 "expires": tomorrow, "ends_at": format!("{}T00:00:00Z", date(2)),
                 "days_left": 1, "message": "expires tomorrow" }])
    );
    assert_eq!(
        plan["seats"],
        json!({ "added": 0, "removed": 1, "net": -1 })
    );
    // The pull-request comment says it in words.
    let md = o.h.run("plan", &["--format", "markdown"]);
    assert_code(&md, 0);
    assert!(
        stdout(&md).contains(&format!(
            "- `user[\"tom@ex.test\"]` expires tomorrow ({tomorrow})"
        )),
        "{}",
        stdout(&md)
    );
    assert!(stdout(&md).contains("**Seats: +0, \u{2212}1 (net \u{2212}1)**"));

    let out = o.h.run("apply", &["--auto-approve"]);
    assert_code(&out, 0);
    let text = stdout(&out);
    assert!(
        text.contains(&format!(
            "# user[\"yan@ex.test\"] will be deprovisioned (irreversible in Asana): expired on {yesterday}"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "  user[\"tom@ex.test\"] expires tomorrow ({tomorrow})"
        )),
        "{text}"
    );
    assert!(!o.active("yan@ex.test"));
    assert!(o.active("tom@ex.test"));
    assert!(o.active("ada@ex.test"));
    // Tom's membership ended; Yan, deprovisioned, left the team as a disabled user does.
    assert_eq!(o.platform(), ["ada@ex.test"]);
    // And the next plan has nothing left to do, still warning of tomorrow.
    let again = o.plan_json(&[]);
    assert_eq!(changes(&again), Vec::<String>::new());
    assert_eq!(again["expiring"][0]["message"], "expires tomorrow");
}

#[test]
fn issue14_plan_at_a_year_ahead_deprovisions_both_and_the_gates_still_hold() {
    let o = org(
        "version: 1\npolicy:\n  max_deprovisions: { count: 1, percent: 100 }\n  seat_price: { amount: 12.5, currency: EUR }\n",
    );
    let ahead = format!("{}T00:00:00Z", date(365));
    let plan = o.plan_json(&["--at", &ahead]);
    assert_eq!(plan["evaluated_at"], ahead.as_str());
    let deprovisions: Vec<String> = changes(&plan)
        .into_iter()
        .filter(|c| c.contains(" deprovision "))
        .collect();
    assert_eq!(
        deprovisions,
        [
            format!(
                r#"user["tom@ex.test"] deprovision : expired on {}"#,
                o.tomorrow
            ),
            format!(
                r#"user["yan@ex.test"] deprovision : expired on {}"#,
                o.yesterday
            ),
        ]
    );
    assert_eq!(plan["expiring"], json!([]));
    assert_eq!(plan["deprovision_gate"]["requires_allow_deprovisions"], 2);
    assert_eq!(plan["seats"]["monthly_cost_change"], -25.0);
    // The text says what apply would do about it.
    let text = o.h.run("plan", &["--at", &ahead]);
    assert!(
        stdout(&text).contains("apply will refuse without --allow-deprovisions 2"),
        "{}",
        stdout(&text)
    );
    assert!(
        stdout(&text).contains("Seats: +0, \u{2212}2 (net \u{2212}2): \u{2212}25.00 EUR a month")
    );
    assert!(
        stderr(&text).contains(&format!("note: planned as of {ahead} (--at), not now")),
        "{}",
        stderr(&text)
    );
    // Saved, the what-if plan cannot be applied: nothing is written.
    let file = o.h.path("ahead.json");
    let saved =
        o.h.run("plan", &["--at", &ahead, "--out", file.to_str().unwrap()]);
    assert_code(&saved, 0);
    o.h.emu().reset_stats();
    let out = o.h.run(
        "apply",
        &[file.to_str().unwrap(), "--allow-deprovisions", "2"],
    );
    assert_code(&out, 1);
    assert!(
        stderr(&out).contains(&format!(
            "the plan was evaluated as of {ahead}, which is still ahead"
        )),
        "{}",
        stderr(&out)
    );
    assert_eq!(o.h.stats().writes, 0);
    assert!(o.active("tom@ex.test") && o.active("yan@ex.test"));
    // A fresh apply (now) is held by the gate too, until the count is named.
    let out = o.h.run("apply", &["--auto-approve"]);
    assert_code(&out, 0);
    assert!(!o.active("yan@ex.test") && o.active("tom@ex.test"));
    // The drift report as of a year ahead lists both as due.
    let drift = o.h.run("drift", &["--format", "json", "--at", &ahead]);
    let drift: Value = serde_json::from_slice(&drift.stdout).unwrap();
    assert_eq!(
        drift["should_be_deprovisioned"],
        json!(["user[\"tom@ex.test\"]"])
    );
    assert_eq!(drift["evaluated_at"], ahead.as_str());
}

#[test]
fn issue14_a_saved_plan_applies_as_evaluated() {
    let o = org(SETTINGS);
    let file = o.h.path("plan.json");
    let out = o.h.run("plan", &["--out", file.to_str().unwrap()]);
    assert_code(&out, 0);
    let saved: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(saved["plan"]["format_version"], "1.3");
    assert!(
        saved["plan"]["evaluated_at"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    // Applied as it was reviewed; and again with --replan, which plans at the same instant.
    let out = o.h.run("apply", &[file.to_str().unwrap(), "--replan"]);
    assert_code(&out, 0);
    assert!(!o.active("yan@ex.test") && o.active("tom@ex.test"));
}

#[test]
fn issue14_a_bad_expires_is_a_located_error_and_nothing_is_sent() {
    let o = org(SETTINGS);
    o.h.write_config(
        "version: 1\n",
        Some("users:\n  - userPrincipalName: ada@ex.test\n    expires: 2026-02-30\n  - userPrincipalName: bo@ex.test\n    expires: soon\n"),
        Some("groups:\n  - displayName: Platform\n    members:\n      - { user: ada@ex.test, expires: 2026-13-01 }\n"),
    );
    o.h.emu().reset_stats();
    for command in ["plan", "apply", "drift"] {
        let args: &[&str] = if command == "apply" {
            &["--auto-approve"]
        } else {
            &[]
        };
        let out = o.h.run(command, args);
        assert_code(&out, 1);
        let err = stderr(&out);
        for needle in [
            "error: invalid `expires`: 2026-02-30 is not a day: February 2026 has 28 days",
            "users/users.yaml:3:14",
            "error: invalid `expires`: `soon` is not a date",
            "users/users.yaml:5:14",
            "error: invalid `expires`: `2026-13-01` has no month 13",
            "groups/groups.yaml:4:39",
        ] {
            assert!(err.contains(needle), "{command}: `{needle}` in:\n{err}");
        }
    }
    assert_eq!(o.h.stats().requests, 0);
}

#[test]
fn issue14_apply_expired_only_carries_out_expiries_and_leaves_the_rest() {
    let o = org(SETTINGS);
    // Ada's title edited in the files: a change for a reviewed apply, not for the nightly one.
    let users = std::fs::read_to_string(o.h.config_dir().join("users/users.yaml")).unwrap();
    std::fs::write(
        o.h.config_dir().join("users/users.yaml"),
        users.replacen("jobTitle: Engineer", "jobTitle: Lead", 1),
    )
    .unwrap();
    o.h.emu().reset_stats();
    let out = o.h.run("apply", &["--auto-approve", "--expired-only"]);
    assert_code(&out, 0);
    assert!(!stdout(&out).contains("ada@ex.test"), "{}", stdout(&out));
    assert!(!o.active("yan@ex.test") && o.active("tom@ex.test"));
    assert_eq!(o.platform(), ["ada@ex.test"]);
    // The deprovision and the team's removals: two writes, no update of Ada.
    assert_eq!(o.h.stats().writes, 2);
    let plan = o.plan_json(&[]);
    assert_eq!(changes(&plan), [r#"user["ada@ex.test"] update : "#]);
    // Not with a plan file: a saved plan is applied as reviewed.
    let out = o.h.run("apply", &["plan.json", "--expired-only"]);
    assert_code(&out, 2);
    assert!(
        stderr(&out).contains("cannot be used with"),
        "{}",
        stderr(&out)
    );
}
