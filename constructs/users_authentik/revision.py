"""users.json (with settings.json) as committed at a git revision, loaded by the same code
as the working tree's copy (loading.py), for `main.py diff`, `main.py plan` and the removal
guard.

A users.json that is absent at the revision is an empty roster (nobody existed yet);
so is a repository without commits, when the revision asked for is HEAD. A users.json or
settings.json that git holds as a symbolic link (or anything but a plain file) is refused:
its blob is the link's target, not the file. Git is read by gitref.py, so the project may
live in a sub-folder of a repo. The blobs are loaded as they are (loading.Sources): nothing
is written to disk. Which revision the removal guard compares with is read_base's.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from .gitref import (MergeBase, Missing, NotAFile, Unreadable, ahead_of_upstream, ambiguous_refs, files_at, history, merge_base,
                     resolve)
from .loading import FILES, Loaded, Sources, build_unchecked, validate
from .model import Prior, Roster
from .text import visible_lines
from .problems import Problem
from .settings import Settings
from .settings_file import load_settings
EMPTY = Roster(users=(), groups=())


class NoRevision(Exception):
    """There is nothing at `ref` to compare with (no git, not a repo, unknown ref), or the
    files there are refused (not plain files, not readable by git)."""

    def __init__(self, problems: Problem | list[Problem], *, no_git: bool):
        self.problems = [problems] if isinstance(problems, Problem) else list(problems)
        super().__init__("; ".join(p.problem for p in self.problems))
        self.no_git = no_git  # not a git checkout at all (as opposed to a bad ref)


@dataclass(frozen=True)
class Revision:
    """users.json and settings.json at a revision, as far as they can be read as users."""

    roster: Roster | None  # None: the files cannot be read as users (`problems` say why)
    settings: Settings | None  # the revision's settings; None with roster None
    problems: list[Problem]  # what the checks find, each naming e.g. "users.json at HEAD"
    commit: str | None = None  # set by last_readable


def resolve_commit(root: Path, ref: str, file: str = "users.json") -> str | None:
    """The commit ref names; None if ref is HEAD and there is no commit yet. Else NoRevision,
    whose Problem names `file`, what is read at ref."""
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
    if sha is Missing.AMBIGUOUS:
        names = ambiguous_refs(root, ref)
        raise fail(f'"{ref}" names more than one ref ({", ".join(names) or "git says it is ambiguous"}), '
                   "and git silently takes the first: whoever may push a ref of that name (a tag) chooses the base",
                   f"name the one you mean in full, e.g. --base {names[-1] if names else 'refs/remotes/origin/main'}; "
                   "a tag named like a branch is best deleted")
    if sha is Missing.NO_SUCH_REF:
        raise fail(f'"{ref}" is not a commit in this repository',
                   "name an existing branch, tag or commit (`git log --oneline` lists commits; "
                   "in CI, fetch the base branch first)")
    return sha


def read_files(root: Path, ref: str) -> dict[str, bytes]:
    """The bytes of users.json and settings.json at ref (a file absent there is left out).
    NoRevision if there is no ref, or if either is not a plain file there (every one at once)."""
    sha = resolve_commit(root, ref)
    if sha is None:
        return {}  # no commit yet: everything is new
    try:
        return files_at(root, sha, FILES)
    except Unreadable as e:
        raise NoRevision(Problem("users.json", f"(git, {ref})", f"git could not read {e.name}: {e.detail}",
                                 "check the repository with `git fsck`"), no_git=False) from None
    except NotAFile as e:
        earlier = last_readable(root, ref)
        compare = (f"`python3 main.py check --base {earlier.commit[:12]}` (the newest commit where it "
                   "is a readable file) checks the repair" if earlier and earlier.commit else
                   "`git log -- users.json settings.json` shows its history")
        raise NoRevision([Problem(f"{name} at {ref}", "(file)",
                                  f"is {kind} in git, not a file, so there is nothing to compare with "
                                  "(and the checks refuse such a file in the working tree)",
                                  f"a maintainer restores {name} as a plain file and commits that repair "
                                  f"alone; {compare}")
                          for name, _path, kind in e.entries], no_git=False) from None


def load_revision(root: Path, ref: str, files: dict[str, bytes] | None = None, *,
                  check: bool = True, prior: Prior | None = None) -> Revision:
    """The model of users.json at ref (roster None: nothing to compare with) and its
    problems, each naming the file as `users.json at <ref>`. Raises NoRevision if there is
    no ref to read, or its files are refused. files: their bytes, if read already.

    A committed file passed the checks when it was committed, so its model is built without
    them (loading.build_unchecked): only a file it cannot be built from (committed past the
    checks) has none, and its problems say why. The removal guard and diff so compare with
    the same version. check=False (the guard, on every synth) skips the full check of a file
    that builds; diff lists its problems. prior: the working tree's users, whose unchanged
    entries the unchecked build takes as they are (model.Prior)."""
    files = read_files(root, ref) if files is None else files
    if "users.json" not in files:
        settings = load_settings(files.get("settings.json"))[0]  # nobody existed yet; the settings may, or not
        return Revision(EMPTY, settings or Settings.defaults(), [])
    sources = Sources(files)
    built = build_unchecked(sources, prior) if not check else None
    if built is not None:
        return Revision(*built, [])
    loaded = validate(sources)
    roster, settings = loaded.roster, loaded.settings
    if roster is None and check:
        built = build_unchecked(sources)  # committed with problems, but readable
        roster, settings = built if built is not None else (None, None)
    return Revision(roster, settings, [dataclasses.replace(p, file=f"{p.file} at {ref}") for p in loaded.problems])


def last_readable(root: Path, ref: str) -> Revision | None:
    """The newest version of users.json and settings.json on ref's first-parent line (ref's
    own included) that can be read as users, with its commit; None if there is none (there
    was never a users.json, or none that can be read: nobody was ever provisioned from
    one). What the removal guard compares with when the version at HEAD cannot be read,
    so that committing a broken, linked or deleted users.json cannot switch the guard off."""
    sha = resolve_commit(root, ref)
    if sha is None:
        return None
    for commit in history(root, sha, FILES):
        try:
            files = files_at(root, commit, FILES)
        except (NotAFile, Unreadable):
            continue
        if "users.json" not in files:
            continue  # deleted in this commit: the version before it is the one that was applied
        found = load_revision(root, commit, files, check=False)
        if found.roster is not None:
            return dataclasses.replace(found, commit=commit)
    return None


def default_base(root: Path) -> tuple[str, str]:
    """(revision, how messages name it) that synth, check and diff compare with when no
    --base is given: the merge-base of HEAD and the branch it will merge into
    (gitref.UPSTREAMS), "HEAD" when that is HEAD itself or there is none (docs/offboarding.md)."""
    return _named_base(root, merge_base(root))


def _named_base(root: Path, found: MergeBase | None) -> tuple[str, str]:
    """default_base from merge_base's answer."""
    if found is None:
        return "HEAD", "HEAD"
    upstream, commit, bases = found
    if commit == resolve_commit_or_none(root, "HEAD"):
        return "HEAD", "HEAD"
    if bases > 1:
        return commit, f"{commit[:12]} ({upstream} itself: HEAD and it have {bases} merge-bases)"
    return commit, f"{commit[:12]} (merge-base with {upstream})"


def criss_cross_note(found: MergeBase | None, command: str) -> str | None:
    """A note for `diff` and `plan` when HEAD and its upstream have several merge-bases."""
    if found is None or found.bases < 2:
        return None
    up = found.upstream
    return (f"note: HEAD and {up} have {found.bases} merge-bases (criss-cross merges): against one of them a "
            f"merge commit on this branch could hide a removal or an admin grant the merge makes, so {command} compares with "
            f"{up} itself, and what {up} changed since shows reversed. `git merge {up}` leaves one merge-base\n")


def detached_note(root: Path, command: str) -> str | None:
    """A note for `diff` and `plan` without --base when the default base is HEAD itself
    although HEAD is ahead of its upstream: a detached HEAD (a reviewer's `git checkout
    <commit>`), or a branch without a merge-base (a shallow clone, unrelated histories). Only
    uncommitted changes would show, and a pull request would look like no change."""
    found = ahead_of_upstream(root)
    if found is None:
        return None
    upstream, ahead, detached = found
    commits = f"{ahead} commit{'s' if ahead != 1 else ''}"
    verb = "is" if ahead == 1 else "are"
    why = ("HEAD is detached" if detached else
           f"HEAD has no commit in common with {upstream} here (a shallow clone, or unrelated histories)")
    return (f"note: {why}, so {command} compares the working tree with HEAD itself: the {commits} "
            f"HEAD has beyond {upstream} {verb} not shown. To review them: `{command} --base {upstream}`\n")


def review_base(root: Path, base: str | None, command: str) -> tuple[str, str, str | None]:
    """(revision, how messages name it, a note for stderr or None) for `diff` and `plan`:
    --base as given, else default_base, with detached_note when there is no merge-base."""
    if base is not None:  # "" too: refused where it is read, as check refuses it
        return base, base, None
    found = merge_base(root)
    ref, label = _named_base(root, found)
    # Only without a merge-base can HEAD be ahead of its upstream unseen (on main it is HEAD).
    note = detached_note(root, command) if found is None else criss_cross_note(found, command)
    # The notes name the upstream, origin/HEAD by its branch, which the remote names: git takes a
    # bidirectional override or a line separator in a ref name (a fork a reviewer cloned).
    return ref, label, note and visible_lines(note.rstrip("\n")) + "\n"


def resolve_commit_or_none(root: Path, ref: str) -> str | None:
    try:
        return resolve_commit(root, ref)
    except NoRevision:
        return None


@dataclass(frozen=True)
class Base:
    """What a change is compared with (read_base), for the removal guard to judge: git is
    read here, the guard only judges."""

    ref: str | None  # as asked; None: the default base, where nothing to compare with is fine
    name: str  # how messages name it
    at: Revision | None = None  # the files at ref; None when missing or unchanged
    earlier: Revision | None = None  # the newest readable version, when `at` cannot be read or is deleted
    missing: NoRevision | None = None  # there is no ref to read, or its files are refused
    unchanged: bool = False  # the change's files are byte for byte those at ref: nothing to compare


def read_base(root: Path, ref: str | None, head: Loaded) -> Base:
    """The base of the removal guard: --base REF, else default_base. A change that loads and
    whose files are byte for byte the base's (a clean checkout, CI) is not compared: `at` is
    then not loaded. When the version at ref cannot be read as users, or deletes users.json
    where an earlier commit had one, `earlier` is the newest that can (last_readable)."""
    target, name = (ref, ref) if ref is not None else default_base(root)
    try:
        files = read_files(root, target)
    except NoRevision as missing:
        return Base(ref, name, missing=missing)
    if head.roster is not None and all(head.sources.files.get(f) == files.get(f) for f in FILES):
        return Base(ref, name, unchanged=True)
    # The change's own users, for the entries it leaves as they are (most of them).
    prior = Prior.of(head.document, head.roster, head.settings) if head.roster and head.settings else None
    at = load_revision(root, name, files, check=False, prior=prior)
    deleted = "users.json" not in files  # or never there: last_readable tells
    earlier = last_readable(root, target) if at.roster is None or deleted else None
    return Base(ref, name, at, earlier)
