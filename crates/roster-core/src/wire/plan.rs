//! The plan as JSON (`plan --format json`, and the `plan` of a saved plan file): format
//! [`FORMAT_VERSION`], documented in `docs/plan-format.md`.
//!
//! Every type here has its own serde names, and converts from and to the planner's value by
//! destructuring both sides whole (no `..`), so a field added to either side is a compile
//! error here until the other side says what it becomes; the tests pin every enum's strings
//! and check the serialised keys against the document.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::civil_time;
use crate::config::model::{DeprovisionWith, Profile, SeatPrice};
use crate::plan::source::Source;
use crate::plan::{
    Action, ActiveCount, AttrChange, Change, DeprovisionGate, Expiring, Kind, Member, Plan, Seats,
    Summary, UnmanagedUser,
};

/// Version of the JSON plan format. Minor: fields added; major: fields changed or removed.
pub const FORMAT_VERSION: &str = "1.3";

/// The major part of [`FORMAT_VERSION`]: a saved plan of another major version is refused.
pub const FORMAT_MAJOR: u64 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanJson {
    pub format_version: String,
    pub summary: SummaryJson,
    pub changes: Vec<ChangeJson>,
    pub unmanaged: Vec<UnmanagedJson>,
    pub unmanaged_checked: bool,
    pub deprovision_gate: GateJson,
    pub warnings: Vec<String>,
    /// Declared, enabled users that are deprovisioned in the target, which cannot reactivate them.
    #[serde(default)]
    pub reactivation_blocked: Vec<String>,
    /// SCIM ids of the existing users the changes refer to (managers, team members), by key.
    #[serde(default)]
    pub references: BTreeMap<String, String>,
    /// The target profile planned for: `asana` or `generic`.
    #[serde(default)]
    pub profile: ProfileJson,
    /// The instant the plan was evaluated at (RFC 3339, UTC): `expires` was judged against it.
    /// Added in 1.3; `None` in older plans, which knew no expiry.
    #[serde(default)]
    pub evaluated_at: Option<String>,
    /// Users and team memberships whose access ends within `policy.expiry_warning_days`,
    /// soonest first. Added in 1.3.
    #[serde(default)]
    pub expiring: Vec<ExpiringJson>,
    /// How the count of active users changes. Added in 1.3.
    #[serde(default)]
    pub seats: SeatsJson,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpiringJson {
    /// `user["a@x.io"]`, or `group["Platform"]` for a membership.
    pub address: String,
    pub user: String,
    /// The team, for a membership.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// As written: a date or a timestamp.
    pub expires: String,
    /// The first instant at which the access no longer holds (RFC 3339, UTC).
    pub ends_at: String,
    pub days_left: i64,
    /// `expires in 3 days`.
    pub message: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SeatsJson {
    /// Creates and reactivations.
    pub added: u64,
    /// Deprovisions.
    pub removed: u64,
    pub net: i64,
    /// `policy.seat_price`, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<PriceJson>,
    /// `net` times the price, rounded to cents, when a price is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monthly_cost_change: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriceJson {
    pub amount: f64,
    pub currency: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SummaryJson {
    pub create: u64,
    pub update: u64,
    pub reactivate: u64,
    pub deprovision: u64,
    pub add_members: u64,
    pub remove_members: u64,
    pub no_op: u64,
    pub unmanaged: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeJson {
    pub address: String,
    pub kind: KindJson,
    pub key: String,
    pub action: ActionJson,
    pub id: Option<String>,
    pub attributes: Vec<AttrJson>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<MemberJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Where the values came from (Entra, YAML or both), when Entra is merged live.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceJson>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttrJson {
    pub path: String,
    pub before: Option<Json>,
    pub after: Option<Json>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberJson {
    pub key: String,
    pub id: Option<String>,
    /// Why the member is added, for a team with `member_rules` (added in 1.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceJson {
    /// `entra`, `yaml` or `entra+yaml`.
    pub object: String,
    /// For objects from both: each changed attribute's origin.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnmanagedJson {
    pub kind: KindJson,
    pub key: String,
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateJson {
    pub deprovisions: u64,
    pub live_active_users: u64,
    /// Where `live_active_users` came from: `read` (every user was read and counted),
    /// `target_active` or `target_total` (the target's count, under `--changed-since`), or
    /// `unknown` (the percent cap was not applied).
    #[serde(default)]
    pub active_users_from: ActiveCountJson,
    pub max_count: u64,
    pub max_percent: f64,
    pub deprovision_with: DeprovisionWithJson,
    /// Apply will refuse unless given `--allow-deprovisions` with this number.
    pub requires_allow_deprovisions: Option<u64>,
    pub empty_desired_set: bool,
    pub message: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KindJson {
    User,
    Group,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionJson {
    Create,
    Update,
    Reactivate,
    AddMembers,
    RemoveMembers,
    Deprovision,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActiveCountJson {
    #[default]
    Read,
    TargetActive,
    TargetTotal,
    Unknown,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProfileJson {
    /// Also what a plan without `profile` (made before 1.0 had it) was made for.
    #[default]
    Asana,
    Generic,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeprovisionWithJson {
    Deactivate,
    Delete,
}

impl From<&Plan> for PlanJson {
    fn from(p: &Plan) -> Self {
        let Plan {
            changes,
            unmanaged,
            summary,
            deprovision_gate,
            deprovision_with,
            warnings,
            unmanaged_checked,
            reactivation_blocked,
            references,
            profile,
            evaluated_at,
            expiring,
            seats,
        } = p;
        PlanJson {
            format_version: FORMAT_VERSION.into(),
            summary: summary.into(),
            changes: changes.iter().map(ChangeJson::from).collect(),
            unmanaged: unmanaged.iter().map(UnmanagedJson::from).collect(),
            unmanaged_checked: *unmanaged_checked,
            deprovision_gate: GateJson::new(deprovision_gate, *deprovision_with),
            warnings: warnings.clone(),
            reactivation_blocked: reactivation_blocked.clone(),
            references: references.clone(),
            profile: (*profile).into(),
            evaluated_at: Some(instant(*evaluated_at)),
            expiring: expiring.iter().map(ExpiringJson::from).collect(),
            seats: seats.into(),
        }
    }
}

/// An instant as RFC 3339 (instants before 1970 are no plan's).
fn instant(secs: i64) -> String {
    civil_time::rfc3339(u64::try_from(secs).unwrap_or(0))
}

/// Back from RFC 3339; 0 when absent or unreadable (`wire::integrity` refuses the latter).
fn seconds(text: Option<&str>) -> i64 {
    text.and_then(|t| civil_time::parse_rfc3339(t).ok())
        .unwrap_or(0)
}

impl From<&Expiring> for ExpiringJson {
    fn from(e: &Expiring) -> Self {
        let Expiring {
            user,
            group,
            expires,
            ends_at,
            days_left,
        } = e;
        ExpiringJson {
            address: e.address(),
            user: user.clone(),
            group: group.clone(),
            expires: expires.clone(),
            ends_at: instant(*ends_at),
            days_left: *days_left,
            message: e.in_words(),
        }
    }
}

impl ExpiringJson {
    pub fn to_expiring(&self) -> Expiring {
        let ExpiringJson {
            // Said again from the rest.
            address: _,
            user,
            group,
            expires,
            ends_at,
            days_left,
            message: _,
        } = self;
        Expiring {
            user: user.clone(),
            group: group.clone(),
            expires: expires.clone(),
            ends_at: seconds(Some(ends_at)),
            days_left: *days_left,
        }
    }
}

impl From<&Seats> for SeatsJson {
    fn from(s: &Seats) -> Self {
        let Seats {
            added,
            removed,
            price,
        } = s;
        SeatsJson {
            added: *added,
            removed: *removed,
            net: s.net(),
            price: price.as_ref().map(|p| PriceJson {
                amount: p.amount,
                currency: p.currency.clone(),
            }),
            monthly_cost_change: s.monthly_cost(),
        }
    }
}

impl SeatsJson {
    pub fn to_seats(&self) -> Seats {
        let SeatsJson {
            added,
            removed,
            // Said again from the rest.
            net: _,
            price,
            monthly_cost_change: _,
        } = self;
        Seats {
            added: *added,
            removed: *removed,
            price: price.as_ref().map(|p| SeatPrice {
                amount: p.amount,
                currency: p.currency.clone(),
            }),
        }
    }
}

impl PlanJson {
    /// Back to the planner's value (for `show` and `apply` of a saved plan).
    pub fn to_plan(&self) -> Plan {
        let PlanJson {
            // Checked when the file is read (`wire::saved::parse`); the plan has no version.
            format_version: _,
            summary,
            changes,
            unmanaged,
            unmanaged_checked,
            deprovision_gate,
            warnings,
            reactivation_blocked,
            references,
            profile,
            evaluated_at,
            expiring,
            seats,
        } = self;
        Plan {
            changes: changes.iter().map(ChangeJson::to_change).collect(),
            unmanaged: unmanaged.iter().map(UnmanagedJson::to_unmanaged).collect(),
            summary: summary.into(),
            deprovision_gate: deprovision_gate.to_gate(),
            deprovision_with: deprovision_gate.deprovision_with.into(),
            warnings: warnings.clone(),
            unmanaged_checked: *unmanaged_checked,
            reactivation_blocked: reactivation_blocked.clone(),
            references: references.clone(),
            profile: (*profile).into(),
            evaluated_at: seconds(evaluated_at.as_deref()),
            expiring: expiring.iter().map(ExpiringJson::to_expiring).collect(),
            seats: seats.to_seats(),
        }
    }

    /// The target profile the plan was made for.
    pub fn profile(&self) -> Profile {
        self.profile.into()
    }
}

impl From<&Change> for ChangeJson {
    fn from(c: &Change) -> Self {
        let Change {
            kind,
            key,
            action,
            id,
            attributes,
            members,
            reason,
            source,
        } = c;
        ChangeJson {
            address: c.address(),
            kind: (*kind).into(),
            key: key.clone(),
            action: (*action).into(),
            id: id.clone(),
            attributes: attributes.iter().map(AttrJson::from).collect(),
            members: members.iter().map(MemberJson::from).collect(),
            reason: reason.clone(),
            source: source.as_ref().map(SourceJson::from),
        }
    }
}

impl ChangeJson {
    pub fn to_change(&self) -> Change {
        let ChangeJson {
            // Derived from kind and key; `wire::integrity` checks that it is.
            address: _,
            kind,
            key,
            action,
            id,
            attributes,
            members,
            reason,
            source,
        } = self;
        Change {
            kind: (*kind).into(),
            key: key.clone(),
            action: (*action).into(),
            id: id.clone(),
            attributes: attributes.iter().map(AttrChange::from).collect(),
            members: members.iter().map(Member::from).collect(),
            reason: reason.clone(),
            source: source.as_ref().map(Source::from),
        }
    }
}

impl From<&UnmanagedUser> for UnmanagedJson {
    fn from(u: &UnmanagedUser) -> Self {
        let UnmanagedUser { key, id } = u;
        UnmanagedJson {
            // Only users are ever unmanaged; the field leaves room for groups.
            kind: KindJson::User,
            key: key.clone(),
            id: id.clone(),
        }
    }
}

impl UnmanagedJson {
    pub fn to_unmanaged(&self) -> UnmanagedUser {
        let UnmanagedJson { kind: _, key, id } = self;
        UnmanagedUser {
            key: key.clone(),
            id: id.clone(),
        }
    }
}

impl GateJson {
    fn new(g: &DeprovisionGate, deprovision_with: DeprovisionWith) -> GateJson {
        let DeprovisionGate {
            count,
            live_active,
            active_from,
            max_count,
            max_percent,
            exceeded,
            empty_desired,
        } = *g;
        GateJson {
            deprovisions: count,
            live_active_users: live_active,
            active_users_from: active_from.into(),
            max_count,
            max_percent,
            deprovision_with: deprovision_with.into(),
            requires_allow_deprovisions: exceeded.then_some(count),
            empty_desired_set: empty_desired,
            message: g.message(),
        }
    }

    fn to_gate(&self) -> DeprovisionGate {
        let GateJson {
            deprovisions,
            live_active_users,
            active_users_from,
            max_count,
            max_percent,
            // Part of the plan, not of its gate (`Plan::deprovision_with`).
            deprovision_with: _,
            requires_allow_deprovisions,
            empty_desired_set,
            // Said again from the rest (`DeprovisionGate::message`).
            message: _,
        } = self;
        DeprovisionGate {
            count: *deprovisions,
            live_active: *live_active_users,
            active_from: (*active_users_from).into(),
            max_count: *max_count,
            max_percent: *max_percent,
            exceeded: requires_allow_deprovisions.is_some(),
            empty_desired: *empty_desired_set,
        }
    }
}

/// Both ways between a planner struct and its wire twin when the two have the same fields,
/// each cloned: destructured whole, so a field added to either side does not compile until it
/// is listed here.
macro_rules! same_fields {
    ($ours:ident, $wire:ident, [$($field:ident),+ $(,)?]) => {
        impl From<&$ours> for $wire {
            fn from(v: &$ours) -> Self {
                let $ours { $($field),+ } = v;
                $wire { $($field: Clone::clone($field)),+ }
            }
        }
        impl From<&$wire> for $ours {
            fn from(v: &$wire) -> Self {
                let $wire { $($field),+ } = v;
                $ours { $($field: Clone::clone($field)),+ }
            }
        }
    };
}

same_fields!(
    Summary,
    SummaryJson,
    [
        create,
        update,
        reactivate,
        deprovision,
        add_members,
        remove_members,
        no_op,
        unmanaged
    ]
);
same_fields!(AttrChange, AttrJson, [path, before, after]);
same_fields!(Member, MemberJson, [key, id, via]);
same_fields!(Source, SourceJson, [object, attributes]);

/// Both ways between a planner or model enum and its wire twin, one match each way, so a
/// variant added on one side does not compile until the other side has it.
macro_rules! twins {
    ($ours:ident, $wire:ident, [$($variant:ident),+ $(,)?]) => {
        impl From<$ours> for $wire {
            fn from(v: $ours) -> Self {
                match v {
                    $($ours::$variant => $wire::$variant,)+
                }
            }
        }
        impl From<$wire> for $ours {
            fn from(v: $wire) -> Self {
                match v {
                    $($wire::$variant => $ours::$variant,)+
                }
            }
        }
    };
}

twins!(Kind, KindJson, [User, Group]);
twins!(
    Action,
    ActionJson,
    [
        Create,
        Update,
        Reactivate,
        AddMembers,
        RemoveMembers,
        Deprovision
    ]
);
twins!(
    ActiveCount,
    ActiveCountJson,
    [Read, TargetActive, TargetTotal, Unknown]
);
twins!(Profile, ProfileJson, [Asana, Generic]);
twins!(DeprovisionWith, DeprovisionWithJson, [Deactivate, Delete]);
