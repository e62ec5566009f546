"""cdk.tf.json in a forked child while this process checks users.json.

cdk.tf.json depends on settings.json alone. Starting cdktf (Node and the jsii kernel) and
synthesizing the stack's ~60 elements takes about 0.65 s; checking and writing 10,000
users about 0.2 s. Forking once settings.json is valid lets the two run on two cores
(bench/README.md). The fork happens before anything imports jsii (a jsii kernel must never
be shared by two processes). The child gets its own session and TMPDIR, so afterwards,
whether users.json was good or bad, its Node processes are stopped and reaped by the child
itself (none is left for PID 1 to reap) and its TMPDIR is removed: nothing is left behind,
and a bad users.json is still reported at once.

A killed parent leaves nothing either: the child is told (Linux: PR_SET_PDEATHSIG) and
stops as above, removing its TMPDIR itself. Should both be killed at once, the TMPDIR
stays locked (flock) only as long as one of them lives, so the next run removes every
such directory nobody holds.
"""

from __future__ import annotations

import fcntl
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
        remove_stale_tempdirs()
        self._tmp, self._lock = _locked_tempdir()
        read_end, write_end = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        parent = os.getpid()
        self._pid = os.fork()
        if self._pid == 0:
            os.close(read_end)
            _child(settings, self._tmp, write_end, parent)  # never returns
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
        os.close(self._lock)

    def _signal(self, sig: int) -> None:
        """The child's group; or the child alone, if it has not made its group yet. Only
        while the child is not reaped: until then its pid cannot be anyone else's."""
        try:
            os.killpg(self._pid, sig)
        except ProcessLookupError:
            os.kill(self._pid, sig)


STOP_TIMEOUT_S = 5.0
TEMPDIR_PREFIX = "users-authentik-stack-"
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)


def _locked_tempdir() -> tuple[str, int]:
    """A new TMPDIR for the child and a descriptor holding its lock. The lock is shared
    with the child by fork and released when both are gone, however they end."""
    while True:
        path = tempfile.mkdtemp(prefix=TEMPDIR_PREFIX)
        fd = os.open(path, _DIR_FLAGS)
        fcntl.flock(fd, fcntl.LOCK_EX)  # waits if another run's sweep holds it
        try:
            if os.stat(path).st_ino == os.fstat(fd).st_ino:
                return path, fd
        except FileNotFoundError:
            pass  # swept by another run between mkdtemp and flock: make another
        os.close(fd)


def remove_stale_tempdirs() -> None:
    """Remove the TMPDIRs of runs killed with their child (nobody holds their lock)."""
    try:
        entries = [e.path for e in os.scandir(tempfile.gettempdir())
                   if e.name.startswith(TEMPDIR_PREFIX) and e.is_dir(follow_symlinks=False)]
    except OSError:
        return
    for path in entries:
        try:
            fd = os.open(path, _DIR_FLAGS)
        except OSError:
            continue  # gone, or another user's
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            shutil.rmtree(path, ignore_errors=True)
        except OSError:
            pass  # in use by a running synth
        finally:
            os.close(fd)


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


def _stop(exit_status: int, tmp: str) -> None:
    """In the child: stop jsii's Node processes and reap them, remove the TMPDIR, then
    leave (no interpreter teardown, no atexit). Their CPU time is then counted as this
    process's."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        os.killpg(0, signal.SIGTERM)
        while True:
            os.wait()
    except ChildProcessError:
        pass
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # the parent, if alive, does it too
        os._exit(exit_status)


_PR_SET_PDEATHSIG = 1


def _die_with(parent: int, tmp: str) -> None:
    """SIGTERM this child when the parent dies (Linux), e.g. killed with SIGKILL."""
    import ctypes  # here: only the child needs it

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        return  # not Linux: the child finishes, then stops as usual
    if os.getppid() != parent:  # died before prctl took effect
        _stop(1, tmp)


def _child(settings: Settings, tmp: str, write_end: int, parent: int) -> None:
    status, payload = b"error", b""
    try:
        os.setsid()  # its own process group: the parent stops Node with it
        # Stopped by the parent (bad input) or its death: take the Node processes down too,
        # and reap them.
        signal.signal(signal.SIGTERM, lambda *_: _stop(1, tmp))
        _die_with(parent, tmp)
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
            _stop(0 if status == b"ok" else 1, tmp)
