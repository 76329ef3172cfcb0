//! SCIM resources and list responses, parsed leniently.
//!
//! Asana's documented examples differ from RFC 7644 in small ways (ids as numbers, list
//! responses without `startIndex`/`itemsPerPage`), so resources stay `serde_json::Value` and
//! only the fields the client needs are read, accepting either form. No IO here.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;

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
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ListPage {
    pub resources: Vec<Resource>,
    pub total_results: Option<u64>,
    pub start_index: Option<u64>,
    pub items_per_page: Option<u64>,
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
