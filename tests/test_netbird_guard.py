"""The removal guard and `diff` for NetBird (issue 17 item 4): the objects settings.json
`netbird` owns outside users.json are protected like admins. Turning NetBird off, or
idp_manager mode off, deletes them, which prevent_destroy cannot stop (the block is gone),
so it takes netbird.allow_removal in that change; a new IdP manager service account is a
new superuser and is called out like an admin grant; the NetBird lockout rule holds for a
change compared with its base."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.gitrepo import git, git_project, run_in_process as run, user
from tests.helpers import read_json, write_json

REDIRECTS = [{"url": "https://netbird.example.org/oauth2/callback"}]
USERS = {"users": {"stefan": user("stefan", is_admin=True, groups=["admins"]),
                   "bob": user("bob", groups=["vpn"])},
         "groups": {"admins": {}, "vpn": {"netbird": True}}}


pytestmark = pytest.mark.usefixtures("isolated_git")


def netbird(root: Path, **fields: Any) -> None:
    write_json(root / "settings.json", {"netbird": {"redirect_uris": REDIRECTS, **fields}})


def project(tmp_path: Path, **fields: Any) -> Path:
    """A repository whose HEAD has NetBird enabled with `fields`."""
    root = git_project(tmp_path / "repo", USERS)
    netbird(root, enabled=True, **fields)
    git(root, "commit", "-qam", "netbird on")
    return root


# --- deleting NetBird's objects takes an override ------------------------------------------


def test_turning_idp_manager_off_is_refused_without_allow_removal(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = project(tmp_path, mode="idp_manager")
    netbird(root, enabled=False, mode="idp_manager")
    code, out = run(root, capsys, "check")
    assert code == 1, out
    assert ('settings.json: netbird.enabled: this change (netbird.enabled: true -> false) deletes NetBird\'s '
            'application "netbird"') in out
    assert '; and the service account "netbird-idp-manager" of NetBird\'s IdP manager with its app password' in out
    assert 'say so in the same change: settings.json "netbird": {"allow_removal": true, ...}' in out
    assert "tofu state rm authentik_user.netbird_idp_manager" in out
    assert run(root, capsys)[0] == 1  # synth refuses it too
    code, out = run(root, capsys, "diff")
    assert code == 0
    assert "1 settings change" not in out and "2 settings changes to review" in out
    box = out.split("!! ADMIN RIGHTS CHANGE: review these first !!")[1]
    assert "  - REVOKED  netbird-idp-manager DELETES NetBird's IdP manager service account" in box
    assert "  ! SETTING   settings.json netbird.enabled: true -> false: DELETES NetBird's application" in box
    assert "REFUSED" in out
    markdown = run(root, capsys, "diff", "--format", "markdown")[1]
    assert "> - **revoked from** `netbird-idp-manager` (DELETES NetBird's IdP manager" in markdown
    # The override, in the same change:
    netbird(root, enabled=False, mode="idp_manager", allow_removal=True)
    code, out = run(root, capsys, "check")
    assert code == 0, out
    assert "deletes the service account \"netbird-idp-manager\"" in out and "allowed by netbird.allow_removal" in out


def test_switching_idp_manager_to_connector_is_refused_without_allow_removal(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = project(tmp_path, mode="idp_manager")
    netbird(root, enabled=True, mode="connector")
    code, out = run(root, capsys, "check")
    assert code == 1, out
    assert ('settings.json: netbird.mode: this change (netbird.mode: "idp_manager" -> "connector") deletes the '
            'service account "netbird-idp-manager"') in out
    assert "NetBird's application" not in out  # the application stays
    assert 'keep netbird.mode "idp_manager" as at HEAD' in out
    netbird(root, enabled=True, mode="connector", allow_removal=True)
    assert run(root, capsys, "check")[0] == 0


def test_turning_the_connector_off_deletes_the_application(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = project(tmp_path, mode="connector")
    netbird(root)
    code, out = run(root, capsys, "check")
    assert code == 1 and 'deletes NetBird\'s application "netbird"' in out
    assert "service account" not in out
    netbird(root, allow_removal=True)
    assert run(root, capsys, "check")[0] == 0


def test_the_override_is_for_one_change(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = project(tmp_path, mode="idp_manager")
    netbird(root, enabled=True, mode="connector", allow_removal=True)
    assert run(root, capsys, "check")[0] == 0
    git(root, "commit", "-qam", "idp manager off")
    # Left true, it does not vouch for a later deletion...
    netbird(root, enabled=False, mode="connector", allow_removal=True)
    code, out = run(root, capsys, "check")
    assert code == 1
    assert "netbird.allow_removal is true at HEAD already, left from an earlier change" in out
    # ...and a change to the section that deletes nothing may not keep it.
    netbird(root, enabled=True, mode="connector", allow_removal=True, name="NetBird VPN")
    code, out = run(root, capsys, "check")
    assert code == 1
    assert "settings.json: netbird.allow_removal: is true, but this change deletes none of NetBird's objects" in out
    # A users.json change leaves the committed override alone (as with offboarding.allow_removal).
    netbird(root, enabled=True, mode="connector", allow_removal=True)
    doc = read_json(root / "users.json")
    doc["users"]["eve"] = user("eve", groups=["vpn"])
    write_json(root / "users.json", doc)
    assert run(root, capsys, "check")[0] == 0


# --- a new service account is a new superuser -------------------------------------------------


def test_enabling_idp_manager_is_called_out_as_a_new_superuser(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = project(tmp_path, mode="connector")
    netbird(root, enabled=True, mode="idp_manager")
    code, out = run(root, capsys, "check")
    assert code == 0, out
    assert ('note: settings.json (netbird.mode: "connector" -> "idp_manager") adds "netbird-idp-manager", a new '
            'superuser account: the service account of NetBird\'s IdP manager joins "authentik Admins"') in out
    code, out = run(root, capsys, "diff")
    assert "no changes to users or groups; 1 settings change to review" in out
    assert ("!! ADMIN RIGHTS CHANGE: review these first !!\n  + GRANTED  netbird-idp-manager new superuser "
            "account: NetBird's IdP manager service account, in the superuser group") in out
    markdown = run(root, capsys, "diff", "--format", "markdown")[1]
    assert "> [!WARNING]\n> **Admin rights change: review these first**" in markdown
    assert "> - **granted to** `netbird-idp-manager` (new superuser account" in markdown


def test_it_joins_the_admin_changes_of_users_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = git_project(tmp_path / "repo", USERS)
    netbird(root, enabled=True, mode="idp_manager")
    doc = read_json(root / "users.json")
    doc["users"]["bob"]["is_admin"] = True
    write_json(root / "users.json", doc)
    code, out = run(root, capsys, "diff")
    box = out.split("!! ADMIN RIGHTS CHANGE: review these first !!")
    assert code == 0 and len(box) == 2  # one box
    first = box[1].split("\n\n")[0]
    assert "+ GRANTED  bob" in first and "+ GRANTED  netbird-idp-manager" in first
    assert "! SETTING   settings.json netbird.enabled: false -> true, netbird.mode: \"connector\" -> " \
           "\"idp_manager\": creates NetBird's application \"netbird\"" in first


# --- the NetBird lockout, compared with the base ------------------------------------------------


@pytest.mark.parametrize("how", ["moved out", "suspended", "group unmarked"])
def test_a_change_that_takes_the_last_netbird_user_out_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], how: str) -> None:
    root = project(tmp_path, mode="connector")
    doc = read_json(root / "users.json")
    if how == "moved out":
        doc["users"]["bob"]["groups"] = []
    elif how == "suspended":
        doc["users"]["bob"]["active"] = False
    else:
        doc["groups"]["vpn"] = {}
    write_json(root / "users.json", doc)
    code, out = run(root, capsys, "check")
    assert code == 1
    assert "nobody able to sign in to NetBird" in out
    code, out = run(root, capsys, "diff")
    assert code == 1 and "nobody able to sign in to NetBird" in out
