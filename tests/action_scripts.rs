//! The GitHub Action (`action.yml`) and the scripts it runs (`scripts/action/`), run as a runner
//! runs them: `install.sh` against a fake release served from 127.0.0.1 (archives built here in
//! cargo-dist's layout, each holding a small `roster` script, and the release's `sha256.sum`);
//! `run.sh` with `GITHUB_OUTPUT` and `GITHUB_STEP_SUMMARY` files, driving the real binary against
//! the built-in emulator; and `comment.sh` against a fake GitHub API on the same server.

#![allow(clippy::disallowed_methods)] // tests write files, run programs and read the environment

use std::collections::HashMap;
use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use roster::emulator::serve::{ConnControl, Resp, bind, serve};
use sha2::{Digest, Sha256};
use tokio::sync::watch;

const VERSION: &str = env!("CARGO_PKG_VERSION");
const REPOSITORY: &str = env!("CARGO_PKG_REPOSITORY");
const ROSTER: &str = env!("CARGO_BIN_EXE_roster");
const TOKEN: &str = "test-github-token";

/// The archives cargo-dist builds for roster (dist-workspace.toml's targets), by their names.
const TARGETS: [&str; 7] = [
    "x86_64-unknown-linux-gnu",
    "aarch64-unknown-linux-gnu",
    "x86_64-unknown-linux-musl",
    "aarch64-unknown-linux-musl",
    "x86_64-apple-darwin",
    "aarch64-apple-darwin",
    "x86_64-pc-windows-msvc",
];

fn archive_name(target: &str) -> String {
    if target.contains("windows") {
        format!("roster-{target}.zip")
    } else {
        format!("roster-{target}.tar.xz")
    }
}

// ---- a fake GitHub: release downloads and the issue-comments API ------------------------------

#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    authorization: Option<String>,
}

#[derive(Default)]
struct State {
    /// Served at their path (`/releases/download/vX.Y.Z/NAME`).
    files: HashMap<String, Vec<u8>>,
    /// Comments on pull request 7, oldest first: (id, body).
    comments: Vec<(u64, String)>,
    seen: Vec<Seen>,
}

struct FakeGitHub {
    url: String,
    state: Arc<Mutex<State>>,
    _stop: watch::Sender<bool>,
    _runtime: tokio::runtime::Runtime,
}

impl FakeGitHub {
    fn start() -> FakeGitHub {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let (stop, stopped) = watch::channel(false);
        let listener = runtime.block_on(bind(0)).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let shared = state.clone();
        let service = move |_: Arc<ConnControl>, req| handle(shared.clone(), req);
        runtime.spawn(serve(listener, service, stopped));
        FakeGitHub {
            url,
            state,
            _stop: stop,
            _runtime: runtime,
        }
    }

    fn release_url(&self) -> String {
        format!("{}/releases/download", self.url)
    }

    fn put(&self, name: &str, bytes: Vec<u8>) {
        let path = format!("/releases/download/v{VERSION}/{name}");
        self.state.lock().unwrap().files.insert(path, bytes);
    }

    fn remove(&self, name: &str) {
        let path = format!("/releases/download/v{VERSION}/{name}");
        self.state.lock().unwrap().files.remove(&path);
    }

    fn seen(&self) -> Vec<Seen> {
        self.state.lock().unwrap().seen.clone()
    }

    fn downloads(&self) -> Vec<String> {
        self.seen()
            .into_iter()
            .filter(|s| s.path.starts_with("/releases/"))
            .map(|s| s.path.rsplit('/').next().unwrap().to_string())
            .collect()
    }

    fn comments(&self) -> Vec<(u64, String)> {
        self.state.lock().unwrap().comments.clone()
    }
}

fn reply(status: u16, body: impl Into<Bytes>) -> Resp {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = StatusCode::from_u16(status).unwrap();
    r
}

async fn handle(state: Arc<Mutex<State>>, req: Request<Incoming>) -> Result<Resp, Infallible> {
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let authorization = req
        .headers()
        .get("authorization")
        .map(|v| v.to_str().unwrap().to_string());
    let body = req.into_body().collect().await.unwrap().to_bytes();
    let mut st = state.lock().unwrap();
    st.seen.push(Seen {
        method: method.clone(),
        path: path.clone(),
        authorization: authorization.clone(),
    });
    if method == "GET"
        && let Some(file) = st.files.get(&path)
    {
        return Ok(reply(200, file.clone()));
    }
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let api = segments.first() == Some(&"repos");
    if api && authorization.as_deref() != Some(&format!("Bearer {TOKEN}")) {
        return Ok(reply(401, r#"{"message":"Bad credentials"}"#));
    }
    let text = |b: &Bytes| -> String {
        let v: serde_json::Value = serde_json::from_slice(b).expect("a JSON body");
        v["body"].as_str().expect("a body field").to_string()
    };
    match (method.as_str(), segments.as_slice()) {
        ("GET", ["repos", "acme", "people", "issues", "7", "comments"]) => {
            let page: usize = query
                .split('&')
                .find_map(|p| p.strip_prefix("page="))
                .map_or(1, |p| p.parse().unwrap());
            let list: Vec<_> = st
                .comments
                .iter()
                .skip((page - 1) * 100)
                .take(100)
                .map(|(id, body)| serde_json::json!({"id": id, "body": body}))
                .collect();
            Ok(reply(200, serde_json::Value::from(list).to_string()))
        }
        ("POST", ["repos", "acme", "people", "issues", "7", "comments"]) => {
            let id = 1000 + st.comments.len() as u64;
            let b = text(&body);
            st.comments.push((id, b));
            Ok(reply(201, serde_json::json!({"id": id}).to_string()))
        }
        ("PATCH", ["repos", "acme", "people", "issues", "comments", id]) => {
            let id: u64 = id.parse().unwrap();
            let b = text(&body);
            match st.comments.iter_mut().find(|(i, _)| *i == id) {
                Some(c) => {
                    c.1 = b;
                    Ok(reply(200, serde_json::json!({"id": id}).to_string()))
                }
                None => Ok(reply(404, r#"{"message":"Not Found"}"#)),
            }
        }
        _ => Ok(reply(404, "Not Found")),
    }
}

// ---- a fake release, in cargo-dist's layout ---------------------------------------------------

fn run_ok(cmd: &mut Command) {
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{cmd:?}: {}", text(&out));
}

/// Builds every archive (a tarball's files in a folder named after it, a zip's at its root, as
/// cargo-dist does), each holding a `roster` script that prints its target, and serves them
/// with a `sha256.sum` in cargo-dist's format (`HEX *NAME`).
fn publish_release(gh: &FakeGitHub, scratch: &Path) {
    let mut sums = String::new();
    for target in TARGETS {
        let name = archive_name(target);
        let stage = scratch.join(format!("stage-{target}"));
        let script = format!("#!/bin/sh\necho \"roster {VERSION} {target}\"\n");
        if target.contains("windows") {
            std::fs::create_dir_all(&stage).unwrap();
            std::fs::write(stage.join("roster.exe"), script).unwrap();
            std::fs::write(stage.join("README.md"), "readme\n").unwrap();
            run_ok(
                Command::new("zip")
                    .current_dir(&stage)
                    .args(["-q", "-X"])
                    .arg(scratch.join(&name))
                    .args(["roster.exe", "README.md"]),
            );
        } else {
            let inner = stage.join(format!("roster-{target}"));
            std::fs::create_dir_all(&inner).unwrap();
            std::fs::write(inner.join("roster"), script).unwrap();
            std::fs::write(inner.join("README.md"), "readme\n").unwrap();
            chmod_x(&inner.join("roster"));
            run_ok(
                Command::new("tar")
                    .arg("-cJf")
                    .arg(scratch.join(&name))
                    .arg("-C")
                    .arg(&stage)
                    .arg(format!("roster-{target}")),
            );
        }
        let bytes = std::fs::read(scratch.join(&name)).unwrap();
        sums.push_str(&format!("{} *{name}\n", hex(&Sha256::digest(&bytes))));
        gh.put(&name, bytes);
    }
    sums.push('\n');
    gh.put("sha256.sum", sums.into_bytes());
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn chmod_x(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A runner's files and folders, in a scratch directory.
struct Runner {
    dir: tempfile::TempDir,
}

impl Runner {
    fn new() -> Runner {
        let r = Runner {
            dir: tempfile::tempdir().unwrap(),
        };
        for d in ["tool-cache", "temp", "scratch"] {
            std::fs::create_dir(r.path(d)).unwrap();
        }
        for f in ["output", "path", "summary"] {
            std::fs::write(r.path(f), "").unwrap();
        }
        r
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap()
    }

    /// The step outputs written to GITHUB_OUTPUT (the last value of each).
    fn outputs(&self) -> HashMap<String, String> {
        self.read("output")
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// A script of scripts/action/ with the runner's environment and nothing of this process's
    /// but PATH and HOME (so no GITHUB_* or ROSTER_* of a real runner leaks in).
    fn script(&self, name: &str) -> Command {
        let mut cmd = Command::new("bash");
        cmd.arg(format!("scripts/action/{name}"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap())
            .env("HOME", self.path("scratch"))
            .env("NO_COLOR", "1")
            .env("RUNNER_TOOL_CACHE", self.path("tool-cache"))
            .env("RUNNER_TEMP", self.path("temp"))
            .env("GITHUB_OUTPUT", self.path("output"))
            .env("GITHUB_PATH", self.path("path"))
            .env("GITHUB_STEP_SUMMARY", self.path("summary"))
            .env("GITHUB_SERVER_URL", "https://github.example")
            .env("GITHUB_REPOSITORY", "acme/people")
            .env("GITHUB_RUN_ID", "4242")
            // No gh here unless a test gives one: the attestation check is tested on its own.
            .env("ROSTER_ACTION_GH", "/nonexistent/gh");
        cmd
    }

    fn install(&self, gh: &FakeGitHub, env: &[(&str, &str)]) -> Output {
        let mut cmd = self.script("install.sh");
        cmd.env("ROSTER_ACTION_RELEASE_URL", gh.release_url());
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    }

    /// Everything under the tool cache's roster folder (what an install left behind).
    fn cached(&self) -> Vec<String> {
        let mut found = Vec::new();
        let root = self.path("tool-cache");
        let mut stack = vec![root.clone()];
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(&dir).unwrap() {
                let p = e.unwrap().path();
                found.push(p.strip_prefix(&root).unwrap().display().to_string());
                if p.is_dir() {
                    stack.push(p);
                }
            }
        }
        found.sort();
        found
    }
}

fn release() -> (FakeGitHub, tempfile::TempDir) {
    let gh = FakeGitHub::start();
    let scratch = tempfile::tempdir().unwrap();
    publish_release(&gh, scratch.path());
    (gh, scratch)
}

// ---- install.sh ---------------------------------------------------------------------------------

#[test]
fn the_installer_picks_the_archive_cargo_dist_builds_for_each_platform() {
    let (gh, _scratch) = release();
    // (OS, arch, libc) as a runner names them (RUNNER_OS / RUNNER_ARCH) and as uname does.
    let cases = [
        ("Linux", "X64", "gnu", "x86_64-unknown-linux-gnu"),
        ("Linux", "ARM64", "gnu", "aarch64-unknown-linux-gnu"),
        ("Linux", "X64", "musl", "x86_64-unknown-linux-musl"),
        ("Linux", "ARM64", "musl", "aarch64-unknown-linux-musl"),
        ("linux", "x86_64", "musl", "x86_64-unknown-linux-musl"),
        ("macOS", "X64", "", "x86_64-apple-darwin"),
        ("macOS", "ARM64", "", "aarch64-apple-darwin"),
        ("Darwin", "arm64", "", "aarch64-apple-darwin"),
        ("Windows", "X64", "", "x86_64-pc-windows-msvc"),
        (
            "MINGW64_NT-10.0-20348",
            "x86_64",
            "",
            "x86_64-pc-windows-msvc",
        ),
        // No native build: Windows on ARM runs the x86_64 one under emulation.
        ("Windows", "ARM64", "", "x86_64-pc-windows-msvc"),
    ];
    for (os, arch, libc, target) in cases {
        let runner = Runner::new();
        let before = gh.downloads().len();
        let out = runner.install(
            &gh,
            &[
                ("ROSTER_ACTION_OS", os),
                ("ROSTER_ACTION_ARCH", arch),
                ("ROSTER_ACTION_LIBC", libc),
            ],
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "{os} {arch} {libc}: {}",
            text(&out)
        );
        let exe = if target.contains("windows") {
            "roster.exe"
        } else {
            "roster"
        };
        let installed = runner
            .path("tool-cache")
            .join(format!("roster/{VERSION}/{target}/{exe}"));
        assert_eq!(stdout(&out).trim(), installed.display().to_string());
        // The binary is the one from that archive, and only that archive was downloaded.
        let ran = Command::new("sh").arg(&installed).output().unwrap();
        assert_eq!(stdout(&ran).trim(), format!("roster {VERSION} {target}"));
        assert_eq!(
            gh.downloads()[before..],
            [archive_name(target), "sha256.sum".to_string()],
            "{os} {arch} {libc}"
        );
    }

    // Without an override, Linux takes the gnu build on glibc 2.35 or newer, else the static one.
    let glibc = Command::new("getconf")
        .arg("GNU_LIBC_VERSION")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| stdout(&o));
    let expected = match glibc.as_deref().and_then(|g| g.split_whitespace().nth(1)) {
        Some(v) => {
            let mut parts = v.split('.').map(|p| p.parse::<u32>().unwrap());
            let (major, minor) = (parts.next().unwrap(), parts.next().unwrap());
            if (major, minor) >= (2, 35) {
                "gnu"
            } else {
                "musl"
            }
        }
        None => "musl",
    };
    let runner = Runner::new();
    let out = runner.install(
        &gh,
        &[("ROSTER_ACTION_OS", "Linux"), ("ROSTER_ACTION_ARCH", "X64")],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        stdout(&out).contains(&format!("x86_64-unknown-linux-{expected}/roster")),
        "{}",
        text(&out)
    );

    // Platforms with no build are refused by name.
    for (os, arch, says) in [
        ("FreeBSD", "X64", "operating system 'FreeBSD'"),
        ("Linux", "riscv64", "architecture 'riscv64'"),
    ] {
        let runner = Runner::new();
        let out = runner.install(
            &gh,
            &[("ROSTER_ACTION_OS", os), ("ROSTER_ACTION_ARCH", arch)],
        );
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        assert!(stderr(&out).contains(says), "{}", text(&out));
    }
}

#[test]
fn the_installer_installs_a_verified_archive_into_the_tool_cache_once() {
    let (gh, _scratch) = release();
    let runner = Runner::new();
    let platform = [
        ("ROSTER_ACTION_OS", "Linux"),
        ("ROSTER_ACTION_ARCH", "X64"),
        ("ROSTER_ACTION_LIBC", "gnu"),
    ];
    let out = runner.install(&gh, &platform);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // The default version is the action's own: the Cargo.toml beside it.
    let dest = runner
        .path("tool-cache")
        .join(format!("roster/{VERSION}/x86_64-unknown-linux-gnu"));
    assert!(
        stderr(&out)
            .contains("SHA-256 of roster-x86_64-unknown-linux-gnu.tar.xz matches sha256.sum"),
        "{}",
        text(&out)
    );
    assert_eq!(runner.read("path"), format!("{}\n", dest.display()));
    let outputs = runner.outputs();
    assert_eq!(outputs["path"], dest.join("roster").display().to_string());
    assert_eq!(outputs["version"], VERSION);
    assert!(PathBuf::from(format!("{}.complete", dest.display())).exists());
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(dest.join("roster"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o755);
    assert_eq!(gh.downloads().len(), 2);

    // A second job on the same runner uses the cache: nothing is downloaded again.
    let again = runner.install(&gh, &platform);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    assert!(
        stderr(&again).contains("is in the tool cache"),
        "{}",
        text(&again)
    );
    assert_eq!(
        gh.downloads().len(),
        2,
        "the cached binary was downloaded again"
    );
    assert_eq!(stdout(&again), stdout(&out));

    // "v"-prefixed versions are the same release; "latest" is refused, as is a version that
    // is not one.
    let runner = Runner::new();
    let out = runner.install(
        &gh,
        &[
            platform[0],
            platform[1],
            platform[2],
            ("ROSTER_ACTION_VERSION", &format!("v{VERSION}")),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    for (version, says) in [
        ("latest", "version 'latest' is refused"),
        ("main", "is not a release version"),
        ("1.2", "is not a release version"),
    ] {
        let runner = Runner::new();
        let out = runner.install(&gh, &[platform[0], ("ROSTER_ACTION_VERSION", version)]);
        assert_eq!(out.status.code(), Some(1), "{version}: {}", text(&out));
        assert!(stderr(&out).contains(says), "{version}: {}", text(&out));
        assert!(runner.cached().is_empty());
    }

    // Plain http is refused off loopback, before any request.
    let runner = Runner::new();
    let mut cmd = runner.script("install.sh");
    let out = cmd
        .env(
            "ROSTER_ACTION_RELEASE_URL",
            "http://example.com/releases/download",
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        stderr(&out).contains("neither https nor http to a loopback"),
        "{}",
        text(&out)
    );
}

#[test]
fn the_installer_refuses_a_tampered_archive_and_installs_nothing() {
    let (gh, scratch) = release();
    let name = "roster-x86_64-unknown-linux-gnu.tar.xz";
    let mut bytes = std::fs::read(scratch.path().join(name)).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    gh.put(name, bytes.clone());
    let runner = Runner::new();
    let out = runner.install(
        &gh,
        &[
            ("ROSTER_ACTION_OS", "Linux"),
            ("ROSTER_ACTION_ARCH", "X64"),
            ("ROSTER_ACTION_LIBC", "gnu"),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "::error title=roster::SHA-256 mismatch for {name}: sha256.sum says "
        )),
        "{err}"
    );
    assert!(
        err.contains(&hex(&Sha256::digest(&bytes))),
        "names the download's digest: {err}"
    );
    assert!(err.contains("nothing was installed"), "{err}");
    assert!(runner.cached().is_empty(), "{:?}", runner.cached());
    assert_eq!(runner.read("path"), "");
    assert_eq!(runner.read("output"), "");
    assert!(stdout(&out).is_empty());
    // No scratch files are left behind either.
    assert_eq!(std::fs::read_dir(runner.path("temp")).unwrap().count(), 0);
}

#[test]
fn the_installer_refuses_an_archive_the_checksum_file_does_not_list() {
    let (gh, _scratch) = release();
    let platform = [
        ("ROSTER_ACTION_OS", "macOS"),
        ("ROSTER_ACTION_ARCH", "ARM64"),
    ];
    let name = "roster-aarch64-apple-darwin.tar.xz";
    let sums = {
        let st = gh.state.lock().unwrap();
        String::from_utf8(st.files[&format!("/releases/download/v{VERSION}/sha256.sum")].clone())
            .unwrap()
    };
    // The line is missing (another archive's name containing it does not count).
    let without: String = sums
        .lines()
        .filter(|l| !l.ends_with(&format!("*{name}")))
        .map(|l| format!("{l}\n"))
        .collect::<String>()
        + &format!("{} *{name}.sig\n", "0".repeat(64));
    gh.put("sha256.sum", without.into_bytes());
    let runner = Runner::new();
    let out = runner.install(&gh, &platform);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        stderr(&out).contains(&format!("sha256.sum of v{VERSION} has no line for {name}")),
        "{}",
        text(&out)
    );
    assert!(runner.cached().is_empty());

    // Two different lines for it: refused, not a guess.
    let twice = format!("{sums}{} *{name}\n", "a".repeat(64));
    gh.put("sha256.sum", twice.into_bytes());
    let runner = Runner::new();
    let out = runner.install(&gh, &platform);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        stderr(&out).contains("more than one checksum"),
        "{}",
        text(&out)
    );
    assert!(runner.cached().is_empty());

    // No checksum file at all.
    gh.remove("sha256.sum");
    let runner = Runner::new();
    let out = runner.install(&gh, &platform);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        stderr(&out).contains("refusing an archive that cannot be verified"),
        "{}",
        text(&out)
    );
    assert!(runner.cached().is_empty());

    // A release without this archive says so.
    gh.put("sha256.sum", sums.into_bytes());
    gh.remove(name);
    let runner = Runner::new();
    let out = runner.install(&gh, &platform);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        stderr(&out).contains("with a aarch64-apple-darwin build?"),
        "{}",
        text(&out)
    );
}

#[test]
fn the_installer_verifies_the_attestation_with_gh() {
    let (gh, _scratch) = release();
    let bin = tempfile::tempdir().unwrap();
    let log = bin.path().join("gh.log");
    let fake_gh = |exit: u8| {
        let path = bin.path().join(format!("gh-{exit}"));
        std::fs::write(
            &path,
            format!(
                "#!/bin/sh\necho \"$@\" >> '{}'\necho 'attestation check says {exit}' >&2\nexit {exit}\n",
                log.display()
            ),
        )
        .unwrap();
        chmod_x(&path);
        path.display().to_string()
    };
    let platform = [
        ("ROSTER_ACTION_OS", "Linux"),
        ("ROSTER_ACTION_ARCH", "ARM64"),
        ("ROSTER_ACTION_LIBC", "musl"),
    ];
    let name = "roster-aarch64-unknown-linux-musl.tar.xz";
    let repo = REPOSITORY.trim_start_matches("https://github.com/");

    // gh verifies: installed, and gh was asked about that archive and this repository.
    let ok = fake_gh(0);
    let runner = Runner::new();
    let out = runner.install(
        &gh,
        &[
            platform[0],
            platform[1],
            platform[2],
            ("ROSTER_ACTION_GH", &ok),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let asked = std::fs::read_to_string(&log).unwrap();
    assert!(asked.starts_with("attestation verify "), "{asked}");
    assert!(asked.contains(&format!("/{name} --repo {repo}")), "{asked}");
    assert!(stderr(&out).contains("attestation of"), "{}", text(&out));

    // gh does not verify: refused, with gh's own words, and nothing installed.
    let bad = fake_gh(1);
    let runner = Runner::new();
    let out = runner.install(
        &gh,
        &[
            platform[0],
            platform[1],
            platform[2],
            ("ROSTER_ACTION_GH", &bad),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        stderr(&out).contains("attestation check says 1"),
        "{}",
        text(&out)
    );
    assert!(stderr(&out).contains("does not verify"), "{}", text(&out));
    assert!(runner.cached().is_empty());

    // Required without gh: refused. Off: not asked.
    let runner = Runner::new();
    let out = runner.install(
        &gh,
        &[
            platform[0],
            platform[1],
            platform[2],
            ("ROSTER_ACTION_ATTESTATION", "required"),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        stderr(&out).contains("gh (GitHub CLI) is not on PATH"),
        "{}",
        text(&out)
    );
    assert!(runner.cached().is_empty());
    let runner = Runner::new();
    let calls = std::fs::read_to_string(&log).unwrap().lines().count();
    let out = runner.install(
        &gh,
        &[
            platform[0],
            platform[1],
            platform[2],
            ("ROSTER_ACTION_GH", &bad),
            ("ROSTER_ACTION_ATTESTATION", "off"),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        std::fs::read_to_string(&log).unwrap().lines().count(),
        calls
    );
}

// ---- run.sh against the emulator ----------------------------------------------------------------

/// run.sh with the real binary on examples/quickstart against the built-in emulator.
fn run(runner: &Runner, command: &str, env: &[(&str, &str)]) -> Output {
    let mut cmd = runner.script("run.sh");
    cmd.env("ROSTER_ACTION_BIN", ROSTER)
        .env("ROSTER_ACTION_COMMAND", command)
        .env("ROSTER_ACTION_CONFIG_DIR", "examples/quickstart")
        .env(
            "ROSTER_ACTION_ARGS",
            "--emulator --emulator-state examples/quickstart/emulator-state.json",
        )
        .env("ROSTER_ACTION_OUT_DIR", runner.path("out"));
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

#[test]
fn run_plans_against_the_emulator_and_sets_the_outputs_and_the_summary() {
    let runner = Runner::new();
    let plan_file = runner.path("roster-plan.json");
    let out = run(
        &runner,
        "plan",
        &[("ROSTER_ACTION_PLAN_FILE", plan_file.to_str().unwrap())],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let o = runner.outputs();
    // The quickstart plan: 12 to create, 1 to update, 1 to deprovision, 1 team add, 1 removal.
    assert_eq!(o["exit-code"], "2");
    assert_eq!(o["changes"], "true");
    assert_eq!(o["creates"], "12");
    assert_eq!(o["updates"], "1");
    assert_eq!(o["deprovisions"], "1");
    assert_eq!(o["team-changes"], "2");
    assert_eq!(o["plan-file"], plan_file.display().to_string());
    // plan-json is the JSON plan (docs/plan-format.md), whose summary says the same.
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&o["plan-json"]).unwrap()).unwrap();
    assert_eq!(json["format_version"], "1.3");
    assert_eq!(json["summary"]["create"], 12);
    assert_eq!(json["seats"]["net"], 11);
    assert_eq!(json["summary"]["deprovision"], 1);
    assert_eq!(
        json["summary"]["add_members"].as_u64().unwrap()
            + json["summary"]["remove_members"].as_u64().unwrap(),
        2
    );
    // The saved plan is roster's, and renders.
    let shown = Command::new(ROSTER)
        .args(["show", "-C", "examples/quickstart"])
        .arg(&plan_file)
        .output()
        .unwrap();
    assert!(
        stdout(&shown).contains(
            "Plan: 12 to create, 1 to update, 1 to deprovision, 2 team membership changes"
        ),
        "{}",
        text(&shown)
    );
    // The job summary holds the Markdown plan, whole.
    let summary = runner.read("summary");
    let report = std::fs::read_to_string(&o["report"]).unwrap();
    assert!(
        summary.starts_with("<!-- roster-plan -->\n### roster plan"),
        "{summary}"
    );
    assert_eq!(summary, report);
    assert!(summary.contains("**irreversible in Asana**"), "{summary}");
    // Not a pull request: no comment, and no request was needed to find that out.
    assert!(
        stderr(&out).contains("not a pull request run: no comment posted"),
        "{}",
        text(&out)
    );

    // summary: false leaves the job summary alone.
    let quiet = Runner::new();
    let out = run(
        &quiet,
        "plan",
        &[
            (
                "ROSTER_ACTION_PLAN_FILE",
                quiet.path("p.json").to_str().unwrap(),
            ),
            ("ROSTER_ACTION_SUMMARY", "false"),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(quiet.read("summary"), "");

    // show: the saved plan's outputs, as the apply workflow's deprovision gate reads them.
    let shown = Runner::new();
    let out = run(
        &shown,
        "show",
        &[
            ("ROSTER_ACTION_PLAN_FILE", plan_file.to_str().unwrap()),
            ("ROSTER_ACTION_ARGS", ""),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(shown.outputs()["deprovisions"], "1");
    assert_eq!(shown.outputs()["exit-code"], "0");
    assert!(shown.read("summary").contains("### roster plan"));

    // apply (replan: false, since the plan is the emulator's): the saved plan is carried out.
    let applied = Runner::new();
    let out = run(
        &applied,
        "apply",
        &[
            ("ROSTER_ACTION_PLAN_FILE", plan_file.to_str().unwrap()),
            ("ROSTER_ACTION_REPLAN", "false"),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let o = applied.outputs();
    assert_eq!(o["exit-code"], "0");
    assert_eq!(o["deprovisions"], "1");
    assert!(
        applied
            .read("summary")
            .starts_with("### roster apply (exit 0)")
    );
}

#[test]
fn run_reports_a_failed_plan_and_validate_and_drift_exit_codes() {
    // A config that does not validate: the plan fails, exit 1, and the summary says why; on a
    // pull request the comment says so too, replacing the plan it showed before, which would
    // otherwise stand as if it were current.
    let gh = FakeGitHub::start();
    gh.state
        .lock()
        .unwrap()
        .comments
        .push((9, "<!-- roster-plan -->\nan older plan".to_string()));
    let runner = Runner::new();
    let event = runner.path("event.json");
    std::fs::write(&event, r#"{"pull_request":{"number":7}}"#).unwrap();
    let mut cmd = runner.script("run.sh");
    let out = cmd
        .env("ROSTER_ACTION_BIN", ROSTER)
        .env("ROSTER_ACTION_COMMAND", "plan")
        .env(
            "ROSTER_ACTION_CONFIG_DIR",
            "examples/invalid/undeclared-manager",
        )
        .env("ROSTER_ACTION_ARGS", "--emulator")
        .env("ROSTER_ACTION_PLAN_FILE", runner.path("p.json"))
        .env("ROSTER_ACTION_GITHUB_TOKEN", TOKEN)
        .env("GITHUB_API_URL", &gh.url)
        .env("GITHUB_EVENT_PATH", &event)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(runner.outputs()["exit-code"], "1");
    let summary = runner.read("summary");
    assert!(
        summary.starts_with("<!-- roster-plan -->\n### roster plan failed (exit 1)"),
        "{summary}"
    );
    assert!(summary.contains("is not a declared user"), "{summary}");
    let comments = gh.comments();
    assert_eq!(comments.len(), 1);
    assert_eq!(comments[0].0, 9);
    assert!(
        comments[0].1.contains("### roster plan failed (exit 1)"),
        "{comments:?}"
    );

    // validate: annotations on stdout for the runner, a line in the summary.
    let runner = Runner::new();
    let mut cmd = runner.script("run.sh");
    let out = cmd
        .env("ROSTER_ACTION_BIN", ROSTER)
        .env("ROSTER_ACTION_COMMAND", "validate")
        .env(
            "ROSTER_ACTION_CONFIG_DIR",
            "examples/invalid/undeclared-manager",
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(stdout(&out).starts_with("::error file="), "{}", text(&out));
    assert!(
        runner.read("summary").contains("1 problem(s)"),
        "{}",
        runner.read("summary")
    );
    let runner = Runner::new();
    let out = run(&runner, "validate", &[("ROSTER_ACTION_ARGS", "")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(runner.read("summary").contains("is valid"));

    // drift: found (exit 2), which fails the step only with fail-on-drift.
    let runner = Runner::new();
    let out = run(&runner, "drift", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(runner.outputs()["exit-code"], "2");
    assert_eq!(runner.outputs()["changes"], "true");
    assert!(runner.read("summary").starts_with("<!-- roster-drift -->"));
    let runner = Runner::new();
    let out = run(&runner, "drift", &[("ROSTER_ACTION_FAIL_ON_DRIFT", "true")]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(stderr(&out).contains("drift found (fail-on-drift is true)"));

    // Inputs that are not one of their values are refused by name.
    for (k, v, says) in [
        (
            "ROSTER_ACTION_COMMAND",
            "destroy",
            "command 'destroy' is not one of",
        ),
        (
            "ROSTER_ACTION_COMMENT",
            "sometimes",
            "comment is 'sometimes'",
        ),
        ("ROSTER_ACTION_SUMMARY", "yes", "summary is 'yes'"),
    ] {
        let runner = Runner::new();
        let out = run(&runner, "plan", &[(k, v)]);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        assert!(stderr(&out).contains(says), "{}", text(&out));
    }
    // apply applies only a saved plan.
    let runner = Runner::new();
    let out = run(&runner, "apply", &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        stderr(&out).contains("apply needs plan-file"),
        "{}",
        text(&out)
    );
}

/// A stand-in roster for what the emulator cannot make: it records its arguments, prints
/// FAKE_REPORT for drift, and for `show --format json` a plan with one change of each action.
fn fake_roster(dir: &Path) -> PathBuf {
    let path = dir.join("fake-roster");
    std::fs::write(
        &path,
        r#"#!/bin/sh
printf '%s\n' "$*" >> "$FAKE_LOG"
case "$1" in
  drift) cat "$FAKE_REPORT"; exit 2 ;;
  show) case "$*" in
      *json*) echo '{"format_version":"1.1","changes":[{"action":"create"},{"action":"deprovision"},{"action":"deprovision"},{"action":"add_members"}]}' ;;
      *) cat "$FAKE_REPORT" ;;
    esac ;;
  apply) echo "applied" ;;
esac
exit 0
"#,
    )
    .unwrap();
    chmod_x(&path);
    path
}

#[test]
fn apply_replans_by_default_and_passes_changed_since_and_args() {
    let runner = Runner::new();
    let fake = fake_roster(runner.dir.path());
    let plan = runner.path("roster-plan.json");
    std::fs::write(&plan, "{}").unwrap();
    std::fs::write(runner.path("report.md"), "x\n").unwrap();
    let mut cmd = runner.script("run.sh");
    let out = cmd
        .env("ROSTER_ACTION_BIN", &fake)
        .env("FAKE_LOG", runner.path("log"))
        .env("FAKE_REPORT", runner.path("report.md"))
        .env("ROSTER_ACTION_COMMAND", "apply")
        .env("ROSTER_ACTION_CONFIG_DIR", "org")
        .env("ROSTER_ACTION_PLAN_FILE", &plan)
        .env("ROSTER_ACTION_CHANGED_SINCE", "abc123")
        .env("ROSTER_ACTION_ARGS", "--audit-log  roster-audit.jsonl")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let log = runner.read("log");
    assert!(
        log.contains(&format!(
            "apply -C org {} --replan --changed-since abc123 --audit-log roster-audit.jsonl\n",
            plan.display()
        )),
        "{log}"
    );
    let o = runner.outputs();
    assert_eq!(o["creates"], "1");
    assert_eq!(o["deprovisions"], "2");
    assert_eq!(o["team-changes"], "1");
    assert_eq!(o["updates"], "0");
    assert!(runner.read("summary").contains("applied"));
}

// ---- cutting, and the pull-request comment -------------------------------------------------------

/// A drift report far over every limit, with a code fence and a <details> open at any cut.
fn huge_report(path: &Path) {
    let mut s = String::from(
        "<!-- roster-drift -->\n### roster drift report\n\n<details><summary>All</summary>\n\n```diff\n",
    );
    let mut i = 0;
    while s.len() < 3 * 1024 * 1024 {
        // Multi-byte characters: a limit counted in characters is not a limit in bytes.
        s.push_str(&format!(
            "~ user[\"user{i}@example.com\"] title = \"Ingénieure 🚀\" -> \"Lead\"\n"
        ));
        i += 1;
    }
    s.push_str("```\n\n</details>\n");
    std::fs::write(path, s).unwrap();
}

fn fences_and_details_are_closed(md: &str) {
    let fences = md
        .lines()
        .filter(|l| l.trim_start().starts_with("```"))
        .count();
    assert_eq!(fences % 2, 0, "a code fence is left open");
    assert_eq!(
        md.matches("<details>").count(),
        md.matches("</details>").count()
    );
}

#[test]
fn the_summary_and_the_comment_are_cut_to_fit_with_a_pointer() {
    let gh = FakeGitHub::start();
    let runner = Runner::new();
    let fake = fake_roster(runner.dir.path());
    huge_report(&runner.path("report.md"));
    let event = runner.path("event.json");
    std::fs::write(&event, r#"{"pull_request":{"number":7}}"#).unwrap();
    let drift = |mode: &str| {
        let mut cmd = runner.script("run.sh");
        std::fs::write(runner.path("summary"), "").unwrap();
        cmd.env("ROSTER_ACTION_BIN", &fake)
            .env("FAKE_LOG", runner.path("log"))
            .env("FAKE_REPORT", runner.path("report.md"))
            .env("ROSTER_ACTION_COMMAND", "drift")
            .env("ROSTER_ACTION_COMMENT", mode)
            .env("ROSTER_ACTION_GITHUB_TOKEN", TOKEN)
            .env("GITHUB_API_URL", &gh.url)
            .env("GITHUB_EVENT_PATH", &event)
            .output()
            .unwrap()
    };
    let out = drift("update");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // The job summary: at most 1 MiB, whole lines, closed blocks, a pointer at the end.
    let summary = runner.read("summary");
    assert!(summary.len() <= 1024 * 1024, "{} bytes", summary.len());
    assert!(
        summary.len() > 900_000,
        "cut far too short: {} bytes",
        summary.len()
    );
    assert!(summary.starts_with("<!-- roster-drift -->\n"));
    assert!(
        summary
            .trim_end()
            .ends_with("(or `roster show FILE` on a saved plan).*"),
        "{}",
        &summary[summary.len() - 300..]
    );
    assert!(summary.contains("Cut here to fit the job summary's 1 MiB"));
    fences_and_details_are_closed(&summary);

    // The comment: under 65,536 characters, pointing at the run's job summary.
    let comments = gh.comments();
    assert_eq!(comments.len(), 1);
    let (id, body) = &comments[0];
    assert!(
        body.chars().count() < 65_536,
        "{} characters",
        body.chars().count()
    );
    assert!(
        body.len() > 60_000,
        "cut far too short: {} bytes",
        body.len()
    );
    assert!(body.starts_with("<!-- roster-drift -->\n"));
    assert!(body.contains("[job summary](https://github.example/acme/people/actions/runs/4242)"));
    fences_and_details_are_closed(body);
    // Every request carried the token, and only in its header.
    assert!(
        gh.seen()
            .iter()
            .all(|s| s.authorization.as_deref() == Some(&format!("Bearer {TOKEN}")))
    );
    assert!(!stderr(&out).contains(TOKEN) && !stdout(&out).contains(TOKEN));
    // report-short is the same cut, for a drift issue's body.
    let short = std::fs::read_to_string(&runner.outputs()["report-short"]).unwrap();
    assert!(short.chars().count() < 65_536);
    fences_and_details_are_closed(&short);

    // The next run edits that comment in place: still one comment, one PATCH.
    std::fs::write(
        runner.path("report.md"),
        "<!-- roster-drift -->\nsmall now\n",
    )
    .unwrap();
    let out = drift("update");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        gh.comments(),
        vec![(*id, "<!-- roster-drift -->\nsmall now\n".to_string())]
    );
    let writes: Vec<_> = gh
        .seen()
        .into_iter()
        .filter(|s| s.method != "GET")
        .map(|s| format!("{} {}", s.method, s.path))
        .collect();
    assert_eq!(
        writes,
        [
            "POST /repos/acme/people/issues/7/comments".to_string(),
            format!("PATCH /repos/acme/people/issues/comments/{id}")
        ]
    );

    // comment: new posts another; off posts nothing.
    let out = drift("new");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(gh.comments().len(), 2);
    let requests = gh.seen().len();
    let out = drift("off");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(gh.seen().len(), requests);
}

#[test]
fn the_comment_finds_its_marker_past_the_first_page_and_fails_loudly_without_permission() {
    let gh = FakeGitHub::start();
    {
        let mut st = gh.state.lock().unwrap();
        for i in 0..150 {
            st.comments.push((i, format!("comment {i}")));
        }
        st.comments
            .push((150, "<!-- roster-plan -->\nold plan".to_string()));
        st.comments
            .push((151, "<!-- roster-plan -->\nolder copy".to_string()));
    }
    let runner = Runner::new();
    std::fs::write(runner.path("report.md"), "<!-- roster-plan -->\nnew plan\n").unwrap();
    let comment = |token: &str| {
        let mut cmd = runner.script("comment.sh");
        cmd.arg(runner.path("report.md"))
            .arg("<!-- roster-plan -->")
            .arg("update")
            .env("ROSTER_ACTION_GITHUB_TOKEN", token)
            .env("ROSTER_ACTION_PR", "7")
            .env("GITHUB_API_URL", &gh.url)
            .output()
            .unwrap()
    };
    let out = comment(TOKEN);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let comments = gh.comments();
    assert_eq!(comments.len(), 152);
    assert_eq!(comments[150].1, "<!-- roster-plan -->\nnew plan\n");
    assert_eq!(comments[151].1, "<!-- roster-plan -->\nolder copy");

    // A token that may not comment: the step fails and says what the token needs.
    let out = comment("wrong");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        stderr(&out).contains("GitHub answered 401"),
        "{}",
        text(&out)
    );
    assert!(
        !stderr(&out).contains("wrong"),
        "the token is not echoed: {}",
        text(&out)
    );
}

// ---- action.yml and the workflows that use it -------------------------------------------------

/// The keys of a YAML mapping block: the lines indented exactly `indent` spaces under the line
/// `header`, up to the next line indented less.
fn keys_under(yaml: &str, header: &str, indent: usize) -> Vec<String> {
    let mut keys = Vec::new();
    let mut inside = false;
    for line in yaml.lines() {
        if line.trim_end() == header {
            inside = true;
            continue;
        }
        if !inside || line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let depth = line.len() - line.trim_start().len();
        if depth < indent {
            break;
        }
        if depth == indent
            && let Some((k, _)) = line.trim().split_once(':')
        {
            keys.push(k.to_string());
        }
    }
    keys
}

#[test]
fn the_action_declares_what_the_scripts_use_and_the_workflows_use_what_it_declares() {
    let action = std::fs::read_to_string("action.yml").unwrap();
    let inputs = keys_under(&action, "inputs:", 2);
    for name in [
        "command",
        "config-dir",
        "version",
        "changed-since",
        "plan-file",
        "comment",
        "summary",
        "fail-on-drift",
        "args",
    ] {
        assert!(
            inputs.contains(&name.to_string()),
            "input {name} is missing: {inputs:?}"
        );
    }
    // Every input reaches the scripts through the environment, never spliced into a script.
    for name in &inputs {
        assert!(
            action.contains(&format!(": ${{{{ inputs.{name} }}}}\n")),
            "input {name} is not passed to a script"
        );
    }
    for line in action
        .lines()
        .filter(|l| l.trim_start().starts_with("run:"))
    {
        assert!(
            !line.contains("${{"),
            "an expression inside a script: {line}"
        );
    }
    // Every output is one run.sh or install.sh sets.
    let scripts = std::fs::read_to_string("scripts/action/run.sh").unwrap()
        + &std::fs::read_to_string("scripts/action/install.sh").unwrap();
    let outputs = keys_under(&action, "outputs:", 2);
    for name in [
        "exit-code",
        "changes",
        "creates",
        "updates",
        "deprovisions",
        "team-changes",
        "plan-json",
    ] {
        assert!(
            outputs.contains(&name.to_string()),
            "output {name} is missing"
        );
    }
    for name in &outputs {
        let step_output = action
            .lines()
            .skip_while(|l| l.trim() != format!("{name}:"))
            .find_map(|l| l.trim().strip_prefix("value: ${{ steps."))
            .unwrap_or_else(|| panic!("output {name} has no value"))
            .to_string();
        let set = step_output
            .split('.')
            .nth(2)
            .unwrap()
            .trim_end_matches(" }}");
        assert!(
            scripts.contains(&format!("set_output {set} ")),
            "no script sets {set}"
        );
    }

    // The workflows pin this release of the action, of this repository, and give it only
    // inputs it has.
    let repo = REPOSITORY.trim_start_matches("https://github.com/");
    let mut uses = 0;
    for dir in ["examples/github", "examples/organisation/.github/workflows"] {
        for e in std::fs::read_dir(dir).unwrap() {
            let path = e.unwrap().path();
            let yml = std::fs::read_to_string(&path).unwrap();
            assert!(
                !yml.contains("cargo install"),
                "{}: installs with cargo",
                path.display()
            );
            let lines: Vec<&str> = yml.lines().collect();
            for (i, line) in lines.iter().enumerate() {
                let Some(spec) = line.trim().strip_prefix("uses: ") else {
                    continue;
                };
                if !spec.contains("/roster@") {
                    continue;
                }
                uses += 1;
                assert_eq!(
                    spec,
                    format!("{repo}@v{VERSION}"),
                    "{}:{}",
                    path.display(),
                    i + 1
                );
                let step_indent = line.len() - line.trim_start().len();
                let mut j = i + 1;
                while j < lines.len() {
                    let l = lines[j];
                    let depth = l.len() - l.trim_start().len();
                    if !l.trim().is_empty() && depth < step_indent {
                        break;
                    }
                    if l.trim() == "with:" {
                        let mut k = j + 1;
                        while k < lines.len() {
                            let w = lines[k];
                            let d = w.len() - w.trim_start().len();
                            if w.trim().is_empty() || w.trim_start().starts_with('#') {
                                k += 1;
                                continue;
                            }
                            if d <= depth {
                                break;
                            }
                            let key = w.trim().split_once(':').unwrap().0;
                            assert!(
                                inputs.contains(&key.to_string()),
                                "{}:{}: the action has no input {key}",
                                path.display(),
                                k + 1
                            );
                            k += 1;
                        }
                    }
                    j += 1;
                }
            }
        }
    }
    assert!(uses >= 10, "{uses} uses of the action");

    // The apply workflow applies with --replan, and a plan that deprovisions anyone waits for
    // the asana-deprovision environment.
    let apply = std::fs::read_to_string("examples/github/roster-apply.yml").unwrap();
    assert!(apply.contains("command: apply") && apply.contains("replan: \"true\""));
    assert!(apply.contains("environment: asana-deprovision"));
    assert!(apply.contains("if: needs.reviewed-plan.outputs.deprovisions != '0'"));
    assert!(apply.contains(
        "(needs.approve-deprovisions.result == 'skipped' && needs.reviewed-plan.outputs.deprovisions == '0')"
    ));
}
