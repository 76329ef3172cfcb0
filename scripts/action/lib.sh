# shellcheck shell=bash
# What the action's scripts share: messages in GitHub's workflow-command form, step outputs,
# SHA-256 with whichever tool the runner has, and cutting Markdown to a size limit without
# leaving a code fence or a <details> block open. Sourced, never run.

# An error the runner shows as an annotation; the caller exits.
error() {
  printf '::error title=roster::%s\n' "$*" >&2
}

warning() {
  printf '::warning title=roster::%s\n' "$*" >&2
}

notice() {
  printf '%s\n' "$*" >&2
}

die() {
  error "$*"
  exit 1
}

# set_output NAME VALUE: a step output (GITHUB_OUTPUT), also echoed to the log.
set_output() {
  printf '%s=%s\n' "$1" "$2" >&2
  if [ -n "${GITHUB_OUTPUT:-}" ]; then
    printf '%s=%s\n' "$1" "$2" >>"$GITHUB_OUTPUT"
  fi
}

# sha256_of FILE: the lowercase hex SHA-256 of FILE (sha256sum on Linux and Git Bash, shasum
# on macOS, openssl elsewhere).
sha256_of() {
  local sum
  if command -v sha256sum >/dev/null 2>&1; then
    sum=$(sha256sum "$1")
  elif command -v shasum >/dev/null 2>&1; then
    sum=$(shasum -a 256 "$1")
  elif command -v openssl >/dev/null 2>&1; then
    sum=$(openssl dgst -sha256 -r "$1")
  else
    die "no SHA-256 tool on this runner (sha256sum, shasum or openssl): cannot verify the download"
  fi
  sum=${sum%% *}
  printf '%s\n' "$sum" | tr 'A-F' 'a-f'
}

# cut_markdown FILE LIMIT FOOTER: FILE as it is when it has at most LIMIT bytes; otherwise its
# first whole lines, a closing fence and </details> for any left open, and FOOTER, together at
# most LIMIT bytes. Bytes, not characters, so the result fits a limit counted in either.
cut_markdown() {
  local file=$1 limit=$2 footer=$3 size
  size=$(wc -c <"$file")
  if [ "$size" -le "$limit" ]; then
    cat "$file"
    return
  fi
  # Room for the footer, a closing fence and a few </details>.
  local budget=$((limit - ${#footer} - 256))
  LC_ALL=C awk -v budget="$budget" '
    {
      n = length($0) + 1
      if (used + n > budget) exit
      used += n
      print
      if ($0 ~ /^[ \t]*```/) fence = !fence
      opens += gsub(/<details[ >]/, "&")
      closes += gsub(/<\/details>/, "&")
    }
    END {
      if (fence) print "```"
      for (i = closes; i < opens && i < closes + 8; i++) print "</details>"
    }' "$file"
  printf '\n%s\n' "$footer"
}

# The URL of this workflow run, for pointers from a comment to the job summary.
run_url() {
  printf '%s/%s/actions/runs/%s' "${GITHUB_SERVER_URL:-https://github.com}" \
    "${GITHUB_REPOSITORY:-}" "${GITHUB_RUN_ID:-}"
}
