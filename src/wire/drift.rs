//! The drift report as JSON (`drift --format json`): format [`FORMAT_VERSION`], its own types
//! converted from [`crate::plan::drift::Drift`] by destructuring it whole, so a field added
//! there is a compile error here until the format says what it becomes.

use serde::{Deserialize, Serialize};

use super::plan::{AttrJson, MemberJson};
use crate::plan::UnmanagedUser;
use crate::plan::drift::{AttributeDrift, Drift, MembershipDrift};

/// Version of the JSON drift format.
pub const FORMAT_VERSION: &str = "1.0";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftJson {
    pub format_version: String,
    /// Declared users and groups that do not exist in the target.
    pub missing: Vec<String>,
    /// Users whose live attributes differ from what the mappings give.
    pub attributes: Vec<AttributeDriftJson>,
    /// Users the files disable that are still active in the target.
    pub should_be_deprovisioned: Vec<String>,
    /// Users the files enable that are deprovisioned in the target.
    pub deprovisioned_but_declared: Vec<String>,
    /// Live users no declaration matches (protected users excluded).
    pub unmanaged: Vec<UnmanagedDriftJson>,
    /// Team memberships that differ.
    pub membership: Vec<MembershipDriftJson>,
    /// Whether unmanaged users were looked for.
    pub unmanaged_checked: bool,
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
    /// Declared members missing from the live team.
    pub missing: Vec<MemberJson>,
    /// Live members the declaration does not list.
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
        }
    }
}
