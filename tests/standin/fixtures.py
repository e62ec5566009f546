"""pytest fixtures for running terraform against the stand-in provider (TEST TOOLING).

Import them in a conftest.py: `from tests.standin.fixtures import *  # noqa: F401,F403`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

import pytest

from .harness import TerraformRun, find_cli
from .serve import install_standin_provider

__all__ = ["terraform_cli", "standin_env", "terraform_run"]

SKIP_REASON = "neither terraform nor tofu on PATH: the stand-in provider tests need a Terraform CLI"


@pytest.fixture(scope="session")
def terraform_cli() -> str:
    """Path of terraform (or tofu); skips the test with one clear line when neither exists."""
    found = find_cli()
    if found is None:
        pytest.skip(SKIP_REASON)
    return found


@pytest.fixture(scope="session")
def standin_env(tmp_path_factory: pytest.TempPathFactory, terraform_cli: str) -> dict[str, str]:
    """One provider mirror + CLI config per test session; the env vars that select them."""
    return install_standin_provider(tmp_path_factory.mktemp("standin-provider"), binary=terraform_cli)


@pytest.fixture
def terraform_run(tmp_path: Path, terraform_cli: str, standin_env: dict[str, str]) -> Callable[..., TerraformRun]:
    """Factory: terraform_run(module_dir=None, name="workspace") -> TerraformRun in tmp_path/name."""

    def make(module: Optional[Path] = None, name: str = "workspace") -> TerraformRun:
        return TerraformRun(tmp_path / name, standin_env, terraform_cli, module)

    return make
