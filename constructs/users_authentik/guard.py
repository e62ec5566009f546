"""The removal guard: a change to users.json may not delete many accounts at once, nor
leave nobody able to administer Authentik.

Deleting an Authentik user deletes its passkeys and TOTP devices; a bad merge that empties
users.json would lock the organisation out. So `python3 main.py` (synth and check, which
pre-commit runs) compares users.json with the last commit (git HEAD, or --base REF) and
refuses a change that removes more than

    allowance = max(max_removals, floor(max_removal_percent% of the users at the base))

users (settings.json "offboarding"; defaults 3 and 10), unless users.json names every one
of them in "offboarding": {"allow_removal": [...]}: a deliberate override that is
committed with the removal, so it stays in the history. Destroys are counted once, by
changes.planned_user_destroys, which `main.py diff` uses too.

No git, no commit yet, or no users.json at HEAD: nothing to compare, the guard passes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from .changes import planned_user_destroys
from .check import lockout_problem
from .model import Directory
from .problems import Problem, where
from .revision import NoRevision, load_revision, read_files, unchanged
from .settings import OffboardingSettings, Settings

FILE = "users.json"


def removal_allowance(total: int, settings: OffboardingSettings) -> int:
    """How many of `total` users one change may remove without an override."""
    share = Fraction(str(settings.max_removal_percent)) * total / 100
    return max(settings.max_removals, int(share))


@dataclass(frozen=True)
class Verdict:
    """The guard's view of one change; `problems` empty means synth accepts it."""

    removed: tuple[str, ...]
    total: int  # users at the base
    allowed: int
    overridden: bool  # more than allowed, and every one named in allow_removal
    problems: tuple[Problem, ...]


def judge(base: Directory, head: Directory, settings: OffboardingSettings, ref: str = "HEAD") -> Verdict:
    removed = planned_user_destroys(base, head)
    allowed = removal_allowance(len(base.users), settings)
    problems: list[Problem] = []
    unlisted = [name for name in removed if name not in head.allow_removal]
    if len(removed) > allowed and unlisted:
        listing = json.dumps(list(removed), ensure_ascii=False)
        problems.append(Problem(
            FILE, "users",
            f"this change removes {len(removed)} of the {len(base.users)} users at {ref} "
            f"({', '.join(removed)}), more than the {allowed} one change may remove without an override "
            f"(settings.json offboarding: max_removals {settings.max_removals}, max_removal_percent "
            f"{settings.max_removal_percent:g}); deleting an account deletes its passkeys and TOTP devices"
            + (f"; offboarding.allow_removal does not name {', '.join(unlisted)}"
               if head.allow_removal else ""),
            f'if this is intended, name exactly these users in users.json: "offboarding": {{"allow_removal": {listing}}}; '
            f"if not, restore them from {ref} (`python3 main.py diff` shows the change), "
            'or suspend them with "active": false instead'))
    if head != base:
        # A name left from an earlier removal: the override is for one change only.
        problems += [Problem(FILE, where("offboarding", "allow_removal"),
                             f'"{name}" is not removed by this change (there is no such user at {ref} either)',
                             f'remove "{name}" from allow_removal: the list names only the users this change '
                             "removes, and is emptied in the next change")
                     for name in head.allow_removal if name not in removed]
    return Verdict(removed, len(base.users), allowed, len(removed) > allowed and not unlisted, tuple(problems))


def explain_lockout(problems: list[Problem], base: Directory, document: Any, ref: str) -> list[Problem]:
    """Replace "no active admin" by what this change did to the admins there were at ref
    (document: the working tree's users.json as parsed, which has problems, so no model)."""
    generic = lockout_problem(FILE)
    admins = [u.username for u in base.admins if u.active]
    if generic not in problems or not admins:
        return problems
    entries = document.get("users") if isinstance(document, dict) else None
    entries = entries if isinstance(entries, dict) else {}
    what = []
    for name in admins:
        entry = entries.get(name)
        if not isinstance(entry, dict):
            what.append(f"removes {name}")
        elif entry.get("active", True) is not True:
            what.append(f"suspends {name}")
        else:
            what.append(f"takes is_admin from {name}")
    them = f"the only active admin at {ref}" if len(admins) == 1 else f"the {len(admins)} active admins at {ref}"
    clear = Problem(FILE, "users",
                    f"this change {', '.join(what)}: {them}; it would leave nobody but the break-glass "
                    "account able to administer Authentik",
                    f'keep {" or ".join(admins)} an active admin, or make another active user an admin '
                    '("is_admin": true) in the same change; to retire an admin, hand over first')
    return sorted(clear if p == generic else p for p in problems)


def guard(root: Path, ref: str | None, head: Directory | None, settings: Settings | None,
          problems: list[Problem], document: Any) -> tuple[list[Problem], list[str]]:
    """For synth and check: (problems, notes); document is users.json as parsed. `ref` None
    means HEAD, where having nothing to compare with (no git, no commit) is fine; an explicit
    --base must exist."""
    if head is None and lockout_problem(FILE) not in problems:
        return problems, []  # the input has other problems: fix those first
    try:
        files = read_files(root, ref or "HEAD")
    except NoRevision as missing:
        return (problems if ref is None and missing.no_git else problems + [missing.problem]), []
    if head is not None and unchanged(root, files):
        return problems, []  # nothing changed (a clean checkout, CI): no need to load it twice
    base, _ = load_revision(root, ref or "HEAD", files, check=False)
    if base is None:
        return problems, [f"note: users.json at {ref or 'HEAD'} is not valid, so the removal guard "
                          "had nothing to compare with (`python3 main.py diff` shows why)"]
    problems = explain_lockout(problems, base, document, ref or "HEAD")
    if head is None or settings is None:
        return problems, []
    return problems + list(judge(base, head, settings.offboarding, ref or "HEAD").problems), []
