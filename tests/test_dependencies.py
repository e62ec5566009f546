"""main.py started without its Python packages says in one line what to run: no traceback,
from any command, whichever package is missing (the package itself, a check's, the stack's)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import tree_digest

BLOCK = "import runpy, sys\nfor m in sys.argv[1].split(','): sys.modules[m] = None\n" \
        "sys.argv = ['main.py'] + sys.argv[2:]\nrunpy.run_path('main.py', run_name='__main__')\n"


def start(root: Path, blocked: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", BLOCK, blocked, *args], cwd=root, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("blocked,package", [("jsii", "jsii"), ("cdktf", "cdktf"), ("jsonschema", "jsonschema"),
                                             ("icu", "pyicu-wheels"), ("fastjsonschema", "fastjsonschema")])
@pytest.mark.parametrize("command", [["--rebuild"], ["check"], ["diff"], ["plan"], []])
def test_a_missing_package_is_one_line(project: Path, blocked: str, package: str, command: list[str]) -> None:
    before = tree_digest(project / "generated")
    result = start(project, blocked, *command)
    if blocked in ("jsii", "cdktf") and command in (["check"], ["diff"], []):
        # check and diff never need the stack's packages, nor a synth whose cdk.tf.json is current
        # (diff in this copy, which is no git repository, exits 1 for that reason)
        assert "Traceback" not in result.stderr and result.returncode == (1 if command == ["diff"] else 0), result.stderr
        assert "lacks the Python package" not in result.stderr
        return
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and package in lines[0] and "make install" in lines[0], result.stderr
    assert tree_digest(project / "generated") == before


@pytest.mark.parametrize("code_on_path", [True, False])
def test_outside_any_venv_is_one_line(project: Path, code_on_path: bool) -> None:
    # -S: without site-packages, as a python3 with nothing installed; without PYTHONPATH the
    # package itself cannot be imported either.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" or code_on_path}
    result = subprocess.run([sys.executable, "-S", "main.py"], cwd=project, capture_output=True, text=True,
                            timeout=120, env=env)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert len(result.stderr.splitlines()) == 1 and "make install" in result.stderr
    assert ("fastjsonschema" if code_on_path else "users_authentik") in result.stderr
