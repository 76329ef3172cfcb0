//! What a SCIM server says it supports, read leniently from its `/ServiceProviderConfig`
//! (RFC 7643 §5). Pure: the client reads the document, this decides what it means.

use serde_json::Value;

/// The features roster acts on. Anything a server does not advertise is assumed as in
/// [`Features::ASSUMED`]: RFC 7643 makes `patch`, `filter` and `etag` required, but servers
/// leave them out, and PATCH and filtering are what almost every SCIM client relies on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Features {
    /// PATCH (RFC 7644 §3.5.2). Without it, apply sends the whole resource with PUT.
    pub patch: bool,
    /// `filter` on list requests (RFC 7644 §3.4.2.2). Without it, roster reads the list and
    /// matches userName or displayName itself.
    pub filter: bool,
    /// The most resources one page may hold: `filter.maxResults`, or RFC 9865's
    /// `pagination.maxPageSize` when that is smaller.
    pub max_results: Option<u32>,
    /// ETags (`meta.version`); apply sends `If-Match` with the version the plan saw.
    pub etag: bool,
}

impl Features {
    /// What roster assumes of a server that advertises nothing.
    pub const ASSUMED: Features = Features {
        patch: true,
        filter: true,
        max_results: None,
        etag: false,
    };

    /// Asana's documented behaviour: PATCH and `userName`/`displayName` filters. Its
    /// `/ServiceProviderConfig` is not documented (reference §7), so it is not needed to plan.
    pub const ASANA: Features = Features::ASSUMED;

    /// Reads a `/ServiceProviderConfig` document. `supported` may be a boolean or the string
    /// `"true"`/`"false"`; a missing or unreadable flag keeps the assumed value.
    pub fn from_config(config: &Value) -> Features {
        let supported =
            |key: &str, assumed: bool| match config.get(key).and_then(|f| f.get("supported")) {
                Some(Value::Bool(b)) => *b,
                Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => true,
                Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => false,
                _ => assumed,
            };
        let count = |v: Option<&Value>| -> Option<u32> {
            let n = match v? {
                Value::Number(n) => n.as_u64()?,
                Value::String(s) => s.trim().parse().ok()?,
                _ => return None,
            };
            (n > 0).then(|| u32::try_from(n).unwrap_or(u32::MAX))
        };
        let max_results = [
            count(config.get("filter").and_then(|f| f.get("maxResults"))),
            count(config.get("pagination").and_then(|p| p.get("maxPageSize"))),
        ]
        .into_iter()
        .flatten()
        .min();
        Features {
            patch: supported("patch", Features::ASSUMED.patch),
            filter: supported("filter", Features::ASSUMED.filter),
            max_results,
            etag: supported("etag", Features::ASSUMED.etag),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_every_flag_leniently() {
        let cases = [
            (json!({}), Features::ASSUMED),
            (
                json!({"patch": {"supported": false}, "filter": {"supported": "False", "maxResults": 200},
                       "etag": {"supported": true}}),
                Features {
                    patch: false,
                    filter: false,
                    max_results: Some(200),
                    etag: true,
                },
            ),
            (
                // RFC 9865 cursor paging's page cap is honoured too, the smaller one wins.
                json!({"filter": {"supported": true, "maxResults": "1000"},
                       "pagination": {"maxPageSize": 50}, "etag": {"supported": "TRUE"}}),
                Features {
                    max_results: Some(50),
                    etag: true,
                    ..Features::ASSUMED
                },
            ),
            (
                // Nonsense keeps the assumption rather than switching a feature off.
                json!({"patch": {"supported": "sometimes"}, "filter": {"maxResults": 0}, "etag": true}),
                Features::ASSUMED,
            ),
        ];
        for (config, expected) in cases {
            assert_eq!(Features::from_config(&config), expected, "{config}");
        }
    }
}
