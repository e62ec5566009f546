"""`main.py diff`: what a change to users.json does, for the person reviewing it.

Changes (changes.py) -> text for a terminal, or Markdown for a pull-request comment.
Admin grants and revocations come first and stand out; every section is sorted, so the
same change always reads the same.
"""

from __future__ import annotations

import dataclasses
import json
import re
import sys
from pathlib import Path
from typing import Any, Callable, TextIO

from .changes import NETBIRD_APPLICATION, Changes, NetBirdObject, SettingChange, compare
from .guard import Verdict, explain_lockout, judge, stale_note
from .loading import read_folder, validate
from .model import Group, User
from .problems import Problem
from . import repo_checks, report
from .report import format_problems
from .text import counted
from .revision import NoRevision, load_revision, review_base
from .settings import Settings
from .text import SUMMARY_BUDGET, visible, visible_lines

OFFBOARD_NOTE = "deleting an account deletes its passkeys and TOTP devices too"
SUSPEND_NOTE = "the accounts keep their passkeys and devices but cannot sign in"
ADOPT_NOTE = ("existing accounts taken over (imported), then changed to match their entries; "
              "the plan fails unless each has this username and is not akadmin")


def run_diff(root: Path, base_ref: str | None, fmt: str, out: TextIO | None = None,
             err: TextIO | None = None) -> int:
    """Exit status: 0 shown, 1 a side is invalid or there is nothing to compare with.
    base_ref: --base; None (or empty) compares with the removal guard's default base."""
    out, err = out or sys.stdout, err or sys.stderr
    ref, label, note = review_base(root, base_ref, "diff")
    if note:
        err.write(note)
    loaded = validate(read_folder(root))
    head, settings, problems = loaded.roster, loaded.settings, list(loaded.problems)
    problems += repo_checks.linked_dir_problems(root)  # else git reads another directory's base
    try:
        revision = load_revision(root, ref)
    except NoRevision as missing:
        return _refused(root, problems + missing.problems, fmt, out, err)
    base, base_problems = revision.roster, revision.problems
    if problems:
        if base is not None:
            problems = explain_lockout(problems, base, loaded.document, label)
        return _refused(root, problems, fmt, out, err)
    if base is None:
        err.write(report.base_invalid(label, base_problems))
        return 1
    if base_problems:  # compared all the same, as the removal guard compares with it
        err.write(report.base_noted(label, base_problems))
    changes = compare(base, head, revision.settings, settings)
    called_out = {c.key for c in changes.settings} | ({"netbird.enabled", "netbird.mode"} if changes.netbird_objects else set())
    others = other_settings(revision.settings, settings, called_out)
    verdict = judge(base, head, settings, label, revision.settings)
    if fmt == "json":
        out.write(render_json(changes, label, verdict, others))
        return 0
    shown = (render_markdown(changes, label, verdict, others) if fmt == "markdown"
             else render_text(changes, label, verdict, others))
    if fmt == "github":  # the guard's refusal, on the lines of users.json it is about
        out.write(report.annotations(list(verdict.problems), root))
    # A committed base is read without its checks, so its names may hold escapes or bidi
    # overrides: never raw to a terminal or a PR comment.
    out.write(visible_lines(shown))
    return 0


def _refused(root: Path, problems: list[Problem], fmt: str, out: TextIO, err: TextIO) -> int:
    """The working tree (or the base) has problems: no preview, but the problems, where the
    reader of this format looks (a PR summary gets them in Markdown, CI as annotations)."""
    if fmt == "json":
        out.write(report.problems_json(problems, root))
        return 1
    if fmt == "github":
        out.write(report.annotations(problems, root))
    if fmt == "markdown":
        shown = ["> [!CAUTION]", f"> **users.json has {counted(len(problems), 'problem')}: no preview until they are fixed**", ">"]
        shown += [f"> - `{_code(p.file)}` {_md(p.location)}: {_md(p.problem)}<br>fix: {_md(p.fix)}"
                  for p in sorted(problems)]
        out.write("\n".join(visible(line) for line in shown) + "\n")  # user text: escaped, as everywhere
    err.write(format_problems(problems, "generated/ (diff writes nothing)"))
    return 1


def other_settings(before: Settings | None, after: Settings | None, shown: set[str]) -> tuple[SettingChange, ...]:
    """Every other setting the change sets differently (changes.py calls out the superuser
    group and raised limits): a settings-only change, such as a NetBird redirect URI on
    another host or the sign-in page's logo, is never "no changes"."""
    if before is None or after is None:
        return ()
    old, new = _leaves(dataclasses.asdict(before)), _leaves(dataclasses.asdict(after))
    return tuple(SettingChange(key, old.get(key), new.get(key)) for key in sorted(old.keys() | new.keys())
                 if old.get(key) != new.get(key) and key not in shown)


def _leaves(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out.update(_leaves(value, f"{prefix}{key}."))
        else:
            out[prefix + key] = list(value) if isinstance(value, tuple) else value
    return out


def _other_lines(others: tuple[SettingChange, ...]) -> list[str]:
    return [f"settings.json {c.key}: {_value(c.before)} -> {_value(c.after)}" for c in others]


def render_json(changes: Changes, ref: str, verdict: Verdict, others: tuple[SettingChange, ...] = ()) -> str:
    """`diff --format json`: the same facts as the text, for scripts."""
    def person(u: User) -> dict[str, Any]:
        return {"username": u.username, "name": u.name, "email": u.email, "groups": list(u.groups),
                "is_admin": u.is_admin, "active": u.active}
    doc = {
        "base": ref,
        "renamed": [{"from": b.username, "to": person(h)} for b, h in changes.renamed],
        "onboarded": [person(u) for u in changes.onboarded],
        "adopted": [{**person(u), "authentik_id": u.authentik_id} for u in changes.adopted],
        "offboarded": [person(u) for u in changes.offboarded],
        "suspended": [u.username for u in changes.suspended],
        "reactivated": [u.username for u in changes.reactivated],
        "admin": [{"username": a.username, "granted": a.granted, "reason": a.reason} for a in changes.admin],
        "admin_emails": [{"username": f.subject, "before": f.before, "after": f.after} for f in changes.admin_emails],
        "netbird": [{"username": a.username, "granted": a.granted, "reason": a.reason} for a in changes.netbird],
        "changed": [{"username": f.subject, "field": f.field, "before": f.before, "after": f.after}
                    for f in changes.fields]
        + [{"username": m.username, "field": "groups", "added": list(m.added), "removed": list(m.removed)}
           for m in changes.memberships],
        "groups": {"created": [g.name for g in changes.groups_created],
                   "adopted": [{"name": g.name, "authentik_id": g.authentik_id} for g in changes.groups_adopted],
                   "deleted": [g.name for g in changes.groups_deleted],
                   "did_you_mean": dict(changes.group_typos)},
        "settings": [{"key": c.key, "before": c.before, "after": c.after} for c in changes.settings + others],
        "warnings": [line.strip() for line in lost_devices(changes) if line],
        "guard": {"removed": list(verdict.removed), "of": verdict.total, "allowed": verdict.allowed,
                  "overridden": verdict.overridden, "leftover_allow_removal": list(verdict.stale),
                  "problems": [report.as_dict(p) for p in verdict.problems]},
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


# --- text -------------------------------------------------------------------------------

def summary(changes: Changes) -> str:
    parts = [(len(changes.renamed), "renamed")] if changes.renamed else []
    parts += [(len(changes.onboarded), "onboarded")]
    parts += [(len(changes.adopted), "adopted")] if changes.adopted else []
    parts += [(len(changes.offboarded), "offboarded"),
             (len(changes.suspended), "suspended"), (len(changes.reactivated), "re-activated"),
             (len(changes.changed_users), "changed")]
    text = ", ".join(f"{n} {what}" for n, what in parts)
    admin = len(changes.admin) + len(changes.admin_emails)
    netbird = len(changes.netbird)
    return (text + (f"; {admin} admin change{'s' if admin != 1 else ''}" if admin else "")
            + (f"; {netbird} NetBird access change{'s' if netbird != 1 else ''}" if netbird else ""))


def guard_line(verdict: Verdict) -> str:
    # Refused with the count within the limit: the reason is another rule (a rename, a handover).
    within = len(verdict.removed) <= verdict.allowed or verdict.overridden
    state = (("REFUSED for a reason below" if within else "REFUSED") + ": `python3 main.py` will refuse this change"
             if verdict.problems else "allowed by offboarding.allow_removal" if verdict.overridden else "OK")
    return (f"removes {len(verdict.removed)} of {counted(verdict.total, 'user')}; up to {verdict.allowed} "
            f"without an override: {state}")


def render_text(changes: Changes, ref: str, verdict: Verdict | None = None,
                others: tuple[SettingChange, ...] = ()) -> str:
    head = f"users.json: {ref} -> working tree"
    tail = []
    if verdict is not None and (verdict.removed or verdict.problems):
        tail = ["", f"Removal guard: {guard_line(verdict)}"]
        tail += [f"  {line}" for p in verdict.problems for line in str(p).splitlines()]
    if verdict is not None and verdict.stale:
        tail += [""] + stale_note(verdict, ref)
    settings = _settings_text(changes, ref)
    if others:
        settings += ["", f"Settings changed ({len(others)})"] + [f"  ~ {line}" for line in _other_lines(others)]
    if changes.empty:
        return "\n".join([f"{head}: no changes to users or groups"
                          + (f"; {_count_settings(changes, len(others))}" if _settings_count(changes) + len(others) else ".")]
                         + settings + tail) + "\n"
    reviewed = _settings_count(changes) + len(others)
    lines = [f"{head}: {summary(changes)}" + (f"; {_count_settings(changes, len(others))}" if reviewed else "")]

    def section(title: str, rows: list[str], note: str = "", count: int | None = None) -> None:
        if rows:
            lines.extend(["", f"{title} ({len(rows) if count is None else count})"
                          + (f": {note}" if note else "")] + rows)

    boxed = changes.admin or changes.admin_emails
    if boxed:
        lines += ["", ADMIN_TITLE]
        lines += [f"  {'+ GRANTED ' if a.granted else '- REVOKED '} {a.username:<16} {a.reason}"
                  for a in changes.admin]
        lines += [f"  {'~ EMAIL':<10} {f.subject:<16} {_value(f.before)} -> {_value(f.after)}: {ADMIN_EMAIL_NOTE}"
                  for f in changes.admin_emails]
    lines += settings[2:] if boxed and settings[1:2] == [ADMIN_TITLE] else settings
    section("NetBird access", [f"  {'+' if a.granted else '-'} {a.username} {'gains' if a.granted else 'loses'} "
                               f"NetBird access ({a.reason})" for a in changes.netbird])
    lines += [f"!! {line}" if line else "" for line in lost_devices(changes)]
    section("Renamed", [f"  ~ {b.username} -> {h.username}  {_who(h)}" for b, h in changes.renamed], RENAME_NOTE)
    section("Onboarded", [f"  + {u.username:<16} {_who(u)}{_extras(u)}" for u in changes.onboarded])
    section("Adopted", [f"  + {u.username:<16} {adopts(u)}: {_who(u)}{_extras(u)}" for u in changes.adopted],
            ADOPT_NOTE)
    section("Offboarded", [f"  - {u.username:<16} {_who(u)}" for u in changes.offboarded], OFFBOARD_NOTE)
    section("Suspended", [f"  ~ {u.username:<16} {_who(u)}" for u in changes.suspended], SUSPEND_NOTE)
    section("Re-activated", [f"  ~ {u.username:<16} {_who(u)}" for u in changes.reactivated])
    rows = [(f.subject, f"{f.field}: {_value(f.before)} -> {_value(f.after)}") for f in changes.fields]
    rows += [(m.username, f"groups: {_membership(m.added, m.removed)}") for m in changes.memberships]
    section("Changed", [f"  ~ {name:<16} {what}" for name, what in sorted(rows)],
            count=len(changes.changed_users))
    typos = dict(changes.group_typos)
    groups = [f"  + {group_name(g.name):<16} created by this change" + _typo(typos.get(g.name))
              for g in changes.groups_created]
    groups += [f"  + {group_name(g.name):<16} {adopts_group(g)}" for g in changes.groups_adopted]
    groups += [f"  - {group_name(g.name):<16} deleted" for g in changes.groups_deleted]
    groups += [f"  ~ {group_name(f.subject):<16} {f.field}: {_value(f.before)} -> {_value(f.after)}"
               for f in changes.group_fields]
    section("Groups", sorted(groups, key=lambda r: r[4:]))
    return "\n".join(lines + tail) + "\n"


ADMIN_TITLE = "!! ADMIN RIGHTS CHANGE: review these first !!"
ADMIN_EMAIL_NOTE = ("the recovery flow mails this admin's sign-in link to the new address, so whoever reads it "
                    "can take the account over: confirm the address is theirs")
RENAME_NOTE = "the same account under a new username (moved): it keeps its passkeys and MFA devices"


def lost_devices(changes: Changes, most: int | None = None) -> list[str]:
    """The loud warning when a change deletes accounts and creates others: a username
    changed without "renamed_from" is a delete and a create, and the person loses their
    passkeys and MFA devices. With the same email the guard refuses it (guard.rename_problems).
    most: name at most this many of each (the job summary's budget), then how many more."""
    if changes.maybe_renamed:
        pairs = changes.maybe_renamed[:most]
        more = len(changes.maybe_renamed) - len(pairs)
        return ["", "RENAME WITHOUT renamed_from: the person loses their passkeys and MFA devices"] + [
            f'  {new} has the email of {old}, which is deleted: add "renamed_from": "{old}" to {new} to keep the account'
            for old, new in pairs] + ([f"  and {more} more"] if more else [])
    if changes.offboarded and changes.onboarded:
        gone = _some([u.username for u in changes.offboarded], most)
        new = _some([u.username for u in changes.onboarded], most)
        return ["", f"DELETES {gone} AND CREATES {new}: if one of them is a person renamed, that person loses "
                "their passkeys and MFA devices; rename with \"renamed_from\": \"<old username>\" in the new entry "
                "to keep the account"]
    return []


def _some(names: list[str], most: int | None) -> str:
    shown = ", ".join(names[:most])
    return shown + (f" and {len(names) - most} more" if most is not None and len(names) > most else "")


def superuser_line(change: SettingChange) -> str:
    return (f"settings.json users.superuser_group: {_value(change.before)} -> {_value(change.after)}: every admin "
            f"leaves {_value(change.before)} and joins {_value(change.after)}; they keep admin rights only if "
            "that group is a superuser group in Authentik")


def netbird_line(o: NetBirdObject) -> str:
    """The admin box's line for NetBird's application or IdP manager service account."""
    if o.kind == NETBIRD_APPLICATION:
        return (f"settings.json {o.setting}: " + (f"creates NetBird's application {_value(o.name)}" if o.added else
                f"DELETES NetBird's application {_value(o.name)} (provider, client secret, entitlements, bindings): "
                "nobody can sign in to NetBird until it is set up again"))
    if o.added:
        return (f"new superuser account: NetBird's IdP manager service account, in the superuser group, with an "
                f"app password NetBird holds (settings.json {o.setting})")
    return (f"DELETES NetBird's IdP manager service account and its app password: NetBird's IdP manager stops "
            f"working (settings.json {o.setting})")


def limits_note(ref: str) -> str:
    return f"this change is still judged by the limits at {ref}; the raised ones apply from the next change"


def _settings_count(changes: Changes) -> int:
    return len(changes.settings) + len(changes.netbird_objects)


def _count_settings(changes: Changes, others: int = 0) -> str:
    n = _settings_count(changes) + others
    return f"{n} settings change{'s' if n != 1 else ''} to review"


def _settings_text(changes: Changes, ref: str) -> list[str]:
    """The admin box's superuser-group line (first two lines: its title) and the raised limits."""
    lines = []
    box = [f"  ! SETTING   {superuser_line(changes.superuser_group)}"] if changes.superuser_group else []
    box += [f"  {'+ GRANTED ' if o.added else '- REVOKED '} {o.name:<16} {netbird_line(o)}"
            for o in changes.netbird_objects if o.kind != NETBIRD_APPLICATION]
    box += [f"  ! SETTING   {netbird_line(o)}" for o in changes.netbird_objects if o.kind == NETBIRD_APPLICATION]
    if box:
        lines += ["", ADMIN_TITLE] + box
    if changes.raised_limits:
        lines += ["", f"Removal limits raised ({len(changes.raised_limits)}): {limits_note(ref)}"]
        lines += [f"  ~ settings.json {c.key}: {c.before:g} -> {c.after:g}" for c in changes.raised_limits]
    return lines


def _who(user: User) -> str:
    # A display name with its own <…> ("Ada <ada@corp.com>") would pass for the address:
    # quoted, as a mail header quotes a display name.
    name = _flat(user.name)
    if any(c in name for c in '<>"'):
        name = json.dumps(name, ensure_ascii=False)
    return f"{name} <{user.email}>"


def adopts(user: User) -> str:
    return f"adopts existing account {user.username} (id {user.authentik_id})"


def adopts_group(group: Group) -> str:
    return f"adopts existing group {group_name(group.name)} (id {group.authentik_id})"


def _notes(user: User) -> list[str]:
    return (["ADMIN"] if user.is_admin else []) + ([] if user.active else ["suspended"])


def _extras(user: User) -> str:
    groups = f"groups: {group_list(user.groups)}" if user.groups else "no groups"
    return "  [" + "; ".join([groups] + _notes(user)) + "]"


def _membership(added: tuple[str, ...], removed: tuple[str, ...]) -> str:
    return "; ".join(([f"added {group_list(added)}"] if added else [])
                     + ([f"removed {group_list(removed)}"] if removed else []))


def group_name(name: str) -> str:
    """A group name as text can show it: quoted when it has spaces or punctuation, so
    "on call" reads as one group (and "a, b" as one too)."""
    return name if _PLAIN_GROUP.fullmatch(name) else json.dumps(name, ensure_ascii=False)


def group_list(names: tuple[str, ...] | list[str]) -> str:
    return ", ".join(map(group_name, names))


def _typo(close: str | None) -> str:
    return f' (did you mean "{close}"? only one entry names it)' if close else ""


def _value(value: Any) -> str:
    return "(none)" if value is None else json.dumps(value, ensure_ascii=False)


def _flat(text: str) -> str:
    return text.replace("\r", " ").replace("\n", " ")


# --- Markdown ----------------------------------------------------------------------------

def _settings_markdown(changes: Changes, ref: str) -> list[str]:
    if not changes.raised_limits:
        return []
    lines = [f"#### Removal limits raised ({len(changes.raised_limits)})", "", _sentence(_md(limits_note(ref))), ""]
    lines += [f"- `settings.json` `{c.key}`: {c.before:g} → {c.after:g}" for c in changes.raised_limits]
    return lines + [""]


def render_markdown(changes: Changes, ref: str, verdict: Verdict | None = None,
                    others: tuple[SettingChange, ...] = (), budget: int = SUMMARY_BUDGET) -> str:
    """At most `budget` bytes where the tables allow (CI's job summary, text.SUMMARY_BUDGET):
    GitHub dropped the whole summary of a pull request granting admin beside 3,000 made-up
    onboardings (1.2 MB), its admin box with it, and the guard passed (red team). Over it, each
    table shows its first rows and says how many more; then, if that is not enough (thousands of
    admin grants), so do the other lists (the admin box, NetBird access, the settings changed,
    the guard's problems, the names of a delete-and-create); what is still too long leaves the
    bounded summary of _compact_markdown. The guard's verdict is never cut."""
    shown, limit, box = _render_markdown(changes, ref, verdict, others, None, None), None, None
    while len(shown.encode()) > budget and box != 0:
        if limit != 0:  # the tables first: no table has more rows than the text has lines
            limit = (shown.count("\n") if limit is None else limit) // 2
        else:
            box = (shown.count("\n") if box is None else box) // 2
        shown = _render_markdown(changes, ref, verdict, others, limit, box)
    if len(shown.encode()) > budget:
        # Lines no cut shortens (a setting's value, allow_removal's stale names, a problem
        # longer than the budget) would have GitHub drop the summary, admin box and all
        # (red team): then only what is bounded, the counts, the admin box's and the verdict.
        shown = _compact_markdown(changes, ref, verdict, others)
    return shown


def _compact_markdown(changes: Changes, ref: str, verdict: Verdict | None,
                      others: tuple[SettingChange, ...]) -> str:
    """The summary with no user-written text but the base's name: its size is bounded."""
    counts = summary(changes) + (f"; {_count_settings(changes, len(others))}"
                                 if _settings_count(changes) or others else "")
    lines = [f"### users.json: `{_code(ref)}` → working tree", "", f"**{counts}**", "",
             "**The details are not shown: they do not fit a job summary (at most 1 MiB); "
             "`users-authentik diff` lists them all.**", ""]
    admin = (len(changes.admin) + len(changes.admin_emails) + len(changes.netbird_objects)
             + (1 if changes.superuser_group else 0))
    if admin:
        lines += ["> [!WARNING]", "> **Admin rights change: review these first**", ">",
                  f"> **{counted(admin, 'admin rights change')}, not shown: `users-authentik diff` lists them.**", ""]
    if verdict is not None and (verdict.removed or verdict.problems):
        lines += ["#### Removal guard", ""]
        lines += (["> [!CAUTION]", f"> {_md(guard_line(verdict))}", ">",
                   f"> {counted(len(verdict.problems), 'problem')}, not shown: `users-authentik check` lists them."]
                  if verdict.problems else [_md(guard_line(verdict))])
        lines.append("")
    return "\n".join(lines)


def _first(lines: list[str], most: int | None, sep: str = "",
           shown: Callable[[str], str] = lambda more: more) -> list[str]:
    """lines, or their first `most` and, after sep, a line (as `shown` writes it) saying how many
    more (render_markdown's budget; None: all)."""
    if most is None or len(lines) <= most:
        return lines
    return lines[:most] + [sep, shown(f"{len(lines) - most} more not shown: a job summary holds at most 1 MiB; "
                                      "`users-authentik diff` lists them all.")]


def _render_markdown(changes: Changes, ref: str, verdict: Verdict | None, others: tuple[SettingChange, ...],
                     limit: int | None, box: int | None) -> str:
    """render_markdown, each table's rows cut at `limit`, the admin box's and NetBird access
    lines at `box` (None: all)."""
    lines = [f"### users.json: `{_code(ref)}` → working tree", ""]
    tail = []
    if verdict is not None and (verdict.removed or verdict.problems):
        tail = ["#### Removal guard", ""]
        if verdict.problems:
            tail += ["> [!CAUTION]", f"> {_md(guard_line(verdict))}", ">"]
            tail += _first([f"> - {_md(p.location)}: {_md(p.problem)}<br>fix: {_md(p.fix)}" for p in verdict.problems],
                           box, ">", lambda more: f"> {more}")
        else:
            tail += [_md(guard_line(verdict))]
        tail.append("")
    if verdict is not None and verdict.stale:
        tail += [_md(line) for line in stale_note(verdict, ref)] + [""]
    settings = _settings_markdown(changes, ref)
    if others:
        settings += [f"#### Settings changed ({len(others)})", ""] + _first(
            [f"- `settings.json` `{c.key}`: {_md(_value(c.before))} → {_md(_value(c.after))}" for c in others], box)
        settings += [""]
    if changes.empty and not _settings_count(changes) and not others:
        return "\n".join(lines + ["No changes to users or groups.", ""] + tail)
    reviewed = f"; {_count_settings(changes, len(others))}" if _settings_count(changes) or others else ""
    lines += [f"**{summary(changes)}{reviewed}**" if not changes.empty
              else f"**No changes to users or groups; {_count_settings(changes, len(others))}**", ""]
    if changes.admin or changes.admin_emails or changes.superuser_group or changes.netbird_objects:
        entries = [f"> - **{_md(superuser_line(changes.superuser_group))}**"] if changes.superuser_group else []
        entries += [f"> - **{_md(netbird_line(o))}**" if o.kind == NETBIRD_APPLICATION else
                    f"> - **{'granted to' if o.added else 'revoked from'}** `{_code(o.name)}` ({_md(netbird_line(o))})"
                    for o in changes.netbird_objects]
        entries += [f"> - **{'granted to' if a.granted else 'revoked from'}** `{_code(a.username)}` ({_md(a.reason)})"
                    for a in changes.admin]
        entries += [f"> - **email of** `{_code(f.subject)}`: {_md(_value(f.before))} → {_md(_value(f.after))} "
                    f"({_md(ADMIN_EMAIL_NOTE)})" for f in changes.admin_emails]
        lines += ["> [!WARNING]", "> **Admin rights change: review these first**", ">"]
        lines += _first(entries, box, ">", lambda more: f"> **{more}**")
        lines.append("")
    lines += settings

    def table(title: str, header: list[str], rows: list[list[str]], note: str = "",
              count: int | None = None) -> None:
        if not rows:
            return
        lines.extend([f"#### {title} ({len(rows) if count is None else count})", ""]
                     + ([note, ""] if note else []))
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "---|" * len(header))
        lines.extend(_first(["| " + " | ".join(row) + " |" for row in rows], limit) + [""])

    def person(u: User) -> list[str]:
        return [_user(u.username), _md(u.name), _md(u.email)]

    if changes.netbird:
        lines += ["#### NetBird access", ""]
        lines += _first([f"- `{_code(a.username)}` **{'gains' if a.granted else 'loses'}** NetBird access "
                         f"({_md(a.reason)})" for a in changes.netbird], box)
        lines.append("")
    warning = lost_devices(changes, box)
    if warning:
        lines += ["> [!CAUTION]"] + [f"> **{_md(line.strip())}**" if i == 1 else f"> - {_md(line.strip())}"
                                      for i, line in enumerate(warning) if line] + [""]
    table("Renamed", ["Before", "After", "Name", "Email"],
          [[_user(b.username), _user(h.username), _md(h.name), _md(h.email)] for b, h in changes.renamed],
          _sentence(RENAME_NOTE))
    table("Onboarded", ["User", "Name", "Email", "Groups", "Notes"],
          [person(u) + [_md(group_list(u.groups)), _md("; ".join(_notes(u)))] for u in changes.onboarded])
    table("Adopted", ["User", "Name", "Email", "Groups", "Notes"],
          [person(u) + [_md(group_list(u.groups)), _md("; ".join([adopts(u)] + _notes(u)))] for u in changes.adopted],
          _sentence(ADOPT_NOTE))
    table("Offboarded", ["User", "Name", "Email"], [person(u) for u in changes.offboarded],
          f"**{_sentence(OFFBOARD_NOTE)}**")
    table("Suspended", ["User", "Name", "Email"], [person(u) for u in changes.suspended],
          f"{_sentence(SUSPEND_NOTE)}")
    table("Re-activated", ["User", "Name", "Email"], [person(u) for u in changes.reactivated])
    rows = [[_user(f.subject), f"`{f.field}`", f"{_md(_value(f.before))} → {_md(_value(f.after))}"]
            for f in changes.fields]
    rows += [[_user(m.username), "`groups`", _md(_membership(m.added, m.removed))] for m in changes.memberships]
    table("Changed", ["User", "Field", "Change"], sorted(rows), count=len(changes.changed_users))
    typos = dict(changes.group_typos)
    groups = [[_md(group_name(g.name)), "created by this change", _md(_typo(typos.get(g.name)).strip(" ()"))]
              for g in changes.groups_created]
    groups += [[_md(group_name(g.name)), "adopted", _md(adopts_group(g))] for g in changes.groups_adopted]
    groups += [[_md(group_name(g.name)), "deleted", ""] for g in changes.groups_deleted]
    groups += [[_md(group_name(f.subject)), f"`{f.field}`", f"{_md(_value(f.before))} → {_md(_value(f.after))}"]
               for f in changes.group_fields]
    table("Groups", ["Group", "Change", "Details"], sorted(groups))
    return "\n".join(lines + tail)


_PLAIN_GROUP = re.compile(r"[\w.@+-]+")
# & would start an entity (&commat; is an @ after rendering), $ GitHub's math.
_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_[]<>|~&$"})


# What GitHub turns into a link with no Markdown around it: @team mentions, owner/repo#12 and
# GH-12 references and commit SHAs (7 to 40 hex digits; a pull request's author chooses
# theirs), all resolved after rendering, so a backslash does not stop them; and GFM's
# autolinks of bare URLs (scheme://, www.) and emails (also mailto:, xmpp:), so a display
# name "reset at https://evil.example" is a phishing link in the job summary. Emoji
# shortcodes too: ":white_check_mark: approved" would read as the tool's own verdict. GitHub
# finds them in the rendered HTML's text, where a backslash or an entity (&#58;) is a plain
# ":" again. An empty HTML comment after the sign (after a colon that is not before a space;
# in a hex run, after every 6 digits) splits the text GitHub scans, and shows nothing.
_LINKED = re.compile(r"@|#(?=\w)|:(?=\S)|(?i:www)(?=\.)|(?i:gh)(?=-[0-9])|[0-9A-Fa-f]{6}(?=[0-9A-Fa-f])")


def _md(text: str) -> str:
    """Plain text inside a table cell: no Markdown or HTML gets through, no line breaks, it
    mentions nobody, links nowhere and makes no emoji."""
    return _LINKED.sub(lambda m: m.group() + "<!-- -->", _flat(text).translate(_MD_SPECIAL))


def _code(text: str) -> str:
    """Text for a code span (no Markdown, links or mentions inside one): a backtick would end
    it, a line break the line. A committed base is read without its checks, so even its
    usernames may hold either (`x` ![img](https://...) ``)."""
    return _flat(text).replace("`", "'")


def _user(name: str) -> str:
    """A username as code in a table cell, where | ends the cell even inside code (GFM)."""
    return "`" + _code(name).replace("|", "\\|") + "`"


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + "."
