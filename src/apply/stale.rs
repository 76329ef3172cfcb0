//! Stale-plan detection for `apply PLAN_FILE`: re-read just the objects the plan touches and
//! refuse when any differs from what the plan saw.

use std::collections::HashMap;

use serde_json::Value as Json;

use crate::plan::saved::{Fingerprint, SavedPlan, digest};
use crate::plan::{Change, Kind};
use crate::render::{display_path, show_value};
use crate::scim::AttrPath;
use crate::scim::client::{ClientError, ReadClient, Resource};

/// What the re-read found.
#[derive(Debug, Default)]
pub struct Freshness {
    /// Why the plan is stale, one line per object; empty when it is fresh.
    pub changed: Vec<String>,
    /// The current version (ETag) of each touched object, by address, for If-Match.
    pub etags: HashMap<String, String>,
}

/// Re-reads every touched object (at most 20 at a time) and compares it with the plan.
pub async fn check(saved: &SavedPlan, client: &ReadClient) -> Result<Freshness, ClientError> {
    let plan = saved.plan.to_plan();
    let by_address: HashMap<String, &Change> =
        plan.changes.iter().map(|c| (c.address(), c)).collect();
    let mut fresh = Freshness::default();
    let target = saved.plan.profile.target_name();
    let mut pending = saved.fingerprints.iter().collect::<Vec<_>>().into_iter();
    let mut set = tokio::task::JoinSet::new();
    loop {
        while set.len() < 20 {
            let Some((address, fp)) = pending.next() else {
                break;
            };
            let Some(change) = by_address.get(address) else {
                continue;
            };
            let (kind, key) = (change.kind, change.key.clone());
            let (client, address, fp) = (client.clone(), address.clone(), fp.clone());
            set.spawn(async move {
                let current = match (&fp, kind) {
                    (Fingerprint::Present { id, .. }, Kind::User) => client.get_user(id).await,
                    (Fingerprint::Present { id, .. }, Kind::Group) => client.get_group(id).await,
                    (Fingerprint::Absent, Kind::User) => client.find_user_by_username(&key).await,
                    (Fingerprint::Absent, Kind::Group) => client.find_group_by_name(&key).await,
                };
                current.map(|c| (address, fp, c))
            });
        }
        let Some(joined) = set.join_next().await else {
            break;
        };
        let (address, fp, current) = joined.expect("a stale check task panicked")?;
        let change = by_address[&address];
        match (fp, current) {
            (Fingerprint::Absent, None) => {}
            (Fingerprint::Absent, Some(r)) => fresh.changed.push(format!(
                "{address} now exists in {target} (id {}): the plan would create it",
                r.id().unwrap_or_default()
            )),
            (Fingerprint::Present { .. }, None) => {
                fresh
                    .changed
                    .push(format!("{address} no longer exists in {target}"));
            }
            (
                Fingerprint::Present {
                    digest: planned, ..
                },
                Some(r),
            ) => {
                if digest(&r.0) != planned {
                    fresh.changed.push(format!(
                        "{address} changed since the plan was made{}",
                        what_changed(change, &r.0)
                    ));
                } else if let Some(etag) = r.etag() {
                    fresh.etags.insert(address, etag.to_string());
                }
            }
        }
    }
    fresh.changed.sort();
    Ok(fresh)
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
