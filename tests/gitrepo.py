"""A scratch copy of the project that is its own git repository, for the tests of
`main.py diff` and the removal guard (both compare users.json with a commit)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import copy_project, write_json

# Nothing from the caller's git (a hook's GIT_DIR, a global config with signing) may leak in.
ISOLATED = {**{k: v for k, v in os.environ.items() if not k.startswith("GIT_")},
            "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.org",
            "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.org"}


def isolate_git(monkeypatch: pytest.MonkeyPatch) -> None:
    """For in-process runs of main(): the code under test calls git with os.environ."""
    for key in list(os.environ):
        if key.startswith("GIT_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)


@pytest.fixture
def isolated_git(monkeypatch: pytest.MonkeyPatch) -> None:
    """`pytestmark = pytest.mark.usefixtures("isolated_git")` in modules that run main() in process."""
    isolate_git(monkeypatch)


def run_in_process(root: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """main(args) on the data directory root: its exit code and everything it printed."""
    from users_authentik.cli import main

    code = main(list(args), root=root)
    out, err = capsys.readouterr()
    return code, out + err


def git(root: Path, *args: str) -> str:
    result = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, env=ISOLATED)
    assert result.returncode == 0, result.stderr
    return result.stdout


def git_project(dest: Path, users: dict[str, Any] | None = None, *, commit: bool = True) -> Path:
    """copy_project + `git init`, with users.json replaced by `users` if given, committed."""
    root = copy_project(dest)
    if users is not None:
        write_json(root / "users.json", users)
    git(root, "init", "-q", "-b", "main")
    if commit:
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", "base")
    return root


def user(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name.capitalize(), "email": f"{name}@example.org", **extra}
