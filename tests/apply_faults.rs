//! Apply under faults: the emulator answers 10% of requests with a 5xx, resets 5% of
//! connections and rate-limits in bursts (a low limit on a scaled clock, fewer writes in flight
//! than the client sends, and a client that does not pace itself). An apply of 2,000 users (managers in a tree, one big team) is run again
//! until the plan is empty: it converges within a few runs, creates no duplicate, and every
//! error the emulator sent was either retried or reported as a failed change.

#![allow(clippy::disallowed_methods)] // tests set up files, run programs and read the clock

mod apply_support;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use roster::apply::{self, Status};
use roster::config::Config;
use roster::emulator::{Emulator, FaultConfig, LimitsConfig, RunningEmulator, StatsSnapshot};
use roster::ops;
use roster::plan::{self, Capabilities, Scope};
use roster::scim::client::{ClientConfig, ScaledClock, Secret, WriteClient};

const USERS: usize = 2_000;
const TEAM: usize = 300;
const MAX_RUNS: usize = 5;
const TOKEN: &str = "faults-token";
/// The emulator's clock runs this many times faster than real time.
const SCALE: f64 = 60.0;

/// 2,000 users; user i reports to user (i-1)/10, so managers are created in the same apply, in
/// five levels. One team holds the first 300.
fn config() -> Config {
    let mut users = String::from("users:\n");
    for i in 0..USERS {
        users.push_str(&format!(
            "  - userPrincipalName: user{i:04}@faults.example\n    displayName: User {i}\n    jobTitle: Engineer\n    department: Engineering\n"
        ));
        if i > 0 {
            users.push_str(&format!(
                "    manager: user{:04}@faults.example\n",
                (i - 1) / 10
            ));
        }
    }
    let mut groups = String::from("groups:\n  - displayName: Everyone Early\n    members:\n");
    for i in 0..TEAM {
        groups.push_str(&format!("      - user{i:04}@faults.example\n"));
    }
    let (config, report) = roster::config::from_texts(
        "version: 1\n",
        &[("users/u.yaml", &users)],
        &[("groups/g.yaml", &groups)],
    );
    config.unwrap_or_else(|| panic!("{:#?}", report.diagnostics))
}

fn client(emu: &RunningEmulator) -> WriteClient {
    let mut c = ClientConfig::new(emu.url(), Secret::new(TOKEN));
    // No pacing of its own: the client runs into the emulator's rate limit in bursts and must
    // recover through Retry-After, which is in emulated seconds: the client's clock runs as
    // fast as the emulator's.
    c.requests_per_minute = 1_000_000;
    c.clock = Arc::new(ScaledClock::new(SCALE).expect("a positive scale"));
    // Backoff of 10 to 200 real ms, in emulated time.
    c.backoff_base = Duration::from_millis(10).mul_f64(SCALE);
    c.backoff_max = Duration::from_millis(200).mul_f64(SCALE);
    // The deadline of one list, still 15 real minutes.
    c.read_deadline = ClientConfig::READ_DEADLINE.mul_f64(SCALE);
    c.jitter_seed = Some(11);
    WriteClient::new(&c).expect("client")
}

fn errors(s: &StatsSnapshot) -> u64 {
    let status = |code: &str| s.by_status.get(code).copied().unwrap_or(0);
    status("500") + status("503") + status("429") + s.resets
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_apply_of_2000_users_under_faults_converges_without_duplicates() {
    let config = config();
    let emu = Emulator::builder()
        .port(0)
        .token(TOKEN)
        // 600 requests per emulated minute, and a minute lasts one real second; and 5 writes in
        // flight where the client keeps 15, so 429s come however fast this machine is (on a
        // loaded one the rate limit alone was not always reached).
        .limits(LimitsConfig {
            requests_per_minute: 600,
            concurrent_writes: 5,
            ..LimitsConfig::default()
        })
        .time_scale(SCALE)
        .faults(FaultConfig {
            seed: 5,
            p_500: 0.05,
            p_503: 0.05,
            p_reset: 0.05,
            ..FaultConfig::default()
        })
        .start()
        .await
        .expect("emulator");
    let mut runs = Vec::new();
    let mut converged = false;
    for run in 1..=MAX_RUNS + 1 {
        emu.reset_stats();
        let client = client(&emu);
        let live = ops::read_live(&client.reader())
            .await
            .expect("the live state reads (reads are retried)");
        let plan = plan::plan(&config, &live, Capabilities::ASANA, &Scope::default());
        if !plan.has_changes() {
            converged = true;
            break;
        }
        assert!(
            run <= MAX_RUNS,
            "not converged after {MAX_RUNS} runs: {runs:?}"
        );
        let options = apply::Options {
            target: apply::Target::ASANA,
            deprovision_with: config.settings.policy.deprovision_with,
            etags: apply::etags(&plan, &live),
            concurrency: 15,
            on_step: Arc::new(|_: &apply::StepResult| {}),
            audit: None,
            now: Arc::new(ops::now_rfc3339),
        };
        let report = apply::execute(&plan, &client, options).await;

        // Every change has exactly one outcome: nothing silently dropped.
        let planned: BTreeMap<(String, &str), usize> =
            plan.changes.iter().fold(BTreeMap::new(), |mut m, c| {
                *m.entry((c.address(), c.action.as_str())).or_default() += 1;
                m
            });
        let reported: BTreeMap<(String, &str), usize> =
            report.results.iter().fold(BTreeMap::new(), |mut m, r| {
                *m.entry((r.change.address(), r.change.action.as_str()))
                    .or_default() += 1;
                m
            });
        assert_eq!(
            planned, reported,
            "run {run}: outcomes do not match changes"
        );
        for r in &report.results {
            assert_ne!(r.status(), Status::Skipped, "{:?}", r.error());
            assert_eq!(
                r.status() == Status::Failure,
                r.error().as_ref().is_some_and(|e| !e.is_empty()),
                "run {run}: {} {:?}",
                r.change.address(),
                r.error()
            );
        }
        // Every error the emulator sent was retried by the client, or ended a step that is
        // reported failed (a step stops at its first unrecoverable error), or was a create
        // whose connection dropped: apply then looks the user up and sends the create again
        // (or adopts the user), unless it is the last attempt, which is reported. Failures
        // that sent no request (a manager or member whose create failed) account for nothing.
        let emulator = emu.stats();
        let retries = client.stats().snapshot().retries;
        let failed: Vec<String> = report
            .results
            .iter()
            .filter(|r| r.status() == Status::Failure)
            .map(|r| r.error().unwrap_or_default())
            .collect();
        let gave_up = failed
            .iter()
            .filter(|e| !e.contains("has no Asana id") && !e.starts_with("members without"))
            .count() as u64;
        let dropped_creates = emulator.by_method["POST"]
            .get("reset")
            .copied()
            .unwrap_or(0);
        let dropped_and_failed = failed
            .iter()
            .filter(|e| e.starts_with("POST ") && e.contains("connection lost"))
            .count() as u64;
        assert!(dropped_and_failed <= dropped_creates);
        let recovered = dropped_creates - dropped_and_failed;
        assert_eq!(
            errors(&emulator),
            retries + gave_up + recovered,
            "run {run}: {} errors sent, {retries} retried, {gave_up} reported, {recovered} creates \
             checked and sent again; {emulator:?}",
            errors(&emulator)
        );
        runs.push((
            plan.changes.len(),
            report.count(Status::Failure),
            errors(&emulator),
            emulator.rate_limited,
        ));
    }
    assert!(converged);
    // The faults were real: the first run met hundreds of 5xx, resets and 429s.
    let (_, _, errors, rate_limited) = runs[0];
    assert!(errors > 300 && rate_limited > 0, "{runs:?}");

    // No duplicates: each userName exactly once.
    let live = ops::read_live(&client(&emu).reader()).await.expect("reads");
    let mut names: HashMap<String, usize> = HashMap::new();
    for u in &live.users {
        *names.entry(u.user_name.to_lowercase()).or_default() += 1;
    }
    assert_eq!(live.users.len(), USERS);
    assert!(names.values().all(|&n| n == 1));
    let ids: BTreeMap<&str, &str> = live
        .users
        .iter()
        .map(|u| (u.id.as_str(), u.user_name.as_str()))
        .collect();
    let team = live
        .groups
        .iter()
        .find(|g| g.display_name == "Everyone Early")
        .expect("the team exists");
    let members: BTreeSet<&str> = team.member_ids.iter().map(|id| ids[id.as_str()]).collect();
    assert_eq!(members.len(), TEAM);
    emu.shutdown().await.expect("shutdown");
}
