//! Hostile input through the binary (issue 11): expression bombs under a 1 GiB address-space
//! limit (item 4), Unicode normal forms, lookalikes and invisible characters (item 8), live
//! users that one declaration matches twice, and values too long for their target (low items).
//!
//! The targets are the in-process Asana emulator and, for a server that keeps two userNames
//! differing only in case, a small generic SCIM server scripted here. Each test starts its own.

#![allow(clippy::disallowed_methods)] // tests set up files, run programs and read the clock

mod support;

use support::{assert_exit, stderr};

use std::path::Path;
use std::process::Output;

use assert_cmd::Command;
use roster::emulator::{Emulator, EmulatorBuilder, RunningEmulator};
use serde_json::{Value, json};
use support::{Recorded, Reply, ScriptServer};
use tempfile::TempDir;

const TOKEN: &str = "tok-hostile-input-3c9e";

// ---- harness ------------------------------------------------------------------------------

/// A config directory: `roster.yaml` and `users/people.yaml`.
fn config(settings: &str, users: &str) -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("roster.yaml"), settings).unwrap();
    std::fs::create_dir(dir.path().join("users")).unwrap();
    std::fs::write(dir.path().join("users/people.yaml"), users).unwrap();
    dir
}

/// The binary with a clean environment and the token in `ASANA_TOKEN`. The target URL is in
/// each roster.yaml, so no flag or variable overrides it.
fn roster() -> Command {
    let mut cmd = Command::cargo_bin("roster").expect("binary builds");
    cmd.env("NO_COLOR", "1")
        .env_remove("ROSTER_ASANA_URL")
        .env_remove("ROSTER_TARGET_URL")
        .env("ASANA_TOKEN", TOKEN);
    cmd
}

fn run(dir: &Path, args: &[&str]) -> Output {
    roster()
        .args(args)
        .arg("-C")
        .arg(dir)
        .output()
        .expect("roster runs")
}

/// `roster ARGS -C DIR` with the address space capped at 1 GiB: an unbounded allocation
/// aborts the process (exit 134) instead of passing.
fn run_bounded(dir: &Path, args: &[&str]) -> Output {
    std::process::Command::new("prlimit")
        .arg(format!("--as={}", 1u64 << 30))
        .arg(assert_cmd::cargo::cargo_bin("roster"))
        .args(args)
        .arg("-C")
        .arg(dir)
        .env("NO_COLOR", "1")
        .env("ASANA_TOKEN", TOKEN)
        .env_remove("ROSTER_ASANA_URL")
        .env_remove("ROSTER_TARGET_URL")
        .output()
        .expect("prlimit (util-linux) runs")
}

/// `plan --format json`, which must succeed, parsed.
#[track_caller]
fn plan_json(dir: &Path) -> Value {
    let out = run(dir, &["plan", "--format", "json"]);
    assert!(
        matches!(out.status.code(), Some(0 | 2)),
        "plan failed:\n{}",
        stderr(&out)
    );
    serde_json::from_slice(&out.stdout).expect("plan --format json prints JSON")
}

/// Every change of a plan as `address action`.
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

/// An emulator serving on its own runtime, so the binary can block while it answers.
struct Org {
    emu: RunningEmulator,
    _rt: tokio::runtime::Runtime,
    _state: TempDir,
}

impl Org {
    /// An emulator loaded from `state` (its state-file format).
    fn with_state(state: Value, builder: EmulatorBuilder) -> Org {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        std::fs::write(&path, serde_json::to_vec_pretty(&state).unwrap()).unwrap();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let emu = rt
            .block_on(builder.port(0).token(TOKEN).state_file(&path).start())
            .expect("the emulator starts");
        Org {
            emu,
            _rt: rt,
            _state: dir,
        }
    }

    fn settings(&self, extra: &str) -> String {
        format!("version: 1\nasana:\n  url: {}\n{extra}", self.emu.url())
    }
}

fn live_user(id: &str, user_name: &str, extra: Value) -> Value {
    let mut a = json!({
        "userName": user_name,
        "active": true,
        "emails": [{"type": "work", "value": user_name, "primary": true}],
    });
    for (k, v) in extra.as_object().unwrap() {
        a[k] = v.clone();
    }
    json!({"id": id, "attributes": a})
}

fn state(users: Vec<Value>) -> Value {
    json!({"format": "roster-emulator-state/1", "users": users, "groups": []})
}

// ---- item 4: bounded evaluation -----------------------------------------------------------

/// `depth` Replace calls nested around `"x"`, each replacing every "x" with `with`.
fn nested_replace(depth: usize, with: &str) -> String {
    let mut src = r#""x""#.to_string();
    for _ in 0..depth {
        src = format!(r#"Replace({src}, "x", , , "{with}", , )"#);
    }
    src
}

/// roster.yaml mapping `title` from `expression` (single-quoted YAML), targeting a port where
/// nothing listens: validation must stop everything before a request.
fn expression_config(expression: &str) -> TempDir {
    let settings = format!(
        "version: 1\nasana:\n  url: http://127.0.0.1:9/api/1.0/scim\nmappings:\n  users:\n    \
         - target: userName\n      source: userPrincipalName\n      match: 1\n    \
         - target: title\n      expression: '{expression}'\n"
    );
    let users: String = std::iter::once("users:\n".to_string())
        .chain((0..50).map(|i| format!("  - userPrincipalName: user{i}@example.com\n")))
        .collect();
    config(&settings, &users)
}

#[test]
fn item4_nested_replace_bomb_is_a_located_error_in_bounded_memory() {
    // The issue's expression: 12 nested Replaces, 10^12 bytes if built, which aborted validate
    // with a 4 GB allocation.
    let bomb = nested_replace(12, "xxxxxxxxxx");
    assert!(bomb.len() < 460, "{}", bomb.len());
    let dir = expression_config(&bomb);
    for command in ["validate", "plan"] {
        let out = run_bounded(dir.path(), &[command]);
        assert_exit(&out, 1);
        let text = stderr(&out);
        // At the call that crossed the cap (the fifth from the inside), in roster.yaml,
        // naming the user; the 49 other users are counted, not repeated.
        let fifth = nested_replace(5, "xxxxxxxxxx");
        let column = "      expression: '".len() + bomb.find(&fifth).unwrap() + 1;
        assert!(
            text.contains(&format!("roster.yaml:10:{column}")),
            "{command}: {text}"
        );
        assert!(
            text.contains(
                "error: user `user0@example.com`: mapping to `title`: the result of Replace \
                 would be larger than 65536 bytes (the most an expression value may hold) \
                 (and 49 other users)"
            ),
            "{command}: {text}"
        );
        assert!(
            text.contains("users/people.yaml:2:24"),
            "{command}: the user's declaration is noted: {text}"
        );
        assert_eq!(text.matches("error:").count(), 1, "{command}: {text}");
    }
}

#[test]
fn item4_regex_replace_and_join_bombs_are_located_errors_in_bounded_memory() {
    // 10,000 x's; then a regex replacement that repeats the match through group references,
    // the regex-group form, and a Join of copies: each is refused before it is built.
    let seed = nested_replace(4, "xxxxxxxxxx");
    let cases = [
        format!(r#"Replace({seed}, , "(x+)", , "$1$1$1$1$1$1$1$1", , )"#),
        format!(r#"Replace({seed}, , "(?<g>x)", "g", "yyyyyyyyyyyyyyyyyyyy", , )"#),
        format!(r#"Join("-", {})"#, [seed.as_str(); 8].join(", ")),
        format!(
            r#"Append({seed}, Append({seed}, Append({seed}, Append({seed}, Append({seed}, Append({seed}, Append({seed}, {seed})))))))"#
        ),
    ];
    for expression in cases {
        let dir = expression_config(&expression);
        let out = run_bounded(dir.path(), &["validate"]);
        assert_exit(&out, 1);
        let text = stderr(&out);
        assert!(text.contains("roster.yaml:10:"), "{expression}: {text}");
        assert!(
            text.contains("would be larger than 65536 bytes"),
            "{expression}: {text}"
        );
        assert!(text.contains("user `user0@example.com`"), "{text}");
    }
}

// ---- item 8: Unicode ----------------------------------------------------------------------

const JOSE_NFC: &str = "jos\u{e9}@example.com";
const JOSE_NFD: &str = "jose\u{301}@example.com";

#[test]
fn item8_nfd_declaration_matches_the_nfc_live_user() {
    let org = Org::with_state(
        state(vec![
            live_user("1204000000000001", JOSE_NFC, json!({"title": "Engineer"})),
            live_user("1204000000000002", "ann@example.com", json!({})),
        ]),
        Emulator::builder(),
    );
    // The YAML holds the decomposed form, as some editors and macOS file names write it, in
    // userPrincipalName and mail; `unmanaged: deprovision` would deprovision the live user if
    // the declaration did not match it.
    let users = format!(
        "users:\n  - userPrincipalName: \"{JOSE_NFD}\"\n    mail: \"{}\"\n    jobTitle: Lead\n  \
         - userPrincipalName: ann@example.com\n",
        JOSE_NFD.to_uppercase()
    );
    let dir = config(&org.settings("policy:\n  unmanaged: deprovision\n"), &users);
    let plan = plan_json(dir.path());
    // One update (the title), no create, no deprovision, and neither userName nor mail changes.
    assert_eq!(
        actions(&plan),
        [format!("user[\"{JOSE_NFC}\"] update")],
        "{plan:#}"
    );
    let paths: Vec<&str> = plan["changes"][0]["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["title"], "{plan:#}");
    assert_eq!(org.emu.stats().writes, 0);

    // And with the title declared as it is live, nothing at all.
    let users = users.replace("jobTitle: Lead", "jobTitle: Engineer");
    let dir = config(&org.settings("policy:\n  unmanaged: deprovision\n"), &users);
    assert_eq!(actions(&plan_json(dir.path())), Vec::<String>::new());
}

#[test]
fn item8_nfc_and_nfd_declarations_are_one_user_declared_twice() {
    let users = format!(
        "users:\n  - userPrincipalName: \"{JOSE_NFC}\"\n  - userPrincipalName: \"{}\"\n",
        JOSE_NFD.to_uppercase()
    );
    let dir = config("version: 1\n", &users);
    let out = run(dir.path(), &["validate"]);
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("is declared twice"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn item8_lookalikes_mixed_scripts_and_invisible_characters_warn() {
    // `аlice` with a Cyrillic а next to alice; a zero-width space in bob's address; a domain
    // that swaps in a Cyrillic а.
    let users = "users:\n  - userPrincipalName: alice@example.com\n  \
                 - userPrincipalName: \"\\u0430lice@example.com\"\n  \
                 - userPrincipalName: \"bob\\u200b@example.com\"\n  \
                 - userPrincipalName: \"carol@ex\\u0430mple.com\"\n";
    let dir = config("version: 1\n", users);
    let out = run(dir.path(), &["validate"]);
    // Warnings, not errors: such names can be real.
    assert_exit(&out, 0);
    let text = stderr(&out);
    for (want, place) in [
        (
            "warning: user `\u{430}lice@example.com` looks like user `alice@example.com`",
            "people.yaml:3:24",
        ),
        (
            "warning: userPrincipalName `\u{430}lice@example.com`: `\u{430}lice` mixes scripts (its non-ASCII characters: U+0430)",
            "people.yaml:3:25",
        ),
        (
            "warning: userPrincipalName `bob\\u{200B}@example.com` contains an invisible character, U+200B",
            "people.yaml:4:28",
        ),
        (
            "warning: domain `ex\u{430}mple.com` of `carol@ex\u{430}mple.com` looks like the domain `example.com` of another user",
            "people.yaml:5:24",
        ),
    ] {
        let at = text
            .find(want)
            .unwrap_or_else(|| panic!("missing {want:?} in:\n{text}"));
        let next = text[at..].lines().nth(1).unwrap_or_default();
        assert!(next.contains(place), "{want:?} at {next:?}, not {place}");
    }
    // The zero-width space is never printed raw.
    assert!(!text.contains('\u{200B}'), "{text}");
    // Plain ASCII names, and one script per label, give no warning.
    let dir = config(
        "version: 1\n",
        "users:\n  - userPrincipalName: alice@example.com\n  - userPrincipalName: \"jos\u{e9}@example.com\"\n  - userPrincipalName: \"\u{430}\u{43b}\u{438}\u{441}\u{430}@example.com\"\n",
    );
    let out = run(dir.path(), &["validate"]);
    assert_exit(&out, 0);
    assert!(!stderr(&out).contains("warning"), "{}", stderr(&out));
}

// ---- low: two live users with one userName ------------------------------------------------

#[test]
fn low_two_live_users_with_one_user_name_nfc_nfd_are_left_alone() {
    // The emulator keeps userNames unique by lowercase only, so the NFC and the NFD forms are
    // two users there, as on any server that compares bytes.
    let org = Org::with_state(
        state(vec![
            live_user("1204000000000001", JOSE_NFC, json!({"title": "Engineer"})),
            live_user("1204000000000002", JOSE_NFD, json!({"title": "Engineer"})),
            live_user("1204000000000003", "zed@example.com", json!({})),
        ]),
        Emulator::builder(),
    );
    // The declaration would change the title (and disables the user in a second config): the
    // plan must do neither, nor deprovision either live user as unmanaged, while zed, whom
    // nobody declares, is still deprovisioned by the policy.
    for extra in ["    jobTitle: Lead\n", "    accountEnabled: false\n"] {
        let users = format!("users:\n  - userPrincipalName: \"{JOSE_NFC}\"\n{extra}");
        let dir = config(
            &org.settings(
                "policy:\n  unmanaged: deprovision\n  max_deprovisions: { count: 5, percent: 100 }\n",
            ),
            &users,
        );
        let plan = plan_json(dir.path());
        assert_eq!(
            actions(&plan),
            ["user[\"zed@example.com\"] deprovision"],
            "{plan:#}"
        );
        let warnings = plan["warnings"].to_string();
        assert!(
            warnings.contains("matches 2 live users")
                && warnings.contains("1204000000000001")
                && warnings.contains("1204000000000002"),
            "{warnings}"
        );
    }
    assert_eq!(org.emu.stats().writes, 0);
}

/// A generic SCIM server that holds `users` and no groups, answers GETs only, and records
/// every request.
async fn generic_server(users: Vec<Value>) -> ScriptServer {
    ScriptServer::start(move |r: &Recorded| {
        let list = |resources: &[Value]| {
            Reply::json(
                200,
                json!({
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
                    "totalResults": resources.len(),
                    "startIndex": 1,
                    "itemsPerPage": resources.len(),
                    "Resources": resources,
                }),
            )
        };
        match (r.method.as_str(), r.path()) {
            ("GET", "/scim/ServiceProviderConfig") => Reply::json(
                200,
                json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
                    "patch": {"supported": true},
                    "filter": {"supported": false, "maxResults": 100},
                    "etag": {"supported": false},
                }),
            ),
            ("GET", "/scim/Users") if r.query_u64("startIndex").unwrap_or(1) <= 1 => list(&users),
            ("GET", "/scim/Users" | "/scim/Groups") => list(&[]),
            _ => Reply::json(500, json!({"detail": "this server only reads"})),
        }
    })
    .await
}

#[test]
fn low_two_live_users_with_one_user_name_in_different_case_are_left_alone() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let user = |id: &str, name: &str| {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "id": id, "userName": name, "active": true, "title": "Engineer",
        })
    };
    let server = rt.block_on(generic_server(vec![
        user("u-1", "Pat@Example.com"),
        user("u-2", "pat@example.com"),
        user("u-3", "zed@example.com"),
    ]));
    let settings = format!(
        "version: 1\ntarget:\n  profile: generic\n  url: {}\n  token_env: ASANA_TOKEN\n\
         policy:\n  unmanaged: deprovision\n  max_deprovisions: {{ count: 5, percent: 100 }}\n",
        server.base_url()
    );
    let dir = config(
        &settings,
        "users:\n  - userPrincipalName: PAT@example.com\n    jobTitle: Lead\n",
    );
    let plan = plan_json(dir.path());
    assert_eq!(
        actions(&plan),
        ["user[\"zed@example.com\"] deprovision"],
        "{plan:#}"
    );
    let warnings = plan["warnings"].to_string();
    assert!(
        warnings.contains("user[\\\"pat@example.com\\\"] matches 2 live users")
            && warnings.contains("u-1 (\\\"Pat@Example.com\\\")")
            && warnings.contains("u-2 (\\\"pat@example.com\\\")"),
        "{warnings}"
    );
    // And apply, planning afresh, writes nothing for pat (only zed's deprovision is allowed
    // to reach this read-only server, which refuses it).
    let out = run(dir.path(), &["apply", "--auto-approve"]);
    let writes: Vec<String> = server
        .requests()
        .iter()
        .filter(|r| r.method != "GET")
        .map(|r| format!("{} {}", r.method, r.target))
        .collect();
    assert!(
        writes.iter().all(|w| w.contains("/Users/u-3")),
        "{writes:?}\n{}",
        stderr(&out)
    );
}

// ---- low: value lengths -------------------------------------------------------------------

#[test]
fn low_value_length_limits_are_checked_at_validate() {
    // A 2 MB jobTitle used to pass validate and fail mid-apply with a 413.
    let org = Org::with_state(state(vec![]), Emulator::builder());
    let users = format!(
        "users:\n  - userPrincipalName: a@example.com\n    jobTitle: {}\n  \
         - userPrincipalName: b@example.com\n    displayName: {}\n  \
         - userPrincipalName: c@example.com\n    displayName: {}\n",
        "t".repeat(2_000_000),
        "d".repeat(257),
        "é".repeat(256),
    );
    let dir = config(&org.settings(""), &users);
    for command in ["validate", "plan"] {
        let out = run(dir.path(), &[command]);
        assert_exit(&out, 1);
        let text = stderr(&out);
        assert!(
            text.contains(
                "error: user `a@example.com`: mapping to `title`: the value is 2000000 \
                 characters long; roster sends at most 256 to `title`\n --> "
            ),
            "{command}: {}",
            &text[..text.len().min(2000)]
        );
        assert!(text.contains("people.yaml:3:15"), "at the value");
        assert!(text.contains(
            "user `b@example.com`: mapping to `name.formatted`: the value is 257 characters long"
        ));
        // 256 characters (512 bytes) is within the limit: characters are counted, not bytes.
        assert!(!text.contains("c@example.com"), "{}", &text[..2000]);
        assert!(text.contains("2 problem"), "{command}");
    }
    assert_eq!(org.emu.stats().requests, 0, "nothing was sent");
}

#[test]
fn low_emulator_enforces_the_same_length_limits() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let org = Org::with_state(state(vec![]), Emulator::builder());
    let post = |body: Value| -> (u16, Value) {
        org._rt.block_on(async {
            let r = reqwest::Client::builder()
                .no_proxy()
                .build()
                .unwrap()
                .post(format!("{}/Users", org.emu.url()))
                .bearer_auth(TOKEN)
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            (status, r.json().await.unwrap_or(Value::Null))
        })
    };
    let user = |name: &str, title: usize| {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": name, "title": "t".repeat(title),
        })
    };
    assert_eq!(post(user("a@example.com", 256)).0, 201);
    let (status, body) = post(user("b@example.com", 257));
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["scimType"], "invalidValue");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("title is 257 characters long"),
        "{body}"
    );
    let long_address = format!("{}@example.com", "e".repeat(250));
    assert_eq!(post(user(&long_address, 1)).0, 400);

    // What validate accepts, the emulator stores: a 256-character title is applied.
    let users = format!(
        "users:\n  - userPrincipalName: c@example.com\n    jobTitle: {}\n",
        "t".repeat(256)
    );
    let dir = config(&org.settings(""), &users);
    let out = run(dir.path(), &["apply", "--auto-approve"]);
    assert_exit(&out, 0);

    // The undocumented limit is a setting.
    let strict = Org::with_state(
        state(vec![]),
        Emulator::builder().behaviour(roster::emulator::Behaviour {
            max_value_length: 10,
            ..roster::emulator::Behaviour::default()
        }),
    );
    let (status, body) = strict._rt.block_on(async {
        let r = reqwest::Client::builder()
            .no_proxy()
            .build()
            .unwrap()
            .post(format!("{}/Users", strict.emu.url()))
            .bearer_auth(TOKEN)
            .json(&user("d@example.com", 11))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    });
    assert_eq!(status, 400, "{body}");
}
