//! The real binary (and the client under it) against servers that lie, issue 11: servers that
//! echo the token or the Entra secret back in every encoding a web stack produces (item 6),
//! pages that never end, repeat themselves or report a total no organisation has (item 9),
//! and rate limits roster cannot wait out (the low items).
//!
//! Each test runs its own scripted server on 127.0.0.1 (`support::ScriptServer`, a small tokio
//! loopback server) on its own runtime, so the binary can block while it answers. Nothing here
//! sleeps on purpose; every binary run is bounded by a 60 s timeout.

#![allow(clippy::disallowed_methods)] // tests set up files, run programs and read the clock

mod support;

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use roster::entra::graph::{GraphClient, GraphConfig, GraphError};
use roster::scim::client::{
    ClientConfig, ClientError, ListStop, MAX_RESOURCES, ReadClient, RecordingClock, Secret,
};
use serde_json::{Value, json};
use support::{Recorded, Reply, ScriptServer};
use tempfile::TempDir;

/// A token with the characters that encodings change: `/`, `:`, `&`, a space, `~`, `.`.
const TOKEN: &str = "2/1209876543:DoNotLeak&Zq9x 7f3c~e1d.K";
/// A run of it that survives every form but those that encode letters too.
const TOKEN_WORD: &str = "donotleak";
/// An Entra client secret, with the characters Entra puts in them.
const ENTRA_SECRET: &str = "Qx8~Zp.Secret_NeverShown-42";
/// The access token the hostile sign-in endpoint hands out.
const ACCESS_TOKEN: &str = "eyJ0eXAi.Hostile/Access+Token.AlsoNeverShown";

const BOUND: Duration = Duration::from_secs(60);

// ---- harness ------------------------------------------------------------------------------

/// A scripted server on its own runtime.
struct Hostile {
    // Dropped first: the server stops before its runtime goes.
    server: ScriptServer,
    _rt: tokio::runtime::Runtime,
}

impl Hostile {
    fn start(handler: impl Fn(&Recorded) -> Reply + Send + Sync + 'static) -> Hostile {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let server = rt.block_on(ScriptServer::start(handler));
        Hostile { server, _rt: rt }
    }

    /// The requests for `path` (e.g. `/scim/Users`).
    fn requests_to(&self, path: &str) -> usize {
        self.server
            .requests()
            .iter()
            .filter(|r| r.path() == path)
            .count()
    }
}

/// A config directory that declares nothing and takes the token from ASANA_TOKEN.
fn config_dir() -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("roster.yaml"),
        "version: 1\nasana:\n  token_env: ASANA_TOKEN\n",
    )
    .unwrap();
    dir
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// `roster -C dir [-vvv] plan` against `server`, with `token`.
fn plan(server: &Hostile, dir: &Path, token: &str, verbosity: u8) -> Run {
    let mut cmd = assert_cmd::Command::cargo_bin("roster").unwrap();
    cmd.env("NO_COLOR", "1")
        .env("ASANA_TOKEN", token)
        .env("ROSTER_ASANA_URL", server.server.base_url())
        .arg("-C")
        .arg(dir);
    if verbosity > 0 {
        cmd.arg(format!("-{}", "v".repeat(verbosity.into())));
    }
    run(cmd.arg("plan"))
}

/// Asserts that `plan` against `server` fails, saying `message`, after `requests` requests for
/// users; returns the run.
fn assert_plan_stops(server: &Hostile, message: &str, requests: usize) -> Run {
    let dir = config_dir();
    let run = plan(server, dir.path(), TOKEN, 0);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains(message), "{}", run.stderr);
    assert_eq!(server.requests_to("/scim/Users"), requests);
    run
}

fn run(cmd: &mut assert_cmd::Command) -> Run {
    let out = cmd.timeout(BOUND).output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn user(id: u64) -> Value {
    json!({"id": id.to_string(), "userName": format!("u{id}@x.io"), "active": true})
}

fn list(resources: Vec<Value>, total: Option<u64>) -> Reply {
    let mut body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "Resources": resources,
    });
    if let Some(total) = total {
        body["totalResults"] = json!(total);
    }
    Reply::json(200, body)
}

/// An empty team list, for the `/Groups` read that runs beside every `/Users` read.
fn no_groups(r: &Recorded) -> Option<Reply> {
    (r.path() == "/scim/Groups").then(|| list(Vec::new(), Some(0)))
}

// ---- the encodings a hostile server echoes a secret in --------------------------------------

/// `text` with every character outside `keep` replaced by `encode(c)`.
fn encode_except(text: &str, keep: fn(char) -> bool, encode: impl Fn(char) -> String) -> String {
    text.chars()
        .map(|c| if keep(c) { c.to_string() } else { encode(c) })
        .collect()
}

fn alnum(c: char) -> bool {
    c.is_ascii_alphanumeric()
}

fn nothing(_: char) -> bool {
    false
}

fn html_named(c: char) -> String {
    match c {
        '/' => "&sol;".into(),
        '&' => "&amp;".into(),
        ':' => "&colon;".into(),
        '.' => "&period;".into(),
        '_' => "&lowbar;".into(),
        '+' => "&plus;".into(),
        c => format!("&#{};", c as u32),
    }
}

/// Every form item 6 names: URL-encoded (`%XX` upper and lower, `+` for a space),
/// JSON-escaped (`\/`, `\uXXXX`), HTML references (decimal, hex, named) and case-folded.
fn forms(secret: &str) -> Vec<(&'static str, String)> {
    let form_encoded: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    let json_escaped = secret.replace('/', "\\/");
    vec![
        ("as is", secret.to_string()),
        ("upper-cased", secret.to_uppercase()),
        ("lower-cased", secret.to_lowercase()),
        (
            "percent-encoded, upper-case hex",
            encode_except(secret, alnum, |c| format!("%{:02X}", c as u32)),
        ),
        (
            "percent-encoded, lower-case hex",
            encode_except(secret, alnum, |c| format!("%{:02x}", c as u32)),
        ),
        (
            "percent-encoded, every character",
            encode_except(secret, nothing, |c| format!("%{:02X}", c as u32)),
        ),
        ("form-encoded, + for a space", form_encoded.clone()),
        ("form-encoded, lower-cased", form_encoded.to_lowercase()),
        ("JSON \\/", json_escaped.clone()),
        ("JSON \\/, upper-cased", json_escaped.to_uppercase()),
        (
            "JSON \\u, every character",
            encode_except(secret, nothing, |c| format!("\\u{:04x}", c as u32)),
        ),
        (
            "JSON \\u, upper-cased",
            encode_except(secret, alnum, |c| format!("\\u{:04x}", c as u32)).to_uppercase(),
        ),
        (
            "HTML decimal references",
            encode_except(secret, alnum, |c| format!("&#{};", c as u32)),
        ),
        (
            "HTML hex references",
            encode_except(secret, alnum, |c| format!("&#x{:X};", c as u32)),
        ),
        (
            "HTML named references",
            encode_except(secret, alnum, html_named),
        ),
        (
            "HTML named references, upper-cased",
            encode_except(secret, alnum, html_named).to_uppercase(),
        ),
    ]
}

/// Where the server puts the echo.
#[derive(Clone, Copy, Debug)]
enum Body {
    /// A JSON error, in `detail` and `scimType` (JSON-escaped once more on the wire).
    ScimJson,
    /// An HTML page from a proxy, not JSON at all.
    Html,
}

/// Asserts that no form of `secret` reached `run`'s output, and that the echo did (redacted).
fn assert_redacted(run: &Run, secret: &str, word: &str, form: &str, case: &str) {
    assert_eq!(run.code, 1, "{case}: {}", run.stderr);
    for (name, out) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
        assert!(!out.contains(secret), "{case}: the secret in {name}: {out}");
        assert!(
            !out.contains(form),
            "{case}: the echoed form in {name}: {out}"
        );
        assert!(
            !out.to_lowercase().contains(word),
            "{case}: part of the secret in {name}: {out}"
        );
    }
    assert!(
        run.stderr.contains("[redacted]"),
        "{case}: the echo did not reach the error: {}",
        run.stderr
    );
}

// ---- item 6: redaction --------------------------------------------------------------------

#[test]
fn item6_each_encoded_form_of_the_scim_token_is_redacted_at_every_verbosity() {
    let current: Arc<Mutex<(usize, Body)>> = Arc::new(Mutex::new((0, Body::ScimJson)));
    let chosen = current.clone();
    let server = Hostile::start(move |r| {
        // The server echoes what it was sent, in the form under test.
        let token = r
            .header("authorization")
            .unwrap_or("")
            .trim_start_matches("Bearer ");
        let (form, body) = *chosen.lock().unwrap();
        let echo = forms(token)[form].1.clone();
        match body {
            Body::ScimJson => Reply::json(
                401,
                json!({"detail": format!("token {echo} is not valid here"), "scimType": echo}),
            ),
            Body::Html => Reply::Send {
                status: 401,
                headers: vec![("content-type".into(), "text/html".into())],
                body: format!(
                    "<html><body>\u{1b}[2J<h1>401</h1><pre>Authorization: Bearer {echo}</pre></body></html>"
                ),
            },
        }
    });
    let dir = config_dir();
    let mut runs = 0;
    for (i, (name, form)) in forms(TOKEN).into_iter().enumerate() {
        for body in [Body::ScimJson, Body::Html] {
            *current.lock().unwrap() = (i, body);
            for verbosity in [0, 3] {
                let run = plan(&server, dir.path(), TOKEN, verbosity);
                let case = format!("{name}, {body:?} body, verbosity {verbosity}");
                assert_redacted(&run, TOKEN, TOKEN_WORD, &form, &case);
                // Cut short and stripped of control characters before printing.
                assert!(!run.stderr.contains('\u{1b}'), "{case}: {}", run.stderr);
                if verbosity == 3 {
                    assert!(run.stderr.contains("scim: GET "), "{case}: {}", run.stderr);
                }
                runs += 1;
            }
        }
    }
    assert_eq!(runs, 64);
    assert!(server.requests_to("/scim/Users") >= runs);
}

#[test]
fn item6_a_long_error_body_is_cut_and_stripped_of_control_characters() {
    let server = Hostile::start(|r| {
        let token = r
            .header("authorization")
            .unwrap_or("")
            .trim_start_matches("Bearer ");
        // The token sits across the point where the message is cut.
        let detail = format!(
            "\u{1b}]0;owned\u{7}\u{1b}[31m{}{token}{}",
            "x".repeat(280),
            "y".repeat(100_000)
        );
        Reply::json(400, json!({"detail": detail}))
    });
    let dir = config_dir();
    let run = plan(&server, dir.path(), TOKEN, 0);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        !run.stderr.contains(TOKEN) && !run.stderr.contains("2/1209"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.chars().all(|c| c == '\n' || !c.is_control()),
        "{:?}",
        run.stderr
    );
    assert!(!run.stderr.contains("yyyy"), "{}", run.stderr);
    let error = run
        .stderr
        .lines()
        .find(|l| l.starts_with("error:"))
        .unwrap();
    assert!(
        error.contains("]0;owned [31m") && error.ends_with('…'),
        "{error}"
    );
    assert!(error.chars().count() < 500, "{error}");
}

/// A config directory for `import entra --entra-only`, from the Entra example without its
/// emulator URLs (these runs pin the server's with ROSTER_ENTRA_*_URL, and a URL roster.yaml
/// writes must equal the pinned one).
fn entra_dir() -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string("examples/entra/roster.yaml").unwrap();
    let text = text
        .replace("  login_url: http://127.0.0.1:4001/login\n", "")
        .replace("  graph_url: http://127.0.0.1:4001/graph\n", "");
    std::fs::write(dir.path().join("roster.yaml"), text).unwrap();
    dir
}

fn import_entra(server: &Hostile, dir: &Path, verbosity: u8) -> Run {
    let base = format!("http://{}", server.server.addr);
    let mut cmd = assert_cmd::Command::cargo_bin("roster").unwrap();
    cmd.env("NO_COLOR", "1")
        .env("ENTRA_CLIENT_SECRET", ENTRA_SECRET)
        .env("ROSTER_ENTRA_LOGIN_URL", format!("{base}/login"))
        .env("ROSTER_ENTRA_GRAPH_URL", format!("{base}/graph"))
        .arg("-C")
        .arg(dir);
    if verbosity > 0 {
        cmd.arg(format!("-{}", "v".repeat(verbosity.into())));
    }
    run(cmd.args(["import", "entra", "--entra-only"]))
}

#[test]
fn item6_the_entra_secret_and_graph_access_tokens_are_redacted_in_each_form() {
    // (form, whether sign-in fails): failing, the sign-in endpoint echoes the client secret it
    // was sent; succeeding, it hands out a token that Graph then echoes.
    let current: Arc<Mutex<(usize, bool)>> = Arc::new(Mutex::new((0, true)));
    let chosen = current.clone();
    let server = Hostile::start(move |r| {
        let (form, sign_in_fails) = *chosen.lock().unwrap();
        if r.method == "POST" {
            if !sign_in_fails {
                return Reply::json(
                    200,
                    json!({"access_token": ACCESS_TOKEN, "expires_in": 3600}),
                );
            }
            let secret = url::form_urlencoded::parse(&r.body)
                .find(|(k, _)| k == "client_secret")
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default();
            let echo = forms(&secret)[form].1.clone();
            return Reply::json(
                401,
                json!({
                    "error": "invalid_client",
                    "error_description": format!(
                        "AADSTS7000215: Invalid client secret provided: {echo}\r\nTrace ID: 1"
                    ),
                }),
            );
        }
        let token = r
            .header("authorization")
            .unwrap_or("")
            .trim_start_matches("Bearer ");
        let echo = forms(token)[form].1.clone();
        Reply::json(
            403,
            json!({"error": {"code": echo, "message": format!("the token {echo} lacks rights")}}),
        )
    });
    let dir = entra_dir();
    for (i, (name, _)) in forms(ENTRA_SECRET).into_iter().enumerate() {
        for verbosity in [0, 3] {
            *current.lock().unwrap() = (i, true);
            let form = &forms(ENTRA_SECRET)[i].1;
            let run = import_entra(&server, dir.path(), verbosity);
            let case = format!("client secret {name}, verbosity {verbosity}");
            assert_redacted(&run, ENTRA_SECRET, "secret_nevershown", form, &case);
            assert!(
                run.stderr.contains("invalid_client"),
                "{case}: {}",
                run.stderr
            );

            *current.lock().unwrap() = (i, false);
            let form = &forms(ACCESS_TOKEN)[i].1;
            let run = import_entra(&server, dir.path(), verbosity);
            let case = format!("access token {name}, verbosity {verbosity}");
            assert_redacted(
                &run,
                ACCESS_TOKEN,
                "access+token.alsonevershown",
                form,
                &case,
            );
            assert!(
                !run.stderr.to_lowercase().contains("alsonevershown"),
                "{case}"
            );
            assert!(run.stderr.contains("403"), "{case}: {}", run.stderr);
        }
    }
}

// ---- item 9: bounded reads ----------------------------------------------------------------

#[test]
fn item9_a_lying_total_results_stops_after_the_first_page() {
    let server = Hostile::start(|r| {
        no_groups(r).unwrap_or_else(|| list((1..=3).map(user).collect(), Some(1_000_000_000_000)))
    });
    let run = assert_plan_stops(
        &server,
        "/scim/Users: stopped reading the list after 1 page and 3 resources: the server \
         reports 1,000,000,000,000 resources (totalResults), more than the 1,000,000 roster \
         reads in one list",
        1,
    );
    assert!(
        run.stderr
            .contains("hint: roster plans only on a complete list"),
        "{}",
        run.stderr
    );
}

#[test]
fn item9_a_total_results_under_the_maximum_but_false_stops_after_one_window() {
    // Three users, "999,999" reported: the first window of pages after the first is empty.
    let server = Hostile::start(|r| {
        no_groups(r).unwrap_or_else(|| {
            let start = r.query_u64("startIndex").unwrap_or(1);
            let users = if start == 1 {
                (1..=3).map(user).collect()
            } else {
                Vec::new()
            };
            list(users, Some(999_999))
        })
    });
    // The first page, then one window of 50 pages read at once.
    assert_plan_stops(
        &server,
        "read 3 of the 999999 resources the server reported",
        51,
    );
}

/// A server inventing 100 new users on every page, whatever was asked.
fn inventing(total: impl Fn(u64) -> Option<u64> + Send + Sync + 'static) -> Hostile {
    let served = AtomicU64::new(0);
    Hostile::start(move |r| {
        no_groups(r).unwrap_or_else(|| {
            let from = served.fetch_add(100, Ordering::SeqCst);
            list(
                (from + 1..=from + 100).map(user).collect(),
                total(from + 100),
            )
        })
    })
}

#[test]
fn item9_endless_pages_past_total_results_stop_with_a_clear_error() {
    let server = inventing(|_| Some(250));
    assert_plan_stops(
        &server,
        "stopped reading the list after 3 pages and 300 resources: the server sent 300 \
         different resources but reports 250 (totalResults)",
        3,
    );
}

#[test]
fn item9_a_total_results_that_keeps_growing_stops_with_a_clear_error() {
    // Always 1,000 more than served so far: the list can never complete.
    let server = inventing(|served| Some(served + 1000));
    // The first page announced 1,100: it and the ten pages of one window.
    assert_plan_stops(&server, "the server's totalResults grew from 1,100 to ", 11);
}

#[test]
fn item9_pages_that_repeat_ids_stop_with_a_clear_error() {
    // No totalResults; each page is the last one shifted by one user: 1-100, 2-101, 3-102, …
    let shift = AtomicU64::new(0);
    let server = Hostile::start(move |r| {
        no_groups(r).unwrap_or_else(|| {
            let k = shift.fetch_add(1, Ordering::SeqCst);
            list((k + 1..=k + 100).map(user).collect(), None)
        })
    });
    assert_plan_stops(
        &server,
        "stopped reading the list after 2 pages and 101 resources: the server's pages \
         repeat resources already read (99 repeats)",
        2,
    );
}

/// A client for `server` on virtual time.
fn client(server: &ScriptServer, configure: impl FnOnce(&mut ClientConfig)) -> ReadClient {
    let mut c = ClientConfig::new(server.base_url(), Secret::new(TOKEN));
    c.clock = Arc::new(RecordingClock::new());
    c.jitter_seed = Some(7);
    configure(&mut c);
    ReadClient::new(&c).unwrap()
}

#[tokio::test]
async fn item9_endless_paging_without_total_results_stops_at_the_documented_maximum() {
    // New ids on every page, 10,000 at a time, never a totalResults: only the maximum ends it.
    let served = Arc::new(AtomicU64::new(0));
    let count = served.clone();
    let server = ScriptServer::start(move |_| {
        let from = count.fetch_add(10_000, Ordering::SeqCst);
        let ids: Vec<Value> = (from + 1..=from + 10_000)
            .map(|i| json!({"id": i.to_string()}))
            .collect();
        list(ids, None)
    })
    .await;
    let client = client(&server, |_| {});
    let err = tokio::time::timeout(BOUND, client.list_users_with(|_| ()))
        .await
        .expect("the list stops")
        .unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::ListStopped {
                why: ListStop::TooManyResources,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().contains(
            "stopped reading the list after 101 pages and 1,010,000 resources: the server keeps \
             sending new resources past the 1,000,000 roster reads in one list"
        ),
        "{err}"
    );
    assert_eq!(server.requests().len() as u64, MAX_RESOURCES / 10_000 + 1);
}

#[tokio::test]
async fn item9_a_list_still_unread_at_its_deadline_stops() {
    // Endless new pages, each answered only after a 100-second rate-limit wait: a 10-minute
    // deadline is reached in the sixth page's wait.
    let attempts: Mutex<HashMap<u64, u32>> = Mutex::default();
    let served = AtomicU64::new(0);
    let server = ScriptServer::start(move |r| {
        let start = r.query_u64("startIndex").unwrap_or(1);
        let mut attempts = attempts.lock().unwrap();
        let n = attempts.entry(start).or_default();
        *n += 1;
        if *n == 1 {
            return Reply::json(429, json!({"detail": "slow down"})).header("Retry-After", "100");
        }
        let from = served.fetch_add(100, Ordering::SeqCst);
        list((from + 1..=from + 100).map(user).collect(), None)
    })
    .await;
    let client = client(&server, |c| c.read_deadline = Duration::from_secs(600));
    let err = tokio::time::timeout(BOUND, client.list_users())
        .await
        .expect("the list stops")
        .unwrap_err();
    assert!(
        err.to_string().contains(
            "stopped reading the list after 5 pages and 500 resources: the list was not read \
             within 10 minutes (the deadline for one list)"
        ),
        "{err}"
    );
    assert_eq!(server.requests().len(), 11);
}

#[test]
fn item9_long_reads_show_progress_on_a_terminal_only_and_never_in_ci() {
    let server = Hostile::start(|r| {
        no_groups(r).unwrap_or_else(|| {
            let all: Vec<Value> = (1..=250).map(user).collect();
            let start = r.query_u64("startIndex").unwrap_or(1) as usize;
            let page = all.iter().skip(start - 1).take(100).cloned().collect();
            list(page, Some(250))
        })
    });
    let dir = config_dir();
    // Not a terminal: nothing.
    let quiet = plan(&server, dir.path(), TOKEN, 0);
    assert_eq!(quiet.code, 0, "{}", quiet.stderr);
    assert!(!quiet.stderr.contains("users read"), "{}", quiet.stderr);
    // On a terminal (script(1) gives the binary one), unless CI is set.
    let bin = assert_cmd::cargo::cargo_bin("roster");
    let command = format!(
        "'{}' -C '{}' plan --asana-url '{}'",
        bin.display(),
        dir.path().display(),
        server.server.base_url()
    );
    for (ci, shown) in [(None, true), (Some("true"), false)] {
        let mut cmd = assert_cmd::Command::new("script");
        cmd.args(["-q", "-e", "-c", &command, "/dev/null"])
            .env("ASANA_TOKEN", TOKEN)
            .env("NO_COLOR", "1")
            .env_remove("CI");
        if let Some(ci) = ci {
            cmd.env("CI", ci);
        }
        let out = run(&mut cmd);
        assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
        assert_eq!(
            out.stdout.contains("    200 users read…"),
            shown,
            "CI={ci:?}: {}",
            out.stdout
        );
    }
}

/// A Graph client for `server` (sign-in and Graph both on it), on virtual time.
fn graph_client(server: &ScriptServer, deadline: Duration) -> GraphClient {
    let base = format!("http://{}", server.addr);
    let mut c = GraphConfig::new(
        format!("{base}/login"),
        format!("{base}/graph"),
        "tenant",
        "client",
        Secret::new(ENTRA_SECRET),
    );
    c.clock = Arc::new(RecordingClock::new());
    c.jitter_seed = Some(7);
    c.read_deadline = deadline;
    GraphClient::new(&c).unwrap()
}

fn signed_in(r: &Recorded) -> Option<Reply> {
    (r.method == "POST").then(|| {
        Reply::json(
            200,
            json!({"access_token": ACCESS_TOKEN, "expires_in": 3600}),
        )
    })
}

#[tokio::test]
async fn item9_graph_links_that_loop_stop_at_once() {
    // Page 1 links to page 2, which links back to page 1.
    let server = ScriptServer::start(|r| {
        signed_in(r).unwrap_or_else(|| {
            let base = format!("http://{}", r.header("host").unwrap_or(""));
            let next = if r.target.contains("skiptoken=2") {
                "1"
            } else {
                "2"
            };
            Reply::json(
                200,
                json!({
                    "value": [{"id": r.target.clone()}],
                    "@odata.nextLink": format!("{base}/graph/v1.0/users?$skiptoken={next}"),
                }),
            )
        })
    })
    .await;
    let client = graph_client(&server, GraphConfig::READ_DEADLINE);
    let first = url::Url::parse(&format!(
        "http://{}/graph/v1.0/users?$skiptoken=1",
        server.addr
    ))
    .unwrap();
    let err = tokio::time::timeout(BOUND, client.list(first, false))
        .await
        .expect("the listing stops")
        .unwrap_err();
    assert!(
        matches!(err, GraphError::ListStopped { pages: 2, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains(
            "stopped reading after 2 pages and 2 items: the next page's link \
             (http://127.0.0.1:"
        ) && err
            .to_string()
            .contains("was followed before: the links loop"),
        "{err}"
    );
    // The sign-in and two pages.
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn item9_a_graph_listing_still_unread_at_its_deadline_stops() {
    // Endless new pages, each answered after a 100-second wait: a 10-minute deadline stops
    // the listing before its seventh page.
    let attempts: Mutex<HashMap<String, u32>> = Mutex::default();
    let server = ScriptServer::start(move |r| {
        signed_in(r).unwrap_or_else(|| {
            let mut attempts = attempts.lock().unwrap();
            let n = attempts.entry(r.target.clone()).or_default();
            *n += 1;
            if *n == 1 {
                return Reply::json(429, json!({"error": {"code": "TooManyRequests"}}))
                    .header("Retry-After", "100");
            }
            let page = attempts.len();
            let base = format!("http://{}", r.header("host").unwrap_or(""));
            Reply::json(
                200,
                json!({
                    "value": [{"id": page.to_string()}],
                    "@odata.nextLink": format!("{base}/graph/v1.0/users?$skiptoken={page}"),
                }),
            )
        })
    })
    .await;
    let client = graph_client(&server, Duration::from_secs(600));
    let err = tokio::time::timeout(BOUND, client.list(client.url("users", &[]), false))
        .await
        .expect("the listing stops")
        .unwrap_err();
    assert!(
        err.to_string().contains(
            "stopped reading after 6 pages and 6 items: not read within 10 minutes (the \
             deadline for one listing)"
        ),
        "{err}"
    );
    assert_eq!(server.requests().len(), 1 + 6 * 2);
}

// ---- low items: rate limits ---------------------------------------------------------------

#[test]
fn low_the_429_hint_names_only_settings_that_exist() {
    let server = Hostile::start(|_| {
        Reply::json(429, json!({"detail": "rate limited"})).header("Retry-After", "0")
    });
    // The first try and five retries, each after the server's wait of 0 s.
    let run = assert_plan_stops(
        &server,
        "429 Too Many Requests: rate limited (gave up after 6 attempts)",
        6,
    );
    assert!(
        run.stderr.contains(
            "hint: the rate limit held through roster's waits and retries: run again later"
        ),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("requests_per_minute"),
        "{}",
        run.stderr
    );
}

#[test]
fn low_a_refused_ten_year_retry_after_is_explained() {
    let server = Hostile::start(|_| {
        Reply::json(429, json!({"detail": "come back later"})).header("Retry-After", "315360000")
    });
    // Refused at once: no retry, and no pause for the other reads.
    let run = assert_plan_stops(
        &server,
        "429 Too Many Requests: come back later; the server asked roster to wait 10 years \
         before trying again, and roster waits at most 5 minutes within one run, so it stopped",
        1,
    );
    assert!(
        run.stderr
            .contains("hint: run roster again once the server's wait is over"),
        "{}",
        run.stderr
    );
}
