//! Benchmark: a first sync of 100,000 Entra users into an empty Asana organisation, end to
//! end, as a user runs it (issue 16): `roster import entra` → `roster plan` → `roster apply`
//! → `roster plan`, each the `roster` binary itself, against `roster emulator` serving an Asana
//! emulator (empty, Asana's limits: 1,500 requests a minute, 15 writes and 50 reads in flight,
//! 200 ms latency plus up to 100 ms jitter) and a Graph emulator holding a tenant of 100,000
//! users: every user in one of 500 groups (teams), the 500 groups assigned to the Asana app,
//! and each user but the first reporting to a manager (ten reports each, six levels deep).
//!
//! Time is scaled so the run takes minutes: the emulator runs `--time-scale S` (default 20;
//! `ROSTER_BENCH_TIME_SCALE` overrides it) and each roster process paces on a clock S times
//! faster (`ROSTER_TEST_TIME_SCALE`), so both sides keep their real limits in emulated time.
//! The floor of a phase is what the budgets allow for the requests it sent: Asana's 1,500 a
//! minute and roster's own Graph budget of 1,200 a minute (`GraphConfig::REQUESTS_PER_MINUTE`;
//! Graph itself throttles by resource units, well above that), S times faster.
//!
//! Printed per phase and in total: wall time, requests, the floor, the ratio to it, CPU time
//! (user + system of the roster process, from `wait4`) and its peak memory (`ru_maxrss`). Then
//! the total projected to real time, two ways: the floor in real time times the measured ratio
//! (as if every second of the run were paced, CPU included: an upper bound, since CPU work does
//! not slow down with the clock) and the floor plus the real seconds the run spent above it;
//! beside Entra's published 1,170–2,340 minutes for 100,000 objects (0.7–1.4 s an object, one
//! provisioning cycle at a time) as a speed-up.
//!
//! Checked (the benchmark panics otherwise): every phase succeeds, the final plan is empty,
//! and the Asana emulator answered no 429.
//!
//! Run: `cargo bench --bench initial_sync` (loopback only; about five minutes on two cores).

#![allow(clippy::disallowed_methods)] // benches set up files, run programs and read the clock

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use roster::entra::emulator::tenant::{self, Tenant, TenantAssignment, TenantGroup, TenantUser};
use serde_json::{Value, json};

const USERS: usize = 100_000;
const TEAMS: usize = 500;
/// Each manager has this many direct reports.
const REPORTS: usize = 10;
const TOKEN: &str = "bench-token";
const ASANA_PER_MINUTE: f64 = 1_500.0;
const GRAPH_PER_MINUTE: f64 = 1_200.0;
/// Entra's published time for an initial cycle of 100,000 objects, in minutes.
const ENTRA_MINUTES: (f64, f64) = (1_170.0, 2_340.0);

/// The binary's allocator, so CPU and memory are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let scale: f64 = std::env::var("ROSTER_BENCH_TIME_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|s: &f64| *s > 0.0)
        .unwrap_or(20.0);
    let dir = tempfile::tempdir().expect("temp dir");
    let t = Instant::now();
    let tenant_file = dir.path().join("tenant.json");
    std::fs::write(
        &tenant_file,
        serde_json::to_vec(&tenant_of(USERS, TEAMS)).unwrap(),
    )
    .unwrap();
    let config_dir = dir.path().join("config");
    std::fs::create_dir_all(&config_dir).unwrap();
    let emulator = EmulatorProcess::start(scale, &tenant_file);
    std::fs::write(config_dir.join("roster.yaml"), settings(&emulator)).unwrap();
    println!(
        "tenant of {USERS} users in {TEAMS} assigned groups written and served by `roster emulator` \
         (child process {}, --time-scale {scale}) after {:.1?}",
        emulator.child.id(),
        t.elapsed()
    );

    let phases = [
        ("import entra", vec!["import", "entra"]),
        ("plan", vec!["plan"]),
        ("apply", vec!["apply", "--auto-approve"]),
        ("plan again", vec!["plan", "--detailed-exitcode"]),
    ];
    let mut results = Vec::new();
    for (name, args) in phases {
        let r = run_phase(name, &args, &config_dir, &emulator, scale);
        println!(
            "{name}: {:.1} s, exit {}; {}",
            r.wall.as_secs_f64(),
            r.code,
            r.summary
        );
        assert_eq!(r.code, 0, "{name} failed:\n{}", r.stderr);
        results.push(r);
    }
    let last = results.last().unwrap();
    assert!(
        last.stdout_tail.contains("No changes."),
        "the final plan is not empty:\n{}",
        last.stdout_tail
    );
    let scim = emulator.scim_stats();
    let graph = emulator.graph_stats();
    let asana_429 = scim["rate_limited"].as_u64().unwrap_or(0);

    println!();
    println!(
        "{:<13} {:>9} {:>9} {:>9} {:>9} {:>7} {:>8} {:>9}",
        "phase", "wall s", "requests", "(Graph)", "floor s", "ratio", "CPU s", "peak MB"
    );
    let mut total = Phase::default();
    for r in &results {
        println!("{}", r.row());
        total.add(r);
    }
    println!("{}", total.row());
    println!();
    let floor_real_minutes = total.floor_emulated().as_secs_f64() / 60.0;
    let ratio = total.ratio();
    let upper = floor_real_minutes * ratio;
    let above = total.wall.as_secs_f64() - total.floor().as_secs_f64();
    let lower = floor_real_minutes + above.max(0.0) / 60.0;
    println!(
        "  Asana: {} requests, {} answered 429, at most {} writes in flight; Graph: {} \
         requests ({} delta pages, {} member pages), {} throttled",
        scim["requests"],
        asana_429,
        scim["max_concurrent_writes"],
        graph["requests"],
        graph["delta_pages"],
        graph["member_reads"],
        graph["throttled"]
    );
    println!(
        "  projected to real time: {upper:.1} min (the floor of {floor_real_minutes:.1} min x \
         the ratio {ratio:.3}); {lower:.1} min if the CPU time above the floor is not scaled"
    );
    println!(
        "  Entra: {:.0}-{:.0} min for 100,000 objects: roster is {:.0}-{:.0} times faster \
         ({:.0}-{:.0} on the lower projection)",
        ENTRA_MINUTES.0,
        ENTRA_MINUTES.1,
        ENTRA_MINUTES.0 / upper,
        ENTRA_MINUTES.1 / upper,
        ENTRA_MINUTES.0 / lower,
        ENTRA_MINUTES.1 / lower,
    );
    println!(
        "  emulator process: {:.1} s CPU, {:.0} MB peak (not included above)",
        cpu_seconds(emulator.child.id()),
        vm_hwm_kb(emulator.child.id()) as f64 / 1024.0
    );
    assert_eq!(asana_429, 0, "the Asana emulator answered 429s");
}

/// One `roster` run and what it cost.
#[derive(Default)]
struct Phase {
    name: String,
    code: i32,
    wall: Duration,
    asana_requests: u64,
    graph_requests: u64,
    scale: f64,
    cpu: Duration,
    peak_kb: u64,
    summary: String,
    stderr: String,
    stdout_tail: String,
}

impl Phase {
    /// The budgets' floor in emulated time.
    fn floor_emulated(&self) -> Duration {
        Duration::from_secs_f64(
            self.asana_requests as f64 * 60.0 / ASANA_PER_MINUTE
                + self.graph_requests as f64 * 60.0 / GRAPH_PER_MINUTE,
        )
    }

    /// The floor on this run's clock.
    fn floor(&self) -> Duration {
        self.floor_emulated().div_f64(self.scale.max(1e-9))
    }

    fn ratio(&self) -> f64 {
        self.wall.as_secs_f64() / self.floor().as_secs_f64()
    }

    fn add(&mut self, p: &Phase) {
        self.name = "total".into();
        self.scale = p.scale;
        self.wall += p.wall;
        self.asana_requests += p.asana_requests;
        self.graph_requests += p.graph_requests;
        self.cpu += p.cpu;
        self.peak_kb = self.peak_kb.max(p.peak_kb);
    }

    fn row(&self) -> String {
        format!(
            "{:<13} {:>9.1} {:>9} {:>9} {:>9.1} {:>7.3} {:>8.2} {:>9.0}",
            self.name,
            self.wall.as_secs_f64(),
            self.asana_requests + self.graph_requests,
            self.graph_requests,
            self.floor().as_secs_f64(),
            self.ratio(),
            self.cpu.as_secs_f64(),
            self.peak_kb as f64 / 1024.0
        )
    }
}

fn run_phase(
    name: &str,
    args: &[&str],
    dir: &Path,
    emulator: &EmulatorProcess,
    scale: f64,
) -> Phase {
    let before = (emulator.scim_stats(), emulator.graph_stats());
    let out_path = dir.with_file_name(format!("{}.out", name.replace(' ', "-")));
    let err_path = dir.with_file_name(format!("{}.err", name.replace(' ', "-")));
    let start = Instant::now();
    #[expect(
        clippy::zombie_processes,
        reason = "waited for with wait4, for its rusage"
    )]
    let child = Command::new(env!("CARGO_BIN_EXE_roster"))
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("ASANA_TOKEN", TOKEN)
        .env("ENTRA_CLIENT_SECRET", tenant::SEED_CLIENT_SECRET)
        .env("ROSTER_TEST_TIME_SCALE", scale.to_string())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .expect("roster runs");
    let (code, usage) = wait4(&child);
    let wall = start.elapsed();
    let after = (emulator.scim_stats(), emulator.graph_stats());
    let delta = |a: &Value, b: &Value| {
        b["requests"].as_u64().unwrap_or(0) - a["requests"].as_u64().unwrap_or(0)
    };
    let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
    let stdout = std::fs::read_to_string(&out_path).unwrap_or_default();
    let stdout_tail: String = stdout
        .lines()
        .rev()
        // "No changes.", a blank line, the summary and the seats line.
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .fold(String::new(), |mut s, l| {
            let _ = writeln!(s, "{l}");
            s
        });
    // The line that says what happened: the import's, the plan's, the apply's.
    let summary = stderr
        .lines()
        .chain(stdout.lines().rev().take(3))
        .find(|l| {
            l.starts_with("Wrote ")
                || l.starts_with("Plan: ")
                || l.starts_with("No changes")
                || l.starts_with("Apply ")
                || l.starts_with("Rate budget")
        })
        .unwrap_or("")
        .to_string();
    let budget = stderr
        .lines()
        .find(|l| l.starts_with("Rate budget"))
        .map(|l| format!("; {l}"))
        .unwrap_or_default();
    Phase {
        name: name.into(),
        code,
        wall,
        asana_requests: delta(&before.0, &after.0),
        graph_requests: delta(&before.1, &after.1),
        scale,
        cpu: usage.0,
        peak_kb: usage.1,
        summary: format!("{summary}{budget}"),
        stderr,
        stdout_tail,
    }
}

/// Waits for `child`; its exit code, and its CPU time (user + system) and peak RSS in kB.
fn wait4(child: &Child) -> (i32, (Duration, u64)) {
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid value for wait4 to fill.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child, once; std's `Child` is not waited on afterwards.
    let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as libc::pid_t, "wait4 failed");
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    (
        code,
        (
            tv(usage.ru_utime) + tv(usage.ru_stime),
            usage.ru_maxrss as u64,
        ),
    )
}

/// The tenant: user n reports to user (n - 1) / REPORTS and is a member of group n % teams;
/// every group is assigned to the Asana app.
fn tenant_of(users: usize, teams: usize) -> Tenant {
    let user_id = |n: usize| format!("{n:08x}-0000-4000-8000-{n:012x}");
    let group_id = |g: usize| format!("{g:08x}-0000-4000-9000-{g:012x}");
    let titles = ["Engineer", "Designer", "Analyst", "Manager", "Sales Rep"];
    let departments = ["Engineering", "Design", "Finance", "Sales"];
    let mut groups: Vec<TenantGroup> = (0..teams)
        .map(|g| TenantGroup {
            id: group_id(g),
            display_name: format!("Team {g:03}"),
            members: Vec::new(),
        })
        .collect();
    let users = (0..users)
        .map(|n| {
            groups[n % teams].members.push(user_id(n));
            let properties = json!({
                "userPrincipalName": format!("user{n:06}@sync.example"),
                "accountEnabled": true,
                "mail": format!("user{n:06}@sync.example"),
                "displayName": format!("User {n:06}"),
                "givenName": "User",
                "surname": format!("{n:06}"),
                "jobTitle": titles[n % titles.len()],
                "department": departments[(n / 10) % departments.len()],
                "employeeId": format!("E{n:06}"),
                "employeeType": "Employee",
            });
            TenantUser {
                id: user_id(n),
                properties: properties.as_object().cloned().unwrap_or_default(),
                manager: (n > 0).then(|| user_id((n - 1) / REPORTS)),
                deleted: false,
            }
        })
        .collect();
    Tenant {
        tenant_id: tenant::SEED_TENANT_ID.into(),
        domain: "sync.example".into(),
        client_id: tenant::SEED_CLIENT_ID.into(),
        client_secret: tenant::SEED_CLIENT_SECRET.into(),
        service_principal_id: tenant::SEED_SERVICE_PRINCIPAL_ID.into(),
        assignments: groups
            .iter()
            .map(|g| TenantAssignment {
                principal_id: g.id.clone(),
            })
            .collect(),
        users,
        groups,
    }
}

fn settings(emulator: &EmulatorProcess) -> String {
    format!(
        "version: 1\nasana:\n  url: {}\n  token_env: ASANA_TOKEN\nentra:\n  tenant_id: {}\n  \
         client_id: {}\n  client_secret_env: ENTRA_CLIENT_SECRET\n  service_principal_id: {}\n  \
         scope: assigned\n  group_members: direct\n  mode: seed\n  login_url: {}\n  \
         graph_url: {}\npolicy:\n  unmanaged: report\n",
        emulator.url,
        tenant::SEED_TENANT_ID,
        tenant::SEED_CLIENT_ID,
        tenant::SEED_SERVICE_PRINCIPAL_ID,
        emulator.login_url,
        emulator.graph_url
    )
}

/// `roster emulator` with both emulators, killed when dropped.
struct EmulatorProcess {
    child: Child,
    url: String,
    login_url: String,
    graph_url: String,
}

impl EmulatorProcess {
    fn start(scale: f64, tenant: &PathBuf) -> EmulatorProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_roster"))
            .args([
                "emulator",
                "--port",
                "0",
                "--graph-port",
                "0",
                "--token",
                TOKEN,
            ])
            .arg("--graph-tenant")
            .arg(tenant)
            .args(["--time-scale", &scale.to_string()])
            .args(["--rate-limit", "1500"])
            .args(["--write-concurrency", "15", "--read-concurrency", "50"])
            .args(["--latency-ms", "200", "--jitter-ms", "100"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("roster emulator starts");
        let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
        let first = lines.next().expect("a first line").expect("text");
        let url = first
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line: {first:?}"))
            .to_string();
        let second = lines.next().expect("a second line").expect("text");
        let words: Vec<&str> = second.split_whitespace().collect();
        let [_, "login_url", login_url, "graph_url", graph_url] = words.as_slice() else {
            panic!("unexpected second line: {second:?}")
        };
        let (login_url, graph_url) = (login_url.to_string(), graph_url.to_string());
        // The emulator writes nothing more to stdout; keep the pipe drained anyway.
        std::thread::spawn(move || for _ in lines {});
        EmulatorProcess {
            child,
            url,
            login_url,
            graph_url,
        }
    }

    fn scim_stats(&self) -> Value {
        let authority = authority(&self.url);
        get_json(&authority, "/_emulator/stats")
    }

    fn graph_stats(&self) -> Value {
        let authority = authority(&self.graph_url);
        get_json(&authority, "/_graph/stats")
    }
}

impl Drop for EmulatorProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn authority(url: &str) -> String {
    url.trim_start_matches("http://")
        .split('/')
        .next()
        .expect("host:port")
        .to_string()
}

/// One plain HTTP/1.1 GET to an emulator's control endpoint; the answer's body as JSON.
fn get_json(authority: &str, path: &str) -> Value {
    let mut stream = std::net::TcpStream::connect(authority).expect("connect to the emulator");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read");
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    assert!(head.starts_with("HTTP/1.1 2"), "GET {path}: {head}");
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{path}: {e}: {body}"))
}

/// User + system CPU seconds of a process, from /proc/PID/stat (100 ticks a second).
fn cpu_seconds(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return f64::NAN;
    };
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i - 3).and_then(|v| v.parse::<f64>().ok());
    match (ticks(14), ticks(15)) {
        (Some(u), Some(s)) => (u + s) / 100.0,
        _ => f64::NAN,
    }
}

/// Peak resident set size (VmHWM) of a process, in kB.
fn vm_hwm_kb(pid: u32) -> u64 {
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
