//! The audit log: a compliance record of what apply sent, in the spirit of Entra's
//! provisioning logs. JSON Lines, appended to; holds attribute values and ids, never a token or
//! a URL with secrets.
//!
//! Every line has an `event`:
//!
//! - `start`, written when the log is opened, before any request: a log that cannot be written
//!   stops apply before it sends anything;
//! - `intent`, written and flushed to the file before a change's first write to the target;
//! - `outcome`, after it: the change's status, old and new values, error;
//! - `end`, with the counts, when the run finishes.
//!
//! So a run killed at any point leaves at most intents without an outcome, never a write the
//! log does not show; the next run that opens the same log reports them
//! ([`Unfinished`]) and records in its `start` line that it did. Once a write to the log fails,
//! every later one fails at once ([`AuditLog::failure`]): the executor sends nothing more.

use std::collections::BTreeMap;
use std::io::{self, BufRead, Read, Write};
use std::path::Path;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};

use super::{ApplyReport, Counts, Status, StepResult};
use crate::plan::Change;
use crate::render::display_path;
use crate::wire::plan::KindJson;

/// One outcome record of the audit log.
#[derive(Debug, Serialize)]
pub struct Record<'a> {
    pub event: &'static str,
    pub run_id: &'a str,
    pub started: &'a str,
    pub finished: &'a str,
    pub object: String,
    pub kind: KindJson,
    pub key: &'a str,
    pub id: Option<&'a str>,
    pub action: &'static str,
    pub status: Status,
    pub modified_properties: Vec<Property<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<&'a str>,
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Property<'a> {
    pub name: String,
    pub old: &'a Option<Json>,
    pub new: &'a Option<Json>,
}

pub fn record<'a>(run_id: &'a str, r: &'a StepResult) -> Record<'a> {
    Record {
        event: "outcome",
        run_id,
        started: &r.started,
        finished: &r.finished,
        object: r.change.address(),
        kind: r.change.kind.into(),
        key: &r.change.key,
        id: r.id.as_deref(),
        action: r.change.action.as_str(),
        status: r.status(),
        modified_properties: r
            .change
            .attributes
            .iter()
            .map(|a| Property {
                name: display_path(&a.path).into_owned(),
                old: &a.before,
                new: &a.after,
            })
            .collect(),
        members: r.change.members.iter().map(|m| m.key.as_str()).collect(),
        error: r.error(),
        note: r.note(),
    }
}

/// A change an earlier run announced (`intent`) and never recorded the outcome of: it was
/// killed, or lost its log, while the change was in flight. The change may or may not have
/// reached the target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unfinished {
    pub run_id: String,
    pub object: String,
    pub action: String,
    pub time: String,
}

/// Where the lines go: the audit file, or any writer (tests inject one that fails).
type Sink = Box<dyn Write + Send>;

/// An audit log being written by one run.
pub struct AuditLog {
    run_id: String,
    state: Mutex<State>,
}

struct State {
    out: Sink,
    /// Set by the first failed write; every later write fails with it.
    failed: Option<String>,
}

/// Longest line read back when looking for unfinished intents; longer ones are skipped.
const MAX_LINE: u64 = 4 * 1024 * 1024;

impl AuditLog {
    /// Opens `path` for appending: an existing regular file or a new one, anything else
    /// (a directory, a FIFO, a device, `/proc`) refused. Returns the log and the changes that
    /// earlier runs left unfinished in it.
    pub fn open(
        path: &Path,
        run_id: String,
    ) -> Result<(AuditLog, Vec<Unfinished>), crate::fsio::FileError> {
        let file = crate::fsio::open_append(path)?;
        let unfinished = unfinished(io::BufReader::new(crate::fsio::open_regular(path)?))?;
        Ok((AuditLog::to(Box::new(file), run_id), unfinished))
    }

    /// A log written to `out`.
    pub fn to(out: Sink, run_id: String) -> AuditLog {
        AuditLog {
            run_id,
            state: Mutex::new(State { out, failed: None }),
        }
    }

    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// Why the log can no longer be written, once a write failed.
    pub fn failure(&self) -> Option<String> {
        self.state.lock().expect("audit lock").failed.clone()
    }

    /// The first line: proves the log can be written, and records which unfinished changes of
    /// earlier runs this run reported (so later runs do not report them again).
    /// `plan` is the digest of the plan file applied, if one is.
    pub fn start(
        &self,
        time: &str,
        plan: Option<&str>,
        reported: &[Unfinished],
    ) -> Result<(), String> {
        self.line(&json!({
            "event": "start",
            "run_id": self.run_id,
            "time": time,
            "plan_digest": plan,
            "roster_version": env!("CARGO_PKG_VERSION"),
            "reported_unfinished": reported,
        }))
    }

    /// Before the change's first write to the target.
    pub fn intent(&self, change: &Change, time: &str) -> Result<(), String> {
        self.line(&json!({
            "event": "intent",
            "run_id": self.run_id,
            "time": time,
            "object": change.address(),
            "kind": KindJson::from(change.kind),
            "key": change.key,
            "id": change.id,
            "action": change.action.as_str(),
        }))
    }

    /// After the change, whatever its status.
    pub fn outcome(&self, r: &StepResult) -> Result<(), String> {
        let value = serde_json::to_value(record(&self.run_id, r)).expect("audit records serialise");
        self.line(&value)
    }

    /// The last line, with the counts.
    pub fn end(&self, time: &str, report: &ApplyReport) -> Result<(), String> {
        let Counts {
            done,
            failed,
            skipped,
        } = report.counts();
        self.line(&json!({
            "event": "end",
            "run_id": self.run_id,
            "time": time,
            "done": done,
            "failed": failed,
            "skipped": skipped,
        }))
    }

    /// Writes one line and flushes it to the file, so a killed run keeps it.
    fn line(&self, value: &Json) -> Result<(), String> {
        let mut text = serde_json::to_string(value).expect("audit records serialise");
        text.push('\n');
        let mut state = self.state.lock().expect("audit lock");
        if let Some(why) = &state.failed {
            return Err(why.clone());
        }
        let written = state
            .out
            .write_all(text.as_bytes())
            .and_then(|()| state.out.flush());
        written.map_err(|e| {
            let why = e.to_string();
            state.failed = Some(why.clone());
            why
        })
    }
}

/// The changes with an `intent` and no `outcome` in an audit log's lines, less those a later
/// run's `start` line already reported. Lines that are not JSON, or are too long, are skipped.
pub fn unfinished(mut lines: impl BufRead) -> io::Result<Vec<Unfinished>> {
    let mut pending: BTreeMap<(String, String, String), String> = BTreeMap::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = (&mut lines).take(MAX_LINE).read_until(b'\n', &mut line)?;
        if n == 0 {
            break;
        }
        if !line.ends_with(b"\n") && n as u64 == MAX_LINE {
            // Too long to be a record: skip to the end of it.
            let mut rest = Vec::new();
            while !rest.ends_with(b"\n") {
                rest.clear();
                if (&mut lines).take(MAX_LINE).read_until(b'\n', &mut rest)? == 0 {
                    break;
                }
            }
            continue;
        }
        let Ok(v) = serde_json::from_slice::<Json>(&line) else {
            continue;
        };
        let text = |k: &str| v.get(k).and_then(Json::as_str).unwrap_or("").to_string();
        let key = (text("run_id"), text("object"), text("action"));
        match v.get("event").and_then(Json::as_str) {
            Some("intent") => {
                pending.insert(key, text("time"));
            }
            Some("outcome") => {
                pending.remove(&key);
            }
            Some("start") => {
                let reported: Vec<Unfinished> = v
                    .get("reported_unfinished")
                    .and_then(|r| serde_json::from_value(r.clone()).ok())
                    .unwrap_or_default();
                for u in reported {
                    pending.remove(&(u.run_id, u.object, u.action));
                }
            }
            _ => {}
        }
    }
    Ok(pending
        .into_iter()
        .map(|((run_id, object, action), time)| Unfinished {
            run_id,
            object,
            action,
            time,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Action, Kind};

    /// A writer that takes `room` bytes and then fails as a full disk does.
    struct Full {
        room: usize,
        written: std::sync::Arc<Mutex<Vec<u8>>>,
    }

    impl Write for Full {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.room == 0 {
                return Err(io::Error::from_raw_os_error(28)); // ENOSPC
            }
            let n = buf.len().min(self.room);
            self.room -= n;
            self.written.lock().unwrap().extend_from_slice(&buf[..n]);
            Ok(n)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn change(key: &str) -> Change {
        Change {
            kind: Kind::User,
            key: key.into(),
            action: Action::Create,
            id: None,
            attributes: vec![],
            members: vec![],
            reason: None,
            source: None,
        }
    }

    #[test]
    fn item7_a_full_disk_fails_the_write_and_every_later_one() {
        let written = std::sync::Arc::new(Mutex::new(Vec::new()));
        let log = AuditLog::to(
            Box::new(Full {
                room: 400,
                written: written.clone(),
            }),
            "run-1".into(),
        );
        log.start("t0", None, &[]).unwrap();
        log.intent(&change("a@x.io"), "t1").unwrap();
        let mut failed = None;
        for i in 0..10 {
            if let Err(e) = log.intent(&change(&format!("u{i}@x.io")), "t2") {
                failed = Some(i);
                assert!(e.contains("No space left on device"), "{e}");
                break;
            }
        }
        assert!(
            failed.is_some(),
            "400 bytes hold a start line and a few intents"
        );
        assert!(log.failure().is_some());
        // Once failed, always failed, even for a short line that would fit.
        let len = written.lock().unwrap().len();
        assert!(log.intent(&change("x"), "t3").is_err());
        assert_eq!(written.lock().unwrap().len(), len);
    }

    #[test]
    fn item7_unfinished_intents_are_found_and_reported_once() {
        let lines = [
            r#"{"event":"start","run_id":"r1","time":"t0","reported_unfinished":[]}"#,
            r#"{"event":"intent","run_id":"r1","object":"user[\"a\"]","action":"create","time":"t1"}"#,
            r#"{"event":"intent","run_id":"r1","object":"user[\"b\"]","action":"create","time":"t1"}"#,
            r#"{"event":"outcome","run_id":"r1","object":"user[\"a\"]","action":"create","status":"success"}"#,
            "not json at all",
            r#"{"run_id":"r0","object":"user[\"old\"]","action":"create","status":"success"}"#,
        ];
        let text = lines.join("\n") + "\n";
        let found = unfinished(text.as_bytes()).unwrap();
        assert_eq!(
            found,
            vec![Unfinished {
                run_id: "r1".into(),
                object: "user[\"b\"]".into(),
                action: "create".into(),
                time: "t1".into(),
            }]
        );
        // A later run reported it: it is not reported again.
        let written = std::sync::Arc::new(Mutex::new(Vec::new()));
        let log = AuditLog::to(
            Box::new(Full {
                room: 10_000,
                written: written.clone(),
            }),
            "r2".into(),
        );
        log.start("t5", None, &found).unwrap();
        let text = text + &String::from_utf8(written.lock().unwrap().clone()).unwrap();
        assert!(unfinished(text.as_bytes()).unwrap().is_empty());
    }
}
