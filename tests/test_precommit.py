"""pre-commit on a temporary clone: a stale generated/ fails the commit, a fresh one passes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT

PRE_COMMIT = Path(sys.executable).parent / "pre-commit"

pytestmark = pytest.mark.skipif(not PRE_COMMIT.exists() or shutil.which("git") is None,
                                reason="pre-commit or git not installed (make setup installs pre-commit)")


@pytest.fixture(scope="module", autouse=True)
def installed_from_this_checkout() -> None:
    """The hook runs `make synth` with this venv (VENV below). Make installs the package
    editable from where it runs whenever the venv has no stamp for the current
    requirements.txt, so in a clone it would re-point the venv at the clone. `make install`
    here first leaves the stamps current: the hook then installs nothing."""
    venv = Path(sys.executable).parent.parent
    subprocess.run(["make", "-s", "install", f"VENV={venv}"], cwd=ROOT, check=True, capture_output=True,
                   timeout=300)


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """A new repository holding the working tree's files (tracked and untracked, not ignored)."""
    repo = tmp_path / "clone"
    repo.mkdir()
    files = git(ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard").split("\0")
    for name in filter(None, files):
        src = ROOT / name
        if src.is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, repo / name)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.email", "ci@example.org")
    git(repo, "config", "user.name", "CI")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base", "--no-verify")
    return repo


def pre_commit(repo: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "VENV": str(Path(sys.executable).parent.parent),
           "PRE_COMMIT_HOME": str(repo.parent / "pre-commit-home")}
    return subprocess.run([str(PRE_COMMIT), "run", *args], cwd=repo, capture_output=True, text=True,
                          env=env, timeout=300)


def add_user(repo: Path) -> None:
    doc = json.loads((repo / "users.json").read_text())
    doc["users"]["newhire"] = {"name": "New Hire", "email": "newhire@example.org"}
    (repo / "users.json").write_text(json.dumps(doc, indent=2) + "\n")


def test_all_files_pass_on_a_fresh_clone(clone: Path) -> None:
    result = pre_commit(clone, "--all-files")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "synth generated/" in result.stdout and "Passed" in result.stdout


def test_users_json_changed_without_generated_fails(clone: Path) -> None:
    add_user(clone)
    git(clone, "add", "users.json")
    result = pre_commit(clone)
    assert result.returncode != 0
    assert "files were modified by this hook" in result.stdout
    assert "newhire" in (clone / "generated" / "users.tf.json").read_text()  # the fix, ready to add


def test_users_json_and_generated_changed_together_pass(clone: Path) -> None:
    add_user(clone)
    subprocess.run([sys.executable, "main.py"], cwd=clone, check=True, capture_output=True)
    git(clone, "add", "users.json", "generated")
    result = pre_commit(clone)
    assert result.returncode == 0, result.stdout + result.stderr


def test_bad_users_json_fails_the_check_hook(clone: Path) -> None:
    doc = json.loads((clone / "users.json").read_text())
    doc["users"]["stefan"]["emial"] = "typo@example.org"
    (clone / "users.json").write_text(json.dumps(doc, indent=2))
    git(clone, "add", "users.json")
    result = pre_commit(clone)
    assert result.returncode != 0
    assert 'unknown key "emial"' in result.stdout + result.stderr


def test_hooks_skip_when_their_inputs_did_not_change(clone: Path) -> None:
    (clone / "NOTES.txt").write_text("unrelated\n")
    git(clone, "add", "NOTES.txt")
    result = pre_commit(clone)
    assert result.returncode == 0
    assert result.stdout.count("(no files to check)Skipped") == 1, result.stdout  # the one hook


def test_a_problem_is_reported_once(clone: Path) -> None:
    """synth makes the checks itself; no second hook repeats them."""
    doc = json.loads((clone / "users.json").read_text())
    doc["users"]["newhire"] = {"name": "New Hire", "emial": "newhire@example.org"}
    (clone / "users.json").write_text(json.dumps(doc, indent=2) + "\n")
    git(clone, "add", "users.json")
    result = pre_commit(clone)
    assert result.returncode != 0
    assert (result.stdout + result.stderr).count('unknown key "emial"') == 1, result.stdout
