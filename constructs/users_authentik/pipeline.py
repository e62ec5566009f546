"""synth, check and plan as one pipeline: the working tree's files -> a Result.

Stages, each only on what passed the one before:
  load (loading.py: users.json + settings.json, schema and meaning)
  -> guard (guard.py over two loaded results: revision.read_base's and the working tree's;
     not for plan, which shows removals to a reviewer instead of refusing them)
  -> generated/ and around it (module_dir.py: only what synth writes; repo_checks.py: what
     could change the bytes applied, or what plan runs)
  -> synth only: render and write generated/ (cdk.tf.json only when its inputs changed).
cdk.tf.json depends on settings.json alone, so when synth will rebuild it, it is built on one
background thread from the moment settings.json is valid, while the main thread checks
users.json (the main thread never calls jsii); it is written only if every check passes.
Nothing is printed here: report.py shows the Result, cli.py turns it into an exit status.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

from . import dependencies, guard, module_dir, repo_checks, revision
from .init import stale_schema_notes
from .loading import Loaded, read_folder, read_settings, validate
from .result import Failure, Result
from .settings import Settings
from .settings_file import placeholder_notes
from .synth import MODULE_FILES, ROWS_FILE, STACK_FILE, build_stack, finish_stack, is_current, render_rows

# cdk.tf.json as it is (up to date), or its build on the background thread: (text, App).
Stack = str | Future[tuple[str, Any]]
# One thread for every build in this process, so that jsii is never called from two threads at
# once, even when a run that found problems returned before its build ended.
_BUILDER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stack")


def run(command: str, root: Path, base: str | None = None, *, rebuild: bool = False) -> Result:
    """command: synth, check or plan. base: --base for the removal guard (None: its default).
    rebuild: synthesize cdk.tf.json even if its inputs did not change. root: a directory
    (cli.py refuses -C naming none)."""
    sources = read_folder(root)
    settings = read_settings(sources)
    generated = root / "generated"
    around = module_dir.problems(generated, MODULE_FILES, leftovers=command == "check")
    stack = None
    if command == "synth" and settings[0] is not None and not around:
        stack = _stack(settings[0], generated, rebuild)
    head = validate(sources, settings)
    problems, notes = list(head.problems), []
    if command != "plan":  # compares with the last commit (or --base): docs/offboarding.md
        problems, notes = guard.guard(revision.read_base(root, base, head), head)
    problems += around
    problems += repo_checks.problems(root, MODULE_FILES)
    if problems:  # a stack being built is left unused: nothing is written
        return Result(command, root, problems=tuple(problems), guard_notes=tuple(notes))
    result = Result(command, root, head.roster, head.settings, guard_notes=tuple(notes),
                    schema_notes=tuple(stale_schema_notes(root)) if command != "plan" else ())
    if command == "check":  # synth says it when it writes the brand, not on every commit
        return _with(result, settings_notes=tuple(placeholder_notes(head.settings)))
    if command == "synth":
        assert stack is not None
        return _synth(result, head, generated, stack)
    return result


def _stack(settings: Settings, generated: Path, rebuild: bool) -> Stack:
    """cdk.tf.json's text if it is up to date, else its build, started now (the only path
    that starts cdktf and Node)."""
    current = None if rebuild else _read_text(generated / STACK_FILE)
    if current is not None and is_current(current, settings):
        return current
    return _BUILDER.submit(build_stack, settings)


def _synth(result: Result, head: Loaded, generated: Path, stack: Stack) -> Result:
    assert head.roster is not None and head.settings is not None
    rows = render_rows(head.roster)
    if not isinstance(stack, str):
        try:
            stack = finish_stack(*stack.result())
        except ModuleNotFoundError as gone:  # outside the venv: dependencies.STACK
            name = gone.name or str(gone)
            return _with(result, failure=Failure(missing=dependencies.STACK.get(name, name)))
        except Exception as error:  # not the input's fault: settings were valid
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
