//! The gates apply checks before its first write. Pure.
//!
//! Deprovisioning is irreversible in Asana, so: protected users are never deprovisioned, the
//! `max_deprovisions` caps hold unless the operator names the exact number with
//! `--allow-deprovisions N`, and nothing is deprovisioned when the config declares no users
//! (an empty or unreadable `users/` must not deprovision everyone).

use crate::config::model::Policy;
use crate::plan::{Action, Kind, Plan};

/// Every reason to refuse, or `Ok` when the plan may run.
pub fn check(
    plan: &Plan,
    policy: &Policy,
    declared_users: usize,
    allow_deprovisions: Option<u64>,
) -> Result<(), Vec<String>> {
    let mut refusals = Vec::new();
    let deprovisions: Vec<&str> = plan
        .changes
        .iter()
        .filter(|c| c.kind == Kind::User && c.action == Action::Deprovision)
        .map(|c| c.key.as_str())
        .collect();
    for key in &deprovisions {
        if let Some(p) = policy.protected.iter().find(|p| p.matches(key)) {
            refusals.push(format!(
                "user[\"{key}\"] is protected by policy.protected (`{}`) and the plan would deprovision it: \
                 refusing; fix the files or the policy and plan again",
                p.pattern
            ));
        }
    }
    let count = deprovisions.len() as u64;
    if count > 0 && declared_users == 0 {
        refusals.push(format!(
            "the config declares no users, and the plan would deprovision {count}: refusing \
             (an empty or unreadable users/ directory must not deprovision everyone)"
        ));
    }
    let live_active = plan.deprovision_gate.live_active;
    let percent = if live_active == 0 {
        0.0
    } else {
        count as f64 * 100.0 / live_active as f64
    };
    let max = policy.max_deprovisions;
    if count > max.count || percent > max.percent {
        let allowed = allow_deprovisions.is_some_and(|n| n >= count);
        if !allowed {
            let given = match allow_deprovisions {
                Some(n) => format!(" (--allow-deprovisions {n} is fewer)"),
                None => String::new(),
            };
            refusals.push(format!(
                "the plan deprovisions {count} users ({percent:.1}% of {live_active} active), more than \
                 policy.max_deprovisions allows (count {}, percent {}){given}: if that is intended, run again \
                 with --allow-deprovisions {count}",
                max.count, max.percent
            ));
        }
    }
    if refusals.is_empty() {
        Ok(())
    } else {
        Err(refusals)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::{MaxDeprovisions, ProtectedPattern};
    use crate::render::fixtures;

    fn policy(count: u64, percent: f64, protected: &[&str]) -> Policy {
        Policy {
            max_deprovisions: MaxDeprovisions { count, percent },
            protected: protected
                .iter()
                .map(|p| ProtectedPattern::new(p).unwrap())
                .collect(),
            ..Policy::default()
        }
    }

    #[test]
    fn within_the_caps_the_plan_runs() {
        assert!(check(&fixtures::plan(), &policy(25, 10.0, &[]), 20, None).is_ok());
    }

    #[test]
    fn protected_users_are_refused() {
        let e = check(
            &fixtures::plan(),
            &policy(25, 10.0, &["dennis@*"]),
            20,
            None,
        )
        .unwrap_err();
        assert!(
            e[0].contains(
                "user[\"dennis@example.com\"] is protected by policy.protected (`dennis@*`)"
            ),
            "{e:?}"
        );
    }

    #[test]
    fn the_count_cap_needs_the_exact_override() {
        let e = check(&fixtures::plan(), &policy(0, 100.0, &[]), 20, None).unwrap_err();
        assert!(
            e[0].ends_with("run again with --allow-deprovisions 1"),
            "{e:?}"
        );
        assert!(check(&fixtures::plan(), &policy(0, 100.0, &[]), 20, Some(1)).is_ok());
        let e = check(&fixtures::plan(), &policy(0, 100.0, &[]), 20, Some(0)).unwrap_err();
        assert!(e[0].contains("(--allow-deprovisions 0 is fewer)"), "{e:?}");
    }

    #[test]
    fn the_percent_cap_counts_against_active_users() {
        // 1 of 20 active users is 5%.
        let e = check(&fixtures::plan(), &policy(25, 4.0, &[]), 20, None).unwrap_err();
        assert!(e[0].contains("(5.0% of 20 active)"), "{e:?}");
        assert!(check(&fixtures::plan(), &policy(25, 5.0, &[]), 20, None).is_ok());
    }

    #[test]
    fn an_empty_desired_set_never_deprovisions() {
        let e = check(&fixtures::plan(), &policy(25, 100.0, &[]), 0, Some(1000)).unwrap_err();
        assert!(e[0].contains("declares no users"), "{e:?}");
    }
}
