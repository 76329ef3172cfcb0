#!/usr/bin/env bash
# Profiles the 100,000-user plan (benches/plan.rs) with perf's sampling profiler and prints
# where roster's own CPU time goes, by function, with and without callees.
#
# perf is installed from Debian's packages when missing (`linux-perf`). It samples on the
# software clock (`cpu-clock`), which works where hardware counters are not available (as in
# most containers); it needs kernel.perf_event_paranoid <= 2 for a process of one's own, which
# is the default. Call stacks are unwound from DWARF (`--call-graph dwarf`, from the unwind
# tables every Rust binary has); functions are named from the bench build's symbol table, so
# inlined functions count as their callers.
#
# Only the profiled process's samples are reported, every thread of it: the emulator runs as a
# child process and its samples (and git's) are left out. The phases' CPU figures are the
# bench's own output (getrusage). perf script's DWARF unwinding takes a few minutes.
# The folded stacks (target/profile/folded.txt) are flamegraph input for inferno or
# flamegraph.pl, neither of which this script needs.
#
# Usage: scripts/profile.sh [--changed-since]   (perf.data and reports land in target/profile/)
#   --changed-since   profiles the `roster plan --changed-since` run of the bench instead
#                     (ROSTER_BENCH_CHANGED_ONLY=1), the binary's process only
# Env:   PROFILE_FREQ (samples a second, default 499)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=${CARGO_TARGET_DIR:-$root/target}/profile
mkdir -p "$out"
freq=${PROFILE_FREQ:-499}
mode=${1:-plan}

if ! command -v perf >/dev/null || ! perf --version >/dev/null 2>&1; then
  apt-get update -qq
  apt-get install -y -qq linux-perf >/dev/null
fi

cd "$root"
bench=$(cargo bench --bench plan --no-run --message-format=json 2>/dev/null |
  python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "plan" and m.get("executable"):
        print(m["executable"])')
[ -x "$bench" ] || { echo "no bench executable" >&2; exit 1; }

data=$out/perf.data
record() { perf record -F "$freq" -e cpu-clock --call-graph dwarf,16384 -o "$data" -- "$@"; }
if [ "$mode" = "--changed-since" ]; then
  # The bench runs `roster plan --changed-since` as a child, three times; the last is reported.
  ROSTER_BENCH_CHANGED_ONLY=1 record "$bench" | tee "$out/bench.txt"
  pid=$(grep -o 'roster plan pid [0-9]*' "$out/bench.txt" | awk '{print $4}' | tail -n 1)
else
  record "$bench" | tee "$out/bench.txt"
  pid=$(perf script -i "$data" -F comm,pid 2>/dev/null | awk '$1 ~ /^plan-/ { print $2; exit }')
fi
[ -n "$pid" ] || { echo "could not find the profiled process in $data" >&2; exit 1; }

# Folded stacks (one line per stack, root first, then the sample count) of every thread of
# the profiled process; the emulator's and git's samples are left out. flamegraph.pl or
# inferno-flamegraph draw them, if installed.
perf script -i "$data" -F comm,pid,tid,ip,sym 2>/dev/null | python3 -c '
import collections, re, sys
pid = sys.argv[1]
out = collections.Counter()
stack, keep = [], False
for line in sys.stdin:
    line = line.rstrip("\n")
    if not line:
        if keep and stack:
            out[";".join(reversed(stack))] += 1
        stack, keep = [], False
    elif not line[0].isspace():
        m = re.match(r"\S.*?\s+(\d+)/(\d+)", line)
        keep = bool(m) and m.group(1) == pid
    else:
        parts = line.strip().split(" ", 1)
        if len(parts) == 2:
            stack.append(re.sub(r"\+0x[0-9a-f]+$", "", parts[1].rsplit(" (", 1)[0]))
for k, v in out.items():
    print(k, v)
' "$pid" >"$out/folded.txt"

# Inclusive share of the functions that matter, and the top self time.
python3 - "$out/folded.txt" <<'PY'
import collections, re, sys
def short(s):
    for _ in range(4):
        s = re.sub(r"<[^<>]*>", "", s)
    return s[:120]
stacks = [(l.rsplit(" ", 1)[0].split(";"), int(l.rsplit(" ", 1)[1])) for l in open(sys.argv[1])]
total = sum(n for _, n in stacks)
print(f"{total} samples of the profiled process")
incl, own = collections.Counter(), collections.Counter()
for frames, n in stacks:
    for f in set(short(f) for f in frames):
        incl[f] += n
    own[short(frames[-1])] += n
print("\n== inclusive (the function and what it calls), top 45")
for f, n in incl.most_common(45):
    print(f"{100 * n / total:6.2f}%  {f}")
print("\n== self, top 30")
for f, n in own.most_common(30):
    print(f"{100 * n / total:6.2f}%  {f}")
PY
