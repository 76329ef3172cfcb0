//! The client's errors. Each names the method and the redacted URL; none holds the token.

use std::time::Duration;

use serde_json::Value;

use super::paging::{ListStop, grouped};
use crate::http::Method;
use crate::redact::{Redactor, SERVER_TEXT_CHARS};
pub use crate::retry::{GiveUp, RefusedWait, TransportKind, plain_duration};

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

    /// A listing was stopped before its end: its pages do not add up, it is larger than roster
    /// reads, or it ran past its deadline (see [`ListStop`]).
    #[error("GET {url}: stopped reading the list after {} and {}: {why}",
        counted(*pages, "page"), counted(*got, "resource"))]
    ListStopped {
        url: String,
        got: u64,
        pages: u64,
        why: ListStop,
    },

    /// A request of a read with a deadline would have been sent, or retried, after it. Lists
    /// report it as [`ClientError::ListStopped`].
    #[error("{method} {url}: not finished within {} (the deadline for one read)",
        plain_duration(*limit))]
    Deadline {
        method: Method,
        url: String,
        limit: Duration,
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

/// An error status from the server, with the detail from its body in either shape Asana may
/// use: RFC 7644 (`detail`, `status`, `scimType`) or Asana's REST shape
/// (`errors: [{message, help, phrase}]`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{method} {url}: {status}{}{}: {detail}{}{}",
    reason(*status),
    scim_type.as_ref().map(|t| format!(" ({t})")).unwrap_or_default(),
    if *attempts > 1 { format!(" (gave up after {attempts} attempts)") } else { String::new() },
    refused_wait.map(|w| format!("; {w}")).unwrap_or_default())]
pub struct ScimError {
    pub status: u16,
    pub scim_type: Option<String>,
    pub detail: String,
    pub method: Method,
    /// The request URL, redacted.
    pub url: String,
    /// How many times the request was sent.
    pub attempts: u32,
    /// Set when roster stopped because the server asked for a longer wait than it makes.
    pub refused_wait: Option<RefusedWait>,
}

impl ScimError {
    /// What to do about it, for the command layer to print under the error.
    pub fn hint(&self) -> Option<&'static str> {
        if self.refused_wait.is_some() {
            return Some(
                "run roster again once the server's wait is over; if it keeps asking for waits \
                 this long, ask whoever runs it (Asana support, for Asana) why",
            );
        }
        Some(match self.status {
            401 => "check the service-account token (it may be wrong, revoked or expired)",
            403 => {
                "the token lacks access: use a service account with the SCIM user-provisioning scope"
            }
            429 => {
                "the rate limit held through roster's waits and retries: run again later (the \
                 limit is per token, so other tools using the same token count against it)"
            }
            500..=599 => "the server failed to answer: run again later",
            _ => return None,
        })
    }
}

/// `1 page`, `2,500 pages`.
fn counted(n: u64, what: &str) -> String {
    let plural = if n == 1 { "" } else { "s" };
    format!("{} {what}{plural}", grouped(n))
}

fn reason(status: u16) -> String {
    crate::http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .map(|r| format!(" {r}"))
        .unwrap_or_default()
}

/// The `scimType` and a one-line detail from an error body of either shape, or its text. Every
/// piece the server chose goes through `redactor`: secrets removed in any form, control
/// characters stripped, cut to [`SERVER_TEXT_CHARS`].
pub(crate) fn parse_error_body(
    status: u16,
    body: &[u8],
    redactor: &Redactor,
) -> (Option<String>, String) {
    let fallback = || {
        crate::http::StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("error")
            .to_lowercase()
    };
    let shown = |text: &str| redactor.server_text(text, SERVER_TEXT_CHARS);
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        let text = redactor.server_bytes(body, SERVER_TEXT_CHARS);
        return (None, if text.is_empty() { fallback() } else { text });
    };
    let scim_type = value
        .get("scimType")
        .and_then(Value::as_str)
        .map(|t| redactor.server_text(t, SCIM_TYPE_CHARS))
        .filter(|t| !t.is_empty());
    let mut details = Vec::new();
    if let Some(d) = value.get("detail").and_then(Value::as_str) {
        details.push(shown(d));
    }
    if let Some(errors) = value.get("errors").and_then(Value::as_array) {
        for e in errors.iter().take(10) {
            let message = e.get("message").and_then(Value::as_str).map(shown);
            let phrase = e.get("phrase").and_then(Value::as_str).map(shown);
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
        // Each piece is redacted whole; the joined line is cut like one.
        cut(&details.join("; "), SERVER_TEXT_CHARS)
    };
    (scim_type, detail)
}

/// A `scimType` is a keyword (`uniqueness`); a longer one is cut to this.
const SCIM_TYPE_CHARS: usize = 40;

/// `text` cut to `limit` characters, `…` marking the cut.
fn cut(text: &str, limit: usize) -> String {
    match text.char_indices().nth(limit) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
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
            let (t, d) = parse_error_body(*status, body.as_bytes(), &Redactor::default());
            assert_eq!(t.as_deref(), *scim_type, "{body}");
            assert_eq!(d, *detail, "{body}");
        }
    }

    #[test]
    fn long_bodies_are_cut() {
        let body = "x".repeat(10_000);
        let (_, d) = parse_error_body(500, body.as_bytes(), &Redactor::default());
        assert_eq!(d.chars().count(), 301);
    }

    #[test]
    fn item6_every_piece_of_an_error_body_is_redacted() {
        let token = "0/Tok3n:abc/DEF";
        let r = Redactor::new([&crate::redact::Secret::new(token)]);
        let body = serde_json::json!({
            "scimType": "0%2Ftok3n%3Aabc%2Fdef",
            "detail": format!("{}\u{1b}[2J 0\\/Tok3n:abc\\/DEF", "x".repeat(200)),
            "errors": [{"message": "0&#x2F;TOK3N:ABC&#x2F;DEF", "phrase": "0&sol;tok3n&colon;abc/def"}],
        });
        let (t, d) = parse_error_body(400, body.to_string().as_bytes(), &r);
        assert_eq!(t.as_deref(), Some("[redacted]"));
        assert!(!d.to_lowercase().contains("tok3n"), "{d}");
        assert!(!d.contains('\u{1b}'), "{d}");
        assert_eq!(d.matches("[redacted]").count(), 3, "{d}");
        let (_, d) = parse_error_body(502, b"<p>0&#47;Tok3n&#58;abc&#47;DEF</p>", &r);
        assert_eq!(d, "<p>[redacted]</p>");
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
            refused_wait: None,
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
            refused_wait: None,
        };
        assert_eq!(
            e.to_string(),
            "GET https://h/Users: 503 Service Unavailable: service unavailable (gave up after 6 attempts)"
        );
    }
}
