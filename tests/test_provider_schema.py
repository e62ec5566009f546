"""Every synthesized resource and attribute, and every class of the typed binding, agrees
with the provider's schema facts (schemas/vendor/authentik-provider), pinned by version."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import ROOT, module, read_json
from users_authentik import provider as binding
from users_authentik.settings import Settings

FACTS = read_json(ROOT / "schemas" / "vendor" / "authentik-provider" / "schema-v2026.5.0.json")
META_ARGUMENTS = {"for_each", "count", "depends_on", "lifecycle", "provider"}
EXPRESSION = re.compile(r"^\$\{.*\}$", re.S)


def attributes(kind: str, type_: str) -> dict[str, dict[str, Any]]:
    return FACTS["resources" if kind == "resource" else "data_sources"][type_][""]


def conformance_errors(mod: dict[str, Any]) -> list[str]:
    errors = []
    for kind in ("resource", "data"):
        for type_, named in mod.get(kind, {}).items():
            table = FACTS["resources" if kind == "resource" else "data_sources"]
            if type_ not in table:
                errors.append(f"{kind} {type_}: unknown type")
                continue
            attrs = table[type_][""]
            for name, body in named.items():
                for key, value in body.items():
                    info = attrs.get(key)
                    if key in META_ARGUMENTS:
                        continue
                    if info is None:
                        errors.append(f"{type_}.{name}.{key}: unknown attribute")
                    elif info["section"] == "Read-Only":
                        errors.append(f"{type_}.{name}.{key}: read-only attribute set")
                    elif "allowed" in info and not (isinstance(value, str) and EXPRESSION.match(value)) \
                            and value not in info["allowed"]:
                        errors.append(f"{type_}.{name}.{key}: {value!r} not in {info['allowed']}")
                for key, info in attrs.items():
                    if info["section"] == "Required" and key not in body:
                        errors.append(f"{type_}.{name}.{key}: required attribute missing")
    return errors


def test_provider_version_pinned_matches_the_schema_facts() -> None:
    assert Settings.defaults().provider.version == FACTS["provider_version"]


def test_generated_module_conforms_to_provider_schema(example_module: Path) -> None:
    mod = module(example_module)
    assert mod["resource"] and mod["data"]
    assert conformance_errors(mod) == []


def test_provider_block_sets_no_attribute(example_module: Path) -> None:
    for block in module(example_module)["provider"]["authentik"]:
        assert set(block) <= set(FACTS["provider"][""]) and not block


@pytest.mark.parametrize("cls", sorted({**binding.RESOURCES, **{f"data.{k}": v for k, v in binding.DATA_SOURCES.items()}}.items()),
                         ids=lambda item: item[0] if isinstance(item, tuple) else "")
def test_binding_class_matches_schema(cls: tuple[str, type]) -> None:
    name, klass = cls
    attrs = attributes("data" if name.startswith("data.") else "resource", klass.TYPE)
    fields = {f.name: f for f in dataclasses.fields(klass.CONFIG)}
    settable = {k for k, v in attrs.items() if v["section"] != "Read-Only"}
    assert set(fields) <= settable, set(fields) - settable
    required = {k for k, v in attrs.items() if v["section"] == "Required"}
    no_default = {k for k, f in fields.items()
                  if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
    # Every attribute the provider requires must be required by the binding too
    # (the binding may ask for more, e.g. a group lookup always names the group).
    assert required <= no_default, required - no_default


def test_conformance_check_catches_mistakes() -> None:
    """The checker above is not vacuous: it finds each kind of mistake."""
    bad = {"resource": {
        "authentik_user": {"u": {"usrname": "x", "type": "robot", "id": "1"}},
        "authentik_usr": {"v": {}}}}
    errors = conformance_errors(bad)
    assert any("usrname: unknown attribute" in e for e in errors)
    assert any("username: required attribute missing" in e for e in errors)
    assert any("'robot' not in" in e for e in errors)
    assert any("id: read-only" in e for e in errors)
    assert any("authentik_usr: unknown type" in e for e in errors)
