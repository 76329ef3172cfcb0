//! Importers: YAML declarations written from a live organisation, so adopting roster starts
//! with an empty plan.
//!
//! Pure: from live objects and the mappings to file contents. Commands write the files.
//! Mappings are inverted where they can be: a direct mapping's live value is the source
//! attribute's value; `active` (through the gallery's `Switch([IsSoftDeleted], …)` or any
//! mapping to it) gives `accountEnabled`. Constants and other expressions cannot be inverted
//! and are reported.

pub mod update;
pub mod yaml;

use std::collections::{BTreeMap, HashMap};

use serde_json::Value as Json;

use crate::config::model::UserAttr;
use crate::config::model::{Mapping, MappingSource};
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
    /// Live users and teams left out because their declarations would not validate.
    pub skipped: Vec<Skipped>,
}

/// A live user or team the import did not write, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// `user "name"` or `team "name"`.
    pub what: String,
    pub reason: String,
}

/// Most users per file; larger departments are split into numbered parts.
pub const USERS_PER_FILE: usize = 2_000;

/// How many times the declarations are validated again after leaving some out (leaving a
/// user out can leave a team with an undeclared member, which the next round finds).
const MAX_ROUNDS: usize = 8;

const USERS_SCHEMA: &str = "../schema/users.schema.json";
const GROUPS_SCHEMA: &str = "../schema/groups.schema.json";
/// The comment under each file's modeline.
const HEADER: &[&str] = &["Written by `roster import`; edit freely, it is yours now."];

/// A user about to be written.
struct Person {
    /// The lowercased userName, which identifies the user.
    key: String,
    user_name: String,
    /// `users/<department>.yaml`, before splitting into parts.
    file: String,
    entry: yaml::Entry,
}

/// A team about to be written.
struct Team {
    name: String,
    members: Vec<String>,
}

/// The user mappings inverted: each direct mapping's target read back into its source
/// attribute. `active` gives `accountEnabled` whatever feeds it; constants and other
/// expressions cannot be inverted.
pub(crate) struct Inverse {
    pairs: Vec<(AttrPath, UserAttr)>,
    /// The mappings that cannot be inverted, as `target ← source` or `target`.
    pub skipped: Vec<String>,
}

impl Inverse {
    pub(crate) fn of(mappings: &[Mapping]) -> Inverse {
        let mut inverse = Inverse {
            pairs: Vec::new(),
            skipped: Vec::new(),
        };
        for m in mappings {
            match &m.source {
                MappingSource::Direct(source) => match UserAttr::from_name(source) {
                    Some(attr) => inverse.pairs.push((
                        AttrPath::parse(m.target.path).expect("known targets parse"),
                        attr,
                    )),
                    None => inverse
                        .skipped
                        .push(format!("{} ← {source}", m.target.path)),
                },
                // `active` gives accountEnabled below, whatever expression feeds it.
                _ if m.target.path == "active" => {}
                MappingSource::Constant(_) | MappingSource::Expression { .. } => {
                    inverse.skipped.push(m.target.path.to_string())
                }
            }
        }
        inverse
    }

    /// The declaration of a live user, and its department. `user_name_of` names the live
    /// users a `manager` may refer to (by id): another manager is left out, as it would not
    /// validate.
    pub(crate) fn entry(
        &self,
        u: &LiveUser,
        user_name_of: &HashMap<&str, String>,
    ) -> (yaml::Entry, Option<String>) {
        let resource = u.resource();
        let mut entry = yaml::Entry::default();
        entry.push("userPrincipalName", yaml::Value::Str(u.user_name.clone()));
        let mut department = None;
        for (path, attr) in &self.pairs {
            if *attr == UserAttr::UserPrincipalName {
                continue;
            }
            let value = match (attr, path.get(&resource)) {
                (UserAttr::Manager, Some(v)) => {
                    let id = match v {
                        Json::Object(_) => v.get("value").and_then(crate::plan::live::id_of_value),
                        other => crate::plan::live::id_of_value(other),
                    };
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
        (entry, department)
    }
}

/// Declarations for every live user and group: users split by department, sorted by
/// userName; teams in one file sorted by name. `settings` is the roster.yaml they are
/// validated against: a user or team whose declaration that validation would reject is left
/// out and listed in [`Import::skipped`] (and so is a team that names a left-out user), so
/// the import never writes what its own `validate` refuses. `Err` when the declarations still
/// do not validate for a reason no single user or team explains.
pub fn asana(
    users: &[LiveUser],
    groups: &[LiveGroup],
    mappings: &[Mapping],
    settings: &str,
) -> Result<Import, String> {
    let mut import = Import::default();
    let inverse = Inverse::of(mappings);
    import.skipped_mappings = inverse.skipped.clone();
    let user_name_of: HashMap<&str, String> = users
        .iter()
        .map(|u| (u.id.as_str(), u.user_name.to_lowercase()))
        .collect();
    let mut sorted: Vec<&LiveUser> = users.iter().collect();
    sorted.sort_by(|a, b| {
        (a.user_name.to_lowercase(), &a.user_name).cmp(&(b.user_name.to_lowercase(), &b.user_name))
    });
    let mut people = Vec::new();
    for u in sorted {
        let (entry, department) = inverse.entry(u, &user_name_of);
        let file = format!(
            "users/{}.yaml",
            department
                .as_deref()
                .map_or("no-department".to_string(), slug)
        );
        people.push(Person {
            key: u.user_name.to_lowercase(),
            user_name: u.user_name.clone(),
            file,
            entry,
        });
    }
    let mut teams: Vec<Team> = groups
        .iter()
        .map(|g| {
            let mut members: Vec<String> = g
                .member_ids
                .iter()
                .filter_map(|id| user_name_of.get(id.as_str()).cloned())
                .collect();
            members.sort();
            members.dedup();
            Team {
                name: g.display_name.clone(),
                members,
            }
        })
        .collect();
    teams.sort_by(|a, b| a.name.cmp(&b.name));

    // Users whose names differ only in case are one user to roster: neither can be declared
    // without the other's changes landing on it, so both are left out.
    let mut by_key: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for p in &people {
        by_key.entry(&p.key).or_default().push(&p.user_name);
    }
    let mut skip: BTreeMap<String, String> = BTreeMap::new();
    for (key, names) in by_key.iter().filter(|(_, n)| n.len() > 1) {
        let names: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
        skip.insert(
            key.to_string(),
            format!(
                "the userNames {} differ only in case, and roster matches users ignoring case; \
                 rename or remove all but one in the target, then import again",
                names.join(" and ")
            ),
        );
    }
    let mut skip_teams: BTreeMap<String, String> = BTreeMap::new();
    for _ in 0..MAX_ROUNDS {
        leave_out(&mut people, &mut teams, &skip, &mut skip_teams, &mut import);
        let (files, owners) = render(&people, &teams);
        let rejected = rejected(&files, &owners, settings)?;
        if rejected.is_empty() {
            import.users = people.len();
            import.groups = teams.len();
            import.files = files;
            return Ok(import);
        }
        // A team's error may only follow from a user rejected in the same round (a member
        // that is then not declared): teams are judged once the users validate.
        let users_rejected = rejected.keys().any(|o| !matches!(o, Owner::Team(_)));
        for (owner, reason) in rejected {
            match owner {
                // A bad `manager` costs the user its manager, not its declaration.
                Owner::Manager(i) => {
                    let p = &mut people[i];
                    p.entry.remove("manager");
                    import.skipped.push(Skipped {
                        what: format!("the manager of user \"{}\"", p.user_name),
                        reason,
                    });
                }
                Owner::User(i) => {
                    skip.insert(people[i].key.clone(), reason);
                }
                Owner::Team(_) if users_rejected => {}
                Owner::Team(i) => {
                    skip_teams.insert(teams[i].name.clone(), reason);
                }
            }
        }
    }
    Err(format!(
        "the imported declarations still do not validate after leaving out {} users and \
         teams; nothing was written",
        import.skipped.len()
    ))
}

/// Removes the users and teams in `skip` / `skip_teams` (recording why), the `manager` of a
/// user whose manager was removed, and every team that names a removed user: a team written
/// without them would remove them from it at the first apply.
fn leave_out(
    people: &mut Vec<Person>,
    teams: &mut Vec<Team>,
    skip: &BTreeMap<String, String>,
    skip_teams: &mut BTreeMap<String, String>,
    import: &mut Import,
) {
    people.retain(|p| match skip.get(&p.key) {
        Some(reason) => {
            import.skipped.push(Skipped {
                what: format!("user \"{}\"", p.user_name),
                reason: reason.clone(),
            });
            false
        }
        None => true,
    });
    for p in people.iter_mut() {
        if p.entry.get("manager").is_some_and(|m| skip.contains_key(m)) {
            p.entry.remove("manager");
        }
    }
    for t in teams.iter() {
        if let Some(m) = t.members.iter().find(|m| skip.contains_key(*m)) {
            skip_teams
                .entry(t.name.clone())
                .or_insert_with(|| format!("its member `{m}` was left out"));
        }
    }
    teams.retain(|t| match skip_teams.get(&t.name) {
        Some(reason) => {
            import.skipped.push(Skipped {
                what: format!("team \"{}\"", t.name),
                reason: reason.clone(),
            });
            false
        }
        None => true,
    });
}

/// Whose declaration a place in a written file is: a user's `manager` field, the rest of a
/// user's declaration, or a team's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Owner {
    Manager(usize),
    User(usize),
    Team(usize),
}

/// For each file, the byte range of each field of each declaration in it, and whose it is.
type Owners = Vec<Vec<(std::ops::Range<usize>, Owner)>>;

/// `ranges` (fields of entries) paired with the entries' owners.
fn owned(
    ranges: yaml::FieldRanges,
    owners: impl Iterator<Item = Owner>,
) -> Vec<(std::ops::Range<usize>, Owner)> {
    ranges
        .into_iter()
        .zip(owners)
        .flat_map(|(fields, owner)| {
            fields.into_iter().map(move |(key, range)| match owner {
                Owner::User(i) if key == "manager" => (range, Owner::Manager(i)),
                _ => (range, owner),
            })
        })
        .collect()
}

fn render(people: &[Person], teams: &[Team]) -> (Vec<File>, Owners) {
    let mut by_file: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, p) in people.iter().enumerate() {
        by_file.entry(&p.file).or_default().push(i);
    }
    let (mut files, mut owners) = (Vec::new(), Vec::new());
    for (file, indices) in by_file {
        let parts = indices.len().div_ceil(USERS_PER_FILE).max(1);
        for (part, chunk) in indices.chunks(USERS_PER_FILE).enumerate() {
            let path = if parts == 1 {
                file.to_string()
            } else {
                format!("{}-{:02}.yaml", file.trim_end_matches(".yaml"), part + 1)
            };
            let entries: Vec<&yaml::Entry> = chunk.iter().map(|&i| &people[i].entry).collect();
            let (contents, ranges) =
                yaml::document_with_ranges(USERS_SCHEMA, HEADER, "users", &entries);
            owners.push(owned(ranges, chunk.iter().map(|&i| Owner::User(i))));
            files.push(File { path, contents });
        }
    }
    if !teams.is_empty() {
        let entries: Vec<yaml::Entry> = teams
            .iter()
            .map(|t| yaml::Entry::group(&t.name, &t.members))
            .collect();
        let refs: Vec<&yaml::Entry> = entries.iter().collect();
        let (contents, ranges) = yaml::document_with_ranges(GROUPS_SCHEMA, HEADER, "groups", &refs);
        owners.push(owned(ranges, (0..teams.len()).map(Owner::Team)));
        files.push(File {
            path: "groups/teams.yaml".into(),
            contents,
        });
    }
    (files, owners)
}

/// Validates `files` with `settings` as roster.yaml, as `roster validate` would; returns the
/// declarations the errors are in, each with the first error's message. `Err` when an error
/// is in no declaration (then leaving declarations out cannot fix it).
fn rejected(
    files: &[File],
    owners: &Owners,
    settings: &str,
) -> Result<BTreeMap<Owner, String>, String> {
    let texts = |users: bool| -> Vec<(&str, &str)> {
        files
            .iter()
            .filter(|f| f.path.starts_with("users/") == users)
            .map(|f| (f.path.as_str(), f.contents.as_str()))
            .collect()
    };
    let (users, groups) = (texts(true), texts(false));
    let (_, report) = crate::config::from_texts(settings, &users, &groups);
    let mut out = BTreeMap::new();
    for d in report
        .diagnostics
        .iter()
        .filter(|d| d.severity == crate::diagnostics::Severity::Error)
    {
        let owner = d.span.as_ref().and_then(|at| {
            let path = report.sources.display(at.file);
            let i = files
                .iter()
                .position(|f| path.to_str() == Some(f.path.as_str()))?;
            owners[i]
                .iter()
                .find(|(range, _)| range.contains(&at.range.start))
                .map(|(_, owner)| *owner)
        });
        match owner {
            Some(owner) => {
                out.entry(owner).or_insert_with(|| d.message.clone());
            }
            None => {
                return Err(format!(
                    "the imported declarations do not validate: {}; nothing was written",
                    d.message
                ));
            }
        }
    }
    Ok(out)
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
