//! SCIM resources and list responses, parsed leniently.
//!
//! Asana's documented examples differ from RFC 7644 in small ways (ids as numbers, list
//! responses without `startIndex`/`itemsPerPage`), so resources stay `serde_json::Value` and
//! only the fields the client needs are read, accepting either form. No IO here.

use std::collections::BTreeMap;
use std::fmt;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::plan::UserText;

/// One SCIM resource (a user, a group, the service provider configuration) as the server sent it.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource(pub Value);

impl Resource {
    /// The resource's `id`, a string or a number on the wire.
    pub fn id(&self) -> Option<String> {
        json_id(self.0.get("id")?)
    }

    /// The version for `If-Match`: `meta.version`.
    pub fn etag(&self) -> Option<&str> {
        self.0.get("meta")?.get("version")?.as_str()
    }

    /// A top-level string attribute, e.g. `userName`.
    pub fn str_attr(&self, name: &str) -> Option<&str> {
        self.0.get(name)?.as_str()
    }

    pub fn user_name(&self) -> Option<&str> {
        self.str_attr("userName")
    }

    pub fn display_name(&self) -> Option<&str> {
        self.str_attr("displayName")
    }

    pub fn into_value(self) -> Value {
        self.0
    }
}

/// A string or number id as a string; `None` for anything else or an empty string.
pub(crate) fn json_id(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A non-negative count that some servers send as a string.
fn json_count(v: Option<&Value>) -> Option<u64> {
    match v? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// One page of a list response (RFC 7644 §3.4.2), with the optional fields optional.
#[derive(Debug, Clone, PartialEq)]
pub struct ListPage<R = Resource> {
    pub resources: Vec<R>,
    pub total_results: Option<u64>,
    pub start_index: Option<u64>,
    pub items_per_page: Option<u64>,
}

impl<R> Default for ListPage<R> {
    fn default() -> Self {
        ListPage {
            resources: Vec::new(),
            total_results: None,
            start_index: None,
            items_per_page: None,
        }
    }
}

/// What a list response's resources are read into: each parsed ([`Resource`]), or each user
/// kept as its text with the fields a plan needs ([`UserText`]).
pub(crate) trait Listed: Sized {
    /// Parses a list response; see [`ListPage::parse`].
    fn parse_page(body: &[u8]) -> Result<ListPage<Self>, String>;

    /// The resource's `id`, a string or a number on the wire.
    fn listed_id(&self) -> Option<String>;
}

impl Listed for Resource {
    fn parse_page(body: &[u8]) -> Result<ListPage, String> {
        ListPage::parse(body)
    }

    fn listed_id(&self) -> Option<String> {
        self.id()
    }
}

/// Users read from their text: a `Value` tree per user took most of the CPU of reading a large
/// organisation. The page is read as [`ListPage::parse`] reads it, each resource kept as text
/// and checked as parsing it would check it.
impl Listed for UserText {
    fn parse_page(body: &[u8]) -> Result<ListPage<UserText>, String> {
        // Checked as UTF-8 once, whole: `from_slice` checks each resource's text again.
        let body = std::str::from_utf8(body).map_err(|e| format!("not JSON: {e}"))?;
        let page: RawPage = serde_json::from_str(body).map_err(|e| format!("not JSON: {e}"))?;
        let (list, others) = match page {
            RawPage::Array(items) => (Some(RawPage::Array(items)), BTreeMap::new()),
            RawPage::Object { list, others } => (list.map(|l| *l), others),
            RawPage::Null | RawPage::Scalar => {
                return Err("expected a list response object".to_string());
            }
        };
        let list = match list {
            None | Some(RawPage::Null) => Vec::new(),
            Some(RawPage::Array(items)) => items,
            Some(_) => return Err("`Resources` is not a list".to_string()),
        };
        let resources = list
            .into_iter()
            .map(|item| {
                if !item.get().starts_with('{') {
                    return Err("`Resources` holds something that is not an object".to_string());
                }
                UserText::parse(item.get())
            })
            .collect::<Result<_, _>>()?;
        let count = |key: &str| json_count(others.get(key));
        Ok(ListPage {
            resources,
            total_results: count("totalResults"),
            start_index: count("startIndex"),
            items_per_page: count("itemsPerPage"),
        })
    }

    fn listed_id(&self) -> Option<String> {
        self.id().map(str::to_string)
    }
}

/// A list response, or its `Resources`, with the resources unparsed.
enum RawPage<'a> {
    Array(Vec<&'a RawValue>),
    Object {
        /// `Resources`, else `resources`.
        list: Option<Box<RawPage<'a>>>,
        /// Every other member, parsed as the whole page once was, so that a page holding what
        /// a `Value` cannot is refused as before.
        others: BTreeMap<String, Value>,
    },
    Null,
    Scalar,
}

impl<'de> Deserialize<'de> for RawPage<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<RawPage<'de>, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawPage<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list response")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawPage<'de>, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(RawPage::Array(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawPage<'de>, A::Error> {
                let (mut upper, mut lower, mut others) = (None, None, BTreeMap::new());
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "Resources" => upper = Some(Box::new(map.next_value()?)),
                        "resources" => lower = Some(Box::new(map.next_value()?)),
                        _ => {
                            others.insert(key, map.next_value()?);
                        }
                    }
                }
                Ok(RawPage::Object {
                    list: upper.or(lower),
                    others,
                })
            }
            fn visit_unit<E: de::Error>(self) -> Result<RawPage<'de>, E> {
                Ok(RawPage::Null)
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<RawPage<'de>, E> {
                Ok(RawPage::Scalar)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<RawPage<'de>, E> {
                Ok(RawPage::Scalar)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<RawPage<'de>, E> {
                Ok(RawPage::Scalar)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<RawPage<'de>, E> {
                Ok(RawPage::Scalar)
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<RawPage<'de>, E> {
                Ok(RawPage::Scalar)
            }
        }
        d.deserialize_any(V)
    }
}

impl ListPage {
    /// Parses a list response. Accepts `Resources` or `resources`, a missing or null list (no
    /// resources), counts as numbers or numeric strings, and a bare JSON array of resources.
    pub fn parse(body: &[u8]) -> Result<ListPage, String> {
        let value: Value = serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
        // The resources are moved out of the page, not copied: a page of 100 users is a few
        // thousand allocations, and copying them doubled the cost of reading a large list.
        let (list, object) = match value {
            Value::Array(items) => (Some(Value::Array(items)), None),
            Value::Object(mut map) => {
                let list = map.remove("Resources").or_else(|| map.remove("resources"));
                (list, Some(map))
            }
            _ => return Err("expected a list response object".to_string()),
        };
        let resources = match list {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .into_iter()
                .map(|item| match item {
                    Value::Object(_) => Ok(Resource(item)),
                    _ => Err("`Resources` holds something that is not an object".to_string()),
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err("`Resources` is not a list".to_string()),
        };
        let count = |key: &str| json_count(object.as_ref().and_then(|m| m.get(key)));
        Ok(ListPage {
            resources,
            total_results: count("totalResults"),
            start_index: count("startIndex"),
            items_per_page: count("itemsPerPage"),
        })
    }
}

/// Characters left as they are in a query value: RFC 3986 unreserved. Everything else,
/// including space and `+` (which some servers read as a space), is percent-encoded.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A path segment: the same set, so an id can never add a `/`, `?` or `#` to a URL.
pub(crate) fn encode_segment(segment: &str) -> String {
    utf8_percent_encode(segment, QUERY_VALUE).to_string()
}

/// `key=value&…` with every value percent-encoded.
pub(crate) fn encode_query(pairs: &[(&str, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode_segment(k), encode_segment(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The SCIM filter `attr eq "value"`, with `"` and `\` escaped as a JSON string would be
/// (RFC 7644 §3.4.2.2: comparison values are JSON literals).
pub fn eq_filter(attr: &str, value: &str) -> String {
    format!("{attr} eq {}", Value::String(value.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn id_as_string_or_number() {
        let cases = [
            (json!({"id": "42"}), Some("42")),
            (json!({"id": 42}), Some("42")),
            (json!({"id": 1203456789012345u64}), Some("1203456789012345")),
            (json!({"id": ""}), None),
            (json!({"id": null}), None),
            (json!({"id": {"x": 1}}), None),
            (json!({}), None),
        ];
        for (v, want) in cases {
            assert_eq!(Resource(v.clone()).id().as_deref(), want, "{v}");
        }
    }

    #[test]
    fn etag_from_meta_version() {
        let r = Resource(json!({"id": "1", "meta": {"version": "W/\"abc\""}}));
        assert_eq!(r.etag(), Some("W/\"abc\""));
        assert_eq!(Resource(json!({"id": "1"})).etag(), None);
    }

    #[test]
    fn list_page_shapes() {
        // Asana's documented example: no startIndex or itemsPerPage.
        let asana = br#"{"Resources":[{"id":"1","userName":"a@x.io"}],"totalResults":1,
            "schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"]}"#;
        let p = ListPage::parse(asana).unwrap();
        assert_eq!(p.resources.len(), 1);
        assert_eq!(
            (p.total_results, p.start_index, p.items_per_page),
            (Some(1), None, None)
        );

        let rfc = br#"{"Resources":[{"id":1},{"id":2}],"totalResults":"5","startIndex":1,"itemsPerPage":2}"#;
        let p = ListPage::parse(rfc).unwrap();
        assert_eq!(p.resources.len(), 2);
        assert_eq!(
            (p.total_results, p.start_index, p.items_per_page),
            (Some(5), Some(1), Some(2))
        );

        let empty = br#"{"totalResults":0}"#;
        assert_eq!(ListPage::parse(empty).unwrap().resources.len(), 0);
        let null = br#"{"Resources":null}"#;
        assert_eq!(ListPage::parse(null).unwrap().total_results, None);
        let lower = br#"{"resources":[{"id":"9"}]}"#;
        assert_eq!(ListPage::parse(lower).unwrap().resources.len(), 1);
        let bare = br#"[{"id":"9"},{"id":"10"}]"#;
        assert_eq!(ListPage::parse(bare).unwrap().resources.len(), 2);

        for bad in [
            &b"<html>"[..],
            b"42",
            br#"{"Resources":{}}"#,
            br#"{"Resources":[1]}"#,
        ] {
            assert!(
                ListPage::parse(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    /// Users read from their text come from the same pages, with the same counts and errors.
    #[test]
    fn user_text_pages_read_as_value_pages() {
        for body in [
            &br#"{"Resources":[{"id":"1","userName":"a@x.io"}],"totalResults":1,
                "schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"]}"#[..],
            br#"{"Resources":[{"id":1},{"id":2}],"totalResults":"5","startIndex":1,"itemsPerPage":2}"#,
            br#"{"totalResults":0}"#,
            br#"{"Resources":null,"resources":[{"id":"9"}]}"#,
            br#"{"resources":[{"id":"9"}]}"#,
            br#"{"resources":[{"id":"9"}],"Resources":[{"id":"8"},{"id":"7"}]}"#,
            br#"[{"id":"9"},{"id":"10"}]"#,
            br#"[]"#,
            b"{\n  \"Resources\": [\n    {\"id\": \"1\", \"userName\": \"a@x.io\"}\n  ],\n  \"totalResults\": \" 3 \"\n}",
        ] {
            let want = ListPage::parse(body).unwrap();
            let got = UserText::parse_page(body).unwrap();
            let shown = String::from_utf8_lossy(body);
            assert_eq!(
                (got.total_results, got.start_index, got.items_per_page),
                (want.total_results, want.start_index, want.items_per_page),
                "{shown}"
            );
            let ids = |p: &ListPage<UserText>| p.resources.iter().map(Listed::listed_id).collect::<Vec<_>>();
            let want_ids: Vec<_> = want.resources.iter().map(Resource::id).collect();
            assert_eq!(ids(&got), want_ids, "{shown}");
        }
        for bad in [
            &b"<html>"[..],
            b"42",
            b"null",
            b"\"x\"",
            br#"{"Resources":{}}"#,
            br#"{"Resources":"x"}"#,
            br#"{"Resources":[1]}"#,
            br#"{"Resources":[[]]}"#,
            br#"{"Resources":[{"id":"1","x":"\ud800"}]}"#,
            br#"{"Resources":[{"id":"1"}],"totalResults":1e999}"#,
            br#"{"Resources":[{"id":"1"}]} x"#,
        ] {
            let shown = String::from_utf8_lossy(bad);
            let want = ListPage::parse(bad).unwrap_err();
            let got = UserText::parse_page(bad).unwrap_err();
            assert_eq!(
                got.starts_with("not JSON"),
                want.starts_with("not JSON"),
                "{shown}: {got} / {want}"
            );
            if !want.starts_with("not JSON") {
                assert_eq!(got, want, "{shown}");
            }
        }
    }

    #[test]
    fn filter_is_escaped_and_encoded() {
        let f = eq_filter("userName", "a+b@x.io");
        assert_eq!(f, r#"userName eq "a+b@x.io""#);
        assert_eq!(
            encode_query(&[("filter", f)]),
            "filter=userName%20eq%20%22a%2Bb%40x.io%22"
        );
        assert_eq!(
            eq_filter("displayName", r#"R&D "core" \ ops"#),
            r#"displayName eq "R&D \"core\" \\ ops""#
        );
        assert_eq!(
            encode_query(&[("filter", eq_filter("displayName", "a&b=c#d"))]),
            "filter=displayName%20eq%20%22a%26b%3Dc%23d%22"
        );
    }

    #[test]
    fn segments_cannot_escape_the_path() {
        assert_eq!(encode_segment("../Groups?x#y"), "..%2FGroups%3Fx%23y");
        assert_eq!(encode_segment("1203-ab_c.d~"), "1203-ab_c.d~");
    }
}
