"""The engine is built from its Go module (tools/, `make tools`): the pinned OpenTofu, once per pin,
and without Go the set-up still succeeds with one line. The Makefile runs here against a fake `go`
(it records its arguments and writes a stub binary) in a scratch copy, so no test waits for a
real build; the real binary, when `make setup` built it, must say the pinned version."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers import ROOT
from users_authentik.standin.harness import BUILT_TOFU, find_engines

FAKE_GO = """#!/bin/sh
# Records each call; for `build -o FILE`, writes a stub tofu to FILE.
echo "$PWD $*" >> "$FAKE_GO_LOG"
while [ $# -gt 0 ]; do
  if [ "$1" = "-o" ]; then printf '#!/bin/sh\\necho "OpenTofu v0.0.0-stub"\\n' > "$2"; chmod +x "$2"; fi
  shift
done
"""


def pinned_tofu_version() -> str:
    match = re.search(r"^\s*github\.com/opentofu/opentofu v(\S+)", (ROOT / "tools" / "go.mod").read_text(), re.M)
    assert match, "tools/go.mod does not require github.com/opentofu/opentofu"
    return match.group(1)


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    """The Makefile and tools/ module in a scratch directory, with a fake go next to them."""
    shutil.copy2(ROOT / "Makefile", tmp_path / "Makefile")
    shutil.copytree(ROOT / "tools", tmp_path / "tools")
    go = tmp_path / "fake-go"
    go.write_text(FAKE_GO)
    go.chmod(0o755)
    return tmp_path


def make_tools(root: Path, go: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "FAKE_GO_LOG": str(root / "go.log")}
    return subprocess.run(["make", "--no-print-directory", "tools", f"GO={go}"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=60)


def go_calls(root: Path) -> list[str]:
    log = root / "go.log"
    return log.read_text().splitlines() if log.exists() else []


def test_tools_build_opentofu_as_its_release_does_and_once_per_pin(scratch: Path) -> None:
    go = str(scratch / "fake-go")
    first = make_tools(scratch, go)
    assert first.returncode == 0, first.stdout + first.stderr
    [call] = go_calls(scratch)
    assert call.startswith(f"{scratch / 'tools'} build ")  # inside the tools module, as its go.mod pins
    for flag in ("-mod=readonly", "-trimpath", "-buildvcs=false",
                 "-s -w -X 'github.com/opentofu/opentofu/version.dev=no'", "github.com/opentofu/opentofu/cmd/tofu"):
        assert flag in call
    assert (scratch / ".tools" / "bin" / "tofu").is_file()
    assert "built OpenTofu v0.0.0-stub" in first.stdout
    built = (scratch / ".tools" / "bin" / "tofu").read_bytes()
    assert (scratch / ".tools" / "tofu.sha256").read_text().split() == [hashlib.sha256(built).hexdigest()]

    again = make_tools(scratch, go)
    assert again.returncode == 0 and len(go_calls(scratch)) == 1, "an unchanged pin was built again"

    with (scratch / "tools" / "go.mod").open("a") as mod:
        mod.write("// another pin\n")
    assert make_tools(scratch, go).returncode == 0
    assert len(go_calls(scratch)) == 2, "a changed pin reused the old build"
    assert len(list((scratch / ".tools").glob(".tofu-*"))) == 1  # the old pin's stamp is gone


def test_without_go_setup_succeeds_with_one_line_and_builds_nothing(scratch: Path) -> None:
    result = make_tools(scratch, str(scratch / "no-such-go"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "make: no Go toolchain: OpenTofu not built; tests that need it skip (tools/README.md)"]
    assert not (scratch / ".tools").exists()


def test_engines_put_opentofu_first_and_can_be_narrowed() -> None:
    names = [e.name for e in find_engines({})]
    assert names == sorted(names, key=lambda n: n != "tofu")  # tofu, if any, comes first
    if "terraform" in names:
        assert [e.name for e in find_engines({"USERS_AUTHENTIK_ENGINES": "terraform"})] == ["terraform"]


@pytest.mark.skipif(not BUILT_TOFU.is_file(), reason="OpenTofu not built: `make setup` builds it when Go is installed")
def test_the_built_opentofu_is_the_pinned_release() -> None:
    out = subprocess.run([str(BUILT_TOFU), "version", "-json"], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "TF_CLI_CONFIG_FILE": os.devnull}, check=True).stdout
    assert json.loads(out)["terraform_version"] == pinned_tofu_version()  # no "-dev": the release ldflags


def test_plan_prefers_opentofu(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from users_authentik import plan

    for name in ("terraform", "tofu"):
        (tmp_path / name).write_text("#!/bin/sh\n")
        (tmp_path / name).chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(plan, "BUILT_TOFU", tmp_path / "not-built" / "tofu", raising=False)
    assert plan.find_terraform() == str(tmp_path / "tofu")  # tofu on PATH beats terraform
    built = tmp_path / ".tools" / "bin" / "tofu"
    built.parent.mkdir(parents=True)
    built.write_text("#!/bin/sh\n")
    built.chmod(0o755)
    monkeypatch.setattr(plan, "BUILT_TOFU", built)
    assert plan.find_terraform() == str(tmp_path / "tofu")  # no sha256 recorded by `make tools`: not run
    (tmp_path / ".tools" / "tofu.sha256").write_text(hashlib.sha256(b"another build").hexdigest() + "\n")
    assert plan.find_terraform() == str(tmp_path / "tofu")  # another binary than the one built: not run
    (tmp_path / ".tools" / "tofu.sha256").write_text(hashlib.sha256(built.read_bytes()).hexdigest() + "\n")
    assert plan.find_terraform() == str(built)  # and the one `make setup` built beats both
    (tmp_path / "tofu").unlink()
    monkeypatch.setattr(plan, "BUILT_TOFU", tmp_path / "not-built" / "tofu")
    assert plan.find_terraform() == str(tmp_path / "terraform")
