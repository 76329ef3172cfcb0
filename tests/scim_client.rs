//! The SCIM client against a scripted server on 127.0.0.1: retries, pacing waits (recorded, not
//! slept), paging against servers that page, cap, ignore paging or omit counts, both error
//! shapes, redaction, and the read/write split.

#![allow(clippy::disallowed_methods)] // tests set up files, run programs and read the clock

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use roster::scim::client::{
    ClientConfig, ClientError, LogSink, ReadClient, RecordingClock, Secret, TransportKind,
    WriteClient,
};
use serde_json::{Value, json};
use support::{Recorded, Reply, ScriptServer};
use tokio::sync::Barrier;

const TOKEN: &str = "0/s3cr3t-token-do-not-print";

fn config(server: &ScriptServer, clock: &Arc<RecordingClock>) -> ClientConfig {
    let mut c = ClientConfig::new(server.base_url(), Secret::new(TOKEN));
    c.clock = clock.clone();
    c.jitter_seed = Some(7);
    c.backoff_base = Duration::from_millis(100);
    c.timeout = Duration::from_secs(5);
    c
}

fn reader(server: &ScriptServer) -> (ReadClient, Arc<RecordingClock>) {
    let clock = Arc::new(RecordingClock::new());
    (ReadClient::new(&config(server, &clock)).unwrap(), clock)
}

fn capture(c: &mut ClientConfig, verbosity: u8) -> Arc<Mutex<Vec<String>>> {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    let log: LogSink = Arc::new(move |l: &str| sink.lock().unwrap().push(l.to_string()));
    c.log = Some(log);
    c.verbosity = verbosity;
    lines
}

fn user(id: u64) -> Value {
    json!({"id": id.to_string(), "userName": format!("u{id}@x.io"), "active": true})
}

/// One page of `all`, as a server honouring `startIndex`/`count` (capped at `cap`) serves it.
fn page_of(all: &[Value], r: &Recorded, cap: usize, with_total: bool) -> Reply {
    let start = r.query_u64("startIndex").unwrap_or(1).max(1) as usize;
    let count = (r.query_u64("count").unwrap_or(100) as usize).min(cap);
    let items: Vec<Value> = all.iter().skip(start - 1).take(count).cloned().collect();
    let mut body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "Resources": items,
    });
    if with_total {
        body["totalResults"] = json!(all.len());
    }
    Reply::json(200, body)
}

fn ids(list: &[roster::scim::client::Resource]) -> Vec<String> {
    list.iter().map(|r| r.id().unwrap()).collect()
}

fn starts(server: &ScriptServer) -> Vec<u64> {
    let mut s: Vec<u64> = server
        .requests()
        .iter()
        .filter_map(|r| r.query_u64("startIndex"))
        .collect();
    s.sort();
    s
}

// ---- retries and pacing -------------------------------------------------------------------

#[tokio::test]
async fn a_429_waits_exactly_its_retry_after_then_succeeds() {
    let server = ScriptServer::script(vec![
        Reply::json(
            429,
            json!({"errors": [{"message": "You've made too many requests"}]}),
        )
        .header("Retry-After", "7"),
        Reply::json(200, user(1)),
    ])
    .await;
    let (client, clock) = reader(&server);
    let got = client.get_user("1").await.unwrap().unwrap();
    assert_eq!(got.id().as_deref(), Some("1"));
    assert_eq!(clock.sleeps(), [Duration::from_secs(7)]);
    let stats = client.stats().snapshot();
    assert_eq!((stats.get, stats.retries, stats.throttled), (2, 1, 1));
}

#[tokio::test]
async fn issue12_the_emulator_wait_header_is_not_honoured_from_any_server() {
    // Issue 12 item 5: the emulator's speed-up is the client's clock (`ScaledClock`), not a
    // header a server (here on loopback, as the emulator is) can send to cut Retry-After short.
    let server = ScriptServer::script(vec![
        Reply::empty(429)
            .header("Retry-After", "30")
            .header("X-Emulator-Retry-After-Ms", "30"),
        Reply::json(200, user(1)),
    ])
    .await;
    let (client, clock) = reader(&server);
    client.get_user("1").await.unwrap().unwrap();
    assert_eq!(clock.sleeps(), [Duration::from_secs(30)]);
}

#[tokio::test]
async fn server_errors_are_retried_with_jittered_backoff() {
    let server = ScriptServer::script(vec![
        Reply::json(503, json!({"detail": "try later"})),
        Reply::json(
            500,
            json!({"errors": [{"message": "Server Error", "phrase": "6 sad squid"}]}),
        ),
        Reply::json(200, user(1)),
    ])
    .await;
    let (client, clock) = reader(&server);
    client.get_user("1").await.unwrap().unwrap();
    let sleeps = clock.sleeps();
    assert_eq!(sleeps.len(), 2, "{sleeps:?}");
    // Equal jitter: within [b/2, b] of the nominal 100 ms, then 200 ms.
    assert!(sleeps[0] >= Duration::from_millis(50) && sleeps[0] <= Duration::from_millis(100));
    assert!(sleeps[1] >= Duration::from_millis(100) && sleeps[1] <= Duration::from_millis(200));
    assert_eq!(client.stats().snapshot().retries, 2);
}

#[tokio::test]
async fn a_reset_connection_is_retried_for_a_get() {
    let server = ScriptServer::script(vec![Reply::Reset, Reply::json(200, user(1))]).await;
    let (client, clock) = reader(&server);
    client.get_user("1").await.unwrap().unwrap();
    assert_eq!(server.requests().len(), 2);
    assert_eq!(clock.sleeps().len(), 1);
}

#[tokio::test]
async fn a_mixed_run_of_429_503_and_reset_is_retried_to_success() {
    let server = ScriptServer::script(vec![
        Reply::json(
            429,
            json!({"errors": [{"message": "You've made too many requests"}]}),
        )
        .header("Retry-After", "3"),
        Reply::json(503, json!({"errors": [{"message": "Service Unavailable"}]})),
        Reply::Reset,
        Reply::json(200, user(1)),
    ])
    .await;
    let (client, clock) = reader(&server);
    let got = client.get_user("1").await.unwrap().unwrap();
    assert_eq!(got.id().as_deref(), Some("1"));
    assert_eq!(server.requests().len(), 4);
    let sleeps = clock.sleeps();
    assert_eq!(sleeps.len(), 3, "{sleeps:?}");
    // The 429's Retry-After exactly; then the jittered backoff of attempts 2 and 3
    // (nominal 200 ms and 400 ms, equal jitter).
    assert_eq!(sleeps[0], Duration::from_secs(3));
    assert!(sleeps[1] >= Duration::from_millis(100) && sleeps[1] <= Duration::from_millis(200));
    assert!(sleeps[2] >= Duration::from_millis(200) && sleeps[2] <= Duration::from_millis(400));
    let stats = client.stats().snapshot();
    assert_eq!(
        (stats.get, stats.retries, stats.throttled),
        (4, 3, 1),
        "{stats}"
    );
}

#[tokio::test]
async fn a_post_is_not_repeated_after_the_connection_drops() {
    // The server may have created the user; a second POST would answer 409 (ssosync#13).
    let server = ScriptServer::script(vec![Reply::Reset, Reply::json(201, user(1))]).await;
    let clock = Arc::new(RecordingClock::new());
    let client = WriteClient::new(&config(&server, &clock)).unwrap();
    let err = client
        .create_user(&json!({"userName": "a@x.io"}))
        .await
        .unwrap_err();
    assert_eq!(server.requests().len(), 1);
    let ClientError::Transport { kind, attempts, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!((*kind, *attempts), (TransportKind::ConnectionLost, 1));
    assert!(err.to_string().contains("may have acted on it"), "{err}");
}

#[tokio::test]
async fn a_timeout_is_retried() {
    let server = ScriptServer::script(vec![Reply::Hang, Reply::json(200, user(1))]).await;
    let clock = Arc::new(RecordingClock::new());
    let mut c = config(&server, &clock);
    c.timeout = Duration::from_millis(20);
    let client = ReadClient::new(&c).unwrap();
    client.get_user("1").await.unwrap().unwrap();
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn gives_up_after_max_retries_with_a_clear_error() {
    let server =
        ScriptServer::start(|_| Reply::json(503, json!({"detail": "down for maintenance"}))).await;
    let clock = Arc::new(RecordingClock::new());
    let mut c = config(&server, &clock);
    c.max_retries = 2;
    let client = ReadClient::new(&c).unwrap();
    let err = client.list_users().await.unwrap_err();
    assert_eq!(server.requests().len(), 3);
    assert_eq!(err.status(), Some(503));
    assert_eq!(
        err.to_string(),
        format!(
            "GET {}/Users?startIndex=1&count=100: 503 Service Unavailable: down for maintenance \
             (gave up after 3 attempts)",
            server.base_url()
        )
    );
    assert_eq!(clock.sleeps().len(), 2);
}

#[tokio::test]
async fn a_refused_connection_gives_up_without_real_sleeping() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let clock = Arc::new(RecordingClock::new());
    let mut c = ClientConfig::new(format!("http://127.0.0.1:{port}/scim"), Secret::new(TOKEN));
    c.clock = clock.clone();
    c.max_retries = 3;
    let err = ReadClient::new(&c)
        .unwrap()
        .get_user("1")
        .await
        .unwrap_err();
    let ClientError::Transport { kind, attempts, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!((*kind, *attempts), (TransportKind::Connect, 4));
    assert_eq!(clock.sleeps().len(), 3);
    assert!(
        err.to_string().starts_with("GET http://127.0.0.1:"),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("could not connect (gave up after 4 attempts)"),
        "{err}"
    );
}

#[tokio::test]
async fn non_retryable_statuses_fail_at_once() {
    let server = ScriptServer::start(|_| {
        Reply::json(
            403,
            json!({"errors": [{"message": "Forbidden", "help": "see docs"}]}),
        )
    })
    .await;
    let (client, clock) = reader(&server);
    let err = client.list_groups().await.unwrap_err();
    assert_eq!(server.requests().len(), 1);
    assert!(clock.sleeps().is_empty());
    let ClientError::Scim(e) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(
        (e.status, e.detail.as_str(), e.attempts),
        (403, "Forbidden", 1)
    );
    assert!(e.hint().unwrap().contains("SCIM"));
}

#[tokio::test]
async fn requests_beyond_the_burst_are_paced() {
    let server = ScriptServer::start(|_| Reply::json(200, user(1))).await;
    let clock = Arc::new(RecordingClock::new());
    let mut c = config(&server, &clock);
    // 60 a minute: a burst of 6, then one every 61/60 s (the client keeps a second's guard on
    // the server's minute).
    c.requests_per_minute = 60;
    let client = ReadClient::new(&c).unwrap();
    for _ in 0..10 {
        client.get_user("1").await.unwrap();
    }
    let sleeps = clock.sleeps();
    assert_eq!(sleeps.len(), 4, "{sleeps:?}");
    let interval = Duration::from_secs(61) / 60;
    assert!(sleeps.iter().all(|s| *s <= interval), "{sleeps:?}");
    assert!(clock.elapsed() >= interval * 3, "{:?}", clock.elapsed());
}

// ---- reads ------------------------------------------------------------------------------------

#[tokio::test]
async fn a_404_on_get_by_id_is_none() {
    let server = ScriptServer::start(|_| {
        Reply::json(404, json!({"detail": "no such user", "status": "404"}))
    })
    .await;
    let (client, _) = reader(&server);
    assert_eq!(client.get_user("999").await.unwrap(), None);
    assert_eq!(client.get_group("999").await.unwrap(), None);
    // A 404 on a listing is an error, not an empty list.
    assert_eq!(client.list_users().await.unwrap_err().status(), Some(404));
    let paths: Vec<_> = server
        .requests()
        .iter()
        .map(|r| r.path().to_string())
        .collect();
    assert_eq!(
        paths,
        ["/scim/Users/999", "/scim/Groups/999", "/scim/Users"]
    );
}

#[tokio::test]
async fn ids_are_encoded_as_one_path_segment() {
    let server = ScriptServer::start(|_| Reply::empty(404)).await;
    let (client, _) = reader(&server);
    assert_eq!(client.get_user("a/../b?c").await.unwrap(), None);
    assert_eq!(server.requests()[0].target, "/scim/Users/a%2F..%2Fb%3Fc");
    assert!(matches!(
        client.get_user("..").await,
        Err(ClientError::InvalidRequest { .. })
    ));
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn paging_fetches_the_remaining_pages_concurrently() {
    let all: Vec<Value> = (1..=350).map(user).collect();
    // Pages 2-4 are answered only once all three are in flight together.
    let gate = Arc::new(Barrier::new(3));
    let server = ScriptServer::start(move |r| {
        let page = page_of(&all, r, 100, true);
        if r.query_u64("startIndex") == Some(1) {
            page
        } else {
            Reply::Gate(gate.clone(), Box::new(page))
        }
    })
    .await;
    let (client, _) = reader(&server);
    let users = client.list_users().await.unwrap();
    assert_eq!(
        ids(&users),
        (1..=350).map(|i| i.to_string()).collect::<Vec<_>>()
    );
    assert_eq!(starts(&server), [1, 101, 201, 301]);
    assert!(
        server
            .requests()
            .iter()
            .all(|r| r.query("count") == Some("100"))
    );
}

#[tokio::test]
async fn list_users_with_keeps_what_the_caller_keeps_in_order_without_duplicates() {
    // Every page after the first starts one user early, as when the list shifts between
    // reads: user 100 arrives twice and is kept once.
    let all: Vec<Value> = (1..=250).map(user).collect();
    let server = ScriptServer::start(move |r| {
        let start = r.query_u64("startIndex").unwrap_or(1) as usize;
        let from = if start > 1 { start - 2 } else { 0 };
        let items: Vec<Value> = all.iter().skip(from).take(100).cloned().collect();
        Reply::json(
            200,
            json!({"Resources": items, "totalResults": 250, "startIndex": start}),
        )
    })
    .await;
    let (client, _) = reader(&server);
    let kept = client
        .list_users_with(|r| r.str_attr("userName").map(str::to_string))
        .await
        .unwrap();
    let expected: Vec<Option<String>> = (1..=250).map(|i| Some(format!("u{i}@x.io"))).collect();
    assert_eq!(kept, expected);
}

#[tokio::test]
async fn a_server_that_caps_the_page_size_is_paged_by_its_size() {
    let all: Vec<Value> = (1..=120).map(user).collect();
    let server = ScriptServer::start(move |r| page_of(&all, r, 50, true)).await;
    let (client, _) = reader(&server);
    assert_eq!(client.list_users().await.unwrap().len(), 120);
    assert_eq!(starts(&server), [1, 51, 101]);
}

#[tokio::test]
async fn a_server_ignoring_paging_is_read_once() {
    // Everything on every page, with totalResults: one request.
    let all: Vec<Value> = (1..=230).map(user).collect();
    let everything = json!({"Resources": all, "totalResults": 230});
    let body = everything.clone();
    let server = ScriptServer::start(move |_| Reply::json(200, body.clone())).await;
    let (client, _) = reader(&server);
    assert_eq!(client.list_users().await.unwrap().len(), 230);
    assert_eq!(server.requests().len(), 1);

    // Without totalResults: the second page repeats the first, and reading stops there.
    let no_total = json!({"Resources": everything["Resources"]});
    let server = ScriptServer::start(move |_| Reply::json(200, no_total.clone())).await;
    let (client, _) = reader(&server);
    assert_eq!(client.list_users().await.unwrap().len(), 230);
    assert_eq!(starts(&server), [1, 231]);
}

#[tokio::test]
async fn a_server_repeating_the_first_page_is_an_incomplete_list_not_a_loop() {
    // Honours count but ignores startIndex: every page is users 1-100 of 250.
    let all: Vec<Value> = (1..=250).map(user).collect();
    let server = ScriptServer::start(move |r| {
        let mut first = r.clone();
        first.target = "/scim/Users?startIndex=1&count=100".into();
        page_of(&all, &first, 100, true)
    })
    .await;
    let (client, _) = reader(&server);
    let err = client.list_users().await.unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::IncompleteList {
                got: 100,
                expected: 250,
                ..
            }
        ),
        "{err:?}"
    );
    // The window of pages after the first added nothing new: reading stops there.
    assert_eq!(starts(&server), [1, 101, 201]);
}

#[tokio::test]
async fn pages_without_total_results_are_read_until_an_empty_page() {
    let all: Vec<Value> = (1..=250).map(user).collect();
    let server = ScriptServer::start(move |r| page_of(&all, r, 100, false)).await;
    let (client, _) = reader(&server);
    assert_eq!(client.list_users().await.unwrap().len(), 250);
    assert_eq!(starts(&server), [1, 101, 201, 251]);
}

#[tokio::test]
async fn duplicates_across_pages_are_dropped() {
    // Overlapping pages (a user shifted between reads): 1 2 | 2 3 | 4 5, total 5.
    let server = ScriptServer::start(|r| {
        let ids: &[u64] = match r.query_u64("startIndex") {
            Some(1) => &[1, 2],
            Some(3) => &[2, 3],
            Some(5) => &[4, 5],
            _ => &[],
        };
        Reply::json(200, json!({"Resources": ids.iter().map(|i| user(*i)).collect::<Vec<_>>(), "totalResults": 5}))
    })
    .await;
    let (client, _) = reader(&server);
    let users = client.list_users().await.unwrap();
    assert_eq!(ids(&users), ["1", "2", "3", "4", "5"]);
}

#[tokio::test]
async fn numeric_ids_are_read_as_strings() {
    let server = ScriptServer::start(|r| {
        if r.path() == "/scim/Groups" {
            Reply::json(200, json!({"Resources": [{"id": 1, "displayName": "Marketing"}, {"id": 2, "displayName": "R&D"}], "totalResults": 2}))
        } else {
            Reply::json(200, json!({"id": 1203, "displayName": "Marketing", "meta": {"version": "W/\"9\""}}))
        }
    })
    .await;
    let (client, _) = reader(&server);
    assert_eq!(ids(&client.list_groups().await.unwrap()), ["1", "2"]);
    let g = client.get_group("1203").await.unwrap().unwrap();
    assert_eq!(
        (g.id().as_deref(), g.etag()),
        (Some("1203"), Some("W/\"9\""))
    );
}

#[tokio::test]
async fn the_advertised_max_results_caps_the_page_size() {
    let all: Vec<Value> = (1..=5).map(user).collect();
    let server = ScriptServer::start(move |r| {
        if r.path() == "/scim/ServiceProviderConfig" {
            Reply::json(200, json!({"filter": {"supported": true, "maxResults": 2}, "patch": {"supported": true}}))
        } else {
            page_of(&all, r, 100, true)
        }
    })
    .await;
    let (client, _) = reader(&server);
    let spc = client.service_provider_config().await.unwrap();
    assert_eq!(spc.0["patch"]["supported"], json!(true));
    assert_eq!(client.list_users().await.unwrap().len(), 5);
    assert_eq!(starts(&server)[..], [1, 3, 5][..]);
}

#[tokio::test]
async fn the_user_name_filter_is_escaped_and_url_encoded() {
    let server = ScriptServer::start(|_| {
        Reply::json(
            200,
            json!({"Resources": [{"id": "7", "userName": "A+B@x.io"}], "totalResults": 1}),
        )
    })
    .await;
    let (client, _) = reader(&server);
    let found = client
        .find_user_by_username("a+b@x.io")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id().as_deref(), Some("7"));
    assert_eq!(
        server.requests()[0].target,
        "/scim/Users?filter=userName%20eq%20%22a%2Bb%40x.io%22"
    );
    client.find_group_by_name("R&D \"core\"").await.unwrap();
    assert_eq!(
        server.requests()[1].target,
        "/scim/Groups?filter=displayName%20eq%20%22R%26D%20%5C%22core%5C%22%22"
    );
}

#[tokio::test]
async fn a_server_ignoring_the_filter_finds_nothing_false() {
    let server = ScriptServer::start(|_| {
        Reply::json(
            200,
            json!({"Resources": [user(1), user(2)], "totalResults": 2}),
        )
    })
    .await;
    let (client, _) = reader(&server);
    assert_eq!(
        client
            .find_user_by_username("u2@x.io")
            .await
            .unwrap()
            .unwrap()
            .id()
            .as_deref(),
        Some("2")
    );
    assert_eq!(
        client.find_user_by_username("nobody@x.io").await.unwrap(),
        None
    );
}

#[tokio::test]
async fn every_read_is_a_get() {
    let all: Vec<Value> = (1..=3).map(user).collect();
    let server = ScriptServer::start(move |r| page_of(&all, r, 100, true)).await;
    let (client, _) = reader(&server);
    client.service_provider_config().await.ok();
    client.list_users().await.unwrap();
    client.list_groups().await.unwrap();
    client.get_user("1").await.ok();
    client.get_group("1").await.ok();
    client.find_user_by_username("u1@x.io").await.unwrap();
    client.find_group_by_name("x").await.unwrap();
    assert!(server.requests().iter().all(|r| r.method == "GET"));
    let stats = client.stats().snapshot();
    assert_eq!((stats.writes(), stats.get), (0, 7));
}

// ---- errors, headers, redaction ---------------------------------------------------------------

#[tokio::test]
async fn both_error_shapes_are_parsed() {
    let server = ScriptServer::script(vec![
        Reply::json(
            409,
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "detail": "User already exists", "status": "409", "scimType": "uniqueness"}),
        ),
        Reply::json(400, json!({"errors": [{"message": "userName: Not an email", "help": "https://…", "phrase": "3 red foxes"}]})),
        Reply::json(400, json!({"detail": "numeric status", "status": 400})),
    ])
    .await;
    let clock = Arc::new(RecordingClock::new());
    let client = WriteClient::new(&config(&server, &clock)).unwrap();
    let body = json!({"userName": "a@x.io"});
    let ClientError::Scim(e) = client.create_user(&body).await.unwrap_err() else {
        panic!()
    };
    assert_eq!(
        (e.status, e.scim_type.as_deref(), e.detail.as_str()),
        (409, Some("uniqueness"), "User already exists")
    );
    let ClientError::Scim(e) = client.create_user(&body).await.unwrap_err() else {
        panic!()
    };
    assert_eq!(
        (e.status, e.scim_type, e.detail.as_str()),
        (400, None, "userName: Not an email (phrase: 3 red foxes)")
    );
    let ClientError::Scim(e) = client.create_user(&body).await.unwrap_err() else {
        panic!()
    };
    assert_eq!(e.detail, "numeric status");
}

#[tokio::test]
async fn headers_carry_the_bearer_token_and_scim_json() {
    let server = ScriptServer::start(|r| match r.method.as_str() {
        "POST" => Reply::json(201, user(5)),
        _ => Reply::json(200, user(5)),
    })
    .await;
    let clock = Arc::new(RecordingClock::new());
    let client = WriteClient::new(&config(&server, &clock)).unwrap();
    client.reader().get_user("5").await.unwrap();
    client
        .create_user(&json!({"userName": "u5@x.io"}))
        .await
        .unwrap();
    let reqs = server.requests();
    for r in &reqs {
        assert_eq!(
            r.header("authorization"),
            Some(format!("Bearer {TOKEN}").as_str())
        );
        assert!(
            r.header("accept")
                .unwrap()
                .contains("application/scim+json")
        );
        assert!(r.header("user-agent").unwrap().starts_with("roster/"));
    }
    assert_eq!(
        reqs[1].header("content-type"),
        Some("application/scim+json")
    );
    assert_eq!(reqs[1].json(), json!({"userName": "u5@x.io"}));
}

#[tokio::test]
async fn the_token_never_appears_in_errors_or_logs() {
    // A hostile server echoes the Authorization header back in its error detail.
    let server = ScriptServer::start(|r| {
        let auth = r.header("authorization").unwrap_or("").to_string();
        match r.path() {
            "/scim/Users/1" => {
                Reply::json(401, json!({"detail": format!("bad credentials: {auth}")}))
            }
            "/scim/Users/2" => Reply::Reset,
            _ => Reply::json(
                429,
                json!({"errors": [{"message": format!("slow down {auth}")}]}),
            )
            .header("Retry-After", "1"),
        }
    })
    .await;
    let clock = Arc::new(RecordingClock::new());
    let mut c = config(&server, &clock);
    c.max_retries = 1;
    let lines = capture(&mut c, 2);
    let client = ReadClient::new(&c).unwrap();
    let mut errors = Vec::new();
    errors.push(client.get_user("1").await.unwrap_err());
    errors.push(client.get_user("2").await.unwrap_err());
    errors.push(
        client
            .find_user_by_username("someone@x.io")
            .await
            .unwrap_err(),
    );
    let mut texts: Vec<String> = errors
        .iter()
        .flat_map(|e| [e.to_string(), format!("{e:?}")])
        .collect();
    texts.push(format!("{c:?}"));
    let logged = lines.lock().unwrap().clone();
    assert!(logged.len() >= 6, "{logged:#?}");
    texts.extend(logged.iter().cloned());
    for t in &texts {
        assert!(!t.contains("s3cr3t"), "token leaked: {t}");
        // The filter names a person: its value is redacted too.
        assert!(!t.contains("someone"), "filter value leaked: {t}");
    }
    assert!(
        errors[0]
            .to_string()
            .contains("bad credentials: Bearer [redacted]"),
        "{}",
        errors[0]
    );
    assert!(
        logged
            .iter()
            .any(|l| l.contains("/scim/Users?filter=[redacted] -> 429")),
        "{logged:#?}"
    );
}

#[tokio::test]
async fn request_lines_are_logged_at_verbosity_two_only() {
    let server =
        ScriptServer::start(|_| Reply::json(200, json!({"Resources": [], "totalResults": 0})))
            .await;
    let clock = Arc::new(RecordingClock::new());
    for (verbosity, want) in [(0, 0), (1, 0), (2, 1)] {
        let mut c = config(&server, &clock);
        let lines = capture(&mut c, verbosity);
        ReadClient::new(&c).unwrap().list_users().await.unwrap();
        let lines = lines.lock().unwrap();
        assert_eq!(lines.len(), want, "verbosity {verbosity}: {lines:?}");
        if want > 0 {
            let prefix = format!(
                "scim: GET {}/Users?startIndex=1&count=100 -> 200 in ",
                server.base_url()
            );
            assert!(
                lines[0].starts_with(&prefix) && lines[0].ends_with(" ms"),
                "{}",
                lines[0]
            );
        }
    }
}

// ---- writes -----------------------------------------------------------------------------------

#[tokio::test]
async fn write_calls_send_their_method_path_body_and_if_match() {
    let server = ScriptServer::start(|r| match (r.method.as_str(), r.path()) {
        ("POST", _) => Reply::json(201, json!({"id": 77, "displayName": "Marketing"})),
        ("PUT", _) => Reply::json(200, user(5)).header("ETag", "W/\"2\""),
        ("PATCH", "/scim/Users/5") => Reply::json(200, user(5)),
        ("PATCH", _) => Reply::empty(204),
        ("DELETE", "/scim/Users/5") => Reply::empty(204),
        _ => Reply::json(404, json!({"detail": "gone"})),
    })
    .await;
    let clock = Arc::new(RecordingClock::new());
    let client = WriteClient::new(&config(&server, &clock)).unwrap();
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"title": "Engineer"}}]});

    let group = client
        .create_group(&json!({"displayName": "Marketing"}))
        .await
        .unwrap();
    assert_eq!(group.id().as_deref(), Some("77"));
    let replaced = client
        .replace_user("5", &user(5), Some("W/\"1\""))
        .await
        .unwrap();
    assert_eq!(
        replaced.etag(),
        Some("W/\"2\""),
        "filled from the ETag header"
    );
    assert!(
        client
            .patch_user("5", &patch, None)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        client
            .patch_group("77", &patch, Some("W/\"3\""))
            .await
            .unwrap(),
        None
    );
    assert!(client.delete_user("5", None).await.unwrap());
    assert!(
        !client.delete_user("6", None).await.unwrap(),
        "404: already gone"
    );

    let seen: Vec<(String, String, Option<String>)> = server
        .requests()
        .iter()
        .map(|r| {
            (
                r.method.clone(),
                r.path().to_string(),
                r.header("if-match").map(str::to_string),
            )
        })
        .collect();
    let want = [
        ("POST", "/scim/Groups", None),
        ("PUT", "/scim/Users/5", Some("W/\"1\"")),
        ("PATCH", "/scim/Users/5", None),
        ("PATCH", "/scim/Groups/77", Some("W/\"3\"")),
        ("DELETE", "/scim/Users/5", None),
        ("DELETE", "/scim/Users/6", None),
    ];
    let want: Vec<_> = want
        .iter()
        .map(|(m, p, e)| (m.to_string(), p.to_string(), e.map(str::to_string)))
        .collect();
    assert_eq!(seen, want);
    assert_eq!(server.requests()[2].json(), patch);
    let stats = client.stats().snapshot();
    assert_eq!(
        (stats.post, stats.put, stats.patch, stats.delete, stats.get),
        (1, 1, 2, 2, 0)
    );
}

#[tokio::test]
async fn a_create_answered_without_an_id_is_an_error() {
    let server = ScriptServer::start(|_| Reply::json(201, json!({"userName": "a@x.io"}))).await;
    let clock = Arc::new(RecordingClock::new());
    let client = WriteClient::new(&config(&server, &clock)).unwrap();
    let err = client
        .create_user(&json!({"userName": "a@x.io"}))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ClientError::InvalidResponse { .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn plain_http_to_a_remote_host_is_refused() {
    let c = ClientConfig::new("http://app.asana.com/api/1.0/scim", Secret::new(TOKEN));
    let Err(err) = ReadClient::new(&c) else {
        panic!("accepted plain http")
    };
    assert!(err.to_string().contains("use https"), "{err}");
}

#[tokio::test]
async fn an_https_client_builds_without_connecting() {
    // The TLS setup (rustls with ring) must not panic or need the network to build.
    let c = ClientConfig::asana(Secret::new(TOKEN));
    assert!(ReadClient::new(&c).is_ok());
    assert!(WriteClient::new(&c).is_ok());
}

#[tokio::test]
async fn a_token_read_with_a_trailing_newline_still_works() {
    let server = ScriptServer::start(|_| Reply::json(200, user(1))).await;
    let clock = Arc::new(RecordingClock::new());
    let mut c = config(&server, &clock);
    c.token = Secret::new(format!("{TOKEN}\n"));
    ReadClient::new(&c).unwrap().get_user("1").await.unwrap();
    assert_eq!(
        server.requests()[0].header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
}
