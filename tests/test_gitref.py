"""gitref: the commit a ref names (or why none) and the files at it, also when the project
sits in a sub-folder of the repository."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.gitrepo import git, isolate_git
from users_authentik.gitref import Missing, Unreadable, files_at, resolve
from users_authentik.revision import NoRevision, read_files


@pytest.fixture(autouse=True)
def _isolated_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate_git(monkeypatch)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))  # tmp_path itself is no repo


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def monorepo(tmp_path: Path, sub: str = "infra/users authentik") -> tuple[Path, Path]:
    """A repo whose top and whose project folder `sub` both hold a users.json and generated/."""
    top = tmp_path / "repo"
    write(top, {"users.json": "top", "generated/top.tf": "top"})
    project = top / sub
    write(project, {"users.json": "committed", "generated/a.tf": "a", "generated/b.tf.json": "b",
                    "generated/README": "r", "generated/deeper/c.tf": "c"})
    git(top, "init", "-q", "-b", "main")
    git(top, "add", "-A")
    git(top, "commit", "-q", "-m", "base")
    return top, project


# café: without -z, ls-tree quotes the path (read_files used to miss users.json there)
@pytest.mark.parametrize("sub", ["infra/users authentik", "café/users"])
def test_files_are_read_from_the_project_folder(tmp_path: Path, sub: str) -> None:
    top, project = monorepo(tmp_path, sub)
    (project / "users.json").write_text("changed in the working tree")
    sha = resolve(project, "HEAD")
    assert sha == git(top, "rev-parse", "HEAD").strip()
    assert files_at(project, sha, ("users.json", "settings.json")) == {"users.json": b"committed"}
    assert files_at(project, sha, "generated", endings=(".tf", ".tf.json")) == {"a.tf": b"a", "b.tf.json": b"b"}
    assert files_at(project, sha, "nothing-here") == {}
    assert files_at(top, sha, ("users.json",)) == {"users.json": b"top"}
    assert read_files(project, "HEAD") == {"users.json": b"committed"}


def test_unknown_and_option_like_refs(tmp_path: Path) -> None:
    _, project = monorepo(tmp_path)
    assert resolve(project, "no-such-branch") is Missing.NO_SUCH_REF
    for ref in ("--all", "-h", "", " "):
        assert resolve(project, ref) is Missing.NOT_A_REVISION, ref
    assert resolve(project, "main") == resolve(project, "HEAD")


def test_no_commits_yet(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "-b", "main")
    assert resolve(tmp_path, "HEAD") is Missing.NO_COMMITS
    assert resolve(tmp_path, "main") is Missing.NO_SUCH_REF


def test_not_a_repo_and_no_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve(tmp_path, "HEAD") is Missing.NOT_A_REPO
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert resolve(tmp_path, "HEAD") is Missing.NO_GIT


def test_a_file_git_cannot_read(tmp_path: Path) -> None:
    top, project = monorepo(tmp_path, "users")
    sha = resolve(project, "HEAD")
    blob = git(top, "rev-parse", f"{sha}:users/users.json").strip()
    (top / ".git" / "objects" / blob[:2] / blob[2:]).unlink()
    with pytest.raises(Unreadable) as caught:
        files_at(project, sha, ("users.json",))
    assert (caught.value.name, caught.value.path) == ("users.json", "users/users.json")
    with pytest.raises(NoRevision, match="git could not read users.json: "):
        read_files(project, "HEAD")
