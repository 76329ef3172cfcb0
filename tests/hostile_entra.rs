//! Hostile pull requests against the Entra source (issue 11, item 3, for the client secret),
//! hostile Graph links, and live values in the text output (a low item), through the binary.
//!
//! In live mode the pull-request workflow runs roster with the Entra client secret in
//! `ENTRA_CLIENT_SECRET` and, to pin where it goes, `ROSTER_ENTRA_LOGIN_URL` /
//! `ROSTER_ENTRA_GRAPH_URL`. Here the real Entra is the Graph emulator (on loopback, which the
//! host rule allows for it), and the "attacker's" server is another loopback listener that
//! accepts nothing and counts the connections waiting in its queue. A connection is complete
//! in the kernel as soon as the client's `connect` returns, so after roster has exited an empty
//! queue means nothing was sent: no timing is involved.

#![allow(clippy::disallowed_methods)] // tests set up files, run programs and read the clock

mod support;

use support::{Silent as Hostile, config_dir as config, runtime, text};

use std::path::Path;
use std::process::Output;

use assert_cmd::Command;
use roster::emulator::{Emulator, RunningEmulator};
use roster::entra::emulator::tenant::{
    SEED_CLIENT_ID, SEED_CLIENT_SECRET, SEED_SERVICE_PRINCIPAL_ID, SEED_TENANT_ID,
};
use roster::entra::emulator::{GraphEmulator, GraphEmulatorConfig, RunningGraphEmulator};
use serde_json::json;
use support::{Recorded, Reply, ScriptServer};

const TOKEN: &str = "hostile-entra-test-asana-token-8d1e";

/// The real Asana (the SCIM emulator, accepting [`TOKEN`]) and the real Entra (the Graph
/// emulator with its built-in tenant).
struct Real {
    scim: RunningEmulator,
    graph: RunningGraphEmulator,
}

impl Real {
    fn start(rt: &tokio::runtime::Runtime) -> Real {
        rt.block_on(async {
            Real {
                scim: Emulator::builder()
                    .port(0)
                    .token(TOKEN)
                    .start()
                    .await
                    .unwrap(),
                graph: GraphEmulator::start_seeded(GraphEmulatorConfig::default())
                    .await
                    .unwrap(),
            }
        })
    }

    /// Requests either emulator has seen: sign-ins and Graph reads, SCIM requests.
    fn requests(&self) -> (u64, u64, u64) {
        let g = self.graph.stats();
        (g.token_requests, g.requests, self.scim.stats().requests)
    }
}

/// roster.yaml with an `entra:` section for the emulator's tenant: `entra` lines are added
/// inside it, `top` lines before it.
fn settings(top: &str, entra: &str) -> String {
    format!(
        "version: 1\n{top}entra:\n  tenant_id: {SEED_TENANT_ID}\n  client_id: {SEED_CLIENT_ID}\n  \
         service_principal_id: {SEED_SERVICE_PRINCIPAL_ID}\n  mode: live\n{entra}"
    )
}

/// roster as a live-mode workflow runs it: the target pinned, the token in `ASANA_TOKEN`, the
/// Entra URLs pinned to `login` and `graph`, the secret in `ENTRA_CLIENT_SECRET`.
fn workflow(real: &Real, login: &str, graph: &str, dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::cargo_bin("roster").unwrap();
    cmd.env("NO_COLOR", "1")
        .env_remove("ROSTER_ASANA_URL")
        .env("ROSTER_TARGET_URL", real.scim.url())
        .env("ASANA_TOKEN", TOKEN)
        .env("ROSTER_ENTRA_LOGIN_URL", login)
        .env("ROSTER_ENTRA_GRAPH_URL", graph)
        .env("ENTRA_CLIENT_SECRET", SEED_CLIENT_SECRET)
        .timeout(std::time::Duration::from_secs(120))
        .current_dir(dir)
        .arg("-C")
        .arg(dir)
        .args(args);
    cmd
}

/// [`workflow`] pinned to the Graph emulator.
fn pinned(real: &Real, dir: &Path, args: &[&str]) -> Command {
    workflow(
        real,
        &real.graph.login_url(),
        &real.graph.graph_url(),
        dir,
        args,
    )
}

/// Every command that reads Entra, as a live-mode workflow would run it.
const READING_ENTRA: &[&[&str]] = &[
    &["plan", "--format", "markdown", "--out", "plan.json"],
    &["apply", "--auto-approve"],
    &["drift", "--format", "markdown"],
    &["check"],
    &["import", "entra"],
    &["import", "entra", "--entra-only"],
];

#[test]
fn item3_entra_urls_a_pull_request_writes_cannot_override_the_pinned_ones() {
    let rt = runtime();
    let real = Real::start(&rt);
    let hostile = Hostile::start();
    let h = hostile.base();
    let (login, graph) = (real.graph.login_url(), real.graph.graph_url());
    // The ways a pull request can name a URL: both hostile, or one next to the pinned other
    // (spelled so that a sloppy comparison would miss either).
    let cases = [
        (
            format!("  login_url: {h}/login\n  graph_url: {h}/graph\n"),
            &["login_url", "graph_url"][..],
        ),
        (
            format!(
                "  login_url: {}/\n  graph_url: {h}/graph\n",
                login.replace("http://", "HTTP://")
            ),
            &["graph_url"][..],
        ),
        (
            format!(
                "  login_url: {}/login/\n  graph_url: {graph}\n",
                h.replace("http://", "HTTP://")
            ),
            &["login_url"][..],
        ),
    ];
    for (entra, refused) in &cases {
        let dir = config(&settings("", entra), "");
        for args in READING_ENTRA {
            let out = pinned(&real, dir.path(), args).output().unwrap();
            let all = text(&out);
            assert_eq!(out.status.code(), Some(1), "{args:?} with {entra}:\n{all}");
            for key in ["login_url", "graph_url"] {
                let (var, real_url) = match key {
                    "login_url" => ("ROSTER_ENTRA_LOGIN_URL", &login),
                    _ => ("ROSTER_ENTRA_GRAPH_URL", &graph),
                };
                let named = all.contains(&format!("roster.yaml's entra.{key} `"))
                    && all.contains(&format!("differs from the pinned `{real_url}` ({var})"));
                assert_eq!(
                    named,
                    refused.contains(&key),
                    "{args:?}: the error names both URLs and the pin of {key} when they differ:\n{all}"
                );
            }
            assert!(
                all.contains(&format!("127.0.0.1:{}", hostile.port()))
                    && all.contains("nothing was sent"),
                "{args:?}:\n{all}"
            );
            for secret in [SEED_CLIENT_SECRET, TOKEN] {
                assert!(!all.contains(secret), "{args:?} printed a secret:\n{all}");
            }
            assert_eq!(
                hostile.connections(),
                0,
                "{args:?} with {entra} reached the hostile server"
            );
        }
    }
    // A pull request that writes only one loopback URL is caught before the pins are even
    // read: with the other URL's default, the file names two clouds (a located error).
    let dir = config(&settings("", &format!("  login_url: {h}/login\n")), "");
    for args in READING_ENTRA {
        let out = pinned(&real, dir.path(), args).output().unwrap();
        let all = text(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}:\n{all}");
        assert!(
            all.contains("the two must belong to the same cloud")
                && all.contains("roster.yaml:7:14"),
            "{args:?}:\n{all}"
        );
        assert_eq!(hostile.connections(), 0, "{args:?}");
    }
    // Refused before any request: neither real side saw anything either.
    assert_eq!(real.requests(), (0, 0, 0));
    // The same pull request without the URLs reads the pinned Entra.
    let dir = config(&settings("", ""), "");
    let out = pinned(&real, dir.path(), &["plan"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("Entra (live):") && real.graph.stats().token_requests > 0,
        "{}",
        text(&out)
    );
    assert!(!text(&out).contains(SEED_CLIENT_SECRET));
    assert_eq!(hostile.connections(), 0);
}

#[test]
fn item3_entra_urls_off_microsofts_hosts_are_located_validate_errors() {
    let validate = |entra: &str| {
        let dir = config(&settings("", entra), "");
        let out = Command::cargo_bin("roster")
            .unwrap()
            .env("NO_COLOR", "1")
            .arg("-C")
            .arg(dir.path())
            .arg("validate")
            .output()
            .unwrap();
        (out.status.code(), text(&out))
    };
    // `  login_url: ` and `  graph_url: ` put the value at column 14; the entra section's
    // lines 3 to 6 come first.
    for (entra, message, at) in [
        (
            "  login_url: https://login.evil.example\n",
            "login_url `https://login.evil.example` is not a Microsoft sign-in host: the client \
             secret would be sent to `login.evil.example`",
            "roster.yaml:7:14",
        ),
        (
            "  login_url: https://login.microsoftonline.com.evil.example\n",
            "is not a Microsoft sign-in host",
            "roster.yaml:7:14",
        ),
        (
            "  login_url: https://login.microsoftonline.com@evil.example\n",
            "holds user information",
            "roster.yaml:7:14",
        ),
        (
            "  graph_url: https://graph.evil.example\n",
            "graph_url `https://graph.evil.example` is not a Microsoft Graph host: access \
             tokens would be sent to `graph.evil.example`",
            "roster.yaml:7:14",
        ),
        (
            // A sign-in host where Graph should be.
            "  graph_url: https://login.microsoftonline.com\n",
            "is not a Microsoft Graph host",
            "roster.yaml:7:14",
        ),
        (
            // US Government's sign-in with the global Graph (the default).
            "  login_url: https://login.microsoftonline.us\n",
            "login_url is in the US Government cloud and graph_url is in the global cloud: the \
             two must belong to the same cloud",
            "roster.yaml:7:14",
        ),
        (
            "  login_url: https://login.microsoftonline.us\n  graph_url: https://microsoftgraph.chinacloudapi.cn\n",
            "login_url is in the US Government cloud and graph_url is in the China (21Vianet) cloud",
            "roster.yaml:8:14",
        ),
        (
            // The emulator's sign-in with the real Graph: loopback is a place of its own.
            "  login_url: http://127.0.0.1:4001/login\n  graph_url: https://graph.microsoft.com\n",
            "login_url is a loopback address (the emulator) and graph_url is in the global cloud",
            "roster.yaml:8:14",
        ),
    ] {
        let (code, all) = validate(entra);
        assert_eq!(code, Some(1), "{entra}:\n{all}");
        assert!(
            all.contains(message) && all.contains(at),
            "{entra}: no `{message}` at {at}:\n{all}"
        );
    }
    // Every documented cloud, and the emulator.
    for entra in [
        "",
        "  login_url: https://login.microsoftonline.com/\n  graph_url: https://graph.microsoft.com\n",
        "  login_url: https://login.microsoftonline.us\n  graph_url: https://graph.microsoft.us\n",
        "  login_url: https://login.microsoftonline.us\n  graph_url: https://dod-graph.microsoft.us\n",
        "  login_url: https://login.chinacloudapi.cn\n  graph_url: https://microsoftgraph.chinacloudapi.cn\n",
        "  login_url: https://login.partner.microsoftonline.cn\n  graph_url: https://microsoftgraph.chinacloudapi.cn\n",
        "  login_url: http://127.0.0.1:4001/login\n  graph_url: http://localhost:4001/graph\n",
    ] {
        let (code, all) = validate(entra);
        assert_eq!(code, Some(0), "{entra}:\n{all}");
    }
}

#[test]
fn item3_entra_pins_from_the_environment_are_held_to_the_same_hosts() {
    let rt = runtime();
    let real = Real::start(&rt);
    let hostile = Hostile::start();
    let dir = config(&settings("", ""), "");
    let h = hostile.base();
    for (login, graph, message) in [
        (
            "https://login.evil.example".to_string(),
            real.graph.graph_url(),
            "ROSTER_ENTRA_LOGIN_URL: login_url `https://login.evil.example` is not a Microsoft \
             sign-in host"
                .to_string(),
        ),
        // A pin on loopback with the other on a Microsoft host: two clouds, so one of them is
        // not where the workflow meant to send anything.
        (
            "https://login.microsoftonline.com".to_string(),
            format!("{h}/graph"),
            format!(
                "login_url is in the global cloud and graph_url is a loopback address (the \
                 emulator): the two must belong to the same cloud (login_url \
                 `https://login.microsoftonline.com` from ROSTER_ENTRA_LOGIN_URL, graph_url \
                 `{h}/graph` from ROSTER_ENTRA_GRAPH_URL)"
            ),
        ),
    ] {
        for args in READING_ENTRA {
            let out = workflow(&real, &login, &graph, dir.path(), args)
                .output()
                .unwrap();
            let all = text(&out);
            assert_eq!(out.status.code(), Some(1), "{args:?}:\n{all}");
            assert!(all.contains(&message), "{args:?}: no `{message}`:\n{all}");
            assert!(!all.contains(SEED_CLIENT_SECRET), "{all}");
        }
    }
    assert_eq!(hostile.connections(), 0);
    assert_eq!(real.requests(), (0, 0, 0));
}

#[test]
fn item3_client_secret_env_naming_another_secret_is_refused_before_any_request() {
    let rt = runtime();
    let real = Real::start(&rt);
    let values = [
        ("PATH", None),
        ("HOME", None),
        ("GITHUB_TOKEN", Some("ghs_notarealtoken0123456789")),
        (
            "AWS_SECRET_ACCESS_KEY",
            Some("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        ),
        ("ASANA_TOKEN", Some(TOKEN)),
        ("MY_SCIM_TOKEN", Some("the-generic-servers-token-5b2")),
    ];
    for (name, _) in values {
        // The SCIM token's variable is refused whatever token_env calls it.
        let top = if name == "MY_SCIM_TOKEN" {
            "asana:\n  token_env: MY_SCIM_TOKEN\n"
        } else {
            ""
        };
        let entra = format!("  client_secret_env: {name}\n");
        let dir = config(&settings(top, &entra), "");
        let line = if top.is_empty() { 7 } else { 9 };
        let out = pinned(&real, dir.path(), &["validate"]).output().unwrap();
        let all = text(&out);
        assert_eq!(out.status.code(), Some(1), "{name}:\n{all}");
        assert!(
            all.contains(&format!("client_secret_env `{name}`"))
                && all.contains("not the Entra client secret")
                && all.contains(&format!("roster.yaml:{line}:22")),
            "{name}: no located error:\n{all}"
        );
        for args in READING_ENTRA {
            let mut cmd = pinned(&real, dir.path(), args);
            for (var, value) in values {
                if let Some(value) = value {
                    cmd.env(var, value);
                }
            }
            let out = cmd.output().unwrap();
            let all = text(&out);
            assert_eq!(out.status.code(), Some(1), "{name} {args:?}:\n{all}");
            assert!(
                all.contains(&format!("client_secret_env `{name}`")),
                "{name} {args:?}:\n{all}"
            );
            for value in values.iter().filter_map(|(_, v)| *v) {
                assert!(
                    !all.contains(value),
                    "{name} {args:?} printed a secret:\n{all}"
                );
            }
        }
    }
    // No sign-in was attempted with any of them, and nothing reached Asana.
    assert_eq!(real.requests(), (0, 0, 0));
}

// ---- Graph links --------------------------------------------------------------------------

/// A Graph on a scripted server: signs in, serves an empty tenant, and answers `users/delta`
/// and `appRoleAssignedTo` with what `links` returns for the request (its JSON body).
fn scripted_graph(
    rt: &tokio::runtime::Runtime,
    links: impl Fn(&Recorded) -> Option<serde_json::Value> + Send + Sync + 'static,
) -> ScriptServer {
    rt.block_on(ScriptServer::start(move |r| {
        if r.method == "POST" {
            return Reply::json(
                200,
                json!({"token_type": "Bearer", "expires_in": 3599, "access_token": "graph-access-token-7c1"}),
            );
        }
        if let Some(body) = links(r) {
            return Reply::json(200, body);
        }
        Reply::json(200, json!({"value": []}))
    }))
}

/// `import entra --entra-only` with the Entra URLs pinned to `server`.
fn import_from(server: &ScriptServer, dir: &Path) -> Output {
    let base = format!("http://{}", server.addr);
    Command::cargo_bin("roster")
        .unwrap()
        .env("NO_COLOR", "1")
        .env("ROSTER_ENTRA_LOGIN_URL", format!("{base}/login"))
        .env("ROSTER_ENTRA_GRAPH_URL", format!("{base}/graph"))
        .env("ENTRA_CLIENT_SECRET", SEED_CLIENT_SECRET)
        .timeout(std::time::Duration::from_secs(120))
        .arg("-C")
        .arg(dir)
        .args(["import", "entra", "--entra-only"])
        .output()
        .unwrap()
}

#[test]
fn item3_graph_links_off_the_graph_host_are_never_followed() {
    let rt = runtime();
    let hostile = Hostile::start();
    let h = hostile.port();
    // Links Graph (or whoever answers for it) may send: to another port of the same address,
    // the same port under another name or scheme, and a URL whose user information spells the
    // Graph host in front of the hostile one.
    let links = move |graph_port: u16| {
        [
            format!("http://127.0.0.1:{h}/graph/v1.0/users/delta?$skiptoken=2"),
            format!("https://127.0.0.1:{graph_port}/graph/v1.0/users/delta?$skiptoken=2"),
            format!("http://localhost:{graph_port}/graph/v1.0/users/delta?$skiptoken=2"),
            format!("http://127.0.0.1:{graph_port}@127.0.0.1:{h}/graph/v1.0/users/delta"),
        ]
    };
    // Which link, and where it is put: a next page of the delta round, its delta link, or a
    // next page of the app's assignments (a plain listing).
    for place in ["@odata.nextLink", "@odata.deltaLink", "assignments"] {
        for which in 0..4 {
            let graph_port = std::sync::Arc::new(std::sync::atomic::AtomicU16::new(0));
            let port = graph_port.clone();
            let server = scripted_graph(&rt, move |r| {
                let link = links(port.load(std::sync::atomic::Ordering::SeqCst))[which].clone();
                let base = format!("http://{}", r.header("host").unwrap_or(""));
                if r.path().ends_with("/users/delta") {
                    return Some(match place {
                        "assignments" => json!({
                            "value": [],
                            "@odata.deltaLink": format!("{base}/graph/v1.0/users/delta?$deltatoken=1"),
                        }),
                        _ => json!({"value": [], place: link}),
                    });
                }
                (place == "assignments" && r.path().ends_with("/appRoleAssignedTo"))
                    .then(|| json!({"value": [], "@odata.nextLink": link}))
            });
            graph_port.store(server.addr.port(), std::sync::atomic::Ordering::SeqCst);
            let dir = config(&settings("", ""), "");
            let out = import_from(&server, dir.path());
            let all = text(&out);
            let link = &links(server.addr.port())[which];
            assert_eq!(out.status.code(), Some(1), "{place} {link}:\n{all}");
            assert!(
                all.contains("is on another host") && all.contains("refusing to send the token"),
                "{place} {link}:\n{all}"
            );
            for secret in [SEED_CLIENT_SECRET, "graph-access-token-7c1"] {
                assert!(!all.contains(secret), "{place} {link}:\n{all}");
            }
            assert_eq!(hostile.connections(), 0, "{place} {link} was followed");
            // Not followed on the Graph host's own address either.
            let followed = server
                .requests()
                .iter()
                .filter(|r| r.target.contains("skiptoken=2"))
                .count();
            assert_eq!(followed, 0, "{place} {link} was followed on the Graph host");
        }
    }
}

#[test]
fn item3_a_stored_delta_link_off_the_graph_host_is_not_followed() {
    // The delta state under .roster/ is in the config directory, which a pull request's
    // checkout could bring: a link in it to another host is dropped and everything is read.
    let rt = runtime();
    let hostile = Hostile::start();
    let server = scripted_graph(&rt, |r| {
        let base = format!("http://{}", r.header("host").unwrap_or(""));
        r.path().ends_with("/users/delta").then(|| {
            json!({
                "value": [],
                "@odata.deltaLink": format!("{base}/graph/v1.0/users/delta?$deltatoken=1"),
            })
        })
    });
    let dir = config(&settings("", ""), "");
    let out = import_from(&server, dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let state = dir.path().join(".roster/entra-delta.json");
    let stored = std::fs::read_to_string(&state).unwrap();
    let ours = format!("http://{}/graph/v1.0/users/delta", server.addr);
    assert!(stored.contains(&ours), "{stored}");
    // Sealed again with the secret (which this test knows and a pull request's author does
    // not), so that the host check itself is what refuses it.
    let edited = stored.replace(&ours, &format!("{}/graph/v1.0/users/delta", hostile.base()));
    std::fs::write(&state, reseal(&edited, SEED_CLIENT_SECRET)).unwrap();
    let out = import_from(&server, dir.path());
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(
        all.contains("the stored delta link is not on the Graph host; reading every user"),
        "{all}"
    );
    assert_eq!(hostile.connections(), 0);
    assert!(!all.contains(SEED_CLIENT_SECRET), "{all}");
}

/// The state file `text` with its tag computed again for `secret`, as roster seals it:
/// HMAC-SHA-256 over the state's JSON, keyed by `roster-entra-delta-state\0` and the secret.
fn reseal(text: &str, secret: &str) -> String {
    use hmac::{KeyInit, Mac};
    let file: serde_json::Value = serde_json::from_str(text).unwrap();
    let state = serde_json::to_string(&file["state"]).unwrap();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(
        format!("roster-entra-delta-state\0{secret}").as_bytes(),
    )
    .unwrap();
    mac.update(state.as_bytes());
    let tag: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!(r#"{{"tag":"{tag}","state":{state}}}"#)
}

#[test]
fn item3_a_delta_state_committed_in_a_pull_request_is_not_trusted() {
    // `.roster/entra-delta.json` is git-ignored, but a pull request can commit one anyway
    // (`git add -f`): made-up users under a fresh timestamp, which a delta read would take as
    // the directory. Only a state sealed with the client secret is used.
    let rt = runtime();
    let server = scripted_graph(&rt, |r| {
        let base = format!("http://{}", r.header("host").unwrap_or(""));
        r.path().ends_with("/users/delta").then(|| {
            json!({
                "value": [],
                "@odata.deltaLink": format!("{base}/graph/v1.0/users/delta?$deltatoken=1"),
            })
        })
    });
    let dir = config(&settings("", ""), "");
    let out = import_from(&server, dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let state = dir.path().join(".roster/entra-delta.json");
    let stored = std::fs::read_to_string(&state).unwrap();
    let mut file: serde_json::Value = serde_json::from_str(&stored).unwrap();
    let forged = json!({
        "id": "f0f0f0f0-0000-0000-0000-000000000001",
        "userPrincipalName": "mallory@example.com",
        "displayName": "Mallory",
        "accountEnabled": true,
    });
    file["state"]["users"]["f0f0f0f0-0000-0000-0000-000000000001"] = forged;
    let delta_reads = |s: &ScriptServer| {
        s.requests()
            .iter()
            .filter(|r| r.target.contains("deltatoken=1"))
            .count()
    };
    for (what, text_of_file) in [
        ("unsealed", serde_json::to_string(&file).unwrap()),
        (
            "sealed with another secret",
            reseal(&file.to_string(), "not-the-secret"),
        ),
    ] {
        std::fs::write(&state, &text_of_file).unwrap();
        let before = delta_reads(&server);
        let out = import_from(&server, dir.path());
        let all = text(&out);
        assert_eq!(out.status.code(), Some(0), "{what}: {all}");
        assert!(
            all.contains("the delta state was not written by roster with this client secret"),
            "{what}: {all}"
        );
        assert_eq!(
            delta_reads(&server),
            before,
            "{what}: the stored link was used"
        );
        let users =
            std::fs::read_to_string(dir.path().join("users/entra/users.yaml")).unwrap_or_default();
        assert!(!users.contains("mallory"), "{what}: {users}");
        assert!(!all.contains(SEED_CLIENT_SECRET), "{what}: {all}");
    }
}

// ---- low items ----------------------------------------------------------------------------

/// Control and invisible characters a live value may carry to a terminal: ESC (sequences that
/// clear the screen, set the title, hide text, make links), BEL, DEL, the C1 CSI, a bidi
/// override and a zero-width space, and a newline that would forge a line of the plan.
const HOSTILE_TITLE: &str =
    "Lead\u{1b}[2J\u{1b}]0;pwned\u{7}\u{9b}8m\u{7f}\u{202e}drow\u{200b}\n  + forged = true";

#[test]
fn low_text_output_escapes_live_control_characters() {
    let state_dir = tempfile::tempdir().unwrap();
    let state = state_dir.path().join("state.json");
    let user = |id: &str, name: &str, title: &str| {
        json!({"id": id, "attributes": {
            "userName": name, "active": true, "name": {"formatted": name}, "title": title,
        }})
    };
    std::fs::write(
        &state,
        serde_json::to_vec(&json!({
            "format": "roster-emulator-state/1",
            "users": [
                user("1204000000000001", "ada@example.com", HOSTILE_TITLE),
                // Nobody declares her: the plan lists her userName as unmanaged.
                user("1204000000000002", "eve\u{202e}moc.elpmaxe\u{200b}@example.com", "x"),
            ],
        }))
        .unwrap(),
    )
    .unwrap();
    let dir = config(
        "version: 1\npolicy:\n  unmanaged: report\n",
        "users:\n  - userPrincipalName: ada@example.com\n    displayName: ada@example.com\n    jobTitle: Engineer\n",
    );
    let roster = |args: &[&str]| {
        let out = Command::cargo_bin("roster")
            .unwrap()
            .env("NO_COLOR", "1")
            .env_remove("ROSTER_TARGET_URL")
            .env_remove("ROSTER_ASANA_URL")
            .timeout(std::time::Duration::from_secs(120))
            .current_dir(dir.path())
            .arg("-C")
            .arg(dir.path())
            .args(args)
            .output()
            .unwrap();
        (out.status.code(), text(&out))
    };
    let state = state.to_str().unwrap();
    let emulator = ["--emulator", "--emulator-state", state];
    let plan = roster(&[&["plan", "--out", "plan.json"][..], &emulator].concat());
    let drift = roster(&[&["drift"][..], &emulator].concat());
    let show = roster(&["show", "plan.json"]);
    for (what, (code, out), expected) in [
        ("plan", plan, Some(0)),
        ("drift", drift, Some(2)),
        ("show", show, Some(0)),
    ] {
        assert_eq!(code, expected, "{what}:\n{out}");
        assert!(
            out.contains("ada@example.com") && out.contains("Lead"),
            "{what} does not show the live title:\n{out}"
        );
        for c in [
            '\u{1b}', '\u{7}', '\u{9b}', '\u{7f}', '\u{202e}', '\u{200b}',
        ] {
            assert!(
                !out.contains(c),
                "{what}: {c:?} reached the terminal:\n{out:?}"
            );
        }
        for line in out.lines() {
            assert!(
                !line.trim_start().starts_with("+ forged"),
                "{what}: a live value forged a line:\n{out}"
            );
        }
        // Shown, so a reviewer sees something is there.
        for shown in ["\\u{9b}", "\\u{7f}", "\\u{202e}", "\\u{200b}"] {
            assert!(out.contains(shown), "{what}: `{shown}` not shown:\n{out}");
        }
    }
}
