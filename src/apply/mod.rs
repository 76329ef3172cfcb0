//! Apply: carry out a plan against the target, object by object, and report every outcome.
//!
//! The plan is the only input that decides what to write: apply never adds a change the plan
//! did not show. Gates ([`gates`]) run before the first write. With an audit log
//! ([`audit`]), each change's intent is in the log before it is sent and its outcome after;
//! once the log cannot be written, no further change is sent. Execution order: users are
//! created, updated and reactivated first, managers before their reports (in levels); then
//! teams are created and their membership changed; deprovisions come last. Writes run
//! concurrently within the client's write limit; the client paces and retries, and one failing
//! object never stops the others. A 409 on create means the user exists: it is found by
//! userName and updated instead, so a re-run after any interruption converges without
//! duplicates. A create whose answer was lost (the connection dropped after the POST) is looked
//! up the same way before it is sent again. Updates use Asana's path-less `replace`, and a
//! path-based one for an element of a multi-valued attribute. On a generic SCIM server
//! ([`Target`]), an element that does not exist yet is added whole instead (a path-based
//! replace of it is RFC 7644's `noTarget` error), and when the server does not support PATCH
//! every change is a PUT of the whole resource as just read, with the change made to it.

pub mod audit;
pub mod gates;
pub mod stale;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value as Json, json};
use tokio::task::JoinSet;

use crate::config::model::{DeprovisionWith, Profile};
use crate::mapping::targets::user_target_of;
use crate::plan::{Action, Change, Kind, Plan};
use crate::scim::AttrPath;
use crate::scim::client::retry::GiveUp;
use crate::scim::client::{ClientError, Features, Resource, WriteClient};

const USER_SCHEMAS: [&str; 2] = [
    "urn:ietf:params:scim:schemas:core:2.0:User",
    crate::scim::ENTERPRISE_USER,
];
const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// How one change ended.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Success,
    Failure,
    Skipped,
}

/// The outcome of one change, for the report and the audit log.
#[derive(Debug, Clone)]
pub struct StepResult {
    pub change: Change,
    pub status: Status,
    /// The object's id after the step (the new id for creates).
    pub id: Option<String>,
    pub error: Option<String>,
    /// Something worth saying about a success (an existing user adopted after a 409).
    pub note: Option<String>,
    pub started: String,
    pub finished: String,
}

/// Everything an apply did.
#[derive(Debug, Clone, Default)]
pub struct ApplyReport {
    pub results: Vec<StepResult>,
    /// Why the audit log could not be written, when it failed: nothing was sent after that.
    pub audit_failure: Option<String>,
}

impl ApplyReport {
    pub fn count(&self, status: Status) -> usize {
        self.results.iter().filter(|r| r.status == status).count()
    }

    /// Changes not sent because the audit log could not be written.
    pub fn not_sent(&self) -> usize {
        self.results
            .iter()
            .filter(|r| r.error.as_deref().is_some_and(|e| e.starts_with(NOT_SENT)))
            .count()
    }

    /// A change failed, or the audit log did (and the changes after it were not sent).
    pub fn failed(&self) -> bool {
        self.count(Status::Failure) > 0 || self.audit_failure.is_some()
    }
}

/// How a change not sent for the audit log's failure is reported (its `error` starts so).
const NOT_SENT: &str = "not sent: the audit log could not be written";

/// What apply needs to know about the target: its profile and what its
/// `/ServiceProviderConfig` advertises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    pub profile: Profile,
    pub features: Features,
}

impl Target {
    pub const ASANA: Target = Target {
        profile: Profile::Asana,
        features: Features::ASANA,
    };
}

/// Options of one execution.
#[derive(Clone)]
pub struct Options {
    /// The target's profile and features: the forms writes take.
    pub target: Target,
    pub deprovision_with: DeprovisionWith,
    /// Send `If-Match` with the version the plan saw (when the server supports ETags).
    pub etags: HashMap<String, String>,
    /// Most writes in flight (the client also enforces its own limit).
    pub concurrency: usize,
    /// Called after each step (progress bars).
    pub on_step: Arc<dyn Fn(&StepResult) + Send + Sync>,
    /// Written before each change's first write (`intent`) and after it (`outcome`); once a
    /// write to it fails, no further change is sent.
    pub audit: Option<Arc<audit::AuditLog>>,
    /// Timestamps for the audit log.
    pub now: Arc<dyn Fn() -> String + Send + Sync>,
}

/// Executes the plan. Never fails as a whole: every outcome is in the report.
pub async fn execute(plan: &Plan, client: &WriteClient, options: Options) -> ApplyReport {
    let ids: Arc<Mutex<HashMap<String, String>>> = Arc::new(Mutex::new(
        plan.references
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    ));
    {
        let mut ids = ids.lock().expect("ids lock");
        for c in &plan.changes {
            if let (Kind::User, Some(id)) = (c.kind, &c.id) {
                ids.insert(c.key.clone(), id.clone());
            }
        }
    }
    let exec = Executor {
        client: client.clone(),
        ids,
        options,
        failed_users: Arc::new(Mutex::new(Vec::new())),
    };
    let mut report = ApplyReport::default();
    let (users, rest): (Vec<&Change>, Vec<&Change>) = plan
        .changes
        .iter()
        .partition(|c| c.kind == Kind::User && c.action != Action::Deprovision);
    for level in manager_levels(&users) {
        report.results.extend(exec.run_all(level).await);
    }
    let groups: Vec<&Change> = rest
        .iter()
        .copied()
        .filter(|c| c.kind == Kind::Group)
        .collect();
    // A team is created before members are added to it elsewhere in the plan.
    let (creates, memberships): (Vec<&Change>, Vec<&Change>) =
        groups.into_iter().partition(|c| c.action == Action::Create);
    report.results.extend(exec.run_all(creates).await);
    if exec.options.target.features.patch {
        report.results.extend(exec.run_all(memberships).await);
    } else {
        // Without PATCH a membership change is a read and a PUT of the whole team: a team's
        // additions and removals run one after the other, or the second would overwrite the
        // first (or, with ETags, be refused for it).
        let (adds, removes): (Vec<&Change>, Vec<&Change>) = memberships
            .into_iter()
            .partition(|c| c.action == Action::AddMembers);
        report.results.extend(exec.run_all(adds).await);
        report.results.extend(exec.run_all(removes).await);
    }
    let deprovisions: Vec<&Change> = rest
        .into_iter()
        .filter(|c| c.action == Action::Deprovision)
        .collect();
    report.results.extend(exec.run_all(deprovisions).await);
    report.audit_failure = exec.options.audit.as_ref().and_then(|a| a.failure());
    report
}

/// The version (`meta.version`) of every live object a change touches, by address, for
/// `If-Match` when the plan was made in this run.
pub fn etags(plan: &Plan, live: &crate::plan::Live) -> HashMap<String, String> {
    let users: HashMap<&str, &str> = live
        .users
        .iter()
        .filter_map(|u| Some((u.id.as_str(), u.version.as_deref()?)))
        .collect();
    let groups: HashMap<&str, &str> = live
        .groups
        .iter()
        .filter_map(|g| {
            Some((
                g.id.as_str(),
                g.resource.get("meta")?.get("version")?.as_str()?,
            ))
        })
        .collect();
    plan.changes
        .iter()
        .filter_map(|c| {
            let id = c.id.as_deref()?;
            let version = match c.kind {
                Kind::User => users.get(id)?,
                Kind::Group => groups.get(id)?,
            };
            Some((c.address(), version.to_string()))
        })
        .collect()
}

/// Splits user changes into levels so every manager is created before the users reporting to
/// them: level 0 has no manager being created in this plan, level n's manager is in level n-1.
fn manager_levels<'a>(users: &[&'a Change]) -> Vec<Vec<&'a Change>> {
    let created: HashMap<&str, usize> = users
        .iter()
        .enumerate()
        .filter(|(_, c)| c.action == Action::Create)
        .map(|(i, c)| (c.key.as_str(), i))
        .collect();
    let manager = |c: &Change| -> Option<usize> {
        c.attributes
            .iter()
            .find(|a| a.path.ends_with(":manager"))
            .and_then(|a| a.after.as_ref()?.as_str().map(crate::plan::match_key))
            .and_then(|m| created.get(m.as_str()).copied())
    };
    let mut depth: Vec<Option<usize>> = vec![None; users.len()];
    fn depth_of(
        i: usize,
        users: &[&Change],
        manager: &dyn Fn(&Change) -> Option<usize>,
        depth: &mut Vec<Option<usize>>,
        guard: usize,
    ) -> usize {
        if let Some(d) = depth[i] {
            return d;
        }
        // Validation forbids manager cycles; the guard keeps a broken plan file from looping.
        let d = match manager(users[i]) {
            Some(m) if m != i && guard < users.len() => {
                depth_of(m, users, manager, depth, guard + 1) + 1
            }
            _ => 0,
        };
        depth[i] = Some(d);
        d
    }
    let mut levels: Vec<Vec<&Change>> = Vec::new();
    for i in 0..users.len() {
        let d = depth_of(i, users, &manager, &mut depth, 0);
        if levels.len() <= d {
            levels.resize_with(d + 1, Vec::new);
        }
        levels[d].push(users[i]);
    }
    levels
}

#[derive(Clone)]
struct Executor {
    client: WriteClient,
    /// SCIM id by user key: from the plan, then from users created in this run.
    ids: Arc<Mutex<HashMap<String, String>>>,
    options: Options,
    /// Users whose create failed: their team memberships are skipped, not failed again.
    failed_users: Arc<Mutex<Vec<String>>>,
}

impl Executor {
    async fn run_all(&self, changes: Vec<&Change>) -> Vec<StepResult> {
        let mut set = JoinSet::new();
        let mut results = Vec::with_capacity(changes.len());
        let mut queue = changes.into_iter().cloned();
        let limit = self.options.concurrency.max(1);
        loop {
            while set.len() < limit {
                let Some(change) = queue.next() else { break };
                if let Some(why) = self.audit_failure() {
                    results.push(self.not_sent(change, &why));
                    continue;
                }
                let exec = self.clone();
                set.spawn(async move { exec.step(change).await });
            }
            match set.join_next().await {
                Some(Ok(r)) => {
                    (self.options.on_step)(&r);
                    results.push(r);
                }
                Some(Err(e)) => {
                    // A panicking step is a bug; report it rather than lose the others.
                    eprintln!("error: an apply step panicked: {e}");
                }
                None => break,
            }
        }
        results
    }

    fn audit_failure(&self) -> Option<String> {
        self.options.audit.as_ref().and_then(|a| a.failure())
    }

    /// A change not sent because the audit log could not be written.
    fn not_sent(&self, change: Change, why: &str) -> StepResult {
        let now = (self.options.now)();
        StepResult {
            id: change.id.clone(),
            change,
            status: Status::Skipped,
            error: Some(format!(
                "not sent: the audit log could not be written ({why})"
            )),
            note: None,
            started: now.clone(),
            finished: now,
        }
    }

    async fn step(&self, change: Change) -> StepResult {
        let started = (self.options.now)();
        // The intent is in the log before anything is sent, or nothing is sent.
        if let Some(audit) = &self.options.audit
            && let Err(why) = audit.intent(&change, &started)
        {
            return self.not_sent(change, &why);
        }
        let result = self.send(change, started).await;
        if let Some(audit) = &self.options.audit {
            // A failure here stops every later change (`audit_failure`); this one was sent.
            let _ = audit.outcome(&result);
        }
        result
    }

    async fn send(&self, change: Change, started: String) -> StepResult {
        let outcome = match (change.kind, change.action) {
            (Kind::User, Action::Create) => self.create_user(&change).await,
            (Kind::User, Action::Update | Action::Reactivate) => self.update_user(&change).await,
            (Kind::User, Action::Deprovision) => self.deprovision(&change).await,
            (Kind::Group, Action::Create) => self.create_group(&change).await,
            (Kind::Group, Action::AddMembers | Action::RemoveMembers) => {
                self.members(&change).await
            }
            (kind, action) => Err(StepError::Skip(format!(
                "{kind:?} {} is not supported",
                action.as_str()
            ))),
        };
        let finished = (self.options.now)();
        let (status, id, error, note) = match outcome {
            Ok(Done { id, note }) => (Status::Success, id, None, note),
            Err(StepError::Skip(why)) => (Status::Skipped, change.id.clone(), Some(why), None),
            Err(StepError::Fail(why)) => {
                if change.kind == Kind::User && change.action == Action::Create {
                    self.failed_users
                        .lock()
                        .expect("lock")
                        .push(change.key.clone());
                }
                (Status::Failure, change.id.clone(), Some(why), None)
            }
        };
        StepResult {
            change,
            status,
            id,
            error,
            note,
            started,
            finished,
        }
    }

    fn id_of(&self, key: &str) -> Option<String> {
        self.ids
            .lock()
            .expect("ids lock")
            .get(&crate::plan::match_key(key))
            .cloned()
    }

    /// The values a change sets, with their paths; `manager` resolved to an id.
    fn values(&self, change: &Change) -> Result<Vec<(String, AttrPath, Json)>, StepError> {
        let mut values = Vec::new();
        for a in &change.attributes {
            let Some(after) = &a.after else { continue };
            let value = if a.path.ends_with(":manager") {
                let key = after.as_str().unwrap_or_default();
                match self.id_of(key) {
                    Some(id) => json!({ "value": id }),
                    None => {
                        return Err(StepError::Fail(format!(
                            "manager `{key}` has no {} id (its create failed or it does not exist)",
                            self.options.target.profile.target_name()
                        )));
                    }
                }
            } else {
                after.clone()
            };
            let path = AttrPath::parse(&a.path)
                .map_err(|e| StepError::Fail(format!("bad path in plan: {e}")))?;
            values.push((a.path.clone(), path, value));
        }
        Ok(values)
    }

    /// The SCIM body for a create.
    fn user_body(&self, change: &Change) -> Result<Map<String, Json>, StepError> {
        let mut body = Map::new();
        for (_, path, value) in self.values(change)? {
            path.set(&mut body, value);
        }
        Ok(body)
    }

    async fn create_user(&self, change: &Change) -> Result<Done, StepError> {
        let mut body = self.user_body(change)?;
        body.insert("schemas".into(), json!(USER_SCHEMAS));
        let body = Json::Object(body);
        let mut dropped = 0;
        loop {
            match self.client.create_user(&body).await {
                Ok(r) => {
                    let id = r.id().ok_or_else(|| {
                        StepError::Fail("the server created the user but sent no id".into())
                    })?;
                    self.record_id(change, &id);
                    return Ok(Done {
                        id: Some(id),
                        note: (dropped > 0).then(|| resent(dropped)),
                    });
                }
                Err(e) if e.status() == Some(409) => {
                    // The user exists (a previous run created it, or someone else did).
                    let existing = self.find_user(change).await?.ok_or_else(|| {
                        StepError::Fail(format!(
                            "409 on create, but no user `{}` can be found",
                            change.key
                        ))
                    })?;
                    return self
                        .adopt_user(change, existing, "already existed (409): updated instead")
                        .await;
                }
                Err(e) if may_have_applied(&e) && dropped + 1 < CREATE_ATTEMPTS => {
                    // The answer was lost after the POST was sent, so Asana may have created the
                    // user. Look before sending it again: a retry never makes a duplicate.
                    dropped += 1;
                    if let Some(existing) = self.find_user(change).await? {
                        return self.adopt_user(change, existing, LOST_ANSWER).await;
                    }
                }
                Err(e) => return Err(fail(e)),
            }
        }
    }

    async fn find_user(&self, change: &Change) -> Result<Option<Resource>, StepError> {
        self.client
            .reader()
            .find_user_by_username(&change.key)
            .await
            .map_err(fail)
    }

    fn record_id(&self, change: &Change, id: &str) {
        self.ids
            .lock()
            .expect("ids lock")
            .insert(change.key.clone(), id.to_string());
    }

    /// Takes over an existing user for a create: sets what the create would have.
    async fn adopt_user(
        &self,
        change: &Change,
        existing: Resource,
        note: &str,
    ) -> Result<Done, StepError> {
        let id = existing
            .id()
            .ok_or_else(|| StepError::Fail("existing user has no id".into()))?;
        self.record_id(change, &id);
        // The userName matches already, and Asana refuses create-only targets
        // (`name.givenName`) on PATCH.
        let profile = self.options.target.profile;
        let values = self
            .values(change)?
            .into_iter()
            .filter(|(path, _, _)| {
                path != "userName" && user_target_of(profile, path).is_none_or(|t| t.updatable)
            })
            .collect();
        self.patch_user(&id, values, None).await?;
        Ok(Done {
            id: Some(id),
            note: Some(note.into()),
        })
    }

    async fn update_user(&self, change: &Change) -> Result<Done, StepError> {
        let id = change
            .id
            .clone()
            .ok_or_else(|| StepError::Fail("update without an id".into()))?;
        let values = self.values(change)?;
        let etag = self.options.etags.get(&change.address()).cloned();
        self.patch_user(&id, values, etag.as_deref()).await?;
        Ok(Done {
            id: Some(id),
            note: None,
        })
    }

    /// Sets `values` on a user in one PATCH, or one PUT where PATCH is not supported.
    async fn patch_user(
        &self,
        id: &str,
        values: Vec<(String, AttrPath, Json)>,
        etag: Option<&str>,
    ) -> Result<(), StepError> {
        if values.is_empty() {
            return Ok(());
        }
        let target = self.options.target;
        if !target.features.patch {
            return self
                .put_user(id, etag, |user| {
                    for (_, path, value) in values {
                        path.set(user, value);
                    }
                })
                .await;
        }
        let operations = if target.profile == Profile::Generic
            && values.iter().any(|(_, p, _)| p.type_filter.is_some())
        {
            // Whether each element exists decides the operation; read the user to know.
            let current = self.current_user(id).await?;
            element_operations(values, &current.0)
        } else {
            patch_operations(values)
        };
        let body = json!({ "schemas": [PATCH_OP], "Operations": operations });
        self.client
            .patch_user(id, &body, etag)
            .await
            .map(|_| ())
            .map_err(fail)
    }

    async fn current_user(&self, id: &str) -> Result<Resource, StepError> {
        self.client
            .reader()
            .get_user(id)
            .await
            .map_err(fail)?
            .ok_or_else(|| StepError::Fail(format!("user {id} no longer exists")))
    }

    async fn current_group(&self, id: &str) -> Result<Resource, StepError> {
        self.client
            .reader()
            .get_group(id)
            .await
            .map_err(fail)?
            .ok_or_else(|| StepError::Fail(format!("team {id} no longer exists")))
    }

    /// The version to send in `If-Match` with a PUT: the one the plan saw, else the one just
    /// read (so a change made in between is refused, not overwritten), when ETags are supported.
    fn put_version(&self, planned: Option<&str>, current: &Resource) -> Option<String> {
        if !self.options.target.features.etag {
            return None;
        }
        planned
            .map(str::to_string)
            .or_else(|| current.etag().map(str::to_string))
    }

    /// PATCH's replacement (RFC 7644 §3.5.1): read the user, change it, PUT it back whole.
    async fn put_user(
        &self,
        id: &str,
        etag: Option<&str>,
        change: impl FnOnce(&mut Map<String, Json>),
    ) -> Result<(), StepError> {
        let current = self.current_user(id).await?;
        let if_match = self.put_version(etag, &current);
        let mut user = replacement(current);
        change(&mut user);
        self.client
            .replace_user(id, &Json::Object(user), if_match.as_deref())
            .await
            .map(|_| ())
            .map_err(fail)
    }

    /// A team's members changed with one PUT of the whole team.
    async fn put_members(
        &self,
        group: &str,
        add: &[String],
        remove: &[String],
    ) -> Result<(), StepError> {
        let current = self.current_group(group).await?;
        let if_match = self.put_version(None, &current);
        let mut team = replacement(current);
        let mut members: Vec<Json> = team
            .get("members")
            .and_then(Json::as_array)
            .cloned()
            .unwrap_or_default();
        let id_of = |m: &Json| m.get("value").and_then(crate::plan::live::id_of_value);
        members.retain(|m| id_of(m).is_none_or(|id| !remove.contains(&id)));
        for id in add {
            if !members
                .iter()
                .any(|m| id_of(m).as_deref() == Some(id.as_str()))
            {
                members.push(json!({ "value": id }));
            }
        }
        // Only the member ids: `display` and `$ref` are the server's to fill in.
        let members: Vec<Json> = members
            .iter()
            .filter_map(|m| id_of(m).map(|id| json!({ "value": id })))
            .collect();
        team.insert("members".into(), Json::Array(members));
        self.client
            .replace_group(group, &Json::Object(team), if_match.as_deref())
            .await
            .map(|_| ())
            .map_err(fail)
    }

    async fn deprovision(&self, change: &Change) -> Result<Done, StepError> {
        let id = change
            .id
            .clone()
            .ok_or_else(|| StepError::Fail("deprovision without an id".into()))?;
        let etag = self.options.etags.get(&change.address()).cloned();
        match self.options.deprovision_with {
            DeprovisionWith::Deactivate if !self.options.target.features.patch => {
                self.put_user(&id, etag.as_deref(), |user| {
                    user.insert("active".into(), Json::Bool(false));
                })
                .await?;
            }
            DeprovisionWith::Deactivate => {
                let body = json!({ "schemas": [PATCH_OP], "Operations": [{ "op": "replace", "value": { "active": false } }] });
                self.client
                    .patch_user(&id, &body, etag.as_deref())
                    .await
                    .map_err(fail)?;
            }
            DeprovisionWith::Delete => {
                self.client
                    .delete_user(&id, etag.as_deref())
                    .await
                    .map_err(fail)?;
            }
        }
        Ok(Done {
            id: Some(id),
            note: None,
        })
    }

    /// Member ids for a change; members whose create failed are left out and named.
    fn member_ids(&self, change: &Change) -> (Vec<String>, Vec<String>) {
        let failed = self.failed_users.lock().expect("lock").clone();
        let mut ids = Vec::new();
        let mut missing = Vec::new();
        for m in &change.members {
            match m.id.clone().or_else(|| self.id_of(&m.key)) {
                Some(id) => ids.push(id),
                None if failed.contains(&m.key) => {
                    missing.push(format!("{} (create failed)", m.key))
                }
                None => missing.push(m.key.clone()),
            }
        }
        (ids, missing)
    }

    async fn create_group(&self, change: &Change) -> Result<Done, StepError> {
        let (ids, missing) = self.member_ids(change);
        let members: Vec<Json> = ids.iter().map(|id| json!({ "value": id })).collect();
        let body =
            json!({ "schemas": [GROUP_SCHEMA], "displayName": change.key, "members": members });
        let mut dropped = 0;
        loop {
            let conflict = match self.client.create_group(&body).await {
                Ok(r) => {
                    let note = (dropped > 0).then(|| resent(dropped));
                    return partial(r.id(), &missing, note.as_deref());
                }
                Err(e) if e.status() == Some(409) => true,
                Err(e) if may_have_applied(&e) && dropped + 1 < CREATE_ATTEMPTS => {
                    // As for users: look before sending it again.
                    dropped += 1;
                    false
                }
                Err(e) => return Err(fail(e)),
            };
            let existing = self
                .client
                .reader()
                .find_group_by_name(&change.key)
                .await
                .map_err(fail)?;
            match existing {
                Some(existing) => {
                    let id = existing
                        .id()
                        .ok_or_else(|| StepError::Fail("existing team has no id".into()))?;
                    self.add_members(&id, &ids).await?;
                    let note = if conflict {
                        "already existed (409): members added instead"
                    } else {
                        "the answer to the create was lost, and it had been created: members added to be sure"
                    };
                    return partial(Some(id), &missing, Some(note));
                }
                None if conflict => {
                    return Err(StepError::Fail(
                        "409 on create, but the team cannot be found".into(),
                    ));
                }
                None => {}
            }
        }
    }

    async fn add_members(&self, group: &str, ids: &[String]) -> Result<(), StepError> {
        if ids.is_empty() {
            return Ok(());
        }
        if !self.options.target.features.patch {
            return self.put_members(group, ids, &[]).await;
        }
        let value: Vec<Json> = ids.iter().map(|id| json!({ "value": id })).collect();
        let body = json!({ "schemas": [PATCH_OP], "Operations": [{ "op": "add", "path": "members", "value": value }] });
        self.client
            .patch_group(group, &body, None)
            .await
            .map(|_| ())
            .map_err(fail)
    }

    async fn members(&self, change: &Change) -> Result<Done, StepError> {
        let group = change
            .id
            .clone()
            .ok_or_else(|| StepError::Fail("team change without an id".into()))?;
        let (ids, missing) = self.member_ids(change);
        if change.action == Action::AddMembers {
            self.add_members(&group, &ids).await?;
        } else if !ids.is_empty() && !self.options.target.features.patch {
            self.put_members(&group, &[], &ids).await?;
        } else if !ids.is_empty() {
            let ops: Vec<Json> = ids
                .iter()
                .map(|id| json!({ "op": "remove", "path": format!("members[value eq \"{id}\"]") }))
                .collect();
            let body = json!({ "schemas": [PATCH_OP], "Operations": ops });
            self.client
                .patch_group(&group, &body, None)
                .await
                .map_err(fail)?;
        }
        partial(Some(group), &missing, None)
    }
}

/// PATCH operations that set `values`: Asana's documented path-less `replace` with an object
/// value, except for one element of a multi-valued attribute (`addresses[type eq "work"].locality`).
/// Inside a path-less value that would replace the whole list, dropping the element's other
/// sub-attributes and every other element, so it goes as a path-based `replace` (Entra's form,
/// which Asana's gallery app sends).
fn patch_operations(values: Vec<(String, AttrPath, Json)>) -> Vec<Json> {
    let mut plain = Map::new();
    let mut operations = Vec::new();
    for (text, path, value) in values {
        if path.type_filter.is_some() {
            operations.push(json!({ "op": "replace", "path": text, "value": value }));
        } else {
            path.set(&mut plain, value);
        }
    }
    if !plain.is_empty() {
        operations.insert(0, json!({ "op": "replace", "value": plain }));
    }
    operations
}

/// PATCH operations for a generic SCIM server, which follows RFC 7644 §3.5.2.3 to the letter: a
/// path-based `replace` of an element that does not exist is a `noTarget` error. So an element
/// of a multi-valued attribute that `current` lacks is added whole (`add` on the attribute
/// appends it, §3.5.2.1); one it has is changed in place, as [`patch_operations`] does.
fn element_operations(values: Vec<(String, AttrPath, Json)>, current: &Json) -> Vec<Json> {
    let mut kept = Vec::new();
    // New elements by the attribute's full name (with its schema), in first-seen order.
    let mut added: Vec<(String, Map<String, Json>)> = Vec::new();
    for (text, path, value) in values {
        if path.type_filter.is_none() {
            kept.push((text, path, value));
            continue;
        }
        let element = AttrPath {
            sub_attr: None,
            ..path.clone()
        };
        if element.get(current).is_some() {
            kept.push((text, path, value));
            continue;
        }
        let name = match &path.schema {
            Some(urn) => format!("{urn}:{}", path.attr),
            None => path.attr.clone(),
        };
        let at = match added.iter().position(|(n, _)| *n == name) {
            Some(at) => at,
            None => {
                added.push((name, Map::new()));
                added.len() - 1
            }
        };
        // Built where it would sit in a core resource, then taken out as the list alone.
        let scratch = &mut added[at].1;
        AttrPath {
            schema: None,
            ..path
        }
        .set(scratch, value);
    }
    let mut operations = patch_operations(kept);
    for (name, scratch) in added {
        let elements = scratch
            .into_values()
            .next()
            .unwrap_or(Json::Array(Vec::new()));
        operations.push(json!({ "op": "add", "path": name, "value": elements }));
    }
    operations
}

/// A resource as read, made into the body of its PUT: `meta` is the server's.
fn replacement(current: Resource) -> Map<String, Json> {
    match current.into_value() {
        Json::Object(mut map) => {
            map.remove("meta");
            map
        }
        _ => Map::new(),
    }
}

/// How many times a create is sent when its answer is lost (checking in between that it was
/// not created).
const CREATE_ATTEMPTS: u32 = 3;

const LOST_ANSWER: &str =
    "the answer to the create was lost, and it had been created: updated to be sure";

fn resent(dropped: u32) -> String {
    format!(
        "the answer to the create was lost {dropped} time(s), and it had not been created: sent again"
    )
}

/// The request was sent but its answer lost (a dropped connection or a timeout after a POST):
/// the server may have acted on it.
fn may_have_applied(e: &ClientError) -> bool {
    matches!(
        e,
        ClientError::Transport {
            why: GiveUp::MayHaveApplied,
            ..
        }
    )
}

struct Done {
    id: Option<String>,
    note: Option<String>,
}

enum StepError {
    Fail(String),
    Skip(String),
}

fn fail(e: ClientError) -> StepError {
    StepError::Fail(e.to_string())
}

/// A team step succeeds only when every member could be named; otherwise it fails and says who.
fn partial(id: Option<String>, missing: &[String], note: Option<&str>) -> Result<Done, StepError> {
    if missing.is_empty() {
        Ok(Done {
            id,
            note: note.map(str::to_string),
        })
    } else {
        Err(StepError::Fail(format!(
            "members without an id in the target were left out: {}",
            missing.join(", ")
        )))
    }
}

/// Counts by status, for the summary line.
pub fn summary(report: &ApplyReport) -> BTreeMap<&'static str, usize> {
    BTreeMap::from([
        ("done", report.count(Status::Success)),
        ("failed", report.count(Status::Failure)),
        ("skipped", report.count(Status::Skipped)),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::AttrChange;

    fn create(key: &str, manager: Option<&str>) -> Change {
        Change {
            kind: Kind::User,
            key: key.into(),
            action: Action::Create,
            id: None,
            attributes: manager
                .map(|m| AttrChange {
                    path: format!("{}:manager", crate::scim::ENTERPRISE_USER),
                    before: None,
                    after: Some(json!(m)),
                })
                .into_iter()
                .collect(),
            members: vec![],
            reason: None,
            source: None,
        }
    }

    fn values(list: &[(&str, Json)]) -> Vec<(String, AttrPath, Json)> {
        list.iter()
            .map(|(p, v)| (p.to_string(), AttrPath::parse(p).unwrap(), v.clone()))
            .collect()
    }

    #[test]
    fn a_generic_server_gets_missing_elements_added_whole_and_present_ones_replaced() {
        // Regression: scim2-server answers a path-based replace of an element the user lacks
        // with 400 noTarget, as RFC 7644 §3.5.2.3 says it must.
        let current = json!({
            "userName": "a",
            "addresses": [{ "type": "work", "country": "NL" }],
        });
        let ops = element_operations(
            values(&[
                ("title", json!("Lead")),
                ("addresses[type eq \"work\"].locality", json!("Delft")),
                ("phoneNumbers[type eq \"work\"].value", json!("+31")),
                ("phoneNumbers[type eq \"mobile\"].value", json!("+32")),
                ("emails[type eq \"work\"].value", json!("a@x.io")),
            ]),
            &current,
        );
        assert_eq!(
            ops,
            vec![
                json!({ "op": "replace", "value": { "title": "Lead" } }),
                json!({ "op": "replace", "path": "addresses[type eq \"work\"].locality", "value": "Delft" }),
                json!({ "op": "add", "path": "phoneNumbers", "value": [
                    { "type": "work", "value": "+31" }, { "type": "mobile", "value": "+32" } ] }),
                json!({ "op": "add", "path": "emails", "value": [
                    { "type": "work", "value": "a@x.io", "primary": true } ] }),
            ]
        );
    }

    #[test]
    fn a_put_body_is_the_resource_without_meta() {
        let r = Resource(json!({ "id": "1", "userName": "a", "meta": { "version": "W/\"3\"" } }));
        assert_eq!(
            Json::Object(replacement(r)),
            json!({ "id": "1", "userName": "a" })
        );
    }

    #[test]
    fn managers_are_created_before_their_reports() {
        let c = [
            create("d@x", Some("c@x")),
            create("c@x", Some("b@x")),
            create("a@x", None),
            create("b@x", Some("a@x")),
            create("e@x", Some("live@x")),
        ];
        let refs: Vec<&Change> = c.iter().collect();
        let levels: Vec<Vec<&str>> = manager_levels(&refs)
            .iter()
            .map(|l| l.iter().map(|c| c.key.as_str()).collect())
            .collect();
        assert_eq!(
            levels,
            vec![vec!["a@x", "e@x"], vec!["b@x"], vec!["c@x"], vec!["d@x"]]
        );
    }

    #[test]
    fn an_update_of_one_address_part_keeps_the_other_parts_and_elements() {
        // Regression: a path-less replace of `addresses` with only the changed part replaced
        // the whole list, so changing the city dropped the country and the plan never emptied.
        let values = [
            ("title", json!("Lead")),
            ("addresses[type eq \"work\"].locality", json!("Boston")),
            ("emails[type eq \"work\"].value", json!("a@x.io")),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
                json!("Sales"),
            ),
        ]
        .map(|(p, v)| (p.to_string(), AttrPath::parse(p).unwrap(), v));
        assert_eq!(
            patch_operations(values.to_vec()),
            vec![
                json!({ "op": "replace", "value": { "title": "Lead",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": { "department": "Sales" } } }),
                json!({ "op": "replace", "path": "addresses[type eq \"work\"].locality", "value": "Boston" }),
                json!({ "op": "replace", "path": "emails[type eq \"work\"].value", "value": "a@x.io" }),
            ]
        );
        assert!(patch_operations(Vec::new()).is_empty());
    }

    #[test]
    fn a_cycle_in_a_broken_plan_file_does_not_loop() {
        let c = [create("a@x", Some("b@x")), create("b@x", Some("a@x"))];
        let refs: Vec<&Change> = c.iter().collect();
        let n: usize = manager_levels(&refs).iter().map(Vec::len).sum();
        assert_eq!(n, 2);
    }
}
