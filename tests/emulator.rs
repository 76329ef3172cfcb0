//! The Asana SCIM emulator over real HTTP on 127.0.0.1, started in-process on port 0 (and once
//! as the `roster emulator` binary). Limits and faults run on scaled time, so nothing here
//! sleeps for long.

#![allow(clippy::disallowed_methods)] // tests set up files, run programs and read the clock

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use roster::emulator::{
    Behaviour, Deprovisioned, Emulator, EmulatorBuilder, FaultConfig, LimitsConfig, Paging,
    Reactivation, RunningEmulator, StringBooleans,
};
use serde_json::{Value, json};

const CORE_USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// A minimal SCIM client for the tests.
#[derive(Clone)]
struct Client {
    http: reqwest::Client,
    url: String,
    token: String,
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts an RFC 7644 error body.
    fn scim_error(&self, status: u16, scim_type: Option<&str>) -> &Self {
        assert_eq!(self.status.as_u16(), status, "{}", self.body);
        assert_eq!(self.body["schemas"], json!([ERROR]), "{}", self.body);
        assert_eq!(self.body["status"], json!(status.to_string()));
        assert!(self.body["detail"].as_str().is_some_and(|d| !d.is_empty()));
        assert_eq!(self.body["scimType"].as_str(), scim_type, "{}", self.body);
        self
    }
}

fn http_client() -> reqwest::Client {
    // reqwest is built without a bundled TLS crypto provider (see src/scim/client/transport.rs).
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        // Loopback only: never through a proxy from the environment.
        .no_proxy()
        .build()
        .unwrap()
}

impl Client {
    fn new(emu: &RunningEmulator) -> Client {
        Client {
            http: http_client(),
            url: emu.url().to_string(),
            token: emu.token().to_string(),
        }
    }

    fn with_token(&self, token: &str) -> Client {
        Client {
            http: http_client(),
            url: self.url.clone(),
            token: token.to_string(),
        }
    }

    async fn send(&self, rb: reqwest::RequestBuilder) -> Result<Reply, reqwest::Error> {
        let resp = rb.bearer_auth(&self.token).send().await?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await?;
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&bytes)))
        };
        Ok(Reply {
            status,
            headers,
            body,
        })
    }

    fn with_body(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &Value,
    ) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.url))
            .header("content-type", "application/scim+json")
            .body(body.to_string())
    }

    async fn get(&self, path: &str) -> Reply {
        self.send(self.http.get(format!("{}{path}", self.url)))
            .await
            .unwrap()
    }
    async fn post(&self, path: &str, body: Value) -> Reply {
        self.send(self.with_body(reqwest::Method::POST, path, &body))
            .await
            .unwrap()
    }
    async fn put(&self, path: &str, body: Value) -> Reply {
        self.send(self.with_body(reqwest::Method::PUT, path, &body))
            .await
            .unwrap()
    }
    async fn patch(&self, path: &str, ops: Value) -> Reply {
        let body = json!({"schemas": [PATCH_OP], "Operations": ops});
        self.send(self.with_body(reqwest::Method::PATCH, path, &body))
            .await
            .unwrap()
    }
    async fn delete(&self, path: &str) -> Reply {
        self.send(self.http.delete(format!("{}{path}", self.url)))
            .await
            .unwrap()
    }

    /// Creates a user and returns its id.
    async fn user(&self, user_name: &str) -> String {
        let r = self.post("/Users", user(user_name)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        r.body["id"].as_str().unwrap().to_string()
    }

    async fn admin_get(&self, path: &str) -> Value {
        let root = self.url.trim_end_matches("/api/1.0/scim");
        self.http
            .get(format!("{root}/_emulator/{path}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

fn user(user_name: &str) -> Value {
    json!({
        "schemas": [CORE_USER, ENTERPRISE],
        "userName": user_name,
        "name": {"formatted": "Test User", "givenName": "Test", "familyName": "User"},
        "emails": [{"type": "work", "value": user_name, "primary": true}],
        "active": true,
        "title": "Engineer",
        ENTERPRISE: {"department": "R&D"},
    })
}

async fn start(builder: EmulatorBuilder) -> (RunningEmulator, Client) {
    let emu = builder.start().await.unwrap();
    let client = Client::new(&emu);
    (emu, client)
}

#[tokio::test]
async fn serves_scim_json_and_discovery_as_asana_would() {
    let (emu, c) = start(Emulator::builder()).await;
    assert!(emu.url().starts_with("http://127.0.0.1:"));
    assert!(emu.url().ends_with("/api/1.0/scim"));

    let spc = c.get("/ServiceProviderConfig").await;
    assert_eq!(spc.status, StatusCode::OK);
    assert_eq!(spc.header("content-type"), Some("application/scim+json"));
    assert_eq!(spc.body["etag"]["supported"], true);
    assert_eq!(spc.body["patch"]["supported"], true);
    assert_eq!(spc.body["bulk"]["supported"], false);
    assert_eq!(spc.body["filter"]["maxResults"], 100);

    let types = c.get("/ResourceTypes").await;
    let names: Vec<&str> = types.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["User", "Group"]);
    assert_eq!(
        c.get("/ResourceTypes/Group").await.body["endpoint"],
        "/Groups"
    );

    let schemas = c.get("/Schemas").await;
    assert_eq!(schemas.body["totalResults"], 3);
    let user_schema = c.get(&format!("/Schemas/{CORE_USER}")).await;
    assert_eq!(user_schema.body["name"], "User");
    c.get("/Schemas/urn:nope").await.scim_error(404, None);

    let r = c.post("/ServiceProviderConfig", json!({})).await;
    r.scim_error(405, None);
    assert_eq!(r.header("allow"), Some("GET"));
    c.get("/Nope").await.scim_error(404, None);
    c.post("/Users/.search", json!({}))
        .await
        .scim_error(501, None);
}

#[tokio::test]
async fn a_bearer_token_is_required_and_admin_endpoints_need_none() {
    let (emu, c) = start(Emulator::builder().token("t1").add_token("t2")).await;
    let nobody = c.with_token("wrong");
    let r = nobody.get("/Users").await;
    r.scim_error(401, None);
    assert!(r.header("www-authenticate").unwrap().starts_with("Bearer"));
    let r = c
        .send(
            c.http
                .get(format!("{}/Users", c.url))
                .header("authorization", "Basic dDE6"),
        )
        .await
        .unwrap();
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // No header at all.
    let r = c.http.get(format!("{}/Users", c.url)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(c.get("/Users").await.status, StatusCode::OK);
    assert_eq!(
        c.with_token("t2").get("/Users").await.status,
        StatusCode::OK
    );

    let stats = c.admin_get("stats").await;
    assert_eq!(stats["by_status"]["401"], 3);
    assert_eq!(stats["requests"], 5, "the admin call itself is not counted");
    assert_eq!(emu.stats().requests, 5);
    let root = c.url.trim_end_matches("/api/1.0/scim");
    let reset = c
        .http
        .post(format!("{root}/_emulator/reset-stats"))
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), StatusCode::NO_CONTENT);
    assert_eq!(c.admin_get("stats").await["requests"], 0);
}

#[tokio::test]
async fn usernames_are_unique_emails_and_ids_look_like_asana_gids() {
    let (_emu, c) = start(Emulator::builder()).await;
    let r = c.post("/Users", user("Ada@Example.com")).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let id = r.body["id"].as_str().unwrap();
    assert!(
        id.len() == 16 && id.bytes().all(|b| b.is_ascii_digit()),
        "{id}"
    );
    let location = format!("{}/Users/{id}", c.url);
    assert_eq!(r.header("location"), Some(location.as_str()));
    assert_eq!(r.header("etag"), Some("W/\"1\""));
    let meta = &r.body["meta"];
    assert_eq!(meta["resourceType"], "User");
    assert_eq!(meta["location"], location.as_str());
    assert_eq!(meta["version"], "W/\"1\"");
    assert!(meta["created"].as_str().unwrap().ends_with('Z'));
    assert_eq!(
        r.body["name"]["givenName"], "Test",
        "POST accepts name parts"
    );

    c.post("/Users", user("ada@example.COM"))
        .await
        .scim_error(409, Some("uniqueness"));
    c.post("/Users", user("ada"))
        .await
        .scim_error(400, Some("invalidValue"));
    c.post("/Users", json!({"schemas": [CORE_USER]}))
        .await
        .scim_error(400, Some("invalidValue"));
    // Renaming onto a taken userName is a conflict too.
    let other = c.user("bob@example.com").await;
    c.put(&format!("/Users/{other}"), user("ADA@example.com"))
        .await
        .scim_error(409, Some("uniqueness"));
    c.get("/Users/999").await.scim_error(404, None);
    c.get("/Users/not-a-number").await.scim_error(404, None);
    let r = c
        .send(
            c.http
                .post(format!("{}/Users", c.url))
                .header("content-type", "application/scim+json")
                .body("{not json"),
        )
        .await
        .unwrap();
    r.scim_error(400, Some("invalidSyntax"));
}

#[tokio::test]
async fn only_username_and_displayname_eq_filters() {
    let (_emu, c) = start(Emulator::builder()).await;
    let id = c.user("Grace@Example.com").await;
    let found = c
        .get("/Users?filter=userName%20eq%20%22grace%40example.com%22")
        .await;
    assert_eq!(found.body["totalResults"], 1);
    assert_eq!(found.body["Resources"][0]["id"], id.as_str());
    let none = c.get("/Users?filter=userName+eq+%22nobody%40x.io%22").await;
    assert_eq!(none.body["totalResults"], 0);
    assert_eq!(none.body["Resources"], json!([]));
    for f in [
        "userName%20co%20%22grace%22",
        "externalId%20eq%20%22x%22",
        "emails.value%20eq%20%22grace%40example.com%22",
        "userName%20eq%20%22a%40x.io%22%20or%20userName%20eq%20%22b%40x.io%22",
        "displayName%20eq%20%22x%22",
    ] {
        c.get(&format!("/Users?filter={f}"))
            .await
            .scim_error(400, Some("invalidFilter"));
    }
    let g = c.post("/Groups", json!({"displayName": "Platform"})).await;
    assert_eq!(g.status, StatusCode::CREATED);
    let found = c
        .get("/Groups?filter=displayName%20eq%20%22platform%22")
        .await;
    assert_eq!(found.body["Resources"][0]["displayName"], "Platform");
    c.get("/Groups?filter=userName%20eq%20%22x%22")
        .await
        .scim_error(400, Some("invalidFilter"));
}

#[tokio::test]
async fn every_patch_form() {
    let (_emu, c) = start(Emulator::builder()).await;
    let id = c.user("linus@example.com").await;
    let path = format!("/Users/{id}");

    // Asana's documented example: path-less replace with an object value, 200 + full user.
    let r = c
        .patch(
            &path,
            json!([{"op": "replace", "value": {"title": "Senior Software Engineer"}}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["title"], "Senior Software Engineer");
    assert_eq!(r.body["userName"], "linus@example.com");
    assert_eq!(r.header("etag"), Some("W/\"2\""));

    // Path-based ops, op names in any case, Entra-style paths.
    let r = c
        .patch(
            &path,
            json!([
                {"op": "Replace", "path": "name.formatted", "value": "Linus T"},
                {"op": "ADD", "path": "addresses[type eq \"work\"].country", "value": "FI"},
                {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "lt@example.com"},
                {"op": "replace", "path": format!("{ENTERPRISE}:costCenter"), "value": "42"},
                {"op": "remove", "path": format!("{ENTERPRISE}:department")},
                {"op": "Remove", "path": "title"},
            ]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["name"]["formatted"], "Linus T");
    assert_eq!(
        r.body["addresses"],
        json!([{"type": "work", "country": "FI"}])
    );
    assert_eq!(r.body["emails"][0]["value"], "lt@example.com");
    assert_eq!(r.body[ENTERPRISE], json!({"costCenter": "42"}));
    assert!(r.body.get("title").is_none());

    // name.givenName / familyName are refused on PATCH, as Asana documents; nothing applies.
    for ops in [
        json!([{"op": "replace", "path": "name.givenName", "value": "L"}]),
        json!([{"op": "replace", "value": {"name": {"familyName": "T"}}}]),
        json!([{"op": "replace", "path": "title", "value": "x"}, {"op": "add", "path": "name.familyName", "value": "T"}]),
    ] {
        c.patch(&path, ops)
            .await
            .scim_error(400, Some("mutability"));
    }
    assert!(
        c.get(&path).await.body.get("title").is_none(),
        "all or nothing"
    );

    for (ops, scim_type) in [
        (json!([{"op": "move", "path": "title"}]), "invalidSyntax"),
        (json!([{"op": "remove"}]), "noTarget"),
        (
            json!([{"op": "replace", "path": "nickName", "value": "x"}]),
            "invalidPath",
        ),
        (json!([{"op": "remove", "path": "userName"}]), "mutability"),
    ] {
        c.patch(&path, ops).await.scim_error(400, Some(scim_type));
    }
    // A body without the PatchOp schema is refused.
    let r = c
        .send(c.with_body(
            reqwest::Method::PATCH,
            &path,
            &json!({"Operations": [{"op": "replace", "value": {"title": "x"}}]}),
        ))
        .await
        .unwrap();
    r.scim_error(400, Some("invalidSyntax"));
}

#[tokio::test]
async fn string_booleans_are_accepted_or_refused_by_flag() {
    let (_emu, c) = start(Emulator::builder()).await;
    let id = c.user("a@example.com").await;
    let mut u = user("b@example.com");
    u["active"] = json!("True");
    assert_eq!(c.post("/Users", u.clone()).await.body["active"], true);
    let r = c
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "Replace", "path": "active", "value": "False"}]),
        )
        .await;
    assert_eq!(r.body["active"], false);

    let strict = Behaviour {
        string_booleans: StringBooleans::Refuse,
        ..Behaviour::default()
    };
    let (_emu, c) = start(Emulator::builder().behaviour(strict)).await;
    c.post("/Users", u)
        .await
        .scim_error(400, Some("invalidValue"));
    let id = c.user("a@example.com").await;
    c.patch(
        &format!("/Users/{id}"),
        json!([{"op": "replace", "path": "active", "value": "False"}]),
    )
    .await
    .scim_error(400, Some("invalidValue"));
}

#[tokio::test]
async fn deprovisioning_is_irreversible_by_delete_put_or_patch() {
    let (_emu, c) = start(Emulator::builder()).await;
    let gone = c.user("gone@example.com").await;
    let group = c
        .post(
            "/Groups",
            json!({"displayName": "Team", "members": [{"value": gone}]}),
        )
        .await;
    let group_id = group.body["id"].as_str().unwrap().to_string();
    assert_eq!(
        c.delete(&format!("/Users/{gone}")).await.status,
        StatusCode::NO_CONTENT
    );
    // Listed by default, with active false, and out of its teams.
    let r = c.get(&format!("/Users/{gone}")).await;
    assert_eq!(r.body["active"], false);
    assert_eq!(c.get("/Users").await.body["totalResults"], 1);
    assert!(
        c.get(&format!("/Groups/{group_id}"))
            .await
            .body
            .get("members")
            .is_none()
    );
    // Deleting again is a no-op.
    assert_eq!(
        c.delete(&format!("/Users/{gone}")).await.status,
        StatusCode::NO_CONTENT
    );
    // No way back: not by PATCH, not by PUT, and no other change either.
    c.patch(
        &format!("/Users/{gone}"),
        json!([{"op": "replace", "value": {"active": true}}]),
    )
    .await
    .scim_error(400, Some("mutability"));
    c.put(&format!("/Users/{gone}"), user("gone@example.com"))
        .await
        .scim_error(400, Some("mutability"));
    c.patch(
        &format!("/Users/{gone}"),
        json!([{"op": "replace", "path": "title", "value": "x"}]),
    )
    .await
    .scim_error(400, Some("mutability"));
    // The userName stays taken.
    c.post("/Users", user("GONE@example.com"))
        .await
        .scim_error(409, Some("uniqueness"));
    // PUT and PATCH with active=false deprovision the same way.
    let by_put = c.user("put@example.com").await;
    let mut body = user("put@example.com");
    body["active"] = json!(false);
    assert_eq!(
        c.put(&format!("/Users/{by_put}"), body).await.body["active"],
        false
    );
    let by_patch = c.user("patch@example.com").await;
    c.patch(
        &format!("/Users/{by_patch}"),
        json!([{"op": "replace", "path": "active", "value": false}]),
    )
    .await;
    for id in [&by_put, &by_patch] {
        c.patch(
            &format!("/Users/{id}"),
            json!([{"op": "replace", "path": "active", "value": true}]),
        )
        .await
        .scim_error(400, Some("mutability"));
    }
    // PUT without `active` keeps the current value rather than reprovisioning.
    let kept = c.user("kept@example.com").await;
    let mut body = user("kept@example.com");
    body.as_object_mut().unwrap().remove("active");
    assert_eq!(
        c.put(&format!("/Users/{kept}"), body).await.body["active"],
        true
    );
}

#[tokio::test]
async fn deprovisioned_users_hidden_and_reactivation_allowed_by_flag() {
    let hidden = Behaviour {
        deprovisioned: Deprovisioned::Hidden,
        ..Behaviour::default()
    };
    let (_emu, c) = start(Emulator::builder().behaviour(hidden)).await;
    let id = c.user("h@example.com").await;
    c.delete(&format!("/Users/{id}")).await;
    c.get(&format!("/Users/{id}")).await.scim_error(404, None);
    // A PATCH that deprovisions still answers with the user it just hid.
    let other = c.user("p@example.com").await;
    let r = c
        .patch(
            &format!("/Users/{other}"),
            json!([{"op": "replace", "path": "active", "value": false}]),
        )
        .await;
    assert_eq!(
        (r.status, &r.body["active"]),
        (StatusCode::OK, &json!(false))
    );
    c.get(&format!("/Users/{other}"))
        .await
        .scim_error(404, None);
    assert_eq!(c.get("/Users").await.body["totalResults"], 0);
    let f = c
        .get("/Users?filter=userName%20eq%20%22h%40example.com%22")
        .await;
    assert_eq!(f.body["totalResults"], 0);
    c.post("/Users", user("h@example.com"))
        .await
        .scim_error(409, Some("uniqueness"));

    let allow = Behaviour {
        reactivation: Reactivation::Allow,
        ..Behaviour::default()
    };
    let (_emu, c) = start(Emulator::builder().behaviour(allow)).await;
    let id = c.user("r@example.com").await;
    c.delete(&format!("/Users/{id}")).await;
    let r = c
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "replace", "path": "active", "value": true}]),
        )
        .await;
    assert_eq!(
        (r.status, &r.body["active"]),
        (StatusCode::OK, &json!(true))
    );
}

#[tokio::test]
async fn guests_are_never_listed_or_readable() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("org.json");
    std::fs::write(
        &state,
        json!({"users": [
            {"id": "1204000000000100", "guest": true, "attributes": {"userName": "guest@partner.example"}},
            {"attributes": {"userName": "member@example.com", "active": true}},
        ]})
        .to_string(),
    )
    .unwrap();
    let (_emu, c) = start(Emulator::builder().state_file(&state)).await;
    let list = c.get("/Users").await;
    assert_eq!(list.body["totalResults"], 1);
    assert_eq!(list.body["Resources"][0]["userName"], "member@example.com");
    c.get("/Users/1204000000000100").await.scim_error(404, None);
    let f = c
        .get("/Users?filter=userName%20eq%20%22guest%40partner.example%22")
        .await;
    assert_eq!(f.body["totalResults"], 0);
    // Guests still own their email in the domain.
    c.post("/Users", user("guest@partner.example"))
        .await
        .scim_error(409, Some("uniqueness"));
    c.post(
        "/Groups",
        json!({"displayName": "G", "members": [{"value": "1204000000000100"}]}),
    )
    .await
    .scim_error(400, Some("invalidValue"));

    // And with the seed option.
    let (_emu, c) = start(Emulator::builder().seed_users(5).seed_guests(3)).await;
    let list = c.get("/Users").await;
    assert_eq!(list.body["totalResults"], 5);
    assert!(
        list.body["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .all(|u| !u["userName"].as_str().unwrap().starts_with("guest"))
    );
}

#[tokio::test]
async fn groups_patch_members_and_cannot_be_deleted() {
    let (_emu, c) = start(Emulator::builder()).await;
    let a = c.user("a@example.com").await;
    let b = c.user("b@example.com").await;
    let r = c
        .post(
            "/Groups",
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Marketing", "members": [{"value": a}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.body["meta"]["resourceType"], "Group");
    let id = r.body["id"].as_str().unwrap().to_string();
    let path = format!("/Groups/{id}");
    c.post("/Groups", json!({"displayName": "MARKETING"}))
        .await
        .scim_error(409, Some("uniqueness"));

    // Asana's documented add: 204 No Content.
    let r = c
        .patch(
            &path,
            json!([{"op": "add", "path": "members", "value": [{"value": b}]}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(r.header("etag"), Some("W/\"2\""));
    let members = |v: &Value| -> Vec<String> {
        v["members"]
            .as_array()
            .map(|m| {
                m.iter()
                    .map(|m| m["value"].as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(members(&c.get(&path).await.body), [a.clone(), b.clone()]);
    let r = c
        .patch(
            &path,
            json!([{"op": "remove", "path": format!("members[value eq \"{a}\"]")}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(members(&c.get(&path).await.body), [b.as_str()]);
    // Entra's remove form, and a rename.
    let r = c
        .patch(
            &path,
            json!([
                {"op": "Remove", "path": "members", "value": [{"value": b}]},
                {"op": "Replace", "path": "displayName", "value": "Growth"},
            ]),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let g = c.get(&path).await.body;
    assert_eq!(
        (members(&g).len(), &g["displayName"]),
        (0, &json!("Growth"))
    );
    c.patch(
        &path,
        json!([{"op": "add", "path": "members", "value": [{"value": "1"}]}]),
    )
    .await
    .scim_error(400, Some("invalidValue"));
    // PUT replaces members too.
    let r = c
        .put(
            &path,
            json!({"displayName": "Growth", "members": [{"value": a}]}),
        )
        .await;
    assert_eq!(members(&r.body), [a.as_str()]);

    let r = c.delete(&path).await;
    r.scim_error(405, None);
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains("deleting teams")
    );
    assert_eq!(r.header("allow"), Some("GET, PUT, PATCH"));
    assert_eq!(c.get(&path).await.status, StatusCode::OK);
}

#[tokio::test]
async fn paging_is_honoured_up_to_100_or_ignored() {
    let (_emu, c) = start(Emulator::builder().seed_users(250)).await;
    let page = c.get("/Users?startIndex=1&count=100").await.body;
    assert_eq!(
        (
            &page["totalResults"],
            &page["startIndex"],
            &page["itemsPerPage"]
        ),
        (&json!(250), &json!(1), &json!(100))
    );
    let mut seen = Vec::new();
    let mut next = 1;
    loop {
        let page = c
            .get(&format!("/Users?startIndex={next}&count=100"))
            .await
            .body;
        let items = page["Resources"].as_array().unwrap().clone();
        if items.is_empty() {
            break;
        }
        next += items.len();
        seen.extend(
            items
                .into_iter()
                .map(|u| u["id"].as_str().unwrap().to_string()),
        );
    }
    assert_eq!(seen.len(), 250);
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, seen, "ids are unique and in id order");
    // count is capped at 100, and applies without count too.
    assert_eq!(c.get("/Users?count=500").await.body["itemsPerPage"], 100);
    assert_eq!(c.get("/Users").await.body["itemsPerPage"], 100);
    assert_eq!(
        c.get("/Users?startIndex=241").await.body["itemsPerPage"],
        10
    );
    assert_eq!(c.get("/Users?count=0").await.body["Resources"], json!([]));
    c.get("/Users?count=lots")
        .await
        .scim_error(400, Some("invalidValue"));

    let ignore = Behaviour {
        paging: Paging::Ignore,
        ..Behaviour::default()
    };
    let (_emu, c) = start(Emulator::builder().seed_users(250).behaviour(ignore)).await;
    let all = c.get("/Users?startIndex=101&count=10").await.body;
    assert_eq!(all["Resources"].as_array().unwrap().len(), 250);
    assert!(all.get("startIndex").is_none() && all.get("itemsPerPage").is_none());
}

#[tokio::test]
async fn etags_if_match_and_attribute_projection() {
    let (_emu, c) = start(Emulator::builder()).await;
    let id = c.user("e@example.com").await;
    let path = format!("/Users/{id}");
    let r = c.get(&path).await;
    assert_eq!(r.header("etag"), Some("W/\"1\""));
    let cond = |rb: reqwest::RequestBuilder, h: &str, v: &str| rb.header(h, v);
    let r = c
        .send(cond(
            c.http.get(format!("{}{path}", c.url)),
            "if-none-match",
            "W/\"1\"",
        ))
        .await
        .unwrap();
    assert_eq!(r.status, StatusCode::NOT_MODIFIED);
    let title = json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title", "value": "x"}]});
    let r = c
        .send(cond(
            c.with_body(reqwest::Method::PATCH, &path, &title),
            "if-match",
            "W/\"1\"",
        ))
        .await
        .unwrap();
    assert_eq!(r.status, StatusCode::OK);
    let r = c
        .send(cond(
            c.with_body(reqwest::Method::PATCH, &path, &title),
            "if-match",
            "W/\"1\"",
        ))
        .await
        .unwrap();
    r.scim_error(412, None);
    let r = c
        .send(cond(
            c.http.delete(format!("{}{path}", c.url)),
            "if-match",
            "W/\"7\"",
        ))
        .await
        .unwrap();
    r.scim_error(412, None);

    let r = c
        .get(&format!("{path}?attributes=userName,name.formatted"))
        .await
        .body;
    assert_eq!(
        r,
        json!({"schemas": [CORE_USER, ENTERPRISE], "id": id, "userName": "e@example.com", "name": {"formatted": "Test User"}})
    );
    let r = c
        .get(&format!(
            "/Users?excludedAttributes=emails,meta,{ENTERPRISE}:department"
        ))
        .await
        .body;
    let u = &r["Resources"][0];
    assert!(u.get("emails").is_none() && u.get("meta").is_none());
    assert!(u[ENTERPRISE].get("department").is_none());
    assert_eq!(u["title"], "x");
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after_and_counts_rejections() {
    // 10 requests a minute; at 20x a minute lasts three real seconds.
    let limits = LimitsConfig {
        requests_per_minute: 10,
        ..LimitsConfig::default()
    };
    let (emu, c) = start(
        Emulator::builder()
            .token("a")
            .add_token("b")
            .limits(limits)
            .time_scale(20.0),
    )
    .await;
    let started = Instant::now();
    for _ in 0..10 {
        assert_eq!(c.get("/Users").await.status, StatusCode::OK);
    }
    let r = c.get("/Users").await;
    assert!(
        started.elapsed() < Duration::from_millis(2_500),
        "test machine too slow"
    );
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        r.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("rate limit")
    );
    let secs: u64 = r.header("retry-after").unwrap().parse().unwrap();
    let real_ms: u64 = r
        .header("x-emulator-retry-after-ms")
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&secs), "{secs}");
    assert!(
        real_ms <= 3000 && real_ms * 20 <= secs * 1000 + 20,
        "{secs} s, {real_ms} ms"
    );
    // The other token has its own budget.
    assert_eq!(c.with_token("b").get("/Users").await.status, StatusCode::OK);
    // Rejected requests count: an immediate retry is refused again.
    assert_eq!(c.get("/Users").await.status, StatusCode::TOO_MANY_REQUESTS);
    // Waiting the real time the emulator names (for the latest rejection) is enough.
    let r = c.get("/Users").await;
    let wait: u64 = r
        .header("x-emulator-retry-after-ms")
        .unwrap()
        .parse()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(wait)).await;
    assert_eq!(c.get("/Users").await.status, StatusCode::OK);
    let stats = emu.stats();
    assert_eq!(stats.rate_limited, 3);
    assert_eq!(stats.by_method["GET"]["429"], 3);
}

#[tokio::test]
async fn concurrency_limits_for_reads_and_writes_are_separate() {
    // Every request takes 10 emulated seconds = 1 real second, so all ten overlap.
    let limits = LimitsConfig {
        requests_per_minute: 0,
        concurrent_reads: 3,
        concurrent_writes: 2,
    };
    let faults = FaultConfig {
        latency_ms: 10_000,
        ..FaultConfig::default()
    };
    let (emu, c) = start(
        Emulator::builder()
            .seed_users(1)
            .limits(limits)
            .faults(faults)
            .time_scale(10.0),
    )
    .await;
    let id = c.get("/Users").await.body["Resources"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    emu.reset_stats();
    let mut writes = Vec::new();
    let mut reads = Vec::new();
    for i in 0..5 {
        let (c1, c2, path) = (c.clone(), c.clone(), format!("/Users/{id}"));
        writes.push(tokio::spawn(async move {
            c1.patch(
                &path,
                json!([{"op": "replace", "path": "title", "value": format!("t{i}")}]),
            )
            .await
        }));
        reads.push(tokio::spawn(async move { c2.get("/Users").await }));
    }
    let writes = join_all(writes).await;
    let reads = join_all(reads).await;
    let count = |rs: &[Reply], s: StatusCode| rs.iter().filter(|r| r.status == s).count();
    assert_eq!(count(&writes, StatusCode::OK), 2);
    assert_eq!(count(&writes, StatusCode::TOO_MANY_REQUESTS), 3);
    assert_eq!(count(&reads, StatusCode::OK), 3);
    assert_eq!(count(&reads, StatusCode::TOO_MANY_REQUESTS), 2);
    let limited = writes
        .iter()
        .find(|r| r.status == StatusCode::TOO_MANY_REQUESTS)
        .unwrap();
    assert_eq!(limited.header("retry-after"), Some("1"));
    assert_eq!(limited.header("x-emulator-retry-after-ms"), Some("100"));
    let stats = emu.stats();
    assert_eq!(stats.rate_limited, 5);
    // The admitted requests overlapped; rejected ones may come and go in between.
    assert!(stats.max_concurrent_writes >= 2 && stats.max_concurrent_reads >= 3);
    assert_eq!(stats.writes, 5);
}

async fn join_all(tasks: Vec<tokio::task::JoinHandle<Reply>>) -> Vec<Reply> {
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

/// What a client saw for one request under fault injection.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    Status(u16),
    ConnectionError,
    Timeout,
}

/// The client gives up after this long; a hang lasts longer, a normal answer far less.
const CLIENT_TIMEOUT: Duration = Duration::from_millis(800);

async fn fault_run(faults: FaultConfig, n: usize) -> (Vec<Seen>, roster::emulator::StatsSnapshot) {
    let (emu, c) = start(Emulator::builder().faults(faults).time_scale(100.0)).await;
    let mut seen = Vec::new();
    for _ in 0..n {
        let rb = c
            .http
            .get(format!("{}/ServiceProviderConfig", c.url))
            .timeout(CLIENT_TIMEOUT);
        seen.push(match c.send(rb).await {
            Ok(r) => Seen::Status(r.status.as_u16()),
            Err(e) if e.is_timeout() => Seen::Timeout,
            Err(_) => Seen::ConnectionError,
        });
    }
    // A hang is counted when it ends (after hang_ms), or as dropped if the server notices the
    // client leave first.
    let timeouts = seen.iter().filter(|s| **s == Seen::Timeout).count() as u64;
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut stats = emu.stats();
    while stats.hangs + stats.by_status.get("dropped").copied().unwrap_or(0) < timeouts
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
        stats = emu.stats();
    }
    emu.shutdown().await.unwrap();
    (seen, stats)
}

#[tokio::test]
async fn faults_are_reproducible_from_a_seed() {
    let faults = FaultConfig {
        seed: 42,
        p_500: 0.15,
        p_503: 0.15,
        p_reset: 0.1,
        p_hang: 0.05,
        // 100 emulated seconds = 1 real second at 100x: past the client's timeout.
        hang_ms: 100_000,
        ..FaultConfig::default()
    };
    let ((first, stats), (again, _), (other, _)) = tokio::join!(
        fault_run(faults, 40),
        fault_run(faults, 40),
        fault_run(FaultConfig { seed: 43, ..faults }, 40),
    );
    assert_eq!(first, again, "same seed, same faults");
    for kind in [
        Seen::Status(200),
        Seen::Status(500),
        Seen::Status(503),
        Seen::ConnectionError,
        Seen::Timeout,
    ] {
        assert!(first.contains(&kind), "{kind:?} in {first:?}");
    }
    assert_ne!(first, other, "another seed, other faults");
    let count = |k: &Seen| first.iter().filter(|s| *s == k).count() as u64;
    assert_eq!(stats.resets, count(&Seen::ConnectionError));
    assert_eq!(
        stats.by_status.get("500").copied().unwrap_or(0),
        count(&Seen::Status(500))
    );
    assert_eq!(
        stats.hangs + stats.by_status.get("dropped").copied().unwrap_or(0),
        count(&Seen::Timeout)
    );

    // Latency: fixed plus jitter, in emulated ms (here 10x: 1000-1500 ms -> 100-150 ms real).
    let slow = FaultConfig {
        latency_ms: 1_000,
        jitter_ms: 500,
        ..FaultConfig::default()
    };
    let (_emu, c) = start(Emulator::builder().faults(slow).time_scale(10.0)).await;
    let t = Instant::now();
    assert_eq!(c.get("/Users").await.status, StatusCode::OK);
    let took = t.elapsed();
    assert!(
        took >= Duration::from_millis(100) && took < Duration::from_millis(600),
        "{took:?}"
    );
}

#[tokio::test]
async fn state_persists_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("org.json");
    let (emu, c) = start(Emulator::builder().state_file(&state)).await;
    assert!(state.exists(), "the file is created at start");
    let id = c.user("kept@example.com").await;
    c.patch(
        &format!("/Users/{id}"),
        json!([{"op": "replace", "path": "title", "value": "Lead"}]),
    )
    .await;
    let group = c
        .post(
            "/Groups",
            json!({"displayName": "Ops", "members": [{"value": id}]}),
        )
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let gone = c.user("gone@example.com").await;
    c.delete(&format!("/Users/{gone}")).await;
    // Acknowledged changes are on disk already, before any shutdown.
    let on_disk: Value = serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert_eq!(on_disk["users"].as_array().unwrap().len(), 2);
    drop(emu);

    let (emu, c) = start(Emulator::builder().state_file(&state)).await;
    let u = c.get(&format!("/Users/{id}")).await;
    assert_eq!(u.body["title"], "Lead");
    assert_eq!(u.body["meta"]["version"], "W/\"2\"");
    assert_eq!(c.get(&format!("/Users/{gone}")).await.body["active"], false);
    let g = c.get(&format!("/Groups/{group}")).await;
    assert_eq!(g.body["members"][0]["value"], id.as_str());
    // New ids do not collide with loaded ones.
    let new = c.user("new@example.com").await;
    assert!(new > gone);
    emu.shutdown().await.unwrap();

    // A broken file stops the start with the file's name.
    std::fs::write(&state, "{\"users\": [{\"attributes\": {\"userName\": 3}}]}").unwrap();
    let err = Emulator::builder()
        .state_file(&state)
        .start()
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("org.json") && err.contains("users[0]"),
        "{err}"
    );
}

#[test]
fn the_binary_prints_its_url_first_and_saves_state_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_roster"))
        .args([
            "-v",
            "emulator",
            "--port",
            "0",
            "--token",
            "secret",
            "--seed-users",
            "3",
        ])
        .arg("--state")
        .arg(&state)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim_end()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    assert!(url.starts_with("http://127.0.0.1:") && url.ends_with("/api/1.0/scim"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let c = Client {
            http: http_client(),
            url: url.clone(),
            token: "secret".into(),
        };
        assert_eq!(c.get("/Users").await.body["totalResults"], 3);
        c.user("cli@example.com").await;
    });
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{:?}", out.status);
    // -v logs one line per request: method, path, status, latency.
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("GET /api/1.0/scim/Users 200 "), "{log}");
    assert!(log.contains("POST /api/1.0/scim/Users 201 "), "{log}");
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert_eq!(saved["users"].as_array().unwrap().len(), 4);
}
