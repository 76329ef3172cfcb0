//! Apply: carry out a plan against the target, object by object, and report every outcome.
//!
//! The plan is the only input that decides what to write: apply never adds a change the plan
//! did not show. Gates ([`gates`]) run before the first write. Execution order: users are
//! created, updated and reactivated first, managers before their reports (in levels); then
//! teams are created and their membership changed; deprovisions come last. Writes run
//! concurrently within the client's write limit; the client paces and retries, and one failing
//! object never stops the others. A 409 on create means the user exists: it is found by
//! userName and updated instead, so a re-run after any interruption converges without
//! duplicates.

pub mod audit;
pub mod gates;
pub mod stale;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value as Json, json};
use tokio::task::JoinSet;

use crate::config::model::DeprovisionWith;
use crate::plan::{Action, Change, Kind, Plan};
use crate::scim::AttrPath;
use crate::scim::client::{ClientError, WriteClient};

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
}

impl ApplyReport {
    pub fn count(&self, status: Status) -> usize {
        self.results.iter().filter(|r| r.status == status).count()
    }

    pub fn failed(&self) -> bool {
        self.count(Status::Failure) > 0
    }
}

/// Options of one execution.
#[derive(Clone)]
pub struct Options {
    pub deprovision_with: DeprovisionWith,
    /// Send `If-Match` with the version the plan saw (when the server supports ETags).
    pub etags: HashMap<String, String>,
    /// Most writes in flight (the client also enforces its own limit).
    pub concurrency: usize,
    /// Called after each step (progress bars, audit log).
    pub on_step: Arc<dyn Fn(&StepResult) + Send + Sync>,
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
    report.results.extend(exec.run_all(memberships).await);
    let deprovisions: Vec<&Change> = rest
        .into_iter()
        .filter(|c| c.action == Action::Deprovision)
        .collect();
    report.results.extend(exec.run_all(deprovisions).await);
    report
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
            .and_then(|a| a.after.as_ref()?.as_str().map(str::to_lowercase))
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

    async fn step(&self, change: Change) -> StepResult {
        let started = (self.options.now)();
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
            .get(&key.to_lowercase())
            .cloned()
    }

    /// The SCIM body for a change's attributes; `manager` resolved to an id.
    fn user_body(&self, change: &Change) -> Result<Map<String, Json>, StepError> {
        let mut body = Map::new();
        for a in &change.attributes {
            let Some(after) = &a.after else { continue };
            let value = if a.path.ends_with(":manager") {
                let key = after.as_str().unwrap_or_default();
                match self.id_of(key) {
                    Some(id) => json!({ "value": id }),
                    None => {
                        return Err(StepError::Fail(format!(
                            "manager `{key}` has no Asana id (its create failed or it does not exist)"
                        )));
                    }
                }
            } else {
                after.clone()
            };
            let path = AttrPath::parse(&a.path)
                .map_err(|e| StepError::Fail(format!("bad path in plan: {e}")))?;
            path.set(&mut body, value);
        }
        Ok(body)
    }

    async fn create_user(&self, change: &Change) -> Result<Done, StepError> {
        let mut body = self.user_body(change)?;
        body.insert("schemas".into(), json!(USER_SCHEMAS));
        match self.client.create_user(&Json::Object(body.clone())).await {
            Ok(r) => {
                let id = r.id().ok_or_else(|| {
                    StepError::Fail("the server created the user but sent no id".into())
                })?;
                self.ids
                    .lock()
                    .expect("ids lock")
                    .insert(change.key.clone(), id.clone());
                Ok(Done {
                    id: Some(id),
                    note: None,
                })
            }
            Err(e) if e.status() == Some(409) => {
                // The user exists (a previous run created it, or someone else did): adopt it.
                let existing = self
                    .client
                    .reader()
                    .find_user_by_username(&change.key)
                    .await
                    .map_err(fail)?
                    .ok_or_else(|| {
                        StepError::Fail(format!(
                            "409 on create, but no user `{}` can be found",
                            change.key
                        ))
                    })?;
                let id = existing
                    .id()
                    .ok_or_else(|| StepError::Fail("existing user has no id".into()))?;
                self.ids
                    .lock()
                    .expect("ids lock")
                    .insert(change.key.clone(), id.clone());
                body.remove("schemas");
                body.remove("userName");
                self.patch_user(&id, body, None).await?;
                Ok(Done {
                    id: Some(id),
                    note: Some("already existed (409): updated instead".into()),
                })
            }
            Err(e) => Err(fail(e)),
        }
    }

    async fn update_user(&self, change: &Change) -> Result<Done, StepError> {
        let id = change
            .id
            .clone()
            .ok_or_else(|| StepError::Fail("update without an id".into()))?;
        let body = self.user_body(change)?;
        let etag = self.options.etags.get(&change.address()).cloned();
        self.patch_user(&id, body, etag.as_deref()).await?;
        Ok(Done {
            id: Some(id),
            note: None,
        })
    }

    /// Asana's documented PATCH form: one path-less `replace` with an object value.
    async fn patch_user(
        &self,
        id: &str,
        value: Map<String, Json>,
        etag: Option<&str>,
    ) -> Result<(), StepError> {
        if value.is_empty() {
            return Ok(());
        }
        let body =
            json!({ "schemas": [PATCH_OP], "Operations": [{ "op": "replace", "value": value }] });
        self.client
            .patch_user(id, &body, etag)
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
        let r = match self.client.create_group(&body).await {
            Ok(r) => r,
            Err(e) if e.status() == Some(409) => {
                let existing = self
                    .client
                    .reader()
                    .find_group_by_name(&change.key)
                    .await
                    .map_err(fail)?;
                let existing = existing.ok_or_else(|| {
                    StepError::Fail("409 on create, but the team cannot be found".into())
                })?;
                let id = existing
                    .id()
                    .ok_or_else(|| StepError::Fail("existing team has no id".into()))?;
                self.add_members(&id, &ids).await?;
                return partial(
                    Some(id),
                    &missing,
                    Some("already existed (409): members added instead"),
                );
            }
            Err(e) => return Err(fail(e)),
        };
        let id = r.id();
        partial(id, &missing, None)
    }

    async fn add_members(&self, group: &str, ids: &[String]) -> Result<(), StepError> {
        if ids.is_empty() {
            return Ok(());
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
            "members without an Asana id were left out: {}",
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
    fn a_cycle_in_a_broken_plan_file_does_not_loop() {
        let c = [create("a@x", Some("b@x")), create("b@x", Some("a@x"))];
        let refs: Vec<&Change> = c.iter().collect();
        let n: usize = manager_levels(&refs).iter().map(Vec::len).sum();
        assert_eq!(n, 2);
    }
}
