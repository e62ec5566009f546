"""users.json (with settings.json) as committed at a git revision, loaded by the same code
as the working tree's copy (loading.py), for `main.py diff` and the removal guard.

A users.json that is absent at the revision is an empty directory (nobody existed yet);
so is a repository without commits, when the revision asked for is HEAD. Git is read by
gitref.py, so the project may live in a sub-folder of a repo.
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

from .gitref import Missing, Unreadable, files_at, resolve
from .loading import Paths, build_unchecked, load
from .model import Directory
from .problems import Problem

FILES = ("users.json", "settings.json")
EMPTY = Directory(users=(), groups=())


class NoRevision(Exception):
    """There is nothing at `ref` to compare with (no git, not a repo, unknown ref)."""

    def __init__(self, problem: Problem, *, no_git: bool):
        super().__init__(problem.problem)
        self.problem = problem
        self.no_git = no_git  # not a git checkout at all (as opposed to a bad ref)


def resolve_commit(root: Path, ref: str, file: str = "users.json") -> str | None:
    """The commit ref names; None if ref is HEAD and there is no commit yet. Else NoRevision,
    whose Problem names `file`, what is read at ref (plan.py reads generated/)."""
    def fail(problem: str, fix: str, *, no_git: bool = False) -> NoRevision:
        return NoRevision(Problem(file, f"(git, {ref})", problem, fix), no_git=no_git)

    sha = resolve(root, ref)
    if sha is Missing.NOT_A_REVISION:
        raise fail(f'"{ref}" is not a git revision', "name a branch, tag or commit, e.g. --base origin/main")
    if sha is Missing.NO_GIT:
        raise fail("git is not installed, so there is no committed version to compare with",
                   "install git, or run `python3 main.py check` to check users.json alone", no_git=True)
    if sha is Missing.NOT_A_REPO:
        raise fail(f"{root} is not inside a git repository, so there is no committed version to compare with",
                   "run it in a clone of the repository, or use `python3 main.py check`", no_git=True)
    if sha is Missing.NO_COMMITS:
        return None
    if sha is Missing.NO_SUCH_REF:
        raise fail(f'"{ref}" is not a commit in this repository',
                   "name an existing branch, tag or commit (`git log --oneline` lists commits; "
                   "in CI, fetch the base branch first)")
    return sha


def read_files(root: Path, ref: str) -> dict[str, bytes]:
    """The bytes of users.json and settings.json at ref (a file absent there is left out)."""
    sha = resolve_commit(root, ref)
    if sha is None:
        return {}  # no commit yet: everything is new
    try:
        return files_at(root, sha, FILES)
    except Unreadable as e:
        raise NoRevision(Problem("users.json", f"(git, {ref})", f"git could not read {e.name}: {e.detail}",
                                 "check the repository with `git fsck`"), no_git=False) from None


def unchanged(root: Path, files: dict[str, bytes]) -> bool:
    """The working tree's users.json and settings.json are byte for byte the ones at ref."""
    return all(((root / name).read_bytes() if (root / name).is_file() else None) == files.get(name)
               for name in FILES)


def load_revision(root: Path, ref: str, files: dict[str, bytes] | None = None, *,
                  check: bool = True) -> tuple[Directory | None, list[Problem]]:
    """The model of users.json at ref (None: nothing to compare with) and its problems, each
    naming the file as `users.json at <ref>`. Raises NoRevision if there is no ref to read.

    A committed file passed the checks when it was committed, so its model is built without
    them (loading.build_unchecked): only a file it cannot be built from (committed past the
    checks) has none, and its problems say why. The removal guard and diff so compare with
    the same version. check=False (the guard, on every synth) skips the full check of a file
    that builds (0.06 s instead of 0.13 s at 10,000 users); diff lists its problems."""
    files = read_files(root, ref) if files is None else files
    if "users.json" not in files:
        return EMPTY, []
    with tempfile.TemporaryDirectory(prefix="users-authentik-base-") as tmp:
        for name, data in files.items():
            (Path(tmp) / name).write_bytes(data)
        paths = Paths(Path(tmp))
        if not check:
            directory = build_unchecked(paths)
            if directory is not None:
                return directory, []
        directory, _settings, problems = load(paths)
        if directory is None and check:
            directory = build_unchecked(paths)  # committed with problems, but readable
    return directory, [dataclasses.replace(p, file=f"{p.file} at {ref}") for p in problems]
