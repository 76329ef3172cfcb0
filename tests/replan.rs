//! Issue 13, item 4, through the binary against an emulator the test holds: `roster apply
//! PLAN_FILE --replan` plans again before any write and compares the fresh plan with the saved
//! one as change sets. An unchanged world applies; a config edit that changes, removes or
//! adds a change is refused with that difference named and nothing written (by the emulator's
//! own count); an edit made in the emulator to a user the plan does not touch, whose
//! declaration is unchanged, is a warning and the saved plan applies; a plan file without the
//! declarations' digests is refused by `--replan` (and still applies without it); without the
//! flag nothing changes; `--replan` composes with `--changed-since`.

#![allow(clippy::disallowed_methods)] // tests set up files, run programs and read the clock

mod apply_support;
mod support;

use std::path::{Path, PathBuf};
use std::process::Output;

use apply_support::{Harness, assert_code, stderr};
use roster::emulator::Emulator;
use roster::wire::saved::contents_digest;
use serde_json::{Value, json};
use support::git;

/// The config of the reviewed plan: Ada becomes a Lead and Cy joins Platform.
const USERS: &str = "users:
  - userPrincipalName: ada@ex.test
    jobTitle: Lead
  - userPrincipalName: bob@ex.test
    jobTitle: Engineer
  - userPrincipalName: cy@ex.test
    jobTitle: Engineer
  - userPrincipalName: dee@ex.test
    jobTitle: Engineer
";
const GROUPS: &str = "groups:\n  - displayName: Platform\n    members: [bob@ex.test, cy@ex.test]\n";

/// Ada, Bob, Cy and Dee live as Engineers; Platform has Bob.
struct Org {
    h: Harness,
    ids: Vec<String>,
}

const ADA: usize = 0;
const DEE: usize = 3;

fn org() -> Org {
    let h = Harness::start(Emulator::builder());
    let ids = h.seed_users(&[
        ("ada@ex.test", "Engineer"),
        ("bob@ex.test", "Engineer"),
        ("cy@ex.test", "Engineer"),
        ("dee@ex.test", "Engineer"),
    ]);
    let team = json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Platform", "members": [{ "value": ids[1] }] });
    h.block_on(h.client().create_group(&team)).unwrap();
    h.write_config("version: 1\n", Some(USERS), Some(GROUPS));
    Org { h, ids }
}

impl Org {
    /// `roster plan --out plan.json ARGS`: the reviewed plan.
    fn plan(&self, args: &[&str]) -> PathBuf {
        let path = self.h.path("plan.json");
        let out = self.h.run(
            "plan",
            &[&["--out", path.to_str().unwrap()][..], args].concat(),
        );
        assert_code(&out, 0);
        path
    }

    /// `roster apply FILE ARGS`, with the emulator's counters reset first.
    fn apply(&self, path: &Path, args: &[&str]) -> Output {
        self.h.emu().reset_stats();
        self.h
            .run("apply", &[&[path.to_str().unwrap()][..], args].concat())
    }

    fn title(&self, user: usize) -> String {
        let found = self
            .h
            .block_on(self.h.client().reader().get_user(&self.ids[user]));
        found.unwrap().unwrap().0["title"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Platform's members by userName, sorted.
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

    /// Someone changes a user's title directly in the emulator, over its SCIM API.
    fn retitle_live(&self, user: usize, title: &str) {
        let patch = json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{ "op": "replace", "value": { "title": title } }] });
        let client = self.h.client();
        self.h
            .block_on(client.patch_user(&self.ids[user], &patch, None))
            .unwrap();
    }

    fn edit_users(&self, users: &str) {
        self.h
            .write_config("version: 1\n", Some(users), Some(GROUPS));
    }

    /// The refusal: exit 1 (as for a stale plan), each needle on stderr, the hint to plan
    /// again on a new pull request, and nothing written.
    fn assert_refused(&self, out: &Output, needles: &[&str]) {
        assert_code(out, 1);
        let err = stderr(out);
        assert!(
            err.contains(
                "error: the reviewed plan differs from a fresh plan of the config and the target \
                 (--replan); nothing was applied:"
            ),
            "{err}"
        );
        for n in needles {
            assert!(err.contains(n), "expected `{n}` in:\n{err}");
        }
        assert!(err.contains("plan again on a new pull request"), "{err}");
        assert_eq!(self.h.stats().writes, 0, "{err}");
        assert_eq!(self.title(ADA), "Engineer");
        assert_eq!(self.platform(), ["bob@ex.test"]);
    }

    /// The saved plan was carried out: Ada is a Lead and Cy is in Platform, in two writes.
    fn assert_applied(&self, out: &Output) {
        assert_code(out, 0);
        let err = stderr(out);
        assert!(err.contains("2 done, 0 failed"), "{err}");
        assert_eq!(self.h.stats().writes, 2, "{err}");
        assert_eq!(self.title(ADA), "Lead");
        assert_eq!(self.platform(), ["bob@ex.test", "cy@ex.test"]);
    }
}

#[test]
fn issue13_replan_an_unchanged_world_applies() {
    let o = org();
    let plan = o.plan(&[]);
    let out = o.apply(&plan, &["--replan"]);
    o.assert_applied(&out);
    let err = stderr(&out);
    assert!(!err.contains("warning"), "{err}");
    assert!(!err.contains("config changed"), "{err}");
}

#[test]
fn issue13_replan_refuses_a_config_edit_that_changes_a_reviewed_change() {
    let o = org();
    let plan = o.plan(&[]);
    o.edit_users(&USERS.replace("Lead", "Manager"));
    let out = o.apply(&plan, &["--replan"]);
    o.assert_refused(
        &out,
        &[
            "note: the config changed since this plan was made; --replan compares",
            r#"  - user["ada@ex.test"] update: differs from the reviewed plan: title reviewed "Engineer" -> "Lead", now "Engineer" -> "Manager""#,
        ],
    );
}

#[test]
fn issue13_replan_refuses_a_config_edit_that_removes_a_reviewed_change() {
    let o = org();
    let plan = o.plan(&[]);
    o.h.write_config(
        "version: 1\n",
        Some(USERS),
        Some("groups:\n  - displayName: Platform\n    members: [bob@ex.test]\n"),
    );
    let out = o.apply(&plan, &["--replan"]);
    o.assert_refused(
        &out,
        &[r#"  - group["Platform"] add_members: in the reviewed plan, and not in a fresh plan"#],
    );
    assert_eq!(
        stderr(&out).matches("\n  - ").count(),
        1,
        "{}",
        stderr(&out)
    );
}

#[test]
fn issue13_replan_refuses_a_config_edit_that_adds_a_change() {
    let o = org();
    let plan = o.plan(&[]);
    o.edit_users(&format!("{USERS}  - userPrincipalName: eve@ex.test\n"));
    let out = o.apply(&plan, &["--replan"]);
    o.assert_refused(
        &out,
        &[
            r#"  - user["eve@ex.test"] create: only in a fresh plan, because the declaration of user["eve@ex.test"] was added since the plan"#,
        ],
    );
    let live = o.h.live();
    assert!(!live.users.iter().any(|u| u.user_name == "eve@ex.test"));
}

#[test]
fn issue13_replan_warns_about_drift_in_a_user_the_plan_does_not_touch_and_applies() {
    let o = org();
    let plan = o.plan(&[]);
    // Dee is not in the plan, and her declaration is as reviewed.
    o.retitle_live(DEE, "Intern");
    let out = o.apply(&plan, &["--replan"]);
    o.assert_applied(&out);
    let err = stderr(&out);
    assert!(
        err.contains(
            "warning: a fresh plan also has 1 change(s) in objects whose declarations are as \
             they were when the plan was made (the target changed since, or a --changed-since \
             plan did not look at them); they are not applied now and are left for the next \
             plan:\n  - user[\"dee@ex.test\"] update (title)"
        ),
        "{err}"
    );
    // Left for the next plan: Dee keeps what the target has, and a plan now shows it.
    assert_eq!(o.title(DEE), "Intern");
    let next = o.h.run("plan", &[]);
    assert!(
        String::from_utf8_lossy(&next.stdout).contains(r#"user["dee@ex.test"] will be updated"#)
    );
}

#[test]
fn issue13_without_replan_a_config_edit_changes_nothing_of_todays_apply() {
    let o = org();
    let plan = o.plan(&[]);
    o.edit_users(&USERS.replace("Lead", "Manager"));
    o.retitle_live(DEE, "Intern");
    let out = o.apply(&plan, &[]);
    o.assert_applied(&out);
    let err = stderr(&out);
    assert!(
        err.contains(
            "note: the config changed since this plan was made; apply carries out the plan as \
             reviewed"
        ),
        "{err}"
    );
    assert!(!err.contains("fresh plan"), "{err}");
}

/// A plan file as an older roster wrote it: format 1.1, no `declarations`, a correct digest.
fn as_older_roster(path: &Path) {
    let mut plan: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    assert!(plan["declarations"]["objects"][r#"user["dee@ex.test"]"#].is_string());
    plan.as_object_mut().unwrap().remove("declarations");
    plan["plan"]["format_version"] = json!("1.1");
    plan["digest"] = json!(contents_digest(&plan));
    std::fs::write(path, serde_json::to_vec_pretty(&plan).unwrap()).unwrap();
}

#[test]
fn issue13_replan_refuses_a_plan_file_without_declarations_before_any_request() {
    let o = org();
    let plan = o.plan(&[]);
    as_older_roster(&plan);
    let out = o.apply(&plan, &["--replan"]);
    assert_code(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains(
            "the plan file records no digest of the declarations it was made from (it was made \
             by an older roster), so --replan cannot tell a change in the config from drift in \
             the target: run `roster plan --out FILE` again with this roster"
        ),
        "{err}"
    );
    assert!(err.contains("nothing was applied"), "{err}");
    assert_eq!(o.h.stats().requests, 0, "{err}");
    // Without --replan such a file applies as it always did.
    o.assert_applied(&o.apply(&plan, &[]));
}

#[test]
fn issue13_replan_needs_a_plan_file_and_changed_since_with_a_plan_file_needs_replan() {
    let o = org();
    let plan = o.plan(&[]);
    let out = o.h.run("apply", &["--replan", "--auto-approve"]);
    assert_code(&out, 2);
    assert!(stderr(&out).contains("--replan"), "{}", stderr(&out));
    let out = o.apply(&plan, &["--changed-since", "HEAD"]);
    assert_code(&out, 1);
    assert!(
        stderr(&out).contains("--changed-since with a plan file needs --replan"),
        "{}",
        stderr(&out)
    );
    assert_eq!(o.h.stats().requests, 0);
}

#[test]
fn issue13_replan_composes_with_changed_since() {
    let o = org();
    let config = o.h.config_dir();
    // main before the pull request: the files as the target is.
    let before = USERS.replace("Lead", "Engineer");
    o.h.write_config(
        "version: 1\n",
        Some(&before),
        Some("groups:\n  - displayName: Platform\n    members: [bob@ex.test]\n"),
    );
    git(&config, &["init", "-q"]);
    git(&config, &["add", "-A"]);
    git(&config, &["commit", "-qm", "main"]);
    git(&config, &["tag", "base"]);
    // The pull request, planned with --changed-since on its base, and merged.
    o.h.write_config("version: 1\n", Some(USERS), Some(GROUPS));
    git(&config, &["commit", "-qam", "pull request"]);
    let plan = o.plan(&["--changed-since", "base"]);

    // On main after the merge nothing changed since HEAD: the fresh plan still plans every
    // object the saved plan changes. A config edit to one of them is refused.
    o.edit_users(&USERS.replace("Lead", "Manager"));
    let out = o.apply(&plan, &["--replan", "--changed-since", "HEAD"]);
    o.assert_refused(
        &out,
        &[
            "--changed-since HEAD: 1 changed and 0 removed users, 0 changed groups",
            r#"user["ada@ex.test"] update: differs from the reviewed plan"#,
        ],
    );
    o.edit_users(USERS);

    // Drift in Dee, whom nothing in scope names: not read, so not even a warning; a full
    // --replan would warn about it.
    o.retitle_live(DEE, "Intern");
    let out = o.apply(&plan, &["--replan", "--changed-since", "HEAD"]);
    o.assert_applied(&out);
    let err = stderr(&out);
    assert!(
        err.contains("--changed-since HEAD: 0 changed and 0 removed users, 0 changed groups"),
        "{err}"
    );
    assert!(!err.contains("warning"), "{err}");
    assert!(!err.contains("dee@ex.test"), "{err}");
    assert_eq!(o.title(DEE), "Intern");
}
