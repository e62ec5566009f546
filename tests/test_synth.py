"""What the synthesized module contains: users, groups, superuser membership, provider."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import ROOT, module, read_json, run_main, write_json


def test_example_module_has_users_groups_and_admin_lookup(example_module: Path) -> None:
    mod = module(example_module)
    user = mod["resource"]["authentik_user"]["users"]
    assert user["for_each"] == "${local.users}"
    assert user["username"] == "${each.key}"
    assert user["is_active"] == "${each.value.is_active}"
    assert "authentik_group.groups[g].id" in user["groups"]
    assert "data.authentik_group.superusers.id" in user["groups"]
    group = mod["resource"]["authentik_group"]["groups"]
    assert group["for_each"] == "${local.groups}" and group["name"] == "${each.key}"
    # Membership is set from the user side only.
    assert "users" not in group
    lookup = mod["data"]["authentik_group"]["superusers"]
    assert lookup == {"name": "authentik Admins", "include_users": False}


def test_rows_carry_each_users_fields(project: Path) -> None:
    users = read_json(project / "users.json")
    users["users"]["ada"] = {"name": "Ada", "email": "ada@example.org", "groups": ["dev", "admins"],
                             "active": False, "path": "users/eng"}
    write_json(project / "users.json", users)
    assert run_main(project).returncode == 0
    rows = module(project / "generated")["locals"]
    assert rows["users"]["ada"] == {"name": "Ada", "email": "ada@example.org", "groups": ["admins", "dev"],
                                    "is_admin": False, "is_active": False, "path": "users/eng"}
    assert rows["users"]["stefan"]["is_admin"] is True
    assert rows["users"]["stefan"]["path"] == "users"  # settings default
    assert sorted(rows["groups"]) == ["admins", "dev"]


def test_groups_section_declares_groups_and_attributes(project: Path) -> None:
    users = read_json(project / "users.json")
    users["groups"] = {"admins": {"attributes": {"b": 1, "a": "x", "c": "<ops & dev>"}}, "empty": {}}
    write_json(project / "users.json", users)
    assert run_main(project).returncode == 0
    groups = module(project / "generated")["locals"]["groups"]
    # Sorted, compact and with Go's escapes: the text the provider reads back.
    assert groups["admins"]["attributes"] == '{"a":"x","b":1,"c":"\\u003cops \\u0026 dev\\u003e"}'
    assert json.loads(groups["admins"]["attributes"])["c"] == "<ops & dev>"
    assert groups["empty"]["attributes"] == "{}"


def test_provider_is_pinned_and_carries_no_credentials(example_module: Path, project: Path) -> None:
    mod = module(example_module)
    assert mod["terraform"]["required_providers"]["authentik"] == {
        "source": "goauthentik/authentik", "version": "2026.5.0"}
    assert mod["provider"]["authentik"] == [{}]
    write_json(project / "settings.json", {"provider": {"version": "2026.8.1"}})
    assert run_main(project).returncode == 0
    assert module(project / "generated")["terraform"]["required_providers"]["authentik"]["version"] == "2026.8.1"


def test_superuser_group_is_a_setting(project: Path) -> None:
    write_json(project / "settings.json", {"users": {"superuser_group": "Platform Admins"}})
    assert run_main(project).returncode == 0
    assert module(project / "generated")["data"]["authentik_group"]["superusers"]["name"] == "Platform Admins"


def test_no_secret_backend_or_machine_path_in_generated(example_module: Path) -> None:
    text = "".join(p.read_text() for p in sorted(example_module.glob("*")))
    assert str(example_module.parent) not in text
    for needle in ("/tmp", "/root", "/home", "/work"):
        assert needle not in text, needle
    mod = module(example_module)
    assert "backend" not in mod["terraform"]
    facts = read_json(ROOT / "schemas" / "vendor" / "authentik-provider" / "schema-v2026.5.0.json")
    for kind, table in (("resource", "resources"), ("data", "data_sources")):
        for rtype, named in mod[kind].items():
            sensitive = {a for a, info in facts[table][rtype][""].items() if info["sensitive"]}
            for name, body in named.items():
                assert not sensitive & set(body), f"{rtype}.{name} sets {sensitive & set(body)}"


def test_outputs_map_names_to_ids(example_module: Path) -> None:
    out = module(example_module)["output"]
    assert out["user_ids"]["value"] == "${{for name, u in authentik_user.users : name => u.id}}"
    assert out["group_ids"]["value"] == "${{for name, g in authentik_group.groups : name => g.id}}"


def test_generated_files_are_valid_json_with_one_row_per_user(example_module: Path) -> None:
    lines = (example_module / "users.tf.json").read_text().splitlines()
    assert sum('"stefan": {' in line for line in lines) == 1
    json.loads("\n".join(lines))
