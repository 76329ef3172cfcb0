//! The SCIM bodies apply sends: creates, PATCH operations in the forms each target takes, and
//! the whole resource for a PUT where PATCH is not supported. Pure.
//!
//! Updates use Asana's path-less `replace`, and a path-based one for an element of a
//! multi-valued attribute. On a generic SCIM server an element that does not exist yet is
//! added whole instead (a path-based replace of it is RFC 7644's `noTarget` error), and when
//! the server does not support PATCH every change is a PUT of the whole resource as just read,
//! with the change made to it (RFC 7644 §3.5.1).

use serde_json::{Map, Value as Json, json};

use crate::scim::AttrPath;
use crate::scim::client::Resource;

const USER_SCHEMAS: [&str; 2] = [
    "urn:ietf:params:scim:schemas:core:2.0:User",
    crate::scim::ENTERPRISE_USER,
];
const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// One value a change sets: its attribute path as the plan writes it, the path parsed, and
/// the value (a manager already resolved to its id); `None` clears it (a `remove` operation,
/// or a PUT without it: `policy.unset_attributes: clear`).
#[derive(Debug, Clone)]
pub struct Assignment {
    pub text: String,
    pub path: AttrPath,
    pub value: Option<Json>,
}

/// The body of a user's create.
pub fn create_user(values: Vec<Assignment>) -> Json {
    let mut body = Map::new();
    for a in values {
        if let Some(value) = a.value {
            a.path.set(&mut body, value);
        }
    }
    body.insert("schemas".into(), json!(USER_SCHEMAS));
    Json::Object(body)
}

/// The body of a team's create, with its members' ids.
pub fn create_group(name: &str, members: &[String]) -> Json {
    json!({ "schemas": [GROUP_SCHEMA], "displayName": name, "members": member_values(members) })
}

/// Whether the PATCH that sets `values` depends on what the user has now: on a generic
/// server, an element of a multi-valued attribute is added or changed depending on whether it
/// exists (`element_operations`).
pub fn patch_depends_on_current(generic: bool, values: &[Assignment]) -> bool {
    generic
        && values
            .iter()
            .any(|a| a.value.is_some() && a.path.type_filter.is_some())
}

/// The PATCH that sets `values` on a user: with `current` (the user as just read) in the
/// element-aware form of a generic server, without it in Asana's form.
pub fn patch_user(values: Vec<Assignment>, current: Option<&Json>) -> Json {
    let operations = match current {
        Some(current) => element_operations(values, current),
        None => patch_operations(values),
    };
    patch(operations)
}

/// The PATCH that deactivates a user.
pub fn deactivate() -> Json {
    patch(vec![
        json!({ "op": "replace", "value": { "active": false } }),
    ])
}

/// The PATCH that adds members to a team.
pub fn add_members(ids: &[String]) -> Json {
    patch(vec![
        json!({ "op": "add", "path": "members", "value": member_values(ids) }),
    ])
}

/// The PATCH that removes members from a team.
pub fn remove_members(ids: &[String]) -> Json {
    patch(
        ids.iter()
            .map(|id| json!({ "op": "remove", "path": format!("members[value eq \"{id}\"]") }))
            .collect(),
    )
}

/// The PUT of a user as read (`current`) with `values` set on it.
pub fn put_user(current: Resource, values: Vec<Assignment>) -> Json {
    let mut user = replacement(current);
    for a in values {
        match a.value {
            Some(value) => a.path.set(&mut user, value),
            None => a.path.remove(&mut user),
        }
    }
    Json::Object(user)
}

/// The PUT of a user as read (`current`), deactivated.
pub fn put_deactivated(current: Resource) -> Json {
    let mut user = replacement(current);
    user.insert("active".into(), Json::Bool(false));
    Json::Object(user)
}

/// The PUT of a team as read (`current`) with members added and removed (by id).
pub fn put_members(current: Resource, add: &[String], remove: &[String]) -> Json {
    let mut team = replacement(current);
    let mut members: Vec<Json> = team
        .get("members")
        .and_then(Json::as_array)
        .cloned()
        .unwrap_or_default();
    let id_of = |m: &Json| m.get("value").and_then(crate::plan::live::id_of_value);
    members.retain(|m| id_of(m).is_none_or(|id| !remove.contains(&id)));
    for id in add {
        if !members
            .iter()
            .any(|m| id_of(m).as_deref() == Some(id.as_str()))
        {
            members.push(json!({ "value": id }));
        }
    }
    // Only the member ids: `display` and `$ref` are the server's to fill in.
    let members: Vec<Json> = members
        .iter()
        .filter_map(|m| id_of(m).map(|id| json!({ "value": id })))
        .collect();
    team.insert("members".into(), Json::Array(members));
    Json::Object(team)
}

/// The version to send in `If-Match` with a PUT, when the server supports ETags: the one the
/// plan saw, else the one just read (so a change made in between is refused, not overwritten).
pub fn put_version(etags: bool, planned: Option<&str>, current: &Resource) -> Option<String> {
    if !etags {
        return None;
    }
    planned
        .map(str::to_string)
        .or_else(|| current.etag().map(str::to_string))
}

fn patch(operations: Vec<Json>) -> Json {
    json!({ "schemas": [PATCH_OP], "Operations": operations })
}

fn member_values(ids: &[String]) -> Vec<Json> {
    ids.iter().map(|id| json!({ "value": id })).collect()
}

/// PATCH operations that set `values`: Asana's documented path-less `replace` with an object
/// value, except for one element of a multi-valued attribute (`addresses[type eq "work"].locality`).
/// Inside a path-less value that would replace the whole list, dropping the element's other
/// sub-attributes and every other element, so it goes as a path-based `replace` (Entra's form,
/// which Asana's gallery app sends). A cleared value is a `remove` with its path (RFC 7644
/// §3.5.2.2), after the replace.
fn patch_operations(values: Vec<Assignment>) -> Vec<Json> {
    let mut plain = Map::new();
    let mut operations = Vec::new();
    for Assignment { text, path, value } in values {
        let Some(value) = value else {
            operations.push(json!({ "op": "remove", "path": text }));
            continue;
        };
        if path.type_filter.is_some() {
            operations.push(json!({ "op": "replace", "path": text, "value": value }));
        } else {
            path.set(&mut plain, value);
        }
    }
    if !plain.is_empty() {
        operations.insert(0, json!({ "op": "replace", "value": plain }));
    }
    operations
}

/// PATCH operations for a generic SCIM server, which follows RFC 7644 §3.5.2.3 to the letter: a
/// path-based `replace` of an element that does not exist is a `noTarget` error. So an element
/// of a multi-valued attribute that `current` lacks is added whole (`add` on the attribute
/// appends it, §3.5.2.1); one it has is changed in place, as [`patch_operations`] does.
fn element_operations(values: Vec<Assignment>, current: &Json) -> Vec<Json> {
    let mut kept = Vec::new();
    // New elements by the attribute's full name (with its schema), in first-seen order.
    let mut added: Vec<(String, Map<String, Json>)> = Vec::new();
    for a in values {
        let Some(value) = a.value.clone() else {
            kept.push(a);
            continue;
        };
        if a.path.type_filter.is_none() {
            kept.push(a);
            continue;
        }
        let element = AttrPath {
            sub_attr: None,
            ..a.path.clone()
        };
        if element.get(current).is_some() {
            kept.push(a);
            continue;
        }
        let name = match &a.path.schema {
            Some(urn) => format!("{urn}:{}", a.path.attr),
            None => a.path.attr.clone(),
        };
        let at = match added.iter().position(|(n, _)| *n == name) {
            Some(at) => at,
            None => {
                added.push((name, Map::new()));
                added.len() - 1
            }
        };
        // Built where it would sit in a core resource, then taken out as the list alone.
        let scratch = &mut added[at].1;
        AttrPath {
            schema: None,
            ..a.path
        }
        .set(scratch, value);
    }
    let mut operations = patch_operations(kept);
    for (name, scratch) in added {
        let elements = scratch
            .into_values()
            .next()
            .unwrap_or(Json::Array(Vec::new()));
        operations.push(json!({ "op": "add", "path": name, "value": elements }));
    }
    operations
}

/// A resource as read, made into the body of its PUT: `meta` is the server's.
fn replacement(current: Resource) -> Map<String, Json> {
    match current.into_value() {
        Json::Object(mut map) => {
            map.remove("meta");
            map
        }
        _ => Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(list: &[(&str, Json)]) -> Vec<Assignment> {
        list.iter()
            .map(|(p, v)| Assignment {
                text: p.to_string(),
                path: AttrPath::parse(p).unwrap(),
                // `null` here stands for a cleared value.
                value: (!v.is_null()).then(|| v.clone()),
            })
            .collect()
    }

    #[test]
    fn a_cleared_value_is_a_remove_with_its_path_and_a_put_without_it() {
        let e = crate::scim::ENTERPRISE_USER;
        let manager = format!("{e}:manager");
        let cleared = values(&[
            ("title", Json::Null),
            ("name.formatted", json!("Ada L")),
            ("addresses[type eq \"work\"].locality", Json::Null),
            (&manager, Json::Null),
        ]);
        assert_eq!(
            patch_operations(cleared.clone()),
            vec![
                json!({ "op": "replace", "value": { "name": { "formatted": "Ada L" } } }),
                json!({ "op": "remove", "path": "title" }),
                json!({ "op": "remove", "path": "addresses[type eq \"work\"].locality" }),
                json!({ "op": "remove", "path": manager }),
            ]
        );
        // A generic server's element-aware form sends the same removes, without reading.
        assert!(!patch_depends_on_current(true, &cleared));
        let current =
            json!({ "userName": "a", "addresses": [{ "type": "work", "locality": "Delft" }] });
        assert_eq!(
            element_operations(cleared.clone(), &current),
            patch_operations(cleared.clone())
        );
        let user = Resource(json!({
            "id": "1", "userName": "a", "title": "Staff Engineer", "meta": {},
            "addresses": [{ "type": "work", "locality": "Delft", "country": "NL" }],
            e: { "department": "R&D", "manager": { "value": "2" } },
        }));
        assert_eq!(
            put_user(user, cleared),
            json!({ "id": "1", "userName": "a", "name": { "formatted": "Ada L" },
                    "addresses": [{ "type": "work", "country": "NL" }],
                    e: { "department": "R&D" } })
        );
    }

    #[test]
    fn a_generic_server_gets_missing_elements_added_whole_and_present_ones_replaced() {
        // Regression: scim2-server answers a path-based replace of an element the user lacks
        // with 400 noTarget, as RFC 7644 §3.5.2.3 says it must.
        let current = json!({
            "userName": "a",
            "addresses": [{ "type": "work", "country": "NL" }],
        });
        let ops = element_operations(
            values(&[
                ("title", json!("Lead")),
                ("addresses[type eq \"work\"].locality", json!("Delft")),
                ("phoneNumbers[type eq \"work\"].value", json!("+31")),
                ("phoneNumbers[type eq \"mobile\"].value", json!("+32")),
                ("emails[type eq \"work\"].value", json!("a@x.io")),
            ]),
            &current,
        );
        assert_eq!(
            ops,
            vec![
                json!({ "op": "replace", "value": { "title": "Lead" } }),
                json!({ "op": "replace", "path": "addresses[type eq \"work\"].locality", "value": "Delft" }),
                json!({ "op": "add", "path": "phoneNumbers", "value": [
                    { "type": "work", "value": "+31" }, { "type": "mobile", "value": "+32" } ] }),
                json!({ "op": "add", "path": "emails", "value": [
                    { "type": "work", "value": "a@x.io", "primary": true } ] }),
            ]
        );
    }

    #[test]
    fn a_put_body_is_the_resource_without_meta() {
        let r = Resource(json!({ "id": "1", "userName": "a", "meta": { "version": "W/\"3\"" } }));
        assert_eq!(
            Json::Object(replacement(r)),
            json!({ "id": "1", "userName": "a" })
        );
    }

    #[test]
    fn an_update_of_one_address_part_keeps_the_other_parts_and_elements() {
        // Regression: a path-less replace of `addresses` with only the changed part replaced
        // the whole list, so changing the city dropped the country and the plan never emptied.
        let values = values(&[
            ("title", json!("Lead")),
            ("addresses[type eq \"work\"].locality", json!("Boston")),
            ("emails[type eq \"work\"].value", json!("a@x.io")),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
                json!("Sales"),
            ),
        ]);
        assert_eq!(
            patch_operations(values),
            vec![
                json!({ "op": "replace", "value": { "title": "Lead",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": { "department": "Sales" } } }),
                json!({ "op": "replace", "path": "addresses[type eq \"work\"].locality", "value": "Boston" }),
                json!({ "op": "replace", "path": "emails[type eq \"work\"].value", "value": "a@x.io" }),
            ]
        );
        assert!(patch_operations(Vec::new()).is_empty());
    }

    #[test]
    fn issue12_a_put_of_a_team_keeps_other_members_and_only_their_ids() {
        let team = Resource(json!({
            "id": "t", "displayName": "Eng", "meta": { "version": "W/\"1\"" },
            "members": [
                { "value": "1", "display": "a" },
                { "value": "2", "$ref": "https://x/Users/2" },
            ],
        }));
        assert_eq!(
            put_members(team, &["3".into(), "1".into()], &["2".into()]),
            json!({ "id": "t", "displayName": "Eng",
                    "members": [{ "value": "1" }, { "value": "3" }] })
        );
    }
}
