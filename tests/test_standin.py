"""Tests of the stand-in provider and its harness (users_authentik/standin/): test tooling, not Authentik.

The CLI tests run the real terraform (or tofu) against the stand-in and skip when neither exists.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest
from tf import types
from tf.utils import Diagnostics

from tests.helpers import ROOT
from users_authentik.standin.harness import REATTACH_ENV, Engine, TerraformError, TerraformRun, resource_actions
from users_authentik.standin.serve import ServedProvider, install_standin_provider
from users_authentik.standin.provider import (
    FactAttribute,
    ObjectType,
    OpaqueObjectList,
    StandinProvider,
    check_enumerations,
    load_facts,
    parse_type,
)

# The stand-in's behaviour is the engine-agreement subset: every test here runs on every installed
# engine (tests/engines.py; docs/engine.md lists what differs).
pytestmark = pytest.mark.every_engine

SMALL_MODULE = ROOT / "constructs" / "users_authentik" / "standin" / "modules" / "small"
PROVIDERS = {
    "terraform": {"required_providers": {"authentik": {"source": "goauthentik/authentik", "version": "2026.5.0"}}},
    "provider": {"authentik": [{}]},
}
MakeRun = Callable[..., TerraformRun]


# ----------------------------------------------------------------- without the CLI


def test_every_fact_type_is_generated_with_its_attributes() -> None:
    facts = load_facts()
    provider = StandinProvider(facts)
    prefix = provider.get_model_prefix()
    resources = {prefix + r.get_name(): r for r in provider.get_resources()}
    data_sources = {prefix + d.get_name(): d for d in provider.get_data_sources()}
    assert set(resources) == set(facts["resources"])
    assert set(data_sources) == set(facts["data_sources"])
    for generated, kind in ((resources, "resources"), (data_sources, "data_sources")):
        for type_name, klass in generated.items():
            schema = klass.get_schema()
            schema.to_pb()  # every type string must translate to a wire type
            by_name = {a.name: a for a in schema.attributes}
            assert set(by_name) == set(facts[kind][type_name][""]), type_name
            for name, info in facts[kind][type_name][""].items():
                attr = by_name[name]
                assert bool(attr.required) == (info["section"] == "Required"), (type_name, name)
                own_pk = name == "uuid" and info["section"] == "Optional"  # computed by the real provider
                assert bool(attr.computed) == (info["section"] == "Read-Only" or attr.default is not types.Unknown
                                               or own_pk)


def test_provider_block_requires_nothing() -> None:
    schema = StandinProvider().get_provider_schema(Diagnostics())
    assert {a.name for a in schema.attributes} >= {"url", "token"}
    assert not any(a.required for a in schema.attributes)


def test_type_strings_translate_to_terraform_types() -> None:
    assert parse_type("List of Map of String").tf_type() == b'["list",["map","string"]]'
    assert parse_type("Set of Number").tf_type() == b'["set","number"]'
    assert isinstance(parse_type("List of Object"), OpaqueObjectList)
    documented = parse_type("List of Object", {"pk": {"type": "Number"}, "username": {"type": "String"}})
    assert isinstance(documented, types.List) and isinstance(documented.element_type, ObjectType)
    assert documented.tf_type() == b'["list",["object",{"pk":"number","username":"string"}]]'
    with pytest.raises(ValueError):
        parse_type("Tuple of String")


def test_defaults_are_parsed_by_type() -> None:
    info = {"section": "Optional", "type": "Number", "default": "0.5", "sensitive": False, "deprecated": False}
    assert FactAttribute("x", info).default == 0.5
    assert FactAttribute("x", {**info, "type": "Boolean", "default": "false"}).default is False
    no_default = FactAttribute("x", {**info, "type": "String", "default": None})
    assert not no_default.computed and no_default.optional


def test_enumeration_check_reports_value_and_choices() -> None:
    facts = load_facts()["resources"]["authentik_user"][""]["type"]
    attr = FactAttribute("type", facts)
    diags = Diagnostics()
    check_enumerations(diags, "authentik_user", {"type": "robot"}, [attr])
    assert diags.has_errors()
    assert '"robot"' in str(diags) and '"internal"' in str(diags)
    ok = Diagnostics()
    check_enumerations(ok, "authentik_user", {"type": "external"}, [attr])
    check_enumerations(ok, "authentik_user", {"type": types.Unknown}, [attr])
    assert not ok.diagnostics


# ----------------------------------------------------------------- with the CLI


def _by_address(state: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["address"]: r["values"] for r in state["root_module"]["resources"]}


def test_small_module_init_validate_plan_apply_replan(terraform_run: MakeRun) -> None:
    run = terraform_run(SMALL_MODULE)
    run.init()
    assert "Success" in run.validate().stdout

    plan = run.plan()
    module = json.loads((SMALL_MODULE / "main.tf.json").read_text())
    expected = {f'authentik_user.users["{k}"]' for k in module["locals"]["users"]}
    expected |= {f'authentik_group.groups["{k}"]' for k in module["locals"]["groups"]}
    expected |= {f"{t}.{n}" for t, named in module["resource"].items() for n in named if t.startswith("authentik_")}
    expected -= {"authentik_user.users", "authentik_group.groups"}
    assert resource_actions(plan) == {address: ["create"] for address in expected}

    run.apply("tfplan")
    state = _by_address(run.state())
    groups = {k: state[f'authentik_group.groups["{k}"]'] for k in module["locals"]["groups"]}
    lookup = state["data.authentik_group.existing"]
    assert lookup["include_users"] is False and lookup["id"]
    for key, user in module["locals"]["users"].items():
        applied = state[f'authentik_user.users["{key}"]']
        assert applied["groups"] == [groups[g]["id"] for g in user["groups"]] + [lookup["id"]]
        assert applied["id"].isdigit()  # user pks are integers in authentik
        assert applied["path"] == "users" and applied["is_active"] is True  # documented defaults
    flow = state["authentik_flow.login"]
    assert flow["id"] == flow["slug"] and flow["uuid"] != flow["id"]
    bindings = [v for a, v in state.items() if a.startswith("authentik_flow_stage_binding.")]
    assert {b["target"] for b in bindings} == {flow["uuid"]}
    assert all(b["invalid_response_action"] == "retry" for b in bindings)  # documented default

    assert resource_actions(run.plan()) == {}

    run.destroy()
    assert not run.state().get("root_module", {}).get("resources")


def test_every_command_but_init_reattaches_to_one_served_provider(engine: Engine, tmp_path: Path) -> None:
    """init installs the mirror's provider and locks its hash; plan, apply and show then talk to
    the served process: they still work once the mirror's provider is broken, and a command
    without the served provider does not."""
    mirror = install_standin_provider(tmp_path / "mirror", binary=engine.path)
    with ServedProvider(tmp_path / "served") as served:
        run = TerraformRun(tmp_path / "workspace", {**mirror, **served.env}, engine.path, SMALL_MODULE)
        run.init()
        assert "goauthentik/authentik" in (run.workdir / ".terraform.lock.hcl").read_text()
        started = tmp_path / "the mirror's provider started"
        for wrapper in (tmp_path / "mirror").rglob("terraform-provider-authentik_v*"):
            wrapper.write_text(f"#!/bin/sh\ntouch '{started}'\nexit 1\n")
        run.apply()
        assert run.state()["root_module"]["resources"] and resource_actions(run.plan()) == {}
        assert not started.exists()
        alone = TerraformRun(run.workdir, mirror, engine.path)
        with pytest.raises(TerraformError):
            alone.plan_result(check=True)
        assert REATTACH_ENV not in alone.env
    socket = Path(json.loads(served.env[REATTACH_ENV])["registry.opentofu.org/goauthentik/authentik"]["Addr"]["String"])
    assert served.process.returncode is not None and not socket.parent.exists()  # closed, its socket removed


def test_removed_attribute_plans_documented_default_again(terraform_run: MakeRun) -> None:
    """Lifecycle through the harness: apply version A, then plan version B against A's state."""
    run = terraform_run()
    user = {"username": "carol", "is_active": False, "type": "external"}
    run.write_module({"main.tf.json": {**PROVIDERS, "resource": {"authentik_user": {"carol": [user]}}}})
    run.init()
    run.apply()
    applied_id = _by_address(run.state())["authentik_user.carol"]["id"]

    run.write_module({"main.tf.json": {**PROVIDERS, "resource": {"authentik_user": {"carol": [{"username": "carol"}]}}}})
    plan = run.plan()
    assert resource_actions(plan) == {"authentik_user.carol": ["update"]}
    after = plan["resource_changes"][0]["change"]["after"]
    assert after["is_active"] is True and after["type"] == "internal"
    assert after["id"] == applied_id  # an update keeps the made-up id


def _resource(type_name: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
    return {"resource": {type_name: {name: [body]}}}


# Each case is one file of a shared module (`validate` cases in one, `plan` cases in another, both
# with PROVIDERS in their own file): the engine runs once per phase, and each diagnostic is matched
# to its case by the file its `range` names, so a case passes only on its own diagnostics.
REJECTED = {
    "unknown attribute (JSON)": (
        _resource("authentik_group", "g", {"name": "g", "superuser": True}),
        "validate",
        ["Extraneous JSON object property", 'No argument or block type is named "superuser"'],
    ),
    "unknown attribute (HCL)": (
        'resource "authentik_group" "g_hcl" {\n  name = "g"\n  is_superusr = true\n}\n',
        "validate",
        ["Unsupported argument", 'Did you mean "is_superuser"?'],
    ),
    "missing required argument": (
        _resource("authentik_flow", "f", {"name": "f", "slug": "f", "designation": "authentication"}),
        "validate",
        ["Missing required argument", 'The argument "title" is required'],
    ),
    "reference to undeclared resource": (
        _resource("authentik_user", "u_ref", {"username": "u", "groups": ["${authentik_group.nope.id}"]}),
        "validate",
        # The one message that differs between the engines (docs/engine.md).
        ["Reference to undeclared resource", {"terraform": '"authentik_group" "nope" has not been declared',
                                              "tofu": 'There is no managed resource "authentik_group" "nope" definition'}],
    ),
    "splat over a map for_each": (
        {
            "locals": {"groups": {"a": "a", "b": "b"}},
            "resource": {
                "authentik_group": {"g": [{"for_each": "${local.groups}", "name": "${each.value}"}]},
                "authentik_user": {"u": [{"username": "u", "groups": "${authentik_group.g.*.id}"}]},
            },
        },
        "plan",
        ["Unsupported attribute", 'does not have an attribute named "id"'],
    ),
    "value outside an enumeration": (
        _resource("authentik_user", "u_enum", {"username": "u", "type": "robot"}),
        "validate",
        ['Invalid value for "type"', 'got "robot"', '"service_account"'],
    ),
    "value outside an enumeration via for_each": (
        {
            "locals": {"users": {"r2": {"type": "robot"}, "ok": {"type": "internal"}}},
            "resource": {
                "authentik_user": {
                    "u_each": [{"for_each": "${local.users}", "username": "${each.key}", "type": "${each.value.type}"}]
                }
            },
        },
        "plan",
        ['Invalid value for "type"', 'authentik_user.u_each["r2"]', 'got "robot"'],
    ),
    "wrong attribute type": (
        _resource("authentik_stage_password", "p", {"name": "p", "backends": "not-a-list"}),
        "validate",
        ["Incorrect attribute value type", '"backends": list of string required'],
    ),
}


def _case_file(case: str) -> str:
    stem = "".join(c if c.isalnum() else "_" for c in case)
    return f"{stem}.tf" if isinstance(REJECTED[case][0], str) else f"{stem}.tf.json"


@dataclass(frozen=True)
class Rejection:
    """One phase's run of a shared broken module: what each case's file was told."""

    validate_returncode: int  # of `validate`, before the phase's own command
    returncode: int  # of the phase's command (`validate` or `plan`)
    messages: dict[str, str]  # case file -> its diagnostics' addresses, summaries and details, whitespace-folded
    output: str


def _diagnostics(output: str, phase: str) -> list[dict[str, Any]]:
    if phase == "validate":  # one JSON document
        return json.loads(output)["diagnostics"]
    lines = (json.loads(line) for line in output.splitlines() if line.startswith("{"))  # plan -json: a stream
    return [line["diagnostic"] for line in lines if line.get("type") == "diagnostic"]


@pytest.fixture(scope="module")
def rejections(tmp_path_factory: pytest.TempPathFactory, engine: Engine,
               standin_env: dict[str, str]) -> dict[str, Rejection]:
    """Per phase, all its cases in one module, run once per engine."""
    found = {}
    for phase in ("validate", "plan"):
        cases = [c for c, (_, p, _) in REJECTED.items() if p == phase]
        run = TerraformRun(tmp_path_factory.mktemp(f"rejected-{phase}-{engine.name}"), standin_env, engine.path)
        run.write_module({"providers.tf.json": PROVIDERS, **{_case_file(c): REJECTED[c][0] for c in cases}})
        run.init()
        validated = run.run("validate", "-json", "-no-color", check=False)
        result = validated if phase == "validate" else run.run("plan", "-input=false", "-no-color", "-json", check=False)
        messages: dict[str, list[str]] = {}
        for diag in _diagnostics(result.stdout, phase):
            filename = Path(diag.get("range", {}).get("filename", "")).name
            # address: the instance a plan-time diagnostic is about, e.g. authentik_user.u["r2"]
            messages.setdefault(filename, []).append(f"{diag.get('address', '')} {diag['summary']} {diag.get('detail', '')}")
        found[phase] = Rejection(validated.returncode, result.returncode,
                                 {f: " ".join(" ".join(m).split()) for f, m in messages.items()}, result.output)
    return found


@pytest.mark.parametrize("case", list(REJECTED))
def test_broken_module_is_rejected(rejections: dict[str, Rejection], engine: Engine, case: str) -> None:
    _, phase, messages = REJECTED[case]
    rejection = rejections[phase]
    expected = [m[engine.name] if isinstance(m, dict) else m for m in messages]
    told = rejection.messages.get(_case_file(case), "")
    # plan cases: only planning can see them, so `validate` of their module passes
    assert (rejection.returncode != 0 and (phase == "validate" or rejection.validate_returncode == 0)
            and all(m in told for m in expected)), (expected, rejection.output)


def test_flow_id_is_the_slug_for_the_resource_and_a_uuid_for_the_data_source() -> None:
    from users_authentik.standin.provider import build_attributes, fill_computed

    facts = load_facts()
    resource = fill_computed("authentik_flow", {"slug": "x"},
                             build_attributes(facts["resources"]["authentik_flow"]))
    data = fill_computed("authentik_flow", {"slug": "x"},
                         build_attributes(facts["data_sources"]["authentik_flow"]), data_source=True)
    assert resource["id"] == "x"
    assert data["id"] != "x" and len(data["id"]) == 36  # the real data source sets id = pk (uuid)
