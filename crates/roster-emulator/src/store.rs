//! The emulated organisation: users and teams in memory, with Asana's rules applied on every
//! write (email userNames unique case-insensitively, guests invisible, deprovisioning
//! irreversible by default, no team deletion).
//!
//! No IO and no clock: callers pass timestamps in, and persistence reads the records out.
//! Users sit in an id-ordered map plus a sorted list of the ids SCIM can see, so a page of 100
//! out of 100,000 costs 100 lookups, and a lowercase userName index answers filters. Each
//! user's attributes are stored as compact JSON text (see `UserRecord`).

use std::collections::{BTreeMap, HashMap};

use serde_json::value::{RawValue, to_raw_value};
use serde_json::{Map, Value, json};

use super::error::ScimError;
use super::filter::EqFilter;
use super::limits;
use super::patch::{self, GroupEdit};
use super::schema::{self, CORE_GROUP, CORE_USER, Coercion};
use super::settings::{
    Behaviour, Deprovisioned, Paging, Reactivation, RemoveUndocumented, StringBooleans,
};
use roster_core::scim::path::ENTERPRISE_USER;

/// Resource metadata the emulator keeps (RFC 7643 §3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta {
    pub created: String,
    pub last_modified: String,
    /// Bumped on every change; served as the weak ETag `W/"n"`.
    pub version: u64,
}

impl Meta {
    fn new(now: &str) -> Meta {
        Meta {
            created: now.to_string(),
            last_modified: now.to_string(),
            version: 1,
        }
    }

    fn touch(&mut self, now: &str) {
        self.last_modified = now.to_string();
        self.version += 1;
    }

    pub fn etag(&self) -> String {
        format!("W/\"{}\"", self.version)
    }
}

#[derive(Debug, Clone)]
pub struct UserRecord {
    pub id: u64,
    /// Guests exist in the domain (their userName is taken) but SCIM never shows them.
    pub guest: bool,
    /// Canonical attributes (see `schema`, without id, schemas and meta) as compact JSON: a
    /// user costs a few hundred bytes instead of kilobytes of nested maps, and a list page is
    /// spliced from this text instead of rebuilt. Writes parse it, edit, check and re-encode.
    attrs: Box<RawValue>,
    user_name: Box<str>,
    active: bool,
    extended: bool,
    pub meta: Meta,
}

impl UserRecord {
    fn new(id: u64, guest: bool, attrs: &Map<String, Value>, meta: Meta) -> UserRecord {
        UserRecord {
            id,
            guest,
            attrs: to_raw_value(attrs).expect("a JSON map always encodes"),
            user_name: attrs
                .get("userName")
                .and_then(Value::as_str)
                .unwrap_or("")
                .into(),
            active: is_active(attrs),
            extended: attrs.contains_key(ENTERPRISE_USER),
            meta,
        }
    }

    pub fn active(&self) -> bool {
        self.active
    }

    pub fn user_name(&self) -> &str {
        &self.user_name
    }

    /// The stored attributes, decoded for editing.
    pub fn attrs(&self) -> Map<String, Value> {
        serde_json::from_str(self.attrs.get()).expect("the emulator encoded these attributes")
    }

    pub fn raw_attrs(&self) -> &RawValue {
        &self.attrs
    }

    /// Appends the user's SCIM JSON to `out` without decoding the stored attributes.
    pub fn write_json(&self, base_url: &str, out: &mut String) {
        out.push_str("{\"schemas\":[\"");
        out.push_str(CORE_USER);
        if self.extended {
            out.push_str("\",\"");
            out.push_str(ENTERPRISE_USER);
        }
        out.push_str("\"],\"id\":\"");
        out.push_str(&self.id.to_string());
        out.push('"');
        // `attrs` is an encoded object: `{…}`; its members go between id and meta.
        let text = self.attrs.get();
        let members = &text[1..text.len() - 1];
        if !members.is_empty() {
            out.push(',');
            out.push_str(members);
        }
        out.push_str(",\"meta\":");
        let location = format!("{base_url}/Users/{}", self.id);
        out.push_str(&meta_json(&self.meta, "User", &location).to_string());
        out.push('}');
    }

    pub fn to_json(&self, base_url: &str) -> Value {
        let mut text = String::new();
        self.write_json(base_url, &mut text);
        serde_json::from_str(&text).expect("write_json writes JSON")
    }
}

fn is_active(attrs: &Map<String, Value>) -> bool {
    attrs.get("active") != Some(&Value::Bool(false))
}

#[derive(Debug, Clone)]
pub struct GroupRecord {
    pub id: u64,
    pub display_name: String,
    /// Member user ids, in the order they were added.
    pub members: Vec<u64>,
    pub meta: Meta,
}

impl GroupRecord {
    pub fn to_json(&self, base_url: &str) -> Value {
        let mut g = json!({
            "schemas": [CORE_GROUP],
            "id": self.id.to_string(),
            "displayName": self.display_name,
            "meta": meta_json(&self.meta, "Group", &format!("{base_url}/Groups/{}", self.id)),
        });
        if !self.members.is_empty() {
            g["members"] = self
                .members
                .iter()
                .map(|m| json!({"value": m.to_string(), "$ref": format!("{base_url}/Users/{m}"), "type": "User"}))
                .collect();
        }
        g
    }
}

fn meta_json(meta: &Meta, resource_type: &str, location: &str) -> Value {
    json!({
        "resourceType": resource_type,
        "created": meta.created,
        "lastModified": meta.last_modified,
        "location": location,
        "version": meta.etag(),
    })
}

/// Paging parameters, as the client sent them (`startIndex` is 1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub start_index: usize,
    pub count: Option<usize>,
}

/// One page of a list.
#[derive(Debug)]
pub struct Page<'a, T> {
    pub total: usize,
    /// `None` when paging is ignored (the response then omits startIndex/itemsPerPage).
    pub start_index: Option<usize>,
    pub items: Vec<&'a T>,
}

/// Asana ids are numeric strings ("gids"), 16 digits for recent objects.
const FIRST_ID: u64 = 1_204_000_000_000_000;

/// Checks `If-Match` (RFC 9110 §13.1.1, weak comparison) against the current version.
pub fn check_if_match(if_match: Option<&str>, meta: &Meta) -> Result<(), ScimError> {
    let Some(header) = if_match else {
        return Ok(());
    };
    let current = meta.version.to_string();
    let matches = header.split(',').map(str::trim).any(|tag| {
        tag == "*" || tag.strip_prefix("W/").unwrap_or(tag).trim_matches('"') == current
    });
    if matches {
        Ok(())
    } else {
        Err(ScimError::precondition_failed(format!(
            "the resource changed: its version is {}, not {header}; read it again and retry",
            meta.etag()
        )))
    }
}

#[derive(Debug)]
pub struct Store {
    behaviour: Behaviour,
    users: BTreeMap<u64, UserRecord>,
    /// Lowercase userName -> id, guests and deprovisioned users included.
    user_names: HashMap<String, u64>,
    /// Sorted ids of the users SCIM can see.
    listed: Vec<u64>,
    groups: BTreeMap<u64, GroupRecord>,
    /// Lowercase displayName -> id.
    group_names: HashMap<String, u64>,
    last_id: u64,
    /// Bumped on every change; persistence writes up to a revision.
    revision: u64,
}

fn parse_id(id: &str) -> Option<u64> {
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    id.parse().ok()
}

fn user_not_found(id: &str) -> ScimError {
    ScimError::not_found(format!("no user with id {id}"))
}

fn group_not_found(id: &str) -> ScimError {
    ScimError::not_found(format!("no group (team) with id {id}"))
}

/// Asana only says userName "must be an email address"; this is the shape check a server can
/// reasonably make without sending mail.
pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

impl Store {
    pub fn new(behaviour: Behaviour) -> Store {
        Store {
            behaviour,
            users: BTreeMap::new(),
            user_names: HashMap::new(),
            listed: Vec::new(),
            groups: BTreeMap::new(),
            group_names: HashMap::new(),
            last_id: FIRST_ID,
            revision: 0,
        }
    }

    pub fn revision(&self) -> u64 {
        self.revision
    }

    pub fn is_empty(&self) -> bool {
        self.users.is_empty() && self.groups.is_empty()
    }

    pub fn users(&self) -> impl Iterator<Item = &UserRecord> {
        self.users.values()
    }

    pub fn groups(&self) -> impl Iterator<Item = &GroupRecord> {
        self.groups.values()
    }

    fn coercion(&self) -> Coercion {
        Coercion {
            string_booleans: self.behaviour.string_booleans == StringBooleans::Accept,
            remove_undocumented: self.behaviour.remove_undocumented == RemoveUndocumented::Allow,
        }
    }

    /// The next id: increasing, with small irregular gaps like real gids.
    fn next_id(&mut self) -> u64 {
        let mut z = self.last_id.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        z ^= z >> 29;
        self.last_id += 1 + z % 97;
        self.last_id
    }

    fn is_listed(&self, u: &UserRecord) -> bool {
        !u.guest && (u.active() || self.behaviour.deprovisioned == Deprovisioned::Listed)
    }

    /// Keeps `listed` in step with one user's visibility.
    fn relist(&mut self, id: u64) {
        let listed = self.users.get(&id).is_some_and(|u| self.is_listed(u));
        match (self.listed.binary_search(&id), listed) {
            (Err(pos), true) => self.listed.insert(pos, id),
            (Ok(pos), false) => {
                self.listed.remove(pos);
            }
            _ => {}
        }
    }

    // ---- users -------------------------------------------------------------------------

    /// A user SCIM can see, or 404.
    pub fn user(&self, id: &str) -> Result<&UserRecord, ScimError> {
        parse_id(id)
            .and_then(|n| self.users.get(&n))
            .filter(|u| self.is_listed(u))
            .ok_or_else(|| user_not_found(id))
    }

    /// Any user, visible or not: for answering a write that may have just hidden it.
    pub fn user_by_id(&self, id: u64) -> Option<&UserRecord> {
        self.users.get(&id)
    }

    pub fn list_users(&self, filter: Option<&EqFilter>, page: PageRequest) -> Page<'_, UserRecord> {
        let ids: Vec<u64>;
        let ids: &[u64] = match filter {
            Some(f) => {
                ids = self
                    .user_names
                    .get(&f.value.to_lowercase())
                    .filter(|id| self.listed.binary_search(id).is_ok())
                    .copied()
                    .into_iter()
                    .collect();
                &ids
            }
            None => &self.listed,
        };
        self.page(ids, page, |id| self.users.get(id))
    }

    fn page<'a, T>(
        &self,
        ids: &[u64],
        page: PageRequest,
        get: impl Fn(&u64) -> Option<&'a T>,
    ) -> Page<'a, T> {
        let total = ids.len();
        match self.behaviour.paging {
            Paging::Ignore => Page {
                total,
                start_index: None,
                items: ids.iter().filter_map(get).collect(),
            },
            Paging::Honour => {
                let start = page.start_index.max(1);
                let count = page
                    .count
                    .unwrap_or(self.behaviour.max_page_size)
                    .min(self.behaviour.max_page_size);
                let from = (start - 1).min(total);
                let to = from.saturating_add(count).min(total);
                Page {
                    total,
                    start_index: Some(start),
                    items: ids[from..to].iter().filter_map(get).collect(),
                }
            }
        }
    }

    /// Checks a user's attributes as they would be stored, for user `id` (None: a new user).
    fn check_user(&self, id: Option<u64>, attrs: &Map<String, Value>) -> Result<(), ScimError> {
        let user_name = match attrs.get("userName") {
            Some(Value::String(s)) => s,
            _ => return Err(ScimError::invalid_value("userName is required")),
        };
        if !is_email(user_name) {
            return Err(ScimError::invalid_value(format!(
                "userName must be an email address (Asana requires it), not {user_name:?}"
            )));
        }
        if let Some(&other) = self.user_names.get(&user_name.to_lowercase())
            && Some(other) != id
        {
            let detail = match self.users.get(&other) {
                Some(u) if self.is_listed(u) => {
                    format!("userName {user_name:?} is already taken by user {other}")
                }
                _ => format!(
                    "userName {user_name:?} is already taken by a user SCIM cannot show \
                     (a guest or a deprovisioned user)"
                ),
            };
            return Err(ScimError::uniqueness(detail));
        }
        limits::check_value_lengths(attrs, self.behaviour.max_value_length)
            .map_err(ScimError::invalid_value)?;
        for (name, v) in attrs {
            if let Value::Array(items) = v {
                let primaries = items
                    .iter()
                    .filter(|i| i.get("primary") == Some(&Value::Bool(true)))
                    .count();
                if primaries > 1 {
                    return Err(ScimError::invalid_value(format!(
                        "at most one of {name} may be primary"
                    )));
                }
            }
        }
        let manager = attrs
            .get(ENTERPRISE_USER)
            .and_then(|e| e.get("manager"))
            .and_then(|m| m.get("value"));
        if let Some(m) = manager {
            let m = m.as_str().unwrap_or("");
            let known = parse_id(m)
                .filter(|&n| Some(n) != id)
                .and_then(|n| self.users.get(&n))
                .is_some_and(|u| self.is_listed(u));
            if !known {
                return Err(ScimError::invalid_value(format!(
                    "manager {m:?} is not the id of another user in this domain"
                )));
            }
        }
        Ok(())
    }

    /// POST /Users. Returns the new id.
    pub fn create_user(&mut self, body: &Value, now: &str) -> Result<u64, ScimError> {
        let attrs = schema::canonical_user(body, self.coercion())?;
        self.check_user(None, &attrs)?;
        let id = self.next_id();
        self.insert_user(UserRecord::new(id, false, &attrs, Meta::new(now)));
        self.revision += 1;
        Ok(id)
    }

    fn insert_user(&mut self, u: UserRecord) {
        let id = u.id;
        self.last_id = self.last_id.max(id);
        self.user_names.insert(u.user_name().to_lowercase(), id);
        self.users.insert(id, u);
        self.relist(id);
    }

    /// PUT /Users/{id}: replaces every attribute; `active` is kept when the body omits it
    /// (RFC 7644 §3.5.1 lets the server keep values the client did not assert, and silently
    /// reprovisioning or deprovisioning on an omission would be worse).
    pub fn replace_user(
        &mut self,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
        now: &str,
    ) -> Result<u64, ScimError> {
        let mut attrs = schema::canonical_user(body, self.coercion())?;
        self.edit_user(id, if_match, now, |current| {
            attrs
                .entry("active")
                .or_insert(Value::Bool(current.active()));
            Ok(attrs)
        })
    }

    /// PATCH /Users/{id}: every operation applies, or none.
    pub fn patch_user(
        &mut self,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
        now: &str,
    ) -> Result<u64, ScimError> {
        let ops = patch::parse(body)?;
        let coercion = self.coercion();
        self.edit_user(id, if_match, now, |current| {
            let mut attrs = current.attrs();
            patch::apply_user(&mut attrs, &ops, coercion)?;
            Ok(attrs)
        })
    }

    /// DELETE /Users/{id}: deprovisions, exactly as `active: false` does (Asana documents
    /// both as "zombify"). Deleting a deprovisioned user again is a no-op.
    pub fn delete_user(
        &mut self,
        id: &str,
        if_match: Option<&str>,
        now: &str,
    ) -> Result<(), ScimError> {
        self.edit_user(id, if_match, now, |current| {
            let mut attrs = current.attrs();
            attrs.insert("active".into(), Value::Bool(false));
            Ok(attrs)
        })
        .map(|_| ())
    }

    /// Finds a visible user, checks If-Match, and commits the attributes `edit` derives.
    fn edit_user(
        &mut self,
        id: &str,
        if_match: Option<&str>,
        now: &str,
        edit: impl FnOnce(&UserRecord) -> Result<Map<String, Value>, ScimError>,
    ) -> Result<u64, ScimError> {
        let current = self.user(id)?;
        check_if_match(if_match, &current.meta)?;
        let attrs = edit(current)?;
        let n = current.id;
        self.commit_user(n, attrs, now)?;
        Ok(n)
    }

    /// Stores new attributes for user `id` after checking them; a no-op when nothing changed.
    fn commit_user(
        &mut self,
        id: u64,
        attrs: Map<String, Value>,
        now: &str,
    ) -> Result<(), ScimError> {
        let Some(old) = self.users.get(&id) else {
            return Err(user_not_found(&id.to_string()));
        };
        // Maps encode deterministically (sorted keys), so equal text is an unchanged user.
        let encoded = to_raw_value(&attrs).expect("a JSON map always encodes");
        if old.attrs.get() == encoded.get() {
            return Ok(());
        }
        let was_active = old.active();
        let old_name = old.user_name().to_lowercase();
        self.check_user(Some(id), &attrs)?;
        let now_active = is_active(&attrs);
        if !was_active && self.behaviour.reactivation == Reactivation::Refuse {
            return Err(ScimError::mutability(if now_active {
                "this user is deprovisioned and Asana does not support reactivation through SCIM"
            } else {
                "this user is deprovisioned: Asana does not allow changes to it through SCIM"
            }));
        }
        let Some(user) = self.users.get_mut(&id) else {
            return Err(user_not_found(&id.to_string()));
        };
        let mut meta = user.meta.clone();
        meta.touch(now);
        *user = UserRecord::new(id, user.guest, &attrs, meta);
        let new_name = user.user_name().to_lowercase();
        if new_name != old_name {
            self.user_names.remove(&old_name);
            self.user_names.insert(new_name, id);
        }
        if was_active && !now_active {
            self.deprovisioned(id, now);
        }
        self.relist(id);
        self.revision += 1;
        Ok(())
    }

    /// A deprovisioned user leaves every team, as a deactivated Asana user does.
    fn deprovisioned(&mut self, id: u64, now: &str) {
        for g in self.groups.values_mut() {
            if g.members.contains(&id) {
                g.members.retain(|&m| m != id);
                g.meta.touch(now);
            }
        }
    }

    // ---- groups ------------------------------------------------------------------------

    pub fn group(&self, id: &str) -> Result<&GroupRecord, ScimError> {
        parse_id(id)
            .and_then(|n| self.groups.get(&n))
            .ok_or_else(|| group_not_found(id))
    }

    pub fn list_groups(
        &self,
        filter: Option<&EqFilter>,
        page: PageRequest,
    ) -> Page<'_, GroupRecord> {
        let ids: Vec<u64> = match filter {
            Some(f) => self
                .group_names
                .get(&f.value.to_lowercase())
                .copied()
                .into_iter()
                .collect(),
            None => self.groups.keys().copied().collect(),
        };
        self.page(&ids, page, |id| self.groups.get(id))
    }

    /// Members must be users SCIM can see and who are active (a deprovisioned user cannot
    /// join a team).
    fn member_id(&self, id: &str) -> Result<u64, ScimError> {
        parse_id(id)
            .and_then(|n| self.users.get(&n))
            .filter(|u| self.is_listed(u) && u.active())
            .map(|u| u.id)
            .ok_or_else(|| {
                ScimError::invalid_value(format!(
                    "member {id:?} is not the id of an active user in this domain"
                ))
            })
    }

    fn check_group_name(&self, id: Option<u64>, name: &str) -> Result<(), ScimError> {
        let max = self.behaviour.max_value_length;
        let chars = name.chars().count();
        if max > 0 && chars > max {
            return Err(ScimError::invalid_value(format!(
                "displayName is {chars} characters long; the most this server stores is {max}"
            )));
        }
        match self.group_names.get(&name.to_lowercase()) {
            Some(&other) if Some(other) != id => Err(ScimError::uniqueness(format!(
                "a team named {name:?} already exists (id {other})"
            ))),
            _ => Ok(()),
        }
    }

    /// Reads displayName and members from a POST or PUT body.
    fn group_body(&self, body: &Value) -> Result<(String, Vec<u64>), ScimError> {
        let obj = body
            .as_object()
            .ok_or_else(|| ScimError::invalid_syntax("the request body must be a JSON object"))?;
        let get = |k: &str| {
            obj.iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(k))
                .map(|(_, v)| v)
        };
        let name = match get("displayName") {
            Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
            _ => return Err(ScimError::invalid_value("displayName is required")),
        };
        let mut members = Vec::new();
        if let Some(m) = get("members").filter(|m| !m.is_null()) {
            for id in patch::member_ids(m)? {
                let n = self.member_id(&id)?;
                if !members.contains(&n) {
                    members.push(n);
                }
            }
        }
        Ok((name, members))
    }

    pub fn create_group(&mut self, body: &Value, now: &str) -> Result<u64, ScimError> {
        let (name, members) = self.group_body(body)?;
        self.check_group_name(None, &name)?;
        let id = self.next_id();
        self.insert_group(GroupRecord {
            id,
            display_name: name,
            members,
            meta: Meta::new(now),
        });
        self.revision += 1;
        Ok(id)
    }

    fn insert_group(&mut self, g: GroupRecord) {
        self.last_id = self.last_id.max(g.id);
        self.group_names.insert(g.display_name.to_lowercase(), g.id);
        self.groups.insert(g.id, g);
    }

    pub fn replace_group(
        &mut self,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
        now: &str,
    ) -> Result<u64, ScimError> {
        let current = self.group(id)?;
        check_if_match(if_match, &current.meta)?;
        let n = current.id;
        let (name, members) = self.group_body(body)?;
        self.commit_group(n, name, members, now)?;
        Ok(n)
    }

    pub fn patch_group(
        &mut self,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
        now: &str,
    ) -> Result<u64, ScimError> {
        let edits = patch::group_edits(&patch::parse(body)?)?;
        let current = self.group(id)?;
        check_if_match(if_match, &current.meta)?;
        let n = current.id;
        let mut name = current.display_name.clone();
        let mut members = current.members.clone();
        for edit in edits {
            match edit {
                GroupEdit::SetName(s) => name = s,
                GroupEdit::AddMembers(ids) => {
                    for id in ids {
                        let m = self.member_id(&id)?;
                        if !members.contains(&m) {
                            members.push(m);
                        }
                    }
                }
                GroupEdit::RemoveMembers(ids) => {
                    let gone: Vec<u64> = ids.iter().filter_map(|i| parse_id(i)).collect();
                    members.retain(|m| !gone.contains(m));
                }
                GroupEdit::ReplaceMembers(ids) => {
                    members.clear();
                    for id in ids {
                        let m = self.member_id(&id)?;
                        if !members.contains(&m) {
                            members.push(m);
                        }
                    }
                }
            }
        }
        self.commit_group(n, name, members, now)?;
        Ok(n)
    }

    fn commit_group(
        &mut self,
        id: u64,
        name: String,
        members: Vec<u64>,
        now: &str,
    ) -> Result<(), ScimError> {
        self.check_group_name(Some(id), &name)?;
        let Some(g) = self.groups.get_mut(&id) else {
            return Err(group_not_found(&id.to_string()));
        };
        if g.display_name == name && g.members == members {
            return Ok(());
        }
        let old_name = g.display_name.to_lowercase();
        g.display_name = name;
        g.members = members;
        g.meta.touch(now);
        let new_name = g.display_name.to_lowercase();
        if new_name != old_name {
            self.group_names.remove(&old_name);
            self.group_names.insert(new_name, id);
        }
        self.revision += 1;
        Ok(())
    }

    // ---- loading and seeding -------------------------------------------------------------

    /// Adds a user read from a state file, checked like a POST. `id: None` assigns one.
    pub fn load_user(
        &mut self,
        id: Option<u64>,
        guest: bool,
        attributes: &Value,
        meta: Option<Meta>,
        now: &str,
    ) -> Result<u64, ScimError> {
        let attrs = schema::canonical_user(attributes, self.coercion())?;
        if id.is_some_and(|n| self.users.contains_key(&n) || self.groups.contains_key(&n)) {
            return Err(ScimError::uniqueness("the id is used twice"));
        }
        // Managers may come later in the file; they are checked once everything is loaded.
        let mut without_manager = attrs.clone();
        if let Some(Value::Object(ext)) = without_manager.get_mut(ENTERPRISE_USER) {
            ext.remove("manager");
        }
        self.check_user(id, &without_manager)?;
        let id = match id {
            Some(n) => n,
            None => self.next_id(),
        };
        self.insert_user(UserRecord::new(
            id,
            guest,
            &attrs,
            meta.unwrap_or_else(|| Meta::new(now)),
        ));
        Ok(id)
    }

    /// Adds a group read from a state file; members must be loaded users.
    pub fn load_group(
        &mut self,
        id: Option<u64>,
        display_name: &str,
        members: &[String],
        meta: Option<Meta>,
        now: &str,
    ) -> Result<u64, ScimError> {
        if id.is_some_and(|n| self.users.contains_key(&n) || self.groups.contains_key(&n)) {
            return Err(ScimError::uniqueness("the id is used twice"));
        }
        if display_name.trim().is_empty() {
            return Err(ScimError::invalid_value("displayName is required"));
        }
        self.check_group_name(None, display_name)?;
        let mut ids = Vec::new();
        for m in members {
            let n = parse_id(m)
                .filter(|n| self.users.contains_key(n))
                .ok_or_else(|| ScimError::invalid_value(format!("member {m:?} is not a user")))?;
            if !ids.contains(&n) {
                ids.push(n);
            }
        }
        let id = match id {
            Some(n) => n,
            None => self.next_id(),
        };
        self.insert_group(GroupRecord {
            id,
            display_name: display_name.to_string(),
            members: ids,
            meta: meta.unwrap_or_else(|| Meta::new(now)),
        });
        Ok(id)
    }

    /// Checks what loading deferred (managers), once every user is in.
    pub fn check_loaded(&self) -> Result<(), String> {
        for u in self.users.values() {
            self.check_user(Some(u.id), &u.attrs())
                .map_err(|e| format!("user {}: {}", u.id, e.detail))?;
        }
        Ok(())
    }

    /// Generates a synthetic organisation: `users` active users (every tenth in a second
    /// department, for variety) and `guests` guests, fast enough for 100,000 in well under a
    /// second; written directly in canonical form, bypassing per-request checks.
    pub fn seed(&mut self, users: usize, guests: usize, now: &str) {
        const TITLES: [&str; 5] = ["Engineer", "Designer", "Analyst", "Manager", "Sales Rep"];
        const DEPARTMENTS: [&str; 4] = ["Engineering", "Design", "Finance", "Sales"];
        for i in 0..users + guests {
            let guest = i >= users;
            let (user_name, formatted) = if guest {
                let g = i - users + 1;
                (
                    format!("guest{g:06}@partner.example"),
                    format!("Guest {g:06}"),
                )
            } else {
                (
                    format!("user{:06}@seed.example", i + 1),
                    format!("User {:06}", i + 1),
                )
            };
            let attrs = json!({
                "userName": user_name,
                "name": {"formatted": formatted},
                "emails": [{"type": "work", "value": user_name, "primary": true}],
                "title": TITLES[i % TITLES.len()],
                "active": true,
                ENTERPRISE_USER: {
                    "department": DEPARTMENTS[(i / 10) % DEPARTMENTS.len()],
                    "employeeNumber": format!("E{:06}", i + 1),
                },
            });
            let Value::Object(attrs) = attrs else {
                unreachable!("a JSON object literal")
            };
            let id = self.next_id();
            self.insert_user(UserRecord::new(id, guest, &attrs, Meta::new(now)));
        }
        self.revision += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter;

    const NOW: &str = "2026-01-01T00:00:00.000Z";
    const ALL: PageRequest = PageRequest {
        start_index: 1,
        count: None,
    };

    fn store(behaviour: Behaviour) -> Store {
        Store::new(behaviour)
    }

    fn user(name: &str) -> Value {
        json!({"schemas": [CORE_USER], "userName": name, "name": {"formatted": name}, "active": true})
    }

    fn eq(v: &str) -> EqFilter {
        filter::parse(&format!("userName eq \"{v}\""), "userName", CORE_USER).unwrap()
    }

    fn patch(ops: Value) -> Value {
        json!({"schemas": [patch::PATCH_OP], "Operations": ops})
    }

    #[test]
    fn usernames_are_emails_unique_case_insensitively() {
        let mut s = store(Behaviour::default());
        let a = s.create_user(&user("Ann@x.io"), NOW).unwrap();
        assert!(a.to_string().len() == 16);
        let e = s.create_user(&user("ann@X.IO"), NOW).unwrap_err();
        assert_eq!((e.status, e.scim_type), (409, Some("uniqueness")));
        let e = s.create_user(&user("not-an-email"), NOW).unwrap_err();
        assert_eq!((e.status, e.scim_type), (400, Some("invalidValue")));
        let e = s.create_user(&json!({"title": "x"}), NOW).unwrap_err();
        assert_eq!(e.status, 400);
        // Renaming onto a taken name is refused too.
        let b = s.create_user(&user("bob@x.io"), NOW).unwrap();
        let e = s
            .patch_user(
                &b.to_string(),
                &patch(json!([{"op": "replace", "path": "userName", "value": "ANN@x.io"}])),
                None,
                NOW,
            )
            .unwrap_err();
        assert_eq!(e.status, 409);
        assert_eq!(s.list_users(Some(&eq("ANN@X.IO")), ALL).items[0].id, a);
    }

    #[test]
    fn deprovisioning_is_irreversible_by_default() {
        let mut s = store(Behaviour::default());
        let id = s.create_user(&user("a@x.io"), NOW).unwrap().to_string();
        s.delete_user(&id, None, NOW).unwrap();
        assert!(!s.user(&id).unwrap().active());
        // Deleting again changes nothing.
        let v = s.user(&id).unwrap().meta.version;
        s.delete_user(&id, None, NOW).unwrap();
        assert_eq!(s.user(&id).unwrap().meta.version, v);
        let e = s
            .patch_user(
                &id,
                &patch(json!([{"op": "replace", "value": {"active": true}}])),
                None,
                NOW,
            )
            .unwrap_err();
        assert_eq!((e.status, e.scim_type), (400, Some("mutability")));
        let e = s
            .replace_user(&id, &json!({"userName": "a@x.io", "title": "t"}), None, NOW)
            .unwrap_err();
        assert_eq!(e.scim_type, Some("mutability"));
        // Allowed when configured.
        let mut s = store(Behaviour {
            reactivation: Reactivation::Allow,
            ..Behaviour::default()
        });
        let id = s.create_user(&user("a@x.io"), NOW).unwrap().to_string();
        s.patch_user(
            &id,
            &patch(json!([{"op": "replace", "path": "active", "value": false}])),
            None,
            NOW,
        )
        .unwrap();
        s.patch_user(
            &id,
            &patch(json!([{"op": "replace", "path": "active", "value": true}])),
            None,
            NOW,
        )
        .unwrap();
        assert!(s.user(&id).unwrap().active());
    }

    #[test]
    fn hidden_deprovisioned_users_and_guests_are_invisible() {
        let mut s = store(Behaviour {
            deprovisioned: Deprovisioned::Hidden,
            ..Behaviour::default()
        });
        s.seed(3, 2, NOW);
        assert_eq!(s.list_users(None, ALL).total, 3);
        let guest = s.users().find(|u| u.guest).unwrap().clone();
        assert_eq!(s.user(&guest.id.to_string()).unwrap_err().status, 404);
        assert!(
            s.list_users(Some(&eq(guest.user_name())), ALL)
                .items
                .is_empty()
        );
        let e = s.create_user(&user(guest.user_name()), NOW).unwrap_err();
        assert_eq!(e.status, 409);
        let first = s.list_users(None, ALL).items[0].id.to_string();
        s.delete_user(&first, None, NOW).unwrap();
        assert_eq!(s.list_users(None, ALL).total, 2);
        assert_eq!(s.user(&first).unwrap_err().status, 404);
    }

    #[test]
    fn paging_honoured_or_ignored() {
        let mut s = store(Behaviour {
            max_page_size: 10,
            ..Behaviour::default()
        });
        s.seed(25, 0, NOW);
        let p = s.list_users(
            None,
            PageRequest {
                start_index: 21,
                count: Some(50),
            },
        );
        assert_eq!((p.total, p.start_index, p.items.len()), (25, Some(21), 5));
        assert_eq!(s.list_users(None, ALL).items.len(), 10);
        let zero = s.list_users(
            None,
            PageRequest {
                start_index: 1,
                count: Some(0),
            },
        );
        assert!(zero.items.is_empty());
        let past = s.list_users(
            None,
            PageRequest {
                start_index: 99,
                count: None,
            },
        );
        assert!(past.items.is_empty());
        let mut s = store(Behaviour {
            paging: Paging::Ignore,
            max_page_size: 10,
            ..Behaviour::default()
        });
        s.seed(25, 0, NOW);
        let p = s.list_users(
            None,
            PageRequest {
                start_index: 3,
                count: Some(2),
            },
        );
        assert_eq!((p.start_index, p.items.len()), (None, 25));
    }

    #[test]
    fn groups_membership_and_deprovisioning() {
        let mut s = store(Behaviour::default());
        let a = s.create_user(&user("a@x.io"), NOW).unwrap().to_string();
        let b = s.create_user(&user("b@x.io"), NOW).unwrap().to_string();
        let g = s
            .create_group(
                &json!({"displayName": "Ops", "members": [{"value": a}]}),
                NOW,
            )
            .unwrap()
            .to_string();
        let e = s
            .create_group(&json!({"displayName": "ops"}), NOW)
            .unwrap_err();
        assert_eq!(e.status, 409);
        s.patch_group(
            &g,
            &patch(json!([{"op": "add", "path": "members", "value": [{"value": b}]}])),
            None,
            NOW,
        )
        .unwrap();
        assert_eq!(s.group(&g).unwrap().members.len(), 2);
        let e = s
            .patch_group(
                &g,
                &patch(json!([{"op": "add", "path": "members", "value": [{"value": "999"}]}])),
                None,
                NOW,
            )
            .unwrap_err();
        assert_eq!(e.scim_type, Some("invalidValue"));
        s.delete_user(&a, None, NOW).unwrap();
        assert_eq!(
            s.group(&g).unwrap().members,
            vec![b.parse::<u64>().unwrap()]
        );
        s.patch_group(
            &g,
            &patch(json!([{"op": "remove", "path": format!("members[value eq \"{b}\"]")}])),
            None,
            NOW,
        )
        .unwrap();
        assert!(s.group(&g).unwrap().members.is_empty());
    }

    #[test]
    fn if_match_and_versions() {
        let mut s = store(Behaviour::default());
        let id = s.create_user(&user("a@x.io"), NOW).unwrap().to_string();
        let title = |t: &str| patch(json!([{"op": "replace", "path": "title", "value": t}]));
        s.patch_user(&id, &title("x"), Some("W/\"1\""), NOW)
            .unwrap();
        assert_eq!(s.user(&id).unwrap().meta.etag(), "W/\"2\"");
        let e = s
            .patch_user(&id, &title("y"), Some("W/\"1\""), NOW)
            .unwrap_err();
        assert_eq!(e.status, 412);
        s.patch_user(&id, &title("y"), Some("*"), NOW).unwrap();
        // A change that changes nothing keeps the version.
        let before = s.revision();
        s.patch_user(&id, &title("y"), None, NOW).unwrap();
        assert_eq!(
            (s.user(&id).unwrap().meta.version, s.revision()),
            (3, before)
        );
    }

    #[test]
    fn manager_must_be_another_user() {
        let mut s = store(Behaviour::default());
        let a = s.create_user(&user("a@x.io"), NOW).unwrap().to_string();
        let mut b = user("b@x.io");
        b[ENTERPRISE_USER] = json!({"manager": {"value": a}});
        s.create_user(&b, NOW).unwrap();
        let mut c = user("c@x.io");
        c[ENTERPRISE_USER] = json!({"manager": {"value": "42"}});
        assert_eq!(s.create_user(&c, NOW).unwrap_err().status, 400);
    }

    #[test]
    fn email_shapes() {
        for ok in ["a@x.io", "first.last+tag@sub.example.com"] {
            assert!(is_email(ok), "{ok}");
        }
        for bad in [
            "", "a", "a@", "@x.io", "a@x", "a@@x.io", "a b@x.io", "a@x.io.",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
    }
}
