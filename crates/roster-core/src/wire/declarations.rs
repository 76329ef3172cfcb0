//! What a saved plan records of the declarations it was made from, so that `apply --replan`
//! can tell a change in the config from drift in the target: a digest of each declared user
//! and team after validation (and, in Entra live mode, after the merge), and one of the
//! settings every declaration is planned with (the mappings and the policy that decides
//! changes). Pure.
//!
//! Each digest is `sha256:` of a canonical JSON form written here, field by field, from the
//! model (which serialises nothing itself): object keys sorted, no whitespace. Where a
//! declaration is written (its file, its line) is left out, so moving a user to another file
//! changes no digest; so is the order of a team's members, which the plan does not depend on.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json, json};

use super::saved::sha256_of;
use crate::config::model::{
    Apply, Config, Group, Mapping, MappingSource, Policy, Settings, Unmanaged, UnsetAttributes,
    User, UserAttr,
};
use crate::names::match_key;
use crate::plan::{Kind, address};

/// The digests a saved plan records (`declarations` in the file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Declarations {
    /// Of the settings every declaration is planned with: user and group mappings,
    /// `policy.unmanaged`, `policy.protected` and `policy.unset_attributes`.
    pub settings: String,
    /// Of each declared user and team, by address (`user["a@x.io"]`, `group["Platform"]`).
    pub objects: BTreeMap<String, String>,
}

impl Declarations {
    /// The digests of a validated (and, in Entra live mode, merged) config.
    pub fn of(config: &Config) -> Declarations {
        let mut objects = BTreeMap::new();
        for u in &config.users {
            objects.insert(address(Kind::User, &u.key()), sha256_of(&user(u)));
        }
        for g in &config.groups {
            objects.insert(address(Kind::Group, &g.display_name), sha256_of(&group(g)));
        }
        Declarations {
            settings: sha256_of(&settings(&config.settings)),
            objects,
        }
    }

    /// The digest of the object at `address`, `None` when nothing is declared there.
    pub fn object(&self, address: &str) -> Option<&str> {
        self.objects.get(address).map(String::as_str)
    }
}

/// A declared user: every attribute it sets, and what decides whether it is provisioned.
fn user(u: &User) -> Json {
    let User {
        upn,
        account_enabled,
        // Whether the YAML wrote `accountEnabled` matters only to Entra's merge, which has
        // happened: `account_enabled` is the outcome.
        account_enabled_set: _,
        in_scope,
        app_role_assignments,
        expires,
        // Where it is written.
        origin: _,
        ..
    } = u;
    let attributes: Map<String, Json> = UserAttr::ALL
        .into_iter()
        .filter_map(|a| Some((a.name().to_string(), Json::from(u.get(a)?))))
        .collect();
    let mut out = json!({
        "upn": upn,
        "attributes": attributes,
        "account_enabled": account_enabled,
        "in_scope": in_scope,
        "app_role_assignments": app_role_assignments,
    });
    // Only when written, so that the digests of users without one are those of earlier
    // versions; by the instant it means, however it is written.
    if let Some(e) = expires {
        out["expires_at"] = Json::from(e.ends_at);
    }
    out
}

/// A declared team: its name and its members by key, sorted.
fn group(g: &Group) -> Json {
    let Group {
        display_name,
        members,
        member_rules,
        exclude,
        member_expires,
        origin: _,
    } = g;
    let keys = |list: &[String]| {
        let mut keys: Vec<String> = list.iter().map(|m| match_key(m)).collect();
        keys.sort();
        keys.dedup();
        keys
    };
    let mut out = json!({ "display_name": display_name, "members": keys(members) });
    // Written only when there are some, so a team without them keeps its digest of before.
    if !member_rules.is_empty() {
        let rules: Vec<Json> = (member_rules.iter())
            .map(|f| {
                let clauses: Vec<String> = f.clauses.iter().map(|c| c.describe()).collect();
                json!({ "name": f.name, "clauses": clauses })
            })
            .collect();
        out["member_rules"] = Json::Array(rules);
    }
    if !exclude.is_empty() {
        out["exclude"] = json!(keys(exclude));
    }
    // As for a user's `expires`: only when some membership ends.
    if !member_expires.is_empty() {
        let ends: Map<String, Json> = (member_expires.iter())
            .map(|(key, e)| (key.clone(), Json::from(e.ends_at)))
            .collect();
        out["member_expires_at"] = Json::Object(ends);
    }
    out
}

/// What in roster.yaml decides which changes a declaration makes. The target (profile, URL,
/// token variable) is checked on its own; the deprovision caps and `deprovision_with` decide
/// whether and how a plan is carried out, not its changes; Entra's settings are in the
/// merged users.
fn settings(s: &Settings) -> Json {
    let Settings {
        target: _,
        user_mappings,
        group_mappings,
        policy,
        entra: _,
    } = s;
    let Policy {
        unmanaged,
        protected,
        deprovision_with: _,
        max_deprovisions: _,
        // Checked by validation; they change no plan.
        rules: _,
        // What a plan says beside its changes (warnings, the cost of seats).
        expiry_warning_days: _,
        seat_price: _,
        unset_attributes,
    } = policy;
    let unmanaged = match unmanaged {
        Unmanaged::Ignore => "ignore",
        Unmanaged::Report => "report",
        Unmanaged::Deprovision => "deprovision",
    };
    let protected: Vec<&str> = protected.iter().map(|p| p.pattern.as_str()).collect();
    let mut settings = json!({
        "user_mappings": user_mappings.iter().map(mapping).collect::<Vec<_>>(),
        "group_mappings": group_mappings.iter().map(mapping).collect::<Vec<_>>(),
        "unmanaged": unmanaged,
        "protected": protected,
    });
    // Only when not the default, so the digest of settings that do not name it is the one
    // roster gave them before `policy.unset_attributes` existed.
    if *unset_attributes == UnsetAttributes::Keep {
        settings["unset_attributes"] = json!("keep");
    }
    settings
}

fn mapping(m: &Mapping) -> Json {
    let Mapping {
        target,
        source,
        match_priority,
        apply,
        default,
        origin: _,
    } = m;
    let source = match source {
        MappingSource::Direct(name) => json!({ "direct": name }),
        MappingSource::Constant(value) => json!({ "constant": value }),
        MappingSource::Expression { text, .. } => json!({ "expression": text }),
    };
    let apply = match apply {
        Apply::Always => "always",
        Apply::OnCreate => "on_create",
    };
    json!({
        "target": target.path,
        "source": source,
        "match_priority": match_priority,
        "apply": apply,
        "default": default,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(settings: &str, users: &str, groups: &str) -> Config {
        fn file<'a>(path: &'a str, text: &'a str) -> Vec<(&'a str, &'a str)> {
            if text.is_empty() {
                vec![]
            } else {
                vec![(path, text)]
            }
        }
        let (config, report) = crate::config::from_texts(
            settings,
            &file("users/u.yaml", users),
            &file("groups/g.yaml", groups),
        );
        config.unwrap_or_else(|| panic!("{report:?}"))
    }

    const USERS: &str = "users:\n  - userPrincipalName: a@x.io\n    jobTitle: Lead\n  - userPrincipalName: b@x.io\n";
    const GROUPS: &str = "groups:\n  - displayName: T\n    members: [a@x.io, b@x.io]\n";

    #[test]
    fn issue13_each_declaration_has_a_digest_that_sees_its_edits_only() {
        let d = Declarations::of(&config("version: 1\n", USERS, GROUPS));
        assert_eq!(
            d.objects.keys().collect::<Vec<_>>(),
            [r#"group["T"]"#, r#"user["a@x.io"]"#, r#"user["b@x.io"]"#]
        );
        // Same meaning, written otherwise: another order, a comment, moved within the file.
        let same = Declarations::of(&config(
            "version: 1\n",
            "users:\n  # moved\n  - userPrincipalName: b@x.io\n  - jobTitle: Lead\n    userPrincipalName: a@x.io\n",
            "groups:\n  - displayName: T\n    members: [B@x.io, a@x.io]\n",
        ));
        assert_eq!(same, d);
        // One user edited: that user's digest only.
        let edited = Declarations::of(&config(
            "version: 1\n",
            &USERS.replace("Lead", "Manager"),
            GROUPS,
        ));
        let differ: Vec<&String> = (d.objects.iter())
            .filter(|(k, v)| edited.objects.get(*k) != Some(v))
            .map(|(k, _)| k)
            .collect();
        assert_eq!(differ, [r#"user["a@x.io"]"#]);
        assert_eq!(edited.settings, d.settings);
        // Disabled, or a member dropped from a team.
        let disabled = Declarations::of(&config(
            "version: 1\n",
            &format!("{USERS}    accountEnabled: false\n"),
            "groups:\n  - displayName: T\n    members: [a@x.io]\n",
        ));
        assert_ne!(
            disabled.object(r#"user["b@x.io"]"#),
            d.object(r#"user["b@x.io"]"#)
        );
        assert_ne!(disabled.object(r#"group["T"]"#), d.object(r#"group["T"]"#));
        assert_eq!(
            disabled.object(r#"user["a@x.io"]"#),
            d.object(r#"user["a@x.io"]"#)
        );
    }

    #[test]
    fn issue13_the_settings_digest_sees_mappings_and_the_policy_that_decides_changes() {
        let base = Declarations::of(&config("version: 1\n", USERS, "")).settings;
        let with = |settings: &str| Declarations::of(&config(settings, USERS, "")).settings;
        assert_ne!(
            with("version: 1\npolicy:\n  unmanaged: deprovision\n"),
            base
        );
        assert_ne!(with("version: 1\npolicy:\n  protected: [\"a@*\"]\n"), base);
        assert_ne!(
            with("version: 1\npolicy:\n  unset_attributes: keep\n"),
            base
        );
        assert_eq!(
            with("version: 1\npolicy:\n  unset_attributes: clear\n"),
            base
        );
        assert_ne!(
            with(
                "version: 1\nmappings:\n  users:\n    - { target: userName, source: userPrincipalName, match: 1 }\n"
            ),
            base
        );
        // What decides whether and how a plan is carried out, not its changes.
        assert_eq!(
            with("version: 1\npolicy:\n  max_deprovisions: { count: 3 }\n"),
            base
        );
        assert_eq!(with("version: 1  # a comment\n"), base);
    }

    /// The model's `User` has the fields [`user`] names (it cannot name the private ones, so
    /// this test watches for a field added there without a word here).
    #[test]
    fn issue13_the_user_digest_knows_every_field_of_the_model() {
        let shown = format!("{:?}", User::new("a@x.io"));
        let fields: Vec<&str> = shown
            .split([',', '{'])
            .filter_map(|part| part.trim().split_once(':').map(|(name, _)| name.trim()))
            .filter(|name| name.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
            .collect();
        assert_eq!(
            fields,
            [
                "upn",
                "values",
                "account_enabled",
                "account_enabled_set",
                "in_scope",
                "app_role_assignments",
                "expires",
                "origin"
            ]
        );
    }
}
