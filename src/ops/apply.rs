//! `roster apply` as an operation, in two steps around what the command does in between
//! (show a fresh plan, ask for confirmation):
//!
//! 1. [`prepare`]: the audit log opened before any request; a saved plan checked against this
//!    target (digest, profile, self-consistency) before any request, against live state
//!    (stale) and, with `--replan`, against a fresh plan made by the same steps as
//!    [`pipeline::plan`] on the same connection, compared as change sets
//!    ([`crate::wire::replan`]); or a fresh plan made by [`pipeline::plan`] with the client
//!    that will write; then the gates.
//! 2. [`execute`]: the executor ([`crate::apply::execute`]) with the target's features and the
//!    ETags the plan saw, the audit log closed, the report returned.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;

use super::pipeline::{self, Connection, Loaded, Planning};
use super::{Access, Connect, Hooks, Notes, explain, now_rfc3339};
use crate::apply::{self, ApplyReport, StepResult, audit::AuditLog, gates, stale};
use crate::config::Config;
use crate::config::model::{EntraMode, Profile};
use crate::plan::{Change, Plan};
use crate::scim::client::{StatsSnapshot, Usage, WriteClient};
use crate::wire::declarations::Declarations;
use crate::wire::saved::PlanFile;
use crate::wire::{integrity, replan};

/// What apply is asked to do.
pub struct Request<'a> {
    /// A plan saved by `roster plan --out`; without one, apply plans first.
    pub plan_file: Option<&'a Path>,
    pub connect: &'a Connect,
    /// Without a plan file: plan only what changed since this ref. With `replan`: the fresh
    /// plan reads and plans what changed since it, and every object the saved plan changes.
    pub changed_since: Option<&'a str>,
    /// `--replan`: before any write, plan again and refuse a saved plan that differs.
    pub replan: bool,
    /// `--allow-deprovisions N`.
    pub allow_deprovisions: Option<u64>,
    pub audit_log: Option<&'a Path>,
    pub hooks: &'a Hooks,
    /// Now, in seconds since the epoch: a fresh plan is evaluated at it, and a saved plan
    /// evaluated after it (`plan --at` ahead) is refused.
    pub now: i64,
    /// `--expired-only`: the fresh plan keeps only what expiry causes.
    pub expired_only: bool,
}

/// Where [`prepare`] ended.
pub enum Prepared {
    /// Entra's merge found errors (they are in the notes): nothing was sent to the target.
    Invalid,
    /// The saved plan may not be applied here, or is stale: nothing was sent but reads.
    Refused(Refusal),
    Ready(Box<Ready>),
}

/// Why a saved plan is refused.
pub struct Refusal {
    /// What is refused (`the plan file `plan.json` cannot be applied`, `the plan is stale`).
    pub what: String,
    pub reasons: Vec<String>,
    /// What to do about it.
    pub hint: &'static str,
}

/// What to do about a saved plan that is refused.
const PLAN_AGAIN: &str = "run `roster plan --out FILE` again and review the new plan";

/// What to do about a saved plan a fresh plan does not agree with (`--replan`).
const REVIEW_AGAIN: &str = "the config or the target moved on since this plan was reviewed: \
    plan again on a new pull request (or `roster plan --out FILE`), review that plan, and apply it";

/// Why `--replan` refuses a plan file made before saved plans recorded their declarations.
const NO_DECLARATIONS: &str = "the plan file records no digest of the declarations it was \
    made from (it was made by an older roster), so --replan cannot tell a change in the config \
    from drift in the target: run `roster plan --out FILE` again with this roster";

/// A plan that may be applied once the gates pass (and, for a fresh plan, someone confirmed).
pub struct Ready {
    pub plan: Plan,
    /// Made now rather than read from a file: the command shows it, and asks before applying.
    pub fresh: bool,
    /// What the gates refuse; when any, nothing may be sent.
    pub gates: Vec<String>,
    pub profile: Profile,
    /// Names this run in the audit log and the report.
    pub run_id: String,
    connection: Connection,
    writer: WriteClient,
    etags: std::collections::HashMap<String, String>,
    audit: Option<Arc<AuditLog>>,
    deprovision_with: crate::config::model::DeprovisionWith,
}

/// What [`execute`] did.
pub struct Applied {
    pub report: ApplyReport,
    pub run_id: String,
    /// The requests the client sent, for `-v`.
    pub requests: StatsSnapshot,
    /// The per-minute budget and what was used of it, for the summary.
    pub usage: Usage,
}

/// Everything apply does before it may send a change; see the module's documentation.
pub async fn prepare(
    loaded: &mut Loaded,
    request: &Request<'_>,
    notes: &mut Notes,
) -> anyhow::Result<Prepared> {
    let file = request.plan_file.map(super::read_saved_plan).transpose()?;
    if let Some(file) = &file
        && loaded.digest() != file.saved.config_digest
    {
        notes.info(if request.replan {
            "note: the config changed since this plan was made; --replan compares the plan \
             with a fresh one before anything is sent"
        } else {
            "note: the config changed since this plan was made; apply carries out the plan as \
             reviewed"
        });
    }
    // The audit log is opened before any request: a path that cannot be one stops apply here.
    let run_id = run_id();
    let audit = match request.audit_log {
        Some(path) => Some(open_audit_log(
            path,
            &run_id,
            file.as_ref().and_then(|f| f.saved.digest.as_deref()),
            notes,
        )?),
        None => None,
    };
    let (plan, etags, connection) = match (&file, request.plan_file) {
        (Some(file), Some(path)) => {
            let session = super::open(&loaded.config, request.connect).await?;
            // Before any request: the file is the one roster wrote, for this target and
            // profile, and self-consistent.
            let mut reasons = refusals(file, &session.target_id(), session.target.profile);
            reasons.extend(evaluated_ahead(&file.saved.plan.to_plan(), request.now));
            if request.replan && file.saved.declarations.is_none() {
                reasons.push(NO_DECLARATIONS.into());
            }
            if !reasons.is_empty() {
                return Ok(Prepared::Refused(Refusal {
                    what: format!("the plan file `{}` cannot be applied", path.display()),
                    reasons,
                    hint: PLAN_AGAIN,
                }));
            }
            let plan = file.saved.plan.to_plan();
            // --replan: the config merged and scoped before connecting, as `plan` does.
            let merged = if request.replan {
                let Some(merged) = replan_scope(loaded, request, &plan, notes).await? else {
                    return Ok(Prepared::Invalid);
                };
                Some(merged)
            } else {
                None
            };
            let connection =
                pipeline::connect(session, Access::Write, request.hooks, notes).await?;
            let fresh = stale::check(&file.saved, &connection.reader)
                .await
                .map_err(explain)?;
            if !fresh.changed.is_empty() {
                return Ok(Prepared::Refused(Refusal {
                    what: "the plan is stale".into(),
                    reasons: fresh.changed,
                    hint: PLAN_AGAIN,
                }));
            }
            if let (Some(merged), Some(declarations)) = (merged, &file.saved.declarations) {
                let saved = (&plan, declarations);
                if let Some(refusal) =
                    check_replan(&connection, &loaded.config, saved, &merged, request, notes)
                        .await?
                {
                    return Ok(Prepared::Refused(refusal));
                }
            }
            (plan, fresh.etags, connection)
        }
        _ => {
            let planning = pipeline::plan(
                loaded,
                &pipeline::Request {
                    connect: request.connect,
                    changed_since: request.changed_since,
                    access: Access::Write,
                    hooks: request.hooks,
                    at: request.now,
                    expired_only: request.expired_only,
                },
                notes,
            )
            .await?;
            let Planning::Planned(planned) = planning else {
                return Ok(Prepared::Invalid);
            };
            let etags = apply::etags(&planned.plan, &planned.live);
            (planned.plan, etags, planned.connection)
        }
    };
    let config = &loaded.config;
    let saved = file.is_some();
    let mut gates = gates::check(
        &plan,
        &config.settings.policy,
        declared_users(config, &plan, saved),
        request.allow_deprovisions,
    )
    .err()
    .unwrap_or_default();
    // A fresh plan comes from this config; a saved one must not deprovision a user it keeps
    // (in Entra live mode the config alone does not say who is in scope).
    if saved && !live_mode(config) {
        gates.extend(gates::contradicted_deprovisions(&plan, config));
    }
    let writer = connection
        .writer
        .clone()
        .context("apply connected without a client that can write")?;
    Ok(Prepared::Ready(Box::new(Ready {
        plan,
        fresh: !saved,
        gates,
        profile: connection.session.target.profile,
        run_id,
        connection,
        writer,
        etags,
        audit,
        deprovision_with: config.settings.policy.deprovision_with,
    })))
}

/// Carries out a [`Ready`] plan whose gates passed; `on_step` is called as each change ends.
pub async fn execute(
    ready: Box<Ready>,
    on_step: Arc<dyn Fn(&StepResult) + Send + Sync>,
) -> Applied {
    let Ready {
        plan,
        run_id,
        connection,
        writer,
        etags,
        audit,
        deprovision_with,
        profile,
        ..
    } = *ready;
    let features = connection.features;
    let options = apply::Options {
        target: apply::Target { profile, features },
        deprovision_with,
        etags: if features.etag {
            etags
        } else {
            Default::default()
        },
        concurrency: 15,
        on_step,
        audit: audit.clone(),
        now: Arc::new(now_rfc3339),
    };
    let report = apply::execute(&plan, &writer, options).await;
    if let Some(audit) = &audit {
        let _ = audit.end(&now_rfc3339(), &report);
    }
    Applied {
        report,
        run_id,
        requests: writer.stats().snapshot(),
        usage: writer.usage(),
    }
}

/// How far ahead of this machine's clock a saved plan's instant may be (another machine's
/// clock) before it counts as evaluated in the future.
const CLOCK_SKEW_SECS: i64 = 300;

/// A saved plan evaluated after `now` (`plan --at` a later instant): a what-if, whose
/// expiries have not come yet, so applying it would end access early. Refused.
fn evaluated_ahead(plan: &Plan, now: i64) -> Option<String> {
    (plan.evaluated_at > now + CLOCK_SKEW_SECS).then(|| {
        format!(
            "the plan was evaluated as of {}, which is still ahead (it is {}): a plan made with \
             `--at` a later instant is for review, and applying it would end access before it \
             expires; plan again without --at",
            crate::civil_time::rfc3339(plan.evaluated_at as u64),
            crate::civil_time::rfc3339(u64::try_from(now).unwrap_or(0)),
        )
    })
}

/// `--replan`'s steps before connecting: Entra merged in live mode, and with
/// `--changed-since` the changed declarations, plus every object the saved plan changes, so
/// that each saved change is planned again. `None` when Entra's merge found errors.
async fn replan_scope(
    loaded: &mut Loaded,
    request: &Request<'_>,
    saved: &Plan,
    notes: &mut Notes,
) -> anyhow::Result<Option<pipeline::Merged>> {
    let Some(mut merged) =
        pipeline::merge_and_scope(loaded, request.changed_since, request.hooks, notes).await?
    else {
        return Ok(None);
    };
    if let Some(changed) = &mut merged.changed {
        for c in &saved.changes {
            changed.include(&loaded.config, c.kind, &c.key);
        }
    }
    Ok(Some(merged))
}

/// `--replan` on the connection apply writes with: reads what `merged` says and plans as
/// `plan` does, and compares that plan with the saved one (with the declarations it was made
/// from). A difference is the refusal returned; changes from drift alone become a warning.
async fn check_replan(
    connection: &Connection,
    config: &Config,
    (saved, declarations): (&Plan, &Declarations),
    merged: &pipeline::Merged,
    request: &Request<'_>,
    notes: &mut Notes,
) -> anyhow::Result<Option<Refusal>> {
    let changed = merged.changed.as_ref();
    // At the instant the saved plan was evaluated at: the comparison is of the config and the
    // target, and an expiry that has come since is the next plan's to carry out.
    let at = saved.evaluated_at;
    let (_, _, fresh) = pipeline::read_and_plan(
        connection,
        config,
        changed,
        (at, false),
        request.hooks,
        notes,
    )
    .await?;
    let comparison = replan::compare(saved, declarations, &fresh, &Declarations::of(config));
    if !comparison.differences.is_empty() {
        return Ok(Some(Refusal {
            what: "the reviewed plan differs from a fresh plan of the config and the target \
                   (--replan)"
                .into(),
            reasons: comparison
                .differences
                .iter()
                .map(ToString::to_string)
                .collect(),
            hint: REVIEW_AGAIN,
        }));
    }
    if !comparison.drift.is_empty() {
        notes.warn(drift_warning(&comparison.drift));
    }
    Ok(None)
}

/// The warning for changes a fresh plan has besides the saved ones, from drift alone.
fn drift_warning(drift: &[Change]) -> String {
    let mut warning = format!(
        "a fresh plan also has {} change(s) in objects whose declarations are as they were \
         when the plan was made (the target changed since, or a --changed-since plan did not \
         look at them); they are not applied now and are left for the next plan:",
        drift.len()
    );
    for c in drift {
        warning.push_str(&format!("\n  - {}", replan::describe(c)));
    }
    warning
}

/// Why a saved plan may not be applied to this target, checked before any request.
fn refusals(file: &PlanFile, target_id: &str, profile: Profile) -> Vec<String> {
    let mut refusals = integrity::check(file, Some(target_id))
        .err()
        .unwrap_or_default();
    if file.saved.plan.profile() != profile {
        refusals.push(format!(
            "the plan was made for the {} profile and roster.yaml now names the {} profile",
            file.saved.plan.profile().as_str(),
            profile.as_str()
        ));
    }
    refusals
}

/// Opens the audit log, writes its `start` line, and warns about changes earlier runs left
/// without an outcome in it.
fn open_audit_log(
    path: &Path,
    run_id: &str,
    plan: Option<&str>,
    notes: &mut Notes,
) -> anyhow::Result<Arc<AuditLog>> {
    let (log, unfinished) = AuditLog::open(path, run_id.to_string())
        .with_context(|| format!("cannot open the audit log `{}`", path.display()))?;
    if !unfinished.is_empty() {
        let mut warning = format!(
            "the audit log `{}` has {} change(s) that an earlier run started and never \
             recorded the outcome of (it was killed or lost its log mid-change); they may or may \
             not have reached the target:",
            path.display(),
            unfinished.len()
        );
        for u in &unfinished {
            warning.push_str(&format!(
                "\n  - {} {} (run {}, {})",
                u.object, u.action, u.run_id, u.time
            ));
        }
        notes.warn(warning);
    }
    log.start(&now_rfc3339(), plan, &unfinished)
        .map_err(|why| {
            anyhow::anyhow!(
                "cannot write the audit log `{}`: {why}; nothing was sent",
                path.display()
            )
        })?;
    Ok(Arc::new(log))
}

/// A name for this run: the time and the process.
fn run_id() -> String {
    let nanos = crate::http::unix_now().as_nanos();
    format!("{:x}-{:x}", nanos, std::process::id())
}

/// Whether users come from Entra live (merged on each run, so the YAML alone is not the set).
fn live_mode(config: &Config) -> bool {
    config
        .settings
        .entra
        .as_ref()
        .is_some_and(|e| e.mode == EntraMode::Live)
}

/// How many users the config wants, for the empty-config gate. Users out of Entra's scope are
/// there only to be deprovisioned and do not count. A saved plan made in live mode was made
/// with what Entra gave then, which this run did not read: its own verdict stands.
fn declared_users(config: &Config, plan: &Plan, saved: bool) -> usize {
    if saved && live_mode(config) {
        usize::from(!plan.deprovision_gate.empty_desired)
    } else {
        config.users.iter().filter(|u| u.in_scope).count()
    }
}
