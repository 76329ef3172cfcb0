//! A plan with one change of every kind, for renderer snapshots.

use serde_json::json;

use crate::config::model::DeprovisionWith;
use crate::plan::{
    Action, AttrChange, Change, DeprovisionGate, Expiring, Kind, Member, Plan, Seats, Summary,
    UnmanagedUser,
};

fn attr(path: &str, before: Option<serde_json::Value>, after: serde_json::Value) -> AttrChange {
    AttrChange {
        path: path.into(),
        before,
        after: Some(after),
    }
}

pub fn plan() -> Plan {
    let change = |kind, key: &str, action, id: Option<&str>| Change {
        kind,
        key: key.into(),
        action,
        id: id.map(str::to_string),
        attributes: vec![],
        members: vec![],
        reason: None,
        source: None,
    };
    let changes = vec![
        Change {
            attributes: vec![
                attr("active", None, json!(true)),
                attr("name.formatted", None, json!("Ada Lovelace")),
                attr("title", None, json!("Staff Engineer")),
                attr("userName", None, json!("ada@example.com")),
            ],
            ..change(Kind::User, "ada@example.com", Action::Create, None)
        },
        Change {
            attributes: vec![
                attr("title", Some(json!("Engineer")), json!("Senior Engineer")),
                attr(
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
                    None,
                    json!("grace@example.com"),
                ),
            ],
            ..change(
                Kind::User,
                "bob@example.com",
                Action::Update,
                Some("1200000000000002"),
            )
        },
        Change {
            reason: Some("accountEnabled is false".into()),
            ..change(
                Kind::User,
                "dennis@example.com",
                Action::Deprovision,
                Some("1200000000000004"),
            )
        },
        Change {
            members: vec![
                Member {
                    key: "ada@example.com".into(),
                    id: None,
                    via: Some("rule 1 \"engineering\"".into()),
                },
                Member {
                    key: "bob@example.com".into(),
                    id: Some("1200000000000002".into()),
                    via: None,
                },
            ],
            ..change(
                Kind::Group,
                "Platform",
                Action::AddMembers,
                Some("1300000000000001"),
            )
        },
        Change {
            members: vec![Member {
                key: "eve@example.com".into(),
                id: Some("1200000000000009".into()),
                via: None,
            }],
            ..change(
                Kind::Group,
                "Platform",
                Action::RemoveMembers,
                Some("1300000000000001"),
            )
        },
    ];
    Plan {
        changes,
        unmanaged: vec![UnmanagedUser { key: "eve@example.com".into(), id: "1200000000000009".into() }],
        summary: Summary {
            create: 1,
            update: 1,
            reactivate: 0,
            deprovision: 1,
            add_members: 1,
            remove_members: 1,
            no_op: 17,
            unmanaged: 1,
        },
        deprovision_gate: DeprovisionGate {
            count: 1,
            live_active: 20,
            active_from: crate::plan::ActiveCount::Read,
            max_count: 25,
            max_percent: 10.0,
            exceeded: false,
            empty_desired: false,
        },
        deprovision_with: DeprovisionWith::Deactivate,
        warnings: vec!["user[\"zed@example.com\"] is deprovisioned in Asana, which cannot reactivate users through SCIM".into()],
        unmanaged_checked: true,
        reactivation_blocked: vec!["zed@example.com".into()],
        references: [("bob@example.com".to_string(), "1200000000000002".to_string())].into(),
        profile: Default::default(),
        // 2026-11-29T01:59:13Z.
        evaluated_at: 1_795_917_553,
        expiring: vec![
            Expiring {
                user: "carol@example.com".into(),
                group: None,
                expires: "2026-12-01".into(),
                ends_at: 1_796_169_600,
                days_left: 2,
            },
            Expiring {
                user: "bob@example.com".into(),
                group: Some("Platform".into()),
                expires: "2026-12-10".into(),
                ends_at: 1_796_947_200,
                days_left: 11,
            },
        ],
        seats: Seats {
            added: 1,
            removed: 1,
            price: None,
        },
    }
}

pub fn empty() -> Plan {
    Plan {
        changes: vec![],
        unmanaged: vec![],
        summary: Summary {
            no_op: 20,
            ..Summary::default()
        },
        deprovision_gate: DeprovisionGate {
            count: 0,
            live_active: 20,
            active_from: crate::plan::ActiveCount::Read,
            max_count: 25,
            max_percent: 10.0,
            exceeded: false,
            empty_desired: false,
        },
        deprovision_with: DeprovisionWith::Deactivate,
        warnings: vec![],
        unmanaged_checked: true,
        reactivation_blocked: vec![],
        references: Default::default(),
        profile: Default::default(),
        evaluated_at: 1_795_917_553,
        expiring: vec![],
        seats: Seats::default(),
    }
}
