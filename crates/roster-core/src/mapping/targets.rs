//! The SCIM target attributes roster can write, and the default mappings, per target profile.
//!
//! For the `asana` profile the user targets are those of Asana's Entra gallery app (see
//! `reference/asana-scim-api.md` §4): anything else is refused at validation, because Asana
//! would ignore or reject it. For the `generic` profile they are RFC 7643's User attributes
//! and the enterprise extension (§4.1, §4.3), and the defaults are Entra's non-gallery SCIM
//! app's (`reference/entra-provisioning-and-graph.md` §2.1) as far as Graph users declare them.

use crate::config::model::{Apply, Mapping, MappingSource, Profile, TargetDef, TargetKind};
use crate::expr;

/// The longest string roster sends to most targets. Asana documents no limits; this is a
/// deliberate choice: as long as any Entra string attribute can be (displayName, 256) and far
/// below the 1 MiB request the emulator (and a typical server) refuses with 413.
pub const MAX_CHARS: usize = 256;

/// The longest email address (RFC 5321 §4.5.3.1: a 256-octet path, less its angle brackets),
/// for userName and email targets.
pub const MAX_ADDRESS_CHARS: usize = 254;

const fn target(path: &'static str, kind: TargetKind) -> TargetDef {
    TargetDef {
        path,
        kind,
        filterable: false,
        updatable: true,
        max_chars: MAX_CHARS,
    }
}

/// An email address: userName (Asana's is one) and the email targets.
const fn address(path: &'static str) -> TargetDef {
    TargetDef {
        max_chars: MAX_ADDRESS_CHARS,
        ..target(path, TargetKind::String)
    }
}

macro_rules! ent {
    ($attr:literal) => {
        concat!(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:",
            $attr
        )
    };
}

/// User targets of Asana's gallery app, plus the create-only name parts.
pub static USER_TARGETS: &[TargetDef] = &[
    TargetDef {
        filterable: true,
        ..address("userName")
    },
    target("active", TargetKind::Boolean),
    target("name.formatted", TargetKind::String),
    TargetDef {
        updatable: false,
        ..target("name.givenName", TargetKind::String)
    },
    TargetDef {
        updatable: false,
        ..target("name.familyName", TargetKind::String)
    },
    address("emails[type eq \"work\"].value"),
    target("title", TargetKind::String),
    target("preferredLanguage", TargetKind::String),
    target("userType", TargetKind::String),
    target(ent!("department"), TargetKind::String),
    target(ent!("manager"), TargetKind::UserRef),
    target(ent!("employeeNumber"), TargetKind::String),
    target(ent!("costCenter"), TargetKind::String),
    target(ent!("organization"), TargetKind::String),
    target(ent!("division"), TargetKind::String),
    target("addresses[type eq \"work\"].country", TargetKind::String),
    target("addresses[type eq \"work\"].region", TargetKind::String),
    target("addresses[type eq \"work\"].locality", TargetKind::String),
    target("phoneNumbers[type eq \"work\"].value", TargetKind::String),
];

/// User targets of a generic SCIM 2.0 server: RFC 7643's core User attributes that are single
/// strings or booleans, the usual elements of the multi-valued ones, and the enterprise
/// extension. Every one may be sent on update.
pub static GENERIC_USER_TARGETS: &[TargetDef] = &[
    TargetDef {
        filterable: true,
        ..address("userName")
    },
    target("active", TargetKind::Boolean),
    target("externalId", TargetKind::String),
    target("displayName", TargetKind::String),
    target("nickName", TargetKind::String),
    target("profileUrl", TargetKind::String),
    target("title", TargetKind::String),
    target("userType", TargetKind::String),
    target("preferredLanguage", TargetKind::String),
    target("locale", TargetKind::String),
    target("timezone", TargetKind::String),
    target("name.formatted", TargetKind::String),
    target("name.givenName", TargetKind::String),
    target("name.familyName", TargetKind::String),
    target("name.middleName", TargetKind::String),
    target("name.honorificPrefix", TargetKind::String),
    target("name.honorificSuffix", TargetKind::String),
    address("emails[type eq \"work\"].value"),
    address("emails[type eq \"home\"].value"),
    target("phoneNumbers[type eq \"work\"].value", TargetKind::String),
    target("phoneNumbers[type eq \"mobile\"].value", TargetKind::String),
    target("addresses[type eq \"work\"].formatted", TargetKind::String),
    target(
        "addresses[type eq \"work\"].streetAddress",
        TargetKind::String,
    ),
    target("addresses[type eq \"work\"].locality", TargetKind::String),
    target("addresses[type eq \"work\"].region", TargetKind::String),
    target("addresses[type eq \"work\"].postalCode", TargetKind::String),
    target("addresses[type eq \"work\"].country", TargetKind::String),
    target(ent!("employeeNumber"), TargetKind::String),
    target(ent!("costCenter"), TargetKind::String),
    target(ent!("organization"), TargetKind::String),
    target(ent!("division"), TargetKind::String),
    target(ent!("department"), TargetKind::String),
    target(ent!("manager"), TargetKind::UserRef),
];

/// The user targets a profile accepts.
pub fn user_targets(profile: Profile) -> &'static [TargetDef] {
    match profile {
        Profile::Asana => USER_TARGETS,
        Profile::Generic => GENERIC_USER_TARGETS,
    }
}

/// Group (Asana team) targets.
pub static GROUP_TARGETS: &[TargetDef] = &[
    TargetDef {
        filterable: true,
        ..target("displayName", TargetKind::String)
    },
    target("members", TargetKind::UserRefs),
];

/// An Asana user target.
pub fn user_target(path: &str) -> Option<&'static TargetDef> {
    USER_TARGETS.iter().find(|t| t.path == path)
}

/// A user target of `profile`.
pub fn user_target_of(profile: Profile, path: &str) -> Option<&'static TargetDef> {
    user_targets(profile).iter().find(|t| t.path == path)
}

/// Whether Asana's own attribute table lists the target (`title`, `name.formatted`,
/// `preferredLanguage`, `userType`, the enterprise `department`), so that roster clears it
/// with a PATCH `remove`. The rest (addresses, phone numbers, `manager`, `employeeNumber`, …)
/// only the Entra gallery app lists, and whether Asana's PATCH removes them is undocumented:
/// roster clears those with a PUT without them, which Asana documents ("updates or removes
/// attributes").
pub fn asana_lists(path: &str) -> bool {
    matches!(
        path,
        "title" | "name.formatted" | "preferredLanguage" | "userType" | ent!("department")
    )
}

pub fn group_target(path: &str) -> Option<&'static TargetDef> {
    GROUP_TARGETS.iter().find(|t| t.path == path)
}

/// The expression Entra's gallery apps use for `active`.
pub const ACTIVE_EXPRESSION: &str =
    r#"Switch([IsSoftDeleted], , "False", "True", "True", "False")"#;

/// The default user mappings of a profile.
pub fn default_user_mappings_for(profile: Profile) -> Vec<Mapping> {
    match profile {
        Profile::Asana => default_user_mappings(),
        Profile::Generic => generic_user_mappings(),
    }
}

fn direct(t: &str, s: &str) -> (String, MappingSource) {
    (t.to_string(), MappingSource::Direct(s.to_string()))
}

fn active_mapping() -> (String, MappingSource) {
    let active = expr::parse(ACTIVE_EXPRESSION).expect("the built-in active expression parses");
    (
        "active".to_string(),
        MappingSource::Expression {
            expr: Box::new(active),
            text: ACTIVE_EXPRESSION.to_string(),
            at: None,
        },
    )
}

fn user_mappings(profile: Profile, list: Vec<(String, MappingSource)>) -> Vec<Mapping> {
    list.into_iter()
        .map(|(t, source)| Mapping {
            match_priority: (t == "userName").then_some(1),
            target: user_target_of(profile, &t).expect("default targets are known"),
            source,
            apply: Apply::Always,
            default: None,
            origin: None,
        })
        .collect()
}

/// Entra's non-gallery SCIM app's user mappings, for the Graph attributes a declaration has
/// (`mailNickname`, street address, postal code and fax are not among them).
fn generic_user_mappings() -> Vec<Mapping> {
    let list = vec![
        direct("userName", "userPrincipalName"),
        active_mapping(),
        direct("displayName", "displayName"),
        direct("title", "jobTitle"),
        direct("emails[type eq \"work\"].value", "mail"),
        direct("preferredLanguage", "preferredLanguage"),
        direct("name.givenName", "givenName"),
        direct("name.familyName", "surname"),
        direct("addresses[type eq \"work\"].locality", "city"),
        direct("addresses[type eq \"work\"].region", "state"),
        direct("addresses[type eq \"work\"].country", "country"),
        direct("phoneNumbers[type eq \"work\"].value", "telephoneNumber"),
        direct("phoneNumbers[type eq \"mobile\"].value", "mobilePhone"),
        direct(ent!("employeeNumber"), "employeeId"),
        direct(ent!("department"), "department"),
        direct(ent!("manager"), "manager"),
    ];
    user_mappings(Profile::Generic, list)
}

/// Asana's gallery-app user mappings, with Graph source attributes.
pub fn default_user_mappings() -> Vec<Mapping> {
    let list = vec![
        direct("userName", "userPrincipalName"),
        active_mapping(),
        direct("name.formatted", "displayName"),
        direct("emails[type eq \"work\"].value", "mail"),
        direct("title", "jobTitle"),
        direct(ent!("department"), "department"),
        direct(ent!("manager"), "manager"),
        direct(ent!("employeeNumber"), "employeeId"),
        direct(ent!("costCenter"), "employeeOrgData.costCenter"),
        direct(ent!("organization"), "companyName"),
        direct(ent!("division"), "employeeOrgData.division"),
        direct("addresses[type eq \"work\"].country", "country"),
        direct("addresses[type eq \"work\"].region", "state"),
        direct("addresses[type eq \"work\"].locality", "city"),
        direct("phoneNumbers[type eq \"work\"].value", "telephoneNumber"),
    ];
    user_mappings(Profile::Asana, list)
}

/// Group mappings: displayName (matching) and members.
pub fn default_group_mappings() -> Vec<Mapping> {
    ["displayName", "members"]
        .into_iter()
        .map(|t| Mapping {
            target: group_target(t).expect("default targets are known"),
            source: MappingSource::Direct(t.to_string()),
            match_priority: (t == "displayName").then_some(1),
            apply: Apply::Always,
            default: None,
            origin: None,
        })
        .collect()
}
