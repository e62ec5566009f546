"""users.json + settings.json in a folder -> the validated model, or every problem in both.

The working tree's copy (cli.py, diff.py) and a git revision's copy (revision.py) are
loaded by the same code, so both are read and checked alike.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .check import FREE_FORM, check_users
from .model import Roster, build_roster
from .parse import load_json
from .problems import Problem
from .settings import Settings, load_settings

SettingsRead = tuple[Settings | None, list[Problem]]  # what load_settings returns


@dataclass(frozen=True)
class Paths:
    root: Path

    @property
    def users(self) -> Path:
        return self.root / "users.json"

    @property
    def settings(self) -> Path:
        return self.root / "settings.json"

    @property
    def generated(self) -> Path:
        return self.root / "generated"


@dataclass(frozen=True)
class Files:
    """users.json and settings.json as read: parsed, not yet checked."""

    settings: Settings | None  # None if settings.json has problems
    document: Any  # users.json as parsed; None if it is not JSON
    problems: list[Problem]  # settings.json's, and users.json's parse problems


def not_a_file(path: Path, file: str) -> Problem | None:
    """A Problem if `path` exists but is not a plain file. A symbolic link (git mode 120000)
    would make the checks read another file than the one reviewed, or one outside the repo."""
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return None  # absent: each loader says what that means
    except OSError as err:
        return Problem(file, "(file)", f"cannot be read: {err}", "make it a readable UTF-8 text file")
    if stat.S_ISLNK(mode):
        target = json.dumps(os.readlink(path))  # ASCII, quoted: the target is the change's text
        return Problem(file, "(file)", f"is a symbolic link (to {target}), not a file; the checks read "
                       "only a plain file, so that what is reviewed is what is applied",
                       f"replace the link by a plain file with the content itself (git shows a link as "
                       f"mode 120000): rm {file}, then write {file} anew")
    if not stat.S_ISREG(mode):
        return Problem(file, "(file)", "is not a plain file (a folder, device or pipe)",
                       f"make {file} a plain UTF-8 text file")
    return None


def read_settings(paths: Paths) -> SettingsRead:
    """settings.json -> Settings (defaults if absent), or its problems."""
    refused = not_a_file(paths.settings, "settings.json")
    return (None, [refused]) if refused else load_settings(paths.settings)


def read(paths: Paths) -> Files:
    settings, problems = read_settings(paths)
    refused = not_a_file(paths.users, "users.json")
    document, parse_problems = (None, [refused]) if refused else load_json(paths.users, "users.json", FREE_FORM)
    return Files(settings, document, problems + parse_problems)


def validate(files: Files) -> tuple[Roster | None, Settings | None, list[Problem]]:
    """The validated model, or every problem in both files."""
    settings, problems = files.settings, list(files.problems)
    if files.document is not None:
        problems += check_users(files.document, settings or Settings.defaults(), "users.json")
    if problems or settings is None:
        return None, None, problems
    return build_roster(files.document, settings), settings, []


def load(paths: Paths) -> tuple[Roster | None, Settings | None, list[Problem]]:
    """users.json + settings.json -> validated model, or every problem in both files."""
    return validate(read(paths))


def build_unchecked(paths: Paths) -> tuple[Roster, Settings] | None:
    """The model (and settings) of files that passed load() when they were committed, built
    without checking them again (the removal guard, on every synth); None if it cannot be
    built, or not with the model's types, as a file committed past the checks may not (a
    number for a name)."""
    files = read(paths)
    if files.problems or files.settings is None:
        return None
    try:
        roster = build_roster(files.document, files.settings)
    except (KeyError, TypeError, AttributeError, ValueError):
        # Not the model's shape. load() then says why, and should the file pass its checks,
        # builds it again and raises: a bug in build_roster is not hidden here.
        return None
    return (roster, files.settings) if _typed(roster) else None


def _typed(roster: Roster) -> bool:
    # What readers of the model rely on: diff prints names and groups, the guard reads the
    # flags ("yes" would count as an admin). 5 ms at 10,000 users.
    return all(isinstance(u.name, str) and isinstance(u.email, str) and isinstance(u.path, str)
               and isinstance(u.is_admin, bool) and isinstance(u.active, bool)
               and all(isinstance(g, str) for g in u.groups)
               for u in roster.users)
