"""`check` and `diff` for machines (`--format json`) and for CI logs (`--format github`:
GitHub workflow commands that put each problem on its line of users.json)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.gitrepo import git_project, isolate_git, user
from tests.helpers import read_json, write_json
from users_authentik.cli import main


@pytest.fixture(autouse=True)
def _isolated_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate_git(monkeypatch)
    monkeypatch.chdir(tmp_path)  # GitHub reads file= from the workspace: here tmp_path


def at(root: Path) -> str:
    return str((root / "users.json").relative_to(Path.cwd()))


def run(root: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args), root=root)
    out, err = capsys.readouterr()
    return code, out, err


def broken(root: Path) -> None:
    doc = read_json(root / "users.json")
    doc["users"]["ada"] = {"name": "Ada", "email": "ada@example.org", "emial": "x@y.z", "groups": ["on call"]}
    write_json(root / "users.json", doc)


def line_of(root: Path, needle: str) -> int:
    return next(i for i, line in enumerate((root / "users.json").read_text().splitlines(), 1) if needle in line)


def test_check_json_lists_problems_with_their_lines(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken(project)
    code, out, _err = run(project, capsys, "check", "--format", "json")
    assert code == 1
    doc = json.loads(out)
    assert doc["ok"] is False
    assert doc["problems"] == [{"file": "users.json", "location": "users.ada.emial", "line": line_of(project, '"emial"'),
                                "problem": 'unknown key "emial" (did you mean "email"?)',
                                "fix": doc["problems"][0]["fix"]}]
    code, out, _err = run(project, capsys, "check", "--format", "json")
    write_json(project / "users.json", {"users": {"stefan": user("stefan", is_admin=True)}})
    code, out, _err = run(project, capsys, "check", "--format", "json")
    assert code == 0 and json.loads(out)["ok"] is True and json.loads(out)["problems"] == []


def test_check_github_annotates_the_line(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken(project)
    code, out, err = run(project, capsys, "check", "--format", "github")
    assert code == 1
    assert out == (f"::error file={at(project)},line={line_of(project, chr(34) + 'emial' + chr(34))},"
                   "title=users.ada.emial::users.ada.emial: unknown key \"emial\" (did you mean \"email\"?)%0A"
                   "fix: remove it or correct its spelling; allowed keys: active, authentik_id, email, groups, "
                   "is_admin, name, path, renamed_from\n")
    assert "1 problem found" in err  # the log keeps the text


def test_a_syntax_error_is_annotated_on_its_line(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "users.json").write_text('{\n  "users": {\n    "a": {,\n  }\n}\n')
    code, out, _err = run(project, capsys, "check", "--format", "github")
    assert code == 1 and out.startswith(f"::error file={at(project)},line=3,")


def test_hostile_text_cannot_forge_a_workflow_command(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = read_json(project / "users.json")
    doc["users"]["ada"] = {"name": "Ada", "email": "x%0A::error::forged@example.org", "groups": []}
    doc["users"]["bob"] = {"name": "Bob", "email": "x%0A::error::forged@example.org"}
    write_json(project / "users.json", doc)
    code, out, _err = run(project, capsys, "check", "--format", "github")
    assert code == 1 and out.count("\n") == 1 and out.count("::error ") == 1 and "%250A" in out


def test_diff_json_and_problems(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = git_project(tmp_path / "repo", {"users": {"stefan": user("stefan", is_admin=True), "ada": user("ada")}})
    doc = read_json(root / "users.json")
    doc["users"]["zoe"] = user("zoe", groups=["dev"])
    del doc["users"]["ada"]
    write_json(root / "users.json", doc)
    code, out, _err = run(root, capsys, "diff", "--format", "json")
    assert code == 0
    shown = json.loads(out)
    assert [u["username"] for u in shown["onboarded"]] == ["zoe"]
    assert [u["username"] for u in shown["offboarded"]] == ["ada"]
    assert shown["groups"]["created"] == ["dev"] and shown["guard"]["removed"] == ["ada"]
    broken(root)
    code, out, err = run(root, capsys, "diff", "--format", "json")
    assert code == 1 and json.loads(out)["problems"][0]["location"] == "users.ada.emial"
    code, out, err = run(root, capsys, "diff", "--format", "markdown")  # a PR summary shows them
    assert code == 1 and "> [!CAUTION]" in out and "users.ada.emial" in out
    code, out, err = run(root, capsys, "diff", "--format", "github")
    assert code == 1 and out.startswith(f"::error file={at(root)},line=")


def test_markdown_is_for_diff_only(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["check", "--format", "markdown"], root=project)
    assert exit_.value.code == 2
