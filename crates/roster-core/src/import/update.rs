//! `roster import asana --update`: drift codified into the declarations where they stand.
//!
//! Pure: from the plan (made with `policy.unmanaged: report`), the config, the live state and
//! the declaration files' texts to new texts. Each drifted value is written back through the
//! inverse of its mapping (a direct mapping's live value is its source attribute's; `active`
//! is `accountEnabled`), into the file and the place it was declared, by the lossless editor
//! `yaml-edit`: comments, blank lines, key order, indentation and the quoting of everything
//! untouched stay byte for byte, and a changed scalar keeps its quotes where the new value
//! allows. Live users nobody declared are appended, sorted and with a dated comment, to one
//! users file; team members are appended to or deleted from `members:`. What cannot be
//! codified (an expression, a constant, a value Entra sets in live mode, a member nobody
//! declares) is listed with the reason and left alone. The result is validated as
//! `roster validate` would and planned again against the same live state, so what is written
//! is what the next plan agrees with. The caller writes the files.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::Value as Json;
use yaml_edit::{Document, Mapping as YamlMapping, MappingBuilder, ScalarStyle, ScalarValue};

use super::{Inverse, yaml};
use crate::config::model::{Config, MappingSource, Origin, Unmanaged, UserAttr};
use crate::config::parse::parse_raw;
use crate::config::raw::{RawGroupsFile, RawUsersFile};
use crate::names::match_key;
use crate::plan::{self, Action, AttrChange, Capabilities, Kind, Live, LiveUser, Plan, Scope};

/// Where unmanaged users are added unless `--unmanaged-to` names another file.
pub const UNMANAGED_FILE: &str = "users/unmanaged.yaml";

/// The keys of a user declaration in the schema's order, where a new key is inserted.
const USER_KEYS: [&str; 22] = [
    "userPrincipalName",
    "mail",
    "displayName",
    "givenName",
    "surname",
    "jobTitle",
    "department",
    "companyName",
    "employeeId",
    "employeeType",
    "employeeOrgData",
    "manager",
    "city",
    "state",
    "country",
    "officeLocation",
    "telephoneNumber",
    "mobilePhone",
    "preferredLanguage",
    "accountEnabled",
    "appRoleAssignments",
    "",
];
const ORG_KEYS: [&str; 2] = ["division", "costCenter"];
const GROUP_KEYS: [&str; 2] = ["displayName", "members"];

/// How many times the result is built again after leaving out unmanaged users whose
/// declarations would not validate.
const MAX_ROUNDS: usize = 4;

/// What the update starts from.
pub struct Input<'a> {
    /// The validated config (its plan is `plan`).
    pub config: &'a Config,
    /// roster.yaml's text, which the result is validated against.
    pub settings: &'a str,
    /// Every declaration file as read: (path relative to the config directory, text); users
    /// files under `users/`, groups files under `groups/`.
    pub files: &'a [(String, String)],
    /// The plan of `config` against `live`, made with `policy.unmanaged: report`.
    pub plan: &'a Plan,
    pub live: &'a Live,
}

/// The command's choices.
pub struct Options<'a> {
    /// The users file unmanaged users are added to (relative to the config directory); `None`
    /// leaves them out (`--no-unmanaged`).
    pub unmanaged_to: Option<&'a str>,
    /// The date in the comment above each added user (`2026-12-02`): the caller's clock.
    pub today: &'a str,
}

/// A file the update changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    /// Relative to the config directory.
    pub path: String,
    /// The text as read; `None` for a file the update creates.
    pub before: Option<String>,
    pub after: String,
}

/// Something that drifted and was not codified, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Left {
    /// `user["a@x.io"] title`, `group["Ops"] member b@x.io`.
    pub what: String,
    pub reason: String,
}

/// What the update would write.
#[derive(Debug, Default)]
pub struct Update {
    /// The changed files, by path.
    pub files: Vec<FileChange>,
    /// What was codified, one line each (`user["a@x.io"]: jobTitle = "Lead"`).
    pub codified: Vec<String>,
    pub not_codified: Vec<Left>,
    /// Unmanaged users added, by userName.
    pub added: Vec<String>,
    /// Objects the update changed that the next plan would still change (a value the
    /// mapping does not give back as read): empty unless the inversion is lossy.
    pub residual: Vec<String>,
}

/// The value a field is given.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Str(String),
    Bool(bool),
    Remove,
}

/// A field of a user declaration.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Field {
    Attr(UserAttr),
    AccountEnabled,
}

impl Field {
    fn name(self) -> &'static str {
        match self {
            Field::Attr(a) => a.name(),
            Field::AccountEnabled => "accountEnabled",
        }
    }
}

/// What to change in one declared user.
#[derive(Default)]
struct UserFix {
    sets: Vec<(Field, Value)>,
}

/// What to change in one declared team's members.
#[derive(Default)]
struct TeamFix {
    /// userPrincipalNames to append, as they are to be written.
    add: Vec<String>,
    /// Member keys to delete.
    remove: BTreeSet<String>,
}

/// One declaration file, and where each declaration is in it.
struct Source {
    path: String,
    text: String,
    /// Keys of the users (or teams) it declares, in order.
    keys: Vec<String>,
    users: bool,
}

/// Computes the update. `Err` when the result would not validate for a reason no added
/// user explains, or a file cannot be edited: nothing should then be written.
pub fn update(input: &Input<'_>, options: &Options<'_>) -> Result<Update, String> {
    if let Some(path) = options.unmanaged_to {
        check_unmanaged_path(path)?;
    }
    let sources = sources(input.files)?;
    let mut skip: BTreeMap<String, String> = BTreeMap::new();
    for _ in 0..MAX_ROUNDS {
        let attempt = attempt(input, options, &sources, &skip)?;
        if attempt.rejected.is_empty() {
            let mut update = attempt.update;
            update
                .not_codified
                .extend(skip.into_iter().map(|(name, reason)| Left {
                    what: format!("unmanaged user {name}"),
                    reason,
                }));
            update.residual = residual(input, &update)?;
            return Ok(update);
        }
        skip.extend(attempt.rejected);
    }
    Err("the updated declarations still do not validate; nothing was written".into())
}

/// `--unmanaged-to`'s file must be a users file the loader reads.
fn check_unmanaged_path(path: &str) -> Result<(), String> {
    let ok = path.starts_with("users/")
        && path.ends_with(".yaml")
        && path
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..");
    if ok {
        Ok(())
    } else {
        Err(format!(
            "--unmanaged-to `{path}`: name a `.yaml` file under users/ in the config directory \
             (e.g. users/unmanaged.yaml)"
        ))
    }
}

fn sources(files: &[(String, String)]) -> Result<Vec<Source>, String> {
    let mut out = Vec::new();
    for (path, text) in files {
        let users = path.starts_with("users/");
        let keys = if users {
            let raw: RawUsersFile = parse_raw(text).map_err(|e| format!("`{path}`: {e}"))?;
            raw.users
                .iter()
                .map(|u| {
                    let upn = u.value.user_principal_name.as_ref();
                    upn.map(|s| match_key(&s.value)).unwrap_or_default()
                })
                .collect()
        } else {
            let raw: RawGroupsFile = parse_raw(text).map_err(|e| format!("`{path}`: {e}"))?;
            raw.groups
                .iter()
                .map(|g| g.value.display_name.value.to_lowercase())
                .collect()
        };
        out.push(Source {
            path: path.clone(),
            text: text.clone(),
            keys,
            users,
        });
    }
    Ok(out)
}

struct Attempt {
    update: Update,
    /// Added users whose declarations would not validate, by userName, with the reason.
    rejected: BTreeMap<String, String>,
}

fn attempt(
    input: &Input<'_>,
    options: &Options<'_>,
    sources: &[Source],
    skip: &BTreeMap<String, String>,
) -> Result<Attempt, String> {
    let config = input.config;
    let mut update = Update::default();
    let live_by_key: HashMap<String, &LiveUser> = input
        .live
        .users
        .iter()
        .map(|u| (match_key(&u.user_name), u))
        .collect();
    // Unmanaged users to add, sorted by userName.
    let mut added: Vec<&LiveUser> = Vec::new();
    if options.unmanaged_to.is_some() {
        for u in &input.plan.unmanaged {
            if let Some(l) = live_by_key.get(&u.key)
                && !skip.contains_key(&l.user_name)
            {
                added.push(l);
            }
        }
    } else {
        for u in &input.plan.unmanaged {
            update.not_codified.push(Left {
                what: format!("unmanaged user {}", u.key),
                reason: "--no-unmanaged: not added".into(),
            });
        }
    }
    added.sort_by(|a, b| {
        (a.user_name.to_lowercase(), &a.user_name).cmp(&(b.user_name.to_lowercase(), &b.user_name))
    });
    let added_keys: HashMap<String, &str> = added
        .iter()
        .map(|u| (match_key(&u.user_name), u.user_name.as_str()))
        .collect();
    // How a user is written when another declaration refers to it.
    let written_as = |key: &str| -> Option<String> {
        config
            .user(key)
            .map(|u| u.upn.clone())
            .or_else(|| added_keys.get(key).map(|s| s.to_string()))
    };

    let (user_fixes, team_fixes) = fixes(input, options, &written_as, &mut update);

    // Edit the declarations, file by file.
    let index: HashMap<(bool, &str), (usize, usize)> = sources
        .iter()
        .enumerate()
        .flat_map(|(f, s)| {
            s.keys
                .iter()
                .enumerate()
                .map(move |(i, k)| ((s.users, k.as_str()), (f, i)))
        })
        .collect();
    let mut docs: BTreeMap<usize, Document> = BTreeMap::new();
    let mut open = |f: usize| -> Result<Document, String> {
        if let Some(d) = docs.get(&f) {
            return Ok(d.clone());
        }
        let s = &sources[f];
        let doc = std::str::FromStr::from_str(&s.text)
            .map_err(|e: yaml_edit::YamlError| format!("`{}` cannot be edited: {e}", s.path))?;
        let doc: Document = doc;
        if doc.to_string() != s.text {
            return Err(format!(
                "`{}` cannot be edited without changing what is not drift (the YAML editor \
                 does not read it back byte for byte)",
                s.path
            ));
        }
        docs.insert(f, doc.clone());
        Ok(doc)
    };
    for (key, fix) in &user_fixes {
        let address = plan::address(Kind::User, key);
        let Some(&(f, i)) = index.get(&(true, key.as_str())) else {
            update.not_codified.push(Left {
                what: address,
                reason: "declared in no users file".into(),
            });
            continue;
        };
        let doc = open(f)?;
        let item = item(&doc, "users", i, "userPrincipalName", key)
            .ok_or_else(|| format!("`{}`: cannot find {address} in it", sources[f].path))?;
        for (field, value) in &fix.sets {
            set_user_field(&item, *field, value);
            update
                .codified
                .push(format!("{address}: {}", describe(*field, value)));
        }
    }
    for (key, fix) in &team_fixes {
        let address = plan::address(Kind::Group, key);
        let Some(&(f, i)) = index.get(&(false, key.to_lowercase().as_str())) else {
            update.not_codified.push(Left {
                what: address,
                reason: "declared in no groups file".into(),
            });
            continue;
        };
        let doc = open(f)?;
        let item = item(&doc, "groups", i, "displayName", &key.to_lowercase())
            .ok_or_else(|| format!("`{}`: cannot find {address} in it", sources[f].path))?;
        set_members(&item, fix);
        let mut what = Vec::new();
        what.extend(fix.add.iter().map(|m| format!("+ {m}")));
        what.extend(fix.remove.iter().map(|m| format!("- {m}")));
        update
            .codified
            .push(format!("{address}: members {}", what.join(", ")));
    }
    let mut texts: BTreeMap<String, (Option<String>, String)> = BTreeMap::new();
    for (f, doc) in docs {
        let s = &sources[f];
        let after = doc.to_string();
        texts.insert(s.path.clone(), (Some(s.text.clone()), after));
    }

    // Append the unmanaged users.
    let mut added_ranges: Vec<(std::ops::Range<usize>, String)> = Vec::new();
    if let (Some(path), false) = (options.unmanaged_to, added.is_empty()) {
        let inverse = Inverse::of(&config.settings.user_mappings);
        let user_name_of: HashMap<&str, String> = input
            .live
            .users
            .iter()
            .filter_map(|u| Some((u.id.as_str(), written_as(&match_key(&u.user_name))?)))
            .collect();
        let note = format!(
            "Added by `roster import asana --update` on {}: in {} but declared in no file.",
            options.today,
            input.plan.profile.target_name()
        );
        let entries: Vec<yaml::Entry> = added
            .iter()
            .map(|u| {
                inverse
                    .entry(u, &user_name_of)
                    .0
                    .with_note(Some(note.clone()))
            })
            .collect();
        let existing = texts.get(path).map(|(_, after)| after.clone()).or_else(|| {
            sources
                .iter()
                .find(|s| s.path == path)
                .map(|s| s.text.clone())
        });
        let before = sources
            .iter()
            .find(|s| s.path == path)
            .map(|s| s.text.clone());
        let (after, ranges) = append_users(path, existing.as_deref(), &entries)?;
        added_ranges = ranges
            .into_iter()
            .zip(added.iter().map(|u| u.user_name.clone()))
            .collect();
        texts.insert(path.to_string(), (before, after));
        for u in &added {
            update.codified.push(format!(
                "{}: added to {path}",
                plan::address(Kind::User, &u.user_name)
            ));
            update.added.push(u.user_name.clone());
        }
    }

    // Validate the result as `roster validate` would.
    let all: Vec<(String, String)> = sources
        .iter()
        .filter(|s| !texts.contains_key(&s.path))
        .map(|s| (s.path.clone(), s.text.clone()))
        .chain(
            texts
                .iter()
                .map(|(p, (_, after))| (p.clone(), after.clone())),
        )
        .collect();
    let (_, report) = validate(input.settings, &all);
    let mut rejected = BTreeMap::new();
    for d in report
        .diagnostics
        .iter()
        .filter(|d| d.severity == crate::diagnostics::Severity::Error)
    {
        let at = d.span.as_ref().and_then(|at| {
            let path = report.sources.display(at.file).to_str()?.to_string();
            Some((path, at.range.start))
        });
        let owner = at.as_ref().and_then(|(path, start)| {
            (Some(path.as_str()) == options.unmanaged_to)
                .then(|| added_ranges.iter().find(|(r, _)| r.contains(start)))
                .flatten()
        });
        match owner {
            Some((_, name)) => {
                rejected
                    .entry(name.clone())
                    .or_insert_with(|| d.message.clone());
            }
            None => {
                let place = at.map(|(p, _)| format!(" (in `{p}`)")).unwrap_or_default();
                return Err(format!(
                    "the updated declarations would not validate{place}: {}; nothing was written",
                    d.message
                ));
            }
        }
    }
    update.files = texts
        .into_iter()
        .filter(|(_, (before, after))| before.as_deref() != Some(after.as_str()))
        .map(|(path, (before, after))| FileChange {
            path,
            before,
            after,
        })
        .collect();
    Ok(Attempt { update, rejected })
}

/// What to change in each drifted declaration, from the plan; what cannot be codified goes
/// into `update.not_codified`.
fn fixes(
    input: &Input<'_>,
    options: &Options<'_>,
    written_as: &dyn Fn(&str) -> Option<String>,
    update: &mut Update,
) -> (BTreeMap<String, UserFix>, BTreeMap<String, TeamFix>) {
    let config = input.config;
    let provenance = config.provenance.as_ref();
    let from_entra = |key: &str, source: &str| {
        provenance
            .and_then(|p| p.users.get(key))
            .is_some_and(|p| p.from_entra.contains(source))
    };
    let entra_only = |kind: Kind, key: &str| match (provenance, kind) {
        (Some(p), Kind::User) => p.users.get(key).is_some_and(|p| p.origin == Origin::Entra),
        (Some(p), Kind::Group) => p.groups.get(key) == Some(&Origin::Entra),
        (None, _) => false,
    };
    let mut users: BTreeMap<String, UserFix> = BTreeMap::new();
    let mut teams: BTreeMap<String, TeamFix> = BTreeMap::new();
    let mut left = |what: String, reason: &str| {
        update.not_codified.push(Left {
            what,
            reason: reason.to_string(),
        })
    };
    let enabled = |users: &mut BTreeMap<String, UserFix>, key: &str, enabled: bool| {
        users
            .entry(key.to_string())
            .or_default()
            .sets
            .push((Field::AccountEnabled, Value::Bool(enabled)));
    };
    for c in &input.plan.changes {
        let address = c.address();
        if entra_only(c.kind, &c.key) {
            left(
                address,
                "it comes from Entra (entra.mode: live), not from a YAML declaration: change it in Entra",
            );
            continue;
        }
        match (c.kind, c.action) {
            (_, Action::Create) => left(
                address,
                "declared but not in the target: `roster apply` creates it (codifying would delete the declaration)",
            ),
            (Kind::User, Action::Update | Action::Reactivate) => {
                for a in &c.attributes {
                    if a.path == "active" {
                        if from_entra(&c.key, "accountEnabled") {
                            left(
                                format!("{address} active"),
                                "accountEnabled is set by Entra (entra.mode: live)",
                            );
                        } else {
                            enabled(&mut users, &c.key, false);
                        }
                        continue;
                    }
                    match inverse_value(input, &c.key, a, written_as, &from_entra) {
                        Ok((field, value)) => users
                            .entry(c.key.clone())
                            .or_default()
                            .sets
                            .push((field, value)),
                        Err(reason) => left(format!("{address} {}", a.path), &reason),
                    }
                }
            }
            (Kind::User, Action::Deprovision) => match config.user(&c.key) {
                Some(u) if !u.in_scope => left(
                    address,
                    "out of Entra's scope (IsSoftDeleted): Entra decides, not the YAML",
                ),
                Some(_) if from_entra(&c.key, "accountEnabled") => left(
                    address,
                    "accountEnabled is set by Entra (entra.mode: live): change it in Entra",
                ),
                // The declaration offboards the user and the target has not caught up (the
                // apply has not run, or a gate held it back): writing `accountEnabled: true`
                // would undo an offboarding someone decided in git. Never codified.
                Some(_) => left(
                    address,
                    "declared disabled but active in the target: `roster apply` deprovisions it (codifying would re-enable an offboarded user)",
                ),
                None => {}
            },
            (Kind::Group, Action::AddMembers) => {
                let declared = config.groups.iter().find(|g| g.display_name == c.key);
                for m in &c.members {
                    // A member the team's rules give is in no `members:` list to delete it
                    // from: the rule decides, so it is reported, never written.
                    let by_rule = declared.is_some_and(|g| {
                        !g.member_rules.is_empty()
                            && !g.members.iter().any(|e| match_key(e) == m.key)
                    });
                    if by_rule && m.id.is_some() {
                        left(
                            format!("{address} member {}", m.key),
                            &format!(
                                "the member comes from member_rules ({}), which decide: to keep \
                                 the user out, add it to `exclude:` or change the rule",
                                m.via.as_deref().unwrap_or("a rule")
                            ),
                        );
                    } else if m.id.is_some() {
                        teams
                            .entry(c.key.clone())
                            .or_default()
                            .remove
                            .insert(m.key.clone());
                    } else {
                        left(
                            format!("{address} member {}", m.key),
                            "the member is not in the target yet: `roster apply` creates it",
                        );
                    }
                }
            }
            (Kind::Group, Action::RemoveMembers) => {
                let declared = config.groups.iter().find(|g| g.display_name == c.key);
                for m in &c.members {
                    let excluded =
                        declared.is_some_and(|g| g.exclude.iter().any(|x| match_key(x) == m.key));
                    if excluded {
                        left(
                            format!("{address} member {}", m.key),
                            "the user is in the team's `exclude:`, which wins over `members:`: \
                             take it out of `exclude:` to keep the membership",
                        );
                        continue;
                    }
                    match written_as(&m.key) {
                        Some(upn) => teams.entry(c.key.clone()).or_default().add.push(upn),
                        None if options.unmanaged_to.is_none() => left(
                            format!("{address} member {}", m.key),
                            "the member is declared in no file (--no-unmanaged: not added)",
                        ),
                        None => left(
                            format!("{address} member {}", m.key),
                            "the member is declared in no file and cannot be added",
                        ),
                    }
                }
            }
            _ => {}
        }
    }
    for key in &input.plan.reactivation_blocked {
        if entra_only(Kind::User, key) || from_entra(key, "accountEnabled") {
            left(
                plan::address(Kind::User, key),
                "accountEnabled is set by Entra (entra.mode: live)",
            );
        } else {
            enabled(&mut users, key, false);
        }
    }
    (users, teams)
}

/// The declared value that gives the live value `a.before` through its mapping.
fn inverse_value(
    input: &Input<'_>,
    key: &str,
    a: &AttrChange,
    written_as: &dyn Fn(&str) -> Option<String>,
    from_entra: &dyn Fn(&str, &str) -> bool,
) -> Result<(Field, Value), String> {
    let mapping = input
        .config
        .settings
        .user_mappings
        .iter()
        .find(|m| m.target.path == a.path)
        .ok_or_else(|| "no mapping gives this attribute".to_string())?;
    let source = match &mapping.source {
        MappingSource::Direct(source) => source,
        MappingSource::Constant(c) => {
            return Err(format!(
                "its mapping is the constant {}, which has no inverse: change roster.yaml, or \
                 revert the value with `roster apply`",
                serde_json::Value::String(c.clone())
            ));
        }
        MappingSource::Expression { text, .. } => {
            return Err(format!(
                "its mapping is the expression `{text}`, which has no inverse: change the \
                 sources by hand, or revert the value with `roster apply`"
            ));
        }
    };
    let attr = UserAttr::from_name(source)
        .ok_or_else(|| format!("its source `{source}` cannot be written in a declaration"))?;
    if from_entra(key, source) {
        return Err(format!(
            "`{source}` is set by Entra (entra.mode: live): change it in Entra"
        ));
    }
    if attr == UserAttr::UserPrincipalName {
        return Err("the userPrincipalName identifies the user: rename it by hand".into());
    }
    let value = match &a.before {
        None => Value::Remove,
        Some(Json::String(s)) if attr == UserAttr::Manager => match written_as(&match_key(s)) {
            Some(upn) => Value::Str(upn),
            None => {
                return Err(format!(
                    "its manager in the target, `{s}`, is declared in no file"
                ));
            }
        },
        Some(Json::String(s)) => Value::Str(s.clone()),
        Some(Json::Number(n)) => Value::Str(n.to_string()),
        Some(_) => return Err("the live value is not a string".into()),
    };
    Ok((Field::Attr(attr), value))
}

fn describe(field: Field, value: &Value) -> String {
    match value {
        Value::Str(s) => format!("{} = {}", field.name(), Json::String(s.clone())),
        Value::Bool(b) => format!("{} = {b}", field.name()),
        Value::Remove => format!("{} removed", field.name()),
    }
}

/// The `index`-th mapping of the list under `list`, checked to be the declaration of `key`.
fn item(doc: &Document, list: &str, index: usize, id_key: &str, key: &str) -> Option<YamlMapping> {
    let seq = doc.as_mapping()?.get_sequence(list)?;
    let item = seq.get(index)?.as_mapping()?.clone();
    let id = item.get(id_key)?.as_scalar()?.as_string();
    let id = if list == "users" {
        match_key(&id)
    } else {
        id.to_lowercase()
    };
    (id == key).then_some(item)
}

/// A string scalar for `value`, quoted as `old` (the scalar it replaces) is where `value`
/// allows it: plain when plain reads back as the same string, else double-quoted.
fn styled(value: &str, old: Option<&str>) -> ScalarValue {
    let printable = !value.chars().any(char::is_control);
    let style = match old {
        Some(o) if o.starts_with('\'') && printable => ScalarStyle::SingleQuoted,
        Some(o) if o.starts_with('"') => ScalarStyle::DoubleQuoted,
        _ if yaml::plain_is_safe(value) => ScalarStyle::Plain,
        _ => ScalarStyle::DoubleQuoted,
    };
    ScalarValue::with_style(value, style)
}

fn set_scalar(m: &YamlMapping, key: &str, value: &str, order: &[&str]) {
    let old = m.get(key).and_then(|n| n.as_scalar().map(|s| s.value()));
    m.set_with_field_order(key, styled(value, old.as_deref()), order.iter().copied());
}

fn set_user_field(item: &YamlMapping, field: Field, value: &Value) {
    let nested = match field {
        Field::Attr(UserAttr::Division) => Some("division"),
        Field::Attr(UserAttr::CostCenter) => Some("costCenter"),
        _ => None,
    };
    let order = || USER_KEYS.iter().copied().filter(|k| !k.is_empty());
    match (nested, value) {
        (Some(sub), Value::Remove) => {
            if let Some(org) = item.get_mapping("employeeOrgData") {
                org.remove(sub);
                if org.is_empty() {
                    item.remove("employeeOrgData");
                }
            }
        }
        (Some(sub), Value::Str(v)) => match item.get_mapping("employeeOrgData") {
            Some(org) => set_scalar(&org, sub, v, &ORG_KEYS),
            None => {
                let nested = MappingBuilder::new()
                    .pair(sub, styled(v, None))
                    .build_document();
                if let Some(m) = nested.as_mapping() {
                    item.set_with_field_order("employeeOrgData", m, order());
                }
            }
        },
        (None, Value::Remove) => {
            item.remove(field.name());
        }
        (None, Value::Str(v)) => {
            let keys: Vec<&str> = order().collect();
            set_scalar(item, field.name(), v, &keys);
        }
        (_, Value::Bool(b)) => {
            item.set_with_field_order(field.name(), *b, order());
        }
    }
}

fn set_members(item: &YamlMapping, fix: &TeamFix) {
    match item.get_sequence("members") {
        Some(seq) => {
            let doomed: Vec<usize> = seq
                .values()
                .enumerate()
                .filter(|(_, v)| {
                    // `alice@x.io`, or `{ user: alice@x.io, expires: … }`.
                    let upn = match v.as_mapping() {
                        Some(m) => m.get("user").and_then(|u| Some(u.as_scalar()?.as_string())),
                        None => v.as_scalar().map(|s| s.as_string()),
                    };
                    upn.is_some_and(|upn| fix.remove.contains(&match_key(&upn)))
                })
                .map(|(i, _)| i)
                .collect();
            for i in doomed.into_iter().rev() {
                seq.remove(i);
            }
            for upn in &fix.add {
                seq.push(styled(upn, None));
            }
            if seq.is_empty()
                && !seq.is_flow_style()
                && let Some(empty) = empty_flow_list()
            {
                item.set("members", empty);
            }
        }
        None if !fix.add.is_empty() => {
            let built = MappingBuilder::new()
                .sequence("members", |mut s| {
                    for upn in &fix.add {
                        s = s.item(styled(upn, None));
                    }
                    s
                })
                .build_document();
            if let Some(seq) = built.as_mapping().and_then(|m| m.get_sequence("members")) {
                item.set_with_field_order("members", seq, GROUP_KEYS);
            }
        }
        None => {}
    }
}

fn empty_flow_list() -> Option<yaml_edit::Sequence> {
    let doc: Document = std::str::FromStr::from_str("members: []\n").ok()?;
    doc.as_mapping()?.get_sequence("members")
}

/// `text` (the users file at `path`, or `None` when it does not exist) with `entries`
/// appended to its `users:` list, in the list's indentation; and each entry's byte range.
fn append_users(
    path: &str,
    text: Option<&str>,
    entries: &[yaml::Entry],
) -> Result<(String, Vec<std::ops::Range<usize>>), String> {
    let refs: Vec<&yaml::Entry> = entries.iter().collect();
    let Some(text) = text else {
        let depth = path.matches('/').count();
        let schema = format!("{}schema/users.schema.json", "../".repeat(depth));
        let header =
            ["Users in the target that no file declared, added by `roster import asana --update`."];
        let (out, ranges) = yaml::document_with_ranges(&schema, &header, "users", &refs);
        return Ok((out, entry_ranges(&ranges)));
    };
    let raw: RawUsersFile = parse_raw(text).map_err(|e| format!("`{path}`: {e}"))?;
    let mut out = text.to_string();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    // The column of the list's dashes: the first item's, or 2 for `users: []`.
    let dash = match raw.users.first() {
        Some(first) => {
            let start = first.range().start;
            let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
            let before = &text[line_start..start];
            match before.trim_end().strip_suffix('-') {
                Some(indent) if indent.trim().is_empty() => indent.chars().count(),
                _ => {
                    return Err(format!(
                        "`{path}` writes its users as a flow list; write it as a block list \
                         (`- userPrincipalName: …`) or name another file with --unmanaged-to"
                    ));
                }
            }
        }
        None => {
            let line = out
                .lines()
                .position(|l| {
                    let l = l.trim_end();
                    l == "users: []" || l == "users:[]"
                })
                .ok_or_else(|| {
                    format!(
                        "`{path}`: cannot find `users: []` to append to; write it as a block list"
                    )
                })?;
            let mut lines: Vec<&str> = out.split_inclusive('\n').collect();
            lines[line] = "users:\n";
            out = lines.concat();
            2
        }
    };
    let (block, ranges) = yaml::document_with_ranges("", &[] as &[&str], "users", &refs);
    let body_start = block.find("users:\n").map_or(0, |i| i + "users:\n".len());
    let pad = " ".repeat(dash);
    let mut out_ranges = Vec::new();
    for r in entry_ranges(&ranges) {
        // Each entry's lines, and the comment above it, as the writer made them at column 2.
        let comment = comment_above(&block, body_start, r.start).unwrap_or("");
        let piece = format!("{comment}{}", &block[r.start..r.end]);
        out.push('\n');
        let start = out.len();
        for line in piece.split_inclusive('\n') {
            if line.trim().is_empty() {
                out.push_str(line);
            } else {
                out.push_str(&pad);
                out.push_str(line.strip_prefix("  ").unwrap_or(line));
            }
        }
        out_ranges.push(start..out.len());
    }
    Ok((out, out_ranges))
}

fn line_start_of(text: &str, at: usize) -> usize {
    text[..at].rfind('\n').map_or(0, |i| i + 1)
}

/// The comment line the writer put right above the entry starting at `start`, if any.
fn comment_above(block: &str, body_start: usize, start: usize) -> Option<&str> {
    let line_end = start.checked_sub(1)?;
    if line_end < body_start {
        return None;
    }
    let line_start = line_start_of(block, line_end);
    let line = &block[line_start..start];
    line.trim_start().starts_with('#').then_some(line)
}

/// Each entry's range, from its fields' ranges.
fn entry_ranges(ranges: &yaml::FieldRanges) -> Vec<std::ops::Range<usize>> {
    ranges
        .iter()
        .filter_map(|fields| Some(fields.first()?.1.start..fields.last()?.1.end))
        .collect()
}

fn validate(
    settings: &str,
    files: &[(String, String)],
) -> (Option<Config>, crate::diagnostics::Report) {
    let pick = |users: bool| -> Vec<(&str, &str)> {
        files
            .iter()
            .filter(|(p, _)| p.starts_with("users/") == users)
            .map(|(p, t)| (p.as_str(), t.as_str()))
            .collect()
    };
    crate::config::from_texts(settings, &pick(true), &pick(false))
}

/// The objects the update changed that a plan of the updated files against the same live
/// state would still change. Not checked when Entra is merged live (the files alone are not
/// the config then).
fn residual(input: &Input<'_>, update: &Update) -> Result<Vec<String>, String> {
    if input.config.provenance.is_some() || update.files.is_empty() {
        return Ok(Vec::new());
    }
    let mut files: BTreeMap<String, String> = input.files.iter().cloned().collect();
    for f in &update.files {
        files.insert(f.path.clone(), f.after.clone());
    }
    let files: Vec<(String, String)> = files.into_iter().collect();
    let (config, _) = validate(input.settings, &files);
    let Some(mut config) = config else {
        return Err("the updated declarations do not validate; nothing was written".into());
    };
    config.settings.policy.unmanaged = Unmanaged::Report;
    let again = plan::plan(
        &config,
        input.live,
        Capabilities::of(input.plan.profile),
        &Scope::default(),
    );
    let touched: BTreeSet<String> = update
        .codified
        .iter()
        .filter_map(|line| line.split_once(": ").map(|(a, _)| a.to_string()))
        .collect();
    let mut out: BTreeSet<String> = again
        .changes
        .iter()
        .map(|c| c.address())
        .filter(|a| touched.contains(a))
        .collect();
    out.extend(
        again
            .unmanaged
            .iter()
            .map(|u| plan::address(Kind::User, &u.key))
            .filter(|a| touched.contains(a)),
    );
    Ok(out.into_iter().collect())
}

/// A change as a unified diff (`--- a/path`, `+++ b/path`; `/dev/null` for a new file).
pub fn diff(change: &FileChange) -> String {
    let before = change.before.as_deref().unwrap_or("");
    let old = match change.before {
        Some(_) => format!("a/{}", change.path),
        None => "/dev/null".to_string(),
    };
    similar::TextDiff::from_lines(before, change.after.as_str())
        .unified_diff()
        .context_radius(3)
        .header(&old, &format!("b/{}", change.path))
        .to_string()
}

/// A unified diff with its lines coloured (added green, removed red, hunks cyan) when
/// `color`. The file's text may be hostile: every line passes through
/// [`crate::render::markdown::visible`] so no escape sequence of its own reaches a terminal.
pub fn paint_diff(diff: &str, color: bool) -> String {
    use anstyle::AnsiColor;
    let mut out = String::with_capacity(diff.len());
    for line in diff.split_inclusive('\n') {
        let body = line.strip_suffix('\n').unwrap_or(line);
        let shown = crate::render::markdown::visible(body);
        let style = if body.starts_with("+++") || body.starts_with("---") {
            anstyle::Style::new().bold()
        } else if body.starts_with('+') {
            AnsiColor::Green.on_default()
        } else if body.starts_with('-') {
            AnsiColor::Red.on_default()
        } else if body.starts_with("@@") {
            AnsiColor::Cyan.on_default()
        } else {
            anstyle::Style::new()
        };
        out.push_str(&crate::render::text::paint(color, style, &shown));
        if line.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests;
