//! The emulated tenant: users (Graph properties), groups (nested), the Asana app's
//! assignments, the app registration roster signs in as, and a change log that delta queries
//! replay. Also the built-in seed tenant. No IO.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json, json};

/// The built-in tenant's id.
pub const SEED_TENANT_ID: &str = "4e6f7274-6877-696e-6400-000000000001";
/// The built-in app registration's client id.
pub const SEED_CLIENT_ID: &str = "726f7374-6572-4000-8000-000000000001";
/// The built-in Asana enterprise app's service principal object id.
pub const SEED_SERVICE_PRINCIPAL_ID: &str = "61736e61-0000-4000-8000-000000000001";
/// The client secret the built-in app registration accepts.
pub const SEED_CLIENT_SECRET: &str = "emulator-client-secret";

/// A tenant, as the emulator's `--graph-tenant FILE` reads it (JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tenant {
    pub tenant_id: String,
    /// A verified domain, also accepted in the token URL.
    pub domain: String,
    /// The app registration roster signs in as.
    pub client_id: String,
    pub client_secret: String,
    /// The Asana enterprise application.
    pub service_principal_id: String,
    #[serde(default)]
    pub users: Vec<TenantUser>,
    #[serde(default)]
    pub groups: Vec<TenantGroup>,
    /// Users and groups assigned to the Asana app.
    #[serde(default)]
    pub assignments: Vec<TenantAssignment>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantUser {
    pub id: String,
    /// Graph properties (`userPrincipalName`, `accountEnabled`, `jobTitle`, `businessPhones`,
    /// `employeeOrgData`, …).
    pub properties: Map<String, Json>,
    /// The manager's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager: Option<String>,
    /// In the recycle bin: listed by `/directory/deletedItems`, not by `/users`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantGroup {
    pub id: String,
    pub display_name: String,
    /// Member ids: users or groups (nested).
    #[serde(default)]
    pub members: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantAssignment {
    pub principal_id: String,
}

/// The properties `/users` may `$select` (Graph has more; these are the ones roster reads).
pub const USER_PROPERTIES: &[&str] = &[
    "id",
    "userPrincipalName",
    "accountEnabled",
    "mail",
    "displayName",
    "givenName",
    "surname",
    "jobTitle",
    "department",
    "companyName",
    "employeeId",
    "employeeType",
    "employeeOrgData",
    "city",
    "state",
    "country",
    "officeLocation",
    "businessPhones",
    "mobilePhone",
    "preferredLanguage",
    "userType",
    "manager",
];

/// Graph's default property set when there is no `$select`.
pub const DEFAULT_PROPERTIES: &[&str] = &[
    "id",
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
];

impl Tenant {
    pub fn user(&self, id: &str) -> Option<&TenantUser> {
        self.users.iter().find(|u| u.id == id)
    }

    pub fn group(&self, id: &str) -> Option<&TenantGroup> {
        self.groups.iter().find(|g| g.id == id)
    }

    /// A user as Graph returns it with `select` (every property when `None`: the defaults).
    pub fn render_user(&self, u: &TenantUser, select: Option<&[String]>, delta: bool) -> Json {
        let mut out = Map::new();
        out.insert("id".into(), json!(u.id));
        let wanted: Vec<&str> = match select {
            Some(s) => s.iter().map(String::as_str).collect(),
            None => DEFAULT_PROPERTIES.to_vec(),
        };
        for p in wanted {
            match p {
                "id" => {}
                // Delta tracks the manager reference when it is selected; lists do not
                // return it (it needs $expand).
                "manager" if delta => {
                    let refs = match &u.manager {
                        Some(m) => json!([{"@odata.type": "#microsoft.graph.user", "id": m}]),
                        None => json!([]),
                    };
                    out.insert("manager@delta".into(), refs);
                }
                "manager" => {}
                p => {
                    let value = u.properties.get(p).cloned().unwrap_or(match p {
                        "businessPhones" => json!([]),
                        _ => Json::Null,
                    });
                    out.insert(p.into(), value);
                }
            }
        }
        Json::Object(out)
    }
}

/// A tenant's users and groups by id, for the answers that look up many (a group's members,
/// the app's assignments): built for one answer, so it never outlives a change.
pub struct TenantIndex<'t> {
    users: HashMap<&'t str, &'t TenantUser>,
    groups: HashMap<&'t str, &'t TenantGroup>,
}

impl<'t> TenantIndex<'t> {
    /// The first user or group with an id wins, as in [`Tenant::user`].
    pub fn new(t: &'t Tenant) -> TenantIndex<'t> {
        let mut users = HashMap::with_capacity(t.users.len());
        for u in &t.users {
            users.entry(u.id.as_str()).or_insert(u);
        }
        let mut groups = HashMap::with_capacity(t.groups.len());
        for g in &t.groups {
            groups.entry(g.id.as_str()).or_insert(g);
        }
        TenantIndex { users, groups }
    }

    pub fn user(&self, id: &str) -> Option<&'t TenantUser> {
        self.users.get(id).copied()
    }

    pub fn group(&self, id: &str) -> Option<&'t TenantGroup> {
        self.groups.get(id).copied()
    }

    /// What a principal id names: `User`, `Group`, or nothing.
    pub fn principal_type(&self, id: &str) -> Option<&'static str> {
        if self.user(id).is_some() {
            Some("User")
        } else if self.group(id).is_some() {
            Some("Group")
        } else {
            None
        }
    }

    /// The display name of the user or group `id` names (empty when neither).
    pub fn display_name(&self, id: &str) -> String {
        match (self.user(id), self.group(id)) {
            (Some(u), _) => u
                .properties
                .get("displayName")
                .and_then(Json::as_str)
                .unwrap_or_default()
                .to_string(),
            (_, Some(g)) => g.display_name.clone(),
            _ => String::new(),
        }
    }

    /// Member ids of a group: direct, or every user below it (nested groups expanded once
    /// each, so a loop of groups ends).
    pub fn members(&self, group: &str, transitive: bool) -> Vec<String> {
        members(|id| self.group(id), group, transitive)
    }
}

/// Member ids of a group: direct, or every user below it (nested groups expanded once each, so
/// a loop of groups ends).
fn members<'t>(
    group_of: impl Fn(&str) -> Option<&'t TenantGroup>,
    group: &str,
    transitive: bool,
) -> Vec<String> {
    let Some(g) = group_of(group) else {
        return Vec::new();
    };
    if !transitive {
        return g.members.clone();
    }
    let mut out = Vec::new();
    let mut seen = std::collections::BTreeSet::from([group.to_string()]);
    let mut stack = g.members.clone();
    stack.reverse();
    while let Some(id) = stack.pop() {
        if !seen.insert(id.clone()) {
            continue;
        }
        out.push(id.clone());
        if let Some(inner) = group_of(&id) {
            stack.extend(inner.members.iter().rev().cloned());
        }
    }
    out
}

/// The built-in tenant: a small research organisation on `northwind.example` that complements
/// the quickstart, with one user of each kind Entra treats differently (assigned directly,
/// through a group, through a nested group only, disabled, deleted, unassigned, a contractor
/// the example's scoping filter leaves out, a B2B guest).
pub fn seed() -> Tenant {
    let user = |n: u32, upn: &str, name: &str, title: &str, dept: &str, extra: Json| {
        let (given, surname) = name.split_once(' ').unwrap_or((name, ""));
        let mut properties = json!({
            "userPrincipalName": upn,
            "accountEnabled": true,
            "mail": upn,
            "displayName": name,
            "givenName": given,
            "surname": surname,
            "jobTitle": title,
            "department": dept,
            "companyName": "Northwind",
            "employeeId": format!("{}", 2000 + n),
            "employeeType": "Employee",
            "employeeOrgData": {"division": "Research", "costCenter": format!("CC-{}", 200 + n % 3)},
            "city": "Geneva",
            "country": "CH",
            "businessPhones": [format!("+41 22 000 {:04}", n)],
            "preferredLanguage": "en-US",
        });
        if let (Some(p), Some(e)) = (properties.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                p.insert(k.clone(), v.clone());
            }
        }
        TenantUser {
            id: user_id(n),
            properties: properties.as_object().cloned().unwrap_or_default(),
            manager: None,
            deleted: false,
        }
    };
    let d = "northwind.example";
    let mut users = vec![
        user(
            1,
            &format!("marie.curie@{d}"),
            "Marie Curie",
            "Director of Research",
            "Research",
            json!({}),
        ),
        user(
            2,
            &format!("niels.bohr@{d}"),
            "Niels Bohr",
            "Research Lead",
            "Research",
            json!({}),
        ),
        user(
            3,
            &format!("lise.meitner@{d}"),
            "Lise Meitner",
            "Physicist",
            "Research",
            json!({"city": "Berlin", "country": "DE"}),
        ),
        user(
            4,
            &format!("enrico.fermi@{d}"),
            "Enrico Fermi",
            "Physicist",
            "Research",
            json!({"city": "Chicago", "country": "US"}),
        ),
        user(
            5,
            &format!("chien-shiung.wu@{d}"),
            "Chien-Shiung Wu",
            "Experimental Physicist",
            "Research",
            json!({"city": "New York", "country": "US"}),
        ),
        user(
            6,
            &format!("dmitri.mendeleev@{d}"),
            "Dmitri Mendeleev",
            "Head of Chemistry",
            "Chemistry",
            json!({"employeeOrgData": {"division": "Chemistry", "costCenter": "CC-300"}}),
        ),
        user(
            7,
            &format!("dorothy.hodgkin@{d}"),
            "Dorothy Hodgkin",
            "Crystallographer",
            "Chemistry",
            json!({"employeeOrgData": {"division": "Chemistry", "costCenter": "CC-300"}, "city": "Oxford", "country": "GB"}),
        ),
        user(
            8,
            &format!("antoine.lavoisier@{d}"),
            "Antoine Lavoisier",
            "Chemist",
            "Chemistry",
            json!({"accountEnabled": false, "city": "Paris", "country": "FR"}),
        ),
        user(
            9,
            &format!("michael.faraday@{d}"),
            "Michael Faraday",
            "Lab Manager",
            "Operations",
            json!({"city": "London", "country": "GB"}),
        ),
        user(
            10,
            &format!("max.planck@{d}"),
            "Max Planck",
            "Visiting Scientist",
            "Research",
            json!({"employeeType": "Contractor", "companyName": "Planck Consulting"}),
        ),
        user(
            11,
            "sophie.germain_paris.example#EXT#@northwind.onmicrosoft.com",
            "Sophie Germain",
            "Mathematician",
            "Research",
            json!({"mail": "sophie.germain@paris.example", "employeeType": "Guest", "userType": "Guest"}),
        ),
        user(
            12,
            &format!("james.maxwell@{d}"),
            "James Maxwell",
            "Physicist",
            "Research",
            json!({"city": "Edinburgh", "country": "GB"}),
        ),
        user(
            13,
            &format!("alessandro.volta@{d}"),
            "Alessandro Volta",
            "Electrochemist",
            "Chemistry",
            json!({"city": "Como", "country": "IT"}),
        ),
    ];
    let managers = [
        (2, 1),
        (3, 2),
        (4, 2),
        (5, 4),
        (6, 1),
        (7, 6),
        (8, 6),
        (9, 1),
        (10, 2),
        (11, 2),
        (12, 2),
        (13, 6),
    ];
    for (who, manager) in managers {
        users[who as usize - 1].manager = Some(user_id(manager));
    }
    users[12].deleted = true;
    let groups = vec![
        TenantGroup {
            id: group_id(1),
            display_name: "Research".into(),
            members: vec![user_id(2), user_id(3), user_id(4), group_id(2)],
        },
        TenantGroup {
            id: group_id(2),
            display_name: "Reactor Lab".into(),
            members: vec![user_id(4), user_id(5)],
        },
        TenantGroup {
            id: group_id(3),
            display_name: "Chemistry".into(),
            members: vec![user_id(6), user_id(7), user_id(8)],
        },
        TenantGroup {
            id: group_id(4),
            display_name: "All Staff".into(),
            members: (1..=13).map(user_id).collect(),
        },
    ];
    let assignments = [
        user_id(1),
        user_id(9),
        user_id(10),
        user_id(11),
        user_id(13),
        group_id(1),
        group_id(3),
    ]
    .into_iter()
    .map(|principal_id| TenantAssignment { principal_id })
    .collect();
    Tenant {
        tenant_id: SEED_TENANT_ID.into(),
        domain: "northwind.onmicrosoft.com".into(),
        client_id: SEED_CLIENT_ID.into(),
        client_secret: SEED_CLIENT_SECRET.into(),
        service_principal_id: SEED_SERVICE_PRINCIPAL_ID.into(),
        users,
        groups,
        assignments,
    }
}

/// The id of the seed tenant's n-th user.
pub fn user_id(n: u32) -> String {
    format!("75736572-0000-4000-8000-{n:012}")
}

/// The id of the seed tenant's n-th group.
pub fn group_id(n: u32) -> String {
    format!("67726f75-7000-4000-8000-{n:012}")
}

/// Changes to users since the tenant was loaded, for delta queries: (sequence, user id).
#[derive(Debug, Default)]
pub struct ChangeLog {
    entries: Vec<(u64, String)>,
    seq: u64,
}

impl ChangeLog {
    pub fn record(&mut self, id: &str) {
        self.seq += 1;
        self.entries.push((self.seq, id.to_string()));
    }

    /// The current sequence number: a delta token made now replays what comes after it.
    pub fn now(&self) -> u64 {
        self.seq
    }

    /// Ids changed after `since` up to `until`, each once, in the order of their last change.
    pub fn since(&self, since: u64, until: u64) -> Vec<String> {
        let mut last: BTreeMap<&str, u64> = BTreeMap::new();
        for (seq, id) in &self.entries {
            if *seq > since && *seq <= until {
                last.insert(id, *seq);
            }
        }
        let mut ids: Vec<(u64, &str)> = last.into_iter().map(|(id, s)| (s, id)).collect();
        ids.sort();
        ids.into_iter().map(|(_, id)| id.to_string()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_is_consistent() {
        let t = seed();
        let ix = TenantIndex::new(&t);
        for u in &t.users {
            if let Some(m) = &u.manager {
                assert!(t.user(m).is_some(), "{m}");
            }
        }
        for g in &t.groups {
            for m in &g.members {
                assert!(ix.principal_type(m).is_some(), "{m}");
            }
        }
        for a in &t.assignments {
            assert!(ix.principal_type(&a.principal_id).is_some());
        }
        // Wu is in Research only through the nested Reactor Lab.
        let direct = ix.members(&group_id(1), false);
        let all = ix.members(&group_id(1), true);
        assert!(!direct.contains(&user_id(5)) && all.contains(&user_id(5)));
    }

    #[test]
    fn change_log_replays_each_id_once() {
        let mut log = ChangeLog::default();
        log.record("a");
        log.record("b");
        log.record("a");
        assert_eq!(log.since(0, log.now()), ["b", "a"]);
        assert_eq!(log.since(2, log.now()), ["a"]);
        assert!(log.since(3, 3).is_empty());
    }
}
