//! How user names compare, and what makes one name pass for another.
//!
//! userPrincipalName, userName and mail are compared by [`match_key`], declared and live alike:
//! the same address typed as NFC (`é`, one code point) or NFD (`e` and a combining accent), or
//! in another case, is one user, never a create of one and a deprovision of the other.
//!
//! The rest are the UTS #39 checks validation warns about (warnings, because such names can be
//! real): characters that show nothing ([`invisible`]), a label that mixes scripts
//! ([`mixed_script_labels`]), and names whose [`skeleton`]s are equal although their keys are
//! not (`аlice` with a Cyrillic `а`, and `alice`). Pure: no IO.

use unicode_normalization::UnicodeNormalization;
use unicode_security::MixedScript;

/// The key userPrincipalName, userName and mail are matched and de-duplicated by: the name in
/// Unicode's canonical composition (NFC), lowercased by Unicode's default mapping, one character
/// at a time, with final sigma folded to σ.
///
/// Deliberately not full case folding: that makes `ß` equal `ss`, and `straße@` and `strasse@`
/// are two addresses to Entra and to Asana, so matching them would rename another person's
/// account. ASCII names, nearly all of them, take a fast path with the same result.
pub fn match_key(s: &str) -> String {
    if s.is_ascii() {
        return s.to_ascii_lowercase();
    }
    let lower: String = s
        .nfc()
        .flat_map(char::to_lowercase)
        .map(|c| if c == 'ς' { 'σ' } else { c })
        .collect();
    // Lowercasing can leave a sequence that composes differently (`İ` becomes `i` and a dot).
    lower.nfc().collect()
}

/// Whether two names are the same user's.
pub fn same_name(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b) || match_key(a) == match_key(b)
}

/// The UTS #39 skeleton of a name's key: two names with equal skeletons look alike (`rn` and
/// `m`, `0` and `O`, Cyrillic `а` and Latin `a`). For comparing only, never for display.
pub fn skeleton(s: &str) -> String {
    let key = match_key(s);
    // ASCII keys, nearly all of them, are skeletons of one character after another: an ASCII
    // text is its own NFD, so where every character's skeleton is ASCII too, the skeleton of
    // the whole is theirs joined (the same result, without normalising each name twice).
    if key.is_ascii() {
        let table = ascii_skeletons();
        let mut joined = String::with_capacity(key.len());
        let all_ascii = key.bytes().all(|b| match &table[usize::from(b)] {
            Some(s) => {
                joined.push_str(s);
                true
            }
            None => false,
        });
        if all_ascii {
            return joined;
        }
    }
    unicode_security::skeleton(&key).collect()
}

/// The skeleton of each ASCII character, where it is ASCII.
fn ascii_skeletons() -> &'static [Option<String>; 128] {
    static TABLE: std::sync::OnceLock<[Option<String>; 128]> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        std::array::from_fn(|b| {
            let c = char::from(u8::try_from(b).expect("below 128"));
            let s: String = unicode_security::skeleton(c.encode_utf8(&mut [0; 4])).collect();
            s.is_ascii().then_some(s)
        })
    })
}

/// Characters that show nothing or reorder what is shown, with their byte offsets: controls,
/// Unicode's default-ignorable code points (zero-width space, joiners, soft hyphen, bidi
/// controls, variation selectors, tags, …) and the line and paragraph separators.
pub fn invisible(s: &str) -> Vec<(usize, char)> {
    s.char_indices().filter(|(_, c)| is_invisible(*c)).collect()
}

/// Whether a character is one [`invisible`] finds.
pub fn is_invisible(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{FFF9}'..='\u{FFFB}')
        || DEFAULT_IGNORABLE
            .binary_search_by(|&(lo, hi)| {
                if hi < c {
                    std::cmp::Ordering::Less
                } else if lo > c {
                    std::cmp::Ordering::Greater
                } else {
                    std::cmp::Ordering::Equal
                }
            })
            .is_ok()
}

/// Default_Ignorable_Code_Point (Unicode's DerivedCoreProperties.txt), as sorted ranges.
const DEFAULT_IGNORABLE: &[(char, char)] = &[
    ('\u{AD}', '\u{AD}'),
    ('\u{34F}', '\u{34F}'),
    ('\u{61C}', '\u{61C}'),
    ('\u{115F}', '\u{1160}'),
    ('\u{17B4}', '\u{17B5}'),
    ('\u{180B}', '\u{180F}'),
    ('\u{200B}', '\u{200F}'),
    ('\u{202A}', '\u{202E}'),
    ('\u{2060}', '\u{206F}'),
    ('\u{3164}', '\u{3164}'),
    ('\u{FE00}', '\u{FE0F}'),
    ('\u{FEFF}', '\u{FEFF}'),
    ('\u{FFA0}', '\u{FFA0}'),
    ('\u{FFF0}', '\u{FFF8}'),
    ('\u{1BCA0}', '\u{1BCA3}'),
    ('\u{1D173}', '\u{1D17A}'),
    ('\u{E0000}', '\u{E0FFF}'),
];

/// The labels of an address (split at `@` and `.`) whose characters come from more than one
/// script, with their byte ranges: `аlice` (Cyrillic `а`, Latin `lice`) is one, `alice` and
/// `アリス` are not. Digits and punctuation belong to every script; Japanese kana with kanji,
/// and the other combinations UTS #39 allows, count as one.
pub fn mixed_script_labels(s: &str) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in s.char_indices().chain(std::iter::once((s.len(), '.'))) {
        if c == '@' || c == '.' {
            let label = &s[start..i];
            if !label.is_ascii() && !label.is_single_script() {
                out.push(start..i);
            }
            start = i + c.len_utf8();
        }
    }
    out
}

/// The domain of an address, if it has one.
pub fn domain(s: &str) -> Option<&str> {
    s.rsplit_once('@').map(|(_, d)| d).filter(|d| !d.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_nfc_and_lowercase() {
        let nfc = "jos\u{e9}@example.com";
        let nfd = "jose\u{301}@example.com";
        assert_ne!(nfc, nfd);
        assert_eq!(match_key(nfd), nfc);
        assert_eq!(match_key("JOSE\u{301}@Example.COM"), nfc);
        assert!(same_name(nfc, nfd));
        assert_eq!(match_key("Alice@Example.com"), "alice@example.com");
        // Final sigma and the sigma in the middle of a word are one letter.
        assert_eq!(match_key("ΟΔΥΣΣΕΥΣ"), match_key("οδυσσευς"));
        // ß is not ss: two addresses.
        assert_ne!(match_key("straße@x.de"), match_key("strasse@x.de"));
        assert_eq!(match_key("STRAẞE@x.de"), match_key("straße@x.de"));
        // Idempotent, so a key can be keyed again.
        for s in [nfd, "İstanbul@x.tr", "ΟΔΥΣΣΕΥΣ", "ǅemal@x.io"] {
            assert_eq!(match_key(&match_key(s)), match_key(s), "{s}");
        }
    }

    #[test]
    fn invisible_characters_are_found_with_their_offsets() {
        assert_eq!(invisible("alice@example.com"), vec![]);
        assert_eq!(invisible("al\u{200B}ice"), vec![(2, '\u{200B}')]);
        for c in [
            '\u{200B}',
            '\u{200C}',
            '\u{200D}',
            '\u{2060}',
            '\u{FEFF}',
            '\u{AD}',
            '\u{202E}',
            '\u{2066}',
            '\u{200E}',
            '\u{061C}',
            '\u{FE0F}',
            '\u{E0041}',
            '\u{7}',
            '\u{2028}',
        ] {
            assert!(is_invisible(c), "U+{:04X}", c as u32);
        }
        for c in ['a', 'é', ' ', '-', 'а', 'ア', '\u{301}'] {
            assert!(!is_invisible(c), "U+{:04X}", c as u32);
        }
    }

    #[test]
    fn mixed_scripts_are_found_per_label() {
        let cyrillic_a = "\u{430}lice@example.com";
        assert_eq!(mixed_script_labels(cyrillic_a), vec![0..6]);
        assert_eq!(mixed_script_labels("alice@ex\u{430}mple.com"), vec![6..14]);
        assert!(mixed_script_labels("alice@example.com").is_empty());
        // One script per label is fine, even when labels differ.
        assert!(mixed_script_labels("\u{430}\u{43b}\u{438}\u{441}\u{430}@example.com").is_empty());
        assert!(mixed_script_labels("アリス@例え.jp").is_empty());
        assert!(mixed_script_labels("jos\u{e9}-2@example.com").is_empty());
    }

    #[test]
    fn skeletons_equal_for_lookalikes_only() {
        assert_eq!(
            skeleton("\u{430}lice@example.com"),
            skeleton("alice@example.com")
        );
        assert_eq!(skeleton("ALICE@example.com"), skeleton("alice@example.com"));
        assert_eq!(skeleton("al\u{200B}ice@x.io"), skeleton("alice@x.io"));
        assert_ne!(skeleton("alice@example.com"), skeleton("alina@example.com"));
        // The ASCII fast path gives what UTS #39 gives, lookalikes within ASCII included.
        for name in [
            "rn@x.io",
            "m@x.io",
            "user0@x.io",
            "userO@x.io",
            "l1I|@x.io",
            "a`^\"~b",
        ] {
            let whole: String = unicode_security::skeleton(&match_key(name)).collect();
            assert_eq!(skeleton(name), whole, "{name}");
        }
        assert_eq!(skeleton("rn@x.io"), skeleton("m@x.io"));
        let all: String = (0u8..128).map(char::from).collect();
        let whole: String = unicode_security::skeleton(&match_key(&all)).collect();
        assert_eq!(skeleton(&all), whole);
        assert_eq!(domain("a@b.c"), Some("b.c"));
        assert_eq!(domain("ab.c"), None);
    }
}
