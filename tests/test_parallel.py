"""main.py synthesizes cdk.tf.json in a forked child while it checks users.json
(constructs/users_authentik/parallel.py). Whatever happens, the child and its Node
processes are gone afterwards and its temporary files are removed."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.helpers import ROOT, read_json, run_main, tree_digest, write_json
from users_authentik import parallel

pytestmark = pytest.mark.skipif(not parallel.AVAILABLE, reason="no os.fork on this platform")


def leftovers(scratch: Path, marker: str) -> tuple[list[str], list[str]]:
    """Files in the TMPDIR given to main.py, and processes still running with it in their environment."""
    procs = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if marker.encode() in Path(f"/proc/{pid}/environ").read_bytes():
                procs.append(pid)
        except OSError:
            continue
    return sorted(p.name for p in scratch.iterdir()), procs


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    path = tmp_path / "tmp"
    path.mkdir()
    return path


def test_good_input_same_files_nothing_left(project: Path, scratch: Path) -> None:
    (project / "generated" / "cdk.tf.json").unlink()
    result = run_main(project, env={"TMPDIR": str(scratch)})
    assert result.returncode == 0, result.stderr
    assert tree_digest(project / "generated") == tree_digest(ROOT / "generated")
    assert leftovers(scratch, str(scratch)) == ([], [])


def test_bad_input_stops_the_child_and_leaves_nothing(project: Path, scratch: Path) -> None:
    write_json(project / "users.json", {"users": {"a": {"name": "A"}}})
    before = tree_digest(project / "generated")
    result = run_main(project, env={"TMPDIR": str(scratch)})
    assert result.returncode == 1 and '"email" is missing' in result.stderr
    assert tree_digest(project / "generated") == before
    assert leftovers(scratch, str(scratch)) == ([], [])


def test_a_failing_child_is_reported_and_nothing_written(project: Path, scratch: Path) -> None:
    doc = read_json(project / "users.json")
    doc["users"]["ada"] = {"name": "Ada", "email": "ada@example.org"}
    write_json(project / "users.json", doc)
    before = tree_digest(project / "generated")
    result = run_main(project, env={"TMPDIR": str(scratch), "JSII_RUNTIME": str(scratch / "missing.js")})
    assert result.returncode == 1
    assert "synthesizing generated/cdk.tf.json failed; nothing was written to generated/." in result.stderr
    assert tree_digest(project / "generated") == before
    assert leftovers(scratch, str(scratch)) == ([], [])


def test_the_parent_never_starts_jsii(project: Path) -> None:
    """A jsii kernel must not be shared across the fork: only the child imports it."""
    code = ("import runpy, sys; sys.argv = ['main.py']\n"
            "try:\n    runpy.run_path('main.py', run_name='__main__')\n"
            "except SystemExit as e:\n    print('jsii' in sys.modules, e.code)")
    out = subprocess.run([os.sys.executable, "-c", code], cwd=project, capture_output=True, text=True)
    assert out.stdout.split()[-2:] == ["False", "0"], out.stdout + out.stderr


def test_invalid_settings_are_reported_by_the_parent(project: Path, scratch: Path) -> None:
    """Invalid settings: no child is forked (it would synthesize from them); the problems
    are reported and nothing is left, as for a bad users.json."""
    (project / "settings.json").write_text('{"brand": {"title": 7}}\n', encoding="utf-8")
    before = tree_digest(project / "generated")
    result = run_main(project, env={"TMPDIR": str(scratch)})
    assert result.returncode == 1
    assert "settings.json" in result.stderr and "brand" in result.stderr, result.stderr
    assert "synthesizing" not in result.stderr
    assert tree_digest(project / "generated") == before
    assert leftovers(scratch, str(scratch)) == ([], [])
