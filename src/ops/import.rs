//! The imports as operations. `roster import asana`: the config directory made ready (a
//! starter roster.yaml), the target read, and the declarations written (pure:
//! [`crate::import`]), validated against that roster.yaml. `roster import entra`: Entra read,
//! and the target too unless told not to ([`entra`]). Every file written stays inside the
//! config directory: a symlinked folder or a dangling symlink cannot send a write elsewhere.
//! `roster import asana --update`: the plan's drift codified into the declarations in place
//! ([`update`], pure: [`crate::import::update`]), and the files written by [`write_update`]
//! only if none changed on disk since it read them.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use sha2::{Digest, Sha256};

use super::pipeline::{self, Loaded};
use super::{Access, Connect, Hooks, Notes};
use crate::config::load::SETTINGS_FILE;
use crate::config::model::EntraSettings;
use crate::config::model::Unmanaged;
use crate::fsio::Root;
use crate::import::update::{self as codify, FileChange};
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

/// What `--update` is asked to do.
pub struct UpdateRequest<'a> {
    pub connect: &'a Connect,
    /// The users file unmanaged users are added to, relative to the config directory; `None`
    /// leaves them out (`--no-unmanaged`).
    pub unmanaged_to: Option<&'a str>,
}

/// What `--update` found and would write, with what it read.
pub struct Updated {
    pub update: codify::Update,
    /// The SHA-256 of each declaration file as it was read, by path relative to the config
    /// directory: [`write_update`] refuses to write over a file that changed since.
    read: Vec<(String, [u8; 32])>,
    dir: PathBuf,
}

/// Plans (with `policy.unmanaged: report`, as drift does) and works out what to write: no
/// file is written here.
pub async fn update(
    loaded: &mut Loaded,
    request: &UpdateRequest<'_>,
    hooks: &Hooks,
    notes: &mut Notes,
) -> anyhow::Result<Option<Updated>> {
    loaded.config.settings.policy.unmanaged = Unmanaged::Report;
    let dir = loaded.config.dir.clone();
    let settings_path = dir.join(SETTINGS_FILE);
    let mut settings = None;
    let mut files = Vec::new();
    for (path, text) in loaded.report.sources.iter() {
        if path == settings_path {
            settings = Some(text.to_string());
            continue;
        }
        let Ok(rel) = path.strip_prefix(&dir) else {
            continue;
        };
        let Some(rel) = rel.to_str() else { continue };
        if (rel.starts_with("users/") || rel.starts_with("groups/")) && rel.ends_with(".yaml") {
            files.push((rel.to_string(), text.to_string()));
        }
    }
    let settings = settings.with_context(|| format!("{SETTINGS_FILE} was not read"))?;
    let read = files
        .iter()
        .map(|(path, text)| (path.clone(), Sha256::digest(text.as_bytes()).into()))
        .collect();
    let plan_request = pipeline::Request {
        connect: request.connect,
        changed_since: None,
        access: Access::Read,
        hooks,
        at: super::now_secs(),
        expired_only: false,
    };
    let pipeline::Planning::Planned(planned) = pipeline::plan(loaded, &plan_request, notes).await?
    else {
        return Ok(None);
    };
    let today = super::now_rfc3339();
    let input = codify::Input {
        config: &loaded.config,
        settings: &settings,
        files: &files,
        plan: &planned.plan,
        live: &planned.live,
    };
    let options = codify::Options {
        unmanaged_to: request.unmanaged_to,
        today: today.get(..10).unwrap_or(&today),
    };
    let update = codify::update(&input, &options).map_err(anyhow::Error::msg)?;
    Ok(Some(Updated { update, read, dir }))
}

/// Writes the update's files, each atomically, once every one of them is checked to be as
/// it was read (by SHA-256; a file the update creates must still not exist). If any changed,
/// nothing is written: the error names them.
pub fn write_update(updated: &Updated) -> anyhow::Result<()> {
    let dir = &updated.dir;
    let root = Root::new(dir).with_context(|| format!("cannot open `{}`", dir.display()))?;
    let mut changed = Vec::new();
    for FileChange { path, before, .. } in &updated.update.files {
        let full = dir.join(path);
        let expected = updated.read.iter().find(|(p, _)| p == path).map(|(_, h)| h);
        let now = match root.read(&full, crate::config::parse::MAX_FILE_BYTES) {
            Ok(bytes) => Some(<[u8; 32]>::from(Sha256::digest(&bytes))),
            Err(e) if e.is_not_found() => None,
            Err(e) => {
                return Err(e).with_context(|| format!("cannot read `{}`", full.display()));
            }
        };
        let same = match (before, expected, now) {
            (None, _, None) => true,
            (Some(_), Some(expected), Some(now)) => *expected == now,
            _ => false,
        };
        if !same {
            changed.push(path.as_str());
        }
    }
    if !changed.is_empty() {
        bail!(
            "{} changed on disk since roster read {}; nothing was written: run \
             `roster import asana --update` again",
            changed
                .iter()
                .map(|p| format!("`{p}`"))
                .collect::<Vec<_>>()
                .join(", "),
            if changed.len() == 1 { "it" } else { "them" }
        );
    }
    for f in &updated.update.files {
        let full = dir.join(&f.path);
        if let Some(parent) = full.parent() {
            crate::fsio::create_dir_all(parent)
                .with_context(|| format!("cannot create `{}`", parent.display()))?;
        }
        write(&root, &full, f.after.as_bytes())?;
    }
    Ok(())
}
