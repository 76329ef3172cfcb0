//! Stale-plan detection for `apply PLAN_FILE`: re-read just the objects the plan touches (and
//! the users it refers to by id) and refuse when any differs from what the plan saw: a changed
//! object, a team whose members changed, a user to create that now exists, an id that now
//! names another user.

use std::collections::{BTreeSet, HashMap};

use serde_json::Value as Json;

use crate::plan::{Change, Kind, LiveGroup};
use crate::render::{display_path, show_value};
use crate::scim::AttrPath;
use crate::scim::client::{ClientError, ReadClient, Resource};
use crate::wire::saved::{Fingerprint, SavedPlan, digest};

/// What the re-read found.
#[derive(Debug, Default)]
pub struct Freshness {
    /// Why the plan is stale, one line per object; empty when it is fresh.
    pub changed: Vec<String>,
    /// The current version (ETag) of each touched object, by address, for If-Match.
    pub etags: HashMap<String, String>,
}

/// Re-reads every touched or referred-to object (at most 20 at a time) and compares it with
/// the plan. The plan has passed [`crate::wire::integrity::check`]: every change has a
/// fingerprint, with its id.
pub async fn check(saved: &SavedPlan, client: &ReadClient) -> Result<Freshness, ClientError> {
    let plan = saved.plan.to_plan();
    let by_address: HashMap<String, &Change> =
        plan.changes.iter().map(|c| (c.address(), c)).collect();
    let mut fresh = Freshness::default();
    let target = saved.plan.profile().target_name();
    // Keys for lookups by name: the change's, or the userName a referenced user had.
    let wanted =
        saved
            .fingerprints
            .iter()
            .filter_map(|(address, fp)| match (by_address.get(address), fp) {
                (Some(c), _) => Some((address, fp, c.kind, c.key.clone())),
                (None, Fingerprint::Referenced { user_name, .. }) => {
                    Some((address, fp, Kind::User, user_name.clone()))
                }
                (None, _) => None,
            });
    let mut pending = wanted.collect::<Vec<_>>().into_iter();
    let mut set = tokio::task::JoinSet::new();
    loop {
        while set.len() < 20 {
            let Some((address, fp, kind, key)) = pending.next() else {
                break;
            };
            let (client, address, fp) = (client.clone(), address.clone(), fp.clone());
            set.spawn(async move {
                let current = match (&fp, kind) {
                    (Fingerprint::Absent, Kind::User) => client.find_user_by_username(&key).await,
                    (Fingerprint::Absent, Kind::Group) => client.find_group_by_name(&key).await,
                    (_, Kind::User) => client.get_user(fp.id().unwrap_or_default()).await,
                    (_, Kind::Group) => client.get_group(fp.id().unwrap_or_default()).await,
                };
                current.map(|c| (address, fp, c))
            });
        }
        let Some(joined) = set.join_next().await else {
            break;
        };
        let (address, fp, current) = joined.expect("a stale check task panicked")?;
        match (fp, current) {
            (Fingerprint::Absent, None) => {}
            (Fingerprint::Absent, Some(r)) => fresh.changed.push(format!(
                "{address} now exists in {target} (id {}): the plan would create it",
                r.id().unwrap_or_default()
            )),
            (_, None) => {
                fresh
                    .changed
                    .push(format!("{address} no longer exists in {target}"));
            }
            (Fingerprint::Referenced { id, user_name }, Some(r)) => {
                let now = r.str_attr("userName").unwrap_or_default();
                if !crate::names::same_name(now, &user_name) {
                    fresh.changed.push(format!(
                        "{address} was id {id} when planned, and id {id} is now `{now}`"
                    ));
                }
            }
            (
                Fingerprint::Present {
                    digest: planned,
                    members,
                    ..
                },
                Some(r),
            ) => {
                if digest(&r.0) == planned {
                    if let Some(etag) = r.etag() {
                        fresh.etags.insert(address, etag.to_string());
                    }
                    continue;
                }
                let change = by_address[&address];
                let moved = match members {
                    Some(seen) => membership_moved(&plan, &seen, &r.0),
                    None => None,
                };
                fresh.changed.push(format!(
                    "{address} changed since the plan was made{}",
                    moved.unwrap_or_else(|| what_changed(change, &r.0))
                ));
            }
        }
    }
    fresh.changed.sort();
    Ok(fresh)
}

/// A team's members now against the members it had when planned, e.g.
/// `: its members changed (added bob@example.com; removed 1204)`; `None` when they are the
/// same. Members are named by userName where the plan knows it, else by id.
fn membership_moved(plan: &crate::plan::Plan, seen: &[String], current: &Json) -> Option<String> {
    let now: BTreeSet<String> = LiveGroup::from_resource(current.clone())
        .map(|g| g.member_ids.into_iter().collect())
        .unwrap_or_default();
    let before: BTreeSet<String> = seen.iter().cloned().collect();
    if now == before {
        return None;
    }
    let names: HashMap<&str, &str> = plan
        .references
        .iter()
        .map(|(k, id)| (id.as_str(), k.as_str()))
        .chain(plan.changes.iter().flat_map(|c| {
            let user = (c.kind == Kind::User)
                .then_some(c)
                .and_then(|c| Some((c.id.as_deref()?, c.key.as_str())));
            c.members
                .iter()
                .filter_map(|m| Some((m.id.as_deref()?, m.key.as_str())))
                .chain(user)
        }))
        .collect();
    let name = |id: &String| names.get(id.as_str()).map_or(id.clone(), |k| k.to_string());
    let list = |ids: Vec<&String>| ids.into_iter().map(name).collect::<Vec<_>>().join(", ");
    let added: Vec<&String> = now.difference(&before).collect();
    let removed: Vec<&String> = before.difference(&now).collect();
    let mut parts = Vec::new();
    if !added.is_empty() {
        parts.push(format!("added {}", list(added)));
    }
    if !removed.is_empty() {
        parts.push(format!("removed {}", list(removed)));
    }
    Some(format!(": its members changed ({})", parts.join("; ")))
}

/// The planned attributes whose live value moved, e.g. `: title was "Engineer", is now "Lead"`.
fn what_changed(change: &Change, current: &Json) -> String {
    let moved: Vec<String> = change
        .attributes
        .iter()
        .filter(|a| !a.path.ends_with(":manager"))
        .filter_map(|a| {
            let now = AttrPath::parse(&a.path).ok()?.get(current).cloned();
            (now != a.before).then(|| {
                format!(
                    "{} was {}, is now {}",
                    display_path(&a.path),
                    show_value(a.before.as_ref()),
                    show_value(now.as_ref())
                )
            })
        })
        .collect();
    if moved.is_empty() {
        let version = Resource(current.clone())
            .etag()
            .map(|v| format!(" (now version {v})"))
            .unwrap_or_default();
        format!(": it was edited{version}")
    } else {
        format!(": {}", moved.join("; "))
    }
}
