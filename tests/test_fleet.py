"""users-authentik used as a newcomer's fleet repository uses it (docs/flux.md): the original
layout (flux-apps/users holds users.json, settings.json and generated/; the cluster layer is
flux-clusters/stefanzhelev/apps/users-authentik), the package installed from this working
tree into a scratch venv by the CI action's own install step, `init`, commits through
pre-commit with this repository as a hook repository (local path + rev), the Flux layers
built with kubectl and checked against the CRD schemas, and the CI action's scripts on a
scratch pull request.

Slow (two package installs, ~1-2 min): `-m fleet` selects it, `-m "not fleet"` skips it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import ROOT, tree_digest, write_json
from tests.test_ci_workflow import step

pytestmark = [pytest.mark.fleet,
              pytest.mark.skipif(shutil.which("git") is None or shutil.which("node") is None,
                                 reason="needs git and node")]

PRE_COMMIT = Path(sys.executable).parent / "pre-commit"
DATA = "flux-apps/users"
CLUSTER = "flux-clusters/stefanzhelev/apps/users-authentik"
ADMIN = {"name": "Stefan Zhelev", "email": "stefan@stefanzhelev.com"}


def clean_env(**extra: str) -> dict[str, str]:
    """The environment of a fleet repository's machine: this tree's code is NOT on the path
    (conftest exports it for the other tests); only what was installed runs."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "CDKTF_OUTDIR", "VIRTUAL_ENV")}
    env.update(JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="18,20", GIT_AUTHOR_NAME="ci", GIT_AUTHOR_EMAIL="ci@example.org",
               GIT_COMMITTER_NAME="ci", GIT_COMMITTER_EMAIL="ci@example.org", **extra)
    return env


def git(repo: Path, *args: str, env: dict[str, str] | None = None, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, env=env or clean_env(), check=check)


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """This working tree's files (tracked and untracked, not ignored) committed in a scratch
    repository: what a fleet repo's `repo:` names, and `rev:` its commit."""
    src = tmp_path_factory.mktemp("hook-repo") / "users-authentik"
    src.mkdir()
    listed = git(ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard").stdout.split("\0")
    for name in filter(None, listed):
        if (ROOT / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, src / name)
    git(src, "init", "-q", "-b", "main")
    git(src, "add", "-A")
    git(src, "commit", "-q", "--no-verify", "-m", "users-authentik")
    return src, git(src, "rev-parse", "HEAD").stdout.strip()


@pytest.fixture(scope="module")
def command(hook_repo: tuple[Path, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`users-authentik`, installed by action.yml's install step from the hook repository."""
    src, _ = hook_repo
    runner = tmp_path_factory.mktemp("runner")
    python_dir = runner / "python"
    python_dir.mkdir()
    (python_dir / "python").symlink_to(sys._base_executable)  # what setup-python puts on PATH
    github_path = runner / "github_path"
    env = clean_env(RUNNER_TEMP=str(runner), GITHUB_ACTION_PATH=str(src), GITHUB_PATH=str(github_path),
                    VENV=str(runner / "users-authentik"), PATH=f"{python_dir}{os.pathsep}{os.environ['PATH']}")
    done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step("users", "install")["run"]],
                          cwd=runner, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    [bin_dir] = github_path.read_text().split()
    site = next((Path(bin_dir).parent / "lib").glob("python3*/site-packages"))
    assert not list(site.glob("__editable__*"))  # a real install: package data from the wheel
    assert (site / "users_authentik" / "schemas" / "users.schema.json").is_file()
    return Path(bin_dir) / "users-authentik"


def on_path(command: Path) -> dict[str, str]:
    return {"PATH": f"{command.parent}{os.pathsep}{os.environ['PATH']}"}


def run(command: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(command), *args], cwd=cwd, capture_output=True, text=True,
                          env=clean_env(), timeout=300)


@pytest.fixture(scope="module")
def fleet(command: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fleet repository after `init` (committed without hooks: the tests below commit)."""
    repo = tmp_path_factory.mktemp("fleet") / "fleet"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    done = run(command, repo, "init", "-C", DATA, "--cluster", "stefanzhelev", "--admin", "stefan",
               "--name", ADMIN["name"], "--email", ADMIN["email"], "--domain", "auth.stefanzhelev.com")
    assert done.returncode == 0, done.stderr
    assert "Next steps" in done.stdout and f"git add {DATA} {CLUSTER} && git commit" in done.stdout
    return repo


# --- the command and init -------------------------------------------------------------


def test_the_installed_command(command: Path, tmp_path: Path) -> None:
    version = run(command, tmp_path, "--version")
    assert version.returncode == 0 and version.stdout.startswith("users-authentik 0.")
    helps = run(command, tmp_path, "--help").stdout
    assert "With no command, users-authentik runs `synth`" in helps and "-C DIR" in helps
    for name in ("synth", "check", "diff", "plan", "init"):
        sub = run(command, tmp_path, name, "--help")
        assert sub.returncode == 0 and "exit status: 0" in sub.stdout, (name, sub.stdout)
    assert "merge-base of HEAD and origin/HEAD, else origin/main or main" in " ".join(run(command, tmp_path, "diff", "--help").stdout.split())
    usage = run(command, tmp_path, "check", "--format", "markdown")  # diff's option only
    assert usage.returncode == 2
    missing = run(command, tmp_path, "check", "-C", "nowhere")
    assert missing.returncode == 1 and "nowhere: (directory): is not a directory" in missing.stderr


def test_init_writes_the_fleet_layout(fleet: Path) -> None:
    data = fleet / DATA
    assert sorted(p.name for p in data.iterdir()) == [
        "externalsecret.yaml", "generated", "kustomization.yaml", "settings.json", "settings.schema.json",
        "terraform.yaml", "users.json", "users.schema.json"]
    assert sorted(p.name for p in (data / "generated").iterdir()) == ["cdk.tf.json", "users.tf.json"]
    users = json.loads((data / "users.json").read_text())
    assert users == {"$schema": "./users.schema.json",
                     "users": {"stefan": {**ADMIN, "groups": ["admins"], "is_admin": True}}}
    settings = json.loads((data / "settings.json").read_text())
    assert settings == {"$schema": "./settings.schema.json", "brand": {"domain": "auth.stefanzhelev.com"}}
    # $schema resolves beside users.json, offline, to this version's schemas (editors complete from them).
    for name in ("users.schema.json", "settings.schema.json"):
        assert (data / name).read_bytes() == (ROOT / "schemas" / name).read_bytes()
    # The app layer is this repository's own flux/apps/users, not a second copy to keep in step.
    for name in ("externalsecret.yaml", "kustomization.yaml", "terraform.yaml"):
        assert (data / name).read_bytes() == (ROOT / "flux" / "apps" / "users" / name).read_bytes()
    cluster = fleet / CLUSTER
    assert sorted(p.name for p in cluster.iterdir()) == [
        "clustersecretstore-vault.yaml.example", "kustomization.yaml", "settings.yaml", "users-authentik.yaml"]


def test_init_refuses_to_overwrite_and_checks_what_it_writes(fleet: Path, command: Path, tmp_path: Path) -> None:
    again = run(command, fleet, "init", "-C", DATA, "--cluster", "stefanzhelev")
    assert again.returncode == 1
    assert f"{DATA}/users.json: (file): exists already" in again.stderr
    bad = run(command, tmp_path, "init", "-C", "users", "--cluster", "x", "--email", "not-an-email", "--domain", "Nope")
    assert bad.returncode == 1 and "email" in bad.stderr and "brand.domain" in bad.stderr
    assert not (tmp_path / "users").exists()  # nothing written


def test_the_cluster_layer_builds_and_matches_the_crd_schemas(fleet: Path) -> None:
    test_flux = pytest.importorskip("tests.test_flux")  # skips without kubectl
    cluster = test_flux.parse(test_flux.kustomize_build(fleet / CLUSTER))
    assert test_flux.variables_used(test_flux.kustomize_build(fleet / CLUSTER)) == set()
    [config] = [o for o in cluster if o["kind"] == "ConfigMap"]
    assert config["data"]["app_path"] == f"./{DATA}"
    assert config["data"]["module_path"] == f"./{DATA}/generated"
    [flux] = [o for o in cluster if o["kind"] == "Kustomization"]
    assert flux["spec"]["path"] == f"./{DATA}"  # app_path, through the replacement
    # The app layer as Flux applies it: built from spec.path, then post-build substitution.
    app = test_flux.parse(test_flux.flux_envsubst(test_flux.kustomize_build(fleet / flux["spec"]["path"]),
                                                  config["data"]))
    assert sorted(o["kind"] for o in app) == ["ExternalSecret", "Terraform"]
    for obj in cluster + app:
        assert test_flux.schema_errors(obj) == [], obj["kind"]
    [terraform] = [o for o in app if o["kind"] == "Terraform"]
    [secret] = [o for o in app if o["kind"] == "ExternalSecret"]
    assert test_flux.secret_wiring_problems(terraform, secret) == []
    assert terraform["spec"]["path"] == f"./{DATA}/generated"
    store = yaml.safe_load((fleet / CLUSTER / "clustersecretstore-vault.yaml.example").read_text())
    assert store["kind"] == "ClusterSecretStore" and store["metadata"]["name"] == config["data"]["secret_store"]
    assert store["spec"]["provider"]["vault"]["version"] == "v2"


# --- pre-commit with this repository as the hook repository ----------------------------


def pre_commit_config(src: Path, rev: str) -> str:
    return yaml.safe_dump({"repos": [{"repo": str(src), "rev": rev, "hooks": [
        {"id": "users-authentik", "args": ["--dir", DATA], "files": f"^{DATA}/"}]}]}, sort_keys=False)


def commit(repo: Path, env: dict[str, str], message: str) -> subprocess.CompletedProcess:
    git(repo, "add", "-A", env=env)
    return git(repo, "commit", "-q", "-m", message, env=env, check=False)


def test_commits_through_the_hook_repository(fleet: Path, hook_repo: tuple[Path, str], command: Path,
                                             tmp_path: Path) -> None:
    if not PRE_COMMIT.exists():
        pytest.skip("pre-commit not installed (make setup installs it)")
    src, rev = hook_repo
    repo = tmp_path / "fleet"
    shutil.copytree(fleet, repo, symlinks=True)
    (repo / ".pre-commit-config.yaml").write_text(pre_commit_config(src, rev))
    env = clean_env(PRE_COMMIT_HOME=str(tmp_path.parent / "pre-commit-home"))
    subprocess.run([str(PRE_COMMIT), "install"], cwd=repo, env=env, check=True, capture_output=True)

    # The first commit: init wrote generated/ in step, so the hook passes.
    first = commit(repo, env, "users-authentik")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "users-authentik synth" in first.stderr and "Passed" in first.stderr
    assert not (repo / "generated").exists()  # in the data directory, not the repository's root

    # The generated module is byte-identical wherever it lives: the same two files at a root.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for name in ("users.json", "settings.json"):
        shutil.copy2(repo / DATA / name, elsewhere / name)
    assert run(command, elsewhere, "synth").returncode == 0
    assert tree_digest(elsewhere / "generated") == tree_digest(repo / DATA / "generated")

    # A stale generated/: users.json changed alone.
    users = json.loads((repo / DATA / "users.json").read_text())
    users["users"].update({f"user{i}": {"name": f"User {i}", "email": f"user{i}@example.org"} for i in range(9)})
    write_json(repo / DATA / "users.json", users)
    stale = commit(repo, env, "nine people")
    assert stale.returncode == 1 and "files were modified by this hook" in stale.stdout + stale.stderr
    assert "user8" in (repo / DATA / "generated" / "users.tf.json").read_text()  # the fix, ready to add
    assert commit(repo, env, "nine people").returncode == 0

    # A mass removal is refused: nothing written, each problem reported once.
    head = (repo / DATA / "generated" / "users.tf.json").read_bytes()
    for i in range(6):
        del users["users"][f"user{i}"]
    write_json(repo / DATA / "users.json", users)
    removal = commit(repo, env, "remove six")
    assert removal.returncode == 1
    out = removal.stdout + removal.stderr
    assert "removes 6 of the 10 users" in out, out
    assert out.count("removes 6 of the 10 users") == 1
    assert (repo / DATA / "generated" / "users.tf.json").read_bytes() == head
    assert git(repo, "log", "-1", "--format=%s", env=env).stdout.strip() == "nine people"


def test_the_hooks_file() -> None:
    hooks = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    assert set(hooks) == {"users-authentik", "users-authentik-check"}
    for hook in hooks.values():
        assert hook["language"] == "python" and hook["pass_filenames"] is False
    assert hooks["users-authentik"]["entry"] == "users-authentik synth"
    assert hooks["users-authentik-check"]["entry"] == "users-authentik check"


# --- the CI action on a scratch pull request -------------------------------------------


def run_action_step(repo: Path, step_id: str, command: Path) -> tuple[subprocess.CompletedProcess, str]:
    summary, output = repo.parent / "summary.md", repo.parent / "output"
    summary.write_text("")
    output.write_text("")
    git(repo, "checkout", "-q", "--detach")  # actions/checkout leaves a pull request's HEAD detached
    env = clean_env(GITHUB_STEP_SUMMARY=str(summary), GITHUB_OUTPUT=str(output), EVENT="pull_request",
                    PR_BASE="main", BEFORE="", DIR=DATA, **on_path(command))
    done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step("users", step_id)["run"]],
                          cwd=repo, env=env, capture_output=True, text=True, timeout=300)
    return done, summary.read_text()


def pull_request(origin: Path, dest: Path, change: dict[str, Any], command: Path, *, synth: bool) -> Path:
    subprocess.run(["git", "clone", "-q", str(origin), str(dest)], check=True, capture_output=True, env=clean_env())
    git(dest, "checkout", "-q", "-b", "change")
    users = json.loads((dest / DATA / "users.json").read_text())
    users["users"] = {k: v for k, v in {**users["users"], **change}.items() if v is not None}
    write_json(dest / DATA / "users.json", users)
    if synth:
        done = run(command, dest, "synth", "-C", DATA)
        assert done.returncode == 0, done.stderr
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "--no-verify", "-m", "change")
    return dest


@pytest.fixture(scope="module")
def origin(fleet: Path, command: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fleet repository's main: ten people, generated/ in step."""
    repo = tmp_path_factory.mktemp("origin") / "fleet"
    shutil.copytree(fleet, repo, symlinks=True)
    users = json.loads((repo / DATA / "users.json").read_text())
    users["users"].update({f"user{i}": {"name": f"User {i}", "email": f"user{i}@example.org"} for i in range(9)})
    write_json(repo / DATA / "users.json", users)
    assert run(command, repo, "synth", "-C", DATA).returncode == 0
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--no-verify", "-m", "main")
    return repo


def test_ci_passes_an_onboarding_and_summarizes_it(origin: Path, command: Path, tmp_path: Path) -> None:
    pr = pull_request(origin, tmp_path / "pr", {"ada": {"name": "Ada", "email": "ada@example.org"}}, command, synth=True)
    synth, _ = run_action_step(pr, "synth", command)
    assert synth.returncode == 0, synth.stdout + synth.stderr
    guard, summary = run_action_step(pr, "guard", command)
    assert guard.returncode == 0, guard.stdout + guard.stderr
    assert "ada" in summary


def test_ci_fails_a_stale_generated_directory(origin: Path, command: Path, tmp_path: Path) -> None:
    pr = pull_request(origin, tmp_path / "pr", {"ada": {"name": "Ada", "email": "ada@example.org"}}, command, synth=False)
    synth, _ = run_action_step(pr, "synth", command)
    assert synth.returncode == 1
    assert f"generated/ does not match users.json (in {DATA})" in synth.stdout
    assert "generated/users.tf.json" in synth.stdout


def test_ci_refuses_a_mass_removal_against_the_base(origin: Path, command: Path, tmp_path: Path) -> None:
    pr = pull_request(origin, tmp_path / "pr", {f"user{i}": None for i in range(5)}, command, synth=False)
    # generated/ written as the change would be, without the guard (a contributor's own machine).
    for name in ("users.json", "settings.json"):
        (tmp_path / "gen").mkdir(exist_ok=True)
        shutil.copy2(pr / DATA / name, tmp_path / "gen" / name)
    assert run(command, tmp_path / "gen", "synth").returncode == 0
    shutil.copy2(tmp_path / "gen" / "generated" / "users.tf.json", pr / DATA / "generated" / "users.tf.json")
    git(pr, "commit", "-q", "--no-verify", "-am", "generated/")
    synth, _ = run_action_step(pr, "synth", command)
    assert synth.returncode == 0, synth.stdout + synth.stderr  # in step; the guard against HEAD sees no removal
    guard, summary = run_action_step(pr, "guard", command)
    assert guard.returncode == 1
    assert "removes 5 of the 10 users at refs/remotes/origin/main" in guard.stderr
    assert "user4" in summary
