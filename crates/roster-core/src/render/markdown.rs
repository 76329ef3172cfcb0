//! The plan as Markdown for a pull-request comment: a summary table, one line per object,
//! collapsible details, and never more than [`MAX_CHARS`] characters (GitHub refuses comments
//! over 65,536), truncating with a note.

use std::fmt::Write as _;
use std::io::{self, Write};

use super::{display_path, show_value, summary_line};
use crate::config::model::Profile;
use crate::plan::{Action, Change, Plan};

/// Budget for the whole comment, under GitHub's 65,536-character limit with room to spare.
pub const MAX_CHARS: usize = 65_000;

/// How much of the budget the summary table and the warnings above the changes may take.
const MAX_WARNING_CHARS: usize = MAX_CHARS / 4;

/// A marker a workflow can search for to update its comment in place.
pub const MARKER: &str = "<!-- roster-plan -->";

pub fn render(plan: &Plan, out: &mut dyn Write) -> io::Result<()> {
    out.write_all(to_string(plan).as_bytes())
}

pub fn to_string(plan: &Plan) -> String {
    let s = &plan.summary;
    let mut head = String::new();
    let _ = writeln!(head, "{MARKER}");
    let _ = writeln!(head, "### roster plan\n");
    let _ = writeln!(
        head,
        "| create | update | deprovision | reactivate | team adds | team removals | unchanged | unmanaged |"
    );
    let _ = writeln!(head, "|---:|---:|---:|---:|---:|---:|---:|---:|");
    let _ = writeln!(
        head,
        "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
        s.create,
        s.update,
        s.deprovision,
        s.reactivate,
        s.add_members,
        s.remove_members,
        s.no_op,
        s.unmanaged
    );
    let _ = writeln!(head, "**{}**\n", escape(&plan.seats.line()));
    if !plan.expiring.is_empty() {
        head.push_str(&super::expiring_section(&plan.expiring, true));
        head.push('\n');
    }
    if let Some(caps) = plan.deprovision_gate.caps_applied() {
        let _ = writeln!(head, "> [!NOTE]\n> {}\n", escape(&caps));
    }
    if let Some(m) = plan.deprovision_gate.message() {
        let _ = writeln!(head, "> [!CAUTION]\n> {}\n", escape(&m));
    }
    // Warnings come one per user (a disabled protected user, a user Asana cannot reactivate):
    // thousands of them must not crowd out the changes or push the comment over the limit.
    let mut warned = 0;
    for w in &plan.warnings {
        let block = format!("> [!WARNING]\n> {}\n\n", escape(w));
        if head.len() + block.len() > MAX_WARNING_CHARS {
            break;
        }
        head.push_str(&block);
        warned += 1;
    }
    if warned < plan.warnings.len() {
        let _ = writeln!(
            head,
            "_… and {} more warnings not shown: the full list is in the JSON plan (`roster show --format json`)._\n",
            plan.warnings.len() - warned
        );
    }
    if !plan.unmanaged_checked {
        let _ = writeln!(
            head,
            "_Only the changed declarations were read from {}; unmanaged users were not looked for._\n",
            plan.profile.target_name()
        );
    }
    if plan.changes.is_empty() {
        let _ = writeln!(
            head,
            "**No changes.** {} matches the configuration.\n",
            plan.profile.target_name_capitalized()
        );
    }

    let mut tail = String::new();
    let _ = writeln!(tail, "\n**{}**", summary_line(s));

    // Lines and details are added while they fit; the rest is counted in a note.
    let note_room = 200;
    let mut budget = MAX_CHARS.saturating_sub(head.len() + tail.len() + note_room);
    let mut lines = String::new();
    let mut details = String::new();
    let mut shown = 0;
    for c in &plan.changes {
        let line = format!(
            "- {} `{}` {}{}\n",
            emoji(c.action),
            code(&c.address()),
            c.action.as_str(),
            reason(c, plan.profile)
        );
        if line.len() > budget {
            break;
        }
        budget -= line.len();
        lines.push_str(&line);
        shown += 1;
    }
    let mut detailed = 0;
    for c in &plan.changes[..shown] {
        let block = detail(c);
        // Details are worth showing only whole.
        if block.len() + 40 > budget {
            break;
        }
        budget -= block.len();
        details.push_str(&block);
        detailed += 1;
    }
    let unmanaged_lines: String = plan
        .unmanaged
        .iter()
        .map(|u| format!("- ❔ `user[\"{}\"]` (id {})\n", code(&u.key), code(&u.id)))
        .take_while(|l| {
            let fits = l.len() <= budget;
            budget = budget.saturating_sub(l.len());
            fits
        })
        .collect();

    let mut md = head;
    md.push_str(&lines);
    if shown < plan.changes.len() {
        let _ = writeln!(
            md,
            "\n_… and {} more changes not shown: the comment would exceed GitHub's size limit. The full plan is in the saved plan file (`roster show`)._",
            plan.changes.len() - shown
        );
    }
    if detailed > 0 {
        let _ = write!(
            md,
            "\n<details><summary>Details ({detailed} of {} changes)</summary>\n\n```diff\n{details}```\n\n</details>\n",
            plan.changes.len()
        );
    }
    if !plan.unmanaged.is_empty() {
        let _ = write!(
            md,
            "\n<details><summary>{} live users are not declared</summary>\n\n{unmanaged_lines}",
            plan.unmanaged.len()
        );
        let listed = unmanaged_lines.lines().count();
        if listed < plan.unmanaged.len() {
            let _ = writeln!(md, "\n_… and {} more._", plan.unmanaged.len() - listed);
        }
        md.push_str("\n</details>\n");
    }
    md.push_str(&tail);
    md
}

fn emoji(a: Action) -> &'static str {
    match a {
        Action::Create => "➕",
        Action::Update => "✏️",
        Action::Reactivate => "♻️",
        Action::AddMembers => "👥➕",
        Action::RemoveMembers => "👥➖",
        Action::Deprovision => "⛔",
    }
}

fn reason(c: &Change, profile: Profile) -> String {
    let mut r = String::new();
    if !c.members.is_empty() {
        let _ = write!(
            r,
            " ({} member{})",
            c.members.len(),
            if c.members.len() == 1 { "" } else { "s" }
        );
    }
    if let Some(reason) = &c.reason {
        let _ = write!(r, ": {}", escape(reason));
    }
    if c.action == Action::Deprovision && profile == Profile::Asana {
        r.push_str(" — **irreversible in Asana**");
    }
    if let Some(note) = super::source_note(c) {
        let _ = write!(r, " _({})_", escape(&note));
    }
    r
}

/// One change as a diff block body.
fn detail(c: &Change) -> String {
    let mut s = String::new();
    let sign = match c.action {
        Action::Create | Action::AddMembers => '+',
        Action::Deprovision | Action::RemoveMembers => '-',
        Action::Update | Action::Reactivate => '!',
    };
    let _ = writeln!(
        s,
        "{sign} {} ({})",
        fence_safe(&c.address()),
        c.action.as_str()
    );
    for a in &c.attributes {
        match &a.before {
            None => {
                let _ = writeln!(
                    s,
                    "+   {} = {}",
                    fence_safe(&display_path(&a.path)),
                    fence_safe(&show_value(a.after.as_ref()))
                );
            }
            Some(_) => {
                let _ = writeln!(
                    s,
                    "-   {} = {}",
                    fence_safe(&display_path(&a.path)),
                    fence_safe(&show_value(a.before.as_ref()))
                );
                // Cleared (`policy.unset_attributes`): nothing takes its place.
                if a.after.is_none() {
                    continue;
                }
                let _ = writeln!(
                    s,
                    "+   {} = {}",
                    fence_safe(&display_path(&a.path)),
                    fence_safe(&show_value(a.after.as_ref()))
                );
            }
        }
    }
    if c.action == Action::Create {
        // The members list says who; for a team with rules, say why each is there.
        for m in c.members.iter().filter(|m| m.via.is_some()) {
            let via = m.via.as_deref().unwrap_or_default();
            let _ = writeln!(s, "    # {}: {}", fence_safe(&m.key), fence_safe(via));
        }
    }
    if c.action != Action::Create {
        for m in &c.members {
            let mark = if c.action == Action::RemoveMembers {
                '-'
            } else {
                '+'
            };
            let via = (m.via.as_deref())
                .map(|v| format!("  # {}", fence_safe(v)))
                .unwrap_or_default();
            let _ = writeln!(s, "{mark}   member {}{via}", fence_safe(&m.key));
        }
    }
    s
}

/// Text inside a code span (`` `…` ``), where GitHub renders no link, mention, emphasis or
/// HTML: a backtick would end the span early (shown as `'`), and control or invisible
/// characters are shown [`visible`]. Every value read from the target goes through this.
pub fn code(s: &str) -> String {
    visible(&s.replace('`', "'")).into_owned()
}

/// Text inside the diff fence: a line of backticks would close it.
fn fence_safe(s: &str) -> String {
    visible(&s.replace("```", "'''")).into_owned()
}

/// Text in Markdown prose: no HTML, no table or emphasis surprises.
pub(crate) fn escape(s: &str) -> String {
    visible(
        &s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('|', "\\|"),
    )
    .into_owned()
}

/// `s` with control characters (ESC, newlines, DEL, C1) and invisible ones (zero-width, bidi
/// overrides, line separators, BOM) written as `\u{1b}`: a value can then neither send a
/// terminal escape sequence, nor break a line of Markdown, nor hide or reorder text.
pub fn visible(s: &str) -> std::borrow::Cow<'_, str> {
    let hidden = |c: char| {
        c.is_control()
            || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{2028}' | '\u{2029}' | '\u{feff}')
    };
    if !s.chars().any(hidden) {
        return s.into();
    }
    s.chars()
        .map(|c| {
            if hidden(c) {
                format!("\\u{{{:x}}}", c as u32)
            } else {
                c.to_string()
            }
        })
        .collect::<String>()
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{AttrChange, Kind};
    use crate::render::fixtures;

    #[test]
    fn markdown_plan() {
        insta::assert_snapshot!(to_string(&fixtures::plan()));
    }

    /// Issue 14: the comment says which rule put each member there, on a team's creation as
    /// on its additions.
    #[test]
    fn issue14_members_say_which_rule_put_them_there() {
        let mut plan = fixtures::plan();
        let md = to_string(&plan);
        assert!(
            md.contains("+   member ada@example.com  # rule 1 \"engineering\"\n"),
            "{md}"
        );
        assert!(md.contains("+   member bob@example.com\n"), "{md}");
        let team = (plan.changes.iter_mut())
            .find(|c| c.action == crate::plan::Action::AddMembers)
            .unwrap();
        team.action = crate::plan::Action::Create;
        let md = to_string(&plan);
        assert!(
            md.contains("    # ada@example.com: rule 1 \"engineering\"\n"),
            "{md}"
        );
        assert!(!md.contains("# bob@example.com"), "{md}");
    }

    #[test]
    fn issue14_a_cleared_attribute_is_one_removed_line_in_markdown_and_text() {
        let mut plan = fixtures::plan();
        let c = (plan.changes.iter_mut())
            .find(|c| c.action == Action::Update)
            .expect("the fixture has an update");
        c.attributes = vec![AttrChange {
            path: "title".into(),
            before: Some(serde_json::json!("Staff Engineer")),
            after: None,
        }];
        let md = to_string(&plan);
        assert!(
            md.contains("(update)\n-   title = \"Staff Engineer\"\n- user"),
            "{md}"
        );
        let mut text = Vec::new();
        crate::render::text::render(&plan, false, &mut text).unwrap();
        let text = String::from_utf8(text).unwrap();
        assert!(
            text.contains("      - title = \"Staff Engineer\"\n"),
            "{text}"
        );
        assert!(!text.contains("-> null"), "{text}");
    }

    #[test]
    fn ten_thousand_changes_stay_under_the_limit_with_a_note() {
        let mut plan = fixtures::plan();
        plan.changes = (0..10_000)
            .map(|i| Change {
                kind: Kind::User,
                key: format!("user{i:05}@example.com"),
                action: Action::Create,
                id: None,
                attributes: vec![AttrChange {
                    path: "title".into(),
                    before: None,
                    after: Some(serde_json::json!("Engineer")),
                }],
                members: vec![],
                reason: None,
                source: None,
            })
            .collect();
        plan.summary.create = 10_000;
        let md = to_string(&plan);
        assert!(
            md.chars().count() < MAX_CHARS,
            "{} characters",
            md.chars().count()
        );
        assert!(md.contains("more changes not shown"), "no truncation note");
        assert!(md.contains("**Plan: 10000 to create"));
        // Code fences stay balanced, so the comment renders.
        assert_eq!(md.matches("```").count() % 2, 0);
    }

    #[test]
    fn issue14_ten_thousand_expiring_users_are_listed_in_part_under_the_limit() {
        let mut plan = fixtures::plan();
        let long = "x".repeat(200);
        plan.expiring = (0..10_000)
            .map(|i| crate::plan::Expiring {
                user: format!("{long}{i:05}@example.com"),
                group: Some(format!("{long} team")),
                expires: "2026-12-01T00:00:00+01:00".into(),
                ends_at: 1_796_169_600,
                days_left: 2,
            })
            .collect();
        let md = to_string(&plan);
        assert!(md.chars().count() < MAX_CHARS, "{}", md.chars().count());
        assert!(md.contains("#### Expiring soon (10000)"));
        assert!(md.contains("… and 9950 more: the JSON output lists them all."));
        assert!(md.contains("**Seats: +1, \u{2212}1 (net 0)**"));
        for c in &plan.changes {
            assert!(
                md.contains(&code(&c.address())),
                "{} is missing",
                c.address()
            );
        }
    }

    #[test]
    fn thousands_of_warnings_cannot_push_the_comment_over_the_limit() {
        // Every warning was printed above the changes, unbudgeted: 1,000 users deprovisioned in
        // Asana but declared active made a comment of over 150,000 characters.
        let mut plan = fixtures::plan();
        plan.warnings = (0..10_000)
            .map(|i| {
                format!(
                    "user[\"user{i:05}@example.com\"] is deprovisioned in Asana, which cannot \
                     reactivate users through SCIM; reactivate it in the admin console or set \
                     accountEnabled: false"
                )
            })
            .collect();
        let md = to_string(&plan);
        assert!(
            md.chars().count() < MAX_CHARS,
            "{} characters",
            md.chars().count()
        );
        assert!(
            md.contains("user00000@example.com"),
            "the first warnings are shown"
        );
        assert!(md.contains("more warnings not shown"), "no truncation note");
        // The changes still have room.
        for c in &plan.changes {
            assert!(
                md.contains(&code(&c.address())),
                "{} is missing",
                c.address()
            );
        }
        assert!(md.contains("</details>"));
    }

    #[test]
    fn hostile_names_cannot_break_out_of_code() {
        let mut plan = fixtures::plan();
        plan.changes[0].key = "a`b```c<script>@x.io".into();
        let md = to_string(&plan);
        assert!(!md.contains("<script>") || md.contains("```diff"), "{md}");
        assert_eq!(md.matches("```").count() % 2, 0);
    }
}
