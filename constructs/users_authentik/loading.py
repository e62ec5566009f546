"""users.json + settings.json as bytes -> the validated model, or every problem in both.

The working tree's copy (read_folder) and a git revision's copy (revision.py) are both
Sources, loaded by the same code, so both are read and checked alike.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from .check import FREE_FORM, check_users
from .model import Prior, Roster, build_roster, well_typed
from .parse import load_json
from .problems import Problem
from .settings import Settings
from .settings_file import load_settings

USERS, SETTINGS = "users.json", "settings.json"
FILES = (USERS, SETTINGS)


@dataclass(frozen=True)
class Sources:
    """users.json and settings.json as bytes, not yet parsed. A file absent is left out of
    `files`; one that is there but may not be read (a symbolic link, a folder) is in
    `refused` instead, with the Problem saying why."""

    files: Mapping[str, bytes]
    refused: Mapping[str, Problem] = field(default_factory=dict)
    folder: Path | None = None  # the working tree's directory; None for a git revision


@dataclass(frozen=True)
class Loaded:
    """What the checks make of Sources: the model, or every problem in both files."""

    roster: Roster | None  # None if either file has problems
    settings: Settings | None  # likewise
    problems: tuple[Problem, ...]
    document: Any  # users.json as parsed (None if it is not JSON): the guard explains a lockout from it
    sources: Sources


@dataclass(frozen=True)
class _Parsed:
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
        return _unreadable(file, err)
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


def _unreadable(file: str, err: OSError) -> Problem:
    return Problem(file, "(file)", f"cannot be read: {err}", "make it a readable UTF-8 text file")


def folder_problem(root: Path) -> Problem | None:
    """A Problem if -C names no directory."""
    if root.is_dir():
        return None
    return Problem(str(root), "(directory)", "is not a directory",
                   "name the directory that holds users.json with -C, e.g. -C flux-apps/users")


def read_folder(root: Path) -> Sources:
    """The working tree's users.json and settings.json in `root`."""
    files: dict[str, bytes] = {}
    refused: dict[str, Problem] = {}
    for name in FILES:
        path = root / name
        problem = not_a_file(path, name)
        if problem is None:
            try:
                files[name] = path.read_bytes()
            except FileNotFoundError:
                continue  # absent: validate says what that means
            except OSError as err:
                problem = _unreadable(name, err)
        if problem is not None:
            refused[name] = problem
    return Sources(files, refused, root)


@dataclass(frozen=True)
class LoadedSettings:
    """settings.json of Sources, checked: the settings, or its problems."""

    settings: Settings | None  # None if settings.json has problems
    problems: tuple[Problem, ...]


def read_settings(sources: Sources) -> LoadedSettings:
    """settings.json alone: synth reads it first, as it decides whether cdk.tf.json is rebuilt."""
    if SETTINGS in sources.refused:
        return LoadedSettings(None, (sources.refused[SETTINGS],))
    settings, problems = load_settings(sources.files.get(SETTINGS))
    return LoadedSettings(settings, tuple(problems))


def _parse(sources: Sources, loaded_settings: LoadedSettings | None = None) -> _Parsed:
    loaded_settings = loaded_settings or read_settings(sources)
    settings, problems = loaded_settings.settings, list(loaded_settings.problems)
    if USERS in sources.refused:
        document, parse_problems = None, [sources.refused[USERS]]
    elif USERS not in sources.files:
        where = sources.folder / USERS if sources.folder is not None else USERS
        document, parse_problems = None, [Problem(
            USERS, "(file)", f"not found at {where}",
            f"create {USERS} (see the README for its format) or run from the repo root")]
    else:
        document, parse_problems = load_json(sources.files[USERS], USERS, FREE_FORM)
    return _Parsed(settings, document, problems + parse_problems)


def validate(sources: Sources, settings: LoadedSettings | None = None) -> Loaded:
    """The validated model, or every problem in both files. settings: read_settings(sources),
    when the caller read it first."""
    parsed = _parse(sources, settings)
    settings, problems = parsed.settings, list(parsed.problems)
    if parsed.document is not None:
        problems += check_users(parsed.document, settings or Settings.defaults(), USERS)
    if problems or settings is None:
        return Loaded(None, None, tuple(problems), parsed.document, sources)
    return Loaded(build_roster(parsed.document, settings), settings, (), parsed.document, sources)


def build_unchecked(sources: Sources, prior: Prior | None = None) -> tuple[Roster, Settings] | None:
    """The model (and settings) of files that passed validate() when they were committed,
    built without checking them again (the removal guard, on every synth); None if it cannot
    be built, or not with the model's types, as a file committed past the checks may not (a
    number for a name)."""
    parsed = _parse(sources)
    if parsed.problems or parsed.settings is None:
        return None
    try:
        roster = build_roster(parsed.document, parsed.settings, prior)
    except (KeyError, TypeError, AttributeError, ValueError):
        # Not the model's shape. validate() then says why, and should the file pass its
        # checks, builds it again and raises: a bug in build_roster is not hidden here.
        return None
    # What readers of the model rely on: each field of its declared type.
    return (roster, parsed.settings) if well_typed(roster) else None
