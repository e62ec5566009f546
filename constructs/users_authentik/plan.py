"""The plan command: `python3 main.py plan [--base REF]` shows what Terraform will do after a merge.

1. The base ref's users.json + settings.json (default HEAD, read with `git cat-file`, checked
   like the working tree's) are rendered by this checkout's own synth into a scratch dir and
   applied to an empty scratch state: the state tofu-controller holds once REF is live. No file
   of the base's generated/ is ever run: it came from git, and Terraform would load any
   `*.tf.json` or `*_override.tf.json` there, provisioners included (a committed `local-exec`
   would run on the reviewer's machine). A note says when the committed generated/ differs.
2. The working tree's users.json + settings.json are synthesized into a temp dir (the repo's
   generated/ is neither read as a module nor written), and planned against that state.
3. Terraform's own `show` of the saved plan is printed (what `kubectl describe terraform` / the
   readable plan shows after the merge; its "Plan:" line is the summary), each made-up group id
   followed by the group's name, then, prominently, every `authentik_user` the plan would destroy.
   Adopted accounts and groups are checked against the live Authentik; the stand-in reads an
   assumed one (what users.json claims, assumed_directory), and the output says so.

Terraform runs against the STAND-IN provider users_authentik.standin (tooling, never Authentik):
it knows only the provider's schema facts (types, Required/Optional, defaults, enumerations);
ids and other computed values are made up. Nothing touches a cluster or Authentik.

Exit status: 0 planned (with or without changes); 1 Terraform rejected a module, or there is no
base to plan against (not in a git repo, unknown ref, no commit yet, files at the ref that are
links or cannot be read as users: a Problem, as `check` and `diff` report a bad --base); 2
cannot run (no terraform/tofu on PATH, stand-in or its packages missing). Input problems in
users.json/settings.json are reported (exit 1) before any of this, by cli.py.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Iterator, Mapping, TextIO

from .gitref import NotAFile, Unreadable, files_at
from .model import Roster
from .problems import Problem
from .report import format_problems
from .revision import EMPTY, NoRevision, Revision, load_revision, read_files, resolve_commit, review_base
from .settings import Settings
from .text import SUMMARY_BUDGET, code_block, counted, visible_lines

CHECKOUT = Path(__file__).resolve().parents[2]  # the checkout this code runs from
USER_TYPE = "authentik_user"
IGNORED_TF_ENV = ("TF_CLI_ARGS", "TF_DATA_DIR", "TF_WORKSPACE")
EXTRA_HINT = ("install the package's `plan` extra: pip install 'users-authentik[plan]' "
              "(in a checkout: `make setup`, or pip install --require-hashes -r requirements-plan.lock)")
INSTALL_HINT = ("install Terraform (https://developer.hashicorp.com/terraform/install) "
                "or OpenTofu (https://opentofu.org/docs/intro/install/) and put it on PATH, "
                "or run `make setup` with Go installed to build OpenTofu into .tools/bin")
# OpenTofu as `make setup` builds it from tools/go.mod (tools/README.md).
BUILT_TOFU = CHECKOUT / ".tools" / "bin" / "tofu"
STANDIN_NOTE = (
    "Note: planned offline against the STAND-IN authentik provider (users_authentik/standin/, tooling):\n"
    "it knows only the provider's schema facts (types, defaults, enumerations); ids and other\n"
    "computed values are made up (a group's made-up id is followed by `# group \"<name>\"`),\n"
    "and Authentik's own checks (e.g. unique usernames) do not run.")
DIRECTORY_ENV = "STANDIN_AUTHENTIK_DIRECTORY"  # standin/provider.py: the made-up live Authentik


class PlanError(Exception):
    """A plan that could not be made: `message` is one line; `detail` (optional) is tool output."""

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
    commit = resolve_commit(root, ref)
    if commit is None:
        raise NoRevision(Problem("users.json", f"(git, {ref})",
                                 "HEAD has no commit yet, so there is no applied version to plan against",
                                 "commit users.json and generated/ (`python3 main.py` writes it) first"),
                         no_git=False)
    return commit


def base_revision(root: Path, ref: str, commit: str) -> Revision:
    """users.json + settings.json at commit, as the model: NoRevision if they are refused or
    cannot be read as users (there is then no base this project could have rendered)."""
    revision = load_revision(root, ref, read_files(root, commit), check=False)
    if revision.roster is None:
        raise NoRevision(revision.problems + [Problem(
            f"users.json at {ref}", "(file)", "cannot be read as users (above), so there is no base to plan against",
            "plan against a revision where it can be read: --base <commit>")], no_git=False)
    return revision


def committed_differs(root: Path, commit: str, rendered: dict[str, str]) -> bool:
    """generated/ at commit is not exactly the rendered files (extra, missing, changed, or not
    plain files). Read as bytes for this note only; never run."""
    try:
        committed = files_at(root, commit, "generated")
    except (NotAFile, Unreadable):
        return True
    return committed != {name: text.encode("utf-8") for name, text in rendered.items()}


def stale_in_working_tree(generated: Path, rendered: dict[str, str]) -> bool:
    """The working tree's generated/ is not exactly the rendered files; a link is never followed."""
    if generated.is_symlink() or not generated.is_dir():
        return True
    present = {p.name for p in generated.iterdir() if not p.name.startswith(".")}
    if present != set(rendered):
        return True
    return any((generated / n).is_symlink() or not (generated / n).is_file()
               or (generated / n).read_bytes() != t.encode("utf-8") for n, t in rendered.items())


# --------------------------------------------------------------------------- tools


def find_terraform() -> str:
    """OpenTofu first, the engine tofu-controller runs: the one `make setup` built, else tofu on
    PATH; terraform only when there is no tofu at all. The built one only if its sha256 is the
    one `make tools` recorded (cli.py has refused a commit that tracks anything in .tools/)."""
    if BUILT_TOFU.is_file() and os.access(BUILT_TOFU, os.X_OK):
        if _is_the_build(BUILT_TOFU):
            return str(BUILT_TOFU)
        sys.stderr.write(f"note: not running {BUILT_TOFU}: its sha256 is not the one `make tools` recorded "
                         f"in {_digest_file(BUILT_TOFU)}; run `make tools` to use it\n")
    found = shutil.which("tofu") or shutil.which("terraform")
    if found is None:
        raise PlanError(f"neither terraform nor tofu is on PATH; {INSTALL_HINT}")
    return found


def _digest_file(built: Path) -> Path:
    return built.parent.parent / "tofu.sha256"  # .tools/tofu.sha256, written by `make tools`


def _is_the_build(built: Path) -> bool:
    try:
        recorded = _digest_file(built).read_text(encoding="ascii").split()
        return recorded[:1] == [hashlib.sha256(built.read_bytes()).hexdigest()]
    except (OSError, UnicodeDecodeError):
        return False


def load_standin() -> tuple[ModuleType, ModuleType]:
    """The stand-in's serve and harness modules (users_authentik.standin); they need the `plan` extra."""
    missing = [m for m in ("tf", "grpc") if importlib.util.find_spec(m) is None]
    if missing:
        raise PlanError(f"the stand-in provider needs {', '.join(missing)}: {EXTRA_HINT}")
    from .standin import harness, serve
    return serve, harness


# --------------------------------------------------------------------------- the plan


@dataclass
class OfflinePlan:
    base: str  # the ref as given
    commit: str
    base_files: list[str]  # the rendered files the base state was built from; [] for an empty state
    text: str  # `terraform show` of the saved plan
    plan: dict[str, Any]  # `terraform show -json` of it
    summary: Summary
    stale_generated: bool  # the repo's generated/ differs from a fresh synthesis
    base_differs: bool = False  # generated/ at the base is not what its users.json renders
    assumed: dict[str, Any] | None = None  # the live directory assumed for adoptions (assumed_directory)


def assumed_directory(base: Roster, head: Roster, settings: Settings) -> dict[str, Any] | None:
    """What the adoption preconditions read from the live Authentik (data.authentik_user.adopted,
    data.authentik_group.adopted and the superuser group), assumed to be what users.json claims:
    each adopted id has the entry's username or name. None if nothing is adopted (the stand-in
    then echoes every lookup). The real plan checks the real directory."""
    users = {u.authentik_id: u for d in (base, head) for u in d.users if u.authentik_id is not None}
    groups = {g.authentik_id: g for d in (base, head) for g in d.groups if g.authentik_id is not None}
    if not users and not groups:
        return None
    superusers = str(uuid.uuid5(uuid.NAMESPACE_URL, "users-authentik:" + settings.users.superuser_group))
    return {
        "users": [{"pk": pk, "username": u.username, "name": u.name, "email": u.email, "is_active": u.active,
                   "is_superuser": u.is_admin, "path": u.path, "type": "internal"} for pk, u in sorted(users.items())],
        "groups": [{"pk": superusers, "name": settings.users.superuser_group, "is_superuser": True,
                    "attributes": "{}"}]
        + [{"pk": pk, "name": g.name, "is_superuser": False, "attributes": g.attributes}
           for pk, g in sorted(groups.items())],
    }


def group_names(plan: Mapping[str, Any]) -> dict[str, str]:
    """Made-up group id -> group name, from the groups (resources and lookups) the plan knows."""
    out: dict[str, str] = {}
    for section in ("prior_state", "planned_values"):
        for r in plan.get(section, {}).get("values", plan.get(section, {})).get("root_module", {}).get("resources", []):
            values = r.get("values") or {}
            if r.get("type") == "authentik_group" and isinstance(values.get("name"), str):
                for key in ("id", "uuid"):
                    if isinstance(values.get(key), str) and values[key]:
                        out.setdefault(values[key], values["name"])
    return out


def name_ids(text: str, plan: Mapping[str, Any]) -> str:
    """`terraform show` text with `# group "<name>"` after each line that holds a group's
    made-up id, so an admin grant (the superuser group's id in a user's groups) is visible."""
    names = group_names(plan)
    if not names:
        return text
    lines = []
    for line in text.split("\n"):
        found = [names[i] for i in names if f'"{i}"' in line]
        lines.append(line + "  # " + ", ".join(f'group {json.dumps(n, ensure_ascii=False)}' for n in found)
                     if found else line)
    return "\n".join(lines)


def make_plan(root: Path, roster: Roster, settings: Settings, base: str = "HEAD", label: str | None = None) -> OfflinePlan:
    """label: how messages name base (revision.default_base's name for a merge-base)."""
    from .synth import ROWS_FILE, STACK_FILE, UnpinnedLibraries, render, render_rows, render_stack

    commit = resolve_ref(root, base)
    label = label or base
    revision = base_revision(root, label, commit)
    binary = find_terraform()
    serve, harness = load_standin()
    try:
        files = render(roster, settings)
        # The base is rendered by this checkout's synth; the stack only when its settings differ.
        base_stack = files[STACK_FILE] if revision.settings == settings else render_stack(revision.settings)
    except UnpinnedLibraries as unpinned:  # this venv, not the change: as a missing tool is
        raise PlanError(str(unpinned)) from unpinned
    except Exception as error:  # Node or cdktf on this machine, likewise
        raise PlanError(f"synthesizing {STACK_FILE} with cdktf failed: {type(error).__name__}: {error} "
                        "(is Node.js 20 on PATH?)") from error
    stale = stale_in_working_tree(root / "generated", files)
    base_rendered = {STACK_FILE: base_stack, ROWS_FILE: render_rows(revision.roster)}
    base_differs = committed_differs(root, commit, base_rendered)
    base_empty = revision.roster is EMPTY  # no users.json at the base: nothing was applied

    with tempfile.TemporaryDirectory(prefix="users-authentik-plan-") as tmp:
        scratch = Path(tmp)
        base_dir, head_dir = scratch / "base", scratch / "working-tree"
        for folder, rendered in ((base_dir, {} if base_empty else base_rendered), (head_dir, files)):
            folder.mkdir()
            for name, text in rendered.items():
                (folder / name).write_text(text, encoding="utf-8")
        # The caller's TF_CLI_ARGS*/TF_DATA_DIR/TF_WORKSPACE would reach into this scratch run.
        env = {k: v for k, v in os.environ.items() if not k.startswith(IGNORED_TF_ENV) and k != DIRECTORY_ENV}
        live = assumed_directory(revision.roster, roster, settings)
        if live is not None:  # adoptions are checked against a live Authentik: assume what they claim
            (scratch / "assumed-authentik.json").write_text(json.dumps(live, indent=2, sort_keys=True))
            env[DIRECTORY_ENV] = str(scratch / "assumed-authentik.json")
        mirror = serve.install_standin_provider(scratch / "provider", binary=binary)
        # One provider process for every command of the plan (init installs the mirror's).
        try:
            served = serve.ServedProvider(scratch / "served", environ=env)
        except serve.ServeFailed as failed:
            raise PlanError("the stand-in provider did not start", status=1, detail=str(failed)) from None
        with served:
            run = harness.TerraformRun(scratch / "workspace", {}, binary)
            run.env = {**env, **mirror, **served.env}

            def step(what: str, action):
                try:
                    return action()
                except harness.TerraformError as e:
                    raise PlanError(f"terraform {what} failed", status=1, detail=e.result.output) from None

            if not base_empty:
                run.use_module(base_dir)
                step(f"init of the module {label}'s users.json gives", run.init)
                step(f"apply of the module {label}'s users.json gives (to build the base state)", run.apply)
            run.use_module(head_dir)
            step("init of the working tree's module", run.init)
            step("plan of the working tree's module",
                 lambda: run.run("plan", "-input=false", "-no-color", "-out=tfplan"))
            text = step("show of the plan", lambda: run.run("show", "-no-color", "tfplan")).stdout
            plan = step("show -json of the plan", lambda: run.show_json("tfplan"))
    return OfflinePlan(label, commit, [] if base_empty else sorted(base_rendered), name_ids(text, plan), plan,
                   summarize(plan), stale, base_differs, live)


@contextlib.contextmanager
def _terminate_as_exit() -> Iterator[None]:
    """SIGTERM (a cancelled CI job, `timeout`) ends the plan as Ctrl-C does: through the `with`
    blocks that stop its terraform and served provider and remove its scratch directory.
    Only the main thread may set a handler; elsewhere (an embedding caller) nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


MARKDOWN_TITLE = "Offline plan: OpenTofu against the stand-in provider (no token, no Authentik)"


def report(result: OfflinePlan, out: TextIO) -> None:
    out.write(_shown(result))


def report_markdown(result: OfflinePlan, out: TextIO, budget: int = SUMMARY_BUDGET) -> None:
    """`--format markdown`, for a job summary (action.yml's plan step): the same text as a code
    block, whose fence no line of it can close (text.code_block), so no name in it renders.
    At most `budget` bytes: GitHub drops a step's summary over 1 MiB whole, with only an error
    annotation and the step still green, so a pull request onboarding some 1,700 made-up
    people took the plan's `!! DESTROYS` lines out of the summary with the rest (red team).
    Over it, the middle of OpenTofu's plan is left out, and the line that says so repeats
    the counts; the head (notes) and the tail ("Plan: …", the destroyed accounts) stay."""
    shown = _shown(result)
    heading = f"#### {MARKDOWN_TITLE}\n\n"
    fence = len(code_block(shown)) - len(shown.rstrip("\n")) + 1  # the fences, as for the whole
    out.write(heading + code_block(_fitted(shown, budget - len(heading.encode()) - fence - 1, result.summary)) + "\n")


def _fitted(text: str, budget: int, summary: Summary) -> str:
    """text, or its first and last lines within budget (UTF-8 bytes) around a line saying how
    many were left out."""
    if len(text.encode()) <= budget:
        return text
    lines = text.rstrip("\n").split("\n")
    destroys = f"; DESTROYS {counted(len(summary.destroyed_users), 'user account')}" if summary.destroyed_users else ""
    marker = (f"[... {{}} lines of the plan left out: a job summary holds at most 1 MiB. In all: {summary.line()}"
              f"{destroys}. `users-authentik plan` shows the whole plan ...]")
    room = budget - len(marker.encode()) - 16  # the count's digits and the newlines
    size = [len(line.encode()) + 1 for line in lines]
    head = tail = used = 0
    while tail < len(lines) and used + size[-1 - tail] <= room // 2:  # what the plan does ends it
        used += size[-1 - tail]
        tail += 1
    while head < len(lines) - tail and used + size[head] <= room:  # the notes, then OpenTofu's plan
        used += size[head]
        head += 1
    return "\n".join(lines[:head] + [marker.format(len(lines) - head - tail)] + lines[len(lines) - tail:]) + "\n"


def _shown(result: OfflinePlan) -> str:
    short = result.commit[:12]
    lines = [f"Offline plan: {result.base} ({short}) users.json + settings.json -> working tree's"]
    if not result.base_files:
        lines.append(f"Note: {result.base} has no users.json: planned against an empty state.")
    if result.base_differs:
        lines.append(f"Note: generated/ at {result.base} is not what its users.json and settings.json give "
                     "(files added, missing or changed by hand); this plan built the base from those two files "
                     "and never ran the committed ones. tofu-controller applies the committed files: read "
                     f"`git diff {short} -- generated/` before trusting the live state to match.")
    if result.stale_generated:
        lines.append("Note: generated/ in the working tree is not what users.json gives: run `python3 main.py` "
                     "and commit it (this plan used a fresh synthesis).")
    if result.assumed is not None:
        claimed = [f"account {u['username']} (id {u['pk']})" for u in result.assumed["users"]]
        claimed += [f"group {g['name']} (id {g['pk']})" for g in result.assumed["groups"][1:]]
        lines.append("Note: adoption is checked against the live Authentik, which this offline plan does not have; it "
                     f"ASSUMED that Authentik has {', '.join(claimed)}, as users.json claims. The real plan "
                     "fails if it does not.")
    lines += [STANDIN_NOTE, "", result.text.strip("\n")]  # terraform's own plan, ending with its "Plan: …" line
    users = result.summary.destroyed_users
    if users:
        lines += ["", f"!! DESTROYS {len(users)} user account{'s' if len(users) != 1 else ''} "
                  "(deleted in Authentik with their passkeys and MFA devices):"]
        lines += [f"!!   {address}" for address in users]
    # Terraform's plan and the notes quote users.json's text as it is: a name `##[group]` would
    # be a workflow command in a CI log that shows it (text.visible).
    return visible_lines("\n".join(lines)) + "\n"


def main(root: Path, roster: Roster, settings: Settings, *, base: str | None = None, fmt: str = "text",
         out: TextIO | None = None, err: TextIO | None = None) -> int:
    """base: --base; None plans against the base diff and the removal guard compare with
    (revision.default_base: on a branch, its merge-base with the branch it merges into).
    fmt: "text", or "markdown" (a job summary; errors still go to err as text)."""
    out, err = out or sys.stdout, err or sys.stderr
    ref, label, note = review_base(root, base, "plan")
    if note:
        err.write(note)
    try:
        with _terminate_as_exit():
            result = make_plan(root, roster, settings, ref, label)
    except NoRevision as missing:
        err.write(format_problems(missing.problems, "generated/ (plan writes nothing)"))
        return 1
    except PlanError as e:
        if e.detail:  # terraform's output may quote users.json's text: a CI log shows it
            err.write(visible_lines(e.detail.rstrip("\n")) + "\n")
        err.write(f"main.py plan: {e.message}\n")
        return e.status
    (report_markdown if fmt == "markdown" else report)(result, out)
    return 0
