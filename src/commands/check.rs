//! `roster check`: test the connection and the token the way Entra's "Test connection" does,
//! and print what the server advertises; with `entra:`, also sign in to Entra and read the
//! target's app's service principal. Read-only.

use std::io::Write;

use super::Outcome;
use crate::cli::{CheckArgs, GlobalArgs};
use crate::config::model::Profile;
use crate::ops::{self, Access, Notes};
use crate::output::{self, say};
use crate::scim::client::{Features, redact_url};

pub fn run(global: &GlobalArgs, args: &CheckArgs) -> anyhow::Result<Outcome> {
    let Some(mut loaded) = super::load_config(global)? else {
        return Ok(Outcome::Failed);
    };
    let config = &loaded.config;
    // Where the Entra secret goes is settled before the first request to either side.
    let entra = match &config.settings.entra {
        Some(_) => Some(ops::entra::settings(config)?),
        None => None,
    };
    let rt = ops::runtime()?;
    let hooks = super::hooks(global, None);
    let session = rt.block_on(ops::open(config, &super::connect(&args.target)))?;
    let target = &session.target;
    let client = target.reader(&hooks)?;
    let mut out = output::stdout();
    writeln!(out, "target: {}", redact_url(&target.url))?;
    writeln!(out, "profile: {}", target.profile.as_str())?;
    writeln!(out, "token:  from ${} (not shown)", target.token_env)?;
    // A generic server's features decide how the probe is sent: without filter support it is
    // a list read, matched here.
    let features = match target.profile {
        Profile::Generic => {
            let mut notes = Notes::default();
            let features = rt.block_on(ops::features(
                &client,
                target.profile,
                Access::Read,
                &mut notes,
            ));
            super::print_notes(notes.take(), &mut loaded.report)?;
            Some(features)
        }
        Profile::Asana => None,
    };
    // Entra's test: filter on a userName that cannot exist; the answer must be an empty list.
    let probe = format!("roster-check-{}@invalid.example", std::process::id());
    match rt.block_on(client.find_user_by_username(&probe)) {
        Ok(None) if features.is_some_and(|f| !f.filter) => writeln!(
            out,
            "ok:     the token works; the users listed hold no random userName"
        )?,
        Ok(None) => writeln!(
            out,
            "ok:     the token works; a filter on a random userName returned no user"
        )?,
        Ok(Some(_)) => {
            writeln!(
                out,
                "failed: a filter on a random userName returned a user: the server ignores filters"
            )?;
            return Ok(Outcome::Failed);
        }
        Err(e) => {
            say!("error: {}", ops::explain(e));
            return Ok(Outcome::Failed);
        }
    }
    match rt.block_on(client.service_provider_config()) {
        Ok(spc) => {
            let v = spc.into_value();
            let flag = |k: &str| {
                v.get(k)
                    .and_then(|o| o.get("supported"))
                    .and_then(|b| b.as_bool())
                    .map_or("not advertised", |b| if b { "yes" } else { "no" })
            };
            writeln!(out, "server advertises:")?;
            for (label, key) in [
                ("PATCH", "patch"),
                ("filter", "filter"),
                ("ETag", "etag"),
                ("bulk", "bulk"),
                ("sort", "sort"),
                ("changePassword", "changePassword"),
            ] {
                writeln!(out, "  {label:<17} {}", flag(key))?;
            }
            if let Some(max) = v.get("filter").and_then(|f| f.get("maxResults")) {
                writeln!(out, "  {:<17} {max}", "filter.maxResults")?;
            }
            if target.profile == Profile::Generic {
                describe(&Features::from_config(&v), &mut out)?;
            }
        }
        Err(e) => writeln!(out, "note:   /ServiceProviderConfig could not be read: {e}")?,
    }
    if let Some(entra) = &entra {
        match rt.block_on(ops::entra::check(entra, target.profile, &hooks)) {
            Ok(lines) => {
                for l in &lines {
                    writeln!(out, "{l}")?;
                }
            }
            Err(e) => {
                say!("error: {e:#}");
                return Ok(Outcome::Failed);
            }
        }
    }
    out.flush()?;
    Ok(Outcome::Success)
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
