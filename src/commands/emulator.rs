//! `roster emulator`: serve the Asana SCIM emulator until Ctrl-C or SIGTERM.
//!
//! Maps flags onto `EmulatorConfig`, prints the listening line (scripts read the URL from it),
//! and on a signal shuts down, which writes the state file. No SCIM logic lives here.

use std::io::Write;

use anyhow::Context;

use super::Outcome;
use crate::cli::{EmulatorArgs, GlobalArgs};
use crate::emulator::{Behaviour, EmulatorBuilder, EmulatorConfig, FaultConfig, LimitsConfig};

pub fn config(global: &GlobalArgs, args: &EmulatorArgs) -> EmulatorConfig {
    EmulatorConfig {
        port: args.port,
        tokens: args.tokens.clone(),
        state_file: args.state.clone(),
        seed_users: args.seed_users,
        seed_guests: args.seed_guests,
        behaviour: Behaviour {
            paging: args.paging,
            max_page_size: args.max_page_size,
            deprovisioned: args.deprovisioned,
            reactivation: args.reactivation,
            string_booleans: args.string_booleans,
        },
        limits: LimitsConfig {
            requests_per_minute: args.rate_limit,
            concurrent_reads: args.read_concurrency,
            concurrent_writes: args.write_concurrency,
        },
        faults: FaultConfig {
            seed: args.fault_seed,
            latency_ms: args.latency_ms,
            jitter_ms: args.jitter_ms,
            p_500: args.p_500,
            p_503: args.p_503,
            p_reset: args.p_reset,
            p_hang: args.p_hang,
            hang_ms: args.hang_ms,
        },
        time_scale: args.time_scale,
        log_requests: global.verbose > 0,
    }
}

pub fn run(global: &GlobalArgs, args: &EmulatorArgs) -> anyhow::Result<Outcome> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(EmulatorBuilder::from(config(global, args))))?;
    Ok(Outcome::Success)
}

async fn serve(builder: EmulatorBuilder) -> anyhow::Result<()> {
    let emulator = builder.start().await?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "listening on {}", emulator.url())?;
    out.flush()?;
    drop(out);
    wait_for_signal().await?;
    emulator
        .shutdown()
        .await
        .context("the emulator did not shut down cleanly")
}

#[cfg(unix)]
async fn wait_for_signal() -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r.context("cannot listen for Ctrl-C")?,
        _ = term.recv() => {}
    }
    Ok(())
}

#[cfg(not(unix))]
async fn wait_for_signal() -> anyhow::Result<()> {
    tokio::signal::ctrl_c()
        .await
        .context("cannot listen for Ctrl-C")
}
