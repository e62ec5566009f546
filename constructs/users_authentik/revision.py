"""users.json (with settings.json) as committed at a git revision, validated exactly like
the working tree's copy (cli.load), for `main.py diff` and the removal guard.

A users.json that is absent at the revision is an empty directory (nobody existed yet);
so is a repository without commits, when the revision asked for is HEAD. Git is run with
the project root as working directory, so the project may live in a sub-folder of a repo.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

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


def _git(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "LC_ALL": "C", "GIT_OPTIONAL_LOCKS": "0"}
    return subprocess.run(["git", *args], cwd=root, capture_output=True, env=env)


def read_files(root: Path, ref: str) -> dict[str, bytes]:
    """The bytes of users.json and settings.json at ref (a file absent there is left out)."""
    def fail(problem: str, fix: str, *, no_git: bool = False) -> NoRevision:
        return NoRevision(Problem("users.json", f"(git, {ref})", problem, fix), no_git=no_git)

    if ref.startswith("-") or not ref.strip():
        raise fail(f'"{ref}" is not a git revision', "name a branch, tag or commit, e.g. --base origin/main")
    if shutil.which("git") is None:
        raise fail("git is not installed, so there is no committed version to compare with",
                   "install git, or run `python3 main.py check` to check users.json alone", no_git=True)
    found = _git(root, "rev-parse", "--show-prefix")
    if found.returncode:
        raise fail(f"{root} is not inside a git repository, so there is no committed version to compare with",
                   "run it in a clone of the repository, or use `python3 main.py check`", no_git=True)
    prefix = found.stdout.decode().strip()
    commit = _git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if commit.returncode:
        if ref == "HEAD":
            return {}  # no commit yet: everything is new
        raise fail(f'"{ref}" is not a commit in this repository',
                   "name an existing branch, tag or commit (`git log --oneline` lists commits; "
                   "in CI, fetch the base branch first)")
    sha = commit.stdout.decode().strip()
    listed = _git(root, "ls-tree", "--full-tree", "--name-only", sha, "--", *(prefix + name for name in FILES))
    present = {line[len(prefix):] for line in listed.stdout.decode().splitlines()}
    out = {}
    for name in FILES:
        if name in present:
            blob = _git(root, "cat-file", "blob", f"{sha}:{prefix}{name}")
            if blob.returncode:
                raise fail(f"git could not read {name}: {blob.stderr.decode().strip()}",
                           "check the repository with `git fsck`")
            out[name] = blob.stdout
    return out


def unchanged(root: Path, files: dict[str, bytes]) -> bool:
    """The working tree's users.json and settings.json are byte for byte the ones at ref."""
    return all(((root / name).read_bytes() if (root / name).is_file() else None) == files.get(name)
               for name in FILES)


def load_revision(root: Path, ref: str, files: dict[str, bytes] | None = None) -> tuple[Directory | None, list[Problem]]:
    """The validated model of users.json at ref, or the problems that make it invalid (each
    naming the file as `users.json at <ref>`). Raises NoRevision if there is no ref to read."""
    from .cli import Paths, load  # the very same load/check as the working tree

    files = read_files(root, ref) if files is None else files
    if "users.json" not in files:
        return EMPTY, []
    with tempfile.TemporaryDirectory(prefix="users-authentik-base-") as tmp:
        for name, data in files.items():
            (Path(tmp) / name).write_bytes(data)
        directory, _settings, problems = load(Paths(Path(tmp)))
    return directory, [dataclasses.replace(p, file=f"{p.file} at {ref}") for p in problems]
