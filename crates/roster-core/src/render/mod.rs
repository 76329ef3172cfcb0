//! Renderers for plans: text for terminals, versioned JSON for machines, Markdown for pull
//! request comments.
//!
//! Pure: every renderer writes to any `io::Write` and reads nothing but the plan it is given.

pub mod drift;
pub mod json;
pub mod markdown;
pub mod text;

use serde_json::Value as Json;

use crate::config::model::Profile;
use crate::plan::{Action, Change, Expiring, Kind, Summary};

/// Output formats of reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Format {
    Text,
    Json,
    Markdown,
}

/// A value as Terraform shows it: strings quoted, absent as `null`.
pub fn show_value(v: Option<&Json>) -> String {
    match v {
        None | Some(Json::Null) => "null".into(),
        Some(v) => v.to_string(),
    }
}

/// An attribute path for people: the enterprise extension's URN shortened to `enterprise:`.
pub fn display_path(path: &str) -> std::borrow::Cow<'_, str> {
    match path.strip_prefix(crate::scim::ENTERPRISE_USER) {
        Some(rest) => format!("enterprise{rest}").into(),
        None => path.into(),
    }
}

/// What a change will do, in words. Deprovisioning is irreversible only in Asana.
pub fn verb(change: &Change, profile: Profile) -> &'static str {
    match (change.kind, change.action) {
        (_, Action::Create) => "will be created",
        (_, Action::Update) => "will be updated in place",
        (_, Action::Reactivate) => "will be reactivated",
        (_, Action::Deprovision) if profile == Profile::Asana => {
            "will be deprovisioned (irreversible in Asana)"
        }
        (_, Action::Deprovision) => "will be deprovisioned",
        (Kind::Group, Action::AddMembers) | (Kind::User, Action::AddMembers) => "will gain members",
        (Kind::Group, Action::RemoveMembers) | (Kind::User, Action::RemoveMembers) => {
            "will lose members"
        }
    }
}

/// Where a change's values came from, in words, when Entra is merged live: `from Entra`,
/// `from YAML`, or `from Entra and YAML (YAML: title)` naming the attributes the YAML decides.
pub fn source_note(change: &Change) -> Option<String> {
    let source = change.source.as_ref()?;
    Some(match source.object.as_str() {
        "entra" => "from Entra".to_string(),
        "yaml" => "from YAML".to_string(),
        _ => {
            let yaml: Vec<String> = source
                .attributes
                .iter()
                .filter(|(_, origin)| origin.as_str() != "entra")
                .map(|(path, _)| display_path(path).into_owned())
                .collect();
            if yaml.is_empty() {
                "from Entra and YAML".to_string()
            } else {
                format!("from Entra and YAML (YAML: {})", yaml.join(", "))
            }
        }
    })
}

/// `+`, `~`, `-`: Terraform's symbols.
pub fn symbol(action: Action) -> char {
    match action {
        Action::Create | Action::AddMembers => '+',
        Action::Update | Action::Reactivate => '~',
        Action::Deprovision | Action::RemoveMembers => '-',
    }
}

/// The access that ends soon, soonest first: a heading and one line each (`user["a@x.io"]
/// expires in 3 days (2026-03-01)`), in Markdown (code spans, a list, at most
/// [`MAX_EXPIRING_SHOWN`] lines) or text. Keys are declared, not read from the target, but
/// still shown through `visible`/`code`.
pub fn expiring_section(expiring: &[Expiring], md: bool) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let title = format!("Expiring soon ({})", expiring.len());
    if md {
        let _ = writeln!(s, "#### {title}\n");
    } else {
        let _ = writeln!(s, "{title}:");
    }
    for (i, e) in expiring.iter().enumerate() {
        if md && i == MAX_EXPIRING_SHOWN {
            let _ = writeln!(
                s,
                "- _… and {} more: the JSON output lists them all._",
                expiring.len() - i
            );
            break;
        }
        let when = format!("{} ({})", e.in_words(), e.expires);
        let address = e.address();
        let member = e.group.as_ref().map(|_| &e.user);
        if md {
            let member = member.map_or(String::new(), |m| {
                format!(" member `{}`", markdown::code(m))
            });
            let _ = writeln!(
                s,
                "- `{}`{member} {}",
                markdown::code(&address),
                markdown::escape(&when)
            );
        } else {
            let member = member.map_or(String::new(), |m| format!(" member {m:?}"));
            let _ = writeln!(
                s,
                "  {}",
                markdown::visible(&format!("{address}{member} {when}"))
            );
        }
    }
    s
}

/// Most expiring lines a Markdown report shows (the comment has a size limit).
pub const MAX_EXPIRING_SHOWN: usize = 50;

/// The one-line summary: `Plan: 1 to create, 2 to update, 0 to deprovision…`.
pub fn summary_line(s: &Summary) -> String {
    let mut parts = vec![
        format!("{} to create", s.create),
        format!("{} to update", s.update),
        format!("{} to deprovision", s.deprovision),
    ];
    if s.reactivate > 0 {
        parts.push(format!("{} to reactivate", s.reactivate));
    }
    parts.push(format!(
        "{} team membership change{}",
        s.add_members + s.remove_members,
        if s.add_members + s.remove_members == 1 {
            ""
        } else {
            "s"
        }
    ));
    format!(
        "Plan: {}; {} unchanged, {} unmanaged.",
        parts.join(", "),
        s.no_op,
        s.unmanaged
    )
}

/// Small plans for tests, here and in the crates that build on the core (feature `fixtures`).
#[cfg(any(test, feature = "fixtures"))]
#[doc(hidden)]
pub mod fixtures;
