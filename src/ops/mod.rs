//! Operations: what a command asks for, done — connecting to the target, reading live state,
//! the one path from a config directory to a plan ([`pipeline`]), applying it ([`apply`]),
//! the imports ([`import`]), `roster check` ([`check`]), Entra ([`entra`]) and
//! `--changed-since` ([`changed`]).
//!
//! Each returns data: plans, reports, and the warnings and notes found on the way
//! ([`Notes`]); the commands decide what to print, and nothing here writes to stdout or
//! stderr. What must be seen while it happens (the clients' `-v` lines, how many users a read
//! has brought) goes to the callbacks in [`Hooks`], which the command gives. Nothing here
//! writes to the target except through a
//! [`WriteClient`](crate::scim::client::WriteClient) that apply asks for.

pub mod apply;
pub mod changed;
pub mod check;
pub mod entra;
pub mod import;
pub mod pipeline;

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::config::Config;
use crate::config::model::Profile;
use crate::config::validate::check_profile_url;
use crate::diagnostics::Diagnostic;
use crate::plan::{Live, LiveGroup};
use crate::scim::client::{
    ClientConfig, ClientError, Features, ListStop, LogSink, ReadClient, Secret, WriteClient,
    redact_url,
};
use crate::urls::{check_url, normalize_url, same_url};

/// What an operation found worth telling, in the order found. Returned to the command, which
/// prints it whether the operation then succeeded or not.
#[derive(Debug, Default)]
pub struct Notes(pub Vec<Note>);

/// One thing an operation tells.
#[derive(Debug)]
pub enum Note {
    /// A line as it stands (`Entra (live): 9 users in scope; …`).
    Info(String),
    /// Something the user should look at; printed after `warning: `.
    Warning(String),
    /// Diagnostics found after loading (Entra's merge), pointing into the config's files.
    Diagnostics(Vec<Diagnostic>),
}

impl Notes {
    pub fn info(&mut self, line: impl Into<String>) {
        self.0.push(Note::Info(line.into()));
    }

    pub fn warn(&mut self, line: impl Into<String>) {
        self.0.push(Note::Warning(line.into()));
    }

    /// The notes so far, leaving none.
    pub fn take(&mut self) -> Vec<Note> {
        std::mem::take(&mut self.0)
    }
}

/// What an operation reports while it runs rather than in its result: the clients' `-v`
/// lines, and how many users a read has brought. The command gives them.
#[derive(Clone)]
pub struct Hooks {
    /// `-v` count: 1 retries and pauses, 2 every request.
    pub verbose: u8,
    /// Where the clients' log lines go.
    pub log: LogSink,
    /// Called with the number of users read so far; `None` when nothing is shown.
    pub progress: Option<Progress>,
}

/// Which target the command line names: a URL pinned by `--target-url` (or
/// `ROSTER_TARGET_URL`, which clap reads into the same flag), or the built-in emulator
/// (optionally from a state file); neither leaves it to roster.yaml.
#[derive(Debug, Clone, Default)]
pub struct Connect {
    pub target_url: Option<String>,
    pub emulator: Option<Option<PathBuf>>,
}

/// Opens the target `connect` names, for this config: the pinned URL (which a differing
/// roster.yaml `url` cannot override), roster.yaml's, or the built-in emulator.
pub async fn open(config: &Config, connect: &Connect) -> anyhow::Result<Session> {
    let pin = Pin::from_env(connect.target_url.as_deref())?;
    if connect.emulator.is_some()
        && let Some(pin) = &pin
    {
        bail!(
            "--emulator cannot be used with a target URL ({})",
            pin.source
        );
    }
    Session::open(
        config,
        pin.as_ref(),
        connect.emulator.as_ref().map(Option::as_deref),
    )
    .await
}

/// Where to connect and with which token, resolved from flags, environment and roster.yaml.
#[derive(Debug, Clone)]
pub struct Target {
    pub profile: Profile,
    pub url: String,
    pub token: Secret,
    /// The environment variable the token came from, for messages.
    pub token_env: String,
    /// The clients' budget of requests a minute (roster.yaml's `requests_per_minute`).
    pub requests_per_minute: u32,
}

impl Target {
    /// The URL pinned by `--target-url` / `ROSTER_TARGET_URL` (or their older names) decides
    /// where the token goes; a URL in roster.yaml must then be the same one (after
    /// [`normalize_url`]), or nothing is sent. Without a pin, roster.yaml's URL or the
    /// profile's default. The token comes from the environment variable the config names.
    pub fn resolve(config: &Config, pin: Option<&Pin>) -> anyhow::Result<Target> {
        let settings = &config.settings.target;
        let url = match (pin, &settings.configured_url) {
            (Some(pin), Some(configured)) => {
                if !same_url(configured, &pin.url) {
                    bail!(
                        "roster.yaml's target URL `{}` differs from the pinned target `{}` ({}): \
                         nothing was sent\n  hint: the pinned URL decides where the token goes; \
                         remove `url` from roster.yaml or make it the pinned URL",
                        redact_url(configured),
                        redact_url(&pin.url),
                        pin.source
                    );
                }
                pin.url.clone()
            }
            (Some(pin), None) => pin.url.clone(),
            (None, _) => match settings.url() {
                Some(url) => url.to_string(),
                None => bail!(
                    "no SCIM URL: the generic profile has no default; set target.url in \
                     roster.yaml, or pass --target-url (or set ROSTER_TARGET_URL)"
                ),
            },
        };
        let source = pin.map_or("roster.yaml", |p| p.source);
        if let Err(e) = check_url(&url).and_then(|()| normalize_url(&url).map(drop)) {
            bail!("{source}: {e}; use https://, or http:// only for 127.0.0.1 or localhost");
        }
        if let Err(e) = check_profile_url(settings.profile, &url) {
            bail!(
                "{source}: {e}\n  hint: for another SCIM server use `target: {{ profile: \
                 generic }}` in roster.yaml"
            );
        }
        let token_env = settings.token_env.clone();
        let token = match env_var(&token_env) {
            Some(t) if !t.trim().is_empty() => Secret::new(t),
            _ => match settings.profile {
                Profile::Asana => bail!(
                    "the environment variable {token_env} is not set: export the Asana \
                     service-account token in it (or name another variable in asana.token_env)"
                ),
                Profile::Generic => bail!(
                    "the environment variable {token_env} is not set: export the SCIM server's \
                     bearer token in it (or name another variable in target.token_env)"
                ),
            },
        };
        Ok(Target {
            profile: settings.profile,
            url,
            token,
            token_env,
            requests_per_minute: settings.requests_per_minute,
        })
    }

    /// The clients' settings, logging to the sink the command gave.
    pub fn client_config(&self, hooks: &Hooks) -> ClientConfig {
        let mut c = ClientConfig::new(self.url.clone(), self.token.clone());
        c.requests_per_minute = self.requests_per_minute;
        c.verbosity = hooks.verbose;
        c.log = Some(hooks.log.clone());
        if let Some(clock) = test_clock() {
            c.clock = clock;
        }
        c
    }

    /// The one client that can write; only apply asks for it.
    pub fn writer(&self, hooks: &Hooks) -> anyhow::Result<WriteClient> {
        WriteClient::new(&self.client_config(hooks)).map_err(explain)
    }

    pub fn reader(&self, hooks: &Hooks) -> anyhow::Result<ReadClient> {
        ReadClient::new(&self.client_config(hooks)).map_err(explain)
    }
}

/// A test-only setting: the clients' clock runs this many times faster than real time, as the
/// emulator's does under `--time-scale` (docs/emulator.md). Set by whoever runs roster, never
/// by a server; ignored unless it is a positive number.
pub const TEST_TIME_SCALE_ENV: &str = "ROSTER_TEST_TIME_SCALE";

/// The clock [`TEST_TIME_SCALE_ENV`] asks for, if it is set.
pub(crate) fn test_clock() -> Option<std::sync::Arc<dyn crate::http::Clock>> {
    let scale: f64 = env_var(TEST_TIME_SCALE_ENV)?.trim().parse().ok()?;
    Some(std::sync::Arc::new(crate::http::ScaledClock::new(scale)?))
}

/// A target URL given outside roster.yaml, and where it came from (for messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    pub url: String,
    pub source: &'static str,
}

/// The documented variable of the pinned target URL (also read by clap for `--target-url`).
pub const TARGET_URL_ENV: &str = "ROSTER_TARGET_URL";
/// Its older name, still read.
pub const ASANA_URL_ENV: &str = "ROSTER_ASANA_URL";

impl Pin {
    /// The pin from the environment: `arg` is `--target-url` as clap parsed it (the flag, or
    /// else `ROSTER_TARGET_URL`); without it, `ROSTER_ASANA_URL`. When both variables are set
    /// they must agree: which one wins would otherwise be a guess.
    pub fn from_env(arg: Option<&str>) -> anyhow::Result<Option<Pin>> {
        let var = |name| env_var(name).filter(|v| !v.is_empty());
        Pin::decide(
            arg,
            var(TARGET_URL_ENV).as_deref(),
            var(ASANA_URL_ENV).as_deref(),
        )
    }

    /// [`Pin::from_env`] without the environment.
    pub fn decide(
        arg: Option<&str>,
        target_env: Option<&str>,
        asana_env: Option<&str>,
    ) -> anyhow::Result<Option<Pin>> {
        if let (Some(t), Some(a)) = (target_env, asana_env)
            && !same_url(t, a)
        {
            bail!(
                "{TARGET_URL_ENV} (`{}`) and {ASANA_URL_ENV} (`{}`) name different targets: \
                 nothing was sent\n  hint: set only {TARGET_URL_ENV}; {ASANA_URL_ENV} is its older name",
                redact_url(t),
                redact_url(a)
            );
        }
        Ok(match arg {
            Some(url) if target_env == Some(url) => Some(Pin {
                url: url.to_string(),
                source: TARGET_URL_ENV,
            }),
            Some(url) => Some(Pin {
                url: url.to_string(),
                source: "--target-url",
            }),
            None => asana_env.map(|url| Pin {
                url: url.to_string(),
                source: ASANA_URL_ENV,
            }),
        })
    }
}

/// A connection target for one command, with the built-in emulator kept running when used.
pub struct Session {
    pub target: Target,
    emulator: Option<crate::emulator::RunningEmulator>,
    state_copy: Option<std::path::PathBuf>,
}

impl Session {
    /// Connects to Asana as configured, or starts the built-in emulator (optionally from a
    /// copy of a state file, so the file itself is never written).
    pub async fn open(
        config: &Config,
        pin: Option<&Pin>,
        emulator: Option<Option<&Path>>,
    ) -> anyhow::Result<Session> {
        let Some(state) = emulator else {
            return Ok(Session {
                target: Target::resolve(config, pin)?,
                emulator: None,
                state_copy: None,
            });
        };
        let token = format!("roster-local-{:x}", std::process::id() as u64 * 0x9e37_79b9);
        let mut builder = crate::emulator::Emulator::builder()
            .port(0)
            .token(token.clone());
        let mut state_copy = None;
        if let Some(state) = state {
            let copy =
                std::env::temp_dir().join(format!("roster-emulator-{}.json", std::process::id()));
            let bytes = crate::fsio::read(state, crate::emulator::MAX_STATE_BYTES)
                .with_context(|| format!("cannot read the emulator state `{}`", state.display()))?;
            crate::fsio::write_atomic(&copy, &bytes).with_context(|| {
                format!("cannot copy the emulator state to `{}`", copy.display())
            })?;
            builder = builder.state_file(&copy);
            state_copy = Some(copy);
        }
        let running = builder
            .start()
            .await
            .context("cannot start the built-in emulator")?;
        Ok(Session {
            target: Target {
                profile: config.settings.target.profile,
                url: running.url().to_string(),
                token: Secret::new(token),
                token_env: "(built-in emulator)".into(),
                requests_per_minute: config.settings.target.requests_per_minute,
            },
            emulator: Some(running),
            state_copy,
        })
    }

    /// The target as a saved plan records it: the URL reduced by
    /// [`target_id`](crate::wire::saved::target_id), or, for the built-in emulator (a new port
    /// every run), [`BUILTIN_EMULATOR`](crate::wire::saved::BUILTIN_EMULATOR).
    pub fn target_id(&self) -> String {
        match self.emulator {
            Some(_) => crate::wire::saved::BUILTIN_EMULATOR.to_string(),
            None => crate::wire::saved::target_id(&self.target.url),
        }
    }

    /// Requests the built-in emulator served, when it was used.
    pub fn emulator_stats(&self) -> Option<crate::emulator::StatsSnapshot> {
        self.emulator.as_ref().map(|e| e.stats())
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Some(copy) = &self.state_copy {
            let _ = crate::fsio::remove_file(copy);
        }
    }
}

/// What a client will be used for: to write, apply also asks an Asana target whether it has
/// ETags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

/// What the target supports, the one place it is decided. For the generic profile, read from
/// `/ServiceProviderConfig`, which also sets the client's page size and its use of filters
/// (unreadable: a warning, and [`Features::ASSUMED`]). For Asana, its documented behaviour
/// without a request (Asana does not document that document's contents), except that apply
/// asks it whether it has ETags.
pub async fn features(
    client: &ReadClient,
    profile: Profile,
    access: Access,
    notes: &mut Notes,
) -> Features {
    match (profile, access) {
        (Profile::Asana, Access::Read) => Features::ASANA,
        (Profile::Asana, Access::Write) => Features {
            etag: client
                .service_provider_config()
                .await
                .ok()
                .and_then(|spc| spc.0.get("etag")?.get("supported")?.as_bool())
                .unwrap_or(false),
            ..Features::ASANA
        },
        (Profile::Generic, _) => match client.service_provider_config().await {
            Ok(config) => Features::from_config(&config.0),
            Err(e) => {
                notes.warn(format!(
                    "cannot read /ServiceProviderConfig ({e}); assuming PATCH and filters are \
                     supported and ETags are not"
                ));
                Features::ASSUMED
            }
        },
    }
}

/// Reads every live user and group, concurrently. Warnings about resources the server sent
/// that are not users or groups are dropped: commands use [`read_live_with`].
pub async fn read_live(client: &ReadClient) -> Result<Live, ClientError> {
    read_live_with(client, None, &mut Notes::default()).await
}

/// Called with the number of users read so far, as pages arrive.
pub type Progress = std::sync::Arc<dyn Fn(usize) + Send + Sync>;

/// [`read_live`], reporting how many users have been read, and a warning for each resource
/// skipped.
pub async fn read_live_with(
    client: &ReadClient,
    progress: Option<Progress>,
    notes: &mut Notes,
) -> Result<Live, ClientError> {
    // Users become `LiveUser`s page by page, from their text: a parsed resource takes about
    // 4 kB a user (400 MB for 100,000), and building it most of the time of a read.
    let read = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let keep = move |u: crate::plan::UserText| {
        let n = read.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        if let Some(p) = &progress
            && n.is_multiple_of(100)
        {
            p(n);
        }
        u.into_live()
    };
    let (users, groups) = tokio::join!(client.list_user_texts_with(keep), client.list_groups());
    let mut live = Live {
        complete: true,
        ..Live::default()
    };
    for u in users? {
        match u {
            Ok(u) => live.users.push(u),
            Err(e) => notes.warn(format!("skipping a live user the server sent: {e}")),
        }
    }
    for r in groups? {
        match LiveGroup::from_resource(r.into_value()) {
            Ok(g) => live.groups.push(g),
            Err(e) => notes.warn(format!("skipping a live group the server sent: {e}")),
        }
    }
    Ok(live)
}

/// Reads a saved plan (`plan --out`): a regular file of at most
/// [`MAX_PLAN_BYTES`](crate::wire::saved::MAX_PLAN_BYTES), whose `kind` says it is a plan and
/// whose `format_version` this roster reads. Whether it may be applied is
/// [`crate::wire::integrity`]'s to say.
pub fn read_saved_plan(path: &Path) -> anyhow::Result<crate::wire::saved::PlanFile> {
    use crate::wire::saved::MAX_PLAN_BYTES;
    let text = crate::fsio::read_to_string(path, MAX_PLAN_BYTES)
        .with_context(|| format!("cannot read the plan file `{}`", path.display()))?;
    crate::wire::saved::parse(&text).with_context(|| format!("cannot use `{}`", path.display()))
}

/// A client error with what to do about it, in plain words.
pub fn explain(e: ClientError) -> anyhow::Error {
    let hint = match &e {
        ClientError::Scim(s) => s.hint().map(str::to_string),
        ClientError::Transport { kind, .. } => Some(format!(
            "{kind}: check the URL (--target-url, ROSTER_TARGET_URL, or the url in roster.yaml) \
             and the network"
        )),
        ClientError::ListStopped {
            why: ListStop::Deadline { .. },
            ..
        } => {
            Some("the server answered too slowly for a list this size: run again later".to_string())
        }
        ClientError::ListStopped { .. } => Some(
            "roster plans only on a complete list it can trust: check that the URL is the SCIM \
             server you mean; if it is, its paging is broken (tell whoever runs it)"
                .to_string(),
        ),
        _ => None,
    };
    match hint {
        Some(h) => anyhow::anyhow!("{e}\n  hint: {h}"),
        None => anyhow::anyhow!("{e}"),
    }
}

/// mimalloc's option number for `purge_delay` (`mi_option_purge_delay` in the `mimalloc.h` that
/// libmimalloc-sys 0.1.49 builds, which its Rust bindings do not name); a test checks it.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Keeps memory the process frees for its own later use instead of handing it back to the OS
/// after a second (mimalloc's `purge_delay`). Reading 100,000 users frees each page's body and
/// allocates the next: handed back, each was faulted in and zeroed again, about a sixth of the
/// read's CPU (benches/plan.rs, 2026-12-03). The cost is memory kept at its high-water mark
/// until the command ends (about 25 MB more at the peak of that plan). Called by `main` (for
/// every command but the emulator) and by the benches that run roster in their own process,
/// before anything else. `MIMALLOC_PURGE_DELAY` in the environment still wins.
pub fn keep_freed_memory() {
    // SAFETY: sets one option's default (not a value the environment gave); mimalloc reads it
    // when it next considers purging.
    unsafe { libmimalloc_sys::mi_option_set_default(MI_OPTION_PURGE_DELAY, -1) }
}

/// A multi-threaded runtime for commands that talk to the network.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// The git commit of the config directory, when it is in a git work tree.
pub fn git_commit(dir: &Path) -> Option<String> {
    let out = changed::git(dir, &["rev-parse", "--verify", "-q", "HEAD"]).ok()?;
    let commit = out.trim();
    (!commit.is_empty()).then(|| commit.to_string())
}

/// A variable of roster's environment when it is set and UTF-8: the one place the binary reads
/// the environment (the target's pin and token, the Entra settings and secret, the test clock).
#[expect(
    clippy::disallowed_methods,
    reason = "ops is the edge that reads the environment"
)]
pub(crate) fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Now, in seconds since the epoch: the instant a plan is evaluated at without `--at`.
pub fn now_secs() -> i64 {
    i64::try_from(crate::http::unix_now().as_secs()).unwrap_or(i64::MAX)
}

/// Now, as RFC 3339 UTC (`2026-11-29T01:59:13Z`).
pub fn now_rfc3339() -> String {
    crate::civil_time::rfc3339(crate::http::unix_now().as_secs())
}

#[cfg(test)]
mod tests {
    use super::{ASANA_URL_ENV, MI_OPTION_PURGE_DELAY, Pin, TARGET_URL_ENV, keep_freed_memory};

    #[test]
    fn the_pin_comes_from_the_flag_then_either_variable_which_must_agree() {
        let a = "http://127.0.0.1:4000/api/1.0/scim";
        let b = "http://127.0.0.1:4001/api/1.0/scim";
        let pin = |arg, t, o| Pin::decide(arg, t, o).map(|p| p.map(|p| (p.url, p.source)));
        assert_eq!(pin(None, None, None).unwrap(), None);
        assert_eq!(
            pin(Some(a), Some(a), None).unwrap(),
            Some((a.into(), TARGET_URL_ENV))
        );
        assert_eq!(
            pin(None, None, Some(a)).unwrap(),
            Some((a.into(), ASANA_URL_ENV))
        );
        assert_eq!(
            pin(Some(b), None, Some(a)).unwrap(),
            Some((b.into(), "--target-url"))
        );
        // The same target spelled twice is one target.
        let a_slash = format!("{a}/");
        assert!(pin(Some(a), Some(a), Some(&a_slash)).is_ok());
        let err = pin(Some(a), Some(a), Some(b)).unwrap_err().to_string();
        assert!(
            err.contains(TARGET_URL_ENV) && err.contains(ASANA_URL_ENV) && err.contains(b),
            "{err}"
        );
    }

    #[test]
    fn rfc3339_dates() {
        assert_eq!(crate::civil_time::rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(
            crate::civil_time::rfc3339(951_782_400),
            "2000-02-29T00:00:00Z"
        );
        assert_eq!(
            crate::civil_time::rfc3339(1_795_917_553),
            "2026-11-29T01:59:13Z"
        );
    }

    /// The option number is `purge_delay`'s: the only option whose default is a second (an
    /// upgrade of libmimalloc-sys that renumbered the options would fail here rather than set
    /// another option), and keeping freed memory sets it to "never". Run without
    /// `MIMALLOC_PURGE_DELAY` in the environment, as the tests are.
    #[test]
    fn keep_freed_memory_sets_mimallocs_purge_delay() {
        // SAFETY: reads one option's value.
        let get = || unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) };
        assert_eq!(
            get(),
            1000,
            "mimalloc's default purge delay, in milliseconds"
        );
        keep_freed_memory();
        assert_eq!(get(), -1);
    }
}
