//! `roster emulator`: serve the Asana SCIM emulator (and the Graph emulator) until Ctrl-C or
//! SIGTERM.
//!
//! Maps flags onto `EmulatorConfig` and `GraphEmulatorConfig`, prints the listening lines
//! (scripts read the URLs from them),
//! and on a signal shuts down, which writes the state file. No SCIM logic lives here.

use std::io::Write;

use anyhow::Context;

use super::Outcome;
use crate::cli::{EmulatorArgs, GlobalArgs};
use crate::emulator::{Behaviour, EmulatorBuilder, EmulatorConfig, FaultConfig, LimitsConfig};
use crate::entra::emulator::{GraphEmulator, GraphEmulatorConfig, Tenant};

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
            remove_undocumented: args.remove_undocumented,
            max_value_length: args.max_value_length,
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

/// The Graph emulator's settings and tenant, unless `--no-graph`.
pub fn graph(
    global: &GlobalArgs,
    args: &EmulatorArgs,
) -> anyhow::Result<Option<(GraphEmulatorConfig, Tenant)>> {
    let g = &args.graph;
    if g.no_graph {
        return Ok(None);
    }
    let tenant = match &g.graph_tenant {
        Some(path) => {
            let text = crate::fsio::read_to_string(path, crate::emulator::MAX_STATE_BYTES)
                .with_context(|| format!("cannot read the Graph tenant `{}`", path.display()))?;
            serde_json::from_str(&text)
                .with_context(|| format!("`{}` is not a Graph tenant file", path.display()))?
        }
        None => crate::entra::emulator::tenant::seed(),
    };
    let config = GraphEmulatorConfig {
        port: g.graph_port,
        page_size: g.graph_page_size,
        throttle_every: g.graph_throttle_every,
        time_scale: args.time_scale,
        log_requests: global.verbose > 0,
        ..GraphEmulatorConfig::default()
    };
    Ok(Some((config, tenant)))
}

pub fn run(global: &GlobalArgs, args: &EmulatorArgs) -> anyhow::Result<Outcome> {
    let runtime = crate::ops::runtime()?;
    let graph = graph(global, args)?;
    runtime.block_on(serve(EmulatorBuilder::from(config(global, args)), graph))?;
    Ok(Outcome::Success)
}

async fn serve(
    builder: EmulatorBuilder,
    graph: Option<(GraphEmulatorConfig, Tenant)>,
) -> anyhow::Result<()> {
    let emulator = builder.start().await?;
    let graph = match graph {
        Some((config, tenant)) => Some(
            GraphEmulator::start(config, tenant)
                .await
                .context("cannot start the Graph emulator")?,
        ),
        None => None,
    };
    // Both lines in one write: a script that reads only the first and closes the pipe must
    // not make the second fail.
    let mut lines = format!("listening on {}\n", emulator.url());
    if let Some(g) = &graph {
        lines.push_str(&format!(
            "graph login_url {} graph_url {}\n",
            g.login_url(),
            g.graph_url()
        ));
    }
    let mut out = crate::output::stdout();
    out.write_all(lines.as_bytes())?;
    out.flush()?;
    drop(out);
    wait_for_signal().await?;
    if let Some(g) = graph {
        g.shutdown().await;
    }
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
