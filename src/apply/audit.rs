//! The audit log: one JSON line per object apply touched, in the spirit of Entra's
//! provisioning logs. Holds attribute values and ids, never a token or a URL with secrets.

use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

use serde::Serialize;
use serde_json::Value as Json;

use super::{Status, StepResult};
use crate::render::display_path;

/// One record of the audit log.
#[derive(Debug, Serialize)]
pub struct Record<'a> {
    pub run_id: &'a str,
    pub started: &'a str,
    pub finished: &'a str,
    pub object: String,
    pub kind: crate::plan::Kind,
    pub key: &'a str,
    pub id: Option<&'a str>,
    pub action: &'static str,
    pub status: &'a Status,
    pub modified_properties: Vec<Property<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<&'a str>,
    pub error: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<&'a str>,
}

#[derive(Debug, Serialize)]
pub struct Property<'a> {
    pub name: String,
    pub old: &'a Option<Json>,
    pub new: &'a Option<Json>,
}

pub fn record<'a>(run_id: &'a str, r: &'a StepResult) -> Record<'a> {
    Record {
        run_id,
        started: &r.started,
        finished: &r.finished,
        object: r.change.address(),
        kind: r.change.kind,
        key: &r.change.key,
        id: r.id.as_deref(),
        action: r.change.action.as_str(),
        status: &r.status,
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
        error: r.error.as_deref(),
        note: r.note.as_deref(),
    }
}

/// A JSON Lines file, appended to as steps finish.
pub struct AuditLog {
    run_id: String,
    out: Mutex<std::io::BufWriter<std::fs::File>>,
}

impl AuditLog {
    pub fn create(path: &Path, run_id: String) -> std::io::Result<AuditLog> {
        let file = crate::fsio::open_append(path)?;
        Ok(AuditLog {
            run_id,
            out: Mutex::new(std::io::BufWriter::new(file)),
        })
    }

    /// Writes one line and flushes it, so a killed run keeps every finished step.
    pub fn write(&self, r: &StepResult) {
        let line =
            serde_json::to_string(&record(&self.run_id, r)).expect("audit records serialise");
        let mut out = self.out.lock().expect("audit lock");
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }
}
