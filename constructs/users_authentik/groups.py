"""Groups: one authentik_group per group, addressed `authentik_group.groups["<name>"]`.

Group names are used as is: they are the names NetBird shows (an application entitlement per
group marked "netbird", netbird.py; or the `groups` claim without settings.json's netbird).
The rows come from `local.groups` (users.tf.json); see synth.py for why.

A group adopted with `authentik_id` is first read from the live Authentik
(`data.authentik_group.adopted`): the plan fails, before anything is imported or changed,
unless it is an ordinary group with the very name its entry gives it.
"""

from __future__ import annotations

from . import model
from .binding import DataGroup, DataGroupConfig, Group, GroupConfig
from .cdk import Construct, Precondition


def when_adopted(adopted: str, condition: str) -> str:
    """A precondition that holds for entries not in local.<adopted>, else is `condition`."""
    return f"${{contains(keys(local.{adopted}), each.key) ? {condition} : true}}"


def shown(expression: str) -> str:
    """`expression` quoted in an error message. Terraform evaluates every precondition's
    message, also where the condition holds (then this entry has no lookup), so: `try`."""
    return f"${{jsonencode(try({expression}, null))}}"


class Groups(Construct):
    def __init__(self, scope: Construct, id: str, *, superuser_group: str):
        super().__init__(scope, id)
        # Superuser rights come from a group with is_superuser. Authentik ships one
        # ("authentik Admins"); it is looked up, never managed, so akadmin keeps it.
        self.superusers = DataGroup(self, "superusers", DataGroupConfig(
            name=superuser_group, include_users=False))
        self.adopted = DataGroup(self, "adopted", DataGroupConfig(pk="${each.value}", include_users=False),
                                 for_each="${local.adopted_groups}")
        live = f"{self.adopted.address}[each.key]"
        claim = 'users.json adopts the Authentik group ${lookup(local.adopted_groups, each.key, "")} as "${each.key}"'
        self.groups = Group(self, "groups", GroupConfig(
            name="${each.key}", **model.attributes(model.Group),  # attributes: each.value.<row key>
            # Explicit: a managed group never grants superuser rights, whatever it was before.
            is_superuser=False), for_each="${local.groups}", preconditions=(
            Precondition(when_adopted("adopted_groups", f"{live}.name == each.key"),
                         claim + f", but that group is named {shown(live + '.name')} in Authentik. "
                         "Adopting it would rename it: write the id of the group with this name, "
                         "or the group's own name."),
            Precondition(when_adopted("adopted_groups", f"{live}.id != {self.superusers.address}.id"),
                         claim + ", but that is the superuser group (settings.json users.superuser_group), "
                         "which this module only looks up. Remove its authentik_id; grant it with "
                         '"is_admin": true on a user.'),
            Precondition(when_adopted("adopted_groups", f"{live}.is_superuser != true"),
                         claim + ", but that group has superuser rights (is_superuser) in Authentik, "
                         "which a managed group never has: adopting it would take them from every "
                         "member. Remove its authentik_id.")))

    def id_of(self, name_expr: str) -> str:
        """Expression (without ${}) for the id of the managed group named by name_expr."""
        return f"{self.groups.address}[{name_expr}].id"
