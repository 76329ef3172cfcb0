//! Drift reports as text, JSON and Markdown (for the issue a nightly job keeps up to date).

use std::fmt::Write as _;
use std::io::{self, Write};

use super::markdown::{self, MAX_CHARS};
use super::{display_path, show_value};
use crate::plan::drift::Drift;
use crate::wire::drift::DriftJson;

/// A marker a workflow can search for to find its drift issue.
pub const MARKER: &str = "<!-- roster-drift -->";

pub fn json(d: &Drift, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &DriftJson::from(d))?;
    writeln!(out)
}

pub fn text(d: &Drift, out: &mut dyn Write) -> io::Result<()> {
    out.write_all(render(d, false).as_bytes())
}

pub fn markdown(d: &Drift, out: &mut dyn Write) -> io::Result<()> {
    out.write_all(render(d, true).as_bytes())
}

fn render(d: &Drift, md: bool) -> String {
    let mut s = String::new();
    let (h, item) = if md { ("### ", "- ") } else { ("", "  ") };
    if md {
        let _ = writeln!(s, "{MARKER}\n### roster drift report\n");
    }
    if d.is_empty() {
        let _ = writeln!(
            s,
            "No drift: {} matches the configuration.",
            d.profile.target_name_capitalized()
        );
        if !d.expiring.is_empty() {
            s.push('\n');
            s.push_str(&super::expiring_section(&d.expiring, md));
        }
        return s;
    }
    // Markdown goes into a GitHub issue, which holds at most 65,536 characters: lines are
    // added while they fit, keeping room for every later section's heading and note.
    let budget = MAX_CHARS - 1_500;
    let mut section = |title: &str, lines: Vec<String>| {
        if lines.is_empty() {
            return;
        }
        let _ = writeln!(s, "{h}{title} ({})", lines.len());
        if md {
            s.push('\n');
        }
        let total = lines.len();
        for (shown, l) in lines.into_iter().enumerate() {
            if md && s.len() + item.len() + l.len() + 1 > budget {
                let _ = writeln!(
                    s,
                    "{item}_… and {} more not shown: the report would exceed GitHub's size \
                     limit; `roster drift --format json` lists them all._",
                    total - shown
                );
                break;
            }
            let _ = writeln!(s, "{item}{l}");
        }
        s.push('\n');
    };
    // Every value here was read from the target, which may be hostile: in Markdown (a GitHub
    // issue) each goes in a code span, where no link, mention or HTML renders and a backtick
    // cannot break out; in text (a terminal, a log) control characters are shown, not sent.
    let c = |a: &str| {
        if md {
            format!("`{}`", markdown::code(a))
        } else {
            markdown::visible(a).into_owned()
        }
    };
    let target = d.profile.target_name();
    section(
        &format!("Missing in {target}"),
        d.missing.iter().map(|a| c(a)).collect(),
    );
    section(
        "Attributes differ",
        d.attributes
            .iter()
            .map(|a| {
                let attrs: Vec<String> = a
                    .attributes
                    .iter()
                    .map(|x| {
                        format!(
                            "{}: {} → {}",
                            markdown::visible(&display_path(&x.path)),
                            c(&show_value(x.before.as_ref())),
                            c(&show_value(x.after.as_ref()))
                        )
                    })
                    .collect();
                format!("{}: {}", c(&a.address), attrs.join("; "))
            })
            .collect(),
    );
    section(
        &format!("Active in {target}, disabled in the files"),
        d.should_be_deprovisioned.iter().map(|a| c(a)).collect(),
    );
    section(
        &format!("Deprovisioned in {target}, enabled in the files"),
        d.deprovisioned_but_declared.iter().map(|a| c(a)).collect(),
    );
    section(
        "Not declared (unmanaged)",
        d.unmanaged
            .iter()
            .map(|u| format!("{} (id {})", c(&format!("user[\"{}\"]", u.key)), c(&u.id)))
            .collect(),
    );
    section(
        "Team membership differs",
        d.membership
            .iter()
            .map(|m| {
                let keys = |ms: &[crate::plan::Member]| {
                    ms.iter().map(|m| c(&m.key)).collect::<Vec<_>>().join(", ")
                };
                let mut parts = Vec::new();
                if !m.missing.is_empty() {
                    parts.push(format!("missing {}", keys(&m.missing)));
                }
                if !m.extra.is_empty() {
                    parts.push(format!("not declared {}", keys(&m.extra)));
                }
                format!("{}: {}", c(&m.address), parts.join("; "))
            })
            .collect(),
    );
    if !d.expiring.is_empty() {
        s.push_str(&super::expiring_section(&d.expiring, md));
        s.push('\n');
    }
    if !d.unmanaged_checked {
        let _ = writeln!(
            s,
            "Unmanaged users were not looked for (only part of {target} was read)."
        );
    }
    let _ = writeln!(
        s,
        "{} difference{} found.",
        d.count(),
        if d.count() == 1 { "" } else { "s" }
    );
    s
}

#[cfg(test)]
mod tests {
    use super::MAX_CHARS;
    use crate::plan::drift::drift;
    use crate::plan::{Member, UnmanagedUser};
    use crate::render::fixtures;

    #[test]
    fn issue14_no_drift_still_lists_what_expires_soon() {
        let mut d = drift(&fixtures::empty());
        d.expiring = fixtures::plan().expiring;
        assert!(d.is_empty(), "expiring access is not drift");
        let mut t = Vec::new();
        super::text(&d, &mut t).unwrap();
        assert_eq!(
            String::from_utf8(t).unwrap(),
            "No drift: Asana matches the configuration.\n\nExpiring soon (2):\n  \
             user[\"carol@example.com\"] expires in 2 days (2026-12-01)\n  \
             group[\"Platform\"] member \"bob@example.com\" expires in 11 days (2026-12-10)\n"
        );
    }

    #[test]
    fn ten_thousand_unmanaged_users_fit_in_an_issue() {
        // The Markdown report was unbounded: 10,000 undeclared users (and a team missing them
        // all) made an issue body of 790,000 characters, which GitHub refuses.
        let mut d = drift(&fixtures::plan());
        d.unmanaged = (0..10_000)
            .map(|i| UnmanagedUser {
                key: format!("user{i:05}@example.com"),
                id: format!("12040000000{i:05}"),
            })
            .collect();
        // One team missing every one of them, on one line.
        d.membership[0].missing = (0..10_000)
            .map(|i| Member {
                key: format!("user{i:05}@example.com"),
                id: None,
                via: None,
            })
            .collect();
        let mut m = Vec::new();
        super::markdown(&d, &mut m).unwrap();
        let md = String::from_utf8(m).unwrap();
        assert!(
            md.chars().count() < MAX_CHARS,
            "{} characters",
            md.chars().count()
        );
        assert!(md.contains("### Not declared (unmanaged) (10000)"), "{md}");
        assert!(md.contains("user00000@example.com"));
        assert!(md.contains("more not shown"), "no truncation note");
        // Every section is still there, and the closing count.
        assert!(md.contains("### Team membership differs (1)"), "{md}");
        assert!(md.trim_end().ends_with("differences found."), "{md}");
        // Text is for terminals and logs: never cut.
        let mut t = Vec::new();
        super::text(&d, &mut t).unwrap();
        assert!(
            String::from_utf8(t)
                .unwrap()
                .contains("user09999@example.com")
        );
    }

    /// `code` segments of a Markdown line: the odd ones are inside code spans.
    fn outside_code(line: &str) -> String {
        line.split('`').step_by(2).collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn low_drift_markdown_escapes_live_values() {
        // The nightly issue rendered what the target sent as Markdown: a title became a link
        // and pinged a team, a backtick closed the code span, ESC bytes reached the issue.
        let mut d = drift(&fixtures::plan());
        let hostile = "[approve](https://evil.example) @northwind/admins `x` \u{1b}[31mred\n# Heading <img src=x>";
        d.attributes[0].attributes[0].after = Some(serde_json::json!(hostile));
        d.unmanaged[0].key =
            "eve`@x.io [link](https://evil.example) @org/team\u{1b}]0;title\u{7}".into();
        d.unmanaged[0].id = "9 @org/ids\n- fake".into();
        d.membership[0].extra[0].key = "mallory`<b>@x.io\u{202e}".into();
        let mut m = Vec::new();
        super::markdown(&d, &mut m).unwrap();
        let md = String::from_utf8(m).unwrap();
        assert!(
            !md.contains('\u{1b}') && !md.contains('\u{7}') && !md.contains('\u{202e}'),
            "{md}"
        );
        // Shown instead: JSON's escapes in values, `\u{…}` in names.
        assert!(
            md.contains("\\u001b[31mred") && md.contains("\\u{1b}]0;title"),
            "{md}"
        );
        for line in md.lines() {
            assert_eq!(
                line.matches('`').count() % 2,
                0,
                "a code span is left open: {line}"
            );
            let prose = outside_code(line);
            for raw in [
                "](",
                "@northwind",
                "@org",
                "<img",
                "<b>",
                "# Heading",
                "- fake",
            ] {
                assert!(!prose.contains(raw), "`{raw}` outside a code span: {line}");
            }
        }
        // Nothing the target sent started a line of its own.
        let mut plain = Vec::new();
        super::markdown(&drift(&fixtures::plan()), &mut plain).unwrap();
        assert_eq!(
            md.lines().count(),
            String::from_utf8(plain).unwrap().lines().count()
        );
        // Text (terminals, logs) shows control characters instead of sending them.
        let mut t = Vec::new();
        super::text(&d, &mut t).unwrap();
        let t = String::from_utf8(t).unwrap();
        assert!(!t.contains('\u{1b}') && !t.contains('\u{7}'), "{t}");
        assert!(t.contains("\\u{1b}]0;title"), "{t}");
    }

    #[test]
    fn drift_text_and_markdown() {
        let d = drift(&fixtures::plan());
        let mut t = Vec::new();
        super::text(&d, &mut t).unwrap();
        insta::assert_snapshot!("drift_text", String::from_utf8(t).unwrap());
        let mut m = Vec::new();
        super::markdown(&d, &mut m).unwrap();
        insta::assert_snapshot!("drift_markdown", String::from_utf8(m).unwrap());
    }
}
