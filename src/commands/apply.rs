//! `roster apply [PLAN_FILE]`: run the gates, then carry out the plan and report every outcome.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, bail};

use super::Outcome;
use crate::apply::{self, ApplyReport, audit::AuditLog, gates, stale};
use crate::cli::{ApplyArgs, GlobalArgs};
use crate::config::model::Profile;
use crate::ops;
use crate::plan::{self, Capabilities, Plan, Scope, integrity};
use crate::render;
use crate::scim::client::Features;

pub fn run(global: &GlobalArgs, args: &ApplyArgs) -> anyhow::Result<Outcome> {
    let Some((mut config, mut report)) = super::load_config(global)? else {
        return Ok(Outcome::Failed);
    };
    let file = match &args.plan_file {
        Some(path) => Some(ops::read_saved_plan(path)?),
        None => None,
    };
    let saved = file.as_ref().map(|f| &f.saved);
    if let Some(saved) = saved
        && super::config_digest(global, &report) != saved.config_digest
    {
        eprintln!(
            "note: the config changed since this plan was made; apply carries out the plan as reviewed"
        );
    }
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if saved.is_none() && !args.auto_approve && !interactive {
        bail!(
            "apply without a plan file asks for confirmation, and there is no terminal to ask on: \
             pass --auto-approve, or apply a reviewed plan with `roster apply PLAN_FILE`"
        );
    }
    // The audit log is opened before any request: a path that cannot be one stops apply here.
    let run_id = run_id();
    let audit = match &args.audit_log {
        Some(path) => Some(open_audit_log(
            path,
            &run_id,
            saved.and_then(|s| s.digest.as_deref()),
        )?),
        None => None,
    };
    let rt = ops::runtime()?;
    ops::entra::refuse_changed_since(&config, args.changed_since.as_deref())?;
    // A saved plan already holds what Entra gave when it was made; only a fresh plan reads it.
    if saved.is_none()
        && !rt.block_on(ops::entra::merge_live(
            &mut config,
            &mut report,
            global.verbose,
        ))?
    {
        return Ok(Outcome::Failed);
    }
    rt.block_on(async {
        let session = super::open(&config, &args.target).await?;
        let profile = session.target.profile;
        if let (Some(file), Some(path)) = (&file, &args.plan_file) {
            // Before any request: the file is the one roster wrote, for this target and
            // profile, and self-consistent.
            let mut refusals =
                integrity::check(file, Some(&session.target_id())).err().unwrap_or_default();
            if file.saved.plan.profile != profile {
                refusals.push(format!(
                    "the plan was made for the {} profile and roster.yaml now names the {} profile",
                    file.saved.plan.profile.as_str(),
                    profile.as_str()
                ));
            }
            if !refusals.is_empty() {
                eprintln!(
                    "error: the plan file `{}` cannot be applied; nothing was applied:",
                    path.display()
                );
                for r in &refusals {
                    eprintln!("  - {r}");
                }
                eprintln!("  hint: run `roster plan --out FILE` again and review the new plan");
                return Ok(Outcome::Failed);
            }
        }
        let client = session.target.writer(global.verbose)?;
        let reader = client.reader();
        let features = match profile {
            // Everything as the server advertises it: PATCH or PUT, filters, page size, ETags.
            Profile::Generic => ops::features(&reader, profile).await,
            // Asana's documented behaviour, and ETags if its configuration advertises them.
            Profile::Asana => Features {
                etag: reader
                    .service_provider_config()
                    .await
                    .ok()
                    .and_then(|spc| spc.0.get("etag")?.get("supported")?.as_bool())
                    .unwrap_or(false),
                ..Features::ASANA
            },
        };
        let (plan, etags) = match saved {
            Some(saved) => {
                let fresh = stale::check(saved, &reader).await.map_err(ops::explain)?;
                if !fresh.changed.is_empty() {
                    eprintln!("error: the plan is stale; nothing was applied:");
                    for c in &fresh.changed {
                        eprintln!("  - {c}");
                    }
                    eprintln!("  hint: run `roster plan --out FILE` again and review the new plan");
                    return Ok(Outcome::Failed);
                }
                (saved.plan.to_plan(), fresh.etags)
            }
            None => {
                let (live, scope) = match &args.changed_since {
                    Some(git_ref) => {
                        let changed = ops::changed::since(&global.config_dir, git_ref)?;
                        let live = ops::changed::read_scoped(&reader, &config, &changed)
                            .await
                            .map_err(ops::explain)?;
                        (live, changed.scope())
                    }
                    None => (
                        ops::read_live(&reader).await.map_err(ops::explain)?,
                        Scope::default(),
                    ),
                };
                let plan = plan::plan(&config, &live, Capabilities::of(profile), &scope);
                let etags = apply::etags(&plan, &live);
                render::text::render(&plan, super::stdout_color(), &mut crate::output::stdout())?;
                (plan, etags)
            }
        };
        let mut refusals = gates::check(
            &plan,
            &config.settings.policy,
            declared_users(&config, &plan, saved.is_some()),
            args.allow_deprovisions,
        )
        .err()
        .unwrap_or_default();
        // A fresh plan comes from this config; a saved one must not deprovision a user it
        // keeps (in Entra live mode the config alone does not say who is in scope).
        if saved.is_some() && !live_mode(&config) {
            refusals.extend(gates::contradicted_deprovisions(&plan, &config));
        }
        if !refusals.is_empty() {
            for r in refusals {
                eprintln!("error: {r}");
            }
            eprintln!("nothing was applied");
            return Ok(Outcome::Failed);
        }
        if !plan.has_changes() {
            eprintln!("Nothing to apply.");
            return Ok(Outcome::Success);
        }
        if saved.is_none() && !args.auto_approve && !confirm(profile)? {
            eprintln!("Apply cancelled; nothing was applied.");
            return Ok(Outcome::Failed);
        }
        let total = plan.changes.len();
        let done = Arc::new(AtomicUsize::new(0));
        let progress = interactive && std::env::var_os("CI").is_none();
        let on_step = {
            let done = done.clone();
            move |r: &apply::StepResult| {
                let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                if progress {
                    let width = 30;
                    let filled = n * width / total.max(1);
                    eprint!(
                        "\r[{}{}] {n}/{total} {}",
                        "#".repeat(filled),
                        " ".repeat(width - filled),
                        r.change.address()
                    );
                    let _ = std::io::stderr().flush();
                }
            }
        };
        let options = apply::Options {
            target: apply::Target { profile, features },
            deprovision_with: config.settings.policy.deprovision_with,
            etags: if features.etag {
                etags
            } else {
                Default::default()
            },
            concurrency: 15,
            on_step: Arc::new(on_step),
            audit: audit.clone(),
            now: Arc::new(ops::now_rfc3339),
        };
        let report = apply::execute(&plan, &client, options).await;
        if progress {
            eprintln!();
        }
        if let Some(audit) = &audit {
            let _ = audit.end(&ops::now_rfc3339(), &report);
        }
        print_report(&report, &run_id);
        if let (Some(why), Some(path)) = (&report.audit_failure, &args.audit_log) {
            let unsent = report.not_sent();
            eprintln!(
                "error: the audit log `{}` could not be written ({why}): apply stopped sending \
                 changes; {unsent} were not sent. Free the space (or fix the file) and run apply again",
                path.display()
            );
        }
        if global.verbose > 0 {
            eprintln!("requests: {}", client.stats().snapshot());
        }
        Ok(if report.failed() {
            Outcome::Failed
        } else {
            Outcome::Success
        })
    })
}

/// Opens the audit log, writes its `start` line, and warns about changes earlier runs left
/// without an outcome in it.
fn open_audit_log(path: &Path, run_id: &str, plan: Option<&str>) -> anyhow::Result<Arc<AuditLog>> {
    let (log, unfinished) = AuditLog::open(path, run_id.to_string())
        .with_context(|| format!("cannot open the audit log `{}`", path.display()))?;
    if !unfinished.is_empty() {
        eprintln!(
            "warning: the audit log `{}` has {} change(s) that an earlier run started and never \
             recorded the outcome of (it was killed or lost its log mid-change); they may or may \
             not have reached the target:",
            path.display(),
            unfinished.len()
        );
        for u in &unfinished {
            eprintln!(
                "  - {} {} (run {}, {})",
                u.object, u.action, u.run_id, u.time
            );
        }
    }
    log.start(&ops::now_rfc3339(), plan, &unfinished)
        .map_err(|why| {
            anyhow::anyhow!(
                "cannot write the audit log `{}`: {why}; nothing was sent",
                path.display()
            )
        })?;
    Ok(Arc::new(log))
}

fn confirm(profile: Profile) -> anyhow::Result<bool> {
    let warning = match profile {
        Profile::Asana => " Deprovisioning is irreversible.",
        Profile::Generic => "",
    };
    eprint!(
        "\nDo you want to perform these actions in {}?{warning}\n  Only 'yes' will be accepted: ",
        profile.target_name()
    );
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(answer.trim() == "yes")
}

fn run_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{:x}-{:x}", nanos, std::process::id())
}

fn print_report(report: &ApplyReport, run_id: &str) {
    eprint!("{}", report.display(run_id));
}

/// Whether users come from Entra live (merged on each run, so the YAML alone is not the set).
fn live_mode(config: &crate::config::Config) -> bool {
    config
        .settings
        .entra
        .as_ref()
        .is_some_and(|e| e.mode == crate::config::model::EntraMode::Live)
}

/// How many users the config wants, for the empty-config gate. Users out of Entra's scope are
/// there only to be deprovisioned and do not count. A saved plan made in live mode was made
/// with what Entra gave then, which this run did not read: its own verdict stands.
fn declared_users(config: &crate::config::Config, plan: &Plan, saved: bool) -> usize {
    if saved && live_mode(config) {
        usize::from(!plan.deprovision_gate.empty_desired)
    } else {
        config.users.iter().filter(|u| u.in_scope).count()
    }
}
