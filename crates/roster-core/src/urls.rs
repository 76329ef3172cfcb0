//! The URL rules every part shares: what counts as loopback, which URLs a token or secret may
//! travel to, and how two spellings of one base URL compare.
//!
//! One rule, used by validation (roster.yaml's URLs), the IO edge (the pinned target), the
//! Entra cloud table and the HTTP adapter (the origins it sends to): loopback is the host
//! `localhost` (any case; the parser lower-cases it), 127.0.0.0/8 or `::1`, as the URL parser
//! reads the host, so `http://127.0.0.1.evil.com` and `http://127.0.0.1@evil.com` are not
//! loopback. Nothing is resolved: a name that resolves to 127.0.0.1 is not loopback here.
//!
//! Pure: URLs are parsed, never fetched.

use url::{Host, Url};

/// `localhost`, 127.0.0.0/8 or `::1`.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Whether a token may travel to `url`: https to any host, or plain http to a loopback host
/// only (the emulators, tests).
pub fn is_secure_or_loopback(url: &Url) -> bool {
    match url.scheme() {
        "https" => url.host_str().is_some_and(|h| !h.is_empty()),
        "http" => is_loopback(url),
        _ => false,
    }
}

/// `https://…`, or `http://` to a loopback host only (`localhost`, 127.0.0.0/8, `::1`). The
/// scheme and host are read as a URL parser reads them, so `HTTP://LOCALHOST` is loopback and
/// `http://127.0.0.1.evil.com` or `http://127.0.0.1@evil.com` are not.
pub fn check_url(url: &str) -> Result<(), String> {
    let Ok(parsed) = Url::parse(url) else {
        return Err(format!("`{url}` is not an http(s) URL"));
    };
    match parsed.scheme() {
        _ if is_secure_or_loopback(&parsed) => Ok(()),
        "http" => Err(format!(
            "plain http:// is refused for `{}`: tokens would travel unencrypted",
            parsed.host_str().unwrap_or_default()
        )),
        _ => Err(format!("`{url}` is not an http(s) URL")),
    }
}

/// A base URL: [`check_url`], and nothing after the path (a query or fragment would be lost
/// when paths are appended).
pub fn check_base_url(url: &str) -> Result<(), String> {
    check_url(url)?;
    if url.contains(['?', '#']) {
        return Err(format!(
            "`{url}` has a query or fragment; give the base URL only"
        ));
    }
    Ok(())
}

/// A base URL in one spelling, so that two can be compared: what `url` parses it into (scheme
/// and host lower-cased, an IP address in canonical form, the scheme's default port dropped,
/// `.` and `..` segments resolved), without trailing slashes. The path is otherwise kept as
/// written: paths are case-sensitive. Refuses what is not a base URL: no host, user
/// information, a query or a fragment.
///
/// `https://APP.asana.com:443/api/1.0/scim/` and `https://app.asana.com/api/1.0/scim` both
/// give `https://app.asana.com/api/1.0/scim`.
pub fn normalize_url(url: &str) -> Result<String, String> {
    let parsed = Url::parse(url).map_err(|e| format!("`{url}` is not a URL ({e})"))?;
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(format!("`{url}` has no host"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(format!(
            "`{url}` holds user information; the token is passed separately"
        ));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(format!(
            "`{url}` has a query or fragment; give the base URL only"
        ));
    }
    Ok(url_identity(&parsed))
}

/// What names the server in a parsed URL: scheme and host (lowercased by the parser), the port
/// unless it is the scheme's default, and the path without a trailing slash. Credentials, query
/// and fragment are left out.
pub fn url_identity(parsed: &Url) -> String {
    let mut out = format!(
        "{}://{}",
        parsed.scheme(),
        parsed.host_str().unwrap_or_default()
    );
    if let Some(port) = parsed.port() {
        out.push_str(&format!(":{port}"));
    }
    out.push_str(parsed.path().trim_end_matches('/'));
    out
}

/// Whether two URLs name the same target: equal after [`normalize_url`] (equal as written
/// when either is not a base URL).
pub fn same_url(a: &str, b: &str) -> bool {
    match (normalize_url(a), normalize_url(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Whether `a` and `b` are on the same origin: scheme, host and port (the scheme's default
/// port when none is written).
pub fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn issue12_one_loopback_rule() {
        for yes in [
            "http://localhost/x",
            "http://LOCALHOST:8080/x",
            "http://127.0.0.1:9/",
            "http://127.5.0.1/",
            "http://0x7f.1/",
            "http://[::1]:3000/",
            "https://localhost/",
        ] {
            assert!(is_loopback(&url(yes)), "{yes}");
        }
        for no in [
            "http://localhost.example.com/",
            "http://127.0.0.1.evil.com/",
            "http://127.0.0.1@evil.com/",
            "http://10.0.0.1/",
            "http://[::ffff:10.0.0.1]/",
            "http://app.asana.com/",
            "file:///etc/passwd",
        ] {
            assert!(!is_loopback(&url(no)), "{no}");
        }
    }

    #[test]
    fn urls_refuse_plain_http_except_loopback() {
        assert!(check_url("https://app.asana.com/api/1.0/scim").is_ok());
        assert!(check_url("http://127.0.0.1:8080/api/1.0/scim").is_ok());
        assert!(check_url("http://localhost/api").is_ok());
        assert!(check_url("http://[::1]:9/x").is_ok());
        assert!(check_url("http://example.com/scim").is_err());
        assert!(check_url("http://127.0.0.1.evil.com/").is_err());
        assert!(check_url("http://127.0.0.1@evil.com/").is_err());
        assert!(check_url("HTTP://LOCALHOST:8080/api").is_ok());
        assert!(check_url("https://").is_err());
        assert!(check_url("ftp://x").is_err());
        assert_eq!(
            check_url("http://example.com/scim").unwrap_err(),
            "plain http:// is refused for `example.com`: tokens would travel unencrypted"
        );
        assert!(check_base_url("https://graph.microsoft.us").is_ok());
        assert!(check_base_url("https://graph.microsoft.com/?x=1").is_err());
    }

    #[test]
    fn urls_are_compared_after_normalisation() {
        let canonical = "https://app.asana.com/api/1.0/scim";
        for same in [
            "https://app.asana.com/api/1.0/scim",
            "https://APP.Asana.com/api/1.0/scim/",
            "HTTPS://app.asana.com:443/api/1.0/scim//",
            "https://app.asana.com/api/1.0/x/../scim",
        ] {
            assert_eq!(normalize_url(same).as_deref(), Ok(canonical), "{same}");
            assert!(same_url(same, canonical), "{same}");
        }
        assert_eq!(
            normalize_url("http://LOCALHOST:80/scim/").as_deref(),
            Ok("http://localhost/scim")
        );
        for different in [
            "https://app.asana.com:8443/api/1.0/scim",
            "http://app.asana.com/api/1.0/scim",
            "https://app.asana.com/api/1.0/SCIM",
            "https://app.asana.com.evil.example/api/1.0/scim",
        ] {
            assert!(!same_url(different, canonical), "{different}");
        }
        for refused in [
            "https://user:pw@app.asana.com/scim",
            "https://app.asana.com/scim?x=1",
            "https://app.asana.com/scim#f",
            "not a url",
        ] {
            assert!(normalize_url(refused).is_err(), "{refused}");
        }
    }

    #[test]
    fn origins_compare_scheme_host_and_port() {
        let a = url("https://graph.microsoft.com/v1.0/users");
        assert!(same_origin(&a, &url("https://GRAPH.microsoft.com:443/x")));
        assert!(!same_origin(&a, &url("http://graph.microsoft.com/x")));
        assert!(!same_origin(&a, &url("https://graph.microsoft.com:8443/x")));
        assert!(!same_origin(&a, &url("https://graph.microsoft.com.evil/x")));
    }
}
