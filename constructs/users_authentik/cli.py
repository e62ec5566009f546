"""Command line: `python3 main.py [synth|check|diff|plan]` in the repo root.

synth (the default, and what `cdktf synth` runs): check users.json and settings.json, then
write generated/. check: the same checks, writing nothing. diff [--base REF] [--format
text|markdown]: who is onboarded, offboarded, suspended, changed since REF (default HEAD).
plan [--base REF]: Terraform's own plan of the change, offline, against a stand-in provider.
Exit status: 0 done, 1 the input has problems (all listed, nothing written; a --base that
names no commit is one, for every command), 2 usage.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import module_dir, parallel
from .loading import Paths, SettingsRead, read, read_settings, validate
from .report import format_problems
from .settings import placeholder_notes


def main(argv: list[str] | None = None, root: Path | None = None, *, fork_stack: bool = False) -> int:
    """fork_stack (main.py): synthesize cdk.tf.json in a forked child meanwhile (parallel.py)."""
    parser = argparse.ArgumentParser(prog="main.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", nargs="?", default="synth", choices=["synth", "check", "diff", "plan"])
    parser.add_argument("--base", metavar="REF",
                        help="git revision to compare with: users.json for synth/check/diff, "
                             "generated/ as the applied state for plan (default: HEAD)")
    parser.add_argument("--format", choices=["text", "markdown"], help="diff only: output format (default: text)")
    args = parser.parse_args(argv)
    paths = Paths(root or Path.cwd())
    if args.command == "diff":
        from .preview import run_diff
        return run_diff(paths.root, args.base or "HEAD", args.format or "text")
    if args.format:
        parser.error("--format applies to `diff` only")
    child, settings_read = None, None
    if args.command == "synth" and fork_stack and parallel.AVAILABLE and "jsii" not in sys.modules:
        settings_read = read_settings(paths)  # read once: for the child, and for the checks
        child = parallel.StackInChild(settings_read[0]) if settings_read[0] is not None else None
    try:
        return _run(args, paths, child, settings_read)
    finally:
        if child is not None:
            child.close()


def _run(args: argparse.Namespace, paths: Paths, child: parallel.StackInChild | None,
         settings_read: SettingsRead | None) -> int:
    files = read(paths, settings_read)
    directory, settings, problems = validate(files)
    if args.command != "plan":  # plan shows removals to a reviewer instead of refusing them
        from .guard import guard  # compares with the last commit (or --base): docs/offboarding.md
        problems, notes = guard(paths.root, args.base, directory, settings, problems, files.document)
        sys.stderr.writelines(note + "\n" for note in notes)
    # generated/ holds exactly what synth writes: anything else would reach the runner (module_dir.py).
    from .synth import MODULE_FILES
    problems = problems + module_dir.problems(paths.generated, MODULE_FILES, leftovers=args.command == "check")
    if problems:
        sys.stderr.write(format_problems(problems))
        return 1
    if args.command in ("synth", "check"):  # what commits run; plan shows Terraform's view only
        sys.stderr.writelines(note + "\n" for note in placeholder_notes(settings))
    if args.command == "check":
        print(f"users.json: {len(directory.users)} users, {len(directory.groups)} groups: OK")
        return 0
    if args.command == "plan":  # offline plan preview against a git ref: plan.py
        from . import plan
        return plan.main(paths.root, directory, settings, base=args.base or "HEAD")

    from .synth import ROWS_FILE, STACK_FILE, render_rows, render_stack

    rows = render_rows(directory)  # while the child, if any, is still at work
    try:
        stack = child.result() if child is not None else render_stack(settings)
    except parallel.StackFailed as failure:
        sys.stderr.write(f"{failure}\nsynthesizing generated/{STACK_FILE} failed; nothing was written to generated/.\n")
        return 1
    try:
        changed = module_dir.write(paths.generated, {STACK_FILE: stack, ROWS_FILE: rows})
    except module_dir.WriteFailed as failed:
        sys.stderr.write(module_dir.report(failed))
        return 1
    print(f"generated/: {', '.join(changed) + ' updated' if changed else 'up to date'} "
          f"({len(directory.users)} users, {len(directory.groups)} groups)")
    return 0
