//! JSON Schemas of the config files, generated from the raw types.
//!
//! The committed copies under `schema/` are what editors load through the
//! `# yaml-language-server: $schema=…` modeline; a test keeps them equal to these.

use schemars::JsonSchema;

use super::raw::{RawGroupsFile, RawSettings, RawUsersFile};

/// The schemas, as (file name under `schema/`, pretty JSON with a trailing newline).
pub fn all() -> Vec<(&'static str, String)> {
    vec![
        ("roster.schema.json", render::<RawSettings>()),
        ("users.schema.json", render::<RawUsersFile>()),
        ("groups.schema.json", render::<RawGroupsFile>()),
    ]
}

fn render<T: JsonSchema>() -> String {
    let schema = schemars::schema_for!(T);
    let mut text = serde_json::to_string_pretty(&schema).expect("a schema serialises");
    text.push('\n');
    text
}
