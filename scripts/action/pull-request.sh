#!/usr/bin/env bash
# Keeps one pull request open with what a step changed in the declarations (the config
# directory's users/ and groups/): the drift workflow's `roster import asana --update`
# ("Codify drift from Asana", branch roster/drift) and the Entra sync's `roster import entra`
# ("Changes from Entra", branch roster/entra). The action runs it for `command: pull-request`.
#
# - Nothing changed under users/ or groups/ (against the commit checked out): it pushes
#   nothing and calls gh not at all.
# - Otherwise it commits the changed declarations, and only those (never roster.yaml,
#   .github/, .roster/ or anything else a step left in the workspace), on top of the commit
#   checked out, as the bot, without touching the work tree or the index; and force-pushes the
#   commit to BRANCH, which the workflow owns (a lease on what was there, so a push made
#   meanwhile is not overwritten). The commit's dates are those of the commit it is built on, so
#   the same changes on the same base are the same commit, which is not pushed again.
# - It opens the pull request from BRANCH if none is open, or edits the open one in place
#   (title and body), when the branch moved or the body changed.
# - The body is cut under GitHub's limit (65,536 characters) with a pointer to the run's job
#   summary.
#
# Environment (the action maps its inputs to these):
#   ROSTER_ACTION_PR_BRANCH     the branch (required; never the base branch)
#   ROSTER_ACTION_PR_TITLE      the pull request's title and the commit's subject (required)
#   ROSTER_ACTION_PR_BODY_FILE  a Markdown file: the pull request's body (required)
#   ROSTER_ACTION_CONFIG_DIR    the config directory (default: .), inside a git work tree
#   ROSTER_ACTION_PR_BASE       the branch the pull request goes into (default: the branch
#                               checked out, on a schedule the default branch)
#   ROSTER_ACTION_GITHUB_TOKEN  gh's token (GH_TOKEN); needs pull-requests: write. The push
#                               goes with the credentials the checkout left for origin.
#   ROSTER_ACTION_GH            the gh binary (default: gh on PATH)
#   GITHUB_REPOSITORY, GITHUB_SERVER_URL, GITHUB_RUN_ID  as on a runner
# Outputs: changes (true when declarations changed), pushed, pull-request (its number),
# pull-request-url.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/action/lib.sh
. "$here/lib.sh"

# GitHub refuses a body over 65,536 characters; bytes are at least as many.
BODY_LIMIT=65000
# The identity of GitHub's own Actions bot, which GitHub shows with its avatar.
BOT_NAME='github-actions[bot]'
BOT_EMAIL='41898283+github-actions[bot]@users.noreply.github.com'

branch=${ROSTER_ACTION_PR_BRANCH:-}
title=${ROSTER_ACTION_PR_TITLE:-}
body_file=${ROSTER_ACTION_PR_BODY_FILE:-}
config_dir=${ROSTER_ACTION_CONFIG_DIR:-.}
gh=${ROSTER_ACTION_GH:-gh}
[ -n "$branch" ] || die "branch is empty: the branch the pull request is made from (for example roster/drift)"
[ -n "$title" ] || die "title is empty: the pull request's title"
[ -n "$body_file" ] || die "body-file is empty: a Markdown file with the pull request's body"
[ -f "$body_file" ] || die "body-file $body_file does not exist"
git check-ref-format --branch "$branch" >/dev/null 2>&1 || die "branch '$branch' is not a valid branch name"
[ -d "$config_dir" ] || die "config-dir $config_dir is not a directory"

root=$(git -C "$config_dir" rev-parse --show-toplevel 2>/dev/null) ||
  die "config-dir $config_dir is not in a git work tree: check the repository out first"
prefix=$(git -C "$config_dir" rev-parse --show-prefix)
cd "$root"
base=${ROSTER_ACTION_PR_BASE:-$(git symbolic-ref --quiet --short HEAD || true)}
[ -n "$base" ] || die "HEAD is detached: give the base branch (ROSTER_ACTION_PR_BASE)"
[ "$base" != "$branch" ] || die "branch '$branch' is the base branch: the pull request needs a branch of its own"
head=$(git rev-parse --verify 'HEAD^{commit}')

scratch=$(mktemp -d "${RUNNER_TEMP:-${TMPDIR:-/tmp}}/roster-pr.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

# The declarations as the work tree has them, in a tree of their own: a private index starts
# from HEAD and takes every change under users/ and groups/ (new, edited and deleted files).
paths=()
for p in "${prefix}users" "${prefix}groups"; do
  # A path in neither the work tree nor HEAD would be an error to git add.
  if [ -e "$p" ] || [ -n "$(git ls-tree HEAD -- "$p")" ]; then
    paths+=("$p")
  fi
done
tree=$(git rev-parse 'HEAD^{tree}')
if [ ${#paths[@]} -gt 0 ]; then
  tree=$(
    export GIT_INDEX_FILE="$scratch/index"
    git read-tree HEAD && git add --all -- "${paths[@]}" && git write-tree
  ) || die "could not collect the changed declarations with git"
fi
if [ "$tree" = "$(git rev-parse 'HEAD^{tree}')" ]; then
  notice "no declaration under ${prefix:-./}users/ or ${prefix:-./}groups/ changed: no pull request opened or updated"
  set_output changes false
  set_output pushed false
  exit 0
fi
set_output changes true
git diff --stat "$head" "$tree" -- >&2

# The same changes on the same base give the same commit: its dates are the base's.
date=$(git log -1 --format=%cI "$head")
printf '%s\n\nWritten by the workflow "%s".\n' "$title" "${GITHUB_WORKFLOW:-roster}" >"$scratch/message"
commit=$(GIT_AUTHOR_NAME=$BOT_NAME GIT_AUTHOR_EMAIL=$BOT_EMAIL GIT_AUTHOR_DATE=$date \
  GIT_COMMITTER_NAME=$BOT_NAME GIT_COMMITTER_EMAIL=$BOT_EMAIL GIT_COMMITTER_DATE=$date \
  git commit-tree "$tree" -p "$head" -F "$scratch/message")

remote=$(git ls-remote --heads origin "refs/heads/$branch") ||
  die "could not read origin's branches (git ls-remote origin)"
remote=${remote%%[[:space:]]*}
if [ "$remote" = "$commit" ]; then
  pushed=false
  notice "$branch already holds these changes on $base ($commit): not pushed"
else
  # The lease: push only over what ls-remote saw (nothing, for a new branch).
  git push --quiet --force-with-lease="refs/heads/$branch:$remote" origin "$commit:refs/heads/$branch" ||
    die "could not push $branch to origin (the checkout's token needs contents: write)"
  pushed=true
  notice "pushed $commit to $branch"
fi
set_output pushed "$pushed"

# The body, cut to fit with a pointer to the whole of it.
cut_markdown "$body_file" "$BODY_LIMIT" \
  "**Cut here to fit a pull-request description.** The whole report is in the [job summary]($(run_url)) of this run." \
  >"$scratch/body.md"

# gh reads its token from GH_TOKEN; nothing else here holds it.
export GH_TOKEN=${ROSTER_ACTION_GITHUB_TOKEN:-${GH_TOKEN:-${GITHUB_TOKEN:-}}}
unset ROSTER_ACTION_GITHUB_TOKEN
repo=()
if [ -n "${GITHUB_REPOSITORY:-}" ]; then
  repo=(--repo "$GITHUB_REPOSITORY")
fi
"$gh" pr list ${repo[@]+"${repo[@]}"} --head "$branch" --base "$base" --state open \
  --json number,url,title,body >"$scratch/open.json" ||
  die "could not list the open pull requests from $branch (the token needs pull-requests: write)"
number=$(jq -r '.[0].number // empty' "$scratch/open.json")

if [ -z "$number" ]; then
  "$gh" pr create ${repo[@]+"${repo[@]}"} --base "$base" --head "$branch" --title "$title" \
    --body-file "$scratch/body.md" >"$scratch/created" ||
    die "could not open a pull request from $branch (the token needs pull-requests: write; with github.token, also Settings > Actions > General > Allow GitHub Actions to create and approve pull requests)"
  url=$(tail -n 1 "$scratch/created")
  number=${url##*/}
  case "$number" in
    ''|*[!0-9]*) die "gh pr create answered '$url', not the new pull request's URL" ;;
  esac
  notice "opened pull request #$number: $url"
else
  url=$(jq -r '.[0].url' "$scratch/open.json")
  # GitHub keeps a body's line breaks as it was sent; compare without trailing blank space.
  old_body=$(jq -r '.[0].body // ""' "$scratch/open.json")
  new_body=$(cat "$scratch/body.md")
  old_title=$(jq -r '.[0].title // ""' "$scratch/open.json")
  if [ "$pushed" = true ] || [ "$old_body" != "$new_body" ] || [ "$old_title" != "$title" ]; then
    "$gh" pr edit "$number" ${repo[@]+"${repo[@]}"} --title "$title" --body-file "$scratch/body.md" >/dev/null ||
      die "could not update pull request #$number (the token needs pull-requests: write)"
    notice "updated pull request #$number: $url"
  else
    notice "pull request #$number is up to date: $url"
  fi
fi
set_output pull-request "$number"
set_output pull-request-url "$url"
