//! `roster import asana`: write declarations from the live organisation (adoption), or with
//! `--update` codify drift into the declarations in place.
//! `roster import entra` lives in `import_entra.rs`.

use std::io::Write;

use super::Outcome;
use crate::cli::{GlobalArgs, ImportAsanaArgs, ImportCommand};
use crate::config::load::SETTINGS_FILE;
use crate::ops;
use crate::output::{self, say};

pub fn run(global: &GlobalArgs, cmd: &ImportCommand) -> anyhow::Result<Outcome> {
    match cmd {
        ImportCommand::Asana(args) => asana(global, args),
        ImportCommand::Entra(args) => super::import_entra::run(global, args),
    }
}

fn asana(global: &GlobalArgs, args: &ImportAsanaArgs) -> anyhow::Result<Outcome> {
    if args.update {
        return update(global, args);
    }
    let dir = &global.config_dir;
    let workspace = ops::import::prepare(dir, args.force)?;
    if workspace.wrote_starter {
        say!("Wrote a starter {SETTINGS_FILE}.");
    }
    let Some(mut loaded) = super::load_config(global)? else {
        return Ok(Outcome::Failed);
    };
    let profile = loaded.config.settings.target.profile;
    say!("Reading users and teams from {}…", profile.target_name());
    let rt = ops::runtime()?;
    let connect = super::connect(&args.target);
    let imported = super::operate(&rt, global, &mut loaded, async |loaded, hooks, notes| {
        ops::import::asana(loaded, workspace, &connect, hooks, notes).await
    })?;
    say!(
        "Read {} users and {} teams.",
        imported.users_read,
        imported.teams_read
    );
    let result = &imported.import;
    for s in &result.skipped {
        say!("skipped {}: {}", s.what, s.reason);
    }
    for m in &result.skipped_mappings {
        say!("note: the mapping to {m} cannot be inverted; that attribute was not imported");
    }
    say!(
        "Wrote {} users and {} teams in {} files under `{}`; `roster plan` should now show no changes.",
        result.users,
        result.groups,
        result.files.len(),
        dir.display()
    );
    if !result.skipped.is_empty() {
        say!(
            "Left out {} users, teams or managers whose declarations `roster validate` would \
             reject (listed above): what is not declared the plan leaves alone. Fix them in {} \
             and import again, or declare them by hand.",
            result.skipped.len(),
            profile.target_name()
        );
        if loaded.config.settings.policy.unmanaged == crate::config::model::Unmanaged::Deprovision {
            say!(
                "warning: policy.unmanaged is `deprovision`: the next plan deprovisions the \
                 users left out. Set it to `report` until they are declared."
            );
        }
    }
    Ok(Outcome::Success)
}

/// `--update`: the diff on stdout, what was and was not codified on stderr.
fn update(global: &GlobalArgs, args: &ImportAsanaArgs) -> anyhow::Result<Outcome> {
    let Some(mut loaded) = super::load_config(global)? else {
        return Ok(Outcome::Failed);
    };
    let rt = ops::runtime()?;
    let connect = super::connect(&args.target);
    let unmanaged_to = match (args.no_unmanaged, &args.unmanaged_to) {
        (true, _) => None,
        (false, Some(file)) => Some(file.as_str()),
        (false, None) => Some(crate::import::update::UNMANAGED_FILE),
    };
    let request = ops::import::UpdateRequest {
        connect: &connect,
        unmanaged_to,
    };
    let updated = super::operate(&rt, global, &mut loaded, async |loaded, hooks, notes| {
        ops::import::update(loaded, &request, hooks, notes).await
    })?;
    let Some(updated) = updated else {
        return Ok(Outcome::Failed);
    };
    let result = &updated.update;
    let color = output::stdout_color();
    let mut out = output::stdout();
    for f in &result.files {
        let diff = crate::import::update::diff(f);
        write!(out, "{}", crate::import::update::paint_diff(&diff, color))?;
    }
    out.flush()?;
    for line in &result.codified {
        say!("codified {line}");
    }
    for left in &result.not_codified {
        say!("not codified: {}: {}", left.what, left.reason);
    }
    for address in &result.residual {
        say!("warning: {address} still differs from the target after the update");
    }
    if result.files.is_empty() {
        say!("Nothing to codify: the declarations agree with the target where they can.");
        return Ok(Outcome::Success);
    }
    if args.dry_run {
        say!(
            "--dry-run: {} files would change; nothing was written.",
            result.files.len()
        );
        return Ok(Outcome::Changes);
    }
    ops::import::write_update(&updated)?;
    say!(
        "Wrote {} files; `roster plan` now shows no changes for what was codified.",
        result.files.len()
    );
    Ok(Outcome::Changes)
}
