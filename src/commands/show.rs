//! `roster show FILE`: render a saved plan. Reads no network; warns, never fails, when the
//! config changed since the plan was made or the file would not pass apply's checks (edited,
//! inconsistent), so a reviewer sees what the file holds and that apply will refuse it. A file
//! that is not a plan of a format this roster reads is an error.

use std::io::Write;

use super::Outcome;
use crate::cli::{GlobalArgs, ShowArgs};
use crate::diagnostics::printable;
use crate::ops::{Notes, pipeline};
use crate::output::{self, say};
use crate::render::{self, Format};

pub fn run(global: &GlobalArgs, args: &ShowArgs) -> anyhow::Result<Outcome> {
    let mut notes = Notes::default();
    let saved = pipeline::review(&global.config_dir, &args.file, &mut notes);
    super::print_notes(notes.take(), &mut Default::default())?;
    let saved = saved?;
    // What the file says about itself is shown, not sent to the terminal.
    say!(
        "{}",
        printable(&format!(
            "Plan made {} by roster {} against {}{}.",
            saved.created_at,
            saved.roster_version,
            saved.target,
            saved
                .git_commit
                .as_ref()
                .map(|c| format!(" at commit {}", short_commit(c)))
                .unwrap_or_default()
        ))
    );
    let plan = saved.plan.to_plan();
    let mut out = output::stdout();
    match args.format {
        Format::Text => {
            render::text::render_with(&plan, output::stdout_color(), global.verbose > 0, &mut out)?
        }
        Format::Json => render::json::render(&plan, &mut out)?,
        Format::Markdown => render::markdown::render(&plan, &mut out)?,
    }
    out.flush()?;
    Ok(Outcome::Success)
}

/// The first 12 characters of a commit, as git abbreviates it; a file may hold anything there,
/// so characters, not bytes.
fn short_commit(commit: &str) -> &str {
    let end = commit
        .char_indices()
        .nth(12)
        .map_or(commit.len(), |(i, _)| i);
    &commit[..end]
}

#[cfg(test)]
mod tests {
    #[test]
    fn issue12_a_commit_is_cut_at_a_character_not_a_byte() {
        assert_eq!(super::short_commit("0123456789abcdef"), "0123456789ab");
        assert_eq!(super::short_commit("abc"), "abc");
        // A multibyte character across byte 12 used to panic the slice.
        assert_eq!(super::short_commit("0123456789a€bcd"), "0123456789a€");
        assert_eq!(super::short_commit("ééééééééééééé"), "éééééééééééé");
    }
}
