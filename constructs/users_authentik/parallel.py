"""cdk.tf.json in a forked child while this process checks users.json.

cdk.tf.json depends on settings.json alone. Starting cdktf (Node and the jsii kernel) and
synthesizing the stack's ~60 elements takes about 0.65 s; checking and writing 10,000
users about 0.2 s. Forking once settings.json is valid lets the two run on two cores
(bench/README.md). The fork happens before anything imports jsii (a jsii kernel must never
be shared by two processes). The child gets its own session and TMPDIR, so afterwards,
whether users.json was good or bad, its Node processes are stopped and reaped by the child
itself (none is left for PID 1 to reap) and its TMPDIR is removed: nothing is left behind,
and a bad users.json is still reported at once.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import tempfile
import time
import traceback

from .settings import Settings

# Where fork is safe and cheap; elsewhere (and when jsii is already running in this
# process, as under pytest) the stack is synthesized in-process instead.
AVAILABLE = hasattr(os, "fork")


class StackFailed(Exception):
    """The child could not synthesize the stack: not a user mistake (settings were valid)."""


class StackInChild:
    def __init__(self, settings: Settings):
        if "jsii" in sys.modules:
            raise RuntimeError("fork before jsii starts: a jsii kernel cannot be shared")
        self._tmp = tempfile.mkdtemp(prefix="users-authentik-stack-")
        read_end, write_end = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        self._pid = os.fork()
        if self._pid == 0:
            os.close(read_end)
            _child(settings, self._tmp, write_end)  # never returns
        os.close(write_end)
        self._result = os.fdopen(read_end, "rb")
        self._read = False

    def result(self) -> str:
        """The text of cdk.tf.json (waits for the child)."""
        self._read = True
        status, _, payload = self._result.read().partition(b"\n")
        if status != b"ok":
            raise StackFailed(payload.decode("utf-8", "replace").strip() or "the child process died")
        return payload.decode("utf-8")

    def close(self) -> None:
        """Stop the child and its Node processes (done or not) and remove its files."""
        if not self._read:
            self._signal(signal.SIGTERM)  # users.json was bad: stop the synth now
        # The child stops and reaps its Node processes itself (_stop), so none is left to
        # PID 1, which in a container may never reap it. Should that hang, kill them all.
        if not _exited(self._pid, STOP_TIMEOUT_S):
            self._signal(signal.SIGKILL)
            os.waitpid(self._pid, 0)
        _kill_group(self._pid)  # whatever may be left of the group
        self._result.close()
        shutil.rmtree(self._tmp, ignore_errors=True)

    def _signal(self, sig: int) -> None:
        """The child's group; or the child alone, if it has not made its group yet. Only
        while the child is not reaped: until then its pid cannot be anyone else's."""
        try:
            os.killpg(self._pid, sig)
        except ProcessLookupError:
            os.kill(self._pid, sig)


STOP_TIMEOUT_S = 5.0


def _exited(pid: int, timeout: float) -> bool:
    """Reap pid if it exits within timeout seconds."""
    deadline = time.monotonic() + timeout
    while os.waitpid(pid, os.WNOHANG) == (0, 0):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.002)
    return True


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass  # the group is gone already


def _stop(exit_status: int) -> None:
    """In the child: stop jsii's Node processes and reap them, then leave (no interpreter
    teardown, no atexit). Their CPU time is then counted as this process's."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        os.killpg(0, signal.SIGTERM)
        while True:
            os.wait()
    except ChildProcessError:
        pass
    finally:
        os._exit(exit_status)


def _child(settings: Settings, tmp: str, write_end: int) -> None:
    status, payload = b"error", b""
    try:
        os.setsid()  # its own process group: the parent stops Node with it
        # Stopped by the parent (bad input): take the Node processes down too, and reap them.
        signal.signal(signal.SIGTERM, lambda *_: _stop(1))
        os.environ["TMPDIR"] = tmp  # jsii unpacks its runtime here (Python and Node)
        tempfile.tempdir = None
        from .synth import render_stack

        status, payload = b"ok", render_stack(settings).encode("utf-8")
    except BaseException:  # reported by the parent; a child must never return into its code
        payload = traceback.format_exc().encode("utf-8", "replace")
    finally:
        try:
            os.write(write_end, status + b"\n")
            view = memoryview(payload)
            while view:
                view = view[os.write(write_end, view):]
            os.close(write_end)
        finally:
            _stop(0 if status == b"ok" else 1)
