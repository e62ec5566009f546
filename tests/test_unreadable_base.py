"""users.json and settings.json that are not plain, readable files: a symbolic link in the
working tree or in git (mode 120000), a committed file that cannot be read as users, one
that was deleted. None of them may make the checks read another file, crash them, or
switch the removal guard off (issue: a link at the base read as "unreadable" let the next
change delete almost everyone)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

import pytest

from tests.gitrepo import git, git_project, run_in_process as run, user
from tests.helpers import read_json, tree_digest, write_json
from users_authentik.gitref import NotAFile, files_at, resolve


def directory(n: int) -> dict[str, Any]:
    users = {"stefan": user("stefan", is_admin=True, groups=["admins"])}
    users.update({f"u{i:02d}": user(f"u{i:02d}", groups=["dev"]) for i in range(n - 1)})
    return {"users": users}


pytestmark = pytest.mark.usefixtures("isolated_git")


def keep_only_stefan(doc: dict[str, Any]) -> None:
    doc["users"] = {"stefan": doc["users"]["stefan"]}


def edit(root: Path, fn: Callable[[dict[str, Any]], Any]) -> None:
    doc = read_json(root / "users.json")
    fn(doc)
    write_json(root / "users.json", doc)


def link(root: Path, name: str, target: str) -> None:
    (root / name).unlink(missing_ok=True)
    (root / name).symlink_to(target)


# ----------------------------------------------------------------- the working tree


@pytest.mark.parametrize("name", ["users.json", "settings.json"])
def test_a_link_in_the_working_tree_is_a_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                 name: str) -> None:
    root = git_project(tmp_path / "repo", directory(5))
    (root / "elsewhere.json").write_bytes((root / name).read_bytes())  # the same content: still refused
    link(root, name, "elsewhere.json")
    before = tree_digest(root / "generated")
    for command in ([], ["check"], ["diff"]):
        code, out = run(root, capsys, *command)
        assert code == 1, (command, out)
        assert (f'{name}: (file): is a symbolic link (to "elsewhere.json"), not a file; the checks read only '
                "a plain file") in out, command
        assert f"fix: replace the link by a plain file with the content itself" in out
    assert tree_digest(root / "generated") == before


def test_a_link_out_of_the_repository_is_never_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = git_project(tmp_path / "repo", directory(5))
    secret = tmp_path / "secret.json"
    write_json(secret, {"users": {"token-abc123": user("x")}})
    link(root, "users.json", str(secret))
    code, out = run(root, capsys, "check")
    assert code == 1
    assert "token-abc123" not in out and "is a symbolic link" in out


# ----------------------------------------------------------------- git at the base


def test_gitref_reports_every_entry_that_is_not_a_plain_file(tmp_path: Path) -> None:
    root = git_project(tmp_path / "repo", directory(3))
    link(root, "users.json", "other.json")
    link(root, "settings.json", "other.json")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "links")
    with pytest.raises(NotAFile) as caught:
        files_at(root, resolve(root, "HEAD"), ("users.json", "settings.json"))
    assert [(name, kind) for name, _, kind in caught.value.entries] == [
        ("settings.json", "a symbolic link"), ("users.json", "a symbolic link")]


def test_attack_a_linked_users_json_at_the_base_cannot_switch_the_guard_off(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Attack (b): users.json committed as a link (here with --no-verify, or pushed past CI);
    the next change deletes nearly everyone. Refused: a link at the base is a problem."""
    root = git_project(tmp_path / "repo", directory(10))
    good = git(root, "rev-parse", "HEAD").strip()
    (root / "real.json").write_bytes((root / "users.json").read_bytes())
    link(root, "users.json", "real.json")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "users.json becomes a link")
    (root / "users.json").unlink()
    write_json(root / "users.json", read_json(root / "real.json"))
    edit(root, keep_only_stefan)
    before = tree_digest(root / "generated")
    for args in ([], ["check"], ["check", "--base", "HEAD"], ["diff"]):
        code, out = run(root, capsys, *args)
        assert code == 1, (args, out)
        assert "users.json at HEAD: (file): is a symbolic link in git, not a file" in out, args
        assert f"`python3 main.py check --base {good[:12]}` (the newest commit where it is a readable file)" in out
    assert tree_digest(root / "generated") == before
    # The repair, checked against the last readable version as the message says:
    code, out = run(root, capsys, "check", "--base", good[:12])
    assert code == 1 and "this change removes 9 of the 10 users" in out


@pytest.mark.parametrize("broken", [
    "{ broken",  # not JSON
    "[" * 100_000,  # JSON the parser cannot take (it used to crash with RecursionError)
    '{"users": {"a": 1' + "0" * 5000 + "}}",  # a number with too many digits (ValueError)
    '{"users": {"stefan": {"name": "S", "email": "s@example.org", "is_admin": true}, "stefan": {}}}',  # a repeat
], ids=["not-json", "deep", "long-number", "repeated-key"])
def test_attack_a_broken_users_json_at_head_cannot_switch_the_guard_off(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], broken: str) -> None:
    root = git_project(tmp_path / "repo", directory(10))
    good = git(root, "rev-parse", "HEAD").strip()
    full = read_json(root / "users.json")
    (root / "users.json").write_text(broken)
    git(root, "commit", "-qam", "broken (--no-verify)")
    write_json(root / "users.json", full)
    edit(root, keep_only_stefan)
    code, out = run(root, capsys)
    assert code == 1, out
    assert "Traceback" not in out
    assert f"this change removes 9 of the 10 users at {good[:12]}" in out
    assert "note: users.json at HEAD cannot be read as users; the removal guard compared with" in out
    # An explicit --base that cannot be read is an error, naming the version to compare with instead:
    code, out = run(root, capsys, "check", "--base", "HEAD")
    assert code == 1
    assert "users.json at HEAD: (file): cannot be read as users (`python3 main.py diff --base HEAD` lists why)" in out
    assert f"fix: compare with the newest commit where it can be read, --base {good[:12]}" in out


def test_attack_a_deleted_users_json_at_head_cannot_switch_the_guard_off(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = git_project(tmp_path / "repo", directory(10))
    good = git(root, "rev-parse", "HEAD").strip()
    full = read_json(root / "users.json")
    git(root, "rm", "-q", "users.json")
    git(root, "commit", "-qm", "users.json deleted (--no-verify)")
    write_json(root / "users.json", full)
    edit(root, keep_only_stefan)
    code, out = run(root, capsys, "check")
    assert code == 1
    assert f"this change removes 9 of the 10 users at {good[:12]}" in out
    assert "note: users.json at HEAD is absent, though an earlier commit has one" in out
    code, out = run(root, capsys, "check", "--base", "HEAD")
    assert code == 1 and "users.json at HEAD: (file): is absent, though an earlier commit has one" in out


def test_a_project_that_never_had_users_json_still_starts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = git_project(tmp_path / "repo", directory(10), commit=False)
    git(root, "add", "settings.json")
    git(root, "commit", "-qm", "settings first")
    code, out = run(root, capsys, "check", "--base", "HEAD")
    assert code == 0, out
    assert "note:" not in out.replace("note: settings.json brand.domain", "")


def test_an_unreadable_explicit_base_is_an_error_not_a_note(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Even when there is nothing readable before it: CI's --base must be a real comparison."""
    root = git_project(tmp_path / "repo", None, commit=False)
    (root / "users.json").write_text("{ broken")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "a broken first users.json")
    write_json(root / "users.json", directory(3))
    code, out = run(root, capsys, "check", "--base", "HEAD")
    assert code == 1
    assert "users.json at HEAD: (file): cannot be read as users" in out
    code, out = run(root, capsys, "check")  # at HEAD: nothing was ever readable, the fix may be committed
    assert code == 0 and "nor any earlier version" in out
