//! The client's errors. Each names the method and the redacted URL; none holds the token.

use std::fmt;

use serde_json::Value;

use super::retry::GiveUp;
use super::transport::Method;

/// Everything that can go wrong talking to the SCIM server.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ClientError {
    /// The configuration cannot work (bad base URL, empty token, zero limits).
    #[error("invalid SCIM client configuration: {0}")]
    Config(String),

    /// The server answered with an error status.
    #[error(transparent)]
    Scim(#[from] ScimError),

    /// No usable answer: connection refused or dropped, or a timeout.
    #[error("{method} {url}: {kind}{}: {message}", attempts_note(*attempts, *why))]
    Transport {
        method: Method,
        url: String,
        kind: TransportKind,
        attempts: u32,
        why: GiveUp,
        message: String,
    },

    /// The answer is not the SCIM the client expected (not JSON, a list without ids, …).
    #[error("{method} {url}: the server's answer is not valid SCIM: {detail}")]
    InvalidResponse {
        method: Method,
        url: String,
        detail: String,
    },

    /// A request the client refuses to send (an id that is not a single path segment, an
    /// `If-Match` value that is not a header value).
    #[error("{method} {url}: refusing to send: {detail}")]
    InvalidRequest {
        method: Method,
        url: String,
        detail: String,
    },

    /// A listing ended with fewer resources than the server's `totalResults`. Planning on a
    /// partial list would create users that exist, so this is an error.
    #[error(
        "GET {url}: read {got} of the {expected} resources the server reported; the list changed \
         while it was read or the server's paging is broken: run again"
    )]
    IncompleteList {
        url: String,
        got: u64,
        expected: u64,
    },
}

impl ClientError {
    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Scim(e) => Some(e.status),
            _ => None,
        }
    }
}

fn attempts_note(attempts: u32, why: GiveUp) -> String {
    match why {
        GiveUp::MayHaveApplied => {
            " (not retried: the server may have acted on it; run plan again to see)".to_string()
        }
        _ if attempts > 1 => format!(" (gave up after {attempts} attempts)"),
        _ => String::new(),
    }
}

/// How a request failed without an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    Connect,
    Timeout,
    ConnectionLost,
    Other,
}

impl fmt::Display for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportKind::Connect => "could not connect",
            TransportKind::Timeout => "timed out",
            TransportKind::ConnectionLost => "connection lost",
            TransportKind::Other => "request failed",
        })
    }
}

/// An error status from the server, with the detail from its body in either shape Asana may
/// use: RFC 7644 (`detail`, `status`, `scimType`) or Asana's REST shape
/// (`errors: [{message, help, phrase}]`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{method} {url}: {status}{}{}: {detail}{}",
    reason(*status),
    scim_type.as_ref().map(|t| format!(" ({t})")).unwrap_or_default(),
    if *attempts > 1 { format!(" (gave up after {attempts} attempts)") } else { String::new() })]
pub struct ScimError {
    pub status: u16,
    pub scim_type: Option<String>,
    pub detail: String,
    pub method: Method,
    /// The request URL, redacted.
    pub url: String,
    /// How many times the request was sent.
    pub attempts: u32,
}

impl ScimError {
    /// What to do about it, for the command layer to print under the error.
    pub fn hint(&self) -> Option<&'static str> {
        Some(match self.status {
            401 => "check the service-account token (it may be wrong, revoked or expired)",
            403 => {
                "the token lacks access: use a service account with the SCIM user-provisioning scope"
            }
            429 => "Asana's rate limit held: lower requests_per_minute or run again later",
            500..=599 => "Asana failed to answer: run again later",
            _ => return None,
        })
    }
}

fn reason(status: u16) -> String {
    reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .map(|r| format!(" {r}"))
        .unwrap_or_default()
}

/// The `scimType` and a one-line detail from an error body of either shape, or its text.
pub(crate) fn parse_error_body(status: u16, body: &[u8]) -> (Option<String>, String) {
    let fallback = || {
        reqwest::StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("error")
            .to_lowercase()
    };
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        let text = String::from_utf8_lossy(body);
        let text = one_line(&text);
        return (None, if text.is_empty() { fallback() } else { text });
    };
    let scim_type = value
        .get("scimType")
        .and_then(Value::as_str)
        .map(str::to_string);
    let mut details = Vec::new();
    if let Some(d) = value.get("detail").and_then(Value::as_str) {
        details.push(one_line(d));
    }
    if let Some(errors) = value.get("errors").and_then(Value::as_array) {
        for e in errors {
            let message = e.get("message").and_then(Value::as_str).map(one_line);
            let phrase = e.get("phrase").and_then(Value::as_str).map(one_line);
            match (message, phrase) {
                (Some(m), Some(p)) => details.push(format!("{m} (phrase: {p})")),
                (Some(m), None) => details.push(m),
                (None, Some(p)) => details.push(format!("phrase: {p}")),
                (None, None) => {}
            }
        }
    }
    details.retain(|d| !d.is_empty());
    let detail = if details.is_empty() {
        fallback()
    } else {
        details.join("; ")
    };
    (scim_type, detail)
}

/// Whitespace collapsed and cut to 300 characters, so a body cannot flood a terminal.
fn one_line(text: &str) -> String {
    let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match joined.char_indices().nth(300) {
        Some((i, _)) => format!("{}…", &joined[..i]),
        None => joined,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_shapes() {
        let cases: &[(u16, &str, Option<&str>, &str)] = &[
            (
                409,
                r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"detail":"User already exists","status":"409","scimType":"uniqueness"}"#,
                Some("uniqueness"),
                "User already exists",
            ),
            (
                400,
                r#"{"detail":"bad filter","status":400}"#,
                None,
                "bad filter",
            ),
            (
                429,
                r#"{"errors":[{"message":"You've made too many requests and hit a rate limit.","help":"https://…"}]}"#,
                None,
                "You've made too many requests and hit a rate limit.",
            ),
            (
                500,
                r#"{"errors":[{"message":"Server Error","phrase":"6 sad squid snuggle softly"},{"message":"again"}]}"#,
                None,
                "Server Error (phrase: 6 sad squid snuggle softly); again",
            ),
            (404, "", None, "not found"),
            (404, "{}", None, "not found"),
            (
                502,
                "<html>\n  Bad   gateway\n</html>",
                None,
                "<html> Bad gateway </html>",
            ),
        ];
        for (status, body, scim_type, detail) in cases {
            let (t, d) = parse_error_body(*status, body.as_bytes());
            assert_eq!(t.as_deref(), *scim_type, "{body}");
            assert_eq!(d, *detail, "{body}");
        }
    }

    #[test]
    fn long_bodies_are_cut() {
        let body = "x".repeat(10_000);
        let (_, d) = parse_error_body(500, body.as_bytes());
        assert_eq!(d.chars().count(), 301);
    }

    #[test]
    fn display_reads_as_one_line() {
        let e = ScimError {
            status: 409,
            scim_type: Some("uniqueness".into()),
            detail: "User already exists".into(),
            method: Method::Post,
            url: "https://app.asana.com/api/1.0/scim/Users".into(),
            attempts: 1,
        };
        assert_eq!(
            e.to_string(),
            "POST https://app.asana.com/api/1.0/scim/Users: 409 Conflict (uniqueness): User already exists"
        );
        let e = ScimError {
            status: 503,
            scim_type: None,
            detail: "service unavailable".into(),
            method: Method::Get,
            url: "https://h/Users".into(),
            attempts: 6,
        };
        assert_eq!(
            e.to_string(),
            "GET https://h/Users: 503 Service Unavailable: service unavailable (gave up after 6 attempts)"
        );
    }
}
