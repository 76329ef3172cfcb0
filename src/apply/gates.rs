//! The gates apply checks before its first write. Pure.
//!
//! Deprovisioning is irreversible in Asana, so: protected users are never deprovisioned, the
//! `max_deprovisions` caps hold unless the operator names the exact number with
//! `--allow-deprovisions N`, and nothing is deprovisioned when the config declares no users
//! (an empty or unreadable `users/` must not deprovision everyone).

use crate::config::Config;
use crate::config::model::Policy;
use crate::plan::{Action, ActiveCount, Kind, Plan};

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
            let share = match plan.deprovision_gate.active_from {
                ActiveCount::Read => format!("{percent:.1}% of {live_active} active"),
                ActiveCount::TargetActive => {
                    format!("{percent:.1}% of {live_active} active, as the target counts them")
                }
                ActiveCount::TargetTotal => {
                    format!("{percent:.1}% of the {live_active} users the target lists")
                }
                ActiveCount::Unknown => "the target did not say how many users it has, so \
                                         only the count cap applies"
                    .to_string(),
            };
            refusals.push(format!(
                "the plan deprovisions {count} users ({share}), more than \
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

/// A saved plan's deprovisions of users the config declares and wants active at the instant
/// the plan was evaluated at (so an expiry the plan saw passed is not a contradiction): a plan
/// file edited to deprovision someone, or a config changed since the plan to keep them. Either
/// way the irreversible change is not what the files now say, so apply refuses it.
pub fn contradicted_deprovisions(plan: &Plan, config: &Config) -> Vec<String> {
    plan.changes
        .iter()
        .filter(|c| c.kind == Kind::User && c.action == Action::Deprovision)
        .filter(|c| crate::plan::wants_active(config, &c.key, plan.evaluated_at) == Some(true))
        .map(|c| {
            format!(
                "the plan deprovisions {}, and the config declares that user enabled: refusing \
                 (the plan file was edited, or the config changed since it was made)",
                c.address()
            )
        })
        .collect()
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
    fn item2_a_saved_deprovision_of_a_user_the_config_enables_is_refused() {
        let (config, _) = crate::config::from_texts(
            "version: 1\n",
            &[(
                "users/u.yaml",
                "users:\n  - userPrincipalName: dennis@example.com\n  - userPrincipalName: off@example.com\n    accountEnabled: false\n",
            )],
            &[],
        );
        let config = config.unwrap();
        // The fixture deprovisions dennis@example.com.
        let e = contradicted_deprovisions(&fixtures::plan(), &config);
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].contains("deprovisions user[\"dennis@example.com\"], and the config declares that user enabled"), "{e:?}");
        let mut plan = fixtures::plan();
        for c in &mut plan.changes {
            if c.action == Action::Deprovision {
                c.key = "off@example.com".into();
            }
        }
        assert!(contradicted_deprovisions(&plan, &config).is_empty());
    }

    #[test]
    fn issue14_a_saved_deprovision_of_an_expired_user_is_judged_at_the_plans_instant() {
        // The fixture deprovisions dennis@example.com, whose access ends with 2026-11-28; the
        // fixture plan was evaluated at 2026-11-29T01:59:13Z.
        let (config, _) = crate::config::from_texts(
            "version: 1\n",
            &[(
                "users/u.yaml",
                "users:\n  - userPrincipalName: dennis@example.com\n    expires: 2026-11-28\n",
            )],
            &[],
        );
        let config = config.unwrap();
        assert!(contradicted_deprovisions(&fixtures::plan(), &config).is_empty());
        // The same plan said to be evaluated before the expiry: the config keeps dennis then.
        let mut early = fixtures::plan();
        early.evaluated_at -= 86_400;
        assert_eq!(contradicted_deprovisions(&early, &config).len(), 1);
    }

    #[test]
    fn an_empty_desired_set_never_deprovisions() {
        let e = check(&fixtures::plan(), &policy(25, 100.0, &[]), 0, Some(1000)).unwrap_err();
        assert!(e[0].contains("declares no users"), "{e:?}");
    }
}
