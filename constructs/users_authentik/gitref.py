"""Files as committed at a git ref: the one place that runs git, for revision.py (users.json
and settings.json, for `main.py diff` and the removal guard) and plan.py (generated/).

Git runs with the project root as working directory, so the project may live in a sub-folder
of a repository: names are relative to the project root, as git reads paths given to it and
lists them back. Each question is one git process where one can answer it (every hook run
pays for each process: bench/README.md): a ref and whether there is a repository at all, the
blobs of several files (`cat-file --batch`), which upstreams exist (`for-each-ref`).
"""

from __future__ import annotations

import enum
import os
import subprocess
from pathlib import Path
from typing import NamedTuple, Sequence


class Missing(enum.Enum):
    """Why a ref names no commit."""

    NO_GIT = "git is not installed"
    NOT_A_REPO = "not inside a git repository"
    NO_COMMITS = "HEAD has no commit yet"
    NOT_A_REVISION = "empty, or looks like an option"
    NO_SUCH_REF = "no such commit"
    AMBIGUOUS = "names more than one ref"


class Unreadable(Exception):
    """Git listed a file at the commit but could not read it (a damaged repository)."""

    def __init__(self, name: str, path: str, detail: str):
        super().__init__(f"{path}: {detail}")
        self.name, self.path, self.detail = name, path, detail  # path: from the repository's top


NOT_INSTALLED = 127  # run_git's returncode when there is no git to run (as a shell's)


def run_git(root: Path, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    """`git *args` in root; output as bytes, a failure is only a non-zero returncode
    (NOT_INSTALLED if git is not on PATH)."""
    env = {**os.environ, "LC_ALL": "C", "GIT_OPTIONAL_LOCKS": "0"}
    try:
        return subprocess.run(["git", *args], cwd=root, input=stdin, capture_output=True, env=env, timeout=60)
    except FileNotFoundError:
        return subprocess.CompletedProcess(["git", *args], NOT_INSTALLED, b"", b"git is not installed")


def resolve(root: Path, ref: str) -> str | Missing:
    """The full id of the commit `ref` names in root's repository, or why there is none."""
    if ref.startswith("-") or not ref.strip():
        return Missing.NOT_A_REVISION  # git would take "-..." as an option
    # rev-parse prints the prefix line before it looks the ref up, and outside a repository
    # stops before printing anything: no output means no repository, whatever the ref.
    # A short name that is both a tag and a branch resolves to the tag, silently with --quiet:
    # a tag `origin/main` pushed by a contributor would be the base. git warns of it (the
    # warning forced on here: it is a setting); such a name is refused (ambiguous_refs).
    found = run_git(root, "-c", "core.warnAmbiguousRefs=true", "rev-parse", "--show-prefix", "--verify",
                    f"{ref}^{{commit}}")
    if found.returncode == NOT_INSTALLED:
        return Missing.NO_GIT
    if not found.stdout:
        return Missing.NOT_A_REPO
    if found.returncode:
        return Missing.NO_COMMITS if ref == "HEAD" else Missing.NO_SUCH_REF
    if b" is ambiguous" in found.stderr:
        return Missing.AMBIGUOUS
    return found.stdout.decode().rstrip("\n").rsplit("\n", 1)[-1]  # "<prefix>\n<id>\n"


def ambiguous_refs(root: Path, ref: str) -> list[str]:
    """The full names a short ref stands for, as git looks them up (git-rev-parse(1),
    SPECIFYING REVISIONS), for the message when it is more than one."""
    name = ref.split("^", 1)[0].split("~", 1)[0].split("@{", 1)[0]
    candidates = [f"refs/{name}", f"refs/tags/{name}", f"refs/heads/{name}", f"refs/remotes/{name}",
                  f"refs/remotes/{name}/HEAD"]
    listed = run_git(root, "for-each-ref", "--format=%(refname)", *candidates)
    found = set(listed.stdout.decode("utf-8", "replace").split())
    return [c for c in candidates if c in found]


REGULAR = ("100644", "100755")  # git's modes of a plain file
_KINDS = {"120000": "a symbolic link", "160000": "a submodule", "040000": "a folder"}


class NotAFile(Exception):
    """Entries at the commit that are not plain files (a symbolic link, a submodule, a
    folder): their bytes are not the file's content, so they are never read as one."""

    def __init__(self, entries: list[tuple[str, str, str]]):
        super().__init__(", ".join(f"{path}: {kind}" for _, path, kind in entries))
        self.entries = entries  # (name, path from the repository's top, what it is)


def files_at(root: Path, sha: str, where: str | Sequence[str], *,
             endings: tuple[str, ...] = ("",)) -> dict[str, bytes]:
    """The bytes of files at commit sha, by name: if `where` is a str, the entries directly in
    that directory of the project (none if it is absent), else those of the names `where`
    that exist; either way only names with one of `endings`. NotAFile (all of them at once)
    if some are not plain files, Unreadable if git cannot read one (a damaged repository)."""
    base = f"{where}/" if isinstance(where, str) else ""
    # Without --full-tree, ls-tree reads the paths as relative to root and lists them so.
    listed = run_git(root, "ls-tree", "-z", sha, "--", *([base] if isinstance(where, str) else where))
    files, others = [], []
    for line in filter(None, listed.stdout.decode().split("\0")):
        meta, path = line.split("\t", 1)  # "<mode> <type> <object>\t<path>"
        (mode, _, blob), name = meta.split(" ", 2), path[len(base):]
        if not name.endswith(endings):
            continue
        if mode not in REGULAR:
            others.append((name, path, _KINDS.get(mode, f"git mode {mode}")))
        else:
            files.append((name, path, blob))
    read, failure = _blobs(root, [blob for _, _, blob in files])
    if len(read) < len(files):
        name, path, _ = files[len(read)]
        raise Unreadable(name, _prefix(root) + path, failure)
    if others:
        raise NotAFile([(name, _prefix(root) + path, kind) for name, path, kind in others])
    return {name: data for (name, _, _), data in zip(files, read)}


def _blobs(root: Path, blobs: list[str]) -> tuple[list[bytes], str]:
    """The content of each blob, in order, by one `git cat-file --batch`, up to the first one
    git cannot read (then also why)."""
    if not blobs:
        return [], ""
    batch = run_git(root, "cat-file", "--batch", stdin="".join(f"{blob}\n" for blob in blobs).encode())
    out, at, data = [], 0, batch.stdout
    for blob in blobs:
        end = data.find(b"\n", at)
        header = data[at:end].decode("utf-8", "replace").split(" ") if end >= 0 else []
        # "<object> blob <size>\n<content>\n", or "<object> missing\n"
        whole = len(header) == 3 and header[:2] == [blob, "blob"] and header[2].isdigit()
        size = int(header[2]) if whole else 0
        if not whole or end + 1 + size >= len(data):  # missing, or git stopped (a damaged object)
            why = header[1] if len(header) == 2 else "could not be read"
            stderr = batch.stderr.decode("utf-8", "replace").strip()
            return out, f"object {blob}: {why}" + (f" ({stderr})" if stderr else "")
        out.append(data[end + 1:end + 1 + size])
        at = end + 1 + size + 1
    return out, ""


def _prefix(root: Path) -> str:
    """root's path from the top of its repository, e.g. "infra/users/" (for messages)."""
    return run_git(root, "rev-parse", "--show-prefix").stdout.decode().rstrip("\n")


def history(root: Path, sha: str, names: Sequence[str]) -> list[str]:
    """The commits on sha's first-parent line that changed any of `names` (files of the
    project), newest first: the versions those files had, one per commit."""
    listed = run_git(root, "rev-list", "--first-parent", sha, "--", *names)
    return listed.stdout.decode().split() if listed.returncode == 0 else []


# Where a change will merge into, in order: the remote's default branch, its main, the
# local main. The first that exists is the "upstream" of revision.default_base.
UPSTREAMS = ("refs/remotes/origin/HEAD", "refs/remotes/origin/main", "refs/heads/main")


def _upstreams(root: Path) -> list[tuple[str, str]]:
    """(ref, name for messages) of each UPSTREAMS entry that exists, in order, from one git;
    origin/HEAD is named by the branch it points at. [] without git or a repository."""
    listed = run_git(root, "for-each-ref", "--format=%(refname)%00%(symref)", *UPSTREAMS)
    if listed.returncode:
        return []
    # "\n" only: splitlines() also splits at U+2028 and U+0085, which a ref name may hold.
    exists = dict(line.partition("\0")[::2] for line in listed.stdout.decode("utf-8", "replace").split("\n") if line)
    # for-each-ref also lists refs below these
    return [(ref, _short(exists[ref] or ref)) for ref in UPSTREAMS if ref in exists]


def _detached(root: Path) -> bool | None:
    """Whether HEAD is detached; None without git or a repository."""
    return {0: False, 1: True}.get(run_git(root, "symbolic-ref", "-q", "HEAD").returncode)


class MergeBase(NamedTuple):
    """What merge_base found: the commit to compare with, and how many merge-bases HEAD and
    the upstream have. With more than one (criss-cross merges) `commit` is the upstream's tip."""

    upstream: str  # its name for messages
    commit: str
    bases: int = 1


def _first_merge_base(root: Path, upstreams: list[tuple[str, str]]) -> MergeBase | None:
    for ref, name in upstreams:
        found = run_git(root, "merge-base", "--all", "HEAD", ref)
        if found.returncode == 0:
            bases = found.stdout.decode().split()
            if len(bases) == 1:
                return MergeBase(name, bases[0])
            # Criss-cross merges leave several merge-bases, and git's plain `merge-base` prints
            # one of them. A merge commit on the branch (whose tree its author chose) can then
            # undo what the other one brought (drop a user it added, keep an admin it revoked):
            # against the one git printed nothing changed, yet the merge removes the user or
            # grants the admin. The upstream's tip hides nothing the merge does (what the
            # upstream changed since shows reversed).
            # ref is a full name and git reads it as such, as merge-base just did; resolve()'s
            # ambiguity refusal (for a --base short name) would let a tag `refs/heads/main`
            # (refs/tags/refs/heads/main: anyone who may push a tag, a fetched fork's tags) make
            # the tip "missing" and the default base fall through to a stale upstream or HEAD.
            tip = run_git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
            if tip.returncode == 0:
                return MergeBase(name, tip.stdout.decode().strip(), len(bases))
    return None


def merge_base(root: Path) -> MergeBase | None:
    """The commit to compare HEAD with for the first UPSTREAMS entry that exists and has a
    merge-base with it: that merge-base, or the upstream's tip when there are several (see
    _first_merge_base); None if none has one, or there is no git, no commit, or HEAD is detached
    (a CI checkout, which names its base with --base; commits are made on a branch)."""
    upstreams = _upstreams(root)  # first: nothing else to ask when none exists
    if not upstreams or _detached(root) is not False:
        return None
    return _first_merge_base(root, upstreams)


def ahead_of_upstream(root: Path) -> tuple[str, int, bool] | None:
    """(upstream name, commits of HEAD its upstream (the first UPSTREAMS entry that exists)
    lacks, whether HEAD is detached) when the default base is HEAD itself although HEAD has
    such commits: a detached HEAD (a pull request checked out by its commit), or a branch with
    no merge-base with any upstream (a shallow clone, unrelated histories). Either way "HEAD"
    as the base would hide the change."""
    detached = _detached(root)
    upstreams = _upstreams(root) if detached is not None else []
    if not upstreams or (not detached and _first_merge_base(root, upstreams) is not None):
        return None
    ref, name = upstreams[0]
    counted = run_git(root, "rev-list", "--count", f"{ref}..HEAD")
    ahead = int(counted.stdout or 0) if counted.returncode == 0 else 0
    return (name, ahead, detached) if ahead else None


def _short(ref: str) -> str:
    return ref.removeprefix("refs/remotes/").removeprefix("refs/heads/")


# --- the repository around a directory (repo_checks.py) ---------------------------------
# None of these runs a filter, a textconv driver or a hook: check-attr only reads the
# attribute files, ls-files the index; `cat-file blob` above applies filters only with the
# opt-in --filters/--textconv, which this module never passes.

def top(root: Path) -> Path | None:
    """The top of root's repository (its working tree), or None (no git, not a repository)."""
    found = run_git(root, "rev-parse", "--show-toplevel")
    return Path(found.stdout.decode().rstrip("\n")) if found.returncode == 0 else None


def attributes(root: Path, paths: Sequence[str]) -> list[tuple[str, str, str]]:
    """(path, attribute, value) for every git attribute set on paths (relative to root),
    as the working tree's and the index's .gitattributes give them (a file that is only
    staged counts too), and $GIT_DIR/info/attributes and core.attributesFile."""
    found: set[tuple[str, str, str]] = set()
    for cached in ((), ("--cached",)):
        listed = run_git(root, "check-attr", "-z", "-a", *cached, "--", *paths)
        fields = listed.stdout.decode("utf-8", "replace").split("\0")
        found.update(zip(fields[0::3], fields[1::3], fields[2::3]))  # path NUL attribute NUL value NUL
    return sorted(found)


def tracked(root: Path, path: str) -> list[str]:
    """The files git tracks (in the index) under path, relative to root; none outside git."""
    listed = run_git(root, "ls-files", "-z", "--", path)
    return sorted(filter(None, listed.stdout.decode("utf-8", "replace").split("\0"))) if listed.returncode == 0 else []


def staged(root: Path, names: Sequence[str]) -> list[tuple[str, str]]:
    """(mode, path relative to root) of every entry git tracks (in the index) at or under
    root/name for each of names, matched ignoring case (so Users.json is listed for users.json)."""
    listed = run_git(root, "ls-files", "-s", "-z", "--", *(f":(icase){name}" for name in names))
    if listed.returncode != 0:
        return []
    out = []
    for entry in filter(None, listed.stdout.decode("utf-8", "replace").split("\0")):
        info, _, path = entry.partition("\t")  # "<mode> <object> <stage>\t<path>"
        out.append((info.split(" ", 1)[0], path))
    return out
