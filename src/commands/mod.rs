//! One module per subcommand: parse nothing, call one operation, write its result.
//!
//! Commands return an [`Outcome`]; `main` maps it to the exit code, in one place.

pub mod emulator;
pub mod schema;
pub mod validate;

use std::io::IsTerminal;

use crate::cli::{Cli, Command};

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
        Command::Schema(args) => schema::run(&args),
        Command::Emulator(args) => emulator::run(&cli.global, &args),
    }
}

/// Colour only on a terminal, and never with `NO_COLOR`.
pub fn stderr_color() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}
