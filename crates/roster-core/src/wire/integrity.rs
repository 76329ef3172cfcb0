//! Whether a saved plan may be carried out at all: it is the file roster wrote (its digest),
//! for the target this run talks to, and self-consistent. Pure; `apply` runs it before any
//! request and `show` reports what it finds.
//!
//! Self-consistent means what `apply` trusts from the file agrees with the fingerprints that
//! the stale check then verifies against the target: every change has a fingerprint at its
//! address, with the same id; a create's object was absent and every other change's present;
//! every id the plan refers to (managers, team members) is one a fingerprint records; and the
//! summary counts the changes there are. A digest is not a signature: a plan rewritten whole,
//! digest included, passes these checks, which is why an artifact from a pull request is
//! trustworthy only when planned again (README, `roster apply`).

use std::collections::{BTreeMap, BTreeSet};

use super::plan::ChangeJson;
use super::saved::{Fingerprint, PlanFile, same_target};
use crate::plan::{Action, Change, Kind, Summary, address};

/// Every reason to refuse the plan, or `Ok` when it may go on to the stale check.
/// `current_target` is this run's target as a plan records it; `None` skips that check
/// (`show`, which talks to no target).
pub fn check(file: &PlanFile, current_target: Option<&str>) -> Result<(), Vec<String>> {
    let saved = &file.saved;
    let mut refusals = Vec::new();
    match &saved.digest {
        None => refusals.push(
            "the plan file carries no digest (it was made by an older roster, or the digest was \
             removed), so an edit cannot be told apart"
                .to_string(),
        ),
        Some(d) if *d != file.contents_digest => refusals.push(format!(
            "the plan file was edited after roster wrote it: it carries the digest {d}, and what \
             it holds has the digest {}",
            file.contents_digest
        )),
        Some(_) => {}
    }
    if let Some(current) = current_target
        && !same_target(&saved.target, current)
    {
        refusals.push(format!(
            "the plan was made against `{}`, and this run targets `{current}`",
            saved.target
        ));
    }
    refusals.extend(structure(file));
    if refusals.is_empty() {
        Ok(())
    } else {
        Err(refusals)
    }
}

/// What does not agree inside the file: changes against fingerprints, references, summary.
fn structure(file: &PlanFile) -> Vec<String> {
    let saved = &file.saved;
    let fps = &saved.fingerprints;
    let mut out = Vec::new();
    let mut seen: BTreeSet<(String, Action)> = BTreeSet::new();
    let mut users_seen: BTreeSet<String> = BTreeSet::new();
    for (i, written) in saved.plan.changes.iter().enumerate() {
        let c = &written.to_change();
        let at = c.address();
        let label = format!("change {} ({at} {})", i + 1, c.action.as_str());
        if written.address != at {
            out.push(format!(
                "{label} is labelled `{}`, which is not its kind and key",
                written.address
            ));
        }
        let allowed = match c.kind {
            Kind::User => matches!(
                c.action,
                Action::Create | Action::Update | Action::Reactivate | Action::Deprovision
            ),
            Kind::Group => matches!(
                c.action,
                Action::Create | Action::AddMembers | Action::RemoveMembers
            ),
        };
        if !allowed {
            out.push(format!(
                "{label}: roster never plans that action for a {}",
                kind(c.kind)
            ));
        }
        let repeated = !seen.insert((at.clone(), c.action))
            || (c.kind == Kind::User && !users_seen.insert(at.clone()));
        if repeated {
            out.push(format!("{label}: the plan already has a change for {at}"));
        }
        out.extend(against_fingerprint(&label, c, fps.get(&at)));
        out.extend(members(&label, c, fps));
    }
    for (key, id) in &saved.plan.references {
        let at = address(Kind::User, key);
        let recorded = fps.get(&at).and_then(Fingerprint::id);
        if recorded != Some(id.as_str()) {
            out.push(format!(
                "the plan refers to {at} as id {id}, and {}",
                recorded_as(recorded)
            ));
        }
    }
    // The instant the plan was evaluated at decides which expiries it carries out, and apply
    // judges the plan's deprovisions against the config at that instant: it must be one.
    if let Some(at) = &saved.plan.evaluated_at
        && crate::civil_time::parse_rfc3339(at).is_err()
    {
        out.push(format!(
            "the plan's evaluated_at `{at}` is not an RFC 3339 timestamp"
        ));
    }
    let counted = summary_of(&saved.plan.changes);
    let s = &saved.plan.summary;
    let claimed = [
        s.create,
        s.update,
        s.reactivate,
        s.deprovision,
        s.add_members,
        s.remove_members,
    ];
    let actual = [
        counted.create,
        counted.update,
        counted.reactivate,
        counted.deprovision,
        counted.add_members,
        counted.remove_members,
    ];
    if claimed != actual || saved.plan.deprovision_gate.deprovisions != counted.deprovision {
        out.push(format!(
            "the plan's summary says {} to create, {} to update, {} to deprovision, and its \
             changes are {} creates, {} updates, {} deprovisions",
            s.create, s.update, s.deprovision, counted.create, counted.update, counted.deprovision
        ));
    }
    out
}

/// A change against the fingerprint at its address: present for everything but a create,
/// absent for a create, and the same id.
fn against_fingerprint(label: &str, c: &Change, fp: Option<&Fingerprint>) -> Option<String> {
    let Some(fp) = fp else {
        return Some(format!(
            "{label} has no fingerprint (roster fingerprints every object a plan changes)"
        ));
    };
    match (c.action, fp, c.id.as_deref()) {
        (Action::Create, Fingerprint::Absent, None) => None,
        (Action::Create, Fingerprint::Absent, Some(id)) => Some(format!(
            "{label} carries the id {id}, and a create has none"
        )),
        (Action::Create, fp, _) => Some(format!(
            "{label} creates an object that its fingerprint says existed ({})",
            recorded_as(fp.id())
        )),
        (_, Fingerprint::Absent, _) => Some(format!(
            "{label} needs an existing object, and its fingerprint says there was none"
        )),
        (_, Fingerprint::Referenced { .. }, _) => Some(format!(
            "{label} changes an object whose fingerprint records it only as referred to"
        )),
        (_, Fingerprint::Present { id, .. }, Some(cid)) if cid == id => None,
        (_, Fingerprint::Present { id, .. }, cid) => Some(format!(
            "{label} is for id {}, and its fingerprint for id {id}",
            cid.unwrap_or("(none)")
        )),
    }
}

/// Member ids against what the fingerprints record: an added member's id is the one the
/// fingerprint of that user records; a removed one was a member of the team as read.
fn members(label: &str, c: &Change, fps: &BTreeMap<String, Fingerprint>) -> Vec<String> {
    let mut out = Vec::new();
    if c.kind != Kind::Group {
        if !c.members.is_empty() {
            out.push(format!("{label}: only a team has members"));
        }
        return out;
    }
    let team = match fps.get(&address(Kind::Group, &c.key)) {
        Some(Fingerprint::Present { members, .. }) => members.as_ref(),
        _ => None,
    };
    for m in &c.members {
        let Some(id) = m.id.as_deref() else {
            if c.action == Action::RemoveMembers {
                out.push(format!("{label}: member {} has no id to remove", m.key));
            }
            continue;
        };
        let at = address(Kind::User, &m.key);
        let recorded = fps.get(&at).and_then(Fingerprint::id);
        let known = match c.action {
            // Removed: a member as read; and, when the user is fingerprinted, that user.
            Action::RemoveMembers => {
                team.is_some_and(|t| t.iter().any(|t| t == id)) && recorded.is_none_or(|r| r == id)
            }
            _ => recorded == Some(id),
        };
        if !known {
            let why = match c.action {
                Action::RemoveMembers if !team.is_some_and(|t| t.iter().any(|t| t == id)) => {
                    "the team's fingerprint does not list it as a member".to_string()
                }
                _ => recorded_as(recorded),
            };
            out.push(format!(
                "{label}: member {} is given as id {id}, and {why}",
                m.key
            ));
        }
    }
    out
}

fn recorded_as(id: Option<&str>) -> String {
    match id {
        Some(id) => format!("its fingerprint records id {id}"),
        None => "no fingerprint records an id for it".to_string(),
    }
}

fn kind(kind: Kind) -> &'static str {
    match kind {
        Kind::User => "user",
        Kind::Group => "team",
    }
}

fn summary_of(changes: &[ChangeJson]) -> Summary {
    let mut s = Summary::default();
    for c in changes {
        s.count(c.action.into());
    }
    s
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::plan::{Capabilities, Live, LiveGroup, LiveUser, Scope, plan};
    use crate::wire::saved::{Provenance, SavedPlan, contents_digest};

    /// A plan that creates b, updates a, and removes x from team T; sealed like a saved file.
    fn file() -> PlanFile {
        let (config, _) = crate::config::from_texts(
            "version: 1\n",
            &[(
                "users/u.yaml",
                "users:\n  - userPrincipalName: a@x.io\n    jobTitle: Lead\n  - userPrincipalName: b@x.io\n",
            )],
            &[(
                "groups/g.yaml",
                "groups:\n  - displayName: T\n    members: [a@x.io]\n",
            )],
        );
        let user = |id: &str, name: &str| {
            LiveUser::from_resource(json!({ "id": id, "userName": name, "active": true })).unwrap()
        };
        let team = json!({ "id": "9", "displayName": "T", "members": [{ "value": "1" }, { "value": "7" }] });
        let live = Live {
            users: vec![user("1", "a@x.io"), user("7", "x@x.io")],
            groups: vec![LiveGroup::from_resource(team).unwrap()],
            complete: true,
            reported_users: None,
        };
        let config = config.unwrap();
        let p = plan(&config, &live, Capabilities::ASANA, &Scope::default());
        let provenance = Provenance {
            roster_version: "0".into(),
            created_at: "t".into(),
            config_digest: "sha256:x".into(),
            git_commit: None,
            target: "http://127.0.0.1:1/scim".into(),
        };
        seal(serde_json::to_value(SavedPlan::new(&p, &live, &config, provenance)).unwrap())
    }

    fn seal(mut v: serde_json::Value) -> PlanFile {
        v["digest"] = json!(contents_digest(&v));
        crate::wire::saved::parse(&v.to_string()).unwrap()
    }

    fn refusals(f: impl FnOnce(&mut serde_json::Value)) -> Vec<String> {
        let mut v = serde_json::to_value(&file().saved).unwrap();
        f(&mut v);
        check(&seal(v), Some("http://127.0.0.1:1/scim/"))
            .err()
            .unwrap_or_default()
    }

    fn change<'a>(v: &'a mut serde_json::Value, action: &str) -> &'a mut serde_json::Value {
        v["plan"]["changes"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .find(|c| c["action"] == action)
            .unwrap()
    }

    #[test]
    fn item2_a_saved_plan_as_written_passes() {
        let f = file();
        let actions: Vec<Action> = (f.saved.plan.changes.iter())
            .map(|c| c.action.into())
            .collect();
        assert_eq!(
            actions,
            [Action::Update, Action::Create, Action::RemoveMembers]
        );
        assert_eq!(check(&f, Some("http://127.0.0.1:1/scim")), Ok(()));
    }

    type Tamper = Box<dyn FnOnce(&mut serde_json::Value)>;

    #[test]
    fn issue14_the_evaluation_instant_is_covered_by_the_digest_and_must_be_an_instant() {
        // Moved a year ahead and sealed again: a well-formed instant passes here (apply then
        // refuses a plan evaluated ahead of its clock); not one is refused.
        assert_eq!(
            refusals(|v| v["plan"]["evaluated_at"] = json!("2027-12-02T00:00:00Z")),
            Vec::<String>::new()
        );
        assert_eq!(
            refusals(|v| v["plan"]["evaluated_at"] = json!("next year")),
            ["the plan's evaluated_at `next year` is not an RFC 3339 timestamp"]
        );
        // Edited without sealing: the digest no longer matches.
        let mut f = file();
        f.saved.plan.evaluated_at = Some("2027-12-02T00:00:00Z".into());
        f.contents_digest = contents_digest(&serde_json::to_value(&f.saved).unwrap());
        let refused = check(&f, None).unwrap_err();
        assert!(
            refused[0].contains("was edited after roster wrote it"),
            "{refused:?}"
        );
    }

    #[test]
    fn item2_each_inconsistency_is_named() {
        let cases: Vec<(Tamper, &str)> = vec![
            (
                Box::new(|v| change(v, "create")["id"] = json!("1")),
                "change 2 (user[\"b@x.io\"] create) carries the id 1, and a create has none",
            ),
            (
                Box::new(|v| {
                    v["fingerprints"]["user[\"b@x.io\"]"] =
                        v["fingerprints"]["user[\"a@x.io\"]"].clone()
                }),
                "change 2 (user[\"b@x.io\"] create) creates an object that its fingerprint says existed (its fingerprint records id 1)",
            ),
            (
                Box::new(|v| v["fingerprints"]["user[\"a@x.io\"]"] = json!({ "state": "absent" })),
                "change 1 (user[\"a@x.io\"] update) needs an existing object, and its fingerprint says there was none",
            ),
            (
                Box::new(|v| change(v, "update")["address"] = json!("user[\"z@x.io\"]")),
                "is labelled `user[\"z@x.io\"]`, which is not its kind and key",
            ),
            (
                Box::new(|v| change(v, "update")["kind"] = json!("group")),
                "roster never plans that action for a team",
            ),
            (
                Box::new(|v| change(v, "remove_members")["members"][0]["id"] = json!("8")),
                "member x@x.io is given as id 8, and the team's fingerprint does not list it as a member",
            ),
            (
                Box::new(|v| {
                    let dup = change(v, "update").clone();
                    v["plan"]["changes"].as_array_mut().unwrap().push(dup);
                }),
                "the plan already has a change for user[\"a@x.io\"]",
            ),
            (
                Box::new(|v| v["target"] = json!("https://evil.example/scim")),
                "the plan was made against `https://evil.example/scim`, and this run targets `http://127.0.0.1:1/scim/`",
            ),
        ];
        for (tamper, expected) in cases {
            let r = refusals(tamper);
            assert!(r.iter().any(|r| r.contains(expected)), "{expected}: {r:#?}");
        }
    }
}
