//! Command-line arguments: every subcommand, its flags and its help text.
//!
//! Parsing only; the commands live in `commands/`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::diagnostics::DiagnosticFormat;
use crate::render::Format;

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
    /// Compare the config with live Asana and print the plan. Read-only: sends only GETs.
    #[command(
        after_help = "Exit codes:\n  0  success (with --detailed-exitcode: no changes)\n  1  error\n  2  with --detailed-exitcode: the plan has changes"
    )]
    Plan(PlanArgs),
    /// Report how live Asana differs from the config. Read-only: sends only GETs.
    #[command(after_help = "Exit codes:\n  0  no drift\n  1  error\n  2  drift found")]
    Drift(DriftArgs),
    /// Render a saved plan file in any format (warns, never fails, if the config changed since)
    Show(ShowArgs),
    /// Test the connection and the token, and print what the server supports. Read-only.
    Check(CheckArgs),
    /// Print the JSON Schemas of roster.yaml, users and groups files
    Schema(SchemaArgs),
}

/// Where to find the SCIM API.
#[derive(Debug, Args)]
pub struct TargetArgs {
    /// SCIM base URL, overriding `asana.url` in roster.yaml (https, or http to loopback only)
    #[arg(long, env = "ROSTER_ASANA_URL", value_name = "URL")]
    pub asana_url: Option<String>,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Output format
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Also save the plan to FILE, for `roster show` and `roster apply FILE`
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Exit 2 when the plan has changes (0 when it has none)
    #[arg(long)]
    pub detailed_exitcode: bool,
    #[command(flatten)]
    pub target: TargetArgs,
}

#[derive(Debug, Args)]
pub struct DriftArgs {
    /// Output format
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    #[command(flatten)]
    pub target: TargetArgs,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A plan file written by `roster plan --out FILE`
    pub file: PathBuf,
    /// Output format
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub target: TargetArgs,
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
