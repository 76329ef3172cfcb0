//! `roster show FILE`: render a saved plan. Reads no network; warns, never fails, when the
//! config changed since the plan was made or the file would not pass apply's checks (edited,
//! inconsistent), so a reviewer sees what the file holds and that apply will refuse it. A file
//! that is not a plan of a format this roster reads is an error.

use super::Outcome;
use crate::cli::{GlobalArgs, ShowArgs};
use crate::render::{self, Format};

pub fn run(global: &GlobalArgs, args: &ShowArgs) -> anyhow::Result<Outcome> {
    let file = crate::ops::read_saved_plan(&args.file)?;
    if let Err(problems) = crate::wire::integrity::check(&file, None) {
        eprintln!(
            "warning: `{}` does not pass apply's checks; apply will refuse it:",
            args.file.display()
        );
        for p in &problems {
            eprintln!("  - {p}");
        }
    }
    let saved = file.saved;
    let (_, report) = crate::config::load(&global.config_dir);
    if !report.has_errors() && super::config_digest(global, &report) != saved.config_digest {
        eprintln!(
            "warning: the config in `{}` changed since this plan was made ({}); apply will refuse it",
            global.config_dir.display(),
            saved.created_at
        );
    }
    eprintln!(
        "Plan made {} by roster {} against {}{}.",
        saved.created_at,
        saved.roster_version,
        saved.target,
        saved
            .git_commit
            .as_ref()
            .map(|c| format!(" at commit {}", &c[..c.len().min(12)]))
            .unwrap_or_default()
    );
    let plan = saved.plan.to_plan();
    let mut out = crate::output::stdout();
    match args.format {
        Format::Text => render::text::render(&plan, super::stdout_color(), &mut out)?,
        Format::Json => render::json::render(&plan, &mut out)?,
        Format::Markdown => render::markdown::render(&plan, &mut out)?,
    }
    Ok(Outcome::Success)
}
