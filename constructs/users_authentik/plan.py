"""Plan preview: `python3 main.py plan [--base REF]` shows what Terraform will do after a merge.

1. The base ref's generated/ (default HEAD, read with `git cat-file`) is applied to an empty
   scratch state: the state tofu-controller holds once REF is live.
2. The working tree's users.json + settings.json are synthesized into a temp dir (the repo's
   generated/ is neither read nor written), and planned against that state.
3. Terraform's own `show` of the saved plan is printed (what `kubectl describe terraform` / the
   readable plan shows after the merge), then a one-line summary and, prominently, every
   `authentik_user` the plan would destroy.

Terraform runs against the STAND-IN provider from tests/standin/ (test tooling, never Authentik):
it knows only the provider's schema facts (types, Required/Optional, defaults, enumerations);
ids and other computed values are made up. Nothing touches a cluster or Authentik.

Exit status: 0 planned (with or without changes); 1 Terraform rejected a module, or there is no
base to plan against (not in a git repo, unknown ref, no commit yet: a Problem, as `check` and
`diff` report a bad --base); 2 cannot run (no terraform/tofu on PATH, stand-in or its packages
missing). Input problems in users.json/settings.json are reported (exit 1) before any of this,
by cli.py.
"""

from __future__ import annotations

import importlib
import importlib.util
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Mapping, TextIO

from .gitref import Unreadable, files_at
from .model import Directory
from .problems import Problem
from .report import format_problems
from .revision import NoRevision, resolve_commit
from .settings import Settings

CHECKOUT = Path(__file__).resolve().parents[2]  # the checkout this code runs from
STANDIN_DIR = CHECKOUT / "tests" / "standin"
STANDIN_PACKAGE = "_users_authentik_standin"  # private name: never clashes with a `tests` package
USER_TYPE = "authentik_user"
IGNORED_TF_ENV = ("TF_CLI_ARGS", "TF_DATA_DIR", "TF_WORKSPACE")
INSTALL_HINT = ("install Terraform (https://developer.hashicorp.com/terraform/install) "
                "or OpenTofu (https://opentofu.org/docs/intro/install/) and put it on PATH")
STANDIN_NOTE = (
    "Note: planned offline against the STAND-IN authentik provider (tests/standin/, test tooling):\n"
    "it knows only the provider's schema facts (types, defaults, enumerations); ids and other\n"
    "computed values are made up, and Authentik's own checks (e.g. unique usernames) do not run.")


class PlanError(Exception):
    """A preview that could not be made: `message` is one line; `detail` (optional) is tool output."""

    def __init__(self, message: str, *, status: int = 2, detail: str = ""):
        super().__init__(message)
        self.message, self.status, self.detail = message, status, detail


# --------------------------------------------------------------------------- reading a plan


def destroyed_user_addresses(plan: Mapping[str, Any]) -> list[str]:
    """Addresses of the authentik_user resources a `show -json` plan destroys, sorted.

    Replacements (delete + create) are included: they delete the account, and its passkeys, too.
    E.g. ['authentik_user.users["alice"]']. For a mass-deletion guard: len() of this list.
    Terraform's side of changes.planned_user_destroys (usernames, from users.json).
    """
    return sorted(
        rc["address"] for rc in plan.get("resource_changes", [])
        if rc.get("mode", "managed") == "managed" and rc.get("type") == USER_TYPE
        and "delete" in rc["change"]["actions"])


@dataclass(frozen=True)
class Summary:
    """Counts as Terraform's "Plan: N to add, M to change, K to destroy" (a replace is both)."""

    create: int = 0
    update: int = 0
    destroy: int = 0
    replace: int = 0
    destroyed_users: list[str] = field(default_factory=list)

    @property
    def changes(self) -> bool:
        return bool(self.create or self.update or self.destroy)

    def line(self) -> str:
        text = f"{self.create} to create, {self.update} to update, {self.destroy} to destroy"
        if self.replace:
            text += f" ({self.replace} replaced: destroyed, then created)"
        return text


def summarize(plan: Mapping[str, Any]) -> Summary:
    create = update = destroy = replace = 0
    for rc in plan.get("resource_changes", []):
        if rc.get("mode", "managed") != "managed":
            continue
        actions = rc["change"]["actions"]
        create += "create" in actions
        update += actions == ["update"]
        destroy += "delete" in actions
        replace += "create" in actions and "delete" in actions
    return Summary(create, update, destroy, replace, destroyed_user_addresses(plan))


# --------------------------------------------------------------------------- git


def resolve_ref(root: Path, ref: str) -> str:
    """Full commit id of `ref`; NoRevision, a Problem as check and diff report it, if there is none."""
    commit = resolve_commit(root, ref, "generated/")
    if commit is None:
        raise NoRevision(Problem("generated/", f"(git, {ref})",
                                 "HEAD has no commit yet, so there is no applied generated/ to plan against",
                                 "commit users.json and generated/ (`python3 main.py` writes it) first"),
                         no_git=False)
    return commit


def export_generated(root: Path, commit: str, dest: Path) -> list[str]:
    """Write the *.tf/*.tf.json files of generated/ at `commit` into dest; their names.

    An empty list means the commit has no generated/ (the base is then an empty state)."""
    try:
        files = files_at(root, commit, "generated", endings=(".tf", ".tf.json"))
    except Unreadable as e:
        raise PlanError(f"cannot read {e.path} at {commit[:12]}: {e.detail}") from None
    dest.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (dest / name).write_bytes(data)
    return sorted(files)


# --------------------------------------------------------------------------- tools


def find_terraform() -> str:
    found = shutil.which("terraform") or shutil.which("tofu")
    if found is None:
        raise PlanError(f"neither terraform nor tofu is on PATH; {INSTALL_HINT}")
    return found


def load_standin() -> tuple[ModuleType, ModuleType]:
    """tests/standin's serve and harness modules, imported from this checkout by path."""
    if not (STANDIN_DIR / "serve.py").is_file():
        raise PlanError(f"the stand-in provider is missing ({STANDIN_DIR}); run from a full checkout")
    missing = [m for m in ("tf", "grpc") if importlib.util.find_spec(m) is None]
    if missing:
        raise PlanError(f"the stand-in provider needs {', '.join(missing)} from requirements-dev.txt; "
                        "run `make setup` (or pip install -r requirements-dev.txt) and use .venv/bin/python")
    if STANDIN_PACKAGE not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            STANDIN_PACKAGE, STANDIN_DIR / "__init__.py", submodule_search_locations=[str(STANDIN_DIR)])
        package = importlib.util.module_from_spec(spec)
        sys.modules[STANDIN_PACKAGE] = package
        spec.loader.exec_module(package)
    return (importlib.import_module(f"{STANDIN_PACKAGE}.serve"),
            importlib.import_module(f"{STANDIN_PACKAGE}.harness"))


# --------------------------------------------------------------------------- the preview


@dataclass
class Preview:
    base: str  # the ref as given
    commit: str
    base_files: list[str]
    text: str  # `terraform show` of the saved plan
    plan: dict[str, Any]  # `terraform show -json` of it
    summary: Summary
    stale_generated: bool  # the repo's generated/ differs from a fresh synthesis


def make_preview(root: Path, directory: Directory, settings: Settings, base: str = "HEAD") -> Preview:
    from .synth import render

    commit = resolve_ref(root, base)
    binary = find_terraform()
    serve, harness = load_standin()
    files = render(directory, settings)
    generated = root / "generated"
    stale = any(not (generated / n).is_file() or (generated / n).read_text(encoding="utf-8") != t
                for n, t in files.items())

    with tempfile.TemporaryDirectory(prefix="users-authentik-plan-") as tmp:
        scratch = Path(tmp)
        base_dir, head_dir = scratch / "base", scratch / "working-tree"
        base_files = export_generated(root, commit, base_dir)
        head_dir.mkdir()
        for name, text in files.items():
            (head_dir / name).write_text(text, encoding="utf-8")
        env = serve.install_standin_provider(scratch / "provider", binary=binary)
        run = harness.TerraformRun(scratch / "workspace", env, binary)
        # The caller's TF_CLI_ARGS*/TF_DATA_DIR/TF_WORKSPACE would reach into this scratch run.
        run.env = {k: v for k, v in run.env.items() if not k.startswith(IGNORED_TF_ENV)}

        def step(what: str, action):
            try:
                return action()
            except harness.TerraformError as e:
                raise PlanError(f"terraform {what} failed", status=1, detail=e.result.output) from None

        if base_files:
            run.use_module(base_dir)
            step(f"init of {base}'s generated/", run.init)
            step(f"apply of {base}'s generated/ (to build the base state)", run.apply)
        run.use_module(head_dir)
        step("init of the working tree's module", run.init)
        step("plan of the working tree's module",
             lambda: run.run("plan", "-input=false", "-no-color", "-out=tfplan"))
        text = step("show of the plan", lambda: run.run("show", "-no-color", "tfplan")).stdout
        plan = step("show -json of the plan", lambda: run.show_json("tfplan"))
    return Preview(base, commit, base_files, text, plan, summarize(plan), stale)


def report(preview: Preview, out: TextIO) -> None:
    short = preview.commit[:12]
    out.write(f"Plan preview: {preview.base} ({short}) generated/ -> working tree users.json + settings.json\n")
    if not preview.base_files:
        out.write(f"Note: {preview.base} has no generated/: planned against an empty state.\n")
    if preview.stale_generated:
        out.write("Note: generated/ in the working tree is not what users.json gives: run `python3 main.py` "
                  "and commit it (this preview used a fresh synthesis).\n")
    out.write(STANDIN_NOTE + "\n\n")
    out.write(preview.text.strip("\n") + "\n\n")
    out.write(f"Summary: {preview.summary.line()} ({preview.base} {short} -> working tree)\n")
    users = preview.summary.destroyed_users
    if users:
        out.write(f"!! DESTROYS {len(users)} user account{'s' if len(users) != 1 else ''} "
                  "(deleted in Authentik with their passkeys and MFA devices):\n")
        for address in users:
            out.write(f"!!   {address}\n")


def main(root: Path, directory: Directory, settings: Settings, *, base: str = "HEAD",
         out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    try:
        preview = make_preview(root, directory, settings, base)
    except NoRevision as missing:
        err.write(format_problems([missing.problem], "generated/ (plan writes nothing)"))
        return 1
    except PlanError as e:
        if e.detail:
            err.write(e.detail.rstrip("\n") + "\n")
        err.write(f"main.py plan: {e.message}\n")
        return e.status
    report(preview, out)
    return 0
