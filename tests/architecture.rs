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
            "src/diagnostics.rs",
            "src/scim/path.rs",
        ],
        &["config/load.rs"],
    );
}

#[test]
fn validate_never_touches_the_network() {
    // The validate command and everything it calls live in modules without network code.
    let text = std::fs::read_to_string("src/commands/validate.rs").unwrap();
    for word in ["reqwest", "tokio", "TcpStream", "scim::client"] {
        assert!(!text.contains(word), "validate names `{word}`");
    }
}
