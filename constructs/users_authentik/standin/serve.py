"""Serve the stand-in provider (TEST TOOLING, NOT AUTHENTIK) to terraform/tofu offline.

Builds, in a directory of the caller's choosing, a filesystem mirror holding an executable wrapper
named like the real provider binary, plus a CLI config that installs goauthentik/authentik from
that mirror only; returns the environment variables that make terraform use them.
"""

from __future__ import annotations

import json
import platform
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Optional

from .provider import FACTS_PATH, PROVIDER_SOURCE

# The wrapper runs this very copy of the package: its parent directory goes first on PYTHONPATH
# (a checkout's constructs/, or site-packages), whatever the caller's environment holds.
PROVIDER_MODULE = "users_authentik.standin.provider"
CODE_DIR = Path(__file__).resolve().parents[2]
# terraform resolves "goauthentik/authentik" on its registry host, OpenTofu on its own.
REGISTRY_HOSTS = ("registry.terraform.io", "registry.opentofu.org")


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
    config.write_text(
        "# CLI config for the stand-in provider (tests only).\n"
        "provider_installation {\n"
        f"  filesystem_mirror {{\n    path    = {json.dumps(str(mirror))}\n    include = {addresses}\n  }}\n"
        f"  direct {{\n    exclude = {addresses}\n  }}\n"
        "}\n"
    )
    return {
        "TF_CLI_CONFIG_FILE": str(config),
        "CHECKPOINT_DISABLE": "1",
        "TF_IN_AUTOMATION": "1",
        "TF_INPUT": "0",
    }
