"""cdk.tf.json in a forked child while this process checks users.json.

cdk.tf.json depends on settings.json alone. Starting cdktf (Node and the jsii kernel) and
synthesizing the stack's ~60 elements takes about 0.65 s; checking and writing 10,000
users about 0.3 s. So main.py forks first thing, before it even imports the checks: the
child starts cdktf, reads settings.json and synthesizes the stack, while the parent checks
users.json (and settings.json) and renders the rows on the other core (bench/README.md).
The fork happens before anything imports jsii (a jsii kernel must never be shared by two
processes). The child gets its own session and TMPDIR, so afterwards, whether the input
was good or bad, its Node processes are killed and its TMPDIR removed: nothing is left
behind and a bad users.json is still reported at once.

This module is imported before the fork, so it imports little; the child imports the rest.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import tempfile

# Where fork is safe and cheap; elsewhere (and when jsii is already running in this
# process, as under pytest) the stack is synthesized in-process instead.
AVAILABLE = hasattr(os, "fork")
# cli.py's options that take a value: wants_stack skips them to find the command
# (tests/test_parallel.py holds the two to the same answers).
VALUE_OPTIONS = ("--base", "--format")


def wants_stack(argv: list[str]) -> bool:
    """Whether these main.py arguments run synth (the default command), read without
    argparse, whose import would delay the fork."""
    rest = iter(argv)
    for arg in rest:
        if arg in VALUE_OPTIONS:
            next(rest, None)
        elif arg in ("-h", "--help"):
            return False
        elif not arg.startswith("-"):
            return arg == "synth"
    return True


def start(argv: list[str], root: str) -> StackInChild | None:
    """For main.py: fork the stack's synth if argv runs synth and forking is safe here."""
    if AVAILABLE and "jsii" not in sys.modules and wants_stack(argv):
        return StackInChild(os.path.join(root, "settings.json"))
    return None


class StackFailed(Exception):
    """The child could not synthesize the stack: not a user mistake (settings were valid)."""


class SettingsInvalid(StackFailed):
    """The child found settings.json invalid: the parent reports why, from its own check."""


class StackInChild:
    def __init__(self, settings_path: str):
        if "jsii" in sys.modules:
            raise RuntimeError("fork before jsii starts: a jsii kernel cannot be shared")
        self._tmp = tempfile.mkdtemp(prefix="users-authentik-stack-")
        read_end, write_end = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        self._pid = os.fork()
        if self._pid == 0:
            os.close(read_end)
            _child(settings_path, self._tmp, write_end)  # never returns
        os.close(write_end)
        self._result = os.fdopen(read_end, "rb")
        self._read = False

    def result(self) -> str:
        """The text of cdk.tf.json (waits for the child)."""
        self._read = True
        status, _, payload = self._result.read().partition(b"\n")
        if status == b"settings":
            raise SettingsInvalid("settings.json changed while main.py was running; run it again")
        if status != b"ok":
            raise StackFailed(payload.decode("utf-8", "replace").strip() or "the child process died")
        return payload.decode("utf-8")

    def close(self) -> None:
        """Stop the child and its Node processes (done or not) and remove its files."""
        if not self._read:
            _kill_group(self._pid)  # users.json was bad: stop the synth now
        os.waitpid(self._pid, 0)  # a finished child stops and reaps its Node processes itself
        _kill_group(self._pid)  # whatever may be left of the group
        self._result.close()
        shutil.rmtree(self._tmp, ignore_errors=True)


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass  # the group is gone already


def _child(settings_path: str, tmp: str, write_end: int) -> None:
    status, payload = b"error", b""
    try:
        os.setsid()  # its own process group: the parent stops Node with it
        os.environ["TMPDIR"] = tmp  # jsii unpacks its runtime here (Python and Node)
        tempfile.tempdir = None
        from . import provider  # noqa: F401  (starts Node and jsii: the longest step, first)
        from pathlib import Path

        from .settings import load_settings
        from .synth import render_stack

        settings, _ = load_settings(Path(settings_path))  # the parent reports any problem
        if settings is None:
            status = b"settings"
        else:
            status, payload = b"ok", render_stack(settings).encode("utf-8")
    except BaseException:  # reported by the parent; a child must never return into its code
        import traceback

        payload = traceback.format_exc().encode("utf-8", "replace")
    finally:
        try:
            os.write(write_end, status + b"\n")
            view = memoryview(payload)
            while view:
                view = view[os.write(write_end, view):]
            os.close(write_end)
            # Stop jsii's Node processes and reap them here, so none is orphaned (and their
            # CPU time is counted as this process's); no interpreter teardown, no atexit.
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            os.killpg(0, signal.SIGTERM)
            while True:
                os.wait()
        except ChildProcessError:
            pass
        finally:
            os._exit(0 if status == b"ok" else 1)
