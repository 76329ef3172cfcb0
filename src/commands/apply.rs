//! `roster apply [PLAN_FILE]`: run the gates, then carry out the plan and report every outcome.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, bail};

use super::Outcome;
use crate::apply::{self, ApplyReport, Status, audit::AuditLog, gates, stale};
use crate::cli::{ApplyArgs, GlobalArgs};
use crate::config::model::Profile;
use crate::ops;
use crate::plan::{self, Capabilities, Plan, Scope};
use crate::render;
use crate::scim::client::Features;

pub fn run(global: &GlobalArgs, args: &ApplyArgs) -> anyhow::Result<Outcome> {
    let Some((mut config, mut report)) = super::load_config(global)? else {
        return Ok(Outcome::Failed);
    };
    let saved = match &args.plan_file {
        Some(path) => Some(ops::read_saved_plan(path)?),
        None => None,
    };
    if let Some(saved) = &saved
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
        let client = session.target.writer(global.verbose)?;
        let reader = client.reader();
        let profile = session.target.profile;
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
        let (plan, etags) = match &saved {
            Some(saved) if saved.plan.profile != profile => {
                eprintln!(
                    "error: the plan was made for the {} profile and roster.yaml now names the {} \
                     profile; nothing was applied",
                    saved.plan.profile.as_str(),
                    profile.as_str()
                );
                eprintln!("  hint: run `roster plan --out FILE` again and review the new plan");
                return Ok(Outcome::Failed);
            }
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
        if let Err(refusals) = gates::check(
            &plan,
            &config.settings.policy,
            declared_users(&config, &plan, saved.is_some()),
            args.allow_deprovisions,
        ) {
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
        let run_id = run_id();
        let audit = match &args.audit_log {
            Some(path) => Some(Arc::new(
                AuditLog::create(path, run_id.clone())
                    .with_context(|| format!("cannot open the audit log `{}`", path.display()))?,
            )),
            None => None,
        };
        let total = plan.changes.len();
        let done = Arc::new(AtomicUsize::new(0));
        let progress = interactive && std::env::var_os("CI").is_none();
        let on_step = {
            let done = done.clone();
            let audit = audit.clone();
            move |r: &apply::StepResult| {
                if let Some(a) = &audit {
                    a.write(r);
                }
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
            now: Arc::new(ops::now_rfc3339),
        };
        let report = apply::execute(&plan, &client, options).await;
        if progress {
            eprintln!();
        }
        print_report(&plan, &report, &run_id);
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

fn print_report(_plan: &Plan, report: &ApplyReport, run_id: &str) {
    let s = apply::summary(report);
    eprintln!(
        "Apply {run_id}: {} done, {} failed, {} skipped.",
        s["done"], s["failed"], s["skipped"]
    );
    for r in &report.results {
        match r.status {
            Status::Failure => eprintln!(
                "  failed: {} {}: {}",
                r.change.address(),
                r.change.action.as_str(),
                r.error.as_deref().unwrap_or("unknown error")
            ),
            Status::Skipped => eprintln!(
                "  skipped: {} {}: {}",
                r.change.address(),
                r.change.action.as_str(),
                r.error.as_deref().unwrap_or("")
            ),
            Status::Success => {
                if let Some(note) = &r.note {
                    eprintln!(
                        "  note: {} {}: {note}",
                        r.change.address(),
                        r.change.action.as_str()
                    );
                }
            }
        }
    }
    if report.failed() {
        eprintln!("Run `roster plan` to see what is left; a re-run of apply converges.");
    }
}

/// How many users the config wants, for the empty-config gate. Users out of Entra's scope are
/// there only to be deprovisioned and do not count. A saved plan made in live mode was made
/// with what Entra gave then, which this run did not read: its own verdict stands.
fn declared_users(config: &crate::config::Config, plan: &Plan, saved: bool) -> usize {
    let live = config
        .settings
        .entra
        .as_ref()
        .is_some_and(|e| e.mode == crate::config::model::EntraMode::Live);
    if saved && live {
        usize::from(!plan.deprovision_gate.empty_desired)
    } else {
        config.users.iter().filter(|u| u.in_scope).count()
    }
}
