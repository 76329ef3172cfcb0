//! SCIM attribute paths (RFC 7644 §3.10) as mapping targets use them, and reading or writing
//! them on a resource's JSON.
//!
//! Supported forms: `title`, `name.formatted`, `emails[type eq "work"].value` and
//! `urn:…:enterprise:2.0:User:department`. Filters are limited to `type eq "…"`, which is
//! what multi-valued targets need; anything else is a parse error.

use serde_json::{Map, Value};

/// URN of the enterprise user extension.
pub const ENTERPRISE_USER: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// A parsed attribute path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrPath {
    /// Extension schema URN, or `None` for the core schema.
    pub schema: Option<String>,
    pub attr: String,
    /// `type eq "…"` value selecting one element of a multi-valued attribute.
    pub type_filter: Option<String>,
    pub sub_attr: Option<String>,
}

impl AttrPath {
    pub fn parse(path: &str) -> Result<AttrPath, String> {
        let (schema, rest) = match path.rfind(':') {
            Some(i) if path.starts_with("urn:") => (Some(path[..i].to_string()), &path[i + 1..]),
            _ => (None, path),
        };
        let (attr, type_filter, after) = match rest.find('[') {
            Some(open) => {
                let close = rest[open..]
                    .find(']')
                    .map(|c| open + c)
                    .ok_or_else(|| format!("unclosed `[` in `{path}`"))?;
                let filter = rest[open + 1..close].trim();
                let value = filter
                    .strip_prefix("type eq ")
                    .map(str::trim)
                    .and_then(|v| v.strip_prefix('"'))
                    .and_then(|v| v.strip_suffix('"'))
                    .ok_or_else(|| {
                        format!("only `[type eq \"…\"]` filters are supported, not `[{filter}]`")
                    })?;
                (&rest[..open], Some(value.to_string()), &rest[close + 1..])
            }
            None => match rest.split_once('.') {
                Some((a, _)) => (a, None, &rest[a.len()..]),
                None => (rest, None, ""),
            },
        };
        let sub_attr = match after {
            "" => None,
            s => Some(
                s.strip_prefix('.')
                    .filter(|s| is_name(s))
                    .ok_or_else(|| {
                        format!("expected `.subAttribute` after the filter in `{path}`")
                    })?
                    .to_string(),
            ),
        };
        if !is_name(attr) {
            return Err(format!("`{attr}` is not an attribute name"));
        }
        Ok(AttrPath {
            schema,
            attr: attr.to_string(),
            type_filter,
            sub_attr,
        })
    }

    /// Reads the value at this path, `None` when absent or null.
    pub fn get<'a>(&self, resource: &'a Value) -> Option<&'a Value> {
        let container = match &self.schema {
            Some(urn) => resource.get(urn)?,
            None => resource,
        };
        let mut v = get_ci(container, &self.attr)?;
        if let Some(ty) = &self.type_filter {
            v = v.as_array()?.iter().find(|e| has_type(e, ty))?;
        }
        if let Some(sub) = &self.sub_attr {
            v = get_ci(v, sub)?;
        }
        (!v.is_null()).then_some(v)
    }

    /// Writes `value` at this path, creating containers and the typed element as needed.
    pub fn set(&self, resource: &mut Map<String, Value>, value: Value) {
        let container = match &self.schema {
            Some(urn) => object_entry(resource, urn),
            None => resource,
        };
        match (&self.type_filter, &self.sub_attr) {
            (None, None) => {
                container.insert(self.attr.clone(), value);
            }
            (None, Some(sub)) => {
                object_entry(container, &self.attr).insert(sub.clone(), value);
            }
            (Some(ty), sub) => {
                // Written into the attribute as the server spelled it (a PUT sends back what
                // was read; names and `type` values compare without case, RFC 7643 §2.1).
                let key = container
                    .keys()
                    .find(|k| k.eq_ignore_ascii_case(&self.attr))
                    .cloned()
                    .unwrap_or_else(|| self.attr.clone());
                let list = container
                    .entry(key)
                    .or_insert_with(|| Value::Array(Vec::new()));
                if !list.is_array() {
                    *list = Value::Array(Vec::new());
                }
                let Value::Array(items) = list else {
                    unreachable!("just made an array")
                };
                let pos = items.iter().position(|e| has_type(e, ty));
                let pos = pos.unwrap_or_else(|| {
                    let mut element = Map::new();
                    element.insert("type".into(), Value::String(ty.clone()));
                    items.push(Value::Object(element));
                    items.len() - 1
                });
                if !items[pos].is_object() {
                    items[pos] = Value::Object(Map::new());
                }
                let element = items[pos].as_object_mut().expect("just made an object");
                let sub = sub.clone().unwrap_or_else(|| "value".into());
                let sub = element
                    .keys()
                    .find(|k| k.eq_ignore_ascii_case(&sub))
                    .cloned()
                    .unwrap_or(sub);
                element.insert(sub, value);
                // Asana accepts at most one primary email; the work email is it.
                if self.attr == "emails" {
                    element.insert("primary".into(), Value::Bool(true));
                }
            }
        }
    }
}

impl AttrPath {
    /// Removes the value at this path (a PUT without it, RFC 7644 §3.5.1), leaving no empty
    /// container behind: an element left with only its `type` and `primary` goes, and so
    /// does an emptied list or extension object. Names compare without case.
    pub fn remove(&self, resource: &mut Map<String, Value>) {
        let urn = self.schema.as_deref();
        let container = match urn {
            Some(urn) => match key_ci(resource, urn).and_then(|k| resource.get_mut(&k)) {
                Some(Value::Object(c)) => c,
                _ => return,
            },
            None => &mut *resource,
        };
        let Some(attr) = key_ci(container, &self.attr) else {
            return;
        };
        match (&self.type_filter, &self.sub_attr) {
            (None, None) => {
                container.remove(&attr);
            }
            (None, Some(sub)) => {
                if let Some(Value::Object(o)) = container.get_mut(&attr)
                    && let Some(k) = key_ci(o, sub)
                {
                    o.remove(&k);
                }
            }
            (Some(ty), sub) => {
                if let Some(Value::Array(items)) = container.get_mut(&attr) {
                    let is_match = |e: &Value| has_type(e, ty);
                    match sub {
                        None => items.retain(|e| !is_match(e)),
                        Some(sub) => {
                            for e in items.iter_mut().filter(|e| is_match(e)) {
                                if let Some(o) = e.as_object_mut()
                                    && let Some(k) = key_ci(o, sub)
                                {
                                    o.remove(&k);
                                }
                            }
                            items.retain(|e| {
                                e.as_object().is_none_or(|o| {
                                    o.keys().any(|k| {
                                        !k.eq_ignore_ascii_case("type")
                                            && !k.eq_ignore_ascii_case("primary")
                                    })
                                })
                            });
                        }
                    }
                }
            }
        }
        let emptied = container.get(&attr).is_some_and(|v| match v {
            Value::Array(a) => a.is_empty(),
            Value::Object(o) => o.is_empty(),
            _ => false,
        });
        if emptied {
            container.remove(&attr);
        }
        if let Some(urn) = urn
            && let Some(k) = key_ci(resource, urn)
            && resource
                .get(&k)
                .and_then(Value::as_object)
                .is_some_and(Map::is_empty)
        {
            resource.remove(&k);
        }
    }
}

/// The key of `map` that is `name` without case, preferring the exact spelling.
fn key_ci(map: &Map<String, Value>, name: &str) -> Option<String> {
    if map.contains_key(name) {
        return Some(name.to_string());
    }
    map.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned()
}

impl std::fmt::Display for AttrPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(s) = &self.schema {
            write!(f, "{s}:")?;
        }
        f.write_str(&self.attr)?;
        if let Some(t) = &self.type_filter {
            write!(f, "[type eq \"{t}\"]")?;
        }
        if let Some(s) = &self.sub_attr {
            write!(f, ".{s}")?;
        }
        Ok(())
    }
}

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '$')
}

/// Whether a list element is the one `[type eq "ty"]` selects: its `type` equal to `ty` without
/// ASCII case.
pub(crate) fn has_type(e: &Value, ty: &str) -> bool {
    get_ci(e, "type")
        .and_then(Value::as_str)
        .is_some_and(|t| t.eq_ignore_ascii_case(ty))
}

/// SCIM attribute names are case-insensitive (RFC 7643 §2.1).
/// A member by its exact name, else by the first (smallest) spelling equal to it without
/// ASCII case.
pub(crate) fn get_ci<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    let obj = v.as_object()?;
    obj.get(name).or_else(|| {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

fn object_entry<'a>(map: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    let slot = map
        .entry(key.to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    slot.as_object_mut().expect("just made an object")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remove_takes_the_value_out_and_leaves_no_empty_container() {
        let check = |path: &str, before: Value, after: Value| {
            let mut r = before.as_object().unwrap().clone();
            AttrPath::parse(path).unwrap().remove(&mut r);
            assert_eq!(Value::Object(r), after, "{path}");
        };
        let e = ENTERPRISE_USER;
        check(
            "title",
            serde_json::json!({"userName": "a", "Title": "X"}),
            serde_json::json!({"userName": "a"}),
        );
        check(
            &format!("{e}:department"),
            serde_json::json!({"userName": "a", e: {"department": "R&D"}}),
            serde_json::json!({"userName": "a"}),
        );
        check(
            &format!("{e}:manager"),
            serde_json::json!({e: {"department": "R&D", "manager": {"value": "1"}}}),
            serde_json::json!({e: {"department": "R&D"}}),
        );
        check(
            "addresses[type eq \"work\"].locality",
            serde_json::json!({"addresses": [{"type": "work", "locality": "Delft", "country": "NL"}]}),
            serde_json::json!({"addresses": [{"type": "work", "country": "NL"}]}),
        );
        check(
            "phoneNumbers[type eq \"work\"].value",
            serde_json::json!({"phoneNumbers": [{"type": "work", "value": "+31", "primary": true}]}),
            serde_json::json!({}),
        );
        check(
            "name.formatted",
            serde_json::json!({"name": {"formatted": "A"}}),
            serde_json::json!({}),
        );
        check(
            "title",
            serde_json::json!({"userName": "a"}),
            serde_json::json!({"userName": "a"}),
        );
    }
    use serde_json::json;

    #[test]
    fn parses_every_target_form() {
        let p = AttrPath::parse("emails[type eq \"work\"].value").unwrap();
        assert_eq!(
            (
                p.attr.as_str(),
                p.type_filter.as_deref(),
                p.sub_attr.as_deref()
            ),
            ("emails", Some("work"), Some("value"))
        );
        let p = AttrPath::parse("name.formatted").unwrap();
        assert_eq!(
            (p.attr.as_str(), p.sub_attr.as_deref()),
            ("name", Some("formatted"))
        );
        let p = AttrPath::parse(&format!("{ENTERPRISE_USER}:department")).unwrap();
        assert_eq!(
            (p.schema.as_deref(), p.attr.as_str()),
            (Some(ENTERPRISE_USER), "department")
        );
        for bad in [
            "emails[value eq \"x\"].value",
            "emails[type eq \"work\"",
            "",
            "a b",
            "x[type eq \"w\"]junk",
        ] {
            assert!(AttrPath::parse(bad).is_err(), "{bad}");
        }
        for path in [
            "title",
            "addresses[type eq \"work\"].country",
            "name.formatted",
        ] {
            assert_eq!(AttrPath::parse(path).unwrap().to_string(), path);
        }
    }

    #[test]
    fn set_then_get_round_trips_and_builds_scim_shapes() {
        let mut m = Map::new();
        let paths = [
            ("userName", json!("a@x.io")),
            ("name.formatted", json!("A X")),
            ("emails[type eq \"work\"].value", json!("a@x.io")),
            ("addresses[type eq \"work\"].country", json!("NL")),
            ("addresses[type eq \"work\"].locality", json!("Delft")),
            (&format!("{ENTERPRISE_USER}:department"), json!("R&D")),
        ];
        for (p, v) in &paths {
            AttrPath::parse(p).unwrap().set(&mut m, v.clone());
        }
        let r = Value::Object(m);
        for (p, v) in &paths {
            assert_eq!(AttrPath::parse(p).unwrap().get(&r), Some(v), "{p}");
        }
        assert_eq!(
            r["addresses"],
            json!([{"type": "work", "country": "NL", "locality": "Delft"}])
        );
        assert_eq!(
            r["emails"],
            json!([{"type": "work", "value": "a@x.io", "primary": true}])
        );
    }

    #[test]
    fn set_finds_an_element_whatever_its_case() {
        // A PUT sends back the resource as read: a `Work` address spelled by the server is the
        // element to change, not a reason to add a second one.
        let mut m = json!({"Addresses": [{"Type": "Work", "Locality": "Delft"}]})
            .as_object()
            .unwrap()
            .clone();
        AttrPath::parse("addresses[type eq \"work\"].locality")
            .unwrap()
            .set(&mut m, json!("Leiden"));
        assert_eq!(
            Value::Object(m),
            json!({"Addresses": [{"Type": "Work", "Locality": "Leiden"}]})
        );
    }

    #[test]
    fn get_is_case_insensitive_and_null_is_absent() {
        let r = json!({"UserName": "a", "title": null, "emails": [{"type": "Work", "value": "w"}]});
        assert_eq!(
            AttrPath::parse("userName").unwrap().get(&r),
            Some(&json!("a"))
        );
        assert_eq!(AttrPath::parse("title").unwrap().get(&r), None);
        assert_eq!(
            AttrPath::parse("emails[type eq \"work\"].value")
                .unwrap()
                .get(&r),
            Some(&json!("w"))
        );
    }
}
