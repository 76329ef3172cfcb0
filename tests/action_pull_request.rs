//! `scripts/action/pull-request.sh`, the pull-request plumbing the drift and Entra workflows
//! share, run as a runner runs it: in a git work tree whose `origin` is a bare repository
//! here, with a fake `gh` first on PATH that records every call and answers `gh pr list` from
//! a state file (the pull requests it has "opened").

#![allow(clippy::disallowed_methods)] // tests write files, run programs and read the environment

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const TOKEN: &str = "test-gh-token";

/// A fake gh: each call's arguments on one line of `gh.log`, each ended by a unit separator; the pull requests in
/// `prs.json` (number, url, head, base, state, title, body); `pr list`, `pr create` and
/// `pr edit` as gh does them, for what the script uses.
const FAKE_GH: &str = r#"#!/usr/bin/env bash
set -euo pipefail
{ printf '%s\037' "$@"; echo; } >>"$FAKE_GH_DIR/gh.log"
if [ "${GH_TOKEN:-}" != "$FAKE_GH_TOKEN" ]; then
  echo "HTTP 401: Bad credentials" >&2
  exit 1
fi
state=$FAKE_GH_DIR/prs.json
[ -f "$state" ] || echo '[]' >"$state"
sub="$1 $2"
shift 2
number=
if [ "$sub" = "pr edit" ]; then number=$1; shift; fi
head= base= st= title= body= repo=
while [ $# -gt 0 ]; do
  case "$1" in
    --head) head=$2; shift 2 ;;
    --base) base=$2; shift 2 ;;
    --state) st=$2; shift 2 ;;
    --title) title=$2; shift 2 ;;
    --body-file) body=$(cat "$2"); shift 2 ;;
    --repo) repo=$2; shift 2 ;;
    --json) shift 2 ;;
    *) echo "fake gh: unexpected argument $1" >&2; exit 2 ;;
  esac
done
[ "$repo" = acme/people ] || { echo "fake gh: --repo is '$repo'" >&2; exit 2; }
case "$sub" in
  "pr list")
    jq --arg h "$head" --arg b "$base" --arg s "$st" \
      '[.[] | select(.head == $h and .base == $b and .state == $s) | {number, url, title, body}]' "$state" ;;
  "pr create")
    n=$(jq 'length + 1' "$state")
    url="https://github.example/acme/people/pull/$n"
    jq --argjson n "$n" --arg u "$url" --arg h "$head" --arg b "$base" --arg t "$title" --arg body "$body" \
      '. + [{number: $n, url: $u, head: $h, base: $b, state: "open", title: $t, body: $body}]' \
      "$state" >"$state.new"
    mv "$state.new" "$state"
    echo "$url" ;;
  "pr edit")
    jq --argjson n "$number" --arg t "$title" --arg body "$body" \
      'map(if .number == $n then .title = $t | .body = $body else . end)' "$state" >"$state.new"
    mv "$state.new" "$state" ;;
  *) echo "fake gh: unexpected command $sub" >&2; exit 2 ;;
esac
"#;

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", text(&out));
    String::from_utf8(out.stdout)
        .unwrap()
        .trim_end()
        .to_string()
}

fn write(path: &Path, contents: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, contents).unwrap();
}

/// A repository checked out on `main` with its config directory in `people/`, pushed to a bare
/// `origin`; a fake gh; the runner's output file.
struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        let f = Fixture {
            dir: tempfile::tempdir().unwrap(),
        };
        let origin = f.path("origin.git");
        std::fs::create_dir(&origin).unwrap();
        git(
            &origin,
            &["init", "--quiet", "--bare", "--initial-branch=main"],
        );
        let work = f.work();
        std::fs::create_dir(&work).unwrap();
        git(&work, &["init", "--quiet", "--initial-branch=main"]);
        git(&work, &["config", "user.name", "Someone"]);
        git(&work, &["config", "user.email", "someone@example.com"]);
        write(&work.join("README.md"), "people\n");
        write(&work.join("people/roster.yaml"), "version: 1\n");
        write(
            &work.join("people/users/eng.yaml"),
            "users:\n  - userPrincipalName: ada@example.com\n    jobTitle: Engineer\n",
        );
        write(
            &work.join("people/users/sales.yaml"),
            "users:\n  - userPrincipalName: dee@example.com\n    department: Sales\n",
        );
        write(
            &work.join("people/groups/teams.yaml"),
            "groups:\n  - displayName: Platform\n    members: [ada@example.com]\n",
        );
        git(&work, &["add", "--all"]);
        git(&work, &["commit", "--quiet", "-m", "the declarations"]);
        git(
            &work,
            &["remote", "add", "origin", origin.to_str().unwrap()],
        );
        git(&work, &["push", "--quiet", "origin", "main"]);
        std::fs::create_dir(f.path("bin")).unwrap();
        std::fs::create_dir(f.path("temp")).unwrap();
        std::fs::create_dir(f.path("gh")).unwrap();
        write(&f.path("bin/gh"), FAKE_GH);
        chmod_x(&f.path("bin/gh"));
        std::fs::write(f.path("output"), "").unwrap();
        f
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn work(&self) -> PathBuf {
        self.path("work")
    }

    fn origin(&self) -> PathBuf {
        self.path("origin.git")
    }

    /// pull-request.sh with the runner's environment and nothing of this process's but PATH
    /// (the fake gh first).
    fn run(&self, branch: &str, body: &str) -> Output {
        self.run_with(branch, body, &[])
    }

    fn run_with(&self, branch: &str, body: &str, env: &[(&str, &str)]) -> Output {
        std::fs::write(self.output_file(), "").unwrap();
        write(&self.path("body.md"), body);
        let script = std::env::current_dir()
            .unwrap()
            .join("scripts/action/pull-request.sh");
        Command::new("bash")
            .arg(script)
            .current_dir(self.work())
            .env_clear()
            .env(
                "PATH",
                format!(
                    "{}:{}",
                    self.path("bin").display(),
                    std::env::var("PATH").unwrap()
                ),
            )
            .env("HOME", self.work())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("RUNNER_TEMP", self.path("temp"))
            .env("GITHUB_OUTPUT", self.output_file())
            .env("GITHUB_SERVER_URL", "https://github.example")
            .env("GITHUB_REPOSITORY", "acme/people")
            .env("GITHUB_RUN_ID", "4242")
            .env("GITHUB_WORKFLOW", "roster drift")
            .env("FAKE_GH_DIR", self.path("gh"))
            .env("FAKE_GH_TOKEN", TOKEN)
            .env("ROSTER_ACTION_CONFIG_DIR", "people")
            .env("ROSTER_ACTION_PR_BRANCH", branch)
            .env("ROSTER_ACTION_PR_TITLE", "Codify drift from Asana")
            .env("ROSTER_ACTION_PR_BODY_FILE", self.path("body.md"))
            .env("ROSTER_ACTION_GITHUB_TOKEN", TOKEN)
            .envs(env.iter().copied())
            .output()
            .unwrap()
    }

    fn output_file(&self) -> PathBuf {
        self.path("output")
    }

    fn outputs(&self) -> HashMap<String, String> {
        std::fs::read_to_string(self.output_file())
            .unwrap()
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// Every gh call so far, each as its arguments.
    fn gh_calls(&self) -> Vec<Vec<String>> {
        std::fs::read_to_string(self.path("gh/gh.log"))
            .unwrap_or_default()
            .lines()
            .map(|l| {
                l.strip_suffix('\u{1f}')
                    .unwrap()
                    .split('\u{1f}')
                    .map(str::to_string)
                    .collect()
            })
            .collect()
    }

    fn prs(&self) -> Vec<serde_json::Value> {
        match std::fs::read_to_string(self.path("gh/prs.json")) {
            Ok(s) => serde_json::from_str(&s).unwrap(),
            Err(_) => Vec::new(),
        }
    }

    /// What origin's branch holds: (commit, its file at `path`).
    fn remote_file(&self, branch: &str, path: &str) -> String {
        git(&self.origin(), &["show", &format!("{branch}:{path}")])
    }

    fn remote_ref(&self, branch: &str) -> Option<String> {
        let out = git(
            &self.origin(),
            &[
                "for-each-ref",
                "--format=%(objectname)",
                &format!("refs/heads/{branch}"),
            ],
        );
        (!out.is_empty()).then_some(out)
    }
}

fn chmod_x(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// The gh subcommands called, as "pr list", "pr create", "pr edit".
fn verbs(calls: &[Vec<String>]) -> Vec<String> {
    calls.iter().map(|c| c[..2].join(" ")).collect()
}

#[test]
fn a_first_run_opens_one_pull_request_a_second_updates_it_and_no_changes_touch_nothing() {
    let f = Fixture::new();
    let work = f.work();
    let main = git(&work, &["rev-parse", "HEAD"]);

    // 1. What `roster import asana --update` leaves: an edited and a new users file, and things
    // that are not declarations (roster.yaml, a plan file, the Entra delta state).
    write(
        &work.join("people/users/eng.yaml"),
        "users:\n  - userPrincipalName: ada@example.com\n    jobTitle: Staff Engineer\n",
    );
    write(
        &work.join("people/users/unmanaged.yaml"),
        "users:\n  - userPrincipalName: zed@example.com\n",
    );
    write(&work.join("people/roster.yaml"), "version: 1\n# edited\n");
    write(&work.join("people/.roster/entra-delta.json"), "{}\n");
    write(&work.join("roster-plan.json"), "{}\n");
    let status_before = git(&work, &["status", "--porcelain"]);

    let out = f.run("roster/drift", "### Codify drift from Asana\n\nfirst\n");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let o = f.outputs();
    assert_eq!(o["changes"], "true");
    assert_eq!(o["pushed"], "true");
    assert_eq!(o["pull-request"], "1");
    assert_eq!(
        o["pull-request-url"],
        "https://github.example/acme/people/pull/1"
    );
    let calls = f.gh_calls();
    assert_eq!(verbs(&calls), ["pr list", "pr create"], "{calls:?}");
    assert!(
        calls[0].windows(2).any(|w| w == ["--head", "roster/drift"])
            && calls[0].windows(2).any(|w| w == ["--state", "open"])
            && calls[0].windows(2).any(|w| w == ["--base", "main"]),
        "{calls:?}"
    );
    assert!(
        calls[1].windows(2).any(|w| w == ["--base", "main"])
            && calls[1].windows(2).any(|w| w == ["--head", "roster/drift"])
            && calls[1]
                .windows(2)
                .any(|w| w == ["--title", "Codify drift from Asana"]),
        "{calls:?}"
    );
    let prs = f.prs();
    assert_eq!(prs.len(), 1);
    assert_eq!(prs[0]["body"], "### Codify drift from Asana\n\nfirst");

    // The branch is one commit on main, by the bot, with the declarations and nothing else.
    let first = f.remote_ref("roster/drift").expect("roster/drift pushed");
    assert_eq!(git(&f.origin(), &["rev-parse", &format!("{first}^")]), main);
    assert_eq!(
        git(&f.origin(), &["log", "-1", "--format=%an <%ae>|%s", &first]),
        "github-actions[bot] <41898283+github-actions[bot]@users.noreply.github.com>|Codify drift from Asana"
    );
    let changed = git(&f.origin(), &["diff", "--name-status", &main, &first]);
    assert_eq!(
        changed,
        "M\tpeople/users/eng.yaml\nA\tpeople/users/unmanaged.yaml"
    );
    assert!(
        f.remote_file("roster/drift", "people/users/eng.yaml")
            .contains("Staff Engineer")
    );
    // The work tree, the index and HEAD are as they were.
    assert_eq!(git(&work, &["status", "--porcelain"]), status_before);
    assert_eq!(git(&work, &["rev-parse", "HEAD"]), main);
    assert_eq!(git(&work, &["symbolic-ref", "--short", "HEAD"]), "main");

    // 2. The same changes again, the same body: the branch holds them already; nothing written.
    let out = f.run("roster/drift", "### Codify drift from Asana\n\nfirst\n");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(f.outputs()["pushed"], "false");
    assert_eq!(f.outputs()["pull-request"], "1");
    assert_eq!(verbs(&f.gh_calls()), ["pr list", "pr create", "pr list"]);
    assert_eq!(
        f.remote_ref("roster/drift").as_deref(),
        Some(first.as_str())
    );

    // 3. New changes (a team edited, a file deleted) and a body far over GitHub's limit: the
    // same pull request is updated in place, the branch rebuilt on main.
    write(
        &work.join("people/groups/teams.yaml"),
        "groups:\n  - displayName: Platform\n    members: [ada@example.com, zed@example.com]\n",
    );
    std::fs::remove_file(work.join("people/users/sales.yaml")).unwrap();
    let mut big =
        String::from("### Codify drift from Asana\n\n<details><summary>All</summary>\n\n```diff\n");
    while big.len() < 300_000 {
        big.push_str("~ user[\"someone@example.com\"] title = \"Ingénieure 🚀\" -> \"Lead\"\n");
    }
    big.push_str("```\n\n</details>\n");
    let out = f.run("roster/drift", &big);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let o = f.outputs();
    assert_eq!(
        (o["pushed"].as_str(), o["pull-request"].as_str()),
        ("true", "1")
    );
    let calls = f.gh_calls();
    assert_eq!(
        verbs(&calls),
        ["pr list", "pr create", "pr list", "pr list", "pr edit"]
    );
    assert_eq!(calls[4][2], "1", "{calls:?}");
    let prs = f.prs();
    assert_eq!(prs.len(), 1, "one pull request, updated in place");
    let body = prs[0]["body"].as_str().unwrap();
    assert!(
        body.chars().count() <= 65_536 && body.len() <= 65_000,
        "{}",
        body.len()
    );
    assert!(body.ends_with(
        "**Cut here to fit a pull-request description.** The whole report is in the [job summary](https://github.example/acme/people/actions/runs/4242) of this run."
    ));
    assert_eq!(
        body.matches("```").count() % 2,
        0,
        "a code fence is left open"
    );
    assert_eq!(
        body.matches("<details>").count(),
        body.matches("</details>").count()
    );
    let second = f.remote_ref("roster/drift").unwrap();
    assert_ne!(second, first);
    assert_eq!(
        git(&f.origin(), &["rev-parse", &format!("{second}^")]),
        main
    );
    assert_eq!(
        git(&f.origin(), &["diff", "--name-status", &main, &second]),
        "M\tpeople/groups/teams.yaml\nM\tpeople/users/eng.yaml\nD\tpeople/users/sales.yaml\nA\tpeople/users/unmanaged.yaml"
    );

    // 4. Nothing changed in the declarations (what is not a declaration still has): no push,
    // no gh call at all.
    git(
        &work,
        &["checkout", "--quiet", "--", "people/users", "people/groups"],
    );
    std::fs::remove_file(work.join("people/users/unmanaged.yaml")).unwrap();
    let out = f.run("roster/drift", "### Codify drift from Asana\n\nthird\n");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let o = f.outputs();
    assert_eq!(
        (o["changes"].as_str(), o["pushed"].as_str()),
        ("false", "false")
    );
    assert!(!o.contains_key("pull-request"));
    assert_eq!(f.gh_calls().len(), 5, "no gh call without changes");
    assert_eq!(
        f.remote_ref("roster/drift").as_deref(),
        Some(second.as_str())
    );
    assert_eq!(f.prs()[0]["body"], body);
}

#[test]
fn the_branch_is_never_the_base_and_gh_without_a_token_fails_loudly() {
    let f = Fixture::new();
    let work = f.work();
    write(
        &work.join("people/users/eng.yaml"),
        "users:\n  - userPrincipalName: ada@example.com\n    jobTitle: Lead\n",
    );
    let main = f.remote_ref("main");

    let out = f.run("main", "body\n");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is the base branch"));
    assert!(f.gh_calls().is_empty());
    assert_eq!(f.remote_ref("main"), main);

    let out = f.run("bad..name", "body\n");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a valid branch name"));

    // A token gh refuses: the step fails saying what the token needs, after the push.
    let out = f.run_with("roster/drift", "body\n", &[("FAKE_GH_TOKEN", "another")]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("::error title=roster::could not list the open pull requests from roster/drift (the token needs pull-requests: write)"), "{err}");
    assert!(!err.contains(TOKEN) && !String::from_utf8_lossy(&out.stdout).contains(TOKEN));
    assert_eq!(verbs(&f.gh_calls()), ["pr list"]);
    assert!(f.prs().is_empty());

    // A detached HEAD has no base to open the pull request against.
    git(&work, &["checkout", "--quiet", "--detach"]);
    let out = f.run("roster/drift", "body\n");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("HEAD is detached"));
}

#[test]
fn both_workflows_open_their_pull_requests_through_this_one_script() {
    let drift = std::fs::read_to_string("examples/github/roster-drift.yml").unwrap();
    let entra = std::fs::read_to_string("examples/github/roster-entra-sync.yml").unwrap();
    for (yml, branch, title) in [
        (&drift, "roster/drift", "Codify drift from Asana"),
        (&entra, "roster/entra", "Changes from Entra"),
    ] {
        assert!(yml.contains("command: pull-request"), "{branch}");
        assert!(yml.contains(&format!("branch: {branch}\n")), "{branch}");
        assert!(yml.contains(&format!("title: {title}\n")), "{branch}");
        // The plumbing is the script's alone.
        assert!(
            !yml.contains("gh pr ") && !yml.contains("git push"),
            "{branch}"
        );
        // The checkout pushes with the token the pull request is opened with.
        assert!(yml.contains("token: ${{ secrets.ROSTER_PR_TOKEN || github.token }}\n"));
        assert!(yml.contains("github-token: ${{ secrets.ROSTER_PR_TOKEN || github.token }}\n"));
    }
    assert!(drift.contains("\"$ROSTER\" import asana --update"));
    assert!(
        drift.contains("`roster apply`"),
        "the body says how to revert"
    );
    assert!(entra.contains("\"$ROSTER\" import entra\n"));
    assert!(entra.contains("- cron: \"23 * * * *\""), "hourly");
    assert!(entra.contains("if: needs.mode.outputs.mode == 'seed'"));
    assert!(entra.contains("if: needs.mode.outputs.mode == 'live'"));
    assert!(entra.contains("\"$ROSTER\" apply --auto-approve --audit-log roster-audit.jsonl"));
    // Every gate holds: no override flag outside the comments.
    assert!(
        !entra
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .any(|l| l.contains("--allow-deprovisions")),
        "an override flag"
    );
}
