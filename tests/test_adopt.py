"""Adopting accounts and groups created by hand: `authentik_id` emits a Terraform import
block (and nothing else changes); bad ids are refused with clear messages."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterator

import pytest

from tests.helpers import addresses, module, read_json, tree_digest, write_json
from users_authentik.cli import main
from users_authentik.standin.provider import DIRECTORY_ENV
from users_authentik.standin.serve import ServedProvider

GROUP_UUID = "3f2c9a4e-8d1b-4c6f-9e2a-7b5d0c1e4f8a"


def adopt(project: Path, **edits: object) -> None:
    doc = read_json(project / "users.json")
    doc["users"]["bob"] = {"name": "Bob", "email": "bob@example.org", "groups": ["dev"], "authentik_id": 42}
    doc["groups"] = {"admins": {}, "dev": {"authentik_id": GROUP_UUID.upper()}}
    for path, value in edits.items():
        section, name, key = path.split("__")
        doc[section][name][key] = value
    write_json(project / "users.json", doc)


def test_adopted_user_and_group_get_import_blocks(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    adopt(project)
    assert main([], root=project) == 0, capsys.readouterr().err
    mod = module(project / "generated")
    assert mod["import"] == [
        {"to": 'authentik_group.groups["dev"]', "id": GROUP_UUID},  # lower-cased
        {"to": 'authentik_user.users["bob"]', "id": "42"},  # a string, as Terraform wants
    ]
    # Every import lands on an address the module manages.
    assert {block["to"] for block in mod["import"]} <= addresses(project / "generated")
    # One line per import block, and the rows themselves do not carry the id.
    lines = (project / "generated" / "users.tf.json").read_text().splitlines()
    assert sum('"to": "authentik_user.users[\\"bob\\"]"' in line for line in lines) == 1
    assert "authentik_id" not in json.dumps(mod["locals"])


def test_no_import_block_without_authentik_id(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    adopt(project)
    doc = read_json(project / "users.json")
    del doc["users"]["bob"]["authentik_id"], doc["groups"]["dev"]["authentik_id"]
    write_json(project / "users.json", doc)
    assert main([], root=project) == 0, capsys.readouterr().err
    text = (project / "generated" / "users.tf.json").read_text()
    assert '"import"' not in text and '"moved"' not in text
    assert "import" not in module(project / "generated")


def test_committed_module_has_no_import_block(example_module: Path) -> None:
    assert "import" not in module(example_module)


def test_only_the_adopted_user_gets_one(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    adopt(project)
    doc = read_json(project / "users.json")
    del doc["groups"]["dev"]["authentik_id"]
    write_json(project / "users.json", doc)
    assert main([], root=project) == 0, capsys.readouterr().err
    assert module(project / "generated")["import"] == [{"to": 'authentik_user.users["bob"]', "id": "42"}]


BAD = [
    ("user-id-string", {"users__bob__authentik_id": "42"},
     ["users.bob.authentik_id: must be a whole number, not \"42\"", "without quotes"]),
    ("user-id-zero", {"users__bob__authentik_id": 0},
     ["users.bob.authentik_id: 0 is not an Authentik user id", "Directory > Users"]),
    ("user-id-negative", {"users__bob__authentik_id": -3}, ["users.bob.authentik_id: -3 is not an Authentik user id"]),
    ("user-id-fraction", {"users__bob__authentik_id": 4.5}, ["users.bob.authentik_id: must be a whole number"]),
    ("user-id-bool", {"users__bob__authentik_id": True}, ["users.bob.authentik_id: must be a whole number, not true"]),
    ("user-id-too-big", {"users__bob__authentik_id": 2**31}, ["users.bob.authentik_id: 2147483648 is not an Authentik user id"]),
    ("user-id-duplicate", {"users__stefan__authentik_id": 42},
     ['users.stefan.authentik_id: 42 is already the authentik_id of user "bob"', "keep the id only on the user"]),
    ("group-id-number", {"groups__dev__authentik_id": 5}, ["groups.dev.authentik_id: must be a string, not 5", "UUID"]),
    ("group-id-not-uuid", {"groups__dev__authentik_id": "dev"},
     ['groups.dev.authentik_id: "dev" is not an Authentik group id (a UUID', "/api/v3/core/groups/"]),
    ("group-id-duplicate", {"groups__admins__authentik_id": GROUP_UUID},
     ['groups.dev.authentik_id: "3F2C9A4E-8D1B-4C6F-9E2A-7B5D0C1E4F8A" is already the authentik_id of group "admins"']),
]


@pytest.mark.parametrize("edits,expected", [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_adopt_ids_are_refused(project: Path, capsys: pytest.CaptureFixture[str],
                                   edits: dict[str, object], expected: list[str]) -> None:
    before = tree_digest(project / "generated")
    adopt(project, **edits)
    assert main([], root=project) == 1
    err = capsys.readouterr().err
    for fragment in expected:
        assert fragment in err, f"{fragment!r} not in:\n{err}"
    assert "\n    fix: " in err and "Traceback" not in err
    assert tree_digest(project / "generated") == before


SUPERUSERS_UUID = "0b6f1c9e-1111-4a2b-9c3d-5e6f7a8b9c0d"
OTHER_ADMINS_UUID = "0b6f1c9e-2222-4a2b-9c3d-5e6f7a8b9c0d"
# "The live Authentik" for the stand-in provider (users_authentik/standin/provider.py, DIRECTORY_ENV):
# what the user and group data sources find there.
LIVE = {
    "users": [
        {"pk": 7, "username": "akadmin", "name": "authentik Default Admin", "email": "root@localhost",
         "is_superuser": True, "is_active": True, "path": "users", "type": "internal"},
        {"pk": 42, "username": "bob", "name": "Bob (by hand)", "email": "Bob@Example.org",
         "is_superuser": False, "is_active": True, "path": "users", "type": "internal"},
        {"pk": 43, "username": "carol", "name": "Carol", "email": "carol@example.org",
         "is_superuser": True, "is_active": True, "path": "users", "type": "internal"},
        {"pk": 44, "username": "dave", "name": "Dave", "email": "dave@example.org",
         "is_superuser": False, "is_active": True, "path": "users", "type": "internal"},
        {"pk": 46, "username": "kim", "name": "Kim", "email": "kim@infra.example",
         "is_superuser": False, "is_active": True, "path": "users", "type": "internal"},
        {"pk": 45, "username": "backup-bot", "name": "Backup", "email": "backup-bot@example.org",
         "is_superuser": False, "is_active": True, "path": "services", "type": "service_account"},
    ],
    "groups": [
        {"pk": SUPERUSERS_UUID, "name": "authentik Admins", "is_superuser": True, "attributes": "{}"},
        {"pk": OTHER_ADMINS_UUID, "name": "ops-root", "is_superuser": True, "attributes": "{}"},
        {"pk": GROUP_UUID, "name": "dev", "is_superuser": False, "attributes": "{}"},
    ],
}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    """LIVE as a file, and one stand-in serving it as the live Authentik to this module's plans."""
    directory = tmp_path_factory.mktemp("live") / "live-authentik.json"
    directory.write_text(json.dumps(LIVE))
    with ServedProvider(directory.parent / "served", environ={**os.environ, DIRECTORY_ENV: str(directory)}) as served:
        yield directory, served.env


def live_run(terraform_run, generated: Path, live: tuple[Path, dict[str, str]]):
    run = terraform_run(generated)
    run.use_directory(*live)
    run.init()
    return run


def test_terraform_plans_adoption_as_import_not_create(project: Path, capsys: pytest.CaptureFixture[str],
                                                       terraform_run, live) -> None:
    """The real terraform reads the import blocks: the adopted user and group are imported
    (and updated to match users.json), never created; everyone else is created. The
    adopted objects are what their entries say (looked up in the live Authentik), so the
    preconditions hold."""
    adopt(project)
    assert main([], root=project) == 0, capsys.readouterr().err
    run = live_run(terraform_run, project / "generated", live)
    changes = {rc["address"]: rc["change"] for rc in run.plan()["resource_changes"]}
    bob, dev = changes['authentik_user.users["bob"]'], changes['authentik_group.groups["dev"]']
    assert bob["importing"] == {"id": "42"} and bob["actions"] == ["update"]
    # Started from the live account: the plan shows only what users.json changes.
    assert bob["before"]["username"] == "bob" and bob["before"]["name"] == "Bob (by hand)"
    assert bob["after"]["name"] == "Bob" and bob["after"]["email"] == "bob@example.org"
    # The live group already is what users.json says: imported, nothing to change.
    assert dev["importing"] == {"id": GROUP_UUID.lower()} and dev["actions"] == ["no-op"]
    assert dev["after"]["is_superuser"] is False and dev["after"]["name"] == "dev"
    assert changes['authentik_user.users["stefan"]']["actions"] == ["create"]
    assert "importing" not in changes['authentik_user.users["stefan"]']


def test_managed_groups_never_grant_superuser_rights(example_module: Path) -> None:
    groups = module(example_module)["resource"]["authentik_group"]["groups"]
    assert groups["is_superuser"] is False  # explicit, not the provider's default


HOSTILE = [
    # The superuser group's uuid under an ordinary name: the apply would rename "authentik
    # Admins" and drop its superuser flag, so every admin (akadmin too) would lose their rights.
    ("groups", "dev", SUPERUSERS_UUID, [
        f'adopts the Authentik group {SUPERUSERS_UUID} as "dev", but that group is named "authentik Admins"',
        f'adopts the Authentik group {SUPERUSERS_UUID} as "dev", but that is the superuser group',
        f'adopts the Authentik group {SUPERUSERS_UUID} as "dev", but that group has superuser rights']),
    # Another superuser group, under its own name: its flag would be dropped.
    ("groups", "ops-root", OTHER_ADMINS_UUID, [
        f'adopts the Authentik group {OTHER_ADMINS_UUID} as "ops-root", but that group has superuser rights']),
    # akadmin's id under a new username: renames the break-glass account, gives it our email.
    ("users", "mallory", 7, [
        'adopts the Authentik account 7 as "mallory", but that account\'s username is "akadmin"',
        'adopts the Authentik account 7 as "mallory", but that is "akadmin", an account Authentik creates',
        'adopts the Authentik account 7 as "mallory", but that account\'s email is "root@localhost"',
        'adopts the Authentik account 7 as "mallory", but that account has superuser rights']),
    # Someone else's account under a new name.
    ("users", "eve", 44, ['adopts the Authentik account 44 as "eve", but that account\'s username is "dave"',
                          'adopts the Authentik account 44 as "eve", but that account\'s email is "dave@example.org"']),
    # Someone's account under their own name, with the PR author's email: its recovery and
    # set-up links would go to them (an account without a passkey or TOTP device is theirs).
    ("users", "dave", 44, ['adopts the Authentik account 44 as "dave", but that account\'s email is '
                           '"dave@example.org", not "dave@evil.example": adopting it would send its recovery']),
    # Her own email to the eye and to Terraform's lower(), which folds U+0130 İ to i: but mail
    # goes to xn--infra-7fd.example (IDNA maps İ to i + U+0307), a domain anyone may register.
    ("users", "kim", 46, ['adopts the Authentik account 46 as "kim", but that account\'s email is '
                          '"kim@infra.example", not "kim@\u0130nfra.example"']),
    # A service account under its own name and email: the apply would make it internal, an
    # account that signs in through the flows with the service's rights and tokens.
    ("users", "backup-bot", 45, ['adopts the Authentik account 45 as "backup-bot", but that is a '
                                 '"service_account" account, not a person\'s (internal) one']),
    # An admin adopted as an ordinary user: the apply would revoke their rights.
    ("users", "carol", 43, ['adopts the Authentik account 43 as "carol", but that account has superuser rights']),
]


@pytest.mark.parametrize("section,name,authentik_id,expected", HOSTILE, ids=[c[1] for c in HOSTILE])
def test_hostile_adoption_makes_the_plan_fail(project: Path, capsys: pytest.CaptureFixture[str], terraform_run,
                                             live, section: str, name: str, authentik_id: object,
                                             expected: list[str]) -> None:
    """What only the live Authentik can tell is checked by the module itself: a hostile
    adoption passes the synth (which cannot know) and makes terraform's plan fail with its
    own message, before anything is imported or changed."""
    doc = read_json(project / "users.json")
    doc["groups"] = {"admins": {}, "dev": {}, "ops-root": {}}
    if section == "users":
        email = {"dave": "dave@evil.example", "kim": "kim@\u0130nfra.example"}.get(name, f"{name}@example.org")
        doc["users"][name] = {"name": name.title(), "email": email, "authentik_id": authentik_id}
    else:
        doc["groups"][name] = {"authentik_id": authentik_id}
    write_json(project / "users.json", doc)
    assert main([], root=project) == 0, capsys.readouterr().err
    result = live_run(terraform_run, project / "generated", live).plan_result()
    assert result.returncode == 1
    text = " ".join(result.output.split())  # terraform wraps long messages
    for fragment in expected:
        assert fragment in text, f"{fragment!r} not in:\n{result.output}"
    assert text.count("Error: Resource precondition failed") == len(expected)
