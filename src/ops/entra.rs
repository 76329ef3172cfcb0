//! The Entra source at the IO edge: settings with the environment's overrides, the client
//! secret from its variable, reading Graph (with the delta state), merging in live mode, and
//! writing the import's files. What it finds worth telling goes into the [`Notes`] it is
//! given; it prints nothing.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use super::{Hooks, Note, Notes};
use crate::config::Config;
use crate::config::model::{EntraMode, EntraSettings, Profile};
use crate::diagnostics::{Report, Severity};
use crate::entra::cloud::{self, Endpoint};
use crate::entra::graph::{GraphClient, GraphConfig, GraphError, GraphStatsSnapshot};
use crate::entra::read::{self, UsersRead};
use crate::entra::scope::{self, EntraData};
use crate::entra::{directory, import, merge};
use crate::plan::Live;
use crate::render::markdown::visible;
use crate::scim::client::Secret;
use crate::urls::{check_base_url, normalize_url, same_url};

/// Pins `entra.login_url`, where the client secret goes (a workflow sets it; tests and the
/// emulator too).
pub const LOGIN_URL_ENV: &str = "ROSTER_ENTRA_LOGIN_URL";
/// Pins `entra.graph_url`, where every access token goes.
pub const GRAPH_URL_ENV: &str = "ROSTER_ENTRA_GRAPH_URL";

/// `entra:` from roster.yaml with the URLs `ROSTER_ENTRA_LOGIN_URL` / `ROSTER_ENTRA_GRAPH_URL`
/// pin ([`pin`]); an error when roster.yaml has no `entra:` section. Commands call it before
/// their first request, so a refused pin sends nothing anywhere.
pub fn settings(config: &Config) -> anyhow::Result<EntraSettings> {
    let Some(s) = config.settings.entra.clone() else {
        bail!(
            "roster.yaml has no `entra:` section: add one to read users from Entra ID (see docs/entra.md)"
        );
    };
    let var = |name| {
        super::env_var(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    pin(
        s,
        var(LOGIN_URL_ENV).as_deref(),
        var(GRAPH_URL_ENV).as_deref(),
    )
}

/// The settings with the URLs pinned outside roster.yaml, which a pull request can edit: each
/// pinned URL must be one roster may send to ([`cloud::place`]: a Microsoft host, or
/// loopback), and a URL roster.yaml writes must equal it (after
/// [`normalize_url`](crate::urls::normalize_url)), or nothing is sent; never a
/// silent override. A URL roster.yaml leaves out takes the pin. The two URLs that result must
/// belong to one cloud.
pub fn pin(
    mut s: EntraSettings,
    login: Option<&str>,
    graph: Option<&str>,
) -> anyhow::Result<EntraSettings> {
    let mut problems = Vec::new();
    // Where each URL came from, for the message when the two name different clouds.
    let mut from = [
        ("roster.yaml", Endpoint::Login),
        ("roster.yaml", Endpoint::Graph),
    ];
    for ((source, endpoint), (var, pinned, url, written)) in from.iter_mut().zip([
        (LOGIN_URL_ENV, login, &mut s.login_url, s.login_url_written),
        (GRAPH_URL_ENV, graph, &mut s.graph_url, s.graph_url_written),
    ]) {
        let Some(pinned) = pinned else {
            if !written {
                *source = "the default";
            }
            continue;
        };
        let key = endpoint.key();
        if let Err(e) = check_base_url(pinned)
            .and_then(|()| normalize_url(pinned))
            .and_then(|_| cloud::place(*endpoint, pinned))
        {
            problems.push(format!("{var}: {e}"));
        } else if written && !same_url(url, pinned) {
            problems.push(format!(
                "roster.yaml's entra.{key} `{url}` differs from the pinned `{pinned}` ({var})\n  \
                 hint: the pinned URL decides where the {what} goes; remove entra.{key} from \
                 roster.yaml or make it the pinned URL",
                // A path may hold what the file put there: shown, not sent to the terminal.
                url = visible(url),
                pinned = visible(pinned),
                what = match endpoint {
                    Endpoint::Login => "client secret",
                    Endpoint::Graph => "access token",
                },
            ));
        } else {
            *url = pinned.trim_end_matches('/').to_string();
            *source = var;
        }
    }
    if problems.is_empty() {
        let login = cloud::place(Endpoint::Login, &s.login_url);
        let graph = cloud::place(Endpoint::Graph, &s.graph_url);
        match (login, graph) {
            (Ok(login), Ok(graph)) => {
                if let Err(e) = cloud::same_cloud(login, graph) {
                    problems.push(format!(
                        "{e} (login_url `{}` from {}, graph_url `{}` from {})",
                        visible(&s.login_url),
                        from[0].0,
                        visible(&s.graph_url),
                        from[1].0
                    ));
                }
            }
            (Err(e), _) | (_, Err(e)) => problems.push(e),
        }
    }
    if !problems.is_empty() {
        bail!("{}\nnothing was sent", problems.join("\n"));
    }
    Ok(s)
}

/// A Graph client for these settings, with the secret from the variable they name.
pub fn client(settings: &EntraSettings, hooks: &Hooks) -> anyhow::Result<GraphClient> {
    let var = &settings.client_secret_env;
    let secret = match super::env_var(var) {
        Some(s) if !s.trim().is_empty() => Secret::new(s.trim()),
        _ => bail!(
            "the environment variable {var} is not set: export the Entra app registration's \
             client secret in it (or name another variable in entra.client_secret_env)"
        ),
    };
    let mut config = GraphConfig::new(
        settings.login_url.clone(),
        settings.graph_url.clone(),
        settings.tenant_id.clone(),
        settings.client_id.clone(),
        secret,
    );
    config.verbosity = hooks.verbose;
    config.log = Some(hooks.log.clone());
    if let Some(clock) = super::test_clock() {
        config.clock = clock;
    }
    GraphClient::new(&config).map_err(explain)
}

/// A Graph error with what to do about it.
pub fn explain(e: GraphError) -> anyhow::Error {
    match e.hint() {
        Some(h) => anyhow::anyhow!("{e}\n  hint: {h}"),
        None => anyhow::anyhow!("{e}"),
    }
}

/// The enterprise application in Entra that provisions the target, in words.
pub fn app_name(profile: Profile) -> &'static str {
    match profile {
        Profile::Asana => "the Asana app",
        Profile::Generic => "the SCIM server's app",
    }
}

/// `roster check` for Entra: signs in and reads the target app's service principal and its
/// assignments. Returns lines to print.
pub async fn check(
    settings: &EntraSettings,
    profile: Profile,
    hooks: &Hooks,
) -> anyhow::Result<Vec<String>> {
    let client = client(settings, hooks)?;
    let sp = &settings.service_principal_id;
    let app = client
        .get(
            &client.url(
                &format!("servicePrincipals/{sp}"),
                &[("$select", "id,displayName,appId")],
            ),
            false,
        )
        .await
        .map_err(explain)?;
    let assignments = client
        .list(
            client.url(
                &format!("servicePrincipals/{sp}/appRoleAssignedTo"),
                &[("$select", "principalType"), ("$top", "999")],
            ),
            false,
        )
        .await
        .map_err(explain)?;
    let count = |kind: &str| {
        assignments
            .iter()
            .filter(|a| a["principalType"].as_str() == Some(kind))
            .count()
    };
    Ok(vec![
        format!(
            "entra:  {} (tenant {})",
            settings.graph_url, settings.tenant_id
        ),
        format!(
            "secret: from ${} (not shown); signed in as client {}",
            settings.client_secret_env, settings.client_id
        ),
        format!(
            "ok:     {} is `{}`, with {} users and {} groups assigned",
            app_name(profile),
            visible(app["displayName"].as_str().unwrap_or("?")),
            count("User"),
            count("Group")
        ),
    ])
}

/// What one read of Entra gave.
pub struct EntraRead {
    pub data: EntraData,
    pub users_read: UsersRead,
    pub stats: GraphStatsSnapshot,
}

/// Reads Entra as the config and `settings` (from [`settings`]) say and decides scope. The
/// delta state is kept in the config directory unless `full` (then every user is read and
/// nothing is kept).
pub async fn read(
    config: &Config,
    settings: &EntraSettings,
    hooks: &Hooks,
    full: bool,
    notes: &mut Notes,
) -> anyhow::Result<EntraRead> {
    let client = client(settings, hooks)?;
    let sources = directory::used_sources(config);
    let select = directory::select(&sources);
    let state = (!full)
        .then(|| read::state_path(&config.dir))
        .filter(|path| state_inside(&config.dir, path, notes));
    let outcome = read::read(&client, settings, &select, state.as_deref())
        .await
        .map_err(explain)?;
    for w in &outcome.warnings {
        // Warnings name what Graph sent (group names, ids): shown, not sent to the terminal.
        notes.warn(visible(w));
    }
    let data = scope::resolve(&outcome.directory, settings, select.contains(&"manager"));
    let stats = client.stats();
    if hooks.verbose > 0 {
        notes.info(format!("entra: {}; {stats}", outcome.users_read));
    }
    Ok(EntraRead {
        data,
        users_read: outcome.users_read,
        stats,
    })
}

/// `--changed-since` compares the YAML in git; in live mode what Entra gives is not in git, so
/// a partial plan would miss its changes. Refused rather than silently incomplete.
pub fn refuse_changed_since(config: &Config, changed_since: Option<&str>) -> anyhow::Result<()> {
    let live = config
        .settings
        .entra
        .as_ref()
        .is_some_and(|e| e.mode == EntraMode::Live);
    if live && changed_since.is_some() {
        bail!(
            "--changed-since compares declarations in git, and with entra.mode: live the users \
             from Entra are not in git: plan without --changed-since (Entra is read by delta, \
             so the Graph side stays cheap)"
        );
    }
    Ok(())
}

/// In live mode, reads Entra and merges it into the config (the YAML wins). The merge's
/// diagnostics go into `notes`; `false` when one is an error (a reference that resolves
/// nowhere: nothing may be sent then). Does nothing without `entra:` or in seed mode.
pub async fn merge_live(
    config: &mut Config,
    hooks: &Hooks,
    notes: &mut Notes,
) -> anyhow::Result<bool> {
    if config
        .settings
        .entra
        .as_ref()
        .is_none_or(|e| e.mode != EntraMode::Live)
    {
        return Ok(true);
    }
    let settings = settings(config)?;
    let read = read(config, &settings, hooks, false, notes).await?;
    let in_scope = read.data.in_scope().count();
    let diagnostics = merge::merge(config, read.data);
    notes.info(format!(
        "Entra (live): {in_scope} users in scope; {}.",
        read.users_read
    ));
    let errors = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    if !diagnostics.is_empty() {
        notes.0.push(Note::Diagnostics(diagnostics));
    }
    if errors > 0 {
        notes.info(format!(
            "{errors} problem(s) found after reading Entra; nothing was sent to {}",
            config.settings.target.profile.target_name()
        ));
    }
    Ok(errors == 0)
}

/// What `roster import entra` did.
pub struct Imported {
    pub import: import::Import,
    pub files: Vec<PathBuf>,
    pub users_read: UsersRead,
}

/// Reads Entra and rewrites `users/entra/` and `groups/entra/` in the config directory.
/// `live` is the Asana organisation (to write out-of-scope users that hold an account), or
/// `None` to skip that.
pub async fn import(
    config: &Config,
    settings: &EntraSettings,
    report: &Report,
    live: Option<&Live>,
    hooks: &Hooks,
    full: bool,
    notes: &mut Notes,
) -> anyhow::Result<Imported> {
    let read = read(config, settings, hooks, full, notes).await?;
    let dir = &config.dir;
    // Declarations outside the import's folders win over Entra's.
    let (mut users_elsewhere, mut groups_elsewhere) = (HashSet::new(), HashSet::new());
    let owned = |file: usize, sub: &str| {
        let shown = report.sources.display(file);
        shown.strip_prefix(dir).unwrap_or(shown).starts_with(sub)
    };
    for u in &config.users {
        if let Some(at) = &u.origin
            && !owned(at.file, import::USERS_DIR)
        {
            users_elsewhere.insert(u.key());
        }
    }
    for g in &config.groups {
        if let Some(at) = &g.origin
            && !owned(at.file, import::GROUPS_DIR)
        {
            groups_elsewhere.insert(g.key());
        }
    }
    let header = vec![
        format!(
            "Written by `roster import entra` from Entra ID: tenant {},",
            settings.tenant_id
        ),
        format!(
            "service principal {} ({}).",
            settings.service_principal_id,
            app_name(config.settings.target.profile)
        ),
        "Do not edit: every import rewrites this folder. Change people in Entra, or declare a"
            .to_string(),
        "user elsewhere under users/ to take it over (the import then leaves it out).".to_string(),
    ];
    let users_path = dir.join(import::USERS_DIR).join(import::USERS_FILE);
    let groups_path = dir.join(import::GROUPS_DIR).join(import::GROUPS_FILE);
    let users_schema = schema_ref(dir, &users_path, "users.schema.json");
    let groups_schema = schema_ref(dir, &groups_path, "groups.schema.json");
    let result = import::build(
        &read.data,
        &import::Inputs {
            config,
            live,
            users_elsewhere: &users_elsewhere,
            groups_elsewhere: &groups_elsewhere,
            users_schema: &users_schema,
            groups_schema: &groups_schema,
            header: &header,
        },
    );
    let root = crate::fsio::Root::new(dir)?;
    for (path, text) in [
        (&users_path, &result.users_yaml),
        (&groups_path, &result.groups_yaml),
    ] {
        rewrite_folder(&root, path, text)
            .with_context(|| format!("cannot write `{}`", path.display()))?;
    }
    Ok(Imported {
        import: result,
        files: vec![users_path, groups_path],
        users_read: read.users_read,
    })
}

/// Whether the delta state file may be used: it (or the folder it would be made in) is inside
/// the config directory. A `.roster` symlinked elsewhere by a pull request is neither read
/// nor written; every user is read instead.
fn state_inside(config_dir: &Path, path: &Path, notes: &mut Notes) -> bool {
    let checked = crate::fsio::Root::new(config_dir).map_err(crate::fsio::FileError::Io);
    match checked.and_then(|root| root.check_write(path)) {
        Ok(()) => true,
        Err(e) => {
            notes.warn(format!(
                "not using the delta state `{}`: {e}; every user is read",
                path.display()
            ));
            false
        }
    }
}

/// Replaces every YAML file in `path`'s folder by `path` with `text` (written atomically,
/// inside the config directory).
fn rewrite_folder(root: &crate::fsio::Root, path: &Path, text: &str) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    root.write(path, text.as_bytes())?;
    for entry in std::fs::read_dir(dir)? {
        let p = entry?.path();
        if crate::config::load::is_yaml(&p) && p.is_file() && p != path {
            crate::fsio::remove_file(&p)?;
        }
    }
    Ok(())
}

/// The `$schema` of a generated file: the nearest `schema/NAME` in the config directory or
/// above it (roster's own repository keeps them at its root), relative to the file; or where
/// `roster schema --out-dir schema` in the config directory would write it.
fn schema_ref(config_dir: &Path, file: &Path, name: &str) -> String {
    let file_dir = file.parent().unwrap_or(Path::new("."));
    let depth = file_dir
        .strip_prefix(config_dir)
        .map_or(2, |rel| rel.components().count());
    let absolute = std::fs::canonicalize(config_dir).ok();
    let mut up = 0;
    let mut at = absolute.as_deref();
    while let Some(dir) = at {
        if dir.join("schema").join(name).is_file() {
            return format!("{}schema/{name}", "../".repeat(depth + up));
        }
        // Stop at the repository's root.
        if dir.join(".git").exists() || up >= 8 {
            break;
        }
        at = dir.parent();
        up += 1;
    }
    format!("{}schema/{name}", "../".repeat(depth))
}

#[cfg(test)]
mod tests {
    use super::{GRAPH_URL_ENV, LOGIN_URL_ENV, pin};
    use crate::config::model::EntraSettings;

    const EMULATOR_LOGIN: &str = "http://127.0.0.1:4001/login";
    const EMULATOR_GRAPH: &str = "http://127.0.0.1:4001/graph";

    /// `entra:` as validated from roster.yaml; `None` leaves a URL to its default.
    fn written(login: Option<&str>, graph: Option<&str>) -> EntraSettings {
        let yaml = format!(
            "version: 1\nentra:\n  tenant_id: contoso.onmicrosoft.com\n  client_id: \
             00000000-0000-0000-0000-000000000001\n  service_principal_id: \
             00000000-0000-0000-0000-000000000002\n{}{}",
            login.map_or(String::new(), |u| format!("  login_url: {u}\n")),
            graph.map_or(String::new(), |u| format!("  graph_url: {u}\n")),
        );
        let (config, report) = crate::config::from_texts(&yaml, &[], &[]);
        let config = config.unwrap_or_else(|| panic!("{:#?}", report.diagnostics));
        config.settings.entra.unwrap()
    }

    fn urls(s: &EntraSettings) -> (&str, &str) {
        (&s.login_url, &s.graph_url)
    }

    #[test]
    fn item3_entra_pins_replace_defaults_and_equal_urls_but_never_a_differing_one() {
        // No pin: the file's URLs, or the global cloud's.
        let s = pin(written(None, None), None, None).unwrap();
        assert_eq!(
            urls(&s),
            (
                "https://login.microsoftonline.com",
                "https://graph.microsoft.com"
            )
        );
        // A pin takes the place of a default.
        let s = pin(
            written(None, None),
            Some(EMULATOR_LOGIN),
            Some(EMULATOR_GRAPH),
        )
        .unwrap();
        assert_eq!(urls(&s), (EMULATOR_LOGIN, EMULATOR_GRAPH));
        // A written URL equal to the pin after normalisation is the same URL.
        let s = pin(
            written(Some("HTTP://127.0.0.1:4001/login/"), Some(EMULATOR_GRAPH)),
            Some(EMULATOR_LOGIN),
            Some(EMULATOR_GRAPH),
        )
        .unwrap();
        assert_eq!(urls(&s), (EMULATOR_LOGIN, EMULATOR_GRAPH));
        // A written URL that differs stops the run, naming both and the variable.
        let hostile_login = "http://127.0.0.1:9999/login";
        let hostile_graph = "http://localhost:4001/graph";
        let err = pin(
            written(Some(hostile_login), Some(hostile_graph)),
            Some(EMULATOR_LOGIN),
            Some(EMULATOR_GRAPH),
        )
        .unwrap_err()
        .to_string();
        for part in [
            format!(
                "entra.login_url `{hostile_login}` differs from the pinned `{EMULATOR_LOGIN}` ({LOGIN_URL_ENV})"
            ),
            format!(
                "entra.graph_url `{hostile_graph}` differs from the pinned `{EMULATOR_GRAPH}` ({GRAPH_URL_ENV})"
            ),
            "nothing was sent".to_string(),
        ] {
            assert!(err.contains(&part), "`{part}` missing:\n{err}");
        }
        // The real clouds' pins hold a written URL of another cloud just the same.
        let err = pin(
            written(
                Some("https://login.microsoftonline.us"),
                Some("https://graph.microsoft.us"),
            ),
            Some("https://login.microsoftonline.com"),
            Some("https://graph.microsoft.com"),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("differs from the pinned"), "{err}");
    }

    #[test]
    fn issue12_messages_have_no_runs_of_spaces() {
        // A line continuation without its backslash kept the next line's indentation: runs of
        // 14 spaces in the middle of the message.
        let yaml = "version: 1\nentra:\n  mode: live\n  tenant_id: contoso.onmicrosoft.com\n  \
                    client_id: 00000000-0000-0000-0000-000000000001\n  service_principal_id: \
                    00000000-0000-0000-0000-000000000002\n";
        let (config, report) = crate::config::from_texts(yaml, &[], &[]);
        let config = config.unwrap_or_else(|| panic!("{:#?}", report.diagnostics));
        let err = super::refuse_changed_since(&config, Some("main"))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("--changed-since compares declarations in git"),
            "{err}"
        );
        assert!(!err.contains("  ") && !err.contains('\n'), "{err:?}");
        assert!(super::refuse_changed_since(&config, None).is_ok());
    }

    #[test]
    fn item3_entra_pins_are_held_to_the_host_and_cloud_rules() {
        let err = pin(
            written(None, None),
            Some("https://login.evil.example"),
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains(&format!("{LOGIN_URL_ENV}: login_url `https://login.evil.example` is not a Microsoft sign-in host")),
            "{err}"
        );
        let err = pin(written(None, None), None, Some("http://graph.example.com"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&format!(
                "{GRAPH_URL_ENV}: plain http:// is refused for `graph.example.com`"
            )),
            "{err}"
        );
        // One pin on loopback, the other URL the global default: two clouds.
        let err = pin(written(None, None), Some(EMULATOR_LOGIN), None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("the two must belong to the same cloud")
                && err.contains(&format!("from {LOGIN_URL_ENV}"))
                && err.contains("from the default"),
            "{err}"
        );
        // US Government's L5 Graph host with its sign-in host.
        let s = pin(
            written(None, None),
            Some("https://login.microsoftonline.us"),
            Some("https://dod-graph.microsoft.us"),
        )
        .unwrap();
        assert_eq!(
            urls(&s),
            (
                "https://login.microsoftonline.us",
                "https://dod-graph.microsoft.us"
            )
        );
    }
}
