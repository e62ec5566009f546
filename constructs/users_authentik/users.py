"""Users: one authentik_user per person, addressed `authentik_user.users["<username>"]`.

That address is what holds a person's passkeys and TOTP devices in the state: it must
never change for an existing user (tests/test_addresses.py guards it).
"""

from __future__ import annotations

from .groups import Groups
from .provider import Construct, User, UserConfig


class Users(Construct):
    def __init__(self, scope: Construct, id: str, *, groups: Groups):
        super().__init__(scope, id)
        member_of = f"[for g in each.value.groups : {groups.id_of('g')}]"
        superuser = f"each.value.is_admin ? [{groups.superusers.address}.id] : []"
        self.users = User(self, "users", UserConfig(
            username="${each.key}",
            name="${each.value.name}",
            email="${each.value.email}",
            is_active="${each.value.is_active}",
            path="${each.value.path}",
            type="internal",
            # Membership is set from the user side only (never also on the group).
            groups="${concat(" + member_of + ", " + superuser + ")}",
        ), for_each="${local.users}",
            # users.json does not manage attributes; Authentik keeps each person's own
            # settings there (locale, theme), which an apply must not wipe.
            ignore_changes=("attributes",))
