//! The plan as text for a terminal, in Terraform's style.
//!
//! Keys, values, ids, reasons and warnings may come from the target, which may be hostile:
//! each passes through [`visible`], so an ESC sequence, a bidi override or a newline in a live
//! value is shown (`\u{1b}`) instead of reaching the terminal. Only the colours roster adds
//! itself are escape sequences.

use std::io::{self, Write};

use anstyle::{AnsiColor, Style};

use super::markdown::visible;
use super::{display_path, show_value, summary_line, symbol, verb};
use crate::plan::{Action, Plan};

const BOLD: Style = Style::new().bold();
const CREATE: Style = AnsiColor::Green.on_default();
const UPDATE: Style = AnsiColor::Yellow.on_default();
const REMOVE: Style = AnsiColor::Red.on_default();
const WARNING: Style = AnsiColor::Yellow.on_default().bold();
const GATE: Style = AnsiColor::Red.on_default().bold();

/// `s` in `style` when `color`, else as it is: the one place roster's own escape sequences
/// are made.
pub fn paint(color: bool, style: Style, s: &str) -> String {
    if color {
        format!("{style}{s}{style:#}")
    } else {
        s.to_string()
    }
}

/// Writes the plan. `color` adds ANSI colours (the caller decides whether its stream takes
/// them).
pub fn render(plan: &Plan, color: bool, out: &mut dyn Write) -> io::Result<()> {
    render_with(plan, color, false, out)
}

/// Writes the plan; with `why` (`-v`), each member a team with `member_rules` gains says why
/// it is one (`# rule 1 "engineering"`, `# explicit`).
pub fn render_with(plan: &Plan, color: bool, why: bool, out: &mut dyn Write) -> io::Result<()> {
    let paint = |style: Style, s: &str| paint(color, style, s);
    let sym = |a: Action| {
        let s = symbol(a);
        let style = match s {
            '+' => CREATE,
            '~' => UPDATE,
            _ => REMOVE,
        };
        paint(style, s.encode_utf8(&mut [0; 4]))
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
        let address = c.address();
        let address = visible(&address);
        writeln!(
            out,
            "  {}",
            paint(
                BOLD,
                &visible(&format!("# {address} {}{reason}", verb(c, plan.profile)))
            )
        )?;
        if c.action == Action::Deprovision {
            writeln!(out, "  {} {address}", sym(c.action))?;
            continue;
        }
        writeln!(out, "  {} {address} {{", sym(c.action))?;
        let path = |p: &str| visible(&display_path(p)).into_owned();
        let value = |v: Option<&serde_json::Value>| visible(&show_value(v)).into_owned();
        let width = c
            .attributes
            .iter()
            .map(|a| path(&a.path).len())
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
                            path(&a.path)
                        )?;
                        for item in items {
                            let via = match (why, item.as_str()) {
                                (true, Some(key)) => via(c, key),
                                _ => String::new(),
                            };
                            writeln!(
                                out,
                                "          {} {},{via}",
                                sym(Action::Create),
                                value(Some(item))
                            )?;
                        }
                        writeln!(out, "        ]")?;
                    }
                    after => writeln!(
                        out,
                        "      {} {:width$} = {}",
                        sym(Action::Create),
                        path(&a.path),
                        value(after.as_ref())
                    )?,
                },
                // A value the mappings no longer give, cleared (`policy.unset_attributes`).
                (Some(before), _) if a.after.is_none() => writeln!(
                    out,
                    "      {} {:width$} = {}",
                    sym(Action::Deprovision),
                    path(&a.path),
                    value(Some(before))
                )?,
                (Some(_), _) => writeln!(
                    out,
                    "      {} {:width$} = {} -> {}",
                    sym(Action::Update),
                    path(&a.path),
                    value(a.before.as_ref()),
                    value(a.after.as_ref())
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
                let via = if why { via(c, &m.key) } else { String::new() };
                writeln!(
                    out,
                    "      {} member {}{known}{via}",
                    sym(c.action),
                    visible(&format!("{:?}", m.key))
                )?;
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
            writeln!(
                out,
                "  {}",
                visible(&format!("? user[{:?}] (id {})", u.key, u.id))
            )?;
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
    if !plan.expiring.is_empty() {
        writeln!(out)?;
        write!(out, "{}", super::expiring_section(&plan.expiring, false))?;
    }
    for w in &plan.warnings {
        writeln!(out)?;
        writeln!(out, "{} {}", paint(WARNING, "Warning:"), visible(w))?;
    }
    if let Some(caps) = plan.deprovision_gate.caps_applied() {
        writeln!(out)?;
        writeln!(out, "{caps}.")?;
    }
    if let Some(m) = plan.deprovision_gate.message() {
        writeln!(out)?;
        writeln!(out, "{} {}", paint(GATE, "Gate:"), visible(&m))?;
    }
    writeln!(out)?;
    writeln!(out, "{}", paint(BOLD, &summary_line(&plan.summary)))?;
    writeln!(out, "{}", plan.seats.line())?;
    Ok(())
}

/// ` # rule 1 "engineering"` for a member the change records a reason for, else nothing.
fn via(c: &crate::plan::Change, key: &str) -> String {
    (c.members.iter().find(|m| m.key == key))
        .and_then(|m| m.via.as_deref())
        .map(|v| format!("  # {}", visible(v)))
        .unwrap_or_default()
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

    /// Issue 14: `-v` says which rule put a member there; without it, the names alone.
    #[test]
    fn why_a_member_is_there_only_with_verbose() {
        let mut why = Vec::new();
        render_with(&fixtures::plan(), false, true, &mut why).unwrap();
        let why = String::from_utf8(why).unwrap();
        assert!(
            why.contains(
                "+ member \"ada@example.com\" (known after apply)  # rule 1 \"engineering\"\n"
            ),
            "{why}"
        );
        assert!(why.contains("+ member \"bob@example.com\"\n"), "{why}");
        let plain = text(&fixtures::plan(), false);
        assert!(!plain.contains("# rule"), "{plain}");
        assert_eq!(plain, why.replace("  # rule 1 \"engineering\"", ""));
    }

    #[test]
    fn colour_only_when_asked() {
        assert!(!text(&fixtures::plan(), false).contains('\x1b'));
        assert!(text(&fixtures::plan(), true).contains("\x1b[32m+\x1b[0m"));
    }

    #[test]
    fn low_text_output_escapes_live_control_characters() {
        // The text plan wrote what the target sent to the terminal as it was: an ESC sequence
        // in a title cleared the screen or set the window title, a bidi override reordered a
        // line, a newline forged one.
        let mut plan = fixtures::plan();
        let hostile = "Eng\u{1b}[2J\u{1b}]0;pwned\u{7}\u{202e}rel\u{9b}31m\u{7f}\n  + forged = 1";
        plan.changes[1].attributes[0].before = Some(serde_json::json!(hostile));
        plan.changes[1].key = "bob\u{200b}\u{1b}[8m@example.com".into();
        plan.changes[2].reason = Some(format!("reason {hostile}"));
        plan.changes[3].members[1].key = "mallory\u{202e}@example.com\u{1b}[0m".into();
        plan.unmanaged[0].key = "eve\u{1b}]8;;https://evil.example\u{7}@example.com".into();
        plan.unmanaged[0].id = "9\u{1b}[1A\n  ? user[\"forged\"]".into();
        plan.warnings[0] = format!("warning {hostile}");
        let plain = text(&plan, false);
        for c in [
            '\u{1b}', '\u{7}', '\u{7f}', '\u{9b}', '\u{202e}', '\u{200b}',
        ] {
            assert!(!plain.contains(c), "{c:?} reached the terminal: {plain:?}");
        }
        for line in plain.lines() {
            let line = line.trim_start();
            assert!(
                !line.starts_with("+ forged") && !line.starts_with("? user[\"forged"),
                "a live value started a line: {plain}"
            );
        }
        // In colour, the only escape sequences are roster's own.
        let coloured = text(&plan, true);
        assert_eq!(
            coloured.matches('\u{1b}').count(),
            coloured.matches("\u{1b}[").count(),
            "{coloured:?}"
        );
        assert!(!coloured.contains("\u{1b}[2J") && !coloured.contains("\u{1b}]"));
        // Shown instead, so a reviewer sees them.
        for shown in [
            "\\u001b[2J",
            "\\u{202e}",
            "\\u{9b}",
            "\\u{7f}",
            "\\u{200b}",
            "\\u{1b}]8;;",
        ] {
            assert!(plain.contains(shown), "`{shown}` not shown:\n{plain}");
        }
    }

    #[test]
    fn empty_plan_says_no_changes() {
        insta::assert_snapshot!(text(&fixtures::empty(), false), @r"
        No changes. Asana matches the configuration.

        Plan: 0 to create, 0 to update, 0 to deprovision, 0 team membership changes; 20 unchanged, 0 unmanaged.
        Seats: +0, −0 (net 0)
        ");
    }
}
