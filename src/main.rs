//! The `roster` binary: parse arguments, run the command, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;
use roster::cli::Cli;
use roster::commands::{self, Outcome};
use roster::diagnostics::printable;
use roster::output;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (outcome, said) = match commands::run(cli) {
        Ok(outcome) => (outcome, false),
        Err(e) => {
            // Errors may quote a server or a file: no control character reaches the terminal,
            // but the line breaks before a hint stay.
            let text = format!("{e:#}");
            let lines: Vec<_> = text.lines().map(printable).collect();
            output::print_err(format_args!("error: {}\n", lines.join("\n")));
            (Outcome::Failed, true)
        }
    };
    // Output the user never saw is a failed run: stdout closed or full, or stderr.
    output::flush();
    if let Some(failure) = output::failure() {
        // An error above already said what failed.
        if failure.stream == "stdout" && !said {
            output::print_err(format_args!(
                "error: cannot write to stdout: {}\n",
                failure.error
            ));
        }
        return ExitCode::from(Outcome::Failed.exit_code());
    }
    ExitCode::from(outcome.exit_code())
}
