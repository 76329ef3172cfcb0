//! The live organisation as the planner sees it, parsed leniently from SCIM resources.

use serde_json::Value as Json;

use crate::scim::AttrPath;

/// A user as the target holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveUser {
    pub id: String,
    pub user_name: String,
    pub active: bool,
    /// `meta.version` (the ETag), for `If-Match`.
    pub version: Option<String>,
    /// The whole resource as compact JSON text, for reading mapped attributes and
    /// fingerprinting ([`LiveUser::resource`]). Text because an organisation is read whole: a
    /// parsed user takes about 4 kB (serde_json objects are B-trees of eleven slots), its text
    /// about 0.6 kB, so 100,000 users take 65 MB instead of 400.
    resource: Box<str>,
}

/// A group (Asana team) as the target holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveGroup {
    pub id: String,
    pub display_name: String,
    pub member_ids: Vec<String>,
    pub resource: Json,
}

/// Everything read from the target.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Live {
    pub users: Vec<LiveUser>,
    pub groups: Vec<LiveGroup>,
    /// `users` holds every live user. False when only some were read (`--changed-since`), in
    /// which case unmanaged users cannot be known and are not reported.
    pub complete: bool,
    /// When `users` is not complete: how many users the target said it has, for the percent
    /// deprovision cap. `None` when it did not say.
    pub reported_users: Option<ReportedUsers>,
}

/// A count of users the target gave (`totalResults`), without listing them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportedUsers {
    pub count: u64,
    /// Only active users were counted (`filter=active eq true`); otherwise every user the
    /// target lists, which can include deprovisioned ones.
    pub active_only: bool,
}

/// A SCIM id, which servers send as a string or a number.
pub fn id_of(resource: &Json) -> Option<String> {
    id_of_value(resource.get("id")?)
}

/// A boolean, leniently: JSON booleans and the strings "true"/"false" in any case.
pub fn boolean(v: &Json) -> Option<bool> {
    match v {
        Json::Bool(b) => Some(*b),
        Json::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Json::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

impl LiveUser {
    pub fn from_resource(resource: Json) -> Result<LiveUser, String> {
        let id = id_of(&resource).ok_or("a user without an id")?;
        let user_name = AttrPath::parse("userName")
            .ok()
            .and_then(|p| p.get(&resource).and_then(Json::as_str).map(str::to_string))
            .ok_or_else(|| format!("user {id} has no userName"))?;
        let active = AttrPath::parse("active")
            .ok()
            .and_then(|p| p.get(&resource).and_then(boolean))
            .unwrap_or(true);
        let version = resource
            .get("meta")
            .and_then(|m| m.get("version"))
            .and_then(Json::as_str)
            .map(str::to_string);
        Ok(LiveUser {
            id,
            user_name,
            active,
            version,
            // `to_string` writes bytes straight into one buffer; `Display` goes through a
            // formatter a few bytes at a time, which took twice as long for 100,000 users.
            resource: serde_json::to_string(&resource)
                .expect("a JSON value serialises")
                .into_boxed_str(),
        })
    }

    /// The whole resource, parsed again: callers read it one user at a time.
    pub fn resource(&self) -> Json {
        serde_json::from_str(&self.resource).expect("the text was written from a JSON value")
    }

    /// The resource's JSON text, for a caller that parses only the parts it reads.
    pub fn resource_text(&self) -> &str {
        &self.resource
    }
}

impl LiveGroup {
    pub fn from_resource(resource: Json) -> Result<LiveGroup, String> {
        let id = id_of(&resource).ok_or("a group without an id")?;
        let display_name = resource
            .get("displayName")
            .and_then(Json::as_str)
            .ok_or_else(|| format!("group {id} has no displayName"))?
            .to_string();
        let member_ids = resource
            .get("members")
            .and_then(Json::as_array)
            .map(|ms| {
                ms.iter()
                    .filter_map(|m| m.get("value").and_then(id_of_value))
                    .collect()
            })
            .unwrap_or_default();
        Ok(LiveGroup {
            id,
            display_name,
            member_ids,
            resource,
        })
    }
}

/// An id carried as a string or a number.
pub fn id_of_value(v: &Json) -> Option<String> {
    match v {
        Json::String(s) if !s.is_empty() => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        _ => None,
    }
}
