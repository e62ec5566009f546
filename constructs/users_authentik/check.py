"""Check: a parsed users.json -> every Problem at once (schema rules, then meaning).

The semantic checks run even when the schema check found problems, so one run reports
everything; they only look at the parts that have the right shape.
"""

from __future__ import annotations

import difflib
import json
from typing import Any

from .problems import Problem, where
from .schema_check import check_schema
from .settings import Settings

SCHEMA = "users.schema.json"

# Accounts Authentik creates and owns itself. akadmin is the break-glass account, kept
# outside this pipeline on purpose: it is the way back in if the pipeline breaks.
# Outpost service accounts are "ak-outpost-<uuid>"; the whole "ak-" prefix is reserved
# because Authentik names its internal accounts that way.
RESERVED_USERNAMES = frozenset({"akadmin", "AnonymousUser"})
RESERVED_PREFIXES = ("ak-",)


def check_users(data: Any, settings: Settings, file: str) -> list[Problem]:
    problems = check_schema(data, SCHEMA, file)
    if not isinstance(data, dict) or not isinstance(data.get("users"), dict):
        return problems
    users = {name: entry for name, entry in data["users"].items() if isinstance(entry, dict)}
    declared = data.get("groups") if isinstance(data.get("groups"), dict) else None
    for check in (_reserved, _case_clashes, _duplicate_emails, _lockout):
        problems += check(users, file)
    problems += _allowed_but_present(data.get("offboarding"), users, file)
    problems += _groups(users, declared, settings.users.superuser_group, file)
    problems += _duplicate_ids(users, declared or {}, file)
    return sorted(set(problems))


def _reserved(users: dict[str, dict], file: str) -> list[Problem]:
    return [Problem(file, where("users", name),
                    f'"{name}" is an account Authentik creates and manages itself'
                    + (" (the break-glass admin, kept outside this pipeline)" if name == "akadmin" else ""),
                    "remove this entry; manage that account in Authentik directly")
            for name in users
            if name in RESERVED_USERNAMES or name.startswith(RESERVED_PREFIXES)]


def _case_clashes(users: dict[str, dict], file: str) -> list[Problem]:
    # Authentik matches usernames case-insensitively at login, so "Ana" and "ana" collide.
    first: dict[str, str] = {}
    problems = []
    for name in sorted(users):
        other = first.setdefault(name.casefold(), name)
        if other != name:
            problems.append(Problem(file, where("users", name),
                                    f'differs from user "{other}" only in upper/lower case',
                                    "use one entry per person; usernames must differ by more than case"))
    return problems


def _duplicate_emails(users: dict[str, dict], file: str) -> list[Problem]:
    owner: dict[str, str] = {}
    problems = []
    for name in sorted(users):
        email = users[name].get("email")
        if not isinstance(email, str):
            continue
        other = owner.setdefault(email.strip().casefold(), name)
        if other != name:
            problems.append(Problem(file, where("users", name, "email"),
                                    f'"{email}" is already the email of user "{other}" (emails are compared ignoring case)',
                                    "give each person their own email address"))
    return problems


def _lockout(users: dict[str, dict], file: str) -> list[Problem]:
    if any(u.get("is_admin") is True and u.get("active", True) is True for u in users.values()):
        return []
    return [lockout_problem(file)]


def lockout_problem(file: str) -> Problem:
    """Also looked for by guard.py, which explains it when a change causes it."""
    return Problem(file, "users", "no active user has \"is_admin\": true; applying this would leave "
                                  "nobody but the break-glass account able to administer Authentik",
                   'keep at least one active user with "is_admin": true')


def _allowed_but_present(offboarding: Any, users: dict[str, dict], file: str) -> list[Problem]:
    # An override naming someone who stays would let a later accident delete them silently.
    names = offboarding.get("allow_removal") if isinstance(offboarding, dict) else None
    if not isinstance(names, list):
        return []
    return [Problem(file, where("offboarding", "allow_removal", i),
                    f'"{name}" is still in "users"; the override may only name users this change removes',
                    f'remove "{name}" from allow_removal, or remove the user "{name}" if they are leaving')
            for i, name in enumerate(names) if isinstance(name, str) and name in users]


def _groups(users: dict[str, dict], declared: dict | None, superuser_group: str, file: str) -> list[Problem]:
    problems = []
    if declared is not None and superuser_group in declared:
        problems.append(Problem(file, where("groups", superuser_group),
                                f'"{superuser_group}" is the superuser group, which this module only looks up',
                                'remove it from "groups"; grant it with "is_admin": true on the user'))
    for name in sorted(users):
        groups = users[name].get("groups")
        if not isinstance(groups, list):
            continue
        for i, group in enumerate(groups):
            if not isinstance(group, str):
                continue
            if group == superuser_group:
                problems.append(Problem(file, where("users", name, "groups", i),
                                        f'"{group}" is the superuser group; membership is granted by "is_admin"',
                                        f'remove "{group}" from groups and set "is_admin": true'))
            elif declared is not None and group not in declared:
                close = difflib.get_close_matches(group, list(declared), n=1)
                problems.append(Problem(file, where("users", name, "groups", i),
                                        f'group "{group}" is not declared in the top-level "groups" section'
                                        + (f' (did you mean "{close[0]}"?)' if close else ""),
                                        f'correct the name, or add "{group}": {{}} to "groups"'))
    return problems


def _duplicate_ids(users: dict[str, dict], declared: dict, file: str) -> list[Problem]:
    # Two entries adopting one Authentik object would both import it: Terraform refuses
    # the second, and one of the two entries would silently describe someone else.
    problems = []
    for section, entries, kind in (("users", users, "user"), ("groups", declared, "group")):
        owner: dict[str, str] = {}
        for name in sorted(entries):
            entry = entries[name]
            value = entry.get("authentik_id") if isinstance(entry, dict) else None
            if isinstance(value, bool) or not isinstance(value, (int, float, str)):
                continue
            key = value.lower() if isinstance(value, str) else str(int(value))
            other = owner.setdefault(key, name)
            if other != name:
                problems.append(Problem(file, where(section, name, "authentik_id"),
                                        f'{json.dumps(value)} is already the authentik_id of {kind} "{other}"; '
                                        "one Authentik object can be adopted by one entry only",
                                        f"check both ids in the Authentik admin UI and keep the id only on the {kind} it belongs to"))
    return problems
