"""Shared pytest fixtures.

Tests run main() in process (tests/helpers.py run_main, tests/gitrepo.py run_in_process): each
xdist worker starts jsii's Node kernel once, and a users-only change starts none. A child process
is kept where the process is what is tested:
- run_main_process: Node off PATH (a users-only commit never starts Node; --rebuild does), a scratch
  copy's own code (a change to the stack's code; .tools/ of the checkout the code runs from),
  a restricted PATH for `plan`, exit 1 without a traceback, two checkout paths in two processes;
- test_fleet.py: the console script installed by action.yml's step, pre-commit's own hook env;
- test_precommit.py, test_ci_workflow.py: the hooks and the CI action's bash scripts as run;
- test_dependencies.py: a Python whose imports of a dependency are blocked;
- test_output.py: main.py SIGKILLed between its renames.
The engine tests start from one applied committed generated/ per engine and worker
(tests/engines.py committed_applied). `make test` runs `-n <cores + 1> --dist loadscope`: one module per
worker at a time, so module fixtures are built once, in the order pytest_collection_modifyitems
gives (--no-loadscope-reorder): the slowest modules first, so that no worker ends waiting on one.
"""

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


# Modules that take the longest (CPU seconds, bench/README.md "The test suite"), slowest first.
# xdist would otherwise start the modules with most tests first, leaving these few-test, slow
# ones for the end, where one worker runs them while the other has nothing left to do.
SLOW_FIRST = ("tests.test_fleet", "tests.test_standin", "tests.test_terraform_lifecycle", "tests.test_plan",
              "tests.test_netbird", "tests.test_ci_workflow", "tests.test_adopt", "tests.test_rename",
              "tests.test_moved", "tests.test_agreement")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(SLOW_FIRST)}
    items.sort(key=lambda item: rank.get(item.module.__name__ if item.module else "", len(rank)))
