"""What people read: counts are pluralized, a repeated email blames the new entry, the
brand.domain placeholder note is said where it helps (check; synth when it writes the
brand) instead of on every commit."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.gitrepo import git_project, run_in_process as run, user
from tests.helpers import read_json, run_main, write_json

NOTE = "a name reserved for examples"


pytestmark = pytest.mark.usefixtures("isolated_git")


def test_one_user_and_one_group_are_singular(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(project, capsys, "check")
    assert code == 0 and "users.json: 1 user, 1 group: OK" in out
    assert "(1 user, 1 group)" in run(project, capsys)[1]


def test_a_repeated_email_blames_the_entry_the_change_adds(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    root = git_project(tmp_path / "repo", {"users": {"stefan": user("stefan", is_admin=True),
                                                     "zed": user("zed")}})
    doc = read_json(root / "users.json")
    # "abe" sorts, and is written, before "zed": the old rule blamed zed, who was there first.
    doc["users"] = {"abe": user("abe", email="zed@example.org"), **doc["users"]}
    write_json(root / "users.json", doc)
    code, out = run(root, capsys, "check")
    assert code == 1
    assert 'users.json: users.abe.email: "zed@example.org" is already the email of user "zed"' in out
    assert "users.zed.email" not in out


def test_without_a_base_the_later_entry_is_blamed(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = read_json(project / "users.json")
    doc["users"]["aaron"] = user("aaron", email="stefan@stefanzhelev.com")
    write_json(project / "users.json", doc)
    code, out = run(project, capsys, "check")
    assert code == 1 and 'users.aaron.email: "stefan@stefanzhelev.com" is already the email of user "stefan"' in out


def test_the_placeholder_note_is_not_on_every_synth(project: Path) -> None:
    assert NOTE in run_main(project, "check").stderr
    first = run_main(project)  # generated/ is up to date: nothing about the brand is written
    assert first.returncode == 0 and NOTE not in first.stderr
    write_json(project / "settings.json", {"brand": {"title": "Welcome"}})
    changed = run_main(project)  # the brand is written again: the note is said with it
    assert NOTE in changed.stderr and "cdk.tf.json" in changed.stdout
    assert NOTE not in run_main(project).stderr
