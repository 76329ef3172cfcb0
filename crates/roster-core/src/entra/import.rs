//! What `roster import entra` writes (seed mode), decided without IO: the users Entra
//! provisions, in `users/entra/`, and the assigned groups as teams, in `groups/entra/`.
//!
//! In-scope users are written as Entra has them (a disabled one with `accountEnabled: false`).
//! An out-of-scope user (not assigned, filtered out, deleted) is written only when it holds an
//! Asana account — disabled, with a comment saying why — so the reviewed files deprovision it
//! exactly as live mode would. Users and teams declared by hand elsewhere in the config
//! directory are left out: the hand-written declaration wins. Everything is sorted, and
//! nothing depends on the time, so the same tenant gives the same bytes.

use std::collections::{BTreeSet, HashMap, HashSet};

use super::scope::EntraData;
use crate::config::model::{Config, Group, User};
use crate::import::yaml::{self, Entry};
use crate::mapping::{self, Flow, MappedValue};
use crate::plan::Live;
use crate::scim::AttrPath;

/// The sub-folders the import owns.
pub const USERS_DIR: &str = "users/entra";
pub const GROUPS_DIR: &str = "groups/entra";
pub const USERS_FILE: &str = "users.yaml";
pub const GROUPS_FILE: &str = "groups.yaml";

/// The files to write and what they hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    pub users_yaml: String,
    pub groups_yaml: String,
    /// In-scope users written (enabled and disabled).
    pub users: usize,
    pub disabled: usize,
    /// Out-of-scope users written because they hold an Asana account.
    pub out_of_scope: usize,
    pub groups: usize,
    /// Keys of users and teams left out because YAML elsewhere declares them.
    pub declared_elsewhere: Vec<String>,
}

/// What the import needs besides Entra's data.
pub struct Inputs<'a> {
    pub config: &'a Config,
    /// The live Asana organisation, to find out-of-scope users that hold an account; `None`
    /// when Asana is not read (then no out-of-scope user is written).
    pub live: Option<&'a Live>,
    /// Keys of users declared outside [`USERS_DIR`], and of groups outside [`GROUPS_DIR`].
    pub users_elsewhere: &'a HashSet<String>,
    pub groups_elsewhere: &'a HashSet<String>,
    /// `$schema` paths for the two files' modelines.
    pub users_schema: &'a str,
    pub groups_schema: &'a str,
    /// Comment lines after the modeline.
    pub header: &'a [String],
}

/// Decides the files.
pub fn build(data: &EntraData, inputs: &Inputs) -> Import {
    let accounts = inputs
        .live
        .map(|live| AccountIndex::new(inputs.config, live));
    let mut chosen: Vec<(User, Option<String>)> = Vec::new();
    let mut written: BTreeSet<String> = BTreeSet::new();
    let mut elsewhere = Vec::new();
    let (mut users, mut disabled, mut out_of_scope) = (0, 0, 0);
    for u in &data.users {
        let key = u.user.key();
        if inputs.users_elsewhere.contains(&key) {
            if u.user.in_scope {
                elsewhere.push(key);
            }
            continue;
        }
        if u.user.in_scope {
            users += 1;
            disabled += usize::from(!u.user.account_enabled);
            written.insert(key);
            let note = (!u.user.account_enabled).then(|| "disabled in Entra".to_string());
            chosen.push((u.user.clone(), note));
        } else if accounts
            .as_ref()
            .is_some_and(|a| a.holds_account(inputs.config, &u.user))
        {
            out_of_scope += 1;
            written.insert(key);
            // Written disabled, whatever Entra says of accountEnabled: IsSoftDeleted is true.
            let mut user = u.user.clone();
            user.account_enabled = false;
            let note = format!(
                "out of scope: {}; it holds an Asana account, so it is deprovisioned",
                u.out_of_scope
                    .as_deref()
                    .unwrap_or("not provisioned by Entra")
            );
            chosen.push((user, Some(note)));
        }
    }
    let entries: Vec<Entry> = chosen
        .into_iter()
        .map(|(user, note)| Entry::user(&user).with_note(note))
        .collect();

    let in_scope: HashMap<String, bool> = data
        .users
        .iter()
        .map(|u| (u.user.key(), u.user.in_scope))
        .collect();
    let mut groups: Vec<Group> = Vec::new();
    for g in &data.groups {
        if inputs.groups_elsewhere.contains(&g.key()) {
            elsewhere.push(g.display_name.clone());
            continue;
        }
        // Members the files declare: in-scope users written here, or declared by hand.
        let members = g
            .members
            .iter()
            .filter(|m| {
                let k = crate::names::match_key(m);
                (written.contains(&k) && in_scope.get(&k).copied().unwrap_or(false))
                    || inputs.users_elsewhere.contains(&k)
            })
            .cloned()
            .collect();
        groups.push(Group {
            members,
            ..g.clone()
        });
    }
    elsewhere.sort();
    Import {
        users_yaml: yaml::document(inputs.users_schema, inputs.header, "users", &entries),
        groups_yaml: yaml::document(
            inputs.groups_schema,
            inputs.header,
            "groups",
            &(groups.iter())
                .map(|g| Entry::group(&g.display_name, &g.members))
                .collect::<Vec<_>>(),
        ),
        users,
        disabled,
        out_of_scope,
        groups: groups.len(),
        declared_elsewhere: elsewhere,
    }
}

/// Live users by each matching target's value (lowercased), in precedence order: the same
/// matching the planner does.
struct AccountIndex {
    indexes: Vec<(&'static str, HashSet<String>)>,
}

impl AccountIndex {
    fn new(config: &Config, live: &Live) -> AccountIndex {
        let indexes = config
            .settings
            .user_mappings
            .iter()
            .filter(|m| m.match_priority.is_some())
            .filter_map(|m| {
                let path = AttrPath::parse(m.target.path).ok()?;
                // userName is at hand, as in the planner; anything else means the resource.
                let values = live
                    .users
                    .iter()
                    .filter_map(|u| {
                        if m.target.path == "userName" {
                            Some(crate::names::match_key(&u.user_name))
                        } else {
                            path.get(&u.resource())?
                                .as_str()
                                .map(crate::names::match_key)
                        }
                    })
                    .collect();
                Some((m.target.path, values))
            })
            .collect();
        AccountIndex { indexes }
    }

    fn holds_account(&self, config: &Config, user: &User) -> bool {
        let Ok(mapped) =
            mapping::map_user(&config.settings.user_mappings, user, true, Flow::Create)
        else {
            return false;
        };
        self.indexes.iter().any(|(target, values)| {
            matches!(mapped.get(target), Some(MappedValue::String(s)) if values.contains(&crate::names::match_key(s)))
        })
    }
}
