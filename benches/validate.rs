//! Benchmark: `roster validate` on 100,000 users in 50 files (plus 500 teams).
//!
//! Prints wall time and peak memory (VmHWM) of loading and validating the directory in
//! process, and the wall time of the `roster validate` binary on the same directory.
//! Targets (issue 2): under 3 s and 500 MB. Run: `cargo bench --bench validate`.

#![allow(clippy::disallowed_methods)] // tests set up files, run programs and read the clock

use std::io::Write;
use std::time::Instant;

const USERS: usize = 100_000;
const FILES: usize = 50;
const TEAMS: usize = 500;

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    generate(dir.path());
    let hwm_before = peak_rss_kb();

    let start = Instant::now();
    let (config, report) = roster::config::load(dir.path());
    let elapsed = start.elapsed();
    let config = config.unwrap_or_else(|| {
        panic!(
            "generated config is invalid: {:?}",
            report.diagnostics.first()
        )
    });
    assert_eq!(config.users.len(), USERS);
    let hwm = peak_rss_kb();

    let start = Instant::now();
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_roster"))
        .args(["validate", "-C"])
        .arg(dir.path())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("roster runs");
    let binary = start.elapsed();
    assert!(status.success());

    println!("validate: {USERS} users in {FILES} files, {TEAMS} teams");
    println!(
        "  in-process load+validate: {:.3} s (target < 3 s)",
        elapsed.as_secs_f64()
    );
    println!(
        "  peak memory (VmHWM):      {:.1} MB (before loading: {:.1} MB; target < 500 MB)",
        hwm as f64 / 1024.0,
        hwm_before as f64 / 1024.0
    );
    println!(
        "  `roster validate` binary: {:.3} s wall",
        binary.as_secs_f64()
    );
}

fn generate(dir: &std::path::Path) {
    std::fs::write(dir.join("roster.yaml"), "version: 1\n").unwrap();
    std::fs::create_dir_all(dir.join("users")).unwrap();
    std::fs::create_dir_all(dir.join("groups")).unwrap();
    let per_file = USERS / FILES;
    let departments = [
        "Engineering",
        "Sales",
        "Finance",
        "People",
        "Operations",
        "Legal",
    ];
    for f in 0..FILES {
        let file = std::fs::File::create(dir.join(format!("users/part-{f:02}.yaml"))).unwrap();
        let mut w = std::io::BufWriter::new(file);
        writeln!(w, "users:").unwrap();
        for i in f * per_file..(f + 1) * per_file {
            writeln!(w, "  - userPrincipalName: user{i:06}@example.com").unwrap();
            writeln!(w, "    mail: user{i:06}@example.com").unwrap();
            writeln!(w, "    displayName: User {i:06}").unwrap();
            writeln!(w, "    givenName: User").unwrap();
            writeln!(w, "    surname: \"{i:06}\"").unwrap();
            writeln!(w, "    jobTitle: Engineer {}", i % 7).unwrap();
            writeln!(w, "    department: {}", departments[i % departments.len()]).unwrap();
            writeln!(w, "    employeeId: \"{i}\"").unwrap();
            writeln!(w, "    city: Amsterdam").unwrap();
            writeln!(w, "    country: NL").unwrap();
            if i > 0 {
                // A tree: user i reports to user i / 10.
                writeln!(w, "    manager: user{:06}@example.com", i / 10).unwrap();
            }
        }
    }
    let file = std::fs::File::create(dir.join("groups/teams.yaml")).unwrap();
    let mut w = std::io::BufWriter::new(file);
    writeln!(w, "groups:").unwrap();
    for t in 0..TEAMS {
        writeln!(w, "  - displayName: Team {t:03}").unwrap();
        writeln!(w, "    members:").unwrap();
        for m in 0..20 {
            writeln!(w, "      - user{:06}@example.com", (t * 200 + m) % USERS).unwrap();
        }
    }
}

/// Peak resident set size of this process, in kB.
fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}
