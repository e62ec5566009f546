"""Command line: `python3 main.py [synth|check|diff|plan]` in the repo root.

synth (the default, and what `cdktf synth` runs): check users.json and settings.json, then
write generated/; cdk.tf.json only when its inputs changed (synth.py), unless --rebuild
(or USERS_AUTHENTIK_REBUILD=1, what CI sets) asks to synthesize it afresh. check: the same checks, writing nothing. diff [--base REF] [--format
text|markdown]: who is onboarded, offboarded, suspended, changed since REF (default HEAD).
plan [--base REF]: Terraform's own plan of the change, offline, against a stand-in provider.
Exit status: 0 done, 1 the input has problems (all listed, nothing written; a --base that
names no commit is one, for every command), 2 usage.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from . import module_dir
from .loading import Paths, read, validate
from .report import format_problems
from .settings import placeholder_notes


REBUILD_ENV = "USERS_AUTHENTIK_REBUILD"


def main(argv: list[str] | None = None, root: Path | None = None) -> int:
    parser = argparse.ArgumentParser(prog="main.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", nargs="?", default="synth", choices=["synth", "check", "diff", "plan"])
    parser.add_argument("--base", metavar="REF",
                        help="git revision to compare with: users.json for synth/check/diff, "
                             "generated/ as the applied state for plan (default: HEAD)")
    parser.add_argument("--format", choices=["text", "markdown"], help="diff only: output format (default: text)")
    parser.add_argument("--rebuild", action="store_true",
                        help=f"synth only: synthesize cdk.tf.json afresh even if its inputs did not change "
                             f"(also {REBUILD_ENV}=1; CI does)")
    args = parser.parse_args(argv)
    paths = Paths(root or Path.cwd())
    if args.command == "diff":
        from .preview import run_diff
        return run_diff(paths.root, args.base or "HEAD", args.format or "text")
    if args.format:
        parser.error("--format applies to `diff` only")
    if args.rebuild and args.command != "synth":
        parser.error("--rebuild applies to `synth` only")
    return _run(args, paths)


def _run(args: argparse.Namespace, paths: Paths) -> int:
    files = read(paths)
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

    from .synth import ROWS_FILE, STACK_FILE, is_current, render_rows, render_stack

    rows = render_rows(directory)
    stack = None if _rebuild(args) else _read_text(paths.generated / STACK_FILE)
    if stack is None or not is_current(stack, settings):
        try:
            stack = render_stack(settings)  # the only path that starts cdktf and Node
        except Exception as failure:  # not the input's fault: settings were valid
            sys.stderr.write(f"{type(failure).__name__}: {failure}\nsynthesizing generated/{STACK_FILE} "
                             "with cdktf failed (is Node.js 20 on PATH?); nothing was written to generated/.\n")
            return 1
    try:
        changed = module_dir.write(paths.generated, {STACK_FILE: stack, ROWS_FILE: rows})
    except module_dir.WriteFailed as failed:
        sys.stderr.write(module_dir.report(failed))
        return 1
    print(f"generated/: {', '.join(changed) + ' updated' if changed else 'up to date'} "
          f"({len(directory.users)} users, {len(directory.groups)} groups)")
    return 0


def _rebuild(args: argparse.Namespace) -> bool:
    # `cdktf synth` reads the manifest app.synth() writes to its outdir: always synthesize then.
    return args.rebuild or os.environ.get(REBUILD_ENV) == "1" or bool(os.environ.get("CDKTF_OUTDIR"))


def _read_text(path: Path) -> str | None:
    """The current file (module_dir.problems has refused anything but a regular file)."""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None  # absent or unreadable: synthesize it
