//! Serde types that mirror the YAML files exactly, with the place of every value.
//!
//! These are stage one of config loading: they accept anything that has the
//! right shape and reject unknown keys and wrong types. They carry no meaning
//! beyond the file's; [`super::validate`] turns them into the model. The JSON
//! Schemas under `schema/` are generated from these types, so every field's
//! doc comment is user documentation.

use std::borrow::Cow;

use schemars::{JsonSchema, SchemaGenerator};
use serde::{Deserialize, Deserializer};

/// A value with the place in its file where it was written.
#[derive(Clone)]
pub struct Spanned<T> {
    pub value: T,
    /// Byte range of the value in its file (files are capped well below 4 GiB).
    start: u32,
    end: u32,
}

/// Debug shows the value only, so two declarations with the same content print the same
/// wherever they are written (`--changed-since` compares them this way).
impl<T: std::fmt::Debug> std::fmt::Debug for Spanned<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.value.fmt(f)
    }
}

impl<T> Spanned<T> {
    /// A value read at `range` of its file without serde ([`super::plain`]).
    pub(crate) fn new(value: T, range: std::ops::Range<usize>) -> Spanned<T> {
        let offset = |o: usize| u32::try_from(o).unwrap_or(u32::MAX);
        Spanned {
            value,
            start: offset(range.start),
            end: offset(range.end),
        }
    }

    /// Byte range of the value in its file.
    pub fn range(&self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Spanned<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = serde_saphyr::Spanned::<T>::deserialize(deserializer)?;
        let loc = s.referenced;
        let span = loc.span();
        // Input is always a string, so byte offsets are known.
        let start = span.byte_offset().unwrap_or(0);
        let end = start + span.byte_len().unwrap_or(0);
        Ok(Spanned {
            value: s.value,
            start: u32::try_from(start).unwrap_or(u32::MAX),
            end: u32::try_from(end).unwrap_or(u32::MAX),
        })
    }
}

/// The schema of a spanned value is the schema of the value: spans are ours, not the user's.
impl<T: JsonSchema> JsonSchema for Spanned<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }
    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }
    fn schema_id() -> Cow<'static, str> {
        T::schema_id()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> schemars::Schema {
        T::json_schema(generator)
    }
}

/// `roster.yaml`: where to provision, how attributes map, and the safety policy.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename = "Settings")]
#[schemars(title = "roster.yaml")]
pub struct RawSettings {
    /// Version of this file's format. Only `1` exists.
    pub version: Spanned<u32>,
    /// The Asana organisation to provision: the same as `target:` with `profile: asana`. Give
    /// `asana:` or `target:`, not both.
    #[serde(default)]
    pub asana: Option<Spanned<RawAsana>>,
    /// The SCIM 2.0 service to provision: Asana (the default) or any SCIM 2.0 server
    /// (`profile: generic`). Give `target:` or `asana:`, not both.
    #[serde(default)]
    pub target: Option<Spanned<RawTarget>>,
    /// Attribute mappings from declared users and groups to SCIM attributes. When absent, Asana's
    /// gallery-app mappings are used.
    #[serde(default)]
    pub mappings: Option<RawMappings>,
    /// Safety policy for deprovisioning and for Asana users nobody declared.
    #[serde(default)]
    pub policy: Option<RawPolicy>,
    /// Microsoft Entra ID (Azure AD) as a source of users and teams, read through Microsoft
    /// Graph: seeded into YAML by `roster import entra`, or merged live at plan time.
    #[serde(default)]
    pub entra: Option<Spanned<RawEntra>>,
}

/// Connection to Asana's SCIM API. The token itself never goes in a file.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename = "Asana")]
pub struct RawAsana {
    /// Base URL of the SCIM API. Default `https://app.asana.com/api/1.0/scim`; the host must be
    /// `app.asana.com`, or a loopback address (the emulator), where plain `http://` is also
    /// accepted. When `--target-url` or `ROSTER_TARGET_URL` pins the URL, this must be the same
    /// one (or be left out).
    #[serde(default)]
    pub url: Option<Spanned<String>>,
    /// Name of the environment variable that holds the service-account token. Default
    /// `ASANA_TOKEN`. System, CI and cloud variables (`PATH`, `GITHUB_TOKEN`, `AWS_*`, …) and the
    /// Entra client secret's are refused.
    #[serde(default)]
    pub token_env: Option<Spanned<String>>,
    /// The requests a minute roster may send with this token, retries included. Default 1500,
    /// Asana's limit on paid plans (150 on the free plan); set less when another integration
    /// shares the token. No minute holds more; a long apply sends about 0.98 of it.
    #[serde(default)]
    #[schemars(range(min = 1, max = 1500))]
    pub requests_per_minute: Option<Spanned<u32>>,
}

/// The SCIM 2.0 service roster provisions, and what it may assume about it. The token itself
/// never goes in a file.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename = "Target")]
pub struct RawTarget {
    /// `asana` (the default) or `generic`.
    #[serde(default)]
    pub profile: Option<Spanned<Profile>>,
    /// Base URL of the SCIM API. Default `https://app.asana.com/api/1.0/scim` for `asana`, whose
    /// host must be `app.asana.com` or loopback; no default for `generic` (give it here, or with
    /// `--target-url` / `ROSTER_TARGET_URL`). Plain `http://` is accepted only for loopback
    /// addresses. When `--target-url` or `ROSTER_TARGET_URL` pins the URL, this must be the same
    /// one (or be left out).
    #[serde(default)]
    pub url: Option<Spanned<String>>,
    /// Name of the environment variable that holds the bearer token. Default `ASANA_TOKEN` for
    /// `asana`, `SCIM_TOKEN` for `generic`. System, CI and cloud variables (`PATH`,
    /// `GITHUB_TOKEN`, `AWS_*`, …) and the Entra client secret's are refused.
    #[serde(default)]
    pub token_env: Option<Spanned<String>>,
    /// The requests a minute roster may send with this token, retries included. Default 1500
    /// (Asana's limit on paid plans; 150 on the free plan); at most 1500 with `profile: asana`.
    /// Set less when another integration shares the token. No minute holds more; a long apply
    /// sends about 0.98 of it.
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub requests_per_minute: Option<Spanned<u32>>,
}

/// What roster assumes about the SCIM server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Profile {
    /// Asana's documented SCIM API: the gallery app's attributes, userName an email address,
    /// `name.givenName`/`familyName` only on create, deprovisioning irreversible.
    Asana,
    /// Any SCIM 2.0 server (RFC 7643/7644): the standard User attributes, userName any
    /// string, reactivation allowed; PATCH, filtering, ETags and the page size are read from
    /// the server's `/ServiceProviderConfig` and honoured (PUT when PATCH is not supported).
    Generic,
}

/// Attribute mappings, in Entra's model.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename = "Mappings")]
pub struct RawMappings {
    /// Mappings for users. When given, they replace the default user mappings entirely.
    #[serde(default)]
    pub users: Option<Vec<Spanned<RawMapping>>>,
    /// Mappings for groups (Asana teams). When given, they replace the default group mappings.
    #[serde(default)]
    pub groups: Option<Vec<Spanned<RawMapping>>>,
}

/// One attribute mapping: a target SCIM attribute and exactly one of `source`, `constant` or
/// `expression`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename = "Mapping")]
pub struct RawMapping {
    /// Target SCIM attribute, e.g. `title`, `emails[type eq "work"].value` or
    /// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department`.
    pub target: Spanned<String>,
    /// Direct mapping: the source attribute whose value is copied, e.g. `jobTitle`.
    #[serde(default)]
    pub source: Option<Spanned<String>>,
    /// Constant mapping: this literal value.
    #[serde(default)]
    pub constant: Option<Spanned<String>>,
    /// Expression mapping in Entra's expression language, e.g.
    /// `Join(" ", [givenName], [surname])`.
    #[serde(default)]
    pub expression: Option<Spanned<String>>,
    /// Use this mapping to match declared objects to live ones. Lowest number is tried first.
    #[serde(default, rename = "match")]
    pub match_priority: Option<Spanned<u32>>,
    /// `always` (create and update, the default) or `on_create` (only when the object is created).
    #[serde(default)]
    pub apply: Option<Spanned<Apply>>,
    /// Value used on create when the mapped value is null. Never used on update.
    #[serde(default)]
    pub default: Option<Spanned<String>>,
}

/// When a mapping flows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Apply {
    /// On create and on every update.
    Always,
    /// Only when the object is created.
    OnCreate,
}

/// Safety policy.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename = "Policy")]
pub struct RawPolicy {
    /// What to do with Asana users that no declaration matches: `ignore`, `report` (the
    /// default) or `deprovision`.
    #[serde(default)]
    pub unmanaged: Option<Spanned<Unmanaged>>,
    /// userName patterns (`*` and `?` wildcards, case-insensitive) that are never deprovisioned,
    /// whatever the files say.
    #[serde(default)]
    pub protected: Vec<Spanned<String>>,
    /// How users are deprovisioned: `deactivate` (PATCH `active=false`, the default) or `delete`
    /// (DELETE). Both are irreversible in Asana.
    #[serde(default)]
    pub deprovision_with: Option<Spanned<DeprovisionWith>>,
    /// Most deprovisions one apply may make; beyond either cap, apply refuses unless given
    /// `--allow-deprovisions N`.
    #[serde(default)]
    pub max_deprovisions: Option<Spanned<RawMaxDeprovisions>>,
    /// How many days ahead plans and drift reports list the users and team memberships whose
    /// `expires` comes up, soonest first. Default 14; `0` lists only those ending today.
    #[serde(default)]
    pub expiry_warning_days: Option<Spanned<u32>>,
    /// The monthly price of one active user, to show what a plan does to the bill beside its
    /// seat count (`seats: +3, −1 (net +2): +21.98 USD a month`). Optional.
    #[serde(default)]
    pub seat_price: Option<Spanned<RawSeatPrice>>,
    /// What to do when a mapped target attribute has a value in the target but its mapping now
    /// yields nothing: `clear` it (the default; a SCIM `remove`, or a PUT without it) or `keep`
    /// it, as Entra does. Attributes no mapping targets are never touched.
    #[serde(default)]
    pub unset_attributes: Option<Spanned<UnsetAttributes>>,
    /// Checks every declaration must pass, run by `roster validate` (and so by plan and
    /// apply): each violation is an error at the user or team. Each rule has one of
    /// `allowed_domains`, `required`, `expiry_required` or `max_team_size`.
    #[serde(default)]
    pub rules: Vec<Spanned<RawPolicyRule>>,
}

/// One policy rule: exactly one of `allowed_domains`, `required` (with an optional `when`),
/// `expiry_required` or `max_team_size`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename = "PolicyRule")]
pub struct RawPolicyRule {
    /// Domains userPrincipalName and mail must be in, e.g. `[example.com]` (case-insensitive;
    /// a subdomain is not the domain).
    #[serde(default)]
    pub allowed_domains: Option<Spanned<Vec<Spanned<String>>>>,
    /// User attributes that must be set, e.g. `[jobTitle, department, manager]`; on every user,
    /// or on those `when` matches.
    #[serde(default)]
    pub required: Option<Spanned<Vec<Spanned<String>>>>,
    /// With `required`: the clauses (AND-ed, as in a scoping filter) that pick the users the
    /// rule applies to, e.g. `employeeType EQUALS Employee`.
    #[serde(default)]
    pub when: Option<Vec<Spanned<RawClause>>>,
    /// Users `when` matches (every user without it) must have `expires`, at most `max_days`
    /// days after the check's instant (`--at`, else now) when given.
    #[serde(default)]
    pub expiry_required: Option<Spanned<RawExpiryRequired>>,
    /// The most members a team may have (rule members and explicit ones; disabled and
    /// expired users do not count).
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub max_team_size: Option<Spanned<u64>>,
}

/// `expiry_required:` of a policy rule.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename = "ExpiryRequired")]
pub struct RawExpiryRequired {
    /// The clauses (AND-ed) that pick the users who must have an end date, e.g.
    /// `employeeType EQUALS Contractor`; every user when absent.
    #[serde(default)]
    pub when: Option<Vec<Spanned<RawClause>>>,
    /// The furthest `expires` may be, in days after the check's instant.
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub max_days: Option<Spanned<u32>>,
}

/// The monthly price of one seat.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename = "SeatPrice")]
pub struct RawSeatPrice {
    /// Price of one active user a month, e.g. `10.99`; zero or more.
    pub amount: Spanned<f64>,
    /// ISO 4217 currency code, three capital letters, e.g. `USD` or `EUR`.
    pub currency: Spanned<String>,
}

/// What happens to a target attribute whose mapping no longer yields a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum UnsetAttributes {
    /// Remove the value from the target.
    Clear,
    /// Leave the target's value as it is (Entra's behaviour).
    Keep,
}

/// What happens to live users no declaration matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Unmanaged {
    /// Leave them alone and say nothing.
    Ignore,
    /// List them in plans and drift reports.
    Report,
    /// Deprovision them (gated by `max_deprovisions` and `protected`).
    Deprovision,
}

/// How a user is deprovisioned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeprovisionWith {
    /// PATCH `active: false`.
    Deactivate,
    /// DELETE /Users/{id}.
    Delete,
}

/// Caps on deprovisions per apply.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename = "MaxDeprovisions")]
pub struct RawMaxDeprovisions {
    /// Most users one apply may deprovision. Default 25.
    #[serde(default)]
    pub count: Option<Spanned<u64>>,
    /// Most users one apply may deprovision, as a percentage of the live users. Default 10.
    #[serde(default)]
    pub percent: Option<Spanned<f64>>,
}

/// A file under `users/`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename = "UsersFile")]
#[schemars(title = "roster users file")]
pub struct RawUsersFile {
    /// Users declared in this file.
    pub users: Vec<Spanned<RawUser>>,
}

/// A user, in Microsoft Graph's vocabulary, so a user written by hand and a user read from Entra
/// go through the same mappings.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase", rename = "User")]
pub struct RawUser {
    /// Sign-in name. Required and unique (case-insensitive); mapped to the SCIM `userName` by
    /// default. With the `asana` profile (the default) it must be an email address.
    #[schemars(required)]
    pub user_principal_name: Option<Spanned<String>>,
    /// Primary email address.
    #[serde(default)]
    pub mail: Option<Spanned<String>>,
    /// Full name as shown in Asana.
    #[serde(default)]
    pub display_name: Option<Spanned<String>>,
    /// First name.
    #[serde(default)]
    pub given_name: Option<Spanned<String>>,
    /// Last name.
    #[serde(default)]
    pub surname: Option<Spanned<String>>,
    /// Job title.
    #[serde(default)]
    pub job_title: Option<Spanned<String>>,
    /// Department.
    #[serde(default)]
    pub department: Option<Spanned<String>>,
    /// Company name (mapped to the enterprise `organization` by default).
    #[serde(default)]
    pub company_name: Option<Spanned<String>>,
    /// Employee identifier (mapped to the enterprise `employeeNumber` by default). Quote numbers.
    #[serde(default)]
    pub employee_id: Option<Spanned<String>>,
    /// Employee type, e.g. `Employee` or `Contractor`.
    #[serde(default)]
    pub employee_type: Option<Spanned<String>>,
    /// Organisation data: division and cost center.
    #[serde(default)]
    pub employee_org_data: Option<Spanned<RawEmployeeOrgData>>,
    /// The manager's userPrincipalName; must be another declared user.
    #[serde(default)]
    pub manager: Option<Spanned<String>>,
    /// City (mapped to `addresses[type eq "work"].locality`).
    #[serde(default)]
    pub city: Option<Spanned<String>>,
    /// State or province (mapped to `addresses[type eq "work"].region`).
    #[serde(default)]
    pub state: Option<Spanned<String>>,
    /// Country or region (mapped to `addresses[type eq "work"].country`).
    #[serde(default)]
    pub country: Option<Spanned<String>>,
    /// Office location.
    #[serde(default)]
    pub office_location: Option<Spanned<String>>,
    /// Business telephone number (mapped to `phoneNumbers[type eq "work"].value`).
    #[serde(default)]
    pub telephone_number: Option<Spanned<String>>,
    /// Mobile telephone number.
    #[serde(default)]
    pub mobile_phone: Option<Spanned<String>>,
    /// Preferred language, e.g. `en-US`.
    #[serde(default)]
    pub preferred_language: Option<Spanned<String>>,
    /// Whether the user should have an Asana account. Default `true`; `false` deprovisions the
    /// user (irreversible in Asana).
    #[serde(default)]
    pub account_enabled: Option<Spanned<bool>>,
    /// Names of the app roles assigned to the user (Entra's `appRoleAssignments`), for
    /// `SingleAppRoleAssignment`.
    #[serde(default)]
    pub app_role_assignments: Option<Spanned<Vec<String>>>,
    /// When the user's access ends: a date `YYYY-MM-DD` (through the end of that day in UTC)
    /// or an RFC 3339 timestamp (`2026-03-01T17:00:00+01:00`, that instant). From the first
    /// plan at or after it, the user is deprovisioned like one with `accountEnabled: false`
    /// (irreversible in Asana); until then plans warn of it within
    /// `policy.expiry_warning_days`.
    #[serde(default)]
    pub expires: Option<Spanned<RawExpiry>>,
}

impl RawUser {
    /// The text field written `key` in a file ([`super::plain`] sets them by name); `None`
    /// for a key that is not one. The tests check these names against the schema's.
    pub(crate) fn text_field(&mut self, key: &str) -> Option<&mut Option<Spanned<String>>> {
        Some(match key {
            "userPrincipalName" => &mut self.user_principal_name,
            "mail" => &mut self.mail,
            "displayName" => &mut self.display_name,
            "givenName" => &mut self.given_name,
            "surname" => &mut self.surname,
            "jobTitle" => &mut self.job_title,
            "department" => &mut self.department,
            "companyName" => &mut self.company_name,
            "employeeId" => &mut self.employee_id,
            "employeeType" => &mut self.employee_type,
            "manager" => &mut self.manager,
            "city" => &mut self.city,
            "state" => &mut self.state,
            "country" => &mut self.country,
            "officeLocation" => &mut self.office_location,
            "telephoneNumber" => &mut self.telephone_number,
            "mobilePhone" => &mut self.mobile_phone,
            "preferredLanguage" => &mut self.preferred_language,
            _ => return None,
        })
    }
}

/// `expires:` as written: a date or a timestamp, checked by validation (a number or a boolean
/// is kept as its text, so that its error says it is not a date).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawExpiry(pub String);

impl<'de> Deserialize<'de> for RawExpiry {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        ScalarString::deserialize(deserializer).map(|s| RawExpiry(s.0))
    }
}

impl JsonSchema for RawExpiry {
    fn schema_name() -> Cow<'static, str> {
        "Expiry".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A date `YYYY-MM-DD` (access through the end of that day in UTC) or an RFC 3339 timestamp with an offset (`2026-03-01T17:00:00Z`, `2026-03-01T17:00:00+01:00`).",
            "type": "string",
            "anyOf": [
                { "format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$" },
                { "format": "date-time" }
            ],
            "examples": ["2026-03-31", "2026-03-31T17:00:00+01:00"]
        })
    }
}

/// Graph's `employeeOrgData`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(
    deny_unknown_fields,
    rename_all = "camelCase",
    rename = "EmployeeOrgData"
)]
pub struct RawEmployeeOrgData {
    /// Division.
    #[serde(default)]
    pub division: Option<Spanned<String>>,
    /// Cost center.
    #[serde(default)]
    pub cost_center: Option<Spanned<String>>,
}

/// A file under `groups/`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename = "GroupsFile")]
#[schemars(title = "roster groups file")]
pub struct RawGroupsFile {
    /// Groups (Asana teams) declared in this file.
    pub groups: Vec<Spanned<RawGroup>>,
}

/// A group: an Asana team. Asana cannot delete teams through SCIM, so roster never does;
/// membership is reconciled.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase", rename = "Group")]
pub struct RawGroup {
    /// Team name; unique (case-insensitive).
    pub display_name: Spanned<String>,
    /// Members, by userPrincipalName; each must be a declared user. A membership that ends is
    /// written `{ user: x@example.com, expires: 2026-03-31 }`: from that date on, plans remove
    /// the user from this team (and only from this team).
    #[serde(default)]
    pub members: Vec<Spanned<RawMember>>,
    /// Rules that make declared users members, in the shape of `entra.scoping_filters`: a user
    /// is a member when every clause of at least one rule is true (Entra's operators and null
    /// rule). They add to `members`; disabled and expired users are never members.
    #[serde(default, rename = "member_rules")]
    pub member_rules: Vec<Spanned<RawScopingFilter>>,
    /// Users who are never members, whatever `members` and `member_rules` say, by
    /// userPrincipalName; each must be a declared user.
    #[serde(default)]
    pub exclude: Vec<Spanned<String>>,
}

/// A team member: a userPrincipalName, or one with the date its membership ends.
#[derive(Debug)]
pub enum RawMember {
    /// `alice@example.com`.
    Plain(String),
    /// `{ user: alice@example.com, expires: 2026-03-31 }`.
    Expiring(RawExpiringMember),
}

/// A membership that ends.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename = "ExpiringMember")]
pub struct RawExpiringMember {
    /// The member's userPrincipalName; must be a declared user.
    pub user: Spanned<String>,
    /// When the membership ends: a date `YYYY-MM-DD` (through the end of that day in UTC) or
    /// an RFC 3339 timestamp. The user stays in the other teams, and in Asana.
    #[serde(default)]
    pub expires: Option<Spanned<RawExpiry>>,
}

impl RawMember {
    /// The userPrincipalName as written.
    pub fn user(&self) -> &str {
        match self {
            RawMember::Plain(upn) => upn,
            RawMember::Expiring(m) => &m.user.value,
        }
    }
}

impl<'de> Deserialize<'de> for RawMember {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = RawMember;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a userPrincipalName, or `{ user: ..., expires: YYYY-MM-DD }`")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<RawMember, E> {
                Ok(RawMember::Plain(v.to_string()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<RawMember, A::Error> {
                let entry = RawExpiringMember::deserialize(
                    serde::de::value::MapAccessDeserializer::new(map),
                )?;
                Ok(RawMember::Expiring(entry))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

impl JsonSchema for RawMember {
    fn schema_name() -> Cow<'static, str> {
        "Member".into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> schemars::Schema {
        let entry = generator.subschema_for::<RawExpiringMember>();
        schemars::json_schema!({
            "anyOf": [
                { "type": "string", "description": "The member's userPrincipalName." },
                entry
            ]
        })
    }
}

/// Microsoft Entra ID as a source, read through Microsoft Graph with the client-credentials
/// grant. The client secret never goes in a file: it is read from `client_secret_env`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename = "Entra")]
pub struct RawEntra {
    /// Directory (tenant) id: a GUID, or a verified domain such as `contoso.onmicrosoft.com`.
    pub tenant_id: Spanned<String>,
    /// Application (client) id of the app registration roster signs in as (a GUID). It needs
    /// the application permissions User.Read.All, GroupMember.Read.All and
    /// Application.Read.All.
    pub client_id: Spanned<String>,
    /// Name of the environment variable that holds the client secret. Default
    /// `ENTRA_CLIENT_SECRET`. Not a system, CI or cloud variable (`PATH`, `GITHUB_TOKEN`,
    /// `AWS_*`, …) nor a target token's (`token_env`, `ASANA_TOKEN`, `SCIM_TOKEN`).
    #[serde(default)]
    pub client_secret_env: Option<Spanned<String>>,
    /// Object id (a GUID) of the Asana enterprise application's service principal: its user
    /// and group assignments decide who is in scope, and its assigned groups become teams.
    pub service_principal_id: Spanned<String>,
    /// `assigned` (the default: users assigned to the app directly or through a group) or
    /// `all` (every user in the tenant), like Entra's "Sync only assigned users and groups".
    #[serde(default)]
    pub scope: Option<Spanned<EntraScope>>,
    /// Members of an assigned group that count as assigned: `direct` (the default, Entra's
    /// behaviour) or `transitive` (members of nested groups too).
    #[serde(default)]
    pub group_members: Option<Spanned<GroupMembers>>,
    /// Attribute-based scoping filters, in Entra's clause model: a user is in scope when every
    /// clause of at least one filter is true. Empty (the default): no attribute filter.
    #[serde(default)]
    pub scoping_filters: Vec<Spanned<RawScopingFilter>>,
    /// `seed` (the default: `roster import entra` writes YAML that goes through review) or
    /// `live` (plan, apply and drift read Entra each run and merge it with the YAML, whose
    /// values win).
    #[serde(default)]
    pub mode: Option<Spanned<EntraMode>>,
    /// Sign-in host, which receives the client secret. Default
    /// `https://login.microsoftonline.com`; national clouds use their own (US Government:
    /// `https://login.microsoftonline.us`, China: `https://login.chinacloudapi.cn` or
    /// `https://login.partner.microsoftonline.cn`); only these or a loopback address (the
    /// emulator, over `http://`). Tokens come from `{login_url}/{tenant_id}/oauth2/v2.0/token`.
    /// Pinned by `ROSTER_ENTRA_LOGIN_URL`: when set, a value here must equal it.
    #[serde(default)]
    pub login_url: Option<Spanned<String>>,
    /// Microsoft Graph host, which receives every access token. Default
    /// `https://graph.microsoft.com`; national clouds use their own (US Government:
    /// `https://graph.microsoft.us` or `https://dod-graph.microsoft.us`, China:
    /// `https://microsoftgraph.chinacloudapi.cn`); only these or a loopback address (over
    /// `http://`), in the same cloud as `login_url`. Requests go to `{graph_url}/v1.0/…`.
    /// Pinned by `ROSTER_ENTRA_GRAPH_URL`: when set, a value here must equal it.
    #[serde(default)]
    pub graph_url: Option<Spanned<String>>,
}

/// Which users Entra considers for provisioning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntraScope {
    /// Users assigned to the app, directly or through an assigned group.
    Assigned,
    /// Every user in the tenant (Entra's "Sync all users and groups").
    All,
}

/// Which members of an assigned group are assigned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum GroupMembers {
    /// Direct members only, as Entra provisions.
    Direct,
    /// Members of nested groups too.
    Transitive,
}

/// How Entra's users reach Asana.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntraMode {
    /// `roster import entra` writes YAML declarations; plan and apply read only the YAML.
    Seed,
    /// plan, apply and drift read Entra each run and merge it with the YAML (YAML wins).
    Live,
}

/// One scoping filter: true when every clause is true.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename = "ScopingFilter")]
pub struct RawScopingFilter {
    /// A title for the filter, shown in plans (Entra's "Scoping Filter Title").
    #[serde(default)]
    pub name: Option<Spanned<String>>,
    /// The clauses, AND-ed.
    pub clauses: Vec<Spanned<RawClause>>,
}

/// One clause: a source attribute, an operator and (for binary operators) a value.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename = "ScopingClause")]
pub struct RawClause {
    /// A single-valued source attribute, e.g. `department`, `employeeOrgData.division` or
    /// `accountEnabled`. `manager` and multi-valued attributes cannot be filtered (as in Entra).
    pub attribute: Spanned<String>,
    /// Entra's operator, written as in the Entra admin center (`EQUALS`, `NOT EQUALS`,
    /// `IS TRUE`, `IS FALSE`, `IS NULL`, `IS NOT NULL`, `REGEX MATCH`, `NOT REGEX MATCH`,
    /// `Includes`, `ENDS_WITH`, `Greater_Than`, `Greater_Than_OR_EQUALS`, `&`, `!&`); case,
    /// spaces and underscores do not matter. Every operator but `IS NULL` is false when the
    /// attribute is null or empty.
    pub operator: Spanned<String>,
    /// The value to compare with; required by every operator but `IS TRUE`, `IS FALSE`,
    /// `IS NULL` and `IS NOT NULL`, which take none. An integer for `Greater_Than` and
    /// `Greater_Than_OR_EQUALS`, a regular expression for the regex operators.
    #[serde(default)]
    pub value: Option<Spanned<ScalarString>>,
}

/// A scalar written as a string, a number or a boolean, kept as its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScalarString(pub String);

impl<'de> Deserialize<'de> for ScalarString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = ScalarString;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string, a number or a boolean")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<ScalarString, E> {
                Ok(ScalarString(v.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<ScalarString, E> {
                Ok(ScalarString(v.to_string()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<ScalarString, E> {
                Ok(ScalarString(v.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<ScalarString, E> {
                Ok(ScalarString(v.to_string()))
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<ScalarString, E> {
                Ok(ScalarString(if v { "True" } else { "False" }.to_string()))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

impl JsonSchema for ScalarString {
    fn schema_name() -> Cow<'static, str> {
        "Scalar".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": ["string", "number", "boolean"] })
    }
}
