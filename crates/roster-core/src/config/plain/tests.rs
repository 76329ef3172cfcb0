//! The plain reading against the YAML parser's: whenever [`users_file`] reads a file, the
//! parser reads it to the same values at the same places.

use super::users_file;
use crate::config::parse::parse_yaml;
use crate::config::raw::{RawUser, RawUsersFile};

/// The keys of the user's schema, as written in files.
fn schema_keys() -> Vec<String> {
    let schema = schemars::schema_for!(RawUser);
    let properties = schema
        .get("properties")
        .and_then(|p| p.as_object())
        .expect("the user schema has properties");
    properties.keys().cloned().collect()
}

/// Every value of the file with its byte range, user by user.
fn described(file: &mut RawUsersFile) -> String {
    let keys = schema_keys();
    let mut out = String::new();
    for user in &mut file.users {
        out += &format!("user at {:?}: {:?}\n", user.range(), user.value);
        if let Some(e) = &user.value.account_enabled {
            out += &format!("  accountEnabled at {:?}\n", e.range());
        }
        for key in &keys {
            if let Some(Some(v)) = user.value.text_field(key) {
                out += &format!("  {key} {:?} at {:?}\n", v.value, v.range());
            }
        }
    }
    out
}

/// Checks that when the plain reading reads `text`, it reads what the parser does; returns
/// whether it read it.
fn agrees(text: &str) -> bool {
    let Some(mut plain) = users_file(text) else {
        return false;
    };
    let mut parsed: RawUsersFile = match parse_yaml(text) {
        Ok(f) => f,
        Err(p) => panic!(
            "the plain reading accepted what the parser refuses ({}):\n{text:?}",
            p.message
        ),
    };
    assert_eq!(
        described(&mut plain),
        described(&mut parsed),
        "the two readings differ on:\n{text}"
    );
    true
}

const SAMPLE: &str = "\
# yaml-language-server: $schema=../schema/users.schema.json
users:
  - userPrincipalName: ada.lovelace@example.com
    mail: ada.lovelace@example.com
    displayName: Ada Lovelace
    jobTitle: Staff Engineer, Platform
    department: R&D
    employeeId: \"1001\"
    manager: 'grace.hopper@example.com'
    accountEnabled: false

  # Contractors
  - userPrincipalName: jose.muller@example.com
    displayName: José Müller-O'Brien
    city: Zürich
    employeeId: 0123
    accountEnabled: true
  - userPrincipalName: li.wei@example.com
    displayName: 李伟
";

#[test]
fn the_plain_style_reads_as_the_parser_reads_it() {
    assert!(agrees(SAMPLE));
    assert!(agrees(
        "users:\n- userPrincipalName: a@example.com\n  mail: a@example.com"
    ));
    assert!(agrees("users:\n  - mail: \"\"\n"));
}

#[test]
fn every_text_key_of_the_schema_is_read_into_its_own_field() {
    let structured = [
        "accountEnabled",
        "appRoleAssignments",
        "employeeOrgData",
        "expires",
    ];
    let keys: Vec<String> = schema_keys()
        .into_iter()
        .filter(|k| !structured.contains(&k.as_str()))
        .collect();
    assert!(keys.len() >= 18, "{keys:?}");
    let mut text = String::from("users:\n");
    for (i, key) in keys.iter().enumerate() {
        let lead = if i == 0 { "  - " } else { "    " };
        text += &format!("{lead}{key}: value {i}\n");
    }
    assert!(agrees(&text), "every text key is read plainly");
}

#[test]
fn what_yaml_might_read_differently_is_left_to_the_parser() {
    let left = [
        // A null, an escape, a flow collection, an anchor, a tag, a comment after a value.
        "users:\n  - mail: null\n",
        "users:\n  - mail: ~\n",
        "users:\n  - mail:\n",
        "users:\n  - mail: \"a\\tb\"\n",
        "users:\n  - employeeOrgData: { division: X }\n",
        "users:\n  - mail: &a x\n",
        "users:\n  - mail: !!str x\n",
        "users:\n  - mail: x # note\n",
        // A multi-line scalar, a tab, a line break other than \n, a BOM.
        "users:\n  - displayName: Ada\n      Lovelace\n",
        "users:\n  - mail:\tx\n",
        "users:\r\n  - mail: x\r\n",
        "\u{feff}users:\n  - mail: x\n",
        "users:\n  - displayName: a\u{2028}b\n",
        // A key twice, an unknown key, a boolean the parser may refuse.
        "users:\n  - mail: x\n    mail: y\n",
        "users:\n  - email: x\n",
        "users:\n  - accountEnabled: yes\n",
        "users:\n  - accountEnabled: \"false\"\n",
        // Another document, another top-level key, no users.
        "---\nusers:\n  - mail: x\n",
        "users:\n  - mail: x\ngroups: []\n",
        "users:\n",
        "users: []\n",
    ];
    for text in left {
        assert!(users_file(text).is_none(), "read plainly: {text:?}");
    }
}

/// A small deterministic generator (xorshift), so a failure names its seed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// Random edits of the sample, in the characters and words YAML gives meaning to: whatever
/// the plain reading accepts, the parser reads the same.
#[test]
fn mutated_files_read_plainly_read_as_the_parser_reads_them() {
    const PIECES: &[&str] = &[
        " ",
        "  ",
        "\t",
        "\n",
        "\r",
        ":",
        ": ",
        "#",
        " #",
        "-",
        "- ",
        "'",
        "\"",
        "\\",
        "{",
        "}",
        "[",
        "]",
        ",",
        "&",
        "*",
        "!",
        "|",
        ">",
        "%",
        "@",
        "`",
        "~",
        "?",
        ".",
        "0",
        "1e3",
        "a",
        "Z",
        "é",
        "ß",
        "\u{85}",
        "\u{a0}",
        "\u{2028}",
        "\u{feff}",
        "null",
        "true",
        "NULL",
        "users:",
        "mail: x",
        "\n  - mail: y",
        "\n    city: z",
    ];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut read_plainly = 0;
    for _ in 0..8_000 {
        let mut text = SAMPLE.to_string();
        for _ in 0..1 + rng.below(3) {
            let mut at = rng.below(text.len() + 1);
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            match rng.below(3) {
                0 => text.insert_str(at, PIECES[rng.below(PIECES.len())]),
                1 => {
                    let end = text[at..].chars().next().map_or(at, |c| at + c.len_utf8());
                    text.replace_range(at..end, "");
                }
                _ => {
                    let end = text[at..].chars().next().map_or(at, |c| at + c.len_utf8());
                    text.replace_range(at..end, PIECES[rng.below(PIECES.len())]);
                }
            }
        }
        if agrees(&text) {
            read_plainly += 1;
        }
    }
    // About one edited file in five keeps the plain style (1,600 or so), so the comparison is
    // exercised.
    assert!(read_plainly > 1_200, "only {read_plainly} read plainly");
}
