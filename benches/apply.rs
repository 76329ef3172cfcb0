//! Apply benchmark: 10,000 creates against the emulator with Asana's limits (1,500 requests a
//! minute, 15 concurrent writes), on a scaled clock. Prints the achieved write rate as a
//! fraction of what the limits allow, the 429s the emulator sent, and the failures.
//!
//! Run: `cargo bench --bench apply` (loopback only). The emulator runs as a child process
//! (`target/release/roster emulator …`), so the figures are roster's own.
//!
//! The arithmetic: at `--time-scale S` an emulated minute lasts 60/S real seconds, so the
//! emulator admits 1,500 requests in any 60/S real seconds. 10,000 writes need at least
//! 10,000 / 1,500 = 6.67 emulated minutes, i.e. 400/S real seconds: S = 20 makes that 20 s.
//!
//! The client paces itself on its own clock, which it takes as a `Clock`; here that clock
//! runs S times faster too (`ScaledClock`), so the client keeps its real settings (1,500 a
//! minute: a burst of 150, then one request every 61 s / 1,500, and never more than 1,500 in
//! the last 61 s) in emulated time, exactly as against Asana, and a 429's `Retry-After` (in
//! emulated seconds) is waited out for as long as the emulator means. The second the client
//! keeps beyond the emulator's minute is 50 real ms here: the room for the difference between
//! when the client sends and when the emulator counts, on a loaded machine. Scaling the
//! client's `requests_per_minute` by S instead (30,000 a real minute) is not the same limit:
//! its burst, a tenth of a minute's budget, becomes 3,000 requests, twice what the emulator
//! admits in a whole (3-second) window, and the run drowns in 429s (measured with the earlier
//! pacing: 4,303 of them and 167 failures; `ROSTER_BENCH_SCALE_RATE=1` runs it that way).
//! Latency is 200 ms emulated (10 ms real) plus up to 100 ms jitter: 15 writes in flight could
//! do 50+ a second emulated, twice the 25 the limit allows, so the budget, not concurrency,
//! binds.

#![allow(clippy::disallowed_methods)] // tests set up files, run programs and read the clock

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use roster::apply::{self, Status};
use roster::emulator::StatsSnapshot;
use roster::plan::{self, Capabilities, Scope};
use roster::scim::client::{ClientConfig, ScaledClock, Secret, WriteClient};

const USERS: usize = 10_000;
const SCALE: u32 = 20;
const PER_MINUTE: u32 = 1_500;
const TOKEN: &str = "bench-token";

struct Emulator {
    child: Child,
    url: String,
}

impl Emulator {
    fn start() -> Emulator {
        let mut child = Command::new(env!("CARGO_BIN_EXE_roster"))
            .args(["emulator", "--port", "0", "--token", TOKEN])
            .args(["--time-scale", &SCALE.to_string()])
            .args(["--rate-limit", &PER_MINUTE.to_string()])
            .args(["--write-concurrency", "15", "--read-concurrency", "50"])
            .args(["--latency-ms", "200", "--jitter-ms", "100"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("target/release/roster emulator starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string();
        Emulator { child, url }
    }

    async fn stats(&self, http: &reqwest::Client) -> StatsSnapshot {
        let base = self.url.trim_end_matches("/api/1.0/scim");
        http.get(format!("{base}/_emulator/stats"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn config() -> roster::config::Config {
    let mut users = String::from("users:\n");
    for i in 0..USERS {
        users.push_str(&format!(
            "  - userPrincipalName: bench{i:05}@apply.example\n    displayName: Bench User {i}\n    jobTitle: Engineer\n    department: Engineering\n"
        ));
    }
    let (config, report) =
        roster::config::from_texts("version: 1\n", &[("users/u.yaml", &users)], &[]);
    config.unwrap_or_else(|| panic!("{:#?}", report.diagnostics))
}

#[tokio::main]
async fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let emulator = Emulator::start();
    let config = config();

    let mut c = ClientConfig::new(emulator.url.clone(), Secret::new(TOKEN));
    if std::env::var_os("ROSTER_BENCH_SCALE_RATE").is_some() {
        c.requests_per_minute = PER_MINUTE * SCALE;
        println!(
            "client: {} requests a real minute, real clock",
            c.requests_per_minute
        );
    } else {
        c.requests_per_minute = PER_MINUTE;
        c.clock = Arc::new(ScaledClock::new(f64::from(SCALE)).expect("a positive scale"));
        println!("client: {PER_MINUTE} requests a minute on a clock {SCALE} times faster");
    }
    let client = WriteClient::new(&c).unwrap();
    let t = Instant::now();
    let live = roster::ops::read_live(&client.reader()).await.unwrap();
    let plan = plan::plan(&config, &live, Capabilities::ASANA, &Scope::default());
    assert_eq!(plan.summary.create, USERS as u64);
    println!(
        "read and planned in {:.2?}: {} creates",
        t.elapsed(),
        plan.summary.create
    );

    let before = emulator.stats(&http).await;
    let options = apply::Options {
        target: apply::Target::ASANA,
        deprovision_with: config.settings.policy.deprovision_with,
        etags: Default::default(),
        concurrency: 15,
        on_step: Arc::new(|_: &apply::StepResult| {}),
        audit: None,
        now: Arc::new(roster::ops::now_rfc3339),
    };
    let t = Instant::now();
    let report = apply::execute(&plan, &client, options).await;
    let took = t.elapsed();
    let after = emulator.stats(&http).await;

    let writes = after.writes - before.writes;
    let requests = after.requests - before.requests;
    let emulated_minutes = took.as_secs_f64() * f64::from(SCALE) / 60.0;
    let allowed = emulated_minutes * f64::from(PER_MINUTE);
    let failures = report.count(Status::Failure);
    println!(
        "applied {} creates in {took:.2?} real = {:.2} emulated minutes at time scale {SCALE}",
        report.count(Status::Success),
        emulated_minutes
    );
    println!(
        "write rate: {:.0} per emulated minute = {:.3} of the {PER_MINUTE}/min limit ({requests} requests, {writes} writes)",
        writes as f64 / emulated_minutes,
        writes as f64 / allowed
    );
    println!(
        "429s: {} (emulator), {} retries (client)",
        after.rate_limited - before.rate_limited,
        client.stats().snapshot().retries
    );
    println!("failures: {failures}");
    println!("client budget: {}", client.usage());
    println!(
        "most writes in flight (emulator): {}",
        after.max_concurrent_writes
    );
}
