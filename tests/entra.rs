//! Entra ID as a source, against roster's Graph emulator (and the Asana emulator), all on
//! 127.0.0.1: the Graph client (paging, throttling, tokens, ConsistencyLevel, links), scope
//! (assignments, nested groups, scoping filters, disabled and deleted users), delta rounds and
//! their expiry, and `roster import entra` and live mode end to end. Retry waits run on a
//! recording clock, so nothing here sleeps for a Retry-After.

#![allow(clippy::disallowed_methods)] // tests set up files, run programs and read the clock

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use roster::config::Config;
use roster::entra::emulator::tenant::{self, group_id, user_id};
use roster::entra::emulator::{
    GraphEmulator, GraphEmulatorConfig, RunningGraphEmulator, Tenant, TenantAssignment, TenantUser,
};
use roster::entra::graph::{GraphClient, GraphConfig, GraphError};
use roster::entra::read::{self, UsersRead};
use roster::entra::scope::{self, EntraData};
use roster::entra::{directory, merge};
use roster::scim::client::{Clock, RecordingClock, Secret};
use serde_json::{Value, json};
use support::{Reply, ScriptServer};

fn graph_client(emu: &RunningGraphEmulator, clock: &Arc<RecordingClock>) -> GraphClient {
    graph_client_with(emu, clock, tenant::SEED_CLIENT_SECRET)
}

fn graph_client_with(
    emu: &RunningGraphEmulator,
    clock: &Arc<RecordingClock>,
    secret: &str,
) -> GraphClient {
    let mut c = GraphConfig::new(
        emu.login_url(),
        emu.graph_url(),
        tenant::SEED_TENANT_ID,
        tenant::SEED_CLIENT_ID,
        Secret::new(secret),
    );
    c.clock = clock.clone();
    c.jitter_seed = Some(7);
    GraphClient::new(&c).unwrap()
}

async fn seeded(config: GraphEmulatorConfig) -> RunningGraphEmulator {
    GraphEmulator::start_seeded(config).await.unwrap()
}

fn small_pages() -> GraphEmulatorConfig {
    GraphEmulatorConfig {
        page_size: 2,
        ..GraphEmulatorConfig::default()
    }
}

/// roster.yaml pointing at the emulator, with `extra` lines inside `entra:`.
fn settings_yaml(emu: &RunningGraphEmulator, extra: &str) -> String {
    format!(
        "version: 1\nentra:\n  tenant_id: {}\n  client_id: {}\n  service_principal_id: {}\n  \
         login_url: {}\n  graph_url: {}\n{extra}",
        tenant::SEED_TENANT_ID,
        tenant::SEED_CLIENT_ID,
        tenant::SEED_SERVICE_PRINCIPAL_ID,
        emu.login_url(),
        emu.graph_url()
    )
}

fn load(settings: &str, users: &str) -> Config {
    let users: Vec<(&str, &str)> = if users.is_empty() {
        vec![]
    } else {
        vec![("users/u.yaml", users)]
    };
    let (config, report) = roster::config::from_texts(settings, &users, &[]);
    config.unwrap_or_else(|| panic!("{:#?}", report.diagnostics))
}

/// Reads the emulator's tenant as `extra` configures and decides scope (no delta state).
async fn read_scope(emu: &RunningGraphEmulator, extra: &str) -> EntraData {
    let config = load(&settings_yaml(emu, extra), "");
    let clock = Arc::new(RecordingClock::new());
    let client = graph_client(emu, &clock);
    let settings = config.settings.entra.clone().unwrap();
    let select = directory::select(&directory::used_sources(&config));
    let outcome = read::read(&client, &settings, &select, None).await.unwrap();
    scope::resolve(&outcome.directory, &settings, select.contains(&"manager"))
}

fn in_scope(data: &EntraData) -> BTreeSet<String> {
    data.users
        .iter()
        .filter(|u| u.user.in_scope)
        .map(|u| u.user.upn.split('@').next().unwrap().to_string())
        .collect()
}

fn names(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| s.to_string()).collect()
}

// --- the Graph client ---------------------------------------------------------------------

#[tokio::test]
async fn paging_follows_next_links_over_many_pages() {
    let emu = seeded(small_pages()).await;
    let clock = Arc::new(RecordingClock::new());
    let client = graph_client(&emu, &clock);
    let users = client
        .list(
            client.url("users", &[("$select", "id,userPrincipalName")]),
            false,
        )
        .await
        .unwrap();
    assert_eq!(users.len(), 12, "13 users, one in the recycle bin");
    let ids: BTreeSet<&str> = users.iter().filter_map(|u| u["id"].as_str()).collect();
    assert_eq!(ids.len(), 12, "no page read twice");
    assert_eq!(emu.stats().requests, 6, "six pages of two");
    // A delta round pages too, and ends with a delta link.
    let round = client
        .delta(client.url("users/delta", &[("$select", "id,userPrincipalName")]))
        .await
        .unwrap();
    assert_eq!(round.values.len(), 12);
    assert!(round.delta_link.contains("deltatoken"));
    assert_eq!(emu.stats().delta_pages, 6);
    assert_eq!(client.stats().tokens, 1, "one sign-in for every page");
}

#[tokio::test]
async fn throttled_requests_wait_the_retry_after_then_succeed() {
    let emu = seeded(GraphEmulatorConfig {
        page_size: 2,
        throttle_every: 3,
        retry_after_secs: 7,
        ..GraphEmulatorConfig::default()
    })
    .await;
    let clock = Arc::new(RecordingClock::new());
    let client = graph_client(&emu, &clock);
    let users = client
        .list(client.url("users", &[("$select", "id")]), false)
        .await
        .unwrap();
    assert_eq!(users.len(), 12);
    let throttled = emu.stats().throttled;
    assert!(throttled >= 2, "{throttled}");
    assert_eq!(client.stats().throttled, throttled);
    let sleeps = clock.sleeps();
    assert_eq!(sleeps.len() as u64, throttled);
    assert!(
        sleeps.iter().all(|s| *s == Duration::from_secs(7)),
        "waited exactly Retry-After: {sleeps:?}"
    );
}

#[tokio::test]
async fn unavailable_answers_are_retried() {
    let emu = seeded(GraphEmulatorConfig {
        page_size: 4,
        unavailable_every: 2,
        ..GraphEmulatorConfig::default()
    })
    .await;
    let clock = Arc::new(RecordingClock::new());
    let client = graph_client(&emu, &clock);
    let users = client
        .list(client.url("users", &[("$select", "id")]), false)
        .await
        .unwrap();
    assert_eq!(users.len(), 12);
    assert!(emu.stats().unavailable >= 2);
    assert_eq!(client.stats().retries, emu.stats().unavailable);
}

#[tokio::test]
async fn the_token_is_cached_until_it_expires_and_renewed_when_refused() {
    let emu = seeded(GraphEmulatorConfig {
        token_lifetime: Duration::from_secs(600),
        ..GraphEmulatorConfig::default()
    })
    .await;
    let clock = Arc::new(RecordingClock::new());
    let client = graph_client(&emu, &clock);
    let url = client.url("users", &[("$select", "id")]);
    for _ in 0..3 {
        client.get(&url, false).await.unwrap();
    }
    assert_eq!(emu.stats().token_requests, 1, "cached");
    // Past its lifetime (less a margin), the token is renewed before it is refused.
    clock.sleep(Duration::from_secs(500)).await;
    client.get(&url, false).await.unwrap();
    assert_eq!(emu.stats().token_requests, 2);
    assert_eq!(emu.stats().unauthorized, 0);
    // A token Entra no longer honours: one 401, a new sign-in, the same request again.
    emu.revoke_tokens();
    client.get(&url, false).await.unwrap();
    assert_eq!(emu.stats().unauthorized, 1);
    assert_eq!(emu.stats().token_requests, 3);
}

#[tokio::test]
async fn sign_in_errors_name_the_fix_and_never_the_secret() {
    let emu = seeded(GraphEmulatorConfig::default()).await;
    let clock = Arc::new(RecordingClock::new());
    let secret = "wrong-secret-Zq8~value";
    let client = graph_client_with(&emu, &clock, secret);
    let err = client
        .get(&client.url("users", &[]), false)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, GraphError::Token { error, status: 401, .. } if error == "invalid_client"),
        "{err:?}"
    );
    assert!(err.hint().unwrap().contains("client secret"));
    let shown = format!("{err} {err:?} {}", err.hint().unwrap());
    assert!(!shown.contains(secret), "{shown}");
    assert!(shown.contains("AADSTS7000215"), "{shown}");

    let mut c = GraphConfig::new(
        emu.login_url(),
        emu.graph_url(),
        "contoso.onmicrosoft.com",
        tenant::SEED_CLIENT_ID,
        Secret::new(tenant::SEED_CLIENT_SECRET),
    );
    c.clock = clock.clone();
    let err = GraphClient::new(&c)
        .unwrap()
        .get(&emu_url(&emu, "users"), false)
        .await
        .unwrap_err();
    assert!(err.hint().unwrap().contains("tenant_id"), "{err}");
    c.tenant_id = tenant::SEED_TENANT_ID.into();
    c.client_id = "00000000-0000-0000-0000-000000000000".into();
    let err = GraphClient::new(&c)
        .unwrap()
        .get(&emu_url(&emu, "users"), false)
        .await
        .unwrap_err();
    assert!(err.hint().unwrap().contains("client_id"), "{err}");
}

fn emu_url(emu: &RunningGraphEmulator, path: &str) -> url::Url {
    url::Url::parse(&format!("{}/v1.0/{path}", emu.graph_url())).unwrap()
}

#[tokio::test]
async fn advanced_queries_carry_consistency_level_on_every_page() {
    let emu = seeded(small_pages()).await;
    let clock = Arc::new(RecordingClock::new());
    let client = graph_client(&emu, &clock);
    let url = client.url(
        &format!(
            "groups/{}/transitiveMembers/microsoft.graph.user",
            group_id(1)
        ),
        &[("$select", "id"), ("$count", "true")],
    );
    let err = client.list(url.clone(), false).await.unwrap_err();
    assert!(
        matches!(&err, GraphError::Status { status: 400, code, .. } if code == "Request_UnsupportedQuery"),
        "{err:?}"
    );
    emu.reset_stats();
    let members = client.list(url, true).await.unwrap();
    assert_eq!(members.len(), 4, "Bohr, Meitner, Fermi and (nested) Wu");
    let stats = emu.stats();
    assert_eq!(stats.member_reads, 2, "two pages");
    assert_eq!(
        stats.eventual_requests, 2,
        "the header is sent again on page two"
    );
}

#[tokio::test]
async fn a_next_link_to_another_host_is_refused() {
    let server = ScriptServer::start(|r| {
        if r.path().ends_with("/token") {
            Reply::json(
                200,
                json!({"token_type": "Bearer", "expires_in": 3599, "access_token": "t0ken-1234"}),
            )
        } else {
            Reply::json(
                200,
                json!({"value": [{"id": "1"}], "@odata.nextLink": "http://127.0.0.2:9/v1.0/users?$skiptoken=x"}),
            )
        }
    })
    .await;
    let base = format!("http://{}", server.addr);
    let mut c = GraphConfig::new(
        format!("{base}/login"),
        format!("{base}/graph"),
        "t",
        "c",
        Secret::new("secret"),
    );
    c.clock = Arc::new(RecordingClock::new());
    let client = GraphClient::new(&c).unwrap();
    let err = client
        .list(client.url("users", &[]), false)
        .await
        .unwrap_err();
    assert!(matches!(err, GraphError::ForeignLink { .. }), "{err:?}");
    let requests = server.requests();
    assert_eq!(requests.len(), 2, "the token, one page, and nothing more");
    assert_eq!(
        requests[1].header("authorization"),
        Some("Bearer t0ken-1234")
    );
    let token_body = String::from_utf8_lossy(&requests[0].body).into_owned();
    assert!(token_body.contains("grant_type=client_credentials"));
    assert!(token_body.contains(&format!(
        "scope={}",
        url::form_urlencoded::byte_serialize(format!("{base}/graph/.default").as_bytes())
            .collect::<String>()
    )));
}

// --- scope ---------------------------------------------------------------------------------

#[tokio::test]
async fn assigned_scope_takes_assignments_and_group_members_and_all_takes_everyone() {
    let emu = seeded(small_pages()).await;
    let assigned = read_scope(&emu, "").await;
    assert_eq!(
        in_scope(&assigned),
        names(&[
            "antoine.lavoisier",
            "dmitri.mendeleev",
            "dorothy.hodgkin",
            "enrico.fermi",
            "lise.meitner",
            "marie.curie",
            "max.planck",
            "michael.faraday",
            "niels.bohr",
            "sophie.germain",
        ])
    );
    let why = |data: &EntraData, who: &str| {
        data.users
            .iter()
            .find(|u| u.user.upn.starts_with(who))
            .and_then(|u| u.out_of_scope.clone())
    };
    assert_eq!(
        why(&assigned, "james.maxwell").as_deref(),
        Some("not assigned to the app in Entra")
    );
    assert_eq!(
        why(&assigned, "alessandro.volta").as_deref(),
        Some("deleted in Entra")
    );
    // A guest's #EXT# userPrincipalName is rewritten as Entra's provisioning does.
    assert!(
        assigned
            .users
            .iter()
            .any(|u| u.user.upn == "sophie.germain@paris.example")
    );
    let all = read_scope(&emu, "  scope: all\n").await;
    let mut expected = in_scope(&assigned);
    expected.extend(names(&["james.maxwell", "chien-shiung.wu"]));
    assert_eq!(in_scope(&all), expected, "everyone but the deleted user");
}

#[tokio::test]
async fn assigned_groups_bring_direct_members_or_transitive_ones_when_configured() {
    let emu = seeded(small_pages()).await;
    // Meitner reports to Wu, who is in Research only through the nested Reactor Lab.
    emu.update(|t| {
        t.users[2].manager = Some(user_id(5));
        ((), vec![user_id(3)])
    });
    let team = |data: &EntraData, name: &str| -> Vec<String> {
        data.groups
            .iter()
            .find(|g| g.display_name == name)
            .unwrap()
            .members
            .clone()
    };
    let direct = read_scope(&emu, "").await;
    assert_eq!(
        team(&direct, "Research"),
        [
            "enrico.fermi@northwind.example",
            "lise.meitner@northwind.example",
            "niels.bohr@northwind.example"
        ]
    );
    assert!(
        !in_scope(&direct).contains("chien-shiung.wu"),
        "nested: not assigned"
    );
    assert_eq!(direct.groups.len(), 2, "only assigned groups become teams");
    let transitive = read_scope(&emu, "  group_members: transitive\n").await;
    assert!(in_scope(&transitive).contains("chien-shiung.wu"));
    assert_eq!(team(&transitive, "Research").len(), 4);
    // Managers resolve by userPrincipalName, and only to users in scope.
    let manager = |data: &EntraData, who: &str| {
        data.users
            .iter()
            .find(|u| u.user.upn.starts_with(who))
            .and_then(|u| u.user.manager().map(str::to_string))
    };
    assert_eq!(
        manager(&direct, "niels.bohr").as_deref(),
        Some("marie.curie@northwind.example")
    );
    // Entra leaves a reference to a user out of scope unset.
    assert_eq!(manager(&direct, "lise.meitner"), None, "Wu is out of scope");
    assert_eq!(
        manager(&transitive, "lise.meitner").as_deref(),
        Some("chien-shiung.wu@northwind.example")
    );
}

/// A tenant of four directly assigned users with telling values, for the operators.
fn filter_tenant() -> Tenant {
    let user = |n: u32, props: Value| TenantUser {
        id: user_id(n),
        properties: props.as_object().unwrap().clone(),
        manager: None,
        deleted: false,
    };
    let mut t = tenant::seed();
    t.users = vec![
        user(
            1,
            json!({"userPrincipalName": "a@x.io", "accountEnabled": true,
                       "department": "Sales", "employeeId": "1500", "jobTitle": "Account Executive"}),
        ),
        user(
            2,
            json!({"userPrincipalName": "b@x.io", "accountEnabled": true,
                       "department": "Engineering", "employeeId": "900", "jobTitle": "Engineer"}),
        ),
        // No department and no employeeId; an empty job title.
        user(
            3,
            json!({"userPrincipalName": "c@x.io", "accountEnabled": true, "jobTitle": ""}),
        ),
        user(
            4,
            json!({"userPrincipalName": "d@x.io", "accountEnabled": false,
                       "department": "sales", "employeeId": "abc", "jobTitle": "Intern"}),
        ),
    ];
    t.groups.clear();
    t.assignments = (1..=4)
        .map(|n| TenantAssignment {
            principal_id: user_id(n),
        })
        .collect();
    t
}

#[tokio::test]
async fn every_scoping_filter_operator_with_entras_null_rule() {
    let emu = GraphEmulator::start(GraphEmulatorConfig::default(), filter_tenant())
        .await
        .unwrap();
    let cases: &[(&str, &str, Option<&str>, &[&str])] = &[
        ("department", "EQUALS", Some("Sales"), &["a"]),
        // Null and empty fail every operator but IS NULL, so c is never in NOT EQUALS.
        ("department", "NOT EQUALS", Some("Sales"), &["b", "d"]),
        ("department", "Includes", Some("ale"), &["a", "d"]),
        ("department", "ENDS_WITH", Some("ing"), &["b"]),
        ("department", "&", Some("Sales,Marketing"), &["a"]),
        ("department", "!&", Some("Sales,Marketing"), &["b", "d"]),
        ("employeeId", "Greater_Than", Some("1000"), &["a"]),
        (
            "employeeId",
            "Greater_Than_OR_EQUALS",
            Some("900"),
            &["a", "b"],
        ),
        ("jobTitle", "REGEX MATCH", Some("^Acc"), &["a"]),
        ("jobTitle", "NOT REGEX MATCH", Some("^Acc"), &["b", "d"]),
        ("accountEnabled", "IS TRUE", None, &["a", "b", "c"]),
        ("accountEnabled", "IS FALSE", None, &["d"]),
        ("department", "IS NULL", None, &["c"]),
        ("department", "IS NOT NULL", None, &["a", "b", "d"]),
    ];
    for (attribute, operator, value, expected) in cases {
        let value = value.map_or(String::new(), |v| format!(", value: {v:?}"));
        let extra = format!(
            "  scoping_filters:\n    - clauses:\n        - {{ attribute: {attribute}, operator: {operator:?}{value} }}\n"
        );
        let data = read_scope(&emu, &extra).await;
        assert_eq!(
            in_scope(&data),
            names(expected),
            "{attribute} {operator} {value}"
        );
    }
    // Clauses AND within a filter, filters OR.
    let extra = "  scoping_filters:\n    - clauses:\n        - { attribute: department, operator: IS NOT NULL }\n        - { attribute: accountEnabled, operator: IS TRUE }\n    - clauses:\n        - { attribute: jobTitle, operator: IS NULL }\n";
    assert_eq!(
        in_scope(&read_scope(&emu, extra).await),
        names(&["a", "b", "c"])
    );
}

// --- deprovisioning through the mappings ----------------------------------------------------

fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// Creates an active Asana user in the SCIM emulator.
async fn asana_user(scim: &roster::emulator::RunningEmulator, user_name: &str, title: &str) {
    let r = http()
        .post(format!("{}/Users", scim.url()))
        .bearer_auth(scim.token())
        .json(
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                      "userName": user_name, "active": true, "title": title}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201, "{}", r.text().await.unwrap());
}

#[tokio::test]
async fn disabled_unassigned_filtered_and_deleted_users_become_deprovisions() {
    let graph = seeded(GraphEmulatorConfig::default()).await;
    let scim = roster::emulator::Emulator::builder().start().await.unwrap();
    for who in [
        "marie.curie",
        "antoine.lavoisier",
        "james.maxwell",
        "max.planck",
        "alessandro.volta",
    ] {
        asana_user(&scim, &format!("{who}@northwind.example"), "Scientist").await;
    }
    let extra = "  mode: live\n  scoping_filters:\n    - name: no contractors\n      clauses:\n        - { attribute: employeeType, operator: NOT EQUALS, value: Contractor }\n";
    let mut config = load(&settings_yaml(&graph, extra), "");
    let data = read_scope(&graph, extra).await;
    let diagnostics = merge::merge(&mut config, data);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    let target = roster::scim::client::ClientConfig::new(scim.url(), Secret::new(scim.token()));
    let reader = roster::scim::client::ReadClient::new(&target).unwrap();
    let live = roster::ops::read_live(&reader).await.unwrap();
    let plan = roster::plan::plan(
        &config,
        &live,
        roster::plan::Capabilities::ASANA,
        &roster::plan::Scope::default(),
    );
    let deprovisions: Vec<(&str, &str)> = plan
        .changes
        .iter()
        .filter(|c| c.action == roster::plan::Action::Deprovision)
        .map(|c| (c.key.as_str(), c.reason.as_deref().unwrap_or("")))
        .collect();
    assert_eq!(
        deprovisions,
        [
            (
                "alessandro.volta@northwind.example",
                "IsSoftDeleted: deleted in Entra"
            ),
            (
                "antoine.lavoisier@northwind.example",
                "IsSoftDeleted: disabled in Entra (accountEnabled is false)"
            ),
            (
                "james.maxwell@northwind.example",
                "IsSoftDeleted: not assigned to the app in Entra"
            ),
            (
                "max.planck@northwind.example",
                "IsSoftDeleted: fails the scoping filter \"no contractors\" (employeeType NOT EQUALS \"Contractor\")"
            ),
        ]
    );
    // Everyone else in scope is created; Marie is updated; disabled Lavoisier joins no team.
    assert_eq!(plan.summary.create, 9, "seven users and two teams");
    let chemistry = plan.changes.iter().find(|c| c.key == "Chemistry").unwrap();
    assert!(
        chemistry
            .members
            .iter()
            .all(|m| !m.key.starts_with("antoine"))
    );
    assert!(plan.changes.iter().all(|c| c.source.is_some()));
}

// --- delta ---------------------------------------------------------------------------------

#[tokio::test]
async fn delta_runs_fetch_only_changes_and_a_410_falls_back_to_a_full_read() {
    let emu = seeded(small_pages()).await;
    let dir = tempfile::tempdir().unwrap();
    let state = read::state_path(dir.path());
    let config = load(&settings_yaml(&emu, ""), "");
    let settings = config.settings.entra.clone().unwrap();
    let select = directory::select(&directory::used_sources(&config));
    let clock = Arc::new(RecordingClock::new());
    let client = graph_client(&emu, &clock);
    let run = || read::read(&client, &settings, &select, Some(&state));

    let first = run().await.unwrap();
    assert_eq!(first.users_read, UsersRead::Full { why: None });
    assert_eq!(
        first.directory.users.len(),
        13,
        "12 users and the recycle bin"
    );
    assert!(state.is_file());
    assert!(
        dir.path().join(".roster/.gitignore").is_file(),
        "the state stays out of git"
    );
    let text = std::fs::read_to_string(&state).unwrap();
    assert!(!text.contains(tenant::SEED_CLIENT_SECRET) && !text.contains("graph-emulator."));
    let s = emu.stats();
    assert_eq!((s.full_rounds, s.delta_items), (1, 12));

    // Nothing changed: one page, nothing in it.
    let second = run().await.unwrap();
    assert_eq!(second.users_read, UsersRead::Delta { changes: 0 });
    assert_eq!(emu.stats().delta_items, 12);

    // One change, one user read; the rest comes from the state.
    emu.set_user_property(&user_id(1), "jobTitle", json!("Chief Scientist"));
    emu.delete_user(&user_id(12), false);
    let third = run().await.unwrap();
    assert_eq!(third.users_read, UsersRead::Delta { changes: 2 });
    let s = emu.stats();
    assert_eq!(
        (s.full_rounds, s.incremental_rounds, s.delta_items),
        (1, 2, 14)
    );
    let marie = &third.directory.users[&user_id(1)];
    assert_eq!(marie.properties["jobTitle"], json!("Chief Scientist"));
    assert_eq!(
        marie.properties["displayName"],
        json!("Marie Curie"),
        "kept from the state"
    );
    assert!(third.directory.users[&user_id(12)].deleted);
    let data = scope::resolve(&third.directory, &settings, true);
    let maxwell = data
        .users
        .iter()
        .find(|u| u.user.upn.starts_with("james"))
        .unwrap();
    assert_eq!(maxwell.out_of_scope.as_deref(), Some("deleted in Entra"));

    // The delta link expires: 410 Gone, and the run reads everything again.
    emu.expire_delta_links();
    let fourth = run().await.unwrap();
    match &fourth.users_read {
        UsersRead::Full { why: Some(why) } => assert!(why.contains("410"), "{why}"),
        other => panic!("{other:?}"),
    }
    let s = emu.stats();
    assert_eq!((s.gone, s.full_rounds), (1, 2));
    // The same users (a deleted user's manager is not listed in the recycle bin; it does not
    // matter, as the user is out of scope).
    let users = |o: &read::ReadOutcome| -> Vec<(String, serde_json::Map<String, Value>, bool)> {
        o.directory
            .users
            .values()
            .map(|u| (u.id.clone(), u.properties.clone(), u.deleted))
            .collect()
    };
    assert_eq!(users(&fourth), users(&third));

    // Other mappings select other properties: the stored users cannot serve them.
    let more: Vec<&str> = select.iter().copied().chain(["mobilePhone"]).collect();
    let fifth = read::read(&client, &settings, &more, Some(&state))
        .await
        .unwrap();
    assert!(matches!(fifth.users_read, UsersRead::Full { why: Some(_) }));
}

// --- the command line ----------------------------------------------------------------------

struct Emulators {
    rt: tokio::runtime::Runtime,
    state_copy: Option<std::path::PathBuf>,
    scim: Option<roster::emulator::RunningEmulator>,
    graph: Option<RunningGraphEmulator>,
}

impl Emulators {
    fn start() -> Emulators {
        Emulators::start_with(None)
    }

    /// With the Asana emulator started from a copy of `state`.
    fn start_with(state: Option<&Path>) -> Emulators {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let copy = state.map(|s| {
            let copy = std::env::temp_dir().join(format!(
                "roster-entra-test-{}-{:?}.json",
                std::process::id(),
                std::thread::current().id()
            ));
            std::fs::copy(s, &copy).unwrap();
            copy
        });
        let (scim, graph) = rt.block_on(async {
            let mut builder = roster::emulator::Emulator::builder();
            if let Some(copy) = &copy {
                builder = builder.state_file(copy);
            }
            (
                builder.start().await.unwrap(),
                seeded(GraphEmulatorConfig {
                    page_size: 3,
                    ..GraphEmulatorConfig::default()
                })
                .await,
            )
        });
        Emulators {
            rt,
            state_copy: copy,
            scim: Some(scim),
            graph: Some(graph),
        }
    }

    fn scim(&self) -> &roster::emulator::RunningEmulator {
        self.scim.as_ref().unwrap()
    }

    fn graph(&self) -> &RunningGraphEmulator {
        self.graph.as_ref().unwrap()
    }

    fn roster(&self, dir: &Path) -> assert_cmd::Command {
        let mut cmd = assert_cmd::Command::cargo_bin("roster").unwrap();
        cmd.env("NO_COLOR", "1")
            .env("ROSTER_ASANA_URL", self.scim().url())
            .env("ASANA_TOKEN", self.scim().token())
            .env("ROSTER_ENTRA_LOGIN_URL", self.graph().login_url())
            .env("ROSTER_ENTRA_GRAPH_URL", self.graph().graph_url())
            .env("ENTRA_CLIENT_SECRET", tenant::SEED_CLIENT_SECRET)
            .arg("-C")
            .arg(dir);
        cmd
    }
}

impl Drop for Emulators {
    fn drop(&mut self) {
        let (scim, graph) = (self.scim.take(), self.graph.take());
        self.rt.block_on(async {
            if let Some(s) = scim {
                let _ = s.shutdown().await;
            }
            if let Some(g) = graph {
                g.shutdown().await;
            }
        });
        if let Some(copy) = &self.state_copy {
            let _ = std::fs::remove_file(copy);
        }
    }
}

/// A config directory with the Entra example's roster.yaml, in `mode`.
fn example_dir(mode: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string("examples/entra/roster.yaml").unwrap();
    let text = text.replace("mode: seed", &format!("mode: {mode}"));
    assert!(text.contains(&format!("mode: {mode}")));
    // The example names the emulators on ports 4000 and 4001; these runs pin the ones they
    // started (ROSTER_ASANA_URL, ROSTER_ENTRA_LOGIN_URL, ROSTER_ENTRA_GRAPH_URL), and a URL in
    // roster.yaml must equal the pinned one.
    let mut text = text;
    for url in [
        "  url: http://127.0.0.1:4000/api/1.0/scim\n",
        "  login_url: http://127.0.0.1:4001/login\n",
        "  graph_url: http://127.0.0.1:4001/graph\n",
    ] {
        assert!(text.contains(url), "{url}");
        text = text.replace(url, "");
    }
    std::fs::write(dir.path().join("roster.yaml"), text).unwrap();
    dir
}

fn run(cmd: &mut assert_cmd::Command) -> (i32, String, String) {
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn read_tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for sub in ["users/entra", "groups/entra"] {
        let mut files: Vec<_> = std::fs::read_dir(dir.join(sub))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for f in files {
            out.push((f.display().to_string(), std::fs::read(&f).unwrap()));
        }
    }
    out
}

#[test]
fn import_twice_gives_the_same_bytes_and_then_the_plan_is_empty() {
    let emus = Emulators::start();
    let dir = example_dir("seed");
    // A stale file from an earlier import is removed: the folder is rewritten whole.
    std::fs::create_dir_all(dir.path().join("users/entra")).unwrap();
    std::fs::write(dir.path().join("users/entra/old.yaml"), "users: []\n").unwrap();

    let (code, _, err) = run(emus.roster(dir.path()).args(["import", "entra"]));
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("Wrote 9 users (1 disabled in Entra) and 2 teams"),
        "{err}"
    );
    let first = read_tree(dir.path());
    assert_eq!(
        first.len(),
        2,
        "{:?}",
        first.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    let users = String::from_utf8(first[0].1.clone()).unwrap();
    assert!(
        users.starts_with("# yaml-language-server: $schema="),
        "{users}"
    );
    assert!(users.contains("  - userPrincipalName: sophie.germain@paris.example\n"));
    assert!(
        !users.contains("max.planck"),
        "the contractor is filtered out"
    );

    let (code, _, err) = run(emus.roster(dir.path()).args(["import", "entra"]));
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("read 0 changed user(s)"),
        "the second import uses delta: {err}"
    );
    assert_eq!(read_tree(dir.path()), first, "byte-identical");

    // A third import reading everything again writes the same bytes too.
    let (code, _, err) = run(emus.roster(dir.path()).args(["import", "entra", "--full"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(read_tree(dir.path()), first);

    let (code, out, err) = run(emus.roster(dir.path()).args(["apply", "--auto-approve"]));
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = run(emus
        .roster(dir.path())
        .args(["plan", "--detailed-exitcode"]));
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("No changes."), "{out}");
}

/// The plan as JSON without what says where values came from (which differs by design).
fn comparable(plan_json: &str) -> Value {
    let mut plan: Value = serde_json::from_str(plan_json).unwrap();
    // Each plan is made at its own instant, which two runs a second apart do not share.
    plan.as_object_mut().unwrap().remove("evaluated_at");
    for c in plan["changes"].as_array_mut().unwrap() {
        let c = c.as_object_mut().unwrap();
        c.remove("source");
        c.remove("reason");
    }
    plan
}

#[test]
fn the_committed_example_is_what_the_import_writes() {
    // examples/entra/users/entra and groups/entra are `roster import entra` against the
    // emulators, the Asana one started from examples/entra/emulator-state.json.
    let emus = Emulators::start_with(Some(Path::new("examples/entra/emulator-state.json")));
    let dir = example_dir("seed");
    let (code, _, err) = run(emus.roster(dir.path()).args(["import", "entra"]));
    assert_eq!(code, 0, "{err}");
    for file in ["users/entra/users.yaml", "groups/entra/groups.yaml"] {
        let body = |text: String| text.split_once('\n').unwrap().1.to_string();
        let committed =
            body(std::fs::read_to_string(Path::new("examples/entra").join(file)).unwrap());
        let written = body(std::fs::read_to_string(dir.path().join(file)).unwrap());
        assert_eq!(
            written, committed,
            "{file} is stale: run the Entra quickstart's import (README) to refresh it"
        );
    }
    let (code, out, err) = run(emus.roster(dir.path()).arg("plan"));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("Plan: 4 to create, 1 to update, 4 to deprovision, 2 team membership changes"),
        "{out}"
    );
}

#[test]
fn live_mode_and_seed_mode_give_the_same_plan() {
    let emus = Emulators::start();
    // Asana already has people: one in scope with another title, and four Entra would not
    // provision (unassigned, contractor, disabled, deleted), all active.
    emus.rt.block_on(async {
        asana_user(emus.scim(), "marie.curie@northwind.example", "Curie").await;
        for who in [
            "james.maxwell",
            "max.planck",
            "antoine.lavoisier",
            "alessandro.volta",
        ] {
            asana_user(emus.scim(), &format!("{who}@northwind.example"), "x").await;
        }
    });
    let seed = example_dir("seed");
    let (code, _, err) = run(emus.roster(seed.path()).args(["import", "entra"]));
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("3 out-of-scope users hold an Asana account"),
        "{err}"
    );
    let (code, seed_plan, err) = run(emus.roster(seed.path()).args(["plan", "--format", "json"]));
    assert_eq!(code, 0, "{err}");

    let live = example_dir("live");
    let (code, live_plan, err) = run(emus.roster(live.path()).args(["plan", "--format", "json"]));
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("Entra (live): 9 users in scope"), "{err}");

    let (seed_plan, live_plan) = (comparable(&seed_plan), comparable(&live_plan));
    assert_eq!(seed_plan, live_plan);
    let summary = &live_plan["summary"];
    assert_eq!(summary["deprovision"], 4, "{summary}");
    assert_eq!(summary["update"], 1, "{summary}");
    assert_eq!(summary["create"], 9, "{summary}");
    // Live mode says where values came from.
    let (_, text, _) = run(emus.roster(live.path()).arg("plan"));
    assert!(
        text.contains(
            "# user[\"james.maxwell@northwind.example\"] will be deprovisioned (irreversible in \
             Asana): IsSoftDeleted: not assigned to the app in Entra [from Entra]"
        ),
        "{text}"
    );
}

#[test]
fn yaml_overrides_entra_in_live_mode_and_the_plan_says_so() {
    let emus = Emulators::start();
    let live = example_dir("live");
    std::fs::create_dir_all(live.path().join("users")).unwrap();
    std::fs::write(
        live.path().join("users/overrides.yaml"),
        "users:\n  - userPrincipalName: niels.bohr@northwind.example\n    jobTitle: Professor\n",
    )
    .unwrap();
    let (code, out, err) = run(emus.roster(live.path()).args(["plan", "--format", "json"]));
    assert_eq!(code, 0, "{err}");
    let plan: Value = serde_json::from_str(&out).unwrap();
    let bohr = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["key"] == "niels.bohr@northwind.example")
        .unwrap();
    let title = bohr["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["path"] == "title")
        .unwrap();
    assert_eq!(title["after"], "Professor");
    assert_eq!(bohr["source"]["object"], "entra+yaml");
    assert_eq!(bohr["source"]["attributes"]["title"], "yaml");
    assert_eq!(bohr["source"]["attributes"]["name.formatted"], "entra");

    // A YAML reference that Entra does not resolve either stops the run, located.
    std::fs::write(
        live.path().join("users/overrides.yaml"),
        "users:\n  - userPrincipalName: niels.bohr@northwind.example\n    manager: nobody@northwind.example\n",
    )
    .unwrap();
    let (code, _, err) = run(emus.roster(live.path()).arg("plan"));
    assert_eq!(code, 1);
    assert!(
        err.contains("neither declared nor a user in Entra"),
        "{err}"
    );
    assert!(err.contains("users/overrides.yaml:2:"), "{err}");
    assert!(err.contains("nothing was sent to Asana"), "{err}");
}

#[test]
fn a_plan_saved_in_live_mode_applies_its_deprovisions() {
    // Regression: apply of a saved plan does not read Entra, so the YAML alone declares no
    // user; the empty-config gate must go by the plan, not refuse every deprovision.
    let emus = Emulators::start();
    emus.rt.block_on(async {
        asana_user(
            emus.scim(),
            "marie.curie@northwind.example",
            "Director of Research",
        )
        .await;
        asana_user(emus.scim(), "james.maxwell@northwind.example", "Physicist").await;
    });
    let live = example_dir("live");
    let plan = live.path().join("plan.json");
    let (code, _, err) = run(emus.roster(live.path()).args(["plan", "--out"]).arg(&plan));
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = run(emus.roster(live.path()).arg("apply").arg(&plan));
    assert_eq!(code, 0, "{out}{err}");
    let (_, out, _) = run(emus.roster(live.path()).arg("plan"));
    assert!(out.contains("No changes."), "{out}");
}

#[test]
fn issue13_replan_in_live_mode_merges_entra_again_and_an_entra_change_is_a_changed_declaration() {
    let emus = Emulators::start();
    let live = example_dir("live");
    let plan = live.path().join("plan.json");
    let (code, _, err) = run(emus.roster(live.path()).args(["plan", "--out"]).arg(&plan));
    assert_eq!(code, 0, "{err}");
    // The same Entra and Asana: the fresh plan (Entra merged again) is the saved one.
    let (code, out, err) = run(emus
        .roster(live.path())
        .arg("apply")
        .arg(&plan)
        .arg("--replan"));
    assert_eq!(code, 0, "{out}{err}");
    assert!(!err.contains("fresh plan"), "{err}");
    let (_, out, _) = run(emus.roster(live.path()).arg("plan"));
    assert!(out.contains("No changes."), "{out}");

    // Reviewed: nothing to do. Then Marie's title changes in Entra, where live mode's users
    // are declared: the update a fresh plan has comes from a changed declaration.
    let (code, _, err) = run(emus.roster(live.path()).args(["plan", "--out"]).arg(&plan));
    assert_eq!(code, 0, "{err}");
    let marie = emus
        .graph()
        .tenant()
        .users
        .into_iter()
        .find(|u| u.properties["userPrincipalName"] == json!("marie.curie@northwind.example"));
    emus.graph()
        .set_user_property(&marie.unwrap().id, "jobTitle", json!("Nobel Laureate"));
    emus.scim().reset_stats();
    let (code, out, err) = run(emus
        .roster(live.path())
        .arg("apply")
        .arg(&plan)
        .arg("--replan"));
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains(
            r#"user["marie.curie@northwind.example"] update: only in a fresh plan, because the declaration of user["marie.curie@northwind.example"] changed since the plan"#
        ),
        "{err}"
    );
    assert_eq!(emus.scim().stats().writes, 0, "{err}");
}

#[test]
fn check_signs_in_to_entra_and_reads_the_asana_app() {
    let emus = Emulators::start();
    let dir = example_dir("seed");
    let (code, out, err) = run(emus.roster(dir.path()).arg("check"));
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("ok:     the Asana app is `Asana`, with 5 users and 2 groups assigned"),
        "{out}"
    );
    assert!(!out.contains(tenant::SEED_CLIENT_SECRET));
    // A service principal that is not there says which setting to fix.
    let text = std::fs::read_to_string(dir.path().join("roster.yaml"))
        .unwrap()
        .replace(
            tenant::SEED_SERVICE_PRINCIPAL_ID,
            "99999999-0000-4000-8000-000000000001",
        );
    std::fs::write(dir.path().join("roster.yaml"), text).unwrap();
    let (code, _, err) = run(emus.roster(dir.path()).arg("check"));
    assert_eq!(code, 1);
    assert!(
        err.contains("hint: check entra.service_principal_id"),
        "{err}"
    );
}

#[test]
fn a_wrong_secret_fails_with_a_hint_and_never_prints_the_secret() {
    let emus = Emulators::start();
    let dir = example_dir("seed");
    let secret = "Not-The~Secret.42";
    let (code, _, err) = run(emus
        .roster(dir.path())
        .env("ENTRA_CLIENT_SECRET", secret)
        .args(["-vv", "import", "entra", "--entra-only"]));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("invalid_client"), "{err}");
    assert!(err.contains("hint: check the client secret"), "{err}");
    assert!(!err.contains(secret), "{err}");
    let (code, _, err) = run(emus
        .roster(dir.path())
        .env_remove("ENTRA_CLIENT_SECRET")
        .args(["import", "entra", "--entra-only"]));
    assert_eq!(code, 1);
    assert!(err.contains("ENTRA_CLIENT_SECRET is not set"), "{err}");
}

#[test]
fn url_overrides_from_the_environment_are_checked_like_the_config() {
    let dir = example_dir("seed");
    let out = assert_cmd::Command::cargo_bin("roster")
        .unwrap()
        .env("ENTRA_CLIENT_SECRET", "x")
        .env("ROSTER_ENTRA_GRAPH_URL", "http://graph.example.com")
        .arg("-C")
        .arg(dir.path())
        .args(["import", "entra", "--entra-only"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("ROSTER_ENTRA_GRAPH_URL: plain http:// is refused for `graph.example.com`"),
        "{err}"
    );
}

#[test]
fn changed_since_is_refused_in_live_mode() {
    // Entra's users are not in git, so a plan of what changed in git would miss their changes.
    let dir = example_dir("live");
    let out = assert_cmd::Command::cargo_bin("roster")
        .unwrap()
        .arg("-C")
        .arg(dir.path())
        .args(["plan", "--changed-since", "HEAD"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--changed-since compares declarations in git"),
        "{err}"
    );
}

#[test]
fn the_emulator_command_serves_graph_on_its_second_line() {
    use std::io::{BufRead, BufReader};
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_roster"))
        .args(["emulator", "--graph-page-size", "5"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let second = lines.next().unwrap().unwrap();
    assert!(
        first.starts_with("listening on http://127.0.0.1:"),
        "{first}"
    );
    let words: Vec<&str> = second.split(' ').collect();
    assert_eq!(words[0..2], ["graph", "login_url"], "{second}");
    assert_eq!(words[3], "graph_url", "{second}");
    let (login, graph) = (words[2].to_string(), words[4].to_string());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let count = rt.block_on(async {
        let http = http();
        let token: Value = http
            .post(format!("{login}/{}/oauth2/v2.0/token", tenant::SEED_TENANT_ID))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!(
                "grant_type=client_credentials&client_id={}&client_secret={}&scope={graph}/.default",
                tenant::SEED_CLIENT_ID,
                tenant::SEED_CLIENT_SECRET
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let bearer = token["access_token"].as_str().unwrap().to_string();
        let page: Value = http
            .get(format!("{graph}/v1.0/users"))
            .bearer_auth(bearer)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(page["@odata.nextLink"].is_string());
        page["value"].as_array().unwrap().len()
    });
    assert_eq!(count, 5);
    let _ = child.kill();
    let _ = child.wait();
}
