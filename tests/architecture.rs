//! Keeps ARCHITECTURE.md's invariants true. The crate split carries the purity rule (roster-core
//! has no runtime, HTTP or file-walking crate to name); clippy's `disallowed-methods` keeps std's
//! environment, process, clock and file writes out of the modules not allowed them; and this
//! test checks what remains: the layer table of the binary over every path its code names, the
//! crates' dependencies against the crate table, and a few files' contracts.

#![allow(clippy::disallowed_methods)] // tests set up files, run programs and read the clock

use std::path::Path;

/// Std's IO in code (comments and strings removed). roster-core cannot name tokio, reqwest or
/// hyper at all: they are not its dependencies.
const IO: &[&str] = &[
    "std::env",
    "env::var",
    "std::fs",
    "fs::",
    "std::net",
    "TcpStream",
    "UdpSocket",
    "std::process",
    "Command::new",
    "SystemTime",
    "Instant::now",
    "File::",
    "OpenOptions",
    "stdin()",
    "stdout()",
    "stderr()",
];

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

fn assert_pure(paths: &[&str]) {
    let mut files = Vec::new();
    for p in paths {
        let p = Path::new(p);
        if p.is_dir() {
            rust_files(p, &mut files);
        } else {
            files.push(p.to_path_buf());
        }
    }
    assert!(!files.is_empty());
    for f in files {
        let code = code_only(&std::fs::read_to_string(&f).unwrap());
        for word in IO {
            assert!(
                !code.contains(word),
                "{} names `{word}`: this part must not do IO",
                f.display()
            );
        }
    }
}

#[test]
fn the_core_does_no_io() {
    // Validation, mapping, expressions, planning, wire formats, rendering, diagnostics, the
    // retry decision, pacing, redaction, URL rules and the Entra source's deciding parts.
    assert_pure(&["crates/roster-core/src"]);
}

#[test]
fn the_client_decides_paging_and_features_without_io() {
    // The HTTP adapter (roster-http) sleeps and sends; the SCIM client's paging, parsing and
    // features, and the adapter's stats, are pure.
    assert_pure(&[
        "src/scim/client/paging.rs",
        "src/scim/client/features.rs",
        "src/scim/client/resource.rs",
        "crates/roster-http/src/stats.rs",
    ]);
}

#[test]
fn a_planted_io_call_or_print_is_found() {
    // What the issue that introduced this test planted in the planner, and a doc comment that
    // names tokio, which must not count.
    let planted = "/// Uses tokio's runtime? No.\nfn f() { std::process::Command::new(\"curl\"); }";
    let code = code_only(planted);
    assert!(!code.contains("tokio"));
    assert!(IO.iter().any(|w| code.contains(w)));
    let planted = "fn f() { let _ = std::fs::create_dir_all(\"x\"); }";
    assert!(IO.iter().any(|w| code_only(planted).contains(w)));
}

/// The body of the first `impl NAME {` block in `text`, up to its closing brace at column 0.
fn impl_block<'a>(text: &'a str, name: &str) -> &'a str {
    let start = text
        .find(&format!("impl {name} {{"))
        .unwrap_or_else(|| panic!("no `impl {name}`"));
    let len = text[start..].find("\n}\n").expect("impl block ends");
    &text[start..start + len]
}

#[test]
fn read_client_cannot_write() {
    // ReadClient holds a `Reader`, and `Reader` sends GET and nothing else. Its tuple field is
    // private to transport.rs, so read.rs cannot reach the transport around it.
    let transport = std::fs::read_to_string("src/scim/client/transport.rs").unwrap();
    let reader = impl_block(&transport, "Reader");
    assert!(reader.contains("Request::get("), "Reader sends GETs");
    for word in ["Post", "Put", "Patch", "Delete", "WriteMethod", "send("] {
        assert!(!reader.contains(word), "Reader names `{word}`");
    }
    assert!(
        transport.contains("pub(crate) struct Reader(Arc<Transport>);"),
        "Reader's transport stays private to transport.rs"
    );
    assert!(
        !transport.contains("pub(crate) async fn execute")
            && !transport.contains("pub async fn execute"),
        "only transport.rs may call execute"
    );
    let read = std::fs::read_to_string("src/scim/client/read.rs").unwrap();
    for word in [
        "Writer",
        "WriteMethod",
        "WriteClient",
        "Method::Post",
        "Method::Put",
        "Method::Patch",
        "Method::Delete",
    ] {
        assert!(!read.contains(word), "read.rs names `{word}`");
    }
}

#[test]
fn validate_never_touches_the_network() {
    // The validate command and everything it calls live in modules without network code.
    let text = std::fs::read_to_string("src/commands/validate.rs").unwrap();
    for word in ["reqwest", "tokio", "TcpStream", "scim::client"] {
        assert!(!text.contains(word), "validate names `{word}`");
    }
}

#[test]
fn the_graph_client_only_reads() {
    // Graph is read with GET; the one POST is the token request to the login host, which the
    // HTTP adapter's OAuth sign-in sends (crates/roster-http/src/auth.rs).
    let text = std::fs::read_to_string("src/entra/graph.rs").unwrap();
    for word in [
        ".put(",
        ".patch(",
        ".delete(",
        ".post(",
        "Method::",
        "Request::new(",
    ] {
        assert!(!text.contains(word), "graph.rs names `{word}`");
    }
    assert!(text.contains("Request::get("));
    let auth = std::fs::read_to_string("crates/roster-http/src/auth.rs").unwrap();
    assert_eq!(
        auth.matches("Method::").count(),
        1,
        "only the token request"
    );
    assert!(auth.contains("Request::new(Method::Post, grant.token_url.clone())"));
}

// ---------------------------------------------------------------------------------------------
// The layers of the binary, read from ARCHITECTURE.md and checked over every path in src/.
// ---------------------------------------------------------------------------------------------

/// Rust source with comments removed and string and character literals emptied, so that only
/// code is left to look for paths in (a doc comment or a message naming `crate::output` is not
/// an edge).
fn code_only(text: &str) -> String {
    let b: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < b.len() && b[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == '/' && b.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if b[i] == '*' && b.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            out.push(' ');
        } else if c == 'r'
            && (next == Some('"') || next == Some('#'))
            && !(i > 0 && ident(b[i - 1]))
        {
            // A raw string: r"..." or r#"..."#.
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            loop {
                if j >= b.len() {
                    break;
                }
                if b[j] == '"' && (0..hashes).all(|h| b.get(j + 1 + h) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            out.push_str("\"\"");
            i = j;
        } else if c == '"' {
            i += 1;
            while i < b.len() && b[i] != '"' {
                if b[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == '\'' {
            // A character literal ('x', '\n', '\u{..}', '{'), or a lifetime ('a), kept as is.
            if next == Some('\\') {
                let mut j = i + 2;
                while j < b.len() && b[j] != '\'' {
                    j += 1;
                }
                out.push_str("' '");
                i = j + 1;
            } else if b.get(i + 2) == Some(&'\'') {
                out.push_str("' '");
                i += 3;
            } else {
                out.push(c);
                i += 1;
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// Every path in `code` that starts at `crate::`, `super::` or `roster::`, expanded out of
/// `use` groups, with the module path (file module plus inline `mod x { }`) it was written in.
fn paths_in(code: &str, file_module: &[String]) -> Vec<(Vec<String>, Vec<String>)> {
    let chars: Vec<char> = code.chars().collect();
    let ident_at = |i: usize| -> Option<(String, usize)> {
        let mut j = i;
        while j < chars.len() && (chars[j].is_alphanumeric() || chars[j] == '_') {
            j += 1;
        }
        (j > i && !chars[i].is_ascii_digit()).then(|| (chars[i..j].iter().collect(), j))
    };
    let skip_ws = |mut i: usize| {
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        i
    };
    let starts_sep = |i: usize| chars.get(i) == Some(&':') && chars.get(i + 1) == Some(&':');

    // A path tree after `prefix::`: segments, `*`, `self`, and `{a, b::{c}}` groups.
    fn tree(
        chars: &[char],
        mut i: usize,
        prefix: Vec<String>,
        out: &mut Vec<Vec<String>>,
        ident_at: &dyn Fn(usize) -> Option<(String, usize)>,
        skip_ws: &dyn Fn(usize) -> usize,
    ) -> usize {
        let mut path = prefix;
        loop {
            i = skip_ws(i);
            match chars.get(i) {
                Some('{') => {
                    i += 1;
                    loop {
                        i = skip_ws(i);
                        if chars.get(i) == Some(&'}') {
                            return i + 1;
                        }
                        i = tree(chars, i, path.clone(), out, ident_at, skip_ws);
                        i = skip_ws(i);
                        // `x as y`
                        if let Some((w, j)) = ident_at(i)
                            && w == "as"
                        {
                            i = skip_ws(j);
                            if let Some((_, j)) = ident_at(i) {
                                i = j;
                            }
                            i = skip_ws(i);
                        }
                        match chars.get(i) {
                            Some(',') => i += 1,
                            Some('}') => return i + 1,
                            _ => return i,
                        }
                    }
                }
                Some('*') => {
                    path.push("*".into());
                    out.push(path);
                    return i + 1;
                }
                _ => match ident_at(i) {
                    Some((w, j)) => {
                        if w != "self" {
                            path.push(w);
                        }
                        i = j;
                        if chars.get(i) == Some(&':') && chars.get(i + 1) == Some(&':') {
                            i += 2;
                            continue;
                        }
                        out.push(path);
                        return i;
                    }
                    None => {
                        out.push(path);
                        return i;
                    }
                },
            }
        }
    }

    let mut found = Vec::new();
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '{' => {
                depth += 1;
                i += 1;
                continue;
            }
            '}' => {
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
                depth = depth.saturating_sub(1);
                i += 1;
                continue;
            }
            _ => {}
        }
        let boundary = i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
        let Some((word, j)) = ident_at(i).filter(|_| boundary) else {
            i += 1;
            continue;
        };
        if word == "mod" {
            let k = skip_ws(j);
            if let Some((name, k)) = ident_at(k)
                && chars.get(skip_ws(k)) == Some(&'{')
            {
                inline.push((name, depth + 1));
            }
            i = j;
            continue;
        }
        let here: Vec<String> = file_module
            .iter()
            .cloned()
            .chain(inline.iter().map(|(n, _)| n.clone()))
            .collect();
        if matches!(word.as_str(), "crate" | "super" | "roster") && starts_sep(j) {
            let mut base = match word.as_str() {
                "super" => {
                    let mut m = here.clone();
                    m.pop();
                    m
                }
                _ => Vec::new(),
            };
            let mut k = j + 2;
            // super::super::
            while let Some((w, e)) = ident_at(k)
                && w == "super"
                && starts_sep(e)
            {
                base.pop();
                k = e + 2;
            }
            let mut paths = Vec::new();
            i = tree(&chars, k, base, &mut paths, &ident_at, &skip_ws);
            found.extend(paths.into_iter().map(|p| (here.clone(), p)));
            continue;
        }
        i = j;
    }
    found
}

/// A table in ARCHITECTURE.md after the line holding `marker`: for each row, the number in the
/// first column and the backticked names in the second.
fn table_after(marker: &str) -> Vec<(u32, Vec<String>, String)> {
    let doc = std::fs::read_to_string("ARCHITECTURE.md").unwrap();
    let start = doc
        .find(marker)
        .unwrap_or_else(|| panic!("ARCHITECTURE.md has no `{marker}`"));
    let mut rows = Vec::new();
    for line in doc[start..].lines().skip(1) {
        let line = line.trim();
        if line.is_empty() {
            if rows.is_empty() {
                continue;
            }
            break;
        }
        let cols: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        let Ok(n) = cols[0].parse::<u32>() else {
            continue; // the header and its rule
        };
        let names = cols[1]
            .split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect();
        rows.push((n, names, cols.get(2).unwrap_or(&"").to_string()));
    }
    assert!(!rows.is_empty(), "the table after `{marker}` is empty");
    rows
}

/// The module a file of the binary is: `src/ops/apply.rs` is `ops::apply`, `src/ops/mod.rs`
/// is `ops`, `src/main.rs` is `main`.
fn module_of(file: &Path) -> Vec<String> {
    let rel = file.strip_prefix("src").unwrap();
    let mut parts: Vec<String> = rel
        .iter()
        .map(|s| s.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
        parts.pop();
    }
    parts
}

/// Names the binary's `lib.rs` re-exports from the lower crates, and the core parts that
/// `config`, `entra` and `scim` re-export: all below every module of the binary.
const CRATES_BELOW: &[&str] = &[
    "civil_time",
    "diagnostics",
    "expr",
    "import",
    "mapping",
    "names",
    "pacing",
    "plan",
    "redact",
    "render",
    "retry",
    "splitmix",
    "teams",
    "urls",
    "wire",
    "emulator",
    "fsio",
    "http",
    "config",
    "entra",
    "scim",
];

#[test]
fn the_binary_uses_only_lower_layers() {
    let layers: Vec<(u32, Vec<String>)> = table_after("<!-- layers of the binary -->")
        .into_iter()
        .map(|(n, names, _)| (n, names))
        .collect();
    let modules: Vec<(u32, Vec<String>)> = layers
        .iter()
        .flat_map(|(n, names)| {
            names
                .iter()
                .map(move |m| (*n, m.split("::").map(str::to_string).collect()))
        })
        .collect();
    // The module of the table a path falls in (the longest prefix), or layer 0 for the crates.
    let layer_of = |path: &[String]| -> Option<(u32, String)> {
        modules
            .iter()
            .filter(|(_, m)| path.starts_with(m))
            .max_by_key(|(_, m)| m.len())
            .map(|(n, m)| (*n, m.join("::")))
            .or_else(|| {
                path.first()
                    .filter(|p| CRATES_BELOW.contains(&p.as_str()))
                    .map(|_| (0, "the crates".to_string()))
            })
    };

    let mut files = Vec::new();
    rust_files(Path::new("src"), &mut files);
    let mut problems = Vec::new();
    let mut edges = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let code = code_only(&text);
        let module = module_of(file);
        let Some((layer, name)) = layer_of(&module).filter(|(n, _)| *n > 0) else {
            // Only the façades that name where the core's parts are may sit outside the table.
            assert!(
                !code.contains("fn "),
                "{} is in no layer of ARCHITECTURE.md's table, yet holds code",
                file.display()
            );
            continue;
        };
        for (here, path) in paths_in(&code, &module) {
            let own: Vec<String> = name.split("::").map(str::to_string).collect();
            if path.is_empty() || path.starts_with(&own) || path.starts_with(&here) {
                continue; // its own module (`super::*` of a test module, `crate::ops::..` in ops)
            }
            let Some((to_layer, to)) = layer_of(&path) else {
                problems.push(format!(
                    "{} names `{}`, which is in no layer of ARCHITECTURE.md's table",
                    file.display(),
                    path.join("::")
                ));
                continue;
            };
            edges += 1;
            if to != name && to_layer >= layer {
                problems.push(format!(
                    "{} (layer {layer}, `{name}`) names `{}` (layer {to_layer}, `{to}`): \
                     a module may use only lower layers",
                    file.display(),
                    path.join("::")
                ));
            }
        }
    }
    assert!(edges > 100, "only {edges} paths found: the scan is broken");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_scan_finds_paths_in_use_trees_and_ignores_comments_and_strings() {
    let code = code_only(
        "use crate::{ops::{self, Notes}, output::say};\n\
         // use crate::commands;\n\
         /* crate::cli */ let s = \"crate::main\"; let c = '{';\n\
         mod tests { use super::*; fn f() { super::super::apply::run(); } }\n\
         fn g() -> crate::plan::Plan { roster::entra::read::x() }",
    );
    let found: Vec<String> = paths_in(&code, &["ops".to_string(), "pipeline".to_string()])
        .into_iter()
        .map(|(here, p)| format!("{}>{}", here.join("::"), p.join("::")))
        .collect();
    assert_eq!(
        found,
        [
            "ops::pipeline>ops",
            "ops::pipeline>ops::Notes",
            "ops::pipeline>output::say",
            "ops::pipeline::tests>ops::pipeline::*",
            "ops::pipeline::tests>ops::apply::run",
            "ops::pipeline>plan::Plan",
            "ops::pipeline>entra::read::x",
        ]
    );
}

/// The `[dependencies]` of a crate's Cargo.toml, by name.
fn dependencies(manifest: &str) -> Vec<String> {
    let text = std::fs::read_to_string(manifest).unwrap();
    let mut deps = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            inside = line == "[dependencies]";
        } else if inside
            && !line.starts_with('#')
            && let Some((name, _)) = line.split_once('=')
        {
            deps.push(name.trim().to_string());
        }
    }
    deps
}

#[test]
fn the_crates_depend_only_downward_and_the_core_cannot_do_io() {
    // ARCHITECTURE.md's crate table: each crate and the roster crates it may depend on.
    let table = table_after("<!-- crates -->");
    let io = [
        "tokio",
        "reqwest",
        "hyper",
        "hyper-util",
        "http-body-util",
        "socket2",
        "rustls",
        "libc",
        "walkdir",
        "ignore",
        "tempfile",
    ];
    let mut seen = 0;
    for (_, names, may_use) in &table {
        let krate = &names[0];
        let allowed: Vec<&str> = may_use
            .split('`')
            .skip(1)
            .step_by(2)
            .filter(|n| n.starts_with("roster"))
            .collect();
        let manifest = if krate == "roster" {
            "Cargo.toml".to_string()
        } else {
            format!("crates/{krate}/Cargo.toml")
        };
        let deps = dependencies(&manifest);
        assert!(!deps.is_empty(), "{manifest} has dependencies");
        for dep in deps.iter().filter(|d| d.starts_with("roster")) {
            assert!(
                allowed.contains(&dep.as_str()),
                "{krate} depends on {dep}, which ARCHITECTURE.md does not allow"
            );
        }
        if krate == "roster-core" {
            for dep in &deps {
                assert!(
                    !io.contains(&dep.as_str()),
                    "roster-core depends on {dep}: the core does no IO"
                );
            }
        }
        seen += 1;
    }
    let on_disk = std::fs::read_dir("crates").unwrap().count();
    assert_eq!(
        seen,
        on_disk + 1,
        "every crate is in ARCHITECTURE.md's table"
    );
}
