//! Issue 12, items 2, 6 and 7, through the binary: one output layer (a closed pipe is a quiet
//! success, colour follows anstream's rules, progress never reaches a log), messages that name
//! the target through the profile, and the bugs found on the way (`show` on a multibyte
//! `git_commit`, a message with runs of spaces).

#![allow(clippy::disallowed_methods)] // tests set up files, run programs and read the clock

mod support;

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use roster::wire::saved::contents_digest;
use serde_json::{Value, json};
use support::{assert_exit, config_dir, stderr, stdout};

/// roster, with none of the environment that would pin a target or colour the output.
fn roster(dir: &Path) -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("roster"));
    cmd.arg("-C").arg(dir);
    for var in [
        "ROSTER_TARGET_URL",
        "ROSTER_ASANA_URL",
        "NO_COLOR",
        "CLICOLOR",
        "CLICOLOR_FORCE",
    ] {
        cmd.env_remove(var);
    }
    cmd.stdin(Stdio::null());
    cmd
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("roster runs")
}

fn users(n: usize) -> String {
    let mut users = String::from("users:\n");
    for i in 0..n {
        users.push_str(&format!(
            "  - userPrincipalName: user{i:04}@example.com\n    jobTitle: Engineer\n"
        ));
    }
    users
}

const GENERIC: &str = "version: 1\ntarget:\n  profile: generic\n";

#[test]
fn issue12_a_closed_pipe_is_a_quiet_success() {
    // `roster plan | head -1`: the plan is far larger than a pipe holds, so roster is still
    // writing when its reader has gone. It printed `error: Broken pipe` and exited 1.
    let dir = config_dir("version: 1\n", &users(3000));
    for format in ["text", "json", "markdown"] {
        let mut child = roster(dir.path())
            .args(["plan", "--emulator", "--format", format])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        // The read end is closed here, as `head -1` closes it.
        let mut err = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        let status = child.wait().unwrap();
        assert!(!first.is_empty(), "{format}: nothing was printed");
        assert_eq!(status.code(), Some(0), "{format}: {err}");
        assert_eq!(err, "", "{format}: a closed pipe is not an error");
    }
    // `--detailed-exitcode` too: the reader stopped the run, which has no verdict to give.
    let mut child = roster(dir.path())
        .args(["plan", "--emulator", "--detailed-exitcode"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

#[test]
fn issue12_a_full_stdout_is_still_a_failure() {
    // Only a closed pipe is quiet: a disk that is full (or a descriptor that cannot be
    // written) is output the user never saw.
    let dir = config_dir("version: 1\n", &users(3));
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = run(roster(dir.path())
        .args(["plan", "--emulator"])
        .stdout(full)
        .stderr(Stdio::piped()));
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains("cannot write to stdout") && err.contains("No space left"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn issue12_colour_follows_clicolor_force_and_no_color() {
    // Not a terminal: no colour. CLICOLOR_FORCE asks for it anyway (anstream's rules), and
    // NO_COLOR wins over both.
    let dir = config_dir("version: 1\n", &users(2));
    let plain = run(roster(dir.path()).args(["plan", "--emulator"]));
    assert_exit(&plain, 0);
    assert!(!stdout(&plain).contains('\u{1b}'), "{}", stdout(&plain));
    let forced = run(roster(dir.path())
        .args(["plan", "--emulator"])
        .env("CLICOLOR_FORCE", "1"));
    assert_exit(&forced, 0);
    assert!(
        stdout(&forced).contains("\u{1b}[32m+\u{1b}[0m"),
        "{}",
        stdout(&forced)
    );
    // The same plan, but for the escape sequences.
    let stripped = stdout(&forced)
        .replace("\u{1b}[0m", "")
        .replace("\u{1b}[1m", "")
        .replace("\u{1b}[32m", "")
        .replace("\u{1b}[33m", "")
        .replace("\u{1b}[31m", "");
    assert_eq!(stripped, stdout(&plain));
    let no_color = run(roster(dir.path())
        .args(["plan", "--emulator"])
        .env("CLICOLOR_FORCE", "1")
        .env("NO_COLOR", "1"));
    assert_eq!(stdout(&no_color), stdout(&plain));
}

#[test]
fn issue12_progress_never_reaches_a_log() {
    // A read of 300 users reports its progress; stderr is not a terminal here, so nothing of
    // it (no count, no carriage return, no escape sequence) is written.
    let rt = support::runtime();
    let emu = rt
        .block_on(
            roster::emulator::Emulator::builder()
                .port(0)
                .token("t0ken")
                .seed_users(300)
                .start(),
        )
        .unwrap();
    let dir = config_dir("version: 1\npolicy:\n  unmanaged: ignore\n", &users(1));
    for args in [
        &["plan"][..],
        &["drift"],
        &["import", "asana", "--force"],
        &["apply", "--auto-approve"],
    ] {
        let out = run(roster(dir.path())
            .args(args)
            .args(["--target-url", emu.url()])
            .env("ASANA_TOKEN", "t0ken"));
        let err = stderr(&out);
        assert!(
            out.status.code().is_some_and(|c| c != 101),
            "{args:?}: {err}"
        );
        assert!(
            !err.contains("users read") && !err.contains('\r') && !err.contains('\u{1b}'),
            "{args:?}: {err:?}"
        );
    }
    assert!(emu.stats().requests > 0);
}

#[test]
fn issue12_show_does_not_panic_on_a_multibyte_git_commit() {
    // `show` cut the commit at byte 12, inside `€` here: exit 101.
    let dir = config_dir("version: 1\n", &users(1));
    let path = dir.path().join("plan.json");
    let made = run(roster(dir.path())
        .args(["plan", "--emulator", "--out"])
        .arg(&path));
    assert_exit(&made, 0);
    let mut plan: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    plan["git_commit"] = json!("0123456789a€bcdef");
    for reseal in [true, false] {
        // Resealed, as roster would have written it; or as edited, which show warns about.
        if reseal {
            plan["digest"] = json!(contents_digest(&plan));
        } else {
            plan["digest"] = json!("0".repeat(64));
        }
        std::fs::write(&path, serde_json::to_string_pretty(&plan).unwrap()).unwrap();
        let out = run(roster(dir.path()).arg("show").arg(&path));
        assert_exit(&out, 0);
        let err = stderr(&out);
        assert!(err.contains("at commit 0123456789a€."), "{err}");
        assert!(!err.contains("panicked"), "{err}");
        assert_eq!(
            err.contains("does not pass apply's checks"),
            !reseal,
            "reseal {reseal}: {err}"
        );
        assert!(stdout(&out).contains("will be created"), "{}", stdout(&out));
    }
}

/// Lines of `text` whose words are separated by more than one space (indentation aside).
fn runs_of_spaces(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|l| l.trim_start().contains("  "))
        .collect()
}

#[test]
fn issue12_messages_have_no_runs_of_spaces() {
    // A broken line continuation put 14 spaces into the middle of this error, twice.
    let dir = config_dir(
        "version: 1
entra:
  mode: live
  tenant_id: contoso.onmicrosoft.com
  client_id: 00000000-0000-0000-0000-000000000001
  service_principal_id: 00000000-0000-0000-0000-000000000002
",
        &users(1),
    );
    for command in [&["plan"][..], &["apply", "--auto-approve"]] {
        let out =
            run(roster(dir.path())
                .args(command)
                .args(["--emulator", "--changed-since", "HEAD"]));
        assert_exit(&out, 1);
        let err = stderr(&out);
        assert!(
            err.contains("--changed-since compares declarations in git, and with entra.mode: live the users from Entra are not in git"),
            "{err}"
        );
        assert_eq!(runs_of_spaces(&err), Vec::<&str>::new(), "{err}");
    }
}

#[test]
fn issue12_the_generic_profile_is_never_called_asana() {
    // "nothing was sent to Asana" and "is not in Asana" were printed for any SCIM server.
    let invalid = config_dir(
        GENERIC,
        "users:\n  - userPrincipalName: ann@example.com\n    jobTitel: Engineer\n",
    );
    let out = run(roster(invalid.path()).args(["plan", "--emulator"]));
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains("problem(s) found; nothing was sent to the SCIM server"),
        "{err}"
    );
    assert!(!err.contains("Asana"), "{err}");

    // A manager the plan cannot send: the warning names the SCIM server.
    let dir = config_dir(
        GENERIC,
        "users:
  - userPrincipalName: ann@example.com
    manager: max@example.com
  - userPrincipalName: max@example.com
    accountEnabled: false
",
    );
    for format in ["text", "markdown", "json"] {
        let out = run(roster(dir.path()).args(["plan", "--emulator", "--format", format]));
        assert_exit(&out, 0);
        let all = format!("{}{}", stdout(&out), stderr(&out));
        assert!(
            all.contains("its manager `max@example.com` is not in the SCIM server"),
            "{format}: {all}"
        );
        assert!(!all.contains("Asana"), "{format}: {all}");
    }
    let out = run(roster(dir.path()).args(["apply", "--emulator", "--auto-approve"]));
    assert_exit(&out, 0);
    assert!(!format!("{}{}", stdout(&out), stderr(&out)).contains("Asana"));

    // Under the Asana profile the same words name Asana (tests elsewhere pin them).
    let asana = config_dir(
        "version: 1\n",
        "users:\n  - userPrincipalName: ann@example.com\n    jobTitel: Engineer\n",
    );
    let out = run(roster(asana.path()).args(["plan", "--emulator"]));
    assert!(stderr(&out).contains("nothing was sent to Asana"));
}

#[test]
fn issue12_help_documents_target_url_and_keeps_the_older_names() {
    for command in ["plan", "apply", "drift", "check"] {
        let out = run(roster(Path::new(".")).args([command, "--help"]));
        assert_exit(&out, 0);
        let help = stdout(&out);
        assert!(
            help.contains("--target-url <URL>") && help.contains("ROSTER_TARGET_URL"),
            "{command}: {help}"
        );
    }
    // The older names still pin the target.
    let dir = config_dir("version: 1\n", &users(1));
    let hostile = "http://127.0.0.1:9/api/1.0/scim";
    let out = run(roster(dir.path())
        .args(["plan", "--asana-url", hostile])
        .env("ASANA_TOKEN", "t"));
    assert_exit(&out, 1);
    assert!(stderr(&out).contains("127.0.0.1:9"), "{}", stderr(&out));
}
