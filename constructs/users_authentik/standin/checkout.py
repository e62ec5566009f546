"""A scratch copy of a checkout of this repository: what main.py needs to run there, and
such a copy made a git repository with an onboarding commit in its working tree.

For the tests and bench/ (a scratch copy may be changed or timed; the checkout never is).
Only meaningful from a checkout: an installed package has none to copy.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from .workload import users_document, with_one_more_user

CHECKOUT = Path(__file__).resolve().parents[3]  # constructs/users_authentik/standin -> the checkout
# What a checkout needs to run main.py (tests never read outside the repo).
PROJECT_FILES = ("main.py", "cdktf.json", "users.json", "settings.json", "requirements.txt", "constructs", "schemas",
                 "generated")


def copy_project(dest: Path, source: Path = CHECKOUT) -> Path:
    """What main.py needs, from this checkout (or another one: bench.py --source)."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in PROJECT_FILES:
        src = source / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif src.exists():
            shutil.copy2(src, dest / name)
    return dest


def write_users(root: Path, document: dict[str, Any]) -> None:
    (root / "users.json").write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def commit_all(root: Path) -> None:
    """root made a git repository with everything in it committed."""
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "--no-verify", "-m", "bench"]):
        subprocess.run(["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid",
                        "-C", str(root), *args], check=True, capture_output=True)


def onboarding_repo(source: Path, dest: Path, n: int, seed: int) -> Path:
    """A git repo of the project with n users committed and one more person in the working
    tree: the commit a pre-commit hook sees when someone is onboarded. main.py's removal
    guard then reads and compares users.json at HEAD, as it does in every real hook run.
    Raises FileNotFoundError without git."""
    if shutil.which("git") is None:
        raise FileNotFoundError("git is needed: main.py compares users.json with the last commit")
    root = copy_project(dest, source)
    document = users_document(n, seed)
    write_users(root, document)
    commit_all(root)
    write_users(root, with_one_more_user(document, seed)[0])
    return root
