"""A scratch copy of a checkout of this repository: what main.py needs to run there.

For the tests and bench/ (a scratch copy may be changed or timed; the checkout never is).
Only meaningful from a checkout: an installed package has none to copy.
"""

from __future__ import annotations

import shutil
from pathlib import Path

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
