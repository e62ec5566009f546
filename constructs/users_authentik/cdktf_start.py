"""cdktf started early, on a thread, while the caller goes on (checking users.json).

Most of a rebuild of cdk.tf.json is cdktf's start: Node and the jsii kernel, then the
constructs and cdktf assemblies (bench/README.md). None of it depends on users.json, so
it runs beside the checks. Started by cli.py, before the rest of the package is imported,
when a rebuild is asked for; else by pipeline.py when settings.json turns out to need one.
Whoever starts one joins it on every way out.
"""

from __future__ import annotations

import importlib
import sys
import threading


class CdktfStart:
    """cdktf, started on a thread: Python imports it, which starts Node and the jsii kernel and
    loads the constructs and cdktf assemblies, most of a rebuild's time (bench/README.md).
    The thread only imports; every jsii call (synth.render_stack) is made afterwards, on the
    caller's thread, once wait() returned.

    The two threads share the GIL. The import gives it up at each file it reads, and by
    default the busy checks keep it 5 ms before handing it back: Node would start only when
    the checks are done (bench/README.md). While the thread runs, the interpreter hands the
    GIL over after SWITCH_INTERVAL instead, so the import reaches Node's start at once."""

    SWITCH_INTERVAL = 0.0005  # seconds; Python's default is 0.005
    # The jsii runtime, and the type checker its generated bindings (cdktf's) import first.
    PLAIN_PYTHON = ("jsii", "typeguard")

    def __init__(self) -> None:
        self._failed: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._holds = False  # the short switch interval (_SWITCH), until join()
        try:
            # The plain Python that cdktf's import runs before Node starts is imported here:
            # on the thread it would wait for the GIL at every file it reads. What is left to
            # the thread is mostly waiting for Node.
            for name in self.PLAIN_PYTHON:
                importlib.import_module(name)
        except (Exception, SystemExit) as error:  # raised by wait(), like any failure to start:
            self._failed = error  # a run that finds problems in users.json reports those instead
            return
        _SWITCH.hold(self.SWITCH_INTERVAL)
        self._holds = True
        try:
            thread = threading.Thread(target=self._start, name="cdktf-start", daemon=True)
            thread.start()
        except BaseException as error:  # no thread to wait for (RuntimeError: none could start)
            self._failed = error
            self._release()
            return
        self._thread = thread

    def _start(self) -> None:
        try:
            import cdktf  # noqa: F401
        except BaseException as error:  # raised again by wait(), on the caller's thread
            self._failed = error

    def wait(self) -> None:
        """Until cdktf is imported; raises what importing it raised (a SystemExit too, which
        synth reports as a failure: pipeline._synth)."""
        self.join()
        if self._failed is not None:
            raise self._failed

    def join(self) -> None:
        """Until the thread is done (a run that found problems never needs the stack, but no
        import may be left running as the interpreter exits)."""
        try:
            if self._thread is not None:
                self._thread.join()
        finally:  # Ctrl-C in join() too: the caller's interval is back
            self._release()

    def _release(self) -> None:
        if self._holds:
            self._holds = False
            _SWITCH.release()


class _SwitchInterval:
    """The process's switch interval, held short while any start of cdktf runs. Starts may
    overlap (callers on two threads): the first to hold it saves the caller's, the last
    restores it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._holders = 0
        self._saved = 0.0

    def hold(self, interval: float) -> None:
        with self._lock:
            if self._holders == 0:
                self._saved = sys.getswitchinterval()
            self._holders += 1
            sys.setswitchinterval(min(self._saved, interval))

    def release(self) -> None:
        with self._lock:
            self._holders -= 1
            if self._holders == 0:
                sys.setswitchinterval(self._saved)


_SWITCH = _SwitchInterval()
