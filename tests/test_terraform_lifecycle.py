"""OpenTofu (and terraform, where installed) on generated/, offline, against the stand-in provider
(users_authentik/standin/). On OpenTofu; the first test on every installed engine too
(tests/engines.py: `engine`, `every_engine`).

1. The committed generated/ (copied to a scratch workspace, with a local backend_override.tf as
   tofu-controller writes its own): init, validate, plan, apply, and a second plan with no changes.
2. Lifecycle: from that applied state, a "team" users.json (the example + alice + bob) is planned
   and applied; then each change a reviewer will see in a pull request is synthesized by main.py
   from an edited users.json and planned against the team's state, asserting on `show -json`
   exactly which addresses change and how.

The committed generated/ is applied once per engine and worker (tests/engines.py `committed_applied`,
which test_netbird.py starts from too); the team's lifecycle (OpenTofu only) continues in a copy of
that workspace, and each variant's plan in a copy of the team's (plans never write state). Skipped, with one line saying why, when there is neither OpenTofu nor terraform.
"""

from __future__ import annotations

import copy
import shutil
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from tests.helpers import ROOT, addresses, copy_project, read_json, run_main, write_json
from tests.engines import Applied
from users_authentik.standin.harness import Engine, TerraformRun, resource_actions

EXAMPLE = read_json(ROOT / "users.json")
TEAM_USERS = {
    "alice": {"name": "Alice Example", "email": "alice@example.org", "groups": ["admins", "dev"]},
    "bob": {"name": "Bob Example", "email": "bob@example.org", "groups": ["dev"]},
}


def user(name: str) -> str:
    return f'authentik_user.users["{name}"]'


def group(name: str) -> str:
    return f'authentik_group.groups["{name}"]'


def team() -> dict[str, Any]:
    doc = copy.deepcopy(EXAMPLE)
    doc["users"].update(copy.deepcopy(TEAM_USERS))
    return doc


def onboard(doc: dict[str, Any]) -> None:
    doc["users"]["carol"] = {"name": "Carol Example", "email": "carol@example.org", "groups": ["dev"]}


def offboard(doc: dict[str, Any]) -> None:
    del doc["users"]["bob"]


def suspend(doc: dict[str, Any]) -> None:
    doc["users"]["alice"]["active"] = False


def join_existing_group(doc: dict[str, Any]) -> None:
    doc["users"]["bob"]["groups"] = ["admins", "dev"]


def join_new_group(doc: dict[str, Any]) -> None:
    doc["users"]["bob"]["groups"] = ["dev", "ops"]


def unchanged(doc: dict[str, Any]) -> None:
    # Same people, keys in reverse order: a regeneration that must not change anything.
    doc["users"] = {name: doc["users"][name] for name in reversed(list(doc["users"]))}


VARIANTS: dict[str, Callable[[dict[str, Any]], None]] = {
    "team": lambda doc: None,
    "onboard": onboard,
    "offboard": offboard,
    "suspend": suspend,
    "join_existing_group": join_existing_group,
    "join_new_group": join_new_group,
    "unchanged": unchanged,
}


def synthesize(root: Path, name: str) -> Path:
    """generated/ of one variant: copy_project + the edited users.json + main.py."""
    copy_project(root)
    doc = team()
    VARIANTS[name](doc)
    write_json(root / "users.json", doc)
    result = run_main(root)
    assert result.returncode == 0, result.stderr
    return root / "generated"


@dataclass
class Lifecycle:
    """From the example's state: the team applied, then a plan per variant."""

    team_plan: dict[str, Any]
    generated: dict[str, Path]  # variant -> its generated/
    plans: dict[str, Future]  # variant -> its plan against the team's state; .result() raises its error

    def plan(self, variant: str) -> dict[str, Any]:
        return self.plans[variant].result()


@pytest.fixture(scope="module")
def lifecycle(committed_applied: Applied, engine: Engine, standin_env: dict[str, str],
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lifecycle]:
    """One applied team, shared by the module: the variants are synthesized (in process, no
    Node: only users.json differs), the team applied on a copy of the example's state, then each
    variant planned in its own copy of the team's workspace (same state, same .terraform/), two at a time."""
    scratch = tmp_path_factory.mktemp(f"lifecycle-{engine.name}")
    generated = {name: synthesize(scratch / f"variant-{name}", name) for name in VARIANTS}
    workspace = scratch / "team"
    shutil.copytree(committed_applied.workspace, workspace, symlinks=True)
    run = TerraformRun(workspace, standin_env, engine.path, generated["team"])
    team_plan = run.plan()
    run.apply("tfplan")

    def plan_in_copy(name: str) -> dict[str, Any]:
        copy = scratch / f"plan-{name}"
        shutil.copytree(workspace, copy, symlinks=True)
        return TerraformRun(copy, standin_env, engine.path, generated[name]).plan()

    with ThreadPoolExecutor(max_workers=2) as pool:
        plans = {name: pool.submit(plan_in_copy, name) for name in VARIANTS if name != "team"}
        yield Lifecycle(team_plan, generated, plans)


def change(plan: dict[str, Any], address: str) -> dict[str, Any]:
    return next(rc["change"] for rc in plan["resource_changes"] if rc["address"] == address)


def changed_keys(c: dict[str, Any]) -> set[str]:
    before, after = c["before"], c["after"]
    return {k for k in set(before) | set(after) if before.get(k) != after.get(k)} | {
        k for k, v in c.get("after_unknown", {}).items() if v}


# ----------------------------------------------------------------- the committed generated/


@pytest.mark.every_engine  # the whole module, on terraform as well (docs/engine.md)
def test_committed_generated_inits_validates_plans_applies_and_replans_clean(committed_applied: Applied) -> None:
    assert "Success! The configuration is valid." in committed_applied.validate_output
    expected = {a for a in addresses(ROOT / "generated") if not a.startswith("data.")}
    assert resource_actions(committed_applied.plan) == {a: ["create"] for a in expected}
    assert resource_actions(committed_applied.replan) == {}, "a second plan of generated/ shows changes"
    applied = committed_applied.replan["prior_state"]["values"]["root_module"]["resources"]
    state = {r["address"]: r["values"] for r in applied}
    assert set(state) >= expected
    for name, row in EXAMPLE["users"].items():
        values = state[user(name)]
        assert (values["username"], values["email"], values["is_active"]) == (name, row["email"], True)
        member_of = {state[group(g)]["id"] for g in row["groups"]}
        superusers = {state["data.authentik_group.superusers"]["id"]} if row.get("is_admin") else set()
        assert sorted(values["groups"]) == sorted(member_of | superusers)


def test_team_onboarding_from_the_example_creates_its_people_and_new_group(lifecycle: Lifecycle) -> None:
    assert resource_actions(lifecycle.team_plan) == {
        user("alice"): ["create"], user("bob"): ["create"], group("dev"): ["create"]}


# ----------------------------------------------------------------- lifecycle, from the team's state


def test_onboarding_plans_exactly_one_create(lifecycle: Lifecycle) -> None:
    plan = lifecycle.plan("onboard")
    assert resource_actions(plan) == {user("carol"): ["create"]}
    assert change(plan, user("carol"))["after"]["username"] == "carol"


def test_offboarding_plans_exactly_one_destroy(lifecycle: Lifecycle) -> None:
    assert resource_actions(lifecycle.plan("offboard")) == {user("bob"): ["delete"]}


def test_suspending_updates_only_is_active_of_that_user(lifecycle: Lifecycle) -> None:
    plan = lifecycle.plan("suspend")
    assert resource_actions(plan) == {user("alice"): ["update"]}
    c = change(plan, user("alice"))
    assert changed_keys(c) == {"is_active"}
    assert (c["before"]["is_active"], c["after"]["is_active"]) == (True, False)


def test_joining_an_existing_group_updates_only_that_user(lifecycle: Lifecycle) -> None:
    plan = lifecycle.plan("join_existing_group")
    assert resource_actions(plan) == {user("bob"): ["update"]}
    c = change(plan, user("bob"))
    assert changed_keys(c) == {"groups"}
    assert len(c["before"]["groups"]) == 1 and len(c["after"]["groups"]) == 2


def test_joining_a_new_group_creates_it_and_updates_only_that_user(lifecycle: Lifecycle) -> None:
    plan = lifecycle.plan("join_new_group")
    assert resource_actions(plan) == {user("bob"): ["update"], group("ops"): ["create"]}
    assert changed_keys(change(plan, user("bob"))) == {"groups"}  # the new group's id: known after apply


def test_regenerating_without_changes_plans_nothing(lifecycle: Lifecycle) -> None:
    unchanged, team = lifecycle.generated["unchanged"], lifecycle.generated["team"]
    for name in ("cdk.tf.json", "users.tf.json"):
        assert (unchanged / name).read_bytes() == (team / name).read_bytes()
    assert resource_actions(lifecycle.plan("unchanged")) == {}
