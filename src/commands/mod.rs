//! One module per subcommand: parse nothing, call one operation, write its result.
//!
//! Commands return an [`Outcome`]; `main` maps it to the exit code, in one place.

pub mod apply;
pub mod check;
pub mod drift;
pub mod emulator;
pub mod import;
pub mod import_entra;
pub mod plan;
pub mod schema;
pub mod show;
pub mod validate;

use std::io::IsTerminal;

use crate::cli::{Cli, Command, GlobalArgs};
use crate::config::Config;
use crate::diagnostics::{self, DiagnosticFormat, Report};

/// How a command ended, which decides the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Done, nothing to change: exit 0.
    Success,
    /// Changes or drift found: exit 2.
    Changes,
    /// Problems already reported to the user: exit 1.
    Failed,
}

impl Outcome {
    pub fn exit_code(self) -> u8 {
        match self {
            Outcome::Success => 0,
            Outcome::Failed => 1,
            Outcome::Changes => 2,
        }
    }
}

pub fn run(cli: Cli) -> anyhow::Result<Outcome> {
    match cli.command {
        Command::Validate(args) => validate::run(&cli.global, &args),
        Command::Plan(args) => plan::run(&cli.global, &args),
        Command::Apply(args) => apply::run(&cli.global, &args),
        Command::Drift(args) => drift::run(&cli.global, &args),
        Command::Import(cmd) => import::run(&cli.global, &cmd),
        Command::Show(args) => show::run(&cli.global, &args),
        Command::Check(args) => check::run(&cli.global, &args),
        Command::Schema(args) => schema::run(&args),
        Command::Emulator(args) => emulator::run(&cli.global, &args),
    }
}

/// Colour only on a terminal, and never with `NO_COLOR`.
pub fn stderr_color() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Colour on stdout only on a terminal, and never with `NO_COLOR`.
pub fn stdout_color() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Loads and validates the config directory, printing every problem; `None` when invalid.
/// Every command calls this before any request, so bad input never reaches Asana.
pub fn load_config(global: &GlobalArgs) -> anyhow::Result<Option<(Config, Report)>> {
    let (config, report) = crate::config::load(&global.config_dir);
    diagnostics::render(
        &report,
        DiagnosticFormat::Text,
        stderr_color(),
        &mut crate::output::stderr(),
    )?;
    match config {
        Some(c) => Ok(Some((c, report))),
        None => {
            eprintln!(
                "{}: {} problem(s) found; nothing was sent to Asana",
                global.config_dir.display(),
                report.error_count()
            );
            Ok(None)
        }
    }
}

/// The config files' digest, with paths relative to the config directory.
pub fn config_digest(global: &GlobalArgs, report: &Report) -> String {
    crate::wire::saved::config_digest(report.sources.iter().map(|(path, text)| {
        let rel = path.strip_prefix(&global.config_dir).unwrap_or(path);
        (rel.to_str().unwrap_or_default(), text)
    }))
}

/// Opens the target the flags name: Asana, a URL, or the built-in emulator.
pub async fn open(
    config: &Config,
    args: &crate::cli::TargetArgs,
) -> anyhow::Result<crate::ops::Session> {
    let pin = crate::ops::Pin::from_env(args.target_url.as_deref())?;
    if args.emulator
        && let Some(pin) = &pin
    {
        anyhow::bail!(
            "--emulator cannot be used with a target URL ({})",
            pin.source
        );
    }
    let emulator = args.emulator.then_some(args.emulator_state.as_deref());
    crate::ops::Session::open(config, pin.as_ref(), emulator).await
}

/// Opens the target and reads every live user and group with a read-only client.
pub async fn read(
    config: &Config,
    args: &crate::cli::TargetArgs,
    verbose: u8,
) -> anyhow::Result<(
    crate::ops::Session,
    crate::scim::client::ReadClient,
    crate::plan::Live,
)> {
    let session = open(config, args).await?;
    let client = session.target.reader(verbose)?;
    crate::ops::features(&client, session.target.profile).await;
    let progress = ReadProgress::on_terminal();
    let live = crate::ops::read_live_with_progress(&client, progress.callback()).await;
    progress.finish();
    Ok((session, client, live.map_err(crate::ops::explain)?))
}

/// How many users a long read has brought so far, as one line on stderr that is rewritten in
/// place and cleared at the end. Only on a terminal, and never in CI (`CI` set): a log gets
/// nothing.
pub struct ReadProgress {
    shown: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
}

impl ReadProgress {
    pub fn on_terminal() -> ReadProgress {
        let on = std::io::stderr().is_terminal() && std::env::var_os("CI").is_none();
        ReadProgress {
            shown: on.then(Default::default),
        }
    }

    /// The callback for [`crate::ops::read_live_with_progress`].
    pub fn callback(&self) -> Option<crate::ops::Progress> {
        let shown = self.shown.clone()?;
        Some(std::sync::Arc::new(move |n| {
            use std::io::Write;
            shown.store(true, std::sync::atomic::Ordering::Relaxed);
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r  {n:>7} users read…");
            let _ = err.flush();
        }))
    }

    /// Clears the line, if anything was shown.
    pub fn finish(&self) {
        if self
            .shown
            .as_ref()
            .is_some_and(|s| s.load(std::sync::atomic::Ordering::Relaxed))
        {
            eprint!("\r\x1b[2K");
        }
    }
}

/// Reads what a plan needs: everything, or with `--changed-since` only the changed objects.
pub async fn read_for_plan(
    config: &Config,
    global: &GlobalArgs,
    args: &crate::cli::TargetArgs,
    changed_since: Option<&str>,
) -> anyhow::Result<(
    crate::ops::Session,
    crate::scim::client::ReadClient,
    crate::plan::Live,
    crate::plan::Scope,
)> {
    let Some(git_ref) = changed_since else {
        let (session, client, live) = read(config, args, global.verbose).await?;
        return Ok((session, client, live, crate::plan::Scope::default()));
    };
    let changed = crate::ops::changed::since(&global.config_dir, git_ref)?;
    eprintln!(
        "--changed-since {git_ref}: {} changed and {} removed users, {} changed groups in {} files; \
         only those are read and planned, and unmanaged users are not looked for.",
        changed.users.len(),
        changed.removed_users.len(),
        changed.groups.len(),
        changed.files.len()
    );
    let session = open(config, args).await?;
    let client = session.target.reader(global.verbose)?;
    crate::ops::features(&client, session.target.profile).await;
    let live = crate::ops::changed::read_scoped(&client, config, &changed)
        .await
        .map_err(crate::ops::explain)?;
    Ok((session, client, live, changed.scope()))
}
