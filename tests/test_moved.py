"""addressing.MOVES is the way to change the module's own addressing without destroying
anyone's account: the real terraform must plan a move, not a destroy and a create."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import read_json, run_main, write_json
from users_authentik import addressing, synth
from users_authentik.loading import read_folder, validate


def test_a_move_keeps_every_account(project: Path, terraform_run, monkeypatch: pytest.MonkeyPatch) -> None:
    doc = read_json(project / "users.json")
    doc["users"]["ada"] = {"name": "Ada", "email": "ada@example.org", "groups": ["admins"]}
    write_json(project / "users.json", doc)
    assert run_main(project).returncode == 0
    generated = project / "generated"

    # Yesterday's module called the users resource "people".
    old = project / "old"
    old.mkdir()
    (old / "users.tf.json").write_text((generated / "users.tf.json").read_text())
    (old / "cdk.tf.json").write_text((generated / "cdk.tf.json").read_text()
                                     .replace('"users": {\n        "email"', '"people": {\n        "email"')
                                     .replace("authentik_user.users", "authentik_user.people"))
    assert '"people": {' in (old / "cdk.tf.json").read_text()
    run = terraform_run(old)
    run.init()
    run.apply(run.plan() and "tfplan")

    # Today's module says where they went.
    monkeypatch.setattr(addressing, "MOVES", (addressing.Move(
        "authentik_user.people", addressing.USER_RESOURCE, "renamed to match the docs"),))
    loaded = validate(read_folder(project))
    assert loaded.problems == ()
    (generated / "users.tf.json").write_text(synth.render_rows(loaded.roster))
    run.use_module(generated)
    changes = {rc["address"]: rc for rc in run.plan()["resource_changes"] if rc["type"] == "authentik_user"}

    assert set(changes) == {'authentik_user.users["ada"]', 'authentik_user.users["stefan"]'}
    for address, rc in changes.items():
        assert rc["change"]["actions"] == ["no-op"], address
        assert rc["previous_address"] == address.replace(".users[", ".people[")
