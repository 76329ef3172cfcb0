#!/usr/bin/env bash
# Runs one roster command for the composite action (action.yml) and turns what it says into
# what a workflow uses: the Markdown plan or drift report in the job summary (cut to fit its
# 1 MiB), one pull-request comment kept up to date (comment.sh), and step outputs.
#
# Environment (the action maps its inputs to these; every one but the command is optional):
#   ROSTER_ACTION_COMMAND        plan | apply | drift | validate | show
#   ROSTER_ACTION_BIN            the roster binary (default: roster on PATH)
#   ROSTER_ACTION_CONFIG_DIR     the config directory (default: .)
#   ROSTER_ACTION_CHANGED_SINCE  a git ref: plan (or apply) only what changed since it
#   ROSTER_ACTION_PLAN_FILE      plan: where to save the plan (default roster-plan.json);
#                                apply, show: the saved plan (required)
#   ROSTER_ACTION_REPLAN         apply: true (default) plans again and refuses a plan that no
#                                longer matches (`roster apply PLAN --replan`); false applies as is
#   ROSTER_ACTION_COMMENT        update (default) | new | off: the pull-request comment
#   ROSTER_ACTION_SUMMARY        true (default) | false: the job summary
#   ROSTER_ACTION_FAIL_ON_DRIFT  drift: true fails the step when there is drift (default false)
#   ROSTER_ACTION_ARGS           more flags for roster, split on whitespace
#   ROSTER_ACTION_OUT_DIR        where the report and the JSON plan go (default: a new folder
#                                under RUNNER_TEMP)
# Outputs: exit-code, changes, creates, updates, deprovisions, team-changes, plan-json,
# plan-file, report (the Markdown), report-short (the same cut to fit a comment or an issue). Exits 0 unless roster failed (exit 1), or drift was found with
# fail-on-drift, or a plan file is missing; the output exit-code is roster's own.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/action/lib.sh
. "$here/lib.sh"

# GitHub's step summary takes at most 1 MiB a step; leave room for what the runner adds.
SUMMARY_LIMIT=1000000

command=${ROSTER_ACTION_COMMAND:-}
roster=${ROSTER_ACTION_BIN:-roster}
config_dir=${ROSTER_ACTION_CONFIG_DIR:-.}
changed_since=${ROSTER_ACTION_CHANGED_SINCE:-}
plan_file=${ROSTER_ACTION_PLAN_FILE:-}
replan=${ROSTER_ACTION_REPLAN:-true}
comment=${ROSTER_ACTION_COMMENT:-update}
summary=${ROSTER_ACTION_SUMMARY:-true}
fail_on_drift=${ROSTER_ACTION_FAIL_ON_DRIFT:-false}
# Split on whitespace, never evaluated. (${extra[@]+…} below: bash 3.2 calls an empty array unset.)
read -r -a extra <<<"${ROSTER_ACTION_ARGS:-}" || true

bool() {
  case "$2" in
    true|false) ;;
    *) die "$1 is '$2': true or false" ;;
  esac
}
bool summary "$summary"
bool fail-on-drift "$fail_on_drift"
bool replan "$replan"
case "$comment" in
  update|new|off) ;;
  *) die "comment is '$comment': update, new or off" ;;
esac
# The GitHub token is for comment.sh alone: roster's environment never holds it.
github_token=${ROSTER_ACTION_GITHUB_TOKEN:-}
unset ROSTER_ACTION_GITHUB_TOKEN
command -v jq >/dev/null 2>&1 || die "jq is not on PATH (GitHub's hosted runners have it): the action reads roster's JSON plan with it"

out=${ROSTER_ACTION_OUT_DIR:-}
if [ -z "$out" ]; then
  out=$(mktemp -d "${RUNNER_TEMP:-${TMPDIR:-/tmp}}/roster.XXXXXX")
fi
mkdir -p "$out"
report=$out/report.md
json=$out/plan.json
stderr_log=$out/stderr.log
: >"$report"

# run ARGS...: roster ARGS with stdout into $report and stderr into $stderr_log, which is then
# copied to the log; sets code. (Plain redirections: macOS runners may have bash 3.2.)
run() {
  set +e
  "$roster" "$@" >"$report" 2>"$stderr_log"
  code=$?
  set -e
  cat "$stderr_log" >&2
}

# The JSON plan of a saved plan file and the counts of its changes, as outputs.
plan_outputs() {
  "$roster" show -C "$config_dir" --format json "$1" >"$json"
  count() {
    jq --arg a "$1" '[.changes[] | select(.action == $a)] | length' "$json"
  }
  set_output plan-json "$json"
  set_output creates "$(count create)"
  set_output updates "$(count update)"
  set_output deprovisions "$(count deprovision)"
  set_output team-changes "$(($(count add_members) + $(count remove_members)))"
  set_output changes "$(jq '(.changes | length) > 0' "$json")"
}

# A report for a run that failed: what roster said on stderr, fenced.
failure_report() {
  {
    printf '%s\n### roster %s failed (exit %s)\n\n' "$1" "$command" "$code"
    printf '````text\n'
    cat "$stderr_log"
    printf '````\n'
  } >"$report"
}

code=0
marker=
case "$command" in
  plan)
    plan_file=${plan_file:-roster-plan.json}
    marker='<!-- roster-plan -->'
    args=(plan -C "$config_dir" --format markdown --out "$plan_file" --detailed-exitcode)
    if [ -n "$changed_since" ]; then
      args+=(--changed-since "$changed_since")
    fi
    run "${args[@]}" ${extra[@]+"${extra[@]}"}
    set_output plan-file "$plan_file"
    if [ "$code" -ne 1 ]; then
      plan_outputs "$plan_file"
    else
      failure_report "$marker"
    fi
    ;;
  show)
    [ -n "$plan_file" ] || die "show needs plan-file: the plan saved by roster plan --out"
    [ -f "$plan_file" ] || die "plan-file $plan_file does not exist"
    marker='<!-- roster-plan -->'
    run show -C "$config_dir" --format markdown "$plan_file" ${extra[@]+"${extra[@]}"}
    set_output plan-file "$plan_file"
    if [ "$code" -eq 0 ]; then
      plan_outputs "$plan_file"
    else
      failure_report "$marker"
    fi
    ;;
  apply)
    [ -n "$plan_file" ] || die "apply needs plan-file: the plan reviewed on the pull request (the action applies only saved plans)"
    [ -f "$plan_file" ] || die "plan-file $plan_file does not exist: download the reviewed plan first"
    # What is about to be applied, as outputs, before anything is sent.
    plan_outputs "$plan_file"
    args=(apply -C "$config_dir" "$plan_file")
    if [ "$replan" = true ]; then
      args+=(--replan)
    fi
    if [ -n "$changed_since" ]; then
      args+=(--changed-since "$changed_since")
    fi
    set +e
    "$roster" "${args[@]}" ${extra[@]+"${extra[@]}"} 2>&1 | tee "$stderr_log"
    code=${PIPESTATUS[0]}
    set -e
    {
      printf '### roster apply (exit %s)\n\n````text\n' "$code"
      cat "$stderr_log"
      printf '````\n'
    } >"$report"
    ;;
  drift)
    marker='<!-- roster-drift -->'
    run drift -C "$config_dir" --format markdown ${extra[@]+"${extra[@]}"}
    case "$code" in
      0) set_output changes false ;;
      2) set_output changes true ;;
      *) failure_report "$marker" ;;
    esac
    ;;
  validate)
    # Annotations (::error file=…) go to stdout, where the runner reads them.
    set +e
    "$roster" validate -C "$config_dir" --format github ${extra[@]+"${extra[@]}"} | tee "$out/annotations.log"
    code=${PIPESTATUS[0]}
    set -e
    problems=$(grep -c '^::error' "$out/annotations.log" || true)
    # shellcheck disable=SC2016 # the backticks are Markdown's
    if [ "$code" -eq 0 ]; then
      printf '### roster validate\n\nThe configuration in `%s` is valid.\n' "$config_dir" >"$report"
    else
      printf '### roster validate\n\n%s problem(s) in `%s`: see the annotations on the changed files.\n' \
        "$problems" "$config_dir" >"$report"
    fi
    ;;
  "") die "command is empty: plan, apply, drift, validate or show" ;;
  *) die "command '$command' is not one of plan, apply, drift, validate, show" ;;
esac

set_output exit-code "$code"
set_output report "$report"
# The same, cut to fit a comment or an issue body (65,536 characters), for a workflow's own use.
cut_markdown "$report" 65000 \
  "**Cut here to fit.** The whole report is in the [job summary]($(run_url)) of this run." \
  >"$out/report-short.md"
set_output report-short "$out/report-short.md"

if [ "$summary" = true ] && [ -n "${GITHUB_STEP_SUMMARY:-}" ] && [ -s "$report" ]; then
  cut_markdown "$report" "$SUMMARY_LIMIT" \
    "*Cut here to fit the job summary's 1 MiB. The whole report: \`roster $command\` (or \`roster show FILE\` on a saved plan).*" \
    >>"$GITHUB_STEP_SUMMARY"
fi

if [ -n "$marker" ] && [ "$comment" != off ]; then
  ROSTER_ACTION_GITHUB_TOKEN=$github_token bash "$here/comment.sh" "$report" "$marker" "$comment"
fi

case "$command:$code" in
  *:1) exit 1 ;;
  drift:2) [ "$fail_on_drift" = true ] && { error "drift found (fail-on-drift is true)"; exit 2; } ;;
  apply:*|validate:*) exit "$code" ;;
esac
exit 0
