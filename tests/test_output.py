"""generated/ holds exactly what synth writes, written all-or-nothing
(constructs/users_authentik/module_dir.py).

Everything in generated/ reaches tofu-controller's runner, and OpenTofu loads every
*.tf / *.tf.json there, so another file is refused by synth and check; a write killed at
any step leaves the old module or, once recovered, the new one, whole; a full disk or a
read-only directory is a Problem, not a traceback, and leaves nothing behind."""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import pytest

from tests.helpers import ROOT, read_json, run_main, tree_digest, write_json
from users_authentik import cli, module_dir, report
from users_authentik.synth import MODULE_FILES, ROWS_FILE, STACK_FILE

LINUX = Path("/proc/self/fd").is_dir()
LOCAL_EXEC = {"resource": {"terraform_data": {"x": {"provisioner": {"local-exec": {"command": "env > /tmp/token"}}}}}}


def loadable(name: str) -> bool:
    """Would OpenTofu/Terraform load this file as configuration? (They skip hidden files too.)"""
    return not name.startswith(".") and name.endswith((".tf", ".tf.json", ".tofu", ".tofu.json"))


def add_user(project: Path, name: str = "ada") -> None:
    doc = read_json(project / "users.json")
    doc["users"][name] = {"name": name.title(), "email": f"{name}@example.org", "groups": ["dev"]}
    write_json(project / "users.json", doc)


def main_in_process(project: Path, *args: str) -> int:
    return cli.main(list(args), root=project)


# --- A. nothing but synth's files -------------------------------------------------------

def _extra_file(generated: Path) -> str:
    (generated / "zz_extra.tf.json").write_text(json.dumps(LOCAL_EXEC), encoding="utf-8")
    return "zz_extra.tf.json"


def _override(generated: Path) -> str:
    (generated / "users_override.tf.json").write_text('{"locals": {"users": {}}}', encoding="utf-8")
    return "users_override.tf.json"


def _hidden(generated: Path) -> str:
    (generated / ".terraform.lock.hcl").write_text("# pins a provider of the PR's choosing\n", encoding="utf-8")
    return ".terraform.lock.hcl"


def _directory(generated: Path) -> str:
    (generated / ".terraform" / "providers").mkdir(parents=True)
    return ".terraform"


def _symlinked_file(generated: Path) -> str:
    (generated / "secrets.tf.json").symlink_to("/proc/self/environ")
    return "secrets.tf.json"


def _symlinked_module_file(generated: Path) -> str:
    # Same bytes as synth's, so the old write left it alone: still a link on the runner.
    target = generated.parent / "elsewhere.json"
    shutil.move(generated / ROWS_FILE, target)
    (generated / ROWS_FILE).symlink_to(target)
    return ROWS_FILE


@pytest.mark.parametrize("plant", [_extra_file, _override, _hidden, _directory, _symlinked_file,
                                   _symlinked_module_file])
def test_a_file_synth_does_not_write_is_refused_by_synth_and_check(
        project: Path, plant: Callable[[Path], str], capsys: pytest.CaptureFixture[str]) -> None:
    name = plant(project / "generated")
    add_user(project)  # synth would otherwise have something to write
    before = tree_digest(project / "generated")
    listing = sorted(os.listdir(project / "generated"))
    for command in ([], ["check"], ["plan"]):  # plan: a reviewer runs it on the PR's checkout
        assert main_in_process(project, *command) == 1
        err = capsys.readouterr().err
        assert f"generated/{name}: " in err, err
        assert "fix: delete it" in err and "nothing was written to generated/" in err
    assert tree_digest(project / "generated") == before and sorted(os.listdir(project / "generated")) == listing


def test_a_symlinked_generated_directory_is_refused(project: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    elsewhere = tmp_path / "elsewhere"
    shutil.move(project / "generated", elsewhere)
    (project / "generated").symlink_to(elsewhere)
    add_user(project)
    before = tree_digest(elsewhere)
    for command in ([], ["check"]):
        assert main_in_process(project, *command) == 1
        err = capsys.readouterr().err
        assert "generated/: (directory): is a symbolic link" in err, err
    assert tree_digest(elsewhere) == before


def test_synth_removes_its_own_leftovers_silently_and_check_reports_them(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    generated = project / "generated"
    for name in (module_dir.temp_name(ROWS_FILE), module_dir.JOURNAL_NEW, ".users.tf.json.ab_12xyz.tmp"):
        (generated / name).write_text("{", encoding="utf-8")
    assert main_in_process(project, "check") == 1
    err = capsys.readouterr().err
    assert "left by an interrupted" in err or "an interrupted `python3 main.py` left" in err
    assert err.count("fix: run `python3 main.py`") == 3, err
    assert main_in_process(project) == 0
    assert sorted(os.listdir(generated)) == sorted(MODULE_FILES)
    assert tree_digest(generated) == tree_digest(ROOT / "generated")
    assert main_in_process(project, "check") == 0


# --- B. all-or-nothing, whatever kills it -------------------------------------------------

class Killed(BaseException):
    """Stands for SIGKILL: module_dir catches OSError only and cleans up nothing in a
    `finally`, so raising this leaves the directory exactly as a kill at that call would."""


MUTATING = ("open", "write", "fsync", "fchmod", "replace", "unlink")


class Steps:
    """Counts module_dir's file-system calls in one directory and kills at call `kill_at`
    (a write is cut in half first). Linux: a descriptor's path is read from /proc."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, outdir: Path, kill_at: int | None = None,
                 fail: Callable[[str], OSError | None] | None = None):
        self.outdir, self.kill_at, self.fail, self.calls = str(outdir.resolve()), kill_at, fail, []
        for fn in MUTATING:
            monkeypatch.setattr(os, fn, self._wrap(fn, getattr(os, fn)))

    def _ours(self, fn: str, args: tuple, kwargs: dict[str, Any]) -> bool:
        fd = kwargs.get("dir_fd", kwargs.get("src_dir_fd"))
        if fd is None and fn in ("write", "fsync", "fchmod"):
            fd = args[0]
        if fd is None:
            return False
        try:
            path = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            return False
        return path == self.outdir or path.startswith(self.outdir + "/")

    def _wrap(self, fn: str, real: Callable) -> Callable:
        def call(*args: Any, **kwargs: Any) -> Any:
            if not self._ours(fn, args, kwargs) or (fn == "open" and not args[1] & os.O_CREAT):
                return real(*args, **kwargs)
            self.calls.append(fn)
            failure = self.fail(fn) if self.fail else None
            if failure is not None:
                raise failure
            if len(self.calls) - 1 == self.kill_at:
                if fn == "write":
                    real(args[0], bytes(args[1])[:max(1, len(args[1]) // 2)])
                raise Killed(fn)
            return real(*args, **kwargs)
        return call


def old_and_new() -> tuple[dict[str, bytes], dict[str, str]]:
    old = {n: (ROOT / "generated" / n).read_bytes() for n in MODULE_FILES}
    new = {n: old[n].decode().replace("Generated by", "Newly generated by") for n in MODULE_FILES}
    return old, new


def fresh_outdir(tmp_path: Path, old: dict[str, bytes]) -> Path:
    outdir = tmp_path / "generated"
    shutil.rmtree(outdir, ignore_errors=True)
    outdir.mkdir()
    for name, data in old.items():
        (outdir / name).write_bytes(data)
    return outdir


def module(outdir: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in outdir.iterdir() if loadable(p.name)}


def recover(outdir: Path) -> None:
    fd = os.open(outdir, os.O_RDONLY)
    try:
        module_dir.recover(fd, MODULE_FILES)
    finally:
        os.close(fd)


@pytest.mark.skipif(not LINUX, reason="reads descriptor paths from /proc")
def test_a_write_killed_at_any_step_leaves_a_whole_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    old, new = old_and_new()
    encoded_new = {n: t.encode() for n, t in new.items()}
    with monkeypatch.context() as m:
        counted = Steps(m, fresh_outdir(tmp_path, old))
        assert module_dir.write(tmp_path / "generated", new) == sorted(MODULE_FILES)
    steps = counted.calls
    assert steps.count("replace") == 3  # the journal, then each file: the case the issue names
    commit = steps.index("replace")  # the journal's rename

    for k in range(len(steps)):
        outdir = fresh_outdir(tmp_path, old)
        with monkeypatch.context() as m:
            Steps(m, outdir, kill_at=k)
            with pytest.raises(Killed):
                module_dir.write(outdir, new)
        left = sorted(os.listdir(outdir))
        # Nothing synth leaves behind is configuration OpenTofu would load.
        assert [n for n in left if loadable(n)] == sorted(MODULE_FILES), (k, left)
        # `check` says so whenever a killed run left anything.
        assert bool(module_dir.problems(outdir, MODULE_FILES, leftovers=True)) == (left != sorted(MODULE_FILES))
        assert module_dir.problems(outdir, MODULE_FILES) == []  # nothing foreign: synth may run
        state = tmp_path / "killed"
        shutil.rmtree(state, ignore_errors=True)
        shutil.copytree(outdir, state)

        # The next run's recovery: the old module (killed before the commit point) or the
        # new one (after it), whole, and nothing else.
        recover(outdir)
        assert sorted(os.listdir(outdir)) == sorted(MODULE_FILES), (k, steps[k])
        assert module(outdir) == (encoded_new if k > commit else old), (k, steps[k])

        # A recovery that is itself killed at any step is redone by the next one.
        for j in range(len(steps)):
            again = tmp_path / "again"
            shutil.rmtree(again, ignore_errors=True)
            shutil.copytree(state, again)
            with monkeypatch.context() as m:
                killed = Steps(m, again, kill_at=j)
                try:
                    recover(again)
                except Killed:
                    pass
            recover(again)
            assert module(again) == module(outdir) and sorted(os.listdir(again)) == sorted(MODULE_FILES)
            if len(killed.calls) <= j:
                break  # recovery had fewer steps than j: every one has been tried

        # And the next synth writes the new module whole.
        shutil.rmtree(outdir)
        shutil.copytree(state, outdir)
        module_dir.write(outdir, new)
        assert module(outdir) == encoded_new and sorted(os.listdir(outdir)) == sorted(MODULE_FILES)


KILL_BETWEEN_RENAMES = """
import os, runpy, signal, sys
real = os.replace
def replace(src, dst, **kw):
    if os.path.basename(os.fspath(dst)) == {target!r}:  # the second file's rename: the first is already in place
        os.kill(os.getpid(), signal.SIGKILL)
    return real(src, dst, **kw)
os.replace = replace
sys.argv = ["main.py"]
runpy.run_path("main.py", run_name="__main__")
"""


def test_main_py_sigkilled_between_its_renames_is_completed_by_the_next_run(project: Path, tmp_path: Path) -> None:
    """The issue's case, end to end: a real main.py, SIGKILLed after cdk.tf.json is
    renamed into place and before users.tf.json is."""
    (project / "settings.json").write_text('{"brand": {"title": "Welcome"}}\n', encoding="utf-8")
    add_user(project)  # both files change
    expected = tmp_path / "expected"
    shutil.copytree(project, expected)
    assert run_main(expected).returncode == 0
    code = KILL_BETWEEN_RENAMES.format(target=ROWS_FILE)
    env = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "18,20"}
    env.pop("CDKTF_OUTDIR", None)
    killed = subprocess.run([sys.executable, "-c", code], cwd=project, env=env, capture_output=True, timeout=120)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    generated = project / "generated"
    assert (generated / STACK_FILE).read_bytes() == (expected / "generated" / STACK_FILE).read_bytes()
    assert (generated / ROWS_FILE).read_bytes() == (ROOT / "generated" / ROWS_FILE).read_bytes()  # still old

    check = run_main(project, "check")
    assert check.returncode == 1 and "left generated/ half-written (users.tf.json not yet renamed" in check.stderr
    again = run_main(project)
    assert again.returncode == 0, again.stderr
    assert tree_digest(generated) == tree_digest(expected / "generated")
    assert sorted(os.listdir(generated)) == sorted(MODULE_FILES)


# --- B. a full disk, a read-only directory ----------------------------------------------

def _error(code: int) -> OSError:
    return OSError(code, os.strerror(code))


@pytest.mark.skipif(not LINUX, reason="reads descriptor paths from /proc")
@pytest.mark.parametrize("code,call", [(errno.ENOSPC, "write"), (errno.ENOSPC, "fsync"), (errno.EDQUOT, "write"),
                                       (errno.EROFS, "open"), (errno.EACCES, "open"), (errno.EIO, "replace")])
def test_a_failed_write_is_a_problem_and_leaves_the_old_module(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int, call: str) -> None:
    old, new = old_and_new()
    with monkeypatch.context() as m:
        counted = Steps(m, fresh_outdir(tmp_path, old))
        module_dir.write(tmp_path / "generated", new)
    # Fail at each call of that kind up to the commit point (the journal's rename).
    before_commit = counted.calls[:counted.calls.index("replace") + 1]
    for nth in range(before_commit.count(call)):
        outdir = fresh_outdir(tmp_path, old)
        seen = []

        def fail(fn: str) -> OSError | None:
            seen.append(fn)
            return _error(code) if fn == call and seen.count(call) == nth + 1 else None
        with monkeypatch.context() as m:
            Steps(m, outdir, fail=fail)
            with pytest.raises(module_dir.WriteFailed) as failed:
                module_dir.write(outdir, new)
        assert not failed.value.half_written
        [problem] = failed.value.problems
        assert problem.file.startswith("generated/") and errno.errorcode[code] in problem.problem
        assert problem.fix and "run" in problem.fix
        assert sorted(os.listdir(outdir)) == sorted(MODULE_FILES)  # nothing left behind
        assert module(outdir) == old
        assert report.unwritten(failed.value.problems, failed.value.half_written).endswith("nothing was written to generated/.\n")


NO_SPACE = """
import errno, os, runpy, sys
real = os.open
def fake(path, flags, *a, **kw):
    if os.fspath(path).startswith(".users-authentik.") and flags & os.O_CREAT:
        raise OSError(errno.{code}, os.strerror(errno.{code}))
    return real(path, flags, *a, **kw)
os.open = fake
sys.argv = ["main.py"]
runpy.run_path("main.py", run_name="__main__")
"""


@pytest.mark.parametrize("code", ["ENOSPC", "EROFS"])
def test_main_py_reports_a_failed_write_without_a_traceback(project: Path, code: str) -> None:
    add_user(project)
    before = tree_digest(project / "generated")
    env = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "18,20"}
    env.pop("CDKTF_OUTDIR", None)
    out = subprocess.run([sys.executable, "-c", NO_SPACE.format(code=code)], cwd=project, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 1, out.stderr
    assert "Traceback" not in out.stderr
    assert f"generated/{ROWS_FILE}: (file): cannot be written: " in out.stderr and f"({code})" in out.stderr
    assert "fix: " in out.stderr and "nothing was written to generated/." in out.stderr
    assert tree_digest(project / "generated") == before


def _in_mount_namespace(project: Path, setup: str) -> subprocess.CompletedProcess:
    """main.py in a private mount namespace, after `setup` (mounts over generated/)."""
    script = (f"set -e\ncd {project}\n{setup}\nrc=0\n{sys.executable} main.py || rc=$?\n"
              "echo '--- generated/:'; ls -A generated; exit $rc")
    env = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "18,20"}
    env.pop("CDKTF_OUTDIR", None)
    flags = ["-m"] if os.geteuid() == 0 else ["-r", "-m"]
    return subprocess.run(["unshare", *flags, "sh", "-c", script], env=env, capture_output=True, text=True, timeout=120)


def _mounts_work(tmp_path: Path) -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-m" if os.geteuid() == 0 else "-rm", "sh", "-c",
                            f"mount -t tmpfs -o size=64k tmpfs {tmp_path}"], capture_output=True)
    return probe.returncode == 0


def test_a_full_disk_is_a_problem_and_leaves_nothing(project: Path, tmp_path: Path) -> None:
    """A real ENOSPC: generated/ on a tmpfs just big enough for the old module."""
    if not _mounts_work(tmp_path):
        pytest.skip("cannot mount a tmpfs in a private mount namespace here")
    doc = read_json(project / "users.json")
    doc["users"].update({f"user{i}": {"name": f"User {i}", "email": f"user{i}@example.org"} for i in range(3000)})
    write_json(project / "users.json", doc)  # users.tf.json grows to ~400 kB
    before = tree_digest(project / "generated")
    saved = tmp_path / "saved"
    shutil.copytree(project / "generated", saved)
    out = _in_mount_namespace(project, f"mount -t tmpfs -o size=64k tmpfs generated\ncp {saved}/* generated/")
    assert out.returncode == 1, out.stdout + out.stderr
    assert "Traceback" not in out.stderr
    assert f"generated/{ROWS_FILE}: (file): cannot be written: No space left on device (ENOSPC)" in out.stderr
    assert "fix: free space on the disk that holds generated/" in out.stderr
    assert out.stdout.split("--- generated/:")[1].split() == sorted(MODULE_FILES)  # nothing left on the tmpfs
    assert tree_digest(project / "generated") == before  # the tmpfs is gone; the real dir was never touched


def test_a_read_only_generated_is_a_problem(project: Path, tmp_path: Path) -> None:
    """A real EROFS (a read-only bind mount: root ignores file modes, not a read-only mount)."""
    if not _mounts_work(tmp_path):
        pytest.skip("cannot bind-mount in a private mount namespace here")
    add_user(project)
    before = tree_digest(project / "generated")
    out = _in_mount_namespace(project, "mount --bind generated generated\nmount -o remount,bind,ro generated")
    assert out.returncode == 1, out.stdout + out.stderr
    assert "Traceback" not in out.stderr
    assert "cannot be written: Read-only file system (EROFS)" in out.stderr
    assert "fix: generated/ is on a read-only file system" in out.stderr
    assert out.stdout.split("--- generated/:")[1].split() == sorted(MODULE_FILES)
    assert tree_digest(project / "generated") == before
    assert sorted(os.listdir(project / "generated")) == sorted(MODULE_FILES)
