//! `roster import entra`: write the users and teams Entra would provision as YAML, then check
//! that the config directory is still valid.

use super::Outcome;
use crate::cli::{GlobalArgs, ImportEntraArgs};
use crate::config::model::{EntraMode, Profile};
use crate::ops;
use crate::output::say;

pub fn run(global: &GlobalArgs, args: &ImportEntraArgs) -> anyhow::Result<Outcome> {
    let Some(mut loaded) = super::load_config(global)? else {
        return Ok(Outcome::Failed);
    };
    let config = &loaded.config;
    if config
        .settings
        .entra
        .as_ref()
        .is_some_and(|e| e.mode == EntraMode::Live)
    {
        say!(
            "note: entra.mode is live, so plan reads Entra itself; imported files are YAML \
             declarations, which override Entra's values"
        );
    }
    // Where the Entra secret goes is settled before the first request to either side.
    let settings = ops::entra::settings(config)?;
    let rt = ops::runtime()?;
    let connect = super::connect(&args.target);
    let target = (!args.entra_only).then_some(&connect);
    let imported = super::operate(&rt, global, &mut loaded, async |loaded, hooks, notes| {
        ops::import::entra(loaded, &settings, target, args.full, hooks, notes).await
    })?;
    let profile = loaded.config.settings.target.profile;
    let account = match profile {
        Profile::Asana => "an Asana account",
        Profile::Generic => "an account on the SCIM server",
    };
    let i = &imported.import;
    let shown: Vec<String> = imported
        .files
        .iter()
        .map(|f| {
            f.strip_prefix(&global.config_dir)
                .unwrap_or(f)
                .display()
                .to_string()
        })
        .collect();
    say!(
        "Wrote {} users ({} disabled in Entra) and {} teams to {} ({}).",
        i.users,
        i.disabled,
        i.groups,
        shown.join(" and "),
        imported.users_read
    );
    if i.out_of_scope > 0 {
        say!(
            "{} out-of-scope users hold {account}: they are written with \
             accountEnabled: false, so roster deprovisions them.",
            i.out_of_scope
        );
    }
    if args.entra_only {
        say!(
            "{} was not read (--entra-only): out-of-scope users that hold {account} are not \
             in the files.",
            profile.target_name_capitalized()
        );
    }
    if !i.declared_elsewhere.is_empty() {
        say!(
            "Left out, because YAML elsewhere declares them: {}.",
            i.declared_elsewhere.join(", ")
        );
    }
    // The files must leave the directory valid; say so now rather than at the next plan.
    if let Err(invalid) = ops::pipeline::load(&global.config_dir) {
        super::render_diagnostics(&invalid.report)?;
        say!("the config directory is not valid after the import; see above");
        return Ok(Outcome::Failed);
    }
    Ok(Outcome::Success)
}
