//! The wire formats against their documentation and against the planner's values.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value as Json, json};

use super::declarations::Declarations;
use super::drift::DriftJson;
use super::plan::{
    ActionJson, ActiveCountJson, DeprovisionWithJson, KindJson, PlanJson, ProfileJson,
};
use super::saved::{Fingerprint, SavedPlan};
use crate::config::model::{DeprovisionWith, Profile};
use crate::plan::source::Source;
use crate::plan::{Action, ActiveCount, Kind, Plan};
use crate::render::fixtures;

const DOC: &str = include_str!("../../../../docs/plan-format.md");

/// The renderers' fixture with every optional field set: a reason, a source with attributes,
/// members, references, a blocked reactivation, the generic profile.
fn full_plan() -> Plan {
    let mut plan = fixtures::plan();
    plan.changes[1].source = Some(Source {
        object: "entra+yaml".into(),
        attributes: BTreeMap::from([("title".to_string(), "yaml".to_string())]),
    });
    plan.profile = Profile::Generic;
    plan.deprovision_gate.active_from = ActiveCount::TargetTotal;
    plan.deprovision_gate.exceeded = true;
    plan.seats.added = 3;
    plan.seats.price = Some(crate::config::model::SeatPrice {
        amount: 10.99,
        currency: "USD".into(),
    });
    plan
}

fn full_saved_plan() -> SavedPlan {
    let plan = full_plan();
    SavedPlan {
        kind: super::saved::FILE_KIND.into(),
        digest: Some("sha256:0".into()),
        roster_version: "0.1.0".into(),
        created_at: "2026-01-01T00:00:00Z".into(),
        config_digest: "sha256:1".into(),
        git_commit: Some("3f1c".into()),
        target: "https://app.asana.com/api/1.0/scim".into(),
        fingerprints: BTreeMap::from([
            (
                r#"user["bob@example.com"]"#.to_string(),
                Fingerprint::Present {
                    id: "1200000000000002".into(),
                    digest: "sha256:2".into(),
                    members: None,
                },
            ),
            (
                r#"group["Platform"]"#.to_string(),
                Fingerprint::Present {
                    id: "1300000000000001".into(),
                    digest: "sha256:3".into(),
                    members: Some(vec!["1200000000000009".into()]),
                },
            ),
            (
                r#"user["ada@example.com"]"#.to_string(),
                Fingerprint::Absent,
            ),
            (
                r#"user["carol@example.com"]"#.to_string(),
                Fingerprint::Referenced {
                    id: "1200000000000003".into(),
                    user_name: "carol@example.com".into(),
                },
            ),
        ]),
        declarations: Some(Declarations {
            settings: "sha256:4".into(),
            objects: BTreeMap::from([
                (r#"user["bob@example.com"]"#.to_string(), "sha256:5".into()),
                (r#"group["Platform"]"#.to_string(), "sha256:6".into()),
            ]),
        }),
        plan: PlanJson::from(&plan),
    }
}

/// Objects whose keys are data (user keys, attribute paths, addresses), not field names.
const MAPS: &[&str] = &[
    "references",
    "changes[].source.attributes",
    "fingerprints",
    "declarations.objects",
];

/// Every field path of a JSON value: `a.b` for a field of an object, `a[].b` for a field of
/// the objects in an array, `a.*.b` for a field of the values of a [`MAPS`] object. `leaves`
/// are not looked into.
fn paths(v: &Json, at: &str, leaves: &[&str], out: &mut BTreeSet<String>) {
    if leaves.contains(&at) {
        return;
    }
    match v {
        Json::Object(map) => {
            let data_keys = MAPS.contains(&at);
            for (k, v) in map {
                let k = if data_keys { "*" } else { k.as_str() };
                let p = if at.is_empty() {
                    k.to_string()
                } else {
                    format!("{at}.{k}")
                };
                if !data_keys || v.is_object() {
                    out.insert(p.clone());
                }
                paths(v, &p, leaves, out);
            }
        }
        Json::Array(items) => {
            for item in items {
                paths(item, &format!("{at}[]"), leaves, out);
            }
        }
        _ => {}
    }
}

fn paths_of(v: &Json, at: &str, leaves: &[&str]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    paths(v, at, leaves, &mut out);
    out
}

/// The page's JSON examples, parsed (the `"…"` the saved-plan example puts in its `plan` is a
/// string, so every example is JSON).
fn examples() -> Vec<Json> {
    DOC.split("```json\n")
        .skip(1)
        .map(|block| {
            let text = block.split("```").next().expect("a block ends");
            serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
        })
        .collect()
}

fn example(which: impl Fn(&Json) -> bool) -> Json {
    examples()
        .into_iter()
        .find(which)
        .expect("the page has the example")
}

/// The first column of the table under `after`: field paths such as `changes[].attributes[]`
/// (a trailing `[]` dropped: the field is the array).
fn table_fields(after: &str) -> BTreeSet<String> {
    let start = DOC.find(after).expect("the section is there");
    DOC[start..]
        .lines()
        .skip_while(|l| !l.starts_with("| field |"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .filter_map(|l| {
            let name = l.split('|').nth(1)?.trim().trim_matches('`');
            Some(name.trim_end_matches("[]").to_string())
        })
        .collect()
}

fn assert_same(what: &str, serialised: &BTreeSet<String>, documented: &BTreeSet<String>) {
    let undocumented: Vec<_> = serialised.difference(documented).collect();
    let unwritten: Vec<_> = documented.difference(serialised).collect();
    assert!(
        undocumented.is_empty() && unwritten.is_empty(),
        "{what}: serialised but not in docs/plan-format.md: {undocumented:?}; documented but \
         not serialised: {unwritten:?}"
    );
}

#[test]
fn issue12_every_plan_field_is_documented_and_every_documented_field_is_written() {
    let serialised = paths_of(
        &serde_json::to_value(PlanJson::from(&full_plan())).unwrap(),
        "",
        &[],
    );
    let mut documented = paths_of(&example(|v| v.get("changes").is_some()), "", &[]);
    // The live-merge example is one change.
    documented.extend(paths_of(
        &json!({ "changes": [example(|v| v.get("address").is_some())] }),
        "",
        &[],
    ));
    documented.extend(table_fields("# The JSON plan format"));
    assert_same("the JSON plan", &serialised, &documented);
}

#[test]
fn issue12_every_saved_plan_field_is_documented_and_every_documented_field_is_written() {
    let saved = serde_json::to_value(full_saved_plan()).unwrap();
    let serialised = paths_of(&saved, "", &["plan"]);
    let documented = paths_of(
        &example(|v| v.get("kind").is_some_and(|k| k == "roster-plan")),
        "",
        &["plan"],
    );
    assert_same("the saved plan", &serialised, &documented);
    let states: BTreeSet<&str> = saved["fingerprints"]
        .as_object()
        .unwrap()
        .values()
        .map(|f| f["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, BTreeSet::from(["absent", "present", "referenced"]));
}

#[test]
fn issue12_every_drift_field_is_documented_and_every_documented_field_is_written() {
    let drift = crate::plan::drift::drift(&full_plan());
    let serialised = paths_of(
        &serde_json::to_value(DriftJson::from(&drift)).unwrap(),
        "",
        &[],
    );
    let documented = paths_of(&example(|v| v.get("missing").is_some()), "", &[]);
    assert_same("the drift report", &serialised, &documented);
    let mut table = table_fields("## Drift reports");
    table.insert("format_version".into());
    let top: BTreeSet<String> = serialised
        .iter()
        .filter(|p| !p.contains(['.', '[']))
        .cloned()
        .collect();
    assert_eq!(top, table, "every top-level drift field has a row");
}

#[test]
fn issue12_a_plan_goes_through_the_wire_and_back_unchanged() {
    let plan = full_plan();
    let json = PlanJson::from(&plan);
    assert_eq!(json.to_plan(), plan);
    let text = serde_json::to_string(&json).unwrap();
    let back: PlanJson = serde_json::from_str(&text).unwrap();
    assert_eq!(back, json);
    assert_eq!(back.to_plan(), plan);
    assert_eq!(back.profile(), Profile::Generic);
    let saved = full_saved_plan();
    let back: SavedPlan =
        serde_json::from_str(&String::from_utf8(saved.to_file()).unwrap()).unwrap();
    assert_eq!(back, saved);
}

/// Each model and planner enum that reaches the wire, with the string it has always been
/// written as. The matches have no wildcard: a new variant does not compile until it is
/// given its string here.
#[test]
fn issue12_model_and_planner_enums_keep_their_wire_strings() {
    fn wire<T: serde::Serialize>(v: T) -> Json {
        serde_json::to_value(v).unwrap()
    }
    fn back<T: serde::de::DeserializeOwned>(s: &str) -> T {
        serde_json::from_value(json!(s)).unwrap()
    }
    let profile = |p: Profile| match p {
        Profile::Asana => "asana",
        Profile::Generic => "generic",
    };
    for p in [Profile::Asana, Profile::Generic] {
        assert_eq!(wire(ProfileJson::from(p)), profile(p));
        assert_eq!(Profile::from(back::<ProfileJson>(profile(p))), p);
        assert_eq!(p.as_str(), profile(p));
    }
    let with = |d: DeprovisionWith| match d {
        DeprovisionWith::Deactivate => "deactivate",
        DeprovisionWith::Delete => "delete",
    };
    for d in [DeprovisionWith::Deactivate, DeprovisionWith::Delete] {
        assert_eq!(wire(DeprovisionWithJson::from(d)), with(d));
        assert_eq!(
            DeprovisionWith::from(back::<DeprovisionWithJson>(with(d))),
            d
        );
    }
    let kind = |k: Kind| match k {
        Kind::User => "user",
        Kind::Group => "group",
    };
    for k in [Kind::User, Kind::Group] {
        assert_eq!(wire(KindJson::from(k)), kind(k));
        assert_eq!(Kind::from(back::<KindJson>(kind(k))), k);
    }
    let action = |a: Action| match a {
        Action::Create => "create",
        Action::Update => "update",
        Action::Reactivate => "reactivate",
        Action::AddMembers => "add_members",
        Action::RemoveMembers => "remove_members",
        Action::Deprovision => "deprovision",
    };
    for a in [
        Action::Create,
        Action::Update,
        Action::Reactivate,
        Action::AddMembers,
        Action::RemoveMembers,
        Action::Deprovision,
    ] {
        assert_eq!(wire(ActionJson::from(a)), action(a));
        assert_eq!(Action::from(back::<ActionJson>(action(a))), a);
        assert_eq!(a.as_str(), action(a), "text and audit log say the same");
    }
    let count = |c: ActiveCount| match c {
        ActiveCount::Read => "read",
        ActiveCount::TargetActive => "target_active",
        ActiveCount::TargetTotal => "target_total",
        ActiveCount::Unknown => "unknown",
    };
    for c in [
        ActiveCount::Read,
        ActiveCount::TargetActive,
        ActiveCount::TargetTotal,
        ActiveCount::Unknown,
    ] {
        assert_eq!(wire(ActiveCountJson::from(c)), count(c));
        assert_eq!(ActiveCount::from(back::<ActiveCountJson>(count(c))), c);
    }
    // A field a 1.0 plan may lack reads as it always did.
    assert_eq!(back::<ProfileJson>("asana"), ProfileJson::default());
    assert_eq!(ActiveCountJson::default(), ActiveCountJson::Read);
}
