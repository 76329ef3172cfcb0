//! The order apply sends a plan's changes in. Pure.
//!
//! Users are created, updated and reactivated first, managers before the users reporting to
//! them (in levels); then teams are created, then their membership is changed; deprovisions
//! come last. The changes of one batch run concurrently; a batch starts when the one before it
//! has finished. Every change is in exactly one batch.

use std::collections::HashMap;

use crate::plan::{Action, Change, Kind};

/// A plan's changes in the batches they are sent in, first batch first. `patch`: whether
/// the target supports PATCH (without it, a membership change is a PUT of the whole team).
pub fn batches(changes: &[Change], patch: bool) -> Vec<Vec<&Change>> {
    let (deprovisions, rest): (Vec<&Change>, Vec<&Change>) = changes
        .iter()
        .partition(|c| c.action == Action::Deprovision);
    let (users, groups): (Vec<&Change>, Vec<&Change>) =
        rest.into_iter().partition(|c| c.kind == Kind::User);
    let mut batches = manager_levels(&users);
    // A team is created before members are added to it elsewhere in the plan.
    let (creates, memberships): (Vec<&Change>, Vec<&Change>) =
        groups.into_iter().partition(|c| c.action == Action::Create);
    batches.push(creates);
    if patch {
        batches.push(memberships);
    } else {
        // Without PATCH a membership change is a read and a PUT of the whole team: a team's
        // additions and removals run one after the other, or the second would overwrite the
        // first (or, with ETags, be refused for it).
        let (adds, removes): (Vec<&Change>, Vec<&Change>) = memberships
            .into_iter()
            .partition(|c| c.action == Action::AddMembers);
        batches.push(adds);
        batches.push(removes);
    }
    batches.push(deprovisions);
    batches
}

/// Splits user changes into levels so every manager is created before the users reporting to
/// them: level 0 has no manager being created in this plan, level n's manager is in level n-1.
fn manager_levels<'a>(users: &[&'a Change]) -> Vec<Vec<&'a Change>> {
    let created: HashMap<&str, usize> = users
        .iter()
        .enumerate()
        .filter(|(_, c)| c.action == Action::Create)
        .map(|(i, c)| (c.key.as_str(), i))
        .collect();
    let manager = |c: &Change| -> Option<usize> {
        c.attributes
            .iter()
            .find(|a| a.path.ends_with(":manager"))
            .and_then(|a| a.after.as_ref()?.as_str().map(crate::plan::match_key))
            .and_then(|m| created.get(m.as_str()).copied())
    };
    let mut depth: Vec<Option<usize>> = vec![None; users.len()];
    fn depth_of(
        i: usize,
        users: &[&Change],
        manager: &dyn Fn(&Change) -> Option<usize>,
        depth: &mut Vec<Option<usize>>,
        guard: usize,
    ) -> usize {
        if let Some(d) = depth[i] {
            return d;
        }
        // Validation forbids manager cycles; the guard keeps a broken plan file from looping.
        let d = match manager(users[i]) {
            Some(m) if m != i && guard < users.len() => {
                depth_of(m, users, manager, depth, guard + 1) + 1
            }
            _ => 0,
        };
        depth[i] = Some(d);
        d
    }
    let mut levels: Vec<Vec<&Change>> = Vec::new();
    for i in 0..users.len() {
        let d = depth_of(i, users, &manager, &mut depth, 0);
        if levels.len() <= d {
            levels.resize_with(d + 1, Vec::new);
        }
        levels[d].push(users[i]);
    }
    levels
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{AttrChange, Member};
    use serde_json::json;

    fn change(kind: Kind, key: &str, action: Action) -> Change {
        Change {
            kind,
            key: key.into(),
            action,
            id: (action != Action::Create).then(|| format!("id-{key}")),
            attributes: vec![],
            members: vec![],
            reason: None,
            source: None,
        }
    }

    fn create(key: &str, manager: Option<&str>) -> Change {
        Change {
            attributes: manager
                .map(|m| AttrChange {
                    path: format!("{}:manager", crate::scim::ENTERPRISE_USER),
                    before: None,
                    after: Some(json!(m)),
                })
                .into_iter()
                .collect(),
            ..change(Kind::User, key, Action::Create)
        }
    }

    /// Each batch as `address action` lines, sorted (a batch has no order of its own).
    fn names(batches: &[Vec<&Change>]) -> Vec<Vec<String>> {
        batches
            .iter()
            .map(|b| {
                let mut names: Vec<String> = b
                    .iter()
                    .map(|c| format!("{} {}", c.address(), c.action.as_str()))
                    .collect();
                names.sort();
                names
            })
            .collect()
    }

    #[test]
    fn managers_are_created_before_their_reports() {
        let c = [
            create("d@x", Some("c@x")),
            create("c@x", Some("b@x")),
            create("a@x", None),
            create("b@x", Some("a@x")),
            create("e@x", Some("live@x")),
        ];
        let refs: Vec<&Change> = c.iter().collect();
        let levels: Vec<Vec<&str>> = manager_levels(&refs)
            .iter()
            .map(|l| l.iter().map(|c| c.key.as_str()).collect())
            .collect();
        assert_eq!(
            levels,
            vec![vec!["a@x", "e@x"], vec!["b@x"], vec!["c@x"], vec!["d@x"]]
        );
    }

    #[test]
    fn a_cycle_in_a_broken_plan_file_does_not_loop() {
        let c = [create("a@x", Some("b@x")), create("b@x", Some("a@x"))];
        let refs: Vec<&Change> = c.iter().collect();
        let n: usize = manager_levels(&refs).iter().map(Vec::len).sum();
        assert_eq!(n, 2);
    }

    fn mixed() -> Vec<Change> {
        let mut team = change(Kind::Group, "Eng", Action::AddMembers);
        team.members = vec![Member {
            key: "b@x".into(),
            id: None,
            via: None,
        }];
        vec![
            change(Kind::Group, "Design", Action::RemoveMembers),
            change(Kind::User, "gone@x", Action::Deprovision),
            team,
            create("b@x", Some("a@x")),
            change(Kind::Group, "Eng", Action::RemoveMembers),
            change(Kind::User, "c@x", Action::Update),
            change(Kind::Group, "New", Action::Create),
            create("a@x", None),
            change(Kind::User, "d@x", Action::Reactivate),
            // Never planned; a hand-made plan file must not get it sent twice.
            change(Kind::Group, "Old", Action::Deprovision),
        ]
    }

    #[test]
    fn issue12_users_by_level_then_teams_then_deprovisions() {
        let changes = mixed();
        assert_eq!(
            names(&batches(&changes, true)),
            [
                vec![
                    "user[\"a@x\"] create",
                    "user[\"c@x\"] update",
                    "user[\"d@x\"] reactivate"
                ],
                vec!["user[\"b@x\"] create"],
                vec!["group[\"New\"] create"],
                vec![
                    "group[\"Design\"] remove_members",
                    "group[\"Eng\"] add_members",
                    "group[\"Eng\"] remove_members",
                ],
                vec!["group[\"Old\"] deprovision", "user[\"gone@x\"] deprovision"],
            ]
        );
    }

    #[test]
    fn issue12_without_patch_a_teams_additions_and_removals_run_in_turn() {
        let changes = mixed();
        let batches = names(&batches(&changes, false));
        assert_eq!(
            batches[3..],
            [
                vec!["group[\"Eng\"] add_members".to_string()],
                vec![
                    "group[\"Design\"] remove_members".to_string(),
                    "group[\"Eng\"] remove_members".to_string(),
                ],
                vec![
                    "group[\"Old\"] deprovision".to_string(),
                    "user[\"gone@x\"] deprovision".to_string(),
                ],
            ]
        );
    }

    #[test]
    fn issue12_every_change_is_in_exactly_one_batch() {
        let changes = mixed();
        let mut planned: Vec<String> = names(&[changes.iter().collect()]).concat();
        planned.sort();
        for patch in [true, false] {
            let mut sent = names(&batches(&changes, patch)).concat();
            sent.sort();
            assert_eq!(sent, planned, "patch: {patch}");
        }
    }
}
