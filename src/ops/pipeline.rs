//! The one path from a config directory to a plan: load → Entra merge (live mode) → read
//! (everything, or with `--changed-since` only what changed) → plan.
//!
//! `plan`, `drift` and `apply` (with or without `--changed-since`) take it through [`plan`];
//! `apply PLAN_FILE --replan` takes the same steps ([`merge_and_scope`], [`read_and_plan`])
//! on the connection it applies with; `show` and a saved plan's `apply` load through [`load`]
//! and compare the config's [`Loaded::digest`]. Each step returns data, and what it finds worth telling goes into the
//! [`Notes`] the caller gives, which it prints whether the path ended in a plan or not.

use std::path::Path;

use anyhow::Context;

use super::changed::{self, Changed};
use super::{Access, Connect, Hooks, Notes, Session, entra, explain};
use crate::config::Config;
use crate::config::load::SETTINGS_FILE;
use crate::config::model::Profile;
use crate::diagnostics::Report;
use crate::plan::{self, Capabilities, Live, Plan, Scope};
use crate::scim::client::{Features, ReadClient, WriteClient};
use crate::wire::integrity;
use crate::wire::saved::{PlanFile, Provenance, SavedPlan};

/// A config directory that passed every check.
pub struct Loaded {
    pub config: Config,
    /// Every diagnostic (warnings only, here) and the files' texts.
    pub report: Report,
}

/// A config directory that did not pass: nothing may be sent.
pub struct Invalid {
    pub report: Report,
    /// The target roster.yaml names, when roster.yaml itself could be read.
    pub profile: Option<Profile>,
}

/// Loads and validates the config directory, every problem at once, with `policy.rules`
/// checked now.
pub fn load(dir: &Path) -> Result<Loaded, Invalid> {
    load_at(dir, super::now_secs())
}

/// [`load`], with `policy.rules` checked at `at` (`--at`).
pub fn load_at(dir: &Path, at: i64) -> Result<Loaded, Invalid> {
    let (config, report) = crate::config::load::load_at(dir, Some(at));
    match config {
        Some(config) => Ok(Loaded { config, report }),
        None => {
            let profile = profile_in(dir, &report);
            Err(Invalid { report, profile })
        }
    }
}

/// The profile roster.yaml names, from roster.yaml validated alone (the config as a whole did
/// not validate); `None` when roster.yaml itself has a problem.
fn profile_in(dir: &Path, report: &Report) -> Option<Profile> {
    let settings = dir.join(SETTINGS_FILE);
    let (_, text) = report.sources.iter().find(|(path, _)| *path == settings)?;
    let (config, _) = crate::config::from_texts(text, &[], &[]);
    Some(config?.settings.target.profile)
}

impl Loaded {
    /// The config files' digest, with paths relative to the config directory: a saved plan
    /// records it, and `show` and `apply` compare it.
    pub fn digest(&self) -> String {
        let dir = &self.config.dir;
        crate::wire::saved::config_digest(self.report.sources.iter().map(|(path, text)| {
            let rel = path.strip_prefix(dir).unwrap_or(path);
            (rel.to_str().unwrap_or_default(), text)
        }))
    }
}

/// What a plan is made for.
pub struct Request<'a> {
    pub connect: &'a Connect,
    /// `--changed-since GIT_REF`: plan only the declarations that changed since.
    pub changed_since: Option<&'a str>,
    /// `--target ADDRESS…`: plan only these objects (and what they need); empty: all.
    pub targets: &'a [String],
    /// Apply plans with the client it will write with.
    pub access: Access,
    pub hooks: &'a Hooks,
    /// The instant to plan at (seconds since the epoch): the clock's, or `--at`'s.
    pub at: i64,
    /// `apply --expired-only`: keep only the changes expiry causes.
    pub expired_only: bool,
}

/// Where the path ended.
pub enum Planning {
    Planned(Box<Planned>),
    /// Entra's merge found errors (they are in the notes): nothing was sent to the target.
    Refused,
}

/// The target, connected.
pub struct Connection {
    /// Keeps the built-in emulator running while the clients are used.
    pub session: Session,
    pub reader: ReadClient,
    /// With [`Access::Write`] only.
    pub writer: Option<WriteClient>,
    pub features: Features,
}

/// A plan, with what it was made from.
pub struct Planned {
    pub connection: Connection,
    pub live: Live,
    pub scope: Scope,
    pub plan: Plan,
    /// `--target`'s addresses, which a saved plan records for `apply --replan`.
    pub targets: Vec<String>,
}

/// The whole path: [`merge_and_scope`], the target connected, then [`read_and_plan`].
pub async fn plan(
    loaded: &mut Loaded,
    request: &Request<'_>,
    notes: &mut Notes,
) -> anyhow::Result<Planning> {
    let selection = Selection {
        changed_since: request.changed_since,
        targets: request.targets,
    };
    let Some(merged) = merge_and_scope(loaded, &selection, request.hooks, notes).await? else {
        return Ok(Planning::Refused);
    };
    let config = &loaded.config;
    let session = super::open(config, request.connect).await?;
    let connection = connect(session, request.access, request.hooks, notes).await?;
    let (live, scope, plan) = read_and_plan(
        &connection,
        config,
        merged.changed.as_ref(),
        (request.at, request.expired_only),
        request.hooks,
        notes,
    )
    .await?;
    let targets = merged.changed.map(|c| c.targets).unwrap_or_default();
    Ok(Planning::Planned(Box::new(Planned {
        connection,
        live,
        scope,
        plan,
        targets,
    })))
}

/// The config ready to plan, and what to read.
pub struct Merged {
    /// With `--changed-since`: the declarations that changed, which alone are read and
    /// planned; with `--target`, the objects named; `None`: everything.
    pub changed: Option<Changed>,
}

/// Which part of the config to plan: all, what changed since a ref, or named objects.
#[derive(Clone, Copy, Default)]
pub struct Selection<'a> {
    pub changed_since: Option<&'a str>,
    pub targets: &'a [String],
}

/// The steps before connecting: `--target` addresses read (a malformed one stops here),
/// `--changed-since` refused in Entra live mode, Entra merged (live mode), the changed
/// declarations asked of git. `None` when Entra's merge found errors (they are in the
/// notes): nothing may be planned.
pub async fn merge_and_scope(
    loaded: &mut Loaded,
    selection: &Selection<'_>,
    hooks: &Hooks,
    notes: &mut Notes,
) -> anyhow::Result<Option<Merged>> {
    changed::parse_targets(selection.targets)?;
    entra::refuse_changed_since(&loaded.config, selection.changed_since)?;
    if !entra::merge_live(&mut loaded.config, hooks, notes).await? {
        return Ok(None);
    }
    let changed = match (selection.changed_since, selection.targets) {
        (Some(git_ref), _) => {
            let mut changed = self::changed_since(&loaded.config.dir, git_ref, notes)?;
            changed.include_rule_teams(&loaded.config);
            Some(changed)
        }
        (None, []) => None,
        (None, targets) => {
            let changed = Changed::of_targets(&loaded.config, targets)?;
            notes.info(format!(
                "--target: {} user(s) and {} team(s); only those are read and planned, with \
                 the managers they need and their own team additions, and unmanaged users are \
                 not looked for.",
                changed.users.len() + changed.removed_users.len(),
                changed.groups.len(),
            ));
            Some(changed)
        }
    };
    Ok(Some(Merged { changed }))
}

/// Reads the target over `connection` (all of it, or what `changed` names) and plans
/// `config` against it as of `at` (seconds since the epoch), keeping only what expiry causes
/// when `expired_only`.
pub async fn read_and_plan(
    connection: &Connection,
    config: &Config,
    changed: Option<&Changed>,
    (at, expired_only): (i64, bool),
    hooks: &Hooks,
    notes: &mut Notes,
) -> anyhow::Result<(Live, Scope, Plan)> {
    let (live, mut scope) = read(&connection.reader, config, changed, hooks, notes).await?;
    scope.at = at;
    scope.expired_only = expired_only;
    let profile = connection.session.target.profile;
    let plan = plan::plan(config, &live, Capabilities::of(profile), &scope);
    Ok((live, scope, plan))
}

/// The declarations that changed since `git_ref`, and a note saying what is planned.
pub fn changed_since(dir: &Path, git_ref: &str, notes: &mut Notes) -> anyhow::Result<Changed> {
    let changed = changed::since(dir, git_ref)?;
    notes.info(format!(
        "--changed-since {git_ref}: {} changed and {} removed users, {} changed groups in {} \
         files; only those are read and planned, and unmanaged users are not looked for.",
        changed.users.len(),
        changed.removed_users.len(),
        changed.groups.len(),
        changed.files.len()
    ));
    Ok(changed)
}

/// The clients for an open session, and what the target supports ([`super::features`]).
pub async fn connect(
    session: Session,
    access: Access,
    hooks: &Hooks,
    notes: &mut Notes,
) -> anyhow::Result<Connection> {
    let target = &session.target;
    let (reader, writer) = match access {
        Access::Read => (target.reader(hooks)?, None),
        Access::Write => {
            let writer = target.writer(hooks)?;
            (writer.reader(), Some(writer))
        }
    };
    let features = super::features(&reader, target.profile, access, notes).await;
    Ok(Connection {
        session,
        reader,
        writer,
        features,
    })
}

/// Reads live state: every user and group, or with `changed` only the objects it names (by
/// filter), with the scope the planner then keeps to.
pub async fn read(
    reader: &ReadClient,
    config: &Config,
    changed: Option<&Changed>,
    hooks: &Hooks,
    notes: &mut Notes,
) -> anyhow::Result<(Live, Scope)> {
    match changed {
        Some(changed) => {
            let live = changed::read_scoped(reader, config, changed)
                .await
                .map_err(explain)?;
            let unmatched = changed.unmatched_targets(config, &live);
            if !unmatched.is_empty() {
                anyhow::bail!(
                    "{}; nothing was sent: check the address against `roster plan` (it is \
                     written as the plan prints it), or declare the object",
                    unmatched.join("\n")
                );
            }
            Ok((live, changed.scope()))
        }
        None => {
            let live = super::read_live_with(reader, hooks.progress.clone(), notes)
                .await
                .map_err(explain)?;
            Ok((live, Scope::default()))
        }
    }
}

impl Planned {
    /// Saves the plan for `show` and `apply` (`plan --out`), with its provenance.
    pub fn save(&self, loaded: &Loaded, path: &Path) -> anyhow::Result<()> {
        let provenance = Provenance {
            roster_version: env!("CARGO_PKG_VERSION").into(),
            created_at: super::now_rfc3339(),
            config_digest: loaded.digest(),
            git_commit: super::git_commit(&loaded.config.dir),
            target: self.connection.session.target_id(),
        };
        let saved = SavedPlan::new(&self.plan, &self.live, &loaded.config, provenance)
            .with_targets(self.targets.clone());
        crate::fsio::write_atomic(path, &saved.to_file())
            .with_context(|| format!("cannot write the plan to `{}`", path.display()))
    }
}

/// A saved plan for `show`: the file, with warnings when it would not pass apply's checks or
/// the config in `dir` changed since it was made. Reads no network.
pub fn review(dir: &Path, path: &Path, notes: &mut Notes) -> anyhow::Result<SavedPlan> {
    let file: PlanFile = super::read_saved_plan(path)?;
    if let Err(problems) = integrity::check(&file, None) {
        let mut warning = format!(
            "`{}` does not pass apply's checks; apply will refuse it:",
            path.display()
        );
        for p in &problems {
            warning.push_str(&format!("\n  - {p}"));
        }
        notes.warn(warning);
    }
    let saved = file.saved;
    if let Ok(loaded) = load(dir)
        && loaded.digest() != saved.config_digest
    {
        notes.warn(format!(
            "the config in `{}` changed since this plan was made ({}); apply will refuse it",
            dir.display(),
            saved.created_at
        ));
    }
    Ok(saved)
}
