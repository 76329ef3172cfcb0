//! The running server: state shared by requests, the persistence writer, and shutdown; the
//! accept loop is the one both emulators share ([`super::serve`]).
//!
//! Listens on 127.0.0.1 only, never another interface.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard};

use hyper::header::{self, HeaderMap};
use tokio::sync::{Notify, watch};

use super::clock::Clock;
use super::error::{EmulatorError, ScimError};
use super::http;
use super::limits::{Access, Decision, TokenLimiter};
use super::persist;
use super::serve::{self, stopped};
use super::settings::EmulatorConfig;
use super::stats::Stats;
use super::store::Store;

/// What every request can reach.
pub struct Shared {
    pub config: EmulatorConfig,
    pub base_url: String,
    pub clock: Clock,
    store: RwLock<Store>,
    limiters: Mutex<Vec<TokenLimiter>>,
    pub stats: Stats,
    /// Sequence number of the next SCIM request (seeds its fault draw).
    pub seq: AtomicU64,
    shutdown: watch::Receiver<bool>,
    persister: Option<Persister>,
}

impl Shared {
    pub fn read(&self) -> RwLockReadGuard<'_, Store> {
        // A panic while holding the lock is a bug in the store; the state is still usable.
        self.store.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs one change under the write lock.
    pub fn write<T>(
        &self,
        f: impl FnOnce(&mut Store) -> Result<T, ScimError>,
    ) -> Result<T, ScimError> {
        let mut store = self.store.write().unwrap_or_else(|e| e.into_inner());
        f(&mut store)
    }

    /// Waits until the state file holds revision `rev`, so an acknowledged change is on disk.
    pub async fn persisted(&self, rev: u64) -> Result<(), ScimError> {
        match &self.persister {
            Some(p) => p.wait(rev).await.map_err(|e| {
                ScimError::new(
                    500,
                    None,
                    format!("the change is applied but the state file could not be written: {e}"),
                )
            }),
            None => Ok(()),
        }
    }

    /// The index of the request's bearer token, if it is one of ours.
    pub fn token_index(&self, headers: &HeaderMap) -> Option<usize> {
        let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
        let (scheme, token) = value.trim().split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return None;
        }
        let token = token.trim();
        self.config.tokens.iter().position(|t| t == token)
    }

    pub fn admit(&self, token: usize, access: Access) -> Decision {
        let now = self.clock.now_ms();
        let mut limiters = self.limiters.lock().unwrap_or_else(|e| e.into_inner());
        match limiters.get_mut(token) {
            Some(l) => l.admit(&self.config.limits, now, access),
            None => Decision::Admit,
        }
    }

    pub fn release(&self, token: usize, access: Access) {
        let mut limiters = self.limiters.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(l) = limiters.get_mut(token) {
            l.release(access);
        }
    }

    /// Sleeps `emulated_ms` of emulated time, or until shutdown.
    pub async fn sleep(&self, emulated_ms: u64) {
        let mut shutdown = self.shutdown.clone();
        tokio::select! {
            _ = tokio::time::sleep(self.clock.real(emulated_ms)) => {}
            _ = stopped(&mut shutdown) => {}
        }
    }
}

/// Writes the state file in the background; requests wait for the revision they made.
/// Changes that arrive while a write runs share the next write (group commit), so a large
/// organisation is not rewritten once per change under load.
struct Persister {
    path: PathBuf,
    dirty: Notify,
    /// (revision on disk, last failure: (revision attempted, message)).
    done: watch::Sender<(u64, Option<(u64, String)>)>,
}

impl Persister {
    async fn wait(&self, rev: u64) -> Result<(), String> {
        let mut rx = self.done.subscribe();
        self.dirty.notify_one();
        loop {
            {
                let (on_disk, failed) = &*rx.borrow_and_update();
                if *on_disk >= rev {
                    return Ok(());
                }
                if let Some((attempted, msg)) = failed
                    && *attempted >= rev
                {
                    return Err(msg.clone());
                }
            }
            if rx.changed().await.is_err() {
                return Err("the emulator is shutting down".into());
            }
        }
    }

    /// Writes the current state if it is newer than the file.
    async fn flush(shared: &Arc<Shared>) -> Result<(), EmulatorError> {
        let Some(p) = &shared.persister else {
            return Ok(());
        };
        let on_disk = p.done.borrow().0;
        let s = shared.clone();
        let (rev, bytes) = tokio::task::spawn_blocking(move || {
            let store = s.read();
            (store.revision(), persist::serialise(&store))
        })
        .await
        .map_err(std::io::Error::other)?;
        if rev <= on_disk {
            return Ok(());
        }
        let path = p.path.clone();
        let written = match bytes {
            Ok(bytes) => tokio::task::spawn_blocking(move || persist::write_atomic(&path, &bytes))
                .await
                .map_err(std::io::Error::other)
                .and_then(|r| r),
            Err(e) => Err(std::io::Error::other(e)),
        };
        match written {
            Ok(()) => {
                p.done.send_modify(|d| d.0 = d.0.max(rev));
                Ok(())
            }
            Err(source) => {
                // The emulator's own log: a full or closed stderr must not stop it.
                let _ = std::io::Write::write_fmt(
                    &mut std::io::stderr().lock(),
                    format_args!(
                        "emulator: cannot write the state file {}: {source}\n",
                        p.path.display()
                    ),
                );
                p.done
                    .send_modify(|d| d.1 = Some((rev, source.to_string())));
                Err(EmulatorError::WriteState {
                    path: p.path.clone(),
                    source,
                })
            }
        }
    }
}

/// A started server, before the public wrapper.
pub struct Server {
    pub shared: Arc<Shared>,
    pub addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    accept: tokio::task::JoinHandle<()>,
    writer: Option<tokio::task::JoinHandle<()>>,
}

pub async fn start(config: EmulatorConfig) -> Result<Server, EmulatorError> {
    config.check().map_err(EmulatorError::Config)?;
    let listener = serve::bind(config.port)
        .await
        .map_err(|source| EmulatorError::Bind {
            port: config.port,
            source,
        })?;
    let addr = listener.local_addr()?;
    let base_url = format!("http://{addr}{}", http::SCIM_PREFIX);
    let now = super::clock::now();

    let mut store = Store::new(config.behaviour);
    let loaded = match &config.state_file {
        Some(path) => persist::load(path, &mut store, &now)?,
        None => false,
    };
    if store.is_empty() && (config.seed_users > 0 || config.seed_guests > 0) {
        store.seed(config.seed_users, config.seed_guests, &now);
    }
    if let Some(path) = &config.state_file
        && (!loaded || store.revision() > 0)
    {
        // Creates the file (or records the seeded users) before the first request.
        let bytes = persist::serialise(&store).map_err(std::io::Error::other)?;
        persist::write_atomic(path, &bytes).map_err(|source| EmulatorError::WriteState {
            path: path.clone(),
            source,
        })?;
    }
    let revision = store.revision();

    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let persister = config.state_file.clone().map(|path| Persister {
        path,
        dirty: Notify::new(),
        done: watch::channel((revision, None)).0,
    });
    let shared = Arc::new(Shared {
        limiters: Mutex::new(
            config
                .tokens
                .iter()
                .map(|_| TokenLimiter::default())
                .collect(),
        ),
        clock: Clock::new(config.time_scale),
        config,
        base_url,
        store: RwLock::new(store),
        stats: Stats::default(),
        seq: AtomicU64::new(0),
        shutdown: shutdown_rx,
        persister,
    });

    let writer = shared.persister.is_some().then(|| {
        let s = shared.clone();
        tokio::spawn(async move { write_loop(s).await })
    });
    let s = shared.clone();
    let accept = tokio::spawn(serve::serve(
        listener,
        move |conn, req| http::handle(s.clone(), conn, req),
        shared.shutdown.clone(),
    ));
    Ok(Server {
        shared,
        addr,
        shutdown: shutdown_tx,
        accept,
        writer,
    })
}

async fn write_loop(shared: Arc<Shared>) {
    let mut shutdown = shared.shutdown.clone();
    let Some(p) = &shared.persister else { return };
    loop {
        tokio::select! {
            _ = p.dirty.notified() => {}
            _ = stopped(&mut shutdown) => break,
        }
        // A failure is reported to the waiting requests and logged; the next change retries.
        let _ = Persister::flush(&shared).await;
    }
}

impl Server {
    /// Stops accepting, lets open requests finish (briefly), and writes the state file.
    pub async fn shutdown(self) -> Result<(), EmulatorError> {
        let _ = self.shutdown.send(true);
        let _ = self.accept.await;
        if let Some(w) = self.writer {
            let _ = w.await;
        }
        Persister::flush(&self.shared).await
    }

    /// Signals shutdown without waiting (used when the handle is dropped).
    pub fn signal_shutdown(&self) {
        let _ = self.shutdown.send(true);
    }
}
