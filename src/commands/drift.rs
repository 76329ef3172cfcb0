//! `roster drift`: a read-only report of how live Asana differs from the config.

use std::io::Write;

use super::Outcome;
use crate::cli::{DriftArgs, GlobalArgs};
use crate::config::model::Unmanaged;
use crate::ops;
use crate::plan::{self, Capabilities, Scope};
use crate::render::{self, Format};

pub fn run(global: &GlobalArgs, args: &DriftArgs) -> anyhow::Result<Outcome> {
    let Some((mut config, mut report)) = super::load_config(global)? else {
        return Ok(Outcome::Failed);
    };
    // Drift reports every undeclared user, whatever apply would do about them.
    config.settings.policy.unmanaged = Unmanaged::Report;
    let rt = ops::runtime()?;
    if !rt.block_on(ops::entra::merge_live(
        &mut config,
        &mut report,
        global.verbose,
    ))? {
        return Ok(Outcome::Failed);
    }
    let (_session, _client, live) =
        rt.block_on(super::read(&config, &args.target, global.verbose))?;
    let plan = plan::plan(
        &config,
        &live,
        Capabilities::of(config.settings.target.profile),
        &Scope::default(),
    );
    let drift = plan::drift::drift(&plan);
    let mut out = crate::output::stdout();
    match args.format {
        Format::Text => render::drift::text(&drift, &mut out)?,
        Format::Json => render::drift::json(&drift, &mut out)?,
        Format::Markdown => render::drift::markdown(&drift, &mut out)?,
    }
    out.flush()?;
    Ok(if drift.is_empty() {
        Outcome::Success
    } else {
        Outcome::Changes
    })
}
