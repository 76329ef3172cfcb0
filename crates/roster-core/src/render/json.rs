//! The plan as JSON: the wire format's types are [`crate::wire::plan`]'s; this writes them.

use std::io::{self, Write};

use crate::plan::Plan;
use crate::wire::plan::PlanJson;

/// Writes the plan as pretty JSON with a trailing newline.
pub fn render(plan: &Plan, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &PlanJson::from(plan))?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::fixtures;
    use crate::wire::plan::{FORMAT_MAJOR, FORMAT_VERSION};

    #[test]
    fn json_plan_is_pinned() {
        let mut out = Vec::new();
        render(&fixtures::plan(), &mut out).unwrap();
        insta::assert_snapshot!(String::from_utf8(out).unwrap());
    }

    #[test]
    fn json_round_trips_to_the_same_plan() {
        let plan = fixtures::plan();
        let json = PlanJson::from(&plan);
        let text = serde_json::to_string(&json).unwrap();
        let back: PlanJson = serde_json::from_str(&text).unwrap();
        assert_eq!(back.to_plan(), plan);
    }

    #[test]
    fn the_documented_fields_are_there() {
        let v = serde_json::to_value(PlanJson::from(&fixtures::plan())).unwrap();
        assert_eq!(v["format_version"], "1.3");
        assert!(FORMAT_VERSION.starts_with(&format!("{FORMAT_MAJOR}.")));
        for key in ["create", "update", "deprovision", "no_op", "unmanaged"] {
            assert!(v["summary"][key].is_u64(), "summary.{key}");
        }
        let c = &v["changes"][0];
        for key in ["address", "kind", "key", "action", "id", "attributes"] {
            assert!(c.get(key).is_some(), "changes[].{key}");
        }
        assert!(v["unmanaged"][0]["key"].is_string());
        assert_eq!(v["evaluated_at"], "2026-11-29T01:59:13Z");
        assert_eq!(v["expiring"][0]["message"], "expires in 2 days");
        assert_eq!(
            (v["seats"]["added"].as_u64(), v["seats"]["net"].as_i64()),
            (Some(1), Some(0))
        );
    }
}
