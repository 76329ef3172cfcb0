//! The executor: sends a plan's changes in the batches of [`super::order`], at most
//! [`Options::concurrency`] at a time, and returns one [`StepResult`] per change.
//!
//! The client paces and retries; one failing object never stops the others. With an audit log,
//! each change's intent is in the log before anything is sent for it and its outcome after;
//! once the log cannot be written, no further change is sent. Creates go through the one error
//! policy ([`policy::on_create_error`]): adopt on 409, look up and resend when the answer was
//! lost, fail otherwise.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::{Value as Json, json};
use tokio::task::JoinSet;

use super::policy::{self, Decision};
use super::report::{Failure, Found, Member, Note, Outcome, SkipReason, StepResult};
use super::request::{self, Assignment};
use super::{ApplyReport, audit, order};
use crate::config::model::{DeprovisionWith, Profile};
use crate::mapping::targets::{self, user_target_of};
use crate::plan::{Action, Change, Kind, Plan};
use crate::scim::AttrPath;
use crate::scim::client::{Features, Resource, WriteClient};

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
    let mut ids: HashMap<String, String> = plan
        .references
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for c in &plan.changes {
        if let (Kind::User, Some(id)) = (c.kind, &c.id) {
            ids.insert(c.key.clone(), id.clone());
        }
    }
    let exec = Executor {
        client: client.clone(),
        ids: Arc::new(Mutex::new(ids)),
        failed_users: Arc::new(Mutex::new(Vec::new())),
        options,
    };
    let mut report = ApplyReport::default();
    for batch in order::batches(&plan.changes, exec.options.target.features.patch) {
        report.results.extend(exec.run_all(batch).await);
    }
    report.audit_failure = exec.audit_failure();
    report
}

#[derive(Clone)]
struct Executor {
    client: WriteClient,
    /// SCIM id by user key: from the plan, then from users created in this run.
    ids: Arc<Mutex<HashMap<String, String>>>,
    /// Users whose create failed: their team memberships are skipped, not failed again.
    failed_users: Arc<Mutex<Vec<String>>>,
    options: Options,
}

/// What a step that did not fail returns.
struct Done {
    id: Option<String>,
    note: Option<Note>,
}

/// How a create ended: the server made the object, or it exists and is to be taken over.
enum Created {
    New { resource: Resource, resent: u32 },
    Existing { resource: Resource, found: Found },
}

impl Executor {
    /// Runs one batch, at most `concurrency` at a time; one result per change.
    async fn run_all(&self, changes: Vec<&Change>) -> Vec<StepResult> {
        let mut set = JoinSet::new();
        // The change of each task in flight, so that a panicking step still has an outcome.
        let mut in_flight = HashMap::new();
        let mut results = Vec::with_capacity(changes.len());
        let mut queue = changes.into_iter();
        let limit = self.options.concurrency.max(1);
        loop {
            while set.len() < limit {
                let Some(change) = queue.next() else { break };
                if let Some(why) = self.audit_failure() {
                    results.push(self.not_sent(change.clone(), why));
                    continue;
                }
                let exec = self.clone();
                let owned = change.clone();
                let task = set.spawn(async move { exec.step(owned).await });
                in_flight.insert(task.id(), change);
            }
            let result = match set.join_next_with_id().await {
                Some(Ok((task, r))) => {
                    in_flight.remove(&task);
                    r
                }
                // A panicking step is a bug: reported as a failure of its change, rather than
                // lost along with the others. No outcome goes to the audit log, so its intent
                // stays unfinished: whether anything was sent is not known.
                Some(Err(e)) => match in_flight.remove(&e.id()) {
                    Some(change) => self.finish(
                        change.clone(),
                        Outcome::Failed(Failure::Panicked(e.to_string())),
                        None,
                        (self.options.now)(),
                    ),
                    None => continue,
                },
                None => break,
            };
            (self.options.on_step)(&result);
            results.push(result);
        }
        results
    }

    fn audit_failure(&self) -> Option<String> {
        self.options.audit.as_ref().and_then(|a| a.failure())
    }

    /// A change not sent because the audit log could not be written.
    fn not_sent(&self, change: Change, why: String) -> StepResult {
        let now = (self.options.now)();
        self.finish(
            change,
            Outcome::Skipped(SkipReason::AuditLogFailed(why)),
            None,
            now,
        )
    }

    /// The result of a change; a user whose create failed is remembered for its teams.
    fn finish(
        &self,
        change: Change,
        outcome: Outcome,
        id: Option<String>,
        started: String,
    ) -> StepResult {
        if matches!(outcome, Outcome::Failed(_))
            && change.kind == Kind::User
            && change.action == Action::Create
        {
            self.failed_users
                .lock()
                .expect("lock")
                .push(change.key.clone());
        }
        StepResult {
            id: id.or_else(|| change.id.clone()),
            change,
            outcome,
            started,
            finished: (self.options.now)(),
        }
    }

    async fn step(&self, change: Change) -> StepResult {
        let started = (self.options.now)();
        // The intent is in the log before anything is sent, or nothing is sent.
        if let Some(audit) = &self.options.audit
            && let Err(why) = audit.intent(&change, &started)
        {
            return self.not_sent(change, why);
        }
        let (outcome, id) = match self.send(&change).await {
            Ok(Done { id, note }) => (Outcome::Done(note), id),
            Err(Step::Skipped(why)) => (Outcome::Skipped(why), None),
            Err(Step::Failed(why)) => (Outcome::Failed(why), None),
        };
        let result = self.finish(change, outcome, id, started);
        if let Some(audit) = &self.options.audit {
            // A failure here stops every later change (`audit_failure`); this one was sent.
            let _ = audit.outcome(&result);
        }
        result
    }

    async fn send(&self, change: &Change) -> Result<Done, Step> {
        let done = match (change.kind, change.action) {
            (Kind::User, Action::Create) => self.create_user(change).await?,
            (Kind::User, Action::Update | Action::Reactivate) => self.update_user(change).await?,
            (Kind::User, Action::Deprovision) => self.deprovision(change).await?,
            (Kind::Group, Action::Create) => self.create_group(change).await?,
            (Kind::Group, Action::AddMembers | Action::RemoveMembers) => {
                self.members(change).await?
            }
            (kind, action) => return Err(Step::Skipped(SkipReason::Unsupported { kind, action })),
        };
        Ok(done)
    }

    fn id_of(&self, key: &str) -> Option<String> {
        self.ids
            .lock()
            .expect("ids lock")
            .get(&crate::plan::match_key(key))
            .cloned()
    }

    fn record_id(&self, change: &Change, id: &str) {
        self.ids
            .lock()
            .expect("ids lock")
            .insert(change.key.clone(), id.to_string());
    }

    /// The id a change names its object by; the plan must hold it.
    fn planned_id(change: &Change) -> Result<String, Failure> {
        change.id.clone().ok_or(Failure::PlanWithoutId {
            kind: change.kind,
            action: change.action,
        })
    }

    /// The values a change sets, with their paths; `manager` resolved to an id.
    fn values(&self, change: &Change) -> Result<Vec<Assignment>, Failure> {
        let mut values = Vec::new();
        for a in &change.attributes {
            let Some(after) = &a.after else {
                // A value the mappings no longer give: cleared (`policy.unset_attributes`).
                if a.before.is_some() {
                    values.push(Assignment {
                        text: a.path.clone(),
                        path: AttrPath::parse(&a.path).map_err(Failure::BadPath)?,
                        value: None,
                    });
                }
                continue;
            };
            let value = if a.path.ends_with(":manager") {
                let key = after.as_str().unwrap_or_default();
                match self.id_of(key) {
                    Some(id) => json!({ "value": id }),
                    None => {
                        return Err(Failure::ManagerWithoutId {
                            manager: key.to_string(),
                            target: self.options.target.profile,
                        });
                    }
                }
            } else {
                after.clone()
            };
            let path = AttrPath::parse(&a.path).map_err(Failure::BadPath)?;
            values.push(Assignment {
                text: a.path.clone(),
                path,
                value: Some(value),
            });
        }
        Ok(values)
    }

    /// Sends a create until it has an answer, as [`policy::on_create_error`] decides: the
    /// object made, the existing one found by name, or a failure.
    async fn create(&self, kind: Kind, key: &str, body: &Json) -> Result<Created, Failure> {
        let mut sent = 0;
        loop {
            sent += 1;
            let answer = match kind {
                Kind::User => self.client.create_user(body).await,
                Kind::Group => self.client.create_group(body).await,
            };
            let error = match answer {
                Ok(resource) => {
                    return Ok(Created::New {
                        resource,
                        resent: sent - 1,
                    });
                }
                Err(e) => e,
            };
            let found = match policy::on_create_error(&error, sent) {
                Decision::Adopt => Found::Conflict,
                Decision::LookUpAndResend => Found::AfterLostAnswer,
                Decision::Fail => return Err(Failure::Request(error)),
            };
            let reader = self.client.reader();
            let existing = match kind {
                Kind::User => reader.find_user_by_username(key).await?,
                Kind::Group => reader.find_group_by_name(key).await?,
            };
            match (existing, found) {
                (Some(resource), found) => return Ok(Created::Existing { resource, found }),
                (None, Found::Conflict) => {
                    return Err(Failure::ConflictNotFound {
                        kind,
                        key: key.to_string(),
                    });
                }
                // It was not created: send it again.
                (None, Found::AfterLostAnswer) => {}
            }
        }
    }

    async fn create_user(&self, change: &Change) -> Result<Done, Failure> {
        let body = request::create_user(self.values(change)?);
        match self.create(Kind::User, &change.key, &body).await? {
            Created::New { resource, resent } => {
                let id = resource.id().ok_or(Failure::CreatedWithoutId)?;
                self.record_id(change, &id);
                Ok(Done {
                    id: Some(id),
                    note: (resent > 0).then_some(Note::Resent(resent)),
                })
            }
            Created::Existing { resource, found } => self.adopt_user(change, resource, found).await,
        }
    }

    /// Takes over an existing user for a create: sets what the create would have.
    async fn adopt_user(
        &self,
        change: &Change,
        existing: Resource,
        found: Found,
    ) -> Result<Done, Failure> {
        let id = existing
            .id()
            .ok_or(Failure::ExistingWithoutId(Kind::User))?;
        self.record_id(change, &id);
        // The userName matches already, and Asana refuses create-only targets
        // (`name.givenName`) on PATCH.
        let profile = self.options.target.profile;
        let values = self
            .values(change)?
            .into_iter()
            .filter(|a| {
                a.text != "userName" && user_target_of(profile, &a.text).is_none_or(|t| t.updatable)
            })
            .collect();
        self.set_on_user(&id, values, None).await?;
        Ok(Done {
            id: Some(id),
            note: Some(Note::Adopted {
                kind: Kind::User,
                found,
            }),
        })
    }

    async fn update_user(&self, change: &Change) -> Result<Done, Failure> {
        let id = Self::planned_id(change)?;
        let values = self.values(change)?;
        let etag = self.options.etags.get(&change.address()).cloned();
        self.set_on_user(&id, values, etag.as_deref()).await?;
        Ok(Done {
            id: Some(id),
            note: None,
        })
    }

    /// Sets `values` on a user in one PATCH, or one PUT where PATCH is not supported.
    async fn set_on_user(
        &self,
        id: &str,
        values: Vec<Assignment>,
        etag: Option<&str>,
    ) -> Result<(), Failure> {
        if values.is_empty() {
            return Ok(());
        }
        let target = self.options.target;
        // Asana documents removing attributes with PUT; with PATCH, only for its own ones.
        let asana_put = target.profile == Profile::Asana
            && (values.iter()).any(|a| a.value.is_none() && !targets::asana_lists(&a.text));
        if !target.features.patch || asana_put {
            return self
                .put_user(id, etag, |user| request::put_user(user, values))
                .await;
        }
        let generic = target.profile == Profile::Generic;
        let body = if request::patch_depends_on_current(generic, &values) {
            // Whether each element exists decides the operation; read the user to know.
            let current = self.current(Kind::User, id).await?;
            request::patch_user(values, Some(&current.0))
        } else {
            request::patch_user(values, None)
        };
        self.client.patch_user(id, &body, etag).await?;
        Ok(())
    }

    /// The object as it is now; gone is a failure.
    async fn current(&self, kind: Kind, id: &str) -> Result<Resource, Failure> {
        let reader = self.client.reader();
        let current = match kind {
            Kind::User => reader.get_user(id).await?,
            Kind::Group => reader.get_group(id).await?,
        };
        current.ok_or_else(|| Failure::Gone {
            kind,
            id: id.to_string(),
        })
    }

    /// PATCH's replacement (RFC 7644 §3.5.1): read the user, change it, PUT it back whole.
    async fn put_user(
        &self,
        id: &str,
        etag: Option<&str>,
        body: impl FnOnce(Resource) -> Json,
    ) -> Result<(), Failure> {
        let current = self.current(Kind::User, id).await?;
        let if_match = request::put_version(self.options.target.features.etag, etag, &current);
        self.client
            .replace_user(id, &body(current), if_match.as_deref())
            .await?;
        Ok(())
    }

    /// A team's members changed with one PUT of the whole team.
    async fn put_members(
        &self,
        group: &str,
        add: &[String],
        remove: &[String],
    ) -> Result<(), Failure> {
        let current = self.current(Kind::Group, group).await?;
        let if_match = request::put_version(self.options.target.features.etag, None, &current);
        let body = request::put_members(current, add, remove);
        self.client
            .replace_group(group, &body, if_match.as_deref())
            .await?;
        Ok(())
    }

    async fn deprovision(&self, change: &Change) -> Result<Done, Failure> {
        let id = Self::planned_id(change)?;
        let etag = self.options.etags.get(&change.address()).cloned();
        let etag = etag.as_deref();
        match self.options.deprovision_with {
            DeprovisionWith::Deactivate if !self.options.target.features.patch => {
                self.put_user(&id, etag, request::put_deactivated).await?;
            }
            DeprovisionWith::Deactivate => {
                self.client
                    .patch_user(&id, &request::deactivate(), etag)
                    .await?;
            }
            DeprovisionWith::Delete => {
                self.client.delete_user(&id, etag).await?;
            }
        }
        Ok(Done {
            id: Some(id),
            note: None,
        })
    }

    /// Member ids for a change; members without an id (a failed create) are left out and named.
    fn member_ids(&self, change: &Change) -> (Vec<String>, Vec<Member>) {
        let failed = self.failed_users.lock().expect("lock").clone();
        let mut ids = Vec::new();
        let mut missing = Vec::new();
        for m in &change.members {
            match m.id.clone().or_else(|| self.id_of(&m.key)) {
                Some(id) => ids.push(id),
                None => missing.push(Member {
                    key: m.key.clone(),
                    create_failed: failed.contains(&m.key),
                }),
            }
        }
        (ids, missing)
    }

    async fn create_group(&self, change: &Change) -> Result<Done, Failure> {
        let (ids, missing) = self.member_ids(change);
        let body = request::create_group(&change.key, &ids);
        match self.create(Kind::Group, &change.key, &body).await? {
            Created::New { resource, resent } => partial(
                resource.id(),
                missing,
                (resent > 0).then_some(Note::Resent(resent)),
            ),
            Created::Existing { resource, found } => {
                let id = resource
                    .id()
                    .ok_or(Failure::ExistingWithoutId(Kind::Group))?;
                self.add_members(&id, &ids).await?;
                let note = Note::Adopted {
                    kind: Kind::Group,
                    found,
                };
                partial(Some(id), missing, Some(note))
            }
        }
    }

    async fn add_members(&self, group: &str, ids: &[String]) -> Result<(), Failure> {
        if ids.is_empty() {
            return Ok(());
        }
        if !self.options.target.features.patch {
            return self.put_members(group, ids, &[]).await;
        }
        self.client
            .patch_group(group, &request::add_members(ids), None)
            .await?;
        Ok(())
    }

    async fn members(&self, change: &Change) -> Result<Done, Failure> {
        let group = Self::planned_id(change)?;
        let (ids, missing) = self.member_ids(change);
        if change.action == Action::AddMembers {
            self.add_members(&group, &ids).await?;
        } else if !ids.is_empty() && !self.options.target.features.patch {
            self.put_members(&group, &[], &ids).await?;
        } else if !ids.is_empty() {
            self.client
                .patch_group(&group, &request::remove_members(&ids), None)
                .await?;
        }
        partial(Some(group), missing, None)
    }
}

/// Why a step did not succeed.
enum Step {
    Skipped(SkipReason),
    Failed(Failure),
}

impl From<Failure> for Step {
    fn from(why: Failure) -> Step {
        Step::Failed(why)
    }
}

/// A team step succeeds only when every member could be named; otherwise it fails and says who.
fn partial(id: Option<String>, missing: Vec<Member>, note: Option<Note>) -> Result<Done, Failure> {
    if missing.is_empty() {
        Ok(Done { id, note })
    } else {
        Err(Failure::MembersWithoutId(missing))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::apply::Status;
    use crate::plan::{Capabilities, Live, Scope};
    use crate::scim::client::{ClientConfig, Secret};

    #[tokio::test]
    async fn issue12_a_panicking_step_is_a_failure_of_its_change_not_a_lost_outcome() {
        let (config, report) = crate::config::from_texts(
            "version: 1\n",
            &[(
                "users/u.yaml",
                "users:\n  - userPrincipalName: ada@x.example\n",
            )],
            &[],
        );
        let config = config.unwrap_or_else(|| panic!("{:#?}", report.diagnostics));
        let live = Live {
            complete: true,
            ..Live::default()
        };
        let plan = crate::plan::plan(&config, &live, Capabilities::ASANA, &Scope::default());
        // Nothing listens there: the step panics before it sends anything.
        let client = WriteClient::new(&ClientConfig::new(
            "http://127.0.0.1:9/scim",
            Secret::new("t"),
        ))
        .unwrap();
        let calls = Arc::new(AtomicUsize::new(0));
        let steps = Arc::new(AtomicUsize::new(0));
        let options = Options {
            target: Target::ASANA,
            deprovision_with: DeprovisionWith::Deactivate,
            etags: HashMap::new(),
            concurrency: 1,
            on_step: Arc::new({
                let steps = steps.clone();
                move |_: &StepResult| {
                    steps.fetch_add(1, Ordering::Relaxed);
                }
            }),
            audit: None,
            // The first reading of the clock is the step's start, inside its task.
            now: Arc::new({
                let calls = calls.clone();
                move || {
                    if calls.fetch_add(1, Ordering::Relaxed) == 0 {
                        panic!("a bug in a step");
                    }
                    "2026-01-01T00:00:00Z".to_string()
                }
            }),
        };
        let report = execute(&plan, &client, options).await;
        assert_eq!(report.results.len(), 1);
        let r = &report.results[0];
        assert_eq!(r.change.key, "ada@x.example");
        assert_eq!(r.status(), Status::Failure);
        assert!(
            matches!(&r.outcome, Outcome::Failed(Failure::Panicked(why)) if why.contains("a bug in a step")),
            "{:?}",
            r.outcome
        );
        assert_eq!(steps.load(Ordering::Relaxed), 1);
        assert!(report.failed());
    }
}
