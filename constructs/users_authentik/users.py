"""Users: one authentik_user per person, addressed `authentik_user.users["<username>"]`.

That address is what holds a person's passkeys and TOTP devices in the state: it must
never change for an existing user (tests/test_addresses.py guards it).

An account adopted with `authentik_id` is first read from the live Authentik
(`data.authentik_user.adopted`): the plan fails, before anything is imported or changed,
unless the account has the entry's username and email (compared ignoring ASCII case), is a
person's (`type` internal, not a service account), is not one of Authentik's own (akadmin,
the break-glass admin), and keeps any superuser rights it has (`is_admin: true`).
"""

from __future__ import annotations

from . import model
from .groups import Groups, shown, when_adopted
from .binding import DataUser, DataUserConfig, User, UserConfig
from .cdk import Construct, Precondition


class Users(Construct):
    def __init__(self, scope: Construct, id: str, *, groups: Groups):
        super().__init__(scope, id)
        is_admin = model.each_value(model.User, "is_admin")
        email = model.each_value(model.User, "email")
        member_of = f"[for g in {model.each_value(model.User, 'groups')} : {groups.id_of('g')}]"
        superuser = f"{is_admin} ? [{groups.superusers.address}.id] : []"
        self.adopted = DataUser(self, "adopted", DataUserConfig(pk="${each.value}"),
                                for_each="${local.adopted_users}")
        live = f"{self.adopted.address}[each.key]"
        username = f'try(lower({live}.username), "")'  # no username at all fails the first check
        claim = 'users.json adopts the Authentik account ${lookup(local.adopted_users, each.key, "")} as "${each.key}"'
        self.users = User(self, "users", UserConfig(
            username="${each.key}",
            **model.attributes(model.User),  # name, email, path, is_active: each.value.<row key>
            type="internal",
            # Membership is set from the user side only (never also on the group).
            groups="${concat(" + member_of + ", " + superuser + ")}",
        ), for_each="${local.users}",
            # users.json does not manage attributes; Authentik keeps each person's own
            # settings there (locale, theme), which an apply must not wipe.
            ignore_changes=("attributes",), preconditions=(
            Precondition(when_adopted("adopted_users", f"{live}.username == each.key"),
                         claim + f", but that account's username is {shown(live + '.username')}. Adopting "
                         "it would rename it and give it this entry's email: write the id of the "
                         "account with this username."),
            Precondition(when_adopted("adopted_users",
                                      f'!contains(["akadmin", "anonymoususer"], {username}) '
                                      f'&& !startswith({username}, "ak-")'),
                         claim + f", but that is {shown(live + '.username')}, an account Authentik creates and "
                         "manages itself (akadmin is the break-glass admin). Remove its authentik_id."),
            # A service account (an outpost's, an integration's, NetBird's IdP manager) made a
            # person's account would sign in through the flows with its own rights and tokens.
            Precondition(when_adopted("adopted_users", f'try({live}.type, "") == "internal"'),
                         claim + f", but that is a {shown(live + '.type')} account, not a person's (internal) "
                         "one: adopting it would turn it into an account that signs in. Remove its authentik_id."),
            # Recovery and set-up links go to the account's email: an adoption that changed it
            # would hand the account (and whatever it may use) to whoever reads the new address,
            # while diff shows only the entry's. A new email is a later change, which diff shows.
            # Case is ignored in ASCII only: lower() folds U+0130 İ to i, but mail to
            # İnfra.example goes to xn--infra-7fd.example, another domain.
            Precondition(when_adopted("adopted_users", f'try({live}.email == {email}, false) || '
                                      f'(lower(try({live}.email, "")) == lower({email}) && '
                                      f'can(regex("^[[:ascii:]]*$", {live}.email)) && can(regex("^[[:ascii:]]*$", {email})))'),
                         claim + f", but that account's email is {shown(live + '.email')}, not "
                         f"{shown(email)}: adopting it would send its recovery and set-up links to "
                         "another address. Write the account's own email; change it in a later change."),
            Precondition(when_adopted("adopted_users", f"{live}.is_superuser != true || {is_admin}"),
                         claim + ', but that account has superuser rights in Authentik and the entry '
                         'does not set "is_admin": true, so adopting it would take them away. Set '
                         '"is_admin": true, or remove the rights in Authentik first.')))
