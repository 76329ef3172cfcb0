//! `roster check` as an operation: test the connection and the token the way Entra's "Test
//! connection" does, read what the server advertises, and with `entra:` sign in to Entra and
//! read the target's app's service principal. Read-only; the result is data the command prints.

use serde_json::Value as Json;

use super::{Connect, Hooks, Notes};
use crate::config::Config;
use crate::config::model::Profile;
use crate::scim::client::{Features, redact_url};

/// What `roster check` found.
#[derive(Debug)]
pub struct Check {
    /// The target's URL, redacted for printing.
    pub url: String,
    pub profile: Profile,
    /// The variable the token came from (the token itself is never here).
    pub token_env: String,
    pub probe: Probe,
    /// What `/ServiceProviderConfig` says, or why it could not be read; `None` when the probe
    /// failed and nothing more was asked.
    pub advertised: Option<Result<Advertised, String>>,
    /// Entra's lines about the service principal, or why they could not be read; `None`
    /// without `entra:` or when the target failed first.
    pub entra: Option<Result<Vec<String>, String>>,
}

impl Check {
    /// Whether every part of the check passed.
    pub fn passed(&self) -> bool {
        matches!(self.probe, Probe::NoUser { .. }) && !matches!(self.entra, Some(Err(_)))
    }
}

/// The answer to a lookup of a userName that cannot exist, which must find nobody.
#[derive(Debug)]
pub enum Probe {
    /// Nobody found: by a filter, or (`listed`) by reading the list, when the server does
    /// not support filters.
    NoUser { listed: bool },
    /// A user came back: the server ignores filters, and a plan on it would be wrong.
    UserFound,
    /// The request failed (the token, the URL, the server), explained.
    Failed(String),
}

/// What the server advertises in `/ServiceProviderConfig`.
#[derive(Debug)]
pub struct Advertised {
    /// Each capability roster reports, with whether it is supported (`None`: not said).
    pub flags: Vec<(&'static str, Option<bool>)>,
    /// `filter.maxResults`, as the server wrote it.
    pub max_results: Option<Json>,
    /// What the generic profile makes of it (the Asana profile does not ask).
    pub features: Option<Features>,
}

impl Advertised {
    fn from_config(config: &Json, profile: Profile) -> Advertised {
        let flag = |k: &str| config.get(k)?.get("supported")?.as_bool();
        Advertised {
            flags: [
                ("PATCH", "patch"),
                ("filter", "filter"),
                ("ETag", "etag"),
                ("bulk", "bulk"),
                ("sort", "sort"),
                ("changePassword", "changePassword"),
            ]
            .into_iter()
            .map(|(label, key)| (label, flag(key)))
            .collect(),
            max_results: config
                .get("filter")
                .and_then(|f| f.get("maxResults"))
                .cloned(),
            features: (profile == Profile::Generic).then(|| Features::from_config(config)),
        }
    }
}

/// Runs the check against the target `connect` names. Errors are for what stops it before a
/// request (the target cannot be resolved, the Entra settings are wrong); what the servers
/// answer is in the [`Check`].
pub async fn check(
    config: &Config,
    connect: &Connect,
    hooks: &Hooks,
    notes: &mut Notes,
) -> anyhow::Result<Check> {
    // Where the Entra secret goes is settled before the first request to either side.
    let entra = match &config.settings.entra {
        Some(_) => Some(super::entra::settings(config)?),
        None => None,
    };
    let session = super::open(config, connect).await?;
    let target = &session.target;
    let client = target.reader(hooks)?;
    let mut check = Check {
        url: redact_url(&target.url),
        profile: target.profile,
        token_env: target.token_env.clone(),
        probe: Probe::Failed(String::new()),
        advertised: None,
        entra: None,
    };
    // A generic server's features decide how the probe is sent (without filter support it is
    // a list read, matched here), so its /ServiceProviderConfig is read first, once.
    let config_read = match target.profile {
        Profile::Generic => {
            let read = client.service_provider_config().await;
            if let Err(e) = &read {
                notes.warn(format!(
                    "cannot read /ServiceProviderConfig ({e}); assuming PATCH and filters are \
                     supported and ETags are not"
                ));
            }
            Some(read)
        }
        Profile::Asana => None,
    };
    let probe = format!("roster-check-{}@invalid.example", std::process::id());
    check.probe = match client.find_user_by_username(&probe).await {
        Ok(None) => Probe::NoUser {
            listed: !client.filters(),
        },
        Ok(Some(_)) => Probe::UserFound,
        Err(e) => Probe::Failed(super::explain(e).to_string()),
    };
    if !matches!(check.probe, Probe::NoUser { .. }) {
        return Ok(check);
    }
    let config_read = match config_read {
        Some(read) => read,
        None => client.service_provider_config().await,
    };
    check.advertised = Some(
        config_read
            .map(|spc| Advertised::from_config(&spc.into_value(), target.profile))
            .map_err(|e| e.to_string()),
    );
    if let Some(entra) = &entra {
        check.entra = Some(
            super::entra::check(entra, target.profile, hooks)
                .await
                .map_err(|e| format!("{e:#}")),
        );
    }
    Ok(check)
}
