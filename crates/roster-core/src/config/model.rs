//! The validated model: what the config directory means once every check passed.
//!
//! Everything here is resolved and consistent: user keys are unique, every
//! `manager` and group member names a declared user, mappings are parsed.
//! Nothing here does IO.
//!
//! A leaf: the model names no raw YAML type (stage two converts them, [`super::validate`]),
//! no part that works on it (`mapping` evaluates its mappings, `filter` its scoping
//! filters and member rules, `teams` who is in a team) and no wire format (`wire` has its own types, with their own serde names). It
//! names only the vocabulary beneath it: spans, the expression language, how names compare.

use crate::hash::HashMap;
use std::path::PathBuf;

use crate::civil_time;
use crate::diagnostics::Span;
use crate::expr;
use crate::names::match_key;

/// What roster assumes about the SCIM server (`target.profile`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Profile {
    /// Asana's documented SCIM API.
    #[default]
    Asana,
    /// Any SCIM 2.0 server (RFC 7643/7644).
    Generic,
}

/// When a mapping flows (`apply:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Apply {
    /// On create and on every update.
    Always,
    /// Only when the object is created.
    OnCreate,
}

/// What happens to a mapped target attribute with a live value whose mapping yields nothing
/// (`policy.unset_attributes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnsetAttributes {
    /// The plan removes the value.
    Clear,
    /// The value stays (Entra's behaviour).
    Keep,
}

/// What happens to live users no declaration matches (`policy.unmanaged`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unmanaged {
    /// Leave them alone and say nothing.
    Ignore,
    /// List them in plans and drift reports.
    Report,
    /// Deprovision them (gated by `max_deprovisions` and `protected`).
    Deprovision,
}

/// How a user is deprovisioned (`policy.deprovision_with`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeprovisionWith {
    /// PATCH `active: false`.
    Deactivate,
    /// DELETE /Users/{id}.
    Delete,
}

/// Which users Entra considers for provisioning (`entra.scope`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntraScope {
    /// Users assigned to the app, directly or through an assigned group.
    Assigned,
    /// Every user in the tenant.
    All,
}

/// Which members of an assigned group are assigned (`entra.group_members`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupMembers {
    /// Direct members only, as Entra provisions.
    Direct,
    /// Members of nested groups too.
    Transitive,
}

/// How Entra's users reach the target (`entra.mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntraMode {
    /// `roster import entra` writes YAML declarations; plan and apply read only the YAML.
    Seed,
    /// plan, apply and drift read Entra each run and merge it with the YAML (YAML wins).
    Live,
}

/// Default SCIM base URL of Asana.
pub const DEFAULT_ASANA_URL: &str = "https://app.asana.com/api/1.0/scim";
/// Default environment variable holding the Asana token.
pub const DEFAULT_TOKEN_ENV: &str = "ASANA_TOKEN";
/// Default environment variable holding the token of a generic SCIM server.
pub const DEFAULT_GENERIC_TOKEN_ENV: &str = "SCIM_TOKEN";

impl Profile {
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Asana => "asana",
            Profile::Generic => "generic",
        }
    }

    /// The base URL when the config names none: Asana's; a generic server has no default.
    pub fn default_url(self) -> Option<&'static str> {
        match self {
            Profile::Asana => Some(DEFAULT_ASANA_URL),
            Profile::Generic => None,
        }
    }

    pub fn default_token_env(self) -> &'static str {
        match self {
            Profile::Asana => DEFAULT_TOKEN_ENV,
            Profile::Generic => DEFAULT_GENERIC_TOKEN_ENV,
        }
    }

    /// The target in the middle of a sentence ("nothing was sent to Asana").
    pub fn target_name(self) -> &'static str {
        match self {
            Profile::Asana => "Asana",
            Profile::Generic => "the SCIM server",
        }
    }

    /// The target at the start of a sentence.
    pub fn target_name_capitalized(self) -> &'static str {
        match self {
            Profile::Asana => "Asana",
            Profile::Generic => "The SCIM server",
        }
    }
}
/// Default sign-in host of Entra ID (the global cloud).
pub const DEFAULT_ENTRA_LOGIN_URL: &str = "https://login.microsoftonline.com";
/// Default Microsoft Graph host (the global cloud).
pub const DEFAULT_ENTRA_GRAPH_URL: &str = "https://graph.microsoft.com";
/// Default environment variable holding the Entra client secret.
pub const DEFAULT_ENTRA_SECRET_ENV: &str = "ENTRA_CLIENT_SECRET";

/// The whole config directory.
#[derive(Debug)]
pub struct Config {
    pub dir: PathBuf,
    pub settings: Settings,
    pub users: Vec<User>,
    pub groups: Vec<Group>,
    /// Index of `users` by lowercased userPrincipalName.
    pub user_index: HashMap<String, usize>,
    /// Where users and groups came from when Entra was merged in live mode; `None` when the
    /// config is the YAML alone.
    pub provenance: Option<Provenance>,
}

impl Config {
    pub fn user(&self, upn: &str) -> Option<&User> {
        self.user_index
            .get(&match_key(upn))
            .map(|&i| &self.users[i])
    }

    /// Why a declared user is deprovisioned, for the plan.
    pub fn deprovision_reason(&self, user: &User) -> String {
        let entra = self
            .provenance
            .as_ref()
            .and_then(|p| p.users.get(&user.key()));
        match entra {
            Some(p) if !user.in_scope => format!(
                "IsSoftDeleted: {}",
                p.out_of_scope.as_deref().unwrap_or("out of scope in Entra")
            ),
            Some(p) if p.from_entra.contains("accountEnabled") => {
                "IsSoftDeleted: disabled in Entra (accountEnabled is false)".into()
            }
            _ => "accountEnabled is false".into(),
        }
    }
}

/// Where an object's values came from, in live mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Read from Entra; no YAML declares it.
    Entra,
    /// Declared in YAML only.
    Yaml,
    /// Read from Entra and declared in YAML: the YAML's values win.
    Both,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Entra => "entra",
            Origin::Yaml => "yaml",
            Origin::Both => "entra+yaml",
        }
    }
}

/// Provenance of a merged config (Entra read live, then the YAML laid over it).
#[derive(Debug, Clone, Default)]
pub struct Provenance {
    /// By user key.
    pub users: HashMap<String, UserProvenance>,
    /// By group key (lowercased displayName).
    pub groups: HashMap<String, Origin>,
}

/// Where one user's values came from.
#[derive(Debug, Clone)]
pub struct UserProvenance {
    pub origin: Origin,
    /// The user's Entra object id.
    pub entra_id: String,
    /// Source attributes whose value came from Entra (`jobTitle`, `accountEnabled`, …); the
    /// others came from the YAML.
    pub from_entra: std::collections::BTreeSet<&'static str>,
    /// Why Entra would not provision the user (not assigned, filtered out, deleted), when so.
    pub out_of_scope: Option<String>,
}

#[derive(Debug)]
pub struct Settings {
    pub target: TargetSettings,
    pub user_mappings: Vec<Mapping>,
    pub group_mappings: Vec<Mapping>,
    pub policy: Policy,
    /// Entra ID as a source, when configured.
    pub entra: Option<EntraSettings>,
}

/// `entra:` in roster.yaml, validated.
#[derive(Debug, Clone)]
pub struct EntraSettings {
    pub tenant_id: String,
    pub client_id: String,
    pub client_secret_env: String,
    pub service_principal_id: String,
    pub scope: EntraScope,
    pub group_members: GroupMembers,
    pub scoping_filters: Vec<ScopingFilter>,
    pub mode: EntraMode,
    /// Without a trailing slash.
    pub login_url: String,
    /// Without a trailing slash.
    pub graph_url: String,
    /// Whether roster.yaml writes `login_url` / `graph_url` (else they are the defaults). A
    /// URL pinned by the environment may replace a default, never a written URL that differs.
    pub login_url_written: bool,
    pub graph_url_written: bool,
}

/// A validated attribute mapping, in Entra's model: a target SCIM attribute and exactly one of
/// a direct source attribute, a constant or an expression. `mapping` evaluates it.
#[derive(Debug)]
pub struct Mapping {
    pub target: &'static TargetDef,
    pub source: MappingSource,
    /// Matching precedence: lowest first; `None` when not used for matching.
    pub match_priority: Option<u32>,
    pub apply: Apply,
    /// Used on create when the value is null.
    pub default: Option<String>,
    /// Where the mapping is written; `None` for built-in defaults.
    pub origin: Option<Span>,
}

#[derive(Debug)]
pub enum MappingSource {
    Direct(String),
    Constant(String),
    Expression {
        expr: Box<expr::Expr>,
        text: String,
        /// The YAML scalar the expression is written in; `None` for built-in mappings.
        at: Option<Span>,
    },
}

/// How a target attribute's value is typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    String,
    Boolean,
    /// A single user reference (`manager`).
    UserRef,
    /// User references (group `members`).
    UserRefs,
}

/// A target attribute roster knows; the catalogue of each profile is `mapping::targets`.
#[derive(Debug, PartialEq, Eq)]
pub struct TargetDef {
    pub path: &'static str,
    pub kind: TargetKind,
    /// The target can be used for matching (the server filters on it).
    pub filterable: bool,
    /// The target may be sent on update (Asana refuses `name.givenName`/`familyName` on PATCH).
    pub updatable: bool,
    /// The longest string roster sends to it, in characters; validation refuses longer mapped
    /// values, and the emulator answers them with 400 (README, "Value lengths").
    pub max_chars: usize,
}

/// A filter in Entra's clause model: true when every clause is. An Entra scoping filter
/// (`entra.scoping_filters[]`), a team's member rule (`member_rules[]`) or a policy rule's
/// `when:`. Evaluated by `filter`.
#[derive(Debug, Clone)]
pub struct ScopingFilter {
    /// Entra's "Scoping Filter Title", for messages.
    pub name: Option<String>,
    pub clauses: Vec<Clause>,
}

/// One condition on one single-valued source attribute, checked and compiled.
#[derive(Debug, Clone)]
pub struct Clause {
    /// The source attribute (`department`, `accountEnabled`, …).
    pub attribute: &'static str,
    pub operator: Operator,
    /// The value to compare with; `None` for the unary operators.
    pub value: Option<String>,
    operand: Operand,
}

/// A clause's value as its operator compares it.
#[derive(Debug, Clone)]
pub enum Operand {
    /// Compared as text, or no value (the unary operators).
    Text,
    Integer(i64),
    Regex(regex::Regex),
}

/// The operators Entra documents for scoping clauses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    /// `&`: the attribute's value occurs in the clause's value.
    In,
    /// `!&`: the attribute's value does not occur in the clause's value.
    NotIn,
    EndsWith,
    Equals,
    GreaterThan,
    GreaterThanOrEquals,
    /// The attribute contains the value (.NET `String.Contains`, case-sensitive).
    Includes,
    IsFalse,
    IsTrue,
    IsNull,
    IsNotNull,
    NotEquals,
    RegexMatch,
    NotRegexMatch,
}

impl Operator {
    pub const ALL: [Operator; 14] = [
        Operator::In,
        Operator::NotIn,
        Operator::EndsWith,
        Operator::Equals,
        Operator::GreaterThan,
        Operator::GreaterThanOrEquals,
        Operator::Includes,
        Operator::IsFalse,
        Operator::IsTrue,
        Operator::IsNull,
        Operator::IsNotNull,
        Operator::NotEquals,
        Operator::RegexMatch,
        Operator::NotRegexMatch,
    ];

    /// The spelling of Entra's admin center.
    pub fn name(self) -> &'static str {
        match self {
            Operator::In => "&",
            Operator::NotIn => "!&",
            Operator::EndsWith => "ENDS_WITH",
            Operator::Equals => "EQUALS",
            Operator::GreaterThan => "Greater_Than",
            Operator::GreaterThanOrEquals => "Greater_Than_OR_EQUALS",
            Operator::Includes => "Includes",
            Operator::IsFalse => "IS FALSE",
            Operator::IsTrue => "IS TRUE",
            Operator::IsNull => "IS NULL",
            Operator::IsNotNull => "IS NOT NULL",
            Operator::NotEquals => "NOT EQUALS",
            Operator::RegexMatch => "REGEX MATCH",
            Operator::NotRegexMatch => "NOT REGEX MATCH",
        }
    }

    /// Reads an operator as written in the admin center or in Graph; case, spaces and
    /// underscores do not matter (`IS NULL`, `IS_NULL`, `isNull`).
    pub fn parse(text: &str) -> Option<Operator> {
        let norm = |s: &str| -> String {
            s.chars()
                .filter(|c| !matches!(c, ' ' | '_' | '-'))
                .flat_map(char::to_uppercase)
                .collect()
        };
        let wanted = norm(text.trim());
        Operator::ALL.into_iter().find(|o| norm(o.name()) == wanted)
    }

    /// Operators that take no value.
    pub fn unary(self) -> bool {
        matches!(
            self,
            Operator::IsFalse | Operator::IsTrue | Operator::IsNull | Operator::IsNotNull
        )
    }
}

/// The source attributes a clause may test: every single-valued user attribute except
/// `manager` (Entra refuses references), plus `accountEnabled`.
pub fn filterable_attributes() -> impl Iterator<Item = &'static str> {
    UserAttr::ALL
        .into_iter()
        .filter(|a| *a != UserAttr::Manager)
        .map(UserAttr::name)
        .chain(["accountEnabled"])
}

impl Clause {
    /// Checks and compiles a clause; the error says what is wrong with the value.
    pub fn new(attribute: &str, operator: Operator, value: Option<&str>) -> Result<Clause, String> {
        let attribute = filterable_attributes()
            .find(|a| *a == attribute)
            .ok_or_else(|| format!("`{attribute}` cannot be used in a scoping filter"))?;
        let operand = match (operator.unary(), value) {
            (true, Some(_)) => {
                return Err(format!("`{}` takes no value", operator.name()));
            }
            (true, None) => Operand::Text,
            (false, None) => return Err(format!("`{}` needs a value", operator.name())),
            (false, Some(v)) => match operator {
                Operator::GreaterThan | Operator::GreaterThanOrEquals => {
                    match v.trim().parse::<i64>() {
                        Ok(n) => Operand::Integer(n),
                        Err(_) => {
                            return Err(format!(
                                "`{}` compares integers, and `{v}` is not one",
                                operator.name()
                            ));
                        }
                    }
                }
                Operator::RegexMatch | Operator::NotRegexMatch => match regex::Regex::new(v) {
                    Ok(re) => Operand::Regex(re),
                    Err(e) => {
                        // The parser's message quotes the pattern over several lines; the last
                        // says what is wrong.
                        let text = e.to_string();
                        let what = text
                            .lines()
                            .last()
                            .unwrap_or("")
                            .trim_start_matches("error: ");
                        return Err(format!("invalid regular expression: {what}"));
                    }
                },
                _ => Operand::Text,
            },
        };
        Ok(Clause {
            attribute,
            operator,
            value: value.map(str::to_string),
            operand,
        })
    }

    /// The value as the operator compares it: an integer or a regular expression where the
    /// operator needs one (always so for a clause [`Clause::new`] made).
    pub fn operand(&self) -> &Operand {
        &self.operand
    }

    /// The clause as Entra's admin center shows it, for messages.
    pub fn describe(&self) -> String {
        match &self.value {
            Some(v) => format!("{} {} {v:?}", self.attribute, self.operator.name()),
            None => format!("{} {}", self.attribute, self.operator.name()),
        }
    }
}

/// The SCIM service to provision (`target:` or `asana:` in roster.yaml).
#[derive(Debug, Clone)]
pub struct TargetSettings {
    pub profile: Profile,
    /// The URL roster.yaml gives, as written; `None` when it gives none (see [`Self::url`]).
    pub configured_url: Option<String>,
    pub token_env: String,
    /// The budget of requests a minute (`requests_per_minute`; default
    /// [`TargetSettings::REQUESTS_PER_MINUTE`]).
    pub requests_per_minute: u32,
}

impl TargetSettings {
    /// Asana's per-token limit on paid plans, the default budget and, with `profile: asana`,
    /// the most roster.yaml may set.
    pub const REQUESTS_PER_MINUTE: u32 = 1500;

    /// The configured URL, or the profile's default (`None` for a generic server whose URL is
    /// given per run).
    pub fn url(&self) -> Option<&str> {
        self.configured_url
            .as_deref()
            .or(self.profile.default_url())
    }
}

#[derive(Debug, Clone)]
pub struct Policy {
    pub unmanaged: Unmanaged,
    pub protected: Vec<ProtectedPattern>,
    pub deprovision_with: DeprovisionWith,
    pub max_deprovisions: MaxDeprovisions,
    /// How many days ahead plans list expiring access (`policy.expiry_warning_days`).
    pub expiry_warning_days: u32,
    /// The monthly price of one active user (`policy.seat_price`).
    pub seat_price: Option<SeatPrice>,
    pub unset_attributes: UnsetAttributes,
    /// `policy.rules:`, checked by validation.
    pub rules: Vec<PolicyRule>,
}

/// One of `policy.rules:`, validated: what every declaration must satisfy.
#[derive(Debug, Clone)]
pub enum PolicyRule {
    /// userPrincipalName and mail end in one of these domains (lowercased, compared without
    /// case; a subdomain is not the domain).
    AllowedDomains(Vec<String>),
    /// These attributes are set on every user the filter matches (every user without one).
    Required {
        attributes: Vec<&'static str>,
        when: Option<ScopingFilter>,
    },
    /// Every user the filter matches has `expires`, at most `max_days` days after the
    /// instant of the check when given.
    ExpiryRequired {
        when: Option<ScopingFilter>,
        max_days: Option<u32>,
    },
    /// No team has more members than this (rule members and explicit ones, enabled users).
    MaxTeamSize(u64),
}

impl PolicyRule {
    /// The rule's key in roster.yaml, for messages.
    pub fn name(&self) -> &'static str {
        match self {
            PolicyRule::AllowedDomains(_) => "allowed_domains",
            PolicyRule::Required { .. } => "required",
            PolicyRule::ExpiryRequired { .. } => "expiry_required",
            PolicyRule::MaxTeamSize(_) => "max_team_size",
        }
    }
}

/// The monthly price of one seat: an amount in a currency.
#[derive(Debug, Clone, PartialEq)]
pub struct SeatPrice {
    pub amount: f64,
    /// ISO 4217, e.g. `USD`.
    pub currency: String,
}

/// Default of `policy.expiry_warning_days`.
pub const EXPIRY_WARNING_DAYS: u32 = 14;

impl Policy {
    pub fn is_protected(&self, user_name: &str) -> bool {
        self.protected.iter().any(|p| p.matches(user_name))
    }
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            unmanaged: Unmanaged::Report,
            protected: Vec::new(),
            deprovision_with: DeprovisionWith::Deactivate,
            max_deprovisions: MaxDeprovisions::default(),
            rules: Vec::new(),
            expiry_warning_days: EXPIRY_WARNING_DAYS,
            seat_price: None,
            unset_attributes: UnsetAttributes::Clear,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MaxDeprovisions {
    pub count: u64,
    pub percent: f64,
}

impl Default for MaxDeprovisions {
    fn default() -> Self {
        MaxDeprovisions {
            count: 25,
            percent: 10.0,
        }
    }
}

/// A `policy.protected` entry: a case-insensitive glob with `*` and `?`.
#[derive(Debug, Clone)]
pub struct ProtectedPattern {
    pub pattern: String,
    regex: regex::Regex,
}

impl ProtectedPattern {
    pub fn new(pattern: &str) -> Result<Self, String> {
        if pattern.trim().is_empty() {
            return Err("the pattern is empty".into());
        }
        let mut re = String::from("(?i)^");
        for c in pattern.chars() {
            match c {
                '*' => re.push_str(".*"),
                '?' => re.push('.'),
                c => re.push_str(&regex::escape(&c.to_string())),
            }
        }
        re.push('$');
        let regex = regex::Regex::new(&re).map_err(|e| e.to_string())?;
        Ok(ProtectedPattern {
            pattern: pattern.to_string(),
            regex,
        })
    }

    pub fn matches(&self, user_name: &str) -> bool {
        self.regex.is_match(user_name)
    }
}

/// A user's string attributes, in Graph's vocabulary. The order is the order of the schema and
/// of generated YAML.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum UserAttr {
    UserPrincipalName,
    Mail,
    DisplayName,
    GivenName,
    Surname,
    JobTitle,
    Department,
    CompanyName,
    EmployeeId,
    EmployeeType,
    Division,
    CostCenter,
    Manager,
    City,
    State,
    Country,
    OfficeLocation,
    TelephoneNumber,
    MobilePhone,
    PreferredLanguage,
}

impl UserAttr {
    pub const ALL: [UserAttr; 20] = [
        UserAttr::UserPrincipalName,
        UserAttr::Mail,
        UserAttr::DisplayName,
        UserAttr::GivenName,
        UserAttr::Surname,
        UserAttr::JobTitle,
        UserAttr::Department,
        UserAttr::CompanyName,
        UserAttr::EmployeeId,
        UserAttr::EmployeeType,
        UserAttr::Division,
        UserAttr::CostCenter,
        UserAttr::Manager,
        UserAttr::City,
        UserAttr::State,
        UserAttr::Country,
        UserAttr::OfficeLocation,
        UserAttr::TelephoneNumber,
        UserAttr::MobilePhone,
        UserAttr::PreferredLanguage,
    ];

    /// The source-attribute name used in mappings and expressions (`[jobTitle]`).
    pub fn name(self) -> &'static str {
        match self {
            UserAttr::UserPrincipalName => "userPrincipalName",
            UserAttr::Mail => "mail",
            UserAttr::DisplayName => "displayName",
            UserAttr::GivenName => "givenName",
            UserAttr::Surname => "surname",
            UserAttr::JobTitle => "jobTitle",
            UserAttr::Department => "department",
            UserAttr::CompanyName => "companyName",
            UserAttr::EmployeeId => "employeeId",
            UserAttr::EmployeeType => "employeeType",
            UserAttr::Division => "employeeOrgData.division",
            UserAttr::CostCenter => "employeeOrgData.costCenter",
            UserAttr::Manager => "manager",
            UserAttr::City => "city",
            UserAttr::State => "state",
            UserAttr::Country => "country",
            UserAttr::OfficeLocation => "officeLocation",
            UserAttr::TelephoneNumber => "telephoneNumber",
            UserAttr::MobilePhone => "mobilePhone",
            UserAttr::PreferredLanguage => "preferredLanguage",
        }
    }

    /// The attribute a source name means. A `match` rather than a search of [`UserAttr::ALL`]:
    /// mappings look names up once per attribute and user, 100,000 users at a time.
    pub fn from_name(name: &str) -> Option<UserAttr> {
        Some(match name {
            "userPrincipalName" => UserAttr::UserPrincipalName,
            "mail" => UserAttr::Mail,
            "displayName" => UserAttr::DisplayName,
            "givenName" => UserAttr::GivenName,
            "surname" => UserAttr::Surname,
            "jobTitle" => UserAttr::JobTitle,
            "department" => UserAttr::Department,
            "companyName" => UserAttr::CompanyName,
            "employeeId" => UserAttr::EmployeeId,
            "employeeType" => UserAttr::EmployeeType,
            "employeeOrgData.division" => UserAttr::Division,
            "employeeOrgData.costCenter" => UserAttr::CostCenter,
            "manager" => UserAttr::Manager,
            "city" => UserAttr::City,
            "state" => UserAttr::State,
            "country" => UserAttr::Country,
            "officeLocation" => UserAttr::OfficeLocation,
            "telephoneNumber" => UserAttr::TelephoneNumber,
            "mobilePhone" => UserAttr::MobilePhone,
            "preferredLanguage" => UserAttr::PreferredLanguage,
            _ => return None,
        })
    }
}

/// Source attributes a user mapping may read besides [`UserAttr`]s.
pub const COMPUTED_USER_SOURCES: [&str; 3] =
    ["accountEnabled", "IsSoftDeleted", "appRoleAssignments"];

/// Every name a user mapping may use as `source` or `[attribute]`.
pub fn user_source_names() -> impl Iterator<Item = &'static str> {
    UserAttr::ALL
        .into_iter()
        .map(UserAttr::name)
        .chain(COMPUTED_USER_SOURCES)
}

/// Every name a group mapping may use as `source` or `[attribute]`.
pub const GROUP_SOURCES: [&str; 2] = ["displayName", "members"];

/// When access ends (`expires:` on a user or a team membership): a date `YYYY-MM-DD`, which
/// means through the end of that day in UTC, or an RFC 3339 timestamp, that instant.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Expiry {
    /// The first second (since the Unix epoch) at which the access no longer holds: for a date
    /// D, 00:00:00Z of the day after D.
    pub ends_at: i64,
    /// The date or timestamp as written, for messages (`expired on 2026-03-01`).
    pub written: String,
}

impl Expiry {
    /// Reads `YYYY-MM-DD` or an RFC 3339 timestamp; an error that says what is wrong with it.
    pub fn parse(text: &str) -> Result<Expiry, String> {
        let text = text.trim();
        let ends_at = if text.len() == 10 {
            (civil_time::parse_date(text)? + 1) * 86_400
        } else if text.len() > 10 {
            civil_time::parse_rfc3339(text)?
        } else {
            // Let the date's message say what is wrong.
            civil_time::parse_date(text)?
        };
        Ok(Expiry {
            ends_at,
            written: text.to_string(),
        })
    }

    /// Whether the access has ended at `at` (seconds since the epoch): at or after the expiry.
    pub fn expired_at(&self, at: i64) -> bool {
        at >= self.ends_at
    }
}

/// A declared user.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    /// The userPrincipalName as written.
    pub upn: String,
    values: [Option<String>; UserAttr::ALL.len()],
    pub account_enabled: bool,
    /// Whether `accountEnabled` was written (rather than defaulted), so a live merge knows
    /// whether the YAML or Entra decides it.
    pub account_enabled_set: bool,
    /// False for users Entra would not provision (not assigned, filtered out by a scoping
    /// filter, deleted): `IsSoftDeleted` is then true, so the mappings deprovision them.
    pub in_scope: bool,
    pub app_role_assignments: Vec<String>,
    /// When the user's access ends (`expires:`); from then on the user is deprovisioned like a
    /// disabled one.
    pub expires: Option<Expiry>,
    /// Where the declaration starts; `None` for users that came from elsewhere (Entra).
    pub origin: Option<Span>,
}

impl User {
    pub fn new(upn: impl Into<String>) -> Self {
        let upn = upn.into();
        let mut user = User {
            upn: upn.clone(),
            values: Default::default(),
            account_enabled: true,
            account_enabled_set: false,
            in_scope: true,
            app_role_assignments: Vec::new(),
            expires: None,
            origin: None,
        };
        user.set(UserAttr::UserPrincipalName, Some(upn));
        user
    }

    /// The userPrincipalName's match key (NFC, lowercased: [`match_key`]), which identifies
    /// the user.
    ///
    pub fn key(&self) -> String {
        match_key(&self.upn)
    }

    pub fn get(&self, attr: UserAttr) -> Option<&str> {
        self.values[attr as usize].as_deref()
    }

    pub fn set(&mut self, attr: UserAttr, value: Option<String>) {
        if attr == UserAttr::UserPrincipalName
            && let Some(v) = &value
        {
            self.upn = v.clone();
        }
        self.values[attr as usize] = value;
    }

    pub fn manager(&self) -> Option<&str> {
        self.get(UserAttr::Manager)
    }

    /// Whether the user should hold an active account: enabled and in scope. Says nothing of
    /// expiry, which needs the instant: [`User::provisioned_at`].
    pub fn provisioned(&self) -> bool {
        self.account_enabled && self.in_scope
    }

    /// Whether the user's access has expired at `at` (seconds since the epoch).
    pub fn expired_at(&self, at: i64) -> bool {
        self.expires.as_ref().is_some_and(|e| e.expired_at(at))
    }

    /// Whether the user should hold an active account at `at`: enabled, in scope, and not
    /// expired.
    pub fn provisioned_at(&self, at: i64) -> bool {
        self.provisioned() && !self.expired_at(at)
    }

    /// The value of a source attribute in the expression language's terms, with `IsSoftDeleted`
    /// computed from `accountEnabled` and scope (the caller's and the user's own).
    pub fn source(&self, name: &str, in_scope: bool) -> expr::Value {
        use expr::Value;
        let boolean = |b: bool| Value::Str(if b { "True" } else { "False" }.into());
        match name {
            "accountEnabled" => boolean(self.account_enabled),
            "IsSoftDeleted" => boolean(!self.account_enabled || !in_scope || !self.in_scope),
            "appRoleAssignments" => Value::Multi(self.app_role_assignments.clone()),
            _ => match UserAttr::from_name(name).and_then(|a| self.get(a)) {
                Some(v) => Value::Str(v.to_string()),
                None => Value::Null,
            },
        }
    }
}

/// Each user's manager as an index into `users`, through `index` (users by key); `None` when
/// the user has no manager, or one `index` does not hold.
pub fn manager_indexes(users: &[User], index: &HashMap<String, usize>) -> Vec<Option<usize>> {
    users
        .iter()
        .map(|u| u.manager().and_then(|m| index.get(&match_key(m)).copied()))
        .collect()
}

/// The loops among managers (`manager_of[i]` is user `i`'s manager), each once, in the order
/// the walk finds them: the users on the loop in the order its chain runs, starting with the
/// first one the walk reached. Each chain is walked once, so this is linear in the users.
pub fn manager_cycles(manager_of: &[Option<usize>]) -> Vec<Vec<usize>> {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        New,
        OnPath,
        Done,
    }
    let mut state = vec![State::New; manager_of.len()];
    let mut cycles = Vec::new();
    for start in 0..manager_of.len() {
        let mut path = Vec::new();
        let mut at = Some(start);
        while let Some(i) = at {
            match state[i] {
                State::Done => break,
                State::OnPath => {
                    let from = path.iter().position(|&p| p == i).unwrap_or(0);
                    cycles.push(path[from..].to_vec());
                    break;
                }
                State::New => {
                    state[i] = State::OnPath;
                    path.push(i);
                    at = manager_of[i];
                }
            }
        }
        for p in path {
            state[p] = State::Done;
        }
    }
    cycles
}

/// A declared group (an Asana team).
#[derive(Debug, Clone)]
pub struct Group {
    pub display_name: String,
    /// Explicit members by userPrincipalName, as written, expiring memberships included;
    /// `teams::members` adds the ones `member_rules` match and takes out `exclude`.
    pub members: Vec<String>,
    /// `member_rules:`: declared users who pass any of these filters are members.
    pub member_rules: Vec<ScopingFilter>,
    /// `exclude:`: never members, whatever `members` and `member_rules` say (userPrincipalNames).
    pub exclude: Vec<String>,
    /// When memberships end (`- { user: x@example.com, expires: 2026-03-01 }`), by the
    /// member's [`match_key`]; members not here stay.
    pub member_expires: std::collections::BTreeMap<String, Expiry>,
    pub origin: Option<Span>,
}

impl PartialEq for Group {
    /// Filters hold compiled regexes, which do not compare: rules compare as written.
    fn eq(&self, other: &Group) -> bool {
        let rules = |g: &Group| -> Vec<(Option<String>, Vec<String>)> {
            (g.member_rules.iter())
                .map(|f| {
                    (
                        f.name.clone(),
                        f.clauses.iter().map(Clause::describe).collect(),
                    )
                })
                .collect()
        };
        self.display_name == other.display_name
            && self.members == other.members
            && self.exclude == other.exclude
            && self.member_expires == other.member_expires
            && self.origin == other.origin
            && rules(self) == rules(other)
    }
}

impl Group {
    pub fn key(&self) -> String {
        self.display_name.to_lowercase()
    }

    /// When `upn`'s membership ends, if it does.
    pub fn membership_expires(&self, upn: &str) -> Option<&Expiry> {
        self.member_expires.get(&match_key(upn))
    }

    /// Whether `upn`'s membership has ended at `at` (seconds since the epoch).
    pub fn membership_expired_at(&self, upn: &str, at: i64) -> bool {
        self.membership_expires(upn)
            .is_some_and(|e| e.expired_at(at))
    }

    pub fn source(&self, name: &str) -> expr::Value {
        match name {
            "displayName" => expr::Value::Str(self.display_name.clone()),
            "members" => expr::Value::Multi(self.members.clone()),
            _ => expr::Value::Null,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_name_reads_every_name_and_nothing_else() {
        for a in UserAttr::ALL {
            assert_eq!(UserAttr::from_name(a.name()), Some(a));
        }
        assert_eq!(UserAttr::from_name("JobTitle"), None);
        assert_eq!(UserAttr::from_name("accountEnabled"), None);
    }

    #[test]
    fn protected_patterns_are_case_insensitive_globs() {
        let p = ProtectedPattern::new("svc-*@Example.com").unwrap();
        assert!(p.matches("svc-ci@example.com"));
        assert!(p.matches("SVC-@EXAMPLE.COM"));
        assert!(!p.matches("alice@example.com"));
        assert!(!p.matches("svc-ci@example.com.evil"));
        let q = ProtectedPattern::new("a?c@x.io").unwrap();
        assert!(q.matches("abc@x.io") && !q.matches("abbc@x.io"));
        assert!(ProtectedPattern::new("  ").is_err());
    }

    /// The model is a leaf: beneath config's raw types, the engines that work on it (mapping,
    /// entra's filters, the planner) and the wire formats, none of which it names. A model
    /// type that grew serde derives, or a re-export of a raw enum, fails here.
    #[test]
    fn issue12_the_model_names_no_raw_type_engine_or_wire_format() {
        let code = include_str!("model.rs")
            .split("#[cfg(test)]")
            .next()
            .expect("the code comes before its tests");
        for word in [
            "raw::",
            "crate::config::",
            "crate::mapping",
            "crate::entra",
            "crate::plan",
            "crate::wire",
            "crate::render",
            "serde::",
            "Serialize",
            "Deserialize",
            "JsonSchema",
        ] {
            assert!(!code.contains(word), "config/model.rs names `{word}`");
        }
    }

    #[test]
    fn a_date_expires_at_the_end_of_its_day_in_utc_and_a_timestamp_at_its_instant() {
        // 2026-03-01T00:00:00Z.
        let march_1 = 1_772_323_200;
        let date = Expiry::parse("2026-03-01").unwrap();
        assert_eq!(date.ends_at, march_1 + 86_400);
        assert_eq!(date.written, "2026-03-01");
        assert!(!date.expired_at(march_1 + 86_399));
        assert!(date.expired_at(march_1 + 86_400));
        let noon_paris = Expiry::parse(" 2026-03-01T12:00:00+01:00 ").unwrap();
        assert_eq!(noon_paris.ends_at, march_1 + 11 * 3600);
        assert_eq!(noon_paris.written, "2026-03-01T12:00:00+01:00");
        assert!(!noon_paris.expired_at(march_1 + 11 * 3600 - 1));
        assert!(noon_paris.expired_at(march_1 + 11 * 3600));
        assert!(Expiry::parse("2026-02-30").unwrap_err().contains("28 days"));
        assert!(Expiry::parse("soon").unwrap_err().contains("not a date"));
        let mut u = User::new("a@x.io");
        assert!(!u.expired_at(i64::MAX) && u.provisioned_at(i64::MAX));
        u.expires = Some(date);
        assert!(u.provisioned_at(march_1) && !u.provisioned_at(march_1 + 86_400));
        assert!(u.provisioned(), "provisioned() knows no instant");
    }

    #[test]
    fn operators_read_in_any_spelling() {
        for (text, op) in [
            ("IS NULL", Operator::IsNull),
            ("is_null", Operator::IsNull),
            ("IsNull", Operator::IsNull),
            ("NOT_REGEX_MATCH", Operator::NotRegexMatch),
            ("greater_than_or_equals", Operator::GreaterThanOrEquals),
            ("ENDSWITH", Operator::EndsWith),
            ("&", Operator::In),
            ("!&", Operator::NotIn),
        ] {
            assert_eq!(Operator::parse(text), Some(op), "{text}");
        }
        assert_eq!(Operator::parse("LIKE"), None);
        assert_eq!(Operator::parse("STARTS_WITH"), None);
    }

    #[test]
    fn bad_clauses_say_why() {
        let err = |a: &str, op: Operator, v: Option<&str>| Clause::new(a, op, v).unwrap_err();
        assert!(err("manager", Operator::Equals, Some("x")).contains("cannot be used"));
        assert!(err("IsSoftDeleted", Operator::IsTrue, None).contains("cannot be used"));
        assert!(err("department", Operator::Equals, None).contains("needs a value"));
        assert!(err("department", Operator::IsNull, Some("x")).contains("takes no value"));
        assert!(err("employeeId", Operator::GreaterThan, Some("1e3")).contains("integers"));
        assert!(err("mail", Operator::RegexMatch, Some("(")).contains("regular expression"));
    }

    #[test]
    fn manager_cycles_are_found_once_each_in_chain_order() {
        // 0 -> 1 -> 2 -> 1 (a loop of two behind a tail), 3 -> 3, 4 -> 0 (into a reported loop),
        // 5 alone, 6 -> 7 -> 8 -> 6.
        let manager_of = [
            Some(1),
            Some(2),
            Some(1),
            Some(3),
            Some(0),
            None,
            Some(7),
            Some(8),
            Some(6),
        ];
        assert_eq!(
            manager_cycles(&manager_of),
            [vec![1, 2], vec![3], vec![6, 7, 8]]
        );
        assert!(manager_cycles(&[None, Some(0), Some(1)]).is_empty());
        let mut users = vec![User::new("a@x.io"), User::new("B@x.io")];
        users[0].set(UserAttr::Manager, Some("b@X.io".into()));
        users[1].set(UserAttr::Manager, Some("nobody@x.io".into()));
        let index: HashMap<String, usize> = [("a@x.io".to_string(), 0), ("b@x.io".to_string(), 1)]
            .into_iter()
            .collect();
        assert_eq!(manager_indexes(&users, &index), [Some(1), None]);
    }

    #[test]
    fn is_soft_deleted_follows_account_enabled_and_scope() {
        let mut u = User::new("a@x.io");
        assert_eq!(
            u.source("IsSoftDeleted", true),
            expr::Value::Str("False".into())
        );
        assert_eq!(
            u.source("IsSoftDeleted", false),
            expr::Value::Str("True".into())
        );
        u.account_enabled = false;
        assert_eq!(
            u.source("IsSoftDeleted", true),
            expr::Value::Str("True".into())
        );
        assert_eq!(
            u.source("userPrincipalName", true),
            expr::Value::Str("a@x.io".into())
        );
        assert_eq!(u.source("jobTitle", true), expr::Value::Null);
        // A user Entra would not provision is soft-deleted whatever the caller says.
        let mut v = User::new("b@x.io");
        v.in_scope = false;
        assert_eq!(
            v.source("IsSoftDeleted", true),
            expr::Value::Str("True".into())
        );
        assert!(!v.provisioned());
    }
}
