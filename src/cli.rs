//! Command-line arguments: every subcommand, its flags and its help text.
//!
//! Parsing only; the commands live in `commands/`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::diagnostics::DiagnosticFormat;

const EXIT_CODES: &str = "\
Exit codes:
  0  success, nothing to change
  1  error (invalid config, failed request, failed apply)
  2  changes present (plan --detailed-exitcode) or drift found (drift)";

/// GitOps user provisioning for Asana: declare users in YAML, plan and apply through SCIM.
#[derive(Debug, Parser)]
#[command(name = "roster", version, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// The config directory (holds roster.yaml, users/ and groups/)
    #[arg(
        short = 'C',
        long = "config-dir",
        value_name = "DIR",
        default_value = ".",
        global = true
    )]
    pub config_dir: PathBuf,
    /// More detail on stderr (-v, -vv, -vvv); secrets are redacted at every level
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the config directory: schema and semantic checks, every problem at once. No network.
    #[command(
        after_help = "Exit codes:\n  0  the config is valid\n  1  problems were found (listed on stderr, or as annotations on stdout with --format github)"
    )]
    Validate(ValidateArgs),
    /// Print the JSON Schemas of roster.yaml, users and groups files
    Schema(SchemaArgs),
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// `text` for people, `github` for GitHub workflow annotations on the pull request
    #[arg(long, value_enum, default_value = "text")]
    pub format: DiagnosticFormat,
}

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Write the schema files into DIR instead of printing them
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}
