"""The CI workflow for users.json (.github/workflows/users.yml). GitHub is not here, so
the `users` job's own scripts run on a scratch repository shaped like a pull request:
main with some people, a branch with a change. What GitHub provides (the checkout, the
base branch as a ref, $GITHUB_STEP_SUMMARY) is provided the same way."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import ROOT, copy_project, write_json
from users_authentik.loading import Paths, load
from users_authentik.module_dir import write as write_module
from users_authentik.synth import MODULE_FILES, ROWS_FILE, render_rows

WORKFLOW = ROOT / ".github" / "workflows" / "users.yml"
EXTRA = ("Makefile", "requirements.txt", "requirements-dev.txt", ".gitignore")

pytestmark = pytest.mark.skipif(shutil.which("git") is None or shutil.which("make") is None,
                                reason="needs git and make")


def workflow() -> dict[str, Any]:
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))


def step(job: str, step_id: str) -> dict[str, Any]:
    [found] = [s for s in workflow()["jobs"][job]["steps"] if s.get("id") == step_id]
    return found


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
    directory, settings, problems = load(Paths(root))
    assert not problems, problems
    write_module(root / "generated", {ROWS_FILE: render_rows(directory)}, MODULE_FILES)


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


@pytest.fixture
def repo(base_repo: Path, tmp_path: Path) -> Path:
    """A clone of main with a branch `change` checked out, as actions/checkout leaves it."""
    root = tmp_path / "repo"
    shutil.copytree(base_repo, root, symlinks=True)
    (root / ".venv").symlink_to(ROOT / ".venv")  # what the job's `make synth` sets up
    git(root, "checkout", "-q", "-b", "change")
    return root


def commit(repo: Path, document: dict[str, Any], *, regenerate: bool) -> None:
    write_json(repo / "users.json", document)
    if regenerate:
        regenerate_rows(repo)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--no-verify", "-m", "change")


def run_step(repo: Path, step_id: str) -> tuple[subprocess.CompletedProcess, str]:
    summary = repo.parent / "summary.md"
    summary.write_text("", encoding="utf-8")
    env = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "18,20",
           "GITHUB_STEP_SUMMARY": str(summary), "BASE": "main"}  # origin/<base_ref> on GitHub
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
    assert "removes 4 of the 10 users at main" in guard.stderr
    assert "user4" in summary  # the summary still shows what the change does


def test_the_guard_sees_the_base_branch() -> None:
    checkout = workflow()["jobs"]["users"]["steps"][0]
    assert checkout["uses"].startswith("actions/checkout@")
    assert checkout["with"]["fetch-depth"] == 0  # a shallow clone has no base to compare with
    guard = step("users", "guard")
    assert guard["if"] == "github.event_name == 'pull_request'"
    assert guard["env"]["BASE"] == "origin/${{ github.base_ref }}"  # passed by env, never pasted into the script
    assert "${{" not in guard["run"] and "${{" not in step("users", "synth")["run"]


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
    script = step("users", "synth")["run"].replace("make --no-print-directory synth",
                                                   "touch generated/ignored.tf.json")
    summary_env = {**os.environ, "GITHUB_STEP_SUMMARY": os.devnull}
    done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
                          cwd=repo, env=summary_env, capture_output=True, text=True)
    assert done.returncode == 1
    assert "> generated/ignored.tf.json" in done.stdout
    assert "the files committed in generated/ are not the ones synth writes" in done.stdout
