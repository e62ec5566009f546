"""generated/ is byte-identical across runs and checkout paths, equals the committed copy,
and changes only where users.json changed."""

from __future__ import annotations

import difflib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT, copy_project, read_json, run_main, run_main_process, tree_digest, write_json


def test_committed_generated_is_fresh(example_module: Path) -> None:
    assert tree_digest(example_module) == tree_digest(ROOT / "generated"), \
        "generated/ is stale: run `make synth` and commit the result"


def test_two_checkout_paths_give_identical_bytes(tmp_path: Path) -> None:
    a = copy_project(tmp_path / "a")
    b = copy_project(tmp_path / "deeper" / "path with space" / "b")
    for root in (a, b):
        shutil.rmtree(root / "generated")
        assert run_main_process(root).returncode == 0
    assert tree_digest(a / "generated") == tree_digest(b / "generated") != {}


def test_second_run_changes_nothing(project: Path) -> None:
    assert run_main(project).returncode == 0
    mtimes = {p: p.stat().st_mtime_ns for p in (project / "generated").iterdir()}
    result = run_main(project)
    assert "up to date" in result.stdout
    assert {p: p.stat().st_mtime_ns for p in (project / "generated").iterdir()} == mtimes


def test_key_order_in_users_json_does_not_matter(project: Path) -> None:
    doc = read_json(project / "users.json")
    doc["users"]["ada"] = {"name": "Ada", "email": "ada@example.org", "groups": ["dev", "admins"]}
    write_json(project / "users.json", doc)
    assert run_main(project).returncode == 0
    first = tree_digest(project / "generated")

    def reverse(node):
        if isinstance(node, dict):
            return {k: reverse(node[k]) for k in reversed(list(node))}
        return node
    reordered = reverse(doc)
    reordered["users"]["ada"]["groups"] = ["admins", "dev"]
    (project / "users.json").write_text(json.dumps(reordered, indent=4))
    assert run_main(project).returncode == 0
    assert tree_digest(project / "generated") == first


def test_adding_one_user_changes_only_that_users_line(project: Path) -> None:
    before = (project / "generated" / "users.tf.json").read_text().splitlines()
    stack_before = (project / "generated" / "cdk.tf.json").read_bytes()
    doc = read_json(project / "users.json")
    doc["users"]["zoe"] = {"name": "Zoe", "email": "zoe@example.org", "groups": ["admins"]}
    write_json(project / "users.json", doc)
    assert run_main(project).returncode == 0
    after = (project / "generated" / "users.tf.json").read_text().splitlines()
    changed = [l for l in difflib.unified_diff(before, after, lineterm="", n=0)
               if l[:1] in "+-" and not l.startswith(("+++", "---"))]
    assert (project / "generated" / "cdk.tf.json").read_bytes() == stack_before
    # Besides zoe's line, only a neighbour's trailing comma may move.
    assert all('"zoe"' in l or l[1:].rstrip(",") in {x.rstrip(",") for x in before} for l in changed), changed
    assert sum('"zoe"' in l for l in changed) == 1 and len(changed) <= 3, changed


def test_constructs_package_does_not_shadow_the_library() -> None:
    code = ("import runpy, sys; sys.argv=['main.py','--help']\n"
            "try:\n    runpy.run_path('main.py', run_name='__main__')\nexcept SystemExit: pass\n"
            "import constructs, users_authentik.cdk as p\n"
            "print(constructs.__file__); print(p.Construct.__module__)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    lib_file, construct_module = out.stdout.split()[-2:]
    assert "site-packages" in lib_file and not lib_file.startswith(str(ROOT / "constructs"))
    assert construct_module == "constructs"
    assert not (ROOT / "constructs" / "__init__.py").exists()


@pytest.mark.skipif(not (ROOT / "node_modules" / ".bin" / "cdktf").exists(),
                    reason="cdktf-cli not installed (make setup installs it)")
def test_cdktf_synth_writes_the_same_generated(project: Path) -> None:
    shutil.rmtree(project / "generated")
    os.symlink(ROOT / "node_modules", project / "node_modules")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "CHECKPOINT_DISABLE": "1", "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "18,20",
           "CI": "1", "FORCE_COLOR": "0"}
    shutil.copy(ROOT / "package.json", project / "package.json")
    shutil.copytree(ROOT / ".gen", project / ".gen")  # cdktf synth wants codeMakerOutput to exist
    result = subprocess.run(["npm", "run", "--silent", "synth"],  # the README's command
                            cwd=project, capture_output=True, text=True, env=env, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    assert tree_digest(project / "generated") == tree_digest(ROOT / "generated")
