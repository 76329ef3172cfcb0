//! Benchmark: a full plan of 100,000 declared users against 100,000 live users (issue 4;
//! PRODUCT.md §8: CPU time well under 5 s, peak memory under 500 MB, wall time within 10% of
//! the floor the rate limit sets).
//!
//! The emulator runs as a child process (`roster emulator --seed-users 100000`) with Asana's
//! limits (1,500 requests a minute, 50 concurrent reads, 15 concurrent writes), so the CPU time
//! and peak memory printed are the planner's own. The planner runs in this process through the
//! library path the `plan` command takes: `config::load`, a `ReadClient`, `ops::read_live`,
//! `plan::plan`, and the renderers.
//!
//! Time is scaled so the run takes seconds: the emulator runs `--time-scale S` (default 10;
//! `ROSTER_BENCH_TIME_SCALE` overrides it) and the client's pacing and retry waits run on a
//! clock S times faster too, so both sides keep Asana's numbers in emulated time. Reading
//! 100,000 users at 100 a page is 1,000 user pages plus one team page: 1,001 requests. At
//! 1,500 requests a minute that takes 1,001 / 1,500 min = 40.0 s; at S = 10 it is 4.0 s of real
//! time. CPU work (parsing YAML and JSON, planning) is not scaled, so it weighs S times more
//! here than against Asana; the "projected" line scales the read phase back to real time.
//!
//! `ROSTER_BENCH_BINARY=1` also runs the `roster plan` binary against the same emulator. The
//! binary's client paces on real time (unless `ROSTER_TEST_TIME_SCALE` is set), so that run
//! takes the real ~40 s.
//!
//! The CPU time is printed whole and by phase (getrusage of this process: every thread, the
//! emulator's excluded).
//!
//! Then `roster plan --changed-since HEAD` runs as a binary in a git repository of the same
//! declarations, 10 of which the working tree changes, against a second emulator at
//! `--time-scale 1000` (and `ROSTER_TEST_TIME_SCALE=1000` for the binary's client), so the
//! target answers at once and the wall time printed is roster's own work; with its CPU time
//! and requests, three runs.
//!
//! Run: `cargo bench --bench plan`. Loopback only.

#![allow(clippy::disallowed_methods)] // tests set up files, run programs and read the clock

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use roster::plan::{Capabilities, Scope};
use roster::scim::client::{ClientConfig, ReadClient, ScaledClock, Secret};
use roster_core::config::raw::RawUsersFile;

const USERS: usize = 100_000;
const FILES: usize = 50;
/// Every this-many-th declared user has a new title: 100 updates.
const CHANGED_EVERY: usize = 1_000;
const TOKEN: &str = "bench-token";
/// Asana's budget per token.
const REQUESTS_PER_MINUTE: f64 = 1_500.0;

/// The emulator's seeded titles and departments (`Store::seed`).
const SEED_TITLES: [&str; 5] = ["Engineer", "Designer", "Analyst", "Manager", "Sales Rep"];
const SEED_DEPARTMENTS: [&str; 4] = ["Engineering", "Design", "Finance", "Sales"];

/// The binary's allocator, set up as `main` sets it up, so CPU and memory are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    roster::ops::keep_freed_memory();
    let scale: f64 = std::env::var("ROSTER_BENCH_TIME_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|s: &f64| *s > 0.0)
        .unwrap_or(10.0);

    let dir = tempfile::tempdir().expect("temp dir");
    let t = Instant::now();
    generate(dir.path());
    println!(
        "generated {USERS} declared users in {FILES} files in {:.2?}",
        t.elapsed()
    );
    // ROSTER_BENCH_CHANGED_ONLY=1: only the `--changed-since` run (scripts/profile.sh).
    if std::env::var_os("ROSTER_BENCH_CHANGED_ONLY").is_none() {
        yaml_floor(dir.path());
        full_plan(dir.path(), scale);
    }
    changed_since(dir.path());
}

/// What reading the users files costs before roster's own work, on one thread (CPU seconds):
/// the YAML parser's events alone (granit-parser, serde-saphyr's parser), serde-saphyr into
/// `IgnoredAny` (its deserializer, no types) and into roster's raw types with a span on every
/// value, and what loading does per file (`parse_raw::<RawUsersFile>`: these files are in the
/// plain style, read without the YAML parser, `config::plain`).
fn yaml_floor(dir: &Path) {
    let texts: Vec<String> = (0..FILES)
        .map(|f| std::fs::read_to_string(dir.join(format!("users/part-{f:02}.yaml"))).unwrap())
        .collect();
    let bytes: usize = texts.iter().map(String::len).sum();
    let timed = |parse: &dyn Fn(&str)| {
        let start = cpu_thread();
        for text in &texts {
            parse(text);
        }
        cpu_thread() - start
    };
    let events = timed(&|text| {
        for event in granit_parser::Parser::new_from_str(text) {
            event.expect("the generated YAML parses");
        }
    });
    let untyped = timed(&|text| {
        serde_saphyr::from_str::<serde::de::IgnoredAny>(text).expect("the generated YAML parses");
    });
    let typed = timed(&|text| {
        serde_saphyr::from_str::<RawUsersFile>(text).expect("the generated YAML parses");
    });
    let plain = timed(&|text| {
        roster::config::load::parse_raw::<RawUsersFile>(text).expect("the generated YAML parses");
    });
    println!(
        "YAML of the users files ({:.1} MB), one thread: parser events alone {events:.2} s CPU, \
         serde-saphyr untyped {untyped:.2} s, serde-saphyr into roster's spanned raw types \
         {typed:.2} s; roster's plain reading (what loading does) {plain:.2} s",
        bytes as f64 / 1e6
    );
}

/// The full plan, in this process: load, read every live user, plan, render.
fn full_plan(dir: &Path, scale: f64) {
    let t = Instant::now();
    let emulator = EmulatorProcess::start(scale);
    println!(
        "emulator (child process {}, --time-scale {scale}) seeded {USERS} users and listens on {} after {:.2?}",
        emulator.child.id(),
        emulator.url,
        t.elapsed()
    );

    let hwm_before = vm_hwm_kb("self");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let cpu_start = cpu_self();
    let start = Instant::now();

    let (config, report) = roster::config::load(dir);
    let config = config.unwrap_or_else(|| {
        panic!(
            "the generated config is invalid: {:?}",
            report.diagnostics.first()
        )
    });
    let loaded = start.elapsed();
    let cpu_loaded = cpu_self();
    let hwm_loaded = vm_hwm_kb("self");

    let mut client_config = ClientConfig::new(emulator.url.clone(), Secret::new(TOKEN));
    client_config.clock = Arc::new(ScaledClock::new(scale).expect("a positive time scale"));
    let client = ReadClient::new(&client_config).expect("client");
    let read_start = Instant::now();
    let live = rt
        .block_on(roster::ops::read_live(&client))
        .expect("the live organisation reads");
    let read = read_start.elapsed();
    let cpu_read = cpu_self();
    let hwm_read = vm_hwm_kb("self");

    let plan_start = Instant::now();
    let plan = roster::plan::plan(&config, &live, Capabilities::ASANA, &Scope::default());
    let planned = plan_start.elapsed();
    let cpu_planned = cpu_self();

    let render_start = Instant::now();
    roster::render::text::render(&plan, false, &mut std::io::sink()).expect("text renders");
    let markdown = roster::render::markdown::to_string(&plan);
    let rendered = render_start.elapsed();

    let wall = start.elapsed();
    let cpu_end = cpu_self();
    let cpu = cpu_end - cpu_start;
    let hwm = vm_hwm_kb("self");

    let client_stats = client.stats().snapshot();
    let emulator_stats = emulator.stats();
    let requests = client_stats.requests();
    // What the rate limit allows: requests / (1,500 a minute, S times faster).
    let floor = requests as f64 / (REQUESTS_PER_MINUTE * scale / 60.0);
    let projected_wall = wall.as_secs_f64() - read.as_secs_f64() + read.as_secs_f64() * scale;
    let projected_floor = floor * scale;

    println!();
    println!("plan: {}", roster::render::summary_line(&plan.summary));
    println!(
        "  markdown comment:  {} characters",
        markdown.chars().count()
    );
    println!(
        "  phases:            load+validate {:.3} s, read {:.3} s, plan {:.3} s, render {:.3} s",
        loaded.as_secs_f64(),
        read.as_secs_f64(),
        planned.as_secs_f64(),
        rendered.as_secs_f64()
    );
    println!("  wall time:         {:.3} s", wall.as_secs_f64());
    println!(
        "  requests:          {requests} ({} retried, {} rate-limited); the emulator saw {} ({} answered 429)",
        client_stats.retries,
        client_stats.throttled,
        emulator_stats["requests"],
        emulator_stats["rate_limited"]
    );
    println!(
        "  rate-limit floor:  {floor:.3} s = {requests} requests / (1,500 a minute x {scale})"
    );
    println!(
        "  read / floor:      {:.3} (target <= 1.1)",
        read.as_secs_f64() / floor
    );
    println!(
        "  wall / floor:      {:.3} (load, plan and render are CPU work the time scale does not shrink)",
        wall.as_secs_f64() / floor
    );
    println!(
        "  projected to Asana's real time: {projected_wall:.1} s against a floor of {projected_floor:.1} s, ratio {:.3}",
        projected_wall / projected_floor
    );
    println!(
        "  CPU time:          {cpu:.2} s (user + system, this process; target < 1.5 s): \
         load+validate {:.2} s, read {:.2} s, plan {:.2} s, render {:.2} s",
        cpu_loaded - cpu_start,
        cpu_read - cpu_loaded,
        cpu_planned - cpu_read,
        cpu_end - cpu_planned
    );
    println!(
        "  peak memory:       {:.1} MB VmHWM (target < 500 MB); before loading {:.1} MB, after \
         loading {:.1} MB, after reading {:.1} MB",
        hwm as f64 / 1024.0,
        hwm_before as f64 / 1024.0,
        hwm_loaded as f64 / 1024.0,
        hwm_read as f64 / 1024.0,
    );
    println!(
        "  emulator process:  {:.2} s CPU, {:.1} MB VmHWM (not included above)",
        cpu_seconds(&emulator.child.id().to_string()),
        vm_hwm_kb(&emulator.child.id().to_string()) as f64 / 1024.0
    );

    let expected_updates = (USERS / CHANGED_EVERY) as u64;
    assert_eq!(
        (
            plan.summary.create,
            plan.summary.update,
            plan.summary.deprovision,
            plan.summary.no_op,
            plan.summary.unmanaged
        ),
        (0, expected_updates, 0, USERS as u64 - expected_updates, 0),
        "unexpected plan"
    );
    drop((config, live, plan));

    if std::env::var_os("ROSTER_BENCH_BINARY").is_some() {
        run_binary(dir, &emulator);
    }
}

/// `roster plan --changed-since HEAD` in a git repository of the same 100,000 declared users,
/// 10 of whom the working tree changes (in 10 of the 50 files), against an emulator of 100,000
/// users at `--time-scale 1000` with the binary's clock scaled alike
/// (`ROSTER_TEST_TIME_SCALE`), so the target's answers are all but instant and what is left is
/// roster's own work: git, loading the config, planning. Run three times; the binary runs as a
/// child, so its CPU (and git's, which it waits for) is this process's children's.
fn changed_since(dir: &Path) {
    const CHANGED: usize = 10;
    const SCALE: f64 = 1000.0;
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args([
                "-c",
                "user.name=bench",
                "-c",
                "user.email=bench@example.com",
            ])
            .args(args)
            .output()
            .expect("git runs");
        assert!(out.status.success(), "git {args:?}: {out:?}");
    };
    git(&["init", "-q"]);
    git(&["add", "-A"]);
    git(&["commit", "-qm", "declare 100,000 users"]);
    // The pull request: one user in each of 10 files gets a new title.
    let per_file = USERS / FILES;
    let step = FILES / CHANGED;
    for c in 0..CHANGED {
        let f = c * step;
        let path = dir.join(format!("users/part-{f:02}.yaml"));
        let text = std::fs::read_to_string(&path).unwrap();
        let n = f * per_file + 17 + 1;
        let line = format!("    displayName: User {n:06}\n    jobTitle: ");
        let at = text.find(&line).expect("the user's lines") + line.len();
        let mut text = text;
        text.insert_str(at, "Staff ");
        std::fs::write(&path, text).unwrap();
    }

    let t = Instant::now();
    let emulator = EmulatorProcess::start(SCALE);
    println!();
    println!(
        "`roster plan --changed-since HEAD`: {CHANGED} users changed in {CHANGED} of {FILES} \
         files of {USERS}; emulator (--time-scale {SCALE}) up after {:.2?}",
        t.elapsed()
    );
    for run in 1..=3 {
        emulator.reset_stats();
        let cpu_before = cpu_children();
        let start = Instant::now();
        let child = Command::new(env!("CARGO_BIN_EXE_roster"))
            .args(["plan", "-C"])
            .arg(dir)
            .args(["--changed-since", "HEAD", "--asana-url", &emulator.url])
            .env("ASANA_TOKEN", TOKEN)
            .env("NO_COLOR", "1")
            .env("ROSTER_TEST_TIME_SCALE", SCALE.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("roster runs");
        let pid = child.id();
        let out = child.wait_with_output().expect("roster runs");
        let wall = start.elapsed();
        let cpu = cpu_children() - cpu_before;
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        let summary = stdout
            .lines()
            .find(|line| line.starts_with("Plan:"))
            .unwrap_or("");
        assert!(
            summary.contains(&format!("{CHANGED} to update")),
            "unexpected plan: {stdout}"
        );
        let stats = emulator.stats();
        println!(
            "  run {run} (roster plan pid {pid}): wall {:.3} s (target < 1 s), CPU {cpu:.2} s \
             (user + system, roster and the git it runs), {} requests; {summary}",
            wall.as_secs_f64(),
            stats["requests"]
        );
    }
}

/// `roster plan` as a user runs it, under `/usr/bin/time` for its CPU time and peak memory.
fn run_binary(dir: &Path, emulator: &EmulatorProcess) {
    emulator.reset_stats();
    let start = Instant::now();
    let out = Command::new("/usr/bin/time")
        .args(["-f", "%U s user, %S s system, %M kB peak RSS"])
        .arg(env!("CARGO_BIN_EXE_roster"))
        .args(["plan", "-C"])
        .arg(dir)
        .args(["--asana-url", &emulator.url])
        .env("ASANA_TOKEN", TOKEN)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("/usr/bin/time and roster run");
    let wall = start.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let requests = emulator.stats()["requests"].as_u64().unwrap_or(0);
    let floor = requests as f64 / (REQUESTS_PER_MINUTE / 60.0);
    println!();
    println!("`roster plan` binary (its client paces on real time):");
    println!("  {}", stdout.lines().last().unwrap_or(""));
    println!(
        "  wall {:.1} s for {requests} requests; floor {floor:.1} s; ratio {:.3}",
        wall.as_secs_f64(),
        wall.as_secs_f64() / floor
    );
    println!("  {}", stderr.lines().last().unwrap_or("").trim());
}

/// `roster emulator` as a child process, killed when dropped.
struct EmulatorProcess {
    child: Child,
    url: String,
}

impl EmulatorProcess {
    fn start(scale: f64) -> EmulatorProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_roster"))
            .args(["emulator", "--port", "0", "--token", TOKEN])
            .args(["--seed-users", &USERS.to_string()])
            .args(["--time-scale", &scale.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("roster emulator starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped stdout"))
            .read_line(&mut line)
            .expect("the emulator prints its URL");
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
            .to_string();
        EmulatorProcess { child, url }
    }

    /// `GET /_emulator/stats`.
    fn stats(&self) -> serde_json::Value {
        let body = self.call("GET", "/_emulator/stats");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("emulator stats: {e}: {body}"))
    }

    fn reset_stats(&self) {
        self.call("POST", "/_emulator/reset-stats");
    }

    /// One plain HTTP/1.1 request to the emulator's control endpoints; the answer's body.
    fn call(&self, method: &str, path: &str) -> String {
        use std::io::Read;
        let authority = self
            .url
            .trim_start_matches("http://")
            .split('/')
            .next()
            .expect("host:port");
        let mut stream = std::net::TcpStream::connect(authority).expect("connect to the emulator");
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
        .expect("send");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).expect("read");
        let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
        assert!(head.starts_with("HTTP/1.1 2"), "{method} {path}: {head}");
        body.to_string()
    }
}

impl Drop for EmulatorProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The seeded organisation, declared: user n as the emulator seeds it, except that every
/// `CHANGED_EVERY`-th user has a new title.
fn generate(dir: &Path) {
    std::fs::write(dir.join("roster.yaml"), "version: 1\n").unwrap();
    std::fs::create_dir_all(dir.join("users")).unwrap();
    let per_file = USERS / FILES;
    for f in 0..FILES {
        let file = std::fs::File::create(dir.join(format!("users/part-{f:02}.yaml"))).unwrap();
        let mut w = std::io::BufWriter::new(file);
        writeln!(w, "users:").unwrap();
        for i in f * per_file..(f + 1) * per_file {
            let n = i + 1;
            let title = SEED_TITLES[i % SEED_TITLES.len()];
            let prefix = if n % CHANGED_EVERY == 0 {
                "Principal "
            } else {
                ""
            };
            writeln!(w, "  - userPrincipalName: user{n:06}@seed.example").unwrap();
            writeln!(w, "    mail: user{n:06}@seed.example").unwrap();
            writeln!(w, "    displayName: User {n:06}").unwrap();
            writeln!(w, "    jobTitle: {prefix}{title}").unwrap();
            writeln!(
                w,
                "    department: {}",
                SEED_DEPARTMENTS[(i / 10) % SEED_DEPARTMENTS.len()]
            )
            .unwrap();
            writeln!(w, "    employeeId: E{n:06}").unwrap();
        }
    }
}

/// User + system CPU seconds of this process, every thread, from getrusage.
fn cpu_self() -> f64 {
    rusage(libc::RUSAGE_SELF)
}

/// User + system CPU seconds of the calling thread.
fn cpu_thread() -> f64 {
    rusage(libc::RUSAGE_THREAD)
}

/// User + system CPU seconds of this process's children that have been waited for.
fn cpu_children() -> f64 {
    rusage(libc::RUSAGE_CHILDREN)
}

fn rusage(who: libc::c_int) -> f64 {
    // SAFETY: getrusage writes one rusage into the zeroed struct it is given.
    let mut r: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: as above; `r` is valid for writes.
    let rc = unsafe { libc::getrusage(who, &mut r) };
    assert_eq!(rc, 0, "getrusage");
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(r.ru_utime) + secs(r.ru_stime)
}

/// User + system CPU seconds of a process (a pid), from /proc/PID/stat.
fn cpu_seconds(pid: &str) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return f64::NAN;
    };
    // Fields after the command name (which may hold spaces): state is field 3, utime 14,
    // stime 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i - 3).and_then(|v| v.parse::<f64>().ok());
    match (ticks(14), ticks(15)) {
        (Some(u), Some(s)) => (u + s) / clock_ticks_per_second(),
        _ => f64::NAN,
    }
}

fn clock_ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// Peak resident set size (VmHWM) of a process (`self` or a pid), in kB.
fn vm_hwm_kb(pid: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}
