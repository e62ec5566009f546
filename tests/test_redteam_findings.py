"""Red-team findings, now closed: holes a pull request could open while every check passed.
Each test replays the proof of concept and asserts the defence (repo_checks.py, action.yml,
plan.py). A broken proof of concept raises RuntimeError (not AssertionError), so it is never
mistaken for the defence."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.test_ci_workflow import base_repo, clone, git, people, regenerate_rows, repo, run_step  # noqa: F401

pytestmark = pytest.mark.skipif(shutil.which("iconv") is None or shutil.which("git") is None,
                                reason="needs git and iconv")

# What OpenTofu on the runner gets once the committed bytes are read as JSON: a provisioner
# that runs a command with the runner's environment (AUTHENTIK_TOKEN) at apply time.
INJECTED = ('x"}}}, "resource": {"terraform_data": {"pwn": {"provisioner": [{"local-exec": '
            '{"command": "env > /tmp/leak"}}]}}}, "output": {"pad": {"value": {"name": "y')


def _utf7(text: str) -> str:
    return "+" + base64.b64encode(text.encode("utf-16-be")).decode().rstrip("=") + "-"


def _iconv(data: bytes, src: str, dst: str) -> bytes:
    return subprocess.run(["iconv", "-f", src, "-t", dst], input=data, capture_output=True, check=True).stdout


def _plant_utf7_injection(root: Path) -> None:
    """users.json + .gitattributes such that synth's users.tf.json, as git stores it (the
    clean filter decodes UTF-7), holds INJECTED, and the checkout git makes of it is as long
    as synth's output (git status then compares contents, which agree after the filter)."""
    (root / ".gitattributes").write_text("generated/users.tf.json working-tree-encoding=UTF-7\n")
    payload = "".join(_utf7(c) if c in '"\\' else c for c in INJECTED)  # JSON encoding leaves it alone
    run = lambda k: _utf7("x" * k) + " "  # noqa: E731  padding: k letters, spelt long
    grow = lambda k: len(run(k)) - (k + 1)  # noqa: E731

    def write(name: str) -> tuple[int, int]:
        document = people(10)
        document["users"]["zzz"] = {"name": name, "email": "zzz@example.org"}  # sorted last
        (root / "users.json").write_text(json.dumps(document, indent=2) + "\n")
        regenerate_rows(root)
        synthed = (root / "generated" / "users.tf.json").read_bytes()
        return len(synthed), len(_iconv(_iconv(synthed, "UTF-7", "UTF-8"), "UTF-8", "UTF-7"))

    synthed, checked_out = write(payload)
    need = checked_out - synthed
    tries = sorted(((a, b) for a in range(1, 800) for b in range(800)
                    if abs(grow(a) + (grow(b) if b else 0) - need) <= 6),
                   key=lambda ab: abs(grow(ab[0]) + (grow(ab[1]) if ab[1] else 0) - need))
    for a, b in tries[:200]:
        if len(set(write(run(a) + (run(b) if b else "") + payload))) == 1:
            return
    raise RuntimeError("could not match the checkout's length")


def test_gitattributes_encoding_smuggles_terraform_past_ci(repo: Path, tmp_path: Path) -> None:
    _plant_utf7_injection(repo)
    git(repo, "add", "users.json", ".gitattributes", "generated")
    git(repo, "commit", "-q", "--no-verify", "-m", "onboard zzz")
    blob = git(repo, "cat-file", "blob", "HEAD:generated/users.tf.json")  # what go-git / Flux deliver
    try:
        json.loads(blob)["resource"]["terraform_data"]["pwn"]
    except (ValueError, KeyError) as err:
        raise RuntimeError(f"proof of concept broken: {err}") from None
    ci = clone(repo, tmp_path / "ci")  # a fresh checkout, as actions/checkout makes it
    git(ci, "checkout", "-q", "change")
    synth_step, _ = run_step(ci, "synth")
    assert synth_step.returncode == 1, (
        "CI passed a generated/ whose committed bytes are not synth's output:\n" + blob[-400:])
    assert "generated/users.tf.json: (git attribute working-tree-encoding=UTF-7)" in synth_step.stderr


def test_a_sourceignore_hiding_generated_fails_ci(repo: Path) -> None:
    (repo / ".sourceignore").write_text("generated/cdk.tf.json\n")
    git(repo, "add", ".sourceignore")
    git(repo, "commit", "-q", "--no-verify", "-m", "tidy the Flux artifact")
    synth_step, _ = run_step(repo, "synth")
    guard_step, _ = run_step(repo, "guard")
    assert synth_step.returncode == 1 and guard_step.returncode == 1
    assert ".sourceignore: line 1 (generated/cdk.tf.json): drops generated/cdk.tf.json" in synth_step.stderr


def test_plan_does_not_run_a_committed_tools_binary(tmp_path: Path) -> None:
    from tests.gitrepo import git as git_in, git_project
    from tests.helpers import ROOT, run_main_process

    root = git_project(tmp_path / "repo")
    (root / ".gitignore").write_text((ROOT / ".gitignore").read_text())
    marker = tmp_path / "ran"
    tofu = root / ".tools" / "bin" / "tofu"
    tofu.parent.mkdir(parents=True)
    tofu.write_text(f"#!/bin/sh\ntouch {marker}\nexit 1\n")
    tofu.chmod(0o755)
    git_in(root, "add", "-f", ".tools/bin/tofu", ".gitignore")
    git_in(root, "commit", "-q", "-m", "a helpful tools pin")
    if "tofu" not in git_in(root, "ls-files", ".tools"):
        raise RuntimeError("could not commit .tools/bin/tofu")
    planned = run_main_process(root, "plan")  # plan.py and repo_checks.py look at the .tools/ of the checkout their code is in
    assert not marker.exists(), "main.py plan ran an executable committed in .tools/bin/"
    assert planned.returncode == 1 and ".tools/bin/tofu: (git): is committed" in planned.stderr
    assert run_main_process(root, "check").returncode == 1  # check (and so CI) refuses the commit too
