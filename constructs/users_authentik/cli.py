"""Command line: `users-authentik [-C DIR] [COMMAND] [options]` (in a checkout of this
repository also `python3 main.py ...`, the app `cdktf synth` runs).

synth (the default, and what `cdktf synth` runs) rewrites cdk.tf.json only when its inputs
changed (synth.py), unless --rebuild (or USERS_AUTHENTIK_REBUILD=1, what CI sets) asks to
synthesize it afresh.

DIR is the directory holding users.json, settings.json and generated/ (default: the current
one); in a fleet repository e.g. flux-apps/users. It may be a sub-folder of a git
repository: the removal guard, diff and plan read git relative to it.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from pathlib import Path

from . import __version__, dependencies
from .cdktf_start import CdktfStart

DEFAULT = "synth"  # what `users-authentik` with no command does (and `cdktf synth` runs)
EXIT_CODES = ("exit status: 0 done; 1 the input has problems (all are listed, nothing is written; "
              "a --base that names no commit is one); 2 usage error")
COMMANDS = {
    "synth": ("check users.json and settings.json, then write generated/ (the default command)",
              "Check users.json and settings.json (schema, meaning, the removal guard against "
              "--base), then write generated/: the Terraform module tofu-controller applies. "
              "Nothing is written if there is any problem."),
    "check": ("the same checks as synth, writing nothing",
              "The checks synth makes, writing nothing; also refuses files in generated/ that "
              "synth would not write."),
    "diff": ("who is onboarded, offboarded, suspended or changed since --base",
             "Compare users.json and settings.json with their version at --base: who is "
             "onboarded, offboarded, suspended, changed. Writes nothing."),
    "plan": ("Terraform's plan of the change, offline, against a stand-in provider",
             "Terraform's own plan of the change: --base's generated/ as the applied state, "
             "this users.json planned against it, offline, with the stand-in provider "
             "(users_authentik.standin; needs the `plan` extra). Exit status 2 also when terraform/tofu "
             "or the stand-in's packages are missing."),
    "init": ("scaffold a fleet directory: users.json, settings.json, the Flux layers",
             "Write a new data directory (DIR: users.json with one admin, settings.json, the "
             "JSON Schemas for editors, the Flux app layer) and the cluster layer "
             "(CLUSTERS/CLUSTER/apps/users-authentik), then print the next steps. Refuses to "
             "overwrite a file; --schemas only refreshes the schema copies in DIR."),
}

REBUILD_ENV = "USERS_AUTHENTIK_REBUILD"


def build_parser(prog: str = "users-authentik") -> argparse.ArgumentParser:
    directory = argparse.ArgumentParser(add_help=False)
    directory.add_argument("-C", "--dir", metavar="DIR", type=Path, default=argparse.SUPPRESS,
                           help="the directory holding users.json, settings.json and generated/ "
                                "(default: the current directory)")
    parser = argparse.ArgumentParser(
        prog=prog, parents=[directory], description=__doc__.split("\n\n")[0].replace("\n", " "),
        epilog=f"With no command, {prog} runs `{DEFAULT}`. {EXIT_CODES}. "
               f"`{prog} COMMAND --help` shows a command's options.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    sub = {name: commands.add_parser(name, parents=[directory], help=short, description=long,
                                     epilog=EXIT_CODES if name != "init" else
                                     "exit status: 0 written; 1 a file exists already or a value is "
                                     "invalid (nothing is written); 2 usage error")
           for name, (short, long) in COMMANDS.items()}
    for name in ("synth", "check"):
        sub[name].add_argument("--base", metavar="REF",
                               help="git revision whose users.json the removal guard compares with "
                                    "(default: on a branch, its merge-base with origin/HEAD, else origin/main or main; else HEAD; "
                                    "with no commit or no git at all, the guard has nothing to compare "
                                    "with and passes)")
    sub["synth"].add_argument("--rebuild", action="store_true",
                              help=f"synthesize cdk.tf.json afresh even if its inputs did not change "
                                   f"(also {REBUILD_ENV}=1; CI does)")
    sub["diff"].add_argument("--base", metavar="REF",
                             help="git revision to compare with (default: the removal guard's, the "
                                  "merge-base of HEAD and origin/HEAD, else origin/main or main, on a branch; else HEAD)")
    sub["diff"].add_argument("--format", choices=["text", "markdown", "json", "github"], default="text",
                             help="output format; markdown for a pull request summary, json for scripts, "
                                  "github: problems as annotations on their lines (default: %(default)s)")
    sub["check"].add_argument("--format", choices=["text", "json", "github"], default="text",
                              help="output format: json for scripts, github: each problem as a GitHub "
                                   "annotation on its line of users.json (default: %(default)s)")
    sub["plan"].add_argument("--base", metavar="REF",
                             help="git revision whose users.json and settings.json are the applied state "
                                  "(default: as diff's, the merge-base of HEAD and origin/HEAD, origin/main or "
                                  "main; HEAD itself on that branch)")
    sub["plan"].add_argument("--format", choices=["text", "markdown"], default="text",
                             help="output format; markdown: the plan as a code block under a heading, for a "
                                  "job summary (problems and errors still go to stderr as text) "
                                  "(default: %(default)s)")
    init = sub["init"]
    init.add_argument("--cluster", metavar="NAME",
                      help="the cluster's directory name under CLUSTERS; required unless --schemas")
    init.add_argument("--clusters", metavar="CLUSTERS", type=Path, default=Path("flux-clusters"),
                      help="the folder of the cluster directories, from the repository's root "
                           "(default: %(default)s)")
    init.add_argument("--admin", metavar="USERNAME", default="admin",
                      help="username of the first admin in users.json (default: %(default)s)")
    init.add_argument("--name", default="Admin", help="the admin's display name (default: %(default)s)")
    init.add_argument("--email", default="admin@example.com", help="the admin's email (default: %(default)s)")
    init.add_argument("--domain", default="auth.example.com",
                      help="brand.domain: the host name people sign in at (default: %(default)s, "
                           "a placeholder that synth points out until it is set)")
    init.add_argument("--schemas", action="store_true",
                      help="only write this version's users.schema.json and settings.schema.json "
                           "into DIR (after an upgrade), overwriting them")
    return parser


def _with_default_command(argv: list[str]) -> list[str]:
    """argv with `synth` inserted where the command would be, if none is named."""
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in ("-C", "--dir"):
            i += 2
        elif arg.startswith("--dir=") or (arg.startswith("-C") and len(arg) > 2):
            i += 1
        else:
            break
    if i < len(argv) and (argv[i] in COMMANDS or argv[i] in ("-h", "--help", "--version")):
        return argv
    return [*argv[:i], DEFAULT, *argv[i:]]


def console(prog: str | None = None) -> int:
    """The process's entry point (main.py, `python -m users_authentik`, the console script):
    main(), and then the process ends."""
    code = main(prog=prog)
    # What the run built is alive until the interpreter ends, and then CPython's final
    # collections would walk all of it, cdktf's classes and 10,000 users' objects, to free
    # what exiting frees anyway (0.1-0.15 s: bench/README.md). Frozen, they are left alone.
    gc.freeze()
    return code


def main(argv: list[str] | None = None, root: Path | None = None, *, prog: str | None = None) -> int:
    """root: the data directory when no -C is given (tests); else the current directory."""
    # jsii prints an end-of-life banner on old Node majors (a comma-separated list silences
    # them); it would otherwise land in every pre-commit run.
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "18,20")
    args = build_parser(prog or Path(sys.argv[0]).name).parse_args(_with_default_command(list(sys.argv[1:] if argv is None else argv)))
    # A rebuild renders cdk.tf.json whatever settings.json says: cdktf starts before the
    # rest of the package is even imported (cdktf_start.py). Without one, synth decides later.
    collecting = gc.isenabled()
    # One run of a command is a batch: what it builds (the parsed users.json, the model, cdktf's
    # classes) lives until it ends, and reference counting frees the rest. The cyclic collector
    # would only walk all of it again and again to free next to nothing (bench/README.md).
    gc.disable()
    starting = None
    try:
        starting = CdktfStart() if args.command == "synth" and _rebuild(args) else None
        return _start(args, root, starting)
    except ModuleNotFoundError as gone:  # a lazy import dependencies.NEEDS does not list
        sys.stderr.write(dependencies.message([gone.name or str(gone)]))
        return 2
    finally:
        if starting is not None:
            starting.join()
        if collecting:  # a caller in the same process (the tests, init's own synth) gets it back
            gc.enable()


def _start(args: argparse.Namespace, root: Path | None, starting: CdktfStart | None) -> int:
    absent = dependencies.missing(args.command)
    if absent:
        sys.stderr.write(dependencies.message(absent))
        return 2
    root = getattr(args, "dir", None) or root or Path.cwd()
    if args.command == "init":
        from .init import run_init  # init writes the scaffold, then this synth writes its generated/
        return run_init(root, args, synth=lambda data: main(["synth", "-C", str(data)]))
    from . import report
    from .loading import folder_problem
    refused = folder_problem(root)
    if refused is not None:  # whatever the format: there is no users.json to locate it in
        sys.stderr.write(report.format_problems([refused]))
        return 1
    if args.command == "diff":
        from .diff import run_diff
        return run_diff(root, args.base, args.format)
    from . import pipeline
    result = pipeline.run(args.command, root, args.base, rebuild=_rebuild(args), starting=starting)
    if args.command == "plan" and result.ok:  # offline plan against a git ref: plan.py
        from . import plan
        return plan.main(root, result.roster, result.settings, base=args.base, fmt=args.format)
    # `cdktf synth` (CDKTF_OUTDIR set) shows every stderr line of the app as an [ERROR].
    return report.show(result, getattr(args, "format", "text"), notes_to_stdout=bool(os.environ.get("CDKTF_OUTDIR")))


def _rebuild(args: argparse.Namespace) -> bool:
    # `cdktf synth` reads the manifest app.synth() writes to its outdir: always synthesize then.
    return (getattr(args, "rebuild", False) or os.environ.get(REBUILD_ENV) == "1"
            or bool(os.environ.get("CDKTF_OUTDIR")))
