//! `roster apply [PLAN_FILE]`: prepare (a saved plan checked, or a fresh one made; the gates),
//! show a fresh plan and ask, carry it out, and report every outcome. The steps are
//! [`crate::ops::apply`]'s.

use std::sync::Arc;

use anyhow::bail;

use super::Outcome;
use crate::apply::{ApplyReport, StepResult};
use crate::cli::{ApplyArgs, GlobalArgs};
use crate::config::model::Profile;
use crate::ops;
use crate::ops::apply::{self as op, Prepared};
use crate::output::{self, say};
use crate::render;

pub fn run(global: &GlobalArgs, args: &ApplyArgs) -> anyhow::Result<Outcome> {
    let Some(mut loaded) = super::load_config(global)? else {
        return Ok(Outcome::Failed);
    };
    if args.plan_file.is_none() && !args.auto_approve && !output::interactive() {
        bail!(
            "apply without a plan file asks for confirmation, and there is no terminal to ask on: \
             pass --auto-approve, or apply a reviewed plan with `roster apply PLAN_FILE`"
        );
    }
    if args.plan_file.is_some() && args.changed_since.is_some() && !args.replan {
        bail!(
            "--changed-since with a plan file needs --replan: a saved plan is applied as it was \
             reviewed, and --changed-since scopes the fresh plan --replan compares it with"
        );
    }
    let rt = ops::runtime()?;
    let connect = super::connect(&args.target);
    let prepared = super::operate(&rt, global, &mut loaded, async |loaded, hooks, notes| {
        let request = op::Request {
            plan_file: args.plan_file.as_deref(),
            connect: &connect,
            changed_since: args.changed_since.as_deref(),
            targets: &args.targets,
            replan: args.replan,
            allow_deprovisions: args.allow_deprovisions,
            audit_log: args.audit_log.as_deref(),
            hooks,
            now: ops::now_secs(),
            expired_only: args.expired_only,
        };
        op::prepare(loaded, &request, notes).await
    });
    let ready = match prepared? {
        Prepared::Invalid => return Ok(Outcome::Failed),
        Prepared::Refused(refusal) => {
            say!("error: {}; nothing was applied:", refusal.what);
            for r in &refusal.reasons {
                say!("  - {r}");
            }
            say!("  hint: {}", refusal.hint);
            return Ok(Outcome::Failed);
        }
        Prepared::Ready(ready) => ready,
    };
    if ready.fresh {
        // Shown before anything is sent: a plan that cannot be shown is not applied.
        render::text::render_with(
            &ready.plan,
            output::stdout_color(),
            global.verbose > 0,
            &mut output::stdout(),
        )?;
    }
    if !ready.gates.is_empty() {
        for r in &ready.gates {
            say!("error: {r}");
        }
        say!("nothing was applied");
        return Ok(Outcome::Failed);
    }
    if !ready.plan.has_changes() {
        say!("Nothing to apply.");
        return Ok(Outcome::Success);
    }
    if ready.fresh && !args.auto_approve && !confirm(ready.profile)? {
        say!("Apply cancelled; nothing was applied.");
        return Ok(Outcome::Failed);
    }
    let progress = output::Progress::steps(ready.plan.changes.len());
    let step = progress.stepper();
    let on_step = Arc::new(move |r: &StepResult| step(&r.change.address()));
    let applied = rt.block_on(op::execute(ready, on_step));
    progress.finish();
    print_report(&applied.report, &applied.run_id);
    say!("Rate budget: {}.", applied.usage);
    if let (Some(why), Some(path)) = (&applied.report.audit_failure, &args.audit_log) {
        say!(
            "error: the audit log `{}` could not be written ({why}): apply stopped sending \
             changes; {} were not sent. Free the space (or fix the file) and run apply again",
            path.display(),
            applied.report.not_sent()
        );
    }
    if global.verbose > 0 {
        say!("requests: {}", applied.requests);
    }
    Ok(if applied.report.failed() {
        Outcome::Failed
    } else {
        Outcome::Success
    })
}

fn confirm(profile: Profile) -> anyhow::Result<bool> {
    let warning = match profile {
        Profile::Asana => " Deprovisioning is irreversible.",
        Profile::Generic => "",
    };
    let answer = output::ask(format_args!(
        "\nDo you want to perform these actions in {}?{warning}\n  Only 'yes' will be accepted: ",
        profile.target_name()
    ))?;
    Ok(answer.trim() == "yes")
}

fn print_report(report: &ApplyReport, run_id: &str) {
    for line in report.display(run_id).to_string().lines() {
        say!("{line}");
    }
}
