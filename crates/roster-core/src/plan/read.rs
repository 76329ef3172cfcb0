//! Reading, from a live user's JSON text, only the members the mappings' targets reach. A whole
//! parse builds every member (`meta`, `schemas`, `id`, …) only to drop it: for 100,000 users
//! that was a third of the plan's CPU.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, Error, IgnoredAny, MapAccess, Visitor};
use serde_json::{Map, Value as Json};

use super::LiveUser;
use crate::scim::AttrPath;

/// The top-level members some target paths read.
#[derive(Debug, Default)]
pub(super) struct Members {
    /// Extension schema URNs, which [`AttrPath::get`] looks up as written.
    schemas: Vec<String>,
    /// Core attributes, which it looks up without ASCII case.
    attrs: Vec<String>,
}

impl Members {
    pub(super) fn of<'p>(paths: impl IntoIterator<Item = &'p AttrPath>) -> Members {
        let mut members = Members::default();
        for p in paths {
            match &p.schema {
                Some(urn) => {
                    if !members.schemas.contains(urn) {
                        members.schemas.push(urn.clone());
                    }
                }
                None => {
                    if !members.wanted(&p.attr) {
                        members.attrs.push(p.attr.clone());
                    }
                }
            }
        }
        members
    }

    /// Whether a path may reach the member `name`.
    fn wanted(&self, name: &str) -> bool {
        self.schemas.iter().any(|s| s == name)
            || self.attrs.iter().any(|a| a.eq_ignore_ascii_case(name))
    }

    /// The resource with only these members. Every member a path could reach is kept, in the
    /// resource's order, so [`AttrPath::get`] of any of the paths finds in it what it finds in
    /// the whole resource (the same member, when several differ only in case).
    pub(super) fn read(&self, live: &LiveUser) -> Json {
        let mut de = serde_json::Deserializer::from_str(live.resource_text());
        Only(self)
            .deserialize(&mut de)
            .expect("the text was written from a JSON object")
    }
}

/// An object, keeping the wanted members.
struct Only<'a>(&'a Members);

impl<'de> DeserializeSeed<'de> for Only<'_> {
    type Value = Json;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Json, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Only<'_> {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut out = Map::new();
        while let Some(name) = map.next_key_seed(Name(self.0))? {
            match name {
                Some(name) => {
                    out.insert(name, map.next_value()?);
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Json::Object(out))
    }
}

/// A member's name, when it is wanted.
struct Name<'a>(&'a Members);

impl<'de> DeserializeSeed<'de> for Name<'_> {
    type Value = Option<String>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<String>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Name<'_> {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a member name")
    }

    fn visit_str<E: Error>(self, name: &str) -> Result<Option<String>, E> {
        Ok(self.0.wanted(name).then(|| name.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_the_paths_read_from_the_whole_resource() {
        let resource = serde_json::json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "id": "7",
            "userName": "ada@example.com",
            "Title": "first",
            "title": "Engineer",
            "TITLE": "third",
            "Emails": [{"type": "work", "value": "ada@example.com"}],
            "name": {"formatted": "Ada \u{e9}\"q\""},
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                "department": "R&D", "manager": {"value": "9"}
            },
            "URN:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "no"},
            "meta": {"version": "W/\"1\""}
        });
        let live = LiveUser::from_resource(resource.clone()).unwrap();
        let paths: Vec<AttrPath> = [
            "title",
            "emails[type eq \"work\"].value",
            "name.formatted",
            "nickName",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
        ]
        .into_iter()
        .map(|p| AttrPath::parse(p).unwrap())
        .collect();
        let read = Members::of(&paths).read(&live);
        for p in &paths {
            assert_eq!(p.get(&read), p.get(&resource), "{p:?}");
        }
        let kept: Vec<&str> = read
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            kept,
            [
                "Emails",
                "TITLE",
                "Title",
                "name",
                "title",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
            ]
        );
    }
}
