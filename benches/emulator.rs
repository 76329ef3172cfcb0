//! Emulator benchmark: start with 100,000 seeded users, list all of them in pages of 100, and
//! report the time and the process's peak memory (VmHWM). Then the cost of a write when the
//! same organisation is persisted to a state file.
//!
//! Run: `cargo bench --bench emulator` (loopback only; rate limits are switched off so the
//! numbers measure the emulator, not the limiter).

#![allow(clippy::disallowed_methods)] // tests set up files, run programs and read the clock

use std::time::{Duration, Instant};

use roster::emulator::{Emulator, LimitsConfig};
use serde_json::{Value, json};

const USERS: usize = 100_000;

fn vm_hwm() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l["VmHWM:".len()..].trim().to_string())
        })
        .unwrap_or_else(|| "unknown (no /proc/self/status)".into())
}

fn unlimited() -> LimitsConfig {
    LimitsConfig {
        requests_per_minute: 0,
        concurrent_reads: 0,
        concurrent_writes: 0,
    }
}

#[tokio::main]
async fn main() {
    println!("peak memory before start: {}", vm_hwm());
    let t = Instant::now();
    let emu = Emulator::builder()
        .seed_users(USERS)
        .limits(unlimited())
        .start()
        .await
        .expect("the emulator starts");
    println!("seeded {USERS} users and started in {:.2?}", t.elapsed());

    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let token = emu.token().to_string();
    let get = |url: String| {
        let http = http.clone();
        let token = token.clone();
        async move {
            http.get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };

    let t = Instant::now();
    let (mut seen, mut pages, mut start) = (0usize, 0usize, 1usize);
    let mut slowest = Duration::ZERO;
    loop {
        let p = Instant::now();
        let page = get(format!("{}/Users?startIndex={start}&count=100", emu.url())).await;
        slowest = slowest.max(p.elapsed());
        let n = page["Resources"].as_array().map_or(0, Vec::len);
        if n == 0 {
            break;
        }
        seen += n;
        pages += 1;
        start += n;
    }
    let took = t.elapsed();
    assert_eq!(seen, USERS);
    println!(
        "listed {seen} users in {pages} pages of 100 in {took:.2?} ({:.2?} per page, slowest {slowest:.2?})",
        took / pages as u32
    );
    let t = Instant::now();
    let found = get(format!(
        "{}/Users?filter=userName%20eq%20%22user054321%40seed.example%22",
        emu.url()
    ))
    .await;
    assert_eq!(found["totalResults"], 1);
    println!("userName filter lookup in {:.2?}", t.elapsed());
    println!("peak memory (VmHWM, emulator + client): {}", vm_hwm());
    emu.shutdown().await.unwrap();

    // Writes with the 100,000 users persisted: each acknowledged change waits for the file.
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let t = Instant::now();
    let emu = Emulator::builder()
        .seed_users(USERS)
        .limits(unlimited())
        .state_file(&state)
        .start()
        .await
        .unwrap();
    let size = std::fs::metadata(&state).map(|m| m.len()).unwrap_or(0);
    println!(
        "with --state: seeded, wrote {:.1} MB and started in {:.2?}",
        size as f64 / 1e6,
        t.elapsed()
    );
    let page = get(format!("{}/Users?count=15", emu.url())).await;
    let ids: Vec<String> = page["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_string())
        .collect();
    let patch = |id: String, title: String| {
        let http = http.clone();
        let url = format!("{}/Users/{id}", emu.url());
        let token = token.clone();
        async move {
            let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "path": "title", "value": title}]});
            let r = http
                .patch(url)
                .bearer_auth(token)
                .header("content-type", "application/scim+json")
                .body(body.to_string())
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
        }
    };
    let t = Instant::now();
    for i in 0..5 {
        patch(ids[0].clone(), format!("sequential {i}")).await;
    }
    println!(
        "with --state: 5 sequential PATCHes in {:.2?} ({:.2?} each)",
        t.elapsed(),
        t.elapsed() / 5
    );
    let t = Instant::now();
    let tasks: Vec<_> = ids
        .iter()
        .map(|id| tokio::spawn(patch(id.clone(), "concurrent".into())))
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    println!(
        "with --state: 15 concurrent PATCHes in {:.2?} (they share file writes)",
        t.elapsed()
    );
    println!("peak memory (VmHWM, both runs): {}", vm_hwm());
    emu.shutdown().await.unwrap();
}
