"""pytest fixtures for running OpenTofu/terraform against the stand-in provider (TEST TOOLING).

tests/conftest.py imports them: `from tests.engines import *  # noqa: F401,F403`.

Tests that take `engine` (directly or through `standin_env` / `terraform_run`) run on OpenTofu,
the engine tofu-controller runs (`make setup` builds it into .tools/bin). The agreement subset,
marked `every_engine` (docs/engine.md), runs once per installed engine: terraform too where it is
installed. USERS_AUTHENTIK_ENGINES=tofu,terraform runs every engine test on both. `terraform_cli` is the single preferred engine,
for tests of `main.py plan`, which makes the same choice. Each worker serves one stand-in process
that every command but init reattaches to (`served_provider`; standin/README.md).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Optional

import pytest

from users_authentik.standin.harness import BUILT_TOFU, ENGINES_VARIABLE, Engine, TerraformRun, find_engines
from users_authentik.standin.serve import ServedProvider, install_standin_provider


ROOT_GENERATED = Path(__file__).resolve().parents[1] / "generated"
SKIP_REASON = ("no OpenTofu or terraform: `make setup` builds OpenTofu into .tools/bin when Go is installed "
               "(tools/README.md), or put tofu or terraform on PATH")
ENGINES = find_engines()  # every installed one (OpenTofu first), or those USERS_AUTHENTIK_ENGINES names
# Unless the variable names engines, only the first (OpenTofu when installed) for most tests.
DEFAULT_ENGINES = ENGINES if os.environ.get(ENGINES_VARIABLE, "").strip() else ENGINES[:1]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "every_engine: the engine-agreement subset, run on every installed "
                            "engine (docs/engine.md); other engine tests run on OpenTofu only")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "engine" not in metafunc.fixturenames:
        return
    engines = ENGINES if metafunc.definition.get_closest_marker("every_engine") else DEFAULT_ENGINES
    metafunc.parametrize("engine", engines or [None], ids=[e.name for e in engines] or ["no-engine"],
                         indirect=True, scope="session")


@pytest.fixture(scope="session")
def engine(request: pytest.FixtureRequest) -> Engine:
    """The engine of this test's parameter (pytest_generate_tests); skips with one line when there is none."""
    if request.param is None:
        pytest.skip(SKIP_REASON)
    return request.param


@pytest.fixture(scope="session")
def terraform_cli() -> Iterator[str]:
    """Path of the preferred engine (OpenTofu first, as `main.py plan` picks); skips when none.

    When it is the OpenTofu `make setup` built, .tools/bin is put first on PATH for the session,
    so `main.py plan` run in a scratch copy of the project (which has no .tools/) finds it too."""
    if not ENGINES:
        pytest.skip(SKIP_REASON)
    preferred = ENGINES[0].path
    with pytest.MonkeyPatch.context() as patch:
        if Path(preferred) == BUILT_TOFU:
            patch.setenv("PATH", f"{BUILT_TOFU.parent}{os.pathsep}{os.environ.get('PATH', '')}")
        yield preferred


@pytest.fixture(scope="session")
def served_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedProvider]:
    """One running stand-in per worker that the commands of every engine reattach to."""
    with ServedProvider(tmp_path_factory.mktemp("served-provider")) as served:
        yield served


@pytest.fixture(scope="session")
def standin_env(tmp_path_factory: pytest.TempPathFactory, engine: Engine,
                served_provider: ServedProvider) -> dict[str, str]:
    """One provider mirror + CLI config per engine and test session (what init installs), and the
    served provider that the other commands use; the env vars that select them."""
    mirror = install_standin_provider(tmp_path_factory.mktemp(f"standin-provider-{engine.name}"), binary=engine.path)
    return {**mirror, **served_provider.env}


@dataclass(frozen=True)
class Applied:
    """The committed generated/ through init, validate, plan, apply and a second plan, in `workspace`."""

    workspace: Path  # its state: the committed module applied; copy it, never change it
    validate_output: str
    plan: dict
    replan: dict


@pytest.fixture(scope="session")
def committed_applied(tmp_path_factory: pytest.TempPathFactory, engine: Engine,
                      standin_env: dict[str, str]) -> Applied:
    """Once per engine and worker: the tests that start from today's applied module copy this
    workspace (terraform_run(start_from=...)) instead of applying it again."""
    workspace = tmp_path_factory.mktemp(f"committed-applied-{engine.name}") / "workspace"
    run = TerraformRun(workspace, standin_env, engine.path, ROOT_GENERATED)
    run.init()
    validate_output = run.validate().stdout
    plan = run.plan()
    run.apply("tfplan")
    return Applied(workspace, validate_output, plan, run.plan())


@pytest.fixture
def terraform_run(tmp_path: Path, engine: Engine, standin_env: dict[str, str]) -> Callable[..., TerraformRun]:
    """Factory: terraform_run(module_dir=None, name="workspace", start_from=None) -> TerraformRun in
    tmp_path/name; start_from: a workspace to copy first (its state and .terraform/, e.g.
    committed_applied.workspace)."""

    def make(module: Optional[Path] = None, name: str = "workspace", start_from: Optional[Path] = None) -> TerraformRun:
        if start_from is not None:
            shutil.copytree(start_from, tmp_path / name, symlinks=True)
        return TerraformRun(tmp_path / name, standin_env, engine.path, module)

    return make
