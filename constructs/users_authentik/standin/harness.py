"""Run terraform/tofu on a scratch copy of a module against the stand-in provider (TEST TOOLING).

Imitates what tofu-controller does in the cluster: copy the module, drop in a
`backend_override.tf` (here a local backend instead of kubernetes), then init/plan/apply.
The same workspace keeps its state when module files are swapped, for lifecycle tests.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional

BACKEND_OVERRIDE = "backend_override.tf"
BACKEND_OVERRIDE_TEXT = (
    "# Written by the test harness, like tofu-controller writes its kubernetes backend.\n"
    'terraform {\n  backend "local" {\n    path = "terraform.tfstate"\n  }\n}\n'
)
MODULE_SUFFIXES = (".tf", ".tf.json")
REATTACH_ENV = "TF_REATTACH_PROVIDERS"  # serve.ServedProvider's


CHECKOUT = Path(__file__).resolve().parents[3]  # constructs/users_authentik/standin -> the checkout
# OpenTofu as `make setup` builds it from tools/go.mod (tools/README.md).
BUILT_TOFU = CHECKOUT / ".tools" / "bin" / "tofu"
# Comma-separated engine names to run on (e.g. "tofu"); unset: every installed one.
ENGINES_VARIABLE = "USERS_AUTHENTIK_ENGINES"


@dataclass(frozen=True)
class Engine:
    """A Terraform-compatible CLI: `name` is "tofu" or "terraform", `path` its executable."""

    name: str
    path: str


def find_engines(environ: Mapping[str, str] = os.environ) -> list[Engine]:
    """The installed engines, OpenTofu first (tofu-controller's runner ships only OpenTofu):
    .tools/bin/tofu from `make setup`, else `tofu` on PATH; then `terraform` on PATH.
    USERS_AUTHENTIK_ENGINES=tofu (or terraform) keeps only those named."""
    found = []
    tofu = str(BUILT_TOFU) if BUILT_TOFU.is_file() and os.access(BUILT_TOFU, os.X_OK) else shutil.which("tofu")
    if tofu:
        found.append(Engine("tofu", tofu))
    terraform = shutil.which("terraform")
    if terraform:
        found.append(Engine("terraform", terraform))
    wanted = {n.strip() for n in environ.get(ENGINES_VARIABLE, "").split(",") if n.strip()}
    return [e for e in found if e.name in wanted] if wanted else found


def find_cli() -> Optional[str]:
    """Path of the preferred engine (OpenTofu, else terraform); None when neither is installed."""
    engines = find_engines()
    return engines[0].path if engines else None


def module_files(directory: Path) -> list[Path]:
    """The module's own files (*.tf, *.tf.json) in `directory`, without our backend override."""
    return sorted(
        p for p in Path(directory).iterdir() if p.is_file() and p.name.endswith(MODULE_SUFFIXES) and p.name != BACKEND_OVERRIDE
    )


def resource_actions(plan: Mapping[str, Any]) -> dict[str, list[str]]:
    """{address: actions} from a `show -json` plan, e.g. {"authentik_user.u[\"a\"]": ["create"]}.

    No-op entries (and data sources read during planning, which never appear) are left out, so
    an empty dict means "no changes".
    """
    return {
        rc["address"]: list(rc["change"]["actions"])
        for rc in plan.get("resource_changes", [])
        if rc["change"]["actions"] != ["no-op"]
    }


def _unserved(env: Mapping[str, str]) -> dict[str, str]:
    """env without a served provider: the engine then starts the mirror's."""
    return {k: v for k, v in env.items() if k != REATTACH_ENV}


@dataclass
class CliResult:
    """One CLI invocation: its arguments, exit code and output."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


class TerraformError(Exception):
    """The CLI exited non-zero; `.result.output` holds terraform's diagnostics."""

    def __init__(self, result: CliResult):
        super().__init__(f"{' '.join(result.args)} exited {result.returncode}:\n{result.output}")
        self.result = result


class TerraformRun:
    """A scratch workspace: module copy + backend_override.tf + local state.

    Methods raise TerraformError when the CLI fails (pass check=False to get the CliResult instead).
    """

    def __init__(self, workdir: Path, env: Mapping[str, str], binary: str, module: Optional[Path] = None):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.binary = binary
        # Inherit PATH etc.; the stand-in env (TF_CLI_CONFIG_FILE, ...) wins.
        self.env = {**os.environ, **env}
        if module is not None:
            self.use_module(module)

    # ---------------------------------------------------------------- module files

    def use_module(self, module: Path) -> None:
        """Replace the workspace's module files by those of `module`; state and .terraform stay."""
        for old in module_files(self.workdir):
            old.unlink()
        sources = module_files(module)
        if not sources:
            raise FileNotFoundError(f"no *.tf or *.tf.json files in {module}")
        for src in sources:
            shutil.copy2(src, self.workdir / src.name)
        (self.workdir / BACKEND_OVERRIDE).write_text(BACKEND_OVERRIDE_TEXT)

    def write_module(self, files: Mapping[str, Any]) -> None:
        """Replace the module files by inline ones: {name: text, or a dict dumped as JSON}."""
        for old in module_files(self.workdir):
            old.unlink()
        for name, content in files.items():
            text = content if isinstance(content, str) else json.dumps(content, indent=2)
            (self.workdir / name).write_text(text)
        (self.workdir / BACKEND_OVERRIDE).write_text(BACKEND_OVERRIDE_TEXT)

    # ---------------------------------------------------------------- CLI

    def use_directory(self, path: Path, served: Optional[Mapping[str, str]] = None) -> None:
        """The stand-in's made-up live Authentik (provider.DIRECTORY_ENV) for this workspace's
        commands. A served provider cannot see a command's environment, so these commands start
        their own provider from the mirror; unless `served` is the env of a serve.ServedProvider
        started with this directory in its own environment, which they then reattach to."""
        from .provider import DIRECTORY_ENV

        self.env = {**_unserved(self.env), DIRECTORY_ENV: str(path), **(served or {})}

    def run(self, *args: str, check: bool = True, timeout: float = 600) -> CliResult:
        """Run `<binary> args...` in the workspace (no colour, no prompts). `init` runs without
        a served provider, so that it installs the mirror's provider and writes the lock file."""
        argv = [self.binary, *args]
        env = self.env if args[:1] != ("init",) else _unserved(self.env)
        proc = subprocess.run(argv, cwd=self.workdir, env=env, capture_output=True, text=True, timeout=timeout)
        result = CliResult(argv, proc.returncode, proc.stdout, proc.stderr)
        if check and result.returncode != 0:
            raise TerraformError(result)
        return result

    def init(self, *, check: bool = True) -> CliResult:
        return self.run("init", "-input=false", "-no-color", check=check)

    def validate(self, *, check: bool = True) -> CliResult:
        return self.run("validate", "-no-color", check=check)

    def plan(self, *extra: str, out: str = "tfplan") -> dict[str, Any]:
        """`plan -out` then `show -json`: the parsed plan (use resource_actions() to summarise)."""
        self.run("plan", "-input=false", "-no-color", f"-out={out}", *extra)
        return self.show_json(out)

    def plan_result(self, *extra: str, check: bool = False) -> CliResult:
        """A plain `plan` for checking diagnostics; does not raise by default."""
        return self.run("plan", "-input=false", "-no-color", *extra, check=check)

    def apply(self, plan_file: Optional[str] = None, *extra: str, check: bool = True) -> CliResult:
        """Apply a saved plan, or plan-and-apply with -auto-approve when none is given."""
        args: Iterable[str] = [plan_file] if plan_file else ["-auto-approve", *extra]
        return self.run("apply", "-input=false", "-no-color", *args, check=check)

    def destroy(self, *, check: bool = True) -> CliResult:
        return self.run("destroy", "-input=false", "-no-color", "-auto-approve", check=check)

    def show_json(self, plan_file: Optional[str] = None) -> dict[str, Any]:
        """`show -json` of a plan file, or of the current state when none is given."""
        args = ["show", "-json"] + ([plan_file] if plan_file else [])
        return json.loads(self.run(*args).stdout)

    def state(self) -> dict[str, Any]:
        """The current state as `show -json` prints it ({} before the first apply)."""
        return self.show_json().get("values", {}) or {}
