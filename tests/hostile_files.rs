//! Hostile files and hostile output streams (issue 11), through the binary.
//!
//! Item 1: config files are regular files inside the config directory. A symlink out of it
//! (to `/proc/self/environ`, `/etc/passwd`, `/`), a device, a FIFO or a directory symlink loop
//! is refused unread and in bounded time, and no output quotes a byte of what it points to; the
//! same for plan files, `--emulator-state` and `plan --out`.
//!
//! The low items about diagnostics and output: control characters from a file are escaped,
//! long lines and long cycles are cut, parser internals stay out of messages, a tab error
//! points at the tab, and a failed write to stdout or stderr is exit 1, never a panic.
//!
//! Every run has a 60 s timeout: a run that hangs fails its exit-code assertion instead of
//! hanging the suite.

#![allow(clippy::disallowed_methods)] // tests set up files, run programs and read the clock

mod support;

use support::{stderr, text};

use std::fs;
use std::os::unix::fs::{FileTypeExt, symlink};
use std::path::Path;
use std::process::{Output, Stdio};
use std::time::Duration;

use assert_cmd::Command;
use roster::emulator::{Emulator, RunningEmulator, StatsSnapshot};
use tempfile::TempDir;

/// Secrets no real output could contain by accident; both are in every run's environment, so
/// `/proc/self/environ` holds them.
const TOKEN: &str = "tok-HOSTILE-FILES-9d2e-DO-NOT-LEAK";
const ENTRA_SECRET: &str = "entra-secret-HOSTILE-41b7-DO-NOT-LEAK";

const TIMEOUT: Duration = Duration::from_secs(60);

const TWO_USERS: &str = "users:\n  - userPrincipalName: ann@example.com\n  - userPrincipalName: bob@example.com\n    manager: ann@example.com\n";

// ---- harness ------------------------------------------------------------------------------

/// The binary with the secrets in its environment, no colour, no URL from the caller's shell.
fn roster() -> Command {
    let mut cmd = Command::cargo_bin("roster").expect("binary builds");
    cmd.env("NO_COLOR", "1")
        .env_remove("ROSTER_ASANA_URL")
        .env_remove("ROSTER_TARGET_URL")
        .env("ASANA_TOKEN", TOKEN)
        .env("ENTRA_CLIENT_SECRET", ENTRA_SECRET)
        .timeout(TIMEOUT);
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

#[track_caller]
fn assert_code(o: &Output, code: i32) {
    assert_eq!(o.status.code(), Some(code), "{}", text(o));
}

#[track_caller]
fn assert_no_secret(o: &Output) {
    let text = text(o);
    for secret in [TOKEN, ENTRA_SECRET, "ASANA_TOKEN=", "ENTRA_CLIENT_SECRET="] {
        assert!(!text.contains(secret), "{secret} printed:\n{text}");
    }
}

/// A config directory: `roster.yaml` (`version: 1`) and `users/people.yaml`.
fn config(users: &str) -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("roster.yaml"), "version: 1\n").unwrap();
    fs::create_dir(dir.path().join("users")).unwrap();
    fs::write(dir.path().join("users/people.yaml"), users).unwrap();
    dir
}

fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo (coreutils) runs");
    assert!(status.success());
}

/// The names in a directory, sorted.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// An Asana emulator on 127.0.0.1 with its own runtime, taking [`TOKEN`].
struct Org {
    // Dropped first: the server stops before its runtime goes.
    emu: RunningEmulator,
    _rt: tokio::runtime::Runtime,
}

impl Org {
    fn start() -> Org {
        Org::start_with(Emulator::builder())
    }

    fn start_with(builder: roster::emulator::EmulatorBuilder) -> Org {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let emu = rt
            .block_on(builder.port(0).token(TOKEN).start())
            .expect("the emulator starts");
        Org { emu, _rt: rt }
    }

    fn url(&self) -> &str {
        self.emu.url()
    }

    fn stats(&self) -> StatsSnapshot {
        self.emu.stats()
    }
}

// ---- item 1: only regular files inside the config directory ---------------------------------

#[test]
fn item1_symlink_to_proc_self_environ_never_prints_the_token() {
    let org = Org::start();
    let dir = config(TWO_USERS);
    symlink("/proc/self/environ", dir.path().join("users/env.yaml")).unwrap();
    for args in [
        &["validate"][..],
        &["validate", "--format", "github"],
        &["plan", "--emulator"],
        &["plan", "--asana-url", org.url()],
    ] {
        let out = run(dir.path(), args);
        assert_code(&out, 1);
        assert_no_secret(&out);
        let text = text(&out);
        assert!(
            text.contains("users/env.yaml") && text.contains("outside the directory"),
            "{args:?}: {text}"
        );
    }
    assert_eq!(org.stats().requests, 0, "a bad config sends nothing");
}

#[test]
fn item1_symlink_to_etc_passwd_is_refused_unread() {
    let dir = config(TWO_USERS);
    symlink("/etc/passwd", dir.path().join("users/passwd.yaml")).unwrap();
    let passwd = fs::read_to_string("/etc/passwd").unwrap();
    let first = passwd.lines().next().unwrap();
    for format in ["text", "github"] {
        let out = run(dir.path(), &["validate", "--format", format]);
        assert_code(&out, 1);
        let text = text(&out);
        assert!(!text.contains(first), "{text}");
        assert!(!text.contains("root:"), "{text}");
        assert!(text.contains("users/passwd.yaml"), "{text}");
    }
    // The annotation lands on the file itself, as every other problem with a file does.
    let out = run(dir.path(), &["validate", "--format", "github"]);
    let annotations = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        annotations.contains("users/passwd.yaml,line=1,col=1"),
        "{annotations}"
    );
}

#[test]
fn item1_roster_yaml_symlinked_out_of_the_config_directory_is_refused() {
    let outside = tempfile::tempdir().unwrap();
    fs::write(
        outside.path().join("settings.yaml"),
        "version: 1\n# MARKER-FROM-OUTSIDE\nasana: { token_env: MARKER_VAR }\n",
    )
    .unwrap();
    let dir = config(TWO_USERS);
    fs::remove_file(dir.path().join("roster.yaml")).unwrap();
    symlink(
        outside.path().join("settings.yaml"),
        dir.path().join("roster.yaml"),
    )
    .unwrap();
    let out = run(dir.path(), &["validate"]);
    assert_code(&out, 1);
    let text = text(&out);
    assert!(!text.contains("MARKER"), "{text}");
    assert!(
        text.contains("roster.yaml") && text.contains("outside the directory"),
        "{text}"
    );
}

#[test]
fn item1_a_symlinked_directory_outside_is_not_walked() {
    let outside = tempfile::tempdir().unwrap();
    fs::write(
        outside.path().join("more.yaml"),
        "users:\n  - userPrincipalName: outsider@example.com\n    manager: nobody@example.com\n",
    )
    .unwrap();
    let dir = config(TWO_USERS);
    symlink(outside.path(), dir.path().join("users/ext")).unwrap();
    let out = run(dir.path(), &["validate"]);
    assert_code(&out, 1);
    let text = text(&out);
    assert!(
        text.contains("users/ext") && text.contains("outside the directory"),
        "{text}"
    );
    assert!(!text.contains("outsider"), "the folder was walked:\n{text}");
    assert!(text.contains("1 problem found"), "{text}");
}

#[test]
fn item1_users_root_symlink_to_the_filesystem_root_ends_at_once() {
    let dir = config(TWO_USERS);
    symlink("/", dir.path().join("users/root")).unwrap();
    let out = run(dir.path(), &["validate"]);
    assert_code(&out, 1);
    let text = text(&out);
    assert!(
        text.contains("users/root") && text.contains("outside the directory"),
        "{text}"
    );
}

#[test]
fn item1_directory_symlink_loops_inside_the_config_directory_end() {
    let dir = config(TWO_USERS);
    let users = dir.path().join("users");
    fs::create_dir(users.join("sub")).unwrap();
    fs::write(
        users.join("sub/more.yaml"),
        "users:\n  - userPrincipalName: cy@example.com\n",
    )
    .unwrap();
    symlink(".", users.join("loop")).unwrap();
    symlink("..", users.join("sub/up")).unwrap();
    symlink("../sub", users.join("sub/again")).unwrap();
    let out = run(dir.path(), &["validate"]);
    assert_code(&out, 0);
    // Each file once: a file seen twice would declare its users twice.
    assert!(stderr(&out).contains("valid: 3 users"), "{}", text(&out));

    // A symlink to itself is refused, by name.
    symlink("self.yaml", users.join("self.yaml")).unwrap();
    let out = run(dir.path(), &["validate"]);
    assert_code(&out, 1);
    assert!(stderr(&out).contains("users/self.yaml"), "{}", stderr(&out));
}

#[test]
fn item1_dev_zero_is_refused_as_a_users_file_and_as_a_plan_file() {
    let dir = config(TWO_USERS);
    symlink("/dev/zero", dir.path().join("users/zero.yaml")).unwrap();
    let out = run(dir.path(), &["validate"]);
    assert_code(&out, 1);
    assert!(
        stderr(&out).contains("users/zero.yaml") && stderr(&out).contains("outside"),
        "{}",
        stderr(&out)
    );

    let dir = config(TWO_USERS);
    for device in ["/dev/zero", "/dev/urandom"] {
        for command in ["show", "apply"] {
            let out = run(dir.path(), &[command, device]);
            assert_code(&out, 1);
            let err = stderr(&out);
            assert!(
                err.contains(&format!("cannot read the plan file `{device}`"))
                    && err.contains("not a regular file"),
                "{command} {device}: {err}"
            );
        }
    }
}

#[test]
fn item1_a_fifo_is_refused_in_bounded_time_as_users_file_plan_file_and_emulator_state() {
    // Nothing ever writes to these FIFOs: a read would block until the timeout.
    let dir = config(TWO_USERS);
    mkfifo(&dir.path().join("users/fifo.yaml"));
    let out = run(dir.path(), &["validate"]);
    assert_code(&out, 1);
    assert!(
        stderr(&out).contains("users/fifo.yaml`: it is a FIFO"),
        "{}",
        stderr(&out)
    );

    let dir = config(TWO_USERS);
    let fifo = dir.path().join("plan.json");
    mkfifo(&fifo);
    let fifo_arg = fifo.to_str().unwrap();
    for command in ["show", "apply"] {
        let out = run(dir.path(), &[command, fifo_arg]);
        assert_code(&out, 1);
        assert!(
            stderr(&out).contains("cannot read the plan file") && stderr(&out).contains("a FIFO"),
            "{command}: {}",
            stderr(&out)
        );
    }
    let out = run(
        dir.path(),
        &["plan", "--emulator", "--emulator-state", fifo_arg],
    );
    assert_code(&out, 1);
    assert!(
        stderr(&out).contains("cannot read the emulator state") && stderr(&out).contains("a FIFO"),
        "{}",
        stderr(&out)
    );
}

/// The Asana emulator and the Graph emulator (its seeded tenant), and a config directory in
/// seed mode that names both by their real URLs.
struct Entra {
    // Dropped first: the servers stop before their runtime goes.
    _scim: RunningEmulator,
    _graph: roster::entra::emulator::RunningGraphEmulator,
    _rt: tokio::runtime::Runtime,
    dir: TempDir,
}

impl Entra {
    fn start() -> Entra {
        use roster::entra::emulator::{GraphEmulator, GraphEmulatorConfig};
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let (scim, graph) = rt.block_on(async {
            (
                Emulator::builder()
                    .port(0)
                    .token(TOKEN)
                    .start()
                    .await
                    .unwrap(),
                GraphEmulator::start_seeded(GraphEmulatorConfig::default())
                    .await
                    .unwrap(),
            )
        });
        let example = fs::read_to_string("examples/entra/roster.yaml").unwrap();
        let settings = example
            .replace("http://127.0.0.1:4000/api/1.0/scim", scim.url())
            .replace("http://127.0.0.1:4001/login", &graph.login_url())
            .replace("http://127.0.0.1:4001/graph", &graph.graph_url());
        assert!(settings.contains(scim.url()) && settings.contains(&graph.graph_url()));
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("roster.yaml"), settings).unwrap();
        Entra {
            _scim: scim,
            _graph: graph,
            _rt: rt,
            dir,
        }
    }

    fn import(&self) -> Output {
        roster()
            .env(
                "ENTRA_CLIENT_SECRET",
                roster::entra::emulator::tenant::SEED_CLIENT_SECRET,
            )
            .args(["import", "entra"])
            .arg("-C")
            .arg(self.dir.path())
            .output()
            .unwrap()
    }
}

#[test]
fn item1_the_entra_state_folder_is_not_read_or_written_outside_the_config_directory() {
    // `.roster/` holds a cache of people's names and addresses. A pull request can commit it as
    // a symlink to anywhere; the import then keeps nothing rather than write there.
    let entra = Entra::start();
    let outside = tempfile::tempdir().unwrap();
    symlink(outside.path(), entra.dir.path().join(".roster")).unwrap();
    let out = entra.import();
    assert_code(&out, 0);
    assert!(
        stderr(&out).contains("not using the delta state") && stderr(&out).contains("outside"),
        "{}",
        stderr(&out)
    );
    assert_eq!(entries(outside.path()), Vec::<String>::new());

    // A dangling `.gitignore` symlink in a real `.roster/` is not written through either.
    let entra = Entra::start();
    let state = entra.dir.path().join(".roster");
    fs::create_dir(&state).unwrap();
    symlink(outside.path().join("victim"), state.join(".gitignore")).unwrap();
    let out = entra.import();
    assert_code(&out, 0);
    assert_eq!(entries(outside.path()), Vec::<String>::new());
    assert_eq!(entries(&state), [".gitignore", "entra-delta.json"]);
}

#[test]
fn item1_import_asana_neither_follows_nor_writes_through_symlinks_out_of_the_config_directory() {
    let org = Org::start_with(Emulator::builder().seed_users(3));
    let import = |dir: &Path| {
        run(
            dir,
            &["import", "asana", "--force", "--asana-url", org.url()],
        )
    };
    // `--force` removes the old declarations, never what a symlinked folder reaches.
    let outside = tempfile::tempdir().unwrap();
    fs::write(outside.path().join("keep.yaml"), "users: []\n").unwrap();
    let dir = config(TWO_USERS);
    symlink(outside.path(), dir.path().join("users/root")).unwrap();
    let out = import(dir.path());
    assert_code(&out, 1);
    assert_eq!(entries(outside.path()), ["keep.yaml"]);
    assert_eq!(org.stats().requests, 0);

    // The schemas it writes do not go through a symlinked schema/ folder.
    let dir = config(TWO_USERS);
    symlink(outside.path(), dir.path().join("schema")).unwrap();
    let out = import(dir.path());
    assert_code(&out, 1);
    assert!(
        stderr(&out).contains("schema/") && stderr(&out).contains("outside the directory"),
        "{}",
        stderr(&out)
    );
    assert_eq!(entries(outside.path()), ["keep.yaml"]);

    // A dangling roster.yaml symlink is not written through to make a starter file.
    let dir = tempfile::tempdir().unwrap();
    symlink(
        outside.path().join("made.yaml"),
        dir.path().join("roster.yaml"),
    )
    .unwrap();
    let out = import(dir.path());
    assert_code(&out, 1);
    assert_eq!(entries(outside.path()), ["keep.yaml"]);
}

// ---- item 1 and the low item: `plan --out` ---------------------------------------------------

/// Runs `plan --emulator --out PATH` in a config directory.
fn plan_out(dir: &Path, out: &Path) -> Output {
    run(dir, &["plan", "--emulator", "--out", out.to_str().unwrap()])
}

#[test]
fn low_plan_out_refuses_to_replace_a_fifo_a_directory_or_a_symlink() {
    let dir = config(TWO_USERS);
    let target = tempfile::tempdir().unwrap();
    let fifo = target.path().join("plan.fifo");
    mkfifo(&fifo);
    let folder = target.path().join("plan.dir");
    fs::create_dir(&folder).unwrap();
    let victim = tempfile::tempdir().unwrap();
    fs::write(victim.path().join("precious"), "keep me").unwrap();
    let link = target.path().join("plan.link");
    symlink(victim.path().join("precious"), &link).unwrap();
    let before = entries(target.path());

    for (path, what) in [
        (&fifo, "a FIFO"),
        (&folder, "a directory"),
        (&link, "a symlink"),
    ] {
        let out = plan_out(dir.path(), path);
        assert_code(&out, 1);
        assert!(
            stderr(&out).contains("cannot write the plan to") && stderr(&out).contains(what),
            "{}",
            stderr(&out)
        );
    }
    assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
    assert!(fs::symlink_metadata(&folder).unwrap().is_dir());
    assert_eq!(entries(&folder), Vec::<String>::new());
    assert_eq!(
        fs::read_to_string(victim.path().join("precious")).unwrap(),
        "keep me"
    );
    // Nothing left behind: no temporary file next to any of them.
    assert_eq!(entries(target.path()), before);

    // A regular file is replaced, and only the plan is left.
    let file = target.path().join("plan.json");
    fs::write(&file, "old").unwrap();
    let out = plan_out(dir.path(), &file);
    assert_code(&out, 0);
    assert!(fs::read_to_string(&file).unwrap().contains("\"plan\""));
    let mut expected = before.clone();
    expected.push("plan.json".into());
    expected.sort();
    assert_eq!(entries(target.path()), expected);
}

#[test]
fn low_failed_plan_out_leaves_no_tmp_file() {
    let dir = config(TWO_USERS);
    let target = tempfile::tempdir().unwrap();
    // The folder to write into does not exist: the write fails after the plan was made.
    let out = plan_out(dir.path(), &target.path().join("missing/plan.json"));
    assert_code(&out, 1);
    assert!(
        stderr(&out).contains("cannot write the plan to"),
        "{}",
        stderr(&out)
    );
    assert_eq!(entries(target.path()), Vec::<String>::new());
    // And nothing in the config directory either.
    assert_eq!(entries(dir.path()), ["roster.yaml", "users"]);
}

// ---- low: diagnostics ------------------------------------------------------------------------

#[test]
fn low_validate_escapes_control_characters_from_the_file() {
    // Escapes in double-quoted YAML become raw control characters in values and keys; a raw
    // ESC in a plain scalar reaches the source line; one in a file name reaches the location.
    let dir = config(
        "users:\n  - userPrincipalName: \"\\e[31mred\\e[0m\"\n    manager: \"\\e]0;retitled\\a\"\n",
    );
    let users = dir.path().join("users");
    fs::write(
        users.join("keys.yaml"),
        "users:\n  - { userPrincipalName: x@example.com, \"\\e[2Jkey\": 1 }\n",
    )
    .unwrap();
    fs::write(
        users.join("plain.yaml"),
        "users:\n  - userPrincipalName: y@example.com\n    surname: \u{1b}[5mblink\n",
    )
    .unwrap();
    fs::write(
        users.join("\u{1b}[1mbold.yaml"),
        "users:\n  - userPrincipalName: \"\u{202e}evil\"\n",
    )
    .unwrap();
    for format in ["text", "github"] {
        let out = run(dir.path(), &["validate", "--format", format]);
        assert_code(&out, 1);
        let text = text(&out);
        assert!(
            !text.contains(['\u{1b}', '\u{7}', '\u{202e}']),
            "{format}: raw control characters in:\n{}",
            text.escape_debug()
        );
        for shown in [
            "userPrincipalName `\\u{1b}[31mred\\u{1b}[0m` is not an email address",
            "manager `\\u{1b}]0;retitled\\u{7}`",
            "unknown key `\\u{1b}[2Jkey`",
            "\\u{1b}[1mbold.yaml",
            "`\\u{202e}evil`",
        ] {
            assert!(
                text.contains(shown),
                "{format}: {shown} missing in:\n{text}"
            );
        }
    }
    // The source line itself, in a snippet.
    let err = stderr(&run(dir.path(), &["validate"]));
    assert!(err.contains("surname: \\u{1b}[5mblink"), "{err}");
}

#[test]
fn low_a_long_source_line_is_cut_around_the_column() {
    // One line of about a megabyte, with one bad address in the middle.
    let mut line = String::from("users: [");
    for i in 0..20_000 {
        line.push_str(&format!("{{userPrincipalName: u{i}@example.com}}, "));
    }
    line.push_str("{userPrincipalName: not-an-address}, ");
    for i in 20_000..40_000 {
        line.push_str(&format!("{{userPrincipalName: u{i}@example.com}}, "));
    }
    line.push_str("]\n");
    let dir = config(&line);
    let out = run(dir.path(), &["validate"]);
    assert_code(&out, 1);
    let err = stderr(&out);
    assert!(err.len() < 2_000, "{} bytes of diagnostics", err.len());
    let lines: Vec<&str> = err.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with("1 | "))
        .unwrap_or_else(|| panic!("no source line in:\n{err}"));
    let source = lines[at].strip_prefix("1 | ").unwrap();
    let carets = lines[at + 1].strip_prefix("  | ").unwrap();
    assert!(source.starts_with('…') && source.ends_with('…'), "{source}");
    assert!(source.chars().count() <= 130, "{source}");
    // The caret is under the bad value.
    let column = source.find("not-an-address").expect("the value is shown");
    let column = source[..column].chars().count();
    assert_eq!(carets.find('^'), Some(column), "{source}\n{carets}");
    assert!(carets.trim().len() == "not-an-address".len(), "{carets}");
}

#[test]
fn low_a_200000_user_manager_cycle_is_one_short_diagnostic() {
    let n = 200_000;
    let mut users = String::from("users:\n");
    for i in 0..n {
        users.push_str(&format!(
            "  - {{ userPrincipalName: u{i}@x.io, manager: u{}@x.io }}\n",
            (i + 1) % n
        ));
    }
    let dir = config(&users);
    let out = run(dir.path(), &["validate"]);
    assert_code(&out, 1);
    let err = stderr(&out);
    assert!(err.len() < 1_000, "{} bytes of diagnostics", err.len());
    assert!(
        err.contains(
            "manager cycle: u0@x.io → u1@x.io → u2@x.io → u3@x.io → u4@x.io → … 199995 more → u0@x.io"
        ),
        "{err}"
    );
}

#[test]
fn low_parser_internals_never_reach_messages() {
    let mut anchors = String::from("users:\n");
    for i in 0..1_001 {
        anchors.push_str(&format!("  - userPrincipalName: &a{i} u{i}@x.io\n"));
    }
    let cases = [
        (
            "users:\n  - userPrincipalName: a@x.io\n    userPrincipalName: b@x.io\n",
            "`userPrincipalName` is given twice in one entry",
        ),
        (
            "users:\n  - userPrincipalName: a@x.io\n---\nusers: []\n",
            "more than one YAML document",
        ),
        (
            anchors.as_str(),
            "the file has more than 1000 anchors (`&name`)",
        ),
        (
            "users:\n  - userPrincipalName: a@x.io\n    accountEnabled: yes\n",
            "expected `true` or `false`",
        ),
        ("users: [1, 2]\n", "expected keys and values here"),
    ];
    let internals = [
        "DuplicateKeyPolicy",
        "Options",
        "budget",
        "breached",
        "Documents {",
        "ScalarBytes",
        "strict mode",
        "mapping start",
        "Option<",
        "struct ",
    ];
    for (users, expected) in cases {
        let dir = config(users);
        let out = run(dir.path(), &["validate"]);
        let err = stderr(&out);
        for word in internals {
            assert!(!err.contains(word), "{word:?} in:\n{err}");
        }
        assert!(err.contains(expected), "{expected:?} missing in:\n{err}");
        assert!(err.contains("--> "), "no place in:\n{err}");
    }
    // Settings too: a count that is not a number.
    let dir = config(TWO_USERS);
    fs::write(
        dir.path().join("roster.yaml"),
        "version: 1\npolicy:\n  max_deprovisions: { count: many }\n",
    )
    .unwrap();
    let out = run(dir.path(), &["validate"]);
    assert_code(&out, 1);
    let err = stderr(&out);
    assert!(err.contains("expected a whole number"), "{err}");
    assert!(!err.contains("u64") && !err.contains("u32"), "{err}");
}

#[test]
fn low_a_tab_error_points_at_the_tab() {
    let dir = config("users:\n  - userPrincipalName: a@x.io\n\tsurname: Tab\n");
    let out = run(dir.path(), &["validate"]);
    assert_code(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains("a tab character") && err.contains("users/people.yaml:3:1"),
        "{err}"
    );
    // A tab that indents a list entry, on the line it is on.
    let dir = config("users:\n\t- userPrincipalName: a@x.io\n");
    let err = stderr(&run(dir.path(), &["validate"]));
    assert!(err.contains("users/people.yaml:2:1"), "{err}");
}

// ---- low: failed writes to stdout and stderr -----------------------------------------------

/// The write end of a pipe whose read end is already closed: every write fails with EPIPE.
fn closed_pipe() -> Stdio {
    use std::os::fd::{FromRawFd, OwnedFd};
    let mut fds = [0; 2];
    // SAFETY: pipe() fills two new descriptors; the read end is closed at once and the write
    // end is owned by the returned Stdio.
    unsafe {
        assert_eq!(libc::pipe(fds.as_mut_ptr()), 0);
        libc::close(fds[0]);
        Stdio::from(OwnedFd::from_raw_fd(fds[1]))
    }
}

fn dev_full() -> Stdio {
    Stdio::from(
        fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap(),
    )
}

/// Runs roster with the given stdout and stderr (captured when `None`), under a timeout.
fn run_with(dir: &Path, args: &[&str], out: Option<Stdio>, err: Option<Stdio>) -> Output {
    std::process::Command::new("timeout")
        .arg(TIMEOUT.as_secs().to_string())
        .arg(assert_cmd::cargo::cargo_bin("roster"))
        .args(args)
        .arg("-C")
        .arg(dir)
        .env("NO_COLOR", "1")
        .env_remove("ROSTER_ASANA_URL")
        .env_remove("ROSTER_TARGET_URL")
        .env("ASANA_TOKEN", TOKEN)
        .stdout(out.unwrap_or_else(Stdio::piped))
        .stderr(err.unwrap_or_else(Stdio::piped))
        .output()
        .expect("timeout (coreutils) runs")
}

// Issue 12 changed what a closed pipe (EPIPE) means: the reader has what it wanted, so the run
// ends quietly with exit 0 (`roster plan | head -1`); this test asserted exit 1 and a
// "Broken pipe" error for it. A full stream (ENOSPC) is still exit 1 without a panic.
#[test]
fn low_a_full_or_closed_stdout_or_stderr_exits_1_without_a_panic() {
    let dir = config(TWO_USERS);
    let bad = config("users:\n  - userPrincipalName: nope\n");
    // Annotations go to stdout: a full one fails the run.
    let o = run_with(
        bad.path(),
        &["validate", "--format", "github"],
        Some(dev_full()),
        None,
    );
    assert_code(&o, 1);
    let err = stderr(&o);
    assert!(
        err.contains("cannot write to stdout") && err.contains("No space left"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    // One nobody reads (issue 12): quiet, exit 0.
    let o = run_with(
        bad.path(),
        &["validate", "--format", "github"],
        Some(closed_pipe()),
        None,
    );
    assert_code(&o, 0);
    assert_eq!(stderr(&o), "");
    // Diagnostics go to stderr: a full one still ends in exit 1, not 101.
    let o = run_with(bad.path(), &["validate"], None, Some(dev_full()));
    assert_code(&o, 1);
    // Into a closed pipe (issue 12) the lines are dropped and the outcome stands.
    let o = run_with(dir.path(), &["validate"], None, Some(closed_pipe()));
    assert_code(&o, 0);
    let o = run_with(bad.path(), &["validate"], None, Some(closed_pipe()));
    assert_code(&o, 1);
    // A valid config whose summary line cannot be written is not a silent success.
    let o = run_with(dir.path(), &["validate"], None, Some(dev_full()));
    assert_code(&o, 1);
    // A plan printed into a closed pipe (issue 12): quiet, exit 0.
    let o = run_with(
        dir.path(),
        &["plan", "--emulator"],
        Some(closed_pipe()),
        None,
    );
    assert_code(&o, 0);
    assert_eq!(stderr(&o), "");
    // A plan printed into a full stdout.
    let o = run_with(dir.path(), &["plan", "--emulator"], Some(dev_full()), None);
    assert_code(&o, 1);
    let err = stderr(&o);
    assert!(err.contains("cannot write to stdout"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn low_apply_carries_out_every_change_when_its_output_fails() {
    let org = Org::start();
    let names: Vec<String> = (0..20).map(|i| format!("p{i}@example.com")).collect();
    let mut users = String::from("users:\n");
    for n in &names {
        users.push_str(&format!("  - userPrincipalName: {n}\n"));
    }
    let dir = config(&users);
    // Neither the plan on stdout nor the report on stderr can be written.
    let o = run_with(
        dir.path(),
        &["apply", "--auto-approve", "--asana-url", org.url()],
        Some(closed_pipe()),
        Some(dev_full()),
    );
    // The fresh plan is printed before any write: a closed stdout stops the run there, quietly
    // (issue 12: a closed pipe is exit 0; this asserted exit 1).
    assert_code(&o, 0);
    assert_eq!(
        org.stats().writes,
        0,
        "nothing was applied without a plan shown"
    );

    // With a saved plan nothing goes to stdout; the report on a full stderr does not stop it.
    let plan = dir.path().join("plan.json");
    let made = run(
        dir.path(),
        &[
            "plan",
            "--asana-url",
            org.url(),
            "--out",
            plan.to_str().unwrap(),
        ],
    );
    assert_code(&made, 0);
    let o = run_with(
        dir.path(),
        &["apply", plan.to_str().unwrap(), "--asana-url", org.url()],
        Some(closed_pipe()),
        Some(dev_full()),
    );
    assert_code(&o, 1);
    let stats = org.stats();
    assert_eq!(
        stats.by_method.get("POST").map(|s| s.values().sum::<u64>()),
        Some(20),
        "{stats:?}"
    );
}

// Issue 12 replaced the macros that shadowed std's `println!`/`eprintln!` with clippy's
// `print_stdout`/`print_stderr` denied for the whole library and the binary: std's macros (which
// panic on a failed write) cannot be used anywhere, and `output` writes without them.
#[test]
fn low_print_macros_are_denied_everywhere() {
    for file in ["src/lib.rs", "src/main.rs"] {
        let text = fs::read_to_string(file).unwrap();
        assert!(
            text.contains("#![deny(clippy::print_stdout, clippy::print_stderr)]"),
            "{file}:\n{text}"
        );
    }
    // No module is let off but in lib.rs, where each exception is in plain sight.
    fn walk(dir: &Path, found: &mut Vec<String>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, found);
            } else if path.extension().is_some_and(|e| e == "rs")
                && path != Path::new("src/lib.rs")
                && fs::read_to_string(&path)
                    .unwrap()
                    .contains("allow(clippy::print_")
            {
                found.push(path.display().to_string());
            }
        }
    }
    let mut found = Vec::new();
    walk(Path::new("src"), &mut found);
    walk(Path::new("crates"), &mut found);
    assert_eq!(found, Vec::<String>::new());
}
