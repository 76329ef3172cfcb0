//! The plan as JSON: a versioned wire format with its own types, documented in
//! `docs/plan-format.md` and pinned by tests. Changing a field means a new `format_version`.

use std::io::{self, Write};

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::plan::{self, Plan};

/// Version of the JSON plan format. Minor: fields added; major: fields changed or removed.
pub const FORMAT_VERSION: &str = "1.1";

/// The major part of [`FORMAT_VERSION`]: a saved plan of another major version is refused.
pub const FORMAT_MAJOR: u64 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanJson {
    pub format_version: String,
    pub summary: plan::Summary,
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
    pub references: std::collections::BTreeMap<String, String>,
    /// The target profile planned for: `asana` or `generic`.
    #[serde(default)]
    pub profile: crate::config::model::Profile,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeJson {
    pub address: String,
    pub kind: plan::Kind,
    pub key: String,
    pub action: plan::Action,
    pub id: Option<String>,
    pub attributes: Vec<AttrJson>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<plan::Member>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Where the values came from (Entra, YAML or both), when Entra is merged live.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<plan::source::Source>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttrJson {
    pub path: String,
    pub before: Option<Json>,
    pub after: Option<Json>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnmanagedJson {
    pub kind: plan::Kind,
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
    pub active_users_from: plan::ActiveCount,
    pub max_count: u64,
    pub max_percent: f64,
    pub deprovision_with: crate::config::model::DeprovisionWith,
    /// Apply will refuse unless given `--allow-deprovisions` with this number.
    pub requires_allow_deprovisions: Option<u64>,
    pub empty_desired_set: bool,
    pub message: Option<String>,
}

impl From<&Plan> for PlanJson {
    fn from(p: &Plan) -> Self {
        let g = &p.deprovision_gate;
        PlanJson {
            format_version: FORMAT_VERSION.into(),
            summary: p.summary.clone(),
            changes: p
                .changes
                .iter()
                .map(|c| ChangeJson {
                    address: c.address(),
                    kind: c.kind,
                    key: c.key.clone(),
                    action: c.action,
                    id: c.id.clone(),
                    attributes: c
                        .attributes
                        .iter()
                        .map(|a| AttrJson {
                            path: a.path.clone(),
                            before: a.before.clone(),
                            after: a.after.clone(),
                        })
                        .collect(),
                    members: c.members.clone(),
                    reason: c.reason.clone(),
                    source: c.source.clone(),
                })
                .collect(),
            unmanaged: p
                .unmanaged
                .iter()
                .map(|u| UnmanagedJson {
                    kind: plan::Kind::User,
                    key: u.key.clone(),
                    id: u.id.clone(),
                })
                .collect(),
            unmanaged_checked: p.unmanaged_checked,
            deprovision_gate: GateJson {
                deprovisions: g.count,
                live_active_users: g.live_active,
                active_users_from: g.active_from,
                max_count: g.max_count,
                max_percent: g.max_percent,
                deprovision_with: p.deprovision_with,
                requires_allow_deprovisions: g.exceeded.then_some(g.count),
                empty_desired_set: g.empty_desired,
                message: g.message(),
            },
            warnings: p.warnings.clone(),
            reactivation_blocked: p.reactivation_blocked.clone(),
            references: p.references.clone(),
            profile: p.profile,
        }
    }
}

impl PlanJson {
    /// Back to the planner's value (for `show` and `apply` of a saved plan).
    pub fn to_plan(&self) -> Plan {
        let g = &self.deprovision_gate;
        Plan {
            changes: self
                .changes
                .iter()
                .map(|c| plan::Change {
                    kind: c.kind,
                    key: c.key.clone(),
                    action: c.action,
                    id: c.id.clone(),
                    attributes: c
                        .attributes
                        .iter()
                        .map(|a| plan::AttrChange {
                            path: a.path.clone(),
                            before: a.before.clone(),
                            after: a.after.clone(),
                        })
                        .collect(),
                    members: c.members.clone(),
                    reason: c.reason.clone(),
                    source: c.source.clone(),
                })
                .collect(),
            unmanaged: self
                .unmanaged
                .iter()
                .map(|u| plan::UnmanagedUser {
                    key: u.key.clone(),
                    id: u.id.clone(),
                })
                .collect(),
            summary: self.summary.clone(),
            deprovision_gate: plan::DeprovisionGate {
                count: g.deprovisions,
                live_active: g.live_active_users,
                active_from: g.active_users_from,
                max_count: g.max_count,
                max_percent: g.max_percent,
                exceeded: g.requires_allow_deprovisions.is_some(),
                empty_desired: g.empty_desired_set,
            },
            deprovision_with: g.deprovision_with,
            warnings: self.warnings.clone(),
            unmanaged_checked: self.unmanaged_checked,
            reactivation_blocked: self.reactivation_blocked.clone(),
            references: self.references.clone(),
            profile: self.profile,
        }
    }
}

/// Writes the plan as pretty JSON with a trailing newline.
pub fn render(plan: &Plan, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &PlanJson::from(plan))?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::fixtures;

    #[test]
    fn json_plan_is_pinned() {
        let mut out = Vec::new();
        render(&fixtures::plan(), &mut out).unwrap();
        insta::assert_snapshot!(String::from_utf8(out).unwrap());
    }

    #[test]
    fn json_round_trips_to_the_same_plan() {
        let plan = fixtures::plan();
        let json = PlanJson::from(&plan);
        let text = serde_json::to_string(&json).unwrap();
        let back: PlanJson = serde_json::from_str(&text).unwrap();
        assert_eq!(back.to_plan(), plan);
    }

    #[test]
    fn the_documented_fields_are_there() {
        let v = serde_json::to_value(PlanJson::from(&fixtures::plan())).unwrap();
        assert_eq!(v["format_version"], "1.1");
        assert!(FORMAT_VERSION.starts_with(&format!("{FORMAT_MAJOR}.")));
        for key in ["create", "update", "deprovision", "no_op", "unmanaged"] {
            assert!(v["summary"][key].is_u64(), "summary.{key}");
        }
        let c = &v["changes"][0];
        for key in ["address", "kind", "key", "action", "id", "attributes"] {
            assert!(c.get(key).is_some(), "changes[].{key}");
        }
        assert!(v["unmanaged"][0]["key"].is_string());
    }
}
