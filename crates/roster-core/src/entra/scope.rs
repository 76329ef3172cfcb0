//! Who Entra's provisioning service would provision, computed the way it does: users assigned
//! to the app directly or through an assigned group (direct members, or transitive ones when
//! configured), or every user (`scope: all`); then the scoping filters; then `accountEnabled`.
//! A user who is not assigned, fails the filters, or is deleted is out of scope, so
//! `IsSoftDeleted` is true for them and the mappings deprovision them. Groups assigned to the
//! app become teams with their (in-scope) members. Pure: no IO.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::directory::DirUser;
use crate::config::model::{EntraScope, EntraSettings, Group, User, UserAttr};
use crate::filter;

/// An app role assignment of the Asana app's service principal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub principal_id: String,
    /// `User`, `Group` or `ServicePrincipal`.
    pub principal_type: String,
    pub principal_display_name: String,
}

/// What was read from Graph.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    /// Every user (soft-deleted ones marked), by object id.
    pub users: BTreeMap<String, DirUser>,
    pub assignments: Vec<Assignment>,
    /// User members of each assigned group, by group id (direct or transitive as configured).
    pub group_members: BTreeMap<String, Vec<String>>,
}

/// One Entra user in roster's model, with why Entra would not provision it (if so).
#[derive(Debug, Clone)]
pub struct EntraUser {
    pub id: String,
    /// `in_scope` and `account_enabled` set as Entra decides.
    pub user: User,
    /// Why the user is out of scope: not assigned, filtered out, deleted.
    pub out_of_scope: Option<String>,
}

/// The users and teams Entra gives, in roster's model, sorted by key.
#[derive(Debug, Clone, Default)]
pub struct EntraData {
    /// Every user Entra knows, in scope or not (out-of-scope ones are deprovisioned if they
    /// hold an Asana account).
    pub users: Vec<EntraUser>,
    /// Assigned groups, as teams; members are every assigned member (the planner leaves out
    /// the disabled ones).
    pub groups: Vec<Group>,
    /// What a reviewer should know (skipped objects).
    pub warnings: Vec<String>,
}

impl EntraData {
    pub fn in_scope(&self) -> impl Iterator<Item = &EntraUser> {
        self.users.iter().filter(|u| u.user.in_scope)
    }
}

/// Decides scope and builds the model. `read_manager` says whether `manager` was selected.
pub fn resolve(dir: &Directory, settings: &EntraSettings, read_manager: bool) -> EntraData {
    let mut warnings = Vec::new();
    let mut assigned: BTreeSet<&str> = BTreeSet::new();
    let mut groups: Vec<&Assignment> = Vec::new();
    for a in &dir.assignments {
        match a.principal_type.as_str() {
            "User" => {
                assigned.insert(&a.principal_id);
            }
            "Group" => {
                if !groups.iter().any(|g| g.principal_id == a.principal_id) {
                    groups.push(a);
                }
                for m in dir.group_members.get(&a.principal_id).into_iter().flatten() {
                    assigned.insert(m);
                }
            }
            _ => {}
        }
    }

    // Users, with their key; a userPrincipalName that is not an email, or that collides after
    // Entra's guest rewrite, is skipped with a warning.
    let mut users: Vec<EntraUser> = Vec::new();
    let mut by_key: HashMap<String, usize> = HashMap::new();
    let mut key_of_id: HashMap<&str, usize> = HashMap::new();
    for (id, d) in &dir.users {
        let Some(upn) = d.upn() else {
            warnings.push(format!("Entra user {id} has no userPrincipalName; skipped"));
            continue;
        };
        if !crate::config::validate::is_email(&upn) {
            warnings.push(format!(
                "Entra user {id}: userPrincipalName `{upn}` is not an email address, which \
                 Asana's userName must be; skipped"
            ));
            continue;
        }
        let mut user = d.to_user(upn);
        let out_of_scope = if d.deleted {
            Some("deleted in Entra".to_string())
        } else if settings.scope == EntraScope::Assigned && !assigned.contains(id.as_str()) {
            Some("not assigned to the app in Entra".to_string())
        } else {
            filter::check(&settings.scoping_filters, &user).err()
        };
        user.in_scope = out_of_scope.is_none();
        let key = user.key();
        if let Some(&first) = by_key.get(&key) {
            warnings.push(format!(
                "Entra users {} and {id} share the userPrincipalName `{}`; the second is skipped",
                users[first].id, user.upn
            ));
            continue;
        }
        by_key.insert(key, users.len());
        key_of_id.insert(id, users.len());
        users.push(EntraUser {
            id: id.clone(),
            user,
            out_of_scope,
        });
    }

    // Managers: Entra resolves a reference only to a user in scope; otherwise it is left unset.
    if read_manager {
        let managers: Vec<Option<String>> = users
            .iter()
            .map(|u| {
                let m = dir.users.get(&u.id)?.manager.as_deref()?;
                let &i = key_of_id.get(m)?;
                users[i].user.in_scope.then(|| users[i].user.upn.clone())
            })
            .collect();
        for (u, m) in users.iter_mut().zip(managers) {
            u.user.set(UserAttr::Manager, m);
        }
    }

    // Teams: the assigned groups, named as Entra names them; members by userPrincipalName.
    let mut teams: Vec<Group> = Vec::new();
    let mut team_keys: HashMap<String, String> = HashMap::new();
    for g in groups {
        let name = g.principal_display_name.trim();
        if name.is_empty() {
            warnings.push(format!(
                "assigned group {} has no display name; skipped",
                g.principal_id
            ));
            continue;
        }
        if let Some(first) = team_keys.get(&name.to_lowercase()) {
            warnings.push(format!(
                "assigned groups {first} and {} are both named `{name}`, and team names are \
                 unique in Asana; the second is skipped",
                g.principal_id
            ));
            continue;
        }
        team_keys.insert(name.to_lowercase(), g.principal_id.clone());
        let mut members: Vec<String> = dir
            .group_members
            .get(&g.principal_id)
            .into_iter()
            .flatten()
            .filter_map(|id| key_of_id.get(id.as_str()))
            .map(|&i| users[i].user.upn.clone())
            .collect();
        members.sort_by_key(|m| crate::names::match_key(m));
        members.dedup_by_key(|m| crate::names::match_key(m));
        teams.push(Group {
            display_name: name.to_string(),
            members,
            member_rules: Vec::new(),
            exclude: Vec::new(),
            member_expires: Default::default(),
            origin: None,
        });
    }
    users.sort_by_key(|u| u.user.key());
    teams.sort_by_key(Group::key);
    EntraData {
        users,
        groups: teams,
        warnings,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::config::model::{Clause, EntraMode, GroupMembers, Operator, ScopingFilter};

    fn user(id: &str, upn: &str, enabled: bool, dept: &str, manager: Option<&str>) -> DirUser {
        DirUser {
            id: id.into(),
            properties: json!({"userPrincipalName": upn, "accountEnabled": enabled,
                               "department": dept})
            .as_object()
            .unwrap()
            .clone(),
            manager: manager.map(str::to_string),
            deleted: false,
        }
    }

    fn settings(scope: EntraScope) -> EntraSettings {
        EntraSettings {
            tenant_id: "t".into(),
            client_id: "c".into(),
            client_secret_env: "S".into(),
            service_principal_id: "sp".into(),
            scope,
            group_members: GroupMembers::Direct,
            scoping_filters: Vec::new(),
            mode: EntraMode::Seed,
            login_url: String::new(),
            graph_url: String::new(),
            login_url_written: false,
            graph_url_written: false,
        }
    }

    fn directory() -> Directory {
        let mut users = BTreeMap::new();
        for u in [
            user("1", "boss@x.io", true, "Eng", None),
            user("2", "direct@x.io", true, "Eng", Some("1")),
            user("3", "member@x.io", true, "Sales", Some("4")),
            user("4", "loner@x.io", true, "Eng", None),
            user("5", "off@x.io", false, "Eng", Some("1")),
        ] {
            users.insert(u.id.clone(), u);
        }
        let mut gone = user("6", "gone@x.io", true, "Eng", None);
        gone.deleted = true;
        users.insert("6".into(), gone);
        let assign = |id: &str, t: &str, name: &str| Assignment {
            principal_id: id.into(),
            principal_type: t.into(),
            principal_display_name: name.into(),
        };
        Directory {
            users,
            assignments: vec![
                assign("1", "User", "Boss"),
                assign("2", "User", "Direct"),
                assign("5", "User", "Off"),
                assign("6", "User", "Gone"),
                assign("g", "Group", "Sales Team"),
                assign("sp2", "ServicePrincipal", "A daemon"),
            ],
            group_members: [("g".to_string(), vec!["3".to_string(), "9".to_string()])].into(),
        }
    }

    fn scope_of(data: &EntraData, upn: &str) -> Option<String> {
        let u = data.users.iter().find(|u| u.user.upn == upn).unwrap();
        assert_eq!(u.user.in_scope, u.out_of_scope.is_none());
        u.out_of_scope.clone()
    }

    #[test]
    fn assigned_scope_follows_assignments_and_groups() {
        let data = resolve(&directory(), &settings(EntraScope::Assigned), true);
        assert_eq!(scope_of(&data, "boss@x.io"), None);
        assert_eq!(scope_of(&data, "member@x.io"), None, "through the group");
        assert_eq!(
            scope_of(&data, "loner@x.io").as_deref(),
            Some("not assigned to the app in Entra")
        );
        assert_eq!(
            scope_of(&data, "gone@x.io").as_deref(),
            Some("deleted in Entra")
        );
        // Disabled users stay in scope; accountEnabled deprovisions them.
        let off = data
            .users
            .iter()
            .find(|u| u.user.upn == "off@x.io")
            .unwrap();
        assert!(off.user.in_scope && !off.user.account_enabled && !off.user.provisioned());
        // Managers resolve only to users in scope.
        let manager = |upn: &str| {
            data.users
                .iter()
                .find(|u| u.user.upn == upn)
                .and_then(|u| u.user.manager().map(str::to_string))
        };
        assert_eq!(manager("direct@x.io").as_deref(), Some("boss@x.io"));
        assert_eq!(manager("member@x.io"), None, "loner is out of scope");
        assert_eq!(data.groups.len(), 1);
        assert_eq!(data.groups[0].display_name, "Sales Team");
        assert_eq!(data.groups[0].members, ["member@x.io"]);
    }

    #[test]
    fn all_scope_takes_everyone_but_the_deleted() {
        let data = resolve(&directory(), &settings(EntraScope::All), false);
        assert_eq!(scope_of(&data, "loner@x.io"), None);
        assert!(scope_of(&data, "gone@x.io").is_some());
        assert!(data.users.iter().all(|u| u.user.manager().is_none()));
    }

    #[test]
    fn scoping_filters_apply_after_assignment() {
        let mut s = settings(EntraScope::Assigned);
        s.scoping_filters = vec![ScopingFilter {
            name: Some("engineering".into()),
            clauses: vec![Clause::new("department", Operator::Equals, Some("Eng")).unwrap()],
        }];
        let data = resolve(&directory(), &s, true);
        assert_eq!(scope_of(&data, "boss@x.io"), None);
        assert_eq!(
            scope_of(&data, "member@x.io").as_deref(),
            Some("fails the scoping filter \"engineering\" (department EQUALS \"Eng\")")
        );
    }
}
