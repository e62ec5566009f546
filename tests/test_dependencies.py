"""main.py started without its Python packages says in one line what to run: no traceback,
from any command, whichever package is missing (also when the synth would start a child)."""

from __future__ import annotations

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
                                             ("icu", "pyicu-wheels")])
@pytest.mark.parametrize("command", ["", "check", "diff", "plan"])
def test_a_missing_package_is_one_line(project: Path, blocked: str, package: str, command: str) -> None:
    before = tree_digest(project / "generated")
    result = start(project, blocked, *([command] if command else []))
    if blocked in ("jsii", "cdktf") and command in ("check", "diff"):
        assert "Traceback" not in result.stderr  # they do not need it
        return
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and package in lines[0] and "make synth" in lines[0], result.stderr
    assert tree_digest(project / "generated") == before


def test_outside_any_venv_is_one_line(project: Path) -> None:
    # -S: without site-packages, as a python3 with nothing installed.
    result = subprocess.run([sys.executable, "-S", "main.py"], cwd=project, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert len(result.stderr.splitlines()) == 1 and "jsii" in result.stderr
