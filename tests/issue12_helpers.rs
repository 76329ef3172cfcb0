//! Issue 12, item 5 (helpers written once, crates instead of hand-rolled code), where the
//! replacement could change what a user meets: diagnostics drawn by annotate-snippets (carets
//! by display width, the column still the file's), the emulators' one accept loop and their
//! form decoding of queries, and `import asana --force` removing what the loader reads (the
//! one walk of users/ and groups/).

#![allow(clippy::disallowed_methods)] // tests set up files, run programs and read the clock

mod support;

use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::Output;
use std::sync::Arc;
use std::time::Duration;

use assert_cmd::Command;
use http_body_util::Full;
use hyper::Response;
use hyper::body::Bytes;
use roster::emulator::serve::{ConnControl, bind, serve};
use roster::emulator::{Emulator, RunningEmulator};
use roster::entra::emulator::{GraphEmulator, GraphEmulatorConfig};
use support::{assert_exit, stderr};

const TOKEN: &str = "tok-issue12-helpers";
const TIMEOUT: Duration = Duration::from_secs(60);

fn roster(dir: &Path, args: &[&str]) -> Output {
    Command::cargo_bin("roster")
        .expect("binary builds")
        .env("NO_COLOR", "1")
        .env_remove("ROSTER_ASANA_URL")
        .env_remove("ROSTER_TARGET_URL")
        .env("ASANA_TOKEN", TOKEN)
        .timeout(TIMEOUT)
        .args(args)
        .arg("-C")
        .arg(dir)
        .output()
        .expect("roster runs")
}

/// `validate`'s stderr for a config whose users/people.yaml is `users`.
fn validate(users: &str) -> String {
    let dir = support::config_dir("version: 1\n", users);
    let out = roster(dir.path(), &["validate"]);
    assert_exit(&out, 1);
    stderr(&out)
}

/// The snippet of the diagnostic whose source line starts with `gutter`: (the location line,
/// the source line after the gutter, the caret line after the gutter).
fn snippet<'a>(err: &'a str, gutter: &str) -> (&'a str, &'a str, &'a str) {
    let lines: Vec<&str> = err.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with(gutter))
        .unwrap_or_else(|| panic!("no `{gutter}` line in:\n{err}"));
    let pad = " ".repeat(gutter.len() - 2);
    let carets = lines[at + 1]
        .strip_prefix(&format!("{pad}| "))
        .unwrap_or_else(|| panic!("no caret line after the source line in:\n{err}"));
    (lines[at - 2], &lines[at][gutter.len()..], carets)
}

/// Terminal cells of `s`: the wide characters these tests use take two.
fn cells(s: &str) -> usize {
    s.chars()
        .map(|c| if "山田太郎🎉".contains(c) { 2 } else { 1 })
        .sum()
}

#[test]
fn issue12_wide_characters_align_the_carets() {
    let line = "  - { displayName: \"山田太郎 🎉\", userPrincipalName: not-an-email }";
    let err = validate(&format!("users:\n{line}\n"));
    let (location, source, carets) = snippet(&err, "2 | ");
    assert_eq!(source, line);
    let before = &line[..line.find("not-an-email").unwrap()];
    // The caret sits under the value on a terminal, where each CJK character and the emoji
    // take two cells; before annotate-snippets it stood five cells to the left.
    assert_eq!(
        carets.find('^'),
        Some(cells(before)),
        "\n{source}\n{carets}"
    );
    assert_eq!(carets.trim(), "^".repeat("not-an-email".len()));
    // The column in `file:line:column` still counts characters, as editors do.
    let column = before.chars().count() + 1;
    assert!(
        location.ends_with(&format!("users/people.yaml:2:{column}")),
        "{location}"
    );
}

#[test]
fn issue12_an_escaped_or_cut_line_keeps_the_column_of_the_file() {
    // Two bidi controls before the value are shown escaped (`\u{202e}`, six characters each),
    // so the quoted line is longer than the file's; the location keeps the file's column.
    let line = "  - { surname: \"\u{202e}\u{202e}\", userPrincipalName: bad-too }";
    let err = validate(&format!("users:\n{line}\n"));
    let (location, source, carets) = snippet(&err, "2 | ");
    assert!(!err.contains('\u{202e}'), "{}", err.escape_debug());
    assert!(source.contains("\"\\u{202e}\\u{202e}\""), "{source}");
    assert_eq!(
        carets.find('^'),
        source.find("bad-too"),
        "\n{source}\n{carets}"
    );
    let column = line[..line.find("bad-too").unwrap()].chars().count() + 1;
    assert!(
        location.ends_with(&format!("users/people.yaml:2:{column}")),
        "{location}"
    );

    // A long line is shown as a window around the value; the location is still the file's.
    let mut long = String::from("users: [");
    for i in 0..300 {
        long.push_str(&format!("{{userPrincipalName: u{i}@example.com}}, "));
    }
    let column = long.chars().count() + "{userPrincipalName: ".len() + 1;
    long.push_str("{userPrincipalName: not-an-address}]");
    let err = validate(&format!("{long}\n"));
    let (location, source, carets) = snippet(&err, "1 | ");
    assert!(
        source.starts_with('…') && source.chars().count() <= 130,
        "{source}"
    );
    let at = source.find("not-an-address").unwrap();
    assert_eq!(carets.find('^'), Some(source[..at].chars().count()));
    assert!(
        location.ends_with(&format!("users/people.yaml:1:{column}")),
        "{location}"
    );
}

/// An Asana emulator taking [`TOKEN`], with its own runtime.
struct Org {
    emu: RunningEmulator,
    rt: tokio::runtime::Runtime,
}

impl Org {
    fn start(users: usize) -> Org {
        let rt = support::runtime();
        let emu = rt
            .block_on(Emulator::builder().token(TOKEN).seed_users(users).start())
            .expect("the emulator starts");
        Org { emu, rt }
    }

    /// One request, as `curl` would send it: (status, body).
    fn send(&self, method: &str, path_and_query: &str, body: &str) -> (u16, serde_json::Value) {
        let url = format!("{}{path_and_query}", self.emu.url());
        let (method, body) = (method.to_string(), body.to_string());
        self.rt.block_on(async move {
            let _ = rustls::crypto::ring::default_provider().install_default();
            let http = reqwest::Client::builder().no_proxy().build().unwrap();
            let r = http
                .request(method.parse().unwrap(), url)
                .bearer_auth(TOKEN)
                .header("content-type", "application/scim+json")
                .body(body)
                .send()
                .await
                .expect("the emulator answers");
            let status = r.status().as_u16();
            (status, r.json().await.unwrap_or(serde_json::Value::Null))
        })
    }
}

#[test]
fn issue12_emulator_queries_decode_plus_and_percent_as_before() {
    let org = Org::start(0);
    let (status, _) = org.send(
        "POST",
        "/Users",
        r#"{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "a+b@x.io",
            "name": {"formatted": "A B"}, "emails": [{"value": "a+b@x.io", "primary": true}]}"#,
    );
    assert_eq!(status, 201);
    let found = |query: &str| {
        let (status, body) = org.send("GET", &format!("/Users?{query}"), "");
        assert_eq!(status, 200, "{query}: {body}");
        body["totalResults"].as_u64().unwrap()
    };
    // `%2B` is a plus and `%20` or `+` a space: the user is found.
    assert_eq!(found("filter=userName%20eq%20%22a%2Bb%40x.io%22"), 1);
    assert_eq!(found("filter=userName+eq+%22a%2Bb%40x.io%22"), 1);
    // A `+` inside the value is a space too, so this asks for `a b@x.io`.
    assert_eq!(found("filter=userName+eq+%22a+b%40x.io%22"), 0);
    // An invalid escape stays as written: a value no user has, not an error.
    assert_eq!(found("filter=userName+eq+%22a%zzb%40x.io%22"), 0);
    // Keys are decoded too, and `count=%30` is `count=0`.
    let (_, body) = org.send("GET", "/Users?%63ount=%30", "");
    assert_eq!(body["totalResults"], 1, "{body}");
    assert_eq!(
        body["Resources"].as_array().map(Vec::len),
        Some(0),
        "{body}"
    );
}

#[test]
fn issue12_both_emulators_stop_on_one_shutdown_with_connections_open() {
    let rt = support::runtime();
    let (asana, graph) = rt.block_on(async {
        let asana = Emulator::builder().start().await.unwrap();
        let graph = GraphEmulator::start_seeded(GraphEmulatorConfig::default())
            .await
            .unwrap();
        (asana, graph)
    });
    let (asana_addr, graph_addr) = (asana.addr(), graph.addr());
    // An idle keep-alive connection to each, after one answered request.
    let open = |addr, path: &str| {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(TIMEOUT)).unwrap();
        write!(s, "GET {path} HTTP/1.1\r\nhost: x\r\n\r\n").unwrap();
        let mut head = [0u8; 12];
        s.read_exact(&mut head).unwrap();
        assert!(head.starts_with(b"HTTP/1.1 "), "{head:?}");
        s
    };
    let mut conns = [
        open(asana_addr, "/_emulator/stats"),
        open(graph_addr, "/_graph/stats"),
    ];
    rt.block_on(async {
        tokio::time::timeout(TIMEOUT, async {
            asana.shutdown().await.unwrap();
            graph.shutdown().await;
        })
        .await
        .expect("both emulators stop");
    });
    for (conn, addr) in conns.iter_mut().zip([asana_addr, graph_addr]) {
        // The open connection is closed in order: what was left of the answer, then the end
        // of the stream (not a timeout, not a reset)…
        let mut rest = Vec::new();
        conn.read_to_end(&mut rest)
            .unwrap_or_else(|e| panic!("{addr}: {e}"));
        assert!(rest.ends_with(b"}"), "{}", String::from_utf8_lossy(&rest));
        // …and nothing listens any more.
        assert!(TcpStream::connect(addr).is_err(), "{addr} still accepts");
    }
}

#[test]
fn issue12_one_accept_loop_answers_resets_and_stops() {
    let rt = support::runtime();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let (addr, server) = rt.block_on(async {
        let listener = bind(0).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let service = |conn: Arc<ConnControl>, req: hyper::Request<hyper::body::Incoming>| async move {
            if req.uri().path() == "/reset" {
                conn.reset();
                return std::future::pending().await;
            }
            Ok(Response::new(Full::new(Bytes::from_static(b"ok"))))
        };
        (addr, tokio::spawn(serve(listener, service, stopped)))
    });
    assert!(addr.ip().is_loopback());
    // Two answers on one keep-alive connection.
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(TIMEOUT)).unwrap();
    for _ in 0..2 {
        write!(s, "GET /ok HTTP/1.1\r\nhost: x\r\n\r\n").unwrap();
        let mut buf = [0u8; 512];
        let n = s.read(&mut buf).unwrap();
        let answer = String::from_utf8_lossy(&buf[..n]);
        assert!(
            answer.starts_with("HTTP/1.1 200") && answer.ends_with("ok"),
            "{answer}"
        );
    }
    // A handler's reset is a TCP reset, not an answer.
    let mut r = TcpStream::connect(addr).unwrap();
    r.set_read_timeout(Some(TIMEOUT)).unwrap();
    write!(r, "GET /reset HTTP/1.1\r\nhost: x\r\n\r\n").unwrap();
    let mut buf = [0u8; 64];
    let err = r
        .read(&mut buf)
        .expect_err("a reset, not an answer or an orderly close");
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionReset, "{err}");
    // Shutdown: the loop ends and nothing listens any more.
    stop.send(true).unwrap();
    rt.block_on(async { tokio::time::timeout(TIMEOUT, server).await })
        .expect("the loop stops")
        .unwrap();
    assert!(TcpStream::connect(addr).is_err());
}

#[test]
fn issue12_import_force_removes_what_the_loader_reads() {
    let org = Org::start(2);
    let dir = support::config_dir(
        "version: 1\n",
        "users:\n  - userPrincipalName: ann@example.com\n",
    );
    let root = dir.path();
    // A folder linked from inside the config directory is read as declarations, so --force
    // removes its file; a hidden file is not read, so it stays.
    fs::create_dir(root.join("shared")).unwrap();
    fs::write(
        root.join("shared/more.yaml"),
        "users:\n  - userPrincipalName: bob@example.com\n",
    )
    .unwrap();
    symlink(root.join("shared"), root.join("users/team")).unwrap();
    fs::write(root.join("users/.draft.yaml"), "not: [read\n").unwrap();
    assert_exit(&roster(root, &["validate"]), 0);

    let out = roster(root, &["import", "asana", "--asana-url", org.emu.url()]);
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("already has 2 declaration file(s)"),
        "{}",
        stderr(&out)
    );
    let out = roster(
        root,
        &["import", "asana", "--force", "--asana-url", org.emu.url()],
    );
    assert_exit(&out, 0);
    assert!(!root.join("users/people.yaml").exists());
    assert!(!root.join("shared/more.yaml").exists());
    assert_eq!(
        fs::read_to_string(root.join("users/.draft.yaml")).unwrap(),
        "not: [read\n"
    );
    // What is left declares each user once: the plan is empty.
    let out = roster(root, &["plan", "--asana-url", org.emu.url()]);
    assert_exit(&out, 0);
}
