"""The validated model: what the constructs are built from. Plain, frozen, sorted."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .settings import Settings


@dataclass(frozen=True)
class User:
    username: str
    name: str
    email: str
    groups: tuple[str, ...]  # sorted; the superuser group is not listed here
    is_admin: bool
    active: bool
    path: str
    authentik_id: int | None = None  # adopt this existing account (an import block)
    renamed_from: str | None = None  # the username before: a moved block keeps the account


@dataclass(frozen=True)
class Group:
    name: str
    attributes: str  # JSON text, as the provider takes it; keys sorted
    authentik_id: str | None = None  # adopt this existing group (UUID, lower case)
    netbird: bool = False  # a NetBird group: its members may sign in to NetBird (netbird.py)


@dataclass(frozen=True)
class Roster:
    users: tuple[User, ...]  # sorted by username
    groups: tuple[Group, ...]  # sorted by name
    allow_removal: tuple[str, ...] = ()  # offboarding.allow_removal, sorted (guard.py)

    @property
    def admins(self) -> tuple[User, ...]:
        return tuple(u for u in self.users if u.is_admin)

    @property
    def netbird_groups(self) -> frozenset[str]:
        return frozenset(g.name for g in self.groups if g.netbird)

    def netbird_access(self, user: User) -> bool:
        """Whether the user may sign in to NetBird (when settings enable it): active and in a
        group marked "netbird"."""
        return user.active and not self.netbird_groups.isdisjoint(user.groups)


# Go's encoding/json (the provider's) escapes these; writing them the same way keeps a
# group's attributes text equal to what the provider reads back, so no plan shows a diff.
_GO_ESCAPES = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026",
                             "\u2028": "\\u2028", "\u2029": "\\u2029"})


def provider_json(value: Any) -> str:
    """JSON text as the provider marshals it: sorted keys, compact, UTF-8, Go's escapes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).translate(_GO_ESCAPES)


def build_roster(data: dict[str, Any], settings: Settings) -> Roster:
    """Only called on a document that passed every check."""
    users = tuple(
        User(username=name, name=entry["name"], email=entry["email"],
             groups=tuple(sorted(entry.get("groups", []))),
             is_admin=entry.get("is_admin", False), active=entry.get("active", True),
             path=entry.get("path", settings.users.path),
             authentik_id=_int_or_none(entry.get("authentik_id")),
             renamed_from=entry.get("renamed_from"))
        for name, entry in sorted(data["users"].items()))
    declared = data.get("groups")
    if declared is None:
        # Without a groups section, the groups are the ones users name.
        declared = {g: {} for u in users for g in u.groups}
    groups = tuple(
        Group(name=name, attributes=provider_json(meta.get("attributes", {})),
              authentik_id=meta["authentik_id"].lower() if "authentik_id" in meta else None,
              netbird=meta.get("netbird", False))
        for name, meta in sorted(declared.items()))
    return Roster(users=users, groups=groups,
                     allow_removal=tuple(sorted(data.get("offboarding", {}).get("allow_removal", []))))


def _int_or_none(value: Any) -> int | None:
    # JSON Schema counts 42.0 as an integer; Terraform wants "42".
    return None if value is None else int(value)
