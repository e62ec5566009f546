"""Resource addresses, and the moves that keep them stable.

A person's passkeys and TOTP devices hang off the state entry at their address,
`authentik_user.users["<username>"]`. If the module's own addressing ever changes (a
resource renamed, re-keyed, moved into a module), every existing account would be
destroyed and re-created unless Terraform is told where it went: add a `Move` to MOVES in
the same commit. Entries are never removed, since a state that has not been applied since
then still needs them. synth.py emits them as `moved` blocks into generated/users.tf.json
(nothing while the list is empty); tests/test_history.py walks the git history of
generated/ and fails if an existing user's or group's address changed without one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from .literal import literal

# The for_each resources of users.py and groups.py (tests check they are in the stack).
USER_RESOURCE = "authentik_user.users"
GROUP_RESOURCE = "authentik_group.groups"


def instance_address(resource: str, key: str) -> str:
    """`authentik_user.users["bob"]`: the address of one for_each instance."""
    # The key is an HCL string literal: JSON escapes, plus the template escapes, so a
    # group called "a${b}" stays a literal name.
    return f"{resource}[{literal(json.dumps(key, ensure_ascii=False))}]"


def user_address(username: str) -> str:
    return instance_address(USER_RESOURCE, username)


def group_address(name: str) -> str:
    return instance_address(GROUP_RESOURCE, name)


@dataclass(frozen=True)
class Move:
    """A Terraform `moved` block: `source` (old address) -> `target` (new address).

    Either both are whole resources (every instance moves, keys unchanged) or both are
    instances. `why` is for the reader of this file, not for Terraform.
    """

    source: str
    target: str
    why: str


# Append only, oldest first.
MOVES: tuple[Move, ...] = ()
