//! Hostile pull requests against the pinned target (issue 11, item 3), and the low items of
//! the same issue this branch fixes (drift Markdown, import asana), through the binary.
//!
//! The pull-request workflow runs roster with `ROSTER_TARGET_URL` set to the real target and
//! the token in `ASANA_TOKEN`; here the real target is the emulator, and the "attacker's"
//! server is a loopback listener that counts every connection made to it. A connection is
//! complete in the kernel's accept queue as soon as the client's `connect` returns, so after
//! roster has exited, an empty queue means nothing was sent: no timing is involved.

#![allow(clippy::disallowed_methods)] // tests set up files, run programs and read the clock

use std::path::Path;

use assert_cmd::Command;
use roster::emulator::{Emulator, RunningEmulator};
use serde_json::json;

mod support;

use support::{Silent as Hostile, config_dir as config, runtime, text};

const TOKEN: &str = "hostile-config-test-token-3f9a";

/// The real target: the emulator, which accepts [`TOKEN`].
fn emulator(rt: &tokio::runtime::Runtime) -> RunningEmulator {
    rt.block_on(Emulator::builder().port(0).token(TOKEN).start())
        .expect("emulator starts")
}

const ONE_USER: &str = "users:\n  - userPrincipalName: ada@example.com\n    displayName: Ada\n";

/// roster as the pull-request workflow runs it: the pinned URL in `ROSTER_TARGET_URL`, the
/// token in `ASANA_TOKEN`, nothing else from the caller's environment that could pin a URL.
fn workflow(pinned: &str, dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::cargo_bin("roster").unwrap();
    cmd.env("NO_COLOR", "1")
        .env_remove("ROSTER_ASANA_URL")
        .env("ROSTER_TARGET_URL", pinned)
        .env("ASANA_TOKEN", TOKEN)
        .current_dir(dir)
        .arg("-C")
        .arg(dir)
        .args(args);
    cmd
}

/// Every command that connects, as a pull request's workflow (or a merge's) would run it.
const CONNECTING: &[&[&str]] = &[
    &["plan", "--format", "markdown", "--out", "plan.json"],
    &["apply", "--auto-approve"],
    &["drift", "--format", "markdown"],
    &["check"],
];

#[test]
fn item3_pull_request_config_pointing_at_a_hostile_server_sends_it_nothing() {
    let rt = runtime();
    let emu = emulator(&rt);
    let hostile = Hostile::start();
    let url = hostile.url();
    // The ways a pull request can name a URL: `asana:` (loopback passes the Asana host rule),
    // `target:` with either profile, spelled so a sloppy comparison would miss it.
    let settings = [
        format!("version: 1\nasana:\n  url: {url}\n"),
        format!("version: 1\ntarget:\n  profile: generic\n  url: {url}\n"),
        format!(
            "version: 1\ntarget:\n  profile: asana\n  url: {}/\n",
            url.replace("http", "HTTP")
        ),
    ];
    for s in &settings {
        let dir = config(s, ONE_USER);
        for args in CONNECTING {
            let out = workflow(emu.url(), dir.path(), args).output().unwrap();
            let all = text(&out);
            assert_eq!(out.status.code(), Some(1), "{args:?} with {s}:\n{all}");
            assert!(
                all.contains("differs from the pinned target")
                    && all.contains(&format!("127.0.0.1:{}", hostile.port()))
                    && all.contains(emu.url())
                    && all.contains("ROSTER_TARGET_URL")
                    && all.contains("nothing was sent"),
                "{args:?}: the error names both URLs and the pin:\n{all}"
            );
            assert!(!all.contains(TOKEN), "{args:?} printed the token:\n{all}");
            assert_eq!(
                hostile.connections(),
                0,
                "{args:?} with {s} reached the hostile server"
            );
        }
        // `import asana` connects too (in a directory of its own: it refuses to write over
        // declarations).
        let dir = config(s, "");
        let out = workflow(emu.url(), dir.path(), &["import", "asana"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        assert!(
            text(&out).contains("differs from the pinned target"),
            "{}",
            text(&out)
        );
        assert_eq!(
            hostile.connections(),
            0,
            "import asana reached the hostile server"
        );
    }
    // Refused before any request: the real target saw nothing either.
    assert_eq!(emu.stats().requests, 0, "{:?}", emu.stats());
    // The same pull request without the hostile URL plans against the pinned target.
    let dir = config("version: 1\nasana:\n  token_env: ASANA_TOKEN\n", ONE_USER);
    let out = workflow(emu.url(), dir.path(), &["plan"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(emu.stats().requests > 0);
    assert_eq!(hostile.connections(), 0);
}

#[test]
fn item3_token_env_path_and_aws_secret_access_key_are_refused_before_any_request() {
    let rt = runtime();
    let emu = emulator(&rt);
    let hostile = Hostile::start();
    let aws_secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    for (name, settings) in [
        ("PATH", "version: 1\nasana:\n  token_env: PATH\n".to_string()),
        (
            "AWS_SECRET_ACCESS_KEY",
            "version: 1\nasana:\n  token_env: AWS_SECRET_ACCESS_KEY\n".to_string(),
        ),
        (
            "GITHUB_TOKEN",
            "version: 1\ntarget:\n  profile: generic\n  token_env: GITHUB_TOKEN\n".to_string(),
        ),
        // The Entra secret's variable, whatever the config calls it.
        (
            "GRAPH_APP_SECRET",
            "version: 1\nasana:\n  token_env: GRAPH_APP_SECRET\nentra:\n  tenant_id: contoso.onmicrosoft.com\n  \
             client_id: 00000000-0000-0000-0000-000000000001\n  service_principal_id: \
             00000000-0000-0000-0000-000000000002\n  client_secret_env: GRAPH_APP_SECRET\n"
                .to_string(),
        ),
    ] {
        let dir = config(&settings, ONE_USER);
        // validate: a located error on the token_env value (line 3, after `  token_env: `).
        let out = workflow(emu.url(), dir.path(), &["validate"]).output().unwrap();
        let all = text(&out);
        assert_eq!(out.status.code(), Some(1), "{name}:\n{all}");
        let line = if settings.contains("target:") { 4 } else { 3 };
        assert!(
            all.contains(&format!("token_env `{name}`"))
                && all.contains(&format!("roster.yaml:{line}:14")),
            "{name}: no located error:\n{all}"
        );
        // plan (and every connecting command): refused with the same error, nothing sent.
        for args in CONNECTING {
            let out = workflow(emu.url(), dir.path(), args)
                .env("AWS_SECRET_ACCESS_KEY", aws_secret)
                .env("GITHUB_TOKEN", "ghs_notarealtoken0123456789")
                .env("GRAPH_APP_SECRET", "graph-secret-value")
                .output()
                .unwrap();
            let all = text(&out);
            assert_eq!(out.status.code(), Some(1), "{name} {args:?}:\n{all}");
            assert!(all.contains(&format!("token_env `{name}`")), "{name} {args:?}:\n{all}");
            for secret in [aws_secret, "ghs_notarealtoken0123456789", "graph-secret-value", TOKEN] {
                assert!(!all.contains(secret), "{name} {args:?} printed a secret:\n{all}");
            }
        }
    }
    assert_eq!(emu.stats().requests, 0, "{:?}", emu.stats());
    assert_eq!(hostile.connections(), 0);
}

/// `roster ARGS` as the workflow runs it, in a config directory with `settings` and one user:
/// the exit code and everything printed.
fn run_with(pinned: &str, settings: &str, args: &[&str]) -> (Option<i32>, String) {
    let dir = config(settings, ONE_USER);
    let out = workflow(pinned, dir.path(), args).output().unwrap();
    (out.status.code(), text(&out))
}

#[test]
fn item3_profile_asana_refuses_a_host_other_than_app_asana_com() {
    const ASANA: &str = "https://app.asana.com/api/1.0/scim";
    for url in [
        "https://scim.evil.example/api/1.0/scim",
        "https://app.asana.com.evil.example/api/1.0/scim",
    ] {
        let settings = format!("version: 1\nasana:\n  url: {url}\n");
        let (code, all) = run_with(ASANA, &settings, &["validate"]);
        assert_eq!(code, Some(1), "{url}:\n{all}");
        assert!(
            all.contains("`profile: asana` refuses the host")
                && all.contains("roster.yaml:3:8")
                && all.contains("profile: generic"),
            "{url}: a located error pointing to the generic profile:\n{all}"
        );
    }
    // Asana's host as user information in front of another one is no better.
    let settings = "version: 1\nasana:\n  url: https://app.asana.com@evil.example/api/1.0/scim\n";
    let (code, all) = run_with(ASANA, settings, &["validate"]);
    assert_eq!(code, Some(1), "{all}");
    assert!(
        all.contains("holds user information") && all.contains("roster.yaml:3:8"),
        "{all}"
    );
    // The generic profile takes any https host (the pin still decides where the token goes).
    let settings = "version: 1\ntarget:\n  profile: generic\n  url: https://scim.example.com/v2\n";
    let (code, all) = run_with("https://scim.example.com/v2", settings, &["validate"]);
    assert_eq!(code, Some(0), "{all}");
    // A pinned URL is held to the same rule for `profile: asana`.
    let (code, all) = run_with(
        "https://scim.evil.example/api/1.0/scim",
        "version: 1\n",
        &["plan"],
    );
    assert_eq!(code, Some(1), "{all}");
    assert!(
        all.contains("ROSTER_TARGET_URL: `profile: asana` refuses the host `scim.evil.example`"),
        "{all}"
    );
}

#[test]
fn item3_a_config_url_equal_to_the_pin_after_normalisation_is_accepted() {
    let rt = runtime();
    let emu = emulator(&rt);
    // Scheme and host case, a trailing slash: the same target.
    let spelled = format!("{}/", emu.url().replacen("http://", "HTTP://", 1));
    let dir = config(&format!("version: 1\nasana:\n  url: {spelled}\n"), ONE_USER);
    let out = workflow(emu.url(), dir.path(), &["plan"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("ada@example.com"), "{}", text(&out));
    // Without a pin, the config's URL is used as before.
    let out = Command::cargo_bin("roster")
        .unwrap()
        .env_remove("ROSTER_TARGET_URL")
        .env_remove("ROSTER_ASANA_URL")
        .env("ASANA_TOKEN", TOKEN)
        .arg("-C")
        .arg(dir.path())
        .arg("plan")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn item3_the_older_url_names_still_pin_and_two_variables_that_differ_are_an_error() {
    let rt = runtime();
    let emu = emulator(&rt);
    let hostile = Hostile::start();
    let dir = config("version: 1\n", ONE_USER);
    let bare = || {
        let mut cmd = Command::cargo_bin("roster").unwrap();
        cmd.env("NO_COLOR", "1")
            .env_remove("ROSTER_TARGET_URL")
            .env_remove("ROSTER_ASANA_URL")
            .env("ASANA_TOKEN", TOKEN)
            .arg("-C")
            .arg(dir.path());
        cmd
    };
    // ROSTER_ASANA_URL and --asana-url are aliases of ROSTER_TARGET_URL and --target-url.
    let out = bare()
        .env("ROSTER_ASANA_URL", emu.url())
        .arg("plan")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = bare()
        .args(["plan", "--asana-url", emu.url()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = bare()
        .args(["plan", "--target-url", emu.url()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let before = emu.stats().requests;
    // Both variables, naming different targets: which wins would be a guess.
    let out = bare()
        .env("ROSTER_TARGET_URL", emu.url())
        .env("ROSTER_ASANA_URL", hostile.url())
        .arg("plan")
        .output()
        .unwrap();
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(
        all.contains("ROSTER_TARGET_URL")
            && all.contains("ROSTER_ASANA_URL")
            && all.contains(emu.url())
            && all.contains(&hostile.url())
            && all.contains("name different targets"),
        "{all}"
    );
    assert_eq!(hostile.connections(), 0);
    assert_eq!(
        emu.stats().requests,
        before,
        "nothing was sent to the pinned one either"
    );
    // The same target under both names is fine.
    let out = bare()
        .env("ROSTER_TARGET_URL", emu.url())
        .env("ROSTER_ASANA_URL", format!("{}/", emu.url()))
        .arg("plan")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // --emulator with a pinned URL is refused, from either variable (clap refuses the one it
    // reads as a usage error, exit 2; roster the other, exit 1).
    for var in ["ROSTER_TARGET_URL", "ROSTER_ASANA_URL"] {
        let out = bare()
            .env(var, emu.url())
            .args(["plan", "--emulator"])
            .output()
            .unwrap();
        assert!(!out.status.success(), "{var}: {}", text(&out));
        assert!(text(&out).contains("--emulator"), "{}", text(&out));
    }
}

#[test]
fn item3_shipped_workflows_pin_the_target_and_the_token_variable() {
    let mut checked = 0;
    for dir in ["examples/github", "examples/organisation/.github/workflows"] {
        for e in std::fs::read_dir(dir).unwrap() {
            let path = e.unwrap().path();
            let yml = std::fs::read_to_string(&path).unwrap();
            let name = path.display();
            assert!(
                yml.contains("ROSTER_TARGET_URL: https://app.asana.com/api/1.0/scim"),
                "{name} does not pin the target"
            );
            // The token reaches roster under one fixed name, and only in steps that run it;
            // so does the Entra client secret. The pull-request token goes to the checkout
            // and the pull-request step, never under a name roster reads.
            for (i, line) in yml.lines().enumerate() {
                if line.contains("secrets.") {
                    assert!(
                        [
                            "ASANA_TOKEN: ${{ secrets.ASANA_TOKEN }}",
                            "ENTRA_CLIENT_SECRET: ${{ secrets.ENTRA_CLIENT_SECRET }}",
                            "token: ${{ secrets.ROSTER_PR_TOKEN || github.token }}",
                            "github-token: ${{ secrets.ROSTER_PR_TOKEN || github.token }}",
                        ]
                        .contains(&line.trim()),
                        "{name}:{}: a secret under another name: {line}",
                        i + 1
                    );
                }
            }
            assert!(
                yml.contains("ASANA_TOKEN: ${{ secrets.ASANA_TOKEN }}"),
                "{name}"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 8);
    // The shipped example configs leave the URL to the pin, so the workflow's pin and the
    // files cannot disagree; they validate.
    for dir in ["examples/organisation", "examples/quickstart"] {
        let settings = std::fs::read_to_string(Path::new(dir).join("roster.yaml")).unwrap();
        assert!(
            !settings.lines().any(|l| l.trim_start().starts_with("url:")),
            "{dir}/roster.yaml names a URL"
        );
    }
}

// ---- low items ------------------------------------------------------------------------------

/// A client that writes to the emulator directly, as someone in the admin console would.
fn admin(emu: &RunningEmulator) -> roster::scim::client::WriteClient {
    use roster::scim::client::{ClientConfig, Secret, WriteClient};
    WriteClient::new(&ClientConfig::new(emu.url(), Secret::new(TOKEN))).unwrap()
}

fn scim_user(user_name: &str, extra: serde_json::Value) -> serde_json::Value {
    let mut u = serde_json::json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        "active": true,
    });
    for (k, v) in extra.as_object().unwrap() {
        u[k] = v.clone();
    }
    u
}

/// The parts of a Markdown line outside code spans.
fn outside_code(line: &str) -> String {
    line.split('`').step_by(2).collect::<Vec<_>>().join(" ")
}

#[test]
fn low_drift_markdown_escapes_live_values() {
    // The nightly drift issue showed what Asana sent as Markdown: a title edited in the admin
    // console became a link, pinged a team, closed its code span and carried ESC bytes.
    let rt = runtime();
    let emu = emulator(&rt);
    let hostile_title = "[approve](https://evil.example) @northwind/admins ``` `x` \u{1b}[2J\u{1b}]0;pwned\u{7}\n# Heading";
    let client = admin(&emu);
    rt.block_on(async {
        client
            .create_user(&scim_user(
                "ada@example.com",
                serde_json::json!({ "title": hostile_title }),
            ))
            .await
            .unwrap();
        client
            .create_user(&scim_user(
                "eve+`[x](https://evil.example)`@example.com",
                serde_json::json!({}),
            ))
            .await
            .unwrap();
    });
    let dir = config(
        "version: 1\n",
        "users:\n  - userPrincipalName: ada@example.com\n    jobTitle: Engineer\n",
    );
    let out = workflow(emu.url(), dir.path(), &["drift", "--format", "markdown"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let md = String::from_utf8(out.stdout).unwrap();
    assert!(md.contains("### Attributes differ (1)"), "{md}");
    assert!(md.contains("### Not declared (unmanaged) (1)"), "{md}");
    for c in ['\u{1b}', '\u{7}'] {
        assert!(
            !md.contains(c),
            "a control character reached the issue: {md:?}"
        );
    }
    for line in md.lines() {
        assert_eq!(
            line.matches('`').count() % 2,
            0,
            "an open code span: {line}"
        );
        let prose = outside_code(line);
        for raw in ["](", "@northwind", "# Heading", "https://"] {
            assert!(!prose.contains(raw), "`{raw}` outside a code span: {line}");
        }
    }
    assert!(
        !md.lines().any(|l| l.starts_with("# Heading")),
        "a live value started a line: {md}"
    );
}

/// A generic SCIM server holding `users` and `groups` (no paging beyond the first page, no
/// writes): what a target that let such users exist would serve.
fn generic_server(
    rt: &tokio::runtime::Runtime,
    users: Vec<serde_json::Value>,
    groups: Vec<serde_json::Value>,
) -> support::ScriptServer {
    use support::Reply;
    let list = |items: &[serde_json::Value], r: &support::Recorded| {
        let first = r.query_u64("startIndex").unwrap_or(1) <= 1;
        let page: Vec<_> = if first { items.to_vec() } else { Vec::new() };
        Reply::json(
            200,
            json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
                "totalResults": items.len(),
                "startIndex": r.query_u64("startIndex").unwrap_or(1),
                "itemsPerPage": page.len(),
                "Resources": page,
            }),
        )
    };
    rt.block_on(support::ScriptServer::start(move |r| {
        match (r.method.as_str(), r.path()) {
            ("GET", "/scim/Users") => list(&users, r),
            ("GET", "/scim/Groups") => list(&groups, r),
            ("GET", "/scim/ServiceProviderConfig") => Reply::json(
                200,
                json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
                    "patch": { "supported": true },
                    "filter": { "supported": false, "maxResults": 100 },
                    "etag": { "supported": false },
                }),
            ),
            _ => Reply::json(404, json!({ "detail": "not here" })),
        }
    }))
}

#[test]
fn low_import_asana_skips_declarations_its_own_validate_rejects() {
    // `import asana` wrote what the target held as it was: two userNames that differ only in
    // case and an invalid email gave files `roster validate` refused at once.
    let rt = runtime();
    let user = |id: &str, name: &str, extra: serde_json::Value| {
        let mut u = json!({ "id": id, "userName": name, "active": true });
        for (k, v) in extra.as_object().unwrap() {
            u[k] = v.clone();
        }
        u
    };
    let server = generic_server(
        &rt,
        vec![
            user("1", "ok@example.com", json!({ "title": "Lead" })),
            user("2", "Bob@example.com", json!({})),
            user("3", "bob@example.com", json!({})),
            user(
                "4",
                "carol@example.com",
                json!({
                "emails": [{ "type": "work", "value": "carol at example", "primary": true }] }),
            ),
        ],
        vec![
            json!({ "id": "g1", "displayName": "Solo", "members": [{ "value": "1" }] }),
            json!({ "id": "g2", "displayName": "Everyone",
                    "members": [{ "value": "1" }, { "value": "4" }] }),
        ],
    );
    let dir = config(
        "version: 1\ntarget:\n  profile: generic\n  token_env: SCIM_TOKEN\n",
        "",
    );
    let run = |args: &[&str]| {
        workflow(&server.base_url(), dir.path(), args)
            .env("SCIM_TOKEN", TOKEN)
            .output()
            .unwrap()
    };
    let out = run(&["import", "asana"]);
    let err = text(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    for skipped in [
        "skipped user \"Bob@example.com\": the userNames `Bob@example.com` and `bob@example.com` differ only in case",
        "skipped user \"bob@example.com\"",
        "skipped user \"carol@example.com\": mail `carol at example` is not an email address",
        "skipped team \"Everyone\": its member `carol@example.com` was left out",
    ] {
        assert!(err.contains(skipped), "`{skipped}` not reported:\n{err}");
    }
    assert!(err.contains("Wrote 1 users and 1 teams"), "{err}");
    // What it wrote is what its own validate accepts, and the first plan changes nothing.
    let out = run(&["validate"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = run(&["plan", "--detailed-exitcode"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        server.requests().iter().all(|r| r.method == "GET"),
        "import and plan only read"
    );
}
