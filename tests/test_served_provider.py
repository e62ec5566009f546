"""serve.ServedProvider, the one stand-in process that `plan` and each test worker serve: what it
may import, and that it never outlives its owner (no engine needed)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import ROOT
from users_authentik.standin.harness import REATTACH_ENV
from users_authentik.standin.serve import ServedProvider, ServeFailed


def socket_of(env: dict[str, str]) -> Path:
    [entry, *_] = json.loads(env[REATTACH_ENV]).values()
    return Path(entry["Addr"]["String"])


def running(pid: int) -> bool:
    """The process exists and is no zombie (an orphan's reaper may be slow or absent)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def wait_until(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_served_provider_runs_no_module_from_the_current_directory(tmp_path: Path, monkeypatch) -> None:
    """A reviewer runs `users-authentik plan` in a pull request's checkout: a `uuid.py` (or
    `grpc/`, `tf/` ...) committed there must not be what the served stand-in imports."""
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    ran = tmp_path / "the checkout's uuid.py ran"
    (checkout / "uuid.py").write_text(
        "import pathlib, sys\n"
        f"pathlib.Path({str(ran)!r}).write_text('ran')\n"
        # then hand over to the real module, so that the provider still serves
        f"sys.path[:] = [p for p in sys.path if p not in ('', {str(checkout)!r})]\n"
        "del sys.modules['uuid']\n"
        "import uuid as real\n"
        "sys.modules['uuid'] = real\n")
    monkeypatch.chdir(checkout)
    with ServedProvider(tmp_path / "served") as served:
        assert socket_of(served.env).exists()
    assert not ran.exists()


OWNER = """
import json, sys, time
from pathlib import Path
from users_authentik.standin.serve import ServedProvider
served = ServedProvider(Path(sys.argv[1]))
print(json.dumps({"pid": served.process.pid, "env": served.env}), flush=True)
time.sleep(600)
"""


def test_served_provider_stops_when_its_owner_is_killed(tmp_path: Path) -> None:
    """`plan` killed by SIGTERM/SIGKILL (a CI job cancelled, `timeout`) runs no `finally`: the
    served process must not stay behind, listening, for ever."""
    owner = subprocess.Popen([sys.executable, "-c", OWNER, str(tmp_path / "served")], stdout=subprocess.PIPE,
                             text=True)
    served_pid = None
    try:
        line = owner.stdout.readline()
        assert line, "the owner did not start a served provider"
        started = json.loads(line)
        served_pid, socket = started["pid"], socket_of(started["env"])
        assert running(served_pid) and socket.exists()
        owner.kill()
        owner.wait()
        assert wait_until(lambda: not running(served_pid), 10), "the served provider outlived its owner"
        assert wait_until(lambda: not socket.parent.exists(), 5), "its socket directory was left behind"
    finally:
        owner.kill()
        owner.wait()
        if served_pid is not None and running(served_pid):
            os.kill(served_pid, signal.SIGKILL)
            shutil.rmtree(socket.parent, ignore_errors=True)


def test_served_provider_closes_promptly_where_sigint_is_ignored(tmp_path: Path) -> None:
    """A shell starts background jobs (`users-authentik plan &` in a script) with SIGINT ignored,
    which the served process inherits: close() must still stop it at once and remove its socket."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        served = ServedProvider(tmp_path / "served")
    finally:
        signal.signal(signal.SIGINT, previous)
    socket = socket_of(served.env)
    start = time.monotonic()
    try:
        served.close()
        assert time.monotonic() - start < 5
        assert not socket.parent.exists()
    finally:
        shutil.rmtree(socket.parent, ignore_errors=True)


def test_close_removes_the_socket_of_a_provider_whose_stop_was_cut_short(tmp_path: Path) -> None:
    """The tf package removes its socket directory on KeyboardInterrupt; a provider killed (or
    interrupted again while removing it) leaves it: close() removes what is left."""
    served = ServedProvider(tmp_path / "served")
    socket = socket_of(served.env)
    try:
        served.process.kill()
        served.process.wait()
        assert socket.exists()
        served.close()
        assert not socket.parent.exists()
    finally:
        shutil.rmtree(socket.parent, ignore_errors=True)


def fake_python(tmp_path: Path, output: str) -> str:
    script = tmp_path / "fake-python"
    script.write_text(f"#!/bin/sh\nprintf '%s\\n' {json.dumps(output)}\nexec sleep 30\n")
    script.chmod(0o755)
    return str(script)


def test_a_reattach_line_that_is_not_json_is_a_serve_failure(tmp_path: Path) -> None:
    python = fake_python(tmp_path, f"\texport {REATTACH_ENV}='{{not json'")
    with pytest.raises(ServeFailed, match="not json"):
        ServedProvider(tmp_path / "served", python=python, timeout=5)


def test_no_reattach_line_in_time_says_what_the_process_printed(tmp_path: Path) -> None:
    python = fake_python(tmp_path, "Serving on port 1234 (a tf release that prints differently)")
    with pytest.raises(ServeFailed, match="prints differently"):
        ServedProvider(tmp_path / "served", python=python, timeout=1)


def test_a_deep_temporary_directory_still_serves(tmp_path: Path) -> None:
    """A unix socket's path may not exceed 107 bytes; the tf package puts its socket in a new
    temporary directory, and a CI's or a test's TMPDIR can be deeper than that allows."""
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    with ServedProvider(tmp_path / "served", environ={**os.environ, "TMPDIR": str(deep)}) as served:
        socket = socket_of(served.env)
        assert socket.is_socket() and len(os.fsencode(str(socket))) <= 107
    assert not socket.exists() and not socket.parent.parent.exists()  # its private TMPDIR, removed


def test_a_served_provider_stops_cleanly(tmp_path: Path) -> None:
    """Told to stop, it exits 0 at once without a traceback (the tf package leaves its gRPC
    server running, whose threads held up one exit in about twenty for 10 s, until close()
    killed it); one that cannot serve exits with its error (exit 1), not an interpreter abort
    from the thread that watches its stdin."""
    for round in range(8):
        with ServedProvider(tmp_path / f"served-{round}") as served:
            pass
        assert served.process.returncode == 0, round
        assert "Traceback" not in (tmp_path / f"served-{round}" / "served.err").read_text()
    deep = tmp_path / ("d" * 120)
    deep.mkdir()
    env = {**os.environ, "HOME": str(tmp_path), "PYTHONPATH": str(ROOT / "constructs")}
    # Its stdin stays open (as its owner holds it): the socket's path is too long to bind.
    with (tmp_path / "failed.err").open("wb") as err:
        failed = subprocess.Popen([sys.executable, "-m", "users_authentik.standin.provider", "--dev"], cwd=deep,
                                  env={**env, "TMPDIR": str(deep)}, stdin=subprocess.PIPE,
                                  stdout=subprocess.DEVNULL, stderr=err)
    try:
        code = failed.wait(timeout=60)
    finally:
        failed.kill()
        failed.stdin.close()
    stderr = (tmp_path / "failed.err").read_text()
    assert code == 1 and "Failed to bind" in stderr and "Fatal Python error" not in stderr, stderr[-2000:]
