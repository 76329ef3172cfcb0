//! Importers: YAML declarations written from a live organisation, so adopting roster starts
//! with an empty plan.
//!
//! Pure: from live objects and the mappings to file contents. Commands write the files.
//! Mappings are inverted where they can be: a direct mapping's live value is the source
//! attribute's value; `active` (through the gallery's `Switch([IsSoftDeleted], …)` or any
//! mapping to it) gives `accountEnabled`. Constants and other expressions cannot be inverted
//! and are reported.

pub mod yaml;

use std::collections::{BTreeMap, HashMap};

use serde_json::Value as Json;

use crate::config::model::UserAttr;
use crate::mapping::{Mapping, MappingSource};
use crate::plan::{LiveGroup, LiveUser};
use crate::scim::AttrPath;

/// A file to write: path relative to the config directory, and its contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    pub path: String,
    pub contents: String,
}

/// What an import produced.
#[derive(Debug, Default)]
pub struct Import {
    pub files: Vec<File>,
    pub users: usize,
    pub groups: usize,
    /// Mappings that could not be inverted (their targets are not imported).
    pub skipped_mappings: Vec<String>,
}

/// Most users per file; larger departments are split into numbered parts.
pub const USERS_PER_FILE: usize = 2_000;

const USERS_SCHEMA: &str = "# yaml-language-server: $schema=../schema/users.schema.json";
const GROUPS_SCHEMA: &str = "# yaml-language-server: $schema=../schema/groups.schema.json";

/// Declarations for every live user and group: users split by department, sorted by
/// userName; teams in one file sorted by name.
pub fn asana(users: &[LiveUser], groups: &[LiveGroup], mappings: &[Mapping]) -> Import {
    let mut import = Import::default();
    let mut inverse: Vec<(AttrPath, UserAttr)> = Vec::new();
    for m in mappings {
        match &m.source {
            MappingSource::Direct(source) => match UserAttr::from_name(source) {
                Some(attr) => inverse.push((
                    AttrPath::parse(m.target.path).expect("known targets parse"),
                    attr,
                )),
                None => import
                    .skipped_mappings
                    .push(format!("{} ← {source}", m.target.path)),
            },
            // `active` gives accountEnabled below, whatever expression feeds it.
            _ if m.target.path == "active" => {}
            MappingSource::Constant(_) | MappingSource::Expression { .. } => {
                import.skipped_mappings.push(m.target.path.to_string())
            }
        }
    }
    let user_name_of: HashMap<&str, String> = users
        .iter()
        .map(|u| (u.id.as_str(), u.user_name.to_lowercase()))
        .collect();
    let mut by_file: BTreeMap<String, Vec<yaml::Entry>> = BTreeMap::new();
    let mut sorted: Vec<&LiveUser> = users.iter().collect();
    sorted.sort_by_key(|u| u.user_name.to_lowercase());
    for u in sorted {
        let resource = u.resource();
        let mut entry = yaml::Entry::default();
        entry.push("userPrincipalName", yaml::Value::Str(u.user_name.clone()));
        let mut department = None;
        for (path, attr) in &inverse {
            if *attr == UserAttr::UserPrincipalName {
                continue;
            }
            let value = match (attr, path.get(&resource)) {
                (UserAttr::Manager, Some(v)) => {
                    let id = match v {
                        Json::Object(_) => v.get("value").and_then(crate::plan::live::id_of_value),
                        other => crate::plan::live::id_of_value(other),
                    };
                    // A manager that is not a live user would not validate: leave it out.
                    id.and_then(|id| user_name_of.get(id.as_str()).cloned())
                }
                (_, Some(Json::String(s))) => Some(s.clone()),
                (_, Some(Json::Number(n))) => Some(n.to_string()),
                _ => None,
            };
            let Some(value) = value else { continue };
            if *attr == UserAttr::Department {
                department = Some(value.clone());
            }
            entry.push_user_attr(*attr, value);
        }
        if !u.active {
            entry.push("accountEnabled", yaml::Value::Bool(false));
        }
        let file = format!(
            "users/{}.yaml",
            department
                .as_deref()
                .map_or("no-department".to_string(), slug)
        );
        by_file.entry(file).or_default().push(entry);
        import.users += 1;
    }
    for (file, entries) in by_file {
        let parts = entries.len().div_ceil(USERS_PER_FILE).max(1);
        for (i, chunk) in entries.chunks(USERS_PER_FILE).enumerate() {
            let path = if parts == 1 {
                file.clone()
            } else {
                format!("{}-{:02}.yaml", file.trim_end_matches(".yaml"), i + 1)
            };
            import.files.push(File {
                path,
                contents: yaml::document(USERS_SCHEMA, "users", chunk),
            });
        }
    }
    let mut teams: Vec<&LiveGroup> = groups.iter().collect();
    teams.sort_by(|a, b| a.display_name.cmp(&b.display_name));
    let entries: Vec<yaml::Entry> = teams
        .iter()
        .map(|g| {
            let mut members: Vec<String> = g
                .member_ids
                .iter()
                .filter_map(|id| user_name_of.get(id.as_str()).cloned())
                .collect();
            members.sort();
            members.dedup();
            let mut e = yaml::Entry::default();
            e.push("displayName", yaml::Value::Str(g.display_name.clone()));
            e.push("members", yaml::Value::List(members));
            e
        })
        .collect();
    import.groups = entries.len();
    if !entries.is_empty() {
        import.files.push(File {
            path: "groups/teams.yaml".into(),
            contents: yaml::document(GROUPS_SCHEMA, "groups", &entries),
        });
    }
    import
}

/// A file-name-safe form of a department name: `Research & Development` → `research-development`.
pub fn slug(name: &str) -> String {
    let mut s = String::new();
    for c in name.chars() {
        if c.is_alphanumeric() {
            s.extend(c.to_lowercase());
        } else if !s.ends_with('-') && !s.is_empty() {
            s.push('-');
        }
    }
    let s = s.trim_end_matches('-').to_string();
    if s.is_empty() {
        "no-department".into()
    } else {
        s
    }
}

#[cfg(test)]
mod tests;
