//! Issue 12, item 4: every create, a user's or a team's, goes through the one error policy:
//! adopt on 409, look up and send again when the answer was lost (at most three times), fail
//! with the client's error otherwise. Against a scripted server, so each answer is chosen.

#![allow(clippy::disallowed_methods)] // tests set up files, run programs and read the clock

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use roster::apply::{self, ApplyReport, Failure, Outcome, StepResult};
use roster::config::Config;
use roster::plan::{self, Capabilities, Kind, Live, Plan, Scope};
use roster::scim::client::retry::GiveUp;
use roster::scim::client::{ClientConfig, ClientError, RecordingClock, Secret, WriteClient};
use serde_json::{Value, json};
use support::{Recorded, Reply, ScriptServer};

const TOKEN: &str = "policy-token";

/// A plan against an empty target: create ada@x.example, and the team Eng with her in it.
fn plan_for(groups: bool) -> Plan {
    let users = "users:\n  - userPrincipalName: ada@x.example\n    jobTitle: Countess\n";
    let teams = "groups:\n  - displayName: Eng\n    members: [ada@x.example]\n";
    let group_files: &[(&str, &str)] = if groups {
        &[("groups/g.yaml", teams)]
    } else {
        &[]
    };
    let (config, report) =
        roster::config::from_texts("version: 1\n", &[("users/u.yaml", users)], group_files);
    let config: Config = config.unwrap_or_else(|| panic!("{:#?}", report.diagnostics));
    let live = Live {
        complete: true,
        ..Live::default()
    };
    plan::plan(&config, &live, Capabilities::ASANA, &Scope::default())
}

async fn execute(plan: &Plan, server: &ScriptServer) -> ApplyReport {
    let mut c = ClientConfig::new(server.base_url(), Secret::new(TOKEN));
    c.clock = Arc::new(RecordingClock::new());
    c.timeout = Duration::from_secs(5);
    let client = WriteClient::new(&c).unwrap();
    let options = apply::Options {
        target: apply::Target::ASANA,
        deprovision_with: roster::config::model::DeprovisionWith::Deactivate,
        etags: Default::default(),
        concurrency: 15,
        on_step: Arc::new(|_: &StepResult| {}),
        audit: None,
        now: Arc::new(|| "2026-01-01T00:00:00Z".to_string()),
    };
    apply::execute(plan, &client, options).await
}

fn list(resources: Vec<Value>) -> Reply {
    Reply::json(
        200,
        json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
                "totalResults": resources.len(), "Resources": resources }),
    )
}

fn calls(server: &ScriptServer) -> Vec<String> {
    server
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path()))
        .collect()
}

fn result(report: &ApplyReport, kind: Kind) -> &StepResult {
    report
        .results
        .iter()
        .find(|r| r.change.kind == kind)
        .expect("a result for the kind")
}

fn ada() -> Value {
    json!({ "id": "7", "userName": "ada@x.example", "active": true })
}

/// Answers the user's create with 201, and the team's as `team` says (by how many team
/// creates came before); team look-ups find `existing`.
fn team_server(
    team: impl Fn(u32) -> Reply + Send + Sync + 'static,
    existing: Option<Value>,
) -> impl Fn(&Recorded) -> Reply + Send + Sync {
    let posts = Mutex::new(0);
    move |r: &Recorded| match (r.method.as_str(), r.path()) {
        ("POST", "/scim/Users") => Reply::json(201, ada()),
        ("POST", "/scim/Groups") => {
            let mut n = posts.lock().unwrap();
            *n += 1;
            team(*n)
        }
        ("GET", "/scim/Groups") => list(existing.clone().into_iter().collect()),
        ("PATCH", "/scim/Groups/g1") => Reply::empty(204),
        _ => Reply::json(404, json!({ "detail": "not scripted" })),
    }
}

fn conflict() -> Reply {
    Reply::json(
        409,
        json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                "status": "409", "scimType": "uniqueness", "detail": "exists" }),
    )
}

#[tokio::test]
async fn issue12_a_team_that_exists_is_adopted_and_gets_its_members() {
    let eng = json!({ "id": "g1", "displayName": "Eng", "members": [] });
    let server = ScriptServer::start(team_server(|_| conflict(), Some(eng))).await;
    let report = execute(&plan_for(true), &server).await;
    let r = result(&report, Kind::Group);
    assert!(
        matches!(r.outcome, Outcome::Done(Some(_))),
        "{:?}",
        r.outcome
    );
    assert_eq!(r.id.as_deref(), Some("g1"));
    assert_eq!(
        r.note().as_deref(),
        Some("already existed (409): members added instead")
    );
    assert_eq!(
        calls(&server),
        [
            "POST /scim/Users",
            "POST /scim/Groups",
            "GET /scim/Groups",
            "PATCH /scim/Groups/g1"
        ]
    );
    let patch = server.requests()[3].json();
    assert_eq!(patch["Operations"][0]["op"], "add");
    assert_eq!(patch["Operations"][0]["value"], json!([{ "value": "7" }]));
}

#[tokio::test]
async fn issue12_a_team_create_whose_answer_was_lost_is_looked_up_then_sent_again() {
    let created = || Reply::json(201, json!({ "id": "g2", "displayName": "Eng" }));
    let server = ScriptServer::start(team_server(
        move |n| if n == 1 { Reply::Reset } else { created() },
        None,
    ))
    .await;
    let report = execute(&plan_for(true), &server).await;
    let r = result(&report, Kind::Group);
    assert_eq!(r.id.as_deref(), Some("g2"), "{:?}", r.outcome);
    assert_eq!(
        r.note().as_deref(),
        Some(
            "the answer to the create was lost 1 time(s), and it had not been created: sent again"
        )
    );
    assert_eq!(
        calls(&server),
        [
            "POST /scim/Users",
            "POST /scim/Groups",
            "GET /scim/Groups",
            "POST /scim/Groups"
        ]
    );
}

#[tokio::test]
async fn issue12_a_team_found_after_a_lost_answer_is_adopted_not_created_twice() {
    let eng = json!({ "id": "g1", "displayName": "Eng", "members": [] });
    let server = ScriptServer::start(team_server(|_| Reply::Reset, Some(eng))).await;
    let report = execute(&plan_for(true), &server).await;
    let r = result(&report, Kind::Group);
    assert_eq!(
        r.note().as_deref(),
        Some(
            "the answer to the create was lost, and it had been created: members added to be sure"
        )
    );
    assert_eq!(
        calls(&server)
            .iter()
            .filter(|c| *c == "POST /scim/Groups")
            .count(),
        1
    );
}

#[tokio::test]
async fn issue12_a_create_lost_three_times_fails_with_the_clients_error() {
    let server = ScriptServer::start(|r: &Recorded| match (r.method.as_str(), r.path()) {
        ("POST", "/scim/Users") => Reply::Reset,
        ("GET", "/scim/Users") => list(vec![]),
        _ => Reply::json(404, json!({ "detail": "not scripted" })),
    })
    .await;
    let report = execute(&plan_for(false), &server).await;
    let r = result(&report, Kind::User);
    let Outcome::Failed(failure) = &r.outcome else {
        panic!("{:?}", r.outcome)
    };
    // The client's error itself, not its words.
    assert!(
        matches!(
            failure.client_error(),
            Some(ClientError::Transport {
                why: GiveUp::MayHaveApplied,
                ..
            })
        ),
        "{failure:?}"
    );
    assert_eq!(
        calls(&server),
        [
            "POST /scim/Users",
            "GET /scim/Users",
            "POST /scim/Users",
            "GET /scim/Users",
            "POST /scim/Users"
        ]
    );
    assert_eq!(report.counts().failed, 1);
}

#[tokio::test]
async fn issue12_a_409_for_a_user_that_cannot_be_found_fails_and_its_teams_say_why() {
    let server = ScriptServer::start(|r: &Recorded| match (r.method.as_str(), r.path()) {
        ("POST", "/scim/Users") => conflict(),
        ("GET", "/scim/Users") => list(vec![]),
        ("POST", "/scim/Groups") => Reply::json(201, json!({ "id": "g1", "displayName": "Eng" })),
        _ => Reply::json(404, json!({ "detail": "not scripted" })),
    })
    .await;
    let report = execute(&plan_for(true), &server).await;
    let user = result(&report, Kind::User);
    assert!(
        matches!(&user.outcome, Outcome::Failed(Failure::ConflictNotFound { key, .. }) if key == "ada@x.example"),
        "{:?}",
        user.outcome
    );
    let team = result(&report, Kind::Group);
    assert_eq!(
        team.error().as_deref(),
        Some("members without an id in the target were left out: ada@x.example (create failed)")
    );
    // The look-up ran once, and the create was not sent again.
    assert_eq!(
        calls(&server),
        ["POST /scim/Users", "GET /scim/Users", "POST /scim/Groups"]
    );
}
