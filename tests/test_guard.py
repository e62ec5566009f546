"""The removal guard: synth (and check) refuse a change that removes more users than
settings.json allows at once, or that leaves no active admin, compared with the last
commit; an explicit offboarding.allow_removal list lets a deliberate removal through."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Callable

import pytest

from tests.gitrepo import git, git_project, user
from tests.helpers import read_json, run_main, tree_digest, write_json
from users_authentik.changes import compare, planned_user_destroys
from users_authentik.cli import main
from users_authentik.guard import removal_allowance
from users_authentik.settings import OffboardingSettings

GUARD = "more than the {allowed} one change may remove without an override"


def directory(n: int) -> dict[str, Any]:
    """stefan (the admin) and n-1 others, u00, u01, ..."""
    users = {"stefan": user("stefan", is_admin=True, groups=["admins"])}
    users.update({f"u{i:02d}": user(f"u{i:02d}", groups=["dev"]) for i in range(n - 1)})
    return {"users": users}


pytestmark = pytest.mark.usefixtures("isolated_git")


def repo_with(tmp_path: Path, n: int) -> Path:
    return git_project(tmp_path / "repo", directory(n))


def change(root: Path, fn: Callable[[dict[str, Any]], Any]) -> None:
    doc = read_json(root / "users.json")
    fn(doc)
    write_json(root / "users.json", doc)


def remove(count: int, allow: list[str] | None = None) -> Callable[[dict[str, Any]], None]:
    def apply(doc: dict[str, Any]) -> None:
        for i in range(count):
            del doc["users"][f"u{i:02d}"]
        if allow is not None:
            doc["offboarding"] = {"allow_removal": allow}
    return apply


def synth(root: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args), root=root)
    out, err = capsys.readouterr()
    return code, out + err


@pytest.mark.parametrize("total,allowed", [(10, 3), (40, 4), (100, 10)])
def test_guard_trips_one_above_the_allowance_and_passes_at_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], total: int, allowed: int) -> None:
    root = repo_with(tmp_path, total)
    before = tree_digest(root / "generated")
    change(root, remove(allowed + 1))
    code, out = synth(root, capsys)
    assert code == 1
    assert f"users.json: users: this change removes {allowed + 1} of the {total} users at HEAD (u00, " in out
    assert GUARD.format(allowed=allowed) in out
    assert "passkeys and TOTP devices" in out and '"offboarding": {"allow_removal": ["u00", ' in out
    assert "nothing was written to generated/" in out
    assert tree_digest(root / "generated") == before

    change(root, lambda d: d["users"].update(u00=user("u00", groups=["dev"])))  # one fewer: the allowance
    code, out = synth(root, capsys)
    assert code == 0, out
    assert synth(root, capsys, "check")[0] == 0


def test_the_override_lets_a_deliberate_removal_through(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = repo_with(tmp_path, 10)
    change(root, remove(4, allow=["u00", "u01", "u02", "u03"]))
    code, out = synth(root, capsys)
    assert code == 0, out
    rows = read_json(root / "generated" / "users.tf.json")["locals"]["users"]
    assert "u00" not in rows and "u04" in rows


def test_the_override_must_name_every_removed_user(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = repo_with(tmp_path, 10)
    change(root, remove(4, allow=["u00", "u01"]))
    code, out = synth(root, capsys)
    assert code == 1
    assert "offboarding.allow_removal does not name u02, u03" in out


def test_the_override_may_not_name_someone_who_stays(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = repo_with(tmp_path, 10)
    change(root, remove(4, allow=["u00", "u01", "u02", "u03", "u05"]))
    code, out = synth(root, capsys)
    assert code == 1
    assert ('users.json: offboarding.allow_removal[4]: "u05" is still in "users"; '
            "the override may only name users this change removes") in out


def test_a_leftover_override_is_one_note_not_a_wall_of_errors(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    root = repo_with(tmp_path, 10)
    change(root, remove(4, allow=["u00", "u01", "u02", "u03"]))
    git(root, "commit", "-qam", "offboard four people")
    assert synth(root, capsys)[0] == 0  # the commit itself (and CI on it) is fine
    change(root, lambda d: d["users"].update(zoe=user("zoe")))
    code, out = synth(root, capsys)
    assert code == 0, out
    assert out.count("u00") == 1 and "is not removed by this change" not in out
    assert ("note: offboarding.allow_removal names u00, u01, u02, u03, already gone at HEAD "
            "(left from an earlier offboarding); delete the \"offboarding\" list") in out
    assert "already gone at HEAD" in synth(root, capsys, "diff")[1]
    change(root, lambda d: d.pop("offboarding"))
    code, out = synth(root, capsys)
    assert code == 0 and "allow_removal" not in out


def test_an_offboarding_pull_request_may_have_a_second_commit(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    """pre-commit (synth), `check --base main` (CI) and diff judge the whole branch against
    where it left main, so one allow_removal list serves every commit of the pull request."""
    root = repo_with(tmp_path, 30)
    git(root, "switch", "-qc", "offboard")
    five = ["u00", "u01", "u02", "u03", "u04"]
    change(root, remove(5, allow=five))
    assert synth(root, capsys)[0] == 0
    git(root, "commit", "-qam", "A: offboard five")
    change(root, lambda d: d["users"]["u10"].update(name="Second Commit"))  # commit B, list kept
    code, out = synth(root, capsys)
    assert code == 0, out
    assert "allow_removal" not in out
    assert synth(root, capsys, "check", "--base", "main")[0] == 0
    code, out = synth(root, capsys, "diff")
    assert "(merge-base with main) -> working tree" in out and "removes 5 of 30 users" in out
    assert "allowed by offboarding.allow_removal" in out
    git(root, "commit", "-qam", "B: a name")
    change(root, lambda d: d.pop("offboarding"))  # the list deleted: refused here as in CI
    code, out = synth(root, capsys)
    assert code == 1 and "this change removes 5 of the 30 users at" in out and "(merge-base with main)" in out
    assert synth(root, capsys, "check", "--base", "main")[0] == 1
    git(root, "checkout", "-q", "--", "users.json")
    git(root, "switch", "-q", "main")
    git(root, "merge", "-q", "--ff-only", "offboard")  # merged: the list is left over on main
    change(root, lambda d: d["users"].update(zoe=user("zoe")))
    code, out = synth(root, capsys)
    assert code == 0 and out.count("note: offboarding.allow_removal") == 1


def test_small_removals_need_no_override_even_in_a_tiny_team(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    root = repo_with(tmp_path, 3)
    change(root, remove(2))  # two of three people
    assert synth(root, capsys)[0] == 0


def test_max_removals_zero_makes_every_removal_deliberate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = repo_with(tmp_path, 5)
    write_json(root / "settings.json", {"offboarding": {"max_removals": 0, "max_removal_percent": 0}})
    change(root, remove(1))
    code, out = synth(root, capsys)
    assert code == 1 and GUARD.format(allowed=0) in out
    assert "max_removals 0, max_removal_percent 0" in out
    change(root, lambda d: d.update(offboarding={"allow_removal": ["u00"]}))
    assert synth(root, capsys)[0] == 0


@pytest.mark.parametrize("settings,expected", [
    ({"max_removals": -1}, 'settings.json: offboarding.max_removals: -1 is not a number of users'),
    ({"max_removals": "3"}, "settings.json: offboarding.max_removals: must be a whole number"),
    ({"max_removal_percent": 150}, "settings.json: offboarding.max_removal_percent: 150 is not a percentage"),
    ({"max_removal": 3}, 'settings.json: offboarding.max_removal: unknown key "max_removal" (did you mean "max_removals"?)'),
])
def test_bad_guard_settings_are_refused(project: Path, capsys: pytest.CaptureFixture[str],
                                        settings: dict[str, Any], expected: str) -> None:
    write_json(project / "settings.json", {"offboarding": settings})
    code, out = synth(project, capsys)
    assert code == 1 and expected in out


def test_bad_override_shape_is_refused(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    change(project, lambda d: d.update(offboarding={"allow_removal": "alice"}))
    code, out = synth(project, capsys)
    assert code == 1 and "users.json: offboarding.allow_removal: must be a list" in out
    change(project, lambda d: d.update(offboarding={"allow_removals": ["alice"]}))
    assert 'unknown key "allow_removals" (did you mean "allow_removal"?)' in synth(project, capsys)[1]


@pytest.mark.parametrize("edit,verb", [
    (lambda d: d["users"].pop("stefan"), "removes stefan"),
    (lambda d: d["users"]["stefan"].update(active=False), "suspends stefan"),
    (lambda d: d["users"]["stefan"].update(is_admin=False), "takes is_admin from stefan"),
], ids=["removed", "suspended", "un-admined"])
def test_losing_the_last_active_admin_is_refused_clearly(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                         edit, verb: str) -> None:
    root = repo_with(tmp_path, 5)
    before = tree_digest(root / "generated")
    change(root, edit)
    code, out = synth(root, capsys)
    assert code == 1
    assert (f"users.json: users: this change {verb}: the only active admin at HEAD; it would leave nobody "
            "but the break-glass account able to administer Authentik") in out
    assert 'fix: keep stefan an active admin, or make another active user an admin ("is_admin": true)' in out
    assert "no active user has" not in out  # the generic message is replaced, not repeated
    assert out.count("\n    fix: ") == 1
    assert tree_digest(root / "generated") == before
    code, out = synth(root, capsys, "diff")
    assert code == 1 and f"this change {verb}: the only active admin at HEAD" in out


def test_losing_all_of_several_admins_names_each(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = directory(5)
    doc["users"]["u00"]["is_admin"] = True
    root = git_project(tmp_path / "repo", doc)
    change(root, lambda d: (d["users"].pop("stefan"), d["users"]["u00"].update(active=False)))
    out = synth(root, capsys)[1]
    assert "this change removes stefan, suspends u00: the 2 active admins at HEAD" in out
    assert "keep stefan or u00 an active admin" in out


@pytest.mark.parametrize("edit", [
    lambda d: (d["users"].pop("stefan"), d["users"]["u00"].update(is_admin=True)),  # an existing user promoted
    lambda d: (d["users"].pop("stefan"), d["users"].update(newbie=user("newbie", is_admin=True))),  # a new account
    lambda d: d["users"].update(Stefan2=dict(d["users"].pop("stefan"), email="s2@example.org")),  # a rename
], ids=["promoted", "new-account", "renamed"])
def test_replacing_every_admin_in_one_change_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                        edit) -> None:
    root = repo_with(tmp_path, 5)
    before = tree_digest(root / "generated")
    change(root, edit)
    code, out = synth(root, capsys)
    assert code == 1, out
    assert "users.json: users: this change removes stefan: the only active admin at HEAD; the admins it leaves (" in out
    assert "fix: hand over in two changes: first make " in out
    assert tree_digest(root / "generated") == before
    code, out = synth(root, capsys, "diff")
    assert code == 0 and "REFUSED" in out and "hand over in two changes" in out


def test_a_new_admin_account_is_named_as_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = repo_with(tmp_path, 5)
    change(root, lambda d: (d["users"].pop("stefan"), d["users"].update(newbie=user("newbie", is_admin=True))))
    out = synth(root, capsys, "check")[1]
    assert "(newbie not even an account yet: no password, no passkey)" in out


def test_a_handover_in_two_changes_is_fine(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = repo_with(tmp_path, 5)
    change(root, lambda d: d["users"]["u00"].update(is_admin=True))  # 1: add the new admin
    assert synth(root, capsys)[0] == 0
    git(root, "commit", "-qam", "u00 is an admin too")
    change(root, lambda d: d["users"].pop("stefan"))  # 2: retire the old one
    assert synth(root, capsys)[0] == 0


def test_without_a_committed_version_the_guard_passes(tmp_path: Path, project: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    # Not a git checkout at all:
    write_json(project / "users.json", directory(10))
    assert synth(project, capsys)[0] == 0
    # A repository without commits, then one whose HEAD has no users.json:
    root = git_project(tmp_path / "repo", directory(10), commit=False)
    change(root, remove(8))
    assert synth(root, capsys)[0] == 0
    git(root, "add", "settings.json")
    git(root, "commit", "-qm", "settings first")
    assert synth(root, capsys)[0] == 0


def test_an_invalid_committed_version_is_compared_with_the_one_before(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Committing a broken users.json (with --no-verify) must not switch the guard off for
    the next change: the guard compares with the newest version that can be read."""
    root = repo_with(tmp_path, 10)
    good = git(root, "rev-parse", "HEAD").strip()
    (root / "users.json").write_text("{ broken")
    git(root, "commit", "-qam", "broken (--no-verify)")
    write_json(root / "users.json", directory(10))  # the repair
    code, out = synth(root, capsys)
    assert code == 0, out
    assert (f"note: users.json at HEAD cannot be read as users; the removal guard compared with {good[:12]}, "
            "the newest earlier version that can be read") in out
    change(root, remove(8))  # the attack: remove nearly everyone while the base is broken
    code, out = synth(root, capsys, "check")
    assert code == 1
    assert f"this change removes 8 of the 10 users at {good[:12]}" in out


def test_a_committed_version_with_only_semantic_problems_still_guards(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The committed file is built without a second full check; a problem the checks would
    find in it (here two users share an email) must not switch the guard off."""
    doc = directory(10)
    doc["users"]["u01"]["email"] = doc["users"]["u00"]["email"]
    root = git_project(tmp_path / "repo", doc)  # committed as if with --no-verify
    change(root, lambda d: d["users"]["u01"].update(email="u01@example.org"))
    change(root, remove(5))
    code, out = synth(root, capsys)
    assert code == 1
    assert GUARD.format(allowed=3) in out


def test_check_and_diff_compare_with_the_same_committed_version(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A committed file with problems the model can still be built from (here a malformed
    email, committed with --no-verify): the guard compares with it, so diff shows that
    comparison too, and lists the problems, instead of refusing to compare."""
    doc = directory(10)
    doc["users"]["u08"]["email"] = "nope"
    root = git_project(tmp_path / "repo", doc)
    change(root, lambda d: d["users"]["u08"].update(email="u08@example.org"))
    change(root, remove(5))
    code, out = synth(root, capsys, "check")
    assert code == 1 and "this change removes 5 of the 10 users at HEAD" in out
    code, out = synth(root, capsys, "diff")
    assert code == 0, out
    assert "Removal guard: removes 5 of 10 users; up to 3 without an override: REFUSED" in out
    assert 'users.json at HEAD: users.u08.email: "nope" is not an email address' in out
    assert "note: users.json at HEAD has 1 problem (above); it is compared as committed" in out


def test_the_base_takes_the_changes_users_for_the_entries_it_leaves_alone(tmp_path: Path) -> None:
    # Only what the change touched is built again (model.Prior): at 10,000 users that is
    # most of the base's build (bench/README.md).
    from users_authentik.loading import read_folder, validate
    from users_authentik.revision import read_base

    root = git_project(tmp_path / "repo", directory(10))
    change(root, lambda d: d["users"]["u01"].update(name="Renamed"))
    head = validate(read_folder(root))
    base = read_base(root, None, head)
    assert base.at is not None and base.at.roster is not None
    working = {u.username: u for u in head.roster.users}
    taken = {u.username for u in base.at.roster.users if u is working[u.username]}
    assert taken == set(head.document["users"]) - {"u01"}
    assert next(u for u in base.at.roster.users if u.username == "u01").name != "Renamed"


@pytest.mark.parametrize("committed", [
    lambda d: d["users"]["u00"].update(name=5),  # a number where the model holds text
    lambda d: d["users"]["u00"].update(is_admin="yes"),
], ids=["number-for-name", "text-for-flag"])
def test_a_committed_version_the_model_cannot_be_built_from_is_noted(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], committed) -> None:
    doc = directory(10)
    committed(doc)
    root = git_project(tmp_path / "repo", doc)  # committed as if with --no-verify
    change(root, lambda d: d["users"].update(u00=user("u00", groups=["dev"])))  # the fix
    code, out = synth(root, capsys, "check")
    assert code == 0, out  # the first version of users.json: there is nothing earlier to compare with
    assert ("note: users.json at HEAD cannot be read as users, nor any earlier version, so the removal guard "
            "had nothing to compare with") in out
    code, out = synth(root, capsys, "diff")
    assert code == 1
    assert "users.json at HEAD: users.u00." in out
    assert "users.json at HEAD is not valid (1 problem above), so there is nothing to compare with" in out


UUID = "3f2c9a4e-8d1b-4c6f-9e2a-7b5d0c1e4f8a"


@pytest.mark.parametrize("committed", [
    lambda d: d["users"]["u00"].update(authentik_id=5.0),  # the working tree's 5: equal, but no int
    lambda d: d["users"]["u00"].update(authentik_id=-0.0),  # once built as the id 0
    lambda d: d["users"]["u00"].update(authentik_id=True),
    lambda d: d["groups"]["dev"].update(authentik_id=5),
    lambda d: d["groups"]["dev"].update(attributes=[1]),  # once built as the attributes text "[1]"
], ids=["float-id", "minus-zero-id", "true-id", "number-for-group-id", "list-for-attributes"])
def test_a_committed_value_the_model_would_convert_makes_the_base_unreadable(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], committed) -> None:
    """A base committed past the checks with a value the checks refuse but a read once
    converted into the declared type: it cannot be read as users, as the working tree's
    checks would refuse it, so the guard compares with the version before it. The working
    tree keeps u00's id 5, so model.Prior must not take its User for the base's 5.0."""
    doc = directory(10)
    doc["users"]["u00"]["authentik_id"] = 5
    doc["groups"] = {"admins": {}, "dev": {"authentik_id": UUID}}
    root = git_project(tmp_path / "repo", doc)
    good = git(root, "rev-parse", "HEAD").strip()
    assert synth(root, capsys, "check")[0] == 0
    broken = copy.deepcopy(doc)
    committed(broken)
    write_json(root / "users.json", broken)
    assert synth(root, capsys, "check")[0] == 1  # what the checks make of it
    git(root, "commit", "-qam", "past the checks (--no-verify)")

    write_json(root / "users.json", doc)  # the repair, and nearly everyone else removed
    change(root, lambda d: [d["users"].pop(f"u{i:02d}") for i in range(1, 9)])
    code, out = synth(root, capsys, "check")
    assert code == 1, out
    assert (f"note: users.json at HEAD cannot be read as users; the removal guard compared with {good[:12]}, "
            "the newest earlier version that can be read") in out
    assert f"this change removes 8 of the 10 users at {good[:12]}" in out


def test_base_option_guards_a_whole_branch(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """In CI, `main.py check --base origin/main` catches a removal that was already committed
    (a merge never runs the pre-commit hook)."""
    root = repo_with(tmp_path, 10)
    git(root, "branch", "base")
    change(root, remove(5))
    git(root, "commit", "-qam", "a bad merge")
    assert synth(root, capsys, "check")[0] == 0  # HEAD already has it
    code, out = synth(root, capsys, "check", "--base", "base")
    assert code == 1 and "this change removes 5 of the 10 users at base" in out
    code, out = synth(root, capsys, "check", "--base", "nope")
    assert code == 1 and '"nope" is not a commit in this repository' in out


def test_diff_shows_what_the_guard_will_say(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = repo_with(tmp_path, 10)
    change(root, remove(4))
    code, out = synth(root, capsys, "diff")
    assert code == 0  # the preview is shown even when synth would refuse
    assert "Removal guard: removes 4 of 10 users; up to 3 without an override: REFUSED" in out
    assert "  users.json: users: this change removes 4 of the 10 users at HEAD" in out
    code, out = synth(root, capsys, "diff", "--format", "markdown")
    assert "> [!CAUTION]" in out and "REFUSED" in out
    change(root, lambda d: d.update(offboarding={"allow_removal": ["u00", "u01", "u02", "u03"]}))
    assert "up to 3 without an override: allowed by offboarding.allow_removal" in synth(root, capsys, "diff")[1]


def test_a_refused_change_fails_the_real_process_without_traceback(tmp_path: Path) -> None:
    root = repo_with(tmp_path, 10)
    before = tree_digest(root / "generated")
    change(root, lambda d: d.update(users={"stefan": d["users"]["stefan"]}))  # the emptied-by-a-merge case
    result = run_main(root)
    assert result.returncode == 1
    assert "this change removes 9 of the 10 users at HEAD" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert tree_digest(root / "generated") == before


@pytest.mark.parametrize("total,count,percent,allowed", [
    (0, 3, 10, 3), (1, 3, 10, 3), (39, 3, 10, 3), (40, 3, 10, 4), (100, 3, 10, 10), (101, 3, 10, 10),
    (1000, 3, 10, 100), (10, 0, 0, 0), (10, 3, 100, 10), (3, 3, 12.5, 3), (80, 0, 12.5, 10), (1000, 3, 0.3, 3),
])
def test_allowance(total: int, count: int, percent: float, allowed: int) -> None:
    assert removal_allowance(total, OffboardingSettings(max_removals=count, max_removal_percent=percent)) == allowed


def test_preview_and_guard_count_destroys_the_same_way(project: Path) -> None:
    from users_authentik.model import build_roster
    from users_authentik.settings import Settings

    base_doc = directory(6)
    head_doc = copy.deepcopy(base_doc)
    del head_doc["users"]["u01"], head_doc["users"]["u03"]
    head_doc["users"]["U02"] = head_doc["users"].pop("u02")  # a renamed username is a destroy too
    base, head = (build_roster(d, Settings.defaults()) for d in (base_doc, head_doc))
    assert planned_user_destroys(base, head) == ("u01", "u02", "u03")
    assert tuple(u.username for u in compare(base, head).offboarded) == planned_user_destroys(base, head)
