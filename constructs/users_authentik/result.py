"""What one run of synth, check or plan comes to (pipeline.py makes it, report.py shows it)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .model import Roster
from .problems import Problem
from .settings import Settings


@dataclass(frozen=True)
class Failure:
    """synth stopped on input that passed every check: not the input's fault. One of the
    three is set."""

    missing: str | None = None  # the requirements.txt package the stack needs (exit 2)
    error: BaseException | None = None  # cdktf could not synthesize cdk.tf.json (or called sys.exit)
    unwritten: tuple[Problem, ...] = ()  # generated/ could not be written (module_dir.WriteFailed)
    half_written: bool = False  # ... and was left half-written: the next synth completes it

    @property
    def status(self) -> int:
        return 2 if self.missing is not None else 1


@dataclass(frozen=True)
class Result:
    command: str  # synth, check or plan
    root: Path  # the data directory
    roster: Roster | None = None  # None when there are problems
    settings: Settings | None = None
    problems: tuple[Problem, ...] = ()  # every one found; none is written then
    guard_notes: tuple[str, ...] = ()  # the removal guard's (every format shows them)
    schema_notes: tuple[str, ...] = ()  # stale schema copies beside users.json: for a person (text only)
    settings_notes: tuple[str, ...] = ()  # the brand's placeholder domain (every format)
    written: tuple[str, ...] | None = None  # synth: the files of generated/ it rewrote; () up to date
    failure: Failure | None = None

    @property
    def ok(self) -> bool:
        return not self.problems and self.failure is None

    @property
    def status(self) -> int:
        """The exit status: 0 done, 1 problems (or synth failed), 2 a package is missing."""
        return 1 if self.problems else self.failure.status if self.failure else 0

    @property
    def notes(self) -> tuple[str, ...]:
        """The notes about the change (machine formats show only these)."""
        return self.guard_notes + self.settings_notes

    @property
    def counts(self) -> tuple[int, int]:
        """(users, groups) of the roster; (0, 0) without one."""
        return (len(self.roster.users), len(self.roster.groups)) if self.roster is not None else (0, 0)
