//! The state file: the organisation as JSON, loaded at start and rewritten atomically (temp
//! file in the same directory, fsync, rename, fsync of the directory).
//!
//! The file format is versioned (`"format": "roster-emulator-state/1"`) and meant to be
//! hand-written too: `id`, `created`, `lastModified` and `version` may be left out. This module
//! must not decide what is valid; every record goes through the store's own checks.

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

use super::error::EmulatorError;
use super::store::{Meta, Store};

pub const FORMAT: &str = "roster-emulator-state/1";

/// Above this many users the state file is written without indentation.
const PRETTY_UP_TO: usize = 10_000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StateIn {
    format: Option<String>,
    #[serde(default)]
    users: Vec<UserIn>,
    #[serde(default)]
    groups: Vec<GroupIn>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct UserIn {
    id: Option<String>,
    #[serde(default)]
    guest: bool,
    created: Option<String>,
    last_modified: Option<String>,
    version: Option<u64>,
    attributes: Value,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct GroupIn {
    id: Option<String>,
    display_name: String,
    #[serde(default)]
    members: Vec<String>,
    created: Option<String>,
    last_modified: Option<String>,
    version: Option<u64>,
}

#[derive(Serialize)]
struct StateOut<'a> {
    format: &'static str,
    users: Vec<UserOut<'a>>,
    groups: Vec<GroupOut<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UserOut<'a> {
    id: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    guest: bool,
    created: &'a str,
    last_modified: &'a str,
    version: u64,
    attributes: &'a RawValue,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GroupOut<'a> {
    id: String,
    display_name: &'a str,
    members: Vec<String>,
    created: &'a str,
    last_modified: &'a str,
    version: u64,
}

fn meta(
    created: Option<String>,
    last_modified: Option<String>,
    version: Option<u64>,
) -> Option<Meta> {
    let created = created?;
    Some(Meta {
        last_modified: last_modified.unwrap_or_else(|| created.clone()),
        created,
        version: version.unwrap_or(1).max(1),
    })
}

fn parse_id(id: Option<&str>) -> Result<Option<u64>, String> {
    match id {
        None => Ok(None),
        Some(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => s
            .parse()
            .map(Some)
            .map_err(|_| format!("id {s:?} is too large")),
        Some(s) => Err(format!("id {s:?} must be a numeric string")),
    }
}

/// Largest state file the emulator loads (a 100,000-user organisation is about 60 MB).
pub const MAX_STATE_BYTES: u64 = 1024 * 1024 * 1024;

/// Loads `path` into `store`; a missing file is an empty organisation.
pub fn load(path: &Path, store: &mut Store, now: &str) -> Result<bool, EmulatorError> {
    let text = match roster_fsio::read_to_string(path, MAX_STATE_BYTES) {
        Ok(t) => t,
        Err(e) if e.is_not_found() => return Ok(false),
        Err(e) => {
            return Err(EmulatorError::ReadState {
                path: path.to_path_buf(),
                source: e.into(),
            });
        }
    };
    let invalid = |detail: String| EmulatorError::InvalidState {
        path: path.to_path_buf(),
        detail,
    };
    if text.trim().is_empty() {
        return Ok(false);
    }
    let state: StateIn = serde_json::from_str(&text).map_err(|e| invalid(e.to_string()))?;
    if let Some(f) = state.format.as_deref().filter(|f| *f != FORMAT) {
        return Err(invalid(format!(
            "unknown format {f:?}, expected {FORMAT:?}"
        )));
    }
    for (i, u) in state.users.into_iter().enumerate() {
        let id = parse_id(u.id.as_deref()).map_err(|e| invalid(format!("users[{i}]: {e}")))?;
        store
            .load_user(
                id,
                u.guest,
                &u.attributes,
                meta(u.created, u.last_modified, u.version),
                now,
            )
            .map_err(|e| invalid(format!("users[{i}]: {}", e.detail)))?;
    }
    for (i, g) in state.groups.into_iter().enumerate() {
        let id = parse_id(g.id.as_deref()).map_err(|e| invalid(format!("groups[{i}]: {e}")))?;
        store
            .load_group(
                id,
                &g.display_name,
                &g.members,
                meta(g.created, g.last_modified, g.version),
                now,
            )
            .map_err(|e| invalid(format!("groups[{i}]: {}", e.detail)))?;
    }
    store.check_loaded().map_err(invalid)?;
    Ok(true)
}

/// Serialises the whole organisation (called with the store read-locked).
pub fn serialise(store: &Store) -> Result<Vec<u8>, serde_json::Error> {
    let state = StateOut {
        format: FORMAT,
        users: store
            .users()
            .map(|u| UserOut {
                id: u.id.to_string(),
                guest: u.guest,
                created: &u.meta.created,
                last_modified: &u.meta.last_modified,
                version: u.meta.version,
                attributes: u.raw_attrs(),
            })
            .collect(),
        groups: store
            .groups()
            .map(|g| GroupOut {
                id: g.id.to_string(),
                display_name: &g.display_name,
                members: g.members.iter().map(u64::to_string).collect(),
                created: &g.meta.created,
                last_modified: &g.meta.last_modified,
                version: g.meta.version,
            })
            .collect(),
    };
    let mut out = Vec::new();
    // Indented for the small organisations people read and diff (the quickstart); compact
    // for benchmark-sized ones, where indentation is a third of the file and its write time.
    if state.users.len() <= PRETTY_UP_TO {
        serde_json::to_writer_pretty(&mut out, &state)?;
    } else {
        serde_json::to_writer(&mut out, &state)?;
    }
    out.push(b'\n');
    Ok(out)
}

/// Replaces `path` with `bytes` so that a crash leaves either the old or the new file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    Ok(roster_fsio::write_atomic(path, bytes)?)
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // the tests write state files by hand
mod tests {
    use super::*;
    use crate::settings::Behaviour;
    use serde_json::json;
    use std::fs;

    const NOW: &str = "2026-01-01T00:00:00.000Z";

    #[test]
    fn round_trips_and_accepts_hand_written_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        fs::write(
            &path,
            json!({
                "users": [
                    {"attributes": {"userName": "a@x.io", "active": true}},
                    {"id": "1300000000000001", "guest": true, "attributes": {"userName": "g@y.io"}},
                ],
                "groups": [{"displayName": "Ops", "members": ["1300000000000001"]}],
            })
            .to_string(),
        )
        .unwrap();
        let mut s = Store::new(Behaviour::default());
        assert!(load(&path, &mut s, NOW).unwrap());
        assert_eq!(s.users().count(), 2);
        let bytes = serialise(&s).unwrap();
        write_atomic(&path, &bytes).unwrap();
        let mut again = Store::new(Behaviour::default());
        load(&path, &mut again, NOW).unwrap();
        assert_eq!(serialise(&again).unwrap(), bytes);
        // No temp file is left behind.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn missing_file_is_empty_and_bad_files_say_where() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::new(Behaviour::default());
        assert!(!load(&dir.path().join("none.json"), &mut s, NOW).unwrap());
        let path = dir.path().join("bad.json");
        fs::write(
            &path,
            r#"{"users": [{"attributes": {"userName": "a@x.io"}}, {"attributes": {"userName": "A@x.io"}}]}"#,
        )
        .unwrap();
        let e = load(&path, &mut s, NOW).unwrap_err().to_string();
        assert!(e.contains("users[1]") && e.contains("already taken"), "{e}");
    }
}
