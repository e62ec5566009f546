"""`python3 main.py plan [--base REF]`: the offline plan preview (constructs/users_authentik/plan.py).

The end-to-end test runs main.py in a scratch git repo (copy_project + tests/standin + git init +
commit) and needs terraform or tofu (skipped otherwise); the rest needs neither.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import ROOT, copy_project, read_json, run_main, tree_digest, write_json
from users_authentik import plan as plan_module
from users_authentik.plan import destroyed_user_addresses, summarize
from users_authentik.revision import NoRevision

GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.org", "GIT_CONFIG_NOSYSTEM": "1"}
ALICE = {"name": "Alice Example", "email": "alice@example.org", "groups": ["admins"]}
BOB = {"name": "Bob Example", "email": "bob@example.org", "groups": ["admins"]}


def git(root: Path, *args: str) -> str:
    result = subprocess.run(["git", "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main", *args],
                            cwd=root, capture_output=True, text=True, env={**os.environ, **GIT_ENV}, check=True)
    return result.stdout


def make_repo(root: Path, users: dict[str, Any]) -> Path:
    """A scratch checkout with tests/standin, whose users.json (+ generated/) is committed."""
    copy_project(root)
    shutil.copytree(ROOT / "tests" / "standin", root / "tests" / "standin",
                    ignore=shutil.ignore_patterns("__pycache__"))
    if users:  # otherwise the copy's users.json and generated/ are the committed ones
        doc = read_json(root / "users.json")
        doc["users"].update(users)
        write_json(root / "users.json", doc)
        assert run_main(root).returncode == 0
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    return root


# ----------------------------------------------------------------- end to end, with terraform


def test_plan_names_the_create_and_the_destroy(tmp_path: Path, terraform_cli: str) -> None:
    repo = make_repo(tmp_path / "repo", {"alice": ALICE})
    doc = read_json(repo / "users.json")
    del doc["users"]["alice"]
    doc["users"]["bob"] = BOB
    write_json(repo / "users.json", doc)
    before = tree_digest(repo / "generated")

    result = run_main(repo, "plan")

    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "STAND-IN authentik provider" in out and "ids and other" in out
    assert "not what users.json gives" in out  # generated/ was not regenerated
    assert 'authentik_user.users["bob"] will be created' in out
    assert 'authentik_user.users["alice"] will be destroyed' in out
    assert "Plan: 1 to add, 0 to change, 1 to destroy." in out  # terraform's own line
    assert "Summary: 1 to create, 0 to update, 1 to destroy (HEAD " in out
    assert '!! DESTROYS 1 user account ' in out
    assert '!!   authentik_user.users["alice"]\n' in out
    assert "stefan" not in out.split("Terraform will perform the following actions:")[1].split("Plan:")[0]
    # The preview writes nothing in the repo.
    assert tree_digest(repo / "generated") == before
    assert git(repo, "status", "--porcelain") == " M users.json\n"


def test_a_base_terraform_rejects_fails_with_its_diagnostics(tmp_path: Path, terraform_cli: str) -> None:
    repo = make_repo(tmp_path / "repo", {})
    # A hand edit inside the module (another file in generated/ is refused before plan runs).
    stack = read_json(repo / "generated" / "cdk.tf.json")
    stack["resource"]["authentik_group"]["broken"] = {"name": "g", "superuser": True}
    write_json(repo / "generated" / "cdk.tf.json", stack)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "a hand edit terraform rejects")
    result = run_main(repo, "plan")
    assert result.returncode == 1
    assert "superuser" in result.stderr  # terraform's own diagnostic
    assert result.stderr.rstrip().splitlines()[-1] == (
        "main.py plan: terraform apply of HEAD's generated/ (to build the base state) failed")


# ----------------------------------------------------------------- errors


def test_outside_a_git_repo_is_a_problem_as_for_check_and_diff(tmp_path: Path) -> None:
    root = copy_project(tmp_path / "not-a-repo")
    result = run_main(root, "plan", env={"GIT_CEILING_DIRECTORIES": str(tmp_path)})
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"generated/: (git, HEAD): {root} is not inside a git repository, so there is no committed "
        "version to compare with",
        "    fix: run it in a clone of the repository, or use `python3 main.py check`",
        "1 problem found; nothing was written to generated/ (plan writes nothing)."]


def test_a_bad_base_is_the_same_problem_for_check_diff_and_plan(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {})
    for command in ("check", "diff", "plan"):
        result = run_main(repo, command, "--base", "no-such-branch")
        assert result.returncode == 1, (command, result.stderr)
        assert ('(git, no-such-branch): "no-such-branch" is not a commit in this repository\n'
                "    fix: name an existing branch, tag or commit") in result.stderr, command
        assert "Traceback" not in result.stderr
    assert run_main(repo, "plan", "--base=--all").stderr.startswith(
        'generated/: (git, --all): "--all" is not a git revision')


def test_a_repository_without_commits_has_nothing_to_plan_against(tmp_path: Path) -> None:
    root = copy_project(tmp_path / "repo")
    git(root, "init", "-q")
    result = run_main(root, "plan")
    assert result.returncode == 1
    assert result.stderr.startswith("generated/: (git, HEAD): HEAD has no commit yet, so there is no "
                                    "applied generated/ to plan against")


def test_no_terraform_on_path_says_how_to_install(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {})
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "git").symlink_to(shutil.which("git"))
    result = run_main(repo, "plan", env={"PATH": str(bin_dir)})
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("main.py plan: neither terraform nor tofu is on PATH; install Terraform (https://")
    assert "OpenTofu" in line


def test_input_problems_are_reported_before_planning(tmp_path: Path) -> None:
    root = copy_project(tmp_path / "bad")
    doc = read_json(root / "users.json")
    doc["users"]["x y"] = {"name": "X", "email": "x@example.org"}
    write_json(root / "users.json", doc)
    result = run_main(root, "plan")
    assert result.returncode == 1 and "x y" in result.stderr and "main.py plan" not in result.stderr


# ----------------------------------------------------------------- git and plan helpers, no terraform


def test_base_generated_is_read_from_the_ref_even_in_a_subdirectory(tmp_path: Path) -> None:
    outer = tmp_path / "monorepo"
    outer.mkdir()
    git(outer, "init", "-q")
    root = copy_project(outer / "users-authentik")
    git(outer, "add", "-A")
    git(outer, "commit", "-q", "-m", "base")
    (root / "generated" / "users.tf.json").write_text("changed in the working tree")
    commit = plan_module.resolve_ref(root, "HEAD")
    names = plan_module.export_generated(root, commit, tmp_path / "out")
    assert names == ["cdk.tf.json", "users.tf.json"]
    for name in names:
        assert (tmp_path / "out" / name).read_bytes() == (ROOT / "generated" / name).read_bytes()


def test_a_ref_without_generated_is_an_empty_base(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    (tmp_path / "README").write_text("before generated/ existed\n")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "first")
    assert plan_module.export_generated(tmp_path, plan_module.resolve_ref(tmp_path, "HEAD"), tmp_path / "o") == []


def test_refs_that_look_like_options_are_refused(tmp_path: Path) -> None:
    make_repo(tmp_path / "repo", {})
    with pytest.raises(NoRevision, match="is not a git revision"):
        plan_module.resolve_ref(tmp_path / "repo", "--all")


def _rc(address: str, *actions: str, mode: str = "managed") -> dict[str, Any]:
    rtype = address.split("[")[0].split(".")[-2] if mode == "managed" else address.split(".")[1]
    return {"address": address, "mode": mode, "type": rtype, "change": {"actions": list(actions)}}


def test_destroyed_user_addresses_and_summary() -> None:
    plan = {"resource_changes": [
        _rc('authentik_user.users["bob"]', "delete"),
        _rc('authentik_user.users["alice"]', "delete", "create"),  # a replace deletes the account too
        _rc('authentik_user.users["carol"]', "create"),
        _rc('authentik_user.users["dave"]', "update"),
        _rc('authentik_user.users["erin"]', "no-op"),
        _rc('authentik_group.groups["old"]', "delete"),
        _rc("data.authentik_group.superusers", "read", mode="data"),
    ]}
    assert destroyed_user_addresses(plan) == ['authentik_user.users["alice"]', 'authentik_user.users["bob"]']
    summary = summarize(plan)
    assert (summary.create, summary.update, summary.destroy, summary.replace) == (2, 1, 3, 1)
    assert summary.line() == "2 to create, 1 to update, 3 to destroy (1 replaced: destroyed, then created)"
    assert destroyed_user_addresses({}) == [] and not summarize({"resource_changes": []}).changes
