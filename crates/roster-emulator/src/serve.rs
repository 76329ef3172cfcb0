//! The accept loop both emulators (Asana SCIM and Microsoft Graph) run on: hyper's HTTP/1
//! with keep-alive, on our own loop so a handler can reset its connection (a fault), and one
//! shutdown: stop accepting, let open requests finish for [`SHUTDOWN_GRACE`], close the rest.
//!
//! Listens on 127.0.0.1 only ([`bind`]), never another interface.

use std::convert::Infallible;
use std::future::Future;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;

/// How long shutdown waits for open requests before closing their connections.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

pub type Resp = Response<Full<Bytes>>;

/// A listener on 127.0.0.1 (`port` 0 picks a free one).
pub async fn bind(port: u16) -> std::io::Result<TcpListener> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await
}

/// Resolves once shutdown is signalled (`true` sent on the channel, or its sender dropped).
pub async fn stopped(rx: &mut watch::Receiver<bool>) {
    // The guard wait_for returns must not live across later awaits (it is not Send).
    let _ = rx.wait_for(|s| *s).await;
}

/// Lets a request's handler reset its own connection.
#[derive(Default)]
pub struct ConnControl {
    reset: Notify,
}

impl ConnControl {
    /// Closes the connection with a TCP reset (SO_LINGER 0) instead of answering.
    pub fn reset(&self) {
        self.reset.notify_one();
    }
}

/// Serves every connection `listener` accepts with `service` (called once a request, with
/// the request's connection) until `shutdown` is signalled; then stops accepting, lets open
/// connections finish their requests for [`SHUTDOWN_GRACE`], and closes what is left.
pub async fn serve<S, F>(listener: TcpListener, service: S, shutdown: watch::Receiver<bool>)
where
    S: Fn(Arc<ConnControl>, Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Result<Resp, Infallible>> + Send + 'static,
{
    let mut stop = shutdown.clone();
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(connection(stream, service.clone(), shutdown.clone()));
                }
                // Out of file descriptors and the like: back off instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            _ = stopped(&mut stop) => break,
        }
    }
    drop(listener);
    let drain = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(SHUTDOWN_GRACE, drain).await.is_err() {
        connections.abort_all();
    }
}

async fn connection<S, F>(stream: TcpStream, service: S, mut shutdown: watch::Receiver<bool>)
where
    S: Fn(Arc<ConnControl>, Request<Incoming>) -> F + Send + Sync + 'static,
    F: Future<Output = Result<Resp, Infallible>> + Send + 'static,
{
    let _ = stream.set_nodelay(true);
    // A second handle on the same socket, to set SO_LINGER 0 (so close sends RST) while
    // hyper owns the stream.
    let Ok((stream, socket)) = stream.into_std().and_then(|s| {
        let dup = s.try_clone()?;
        Ok((TcpStream::from_std(s)?, dup))
    }) else {
        return;
    };
    let control = Arc::new(ConnControl::default());
    let ctl = control.clone();
    let conn = http1::Builder::new().keep_alive(true).serve_connection(
        TokioIo::new(stream),
        service_fn(move |req| service(ctl.clone(), req)),
    );
    tokio::pin!(conn);
    let reset = || {
        let _ = socket2::SockRef::from(&socket).set_linger(Some(Duration::ZERO));
    };
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = control.reset.notified() => reset(),
        _ = stopped(&mut shutdown) => {
            conn.as_mut().graceful_shutdown();
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = control.reset.notified() => reset(),
            }
        }
    }
}
