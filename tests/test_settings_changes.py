"""settings.json changes are part of the change: a new users.superuser_group moves every
admin out of the group that gives them their rights, and raised removal limits loosen the
guard. `diff` calls both out and the guard notes them; the guard reads the base's
settings.json from git and judges removals by the stricter limits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.gitrepo import git, git_project, run_in_process as run, user
from tests.helpers import read_json, write_json


def directory(n: int) -> dict[str, Any]:
    users = {"stefan": user("stefan", is_admin=True, groups=["admins"])}
    users.update({f"u{i:02d}": user(f"u{i:02d}", groups=["dev"]) for i in range(n - 1)})
    return {"users": users}


pytestmark = pytest.mark.usefixtures("isolated_git")


def settings(root: Path, **sections: Any) -> None:
    write_json(root / "settings.json", sections)


def test_a_new_superuser_group_is_an_admin_change(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = git_project(tmp_path / "repo", directory(5))
    settings(root, users={"superuser_group": "staff"})
    code, out = run(root, capsys, "diff")
    assert code == 0
    assert "no changes to users or groups." not in out  # what diff used to say
    assert "users.json: HEAD -> working tree: no changes to users or groups; 1 settings change to review" in out
    assert "!! ADMIN RIGHTS CHANGE: review these first !!" in out
    assert ('  ! SETTING   settings.json users.superuser_group: "authentik Admins" -> "staff": every admin leaves '
            '"authentik Admins" and joins "staff"') in out
    code, out = run(root, capsys, "diff", "--format", "markdown")
    assert ('> [!WARNING]\n> **Admin rights change: review these first**\n>\n'
            '> - **settings.json users.superuser\\_group: "authentik Admins" -\\> "staff": every admin') in out
    assert "No changes to users or groups; 1 settings change to review" in out
    code, out = run(root, capsys, "check")
    assert code == 0
    assert ('note: settings.json changes users.superuser_group from "authentik Admins" to "staff": every admin '
            '(stefan) leaves "authentik Admins" and joins "staff"') in out


def test_it_joins_the_admin_changes_of_users_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = git_project(tmp_path / "repo", directory(5))
    settings(root, users={"superuser_group": "staff"})
    doc = read_json(root / "users.json")
    doc["users"]["u00"]["is_admin"] = True
    write_json(root / "users.json", doc)
    out = run(root, capsys, "diff")[1]
    box = out.split("!! ADMIN RIGHTS CHANGE: review these first !!")
    assert len(box) == 2  # one box
    assert "+ GRANTED  u00" in box[1].split("\n\n")[0] and "! SETTING" in box[1].split("\n\n")[0]


def test_raising_the_limit_and_removing_in_one_change_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = git_project(tmp_path / "repo", directory(10))
    settings(root, offboarding={"max_removals": 50})
    doc = read_json(root / "users.json")
    for i in range(5):
        del doc["users"][f"u{i:02d}"]
    write_json(root / "users.json", doc)
    code, out = run(root, capsys, "check")
    assert code == 1
    assert ("this change removes 5 of the 10 users at HEAD (u00, u01, u02, u03, u04), more than the 3 one change "
            "may remove without an override (settings.json offboarding: max_removals 3, max_removal_percent 10, "
            "the limits at HEAD: limits this change raises apply from the next change)") in out
    assert ("note: settings.json raises offboarding.max_removals from 3 to 50; this change is still judged by "
            "the limit at HEAD") in out
    code, out = run(root, capsys, "diff")
    assert code == 0
    assert ("Removal limits raised (1): this change is still judged by the limits at HEAD; the raised ones "
            "apply from the next change") in out
    assert "  ~ settings.json offboarding.max_removals: 3 -> 50" in out
    assert "up to 3 without an override: REFUSED" in out
    assert "#### Removal limits raised (1)" in run(root, capsys, "diff", "--format", "markdown")[1]
    # Raised in a change of its own, the new limit applies to the next one:
    write_json(root / "users.json", directory(10))
    assert run(root, capsys, "check")[0] == 0
    git(root, "commit", "-qam", "raise max_removals")
    write_json(root / "users.json", doc)
    code, out = run(root, capsys, "check")
    assert code == 0, out


def test_a_lowered_limit_applies_at_once_and_is_not_called_out(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = git_project(tmp_path / "repo", directory(10))
    settings(root, offboarding={"max_removals": 0, "max_removal_percent": 0})
    doc = read_json(root / "users.json")
    del doc["users"]["u00"]
    write_json(root / "users.json", doc)
    code, out = run(root, capsys, "check")
    assert code == 1 and "more than the 0 one change may remove" in out
    assert "raises" not in out
    assert "Removal limits raised" not in run(root, capsys, "diff")[1]
