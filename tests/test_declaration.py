"""One declaration per entity: model.py's User and Group say how each field is written in
users.json (and its schema), in the rows, in the provider and in `diff`; the rest derives."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import pytest

from tests.gitrepo import git, git_project, user
from tests.helpers import ROOT, module, read_json, run_main_process, write_json
from tools import gen_schema
from users_authentik import changes, model, synth
from users_authentik.model import Group, User, build_roster, well_typed
from users_authentik.settings import Settings



def test_the_committed_schema_is_the_generators_output() -> None:
    committed = (ROOT / gen_schema.OUTPUT).read_text(encoding="utf-8")
    assert gen_schema.render(json.loads(committed)) == committed
    assert gen_schema.main(["--check"]) == 0
    entries = json.loads(committed)["$defs"]
    assert entries["user"] == model.entry_schema(User) and entries["group"] == model.entry_schema(Group)
    assert entries["user"]["required"] == ["name", "email"]
    assert "not" in entries["user"]["properties"]["password"]  # refused, with its reason


def test_the_generator_check_fails_on_a_hand_edit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = tmp_path / gen_schema.OUTPUT
    copy.parent.mkdir(parents=True)
    compiled = tmp_path / "constructs" / "users_authentik" / "users_schema.py"
    compiled.parent.mkdir(parents=True)
    doc = json.loads((ROOT / gen_schema.OUTPUT).read_text(encoding="utf-8"))
    doc["$defs"]["user"]["properties"]["email"]["pattern"] = ".*"  # loosened by hand
    copy.write_text(gen_schema.layout(doc) + "\n", encoding="utf-8")
    monkeypatch.setattr(gen_schema, "ROOT", tmp_path)
    assert gen_schema.main(["--check"]) == 1
    assert gen_schema.main([]) == 0  # rewrites the entry from the declaration, and its compiled check
    assert compiled.read_text(encoding="utf-8") == (ROOT / "constructs" / "users_authentik" / "users_schema.py").read_text(
        encoding="utf-8")
    assert json.loads(copy.read_text(encoding="utf-8")) == json.loads((ROOT / gen_schema.OUTPUT).read_text(encoding="utf-8"))
    assert gen_schema.main(["--check"]) == 0


def test_every_field_but_the_name_is_declared() -> None:
    for cls in (User, Group):
        names = [f.name for f in fields(cls)]
        assert [name for name, _ in model.declared(cls)] == names[1:]


# A field added the way the model's docstring says: one declaration, nothing else.
ROLES = '''    roles: tuple[str, ...] = key("roles", {
        "type": "array",
        "items": {"type": "string", "minLength": 1},
        "default": [],
        "description": "Authentik role ids (test)."},
        read=tuple, row="roles", attribute="roles")
'''
ANCHOR = "    # Keys an entry may not have"


def _run(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(root / "constructs")}
    return subprocess.run([sys.executable, *args], cwd=root, capture_output=True, text=True, env=env, timeout=120)



def test_gen_schema_run_as_a_file_says_how_to_run_it() -> None:
    # `python tools/gen_schema.py` (how the generators ran before tools/ was a package) cannot
    # import its sibling: one line with the command, not a traceback.
    ran = _run(ROOT, "tools/gen_schema.py", "--check")
    assert ran.returncode == 1 and "Traceback" not in ran.stderr, ran.stderr
    assert "`.venv/bin/python -m tools.gen_schema`" in ran.stderr
    assert _run(ROOT, "-m", "tools.gen_schema", "--check").returncode == 0

def test_a_field_declared_once_reaches_schema_model_rows_construct_and_diff(tmp_path: Path) -> None:
    admin = user("ada", is_admin=True, roles=["r-1"])
    repo = git_project(tmp_path / "repo", {"users": {"ada": user("ada", is_admin=True)}})
    (repo / "tools").mkdir()
    for tool in ("__init__.py", "gen_schema.py", "gen_validators.py"):
        shutil.copy2(ROOT / "tools" / tool, repo / "tools" / tool)
    source = repo / "constructs" / "users_authentik" / "model.py"
    text = source.read_text(encoding="utf-8")
    assert text.count(ANCHOR) == 1
    source.write_text(text.replace(ANCHOR, ROLES + ANCHOR), encoding="utf-8")
    write_json(repo / "users.json", {"users": {"ada": admin}})

    # The schema is generated, not assembled when read: until the generator runs, the key is unknown.
    refused = run_main_process(repo, "check")
    assert refused.returncode == 1 and 'users.ada.roles: unknown key "roles"' in refused.stderr
    written = _run(repo, "-m", "tools.gen_schema")
    assert written.returncode == 0, written.stderr
    assert read_json(repo / "schemas" / "users.schema.json")["$defs"]["user"]["properties"]["roles"]["items"] == {
        "type": "string", "minLength": 1}
    fast = _run(repo, "-c", "import json, sys; from users_authentik.schema_check import passes; "
                "sys.exit(0 if passes(json.load(open('users.json')), 'users.schema.json') else 1)")
    assert fast.returncode == 0, fast.stderr  # the compiled yes/no (users_schema.py) was written too
    write_json(repo / "users.json", {"users": {"ada": {**admin, "roles": "r-1"}}})
    wrong = run_main_process(repo, "check")
    assert wrong.returncode == 1 and "users.ada.roles: must be a list" in wrong.stderr
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "roles declared")

    # The model reads it, the row carries it, the construct sets the provider attribute from it.
    write_json(repo / "users.json", {"users": {"ada": admin}})
    synthesized = run_main_process(repo)
    assert synthesized.returncode == 0, synthesized.stderr
    assert synthesized.stdout.startswith("generated/: cdk.tf.json, users.tf.json updated")  # model.py is stack code
    rows = read_json(repo / "generated" / "users.tf.json")["locals"]["users"]
    assert rows["ada"]["roles"] == ["r-1"]
    resource = module(repo / "generated")["resource"]["authentik_user"]["users"]
    assert resource["roles"] == "${each.value.roles}"
    git(repo, "commit", "-qam", "ada gets r-1")

    # diff lists its change, and the removal guard builds the base with it (well typed).
    write_json(repo / "users.json", {"users": {"ada": {**admin, "roles": ["r-2"]}}})
    shown = run_main_process(repo, "diff", "--format", "json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["changed"] == [
        {"username": "ada", "field": "roles", "before": ["r-1"], "after": ["r-2"]}]
    assert run_main_process(repo).returncode == 0


def _roster(users: dict[str, Any], groups: dict[str, Any] | None = None) -> model.Roster:
    return build_roster({"users": users, **({"groups": groups} if groups is not None else {})}, Settings.defaults())


def test_the_model_reads_each_key_or_its_default() -> None:
    settings = replace(Settings.defaults(), users=replace(Settings.defaults().users, path="people"))
    roster = build_roster({"users": {"ada": user("ada", groups=["b", "a"]), "bob": user("bob", active=False,
                                                                                      authentik_id=42.0, path="x/y")},
                           "groups": {"a": {"netbird": True, "attributes": {"k": "<v>"}},
                                      "b": {"authentik_id": "3F2C9A4E-8D1B-4C6F-9E2A-7B5D0C1E4F8A"}}}, settings)
    ada, bob = roster.users
    assert (ada.groups, ada.is_admin, ada.active, ada.path, ada.authentik_id, ada.renamed_from) == \
        (("a", "b"), False, True, "people", None, None)
    assert (bob.active, bob.authentik_id, bob.path) == (False, 42, "x/y")
    a, b = roster.groups
    assert (a.netbird, a.attributes, a.authentik_id) == (True, '{"k":"\\u003cv\\u003e"}', None)
    assert (b.netbird, b.attributes, b.authentik_id) == (False, "{}", "3f2c9a4e-8d1b-4c6f-9e2a-7b5d0c1e4f8a")


def test_rows_are_written_from_the_declaration() -> None:
    roster = _roster({"ada": user("ada", groups=["dev"], authentik_id=7)}, {"dev": {"netbird": True}, "ops": {}})
    assert synth.row_writer(User)(roster.users[0]) == {
        "name": "Ada", "email": "ada@example.org", "groups": ("dev",), "path": "users",
        "is_admin": False, "is_active": True}
    dev, ops = (synth.row_writer(Group)(g) for g in roster.groups)
    assert dev == {"attributes": "{}", "netbird": True} and ops == {"attributes": "{}"}


def test_constructs_and_diff_read_the_declaration() -> None:
    assert model.attributes(User) == {"name": "${each.value.name}", "email": "${each.value.email}",
                                      "path": "${each.value.path}", "is_active": "${each.value.is_active}"}
    assert model.attributes(Group) == {"attributes": "${each.value.attributes}"}
    assert model.each_value(User, "is_admin") == "each.value.is_admin"
    with pytest.raises(KeyError):
        model.each_value(User, "authentik_id")  # an import block, not a row
    assert changes.USER_FIELDS == ("name", "email", "path", "is_admin", "authentik_id")
    assert set(changes.GROUP_FIELDS) == {"attributes", "authentik_id", "netbird"}


def test_a_version_built_with_another_ones_users_is_what_building_it_alone_gives() -> None:
    # The guard builds the base with the working tree's users (model.Prior): an entry left as
    # it is is taken as it was built, and anything else is built as without them.
    settings = Settings.defaults()
    head = {"users": {"ada": user("ada", is_admin=True), "bob": user("bob", groups=["dev"]),
                      "cat": user("cat", authentik_id=42), "dan": user("dan", is_admin=True)}}
    roster = build_roster(head, settings)
    prior = model.Prior.of(head, roster, settings)
    base = json.loads(json.dumps(head))
    base["users"]["bob"]["email"] = "robert@example.org"  # changed
    del base["users"]["ada"]  # the change adds ada back
    base["users"]["eve"] = user("eve")  # the change removes eve
    base["users"]["cat"]["authentik_id"] = 42.0  # equal to Python, not the same JSON
    base["users"]["dan"]["is_admin"] = 1  # likewise: committed past the checks
    alone, reused = build_roster(base, settings), build_roster(base, settings, prior)
    assert reused == alone
    taken = {u.username for u in reused.users if u is prior.users.get(u.username)}
    assert taken == set()  # every entry above differs from the change's in value or JSON type
    base["users"]["dan"]["is_admin"] = True
    base["users"]["cat"]["authentik_id"] = 42
    reused = build_roster(base, settings, prior)
    assert reused == build_roster(base, settings)
    assert {u.username for u in reused.users if u is prior.users.get(u.username)} == {"cat", "dan"}
    assert not well_typed(build_roster({"users": {**base["users"], "dan": user("dan", is_admin=1)}}, settings, prior))
    # Other settings give an absent key another value: nothing is taken.
    other = replace(settings, users=replace(settings.users, path="people"))
    assert build_roster(base, other, prior) == build_roster(base, other)
    assert all(u.path == "people" for u in build_roster(base, other, prior).users)


@pytest.mark.parametrize("entity, field, value", [
    ("users", "name", 3), ("users", "active", "yes"), ("users", "is_admin", 1), ("users", "groups", ("dev", 2)),
    ("users", "authentik_id", "42"), ("users", "renamed_from", 5), ("groups", "netbird", "yes"),
])
def test_well_typed_checks_every_declared_field(entity: str, field: str, value: Any) -> None:
    roster = _roster({"ada": user("ada", groups=["dev"])}, {"dev": {}})
    assert well_typed(roster)
    if entity == "users":
        bad = replace(roster, users=(replace(roster.users[0], **{field: value}),))
    else:
        bad = replace(roster, groups=(replace(roster.groups[0], **{field: value}),))
    assert not well_typed(bad)
