"""repo_checks: what in the git repository around the data directory could change what is
applied (git attributes, Flux .sourceignore files) or what `plan` runs (.tools/), refused by
check/synth/plan; and the project's own git reads never run a filter or textconv driver."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path, PurePosixPath

import pytest
import yaml

from tests.gitrepo import git, isolate_git
from tests.helpers import ROOT, copy_project, tree_digest
from tests.test_ci_workflow import commit, people, repo, base_repo, run_step  # noqa: F401
from users_authentik import gitref, repo_checks
from users_authentik.cli import main
from users_authentik.revision import read_files

SUB = "flux-apps/users"


@pytest.fixture(autouse=True)
def _isolated_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate_git(monkeypatch)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))


@pytest.fixture
def fleet(tmp_path: Path) -> Path:
    """A repository whose data directory is flux-apps/users, committed; returns its top."""
    top = tmp_path / "repo"
    copy_project(top / SUB)
    git(top, "init", "-q", "-b", "main")
    git(top, "add", "-A")
    git(top, "commit", "-q", "-m", "base")
    return top


def check(top: Path, capsys: pytest.CaptureFixture[str], command: str = "check") -> tuple[int, str]:
    status = main([command], root=top / SUB)
    return status, capsys.readouterr().err


# --- git attributes ------------------------------------------------------------------

@pytest.mark.parametrize("where, line", [
    ("", f"{SUB}/generated/users.tf.json working-tree-encoding=UTF-7"),
    ("flux-apps", "users/generated/* filter=lfs"),
    (SUB, "generated/cdk.tf.json eol=crlf"),
    (SUB, "users.json text"),
    ("", "*.json ident"),
    (f"{SUB}/generated", "* crlf"),
])
def test_a_transforming_git_attribute_above_or_in_the_data_directory_is_refused(
        fleet: Path, capsys: pytest.CaptureFixture[str], where: str, line: str) -> None:
    (fleet / where / ".gitattributes").write_text(line + "\n")
    before = tree_digest(fleet / SUB / "generated")
    status, err = check(fleet, capsys)
    assert status == 1
    attribute = line.split()[1].split("=")[0]
    assert f"(git attribute {attribute}" in err and "Flux applies the committed bytes" in err
    assert "fix: remove" in err
    status, err = check(fleet, capsys, "synth")  # synth refuses too, and writes nothing
    assert status == 1 and f"(git attribute {attribute}" in err
    assert tree_digest(fleet / SUB / "generated") == before


def test_a_staged_gitattributes_counts_though_the_working_tree_has_none(
        fleet: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (fleet / ".gitattributes").write_text("*.json working-tree-encoding=UTF-16\n")
    git(fleet, "add", ".gitattributes")
    (fleet / ".gitattributes").unlink()
    status, err = check(fleet, capsys)
    assert status == 1 and "working-tree-encoding=UTF-16" in err


def test_attributes_that_change_no_bytes_pass(fleet: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (fleet / ".gitattributes").write_text(
        "* -text\n*.json diff=json\ngenerated/** binary -crlf linguist-generated\nusers.json merge=union\n")
    status, err = check(fleet, capsys)
    assert status == 0, err


# --- .sourceignore -------------------------------------------------------------------

@pytest.mark.parametrize("where, pattern, hidden", [
    ("", f"{SUB}/generated/cdk.tf.json", "generated/cdk.tf.json"),
    ("", "*.tf.json", "generated/users.tf.json"),
    ("", "flux-apps/", "users.json"),  # a directory above drops everything in it
    ("flux-apps", "/users/settings.json", "settings.json"),
    (SUB, "generated", "generated/"),
    (SUB, "*.json\n!users.json", "users.json"),  # a negation is not relied on
    (f"{SUB}/generated", "cdk*", "generated/cdk.tf.json"),
])
def test_a_sourceignore_dropping_the_module_or_the_data_is_refused(
        fleet: Path, capsys: pytest.CaptureFixture[str], where: str, pattern: str, hidden: str) -> None:
    (fleet / where / ".sourceignore").write_text("# tidy\n" + pattern + "\n")
    status, err = check(fleet, capsys)
    assert status == 1
    assert f"{PurePosixPath(where, '.sourceignore')}: line 2" in err
    assert hidden in err and "source-controller" in err


@pytest.mark.parametrize("where, pattern", [
    ("", "*.md\n/generated/\ndocs/"),  # generated/ at the top is another directory
    (SUB, "schemas/\n!generated/"),
    ("other", "*"),  # a sibling's .sourceignore covers the sibling only
])
def test_a_sourceignore_that_keeps_the_module_and_data_passes(
        fleet: Path, capsys: pytest.CaptureFixture[str], where: str, pattern: str) -> None:
    (fleet / where).mkdir(parents=True, exist_ok=True)
    (fleet / where / ".sourceignore").write_text(pattern + "\n")
    status, err = check(fleet, capsys)
    assert status == 0, err


def test_no_gitrepository_of_ours_ignores_the_module() -> None:
    """Our manifests point at the cluster's `flux-system` GitRepository (the cluster admin's:
    docs/flux.md says what its spec.ignore must keep); any GitRepository we ship is checked."""
    docs = [d for f in sorted((ROOT / "flux").rglob("*.yaml")) for d in yaml.safe_load_all(f.read_text()) if d]
    sources = [d["spec"]["sourceRef"]["name"] for d in docs if "sourceRef" in (d.get("spec") or {})]
    assert sources and set(sources) == {"flux-system"}
    wanted = [PurePosixPath("generated", n) for n in ("cdk.tf.json", "users.tf.json")]
    for doc in (d for d in docs if d.get("kind") == "GitRepository"):
        ignore = doc.get("spec", {}).get("ignore", "")
        assert not repo_checks.ignore_problems(ignore, "spec.ignore", PurePosixPath(), wanted, top=PurePosixPath())
    # the same evaluation refuses a spec.ignore that would drop them
    assert repo_checks.ignore_problems("/generated/\n", "spec.ignore", PurePosixPath(), wanted, top=PurePosixPath())


# --- .tools/ -------------------------------------------------------------------------

def test_anything_tracked_under_tools_is_refused(tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"
    (checkout / ".tools" / "bin").mkdir(parents=True)
    (checkout / ".tools" / "bin" / "tofu").write_text("#!/bin/sh\n")
    (checkout / ".tools" / "tofu.sha256").write_text("0" * 64 + "\n")
    git(checkout, "init", "-q", "-b", "main")
    assert repo_checks.tools_problems(checkout) == []  # built, not committed
    git(checkout, "add", "-f", ".tools/tofu.sha256")
    [problem] = repo_checks.tools_problems(checkout)
    assert problem.file == ".tools/tofu.sha256" and "git rm -r --cached .tools" in problem.fix


# --- the project's own git reads -----------------------------------------------------

def test_the_projects_git_reads_never_run_filters_or_textconv(fleet: Path) -> None:
    marker = fleet.parent / "ran"
    (fleet / ".gitattributes").write_text("* filter=evil diff=evil\n")
    git(fleet, "add", ".gitattributes")
    git(fleet, "commit", "-q", "-m", "attributes")  # the driver is configured only now
    for key in ("filter.evil.clean", "filter.evil.smudge", "filter.evil.process", "diff.evil.textconv"):
        git(fleet, "config", key, f"sh -c 'touch {marker}; cat'")
    head = git(fleet, "rev-parse", "HEAD").strip()
    project = fleet / SUB
    committed = git(fleet, "cat-file", "blob", f"HEAD:{SUB}/users.json").encode()

    assert read_files(project, head)["users.json"] == committed
    assert gitref.files_at(project, head, "generated")
    gitref.attributes(project, ["users.json"])
    gitref.tracked(project, "generated")
    gitref.history(project, head, ["users.json"])
    assert not marker.exists(), "a git read of the project ran a filter or textconv driver"
    # the control: the same driver runs where git is asked to apply filters
    subprocess.run(["git", "cat-file", "--filters", f"HEAD:{SUB}/users.json"], cwd=fleet, capture_output=True)
    assert marker.exists()


# --- CI compares the committed bytes -------------------------------------------------

def test_ci_compares_the_committed_generated_bytes_not_only_git_status(repo: Path) -> None:  # noqa: F811
    document = people(10)
    document["users"]["ada"] = {"name": "Ada", "email": "ada@example.org", "groups": ["dev"]}
    commit(repo, document, regenerate=False)  # generated/ left stale in the commit
    # git status then sees no change, whatever synth writes (as a conversion could make it)
    git(repo, "update-index", "--assume-unchanged", "generated/users.tf.json")
    synth, _ = run_step(repo, "synth")
    assert git(repo, "status", "--porcelain", "--", "generated/") == ""
    assert synth.returncode == 1
    assert "generated/users.tf.json as committed" in synth.stdout
    assert hashlib.sha256((repo / "generated" / "users.tf.json").read_bytes()).hexdigest() != hashlib.sha256(
        git(repo, "cat-file", "blob", "HEAD:generated/users.tf.json").encode()).hexdigest()
