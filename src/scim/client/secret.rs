//! Secrets that never print, and URLs made safe to print.
//!
//! Every log line and error the client produces names a URL only through [`redact_url`], and the
//! token only leaves its [`Secret`] through [`Secret::expose`] when the Authorization header is
//! built.

use std::fmt;

use url::Url;

const REDACTED: &str = "[redacted]";

/// Query parameters whose values are safe and useful in logs (paging positions). Every other
/// value (a filter names a person's email address) is redacted.
const SHOWN_QUERY_KEYS: &[&str] = &["startIndex", "count"];

/// A bearer token. `Debug` and `Display` print `[redacted]`; [`Secret::expose`] is the only way
/// to read it.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret value. Call it only to build the Authorization header.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Secret {
        Secret(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Secret {
        Secret(value.to_string())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

/// `url` made safe for a log line or an error: scheme, host, port and path are kept; user
/// information and the fragment are dropped; query keys are kept and their values replaced by
/// `[redacted]` (except the paging positions `startIndex` and `count`).
pub fn redact_url(url: &str) -> String {
    match Url::parse(url) {
        Ok(url) => redact(&url),
        Err(_) => "[unparseable url]".to_string(),
    }
}

pub(crate) fn redact(url: &Url) -> String {
    redact_query(url, |key, value| {
        SHOWN_QUERY_KEYS.contains(&key)
            && !value.is_empty()
            && value.chars().all(|c| c.is_ascii_digit())
    })
}

/// `url` for a log line or an error: scheme, host, port and path; each query key kept (or
/// `[redacted]` when it is not a plain name) with its value replaced by `[redacted]` unless
/// `show(key, value)` says it is safe. User information and the fragment are dropped.
pub fn redact_query(url: &Url, show: impl Fn(&str, &str) -> bool) -> String {
    let mut out = format!("{}://{}", url.scheme(), url.host_str().unwrap_or(""));
    if let Some(port) = url.port() {
        out.push_str(&format!(":{port}"));
    }
    out.push_str(url.path());
    if url.query().is_some() {
        let pairs: Vec<String> = url
            .query_pairs()
            .map(|(key, value)| {
                let plain_key = !key.is_empty()
                    && key
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '$' | '_' | '.'));
                if !plain_key {
                    format!("{REDACTED}={REDACTED}")
                } else if show(&key, &value) {
                    format!("{key}={value}")
                } else {
                    format!("{key}={REDACTED}")
                }
            })
            .collect();
        out.push('?');
        out.push_str(&pairs.join("&"));
    }
    out
}

/// `text` with every occurrence of the secret replaced: a server that echoes the request (or a
/// transport error that quotes a header) must not leak the token into an error.
pub(crate) fn scrub(text: &str, secret: &Secret) -> String {
    if secret.0.len() < 4 {
        return text.to_string();
    }
    text.replace(secret.expose(), REDACTED)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_prints() {
        let s = Secret::new("0/abcdef123456");
        assert_eq!(format!("{s}"), "[redacted]");
        assert_eq!(format!("{s:?}"), "[redacted]");
        assert_eq!(format!("{:?}", Some(s.clone())), "Some([redacted])");
        assert_eq!(s.expose(), "0/abcdef123456");
    }

    #[test]
    fn redact_url_cases() {
        let cases = [
            (
                "https://app.asana.com/api/1.0/scim/Users",
                "https://app.asana.com/api/1.0/scim/Users",
            ),
            (
                "https://user:pass@example.com:8443/scim/Users?filter=userName%20eq%20%22a%40b.io%22&startIndex=101&count=100#frag",
                "https://example.com:8443/scim/Users?filter=[redacted]&startIndex=101&count=100",
            ),
            (
                "http://127.0.0.1:4000/Users?access_token=s3cr3t",
                "http://127.0.0.1:4000/Users?access_token=[redacted]",
            ),
            (
                "http://[::1]:80/x?count=abc&we%20ird=1",
                "http://[::1]/x?count=[redacted]&[redacted]=[redacted]",
            ),
            ("not a url", "[unparseable url]"),
        ];
        for (input, want) in cases {
            assert_eq!(redact_url(input), want, "{input}");
        }
    }

    #[test]
    fn scrub_replaces_the_token() {
        let s = Secret::new("tok-123456");
        assert_eq!(
            scrub("Bearer tok-123456 rejected", &s),
            "Bearer [redacted] rejected"
        );
    }
}
