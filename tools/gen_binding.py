"""Writes constructs/users_authentik/binding.py, the typed binding of the goauthentik/authentik
provider, from the vendored schema facts (schemas/vendor/authentik-provider/).

    .venv/bin/python -m tools.gen_binding          # rewrite binding.py
    .venv/bin/python -m tools.gen_binding --check  # exit 1 if binding.py is not this output

For each resource and data source in USED: a frozen, keyword-only `...Config` dataclass with
one field per settable attribute (Required ones without a default), typed by the schema, and
a class carrying the type name, the enumerations and the attributes a reference may read.
Only the types the project uses: tests/test_provider_schema.py checks that USED is exactly
what the synthesized module contains, so no class is dead and none is missing.
"""

from __future__ import annotations

import json
import keyword
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = Path("schemas/vendor/authentik-provider/schema-v2026.5.0.json")
OUTPUT = Path("constructs/users_authentik/binding.py")

USED = {
    "resources": (
        "authentik_application", "authentik_application_entitlement", "authentik_brand", "authentik_flow",
        "authentik_flow_stage_binding", "authentik_group", "authentik_policy_binding",
        "authentik_policy_expression", "authentik_provider_oauth2", "authentik_stage_authenticator_static",
        "authentik_stage_authenticator_totp", "authentik_stage_authenticator_validate",
        "authentik_stage_authenticator_webauthn", "authentik_stage_deny", "authentik_stage_email",
        "authentik_stage_identification", "authentik_stage_password", "authentik_stage_prompt",
        "authentik_stage_prompt_field", "authentik_stage_user_login", "authentik_stage_user_write",
        "authentik_token", "authentik_user"),
    "data_sources": (
        "authentik_certificate_key_pair", "authentik_flow", "authentik_group",
        "authentik_property_mapping_provider_scope", "authentik_user"),
}

# Schema type -> the value type of cdk.py (a literal of that type, or an expression).
TYPES = {"String": "Str", "Boolean": "Bool", "Number": "Num", "List of String": "StrList",
         "List of Number": "NumList", "Map of String": "StrMap", "List of Map of String": "StrMapList"}


def class_name(type_: str, data: bool) -> str:
    camel = "".join(part.capitalize() for part in type_.removeprefix("authentik_").split("_"))
    return ("Data" if data else "") + camel


def settable(attrs: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    # Deprecated attributes are left out: the binding offers nothing the provider is dropping.
    chosen = [(k, v) for k, v in attrs.items() if v["section"] != "Read-Only" and not v["deprecated"]]
    # Required first, each group by name: the file reads like the provider's documentation.
    return sorted(chosen, key=lambda item: (item[1]["section"] != "Required", item[0]))


def field_line(name: str, info: dict[str, Any]) -> str:
    if keyword.iskeyword(name) or not name.isidentifier():
        raise SystemExit(f"attribute {name!r} is not a Python name; teach the generator to rename it")
    type_ = TYPES[info["type"]]
    line = f"    {name}: {type_}" if info["section"] == "Required" else f"    {name}: {type_} | None = None"
    notes = []
    if "default" in info and len(info["default"]) < 40:  # long ones are in the schema file
        notes.append(f"provider default {info['default']}")
    if info["sensitive"]:
        notes.append("sensitive")
    return line + (f"  # {'; '.join(notes)}" if notes else "")


def element(type_: str, attrs: dict[str, Any], data: bool) -> str:
    name = class_name(type_, data)
    fields = settable(attrs)
    lines = ["", "", "@dataclass(frozen=True, kw_only=True)", f"class {name}Config:"]
    lines += [field_line(k, v) for k, v in fields] or ["    pass"]
    lines += ["", "", f"class {name}({'DataSource' if data else 'Resource'}):",
              f"    TYPE = {json.dumps(type_)}", f"    CONFIG = {name}Config"]
    allowed = {k: tuple(v["allowed"]) for k, v in fields if "allowed" in v}
    if allowed:
        lines.append("    ALLOWED = {")
        for key, values in sorted(allowed.items()):
            lines += wrapped(f"        {json.dumps(key)}: (", values, "),", "            ")
        lines.append("    }")
    lines += wrapped("    ATTRIBUTES = frozenset((", sorted(attrs), "))", "        ")
    return "\n".join(lines)


def wrapped(head: str, items: Any, tail: str, indent: str, width: int = 110) -> list[str]:
    """`head` + the items as quoted strings + `tail`, on one line if it fits, else packed."""
    words = [json.dumps(i) for i in items]
    if len(words) == 1:
        words[0] += ","  # a one-element tuple
    one_line = head + ", ".join(words) + tail
    if len(one_line) <= width:
        return [one_line]
    lines, line = [head], indent
    for word in words:
        if line.strip() and len(line) + len(word) + 2 > width:
            lines.append(line.rstrip())
            line = indent
        line += word + ", "
    lines.append(line.rstrip().rstrip(","))
    return lines + [indent[:-4] + tail]


def render(facts: dict[str, Any]) -> str:
    version = facts["provider_version"]
    parts = [f'''"""Typed binding of the goauthentik/authentik provider v{version}: one Config dataclass and
one class per resource and data source the project uses.

Generated by tools/gen_binding.py from {SCHEMA.as_posix()}; do not edit.
Change USED there (or the schema file) and run `.venv/bin/python tools/gen_binding.py`.
"""

from __future__ import annotations

from dataclasses import dataclass

from .cdk import Bool, DataSource, Num, NumList, Resource, Str, StrList, StrMap, StrMapList  # noqa: F401''']
    for kind, data in (("resources", False), ("data_sources", True)):
        for type_ in sorted(USED[kind]):
            parts.append(element(type_, facts[kind][type_][""], data))
    return "\n".join(parts) + "\n"


def main(argv: list[str]) -> int:
    text = render(json.loads((ROOT / SCHEMA).read_text(encoding="utf-8")))
    target = ROOT / OUTPUT
    if argv == ["--check"]:
        if target.read_text(encoding="utf-8") != text:
            sys.stderr.write(f"{OUTPUT} is not what tools/gen_binding.py writes: run it\n")
            return 1
        return 0
    if argv:
        sys.stderr.write(__doc__)
        return 2
    target.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
