//! The imports as operations. `roster import asana`: the config directory made ready (a
//! starter roster.yaml), the target read, and the declarations written (pure:
//! [`crate::import`]), validated against that roster.yaml. `roster import entra`: Entra read,
//! and the target too unless told not to ([`entra`]). Every file written stays inside the
//! config directory: a symlinked folder or a dangling symlink cannot send a write elsewhere.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use super::pipeline::{self, Loaded};
use super::{Access, Connect, Hooks, Notes};
use crate::config::load::SETTINGS_FILE;
use crate::config::model::EntraSettings;
use crate::fsio::Root;
use crate::import::{self, Import};

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

/// A config directory ready for an import.
pub struct Workspace {
    root: Root,
    dir: PathBuf,
    /// Declarations there now, which the import replaces.
    existing: Vec<PathBuf>,
    /// Whether a starter roster.yaml was written (there was none).
    pub wrote_starter: bool,
}

/// Makes `dir` ready: created if missing; refused if it already declares users or teams,
/// unless `force`; a starter roster.yaml when it has none.
pub fn prepare(dir: &Path, force: bool) -> anyhow::Result<Workspace> {
    crate::fsio::create_dir_all(dir)
        .with_context(|| format!("cannot create `{}`", dir.display()))?;
    let existing = declaration_files(dir)?;
    if !existing.is_empty() && !force {
        bail!(
            "`{}` already has {} declaration file(s) under users/ or groups/: importing would declare \
             users twice; pass --force to replace them",
            dir.display(),
            existing.len()
        );
    }
    let root = Root::new(dir).with_context(|| format!("cannot open `{}`", dir.display()))?;
    let settings = dir.join(SETTINGS_FILE);
    let wrote_starter = std::fs::symlink_metadata(&settings).is_err();
    if wrote_starter {
        write(&root, &settings, STARTER_SETTINGS.as_bytes())?;
    }
    Ok(Workspace {
        root,
        dir: dir.to_path_buf(),
        existing,
        wrote_starter,
    })
}

/// What the import read and wrote.
pub struct Imported {
    pub users_read: usize,
    pub teams_read: usize,
    pub import: Import,
}

/// Reads every user and team from the target and writes their declarations (and the JSON
/// Schemas) into the workspace. The old declarations are removed only once the target was read
/// and the new ones were made, so a failed read leaves them in place.
pub async fn asana(
    loaded: &Loaded,
    workspace: Workspace,
    connect: &Connect,
    hooks: &Hooks,
    notes: &mut Notes,
) -> anyhow::Result<Imported> {
    let Workspace {
        root,
        dir,
        existing,
        ..
    } = workspace;
    // The declarations are validated against this roster.yaml before anything is written.
    let settings_path = dir.join(SETTINGS_FILE);
    let settings = loaded
        .report
        .sources
        .iter()
        .find(|(path, _)| *path == settings_path)
        .map(|(_, text)| text.to_string())
        .with_context(|| format!("{SETTINGS_FILE} was not read"))?;
    let config = &loaded.config;
    let session = super::open(config, connect).await?;
    let reader = session.target.reader(hooks)?;
    let (live, _) = pipeline::read(&reader, config, None, hooks, notes).await?;
    let import = import::asana(
        &live.users,
        &live.groups,
        &config.settings.user_mappings,
        &settings,
    )
    .map_err(anyhow::Error::msg)?;
    for f in &existing {
        crate::fsio::remove_file(f).with_context(|| format!("cannot remove `{}`", f.display()))?;
    }
    for f in &import.files {
        write(&root, &dir.join(&f.path), f.contents.as_bytes())?;
    }
    for (name, text) in crate::config::schema::all() {
        write(&root, &dir.join("schema").join(name), text.as_bytes())?;
    }
    Ok(Imported {
        users_read: live.users.len(),
        teams_read: live.groups.len(),
        import,
    })
}

/// Reads Entra and rewrites `users/entra/` and `groups/entra/` ([`super::entra::import`]).
/// With `target`, that is read first, so that out-of-scope users who hold an account there are
/// written disabled (and so deprovisioned).
pub async fn entra(
    loaded: &Loaded,
    settings: &EntraSettings,
    target: Option<&Connect>,
    full: bool,
    hooks: &Hooks,
    notes: &mut Notes,
) -> anyhow::Result<super::entra::Imported> {
    let config = &loaded.config;
    let live = match target {
        Some(connect) => {
            let session = super::open(config, connect).await?;
            let connection = pipeline::connect(session, Access::Read, hooks, notes).await?;
            let (live, _) = pipeline::read(&connection.reader, config, None, hooks, notes).await?;
            Some(live)
        }
        None => None,
    };
    super::entra::import(
        config,
        settings,
        &loaded.report,
        live.as_ref(),
        hooks,
        full,
        notes,
    )
    .await
}

fn write(root: &Root, path: &Path, text: &[u8]) -> anyhow::Result<()> {
    root.write(path, text)
        .with_context(|| format!("cannot write `{}`", path.display()))
}

/// The declaration files under users/ and groups/ (which `--force` removes): those the loader
/// reads (`config::load::declaration_files`). A symlinked folder is walked only while it stays
/// inside the config directory (`users/root -> /` is not), and a symlink named `*.yaml` is
/// itself removed, not what it points to.
fn declaration_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let root = Root::new(dir).with_context(|| format!("cannot open `{}`", dir.display()))?;
    let mut out = Vec::new();
    for sub in ["users", "groups"] {
        let walk = crate::config::load::declaration_files(&root, dir, sub);
        if let Some(e) = walk.error {
            return Err(e).with_context(|| format!("cannot list `{}`", dir.join(sub).display()));
        }
        out.extend(walk.files);
    }
    out.sort();
    Ok(out)
}
