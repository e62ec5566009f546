"""synth, check and plan as one pipeline: the working tree's files -> a Result.

Stages, each only on what passed the one before:
  load (loading.py: users.json + settings.json, schema and meaning)
  -> guard (guard.py over two loaded results: revision.read_base's and the working tree's;
     not for plan, which shows removals to a reviewer instead of refusing them)
  -> generated/ and around it (module_dir.py: only what synth writes; repo_checks.py: what
     could change the bytes applied, or what plan runs)
  -> synth only: render and write generated/ (cdk.tf.json only when its inputs changed).
settings.json and generated/ are looked at first: when synth will render cdk.tf.json, cdktf
starts then (cdktf_start.CdktfStart, unless the caller started it already for --rebuild) and
users.json is checked while Node loads.
Nothing is printed here: report.py shows the Result, cli.py turns it into an exit status.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from . import dependencies, guard, module_dir, repo_checks, revision
from .cdktf_start import CdktfStart
from .init import stale_schema_notes
from .loading import Loaded, LoadedSettings, Sources, read_folder, read_settings, validate
from .problems import Problem
from .result import Failure, Result
from .settings import Settings
from .settings_file import placeholder_notes
from .synth import MODULE_FILES, ROWS_FILE, STACK_FILE, is_current, render_rows, render_stack


def run(command: str, root: Path, base: str | None = None, *, rebuild: bool = False,
        starting: CdktfStart | None = None) -> Result:
    """command: synth, check or plan. base: --base for the removal guard (None: its default).
    rebuild: synthesize cdk.tf.json even if its inputs did not change. root: a directory
    (cli.py refuses -C naming none). starting: cdktf as the caller started it (a rebuild asked
    for), joined by the caller; else synth starts one when cdk.tf.json is to be rendered."""
    sources = read_folder(root)
    settings = read_settings(sources)
    # Before cdk.tf.json is read: only a plain file in a plain generated/ (module_dir.py).
    generated = module_dir.problems(root / "generated", MODULE_FILES, leftovers=command == "check")
    # A rebuild of cdk.tf.json starts cdktf now, while users.json is checked (cdktf_start.py).
    # The text read here is the one kept: what synth writes is what was found current.
    kept, started = None, None
    if command == "synth" and not generated and settings.settings is not None:
        kept = _current_stack(root / "generated", settings.settings, rebuild)
        if kept is None and starting is None:
            starting = started = CdktfStart()
    try:
        return _run(command, root, base, sources, settings, generated, starting, kept)
    finally:
        if started is not None:
            started.join()


def _run(command: str, root: Path, base: str | None, sources: Sources, settings: LoadedSettings,
         generated: list[Problem], starting: CdktfStart | None, kept: str | None) -> Result:
    head = validate(sources, settings)
    problems, notes = list(head.problems), []
    if command != "plan":  # compares with the last commit (or --base): docs/offboarding.md
        problems, notes = guard.guard(revision.read_base(root, base, head), head)
    problems += generated
    problems += repo_checks.problems(root, MODULE_FILES)
    if problems:
        return Result(command, root, problems=tuple(problems), guard_notes=tuple(notes))
    result = Result(command, root, head.roster, head.settings, guard_notes=tuple(notes),
                    schema_notes=tuple(stale_schema_notes(root)) if command != "plan" else ())
    if command == "check":  # synth says it when it writes the brand, not on every commit
        return _with(result, settings_notes=tuple(placeholder_notes(head.settings)))
    if command == "synth":
        return _synth(result, head, root / "generated", starting, kept)
    return result


def _current_stack(generated: Path, settings: Settings, rebuild: bool) -> str | None:
    """cdk.tf.json's text if synth keeps it (not asked to rebuild, and the file is what these
    settings give: synth.is_current); None if synth renders it."""
    stack = None if rebuild else _read_text(generated / STACK_FILE)
    return stack if stack is not None and is_current(stack, settings) else None


def _synth(result: Result, head: Loaded, generated: Path, starting: CdktfStart | None, stack: str | None) -> Result:
    """stack: cdk.tf.json as read and found current before users.json was checked, or None."""
    assert head.roster is not None and head.settings is not None
    rows = render_rows(head.roster)
    if stack is None:
        try:
            if starting is not None:
                starting.wait()  # raises what starting cdktf raised
            stack = render_stack(head.settings)  # the only path that starts cdktf and Node
        except ModuleNotFoundError as gone:  # outside the venv: dependencies.STACK
            name = gone.name or str(gone)
            return _with(result, failure=Failure(missing=dependencies.STACK.get(name, name)))
        except (Exception, SystemExit) as error:  # not the input's fault: settings were valid.
            # A sys.exit() in cdktf is no success: exit 0 with nothing written would pass CI's
            # comparison of generated/ whatever was committed.
            return _with(result, failure=Failure(error=error))
    try:
        changed = module_dir.write(generated, {STACK_FILE: stack, ROWS_FILE: rows})
    except module_dir.WriteFailed as failed:
        return _with(result, failure=Failure(unwritten=tuple(failed.problems), half_written=failed.half_written))
    return _with(result, written=tuple(changed),
                 settings_notes=tuple(placeholder_notes(head.settings)) if STACK_FILE in changed else ())


def _with(result: Result, **changes: Any) -> Result:
    return replace(result, **changes)


def _read_text(path: Path) -> str | None:
    """The current file (module_dir.problems has refused anything but a regular file)."""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None  # absent or unreadable: synthesize it
