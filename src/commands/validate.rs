//! `roster validate`: check the config directory and report every problem. No network, ever.

use std::io::Write;

use super::Outcome;
use crate::cli::{GlobalArgs, ValidateArgs};
use crate::config;
use crate::diagnostics::{self, DiagnosticFormat};

pub fn run(global: &GlobalArgs, args: &ValidateArgs) -> anyhow::Result<Outcome> {
    let at = args.at.unwrap_or_else(crate::ops::now_secs);
    let (config, report) = config::load::load_at(&global.config_dir, Some(at));
    match args.format {
        DiagnosticFormat::Text => diagnostics::render(
            &report,
            DiagnosticFormat::Text,
            crate::output::stderr_color(),
            &mut crate::output::stderr(),
        )?,
        DiagnosticFormat::Github => diagnostics::render(
            &report,
            DiagnosticFormat::Github,
            false,
            &mut crate::output::stdout(),
        )?,
    }
    let mut err = crate::output::stderr();
    match config {
        Some(config) => {
            writeln!(
                err,
                "{}: valid: {} users, {} groups, {} user mappings",
                global.config_dir.display(),
                config.users.len(),
                config.groups.len(),
                config.settings.user_mappings.len()
            )?;
            Ok(Outcome::Success)
        }
        None => {
            let n = report.error_count();
            writeln!(
                err,
                "{}: {n} problem{} found",
                global.config_dir.display(),
                if n == 1 { "" } else { "s" }
            )?;
            Ok(Outcome::Failed)
        }
    }
}
