"""generated/: what it may hold, and writing it all-or-nothing.

Everything committed in generated/ reaches tofu-controller's runner, and OpenTofu loads
every *.tf / *.tf.json / *.tofu file there (`*_override.*` included), reads .terraform/
and the lock file. So the directory holds exactly the files synth writes, as regular
files: anything else (another file, a directory, a symbolic link, generated/ itself a
link) is a Problem naming it, for synth (which then writes nothing) and for `check`.
Such a file arrived by a commit, so it is refused rather than deleted: a person decides.

The write is all-or-nothing across the files, whatever kills the process:
1. each changed file goes to a temporary name (hidden and not ending in .tf/.tf.json/.tofu,
   so OpenTofu never loads one), fsynced;
2. a journal naming those files and their sha256 is written the same way and renamed into
   place: this rename is the commit point;
3. the temporary files are renamed over the targets, then the journal is removed.
Every run that writes first recovers what an interrupted one left, under a lock on the
directory: with a journal, the renames are rolled forward (the new module, whole); without
one, the temporary files are removed (the old module, untouched). `check` reports both
states until a synth has run. Names are the only thing shared with synth.py.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import re
import stat
from pathlib import Path
from typing import Iterable, Iterator

from .problems import Problem

LABEL = "generated/"
_PREFIX = ".users-authentik."
JOURNAL = _PREFIX + "journal"
JOURNAL_NEW = JOURNAL + ".new"
# What earlier versions of synth left behind when killed (mkstemp names, ".<name>.XXXXXXXX.tmp").
_LEGACY_TEMP = re.compile(r"\.(?:cdk|users)\.tf\.json\.[a-z0-9_]{8}\.tmp")
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def temp_name(name: str) -> str:
    return f"{_PREFIX}{name}.new"


def _own(name: str, names: Iterable[str]) -> bool:
    """A name synth itself uses while writing (left only if a run was interrupted)."""
    return (name in (JOURNAL, JOURNAL_NEW) or name in {temp_name(n) for n in names}
            or _LEGACY_TEMP.fullmatch(name) is not None)


class WriteFailed(Exception):
    """generated/ could not be written; `problems` say why (report.unwritten words it)."""

    def __init__(self, problems: list[Problem], half_written: bool = False):
        super().__init__(problems)
        self.problems = problems
        self.half_written = half_written


# --- what generated/ holds -------------------------------------------------------------

def problems(outdir: Path, names: Iterable[str], *, leftovers: bool = False) -> list[Problem]:
    """Every entry of outdir that synth would not have written, as Problems. leftovers:
    also report what an interrupted synth left (`check`: synth itself cleans it up)."""
    names = tuple(names)
    if outdir.is_symlink():
        return [Problem(LABEL, "(directory)", f"is a symbolic link (to {os.readlink(outdir)}); "
                        "tofu-controller's runner would apply whatever it points to",
                        "replace it with a real directory: `git rm generated` and run `python3 main.py`")]
    if not outdir.exists():
        return []
    if not outdir.is_dir():
        return [Problem(LABEL, "(directory)", "is not a directory",
                        "delete it (`git rm generated`) and run `python3 main.py`")]
    try:
        fd = os.open(outdir, _DIR_FLAGS)
    except OSError as err:
        return [_os_problem(LABEL, err, "read")]
    try:
        return _scan(fd, names, leftovers)
    except OSError as err:
        return [_os_problem(LABEL, err, "read")]
    finally:
        os.close(fd)


def _scan(fd: int, names: tuple[str, ...], leftovers: bool) -> list[Problem]:
    found = []
    with os.scandir(fd) as entries:
        listed = sorted((e.name, e.stat(follow_symlinks=False).st_mode) for e in entries)
    for name, mode in listed:
        if stat.S_ISREG(mode) and name in names:
            continue
        if stat.S_ISREG(mode) and _own(name, names):
            if leftovers:
                found.append(_leftover(fd, name, names))
            continue
        found.append(_foreign(fd, name, mode))
    return found


def _foreign(fd: int, name: str, mode: int) -> Problem:
    file = LABEL + name
    if stat.S_ISDIR(mode):
        return Problem(file, "(directory)", "is a directory; generated/ holds synth's files only "
                       "(OpenTofu would read a .terraform/ there as its providers and modules)",
                       f"delete it: `git rm -r {file}` (or `rm -r` if it was never committed)")
    remove = f"delete it: `git rm {file}` (or `rm` if it was never committed)"
    if stat.S_ISLNK(mode):
        return Problem(file, "(file)", f"is a symbolic link (to {os.readlink(name, dir_fd=fd)}); synth "
                       "writes regular files only, and a link would make the runner read another file",
                       f"{remove}, then run `python3 main.py`")
    return Problem(file, "(file)", "is not a file synth writes; OpenTofu loads every *.tf, *.tf.json and "
                   "*.tofu file in generated/ (*_override.* too) and tofu-controller applies what it finds "
                   "there", remove)


def _leftover(fd: int, name: str, names: tuple[str, ...]) -> Problem:
    fix = "run `python3 main.py`: it finishes or undoes the interrupted write and removes this file"
    if name == JOURNAL:
        pending = [n for n, _ in _journal(fd, names) or [] if _regular(fd, temp_name(n))]
        return Problem(LABEL + name, "(file)", "an interrupted `python3 main.py` left generated/ half-written"
                       + (f" ({', '.join(pending)} not yet renamed into place)" if pending else ""), fix)
    return Problem(LABEL + name, "(file)", "is a temporary file an interrupted `python3 main.py` left", fix)


# --- writing ---------------------------------------------------------------------------

def write(outdir: Path, files: dict[str, str], names: Iterable[str] | None = None) -> list[str]:
    """Write files (name -> text) into outdir all-or-nothing; files whose bytes are already
    right are left alone (mtime too). names: all that outdir may hold (default: the files').
    Returns the names changed. Raises WriteFailed."""
    names = tuple(sorted(set(names or ()) | set(files)))
    refused = problems(outdir, names)  # also refuses a symlinked outdir before mkdir follows it
    if refused:
        raise WriteFailed(refused)
    try:
        outdir.mkdir(parents=True, exist_ok=True)
        fd = os.open(outdir, _DIR_FLAGS)
    except OSError as err:
        raise WriteFailed([_os_problem(LABEL, err, "created")]) from None
    try:
        with _locked(fd):
            return _write_locked(fd, names, {n: t.encode("utf-8") for n, t in files.items()})
    finally:
        os.close(fd)


@contextlib.contextmanager
def _locked(fd: int) -> Iterator[None]:
    # Two synths at once (pre-commit and a manual run) would share the temporary names.
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)


def _write_locked(fd: int, names: tuple[str, ...], data: dict[str, bytes]) -> list[str]:
    try:
        recover(fd, names)
        refused = _scan(fd, names, leftovers=False)  # again, under the lock
    except OSError as err:
        raise WriteFailed([_os_problem(LABEL, err, "written")], half_written=_regular(fd, JOURNAL)) from None
    if refused:
        raise WriteFailed(refused)
    changed = [n for n in sorted(data) if _read(fd, n) != data[n]]
    if not changed:
        return []
    current = LABEL
    try:
        for name in changed:
            current = LABEL + name
            _write_file(fd, temp_name(name), data[name])
        current = LABEL
        journal = json.dumps([[n, hashlib.sha256(data[n]).hexdigest()] for n in changed]).encode()
        _write_file(fd, JOURNAL_NEW, journal)
        os.replace(JOURNAL_NEW, JOURNAL, src_dir_fd=fd, dst_dir_fd=fd)  # the commit point
    except OSError as err:
        _discard(fd, names)
        raise WriteFailed([_os_problem(current, err, "written")]) from None
    try:
        _sync_dir(fd)
        recover(fd, names)  # the renames, then the journal's removal
    except OSError as err:
        raise WriteFailed([_os_problem(LABEL, err, "written")], half_written=True) from None
    return changed


def recover(fd: int, names: Iterable[str]) -> None:
    """Complete (journal present) or undo (no journal) an interrupted write in the
    directory open as fd. Idempotent: a recovery that is itself killed is redone."""
    names = tuple(names)
    if not _own_files(fd, names):
        return  # the usual case: nothing to do, nothing touched
    for name, digest in _journal(fd, names) or []:
        temp = temp_name(name)
        if _regular(fd, temp) and hashlib.sha256(_read(fd, temp) or b"").hexdigest() == digest:
            os.replace(temp, name, src_dir_fd=fd, dst_dir_fd=fd)
    _sync_dir(fd)  # the renames are on disk before the journal that redoes them goes
    _discard(fd, names, strict=True)
    _sync_dir(fd)


def _own_files(fd: int, names: tuple[str, ...]) -> list[str]:
    with os.scandir(fd) as entries:
        return sorted(e.name for e in entries if e.is_file(follow_symlinks=False) and _own(e.name, names))


def _discard(fd: int, names: tuple[str, ...], strict: bool = False) -> None:
    """Remove synth's own temporary files; the journal last, so a kill here is redone."""
    for name in sorted(_own_files(fd, names), key=lambda n: n == JOURNAL):
        try:
            os.unlink(name, dir_fd=fd)
        except FileNotFoundError:
            pass
        except OSError:
            if strict:
                raise


def _journal(fd: int, names: tuple[str, ...]) -> list[tuple[str, str]] | None:
    """The journal's entries, or None if there is none. One this code did not write
    (not our shape) is ignored: the write that follows recovery rewrites every file."""
    if not _regular(fd, JOURNAL):
        return None
    try:
        entries = json.loads(_read(fd, JOURNAL) or b"")
        return [(n, d) for n, d in entries if n in names and isinstance(d, str)]
    except (ValueError, TypeError):
        return []


def _sync_dir(fd: int) -> None:
    """Make the renames and removals in the directory durable (a power cut keeps them)."""
    try:
        os.fsync(fd)
    except OSError as err:
        if err.errno not in (errno.EINVAL, errno.ENOTSUP):  # some file systems cannot sync a directory
            raise


def _write_file(fd: int, name: str, data: bytes) -> None:
    out = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o644, dir_fd=fd)
    try:
        os.fchmod(out, 0o644)  # whatever the umask: the same mode on every machine
        view = memoryview(data)
        while view:
            view = view[os.write(out, view):]
        os.fsync(out)
    finally:
        os.close(out)


def _read(fd: int, name: str) -> bytes | None:
    """The bytes of a regular file (never through a link), or None."""
    try:
        src = os.open(name, os.O_RDONLY | _NOFOLLOW, dir_fd=fd)
    except OSError:
        return None
    with os.fdopen(src, "rb") as fh:
        return fh.read() if stat.S_ISREG(os.fstat(fh.fileno()).st_mode) else None


def _regular(fd: int, name: str) -> bool:
    try:
        return stat.S_ISREG(os.stat(name, dir_fd=fd, follow_symlinks=False).st_mode)
    except FileNotFoundError:
        return False


# --- why a write failed ---------------------------------------------------------------

_FIXES = {
    errno.ENOSPC: "free space on the disk that holds generated/, then run `python3 main.py` again",
    errno.EDQUOT: "free space within your disk quota, then run `python3 main.py` again",
    errno.EROFS: "generated/ is on a read-only file system: run synth in a writable checkout",
    errno.EACCES: "give this user write access to generated/ (or run synth where it has it)",
    errno.EPERM: "give this user write access to generated/ (or run synth where it has it)",
}


def _os_problem(file: str, err: OSError, done: str) -> Problem:
    code = errno.errorcode.get(err.errno or 0, "error")
    return Problem(file, "(file)", f"cannot be {done}: {err.strerror or err} ({code})",
                   _FIXES.get(err.errno or 0, "fix the cause above, then run `python3 main.py` again"))
