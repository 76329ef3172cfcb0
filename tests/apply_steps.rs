//! Single apply steps against the emulator or a scripted server: the paths that make a re-run
//! converge without duplicates (409 adoption, a create whose answer was lost).

#![allow(clippy::disallowed_methods)] // tests set up files, run programs and read the clock

mod apply_support;
mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use roster::apply::{self, ApplyReport, Status};
use roster::config::Config;
use roster::emulator::{Emulator, RunningEmulator};
use roster::plan::{self, Capabilities, Live, Plan, Scope};
use roster::scim::client::{ClientConfig, RecordingClock, Secret, WriteClient};
use serde_json::{Value, json};
use support::{Recorded, Reply, ScriptServer};

const TOKEN: &str = "steps-token";

fn config(settings: &str, users: &str) -> Config {
    let (config, report) = roster::config::from_texts(settings, &[("users/u.yaml", users)], &[]);
    config.unwrap_or_else(|| panic!("{:#?}", report.diagnostics))
}

fn plan_against_nothing(config: &Config) -> Plan {
    let live = Live {
        complete: true,
        ..Live::default()
    };
    plan::plan(config, &live, Capabilities::ASANA, &Scope::default())
}

async fn execute(plan: &Plan, client: &WriteClient) -> ApplyReport {
    let options = apply::Options {
        target: apply::Target::ASANA,
        deprovision_with: roster::config::model::DeprovisionWith::Deactivate,
        etags: Default::default(),
        concurrency: 15,
        on_step: Arc::new(|_: &apply::StepResult| {}),
        audit: None,
        now: Arc::new(|| "2026-01-01T00:00:00Z".to_string()),
    };
    apply::execute(plan, client, options).await
}

fn emulator_client(emu: &RunningEmulator) -> WriteClient {
    WriteClient::new(&ClientConfig::new(emu.url(), Secret::new(TOKEN))).unwrap()
}

const ON_CREATE: &str = r#"version: 1
mappings:
  users:
    - { target: userName, source: userPrincipalName, match: 1 }
    - { target: active, expression: 'Switch([IsSoftDeleted], , "False", "True", "True", "False")' }
    - { target: name.formatted, source: displayName }
    - { target: name.givenName, source: givenName, apply: on_create }
    - { target: title, source: jobTitle }
"#;

#[tokio::test]
async fn a_409_adopts_the_existing_user_without_sending_create_only_attributes() {
    // Regression: adoption PATCHed everything the create would have sent, including
    // `name.givenName`, which Asana refuses on PATCH, so the adoption failed.
    let config = config(
        ON_CREATE,
        "users:\n  - userPrincipalName: ada@x.example\n    displayName: Ada Lovelace\n    givenName: Ada\n    jobTitle: Countess\n",
    );
    let plan = plan_against_nothing(&config);
    let emu = Emulator::builder().token(TOKEN).start().await.unwrap();
    let client = emulator_client(&emu);
    // Someone creates the user after the plan was made.
    let existing = client
        .create_user(&json!({ "userName": "Ada@x.example", "title": "Analyst" }))
        .await
        .unwrap();
    let report = execute(&plan, &client).await;
    let r = &report.results[0];
    assert_eq!(r.status(), Status::Success, "{:?}", r.error());
    assert_eq!(r.id, existing.id());
    assert_eq!(
        r.note().as_deref(),
        Some("already existed (409): updated instead")
    );
    let user = client
        .reader()
        .get_user(&existing.id().unwrap())
        .await
        .unwrap()
        .unwrap()
        .into_value();
    assert_eq!(user["title"], "Countess");
    assert_eq!(user["name"]["formatted"], "Ada Lovelace");
    assert_eq!(client.reader().list_users().await.unwrap().len(), 1);
}

/// A scripted server for one user create: what it answers depends on what it was sent.
fn lost_answer_server(created_before_drop: bool) -> impl Fn(&Recorded) -> Reply + Send + Sync {
    let posts = Mutex::new(0);
    move |r: &Recorded| {
        let user = json!({ "id": "7", "userName": "ada@x.example", "active": true });
        let list = |users: Vec<Value>| {
            Reply::json(
                200,
                json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
                        "totalResults": users.len(), "Resources": users }),
            )
        };
        match (r.method.as_str(), r.path()) {
            ("POST", "/scim/Users") => {
                let mut n = posts.lock().unwrap();
                *n += 1;
                if *n == 1 {
                    Reply::Reset
                } else {
                    Reply::json(201, user)
                }
            }
            ("GET", "/scim/Users") if created_before_drop => list(vec![user]),
            ("GET", "/scim/Users") => list(vec![]),
            ("PATCH", "/scim/Users/7") => Reply::json(200, user),
            _ => Reply::json(404, json!({ "detail": "not scripted" })),
        }
    }
}

fn scripted_client(server: &ScriptServer) -> WriteClient {
    let mut c = ClientConfig::new(server.base_url(), Secret::new(TOKEN));
    c.clock = Arc::new(RecordingClock::new());
    c.timeout = Duration::from_secs(5);
    WriteClient::new(&c).unwrap()
}

#[tokio::test]
async fn a_create_whose_answer_was_lost_is_looked_up_before_it_is_sent_again() {
    let config = config(
        "version: 1\n",
        "users:\n  - userPrincipalName: ada@x.example\n    jobTitle: Countess\n",
    );
    let plan = plan_against_nothing(&config);
    let calls = |server: &ScriptServer| -> Vec<String> {
        server
            .requests()
            .iter()
            .map(|r| format!("{} {}", r.method, r.path()))
            .collect()
    };

    // The server had not acted: the create is sent again.
    let server = ScriptServer::start(lost_answer_server(false)).await;
    let report = execute(&plan, &scripted_client(&server)).await;
    let r = &report.results[0];
    assert_eq!(r.status(), Status::Success, "{:?}", r.error());
    assert_eq!(r.id.as_deref(), Some("7"));
    assert!(
        r.note()
            .as_deref()
            .unwrap()
            .contains("had not been created: sent again")
    );
    assert_eq!(
        calls(&server),
        ["POST /scim/Users", "GET /scim/Users", "POST /scim/Users"]
    );

    // The server had created it: no second create, the user is adopted.
    let server = ScriptServer::start(lost_answer_server(true)).await;
    let report = execute(&plan, &scripted_client(&server)).await;
    let r = &report.results[0];
    assert_eq!(r.status(), Status::Success, "{:?}", r.error());
    assert!(r.note().as_deref().unwrap().contains("had been created"));
    assert_eq!(
        calls(&server),
        ["POST /scim/Users", "GET /scim/Users", "PATCH /scim/Users/7"]
    );
    let patch = server.requests()[2].json();
    assert_eq!(patch["Operations"][0]["value"]["title"], "Countess");
    assert!(patch["Operations"][0]["value"].get("userName").is_none());
}
