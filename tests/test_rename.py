"""A changed username keeps the account when the entry says "renamed_from": synth writes a
moved block, Terraform updates the account in place (its passkeys and MFA devices stay),
and diff, the guard and the real plan treat it as a rename. A rename the project cannot
see (no renamed_from) is refused when the email gives it away, and warned about loudly
otherwise."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.gitrepo import git, git_project, user
from tests.helpers import module, read_json, run_main, write_json
from users_authentik.cli import main


pytestmark = pytest.mark.usefixtures("isolated_git")


def team() -> dict[str, Any]:
    return {"users": {"stefan": user("stefan", is_admin=True, groups=["admins"]),
                      "ada": user("ada", groups=["dev"])}}


def rename(doc: dict[str, Any], old: str, new: str, *, keep_from: bool = True, **edits: Any) -> None:
    entry = doc["users"].pop(old)
    entry.update(edits)
    if keep_from:
        entry["renamed_from"] = old
    doc["users"][new] = entry


def run(root: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args), root=root)
    out, err = capsys.readouterr()
    return code, out + err


def edit(root: Path, fn) -> None:
    doc = read_json(root / "users.json")
    fn(doc)
    write_json(root / "users.json", doc)


def test_renamed_from_writes_a_moved_block_and_diff_shows_a_rename(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    root = git_project(tmp_path / "repo", team())
    edit(root, lambda d: rename(d, "ada", "ada.lovelace"))
    code, out = run(root, capsys)
    assert code == 0, out
    assert module(root / "generated")["moved"] == [
        {"from": 'authentik_user.users["ada"]', "to": 'authentik_user.users["ada.lovelace"]'}]
    code, out = run(root, capsys, "diff")
    assert code == 0
    assert "1 renamed, 0 onboarded" in out and "0 offboarded" in out
    assert "~ ada -> ada.lovelace" in out and "keeps its passkeys" in out
    assert "Offboarded" not in out and "Onboarded" not in out and "Removal guard" not in out
    assert "| `ada` | `ada.lovelace` |" in run(root, capsys, "diff", "--format", "markdown")[1]


def test_renaming_the_only_admin_keeps_them_the_same_admin(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    root = git_project(tmp_path / "repo", team())
    edit(root, lambda d: rename(d, "stefan", "stefan.z"))
    code, out = run(root, capsys, "check")
    assert code == 0, out
    assert "hand over in two changes" not in out
    # Without renamed_from (and another email) it is a new admin replacing the old one.
    git(root, "checkout", "--", "users.json")
    edit(root, lambda d: rename(d, "stefan", "stefan.z", keep_from=False, email="sz@example.org"))
    code, out = run(root, capsys, "check")
    assert code == 1 and "hand over in two changes" in out


def test_a_rename_by_email_without_renamed_from_is_refused(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    root = git_project(tmp_path / "repo", team())
    edit(root, lambda d: rename(d, "ada", "ada.lovelace", keep_from=False))
    code, out = run(root, capsys, "check")
    assert code == 1
    assert ('users.json: users["ada.lovelace"]: takes the email of "ada", which this change removes: as written, '
            'the account "ada" is deleted with its passkeys and MFA devices') in out
    assert 'add "renamed_from": "ada" to "ada.lovelace"' in out
    code, out = run(root, capsys, "diff")
    assert code == 0 and "RENAME WITHOUT renamed_from: the person loses their passkeys and MFA devices" in out
    # One removal is within the limit: the guard's line says the refusal is another rule's.
    assert "removes 1 of 2 users; up to 3 without an override: REFUSED for a reason below" in out


def test_diff_warns_loudly_when_it_cannot_tell(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = git_project(tmp_path / "repo", team())
    edit(root, lambda d: rename(d, "ada", "alovelace", keep_from=False, email="al@example.org"))
    code, out = run(root, capsys, "diff")
    assert code == 0
    assert "!! DELETES ada AND CREATES alovelace: if one of them is a person renamed, that person loses " in out
    assert "> [!CAUTION]" in run(root, capsys, "diff", "--format", "markdown")[1]


@pytest.mark.parametrize("entry,message", [
    ({"renamed_from": "stefan"}, '"stefan" is still an entry in users'),
    ({"renamed_from": "ada"}, '"ada" is this entry'),
    ({"renamed_from": "old", "authentik_id": 4}, "either adopts an account (authentik_id) or renames"),
    ({"renamed_from": "a b"}, "is not a username Authentik accepts"),
    ({"renamed_from": "AKADMIN"}, "an account Authentik creates and manages itself; renaming it would take it over"),
])
def test_bad_renamed_from_is_refused(project: Path, capsys: pytest.CaptureFixture[str],
                                     entry: dict[str, Any], message: str) -> None:
    doc = read_json(project / "users.json")
    doc["users"]["ada"] = {**user("ada"), **entry}
    write_json(project / "users.json", doc)
    code, out = run(project, capsys, "check")
    assert code == 1 and message in out, out


def test_two_entries_cannot_take_one_old_name(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = read_json(project / "users.json")
    doc["users"]["a1"] = {**user("a1"), "renamed_from": "ada"}
    doc["users"]["a2"] = {**user("a2"), "renamed_from": "ada"}
    write_json(project / "users.json", doc)
    code, out = run(project, capsys, "check")
    assert code == 1 and '"ada" is already renamed to "a1"' in out


def test_the_real_plan_of_a_rename_destroys_nothing(tmp_path: Path, terraform_run) -> None:
    root = git_project(tmp_path / "repo", team())
    assert run_main(root).returncode == 0
    base = tmp_path / "base"
    base.mkdir()
    for f in (root / "generated").glob("*.tf.json"):
        (base / f.name).write_text(f.read_text())
    tf = terraform_run(base)
    tf.init()
    tf.apply()
    ada_id = user_ids(tf)["ada"]

    edit(root, lambda d: rename(d, "ada", "ada.lovelace", name="Ada King"))
    result = run_main(root)
    assert result.returncode == 0, result.stderr
    tf.use_module(root / "generated")
    plan = tf.plan()
    users = {rc["address"]: rc for rc in plan["resource_changes"] if rc["type"] == "authentik_user"}
    assert all("delete" not in rc["change"]["actions"] for rc in plan["resource_changes"]), plan["resource_changes"]
    moved = users['authentik_user.users["ada.lovelace"]']
    assert moved["previous_address"] == 'authentik_user.users["ada"]'
    assert moved["change"]["actions"] == ["update"]
    assert moved["change"]["after"]["username"] == "ada.lovelace" and moved["change"]["after"]["name"] == "Ada King"
    tf.apply()
    assert user_ids(tf) == {"stefan": user_ids(tf)["stefan"], "ada.lovelace": ada_id}  # the same account


def user_ids(tf) -> dict[str, str]:
    return {r["index"]: r["values"]["id"] for r in tf.state()["root_module"]["resources"]
            if r["type"] == "authentik_user"}


def test_a_misspelt_new_group_gets_a_did_you_mean(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = team()
    doc["users"]["bob"] = user("bob", groups=["dev", "on call"])
    root = git_project(tmp_path / "repo", doc)
    edit(root, lambda d: d["users"].update(carol=user("carol", groups=["deve", "on call"])))
    code, out = run(root, capsys)
    assert code == 0
    assert 'note: group "deve" is new and only one entry names it; did you mean "dev"?' in out
    code, out = run(root, capsys, "diff")
    assert '+ deve             created by this change (did you mean "dev"? only one entry names it)' in out
    assert '[groups: deve, "on call"]' in out  # a name with a space is quoted
    assert 'did you mean "dev"? only one entry names it' in run(root, capsys, "diff", "--format", "markdown")[1]
    edit(root, lambda d: d["users"]["ada"]["groups"].append("deve"))  # two entries: a real group
    assert "did you mean" not in run(root, capsys, "diff")[1]


def netbird_team() -> dict[str, Any]:
    return {"users": {"stefan": user("stefan", is_admin=True, groups=["admins"]),
                      "ada": user("ada", groups=["vpn"]), "bob": user("bob", groups=["dev"])},
            "groups": {"admins": {"netbird": True}, "dev": {}, "vpn": {"netbird": True}}}


def netbird_project(dest: Path) -> Path:
    """netbird_team() committed with NetBird enabled in settings.json."""
    root = git_project(dest, netbird_team(), commit=False)
    write_json(root / "settings.json", {"netbird": {"enabled": True}})
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    return root


def netbird_diff(root: Path, capsys: pytest.CaptureFixture[str]) -> tuple[str, str, list[dict[str, Any]]]:
    """diff's NetBird access lines in text and Markdown, and its json "netbird" list."""
    code, text = run(root, capsys, "diff")
    assert code == 0, text
    markdown = run(root, capsys, "diff", "--format", "markdown")[1]
    code, out = run(root, capsys, "diff", "--format", "json")
    assert code == 0, out
    return text, markdown, json.loads(out)["netbird"]


def test_a_rename_that_keeps_netbird_access_shows_no_access_change(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    root = netbird_project(tmp_path / "repo")
    edit(root, lambda d: rename(d, "ada", "ada.lovelace"))
    text, markdown, listed = netbird_diff(root, capsys)
    assert "~ ada -> ada.lovelace" in text
    # The same account keeps its access: no revoke for the old name, no grant for the new.
    assert "NetBird access" not in text and "NetBird access" not in markdown and listed == []


def test_a_rename_that_changes_netbird_access_shows_one_line_saying_why(tmp_path: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    root = netbird_project(tmp_path / "repo")
    edit(root, lambda d: (rename(d, "bob", "bob.b", groups=["vpn"]), rename(d, "ada", "ada.l", groups=["dev"])))
    text, markdown, listed = netbird_diff(root, capsys)
    assert "; 2 NetBird access changes" in text
    assert "  + bob.b gains NetBird access (renamed from bob, NetBird groups: +vpn)" in text
    assert "  - ada.l loses NetBird access (renamed from ada, NetBird groups: -vpn)" in text
    assert "(new user)" not in text and "(offboarded)" not in text
    assert "`bob.b` **gains** NetBird access (renamed from bob, NetBird groups: +vpn)" in markdown
    assert "`ada.l` **loses** NetBird access (renamed from ada, NetBird groups: -vpn)" in markdown
    assert listed == [{"username": "bob.b", "granted": True, "reason": "renamed from bob, NetBird groups: +vpn"},
                      {"username": "ada.l", "granted": False, "reason": "renamed from ada, NetBird groups: -vpn"}]


def test_a_rename_in_the_change_that_unmarks_their_group_loses_access_once(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = netbird_project(tmp_path / "repo")
    edit(root, lambda d: (rename(d, "ada", "ada.l"), d["groups"].update(vpn={})))
    text, markdown, listed = netbird_diff(root, capsys)
    assert "NetBird access (1)\n  - ada.l loses NetBird access (renamed from ada, NetBird groups: -vpn)\n" in text
    assert markdown.count("NetBird access (") == 1
    assert listed == [{"username": "ada.l", "granted": False, "reason": "renamed from ada, NetBird groups: -vpn"}]
