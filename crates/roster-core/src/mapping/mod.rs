//! Attribute mappings: from a declared user or group to the SCIM attributes roster would send.
//!
//! The model is Entra's: each mapping has a target SCIM attribute and exactly one of a direct
//! source attribute, a constant or an expression, an optional matching precedence, `apply`
//! (always or on create) and a default used only on create. Null values are never sent.
//! Everything here is pure: no IO, no clock, no environment.

pub mod targets;

use serde_json::{Map, Value as Json};

use crate::config::model::{
    Apply, Group, Mapping, MappingSource, TargetDef, TargetKind, User, UserAttr,
};
use crate::expr;
use crate::scim::AttrPath;

/// Whether the object is being created or updated: `apply: on_create` mappings and defaults
/// flow only on create.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Create,
    Update,
}

/// A mapped value, typed by its target.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum MappedValue {
    String(String),
    Boolean(bool),
    /// A reference to a user by userPrincipalName (`manager`); resolved to a SCIM id later.
    UserRef(String),
    /// References to users by userPrincipalName (group `members`).
    UserRefs(Vec<String>),
}

/// The attributes roster would send for one object: target path and value, in the order of
/// the mappings that gave them (a target has one mapping: validation refuses two). A list, not
/// a map: an object has a dozen attributes, and the plan builds one for every declared user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mapped {
    pub attributes: Vec<(&'static str, MappedValue)>,
}

impl Mapped {
    pub fn get(&self, target: &str) -> Option<&MappedValue> {
        (self.attributes.iter())
            .find(|(t, _)| same_target(t, target))
            .map(|(_, v)| v)
    }

    /// The attributes in target path order, the order plans show them in.
    pub fn in_path_order(&self) -> Vec<(&'static str, &MappedValue)> {
        let mut sorted: Vec<_> = self.attributes.iter().map(|(t, v)| (*t, v)).collect();
        sorted.sort_unstable_by_key(|(t, _)| *t);
        sorted
    }

    /// The SCIM resource JSON. `resolve` turns a userPrincipalName into a SCIM id; a reference
    /// it cannot resolve is left out rather than sent dangling.
    pub fn to_scim(&self, schemas: &[&str], resolve: &dyn Fn(&str) -> Option<String>) -> Json {
        let mut resource = Map::new();
        resource.insert(
            "schemas".into(),
            Json::Array(
                schemas
                    .iter()
                    .map(|s| Json::String(s.to_string()))
                    .collect(),
            ),
        );
        // In path order, so that the elements of a multi-valued attribute (`phoneNumbers` of
        // two types) come in the same order whatever the order of the mappings.
        for (target, value) in self.in_path_order() {
            let json = match value {
                MappedValue::String(s) => Json::String(s.clone()),
                MappedValue::Boolean(b) => Json::Bool(*b),
                MappedValue::UserRef(upn) => match resolve(upn) {
                    Some(id) => serde_json::json!({ "value": id }),
                    None => continue,
                },
                MappedValue::UserRefs(upns) => Json::Array(
                    upns.iter()
                        .filter_map(|u| resolve(u))
                        .map(|id| serde_json::json!({ "value": id }))
                        .collect(),
                ),
            };
            match AttrPath::parse(target) {
                Ok(path) => path.set(&mut resource, json),
                Err(e) => unreachable!("built-in target `{target}` does not parse: {e}"),
            }
        }
        Json::Object(resource)
    }
}

/// Whether two target paths are the same. Paths are most often the same `&'static str` of a
/// [`TargetDef`], which is told without comparing its bytes (enterprise paths share a prefix of
/// 60 bytes).
pub fn same_target(a: &str, b: &str) -> bool {
    a.len() == b.len() && (std::ptr::eq(a.as_ptr(), b.as_ptr()) || a == b)
}

/// A mapping that could not produce a value for one object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("mapping to `{target}`: {reason}")]
pub struct MappingError {
    pub target: &'static str,
    pub reason: String,
    /// For an expression that failed to evaluate: the part at fault, a byte range into the
    /// expression's text ([`expr::EvalError::span`]).
    pub span: Option<std::ops::Range<usize>>,
}

/// Maps a declared user. `in_scope` feeds `IsSoftDeleted` (false for users Entra would no longer
/// provision).
pub fn map_user(
    mappings: &[Mapping],
    user: &User,
    in_scope: bool,
    flow: Flow,
) -> Result<Mapped, Vec<MappingError>> {
    map_object(mappings, flow, &|name| user.source(name, in_scope))
}

/// Maps only the matching mappings (those with a `match_priority`) of a declared user in
/// scope, on create: what finding the user's live counterpart needs, at a fraction of
/// [`map_user`]'s cost when most mappings are not matching ones.
pub fn map_user_matching(mappings: &[Mapping], user: &User) -> Result<Mapped, Vec<MappingError>> {
    let matching = mappings.iter().filter(|m| m.match_priority.is_some());
    map_object(matching, Flow::Create, &|name| user.source(name, true))
}

/// The failures [`map_user`] of a user in scope on create would give, in the same order,
/// without building the mapped values: validation's check of every declared user. A direct
/// mapping from a declared attribute is checked on the attribute's text where it lies.
pub fn check_user(mappings: &[Mapping], user: &User) -> Vec<MappingError> {
    let source = |name: &str| user.source(name, true);
    let mut errors = Vec::new();
    for m in mappings {
        let declared = match &m.source {
            MappingSource::Direct(name) => UserAttr::from_name(name).map(|a| user.get(a)),
            _ => None,
        };
        let failure = match declared {
            Some(Some(value)) => check_single(m.target, value)
                .err()
                .map(|reason| MappingError {
                    target: m.target.path,
                    reason,
                    span: None,
                }),
            Some(None) if m.default.is_none() => None,
            _ => map_one(m, Flow::Create, &source).err(),
        };
        errors.extend(failure);
    }
    errors
}

/// Maps a declared group.
pub fn map_group(
    mappings: &[Mapping],
    group: &Group,
    flow: Flow,
) -> Result<Mapped, Vec<MappingError>> {
    map_object(mappings, flow, &|name| group.source(name))
}

struct Source<'a>(&'a dyn Fn(&str) -> expr::Value);

impl expr::Attributes for Source<'_> {
    fn get(&self, name: &str) -> expr::Value {
        (self.0)(name)
    }
}

fn map_object<'m>(
    mappings: impl IntoIterator<Item = &'m Mapping>,
    flow: Flow,
    source: &dyn Fn(&str) -> expr::Value,
) -> Result<Mapped, Vec<MappingError>> {
    let mut mapped = Mapped::default();
    let mut errors = Vec::new();
    for m in mappings {
        if m.apply == Apply::OnCreate && flow == Flow::Update {
            continue;
        }
        match map_one(m, flow, source) {
            Ok(Some(v)) => {
                debug_assert!(
                    mapped.get(m.target.path).is_none(),
                    "two mappings for a target"
                );
                mapped.attributes.push((m.target.path, v));
            }
            Ok(None) => {}
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(mapped)
    } else {
        Err(errors)
    }
}

/// One mapping's value for an object; `Ok(None)` means "not sent".
fn map_one(
    m: &Mapping,
    flow: Flow,
    source: &dyn Fn(&str) -> expr::Value,
) -> Result<Option<MappedValue>, MappingError> {
    let value = match &m.source {
        MappingSource::Direct(name) => source(name),
        MappingSource::Constant(c) => expr::Value::Str(c.clone()),
        MappingSource::Expression { expr, .. } => {
            expr.eval(&Source(source)).map_err(|e| MappingError {
                target: m.target.path,
                reason: e.to_string(),
                span: Some(e.span()),
            })?
        }
    };
    let value = match (value, &m.default, flow) {
        (expr::Value::Null, Some(d), Flow::Create) => expr::Value::Str(d.clone()),
        (v, _, _) => v,
    };
    convert(m.target, value).map_err(|reason| MappingError {
        target: m.target.path,
        reason,
        span: None,
    })
}

/// Converts an expression value to the target's type; `Ok(None)` means "not sent".
fn convert(target: &TargetDef, value: expr::Value) -> Result<Option<MappedValue>, String> {
    use expr::Value;
    let single = match value {
        Value::Null => return Ok(None),
        Value::Multi(values) if target.kind == TargetKind::UserRefs => {
            return Ok(Some(MappedValue::UserRefs(values)));
        }
        // A multi-valued source into a single-valued target flows its first value, as Entra does.
        Value::Multi(values) => match values.into_iter().next() {
            Some(v) => v,
            None => return Ok(None),
        },
        Value::Str(s) => s,
    };
    let boolean = check_single(target, &single)?;
    Ok(Some(match target.kind {
        TargetKind::String => MappedValue::String(single),
        TargetKind::UserRef => MappedValue::UserRef(single),
        TargetKind::UserRefs => MappedValue::UserRefs(vec![single]),
        TargetKind::Boolean => MappedValue::Boolean(boolean == Some(true)),
    }))
}

/// Whether the target takes one string value: a string within its length, anything for a
/// reference, "True" or "False" (any case) for a boolean, which is returned.
fn check_single(target: &TargetDef, single: &str) -> Result<Option<bool>, String> {
    match target.kind {
        TargetKind::String => {
            // Counted before anything is sent: a value the target refuses would fail mid-apply
            // (a 2 MB title is a 413), after the changes before it were made. A string has no
            // more characters than bytes, so most are never counted.
            if single.len() > target.max_chars {
                let chars = single.chars().count();
                if chars > target.max_chars {
                    return Err(format!(
                        "the value is {chars} characters long; roster sends at most {} to `{}`",
                        target.max_chars, target.path
                    ));
                }
            }
            Ok(None)
        }
        TargetKind::UserRef | TargetKind::UserRefs => Ok(None),
        TargetKind::Boolean => {
            if single.eq_ignore_ascii_case("true") {
                Ok(Some(true))
            } else if single.eq_ignore_ascii_case("false") {
                Ok(Some(false))
            } else {
                Err(format!(
                    "`{single}` is not a boolean (expected \"True\" or \"False\")"
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests;
