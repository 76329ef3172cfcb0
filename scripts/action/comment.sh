#!/usr/bin/env bash
# comment.sh REPORT MARKER MODE: keeps one comment with REPORT on the pull request this run is
# for. MODE update edits the comment that starts with MARKER (roster's Markdown starts with
# <!-- roster-plan --> or <!-- roster-drift -->), or posts one if there is none; MODE new
# always posts. A report longer than a comment may be (65,536 characters) is cut, with a
# pointer to the run's job summary and artifacts. Outside a pull request it does nothing.
#
# Environment:
#   ROSTER_ACTION_GITHUB_TOKEN  the token (default: GITHUB_TOKEN); needs pull-requests: write
#   ROSTER_ACTION_PR            the pull request's number (default: read from GITHUB_EVENT_PATH)
#   GITHUB_API_URL, GITHUB_REPOSITORY, GITHUB_EVENT_PATH, GITHUB_SERVER_URL, GITHUB_RUN_ID
#                               as on a runner (GITHUB_API_URL: https, or http to loopback)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/action/lib.sh
. "$here/lib.sh"

# GitHub refuses a comment body over 65,536 characters; bytes are at least as many.
COMMENT_LIMIT=65000

report=${1:?usage: comment.sh REPORT MARKER update|new}
marker=${2:?usage: comment.sh REPORT MARKER update|new}
mode=${3:-update}

pr=${ROSTER_ACTION_PR:-}
if [ -z "$pr" ] && [ -n "${GITHUB_EVENT_PATH:-}" ] && [ -f "$GITHUB_EVENT_PATH" ]; then
  pr=$(jq -r '.pull_request.number // empty' "$GITHUB_EVENT_PATH")
fi
if [ -z "$pr" ]; then
  notice "not a pull request run: no comment posted"
  exit 0
fi
case "$pr" in
  *[!0-9]*) die "pull request number '$pr' is not a number" ;;
esac
repo=${GITHUB_REPOSITORY:?GITHUB_REPOSITORY is not set: which repository is the pull request in?}
token=${ROSTER_ACTION_GITHUB_TOKEN:-${GITHUB_TOKEN:-}}
[ -n "$token" ] || die "no token to comment with: give the action github-token (default github.token) with pull-requests: write, or comment: off"
api=${GITHUB_API_URL:-https://api.github.com}
api=${api%/}
case "$api" in
  https://*) proto='=https' ;;
  http://127.*|http://localhost:*|http://\[::1\]*) proto='=http' ;;
  *) die "GITHUB_API_URL '$api' is neither https nor http to a loopback address" ;;
esac

scratch=$(mktemp -d "${RUNNER_TEMP:-${TMPDIR:-/tmp}}/roster-comment.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
# The token goes to curl in a header file, never on its command line.
(
  umask 077
  printf 'Authorization: Bearer %s\n' "$token" >"$scratch/auth"
)

# request METHOD PATH [BODY_FILE]: the response body in $scratch/response; fails on non-2xx.
request() {
  local status
  local body=()
  if [ $# -ge 3 ]; then
    body=(--header 'Content-Type: application/json' --data-binary "@$3")
  fi
  status=$(curl --silent --show-error --proto "$proto" --max-time 60 --retry 2 \
    --request "$1" --header "@$scratch/auth" \
    --header 'Accept: application/vnd.github+json' --header 'X-GitHub-Api-Version: 2022-11-28' \
    ${body[@]+"${body[@]}"} --output "$scratch/response" --write-out '%{http_code}' "$api$2") ||
    die "could not reach $api for $1 $2"
  case "$status" in
    2??) ;;
    *)
      error "GitHub answered $status to $1 $2: $(head -c 300 "$scratch/response" | tr -d '\r\n')"
      return 1
      ;;
  esac
}

# The body: the report under its marker, cut to fit with a pointer to the whole of it.
{
  if [ "$(head -n 1 "$report")" != "$marker" ]; then
    printf '%s\n' "$marker"
  fi
  cat "$report"
} >"$scratch/report.md"
cut_markdown "$scratch/report.md" "$COMMENT_LIMIT" \
  "**Cut here to fit a pull-request comment.** The whole report is in the [job summary]($(run_url)) of this run, and the saved plan in its artifacts (\`roster show FILE\` renders it)." \
  >"$scratch/body.md"
jq -n --rawfile body "$scratch/body.md" '{ body: $body }' >"$scratch/body.json"

existing=
if [ "$mode" = update ]; then
  page=1
  while [ -z "$existing" ]; do
    request GET "/repos/$repo/issues/$pr/comments?per_page=100&page=$page" ||
      die "could not list the comments of pull request #$pr"
    existing=$(jq -r --arg m "$marker" \
      '[.[] | select((.body // "") | startswith($m))][0].id // empty' "$scratch/response")
    [ "$(jq 'length' "$scratch/response")" -ge 100 ] || break
    page=$((page + 1))
  done
fi

if [ -n "$existing" ]; then
  request PATCH "/repos/$repo/issues/comments/$existing" "$scratch/body.json" ||
    die "could not update comment $existing on pull request #$pr (the token needs pull-requests: write)"
  notice "updated the roster comment on pull request #$pr"
else
  request POST "/repos/$repo/issues/$pr/comments" "$scratch/body.json" ||
    die "could not comment on pull request #$pr (the token needs pull-requests: write)"
  notice "posted the roster comment on pull request #$pr"
fi
