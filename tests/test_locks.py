"""The hashed locks (Makefile `lock`): requirements*.txt are the pins people edit, each
requirements*.lock is pip-compile's output from the files its Makefile rule names, with the
sha256 of every file PyPI has for each pinned version. A lock must hold exactly its files'
name==version pins (a bump without `make lock` fails here), every install of the
requirements (Makefile, action.yml) must take a lock with --require-hashes, and pip must
refuse a file whose hash the lock does not list."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT
from tests.test_ci_workflow import action

MAKEFILE = ROOT / "Makefile"
PIN = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")
SHA256 = re.compile(r"--hash=sha256:([0-9a-f]{64})")


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()  # PEP 503: pip-compile writes typing-extensions


def pins(path: Path) -> dict[str, str]:
    """The exact pins of a requirements file, its `-r` files' included (PEP 503 names)."""
    found: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("-r "):
            found.update(pins(path.parent / line[3:].strip()))
            continue
        match = PIN.fullmatch(line)
        assert match, f"{path.name}: {line!r} is no exact name==version pin"
        found[normalized(match[1])] = match[2]
    return found


def locked(path: Path) -> dict[str, tuple[str, list[str]]]:
    """A lock's requirements: name -> (version, its sha256s)."""
    text = re.sub(r"\\\n", " ", path.read_text(encoding="utf-8"))
    found: dict[str, tuple[str, list[str]]] = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = PIN.match(line)
        assert match, f"{path.name}: {line!r} is no name==version requirement"
        found[normalized(match[1])] = (match[2], SHA256.findall(line))
    return found


def lock_rules() -> dict[str, list[str]]:
    """`make lock`'s locks and the requirements files each is compiled from (the Makefile's rules)."""
    text = MAKEFILE.read_text(encoding="utf-8")
    rules = dict(re.findall(r"^(requirements[\w-]*\.lock): *(.+)$", text, re.M))
    [listed] = re.findall(r"^LOCKS := (.+)$", text, re.M)
    assert listed.split() == list(rules)
    return {lock: sources.split() for lock, sources in rules.items()}


def test_the_locks_are_the_makefiles_and_committed() -> None:
    rules = lock_rules()
    assert set(rules) == {"requirements.lock", "requirements-plan.lock", "requirements-dev.lock",
                          "requirements-pip.lock"}
    assert {p.name for p in ROOT.glob("*.lock")} == set(rules)  # no stray lock nobody regenerates
    tracked = subprocess.run(["git", "ls-files", "--", *rules], cwd=ROOT, capture_output=True, text=True)
    if tracked.returncode == 0 and tracked.stdout.strip():  # in a git checkout whose locks are committed
        assert set(tracked.stdout.split()) == set(rules)
    for lock in rules:
        assert "#    make lock\n" in (ROOT / lock).read_text(encoding="utf-8")  # says how it was made


@pytest.mark.parametrize("lock", sorted(lock_rules()))
def test_a_lock_holds_exactly_its_pins(lock: str) -> None:
    wanted: dict[str, str] = {}
    for source in lock_rules()[lock]:
        wanted.update(pins(ROOT / source))
    entries = locked(ROOT / lock)
    have = {name: version for name, (version, _) in entries.items()}
    assert have == wanted, (f"{lock} is not its pins ({', '.join(lock_rules()[lock])}): run `make lock`; "
                            f"only in the lock: {sorted(set(have.items()) - set(wanted.items()))}, "
                            f"only in the pins: {sorted(set(wanted.items()) - set(have.items()))}")
    assert all(hashes for _, hashes in entries.values()), f"{lock}: a requirement without a hash"


def test_the_runtime_and_plan_pins_are_the_packages_dependencies() -> None:
    # pyproject.toml reads the plain files (setuptools takes no --hash): the locks are compiled
    # from those same files, so the package's metadata and the locks cannot disagree.
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert 'dependencies = { file = ["requirements.txt"] }' in text
    assert 'optional-dependencies.plan = { file = ["requirements-plan.txt"] }' in text
    rules = lock_rules()
    assert rules["requirements.lock"] == ["requirements.txt"]
    assert rules["requirements-plan.lock"] == ["requirements.txt", "requirements-plan.txt"]
    dev = pins(ROOT / "requirements-dev.txt")
    assert set(pins(ROOT / "requirements.txt").items()) | set(pins(ROOT / "requirements-plan.txt").items()) <= set(dev.items())
    # pip-tools (`make lock`) is a dev pin, and setuptools is the build backend's version
    assert "pip-tools" in dev and f'requires = ["setuptools=={dev["setuptools"]}"]' in text


def pip_installs() -> list[tuple[str, list[str]]]:
    """Every `pip install` command of the Makefile's recipes and action.yml's steps."""
    commands = [("Makefile", line) for line in MAKEFILE.read_text(encoding="utf-8").splitlines()
                if line.startswith("\t")]
    for step in action()["runs"]["steps"]:
        commands += [(f"action.yml {step.get('id')}", line) for line in step.get("run", "").splitlines()]
    found = []
    for where, line in commands:
        if re.search(r"\bpip\b.*\binstall\b", line):
            found.append((where, shlex.split(line.split(" #", 1)[0])))
    assert len(found) >= 7, found  # the reading still finds them
    return found


def test_every_install_takes_a_lock_with_require_hashes() -> None:
    locks = set(lock_rules())
    named: list[tuple[str, str]] = []
    for where, words in pip_installs():
        if "-r" in words:
            [target] = [words[i + 1] for i, word in enumerate(words) if word == "-r"]
            lock = Path(target.replace("$GITHUB_ACTION_PATH/", "")).as_posix()
            assert lock in locks, f"{where}: installs {target}, no hashed lock: {' '.join(words)}"
            assert "--require-hashes" in words, f"{where}: {' '.join(words)}"
            named.append((where.split()[0], lock))
        else:
            # the package itself, its dependencies being the lock's: nothing else is installed by name
            assert "--no-deps" in words and words[-1] in (".", "$GITHUB_ACTION_PATH"), f"{where}: {' '.join(words)}"
    assert sorted(named) == [("Makefile", "requirements-dev.lock"), ("Makefile", "requirements-pip.lock"),
                             ("Makefile", "requirements.lock"), ("action.yml", "requirements-plan.lock"),
                             ("action.yml", "requirements.lock")]


def test_the_stamps_are_named_by_the_locks() -> None:
    # a regenerated lock gets a new stamp name, so make installs it into an existing venv
    text = MAKEFILE.read_text(encoding="utf-8")
    assert "RUNTIME := $(VENV)/.runtime-$(shell cat requirements.lock | cksum" in text
    assert "DEV     := $(VENV)/.dev-$(shell cat requirements-dev.lock | cksum" in text
    stamps = subprocess.run(["make", "-s", "-n", "-p", "VENV=/nonexistent", "no-such-target"], cwd=ROOT,
                            capture_output=True, text=True).stdout
    digest = subprocess.run(["cksum"], input=(ROOT / "requirements.lock").read_bytes(), capture_output=True,
                            check=True).stdout.split()[0].decode()
    assert f"RUNTIME := /nonexistent/.runtime-{digest}" in stamps


def test_pip_refuses_a_file_the_lock_does_not_hash(tmp_path: Path) -> None:
    """One small package of requirements.lock fetched with its own entry (pip checks the file
    against the lock's sha256s and keeps it), then with an entry whose hashes are someone
    else's (a file replaced on the index): pip refuses it and writes nothing."""
    text = re.sub(r"\\\n", " ", (ROOT / "requirements.lock").read_text(encoding="utf-8"))
    [entry] = [line.split("#", 1)[0].strip() for line in text.splitlines() if line.startswith("publication==")]
    assert len(SHA256.findall(entry)) >= 2  # the wheel's and the sdist's

    def download(lock_text: str, into: str) -> subprocess.CompletedProcess:
        lock = tmp_path / f"{into}.lock"
        lock.write_text(lock_text + "\n", encoding="utf-8")
        return subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check",
                               "--no-deps", "--require-hashes", "--timeout", "15", "--retries", "1",
                               "-r", str(lock), "-d", str(tmp_path / into)], capture_output=True, text=True,
                              timeout=300)

    good = download(entry, "good")
    assert "HASHES" not in good.stderr, f"requirements.lock's own hashes for publication: {good.stderr}"
    if good.returncode != 0:
        pytest.skip(f"cannot fetch publication from the index (no network?): {good.stderr.strip()[-300:]}")
    assert [p.name for p in (tmp_path / "good").iterdir()] == ["publication-0.0.3-py2.py3-none-any.whl"]
    forged = SHA256.sub(lambda m: "--hash=sha256:" + m[1][::-1], entry)  # the same file, listed with other hashes
    bad = download(forged, "bad")
    assert bad.returncode != 0
    assert "DO NOT MATCH THE HASHES" in bad.stderr, bad.stderr
    assert not (tmp_path / "bad").exists() or not list((tmp_path / "bad").iterdir())
