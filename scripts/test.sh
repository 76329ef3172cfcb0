#!/usr/bin/env bash
# The whole test suite, as the README gives it and CI runs it (.ci/run calls exactly this).
# Installs nothing globally; everything it needs comes with the Rust toolchain and Debian's
# base system (prlimit from util-linux bounds memory in the hostile-input tests).
set -euo pipefail
cd "$(dirname "$0")/.."

rustup component add rustfmt clippy >/dev/null 2>&1 || true

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy --all-targets -D warnings"
cargo clippy --locked --all-targets -- -D warnings
echo "== cargo test"
cargo test --locked
