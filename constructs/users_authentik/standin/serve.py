"""Serve the stand-in provider (TEST TOOLING, NOT AUTHENTIK) to terraform/tofu offline.

Builds, in a directory of the caller's choosing, a filesystem mirror holding an executable wrapper
named like the real provider binary, plus a CLI config that installs goauthentik/authentik from
that mirror only; returns the environment variables that make terraform use them.

ServedProvider keeps one stand-in process running for many commands: the engines' provider
reattach (TF_REATTACH_PROVIDERS, what provider developers use to debug) makes plan, apply,
show and validate connect to it instead of starting the wrapper, which costs a Python start
with grpc, protobuf and cryptography each time (bench/README.md). `init` still installs the
wrapper from the mirror and writes the lock file (harness.TerraformRun runs it without the
variable).
"""

from __future__ import annotations

import json
import os
import platform
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Mapping, Optional

from .harness import REATTACH_ENV
from .provider import FACTS_PATH, PROVIDER_SOURCE

# The wrapper runs this very copy of the package: its parent directory goes first on PYTHONPATH
# (a checkout's constructs/, or site-packages), whatever the caller's environment holds.
PROVIDER_MODULE = "users_authentik.standin.provider"
CODE_DIR = Path(__file__).resolve().parents[2]
# terraform resolves "goauthentik/authentik" on its registry host, OpenTofu on its own.
REGISTRY_HOSTS = ("registry.terraform.io", "registry.opentofu.org")
# What the `tf` package prints in its dev mode (`--dev`): the variable's value, between quotes.
_REATTACH_LINE = f"export {REATTACH_ENV}='"


def provider_version() -> str:
    """Version the stand-in claims to be: that of the vendored schema facts."""
    return str(json.loads(FACTS_PATH.read_text())["provider_version"])


def cli_platform(binary: Optional[str] = None) -> str:
    """Platform directory name (e.g. linux_amd64): asked from the CLI, else from this machine."""
    if binary:
        try:
            out = subprocess.run([binary, "version", "-json"], capture_output=True, text=True, timeout=30, check=True)
            found = json.loads(out.stdout).get("platform")
            if found:
                return str(found)
        except (OSError, subprocess.SubprocessError, ValueError):
            pass
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)
    return f"{platform.system().lower()}_{arch}"


def install_standin_provider(
    directory: Path,
    *,
    binary: Optional[str] = None,
    python: str = sys.executable,
) -> dict[str, str]:
    """Create mirror + CLI config under `directory`; return env vars for terraform/tofu.

    The wrapper runs the provider module with `python` (which must have the `tf` package) and a private
    HOME, because `tf` caches its self-signed TLS certificate under $HOME/.cache.
    """
    directory = Path(directory).resolve()
    version = provider_version()
    plat = cli_platform(binary)
    home = directory / "provider-home"
    home.mkdir(parents=True, exist_ok=True)
    mirror = directory / "mirror"
    wrapper_text = (
        "#!/bin/sh\n"
        "# Stand-in for terraform-provider-authentik: test tooling, not Authentik (users_authentik/standin/README.md).\n"
        f"HOME={shlex.quote(str(home))}\n"
        f"PYTHONPATH={shlex.quote(str(CODE_DIR))}\n"
        "export HOME PYTHONPATH\n"
        f"exec {shlex.quote(python)} -m {PROVIDER_MODULE} \"$@\"\n"
    )
    for host in REGISTRY_HOSTS:
        target = mirror / host / PROVIDER_SOURCE / version / plat
        target.mkdir(parents=True, exist_ok=True)
        wrapper = target / f"terraform-provider-authentik_v{version}"
        wrapper.write_text(wrapper_text)
        wrapper.chmod(0o755)

    addresses = json.dumps([f"{host}/{PROVIDER_SOURCE}" for host in REGISTRY_HOSTS])
    config = directory / "standin.tfrc"
    # The mirror only, no `direct` block: a module that needs any other provider fails at init
    # instead of downloading it from a registry (the plan in CI and on a reviewer's machine
    # reaches no network; with `direct`, a provider other than authentik was fetched).
    config.write_text(
        "# CLI config for the stand-in provider (the tests and `plan`).\n"
        "provider_installation {\n"
        f"  filesystem_mirror {{\n    path    = {json.dumps(str(mirror))}\n    include = {addresses}\n  }}\n"
        "}\n"
    )
    return {
        "TF_CLI_CONFIG_FILE": str(config),
        "CHECKPOINT_DISABLE": "1",
        "TF_IN_AUTOMATION": "1",
        "TF_INPUT": "0",
    }


# Longest temporary directory under which the tf package's socket path (<dir>/tmpXXXXXXXX/
# py-tf-plugin.sock, below a ua-served-XXXXXXXX of ours) stays within the 107 bytes of a unix socket.
_MAX_TEMP_ROOT = 107 - len("/ua-served-xxxxxxxx/tmpxxxxxxxx/py-tf-plugin.sock")


def _short_temp_root(environ: Mapping[str, str]) -> str:
    """The provider's environment's temporary directory if its socket path fits, else /tmp."""
    root = environ.get("TMPDIR", "")
    root = root if os.path.isdir(root) else tempfile.gettempdir()
    return root if len(os.fsencode(root)) <= _MAX_TEMP_ROOT else "/tmp"


class ServeFailed(RuntimeError):
    """The stand-in provider process exited, or printed no reattach line in time."""


class ServedProvider:
    """One stand-in provider process that every command reattaches to (`env`), until close().

    `environ`: the provider process's environment (default: this process's), e.g. with the
    made-up live Authentik of provider.DIRECTORY_ENV; a command's own environment never
    reaches a served provider. Use it as a context manager; close() interrupts the process,
    which removes its socket (close() does if it did not)."""

    def __init__(self, directory: Path, *, python: str = sys.executable,
                 environ: Optional[Mapping[str, str]] = None, timeout: float = 60):
        directory = Path(directory).resolve()
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "provider-home").mkdir(exist_ok=True)
        out = directory / "served.out"
        env = {**(os.environ if environ is None else environ), "HOME": str(directory / "provider-home"),
               "PYTHONPATH": str(CODE_DIR)}
        # The tf package puts its unix socket in a new temporary directory, and a socket's path
        # may not exceed 107 bytes, which a deep TMPDIR (a CI's, a test's) does: the provider
        # gets a private one with a short path, removed by close().
        self._tmp = Path(tempfile.mkdtemp(prefix="ua-served-", dir=_short_temp_root(env)))
        env["TMPDIR"] = str(self._tmp)
        # cwd: `-m` puts the current directory first on sys.path, and `plan` runs in a pull
        # request's checkout (a uuid.py or grpc/ there would run). stdin: a pipe that only this
        # process holds; the provider stops when it closes, however this process ends (provider.main).
        with out.open("wb") as stdout, (directory / "served.err").open("wb") as stderr:
            self.process = subprocess.Popen([python, "-u", "-m", PROVIDER_MODULE, "--dev"], stdin=subprocess.PIPE,
                                            stdout=stdout, stderr=stderr, env=env, cwd=directory)
        try:
            entry = self._reattach_entry(out, directory / "served.err", timeout)
        except BaseException:
            self.close()
            raise
        # The process answers for goauthentik/authentik on either engine's registry host.
        self.env = {REATTACH_ENV: json.dumps({f"{host}/{PROVIDER_SOURCE}": entry for host in REGISTRY_HOSTS})}

    def _reattach_entry(self, out: Path, err: Path, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in out.read_text(encoding="utf-8", errors="replace").splitlines():
                start = line.find(_REATTACH_LINE)
                if start >= 0 and line.endswith("'"):
                    try:
                        [entry] = json.loads(line[start + len(_REATTACH_LINE):-1]).values()
                        str(entry["Addr"]["String"])  # the socket the engines connect to
                        return dict(entry)
                    except (ValueError, TypeError, AttributeError, KeyError):
                        raise ServeFailed(f"the stand-in provider printed a reattach line that is not one "
                                          f"provider's address: {line.strip()[:2000]}") from None
            if self.process.poll() is not None:
                raise ServeFailed(f"the stand-in provider exited {self.process.returncode} before serving: "
                                   f"{err.read_text(errors='replace')[-2000:]}")
            time.sleep(0.01)
        raise ServeFailed(f"the stand-in provider did not start serving within {timeout:g} s; it printed: "
                          f"{out.read_text(errors='replace')[-2000:]!r}")

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()  # the provider's own signal to stop
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # KeyboardInterrupt: the tf package cleans up its socket
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        # The provider's own TMPDIR, with what the tf package removes on a clean stop (its
        # socket's directory), in case the stop was cut short or killed.
        shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> "ServedProvider":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
