//! The plan as text for a terminal, in Terraform's style.

use std::io::{self, Write};

use super::{display_path, show_value, summary_line, symbol, verb};
use crate::plan::{Action, Plan};

/// Writes the plan. `color` adds ANSI colours (the caller decides: terminal and no `NO_COLOR`).
pub fn render(plan: &Plan, color: bool, out: &mut dyn Write) -> io::Result<()> {
    let paint = |code: &str, s: &str| {
        if color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    };
    let sym = |a: Action| {
        let s = symbol(a).to_string();
        match s.as_str() {
            "+" => paint("32", &s),
            "~" => paint("33", &s),
            _ => paint("31", &s),
        }
    };
    if plan.changes.is_empty() {
        writeln!(
            out,
            "No changes. {} matches the configuration.",
            plan.profile.target_name_capitalized()
        )?;
    } else {
        writeln!(out, "roster will perform the following actions:")?;
    }
    for c in &plan.changes {
        writeln!(out)?;
        let mut reason = c
            .reason
            .as_ref()
            .map(|r| format!(": {r}"))
            .unwrap_or_default();
        if let Some(note) = super::source_note(c) {
            reason.push_str(&format!(" [{note}]"));
        }
        writeln!(
            out,
            "  {}",
            paint(
                "1",
                &format!("# {} {}{reason}", c.address(), verb(c, plan.profile))
            )
        )?;
        if c.action == Action::Deprovision {
            writeln!(out, "  {} {}", sym(c.action), c.address())?;
            continue;
        }
        writeln!(out, "  {} {} {{", sym(c.action), c.address())?;
        let width = c
            .attributes
            .iter()
            .map(|a| display_path(&a.path).len())
            .max()
            .unwrap_or(0);
        for a in &c.attributes {
            match (&a.before, c.action) {
                (None, _) | (_, Action::Create) => match &a.after {
                    // Lists (team members) one item a line, as Terraform shows sets.
                    Some(serde_json::Value::Array(items)) => {
                        writeln!(
                            out,
                            "      {} {:width$} = [",
                            sym(Action::Create),
                            display_path(&a.path)
                        )?;
                        for item in items {
                            writeln!(out, "          {} {item},", sym(Action::Create))?;
                        }
                        writeln!(out, "        ]")?;
                    }
                    after => writeln!(
                        out,
                        "      {} {:width$} = {}",
                        sym(Action::Create),
                        display_path(&a.path),
                        show_value(after.as_ref())
                    )?,
                },
                (Some(_), _) => writeln!(
                    out,
                    "      {} {:width$} = {} -> {}",
                    sym(Action::Update),
                    display_path(&a.path),
                    show_value(a.before.as_ref()),
                    show_value(a.after.as_ref())
                )?,
            }
        }
        if c.action != Action::Create {
            for m in &c.members {
                let known = if m.id.is_none() {
                    " (known after apply)"
                } else {
                    ""
                };
                writeln!(out, "      {} member {:?}{known}", sym(c.action), m.key)?;
            }
        }
        writeln!(out, "    }}")?;
    }
    if !plan.unmanaged.is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "{} live users are not declared (policy.unmanaged: report):",
            plan.unmanaged.len()
        )?;
        for u in &plan.unmanaged {
            writeln!(out, "  ? user[{:?}] (id {})", u.key, u.id)?;
        }
    }
    if !plan.unmanaged_checked {
        writeln!(out)?;
        writeln!(
            out,
            "Note: unmanaged users were not looked for (only part of {} was read).",
            plan.profile.target_name()
        )?;
    }
    for w in &plan.warnings {
        writeln!(out)?;
        writeln!(out, "{} {w}", paint("1;33", "Warning:"))?;
    }
    if let Some(caps) = plan.deprovision_gate.caps_applied() {
        writeln!(out)?;
        writeln!(out, "{caps}.")?;
    }
    if let Some(m) = plan.deprovision_gate.message() {
        writeln!(out)?;
        writeln!(out, "{} {m}", paint("1;31", "Gate:"))?;
    }
    writeln!(out)?;
    writeln!(out, "{}", paint("1", &summary_line(&plan.summary)))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::fixtures;

    fn text(plan: &Plan, color: bool) -> String {
        let mut out = Vec::new();
        render(plan, color, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn text_plan() {
        insta::assert_snapshot!(text(&fixtures::plan(), false));
    }

    #[test]
    fn colour_only_when_asked() {
        assert!(!text(&fixtures::plan(), false).contains('\x1b'));
        assert!(text(&fixtures::plan(), true).contains("\x1b[32m+\x1b[0m"));
    }

    #[test]
    fn empty_plan_says_no_changes() {
        insta::assert_snapshot!(text(&fixtures::empty(), false), @r"
        No changes. Asana matches the configuration.

        Plan: 0 to create, 0 to update, 0 to deprovision, 0 team membership changes; 20 unchanged, 0 unmanaged.
        ");
    }
}
