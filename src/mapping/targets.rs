//! The SCIM target attributes roster can write, and the default mappings.
//!
//! The user targets are those of Asana's Entra gallery app (see
//! `reference/asana-scim-api.md` §4): anything else is refused at validation, because Asana
//! would ignore or reject it.

use super::{Mapping, MappingSource};
use crate::config::model::Apply;
use crate::mapping::expr;

/// How a target attribute's value is typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    String,
    Boolean,
    /// A single user reference (`manager`).
    UserRef,
    /// User references (group `members`).
    UserRefs,
}

/// A target attribute roster knows.
#[derive(Debug, PartialEq, Eq)]
pub struct TargetDef {
    pub path: &'static str,
    pub kind: TargetKind,
    /// The target can be used for matching (the server filters on it).
    pub filterable: bool,
    /// The target may be sent on update (Asana refuses `name.givenName`/`familyName` on PATCH).
    pub updatable: bool,
}

const fn target(path: &'static str, kind: TargetKind) -> TargetDef {
    TargetDef {
        path,
        kind,
        filterable: false,
        updatable: true,
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
        ..target("userName", TargetKind::String)
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
    target("emails[type eq \"work\"].value", TargetKind::String),
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

/// Group (Asana team) targets.
pub static GROUP_TARGETS: &[TargetDef] = &[
    TargetDef {
        filterable: true,
        ..target("displayName", TargetKind::String)
    },
    target("members", TargetKind::UserRefs),
];

pub fn user_target(path: &str) -> Option<&'static TargetDef> {
    USER_TARGETS.iter().find(|t| t.path == path)
}

pub fn group_target(path: &str) -> Option<&'static TargetDef> {
    GROUP_TARGETS.iter().find(|t| t.path == path)
}

/// The expression Entra's gallery apps use for `active`.
pub const ACTIVE_EXPRESSION: &str =
    r#"Switch([IsSoftDeleted], , "False", "True", "True", "False")"#;

/// Asana's gallery-app user mappings, with Graph source attributes.
pub fn default_user_mappings() -> Vec<Mapping> {
    let direct = |t: &str, s: &str| (t.to_string(), MappingSource::Direct(s.to_string()));
    let active = expr::parse(ACTIVE_EXPRESSION).expect("the built-in active expression parses");
    let mut list = vec![
        direct("userName", "userPrincipalName"),
        (
            "active".to_string(),
            MappingSource::Expression {
                expr: Box::new(active),
                text: ACTIVE_EXPRESSION.to_string(),
            },
        ),
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
    list.drain(..)
        .map(|(t, source)| Mapping {
            match_priority: (t == "userName").then_some(1),
            target: user_target(&t).expect("default targets are known"),
            source,
            apply: Apply::Always,
            default: None,
            origin: None,
        })
        .collect()
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
