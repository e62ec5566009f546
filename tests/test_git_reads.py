"""How many git processes a hook run starts (each costs a fork and exec: bench/README.md), and
that the answers they were merged into are still right: the files at the base read by one
`cat-file --batch`, the upstreams by one `for-each-ref`."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.gitrepo import git, git_project, run_in_process, user
from tests.helpers import read_json, write_json
from users_authentik import gitref

pytestmark = pytest.mark.usefixtures("isolated_git")


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, ...]]:
    seen: list[tuple[str, ...]] = []
    real = gitref.run_git

    def counted(root: Path, *args: str, **kwargs):
        seen.append(args)
        return real(root, *args, **kwargs)

    monkeypatch.setattr(gitref, "run_git", counted)
    return seen


def test_an_onboarding_synth_starts_few_git_processes(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                      calls: list[tuple[str, ...]]) -> None:
    root = git_project(tmp_path / "repo")
    users = read_json(root / "users.json")
    users["users"]["newcomer"] = user("newcomer")
    write_json(root / "users.json", users)
    code, out = run_in_process(root, capsys)
    assert code == 0, out
    # on a branch whose upstream is HEAD: for-each-ref, symbolic-ref, merge-base, the ref twice
    # (default_base, then the guard's read), ls-tree, cat-file; repo_checks: the top,
    # check-attr twice, ls-files -s of the data files (submodules, case-only twins), ls-files of
    # this checkout's .tools/
    assert len(calls) <= 12, calls
    assert [c[:2] for c in calls].count(("cat-file", "--batch")) == 1
    assert not [c for c in calls if c[:2] == ("cat-file", "blob")]


def test_files_at_reads_every_blob_in_one_process(tmp_path: Path, calls: list[tuple[str, ...]]) -> None:
    root = git_project(tmp_path / "repo")
    sha = gitref.resolve(root, "HEAD")
    calls.clear()
    files = gitref.files_at(root, sha, ("users.json", "settings.json", "absent.json"))
    assert files == {name: git(root, "cat-file", "blob", f"HEAD:{name}").encode()
                     for name in ("users.json", "settings.json")}
    assert [c[0] for c in calls] == ["ls-tree", "cat-file"]
    assert gitref.files_at(root, sha, "generated", endings=(".json",)).keys() == {"cdk.tf.json", "users.tf.json"}


def test_a_missing_blob_among_several_names_that_file(tmp_path: Path) -> None:
    root = git_project(tmp_path / "repo")
    sha = gitref.resolve(root, "HEAD")
    blob = git(root, "rev-parse", "HEAD:settings.json").strip()
    (root / ".git" / "objects" / blob[:2] / blob[2:]).unlink()
    with pytest.raises(gitref.Unreadable) as caught:
        gitref.files_at(root, sha, ("users.json", "settings.json"))
    assert (caught.value.name, caught.value.path) == ("settings.json", "settings.json")
    assert blob in caught.value.detail and "missing" in caught.value.detail


def test_the_upstream_is_named_by_the_branch_origin_head_points_at(tmp_path: Path) -> None:
    origin = git_project(tmp_path / "origin")
    git(origin, "branch", "-m", "trunk")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(origin), str(clone))
    git(clone, "switch", "-q", "-c", "feature")
    git(clone, "commit", "-q", "--allow-empty", "-m", "work")
    base = git(clone, "rev-parse", "origin/trunk").strip()
    assert gitref.merge_base(clone) == ("origin/trunk", base, 1)
    git(clone, "remote", "set-head", "origin", "-d")  # no origin/HEAD: origin/main, then main
    assert gitref.merge_base(clone) is None
    git(clone, "branch", "main", "origin/trunk")
    assert gitref.merge_base(clone) == ("main", base, 1)
    git(clone, "switch", "-q", "--detach")
    assert gitref.merge_base(clone) is None  # a detached HEAD names its base with --base


def test_without_upstreams_merge_base_asks_one_git(tmp_path: Path, calls: list[tuple[str, ...]]) -> None:
    root = git_project(tmp_path / "repo")
    git(root, "branch", "-m", "work")  # no main, no origin
    assert gitref.merge_base(root) is None
    assert [c[0] for c in calls] == ["for-each-ref"]


def test_tools_is_asked_about_only_when_the_checkout_has_one(tmp_path: Path, calls: list[tuple[str, ...]]) -> None:
    from users_authentik.repo_checks import tools_problems

    root = git_project(tmp_path / "repo")
    assert tools_problems(root) == [] and calls == []
    (root / ".tools" / "bin").mkdir(parents=True)
    (root / ".tools" / "bin" / "tofu").write_text("#!/bin/sh\n")
    assert tools_problems(root) == []  # built, not committed
    git(root, "add", "-f", ".tools/bin/tofu")
    assert [p.file for p in tools_problems(root)] == [".tools/bin/tofu"]
    (root / ".tools").rename(root / "elsewhere")
    (root / ".tools").symlink_to("elsewhere")  # a link counts as there
    assert [p.file for p in tools_problems(root)] == [".tools/bin/tofu"]
