//! Keeps ARCHITECTURE.md's invariants true: the pure parts do no IO.

use std::path::Path;

/// Words that mean IO (network, environment, clock, files). A pure module must not name them.
const IO: &[&str] = &[
    "reqwest",
    "tokio",
    "hyper",
    "TcpStream",
    "UdpSocket",
    "std::env",
    "env::var",
    "SystemTime",
    "Instant::now",
    "std::fs",
    "fs::read",
    "fs::write",
    "File::open",
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

fn assert_pure(paths: &[&str], except: &[&str]) {
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
        if except.iter().any(|e| f.ends_with(e)) {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap();
        for word in IO {
            assert!(
                !text.contains(word),
                "{} names `{word}`: this part must not do IO",
                f.display()
            );
        }
    }
}

#[test]
fn validation_mapping_planning_and_diagnostics_do_no_io() {
    // config/load.rs is the one place that reads the config directory.
    assert_pure(
        &[
            "src/config",
            "src/mapping",
            "src/expr",
            "src/names.rs",
            "src/plan",
            "src/wire",
            "src/render",
            "src/import",
            "src/diagnostics.rs",
            "src/scim/path.rs",
        ],
        &["config/load.rs"],
    );
}

#[test]
fn the_client_decides_retries_and_paging_without_io() {
    // The HTTP adapter (src/http) sleeps and sends; what it decides comes from these pure
    // modules (the retry decision, the pacing arithmetic, redaction, the URL rules), and the
    // SCIM client's paging, parsing and features are pure too.
    assert_pure(
        &[
            "src/retry.rs",
            "src/pacing.rs",
            "src/redact.rs",
            "src/urls.rs",
            "src/scim/client/paging.rs",
            "src/scim/client/features.rs",
            "src/scim/client/resource.rs",
            "src/http/stats.rs",
        ],
        &[],
    );
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
fn the_entra_source_decides_without_io() {
    // graph.rs and read.rs talk to Graph and keep the delta state; emulator/ serves. The rest
    // of src/entra decides scope, merges and writes YAML text without touching anything.
    assert_pure(
        &[
            "src/entra/cloud.rs",
            "src/entra/filter.rs",
            "src/entra/directory.rs",
            "src/entra/scope.rs",
            "src/entra/merge.rs",
            "src/entra/import.rs",
        ],
        &[],
    );
}

#[test]
fn the_graph_client_only_reads() {
    // Graph is read with GET; the one POST is the token request to the login host, which the
    // HTTP adapter's OAuth sign-in sends (src/http/auth.rs).
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
    let auth = std::fs::read_to_string("src/http/auth.rs").unwrap();
    assert_eq!(
        auth.matches("Method::").count(),
        1,
        "only the token request"
    );
    assert!(auth.contains("Request::new(Method::Post, grant.token_url.clone())"));
}
