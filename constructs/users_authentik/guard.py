"""The removal guard: a change to users.json may not delete many accounts at once, nor
leave nobody able to administer Authentik.

Deleting an Authentik user deletes its passkeys and TOTP devices; a bad merge that empties
users.json would lock the organisation out. So `python3 main.py` (synth and check, which
pre-commit runs) compares users.json and settings.json with the last commit (git HEAD, or
--base REF) and refuses a change that removes more than

    allowance = max(max_removals, floor(max_removal_percent% of the users at the base))

users (settings.json "offboarding"; defaults 3 and 10; the stricter of the base's and the
change's values, so raising them takes effect from the next change), unless users.json
names every one of them in "offboarding": {"allow_removal": [...]}: a deliberate override
that is committed with the removal, so it stays in the history.

"The last commit" is the base the change will merge into (revision.default_base): the merge-base
of HEAD and origin's default branch (or origin/main, or main), so pre-commit on the second
commit of a pull request judges the whole pull request, as CI's `check --base origin/main`
does, and one allow_removal list serves every commit of it. Names in allow_removal that
are gone at the base already (a list left over from a merged offboarding) are one note. It also refuses a change
after which no admin of the base is still an active admin (a handover takes two changes).
Destroys are counted once, by changes.planned_user_destroys, which `main.py diff` uses too.

No git, no commit yet, or no users.json ever: nothing to compare, the guard passes. A
committed users.json that cannot be read as users (not JSON, a link, deleted) does not
switch it off: at HEAD it compares with the newest version that can be read
(revision.last_readable); an explicit --base must be readable (docs/offboarding.md).

Git is read by revision.read_base; this module only judges: guard() takes that Base and
the working tree's Loaded result.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from .changes import (NETBIRD_APPLICATION, NetBirdObject, SettingChange, group_typos, netbird_objects,
                      planned_user_destroys, renames, same_person, setting_changes)
from .check import is_reserved, lockout_problem, reblame_emails
from .loading import Loaded
from .model import Roster
from .problems import Problem, where
from .text import counted
from .revision import Base, Revision
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
    stale: tuple[str, ...] = ()  # allow_removal names already gone at the base (stale_note)


def limits(base: Settings | None, head: Settings) -> OffboardingSettings:
    """The removal limits a change is judged by: the stricter of the base's and its own, so
    a change cannot raise them and use the raised ones at once."""
    if base is None:
        return head.offboarding
    return OffboardingSettings(min(base.offboarding.max_removals, head.offboarding.max_removals),
                               min(base.offboarding.max_removal_percent, head.offboarding.max_removal_percent))


def judge(base: Roster, head: Roster, settings: Settings, ref: str = "HEAD",
          base_settings: Settings | None = None) -> Verdict:
    """settings: the change's; base_settings: those at ref (None: unknown, the change's apply)."""
    removed = planned_user_destroys(base, head)
    offboarding = limits(base_settings, settings)
    allowed = removal_allowance(len(base.users), offboarding)
    problems: list[Problem] = []
    unlisted = [name for name in removed if name not in head.allow_removal]
    if len(removed) > allowed and unlisted:
        listing = json.dumps(list(removed), ensure_ascii=False)
        stricter = offboarding != settings.offboarding
        problems.append(Problem(
            FILE, "users",
            f"this change removes {len(removed)} of the {counted(len(base.users), 'user')} at {ref} "
            f"({', '.join(removed)}), more than the {allowed} one change may remove without an override "
            f"(settings.json offboarding: max_removals {offboarding.max_removals}, max_removal_percent "
            f"{offboarding.max_removal_percent:g}"
            + (f", the limits at {ref}: limits this change raises apply from the next change" if stricter else "")
            + "); deleting an account deletes its passkeys and TOTP devices"
            + (f"; offboarding.allow_removal does not name {', '.join(unlisted)}"
               if head.allow_removal else ""),
            f'if this is intended, name exactly these users in users.json: "offboarding": {{"allow_removal": {listing}}}; '
            f"if not, restore them from {ref} (`python3 main.py diff` shows the change), "
            'or suspend them with "active": false instead'))
    # A name neither at the base nor here was removed by an earlier change (a list left
    # from a merged offboarding): harmless, one note (check.py refuses a name still here).
    stale = tuple(name for name in head.allow_removal if name not in removed)
    problems += rename_problems(base, head, ref)
    problems += netbird_removal_problems(base_settings, settings, ref)
    problems += handover_problems(base, head, ref)
    return Verdict(removed, len(base.users), allowed, len(removed) > allowed and not unlisted, tuple(problems),
                   stale)


def stale_note(verdict: Verdict, ref: str) -> list[str]:
    """One line for a leftover allow_removal, however many names it has."""
    if not verdict.stale:
        return []
    names = ", ".join(verdict.stale)
    return [f"note: offboarding.allow_removal names {names}, already gone at {ref} (left from an earlier "
            "offboarding); delete the \"offboarding\" list from users.json, it only serves the change that "
            "removes them"]


def rename_problems(base: Roster, head: Roster, ref: str) -> list[Problem]:
    """A username changed with the same email but no "renamed_from" deletes the person's
    account (passkeys, devices) and creates a new one: almost surely not meant. And a
    renamed_from into a name that is an account at ref already would merge two accounts."""
    problems = [Problem(FILE, where("users", new),
                        f'takes the email of "{old}", which this change removes: as written, the account '
                        f'"{old}" is deleted with its passkeys and MFA devices and "{new}" is a new account',
                        f'if it is the same person, add "renamed_from": "{old}" to "{new}" to rename the account '
                        f'and keep its devices; if it is not, remove "{old}" in one change and add "{new}" in the next')
                for old, new in same_person(base, head) if not is_reserved(old)]
    known = {u.username for u in base.users}
    problems += [Problem(FILE, where("users", u.username, "renamed_from"),
                         f'"{u.username}" is an account at {ref} already, so it cannot take over "{u.renamed_from}"',
                         f'remove "renamed_from", or rename "{u.renamed_from}" to a username that is not taken')
                 for u in head.users if u.renamed_from in known and u.username in known]
    return problems


def handover_problems(base: Roster, head: Roster, ref: str) -> list[Problem]:
    """At least one active admin at ref must still be one: a new account has no password or
    passkey until its owner enrolls, and a username changed without "renamed_from" is a new
    account (the old one is destroyed with its passkeys; with it, the same account), so replacing every admin in one change can lock them all
    out. (No active admin left at all is check.lockout_problem's, explained by explain_lockout.)"""
    before = [u.username for u in base.admins if u.active]
    # A renamed account (renamed_from, a moved block) is the same account: known by its name at ref.
    was = {new: old for old, new in renames(base, head)}
    after = {was.get(u.username, u.username): u for u in head.users}
    left = sorted(name for name, u in after.items() if u.is_admin and u.active)
    if not before or not left or any(name in left for name in before):
        return []
    what = ", ".join(_fate(name, after[name].active if name in after else None) for name in before)
    them = f"the only active admin at {ref}" if len(before) == 1 else f"the {len(before)} active admins at {ref}"
    new = [name for name in left if name not in {u.username for u in base.users}]
    return [Problem(
        FILE, "users",
        f"this change {what}: {them}; the admins it leaves ({', '.join(left)}) are not admins at {ref}"
        + (f" ({', '.join(new)} not even an account yet: no password, no passkey)" if new else "")
        + "; should they not get in, nobody but the break-glass account could administer Authentik",
        f'hand over in two changes: first make {left[0]} an admin and keep {" or ".join(before)} '
        "(let them sign in and register a passkey), then retire the old admin in a later change")]


def _fate(name: str, active: bool | None) -> str:
    """What a change did to an admin: active None means the user is gone."""
    return f"removes {name}" if active is None else f"suspends {name}" if not active else f"takes is_admin from {name}"


def settings_notes(changes: tuple[SettingChange, ...], base: Roster, ref: str) -> list[str]:
    """One line per settings change that moves admin rights or loosens the guard (synth, check)."""
    notes = []
    for c in changes:
        if c.key == "users.superuser_group":
            admins = [u.username for u in base.admins]
            notes.append(f"note: settings.json changes users.superuser_group from {json.dumps(c.before)} to "
                         f"{json.dumps(c.after)}: every admin ({', '.join(admins) or 'none at ' + ref}) leaves "
                         f"{json.dumps(c.before)} and joins {json.dumps(c.after)}, and has admin rights only "
                         "if that group is a superuser group in Authentik")
        else:
            notes.append(f"note: settings.json raises {c.key} from {c.before:g} to {c.after:g}; this change is "
                         f"still judged by the limit at {ref}, the raised one applies from the next change")
    return notes


SETTINGS = "settings.json"


def netbird_removal_problems(base: Settings | None, head: Settings, ref: str) -> list[Problem]:
    """Turning NetBird off, or idp_manager mode off, deletes objects NetBird depends on, and
    prevent_destroy guards only blocks still in the module: so only with netbird.allow_removal,
    set in that change (one left true at ref vouches for nothing, as with allow_removal)."""
    if base is None:
        return []
    b, h = base.netbird, head.netbird
    deleted = [o for o in netbird_objects(base, head) if not o.added]
    if not deleted:
        if h.allow_removal and h != b:
            return [Problem(SETTINGS, where("netbird", "allow_removal"),
                            "is true, but this change deletes none of NetBird's objects",
                            "set it to false (or remove it): it is the override for the one change that deletes "
                            "them, and left on it would let a later change delete them unnoticed")]
        return []
    if h.allow_removal and not b.allow_removal:
        return []
    application = deleted[0].kind == NETBIRD_APPLICATION
    keys = ("enabled", b.enabled) if application else ("mode", b.mode)
    left = (f"; netbird.allow_removal is true at {ref} already, left from an earlier change, so it does not "
            "vouch for this one" if b.allow_removal else "")
    fix = ("set netbird.allow_removal to false in a change of its own, then make this change with it true"
           if b.allow_removal else
           f'if this is intended, say so in the same change: settings.json "netbird": {{"allow_removal": true, ...}}')
    return [Problem(
        SETTINGS, where("netbird", keys[0]),
        f"this change ({deleted[0].setting}) deletes " + "; and ".join(_deletes(o) for o in deleted)
        + "; prevent_destroy guards only blocks still in the module" + left,
        f"{fix}; if not, keep netbird.{keys[0]} {json.dumps(keys[1])} as at {ref}"
        + ("" if application and not b.idp_manager else
           "; to keep the service account but stop managing it, run `tofu state rm "
           "authentik_user.netbird_idp_manager` in the runner first (docs/netbird.md)"))]


def _deletes(o: NetBirdObject) -> str:
    if o.kind == NETBIRD_APPLICATION:
        return (f'NetBird\'s application "{o.name}" with its OAuth2 provider (its client secret), entitlements '
                "and bindings: nobody can sign in to NetBird until it is set up again")
    return (f'the service account "{o.name}" of NetBird\'s IdP manager with its app password: NetBird\'s '
            "IdP manager stops working")


def netbird_notes(base: Settings | None, head: Settings) -> list[str]:
    """A new superuser outside users.json, or an allowed deletion of NetBird's objects."""
    notes, refused = [], bool(netbird_removal_problems(base, head, "HEAD"))
    for o in netbird_objects(base, head):
        if o.added and o.kind != NETBIRD_APPLICATION:
            notes.append(f'note: settings.json ({o.setting}) adds "{o.name}", a new superuser account: the service '
                         f"account of NetBird's IdP manager joins {json.dumps(head.users.superuser_group)} (both "
                         "NetBird guides require it), and its app password, which NetBird holds, is as powerful "
                         "as an admin's")
        elif not o.added and not refused:
            notes.append(f"note: settings.json ({o.setting}) deletes {_deletes(o)}; allowed by netbird.allow_removal")
    return notes


def explain_lockout(problems: list[Problem], base: Roster, document: Any, ref: str) -> list[Problem]:
    """Replace "no active admin" by what this change did to the admins there were at ref
    (document: the working tree's users.json as parsed, which has problems, so no model)."""
    generic = lockout_problem(FILE)
    admins = [u.username for u in base.admins if u.active]
    if generic not in problems or not admins:
        return problems
    entries = document.get("users") if isinstance(document, dict) else None
    entries = entries if isinstance(entries, dict) else {}
    what = [_fate(name, entry.get("active", True) is True if isinstance(entry := entries.get(name), dict) else None)
            for name in admins]
    them = f"the only active admin at {ref}" if len(admins) == 1 else f"the {len(admins)} active admins at {ref}"
    clear = Problem(FILE, "users",
                    f"this change {', '.join(what)}: {them}; it would leave nobody but the break-glass "
                    "account able to administer Authentik",
                    f'keep {" or ".join(admins)} an active admin, or make another active user an admin '
                    '("is_admin": true) in the same change; to retire an admin, hand over first')
    return sorted(clear if p == generic else p for p in problems)


def guard(base: Base, head: Loaded) -> tuple[list[Problem], list[str]]:
    """For synth and check: the change's problems with the guard's, and its notes. base: what
    revision.read_base found to compare with. With `ref` None (the default base), having
    nothing to compare with (no git, no commit) is fine, and a version that cannot be read is
    replaced by the newest one that can; an explicit --base must exist and be readable."""
    problems = list(head.problems)
    if head.roster is None and lockout_problem(FILE) not in problems:
        return _blame_new(base, problems, head.document), []  # other problems: fix those first
    if base.missing is not None:
        return (problems if base.ref is None and base.missing.no_git else problems + base.missing.problems), []
    if base.unchanged or base.at is None:
        return problems, []  # nothing changed (a clean checkout, CI): nothing to compare
    compared, name, notes = base.at, base.name, []
    if compared.roster is None or base.earlier is not None:
        if base.ref is not None:
            return problems + [_unreadable(name, compared, base.earlier)], []
        if base.earlier is None:
            return problems, ["note: users.json at HEAD cannot be read as users, nor any earlier version, so "
                              "the removal guard had nothing to compare with (`python3 main.py diff` shows why)"]
        name = base.earlier.commit[:12]
        notes.append(f"note: users.json at HEAD {_why(compared)}; the removal guard compared with {name}, the "
                     "newest earlier version that can be read")
        compared = base.earlier
    problems = explain_lockout(problems, compared.roster, head.document, name)
    if head.roster is None or head.settings is None:
        return problems, notes
    notes += settings_notes(setting_changes(compared.settings, head.settings), compared.roster, name)
    notes += netbird_notes(compared.settings, head.settings)
    verdict = judge(compared.roster, head.roster, head.settings, name, compared.settings)
    typos = [f'note: group "{new}" is new and only one entry names it; did you mean "{old}"? '
             f'(a top-level "groups" section makes a misspelt group an error)'
             for new, old in group_typos(compared.roster, head.roster)]
    return problems + list(verdict.problems), notes + stale_note(verdict, name) + typos


def _blame_new(base: Base, problems: list[Problem], document: Any) -> list[Problem]:
    """A repeated email is the fault of the entry the change adds, not of the one at ref."""
    if base.at is None:
        return problems  # nothing at ref to know the names of
    roster = base.at.roster
    known = frozenset(u.username for u in roster.users) if roster is not None else frozenset()
    return reblame_emails(problems, document, FILE, known)


def _why(base: Revision) -> str:
    return "cannot be read as users" if base.roster is None else "is absent, though an earlier commit has one"


def _unreadable(ref: str, base: Revision, earlier: Revision | None) -> Problem:
    fix = (f"compare with the newest commit where it can be read, --base {earlier.commit[:12]}, or restore it there"
           if earlier is not None else "restore a readable users.json at that revision, or compare with another")
    why = (f" (`python3 main.py diff --base {ref}` lists why)" if base.roster is None else "")
    return Problem(f"users.json at {ref}", "(file)",
                   f"{_why(base)}{why}, so the removal guard has nothing to compare with; an unreadable "
                   "base must not let a change remove everyone", fix)
