"""main.py synthesizes cdk.tf.json in a forked child while it checks users.json
(constructs/users_authentik/parallel.py). Whatever happens, the child and its Node
processes are gone afterwards and its temporary files are removed."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import time
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


SUBREAPER = """
import ctypes, os, subprocess, sys, time
# Become a subreaper: a process orphaned below us is re-parented here instead of to init.
assert ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
main = subprocess.run([sys.executable, "main.py"], capture_output=True, text=True)
time.sleep(0.3)  # let anything orphaned die and be re-parented
orphans = []
while True:
    try:
        pid, _ = os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        break
    if pid == 0:
        time.sleep(0.05)
        continue
    orphans.append(pid)
print(main.returncode, len(orphans))
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="prctl subreaper is Linux-only")
def test_a_stopped_synth_leaves_no_orphan_for_init_to_reap(project: Path) -> None:
    """Bad input stops the child while Node runs: its Node processes are reaped by the
    child, not left to whatever runs as PID 1 (a container's PID 1 may never reap them)."""
    doc = read_json(project / "users.json")
    doc["users"].update({f"user{i}": {"name": f"User {i}", "email": f"user{i}@example.org"} for i in range(8000)})
    doc["users"]["user7"]["email"] = "not an email"  # found late enough that Node runs by then
    write_json(project / "users.json", doc)
    out = subprocess.run([os.sys.executable, "-c", SUBREAPER], cwd=project, capture_output=True, text=True)
    assert out.stdout.split() == ["1", "0"], out.stdout + out.stderr


def _wait_until(predicate, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def _start_slow_synth(project: Path, scratch: Path) -> subprocess.Popen:
    """main.py on 8,000 users: the parent is still checking them while Node runs."""
    doc = read_json(project / "users.json")
    doc["users"].update({f"user{i}": {"name": f"User {i}", "email": f"user{i}@example.org"} for i in range(8000)})
    write_json(project / "users.json", doc)
    env = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "18,20", "TMPDIR": str(scratch)}
    env.pop("CDKTF_OUTDIR", None)
    main = subprocess.Popen([os.sys.executable, "main.py"], cwd=project, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # The child's TMPDIR is in the environment of the Node processes it starts.
    assert _wait_until(lambda: leftovers(scratch, str(scratch / parallel.TEMPDIR_PREFIX))[1]), "Node never started"
    return main


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="PR_SET_PDEATHSIG is Linux-only")
def test_a_killed_parent_leaves_no_child_and_no_temporary_directory(project: Path, scratch: Path) -> None:
    main = _start_slow_synth(project, scratch)
    main.send_signal(signal.SIGKILL)
    main.wait()
    # The child hears of it (PR_SET_PDEATHSIG), stops its Node processes and removes its TMPDIR.
    assert _wait_until(lambda: leftovers(scratch, str(scratch / parallel.TEMPDIR_PREFIX)) == ([], [])), \
        leftovers(scratch, str(scratch / parallel.TEMPDIR_PREFIX))


def test_the_next_run_removes_the_temporary_directory_of_a_run_killed_whole(project: Path, scratch: Path) -> None:
    main = _start_slow_synth(project, scratch)
    child_and_node = leftovers(scratch, str(scratch / parallel.TEMPDIR_PREFIX))[1]
    for pid in [str(main.pid), *child_and_node]:  # all at once, as a container's stop does
        os.kill(int(pid), signal.SIGKILL)
    main.wait()
    assert _wait_until(lambda: leftovers(scratch, str(scratch / parallel.TEMPDIR_PREFIX))[1] == [])
    [stale] = leftovers(scratch, "never in an environment")[0]
    assert stale.startswith(parallel.TEMPDIR_PREFIX)  # nobody could clean it up
    # A directory some running synth still holds is kept.
    held = scratch / f"{parallel.TEMPDIR_PREFIX}held"
    held.mkdir()
    fd = os.open(held, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        result = run_main(project, env={"TMPDIR": str(scratch)})
        assert result.returncode == 0, result.stderr
        assert leftovers(scratch, "never in an environment")[0] == [held.name]
    finally:
        os.close(fd)
    assert run_main(project, env={"TMPDIR": str(scratch)}).returncode == 0
    assert leftovers(scratch, str(scratch)) == ([], [])
