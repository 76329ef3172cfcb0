//! The README's main job, pinned byte for byte: the quickstart plan against the built-in
//! emulator, as a user first sees it (text, no colour), and the same plan as JSON.

#![allow(clippy::disallowed_methods)] // tests set up files, run programs and read the clock

use assert_cmd::Command;

fn quickstart(args: &[&str]) -> (String, String) {
    let out = Command::cargo_bin("roster")
        .unwrap()
        .env("NO_COLOR", "1")
        .env_remove("ROSTER_ASANA_URL")
        .env_remove("ROSTER_TARGET_URL")
        .args([
            "plan",
            "-C",
            "examples/quickstart",
            "--emulator",
            "--emulator-state",
            "examples/quickstart/emulator-state.json",
        ])
        .args(args)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn the_quickstart_plan_is_byte_for_byte_as_pinned() {
    let (stdout, stderr) = quickstart(&[]);
    insta::assert_snapshot!("quickstart_plan_text", stdout);
    assert_eq!(stderr, "", "the quickstart plan prints nothing on stderr");
}

#[test]
fn the_quickstart_plan_as_json_is_as_pinned() {
    // `--at`: the JSON records the instant it was evaluated at, which must not be the clock's.
    let (stdout, _) = quickstart(&["--format", "json", "--at", "2026-12-01T00:00:00Z"]);
    insta::assert_snapshot!("quickstart_plan_json", stdout);
}
