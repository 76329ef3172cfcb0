//! Drift reports as text, JSON and Markdown (for the issue a nightly job keeps up to date).

use std::fmt::Write as _;
use std::io::{self, Write};

use super::{display_path, show_value};
use crate::plan::drift::Drift;

/// A marker a workflow can search for to find its drift issue.
pub const MARKER: &str = "<!-- roster-drift -->";

pub fn json(d: &Drift, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, d)?;
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
    let (h, item, code) = if md {
        ("### ", "- ", "`")
    } else {
        ("", "  ", "")
    };
    if md {
        let _ = writeln!(s, "{MARKER}\n### roster drift report\n");
    }
    if d.is_empty() {
        let _ = writeln!(s, "No drift: Asana matches the configuration.");
        return s;
    }
    let mut section = |title: &str, lines: Vec<String>| {
        if lines.is_empty() {
            return;
        }
        let _ = writeln!(s, "{h}{title} ({})", lines.len());
        if md {
            s.push('\n');
        }
        for l in lines {
            let _ = writeln!(s, "{item}{l}");
        }
        s.push('\n');
    };
    let c = |a: &str| format!("{code}{a}{code}");
    section("Missing in Asana", d.missing.iter().map(|a| c(a)).collect());
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
                            display_path(&x.path),
                            show_value(x.before.as_ref()),
                            show_value(x.after.as_ref())
                        )
                    })
                    .collect();
                format!("{}: {}", c(&a.address), attrs.join("; "))
            })
            .collect(),
    );
    section(
        "Active in Asana, disabled in the files",
        d.should_be_deprovisioned.iter().map(|a| c(a)).collect(),
    );
    section(
        "Deprovisioned in Asana, enabled in the files",
        d.deprovisioned_but_declared.iter().map(|a| c(a)).collect(),
    );
    section(
        "Not declared (unmanaged)",
        d.unmanaged
            .iter()
            .map(|u| format!("{} (id {})", c(&format!("user[\"{}\"]", u.key)), u.id))
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
    if !d.unmanaged_checked {
        let _ = writeln!(
            s,
            "Unmanaged users were not looked for (only part of Asana was read)."
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
    use crate::plan::drift::drift;
    use crate::render::fixtures;

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
