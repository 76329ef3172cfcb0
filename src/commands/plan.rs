//! `roster plan`: desired vs live, printed; optionally saved for `show` and `apply`.
//! Read-only: the client it uses cannot send anything but GET.

use std::io::Write;

use super::Outcome;
use crate::cli::{GlobalArgs, PlanArgs};
use crate::ops::pipeline::{self, Planning};
use crate::ops::{self, Access};
use crate::output::{self, say};
use crate::render::{self, Format};

pub fn run(global: &GlobalArgs, args: &PlanArgs) -> anyhow::Result<Outcome> {
    let Some(mut loaded) = super::load_config_at(global, args.at)? else {
        return Ok(Outcome::Failed);
    };
    let rt = ops::runtime()?;
    let connect = super::connect(&args.target);
    let planning = super::operate(&rt, global, &mut loaded, async |loaded, hooks, notes| {
        let request = pipeline::Request {
            connect: &connect,
            changed_since: args.changed_since.as_deref(),
            targets: &args.targets,
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
        say!(
            "note: planned as of {} (--at), not now",
            crate::civil_time::rfc3339(u64::try_from(at).unwrap_or(0))
        );
    }
    if let Some(path) = &args.out {
        planned.save(&loaded, path)?;
        say!(
            "Saved the plan to {}; apply it with `roster apply {}`.",
            path.display(),
            path.display()
        );
    }
    let plan = &planned.plan;
    let mut out = output::stdout();
    match args.format {
        Format::Text => {
            render::text::render_with(plan, output::stdout_color(), global.verbose > 0, &mut out)?
        }
        Format::Json => render::json::render(plan, &mut out)?,
        Format::Markdown => render::markdown::render(plan, &mut out)?,
    }
    out.flush()?;
    if global.verbose > 0 {
        say!("requests: {}", planned.connection.reader.stats().snapshot());
        say!("budget: {}", planned.connection.reader.usage());
    }
    Ok(if args.detailed_exitcode && plan.has_changes() {
        Outcome::Changes
    } else {
        Outcome::Success
    })
}
