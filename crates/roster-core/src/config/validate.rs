//! Stage two: every semantic check, and the validated model.
//!
//! Checks never stop at the first problem: each one pushes a diagnostic with the place and a
//! hint, and the model is returned only when there were no errors. Pure: no IO.

use crate::hash::{HashMap, HashMapExt};

use super::model::{
    self, Config, Group, Mapping, MappingSource, MaxDeprovisions, Policy, Profile,
    ProtectedPattern, TargetDef, TargetSettings, User, UserAttr,
};
use super::parse::RawConfig;
use super::raw::{self, RawMapping, Spanned};
use crate::diagnostics::{Diagnostic, FileId, Report, Span, did_you_mean};
use crate::entra::cloud::{self, Endpoint, Place};
use crate::expr;
use crate::mapping::{self, targets};
use crate::names::{self, match_key};
use crate::urls::{check_base_url, check_url, is_loopback, normalize_url};

/// Validates the parsed files; returns the model when there were no errors. Without an
/// instant: `policy.rules` `expiry_required` `max_days` is not checked ([`validate_at`]).
pub fn validate(raw: RawConfig, dir: &std::path::Path, report: &mut Report) -> Option<Config> {
    validate_at(raw, dir, None, report)
}

/// [`validate`], with the instant `policy.rules` are checked at (seconds since the epoch: the
/// command's `--at`, else now), which decides who has expired and how far `expires` may be.
pub fn validate_at(
    raw: RawConfig,
    dir: &std::path::Path,
    at: Option<i64>,
    report: &mut Report,
) -> Option<Config> {
    let mut v = Validator {
        report,
        profile: Profile::Asana,
        long_values: HashMap::new(),
        places: HashMap::new(),
        rule_spans: Vec::new(),
    };
    let settings = raw.settings.map(|(file, s)| v.settings(file, s));
    // In live mode Entra provides users at plan time, so a manager or member the YAML does not
    // declare may come from there: it is checked once Entra has been read.
    let live = settings
        .as_ref()
        .and_then(|s| s.entra.as_ref())
        .is_some_and(|e| e.mode == model::EntraMode::Live);
    let (users, user_index, manager_spans) = v.users(&raw.users);
    if !raw.incomplete {
        v.managers(&users, &user_index, &manager_spans, live);
    }
    let groups = v.groups(&raw.groups, &user_index, raw.incomplete, live);
    let settings = settings?;
    if v.report.has_errors() {
        return None;
    }
    v.evaluate(&settings, &users, &groups);
    if v.report.has_errors() {
        return None;
    }
    let config = Config {
        dir: dir.to_path_buf(),
        settings,
        users,
        groups,
        user_index,
        provenance: None,
    };
    v.policy_rules(&config, at);
    (!v.report.has_errors()).then_some(config)
}

/// What `asana:` or `target:` gives: the profile, the URL, the token's variable and the budget.
type TargetParts = (
    Profile,
    Option<Spanned<String>>,
    Option<Spanned<String>>,
    Option<Spanned<u32>>,
);

struct Validator<'r> {
    report: &'r mut Report,
    /// The target profile, known once roster.yaml is read (Asana when it could not be).
    profile: Profile,
    /// Where users' values longer than the shortest length limit are written, by user key and
    /// source attribute, so a value over its target's limit is reported where it is written.
    long_values: HashMap<String, Vec<(&'static str, Span)>>,
    /// Where each user's userPrincipalName, mail and expires are written, by user key, so a
    /// policy rule's violation is reported at the value.
    places: HashMap<String, UserPlaces>,
    /// Where each of `policy.rules` is written, in order.
    rule_spans: Vec<Span>,
}

#[derive(Debug, Clone)]
struct UserPlaces {
    upn: Span,
    mail: Option<Span>,
    expires: Option<Span>,
}

fn span<T>(file: FileId, s: &Spanned<T>) -> Span {
    Span::new(file, s.range())
}

impl Validator<'_> {
    fn error(&mut self, message: impl Into<String>, at: Span, hint: impl Into<String>) {
        self.report
            .push(Diagnostic::error(message, Some(at)).with_hint(hint));
    }

    fn settings(&mut self, file: FileId, s: raw::RawSettings) -> model::Settings {
        if s.version.value != 1 {
            self.error(
                format!("unsupported version {}", s.version.value),
                span(file, &s.version),
                "this roster reads `version: 1`",
            );
        }
        let (profile, url, token_env, per_minute) = self.target(file, s.asana, s.target);
        let requests_per_minute = match per_minute {
            Some(n) => self.requests_per_minute(file, profile, &n),
            None => TargetSettings::REQUESTS_PER_MINUTE,
        };
        self.profile = profile;
        if let Some(url) = &url {
            self.target_url(file, profile, url);
        }
        if let Some(t) = &token_env {
            let secret_env = s
                .entra
                .as_ref()
                .and_then(|e| e.value.client_secret_env.as_ref())
                .map(|v| v.value.as_str());
            self.token_env(file, t, secret_env);
        }
        let mappings = s.mappings.unwrap_or(raw::RawMappings {
            users: None,
            groups: None,
        });
        let user_mappings = match mappings.users {
            Some(list) => self.mappings(file, &list, Kind::User),
            None => targets::default_user_mappings_for(profile),
        };
        let group_mappings = match mappings.groups {
            Some(list) => self.mappings(file, &list, Kind::Group),
            None => targets::default_group_mappings(),
        };
        let token_var = token_env
            .as_ref()
            .map_or(profile.default_token_env(), |t| t.value.as_str())
            .to_string();
        model::Settings {
            target: TargetSettings {
                profile,
                configured_url: url.map(|u| u.value),
                token_env: token_env.map_or(profile.default_token_env().into(), |t| t.value),
                requests_per_minute,
            },
            user_mappings,
            group_mappings,
            policy: s.policy.map(|p| self.policy(file, p)).unwrap_or_default(),
            entra: s.entra.and_then(|e| self.entra(file, &e.value, &token_var)),
        }
    }

    /// `entra:`: ids, the secret's variable (not `token_env`'s or a system one), and where the
    /// secret and tokens go ([`Self::entra_url`]).
    fn entra(
        &mut self,
        file: FileId,
        e: &raw::RawEntra,
        token_env: &str,
    ) -> Option<model::EntraSettings> {
        let errors = self.report.error_count();
        if !is_guid(&e.tenant_id.value) && !is_domain(&e.tenant_id.value) {
            self.error(
                format!(
                    "tenant_id `{}` is neither a GUID nor a domain name",
                    e.tenant_id.value
                ),
                span(file, &e.tenant_id),
                "use the Directory (tenant) ID from the Entra admin center, such as \
                 00000000-0000-0000-0000-000000000000, or a domain such as contoso.onmicrosoft.com",
            );
        }
        for (what, value, hint) in [
            (
                "client_id",
                &e.client_id,
                "use the Application (client) ID of the app registration roster signs in as",
            ),
            (
                "service_principal_id",
                &e.service_principal_id,
                "use the Object ID on the Asana enterprise application's overview page \
                 (not its Application ID)",
            ),
        ] {
            if !is_guid(&value.value) {
                self.error(
                    format!("{what} `{}` is not a GUID", value.value),
                    span(file, value),
                    hint,
                );
            }
        }
        if let Some(t) = &e.client_secret_env {
            if !is_env_name(&t.value) {
                self.error(
                    format!("`{}` is not an environment variable name", t.value),
                    span(file, t),
                    "name the variable that holds the client secret (e.g. ENTRA_CLIENT_SECRET), \
                     never the secret itself",
                );
            } else if let Some(why) = refused_client_secret_env(&t.value, token_env) {
                self.error(
                    format!(
                        "client_secret_env `{}` {why}, not the Entra client secret",
                        t.value
                    ),
                    span(file, t),
                    format!(
                        "name the variable your workflow puts the client secret in (the default \
                         is {}); roster sends its value to the sign-in host",
                        model::DEFAULT_ENTRA_SECRET_ENV
                    ),
                );
            }
        }
        let (login_url, login) = self.entra_url(file, Endpoint::Login, &e.login_url);
        let (graph_url, graph) = self.entra_url(file, Endpoint::Graph, &e.graph_url);
        if let (Some(login), Some(graph)) = (login, graph)
            && let Err(msg) = cloud::same_cloud(login, graph)
        {
            // At the value the file writes (the other one may be a default).
            let at = e.graph_url.as_ref().or(e.login_url.as_ref());
            if let Some(at) = at {
                self.error(msg, span(file, at), cloud::graph_hint(login));
            }
        }
        let scoping_filters = e
            .scoping_filters
            .iter()
            .map(|f| self.scoping_filter(file, f))
            .collect();
        if self.report.error_count() > errors {
            return None;
        }
        Some(model::EntraSettings {
            tenant_id: e.tenant_id.value.clone(),
            client_id: e.client_id.value.clone(),
            client_secret_env: e
                .client_secret_env
                .as_ref()
                .map_or(model::DEFAULT_ENTRA_SECRET_ENV.into(), |t| t.value.clone()),
            service_principal_id: e.service_principal_id.value.clone(),
            scope: e
                .scope
                .as_ref()
                .map_or(model::EntraScope::Assigned, |s| s.value.into()),
            group_members: e
                .group_members
                .as_ref()
                .map_or(model::GroupMembers::Direct, |g| g.value.into()),
            scoping_filters,
            mode: e
                .mode
                .as_ref()
                .map_or(model::EntraMode::Seed, |m| m.value.into()),
            login_url,
            graph_url,
            login_url_written: e.login_url.is_some(),
            graph_url_written: e.graph_url.is_some(),
        })
    }

    /// `entra.login_url` or `entra.graph_url`, trimmed of trailing slashes (the default when
    /// not written), with its place when it is one roster may send to: an https (or loopback
    /// http) base URL on a Microsoft host of [`cloud::CLOUDS`], or loopback.
    fn entra_url(
        &mut self,
        file: FileId,
        endpoint: Endpoint,
        url: &Option<Spanned<String>>,
    ) -> (String, Option<Place>) {
        let Some(u) = url else {
            let default = match endpoint {
                Endpoint::Login => model::DEFAULT_ENTRA_LOGIN_URL,
                Endpoint::Graph => model::DEFAULT_ENTRA_GRAPH_URL,
            };
            return (default.into(), cloud::place(endpoint, default).ok());
        };
        let problem = check_base_url(&u.value)
            .map_err(|e| {
                (
                    e,
                    "use https://…, or http:// only for 127.0.0.1/localhost (the emulator)".into(),
                )
            })
            .and_then(|()| {
                normalize_url(&u.value).map_err(|e| (e, "give the base URL only".into()))
            })
            .and_then(|_| {
                cloud::place(endpoint, &u.value).map_err(|e| {
                    (
                        e,
                        format!(
                            "use your cloud's host ({}), or a loopback address for the Graph \
                             emulator",
                            endpoint.known_hosts()
                        ),
                    )
                })
            });
        match problem {
            Ok(place) => (u.value.trim_end_matches('/').to_string(), Some(place)),
            Err((message, hint)) => {
                self.error(message, span(file, u), hint);
                (String::new(), None)
            }
        }
    }

    fn scoping_filter(
        &mut self,
        file: FileId,
        f: &Spanned<raw::RawScopingFilter>,
    ) -> model::ScopingFilter {
        self.filter(file, f, "scoping filter")
    }

    /// A filter in the scoping-filter shape: an Entra scoping filter or a team's member rule
    /// (`what` names it in messages).
    fn filter(
        &mut self,
        file: FileId,
        f: &Spanned<raw::RawScopingFilter>,
        what: &str,
    ) -> model::ScopingFilter {
        if f.value.clauses.is_empty() {
            let at = span(file, f);
            self.error(
                format!("{what} has no clauses"),
                Span::new(at.file, at.range.start..at.range.start),
                "give at least one clause, or remove the filter",
            );
        }
        model::ScopingFilter {
            name: f.value.name.as_ref().map(|n| n.value.clone()),
            clauses: self.clauses(file, &f.value.clauses, what),
        }
    }

    /// Clauses checked and compiled; each bad attribute, operator or value is an error where
    /// it is written, and its clause is left out.
    fn clauses(
        &mut self,
        file: FileId,
        list: &[Spanned<raw::RawClause>],
        what: &str,
    ) -> Vec<model::Clause> {
        use model::{Clause, Operator, filterable_attributes};
        let mut clauses = Vec::new();
        for c in list {
            let c = &c.value;
            let attribute = c.attribute.value.as_str();
            let attr_ok = filterable_attributes().any(|a| a == attribute);
            if !attr_ok {
                let hint = match attribute {
                    "manager" => "Entra cannot filter on references such as `manager`".to_string(),
                    "appRoleAssignments" => {
                        "Entra cannot filter on multi-valued attributes".to_string()
                    }
                    "IsSoftDeleted" => {
                        "IsSoftDeleted is computed from scope; filter on `accountEnabled`".into()
                    }
                    _ => match did_you_mean(attribute, filterable_attributes()) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => format!(
                            "filterable attributes: {}",
                            filterable_attributes().collect::<Vec<_>>().join(", ")
                        ),
                    },
                };
                self.error(
                    format!("`{attribute}` cannot be used in a {what}"),
                    span(file, &c.attribute),
                    hint,
                );
            }
            let Some(operator) = Operator::parse(&c.operator.value) else {
                let names = Operator::ALL.map(Operator::name);
                let plain: String = c
                    .operator
                    .value
                    .chars()
                    .filter(char::is_ascii_alphabetic)
                    .collect::<String>()
                    .to_ascii_uppercase();
                let hint = match (
                    plain.as_str(),
                    did_you_mean(&c.operator.value, names.iter().copied()),
                ) {
                    ("CONTAINS", _) => "Entra's containment operator is `Includes`".to_string(),
                    ("STARTSWITH", _) => {
                        "Entra has no STARTS_WITH: use `REGEX MATCH` with `^…`".to_string()
                    }
                    (_, Some(s)) => format!("did you mean `{s}`?"),
                    (_, None) => format!("Entra's operators: {}", names.join(", ")),
                };
                let message = match what {
                    "scoping filter" => format!("unknown scoping operator `{}`", c.operator.value),
                    _ => format!("unknown operator `{}` in a {what}", c.operator.value),
                };
                self.error(message, span(file, &c.operator), hint);
                continue;
            };
            if !attr_ok {
                continue;
            }
            let value = c.value.as_ref().map(|v| v.value.0.as_str());
            match Clause::new(attribute, operator, value) {
                Ok(clause) => clauses.push(clause),
                Err(msg) => {
                    let (at, hint) = match &c.value {
                        Some(v) if operator.unary() => (
                            span(file, v),
                            "remove `value`: this operator tests the attribute alone",
                        ),
                        Some(v) => (
                            span(file, v),
                            match operator {
                                Operator::GreaterThan | Operator::GreaterThanOrEquals => {
                                    "Entra compares whole numbers, such as `value: 1000`"
                                }
                                _ => "write a regular expression such as `^[0-9]{4}$`",
                            },
                        ),
                        None => (span(file, &c.operator), "add `value: …` to the clause"),
                    };
                    self.error(msg, at, hint);
                }
            }
        }
        clauses
    }

    /// The target's profile, URL and token variable, from `target:` or `asana:` (not both).
    fn target(
        &mut self,
        file: FileId,
        asana: Option<Spanned<raw::RawAsana>>,
        target: Option<Spanned<raw::RawTarget>>,
    ) -> TargetParts {
        if let (Some(a), Some(t)) = (&asana, &target) {
            let at = span(file, t);
            self.report.push(
                Diagnostic::error(
                    "roster.yaml has both `asana:` and `target:`",
                    Some(Span::new(at.file, at.range.start..at.range.start)),
                )
                .with_note(span(file, a), "`asana:` is here")
                .with_hint("keep one: `asana:` is `target:` with `profile: asana`"),
            );
        }
        // With both, `target:` is checked further, so its own problems are reported too.
        match (asana, target) {
            (_, Some(t)) => {
                let t = t.value;
                let profile = t.profile.map_or(Profile::Asana, |p| p.value.into());
                (profile, t.url, t.token_env, t.requests_per_minute)
            }
            (Some(a), None) => (
                Profile::Asana,
                a.value.url,
                a.value.token_env,
                a.value.requests_per_minute,
            ),
            (None, None) => (Profile::Asana, None, None, None),
        }
    }

    /// `requests_per_minute`: at least 1, and with `profile: asana` no more than Asana allows a
    /// token. Returns the budget to use (the default after an error).
    fn requests_per_minute(&mut self, file: FileId, profile: Profile, n: &Spanned<u32>) -> u32 {
        let most = TargetSettings::REQUESTS_PER_MINUTE;
        if n.value == 0 {
            self.error(
                "requests_per_minute is 0: roster could send nothing",
                span(file, n),
                "give the requests a minute roster may send with this token, at least 1 (the \
                 default is 1500, Asana's limit)",
            );
            return most;
        }
        if profile == Profile::Asana && n.value > most {
            self.error(
                format!(
                    "requests_per_minute is {}, more than Asana allows a token ({most} a minute)",
                    n.value
                ),
                span(file, n),
                "leave it out for Asana's 1500, or set less when another integration shares the \
                 token",
            );
            return most;
        }
        n.value
    }

    /// The target URL: https (http only to loopback), a base URL without credentials, query
    /// or fragment, and for `profile: asana` Asana's own host (or loopback, for the emulator).
    fn target_url(&mut self, file: FileId, profile: Profile, url: &Spanned<String>) {
        let problem = check_url(&url.value)
            .map_err(|e| (e, "use https://…, or http:// only for 127.0.0.1/localhost"))
            .and_then(|()| normalize_url(&url.value).map_err(|e| (e, "give the base URL only")))
            .and_then(|_| {
                check_profile_url(profile, &url.value).map_err(|e| {
                    (
                        e,
                        "`profile: asana` sends the token to app.asana.com only (or to a loopback \
                         emulator); for another SCIM server write `target: { profile: generic, \
                         url: … }`",
                    )
                })
            });
        if let Err((message, hint)) = problem {
            self.error(message, span(file, url), hint);
        }
    }

    /// `token_env` names a variable that can hold the token: not a system, CI or cloud
    /// variable, and not the Entra client secret's ([`refused_token_env`]).
    fn token_env(&mut self, file: FileId, t: &Spanned<String>, entra_secret_env: Option<&str>) {
        if !is_env_name(&t.value) {
            self.error(
                format!("`{}` is not an environment variable name", t.value),
                span(file, t),
                "name the variable that holds the token (e.g. ASANA_TOKEN), never the token itself",
            );
        } else if let Some(why) = refused_token_env(&t.value, entra_secret_env) {
            self.error(
                format!("token_env `{}` {why}, not the target's token", t.value),
                span(file, t),
                format!(
                    "name the variable your workflow puts the token in (the default is {}); \
                     roster sends its value as a bearer token",
                    self.profile.default_token_env()
                ),
            );
        }
    }

    /// Runs every mapping on every declared object, as a create would, so a value that cannot
    /// be sent (a non-boolean `active`, a failing regex, a value over its length limit, an
    /// expression past its bounds) is reported now, not mid-apply.
    ///
    /// An expression that fails to evaluate is reported at the part of the expression at fault,
    /// naming the user, with the user's declaration as a note; the same failure for further
    /// users is counted in that one diagnostic rather than repeated for each.
    fn evaluate(&mut self, settings: &model::Settings, users: &[User], groups: &[Group]) {
        // (target, reason, span) -> (index in `pending`, how many other users)
        let mut seen: HashMap<(&str, String, std::ops::Range<usize>), usize> = HashMap::new();
        let mut pending: Vec<(Diagnostic, usize)> = Vec::new();
        for u in users {
            for e in mapping::check_user(&settings.user_mappings, u) {
                let mapping = settings
                    .user_mappings
                    .iter()
                    .find(|m| m.target.path == e.target);
                let in_expr = match (mapping.map(|m| &m.source), &e.span) {
                    (Some(MappingSource::Expression { at: Some(at), .. }), Some(r)) => {
                        Some(self.locate_in_scalar(at, r.clone()))
                    }
                    _ => None,
                };
                let Some(at) = in_expr else {
                    // A direct mapping's value too long for its target: point at the value.
                    let value_at = match mapping.map(|m| &m.source) {
                        Some(MappingSource::Direct(source)) => (self.long_values.get(&u.key()))
                            .and_then(|l| l.iter().find(|(name, _)| name == source))
                            .map(|(_, at)| at.clone()),
                        _ => None,
                    };
                    let mut d = Diagnostic::error(
                        format!("user `{}`: {e}", u.upn),
                        value_at.clone().or(u.origin.clone()),
                    )
                    .with_hint(if e.reason.contains("roster sends at most") {
                        "shorten the value: README's \"Value lengths\" gives each target's limit"
                    } else {
                        "fix the user's attributes or the mapping in roster.yaml"
                    });
                    if let (Some(_), Some(o)) = (&value_at, &u.origin) {
                        d = d.with_note(o.clone(), "the user");
                    } else if let Some(o) = mapping.and_then(|m| m.origin.clone()) {
                        d = d.with_note(o, "the mapping");
                    }
                    self.report.push(d);
                    continue;
                };
                let key = (e.target, e.reason.clone(), at.range.clone());
                if let Some(&i) = seen.get(&key) {
                    pending[i].1 += 1;
                    continue;
                }
                let mut d = Diagnostic::error(format!("user `{}`: {e}", u.upn), Some(at))
                    .with_hint(expression_hint(&e.reason));
                if let Some(o) = &u.origin {
                    d = d.with_note(o.clone(), "the user it was evaluated for");
                }
                seen.insert(key, pending.len());
                pending.push((d, 0));
            }
        }
        for (mut d, others) in pending {
            if others > 0 {
                let s = if others == 1 { "" } else { "s" };
                d.message
                    .push_str(&format!(" (and {others} other user{s})"));
            }
            self.report.push(d);
        }
        for g in groups {
            if let Err(errors) =
                mapping::map_group(&settings.group_mappings, g, mapping::Flow::Create)
            {
                for e in errors {
                    self.report.push(
                        Diagnostic::error(
                            format!("group `{}`: {e}", g.display_name),
                            g.origin.clone(),
                        )
                        .with_hint("fix the group or the mapping in roster.yaml"),
                    );
                }
            }
        }
    }

    fn policy(&mut self, file: FileId, p: raw::RawPolicy) -> Policy {
        let mut policy = Policy::default();
        if let Some(u) = p.unmanaged {
            policy.unmanaged = u.value.into();
        }
        if let Some(d) = p.deprovision_with {
            policy.deprovision_with = d.value.into();
        }
        if let Some(u) = p.unset_attributes {
            policy.unset_attributes = u.value.into();
        }
        for pat in &p.protected {
            match ProtectedPattern::new(&pat.value) {
                Ok(pattern) => policy.protected.push(pattern),
                Err(e) => self.error(
                    format!("invalid protected pattern: {e}"),
                    span(file, pat),
                    "write a userName or a pattern such as `svc-*@example.com`",
                ),
            }
        }
        if let Some(max) = p.max_deprovisions {
            let defaults = MaxDeprovisions::default();
            let count = max.value.count.as_ref().map_or(defaults.count, |c| c.value);
            let percent = match &max.value.percent {
                Some(pc) if !(0.0..=100.0).contains(&pc.value) || pc.value.is_nan() => {
                    self.error(
                        format!("percent must be between 0 and 100, not {}", pc.value),
                        span(file, pc),
                        "e.g. `percent: 10` lets one apply deprovision at most 10% of live users",
                    );
                    defaults.percent
                }
                Some(pc) => pc.value,
                None => defaults.percent,
            };
            policy.max_deprovisions = MaxDeprovisions { count, percent };
        }
        for r in &p.rules {
            if let Some(rule) = self.policy_rule(file, r) {
                policy.rules.push(rule);
                self.rule_spans.push(span(file, r));
            }
        }
        if let Some(days) = p.expiry_warning_days {
            policy.expiry_warning_days = days.value;
        }
        if let Some(price) = p.seat_price {
            let raw::RawSeatPrice { amount, currency } = price.value;
            let mut ok = true;
            if !amount.value.is_finite() || amount.value < 0.0 {
                self.error(
                    format!(
                        "seat_price amount must be zero or more, not {}",
                        amount.value
                    ),
                    span(file, &amount),
                    "the monthly price of one active user, e.g. `amount: 10.99`",
                );
                ok = false;
            }
            let code = &currency.value;
            if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
                self.error(
                    format!("`{code}` is not a currency code"),
                    span(file, &currency),
                    "write an ISO 4217 code: three capital letters such as USD, EUR or GBP",
                );
                ok = false;
            }
            if ok {
                policy.seat_price = Some(model::SeatPrice {
                    amount: amount.value,
                    currency: currency.value,
                });
            }
        }
        policy
    }

    /// One of `policy.rules`: exactly one kind of rule, its values checked.
    fn policy_rule(
        &mut self,
        file: FileId,
        r: &Spanned<raw::RawPolicyRule>,
    ) -> Option<model::PolicyRule> {
        use model::PolicyRule;
        let at = span(file, r);
        let rule = &r.value;
        let kinds = [
            ("allowed_domains", rule.allowed_domains.is_some()),
            ("required", rule.required.is_some()),
            ("expiry_required", rule.expiry_required.is_some()),
            ("max_team_size", rule.max_team_size.is_some()),
        ];
        let given: Vec<&str> = kinds.iter().filter(|k| k.1).map(|k| k.0).collect();
        if given.len() != 1 {
            let message = match given.as_slice() {
                [] => "policy rule has none of allowed_domains, required, expiry_required and \
                       max_team_size"
                    .to_string(),
                many => format!("policy rule has {}: one rule each", many.join(" and ")),
            };
            self.error(
                message,
                Span::new(at.file, at.range.start..at.range.start),
                "write each rule as its own list item: `- allowed_domains: [example.com]`",
            );
            return None;
        }
        if let (Some(when), None) = (&rule.when, &rule.required) {
            let place = when.first().map_or(at.clone(), |c| span(file, c));
            self.error(
                "`when` here goes with `required`",
                place,
                "expiry_required takes its own: `expiry_required: { when: [...], max_days: 180 }`",
            );
            return None;
        }
        let when = |v: &mut Self, clauses: &Option<Vec<Spanned<raw::RawClause>>>| {
            clauses
                .as_ref()
                .filter(|c| !c.is_empty())
                .map(|c| model::ScopingFilter {
                    name: None,
                    clauses: v.clauses(file, c, "policy rule"),
                })
        };
        if let Some(domains) = &rule.allowed_domains {
            let mut out = Vec::new();
            if domains.value.is_empty() {
                self.error(
                    "allowed_domains is empty",
                    span(file, domains),
                    "name at least one domain, such as `[example.com]`",
                );
            }
            for d in &domains.value {
                let domain = d.value.trim().trim_start_matches('@').to_lowercase();
                if !is_domain(&domain) {
                    self.error(
                        format!("`{}` is not a domain", d.value),
                        span(file, d),
                        "write the part after the @, such as `example.com`",
                    );
                    continue;
                }
                out.push(domain);
            }
            return Some(PolicyRule::AllowedDomains(out));
        }
        if let Some(required) = &rule.required {
            let names = || UserAttr::ALL.into_iter().map(UserAttr::name);
            let mut attributes = Vec::new();
            if required.value.is_empty() {
                self.error(
                    "required is empty",
                    span(file, required),
                    "name the attributes every user must have, such as `[jobTitle, department]`",
                );
            }
            for a in &required.value {
                match UserAttr::from_name(&a.value) {
                    Some(attr) => attributes.push(attr.name()),
                    None => {
                        let hint = match did_you_mean(&a.value, names()) {
                            Some(s) => format!("did you mean `{s}`?"),
                            None => format!(
                                "user attributes: {}",
                                names().collect::<Vec<_>>().join(", ")
                            ),
                        };
                        self.error(
                            format!("unknown user attribute `{}` in a policy rule", a.value),
                            span(file, a),
                            hint,
                        );
                    }
                }
            }
            let when = when(self, &rule.when);
            return Some(PolicyRule::Required { attributes, when });
        }
        if let Some(e) = &rule.expiry_required {
            let max_days = e.value.max_days.as_ref().map(|m| m.value);
            if let Some(m) = e.value.max_days.as_ref().filter(|m| m.value == 0) {
                self.error(
                    "max_days must be at least 1",
                    span(file, m),
                    "e.g. `max_days: 180`: every `expires` within 180 days",
                );
            }
            let when = when(self, &e.value.when);
            return Some(PolicyRule::ExpiryRequired { when, max_days });
        }
        if let Some(n) = &rule.max_team_size {
            if n.value == 0 {
                self.error(
                    "max_team_size must be at least 1",
                    span(file, n),
                    "e.g. `max_team_size: 50`",
                );
            }
            return Some(PolicyRule::MaxTeamSize(n.value));
        }
        None
    }

    /// Checks every declared user and team against `policy.rules`, at `at` (who has expired,
    /// how far `expires` may be). Users who will not hold an account (disabled, out of scope,
    /// expired) are not checked: the rules are about who has access.
    fn policy_rules(&mut self, config: &Config, at: Option<i64>) {
        use model::PolicyRule;
        let active = |u: &User| match at {
            Some(at) => u.provisioned_at(at),
            None => u.provisioned(),
        };
        let rules = config.settings.policy.rules.clone();
        for (rule, rule_at) in rules.iter().zip(self.rule_spans.clone()) {
            let note = |d: Diagnostic| d.with_note(rule_at.clone(), "the policy rule");
            match rule {
                PolicyRule::AllowedDomains(domains) => {
                    for u in config.users.iter().filter(|u| active(u)) {
                        let places = self.places.get(&u.key()).cloned();
                        let values = [
                            (
                                "userPrincipalName",
                                Some(u.upn.as_str()),
                                places.as_ref().map(|p| p.upn.clone()),
                            ),
                            (
                                "mail",
                                u.get(UserAttr::Mail),
                                places.as_ref().and_then(|p| p.mail.clone()),
                            ),
                        ];
                        for (name, value, place) in values {
                            let Some(value) = value else { continue };
                            let domain = value.rsplit_once('@').map(|(_, d)| d.to_lowercase());
                            if domain.as_ref().is_some_and(|d| domains.contains(d)) {
                                continue;
                            }
                            let d = Diagnostic::error(
                                format!(
                                    "user `{}`: {name} `{value}` is not in an allowed domain",
                                    u.upn
                                ),
                                place.or(u.origin.clone()),
                            )
                            .with_hint(format!(
                                "policy.rules allows {}: use an address there, or add the domain \
                                 to allowed_domains",
                                domains.join(", ")
                            ));
                            self.report.push(note(d));
                        }
                    }
                }
                PolicyRule::Required { attributes, when } => {
                    for u in config.users.iter().filter(|u| active(u)) {
                        if when.as_ref().is_some_and(|w| !crate::filter::matches(w, u)) {
                            continue;
                        }
                        let missing: Vec<&str> = (attributes.iter().copied())
                            .filter(|a| {
                                UserAttr::from_name(a)
                                    .and_then(|a| u.get(a))
                                    .is_none_or(|v| v.trim().is_empty())
                            })
                            .collect();
                        if missing.is_empty() {
                            continue;
                        }
                        let list: Vec<String> = missing.iter().map(|a| format!("`{a}`")).collect();
                        let d = Diagnostic::error(
                            format!(
                                "user `{}` has no {}, which policy.rules requires{}",
                                u.upn,
                                list.join(" or "),
                                describe_when(when.as_ref())
                            ),
                            u.origin.clone(),
                        )
                        .with_hint(format!("add `{}: …` to the user", missing[0]));
                        self.report.push(note(d));
                    }
                }
                PolicyRule::ExpiryRequired { when, max_days } => {
                    for u in config.users.iter().filter(|u| active(u)) {
                        if when.as_ref().is_some_and(|w| !crate::filter::matches(w, u)) {
                            continue;
                        }
                        let Some(expires) = &u.expires else {
                            let d = Diagnostic::error(
                                format!(
                                    "user `{}` has no `expires`, which policy.rules requires{}",
                                    u.upn,
                                    describe_when(when.as_ref())
                                ),
                                u.origin.clone(),
                            )
                            .with_hint(match max_days {
                                Some(n) => format!(
                                    "add `expires: YYYY-MM-DD` to the user, at most {n} days ahead"
                                ),
                                None => "add `expires: YYYY-MM-DD` to the user".into(),
                            });
                            self.report.push(note(d));
                            continue;
                        };
                        let (Some(n), Some(at)) = (max_days, at) else {
                            continue;
                        };
                        let latest = at + i64::from(*n) * 86_400;
                        if expires.ends_at <= latest {
                            continue;
                        }
                        let place = self.places.get(&u.key()).and_then(|p| p.expires.clone());
                        let d = Diagnostic::error(
                            format!(
                                "user `{}` expires {}, more than the {n} days policy.rules allows",
                                u.upn, expires.written
                            ),
                            place.or(u.origin.clone()),
                        )
                        .with_hint(format!(
                            "set an earlier `expires`: at most {n} days after the check \
                             (`--at`, else now)"
                        ));
                        self.report.push(note(d));
                    }
                }
                PolicyRule::MaxTeamSize(n) => {
                    for g in &config.groups {
                        let members = crate::teams::members(config, g, |u| active(u));
                        let size = members
                            .iter()
                            .filter(|m| at.is_none_or(|at| !g.membership_expired_at(&m.upn, at)))
                            .count() as u64;
                        if size <= *n {
                            continue;
                        }
                        let d = Diagnostic::error(
                            format!(
                                "team `{}` has {size} members, more than the {n} policy.rules allows",
                                g.display_name
                            ),
                            g.origin.clone(),
                        )
                        .with_hint(
                            "narrow its member_rules, exclude some users, or raise max_team_size",
                        );
                        self.report.push(note(d));
                    }
                }
            }
        }
    }

    fn mappings(&mut self, file: FileId, list: &[Spanned<RawMapping>], kind: Kind) -> Vec<Mapping> {
        let mut out: Vec<Mapping> = Vec::new();
        let mut seen: HashMap<&str, Span> = HashMap::new();
        for m in list {
            if let Some(mapping) = self.mapping(file, &m.value, kind) {
                let at = span(file, &m.value.target);
                if let Some(first) = seen.get(mapping.target.path) {
                    self.report.push(
                        Diagnostic::error(
                            format!("two mappings for target `{}`", mapping.target.path),
                            Some(at),
                        )
                        .with_note(first.clone(), "first mapping")
                        .with_hint("keep one mapping per target attribute"),
                    );
                    continue;
                }
                seen.insert(mapping.target.path, at);
                out.push(mapping);
            }
        }
        let required = kind.match_target();
        if !list.is_empty() && !out.iter().any(|m| m.match_priority.is_some()) {
            let at = span(file, &list[0]);
            self.error(
                format!("no {} mapping is used for matching", kind.name()),
                Span::new(at.file, at.range.start..at.range.start),
                format!("add `match: 1` to the mapping whose target is `{required}`"),
            );
        }
        if !list.is_empty()
            && !out.iter().any(|m| m.target.path == required)
            && !self.report.has_errors()
        {
            let at = span(file, &list[0]);
            let who = match self.profile {
                Profile::Asana => "Asana requires",
                Profile::Generic => "SCIM requires (RFC 7643 §4.1)",
            };
            self.error(
                format!("no mapping for `{required}`, which {who}"),
                Span::new(at.file, at.range.start..at.range.start),
                format!("map `{required}`, e.g. from `{}`", kind.match_source()),
            );
        }
        out.sort_by_key(|m| (m.match_priority.is_none(), m.match_priority));
        out
    }

    fn mapping(&mut self, file: FileId, m: &RawMapping, kind: Kind) -> Option<Mapping> {
        let target_at = span(file, &m.target);
        let targets = kind.targets(self.profile);
        let target = match targets.iter().find(|t| t.path == m.target.value) {
            Some(t) => t,
            None => {
                let accepts = match self.profile {
                    Profile::Asana => "Asana accepts",
                    Profile::Generic => "the generic profile accepts",
                };
                let hint = match suggest_target(&m.target.value, targets) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!("{accepts}: {}", target_list(targets)),
                };
                self.error(
                    format!("unknown target attribute `{}`", m.target.value),
                    target_at,
                    hint,
                );
                return None;
            }
        };
        let given: Vec<(&str, &Spanned<String>)> = [
            ("source", &m.source),
            ("constant", &m.constant),
            ("expression", &m.expression),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| (k, v)))
        .collect();
        let source = match given.as_slice() {
            [] => {
                self.error(
                    format!(
                        "mapping for `{}` has no source, constant or expression",
                        target.path
                    ),
                    target_at,
                    "give exactly one of `source`, `constant` or `expression`",
                );
                return None;
            }
            [(_, _), (second, at), ..] => {
                self.error(
                    format!(
                        "mapping for `{}` has more than one of source, constant and expression",
                        target.path
                    ),
                    span(file, at),
                    format!("remove `{second}`: a mapping has exactly one value"),
                );
                return None;
            }
            [("source", s)] => {
                if !kind.sources().any(|n| n == s.value) {
                    self.unknown_source(&s.value, span(file, s), kind);
                    return None;
                }
                MappingSource::Direct(s.value.clone())
            }
            [("constant", c)] => MappingSource::Constant(c.value.clone()),
            [(_, e)] => self.expression(file, e, kind)?,
        };
        let apply = m
            .apply
            .as_ref()
            .map_or(model::Apply::Always, |a| a.value.into());
        if !target.updatable && apply == model::Apply::Always {
            self.error(
                format!("Asana refuses `{}` on update", target.path),
                target_at.clone(),
                "add `apply: on_create`, or map `name.formatted` instead",
            );
        }
        if let Some(p) = &m.match_priority {
            if p.value == 0 {
                self.error(
                    "matching precedence starts at 1",
                    span(file, p),
                    "use `match: 1` for the first matching attribute",
                );
            } else if !target.filterable {
                let who = match self.profile {
                    Profile::Asana => "Asana filters",
                    Profile::Generic => "roster matches",
                };
                self.error(
                    format!(
                        "cannot match on `{}`: {who} only on `{}`",
                        target.path,
                        kind.match_target()
                    ),
                    span(file, p),
                    format!("match on `{}`", kind.match_target()),
                );
            }
        }
        Some(Mapping {
            target,
            source,
            match_priority: m.match_priority.as_ref().map(|p| p.value),
            apply,
            default: m.default.as_ref().map(|d| d.value.clone()),
            origin: Some(target_at),
        })
    }

    /// Where a byte range of a YAML scalar's decoded value is in the file.
    fn locate_in_scalar(&self, scalar: &Span, r: std::ops::Range<usize>) -> Span {
        let text = self_text(self.report, scalar.file);
        let start = scalar.range.start;
        Span::new(
            scalar.file,
            scalar_offset(text, start, r.start)..scalar_offset(text, start, r.end),
        )
    }

    fn expression(
        &mut self,
        file: FileId,
        e: &Spanned<String>,
        kind: Kind,
    ) -> Option<MappingSource> {
        let scalar = span(file, e);
        let locate = |v: &Self, r: std::ops::Range<usize>| v.locate_in_scalar(&scalar, r);
        match expr::parse(&e.value) {
            Err(errors) => {
                for err in errors {
                    let at = locate(self, err.span.clone());
                    let hint = err.hint.unwrap_or_else(|| {
                        "see the expression functions in the README".to_string()
                    });
                    self.error(format!("expression: {}", err.message), at, hint);
                }
                None
            }
            Ok(parsed) => {
                let mut ok = true;
                for (name, range) in parsed.attributes() {
                    if !kind.sources().any(|n| n == name) {
                        let at = locate(self, range);
                        self.unknown_source(name, at, kind);
                        ok = false;
                    }
                }
                ok.then(|| MappingSource::Expression {
                    expr: Box::new(parsed),
                    text: e.value.clone(),
                    at: Some(scalar.clone()),
                })
            }
        }
    }

    fn unknown_source(&mut self, name: &str, at: Span, kind: Kind) {
        let hint = match did_you_mean(name, kind.sources()) {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!(
                "source attributes: {}",
                kind.sources().collect::<Vec<_>>().join(", ")
            ),
        };
        self.error(format!("unknown source attribute `{name}`"), at, hint);
    }

    /// Users, their index by key, and where each user's `manager` is written.
    fn users(
        &mut self,
        files: &[(FileId, raw::RawUsersFile)],
    ) -> (Vec<User>, HashMap<String, usize>, Vec<Option<Span>>) {
        // Sized once: growing these tables as 100,000 users arrive rehashes them many times.
        let declared = files.iter().map(|(_, f)| f.users.len()).sum();
        let mut users = Vec::with_capacity(declared);
        let mut manager_spans = Vec::with_capacity(declared);
        let mut index: HashMap<String, usize> = HashMap::with_capacity(declared);
        let mut lookalikes = Lookalikes::default();
        lookalikes.users.reserve(declared);
        self.places.reserve(declared);
        for (file, f) in files {
            for entry in &f.users {
                let Some(user) = self.user(*file, entry) else {
                    continue;
                };
                self.invisible_and_mixed_scripts(*file, entry);
                let key = user.key();
                if let Some(&first) = index.get(&key) {
                    let first: &User = &users[first];
                    let mut d = Diagnostic::error(
                        format!("user `{}` is declared twice", user.upn),
                        user.origin.clone(),
                    )
                    .with_hint(
                        "userPrincipalName is unique, ignoring case and Unicode normal form: \
                         keep one declaration",
                    );
                    if let Some(origin) = &first.origin {
                        d = d.with_note(origin.clone(), "first declared here");
                    }
                    self.report.push(d);
                    continue;
                }
                self.lookalikes(&mut lookalikes, &user, entry.value.mail.as_ref());
                if let Some(upn) = &entry.value.user_principal_name {
                    let r = &entry.value;
                    self.places.insert(
                        key.clone(),
                        UserPlaces {
                            upn: span(*file, upn),
                            mail: r.mail.as_ref().map(|m| span(*file, m)),
                            expires: r.expires.as_ref().map(|e| span(*file, e)),
                        },
                    );
                }
                index.insert(key, users.len());
                users.push(user);
                manager_spans.push(entry.value.manager.as_ref().map(|m| span(*file, m)));
            }
        }
        (users, index, manager_spans)
    }

    /// Warns about characters in a userPrincipalName or mail that a reviewer cannot see, and
    /// about labels that mix scripts: such an address reads like another one.
    fn invisible_and_mixed_scripts(&mut self, file: FileId, entry: &Spanned<raw::RawUser>) {
        let r = &entry.value;
        for (key, value) in [
            ("userPrincipalName", &r.user_principal_name),
            ("mail", &r.mail),
        ] {
            let Some(v) = value else { continue };
            // Nearly every name is plain ASCII, with nothing to warn about.
            if v.value.bytes().all(|b| b.is_ascii_graphic()) {
                continue;
            }
            let scalar = span(file, v);
            let shown = escape_invisible(&v.value);
            for (i, c) in names::invisible(&v.value) {
                let at = self.locate_in_scalar(&scalar, i..i + c.len_utf8());
                self.report.push(
                    Diagnostic::warning(
                        format!(
                            "{key} `{shown}` contains an invisible character, U+{:04X}",
                            c as u32
                        ),
                        Some(at),
                    )
                    .with_hint(
                        "it cannot be seen in a review, and the address is not the one without \
                         it; remove it",
                    ),
                );
            }
            for label in names::mixed_script_labels(&v.value) {
                let text = &v.value[label.clone()];
                let odd: Vec<String> = text
                    .chars()
                    .filter(|c| !c.is_ascii())
                    .take(5)
                    .map(|c| format!("U+{:04X}", c as u32))
                    .collect();
                let at = self.locate_in_scalar(&scalar, label);
                self.report.push(
                    Diagnostic::warning(
                        format!(
                            "{key} `{shown}`: `{}` mixes scripts (its non-ASCII characters: {})",
                            escape_invisible(text),
                            odd.join(", ")
                        ),
                        Some(at),
                    )
                    .with_hint(
                        "a letter from another script that looks like a Latin one (Cyrillic а, \
                         Greek ο) makes an address that reads the same as another but is not; \
                         write each part in one script",
                    ),
                );
            }
        }
    }

    /// Warns when a user's userPrincipalName, or a domain, looks like another declared one's
    /// (equal UTS #39 skeletons, different keys): `аlice@` next to `alice@`, `exаmple.com`
    /// next to `example.com`.
    fn lookalikes(&mut self, seen: &mut Lookalikes, user: &User, mail: Option<&Spanned<String>>) {
        let skeleton = names::skeleton(&user.upn);
        match seen.users.get(&skeleton) {
            Some((first, first_at)) => {
                let mut d = Diagnostic::warning(
                    format!(
                        "user `{}` looks like user `{first}`: they differ only in characters \
                         that look alike",
                        escape_invisible(&user.upn)
                    ),
                    user.origin.clone(),
                )
                .with_hint(
                    "if they are two people, this is fine; if not, one of them is mistyped \
                     (a letter from another script, an invisible character)",
                );
                if let Some(o) = first_at {
                    d = d.with_note(o.clone(), "the other user");
                }
                self.report.push(d);
            }
            None => {
                seen.users
                    .insert(skeleton, (user.upn.clone(), user.origin.clone()));
            }
        }
        let domains = [Some(user.upn.as_str()), mail.map(|m| m.value.as_str())];
        for domain in domains.into_iter().flatten().filter_map(names::domain) {
            // A domain written the same way again finds what it found the first time (and a
            // pair is warned about once): nearly every user repeats one of a few domains.
            if seen.domain_texts.contains(domain) {
                continue;
            }
            seen.domain_texts.insert(domain.to_string());
            let key = match_key(domain);
            let (first, first_at) = seen
                .domains
                .entry(names::skeleton(domain))
                .or_insert_with(|| (key.clone(), user.origin.clone()))
                .clone();
            if first != key && seen.warned.insert((first.clone(), key.clone())) {
                let mut d = Diagnostic::warning(
                    format!(
                        "domain `{}` of `{}` looks like the domain `{first}` of another user",
                        escape_invisible(domain),
                        escape_invisible(&user.upn)
                    ),
                    user.origin.clone(),
                )
                .with_hint(
                    "a lookalike domain is someone else's: check that it is the one you mean",
                );
                if let Some(o) = first_at {
                    d = d.with_note(o, "a user of the other domain");
                }
                self.report.push(d);
            }
        }
    }

    fn user(&mut self, file: FileId, entry: &Spanned<raw::RawUser>) -> Option<User> {
        let r = &entry.value;
        let Some(upn) = &r.user_principal_name else {
            let at = Span::new(file, entry.range().start..entry.range().start);
            self.error(
                "user has no `userPrincipalName`",
                at,
                "every user needs `userPrincipalName: name@example.com`",
            );
            return None;
        };
        let upn_at = span(file, upn);
        let mut valid = true;
        // Asana's userName is an email address; RFC 7643's is any unique string, and a manager
        // is checked against the declared users either way.
        let emails_required = self.profile == Profile::Asana;
        if emails_required && !is_email(&upn.value) {
            self.error(
                format!("userPrincipalName `{}` is not an email address", upn.value),
                upn_at.clone(),
                "Asana's userName must be an email address, such as alice@example.com",
            );
            valid = false;
        }
        for (key, value) in [("mail", &r.mail), ("manager", &r.manager)] {
            if let Some(v) = value
                && (key == "mail" || emails_required)
                && !is_email(&v.value)
            {
                self.error(
                    format!("{key} `{}` is not an email address", v.value),
                    span(file, v),
                    match key {
                        "manager" => "name the manager by userPrincipalName",
                        _ => "write an address such as alice@example.com",
                    },
                );
                valid = false;
            }
        }
        let mut user = User::new(upn.value.clone());
        user.origin = Some(upn_at);
        let org = r.employee_org_data.as_ref().map(|o| &o.value);
        let fields = [
            (UserAttr::Mail, &r.mail),
            (UserAttr::DisplayName, &r.display_name),
            (UserAttr::GivenName, &r.given_name),
            (UserAttr::Surname, &r.surname),
            (UserAttr::JobTitle, &r.job_title),
            (UserAttr::Department, &r.department),
            (UserAttr::CompanyName, &r.company_name),
            (UserAttr::EmployeeId, &r.employee_id),
            (UserAttr::EmployeeType, &r.employee_type),
            (UserAttr::Division, org.map_or(&None, |o| &o.division)),
            (UserAttr::CostCenter, org.map_or(&None, |o| &o.cost_center)),
            (UserAttr::Manager, &r.manager),
            (UserAttr::City, &r.city),
            (UserAttr::State, &r.state),
            (UserAttr::Country, &r.country),
            (UserAttr::OfficeLocation, &r.office_location),
            (UserAttr::TelephoneNumber, &r.telephone_number),
            (UserAttr::MobilePhone, &r.mobile_phone),
            (UserAttr::PreferredLanguage, &r.preferred_language),
        ];
        let shortest_limit = targets::MAX_CHARS.min(targets::MAX_ADDRESS_CHARS);
        for (attr, value) in fields {
            if let Some(v) = value
                && v.value.len() > shortest_limit
            {
                (self.long_values.entry(user.key()).or_default())
                    .push((attr.name(), span(file, v)));
            }
            user.set(attr, value.as_ref().map(|v| v.value.clone()));
        }
        user.account_enabled = r.account_enabled.as_ref().is_none_or(|a| a.value);
        user.account_enabled_set = r.account_enabled.is_some();
        if let Some(roles) = &r.app_role_assignments {
            user.app_role_assignments = roles.value.clone();
        }
        if let Some(e) = &r.expires {
            user.expires = self.expiry(file, e);
            valid &= user.expires.is_some();
        }
        valid.then_some(user)
    }

    /// An `expires:` value: a real date, or an RFC 3339 timestamp; `None` (and an error where it
    /// is written) otherwise.
    fn expiry(&mut self, file: FileId, e: &Spanned<raw::RawExpiry>) -> Option<model::Expiry> {
        match model::Expiry::parse(&e.value.0) {
            Ok(expiry) => Some(expiry),
            Err(why) => {
                self.error(
                    format!("invalid `expires`: {why}"),
                    span(file, e),
                    "write a date such as `2026-03-31` (access through the end of that day, UTC) \
                     or a timestamp such as `2026-03-31T17:00:00+01:00`",
                );
                None
            }
        }
    }

    /// Every `manager` names a declared user, and no chain of managers loops.
    fn managers(
        &mut self,
        users: &[User],
        index: &HashMap<String, usize>,
        spans: &[Option<Span>],
        live: bool,
    ) {
        let manager_at = |i: usize| {
            spans[i]
                .clone()
                .or(users[i].origin.clone())
                .unwrap_or(Span::new(0, 0..0))
        };
        let manager_of = model::manager_indexes(users, index);
        for (i, u) in users.iter().enumerate() {
            if let Some(m) = u.manager()
                && manager_of[i].is_none()
                && !live
            {
                let at = manager_at(i);
                self.error(
                    format!("manager `{m}` of `{}` is not a declared user", u.upn),
                    at,
                    "declare the manager under users/, or correct the userPrincipalName",
                );
            }
        }
        for cycle in model::manager_cycles(&manager_of) {
            // A long cycle is named by its first few users, so that one diagnostic stays a
            // line long whatever the file holds.
            const SHOWN: usize = 5;
            let mut names: Vec<String> = cycle
                .iter()
                .take(SHOWN)
                .map(|&c| users[c].upn.clone())
                .collect();
            if cycle.len() > SHOWN {
                names.push(format!("… {} more", cycle.len() - SHOWN));
            }
            names.push(users[cycle[0]].upn.clone());
            let at = manager_at(cycle[0]);
            self.error(
                format!("manager cycle: {}", names.join(" → ")),
                at,
                "someone in this chain must have a different manager, or none",
            );
        }
    }

    fn groups(
        &mut self,
        files: &[(FileId, raw::RawGroupsFile)],
        users: &HashMap<String, usize>,
        users_incomplete: bool,
        live: bool,
    ) -> Vec<Group> {
        let mut groups: Vec<Group> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        for (file, f) in files {
            for entry in &f.groups {
                let g = &entry.value;
                let at = span(*file, &g.display_name);
                if g.display_name.value.trim().is_empty() {
                    self.error("group has an empty displayName", at, "name the team");
                    continue;
                }
                let key = g.display_name.value.to_lowercase();
                if let Some(&first) = index.get(&key) {
                    let mut d = Diagnostic::error(
                        format!("group `{}` is declared twice", g.display_name.value),
                        Some(at),
                    )
                    .with_hint("team names are unique, ignoring case: merge the two declarations");
                    if let Some(o) = &groups[first].origin {
                        d = d.with_note(o.clone(), "first declared here");
                    }
                    self.report.push(d);
                    continue;
                }
                let mut members: Vec<String> = Vec::new();
                let mut member_expires = std::collections::BTreeMap::new();
                let mut seen = HashMap::new();
                for m in &g.members {
                    let (upn, upn_at) = match &m.value {
                        raw::RawMember::Plain(upn) => (upn, span(*file, m)),
                        raw::RawMember::Expiring(e) => (&e.user.value, span(*file, &e.user)),
                    };
                    let key = match_key(upn);
                    if !users_incomplete && !live && !users.contains_key(&key) {
                        self.error(
                            format!(
                                "member `{upn}` of group `{}` is not a declared user",
                                g.display_name.value
                            ),
                            upn_at.clone(),
                            "declare the user under users/, or correct the userPrincipalName",
                        );
                    }
                    let expiry = match &m.value {
                        raw::RawMember::Expiring(e) => {
                            e.expires.as_ref().and_then(|x| self.expiry(*file, x))
                        }
                        raw::RawMember::Plain(_) => None,
                    };
                    if let Some(first) = seen.insert(key.clone(), upn_at.clone()) {
                        self.report.push(
                            Diagnostic::warning(
                                format!(
                                    "`{upn}` is listed twice in group `{}`",
                                    g.display_name.value
                                ),
                                Some(upn_at),
                            )
                            .with_note(first, "first listed here"),
                        );
                        continue;
                    }
                    if let Some(expiry) = expiry {
                        member_expires.insert(key, expiry);
                    }
                    members.push(upn.clone());
                }
                let member_rules: Vec<model::ScopingFilter> = (g.member_rules.iter())
                    .map(|f| self.filter(*file, f, "member rule"))
                    .collect();
                let mut exclude: Vec<String> = Vec::new();
                for x in &g.exclude {
                    if !users_incomplete && !live && !users.contains_key(&match_key(&x.value)) {
                        self.error(
                            format!(
                                "`{}` in `exclude` of group `{}` is not a declared user",
                                x.value, g.display_name.value
                            ),
                            span(*file, x),
                            "declare the user under users/, or correct the userPrincipalName",
                        );
                    }
                    if members.iter().any(|m| match_key(m) == match_key(&x.value)) {
                        self.report.push(
                            Diagnostic::warning(
                                format!(
                                    "`{}` is both in `members` and in `exclude` of group `{}`: \
                                     it is not a member",
                                    x.value, g.display_name.value
                                ),
                                Some(span(*file, x)),
                            )
                            .with_hint("exclude wins: remove the user from one of the lists"),
                        );
                    }
                    exclude.push(x.value.clone());
                }
                index.insert(key, groups.len());
                groups.push(Group {
                    display_name: g.display_name.value.clone(),
                    members,
                    member_rules,
                    exclude,
                    member_expires,
                    origin: Some(at),
                });
            }
        }
        groups
    }
}

/// A raw enum (what the YAML says) into its model enum (what it means), one variant to one:
/// each raw value is turned into its model value here and nowhere else, and a variant added
/// to the YAML does not compile until it is given its meaning here.
macro_rules! raw_to_model {
    ($name:ident, [$($variant:ident),+ $(,)?]) => {
        impl From<raw::$name> for model::$name {
            fn from(v: raw::$name) -> Self {
                match v {
                    $(raw::$name::$variant => model::$name::$variant,)+
                }
            }
        }
    };
}

raw_to_model!(Profile, [Asana, Generic]);
raw_to_model!(Apply, [Always, OnCreate]);
raw_to_model!(Unmanaged, [Ignore, Report, Deprovision]);
raw_to_model!(DeprovisionWith, [Deactivate, Delete]);
raw_to_model!(UnsetAttributes, [Clear, Keep]);
raw_to_model!(EntraScope, [Assigned, All]);
raw_to_model!(GroupMembers, [Direct, Transitive]);
raw_to_model!(EntraMode, [Seed, Live]);

/// ` for users with employeeType EQUALS "Contractor"`, or nothing for a rule on every user.
fn describe_when(when: Option<&model::ScopingFilter>) -> String {
    match when {
        Some(w) => {
            let clauses: Vec<String> = w.clauses.iter().map(|c| c.describe()).collect();
            format!(" of users with {}", clauses.join(" AND "))
        }
        None => String::new(),
    }
}

fn self_text(report: &Report, file: FileId) -> &str {
    report.sources.text(file)
}

/// What [`Validator::lookalikes`] has seen: declared users and domains by skeleton, and the
/// domain pairs already warned about.
#[derive(Default)]
struct Lookalikes {
    users: HashMap<String, (String, Option<Span>)>,
    domains: HashMap<String, (String, Option<Span>)>,
    /// Domains as written, each looked at once.
    domain_texts: crate::hash::HashSet<String>,
    warned: crate::hash::HashSet<(String, String)>,
}

/// A name with its invisible characters written as `\u{200B}`, so a message shows them.
fn escape_invisible(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if !names::is_invisible(c) {
            out.push(c);
        } else {
            out.push_str(&format!("\\u{{{:04X}}}", c as u32));
        }
    }
    out
}

/// What to do about an expression that failed for a user.
fn expression_hint(reason: &str) -> String {
    if reason.contains("the most an expression value may hold")
        || reason.contains("the most one evaluation may take")
    {
        format!(
            "an expression value may hold at most {} KiB and one evaluation take at most {} \
             steps; an expression that grows its input (nested Replace, Append, Join) past \
             that is refused rather than built",
            expr::MAX_VALUE_BYTES / 1024,
            expr::MAX_STEPS
        )
    } else {
        "fix the user's attributes or the expression".to_string()
    }
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    User,
    Group,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::User => "user",
            Kind::Group => "group",
        }
    }
    fn targets(self, profile: Profile) -> &'static [TargetDef] {
        match self {
            Kind::User => targets::user_targets(profile),
            Kind::Group => targets::GROUP_TARGETS,
        }
    }
    fn sources(self) -> Box<dyn Iterator<Item = &'static str>> {
        match self {
            Kind::User => Box::new(model::user_source_names()),
            Kind::Group => Box::new(model::GROUP_SOURCES.into_iter()),
        }
    }
    fn match_target(self) -> &'static str {
        match self {
            Kind::User => "userName",
            Kind::Group => "displayName",
        }
    }
    fn match_source(self) -> &'static str {
        match self {
            Kind::User => "userPrincipalName",
            Kind::Group => "displayName",
        }
    }
}

/// A likely intended target: a typo of a path, or a path ending in the given name
/// (`department` for the enterprise extension's department).
fn suggest_target(name: &str, targets: &[TargetDef]) -> Option<&'static str> {
    did_you_mean(name, targets.iter().map(|t| t.path)).or_else(|| {
        targets
            .iter()
            .find(|t| {
                t.path
                    .rsplit([':', '.'])
                    .next()
                    .is_some_and(|last| last.eq_ignore_ascii_case(name))
            })
            .map(|t| t.path)
    })
}

/// Targets listed compactly, with the enterprise extension's URN written once.
fn target_list(targets: &[TargetDef]) -> String {
    let prefix = format!("{}:", crate::scim::ENTERPRISE_USER);
    let (ext, core): (Vec<_>, Vec<_>) = targets
        .iter()
        .map(|t| t.path)
        .partition(|p| p.starts_with(&prefix));
    let mut out = core.join(", ");
    if !ext.is_empty() {
        let names: Vec<&str> = ext.iter().map(|p| &p[prefix.len()..]).collect();
        out.push_str(&format!(
            "; enterprise extension `{prefix}…`: {}",
            names.join(", ")
        ));
    }
    out
}

/// A plausible email address: one `@`, a non-empty local part without spaces, a dotted domain.
pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    if s.is_ascii() {
        // Nearly every address: the same checks, byte by byte.
        is_email_part(local.as_bytes(), domain.as_bytes())
    } else {
        is_email_chars(local, domain)
    }
}

/// [`is_email`]'s checks of a local part and domain, character by character.
fn is_email_chars(local: &str, domain: &str) -> bool {
    let domain_ok = domain.contains('.')
        && domain.split('.').all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        });
    let local_ok = !local.is_empty()
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && (local.chars()).all(|c| !c.is_whitespace() && !c.is_control() && !is_email_special(c));
    local_ok && domain_ok
}

/// [`is_email`]'s checks of an ASCII local part and domain.
fn is_email_part(local: &[u8], domain: &[u8]) -> bool {
    let label_ok = |label: &[u8]| {
        !label.is_empty()
            && label.first() != Some(&b'-')
            && label.last() != Some(&b'-')
            && label
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || b == b'-')
    };
    let local_ok = !local.is_empty()
        && local.first() != Some(&b'.')
        && local.last() != Some(&b'.')
        && !local.windows(2).any(|w| w == b"..")
        && (local.iter()).all(|&b| b.is_ascii_graphic() && !is_email_special(char::from(b)));
    local_ok && domain.contains(&b'.') && domain.split(|&b| b == b'.').all(label_ok)
}

/// Characters an unquoted local part cannot hold.
fn is_email_special(c: char) -> bool {
    matches!(
        c,
        '@' | '<' | '>' | '(' | ')' | '[' | ']' | '\\' | ',' | ';' | ':' | '"'
    )
}

fn is_env_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A GUID as Entra writes ids: 8-4-4-4-12 hexadecimal digits.
pub fn is_guid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

/// A DNS name with at least two labels (`contoso.onmicrosoft.com`).
fn is_domain(s: &str) -> bool {
    s.contains('.')
        && s.split('.').all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

/// Asana's SCIM host: the only one `profile: asana` sends its token to, loopback aside.
pub const ASANA_HOST: &str = "app.asana.com";

/// For `profile: asana`, the URL's host is [`ASANA_HOST`] or loopback (the emulator); any host
/// for `generic`.
pub fn check_profile_url(profile: Profile, url: &str) -> Result<(), String> {
    if profile == Profile::Generic {
        return Ok(());
    }
    let parsed = url::Url::parse(url).map_err(|e| format!("`{url}` is not a URL ({e})"))?;
    match parsed.host_str() {
        Some(h) if is_loopback(&parsed) || h.eq_ignore_ascii_case(ASANA_HOST) => Ok(()),
        host => Err(format!(
            "`profile: asana` refuses the host `{}`: Asana's SCIM API is on {ASANA_HOST}",
            host.unwrap_or_default()
        )),
    }
}

/// Variables roster knows hold no secret it may send (a target's token, the Entra client
/// secret), by exact name (compared ignoring case): the shell's and the system's, CI markers,
/// other tools' tokens, proxies, and roster's own settings.
pub const NOT_TOKEN_VARIABLES: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "PWD",
    "OLDPWD",
    "HOSTNAME",
    "TERM",
    "LANG",
    "LANGUAGE",
    "TZ",
    "TMPDIR",
    "TMP",
    "TEMP",
    "EDITOR",
    "VISUAL",
    "PAGER",
    "MAIL",
    "DISPLAY",
    "SHLVL",
    "IFS",
    "CI",
    "GH_TOKEN",
    "GH_ENTERPRISE_TOKEN",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "NO_COLOR",
    "ROSTER_TARGET_URL",
    "ROSTER_ASANA_URL",
    "ROSTER_ENTRA_LOGIN_URL",
    "ROSTER_ENTRA_GRAPH_URL",
];

/// Prefixes of variables that belong to a CI runner, a cloud provider, a package manager or
/// the system (compared ignoring case): `GITHUB_TOKEN`, `ACTIONS_RUNTIME_TOKEN`,
/// `AWS_SECRET_ACCESS_KEY`, `CARGO_REGISTRY_TOKEN` are credentials for something else. A
/// target's token is also refused `ENTRA_*` ([`refused_token_env`]).
pub const NOT_TOKEN_PREFIXES: &[&str] = &[
    "GITHUB_",
    "ACTIONS_",
    "RUNNER_",
    "CI_",
    "AWS_",
    "AZURE_",
    "ARM_",
    "GOOGLE_",
    "GCP_",
    "CLOUDSDK_",
    "CARGO_",
    "SSH_",
    "LC_",
    "XDG_",
    "LD_",
    "DYLD_",
];

/// Why a variable cannot hold a secret roster sends, or `None`: a name in
/// [`NOT_TOKEN_VARIABLES`] or one starting with a [`NOT_TOKEN_PREFIXES`] prefix.
fn refused_secret_env(upper: &str) -> Option<String> {
    if NOT_TOKEN_VARIABLES.contains(&upper) {
        return Some("is a system, CI or roster variable".into());
    }
    NOT_TOKEN_PREFIXES
        .iter()
        .find(|p| upper.starts_with(*p))
        .map(|p| format!("belongs to another system (`{p}*`)"))
}

/// Why a `token_env` cannot hold the target's token, or `None` when it can: what
/// [`refused_secret_env`] refuses, a name starting with `ENTRA_`, or the variable of the Entra
/// client secret (`entra.client_secret_env`, `ENTRA_CLIENT_SECRET` by default). A pull
/// request that renames `token_env` must not make roster send another secret as its bearer
/// token.
pub fn refused_token_env(name: &str, entra_secret_env: Option<&str>) -> Option<String> {
    let upper = name.to_ascii_uppercase();
    let secret = entra_secret_env.unwrap_or(model::DEFAULT_ENTRA_SECRET_ENV);
    if upper == secret.to_ascii_uppercase()
        || upper == model::DEFAULT_ENTRA_SECRET_ENV.to_ascii_uppercase()
    {
        return Some("holds the Entra client secret".into());
    }
    if upper.starts_with("ENTRA_") {
        return Some("belongs to another system (`ENTRA_*`)".into());
    }
    refused_secret_env(&upper)
}

/// Why an `entra.client_secret_env` cannot hold the Entra client secret, or `None` when it
/// can: what [`refused_secret_env`] refuses, or a target token's variable (`token_env`, and
/// `ASANA_TOKEN` and `SCIM_TOKEN`, the profiles' defaults). Its value is sent to the sign-in
/// host: a pull request that renames the variable must not make roster send another secret
/// there.
pub fn refused_client_secret_env(name: &str, token_env: &str) -> Option<String> {
    let upper = name.to_ascii_uppercase();
    let tokens = [
        token_env,
        Profile::Asana.default_token_env(),
        Profile::Generic.default_token_env(),
    ];
    if tokens.iter().any(|t| t.eq_ignore_ascii_case(&upper)) {
        return Some("holds the target's token".into());
    }
    refused_secret_env(&upper)
}

/// Maps an index into a decoded YAML scalar to a byte offset in the file, for scalars written
/// plain, single-quoted or double-quoted on one line. Block scalars point at their start.
fn scalar_offset(text: &str, node_start: usize, index: usize) -> usize {
    let raw = &text[node_start.min(text.len())..];
    let mut chars = raw.char_indices().peekable();
    let quote = match raw.chars().next() {
        Some(q @ ('\'' | '"')) => {
            chars.next();
            Some(q)
        }
        Some('|' | '>') => return node_start,
        _ => None,
    };
    let mut decoded = 0;
    while let Some((i, c)) = chars.next() {
        if decoded >= index {
            return node_start + i;
        }
        match (quote, c) {
            (Some('\''), '\'') if matches!(chars.peek(), Some((_, '\''))) => {
                chars.next();
            }
            (Some('"'), '\\') => {
                chars.next();
            }
            (Some(q), c) if c == q => return node_start + i,
            (_, '\n') => return node_start + i,
            _ => {}
        }
        decoded += c.len_utf8();
    }
    text.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_addresses_are_checked_byte_by_byte_as_by_character() {
        let alphabet = ['a', '.', '-', '@', ' ', '1', '"', '\t', '\x7f'];
        let mut texts = vec![String::new()];
        for _ in 0..5 {
            let longer: Vec<String> = (texts.iter())
                .flat_map(|t| alphabet.iter().map(move |c| format!("{t}{c}")))
                .collect();
            for t in &longer {
                let (local, domain) = t.split_once('@').unwrap_or((t, ""));
                assert_eq!(
                    is_email_part(local.as_bytes(), domain.as_bytes()),
                    is_email_chars(local, domain),
                    "{t:?}"
                );
            }
            texts = longer;
        }
    }

    #[test]
    fn emails() {
        for ok in ["a@b.co", "first.last+tag@sub.example.com", "o'neil@x.io"] {
            assert!(is_email(ok), "{ok}");
        }
        for bad in [
            "", "a", "a@b", "@b.co", "a@@b.co", "a b@c.io", "a@b..co", ".a@b.co", "a@-b.co",
            "a@b.co ",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
    }

    #[test]
    fn guids_and_domains() {
        assert!(is_guid("00000000-0000-0000-0000-000000000000"));
        assert!(is_guid("6A1b2c3d-4e5f-4a1b-9c2d-3e4f5a6b7c8d"));
        for bad in [
            "",
            "00000000-0000-0000-0000-00000000000",
            "00000000000000000000000000000000",
            "0000000g-0000-0000-0000-000000000000",
            "{00000000-0000-0000-0000-000000000000}",
        ] {
            assert!(!is_guid(bad), "{bad}");
        }
        assert!(is_domain("contoso.onmicrosoft.com"));
        assert!(!is_domain("contoso") && !is_domain("a..b") && !is_domain("a b.c"));
        assert!(check_base_url("https://graph.microsoft.us").is_ok());
        assert!(check_base_url("https://graph.microsoft.com/?x=1").is_err());
    }

    #[test]
    fn profile_asana_sends_only_to_asana_or_loopback() {
        for ok in [
            "https://app.asana.com/api/1.0/scim",
            "https://APP.ASANA.COM/api/1.0/scim",
            "http://127.0.0.1:4000/api/1.0/scim",
            "http://localhost/x",
            "http://[::1]:9/x",
        ] {
            assert!(check_profile_url(Profile::Asana, ok).is_ok(), "{ok}");
        }
        for bad in [
            "https://evil.example.com/api/1.0/scim",
            "https://app.asana.com.evil.example/api/1.0/scim",
            "https://app.asana.com@evil.example/api/1.0/scim",
            "https://asana.com/api/1.0/scim",
        ] {
            assert!(check_profile_url(Profile::Asana, bad).is_err(), "{bad}");
            assert!(check_profile_url(Profile::Generic, bad).is_ok(), "{bad}");
        }
    }

    #[test]
    fn requests_per_minute_is_the_budget_within_what_the_target_allows() {
        let budget = |settings: &str| {
            let (config, report) = crate::config::from_texts(settings, &[], &[]);
            let messages: Vec<String> = report
                .diagnostics
                .iter()
                .map(|d| d.message.clone())
                .collect();
            (
                config.map(|c| c.settings.target.requests_per_minute),
                messages,
            )
        };
        assert_eq!(budget("version: 1\n"), (Some(1500), vec![]));
        assert_eq!(
            budget("version: 1\nasana:\n  requests_per_minute: 600\n"),
            (Some(600), vec![])
        );
        assert_eq!(
            budget(
                "version: 1\ntarget:\n  profile: generic\n  url: https://scim.example.com\n  \
                 requests_per_minute: 6000\n"
            ),
            (Some(6000), vec![])
        );
        let (config, messages) = budget("version: 1\nasana:\n  requests_per_minute: 0\n");
        assert!(config.is_none());
        assert_eq!(
            messages,
            ["requests_per_minute is 0: roster could send nothing"]
        );
        let (config, messages) =
            budget("version: 1\ntarget:\n  profile: asana\n  requests_per_minute: 2000\n");
        assert!(config.is_none());
        assert_eq!(
            messages,
            ["requests_per_minute is 2000, more than Asana allows a token (1500 a minute)"]
        );
    }

    #[test]
    fn token_env_may_not_name_a_variable_that_holds_something_else() {
        for refused in [
            "PATH",
            "path",
            "HOME",
            "USER",
            "SHELL",
            "PWD",
            "CI",
            "GITHUB_TOKEN",
            "GH_TOKEN",
            "ACTIONS_RUNTIME_TOKEN",
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
            "RUNNER_TEMP",
            "AWS_SECRET_ACCESS_KEY",
            "AZURE_CLIENT_SECRET",
            "CARGO_REGISTRY_TOKEN",
            "ENTRA_CLIENT_SECRET",
            "ROSTER_TARGET_URL",
        ] {
            assert!(refused_token_env(refused, None).is_some(), "{refused}");
        }
        assert!(refused_token_env("GRAPH_SECRET", Some("GRAPH_SECRET")).is_some());
        for ok in [
            "ASANA_TOKEN",
            "SCIM_TOKEN",
            "ROSTER_TEST_TOKEN",
            "MY_ASANA_PAT",
        ] {
            assert_eq!(refused_token_env(ok, Some("GRAPH_SECRET")), None, "{ok}");
        }
    }

    #[test]
    fn client_secret_env_may_not_name_a_variable_that_holds_something_else() {
        for refused in [
            "PATH",
            "HOME",
            "GITHUB_TOKEN",
            "github_token",
            "AWS_SECRET_ACCESS_KEY",
            "AZURE_CLIENT_SECRET",
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
            "ROSTER_ENTRA_LOGIN_URL",
            "ASANA_TOKEN",
            "SCIM_TOKEN",
            "MY_SCIM_PAT",
            "my_scim_pat",
        ] {
            assert!(
                refused_client_secret_env(refused, "MY_SCIM_PAT").is_some(),
                "{refused}"
            );
        }
        for ok in [
            "ENTRA_CLIENT_SECRET",
            "ENTRA_SECRET_PROD",
            "GRAPH_APP_SECRET",
        ] {
            assert_eq!(refused_client_secret_env(ok, "ASANA_TOKEN"), None, "{ok}");
        }
        // A target's token is still refused every ENTRA_ name.
        assert!(refused_token_env("ENTRA_SECRET_PROD", None).is_some());
    }

    #[test]
    fn scalar_offsets_follow_quoting() {
        let text = r#"e: 'It''s [x]'"#;
        let start = 3;
        // decoded: It's [x]  → `[` is at index 5, in the file at 3 + 1 + 6.
        assert_eq!(&text[scalar_offset(text, start, 5)..][..1], "[");
        let text = r#"e: "a\"b[x]""#;
        assert_eq!(&text[scalar_offset(text, 3, 3)..][..1], "[");
        let text = "e: Left([x], 2)";
        assert_eq!(&text[scalar_offset(text, 3, 5)..][..1], "[");
    }
}

#[cfg(test)]
mod policy_rule_tests {
    use crate::config::parse;
    use crate::diagnostics::Report;

    /// 2026-06-01T00:00:00Z.
    const AT: i64 = 1_780_272_000;

    /// The errors validating the files at [`AT`] gives, as messages.
    fn errors(rules: &str, users: &str, groups: &str) -> Vec<String> {
        let settings = format!("version: 1\npolicy:\n  rules:\n{rules}");
        let mut report = Report::default();
        let groups: Vec<(&str, &str)> = match groups {
            "" => vec![],
            g => vec![("groups/g.yaml", g)],
        };
        let raw = parse::from_texts(&settings, &[("users/u.yaml", users)], &groups, &mut report);
        let config = super::validate_at(raw, std::path::Path::new("."), Some(AT), &mut report);
        let errors: Vec<String> = (report.diagnostics.iter())
            .filter(|d| d.severity == crate::diagnostics::Severity::Error)
            .map(|d| d.message.clone())
            .collect();
        assert_eq!(config.is_some(), errors.is_empty(), "{errors:?}");
        errors
    }

    const USERS: &str = "users:
  - { userPrincipalName: ada@example.com, jobTitle: Engineer, department: Eng, employeeType: Employee }
  - { userPrincipalName: bob@example.com, mail: bob@example.com, employeeType: Contractor, expires: 2026-09-01 }
  - { userPrincipalName: off@elsewhere.example, accountEnabled: false }
  - { userPrincipalName: old@elsewhere.example, expires: 2026-01-01, employeeType: Contractor }
";

    /// `(rules, users, groups, expected errors)`: each rule passing and failing. Disabled and
    /// expired users are not checked.
    #[test]
    fn each_policy_rule_passes_and_fails() {
        let team = "groups:\n  - displayName: T\n    members: [ada@example.com]\n    member_rules: [{ clauses: [{ attribute: employeeType, operator: IS NOT NULL }] }]\n";
        let cases: &[(&str, &str, &str, &[&str])] = &[
            ("    - allowed_domains: [Example.com]\n", USERS, "", &[]),
            (
                "    - allowed_domains: [example.org]\n",
                USERS,
                "",
                &[
                    "user `ada@example.com`: userPrincipalName `ada@example.com` is not in an allowed domain",
                    "user `bob@example.com`: userPrincipalName `bob@example.com` is not in an allowed domain",
                    "user `bob@example.com`: mail `bob@example.com` is not in an allowed domain",
                ],
            ),
            // A subdomain is not the domain.
            (
                "    - allowed_domains: [example.com]\n",
                "users:\n  - { userPrincipalName: a@mail.example.com }\n",
                "",
                &[
                    "user `a@mail.example.com`: userPrincipalName `a@mail.example.com` is not in an allowed domain",
                ],
            ),
            ("    - required: [employeeType]\n", USERS, "", &[]),
            (
                "    - required: [jobTitle, department]\n",
                USERS,
                "",
                &[
                    "user `bob@example.com` has no `jobTitle` or `department`, which policy.rules requires",
                ],
            ),
            (
                "    - required: [jobTitle, manager]\n      when: [{ attribute: employeeType, operator: EQUALS, value: Employee }]\n",
                USERS,
                "",
                &[
                    "user `ada@example.com` has no `manager`, which policy.rules requires of users with employeeType EQUALS \"Employee\"",
                ],
            ),
            (
                "    - expiry_required: { when: [{ attribute: employeeType, operator: EQUALS, value: Contractor }], max_days: 180 }\n",
                USERS,
                "",
                &[],
            ),
            (
                "    - expiry_required: { when: [{ attribute: employeeType, operator: EQUALS, value: Contractor }], max_days: 60 }\n",
                USERS,
                "",
                &[
                    "user `bob@example.com` expires 2026-09-01, more than the 60 days policy.rules allows",
                ],
            ),
            (
                "    - expiry_required: {}\n",
                USERS,
                "",
                &["user `ada@example.com` has no `expires`, which policy.rules requires"],
            ),
            ("    - max_team_size: 2\n", USERS, team, &[]),
            (
                "    - max_team_size: 1\n",
                USERS,
                team,
                &["team `T` has 2 members, more than the 1 policy.rules allows"],
            ),
        ];
        for (rules, users, groups, want) in cases {
            assert_eq!(errors(rules, users, groups), *want, "{rules}");
        }
    }

    #[test]
    fn a_user_both_listed_and_excluded_is_a_warning() {
        let mut report = Report::default();
        let raw = parse::from_texts(
            "version: 1\n",
            &[("users/u.yaml", "users:\n  - userPrincipalName: a@x.io\n")],
            &[(
                "groups/g.yaml",
                "groups:\n  - displayName: T\n    members: [a@x.io]\n    exclude: [A@x.io]\n",
            )],
            &mut report,
        );
        assert!(
            super::validate_at(raw, std::path::Path::new("."), Some(AT), &mut report).is_some()
        );
        let warnings: Vec<&str> = (report.diagnostics.iter())
            .filter(|d| d.severity == crate::diagnostics::Severity::Warning)
            .map(|d| d.message.as_str())
            .collect();
        assert_eq!(
            warnings,
            ["`A@x.io` is both in `members` and in `exclude` of group `T`: it is not a member"]
        );
    }

    #[test]
    fn bad_policy_rules_are_located_errors() {
        let cases: &[(&str, &str)] = &[
            (
                "    - required: [jobtitle]\n",
                "unknown user attribute `jobtitle` in a policy rule",
            ),
            (
                "    - required: [jobTitle]\n      when: [{ attribute: employeeType, operator: LIKE, value: x }]\n",
                "unknown operator `LIKE` in a policy rule",
            ),
            (
                "    - expiry_required: { when: [{ attribute: manager, operator: IS NULL }] }\n",
                "`manager` cannot be used in a policy rule",
            ),
            (
                "    - expiry_required: { when: [{ attribute: employeeId, operator: Greater_Than, value: x }] }\n",
                "`Greater_Than` compares integers, and `x` is not one",
            ),
            (
                "    - allowed_domains: ['not a domain']\n",
                "`not a domain` is not a domain",
            ),
            (
                "    - max_team_size: 0\n",
                "max_team_size must be at least 1",
            ),
            (
                "    - expiry_required: { max_days: 0 }\n",
                "max_days must be at least 1",
            ),
            (
                "    - max_team_size: 3\n      when: [{ attribute: department, operator: IS NULL }]\n",
                "`when` here goes with `required`",
            ),
        ];
        for (rules, want) in cases {
            assert_eq!(errors(rules, "users: []\n", ""), [*want], "{rules}");
        }
    }
}
