//! Drift: how the live organisation differs from the declarations, by category.
//!
//! Computed from a plan made with `policy.unmanaged: report`, so it names the same
//! differences a plan would act on, and nothing is changed. Pure. Its JSON is
//! [`crate::wire::drift`]'s.

use super::{Action, AttrChange, Expiring, Kind, Member, Plan, UnmanagedUser};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Drift {
    /// Declared users and groups that do not exist in the target.
    pub missing: Vec<String>,
    /// Users whose live attributes differ from what the mappings give.
    pub attributes: Vec<AttributeDrift>,
    /// Users the files disable that are still active in the target.
    pub should_be_deprovisioned: Vec<String>,
    /// Users the files enable that are deprovisioned in the target.
    pub deprovisioned_but_declared: Vec<String>,
    /// Live users no declaration matches (protected users excluded).
    pub unmanaged: Vec<UnmanagedUser>,
    /// Team memberships that differ.
    pub membership: Vec<MembershipDrift>,
    /// Whether unmanaged users were looked for.
    pub unmanaged_checked: bool,
    /// Access that ends within `policy.expiry_warning_days`, soonest first: not drift (it
    /// counts for nothing), a heads-up.
    pub expiring: Vec<Expiring>,
    /// The instant the report was made as of (seconds since the epoch).
    pub evaluated_at: i64,
    /// The target profile, which names the target in reports; not part of the JSON format.
    pub profile: crate::config::model::Profile,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AttributeDrift {
    pub address: String,
    pub attributes: Vec<AttrChange>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MembershipDrift {
    pub address: String,
    /// Declared members missing from the live team.
    pub missing: Vec<Member>,
    /// Live members the declaration does not list.
    pub extra: Vec<Member>,
}

impl Drift {
    pub fn count(&self) -> usize {
        self.missing.len()
            + self.attributes.len()
            + self.should_be_deprovisioned.len()
            + self.deprovisioned_but_declared.len()
            + self.unmanaged.len()
            + self.membership.len()
    }

    pub fn is_empty(&self) -> bool {
        self.count() == 0
    }
}

pub fn drift(plan: &Plan) -> Drift {
    let mut d = Drift {
        unmanaged: plan.unmanaged.clone(),
        unmanaged_checked: plan.unmanaged_checked,
        expiring: plan.expiring.clone(),
        evaluated_at: plan.evaluated_at,
        profile: plan.profile,
        deprovisioned_but_declared: plan
            .reactivation_blocked
            .iter()
            .map(|k| super::address(Kind::User, k))
            .collect(),
        ..Drift::default()
    };
    for c in &plan.changes {
        match c.action {
            Action::Create => d.missing.push(c.address()),
            Action::Update => d.attributes.push(AttributeDrift {
                address: c.address(),
                attributes: c.attributes.clone(),
            }),
            Action::Reactivate => d.deprovisioned_but_declared.push(c.address()),
            Action::Deprovision => d.should_be_deprovisioned.push(c.address()),
            Action::AddMembers | Action::RemoveMembers => {
                let address = c.address();
                let entry = match d.membership.iter_mut().find(|m| m.address == address) {
                    Some(e) => e,
                    None => {
                        d.membership.push(MembershipDrift {
                            address,
                            missing: vec![],
                            extra: vec![],
                        });
                        d.membership.last_mut().expect("just pushed")
                    }
                };
                // The drift report (format 1.0) names members by user; which rule wants one
                // is the plan's to say.
                let members = c.members.iter().map(|m| Member {
                    via: None,
                    ..m.clone()
                });
                if c.action == Action::AddMembers {
                    entry.missing.extend(members);
                } else {
                    entry.extra.extend(members);
                }
            }
        }
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::fixtures;

    #[test]
    fn every_category_comes_from_the_plan() {
        let d = drift(&fixtures::plan());
        assert_eq!(d.missing, [r#"user["ada@example.com"]"#]);
        assert_eq!(d.attributes.len(), 1);
        assert_eq!(d.attributes[0].address, r#"user["bob@example.com"]"#);
        assert_eq!(d.should_be_deprovisioned, [r#"user["dennis@example.com"]"#]);
        assert_eq!(d.deprovisioned_but_declared, [r#"user["zed@example.com"]"#]);
        assert_eq!(d.unmanaged.len(), 1);
        assert_eq!(d.membership.len(), 1);
        assert_eq!(
            (d.membership[0].missing.len(), d.membership[0].extra.len()),
            (2, 1)
        );
        assert_eq!(d.count(), 6);
        assert!(drift(&fixtures::empty()).is_empty());
    }
}
