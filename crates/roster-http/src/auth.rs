//! Authentication as a value: a static bearer token (a SCIM service-account token), or OAuth
//! 2.0 client credentials (Entra's sign-in for Graph), whose access token is bought with a
//! POST to the token URL, cached until shortly before it expires, and bought again once when a
//! request is refused with 401.
//!
//! The secret goes only into the token request's body and the header of requests; every token
//! bought is added to the adapter's [`Redactor`] before it is used, so no server can echo it
//! into a message.

use std::time::{Duration, Instant};

use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderValue};
use serde_json::Value as Json;
use url::Url;

use super::{Adapter, Failure, Method, Request};
use roster_core::redact::{Redactor, Secret};

/// How requests are authenticated.
#[derive(Clone)]
pub enum Auth {
    /// `Authorization: Bearer <token>` on every request.
    Bearer(Secret),
    /// The OAuth 2.0 client-credentials grant (RFC 6749 §4.4).
    ClientCredentials(ClientCredentials),
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::Bearer(_) => f.write_str("Bearer([redacted])"),
            Auth::ClientCredentials(c) => f
                .debug_struct("ClientCredentials")
                .field("token_url", &roster_core::redact::redact(&c.token_url))
                .field("client_id", &c.client_id)
                .finish_non_exhaustive(),
        }
    }
}

/// What the client-credentials grant sends.
#[derive(Clone)]
pub struct ClientCredentials {
    /// Where the token is bought (Entra: `{login}/{tenant}/oauth2/v2.0/token`).
    pub token_url: Url,
    pub client_id: String,
    pub secret: Secret,
    /// What the token is for (Graph: `{graph}/.default`).
    pub scope: String,
}

/// A token is bought again this long before the server says it expires.
const TOKEN_MARGIN: Duration = Duration::from_secs(120);
/// The lifetime assumed when the token answer gives none (Entra's usual, an hour).
const DEFAULT_LIFETIME_SECS: u64 = 3599;

/// An access token, and which one it is (a 401 with an older one needs no new sign-in).
struct Token {
    header: HeaderValue,
    generation: u64,
    renew_at: Instant,
}

/// The cached token, and the number of tokens bought so far.
#[derive(Default)]
pub(super) struct Cache {
    bought: u64,
    token: Option<Token>,
}

/// The adapter's side of [`Auth`]: the header to send, and for OAuth the cached token.
pub(super) enum State {
    Bearer(HeaderValue),
    Oauth(Box<Oauth>),
}

pub(super) struct Oauth {
    grant: ClientCredentials,
    /// The form body of the token request (it holds the secret).
    body: Vec<u8>,
    token: tokio::sync::Mutex<Cache>,
}

/// An `Authorization` header, and for OAuth which token it carries.
pub(super) struct Header {
    pub(super) value: HeaderValue,
    pub(super) generation: Option<u64>,
}

impl State {
    pub(super) fn new(auth: Auth, redactor: &Redactor) -> Result<State, String> {
        match auth {
            Auth::Bearer(token) => {
                if token.expose().trim().is_empty() {
                    return Err("the token is empty".to_string());
                }
                redactor.add(&token);
                Ok(State::Bearer(bearer(token.expose()).ok_or_else(|| {
                    "the token holds characters that cannot go in an HTTP header".to_string()
                })?))
            }
            Auth::ClientCredentials(grant) => {
                if grant.secret.expose().trim().is_empty() {
                    return Err("the client secret is empty".to_string());
                }
                redactor.add(&grant.secret);
                let body = url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("client_id", &grant.client_id)
                    .append_pair("scope", &grant.scope)
                    .append_pair("client_secret", grant.secret.expose())
                    .append_pair("grant_type", "client_credentials")
                    .finish()
                    .into_bytes();
                Ok(State::Oauth(Box::new(Oauth {
                    grant,
                    body,
                    token: tokio::sync::Mutex::default(),
                })))
            }
        }
    }

    /// The URL requests must not carry a token to, when there is one: the token URL itself.
    pub(super) fn token_url(&self) -> Option<&Url> {
        match self {
            State::Bearer(_) => None,
            State::Oauth(o) => Some(&o.grant.token_url),
        }
    }

    /// Whether a 401 is worth one new sign-in.
    pub(super) fn renews(&self) -> bool {
        matches!(self, State::Oauth(_))
    }

    /// Drops the cached token if it is still the one `generation` names.
    pub(super) async fn forget(&self, generation: Option<u64>) {
        if let State::Oauth(o) = self {
            let mut cache = o.token.lock().await;
            if cache.token.as_ref().map(|t| t.generation) == generation {
                cache.token = None;
            }
        }
    }
}

/// `Bearer <token>`, marked sensitive so the HTTP library never prints it.
fn bearer(token: &str) -> Option<HeaderValue> {
    let mut value = HeaderValue::from_str(&format!("Bearer {}", token.trim())).ok()?;
    value.set_sensitive(true);
    Some(value)
}

impl Adapter {
    /// The `Authorization` header for the next attempt: the static token, or the cached access
    /// token, bought first when there is none or it is about to expire. Concurrent requests
    /// wait for one sign-in.
    pub(super) async fn authorization(&self) -> Result<Header, Failure> {
        let (grant, body, token) = match &self.auth {
            State::Bearer(value) => {
                return Ok(Header {
                    value: value.clone(),
                    generation: None,
                });
            }
            State::Oauth(o) => (&o.grant, &o.body, &o.token),
        };
        let mut cache = token.lock().await;
        if let Some(t) = cache.token.as_ref()
            && self.clock.now() < t.renew_at
        {
            return Ok(Header {
                value: t.header.clone(),
                generation: Some(t.generation),
            });
        }
        let request = Request::new(Method::Post, grant.token_url.clone())
            .header(
                CONTENT_TYPE,
                HeaderValue::from_static("application/x-www-form-urlencoded"),
            )
            .header(ACCEPT, HeaderValue::from_static("application/json"))
            .body(body.clone())
            // A token request changes nothing: it is safe to repeat.
            .replay_safe(true);
        // The token request is sent without a token, through the same loop (retries, pacing).
        let response = Box::pin(self.execute(request, false))
            .await
            .map_err(|f| Failure::SignIn(Box::new(f)))?;
        let invalid = |detail: String| {
            Failure::SignIn(Box::new(Failure::Invalid {
                method: response.method,
                url: response.url.clone(),
                detail,
            }))
        };
        let json: Json =
            serde_json::from_slice(&response.body).map_err(|e| invalid(e.to_string()))?;
        let value = json
            .get("access_token")
            .and_then(Json::as_str)
            .filter(|t| !t.trim().is_empty())
            .ok_or_else(|| invalid("no access_token in the answer".into()))?;
        let secret = Secret::new(value);
        // Redacted from whatever any server says from now on, before it is ever sent.
        self.redactor.add(&secret);
        let header = bearer(value)
            .ok_or_else(|| invalid("the access token is not a header value".into()))?;
        let expires_in = json
            .get("expires_in")
            .and_then(|v| v.as_u64().or_else(|| v.as_str()?.trim().parse().ok()))
            .unwrap_or(DEFAULT_LIFETIME_SECS);
        let lifetime = Duration::from_secs(expires_in).saturating_sub(TOKEN_MARGIN);
        cache.bought += 1;
        let generation = cache.bought;
        cache.token = Some(Token {
            header: header.clone(),
            generation,
            renew_at: self.clock.now() + lifetime,
        });
        Ok(Header {
            value: header,
            generation: Some(generation),
        })
    }
}
