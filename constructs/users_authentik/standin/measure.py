"""Measure a process from outside (TOOLING, for bench/ and the tests of its counters): wall
time from spawn to exit, CPU time of the whole tree, the started process's own CPU time
(all its threads, none of its children), and the peak resident set of its process tree.

A sampler thread walks the tree through /proc every few milliseconds and records each
process's VmHWM (the kernel's own high-water mark of its RSS); the reported peak is the sum
of those per-process peaks, an upper bound of the tree's true peak (the peaks need not
coincide). os.wait4's ru_maxrss only gives the largest single process, so it is kept as a
cross-check. Linux only (/proc). Also where the benchmarks write what they measured
(write_section: their part of bench/README.md).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

SAMPLE_EVERY_S = 0.004


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as fh:
                out += [int(c) for c in fh.read().split()]
    except OSError:  # exited meanwhile
        pass
    return out


def own_cpu_s(pid: int) -> float | None:
    """utime + stime of pid itself (/proc/<pid>/stat fields 14 and 15; 16 and 17 are its
    reaped children), readable while it is an unreaped zombie: its final figures."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            stat = fh.read()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()  # the command name may hold spaces
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_kb(pid: int) -> tuple[bytes, tuple[int, int, int]] | None:
    """(command line, (VmSize, VmRSS, VmHWM) in KiB), or None once the process is gone or a zombie."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            cmdline = fh.read()
        with open(f"/proc/{pid}/status") as fh:
            fields = dict(line.split(":", 1) for line in fh if line.startswith(("VmSize", "VmRSS", "VmHWM")))
    except OSError:
        return None
    if "VmHWM" not in fields:
        return None
    return cmdline, tuple(int(fields[k].split()[0]) for k in ("VmSize", "VmRSS", "VmHWM"))


@dataclass
class Seen:
    cmdline: bytes
    hwm: int                # highest VmHWM read (KiB)
    samples: int = 1        # readings with this command line
    forked_copy: bool = False  # same command line as its parent (not exec'd, or not yet)


class TreeSampler(threading.Thread):
    """Polls the process tree under `root` until stopped (see the module docstring).

    peak: the highest sum, at one reading, of each live process's own peak so far (VmHWM).
    Processes that never coexist are not added up (git runs one command after another),
    and a short peak between two readings still counts (VmHWM keeps it). A child caught
    between fork and exec still shows its parent's memory: while it shares it (vfork, what
    subprocess uses), its numbers are exactly its parent's and it is skipped; exec gives it
    a new command line and a fresh VmHWM, which replace any earlier reading; and a copy of
    its parent is only counted from its second reading on (a fork that never execs, like
    the synth child earlier versions of main.py forked, lives long enough; the gap before an exec does not)."""

    def __init__(self, root: int):
        super().__init__(daemon=True)
        self.root = root
        self.seen: dict[int, Seen] = {}
        self.peak = 0
        self.tree_rss = 0  # highest sum of VmRSS at one reading (a lower bound, cross-check)
        self._stop_event = threading.Event()

    def run(self) -> None:
        while True:
            self.sample()
            if self._stop_event.wait(SAMPLE_EVERY_S):
                return

    def sample(self) -> None:
        peak = rss_total = 0
        todo: list[tuple[int, tuple | None]] = [(self.root, None)]
        while todo:
            pid, parent = todo.pop()
            mem = _rss_kb(pid)
            if mem is None:
                continue
            cmdline, numbers = mem
            todo += [(child, mem) for child in _children(pid)]
            if parent is not None and mem == parent:
                continue  # vfork before exec: the parent's own memory, counted once already
            _, rss, hwm = numbers
            seen = self.seen.get(pid)
            if seen is None or seen.cmdline != cmdline:
                seen = self.seen[pid] = Seen(cmdline, hwm, forked_copy=parent is not None and cmdline == parent[0])
            else:
                seen.hwm, seen.samples = max(seen.hwm, hwm), seen.samples + 1
            if not seen.forked_copy or seen.samples >= 2:
                peak += seen.hwm
                rss_total += rss
        self.peak = max(self.peak, peak)
        self.tree_rss = max(self.tree_rss, rss_total)

    @property
    def processes(self) -> int:
        return sum(1 for s in self.seen.values() if not s.forked_copy or s.samples >= 2)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


@dataclass
class Sample:
    wall_s: float
    cpu_s: float       # user + system CPU time of the whole tree (wait4 includes reaped children)
    peak_kb: int       # TreeSampler.peak: live processes' own peaks, summed at a reading (reported)
    tree_rss_kb: int   # highest simultaneous total seen by sampling (a lower bound)
    maxrss_kb: int     # wait4: the largest single process (cross-check)
    processes: int
    # The started process's own CPU, all its threads, none of its children: for main.py, the
    # one Python interpreter, whose threads run Python on one core at a time (the GIL).
    own_cpu_s: float | None = None


class RunFailed(Exception):
    """The process exited with another status than expected (its output's tail says why)."""


def run_once(cmd: list[str], cwd: Path, expect: int = 0, env: dict[str, str] | None = None) -> Sample:
    """Start cmd in cwd (env: its whole environment; None: this one's), wait for its exit,
    and measure it. Raises RunFailed unless it exits with `expect`."""
    with tempfile.TemporaryFile() as output:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                stdout=output, stderr=subprocess.STDOUT)
        sampler = TreeSampler(proc.pid)
        sampler.start()
        # Wait for the exit without reaping, so the sampler never reads a recycled pid...
        os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
        wall = time.perf_counter() - start
        sampler.stop()
        own_cpu = own_cpu_s(proc.pid)
        _, status, usage = os.wait4(proc.pid, 0)  # ...then reap it and get its rusage.
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != expect:
            output.seek(0)
            raise RunFailed(f"{' '.join(cmd)} in {cwd} exited {proc.returncode}, expected {expect}:\n"
                            + output.read().decode("utf-8", "replace")[-3000:])
    return Sample(wall_s=wall, cpu_s=usage.ru_utime + usage.ru_stime, peak_kb=sampler.peak, tree_rss_kb=sampler.tree_rss,
                  maxrss_kb=usage.ru_maxrss, processes=sampler.processes, own_cpu_s=own_cpu)


def per_thousand(values: dict[int, float]) -> dict[int, float | None]:
    """ms per 1,000 added users, for each size from the previous one; values are seconds."""
    out: dict[int, float | None] = {}
    previous = None
    for n in sorted(values):
        out[n] = None if previous is None else (values[n] - values[previous]) * 1e6 / (n - previous)
        previous = n
    return out


@dataclass(frozen=True)
class Flatness:
    """Whether the cost of 1,000 more users stays flat: the last step (start_b -> b) against
    the first above 1,000 users (start_a -> a), within `limit` ms per 1,000."""

    flat: bool
    small: float  # ms per 1,000 added users from start_a to a
    large: float  # ms per 1,000 added users from start_b to b
    limit: float
    start_a: int
    a: int
    start_b: int
    b: int


def flatness(values: dict[int, float], factor: float, slack_ms: float) -> Flatness | None:
    """"Flat from 1,000 to 10,000": the step to the largest size up to 10,000 against the first
    step above 1,000, at most `factor` times it or `slack_ms` more. values: seconds by size;
    None without two such steps to compare."""
    steps = per_thousand(values)
    inner = [n for n in sorted(values) if 1000 < n <= 10000 and steps[n] is not None]
    if len(inner) < 2 or min(values) > 1000:
        return None
    a, b = inner[0], inner[-1]
    small, large = steps[a], steps[b]
    assert small is not None and large is not None
    limit = max(small * factor, small + slack_ms)
    return Flatness(large <= limit, small, large, limit, max(n for n in values if n < a), a,
                    max(n for n in values if n < b), b)


def write_section(readme: Path, begin: str, end: str, section: str) -> None:
    """`readme` with the text between its lines `begin` and `end` replaced by `section`: where
    each benchmark keeps its results (bench/README.md); exits if a marker is missing."""
    head, sep, rest = readme.read_text(encoding="utf-8").partition(begin)
    _, sep2, tail = rest.partition(end)
    if not (sep and sep2):
        raise SystemExit(f"{readme} lacks the {begin} ... {end} markers")
    readme.write_text(f"{head}{begin}\n{section}{end}{tail}", encoding="utf-8")
