//! The validated model: what the config directory means once every check passed.
//!
//! Everything here is resolved and consistent: user keys are unique, every
//! `manager` and group member names a declared user, mappings are parsed.
//! Nothing here does IO.

use std::collections::HashMap;
use std::path::PathBuf;

use crate::diagnostics::Span;
use crate::expr;
use crate::mapping::Mapping;

pub use super::raw::{
    Apply, DeprovisionWith, EntraMode, EntraScope, GroupMembers, Profile, Unmanaged,
};

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
            .get(&crate::names::match_key(upn))
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
    pub scoping_filters: Vec<crate::entra::filter::ScopingFilter>,
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

/// The SCIM service to provision (`target:` or `asana:` in roster.yaml).
#[derive(Debug, Clone)]
pub struct TargetSettings {
    pub profile: Profile,
    /// The URL roster.yaml gives, as written; `None` when it gives none (see [`Self::url`]).
    pub configured_url: Option<String>,
    pub token_env: String,
}

impl TargetSettings {
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
}

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

    pub fn from_name(name: &str) -> Option<UserAttr> {
        UserAttr::ALL.into_iter().find(|a| a.name() == name)
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
            origin: None,
        };
        user.set(UserAttr::UserPrincipalName, Some(upn));
        user
    }

    /// The userPrincipalName's match key (NFC, lowercased: [`match_key`]), which identifies
    /// the user.
    ///
    /// [`match_key`]: crate::names::match_key
    pub fn key(&self) -> String {
        crate::names::match_key(&self.upn)
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

    /// Whether the user should hold an active account: enabled and in scope.
    pub fn provisioned(&self) -> bool {
        self.account_enabled && self.in_scope
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

/// A declared group (an Asana team).
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub display_name: String,
    /// Members by userPrincipalName, as written.
    pub members: Vec<String>,
    pub origin: Option<Span>,
}

impl Group {
    pub fn key(&self) -> String {
        self.display_name.to_lowercase()
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
