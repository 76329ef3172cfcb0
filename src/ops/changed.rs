//! `--changed-since GIT_REF`: which users and groups a change touches, and reading only those
//! from the target. `--target ADDRESS` names the objects itself ([`Changed::targets`]) and is
//! read by the same path, with what a targeted user needs besides: its managers up the
//! declared chain and the declared teams that list it.
//!
//! Declarations are compared by content, not by file: a user moved to another file is not a
//! change; one added, edited or removed is. Git is asked for the files that differ between the
//! ref and the working tree (renames followed, untracked files included).

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail};

use crate::config::Config;
use crate::config::load::parse_raw;
use crate::config::raw::{RawGroupsFile, RawUsersFile};
use crate::plan::{Kind, Live, LiveGroup, LiveUser, ReportedUsers, Scope};
use crate::render::markdown::visible;
use crate::scim::client::{ClientError, ReadClient};

/// Declarations that differ between a ref and the working tree.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Changed {
    /// Users added or edited (lowercased userPrincipalName).
    pub users: BTreeSet<String>,
    /// Users whose declaration was removed.
    pub removed_users: BTreeSet<String>,
    /// Groups added, edited or removed (displayName, lowercased).
    pub groups: BTreeSet<String>,
    /// Files that differ, for the message.
    pub files: Vec<String>,
    /// `--target`: the addresses named, as the plan prints them (empty for `--changed-since`).
    /// The scoped users then bring the managers and team additions they need
    /// ([`Scope::targeted`]).
    pub targets: Vec<String>,
}

impl Changed {
    pub fn scope(&self) -> Scope {
        Scope {
            users: Some(
                self.users
                    .iter()
                    .chain(&self.removed_users)
                    .cloned()
                    .collect(),
            ),
            groups: Some(self.groups.clone()),
            targeted: self.targeted(),
            // The instant and `expired_only` are the caller's (`pipeline::read_and_plan`).
            ..Scope::default()
        }
    }

    /// Whether this is `--target`'s selection rather than `--changed-since`'s.
    pub fn targeted(&self) -> bool {
        !self.targets.is_empty()
    }

    /// `--target ADDRESS…`: the objects named. Addresses that do not parse are refused here,
    /// before anything is read; [`Changed::unmatched_targets`] names, once the target is read,
    /// the ones that name nothing.
    pub fn of_targets(config: &Config, addresses: &[String]) -> anyhow::Result<Changed> {
        let mut changed = Changed::default();
        for (kind, key) in parse_targets(addresses)? {
            changed.include(config, kind, &key);
            changed.targets.push(crate::plan::address(kind, &key));
        }
        changed.targets.sort();
        changed.targets.dedup();
        Ok(changed)
    }

    /// The targets that match no declaration and no object read from the target, each an
    /// error line; empty when every target names something.
    pub fn unmatched_targets(&self, config: &Config, live: &Live) -> Vec<String> {
        let mut out = Vec::new();
        for address in &self.targets {
            let Ok((kind, key)) = crate::plan::parse_address(address) else {
                continue;
            };
            let found = match kind {
                Kind::User => {
                    let key = crate::plan::match_key(&key);
                    config.user(&key).is_some()
                        || live
                            .users
                            .iter()
                            .any(|u| crate::plan::match_key(&u.user_name) == key)
                }
                Kind::Group => {
                    let key = key.to_lowercase();
                    config.groups.iter().any(|g| g.key() == key)
                        || live
                            .groups
                            .iter()
                            .any(|g| g.display_name.to_lowercase() == key)
                }
            };
            if !found {
                let what = match kind {
                    Kind::User => "user with this userName",
                    Kind::Group => "team with this displayName",
                };
                out.push(format!(
                    "--target {}: no declaration in users/ or groups/ and no {what} in the \
                     target",
                    visible(address)
                ));
            }
        }
        out
    }

    /// Teams whose `member_rules` may now match differently: every team with rules, when any
    /// user changed or was removed (a user's new department moves it between teams without
    /// the teams' declarations changing).
    pub fn include_rule_teams(&mut self, config: &Config) {
        if self.users.is_empty() && self.removed_users.is_empty() {
            return;
        }
        for g in config.groups.iter().filter(|g| !g.member_rules.is_empty()) {
            self.groups.insert(g.key());
        }
    }

    /// Reads and plans one more object, as if its declaration had changed: a declared user
    /// (or one no longer declared), or a team (`apply --replan` adds every object the saved
    /// plan changes, so each saved change is planned again).
    pub fn include(&mut self, config: &Config, kind: Kind, key: &str) {
        match kind {
            Kind::User => {
                let key = crate::plan::match_key(key);
                if config.user(&key).is_some() {
                    self.users.insert(key);
                } else {
                    self.removed_users.insert(key);
                }
            }
            Kind::Group => {
                self.groups.insert(key.to_lowercase());
            }
        }
    }
}

/// Reads `--target` addresses; every malformed one is named in the error.
pub fn parse_targets(addresses: &[String]) -> anyhow::Result<Vec<(Kind, String)>> {
    let mut parsed = Vec::new();
    let mut errors = Vec::new();
    for a in addresses {
        match crate::plan::parse_address(a) {
            Ok(t) => parsed.push(t),
            // Shown as typed, but never as a terminal escape or hidden text.
            Err(e) => errors.push(format!("--target: {}", visible(&e.to_string()))),
        }
    }
    if !errors.is_empty() {
        bail!("{}; nothing was read or sent", errors.join("\n"));
    }
    Ok(parsed)
}

/// Asks git what changed under `dir`'s users/ and groups/ since `git_ref`.
pub fn since(dir: &Path, git_ref: &str) -> anyhow::Result<Changed> {
    let top = git(dir, &["rev-parse", "--show-toplevel"])
        .context("--changed-since needs the config directory to be in a git repository")?;
    let top = Path::new(top.trim());
    let dir_abs = dir
        .canonicalize()
        .with_context(|| format!("cannot resolve `{}`", dir.display()))?;
    let prefix = dir_abs
        .strip_prefix(top.canonicalize()?)
        .unwrap_or(Path::new(""))
        .to_path_buf();
    git(
        dir,
        &[
            "rev-parse",
            "--verify",
            "-q",
            &format!("{git_ref}^{{commit}}"),
        ],
    )
    .with_context(|| format!("`{git_ref}` is not a commit git knows"))?;
    let pathspecs = ["users", "groups"];
    // Paths in git's output are relative to the top of the repository.
    let diff = git(
        dir,
        &[
            &["diff", "--name-status", "-M", "--no-color", git_ref, "--"][..],
            &pathspecs,
        ]
        .concat(),
    )?;
    let untracked = git(
        dir,
        &[
            &[
                "ls-files",
                "--others",
                "--exclude-standard",
                "--full-name",
                "--",
            ][..],
            &pathspecs,
        ]
        .concat(),
    )?;
    let mut old_files: Vec<String> = Vec::new();
    let mut new_files: Vec<String> = Vec::new();
    for line in diff.lines() {
        let parts: Vec<&str> = line.split('\t').collect();
        match parts.as_slice() {
            [status, old, new] if status.starts_with('R') || status.starts_with('C') => {
                old_files.push(old.to_string());
                new_files.push(new.to_string());
            }
            [status, path] if status.starts_with('A') => new_files.push(path.to_string()),
            [status, path] if status.starts_with('D') => old_files.push(path.to_string()),
            [_, path] => {
                old_files.push(path.to_string());
                new_files.push(path.to_string());
            }
            _ => {}
        }
    }
    new_files.extend(untracked.lines().map(str::to_string));
    let is_yaml = |p: &String| crate::config::load::is_yaml(Path::new(p));
    old_files.retain(is_yaml);
    new_files.retain(is_yaml);
    let old_texts: Vec<(&str, String)> = (old_files.iter())
        .map(|f| {
            let text = git(dir, &["show", &format!("{git_ref}:{f}")]).unwrap_or_default();
            (f.as_str(), text)
        })
        .collect();
    // As the config is read: regular files inside the config directory only.
    let root = crate::fsio::Root::new(dir)?;
    let new_texts: Vec<(&str, String)> = (new_files.iter())
        .map(|f| {
            let rel = Path::new(f).strip_prefix(&prefix).unwrap_or(Path::new(f));
            let bytes = root
                .read(&dir.join(rel), crate::config::load::MAX_FILE_BYTES)
                .unwrap_or_default();
            (f.as_str(), String::from_utf8(bytes).unwrap_or_default())
        })
        .collect();
    // The two sides are parsed side by side: parsing is most of this, and each side is about
    // as large as the other.
    let (old, new) = std::thread::scope(|scope| {
        let old = scope.spawn(|| Declarations::of(&old_texts));
        let new = Declarations::of(&new_texts);
        (old.join().expect("the parser thread panicked"), new)
    });
    let (old, new) = (old?, new?);
    let mut files: Vec<String> = old_files.into_iter().chain(new_files).collect();
    files.sort();
    files.dedup();
    Ok(compare(&old, &new, files))
}

/// The declarations found in a set of files: key -> canonical content.
#[derive(Debug, Default)]
pub struct Declarations {
    users: BTreeMap<String, String>,
    groups: BTreeMap<String, String>,
}

impl Declarations {
    /// The declarations of files given as (path, text).
    fn of(files: &[(&str, String)]) -> anyhow::Result<Declarations> {
        let mut declarations = Declarations::default();
        for (path, text) in files {
            declarations.add(path, text)?;
        }
        Ok(declarations)
    }

    /// Adds a users or groups file (by its path); an empty text is no file.
    pub fn add(&mut self, path: &str, text: &str) -> anyhow::Result<()> {
        if text.trim().is_empty() {
            return Ok(());
        }
        let in_dir = |d: &str| path.split('/').any(|c| c == d);
        if in_dir("users") {
            let f: RawUsersFile = parse_raw(text).map_err(|e| anyhow::anyhow!("{path}: {e}"))?;
            for u in f.users {
                if let Some(upn) = &u.value.user_principal_name {
                    self.users
                        .insert(crate::plan::match_key(&upn.value), format!("{:?}", u.value));
                }
            }
        } else if in_dir("groups") {
            let f: RawGroupsFile = parse_raw(text).map_err(|e| anyhow::anyhow!("{path}: {e}"))?;
            for g in f.groups {
                self.groups.insert(
                    g.value.display_name.value.to_lowercase(),
                    format!("{:?}", g.value),
                );
            }
        }
        Ok(())
    }
}

/// What differs between two sets of declarations. Pure.
pub fn compare(old: &Declarations, new: &Declarations, files: Vec<String>) -> Changed {
    let mut c = Changed {
        files,
        ..Changed::default()
    };
    for (k, v) in &new.users {
        if old.users.get(k) != Some(v) {
            c.users.insert(k.clone());
        }
    }
    for k in old.users.keys() {
        if !new.users.contains_key(k) {
            c.removed_users.insert(k.clone());
        }
    }
    let keys: BTreeSet<&String> = old.groups.keys().chain(new.groups.keys()).collect();
    for k in keys {
        if old.groups.get(k) != new.groups.get(k) {
            c.groups.insert(k.clone());
        }
    }
    c
}

/// Runs `git -C dir args…` and returns what it printed: the one program roster runs.
#[expect(
    clippy::disallowed_methods,
    reason = "git is the one program roster runs (--changed-since, a plan's commit)"
)]
pub(crate) fn git(dir: &Path, args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .context("cannot run git")?;
    if !out.status.success() {
        bail!(
            "git {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Reads only what a scoped plan needs: the changed users, their managers, the changed groups
/// and their members, each by filter or id, the live managers of the users read (so a cleared
/// manager shows by userName), and how many users the target has (for the percent deprovision
/// cap). With `--target`, also the managers up each targeted user's declared chain and the
/// declared teams that list a targeted user (whose other members are not read: only that
/// user's addition is planned). `complete` is false. A server that cannot filter would answer
/// every lookup with its whole list, so it is read once, whole (`complete`).
pub async fn read_scoped(
    client: &ReadClient,
    config: &Config,
    changed: &Changed,
) -> Result<Live, ClientError> {
    if !client.filters() {
        return super::read_live(client).await;
    }
    let reported_users = count_users(client).await?;
    let mut wanted: BTreeSet<String> = changed
        .users
        .iter()
        .chain(&changed.removed_users)
        .cloned()
        .collect();
    for key in &changed.users {
        let mut at = config.user(key);
        // `--target` may create a missing manager, whose own manager it then refers to.
        let mut hops = if changed.targeted() {
            config.users.len()
        } else {
            1
        };
        while let Some(m) = at.and_then(|u| u.manager()) {
            let m = crate::plan::match_key(m);
            if hops == 0 || !wanted.insert(m.clone()) {
                break;
            }
            hops -= 1;
            at = config.user(&m);
        }
    }
    let groups = config
        .groups
        .iter()
        .filter(|g| changed.groups.contains(&g.key()));
    for g in groups {
        let members = crate::teams::members(config, g, crate::config::model::User::provisioned);
        wanted.extend(members.iter().map(|m| crate::plan::match_key(&m.upn)));
    }
    // `--target`: the declared teams a targeted user is in, for that user's addition.
    let mut read_groups = changed.groups.clone();
    if changed.targeted() {
        // Explicit members and the users its rules give.
        let lists_target = |g: &&crate::config::model::Group| {
            crate::teams::members(config, g, crate::config::model::User::provisioned)
                .iter()
                .any(|m| changed.users.contains(&crate::plan::match_key(&m.upn)))
        };
        read_groups.extend(config.groups.iter().filter(lists_target).map(|g| g.key()));
    }
    let mut live = Live {
        reported_users,
        ..Live::default()
    };
    let mut seen: HashSet<String> = HashSet::new();
    for r in fetch(client, wanted.into_iter(), |c, k| async move {
        c.find_user_by_username(&k).await
    })
    .await?
    {
        if let Ok(u) = LiveUser::from_resource(r.into_value())
            && seen.insert(u.id.clone())
        {
            live.users.push(u);
        }
    }
    for r in fetch(client, read_groups.into_iter(), |c, k| async move {
        c.find_group_by_name(&k).await
    })
    .await?
    {
        if let Ok(g) = LiveGroup::from_resource(r.into_value()) {
            live.groups.push(g);
        }
    }
    // Live members nobody declared still need a name for the plan to show their removal (in
    // the teams planned whole), and live managers one for the plan to show them cleared.
    let manager =
        crate::scim::AttrPath::parse(&format!("{}:manager", crate::scim::ENTERPRISE_USER))
            .expect("the manager path parses");
    let managers: Vec<String> = (live.users.iter())
        .filter_map(|u| {
            manager
                .get(&u.resource())?
                .get("value")
                .and_then(crate::plan::live::id_of_value)
        })
        .collect();
    let unknown: BTreeSet<String> = (live.groups.iter())
        .filter(|g| changed.groups.contains(&g.display_name.to_lowercase()))
        .flat_map(|g| g.member_ids.iter().cloned())
        .chain(managers)
        .filter(|id| !seen.contains(id))
        .collect();
    for r in fetch(client, unknown.into_iter(), |c, id| async move {
        c.get_user(&id).await
    })
    .await?
    {
        if let Ok(u) = LiveUser::from_resource(r.into_value())
            && seen.insert(u.id.clone())
        {
            live.users.push(u);
        }
    }
    Ok(live)
}

/// How many users the target has, for the percent deprovision cap of a scoped plan: its count
/// of active users where it can filter on `active`, else its count of every user it lists, else
/// `None`. One request, or two when the filter is refused.
async fn count_users(client: &ReadClient) -> Result<Option<ReportedUsers>, ClientError> {
    match client.count_users(true).await {
        Ok(Some(count)) => {
            return Ok(Some(ReportedUsers {
                count,
                active_only: true,
            }));
        }
        Ok(None) => {}
        // Asana filters on userName only: 400 invalidFilter. 501: no filtering at all.
        Err(e) if matches!(e.status(), Some(400 | 501)) => {}
        Err(e) => return Err(e),
    }
    Ok(client.count_users(false).await?.map(|count| ReportedUsers {
        count,
        active_only: false,
    }))
}

/// Runs one lookup per key, at most 20 at a time, keeping the ones that found something.
async fn fetch<F, Fut>(
    client: &ReadClient,
    keys: impl Iterator<Item = String>,
    lookup: F,
) -> Result<Vec<crate::scim::client::Resource>, ClientError>
where
    F: Fn(ReadClient, String) -> Fut,
    Fut: std::future::Future<Output = Result<Option<crate::scim::client::Resource>, ClientError>>
        + Send
        + 'static,
{
    let mut set = tokio::task::JoinSet::new();
    let mut out = Vec::new();
    let mut keys = keys.peekable();
    while keys.peek().is_some() || !set.is_empty() {
        while set.len() < 20 {
            let Some(k) = keys.next() else { break };
            set.spawn(lookup(client.clone(), k));
        }
        if let Some(r) = set.join_next().await
            && let Some(found) = r.expect("a lookup task panicked")?
        {
            out.push(found);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decl(files: &[(&str, &str)]) -> Declarations {
        let mut d = Declarations::default();
        for (p, t) in files {
            d.add(p, t).unwrap();
        }
        d
    }

    #[test]
    fn edits_additions_and_removals_are_changes_moves_are_not() {
        let old = decl(&[
            (
                "users/a.yaml",
                "users:\n  - userPrincipalName: a@x.io\n    jobTitle: Eng\n  - userPrincipalName: b@x.io\n  - userPrincipalName: moved@x.io\n    city: Delft\n",
            ),
            (
                "groups/t.yaml",
                "groups:\n  - displayName: T\n    members: [a@x.io]\n  - displayName: Same\n",
            ),
        ]);
        let new = decl(&[
            (
                "users/a.yaml",
                "users:\n  - userPrincipalName: A@x.io\n    jobTitle: Lead\n  - userPrincipalName: c@x.io\n",
            ),
            (
                "users/b.yaml",
                "users:\n  - userPrincipalName: moved@x.io\n    city: Delft   # moved here\n",
            ),
            (
                "groups/t.yaml",
                "groups:\n  - displayName: T\n    members: [a@x.io, c@x.io]\n  - displayName: Same\n",
            ),
        ]);
        let c = compare(&old, &new, vec![]);
        assert_eq!(c.users, ["a@x.io".to_string(), "c@x.io".into()].into());
        assert_eq!(c.removed_users, ["b@x.io".to_string()].into());
        assert_eq!(c.groups, ["t".to_string()].into());
    }

    /// A user's new department moves it between rule-based teams whose declarations did not
    /// change: with any user changed, every team with rules is planned; with none, none is.
    #[test]
    fn issue14_rule_based_teams_are_planned_when_a_user_changed() {
        let (config, report) = crate::config::from_texts(
            "version: 1\n",
            &[(
                "users/u.yaml",
                "users:\n  - { userPrincipalName: a@x.io, department: Eng }\n",
            )],
            &[(
                "groups/g.yaml",
                "groups:\n  - displayName: Eng\n    member_rules: [{ clauses: [{ attribute: department, operator: EQUALS, value: Eng }] }]\n  - displayName: Listed\n    members: [a@x.io]\n",
            )],
        );
        let config = config.unwrap_or_else(|| panic!("{:?}", report.diagnostics));
        let mut none = Changed::default();
        none.include_rule_teams(&config);
        assert!(none.groups.is_empty());
        let mut one = Changed {
            users: ["a@x.io".to_string()].into(),
            ..Changed::default()
        };
        one.include_rule_teams(&config);
        assert_eq!(one.groups, ["eng".to_string()].into());
    }
}
