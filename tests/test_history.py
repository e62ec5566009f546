"""Stable addresses across the project's history: between any committed version of
generated/ and the next (and the working tree), no user or group that still exists may
change address unless a `moved` block (constructs/users_authentik/addressing.py MOVES)
takes it there, and moved blocks, once emitted, are never dropped.

A changed address means Terraform destroys the account (and its passkeys) and creates a
new one. tests/test_addresses.py catches that against a snapshot; this test catches it
against every version that was ever committed, which is what real states were applied from.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers import ROOT, addresses, module, read_json, write_json
from users_authentik import addressing

MANAGED = ("authentik_user", "authentik_group")
GIT_ENV = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}


# --- the check --------------------------------------------------------------------

def follow(address: str, moves: list[tuple[str, str]]) -> str:
    """Where Terraform's moved blocks take an old address (chains followed)."""
    for _ in range(len(moves) + 1):
        for source, target in moves:
            if address == source:
                address = target
                break
            if address.startswith(source + "["):  # a whole-resource move carries its keys
                address = target + address[len(source):]
                break
        else:
            return address
    raise AssertionError(f"moved blocks form a cycle through {address}")


def instance_keys(mod: dict, rtype: str) -> set[str]:
    """Keys of every for_each instance of resources of this type (usernames, group names)."""
    keys: set[str] = set()
    for body in mod.get("resource", {}).get(rtype, {}).values():
        each = body.get("for_each", "")
        if each.startswith("${local.") and each.endswith("}"):
            keys |= set(mod.get("locals", {}).get(each[len("${local."):-1], {}))
    return keys


def key_of(address: str) -> str | None:
    if not address.endswith("]") or "[" not in address:
        return None
    return json.loads(address[address.index("[") + 1:-1])


def unexplained_changes(old: Path, new: Path) -> list[str]:
    """Why the step old -> new would destroy something that still exists (empty: none)."""
    old_mod, new_mod = module(old), module(new)
    before, after = addresses(old), addresses(new)
    moves = [(b["from"], b["to"]) for b in new_mod.get("moved", [])]
    errors = [f"moved block {block} was dropped; keep it for states not yet applied"
              for block in old_mod.get("moved", []) if block not in new_mod.get("moved", [])]
    for address in sorted(before - after):
        rtype = address.split(".", 1)[0]
        if rtype not in MANAGED:
            continue
        target = follow(address, moves)
        if target in after:
            continue
        key = key_of(address)
        if key is None or key in instance_keys(new_mod, rtype):
            errors.append(f"{address} still exists but is no longer at that address"
                          + (f" (moved blocks take it to {target}, which the module does not have)"
                             if target != address else "; add a Move to addressing.MOVES"))
    return errors


# --- the project's history ----------------------------------------------------------

def git(*args: str) -> str:
    result = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, env=GIT_ENV)
    if result.returncode:
        raise LookupError(result.stderr.strip())
    return result.stdout


def history_or_skip() -> tuple[str, list[str]]:
    if shutil.which("git") is None:
        pytest.skip("git is not installed: no history of generated/ to check")
    try:
        prefix = git("rev-parse", "--show-prefix").strip()
    except LookupError:
        pytest.skip(f"{ROOT} is not a git checkout (an unpacked archive?): no history to check")
    if git("rev-parse", "--is-shallow-repository").strip() == "true":
        why = ("shallow clone: earlier versions of generated/ are missing; "
               "clone with full history (fetch-depth: 0) to run this check")
        if os.environ.get("CI"):  # CI (which sets CI=true) must run it, never skip it quietly
            pytest.fail(why)
        pytest.skip(why)
    try:
        commits = git("rev-list", "HEAD", "--", f"{prefix}generated").split()
    except LookupError:
        pytest.skip("the repository has no commits yet")
    return prefix, commits


def materialize(commit: str, prefix: str, dest: Path, cache: dict[str, Path]) -> Path | None:
    """generated/*.tf.json as of commit, in a directory (None if it had no generated/)."""
    try:
        tree = git("rev-parse", "--verify", "--quiet", f"{commit}:{prefix}generated").strip()
    except LookupError:
        return None
    if tree not in cache:
        out = dest / tree
        out.mkdir(parents=True)
        for name in git("ls-tree", "--name-only", tree).split("\n"):
            if name.endswith(".tf.json"):
                (out / name).write_text(git("cat-file", "blob", f"{tree}:{name}"), encoding="utf-8")
        cache[tree] = out
    return cache[tree]


def test_no_address_changes_across_the_history_of_generated(tmp_path: Path) -> None:
    prefix, commits = history_or_skip()
    cache: dict[str, Path] = {}
    steps: list[tuple[str, Path, Path]] = []
    for commit in commits:
        new = materialize(commit, prefix, tmp_path, cache)
        for parent in git("rev-list", "--parents", "-n", "1", commit).split()[1:]:
            old = materialize(parent, prefix, tmp_path, cache)
            if old is not None and new is not None:
                steps.append((f"{parent[:10]}..{commit[:10]}", old, new))
    head = materialize("HEAD", prefix, tmp_path, cache)
    if head is not None:
        steps.append(("HEAD..working tree", head, ROOT / "generated"))
    if not steps:
        pytest.skip("generated/ has no earlier version to compare with yet")
    problems = [f"{label}: {error}" for label, old, new in steps for error in unexplained_changes(old, new)]
    assert not problems, "\n".join(problems)


# --- the check can fail --------------------------------------------------------------

@pytest.fixture
def versions(tmp_path: Path) -> tuple[Path, Path]:
    """Two copies of the committed generated/ with one more user, to be edited."""
    dirs = []
    for name in ("old", "new"):
        out = tmp_path / name
        shutil.copytree(ROOT / "generated", out)
        rows = read_json(out / "users.tf.json")
        rows["locals"]["users"]["ada"] = dict(rows["locals"]["users"]["stefan"], name="Ada")
        write_json(out / "users.tf.json", rows)
        dirs.append(out)
    return dirs[0], dirs[1]


def rename_user_resource(generated: Path, new_name: str) -> None:
    stack = read_json(generated / "cdk.tf.json")
    users = stack["resource"]["authentik_user"]
    users[new_name] = users.pop("users")
    write_json(generated / "cdk.tf.json", stack)


def add_moved(generated: Path, *blocks: dict[str, str]) -> None:
    rows = read_json(generated / "users.tf.json")
    rows.setdefault("moved", []).extend(blocks)
    write_json(generated / "users.tf.json", rows)


def test_unchanged_and_removed_users_are_fine(versions: tuple[Path, Path]) -> None:
    old, new = versions
    assert unexplained_changes(old, new) == []
    rows = read_json(new / "users.tf.json")
    del rows["locals"]["users"]["ada"]  # offboarding is a destroy, but a deliberate one
    write_json(new / "users.tf.json", rows)
    assert unexplained_changes(old, new) == []


def test_a_renamed_resource_without_moved_block_fails(versions: tuple[Path, Path]) -> None:
    old, new = versions
    rename_user_resource(new, "people")
    errors = unexplained_changes(old, new)
    assert errors == [f'authentik_user.users["{u}"] still exists but is no longer at that address; '
                      "add a Move to addressing.MOVES" for u in ("ada", "stefan")]


def test_a_whole_resource_moved_block_covers_a_rename(versions: tuple[Path, Path]) -> None:
    old, new = versions
    rename_user_resource(new, "people")
    add_moved(new, {"from": "authentik_user.users", "to": "authentik_user.people"})
    assert unexplained_changes(old, new) == []


def test_instance_moved_blocks_must_cover_every_user(versions: tuple[Path, Path]) -> None:
    old, new = versions
    rename_user_resource(new, "people")
    add_moved(new, {"from": 'authentik_user.users["ada"]', "to": 'authentik_user.people["ada"]'})
    assert [e.split(" ")[0] for e in unexplained_changes(old, new)] == ['authentik_user.users["stefan"]']


def test_a_moved_block_to_nowhere_fails(versions: tuple[Path, Path]) -> None:
    old, new = versions
    rename_user_resource(new, "people")
    add_moved(new, {"from": "authentik_user.users", "to": "authentik_user.persons"})
    assert all("which the module does not have" in e for e in unexplained_changes(old, new))


def test_dropping_a_moved_block_fails(versions: tuple[Path, Path]) -> None:
    old, new = versions
    block = {"from": "authentik_user.accounts", "to": "authentik_user.users"}
    add_moved(old, block)
    assert unexplained_changes(old, new) == [f"moved block {block} was dropped; keep it for states not yet applied"]


def test_moves_are_emitted_as_moved_blocks(project: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    from users_authentik.cli import main

    assert '"moved"' not in (project / "generated" / "users.tf.json").read_text()  # none yet
    monkeypatch.setattr(addressing, "MOVES", (
        addressing.Move("authentik_user.accounts", addressing.USER_RESOURCE, "example rename"),))
    assert main([], root=project) == 0, capsys.readouterr().err
    assert module(project / "generated")["moved"] == [
        {"from": "authentik_user.accounts", "to": "authentik_user.users"}]
    assert sum('"moved"' in line for line in (project / "generated" / "users.tf.json").read_text().splitlines()) == 1


def test_named_resources_are_the_stacks(example_module: Path) -> None:
    """addressing.py's resource names are the ones the stack synthesizes."""
    found = addresses(example_module)
    assert addressing.user_address("stefan") in found
    assert addressing.group_address("admins") in found
    assert addressing.group_address('a "b" ${c}') == 'authentik_group.groups["a \\"b\\" $${c}"]'
