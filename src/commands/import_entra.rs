//! `roster import entra`: write the users and teams Entra would provision as YAML, then check
//! that the config directory is still valid.

use super::Outcome;
use crate::cli::{GlobalArgs, ImportEntraArgs};
use crate::config::model::EntraMode;
use crate::ops;

pub fn run(global: &GlobalArgs, args: &ImportEntraArgs) -> anyhow::Result<Outcome> {
    let Some((config, report)) = super::load_config(global)? else {
        return Ok(Outcome::Failed);
    };
    if config
        .settings
        .entra
        .as_ref()
        .is_some_and(|e| e.mode == EntraMode::Live)
    {
        eprintln!(
            "note: entra.mode is live, so plan reads Entra itself; imported files are YAML \
             declarations, which override Entra's values"
        );
    }
    // Where the Entra secret goes is settled before the first request to either side.
    let settings = ops::entra::settings(&config)?;
    let rt = ops::runtime()?;
    let imported = rt.block_on(async {
        let asana = if args.entra_only {
            None
        } else {
            Some(super::read(&config, &args.target, global.verbose).await?)
        };
        let live = asana.as_ref().map(|(_, _, live)| live);
        ops::entra::import(&config, &settings, &report, live, global.verbose, args.full).await
    })?;
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
    eprintln!(
        "Wrote {} users ({} disabled in Entra) and {} teams to {} ({}).",
        i.users,
        i.disabled,
        i.groups,
        shown.join(" and "),
        imported.users_read
    );
    if i.out_of_scope > 0 {
        eprintln!(
            "{} out-of-scope users hold an Asana account: they are written with \
             accountEnabled: false, so roster deprovisions them.",
            i.out_of_scope
        );
    }
    if args.entra_only {
        eprintln!(
            "Asana was not read (--entra-only): out-of-scope users that hold an Asana account \
             are not in the files."
        );
    }
    if !i.declared_elsewhere.is_empty() {
        eprintln!(
            "Left out, because YAML elsewhere declares them: {}.",
            i.declared_elsewhere.join(", ")
        );
    }
    // The files must leave the directory valid; say so now rather than at the next plan.
    let (checked, report) = crate::config::load(&global.config_dir);
    if checked.is_none() {
        crate::diagnostics::render(
            &report,
            crate::diagnostics::DiagnosticFormat::Text,
            super::stderr_color(),
            &mut crate::output::stderr(),
        )?;
        eprintln!("the config directory is not valid after the import; see above");
        return Ok(Outcome::Failed);
    }
    Ok(Outcome::Success)
}
