//! The `roster` binary: parse arguments, run the command, map the outcome to an exit code.

#![deny(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;

use clap::Parser;
use roster::cli::{Cli, Command};
use roster::commands::{self, Outcome};
use roster::output;

/// Reading a large config allocates a few strings per attribute; mimalloc's per-thread free
/// lists cost less than glibc malloc's there (README, "Dependencies"; built without
/// transparent huge pages, whose zeroing cost more than they saved).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // A command's memory is kept until it ends; the emulator is a server that may run for
    // days, so it hands freed memory back as usual.
    if !matches!(cli.command, Command::Emulator(_)) {
        roster::ops::keep_freed_memory();
    }
    let (outcome, said) = match commands::run(cli) {
        Ok(outcome) => (outcome, false),
        // The reader closed stdout (`roster plan | head -1`): it has what it wanted, and the
        // command stopped writing. Not an error.
        Err(_) if output::stdout_closed() => (Outcome::Success, false),
        Err(e) => {
            output::error(&e);
            (Outcome::Failed, true)
        }
    };
    // Output the user never saw is a failed run: stdout or stderr full, or not writable (a
    // closed pipe aside).
    output::flush();
    if let Some(failure) = output::failure() {
        // An error above already said what failed.
        if failure.stream == "stdout" && !said {
            output::say_line(format_args!(
                "error: cannot write to stdout: {}",
                failure.error
            ));
        }
        return ExitCode::from(Outcome::Failed.exit_code());
    }
    ExitCode::from(outcome.exit_code())
}
