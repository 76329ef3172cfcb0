#!/usr/bin/env bash
# Runs scim2-tester, a SCIM compliance checker written by others (PyPI), against
# `roster emulator`. Every check must pass, be skipped, or fail in a way docs/emulator.md lists
# as deliberate Asana behaviour (between its scim2-tester markers); otherwise this exits 1.
#
# Usage: scripts/scim2-tester.sh        (needs python3 with venv, and cargo)
# Env:   SCIM2_TESTER_VERSION (default 0.5.2), CARGO_TARGET_DIR
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
venv=$target/scim2-tester-venv
version=${SCIM2_TESTER_VERSION:-0.5.2}

if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
# The httpx2 extra is the HTTP engine scim2-client needs to reach a real server.
"$venv/bin/pip" install --quiet --disable-pip-version-check "scim2-tester[httpx2]==$version"

(cd "$root" && CARGO_TARGET_DIR=$target nice -n 10 cargo build --quiet --bin roster)

work=$(mktemp -d)
token="scim2-tester-$$"
"$target/debug/roster" emulator --port 0 --token "$token" >"$work/stdout" 2>"$work/stderr" &
pid=$!
cleanup() {
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# The first stdout line is `listening on URL`.
line=""
for _ in $(seq 1 200); do
  line=$(grep -m1 '^listening on ' "$work/stdout" || true)
  [ -n "$line" ] && break
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "roster emulator exited early:" >&2
    cat "$work/stderr" >&2
    exit 1
  fi
  sleep 0.1
done
if [ -z "$line" ]; then
  echo "roster emulator printed no URL within 20 s" >&2
  exit 1
fi
url=${line#listening on }
echo "scim2-tester $version against $url"

"$venv/bin/python" "$root/scripts/scim2_tester_run.py" "$url" "$token" "$root/docs/emulator.md"
