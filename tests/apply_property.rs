//! Apply's central property, on generated organisations: plan → apply against the emulator →
//! plan again is empty, and every user the emulator holds has, attribute by attribute, what the
//! mappings give for its declaration (read back over SCIM).
//!
//! The generator is seeded (SplitMix64), so a failing case is reproduced by its number alone:
//! `ROSTER_PROPERTY_CASE=N cargo test --test apply_property`. It varies users present or absent
//! live, attribute differences, userName case, disabled users, deprovisioned live users,
//! managers (chains, managers created in the same apply, changed managers), teams with members
//! added and removed, unmanaged users under each policy, protected patterns, both mapping sets
//! and both ways of deprovisioning.
//!
//! It drives the library (config from generated YAML text, `ops::read_live`, `plan::plan`,
//! `apply::gates::check`, `apply::execute`) rather than the binary, so 200 cases take seconds.

#![allow(clippy::disallowed_methods)] // tests set up files, run programs and read the clock

mod apply_support;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use apply_support::Rng;
use roster::apply;
use roster::config::Config;
use roster::config::model::{Mapping, Unmanaged, User, UserAttr};
use roster::emulator::{Emulator, LimitsConfig, RunningEmulator};
use roster::mapping::{self, Flow, MappedValue};
use roster::ops;
use roster::plan::{self, Capabilities, Live, Scope};
use roster::scim::AttrPath;
use roster::scim::client::{ClientConfig, Secret, WriteClient};
use serde_json::{Value as Json, json};

const CASES: u64 = 200;
const TOKEN: &str = "property-token";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

const NAMES: [&str; 6] = [
    "Ada Lovelace",
    "Grace Hopper",
    "Alan Turing",
    "Edsger Dijkstra",
    "Barbara Liskov",
    "Ken Thompson",
];
const TITLES: [&str; 5] = [
    "Engineer",
    "Staff Engineer",
    "Designer",
    "Engineering Manager",
    "Sales Lead",
];
const DEPARTMENTS: [&str; 4] = ["Engineering", "Sales", "Finance", "Operations"];
const COUNTRIES: [&str; 4] = ["nl", "gb", "us", "de"];
const CITIES: [&str; 4] = ["Amsterdam", "London", "Boston", "Berlin"];

/// Custom mappings in the quickstart's style: an expression with a fallback, a constant, a
/// function of the source, and no title mapping at all.
const CUSTOM_MAPPINGS: &str = r#"mappings:
  users:
    - { target: userName, source: userPrincipalName, match: 1 }
    - { target: active, expression: 'Switch([IsSoftDeleted], , "False", "True", "True", "False")' }
    - target: name.formatted
      expression: 'Coalesce([displayName], Join(" ", [givenName], [surname]))'
    - { target: 'emails[type eq "work"].value', source: mail }
    - { target: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department', source: department }
    - { target: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager', source: manager }
    - { target: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:organization', constant: Northwind }
    - { target: 'addresses[type eq "work"].country', expression: 'ToUpper([country])' }
    - { target: 'addresses[type eq "work"].locality', source: city }
"#;

/// One generated case's config, as the files would hold it.
struct Case {
    settings: String,
    users_yaml: String,
    groups_yaml: String,
}

/// A declared user, before it is written as YAML.
struct Declared {
    upn: String,
    attrs: Vec<(UserAttr, String)>,
    manager: Option<usize>,
    enabled: bool,
}

fn generate_config(rng: &mut Rng) -> (Case, Vec<Declared>) {
    let n = rng.below(11);
    // Managers only among users earlier in a random order: chains, and no cycles.
    let order = rng.permutation(n);
    let mut declared: Vec<Declared> = (0..n)
        .map(|i| {
            let upn = if rng.chance(0.2) {
                format!("U{i}@Ex.Test")
            } else {
                format!("u{i}@ex.test")
            };
            let mut attrs = Vec::new();
            let mut maybe = |rng: &mut Rng, attr: UserAttr, pool: &[&str], p: f64| {
                if rng.chance(p) {
                    attrs.push((attr, rng.pick(pool).to_string()));
                }
            };
            maybe(rng, UserAttr::DisplayName, &NAMES, 0.7);
            maybe(rng, UserAttr::GivenName, &["Ada", "Alan"], 0.3);
            maybe(rng, UserAttr::Surname, &["Lovelace", "Turing"], 0.3);
            maybe(rng, UserAttr::JobTitle, &TITLES, 0.7);
            maybe(rng, UserAttr::Department, &DEPARTMENTS, 0.6);
            maybe(rng, UserAttr::Country, &COUNTRIES, 0.4);
            maybe(rng, UserAttr::City, &CITIES, 0.4);
            if rng.chance(0.6) {
                attrs.push((UserAttr::Mail, format!("u{i}@ex.test")));
            }
            Declared {
                upn,
                attrs,
                manager: None,
                enabled: !rng.chance(0.15),
            }
        })
        .collect();
    for pos in 1..n {
        if rng.chance(0.5) {
            let manager = order[rng.below(pos)];
            declared[order[pos]].manager = Some(manager);
        }
    }
    let mut users_yaml = String::from("users:\n");
    if n == 0 {
        users_yaml = "users: []\n".into();
    }
    for d in &declared {
        users_yaml.push_str(&format!("  - userPrincipalName: {}\n", d.upn));
        for (attr, value) in &d.attrs {
            users_yaml.push_str(&format!("    {}: \"{value}\"\n", attr.name()));
        }
        if let Some(m) = d.manager {
            // Any case: references match case-insensitively.
            users_yaml.push_str(&format!(
                "    manager: {}\n",
                declared[m].upn.to_lowercase()
            ));
        }
        if !d.enabled {
            users_yaml.push_str("    accountEnabled: false\n");
        }
    }
    let teams = rng.below(4);
    let mut groups_yaml = String::from("groups:\n");
    if teams == 0 {
        groups_yaml = "groups: []\n".into();
    }
    for t in 0..teams {
        groups_yaml.push_str(&format!("  - displayName: Team {t}\n    members:\n"));
        let mut any = false;
        for d in &declared {
            if rng.chance(0.5) {
                groups_yaml.push_str(&format!("      - {}\n", d.upn));
                any = true;
            }
        }
        if !any {
            groups_yaml = groups_yaml.replace(
                &format!("  - displayName: Team {t}\n    members:\n"),
                &format!("  - displayName: Team {t}\n    members: []\n"),
            );
        }
    }
    let unmanaged = *rng.pick(&["ignore", "report", "deprovision"]);
    let deprovision_with = *rng.pick(&["deactivate", "delete"]);
    let protected = match rng.below(4) {
        0 => "[\"x0@*\"]",
        1 => "[\"u1@ex.test\", \"x1@*\"]",
        _ => "[]",
    };
    let mappings = if rng.chance(0.5) { CUSTOM_MAPPINGS } else { "" };
    let settings = format!(
        "version: 1\n{mappings}policy:\n  unmanaged: {unmanaged}\n  deprovision_with: {deprovision_with}\n  protected: {protected}\n  max_deprovisions: {{ count: 1000, percent: 100 }}\n"
    );
    (
        Case {
            settings,
            users_yaml,
            groups_yaml,
        },
        declared,
    )
}

fn load(case: &Case) -> Config {
    let (config, report) = roster::config::from_texts(
        &case.settings,
        &[("users/u.yaml", &case.users_yaml)],
        &[("groups/g.yaml", &case.groups_yaml)],
    );
    config.unwrap_or_else(|| {
        panic!(
            "generated config is invalid: {:#?}\n{}\n{}\n{}",
            report.diagnostics, case.settings, case.users_yaml, case.groups_yaml
        )
    })
}

/// A live user to seed: its SCIM body (without manager), its manager (index into the live
/// list) and whether it ends up deprovisioned.
struct Seed {
    body: Json,
    manager: Option<usize>,
    active: bool,
}

/// The live organisation: declared users present with differences, unmanaged users, teams.
fn generate_live(
    rng: &mut Rng,
    config: &Config,
    declared: &[Declared],
) -> (Vec<Seed>, Vec<(String, Vec<usize>)>) {
    let mappings = &config.settings.user_mappings;
    let mut seeds = Vec::new();
    // Which live seed each declared user became.
    let mut live_of: Vec<Option<usize>> = vec![None; declared.len()];
    for (i, u) in config.users.iter().enumerate() {
        if !rng.chance(0.6) {
            continue;
        }
        let mut live = u.clone();
        // Asana matches userName case-insensitively.
        if rng.chance(0.2) {
            live.set(UserAttr::UserPrincipalName, Some(u.upn.to_uppercase()));
        }
        for (attr, pool) in [
            (UserAttr::DisplayName, &NAMES[..]),
            (UserAttr::JobTitle, &TITLES[..]),
            (UserAttr::Department, &DEPARTMENTS[..]),
            (UserAttr::Country, &COUNTRIES[..]),
            (UserAttr::City, &CITIES[..]),
        ] {
            match rng.below(5) {
                0 => live.set(attr, Some(rng.pick(pool).to_string())),
                1 => live.set(attr, None),
                _ => {}
            }
        }
        let body = scim_body(mappings, &live);
        live_of[i] = Some(seeds.len());
        seeds.push(Seed {
            body,
            manager: None,
            active: !rng.chance(0.15),
        });
    }
    for j in 0..rng.below(5) {
        let mut u = User::new(format!("x{j}@ex.test"));
        u.set(UserAttr::DisplayName, Some(rng.pick(&NAMES).to_string()));
        u.set(UserAttr::JobTitle, Some(rng.pick(&TITLES).to_string()));
        seeds.push(Seed {
            body: scim_body(mappings, &u),
            manager: None,
            active: !rng.chance(0.2),
        });
    }
    // Live managers: usually the declared one when it is live, sometimes another or none.
    let n = seeds.len();
    for (i, d) in declared.iter().enumerate() {
        let Some(s) = live_of[i] else { continue };
        let declared_manager = d.manager.and_then(|m| live_of[m]);
        seeds[s].manager = match rng.below(4) {
            0 | 1 => declared_manager,
            2 => Some(rng.below(n)).filter(|&m| m != s),
            _ => None,
        };
    }
    // Teams: declared ones present with some members, and one nobody declared.
    let mut teams = Vec::new();
    for g in &config.groups {
        if rng.chance(0.6) {
            let members = (0..n).filter(|_| rng.chance(0.4)).collect();
            teams.push((g.display_name.clone(), members));
        }
    }
    if rng.chance(0.3) {
        let members = (0..n).filter(|_| rng.chance(0.4)).collect();
        teams.push(("Undeclared".to_string(), members));
    }
    (seeds, teams)
}

fn scim_body(mappings: &[Mapping], u: &User) -> Json {
    let mapped = mapping::map_user(mappings, u, true, Flow::Create).expect("mappings evaluate");
    let mut body = mapped.to_scim(
        &["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
        &|_| None,
    );
    body["active"] = json!(true);
    body
}

fn client_config(emu: &RunningEmulator) -> ClientConfig {
    let mut c = ClientConfig::new(emu.url(), Secret::new(TOKEN));
    c.requests_per_minute = 1_000_000;
    c.jitter_seed = Some(1);
    c
}

/// Seeds the emulator over SCIM: users, then managers, then teams, then deprovisions (a
/// deprovisioned user leaves its teams, as in Asana).
async fn seed(client: &WriteClient, seeds: &[Seed], teams: &[(String, Vec<usize>)]) {
    let mut ids = Vec::new();
    for s in seeds {
        let r = client.create_user(&s.body).await.expect("seed user");
        ids.push(r.id().expect("id"));
    }
    for (s, id) in seeds.iter().zip(&ids) {
        if let Some(m) = s.manager {
            let patch = json!({ "schemas": [PATCH_OP], "Operations": [{ "op": "replace",
                "value": { ENTERPRISE: { "manager": { "value": ids[m] } } } }] });
            client
                .patch_user(id, &patch, None)
                .await
                .expect("seed manager");
        }
    }
    for (name, members) in teams {
        let members: Vec<Json> = members
            .iter()
            .map(|&m| json!({ "value": ids[m] }))
            .collect();
        let body = json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": name, "members": members });
        client.create_group(&body).await.expect("seed team");
    }
    for (s, id) in seeds.iter().zip(&ids) {
        if !s.active {
            let patch = json!({ "schemas": [PATCH_OP], "Operations": [{ "op": "replace", "value": { "active": false } }] });
            client
                .patch_user(id, &patch, None)
                .await
                .expect("seed deprovision");
        }
    }
}

fn options(deprovision_with: roster::config::model::DeprovisionWith) -> apply::Options {
    apply::Options {
        target: apply::Target::ASANA,
        deprovision_with,
        etags: HashMap::new(),
        concurrency: 15,
        on_step: std::sync::Arc::new(|_: &apply::StepResult| {}),
        audit: None,
        now: std::sync::Arc::new(|| "2026-01-01T00:00:00Z".to_string()),
    }
}

/// Runs case `n`; returns the number of changes applied, or what went wrong.
async fn run_case(n: u64) -> Result<usize, String> {
    let mut rng = Rng::new(0x5eed_0000 + n);
    let (case, declared) = generate_config(&mut rng);
    let config = load(&case);
    let (seeds, teams) = generate_live(&mut rng, &config, &declared);
    let emu = Emulator::builder()
        .port(0)
        .token(TOKEN)
        .limits(LimitsConfig {
            requests_per_minute: 0,
            concurrent_reads: 0,
            concurrent_writes: 0,
        })
        .start()
        .await
        .map_err(|e| e.to_string())?;
    let client = WriteClient::new(&client_config(&emu)).map_err(|e| e.to_string())?;
    seed(&client, &seeds, &teams).await;
    let describe = || {
        format!(
            "case {n}:\n--- roster.yaml\n{}--- users\n{}--- groups\n{}",
            case.settings, case.users_yaml, case.groups_yaml
        )
    };

    let reader = client.reader();
    let before = ops::read_live(&reader).await.map_err(|e| e.to_string())?;
    let plan = plan::plan(&config, &before, Capabilities::ASANA, &Scope::default());
    let policy = &config.settings.policy;
    if let Err(refusals) = apply::gates::check(&plan, policy, config.users.len(), None) {
        // The caps are generous and the planner never deprovisions a protected user, so only
        // an empty desired set may be refused.
        if config.users.is_empty() && plan.summary.deprovision > 0 {
            return Ok(0);
        }
        return Err(format!("{}\nunexpected refusal: {refusals:?}", describe()));
    }
    let mut opts = options(policy.deprovision_with);
    opts.etags = apply::etags(&plan, &before);
    let report = apply::execute(&plan, &client, opts).await;
    let failures: Vec<String> = report
        .results
        .iter()
        .filter(|r| r.status() != apply::Status::Success)
        .map(|r| {
            format!(
                "{} {}: {:?}",
                r.change.address(),
                r.change.action.as_str(),
                r.error()
            )
        })
        .collect();
    if !failures.is_empty() || report.results.len() != plan.changes.len() {
        return Err(format!(
            "{}\n{} changes, {} results; not successful: {failures:?}",
            describe(),
            plan.changes.len(),
            report.results.len()
        ));
    }

    let after = ops::read_live(&reader).await.map_err(|e| e.to_string())?;
    let again = plan::plan(&config, &after, Capabilities::ASANA, &Scope::default());
    if again.has_changes() {
        return Err(format!(
            "{}\nthe plan after apply is not empty: {:?}",
            describe(),
            again
                .changes
                .iter()
                .map(|c| format!("{} {} {:?}", c.address(), c.action.as_str(), c.attributes))
                .collect::<Vec<_>>()
        ));
    }
    compare(&config, &before, &after).map_err(|e| format!("{}\n{e}", describe()))?;
    emu.shutdown().await.map_err(|e| e.to_string())?;
    Ok(plan.changes.len())
}

/// What the emulator holds after apply against what the config and the live state before it
/// say it must hold.
fn compare(config: &Config, before: &Live, after: &Live) -> Result<(), String> {
    let by_name = |live: &Live| -> HashMap<String, usize> {
        live.users
            .iter()
            .enumerate()
            .map(|(i, u)| (u.user_name.to_lowercase(), i))
            .collect()
    };
    let (was, now) = (by_name(before), by_name(after));
    if now.len() != after.users.len() {
        return Err("two live users share a userName".into());
    }
    let policy = &config.settings.policy;
    let mut problems = Vec::new();
    let mut active_after: BTreeSet<String> = BTreeSet::new();
    for u in &config.users {
        let key = u.key();
        let prior = was.get(&key).map(|&i| &before.users[i]);
        let current = now.get(&key).map(|&i| &after.users[i]);
        let mapped = mapping::map_user(&config.settings.user_mappings, u, true, Flow::Create)
            .expect("mappings evaluate");
        let enabled = match mapped.get("active") {
            Some(MappedValue::Boolean(b)) => *b,
            _ => u.account_enabled,
        };
        let Some(current) = current else {
            if enabled {
                problems.push(format!("{key}: enabled but not in the emulator"));
            }
            continue;
        };
        let expect_active = match prior {
            // Asana cannot reactivate: a deprovisioned user stays so.
            Some(p) if !p.active => false,
            // A protected user is never deprovisioned, whatever the files say.
            Some(_) if !enabled => policy.is_protected(&u.upn),
            _ => enabled,
        };
        if current.active != expect_active {
            problems.push(format!(
                "{key}: active is {}, expected {expect_active}",
                current.active
            ));
        }
        if current.active {
            active_after.insert(key.clone());
        }
        if !(expect_active && enabled) {
            continue;
        }
        let resource = current.resource();
        for (path, value) in &mapped.attributes {
            let got = AttrPath::parse(path).expect("target parses").get(&resource);
            let ok = match value {
                MappedValue::Boolean(b) => got == Some(&Json::Bool(*b)),
                MappedValue::String(s) if *path == "userName" || path.starts_with("emails") => got
                    .and_then(Json::as_str)
                    .is_some_and(|g| g.eq_ignore_ascii_case(s)),
                MappedValue::String(s) => got.and_then(Json::as_str) == Some(s),
                MappedValue::UserRef(m) => {
                    // A manager who is not in Asana (disabled, never created) is not sent.
                    let want = now
                        .get(&m.to_lowercase())
                        .map(|&i| after.users[i].id.as_str());
                    let got = got.and_then(|g| g.get("value")).and_then(Json::as_str);
                    want.is_none() || got == want
                }
                MappedValue::UserRefs(_) => true,
            };
            if !ok {
                problems.push(format!(
                    "{key}: {path} is {got:?}, the mappings give {value:?}"
                ));
            }
        }
    }
    // Users nobody declared.
    for u in &before.users {
        let key = u.user_name.to_lowercase();
        if config.user(&key).is_some() {
            continue;
        }
        let Some(current) = now.get(&key).map(|&i| &after.users[i]) else {
            problems.push(format!("{key}: an unmanaged user disappeared"));
            continue;
        };
        let deprovision = policy.unmanaged == Unmanaged::Deprovision && !policy.is_protected(&key);
        let expect_active = u.active && !deprovision;
        if current.active != expect_active {
            problems.push(format!(
                "{key} (unmanaged): active is {}, expected {expect_active}",
                current.active
            ));
        }
    }
    if after.users.len() != before.users.len() + created(config, &was) {
        problems.push(format!(
            "{} users after apply, {} before",
            after.users.len(),
            before.users.len()
        ));
    }
    // Teams: exactly the declared members who are active after apply.
    let ids: BTreeMap<&str, &str> = after
        .users
        .iter()
        .map(|u| (u.id.as_str(), u.user_name.as_str()))
        .collect();
    for g in &config.groups {
        let Some(team) = after
            .groups
            .iter()
            .find(|t| t.display_name.eq_ignore_ascii_case(&g.display_name))
        else {
            problems.push(format!("team {}: not in the emulator", g.display_name));
            continue;
        };
        let got: BTreeSet<String> = team
            .member_ids
            .iter()
            .map(|id| {
                ids.get(id.as_str())
                    .map_or(id.clone(), |n| n.to_lowercase())
            })
            .collect();
        let want: BTreeSet<String> = g
            .members
            .iter()
            .map(|m| m.to_lowercase())
            .filter(|m| config.user(m).is_some_and(|u| u.account_enabled))
            .filter(|m| active_after.contains(m))
            .collect();
        if got != want {
            problems.push(format!(
                "team {}: members {got:?}, expected {want:?}",
                g.display_name
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

/// Declared, enabled users that were not live: apply creates them.
fn created(config: &Config, was: &HashMap<String, usize>) -> usize {
    config
        .users
        .iter()
        .filter(|u| u.account_enabled && !was.contains_key(&u.key()))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_apply_plan_is_empty_and_the_emulator_holds_the_desired_state() {
    let cases: Vec<u64> = match std::env::var("ROSTER_PROPERTY_CASE") {
        Ok(n) => vec![n.parse().expect("ROSTER_PROPERTY_CASE is a case number")],
        Err(_) => (0..CASES).collect(),
    };
    let mut failures = Vec::new();
    let mut applied = 0;
    for n in cases {
        match run_case(n).await {
            Ok(changes) => applied += changes,
            Err(e) => failures.push(e),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {CASES} cases failed; the first:\n{}\n\nall:\n{}",
        failures.len(),
        failures[0],
        failures
            .iter()
            .map(|f| f.lines().last().unwrap_or("").to_string())
            .collect::<Vec<_>>()
            .join("\n")
    );
    // Not vacuous: the cases changed a lot.
    if std::env::var("ROSTER_PROPERTY_CASE").is_err() {
        assert!(applied > 1000, "only {applied} changes in {CASES} cases");
    }
}

#[test]
fn the_generator_covers_what_the_property_is_about() {
    // Counts over the 200 cases, so a change to the generator cannot quietly stop exercising
    // a feature.
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for n in 0..CASES {
        let mut rng = Rng::new(0x5eed_0000 + n);
        let (case, declared) = generate_config(&mut rng);
        let config = load(&case);
        let (seeds, teams) = generate_live(&mut rng, &config, &declared);
        let mut count = |k: &'static str, b: bool| *seen.entry(k).or_default() += usize::from(b);
        count("no declared users", declared.is_empty());
        count("disabled user", declared.iter().any(|d| !d.enabled));
        count(
            "manager chain",
            declared
                .iter()
                .any(|d| d.manager.is_some_and(|m| declared[m].manager.is_some())),
        );
        let live_names: BTreeSet<String> = seeds
            .iter()
            .filter_map(|s| s.body["userName"].as_str().map(str::to_lowercase))
            .collect();
        count(
            "manager created in the same apply",
            declared.iter().any(|d| {
                d.manager.is_some_and(|m| {
                    declared[m].enabled && !live_names.contains(&declared[m].upn.to_lowercase())
                })
            }),
        );
        count(
            "live userName in another case",
            seeds.iter().any(|s| {
                s.body["userName"]
                    .as_str()
                    .is_some_and(|n| n.chars().any(|c| c.is_ascii_uppercase()))
            }),
        );
        let unmanaged = seeds.iter().any(|s| {
            s.body["userName"]
                .as_str()
                .is_some_and(|n| n.starts_with('x'))
        });
        let policy = config.settings.policy.unmanaged;
        count(
            "unmanaged, ignore",
            unmanaged && policy == Unmanaged::Ignore,
        );
        count(
            "unmanaged, report",
            unmanaged && policy == Unmanaged::Report,
        );
        count(
            "unmanaged, deprovision",
            unmanaged && policy == Unmanaged::Deprovision,
        );
        count(
            "declared team live with members",
            teams
                .iter()
                .any(|(name, m)| name.starts_with("Team") && !m.is_empty()),
        );
        count("deprovisioned live", seeds.iter().any(|s| !s.active));
        count("live manager", seeds.iter().any(|s| s.manager.is_some()));
        count("live team", !teams.is_empty());
        count("declared team", !config.groups.is_empty());
        count("protected", !config.settings.policy.protected.is_empty());
        count("custom mappings", case.settings.contains("mappings:"));
    }
    for (what, n) in &seen {
        assert!(*n >= 10, "only {n} of {CASES} cases have: {what}");
    }
    assert_eq!(seen.len(), 15, "{seen:?}");
}
