"""Shared pytest fixtures."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.helpers import CODE, ROOT, copy_project, run_main

# engine, terraform_cli, standin_env, terraform_run: OpenTofu/terraform against the stand-in provider
# (users_authentik/standin/), and which tests run on which engine.
pytest_plugins = ["tests.engines", "tests.gitrepo"]

# The commands the tests start (main.py in scratch copies, make, pre-commit, cdktf) import
# this tree's package, as the tests themselves do (pyproject.toml: pythonpath).
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(CODE), os.environ.get("PYTHONPATH")]))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A scratch copy of the project whose users.json a test may change."""
    return copy_project(tmp_path / "checkout")


@pytest.fixture(scope="session")
def example_module(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """generated/ freshly synthesized from the committed users.json, once per session."""
    root = copy_project(tmp_path_factory.mktemp("example"))
    shutil.rmtree(root / "generated", ignore_errors=True)
    result = run_main(root)
    assert result.returncode == 0, result.stderr
    return root / "generated"


def pytest_report_header() -> str:
    return f"users-authentik at {ROOT}"
