"""Bad input: every mistake is reported (file, location, problem, fix), all at once, with
exit status 1 and generated/ left byte-identical."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Callable

import pytest

from tests.helpers import read_json, run_main, run_main_process, tree_digest, write_json
from users_authentik.cli import main

EXAMPLE = {
    "users": {
        "stefan": {"name": "Stefan Zhelev", "email": "stefan@stefanzhelev.com",
                   "groups": ["admins"], "is_admin": True},
        "ada": {"name": "Ada Lovelace", "email": "ada@example.org", "groups": ["dev"]},
    }
}


def edit(fn: Callable[[dict[str, Any]], Any]) -> str:
    doc = copy.deepcopy(EXAMPLE)
    fn(doc)
    return json.dumps(doc, indent=2)


def set_(path: str, value: Any) -> str:
    def apply(doc: dict[str, Any]) -> None:
        *parents, last = path.split("/")
        node = doc
        for p in parents:
            node = node[p]
        node[last] = value
    return edit(apply)


def drop(path: str) -> str:
    def apply(doc: dict[str, Any]) -> None:
        *parents, last = path.split("/")
        node = doc
        for p in parents:
            node = node[p]
        del node[last]
    return edit(apply)


LONG = "a" * 151

# (id, users.json text, substrings the report must contain)
CASES = [
    ("missing-comma", '{\n  "users": {\n    "a": {"name": "A" "email": "a@b.c"}\n  }\n}',
     ["users.json: line 3, column", "not valid JSON", "fix:"]),
    ("trailing-comma", '{"users": {},}', ["line 1, column", "not valid JSON"]),
    ("empty-file", "", ["line 1, column 1", "not valid JSON"]),
    ("duplicate-username",
     '{\n "users": {\n  "stefan": {"name": "S", "email": "s@x.org", "is_admin": true},\n'
     '  "stefan": {"name": "T", "email": "t@x.org", "is_admin": true}\n }\n}',
     ['users.stefan (line 4): the key "stefan" appears twice', "merge the two"]),
    ("duplicate-common-key", '{"users": {"stefan": {"name": "S", "email": "s@x.org", "is_admin": true},\n'
     ' "ada": {"name": "A", "email": "a@x.org", "email": "b@x.org"}}}',
     ['users.ada.email: the key "email" appears twice']),  # the path, not the last line with "email"
    ("duplicate-and-typos", '{"users": {"stefan": {"name": "S", "email": "s@x.org", "is_admin": true, '
     '"emial": "x", "grups": []},\n "bob": {"name": "B", "email": "b@x.org"},\n "bob": {"name": "C", "email": "c@x.org"}}}',
     ['the key "bob" appears twice', 'users.stefan.emial: unknown key "emial"', 'users.stefan.grups: unknown key "grups"',
      "3 problems found"]),
    ("nan-id", '{"users": {"stefan": {"name": "S", "email": "s@x.org", "is_admin": true, "authentik_id": NaN}}}',
     ["users.stefan.authentik_id: NaN is not a JSON number"]),
    ("infinite-id", '{"users": {"stefan": {"name": "S", "email": "s@x.org", "is_admin": true, "authentik_id": 1e400}}}',
     ["users.stefan.authentik_id: 1e400 is not a JSON number"]),
    ("raw-del-in-name", '{"users": {"stefan": {"name": "S\x7f", "email": "s@x.org", "is_admin": true}}}',
     ["users.stefan.name: the value contains a control character"]),
    ("escaped-del-in-name", '{"users": {"stefan": {"name": "S\\u007f", "email": "s@x.org", "is_admin": true}}}',
     ["users.stefan.name: the value contains a control character"]),
    ("top-level-list", "[]", ["(top level)", "must be an object"]),
    ("users-missing", "{}", ['users: "users" is missing']),
    ("users-not-object", '{"users": []}', ["users: must be an object"]),
    ("unknown-top-level", edit(lambda d: d.update(user={})), ['unknown key "user"', 'did you mean "users"']),
    ("user-not-object", set_("users/ada", "Ada"), ["users.ada: must be an object"]),
    ("name-missing", drop("users/ada/name"), ['users.ada.name: "name" is missing', "display name"]),
    ("email-missing", drop("users/ada/email"), ['users.ada.email: "email" is missing']),
    ("email-malformed", set_("users/ada/email", "ada-at-example"), ['users.ada.email: "ada-at-example" is not an email address', "name@domain"]),
    ("email-not-string", set_("users/ada/email", 42), ["users.ada.email: must be a string"]),
    ("typo-key", edit(lambda d: d["users"]["ada"].update(emial="x@y.z")), ['users.ada.emial: unknown key "emial"', 'did you mean "email"',
      "allowed keys: active, authentik_id, email, groups, is_admin, name, path, renamed_from\n"]),
    ("password", set_("users/ada/password", "hunter2"), ["users.ada.password: is not allowed", "never be stored in git", "enrollment flow"]),
    ("is-admin-string", set_("users/ada/is_admin", "yes"), ["users.ada.is_admin: must be true or false", "without quotes"]),
    ("active-string", set_("users/ada/active", "false"), ["users.ada.active: must be true or false"]),
    ("groups-string", set_("users/ada/groups", "dev"), ["users.ada.groups: must be a list"]),
    ("groups-duplicate", set_("users/ada/groups", ["dev", "dev"]), ["users.ada.groups: lists the same entry more than once"]),
    ("group-empty", set_("users/ada/groups", [""]), ['users.ada.groups[0]: "" is not a usable group name']),
    ("group-spaces", set_("users/ada/groups", ["dev "]), ['users.ada.groups[0]: "dev " is not a usable group name', "leading or trailing"]),
    ("username-space", edit(lambda d: d["users"].update({"ada lovelace": d["users"].pop("ada")})),
     ['users["ada lovelace"]: "ada lovelace" is not a username Authentik accepts', "@ . + - _"]),
    ("username-long", edit(lambda d: d["users"].update({LONG: d["users"].pop("ada")})),
     [f'users.{LONG}: "{LONG}" is not a username Authentik accepts', "150"]),
    ("reserved-akadmin", edit(lambda d: d["users"].update(akadmin=d["users"].pop("ada"))),
     ["users.akadmin: \"akadmin\" is an account Authentik creates", "break-glass", "remove this entry"]),
    ("reserved-outpost", edit(lambda d: d["users"].update({"ak-outpost-1234": d["users"].pop("ada")})),
     ['users.ak-outpost-1234: "ak-outpost-1234" is an account Authentik creates']),
    ("reserved-prefix", edit(lambda d: d["users"].update({"ak-agent": d["users"].pop("ada")})),
     ['users.ak-agent: "ak-agent" is an account Authentik creates']),
    ("reserved-anonymous", edit(lambda d: d["users"].update(AnonymousUser=d["users"].pop("ada"))),
     ['users.AnonymousUser: "AnonymousUser" is an account Authentik creates']),
    ("duplicate-email", set_("users/ada/email", "Stefan@StefanZhelev.com"),
     ['users.ada.email: "Stefan@StefanZhelev.com" is already the email of user "stefan"', "ignoring case"]),
    ("case-clash", edit(lambda d: d["users"].update(Ada=dict(d["users"]["ada"], email="ada2@example.org"))),
     ['users.ada: differs from user "Ada" only in upper/lower case']),
    ("no-admin", set_("users/stefan/is_admin", False), ['users: no active user has "is_admin": true', "break-glass"]),
    ("only-admin-suspended", set_("users/stefan/active", False), ['no active user has "is_admin": true']),
    ("unknown-group", edit(lambda d: d.update(groups={"admins": {}, "developers": {}})),
     ['users.ada.groups[0]: group "dev" is not declared', 'add "dev": {} to "groups"']),
    ("group-typo", edit(lambda d: (d.update(groups={"admins": {}, "dev": {}}), d["users"]["ada"].update(groups=["devv"]))),
     ['group "devv" is not declared', 'did you mean "dev"?']),
    ("superuser-group-in-groups", set_("users/ada/groups", ["authentik Admins"]),
     ['users.ada.groups[0]: "authentik Admins" is the superuser group', '"is_admin": true']),
    ("superuser-group-declared", edit(lambda d: d.update(groups={"admins": {}, "dev": {}, "authentik Admins": {}})),
     ['groups["authentik Admins"]: "authentik Admins" is the superuser group']),
    ("username-trailing-newline", edit(lambda d: d["users"].update({"ada\n": d["users"].pop("ada")})),
     ['users["ada\\n"]: the key contains a control character', "one line of plain text"]),
    ("email-trailing-newline", set_("users/ada/email", "ada@example.org\n"),
     ["users.ada.email: the value contains a control character"]),
    ("group-tab", set_("users/ada/groups", ["dev\tops"]), ["users.ada.groups[0]: the value contains a control character"]),
    ("path-space", set_("users/ada/path", "my users"), ['users.ada.path: "my users" is not an Authentik user path']),
    ("group-attributes-list", edit(lambda d: d.update(groups={"admins": {"attributes": []}, "dev": {}})),
     ["groups.admins.attributes: must be an object"]),
    ("group-unknown-key", edit(lambda d: d.update(groups={"admins": {"is_superuser": True}, "dev": {}})),
     ['groups.admins.is_superuser: unknown key "is_superuser"']),
]


@pytest.mark.parametrize("text,expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_users_json_is_refused(project: Path, capsys: pytest.CaptureFixture[str],
                                   text: str, expected: list[str]) -> None:
    before = tree_digest(project / "generated")
    (project / "users.json").write_text(text, encoding="utf-8")
    assert main([], root=project) == 1
    err = capsys.readouterr().err
    for fragment in expected:
        assert fragment in err, f"{fragment!r} not in:\n{err}"
    assert "users.json: " in err and "\n    fix: " in err
    assert "nothing was written to generated/" in err
    assert tree_digest(project / "generated") == before


def test_every_problem_is_reported_at_once(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def many(d: dict[str, Any]) -> None:
        d["users"]["ada"]["email"] = "nope"
        d["users"]["ada"]["password"] = "x"
        d["users"]["stefan"]["is_admin"] = False
        d["users"]["akadmin"] = {"name": "A", "email": "a@b.cd"}
    (project / "users.json").write_text(edit(many))
    assert main([], root=project) == 1
    err = capsys.readouterr().err
    assert err.count("\n    fix: ") == 4
    assert "4 problems found" in err


def test_settings_problems_are_reported_with_users_problems(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_json(project / "settings.json", {"provider": {"version": "latest", "source": "x"}})
    (project / "users.json").write_text(set_("users/ada/email", "bad"))
    before = tree_digest(project / "generated")
    assert main([], root=project) == 1
    err = capsys.readouterr().err
    assert 'settings.json: provider.version: "latest" is not an exact provider version' in err
    assert 'settings.json: provider.source: unknown key "source"' in err
    assert "users.json: users.ada.email" in err
    assert tree_digest(project / "generated") == before


def test_missing_users_json_is_a_clear_error(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "users.json").unlink()
    assert main([], root=project) == 1
    assert "users.json: (file): not found" in capsys.readouterr().err


def test_check_command_writes_nothing(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import shutil
    shutil.rmtree(project / "generated")
    assert main(["check"], root=project) == 0
    assert "OK" in capsys.readouterr().out
    assert not (project / "generated").exists()


def test_real_process_exits_1_without_traceback(project: Path) -> None:
    before = tree_digest(project / "generated")
    (project / "users.json").write_text('{"users": {"ada": {"name": "A", "email": "a@b.cd", "password": "p"}}}')
    result = run_main_process(project)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    assert "users.ada.password" in result.stderr
    assert tree_digest(project / "generated") == before


def test_valid_edits_are_accepted(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The rules are not so strict that ordinary entries fail (guards the cases above)."""
    def ok(d: dict[str, Any]) -> None:
        d["users"]["jo.doe+ops@corp"] = {"name": "Jo", "email": "jo@corp.example", "active": False,
                                        "path": "users/ops", "groups": ["dev", "on call"]}
        d["groups"] = {"admins": {}, "dev": {"attributes": {"netbird": True}}, "on call": {}}
    (project / "users.json").write_text(edit(ok))
    assert main(["check"], root=project) == 0, capsys.readouterr().err
    assert read_json(project / "users.json")["groups"]["dev"]["attributes"] == {"netbird": True}


@pytest.mark.parametrize("repeat", ["each entry repeats its keys", "every username twice"])
def test_a_file_of_repeated_keys_is_reported_in_one_pass(repeat: str) -> None:
    # Hostile users.json: where a repeated key's second line is was one search of the whole text
    # per object and key, so 10,000 entries repeating "name" and "email" (1 MB) took ~50 s and
    # 10,000 usernames each written twice ~8 s, growing with the square of the size: minutes of
    # CI for a pull request. One pass over the text now, whatever the number of keys.
    import time

    from users_authentik import parse
    n = 10_000
    if repeat == "each entry repeats its keys":
        entries = [f'"u{i}": {{"name": "N", "name": "N", "email": "u{i}@e.org", "email": "u{i}@e.org"}}' for i in range(n)]
        expected = 2 * n
    else:
        entries = [f'"u{i}": {{"name": "N", "email": "u{i}@e.org"}}' for i in range(n)] * 2
        expected = n
    text = '{"users": {\n' + ",\n".join(entries) + "\n}}"
    start = time.process_time()
    _, problems = parse.load_json(text.encode(), "users.json")
    assert len(problems) == expected
    assert time.process_time() - start < 3, "quadratic again"
    if repeat == "every username twice":  # each key twice in the file: its second line is named
        assert problems[0].location == f"users.u0 (line {n + 2})"


def test_the_line_of_a_repeated_key_is_found_past_tricky_strings() -> None:
    # Strings that look like keys (a value starting with a colon, escaped quotes) must not
    # throw the scan off, and a key written with an escape is the same key.
    from users_authentik import parse
    text = ('{"users": {\n'
            '  "ada": {"name": "Ada", "email": "ada@e.org", "path": ": not a key"},\n'
            '  "bo\\"b": {"name": "\\": x", "email": "b@e.org"},\n'
            '  "\\u0061da": {"name": "Ada 2", "email": "ada2@e.org"}\n'
            "}}")
    _, problems = parse.load_json(text.encode(), "users.json")
    assert [p.location for p in problems] == ["users.ada (line 4)"]


# --- Hostile sizes: work that grew with the square of the input (red team) -------------------

def test_a_long_hostile_email_is_refused_in_linear_time() -> None:
    # The email pattern "^[^@\s]+@[^@\s]+\.[^@\s]+$" backtracked over every dot of the domain
    # with every end: "a@" + 100,000 dots + "@" took ~60 s to refuse (fastjsonschema, then
    # jsonschema again), 200 KB four times that; one user of a pull request was enough.
    import re
    import time

    from users_authentik.check import check_users
    from users_authentik.schema_check import load_schema
    from users_authentik.settings import Settings
    pattern = load_schema("users.schema.json")["$defs"]["user"]["properties"]["email"]["pattern"]
    old = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$(?!\n)")  # what it means, on short texts
    for text in ("a@b.c", "a@.b", "a@b.", "a@..", "a@.b.", "a.b@c", "a@b@c.d", "a@b.c\n", "a@b .c", "@b.c", "a@bc"):
        assert bool(re.search(pattern, text)) == bool(old.search(text)), text
    data = {"users": {"admin": {"name": "A", "email": "admin@e.org", "is_admin": True},
                      "evil": {"name": "E", "email": "a@" + "." * 100_000 + "@"}}}
    start = time.process_time()
    problems = check_users(data, Settings.defaults(), "users.json")
    assert [p.location for p in problems] == ["users.evil.email"]
    assert time.process_time() - start < 2, "the email pattern backtracks again"


def test_many_undeclared_groups_are_reported_in_near_linear_time() -> None:
    # Each group a user names that "groups" does not declare got a "did you mean" from
    # difflib against every declared group: 2,000 declared and 2,000 undeclared (230 KB)
    # took ~45 s, 8,000 of each (1 MB) over 10 minutes.
    import time

    from users_authentik.check import check_users
    from users_authentik.settings import Settings
    n = 2000
    data = {"groups": {f"grp-{i:06d}": {} for i in range(n)},
            "users": {f"u{i}": {"name": "U", "email": f"u{i}@e.org", "groups": [f"grq-{i:06d}"]} for i in range(n)}}
    data["users"]["u0"]["is_admin"] = True
    start = time.process_time()
    problems = check_users(data, Settings.defaults(), "users.json")
    assert len([p for p in problems if "is not declared" in p.problem]) == n
    assert any('(did you mean "grp-000000"?)' in p.problem for p in problems)  # the first ones keep their hint
    assert time.process_time() - start < 3, "quadratic again"


def test_many_new_single_member_groups_are_compared_in_near_linear_time() -> None:
    # group_typos compared each group that only one entry names with every known group
    # (difflib), rebuilding the list each time: 2,000 such groups (200 KB) made check and diff
    # take ~20 s each, 10,000 minutes.
    import time

    from users_authentik.changes import group_typos
    from users_authentik.model import build_roster
    from users_authentik.settings import Settings
    settings = Settings.defaults()
    base = build_roster({"users": {"a": {"name": "A", "email": "a@e.org", "groups": ["dev"]}}}, settings)
    n = 2000
    head = build_roster({"users": {"a": {"name": "A", "email": "a@e.org", "groups": ["dev"]},
                                   "b": {"name": "B", "email": "b@e.org", "groups": ["deve"]},
                                   **{f"u{i}": {"name": "U", "email": f"u{i}@e.org", "groups": [f"team-{i:06d}"]}
                                      for i in range(n)}}}, settings)
    start = time.process_time()
    typos = group_typos(base, head)
    assert ("deve", "dev") in typos
    assert time.process_time() - start < 3, "quadratic again"
