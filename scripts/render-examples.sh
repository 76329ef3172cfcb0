#!/usr/bin/env bash
# Regenerates examples/rendered/: the quickstart's Markdown plan and drift report, rendered with
# cmark-gfm and captured with headless Chromium. Needs: apt-get install cmark-gfm chromium.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cargo build --quiet --bin roster
out=examples/rendered
state=examples/quickstart/emulator-state.json
target/debug/roster plan -C examples/quickstart --emulator --emulator-state "$state" --format markdown > "$out/quickstart-plan.md"
set +e
target/debug/roster drift -C examples/quickstart --emulator --emulator-state "$state" --format markdown > "$out/quickstart-drift.md"
[ $? -le 2 ] || exit 1
set -e
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
style='body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:900px;margin:24px auto;font-size:14px;line-height:1.5} table{border-collapse:collapse} td,th{border:1px solid #d0d7de;padding:4px 10px} code,pre{background:#f6f8fa;font-size:12px} pre{padding:12px;overflow:auto} blockquote{border-left:4px solid #d0d7de;margin:0;padding:0 12px;color:#57606a}'
for name in plan drift; do
  {
    printf '<!doctype html><html><head><meta charset="utf-8"><style>%s</style></head><body>' "$style"
    cmark-gfm --unsafe -e table -e autolink -e tagfilter "$out/quickstart-$name.md" | sed 's/<details>/<details open>/g'
    printf '</body></html>'
  } > "$work/$name.html"
  chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$work/profile-$name" --window-size=1000,2400 \
    --screenshot="$out/quickstart-$name.png" "file://$work/$name.html" 2>/dev/null
done
echo "wrote $out/quickstart-plan.{md,png} and $out/quickstart-drift.{md,png}"
