#!/usr/bin/env bash
# Interoperability suite (docs/interop.md): roster's whole lifecycle, through the real binary,
# against scim2-server -- a SCIM 2.0 server written by others, installed here from PyPI into a
# virtual environment under target/ -- and against roster's own Asana emulator, on identical
# work (tests/interop.rs).
#
# Two scim2-server processes are started on 127.0.0.1, each with a bearer token (scim2-server's
# own --bearer-token option: requests without it get 401):
#   - one advertising everything (PATCH, filter, ETags, pages of up to 1,000);
#   - one whose /ServiceProviderConfig advertises no PATCH, no filter and pages of 3, which
#     scim2-server then enforces (501 for PATCH and filters), so roster must use PUT, read
#     lists instead of filtering, and page.
# Then `cargo test --test interop -- --include-ignored` runs the lifecycle against both and
# against the emulator. A server that does not come up, a missing variable or a test that did
# not run fails this script.
#
# Usage: scripts/interop.sh        (needs python3 with venv, and cargo)
# Env:   SCIM2_SERVER_VERSION (default 0.8.3), CARGO_TARGET_DIR
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
venv=$target/scim2-server-venv
version=${SCIM2_SERVER_VERSION:-0.8.3}
started=$SECONDS

if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check "scim2-server==$version"
echo "scim2-server $("$venv/bin/pip" show scim2-server | sed -n 's/^Version: //p') in $venv"

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in ${pids[@]+"${pids[@]}"}; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

token="interop-$$-$RANDOM$RANDOM"

# What the restricted server advertises. scim2-server refuses what it does not advertise.
cat >"$work/restricted.json" <<'EOF'
{
  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
  "patch": {"supported": false},
  "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
  "filter": {"supported": false, "maxResults": 3},
  "changePassword": {"supported": false},
  "sort": {"supported": false},
  "etag": {"supported": true}
}
EOF

# start NAME [scim2-server options...]: starts a server on a free loopback port and sets $url.
# scim2-server prints the port it was given, not the one it bound, so the port is chosen here;
# another process may take it in between, so a failed start is tried again on another port.
start() {
  local name=$1
  shift
  local log="$work/$name.log"
  for _ in 1 2 3; do
    local port
    port=$("$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
    "$venv/bin/scim2-server" --hostname 127.0.0.1 --port "$port" --bearer-token "$token" "$@" >"$log" 2>&1 &
    local pid=$!
    # It prints `Serving SCIM on URL` once its socket is listening.
    for _ in $(seq 1 100); do
      if grep -q '^Serving SCIM on ' "$log"; then
        pids+=("$pid")
        url="http://127.0.0.1:$port/v2"
        echo "$name: $url (pid $pid)"
        return 0
      fi
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  echo "error: scim2-server ($name) did not start:" >&2
  cat "$log" >&2
  exit 1
}

start full
full_url=$url
start restricted --service-provider-config "$work/restricted.json"
restricted_url=$url

# The servers answer with the token and refuse without it, or the suite is not testing anything.
"$venv/bin/python" - "$full_url" "$token" <<'EOF'
import sys, urllib.request, urllib.error
url, token = sys.argv[1], sys.argv[2]
def status(headers):
    request = urllib.request.Request(url + "/Users", headers=headers)
    try:
        return urllib.request.urlopen(request, timeout=10).status
    except urllib.error.HTTPError as e:
        return e.code
ok, refused = status({"Authorization": "Bearer " + token}), status({})
if (ok, refused) != (200, 401):
    sys.exit(f"scim2-server answered {ok} with the token and {refused} without it")
EOF

log="$work/cargo-test.log"
set +e
(cd "$root" && CARGO_TARGET_DIR=$target \
  ROSTER_INTEROP_SCIM2_URL=$full_url \
  ROSTER_INTEROP_SCIM2_RESTRICTED_URL=$restricted_url \
  ROSTER_INTEROP_SCIM2_TOKEN=$token \
  nice -n 10 cargo test --locked --test interop -- --include-ignored 2>&1) | tee "$log"
status=${PIPESTATUS[0]}
set -e
if [ "$status" -ne 0 ]; then
  echo "error: the interoperability suite failed (server logs follow)" >&2
  tail -n 40 "$work"/full.log "$work"/restricted.log >&2
  exit 1
fi
# Three lifecycles, none skipped: the emulator's and both scim2-servers'.
if ! grep -q '^test result: ok. 3 passed; 0 failed; 0 ignored' "$log"; then
  echo "error: expected 3 lifecycles to pass (Asana emulator, scim2-server, scim2-server without PATCH or filter)" >&2
  exit 1
fi
echo "interop: 3 lifecycles passed (Asana emulator, scim2-server $version, scim2-server without PATCH or filter) in $((SECONDS - started)) s"
