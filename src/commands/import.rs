//! `roster import asana`: write declarations from the live organisation (adoption).
//! `roster import entra` lives in `import_entra.rs`.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use super::Outcome;
use crate::cli::{GlobalArgs, ImportAsanaArgs, ImportCommand};
use crate::config::load::SETTINGS_FILE;
use crate::import;
use crate::ops::{self, Notes};
use crate::output::{self, say};

const STARTER_SETTINGS: &str = "\
# yaml-language-server: $schema=schema/roster.schema.json
# Written by `roster import asana`. See the README for every setting.
version: 1
asana:
  # Asana's SCIM API by default; ROSTER_TARGET_URL or --target-url pins the URL outside this
  # file (a `url:` here must then be the same one).
  token_env: ASANA_TOKEN
policy:
  unmanaged: report
  deprovision_with: deactivate
  max_deprovisions: { count: 25, percent: 10 }
";

pub fn run(global: &GlobalArgs, cmd: &ImportCommand) -> anyhow::Result<Outcome> {
    match cmd {
        ImportCommand::Asana(args) => asana(global, args),
        ImportCommand::Entra(args) => super::import_entra::run(global, args),
    }
}

fn asana(global: &GlobalArgs, args: &ImportAsanaArgs) -> anyhow::Result<Outcome> {
    let dir = &global.config_dir;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
    let existing = declaration_files(dir)?;
    if !existing.is_empty() && !args.force {
        bail!(
            "`{}` already has {} declaration file(s) under users/ or groups/: importing would declare \
             users twice; pass --force to replace them",
            dir.display(),
            existing.len()
        );
    }
    // Every file written stays inside the config directory: a symlinked folder or a dangling
    // symlink cannot send a write elsewhere.
    let root =
        crate::fsio::Root::new(dir).with_context(|| format!("cannot open `{}`", dir.display()))?;
    let write = |path: &Path, text: &[u8]| {
        root.write(path, text)
            .with_context(|| format!("cannot write `{}`", path.display()))
    };
    if std::fs::symlink_metadata(dir.join(SETTINGS_FILE)).is_err() {
        write(&dir.join(SETTINGS_FILE), STARTER_SETTINGS.as_bytes())?;
        say!("Wrote a starter {SETTINGS_FILE}.");
    }
    let Some(mut loaded) = super::load_config(global)? else {
        return Ok(Outcome::Failed);
    };
    let (config, report) = (&loaded.config, &loaded.report);
    // The declarations are validated against this roster.yaml before anything is written.
    let settings_path = dir.join(SETTINGS_FILE);
    let settings = report
        .sources
        .iter()
        .find(|(path, _)| *path == settings_path)
        .map(|(_, text)| text.to_string())
        .with_context(|| format!("{SETTINGS_FILE} was not read"))?;
    let rt = ops::runtime()?;
    say!(
        "Reading users and teams from {}…",
        config.settings.target.profile.target_name()
    );
    let progress = output::Progress::users_read();
    let hooks = super::hooks(global, Some(&progress));
    let mut notes = Notes::default();
    let live = rt.block_on(async {
        let session = ops::open(config, &super::connect(&args.target)).await?;
        let client = session.target.reader(&hooks)?;
        ops::read_live_with(&client, hooks.progress.clone(), &mut notes)
            .await
            .map_err(ops::explain)
    });
    progress.finish();
    super::print_notes(notes.take(), &mut loaded.report)?;
    let live = live?;
    let config = &loaded.config;
    say!(
        "Read {} users and {} teams.",
        live.users.len(),
        live.groups.len()
    );
    let result = import::asana(
        &live.users,
        &live.groups,
        &config.settings.user_mappings,
        &settings,
    )
    .map_err(anyhow::Error::msg)?;
    for s in &result.skipped {
        say!("skipped {}: {}", s.what, s.reason);
    }
    // Only now that the target was read: a failed read leaves the old files in place.
    for f in &existing {
        std::fs::remove_file(f).with_context(|| format!("cannot remove `{}`", f.display()))?;
    }
    for f in &result.files {
        write(&dir.join(&f.path), f.contents.as_bytes())?;
    }
    for (name, text) in crate::config::schema::all() {
        write(&dir.join("schema").join(name), text.as_bytes())?;
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
            config.settings.target.profile.target_name()
        );
        if config.settings.policy.unmanaged == crate::config::model::Unmanaged::Deprovision {
            say!(
                "warning: policy.unmanaged is `deprovision`: the next plan deprovisions the \
                 users left out. Set it to `report` until they are declared."
            );
        }
    }
    Ok(Outcome::Success)
}

/// Every YAML file under users/ and groups/ (which `--force` removes). Symlinks are not
/// followed: a symlinked folder is not walked (`users/root -> /` would reach every YAML file
/// on the machine), and a symlink named `*.yaml` is itself removed, not what it points to.
fn declaration_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
        if !std::fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir()) {
            return Ok(());
        }
        for e in std::fs::read_dir(dir)? {
            let e = e?;
            let p = e.path();
            if e.file_type()?.is_dir() {
                walk(&p, out)?;
            } else if p.extension().is_some_and(|x| x == "yaml" || x == "yml") {
                out.push(p);
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(&dir.join("users"), &mut out)?;
    walk(&dir.join("groups"), &mut out)?;
    out.sort();
    Ok(out)
}
