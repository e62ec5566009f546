"""The removal guard and diff count destroyed accounts from users.json; `main.py plan`
counts them from Terraform's own plan. On the same change the two must name the same
accounts, or one of them is lying to a reviewer."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import read_json, write_json
from tests.test_plan import ALICE, BOB, make_repo
from users_authentik import addressing, changes, plan
from users_authentik.loading import read_folder, validate
from users_authentik.revision import load_revision


def test_guard_and_terraform_plan_agree_on_destroyed_accounts(tmp_path: Path, terraform_cli: str) -> None:
    carol = dict(ALICE, email="carol@example.org")
    repo = make_repo(tmp_path / "repo", {"alice": ALICE, "bob": BOB, "carol": carol})
    doc = read_json(repo / "users.json")
    del doc["users"]["alice"], doc["users"]["bob"]  # two offboarded
    doc["users"]["carol"]["active"] = False  # one suspended: not a destroy
    doc["users"]["dave"] = dict(BOB, email="dave@example.org")  # one onboarded
    write_json(repo / "users.json", doc)

    loaded = validate(read_folder(repo))
    assert loaded.problems == ()
    head, settings = loaded.roster, loaded.settings
    revision = load_revision(repo, "HEAD")
    base, base_problems = revision.roster, revision.problems
    assert base_problems == []
    from_users_json = [addressing.user_address(name) for name in changes.planned_user_destroys(base, head)]
    from_terraform = plan.destroyed_user_addresses(plan.make_plan(repo, head, settings, "HEAD").plan)

    assert from_users_json == from_terraform == ['authentik_user.users["alice"]', 'authentik_user.users["bob"]']
