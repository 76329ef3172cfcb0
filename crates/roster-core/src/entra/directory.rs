//! Graph users as roster keeps them between runs, the `$select` the mappings need, and how a
//! delta item changes what is kept. Pure: the reading and the state file are in [`super::read`].

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};

use crate::config::model::MappingSource;
use crate::config::model::{Config, User, UserAttr};

/// A Graph user: the selected properties as Graph sent them, the manager's id, and whether
/// the user is in the recycle bin (soft-deleted).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DirUser {
    pub id: String,
    /// Selected properties, by Graph name (`businessPhones`, `employeeOrgData`, …).
    #[serde(default)]
    pub properties: Map<String, Json>,
    /// The manager's object id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager: Option<String>,
    /// Soft-deleted: restorable for 30 days, then gone.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
}

/// The Graph property a source attribute is read from; `None` for what Graph does not hold
/// (`IsSoftDeleted` is computed; app roles are not read).
pub fn graph_property(source: &str) -> Option<&'static str> {
    Some(match source {
        "userPrincipalName" => "userPrincipalName",
        "mail" => "mail",
        "displayName" => "displayName",
        "givenName" => "givenName",
        "surname" => "surname",
        "jobTitle" => "jobTitle",
        "department" => "department",
        "companyName" => "companyName",
        "employeeId" => "employeeId",
        "employeeType" => "employeeType",
        "employeeOrgData.division" | "employeeOrgData.costCenter" => "employeeOrgData",
        "manager" => "manager",
        "city" => "city",
        "state" => "state",
        "country" => "country",
        "officeLocation" => "officeLocation",
        // Graph holds business phones as a list; Entra's provisioning reads the first.
        "telephoneNumber" => "businessPhones",
        "mobilePhone" => "mobilePhone",
        "preferredLanguage" => "preferredLanguage",
        "accountEnabled" | "IsSoftDeleted" => "accountEnabled",
        _ => return None,
    })
}

/// The source attributes the user mappings and the scoping filters read.
pub fn used_sources(config: &Config) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for m in &config.settings.user_mappings {
        match &m.source {
            MappingSource::Direct(name) => {
                names.insert(name.clone());
            }
            MappingSource::Constant(_) => {}
            MappingSource::Expression { expr, .. } => {
                names.extend(expr.attributes().into_iter().map(|(n, _)| n.to_string()));
            }
        }
    }
    if let Some(entra) = &config.settings.entra {
        for f in &entra.scoping_filters {
            names.extend(f.clauses.iter().map(|c| c.attribute.to_string()));
        }
    }
    names
}

/// Graph's `$select` for those sources, sorted: always `id`, `userPrincipalName` and
/// `accountEnabled` (scope needs them), plus what is read. `manager` in a delta query's
/// `$select` tracks the manager reference.
pub fn select(sources: &BTreeSet<String>) -> Vec<&'static str> {
    let mut props: BTreeSet<&'static str> = ["id", "userPrincipalName", "accountEnabled"].into();
    props.extend(sources.iter().filter_map(|s| graph_property(s)));
    props.into_iter().collect()
}

/// Applies one item of a delta round (or of a full read) to the users kept: a new or changed
/// user (Graph may send only the changed properties, so the others are kept), or a removal
/// (`"changed"`: soft-deleted; `"deleted"`: gone for good).
pub fn apply_delta_item(users: &mut BTreeMap<String, DirUser>, item: &Json) {
    let Some(id) = item.get("id").and_then(Json::as_str) else {
        return;
    };
    if let Some(removed) = item.get("@removed") {
        if removed.get("reason").and_then(Json::as_str) == Some("deleted") {
            users.remove(id);
        } else if let Some(u) = users.get_mut(id) {
            u.deleted = true;
        }
        return;
    }
    let user = users.entry(id.to_string()).or_insert_with(|| DirUser {
        id: id.to_string(),
        properties: Map::new(),
        manager: None,
        deleted: false,
    });
    user.deleted = false;
    let Some(object) = item.as_object() else {
        return;
    };
    for (key, value) in object {
        match key.as_str() {
            "id" => {}
            "manager@delta" => {
                // The current manager is the entry without `@removed`; none left: no manager.
                user.manager = value.as_array().and_then(|entries| {
                    entries
                        .iter()
                        .filter(|e| e.get("@removed").is_none())
                        .find_map(|e| e.get("id").and_then(Json::as_str))
                        .map(str::to_string)
                });
            }
            k if k.starts_with('@') || k.contains("@odata") => {}
            _ => {
                user.properties.insert(key.clone(), value.clone());
            }
        }
    }
}

impl DirUser {
    /// The userPrincipalName as Entra's provisioning sends it: a B2B guest's
    /// `alias_theirdomain#EXT#@yourdomain` becomes `alias@theirdomain`.
    pub fn upn(&self) -> Option<String> {
        let upn = self.properties.get("userPrincipalName")?.as_str()?;
        Some(match upn.split_once("#EXT#@") {
            Some((local, _)) => match local.rsplit_once('_') {
                Some((alias, domain)) => format!("{alias}@{domain}"),
                None => upn.to_string(),
            },
            None => upn.to_string(),
        })
    }

    /// Graph's `accountEnabled`; a user without the property is enabled.
    pub fn account_enabled(&self) -> bool {
        self.properties
            .get("accountEnabled")
            .and_then(Json::as_bool)
            .unwrap_or(true)
    }

    /// The user in roster's model (without its manager, which needs the other users).
    pub fn to_user(&self, upn: String) -> User {
        let mut user = User::new(upn);
        let text = |v: &Json| match v {
            Json::String(s) if !s.is_empty() => Some(s.clone()),
            Json::Number(n) => Some(n.to_string()),
            _ => None,
        };
        for attr in UserAttr::ALL {
            let value = match attr {
                UserAttr::UserPrincipalName | UserAttr::Manager => continue,
                UserAttr::Division => self
                    .properties
                    .get("employeeOrgData")
                    .and_then(|o| o.get("division"))
                    .and_then(text),
                UserAttr::CostCenter => self
                    .properties
                    .get("employeeOrgData")
                    .and_then(|o| o.get("costCenter"))
                    .and_then(text),
                UserAttr::TelephoneNumber => self
                    .properties
                    .get("businessPhones")
                    .and_then(Json::as_array)
                    .and_then(|phones| phones.iter().find_map(text)),
                other => self.properties.get(other.name()).and_then(text),
            };
            user.set(attr, value);
        }
        user.account_enabled = self.account_enabled();
        user
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn select_follows_the_sources() {
        let sources: BTreeSet<String> = [
            "jobTitle",
            "employeeOrgData.costCenter",
            "telephoneNumber",
            "IsSoftDeleted",
            "appRoleAssignments",
            "manager",
        ]
        .map(String::from)
        .into();
        assert_eq!(
            select(&sources),
            [
                "accountEnabled",
                "businessPhones",
                "employeeOrgData",
                "id",
                "jobTitle",
                "manager",
                "userPrincipalName"
            ]
        );
    }

    #[test]
    fn delta_items_update_remove_and_track_managers() {
        let mut users = BTreeMap::new();
        apply_delta_item(
            &mut users,
            &json!({"id": "1", "userPrincipalName": "a@x.io", "jobTitle": "Engineer",
                    "manager@delta": [{"@odata.type": "#microsoft.graph.user", "id": "2"}]}),
        );
        assert_eq!(users["1"].manager.as_deref(), Some("2"));
        // A partial update keeps the other properties.
        apply_delta_item(&mut users, &json!({"id": "1", "jobTitle": "Lead"}));
        assert_eq!(users["1"].properties["userPrincipalName"], json!("a@x.io"));
        assert_eq!(users["1"].properties["jobTitle"], json!("Lead"));
        assert_eq!(users["1"].manager.as_deref(), Some("2"));
        apply_delta_item(
            &mut users,
            &json!({"id": "1", "manager@delta": [{"id": "2", "@removed": {"reason": "deleted"}}]}),
        );
        assert_eq!(users["1"].manager, None);
        apply_delta_item(
            &mut users,
            &json!({"id": "1", "@removed": {"reason": "changed"}}),
        );
        assert!(users["1"].deleted, "soft-deleted users are kept, marked");
        apply_delta_item(&mut users, &json!({"id": "1", "jobTitle": "Lead"}));
        assert!(!users["1"].deleted, "a restored user comes back");
        apply_delta_item(
            &mut users,
            &json!({"id": "1", "@removed": {"reason": "deleted"}}),
        );
        assert!(users.is_empty());
    }

    #[test]
    fn graph_users_become_model_users() {
        let u = DirUser {
            id: "1".into(),
            properties: json!({
                "userPrincipalName": "ada_contoso.example#EXT#@northwind.onmicrosoft.com",
                "jobTitle": "Engineer", "department": "",
                "businessPhones": ["+31 15 000"],
                "employeeOrgData": {"division": "Product", "costCenter": null},
                "accountEnabled": false
            })
            .as_object()
            .unwrap()
            .clone(),
            manager: None,
            deleted: false,
        };
        assert_eq!(u.upn().as_deref(), Some("ada@contoso.example"));
        let user = u.to_user(u.upn().unwrap());
        assert_eq!(user.get(UserAttr::JobTitle), Some("Engineer"));
        assert_eq!(user.get(UserAttr::Department), None, "empty is null");
        assert_eq!(user.get(UserAttr::TelephoneNumber), Some("+31 15 000"));
        assert_eq!(user.get(UserAttr::Division), Some("Product"));
        assert_eq!(user.get(UserAttr::CostCenter), None);
        assert!(!user.account_enabled);
    }
}
