//! Command-line arguments: every subcommand, its flags and its help text.
//!
//! Parsing only; the commands live in `commands/`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::diagnostics::DiagnosticFormat;
use crate::render::Format;

const EXIT_CODES: &str = "\
Exit codes:
  0  success, nothing to change; or stdout's reader closed it (`roster plan | head -1`)
  1  error (invalid config, failed request, failed apply, output that could not be written)
  2  changes present (plan --detailed-exitcode) or drift found (drift)";

/// GitOps user provisioning for Asana or any SCIM 2.0 server: declare users in YAML, plan and
/// apply through SCIM.
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
    /// Compare the config with the live target and print the plan. Read-only: sends only GETs.
    #[command(
        after_help = "Exit codes:\n  0  success (with --detailed-exitcode: no changes)\n  1  error\n  2  with --detailed-exitcode: the plan has changes"
    )]
    Plan(PlanArgs),
    /// Apply a saved plan, or plan and apply (asking for confirmation on a terminal)
    #[command(
        after_help = "Exit codes:\n  0  every change was applied (or there was nothing to do)\n  1  a gate refused, the plan was stale or (--replan) differs from a fresh plan, or a change failed (every failure is listed)"
    )]
    Apply(ApplyArgs),
    /// Report how the live target differs from the config. Read-only: sends only GETs.
    #[command(after_help = "Exit codes:\n  0  no drift\n  1  error\n  2  drift found")]
    Drift(DriftArgs),
    /// Write YAML declarations from a live system: adopt the target, or seed from Entra ID
    #[command(subcommand)]
    Import(ImportCommand),
    /// Render a saved plan file in any format (warns, never fails, if the config changed since)
    Show(ShowArgs),
    /// Test the connection and the token, and print what the server supports. Read-only.
    Check(CheckArgs),
    /// Print the JSON Schemas of roster.yaml, users and groups files
    Schema(SchemaArgs),
    /// Serve an Asana SCIM emulator on 127.0.0.1 for tests, benchmarks and the quickstart
    #[command(after_help = EMULATOR_HELP)]
    Emulator(EmulatorArgs),
}

/// Where to find the SCIM API.
#[derive(Debug, Args)]
pub struct TargetArgs {
    /// The SCIM base URL, pinned outside roster.yaml: the token goes only here, and a `url` in
    /// roster.yaml that differs is an error (https, or http to loopback only).
    /// ROSTER_ASANA_URL and --asana-url are older names
    #[arg(
        long = "target-url",
        visible_alias = "asana-url",
        env = "ROSTER_TARGET_URL",
        value_name = "URL"
    )]
    pub target_url: Option<String>,
    /// Use roster's built-in Asana emulator instead of the target: no account, no token, no
    /// network
    #[arg(long, conflicts_with = "target_url")]
    pub emulator: bool,
    /// With --emulator: start from the organisation in this emulator state file (it is copied,
    /// never written)
    #[arg(long, value_name = "FILE", requires = "emulator")]
    pub emulator_state: Option<PathBuf>,
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
    /// Plan only the users and groups whose declarations changed since GIT_REF (added, edited,
    /// removed, moved between files), reading only those from the target; unmanaged users are not
    /// looked for
    #[arg(long, value_name = "GIT_REF")]
    pub changed_since: Option<String>,
    /// Plan as of TIMESTAMP instead of now (RFC 3339, e.g. 2027-01-31T09:00:00Z, or a date
    /// YYYY-MM-DD for 00:00 UTC that day): users and team memberships whose `expires` has come
    /// by then are deprovisioned and removed, for what-if reviews. A saved plan records the
    /// instant; `apply` refuses one evaluated ahead of its clock
    #[arg(long, value_name = "TIMESTAMP", value_parser = parse_at)]
    pub at: Option<i64>,
    /// Plan only this object, written as the plan prints it (`user["ada@example.com"]`,
    /// `group["Platform"]`); repeatable. Only these are read from the target (by filter), with
    /// the managers they need (created too when declared and missing) and, for a user, its
    /// addition to the declared teams that list it; every deprovision gate still applies. An
    /// address that matches no declaration and no live object is an error
    #[arg(
        long = "target",
        value_name = "ADDRESS",
        conflicts_with = "changed_since"
    )]
    pub targets: Vec<String>,
    #[command(flatten)]
    pub target: TargetArgs,
}

/// `--at`: an RFC 3339 timestamp, or a date for 00:00:00 UTC that day; seconds since the epoch.
fn parse_at(s: &str) -> Result<i64, String> {
    let s = s.trim();
    if s.len() == 10 {
        crate::civil_time::parse_date(s).map(|days| days * 86_400)
    } else {
        crate::civil_time::parse_rfc3339(s)
    }
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A plan saved by `roster plan --out FILE`; without it, apply plans first
    pub plan_file: Option<PathBuf>,
    /// Do not ask for confirmation (required when not on a terminal; implied by a plan file)
    #[arg(long)]
    pub auto_approve: bool,
    /// Allow up to N deprovisions beyond policy.max_deprovisions (the refusal names N)
    #[arg(long, value_name = "N")]
    pub allow_deprovisions: Option<u64>,
    /// Append the audit record to FILE (a regular file): a start line, an intent line before
    /// each change is sent and an outcome line after it (status, old/new values, error); apply
    /// stops sending when FILE cannot be written
    #[arg(long, value_name = "FILE")]
    pub audit_log: Option<PathBuf>,
    /// With a plan file: before any write, plan again from the config and the target as they
    /// are now and compare that plan with the saved one, change by change (objects, actions,
    /// ids, attribute values, team members; never the rendered text). Refuses, sending nothing,
    /// when a saved change is missing or different, or when the fresh plan has another change
    /// that comes from an added, removed or edited declaration (or roster.yaml's mappings or
    /// policy); changes that come only from drift in the target are listed as a warning and
    /// left for the next plan. Use it when the plan was reviewed on a pull request and is
    /// applied after the merge
    #[arg(long, requires = "plan_file")]
    pub replan: bool,
    /// Without a plan file: plan and apply only what changed since GIT_REF (see `plan --help`).
    /// With a plan file and --replan: the fresh plan reads and plans only what changed since
    /// GIT_REF, and every object the saved plan changes
    #[arg(long, value_name = "GIT_REF")]
    pub changed_since: Option<String>,
    /// Without a plan file: apply only what expiry causes — deprovision the users whose
    /// `expires` has come, and remove them and the memberships that ended from their teams —
    /// and leave every other change for a reviewed apply. The gates hold as always. For a
    /// scheduled job
    #[arg(long, conflicts_with = "plan_file")]
    pub expired_only: bool,
    /// Without a plan file: plan and apply only this object (see `plan --help`); repeatable.
    /// A plan saved with `plan --target` records its targets, which --replan plans again
    #[arg(
        long = "target",
        value_name = "ADDRESS",
        conflicts_with_all = ["changed_since", "plan_file"]
    )]
    pub targets: Vec<String>,
    #[command(flatten)]
    pub target: TargetArgs,
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Write users and teams from the live target (the Asana organisation, or the SCIM server)
    /// into users/ and groups/, so the first `roster plan` shows no changes. Read-only towards
    /// the target.
    Asana(ImportAsanaArgs),
    /// Write the users and teams Entra ID would provision (roster.yaml's `entra:`) into
    /// users/entra/ and groups/entra/, replacing what is there. Read-only towards Entra and
    /// the target.
    #[command(after_help = IMPORT_ENTRA_HELP)]
    Entra(ImportEntraArgs),
}

#[derive(Debug, Args)]
#[command(after_help = IMPORT_ASANA_HELP)]
pub struct ImportAsanaArgs {
    /// Replace existing YAML files under users/ and groups/ (they are removed first)
    #[arg(long, conflicts_with = "update")]
    pub force: bool,
    /// Codify drift instead: write each drifted value of the declared users and teams back
    /// into its declaration, in place (comments and layout kept), and add unmanaged users
    #[arg(long)]
    pub update: bool,
    /// With --update: print the change as a unified diff and write nothing
    #[arg(long, requires = "update")]
    pub dry_run: bool,
    /// With --update: the users file unmanaged users are added to, relative to the config
    /// directory (default users/unmanaged.yaml)
    #[arg(long, value_name = "FILE", requires = "update")]
    pub unmanaged_to: Option<String>,
    /// With --update: do not add unmanaged users
    #[arg(long, requires = "update", conflicts_with = "unmanaged_to")]
    pub no_unmanaged: bool,
    #[command(flatten)]
    pub target: TargetArgs,
}

#[derive(Debug, Args)]
pub struct DriftArgs {
    /// Output format
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Report as of TIMESTAMP instead of now (as `plan --at`): expiries that have come by then
    /// count as due
    #[arg(long, value_name = "TIMESTAMP", value_parser = parse_at)]
    pub at: Option<i64>,
    #[command(flatten)]
    pub target: TargetArgs,
}

const IMPORT_ASANA_HELP: &str = "\
--update codifies drift: for each declared user and team that differs from the target, the live
value is written back into its declaration where it stands, through the inverse of its mapping
(direct mappings; `active` is accountEnabled); comments, blank lines, key order, indentation and
quoting of everything else stay byte for byte. Unmanaged users are appended to --unmanaged-to
(sorted, with a dated comment), team members appended or deleted. What cannot be codified (an
expression, a constant, a value Entra sets in live mode) is listed and left alone. The change is
printed as a unified diff; a file changed on disk since it was read is not overwritten.

Exit codes:
  0  imported (without --update); nothing to codify (with --update)
  1  an error (nothing written)
  2  with --update: files changed (or, with --dry-run, would change)";

const IMPORT_ENTRA_HELP: &str = "\
The client secret comes from the variable entra.client_secret_env names (ENTRA_CLIENT_SECRET by
default; never a system, CI, cloud or target-token variable). ROSTER_ENTRA_LOGIN_URL and
ROSTER_ENTRA_GRAPH_URL pin entra.login_url and entra.graph_url: a URL roster.yaml writes that
differs from its pin is an error before any request. Both must be Microsoft's sign-in and Graph
hosts of one cloud, or loopback (the Graph emulator). Users are read by delta query: the delta link is kept in .roster/ in the config
directory (git-ignored), so a second import reads only what changed.

Out-of-scope users (unassigned, filtered out, deleted) that hold an account on the target are
written with accountEnabled: false, so roster deprovisions them; finding them reads the target
(GETs only).

Exit codes:
  0  the files were written
  1  error (invalid config, failed request)";

#[derive(Debug, Args)]
pub struct ImportEntraArgs {
    /// Do not read the target: out-of-scope users that hold an account there are then not written
    /// (and so not deprovisioned)
    #[arg(long)]
    pub entra_only: bool,
    /// Read every Entra user instead of the changes since the last run (the delta state is
    /// neither used nor kept)
    #[arg(long)]
    pub full: bool,
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
    /// Check `policy.rules` as of TIMESTAMP instead of now (as `plan --at`): who has expired,
    /// and how far ahead `expiry_required`'s `max_days` lets `expires` be
    #[arg(long, value_name = "TIMESTAMP", value_parser = parse_at)]
    pub at: Option<i64>,
}

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Write the schema files into DIR instead of printing them
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

const EMULATOR_HELP: &str = "\
The first line on stdout is `listening on http://127.0.0.1:PORT/api/1.0/scim`; the second is
`graph login_url http://127.0.0.1:PORT2/login graph_url http://127.0.0.1:PORT2/graph`, the Graph
emulator (its tenant, app and secret are in docs/entra.md).
GET /_emulator/stats and POST /_emulator/reset-stats need no token and are never limited.
With --time-scale N, Retry-After is in emulated seconds: wait Retry-After / N real seconds, or
the X-Emulator-Retry-After-Ms header's real milliseconds. See docs/emulator.md.
Stops on Ctrl-C or SIGTERM after writing the state file.";

#[derive(Debug, Args)]
pub struct EmulatorArgs {
    /// Port on 127.0.0.1; 0 picks a free one
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Accepted bearer token; repeat for several, each with its own limits
    #[arg(long = "token", value_name = "TOKEN", default_value = crate::emulator::DEFAULT_TOKEN)]
    pub tokens: Vec<String>,
    /// Load the organisation from FILE and write it back before acknowledging each change
    #[arg(long = "state", value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Generate N synthetic users when the state starts empty
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub seed_users: usize,
    /// Generate N synthetic guests (never visible through SCIM) when the state starts empty
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub seed_guests: usize,

    /// Whether startIndex/count are honoured on lists (Asana: undocumented)
    #[arg(
        long,
        value_enum,
        default_value = "honour",
        help_heading = "Undocumented behaviour"
    )]
    pub paging: crate::emulator::Paging,
    /// Largest page, and the page size when count is absent
    #[arg(
        long,
        value_name = "N",
        default_value_t = 100,
        help_heading = "Undocumented behaviour"
    )]
    pub max_page_size: usize,
    /// Longest string value stored, in characters, for attributes other than userName and
    /// emails (at most 254); longer is 400 invalidValue; 0 switches it off (Asana: undocumented)
    #[arg(
        long,
        value_name = "N",
        default_value_t = crate::emulator::DEFAULT_MAX_VALUE_CHARS,
        help_heading = "Undocumented behaviour"
    )]
    pub max_value_length: usize,
    /// Whether deprovisioned users are still listed (Asana: undocumented)
    #[arg(
        long,
        value_enum,
        default_value = "listed",
        help_heading = "Undocumented behaviour"
    )]
    pub deprovisioned: crate::emulator::Deprovisioned,
    /// What active=true does to a deprovisioned user (Asana: "not supported")
    #[arg(
        long,
        value_enum,
        default_value = "refuse",
        help_heading = "Undocumented behaviour"
    )]
    pub reactivation: crate::emulator::Reactivation,
    /// Whether "True"/"False" strings are read as booleans (Asana: undocumented)
    #[arg(
        long,
        value_enum,
        default_value = "accept",
        help_heading = "Undocumented behaviour"
    )]
    pub string_booleans: crate::emulator::StringBooleans,
    /// Whether PATCH may remove an attribute only Entra's gallery app lists (phoneNumbers,
    /// addresses, manager, employeeNumber, costCenter, organization, division; Asana:
    /// undocumented)
    #[arg(
        long,
        value_enum,
        default_value = "refuse",
        help_heading = "Undocumented behaviour"
    )]
    pub remove_undocumented: crate::emulator::RemoveUndocumented,

    /// Requests per minute per token, rejected ones included; 0 switches it off
    #[arg(
        long,
        value_name = "N",
        default_value_t = 1500,
        help_heading = "Limits"
    )]
    pub rate_limit: u32,
    /// Concurrent GETs per token; 0 switches it off
    #[arg(long, value_name = "N", default_value_t = 50, help_heading = "Limits")]
    pub read_concurrency: u32,
    /// Concurrent POST/PUT/PATCH/DELETEs per token; 0 switches it off
    #[arg(long, value_name = "N", default_value_t = 15, help_heading = "Limits")]
    pub write_concurrency: u32,
    /// Run the clock N times faster (rate windows, Retry-After, latency and hangs shrink)
    #[arg(long, value_name = "N", default_value_t = 1.0, help_heading = "Limits")]
    pub time_scale: f64,

    /// Seed of the fault draws: the same seed gives the same faults to the n-th request
    #[arg(
        long,
        value_name = "N",
        default_value_t = 0,
        help_heading = "Fault injection"
    )]
    pub fault_seed: u64,
    /// Latency added to every SCIM request, in (emulated) ms
    #[arg(
        long,
        value_name = "MS",
        default_value_t = 0,
        help_heading = "Fault injection"
    )]
    pub latency_ms: u64,
    /// Extra random latency, uniform in [0, MS]
    #[arg(
        long,
        value_name = "MS",
        default_value_t = 0,
        help_heading = "Fault injection"
    )]
    pub jitter_ms: u64,
    /// Probability of a 500 answer
    #[arg(
        long,
        value_name = "P",
        default_value_t = 0.0,
        help_heading = "Fault injection"
    )]
    pub p_500: f64,
    /// Probability of a 503 answer
    #[arg(
        long,
        value_name = "P",
        default_value_t = 0.0,
        help_heading = "Fault injection"
    )]
    pub p_503: f64,
    /// Probability of a connection reset instead of an answer
    #[arg(
        long,
        value_name = "P",
        default_value_t = 0.0,
        help_heading = "Fault injection"
    )]
    pub p_reset: f64,
    /// Probability of no answer for --hang-ms, then a reset
    #[arg(
        long,
        value_name = "P",
        default_value_t = 0.0,
        help_heading = "Fault injection"
    )]
    pub p_hang: f64,
    /// How long a hang lasts, in (emulated) ms
    #[arg(long, value_name = "MS", default_value_t = crate::emulator::DEFAULT_HANG_MS, help_heading = "Fault injection")]
    pub hang_ms: u64,

    #[command(flatten)]
    pub graph: GraphEmulatorArgs,
}

/// The Graph (Entra ID) emulator served next to the Asana one.
#[derive(Debug, Args)]
pub struct GraphEmulatorArgs {
    /// Port of the Graph emulator on 127.0.0.1; 0 picks a free one
    #[arg(
        long,
        value_name = "PORT",
        default_value_t = 0,
        help_heading = "Graph emulator (Entra ID)"
    )]
    pub graph_port: u16,
    /// Do not serve the Graph emulator
    #[arg(long, help_heading = "Graph emulator (Entra ID)")]
    pub no_graph: bool,
    /// Serve this tenant (JSON) instead of the built-in one
    #[arg(long, value_name = "FILE", help_heading = "Graph emulator (Entra ID)")]
    pub graph_tenant: Option<PathBuf>,
    /// Page size without $top, and of delta pages (Graph: 100)
    #[arg(
        long,
        value_name = "N",
        default_value_t = 100,
        help_heading = "Graph emulator (Entra ID)"
    )]
    pub graph_page_size: usize,
    /// Answer every N-th Graph request with 429 and Retry-After (0: never)
    #[arg(
        long,
        value_name = "N",
        default_value_t = 0,
        help_heading = "Graph emulator (Entra ID)"
    )]
    pub graph_throttle_every: u64,
}
