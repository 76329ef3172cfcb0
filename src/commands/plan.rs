//! `roster plan`: desired vs live, printed; optionally saved for `show` and `apply`.
//! Read-only: the client it uses cannot send anything but GET.

use std::io::Write;

use anyhow::Context;

use super::Outcome;
use crate::cli::{GlobalArgs, PlanArgs};
use crate::ops;
use crate::plan::{self, Capabilities};
use crate::render::{self, Format};
use crate::wire::saved::{Provenance, SavedPlan};

pub fn run(global: &GlobalArgs, args: &PlanArgs) -> anyhow::Result<Outcome> {
    let Some((mut config, mut report)) = super::load_config(global)? else {
        return Ok(Outcome::Failed);
    };
    let rt = ops::runtime()?;
    ops::entra::refuse_changed_since(&config, args.changed_since.as_deref())?;
    if !rt.block_on(ops::entra::merge_live(
        &mut config,
        &mut report,
        global.verbose,
    ))? {
        return Ok(Outcome::Failed);
    }
    let (session, client, live, scope) = rt.block_on(super::read_for_plan(
        &config,
        global,
        &args.target,
        args.changed_since.as_deref(),
    ))?;
    let plan = plan::plan(
        &config,
        &live,
        Capabilities::of(config.settings.target.profile),
        &scope,
    );

    if let Some(path) = &args.out {
        let provenance = Provenance {
            roster_version: env!("CARGO_PKG_VERSION").into(),
            created_at: ops::now_rfc3339(),
            config_digest: super::config_digest(global, &report),
            git_commit: ops::git_commit(&global.config_dir),
            target: session.target_id(),
        };
        let saved = SavedPlan::new(&plan, &live, provenance);
        crate::fsio::write_atomic(path, &saved.to_file())
            .with_context(|| format!("cannot write the plan to `{}`", path.display()))?;
        eprintln!(
            "Saved the plan to {}; apply it with `roster apply {}`.",
            path.display(),
            path.display()
        );
    }

    let mut out = crate::output::stdout();
    match args.format {
        Format::Text => render::text::render(&plan, super::stdout_color(), &mut out)?,
        Format::Json => render::json::render(&plan, &mut out)?,
        Format::Markdown => render::markdown::render(&plan, &mut out)?,
    }
    out.flush()?;
    if global.verbose > 0 {
        eprintln!("requests: {}", client.stats().snapshot());
    }
    Ok(if args.detailed_exitcode && plan.has_changes() {
        Outcome::Changes
    } else {
        Outcome::Success
    })
}
