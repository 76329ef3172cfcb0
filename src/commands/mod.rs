//! One module per subcommand: take the parsed arguments, call one operation, write its result
//! through [`crate::output`], and say how it ended.
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

use crate::cli::{Cli, Command, GlobalArgs, TargetArgs};
use crate::diagnostics::{self, DiagnosticFormat, Report};
use crate::ops::pipeline::{self, Loaded};
use crate::ops::{Connect, Hooks, Note, Notes};
use crate::output::{self, say};

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

/// Loads and validates the config directory, printing every problem; `None` when invalid.
/// Every command calls this before any request, so bad input never reaches the target.
pub fn load_config(global: &GlobalArgs) -> anyhow::Result<Option<Loaded>> {
    load_config_at(global, None)
}

/// [`load_config`], with `policy.rules` checked at `at` (`--at`) rather than now.
pub fn load_config_at(global: &GlobalArgs, at: Option<i64>) -> anyhow::Result<Option<Loaded>> {
    let at = at.unwrap_or_else(crate::ops::now_secs);
    match pipeline::load_at(&global.config_dir, at) {
        Ok(loaded) => {
            render_diagnostics(&loaded.report)?;
            Ok(Some(loaded))
        }
        Err(invalid) => {
            render_diagnostics(&invalid.report)?;
            say!(
                "{}: {} problem(s) found; nothing was sent{}",
                global.config_dir.display(),
                invalid.report.error_count(),
                invalid
                    .profile
                    .map(|p| format!(" to {}", p.target_name()))
                    .unwrap_or_default()
            );
            Ok(None)
        }
    }
}

fn render_diagnostics(report: &Report) -> std::io::Result<()> {
    diagnostics::render(
        report,
        DiagnosticFormat::Text,
        output::stderr_color(),
        &mut output::stderr(),
    )
}

/// Prints what an operation told, in order. Diagnostics point into the loaded files, whose
/// texts `report` holds.
pub fn print_notes(notes: Vec<Note>, report: &mut Report) -> std::io::Result<()> {
    for note in notes {
        match note {
            Note::Info(line) => say!("{line}"),
            Note::Warning(line) => say!("warning: {line}"),
            Note::Diagnostics(found) => {
                let loaded = std::mem::replace(&mut report.diagnostics, found);
                report.sort();
                let rendered = render_diagnostics(report);
                report.diagnostics = loaded;
                rendered?;
            }
        }
    }
    Ok(())
}

/// Runs an operation on the loaded config with a read's progress drawn and the clients' `-v`
/// lines on stderr, then prints what it told, whether it succeeded or not.
pub fn operate<T>(
    rt: &tokio::runtime::Runtime,
    global: &GlobalArgs,
    loaded: &mut Loaded,
    op: impl AsyncFnOnce(&mut Loaded, &Hooks, &mut Notes) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let progress = output::Progress::users_read();
    let hooks = hooks(global, Some(&progress));
    let mut notes = Notes::default();
    let result = rt.block_on(op(loaded, &hooks, &mut notes));
    progress.finish();
    print_notes(notes.take(), &mut loaded.report)?;
    result
}

/// The target the flags name.
pub fn connect(args: &TargetArgs) -> Connect {
    Connect {
        target_url: args.target_url.clone(),
        emulator: args.emulator.then(|| args.emulator_state.clone()),
    }
}

/// The clients' `-v` lines on stderr, and a read's count on `progress` when it is drawn.
pub fn hooks(global: &GlobalArgs, progress: Option<&output::Progress>) -> Hooks {
    Hooks {
        verbose: global.verbose,
        log: output::log_sink(),
        progress: progress.and_then(output::Progress::counter),
    }
}
