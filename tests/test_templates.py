"""Text from users.json and settings.json is never a template: Terraform evaluates `${...}`
and `%{...}` in every string of a *.tf.json file (keys too), so a pull request could run
`file("/proc/self/environ")` on the runner and publish the token in a display name or on
the sign-in page. Proved with the real CLI: what Terraform evaluates from generated/ equals
the input, character for character."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.helpers import ROOT, read_json, write_json
from users_authentik.cli import main
from users_authentik.literal import literal
from users_authentik.model import provider_json
from users_authentik.settings_file import load_settings

# Templates (evaluated before the fix: upper() shows it), text that already looks escaped,
# and a lone `$` / `%` at the end, where an escape rule could go wrong.
PIECES = '${upper("evaluated")} %{ if true }evaluated%{ endif } $${x} %%{y} $$${z} %%%{w} ${ %{'


def hostile(label: str, trail: str = "$") -> str:
    return f"{label} {PIECES} {trail}"


def compact(label: str, trail: str = "$") -> str:
    """The same without white space, for fields that allow none (paths, emails)."""
    return f"{label}/" + "/".join(PIECES.replace("if true", "if(true)").split()) + f"/{trail}"


SUPERUSERS_UUID = "0b6f1c9e-1111-4a2b-9c3d-5e6f7a8b9c0d"
ADOPTED_UUID = "3f2c9a4e-8d1b-4c6f-9e2a-7b5d0c1e4f8a"
GROUP = hostile("group", "%")  # a key: users.tf.json locals, for_each, an import address
ADOPTED_GROUP = hostile("adopted group")
ATTRIBUTES = {'${upper("k")}': {"%{ if true }n%{ endif }": hostile("nested")}, "list": ["${x}", "%", "$"]}
# Emails and paths allow no spaces.
EMAIL = compact("x").replace("/", ".") + "@example.org"
PATH = compact("users", "%")


def string_settings(schema: dict[str, Any], path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every string setting in settings.schema.json, as a path of keys."""
    for key, sub in schema.get("properties", {}).items():
        if key == "$schema":
            continue
        types = sub.get("type") if isinstance(sub.get("type"), list) else [sub.get("type")]
        if "object" in types:
            yield from string_settings(sub, path + (key,))
        elif "string" in types:
            yield path + (key,)


SETTINGS_SCHEMA = read_json(ROOT / "schemas" / "settings.schema.json")
STRING_SETTINGS = sorted(string_settings(SETTINGS_SCHEMA))


def settings_doc(values: dict[tuple[str, ...], str]) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    for path, value in values.items():
        node = doc
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = value
    return doc


def accepts(tmp_path: Path, path: tuple[str, ...], value: str) -> tuple[bool, list[str]]:
    file = tmp_path / "settings.json"
    write_json(file, settings_doc({path: value}))
    settings, problems = load_settings(file.read_bytes())
    return settings is not None, [str(p) for p in problems]


def free_text_settings(tmp_path: Path) -> dict[tuple[str, ...], str]:
    """The string settings that accept template text (the others refuse it; see below), each
    with a hostile value of its own."""
    found = {}
    for i, path in enumerate(STRING_SETTINGS):
        trail = "%" if i % 2 else "$"
        value = next((v for v in (hostile(".".join(path), trail), compact(".".join(path), trail))
                      if accepts(tmp_path, path, v)[0]), None)
        if value is not None:
            found[path] = value
    return found


def test_settings_that_cannot_hold_template_text_refuse_it(tmp_path: Path) -> None:
    """Slugs, the domain, durations, the version, the name prefix: refused with a problem that
    names the setting. Everything else is free text and must reach Terraform literally."""
    refused = set(STRING_SETTINGS) - set(free_text_settings(tmp_path))
    assert ("brand", "domain") in refused and ("flows", "login", "slug") in refused
    for path in sorted(refused):
        for text in ("${x}", "%{x}"):
            ok, problems = accepts(tmp_path, path, f"a{text}")
            assert not ok and any(f"settings.json: {'.'.join(path)}:" in p for p in problems), (path, problems)


def test_literal_examples() -> None:
    assert literal('${file("/proc/self/environ")}') == '$${file("/proc/self/environ")}'
    assert literal("%{ if x }y%{ endif }") == "%%{ if x }y%%{ endif }"
    assert literal("$${x} %%{y}") == "$$${x} %%%{y}"
    assert literal("100% $5 {x} $ %") == "100% $5 {x} $ %"


def strings_in(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from strings_in(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings_in(v)


def test_terraform_evaluates_every_string_to_its_input(project: Path, tmp_path: Path, terraform_run,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """Template text in every free-text field of users.json and settings.json; after a real
    apply (stand-in provider), the state holds exactly the input: in users.tf.json (names,
    emails, paths, group names as keys, nested group attributes, an import address) and in
    cdk.tf.json (every free-text setting)."""
    settings = free_text_settings(tmp_path)
    superuser_group = settings[("users", "superuser_group")]
    write_json(project / "settings.json", settings_doc(settings))
    doc = read_json(project / "users.json")
    doc["users"]["stefan"].update(name=hostile("name"), groups=[GROUP, ADOPTED_GROUP])  # path: the default
    doc["users"]["ada"] = {"name": hostile("ada", "%"), "email": EMAIL, "path": PATH, "groups": [GROUP]}
    doc["groups"] = {GROUP: {"attributes": ATTRIBUTES}, ADOPTED_GROUP: {"authentik_id": ADOPTED_UUID}}
    write_json(project / "users.json", doc)
    assert main([], root=project) == 0, capsys.readouterr().err

    live = tmp_path / "live.json"  # the adopted group and the superuser group, as Authentik has them
    live.write_text(json.dumps({"users": [], "groups": [
        {"pk": SUPERUSERS_UUID, "name": superuser_group, "is_superuser": True, "attributes": "{}"},
        {"pk": ADOPTED_UUID, "name": ADOPTED_GROUP, "is_superuser": False, "attributes": "{}"}]}))
    run = terraform_run(project / "generated")
    run.use_directory(live)
    run.init()
    run.apply()
    resources = run.state()["root_module"]["resources"]
    by_address = {r["address"]: r for r in resources}

    users = {r["index"]: r["values"] for r in resources if r["address"].startswith("authentik_user.users[")}
    assert users["stefan"]["name"] == hostile("name")
    assert users["stefan"]["path"] == settings[("users", "path")]
    assert (users["ada"]["name"], users["ada"]["email"], users["ada"]["path"]) == (hostile("ada", "%"), EMAIL, PATH)
    groups = {r["index"]: r["values"] for r in resources if r["address"].startswith("authentik_group.groups[")}
    assert set(groups) == {GROUP, ADOPTED_GROUP}
    assert groups[GROUP]["name"] == GROUP and groups[GROUP]["attributes"] == provider_json(ATTRIBUTES)
    assert groups[ADOPTED_GROUP]["id"] == ADOPTED_UUID  # the import block's address is the literal key
    # Membership found the groups by their literal names.
    assert sorted(users["ada"]["groups"]) == [groups[GROUP]["id"]]
    assert by_address["data.authentik_group.superusers"]["values"]["name"] == superuser_group

    found = {s for r in resources for s in strings_in(r["values"])}
    missing = {".".join(path): value for path, value in settings.items() if value not in found}
    assert not missing, f"settings that did not reach Terraform literally: {missing}"
    assert not any("EVALUATED" in s or s.startswith("evaluated") for s in found)


def test_terraform_reads_the_escape_rule_back_exactly(tmp_path: Path, terraform_run) -> None:
    """Every string up to 4 characters over `$ % { } x`, as a key and as a value, through
    literal() and back out of Terraform."""
    texts = ["".join(t) for n in range(1, 5) for t in itertools.product("$%{}x", repeat=n)]
    # Strings with an unbalanced `}` are fine: outside a template sequence it is plain text.
    run = terraform_run()
    row = ",\n".join(f"      {literal(json.dumps(t))}: {literal(json.dumps(t))}" for t in texts)
    run.write_module({"main.tf.json": '{\n  "locals": {\n    "texts": {\n' + row + "\n    }\n  },\n"
                      '  "output": {"texts": {"value": "${local.texts}"}}\n}\n'})
    run.init()
    run.apply()
    out = json.loads(run.run("output", "-json", "texts").stdout)
    assert out == {t: t for t in texts}
