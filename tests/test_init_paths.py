"""`users-authentik init` writes files from command-line values an operator may paste from an
onboarding ticket: every file lands inside the fleet repository, and a path reaches the
cluster layer's settings.yaml (YAML, then substituted by Flux into `path: "${module_path}"`
of the Terraform object) only as the path it is, never as more YAML."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.gitrepo import git

pytestmark = pytest.mark.usefixtures("isolated_git")


@pytest.fixture
def fleet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    repo = tmp_path / "fleet"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    monkeypatch.chdir(repo)
    monkeypatch.setenv("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "18,20")
    return repo


def _init(repo: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    from users_authentik.cli import main

    code = main(["init", *args], root=repo)
    out, err = capsys.readouterr()
    return code, out + err


def _files(top: Path) -> set[Path]:
    return {p for p in top.rglob("*") if p.is_file() and ".git" not in p.relative_to(top).parts}


@pytest.mark.parametrize("clusters", ["{outside}", "../escaped", "flux-clusters/../../escaped"])
def test_the_cluster_layer_is_written_inside_the_repository(fleet: Path, capsys: pytest.CaptureFixture[str],
                                                           clusters: str) -> None:
    outside = fleet.parent / "outside"
    code, shown = _init(fleet, capsys, "-C", "users", "--cluster", "prod", "--clusters",
                        clusters.format(outside=outside))
    assert code == 1, shown
    assert "--clusters" in shown and "outside the repository" in shown, shown
    assert not [p for p in fleet.parent.rglob("*.yaml") if fleet not in p.parents], "init wrote outside the repository"
    assert not _files(fleet), "nothing is written when a value is refused"


@pytest.mark.parametrize("link", ["flux-clusters", "flux-clusters/prod"])
def test_a_link_out_of_the_repository_is_not_followed(fleet: Path, capsys: pytest.CaptureFixture[str], link: str) -> None:
    (fleet.parent / "elsewhere").mkdir()
    (fleet / link).parent.mkdir(exist_ok=True)
    os.symlink(fleet.parent / "elsewhere", fleet / link)
    code, shown = _init(fleet, capsys, "-C", "users", "--cluster", "prod")
    assert code == 1 and "outside the repository" in shown, shown
    assert not list((fleet.parent / "elsewhere").iterdir())


@pytest.mark.parametrize("data", ["users\n  authentik_url: https://evil.example", 'users" #x', "users/${vault_key}",
                                  "users: x", "users #x", "./-rf", "flux-apps/--force"])
def test_a_data_directory_name_cannot_write_yaml(fleet: Path, capsys: pytest.CaptureFixture[str], data: str) -> None:
    """A directory name with a line break wrote its own keys into the settings ConfigMap
    (authentik_url: where the runner sends the Authentik token); a quote, `#` or `: `
    changed the path Flux reads, and `${…}` would be Flux's to substitute."""
    code, shown = _init(fleet, capsys, "-C", data, "--cluster", "prod")
    assert code == 1 and "-C" in shown, shown
    assert not _files(fleet)


@pytest.mark.parametrize("cluster", ["prod;rm -rf ~", "prod\nx", "$(id)"])
def test_a_cluster_name_is_a_plain_directory_name(fleet: Path, capsys: pytest.CaptureFixture[str], cluster: str) -> None:
    """It is printed in the next steps' shell commands (`git add …`), to be pasted."""
    code, shown = _init(fleet, capsys, "-C", "users", "--cluster", cluster)
    assert code == 1 and "--cluster" in shown, shown
    assert not _files(fleet)


def test_plain_paths_still_work(fleet: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, shown = _init(fleet, capsys, "-C", "flux-apps/users_1.a", "--cluster", "prod-eu_1", "--clusters", "k8s/clusters")
    assert code == 0, shown
    settings = (fleet / "k8s/clusters/prod-eu_1/apps/users-authentik/settings.yaml").read_text()
    assert "  app_path: ./flux-apps/users_1.a\n" in settings and "  module_path: ./flux-apps/users_1.a/generated\n" in settings
    # The manual-approval overlay is not written: the note names where this fleet would put it.
    assert "# ./flux-apps/users_1.a-manual-approval and point app_path at it" in settings
    assert "./flux/apps/" not in settings
    assert 'docs/flux.md "Using it in a fleet repository"' in " ".join(shown.split())
    assert (fleet / "flux-apps/users_1.a/generated/cdk.tf.json").is_file()


def test_a_cluster_name_leaving_the_repository_is_blamed_on_cluster_only(fleet: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    # --clusters is the default and fine: the problem is --cluster's alone.
    code, shown = _init(fleet, capsys, "-C", "users", "--cluster", "../../../elsewhere")
    assert code == 1 and '--cluster: "../../../elsewhere" is not one directory name' in shown, shown
    assert "--clusters" not in shown, shown
