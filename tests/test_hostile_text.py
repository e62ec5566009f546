"""Hostile text, as a contributor trying to pass the checks would write it: reserved accounts
in other spellings, look-alikes, invisible and control characters through side doors,
terminal escapes, and documents that used to crash the checks (here and in a committed
base). Each is a Problem with a message; nothing raw reaches the terminal."""

from __future__ import annotations

import ctypes
import ctypes.util
import html as html_module
import io
import json
import re
import sys
import unicodedata
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest

from tests.gitrepo import git, git_project, isolate_git
from tests.helpers import ROOT, run_main, tree_digest, write_json
from users_authentik.cli import main
from users_authentik.schema_check import check_schema, load_schema
from users_authentik.text import code_block, fold, skeleton, visible

ADMIN = {"name": "Stefan Zhelev", "email": "stefan@example.org", "groups": ["admins"], "is_admin": True}


def doc(**users: Any) -> dict[str, Any]:
    return {"users": {"stefan": ADMIN, **users}}


def text(**users: Any) -> str:
    return json.dumps(doc(**users))


def person(name: str = "Ada", email: str = "ada@example.org", **extra: Any) -> dict[str, Any]:
    return {"name": name, "email": email, **extra}


def with_groups(groups: dict[str, Any], **users: Any) -> str:
    return json.dumps({**doc(**users), "groups": {"admins": {}, **groups}})


DEEP = 100_000
# (id, users.json text, fragments the report must contain)
CASES = [
    # Reserved accounts in other spellings
    ("reserved-upper", text(AKADMIN=person()), ['users.AKADMIN: "AKADMIN" is, to Authentik, or looks like, "akadmin"',
                                                 "break-glass"]),
    ("reserved-dotless-i", text(**{"akadmın": person()}), ['"akadmın" is, to Authentik, or looks like, "akadmin"']),
    ("reserved-fullwidth", text(**{"ａｋａｄｍｉｎ": person()}), ['looks like, "akadmin"']),
    ("reserved-cyrillic-a", text(**{"аkadmin": person()}), ['looks like, "akadmin"']),
    ("reserved-prefix-upper", text(**{"AK-outpost-1234": person()}), ['"AK-outpost-1234" is, to Authentik, or looks like, "ak-…"']),
    ("reserved-anonymous-lower", text(anonymoususer=person()), ['looks like, "AnonymousUser"']),
    # Look-alikes
    ("username-cyrillic", text(ada=person(), **{"аda": person(email="ada2@example.org")}),
     ['users["аda"]: looks like user "ada" (it uses U+0430 CYRILLIC SMALL LETTER A)']),
    ("username-arabic-digit", text(ada1=person(), **{"ada١": person(email="ada2@example.org")}),
     ['looks like user "ada1"', "ARABIC-INDIC DIGIT ONE"]),
    ("username-nfd", text(**{"josé": person(), "jose\u0301": person(email="jose2@example.org")}),
     ['users["josé"]: differs from user "jose\u0301" only in upper/lower case or Unicode form']),
    ("email-nfd", text(ada=person(email="josé@example.org"), bob=person(email="jose\u0301@example.org")),
     ["is already the email of user", "Unicode form"]),
    ("email-cyrillic", text(ada=person(email="ada@example.org"), bob=person(email="аda@example.org")),
     ['users.bob.email: "аda@example.org" looks like "ada@example.org", the email of user "ada"']),
    ("email-zero-width", text(ada=person(email="ada\u200b@example.org")),
     ["users.ada.email: contains invisible formatting characters (U+200B ZERO WIDTH SPACE)"]),
    ("group-zero-width", with_groups({"dev": {}, "de\u200bv": {}}),
     ['groups["de\\u200bv"]: contains invisible formatting characters']),
    ("group-lookalike-superuser", text(ada=person(groups=["authentik Аdmins"])),
     ['users.ada.groups[0]: looks like group "authentik Admins"']),
    ("group-case", with_groups({"Dev": {}, "dev": {}}), ['groups.dev: differs from group "Dev" only in upper/lower case']),
    ("name-rtl-override", text(ada=person(name="Ada \u202eecilA")),
     ["users.ada.name: contains invisible formatting characters (U+202E RIGHT-TO-LEFT OVERRIDE)"]),
    ("username-bidi", text(**{"ada\u200f": person()}), ['contains invisible formatting characters (U+200F RIGHT-TO-LEFT MARK)']),
    # Controls through a side door
    ("user-named-attributes", text(attributes=person(name="A\u001b[2J")),
     ["users.attributes.name: the value contains a control character"]),
    ("group-named-attributes", with_groups({"attributes": {}}, ada=person(groups=["attributes"], name="A\u0007")),
     ["users.ada.name: the value contains a control character"]),
    ("c1-control", text(ada=person(name="Ada\u009b2J")), ["users.ada.name: the value contains a control character"]),
    ("c1-in-key", text(**{"ada\u0085": person()}), ['users["ada\\x85"]: the key contains a control character']),
    ("escape-email", text(ada=person(email="\u001b[2J\u001b[H@x.org\rusers.json: 1 users: OK")),
     ["users.ada.email: the value contains a control character"]),
    ("escape-in-quoted-text", text(ada=person(groups=["\u202e\u009b2Jdev"])),
     ["users.ada.groups[0]: contains invisible formatting characters"]),
    # Tracebacks
    ("null-document", "null", ["users.json: (top level): is null, not an object"]),
    ("null-user", text(ada=None), ["users.ada: must be an object"]),
    ("huge-number", text(ada=person(authentik_id=0)).replace('"authentik_id": 0', '"authentik_id": ' + "9" * 5000),
     ["users.ada.authentik_id: a number of 5000 digits is longer than any value here"]),
    ("deep-nesting", '{"users": {"stefan": {"name": "S", "email": "s@x.org", "is_admin": true}},'
                     ' "groups": {"admins": {"attributes": {"x": ' + "[" * DEEP + "]" * DEEP + "}}}}",
     ["users.json: (file): is nested more than 32 levels deep"]),
    ("moderate-nesting", '{"users": {"stefan": {"name": "S", "email": "s@x.org", "is_admin": true}},'
                         ' "groups": {"admins": {"attributes": {"x": ' + "[" * 900 + "]" * 900 + "}}}}",
     ["groups.admins.attributes.x", "is nested more than 32 levels deep"]),
    ("lone-surrogate-name", text(ada=person(name="\ud800")), ["users.ada.name: the value contains a lone surrogate"]),
    ("lone-surrogate-attributes", with_groups({"dev": {"attributes": {"k": "\udfff"}}}, ada=person(groups=["dev"])),
     ["groups.dev.attributes.k: the value contains a lone surrogate"]),
]
IDS = [c[0] for c in CASES]


@pytest.mark.parametrize("source,expected", [c[1:] for c in CASES], ids=IDS)
def test_hostile_users_json_is_a_problem(project: Path, capsys: pytest.CaptureFixture[str],
                                         source: str, expected: list[str]) -> None:
    before = tree_digest(project / "generated")
    (project / "users.json").write_text(source, encoding="utf-8", errors="surrogatepass")
    assert main([], root=project) == 1
    err = capsys.readouterr().err
    for fragment in expected:
        assert visible(fragment) in err, f"{fragment!r} not in:\n{err}"
    assert "\n    fix: " in err and "nothing was written to generated/" in err
    assert tree_digest(project / "generated") == before


def test_controls_stay_allowed_in_group_attributes_only(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "users.json").write_text(with_groups({"attributes": {"attributes": {"motd": "line 1\nline 2"}}},
                                                    ada=person(groups=["attributes"])))
    assert main(["check"], root=project) == 0, capsys.readouterr().err


def _hidden(output: str) -> list[str]:
    return sorted({f"U+{ord(c):04X}" for c in output
                   if c != "\n" and unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp")})


def _run(root: Path, *args: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        main(list(args), root=root)
    return out.getvalue() + err.getvalue()


@pytest.mark.parametrize("source", [c[1] for c in CASES], ids=IDS)
def test_no_raw_control_reaches_the_terminal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str) -> None:
    """stdout + stderr of check, synth and diff, for every case above: the working tree has
    it, and (diff) so does the commit it is compared with."""
    isolate_git(monkeypatch)
    root = git_project(tmp_path / "repo")
    (root / "users.json").write_text(source, encoding="utf-8", errors="surrogatepass")
    for args in (["check"], [], ["diff"], ["diff", "--format", "markdown"]):
        output = _run(root, *args)
        assert output and not _hidden(output), (args, _hidden(output), output)
    git(root, "commit", "-qam", "hostile base")
    write_json(root / "users.json", doc())
    for args in (["diff"], ["diff", "--format", "markdown"]):
        output = _run(root, *args)
        assert not _hidden(output), (args, _hidden(output), output)


def test_the_real_process_prints_escapes_visibly(project: Path) -> None:
    (project / "users.json").write_text(text(**{"\u009b2J\u202eada": person(email="\u001b[2J@x.org")}))
    result = run_main(project, "check")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "\x1b" not in result.stderr + result.stdout and "\x9b" not in result.stderr
    assert 'users["\\x9b2J\\u202eada"]' in result.stderr


HOSTILE_BASES = ["null-document", "null-user", "huge-number", "deep-nesting", "lone-surrogate-name",
                 "lone-surrogate-attributes", "user-named-attributes", "name-rtl-override", "reserved-dotless-i"]


@pytest.mark.parametrize("case", HOSTILE_BASES)
def test_a_hostile_committed_base_is_a_problem_not_a_crash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           case: str) -> None:
    """The removal guard and diff read users.json at HEAD: committed past the checks (no
    pre-commit on the forge), it must not make every later run crash, or the fix could not
    be committed."""
    isolate_git(monkeypatch)
    root = git_project(tmp_path / "repo")
    (root / "users.json").write_text(dict(CASES_BY_ID)[case], encoding="utf-8", errors="surrogatepass")
    git(root, "commit", "-qam", "committed past the checks")
    write_json(root / "users.json", doc(ada=person()))  # the fix
    before = tree_digest(root / "generated")
    output = _run(root, "check")
    assert "users.json: 2 users" in output and "OK" in output, output
    diff = _run(root, "diff")
    assert "users.json at HEAD" in diff and not _hidden(diff), diff
    assert tree_digest(root / "generated") == before


CASES_BY_ID = [(c[0], c[1]) for c in CASES]


def test_fold_covers_what_postgresql_upper_folds() -> None:
    """Every set of code points glibc's towupper (PostgreSQL's UPPER on a libc collation)
    maps to one has one fold; plain NFKC + casefold misses dotless ı."""
    libc_name = ctypes.util.find_library("c")
    if sys.platform != "linux" or not libc_name:
        pytest.skip("needs glibc")
    import locale
    old = locale.setlocale(locale.LC_CTYPE)
    locale.setlocale(locale.LC_CTYPE, "C.UTF-8")
    try:
        towupper = ctypes.CDLL(libc_name).towupper
        towupper.restype, towupper.argtypes = ctypes.c_uint, [ctypes.c_uint]
        same: dict[int, list[str]] = {}
        for code in range(0x20000):  # no letter above has a case
            if not 0xD800 <= code < 0xE000:
                same.setdefault(towupper(code), []).append(chr(code))
    finally:
        locale.setlocale(locale.LC_CTYPE, old)
    groups = [chars for chars in same.values() if len(chars) > 1]
    assert len(groups) > 1000
    assert [g for g in groups if len({fold(c) for c in g}) > 1] == []
    plain = [g for g in groups if len({unicodedata.normalize("NFKC", c).casefold() for c in g}) > 1]
    assert plain == [["I", "i", "ı"]]


def test_fold_and_skeleton_cases() -> None:
    assert fold("akadmın") == fold("AKADMIN") == fold("ａｋａｄｍｉｎ") == "akadmin"
    assert fold("ſtefan") == fold("Stefan") and fold("\u212aelvin") == fold("kelvin") and fold("Straße") == fold("strasse")
    assert skeleton("аdmin") == skeleton("admin") and skeleton("ada١") == skeleton("ada1")
    assert skeleton("stefan") != skeleton("stephan")


def _patterns(node: Any) -> list[str]:
    if isinstance(node, dict):
        return ([node["pattern"]] if isinstance(node.get("pattern"), str) else []) + \
            [p for v in node.values() for p in _patterns(v)]
    return [p for v in node for p in _patterns(v)] if isinstance(node, list) else []


@pytest.mark.parametrize("schema", ["users.schema.json", "settings.schema.json"])
def test_schema_patterns_take_ascii_digits_and_the_whole_string(schema: str) -> None:
    patterns = _patterns(load_schema(schema))
    assert patterns
    for pattern in patterns:
        assert "\\d" not in pattern, pattern
        assert pattern.count("$") == pattern.count("$(?!\\n)"), pattern  # re.search: $ matches before "\n"


@pytest.mark.parametrize("schema,data,where", [
    ("settings.schema.json", {"provider": {"version": "2026.5.0\n"}}, "provider.version"),
    ("settings.schema.json", {"provider": {"version": "٢٠٢٦.٥.٠"}}, "provider.version"),
    ("settings.schema.json", {"brand": {"domain": "auth.example.org\n"}}, "brand.domain"),
    ("settings.schema.json", {"session": {"duration": "hours=١٢"}}, "session.duration"),
    ("users.schema.json", {"users": {"ada\n": person()}}, 'users["ada\\n"]'),
    ("users.schema.json", {"users": {"ada": person(email="ada@example.org\n")}}, "users.ada.email"),
    ("users.schema.json", {"users": {"ada": person(groups=["dev\n"])}}, "users.ada.groups[0]"),
])
def test_patterns_refuse_a_final_newline_and_other_digits(schema: str, data: Any, where: str) -> None:
    """The schema alone, as an editor or jsonschema applies it (the parse step refuses
    control characters too, but a pattern must not rely on it)."""
    assert any(p.location == where for p in check_schema(data, schema, "x.json")), where


def test_settings_with_other_digits_are_refused(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_json(project / "settings.json", {"provider": {"version": "٢٠٢٦.٥.٠"}})
    assert main(["check"], root=project) == 1
    assert "settings.json: provider.version" in capsys.readouterr().err


def test_null_settings_is_a_problem(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "settings.json").write_text("null")
    assert main(["check"], root=project) == 1
    assert "settings.json: (top level): is null" in capsys.readouterr().err


def test_python_regexes_take_ascii_digits_and_the_whole_string() -> None:
    literal = re.compile(r"re\.compile\(\s*r?(['\"])(.*?)\1")
    for path in sorted((ROOT / "constructs" / "users_authentik").glob("*.py")):
        for match in literal.finditer(path.read_text(encoding="utf-8")):
            assert "\\d" not in match[2] and "$" not in match[2], (path.name, match[2])


def test_user_text_starts_no_workflow_command_in_the_ci_log(tmp_path: Path) -> None:
    """GitHub's runner reads `##[name]data` anywhere in a line of a step's output as a workflow
    command (its older syntax): CI prints check's problems (and synth's, and the guard's
    notes) to the log, so an email `… ##[add-mask]…` masked text in the log, `##[group]` folded
    the lines after it away and `##[error]` made an annotation of its own. Notes (a committed
    base's admin usernames, a settings value) were written as they are, without visible()."""
    admin = {"name": "Stefan", "email": "stefan@example.org", "groups": ["admins"], "is_admin": True}
    evil = "x##[add-mask]y"  # a base is read without its checks
    root = git_project(tmp_path / "repo", {"users": {"stefan": admin, evil: {**admin, "email": "e@example.org"}}})
    write_json(root / "users.json", {"users": {"stefan": admin,
                                               "eve": {"name": "Eve", "email": "x ##[group]hidden ##[error]fake"}}})
    write_json(root / "settings.json", {"users": {"superuser_group": "##[endgroup]admins"}})
    failed = run_main(root, "check", "--format", "github")
    assert failed.returncode == 1 and "is not an email address" in failed.stderr, failed.stderr
    assert "#\\x23[group]hidden" in failed.stderr, failed.stderr  # still readable
    write_json(root / "users.json", {"users": {"stefan": admin}})  # the note names the base's admins
    noted = run_main(root, "check", "--base", "HEAD", "--format", "github")
    noted_text = run_main(root, "check", "--base", "HEAD")
    assert "superuser_group" in noted_text.stderr, noted_text.stderr
    for shown in (failed, noted, noted_text):
        assert "##[" not in shown.stdout + shown.stderr and "\x1b" not in shown.stdout + shown.stderr, shown


@pytest.mark.parametrize("text", ["```\n# heading", "  ````` *x*\n```", "plain\n~~~\n<b>x</b>"])
def test_no_line_of_a_code_block_closes_it(text: str) -> None:
    """A line of backticks at a line's start (plan --format markdown quotes users.json's text)
    would close a fixed ``` fence and let the rest render: the block holds every line as text."""
    cmarkgfm = pytest.importorskip("cmarkgfm", reason="cmarkgfm (requirements-dev.txt) renders GitHub's Markdown")
    html = cmarkgfm.github_flavored_markdown_to_html(code_block(text) + "after\n")
    assert re.findall(r"</?\w+", html) == ["<pre", "<code", "</code", "</pre", "<p", "</p"], html
    assert html_module.unescape(html.split("<code>", 1)[1].split("</code>", 1)[0]) == text + "\n"

