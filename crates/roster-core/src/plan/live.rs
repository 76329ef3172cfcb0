//! The live organisation as the planner sees it, parsed leniently from SCIM resources.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value as Json;

use crate::scim::AttrPath;

/// A user as the target holds it.
#[derive(Debug, Clone)]
pub struct LiveUser {
    pub id: String,
    pub user_name: String,
    pub active: bool,
    /// `meta.version` (the ETag), for `If-Match`.
    pub version: Option<String>,
    /// The whole resource as JSON text, for reading mapped attributes and fingerprinting
    /// ([`LiveUser::resource`]). Text because an organisation is read whole: a parsed user
    /// takes about 4 kB (serde_json objects are B-trees of eleven slots), its text about
    /// 0.6 kB, so 100,000 users take 65 MB instead of 400. A listed user keeps the server's
    /// text ([`UserText`]), so two equal users may differ in key order: compare parsed.
    resource: Box<str>,
}

impl PartialEq for LiveUser {
    fn eq(&self, other: &LiveUser) -> bool {
        (&self.id, &self.user_name, self.active, &self.version)
            == (&other.id, &other.user_name, other.active, &other.version)
            && (self.resource == other.resource || self.resource() == other.resource())
    }
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
        serde_json::from_str(&self.resource)
            .expect("the text was written from a JSON value or parsed as one")
    }

    /// The resource's JSON text, for a caller that parses only the parts it reads.
    pub fn resource_text(&self) -> &str {
        &self.resource
    }

    /// A user whose resource is `text` as written, repeated members and all.
    #[cfg(test)]
    pub(super) fn from_text_for_tests(text: &str) -> LiveUser {
        LiveUser {
            id: "1".into(),
            user_name: "u@x.io".into(),
            active: true,
            version: None,
            resource: text.into(),
        }
    }
}

/// A listed user resource, its fields read from its JSON text in one pass without building a
/// `serde_json::Value` (which took most of the time of reading 100,000 users). Reads what
/// [`LiveUser::from_resource`] reads, as leniently.
#[derive(Debug)]
pub struct UserText {
    id: Option<String>,
    /// `None` when the resource has none, or a null or non-string one.
    user_name: Option<String>,
    active: bool,
    version: Option<String>,
    text: Box<str>,
}

impl UserText {
    /// Reads one resource's text. Fails where parsing it into a `Value` would (the check is
    /// the same parse, values dropped as they are read), and when it is not a JSON object.
    pub fn parse(text: &str) -> Result<UserText, String> {
        let fields = serde_json::from_str::<Fields>(text)
            .map_err(|e| format!("not JSON: {e}"))?
            .0
            .ok_or("not an object")?;
        let active = fields.active.and_then(|v| boolean(&v)).unwrap_or(true);
        Ok(UserText {
            id: fields.id.and_then(into_id),
            user_name: match fields.user_name {
                Some(Json::String(s)) => Some(s),
                _ => None,
            },
            active,
            version: fields.version,
            text: compact(text),
        })
    }

    /// The resource's `id`, a string or a number on the wire.
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// The user, or why it cannot be planned with: [`LiveUser::from_resource`]'s errors.
    pub fn into_live(self) -> Result<LiveUser, String> {
        let id = self.id.ok_or("a user without an id")?;
        let user_name = self
            .user_name
            .ok_or_else(|| format!("user {id} has no userName"))?;
        Ok(LiveUser {
            id,
            user_name,
            active: self.active,
            version: self.version,
            resource: self.text,
        })
    }
}

/// `text` without the line breaks and indentation of a pretty-printing server, which would
/// double the memory a read organisation takes. Only multi-line text is rewritten (a raw line
/// break cannot be inside a JSON string, so finding none is one fast scan), by serde_json
/// itself: [`UserText::parse`] has already checked that it parses.
fn compact(text: &str) -> Box<str> {
    if !text.as_bytes().contains(&b'\n') {
        return text.into();
    }
    serde_json::from_str::<Json>(text)
        .map(|v| v.to_string())
        .unwrap_or_else(|_| text.to_string())
        .into_boxed_str()
}

/// The fields of a user resource [`UserText`] reads, as `AttrPath::get` and `Value::get` would
/// find them in the parsed object: the last of repeated keys; `userName` and `active` by exact
/// name, else by the first name (in key order) equal ignoring ASCII case. `None` when the
/// text is not an object.
struct Fields(Option<FieldValues>);

#[derive(Default)]
struct FieldValues {
    id: Option<Json>,
    user_name: Option<Json>,
    active: Option<Json>,
    version: Option<String>,
}

impl<'de> Deserialize<'de> for Fields {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Fields, D::Error> {
        d.deserialize_any(NotObject(UserFields)).map(Fields)
    }
}

/// One attribute matched case-insensitively: the exact name's value if it came, else the value
/// of the smallest other spelling (a `Value` object iterates its keys sorted).
#[derive(Default)]
struct CaseInsensitive<'de> {
    exact: Option<Json>,
    other: Option<(Cow<'de, str>, Json)>,
}

impl<'de> CaseInsensitive<'de> {
    /// Reads the value of `key` if it is a spelling of `name` that may be the one found.
    fn read<A: MapAccess<'de>>(
        &mut self,
        name: &str,
        key: &Cow<'de, str>,
        map: &mut A,
    ) -> Result<bool, A::Error> {
        if **key == *name {
            self.exact = Some(map.next_value()?);
        } else if key.eq_ignore_ascii_case(name)
            && self.other.as_ref().is_none_or(|(k, _)| key <= k)
        {
            let value = map.next_value()?;
            self.other = Some((key.clone(), value));
        } else {
            return Ok(false);
        }
        Ok(true)
    }

    /// What `AttrPath::get` returns: nothing for a null.
    fn found(self) -> Option<Json> {
        self.exact
            .or(self.other.map(|(_, v)| v))
            .filter(|v| !v.is_null())
    }
}

/// What a JSON object is read into by [`NotObject`].
trait ReadObject<'de> {
    type Out;
    fn read<A: MapAccess<'de>>(self, map: A) -> Result<Self::Out, A::Error>;
}

struct UserFields;

impl<'de> ReadObject<'de> for UserFields {
    type Out = FieldValues;
    fn read<A: MapAccess<'de>>(self, mut map: A) -> Result<FieldValues, A::Error> {
        let mut fields = FieldValues::default();
        let (mut user_name, mut active) = (CaseInsensitive::default(), CaseInsensitive::default());
        while let Some(Key(key)) = map.next_key()? {
            match &*key {
                "id" => fields.id = Some(map.next_value()?),
                "meta" => fields.version = map.next_value::<Meta>()?.0,
                _ => {
                    if !user_name.read("userName", &key, &mut map)?
                        && !active.read("active", &key, &mut map)?
                    {
                        map.next_value::<Skip>()?;
                    }
                }
            }
        }
        fields.user_name = user_name.found();
        fields.active = active.found();
        Ok(fields)
    }
}

/// `meta.version` when `meta` is an object and `version` a string.
struct Meta(Option<String>);

impl<'de> Deserialize<'de> for Meta {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Meta, D::Error> {
        let version = d.deserialize_any(NotObject(Version))?.flatten();
        Ok(Meta(match version {
            Some(Json::String(s)) => Some(s),
            _ => None,
        }))
    }
}

struct Version;

impl<'de> ReadObject<'de> for Version {
    type Out = Option<Json>;
    fn read<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<Json>, A::Error> {
        let mut version = None;
        while let Some(Key(key)) = map.next_key()? {
            if key == "version" {
                version = Some(map.next_value()?);
            } else {
                map.next_value::<Skip>()?;
            }
        }
        Ok(version)
    }
}

/// An object key, borrowed from the text unless it holds escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Key<'de>, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(s)))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s.to_string())))
            }
        }
        d.deserialize_str(V)
    }
}

/// Any JSON value, checked as parsing it into a `Value` checks it (escapes, number ranges,
/// nesting depth) and dropped as it is read.
struct Skip;

impl<'de> Deserialize<'de> for Skip {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Skip, D::Error> {
        d.deserialize_any(NotObject(Skip)).map(|_| Skip)
    }
}

impl<'de> ReadObject<'de> for Skip {
    type Out = ();
    fn read<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_entry::<Skip, Skip>()?.is_some() {}
        Ok(())
    }
}

/// Reads an object with its [`ReadObject`]; any other value is checked, dropped and `None`.
struct NotObject<R>(R);

impl<'de, R: ReadObject<'de>> Visitor<'de> for NotObject<R> {
    type Value = Option<R::Out>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        self.0.read(map).map(Some)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<Skip>()?.is_some() {}
        Ok(None)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
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

/// [`id_of_value`] of a value no longer needed: a string id is moved, not copied.
fn into_id(v: Json) -> Option<String> {
    match v {
        Json::String(s) if !s.is_empty() => Some(s),
        v => id_of_value(&v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reading a user from its text gives what reading it from its parsed value gives.
    #[test]
    fn user_text_reads_what_from_resource_reads() {
        let cases = [
            r#"{"id":"1","userName":"a@x.io","active":true,"meta":{"version":"W/\"1\""}}"#,
            r#"{"id":12034,"userName":"a@x.io"}"#,
            r#"{"id":1.5e3,"userName":"a@x.io"}"#,
            r#"{"id":"","userName":"a@x.io"}"#,
            r#"{"id":{"x":1},"userName":"a@x.io"}"#,
            r#"{"userName":"a@x.io"}"#,
            r#"{"id":"1"}"#,
            r#"{"id":"1","userName":null}"#,
            r#"{"id":"1","userName":5}"#,
            r#"{"id":"1","USERNAME":"b@x.io","Username":"c@x.io"}"#,
            r#"{"id":"1","Username":"c@x.io","USERNAME":"b@x.io"}"#,
            r#"{"id":"1","userName":null,"username":"b@x.io"}"#,
            r#"{"id":"1","username":"b@x.io","userName":"a@x.io"}"#,
            r#"{"id":"1","userName":"a@x.io","userName":"z@x.io"}"#,
            r#"{"id":"1","user\u004eame":"esc@x.io"}"#,
            r#"{"id":"1","userName":"a@x.io","active":"FALSE"}"#,
            r#"{"id":"1","userName":"a@x.io","active":"no"}"#,
            r#"{"id":"1","userName":"a@x.io","active":null,"ACTIVE":false}"#,
            r#"{"id":"1","userName":"a@x.io","Active":false}"#,
            r#"{"id":"1","userName":"a@x.io","Active":false,"ACTIVE":true}"#,
            r#"{"id":"1","userName":"a@x.io","active":false,"active":true}"#,
            r#"{"id":"1","userName":"a@x.io","meta":"v"}"#,
            r#"{"id":"1","userName":"a@x.io","meta":{"version":7}}"#,
            r#"{"id":"1","userName":"a@x.io","meta":{"version":"a"},"meta":{}}"#,
            r#"{"id":"1","userName":"a@x.io","meta":{"Version":"a","version":"b"}}"#,
            "{\n  \"id\": \"1\",\n  \"userName\": \"a b@x.io\",\n  \"name\": {\"givenName\": \"A\\\" \\n B\"},\n  \"emails\": [ {\"value\": \"a@x.io\"} ]\n}",
        ];
        for text in cases {
            let value: Json = serde_json::from_str(text).unwrap();
            let want = LiveUser::from_resource(value.clone());
            let user = UserText::parse(text).unwrap();
            assert_eq!(user.id().map(str::to_string), id_of(&value), "{text}");
            let got = user.into_live();
            assert_eq!(got, want, "{text}");
            if let Ok(u) = got {
                assert_eq!(u.resource(), value, "{text}");
                assert!(!u.resource.contains('\n'), "{text}");
            }
        }
    }

    /// Text that does not parse into a `Value` is refused, though it scans as JSON.
    #[test]
    fn user_text_refuses_what_a_value_refuses() {
        for text in [
            r#"{"id":"1","userName":"\ud800"}"#,
            r#"{"id":"1","userName":"a@x.io","x":1e400}"#,
            r#"{"id":"1","userName":"a@x.io","x":{"y":"\udc00"}}"#,
            r#"{"id":"1","userName":"a@x.io","meta":{"x":[1e999]}}"#,
            r#"{"id":"1","userName":"a@x.io""#,
        ] {
            assert!(serde_json::from_str::<Json>(text).is_err(), "{text}");
            assert!(UserText::parse(text).is_err(), "{text}");
        }
        let deep = format!(
            "{{\"id\":\"1\",\"x\":{}1{}}}",
            "[".repeat(200),
            "]".repeat(200)
        );
        assert!(serde_json::from_str::<Json>(&deep).is_err());
        assert!(UserText::parse(&deep).is_err());
        assert_eq!(
            UserText::parse("[1]").unwrap_err(),
            "not an object".to_string()
        );
    }
}
