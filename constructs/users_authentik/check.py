"""Check: a parsed users.json -> every Problem at once (schema rules, then meaning).

The semantic checks run even when the schema check found problems, so one run reports
everything; they only look at the parts that have the right shape.
"""

from __future__ import annotations

import difflib
import json
from functools import lru_cache
from typing import Any, Callable, Iterable, Iterator

from .problems import Problem, where
from .schema_check import check_schema
from .settings import Settings
from .text import SUGGESTED_LENGTH, SUGGESTIONS, describe, invisible, keys, non_ascii

SCHEMA = "users.schema.json"

# Accounts Authentik creates and owns itself. akadmin is the break-glass account, kept
# outside this pipeline on purpose: it is the way back in if the pipeline breaks.
# Outpost service accounts are "ak-outpost-<uuid>"; the whole "ak-" prefix is reserved
# because Authentik names its internal accounts that way.
# Compared as Authentik and PostgreSQL compare (text.fold: case, width, Unicode form) and
# by look (text.skeleton), so "AKADMIN", "akadmın", "ａｋａｄｍｉｎ" and "аkadmin" are all it.
RESERVED_USERNAMES = frozenset({"akadmin", "AnonymousUser"})
RESERVED_PREFIXES = ("ak-",)
# Group attributes are the user's own data: control characters are allowed there only.
FREE_FORM = (("groups", None, "attributes"),)


def check_users(data: Any, settings: Settings, file: str) -> list[Problem]:
    problems = check_schema(data, SCHEMA, file)
    if not isinstance(data, dict) or not isinstance(data.get("users"), dict):
        return problems
    users = {name: entry for name, entry in data["users"].items() if isinstance(entry, dict)}
    declared = data.get("groups") if isinstance(data.get("groups"), dict) else None
    spellings = {name: keys(name) for name in users}  # each username folded and skeletonized once
    problems += _reserved(spellings, file)
    problems += _case_clashes(spellings, file)
    problems += duplicate_emails(users, file)
    problems += _lockout(users, file)
    problems += _invisible(users, declared, file)
    problems += _group_clashes(users, declared, settings.users.superuser_group, file)
    problems += _allowed_but_present(data.get("offboarding"), users, file)
    problems += _groups(users, declared, settings.users.superuser_group, file)
    problems += _duplicate_ids(users, declared or {}, file)
    problems += _fractional_ids(users, file)
    problems += _netbird(users, spellings, declared or {}, settings, file)
    problems += _renames(users, file)
    return sorted(set(problems))


@lru_cache(maxsize=1)
def _reserved_keys() -> tuple[dict[str, str], dict[str, str], tuple[str, ...]]:
    """The reserved names by fold and by skeleton, and the prefixes in both spellings."""
    spelled = {name: keys(name) for name in RESERVED_USERNAMES}
    return ({key: name for name, (key, _) in spelled.items()}, {look: name for name, (_, look) in spelled.items()},
            tuple(k for prefix in RESERVED_PREFIXES for k in keys(prefix)))


def _reserved_match(key: str, look: str) -> tuple[bool, str | None]:
    """(whether a name with these keys is reserved, the reserved name it is or looks like)."""
    folded, looks, prefixes = _reserved_keys()
    reserved = folded.get(key) or looks.get(look)
    return reserved is not None or key.startswith(prefixes) or look.startswith(prefixes), reserved


def is_reserved(name: str) -> bool:
    """One of Authentik's own accounts, in any spelling _reserved refuses."""
    return _reserved_match(*keys(name))[0]


def _reserved(spellings: dict[str, tuple[str, str]], file: str) -> list[Problem]:
    problems = []
    for name, (key, look) in spellings.items():
        found, reserved = _reserved_match(key, look)
        if found:
            problems.append(Problem(file, where("users", name), _reserved_text(name, reserved),
                                    "remove this entry; manage that account in Authentik directly"))
    return problems


def _reserved_text(name: str, reserved: str | None) -> str:
    """What is wrong with a name _reserved_match found: which of Authentik's own accounts it is."""
    what = (f'"{name}" is an account Authentik creates and manages itself' if name == reserved
            or name.startswith(RESERVED_PREFIXES) else
            f'"{name}" is, to Authentik, or looks like, "{reserved or RESERVED_PREFIXES[0] + "…"}", '
            "an account Authentik creates and manages itself")
    return what + (" (the break-glass admin, kept outside this pipeline)" if reserved == "akadmin" else "")


def _case_clashes(spellings: dict[str, tuple[str, str]], file: str) -> list[Problem]:
    # Authentik matches usernames case-insensitively at login, so "Ana" and "ana" collide;
    # names that only look alike ("аda" with a Cyrillic а) let one person pass for another.
    return _clashes(sorted(spellings), lambda name: where("users", name), "user",
                    "Authentik would take both for one account at login",
                    "use one entry per person; usernames must differ by more than case",
                    file, spellings.__getitem__)


def duplicate_emails(users: dict[str, dict], file: str, known: frozenset[str] = frozenset()) -> list[Problem]:
    """Two entries with one email: the problem is on the one just added, i.e. not in `known`
    (the usernames at the base; guard.py passes them), else on the later one in the file."""
    order = [n for n in users if n in known] + [n for n in users if n not in known]
    emails = {name: users[name]["email"] for name in order if isinstance(users[name].get("email"), str)}
    problems = []
    for name, other, folded in _earlier_alike((name, keys(email.strip())) for name, email in emails.items()):
        email = emails[name]
        if folded:
            problems.append(Problem(file, where("users", name, "email"),
                                    f'"{email}" is already the email of user "{other}" '
                                    "(emails are compared ignoring case and Unicode form)",
                                    "give each person their own email address"))
        else:
            problems.append(Problem(file, where("users", name, "email"),
                                    f'"{email}" looks like "{emails[other]}", the email of user "{other}"'
                                    + _letters(email, emails[other]),
                                    "give each person their own email address, in plain letters"))
    return problems


def _earlier_alike(spelled: Iterable[tuple[str, tuple[str, str]]]) -> Iterator[tuple[str, str, bool]]:
    """(name, the earlier name, folded) for each name whose text is equal to an earlier one's
    to Authentik (its text.fold; folded) or else to the eye (its text.skeleton), the earlier
    one winning. spelled: (name, (fold, skeleton) of its text), in order."""
    first: dict[str, str] = {}
    look: dict[str, str] = {}
    for name, (key, skeleton) in spelled:
        other = first.setdefault(key, name)
        if other != name:
            yield name, other, True
            continue
        other = look.setdefault(skeleton, name)
        if other != name:
            yield name, other, False


def reblame_emails(problems: list[Problem], data: Any, file: str, known: frozenset[str]) -> list[Problem]:
    """problems with the duplicate-email ones found again knowing the base's usernames."""
    users = data.get("users") if isinstance(data, dict) else None
    if not isinstance(users, dict):
        return problems
    users = {name: entry for name, entry in users.items() if isinstance(entry, dict)}
    unaware = set(duplicate_emails(users, file))
    if not unaware & set(problems):
        return problems
    return sorted(set(p for p in problems if p not in unaware) | set(duplicate_emails(users, file, known)))


def _clashes(names: list[str], locate: Callable[[str], str], kind: str, same: str, fix: str,
             file: str, spell: Callable[[str], tuple[str, str]] = keys) -> list[Problem]:
    """Names equal to Authentik (text.fold) or to the eye (text.skeleton) to an earlier one;
    spell gives a name's (fold, skeleton): text.keys, or keys computed already."""
    return [Problem(file, locate(name), f'differs from {kind} "{other}" only in upper/lower case or Unicode form; {same}'
                    if folded else f'looks like {kind} "{other}"{_letters(name, other)}; a reader cannot tell them apart',
                    fix)
            for name, other, folded in _earlier_alike((name, spell(name)) for name in names)]


def _letters(name: str, other: str) -> str:
    odd = non_ascii(name + other)
    return f" (it uses {describe(odd)})" if odd else " (characters such as 1 and l, 0 and O, rn and m)"


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
    hints: dict[str, list[str]] = {}
    candidates = [g for g in declared or () if len(g) <= SUGGESTED_LENGTH]
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
                if group not in hints:  # a bounded number of distinct names get a hint (text.SUGGESTIONS)
                    hints[group] = (difflib.get_close_matches(group, candidates, n=1)
                                    if len(hints) < SUGGESTIONS and len(group) <= SUGGESTED_LENGTH else [])
                close = hints[group]
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


def _fractional_ids(users: dict[str, dict], file: str) -> list[Problem]:
    # JSON Schema's "integer" takes 42.0, and 41.99999999999999999 parses as that float: a
    # reviewer would read one id while the import block adopts another account.
    return [Problem(file, where("users", name, "authentik_id"),
                    f"{entry['authentik_id']!r} is written as a decimal number; an id is written in digits only",
                    "write the user's numeric Authentik id in digits, without a decimal point or exponent, e.g. 42")
            for name, entry in sorted(users.items()) if type(entry.get("authentik_id")) is float]


def _renames(users: dict[str, dict], file: str) -> list[Problem]:
    # renamed_from becomes a moved block: it must name one old account, not a current one
    # (Terraform refuses to move an address the configuration still declares), and not also
    # adopt another (an import and a move into one address).
    problems, claimed = [], {}
    for name in sorted(users):
        old = users[name].get("renamed_from")
        if not isinstance(old, str):
            continue
        at = where("users", name, "renamed_from")
        if old in users:
            problems.append(Problem(file, at, f'"{old}" is {"this entry" if old == name else "still an entry in users"}; '
                                    "renamed_from names the username this entry had before",
                                    f'remove "renamed_from", or remove the entry "{old}" if this is that person renamed'))
        elif is_reserved(old):
            problems.append(Problem(file, at, f'"{old}" is, or looks like, an account Authentik creates and '
                                    "manages itself; renaming it would take it over",
                                    'remove "renamed_from"; manage that account in Authentik directly'))
        elif old in claimed:
            problems.append(Problem(file, at, f'"{old}" is already renamed to "{claimed[old]}"; one account can '
                                    "be renamed into one entry only", f'keep renamed_from "{old}" on one entry'))
        claimed.setdefault(old, name)
        if "authentik_id" in users[name]:
            problems.append(Problem(file, at, "an entry either adopts an account (authentik_id) or renames "
                                    "its own (renamed_from), not both", "remove one of the two"))
    return problems


def _invisible(users: dict[str, dict], declared: dict | None, file: str) -> list[Problem]:
    # A zero-width space makes two equal-looking names different; a right-to-left override
    # makes a name read backwards in the admin UI and in a review.
    return [Problem(file, where(*path), f"contains invisible formatting characters ({describe(chars)})",
                    "retype it as plain text; usernames, names, emails and group names may not hold "
                    "zero-width or text-direction characters")
            for path, text in _non_ascii_texts(users, declared) if (chars := invisible(text))]


def _non_ascii_texts(users: dict[str, dict], declared: dict | None) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """(path, text) of each group name, username, name and email that is not plain ASCII:
    only such a text can hold a format character (text.invisible)."""
    for group in declared or {}:
        if not group.isascii():
            yield ("groups", group), group
    for name, entry in users.items():
        if not name.isascii():
            yield ("users", name), name
        for key in ("name", "email"):
            value = entry.get(key)
            if isinstance(value, str) and not value.isascii():
                yield ("users", name, key), value
        groups = entry.get("groups")
        if isinstance(groups, list):
            yield from ((("users", name, "groups", i), g) for i, g in enumerate(groups)
                        if isinstance(g, str) and not g.isascii())


def _group_clashes(users: dict[str, dict], declared: dict | None, superuser_group: str,
                   file: str) -> list[Problem]:
    if declared is not None:
        names = {g: where("groups", g) for g in declared}
    else:
        names = {}
        for user in sorted(users):
            groups = users[user].get("groups")
            for i, g in enumerate(groups if isinstance(groups, list) else []):
                if isinstance(g, str):
                    names.setdefault(g, where("users", user, "groups", i))
    # The superuser group first: a group that looks like it would pass for it in a review.
    ordered = [superuser_group] + sorted(g for g in names if g != superuser_group)
    return _clashes(ordered, lambda g: names.get(g, ""), "group",
                    "NetBird and a reader would take both for one group",
                    "use one name per group, written the same way everywhere", file)


def _netbird(users: dict[str, dict], spellings: dict[str, tuple[str, str]], declared: dict, settings: Settings,
             file: str) -> list[Problem]:
    """With NetBird enabled, someone must be able to sign in to it (as with admins), and the
    IdP manager's service account, which the module owns outside users.json, is nobody's name."""
    netbird = settings.netbird
    if not netbird.enabled:
        return []
    problems = []
    marked = {name for name, meta in declared.items() if isinstance(meta, dict) and meta.get("netbird") is True}
    if not any(u.get("active", True) is True and isinstance(u.get("groups"), list)
               and not marked.isdisjoint(g for g in u["groups"] if isinstance(g, str))
               for u in users.values()):
        problems.append(netbird_lockout_problem(file))
    if netbird.idp_manager:
        # A superuser account: compared as usernames are with each other (text.keys), so
        # "netbırd" or a Cyrillic "nеtbird" is no second account Authentik takes for it.
        fold, skeleton = keys(netbird.service_account)
        found, reserved = _reserved_match(fold, skeleton)
        if found:  # the schema refuses only a lower-case "ak-"; "Akadmin" logs in as akadmin
            problems.append(Problem(
                "settings.json", where("netbird", "service_account"),
                _reserved_text(netbird.service_account, reserved)
                + "; the module would make it a superuser with an app password",
                'choose another netbird.service_account, e.g. "netbird-idp-manager"'))
        problems += [Problem(file, where("users", name),
                             f'"{name}" is, or looks like, the NetBird IdP manager\'s service account '
                             f'"{netbird.service_account}" (settings.json netbird.service_account), which '
                             "the module owns outside users.json",
                             "rename this user, or choose another netbird.service_account")
                     for name, (name_fold, name_skeleton) in spellings.items()
                     if name_fold == fold or name_skeleton == skeleton]
    return problems


def netbird_lockout_problem(file: str) -> Problem:
    """Also looked for by guard.py, which explains it when a change causes it."""
    return Problem(file, "groups", 'settings.json enables NetBird, but no active user is in a group with "netbird": true; '
                                   "applying this would leave nobody able to sign in to NetBird",
                   'mark a group "netbird": true in the top-level "groups" and keep at least one active user in it')
