//! What the end-to-end tests share: a scripted HTTP/1.1 server on 127.0.0.1 for client tests
//! (each request is recorded and answered by a handler, or a fixed script, which can also reset
//! the connection, hold it without answering, or wait at a gate until several requests are in
//! flight at once); a [`Silent`] listener that only counts who connects to it; a runtime; and
//! helpers for a run's output, a scratch config directory and git.
//!
//! The scripted server is hyper on the emulators' accept loop (`roster::emulator::serve`),
//! so HTTP/1.1 is parsed by the library the emulators use, and a reset is the same TCP reset.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use hyper::{Request, Response, StatusCode};
use roster::emulator::serve::{ConnControl, Resp, serve};
use tokio::sync::{Barrier, watch};
use tokio::task::JoinHandle;

/// One request as the server read it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }

    /// A query parameter's raw (still encoded) value.
    pub fn query(&self, key: &str) -> Option<&str> {
        let query = self.target.split_once('?')?.1;
        query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v)
    }

    pub fn query_u64(&self, key: &str) -> Option<u64> {
        self.query(key)?.parse().ok()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("request body is JSON")
    }
}

/// How to answer one request.
pub enum Reply {
    Send {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    /// Drop the connection with a TCP reset (SO_LINGER 0).
    Reset,
    /// Read the request and never answer (until the server is dropped).
    Hang,
    /// Wait until the barrier's count of requests are waiting here (5 s at most), then answer.
    Gate(Arc<Barrier>, Box<Reply>),
}

impl Reply {
    pub fn json(status: u16, body: serde_json::Value) -> Reply {
        Reply::Send {
            status,
            headers: Vec::new(),
            body: body.to_string(),
        }
    }

    pub fn empty(status: u16) -> Reply {
        Reply::Send {
            status,
            headers: Vec::new(),
            body: String::new(),
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Reply {
        if let Reply::Send { headers, .. } = &mut self {
            headers.push((name.to_string(), value.to_string()));
        }
        self
    }
}

type Handler = dyn Fn(&Recorded) -> Reply + Send + Sync;

pub struct ScriptServer {
    pub addr: SocketAddr,
    recorded: Arc<Mutex<Vec<Recorded>>>,
    task: JoinHandle<()>,
    /// Held so the accept loop runs until the server is dropped.
    _running: watch::Sender<bool>,
}

impl ScriptServer {
    /// A server answering every request with `handler`.
    pub async fn start(
        handler: impl Fn(&Recorded) -> Reply + Send + Sync + 'static,
    ) -> ScriptServer {
        let listener = roster::emulator::serve::bind(0)
            .await
            .expect("bind 127.0.0.1");
        let addr = listener.local_addr().unwrap();
        let recorded = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let rec = recorded.clone();
        let (running, stop) = watch::channel(false);
        let service = move |conn, req| answer(handler.clone(), rec.clone(), conn, req);
        let task = tokio::spawn(serve(listener, service, stop));
        ScriptServer {
            addr,
            recorded,
            task,
            _running: running,
        }
    }

    /// A server answering requests with `replies` in order, then 500 "script exhausted".
    pub async fn script(replies: Vec<Reply>) -> ScriptServer {
        let queue = Mutex::new(VecDeque::from(replies));
        ScriptServer::start(move |_| {
            queue.lock().unwrap().pop_front().unwrap_or_else(|| {
                Reply::json(500, serde_json::json!({"detail": "script exhausted"}))
            })
        })
        .await
    }

    /// The base URL with a `/scim` prefix, as Asana's has one.
    pub fn base_url(&self) -> String {
        format!("http://{}/scim", self.addr)
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.recorded.lock().unwrap().clone()
    }
}

impl Drop for ScriptServer {
    fn drop(&mut self) {
        // Aborting the accept loop drops every connection at once, held ones included.
        self.task.abort();
    }
}

/// Records one request and answers it as the handler says.
async fn answer(
    handler: Arc<Handler>,
    recorded: Arc<Mutex<Vec<Recorded>>>,
    conn: Arc<ConnControl>,
    req: Request<Incoming>,
) -> Result<Resp, Infallible> {
    let (parts, body) = req.into_parts();
    let Ok(body) = body.collect().await else {
        // The client went away mid-body: nothing was asked.
        conn.reset();
        return std::future::pending().await;
    };
    let request = Recorded {
        method: parts.method.to_string(),
        target: parts
            .uri
            .path_and_query()
            .map_or_else(|| parts.uri.to_string(), |p| p.as_str().to_string()),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| {
                let v = String::from_utf8_lossy(v.as_bytes()).trim().to_string();
                (k.as_str().to_string(), v)
            })
            .collect(),
        body: body.to_bytes().to_vec(),
    };
    recorded.lock().unwrap().push(request.clone());
    let mut reply = handler(&request);
    while let Reply::Gate(barrier, then) = reply {
        reply = match tokio::time::timeout(Duration::from_secs(5), barrier.wait()).await {
            Ok(_) => *then,
            Err(_) => Reply::json(
                418,
                serde_json::json!({"detail": "gate timed out: the requests were not concurrent"}),
            ),
        };
    }
    match reply {
        Reply::Reset => {
            conn.reset();
            std::future::pending().await
        }
        Reply::Hang => std::future::pending().await,
        Reply::Gate(..) => unreachable!(),
        Reply::Send {
            status,
            headers,
            body,
        } => {
            let empty = body.is_empty();
            let mut response = Response::new(Full::new(Bytes::from(body)));
            *response.status_mut() =
                StatusCode::from_u16(status).expect("a test replies with a valid status");
            let own_type = headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("content-type"));
            if !own_type && !empty {
                response.headers_mut().insert(
                    CONTENT_TYPE,
                    HeaderValue::from_static("application/scim+json"),
                );
            }
            for (k, v) in headers {
                let name = HeaderName::from_bytes(k.as_bytes()).expect("a valid header name");
                let value = HeaderValue::from_str(&v).expect("a valid header value");
                response.headers_mut().append(name, value);
            }
            Ok(response)
        }
    }
}

/// A multi-threaded runtime for a test's servers.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A server a pull request would like a secret sent to: it accepts nothing itself, so every
/// connection roster made waits in its queue, where [`Silent::connections`] counts it.
pub struct Silent {
    listener: std::net::TcpListener,
}

impl Silent {
    pub fn start() -> Silent {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        Silent { listener }
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().unwrap().port()
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port())
    }

    /// Its URL as a SCIM base, `http://127.0.0.1:PORT/api/1.0/scim`.
    pub fn url(&self) -> String {
        format!("{}/api/1.0/scim", self.base())
    }

    /// Connections made so far (taken from the queue).
    pub fn connections(&self) -> usize {
        let mut n = 0;
        loop {
            match self.listener.accept() {
                Ok(_) => n += 1,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return n,
                Err(e) => panic!("accept: {e}"),
            }
        }
    }
}

pub fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// stdout and stderr together, for "never printed" assertions.
pub fn text(o: &std::process::Output) -> String {
    format!("{}{}", stdout(o), stderr(o))
}

#[track_caller]
pub fn assert_exit(o: &std::process::Output, code: i32) {
    assert_eq!(
        o.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        stdout(o),
        stderr(o)
    );
}

/// A config directory with `roster.yaml` and, unless `users` is empty, `users/people.yaml`.
pub fn config_dir(settings: &str, users: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("roster.yaml"), settings).unwrap();
    if !users.is_empty() {
        std::fs::create_dir(dir.path().join("users")).unwrap();
        std::fs::write(dir.path().join("users/people.yaml"), users).unwrap();
    }
    dir
}

/// Runs `git -C dir ARGS` with an author and no signing, and asserts that it succeeded.
pub fn git(dir: &std::path::Path, args: &[&str]) {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.email=t@ex.test",
            "-c",
            "user.name=t",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
