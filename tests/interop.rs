//! Interoperability (issue 8): one lifecycle, written once, run through the real binary against
//! any SCIM server, so that roster's own Asana emulator and a server someone else wrote are
//! compared on identical work.
//!
//! - `asana_emulator_lifecycle` runs it against the in-process Asana emulator with the `asana`
//!   profile, in every `cargo test`.
//! - `scim2_server_lifecycle` and `scim2_server_without_patch_or_filter_lifecycle` run it
//!   against scim2-server (PyPI) with the `generic` profile. They are `#[ignore]`d because they
//!   need that server: `scripts/interop.sh` installs it, starts two of them on 127.0.0.1 (one
//!   advertising everything, one advertising no PATCH, no filter, pages of 3 and ETags), and
//!   runs them with `--ignored`, giving the URLs and the token in `ROSTER_INTEROP_SCIM2_URL`,
//!   `ROSTER_INTEROP_SCIM2_RESTRICTED_URL` and `ROSTER_INTEROP_SCIM2_TOKEN`. Without those
//!   variables they fail, never skip.
//!
//! The scenario: a server that already holds users and a team (seeded over HTTP, as an earlier
//! system would have), then `check`, `validate`, a plan with creates (managers first), an update,
//! a deprovision, an unmanaged user, a protected one and team membership both ways, `apply` of
//! the saved plan, an empty plan, `drift` clean, a rule-based team following a job title
//! change, a change made directly on the server found by
//! `drift`, saved plans that went stale (a changed user, a user now existing) refused, the
//! deprovision cap, and reactivation, which only the generic profile allows. Every exit code of
//! `check`, `validate`, `plan`, `apply` and `drift` is asserted. The steps and expectations are
//! the same for every server; where the profiles differ (reactivation, updating
//! `name.givenName`), the test says so.

#![allow(clippy::disallowed_methods)] // tests set up files, run programs and read the clock

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Output;

use assert_cmd::Command;
use serde_json::{Value, json};
use tempfile::TempDir;

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// The variable roster.yaml names for the token, in both profiles.
const TOKEN_ENV: &str = "INTEROP_TOKEN";

// ---- the server under test ----------------------------------------------------------------

/// A SCIM server the lifecycle runs against.
struct Server {
    name: &'static str,
    url: String,
    token: String,
    /// `asana` or `generic`: the only line of roster.yaml that differs between servers.
    profile: &'static str,
    /// Whether the server takes PATCH (the test's own direct changes use PUT otherwise).
    patch: bool,
    rt: tokio::runtime::Runtime,
    http: reqwest::Client,
}

impl Server {
    fn new(name: &'static str, url: String, token: String, profile: &'static str) -> Server {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        let mut server = Server {
            name,
            url: url.trim_end_matches('/').to_string(),
            token,
            profile,
            patch: true,
            rt,
            http,
        };
        let config = server.get("ServiceProviderConfig");
        server.patch = config["patch"]["supported"].as_bool().unwrap_or(true);
        server
    }

    fn generic(&self) -> bool {
        self.profile == "generic"
    }

    /// One request as anyone could send it (an admin console, an earlier provisioning system).
    fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let url = format!("{}/{path}", self.url);
        self.rt.block_on(async {
            let mut request = self
                .http
                .request(method, url)
                .bearer_auth(&self.token)
                .header("accept", "application/scim+json");
            if let Some(body) = body {
                request = request
                    .header("content-type", "application/scim+json")
                    .body(body.to_string());
            }
            let response = request.send().await.expect("the server answers");
            let status = response.status().as_u16();
            let text = response.text().await.unwrap_or_default();
            (status, serde_json::from_str(&text).unwrap_or(Value::Null))
        })
    }

    #[track_caller]
    fn get(&self, path: &str) -> Value {
        let (status, body) = self.send(reqwest::Method::GET, path, None);
        assert_eq!(status, 200, "{}: GET {path}: {body}", self.name);
        body
    }

    #[track_caller]
    fn create(&self, kind: &str, body: Value) -> String {
        let (status, created) = self.send(reqwest::Method::POST, kind, Some(body));
        assert_eq!(status, 201, "{}: POST {kind}: {created}", self.name);
        created["id"].as_str().unwrap().to_string()
    }

    fn create_user(&self, user_name: &str, extra: Value) -> String {
        let mut user = json!({
            "schemas": [USER_SCHEMA, ENTERPRISE],
            "userName": user_name,
            "active": true,
            "emails": [{"type": "work", "value": user_name, "primary": true}],
        });
        for (k, v) in extra.as_object().unwrap() {
            user[k] = v.clone();
        }
        self.create("Users", user)
    }

    /// Every user, by lowercased userName (the lists here are small: one page of 1,000 at most,
    /// read page by page so that a server with small pages is read whole too).
    fn users(&self) -> Vec<Value> {
        let mut out = Vec::new();
        let mut start = 1;
        loop {
            let page = self.get(&format!("Users?startIndex={start}&count=100"));
            let resources = page["Resources"].as_array().cloned().unwrap_or_default();
            if resources.is_empty() {
                break;
            }
            start += resources.len();
            out.extend(resources);
            if out.len() as u64 >= page["totalResults"].as_u64().unwrap_or(0) {
                break;
            }
        }
        out
    }

    #[track_caller]
    fn user(&self, user_name: &str) -> Value {
        self.users()
            .into_iter()
            .find(|u| {
                u["userName"]
                    .as_str()
                    .unwrap()
                    .eq_ignore_ascii_case(user_name)
            })
            .unwrap_or_else(|| panic!("{}: no user {user_name}", self.name))
    }

    fn id(&self, user_name: &str) -> String {
        self.user(user_name)["id"].as_str().unwrap().to_string()
    }

    /// The team's members, by userName.
    fn members(&self, team: &str) -> BTreeSet<String> {
        let ids: Vec<String> = {
            let groups = self.get("Groups?startIndex=1&count=100");
            let found = groups["Resources"]
                .as_array()
                .unwrap()
                .iter()
                .find(|g| g["displayName"] == team)
                .cloned();
            let id = found.unwrap_or_else(|| panic!("{}: no team {team}", self.name))["id"]
                .as_str()
                .unwrap()
                .to_string();
            // Read it by id: some servers leave members out of lists.
            self.get(&format!("Groups/{id}"))["members"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .map(|m| m["value"].as_str().unwrap().to_string())
                .collect()
        };
        let users = self.users();
        ids.iter()
            .map(|id| {
                users
                    .iter()
                    .find(|u| u["id"] == id.as_str())
                    .map_or(id.clone(), |u| {
                        u["userName"].as_str().unwrap().to_lowercase()
                    })
            })
            .collect()
    }

    /// A change made directly on the server: PATCH where it is supported, else PUT.
    #[track_caller]
    fn set(&self, user_name: &str, attr: &str, value: Value) {
        let id = self.id(user_name);
        let (status, body) = if self.patch {
            let patch = json!({"schemas": [PATCH_OP], "Operations": [
                {"op": "replace", "value": {attr: value}}]});
            self.send(reqwest::Method::PATCH, &format!("Users/{id}"), Some(patch))
        } else {
            let mut user = self.get(&format!("Users/{id}"));
            user.as_object_mut().unwrap().remove("meta");
            user[attr] = value;
            self.send(reqwest::Method::PUT, &format!("Users/{id}"), Some(user))
        };
        assert!(
            (200..300).contains(&status),
            "{}: direct change answered {status}: {body}",
            self.name
        );
    }
}

// ---- the binary ---------------------------------------------------------------------------

/// `roster ARGS -C DIR` with the server's URL in `ROSTER_ASANA_URL` and its token in the
/// variable roster.yaml names; nothing else from the caller's environment.
fn roster(server: &Server, dir: &Path, args: &[&str]) -> Output {
    roster_with_token(server, dir, args, &server.token)
}

fn roster_with_token(server: &Server, dir: &Path, args: &[&str], token: &str) -> Output {
    Command::cargo_bin("roster")
        .unwrap()
        .env("NO_COLOR", "1")
        .env("ROSTER_ASANA_URL", &server.url)
        .env_remove("CI")
        .env(TOKEN_ENV, token)
        .args(args)
        .arg("-C")
        .arg(dir)
        .output()
        .expect("roster runs")
}

fn text(o: &Output) -> String {
    format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[track_caller]
fn exit(server: &Server, o: &Output, code: i32, step: &str) {
    assert_eq!(
        o.status.code(),
        Some(code),
        "{}: {step}: expected exit {code}\n{}",
        server.name,
        text(o)
    );
}

/// Every change as `address action`, sorted, and the unmanaged users.
fn summary(plan: &Value) -> (Vec<String>, Vec<String>) {
    let mut changes: Vec<String> = plan["changes"]
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
        .collect();
    changes.sort();
    let unmanaged = plan["unmanaged"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["key"].as_str().unwrap().to_string())
        .collect();
    (changes, unmanaged)
}

fn change<'a>(plan: &'a Value, address: &str, action: &str) -> &'a Value {
    plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["address"] == address && c["action"] == action)
        .unwrap_or_else(|| panic!("no {address} {action} in {:#}", plan["changes"]))
}

/// `(path, before, after)` of a change's attributes, sorted.
fn attributes(change: &Value) -> Vec<(String, Value, Value)> {
    let mut out: Vec<_> = change["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["path"].as_str().unwrap().to_string(),
                a["before"].clone(),
                a["after"].clone(),
            )
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn member_keys(change: &Value) -> Vec<String> {
    change["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["key"].as_str().unwrap().to_string())
        .collect()
}

#[track_caller]
fn plan_json(server: &Server, dir: &Path, extra: &[&str], code: i32, step: &str) -> Value {
    let mut args = vec!["plan", "--format", "json", "--detailed-exitcode"];
    args.extend_from_slice(extra);
    let out = roster(server, dir, &args);
    exit(server, &out, code, step);
    serde_json::from_slice(&out.stdout).expect("plan --format json prints JSON")
}

// ---- the config directory -----------------------------------------------------------------

/// roster.yaml: the same for every server but for the profile. The mappings are those both
/// profiles accept: `name.givenName`/`familyName` only on create, because Asana refuses them on
/// PATCH.
fn settings(profile: &str, given_name_apply: &str) -> String {
    format!(
        r#"version: 1
target:
  profile: {profile}
  token_env: {TOKEN_ENV}
mappings:
  users:
    - {{ target: userName, source: userPrincipalName, match: 1 }}
    - {{ target: active, expression: 'Switch([IsSoftDeleted], , "False", "True", "True", "False")' }}
    - {{ target: name.formatted, source: displayName }}
    - {{ target: name.givenName, source: givenName, apply: {given_name_apply} }}
    - {{ target: name.familyName, source: surname, apply: on_create }}
    - {{ target: 'emails[type eq "work"].value', source: mail }}
    - {{ target: title, source: jobTitle }}
    - {{ target: '{ENTERPRISE}:department', source: department }}
    - {{ target: '{ENTERPRISE}:manager', source: manager }}
    - {{ target: 'addresses[type eq "work"].locality', source: city }}
    - {{ target: 'addresses[type eq "work"].country', source: country }}
policy:
  unmanaged: report
  protected: ["svc-*@interop.example"]
  deprovision_with: deactivate
  max_deprovisions: {{ count: 1, percent: 50 }}
"#
    )
}

const GRACE: &str = "  - userPrincipalName: grace@interop.example
    mail: grace@interop.example
    displayName: Grace Hopper
    givenName: Grace
    surname: Hopper
    jobTitle: VP Engineering
    department: Engineering
    city: Amsterdam
    country: NL
";
const ADA: &str = "  - userPrincipalName: ada@interop.example
    mail: ada@interop.example
    displayName: Ada Lovelace
    givenName: Ada
    surname: Lovelace
    jobTitle: Staff Engineer
    department: Engineering
    manager: grace@interop.example
    city: London
    country: GB
";
const ALAN: &str = "  - userPrincipalName: alan@interop.example
    mail: alan@interop.example
    displayName: Alan Turing
    jobTitle: Engineer
    manager: ada@interop.example
";
const LINUS_DISABLED: &str = "  - userPrincipalName: linus@interop.example
    displayName: Linus Pauling
    accountEnabled: false
";
const LINUS_ENABLED: &str = "  - userPrincipalName: linus@interop.example
    displayName: Linus Pauling
";
/// The undeclared user, once adopted: declared as the server holds it.
const STRANGER: &str = "  - userPrincipalName: stranger@interop.example
    mail: stranger@interop.example
    displayName: Some Stranger
";
const BARBARA: &str = "  - userPrincipalName: barbara.o'neil+ops&co%41#1@interop.example
    mail: barbara.o'neil+ops&co%41#1@interop.example
    displayName: Barbara Liskov
";

const TEAMS: &str = "groups:
  - displayName: Platform
    members: [grace@interop.example, ada@interop.example]
  - displayName: Research
    # A rule-based team (issue 14): the engineers, but not their VP.
    member_rules:
      - name: engineers
        clauses: [{ attribute: jobTitle, operator: Includes, value: Engineer }]
    exclude: [grace@interop.example]
";

struct Config {
    dir: TempDir,
    profile: &'static str,
}

impl Config {
    fn new(profile: &'static str) -> Config {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("users")).unwrap();
        std::fs::create_dir(dir.path().join("groups")).unwrap();
        std::fs::write(dir.path().join("groups/teams.yaml"), TEAMS).unwrap();
        let config = Config { dir, profile };
        config.settings("on_create");
        config
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn settings(&self, given_name_apply: &str) {
        std::fs::write(
            self.path().join("roster.yaml"),
            settings(self.profile, given_name_apply),
        )
        .unwrap();
    }

    fn users(&self, users: &[&str]) {
        std::fs::write(
            self.path().join("users/people.yaml"),
            format!("users:\n{}", users.concat()),
        )
        .unwrap();
    }
}

// ---- the lifecycle ------------------------------------------------------------------------

fn lifecycle(server: &Server) {
    let name = server.name;
    let generic = server.generic();

    // What an earlier system left: grace with an old title, linus (whom the files disable),
    // a stranger nobody declares, a protected service account, and Platform with grace and
    // the stranger.
    let grace = server.create_user(
        "grace@interop.example",
        json!({"name": {"formatted": "Grace Hopper", "givenName": "Grace", "familyName": "Hopper"},
               "title": "Engineer", ENTERPRISE: {"department": "Engineering"}}),
    );
    server.create_user(
        "linus@interop.example",
        json!({"name": {"formatted": "Linus Pauling"}}),
    );
    let stranger = server.create_user(
        "stranger@interop.example",
        json!({"name": {"formatted": "Some Stranger"}}),
    );
    server.create_user("svc-ci@interop.example", json!({}));
    server.create(
        "Groups",
        json!({"schemas": [GROUP_SCHEMA], "displayName": "Platform",
               "members": [{"value": grace}, {"value": stranger}]}),
    );

    let config = Config::new(server.profile);
    let dir = config.path();
    config.users(&[GRACE, ADA, ALAN, LINUS_DISABLED]);

    // check: 0 with the token, 1 without a good one. (`--target-url` wins over the variable.)
    let out = roster(server, dir, &["check", "--target-url", &server.url]);
    exit(server, &out, 0, "check");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("ok:     the token works"),
        "{name}: {}",
        text(&out)
    );
    for command in ["check", "plan", "drift"] {
        let out = roster_with_token(server, dir, &[command], "not-the-token");
        exit(server, &out, 1, &format!("{command} with a wrong token"));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("401"),
            "{name}: {command}: {}",
            text(&out)
        );
    }

    // validate: 0, and 1 for a manager nobody declares (with nothing sent).
    exit(server, &roster(server, dir, &["validate"]), 0, "validate");
    let broken = Config::new(server.profile);
    broken.users(&[GRACE, &ADA.replace("grace@", "nobody@"), ALAN]);
    let out = roster(server, broken.path(), &["validate"]);
    exit(server, &out, 1, "validate an undeclared manager");
    let out = roster(server, broken.path(), &["plan"]);
    exit(server, &out, 1, "plan an invalid config");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("manager `nobody@interop.example`") && err.contains("nothing was sent"),
        "{name}: {}",
        text(&out)
    );

    // The first plan, saved: every kind of change.
    let saved = dir.join("plan.json");
    let plan = plan_json(
        server,
        dir,
        &["--out", saved.to_str().unwrap()],
        2,
        "first plan",
    );
    let (changes, unmanaged) = summary(&plan);
    assert_eq!(
        changes,
        [
            r#"group["Platform"] add_members"#,
            r#"group["Platform"] remove_members"#,
            r#"group["Research"] create"#,
            r#"user["ada@interop.example"] create"#,
            r#"user["alan@interop.example"] create"#,
            r#"user["grace@interop.example"] update"#,
            r#"user["linus@interop.example"] deprovision"#,
        ],
        "{name}"
    );
    assert_eq!(unmanaged, ["stranger@interop.example"], "{name}");
    assert_eq!(plan["profile"], server.profile, "{name}");
    // grace: her title, and a work address she lacks (a missing element of a multi-valued
    // attribute, which a generic server must get as an `add`).
    assert_eq!(
        attributes(change(&plan, r#"user["grace@interop.example"]"#, "update")),
        [
            (
                r#"addresses[type eq "work"].country"#.to_string(),
                Value::Null,
                json!("NL")
            ),
            (
                r#"addresses[type eq "work"].locality"#.to_string(),
                Value::Null,
                json!("Amsterdam")
            ),
            (
                "title".to_string(),
                json!("Engineer"),
                json!("VP Engineering")
            ),
        ],
        "{name}"
    );
    assert_eq!(
        member_keys(change(&plan, r#"group["Platform"]"#, "add_members")),
        ["ada@interop.example"]
    );
    assert_eq!(
        member_keys(change(&plan, r#"group["Platform"]"#, "remove_members")),
        ["stranger@interop.example"]
    );
    // The rule-based team is created with the users its rule matches, each saying why.
    let research = change(&plan, r#"group["Research"]"#, "create");
    let via: Vec<(&str, &str)> = (research["members"].as_array().unwrap().iter())
        .map(|m| (m["key"].as_str().unwrap(), m["via"].as_str().unwrap()))
        .collect();
    assert_eq!(
        via,
        [
            ("ada@interop.example", "rule 1 \"engineers\""),
            ("alan@interop.example", "rule 1 \"engineers\"")
        ],
        "{name}"
    );
    // show renders the saved plan without the network.
    let out = Command::cargo_bin("roster")
        .unwrap()
        .env("NO_COLOR", "1")
        .args(["show", saved.to_str().unwrap(), "-C"])
        .arg(dir)
        .output()
        .unwrap();
    exit(server, &out, 0, "show");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("3 to create, 1 to update, 1 to deprovision"),
        "{name}: {}",
        text(&out)
    );

    // apply the saved plan: 0, and the server holds what was planned.
    let out = roster(server, dir, &["apply", saved.to_str().unwrap()]);
    exit(server, &out, 0, "apply the first plan");
    let g = server.user("grace@interop.example");
    assert_eq!(g["title"], "VP Engineering", "{name}: {g}");
    assert_eq!(g["addresses"][0]["locality"], "Amsterdam", "{name}: {g}");
    assert_eq!(g["name"]["givenName"], "Grace", "{name}: {g}");
    let alan = server.user("alan@interop.example");
    assert_eq!(
        alan[ENTERPRISE]["manager"]["value"],
        server.id("ada@interop.example").as_str(),
        "{name}: {alan}"
    );
    let ada = server.user("ada@interop.example");
    assert_eq!(ada["name"]["givenName"], "Ada", "{name}: {ada}");
    assert!(
        !live_bool(&server.user("linus@interop.example")["active"]),
        "{name}"
    );
    assert_eq!(
        server.members("Platform"),
        set(&["ada@interop.example", "grace@interop.example"]),
        "{name}"
    );
    assert_eq!(
        server.members("Research"),
        set(&["ada@interop.example", "alan@interop.example"]),
        "{name}"
    );

    // Converged: the plan is empty (0 with --detailed-exitcode); drift finds only the stranger.
    let plan = plan_json(server, dir, &[], 0, "plan after apply");
    assert_eq!(summary(&plan).0, Vec::<String>::new(), "{name}");
    let out = roster(server, dir, &["drift", "--format", "json"]);
    exit(server, &out, 2, "drift with an unmanaged user");
    let drift: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(drift["unmanaged"][0]["key"], "stranger@interop.example");

    // The stranger is adopted as the server holds it: nothing to change, no drift.
    config.users(&[GRACE, ADA, ALAN, LINUS_DISABLED, STRANGER]);
    plan_json(server, dir, &[], 0, "plan after adopting the stranger");
    let out = roster(server, dir, &["drift"]);
    exit(server, &out, 0, "drift when clean");

    // Alan is no longer an engineer: the rule-based team loses him on the next plan, with no
    // edit to the team; applied, then put back.
    let mathematician = ALAN.replace("jobTitle: Engineer", "jobTitle: Mathematician");
    config.users(&[GRACE, ADA, &mathematician, LINUS_DISABLED, STRANGER]);
    let plan = plan_json(server, dir, &[], 2, "plan a rule-based team's change");
    assert_eq!(
        summary(&plan).0,
        [
            r#"group["Research"] remove_members"#,
            r#"user["alan@interop.example"] update"#
        ],
        "{name}"
    );
    let out = roster(server, dir, &["apply", "--auto-approve"]);
    exit(server, &out, 0, "apply a rule-based team's change");
    assert_eq!(
        server.members("Research"),
        set(&["ada@interop.example"]),
        "{name}"
    );
    config.users(&[GRACE, ADA, ALAN, LINUS_DISABLED, STRANGER]);
    let out = roster(server, dir, &["apply", "--auto-approve"]);
    exit(server, &out, 0, "apply the rule-based team back");
    assert_eq!(
        server.members("Research"),
        set(&["ada@interop.example", "alan@interop.example"]),
        "{name}"
    );

    // A change made directly on the server shows up in drift (2), and plan would undo it.
    server.set("grace@interop.example", "title", json!("Chief Engineer"));
    let out = roster(server, dir, &["drift", "--format", "json"]);
    exit(server, &out, 2, "drift after a direct change");
    let drift: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        drift["attributes"],
        json!([{"address": "user[\"grace@interop.example\"]",
                "attributes": [{"path": "title", "before": "Chief Engineer", "after": "VP Engineering"}]}]),
        "{name}"
    );

    // A saved plan goes stale when the server changes: apply refuses (1) and writes nothing.
    let stale = dir.join("stale.json");
    plan_json(
        server,
        dir,
        &["--out", stale.to_str().unwrap()],
        2,
        "plan to undo the direct change",
    );
    server.set("grace@interop.example", "title", json!("CTO"));
    let out = roster(server, dir, &["apply", stale.to_str().unwrap()]);
    exit(server, &out, 1, "apply a stale plan");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("the plan is stale; nothing was applied")
            && err.contains(r#"user["grace@interop.example"] changed since the plan was made"#),
        "{name}: {err}"
    );
    assert_eq!(server.user("grace@interop.example")["title"], "CTO");
    // ...and when a user it would create now exists.
    config.users(&[GRACE, ADA, ALAN, LINUS_DISABLED, STRANGER, BARBARA]);
    plan_json(
        server,
        dir,
        &["--out", stale.to_str().unwrap()],
        2,
        "plan a create",
    );
    server.create_user(
        "barbara.o'neil+ops&co%41#1@interop.example",
        json!({"name": {"formatted": "Barbara L."}}),
    );
    let out = roster(server, dir, &["apply", stale.to_str().unwrap()]);
    exit(server, &out, 1, "apply a plan whose create now exists");
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains(r#"user["barbara.o'neil+ops&co%41#1@interop.example"] now exists"#),
        "{name}: {}",
        text(&out)
    );

    // Without a plan file and without a terminal, apply needs --auto-approve (1); with it, the
    // fresh plan is applied (0) and everything converges again.
    let out = roster(server, dir, &["apply"]);
    exit(server, &out, 1, "apply without --auto-approve");
    let out = roster(server, dir, &["apply", "--auto-approve"]);
    exit(server, &out, 0, "apply --auto-approve");
    assert_eq!(
        server.user("grace@interop.example")["title"],
        "VP Engineering"
    );
    assert_eq!(
        server.user("barbara.o'neil+ops&co%41#1@interop.example")["name"]["formatted"],
        "Barbara Liskov"
    );
    plan_json(server, dir, &[], 0, "plan after the fresh apply");
    exit(
        server,
        &roster(server, dir, &["drift"]),
        0,
        "drift after the fresh apply",
    );

    // --changed-since: only the declarations changed since the last commit are planned (by
    // filter; on a server without filters, from one read of the whole list).
    git(dir, &["init", "-q"]);
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "declarations"]);
    let promoted = GRACE.replace("VP Engineering", "CTO");
    config.users(&[&promoted, ADA, ALAN, LINUS_DISABLED, STRANGER, BARBARA]);
    let plan = plan_json(
        server,
        dir,
        &["--changed-since", "HEAD"],
        2,
        "plan --changed-since",
    );
    assert_eq!(
        summary(&plan).0,
        [r#"user["grace@interop.example"] update"#],
        "{name}"
    );
    config.users(&[GRACE, ADA, ALAN, LINUS_DISABLED, STRANGER, BARBARA]);

    // Cleared attributes (`policy.unset_attributes: clear`, the default): ada's title and city
    // and alan's manager are no longer declared, so the plan removes them (a PATCH `remove`,
    // or a PUT without them), the server holds none of them, and the next plan is empty.
    // `--target` plans and applies alan alone. Without her title ada is no longer an engineer,
    // so the rule-based Research team loses her too, and gets her back when it is restored.
    let ada_cleared = ADA
        .replace("    jobTitle: Staff Engineer\n", "")
        .replace("    city: London\n", "");
    let alan_cleared = ALAN.replace("    manager: ada@interop.example\n", "");
    config.users(&[
        GRACE,
        &ada_cleared,
        &alan_cleared,
        LINUS_DISABLED,
        STRANGER,
        BARBARA,
    ]);
    let plan = plan_json(server, dir, &[], 2, "plan cleared attributes");
    assert_eq!(
        summary(&plan).0,
        [
            r#"group["Research"] remove_members"#,
            r#"user["ada@interop.example"] update"#,
            r#"user["alan@interop.example"] update"#,
        ],
        "{name}"
    );
    assert_eq!(
        attributes(change(&plan, r#"user["ada@interop.example"]"#, "update")),
        [
            (
                r#"addresses[type eq "work"].locality"#.to_string(),
                json!("London"),
                Value::Null
            ),
            ("title".to_string(), json!("Staff Engineer"), Value::Null),
        ],
        "{name}"
    );
    assert_eq!(
        attributes(change(&plan, r#"user["alan@interop.example"]"#, "update")),
        [(
            format!("{ENTERPRISE}:manager"),
            json!("ada@interop.example"),
            Value::Null
        )],
        "{name}"
    );
    let alan_target = ["--target", r#"user["alan@interop.example"]"#];
    let plan = plan_json(server, dir, &alan_target, 2, "plan --target alan");
    assert_eq!(
        summary(&plan).0,
        [r#"user["alan@interop.example"] update"#],
        "{name}"
    );
    let out = roster(
        server,
        dir,
        &[&["apply", "--auto-approve"][..], &alan_target].concat(),
    );
    exit(server, &out, 0, "apply --target alan");
    let alan = server.user("alan@interop.example");
    assert!(
        alan.get(ENTERPRISE)
            .and_then(|e| e.get("manager"))
            .is_none(),
        "{name}: {alan}"
    );
    assert_eq!(
        server.user("ada@interop.example")["title"],
        "Staff Engineer"
    );
    let out = roster(server, dir, &["apply", "--auto-approve"]);
    exit(server, &out, 0, "apply cleared attributes");
    let ada = server.user("ada@interop.example");
    assert!(ada.get("title").is_none(), "{name}: {ada}");
    assert_eq!(ada["addresses"][0]["country"], "GB", "{name}: {ada}");
    assert!(
        ada["addresses"][0].get("locality").is_none(),
        "{name}: {ada}"
    );
    assert_eq!(
        ada[ENTERPRISE]["department"], "Engineering",
        "{name}: {ada}"
    );
    assert_eq!(
        server.members("Research"),
        set(&["alan@interop.example"]),
        "{name}"
    );
    plan_json(server, dir, &[], 0, "plan after clearing");
    config.users(&[GRACE, ADA, ALAN, LINUS_DISABLED, STRANGER, BARBARA]);
    exit(
        server,
        &roster(server, dir, &["apply", "--auto-approve"]),
        0,
        "apply the cleared attributes back",
    );
    assert_eq!(
        server.members("Research"),
        set(&["ada@interop.example", "alan@interop.example"]),
        "{name}"
    );
    plan_json(server, dir, &[], 0, "plan after restoring");

    // The deprovision cap (count 1): disabling two users is refused (1), nothing is written.
    let disabled = |u: &str| format!("{u}    accountEnabled: false\n");
    config.users(&[
        GRACE,
        ADA,
        &disabled(ALAN),
        LINUS_DISABLED,
        STRANGER,
        &disabled(BARBARA),
    ]);
    let out = roster(server, dir, &["apply", "--auto-approve"]);
    exit(server, &out, 1, "apply over the deprovision cap");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--allow-deprovisions 2"),
        "{name}: {}",
        text(&out)
    );
    assert!(live_bool(&server.user("alan@interop.example")["active"]));
    config.users(&[GRACE, ADA, ALAN, LINUS_DISABLED, STRANGER, BARBARA]);

    // Reactivation: the files enable linus again. A generic server sets active back to true;
    // Asana cannot, so the plan warns instead and drift keeps reporting him.
    config.users(&[GRACE, ADA, ALAN, LINUS_ENABLED, STRANGER, BARBARA]);
    if generic {
        let plan = plan_json(server, dir, &[], 2, "plan a reactivation");
        assert_eq!(
            summary(&plan).0,
            [r#"user["linus@interop.example"] reactivate"#],
            "{name}"
        );
        exit(
            server,
            &roster(server, dir, &["apply", "--auto-approve"]),
            0,
            "apply a reactivation",
        );
        assert!(live_bool(&server.user("linus@interop.example")["active"]));
        plan_json(server, dir, &[], 0, "plan after the reactivation");
    } else {
        let plan = plan_json(server, dir, &[], 0, "plan a reactivation Asana cannot make");
        assert_eq!(
            plan["reactivation_blocked"],
            json!(["linus@interop.example"]),
            "{name}"
        );
        exit(
            server,
            &roster(server, dir, &["drift"]),
            2,
            "drift of a user Asana cannot reactivate",
        );
    }

    // name.givenName on update: RFC 7643 allows it, Asana refuses it on PATCH, so validation
    // accepts the mapping only for the generic profile.
    config.settings("always");
    if generic {
        exit(
            server,
            &roster(server, dir, &["validate"]),
            0,
            "validate givenName always",
        );
        let ada_renamed = ADA.replace("givenName: Ada", "givenName: Augusta Ada");
        config.users(&[GRACE, &ada_renamed, ALAN, LINUS_ENABLED, STRANGER, BARBARA]);
        let plan = plan_json(server, dir, &[], 2, "plan a givenName update");
        assert_eq!(
            attributes(change(&plan, r#"user["ada@interop.example"]"#, "update")),
            [(
                "name.givenName".to_string(),
                json!("Ada"),
                json!("Augusta Ada")
            )],
            "{name}"
        );
        exit(
            server,
            &roster(server, dir, &["apply", "--auto-approve"]),
            0,
            "apply a givenName update",
        );
        let ada = server.user("ada@interop.example");
        assert_eq!(ada["name"]["givenName"], "Augusta Ada", "{name}: {ada}");
        assert_eq!(ada["name"]["familyName"], "Lovelace", "{name}: {ada}");
        plan_json(server, dir, &[], 0, "plan after the givenName update");

        // A userName that is no email address, with a quote and a backslash: the generic
        // profile accepts it, and the filter that looks it up (a stale create) escapes it.
        let jj = r#"Jean "JJ" O\Brien"#;
        let declared = "  - userPrincipalName: 'Jean \"JJ\" O\\Brien'\n    displayName: JJ\n";
        config.users(&[
            GRACE,
            &ada_renamed,
            ALAN,
            LINUS_ENABLED,
            STRANGER,
            BARBARA,
            declared,
        ]);
        let stale = dir.join("stale-jj.json");
        let plan = plan_json(
            server,
            dir,
            &["--out", stale.to_str().unwrap()],
            2,
            "plan JJ",
        );
        assert_eq!(
            summary(&plan).0,
            [format!("user[{}] create", json!(jj.to_lowercase()))],
            "{name}"
        );
        server.create_user(
            jj,
            json!({"name": {"formatted": "JJ"},
                   "emails": [{"type": "work", "value": "jj@interop.example"}]}),
        );
        let out = roster(server, dir, &["apply", stale.to_str().unwrap()]);
        exit(
            server,
            &out,
            1,
            "apply a plan whose create of JJ now exists",
        );
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("now exists in the SCIM server"),
            "{name}: {}",
            text(&out)
        );
        plan_json(server, dir, &[], 0, "plan after JJ was created directly");
    } else {
        let out = roster(server, dir, &["validate"]);
        exit(server, &out, 1, "validate givenName always for Asana");
        assert!(
            String::from_utf8_lossy(&out.stderr)
                .contains("Asana refuses `name.givenName` on update"),
            "{name}: {}",
            text(&out)
        );
    }
}

#[track_caller]
fn git(dir: &Path, args: &[&str]) {
    let out = std::process::Command::new("git")
        .args([
            "-c",
            "user.name=interop",
            "-c",
            "user.email=interop@example.com",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {}", text(&out));
}

fn live_bool(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::String(s) => s.eq_ignore_ascii_case("true"),
        Value::Null => true,
        _ => panic!("not a boolean: {v}"),
    }
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

// ---- the servers --------------------------------------------------------------------------

#[test]
fn asana_emulator_lifecycle() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let token = "interop-emulator-token";
    let emu = rt
        .block_on(
            roster::emulator::Emulator::builder()
                .port(0)
                .token(token)
                .start(),
        )
        .expect("the emulator starts");
    let server = Server::new(
        "Asana emulator",
        emu.url().to_string(),
        token.into(),
        "asana",
    );
    lifecycle(&server);
    drop(server);
    drop(emu);
}

/// The scim2-server URL the script gives, or a failure that says how to run this.
fn scim2_server(variable: &str, name: &'static str) -> Server {
    let missing = |v: &str| {
        panic!(
            "{v} is not set: this test runs against scim2-server, which `bash scripts/interop.sh` \
             installs and starts (see docs/interop.md)"
        )
    };
    let url = std::env::var(variable).unwrap_or_else(|_| missing(variable));
    let token = std::env::var("ROSTER_INTEROP_SCIM2_TOKEN")
        .unwrap_or_else(|_| missing("ROSTER_INTEROP_SCIM2_TOKEN"));
    Server::new(name, url, token, "generic")
}

#[test]
#[ignore = "needs scim2-server: run `bash scripts/interop.sh`"]
fn scim2_server_lifecycle() {
    let server = scim2_server("ROSTER_INTEROP_SCIM2_URL", "scim2-server");
    assert!(server.patch, "this scim2-server should advertise PATCH");
    lifecycle(&server);
}

#[test]
#[ignore = "needs scim2-server: run `bash scripts/interop.sh`"]
fn scim2_server_without_patch_or_filter_lifecycle() {
    let server = scim2_server(
        "ROSTER_INTEROP_SCIM2_RESTRICTED_URL",
        "scim2-server without PATCH or filter",
    );
    assert!(
        !server.patch,
        "this scim2-server should not advertise PATCH"
    );
    lifecycle(&server);
}
