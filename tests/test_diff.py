"""`main.py diff`: the change preview for reviewers, in text and Markdown, against a commit
of a scratch git repository."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.gitrepo import git, git_project, user
from tests.helpers import copy_project, read_json, run_main, tree_digest, write_json
from users_authentik.cli import main
from users_authentik.diff import ADMIN_EMAIL_NOTE, ADMIN_TITLE

BASE = {"users": {
    "stefan": user("stefan", is_admin=True, groups=["admins"]),
    "ada": user("ada", is_admin=True, groups=["admins", "dev"]),
    "bob": user("bob", groups=["dev"]),
    "carol": user("carol", is_admin=True, active=False),
    "dave": user("dave", groups=["dev"]),
    "erin": user("erin", groups=["dev"]),
    "ivy": user("ivy", is_admin=True),
}}


def every_kind_of_change(doc: dict[str, Any]) -> None:
    u = doc["users"]
    u["frank"] = user("frank", is_admin=True, groups=["ops"])  # onboarded, admin granted
    del u["bob"], u["ivy"]  # offboarded; ivy was an admin
    u["dave"]["active"] = False  # suspended
    u["carol"]["active"] = True  # re-activated, and she is an admin
    u["erin"].update(name="Erin B", email="erin.b@example.org", groups=["ops"])
    u["ada"]["is_admin"] = False  # admin revoked


EXPECTED_TEXT = """\
users.json: HEAD -> working tree: 1 onboarded, 2 offboarded, 1 suspended, 1 re-activated, 2 changed; 4 admin changes

!! ADMIN RIGHTS CHANGE: review these first !!
  + GRANTED  carol            re-activated
  + GRANTED  frank            new user
  - REVOKED  ada              is_admin removed
  - REVOKED  ivy              offboarded

!! DELETES bob, ivy AND CREATES frank: if one of them is a person renamed, that person loses their passkeys and MFA devices; rename with "renamed_from": "<old username>" in the new entry to keep the account

Onboarded (1)
  + frank            Frank <frank@example.org>  [groups: ops; ADMIN]

Offboarded (2): deleting an account deletes its passkeys and TOTP devices too
  - bob              Bob <bob@example.org>
  - ivy              Ivy <ivy@example.org>

Suspended (1): the accounts keep their passkeys and devices but cannot sign in
  ~ dave             Dave <dave@example.org>

Re-activated (1)
  ~ carol            Carol <carol@example.org>

Changed (2)
  ~ ada              is_admin: true -> false
  ~ erin             email: "erin@example.org" -> "erin.b@example.org"
  ~ erin             groups: added ops; removed dev
  ~ erin             name: "Erin" -> "Erin B"

Groups (1)
  + ops              created by this change

Removal guard: removes 2 of 7 users; up to 3 without an override: OK
"""

EXPECTED_MARKDOWN = """\
### users.json: `HEAD` → working tree

**1 onboarded, 2 offboarded, 1 suspended, 1 re-activated, 2 changed; 4 admin changes**

> [!WARNING]
> **Admin rights change: review these first**
>
> - **granted to** `carol` (re-activated)
> - **granted to** `frank` (new user)
> - **revoked from** `ada` (is\\_admin removed)
> - **revoked from** `ivy` (offboarded)

> [!CAUTION]
> **DELETES bob, ivy AND CREATES frank: if one of them is a person renamed, that person loses their passkeys and MFA devices; rename with "renamed\\_from": "\\<old username\\>" in the new entry to keep the account**

#### Onboarded (1)

| User | Name | Email | Groups | Notes |
|---|---|---|---|---|
| `frank` | Frank | frank@<!-- -->example.org | ops | ADMIN |

#### Offboarded (2)

**Deleting an account deletes its passkeys and TOTP devices too.**

| User | Name | Email |
|---|---|---|
| `bob` | Bob | bob@<!-- -->example.org |
| `ivy` | Ivy | ivy@<!-- -->example.org |

#### Suspended (1)

The accounts keep their passkeys and devices but cannot sign in.

| User | Name | Email |
|---|---|---|
| `dave` | Dave | dave@<!-- -->example.org |

#### Re-activated (1)

| User | Name | Email |
|---|---|---|
| `carol` | Carol | carol@<!-- -->example.org |

#### Changed (2)

| User | Field | Change |
|---|---|---|
| `ada` | `is_admin` | true → false |
| `erin` | `email` | "erin@<!-- -->example.org" → "erin.b@<!-- -->example.org" |
| `erin` | `groups` | added ops; removed dev |
| `erin` | `name` | "Erin" → "Erin B" |

#### Groups (1)

| Group | Change | Details |
|---|---|---|
| ops | created by this change |  |

#### Removal guard

removes 2 of 7 users; up to 3 without an override: OK
"""


pytestmark = pytest.mark.usefixtures("isolated_git")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return git_project(tmp_path / "repo", BASE)


def edit(root: Path, change) -> None:
    doc = read_json(root / "users.json")
    change(doc)
    write_json(root / "users.json", doc)


def diff(root: Path, capsys: pytest.CaptureFixture[str], *args: str, status: int = 0) -> str:
    code = main(["diff", *args], root=root)
    out, err = capsys.readouterr()
    assert code == status, err
    return out if status == 0 else err


def test_text_preview_shows_every_kind_of_change(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(repo, every_kind_of_change)
    assert diff(repo, capsys) == EXPECTED_TEXT


def test_markdown_preview_shows_every_kind_of_change(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(repo, every_kind_of_change)
    assert diff(repo, capsys, "--format", "markdown") == EXPECTED_MARKDOWN


@pytest.mark.parametrize("change,text,markdown", [
    (lambda d: d["users"].update(zoe=user("zoe", groups=["dev"])),
     "  + zoe              Zoe <zoe@example.org>  [groups: dev]", "| `zoe` | Zoe | zoe@<!-- -->example.org | dev |  |"),
    (lambda d: d["users"].pop("bob"), "  - bob              Bob <bob@example.org>", "| `bob` | Bob | bob@<!-- -->example.org |"),
    (lambda d: d["users"]["dave"].update(active=False), "  ~ dave             Dave <dave@example.org>",
     "| `dave` | Dave | dave@<!-- -->example.org |"),
    (lambda d: d["users"]["carol"].update(active=True), "  ~ carol            Carol <carol@example.org>",
     "| `carol` | Carol | carol@<!-- -->example.org |"),
    (lambda d: d["users"]["bob"].update(groups=["admins"]),
     "  ~ bob              groups: added admins; removed dev", "| `bob` | `groups` | added admins; removed dev |"),
    (lambda d: d["users"]["bob"].update(is_admin=True),
     "  + GRANTED  bob              is_admin set", "> - **granted to** `bob` (is\\_admin set)"),
    (lambda d: d["users"]["stefan"].update(active=False),
     "  - REVOKED  stefan           suspended", "> - **revoked from** `stefan` (suspended)"),
], ids=["add", "remove", "suspend", "reactivate", "groups", "admin-grant", "admin-revoke-by-suspension"])
def test_each_change_in_both_formats(repo: Path, capsys: pytest.CaptureFixture[str],
                                     change, text: str, markdown: str) -> None:
    edit(repo, change)
    assert text in diff(repo, capsys).splitlines()
    assert markdown in diff(repo, capsys, "--format", "markdown").splitlines()


def test_an_admins_new_email_is_an_admin_change(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The recovery flow mails its sign-in link to the account's email: a pull request that
    # changes an admin's address (renamed or not) hands the superuser to whoever reads it.
    def change(doc: dict[str, Any]) -> None:
        u = doc["users"]
        u["stefan"]["email"] = "stefan@attacker.example"
        u["adam"] = {**u.pop("ada"), "renamed_from": "ada", "email": "ada@attacker.example"}
        u["bob"]["email"] = "bob@elsewhere.example"  # no admin: listed as changed only
        u["carol"]["email"] = "carol@elsewhere.example"  # an admin, suspended: no sign-in, no recovery
    edit(repo, change)
    text = diff(repo, capsys)
    box = text.split(ADMIN_TITLE)[1].split("\n\n")[0].splitlines()[1:]
    assert [line.split(":")[0].split() for line in box] == [
        ["~", "EMAIL", "adam", '"ada@example.org"', "->", '"ada@attacker.example"'],
        ["~", "EMAIL", "stefan", '"stefan@example.org"', "->", '"stefan@attacker.example"']]
    assert all(line.endswith(ADMIN_EMAIL_NOTE) for line in box)
    assert "; 2 admin changes" in text.splitlines()[0]
    markdown = diff(repo, capsys, "--format", "markdown")
    warning = markdown.split("> [!WARNING]")[1].split("\n\n")[0]
    assert "> - **email of** `stefan`: \"stefan@<!-- -->example.org\" → \"stefan@<!-- -->attacker.example\"" in warning
    assert "`adam`" in warning and "bob" not in warning and "carol" not in warning
    doc = json.loads(diff(repo, capsys, "--format", "json"))
    assert [e["username"] for e in doc["admin_emails"]] == ["adam", "stefan"]


def test_no_change_and_reformatting_are_no_change(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert diff(repo, capsys) == "users.json: HEAD -> working tree: no changes to users or groups.\n"
    doc = read_json(repo / "users.json")
    reordered = {"users": dict(reversed(list(doc["users"].items())))}
    (repo / "users.json").write_text(json.dumps(reordered, indent=8))
    assert "no changes" in diff(repo, capsys)
    assert "No changes to users or groups." in diff(repo, capsys, "--format", "markdown")


def test_base_option_compares_with_an_older_commit(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first = git(repo, "rev-parse", "HEAD").strip()
    edit(repo, lambda d: d["users"].pop("bob"))
    git(repo, "commit", "-qam", "offboard bob")
    assert "no changes" in diff(repo, capsys)
    out = diff(repo, capsys, "--base", first)
    assert out.startswith(f"users.json: {first} -> working tree: 0 onboarded, 1 offboarded")
    assert "  - bob " in out
    assert "  - bob " in diff(repo, capsys, "--base", "HEAD~1")


def test_missing_file_at_base_is_an_empty_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = git_project(tmp_path / "repo", BASE, commit=False)
    git(repo, "add", "settings.json")
    git(repo, "commit", "-qm", "settings only")
    out = diff(repo, capsys)
    assert out.startswith("users.json: HEAD -> working tree: 7 onboarded, 0 offboarded")
    assert "  + GRANTED  stefan           new user" in out


def test_repository_without_commits_compares_with_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = git_project(tmp_path / "repo", BASE, commit=False)
    assert "7 onboarded" in diff(repo, capsys)


def test_project_in_a_subfolder_of_the_repository(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    copy_project(tmp_path / "repo" / "authentik")
    write_json(tmp_path / "repo" / "authentik" / "users.json", BASE)
    git(tmp_path / "repo", "init", "-q")
    git(tmp_path / "repo", "add", "-A")
    git(tmp_path / "repo", "commit", "-qm", "base")
    edit(tmp_path / "repo" / "authentik", lambda d: d["users"].pop("erin"))
    assert "  - erin " in diff(tmp_path / "repo" / "authentik", capsys)


def test_not_a_git_repository_is_a_clear_error(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = diff(project, capsys, status=1)
    assert "is not inside a git repository" in err and "fix: " in err


def test_unknown_base_is_a_clear_error(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = diff(repo, capsys, "--base", "mian", status=1)
    assert 'users.json: (git, mian): "mian" is not a commit in this repository' in err
    assert "fix: name an existing branch" in err
    assert '"--x" is not a git revision' in diff(repo, capsys, "--base=--x", status=1)


def test_invalid_base_version_is_said_clearly(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "users.json").write_text('{"users": {"ada": {"name": "A"}}}')
    git(repo, "commit", "-qam", "broken (committed with --no-verify)")
    write_json(repo / "users.json", BASE)
    err = diff(repo, capsys, status=1)
    assert 'users.json at HEAD: users.ada.email: "email" is missing' in err
    assert "users.json at HEAD is not valid (2 problems above), so there is nothing to compare with" in err
    assert "git diff HEAD -- users.json" in err


def test_a_base_with_problems_is_compared_as_committed(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """As the removal guard compares with it (docs/offboarding.md): the problems are listed."""
    (repo / "users.json").write_text('{"users": {"ada": {"name": "A", "email": "nope"}}}')
    git(repo, "commit", "-qam", "broken (committed with --no-verify)")
    write_json(repo / "users.json", BASE)
    assert main(["diff"], root=repo) == 0
    out, err = capsys.readouterr()
    assert out.startswith("users.json: HEAD -> working tree: 6 onboarded, 0 offboarded")
    assert 'users.json at HEAD: users.ada.email: "nope" is not an email address' in err
    assert "note: users.json at HEAD has 2 problems (above); it is compared as committed" in err


def test_invalid_working_tree_is_reported_as_usual(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(repo, lambda d: d["users"]["bob"].update(email="bob-at-example"))
    err = diff(repo, capsys, status=1)
    assert 'users.json: users.bob.email: "bob-at-example" is not an email address' in err


def test_markdown_cells_cannot_inject_markup(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(repo, lambda d: d["users"].update(zed=dict(user("zed"), name="Zed | <img src=x> *bold* `code`")))
    row = [line for line in diff(repo, capsys, "--format", "markdown").splitlines() if "`zed`" in line]
    assert row == ["| `zed` | Zed \\| \\<img src=x\\> \\*bold\\* \\`code\\` | zed@<!-- -->example.org |  |  |"]


def test_a_display_name_cannot_pass_for_the_email_in_text(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(repo, lambda d: d["users"].update(zed=dict(user("zed"), name="Zed <zed@corp.example>",
                                                   email="zed@evil.example")))
    row = [line for line in diff(repo, capsys).splitlines() if " zed " in line]
    assert row == ['  + zed              "Zed <zed@corp.example>" <zed@evil.example>  [no groups]']


def test_adoption_and_group_changes_are_shown(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def change(d: dict[str, Any]) -> None:
        d["users"]["zoe"] = user("zoe", authentik_id=42, is_admin=True)
        d["users"]["bob"]["authentik_id"] = 7
        d["groups"] = {"admins": {}, "dev": {"attributes": {"netbird": True}},
                       "ops": {"authentik_id": "3f2c9a4e-8d1b-4c6f-9e2a-7b5d0c1e4f8a"}, "qa": {}}
    edit(repo, change)
    out = diff(repo, capsys)
    # An adoption is named as one, never as an onboarding or a created group.
    assert out.startswith("users.json: HEAD -> working tree: 0 onboarded, 1 adopted, 0 offboarded")
    assert "Adopted (1): existing accounts taken over (imported)" in out
    assert "  + zoe              adopts existing account zoe (id 42): Zoe <zoe@example.org>  [no groups; ADMIN]" in out
    assert "  + GRANTED  zoe              adopted account" in out
    assert "Onboarded" not in out
    assert "  + ops              adopts existing group ops (id 3f2c9a4e-8d1b-4c6f-9e2a-7b5d0c1e4f8a)" in out
    assert "  + qa               created" in out and "ops              created" not in out
    assert "  ~ bob              authentik_id: (none) -> 7" in out
    assert '  ~ dev              attributes: "{}" -> "{\\"netbird\\":true}"' in out
    md = diff(repo, capsys, "--format", "markdown")
    assert "#### Adopted (1)" in md and "#### Onboarded" not in md
    assert "| `zoe` | Zoe | zoe@<!-- -->example.org |  | adopts existing account zoe (id 42); ADMIN |" in md
    # The UUID's hex runs are split as a commit SHA would be (an invisible comment every 6 digits).
    assert "| ops | adopted | adopts existing group ops (id 3f2c9a<!-- -->4e-8d1b-4c6f-9e2a-7b5d0c<!-- -->1e4f8a) |" in md


def test_diff_writes_nothing_and_exits_cleanly_as_a_process(repo: Path) -> None:
    before = tree_digest(repo / "generated")
    edit(repo, every_kind_of_change)
    result = run_main(repo, "diff", "--format", "markdown")
    assert result.returncode == 0, result.stderr
    assert result.stdout == EXPECTED_MARKDOWN and "Traceback" not in result.stderr
    assert tree_digest(repo / "generated") == before


def test_format_is_for_diff_only(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["check", "--format", "markdown"], root=repo)
    assert exit_.value.code == 2
    assert "invalid choice: 'markdown'" in capsys.readouterr().err  # check has text, json and github


def test_a_branch_without_a_merge_base_is_not_shown_as_no_change(tmp_path: Path) -> None:
    """A shallow clone (`git clone --depth 1`, a quick look at a pull request) or a branch with
    unrelated history has no merge-base with origin/main: the default base was then HEAD in
    silence, and a branch that makes someone admin read "no changes to users or groups"."""
    up = git_project(tmp_path / "up", BASE)
    git(up, "commit", "-q", "--allow-empty", "-m", "later on main")
    git(up, "checkout", "-q", "-b", "pr")
    doc = read_json(up / "users.json")
    doc["users"]["eve"] = {"name": "Eve", "email": "eve@example.org", "groups": ["admins"], "is_admin": True}
    write_json(up / "users.json", doc)
    git(up, "commit", "-q", "-am", "make eve admin")
    git(up, "checkout", "-q", "main")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth", "1", "--no-single-branch", (up).as_uri(), str(clone))
    git(clone, "checkout", "-q", "pr")
    shown = run_main(clone, "diff")
    assert shown.returncode == 0, shown.stderr
    assert ("note: HEAD has no commit in common with origin/main here (a shallow clone, or unrelated "
            "histories), so diff compares the working tree with HEAD itself: the 1 commit HEAD has beyond "
            "origin/main is not shown. To review them: `diff --base origin/main`") in shown.stderr, shown.stderr
    assert "eve" in run_main(clone, "diff", "--base", "origin/main").stdout  # the way the note names
    # A branch of history of its own, in the repository itself.
    git(up, "checkout", "-q", "--orphan", "other")
    git(up, "commit", "-q", "-m", "unrelated")
    assert "no commit in common with main" in run_main(up, "diff").stderr
    git(up, "checkout", "-q", "pr")  # a branch with a merge-base: no note
    assert "note:" not in run_main(up, "diff").stderr
