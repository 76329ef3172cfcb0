//! The `roster` binary: parse arguments, run the command, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;
use roster::cli::Cli;
use roster::commands;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match commands::run(cli) {
        Ok(outcome) => ExitCode::from(outcome.exit_code()),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(commands::Outcome::Failed.exit_code())
        }
    }
}
