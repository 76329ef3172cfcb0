//! `roster drift`: a read-only report of how the live target differs from the config.

use std::io::Write;

use super::Outcome;
use crate::cli::{DriftArgs, GlobalArgs};
use crate::config::model::Unmanaged;
use crate::ops::pipeline::{self, Planning};
use crate::ops::{self, Access};
use crate::output;
use crate::plan;
use crate::render::{self, Format};

pub fn run(global: &GlobalArgs, args: &DriftArgs) -> anyhow::Result<Outcome> {
    let Some(mut loaded) = super::load_config_at(global, args.at)? else {
        return Ok(Outcome::Failed);
    };
    // Drift reports every undeclared user, whatever apply would do about them.
    loaded.config.settings.policy.unmanaged = Unmanaged::Report;
    let rt = ops::runtime()?;
    let connect = super::connect(&args.target);
    let planning = super::operate(&rt, global, &mut loaded, async |loaded, hooks, notes| {
        let request = pipeline::Request {
            connect: &connect,
            changed_since: None,
            targets: &[],
            access: Access::Read,
            hooks,
            at: args.at.unwrap_or_else(ops::now_secs),
            expired_only: false,
        };
        pipeline::plan(loaded, &request, notes).await
    });
    let Planning::Planned(planned) = planning? else {
        return Ok(Outcome::Failed);
    };
    if let Some(at) = args.at {
        output::say!(
            "note: reported as of {} (--at), not now",
            crate::civil_time::rfc3339(u64::try_from(at).unwrap_or(0))
        );
    }
    let drift = plan::drift::drift(&planned.plan);
    let mut out = output::stdout();
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
