"""`python3 main.py plan [--base REF]`: the offline plan (constructs/users_authentik/plan.py).

The end-to-end test runs main.py in a scratch git repo (copy_project, whose code has the stand-in, + git init +
commit) and needs terraform or tofu (skipped otherwise); the rest needs neither.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import ROOT, copy_project, read_json, run_main, run_main_process, tree_digest, write_json
from users_authentik import cli
from users_authentik import plan as plan_module
from users_authentik.plan import destroyed_user_addresses, summarize
from users_authentik.revision import NoRevision

GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.org", "GIT_CONFIG_NOSYSTEM": "1"}
ALICE = {"name": "Alice Example", "email": "alice@example.org", "groups": ["admins"]}
BOB = {"name": "Bob Example", "email": "bob@example.org", "groups": ["admins"]}


def git(root: Path, *args: str) -> str:
    result = subprocess.run(["git", "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main", *args],
                            cwd=root, capture_output=True, text=True, env={**os.environ, **GIT_ENV}, check=True)
    return result.stdout


def make_repo(root: Path, users: dict[str, Any]) -> Path:
    """A scratch checkout (its package holds the stand-in), whose users.json (+ generated/) is committed."""
    copy_project(root)
    if users:  # otherwise the copy's users.json and generated/ are the committed ones
        doc = read_json(root / "users.json")
        doc["users"].update(users)
        write_json(root / "users.json", doc)
        assert run_main(root).returncode == 0
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    return root


# ----------------------------------------------------------------- end to end, with terraform


def test_plan_names_the_create_and_the_destroy(tmp_path: Path, terraform_cli: str) -> None:
    repo = make_repo(tmp_path / "repo", {"alice": ALICE})
    doc = read_json(repo / "users.json")
    del doc["users"]["alice"]
    doc["users"]["bob"] = BOB
    write_json(repo / "users.json", doc)
    before = tree_digest(repo / "generated")

    result = run_main(repo, "plan")

    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "STAND-IN authentik provider" in out and "ids and other" in out
    assert "not what users.json gives" in out  # generated/ was not regenerated
    assert 'authentik_user.users["bob"] will be created' in out
    assert 'authentik_user.users["alice"] will be destroyed' in out
    assert "Plan: 1 to add, 0 to change, 1 to destroy." in out  # terraform's own line
    assert "Summary:" not in out  # said once, by terraform
    assert '!! DESTROYS 1 user account ' in out
    assert '!!   authentik_user.users["alice"]\n' in out
    # "OpenTofu will perform …" or "Terraform will perform …", by engine (docs/engine.md).
    assert "stefan" not in out.split(" will perform the following actions:")[1].split("Plan:")[0]
    # plan writes nothing in the repo.
    assert tree_digest(repo / "generated") == before
    assert git(repo, "status", "--porcelain") == " M users.json\n"


def test_on_a_branch_plan_shows_the_branchs_committed_change(tmp_path: Path, terraform_cli: str) -> None:
    # A reviewer's checkout of a pull request (`gh pr checkout`): its change is committed, so
    # a plan against HEAD would show nothing. The default base is diff's and the guard's.
    repo = make_repo(tmp_path / "repo", {"alice": ALICE})
    git(repo, "checkout", "-q", "-b", "pr")
    doc = read_json(repo / "users.json")
    del doc["users"]["alice"]
    write_json(repo / "users.json", doc)
    assert run_main(repo).returncode == 0
    git(repo, "commit", "-q", "-am", "offboard alice")

    result = run_main(repo, "plan")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "(merge-base with main)" in result.stdout.split("\n")[0]
    assert 'authentik_user.users["alice"] will be destroyed' in result.stdout
    assert '!!   authentik_user.users["alice"]\n' in result.stdout
    assert "note: HEAD is detached" not in result.stderr


def test_a_detached_head_ahead_of_main_is_said_by_diff_and_plan(tmp_path: Path, terraform_cli: str) -> None:
    # `git checkout <the pull request's commit>`: HEAD is the base by default (as in CI, which
    # names its base), so the change would look like none; both commands say how to see it.
    repo = make_repo(tmp_path / "repo", {"alice": ALICE})
    git(repo, "checkout", "-q", "-b", "pr")
    doc = read_json(repo / "users.json")
    doc["users"]["bob"] = BOB
    write_json(repo / "users.json", doc)
    assert run_main(repo).returncode == 0
    git(repo, "commit", "-q", "-am", "onboard bob")
    git(repo, "checkout", "-q", "--detach")
    git(repo, "branch", "-q", "-D", "pr")

    diff = run_main(repo, "diff")
    assert diff.returncode == 0, diff.stderr
    assert ("note: HEAD is detached, so diff compares the working tree with HEAD itself: the 1 commit HEAD has "
            "beyond main is not shown. To review them: `diff --base main`") in diff.stderr
    plan = run_main(repo, "plan")
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert "`plan --base main`" in plan.stderr
    assert "note: HEAD is detached" not in run_main(repo, "diff", "--base", "HEAD").stderr  # named: no note
    git(repo, "checkout", "-q", "main")
    assert "note: HEAD is detached" not in run_main(repo, "diff").stderr


def test_plan_output_starts_no_workflow_command(tmp_path: Path, terraform_cli: str) -> None:
    repo = make_repo(tmp_path / "repo", {"alice": ALICE})
    doc = read_json(repo / "users.json")
    doc["users"]["bob"] = dict(BOB, name="Bob ##[group]folded")
    write_json(repo / "users.json", doc)
    result = run_main(repo, "plan")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Bob #\\x23[group]folded" in result.stdout and "##[" not in result.stdout


def test_plan_names_groups_and_previews_an_adoption(tmp_path: Path, terraform_cli: str) -> None:
    """A made-up group id is followed by its name, so an admin grant shows; a change that adopts
    an account and a group plans (the stand-in gets an assumed live Authentik) and says so; a
    rename plans as a move."""
    repo = make_repo(tmp_path / "repo", {"alice": ALICE})
    doc = read_json(repo / "users.json")
    doc["users"]["alice"]["is_admin"] = True
    doc["users"]["bob"] = {**BOB, "groups": ["ops"], "authentik_id": 42}
    doc["groups"] = {"admins": {}, "ops": {"authentik_id": "3f2c9a4e-8d1b-4c6f-9e2a-7b5d0c1e4f8a"}}
    doc["users"]["al"] = {**doc["users"].pop("alice"), "renamed_from": "alice"}
    write_json(repo / "users.json", doc)

    result = run_main(repo, "plan")

    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert '# group "authentik Admins"' in out  # al's new membership: the superuser group, by name
    assert ("ASSUMED that Authentik has account bob (id 42), group ops (id 3f2c9a4e-8d1b-4c6f-9e2a-7b5d0c1e4f8a), "
            "as users.json claims") in out
    assert '# authentik_user.users["bob"] will be updated in-place\n  # (imported from "42")' in out
    assert '# authentik_user.users["al"] will be updated in-place\n  # (moved from authentik_user.users["alice"])' in out
    assert "DESTROYS" not in out and "Summary:" not in out


def hostile(marker: Path) -> dict[str, Any]:
    """A module file that runs a command on whoever applies it."""
    return {"resource": {"terraform_data": {"pwn": {
        "provisioner": [{"local-exec": {"command": f"touch '{marker}'"}}]}}}}


def test_plan_runs_no_file_of_generated_only_what_synth_renders(tmp_path: Path, terraform_cli: str) -> None:
    """A base whose committed generated/ carries a provisioner and an override file: plan
    applies and plans only the modules synth renders from users.json + settings.json, so
    nothing committed ever runs."""
    repo = make_repo(tmp_path / "repo", {})
    committed_marker = tmp_path / "ran-committed"
    write_json(repo / "generated" / "extra.tf.json", hostile(committed_marker))
    # An override file replaces the users of the committed module: the base would have nobody.
    write_json(repo / "generated" / "users_override.tf.json", {"locals": {"users": {}}})
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "a hand edit in generated/")
    # The working tree without them (with them, the checks refuse generated/ before plan runs):
    for name in ("extra.tf.json", "users_override.tf.json"):
        (repo / "generated" / name).unlink()

    result = run_main(repo, "plan")

    assert result.returncode == 0, result.stdout + result.stderr
    assert not committed_marker.exists()
    assert "terraform_data" not in result.stdout
    assert "No changes." in result.stdout  # the base has everyone: the override was not applied
    assert "Note: generated/ at HEAD is not what its users.json and settings.json give" in result.stdout
    assert "never ran the committed ones" in result.stdout

    # In the working tree, such a file is refused before anything runs:
    local_marker = tmp_path / "ran-working-tree"
    write_json(repo / "generated" / "local.tf.json", hostile(local_marker))
    result = run_main(repo, "plan")
    assert result.returncode == 1 and "local.tf.json" in result.stderr
    assert not local_marker.exists()


def test_plan_imports_no_python_module_of_the_checkout(tmp_path: Path, terraform_cli: str) -> None:
    """The installed `users-authentik plan`, run in a pull request's checkout: a `uuid.py` there
    (any module the stand-in imports) is not run by the stand-in process that plan serves."""
    repo = make_repo(tmp_path / "repo", {})
    marker = tmp_path / "ran-the-checkout's-uuid.py"
    (repo / "uuid.py").write_text(
        "import pathlib, sys\n"
        f"pathlib.Path({str(marker)!r}).write_text('ran')\n"
        f"sys.path[:] = [p for p in sys.path if p not in ('', {str(repo)!r})]\n"
        "del sys.modules['uuid']\n"
        "import uuid as real\n"
        "sys.modules['uuid'] = real\n")

    result = run_main(repo, "plan")  # in this process, in the checkout, as the console script runs

    assert result.returncode == 0, result.stdout + result.stderr
    assert not marker.exists()


def test_the_base_is_built_from_the_base_users_json(tmp_path: Path, terraform_cli: str) -> None:
    """The base state is what the base's users.json renders, even when its generated/ is stale."""
    repo = make_repo(tmp_path / "repo", {"alice": ALICE})
    doc = read_json(repo / "users.json")
    doc["users"]["bob"] = BOB
    write_json(repo / "users.json", doc)
    git(repo, "commit", "-qam", "bob, committed without regenerating generated/")
    result = run_main(repo, "plan")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No changes." in result.stdout  # bob exists at the base, as its users.json says
    assert "Note: generated/ at HEAD is not what its users.json" in result.stdout


# ----------------------------------------------------------------- errors


def test_outside_a_git_repo_is_a_problem_as_for_check_and_diff(tmp_path: Path) -> None:
    root = copy_project(tmp_path / "not-a-repo")
    result = run_main(root, "plan", env={"GIT_CEILING_DIRECTORIES": str(tmp_path)})
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"users.json: (git, HEAD): {root} is not inside a git repository, so there is no committed "
        "version to compare with",
        "    fix: run it in a clone of the repository, or use `python3 main.py check`",
        "1 problem found; nothing was written to generated/ (plan writes nothing)."]


def test_a_bad_base_is_the_same_problem_for_check_diff_and_plan(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {})
    for command in ("check", "diff", "plan"):
        result = run_main(repo, command, "--base", "no-such-branch")
        assert result.returncode == 1, (command, result.stderr)
        assert ('(git, no-such-branch): "no-such-branch" is not a commit in this repository\n'
                "    fix: name an existing branch, tag or commit") in result.stderr, command
        assert "Traceback" not in result.stderr
    assert run_main(repo, "plan", "--base=--all").stderr.startswith(
        'users.json: (git, --all): "--all" is not a git revision')
    for command in ("check", "diff", "plan"):  # an empty --base is refused by all three, not read as no --base
        result = run_main(repo, command, "--base", "")
        assert result.returncode == 1 and '"" is not a git revision' in result.stderr, (command, result.stderr)


def test_a_repository_without_commits_has_nothing_to_plan_against(tmp_path: Path) -> None:
    root = copy_project(tmp_path / "repo")
    git(root, "init", "-q")
    result = run_main(root, "plan")
    assert result.returncode == 1
    assert result.stderr.startswith("users.json: (git, HEAD): HEAD has no commit yet, so there is no "
                                    "applied version to plan against")


def test_no_terraform_on_path_says_how_to_install(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {})
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "git").symlink_to(shutil.which("git"))
    result = run_main_process(repo, "plan", env={"PATH": str(bin_dir)})
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("main.py plan: neither terraform nor tofu is on PATH; install Terraform (https://")
    assert "OpenTofu" in line


def test_without_the_plan_extra_it_names_the_extra_to_install(tmp_path: Path, terraform_cli: str,
                                                              monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    # An installed package without the `plan` extra has no `tf` (None in sys.modules: not importable).
    repo = make_repo(tmp_path / "repo", {})
    monkeypatch.setitem(sys.modules, "tf", None)
    assert cli.main(["plan", "-C", str(repo)]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("main.py plan: the stand-in provider needs tf: install the package's `plan` extra: "
                           "pip install 'users-authentik[plan]'"), line



def test_other_stack_libraries_than_pinned_are_one_line_not_a_traceback(
        tmp_path: Path, terraform_cli: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    # plan renders the stack itself (synth.render_stack), which refuses unpinned libraries.
    from users_authentik import synth
    repo = make_repo(tmp_path / "repo", {})
    monkeypatch.setitem(synth.STACK_LIBRARIES, "cdktf", "0.20.0")
    assert cli.main(["plan", "-C", str(repo)]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("main.py plan: cdktf 0.21.0 is installed, synth.STACK_LIBRARIES pins 0.20.0"), line

def test_a_stack_that_cannot_be_synthesized_is_one_line_not_a_traceback(
        tmp_path: Path, terraform_cli: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    # No Node on PATH, or a broken cdktf: the reviewer's machine, said as a missing tool is.
    from users_authentik import synth
    repo = make_repo(tmp_path / "repo", {})

    def no_node(*args: object) -> None:
        raise FileNotFoundError(2, "No such file or directory", "node")
    monkeypatch.setattr(synth, "render", no_node)
    assert cli.main(["plan", "-C", str(repo)]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("main.py plan: synthesizing cdk.tf.json with cdktf failed: FileNotFoundError") and "node" in line, line


def test_input_problems_are_reported_before_planning(tmp_path: Path) -> None:
    root = copy_project(tmp_path / "bad")
    doc = read_json(root / "users.json")
    doc["users"]["x y"] = {"name": "X", "email": "x@example.org"}
    write_json(root / "users.json", doc)
    result = run_main(root, "plan")
    assert result.returncode == 1 and "x y" in result.stderr and "main.py plan" not in result.stderr


# ----------------------------------------------------------------- git and plan helpers, no terraform


def test_the_base_is_read_from_the_ref_even_in_a_subdirectory(tmp_path: Path) -> None:
    outer = tmp_path / "monorepo"
    outer.mkdir()
    git(outer, "init", "-q")
    root = copy_project(outer / "users-authentik")
    git(outer, "add", "-A")
    git(outer, "commit", "-q", "-m", "base")
    (root / "users.json").write_text("changed in the working tree")
    commit = plan_module.resolve_ref(root, "HEAD")
    revision = plan_module.base_revision(root, "HEAD", commit)
    assert [u.username for u in revision.roster.users] == sorted(read_json(ROOT / "users.json")["users"])
    from users_authentik.synth import ROWS_FILE, render_rows
    assert not plan_module.committed_differs(
        root, commit, {ROWS_FILE: render_rows(revision.roster),
                       "cdk.tf.json": (ROOT / "generated" / "cdk.tf.json").read_text(encoding="utf-8")})


def test_a_base_whose_users_json_is_a_link_or_unreadable_is_a_problem(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {})
    (repo / "users.json").write_text("{ broken")
    git(repo, "commit", "-qam", "broken (--no-verify)")
    with pytest.raises(NoRevision) as caught:
        plan_module.base_revision(repo, "HEAD", plan_module.resolve_ref(repo, "HEAD"))
    assert caught.value.problems[-1].file == "users.json at HEAD"
    assert "cannot be read as users (above), so there is no base to plan against" in str(caught.value)
    (repo / "users.json").unlink()
    (repo / "users.json").symlink_to("settings.json")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "a link")
    with pytest.raises(NoRevision, match="is a symbolic link in git, not a file"):
        plan_module.base_revision(repo, "HEAD", plan_module.resolve_ref(repo, "HEAD"))


def test_refs_that_look_like_options_are_refused(tmp_path: Path) -> None:
    make_repo(tmp_path / "repo", {})
    with pytest.raises(NoRevision, match="is not a git revision"):
        plan_module.resolve_ref(tmp_path / "repo", "--all")


def _rc(address: str, *actions: str, mode: str = "managed") -> dict[str, Any]:
    rtype = address.split("[")[0].split(".")[-2] if mode == "managed" else address.split(".")[1]
    return {"address": address, "mode": mode, "type": rtype, "change": {"actions": list(actions)}}


def test_destroyed_user_addresses_and_summary() -> None:
    plan = {"resource_changes": [
        _rc('authentik_user.users["bob"]', "delete"),
        _rc('authentik_user.users["alice"]', "delete", "create"),  # a replace deletes the account too
        _rc('authentik_user.users["carol"]', "create"),
        _rc('authentik_user.users["dave"]', "update"),
        _rc('authentik_user.users["erin"]', "no-op"),
        _rc('authentik_group.groups["old"]', "delete"),
        _rc("data.authentik_group.superusers", "read", mode="data"),
    ]}
    assert destroyed_user_addresses(plan) == ['authentik_user.users["alice"]', 'authentik_user.users["bob"]']
    summary = summarize(plan)
    assert (summary.create, summary.update, summary.destroy, summary.replace) == (2, 1, 3, 1)
    assert summary.line() == "2 to create, 1 to update, 3 to destroy (1 replaced: destroyed, then created)"
    assert destroyed_user_addresses({}) == [] and not summarize({"resource_changes": []}).changes


def _processes_under(directory: Path) -> list[int]:
    """Pids of processes whose working directory is in `directory` (the served provider's is)."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if Path(os.readlink(proc / "cwd")).is_relative_to(directory):
                    found.append(int(proc.name))
            except OSError:
                continue
    return found


@pytest.mark.skipif(not Path("/proc/self/cwd").exists(), reason="reads /proc")
def test_a_terminated_plan_leaves_no_scratch_directory_or_provider(tmp_path: Path, terraform_cli: str) -> None:
    # A cancelled CI job or `timeout` sends SIGTERM: the plan stops its terraform and its served
    # stand-in and removes its scratch directory, as it does on Ctrl-C.
    repo = make_repo(tmp_path / "repo", {"alice": ALICE})
    doc = read_json(repo / "users.json")
    doc["users"]["bob"] = BOB
    write_json(repo / "users.json", doc)
    scratch_root = tmp_path / "tmp"
    scratch_root.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch_root), "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "18,20",
           "PYTHONPATH": os.pathsep.join([str(repo / "constructs"), os.environ.get("PYTHONPATH", "")])}
    env.pop("CDKTF_OUTDIR", None)
    plan = subprocess.Popen([sys.executable, str(repo / "main.py"), "plan"], cwd=repo, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        served = []
        while time.monotonic() < deadline and not served and plan.poll() is None:
            served = [d for d in scratch_root.glob("users-authentik-plan-*/served") if (d / "served.out").is_file()
                      and "TF_REATTACH_PROVIDERS" in (d / "served.out").read_text()]
            time.sleep(0.02)
        assert served, f"the plan never served its provider (exit {plan.poll()}): {plan.stderr.read().decode()[-3000:]}"
        scratch = served[0].parent
        assert _processes_under(scratch)
        plan.send_signal(signal.SIGTERM)
        assert plan.wait(timeout=30) == 128 + signal.SIGTERM, plan.stderr.read().decode()
    finally:
        if plan.poll() is None:
            plan.kill()
    assert not scratch.exists()
    deadline = time.monotonic() + 10
    while _processes_under(scratch) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _processes_under(scratch)


def test_the_stand_in_cli_config_installs_no_other_provider(tmp_path: Path, terraform_cli: str) -> None:
    """plan's OpenTofu reads only the stand-in's mirror: its CLI config had a `direct` block for
    every provider but authentik, so a module needing one (none of synth's does) had init fetch
    it from registry.opentofu.org, from CI's plan step or a reviewer's machine (red team). Init
    now fails at the mirror, before any registry is asked."""
    from users_authentik.standin import serve

    module = tmp_path / "module"
    module.mkdir()
    (module / "main.tf.json").write_text(json.dumps(
        {"terraform": {"required_providers": {"null": {"source": "hashicorp/null", "version": "3.2.4"}}}}))
    env = serve.install_standin_provider(tmp_path / "provider", binary=terraform_cli)
    done = subprocess.run([terraform_cli, f"-chdir={module}", "init", "-input=false", "-no-color"],
                          env={**os.environ, **env}, capture_output=True, text=True, timeout=120)
    said = " ".join(done.stderr.split())  # OpenTofu wraps its messages
    assert done.returncode == 1, done.stdout
    assert "hashicorp/null was not found in any of the search locations" in said, said
    assert "discovery document" not in said and "could not connect" not in said, said
