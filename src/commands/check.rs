//! `roster check`: test the connection and the token the way Entra's "Test connection" does,
//! and print what the server advertises; with `entra:`, also sign in to Entra and read the
//! target's app's service principal. Read-only; the work is `ops::check`.

use std::io::Write;

use super::Outcome;
use crate::cli::{CheckArgs, GlobalArgs};
use crate::ops::check::{Check, Probe};
use crate::ops::{self, Notes};
use crate::output::{self, say};
use crate::scim::client::Features;

pub fn run(global: &GlobalArgs, args: &CheckArgs) -> anyhow::Result<Outcome> {
    let Some(mut loaded) = super::load_config(global)? else {
        return Ok(Outcome::Failed);
    };
    let rt = ops::runtime()?;
    let hooks = super::hooks(global, None);
    let mut notes = Notes::default();
    let check = rt.block_on(ops::check::check(
        &loaded.config,
        &super::connect(&args.target),
        &hooks,
        &mut notes,
    ));
    super::print_notes(notes.take(), &mut loaded.report)?;
    let check = check?;
    print(&check, &mut output::stdout())?;
    Ok(if check.passed() {
        Outcome::Success
    } else {
        Outcome::Failed
    })
}

/// The check's lines: what passed on stdout, what failed to reach a server as `error:` on
/// stderr.
fn print(check: &Check, out: &mut impl Write) -> std::io::Result<()> {
    writeln!(out, "target: {}", check.url)?;
    writeln!(out, "profile: {}", check.profile.as_str())?;
    writeln!(out, "token:  from ${} (not shown)", check.token_env)?;
    match &check.probe {
        Probe::NoUser { listed: true } => writeln!(
            out,
            "ok:     the token works; the users listed hold no random userName"
        )?,
        Probe::NoUser { listed: false } => writeln!(
            out,
            "ok:     the token works; a filter on a random userName returned no user"
        )?,
        Probe::UserFound => writeln!(
            out,
            "failed: a filter on a random userName returned a user: the server ignores filters"
        )?,
        Probe::Failed(e) => {
            out.flush()?;
            say!("error: {e}");
        }
    }
    match &check.advertised {
        Some(Ok(advertised)) => {
            writeln!(out, "server advertises:")?;
            for (label, supported) in &advertised.flags {
                let said = supported.map_or("not advertised", |b| if b { "yes" } else { "no" });
                writeln!(out, "  {label:<17} {said}")?;
            }
            if let Some(max) = &advertised.max_results {
                writeln!(out, "  {:<17} {max}", "filter.maxResults")?;
            }
            if let Some(features) = &advertised.features {
                describe(features, out)?;
            }
        }
        Some(Err(e)) => writeln!(out, "note:   /ServiceProviderConfig could not be read: {e}")?,
        None => {}
    }
    match &check.entra {
        Some(Ok(lines)) => {
            for l in lines {
                writeln!(out, "{l}")?;
            }
        }
        Some(Err(e)) => {
            out.flush()?;
            say!("error: {e}");
        }
        None => {}
    }
    out.flush()
}

/// What the generic profile does with what the server advertises.
fn describe(f: &Features, out: &mut impl Write) -> std::io::Result<()> {
    writeln!(out, "roster will:")?;
    writeln!(
        out,
        "  {}",
        if f.patch {
            "update with PATCH"
        } else {
            "update with PUT of the whole resource (no PATCH)"
        }
    )?;
    writeln!(
        out,
        "  {}",
        if f.filter {
            "find users and groups with `filter`"
        } else {
            "find users and groups by reading the list (no filter)"
        }
    )?;
    match f.max_results {
        Some(n) => writeln!(out, "  ask for pages of at most {n}")?,
        None => writeln!(out, "  ask for pages of 100")?,
    }
    writeln!(
        out,
        "  {}",
        if f.etag {
            "send If-Match with the version each plan saw"
        } else {
            "send no If-Match (no ETags)"
        }
    )?;
    writeln!(
        out,
        "  reactivate users (active: true) when the files enable them again"
    )
}
