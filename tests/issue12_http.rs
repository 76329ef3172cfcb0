//! Issue 12, "two HTTP adapters": one adapter (`roster::http`) sends for the SCIM client and
//! the Graph client alike. Against a scripted server on 127.0.0.1, on a recording clock (the
//! waits are recorded, not slept): `Retry-After` as seconds and as an HTTP date, 5xx retried,
//! a POST not repeated after its connection dropped, requests only to the configured origins,
//! the OAuth token bought again once on a 401, Graph paced like SCIM (a 429 pauses every Graph
//! worker), and the SCIM and Graph clients retrying through the same loop.

#![allow(clippy::disallowed_methods)] // tests set up files, run programs and read the clock

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use roster::entra::graph::{GraphClient, GraphConfig, GraphError};
use roster::http::{
    Adapter, Auth, ClientCredentials, Config, Failure, GiveUp, LogSink, Method, RecordingClock,
    Request, TransportKind,
};
use roster::redact::{Secret, redact};
use roster::scim::client::{ClientConfig, ReadClient};
use serde_json::json;
use support::{Recorded, Reply, ScriptServer, Silent};
use url::Url;

const TOKEN: &str = "0/issue12-token-never-shown";

fn config(origin: &str, auth: Auth, clock: &Arc<RecordingClock>) -> Config {
    Config {
        name: "test",
        origins: vec![Url::parse(origin).unwrap()],
        auth,
        timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(5),
        user_agent: "roster-test".into(),
        requests_per_minute: 1_500,
        max_reads: 50,
        max_writes: 15,
        max_retries: 5,
        backoff_base: Duration::from_millis(100),
        backoff_max: Duration::from_secs(30),
        max_retry_after: Duration::from_secs(300),
        jitter_seed: Some(7),
        verbosity: 0,
        log: None,
        clock: clock.clone(),
        show: redact,
    }
}

fn bearer(server: &ScriptServer) -> (Adapter, Arc<RecordingClock>) {
    let clock = Arc::new(RecordingClock::new());
    let origin = format!("http://{}", server.addr);
    let adapter = Adapter::new(config(&origin, Auth::Bearer(Secret::new(TOKEN)), &clock)).unwrap();
    (adapter, clock)
}

fn url(server: &ScriptServer, path: &str) -> Url {
    Url::parse(&format!("http://{}/{path}", server.addr)).unwrap()
}

const DATE: &str = "Wed, 21 Oct 2015 07:28:00 GMT";

#[tokio::test]
async fn issue12_retry_after_is_waited_as_seconds_and_as_an_http_date() {
    let server = ScriptServer::script(vec![
        Reply::empty(429).header("Retry-After", "3"),
        // Measured from the answer's own Date: 30 seconds, whatever this machine's clock says.
        Reply::empty(429)
            .header("Date", DATE)
            .header("Retry-After", "Wed, 21 Oct 2015 07:28:30 GMT"),
        // A date already past: no wait at all.
        Reply::empty(503)
            .header("Date", DATE)
            .header("Retry-After", "Wed, 21 Oct 2015 07:00:00 GMT"),
        Reply::json(200, json!({"ok": true})),
    ])
    .await;
    let (adapter, clock) = bearer(&server);
    let response = adapter.send(Request::get(url(&server, "x"))).await.unwrap();
    assert_eq!((response.status, response.attempts), (200, 4));
    assert_eq!(
        clock.sleeps(),
        [Duration::from_secs(3), Duration::from_secs(30)],
        "Retry-After exactly, the past date not at all"
    );
    let stats = adapter.stats().snapshot();
    assert_eq!((stats.get, stats.retries, stats.throttled), (4, 3, 2));
    // Every attempt carried the token, which the adapter added itself.
    assert!(
        server
            .requests()
            .iter()
            .all(|r| r.header("authorization") == Some(&format!("Bearer {TOKEN}")))
    );
}

#[tokio::test]
async fn issue12_a_retry_after_date_too_far_out_is_refused_not_waited() {
    let server = ScriptServer::script(vec![
        Reply::empty(429)
            .header("Date", DATE)
            .header("Retry-After", "Wed, 21 Oct 2015 08:28:00 GMT"),
    ])
    .await;
    let (adapter, clock) = bearer(&server);
    let err = adapter
        .send(Request::get(url(&server, "x")))
        .await
        .unwrap_err();
    let Failure::Status {
        response,
        refused_wait: Some(wait),
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(response.status, 429);
    assert_eq!(wait.asked, Duration::from_secs(3600));
    assert!(clock.sleeps().is_empty());
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn issue12_server_errors_are_retried_with_backoff() {
    let server = ScriptServer::script(vec![
        Reply::empty(503),
        Reply::empty(502),
        Reply::Reset,
        Reply::json(200, json!({})),
    ])
    .await;
    let (adapter, clock) = bearer(&server);
    adapter.send(Request::get(url(&server, "x"))).await.unwrap();
    assert_eq!(server.requests().len(), 4);
    let sleeps = clock.sleeps();
    assert_eq!(sleeps.len(), 3, "{sleeps:?}");
    // Equal jitter around a nominal 100, 200 and 400 ms.
    for (i, s) in sleeps.iter().enumerate() {
        let nominal = Duration::from_millis(100 << i);
        assert!(*s >= nominal / 2 && *s <= nominal, "{i}: {s:?}");
    }
    // A 501 is not transient: one attempt.
    let server = ScriptServer::script(vec![Reply::empty(501), Reply::json(200, json!({}))]).await;
    let (adapter, _) = bearer(&server);
    let err = adapter
        .send(Request::get(url(&server, "x")))
        .await
        .unwrap_err();
    assert!(matches!(&err, Failure::Status { response, .. } if response.status == 501));
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn issue12_a_post_is_not_repeated_after_its_connection_dropped() {
    let server =
        ScriptServer::script(vec![Reply::Reset, Reply::json(201, json!({"id": "1"}))]).await;
    let (adapter, clock) = bearer(&server);
    let post = Request::new(Method::Post, url(&server, "Users")).body(b"{}".to_vec());
    let err = adapter.send(post).await.unwrap_err();
    let Failure::Transport {
        kind,
        attempts,
        why,
        ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(
        (*kind, *attempts, *why),
        (TransportKind::ConnectionLost, 1, GiveUp::MayHaveApplied)
    );
    assert_eq!(server.requests().len(), 1, "the POST was sent once");
    assert!(clock.sleeps().is_empty());
    // The same drop under a PUT, which converges, is retried.
    let server = ScriptServer::script(vec![Reply::Reset, Reply::json(200, json!({}))]).await;
    let (adapter, _) = bearer(&server);
    let put = Request::new(Method::Put, url(&server, "Users/1")).body(b"{}".to_vec());
    adapter.send(put).await.unwrap();
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn issue12_requests_go_only_to_the_configured_origins() {
    let server = ScriptServer::script(vec![Reply::json(200, json!({}))]).await;
    let (adapter, _) = bearer(&server);
    let elsewhere = Silent::start();
    let err = adapter
        .send(Request::get(Url::parse(&elsewhere.url()).unwrap()))
        .await
        .unwrap_err();
    assert!(matches!(err, Failure::Refused { .. }), "{err:?}");
    assert_eq!(elsewhere.connections(), 0, "nothing reached the other host");
    // Plain http is accepted only for loopback origins.
    let clock = Arc::new(RecordingClock::new());
    let refused = Adapter::new(config(
        "http://scim.example.com",
        Auth::Bearer(Secret::new(TOKEN)),
        &clock,
    ));
    assert!(refused.is_err());
}

/// A token endpoint at `/login/token` that sells `tok-1`, `tok-2`, … and a resource that
/// answers 401 to the tokens in `refused`.
fn oauth_server(refused: &'static [&'static str]) -> impl Fn(&Recorded) -> Reply + Send + Sync {
    let sold = Mutex::new(0);
    move |r: &Recorded| {
        if r.method == "POST" {
            let mut n = sold.lock().unwrap();
            *n += 1;
            return Reply::json(
                200,
                json!({"access_token": format!("tok-{n}"), "expires_in": 3600}),
            );
        }
        let token = r.header("authorization").unwrap_or("");
        if refused.iter().any(|t| token == format!("Bearer {t}")) {
            Reply::json(
                401,
                json!({"error": {"code": "InvalidAuthenticationToken"}}),
            )
        } else {
            Reply::json(200, json!({"value": []}))
        }
    }
}

fn oauth(server: &ScriptServer) -> Adapter {
    let origin = format!("http://{}", server.addr);
    let grant = ClientCredentials {
        token_url: Url::parse(&format!("{origin}/login/token")).unwrap(),
        client_id: "client".into(),
        secret: Secret::new("client-secret-never-shown"),
        scope: "api/.default".into(),
    };
    let clock = Arc::new(RecordingClock::new());
    Adapter::new(config(&origin, Auth::ClientCredentials(grant), &clock)).unwrap()
}

fn sequence(server: &ScriptServer) -> Vec<String> {
    server
        .requests()
        .iter()
        .map(|r| match r.method.as_str() {
            "POST" => "sign-in".to_string(),
            m => format!("{m} {}", r.header("authorization").unwrap_or("")),
        })
        .collect()
}

#[tokio::test]
async fn issue12_an_oauth_token_is_cached_and_renewed_once_on_a_401() {
    // The first token is refused: one new sign-in, the same request again, then the new token
    // serves the next request from the cache.
    let server = ScriptServer::start(oauth_server(&["tok-1"])).await;
    let adapter = oauth(&server);
    for _ in 0..2 {
        adapter
            .send(Request::get(url(&server, "graph/users")))
            .await
            .unwrap();
    }
    assert_eq!(
        sequence(&server),
        [
            "sign-in",
            "GET Bearer tok-1",
            "sign-in",
            "GET Bearer tok-2",
            "GET Bearer tok-2"
        ]
    );
    let body = String::from_utf8(server.requests()[0].body.clone()).unwrap();
    assert!(
        body.contains("grant_type=client_credentials") && body.contains("scope=api%2F.default")
    );

    // Every token refused: renewed once, and the second 401 is the answer.
    let server = ScriptServer::start(oauth_server(&["tok-1", "tok-2", "tok-3"])).await;
    let adapter = oauth(&server);
    let err = adapter
        .send(Request::get(url(&server, "graph/users")))
        .await
        .unwrap_err();
    assert!(matches!(&err, Failure::Status { response, .. } if response.status == 401));
    assert_eq!(
        sequence(&server),
        ["sign-in", "GET Bearer tok-1", "sign-in", "GET Bearer tok-2"]
    );
    let stats = adapter.stats().snapshot();
    assert_eq!((stats.post, stats.get), (2, 2));
}

/// A Graph client for a scripted server holding both the sign-in and Graph, on `clock`.
fn graph(
    server: &ScriptServer,
    clock: &Arc<RecordingClock>,
    configure: impl FnOnce(&mut GraphConfig),
) -> GraphClient {
    let base = format!("http://{}", server.addr);
    let mut c = GraphConfig::new(
        format!("{base}/login"),
        format!("{base}/graph"),
        "tenant",
        "client",
        Secret::new("client-secret-never-shown"),
    );
    c.clock = clock.clone();
    c.jitter_seed = Some(7);
    configure(&mut c);
    GraphClient::new(&c).unwrap()
}

#[tokio::test]
async fn issue12_a_429_from_graph_pauses_every_graph_worker() {
    let clock = Arc::new(RecordingClock::new());
    // When (on the client's clock) each Graph request arrived.
    let arrivals: Arc<Mutex<Vec<(String, Duration)>>> = Arc::default();
    let (seen, at) = (arrivals.clone(), clock.clone());
    let server = ScriptServer::start(move |r| {
        if r.method == "POST" {
            return Reply::json(200, json!({"access_token": "t0ken-1", "expires_in": 3600}));
        }
        seen.lock()
            .unwrap()
            .push((r.path().to_string(), at.elapsed()));
        if r.path().ends_with("/users") {
            Reply::json(429, json!({"error": {"code": "TooManyRequests"}}))
                .header("Retry-After", "7")
        } else {
            Reply::json(200, json!({"value": []}))
        }
    })
    .await;
    // No retries: the worker that met the 429 reports it at once, and the pause it set holds.
    let client = graph(&server, &clock, |c| c.max_retries = 0);
    let err = client
        .get(&client.url("users", &[]), false)
        .await
        .unwrap_err();
    assert!(
        matches!(err, GraphError::Status { status: 429, .. }),
        "{err:?}"
    );
    // Another worker, on a clone of the client, reading something else.
    let other = client.clone();
    tokio::spawn(async move { other.get(&other.url("groups", &[]), false).await })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        *arrivals.lock().unwrap(),
        [
            ("/graph/v1.0/users".to_string(), Duration::ZERO),
            ("/graph/v1.0/groups".to_string(), Duration::from_secs(7)),
        ],
        "the second worker waited out the first one's Retry-After"
    );
    assert_eq!(clock.sleeps(), [Duration::from_secs(7)]);
    assert_eq!(client.stats().throttled, 1);
}

/// Log lines a client writes at verbosity 1, into a vector.
fn capture() -> (LogSink, Arc<Mutex<Vec<String>>>) {
    let lines: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = lines.clone();
    let log: LogSink = Arc::new(move |l: &str| sink.lock().unwrap().push(l.to_string()));
    (log, lines)
}

#[tokio::test]
async fn issue12_the_scim_and_graph_clients_retry_through_one_loop() {
    // The same failures for both protocols: a 503, then a 429 whose Retry-After is a date.
    let script = |ok: serde_json::Value| {
        let answers = Mutex::new(vec![
            Reply::json(200, ok),
            Reply::json(429, json!({}))
                .header("Date", DATE)
                .header("Retry-After", "Wed, 21 Oct 2015 07:28:04 GMT"),
            Reply::json(503, json!({})),
        ]);
        move |r: &Recorded| {
            if r.method == "POST" {
                return Reply::json(200, json!({"access_token": "t0ken-1", "expires_in": 3600}));
            }
            answers.lock().unwrap().pop().unwrap_or(Reply::empty(500))
        }
    };
    let scim_server = ScriptServer::start(script(json!({"id": "1"}))).await;
    let scim_clock = Arc::new(RecordingClock::new());
    let (scim_log, scim_lines) = capture();
    let mut c = ClientConfig::new(scim_server.base_url(), Secret::new(TOKEN));
    c.clock = scim_clock.clone();
    c.jitter_seed = Some(7);
    c.verbosity = 1;
    c.log = Some(scim_log);
    let scim = ReadClient::new(&c).unwrap();
    scim.get_user("1").await.unwrap().unwrap();

    let graph_server = ScriptServer::start(script(json!({"value": []}))).await;
    let graph_clock = Arc::new(RecordingClock::new());
    let (graph_log, graph_lines) = capture();
    let client = graph(&graph_server, &graph_clock, |g| {
        g.max_retries = c.max_retries;
        g.verbosity = 1;
        g.log = Some(graph_log);
    });
    client.get(&client.url("users", &[]), false).await.unwrap();

    // The same waits (same seed, same backoff), and the same words in the log.
    assert_eq!(scim_clock.sleeps(), graph_clock.sleeps());
    assert_eq!(scim_clock.sleeps()[1], Duration::from_secs(4));
    let shape = |lines: &Arc<Mutex<Vec<String>>>, prefix: &str| -> Vec<String> {
        lines
            .lock()
            .unwrap()
            .iter()
            .map(|l| {
                let rest = l.strip_prefix(prefix).expect("the protocol's prefix");
                rest.split_once(": ").unwrap().1.to_string()
            })
            .collect()
    };
    let scim_shape = shape(&scim_lines, "scim: GET ");
    assert_eq!(scim_shape, shape(&graph_lines, "graph: GET "));
    assert_eq!(scim_shape.len(), 2, "{scim_shape:?}");
    assert!(scim_shape[1].starts_with("rate limited (429); pausing all requests for 4.000 s"));
    let (s, g) = (scim.stats().snapshot(), client.stats());
    assert_eq!((s.get, s.retries, s.throttled), (3, 2, 1));
    assert_eq!((g.requests, g.retries, g.throttled, g.tokens), (3, 2, 1, 1));
}
