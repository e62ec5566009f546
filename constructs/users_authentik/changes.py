"""What a change to users.json does: validated model (before) x model (after) -> Changes.

Only the meaning is compared, never the text: reordering keys or reformatting the file is
no change. Rendering lives in diff.py; the removal guard (guard.py) counts destroys
with planned_user_destroys below, so the preview and the guard always agree.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from typing import Any

from .model import Group, Roster, User, diff_fields
from .settings import Settings
from .text import SUGGESTED_LENGTH, SUGGESTIONS, fold


@dataclass(frozen=True)
class FieldChange:
    subject: str  # username, or group name for Changes.group_fields
    field: str
    before: Any
    after: Any


@dataclass(frozen=True)
class Membership:
    username: str
    added: tuple[str, ...]
    removed: tuple[str, ...]


@dataclass(frozen=True)
class AdminChange:
    """Someone gains or loses working admin rights (is_admin on an active account)."""

    username: str
    granted: bool
    reason: str  # e.g. "new user", "is_admin set", "re-activated", "offboarded", "suspended"


@dataclass(frozen=True)
class SettingChange:
    """A settings.json change that moves admin rights or loosens the removal guard."""

    key: str  # e.g. "users.superuser_group", "offboarding.max_removals"
    before: Any
    after: Any


@dataclass(frozen=True)
class AccessChange:
    """Someone gains or loses NetBird sign-in (active and in a group marked "netbird")."""

    username: str
    granted: bool
    reason: str


@dataclass(frozen=True)
class NetBirdObject:
    """An object settings.json `netbird` adds or deletes outside users.json: NetBird's
    application (netbird.enabled), or the IdP manager's service account (mode idp_manager),
    a superuser with an app password that NetBird holds."""

    kind: str  # NETBIRD_APPLICATION or NETBIRD_SERVICE_ACCOUNT
    name: str  # the application's slug, the service account's username
    added: bool
    setting: str  # what in settings.json does it, e.g. 'netbird.enabled: true -> false'


@dataclass(frozen=True)
class Changes:
    onboarded: tuple[User, ...]  # new entries created in Authentik
    adopted: tuple[User, ...]  # new entries taking over an existing account (authentik_id)
    offboarded: tuple[User, ...]
    suspended: tuple[User, ...]
    reactivated: tuple[User, ...]
    admin: tuple[AdminChange, ...]
    fields: tuple[FieldChange, ...]  # USER_FIELDS of kept users
    memberships: tuple[Membership, ...]
    groups_created: tuple[Group, ...]  # new groups no entry adopts: created by this change
    groups_adopted: tuple[Group, ...]  # new entries taking over an existing group (authentik_id)
    groups_deleted: tuple[Group, ...]
    group_fields: tuple[FieldChange, ...]
    settings: tuple[SettingChange, ...] = ()  # setting_changes(): listed apart from users and groups
    netbird: tuple[AccessChange, ...] = ()  # NetBird sign-in granted or revoked
    renamed: tuple[tuple[User, User], ...] = ()  # (before, after): moved, kept with its passkeys
    # (gone, new) with one email: one person renamed without "renamed_from", so deleted and
    # created, losing their devices (the guard refuses it, diff.py says why)
    maybe_renamed: tuple[tuple[str, str], ...] = ()
    group_typos: tuple[tuple[str, str], ...] = ()  # (created group, the existing name it is close to)
    netbird_objects: tuple[NetBirdObject, ...] = ()  # netbird_objects(): listed with the admin changes
    # The email of an account that is an admin after the change: the recovery flow mails its
    # sign-in link there, so the new address's reader can take the superuser account over.
    admin_emails: tuple[FieldChange, ...] = ()

    @property
    def empty(self) -> bool:
        """No change to users or groups (settings changes are listed on their own)."""
        return not any((self.renamed, self.onboarded, self.adopted, self.offboarded, self.suspended, self.reactivated,
                        self.admin, self.fields, self.memberships, self.groups_created, self.groups_adopted,
                        self.groups_deleted, self.group_fields, self.netbird))

    @property
    def superuser_group(self) -> SettingChange | None:
        return next((c for c in self.settings if c.key == SUPERUSER_GROUP), None)

    @property
    def raised_limits(self) -> tuple[SettingChange, ...]:
        return tuple(c for c in self.settings if c.key != SUPERUSER_GROUP)

    @property
    def changed_users(self) -> tuple[str, ...]:
        """Users kept but changed in any way other than suspension or re-activation."""
        return tuple(sorted({f.subject for f in self.fields} | {m.username for m in self.memberships}))


# The fields whose changes are listed as such; the others have their own (memberships,
# suspended and re-activated, renamed). Declared in model.py.
USER_FIELDS = diff_fields(User)
GROUP_FIELDS = diff_fields(Group)


def renames(base: Roster, head: Roster) -> tuple[tuple[str, str], ...]:
    """(old, new) usernames an entry's "renamed_from" moves: old is at the base and gone
    here, new is not at the base. synth writes a moved block for it, so Terraform updates
    the account in place (same pk, passkeys and devices) instead of destroying it."""
    before = {u.username for u in base.users}
    after = {u.username for u in head.users}
    return tuple(sorted((u.renamed_from, u.username) for u in head.users
                        if u.renamed_from is not None and u.renamed_from in before
                        and u.renamed_from not in after and u.username not in before))


def planned_user_destroys(base: Roster, head: Roster) -> tuple[str, ...]:
    """Usernames whose authentik_user Terraform would destroy (with the account's passkeys
    and TOTP devices): in base, not in head, and not renamed (renames). Addresses are keyed
    by username, so a rename without "renamed_from" is a destroy. The one place this is counted."""
    moved = {old for old, _new in renames(base, head)}
    return tuple(sorted({u.username for u in base.users} - {u.username for u in head.users} - moved))


def same_person(base: Roster, head: Roster) -> tuple[tuple[str, str], ...]:
    """(destroyed, added) pairs with one email (compared as check.py compares emails): most
    likely one person renamed without "renamed_from", who would lose their devices."""
    destroyed = set(planned_user_destroys(base, head))
    gone = {fold(u.email.strip()): u.username for u in base.users if u.username in destroyed}
    known = {u.username for u in base.users}
    return tuple(sorted((gone[key], u.username) for u in head.users
                        if u.username not in known and u.renamed_from is None
                        and (key := fold(u.email.strip())) in gone))


def group_typos(base: Roster, head: Roster) -> tuple[tuple[str, str], ...]:
    """(new group, existing group) for a group this change creates that one entry alone
    names and that is spelt nearly like a group that exists ("deve" next to "dev"): without
    a top-level "groups" section nothing else stops a typo creating a group."""
    at_base = {g.name for g in base.groups}
    members: dict[str, int] = {}
    for u in head.users:
        for g in u.groups:
            members[g] = members.get(g, 0) + 1
    known = sorted(k for k in at_base | set(members) if len(k) <= SUGGESTED_LENGTH)
    out = []
    lookups = 0  # difflib against every known group: a bounded number of them (text.SUGGESTIONS)
    for g in head.groups:
        if g.name in at_base or g.authentik_id is not None or members.get(g.name, 0) > 1:
            continue
        if lookups >= SUGGESTIONS or len(g.name) > SUGGESTED_LENGTH:
            continue
        lookups += 1
        close = difflib.get_close_matches(g.name, [k for k in known if k != g.name and k.casefold() != g.name.casefold()],
                                          n=1, cutoff=0.75)
        if close:
            out.append((g.name, close[0]))
    return tuple(out)


SUPERUSER_GROUP = "users.superuser_group"
REMOVAL_LIMITS = ("max_removals", "max_removal_percent")


def setting_changes(base: Settings | None, head: Settings | None) -> tuple[SettingChange, ...]:
    """What settings.json changes about who is an admin (every admin joins the superuser
    group, so renaming it moves all of them) and how much the removal guard lets one change
    remove (a raised limit; a lowered one only makes it stricter). () if a side is unknown."""
    if base is None or head is None:
        return ()
    out = []
    if base.users.superuser_group != head.users.superuser_group:
        out.append(SettingChange(SUPERUSER_GROUP, base.users.superuser_group, head.users.superuser_group))
    out += [SettingChange(f"offboarding.{key}", getattr(base.offboarding, key), getattr(head.offboarding, key))
            for key in REMOVAL_LIMITS if getattr(head.offboarding, key) > getattr(base.offboarding, key)]
    return tuple(out)


NETBIRD_APPLICATION = "application"
NETBIRD_SERVICE_ACCOUNT = "service account"


def netbird_objects(base: Settings | None, head: Settings | None) -> tuple[NetBirdObject, ...]:
    """What settings.json `netbird` adds or deletes: the application when NetBird is turned on
    or off, the service account when idp_manager mode starts or ends. () if a side is unknown."""
    if base is None or head is None:
        return ()
    b, h = base.netbird, head.netbird
    setting = ", ".join(f"netbird.{key}: {json.dumps(getattr(b, key))} -> {json.dumps(getattr(h, key))}"
                        for key in ("enabled", "mode") if getattr(b, key) != getattr(h, key))
    out = []
    if b.enabled != h.enabled:
        out.append(NetBirdObject(NETBIRD_APPLICATION, (h if h.enabled else b).slug, h.enabled, setting))
    if b.idp_manager != h.idp_manager:
        out.append(NetBirdObject(NETBIRD_SERVICE_ACCOUNT, (h if h.idp_manager else b).service_account,
                                 h.idp_manager, setting))
    return tuple(out)


def compare(base: Roster, head: Roster, base_settings: Settings | None = None,
            head_settings: Settings | None = None) -> Changes:
    before = {u.username: u for u in base.users}
    after = {u.username: u for u in head.users}
    destroyed = planned_user_destroys(base, head)
    kept = sorted(before.keys() & after.keys())
    moved = renames(base, head)
    pairs = sorted([(name, name) for name in kept] + list(moved), key=lambda p: p[1])

    admin = [AdminChange(name, False, "offboarded") for name in destroyed if _admin(before[name])]
    added = sorted(after.keys() - before.keys() - {new for _old, new in moved})
    admin += [AdminChange(name, True, "new user" if after[name].authentik_id is None else "adopted account")
              for name in added if _admin(after[name])]
    fields, memberships = [], []
    for old, name in pairs:
        b, h = before[old], after[name]
        if _admin(b) != _admin(h):
            why = ([] if b.is_admin == h.is_admin else ["is_admin " + ("set" if h.is_admin else "removed")]) \
                + ([] if b.active == h.active else ["re-activated" if h.active else "suspended"])
            admin.append(AdminChange(name, _admin(h), ", ".join(why)))
        # is_admin on a suspended account is listed too: it takes effect on re-activation.
        fields += [FieldChange(name, f, getattr(b, f), getattr(h, f))
                   for f in USER_FIELDS if getattr(b, f) != getattr(h, f)]
        if b.groups != h.groups:
            memberships.append(Membership(name, tuple(sorted(set(h.groups) - set(b.groups))),
                                          tuple(sorted(set(b.groups) - set(h.groups)))))

    groups_before = {g.name: g for g in base.groups}
    groups_after = {g.name: g for g in head.groups}
    new_groups = [groups_after[n] for n in sorted(groups_after.keys() - groups_before.keys())]
    return Changes(
        # A new entry with authentik_id is an import block: an existing object taken over
        # (and changed to match its entry), never a creation; the preview says which.
        onboarded=tuple(after[n] for n in added if after[n].authentik_id is None),
        adopted=tuple(after[n] for n in added if after[n].authentik_id is not None),
        offboarded=tuple(before[n] for n in destroyed),
        suspended=tuple(after[n] for o, n in pairs if before[o].active and not after[n].active),
        reactivated=tuple(after[n] for o, n in pairs if not before[o].active and after[n].active),
        admin=tuple(sorted(admin, key=lambda a: (not a.granted, a.username))),
        fields=tuple(fields),
        memberships=tuple(memberships),
        groups_created=tuple(g for g in new_groups if g.authentik_id is None),
        groups_adopted=tuple(g for g in new_groups if g.authentik_id is not None),
        groups_deleted=tuple(groups_before[n] for n in sorted(groups_before.keys() - groups_after.keys())),
        group_fields=tuple(FieldChange(n, f, getattr(groups_before[n], f), getattr(groups_after[n], f))
                           for n in sorted(groups_before.keys() & groups_after.keys())
                           for f in GROUP_FIELDS
                           if getattr(groups_before[n], f) != getattr(groups_after[n], f)),
        settings=setting_changes(base_settings, head_settings),
        netbird=netbird_access_changes(base, head, *_netbird_enabled(base_settings, head_settings)),
        renamed=tuple((before[o], after[n]) for o, n in moved),
        maybe_renamed=same_person(base, head),
        group_typos=group_typos(base, head),
        netbird_objects=netbird_objects(base_settings, head_settings),
        admin_emails=tuple(f for f in fields if f.field == "email" and _admin(after[f.subject])))


def _netbird_enabled(base: Settings | None, head: Settings | None) -> tuple[bool, bool]:
    """settings.json netbird.enabled at the base and the head; a side that is not known
    (unreadable) is taken to be as the other one, so no change is made up for it."""
    known = [s.netbird.enabled for s in (base, head) if s is not None]
    if not known:
        return False, False
    return (base.netbird.enabled if base is not None else known[0],
            head.netbird.enabled if head is not None else known[0])


def netbird_access_changes(base: Roster, head: Roster, base_enabled: bool = True,
                           head_enabled: bool = True) -> tuple[AccessChange, ...]:
    """Who gains or loses NetBird sign-in; *_enabled: settings.json netbird.enabled on each
    side (while NetBird is off nobody signs in to it, whatever their groups). A renamed user
    is one account (renames): compared old name against new, so a rename alone changes
    nothing and a change says so."""
    if not (base_enabled or head_enabled):
        return ()
    before = {u.username: u for u in base.users}
    after = {u.username: u for u in head.users}
    moved = dict((new, old) for old, new in renames(base, head))
    out = []
    for name in sorted((before.keys() - set(moved.values())) | after.keys()):
        old = moved.get(name, name)
        b, h = before.get(old), after.get(name)
        had = base_enabled and b is not None and base.netbird_access(b)
        has = head_enabled and h is not None and head.netbird_access(h)
        if had == has:
            continue
        renamed = f"renamed from {old}, " if old != name else ""
        if b is None or h is None:
            why = "new user" if b is None else "offboarded"
        elif base_enabled != head_enabled:
            why = f"settings.json netbird.enabled: {str(base_enabled).lower()} -> {str(head_enabled).lower()}"
        elif b.active != h.active:
            why = "re-activated" if h.active else "suspended"
        else:
            now, then = set(h.groups) & head.netbird_groups, set(b.groups) & base.netbird_groups
            gained, lost = sorted(now - then), sorted(then - now)
            why = "NetBird groups: " + "; ".join(([f"+{', '.join(gained)}"] if gained else [])
                                                + ([f"-{', '.join(lost)}"] if lost else []))
        out.append(AccessChange(name, has, renamed + why))
    return tuple(sorted(out, key=lambda a: (not a.granted, a.username)))


def _admin(user: User) -> bool:
    return user.is_admin and user.active
