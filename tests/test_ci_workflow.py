"""The CI workflow for users.json (.github/workflows/users.yml, whose checks are the
composite action action.yml). GitHub is not here, so the action's own scripts run on a
scratch clone shaped like a pull request (main with some people, a branch with a change)
or like a push to main (main moved on from the commit it pointed at, also by a force
push). What GitHub provides (the checkout, the base branch as origin/<branch>, the event's
name and `before`, $GITHUB_STEP_SUMMARY) is provided the same way."""

from __future__ import annotations

import html as html_module
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import ROOT, copy_project, write_json
from users_authentik.loading import read_folder, validate
from users_authentik.module_dir import write as write_module
from users_authentik import synth
from users_authentik.synth import MODULE_FILES, ROWS_FILE, STACK_FILE, render_rows

WORKFLOW = ROOT / ".github" / "workflows" / "users.yml"
ACTION = ROOT / "action.yml"
EXTRA = ("Makefile", "requirements.txt", "requirements-plan.txt", "requirements-dev.txt", "requirements-pip.txt",
         "requirements.lock", "requirements-plan.lock", "requirements-dev.lock", "requirements-pip.lock",
         "pyproject.toml", ".gitignore")

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def workflow() -> dict[str, Any]:
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))


def action() -> dict[str, Any]:
    return yaml.safe_load(ACTION.read_text(encoding="utf-8"))


def step(job: str, step_id: str) -> dict[str, Any]:
    """A step of a job of users.yml, or of action.yml (job "users": the job runs the action)."""
    steps = action()["runs"]["steps"] if job == "users" else workflow()["jobs"][job]["steps"]
    [found] = [s for s in steps if s.get("id") == step_id]
    return found


def command_on_path(bin_dir: Path) -> dict[str, str]:
    """The `users-authentik` command the action's install step puts on PATH: here this
    tree's code (conftest exports it as PYTHONPATH) run by the test's Python. The install
    step itself runs in tests/test_fleet.py."""
    bin_dir.mkdir(exist_ok=True)
    command = bin_dir / "users-authentik"
    command.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m users_authentik "$@"\n', encoding="utf-8")
    command.chmod(0o755)
    return {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=ci", "-c", "user.email=ci@example.org", *args], cwd=repo,
                          check=True, capture_output=True, text=True).stdout


def people(n: int) -> dict[str, Any]:
    users = {"stefan": {"name": "Stefan", "email": "stefan@example.org", "groups": ["admins"], "is_admin": True}}
    users.update({f"user{i}": {"name": f"User {i}", "email": f"user{i}@example.org", "groups": ["dev"]}
                  for i in range(1, n)})
    return {"$schema": "./schemas/users.schema.json", "users": users}


def regenerate_rows(root: Path) -> None:
    """users.tf.json for root's users.json, in-process: cdk.tf.json does not depend on
    users.json, and skipping cdktf here keeps these tests quick. Without the removal guard
    (which needs git): catching a bad change is CI's job here."""
    loaded = validate(read_folder(root))
    assert not loaded.problems, loaded.problems
    write_module(root / "generated", {ROWS_FILE: render_rows(loaded.roster)}, MODULE_FILES)


@pytest.fixture(scope="module")
def base_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """main: 10 people, generated/ in step."""
    root = copy_project(tmp_path_factory.mktemp("ci") / "repo")
    for name in EXTRA:
        shutil.copy2(ROOT / name, root / name)
    write_json(root / "users.json", people(10))
    regenerate_rows(root)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "--no-verify", "-m", "base")
    return root


def clone(origin: Path, dest: Path) -> Path:
    """A clone as actions/checkout makes it with fetch-depth 0: every branch as origin/<name>."""
    subprocess.run(["git", "clone", "-q", "--no-local", str(origin), str(dest)], check=True, capture_output=True)
    return dest


@pytest.fixture
def repo(base_repo: Path, tmp_path: Path) -> Path:
    """A clone of main with a branch `change` checked out, as actions/checkout leaves it."""
    root = clone(base_repo, tmp_path / "repo")
    git(root, "checkout", "-q", "-b", "change")
    return root


def commit(repo: Path, document: dict[str, Any], *, regenerate: bool) -> None:
    write_json(repo / "users.json", document)
    if regenerate:
        regenerate_rows(repo)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--no-verify", "-m", "change")


PULL_REQUEST = {"EVENT": "pull_request", "PR_BASE": "main", "BEFORE": ""}


def push(before: str) -> dict[str, str]:
    return {"EVENT": "push", "PR_BASE": "", "BEFORE": before}  # github.base_ref is empty on a push


def run_step(repo: Path, step_id: str, event: dict[str, str] = PULL_REQUEST,
             environ: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess, str]:
    """environ: the runner's environment (default: this process's)."""
    summary, output = repo.parent / "summary.md", repo.parent / "output"
    summary.write_text("", encoding="utf-8")
    output.write_text("", encoding="utf-8")
    if event["EVENT"] == "pull_request":  # actions/checkout leaves a pull request's HEAD detached
        git(repo, "checkout", "-q", "--detach")
    env = {**(os.environ if environ is None else environ), "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "18,20",
           # the step's own literal env (USERS_AUTHENTIK_REBUILD); GitHub's expressions come from `event`
           **{k: v for k, v in step("users", step_id).get("env", {}).items() if "${{" not in v},
           "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_OUTPUT": str(output), "DIR": ".", **event,
           **command_on_path(repo.parent / "bin")}
    env.pop("CDKTF_OUTDIR", None)
    # GitHub runs `run:` scripts with bash --noprofile --norc -eo pipefail.
    done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step("users", step_id)["run"]],
                          cwd=repo, env=env, capture_output=True, text=True, timeout=300)
    return done, summary.read_text(encoding="utf-8")


def test_an_onboarding_with_its_generated_module_passes(repo: Path) -> None:
    document = people(10)
    document["users"]["ada"] = {"name": "Ada", "email": "ada@example.org", "groups": ["dev"]}
    commit(repo, document, regenerate=True)
    synth, _ = run_step(repo, "synth")
    assert synth.returncode == 0, synth.stdout + synth.stderr
    guard, summary = run_step(repo, "guard")
    assert guard.returncode == 0, guard.stdout + guard.stderr
    assert "ada" in summary  # the reviewer's summary of the change


def test_users_json_committed_without_generated_fails(repo: Path) -> None:
    document = people(10)
    document["users"]["ada"] = {"name": "Ada", "email": "ada@example.org"}
    commit(repo, document, regenerate=False)
    synth, _ = run_step(repo, "synth")
    assert synth.returncode == 1
    assert "generated/ does not match users.json" in synth.stdout
    assert "generated/users.tf.json" in synth.stdout


def test_a_merge_that_removes_too_many_people_fails_the_guard(repo: Path) -> None:
    document = people(10)
    for name in ("user1", "user2", "user3", "user4"):
        del document["users"][name]
    commit(repo, document, regenerate=True)
    synth, _ = run_step(repo, "synth")
    assert synth.returncode == 0, synth.stdout + synth.stderr  # generated/ is in step with users.json
    guard, summary = run_step(repo, "guard")
    assert guard.returncode == 1
    assert "removes 4 of the 10 users at refs/remotes/origin/main" in guard.stderr
    assert "user4" in summary  # the summary still shows what the change does


def merge_queue(target: str = "refs/heads/main") -> dict[str, str]:
    # github.base_ref and github.event.before are empty for a merge_group event; the action
    # reads merge_group.base_ref. merge_group.base_sha (the entry's parent commit: for the
    # second entry, the first entry's commit) is no longer read.
    return {"EVENT": "merge_group", "PR_BASE": "", "BEFORE": "", "QUEUE_TARGET": target}


def test_a_merge_queue_entry_is_checked_with_the_entries_ahead_of_it(repo: Path) -> None:
    """Two pull requests that each remove two people pass alone; in a merge queue the second's
    entry is main + the first + the second, and its guard compares that with the commit of main
    the queue builds on, so together they are refused. GitHub's merge_group.base_sha for the
    second entry is the first entry's commit: compared with it (before), the second entry
    showed only its own two removals and passed, and with "only merge non-failing pull
    requests" off, a refused entry ahead of a passing one was merged with it."""
    main = git(repo, "rev-parse", "HEAD").strip()
    document = people(10)
    for name in ("user1", "user2"):
        del document["users"][name]
    commit(repo, document, regenerate=True)  # the first entry: main + the first pull request
    first_entry = git(repo, "rev-parse", "HEAD").strip()
    first, summary = run_step(repo, "guard", {**merge_queue(), "QUEUE_BASE": main})
    assert first.returncode == 0, first.stdout + first.stderr
    assert "user2" in summary
    for name in ("user3", "user4"):
        del document["users"][name]
    commit(repo, document, regenerate=True)  # the second entry: + the second pull request
    # What GitHub sends the second entry: its parent, the first entry, as base_sha.
    second, summary = run_step(repo, "guard", {**merge_queue(), "QUEUE_BASE": first_entry})
    assert second.returncode == 1, second.stdout + second.stderr
    assert f"removes 4 of the 10 users at {main}" in second.stderr, second.stderr
    assert "user4" in summary and "user1" in summary
    for bad_target in ("", "main", "refs/heads/", "refs/tags/main"):  # only a branch is a target
        bad, _ = run_step(repo, "guard", merge_queue(bad_target))
        assert bad.returncode == 1 and "no target branch for the merge queue's entry" in bad.stdout, bad_target


def test_a_merge_queue_entry_fetches_its_target_branch_and_needs_shared_history(repo: Path) -> None:
    """A target branch the checkout left no origin/<it> for is fetched; an entry whose
    history does not meet the target branch has no base and fails."""
    git(repo, "update-ref", "-d", "refs/remotes/origin/main")
    document = people(10)
    for name in ("user1", "user2", "user3", "user4"):
        del document["users"][name]
    commit(repo, document, regenerate=True)
    entry, _ = run_step(repo, "guard", merge_queue())
    assert entry.returncode == 1 and "removes 4 of the 10 users" in entry.stderr, entry.stdout + entry.stderr
    git(repo, "checkout", "-q", "--orphan", "unrelated")
    git(repo, "commit", "-q", "--no-verify", "-m", "no shared history")
    orphan, _ = run_step(repo, "guard", merge_queue())
    assert orphan.returncode == 1 and "shares no commit with its target branch" in orphan.stdout, orphan.stdout


def test_a_tag_named_like_the_base_branch_does_not_move_the_guards_base(repo: Path) -> None:
    # Whoever may push a tag could name it origin/main (checkout fetches every tag) and point
    # it at the pull request itself, so the change is compared with itself.
    document = people(10)
    for name in ("user1", "user2", "user3", "user4"):
        del document["users"][name]
    commit(repo, document, regenerate=True)
    git(repo, "tag", "origin/main", "HEAD")
    guard, summary = run_step(repo, "guard")
    assert guard.returncode == 1, guard.stdout + guard.stderr
    assert "removes 4 of the 10 users at refs/remotes/origin/main" in guard.stderr, guard.stderr
    assert "user4" in summary


def test_a_forged_stack_hash_fails(repo: Path) -> None:
    """cdk.tf.json's header hash only lets a local synth skip work. A pull request can
    change the file and write a hash that matches (it is no secret): a local synth then
    keeps the file, and CI, which rebuilds from scratch, refuses it."""
    stack = repo / "generated" / STACK_FILE
    forged = stack.read_text(encoding="utf-8").replace('"source": "goauthentik/authentik"',
                                                       '"source": "evil/authentik"')
    assert forged != stack.read_text(encoding="utf-8")
    loaded = validate(read_folder(repo))
    assert not loaded.problems
    settings = loaded.settings
    found = synth._SEAL.match(forged)
    unsealed = forged[:found.start(1)] + "0" * 64 + forged[found.end(1):]
    stack.write_text(forged[:found.start(1)] + synth._seal(synth.stack_inputs(settings), unsealed)
                     + forged[found.end(1):], encoding="utf-8")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--no-verify", "-m", "forged")
    local = subprocess.run([sys.executable, "-m", "users_authentik", "synth"], cwd=repo, capture_output=True,
                           text=True, env={k: v for k, v in os.environ.items() if k != "USERS_AUTHENTIK_REBUILD"})
    assert local.returncode == 0 and "evil/authentik" in stack.read_text(encoding="utf-8")  # the cache trusts it
    synth_step, _ = run_step(repo, "synth")
    assert synth_step.returncode == 1, synth_step.stdout + synth_step.stderr
    assert "generated/ does not match users.json" in synth_step.stdout
    assert f"generated/{STACK_FILE}" in synth_step.stdout


def test_the_test_job_has_the_history_that_test_history_reads() -> None:
    # tests/test_history.py compares every committed generated/: a shallow clone has only the last.
    checkout = workflow()["jobs"]["test"]["steps"][0]
    assert checkout["uses"].startswith("actions/checkout@")
    assert checkout["with"]["fetch-depth"] == 0
    run = Path(ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "make test" in run and "--depth" not in run


def test_the_guard_sees_the_base_branch() -> None:
    checkout = workflow()["jobs"]["users"]["steps"][0]
    assert checkout["uses"].startswith("actions/checkout@")
    assert checkout["with"]["fetch-depth"] == 0  # a shallow clone has no base to compare with
    guard = step("users", "guard")
    assert "if" not in guard  # pull requests and pushes alike
    assert set(workflow()[True]) == {"pull_request", "merge_group", "push"}  # YAML 1.1 reads `on` as True
    assert workflow()[True]["push"] == {"branches": ["main"]}
    # Passed by env, never pasted into the script:
    assert guard["env"] == {"EVENT": "${{ github.event_name }}", "PR_BASE": "${{ github.base_ref }}",
                            "BEFORE": "${{ github.event.before }}", "DIR": "${{ inputs.directory }}",
                            "QUEUE_TARGET": "${{ github.event.merge_group.base_ref }}"}
    assert "${{" not in guard["run"] and "${{" not in step("users", "synth")["run"]
    assert step("users", "synth")["env"]["DIR"] == "${{ inputs.directory }}"


def test_the_repositorys_job_runs_the_action_on_its_root() -> None:
    [uses] = [s for s in workflow()["jobs"]["users"]["steps"] if s.get("uses") == "./"]
    assert uses["with"] == {"directory": "."}
    assert action()["runs"]["using"] == "composite"
    assert set(action()["inputs"]) == {"directory", "plan"}


# The opt-in plan step (docs/flux.md, tofu-controller's branch planner): OpenTofu's offline plan
# of a pull request in the job summary, with no token.
PLAN_STEPS = ("plan-tofu", "plan-install", "plan")
PLAN_IF = "inputs.plan == 'true' && github.event_name == 'pull_request'"
# Names of variables that could hold a credential: the runner's environment without them.
SECRET_NAMES = re.compile(r"TOKEN|SECRET|PASSW|CREDENTIAL|KEY|AUTH|COOKIE|SESSION", re.I)


def test_the_plan_is_off_unless_asked_and_gets_no_token() -> None:
    assert action()["inputs"]["plan"]["default"] == "false"
    assert all(step("users", s)["if"] == PLAN_IF for s in PLAN_STEPS)
    [uses] = [s for s in workflow()["jobs"]["users"]["steps"] if s.get("uses") == "./"]
    assert "plan" not in uses["with"]  # this repository's own job: off
    # Nothing in the action passes a secret or the job's token to any step, these included.
    text = ACTION.read_text(encoding="utf-8")
    assert "secrets." not in text and "github.token" not in text and "GITHUB_TOKEN" not in text
    plan = step("users", "plan")
    assert plan["env"] == {"DIR": "${{ inputs.directory }}", "BASE": "${{ steps.guard.outputs.base }}"}
    assert "${{" not in plan["run"] and "${{" not in step("users", "plan-install")["run"]
    tofu = step("users", "plan-tofu")
    assert tofu["uses"].startswith("opentofu/setup-opentofu@")
    assert set(tofu["with"]) == {"tofu_version", "tofu_wrapper"}  # no github_token, no credentials
    assert tofu["with"]["tofu_wrapper"] is False
    # The OpenTofu the tests build and run (tools/go.mod): tofu-controller v0.16.3's.
    built = re.search(r"^\s*github\.com/opentofu/opentofu v(\S+)", (ROOT / "tools" / "go.mod").read_text(), re.M)
    assert built and tofu["with"]["tofu_version"] == built[1]
    assert '--require-hashes -r "$GITHUB_ACTION_PATH/requirements-plan.lock"' in step("users", "plan-install")["run"]


def test_the_plan_step_summarizes_the_pull_requests_plan_inside_its_fence(repo: Path, terraform_cli: str) -> None:
    """A pull request that offboards user9 and onboards ada, whose display name tries to close
    the code block and start a workflow command; run with the runner's environment stripped
    of anything that could be a credential."""
    cmarkgfm = pytest.importorskip("cmarkgfm", reason="cmarkgfm (requirements-dev.txt) renders GitHub's Markdown")
    hostile = "Bob ##[group]x ```` </code> **bold** @team"
    document = people(10)
    del document["users"]["user9"]
    document["users"]["ada"] = {"name": hostile, "email": "ada@example.org", "groups": ["dev"]}
    commit(repo, document, regenerate=True)
    guard, _ = run_step(repo, "guard")
    assert guard.returncode == 0, guard.stdout + guard.stderr
    [base] = [line.split("=", 1)[1] for line in (repo.parent / "output").read_text().splitlines()
              if line.startswith("base=")]
    assert base == "refs/remotes/origin/main"
    runner = {k: v for k, v in os.environ.items() if not SECRET_NAMES.search(k)}

    done, summary = run_step(repo, "plan", {**PULL_REQUEST, "BASE": base}, environ=runner)

    assert done.returncode == 0, done.stdout + done.stderr
    assert "##[" not in summary and "##[" not in done.stdout + done.stderr
    html = cmarkgfm.github_flavored_markdown_to_html(summary, options=cmarkgfm.cmark.Options.CMARK_OPT_UNSAFE)
    # One heading and one code block: nothing of the name renders, however it is written.
    assert re.findall(r"</?\w+", html) == ["<h4", "</h4", "<pre", "<code", "</code", "</pre"], html
    code = html_module.unescape(html.split("<code>", 1)[1].rsplit("</code>", 1)[0])
    assert code.startswith("Offline plan: refs/remotes/origin/main (")
    assert "STAND-IN authentik provider" in code
    assert 'authentik_user.users["ada"] will be created' in code
    assert 'authentik_user.users["user9"] will be destroyed' in code
    assert "Bob #\\x23[group]x ```` </code> **bold** @team" in code  # as it is, but the workflow command
    assert '!!   authentik_user.users["user9"]' in code

    # A plan that fails (here: no such base) fails the step, its stderr in the log, nothing in the summary.
    failed, summary = run_step(repo, "plan", {**PULL_REQUEST, "BASE": "refs/remotes/origin/gone"}, environ=runner)
    assert failed.returncode == 1 and summary == ""
    assert "refs/remotes/origin/gone" in failed.stderr, failed.stderr


def on_main(repo: Path) -> str:
    """The clone as a push to main leaves it: main checked out; returns main's commit before."""
    git(repo, "checkout", "-q", "main")
    return git(repo, "rev-parse", "HEAD").strip()


def test_a_push_to_main_that_removes_too_many_fails_the_guard(repo: Path) -> None:
    before = on_main(repo)
    document = people(10)
    for name in ("user1", "user2", "user3", "user4"):
        del document["users"][name]
    commit(repo, document, regenerate=True)  # pushed directly: no pull request, no pre-commit
    guard, summary = run_step(repo, "guard", push(before))
    assert guard.returncode == 1, guard.stdout + guard.stderr
    assert f"removes 4 of the 10 users at {before}" in guard.stderr
    assert "user4" in summary


def test_a_push_to_main_that_onboards_passes(repo: Path) -> None:
    before = on_main(repo)
    document = people(10)
    document["users"]["ada"] = {"name": "Ada", "email": "ada@example.org", "groups": ["dev"]}
    commit(repo, document, regenerate=True)
    guard, summary = run_step(repo, "guard", push(before))
    assert guard.returncode == 0, guard.stdout + guard.stderr
    assert "ada" in summary


def test_a_force_push_is_compared_with_what_main_was(base_repo: Path, tmp_path: Path) -> None:
    """main rewritten (a new root commit with four people fewer): the commit main was at is on
    no branch any more, so the checkout lacks it; the script fetches it by id, as GitHub allows."""
    origin = tmp_path / "origin"
    shutil.copytree(base_repo, origin, symlinks=True)
    before = git(origin, "rev-parse", "main").strip()
    git(origin, "config", "uploadpack.allowAnySHA1InWant", "true")  # GitHub serves a commit by id
    git(origin, "checkout", "-q", "--orphan", "rewritten")
    document = people(10)
    for name in ("user1", "user2", "user3", "user4"):
        del document["users"][name]
    write_json(origin / "users.json", document)
    regenerate_rows(origin)
    git(origin, "add", "-A")
    git(origin, "commit", "-q", "--no-verify", "-m", "history rewritten")
    git(origin, "branch", "-f", "main", "rewritten")
    git(origin, "checkout", "-q", "main")
    git(origin, "branch", "-q", "-D", "rewritten")
    root = clone(origin, tmp_path / "repo")
    assert subprocess.run(["git", "cat-file", "-e", f"{before}^{{commit}}"], cwd=root).returncode != 0
    guard, summary = run_step(root, "guard", push(before))
    assert guard.returncode == 1, guard.stdout + guard.stderr
    assert f"removes 4 of the 10 users at {before}" in guard.stderr


def test_a_new_main_has_nothing_to_compare_with(repo: Path) -> None:
    on_main(repo)
    guard, summary = run_step(repo, "guard", push("0" * 40))
    assert guard.returncode == 0, guard.stdout + guard.stderr
    assert "::warning::the branch is new (no earlier commit of it)" in guard.stdout
    assert "users.json: 10 users" in guard.stdout  # the commit is still checked


@pytest.mark.parametrize("before", ["", "--upload-pack=touch x", "HEAD~1"])
def test_a_push_without_a_usable_before_fails(repo: Path, before: str) -> None:
    on_main(repo)
    guard, _ = run_step(repo, "guard", push(before))
    assert guard.returncode == 1
    assert "::error::no previous commit to compare with" in guard.stdout
    assert not (repo / "x").exists()


def test_the_test_job_runs_the_projects_ci_command_with_its_terraform() -> None:
    steps = workflow()["jobs"]["test"]["steps"]
    assert steps[-1]["run"] == "bash .ci/run"
    [tf] = [s for s in steps if s.get("uses", "").startswith("hashicorp/setup-terraform@")]
    terraform = shutil.which("terraform")
    if terraform:
        version = subprocess.run([terraform, "version", "-json"], capture_output=True, text=True).stdout
        assert f'"terraform_version": "{tf["with"]["terraform_version"]}"' in version
    assert tf["with"]["terraform_wrapper"] is False


def commit_extra(repo: Path, plant) -> None:
    document = people(10)
    document["users"]["ada"] = {"name": "Ada", "email": "ada@example.org"}
    write_json(repo / "users.json", document)
    regenerate_rows(repo)
    plant(repo / "generated")
    git(repo, "add", "-A", "-f")
    git(repo, "commit", "-q", "--no-verify", "-m", "change")


@pytest.mark.parametrize("name,plant", [
    ("zz_extra.tf.json", lambda g: (g / "zz_extra.tf.json").write_text(
        '{"resource": {"terraform_data": {"x": {"provisioner": {"local-exec": {"command": "env"}}}}}}\n')),
    ("cdk_override.tf.json", lambda g: (g / "cdk_override.tf.json").write_text(
        '{"terraform": {"required_providers": {"authentik": {"source": "evil/authentik"}}}}\n')),
    ("environ.tf.json", lambda g: (g / "environ.tf.json").symlink_to("/proc/self/environ")),
])
def test_a_committed_file_synth_does_not_write_fails(repo: Path, name: str, plant) -> None:
    """Content alone is not enough: the extra file is committed alongside a fresh module."""
    commit_extra(repo, plant)
    synth, _ = run_step(repo, "synth")
    assert synth.returncode != 0
    assert f"generated/{name}: (file): " in synth.stderr and "fix: delete it" in synth.stderr, synth.stderr


def test_a_committed_file_with_synths_own_temporary_name_fails(repo: Path) -> None:
    """synth removes what it takes for its own leftover; that it was committed still fails."""
    commit_extra(repo, lambda g: (g / ".users-authentik.journal").write_text("[]\n"))
    synth, _ = run_step(repo, "synth")
    assert synth.returncode == 1
    assert "D generated/.users-authentik.journal" in synth.stdout
    assert "generated/ does not match users.json" in synth.stdout


def test_a_file_present_but_not_committed_fails_the_file_list(repo: Path) -> None:
    """The file list is compared as well: a file in generated/ that git ignores (so status
    is clean) is still not what was committed."""
    (repo / ".git" / "info" / "exclude").write_text("generated/ignored.tf.json\n")
    script = step("users", "synth")["run"].replace('users-authentik synth -C "$DIR"',
                                                   "touch generated/ignored.tf.json")
    assert "touch generated/ignored.tf.json" in script
    summary_env = {**os.environ, "GITHUB_STEP_SUMMARY": os.devnull, "DIR": "."}
    done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
                          cwd=repo, env=summary_env, capture_output=True, text=True)
    assert done.returncode == 1
    assert "> generated/ignored.tf.json" in done.stdout
    assert "the files committed in generated/ are not the ones synth writes" in done.stdout


# Pinned dependencies (OpenSSF Scorecard): a tag or branch in `uses:` is whatever the
# action's repository points it at when the job runs, so every remote action is named by its
# full commit sha, with the version it is as a comment. Local actions (./) and docker://
# images are not fetched from an action repository.
PINNED = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+(?:/[^@\s]+)?@[0-9a-f]{40}")
VERSION_COMMENT = re.compile(r"#\s*v\d+(?:\.\d+)*\b")
USES_LINE = re.compile(r"^[\s#]*(?:-\s+)?uses:\s*(?P<ref>[\"']?[^\s#\"']+[\"']?)(?P<rest>.*)$")
# Not shipped: shared installs and build outputs; the fleet repository's own action is
# written as a placeholder (<owner>/users-authentik@<full-commit-sha>) in examples.
SKIP_DIRS = {".git", ".venv", "node_modules", ".tools", ".gen", "__pycache__", "cdktf.out"}
PLACEHOLDER = "<owner>/users-authentik@<full-commit-sha>"


def shipped(*suffixes: str) -> list[Path]:
    found = []
    for top, dirs, files in os.walk(ROOT):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
        found += [Path(top) / f for f in sorted(files) if f.endswith(suffixes)]
    return found


def uses_values(node: Any) -> list[str]:
    """Every `uses:` of a parsed workflow or action, wherever it is nested."""
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == "uses" and isinstance(v, str)] + \
            [u for k, v in node.items() if k != "uses" for u in uses_values(v)]
    if isinstance(node, list):
        return [u for v in node for u in uses_values(v)]
    return []


def remote(ref: str) -> bool:
    return not ref.startswith(("./", "docker://"))


def pin_problems(path: Path, *, parsed: bool) -> list[str]:
    """`uses:` lines of path that name a remote action by anything but a commit sha with its
    version as a comment; for YAML (parsed), also a `uses:` the line scan did not see."""
    text = path.read_text(encoding="utf-8")
    where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    problems, seen = [], []
    for number, line in enumerate(text.splitlines(), 1):
        found = USES_LINE.match(line)
        if not found:
            continue
        ref = found["ref"].strip("\"'")
        seen.append(ref)
        if not remote(ref) or ref == PLACEHOLDER:
            continue
        if not PINNED.fullmatch(ref) or not VERSION_COMMENT.match(found["rest"].strip()):
            problems.append(f"{where}:{number}: {line.strip()}")
    if parsed:
        for document in yaml.safe_load_all(text):
            problems += [f"{where}: uses {ref!r} not on a line of its own"
                         for ref in uses_values(document) if ref not in seen]
    return problems


def test_the_files_that_use_actions_are_the_workflow_and_the_action() -> None:
    """What the pin check below reads must include what runs: if this fails, a new workflow or
    action exists, and the check covers it already; update the list."""
    using = {p.relative_to(ROOT).as_posix() for p in shipped(".yml", ".yaml", ".yml.example", ".yaml.example")
             if any(uses_values(d) for d in yaml.safe_load_all(p.read_text(encoding="utf-8")))}
    assert using == {".github/workflows/users.yml", "action.yml"}


def test_every_remote_action_is_pinned_by_commit_sha() -> None:
    # Every YAML file the project ships, init's templates and the Flux layers it copies
    # included, and the examples in comments (action.yml's usage) and in the docs.
    yaml_files = shipped(".yml", ".yaml", ".yml.example", ".yaml.example")
    problems = [p for f in yaml_files for p in pin_problems(f, parsed=True)]
    problems += [p for f in shipped(".md") for p in pin_problems(f, parsed=False)]
    assert not problems, "pin by full commit sha, version as a comment (uses: owner/repo@<sha>  # v1.2.3):\n" \
        + "\n".join(problems)
    assert {r.split("@")[0] for r in uses_values(workflow()) + uses_values(action()) if remote(r)} == {
        "actions/checkout", "actions/setup-python", "actions/setup-node", "actions/setup-go",
        "hashicorp/setup-terraform", "opentofu/setup-opentofu"}  # what the check above read


@pytest.mark.parametrize("line,pinned", [
    ("- uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683  # v4.2.2", True),
    ("uses: actions/cache/restore@11bd71901bbe5b1630ceea73d27597364c9af683 # v4", True),
    ("- uses: actions/checkout@v4", False),
    ("- uses: actions/checkout@main", False),
    ("- uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683", False),  # which version?
    ("- uses: actions/checkout@11bd719  # v4.2.2", False),  # a short sha can collide
    ("- uses: actions/checkout@11BD71901BBE5B1630CEEA73D27597364C9AF683  # v4.2.2", False),
    ("#   - uses: actions/checkout@v4", False),  # an example in a comment is copied too
    ("- uses: ./", True),
    ("- uses: docker://alpine:3.20", True),
])
def test_the_pin_check_tells_a_sha_from_a_tag(tmp_path: Path, line: str, pinned: bool) -> None:
    sample = tmp_path / "sample.md"
    sample.write_text(line + "\n", encoding="utf-8")
    assert (pin_problems(sample, parsed=False) == []) is pinned
