//! Helpers shared by the apply tests: a seeded generator, an emulator the test holds, and the
//! `roster` binary pointed at it.

#![allow(dead_code)]

use roster::splitmix::SplitMix64;

/// The seeded generator of generated cases: `roster::splitmix`, the same on every platform.
pub struct Rng(SplitMix64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(SplitMix64::new(seed))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// A number in `0..n` (`n` ≥ 1; 0 gives 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        (self.next_u64() % n as u64) as usize
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.0.next_unit() < p
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// `0..n` in a random order.
    pub fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut v: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            v.swap(i, self.below(i + 1));
        }
        v
    }
}

use std::path::{Path, PathBuf};
use std::process::Output;

use roster::emulator::{EmulatorBuilder, LimitsConfig, RunningEmulator, StatsSnapshot};
use roster::plan::Live;
use roster::scim::client::{ClientConfig, Secret, WriteClient};

/// A token to look for: it must never appear in any output or file.
pub const TOKEN: &str = "tok-7f3a9c-do-not-leak-5e1b";

/// No limits: these tests are about apply's behaviour, not the emulator's limiter.
pub fn unlimited() -> LimitsConfig {
    LimitsConfig {
        requests_per_minute: 0,
        concurrent_reads: 0,
        concurrent_writes: 0,
    }
}

/// An emulator the test holds (on its own runtime, so the test thread can run `roster`
/// synchronously) and a config directory for `roster -C`.
pub struct Harness {
    pub rt: tokio::runtime::Runtime,
    /// Dropped without waiting for open connections (no state file to write).
    pub emu: Option<RunningEmulator>,
    pub dir: tempfile::TempDir,
}

impl Harness {
    pub fn start(builder: EmulatorBuilder) -> Harness {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let emu = rt
            .block_on(builder.port(0).token(TOKEN).limits(unlimited()).start())
            .expect("the emulator starts");
        Harness {
            rt,
            emu: Some(emu),
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn emu(&self) -> &RunningEmulator {
        self.emu.as_ref().expect("running")
    }

    pub fn url(&self) -> String {
        self.emu().url().to_string()
    }

    pub fn stats(&self) -> StatsSnapshot {
        self.emu().stats()
    }

    /// Where the config lives.
    pub fn config_dir(&self) -> PathBuf {
        self.dir.path().join("config")
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes roster.yaml, users/users.yaml and groups/groups.yaml (`None`: no such file).
    pub fn write_config(&self, settings: &str, users: Option<&str>, groups: Option<&str>) {
        let dir = self.config_dir();
        for sub in ["users", "groups"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        std::fs::write(dir.join("roster.yaml"), settings).unwrap();
        for (path, text) in [("users/users.yaml", users), ("groups/groups.yaml", groups)] {
            let path = dir.join(path);
            match text {
                Some(t) => std::fs::write(path, t).unwrap(),
                None => {
                    let _ = std::fs::remove_file(path);
                }
            }
        }
    }

    /// `roster` with the token in the environment, run from a directory that holds no config,
    /// so `-C` is what finds it.
    pub fn roster(&self) -> assert_cmd::Command {
        let mut cmd = assert_cmd::Command::new(env!("CARGO_BIN_EXE_roster"));
        cmd.env("NO_COLOR", "1")
            .env("ASANA_TOKEN", TOKEN)
            .env_remove("ROSTER_ASANA_URL")
            .env_remove("CI")
            .current_dir(self.dir.path());
        cmd
    }

    /// `roster -C CONFIG SUBCOMMAND ARGS --asana-url URL`.
    pub fn run(&self, subcommand: &str, args: &[&str]) -> Output {
        self.roster()
            .arg("-C")
            .arg(self.config_dir())
            .arg(subcommand)
            .args(args)
            .arg("--asana-url")
            .arg(self.url())
            .output()
            .expect("roster runs")
    }

    /// A client for seeding and inspecting the emulator.
    pub fn client(&self) -> WriteClient {
        WriteClient::new(&ClientConfig::new(self.url(), Secret::new(TOKEN))).expect("client")
    }

    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    pub fn live(&self) -> Live {
        let client = self.client();
        self.block_on(roster::ops::read_live(&client.reader()))
            .expect("live state")
    }

    /// Creates users (`userName`, `title`), returning their ids.
    pub fn seed_users(&self, users: &[(&str, &str)]) -> Vec<String> {
        let client = self.client();
        self.block_on(async {
            let mut ids = Vec::new();
            for (name, title) in users {
                let body = serde_json::json!({ "userName": name, "title": title });
                ids.push(client.create_user(&body).await.expect("seed").id().unwrap());
            }
            ids
        })
    }
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Asserts the exit code, showing stderr when it differs.
pub fn assert_code(o: &Output, code: i32) {
    assert_eq!(
        o.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        stdout(o),
        stderr(o)
    );
}

/// userName -> how many live users have it (case-insensitively).
pub fn user_name_counts(live: &Live) -> std::collections::BTreeMap<String, usize> {
    let mut counts = std::collections::BTreeMap::new();
    for u in &live.users {
        *counts.entry(u.user_name.to_lowercase()).or_insert(0) += 1;
    }
    counts
}

/// The audit log's `outcome` lines: one per change that finished.
pub fn outcome_lines(path: &Path) -> Vec<String> {
    read_lines(path)
        .into_iter()
        .filter(|l| l.contains(r#""event":"outcome""#))
        .collect()
}

pub fn read_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}
