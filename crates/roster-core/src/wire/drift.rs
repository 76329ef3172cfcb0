//! The drift report as JSON (`drift --format json`): format [`FORMAT_VERSION`], its own types
//! converted from [`crate::plan::drift::Drift`] by destructuring it whole, so a field added
//! there is a compile error here until the format says what it becomes.

use serde::{Deserialize, Serialize};

use super::plan::{AttrJson, ExpiringJson, MemberJson};
use crate::plan::UnmanagedUser;
use crate::plan::drift::{AttributeDrift, Drift, MembershipDrift};

/// Version of the JSON drift format.
pub const FORMAT_VERSION: &str = "1.1";

/// The report; each field means what [`Drift`]'s does, and docs/plan-format.md ("Drift
/// reports") says so for consumers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftJson {
    pub format_version: String,
    pub missing: Vec<String>,
    pub attributes: Vec<AttributeDriftJson>,
    pub should_be_deprovisioned: Vec<String>,
    pub deprovisioned_but_declared: Vec<String>,
    pub unmanaged: Vec<UnmanagedDriftJson>,
    pub membership: Vec<MembershipDriftJson>,
    pub unmanaged_checked: bool,
    /// Added in 1.1: access that ends within `policy.expiry_warning_days`, soonest first.
    #[serde(default)]
    pub expiring: Vec<ExpiringJson>,
    /// Added in 1.1: the instant the report was made as of (RFC 3339, UTC).
    #[serde(default)]
    pub evaluated_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttributeDriftJson {
    pub address: String,
    pub attributes: Vec<AttrJson>,
}

/// A live user no declaration matches (unlike the plan's, without a `kind`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnmanagedDriftJson {
    pub key: String,
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MembershipDriftJson {
    pub address: String,
    pub missing: Vec<MemberJson>,
    pub extra: Vec<MemberJson>,
}

impl From<&Drift> for DriftJson {
    fn from(d: &Drift) -> Self {
        let Drift {
            missing,
            attributes,
            should_be_deprovisioned,
            deprovisioned_but_declared,
            unmanaged,
            membership,
            unmanaged_checked,
            expiring,
            evaluated_at,
            // Names the target in text reports; not part of the format.
            profile: _,
        } = d;
        DriftJson {
            format_version: FORMAT_VERSION.into(),
            missing: missing.clone(),
            attributes: attributes
                .iter()
                .map(|a| {
                    let AttributeDrift {
                        address,
                        attributes,
                    } = a;
                    AttributeDriftJson {
                        address: address.clone(),
                        attributes: attributes.iter().map(AttrJson::from).collect(),
                    }
                })
                .collect(),
            should_be_deprovisioned: should_be_deprovisioned.clone(),
            deprovisioned_but_declared: deprovisioned_but_declared.clone(),
            unmanaged: unmanaged
                .iter()
                .map(|u| {
                    let UnmanagedUser { key, id } = u;
                    UnmanagedDriftJson {
                        key: key.clone(),
                        id: id.clone(),
                    }
                })
                .collect(),
            membership: membership
                .iter()
                .map(|m| {
                    let MembershipDrift {
                        address,
                        missing,
                        extra,
                    } = m;
                    MembershipDriftJson {
                        address: address.clone(),
                        missing: missing.iter().map(MemberJson::from).collect(),
                        extra: extra.iter().map(MemberJson::from).collect(),
                    }
                })
                .collect(),
            unmanaged_checked: *unmanaged_checked,
            expiring: expiring.iter().map(ExpiringJson::from).collect(),
            evaluated_at: Some(crate::civil_time::rfc3339(
                u64::try_from(*evaluated_at).unwrap_or(0),
            )),
        }
    }
}
