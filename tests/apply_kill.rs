//! `roster apply --auto-approve` killed with SIGKILL mid-apply, ten times at seeded points:
//! after each kill a re-run converges (the plan is then empty) and no user exists twice.
//!
//! The kill point is a number of finished steps, read from the audit log's outcome lines
//! (written and flushed as each step finishes), so every kill lands mid-apply whatever the
//! machine's speed; the emulator adds latency so the run is still sending when the kill lands.

#![allow(clippy::disallowed_methods)] // tests set up files, run programs and read the clock

mod apply_support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use apply_support::{Harness, Rng, TOKEN, assert_code, outcome_lines, stderr, user_name_counts};
use roster::emulator::{Emulator, FaultConfig};

/// Fewer than the client's burst (150 requests) per run, so the binary, paced at Asana's
/// 1,500 a minute, does not wait on its own limiter.
const USERS: usize = 120;
const RUNS: u64 = 10;

/// 120 users; user i reports to user (i-1)/5 (four levels, managers created first), two teams.
fn config() -> (String, String) {
    let mut users = String::from("users:\n");
    for i in 0..USERS {
        users.push_str(&format!(
            "  - userPrincipalName: k{i:03}@kill.example\n    displayName: User {i}\n    jobTitle: Engineer\n"
        ));
        if i > 0 {
            users.push_str(&format!("    manager: k{:03}@kill.example\n", (i - 1) / 5));
        }
    }
    let mut groups = String::new();
    for (team, range) in [("Early", 0..30), ("Late", 100..USERS)] {
        groups.push_str(&format!("  - displayName: {team}\n    members:\n"));
        for i in range {
            groups.push_str(&format!("      - k{i:03}@kill.example\n"));
        }
    }
    (users, format!("groups:\n{groups}"))
}

#[test]
fn apply_killed_mid_run_converges_on_the_next_run_without_duplicates() {
    let (users, groups) = config();
    // 120 creates, 2 team creates; 15 writes in flight, 10-20 ms each.
    let changes = USERS + 2;
    let mut rng = Rng::new(0x51_6b11);
    for run in 0..RUNS {
        let h = Harness::start(Emulator::builder().faults(FaultConfig {
            latency_ms: 10,
            jitter_ms: 10,
            ..FaultConfig::default()
        }));
        h.write_config("version: 1\n", Some(&users), Some(&groups));
        let log = h.path("audit.jsonl");
        // Kill after this many steps finished: from the first level to the last but one, with
        // dozens of steps still to go so the kill lands before the end even on a slow machine.
        let kill_after = 1 + rng.below(changes * 2 / 3);
        let mut child = Command::new(env!("CARGO_BIN_EXE_roster"))
            .arg("-C")
            .arg(h.config_dir())
            .args(["apply", "--auto-approve", "--asana-url", &h.url()])
            .arg("--audit-log")
            .arg(&log)
            .env("ASANA_TOKEN", TOKEN)
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("roster starts");
        let deadline = Instant::now() + Duration::from_secs(30);
        while outcome_lines(&log).len() < kill_after {
            assert!(
                child.try_wait().unwrap().is_none(),
                "run {run}: apply ended before step {kill_after}"
            );
            assert!(Instant::now() < deadline, "run {run}: apply is stuck");
            std::thread::sleep(Duration::from_millis(1));
        }
        child.kill().expect("SIGKILL");
        let status = child.wait().unwrap();
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(9),
            "run {run}: apply was not killed mid-run: {status:?}"
        );
        let done = outcome_lines(&log).len();
        assert!(
            done < changes,
            "run {run}: every step had finished ({done})"
        );
        let after_kill = h.live();
        assert!(user_name_counts(&after_kill).values().all(|&n| n == 1));

        let out = h.run("apply", &["--auto-approve"]);
        assert_code(&out, 0);
        assert!(stderr(&out).contains("0 failed"), "{}", stderr(&out));
        assert_code(&h.run("plan", &["--detailed-exitcode"]), 0);
        let live = h.live();
        let counts = user_name_counts(&live);
        assert_eq!(counts.len(), USERS, "run {run}");
        assert!(counts.values().all(|&n| n == 1), "run {run}: a duplicate");
        assert_eq!(live.groups.len(), 2, "run {run}");
    }
}
