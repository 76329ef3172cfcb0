//! String transformations behind the text functions (case, diacritics, title case, encodings).
//!
//! Pure `&str -> String` helpers with no knowledge of expressions or values, so they can be
//! tested alone. They must never depend on the process locale: Entra evaluates with the
//! invariant culture.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Letters that don't decompose under NFD but that Entra's NormalizeDiacritics table maps.
/// The reference documents ø → oe (not o), so that's what we do.
const DIACRITIC_TABLE: &[(char, &str)] = &[
    ('ß', "ss"),
    ('æ', "ae"),
    ('Æ', "AE"),
    ('ø', "oe"),
    ('Ø', "OE"),
    ('ł', "l"),
    ('Ł', "L"),
    ('ı', "i"),
];

/// Entra's NormalizeDiacritics: the fixed table above, then accents stripped from Latin
/// letters (NFD, drop combining marks that follow an ASCII letter, recompose).
///
/// Marks on non-Latin bases are kept: Entra's table only covers Latin letters, and stripping
/// every mark would turn Japanese が into か.
pub(crate) fn normalize_diacritics(s: &str) -> String {
    let mut mapped = String::with_capacity(s.len());
    for c in s.chars() {
        match DIACRITIC_TABLE.iter().find(|(from, _)| *from == c) {
            Some((_, to)) => mapped.push_str(to),
            None => mapped.push(c),
        }
    }
    let mut out = String::with_capacity(mapped.len());
    let mut base_is_latin = false;
    for c in mapped.nfd() {
        if is_combining_mark(c) {
            if !base_is_latin {
                out.push(c);
            }
        } else {
            base_is_latin = c.is_ascii_alphabetic();
            out.push(c);
        }
    }
    out.nfc().collect()
}

/// Upper-cases one char with a one-to-one mapping, like .NET's invariant culture: `ß` stays
/// `ß` (Rust's full mapping would make it "SS" and change the length).
pub(crate) fn upper_char(c: char) -> char {
    let mut it = c.to_uppercase();
    match (it.next(), it.next()) {
        (Some(u), None) => u,
        _ => c,
    }
}

/// Lower-case counterpart of [`upper_char`] (`İ` stays `İ` rather than becoming two chars).
pub(crate) fn lower_char(c: char) -> char {
    let mut it = c.to_lowercase();
    match (it.next(), it.next()) {
        (Some(l), None) => l,
        _ => c,
    }
}

pub(crate) fn to_upper(s: &str) -> String {
    s.chars().map(upper_char).collect()
}

pub(crate) fn to_lower(s: &str) -> String {
    s.chars().map(lower_char).collect()
}

/// PCase. With `separators`, Entra's documented rule: the first character of each word upper
/// case, all others lower case. Without, an approximation of .NET `ToTitleCase`: words are
/// runs of letters, digits and apostrophes, and words already entirely upper case are left
/// alone (ToTitleCase treats them as acronyms).
pub(crate) fn pcase(s: &str, separators: Option<&str>) -> String {
    // A set, not `str::contains`: a long separator list would make this quadratic.
    let seps: Option<std::collections::HashSet<char>> = separators.map(|s| s.chars().collect());
    let is_sep = |c: char| match &seps {
        Some(seps) => seps.contains(&c),
        None => !(c.is_alphanumeric() || is_combining_mark(c) || c == '\'' || c == '\u{2019}'),
    };
    let mut out = String::with_capacity(s.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        let keep = separators.is_none()
            && word.chars().any(char::is_alphabetic)
            && !word.chars().any(char::is_lowercase);
        if keep {
            out.push_str(word);
        } else {
            let mut chars = word.chars();
            if let Some(first) = chars.next() {
                out.push(upper_char(first));
                out.extend(chars.map(lower_char));
            }
        }
        word.clear();
    };
    for c in s.chars() {
        if is_sep(c) {
            flush(&mut word, &mut out);
            out.push(c);
        } else {
            word.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// ConvertToBase64: base64 of the UTF-16LE bytes (.NET's `Encoding.Unicode`), as documented.
pub(crate) fn base64_utf16le(s: &str) -> String {
    let bytes: Vec<u8> = s.encode_utf16().flat_map(u16::to_le_bytes).collect();
    base64(&bytes)
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// ConvertToUTF8Hex: upper-case hex of the UTF-8 bytes.
pub(crate) fn utf8_hex(s: &str) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(s.len() * 2);
    for b in s.bytes() {
        // Writing to a String can't fail.
        let _ = write!(out, "{b:02X}");
    }
    out
}
