//! Secrets that never print, URLs made safe to print, and the one way server text reaches a
//! message.
//!
//! Every log line and error names a URL only through [`redact_url`] (or [`redact_query`] with
//! a protocol's own list of safe query keys), and a secret only leaves its [`Secret`] through
//! [`Secret::expose`] when a request is built. Text a server chose (an error body, a
//! `scimType`, a Graph error code, an HTTP library's error) reaches a message only through
//! [`Redactor::server_text`]: every secret the HTTP adapter holds is replaced in any form a
//! server may echo it in (see [`Redactor::redact`]), control characters become spaces, and the
//! text is cut to a few hundred characters. The SCIM client and the Graph client share this one
//! redaction, through the adapter.
//!
//! Pure: no IO, no clock.

use std::fmt;
use std::sync::{Arc, RwLock};

use url::Url;

pub const REDACTED: &str = "[redacted]";

/// Query parameters whose values are safe and useful in logs (paging positions). Every other
/// value (a filter names a person's email address) is redacted.
const SHOWN_QUERY_KEYS: &[&str] = &["startIndex", "count"];

/// Secrets shorter than this are not searched for: every short word would match.
const MIN_SECRET_CHARS: usize = 4;

/// How much text a server's message may take in an error: enough for a sentence and an id,
/// not enough to flood a terminal or a CI log.
pub const SERVER_TEXT_CHARS: usize = 300;

/// The longest form one character of a secret takes when a server encodes it (`&#x0002F;`,
/// `\u002F`, a 4-byte character percent-encoded is 12).
const MAX_UNIT_BYTES: usize = 12;

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

/// [`redact_url`] of a parsed URL.
pub fn redact(url: &Url) -> String {
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

/// The secrets one client holds (a SCIM token; an Entra client secret and the access tokens
/// bought with it), kept to be removed from whatever a server sends back. Cheap to clone;
/// clones share the list, so a token added later (a renewed Graph token) is redacted
/// everywhere.
#[derive(Clone, Default)]
pub struct Redactor(Arc<RwLock<Vec<Vec<char>>>>);

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Redactor({} secrets)", self.secrets().len())
    }
}

impl Redactor {
    pub fn new<'a>(secrets: impl IntoIterator<Item = &'a Secret>) -> Redactor {
        let redactor = Redactor::default();
        for s in secrets {
            redactor.add(s);
        }
        redactor
    }

    /// Also redacts `secret` from now on. The value is trimmed, as it is when a header is built.
    pub fn add(&self, secret: &Secret) {
        let chars: Vec<char> = secret.expose().trim().chars().map(fold).collect();
        if chars.len() < MIN_SECRET_CHARS {
            return;
        }
        let mut list = self.0.write().unwrap_or_else(|e| e.into_inner());
        if !list.contains(&chars) {
            list.push(chars);
        }
    }

    fn secrets(&self) -> std::sync::RwLockReadGuard<'_, Vec<Vec<char>>> {
        self.0.read().unwrap_or_else(|e| e.into_inner())
    }

    /// `text` with every secret replaced by `[redacted]`, in whichever of these forms a server
    /// (or an HTTP library quoting a header) echoes it, mixed freely character by character:
    /// as it is; upper-, lower- or otherwise re-cased; percent-encoded (`%2F` or `%2f`, UTF-8
    /// sequences too) or form-encoded (`+` for a space); JSON- or JavaScript-escaped (`\/`,
    /// `\u002F`, `\x2F`); HTML character references (`&#47;`, `&#x2F;`, and the named ones for
    /// ASCII punctuation such as `&sol;` and `&amp;`).
    pub fn redact(&self, text: &str) -> String {
        redact_prefix(text, &self.secrets(), text.len())
    }

    /// Text a server chose, made fit for a message: secrets redacted (as [`Redactor::redact`]),
    /// control characters (ESC, NUL, bidi and zero-width controls) turned into spaces,
    /// whitespace collapsed to one line, and cut to `limit` characters (`…` marks a cut).
    pub fn server_text(&self, text: &str, limit: usize) -> String {
        let end = floor_boundary(text, self.window(limit));
        self.shown(&text[..end], end < text.len(), limit)
    }

    /// [`Redactor::server_text`] of a body that may not be UTF-8 (invalid bytes become `�`).
    pub fn server_bytes(&self, body: &[u8], limit: usize) -> String {
        let end = body.len().min(self.window(limit));
        self.shown(
            &String::from_utf8_lossy(&body[..end]),
            end < body.len(),
            limit,
        )
    }

    /// How many bytes of a long text to look at: enough for `limit` characters after
    /// whitespace is collapsed, and for a secret in its longest form that starts in them.
    fn window(&self, limit: usize) -> usize {
        limit.saturating_mul(8) + self.margin()
    }

    fn margin(&self) -> usize {
        let longest = self.secrets().iter().map(Vec::len).max().unwrap_or(0);
        longest * MAX_UNIT_BYTES
    }

    /// `window` is the start of the text; `cut` says there was more. A secret may run past the
    /// window's end, so nothing is shown from its last `margin` bytes unless a match that
    /// starts before them covers them.
    fn shown(&self, window: &str, cut: bool, limit: usize) -> String {
        let stop = if cut {
            floor_boundary(window, window.len().saturating_sub(self.margin()))
        } else {
            window.len()
        };
        let redacted = redact_prefix(window, &self.secrets(), stop);
        let cleaned: String = redacted
            .chars()
            .map(|c| if is_control(c) { ' ' } else { c })
            .collect();
        let line = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
        match line.char_indices().nth(limit) {
            Some((i, _)) => format!("{}…", &line[..i]),
            None if cut && stop < window.len() => format!("{line}…"),
            None => line,
        }
    }
}

/// Characters that must not reach a terminal from a server: C0 and C1 controls (ESC starts a
/// terminal escape sequence), and the invisible format characters that reorder or hide text.
fn is_control(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}'
            | '\u{2060}'..='\u{2069}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}')
}

/// The largest char boundary of `text` at or before `at`.
fn floor_boundary(text: &str, at: usize) -> usize {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// `c` for a comparison that ignores case.
fn fold(c: char) -> char {
    if c.is_ascii() {
        c.to_ascii_lowercase()
    } else {
        c.to_lowercase().next().unwrap_or(c)
    }
}

/// `text` with every match of a secret that starts before byte `stop` replaced; the text from
/// `stop` on is dropped (but for the end of a match that starts before it).
fn redact_prefix(text: &str, secrets: &[Vec<char>], stop: usize) -> String {
    let mut out = String::with_capacity(stop.min(text.len()));
    let mut i = 0;
    while i < stop {
        let end = secrets.iter().filter_map(|s| match_at(text, i, s)).max();
        if let Some(end) = end {
            out.push_str(REDACTED);
            i = end;
            continue;
        }
        let Some(c) = text[i..].chars().next() else {
            break;
        };
        out.push(c);
        i += c.len_utf8();
    }
    out
}

/// Where a copy of `secret` (folded characters) that starts at byte `at` of `text` ends, in
/// any mix of the forms [`Redactor::redact`] lists. The forms overlap (`+` is itself or a
/// space, `&amp;` is itself or `&`), so every reachable end is followed at once, as an NFA
/// would: the cost is linear in the secret's length, never exponential.
fn match_at(text: &str, at: usize, secret: &[char]) -> Option<usize> {
    let mut ends = vec![at];
    for &want in secret {
        let mut next = Vec::new();
        for &p in &ends {
            for (c, len) in units(text, p).into_iter().flatten() {
                if fold(c) == want && !next.contains(&(p + len)) {
                    next.push(p + len);
                }
            }
        }
        if next.is_empty() {
            return None;
        }
        ends = next;
    }
    ends.into_iter().max()
}

/// What the text at byte `p` may stand for, each with the bytes it takes: the character
/// itself, and what it decodes to when it starts an escape.
fn units(text: &str, p: usize) -> [Option<(char, usize)>; 2] {
    let Some(c) = text.get(p..).and_then(|t| t.chars().next()) else {
        return [None, None];
    };
    let rest = &text.as_bytes()[p..];
    let decoded = match c {
        '+' => Some((' ', 1)),
        '%' => percent(rest),
        '\\' => backslash(rest),
        '&' => entity(rest),
        _ => None,
    };
    [Some((c, c.len_utf8())), decoded]
}

fn hex(digits: &[u8]) -> Option<u32> {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    u32::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
}

/// `%XX`, or the `%XX` run of one UTF-8 encoded character.
fn percent(b: &[u8]) -> Option<(char, usize)> {
    let byte = |i: usize| -> Option<u8> {
        let at = i * 3;
        (b.get(at) == Some(&b'%'))
            .then(|| hex(b.get(at + 1..at + 3)?))
            .flatten()
            .map(|v| v as u8)
    };
    let lead = byte(0)?;
    let n = match lead {
        0x00..=0x7F => 1,
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF7 => 4,
        _ => return None,
    };
    let bytes: Vec<u8> = (0..n).map(byte).collect::<Option<_>>()?;
    let c = std::str::from_utf8(&bytes).ok()?.chars().next()?;
    Some((c, n * 3))
}

/// A JSON or JavaScript escape: `\/`, `\\`, `\"`, `\n`…, `\uXXXX` (surrogate pairs too),
/// `\xXX`, and `\UXXXX`/`\UXXXXXXXX` (an upper-cased `\u`, or Python's long form).
fn backslash(b: &[u8]) -> Option<(char, usize)> {
    let simple = match *b.get(1)? {
        b'/' => '/',
        b'\\' => '\\',
        b'"' => '"',
        b'\'' => '\'',
        b'b' | b'B' => '\u{8}',
        b'f' | b'F' => '\u{c}',
        b'n' | b'N' => '\n',
        b'r' | b'R' => '\r',
        b't' | b'T' => '\t',
        b'x' | b'X' => return Some((char::from_u32(hex(b.get(2..4)?)?)?, 4)),
        b'u' | b'U' => {
            if b[1] == b'U'
                && let Some(c) = b.get(2..10).and_then(hex).and_then(char::from_u32)
            {
                return Some((c, 10));
            }
            let unit = hex(b.get(2..6)?)?;
            if (0xD800..0xDC00).contains(&unit) {
                let low = b
                    .get(6..8)
                    .filter(|s| s.eq_ignore_ascii_case(b"\\u"))
                    .and_then(|_| hex(b.get(8..12)?))
                    .filter(|low| (0xDC00..0xE000).contains(low))?;
                let c = char::from_u32(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))?;
                return Some((c, 12));
            }
            return Some((char::from_u32(unit)?, 6));
        }
        _ => return None,
    };
    Some((simple, 2))
}

/// HTML's named references for the characters a token or secret may hold, lower-cased (names
/// are matched without case, so an upper-cased page matches too).
const NAMED: &[(&str, char)] = &[
    ("amp", '&'),
    ("lt", '<'),
    ("gt", '>'),
    ("quot", '"'),
    ("apos", '\''),
    ("sol", '/'),
    ("bsol", '\\'),
    ("colon", ':'),
    ("semi", ';'),
    ("comma", ','),
    ("period", '.'),
    ("excl", '!'),
    ("quest", '?'),
    ("num", '#'),
    ("dollar", '$'),
    ("percnt", '%'),
    ("ast", '*'),
    ("midast", '*'),
    ("plus", '+'),
    ("equals", '='),
    ("commat", '@'),
    ("lowbar", '_'),
    ("underbar", '_'),
    ("lpar", '('),
    ("rpar", ')'),
    ("lsqb", '['),
    ("lbrack", '['),
    ("rsqb", ']'),
    ("rbrack", ']'),
    ("lcub", '{'),
    ("lbrace", '{'),
    ("rcub", '}'),
    ("rbrace", '}'),
    ("verbar", '|'),
    ("vert", '|'),
    ("verticalline", '|'),
    ("grave", '`'),
    ("diacriticalgrave", '`'),
    ("hat", '^'),
    ("tab", '\t'),
    ("newline", '\n'),
    ("nbsp", '\u{a0}'),
];

/// `&#DDD;`, `&#xHH;` (the `;` optional, as browsers read them) or a named reference.
fn entity(b: &[u8]) -> Option<(char, usize)> {
    let run = |from: usize, ok: fn(&u8) -> bool| {
        from + b
            .get(from..)
            .map_or(0, |s| s.iter().take(32).take_while(|c| ok(c)).count())
    };
    let semicolon = |end: usize| end + usize::from(b.get(end) == Some(&b';'));
    if b.get(1) == Some(&b'#') {
        let (value, end) = if matches!(b.get(2), Some(b'x' | b'X')) {
            let end = run(3, u8::is_ascii_hexdigit);
            (hex(&b[3..end])?, end)
        } else {
            let end = run(2, u8::is_ascii_digit);
            let digits = std::str::from_utf8(b.get(2..end)?).ok()?;
            (digits.parse().ok()?, end)
        };
        return Some((char::from_u32(value)?, semicolon(end)));
    }
    let end = run(1, u8::is_ascii_alphanumeric);
    if b.get(end) != Some(&b';') {
        return None;
    }
    let name = std::str::from_utf8(&b[1..end]).ok()?.to_ascii_lowercase();
    let (_, c) = NAMED.iter().find(|(n, _)| *n == name)?;
    Some((*c, end + 1))
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

    const TOKEN: &str = "2/12@Ab&c d:Zé~.x";

    #[test]
    fn item6_every_encoded_form_of_a_secret_is_redacted() {
        let r = Redactor::new([&Secret::new(format!("{TOKEN}\n"))]);
        let forms = [
            TOKEN.to_string(),
            TOKEN.to_uppercase(),
            TOKEN.to_lowercase(),
            // percent-encoded, upper and lower hex, é as UTF-8
            "2%2F12%40Ab%26c%20d%3AZ%C3%A9~.x".into(),
            "2%2f12%40ab%26c%20d%3az%c3%a9~.x".into(),
            // every character encoded
            TOKEN
                .bytes()
                .map(|b| format!("%{b:02X}"))
                .collect::<String>(),
            // form-encoded: + for the space
            "2%2F12%40Ab%26c+d%3AZ%C3%A9%7E.x".into(),
            // JSON: \/ and \u escapes, upper-cased too
            r"2\/12@Ab&c d:Z\u00e9~.x".into(),
            r"\u0032\u002F\u0031\u0032\u0040\u0041\u0062\u0026\u0063\u0020\u0064\u003a\u005A\u00E9\u007e\u002e\u0078".into(),
            r"2\/12@AB&C D:Z\U00E9~.X".into(),
            r"2\x2f12@Ab&c d:Zé~.x".into(),
            // HTML references
            "2&#47;12&#64;Ab&amp;c&#32;d&#58;Z&eacute;~.x".replace("&eacute;", "&#233;"),
            "2&#x2F;12&#x40;Ab&#x26;c&#x20;d&#x3a;Z&#xE9;~.x".into(),
            "2&sol;12&commat;Ab&amp;c d&colon;Zé~&period;x".into(),
            "2&SOL;12@AB&AMP;C D&COLON;ZÉ~.X".into(),
        ];
        for form in forms {
            let text = format!("bad token \"Bearer {form}\" (ESC\u{1b}[31m)");
            let shown = r.server_text(&text, SERVER_TEXT_CHARS);
            assert_eq!(
                shown, "bad token \"Bearer [redacted]\" (ESC [31m)",
                "form {form}"
            );
            assert_eq!(r.redact(&form), REDACTED, "form {form}");
        }
    }

    #[test]
    fn near_misses_are_left_alone() {
        let r = Redactor::new([&Secret::new(TOKEN)]);
        for text in [
            "2/12@Ab&c d:Zé~.",
            "2/12@Ab&c  d:Zé~.x",
            "2%2G12@Ab&c d:Zé~.x",
        ] {
            assert_eq!(r.redact(text), text);
        }
        // A short secret is not searched for.
        let short = Redactor::new([&Secret::new("abc")]);
        assert_eq!(short.redact("abc ABC"), "abc ABC");
    }

    #[test]
    fn several_secrets_and_ones_added_later() {
        let r = Redactor::new([&Secret::new("client~secret.1")]);
        let copy = r.clone();
        r.add(&Secret::new("eyJ0eXAi.access.token"));
        assert_eq!(
            copy.redact("client%7Esecret.1 then EYJ0EXAI.ACCESS.TOKEN"),
            "[redacted] then [redacted]"
        );
        assert_eq!(format!("{r:?}"), "Redactor(2 secrets)");
    }

    #[test]
    fn item6_server_text_is_one_short_line_without_control_characters() {
        let r = Redactor::new([&Secret::new(TOKEN)]);
        let text = "line one\r\n\tline\u{7}two\u{202e}\u{200b}three\u{0}";
        assert_eq!(r.server_text(text, 300), "line one line two three");
        let long = "x".repeat(10_000);
        let shown = r.server_text(&long, 300);
        assert_eq!(shown.chars().count(), 301);
        assert!(shown.ends_with('…'));
        // A secret straddling the cut is redacted whole, not shown in part.
        for at in [290, 295, 299, 300, 2300, 2390, 2400, 2500] {
            let body = format!("{}{TOKEN}{}", "y".repeat(at), "z".repeat(5000));
            for shown in [
                r.server_text(&body, 300),
                r.server_bytes(body.as_bytes(), 300),
            ] {
                assert!(!shown.contains("2/12"), "at {at}: {shown}");
            }
            let spaced = format!("{}{TOKEN}", " ".repeat(at * 4));
            let shown = r.server_text(&spaced, 300);
            assert!(!shown.contains("2/12"), "at {at}: {shown}");
        }
        assert_eq!(r.server_bytes(b"caf\xff ok", 300), "caf\u{fffd} ok");
    }

    #[test]
    fn matching_stays_linear_on_hostile_text() {
        // `&amp;` is both itself (five characters) and `&`: a backtracking matcher would try
        // 2^20 ways through this secret at every position.
        let r = Redactor::new([&Secret::new("&amp;".repeat(20))]);
        let text = format!("{}x", "&amp;amp;".repeat(20_000));
        assert!(r.redact(&text).contains(REDACTED));
    }
}
