//! SCIM PATCH (RFC 7644 §3.5.2) as Asana documents it: path-less `replace` with an object
//! value, path-based ops on the attribute paths roster and Entra send, `op` in any case,
//! `name.givenName`/`name.familyName` refused, and group `members` add/remove.
//!
//! Pure: user operations edit a copy of the stored attributes, group operations become a list
//! of edits the store checks against its users. Cross-resource checks (uniqueness, references,
//! deprovisioning) are the store's, after every operation applied.

use serde_json::{Map, Value};

use super::error::ScimError;
use super::filter;
use super::schema::{self, Attr, Coercion, ENTERPRISE_ATTRS, Kind, USER_ATTRS};
use roster_core::scim::path::{AttrPath, ENTERPRISE_USER};

pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Add,
    Replace,
    Remove,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    pub op: Op,
    pub path: Option<String>,
    pub value: Option<Value>,
}

/// Reads a PatchOp request body.
pub fn parse(body: &Value) -> Result<Vec<Operation>, ScimError> {
    let obj = body
        .as_object()
        .ok_or_else(|| ScimError::invalid_syntax("a PATCH body must be a JSON object"))?;
    let schemas_ok = get_ci(obj, "schemas")
        .and_then(Value::as_array)
        .is_some_and(|s| s.iter().any(|u| u.as_str() == Some(PATCH_OP)));
    if !schemas_ok {
        return Err(ScimError::invalid_syntax(format!(
            "a PATCH body must have \"schemas\": [\"{PATCH_OP}\"]"
        )));
    }
    let ops = get_ci(obj, "Operations")
        .and_then(Value::as_array)
        .ok_or_else(|| ScimError::invalid_syntax("a PATCH body needs an \"Operations\" array"))?;
    ops.iter()
        .map(|o| {
            let o = o
                .as_object()
                .ok_or_else(|| ScimError::invalid_syntax("each operation must be an object"))?;
            let name = get_ci(o, "op").and_then(Value::as_str).unwrap_or("");
            // Entra sends "Replace"; RFC 7644 spells them lowercase. Asana's case handling is
            // undocumented, and any case is the common reading.
            let op = match name.to_ascii_lowercase().as_str() {
                "add" => Op::Add,
                "replace" => Op::Replace,
                "remove" => Op::Remove,
                _ => {
                    return Err(ScimError::invalid_syntax(format!(
                        "unknown PATCH op {name:?}: use add, replace or remove"
                    )));
                }
            };
            let path = match get_ci(o, "path") {
                None | Some(Value::Null) => None,
                Some(Value::String(p)) if p.trim().is_empty() => None,
                Some(Value::String(p)) => Some(p.trim().to_string()),
                Some(_) => return Err(ScimError::invalid_path("\"path\" must be a string")),
            };
            Ok(Operation {
                op,
                path,
                value: get_ci(o, "value").cloned(),
            })
        })
        .collect()
}

fn get_ci<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).or_else(|| {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// Where an operation lands in a user.
struct Target {
    /// In the enterprise extension object rather than the core attributes.
    ext: bool,
    attr: &'static Attr,
    type_filter: Option<String>,
    sub: Option<&'static Attr>,
}

/// Resolves a user attribute path; `Ok(None)` for attributes Asana does not have.
fn resolve(path: &str) -> Result<Option<Target>, ScimError> {
    let p = AttrPath::parse(path)
        .map_err(|e| ScimError::invalid_path(format!("invalid path `{path}`: {e}")))?;
    let (ext, attrs) = match p.schema.as_deref() {
        None => (false, USER_ATTRS),
        Some(s) if s.eq_ignore_ascii_case(schema::CORE_USER) => (false, USER_ATTRS),
        Some(s) if s.eq_ignore_ascii_case(ENTERPRISE_USER) => (true, ENTERPRISE_ATTRS),
        Some(_) => return Ok(None),
    };
    let Some(attr) = schema::find(attrs, &p.attr) else {
        return Ok(None);
    };
    if p.type_filter.is_some() && !(attr.multi && schema::find(attr.sub, "type").is_some()) {
        return Err(ScimError::invalid_path(format!(
            "`{path}`: only multi-valued attributes with a type take a [type eq \"…\"] filter"
        )));
    }
    let sub = match &p.sub_attr {
        None => None,
        Some(s) => {
            let Some(sub) = schema::find(attr.sub, s) else {
                return Ok(None);
            };
            if attr.multi && p.type_filter.is_none() {
                return Err(ScimError::invalid_path(format!(
                    "`{path}`: pick one element, e.g. `{}[type eq \"work\"].{}`",
                    attr.name, sub.name
                )));
            }
            Some(sub)
        }
    };
    if attr.name == "name" && sub.is_some_and(|s| is_refused_name_part(s.name)) {
        return Err(refused_name_part(&format!(
            "name.{}",
            sub.map_or("", |s| s.name)
        )));
    }
    Ok(Some(Target {
        ext,
        attr,
        type_filter: p.type_filter,
        sub,
    }))
}

fn is_refused_name_part(name: &str) -> bool {
    name == "givenName" || name == "familyName"
}

fn refused_name_part(what: &str) -> ScimError {
    ScimError::mutability(format!(
        "{what} is not supported in PATCH requests (Asana documents this); send name.formatted instead"
    ))
}

/// Applies the operations, in order, to a copy of a user's stored attributes.
pub fn apply_user(
    attrs: &mut Map<String, Value>,
    ops: &[Operation],
    c: Coercion,
) -> Result<(), ScimError> {
    for o in ops {
        match o.path.as_deref() {
            Some(p) if p.eq_ignore_ascii_case(ENTERPRISE_USER) && o.op == Op::Remove => {
                attrs.remove(ENTERPRISE_USER);
            }
            Some(p) if !p.eq_ignore_ascii_case(ENTERPRISE_USER) => {
                let target = resolve(p)?.ok_or_else(|| {
                    ScimError::invalid_path(format!(
                        "`{p}` is not an attribute Asana supports (see /Schemas)"
                    ))
                })?;
                apply_target(attrs, o.op, &target, o.value.as_ref(), c)?;
            }
            ext_path => apply_pathless(attrs, o, ext_path.is_some(), c)?,
        }
    }
    Ok(())
}

/// A path-less add/replace: `value` is an object of attributes, each applied as if named by a
/// path (Entra also puts paths such as `name.formatted` in it as keys).
fn apply_pathless(
    attrs: &mut Map<String, Value>,
    o: &Operation,
    only_extension: bool,
    c: Coercion,
) -> Result<(), ScimError> {
    if o.op == Op::Remove {
        return Err(ScimError::no_target("a remove operation needs a path"));
    }
    let value = o.value.as_ref().and_then(Value::as_object).ok_or_else(|| {
        ScimError::invalid_value("without a path, the value must be an object of attributes")
    })?;
    // One attribute of the enterprise extension, named without its URN.
    let extension_attr = |attrs: &mut Map<String, Value>, k: &str, v: &Value| match resolve(
        &format!("{ENTERPRISE_USER}:{k}"),
    )? {
        Some(t) => apply_target(attrs, o.op, &t, Some(v), c),
        None => Ok(()),
    };
    for (key, v) in value {
        if only_extension {
            extension_attr(attrs, key, v)?;
        } else if key.eq_ignore_ascii_case(ENTERPRISE_USER) {
            let ext = v
                .as_object()
                .ok_or_else(|| ScimError::invalid_value(format!("`{key}` must be an object")))?;
            for (k, v) in ext {
                extension_attr(attrs, k, v)?;
            }
        } else if let Some(t) = resolve(key)? {
            apply_target(attrs, o.op, &t, Some(v), c)?;
        }
    }
    Ok(())
}

fn apply_target(
    attrs: &mut Map<String, Value>,
    op: Op,
    t: &Target,
    value: Option<&Value>,
    c: Coercion,
) -> Result<(), ScimError> {
    let at = t.attr.name;
    if op == Op::Remove
        && t.sub.is_none()
        && t.type_filter.is_none()
        && (t.attr.required || at == "active")
    {
        return Err(ScimError::mutability(format!(
            "`{at}` cannot be removed; to deprovision a user set active to false"
        )));
    }
    if op == Op::Remove && !c.remove_undocumented && !asana_documents(t) {
        return Err(ScimError::mutability(format!(
            "Asana does not document removing `{at}` with PATCH, and this emulator refuses it \
             (`--remove-undocumented allow` accepts it); a PUT without it removes it"
        )));
    }
    let container = if t.ext {
        object_entry(attrs, ENTERPRISE_USER)
    } else {
        &mut *attrs
    };
    match (&t.type_filter, t.sub) {
        (None, None) => set_whole(container, op, t.attr, value, c)?,
        (None, Some(sub)) => {
            let obj = object_entry(container, at);
            set_member(obj, op, sub, value, &format!("{at}.{}", sub.name), c)?;
            if obj.is_empty() {
                container.remove(at);
            }
        }
        (Some(ty), sub) => set_typed(container, op, t.attr, ty, sub, value, c)?,
    }
    if t.ext && attrs.get(ENTERPRISE_USER).is_some_and(is_empty_object) {
        attrs.remove(ENTERPRISE_USER);
    }
    Ok(())
}

/// Whether the attribute is in Asana's own table (reference §1.3), where `remove` follows RFC
/// 7644 §3.5.2.2; the others only the Entra gallery app lists.
fn asana_documents(t: &Target) -> bool {
    if t.ext {
        return t.attr.name == "department";
    }
    !matches!(t.attr.name, "phoneNumbers" | "addresses")
}

fn is_empty_object(v: &Value) -> bool {
    v.as_object().is_some_and(Map::is_empty)
}

fn needs_value(value: Option<&Value>, at: &str) -> Result<Value, ScimError> {
    value
        .cloned()
        .ok_or_else(|| ScimError::invalid_value(format!("the operation on `{at}` needs a value")))
}

/// An operation on a whole attribute.
fn set_whole(
    container: &mut Map<String, Value>,
    op: Op,
    a: &'static Attr,
    value: Option<&Value>,
    c: Coercion,
) -> Result<(), ScimError> {
    if op == Op::Remove {
        match (a.multi, value) {
            // Entra removes values from a multi-valued attribute by listing them.
            (true, Some(v)) => {
                let gone = schema::canonical_value(a, v, a.name, c)?;
                let gone = gone.as_ref().and_then(Value::as_array);
                if let (Some(Value::Array(items)), Some(gone)) = (container.get_mut(a.name), gone) {
                    items.retain(|i| !gone.contains(i));
                    if items.is_empty() {
                        container.remove(a.name);
                    }
                }
            }
            _ => {
                container.remove(a.name);
            }
        }
        return Ok(());
    }
    let new = schema::canonical_value(a, &needs_value(value, a.name)?, a.name, c)?;
    let Some(new) = new else {
        // Replacing with null (or an empty value) unassigns; adding nothing changes nothing.
        if op == Op::Replace {
            container.remove(a.name);
        }
        return Ok(());
    };
    if a.name == "name"
        && let Some(part) = new
            .as_object()
            .and_then(|n| n.keys().find(|k| is_refused_name_part(k)))
    {
        return Err(refused_name_part(&format!("name.{part}")));
    }
    match (a.multi, a.kind, op) {
        (true, _, Op::Add) => {
            let slot = container
                .entry(a.name)
                .or_insert_with(|| Value::Array(Vec::new()));
            if let (Value::Array(items), Value::Array(more)) = (slot, new) {
                for m in more {
                    if !items.contains(&m) {
                        items.push(m);
                    }
                }
            }
        }
        // RFC 7644 §3.5.2.1/3: a complex value merges into the existing one.
        (false, Kind::Complex, _) => {
            let obj = object_entry(container, a.name);
            if let Value::Object(new) = new {
                obj.extend(new);
            }
        }
        _ => {
            container.insert(a.name.to_string(), new);
        }
    }
    Ok(())
}

/// An operation on one sub-attribute of a single complex attribute (`name.formatted`).
fn set_member(
    obj: &mut Map<String, Value>,
    op: Op,
    sub: &'static Attr,
    value: Option<&Value>,
    at: &str,
    c: Coercion,
) -> Result<(), ScimError> {
    let new = match op {
        Op::Remove => None,
        _ => schema::canonical_single(sub, &needs_value(value, at)?, at, c)?,
    };
    match new {
        Some(v) => {
            obj.insert(sub.name.to_string(), v);
        }
        None => {
            obj.remove(sub.name);
        }
    }
    Ok(())
}

/// An operation on the element(s) of a multi-valued attribute selected by `[type eq "ty"]`;
/// add and replace create the element when there is none, as Entra expects.
fn set_typed(
    container: &mut Map<String, Value>,
    op: Op,
    a: &'static Attr,
    ty: &str,
    sub: Option<&'static Attr>,
    value: Option<&Value>,
    c: Coercion,
) -> Result<(), ScimError> {
    let is_match = |e: &Value| {
        e.get("type")
            .and_then(Value::as_str)
            .is_some_and(|t| t.eq_ignore_ascii_case(ty))
    };
    let at = format!("{}[type eq \"{ty}\"]", a.name);
    let items = match container.get_mut(a.name) {
        Some(Value::Array(items)) => items,
        _ if op == Op::Remove => return Ok(()),
        _ => {
            container.insert(a.name.to_string(), Value::Array(Vec::new()));
            match container.get_mut(a.name) {
                Some(Value::Array(items)) => items,
                _ => unreachable!("just inserted an array"),
            }
        }
    };
    match (op, sub) {
        (Op::Remove, None) => items.retain(|e| !is_match(e)),
        (Op::Remove, Some(sub)) => {
            for e in items.iter_mut().filter(|e| is_match(e)) {
                if let Some(o) = e.as_object_mut() {
                    o.remove(sub.name);
                }
            }
            // An element left with only its type (and primary flag) carries nothing.
            items.retain(|e| {
                e.as_object()
                    .is_some_and(|o| o.keys().any(|k| k != "type" && k != "primary"))
            });
        }
        (_, sub) => {
            if !items.iter().any(is_match) {
                let mut fresh = Map::new();
                fresh.insert("type".into(), Value::String(ty.to_string()));
                items.push(Value::Object(fresh));
            }
            let v = needs_value(value, &at)?;
            for e in items.iter_mut().filter(|e| is_match(e)) {
                let Some(o) = e.as_object_mut() else { continue };
                match sub {
                    Some(sub) => {
                        set_member(o, op, sub, Some(&v), &format!("{at}.{}", sub.name), c)?
                    }
                    None => match schema::canonical_single(a, &v, &at, c)? {
                        Some(Value::Object(new)) => o.extend(new),
                        _ => {
                            return Err(ScimError::invalid_value(format!(
                                "the value for `{at}` must be an object"
                            )));
                        }
                    },
                }
            }
        }
    }
    if items.is_empty() {
        container.remove(a.name);
    }
    Ok(())
}

fn object_entry<'a>(map: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    let slot = map
        .entry(key.to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    match slot {
        Value::Object(m) => m,
        _ => unreachable!("just made an object"),
    }
}

/// A change to a group, checked by the store against its users.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupEdit {
    SetName(String),
    AddMembers(Vec<String>),
    RemoveMembers(Vec<String>),
    ReplaceMembers(Vec<String>),
}

/// Turns group PATCH operations into edits.
pub fn group_edits(ops: &[Operation]) -> Result<Vec<GroupEdit>, ScimError> {
    let mut edits = Vec::new();
    for o in ops {
        match o.path.as_deref() {
            None => {
                if o.op == Op::Remove {
                    return Err(ScimError::no_target("a remove operation needs a path"));
                }
                let value = o.value.as_ref().and_then(Value::as_object).ok_or_else(|| {
                    ScimError::invalid_value(
                        "without a path, the value must be an object of attributes",
                    )
                })?;
                if let Some(name) = get_ci(value, "displayName") {
                    edits.push(GroupEdit::SetName(display_name(name)?));
                }
                if let Some(members) = get_ci(value, "members") {
                    let ids = member_ids(members)?;
                    edits.push(match o.op {
                        Op::Add => GroupEdit::AddMembers(ids),
                        _ => GroupEdit::ReplaceMembers(ids),
                    });
                }
            }
            Some(p) if p.eq_ignore_ascii_case("displayName") => match o.op {
                Op::Remove => {
                    return Err(ScimError::mutability(
                        "displayName is required and cannot be removed",
                    ));
                }
                _ => edits.push(GroupEdit::SetName(display_name(
                    o.value.as_ref().unwrap_or(&Value::Null),
                )?)),
            },
            Some(p) if p.eq_ignore_ascii_case("members") => {
                edits.push(match (o.op, &o.value) {
                    (Op::Add, Some(v)) => GroupEdit::AddMembers(member_ids(v)?),
                    (Op::Replace, Some(v)) => GroupEdit::ReplaceMembers(member_ids(v)?),
                    (Op::Remove, Some(v)) if !v.is_null() => {
                        GroupEdit::RemoveMembers(member_ids(v)?)
                    }
                    (Op::Remove, _) => GroupEdit::ReplaceMembers(Vec::new()),
                    (_, None) => {
                        return Err(ScimError::invalid_value(
                            "add and replace on members need a value: [{\"value\": \"<user id>\"}]",
                        ));
                    }
                });
            }
            Some(p) => {
                let id = member_filter(p)?;
                if o.op != Op::Remove {
                    return Err(ScimError::invalid_path(format!(
                        "`{p}` can only be removed; add members with path \"members\""
                    )));
                }
                edits.push(GroupEdit::RemoveMembers(vec![id]));
            }
        }
    }
    Ok(edits)
}

/// `members[value eq "id"]` -> `id`.
fn member_filter(path: &str) -> Result<String, ScimError> {
    let refuse = || {
        ScimError::invalid_path(format!(
            "unsupported path `{path}`: Asana teams have displayName and members \
             (remove one with members[value eq \"<user id>\"])"
        ))
    };
    let rest = path
        .get(..7)
        .filter(|p| p.eq_ignore_ascii_case("members"))
        .map(|_| path[7..].trim_start())
        .ok_or_else(refuse)?;
    let inner = rest
        .strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .ok_or_else(refuse)?;
    filter::parse(inner, "value", "")
        .map(|f| f.value)
        .map_err(|_| refuse())
}

fn display_name(v: &Value) -> Result<String, ScimError> {
    match v.as_str() {
        Some(s) if !s.trim().is_empty() => Ok(s.to_string()),
        _ => Err(ScimError::invalid_value(
            "displayName must be a non-empty string",
        )),
    }
}

/// `[{"value": "id"}, …]` -> ids.
pub fn member_ids(v: &Value) -> Result<Vec<String>, ScimError> {
    let bad = || {
        ScimError::invalid_value(
            "members must be a list of objects like {\"value\": \"<user id>\"}",
        )
    };
    v.as_array()
        .ok_or_else(bad)?
        .iter()
        .map(|m| {
            m.as_object()
                .and_then(|o| get_ci(o, "value"))
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(bad)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const C: Coercion = Coercion {
        string_booleans: true,
        remove_undocumented: false,
    };

    fn user() -> Map<String, Value> {
        json!({
            "userName": "a@x.io",
            "name": {"formatted": "A X", "givenName": "A"},
            "title": "Eng",
            "active": true,
            "emails": [{"type": "work", "value": "a@x.io", "primary": true}],
            ENTERPRISE_USER: {"department": "R&D"},
        })
        .as_object()
        .unwrap()
        .clone()
    }

    fn ops(list: Value) -> Vec<Operation> {
        parse(&json!({"schemas": [PATCH_OP], "Operations": list})).unwrap()
    }

    fn check(list: Value, expect: Value) {
        let mut u = user();
        apply_user(&mut u, &ops(list.clone()), C).unwrap_or_else(|e| panic!("{list}: {e}"));
        assert_eq!(Value::Object(u), expect, "{list}");
    }

    fn check_err(list: Value, status: u16, scim_type: &str) {
        let mut u = user();
        let e = apply_user(&mut u, &ops(list.clone()), C).unwrap_err();
        assert_eq!(
            (e.status, e.scim_type),
            (status, Some(scim_type)),
            "{list}: {e}"
        );
    }

    fn with(edit: impl FnOnce(&mut Map<String, Value>)) -> Value {
        let mut u = user();
        edit(&mut u);
        Value::Object(u)
    }

    #[test]
    fn issue14_remove_clears_asana_attributes_and_refuses_undocumented_ones_by_default() {
        let dept = format!("{ENTERPRISE_USER}:department");
        check(
            json!([{"op": "remove", "path": "title"}, {"op": "remove", "path": dept}]),
            with(|u| {
                u.remove("title");
                u.remove(ENTERPRISE_USER);
            }),
        );
        check(
            json!([{"op": "remove", "path": "name.formatted"}]),
            with(|u| {
                u.insert("name".into(), json!({"givenName": "A"}));
            }),
        );
        // Only the Entra gallery app lists these: undocumented, refused unless allowed.
        let manager = format!("{ENTERPRISE_USER}:manager");
        for path in [
            manager.as_str(),
            "phoneNumbers[type eq \"work\"].value",
            "addresses[type eq \"work\"].locality",
        ] {
            check_err(json!([{"op": "remove", "path": path}]), 400, "mutability");
        }
        let mut u = user();
        u.insert(
            ENTERPRISE_USER.into(),
            json!({"department": "R&D", "manager": {"value": "7"}}),
        );
        let allow = Coercion {
            remove_undocumented: true,
            ..C
        };
        apply_user(
            &mut u,
            &ops(json!([{"op": "remove", "path": manager}])),
            allow,
        )
        .unwrap();
        assert_eq!(u, user());
    }

    #[test]
    fn pathless_replace_with_an_object_as_asana_documents() {
        check(
            json!([{"op": "replace", "value": {"title": "Senior Software Engineer"}}]),
            with(|u| {
                u.insert("title".into(), json!("Senior Software Engineer"));
            }),
        );
        // Entra's form: op in another case, dotted and URN-qualified keys, string booleans.
        check(
            json!([{"op": "Replace", "value": {
                "name.formatted": "B Y",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Ops",
                "active": "False",
                "nickName": "ignored"
            }}]),
            with(|u| {
                u["name"]["formatted"] = json!("B Y");
                u[ENTERPRISE_USER]["department"] = json!("Ops");
                u["active"] = json!(false);
            }),
        );
        check(
            json!([{"op": "add", "value": {ENTERPRISE_USER: {"costCenter": "42"}}}]),
            with(|u| {
                u[ENTERPRISE_USER]["costCenter"] = json!("42");
            }),
        );
    }

    #[test]
    fn path_based_operations() {
        check(
            json!([{"op": "replace", "path": "active", "value": false}]),
            with(|u| u["active"] = json!(false)),
        );
        check(
            json!([{"op": "REPLACE", "path": "name.formatted", "value": "Z"}]),
            with(|u| u["name"]["formatted"] = json!("Z")),
        );
        check(
            json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "b@x.io"}]),
            with(|u| u["emails"][0]["value"] = json!("b@x.io")),
        );
        check(
            json!([{"op": "add", "path": "addresses[type eq \"work\"].country", "value": "NL"}]),
            with(|u| {
                u.insert(
                    "addresses".into(),
                    json!([{"type": "work", "country": "NL"}]),
                );
            }),
        );
        check(
            json!([{"op": "replace", "path": format!("{ENTERPRISE_USER}:department"), "value": "Ops"}]),
            with(|u| u[ENTERPRISE_USER]["department"] = json!("Ops")),
        );
        check(
            json!([{"op": "remove", "path": "title"}]),
            with(|u| {
                u.remove("title");
            }),
        );
        check(
            json!([{"op": "remove", "path": format!("{ENTERPRISE_USER}:department")}]),
            with(|u| {
                u.remove(ENTERPRISE_USER);
            }),
        );
        check(
            json!([{"op": "remove", "path": ENTERPRISE_USER}]),
            with(|u| {
                u.remove(ENTERPRISE_USER);
            }),
        );
        check(
            json!([{"op": "replace", "path": ENTERPRISE_USER, "value": {"division": "D"}}]),
            with(|u| u[ENTERPRISE_USER]["division"] = json!("D")),
        );
        check(
            json!([{"op": "remove", "path": "emails[type eq \"work\"]"}]),
            with(|u| {
                u.remove("emails");
            }),
        );
        check(
            json!([{"op": "add", "path": "emails", "value": [{"type": "home", "value": "h@x.io"}]}]),
            with(|u| {
                u["emails"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"type": "home", "value": "h@x.io"}))
            }),
        );
        check(
            json!([{"op": "add", "path": "name", "value": {"formatted": "Q"}}]),
            with(|u| u["name"]["formatted"] = json!("Q")),
        );
        check(
            json!([{"op": "replace", "path": "title", "value": null}]),
            with(|u| {
                u.remove("title");
            }),
        );
    }

    #[test]
    fn refused_operations() {
        check_err(
            json!([{"op": "replace", "path": "name.givenName", "value": "B"}]),
            400,
            "mutability",
        );
        check_err(
            json!([{"op": "replace", "value": {"name": {"familyName": "B"}}}]),
            400,
            "mutability",
        );
        check_err(
            json!([{"op": "add", "path": "name", "value": {"givenName": "B"}}]),
            400,
            "mutability",
        );
        check_err(
            json!([{"op": "remove", "path": "userName"}]),
            400,
            "mutability",
        );
        check_err(json!([{"op": "remove"}]), 400, "noTarget");
        check_err(
            json!([{"op": "replace", "path": "externalId", "value": "x"}]),
            400,
            "invalidPath",
        );
        check_err(
            json!([{"op": "replace", "path": "emails[primary eq true].value", "value": "x"}]),
            400,
            "invalidPath",
        );
        check_err(
            json!([{"op": "replace", "path": "emails.value", "value": "x"}]),
            400,
            "invalidPath",
        );
        check_err(
            json!([{"op": "replace", "path": "active", "value": "maybe"}]),
            400,
            "invalidValue",
        );
        let bad_op = parse(&json!({"schemas": [PATCH_OP], "Operations": [{"op": "move"}]}));
        assert_eq!(bad_op.unwrap_err().scim_type, Some("invalidSyntax"));
        let no_schema = parse(&json!({"Operations": []}));
        assert_eq!(no_schema.unwrap_err().scim_type, Some("invalidSyntax"));
    }

    #[test]
    fn group_operations() {
        let edits = group_edits(&ops(json!([
            {"op": "add", "path": "members", "value": [{"value": "3"}]},
            {"op": "Remove", "path": "members[value eq \"2\"]"},
            {"op": "remove", "path": "members", "value": [{"value": "4"}]},
            {"op": "replace", "value": {"displayName": "Ops", "members": [{"value": "5"}]}},
            {"op": "replace", "path": "displayName", "value": "Ops 2"},
            {"op": "remove", "path": "members"},
        ])))
        .unwrap();
        assert_eq!(
            edits,
            vec![
                GroupEdit::AddMembers(vec!["3".into()]),
                GroupEdit::RemoveMembers(vec!["2".into()]),
                GroupEdit::RemoveMembers(vec!["4".into()]),
                GroupEdit::SetName("Ops".into()),
                GroupEdit::ReplaceMembers(vec!["5".into()]),
                GroupEdit::SetName("Ops 2".into()),
                GroupEdit::ReplaceMembers(vec![]),
            ]
        );
        for (bad, scim_type) in [
            (
                json!({"op": "add", "path": "members[value eq \"2\"]", "value": []}),
                "invalidPath",
            ),
            (
                json!({"op": "replace", "path": "owner", "value": "x"}),
                "invalidPath",
            ),
            (
                json!({"op": "add", "path": "members", "value": "3"}),
                "invalidValue",
            ),
            (json!({"op": "remove", "path": "displayName"}), "mutability"),
        ] {
            let e = group_edits(&ops(json!([bad]))).unwrap_err();
            assert_eq!(e.scim_type, Some(scim_type), "{bad}");
        }
    }
}
