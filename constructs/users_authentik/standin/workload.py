"""Benchmark and test inputs: realistic, deterministic users.json documents, and a line-diff counter
of generated files.

Everything here is pure Python with no project imports, so tests can use it cheaply.
A document from `users_document(n, seed)` passes every check of `python3 main.py check`:
unique usernames and emails (compared ignoring case), usernames Authentik accepts, every
group declared, no reserved account or superuser group, and at least one active admin.
"""

from __future__ import annotations

import copy
import difflib
import random
import unicodedata
from pathlib import Path
from typing import Any

FIRST_NAMES = (
    "Ada", "Aiko", "Alejandro", "Amara", "Ana", "Andrei", "Anja", "Arjun", "Astrid", "Ayşe",
    "Bogdan", "Camille", "Chen", "Chiara", "Dario", "Dmitri", "Elena", "Emeka", "Emma", "Farah",
    "Fatima", "Felix", "François", "Georgi", "Hana", "Hannah", "Hiroshi", "Ines", "Ioana", "Ivan",
    "Jamal", "Jana", "Javier", "Jonas", "José", "Julia", "Kai", "Katarzyna", "Kofi", "Lars",
    "Laura", "Leila", "Liam", "Lucía", "Luka", "Maja", "Malik", "Marco", "Maria", "Mateo",
    "Mei", "Mihail", "Mila", "Nadia", "Nikola", "Noah", "Nora", "Olga", "Omar", "Paulo",
    "Petar", "Priya", "Rafael", "Ravi", "Rosa", "Sakura", "Samuel", "Sara", "Siddharth", "Sofia",
    "Stefan", "Sven", "Tariq", "Tomás", "Valentina", "Viktor", "Wei", "Yara", "Yusuf", "Zoë",
)
LAST_NAMES = (
    "Abebe", "Adeyemi", "Alvarez", "Andersen", "Bauer", "Becker", "Bianchi", "Björk", "Chen", "Costa",
    "Dimitrov", "Dubois", "Eriksson", "Fernández", "Fischer", "García", "Georgiev", "Gonzalez", "Gupta", "Hansen",
    "Hoffmann", "Horvat", "Ivanova", "Jansen", "Jovanović", "Kim", "Kowalski", "Kumar", "Larsen", "Lee",
    "Lindqvist", "López", "Marković", "Martin", "Meyer", "Moreau", "Müller", "Nakamura", "Nguyen", "Nielsen",
    "Novak", "Okafor", "Olsen", "Öztürk", "Park", "Patel", "Petrov", "Popescu", "Rahman", "Ricci",
    "Rossi", "Santos", "Sato", "Schmidt", "Schneider", "Silva", "Singh", "Smith", "Stoyanova", "Suzuki",
    "Tanaka", "Todorov", "Wagner", "Wang", "Weber", "Wójcik", "Yamamoto", "Yilmaz", "Zhang", "Zhelev",
)
# Everyone is in one department and in EVERYONE; some have a few OPTIONAL groups too.
DEPARTMENTS = ("engineering", "platform", "sre", "security", "data", "product", "design",
               "marketing", "sales", "support", "finance", "people-ops", "legal")
EVERYONE = "netbird-users"
CONTRACTORS = "contractors"
OPTIONAL_GROUPS = ("vpn-admins", "on-call", "grafana-viewers", "grafana-editors", "ci-maintainers",
                   "incident-commanders", "interns", "office-sofia", "office-berlin", "office-remote")
GROUP_ATTRIBUTES = {EVERYONE: {"netbird": True}, "vpn-admins": {"netbird": True, "tier": "admin"},
                    CONTRACTORS: {"expires_review": "quarterly"}}
COMPANY_DOMAIN = "example.com"
CONTRACTOR_DOMAIN = "partners.example.net"


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return "".join(c for c in folded.lower() if c.isalnum())


def _person(rng: random.Random, taken: set[str]) -> tuple[str, str]:
    """A display name and a username not in `taken` (first.last, then first.last2, ...)."""
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    base = f"{_ascii(first)}.{_ascii(last)}"
    username, n = base, 1
    while username in taken:
        n += 1
        username = f"{base}{n}"
    taken.add(username)
    return f"{first} {last}", username


def _entry(rng: random.Random, display: str, username: str) -> dict[str, Any]:
    contractor = rng.random() < 0.06
    groups = {rng.choice(DEPARTMENTS), EVERYONE}
    groups.update(rng.sample(OPTIONAL_GROUPS, k=rng.choice((0, 0, 1, 1, 2, 3))))
    if contractor:
        groups.add(CONTRACTORS)
    entry: dict[str, Any] = {
        "name": display,
        "email": f"{username}@{CONTRACTOR_DOMAIN if contractor else COMPANY_DOMAIN}",
        "groups": sorted(groups),
    }
    if rng.random() < 0.01:
        entry["is_admin"] = True
    if rng.random() < 0.04:
        entry["active"] = False
    if contractor:
        entry["path"] = "users/contractors"
    return entry


def users_document(n: int, seed: int = 6) -> dict[str, Any]:
    """A users.json document with n users (n >= 1); the same (n, seed) gives the same bytes."""
    if n < 1:
        raise ValueError("n must be at least 1 (the lockout check needs an active admin)")
    rng = random.Random(f"users-authentik-bench:{seed}")
    taken: set[str] = set()
    users: dict[str, dict[str, Any]] = {}
    for _ in range(n):
        display, username = _person(rng, taken)
        users[username] = _entry(rng, display, username)
    # The lockout check wants an active admin; make the first person one, whatever the dice said.
    first = users[next(iter(users))]
    first["is_admin"] = True
    first.pop("active", None)
    return {
        "$schema": "./schemas/users.schema.json",
        "groups": {g: ({"attributes": GROUP_ATTRIBUTES[g]} if g in GROUP_ATTRIBUTES else {})
                   for g in sorted(DEPARTMENTS + OPTIONAL_GROUPS + (EVERYONE, CONTRACTORS))},
        "users": dict(sorted(users.items())),
    }


def with_one_more_user(document: dict[str, Any], seed: int = 7) -> tuple[dict[str, Any], str]:
    """A copy of `document` with one new person (an ordinary commit); returns it and the username."""
    rng = random.Random(f"users-authentik-bench:add:{seed}")
    out = copy.deepcopy(document)
    display, username = _person(rng, set(out["users"]))
    out["users"][username] = _entry(rng, display, username)
    out["users"] = dict(sorted(out["users"].items()))
    return out, username


def changed_lines(before: dict[str, str], after: dict[str, str]) -> int:
    """Lines added plus lines removed between two sets of files (name -> text), as a
    `git diff` would count them; a file present on one side only counts all its lines."""
    total = 0
    for name in sorted(set(before) | set(after)):
        old = before.get(name, "").splitlines()
        new = after.get(name, "").splitlines()
        diff = list(difflib.unified_diff(old, new, lineterm="", n=0))
        # diff[:2] are the ---/+++ file headers; "@@" lines open hunks; the rest are changes.
        total += sum(1 for line in diff[2:] if not line.startswith("@@"))
    return total


def read_tree(path: Path) -> dict[str, str]:
    """The files of a directory (generated/, say), name -> text, for changed_lines."""
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(path.glob("*")) if p.is_file()
            and not p.name.startswith(".")}
