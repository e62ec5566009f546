"""Command line: `python3 main.py [synth|check|diff|plan]` in the repo root.

synth (the default, and what `cdktf synth` runs): check users.json and settings.json, then
write generated/. check: the same checks, writing nothing. diff [--base REF] [--format
text|markdown]: who is onboarded, offboarded, suspended, changed since REF (default HEAD).
plan [--base REF]: Terraform's own plan of the change, offline, against a stand-in provider.
Exit status: 0 done, 1 the input has problems (all listed, nothing written), 2 usage.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from . import parallel
from .check import check_users
from .model import Directory, build_directory
from .parse import load_json
from .problems import Problem
from .report import format_problems
from .settings import Settings, load_settings


@dataclass(frozen=True)
class Paths:
    root: Path

    @property
    def users(self) -> Path:
        return self.root / "users.json"

    @property
    def settings(self) -> Path:
        return self.root / "settings.json"

    @property
    def generated(self) -> Path:
        return self.root / "generated"


def load(paths: Paths) -> tuple[Directory | None, Settings | None, list[Problem]]:
    """users.json + settings.json -> validated model, or every problem in both files."""
    settings, problems = load_settings(paths.settings)
    data, parse_problems = load_json(paths.users, "users.json")
    problems += parse_problems
    if data is not None:
        problems += check_users(data, settings or Settings.defaults(), "users.json")
    if problems or settings is None:
        return None, None, problems
    return build_directory(data, settings), settings, []


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
        return run_diff(paths.root, args.base or "HEAD", args.format or "text", load)
    if args.format:
        parser.error("--format applies to `diff` only")
    child = None
    if args.command == "synth" and fork_stack and parallel.AVAILABLE and "jsii" not in sys.modules:
        settings, _ = load_settings(paths.settings)
        child = parallel.StackInChild(settings) if settings is not None else None
    try:
        return _run(args, paths, child)
    finally:
        if child is not None:
            child.close()


def _run(args: argparse.Namespace, paths: Paths, child: parallel.StackInChild | None) -> int:
    directory, settings, problems = load(paths)
    if args.command != "plan":  # plan shows removals to a reviewer instead of refusing them
        from .guard import guard  # compares with the last commit (or --base): docs/offboarding.md
        problems, notes = guard(paths.root, args.base, directory, settings, problems)
        sys.stderr.writelines(note + "\n" for note in notes)
    if problems:
        sys.stderr.write(format_problems(problems))
        return 1
    if args.command == "check":
        print(f"users.json: {len(directory.users)} users, {len(directory.groups)} groups: OK")
        return 0
    if args.command == "plan":  # offline plan preview against a git ref: plan.py
        from . import plan
        return plan.main(paths.root, directory, settings, base=args.base or "HEAD")

    from .synth import ROWS_FILE, STACK_FILE, render_rows, render_stack, write_module

    rows = render_rows(directory)  # while the child, if any, is still at work
    try:
        stack = child.result() if child is not None else render_stack(settings)
    except parallel.StackFailed as failure:
        sys.stderr.write(f"{failure}\nsynthesizing generated/{STACK_FILE} failed; nothing was written to generated/.\n")
        return 1
    changed = write_module(paths.generated, {STACK_FILE: stack, ROWS_FILE: rows})
    print(f"generated/: {', '.join(changed) + ' updated' if changed else 'up to date'} "
          f"({len(directory.users)} users, {len(directory.groups)} groups)")
    return 0
