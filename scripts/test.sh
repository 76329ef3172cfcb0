#!/usr/bin/env bash
# The whole test suite, as the README gives it and CI runs it (.ci/run calls exactly this).
# Installs nothing globally: the Rust toolchain and Debian's base system (prlimit from
# util-linux bounds memory in the hostile-input tests) are all it assumes; scim2-tester,
# scim2-server, actionlint and shellcheck are installed from PyPI into virtual environments
# under target/ by scripts/scim2-tester.sh, scripts/interop.sh, scripts/actionlint.sh and
# scripts/shellcheck.sh. (cargo-dist is not: compiling it takes about 20 minutes on 2 cores;
# pull requests run `dist plan` on GitHub instead, .github/workflows/release.yml.)
set -euo pipefail
cd "$(dirname "$0")/.."

rustup component add rustfmt clippy >/dev/null 2>&1 || true

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy --all-targets -D warnings"
cargo clippy --locked --workspace --all-targets -- -D warnings
echo "== cargo test"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --locked --workspace 2>&1 | tee "$log"
echo "== actionlint on every shipped GitHub workflow"
bash scripts/actionlint.sh
echo "== shellcheck on every script (the GitHub Action's among them) and the workflows' run: blocks"
bash scripts/shellcheck.sh
echo "== scim2-tester (a third-party SCIM compliance checker from PyPI) against roster emulator"
bash scripts/scim2-tester.sh
echo "== interoperability: roster's lifecycle against scim2-server (PyPI) and the Asana emulator"
bash scripts/interop.sh
# One closing line for the whole suite (cargo prints one per test binary, the last being the
# doc-tests, which would read as "no test ran").
awk '/^test result:/ { p += $4; f += $6; i += $8 } END { printf "tests: %d passed, %d failed, %d skipped\n", p, f, i }' "$log"
