//! Live mode: the YAML laid over what Entra gives.
//!
//! A user declared in YAML and read from Entra keeps every value the YAML writes (and its
//! `accountEnabled` when written); the attributes the YAML leaves out come from Entra. A YAML
//! declaration also brings the user into scope. A team declared in YAML replaces the Entra
//! group of the same name. References the YAML makes (managers, members) may name Entra
//! users; they are checked here, once Entra has been read. Pure: no IO.

use std::collections::{BTreeSet, HashMap};

use super::scope::EntraData;
use crate::config::model::{self, Config, Origin, Provenance, UserAttr, UserProvenance};
use crate::diagnostics::Diagnostic;

/// Merges Entra's users and teams into the config; returns what the user should see (errors
/// for references that resolve nowhere, warnings for what was skipped or changed).
pub fn merge(config: &mut Config, data: EntraData) -> Vec<Diagnostic> {
    let mut out: Vec<Diagnostic> = data
        .warnings
        .iter()
        .map(|w| Diagnostic::warning(format!("entra: {w}"), None))
        .collect();
    let mut provenance = Provenance::default();
    for eu in data.users {
        let key = eu.user.key();
        let mut from_entra: BTreeSet<&'static str> = BTreeSet::new();
        match config.user_index.get(&key).copied() {
            Some(i) => {
                let declared = &mut config.users[i];
                for attr in UserAttr::ALL {
                    if declared.get(attr).is_none()
                        && let Some(v) = eu.user.get(attr)
                    {
                        declared.set(attr, Some(v.to_string()));
                        from_entra.insert(attr.name());
                    }
                }
                if !declared.account_enabled_set {
                    declared.account_enabled = eu.user.account_enabled;
                    from_entra.insert("accountEnabled");
                }
                provenance.users.insert(
                    key,
                    UserProvenance {
                        origin: Origin::Both,
                        entra_id: eu.id,
                        from_entra,
                        out_of_scope: None,
                    },
                );
            }
            None => {
                from_entra.extend(
                    UserAttr::ALL
                        .into_iter()
                        .filter(|a| eu.user.get(*a).is_some())
                        .map(UserAttr::name),
                );
                from_entra.insert("accountEnabled");
                provenance.users.insert(
                    key.clone(),
                    UserProvenance {
                        origin: Origin::Entra,
                        entra_id: eu.id,
                        from_entra,
                        out_of_scope: eu.out_of_scope,
                    },
                );
                config.user_index.insert(key, config.users.len());
                config.users.push(eu.user);
            }
        }
    }
    let declared_groups: HashMap<String, usize> = config
        .groups
        .iter()
        .enumerate()
        .map(|(i, g)| (g.key(), i))
        .collect();
    for g in data.groups {
        let key = g.key();
        if declared_groups.contains_key(&key) {
            provenance.groups.insert(key, Origin::Both);
        } else {
            provenance.groups.insert(key, Origin::Entra);
            config.groups.push(g);
        }
    }
    out.extend(check_references(config));
    config.provenance = Some(provenance);
    out
}

/// Every manager and member resolves now; a manager chain that loops is cut with a warning
/// (the YAML's own cycles were refused by validation, so a loop involves Entra's data).
fn check_references(config: &mut Config) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for u in &config.users {
        if let Some(m) = u.manager()
            && !config.user_index.contains_key(&crate::names::match_key(m))
        {
            out.push(
                Diagnostic::error(
                    format!(
                        "manager `{m}` of `{}` is neither declared nor a user in Entra",
                        u.upn
                    ),
                    u.origin.clone(),
                )
                .with_hint("declare the manager under users/, or correct the userPrincipalName"),
            );
        }
    }
    for g in &config.groups {
        for m in &g.members {
            if !config.user_index.contains_key(&crate::names::match_key(m)) {
                out.push(
                    Diagnostic::error(
                        format!(
                            "member `{m}` of group `{}` is neither declared nor a user in Entra",
                            g.display_name
                        ),
                        g.origin.clone(),
                    )
                    .with_hint("declare the user under users/, or correct the userPrincipalName"),
                );
            }
        }
    }
    // A loop is broken where the walk closed it: that user's manager is left unset.
    let manager_of = model::manager_indexes(&config.users, &config.user_index);
    for cycle in model::manager_cycles(&manager_of) {
        let user = &mut config.users[cycle[0]];
        out.push(Diagnostic::warning(
            format!(
                "entra: the managers of `{}` form a loop; its manager is left unset",
                user.upn
            ),
            user.origin.clone(),
        ));
        user.set(UserAttr::Manager, None);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::User;
    use crate::entra::scope::EntraUser;

    fn config(yaml_users: &str, yaml_groups: &str) -> Config {
        let settings = "version: 1\nentra:\n  tenant_id: contoso.onmicrosoft.com\n  \
                        client_id: 11111111-1111-1111-1111-111111111111\n  \
                        service_principal_id: 22222222-2222-2222-2222-222222222222\n  \
                        mode: live\n";
        let groups: Vec<(&str, &str)> = if yaml_groups.is_empty() {
            vec![]
        } else {
            vec![("groups/g.yaml", yaml_groups)]
        };
        let (c, report) =
            crate::config::from_texts(settings, &[("users/u.yaml", yaml_users)], &groups);
        c.unwrap_or_else(|| panic!("{:?}", report.diagnostics))
    }

    fn entra_user(upn: &str, title: &str, enabled: bool, in_scope: bool) -> EntraUser {
        let mut user = User::new(upn);
        user.set(UserAttr::JobTitle, Some(title.into()));
        user.set(UserAttr::Department, Some("Entra dept".into()));
        user.account_enabled = enabled;
        user.in_scope = in_scope;
        EntraUser {
            id: format!("id-{upn}"),
            user,
            out_of_scope: (!in_scope).then(|| "not assigned to the app in Entra".into()),
        }
    }

    #[test]
    fn yaml_wins_and_entra_fills_the_rest() {
        let mut c = config(
            "users:\n  - userPrincipalName: Ada@x.io\n    jobTitle: Lead\n  \
             - userPrincipalName: bob@x.io\n    accountEnabled: true\n    manager: cy@x.io\n",
            "groups:\n  - displayName: Team\n    members: [cy@x.io]\n",
        );
        let data = EntraData {
            users: vec![
                entra_user("ada@x.io", "Engineer", true, true),
                entra_user("bob@x.io", "Sales", false, false),
                entra_user("cy@x.io", "Ops", true, true),
            ],
            groups: vec![crate::config::model::Group {
                display_name: "team".into(),
                members: vec!["ada@x.io".into()],
                member_rules: Vec::new(),
                exclude: Vec::new(),
                member_expires: Default::default(),
                origin: None,
            }],
            warnings: vec![],
        };
        let diags = merge(&mut c, data);
        assert!(diags.is_empty(), "{diags:?}");
        let ada = c.user("ada@x.io").unwrap();
        assert_eq!(ada.get(UserAttr::JobTitle), Some("Lead"));
        assert_eq!(ada.get(UserAttr::Department), Some("Entra dept"));
        let bob = c.user("bob@x.io").unwrap();
        assert!(
            bob.account_enabled && bob.in_scope,
            "written accountEnabled wins"
        );
        let cy = c.user("cy@x.io").unwrap();
        assert!(cy.origin.is_none() && cy.in_scope);
        let p = c.provenance.as_ref().unwrap();
        assert_eq!(p.users["ada@x.io"].origin, Origin::Both);
        assert!(p.users["ada@x.io"].from_entra.contains("department"));
        assert!(!p.users["ada@x.io"].from_entra.contains("jobTitle"));
        assert_eq!(p.users["cy@x.io"].origin, Origin::Entra);
        assert_eq!(p.groups["team"], Origin::Both);
        assert_eq!(c.groups.len(), 1, "the YAML team replaces Entra's");
        assert_eq!(c.groups[0].members, ["cy@x.io"]);
    }

    #[test]
    fn yaml_references_must_resolve_after_the_merge() {
        let mut c = config(
            "users:\n  - userPrincipalName: ada@x.io\n    manager: nobody@x.io\n",
            "groups:\n  - displayName: Team\n    members: [ghost@x.io]\n",
        );
        let diags = merge(&mut c, EntraData::default());
        let errors: Vec<_> = diags.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].contains("nobody@x.io") && errors[1].contains("ghost@x.io"));
        assert!(
            diags.iter().all(|d| d.span.is_some()),
            "located in the YAML"
        );
    }

    #[test]
    fn manager_loops_from_entra_are_cut() {
        let mut c = config("users: []\n", "");
        let mut a = entra_user("a@x.io", "A", true, true);
        a.user.set(UserAttr::Manager, Some("b@x.io".into()));
        let mut b = entra_user("b@x.io", "B", true, true);
        b.user.set(UserAttr::Manager, Some("a@x.io".into()));
        let diags = merge(
            &mut c,
            EntraData {
                users: vec![a, b],
                ..EntraData::default()
            },
        );
        assert_eq!(diags.len(), 1);
        assert!(diags[0].message.contains("loop"));
        assert_eq!(
            c.users.iter().filter(|u| u.manager().is_some()).count(),
            1,
            "one link is cut"
        );
    }
}
