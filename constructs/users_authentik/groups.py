"""Groups: one authentik_group per group, addressed `authentik_group.groups["<name>"]`.

Group names are the names NetBird receives in the `groups` claim, so they are used as is.
The rows come from `local.groups` (users.tf.json); see synth.py for why.
"""

from __future__ import annotations

from .provider import Construct, DataGroup, DataGroupConfig, Group, GroupConfig


class Groups(Construct):
    def __init__(self, scope: Construct, id: str, *, superuser_group: str):
        super().__init__(scope, id)
        self.groups = Group(self, "groups", GroupConfig(
            name="${each.key}", attributes="${each.value.attributes}"), for_each="${local.groups}")
        # Superuser rights come from a group with is_superuser. Authentik ships one
        # ("authentik Admins"); it is looked up, never managed, so akadmin keeps it.
        self.superusers = DataGroup(self, "superusers", DataGroupConfig(
            name=superuser_group, include_users=False))

    def id_of(self, name_expr: str) -> str:
        """Expression (without ${}) for the id of the managed group named by name_expr."""
        return f"{self.groups.address}[{name_expr}].id"
