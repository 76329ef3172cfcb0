//! Saved plans (`plan --out FILE`): the plan plus what `apply FILE` needs to refuse a stale one.
//!
//! The file records the tool version, a digest of the config directory, the git commit when
//! there is one, the target (URL without secrets, normalised, or [`BUILTIN_EMULATOR`]), a
//! fingerprint of every live object the plan touches or refers to, and for every create that
//! the object was absent, and a digest of each declaration and of the settings it was planned
//! with ([`Declarations`], for `apply --replan`). It never holds a token. It carries a digest of its own contents
//! ([`contents_digest`]), so an edit is detected; whether the plan is self-consistent is
//! [`super::integrity`]'s to say.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use sha2::{Digest, Sha256};

use super::declarations::Declarations;
use super::plan::{FORMAT_MAJOR, PlanJson};
use crate::config::model::Config;
use crate::plan::{self, Action, Kind, Live, LiveGroup, LiveUser, Plan};

/// Largest plan file `apply` and `show` read (a plan creating 100,000 users is about 150 MB).
pub const MAX_PLAN_BYTES: u64 = 512 * 1024 * 1024;

/// Identifies the file type, so `show` can tell a plan from any other JSON.
pub const FILE_KIND: &str = "roster-plan";

/// The target recorded for a plan made against the built-in emulator (`--emulator`), which
/// listens on a new port every run: such a plan applies only with `--emulator`.
pub const BUILTIN_EMULATOR: &str = "emulator:built-in";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedPlan {
    pub kind: String,
    /// `sha256:` of the file's canonical JSON without this field ([`contents_digest`]). It
    /// detects an edit; it is not a signature (anyone can compute it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    pub roster_version: String,
    pub created_at: String,
    /// `sha256:` of the config files' paths and contents.
    pub config_digest: String,
    pub git_commit: Option<String>,
    /// The SCIM base URL planned against, as [`target_id`] gives it (never with credentials),
    /// or [`BUILTIN_EMULATOR`].
    pub target: String,
    /// What each touched object looked like when planned, by address.
    pub fingerprints: BTreeMap<String, Fingerprint>,
    /// What each declaration was when planned (added in format 1.2; `None` in older files,
    /// which `apply --replan` refuses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declarations: Option<Declarations>,
    /// `plan --target`: the addresses the plan was limited to, which `apply --replan` plans
    /// again; absent for a plan of everything (or of `--changed-since`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub targets: Option<Vec<String>>,
    pub plan: PlanJson,
}

/// The state of one touched live object at plan time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Fingerprint {
    /// The object existed with this id and this digest of its resource; for a team, also the
    /// ids of its members as read (sorted).
    Present {
        id: String,
        digest: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        members: Option<Vec<String>>,
    },
    /// No live object matched: the plan creates it.
    Absent,
    /// A live user the plan refers to by id without changing it (a manager, a team member),
    /// with the userName it had: apply checks that the id still names that user.
    Referenced { id: String, user_name: String },
}

impl Fingerprint {
    /// The live id this fingerprint records, if the object existed.
    pub fn id(&self) -> Option<&str> {
        match self {
            Fingerprint::Present { id, .. } | Fingerprint::Referenced { id, .. } => Some(id),
            Fingerprint::Absent => None,
        }
    }
}

/// Metadata the command gathers (IO) for a saved plan.
#[derive(Debug, Clone)]
pub struct Provenance {
    pub roster_version: String,
    pub created_at: String,
    pub config_digest: String,
    pub git_commit: Option<String>,
    /// [`target_id`] of the URL, or [`BUILTIN_EMULATOR`].
    pub target: String,
}

impl SavedPlan {
    /// `config` is the one the plan was made from (merged with Entra in live mode).
    pub fn new(plan: &Plan, live: &Live, config: &Config, provenance: Provenance) -> SavedPlan {
        let mut saved = SavedPlan {
            kind: FILE_KIND.into(),
            digest: None,
            roster_version: provenance.roster_version,
            created_at: provenance.created_at,
            config_digest: provenance.config_digest,
            git_commit: provenance.git_commit,
            target: provenance.target,
            fingerprints: fingerprints(plan, live),
            declarations: Some(Declarations::of(config)),
            targets: None,
            plan: PlanJson::from(plan),
        };
        let value = serde_json::to_value(&saved).expect("saved plans serialise");
        saved.digest = Some(contents_digest(&value));
        saved
    }

    /// Records `plan --target`'s addresses (none: the plan is of everything), under the
    /// contents digest like every other field.
    pub fn with_targets(mut self, targets: Vec<String>) -> SavedPlan {
        self.targets = (!targets.is_empty()).then_some(targets);
        self.digest = None;
        let value = serde_json::to_value(&self).expect("saved plans serialise");
        self.digest = Some(contents_digest(&value));
        self
    }

    /// The file's bytes: pretty JSON with a trailing newline.
    pub fn to_file(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).expect("saved plans serialise");
        bytes.push(b'\n');
        bytes
    }
}

/// A plan file as read: the plan, and the digest of what the file holds, to compare with the
/// digest it carries.
#[derive(Debug, Clone)]
pub struct PlanFile {
    pub saved: SavedPlan,
    pub contents_digest: String,
}

/// Why a file cannot be read as a plan at all.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParseError {
    #[error("it is not a roster plan file")]
    NotAPlan,
    #[error(
        "its format_version is `{found}`, and this roster reads {major}.x: apply it with the roster that made it, or plan again"
    )]
    Format { found: String, major: u64 },
    #[error("it is not a roster plan file: {0}")]
    Invalid(String),
}

/// Parses a plan file's text. The digest is taken of the JSON as read, so fields this roster
/// does not know are covered too, and the plan is deserialised from that same value. Pure.
pub fn parse(text: &str) -> Result<PlanFile, ParseError> {
    let value: Json = serde_json::from_str(text).map_err(|_| ParseError::NotAPlan)?;
    if value.get("kind").and_then(Json::as_str) != Some(FILE_KIND) {
        return Err(ParseError::NotAPlan);
    }
    // The version first: a plan of another major version may not even deserialise.
    let version = value
        .get("plan")
        .and_then(|p| p.get("format_version"))
        .and_then(Json::as_str)
        .unwrap_or("");
    let major = FORMAT_MAJOR;
    if format_major(version) != Some(major) {
        return Err(ParseError::Format {
            found: version.to_string(),
            major,
        });
    }
    let contents_digest = contents_digest(&value);
    let saved = SavedPlan::deserialize(&value).map_err(|e| ParseError::Invalid(e.to_string()))?;
    Ok(PlanFile {
        saved,
        contents_digest,
    })
}

/// The major version of a `format_version` such as `1.0`.
fn format_major(version: &str) -> Option<u64> {
    let (major, minor) = version.split_once('.')?;
    minor.parse::<u64>().ok()?;
    major.parse().ok()
}

/// `sha256:` of a plan file's JSON without its `digest` field, serialised canonically: object
/// keys sorted, no whitespace, numbers and strings as serde_json writes them.
pub fn contents_digest(file: &Json) -> String {
    let mut body = file.clone();
    if let Json::Object(map) = &mut body {
        map.remove("digest");
    }
    sha256_of(&body)
}

/// `sha256:` of a JSON value serialised canonically (as [`contents_digest`] does).
pub(super) fn sha256_of(value: &Json) -> String {
    let mut bytes = Vec::new();
    canonical(value, &mut bytes);
    hex("sha256:", &Sha256::digest(bytes))
}

fn canonical(value: &Json, out: &mut Vec<u8>) {
    match value {
        Json::Object(map) => {
            let mut entries: Vec<(&String, &Json)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push(b'{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend(serde_json::to_vec(k).expect("strings serialise"));
                out.push(b':');
                canonical(v, out);
            }
            out.push(b'}');
        }
        Json::Array(items) => {
            out.push(b'[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                canonical(v, out);
            }
            out.push(b']');
        }
        scalar => out.extend(serde_json::to_vec(scalar).expect("scalars serialise")),
    }
}

/// A target URL reduced to what names the server: scheme and host lowercased, the default
/// port dropped, the path without a trailing slash; no credentials, query or fragment. Two
/// URLs for the same target give the same string. Text that is not a URL is kept as it is.
pub fn target_id(url: &str) -> String {
    match url::Url::parse(url.trim()) {
        Ok(u) => crate::urls::url_identity(&u),
        Err(_) => url.trim().to_string(),
    }
}

/// Whether a saved plan's target and the current one name the same server.
pub fn same_target(planned: &str, current: &str) -> bool {
    target_id(planned) == target_id(current)
}

/// A digest of a SCIM resource as the plan saw it: its content and `meta.version` (the ETag),
/// not the server's bookkeeping — the rest of `meta` (timestamps, the location URL) and every
/// `$ref` (the URL of the resource a `value` beside it names) — which differs between two
/// emulators started from one state file, on new ports. Stable across key order.
pub fn digest(resource: &Json) -> String {
    fn strip_refs(v: &mut Json) {
        match v {
            Json::Object(map) => {
                map.remove("$ref");
                map.values_mut().for_each(strip_refs);
            }
            Json::Array(items) => items.iter_mut().for_each(strip_refs),
            _ => {}
        }
    }
    let mut resource = resource.clone();
    if let Some(meta) = resource.get_mut("meta").and_then(Json::as_object_mut) {
        meta.retain(|k, _| k == "version");
    }
    strip_refs(&mut resource);
    let mut bytes = Vec::new();
    canonical(&resource, &mut bytes);
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
    let users: BTreeMap<&str, &LiveUser> = live.users.iter().map(|u| (u.id.as_str(), u)).collect();
    let groups: BTreeMap<&str, &LiveGroup> =
        live.groups.iter().map(|g| (g.id.as_str(), g)).collect();
    let mut out = BTreeMap::new();
    for c in &plan.changes {
        let present = match (c.kind, &c.id) {
            (Kind::User, Some(id)) => users
                .get(id.as_str())
                .map(|u| (digest(&u.resource()), None)),
            (Kind::Group, Some(id)) => groups.get(id.as_str()).map(|g| {
                let mut members = g.member_ids.clone();
                members.sort();
                (digest(&g.resource), Some(members))
            }),
            _ => None,
        };
        let fp = match (c.action, &c.id, present) {
            (Action::Create, _, _) => Fingerprint::Absent,
            (_, Some(id), Some((digest, members))) => Fingerprint::Present {
                id: id.clone(),
                digest,
                members,
            },
            _ => continue,
        };
        out.insert(c.address(), fp);
    }
    // Users referred to by id (managers, team members) that the plan does not change.
    for (key, id) in &plan.references {
        let address = plan::address(Kind::User, key);
        if let (false, Some(u)) = (out.contains_key(&address), users.get(id.as_str())) {
            out.insert(
                address,
                Fingerprint::Referenced {
                    id: id.clone(),
                    user_name: u.user_name.clone(),
                },
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::plan::{Scope, plan};

    #[test]
    fn item2_digests_ignore_meta_bookkeeping_but_not_the_version() {
        let a = json!({ "id": "1", "title": "Eng", "meta": { "version": "W/\"1\"",
            "created": "2026-01-01T00:00:00Z", "location": "http://127.0.0.1:4000/Users/1" } });
        let b = json!({ "id": "1", "title": "Eng", "meta": { "version": "W/\"1\"",
            "created": "2026-01-02T00:00:00Z", "location": "http://127.0.0.1:5000/Users/1" } });
        assert_eq!(digest(&a), digest(&b));
        let c = json!({ "id": "1", "title": "Eng", "meta": { "version": "W/\"2\"" } });
        assert_ne!(digest(&a), digest(&c));
        let team = |port: u16, member: &str| {
            json!({ "id": "9", "members": [{ "value": member,
                "$ref": format!("http://127.0.0.1:{port}/Users/{member}") }] })
        };
        assert_eq!(digest(&team(4000, "1")), digest(&team(5000, "1")));
        assert_ne!(digest(&team(4000, "1")), digest(&team(4000, "2")));
    }

    #[test]
    fn item2_target_ids_are_normalised() {
        for (a, b) in [
            (
                "https://App.Asana.com/api/1.0/scim",
                "https://app.asana.com/api/1.0/scim/",
            ),
            (
                "https://app.asana.com:443/api/1.0/scim",
                "https://app.asana.com/api/1.0/scim",
            ),
            ("http://127.0.0.1:4000/scim/", "HTTP://127.0.0.1:4000/scim"),
            (
                "https://u:p@app.asana.com/api/1.0/scim?x=1#f",
                "https://app.asana.com/api/1.0/scim",
            ),
        ] {
            assert!(same_target(a, b), "{a} vs {b}");
        }
        for (a, b) in [
            (
                "https://app.asana.com/api/1.0/scim",
                "https://app.asana.com/api/2.0/scim",
            ),
            ("http://127.0.0.1:4000/scim", "http://127.0.0.1:4001/scim"),
            ("http://127.0.0.1:4000/scim", "https://127.0.0.1:4000/scim"),
            (
                "https://evil.example/api/1.0/scim",
                "https://app.asana.com/api/1.0/scim",
            ),
            (BUILTIN_EMULATOR, "http://127.0.0.1:4000/api/1.0/scim"),
        ] {
            assert!(!same_target(a, b), "{a} vs {b}");
        }
        assert_eq!(
            target_id("https://App.Asana.com:443/api/1.0/scim/"),
            "https://app.asana.com/api/1.0/scim"
        );
    }

    #[test]
    fn item2_a_plan_file_is_refused_by_version_and_kind_and_digested_as_read() {
        assert_eq!(parse("[]").unwrap_err(), ParseError::NotAPlan);
        assert_eq!(
            parse(r#"{"kind":"other"}"#).unwrap_err(),
            ParseError::NotAPlan
        );
        for v in ["9.0", "2.1", "", "1", "x.y"] {
            let text = format!(r#"{{"kind":"roster-plan","plan":{{"format_version":"{v}"}}}}"#);
            assert!(
                matches!(parse(&text), Err(ParseError::Format { .. })),
                "{v}"
            );
        }
        // A field this roster does not know is covered by the digest.
        let a = json!({ "kind": "roster-plan", "x": 1 });
        let b = json!({ "kind": "roster-plan", "x": 2 });
        assert_ne!(contents_digest(&a), contents_digest(&b));
        let with = json!({ "kind": "roster-plan", "x": 1, "digest": "sha256:whatever" });
        assert_eq!(contents_digest(&a), contents_digest(&with));
    }

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
            reported_users: None,
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
        let saved = SavedPlan::new(&p, &live, &config, provenance);
        assert_eq!(
            saved.fingerprints,
            BTreeMap::from([
                (
                    r#"user["a@x.io"]"#.to_string(),
                    Fingerprint::Present {
                        id: "1".into(),
                        digest: digest(&a.resource()),
                        members: None,
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
