//! Saved plans (`plan --out FILE`): the plan plus what `apply FILE` needs to refuse a stale one.
//!
//! The file records the tool version, a digest of the config directory, the git commit when
//! there is one, the target (URL without secrets) and a fingerprint of every live object the
//! plan touches, and for every create that the object was absent. It never holds a token.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use sha2::{Digest, Sha256};

use super::{Action, Kind, Live, Plan};
use crate::render::json::PlanJson;

/// Largest plan file `apply` and `show` read (a plan creating 100,000 users is about 150 MB).
pub const MAX_PLAN_BYTES: u64 = 512 * 1024 * 1024;

/// Identifies the file type, so `show` can tell a plan from any other JSON.
pub const FILE_KIND: &str = "roster-plan";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedPlan {
    pub kind: String,
    pub roster_version: String,
    pub created_at: String,
    /// `sha256:` of the config files' paths and contents.
    pub config_digest: String,
    pub git_commit: Option<String>,
    /// The SCIM base URL planned against (never with credentials).
    pub target: String,
    /// What each touched object looked like when planned, by address.
    pub fingerprints: BTreeMap<String, Fingerprint>,
    pub plan: PlanJson,
}

/// The state of one touched live object at plan time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Fingerprint {
    /// The object existed with this id and this digest of its resource.
    Present { id: String, digest: String },
    /// No live object matched: the plan creates it.
    Absent,
}

/// Metadata the command gathers (IO) for a saved plan.
#[derive(Debug, Clone)]
pub struct Provenance {
    pub roster_version: String,
    pub created_at: String,
    pub config_digest: String,
    pub git_commit: Option<String>,
    pub target: String,
}

impl SavedPlan {
    pub fn new(plan: &Plan, live: &Live, provenance: Provenance) -> SavedPlan {
        SavedPlan {
            kind: FILE_KIND.into(),
            roster_version: provenance.roster_version,
            created_at: provenance.created_at,
            config_digest: provenance.config_digest,
            git_commit: provenance.git_commit,
            target: provenance.target,
            fingerprints: fingerprints(plan, live),
            plan: PlanJson::from(plan),
        }
    }
}

/// A digest of a SCIM resource, stable across key order (serde_json sorts object keys).
pub fn digest(resource: &Json) -> String {
    let bytes = serde_json::to_vec(resource).expect("JSON values serialise");
    hex("sha256:", &Sha256::digest(bytes))
}

/// A digest of config files given as (path, contents), in path order.
pub fn config_digest<'a>(files: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut files: Vec<_> = files.into_iter().collect();
    files.sort();
    let mut h = Sha256::new();
    for (path, text) in files {
        // Lengths first, so no two different sets of files hash the same bytes.
        h.update((path.len() as u64).to_le_bytes());
        h.update(path.as_bytes());
        h.update((text.len() as u64).to_le_bytes());
        h.update(text.as_bytes());
    }
    hex("sha256:", &h.finalize())
}

fn hex(prefix: &str, bytes: &[u8]) -> String {
    let mut s = String::from(prefix);
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

fn fingerprints(plan: &Plan, live: &Live) -> BTreeMap<String, Fingerprint> {
    let users: BTreeMap<&str, &super::LiveUser> =
        live.users.iter().map(|u| (u.id.as_str(), u)).collect();
    let groups: BTreeMap<&str, &Json> = live
        .groups
        .iter()
        .map(|g| (g.id.as_str(), &g.resource))
        .collect();
    let mut out = BTreeMap::new();
    for c in &plan.changes {
        let present = match (c.kind, &c.id) {
            (Kind::User, Some(id)) => users.get(id.as_str()).map(|u| digest(&u.resource())),
            (Kind::Group, Some(id)) => groups.get(id.as_str()).map(|g| digest(g)),
            _ => None,
        };
        let fp = match (c.action, &c.id, present) {
            (Action::Create, _, _) => Fingerprint::Absent,
            (_, Some(id), Some(digest)) => Fingerprint::Present {
                id: id.clone(),
                digest,
            },
            _ => continue,
        };
        out.insert(c.address(), fp);
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::plan::{LiveUser, Scope, plan};

    #[test]
    fn digests_ignore_key_order_and_see_every_change() {
        let a = json!({ "id": "1", "userName": "a@x.io", "title": "Eng" });
        let b: Json =
            serde_json::from_str(r#"{"title":"Eng","userName":"a@x.io","id":"1"}"#).unwrap();
        assert_eq!(digest(&a), digest(&b));
        assert_ne!(
            digest(&a),
            digest(&json!({ "id": "1", "userName": "a@x.io", "title": "Eng2" }))
        );
        assert!(digest(&a).starts_with("sha256:") && digest(&a).len() == 7 + 64);
    }

    #[test]
    fn config_digest_depends_on_paths_and_contents_not_order() {
        let d = config_digest([("a.yaml", "x"), ("b.yaml", "y")]);
        assert_eq!(d, config_digest([("b.yaml", "y"), ("a.yaml", "x")]));
        assert_ne!(d, config_digest([("a.yaml", "xy"), ("b.yaml", "")]));
        assert_ne!(d, config_digest([("a.yaml", "x"), ("c.yaml", "y")]));
    }

    #[test]
    fn fingerprints_cover_every_touched_object() {
        let (config, _) = crate::config::from_texts(
            "version: 1\n",
            &[(
                "users/u.yaml",
                "users:\n  - userPrincipalName: a@x.io\n    jobTitle: Eng\n  - userPrincipalName: b@x.io\n  - userPrincipalName: c@x.io\n",
            )],
            &[],
        );
        let config = config.unwrap();
        let a = LiveUser::from_resource(json!({ "id": "1", "userName": "a@x.io", "active": true }))
            .unwrap();
        let c = LiveUser::from_resource(json!({ "id": "3", "userName": "c@x.io", "active": true }))
            .unwrap();
        let live = Live {
            users: vec![a.clone(), c],
            groups: vec![],
            complete: true,
        };
        let p = plan(
            &config,
            &live,
            crate::plan::Capabilities::ASANA,
            &Scope::default(),
        );
        let provenance = Provenance {
            roster_version: "0.1.0".into(),
            created_at: "2026-01-01T00:00:00Z".into(),
            config_digest: "sha256:x".into(),
            git_commit: None,
            target: "http://127.0.0.1:1/api/1.0/scim".into(),
        };
        let saved = SavedPlan::new(&p, &live, provenance);
        assert_eq!(
            saved.fingerprints,
            BTreeMap::from([
                (
                    r#"user["a@x.io"]"#.to_string(),
                    Fingerprint::Present {
                        id: "1".into(),
                        digest: digest(&a.resource())
                    }
                ),
                (r#"user["b@x.io"]"#.to_string(), Fingerprint::Absent),
            ])
        );
        let text = serde_json::to_string_pretty(&saved).unwrap();
        let back: SavedPlan = serde_json::from_str(&text).unwrap();
        assert_eq!(back, saved);
    }
}
