//! The plan: what would change in the target, computed by a pure function of
//! (desired config, live state, options).
//!
//! No client, clock, environment or async in here: dry-run is "render the plan and stop".
//! Matching follows the mappings' precedence (userName by default), by [`match_key`]: NFC and
//! without case, so an address typed in another normal form or case is the same user. A
//! declared user whose key matches two live users is not acted on at all (neither is changed
//! nor deprovisioned, nothing is created): guessing would write to the wrong person. A changed
//! attribute is an update, never a delete and create. Deprovisioning is irreversible in
//! Asana, so every deprovision is counted against the policy's caps and protected users are
//! never deprovisioned.

pub mod drift;
pub mod live;
mod read;
pub mod source;

use std::collections::BTreeSet;

use serde_json::Value as Json;

use crate::config::model::{
    Apply, Config, DeprovisionWith, Group, Profile, SeatPrice, Unmanaged as UnmanagedPolicy,
    UnsetAttributes, User,
};
use crate::hash::{HashMap, HashMapExt};
use crate::mapping::{self, Flow, Mapped, MappedValue, MappingError};
pub use crate::names::match_key;
use crate::names::same_name;
use crate::scim::AttrPath;
use crate::teams;
pub use live::{Live, LiveGroup, LiveUser, ReportedUsers, UserText};

/// What the target can do that matters for planning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// Deprovisioned users can be made active again (Asana: no).
    pub reactivate: bool,
}

impl Capabilities {
    pub const ASANA: Capabilities = Capabilities { reactivate: false };
    /// An RFC 7644 server: `active` goes back to true like any other attribute.
    pub const GENERIC: Capabilities = Capabilities { reactivate: true };

    /// What a target profile allows.
    pub fn of(profile: Profile) -> Capabilities {
        match profile {
            Profile::Asana => Capabilities::ASANA,
            Profile::Generic => Capabilities::GENERIC,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    User,
    Group,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Action {
    Create,
    Update,
    Reactivate,
    AddMembers,
    RemoveMembers,
    Deprovision,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Reactivate => "reactivate",
            Action::AddMembers => "add_members",
            Action::RemoveMembers => "remove_members",
            Action::Deprovision => "deprovision",
        }
    }
}

/// One attribute's change. Values are as SCIM carries them; references (`manager`) are shown
/// by userName, and `None` means absent.
#[derive(Debug, Clone, PartialEq)]
pub struct AttrChange {
    pub path: String,
    pub before: Option<Json>,
    pub after: Option<Json>,
}

/// A team member added or removed: by key, with the SCIM id when the user exists already.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Member {
    pub key: String,
    pub id: Option<String>,
    /// Why a member is added, for a team with `member_rules`: `explicit` or the rule
    /// (`rule 1 "engineering"`, [`crate::teams::describe`]); `None` for removals and for
    /// teams without rules.
    pub via: Option<String>,
}

/// One change to one object.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub kind: Kind,
    /// userName (users) or displayName (groups), lowercased for users.
    pub key: String,
    pub action: Action,
    /// The live object's SCIM id; `None` for creates.
    pub id: Option<String>,
    pub attributes: Vec<AttrChange>,
    pub members: Vec<Member>,
    /// Why, when it is not obvious (`accountEnabled: false`, unmanaged by policy).
    pub reason: Option<String>,
    /// Where the values came from, when Entra is merged live; `None` otherwise.
    pub source: Option<source::Source>,
}

impl Change {
    /// `user["alice@example.com"]`, `group["Platform"]`.
    pub fn address(&self) -> String {
        address(self.kind, &self.key)
    }
}

pub fn address(kind: Kind, key: &str) -> String {
    let kind = match kind {
        Kind::User => "user",
        Kind::Group => "group",
    };
    format!("{kind}[{}]", serde_json::Value::String(key.to_string()))
}

/// A live user no declaration matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnmanagedUser {
    pub key: String,
    pub id: String,
}

/// Where the number of active users the percent cap counts against came from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ActiveCount {
    /// Counted in the live users read: every user was read.
    #[default]
    Read,
    /// The target's count of active users (`totalResults` of `filter=active eq true`), when
    /// only part of it was read (`--changed-since`).
    TargetActive,
    /// The target's count of every user it lists, because it cannot count active ones alone
    /// (Asana filters on userName only); deprovisioned users it still lists are counted too.
    TargetTotal,
    /// The target did not say: the percent cap is not applied, the count cap is.
    Unknown,
}

/// The deprovision caps, evaluated.
#[derive(Debug, Clone, PartialEq)]
pub struct DeprovisionGate {
    pub count: u64,
    pub live_active: u64,
    /// Where `live_active` came from.
    pub active_from: ActiveCount,
    pub max_count: u64,
    pub max_percent: f64,
    /// The plan deprovisions more than the caps allow: apply needs `--allow-deprovisions COUNT`.
    pub exceeded: bool,
    /// The config declares no user at all while the plan would deprovision: apply refuses.
    pub empty_desired: bool,
}

impl DeprovisionGate {
    pub fn percent(&self) -> f64 {
        if self.live_active == 0 {
            0.0
        } else {
            self.count as f64 * 100.0 / self.live_active as f64
        }
    }

    /// What the percent is of, e.g. `of 11 active users`, `of the 12 users the target lists`.
    pub fn percent_of(&self) -> String {
        let n = self.live_active;
        match self.active_from {
            ActiveCount::Read => format!("of {n} active users"),
            ActiveCount::TargetActive => format!("of {n} active users, as the target counts them"),
            ActiveCount::TargetTotal => format!("of the {n} users the target lists"),
            ActiveCount::Unknown => "percent cap not applied".into(),
        }
    }

    /// Which caps apply, for a plan that read only part of the target (`--changed-since`):
    /// `None` when every user was read, where both always do.
    pub fn caps_applied(&self) -> Option<String> {
        let count = self.max_count;
        let percent = self.max_percent;
        let n = self.live_active;
        Some(match self.active_from {
            ActiveCount::Read => return None,
            ActiveCount::TargetActive => format!(
                "Deprovision caps: count {count}, and percent {percent} of {n} active users (the target's count)"
            ),
            ActiveCount::TargetTotal => format!(
                "Deprovision caps: count {count}, and percent {percent} of the {n} users the target lists (it cannot count active users alone)"
            ),
            ActiveCount::Unknown => format!(
                "Deprovision caps: count {count} only; the target did not say how many users it has, so the percent cap ({percent}) is not applied"
            ),
        })
    }

    /// What apply will say, when it will refuse.
    pub fn message(&self) -> Option<String> {
        if self.empty_desired {
            return Some(format!(
                "the config declares no users: apply will refuse to deprovision {} users",
                self.count
            ));
        }
        self.exceeded.then(|| {
            let share = match self.active_from {
                ActiveCount::Unknown => String::new(),
                _ => format!(" ({:.1}% {})", self.percent(), self.percent_of()),
            };
            format!(
                "{} deprovisions{share} exceed the policy (count {}, percent {}): apply will refuse without --allow-deprovisions {}",
                self.count, self.max_count, self.max_percent, self.count
            )
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub create: u64,
    pub update: u64,
    pub reactivate: u64,
    pub deprovision: u64,
    pub add_members: u64,
    pub remove_members: u64,
    pub no_op: u64,
    pub unmanaged: u64,
}

impl Summary {
    /// Counts one change of `action`.
    pub fn count(&mut self, action: Action) {
        *match action {
            Action::Create => &mut self.create,
            Action::Update => &mut self.update,
            Action::Reactivate => &mut self.reactivate,
            Action::Deprovision => &mut self.deprovision,
            Action::AddMembers => &mut self.add_members,
            Action::RemoveMembers => &mut self.remove_members,
        } += 1;
    }
}

/// Access that ends within `policy.expiry_warning_days` of the plan's instant: a user's, or
/// one team membership.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expiring {
    /// The user (key).
    pub user: String,
    /// The team whose membership ends (displayName); `None` for the user's access itself.
    pub group: Option<String>,
    /// When it ends, as written (`2026-03-01`, or a timestamp).
    pub expires: String,
    /// The first second (since the epoch) at which it no longer holds.
    pub ends_at: i64,
    /// Whole days left at the plan's instant: 0 when it ends within the day (for a date:
    /// today, in UTC).
    pub days_left: i64,
}

impl Expiring {
    /// `user["a@x.io"]`, or `group["Platform"]` for a membership.
    pub fn address(&self) -> String {
        match &self.group {
            Some(g) => address(Kind::Group, g),
            None => address(Kind::User, &self.user),
        }
    }

    /// `expires in 3 days`, `expires tomorrow`, `expires today` (a date), `expires within a
    /// day` (a timestamp).
    pub fn in_words(&self) -> String {
        match self.days_left {
            0 if self.expires.len() == 10 => "expires today".into(),
            0 => "expires within a day".into(),
            1 => "expires tomorrow".into(),
            n => format!("expires in {n} days"),
        }
    }
}

/// How the count of active (billable) users changes: creates and reactivations add a seat,
/// deprovisions free one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Seats {
    pub added: u64,
    pub removed: u64,
    /// `policy.seat_price`, to say what the change costs a month.
    pub price: Option<SeatPrice>,
}

impl Seats {
    pub fn net(&self) -> i64 {
        self.added as i64 - self.removed as i64
    }

    /// The monthly cost change, when a price is set.
    pub fn monthly_cost(&self) -> Option<f64> {
        let p = self.price.as_ref()?;
        // Rounded to cents, so that -0.00 and float dust never show.
        Some((self.net() as f64 * p.amount * 100.0).round() / 100.0)
    }

    /// `Seats: +12, −3 (net +9)`, and with a price `: +98.91 USD a month`.
    pub fn line(&self) -> String {
        let net = match self.net() {
            0 => "0".to_string(),
            n if n > 0 => format!("+{n}"),
            n => format!("\u{2212}{}", n.unsigned_abs()),
        };
        let mut line = format!(
            "Seats: +{}, \u{2212}{} (net {net})",
            self.added, self.removed
        );
        if let (Some(cost), Some(p)) = (self.monthly_cost(), &self.price) {
            let sign = if cost > 0.0 {
                "+"
            } else if cost < 0.0 {
                "\u{2212}"
            } else {
                ""
            };
            line.push_str(&format!(": {sign}{:.2} {} a month", cost.abs(), p.currency));
        }
        line
    }
}

/// The plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub changes: Vec<Change>,
    pub unmanaged: Vec<UnmanagedUser>,
    pub summary: Summary,
    pub deprovision_gate: DeprovisionGate,
    /// How deprovisions are carried out.
    pub deprovision_with: DeprovisionWith,
    /// Things the reviewer should know that are not changes (a protected user the files
    /// disable, a user Asana cannot reactivate).
    pub warnings: Vec<String>,
    /// Whether unmanaged users were looked for (not under `--changed-since`).
    pub unmanaged_checked: bool,
    /// Declared, enabled users that are deprovisioned live and that the target cannot
    /// reactivate (keys). Each also has a warning.
    pub reactivation_blocked: Vec<String>,
    /// SCIM ids of the live users the changes refer to (managers, team members), by key, so
    /// apply resolves references without reading them again.
    pub references: std::collections::BTreeMap<String, String>,
    /// The target profile planned for, which names the target in reports.
    pub profile: Profile,
    /// The instant the plan was evaluated at (seconds since the epoch): `expires` is judged
    /// against it.
    pub evaluated_at: i64,
    /// Users and team memberships whose access ends within `policy.expiry_warning_days`,
    /// soonest first.
    pub expiring: Vec<Expiring>,
    /// How the count of active users changes.
    pub seats: Seats,
}

impl Plan {
    pub fn has_changes(&self) -> bool {
        !self.changes.is_empty()
    }
}

/// What to plan: which declared objects (all, or only these keys: `--changed-since`,
/// `--target`), and as of when.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub users: Option<BTreeSet<String>>,
    pub groups: Option<BTreeSet<String>>,
    /// The instant to plan at, in seconds since the epoch: `expires` is judged against it.
    /// The command layer gives the clock's time or `--at`; the planner never reads a clock.
    pub at: i64,
    /// Keep only what expiry causes (`apply --expired-only`): deprovisions of users whose
    /// `expires` has come, and removals from teams of those users and of memberships that
    /// ended. Everything else the plan would do is left for another run.
    pub expired_only: bool,
    /// `--target`: the scoped users also bring what they need. A declared manager (and its
    /// manager, up the chain) that is not in the target is created with them, and each
    /// declared team outside `groups` that lists one of them gets that user added, and
    /// nothing else of the team.
    pub targeted: bool,
}

/// Why a `--target` address cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{address}` is not an address: write it as the plan prints it, e.g. \
     user[\"ada@example.com\"] or group[\"Platform\"] ({why})"
)]
pub struct AddressError {
    pub address: String,
    pub why: &'static str,
}

/// Reads an address as [`address`] writes it: `user["…"]` or `group["…"]`, the name a JSON
/// string (so `\"` and `\u00e9` escapes work). Pure.
pub fn parse_address(text: &str) -> Result<(Kind, String), AddressError> {
    // An address of any length is named in the error, cut to a readable length.
    let fail = |why| AddressError {
        address: text.chars().take(200).collect(),
        why,
    };
    let text = text.trim();
    let (kind, rest) = if let Some(rest) = text.strip_prefix("user[") {
        (Kind::User, rest)
    } else if let Some(rest) = text.strip_prefix("group[") {
        (Kind::Group, rest)
    } else {
        return Err(fail("it must start with user[ or group["));
    };
    let name = rest
        .strip_suffix(']')
        .ok_or_else(|| fail("it must end with ]"))?;
    let name: String = match serde_json::from_str(name) {
        Ok(Json::String(s)) => s,
        _ => return Err(fail("the name must be a string in double quotes")),
    };
    if name.trim().is_empty() {
        return Err(fail("the name is empty"));
    }
    if name.chars().any(char::is_control) {
        return Err(fail("the name has a control character"));
    }
    Ok((kind, name))
}

/// Computes the plan. Pure.
pub fn plan(config: &Config, live: &Live, caps: Capabilities, scope: &Scope) -> Plan {
    let mut plan = Planner::new(config, live, caps, scope.at).run(scope);
    source::annotate(&mut plan, config);
    plan
}

struct Planner<'a> {
    config: &'a Config,
    live: &'a Live,
    caps: Capabilities,
    /// The instant planned at.
    at: i64,
    /// Live users by each matching target's value's [`match_key`]: one index per matching
    /// mapping, in precedence order. More than one user under a key is an ambiguous match.
    match_indexes: Vec<(&'static str, HashMap<String, Vec<usize>>)>,
    /// Live user by id.
    by_id: HashMap<&'a str, usize>,
    /// The targets whose live value is cleared when their mapping yields nothing
    /// ([`clearable`]); empty with `policy.unset_attributes: keep`.
    clearable: Vec<(&'static str, AttrPath)>,
    /// Each user mapping's target path, parsed once rather than once per user, in the order of
    /// the mappings (the order of [`mapping::Mapped::attributes`]).
    paths: Vec<(&'static str, AttrPath)>,
    /// Reads the values at those paths, then at the clearable ones, from a live resource.
    reads: read::Reader,
    /// Which live user each declared user matched (by declared user key).
    matched: HashMap<String, usize>,
    /// Declared users whose key matches several live users (by declared user key): the plan
    /// does nothing for them, and none of those live users is unmanaged.
    ambiguous: HashMap<String, Vec<usize>>,
    /// Declared users the plan creates (keys).
    created: BTreeSet<String>,
    changes: Vec<Change>,
    warnings: Vec<String>,
    reactivation_blocked: Vec<String>,
    no_op: u64,
}

impl<'a> Planner<'a> {
    fn new(config: &'a Config, live: &'a Live, caps: Capabilities, at: i64) -> Self {
        let mappings = &config.settings.user_mappings;
        let matching: Vec<(&'static str, AttrPath)> = (mappings.iter())
            .filter(|m| m.match_priority.is_some())
            .map(|m| {
                let path = AttrPath::parse(m.target.path).expect("known targets parse");
                (m.target.path, path)
            })
            .collect();
        let mut match_indexes: Vec<(&'static str, HashMap<String, Vec<usize>>)> = (matching.iter())
            .map(|(t, _)| (*t, HashMap::with_capacity(live.users.len())))
            .collect();
        // userName is at hand; anything else means reading the resource, once for them all.
        let from_resource = read::Reader::of(
            (matching.iter())
                .filter(|(t, _)| *t != "userName")
                .map(|(_, p)| p),
        );
        let any_from_resource = matching.iter().any(|(t, _)| *t != "userName");
        for (i, u) in live.users.iter().enumerate() {
            let values = any_from_resource.then(|| from_resource.read(u));
            // The index of each target other than userName among them, as the reader has it.
            let mut read = 0;
            for ((target, _), (_, index)) in matching.iter().zip(&mut match_indexes) {
                let key = match &values {
                    Some(v) if *target != "userName" => {
                        read += 1;
                        comparable(from_resource.get(v, read - 1))
                    }
                    _ => Some(match_key(&u.user_name)),
                };
                if let Some(key) = key {
                    index.entry(key).or_default().push(i);
                }
            }
        }
        let paths: Vec<(&'static str, AttrPath)> = (mappings.iter())
            .filter_map(|m| Some((m.target.path, AttrPath::parse(m.target.path).ok()?)))
            .collect();
        let clearable = clearable(config);
        let reads = read::Reader::of(paths.iter().chain(&clearable).map(|(_, p)| p));
        Planner {
            config,
            live,
            caps,
            at,
            match_indexes,
            clearable,
            by_id: live
                .users
                .iter()
                .enumerate()
                .map(|(i, u)| (u.id.as_str(), i))
                .collect(),
            reads,
            paths,
            matched: HashMap::with_capacity(config.users.len()),
            ambiguous: HashMap::new(),
            created: BTreeSet::new(),
            changes: Vec::new(),
            warnings: Vec::new(),
            reactivation_blocked: Vec::new(),
            no_op: 0,
        }
    }

    fn run(mut self, scope: &Scope) -> Plan {
        let in_scope = |set: &Option<BTreeSet<String>>, key: &str| {
            set.as_ref().is_none_or(|s| s.contains(key))
        };
        // Scope keys come from outside (`--changed-since`); key them as declared users are.
        let mut scope = Scope {
            users: (scope.users.as_ref()).map(|s| s.iter().map(|k| match_key(k)).collect()),
            groups: scope.groups.clone(),
            at: scope.at,
            expired_only: scope.expired_only,
            targeted: scope.targeted,
        };
        // `--target`: the users whose team memberships are planned (not the managers below).
        let members_of = scope.users.clone().filter(|_| scope.targeted);
        let config = self.config;
        let declared = &config.users;
        let mappings = &config.settings.user_mappings;
        // Each declared user's key, normalised once.
        let keys: Vec<String> = declared.iter().map(User::key).collect();
        // Match every declared user first, so manager and member references resolve whatever
        // the order of declaration. Matching needs only the matching mappings' values. Each
        // user's match is also kept by position, for the passes below: a lookup by key in a
        // table of 100,000 costs a few cache misses.
        let mut found = Vec::with_capacity(declared.len());
        for (u, key) in declared.iter().zip(&keys) {
            let mut one = None;
            match self.find_live(&mapping::map_user_matching(mappings, u)) {
                Found::One(i) => {
                    self.matched.insert(key.clone(), i);
                    one = Some(i);
                }
                Found::Many(live) => {
                    self.ambiguous.insert(key.clone(), live);
                }
                Found::None => {}
            }
            found.push(one);
        }
        if let (true, Some(users)) = (scope.targeted, scope.users.as_mut()) {
            self.needed_managers(users);
        }
        // And know who will be created, so a manager who will not exist is never referred to.
        // The create-flow mapping of each is kept for planning its create; a matched user is
        // mapped once, on update, when its change is planned.
        let mut create_mapped = Vec::with_capacity(declared.len());
        for ((u, key), one) in declared.iter().zip(&keys).zip(&found) {
            let mut kept = None;
            if one.is_none()
                && !self.ambiguous.contains_key(key)
                && in_scope(&scope.users, key)
                && !u.expired_at(self.at)
            {
                let mapped = mapping::map_user(mappings, u, true, Flow::Create);
                if mapped.as_ref().is_ok_and(|m| desired_active(m, u)) {
                    self.created.insert(key.clone());
                }
                kept = Some(mapped);
            }
            create_mapped.push(kept);
        }
        for (((u, key), one), kept) in declared.iter().zip(&keys).zip(found).zip(create_mapped) {
            if in_scope(&scope.users, key) {
                self.user(u, key, one, kept);
            }
        }
        // With every live user read, any unmatched one is unmanaged. With only some read
        // (`--changed-since`), only the users whose declarations were removed are.
        let unmanaged = match &scope.users {
            None if self.live.complete => self.unmanaged(None),
            None => Vec::new(),
            Some(keys) => {
                let removed: BTreeSet<String> = keys
                    .iter()
                    .filter(|k| self.config.user(k).is_none())
                    .cloned()
                    .collect();
                self.unmanaged(Some(&removed))
            }
        };
        for g in &self.config.groups {
            if in_scope(&scope.groups, &g.key()) {
                self.group(g, None);
            } else if let Some(users) = &members_of
                && teams::members(self.config, g, |u| u.provisioned_at(self.at))
                    .iter()
                    .any(|m| users.contains(&match_key(&m.upn)))
            {
                self.group(g, Some(users));
            }
        }
        let expiring = self.expiring(&scope);
        let checked = scope.users.is_none() && self.live.complete;
        if scope.expired_only {
            self.keep_expiries();
        }
        self.finish(unmanaged, checked, expiring)
    }

    /// Drops every change that expiry does not cause (`Scope::expired_only`).
    fn keep_expiries(&mut self) {
        let at = self.at;
        let config = self.config;
        let expired_user = |key: &str| config.user(key).is_some_and(|u| u.expired_at(at));
        let ended = |group: &str, key: &str| {
            (config.groups.iter())
                .find(|g| g.display_name == group)
                .is_some_and(|g| g.membership_expired_at(key, at))
        };
        self.changes.retain_mut(|c| match (c.kind, c.action) {
            (Kind::User, Action::Deprovision) => {
                expired_user(&c.key)
                    && c.reason
                        .as_deref()
                        .is_some_and(|r| r.starts_with("expired on "))
            }
            (Kind::Group, Action::RemoveMembers) => {
                c.members
                    .retain(|m| expired_user(&m.key) || ended(&c.key, &m.key));
                !c.members.is_empty()
            }
            _ => false,
        });
    }

    /// The planned users and memberships whose access ends within the warning window, soonest
    /// first. Only access that still holds and that the plan keeps: a disabled user, or a
    /// membership of one, has nothing left to expire.
    fn expiring(&self, scope: &Scope) -> Vec<Expiring> {
        let at = self.at;
        let window = i64::from(self.config.settings.policy.expiry_warning_days);
        let soon = |user: &str, group: Option<&str>, e: &crate::config::model::Expiry| {
            let days_left = (e.ends_at - 1 - at).div_euclid(86_400);
            (!e.expired_at(at) && days_left <= window).then(|| Expiring {
                user: match_key(user),
                group: group.map(str::to_string),
                expires: e.written.clone(),
                ends_at: e.ends_at,
                days_left,
            })
        };
        let planned = |set: &Option<BTreeSet<String>>, key: &str| {
            set.as_ref().is_none_or(|s| s.contains(key))
        };
        let mut out = Vec::new();
        for u in &self.config.users {
            if let Some(e) = &u.expires
                && u.provisioned()
                && planned(&scope.users, &u.key())
            {
                out.extend(soon(&u.upn, None, e));
            }
        }
        for g in &self.config.groups {
            if !planned(&scope.groups, &g.key()) {
                continue;
            }
            for (key, e) in &g.member_expires {
                if self.config.user(key).is_none_or(|u| u.provisioned_at(at)) {
                    out.extend(soon(key, Some(&g.display_name), e));
                }
            }
        }
        out.sort_by(|a, b| (a.ends_at, &a.user, &a.group).cmp(&(b.ends_at, &b.user, &b.group)));
        out
    }

    /// Adds to `users` the declared managers they need that are not in the target (matched
    /// to no live user), and theirs up the chain (`--target`): the plan creates them, so the
    /// manager references can be sent. Managers in the target are only referred to.
    fn needed_managers(&self, users: &mut BTreeSet<String>) {
        let mut todo: Vec<String> = users.iter().cloned().collect();
        while let Some(key) = todo.pop() {
            let Some(manager) = self.config.user(&key).and_then(User::manager) else {
                continue;
            };
            let manager = match_key(manager);
            let missing = self.config.user(&manager).is_some()
                && !self.matched.contains_key(&manager)
                && !self.ambiguous.contains_key(&manager);
            if missing && users.insert(manager.clone()) {
                todo.push(manager);
            }
        }
    }

    /// The live user a declared one matches: by the first matching target (in precedence
    /// order) whose value some live user has, in `mapped`, the values of its matching mappings
    /// on create and in scope ([`mapping::map_user_matching`]).
    fn find_live(&self, mapped: &Result<Mapped, Vec<MappingError>>) -> Found {
        let Ok(mapped) = mapped else {
            return Found::None;
        };
        let hit = self.match_indexes.iter().find_map(|(target, index)| {
            let value = match mapped.get(target)? {
                MappedValue::String(s) => match_key(s),
                _ => return None,
            };
            index.get(&value)
        });
        match hit.map(Vec::as_slice) {
            None | Some([]) => Found::None,
            Some([i]) => Found::One(*i),
            Some(many) => Found::Many(many.to_vec()),
        }
    }

    fn protected(&self, user_name: &str) -> bool {
        self.config.settings.policy.is_protected(user_name)
    }

    /// `matched` is the live user it matched alone (its index in `live.users`);
    /// `create_mapped` is the user's create-flow mapping in scope, when it was kept.
    fn user(
        &mut self,
        u: &User,
        key: &str,
        matched: Option<usize>,
        create_mapped: Option<Result<Mapped, Vec<MappingError>>>,
    ) {
        if let Some(live) = self.ambiguous.get(key) {
            let ids: Vec<String> = live
                .iter()
                .map(|&i| {
                    let l = &self.live.users[i];
                    format!("{} ({:?})", l.id, l.user_name)
                })
                .collect();
            self.warnings.push(format!(
                "{} matches {} live users: {}; roster plans nothing for it (no change, no \
                 create, and none of them is deprovisioned as unmanaged) until only one is \
                 left: merge or rename the others in the target",
                address(Kind::User, key),
                ids.len(),
                ids.join(", ")
            ));
            return;
        }
        let live = matched.map(|i| &self.live.users[i]);
        let flow = if live.is_some() {
            Flow::Update
        } else {
            Flow::Create
        };
        // An expired user is out of scope from its expiry on: `IsSoftDeleted` is true, and
        // whatever the `active` mapping says, the account is not kept.
        let expired = u.expired_at(self.at);
        // Validation evaluated every mapping already; a failure here means the config changed
        // under us, and skipping the user is the safe answer.
        let mapped = match create_mapped {
            Some(m) if !expired && flow == Flow::Create => m,
            _ => mapping::map_user(&self.config.settings.user_mappings, u, !expired, flow),
        };
        let Ok(mapped) = mapped else {
            self.warnings.push(format!(
                "{}: a mapping failed; the user is skipped",
                address(Kind::User, key)
            ));
            return;
        };
        let desired_active = desired_active(&mapped, u) && !expired;
        let Some(live) = live else {
            if desired_active {
                let mapped = self.without_missing_references(key, mapped);
                let attributes = (mapped.in_path_order().into_iter())
                    .map(|(path, v)| AttrChange {
                        path: path.to_string(),
                        before: None,
                        after: Some(show(v)),
                    })
                    .collect();
                self.push(Kind::User, key, Action::Create, None, attributes, None);
            }
            return;
        };
        match (live.active, desired_active) {
            (true, false) => {
                // Expiry is the reason only when nothing else would deprovision the user.
                let expiry = (u.expires.as_ref()).filter(|_| {
                    expired && desired_active_but_for_expiry(&self.config.settings.user_mappings, u)
                });
                if self.protected(&live.user_name) {
                    let why = match expiry {
                        Some(e) => format!("its access expired on {}", e.written),
                        None => "the files disable it".into(),
                    };
                    self.warnings.push(format!(
                        "{} is protected by policy: it is not deprovisioned although {why}",
                        address(Kind::User, key)
                    ));
                    self.no_op += 1;
                } else {
                    let id = Some(live.id.clone());
                    let reason = match expiry {
                        Some(e) => format!("expired on {}", e.written),
                        None => self.config.deprovision_reason(u),
                    };
                    self.push(
                        Kind::User,
                        key,
                        Action::Deprovision,
                        id,
                        Vec::new(),
                        Some(reason),
                    );
                }
                return;
            }
            (false, false) => {
                self.no_op += 1;
                return;
            }
            (false, true) if !self.caps.reactivate => {
                self.reactivation_blocked.push(key.to_string());
                self.warnings.push(format!(
                    "{} is deprovisioned in Asana, which cannot reactivate users through SCIM; \
                     reactivate it in the admin console or set accountEnabled: false",
                    address(Kind::User, key)
                ));
                self.no_op += 1;
                return;
            }
            _ => {}
        }
        let unset: Vec<usize> = (0..self.clearable.len())
            .filter(|&i| mapped.get(self.clearable[i].0).is_none())
            .collect();
        let mapped = self.without_missing_references(key, mapped);
        let attributes = self.diff(&mapped, &unset, live);
        let id = Some(live.id.clone());
        if !live.active {
            let mut attributes = attributes;
            attributes.insert(
                0,
                AttrChange {
                    path: "active".into(),
                    before: Some(Json::Bool(false)),
                    after: Some(Json::Bool(true)),
                },
            );
            self.push(Kind::User, key, Action::Reactivate, id, attributes, None);
        } else if attributes.is_empty() {
            self.no_op += 1;
        } else {
            self.push(Kind::User, key, Action::Update, id, attributes, None);
        }
    }

    /// Leaves out references (`manager`) to declared users who are not in the target and that
    /// the plan does not create (disabled, or out of scope): there is no id to send, and
    /// planning the change would make it fail on every apply. The reviewer is told.
    fn without_missing_references(
        &mut self,
        key: &str,
        mut mapped: mapping::Mapped,
    ) -> mapping::Mapped {
        let mut missing = Vec::new();
        mapped.attributes.retain(|(_, v)| match v {
            MappedValue::UserRef(upn) => {
                let upn = match_key(upn);
                let exists = self.matched.contains_key(&upn) || self.created.contains(&upn);
                if !exists {
                    missing.push(upn);
                }
                exists
            }
            _ => true,
        });
        for upn in missing {
            let why = if self.ambiguous.contains_key(&upn) {
                "matches several live users".to_string()
            } else {
                format!(
                    "is not in {} and this plan does not create it (accountEnabled: false, or \
                     out of scope)",
                    self.config.settings.target.profile.target_name()
                )
            };
            self.warnings.push(format!(
                "{}: its manager `{upn}` {why}, so no manager is sent",
                address(Kind::User, key)
            ));
        }
        mapped
    }

    /// Attribute-by-attribute differences between what the mappings give and what is live.
    /// `unset` are the clearable targets (indexes into `clearable`) the mappings gave nothing
    /// for, before references to missing managers were left out: a manager who is not there
    /// is not a manager removed.
    fn diff(&self, mapped: &mapping::Mapped, unset: &[usize], live: &LiveUser) -> Vec<AttrChange> {
        let mut out = Vec::new();
        let values = self.reads.read(live);
        for &i in unset {
            let path = self.clearable[i].0;
            let current = self.reads.get(&values, self.paths.len() + i);
            let Some(current) = current.filter(|v| has_value(v)) else {
                continue;
            };
            let before = if path.ends_with(":manager") {
                let id = match current {
                    Json::Object(_) => current.get("value").and_then(live::id_of_value),
                    other => live::id_of_value(other),
                };
                // A manager who is no user the target lists (a guest, whom Asana leaves out
                // of /Users, or a dangling id) is left alone: roster cannot tell which.
                match id.as_deref().and_then(|id| self.by_id.get(id)) {
                    Some(&i) => Json::String(match_key(&self.live.users[i].user_name)),
                    None => continue,
                }
            } else {
                current.clone()
            };
            out.push(AttrChange {
                path: path.to_string(),
                before: Some(before),
                after: None,
            });
        }
        // The attributes come in the order of the paths: each is found from the last one on.
        let mut next = 0;
        for (path, value) in &mapped.attributes {
            let found = (self.paths.iter().enumerate().skip(next))
                .chain(self.paths.iter().enumerate())
                .find(|(_, (p, _))| mapping::same_target(p, path));
            if let Some((i, _)) = found {
                next = i + 1;
            }
            if *path == "active" {
                continue;
            }
            let (parsed, whole);
            let current = match found {
                Some((i, _)) => self.reads.get(&values, i),
                None => {
                    parsed = AttrPath::parse(path).expect("known targets parse");
                    whole = live.resource();
                    parsed.get(&whole)
                }
            };
            // The values are built only for a change: most attributes are equal.
            let (before, after) = match value {
                MappedValue::UserRef(upn) => {
                    let current_id = current.and_then(|c| match c {
                        Json::Object(_) => c.get("value").and_then(live::id_of_value),
                        other => live::id_of_value(other),
                    });
                    let upn = match_key(upn);
                    let desired_id = (self.matched.get(&upn)).map(|&i| &self.live.users[i].id);
                    if desired_id.is_some() && desired_id == current_id.as_ref() {
                        continue;
                    }
                    let before = current_id.as_ref().map(|id| self.user_name_of(id));
                    (before, Json::String(upn))
                }
                other => {
                    if current.is_some_and(|c| equal_mapped(path, c, other)) {
                        continue;
                    }
                    (current.cloned(), show(other))
                }
            };
            out.push(AttrChange {
                path: path.to_string(),
                before,
                after: Some(after),
            });
        }
        out.sort_unstable_by(|a, b| a.path.cmp(&b.path));
        out
    }

    /// The userName of a live user id, or the id when it is not a known user.
    fn user_name_of(&self, id: &str) -> Json {
        Json::String(match self.by_id.get(id) {
            Some(&i) => match_key(&self.live.users[i].user_name),
            None => id.to_string(),
        })
    }

    fn unmanaged(&mut self, only: Option<&BTreeSet<String>>) -> Vec<UnmanagedUser> {
        // Live users an ambiguous declaration matches are claimed, not unmanaged: which of
        // them the declaration means is for a person to decide.
        let mut matched = vec![false; self.live.users.len()];
        for &i in (self.matched.values()).chain(self.ambiguous.values().flatten()) {
            matched[i] = true;
        }
        let mut out = Vec::new();
        for (i, u) in self.live.users.iter().enumerate() {
            if matched[i] || !u.active || self.protected(&u.user_name) {
                continue;
            }
            let key = match_key(&u.user_name);
            if only.is_some_and(|keys| !keys.contains(&key)) {
                continue;
            }
            match self.config.settings.policy.unmanaged {
                UnmanagedPolicy::Ignore => {}
                UnmanagedPolicy::Report => out.push(UnmanagedUser {
                    key,
                    id: u.id.clone(),
                }),
                UnmanagedPolicy::Deprovision => {
                    let id = Some(u.id.clone());
                    self.push(
                        Kind::User,
                        &key,
                        Action::Deprovision,
                        id,
                        Vec::new(),
                        Some("not declared (policy.unmanaged: deprovision)".into()),
                    );
                }
            }
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        out
    }

    /// Plans a declared team; with `only` (`--target`), just the additions of those users,
    /// to a team that exists.
    fn group(&mut self, declared: &Group, only: Option<&BTreeSet<String>>) {
        let key = declared.display_name.clone();
        // The members the config decides (rules, explicit, excludes; only users who should
        // hold an account at the plan's instant: not disabled, out of scope or expired), which
        // the mappings see as `[members]`.
        let at = self.at;
        let resolved = teams::members(self.config, declared, |u| u.provisioned_at(at));
        let via: HashMap<String, String> = match declared.member_rules.is_empty() {
            true => HashMap::new(),
            false => (resolved.iter())
                .map(|m| (match_key(&m.upn), teams::describe(declared, m.via)))
                .collect(),
        };
        let g = &Group {
            members: resolved.into_iter().map(|m| m.upn).collect(),
            ..declared.clone()
        };
        let Ok(mapped) = mapping::map_group(&self.config.settings.group_mappings, g, Flow::Update)
        else {
            self.warnings.push(format!(
                "{}: a mapping failed; the group is skipped",
                address(Kind::Group, &key)
            ));
            return;
        };
        // Members who should be active; disabled and out-of-scope users are not added to teams,
        // nor are users deprovisioned live that the target cannot reactivate: Asana refuses them
        // as members, so the change could never be applied and the plan would never converge.
        let cannot_join = |key: &str| {
            !self.caps.reactivate
                && self
                    .matched
                    .get(key)
                    .is_some_and(|&i| !self.live.users[i].active)
        };
        // A member whose declaration matches several live users is neither added nor, below,
        // removed: the user's own warning says why.
        let desired: Vec<Member> = match mapped.get("members") {
            Some(MappedValue::UserRefs(upns)) => upns
                .iter()
                .filter(|upn| self.config.user(upn).is_none_or(|u| u.provisioned_at(at)))
                // A membership that ended is removed; the user stays in the other teams.
                .filter(|upn| !g.membership_expired_at(upn, at))
                .map(|upn| match_key(upn))
                .filter(|key| !cannot_join(key) && !self.ambiguous.contains_key(key))
                .filter(|key| only.is_none_or(|o| o.contains(key)))
                .map(|key| Member {
                    id: self
                        .matched
                        .get(&key)
                        .map(|&i| self.live.users[i].id.clone()),
                    via: via.get(&key).cloned(),
                    key,
                })
                .collect(),
            _ => Vec::new(),
        };
        // A member who is not in the target and whom this plan does not create (a partial
        // plan: `--target`, `--changed-since`) has no id to send: left out, and said.
        let (desired, absent): (Vec<Member>, Vec<Member>) =
            (desired.into_iter()).partition(|m| m.id.is_some() || self.created.contains(&m.key));
        for m in absent {
            self.warnings.push(format!(
                "{}: member `{}` is not in {} and this plan does not create it, so it is not \
                 added; plan it too (e.g. --target {})",
                address(Kind::Group, &key),
                m.key,
                self.config.settings.target.profile.target_name(),
                address(Kind::User, &m.key)
            ));
        }
        let ambiguous_ids: BTreeSet<&str> = (self.ambiguous.values().flatten())
            .map(|&i| self.live.users[i].id.as_str())
            .collect();
        let live = self.live.groups.iter().find(|lg| {
            lg.display_name.eq_ignore_ascii_case(&g.display_name)
                || lg.display_name.to_lowercase() == g.key()
        });
        let Some(live) = live else {
            if only.is_some() {
                self.warnings.push(format!(
                    "{}: the team is not in {}, so its targeted members are not added; target \
                     the team too to create it",
                    address(Kind::Group, &key),
                    self.config.settings.target.profile.target_name()
                ));
                return;
            }
            let mut attributes = vec![AttrChange {
                path: "displayName".into(),
                before: None,
                after: Some(Json::String(g.display_name.clone())),
            }];
            if !desired.is_empty() {
                attributes.push(AttrChange {
                    path: "members".into(),
                    before: None,
                    after: Some(Json::Array(
                        desired
                            .iter()
                            .map(|m| Json::String(m.key.clone()))
                            .collect(),
                    )),
                });
            }
            let change = Change {
                members: desired,
                ..self.change(Kind::Group, &key, Action::Create, None, attributes, None)
            };
            self.changes.push(change);
            return;
        };
        let live_ids: BTreeSet<&str> = live.member_ids.iter().map(String::as_str).collect();
        let add: Vec<Member> = desired
            .iter()
            .filter(|m| m.id.as_deref().is_none_or(|id| !live_ids.contains(id)))
            .cloned()
            .collect();
        let desired_ids: BTreeSet<&str> = desired.iter().filter_map(|m| m.id.as_deref()).collect();
        // A team planned only for some users (`--target`) loses no one.
        let remove: Vec<Member> = (live.member_ids.iter())
            .filter(|_| only.is_none())
            .filter(|id| !desired_ids.contains(id.as_str()) && !ambiguous_ids.contains(id.as_str()))
            .filter(|id| {
                self.by_id
                    .get(id.as_str())
                    .is_none_or(|&i| self.live.users[i].active)
            })
            .map(|id| Member {
                key: match self.by_id.get(id.as_str()) {
                    Some(&i) => match_key(&self.live.users[i].user_name),
                    None => id.clone(),
                },
                id: Some(id.clone()),
                via: None,
            })
            .collect();
        if add.is_empty() && remove.is_empty() && only.is_none() {
            self.no_op += 1;
        }
        // Removals of memberships that ended say so.
        let ended: Vec<String> = (remove.iter())
            .filter_map(|m| {
                let e = g.membership_expires(&m.key)?;
                e.expired_at(at).then(|| {
                    format!(
                        "membership of {} expired on {}",
                        Json::String(m.key.clone()),
                        e.written
                    )
                })
            })
            .collect();
        let removal_reason = (!ended.is_empty()).then(|| ended.join("; "));
        for (action, members) in [(Action::AddMembers, add), (Action::RemoveMembers, remove)] {
            if !members.is_empty() {
                let reason = match action {
                    Action::RemoveMembers => removal_reason.clone(),
                    _ => None,
                };
                let change = Change {
                    members,
                    ..self.change(
                        Kind::Group,
                        &key,
                        action,
                        Some(live.id.clone()),
                        Vec::new(),
                        reason,
                    )
                };
                self.changes.push(change);
            }
        }
    }

    fn change(
        &self,
        kind: Kind,
        key: &str,
        action: Action,
        id: Option<String>,
        attributes: Vec<AttrChange>,
        reason: Option<String>,
    ) -> Change {
        Change {
            kind,
            key: key.to_string(),
            action,
            id,
            attributes,
            members: Vec::new(),
            reason,
            source: None,
        }
    }

    fn push(
        &mut self,
        kind: Kind,
        key: &str,
        action: Action,
        id: Option<String>,
        attributes: Vec<AttrChange>,
        reason: Option<String>,
    ) {
        let change = self.change(kind, key, action, id, attributes, reason);
        self.changes.push(change);
    }

    fn finish(
        mut self,
        unmanaged: Vec<UnmanagedUser>,
        unmanaged_checked: bool,
        expiring: Vec<Expiring>,
    ) -> Plan {
        let mut references = std::collections::BTreeMap::new();
        for c in &self.changes {
            let referenced = c
                .attributes
                .iter()
                .filter(|a| a.path.ends_with(":manager"))
                .filter_map(|a| a.after.as_ref().and_then(Json::as_str))
                .chain(c.members.iter().map(|m| m.key.as_str()));
            for key in referenced {
                if let Some(&i) = self.matched.get(key) {
                    references.insert(key.to_string(), self.live.users[i].id.clone());
                }
            }
        }
        self.changes
            .sort_by(|a, b| (a.kind, &a.key, a.action).cmp(&(b.kind, &b.key, b.action)));
        let mut summary = Summary {
            no_op: self.no_op,
            unmanaged: unmanaged.len() as u64,
            ..Summary::default()
        };
        for c in &self.changes {
            summary.count(c.action);
        }
        let policy = &self.config.settings.policy;
        // With part of the organisation read (`--changed-since`) the target's own count is
        // used; when it gave none, 0 disables the percent cap, and the count cap still holds.
        let (live_active, active_from) = match (self.live.complete, self.live.reported_users) {
            (true, _) => (
                self.live.users.iter().filter(|u| u.active).count() as u64,
                ActiveCount::Read,
            ),
            (false, Some(r)) if r.active_only => (r.count, ActiveCount::TargetActive),
            (false, Some(r)) => (r.count, ActiveCount::TargetTotal),
            (false, None) => (0, ActiveCount::Unknown),
        };
        let mut gate = DeprovisionGate {
            count: summary.deprovision,
            live_active,
            active_from,
            max_count: policy.max_deprovisions.count,
            max_percent: policy.max_deprovisions.percent,
            exceeded: false,
            // Users out of Entra's scope are there only to be deprovisioned: they do not count.
            empty_desired: summary.deprovision > 0 && self.config.users.iter().all(|u| !u.in_scope),
        };
        gate.exceeded = gate.count > gate.max_count || gate.percent() > gate.max_percent;
        let seats = Seats {
            added: summary.create + summary.reactivate,
            removed: summary.deprovision,
            price: policy.seat_price.clone(),
        };
        Plan {
            changes: self.changes,
            unmanaged,
            summary,
            deprovision_gate: gate,
            deprovision_with: policy.deprovision_with,
            warnings: self.warnings,
            unmanaged_checked,
            reactivation_blocked: self.reactivation_blocked,
            references,
            profile: self.config.settings.target.profile,
            evaluated_at: self.at,
            expiring,
            seats,
        }
    }
}

/// Whether the config wants the declared user `key` active in the target at `at` (seconds
/// since the epoch), as the planner decides it (the `active` mapping, else `accountEnabled`;
/// never past its `expires`); `None` when `key` is not declared or its mappings fail. Apply
/// uses it, at the instant the saved plan was evaluated at, to refuse a saved plan's
/// deprovision the config contradicts.
pub fn wants_active(config: &Config, key: &str, at: i64) -> Option<bool> {
    let u = config.user(key)?;
    let expired = u.expired_at(at);
    let mapped =
        mapping::map_user(&config.settings.user_mappings, u, !expired, Flow::Create).ok()?;
    Some(desired_active(&mapped, u) && !expired)
}

/// Whether the mappings would keep `u` active if it had not expired: then its expiry is why it
/// is deprovisioned.
fn desired_active_but_for_expiry(mappings: &[crate::config::model::Mapping], u: &User) -> bool {
    mapping::map_user(mappings, u, true, Flow::Update).is_ok_and(|m| desired_active(&m, u))
}

/// Whether the mappings make the user active (the `active` target), else `accountEnabled`.
fn desired_active(mapped: &mapping::Mapped, u: &User) -> bool {
    match mapped.get("active") {
        Some(MappedValue::Boolean(b)) => *b,
        _ => u.account_enabled,
    }
}

/// The user targets whose live value the plan clears when their mapping yields nothing for a
/// user (`policy.unset_attributes: clear`): mappings applied on every update and without a
/// default (a default is given on create only, so clearing it would undo it on the next plan),
/// that may be sent on update, and never a matching target, `userName`, `active` or an email
/// (the address people sign in with: Asana's userName is one, and a declaration without `mail`
/// is common; removing it is for a person to do).
fn clearable(config: &Config) -> Vec<(&'static str, AttrPath)> {
    if config.settings.policy.unset_attributes == UnsetAttributes::Keep {
        return Vec::new();
    }
    (config.settings.user_mappings.iter())
        .filter(|m| m.apply == Apply::Always && m.default.is_none() && m.match_priority.is_none())
        .filter(|m| m.target.updatable)
        .map(|m| m.target.path)
        .filter(|path| *path != "userName" && *path != "active" && !path.starts_with("emails"))
        .map(|path| (path, AttrPath::parse(path).expect("known targets parse")))
        .collect()
}

/// Whether a live value holds anything: null, an empty string, list or object do not.
fn has_value(v: &Json) -> bool {
    match v {
        Json::Null => false,
        Json::String(s) => !s.is_empty(),
        Json::Array(a) => !a.is_empty(),
        Json::Object(o) => !o.is_empty(),
        _ => true,
    }
}

/// What [`Planner::find_live`] found.
enum Found {
    None,
    One(usize),
    /// Several live users: an ambiguous match.
    Many(Vec<usize>),
}

/// A live value reduced for matching: a string's [`match_key`].
fn comparable(v: Option<&Json>) -> Option<String> {
    v?.as_str().map(match_key)
}

/// A mapped value as the plan shows it: references by [`match_key`].
fn show(v: &MappedValue) -> Json {
    match v {
        MappedValue::String(s) => Json::String(s.clone()),
        MappedValue::Boolean(b) => Json::Bool(*b),
        MappedValue::UserRef(u) => Json::String(match_key(u)),
        MappedValue::UserRefs(us) => {
            Json::Array(us.iter().map(|u| Json::String(match_key(u))).collect())
        }
    }
}

/// Whether a live value already equals the desired one, without building the desired JSON.
/// userName and emails compare by [`match_key`] (no case, either normal form), because Asana
/// and email do; booleans and numbers compare leniently; a manager reference compares as the
/// name [`show`] gives it, and a list of them as the list.
fn equal_mapped(path: &str, live: &Json, desired: &MappedValue) -> bool {
    match (live, desired) {
        (Json::String(a), MappedValue::String(b))
            if path == "userName" || path.starts_with("emails") =>
        {
            same_name(a, b)
        }
        (Json::String(a), MappedValue::String(b)) => a == b,
        (Json::Number(n), MappedValue::String(s)) => n.to_string() == *s,
        (_, MappedValue::String(_)) => false,
        (l, MappedValue::Boolean(b)) => live::boolean(l) == Some(*b),
        (l, MappedValue::UserRef(u)) => equal_mapped(path, l, &MappedValue::String(match_key(u))),
        (l, refs @ MappedValue::UserRefs(_)) => *l == show(refs),
    }
}

#[cfg(test)]
mod tests;
