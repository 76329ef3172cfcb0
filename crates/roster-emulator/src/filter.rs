//! The one filter form Asana documents: `ATTRIBUTE eq "value"`, on `userName` for /Users and
//! `displayName` for /Groups (reference §1.5).
//!
//! Parsing only. Anything richer (`co`, `and`, other attributes) must stay a 400 `invalidFilter`,
//! so a client that depends on it fails here rather than against Asana.

use super::error::ScimError;

/// A parsed `attr eq "value"` filter; the store compares `value` case-insensitively, as
/// `userName` and `displayName` are not case-exact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EqFilter {
    pub value: String,
}

/// Parses `filter` for a collection whose only filterable attribute is `attr` (schema `urn`,
/// which may qualify the name; empty for none).
pub fn parse(filter: &str, attr: &str, urn: &str) -> Result<EqFilter, ScimError> {
    let refuse = || {
        ScimError::invalid_filter(format!(
            "unsupported filter `{filter}`: Asana supports only `{attr} eq \"…\"` here"
        ))
    };
    let text = filter.trim();
    let (name, rest) = text.split_once(char::is_whitespace).ok_or_else(refuse)?;
    // RFC 7644 §3.10 allows the attribute to be qualified with its schema URN.
    let name = match name.get(..urn.len()) {
        Some(prefix) if !urn.is_empty() && prefix.eq_ignore_ascii_case(urn) => {
            name[urn.len()..].strip_prefix(':').ok_or_else(refuse)?
        }
        _ => name,
    };
    if !name.eq_ignore_ascii_case(attr) {
        return Err(refuse());
    }
    let rest = rest.trim_start();
    let (op, operand) = rest.split_once(char::is_whitespace).ok_or_else(refuse)?;
    if !op.eq_ignore_ascii_case("eq") {
        return Err(refuse());
    }
    // The operand must be exactly one JSON string; `and`/`or` after it makes this fail.
    let value: String = serde_json::from_str(operand.trim()).map_err(|_| refuse())?;
    Ok(EqFilter { value })
}

#[cfg(test)]
mod tests {
    use super::*;

    const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

    fn check(filter: &str, expect: Result<&str, ()>) {
        let got = parse(filter, "userName", USER);
        match (got, expect) {
            (Ok(f), Ok(v)) => assert_eq!(f.value, v, "{filter}"),
            (Err(e), Err(())) => {
                assert_eq!(e.status, 400);
                assert_eq!(e.scim_type, Some("invalidFilter"), "{filter}");
            }
            (got, expect) => panic!("{filter}: got {got:?}, expected {expect:?}"),
        }
    }

    #[test]
    fn accepts_username_eq_in_any_case() {
        check(r#"userName eq "a@x.io""#, Ok("a@x.io"));
        check(r#"  USERNAME   EQ   "A@x.io"  "#, Ok("A@x.io"));
        check(&format!(r#"{USER}:userName eq "a@x.io""#), Ok("a@x.io"));
        check(r#"userName eq "quote\"d""#, Ok("quote\"d"));
    }

    #[test]
    fn refuses_everything_else() {
        for f in [
            "",
            "userName",
            r#"userName co "a""#,
            r#"userName sw "a""#,
            r#"externalId eq "a""#,
            r#"emails.value eq "a@x.io""#,
            r#"userName eq "a" and active eq true"#,
            r#"userName eq a@x.io"#,
            "userName pr",
            r#"urn:other:userName eq "a""#,
        ] {
            check(f, Err(()));
        }
    }
}
