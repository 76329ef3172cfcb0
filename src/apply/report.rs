//! What an apply did: one typed outcome per change, the counts, and the text `roster apply`
//! prints after a run. Pure: it renders into a string; the commands layer decides where.

use std::fmt;

use serde::Serialize;

use crate::config::model::Profile;
use crate::plan::{Action, Change, Kind};
use crate::scim::client::ClientError;

/// How a change ended, in one word (the audit log's `status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Success,
    Failure,
    Skipped,
}

/// How a change ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// The target now has what the change set; the note says how, when it is worth saying.
    Done(Option<Note>),
    /// Nothing was sent for the change.
    Skipped(SkipReason),
    /// The change was not made (or not wholly).
    Failed(Failure),
}

impl Outcome {
    pub fn status(&self) -> Status {
        match self {
            Outcome::Done(_) => Status::Success,
            Outcome::Skipped(_) => Status::Skipped,
            Outcome::Failed(_) => Status::Failure,
        }
    }
}

/// Something worth saying about a success.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Note {
    /// A create met an object that exists and took it over: a user is updated to what the
    /// create would have set, a team gets the members.
    Adopted { kind: Kind, found: Found },
    /// The answer to a create was lost this many times, and the object was not there when
    /// looked up: the create was sent again.
    Resent(u32),
}

/// How a create found that its object exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    /// The server answered 409.
    Conflict,
    /// The answer was lost, and a look-up by name found it.
    AfterLostAnswer,
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Note::Adopted { kind, found } => {
                let (instead, to_be_sure) = match kind {
                    Kind::User => ("updated instead", "updated to be sure"),
                    Kind::Group => ("members added instead", "members added to be sure"),
                };
                match found {
                    Found::Conflict => write!(f, "already existed (409): {instead}"),
                    Found::AfterLostAnswer => write!(
                        f,
                        "the answer to the create was lost, and it had been created: {to_be_sure}"
                    ),
                }
            }
            Note::Resent(times) => write!(
                f,
                "the answer to the create was lost {times} time(s), and it had not been created: sent again"
            ),
        }
    }
}

/// Why nothing was sent for a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// The audit log could not be written (this change's intent, or an earlier write): once
    /// it fails, nothing more is sent.
    AuditLogFailed(String),
    /// roster has no step for this kind and action (a plan file it did not write).
    Unsupported { kind: Kind, action: Action },
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::AuditLogFailed(why) => {
                write!(f, "not sent: the audit log could not be written ({why})")
            }
            SkipReason::Unsupported { kind, action } => {
                write!(f, "{kind:?} {} is not supported", action.as_str())
            }
        }
    }
}

/// Why a change failed.
#[derive(Debug, Clone)]
pub enum Failure {
    /// A request failed, after the client's retries: its error as the client gave it.
    Request(ClientError),
    /// The user's manager has no id in the target: its create failed, or it does not exist.
    ManagerWithoutId { manager: String, target: Profile },
    /// Members of a team have no id in the target and were left out; the rest were sent.
    MembersWithoutId(Vec<Member>),
    /// A create was answered 409, and no object of that name can be found.
    ConflictNotFound { kind: Kind, key: String },
    /// The server created the user and its answer has no id.
    CreatedWithoutId,
    /// The existing object a create found has no id.
    ExistingWithoutId(Kind),
    /// The object was read before a PUT of it and is gone.
    Gone { kind: Kind, id: String },
    /// The change has no id, and its step needs one (a plan file roster did not write).
    PlanWithoutId { kind: Kind, action: Action },
    /// An attribute path in the plan does not parse (a plan file roster did not write).
    BadPath(String),
    /// The step panicked: a bug. Whether it was sent is not known.
    Panicked(String),
}

impl Failure {
    /// The client's error, when a request failed.
    pub fn client_error(&self) -> Option<&ClientError> {
        match self {
            Failure::Request(e) => Some(e),
            _ => None,
        }
    }
}

impl From<ClientError> for Failure {
    fn from(e: ClientError) -> Failure {
        Failure::Request(e)
    }
}

/// A team member left out of a membership change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub key: String,
    /// Its create failed in this run.
    pub create_failed: bool,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Request(e) => e.fmt(f),
            Failure::ManagerWithoutId { manager, target } => write!(
                f,
                "manager `{manager}` has no {} id (its create failed or it does not exist)",
                target.target_name()
            ),
            Failure::MembersWithoutId(members) => {
                f.write_str("members without an id in the target were left out: ")?;
                for (i, m) in members.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    f.write_str(&m.key)?;
                    if m.create_failed {
                        f.write_str(" (create failed)")?;
                    }
                }
                Ok(())
            }
            Failure::ConflictNotFound {
                kind: Kind::User,
                key,
            } => write!(f, "409 on create, but no user `{key}` can be found"),
            Failure::ConflictNotFound {
                kind: Kind::Group, ..
            } => f.write_str("409 on create, but the team cannot be found"),
            Failure::CreatedWithoutId => f.write_str("the server created the user but sent no id"),
            Failure::ExistingWithoutId(kind) => write!(f, "existing {} has no id", noun(*kind)),
            Failure::Gone { kind, id } => write!(f, "{} {id} no longer exists", noun(*kind)),
            Failure::PlanWithoutId {
                kind: Kind::Group, ..
            } => f.write_str("team change without an id"),
            Failure::PlanWithoutId {
                kind: Kind::User,
                action,
            } => match action {
                Action::Deprovision => f.write_str("deprovision without an id"),
                _ => f.write_str("update without an id"),
            },
            Failure::BadPath(why) => write!(f, "bad path in plan: {why}"),
            Failure::Panicked(why) => write!(f, "an apply step panicked: {why}"),
        }
    }
}

fn noun(kind: Kind) -> &'static str {
    match kind {
        Kind::User => "user",
        Kind::Group => "team",
    }
}

/// The outcome of one change, for the report and the audit log.
#[derive(Debug, Clone)]
pub struct StepResult {
    pub change: Change,
    pub outcome: Outcome,
    /// The object's id after the step (the new id for creates).
    pub id: Option<String>,
    pub started: String,
    pub finished: String,
}

impl StepResult {
    pub fn status(&self) -> Status {
        self.outcome.status()
    }

    /// Why the change failed or was skipped, in words.
    pub fn error(&self) -> Option<String> {
        match &self.outcome {
            Outcome::Done(_) => None,
            Outcome::Skipped(why) => Some(why.to_string()),
            Outcome::Failed(why) => Some(why.to_string()),
        }
    }

    /// What is worth saying about a success, in words.
    pub fn note(&self) -> Option<String> {
        match &self.outcome {
            Outcome::Done(note) => note.map(|n| n.to_string()),
            _ => None,
        }
    }
}

/// Everything an apply did.
#[derive(Debug, Clone, Default)]
pub struct ApplyReport {
    pub results: Vec<StepResult>,
    /// Why the audit log could not be written, when it failed: nothing was sent after that.
    pub audit_failure: Option<String>,
}

/// How many changes ended each way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub done: usize,
    pub failed: usize,
    pub skipped: usize,
}

impl ApplyReport {
    pub fn counts(&self) -> Counts {
        let mut counts = Counts::default();
        for r in &self.results {
            match r.status() {
                Status::Success => counts.done += 1,
                Status::Failure => counts.failed += 1,
                Status::Skipped => counts.skipped += 1,
            }
        }
        counts
    }

    pub fn count(&self, status: Status) -> usize {
        self.results.iter().filter(|r| r.status() == status).count()
    }

    /// Changes not sent because the audit log could not be written.
    pub fn not_sent(&self) -> usize {
        self.results
            .iter()
            .filter(|r| matches!(r.outcome, Outcome::Skipped(SkipReason::AuditLogFailed(_))))
            .count()
    }

    /// A change failed, or the audit log did (and the changes after it were not sent).
    pub fn failed(&self) -> bool {
        self.count(Status::Failure) > 0 || self.audit_failure.is_some()
    }

    /// The lines `roster apply` prints after run `run_id`: the counts, every failure and skip
    /// with its reason, every note, and what to do when something failed.
    pub fn display<'a>(&'a self, run_id: &'a str) -> Summary<'a> {
        Summary {
            report: self,
            run_id,
        }
    }
}

/// An [`ApplyReport`] as text (see [`ApplyReport::display`]); every line ends in a newline.
pub struct Summary<'a> {
    report: &'a ApplyReport,
    run_id: &'a str,
}

impl fmt::Display for Summary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Counts {
            done,
            failed,
            skipped,
        } = self.report.counts();
        writeln!(
            f,
            "Apply {}: {done} done, {failed} failed, {skipped} skipped.",
            self.run_id
        )?;
        for r in &self.report.results {
            let (address, action) = (r.change.address(), r.change.action.as_str());
            match &r.outcome {
                Outcome::Failed(why) => writeln!(f, "  failed: {address} {action}: {why}")?,
                Outcome::Skipped(why) => writeln!(f, "  skipped: {address} {action}: {why}")?,
                Outcome::Done(Some(note)) => writeln!(f, "  note: {address} {action}: {note}")?,
                Outcome::Done(None) => {}
            }
        }
        if self.report.failed() {
            writeln!(
                f,
                "Run `roster plan` to see what is left; a re-run of apply converges."
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::client::{Method, ScimError};

    fn result(kind: Kind, key: &str, action: Action, outcome: Outcome) -> StepResult {
        StepResult {
            change: Change {
                kind,
                key: key.into(),
                action,
                id: None,
                attributes: vec![],
                members: vec![],
                reason: None,
                source: None,
            },
            outcome,
            id: None,
            started: "t0".into(),
            finished: "t1".into(),
        }
    }

    fn refused() -> ClientError {
        ClientError::Scim(ScimError {
            status: 400,
            scim_type: None,
            detail: "bad title".into(),
            method: Method::Patch,
            url: "https://scim.example/Users/7".into(),
            attempts: 1,
            refused_wait: None,
        })
    }

    #[test]
    fn issue12_every_outcome_says_what_apply_said_before() {
        // The words as the executor wrote them when outcomes were strings.
        let user = |found| Note::Adopted {
            kind: Kind::User,
            found,
        };
        let team = |found| Note::Adopted {
            kind: Kind::Group,
            found,
        };
        let notes = [
            (
                user(Found::Conflict),
                "already existed (409): updated instead",
            ),
            (
                user(Found::AfterLostAnswer),
                "the answer to the create was lost, and it had been created: updated to be sure",
            ),
            (
                team(Found::Conflict),
                "already existed (409): members added instead",
            ),
            (
                team(Found::AfterLostAnswer),
                "the answer to the create was lost, and it had been created: members added to be sure",
            ),
            (
                Note::Resent(2),
                "the answer to the create was lost 2 time(s), and it had not been created: sent again",
            ),
        ];
        for (note, text) in notes {
            assert_eq!(note.to_string(), text);
        }
        let skips = [
            (
                SkipReason::AuditLogFailed("No space left on device (os error 28)".into()),
                "not sent: the audit log could not be written (No space left on device (os error 28))",
            ),
            (
                SkipReason::Unsupported {
                    kind: Kind::Group,
                    action: Action::Update,
                },
                "Group update is not supported",
            ),
        ];
        for (skip, text) in skips {
            assert_eq!(skip.to_string(), text);
        }
        let failures = [
            (Failure::Request(refused()), refused().to_string()),
            (
                Failure::ManagerWithoutId {
                    manager: "boss@x.io".into(),
                    target: Profile::Asana,
                },
                "manager `boss@x.io` has no Asana id (its create failed or it does not exist)".into(),
            ),
            (
                Failure::ManagerWithoutId {
                    manager: "boss@x.io".into(),
                    target: Profile::Generic,
                },
                "manager `boss@x.io` has no the SCIM server id (its create failed or it does not exist)"
                    .into(),
            ),
            (
                Failure::MembersWithoutId(vec![
                    Member {
                        key: "a@x.io".into(),
                        create_failed: false,
                    },
                    Member {
                        key: "b@x.io".into(),
                        create_failed: true,
                    },
                ]),
                "members without an id in the target were left out: a@x.io, b@x.io (create failed)"
                    .into(),
            ),
            (
                Failure::ConflictNotFound {
                    kind: Kind::User,
                    key: "a@x.io".into(),
                },
                "409 on create, but no user `a@x.io` can be found".into(),
            ),
            (
                Failure::ConflictNotFound {
                    kind: Kind::Group,
                    key: "Eng".into(),
                },
                "409 on create, but the team cannot be found".into(),
            ),
            (
                Failure::CreatedWithoutId,
                "the server created the user but sent no id".into(),
            ),
            (
                Failure::ExistingWithoutId(Kind::User),
                "existing user has no id".into(),
            ),
            (
                Failure::ExistingWithoutId(Kind::Group),
                "existing team has no id".into(),
            ),
            (
                Failure::Gone {
                    kind: Kind::User,
                    id: "7".into(),
                },
                "user 7 no longer exists".into(),
            ),
            (
                Failure::Gone {
                    kind: Kind::Group,
                    id: "9".into(),
                },
                "team 9 no longer exists".into(),
            ),
            (
                Failure::PlanWithoutId {
                    kind: Kind::User,
                    action: Action::Update,
                },
                "update without an id".into(),
            ),
            (
                Failure::PlanWithoutId {
                    kind: Kind::User,
                    action: Action::Reactivate,
                },
                "update without an id".into(),
            ),
            (
                Failure::PlanWithoutId {
                    kind: Kind::User,
                    action: Action::Deprovision,
                },
                "deprovision without an id".into(),
            ),
            (
                Failure::PlanWithoutId {
                    kind: Kind::Group,
                    action: Action::AddMembers,
                },
                "team change without an id".into(),
            ),
            (
                Failure::BadPath("empty attribute".into()),
                "bad path in plan: empty attribute".into(),
            ),
        ];
        for (failure, text) in failures {
            assert_eq!(failure.to_string(), text);
        }
    }

    #[test]
    fn issue12_a_failed_request_keeps_the_client_error() {
        let failure = Failure::from(refused());
        assert_eq!(
            failure.client_error().and_then(ClientError::status),
            Some(400)
        );
        assert!(Failure::CreatedWithoutId.client_error().is_none());
    }

    fn mixed() -> ApplyReport {
        use Kind::*;
        ApplyReport {
            results: vec![
                result(User, "a@x.io", Action::Create, Outcome::Done(None)),
                result(
                    User,
                    "b@x.io",
                    Action::Create,
                    Outcome::Done(Some(Note::Adopted {
                        kind: User,
                        found: Found::Conflict,
                    })),
                ),
                result(
                    User,
                    "c@x.io",
                    Action::Update,
                    Outcome::Failed(Failure::Request(refused())),
                ),
                result(
                    Group,
                    "Eng",
                    Action::AddMembers,
                    Outcome::Failed(Failure::MembersWithoutId(vec![Member {
                        key: "d@x.io".into(),
                        create_failed: true,
                    }])),
                ),
                result(
                    User,
                    "e@x.io",
                    Action::Deprovision,
                    Outcome::Skipped(SkipReason::AuditLogFailed("disk full".into())),
                ),
                result(User, "f@x.io", Action::Reactivate, Outcome::Done(None)),
            ],
            audit_failure: Some("disk full".into()),
        }
    }

    #[test]
    fn issue12_counts_are_a_struct_of_the_three_outcomes() {
        let report = mixed();
        assert_eq!(
            report.counts(),
            Counts {
                done: 3,
                failed: 2,
                skipped: 1
            }
        );
        assert_eq!(report.count(Status::Success), 3);
        assert_eq!(report.count(Status::Failure), 2);
        assert_eq!(report.count(Status::Skipped), 1);
        assert_eq!(report.not_sent(), 1);
        assert!(report.failed());
        assert_eq!(ApplyReport::default().counts(), Counts::default());
    }

    #[test]
    fn issue12_the_report_text_is_the_one_apply_printed() {
        let report = mixed();
        let expected = [
            "Apply 18c-2a: 3 done, 2 failed, 1 skipped.".to_string(),
            "  note: user[\"b@x.io\"] create: already existed (409): updated instead".into(),
            format!("  failed: user[\"c@x.io\"] update: {}", refused()),
            "  failed: group[\"Eng\"] add_members: members without an id in the target were left \
             out: d@x.io (create failed)"
                .into(),
            "  skipped: user[\"e@x.io\"] deprovision: not sent: the audit log could not be written \
             (disk full)"
                .into(),
            "Run `roster plan` to see what is left; a re-run of apply converges.".into(),
        ];
        assert_eq!(
            report.display("18c-2a").to_string(),
            expected.join("\n") + "\n"
        );
        // A run where all went well says only how many, with no hint.
        let fine = ApplyReport {
            results: vec![result(
                Kind::User,
                "a@x.io",
                Action::Create,
                Outcome::Done(None),
            )],
            audit_failure: None,
        };
        assert_eq!(
            fine.display("r").to_string(),
            "Apply r: 1 done, 0 failed, 0 skipped.\n"
        );
    }
}
