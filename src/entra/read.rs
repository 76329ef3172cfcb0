//! Reading Entra through Graph into a [`Directory`]: the users by delta query (a full round the
//! first time, then only what changed, from the delta link kept in a state file), the Asana
//! app's assignments, and the members of its assigned groups.
//!
//! The state file (`.roster/entra-delta.json` in the config directory, ignored by git through
//! a `.gitignore` written next to it) holds the delta link and the selected properties of every
//! user read so far: it is a cache, safe to delete (the next run reads everything). It holds no
//! secret and no token. It is used only for the same tenant, Graph host and `$select`, and is
//! dropped after six days, before Graph's seven-day limit on directory delta tokens. A 410 Gone
//! or an expired sync state makes the run read everything again.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use url::Url;

use super::directory::{DirUser, apply_delta_item};
use super::graph::{GraphClient, GraphError};
use super::scope::{Assignment, Directory};
use crate::config::model::{EntraScope, EntraSettings, GroupMembers};

/// Where the state file lives, relative to the config directory.
pub const STATE_DIR: &str = ".roster";
pub const STATE_FILE: &str = "entra-delta.json";
const STATE_FORMAT: &str = "roster-entra-delta/2";
/// Graph's directory delta tokens expire after seven days; stop using one a day earlier.
const STATE_MAX_AGE_SECS: u64 = 6 * 24 * 3600;
/// Group member listings read at once.
const MEMBER_READS: usize = 4;

/// The state file's path for a config directory.
pub fn state_path(config_dir: &Path) -> PathBuf {
    config_dir.join(STATE_DIR).join(STATE_FILE)
}

#[derive(Debug, Serialize, Deserialize)]
struct DeltaState {
    format: String,
    tenant_id: String,
    graph_url: String,
    select: String,
    /// Seconds since the epoch.
    saved_at: u64,
    delta_link: String,
    users: BTreeMap<String, DirUser>,
}

/// The state file: the state's JSON exactly as written, and its [`GraphClient::state_tag`].
#[derive(Serialize, Deserialize)]
struct SealedState {
    tag: String,
    state: Box<serde_json::value::RawValue>,
}

/// How the users were read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UsersRead {
    /// Every user, in a full delta round (and the recycle bin); `why` when a stored delta link
    /// could not be used.
    Full { why: Option<String> },
    /// Only what changed since the stored delta link.
    Delta { changes: usize },
}

impl std::fmt::Display for UsersRead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UsersRead::Full { why: None } => write!(f, "read every user"),
            UsersRead::Full { why: Some(w) } => write!(f, "read every user ({w})"),
            UsersRead::Delta { changes } => {
                write!(f, "read {changes} changed user(s) since the last run")
            }
        }
    }
}

/// What a read gave, and what the user should know about it.
#[derive(Debug)]
pub struct ReadOutcome {
    pub directory: Directory,
    pub users_read: UsersRead,
    pub warnings: Vec<String>,
}

/// Reads everything scope needs. `state` is the state file to use and update (`None`: always
/// a full round, nothing kept).
pub async fn read(
    client: &GraphClient,
    settings: &EntraSettings,
    select: &[&str],
    state: Option<&Path>,
) -> Result<ReadOutcome, GraphError> {
    let mut warnings = Vec::new();
    let select_text = select.join(",");
    let (users, delta_link, users_read) =
        read_users(client, settings, &select_text, state, &mut warnings).await?;
    // Saved before the assignments are read: the users and the link agree, whatever follows.
    let users = match state {
        Some(path) => {
            let saved = DeltaState {
                format: STATE_FORMAT.into(),
                tenant_id: settings.tenant_id.clone(),
                graph_url: settings.graph_url.clone(),
                select: select_text,
                saved_at: now_secs(),
                delta_link,
                users,
            };
            if let Err(e) = save_state(client, path, &saved) {
                warnings.push(format!(
                    "entra: cannot write the delta state `{}` ({e}); the next run reads every \
                     user again",
                    path.display()
                ));
            }
            saved.users
        }
        None => users,
    };
    let (assignments, group_members) = read_assignments(client, settings, &mut warnings).await?;
    Ok(ReadOutcome {
        directory: Directory {
            users,
            assignments,
            group_members,
        },
        users_read,
        warnings,
    })
}

async fn read_users(
    client: &GraphClient,
    settings: &EntraSettings,
    select: &str,
    state: Option<&Path>,
    warnings: &mut Vec<String>,
) -> Result<(BTreeMap<String, DirUser>, String, UsersRead), GraphError> {
    let mut why = None;
    if let Some(path) = state {
        match load_state(client, path, settings, select) {
            Ok(Some(mut saved)) => match Url::parse(&saved.delta_link)
                .ok()
                .filter(|u| client.check_origin(u).is_ok())
            {
                Some(link) => match client.delta(link).await {
                    Ok(round) => {
                        let changes = round.values.len();
                        for item in &round.values {
                            apply_delta_item(&mut saved.users, item);
                        }
                        return Ok((saved.users, round.delta_link, UsersRead::Delta { changes }));
                    }
                    Err(GraphError::ResyncRequired { status, code, .. }) => {
                        why = Some(format!("the stored delta link expired: {status} {code}"));
                    }
                    Err(e) => return Err(e),
                },
                None => why = Some("the stored delta link is not on the Graph host".into()),
            },
            Ok(None) => {}
            Err(reason) => why = Some(reason),
        }
    }
    if let Some(w) = &why {
        warnings.push(format!("entra: {w}; reading every user"));
    }
    // A full round: every user, then the recycle bin (a first delta round lists only users
    // that exist; soft-deleted ones are deprovisioned, so they are read too).
    let start = client.url("users/delta", &[("$select", select)]);
    let round = client.delta(start).await?;
    let mut users = BTreeMap::new();
    for item in &round.values {
        apply_delta_item(&mut users, item);
    }
    let deleted = client
        .list(
            client.url(
                "directory/deletedItems/microsoft.graph.user",
                &[("$select", select), ("$top", "999")],
            ),
            false,
        )
        .await?;
    for item in &deleted {
        apply_delta_item(&mut users, item);
        if let Some(id) = item.get("id").and_then(Json::as_str)
            && let Some(u) = users.get_mut(id)
        {
            u.deleted = true;
        }
    }
    Ok((users, round.delta_link, UsersRead::Full { why }))
}

/// The app's assignments, and the members of each assigned group (users only).
async fn read_assignments(
    client: &GraphClient,
    settings: &EntraSettings,
    warnings: &mut Vec<String>,
) -> Result<(Vec<Assignment>, BTreeMap<String, Vec<String>>), GraphError> {
    let sp = &settings.service_principal_id;
    let items = client
        .list(
            client.url(
                &format!("servicePrincipals/{sp}/appRoleAssignedTo"),
                &[
                    ("$select", "principalId,principalType,principalDisplayName"),
                    ("$top", "999"),
                ],
            ),
            false,
        )
        .await?;
    let text = |j: &Json, k: &str| j.get(k).and_then(Json::as_str).unwrap_or("").to_string();
    let assignments: Vec<Assignment> = items
        .iter()
        .map(|a| Assignment {
            principal_id: text(a, "principalId"),
            principal_type: text(a, "principalType"),
            principal_display_name: text(a, "principalDisplayName"),
        })
        .filter(|a| {
            // Ids go into request paths: only what a directory object id looks like.
            let plain = !a.principal_id.is_empty()
                && a.principal_id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-');
            if !plain {
                warnings.push(format!(
                    "entra: skipping an assignment with an unexpected principal id `{}`",
                    a.principal_id
                ));
            }
            plain
        })
        .collect();
    if settings.scope == EntraScope::All && assignments.is_empty() {
        warnings.push("entra: no group is assigned to the app, so no team comes from Entra".into());
    }
    let relation = match settings.group_members {
        GroupMembers::Direct => "members",
        GroupMembers::Transitive => "transitiveMembers",
    };
    let groups: Vec<String> = assignments
        .iter()
        .filter(|a| a.principal_type == "Group")
        .map(|a| a.principal_id.clone())
        .collect();
    let mut members = BTreeMap::new();
    let mut pending = groups.into_iter();
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        while tasks.len() < MEMBER_READS {
            let Some(group) = pending.next() else { break };
            let client = client.clone();
            // The cast to users is an advanced query: ConsistencyLevel: eventual and $count.
            let url = client.url(
                &format!("groups/{group}/{relation}/microsoft.graph.user"),
                &[("$select", "id"), ("$count", "true"), ("$top", "999")],
            );
            tasks.spawn(async move { (group, client.list(url, true).await) });
        }
        let Some(done) = tasks.join_next().await else {
            break;
        };
        let (group, result) =
            done.map_err(|e| GraphError::Config(format!("a read failed: {e}")))?;
        match result {
            Ok(items) => {
                let ids = items
                    .iter()
                    .filter_map(|m| m.get("id").and_then(Json::as_str))
                    .map(str::to_string)
                    .collect();
                members.insert(group, ids);
            }
            // A group deleted since it was assigned: it has no members to provision.
            Err(GraphError::Status { status: 404, .. }) => {
                warnings.push(format!("entra: assigned group {group} no longer exists"));
                members.insert(group, Vec::new());
            }
            Err(e) => return Err(e),
        }
    }
    Ok((assignments, members))
}

/// The stored state, if it can be used for this tenant, host and `$select`: `Ok(None)` when
/// there is none, `Err(why)` when there is one that cannot be used.
fn load_state(
    client: &GraphClient,
    path: &Path,
    settings: &EntraSettings,
    select: &str,
) -> Result<Option<DeltaState>, String> {
    let text = match crate::fsio::read_to_string(path, MAX_STATE_BYTES) {
        Ok(t) => t,
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(format!("cannot read the delta state: {e}")),
    };
    let sealed: SealedState =
        serde_json::from_str(&text).map_err(|e| format!("the delta state is unreadable: {e}"))?;
    if !client.state_tag_matches(sealed.state.get().as_bytes(), &sealed.tag) {
        return Err(
            "the delta state was not written by roster with this client secret (a copied or \
             committed file is never trusted)"
                .into(),
        );
    }
    let state: DeltaState = serde_json::from_str(sealed.state.get())
        .map_err(|e| format!("the delta state is unreadable: {e}"))?;
    if state.format != STATE_FORMAT {
        return Err("the delta state has another format".into());
    }
    if state.tenant_id != settings.tenant_id || state.graph_url != settings.graph_url {
        return Err("the delta state is for another tenant or Graph host".into());
    }
    if state.select != select {
        return Err("the mapped attributes changed since the last run".into());
    }
    if now_secs().saturating_sub(state.saved_at) > STATE_MAX_AGE_SECS {
        return Err("the stored delta link is more than six days old".into());
    }
    Ok(Some(state))
}

/// Writes the state atomically, with a `.gitignore` that keeps the directory out of git (it
/// holds people's names and addresses, and changes every run).
fn save_state(client: &GraphClient, path: &Path, state: &DeltaState) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    crate::fsio::create_dir_all(dir)?;
    let ignore = dir.join(".gitignore");
    if std::fs::symlink_metadata(&ignore).is_err() {
        // Not fs::write: that would follow a dangling symlink committed in its place.
        crate::fsio::write_atomic(
            &ignore,
            b"# roster's local state (a cache of Entra users): never committed.\n*\n",
        )?;
    }
    let state = serde_json::to_string(state).map_err(std::io::Error::other)?;
    let sealed = SealedState {
        tag: client.state_tag(state.as_bytes()),
        state: serde_json::value::RawValue::from_string(state).map_err(std::io::Error::other)?,
    };
    let bytes = serde_json::to_vec(&sealed).map_err(std::io::Error::other)?;
    Ok(crate::fsio::write_atomic(path, &bytes)?)
}

/// Largest delta state file read (it holds every in-scope user: about 1 kB each).
const MAX_STATE_BYTES: u64 = 512 * 1024 * 1024;

fn now_secs() -> u64 {
    crate::http::unix_now().as_secs()
}
