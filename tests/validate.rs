//! `roster validate` end to end: the quickstart, every invalid example pinned by a snapshot,
//! GitHub annotations, and hostile input (alias bombs, junk, non-UTF-8).

#![allow(clippy::disallowed_methods)] // tests set up files, run programs and read the clock

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;

fn roster() -> Command {
    let mut cmd = Command::cargo_bin("roster").expect("binary builds");
    cmd.env("NO_COLOR", "1").env_remove("ASANA_TOKEN");
    cmd
}

fn validate(dir: &Path, extra: &[&str]) -> Output {
    roster()
        .arg("validate")
        .arg("-C")
        .arg(dir)
        .args(extra)
        .output()
        .expect("roster runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn quickstart_is_valid() {
    let out = validate(Path::new("examples/quickstart"), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("valid: 20 users, 3 groups"),
        "{}",
        stderr(&out)
    );
}

fn invalid_cases() -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = std::fs::read_dir("examples/invalid")
        .expect("examples/invalid exists")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    cases
}

#[test]
fn every_invalid_example_fails_with_pinned_diagnostics() {
    let cases = invalid_cases();
    assert!(
        cases.len() >= 20,
        "expected one directory per diagnostic family"
    );
    for case in cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let out = validate(&case, &[]);
        assert_eq!(out.status.code(), Some(1), "{name}: {}", stderr(&out));
        let text = stderr(&out);
        // Every diagnostic names its place as file:line:column.
        assert!(
            text.contains(&format!("--> {}", case.display())) || name == "missing-settings",
            "{name} has no location:\n{text}"
        );
        insta::assert_snapshot!(format!("invalid_{name}"), text);
    }
}

#[test]
fn github_format_prints_annotations_on_stdout() {
    let out = validate(
        Path::new("examples/invalid/manager-cycle"),
        &["--format", "github"],
    );
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(
        lines[0].starts_with(
            "::error file=examples/invalid/manager-cycle/users/people.yaml,line=3,col=14,endColumn=31,title=roster::manager cycle: "
        ),
        "{}",
        lines[0]
    );
    insta::assert_snapshot!("github_manager_cycle", stdout);
}

/// A config directory with a valid roster.yaml and one users file with `content`.
fn config_with_users(content: &[u8]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("roster.yaml"), "version: 1\n").unwrap();
    std::fs::create_dir(dir.path().join("users")).unwrap();
    std::fs::write(dir.path().join("users/people.yaml"), content).unwrap();
    dir
}

/// Runs validate with the address space capped at 1 GiB, so unbounded memory use would
/// crash the process instead of passing.
fn validate_bounded(dir: &Path) -> Output {
    std::process::Command::new("prlimit")
        .arg(format!("--as={}", 1u64 << 30))
        .arg(assert_cmd::cargo::cargo_bin("roster"))
        .args(["validate", "-C"])
        .arg(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("prlimit (util-linux) runs")
}

#[test]
fn alias_bomb_fails_with_a_clear_error_in_bounded_memory() {
    // One anchored list of 1,000 roles, then 100,000 users aliasing it: 100 million strings
    // if expanded.
    let mut y =
        String::from("users:\n  - userPrincipalName: u0@x.io\n    appRoleAssignments: &r [");
    y.push_str(
        &(0..1000)
            .map(|i| format!("role{i}"))
            .collect::<Vec<_>>()
            .join(", "),
    );
    y.push_str("]\n");
    for i in 1..100_000 {
        y.push_str(&format!(
            "  - userPrincipalName: u{i}@x.io\n    appRoleAssignments: *r\n"
        ));
    }
    let dir = config_with_users(y.as_bytes());
    let out = validate_bounded(dir.path());
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stderr(&out);
    assert!(text.contains("users/people.yaml:"), "{text}");
    assert!(text.contains("alias"), "{text}");

    // The classic billion-laughs shape fails too.
    let mut bomb = String::from(
        "users:\n  - userPrincipalName: a@x.io\n    appRoleAssignments: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n",
    );
    for level in 1..10 {
        let prev = format!("*a{}", level - 1);
        bomb.push_str(&format!(
            "  - userPrincipalName: a{level}@x.io\n    appRoleAssignments: &a{level} [{}]\n",
            vec![prev; 9].join(", ")
        ));
    }
    let dir = config_with_users(bomb.as_bytes());
    let out = validate_bounded(dir.path());
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("users/people.yaml:"),
        "{}",
        stderr(&out)
    );
}

/// Printable junk from a fixed-seed generator, so the test is the same on every run.
fn junk(len: usize) -> Vec<u8> {
    let alphabet = b"abc XYZ:-[]{}#&*!|>'\"\n\t,?%@`";
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            alphabet[(state >> 33) as usize % alphabet.len()]
        })
        .collect()
}

#[test]
fn fifty_megabytes_of_junk_is_refused_before_reading() {
    let dir = config_with_users(&junk(50_000_000));
    let out = validate_bounded(dir.path());
    assert_eq!(out.status.code(), Some(1));
    let text = stderr(&out);
    assert!(
        text.contains("file is 50.0 MB; roster reads config files up to 32 MB"),
        "{text}"
    );
}

#[test]
fn junk_under_the_size_limit_fails_with_a_located_error() {
    let dir = config_with_users(&junk(20_000_000));
    let out = validate_bounded(dir.path());
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stderr(&out);
    assert!(text.contains("--> "), "{text}");
    assert!(text.contains("users/people.yaml:"), "{text}");
}

#[test]
fn non_utf8_is_reported_at_the_first_bad_byte() {
    let dir = config_with_users(b"users:\n  - userPrincipalName: a@x.io\n    surname: M\xfcller\n");
    let out = validate(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(1));
    let text = stderr(&out);
    assert!(text.contains("error: file is not valid UTF-8"), "{text}");
    assert!(text.contains("users/people.yaml:3:15"), "{text}");
}

#[test]
fn problems_in_several_files_are_all_reported() {
    let dir = config_with_users(b"users:\n  - userPrincipalName: nope\n  - userPrincipalName: b@x.io\n    manager: ghost@x.io\n");
    std::fs::create_dir(dir.path().join("groups")).unwrap();
    std::fs::write(
        dir.path().join("groups/t.yaml"),
        "groups:\n  - displayName: T\n    members: [b@x.io, who@x.io]\n",
    )
    .unwrap();
    let out = validate(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(1));
    let text = stderr(&out);
    for needle in [
        "`nope` is not an email address",
        "manager `ghost@x.io` of `b@x.io` is not a declared user",
        "member `who@x.io` of group `T` is not a declared user",
        "3 problems found",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
}

#[test]
fn committed_schemas_match_the_generated_ones() {
    for (name, generated) in roster::config::schema::all() {
        let path = Path::new("schema").join(name);
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == generated,
            "{} is stale: run `cargo run -- schema --out-dir schema`",
            path.display()
        );
    }
}

#[test]
fn example_yaml_files_carry_the_schema_modeline() {
    let mut files = Vec::new();
    for sub in ["", "users", "groups"] {
        let dir = Path::new("examples/quickstart").join(sub);
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "yaml") {
                files.push(p);
            }
        }
    }
    assert!(files.len() >= 5);
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let first = text.lines().next().unwrap_or("");
        let schema = first
            .strip_prefix("# yaml-language-server: $schema=")
            .unwrap_or_else(|| panic!("{} has no schema modeline", f.display()));
        assert!(
            f.parent().unwrap().join(schema).is_file(),
            "{}: {schema} does not exist",
            f.display()
        );
    }
}

#[test]
fn every_schema_property_has_a_description() {
    fn walk(v: &serde_json::Value, path: &str, missing: &mut Vec<String>) {
        if let Some(props) = v.get("properties").and_then(|p| p.as_object()) {
            for (name, prop) in props {
                let described = prop.get("description").is_some()
                    || prop.get("$ref").is_some() && v.get("description").is_some();
                if !described {
                    missing.push(format!("{path}.{name}"));
                }
                walk(prop, &format!("{path}.{name}"), missing);
            }
        }
        if let Some(defs) = v.get("$defs").and_then(|d| d.as_object()) {
            for (name, def) in defs {
                walk(def, &format!("$defs.{name}"), missing);
            }
        }
    }
    for (name, text) in roster::config::schema::all() {
        let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
        let mut missing = Vec::new();
        walk(&schema, name, &mut missing);
        assert!(missing.is_empty(), "undocumented properties: {missing:?}");
    }
}

#[test]
fn the_sample_organisation_is_valid_and_its_copies_are_current() {
    let out = validate(Path::new("examples/organisation"), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // It is meant to be copied whole, so it carries its own schemas and workflows: they must
    // be the project's current ones.
    for (name, generated) in roster::config::schema::all() {
        let copy =
            std::fs::read_to_string(Path::new("examples/organisation/schema").join(name)).unwrap();
        assert!(
            copy == generated,
            "examples/organisation/schema/{name} is stale: copy schema/{name}"
        );
    }
    for e in std::fs::read_dir("examples/github").unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap();
        let copy = std::fs::read_to_string(
            Path::new("examples/organisation/.github/workflows").join(name),
        )
        .unwrap_or_default();
        assert!(
            copy == std::fs::read_to_string(&p).unwrap(),
            "examples/organisation/.github/workflows/{name:?} differs from {}",
            p.display()
        );
    }
}

/// A config directory with `roster.yaml` and one users file.
fn config_dir(settings: &str, users: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("roster.yaml"), settings).unwrap();
    std::fs::create_dir(dir.path().join("users")).unwrap();
    std::fs::write(dir.path().join("users/people.yaml"), users).unwrap();
    dir
}

#[test]
fn the_generic_profile_drops_asanas_restrictions_and_the_asana_profile_keeps_them() {
    // userName need not be an email address, and the name parts may be updated: RFC 7643
    // allows both, Asana does not.
    let users = "users:\n  - { userPrincipalName: alice, givenName: Alice }\n  - { userPrincipalName: bob, manager: alice }\n";
    let mappings = "mappings:\n  users:\n    - { target: userName, source: userPrincipalName, match: 1 }\n    - { target: name.givenName, source: givenName }\n    - { target: displayName, source: displayName }\n";
    let generic = config_dir(
        &format!(
            "version: 1\ntarget: {{ profile: generic, url: https://scim.example.com/v2 }}\n{mappings}"
        ),
        users,
    );
    let out = validate(generic.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let asana = config_dir(
        &format!("version: 1\ntarget: {{ profile: asana }}\n{mappings}"),
        users,
    );
    let out = validate(asana.path(), &[]);
    assert_eq!(out.status.code(), Some(1));
    let text = stderr(&out);
    for expected in [
        "userPrincipalName `alice` is not an email address",
        "manager `alice` is not an email address",
        "Asana refuses `name.givenName` on update",
        "unknown target attribute `displayName`",
    ] {
        assert!(text.contains(expected), "{expected}:\n{text}");
    }
}
